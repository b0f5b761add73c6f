//! ANGraph-P training: the recipe, the model in training form, and its [`Task`] of the one
//! training loop ([`super::epochs`]): weighted MSE over batches of activity rows, stages,
//! selection on the validation loss.
//!
//! Two recipes: `joint` (both heads and the trunk together, each head's MSE weighted by the
//! inverse variance of its training targets so dynamic and static count alike) and `two-stage`
//! (this project's reading of the original: stage 1 fits the trunk and `output_1` to the dynamic
//! energy; stage 2 freezes them and fits `output_2` to the static energy), and `two-stage-joint`
//! (stage 1 as `two-stage`, stage 2 trains everything on both heads from the stage-1 model).

use std::path::Path;

use angraph_core::config::{Config, PowerConfig};
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use super::data::{FeatureNorm, PowerSet};
use super::epochs::{run_epochs, Schedule, Selection, Task, Validation};
use super::latency::{fold_linear, unfold_output};
use crate::metrics::Metrics;
use crate::nn::{Checkpoint, CheckpointMeta, Net, PowerNet};

/// How the two heads are trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PowerSchedule {
    /// Both heads at once.
    Joint,
    /// Dynamic first (trunk + `output_1`), then static (`output_2` on the frozen trunk).
    TwoStage,
    /// Dynamic first (trunk + `output_1`), then both heads and the trunk together from the
    /// stage-1 model (for inputs that make static energy learnable: the operating conditions).
    TwoStageJoint,
}

/// What each row's squared error is measured in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PowerLoss {
    /// Squared error of the standardised targets (large energies dominate).
    #[default]
    Mse,
    /// Squared *relative* error: row `i`'s error on head `k` weighted by
    /// `(mean_k / label_ik)^2`, so a 2x2 mesh's nanojoule counts as much as an 8x8 mesh's tens
    /// (what MAPE measures; for training mixes of several mesh sizes).
    Relative,
}

/// Everything a power training run depends on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PowerRecipe {
    /// Model configuration (2 heads: dynamic, static).
    pub config: PowerConfig,
    /// Schedule.
    pub schedule: PowerSchedule,
    /// Epochs (two-stage: half per stage).
    pub epochs: usize,
    /// Rows per step (the original: 32).
    pub batch_size: usize,
    /// Adam learning rate (the original: 1e-3).
    pub lr: f64,
    /// Weight decay.
    pub weight_decay: f64,
    /// Labels are divided by this; model output x `label_scale` = energy.
    pub label_scale: f32,
    /// Standardise the inputs and each head's target (folded into `conv1` and the heads on
    /// export).
    pub standardize: bool,
    /// Seed.
    pub seed: u64,
    /// Loss (older recipes: `mse`).
    #[serde(default)]
    pub loss: PowerLoss,
    /// Carry a least-squares linear path from the operation counts to the dynamic energy
    /// through the network ([`super::power_anchor`]; needs power input version 3). Older
    /// recipes: off.
    #[serde(default)]
    pub anchor: bool,
}

/// A trained (or training) ANGraph-P with its input standardisation.
pub struct PowerModel {
    /// Network and variables.
    pub ck: Checkpoint,
    /// Input standardisation.
    pub norm: FeatureNorm,
    /// Head `k` outputs `(target_k - mean) / std` in model units: `(mean, std)` per head.
    pub target: [(f32, f32); 2],
}

impl PowerModel {
    /// The network.
    pub fn net(&self) -> &PowerNet {
        match &self.ck.net {
            Net::Power(n) => n,
            Net::Latency(_) => unreachable!("a PowerModel holds ANGraph-P"),
        }
    }

    /// Wrap a checkpoint that reads raw inputs.
    pub fn from_checkpoint(ck: Checkpoint) -> Result<Self> {
        let w = match &ck.meta.config {
            Config::Power(c) if c.heads != 2 => bail!(
                "the ANGraph-P configuration field `heads` is {}; ANGraph-P has 2 heads (dynamic and static energy)",
                c.heads
            ),
            Config::Power(c) => c.in_dim as usize,
            Config::Latency(_) => bail!("expected an ANGraph-P checkpoint, found ANGraph-L"),
        };
        Ok(PowerModel {
            ck,
            norm: FeatureNorm::identity(w),
            target: [(0.0, 1.0); 2],
        })
    }

    fn input(&self, set: &PowerSet, idx: &[usize]) -> Tensor {
        let mut x: Vec<f32> = idx
            .iter()
            .flat_map(|&i| set.row(i).iter().copied())
            .collect();
        self.norm.apply(&mut x);
        Tensor::from_slice(&x)
            .view([idx.len() as i64, set.in_dim as i64])
            .to_device(self.ck.vs.device())
    }

    /// `[dynamic, static]` predictions in the label unit.
    pub fn predict(&self, set: &PowerSet, idx: &[usize]) -> Result<Vec<[f32; 2]>> {
        let mut out = Vec::with_capacity(idx.len());
        for chunk in idx.chunks(4096) {
            let y = tch::no_grad(|| self.net().forward(&self.input(set, chunk)))?;
            let v = crate::nn::to_vec_f32(&y)?;
            let s = self.ck.meta.label_scale;
            let [(m0, s0), (m1, s1)] = self.target;
            out.extend(
                v.chunks(2)
                    .map(|r| [(r[0] * s0 + m0) * s, (r[1] * s1 + m1) * s]),
            );
        }
        Ok(out)
    }

    /// What the heads read ([`PowerNet::trunk`]) for the `idx` rows: row-major `[idx.len(),
    /// width]` values and `width`.
    pub fn trunk_features(&self, set: &PowerSet, idx: &[usize]) -> Result<(Vec<f32>, usize)> {
        let mut out = Vec::new();
        let mut width = 0;
        for chunk in idx.chunks(4096) {
            let h = tch::no_grad(|| self.net().trunk(&self.input(set, chunk)))?;
            width = h.size()[1] as usize;
            out.extend(crate::nn::to_vec_f32(&h)?);
        }
        Ok((out, width))
    }

    /// A CPU copy that reads raw inputs (standardisation folded into `conv1`).
    pub fn export(&self, note: &str) -> Result<Checkpoint> {
        let mut meta = self.ck.meta.clone();
        meta.note = note.to_string();
        let mut out = Checkpoint::new(meta, Device::Cpu)?;
        out.vs.copy(&self.ck.vs)?;
        if self.norm != FeatureNorm::identity(self.norm.mean.len()) {
            let Net::Power(net) = &out.net else {
                unreachable!()
            };
            fold_linear(&net.entries[0], &self.norm)?;
        }
        let Net::Power(net) = &out.net else {
            unreachable!()
        };
        for (head, &t) in net.heads.iter().zip(&self.target) {
            if t != (0.0, 1.0) {
                unfold_output(head, 0, t)?;
            }
        }
        Ok(out)
    }
}

/// Metrics of dynamic, static and total energy.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct PowerMetrics {
    /// Dynamic energy.
    pub dynamic: Metrics,
    /// Static energy.
    pub r#static: Metrics,
    /// Total energy.
    pub total: Metrics,
}

impl PowerMetrics {
    /// Compare predictions with the set's labels.
    pub fn of(pred: &[[f32; 2]], set: &PowerSet, idx: &[usize]) -> Self {
        let col = |v: &[[f32; 2]], k: usize| -> Vec<f32> {
            v.iter()
                .map(|r| if k == 2 { r[0] + r[1] } else { r[k] })
                .collect()
        };
        let truth: Vec<[f32; 2]> = idx.iter().map(|&i| set.labels[i]).collect();
        PowerMetrics {
            dynamic: Metrics::of(&col(pred, 0), &col(&truth, 0)),
            r#static: Metrics::of(&col(pred, 1), &col(&truth, 1)),
            total: Metrics::of(&col(pred, 2), &col(&truth, 2)),
        }
    }
}

/// What a finished power run reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PowerOutcome {
    /// Epoch of the selected model (two-stage: of stage 2).
    pub best_epoch: usize,
    /// Validation metrics.
    pub valid: PowerMetrics,
    /// Test metrics.
    pub test: PowerMetrics,
    /// Mean training time per epoch, seconds.
    pub seconds_per_epoch: f64,
}

/// Train (or resume) ANGraph-P on `set` into `dir` (same files as the latency loop).
pub fn train(
    set: &PowerSet,
    recipe: &PowerRecipe,
    dir: &Path,
    device: Device,
    resume: bool,
    show_progress: bool,
) -> Result<(PowerModel, PowerOutcome)> {
    recipe
        .config
        .validate()
        .map_err(|e| anyhow::anyhow!("power configuration: {e}"))?;
    if recipe.config.heads != 2 || recipe.config.in_dim as usize != set.in_dim {
        bail!(
            "the power model needs 2 heads and in_dim {} (the dataset's input width)",
            set.in_dim
        );
    }
    if set.splits.train.is_empty() || set.splits.valid.is_empty() {
        bail!(
            "{}: the training and validation splits must not be empty",
            set.name
        );
    }
    if recipe.epochs == 0 || recipe.batch_size == 0 || recipe.lr <= 0.0 {
        bail!("epochs, batch size and learning rate must be positive");
    }
    tch::manual_seed(recipe.seed as i64);
    let norm = if recipe.standardize {
        FeatureNorm::measure(set.in_dim, set.splits.train.iter().map(|&i| set.row(i)))
    } else {
        FeatureNorm::identity(set.in_dim)
    };
    let meta = CheckpointMeta {
        config: Config::Power(recipe.config.clone()),
        label_scale: recipe.label_scale,
        unit: set.unit.clone(),
        note: format!("ANGraph-P trained on {} (training form)", set.name),
    };
    // Per-head mean and variance of the training targets (model units).
    let moments: Vec<(f64, f64)> = (0..2)
        .map(|k| {
            let v: Vec<f64> = set
                .splits
                .train
                .iter()
                .map(|&i| (set.labels[i][k] / recipe.label_scale) as f64)
                .collect();
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let var = v.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / v.len() as f64;
            (m, var.max(1e-18))
        })
        .collect();
    let target = if recipe.standardize {
        [0, 1].map(|k| (moments[k].0 as f32, moments[k].1.sqrt() as f32))
    } else {
        [(0.0, 1.0); 2]
    };
    let model = PowerModel {
        ck: Checkpoint::new(meta, device)?,
        norm,
        target,
    };
    let net = model.net();
    // Start each head at its mean training target, so that Adam's small steps go to the
    // variation rather than to walking the bias to the mean (a resume loads the weights).
    for (k, head) in net.heads.iter().enumerate() {
        let mean = (moments[k].0 - target[k].0 as f64) / target[k].1 as f64;
        if let Some(b) = &head.bs {
            let _ = tch::no_grad(|| b.shallow_clone().fill_(mean));
        }
    }
    // The linear path: fitted once on the training rows, held after every step; the dynamic
    // head starts as exactly that fit (its other inputs at 0).
    let anchor = if recipe.anchor {
        Some(super::power_anchor::fit(set, recipe.label_scale, 0)?)
    } else {
        None
    };
    if let Some(coef) = &anchor {
        super::power_anchor::impose(net, &model.norm, coef)?;
        let head = &net.heads[0];
        let width = head.ws.size()[1] as usize;
        let mut w = vec![0f32; width];
        w[0] = 1.0 / target[0].1;
        tch::no_grad(|| {
            head.ws
                .shallow_clone()
                .copy_(&Tensor::from_slice(&w).view([1, -1]));
            if let Some(b) = &head.bs {
                let _ = b
                    .shallow_clone()
                    .fill_(-(target[0].0 as f64) / target[0].1 as f64);
            }
        });
    }
    // Per-head loss weights: inverse variance of the (possibly standardised) targets, so that
    // dynamic and static energy count alike.
    let weights: Vec<f64> = (0..2)
        .map(|k| (target[k].1 as f64).powi(2) / moments[k].1)
        .collect();
    let targets: Vec<f32> = set
        .labels
        .iter()
        .flat_map(|l| [0, 1].map(|k| (l[k] / recipe.label_scale - target[k].0) / target[k].1))
        .collect();
    // Per-row weights of the squared error (all 1 for `mse`).
    let row_weights: Vec<f32> = set
        .labels
        .iter()
        .flat_map(|l| {
            [0, 1].map(|k| match recipe.loss {
                PowerLoss::Mse => 1.0,
                PowerLoss::Relative => {
                    let m = moments[k].0 as f32;
                    let y = (l[k] / recipe.label_scale).abs().max(1e-3 * m.abs());
                    (m / y) * (m / y)
                }
            })
        })
        .collect();
    let task = PowerTask {
        model: &model,
        set,
        recipe,
        weights: [weights[0], weights[1]],
        targets,
        row_weights,
        anchor,
        device,
    };
    let schedule = Schedule {
        recipe: serde_json::to_value(recipe)?,
        epochs: recipe.epochs,
        batch_size: recipe.batch_size,
        seed: recipe.seed,
        lr: recipe.lr,
        weight_decay: recipe.weight_decay,
        train: &set.splits.train,
        selection: Selection::Best { baseline: None },
        title: format!("ANGraph-P on {}", set.name),
        unit: set.unit.clone(),
        show_progress,
    };
    let fitted = run_epochs(&task, &schedule, dir, resume)?;
    let valid = PowerMetrics::of(
        &model.predict(set, &set.splits.valid)?,
        set,
        &set.splits.valid,
    );
    let test = PowerMetrics::of(
        &model.predict(set, &set.splits.test)?,
        set,
        &set.splits.test,
    );
    Ok((
        model,
        PowerOutcome {
            best_epoch: fitted.best_epoch,
            valid,
            test,
            seconds_per_epoch: fitted.seconds_per_epoch,
        },
    ))
}

/// ANGraph-P as a [`Task`] of the training loop: per-head weighted (optionally relative) squared
/// error of the standardised energies; stages of the schedule; the linear anchor held after
/// every step; selection on the weighted validation loss.
struct PowerTask<'a> {
    model: &'a PowerModel,
    set: &'a PowerSet,
    recipe: &'a PowerRecipe,
    /// Inverse-variance weight of each head's error.
    weights: [f64; 2],
    /// Standardised targets, two per row.
    targets: Vec<f32>,
    /// Weights of each row's squared error, two per row.
    row_weights: Vec<f32>,
    anchor: Option<Vec<f64>>,
    device: Device,
}

impl PowerTask<'_> {
    /// The loss weight of each head in `stage`.
    fn head_weight(&self, stage: usize) -> [f64; 2] {
        let w = self.weights;
        match (self.recipe.schedule, stage) {
            (PowerSchedule::Joint, _) => [w[0], w[1]],
            (PowerSchedule::TwoStage, 0) => [w[0], 0.0],
            (PowerSchedule::TwoStage, _) => [0.0, w[1]],
            (PowerSchedule::TwoStageJoint, 0) => [w[0], 0.0],
            (PowerSchedule::TwoStageJoint, _) => [w[0], w[1]],
        }
    }

    /// The row weights of the rows `idx`, `[n, 2]`.
    fn rows_of(&self, idx: &[usize]) -> Tensor {
        let w: Vec<f32> = idx
            .iter()
            .flat_map(|&i| [self.row_weights[2 * i], self.row_weights[2 * i + 1]])
            .collect();
        Tensor::from_slice(&w).view([idx.len() as i64, 2])
    }
}

/// `w[0] x mean(rw x (pred - y)^2)[dynamic] + w[1] x ...[static]`.
fn weighted_mse(pred: &Tensor, y: &Tensor, rw: &Tensor, w: [f64; 2]) -> Tensor {
    let d = ((pred - y).square() * rw.to_device(pred.device())).mean_dim(
        &[0i64][..],
        false,
        Kind::Float,
    );
    d.get(0) * w[0] + d.get(1) * w[1]
}

impl Task for PowerTask<'_> {
    fn vars(&self) -> &tch::nn::VarStore {
        &self.model.ck.vs
    }

    fn meta(&self) -> &CheckpointMeta {
        &self.model.ck.meta
    }

    fn stage_of(&self, epoch: usize) -> usize {
        match self.recipe.schedule {
            PowerSchedule::Joint => 0,
            PowerSchedule::TwoStage | PowerSchedule::TwoStageJoint => {
                usize::from(epoch >= self.recipe.epochs / 2)
            }
        }
    }

    fn params(&self, stage: usize) -> Vec<Tensor> {
        match (self.recipe.schedule, stage) {
            (PowerSchedule::TwoStage, 1) => {
                let h = &self.model.net().heads[1];
                let mut v = vec![h.ws.shallow_clone()];
                v.extend(h.bs.as_ref().map(|b| b.shallow_clone()));
                v
            }
            _ => self.model.ck.vs.trainable_variables(),
        }
    }

    fn batch_loss(&self, stage: usize, idx: &[usize]) -> Result<Tensor> {
        let x = self.model.input(self.set, idx);
        let y: Vec<f32> = idx
            .iter()
            .flat_map(|&i| [self.targets[2 * i], self.targets[2 * i + 1]])
            .collect();
        let y = Tensor::from_slice(&y)
            .view([idx.len() as i64, 2])
            .to_device(self.device);
        let pred = self.model.net().forward(&x)?;
        Ok(weighted_mse(
            &pred,
            &y,
            &self.rows_of(idx),
            self.head_weight(stage),
        ))
    }

    fn after_step(&self) -> Result<()> {
        if let Some(coef) = &self.anchor {
            super::power_anchor::impose(self.model.net(), &self.model.norm, coef)?;
        }
        Ok(())
    }

    fn validate(&self, stage: usize) -> Result<Validation> {
        let (set, vi, target) = (self.set, &self.set.splits.valid, self.model.target);
        let vp = self.model.predict(set, vi)?;
        let pm = PowerMetrics::of(&vp, set, vi);
        let scale = self.recipe.label_scale as f64;
        let p: Vec<f32> = vp.iter().flat_map(|r| [r[0], r[1]]).collect();
        let t: Vec<f32> = vi.iter().flat_map(|&i| set.labels[i]).collect();
        let mean = Tensor::from_slice(&[target[0].0, target[1].0]);
        let sd = Tensor::from_slice(&[target[0].1, target[1].1]);
        let p = (Tensor::from_slice(&p).view([-1, 2]) / scale - &mean) / &sd;
        let t = (Tensor::from_slice(&t).view([-1, 2]) / scale - &mean) / &sd;
        let loss =
            weighted_mse(&p, &t, &self.rows_of(vi), self.head_weight(stage)).double_value(&[]);
        Ok(Validation {
            score: loss,
            loss,
            r2: pm.total.r2,
            rmse: pm.total.rmse,
            mape: pm.total.mape,
            summary: format!(
                "valid {loss:.5}  R2 dyn {:.4} stat {:.4} tot {:.4}  MAPE tot {:.3}%",
                pm.dynamic.r2, pm.r#static.r2, pm.total.r2, pm.total.mape
            ),
        })
    }
}
