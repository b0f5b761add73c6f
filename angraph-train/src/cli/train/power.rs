//! `angraph train power`: ANGraph-P's recipe from the command line, the run, its export and
//! report.

use anyhow::Result;
use clap::Args;
use serde::Serialize;

use super::{command_line, save_copy, RunArgs};
use crate::eval;
use crate::fsio::write_atomic;
use crate::train::power::{self, PowerLoss, PowerModel, PowerRecipe, PowerSchedule};
use angraph_core::config::{PowerConfig, Stage};

/// `--schedule` ([`PowerSchedule`]): how the two heads are trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PowerScheduleArg {
    /// Both heads at once.
    Joint,
    /// Dynamic first (trunk + `output_1`), then static (`output_2` on the frozen trunk).
    TwoStage,
    /// Dynamic first (trunk + `output_1`), then both heads and the trunk together from the
    /// stage-1 model (for inputs that make static energy learnable: the operating conditions).
    TwoStageJoint,
}

impl From<PowerScheduleArg> for PowerSchedule {
    fn from(s: PowerScheduleArg) -> Self {
        match s {
            PowerScheduleArg::Joint => PowerSchedule::Joint,
            PowerScheduleArg::TwoStage => PowerSchedule::TwoStage,
            PowerScheduleArg::TwoStageJoint => PowerSchedule::TwoStageJoint,
        }
    }
}

/// `--loss` ([`PowerLoss`]): what each row's squared error is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PowerLossArg {
    /// Squared error of the standardised targets (large energies dominate).
    Mse,
    /// Squared *relative* error: row `i`'s error on head `k` weighted by
    /// `(mean_k / label_ik)^2`, so a 2x2 mesh's nanojoule counts as much as an 8x8 mesh's tens
    /// (what MAPE measures; for training mixes of several mesh sizes).
    Relative,
}

impl From<PowerLossArg> for PowerLoss {
    fn from(l: PowerLossArg) -> Self {
        match l {
            PowerLossArg::Mse => PowerLoss::Mse,
            PowerLossArg::Relative => PowerLoss::Relative,
        }
    }
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
    pub schedule: PowerScheduleArg,
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
    pub loss: PowerLossArg,
    /// Carry a least-squares linear path from the operation counts (hops per component class,
    /// busiest component's hops, synaptic words read, neurons fired) to the dynamic energy
    /// through the network, which then learns the rest (needs 48-value inputs: power input
    /// version 3). The recommended model's.
    #[arg(long)]
    pub anchor: bool,
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

/// Run `angraph train power`: train ANGraph-P, export it, plot the test split and write the
/// report.
pub fn run(a: &PowerArgs) -> Result<()> {
    let device = a.run.setup()?;
    let mut set = crate::train::load::power_sets(&a.run.data, a.run.split_seed)?;
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
        schedule: a.schedule.into(),
        epochs: a.epochs,
        batch_size: a.batch_size,
        lr: a.lr,
        weight_decay: a.weight_decay,
        label_scale: mean_total as f32,
        standardize: !a.raw_inputs,
        seed: a.run.seed,
        loss: a.loss.into(),
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
        recipe.schedule, set.name, outcome.best_epoch, outcome.test.total.r2
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
