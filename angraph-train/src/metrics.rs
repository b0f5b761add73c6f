//! Regression metrics: R^2, RMSE, MAPE, SMAPE, share within +-10 %, Kendall tau-b (computed in
//! f64).

use std::cmp::Ordering;

use serde::{Deserialize, Deserializer, Serialize};

fn nan() -> f64 {
    f64::NAN
}

/// A number, or `null` read back as NaN (JSON has no NaN; serde_json writes it as `null`).
fn nan_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Accuracy of predictions against labels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Number of samples.
    pub n: usize,
    /// Coefficient of determination `1 - SS_res / SS_tot` (can be negative).
    #[serde(deserialize_with = "nan_or_number")]
    pub r2: f64,
    /// Root mean squared error, in the label's unit.
    #[serde(deserialize_with = "nan_or_number")]
    pub rmse: f64,
    /// Mean absolute percentage error, percent (samples with a zero label are skipped).
    #[serde(deserialize_with = "nan_or_number")]
    pub mape: f64,
    /// Symmetric MAPE `mean(2|p - t| / (|p| + |t|))`, percent.
    #[serde(deserialize_with = "nan_or_number")]
    pub smape: f64,
    /// Share of samples predicted within +-10 % of their label (`|p - t| <= 0.1 |t|`), percent of
    /// all samples.
    #[serde(default = "nan", deserialize_with = "nan_or_number")]
    pub within10_percent: f64,
    /// Kendall rank correlation tau-b of predictions and labels (ties handled; NaN when fewer
    /// than two samples, when either side is constant, or with a NaN value).
    #[serde(default = "nan", deserialize_with = "nan_or_number")]
    pub kendall_tau: f64,
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
                within10_percent: f64::NAN,
                kendall_tau: f64::NAN,
            };
        }
        let mean = truth.iter().map(|&t| t as f64).sum::<f64>() / n as f64;
        let (mut ss_res, mut ss_tot, mut ape, mut n_ape, mut sape) = (0.0, 0.0, 0.0, 0usize, 0.0);
        let mut within = 0usize;
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
            if (p - t).abs() <= 0.1 * t.abs() {
                within += 1;
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
            within10_percent: 100.0 * within as f64 / n as f64,
            kendall_tau: kendall_tau_b(pred, truth),
        }
    }

    /// Field-wise arithmetic mean of `ms` (e.g. over datasets); `n` is the total sample count.
    /// All fields NaN when `ms` is empty.
    pub fn mean(ms: &[Metrics]) -> Metrics {
        let k = ms.len() as f64;
        let avg = |f: fn(&Metrics) -> f64| {
            if ms.is_empty() {
                f64::NAN
            } else {
                ms.iter().map(f).sum::<f64>() / k
            }
        };
        Metrics {
            n: ms.iter().map(|m| m.n).sum(),
            r2: avg(|m| m.r2),
            rmse: avg(|m| m.rmse),
            mape: avg(|m| m.mape),
            smape: avg(|m| m.smape),
            within10_percent: avg(|m| m.within10_percent),
            kendall_tau: avg(|m| m.kendall_tau),
        }
    }
}

/// `t (t - 1) / 2` summed over the runs of equal values of a sorted sequence (tied pairs).
fn tied_pairs(sorted: impl Iterator<Item = f64>) -> u64 {
    let (mut total, mut run, mut last) = (0u64, 0u64, None);
    for v in sorted {
        if last == Some(v) {
            run += 1;
        } else {
            total += run * run.saturating_sub(1) / 2;
            run = 1;
            last = Some(v);
        }
    }
    total + run * run.saturating_sub(1) / 2
}

/// Sort `v` (stable merge sort by `.1`), returning the number of swaps a bubble sort would
/// make, i.e. the pairs with `i < j` and `v[i].1 > v[j].1`.
fn sort_counting_inversions(v: &mut [(f64, f64)], buf: &mut Vec<(f64, f64)>) -> u64 {
    let n = v.len();
    if n < 2 {
        return 0;
    }
    let mid = n / 2;
    let mut inv =
        sort_counting_inversions(&mut v[..mid], buf) + sort_counting_inversions(&mut v[mid..], buf);
    buf.clear();
    let (mut i, mut j) = (0, mid);
    while i < mid && j < n {
        if v[j].1 < v[i].1 {
            // v[j] jumps over everything left in the left half.
            inv += (mid - i) as u64;
            buf.push(v[j]);
            j += 1;
        } else {
            buf.push(v[i]);
            i += 1;
        }
    }
    buf.extend_from_slice(&v[i..mid]);
    buf.extend_from_slice(&v[j..n]);
    v.copy_from_slice(buf);
    inv
}

/// Kendall's tau-b of `x` against `y` in O(n log n) (Knight's algorithm):
/// `(n_c - n_d) / sqrt((n_0 - n_x)(n_0 - n_y))` with `n_0 = n(n-1)/2` and `n_x`, `n_y` the pairs
/// tied in `x`, in `y`. NaN with fewer than two samples, a constant side or a NaN value.
pub fn kendall_tau_b(x: &[f32], y: &[f32]) -> f64 {
    assert_eq!(x.len(), y.len(), "kendall_tau_b: lengths differ");
    if x.iter().chain(y).any(|v| v.is_nan()) {
        return f64::NAN;
    }
    // `+ 0.0` turns -0.0 into 0.0 so that the two compare as a tie everywhere.
    let mut v: Vec<(f64, f64)> = x
        .iter()
        .zip(y)
        .map(|(&a, &b)| (a as f64 + 0.0, b as f64 + 0.0))
        .collect();
    let n = v.len() as u64;
    let n0 = n * n.saturating_sub(1) / 2;
    let cmp = |a: f64, b: f64| a.partial_cmp(&b).unwrap_or(Ordering::Equal);
    v.sort_by(|a, b| cmp(a.0, b.0).then(cmp(a.1, b.1)));
    let n_x = tied_pairs(v.iter().map(|p| p.0));
    // Pairs tied in both: runs of equal (x, y) in the lexicographic order.
    let mut n_xy = 0u64;
    let mut start = 0;
    for i in 1..=v.len() {
        if i == v.len() || v[i] != v[start] {
            let t = (i - start) as u64;
            n_xy += t * (t - 1) / 2;
            start = i;
        }
    }
    // Within a run of tied x the y are ascending, so every inversion is a discordant pair.
    let swaps = sort_counting_inversions(&mut v, &mut Vec::with_capacity(x.len()));
    let n_y = tied_pairs(v.iter().map(|p| p.1));
    let (tx, ty) = ((n0 - n_x) as f64, (n0 - n_y) as f64);
    if tx == 0.0 || ty == 0.0 {
        return f64::NAN;
    }
    // n_c + n_d = n0 - n_x - n_y + n_xy; n_d = swaps.
    let c_minus_d = n0 as f64 - n_x as f64 - n_y as f64 + n_xy as f64 - 2.0 * swaps as f64;
    c_minus_d / (tx * ty).sqrt()
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
        // Only the first prediction is within 10 %.
        assert!((m.within10_percent - 100.0 / 3.0).abs() < 1e-9);
        // Pairs (0,1), (0,2) concordant, (1,2) discordant -> tau (2 - 1) / 3.
        assert!((m.kendall_tau - 1.0 / 3.0).abs() < 1e-12);
        let perfect = Metrics::of(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]);
        assert_eq!(perfect.r2, 1.0);
        assert_eq!(perfect.rmse, 0.0);
        let v = Versus::new(perfect, m);
        assert_eq!(v.rmse_reduction, 100.0);
        assert!((v.r2_gain - 1.0).abs() < 1e-12);
    }

    #[test]
    fn within10_bounds_and_zero_labels() {
        // 10 % off exactly is inside, 10.5 % is outside; a zero label needs an exact prediction.
        let m = Metrics::of(&[110.0, 89.5, 0.0, 0.001], &[100.0, 100.0, 0.0, 0.0]);
        assert_eq!(m.within10_percent, 50.0);
        assert_eq!(Metrics::of(&[f32::NAN], &[1.0]).within10_percent, 0.0);
    }

    /// O(n^2) tau-b straight from the definition.
    fn tau_b_pairs(x: &[f32], y: &[f32]) -> f64 {
        let (mut c, mut d, mut tx, mut ty, mut n0) = (0i64, 0i64, 0i64, 0i64, 0i64);
        for i in 0..x.len() {
            for j in i + 1..x.len() {
                n0 += 1;
                let (dx, dy) = (x[i] - x[j], y[i] - y[j]);
                tx += (dx == 0.0) as i64;
                ty += (dy == 0.0) as i64;
                if dx * dy > 0.0 {
                    c += 1;
                } else if dx * dy < 0.0 {
                    d += 1;
                }
            }
        }
        (c - d) as f64 / (((n0 - tx) * (n0 - ty)) as f64).sqrt()
    }

    #[test]
    fn kendall_tau_b_hand_computed() {
        // One discordant pair of six: (5 - 1) / 6.
        let t = kendall_tau_b(&[1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 4.0]);
        assert!((t - 2.0 / 3.0).abs() < 1e-12);
        // Ties: x ties (1,2), y ties (2,3); 4 concordant, 0 discordant -> 4 / sqrt(5 * 5).
        let t = kendall_tau_b(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 3.0]);
        assert!((t - 0.8).abs() < 1e-12);
        // x ties (0,1), y ties (1,2); 3 concordant, 1 discordant -> 2 / 5.
        let t = kendall_tau_b(&[1.0, 1.0, 2.0, 3.0], &[2.0, 1.0, 1.0, 3.0]);
        assert!((t - 0.4).abs() < 1e-12);
        // A pair tied on both sides counts in n_x and n_y: pairs (0,1) tied, 5 concordant of
        // the rest -> 5 / sqrt(5 * 5).
        let t = kendall_tau_b(&[1.0, 1.0, 2.0, 3.0], &[5.0, 5.0, 6.0, 7.0]);
        assert!((t - 1.0).abs() < 1e-12);
        // Reversed order -> -1; -0.0 and 0.0 are a tie.
        assert_eq!(kendall_tau_b(&[3.0, 2.0, 1.0], &[1.0, 2.0, 3.0]), -1.0);
        let t = kendall_tau_b(&[-0.0, 0.0, 1.0], &[1.0, 2.0, 3.0]);
        assert!((t - 2.0 / 6f64.sqrt()).abs() < 1e-12);
        // Undefined cases.
        assert!(kendall_tau_b(&[1.0], &[2.0]).is_nan());
        assert!(kendall_tau_b(&[1.0, 2.0], &[3.0, 3.0]).is_nan());
        assert!(kendall_tau_b(&[1.0, f32::NAN], &[3.0, 4.0]).is_nan());
    }

    #[test]
    fn kendall_tau_b_matches_the_pairwise_definition() {
        // SplitMix64-ish values on a coarse grid, so that there are many ties on both sides.
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) % 13) as f32
        };
        for n in [2usize, 3, 7, 64, 301] {
            let x: Vec<f32> = (0..n).map(|_| next()).collect();
            let y: Vec<f32> = x.iter().map(|&v| v + next() - 6.0).collect();
            let (fast, slow) = (kendall_tau_b(&x, &y), tau_b_pairs(&x, &y));
            assert!(
                (fast - slow).abs() < 1e-12 || (fast.is_nan() && slow.is_nan()),
                "n {n}: {fast} vs {slow}"
            );
        }
    }

    #[test]
    fn mean_and_reading_older_files() {
        let a = Metrics::of(&[1.0, 3.0, 2.0], &[1.0, 2.0, 3.0]);
        let b = Metrics::of(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]);
        let m = Metrics::mean(&[a, b]);
        assert_eq!(m.n, 6);
        assert!((m.r2 - 0.5).abs() < 1e-12);
        assert!((m.within10_percent - (100.0 / 3.0 + 100.0) / 2.0).abs() < 1e-9);
        assert!((m.kendall_tau - (1.0 / 3.0 + 1.0) / 2.0).abs() < 1e-12);
        assert!(Metrics::mean(&[]).r2.is_nan());
        // Written before the new fields existed, and NaN written as null.
        let old: Metrics =
            serde_json::from_str(r#"{"n":3,"r2":0.5,"rmse":1.0,"mape":2.0,"smape":3.0}"#).unwrap();
        assert!(old.within10_percent.is_nan() && old.kendall_tau.is_nan());
        let back: Metrics =
            serde_json::from_str(&serde_json::to_string(&Metrics::of(&[1.0], &[1.0])).unwrap())
                .unwrap();
        assert!(back.kendall_tau.is_nan());
        assert_eq!(back.within10_percent, 100.0);
    }
}
