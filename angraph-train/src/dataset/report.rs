//! The benchmark report (`data/README.md`): per dataset, sizes and the system-level
//! estimate's R^2, RMSE and MAPE against the reference labels; generation speed.

use super::generate::Speed;
use super::manifest::Manifest;
use super::{GraphDataset, Kind, PowerDataset};
use anyhow::Result;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// The fixed part of the report: what `data/` holds and where it comes from.
pub const HEAD: &str = "\
`data/` holds:

- `manifest.json`: the paper's 16 latency and 6 power benchmarks, plus the training mixes \
(`train_*`) and held-out checks (`check_*`) of the chip-family protocols (configuration, seed, \
full size, size of the committed sample), and the protocols themselves: which sets train each \
recommended model and which only evaluate it (`angraph datasets --protocol NAME`; \
docs/generalization.md). `angraph datasets --all --full` regenerates the full sets byte-for-byte \
(sample `i` depends only on the configuration and `i`); `angraph datasets --all` regenerates the \
committed samples (the first samples of each full set) under `data/samples/`.
- `samples/<name>/`: latency datasets in the OGB raw format (`raw/*.csv.gz`, \
`split/random/*.csv.gz`, `meta.json` with feature names, units, feature-set version, hardware \
configuration, seed and every model parameter; `raw/system-estimate.csv.gz` holds the \
system-level latency estimate) and power datasets (`feature.npy` `(N, 8, 6)`: the 6 x 6 \
activity matrix, the operating-conditions row and the event-load row, power input version 3; \
`label.npy` `(N, 3)` = total, dynamic, static energy in nJ).
- `samples/speed.json`: generation speed of the last run of each sample (not part of the dataset bytes).
- `streams/`: example event streams (TrueAsync DFG JSON and the timed form).
- `digits/`: the handwritten digits the `digits` workloads run on: UCI \"Optical Recognition of \
Handwritten Digits\" (E. Alpaydin, C. Kaynak, 1998), test part as shipped with scikit-learn, \
licence CC BY 4.0, <https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits>.

The reference hardware model behind the labels is `angraph-train/src/sim/` (parameters in \
`sim/params.rs`); the labels stand in for gate-level simulation and are not foundry data.
";

/// Regression metrics of a predictor against the truth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    /// Coefficient of determination `1 - SSE / SST`.
    pub r2: f64,
    /// Root mean squared error (label unit).
    pub rmse: f64,
    /// Mean absolute percentage error (%).
    pub mape: f64,
}

/// R^2, RMSE and MAPE of `pred` against `truth` (equal, non-zero lengths).
pub fn metrics(pred: &[f32], truth: &[f32]) -> Metrics {
    let n = truth.len().max(1) as f64;
    let mean = truth.iter().map(|&y| y as f64).sum::<f64>() / n;
    let (mut sse, mut sst, mut ape) = (0.0, 0.0, 0.0);
    for (&p, &y) in pred.iter().zip(truth) {
        let (p, y) = (p as f64, y as f64);
        sse += (p - y) * (p - y);
        sst += (y - mean) * (y - mean);
        if y != 0.0 {
            ape += ((p - y) / y).abs();
        }
    }
    Metrics {
        r2: if sst > 0.0 { 1.0 - sse / sst } else { f64::NAN },
        rmse: (sse / n).sqrt(),
        mape: 100.0 * ape / n,
    }
}

/// How much of the label a linear model of pooled graph features explains: ridge regression
/// (standardised features, lambda = 1 per sample) of the label on the per-graph sums of every
/// node feature, fitted on the train split and scored (R^2) on valid + test. A cheap lower
/// bound of what a GNN can learn from the graph; `None` for fewer than 20 graphs.
#[allow(clippy::needless_range_loop)] // the elimination indexes rows and columns
pub fn linear_probe_r2(ds: &GraphDataset) -> Option<f64> {
    let n = ds.graphs.len();
    if n < 20 {
        return None;
    }
    let w = ds.graphs[0].feature_width as usize;
    let pooled: Vec<Vec<f64>> = ds
        .graphs
        .iter()
        .map(|g| {
            let mut v = vec![0.0; w];
            for row in g.x.chunks_exact(w) {
                for (a, &x) in v.iter_mut().zip(row) {
                    *a += x as f64;
                }
            }
            v
        })
        .collect();
    let train = &ds.split.train;
    let mean: Vec<f64> = (0..w)
        .map(|j| train.iter().map(|&i| pooled[i][j]).sum::<f64>() / train.len() as f64)
        .collect();
    let sd: Vec<f64> = (0..w)
        .map(|j| {
            let v = train
                .iter()
                .map(|&i| (pooled[i][j] - mean[j]).powi(2))
                .sum::<f64>();
            (v / train.len() as f64).sqrt().max(1e-9)
        })
        .collect();
    let z = |i: usize| -> Vec<f64> {
        let mut v: Vec<f64> = (0..w).map(|j| (pooled[i][j] - mean[j]) / sd[j]).collect();
        v.push(1.0);
        v
    };
    let k = w + 1;
    let (mut a, mut b) = (vec![vec![0.0; k]; k], vec![0.0; k]);
    for &i in train {
        let x = z(i);
        for r in 0..k {
            b[r] += x[r] * ds.labels[i] as f64;
            for c in 0..k {
                a[r][c] += x[r] * x[c];
            }
        }
    }
    for (r, row) in a.iter_mut().enumerate().take(w) {
        row[r] += 1.0 * train.len() as f64 / 100.0 + 1e-6;
    }
    // Gaussian elimination with partial pivoting.
    for col in 0..k {
        let piv = (col..k).max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))?;
        a.swap(col, piv);
        b.swap(col, piv);
        if a[col][col].abs() < 1e-12 {
            return None;
        }
        for r in col + 1..k {
            let f = a[r][col] / a[col][col];
            for c in col..k {
                a[r][c] -= f * a[col][c];
            }
            b[r] -= f * b[col];
        }
    }
    let mut coef = vec![0.0; k];
    for r in (0..k).rev() {
        let s: f64 = (r + 1..k).map(|c| a[r][c] * coef[c]).sum();
        coef[r] = (b[r] - s) / a[r][r];
    }
    let held: Vec<usize> = ds
        .split
        .valid
        .iter()
        .chain(&ds.split.test)
        .copied()
        .collect();
    let pred: Vec<f32> = held
        .iter()
        .map(|&i| z(i).iter().zip(&coef).map(|(x, c)| x * c).sum::<f64>() as f32)
        .collect();
    let truth: Vec<f32> = held.iter().map(|&i| ds.labels[i]).collect();
    Some(metrics(&pred, &truth).r2)
}

fn min_mean_max(v: impl Iterator<Item = f64>) -> (f64, f64, f64) {
    let (mut lo, mut hi, mut s, mut n) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64, 0.0f64);
    for x in v {
        lo = lo.min(x);
        hi = hi.max(x);
        s += x;
        n += 1.0;
    }
    (lo, s / n.max(1.0), hi)
}

/// One report line.
#[derive(Debug, Clone)]
pub struct Line {
    /// Dataset name.
    pub name: String,
    /// Markdown table row.
    pub row: String,
    /// Baseline metrics (latency datasets).
    pub metrics: Option<Metrics>,
}

/// Statistics of the latency dataset in `dir`.
pub fn latency_line(name: &str, dir: &Path, speed: Option<&Speed>) -> Result<Line> {
    let ds = GraphDataset::load(dir)?;
    let nodes = min_mean_max(ds.graphs.iter().map(|g| (g.row_ptr.len() - 1) as f64));
    let edges = min_mean_max(ds.graphs.iter().map(|g| g.src.len() as f64));
    let lab = min_mean_max(ds.labels.iter().map(|&y| y as f64));
    let m = ds.estimates.as_ref().map(|e| metrics(e, &ds.labels));
    let est = ds
        .estimates
        .as_ref()
        .map(|e| min_mean_max(e.iter().map(|&y| y as f64)).1)
        .unwrap_or(f64::NAN);
    let mut row = format!(
        "| {name} | {} | {:.0} / {:.1} / {:.0} | {:.0} / {:.1} / {:.0} | {:.0} / {:.0} / {:.0} | {est:.0} |",
        ds.graphs.len(),
        nodes.0,
        nodes.1,
        nodes.2,
        edges.0,
        edges.1,
        edges.2,
        lab.0,
        lab.1,
        lab.2
    );
    match m {
        Some(m) => write!(row, " {:.3} | {:.1} | {:.1} |", m.r2, m.rmse, m.mape)?,
        None => row.push_str(" - | - | - |"),
    }
    match linear_probe_r2(&ds) {
        Some(r) => write!(row, " {r:.3} |")?,
        None => row.push_str(" - |"),
    }
    match speed {
        Some(s) => write!(
            row,
            " {:.1} ({}, {} threads) |",
            s.samples_per_s, s.profile, s.threads
        )?,
        None => row.push_str(" - |"),
    }
    Ok(Line {
        name: name.into(),
        row,
        metrics: m,
    })
}

/// Statistics of the power dataset in `dir`.
pub fn power_line(name: &str, dir: &Path, speed: Option<&Speed>) -> Result<Line> {
    let ds = PowerDataset::load(dir)?;
    let total = ds.column("total")?;
    let dynamic = ds.column("dynamic")?;
    let stat = ds.column("static")?;
    let exact = total
        .iter()
        .zip(dynamic.iter().zip(&stat))
        .filter(|(t, (d, s))| **t == **d + **s)
        .count();
    let t = min_mean_max(total.iter().map(|&v| v as f64));
    let share = min_mean_max(
        stat.iter()
            .zip(&total)
            .map(|(&s, &t)| 100.0 * s as f64 / t as f64),
    );
    let mut row = format!(
        "| {name} | {} | {:?} | {:.2} / {:.2} / {:.2} | {:.1} / {:.1} / {:.1} | {exact}/{} |",
        ds.len(),
        &ds.feature_shape[1..],
        t.0,
        t.1,
        t.2,
        share.0,
        share.1,
        share.2,
        ds.len()
    );
    match speed {
        Some(s) => write!(
            row,
            " {:.1} ({}, {} threads) |",
            s.samples_per_s, s.profile, s.threads
        )?,
        None => row.push_str(" - |"),
    }
    Ok(Line {
        name: name.into(),
        row,
        metrics: None,
    })
}

/// Render the report for the manifest's datasets found under `root` (missing ones are listed
/// as missing). `speeds`: generation speed per dataset name.
pub fn render(
    manifest: &Manifest,
    root: &Path,
    speeds: &BTreeMap<String, Speed>,
    extra: &str,
) -> Result<String> {
    let mut lat = String::new();
    let mut pow = String::new();
    for e in &manifest.datasets {
        let dir = root.join(&e.name);
        let speed = speeds.get(&e.name);
        let line = if !dir.exists() {
            None
        } else {
            Some(match e.kind {
                Kind::Latency => latency_line(&e.name, &dir, speed)?,
                Kind::Power => power_line(&e.name, &dir, speed)?,
            })
        };
        let target = if e.kind == Kind::Latency {
            &mut lat
        } else {
            &mut pow
        };
        match line {
            Some(l) => writeln!(target, "{}", l.row)?,
            None => writeln!(target, "| {} | (not generated) |", e.name)?,
        }
    }
    let mut out = String::new();
    writeln!(out, "# Benchmark data\n")?;
    writeln!(
        out,
        "Generated by `angraph datasets --report` from `data/manifest.json` and the datasets under \
         `{}`; do not edit by hand.\n",
        root.display()
    )?;
    out.push_str(extra);
    writeln!(out, "\n## Latency datasets (graphs, OGB raw format)\n")?;
    writeln!(
        out,
        "Nodes, edges and labels as min / mean / max. Label = reference latency (ns); R^2, RMSE \
         and MAPE score the system-level estimate (ns) against it. `probe R^2`: a ridge regression \
         of the label on the graph's summed node features (train split -> valid + test), a lower \
         bound of what is learnable from the graph.\n"
    )?;
    writeln!(out, "| dataset | graphs | nodes | edges | label (ns) | mean estimate (ns) | R^2 | RMSE (ns) | MAPE (%) | probe R^2 | samples/s |")?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|")?;
    out.push_str(&lat);
    writeln!(out, "\n## Power datasets (activity matrices, npy)\n")?;
    writeln!(
        out,
        "Rows 1-6 of each matrix are the activity matrix, row 7 the operating conditions (process \
         node, Vdd, junction temperature, tiles; `angraph_core::power_input`). Static energy = \
         leakage(node, tiles, temperature) / die^2 x reference latency: the per-die factor is not \
         observable at system level, so `angraph power-bound <name>` scores the best any model \
         can do (oracles knowing everything but the die factor). Total energy (nJ) and static \
         share (%) as min / mean / max; `exact` counts samples with total == dynamic + static in \
         float32.\n"
    )?;
    writeln!(
        out,
        "| dataset | samples | matrix | total (nJ) | static share (%) | exact | samples/s |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|")?;
    out.push_str(&pow);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_of_known_values() {
        let m = metrics(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]);
        assert_eq!((m.r2, m.rmse, m.mape), (1.0, 0.0, 0.0));
        let m = metrics(&[2.0, 2.0, 2.0], &[1.0, 2.0, 3.0]);
        assert!((m.r2 - 0.0).abs() < 1e-12);
        assert!((m.rmse - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((m.mape - 100.0 * (1.0 + 1.0 / 3.0) / 3.0).abs() < 1e-9);
    }
}
