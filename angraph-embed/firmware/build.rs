//! Put memory.x and link.x where the linker finds them; rebuild when they or the fixtures change.
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    for f in ["memory.x", "link.x"] {
        std::fs::copy(f, out.join(f)).unwrap();
        println!("cargo:rerun-if-changed={f}");
    }
    println!("cargo:rustc-link-search={}", out.display());
    for f in ["latency.angq", "tiny_power.angq", "stream.angs"] {
        println!("cargo:rerun-if-changed=fixtures/{f}");
    }
}
