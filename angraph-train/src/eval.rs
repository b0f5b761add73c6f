//! `angraph eval`: accuracy of a model on any dataset (R^2, RMSE, MAPE, SMAPE), side by side with
//! the system-level estimate (R^2 gain, RMSE reduction), predicted-vs-true PNGs, and a
//! generalization table over many datasets; and the float-vs-fixed comparison behind
//! `angraph quantize`.

use std::path::{Path, PathBuf};

use angraph_core::power::Energy;
use angraph_core::quantize::Calibration;
use angraph_core::{latency, power, Model, Precision};
use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use tch::Device;

use crate::nn::checkpoint::write_atomic;
use crate::nn::{Checkpoint, Net};
use crate::train::data::{LatencySet, PowerSet};
use crate::train::latency::LatencyModel;
use crate::train::metrics::{Metrics, Versus};
use crate::train::plot;
use crate::train::power::{PowerMetrics, PowerModel};

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

/// `angraph eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A checkpoint (`*.safetensors` written by train / transfer / import).
    #[arg(long)]
    pub model: PathBuf,
    /// Datasets as `FOLDER` or `FOLDER:SPLIT` (split = train, valid, test, all; default test).
    /// Give the training dataset with `:test` and unseen ones with `:all` for a
    /// generalization table.
    #[arg(long, required = true, num_args = 1..)]
    pub data: Vec<String>,
    /// Output folder: report.json, table.md, one predicted-vs-true PNG per dataset (and for a
    /// latency model one CSV of per-graph true / estimate / predicted values).
    #[arg(long)]
    pub out: PathBuf,
    /// Re-split with this seed instead of the datasets' split files.
    #[arg(long)]
    pub split_seed: Option<u64>,
    /// `auto`, `cpu` or `cuda`.
    #[arg(long, default_value = "auto")]
    pub device: String,
}

#[derive(Serialize)]
struct EvalRow {
    dataset: String,
    split: String,
    samples: usize,
    #[serde(flatten)]
    latency: Option<LatencyEval>,
    power: Option<PowerMetrics>,
}

/// Parse `FOLDER[:SPLIT]`.
fn data_spec(s: &str) -> (PathBuf, String) {
    match s.rsplit_once(':') {
        Some((p, sp)) if ["train", "valid", "test", "all"].contains(&sp) => {
            (PathBuf::from(p), sp.to_string())
        }
        _ => (PathBuf::from(s), "test".to_string()),
    }
}

/// Run `angraph eval`.
pub fn run(a: &EvalArgs) -> Result<()> {
    let device = crate::train::cli::parse_device(&a.device)?;
    let ck = Checkpoint::load(&a.model, device)?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let mut rows = Vec::new();
    let is_latency = matches!(ck.net, Net::Latency(_));
    let mut md = if is_latency {
        String::from("| dataset | split | graphs | R2 | RMSE | MAPE % | SMAPE % | estimate R2 | estimate RMSE | estimate MAPE % | R2 gain | RMSE reduction % |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    } else {
        String::from("| dataset | split | rows | R2 dyn | R2 static | R2 total | MAPE dyn % | MAPE static % | MAPE total % |\n|---|---|---|---|---|---|---|---|---|\n")
    };
    let lm;
    let pm;
    if is_latency {
        lm = Some(LatencyModel::from_checkpoint(ck)?);
        pm = None;
    } else {
        pm = Some(PowerModel::from_checkpoint(ck)?);
        lm = None;
    }
    let mut r2s = Vec::new();
    for spec in &a.data {
        let (dir, split) = data_spec(spec);
        if let Some(m) = &lm {
            let set = crate::train::load::latency_set(&dir, a.split_seed)?;
            let idx = set.splits.named(&split, set.graphs.len())?;
            let ev = latency_eval(m, &set, &idx)?;
            latency_plot(
                &a.out.join(format!("{}_{split}.png", set.name)),
                &set,
                &ev,
                &split,
            )?;
            latency_csv(
                &a.out.join(format!("{}_{split}.csv", set.name)),
                &set,
                &idx,
                &ev,
            )?;
            let b = ev.versus.map(|v| v.baseline);
            let f = |x: Option<f64>, d: usize| x.map_or("-".into(), |v| format!("{v:.d$}"));
            md.push_str(&format!(
                "| {} | {split} | {} | {:.4} | {:.4} | {:.2} | {:.2} | {} | {} | {} | {} | {} |\n",
                set.name,
                idx.len(),
                ev.model.r2,
                ev.model.rmse,
                ev.model.mape,
                ev.model.smape,
                f(b.map(|m| m.r2), 4),
                f(b.map(|m| m.rmse), 4),
                f(b.map(|m| m.mape), 2),
                f(ev.versus.map(|v| v.r2_gain), 4),
                f(ev.versus.map(|v| v.rmse_reduction), 1)
            ));
            println!(
                "{:<28} {:<5} n={:<6} R2 {:.4} RMSE {:.4} {} MAPE {:.2}%{}",
                set.name,
                split,
                idx.len(),
                ev.model.r2,
                ev.model.rmse,
                set.unit,
                ev.model.mape,
                ev.versus
                    .map(|v| format!(
                        " | estimate R2 {:.4} RMSE {:.4} | gain {:+.4}, RMSE -{:.1}%",
                        v.baseline.r2, v.baseline.rmse, v.r2_gain, v.rmse_reduction
                    ))
                    .unwrap_or_default()
            );
            r2s.push(ev.model.r2);
            rows.push(EvalRow {
                dataset: set.name.clone(),
                split,
                samples: idx.len(),
                latency: Some(ev),
                power: None,
            });
        } else if let Some(m) = &pm {
            let in_dim = m.net().config().in_dim as usize;
            let set = crate::train::load::power_set_for(&dir, a.split_seed, in_dim)?;
            let idx = set.splits.named(&split, set.len())?;
            let pred = m.predict(&set, &idx)?;
            let p = PowerMetrics::of(&pred, &set, &idx);
            power_plot(
                &a.out.join(format!("{}_{split}.png", set.name)),
                &set,
                &idx,
                &pred,
            )?;
            md.push_str(&format!(
                "| {} | {split} | {} | {:.5} | {:.5} | {:.5} | {:.3} | {:.3} | {:.3} |\n",
                set.name,
                idx.len(),
                p.dynamic.r2,
                p.r#static.r2,
                p.total.r2,
                p.dynamic.mape,
                p.r#static.mape,
                p.total.mape
            ));
            println!(
                "{:<28} {:<5} n={:<6} R2 dyn {:.5} stat {:.5} total {:.5} | MAPE {:.3}% / {:.3}% / {:.3}%",
                set.name, split, idx.len(), p.dynamic.r2, p.r#static.r2, p.total.r2, p.dynamic.mape, p.r#static.mape, p.total.mape
            );
            r2s.push(p.total.r2);
            rows.push(EvalRow {
                dataset: set.name.clone(),
                split,
                samples: idx.len(),
                latency: None,
                power: Some(p),
            });
        }
    }
    if r2s.len() > 1 {
        let zero_shot: Vec<f64> = rows
            .iter()
            .zip(&r2s)
            .filter(|(r, _)| r.split == "all")
            .map(|(_, v)| *v)
            .collect();
        if !zero_shot.is_empty() {
            md.push_str(&format!(
                "\nMean R2 over the {} zero-shot (`all`) datasets: {:.4}\n",
                zero_shot.len(),
                zero_shot.iter().sum::<f64>() / zero_shot.len() as f64
            ));
        }
    }
    md.push_str(&format!("\nModel: `{}`\n", a.model.display()));
    write_atomic(&a.out.join("table.md"), md.as_bytes())?;
    write_atomic(
        &a.out.join("report.json"),
        serde_json::to_string_pretty(&rows)?.as_bytes(),
    )?;
    print!("\n{md}");
    Ok(())
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

/// Calibrate the checkpoint at `model_path` on the training split of `data`, write the blob to
/// `out`, and compare angraph-core's f32 and fixed-point paths on `split`.
pub fn quantize_and_compare(
    model_path: &Path,
    data: &Path,
    split_seed: Option<u64>,
    calib: usize,
    precision: Precision,
    split: &str,
    out: &Path,
) -> Result<QuantReport> {
    let ck = Checkpoint::load(model_path, Device::Cpu)?;
    let mf = ck.to_model_f32()?;
    let scale = mf.label_scale;
    let f32_blob = mf.to_blob().map_err(|e| anyhow::anyhow!("f32 blob: {e}"))?;
    let f32_model = Model::from_bytes(&f32_blob).map_err(|e| anyhow::anyhow!("f32 blob: {e}"))?;
    let prec_name = format!("{precision:?}").to_lowercase();
    let note = format!(
        "calibrated on {calib} training samples of {}",
        data.file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let (blob, outputs, rel, name, n_cal) = match &ck.net {
        Net::Latency(_) => {
            let set = crate::train::load::latency_set(data, split_seed)?;
            let cal: Vec<_> = set
                .splits
                .train
                .iter()
                .take(calib)
                .map(|&i| set.graphs[i].clone())
                .collect();
            if cal.is_empty() {
                bail!("{}: no training graphs to calibrate on", set.name);
            }
            let blob = mf
                .quantize(&Calibration::Latency(&cal), precision, &note)
                .map_err(|e| anyhow::anyhow!("quantizing: {e}"))?;
            let qbytes = blob.clone();
            let q = Model::from_bytes(&qbytes).map_err(|e| anyhow::anyhow!("fixed blob: {e}"))?;
            let idx = set.splits.named(split, set.graphs.len())?;
            let (mut pf, mut px, mut truth, mut rel) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let mut ws = Vec::new();
            for &i in &idx {
                let g = &set.graphs[i];
                let v = g.view().map_err(|e| anyhow::anyhow!("graph {i}: {e}"))?;
                ws.resize(
                    latency::required_workspace(&q, v.num_nodes(), v.num_edges()).max(
                        latency::required_workspace(&f32_model, v.num_nodes(), v.num_edges()),
                    ),
                    0,
                );
                let a = latency::predict_f32(&f32_model, &v, &mut ws, None)
                    .map_err(|e| anyhow::anyhow!("f32 path, graph {i}: {e}"))?
                    * scale;
                let fx = g.to_fixed();
                let b = latency::predict_fixed(
                    &q,
                    &fx.view().map_err(|e| anyhow::anyhow!("graph {i}: {e}"))?,
                    &mut ws,
                )
                .map_err(|e| anyhow::anyhow!("fixed path, graph {i}: {e}"))?
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
                crate::train::load::power_set_for(data, split_seed, net.config().in_dim as usize)?;
            let cal_idx: Vec<usize> = set.splits.train.iter().take(calib).copied().collect();
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
                let mut of = [Energy {
                    heads: [0f32; power::MAX_OUTPUTS],
                    len: 0,
                    total: 0.0,
                }];
                power::predict_f32(&f32_model, row, &mut of, &mut ws, None)
                    .map_err(|e| anyhow::anyhow!("f32 path, row {i}: {e}"))?;
                let fixed_row = latency::features_to_fixed(row);
                let zero = latency::Fixed {
                    raw: 0,
                    frac_bits: 0,
                };
                let mut ox = [Energy {
                    heads: [zero; power::MAX_OUTPUTS],
                    len: 0,
                    total: zero,
                }];
                power::predict_fixed(&q, &fixed_row, &mut ox, &mut ws)
                    .map_err(|e| anyhow::anyhow!("fixed path, row {i}: {e}"))?;
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
    use crate::train::data::Splits;
    use crate::train::metrics::Metrics;

    fn set(estimate: Option<Vec<f32>>) -> LatencySet {
        LatencySet {
            name: "s".into(),
            graphs: Vec::new(),
            labels: Vec::new(),
            estimate,
            unit: "ns".into(),
            splits: Splits::random(4, 1, 0.5, 0.25).unwrap(),
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
}
