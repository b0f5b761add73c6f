//! Write the firmware example's fixtures (deterministic: same seeds, same bytes):
//!
//! ```text
//! cargo run -p angraph-embed --example make_fixture [-- <dir>]   # default angraph-embed/firmware/fixtures
//! ```
//!
//! - `latency.angq`: the PLACEHOLDER original-size ANGraph-L (seeded random weights, int16,
//!   input projection from the transform's 35 features), calibrated on synthetic 4x4 streams;
//! - `tiny_power.angq`: a tiny ANGraph-P (the firmware's wrong-family check);
//! - `stream.angs`: the seeded synthetic 4x4 hop stream the firmware replays;
//! - `power.angq`: a copy of the imported original ANGraph-P (`saved_model/`, real weights) and
//!   `activity.bin`: row 0 of `data/examples/mesh4x4/power/feature.npy` as Q16.16, for the
//!   firmware's `energy` feature.
#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware/fixtures"));
    std::fs::create_dir_all(&dir)?;
    let stream = support::example_stream();
    let graph = support::host_graph(&stream)?;
    let latency = support::placeholder_latency_blob();
    let files = [
        ("latency.angq", latency.clone()),
        ("tiny_power.angq", support::tiny_power_blob()),
        ("stream.angs", stream.to_bytes()),
        (
            "power.angq",
            std::fs::read(support::repo_root().join(support::ORIGINAL_POWER))
                .map_err(|e| format!("{}: {e}", support::ORIGINAL_POWER))?,
        ),
        (
            "activity.bin",
            support::activity_bytes(&support::example_activity()),
        ),
    ];
    for (name, bytes) in &files {
        let p = dir.join(name);
        write_atomic(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
        println!("wrote {} ({} bytes)", p.display(), bytes.len());
    }
    let y = support::host_latency(&latency, &stream);
    println!(
        "stream: {} events, {} hops, graph {} nodes / {} edges; host fixed-point latency raw {} (2^-{})",
        stream.events.len(),
        stream.events.iter().map(|e| e.len()).sum::<usize>(),
        graph.row_ptr.len() - 1,
        graph.src.len(),
        y.raw,
        y.frac_bits
    );
    Ok(())
}
