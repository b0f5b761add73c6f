//! `angraph train latency`: ANGraph-L's recipe from the command line, the run, its export,
//! evaluation and report.

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;

use super::{command_line, restrict_train, save_copy, RunArgs};
use crate::eval;
use crate::fsio::write_atomic;
use crate::train::data::LatencySet;
use crate::train::latency::{self, best_config, LatencyModel, LatencyRecipe};
use angraph_core::config::{Aggr, Jk, LatencyConfig, Pool, Preprocess};

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

/// Run `angraph train latency`: train ANGraph-L, export the raw-feature checkpoint, evaluate
/// it on the test split and write the report.
pub fn run(a: &LatencyArgs) -> Result<()> {
    let device = a.run.setup()?;
    let mut set = a.run.latency_sets()?;
    restrict_train(&mut set, a.run.max_train);
    let recipe = latency_recipe(&a.opts, &set, a.run.seed)?;
    eprintln!(
        "ANGraph-L on {} ({} train / {} valid / {} test graphs, {} node features, device {:?}, graphs {})",
        set.name,
        set.splits.train.len(),
        set.splits.valid.len(),
        set.splits.test.len(),
        set.feature_width(),
        device,
        if set.graphs.on_disk() { "on disk" } else { "in memory" }
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
