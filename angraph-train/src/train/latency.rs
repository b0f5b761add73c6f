//! ANGraph-L training: the recipe, the model in training form (standardised features and
//! target), and its [`Task`] of the one training loop ([`super::epochs`]): Huber loss, many
//! graphs per step as one disjoint graph, selection on validation RMSE.

use std::path::Path;

use angraph_core::config::{Aggr, Config, Jk, LatencyConfig, Pool, Preprocess};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Reduction, Tensor};

use super::data::{FeatureNorm, LatencySet};
use super::epochs::{run_epochs, Schedule, Selection, Task, Validation};
use crate::metrics::Metrics;
use crate::nn::{Checkpoint, CheckpointMeta, GraphBatch, Net};

/// Everything a latency training run depends on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LatencyRecipe {
    /// Model configuration.
    pub config: LatencyConfig,
    /// Dropout after each message-passing layer (the original: 0.5).
    pub dropout: f64,
    /// Epochs.
    pub epochs: usize,
    /// Graphs per optimisation step (the original: 1).
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Adam (coupled L2) weight decay (the original: 1e-5).
    pub weight_decay: f64,
    /// Huber delta, in model units (the original: 5).
    pub huber_delta: f64,
    /// Labels are divided by this for training; model output x `label_scale` = label.
    pub label_scale: f32,
    /// Standardise node features and the target (folded into the input projection and the
    /// last head layer on export).
    pub standardize: bool,
    /// Seed of the initialisation, dropout and shuffles.
    pub seed: u64,
    /// Node features the model does not read (indices into the feature table; their weight
    /// columns are zero), on top of the ones standardisation drops (constant or saturated).
    #[serde(default)]
    pub drop_features: Vec<usize>,
}

impl LatencyRecipe {
    /// Check that the recipe can run and be exported.
    pub fn validate(&self, feature_width: usize) -> Result<()> {
        self.config
            .validate()
            .map_err(|e| anyhow::anyhow!("latency configuration: {e}"))?;
        if self.config.in_dim as usize != feature_width {
            bail!(
                "the dataset has {feature_width} node features, the configuration expects {}",
                self.config.in_dim
            );
        }
        if self.standardize && !self.config.input_proj {
            bail!("feature standardisation needs an input projection (it is folded into it)");
        }
        if let Some(&j) = self.drop_features.iter().find(|&&j| j >= feature_width) {
            bail!("--drop-features: feature {j} does not exist (the dataset has {feature_width})");
        }
        if !self.drop_features.is_empty() && !self.standardize {
            bail!("--drop-features needs feature standardisation (it is folded into the input projection)");
        }
        if self.config.preprocess == Preprocess::Log2Ratio && self.label_scale != 1.0 {
            bail!("--preprocess log2ratio predicts in ns and needs label scale 1");
        }
        if self.epochs == 0 || self.batch_size == 0 || self.lr <= 0.0 || self.label_scale <= 0.0 {
            bail!("epochs, batch size, learning rate and label scale must be positive");
        }
        Ok(())
    }
}

/// A trained (or training) ANGraph-L with its input standardisation.
pub struct LatencyModel {
    /// Network and variables (reading standardised features when `norm` is not the identity).
    pub ck: Checkpoint,
    /// Standardisation of the node features.
    pub norm: FeatureNorm,
    /// The network's output is `(target - mean) / std` in model units: `(mean, std)`.
    pub target: (f32, f32),
    /// Input preprocessing applied to the features before the standardisation (training form:
    /// the network itself then has none; [`LatencyModel::export`] moves it into the config).
    pub pre: Preprocess,
}

impl LatencyModel {
    /// The network.
    pub fn net(&self) -> &crate::nn::LatencyNet {
        match &self.ck.net {
            Net::Latency(n) => n,
            Net::Power(_) => unreachable!("a LatencyModel holds ANGraph-L"),
        }
    }

    /// A model that reads raw features: wraps a checkpoint as saved by [`LatencyModel::export`]
    /// or by `angraph import`.
    pub fn from_checkpoint(ck: Checkpoint) -> Result<Self> {
        let w = match &ck.meta.config {
            Config::Latency(c) => c.in_dim as usize,
            Config::Power(_) => bail!("expected an ANGraph-L checkpoint, found ANGraph-P"),
        };
        Ok(LatencyModel {
            ck,
            norm: FeatureNorm::identity(w),
            target: (0.0, 1.0),
            pre: Preprocess::None,
        })
    }

    /// One batch of graphs with standardised features on `device`.
    pub fn batch(&self, set: &LatencySet, idx: &[usize], device: Device) -> Result<GraphBatch> {
        let gs = set.graphs.get_many(idx)?;
        let refs: Vec<&_> = gs.iter().map(|g| g.as_ref()).collect();
        let mut b = GraphBatch::from_graphs(&refs, Device::Cpu)?;
        if self.norm != FeatureNorm::identity(self.norm.mean.len()) || self.pre != Preprocess::None
        {
            let w = self.norm.mean.len();
            let mut x = crate::nn::to_vec_f32(&b.x)?;
            if self.pre != Preprocess::None {
                for row in x.chunks_mut(w.max(1)) {
                    let p = super::data::preprocess_row(self.pre, row);
                    row.copy_from_slice(&p);
                }
            }
            self.norm.apply(&mut x);
            b.x = Tensor::from_slice(&x).view([b.num_nodes, self.norm.mean.len() as i64]);
        }
        if device != Device::Cpu {
            b = GraphBatch {
                x: b.x.to_device(device),
                src: b.src.to_device(device),
                dst: b.dst.to_device(device),
                mean_coef: b.mean_coef.to_device(device),
                activity_coef: b.activity_coef.map(|t| t.to_device(device)),
                batch: b.batch.to_device(device),
                nodes_per_graph: b.nodes_per_graph.to_device(device),
                num_graphs: b.num_graphs,
                num_nodes: b.num_nodes,
            };
        }
        Ok(b)
    }

    /// Predictions (label unit) for the `idx` graphs, evaluation mode, in batches.
    pub fn predict(&self, set: &LatencySet, idx: &[usize], batch_size: usize) -> Result<Vec<f32>> {
        let device = self.ck.vs.device();
        let mut out = Vec::with_capacity(idx.len());
        for chunk in idx.chunks(batch_size.max(1)) {
            let b = self.batch(set, chunk, device)?;
            let y = tch::no_grad(|| self.net().forward_t(&b, false))?;
            out.extend(crate::nn::to_vec_f32(&y)?);
        }
        Ok(out
            .into_iter()
            .zip(idx)
            .map(|(v, &i)| self.label_of(v, set.anchor_ns(i)))
            .collect())
    }

    /// The training target of a label (model units, transformed, standardised); `anchor_ns` is
    /// the graph's [`LatencySet::anchor_ns`] (read only by `Log2Ratio`).
    pub fn target_of(&self, label: f32, anchor_ns: f32) -> f32 {
        let (m, sd) = self.target;
        (to_log_target(self.pre, label / self.ck.meta.label_scale, anchor_ns) - m) / sd
    }

    /// The label of a network output in training form (inverse of [`Self::target_of`]).
    pub fn label_of(&self, out: f32, anchor_ns: f32) -> f32 {
        let (m, sd) = self.target;
        from_log_target(self.pre, out * sd + m, anchor_ns) * self.ck.meta.label_scale
    }

    /// A copy that reads raw features (the standardisation folded into the input projection),
    /// on the CPU: what is saved and quantized.
    pub fn export(&self, note: &str) -> Result<Checkpoint> {
        let mut meta = self.ck.meta.clone();
        meta.note = note.to_string();
        if let Config::Latency(c) = &mut meta.config {
            if self.pre != Preprocess::None {
                c.preprocess = self.pre;
            }
        }
        let mut out = Checkpoint::new(meta, Device::Cpu)?;
        out.vs.copy(&self.ck.vs)?;
        if self.norm != FeatureNorm::identity(self.norm.mean.len()) {
            let Net::Latency(net) = &out.net else {
                unreachable!()
            };
            let proj = net
                .input_proj
                .as_ref()
                .context("standardised features need an input projection to fold into")?;
            fold_linear(proj, &self.norm)?;
        }
        if self.target != (0.0, 1.0) {
            let Net::Latency(net) = &out.net else {
                unreachable!()
            };
            let last = net.head.last().context("the head has no output layer")?;
            unfold_output(last, 0, self.target)?;
        }
        Ok(out)
    }
}

/// Fold `norm` into a tch linear layer's weights (in place).
pub fn fold_linear(lin: &tch::nn::Linear, norm: &FeatureNorm) -> Result<()> {
    let size = lin.ws.size();
    let mut w = crate::nn::to_vec_f32(&lin.ws)?;
    let bias = lin.bs.as_ref().context("folding needs a bias")?;
    let mut b = crate::nn::to_vec_f32(bias)?;
    norm.fold_into(&mut w, &mut b);
    tch::no_grad(|| {
        lin.ws
            .shallow_clone()
            .copy_(&Tensor::from_slice(&w).view(size.as_slice()));
        bias.shallow_clone().copy_(&Tensor::from_slice(&b));
    });
    Ok(())
}

/// Make output row `row` of `lin` produce `y * std + mean` instead of `y` (in place).
pub fn unfold_output(lin: &tch::nn::Linear, row: i64, (mean, std): (f32, f32)) -> Result<()> {
    let bias = lin.bs.as_ref().context("the output layer has no bias")?;
    tch::no_grad(|| {
        let mut w = lin.ws.narrow(0, row, 1);
        let _ = w.g_mul_scalar_(std as f64);
        let mut b = bias.narrow(0, row, 1);
        let _ = b.g_mul_scalar_(std as f64);
        let _ = b.g_add_scalar_(mean as f64);
    });
    Ok(())
}

/// What a finished run reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LatencyOutcome {
    /// Epoch (1-based) of the selected model.
    pub best_epoch: usize,
    /// Validation metrics of the selected model.
    pub valid: Metrics,
    /// Test metrics of the selected model.
    pub test: Metrics,
    /// Mean training time per epoch, seconds.
    pub seconds_per_epoch: f64,
}

/// Train (or resume) ANGraph-L on `set` into `dir`: `state.json`, `last.safetensors`,
/// `last.adam.safetensors`, `best.safetensors` (training form), `log.csv`, `log.json`,
/// `curve.png`. Returns the selected model (best validation RMSE) and its metrics.
pub fn train(
    set: &LatencySet,
    recipe: &LatencyRecipe,
    dir: &Path,
    device: Device,
    resume: bool,
    show_progress: bool,
) -> Result<(LatencyModel, LatencyOutcome)> {
    recipe.validate(set.feature_width())?;
    if set.splits.train.is_empty() || set.splits.valid.is_empty() {
        bail!(
            "{}: the training and validation splits must not be empty",
            set.name
        );
    }
    tch::manual_seed(recipe.seed as i64);
    if recipe.config.preprocess == Preprocess::Log2Ratio {
        if set.unit != "ns" {
            bail!(
                "{}: --preprocess log2ratio predicts in ns, the labels are in {:?}",
                set.name,
                set.unit
            );
        }
        if let Some(i) = (0..set.graphs.len())
            .find(|&i| set.anchor_ns(i).partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater))
        {
            bail!(
                "{}: graph {i} has no system-level span (node feature graph_span_us is {}): \
                 --preprocess log2ratio needs timed streams",
                set.name,
                set.anchor_ns(i) / 1000.0
            );
        }
    }
    // With standardisation the preprocessing runs on the features before it (and the
    // network in training form has none); without, the network applies it.
    let (pre, mut net_config) = (recipe.config.preprocess, recipe.config.clone());
    let pre = if recipe.standardize {
        net_config.preprocess = Preprocess::None;
        pre
    } else {
        Preprocess::None
    };
    let mut norm = if recipe.standardize {
        set.feature_norm(&set.splits.train, pre)?
    } else {
        FeatureNorm::identity(set.feature_width())
    };
    norm.drop(&recipe.drop_features);
    let meta = CheckpointMeta {
        config: Config::Latency(net_config),
        label_scale: recipe.label_scale,
        unit: set.unit.clone(),
        note: format!("ANGraph-L trained on {} (training form)", set.name),
    };
    let ck = Checkpoint::new(meta, device)?;
    let target = if recipe.standardize {
        let t: Vec<f64> = set
            .splits
            .train
            .iter()
            .map(|&i| {
                to_log_target(pre, set.labels[i] / recipe.label_scale, set.anchor_ns(i)) as f64
            })
            .collect();
        let m = t.iter().sum::<f64>() / t.len() as f64;
        let sd = (t.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / t.len() as f64).sqrt();
        (m as f32, if sd > 1e-9 { sd as f32 } else { 1.0 })
    } else {
        (0.0, 1.0)
    };
    let mut model = LatencyModel {
        ck,
        norm,
        target,
        pre,
    };
    let mean_target = set
        .splits
        .train
        .iter()
        .map(|&i| model.target_of(set.labels[i], set.anchor_ns(i)) as f64)
        .sum::<f64>()
        / set.splits.train.len() as f64;
    let Net::Latency(net) = &mut model.ck.net else {
        unreachable!()
    };
    net.dropout = recipe.dropout;
    // Start the output at the mean training target, so that Adam's small steps go to the
    // variation rather than to walking the bias to the mean (a resume loads the weights).
    if let Some(b) = net.head.last().and_then(|l| l.bs.as_ref()) {
        let _ = tch::no_grad(|| b.shallow_clone().fill_(mean_target));
    }
    let targets: Vec<f32> = (0..set.labels.len())
        .map(|i| model.target_of(set.labels[i], set.anchor_ns(i)))
        .collect();
    let task = LatencyTask {
        model: &model,
        set,
        targets,
        device,
        huber_delta: recipe.huber_delta,
        eval_batch: recipe.batch_size.max(64),
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
        title: format!("ANGraph-L on {}", set.name),
        unit: set.unit.clone(),
        show_progress,
    };
    let fitted = run_epochs(&task, &schedule, dir, resume)?;
    let eval_bs = task.eval_batch;
    let truth = |idx: &[usize]| -> Vec<f32> { idx.iter().map(|&i| set.labels[i]).collect() };
    let valid = Metrics::of(
        &model.predict(set, &set.splits.valid, eval_bs)?,
        &truth(&set.splits.valid),
    );
    let test = Metrics::of(
        &model.predict(set, &set.splits.test, eval_bs)?,
        &truth(&set.splits.test),
    );
    Ok((
        model,
        LatencyOutcome {
            best_epoch: fitted.best_epoch,
            valid,
            test,
            seconds_per_epoch: fitted.seconds_per_epoch,
        },
    ))
}

/// ANGraph-L as a [`Task`] of the training loop: Huber loss of the transformed, standardised
/// target in training mode; selection on validation RMSE (label unit).
struct LatencyTask<'a> {
    model: &'a LatencyModel,
    set: &'a LatencySet,
    /// Training target of every graph of the set.
    targets: Vec<f32>,
    device: Device,
    huber_delta: f64,
    eval_batch: usize,
}

impl Task for LatencyTask<'_> {
    fn vars(&self) -> &tch::nn::VarStore {
        &self.model.ck.vs
    }

    fn meta(&self) -> &CheckpointMeta {
        &self.model.ck.meta
    }

    fn params(&self, _stage: usize) -> Vec<Tensor> {
        self.model.ck.vs.trainable_variables()
    }

    fn batch_loss(&self, _stage: usize, idx: &[usize]) -> Result<Tensor> {
        let b = self.model.batch(self.set, idx, self.device)?;
        let y: Vec<f32> = idx.iter().map(|&i| self.targets[i]).collect();
        let y = Tensor::from_slice(&y).to_device(self.device);
        let pred = self.model.net().forward_t(&b, true)?;
        Ok(pred.huber_loss(&y, Reduction::Mean, self.huber_delta))
    }

    fn validate(&self, _stage: usize) -> Result<Validation> {
        let (set, valid) = (self.set, &self.set.splits.valid);
        let vp = self.model.predict(set, valid, self.eval_batch)?;
        let vt: Vec<f32> = valid.iter().map(|&i| set.labels[i]).collect();
        let m = Metrics::of(&vp, &vt);
        let va: Vec<f32> = valid.iter().map(|&i| set.anchor_ns(i)).collect();
        Ok(Validation {
            score: m.rmse,
            loss: huber_of(self.model, &vp, &vt, &va, self.huber_delta),
            r2: m.r2,
            rmse: m.rmse,
            mape: m.mape,
            summary: format!(
                "valid R2 {:.4} RMSE {:.4} MAPE {:.2}%",
                m.r2, m.rmse, m.mape
            ),
        })
    }
}

/// The regression target of `y` (model units) under `pre`: `log2(1 + y)` (the piecewise
/// `log2` of angraph-core) when the model ends in `2^y - 1` (`Log2Exp2`, `Untimed`), `log2(y / anchor_ns)` when it ends
/// in `anchor * 2^y` (`Log2Ratio`), else `y`.
pub fn to_log_target(pre: Preprocess, y: f32, anchor_ns: f32) -> f32 {
    match pre {
        Preprocess::Log2Exp2 | Preprocess::Untimed => {
            angraph_core::preprocess::log2_1p_signed_f32(y)
        }
        Preprocess::Log2Ratio => angraph_core::preprocess::log2_ratio_f32(y, anchor_ns),
        _ => y,
    }
}

/// Inverse of [`to_log_target`].
pub fn from_log_target(pre: Preprocess, t: f32, anchor_ns: f32) -> f32 {
    angraph_core::preprocess::output_f32(pre, t, anchor_ns)
}

/// Mean Huber loss (standardised model units) of label-unit predictions.
fn huber_of(model: &LatencyModel, pred: &[f32], truth: &[f32], anchors: &[f32], delta: f64) -> f64 {
    let to = |v: &[f32]| {
        Tensor::from_slice(
            &v.iter()
                .zip(anchors)
                .map(|(&y, &a)| model.target_of(y, a))
                .collect::<Vec<_>>(),
        )
    };
    let (p, t) = (to(pred), to(truth));
    p.huber_loss(&t, Reduction::Mean, delta)
        .to_kind(Kind::Double)
        .double_value(&[])
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
