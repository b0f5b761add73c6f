//! Put the chosen memory map (as memory.x) and link.x where the linker finds them; rebuild when they or the fixtures change.
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    // The `energy` variant holds both models: 512 KB of flash instead of 256 KB.
    let memory = if std::env::var_os("CARGO_FEATURE_ENERGY").is_some()
        && std::env::var_os("CARGO_FEATURE_ESTIMATE").is_none()
    {
        "memory-energy.x"
    } else {
        "memory-budget.x"
    };
    std::fs::copy(memory, out.join("memory.x")).unwrap();
    std::fs::copy("link.x", out.join("link.x")).unwrap();
    // (No memory.x in the package root: the linker would find that one first.)
    for f in ["memory-budget.x", "memory-energy.x", "link.x"] {
        println!("cargo:rerun-if-changed={f}");
    }
    println!("cargo:rustc-link-search={}", out.display());
    for f in [
        "latency.angq",
        "tiny_power.angq",
        "stream.angs",
        "power.angq",
        "trained_latency.angq",
        "angraph_l.angq",
        "angraph_p.angq",
    ] {
        println!("cargo:rerun-if-changed=fixtures/{f}");
    }
}
