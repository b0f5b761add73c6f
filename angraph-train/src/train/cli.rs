//! `angraph train` (latency, power, search) and `angraph quantize`.

use std::path::{Path, PathBuf};

use angraph_core::config::{Aggr, Jk, LatencyConfig, Pool, PowerConfig, Preprocess, Stage};
use angraph_core::Precision;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde::Serialize;
use tch::Device;

use super::data::LatencySet;
use super::latency::{self, LatencyModel, LatencyRecipe};
use super::power::{self, PowerLoss, PowerModel, PowerRecipe, PowerSchedule};
use crate::eval;
use crate::fsio::write_atomic;

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
    Latency(LatencyArgs),
    /// ANGraph-P on a power dataset (MSE, Adam).
    Power(PowerArgs),
    /// Search ANGraph-L options with short runs; select on validation RMSE only.
    Search(SearchArgs),
}

/// `angraph train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(subcommand)]
    pub what: TrainWhat,
}

/// The recipe of an ANGraph-L run.
#[derive(Args, Debug, Clone)]
pub struct LatencyOpts {
    /// `best` (this project's configuration, chosen by `train search`) or `original` (5 x
    /// SAGE(100), JK quirk, sum pooling, mean aggregation, `x[:,1:] *= 2 x[:,0]`, y/1000, Huber
    /// 5, dropout 0.5, Adam 1e-4, wd 1e-5, batch 1; plus an input projection because the
    /// project's graphs have 35 node features, not 100). Flags below override single fields.
    #[arg(long, default_value = "best")]
    pub recipe: String,
    /// Epochs (`best`: 40, `original`: 200).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Graphs per step, batched as one disjoint graph (`best`: 32, `original`: 1).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Adam learning rate (`best`: 2e-3, `original`: 1e-4).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Layer width (`best`: 32, `original`: 100).
    #[arg(long)]
    pub width: Option<u16>,
    /// SAGE layers.
    #[arg(long)]
    pub layers: Option<u8>,
    /// Jumping knowledge: original, all, last.
    #[arg(long)]
    pub jk: Option<String>,
    /// Pooling: sum, mean.
    #[arg(long)]
    pub pool: Option<String>,
    /// Aggregation: mean, activity (activity-weighted mean).
    #[arg(long)]
    pub aggr: Option<String>,
    /// Dropout probability.
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Huber delta in training-target units (`best`: the standardised target, default 1;
    /// `original`: label / 1000, default 5).
    #[arg(long)]
    pub huber_delta: Option<f64>,
    /// Label divisor (labels / scale = training targets): a number, or `mean` (the training
    /// labels' mean; the default of `best`, except under `--preprocess log2ratio`, which needs 1).
    #[arg(long)]
    pub label_scale: Option<String>,
    /// Weight decay.
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Node features the model must not read: names of this project's feature table (as in
    /// a dataset's meta.json, e.g. `x_norm,y_norm`) or column indices, comma-separated;
    /// `none` reads every feature. Constant and saturated features are always dropped.
    #[arg(long, value_delimiter = ',')]
    pub drop_features: Option<Vec<String>>,
    /// Input preprocessing inside the model: none, log2 (every feature `sign(x) log2(1+|x|)`,
    /// piecewise linear, also on the chip), log2exp2 (log2 features and a head that regresses
    /// `log2(1 + latency)`, output `2^head - 1`: a log-log model), log2ratio (log2 features and
    /// a head that regresses `log2(latency / system-level estimate)`, output `estimate x
    /// 2^head` in ns: the model corrects the estimate; needs timed streams and ns labels),
    /// untimed (the node features a TrueAsync DFG JSON stream cannot give, timing and process,
    /// set to 0, then as log2exp2: the model predicts from the DFG form alone),
    /// scale-by-first (the original's).
    #[arg(long)]
    pub preprocess: Option<String>,
}

/// `angraph train latency`.
#[derive(Args, Debug)]
pub struct LatencyArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub opts: LatencyOpts,
}

/// `angraph train power`.
#[derive(Args, Debug)]
pub struct PowerArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// `joint` (both heads together; the recommended model's, with `--anchor`), `two-stage`
    /// (dynamic, then static on the frozen trunk; the original) or `two-stage-joint` (dynamic,
    /// then trunk and both heads together).
    #[arg(long, value_enum, default_value = "joint")]
    pub schedule: PowerSchedule,
    /// Stages of the residual MLP as `WIDTHxBLOCKS,...` (each stage: a linear layer of that
    /// width + ReLU, then that many residual blocks). Default: the original ANGraph-P,
    /// 128x4,64x2,16x0.
    #[arg(long, default_value = "128x4,64x2,16x0", value_parser = parse_stages)]
    pub stages: heapless::Vec<Stage, { angraph_core::config::MAX_STAGES }>,
    /// Epochs (two-stage: half per stage).
    #[arg(long, default_value_t = 200)]
    pub epochs: usize,
    /// Rows per step (the original: 32).
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Adam learning rate (the original: 1e-3).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Weight decay.
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// Do not standardise the inputs (the original does not).
    #[arg(long)]
    pub raw_inputs: bool,
    /// `mse` (squared error of the standardised energies) or `relative` (squared relative
    /// error per row: small meshes count as much as large ones; the recommended model's).
    #[arg(long, value_enum, default_value = "mse")]
    pub loss: PowerLoss,
    /// Carry a least-squares linear path from the operation counts (hops per component class,
    /// busiest component's hops, synaptic words read, neurons fired) to the dynamic energy
    /// through the network, which then learns the rest (needs 48-value inputs: power input
    /// version 3). The recommended model's.
    #[arg(long)]
    pub anchor: bool,
}

/// `angraph train search`.
#[derive(Args, Debug)]
pub struct SearchArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Epochs per candidate.
    #[arg(long, default_value_t = 8)]
    pub epochs: usize,
}

fn parse_jk(s: &str) -> Result<Jk> {
    Ok(match s {
        "original" => Jk::Original,
        "all" => Jk::All,
        "last" => Jk::Last,
        o => bail!("--jk must be original, all or last, not {o:?}"),
    })
}
fn parse_pool(s: &str) -> Result<Pool> {
    Ok(match s {
        "sum" => Pool::Sum,
        "mean" => Pool::Mean,
        o => bail!("--pool must be sum or mean, not {o:?}"),
    })
}
fn parse_aggr(s: &str) -> Result<Aggr> {
    Ok(match s {
        "mean" => Aggr::Mean,
        "activity" => Aggr::ActivityMean,
        o => bail!("--aggr must be mean or activity, not {o:?}"),
    })
}

/// This project's best ANGraph-L configuration (chosen with `angraph train search`; see the
/// `docs/results.md` for the measured search).
pub fn best_config(in_dim: u16) -> LatencyConfig {
    let mut head = heapless::Vec::new();
    let _ = head.push(128);
    let _ = head.push(64);
    LatencyConfig {
        in_dim,
        width: 32,
        layers: 3,
        jk: Jk::All,
        pool: Pool::Mean,
        aggr: Aggr::ActivityMean,
        input_proj: true,
        last_relu: false,
        head,
        preprocess: Preprocess::None,
        max_nodes: 1 << 20,
    }
}

/// Column indices of `names` (feature-table names or indices; `none` = no column).
fn feature_indices(names: &[String], width: usize) -> Result<Vec<usize>> {
    use angraph_core::features::{NODE_FEATURES, NODE_FEATURE_NAMES};
    let mut out = Vec::new();
    for n in names.iter().map(|n| n.trim()).filter(|n| *n != "none") {
        let j = match n.parse::<usize>() {
            Ok(j) => j,
            Err(_) if width == NODE_FEATURES => NODE_FEATURE_NAMES
                .iter()
                .position(|f| *f == n)
                .with_context(|| format!("--drop-features: no node feature named {n:?}"))?,
            Err(_) => bail!("--drop-features {n:?}: the dataset has {width} features, not this project's {NODE_FEATURES}; give indices"),
        };
        if j >= width {
            bail!("--drop-features: column {j} does not exist (the dataset has {width} features)");
        }
        out.push(j);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Build the recipe for `set`.
pub fn latency_recipe(opts: &LatencyOpts, set: &LatencySet, seed: u64) -> Result<LatencyRecipe> {
    let in_dim = set.feature_width() as u16;
    let mut r = match opts.recipe.as_str() {
        "original" => LatencyRecipe {
            config: LatencyConfig {
                in_dim,
                input_proj: in_dim != 100,
                ..LatencyConfig::original()
            },
            dropout: 0.5,
            epochs: 200,
            batch_size: 1,
            lr: 1e-4,
            weight_decay: 1e-5,
            huber_delta: 5.0,
            label_scale: 1000.0,
            standardize: false,
            seed,
            drop_features: Vec::new(),
        },
        "best" => LatencyRecipe {
            config: best_config(in_dim),
            dropout: 0.0,
            epochs: 40,
            batch_size: 32,
            lr: 2e-3,
            weight_decay: 1e-5,
            huber_delta: 1.0,
            label_scale: set.mean_label(&set.splits.train),
            standardize: true,
            seed,
            drop_features: Vec::new(),
        },
        o => bail!("--recipe must be best or original, not {o:?}"),
    };
    if let Some(v) = opts.epochs {
        r.epochs = v;
    }
    if let Some(v) = opts.batch_size {
        r.batch_size = v;
    }
    if let Some(v) = opts.lr {
        r.lr = v;
    }
    if let Some(v) = opts.width {
        r.config.width = v;
        r.config.input_proj = r.config.input_proj || v != in_dim;
    }
    if let Some(v) = opts.layers {
        r.config.layers = v;
    }
    if let Some(v) = &opts.jk {
        r.config.jk = parse_jk(v)?;
    }
    if let Some(v) = &opts.pool {
        r.config.pool = parse_pool(v)?;
    }
    if let Some(v) = &opts.aggr {
        r.config.aggr = parse_aggr(v)?;
    }
    if let Some(v) = opts.dropout {
        r.dropout = v;
    }
    if let Some(v) = opts.huber_delta {
        r.huber_delta = v;
    }
    if let Some(v) = opts.weight_decay {
        r.weight_decay = v;
    }
    if let Some(v) = &opts.preprocess {
        r.config.preprocess = match v.as_str() {
            "none" => Preprocess::None,
            "log2" => Preprocess::Log2,
            "log2exp2" => Preprocess::Log2Exp2,
            "log2ratio" => Preprocess::Log2Ratio,
            "untimed" => Preprocess::Untimed,
            "scale-by-first" => Preprocess::ScaleByFirst,
            o => bail!(
                "--preprocess must be none, log2, log2exp2, log2ratio, untimed or scale-by-first, not {o:?}"
            ),
        };
    }
    if let Some(v) = &opts.drop_features {
        r.drop_features = feature_indices(v, in_dim as usize)?;
    }
    // A ratio model predicts in ns: its targets are label / estimate, not label / scale.
    if r.config.preprocess == Preprocess::Log2Ratio && opts.label_scale.is_none() {
        r.label_scale = 1.0;
    }
    if let Some(v) = &opts.label_scale {
        r.label_scale = match v.as_str() {
            "mean" => set.mean_label(&set.splits.train),
            n => n
                .parse()
                .with_context(|| format!("--label-scale {n:?}: a number or `mean`"))?,
        };
    }
    Ok(r)
}

fn restrict_train(set: &mut LatencySet, max_train: Option<usize>) {
    if let Some(m) = max_train {
        set.splits.train.truncate(m);
    }
}

/// The report a latency training run writes.
#[derive(Serialize)]
struct LatencyTrainReport<'a> {
    model: &'static str,
    dataset: &'a str,
    recipe: &'a LatencyRecipe,
    sizes: [usize; 3],
    outcome: &'a latency::LatencyOutcome,
    test_vs_system_estimate: Option<crate::metrics::Versus>,
    command: String,
}

fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// Train ANGraph-L; returns the exported (raw-feature) checkpoint path.
fn train_latency(a: &LatencyArgs) -> Result<()> {
    let device = a.run.setup()?;
    let mut set = super::load::latency_sets(&a.run.data, a.run.split_seed)?;
    restrict_train(&mut set, a.run.max_train);
    let recipe = latency_recipe(&a.opts, &set, a.run.seed)?;
    eprintln!(
        "ANGraph-L on {} ({} train / {} valid / {} test graphs, {} node features, device {:?})",
        set.name,
        set.splits.train.len(),
        set.splits.valid.len(),
        set.splits.test.len(),
        set.feature_width(),
        device
    );
    let (model, outcome) = latency::train(
        &set,
        &recipe,
        &a.run.out,
        device,
        a.run.resume,
        !a.run.quiet,
    )?;
    let exported = model.export(&format!(
        "ANGraph-L ({} recipe) trained on {}, selected on validation (epoch {}); test R2 {:.4}",
        a.opts.recipe, set.name, outcome.best_epoch, outcome.test.r2
    ))?;
    let model_path = a.run.out.join("model.safetensors");
    exported.save(&model_path)?;
    // Evaluate the exported checkpoint (raw features), exactly what users load.
    let m = LatencyModel::from_checkpoint(exported)?;
    let ev = eval::latency_eval(&m, &set, &set.splits.test)?;
    eval::latency_plot(&a.run.out.join("pred_vs_true.png"), &set, &ev, "test split")?;
    let report = LatencyTrainReport {
        model: "ANGraph-L",
        dataset: &set.name,
        recipe: &recipe,
        sizes: [
            set.splits.train.len(),
            set.splits.valid.len(),
            set.splits.test.len(),
        ],
        outcome: &outcome,
        test_vs_system_estimate: ev.versus,
        command: command_line(),
    };
    let json = serde_json::to_string_pretty(&report)?;
    write_atomic(&a.run.out.join("report.json"), json.as_bytes())?;
    println!(
        "ANGraph-L on {}: best epoch {} | valid R2 {:.4} | test R2 {:.4} RMSE {:.4} {} MAPE {:.2}% | {:.1} s/epoch",
        set.name, outcome.best_epoch, outcome.valid.r2, outcome.test.r2, outcome.test.rmse, set.unit, outcome.test.mape, outcome.seconds_per_epoch
    );
    if let Some(v) = &ev.versus {
        println!(
            "  system-level estimate on test: R2 {:.4} RMSE {:.4} MAPE {:.2}% -> R2 gain {:+.4}, RMSE reduction {:.1}%",
            v.baseline.r2, v.baseline.rmse, v.baseline.mape, v.r2_gain, v.rmse_reduction
        );
    }
    if let Some(prefix) = &a.run.save {
        save_copy(
            prefix,
            &model_path,
            json.as_bytes(),
            &a.run.out.join("pred_vs_true.png"),
        )?;
    }
    Ok(())
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

#[derive(Serialize)]
struct PowerTrainReport<'a> {
    model: &'static str,
    dataset: &'a str,
    recipe: &'a PowerRecipe,
    sizes: [usize; 3],
    outcome: &'a power::PowerOutcome,
    command: String,
}

/// `--stages`: `WIDTHxBLOCKS` stages separated by commas (widths and block counts as
/// `PowerConfig::validate` allows them).
fn parse_stages(
    text: &str,
) -> std::result::Result<heapless::Vec<Stage, { angraph_core::config::MAX_STAGES }>, String> {
    let mut out = heapless::Vec::new();
    for part in text.split(',') {
        let (w, b) = part
            .trim()
            .split_once('x')
            .ok_or_else(|| format!("{part:?}: expected WIDTHxBLOCKS, e.g. 64x2"))?;
        let width: u16 = w
            .parse()
            .map_err(|_| format!("{part:?}: width {w:?} is not a number"))?;
        let blocks: u8 = b
            .parse()
            .map_err(|_| format!("{part:?}: blocks {b:?} is not a number"))?;
        if width == 0 || width > angraph_core::config::MAX_WIDTH {
            return Err(format!(
                "{part:?}: width {width} is outside 1..={}",
                angraph_core::config::MAX_WIDTH
            ));
        }
        if blocks > angraph_core::config::MAX_BLOCKS {
            return Err(format!(
                "{part:?}: {blocks} blocks, at most {}",
                angraph_core::config::MAX_BLOCKS
            ));
        }
        out.push(Stage { width, blocks })
            .map_err(|_| format!("more than {} stages", angraph_core::config::MAX_STAGES))?;
    }
    Ok(out)
}

fn train_power(a: &PowerArgs) -> Result<()> {
    let device = a.run.setup()?;
    let mut set = super::load::power_sets(&a.run.data, a.run.split_seed)?;
    if let Some(m) = a.run.max_train {
        set.splits.train.truncate(m);
    }
    let mean_total = set
        .splits
        .train
        .iter()
        .map(|&i| (set.labels[i][0] + set.labels[i][1]) as f64)
        .sum::<f64>()
        / set.splits.train.len().max(1) as f64;
    let recipe = PowerRecipe {
        config: PowerConfig {
            in_dim: set.in_dim as u16,
            stages: a.stages.clone(),
            ..PowerConfig::original()
        },
        schedule: a.schedule,
        epochs: a.epochs,
        batch_size: a.batch_size,
        lr: a.lr,
        weight_decay: a.weight_decay,
        label_scale: mean_total as f32,
        standardize: !a.raw_inputs,
        seed: a.run.seed,
        loss: a.loss,
        anchor: a.anchor,
    };
    eprintln!(
        "ANGraph-P on {} ({} train / {} valid / {} test rows, {} inputs, device {:?})",
        set.name,
        set.splits.train.len(),
        set.splits.valid.len(),
        set.splits.test.len(),
        set.in_dim,
        device
    );
    let (model, outcome) = power::train(
        &set,
        &recipe,
        &a.run.out,
        device,
        a.run.resume,
        !a.run.quiet,
    )?;
    let exported = model.export(&format!(
        "ANGraph-P ({:?}) trained on {}, selected on validation (epoch {}); test R2 total {:.4}",
        a.schedule, set.name, outcome.best_epoch, outcome.test.total.r2
    ))?;
    let model_path = a.run.out.join("model.safetensors");
    exported.save(&model_path)?;
    let m = PowerModel::from_checkpoint(exported)?;
    let pred = m.predict(&set, &set.splits.test)?;
    eval::power_plot(
        &a.run.out.join("pred_vs_true.png"),
        &set,
        &set.splits.test,
        &pred,
    )?;
    let report = PowerTrainReport {
        model: "ANGraph-P",
        dataset: &set.name,
        recipe: &recipe,
        sizes: [
            set.splits.train.len(),
            set.splits.valid.len(),
            set.splits.test.len(),
        ],
        outcome: &outcome,
        command: command_line(),
    };
    let json = serde_json::to_string_pretty(&report)?;
    write_atomic(&a.run.out.join("report.json"), json.as_bytes())?;
    let t = &outcome.test;
    println!(
        "ANGraph-P on {}: best epoch {} | test R2 dyn {:.5} stat {:.5} total {:.5} | MAPE dyn {:.3}% stat {:.3}% total {:.3}% | {:.2} s/epoch",
        set.name, outcome.best_epoch, t.dynamic.r2, t.r#static.r2, t.total.r2, t.dynamic.mape, t.r#static.mape, t.total.mape, outcome.seconds_per_epoch
    );
    if let Some(prefix) = &a.run.save {
        save_copy(
            prefix,
            &model_path,
            json.as_bytes(),
            &a.run.out.join("pred_vs_true.png"),
        )?;
    }
    Ok(())
}

#[derive(Serialize)]
struct SearchRow {
    candidate: String,
    recipe: LatencyRecipe,
    best_epoch: usize,
    valid_r2: f64,
    valid_rmse: f64,
    test_r2: f64,
    seconds_per_epoch: f64,
}

/// One-factor-at-a-time search around the base recipe; selection by validation RMSE.
fn search(a: &SearchArgs) -> Result<()> {
    let device = a.run.setup()?;
    let mut set = super::load::latency_sets(&a.run.data, a.run.split_seed)?;
    restrict_train(&mut set, a.run.max_train);
    let base = LatencyOpts {
        recipe: "best".into(),
        epochs: Some(a.epochs),
        batch_size: None,
        lr: None,
        width: None,
        layers: None,
        jk: None,
        pool: None,
        aggr: None,
        dropout: None,
        huber_delta: None,
        label_scale: None,
        weight_decay: None,
        drop_features: None,
        preprocess: None,
    };
    let with = |f: &dyn Fn(&mut LatencyOpts)| {
        let mut o = base.clone();
        f(&mut o);
        o
    };
    let candidates: Vec<(&str, LatencyOpts)> = vec![
        (
            "base: jk all, mean pool, activity mean, w64 x3",
            base.clone(),
        ),
        ("jk original", with(&|o| o.jk = Some("original".into()))),
        ("jk last", with(&|o| o.jk = Some("last".into()))),
        ("pool sum", with(&|o| o.pool = Some("sum".into()))),
        ("aggr mean", with(&|o| o.aggr = Some("mean".into()))),
        ("width 100", with(&|o| o.width = Some(100))),
        ("width 64", with(&|o| o.width = Some(64))),
        ("layers 5", with(&|o| o.layers = Some(5))),
        ("layers 2", with(&|o| o.layers = Some(2))),
        ("dropout 0.1", with(&|o| o.dropout = Some(0.1))),
    ];
    let mut rows = Vec::new();
    for (i, (name, opts)) in candidates.iter().enumerate() {
        let recipe = latency_recipe(opts, &set, a.run.seed)?;
        let dir = a.run.out.join(format!("c{i:02}"));
        eprintln!("candidate {i}: {name}");
        let (_, o) = latency::train(&set, &recipe, &dir, device, a.run.resume, !a.run.quiet)?;
        println!(
            "{name:<46} valid R2 {:.4} RMSE {:.4} (epoch {})  {:.1} s/epoch",
            o.valid.r2, o.valid.rmse, o.best_epoch, o.seconds_per_epoch
        );
        rows.push(SearchRow {
            candidate: name.to_string(),
            recipe,
            best_epoch: o.best_epoch,
            valid_r2: o.valid.r2,
            valid_rmse: o.valid.rmse,
            test_r2: o.test.r2,
            seconds_per_epoch: o.seconds_per_epoch,
        });
    }
    let best = rows
        .iter()
        .min_by(|a, b| a.valid_rmse.total_cmp(&b.valid_rmse))
        .context("no candidate")?;
    let mut md = format!(
        "Search on {} ({} training graphs, {} epochs each, seed {}); selection by validation RMSE only.\n\n| candidate | valid R2 | valid RMSE ({}) | best epoch | s/epoch |\n|---|---|---|---|---|\n",
        set.name,
        set.splits.train.len(),
        a.epochs,
        a.run.seed,
        set.unit
    );
    for r in &rows {
        md.push_str(&format!(
            "| {}{} | {:.4} | {:.4} | {} | {:.1} |\n",
            r.candidate,
            if std::ptr::eq(r, best) {
                " **(selected)**"
            } else {
                ""
            },
            r.valid_r2,
            r.valid_rmse,
            r.best_epoch,
            r.seconds_per_epoch
        ));
    }
    write_atomic(&a.run.out.join("search.md"), md.as_bytes())?;
    write_atomic(
        &a.run.out.join("search.json"),
        serde_json::to_string_pretty(&rows)?.as_bytes(),
    )?;
    print!("{md}");
    Ok(())
}

/// Run `angraph train`.
pub fn run_train(a: &TrainArgs) -> Result<()> {
    match &a.what {
        TrainWhat::Latency(l) => train_latency(l),
        TrainWhat::Power(p) => train_power(p),
        TrainWhat::Search(s) => search(s),
    }
}

/// `angraph quantize`: calibrate on training data, write the `.angq`, report float vs fixed.
#[derive(Args, Debug)]
pub struct QuantizeArgs {
    /// A checkpoint written by `angraph train` / `transfer` / `import` (`*.safetensors`).
    #[arg(long)]
    pub model: PathBuf,
    /// The datasets (one or more; give a mix model its whole training mix): calibration on
    /// `--calib` samples spread over their training splits, the report on `--split`.
    #[arg(long, required = true, num_args = 1..)]
    pub data: Vec<PathBuf>,
    /// Output blob (default: the checkpoint's path with `.angq`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Calibration samples (spread evenly over the training splits).
    #[arg(long, default_value_t = 256)]
    pub calib: usize,
    /// Activation precision: int16 or int8 (weights are int8 either way).
    #[arg(long, default_value = "int16")]
    pub precision: String,
    /// Split to report on: train, valid, test, all.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Re-split with this seed instead of the dataset's split files.
    #[arg(long)]
    pub split_seed: Option<u64>,
    /// Datasets (repeatable) that fit the blob's trust section: input ranges and embedding
    /// statistics on their training splits, the conformal intervals and the envelope threshold
    /// on their validation splits (held out from training). Use the model's training sets.
    /// Without it the blob has no intervals and no envelope check.
    #[arg(long, value_name = "DIR")]
    pub trust_data: Vec<PathBuf>,
    /// Nominal coverage of the intervals, percent.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u8).range(50..=99))]
    pub coverage: u8,
    /// Envelope threshold: this quantile (percent) of the held-out embedding distances; a
    /// larger value flags fewer in-distribution inputs.
    #[arg(long, default_value_t = 99, value_parser = clap::value_parser!(u8).range(50..=99))]
    pub envelope: u8,
}

/// Fit the trust section of the blob at `out` on `a.trust_data` and rewrite the blob.
fn add_trust(a: &QuantizeArgs, out: &std::path::Path) -> Result<Option<serde_json::Value>> {
    if a.trust_data.is_empty() {
        return Ok(None);
    }
    let bytes = std::fs::read(out).with_context(|| format!("reading {}", out.display()))?;
    let q = angraph_core::Model::from_bytes(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    let t = match q.family() {
        angraph_core::Family::Latency => {
            let set = crate::train::load::latency_sets(&a.trust_data, a.split_seed)?;
            crate::trust::fit_latency(&q, &set, a.coverage, a.envelope)?
        }
        angraph_core::Family::Power => {
            let set = crate::train::load::power_sets(&a.trust_data, a.split_seed)?;
            crate::trust::fit_power(&q, &set, a.coverage, a.envelope)?
        }
    };
    let blob = angraph_core::trust_fit::with_trust(&bytes, Some(&t))
        .map_err(|e| anyhow::anyhow!("{}: trust section: {e}", out.display()))?;
    write_atomic(out, &blob)?;
    let widths: Vec<f64> = t
        .half_width
        .iter()
        .map(|&q| 100.0 * (angraph_core::preprocess::exp2_f32(q as f32 / 65536.0) as f64 - 1.0))
        .collect();
    eprintln!(
        "trust: {} calibration samples, {} % intervals of +{} %, envelope at the {} % distance quantile",
        t.calibration_samples,
        t.coverage_pct,
        widths
            .iter()
            .map(|w| format!("{w:.2}"))
            .collect::<Vec<_>>()
            .join(" / "),
        a.envelope
    );
    Ok(Some(serde_json::json!({
        "datasets": a.trust_data.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "calibration_samples": t.calibration_samples,
        "coverage_pct": t.coverage_pct,
        "envelope_pct": a.envelope,
        "upper_half_width_pct": widths,
    })))
}

/// Run `angraph quantize`.
pub fn run_quantize(a: &QuantizeArgs) -> Result<()> {
    let precision = match a.precision.as_str() {
        "int16" => Precision::Int16,
        "int8" => Precision::Int8,
        p => bail!("--precision must be int16 or int8, not {p:?}"),
    };
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| a.model.with_extension("angq"));
    let report = eval::quantize_and_compare(
        &a.model,
        &a.data,
        a.split_seed,
        a.calib,
        precision,
        &a.split,
        &out,
    )?;
    let trust = add_trust(a, &out)?;
    // Merge into a copy of the model's JSON report when there is one (`<model>.json`), written
    // next to the blob (`<out>.json`: `<model>.json` itself without --out), else
    // `<out>.angq.json`. Nothing is written outside `--out`'s folder.
    let report_path = a.model.with_extension("json");
    let merged_path = Some(out.with_extension("json"))
        .filter(|p| *p != out)
        .unwrap_or_else(|| out.with_extension("angq.json"));
    let merged = match std::fs::read_to_string(&report_path)
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
    {
        Some(mut v)
            if v.is_object()
                && a.model.extension().is_some_and(|e| e == "safetensors")
                && report_path.exists()
                && !report_path.ends_with("report.json") =>
        {
            v["fixed_point"] = serde_json::to_value(&report)?;
            if let Some(t) = &trust {
                v["fixed_point"]["trust"] = t.clone();
            }
            (merged_path, v)
        }
        _ => {
            let mut v = serde_json::to_value(&report)?;
            if let Some(t) = &trust {
                v["trust"] = t.clone();
            }
            (out.with_extension("angq.json"), v)
        }
    };
    write_atomic(
        &merged.0,
        serde_json::to_string_pretty(&merged.1)?.as_bytes(),
    )?;
    eprintln!("report: {}", merged.0.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_parse_and_bad_ones_say_why() {
        let s = parse_stages("64x2,16x0").unwrap();
        assert_eq!(
            s.as_slice(),
            &[
                Stage {
                    width: 64,
                    blocks: 2
                },
                Stage {
                    width: 16,
                    blocks: 0
                }
            ]
        );
        assert_eq!(
            parse_stages("128x4,64x2,16x0").unwrap().as_slice(),
            PowerConfig::original().stages.as_slice()
        );
        for (bad, why) in [
            ("64", "WIDTHxBLOCKS"),
            ("ax2", "width"),
            ("64xb", "blocks"),
            ("0x1", "outside"),
            ("300x1", "outside"),
            ("64x9", "at most"),
            ("8x0,8x0,8x0,8x0,8x0", "stages"),
        ] {
            let e = parse_stages(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
