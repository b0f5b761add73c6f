//! Training of ANGraph-L and ANGraph-P with tch: data pipeline, recipes, loops, checkpoints,
//! logs and plots (the `angraph train` and `angraph quantize` commands live in `cli`).
//!
//! Determinism: `tch::manual_seed` is set from the run seed at the start and again at the start
//! of every epoch (from `(seed, epoch)`), and the shuffle of every epoch is a SplitMix64 stream of
//! `(seed, epoch)`; so the same seed gives the same bytes, and a run resumed after epoch `k`
//! continues exactly as the uninterrupted run would (the optimizer moments are checkpointed
//! too). Limits: on CUDA, or with more than one intra-op thread, libtorch's floating-point
//! reductions may be ordered differently from run to run, so bytes can differ in the last bits;
//! `--threads 1` on the CPU is bit-reproducible.

pub mod adam;
pub mod data;
pub mod epochs;
pub mod graph_store;
pub mod latency;
pub mod load;
pub mod log;
pub mod plot;
pub mod power;
pub mod power_anchor;
pub mod run_dir;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The torch seed of `epoch` of a run seeded with `seed`.
pub fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    let mut r = angraph_core::rng::SplitMix64(seed ^ ((epoch as u64 + 1) << 32));
    r.next_u64() >> 1
}

/// Where a run stands (`state.json`): what a resume needs besides the weights, and the size
/// and CRC-32 of every file the epoch committed ([`run_dir`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    /// The recipe (a resume must use the same one).
    pub recipe: serde_json::Value,
    /// Epochs finished.
    pub epochs_done: usize,
    /// Best validation RMSE so far.
    pub best_valid: f64,
    /// Its epoch (1-based; 0 = none yet).
    pub best_epoch: usize,
    /// The files this state commits (`last.safetensors`, `last.adam.safetensors`,
    /// `best.safetensors`, `log.json`): size and CRC-32 each. Empty in states written before
    /// the commit protocol (not checked then).
    #[serde(default)]
    pub files: BTreeMap<String, run_dir::FileSum>,
}

impl RunState {
    /// Nothing done yet.
    pub fn fresh(recipe: serde_json::Value) -> Self {
        RunState {
            recipe,
            epochs_done: 0,
            best_valid: f64::MAX,
            best_epoch: 0,
            files: BTreeMap::new(),
        }
    }

    /// Read `state.json`; the stored recipe must equal `recipe` except for the epoch count.
    pub fn load(path: &Path, recipe: &serde_json::Value) -> Result<Self> {
        let s =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let st: RunState = serde_json::from_str(&s)
            .with_context(|| format!("{}: not a run state", path.display()))?;
        let strip = |v: &serde_json::Value| {
            let mut v = v.clone();
            if let Some(o) = v.as_object_mut() {
                o.remove("epochs");
            }
            v
        };
        if strip(&st.recipe) != strip(recipe) {
            bail!(
                "{}: the run was started with a different recipe; use another --out folder or drop --resume",
                path.display()
            );
        }
        Ok(st)
    }

    /// Write `state.json` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::fsio::write_atomic(path, serde_json::to_string_pretty(self)?.as_bytes())
    }
}
