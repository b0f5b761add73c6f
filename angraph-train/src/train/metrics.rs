//! Regression metrics: R^2, RMSE, MAPE, SMAPE (computed in f64).

use serde::{Deserialize, Serialize};

/// Accuracy of predictions against labels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Number of samples.
    pub n: usize,
    /// Coefficient of determination `1 - SS_res / SS_tot` (can be negative).
    pub r2: f64,
    /// Root mean squared error, in the label's unit.
    pub rmse: f64,
    /// Mean absolute percentage error, percent (samples with a zero label are skipped).
    pub mape: f64,
    /// Symmetric MAPE `mean(2|p - t| / (|p| + |t|))`, percent.
    pub smape: f64,
}

impl Metrics {
    /// Metrics of `pred` against `truth` (same length, at least one sample).
    pub fn of(pred: &[f32], truth: &[f32]) -> Metrics {
        assert_eq!(
            pred.len(),
            truth.len(),
            "predictions and labels differ in length"
        );
        let n = truth.len();
        if n == 0 {
            return Metrics {
                n,
                r2: f64::NAN,
                rmse: f64::NAN,
                mape: f64::NAN,
                smape: f64::NAN,
            };
        }
        let mean = truth.iter().map(|&t| t as f64).sum::<f64>() / n as f64;
        let (mut ss_res, mut ss_tot, mut ape, mut n_ape, mut sape) = (0.0, 0.0, 0.0, 0usize, 0.0);
        for (&p, &t) in pred.iter().zip(truth) {
            let (p, t) = (p as f64, t as f64);
            ss_res += (p - t) * (p - t);
            ss_tot += (t - mean) * (t - mean);
            if t != 0.0 {
                ape += ((p - t) / t).abs();
                n_ape += 1;
            }
            let d = p.abs() + t.abs();
            if d > 0.0 {
                sape += 2.0 * (p - t).abs() / d;
            }
        }
        Metrics {
            n,
            r2: if ss_tot > 0.0 {
                1.0 - ss_res / ss_tot
            } else {
                f64::NAN
            },
            rmse: (ss_res / n as f64).sqrt(),
            mape: 100.0 * ape / n_ape.max(1) as f64,
            smape: 100.0 * sape / n as f64,
        }
    }
}

/// A learned model against the system-level estimate on the same samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Versus {
    /// The learned model.
    pub model: Metrics,
    /// The system-level simulator's estimate.
    pub baseline: Metrics,
    /// `model.r2 - baseline.r2`.
    pub r2_gain: f64,
    /// `1 - model.rmse / baseline.rmse`, percent.
    pub rmse_reduction: f64,
}

impl Versus {
    /// Compare.
    pub fn new(model: Metrics, baseline: Metrics) -> Versus {
        Versus {
            model,
            baseline,
            r2_gain: model.r2 - baseline.r2,
            rmse_reduction: 100.0 * (1.0 - model.rmse / baseline.rmse),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed() {
        // truth mean 2; ss_tot = 2; residuals (0, 1, -1) -> ss_res 2 -> r2 0.
        let m = Metrics::of(&[1.0, 3.0, 2.0], &[1.0, 2.0, 3.0]);
        assert!((m.r2 - 0.0).abs() < 1e-12);
        assert!((m.rmse - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        // APE: 0, 0.5, 1/3 -> mean 0.2777...
        assert!((m.mape - 100.0 * (0.5 + 1.0 / 3.0) / 3.0).abs() < 1e-9);
        // SAPE: 0, 2/5, 2/5 -> mean 4/15.
        assert!((m.smape - 100.0 * 4.0 / 15.0).abs() < 1e-9);
        let perfect = Metrics::of(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]);
        assert_eq!(perfect.r2, 1.0);
        assert_eq!(perfect.rmse, 0.0);
        let v = Versus::new(perfect, m);
        assert_eq!(v.rmse_reduction, 100.0);
        assert!((v.r2_gain - 1.0).abs() < 1e-12);
    }
}
