//! One streaming prediction on the host with the firmware's fixtures (latency.angq,
//! stream.angs): the workload `report.sh --callgrind` counts x86-64 instructions of.
//!
//! ```text
//! cargo run --release -p angraph-embed --example predict_once
//! ```
#[path = "../tests/support/mod.rs"]
mod support;

use angraph_core::Model;
use angraph_embed::{Arena, Dims, Estimator};
use std::path::Path;

type Est<'a> = Estimator<'a, 257, 512>;
const BYTES: usize = Est::arena_bytes(Dims::ORIGINAL);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware/fixtures");
    let blob = std::fs::read(fx.join("latency.angq"))?;
    let s = support::example_stream();
    let model = Model::from_bytes(&blob).map_err(|e| format!("latency.angq: {e}"))?;
    let mut arena = Box::new(Arena::<BYTES>::new());
    let mut est = Est::new(arena.bytes(), Dims::ORIGINAL, &model, s.mesh, s.process)?;
    for ev in &s.events {
        est.begin_event()?;
        for h in ev {
            est.hop(h.id, h.enter, h.leave)?;
        }
        est.end_event()?;
    }
    let p = est.predict()?;
    println!(
        "latency_raw={} latency_frac_bits={} nodes={} edges={}",
        p.latency.raw, p.latency.frac_bits, p.nodes, p.edges
    );
    Ok(())
}
