//! The trust section of a fixed-point blob, from datasets: fitting it (`angraph quantize
//! --trust-data`) and measuring it (`angraph eval --blob`): empirical coverage of the intervals,
//! their median half-width, the envelope's flag rate and its catch rate (the share of large
//! misses it flags).
//!
//! Every number comes from angraph-core's fixed-point path ([`latency::predict_embedded`],
//! [`latency::predict_assessed`] and their ANGraph-P twins): what the chip computes.

use angraph_core::latency::features_to_fixed;
use angraph_core::trust_fit::{OwnedTrust, TrustFit};
use angraph_core::{latency, power, Model};
use anyhow::{anyhow, bail, Result};
use serde::Serialize;

use crate::train::data::{LatencySet, PowerSet};

/// A miss: a prediction more than this far (relative) from the label.
pub const MISS: f64 = 0.10;

/// Fit a latency blob's trust section: ranges and embedding statistics on the `train` splits,
/// conformal scores and the distance threshold on the `valid` splits of `set`.
pub fn fit_latency(
    q: &Model<'_>,
    set: &LatencySet,
    coverage: u8,
    envelope: u8,
) -> Result<OwnedTrust> {
    let (f, d, o) = TrustFit::shapes(q);
    let mut fit = TrustFit::new(f, d, o).map_err(|e| anyhow!("trust: {e}"))?;
    let scale = q.body().label_scale as f64;
    let mut ws = Vec::new();
    let mut emb = vec![0i32; d];
    let mut run = |i: usize, emb: &mut [i32]| -> Result<(f64, i32, Vec<i32>)> {
        let g = set.graphs.get(i)?.to_fixed();
        let v = g
            .view()
            .map_err(|e| anyhow!("{} graph {i}: {e}", set.name))?;
        ws.resize(
            latency::required_workspace(q, v.num_nodes(), v.num_edges()),
            0,
        );
        let (y, u) = latency::predict_embedded(q, &v, &mut ws, emb)
            .map_err(|e| anyhow!("{} graph {i}: {e}", set.name))?;
        Ok((y.to_f32() as f64 * scale, u, g.x))
    };
    for &i in &set.splits.train {
        let (_, _, x) = run(i, &mut emb)?;
        for row in x.chunks_exact(f) {
            fit.fit_row(row)
                .map_err(|e| anyhow!("{} graph {i}: {e}", set.name))?;
        }
        fit.fit_embedding(&emb).map_err(|e| anyhow!("trust: {e}"))?;
    }
    for &i in &set.splits.valid {
        let (y, u, _) = run(i, &mut emb)?;
        fit.calibrate(&emb, u, &[y], &[set.labels[i] as f64])
            .map_err(|e| anyhow!("trust: {e}"))?;
    }
    fit.finish(coverage, envelope)
        .map_err(|e| anyhow!("{}: trust section: {e}", set.name))
}

/// Fit a power blob's trust section (as [`fit_latency`]; intervals of the heads and the total).
pub fn fit_power(q: &Model<'_>, set: &PowerSet, coverage: u8, envelope: u8) -> Result<OwnedTrust> {
    let (f, d, o) = TrustFit::shapes(q);
    if f != set.in_dim {
        bail!(
            "{}: {} inputs per row, the model reads {f}",
            set.name,
            set.in_dim
        );
    }
    let mut fit = TrustFit::new(f, d, o).map_err(|e| anyhow!("trust: {e}"))?;
    let scale = q.body().label_scale as f64;
    let mut ws = vec![0u8; power::required_workspace(q)];
    let mut emb = vec![0i32; d];
    let mut run = |i: usize, emb: &mut [i32]| -> Result<(Vec<f64>, Vec<i32>)> {
        let row = features_to_fixed(set.row(i));
        let mut out = [power::Energy::<angraph_core::Fixed>::ZERO];
        power::predict_embedded(q, &row, &mut out, &mut ws, emb)
            .map_err(|e| anyhow!("{} row {i}: {e}", set.name))?;
        let e = out[0];
        let mut y: Vec<f64> = e.heads[..e.len as usize]
            .iter()
            .map(|h| h.to_f32() as f64 * scale)
            .collect();
        y.push(e.total.to_f32() as f64 * scale);
        Ok((y, row))
    };
    for &i in &set.splits.train {
        let (_, row) = run(i, &mut emb)?;
        fit.fit_row(&row)
            .map_err(|e| anyhow!("{} row {i}: {e}", set.name))?;
        fit.fit_embedding(&emb).map_err(|e| anyhow!("trust: {e}"))?;
    }
    for &i in &set.splits.valid {
        let (y, _) = run(i, &mut emb)?;
        let l = set.labels[i];
        let truth = [l[0] as f64, l[1] as f64, (l[0] + l[1]) as f64];
        if y.len() != 3 {
            bail!(
                "trust: the power model has {} heads; expected 2 (dynamic, static)",
                y.len() - 1
            );
        }
        fit.calibrate(&emb, 0, &y, &truth)
            .map_err(|e| anyhow!("trust: {e}"))?;
    }
    fit.finish(coverage, envelope)
        .map_err(|e| anyhow!("{}: trust section: {e}", set.name))
}

/// How a trust section fares on some samples.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct TrustMetrics {
    /// Samples.
    pub n: usize,
    /// Share of labels inside their interval, percent.
    pub coverage_pct: f64,
    /// Median half-width `(hi - lo) / 2` relative to the prediction, percent.
    pub median_half_width_pct: f64,
    /// Share of samples flagged out of envelope, percent.
    pub flag_pct: f64,
    /// Share flagged because an input lies outside its training range, percent.
    pub flag_range_pct: f64,
    /// Samples whose prediction misses the label by more than 10 %.
    pub misses: usize,
    /// Share of those misses that are flagged, percent (`None` without misses).
    pub catch_pct: Option<f64>,
    /// Share of the misses that are flagged or covered by their interval, percent.
    pub caught_or_covered_pct: Option<f64>,
}

/// One assessed prediction, in the label unit.
#[derive(Debug, Clone, Copy)]
pub struct Judged {
    /// Prediction.
    pub value: f64,
    /// Interval.
    pub lo: f64,
    /// Interval.
    pub hi: f64,
    /// Outside the envelope.
    pub flagged: bool,
    /// Why: an input outside its training range (else the embedding distance).
    pub out_of_range: bool,
    /// Label.
    pub label: f64,
}

impl TrustMetrics {
    /// Summarize judged predictions.
    pub fn of(j: &[Judged]) -> TrustMetrics {
        let n = j.len().max(1) as f64;
        let covered = |x: &Judged| x.lo <= x.label && x.label <= x.hi;
        let cover = j.iter().filter(|x| covered(x)).count() as f64;
        let flagged = j.iter().filter(|x| x.flagged).count() as f64;
        let mut hw: Vec<f64> = j
            .iter()
            .map(|x| 100.0 * (x.hi - x.lo) / 2.0 / x.value.abs().max(f64::MIN_POSITIVE))
            .collect();
        hw.sort_by(|a, b| a.total_cmp(b));
        let misses: Vec<&Judged> = j
            .iter()
            .filter(|x| (x.value - x.label).abs() > MISS * x.label.abs())
            .collect();
        let m = misses.len();
        let share = |k: usize| (m > 0).then(|| 100.0 * k as f64 / m as f64);
        TrustMetrics {
            n: j.len(),
            coverage_pct: 100.0 * cover / n,
            median_half_width_pct: hw.get(hw.len() / 2).copied().unwrap_or(f64::NAN),
            flag_pct: 100.0 * flagged / n,
            flag_range_pct: 100.0 * j.iter().filter(|x| x.flagged && x.out_of_range).count() as f64
                / n,
            misses: m,
            catch_pct: share(misses.iter().filter(|x| x.flagged).count()),
            caught_or_covered_pct: share(misses.iter().filter(|x| x.flagged || covered(x)).count()),
        }
    }
}

/// Judge the `idx` graphs of `set` with a latency blob that has a trust section.
pub fn judge_latency(q: &Model<'_>, set: &LatencySet, idx: &[usize]) -> Result<Vec<Judged>> {
    if q.trust().is_none() {
        bail!("the latency blob has no trust section (quantize with --trust-data)");
    }
    let scale = q.body().label_scale as f64;
    let mut ws = Vec::new();
    let mut out = Vec::with_capacity(idx.len());
    for &i in idx {
        let g = set.graphs.get(i)?.to_fixed();
        let v = g
            .view()
            .map_err(|e| anyhow!("{} graph {i}: {e}", set.name))?;
        ws.resize(
            latency::required_workspace(q, v.num_nodes(), v.num_edges()),
            0,
        );
        let a = latency::predict_assessed(q, &v, &mut ws)
            .map_err(|e| anyhow!("{} graph {i}: {e}", set.name))?;
        let iv = a.interval.ok_or_else(|| anyhow!("no interval"))?;
        out.push(Judged {
            value: a.value.to_f32() as f64 * scale,
            lo: iv.lo.to_f32() as f64 * scale,
            hi: iv.hi.to_f32() as f64 * scale,
            flagged: !a.envelope.is_some_and(|e| e.inside()),
            out_of_range: a.envelope.is_some_and(|e| e.out_of_range.is_some()),
            label: set.labels[i] as f64,
        });
    }
    Ok(out)
}

/// Judge the `idx` rows of `set` with a power blob that has a trust section: per row
/// `[dynamic, static, total]`.
pub fn judge_power(q: &Model<'_>, set: &PowerSet, idx: &[usize]) -> Result<Vec<[Judged; 3]>> {
    if q.trust().is_none() {
        bail!("the power blob has no trust section (quantize with --trust-data)");
    }
    let scale = q.body().label_scale as f64;
    let mut ws = vec![0u8; power::required_workspace(q)];
    let mut out = Vec::with_capacity(idx.len());
    for &i in idx {
        let row = features_to_fixed(set.row(i));
        let a = power::predict_assessed(q, &row, &mut ws)
            .map_err(|e| anyhow!("{} row {i}: {e}", set.name))?;
        let iv = a.intervals.ok_or_else(|| anyhow!("no intervals"))?;
        if a.energy.len != 2 {
            bail!("the power blob has {} heads; expected 2", a.energy.len);
        }
        let l = set.labels[i];
        let flagged = !a.envelope.is_some_and(|e| e.inside());
        let out_of_range = a.envelope.is_some_and(|e| e.out_of_range.is_some());
        let j = |k: usize, y: angraph_core::Fixed, label: f32| Judged {
            value: y.to_f32() as f64 * scale,
            lo: iv[k].lo.to_f32() as f64 * scale,
            hi: iv[k].hi.to_f32() as f64 * scale,
            flagged,
            out_of_range,
            label: label as f64,
        };
        out.push([
            j(0, a.energy.heads[0], l[0]),
            j(1, a.energy.heads[1], l[1]),
            j(2, a.energy.total, l[0] + l[1]),
        ]);
    }
    Ok(out)
}
