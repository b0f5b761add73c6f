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
use crate::train::graph_store::{StoreMode, StoreOptions};

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
    /// Where the graphs of a latency dataset are kept while training: `memory`, `disk` (a spill
    /// file read one batch at a time: peak memory then depends on the batch, not the dataset;
    /// about 4 bytes per node feature of disk, freed when the run ends) or `auto` (memory up to
    /// 1 GiB of graphs, about 30,000 4x4 graphs; disk beyond). Power datasets are always in
    /// memory (48 values a sample).
    #[arg(long, value_enum, default_value = "auto")]
    pub graphs: GraphsIn,
    /// Folder of the spill file of `--graphs disk|auto` (default: the system's temporary
    /// folder, `$TMPDIR` or /tmp).
    #[arg(long)]
    pub spill_dir: Option<PathBuf>,
}

/// `--graphs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphsIn {
    /// In memory up to 1 GiB of graphs, on disk beyond.
    Auto,
    /// Always in memory.
    Memory,
    /// Always in a spill file on disk.
    Disk,
}

impl RunArgs {
    /// The device and thread setting.
    pub fn setup(&self) -> Result<Device> {
        if self.threads > 0 {
            tch::set_num_threads(self.threads);
        }
        crate::nn::parse_device(&self.device)
    }

    /// The latency datasets `--data`, stored as `--graphs` and `--spill-dir` say.
    pub fn latency_sets(&self) -> Result<LatencySet> {
        let opts = StoreOptions {
            mode: match self.graphs {
                GraphsIn::Auto => StoreMode::Auto,
                GraphsIn::Memory => StoreMode::Memory,
                GraphsIn::Disk => StoreMode::Disk,
            },
            spill_dir: self.spill_dir.clone(),
        };
        crate::train::load::latency_sets_stored(&self.data, self.split_seed, &opts)
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
