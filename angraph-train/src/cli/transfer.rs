//! `angraph transfer`: read the checkpoint, split the new data, run the adaptation of
//! [`crate::transfer`] (head fine-tuning for ANGraph-L, time factor and head refit for
//! ANGraph-P), write the run folder and report, print the before / after figures.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use tch::Device;

use super::train::save_copy;
use crate::dataset::Split;
use crate::eval::{latency_eval, latency_plot, power_plot, LatencyEval};
use crate::fsio::write_atomic;
use crate::nn::{Checkpoint, Net};
use crate::train::epochs::{run_epochs, Schedule, Selection, Task};
use crate::train::latency::LatencyModel;
use crate::train::power::{PowerMetrics, PowerModel};
use crate::transfer::{
    adapt_power, fit_time_factor, fold_time_factor, shot_splits, HeadFit, HeadRecipe, HeadTuning,
    PowerMethod, TimeFactor, TIME_FACTOR_LN_RANGE,
};

/// `--power-method` ([`PowerMethod`]): how `angraph transfer` refits ANGraph-P's output heads
/// (each head separately, by least squares of the relative error `(prediction - label) / label`
/// over the adaptation samples).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PowerMethodArg {
    /// One factor per head: `prediction x a` (the process node scales dynamic energy by about
    /// C V^2 and static energy by the leakage). With the fitted time factor and 20 rows, 65 nm
    /// -> 28 nm: total MAPE 221% -> 0.80%; -> 22 nm: 434% -> 0.79% (mean of 5 seeds).
    Scale,
    /// A factor and an offset per head: `prediction x a + c`.
    Affine,
    /// The factor plus a ridge refit of the head's weights (`a x w + d`, `d` penalised), the
    /// ridge strength chosen by leave-one-out error on the adaptation samples (a strength of
    /// infinity, i.e. `scale`, is one of the candidates).
    Heads,
}

impl From<PowerMethodArg> for PowerMethod {
    fn from(m: PowerMethodArg) -> Self {
        match m {
            PowerMethodArg::Scale => PowerMethod::Scale,
            PowerMethodArg::Affine => PowerMethod::Affine,
            PowerMethodArg::Heads => PowerMethod::Heads,
        }
    }
}

/// `angraph transfer`.
#[derive(Args, Debug)]
pub struct TransferArgs {
    /// The trained checkpoint (`*.safetensors`, ANGraph-L or ANGraph-P; the family is read
    /// from it).
    #[arg(long)]
    pub model: PathBuf,
    /// The new configuration's dataset: a latency graph dataset for ANGraph-L, a power
    /// dataset (`feature.npy`, `label.npy`) for ANGraph-P.
    #[arg(long)]
    pub data: PathBuf,
    /// Run folder (model.safetensors, report.json, before.png, pred_vs_true.png; ANGraph-L
    /// also best.safetensors).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write `<SAVE>.safetensors`, `<SAVE>.json`, `<SAVE>.png`.
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Adapt from exactly this many labelled samples (graphs or activity rows, at least 1 and
    /// fewer than the dataset holds), picked by a shuffle seeded with --seed, and test on all
    /// the other samples (no validation split; ANGraph-L keeps the head of the last epoch).
    /// Without it: --train-frac / --valid-frac.
    #[arg(long)]
    pub shots: Option<usize>,
    /// ANGraph-P: how the output heads are refitted [default: scale].
    #[arg(long, value_enum)]
    pub power_method: Option<PowerMethodArg>,
    /// ANGraph-P: ratio (new / source, no unit) of the time inputs (the `busy_time`, `span`
    /// and `mean_dwell` columns of the activity matrix, which scale with the gate delay): `fit`
    /// searches it in [1/8, 8] on the adaptation samples, a number fixes it (e.g. 0.5 from
    /// 65 nm to 28 nm), `1` keeps the inputs. Folded into `conv1` [default: fit].
    #[arg(long)]
    pub time_factor: Option<TimeFactor>,
    /// Share of the new data used for adaptation (without --shots).
    #[arg(long, default_value_t = 0.1)]
    pub train_frac: f64,
    /// ANGraph-L without --shots: share used for model selection (the rest is the test
    /// split). ANGraph-P selects nothing on held-out data and tests on all the rest.
    #[arg(long, default_value_t = 0.1)]
    pub valid_frac: f64,
    /// Seed of the split, shuffles and torch.
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
    /// ANGraph-L: epochs of head fine-tuning.
    #[arg(long, default_value_t = 100)]
    pub epochs: usize,
    /// ANGraph-L: graphs per step.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// ANGraph-L: Adam learning rate (the original: 1e-3).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// ANGraph-L: Huber delta (model units).
    #[arg(long, default_value_t = 1.0)]
    pub huber_delta: f64,
    /// Intra-op threads (0 = libtorch's default).
    #[arg(long, default_value_t = 0)]
    pub threads: i32,
    /// `auto`, `cpu` or `cuda`.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
    /// ANGraph-L: continue an interrupted fine-tuning in `--out` (same options; more epochs
    /// allowed). The run folder holds state.json, last/best checkpoints and log.json as for
    /// `angraph train`.
    #[arg(long)]
    pub resume: bool,
}

#[derive(Serialize)]
struct TransferReport {
    source_model: String,
    dataset: String,
    sizes: [usize; 3],
    #[serde(skip_serializing_if = "Option::is_none")]
    shots: Option<usize>,
    epochs: usize,
    best_epoch: usize,
    before: LatencyEval,
    after: LatencyEval,
    command: String,
}

/// Run `angraph transfer`.
pub fn run(a: &TransferArgs) -> Result<()> {
    if a.threads > 0 {
        tch::set_num_threads(a.threads);
    }
    let device = crate::nn::parse_device(&a.device)?;
    tch::manual_seed(a.seed as i64);
    let ck = Checkpoint::load(&a.model, device)?;
    match ck.net {
        Net::Latency(_) => {
            if a.power_method.is_some() || a.time_factor.is_some() {
                bail!(
                    "--power-method / --time-factor: {} is an ANGraph-L checkpoint (its head is fine-tuned)",
                    a.model.display()
                );
            }
            run_latency(a, ck, device)
        }
        Net::Power(_) => run_power(a, ck),
    }
}

fn run_latency(a: &TransferArgs, ck: Checkpoint, device: Device) -> Result<()> {
    let mut set = crate::train::load::latency_set(&a.data, None).with_context(|| {
        format!(
            "{} is an ANGraph-L checkpoint: --data must be a latency graph dataset",
            a.model.display()
        )
    })?;
    crate::dataset::check_label_unit(&a.data, &set.unit, &a.model, &ck.meta.unit)?;
    let n = set.graphs.len();
    set.splits = match a.shots {
        Some(k) => shot_splits(&set.name, n, k, a.seed)?,
        None => Split::fractions(n, a.seed, a.train_frac, a.valid_frac)?,
    };
    // With --shots there is no validation split: the last epoch is kept.
    let select = a.shots.is_none();
    if set.splits.train.is_empty()
        || (select && set.splits.valid.is_empty())
        || set.splits.test.is_empty()
    {
        bail!(
            "{}: too few graphs for a {}/{} split",
            set.name,
            a.train_frac,
            a.valid_frac
        );
    }
    let model = LatencyModel::from_checkpoint(ck)?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let before = latency_eval(&model, &set, &set.splits.test)?;
    latency_plot(
        &a.out.join("before.png"),
        &set,
        &before,
        "test, before transfer",
    )?;
    // Freeze message passing; optimise the head only.
    for v in model.net().message_passing_variables() {
        let _ = v.set_requires_grad(false);
    }
    let task = HeadTuning {
        model: &model,
        set: &set,
        device,
        huber_delta: a.huber_delta,
        select,
    };
    let baseline = if select {
        Some(task.validate(0)?.score)
    } else {
        None
    };
    let recipe = HeadRecipe {
        source_model: a.model.display().to_string(),
        dataset: a.data.display().to_string(),
        shots: a.shots,
        train_frac: a.train_frac,
        valid_frac: a.valid_frac,
        seed: a.seed,
        epochs: a.epochs,
        batch_size: a.batch_size,
        lr: a.lr,
        huber_delta: a.huber_delta,
    };
    let schedule = Schedule {
        recipe: serde_json::to_value(&recipe)?,
        epochs: a.epochs,
        batch_size: a.batch_size,
        seed: a.seed,
        lr: a.lr,
        weight_decay: 0.0,
        train: &set.splits.train,
        selection: if select {
            Selection::Best { baseline }
        } else {
            Selection::Last
        },
        title: format!("ANGraph-L head fine-tuned on {}", set.name),
        unit: set.unit.clone(),
        show_progress: !a.quiet,
    };
    let best_epoch = run_epochs(&task, &schedule, &a.out, a.resume)?.best_epoch;
    let after = latency_eval(&model, &set, &set.splits.test)?;
    latency_plot(
        &a.out.join("pred_vs_true.png"),
        &set,
        &after,
        "test, after transfer",
    )?;
    let exported = model.export(&format!(
        "{} transferred to {} (head fine-tuned on {} graphs, epoch {best_epoch}); test R2 {:.4}",
        a.model.display(),
        set.name,
        set.splits.train.len(),
        after.model.r2
    ))?;
    let model_path = a.out.join("model.safetensors");
    exported.save(&model_path)?;
    let report = TransferReport {
        source_model: a.model.display().to_string(),
        dataset: set.name.clone(),
        sizes: [
            set.splits.train.len(),
            set.splits.valid.len(),
            set.splits.test.len(),
        ],
        shots: a.shots,
        epochs: a.epochs,
        best_epoch,
        before: before.clone(),
        after: after.clone(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let json = serde_json::to_string_pretty(&report)?;
    write_atomic(&a.out.join("report.json"), json.as_bytes())?;
    println!(
        "transfer to {}: test R2 {:.4} -> {:.4}, RMSE {:.4} -> {:.4} {}, MAPE {:.2}% -> {:.2}% (head tuned on {} graphs, {} epoch {best_epoch})",
        set.name,
        before.model.r2,
        after.model.r2,
        before.model.rmse,
        after.model.rmse,
        set.unit,
        before.model.mape,
        after.model.mape,
        set.splits.train.len(),
        if select { "best" } else { "last" }
    );
    if let Some(prefix) = &a.save {
        save_copy(
            prefix,
            &model_path,
            json.as_bytes(),
            &a.out.join("pred_vs_true.png"),
        )?;
    }
    Ok(())
}

#[derive(Serialize)]
struct PowerTransferReport {
    model: &'static str,
    source_model: String,
    dataset: String,
    method: PowerMethod,
    /// Time inputs of the new data over the source's (folded into `conv1`).
    time_factor: f64,
    /// Whether `time_factor` was fitted on the adaptation samples (or given).
    time_factor_fitted: bool,
    shots: Option<usize>,
    /// Adaptation and test samples.
    sizes: [usize; 2],
    heads: Vec<HeadFit>,
    before: PowerMetrics,
    after: PowerMetrics,
    command: String,
}

fn run_power(a: &TransferArgs, ck: Checkpoint) -> Result<()> {
    let method = a.power_method.map_or(PowerMethod::Scale, PowerMethod::from);
    let time = a.time_factor.unwrap_or(TimeFactor::Fit);
    let model_unit = ck.meta.unit.clone();
    let model = PowerModel::from_checkpoint(ck)?;
    let in_dim = model.net().config().in_dim as usize;
    if model.net().heads.len() != 2 {
        bail!(
            "{}: ANGraph-P with {} heads; transfer needs 2 (dynamic, static)",
            a.model.display(),
            model.net().heads.len()
        );
    }
    let mut set = crate::train::load::power_set_for(&a.data, None, in_dim).with_context(|| {
        format!(
            "{} is an ANGraph-P checkpoint: --data must be a power dataset",
            a.model.display()
        )
    })?;
    crate::dataset::check_label_unit(&a.data, &set.unit, &a.model, &model_unit)?;
    set.splits = match a.shots {
        Some(k) => shot_splits(&set.name, set.len(), k, a.seed)?,
        None => Split::fractions(set.len(), a.seed, a.train_frac, 0.0)?,
    };
    if set.splits.train.is_empty() || set.splits.test.is_empty() {
        bail!(
            "{}: too few samples ({}) for --train-frac {}",
            set.name,
            set.len(),
            a.train_frac
        );
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let test = set.splits.test.clone();
    let pred = model.predict(&set, &test)?;
    let before = PowerMetrics::of(&pred, &set, &test);
    power_plot(&a.out.join("before.png"), &set, &test, &pred)?;
    if time != TimeFactor::Fixed(1.0)
        && angraph_core::power_input::PowerInput::from_in_dim(in_dim).is_err()
    {
        bail!(
            "{}: --time-factor needs the activity-matrix input (in_dim 36 or 42), the model reads {in_dim} values; use --time-factor 1",
            a.model.display()
        );
    }
    let time_factor = match time {
        TimeFactor::Fit => {
            let f = fit_time_factor(&model, &set, &set.splits.train)?;
            if f.ln().abs() > TIME_FACTOR_LN_RANGE - 0.05 {
                eprintln!(
                    "warning: the fitted time factor {f:.4} lies at the end of the search range [1/8, 8]: the shift of {} is probably not a process node (delay) change; compare with --time-factor 1",
                    set.name
                );
            }
            f
        }
        TimeFactor::Fixed(v) => v,
    };
    fold_time_factor(&model, time_factor)?;
    let heads = adapt_power(&model, &set, &set.splits.train, method)?;
    let pred = model.predict(&set, &test)?;
    let after = PowerMetrics::of(&pred, &set, &test);
    power_plot(&a.out.join("pred_vs_true.png"), &set, &test, &pred)?;
    let exported = model.export(&format!(
        "{} transferred to {} (time factor {time_factor:.4}, heads refitted ({method:?}) on {} rows); test MAPE total {:.3}%",
        a.model.display(),
        set.name,
        set.splits.train.len(),
        after.total.mape
    ))?;
    let model_path = a.out.join("model.safetensors");
    exported.save(&model_path)?;
    let report = PowerTransferReport {
        model: "ANGraph-P",
        source_model: a.model.display().to_string(),
        dataset: set.name.clone(),
        method,
        time_factor,
        time_factor_fitted: time == TimeFactor::Fit,
        shots: a.shots,
        sizes: [set.splits.train.len(), test.len()],
        heads,
        before,
        after,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let json = serde_json::to_string_pretty(&report)?;
    write_atomic(&a.out.join("report.json"), json.as_bytes())?;
    println!(
        "transfer to {} ({method:?}, time factor {time_factor:.4}, on {} rows, tested on {}): MAPE dynamic {:.3}% -> {:.3}%, static {:.3}% -> {:.3}%, total {:.3}% -> {:.3}%; R2 total {:.4} -> {:.4}, RMSE total {:.4} -> {:.4} {}",
        set.name,
        set.splits.train.len(),
        test.len(),
        before.dynamic.mape,
        after.dynamic.mape,
        before.r#static.mape,
        after.r#static.mape,
        before.total.mape,
        after.total.mape,
        before.total.r2,
        after.total.r2,
        before.total.rmse,
        after.total.rmse,
        set.unit
    );
    if let Some(prefix) = &a.save {
        save_copy(
            prefix,
            &model_path,
            json.as_bytes(),
            &a.out.join("pred_vs_true.png"),
        )?;
    }
    Ok(())
}
