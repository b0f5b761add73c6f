//! Write seed inputs for the `blob_loader` fuzz target: small valid blobs of every family and
//! precision, each prefixed with the mode byte 0 (checksum recomputed by the target).
//!
//! `cargo run -p angraph-core --example fuzz_seeds --features std -- fuzz/corpus/blob_loader`
use angraph_core::config::{Config, LatencyConfig, PowerConfig, Stage};
use angraph_core::quantize::{Calibration, ModelF32, OwnedGraph};
use angraph_core::Precision;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/corpus/blob_loader".into());
    std::fs::create_dir_all(&dir)?;
    let mut lat = LatencyConfig::original();
    lat.in_dim = 4;
    lat.width = 6;
    lat.input_proj = true;
    lat.head = heapless::Vec::from_slice(&[5]).map_err(|_| "head")?;
    let lat = ModelF32::random(Config::Latency(lat), 1)?;
    let g = OwnedGraph::from_coo(
        3,
        4,
        vec![0.5; 12],
        &[(0, 1), (2, 1), (1, 2)],
        Some(&[1.0, 2.0, 3.0]),
    )?;
    let mut stages = heapless::Vec::new();
    stages
        .push(Stage {
            width: 6,
            blocks: 1,
        })
        .map_err(|_| "stages")?;
    let pow = ModelF32::random(
        Config::Power(PowerConfig {
            in_dim: 4,
            stages,
            heads: 2,
        }),
        2,
    )?;
    let rows = [0.5f32, 1.0, 2.0, 3.0];
    let seeds = [
        ("latency_f32", lat.to_blob()?),
        (
            "latency_i16",
            lat.quantize(
                &Calibration::Latency(std::slice::from_ref(&g)),
                Precision::Int16,
                "",
            )?,
        ),
        (
            "latency_i8",
            lat.quantize(
                &Calibration::Latency(std::slice::from_ref(&g)),
                Precision::Int8,
                "",
            )?,
        ),
        ("power_f32", pow.to_blob()?),
        (
            "power_i16",
            pow.quantize(&Calibration::Power(&rows), Precision::Int16, "")?,
        ),
    ];
    for (name, blob) in seeds {
        let mut bytes = vec![0u8];
        bytes.extend(blob);
        std::fs::write(format!("{dir}/{name}"), bytes)?;
    }
    println!("wrote 5 seeds to {dir}");
    Ok(())
}
