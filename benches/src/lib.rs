//! Benchmarks of ANGraph-rs: shared fixtures of the criterion benches (`benches/inference.rs`)
//! and of the report binary (`bench-report`).
//!
//! The contenders run the same weights: the imported original ANGraph-L `latency_dataset` and
//! ANGraph-P `power_ap_mnist_4x4_tsmc28` from `saved_model/` — angraph-core's fixed-point path
//! (the committed `.angq`), angraph-core's f32 reference path (the checkpoint folded and written
//! as an f32 blob) and the tch module (the checkpoint, BatchNorm unfolded, CPU, one thread).

use std::path::PathBuf;

use angraph_core::quantize::OwnedGraph;
use angraph_train::nn::Checkpoint;
use anyhow::Result;

/// Mesh sides of the ANGraph-L benchmark graphs: 2x2, 4x4, 8x8 tiles, i.e. 16 components per
/// tile + the injector = 65, 257, 1025 nodes.
pub const MESH_SIDES: [u32; 3] = [2, 4, 8];

/// Batch sizes of the ANGraph-P benchmark.
pub const POWER_BATCHES: [usize; 2] = [1, 256];

/// The repository root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A model in the three forms the benchmarks compare.
pub struct Contenders {
    /// The tch module with its variables (original keys, BatchNorm unfolded).
    pub checkpoint: Checkpoint,
    /// angraph-core f32 blob (BatchNorm folded).
    pub f32_blob: Vec<u8>,
    /// angraph-core fixed-point blob (the committed `.angq`).
    pub fixed_blob: Vec<u8>,
}

impl Contenders {
    /// Load `saved_model/<stem>.safetensors` and `saved_model/<stem>.angq`.
    pub fn load(stem: &str) -> Result<Self> {
        let dir = workspace_root().join("saved_model");
        let checkpoint =
            Checkpoint::load(&dir.join(format!("{stem}.safetensors")), tch::Device::Cpu)?;
        let f32_blob = checkpoint.to_model_f32()?.to_blob()?;
        let fixed_blob = std::fs::read(dir.join(format!("{stem}.angq")))?;
        Ok(Contenders {
            checkpoint,
            f32_blob,
            fixed_blob,
        })
    }
}

/// The ANGraph-L model of the benchmarks.
pub const LATENCY_STEM: &str = "latency_dataset";
/// The ANGraph-P model of the benchmarks.
pub const POWER_STEM: &str = "power_ap_mnist_4x4_tsmc28";

/// The benchmark graph of a `side x side` mesh: every component of every tile plus the injector,
/// every structural edge, 100 uniform features per node (the imported models' input width).
pub fn mesh_graph(side: u32) -> Result<OwnedGraph> {
    angraph_train::import::synthetic_mesh_graph(side, side, 100, 1000 + side as u64)
}
