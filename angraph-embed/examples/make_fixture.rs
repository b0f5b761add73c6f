//! Write the firmware example's fixtures (deterministic: same seeds, same bytes):
//!
//! ```text
//! cargo run -p angraph-embed --example make_fixture [-- [--stream <timed.json>] [<dir>]]
//! ```
//!
//! `<dir>` defaults to `angraph-embed/firmware/fixtures`. The committed `stream.angs` is a
//! system-level stream of the project's simulator, recorded and converted with:
//!
//! ```text
//! angraph simulate --workload digits-conv --coding latency --mesh 4x4 --process tsmc65 \
//!     --seed 7 --samples 3 --streams /tmp/angraph-streams
//! cargo run -p angraph-embed --example make_fixture -- \
//!     --stream /tmp/angraph-streams/sample-2.timed.json
//! ```
//!
//! Without `--stream` the existing `stream.angs` is kept (or, if there is none, a seeded
//! synthetic XY-routed stream is written).
//!
//! - `latency.angq`: the PLACEHOLDER original-size ANGraph-L (seeded random weights, int16,
//!   input projection from the transform's 35 features), calibrated on synthetic 4x4 streams;
//! - `tiny_power.angq`: a tiny ANGraph-P (the firmware's wrong-family check);
//! - `stream.angs`: the 4x4 hop stream the firmware replays (compact `.angs` v3, with each
//!   event's load);
//! - `power.angq`: a copy of the imported original ANGraph-P (`saved_model/`, real weights), for
//!   the firmware's `energy` feature (its input is the stream's activity matrix);
//! - `trained_latency.angq`: a copy of the trained ANGraph-L transferred to tsmc28
//!   (`saved_model/`, real weights), for the firmware's `trained` feature;
//! - `angraph_l.angq`, `angraph_p.angq`: copies of the recommended ANGraph-L and ANGraph-P
//!   (`saved_model/`, with their trust sections), for the firmware's `estimate` feature.
#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut source, mut dir) = (None, None);
    while let Some(a) = args.next() {
        if a == "--stream" {
            source = Some(PathBuf::from(args.next().ok_or("--stream needs a file")?));
        } else {
            dir = Some(PathBuf::from(a));
        }
    }
    let dir =
        dir.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware/fixtures"));
    std::fs::create_dir_all(&dir)?;
    let existing = dir.join("stream.angs");
    let stream = match source {
        Some(src) => support::Stream::from_timed_json(&src)?,
        None if existing.exists() => support::Stream::from_bytes(&std::fs::read(&existing)?)
            .map_err(|e| format!("{}: {e}", existing.display()))?,
        None => support::synthetic_stream(4, 4, support::STREAM_EVENTS, support::STREAM_SEED),
    };
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
            "trained_latency.angq",
            std::fs::read(support::repo_root().join(support::TRAINED_LATENCY))
                .map_err(|e| format!("{}: {e}", support::TRAINED_LATENCY))?,
        ),
        (
            "angraph_l.angq",
            std::fs::read(support::repo_root().join(support::RECOMMENDED_LATENCY))
                .map_err(|e| format!("{}: {e}", support::RECOMMENDED_LATENCY))?,
        ),
        (
            "angraph_p.angq",
            std::fs::read(support::repo_root().join(support::RECOMMENDED_POWER))
                .map_err(|e| format!("{}: {e}", support::RECOMMENDED_POWER))?,
        ),
    ];
    for (name, bytes) in &files {
        let p = dir.join(name);
        support::write_atomic(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
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
