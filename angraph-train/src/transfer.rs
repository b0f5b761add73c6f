//! `angraph transfer`: adapt a trained model to a new configuration or process node from a
//! little labelled data of it. The model family is read from the checkpoint.
//!
//! - ANGraph-L: the message-passing layers (input projection, SAGE convolutions, BatchNorm:
//!   weights and running statistics) are frozen and only the head is fine-tuned (Huber, Adam),
//!   by default on a share of the new data (the original: 10% train, 10% valid, 80% test) with
//!   model selection on the validation split.
//! - ANGraph-P: the trunk is kept. A process node changes the gate delay, which scales the time
//!   columns of the activity matrix (`busy_time`, `span`, `mean_dwell`: x0.50 from 65 nm to
//!   28 nm), and the energies: dynamic by about C V^2, static by the leakage (times the
//!   latency). So the time inputs are rescaled by one factor (`--time-factor`, searched on the
//!   adaptation samples, folded into `conv1`'s weights) and each output head (`output_1`
//!   dynamic, `output_2` static, `Linear(width, 1)`) is refitted in closed form (see
//!   [`PowerMethod`], folded into the head's weights and bias). The result is an ordinary
//!   ANGraph-P checkpoint of the same architecture: `angraph quantize` and angraph-core's fixed
//!   point run it unchanged.
//!
//! `--shots N` adapts from exactly N labelled samples (the first N of [`Split::random`]'s
//! seeded shuffle) and tests on all the other samples; no validation split is drawn (ANGraph-L
//! keeps the last epoch). Reports the test metrics before and after.
//!
//! Measured with `angraph transfer --model saved_model/power_digits_4x4.safetensors --data
//! data/samples/<target> --out <dir> --shots 20 --seed <1..5>` (65 nm 4x4 source; mean over the
//! seeds of the MAPE on the other samples; the defaults are `--time-factor fit --power-method
//! scale`):
//!
//! | target | zero shot, total | default: dyn / static / total | `affine`, total | `heads`, total | `--time-factor 1`: `scale` / `affine` / `heads`, total |
//! |---|---|---|---|---|---|
//! | power_digits_4x4_tsmc28 | 221.2% | 0.78 / 4.04 / **0.80%** | 0.81% | 0.80% | 7.53 / 7.67 / 7.17% |
//! | power_digits_4x4_tsmc22 | 434.3% | 0.79 / 4.36 / **0.79%** | 0.79% | 0.79% | 8.53 / 8.57 / 8.32% |
//! | power_digits_8x8 | 12.6% | 6.94 / 35.54 / 7.87% | 5.68% | **5.21%** | 10.81 / 9.73 / 14.56% |
//! | power_mix_4x4 | **6.2%** | 6.96 / 12.82 / 6.87% | 6.79% | 7.09% | 6.84 / 6.82 / 6.39% |
//!
//! The fitted time factor: 0.48..0.50 on 28 nm and 0.41..0.45 on 22 nm (the simulator's delay
//! ratios: 0.50, 0.43). On the other two the shift is not a process node (mesh size,
//! workload mix): the fit runs to the end of its range on 8x8 (a warning) and 20 rows do not beat
//! zero shot on the mix. ANGraph-L, `saved_model/latency_digits_4x4.safetensors` to
//! `data/samples/digits_4x4_tsmc28` (20 of 120 graphs, 100 epochs, seeds 1..5): test R^2 -3.87
//! -> 0.976 (0.965..0.982), MAPE 83.9% -> 5.2%.

use anyhow::{bail, Context, Result};
use serde::Serialize;
use tch::{Device, Reduction, Tensor};

use crate::dataset::Split;
use crate::train::data::{LatencySet, PowerSet};
use crate::train::epochs::{Task, Validation};
use crate::train::latency::LatencyModel;
use crate::train::power::PowerModel;

/// How `angraph transfer` refits ANGraph-P's output heads (each head separately, by least
/// squares of the relative error `(prediction - label) / label` over the adaptation samples).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PowerMethod {
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

/// The adaptation / test split of `n` samples: `shots` = exactly that many adaptation samples
/// (the first of [`Split::random`]'s seeded shuffle), no validation, the rest for testing.
pub fn shot_splits(name: &str, n: usize, shots: usize, seed: u64) -> Result<Split> {
    if shots == 0 || shots >= n {
        bail!(
            "{name}: --shots {shots} must lie between 1 and {} (the dataset has {n} samples; at least one is kept for testing)",
            n.saturating_sub(1)
        );
    }
    let s = Split::fractions(n, seed, shots as f64 / n as f64, 0.0)?;
    if s.train.len() != shots {
        bail!(
            "{name}: the split drew {} adaptation samples instead of {shots}",
            s.train.len()
        );
    }
    Ok(s)
}

/// What a head fine-tuning run depends on (stored in `state.json`; `--resume` needs the same).
#[derive(Serialize)]
pub struct HeadRecipe {
    /// The source checkpoint.
    pub source_model: String,
    /// The new configuration's dataset.
    pub dataset: String,
    /// Adaptation samples (`--shots`).
    pub shots: Option<usize>,
    /// Share of the data for adaptation (without shots).
    pub train_frac: f64,
    /// Share of the data for model selection (without shots).
    pub valid_frac: f64,
    /// Seed of the split, shuffles and torch.
    pub seed: u64,
    /// Epochs.
    pub epochs: usize,
    /// Graphs per step.
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Huber delta (model units).
    pub huber_delta: f64,
}

/// ANGraph-L head fine-tuning as a [`Task`] of the training loop: Huber loss of `label /
/// label_scale` in evaluation mode (BatchNorm keeps its running statistics, no dropout), Adam
/// on the head only; selection on validation RMSE, or (with `--shots`, no validation split)
/// the last epoch, the log then scoring the adaptation samples.
pub struct HeadTuning<'a> {
    /// The model whose head is tuned (message passing frozen by the caller).
    pub model: &'a LatencyModel,
    /// The new configuration's dataset, with its adaptation / validation / test split.
    pub set: &'a LatencySet,
    /// Where the batches run.
    pub device: Device,
    /// Huber delta (model units).
    pub huber_delta: f64,
    /// Whether a validation split selects the model.
    pub select: bool,
}

impl Task for HeadTuning<'_> {
    fn vars(&self) -> &tch::nn::VarStore {
        &self.model.ck.vs
    }

    fn meta(&self) -> &crate::nn::CheckpointMeta {
        &self.model.ck.meta
    }

    fn params(&self, _stage: usize) -> Vec<Tensor> {
        let mut head = Vec::new();
        for l in &self.model.net().head {
            head.push(l.ws.shallow_clone());
            head.extend(l.bs.as_ref().map(|b| b.shallow_clone()));
        }
        head
    }

    fn batch_loss(&self, _stage: usize, idx: &[usize]) -> Result<Tensor> {
        let scale = self.model.ck.meta.label_scale;
        let b = self.model.batch(self.set, idx, self.device)?;
        let y: Vec<f32> = idx.iter().map(|&i| self.set.labels[i] / scale).collect();
        let y = Tensor::from_slice(&y).to_device(self.device);
        let pred = self.model.net().forward_t(&b, false)?;
        Ok(pred.huber_loss(&y, Reduction::Mean, self.huber_delta))
    }

    fn validate(&self, _stage: usize) -> Result<Validation> {
        let set = self.set;
        let idx = if self.select {
            &set.splits.valid
        } else {
            &set.splits.train
        };
        let pred = self.model.predict(set, idx, 64)?;
        let truth: Vec<f32> = idx.iter().map(|&i| set.labels[i]).collect();
        let m = crate::metrics::Metrics::of(&pred, &truth);
        let scale = self.model.ck.meta.label_scale;
        let to = |v: &[f32]| Tensor::from_slice(&v.iter().map(|y| y / scale).collect::<Vec<_>>());
        let loss = to(&pred)
            .huber_loss(&to(&truth), Reduction::Mean, self.huber_delta)
            .double_value(&[]);
        Ok(Validation {
            score: m.rmse,
            loss,
            r2: m.r2,
            rmse: m.rmse,
            mape: m.mape,
            summary: format!(
                "{} R2 {:.4} RMSE {:.4} MAPE {:.2}%",
                if self.select { "valid" } else { "adaptation" },
                m.r2,
                m.rmse,
                m.mape
            ),
        })
    }
}

/// The refit of one ANGraph-P head: `new head = scale x old head + delta` (weights and bias).
#[derive(Debug, Clone, Serialize)]
pub struct HeadFit {
    /// `dynamic` or `static`.
    pub output: &'static str,
    /// Factor on the source head's prediction.
    pub scale: f64,
    /// Offset added to the prediction, in the label unit (`affine`; 0 otherwise).
    pub offset: f64,
    /// Ridge strength of the weight refit (`heads`): `None` when the factor alone won.
    pub ridge: Option<f64>,
    /// Leave-one-out RMS relative error on the adaptation samples, percent (`heads`).
    pub loo_rel_rms_percent: Option<f64>,
}

/// `--time-factor`: searched on the adaptation samples, or given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeFactor {
    /// Least relative error of the total energy after a per-head factor, over a log grid.
    Fit,
    /// This factor (1 = inputs unchanged).
    Fixed(f64),
}

impl std::str::FromStr for TimeFactor {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        if s == "fit" {
            return Ok(TimeFactor::Fit);
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => Ok(TimeFactor::Fixed(v)),
            _ => bail!("--time-factor must be `fit` or a positive number, not {s:?}"),
        }
    }
}

/// Indices of the time inputs of an ANGraph-P input row: the columns of the activity matrix
/// whose unit is a time (`busy_time`, `span`, `mean_dwell`, see
/// [`crate::dataset::power::MATRIX_COLS`]) in each of its rows.
pub fn time_inputs() -> Vec<usize> {
    use angraph_core::power_input::{ACTIVITY_ROWS, MATRIX_COLS};
    let cols: Vec<usize> = crate::dataset::power::MATRIX_COLS
        .iter()
        .enumerate()
        .filter(|(_, (_, unit))| unit.starts_with("us") || unit.starts_with("ns"))
        .map(|(c, _)| c)
        .collect();
    (0..ACTIVITY_ROWS)
        .flat_map(|r| cols.iter().map(move |c| r * MATRIX_COLS + c))
        .collect()
}

/// Make `model` read time inputs `factor` times the source's as the source read them: the
/// `conv1` weights of the [`time_inputs`] are divided by `factor` (in place).
pub fn fold_time_factor(model: &PowerModel, factor: f64) -> Result<()> {
    if factor == 1.0 {
        return Ok(());
    }
    let conv1 = &model.net().entries[0];
    let size = conv1.ws.size();
    let in_dim = size[1] as usize;
    if in_dim < angraph_core::power_input::ACTIVITY_INPUTS {
        bail!("a time factor needs the activity-matrix input; the model reads {in_dim} values");
    }
    let mut w = crate::nn::to_vec_f32(&conv1.ws)?;
    for row in w.chunks_mut(in_dim) {
        for j in time_inputs() {
            row[j] = (row[j] as f64 / factor) as f32;
        }
    }
    tch::no_grad(|| {
        conv1
            .ws
            .shallow_clone()
            .copy_(&Tensor::from_slice(&w).view(size.as_slice()))
    });
    Ok(())
}

/// `ln 8`: [`fit_time_factor`] searches factors in [1/8, 8].
pub const TIME_FACTOR_LN_RANGE: f64 = 2.0794415416798357;

/// The time factor with the least relative squared error of the total energy on the `idx`
/// rows, each head scaled by its own least-squares factor: a grid of `ln factor` in steps of
/// 0.01 over [1/8, 8], then steps of 0.0005 around the best (ties keep the factor nearer 1).
pub fn fit_time_factor(model: &PowerModel, set: &PowerSet, idx: &[usize]) -> Result<f64> {
    check_positive(set, idx)?;
    let time = time_inputs();
    let truth: Vec<[f64; 2]> = idx
        .iter()
        .map(|&i| set.labels[i].map(|v| v as f64))
        .collect();
    let all: Vec<usize> = (0..idx.len()).collect();
    let mut rows = PowerSet {
        name: set.name.clone(),
        in_dim: set.in_dim,
        x: idx.iter().flat_map(|&i| set.row(i).to_vec()).collect(),
        labels: idx.iter().map(|&i| set.labels[i]).collect(),
        unit: set.unit.clone(),
        splits: Split {
            train: all.clone(),
            valid: Vec::new(),
            test: Vec::new(),
        },
    };
    let mut cost = |ln_f: f64| -> Result<f64> {
        let f = ln_f.exp();
        for (r, &i) in idx.iter().enumerate() {
            let src = set.row(i);
            for &j in &time {
                rows.x[r * set.in_dim + j] = (src[j] as f64 / f) as f32;
            }
        }
        let p = model.predict(&rows, &all)?;
        // Per-head factor minimising sum ((a p - t) / t)^2, then the total's relative error.
        let a: Vec<f64> = (0..2)
            .map(|k| {
                let z: Vec<f64> = p
                    .iter()
                    .zip(&truth)
                    .map(|(p, t)| p[k] as f64 / t[k])
                    .collect();
                let zz = dot(&z, &z);
                if zz > 0.0 {
                    z.iter().sum::<f64>() / zz
                } else {
                    0.0
                }
            })
            .collect();
        Ok(p.iter()
            .zip(&truth)
            .map(|(p, t)| {
                let tot = t[0] + t[1];
                ((a[0] * p[0] as f64 + a[1] * p[1] as f64 - tot) / tot).powi(2)
            })
            .sum())
    };
    let mut best = (cost(0.0)?, 0.0);
    let mut search =
        |lo: i32, hi: i32, step: f64, centre: f64, best: &mut (f64, f64)| -> Result<()> {
            for k in lo..=hi {
                let x = centre + k as f64 * step;
                let c = cost(x)?;
                if c < best.0 || (c == best.0 && x.abs() < best.1.abs()) {
                    *best = (c, x);
                }
            }
            Ok(())
        };
    let steps = (TIME_FACTOR_LN_RANGE / 0.01).round() as i32;
    search(-steps, steps, 0.01, 0.0, &mut best)?;
    let centre = best.1;
    search(-20, 20, 0.0005, centre, &mut best)?;
    Ok(best.1.exp())
}

/// Refit both heads of `model` (in place) on the `idx` rows of `set` with `method`.
pub fn adapt_power(
    model: &PowerModel,
    set: &PowerSet,
    idx: &[usize],
    method: PowerMethod,
) -> Result<Vec<HeadFit>> {
    if model.norm != crate::train::data::FeatureNorm::identity(model.norm.mean.len())
        || model.target != [(0.0, 1.0); 2]
    {
        bail!("transfer adapts an exported ANGraph-P (raw inputs, heads in model units)");
    }
    check_positive(set, idx)?;
    let (h, width) = model.trunk_features(set, idx)?;
    let s = model.ck.meta.label_scale as f64;
    let mut fits = Vec::new();
    for (k, head) in model.net().heads.iter().enumerate() {
        let mut theta: Vec<f64> = crate::nn::to_vec_f32(&head.ws)?
            .iter()
            .map(|&v| v as f64)
            .collect();
        let bias = head
            .bs
            .as_ref()
            .context("an ANGraph-P head without a bias")?;
        theta.push(crate::nn::to_vec_f32(bias)?[0] as f64);
        if theta.len() != width + 1 {
            bail!(
                "head {} reads {} features, the trunk gives {width}",
                k + 1,
                theta.len() - 1
            );
        }
        // Rows of the relative design: the prediction is x . theta, divided by the label.
        let x: Vec<Vec<f64>> = idx
            .iter()
            .enumerate()
            .map(|(r, &i)| {
                let t = set.labels[i][k] as f64;
                h[r * width..(r + 1) * width]
                    .iter()
                    .map(|&v| s * v as f64 / t)
                    .chain([s / t])
                    .collect()
            })
            .collect();
        let output = ["dynamic", "static"][k];
        let fit = match method {
            PowerMethod::Scale => fit_scale(&x, &theta, output)?,
            PowerMethod::Affine => {
                let inv_t: Vec<f64> = idx.iter().map(|&i| 1.0 / set.labels[i][k] as f64).collect();
                fit_affine(&x, &theta, &inv_t, s, output)?
            }
            PowerMethod::Heads => fit_heads(&x, &theta, output)?,
        };
        let (fit, new_theta) = fit;
        let w: Vec<f32> = new_theta[..width].iter().map(|&v| v as f32).collect();
        let b = [new_theta[width] as f32];
        tch::no_grad(|| {
            head.ws
                .shallow_clone()
                .copy_(&Tensor::from_slice(&w).view([1, width as i64]));
            bias.shallow_clone().copy_(&Tensor::from_slice(&b));
        });
        fits.push(fit);
    }
    Ok(fits)
}

/// The relative least squares divide by the labels: both energies of every adaptation sample
/// must be positive.
fn check_positive(set: &PowerSet, idx: &[usize]) -> Result<()> {
    if let Some(&i) = idx
        .iter()
        .find(|&&i| !(set.labels[i][0] > 0.0 && set.labels[i][1] > 0.0))
    {
        bail!(
            "{}: sample {i} has energies (dynamic, static) {:?} {}; adaptation needs positive labels",
            set.name,
            set.labels[i],
            set.unit
        );
    }
    Ok(())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `a = argmin sum (a z_i - 1)^2` with `z_i = x_i . theta` (the relative prediction).
fn fit_scale(x: &[Vec<f64>], theta: &[f64], output: &'static str) -> Result<(HeadFit, Vec<f64>)> {
    let z: Vec<f64> = x.iter().map(|r| dot(r, theta)).collect();
    let zz = dot(&z, &z);
    if zz.is_nan() || zz <= 0.0 {
        bail!("{output} head: the source predicts 0 on every adaptation sample");
    }
    let a = z.iter().sum::<f64>() / zz;
    Ok((
        HeadFit {
            output,
            scale: a,
            offset: 0.0,
            ridge: None,
            loo_rel_rms_percent: None,
        },
        theta.iter().map(|v| v * a).collect(),
    ))
}

/// `(a, c) = argmin sum (a z_i + c / t_i - 1)^2`; `c` in the label unit, `s` the label scale.
fn fit_affine(
    x: &[Vec<f64>],
    theta: &[f64],
    inv_t: &[f64],
    s: f64,
    output: &'static str,
) -> Result<(HeadFit, Vec<f64>)> {
    let z: Vec<f64> = x.iter().map(|r| dot(r, theta)).collect();
    let mut m = vec![
        dot(&z, &z),
        dot(&z, inv_t),
        dot(&z, inv_t),
        dot(inv_t, inv_t),
    ];
    let mut rhs = vec![z.iter().sum::<f64>(), inv_t.iter().sum::<f64>()];
    solve(&mut m, &mut rhs, 2, 1)
        .with_context(|| format!("{output} head: the affine fit needs 2 distinct samples"))?;
    let (a, c) = (rhs[0], rhs[1]);
    let mut new: Vec<f64> = theta.iter().map(|v| v * a).collect();
    *new.last_mut().expect("a bias") += c / s;
    Ok((
        HeadFit {
            output,
            scale: a,
            offset: c,
            ridge: None,
            loo_rel_rms_percent: None,
        },
        new,
    ))
}

/// Ridge strengths tried by [`PowerMethod::Heads`] (relative to the features' mean square).
const RIDGE_GRID: [f64; 8] = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3];

/// `min sum (a z_i + x_i . d - 1)^2 + lambda sum_j q_j d_j^2` (`q_j` the mean square of column
/// `j`), `lambda` from [`RIDGE_GRID`] or infinity (`d = 0`, [`fit_scale`]) by leave-one-out
/// error (exact for penalised least squares: `e_i / (1 - H_ii)`).
fn fit_heads(x: &[Vec<f64>], theta: &[f64], output: &'static str) -> Result<(HeadFit, Vec<f64>)> {
    let n = x.len();
    let p = theta.len();
    // Columns: z, then x.
    let rows: Vec<Vec<f64>> = x
        .iter()
        .map(|r| {
            std::iter::once(dot(r, theta))
                .chain(r.iter().copied())
                .collect()
        })
        .collect();
    let q: Vec<f64> = (0..p)
        .map(|j| {
            let ms = x.iter().map(|r| r[j] * r[j]).sum::<f64>() / n as f64;
            if ms > 0.0 {
                ms
            } else {
                1.0
            }
        })
        .collect();
    // Leave-one-out of a penalised least squares fit with penalty `pen` (diagonal, per column).
    let loo = |pen: &[f64]| -> Result<(f64, Vec<f64>)> {
        let d = pen.len();
        let mut m = vec![0f64; d * d];
        let mut rhs = vec![0f64; d];
        for r in &rows {
            for i in 0..d {
                rhs[i] += r[i];
                for j in 0..d {
                    m[i * d + j] += r[i] * r[j];
                }
            }
        }
        for (i, v) in pen.iter().enumerate() {
            m[i * d + i] += v;
        }
        // Solve for the coefficients and the inverse at once.
        let mut b = vec![0f64; d * (d + 1)];
        for i in 0..d {
            b[i * (d + 1)] = rhs[i];
            b[i * (d + 1) + 1 + i] = 1.0;
        }
        solve(&mut m, &mut b, d, d + 1)?;
        let coef: Vec<f64> = (0..d).map(|i| b[i * (d + 1)]).collect();
        let mut sse = 0.0;
        for r in &rows {
            let e = 1.0 - dot(r, &coef);
            let hii: f64 = (0..d)
                .map(|i| r[i] * (0..d).map(|j| b[i * (d + 1) + 1 + j] * r[j]).sum::<f64>())
                .sum();
            if 1.0 - hii < 1e-9 {
                return Ok((f64::INFINITY, coef));
            }
            sse += (e / (1.0 - hii)).powi(2);
        }
        Ok(((sse / n as f64).sqrt(), coef))
    };
    // lambda = infinity: only the factor.
    let (base, sc) = {
        let rows1: Vec<f64> = rows.iter().map(|r| r[0]).collect();
        let zz = dot(&rows1, &rows1);
        if zz.is_nan() || zz <= 0.0 {
            bail!("{output} head: the source predicts 0 on every adaptation sample");
        }
        let a = rows1.iter().sum::<f64>() / zz;
        let sse: f64 = rows1
            .iter()
            .map(|z| ((1.0 - a * z) / (1.0 - z * z / zz)).powi(2))
            .sum();
        ((sse / n as f64).sqrt(), a)
    };
    let mut best = (base, None, vec![sc]);
    for &lambda in &RIDGE_GRID {
        let pen: Vec<f64> = std::iter::once(0.0)
            .chain(q.iter().map(|v| lambda * n as f64 * v))
            .collect();
        let Ok((err, coef)) = loo(&pen) else { continue };
        if err < best.0 {
            best = (err, Some(lambda), coef);
        }
    }
    let (err, ridge, coef) = best;
    let a = coef[0];
    let new: Vec<f64> = (0..p)
        .map(|j| a * theta[j] + coef.get(j + 1).copied().unwrap_or(0.0))
        .collect();
    Ok((
        HeadFit {
            output,
            scale: a,
            offset: 0.0,
            ridge,
            loo_rel_rms_percent: Some(100.0 * err),
        },
        new,
    ))
}

/// Solve `m x = b` in place (`m` row-major `d x d`, `b` row-major `d x cols`, the solution
/// replaces `b`) by Gauss-Jordan elimination with partial pivoting; an error if `m` is
/// singular to working precision.
fn solve(m: &mut [f64], b: &mut [f64], d: usize, cols: usize) -> Result<()> {
    let scale = m
        .iter()
        .fold(0f64, |acc, v| acc.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    for c in 0..d {
        let piv = (c..d)
            .max_by(|&i, &j| m[i * d + c].abs().total_cmp(&m[j * d + c].abs()))
            .expect("non-empty");
        if m[piv * d + c].abs() <= 1e-13 * scale {
            bail!("singular system");
        }
        if piv != c {
            for j in 0..d {
                m.swap(c * d + j, piv * d + j);
            }
            for j in 0..cols {
                b.swap(c * cols + j, piv * cols + j);
            }
        }
        let inv = 1.0 / m[c * d + c];
        for r in 0..d {
            if r == c {
                continue;
            }
            let f = m[r * d + c] * inv;
            if f == 0.0 {
                continue;
            }
            for j in 0..d {
                m[r * d + j] -= f * m[c * d + j];
            }
            for j in 0..cols {
                b[r * cols + j] -= f * b[c * cols + j];
            }
        }
    }
    for c in 0..d {
        let inv = 1.0 / m[c * d + c];
        for j in 0..cols {
            b[c * cols + j] *= inv;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shots_are_exact_and_a_prefix_of_the_seeded_shuffle() {
        for n in [2usize, 7, 100, 300, 500, 1000] {
            let full = Split::fractions(n, 5, 0.8, 0.1).unwrap();
            let order: Vec<usize> = [full.train, full.valid, full.test].concat();
            for shots in [1, n / 3, n - 1] {
                let s = shot_splits("d", n, shots.max(1), 5).unwrap();
                assert_eq!(s.train.len(), shots.max(1));
                assert!(s.valid.is_empty());
                assert_eq!([s.train, s.test].concat(), order);
            }
        }
        assert!(shot_splits("d", 10, 0, 1).is_err());
        let e = shot_splits("tiny", 10, 10, 1).unwrap_err().to_string();
        assert!(
            e.contains("tiny: --shots 10 must lie between 1 and 9"),
            "{e}"
        );
    }

    #[test]
    fn solve_inverts_a_small_system() {
        // [[2, 1], [1, 3]] x = [3, 5] -> x = (0.8, 1.4).
        let mut m = vec![2.0, 1.0, 1.0, 3.0];
        let mut b = vec![3.0, 5.0];
        solve(&mut m, &mut b, 2, 1).unwrap();
        assert!(
            (b[0] - 0.8).abs() < 1e-12 && (b[1] - 1.4).abs() < 1e-12,
            "{b:?}"
        );
        let mut m = vec![1.0, 2.0, 2.0, 4.0];
        assert!(solve(&mut m, &mut [1.0, 1.0], 2, 1).is_err());
    }

    /// Relative rows `x_i / t_i` of features `x_i` (last column the bias) and labels `t_i`.
    fn rel(xs: &[[f64; 3]], t: &[f64]) -> Vec<Vec<f64>> {
        xs.iter()
            .zip(t)
            .map(|(r, t)| r.iter().map(|v| v / t).collect())
            .collect()
    }

    #[test]
    fn closed_form_fits_recover_a_scale_and_an_offset() {
        let xs = [
            [1.0, 0.0, 1.0],
            [2.0, 1.0, 1.0],
            [0.5, 3.0, 1.0],
            [4.0, 2.0, 1.0],
            [3.0, 0.5, 1.0],
        ];
        let theta = [2.0, 1.0, 0.5];
        let pred: Vec<f64> = xs.iter().map(|r| dot(r, &theta)).collect();
        // Labels = 3 x the source prediction: every method finds the factor 3.
        let t: Vec<f64> = pred.iter().map(|p| 3.0 * p).collect();
        let x = rel(&xs, &t);
        let (f, new) = fit_scale(&x, &theta, "dynamic").unwrap();
        assert!((f.scale - 3.0).abs() < 1e-12, "{f:?}");
        assert!(new
            .iter()
            .zip(theta)
            .all(|(a, b)| (a - 3.0 * b).abs() < 1e-12));
        let (f, new) = fit_heads(&x, &theta, "dynamic").unwrap();
        for (r, t) in xs.iter().zip(&t) {
            assert!((dot(r, &new) - t).abs() < 1e-6 * t, "{f:?}");
        }
        // Labels = 2 x prediction + 0.7 (label unit, label scale 1): the affine fit finds both.
        let t: Vec<f64> = pred.iter().map(|p| 2.0 * p + 0.7).collect();
        let x = rel(&xs, &t);
        let inv_t: Vec<f64> = t.iter().map(|v| 1.0 / v).collect();
        let (f, new) = fit_affine(&x, &theta, &inv_t, 1.0, "static").unwrap();
        assert!(
            (f.scale - 2.0).abs() < 1e-9 && (f.offset - 0.7).abs() < 1e-9,
            "{f:?}"
        );
        for (r, t) in xs.iter().zip(&t) {
            assert!((dot(r, &new) - t).abs() < 1e-9);
        }
    }
}
