//! `angraph latency-bound`: how well *any* ANGraph-L can predict the reference latency.
//!
//! The reference level scales every component's delay by a per-die factor and a per-component
//! factor (log-normal, sigma `EFFECTS.die_sigma` and `EFFECTS.component_sigma`), drawn per
//! sample. Neither is observable at system level, so no predictor of system-level information
//! can beat the error they leave. This report regenerates a manifest entry's samples with the
//! simulator and scores oracles that know far more than a model:
//!
//! - `no_variation`: the sample re-run at the reference level with every delay factor 1 (same
//!   events, temperature and metastability draws): the best any input-only predictor could know;
//! - `no_die`: the same with only the per-die factor at 1 (the per-component factors kept).
//!
//! Each oracle's latency is scaled by the one constant that minimises its MAPE on the training
//! split (a weighted median) and scored on the test split and on all samples: R^2, MAPE and the
//! share within +-10 % of the label, the figures `angraph eval` reports for ANGraph-L.

use super::manifest::Manifest;
use super::power_bound::{mape_scale, metrics};
use super::{Split, SPLIT_SEED};
use crate::metrics::Metrics;
use crate::sim::params::EFFECTS;
use anyhow::Result;
use rayon::prelude::*;
use serde::Serialize;

/// One oracle's scores.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyOracle {
    /// Oracle name.
    pub oracle: String,
    /// What it knows.
    pub knows: String,
    /// The MAPE-optimal constant fitted on the training split.
    pub scale: f64,
    /// Test split.
    pub test: Metrics,
    /// All samples.
    pub all: Metrics,
}

/// The report of one dataset.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyBound {
    /// Manifest entry.
    pub dataset: String,
    /// Samples.
    pub samples: usize,
    /// Sigma of the log-normal per-die factor.
    pub die_sigma: f64,
    /// Sigma of the log-normal per-component factors.
    pub component_sigma: f64,
    /// The oracles.
    pub oracles: Vec<LatencyOracle>,
}

/// Regenerate `samples` samples of the latency entry `name` and score the oracles.
pub fn latency_bound(
    manifest: &Manifest,
    name: &str,
    samples: usize,
    progress: bool,
) -> Result<LatencyBound> {
    let gen = super::power_bound::entry_generator(manifest, name, super::Kind::Latency, samples)?;
    let bar = crate::progress::progress_bar(progress, samples as u64, name);
    // Per sample: label, no-variation latency, no-die latency (ps).
    let rows: Vec<[f64; 3]> = (0..samples as u64)
        .into_par_iter()
        .map(|i| {
            let s = gen.sample(i);
            let flat = gen.sample_with(i, |c| {
                c.die = 1.0;
                c.component.iter_mut().for_each(|f| *f = 1.0);
            });
            let no_die = gen.sample_with(i, |c| c.die = 1.0);
            bar.inc(1);
            [
                s.reference_latency_ps as f64,
                flat.reference_latency_ps as f64,
                no_die.reference_latency_ps as f64,
            ]
        })
        .collect();
    bar.finish_and_clear();
    let split = Split::random(samples, SPLIT_SEED);
    let all: Vec<usize> = (0..samples).collect();
    let oracles = [
        (
            "no_variation",
            "the reference run with every delay factor 1 (die and components)",
            1usize,
        ),
        (
            "no_die",
            "the reference run with the per-die factor 1 (per-component factors known)",
            2,
        ),
    ];
    let mut out = Vec::new();
    for (oracle, knows, k) in oracles {
        let train_p: Vec<f64> = split.train.iter().map(|&i| rows[i][k]).collect();
        let train_t: Vec<f64> = split.train.iter().map(|&i| rows[i][0]).collect();
        let c = mape_scale(&train_p, &train_t);
        let p = |i: usize| c * rows[i][k] / 1000.0;
        let t = |i: usize| rows[i][0] / 1000.0;
        out.push(LatencyOracle {
            oracle: oracle.into(),
            knows: knows.into(),
            scale: c,
            test: metrics(&split.test, p, t),
            all: metrics(&all, p, t),
        });
    }
    Ok(LatencyBound {
        dataset: name.into(),
        samples,
        die_sigma: EFFECTS.die_sigma,
        component_sigma: EFFECTS.component_sigma,
        oracles: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_variation_the_oracle_is_its_own_input() {
        let m = super::super::power_bound::repo_manifest();
        let b = latency_bound(&m, "digits_2x2", 20, false).unwrap();
        assert_eq!(b.oracles.len(), 2);
        for o in &b.oracles {
            assert!(
                o.all.r2 > 0.5 && o.all.r2 <= 1.0,
                "{}: {}",
                o.oracle,
                o.all.r2
            );
            assert!(o.scale > 0.8 && o.scale < 1.25, "{}: {}", o.oracle, o.scale);
        }
        assert!(latency_bound(&m, "power_digits_2x2", 20, false).is_err());
    }
}
