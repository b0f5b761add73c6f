//! One streaming prediction on the host with the firmware's fixtures (latency.angq,
//! stream.angs): the workload `report.sh --callgrind` counts x86-64 instructions of.
//!
//! ```text
//! cargo run --release -p angraph-embed --example predict_once
//! ```
use angraph_core::component::Mesh;
use angraph_core::features::ProcessDescriptor;
use angraph_core::Model;
use angraph_embed::{Arena, Dims, Estimator};
use std::path::Path;

type Est<'a> = Estimator<'a, 257, 640>;
const BYTES: usize = Est::arena_bytes(Dims::ORIGINAL);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware/fixtures");
    let blob = std::fs::read(fx.join("latency.angq"))?;
    let s = std::fs::read(fx.join("stream.angs"))?;
    let u16_at = |i: usize| u16::from_le_bytes([s[i], s[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]);
    let u64_at = |i: usize| u32_at(i) as u64 | (u32_at(i + 4) as u64) << 32;
    if s.len() < 24 || &s[..4] != b"ANGS" {
        return Err("stream.angs: not a hop stream".into());
    }
    let mesh = Mesh::new(u16_at(8), u16_at(10)).map_err(|e| format!("stream.angs: {e}"))?;
    let process = ProcessDescriptor {
        feature_nm: u16_at(12),
        vdd_mv: u16_at(14),
        temperature_c: u16_at(16) as i16,
    };
    let model = Model::from_bytes(&blob).map_err(|e| format!("latency.angq: {e}"))?;
    let mut arena = Box::new(Arena::<BYTES>::new());
    let mut est = Est::new(arena.bytes(), Dims::ORIGINAL, &model, mesh, process)?;
    let mut open = false;
    for r in 0..u32_at(20) as usize {
        let at = 24 + 20 * r;
        let id = u32_at(at);
        if id == u32::MAX {
            est.end_event()?;
            open = false;
            continue;
        }
        if !open {
            est.begin_event()?;
            open = true;
        }
        est.hop(id, u64_at(at + 4), u64_at(at + 12))?;
    }
    let p = est.predict()?;
    println!(
        "latency_raw={} latency_frac_bits={} nodes={} edges={}",
        p.latency.raw, p.latency.frac_bits, p.nodes, p.edges
    );
    Ok(())
}
