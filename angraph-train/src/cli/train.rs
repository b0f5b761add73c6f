//! `angraph train`: the options every training command shares, the `latency`, `power` and
//! `search` subcommands (one file each below `train/`), and the copy of a run's results.

pub mod latency;
pub mod power;
pub mod search;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use tch::Device;

use crate::fsio::write_atomic;
use crate::train::data::LatencySet;

/// Options every training command shares.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Dataset folder (OGB raw graph dataset for latency, feature.npy/label.npy for power).
    /// Several folders (`--data A B`) train one model on all of them, e.g. several mesh sizes:
    /// each keeps its own split files and the splits are concatenated; node features (or input
    /// widths) and label units must agree.
    #[arg(long, required = true, num_args = 1..)]
    pub data: Vec<PathBuf>,
    /// Run folder: checkpoints, state.json, log.csv/log.json, curve.png, report.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the trained model as `<SAVE>.safetensors` and its report as `<SAVE>.json`
    /// (e.g. `saved_model/latency_digits4x4`).
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Seed of initialisation, dropout and shuffles.
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
    /// Re-split with this seed (80/10/10) instead of using the dataset's split files.
    #[arg(long)]
    pub split_seed: Option<u64>,
    /// Use at most this many training graphs/rows (the first of the training split).
    #[arg(long)]
    pub max_train: Option<usize>,
    /// Continue an interrupted run in `--out` (same recipe; more epochs allowed).
    #[arg(long)]
    pub resume: bool,
    /// Intra-op threads of libtorch (0 = libtorch's default). 1 is bit-reproducible on the CPU.
    #[arg(long, default_value_t = 0)]
    pub threads: i32,
    /// `auto` (CUDA when tch sees a GPU, else CPU), `cpu` or `cuda`.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// No progress bars or per-epoch lines.
    #[arg(long)]
    pub quiet: bool,
}

impl RunArgs {
    /// The device and thread setting.
    pub fn setup(&self) -> Result<Device> {
        if self.threads > 0 {
            tch::set_num_threads(self.threads);
        }
        crate::nn::parse_device(&self.device)
    }
}

/// Which model to train.
#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once per run: boxing buys nothing
pub enum TrainWhat {
    /// ANGraph-L on a latency graph dataset (Huber loss, Adam).
    Latency(latency::LatencyArgs),
    /// ANGraph-P on a power dataset (MSE, Adam).
    Power(power::PowerArgs),
    /// Search ANGraph-L options with short runs; select on validation RMSE only.
    Search(search::SearchArgs),
}

/// `angraph train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(subcommand)]
    pub what: TrainWhat,
}

/// Keep at most `max_train` training graphs (the first of the training split).
pub(crate) fn restrict_train(set: &mut LatencySet, max_train: Option<usize>) {
    if let Some(m) = max_train {
        set.splits.train.truncate(m);
    }
}

/// The command line, as the reports record it.
pub(crate) fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// Copy a run's model, report and plot to `<prefix>.safetensors/.json/.png`.
pub fn save_copy(prefix: &Path, model: &Path, report: &[u8], plot: &Path) -> Result<()> {
    if let Some(d) = prefix.parent() {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let with = |ext: &str| PathBuf::from(format!("{}.{ext}", prefix.display()));
    let bytes = std::fs::read(model).with_context(|| format!("reading {}", model.display()))?;
    write_atomic(&with("safetensors"), &bytes)?;
    write_atomic(&with("json"), report)?;
    if plot.exists() {
        let png = std::fs::read(plot)?;
        write_atomic(&with("png"), &png)?;
    }
    eprintln!("saved {}.{{safetensors,json,png}}", prefix.display());
    Ok(())
}

/// Run `angraph train`.
pub fn run(a: &TrainArgs) -> Result<()> {
    match &a.what {
        TrainWhat::Latency(l) => latency::run(l),
        TrainWhat::Power(p) => power::run(p),
        TrainWhat::Search(s) => search::run(s),
    }
}
