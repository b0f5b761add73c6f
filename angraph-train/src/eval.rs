//! `angraph eval`: accuracy of a model on any dataset (R^2, RMSE, MAPE, SMAPE, share within
//! +-10 %, Kendall tau), side by side with the system-level estimate (R^2 gain, RMSE reduction),
//! predicted-vs-true PNGs, and a generalization table (with a mean row over the zero-shot sets)
//! and figure over many datasets; and the float-vs-fixed comparison behind `angraph quantize`.

use std::path::{Path, PathBuf};

use angraph_core::power::Energy;
use angraph_core::quantize::Calibration;
use angraph_core::{latency, power, Model, Precision};
use anyhow::{bail, Result};
use serde::Serialize;
use tch::Device;

use crate::fsio::write_atomic;
use crate::metrics::{Metrics, Versus};
use crate::nn::{Checkpoint, Net};
use crate::train::data::{LatencySet, PowerSet};
use crate::train::latency::LatencyModel;
use crate::train::plot;
use crate::train::power::PowerMetrics;
use crate::trust::TrustMetrics;

/// Predictions of a latency model on some graphs of a set.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyEval {
    /// Predictions (label unit).
    #[serde(skip)]
    pub pred: Vec<f32>,
    /// Labels.
    #[serde(skip)]
    pub truth: Vec<f32>,
    /// System-level estimates, when the set has them.
    #[serde(skip)]
    pub estimate: Option<Vec<f32>>,
    /// The model's metrics.
    pub model: Metrics,
    /// Model vs system-level estimate.
    pub versus: Option<Versus>,
}

/// Evaluate `m` on the `idx` graphs of `set`.
pub fn latency_eval(m: &LatencyModel, set: &LatencySet, idx: &[usize]) -> Result<LatencyEval> {
    if idx.is_empty() {
        bail!("{}: nothing to evaluate (empty split)", set.name);
    }
    let pred = m.predict(set, idx, 64)?;
    let truth: Vec<f32> = idx.iter().map(|&i| set.labels[i]).collect();
    let estimate: Option<Vec<f32>> = set
        .estimate
        .as_ref()
        .map(|e| idx.iter().map(|&i| e[i]).collect());
    let model = Metrics::of(&pred, &truth);
    let versus = estimate
        .as_ref()
        .map(|e| Versus::new(model, Metrics::of(e, &truth)));
    Ok(LatencyEval {
        pred,
        truth,
        estimate,
        model,
        versus,
    })
}

/// Predicted-vs-true PNG of a latency evaluation (with the system-level estimate when present).
pub fn latency_plot(path: &Path, set: &LatencySet, ev: &LatencyEval, what: &str) -> Result<()> {
    let mut sets: Vec<(&str, &[f32], &[f32])> = Vec::new();
    if let Some(e) = &ev.estimate {
        sets.push(("system-level estimate", e, &ev.truth));
    }
    sets.push(("ANGraph-L", &ev.pred, &ev.truth));
    plot::predicted_vs_true(
        path,
        &format!(
            "{} ({what}): R2 {:.3}{}",
            set.name,
            ev.model.r2,
            ev.versus
                .map(|v| format!(", estimate R2 {:.3}", v.baseline.r2))
                .unwrap_or_default()
        ),
        &set.unit,
        &sets,
    )
}

/// Per-graph predictions as CSV: `graph` (index in the dataset), `true`, `estimate` (empty when
/// the set has none) and `predicted`, all in the set's label unit (named in the header).
pub fn latency_csv(path: &Path, set: &LatencySet, idx: &[usize], ev: &LatencyEval) -> Result<()> {
    let u = &set.unit;
    let mut s = format!("graph,true_{u},estimate_{u},predicted_{u}\n");
    for (k, &g) in idx.iter().enumerate() {
        let est = ev
            .estimate
            .as_ref()
            .map_or(String::new(), |e| e[k].to_string());
        s.push_str(&format!("{g},{},{est},{}\n", ev.truth[k], ev.pred[k]));
    }
    write_atomic(path, s.as_bytes())
}

/// Predicted-vs-true PNG of the three energies.
pub fn power_plot(path: &Path, set: &PowerSet, idx: &[usize], pred: &[[f32; 2]]) -> Result<()> {
    let col = |f: &dyn Fn([f32; 2]) -> f32, v: &mut dyn Iterator<Item = [f32; 2]>| -> Vec<f32> {
        v.map(f).collect()
    };
    let t: Vec<[f32; 2]> = idx.iter().map(|&i| set.labels[i]).collect();
    let (pd, td) = (
        col(&|r| r[0], &mut pred.iter().copied()),
        col(&|r| r[0], &mut t.iter().copied()),
    );
    let (ps, ts) = (
        col(&|r| r[1], &mut pred.iter().copied()),
        col(&|r| r[1], &mut t.iter().copied()),
    );
    let (pt, tt) = (
        col(&|r| r[0] + r[1], &mut pred.iter().copied()),
        col(&|r| r[0] + r[1], &mut t.iter().copied()),
    );
    plot::predicted_vs_true(
        path,
        &format!("ANGraph-P on {} (test split)", set.name),
        &set.unit,
        &[
            ("dynamic", &pd, &td),
            ("static", &ps, &ts),
            ("total", &pt, &tt),
        ],
    )
}

/// Header of trust.md.
pub const TRUST_MD_HEAD: &str = "| dataset | split | output | samples | coverage % | median half-width % | flagged % (by range) | misses (beyond +-10 %) | misses flagged % | misses flagged or covered % |\n|---|---|---|---|---|---|---|---|---|---|\n";

/// One row of trust.md.
pub fn trust_md_row(dataset: &str, split: &str, output: &str, t: &TrustMetrics) -> String {
    format!(
        "| {dataset} | {split} | {output} | {} | {:.1} | {:.2} | {:.1} ({:.1}) | {} | {} | {} |\n",
        t.n,
        t.coverage_pct,
        t.median_half_width_pct,
        t.flag_pct,
        t.flag_range_pct,
        t.misses,
        or_dash(t.catch_pct, 1),
        or_dash(t.caught_or_covered_pct, 1)
    )
}

/// One row of the generalization table and of report.json: a dataset, or (last, with
/// `mean_over`) the mean over the sets evaluated with `:all`.
#[derive(Serialize)]
pub struct EvalRow {
    /// Dataset name (`mean` for the mean row).
    pub dataset: String,
    /// Split evaluated (`mean` for the mean row).
    pub split: String,
    /// Graphs or rows evaluated.
    pub samples: usize,
    /// A latency model's evaluation.
    #[serde(flatten)]
    pub latency: Option<LatencyEval>,
    /// A power model's metrics.
    pub power: Option<PowerMetrics>,
    /// What the mean row adds.
    #[serde(flatten)]
    pub summary: Option<Summary>,
}

/// What the mean row adds: the sets it averages and the weakest of them.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Datasets averaged (those evaluated with `:all`).
    pub mean_over: Vec<String>,
    /// Lowest R^2 and share within +-10 % among them (the model; total energy for ANGraph-P).
    pub lowest: Lowest,
    /// The same for the system-level estimate, when every averaged set has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lowest_estimate: Option<Lowest>,
}

/// The lowest R^2 and the lowest share within +-10 % among some datasets, and where.
#[derive(Debug, Serialize)]
pub struct Lowest {
    /// Lowest R^2.
    pub r2: f64,
    /// Where.
    pub r2_dataset: String,
    /// Lowest share within +-10 %.
    pub within10_percent: f64,
    /// Where.
    pub within10_dataset: String,
}

impl Lowest {
    /// Minima over `(dataset, metrics)`, NaN values skipped (NaN and `-` when nothing is left).
    fn of(sets: &[(&str, Metrics)]) -> Lowest {
        let min = |f: fn(&Metrics) -> f64| {
            sets.iter()
                .filter(|(_, m)| !f(m).is_nan())
                .min_by(|a, b| f(&a.1).total_cmp(&f(&b.1)))
                .map_or((f64::NAN, "-".to_string()), |(d, m)| (f(m), d.to_string()))
        };
        let ((r2, r2_dataset), (within10_percent, within10_dataset)) =
            (min(|m| m.r2), min(|m| m.within10_percent));
        Lowest {
            r2,
            r2_dataset,
            within10_percent,
            within10_dataset,
        }
    }
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, k) = v.fold((0.0, 0usize), |(s, k), x| (s + x, k + 1));
    if k == 0 {
        f64::NAN
    } else {
        s / k as f64
    }
}

/// The mean row over the rows evaluated with `:all`; `None` when there are none.
pub fn mean_row(rows: &[EvalRow]) -> Option<EvalRow> {
    let zs: Vec<&EvalRow> = rows.iter().filter(|r| r.split == "all").collect();
    if zs.is_empty() {
        return None;
    }
    let names: Vec<&str> = zs.iter().map(|r| r.dataset.as_str()).collect();
    let named = |f: &dyn Fn(&EvalRow) -> Option<Metrics>| -> Option<Vec<(&str, Metrics)>> {
        zs.iter()
            .map(|r| Some((r.dataset.as_str(), f(r)?)))
            .collect()
    };
    let (latency, power, lowest, lowest_estimate);
    if let Some(evs) = zs
        .iter()
        .map(|r| r.latency.as_ref())
        .collect::<Option<Vec<_>>>()
    {
        let model = Metrics::mean(&evs.iter().map(|e| e.model).collect::<Vec<_>>());
        let vs: Option<Vec<Versus>> = evs.iter().map(|e| e.versus).collect();
        let versus = vs.map(|vs| Versus {
            model,
            baseline: Metrics::mean(&vs.iter().map(|v| v.baseline).collect::<Vec<_>>()),
            r2_gain: mean(vs.iter().map(|v| v.r2_gain)),
            rmse_reduction: mean(vs.iter().map(|v| v.rmse_reduction)),
        });
        lowest = Lowest::of(&named(&|r| r.latency.as_ref().map(|e| e.model))?);
        lowest_estimate =
            named(&|r| r.latency.as_ref()?.versus.map(|v| v.baseline)).map(|s| Lowest::of(&s));
        latency = Some(LatencyEval {
            pred: Vec::new(),
            truth: Vec::new(),
            estimate: None,
            model,
            versus,
        });
        power = None;
    } else {
        let ps: Vec<PowerMetrics> = zs.iter().filter_map(|r| r.power).collect();
        let col =
            |f: fn(&PowerMetrics) -> Metrics| Metrics::mean(&ps.iter().map(f).collect::<Vec<_>>());
        power = Some(PowerMetrics {
            dynamic: col(|p| p.dynamic),
            r#static: col(|p| p.r#static),
            total: col(|p| p.total),
        });
        lowest = Lowest::of(&named(&|r| r.power.map(|p| p.total))?);
        lowest_estimate = None;
        latency = None;
    }
    Some(EvalRow {
        dataset: "mean".into(),
        split: "mean".into(),
        samples: zs.iter().map(|r| r.samples).sum(),
        latency,
        power,
        summary: Some(Summary {
            mean_over: names.iter().map(|s| s.to_string()).collect(),
            lowest,
            lowest_estimate,
        }),
    })
}

/// `x` with `d` decimals, `-` for none.
pub fn or_dash(x: Option<f64>, d: usize) -> String {
    x.map_or("-".into(), |v| format!("{v:.d$}"))
}

/// Header of the latency table.
const LATENCY_MD_HEAD: &str = "| dataset | split | graphs | R2 | RMSE | MAPE % | SMAPE % | within +-10 % (% of graphs) | Kendall tau | estimate R2 | estimate RMSE | estimate MAPE % | estimate within +-10 % (% of graphs) | estimate Kendall tau | R2 gain | RMSE reduction % |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";

/// Header of the power table.
const POWER_MD_HEAD: &str = "| dataset | split | rows | R2 dyn | R2 static | R2 total | MAPE dyn % | MAPE static % | MAPE total % | within +-10 % dyn (% of rows) | within +-10 % static (% of rows) | within +-10 % total (% of rows) |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n";

/// One row of the latency table (`name` in the dataset column).
fn latency_md_row(name: &str, r: &EvalRow, ev: &LatencyEval) -> String {
    let (m, b) = (ev.model, ev.versus.map(|v| v.baseline));
    format!(
        "| {name} | {} | {} | {:.4} | {:.4} | {:.2} | {:.2} | {:.1} | {:.4} | {} | {} | {} | {} | {} | {} | {} |\n",
        r.split,
        r.samples,
        m.r2,
        m.rmse,
        m.mape,
        m.smape,
        m.within10_percent,
        m.kendall_tau,
        or_dash(b.map(|m| m.r2), 4),
        or_dash(b.map(|m| m.rmse), 4),
        or_dash(b.map(|m| m.mape), 2),
        or_dash(b.map(|m| m.within10_percent), 1),
        or_dash(b.map(|m| m.kendall_tau), 4),
        or_dash(ev.versus.map(|v| v.r2_gain), 4),
        or_dash(ev.versus.map(|v| v.rmse_reduction), 1)
    )
}

/// One row of the power table (`name` in the dataset column).
fn power_md_row(name: &str, r: &EvalRow, p: &PowerMetrics) -> String {
    format!(
        "| {name} | {} | {} | {:.5} | {:.5} | {:.5} | {:.3} | {:.3} | {:.3} | {:.1} | {:.1} | {:.1} |\n",
        r.split,
        r.samples,
        p.dynamic.r2,
        p.r#static.r2,
        p.total.r2,
        p.dynamic.mape,
        p.r#static.mape,
        p.total.mape,
        p.dynamic.within10_percent,
        p.r#static.within10_percent,
        p.total.within10_percent
    )
}

/// The generalization table: one row per dataset, then (when some sets were evaluated with
/// `:all`) the mean row and the lowest R^2 / share within +-10 % among those sets.
pub fn table_md(rows: &[EvalRow]) -> String {
    let latency = rows.iter().any(|r| r.latency.is_some());
    let mut md = String::from(if latency {
        LATENCY_MD_HEAD
    } else {
        POWER_MD_HEAD
    });
    for r in rows {
        let name = match &r.summary {
            Some(s) => format!("mean of {} `all` sets", s.mean_over.len()),
            None => r.dataset.clone(),
        };
        if let Some(ev) = &r.latency {
            md.push_str(&latency_md_row(&name, r, ev));
        } else if let Some(p) = &r.power {
            md.push_str(&power_md_row(&name, r, p));
        }
    }
    let Some(mr) = rows.iter().find(|r| r.summary.is_some()) else {
        return md;
    };
    let s = mr.summary.as_ref().expect("mean row");
    let r2 = mr
        .latency
        .as_ref()
        .map(|e| e.model.r2)
        .or(mr.power.map(|p| p.total.r2))
        .unwrap_or(f64::NAN);
    let what = if latency { "" } else { " (total energy)" };
    md.push_str(&format!(
        "\nMean R2 over the {} zero-shot (`all`) datasets: {r2:.4}\n",
        s.mean_over.len()
    ));
    let low = |l: &Lowest| {
        format!(
            "R2 {:.4} ({}), within +-10 % {:.1} % ({})",
            l.r2, l.r2_dataset, l.within10_percent, l.within10_dataset
        )
    };
    md.push_str(&format!("Lowest among them{what}: {}\n", low(&s.lowest)));
    if let Some(l) = &s.lowest_estimate {
        md.push_str(&format!(
            "Lowest among them, system-level estimate: {}\n",
            low(l)
        ));
    }
    md
}

/// `generalization.png`: one predicted-vs-true panel per latency dataset (estimate in another
/// colour when present), titled with the dataset, R^2 and the share within +-10 %.
pub fn generalization_plot(path: &Path, rows: &[EvalRow], units: &[String]) -> Result<()> {
    let mut panels = Vec::new();
    for r in rows.iter().filter(|r| r.summary.is_none()) {
        let Some(ev) = &r.latency else { continue };
        let mut sets: Vec<(&str, &[f32], &[f32])> = Vec::new();
        if let Some(e) = &ev.estimate {
            sets.push(("system-level estimate", e, &ev.truth));
        }
        sets.push(("ANGraph-L", &ev.pred, &ev.truth));
        panels.push(plot::Panel {
            title: format!(
                "{} ({}): R2 {:.3}, within +-10% {:.1}%",
                r.dataset, r.split, ev.model.r2, ev.model.within10_percent
            ),
            sets,
        });
    }
    let unit = match units.first() {
        Some(u) if units.iter().all(|v| v == u) => u.as_str(),
        _ => "label unit",
    };
    plot::panels(
        path,
        "ANGraph-L generalization: predicted vs true per dataset",
        unit,
        &panels,
    )
}

/// Float and fixed point side by side.
#[derive(Debug, Serialize)]
pub struct QuantReport {
    /// Blob written.
    pub blob: String,
    /// Blob size, bytes.
    pub blob_bytes: usize,
    /// Activation precision.
    pub precision: String,
    /// Calibration samples (from the training split).
    pub calibration_samples: usize,
    /// Dataset and split reported on.
    pub dataset: String,
    /// Split.
    pub split: String,
    /// Per output (`latency`, or `dynamic`/`static`/`total`): f32 (angraph-core reference path)
    /// and fixed point (angraph-core integer path) metrics, and the R^2 difference.
    pub outputs: Vec<QuantRow>,
    /// Median relative difference |fixed - f32| / |f32|, percent (first output).
    pub median_rel_diff_percent: f64,
}

/// One output of [`QuantReport`].
#[derive(Debug, Serialize)]
pub struct QuantRow {
    /// Output name.
    pub output: String,
    /// angraph-core f32 path.
    pub f32: Metrics,
    /// angraph-core fixed-point path.
    pub fixed: Metrics,
    /// `f32.r2 - fixed.r2`.
    pub r2_drop: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// `calib` indices spread evenly over `train` (all of them when there are fewer): activation
/// ranges then come from every dataset of a mix, not only the first.
fn spread(train: &[usize], calib: usize) -> Vec<usize> {
    let n = train.len();
    if calib >= n {
        return train.to_vec();
    }
    (0..calib).map(|k| train[k * n / calib]).collect()
}

/// Calibrate the checkpoint at `model_path` on `calib` samples spread over the training splits
/// of `data` (one or several datasets), write the blob to `out`, and compare angraph-core's
/// f32 and fixed-point paths on `split` of the same datasets.
pub fn quantize_and_compare(
    model_path: &Path,
    data: &[PathBuf],
    split_seed: Option<u64>,
    calib: usize,
    precision: Precision,
    split: &str,
    out: &Path,
) -> Result<QuantReport> {
    let ck = Checkpoint::load(model_path, Device::Cpu)?;
    let mf = ck.to_model_f32()?;
    let scale = mf.label_scale;
    let f32_blob = mf
        .to_blob()
        .map_err(|e| anyhow::anyhow!("{}: f32 blob: {e}", model_path.display()))?;
    let f32_model = Model::from_bytes(&f32_blob)
        .map_err(|e| anyhow::anyhow!("{}: f32 blob: {e}", model_path.display()))?;
    let prec_name = format!("{precision:?}").to_lowercase();
    let names: Vec<String> = data
        .iter()
        .map(|d| {
            d.file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    let note = format!(
        "calibrated on {calib} training samples of {}",
        names.join(" + ")
    );
    let (blob, outputs, rel, name, n_cal) = match &ck.net {
        Net::Latency(_) => {
            let set = crate::train::load::latency_sets(data, split_seed)?;
            crate::dataset::check_label_unit(&data[0], &set.unit, model_path, &ck.meta.unit)?;
            let cal: Vec<_> = spread(&set.splits.train, calib)
                .into_iter()
                .map(|i| set.graphs.get(i).map(std::borrow::Cow::into_owned))
                .collect::<Result<Vec<_>>>()?;
            if cal.is_empty() {
                bail!("{}: no training graphs to calibrate on", set.name);
            }
            let blob = mf
                .quantize(&Calibration::Latency(&cal), precision, &note)
                .map_err(|e| anyhow::anyhow!("quantizing: {e}"))?;
            let qbytes = blob.clone();
            let q = Model::from_bytes(&qbytes).map_err(|e| anyhow::anyhow!("fixed blob: {e}"))?;
            let idx = set.splits.named(split, set.graphs.len())?;
            let gname = set.name.clone();
            let (mut pf, mut px, mut truth, mut rel) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let mut ws = Vec::new();
            for &i in &idx {
                let g = set.graphs.get(i)?;
                let v = g
                    .view()
                    .map_err(|e| anyhow::anyhow!("{gname} graph {i}: {e}"))?;
                ws.resize(
                    latency::required_workspace(&q, v.num_nodes(), v.num_edges()).max(
                        latency::required_workspace(&f32_model, v.num_nodes(), v.num_edges()),
                    ),
                    0,
                );
                let a = latency::predict_f32(&f32_model, &v, &mut ws, None)
                    .map_err(|e| anyhow::anyhow!("{gname} graph {i}: f32 path: {e}"))?
                    * scale;
                let fx = g.to_fixed();
                let b = latency::predict_fixed(
                    &q,
                    &fx.view()
                        .map_err(|e| anyhow::anyhow!("{gname} graph {i}: {e}"))?,
                    &mut ws,
                )
                .map_err(|e| anyhow::anyhow!("{gname} graph {i}: fixed path: {e}"))?
                .to_f32()
                    * scale;
                rel.push(((b - a) / a).abs() as f64 * 100.0);
                pf.push(a);
                px.push(b);
                truth.push(set.labels[i]);
            }
            let (f, x) = (Metrics::of(&pf, &truth), Metrics::of(&px, &truth));
            (
                blob,
                vec![QuantRow {
                    output: "latency".into(),
                    f32: f,
                    fixed: x,
                    r2_drop: f.r2 - x.r2,
                }],
                median(rel),
                set.name,
                cal.len(),
            )
        }
        Net::Power(net) => {
            let set =
                crate::train::load::power_sets_for(data, split_seed, net.config().in_dim as usize)?;
            crate::dataset::check_label_unit(&data[0], &set.unit, model_path, &ck.meta.unit)?;
            let cal_idx: Vec<usize> = spread(&set.splits.train, calib);
            if cal_idx.is_empty() {
                bail!("{}: no training rows to calibrate on", set.name);
            }
            let rows: Vec<f32> = cal_idx
                .iter()
                .flat_map(|&i| set.row(i).iter().copied())
                .collect();
            let blob = mf
                .quantize(&Calibration::Power(&rows), precision, &note)
                .map_err(|e| anyhow::anyhow!("quantizing: {e}"))?;
            let qbytes = blob.clone();
            let q = Model::from_bytes(&qbytes).map_err(|e| anyhow::anyhow!("fixed blob: {e}"))?;
            let idx = set.splits.named(split, set.len())?;
            let mut ws =
                vec![0u8; power::required_workspace(&q).max(power::required_workspace(&f32_model))];
            let (mut pf, mut px, mut rel) = (Vec::new(), Vec::new(), Vec::new());
            for &i in &idx {
                let row = set.row(i);
                let mut of = [Energy::<f32>::ZERO];
                power::predict_f32(&f32_model, row, &mut of, &mut ws, None)
                    .map_err(|e| anyhow::anyhow!("{} row {i}: f32 path: {e}", set.name))?;
                let fixed_row = latency::features_to_fixed(row);
                let mut ox = [Energy::<latency::Fixed>::ZERO];
                power::predict_fixed(&q, &fixed_row, &mut ox, &mut ws)
                    .map_err(|e| anyhow::anyhow!("{} row {i}: fixed path: {e}", set.name))?;
                let a = [of[0].heads[0] * scale, of[0].heads[1] * scale];
                let b = [
                    ox[0].heads[0].to_f32() * scale,
                    ox[0].heads[1].to_f32() * scale,
                ];
                rel.push((((b[0] + b[1]) - (a[0] + a[1])) / (a[0] + a[1])).abs() as f64 * 100.0);
                pf.push(a);
                px.push(b);
            }
            let (f, x) = (
                PowerMetrics::of(&pf, &set, &idx),
                PowerMetrics::of(&px, &set, &idx),
            );
            let row = |n: &str, a: Metrics, b: Metrics| QuantRow {
                output: n.into(),
                f32: a,
                fixed: b,
                r2_drop: a.r2 - b.r2,
            };
            (
                blob,
                vec![
                    row("dynamic", f.dynamic, x.dynamic),
                    row("static", f.r#static, x.r#static),
                    row("total", f.total, x.total),
                ],
                median(rel),
                set.name,
                cal_idx.len(),
            )
        }
    };
    write_atomic(out, &blob)?;
    println!("{} ({} bytes, {prec_name}) calibrated on {n_cal} training samples of {name}; {split} split:", out.display(), blob.len());
    for r in &outputs {
        println!(
            "  {:<8} f32 R2 {:.5} RMSE {:.4} MAPE {:.3}% | fixed R2 {:.5} RMSE {:.4} MAPE {:.3}% | R2 drop {:+.5}",
            r.output, r.f32.r2, r.f32.rmse, r.f32.mape, r.fixed.r2, r.fixed.rmse, r.fixed.mape, r.r2_drop
        );
    }
    println!("  median |fixed - f32| / |f32|: {rel:.3}%");
    Ok(QuantReport {
        blob: out.display().to_string(),
        blob_bytes: blob.len(),
        precision: prec_name,
        calibration_samples: n_cal,
        dataset: name,
        split: split.to_string(),
        outputs,
        median_rel_diff_percent: rel,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Split;
    use crate::metrics::Metrics;

    fn set(estimate: Option<Vec<f32>>) -> LatencySet {
        LatencySet {
            name: "s".into(),
            graphs: Default::default(),
            labels: Vec::new(),
            estimate,
            unit: "ns".into(),
            splits: Split::fractions(4, 1, 0.5, 0.25).unwrap(),
        }
    }

    #[test]
    fn predictions_csv_names_the_unit_and_keeps_graph_indices() {
        let dir = std::env::temp_dir().join(format!("angraph_eval_csv_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (pred, truth) = (vec![10.5, 30.0], vec![11.0, 29.0]);
        for estimate in [Some(vec![7.0, 20.25]), None] {
            let ev = LatencyEval {
                model: Metrics::of(&pred, &truth),
                versus: None,
                pred: pred.clone(),
                truth: truth.clone(),
                estimate: estimate.clone(),
            };
            let path = dir.join("p.csv");
            latency_csv(&path, &set(estimate.clone()), &[3, 1], &ev).unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            let want = match estimate {
                Some(_) => "graph,true_ns,estimate_ns,predicted_ns\n3,11,7,10.5\n1,29,20.25,30\n",
                None => "graph,true_ns,estimate_ns,predicted_ns\n3,11,,10.5\n1,29,,30\n",
            };
            assert_eq!(text, want);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn row(name: &str, split: &str, pred: &[f32], truth: &[f32], est: Option<&[f32]>) -> EvalRow {
        let model = Metrics::of(pred, truth);
        EvalRow {
            dataset: name.into(),
            split: split.into(),
            samples: truth.len(),
            latency: Some(LatencyEval {
                pred: pred.to_vec(),
                truth: truth.to_vec(),
                estimate: est.map(|e| e.to_vec()),
                model,
                versus: est.map(|e| Versus::new(model, Metrics::of(e, truth))),
            }),
            power: None,
            summary: None,
        }
    }

    #[test]
    fn mean_row_averages_the_all_sets_only() {
        let t = [100.0, 200.0, 300.0, 400.0];
        let mut rows = vec![
            // The training set's own split: not in the mean.
            row("train_set", "test", &[0.0, 0.0, 0.0, 1.0], &t, Some(&t)),
            // within10 100 %, tau 1, r2 1; estimate within10 50 %.
            row("a", "all", &t, &t, Some(&[100.0, 200.0, 100.0, 100.0])),
            // Two of four within 10 %; tau 2/3 (one discordant pair).
            row("b", "all", &[105.0, 300.0, 200.0, 430.0], &t, Some(&t)),
        ];
        let m = mean_row(&rows).expect("two `all` sets");
        let (ea, eb) = (
            rows[1].latency.as_ref().unwrap(),
            rows[2].latency.as_ref().unwrap(),
        );
        let ev = m.latency.as_ref().unwrap();
        assert_eq!(m.samples, 8);
        assert_eq!(ev.model.within10_percent, 75.0);
        assert!((ev.model.kendall_tau - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert!((ev.model.r2 - (ea.model.r2 + eb.model.r2) / 2.0).abs() < 1e-12);
        let v = ev.versus.unwrap();
        assert_eq!(v.baseline.within10_percent, 75.0);
        let s = m.summary.as_ref().unwrap();
        assert_eq!(s.mean_over, ["a", "b"]);
        assert_eq!(
            (s.lowest.r2_dataset.as_str(), s.lowest.r2),
            ("b", eb.model.r2)
        );
        assert_eq!(s.lowest.within10_percent, 50.0);
        let le = s.lowest_estimate.as_ref().unwrap();
        assert_eq!(
            (le.within10_dataset.as_str(), le.within10_percent),
            ("a", 50.0)
        );
        rows.push(m);
        let md = table_md(&rows);
        let lines: Vec<&str> = md.lines().collect();
        // Header, rule, 3 sets, mean row; every row has the header's 16 columns.
        assert!(lines[5].starts_with("| mean of 2 `all` sets | mean | 8 | "));
        for l in &lines[..6] {
            assert_eq!(l.matches('|').count(), 17, "{l}");
        }
        assert!(md.contains("\nMean R2 over the 2 zero-shot (`all`) datasets: "));
        assert!(md.contains("Lowest among them: R2 "));
        assert!(md.contains(", within +-10 % 50.0 % (b)\n"));
        assert!(md.contains("system-level estimate: R2 "));
        // A set without an estimate: no estimate mean, dashes in the mean row.
        rows.truncate(2);
        rows.push(row("c", "all", &t, &t, None));
        let m = mean_row(&rows).unwrap();
        assert!(m.latency.as_ref().unwrap().versus.is_none());
        assert!(m.summary.as_ref().unwrap().lowest_estimate.is_none());
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["mean_over"][1], "c");
        assert_eq!(json["model"]["within10_percent"], 100.0);
        assert!(mean_row(&rows[..1]).is_none());
    }
}
