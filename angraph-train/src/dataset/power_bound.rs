//! `angraph power-bound`: how well *any* ANGraph-P can predict static (and total) energy.
//!
//! The reference model's static energy is `leakage(node, tiles, T) / die^2 x latency_ref`, and
//! `latency_ref` itself scales with the per-die delay factor `die` (log-normal, sigma
//! `EFFECTS.die_sigma`). The die factor is not observable at system level, so no predictor of
//! system-level information can beat the error it leaves. This report regenerates a manifest
//! entry's samples with the simulator and scores three oracles that know far more than a model
//! (everything but the die factor, in decreasing order of knowledge):
//!
//! - `all_but_die`: the sample re-run at the reference level with `die = 1` (same temperature,
//!   same per-component variation and metastability draws): `leakage(T) x latency_ref(die = 1)`;
//! - `t_and_reference_latency`: the exact leakage at `T` (die 1) times the sample's exact
//!   reference latency (which carries `die`);
//! - `t_and_system_estimate`: the exact leakage at `T` times the system-level latency estimate.
//!
//! Each oracle's prediction is scaled by the one constant that minimises its MAPE on the training
//! split (a weighted median), then scored on the test split (the split every trained model
//! reports) and on all samples. `total` adds the exact dynamic energy to the oracle's static
//! energy: the error of a predictor whose dynamic energy is perfect.

use super::manifest::Manifest;
use super::{Split, SPLIT_SEED};
use crate::metrics::Metrics;
use crate::sim::params::EFFECTS;
use crate::sim::Generator;
use anyhow::{bail, Result};
use rayon::prelude::*;
use serde::Serialize;

/// One oracle's scores.
#[derive(Debug, Clone, Serialize)]
pub struct OracleScore {
    /// Oracle name.
    pub oracle: String,
    /// What it knows.
    pub knows: String,
    /// The MAPE-optimal constant fitted on the training split.
    pub scale: f64,
    /// Static energy, test split.
    pub static_test: Metrics,
    /// Static energy, all samples.
    pub static_all: Metrics,
    /// Total energy (exact dynamic + oracle static), test split.
    pub total_test: Metrics,
}

/// The report of one dataset.
#[derive(Debug, Clone, Serialize)]
pub struct PowerBound {
    /// Manifest entry.
    pub dataset: String,
    /// Samples.
    pub samples: usize,
    /// Sigma of the log-normal per-die factor.
    pub die_sigma: f64,
    /// `sigma * sqrt(2 / pi)`, percent: the MAPE of a static energy proportional to `1 / die`
    /// predicted without `die` (small-sigma approximation).
    pub die_only_mape_approx: f64,
    /// Static share of the total energy, percent (mean over samples).
    pub static_share_mean: f64,
    /// The oracles.
    pub oracles: Vec<OracleScore>,
}

/// Per-sample quantities (energies in nJ).
struct Row {
    dynamic: f64,
    stat: f64,
    all_but_die: f64,
    t_and_reference_latency: f64,
    t_and_system_estimate: f64,
}

/// An oracle: name, what it knows, its static-energy prediction (nJ) of a sample.
type Oracle = (&'static str, &'static str, fn(&Row) -> f64);

/// The constant `c` minimising `mean |y - c p| / y`: the median of `y / p` weighted by `p / y`.
pub(crate) fn mape_scale(pred: &[f64], truth: &[f64]) -> f64 {
    let mut r: Vec<(f64, f64)> = pred
        .iter()
        .zip(truth)
        .filter(|(p, t)| **p > 0.0 && **t > 0.0)
        .map(|(p, t)| (t / p, p / t))
        .collect();
    if r.is_empty() {
        return 1.0;
    }
    r.sort_by(|a, b| a.0.total_cmp(&b.0));
    let half = r.iter().map(|x| x.1).sum::<f64>() / 2.0;
    let mut acc = 0.0;
    for (ratio, w) in &r {
        acc += w;
        if acc >= half {
            return *ratio;
        }
    }
    r[r.len() - 1].0
}

pub(crate) fn metrics(
    idx: &[usize],
    pred: impl Fn(usize) -> f64,
    truth: impl Fn(usize) -> f64,
) -> Metrics {
    let p: Vec<f32> = idx.iter().map(|&i| pred(i) as f32).collect();
    let t: Vec<f32> = idx.iter().map(|&i| truth(i) as f32).collect();
    Metrics::of(&p, &t)
}

/// The simulator of manifest entry `name`, checked to be of `kind` and to have enough
/// `samples` for a split (what both bound reports regenerate).
pub(crate) fn entry_generator(
    manifest: &Manifest,
    name: &str,
    kind: super::Kind,
    samples: usize,
) -> Result<Generator> {
    let e = manifest.select(&[name.to_string()])?[0];
    if e.kind != kind {
        bail!("{name}: not a {kind:?} dataset");
    }
    if samples < 10 {
        bail!("{name}: at least 10 samples are needed for a split");
    }
    Generator::new(e.config.clone())
}

/// Regenerate `samples` samples of the power entry `name` and score the oracles.
pub fn power_bound(
    manifest: &Manifest,
    name: &str,
    samples: usize,
    progress: bool,
) -> Result<PowerBound> {
    let gen = entry_generator(manifest, name, super::Kind::Power, samples)?;
    let bar = crate::progress::progress_bar(progress, samples as u64, name);
    let rows: Vec<Row> = (0..samples as u64)
        .into_par_iter()
        .map(|i| {
            let s = gen.sample(i);
            let s1 = gen.sample_with(i, |c| c.die = 1.0);
            // Leakage power at the sample's temperature without the die factor (uW), from the
            // die-1 run: static = leakage x latency.
            let leak_uw = s1.static_pj / (s1.reference_latency_ps as f64 * 1e-6);
            bar.inc(1);
            Row {
                dynamic: s.dynamic_pj / 1000.0,
                stat: s.static_pj / 1000.0,
                all_but_die: s1.static_pj / 1000.0,
                t_and_reference_latency: leak_uw * s.reference_latency_ps as f64 * 1e-9,
                t_and_system_estimate: leak_uw * s.system_latency_ps as f64 * 1e-9,
            }
        })
        .collect();
    bar.finish_and_clear();
    let split = Split::random(samples, SPLIT_SEED);
    let all: Vec<usize> = (0..samples).collect();
    let truth: Vec<f64> = rows.iter().map(|r| r.stat).collect();
    let oracles: [Oracle; 3] = [
        (
            "all_but_die",
            "everything but the per-die factor: T, node, tiles, and the reference run at die 1",
            |r| r.all_but_die,
        ),
        (
            "t_and_reference_latency",
            "exact leakage at T (die 1) x the exact reference latency",
            |r| r.t_and_reference_latency,
        ),
        (
            "t_and_system_estimate",
            "exact leakage at T (die 1) x the system-level latency estimate",
            |r| r.t_and_system_estimate,
        ),
    ];
    let mut out = Vec::new();
    for (oracle, knows, f) in oracles {
        let train_p: Vec<f64> = split.train.iter().map(|&i| f(&rows[i])).collect();
        let train_t: Vec<f64> = split.train.iter().map(|&i| truth[i]).collect();
        let c = mape_scale(&train_p, &train_t);
        let p = |i: usize| c * f(&rows[i]);
        out.push(OracleScore {
            oracle: oracle.into(),
            knows: knows.into(),
            scale: c,
            static_test: metrics(&split.test, p, |i| truth[i]),
            static_all: metrics(&all, p, |i| truth[i]),
            total_test: metrics(
                &split.test,
                |i| rows[i].dynamic + p(i),
                |i| rows[i].dynamic + truth[i],
            ),
        });
    }
    let share = rows
        .iter()
        .map(|r| r.stat / (r.stat + r.dynamic))
        .sum::<f64>()
        / samples as f64;
    Ok(PowerBound {
        dataset: name.into(),
        samples,
        die_sigma: EFFECTS.die_sigma,
        die_only_mape_approx: 100.0 * EFFECTS.die_sigma * (2.0 / std::f64::consts::PI).sqrt(),
        static_share_mean: 100.0 * share,
        oracles: out,
    })
}

/// The repository's manifest (tests of the bound reports).
#[cfg(test)]
pub(crate) fn repo_manifest() -> Manifest {
    Manifest::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/manifest.json"))
        .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mape_scale_is_the_weighted_median() {
        // Predictions exact up to a factor 2: c = 2 gives MAPE 0.
        let p = [1.0, 2.0, 3.0];
        let t = [2.0, 4.0, 6.0];
        assert_eq!(mape_scale(&p, &t), 2.0);
        // One outlier does not move the weighted median.
        let p = [1.0, 1.0, 1.0, 1.0];
        let t = [1.0, 1.0, 1.0, 10.0];
        assert_eq!(mape_scale(&p, &t), 1.0);
    }

    #[test]
    fn the_die_factor_is_what_the_best_oracle_misses() {
        // With die = 1 the sample is the all-but-die oracle's own input: exact.
        let m = repo_manifest();
        let e = m.select(&["power_digits_2x2".into()]).unwrap()[0];
        let gen = Generator::new(e.config.clone()).unwrap();
        let mut differs = false;
        for i in 0..3 {
            let s = gen.sample(i);
            let a = gen.sample_with(i, |_| {});
            assert_eq!(a.static_pj, s.static_pj);
            let s1 = gen.sample_with(i, |c| c.die = 1.0);
            // Same events and stream; only the reference-level die factor changed.
            assert_eq!(s1.system_latency_ps, s.system_latency_ps);
            assert_eq!(s1.process, s.process);
            let ratio = s.static_pj / s1.static_pj;
            assert!(ratio > 0.8 && ratio < 1.25, "sample {i}: {ratio}");
            differs |= ratio != 1.0;
        }
        assert!(differs, "the die factor changes the static energy");
    }
}
