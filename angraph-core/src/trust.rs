//! How far to trust a prediction: calibrated intervals and the training envelope.
//!
//! A blob of format version 2 may carry a [`Trust`] section, written at quantize time from
//! held-out calibration samples of the training configurations and evaluated in integer
//! arithmetic only, so a chip and a host bound and flag a prediction identically.
//!
//! - **Interval** (split conformal): on the calibration samples the score is
//!   `|log2(label / prediction)|` and the half-width `q` of an output is the
//!   `ceil((n + 1) c)`-th smallest score for coverage `c`. The interval of a prediction `y` is
//!   `[y - |y| (1 - 2^-q), y + |y| (2^q - 1)]`, which for `y > 0` is the multiplicative band
//!   `[y 2^-q, y 2^q]` (`2^x` piecewise linear, [`crate::preprocess::exp2_fixed`]).
//! - **Envelope**: every input value inside the range seen on the training data (per input
//!   feature; ANGraph-L checks every node row), and the embedding the head reads (ANGraph-L: the
//!   pooled graph vector; ANGraph-P: the last hidden vector) within a threshold of the training
//!   distribution: its mean squared z-score (`mean_i ((e_i - mu_i) / sd_i)^2`, Q16.16) at most
//!   `embed_threshold`, a high quantile of the held-out samples' distances.
//!
//! Arrays are little-endian byte slices borrowed from the blob (loading copies nothing):
//! `feature_lo` / `feature_hi` are `i32` Q16.16 features, `embed_mean` is `i32` in 1/256
//! activation units, `embed_inv_sd` is `i32` Q16.16 per activation unit.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fixed::Fixed;
use crate::preprocess::exp2_fixed;

/// Most intervals of one model: ANGraph-P's heads and their total.
pub const MAX_INTERVALS: usize = crate::config::MAX_HEADS as usize + 1;
/// Fractional bits of half-widths and distances.
pub const TRUST_FRAC_BITS: u8 = 16;
/// Fractional bits of the stored embedding means.
pub const MEAN_FRAC_BITS: u8 = 8;

/// The trust section of a blob.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Trust<'a> {
    /// Nominal coverage of the intervals, in percent (e.g. 90).
    pub coverage_pct: u8,
    /// Calibration samples the half-widths come from.
    pub calibration_samples: u32,
    /// Per output, the half-width `q` in log2 units, Q16.16 (ANGraph-L: `[latency]`;
    /// ANGraph-P: the heads in order, then the total).
    pub half_width: heapless::Vec<i32, MAX_INTERVALS>,
    /// Lowest training value of each input feature (`i32` LE, Q16.16).
    #[serde(borrow)]
    pub feature_lo: &'a [u8],
    /// Highest training value of each input feature (`i32` LE, Q16.16).
    #[serde(borrow)]
    pub feature_hi: &'a [u8],
    /// Training mean of each embedding dimension (`i32` LE, 1/256 activation units).
    #[serde(borrow)]
    pub embed_mean: &'a [u8],
    /// Inverse standard deviation of each embedding dimension (`i32` LE, Q16.16).
    #[serde(borrow)]
    pub embed_inv_sd: &'a [u8],
    /// Largest in-envelope mean squared z-score (Q16.16).
    pub embed_threshold: i64,
    /// Mondrian intervals of output 0 (ANGraph-L): per covariate bin (see [`covariate`]: the
    /// mesh's tile count), in ascending `upto`, its own half-width; a prediction uses the first
    /// bin with `covariate <= upto` (the last bin above all). Empty: `half_width[0]` for all.
    pub bins: heapless::Vec<Bin, MAX_BINS>,
}

/// Most covariate bins.
pub const MAX_BINS: usize = 8;

/// One covariate bin of Mondrian intervals.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bin {
    /// Largest covariate of the bin.
    pub upto: i32,
    /// Half-width in log2 units, Q16.16.
    pub half_width: i32,
}

/// An input value outside the training range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfRange {
    /// Node (ANGraph-L) or sample (ANGraph-P) whose row it is.
    pub row: u32,
    /// Input feature index.
    pub feature: u16,
    /// The value (Q16.16).
    pub value: i32,
    /// The training range (Q16.16).
    pub lo: i32,
    /// See `lo`.
    pub hi: i32,
}

/// The envelope verdict of one prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope {
    /// The first input value outside the training range, if any.
    pub out_of_range: Option<OutOfRange>,
    /// Mean squared z-score of the embedding (Q16.16).
    pub distance: i64,
    /// The model's threshold for `distance` (Q16.16).
    pub threshold: i64,
}

impl Envelope {
    /// Whether the input looks like the training data (no range violation, distance at most
    /// the threshold).
    pub fn inside(&self) -> bool {
        self.out_of_range.is_none() && self.distance <= self.threshold
    }
}

/// A prediction with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// Lower bound.
    pub lo: Fixed,
    /// Upper bound.
    pub hi: Fixed,
}

fn i32_at(bytes: &[u8], i: usize) -> i32 {
    let b = &bytes[4 * i..4 * i + 4];
    i32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

impl Trust<'_> {
    /// Input features covered by the ranges (both bounds present: an unvalidated section with
    /// arrays of different lengths never indexes past the shorter one).
    pub fn features(&self) -> usize {
        self.feature_lo.len().min(self.feature_hi.len()) / 4
    }

    /// Embedding dimensions (mean and spread both present).
    pub fn embed_dims(&self) -> usize {
        self.embed_mean.len().min(self.embed_inv_sd.len()) / 4
    }

    /// Check the section against the model's shapes: `features` inputs, an embedding of
    /// `embed` dimensions and `outputs` intervals.
    pub fn validate(&self, features: usize, embed: usize, outputs: usize) -> Result<()> {
        let arr = |b: &[u8], n: usize, field: &'static str| -> Result<()> {
            if b.len() != 4 * n {
                return Err(Error::Config(field));
            }
            Ok(())
        };
        arr(self.feature_lo, features, "trust.feature_lo (length)")?;
        arr(self.feature_hi, features, "trust.feature_hi (length)")?;
        arr(self.embed_mean, embed, "trust.embed_mean (length)")?;
        arr(self.embed_inv_sd, embed, "trust.embed_inv_sd (length)")?;
        if self.half_width.len() != outputs {
            return Err(Error::Config("trust.half_width (count)"));
        }
        if self
            .half_width
            .iter()
            .any(|&q| !(0..=64 << 16).contains(&q))
        {
            return Err(Error::Config("trust.half_width (range)"));
        }
        if self.coverage_pct == 0 || self.coverage_pct >= 100 {
            return Err(Error::Config("trust.coverage_pct"));
        }
        if self
            .bins
            .iter()
            .any(|b| !(0..=64 << 16).contains(&b.half_width))
            || self.bins.windows(2).any(|w| w[0].upto >= w[1].upto)
        {
            return Err(Error::Config("trust.bins"));
        }
        if self.embed_threshold < 0 {
            return Err(Error::Config("trust.embed_threshold"));
        }
        for i in 0..features {
            if i32_at(self.feature_lo, i) > i32_at(self.feature_hi, i) {
                return Err(Error::Config("trust.feature_lo above feature_hi"));
            }
        }
        for i in 0..embed {
            if i32_at(self.embed_inv_sd, i) < 0 {
                return Err(Error::Config("trust.embed_inv_sd (negative)"));
            }
        }
        Ok(())
    }

    /// Training range of input feature `i` (Q16.16); `i` must be below [`Trust::features`].
    pub fn feature_range(&self, i: usize) -> (i32, i32) {
        (i32_at(self.feature_lo, i), i32_at(self.feature_hi, i))
    }

    /// The first value of `row` (input row number `row_index`) outside its training range.
    pub fn check_row(&self, row_index: u32, row: &[i32]) -> Option<OutOfRange> {
        for (i, &v) in row.iter().enumerate().take(self.features()) {
            let (lo, hi) = self.feature_range(i);
            if v < lo || v > hi {
                return Some(OutOfRange {
                    row: row_index,
                    feature: i as u16,
                    value: v,
                    lo,
                    hi,
                });
            }
        }
        None
    }

    /// Mean squared z-score (Q16.16) of an embedding (activation units, as the model's
    /// fixed-point path produces it). Extra or missing dimensions count as zero.
    pub fn distance(&self, embedding: &[i32]) -> i64 {
        let d = self.embed_dims();
        if d == 0 {
            return 0;
        }
        let mut sum = 0i64;
        for i in 0..d {
            let e = embedding.get(i).copied().unwrap_or(0) as i64;
            let diff = (e << MEAN_FRAC_BITS) - i32_at(self.embed_mean, i) as i64;
            // z in Q8: diff (Q8) x inv_sd (Q16) >> 16.
            let z = diff.saturating_mul(i32_at(self.embed_inv_sd, i) as i64) >> 16;
            sum = sum.saturating_add(z.saturating_mul(z)); // Q16
        }
        sum / d as i64
    }

    /// The verdict for an embedding and the first range violation of the inputs.
    pub fn assess(&self, out_of_range: Option<OutOfRange>, embedding: &[i32]) -> Envelope {
        Envelope {
            out_of_range,
            distance: self.distance(embedding),
            threshold: self.embed_threshold,
        }
    }

    /// The interval of output `output` around the prediction `y` of an input with covariate
    /// `u` (`None` if the model has no such output).
    pub fn interval(&self, output: usize, y: Fixed, u: i32) -> Option<Interval> {
        let mut q = *self.half_width.get(output)?;
        if output == 0 {
            if let Some(b) = self.bins.iter().find(|b| u <= b.upto).or(self.bins.last()) {
                q = b.half_width;
            }
        }
        Some(interval(y, q))
    }
}

/// The interval covariate of an ANGraph-L input: the mesh's tile count `W x H` from the first
/// node row's features 18 and 19 (`mesh_w`, `mesh_h` in units of 8 tiles; 0 when the row is
/// shorter). Fewer tiles mean more neurons per tile, longer SRAM rows and harder latencies.
pub fn covariate(first_row: &[i32]) -> i32 {
    use crate::features::FEATURE_FRAC_BITS as F;
    match (first_row.get(18), first_row.get(19)) {
        (Some(&w), Some(&h)) => {
            let tiles = |v: i32| ((v.max(0) as i64 * 8 + (1 << (F - 1))) >> F).min(1 << 15);
            (tiles(w) * tiles(h)) as i32
        }
        _ => 0,
    }
}

/// `[y - |y| (1 - 2^-q), y + |y| (2^q - 1)]` for a half-width `q` (log2 units, Q16.16),
/// saturating at the `i32` range.
pub fn interval(y: Fixed, q: i32) -> Interval {
    let one = 1i64 << TRUST_FRAC_BITS;
    let up = exp2_fixed(q, TRUST_FRAC_BITS) - one; // 2^q - 1, Q16
    let down = one - exp2_fixed(q.saturating_neg(), TRUST_FRAC_BITS); // 1 - 2^-q, Q16
    let a = (y.raw as i64).abs();
    let sat = |v: i64| v.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    let lo = y.raw as i64 - (a.saturating_mul(down) >> TRUST_FRAC_BITS);
    let hi = (y.raw as i64)
        .saturating_add(a.saturating_mul(up).saturating_add(one - 1) >> TRUST_FRAC_BITS);
    Interval {
        lo: Fixed {
            raw: sat(lo),
            frac_bits: y.frac_bits,
        },
        hi: Fixed {
            raw: sat(hi),
            frac_bits: y.frac_bits,
        },
    }
}

/// The conformal half-width from calibration scores (log2 units): the `ceil((n + 1) c)`-th
/// smallest, in Q16.16 rounded up; `None` when there are too few scores for that coverage.
/// `scores` is sorted in place; NaN scores count as infinite.
#[cfg(feature = "std")]
pub fn conformal_half_width(scores: &mut [f64], coverage_pct: u8) -> Option<i32> {
    let n = scores.len();
    let k = ((n as f64 + 1.0) * coverage_pct as f64 / 100.0).ceil() as usize;
    if k == 0 || k > n {
        return None;
    }
    for s in scores.iter_mut() {
        if s.is_nan() {
            *s = f64::INFINITY;
        }
    }
    scores.sort_by(|a, b| a.total_cmp(b));
    let q = scores[k - 1];
    if !(q.is_finite()) || q > 64.0 {
        return None;
    }
    Some((q.max(0.0) * 65536.0).ceil() as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fx(raw: i32) -> Fixed {
        Fixed { raw, frac_bits: 10 }
    }

    #[test]
    fn interval_is_a_multiplicative_band() {
        // q = 1: [y / 2, 2 y]; q = 0: the point.
        let i = interval(fx(1000), 1 << 16);
        assert_eq!((i.lo.raw, i.hi.raw), (500, 2000));
        let i = interval(fx(1000), 0);
        assert_eq!((i.lo.raw, i.hi.raw), (1000, 1000));
        // Negative predictions widen by |y| on both sides, in order.
        let i = interval(fx(-1000), 1 << 16);
        assert_eq!((i.lo.raw, i.hi.raw), (-1500, 0));
        // q = log2(1.1) (piecewise: 0.1): about +-10 %.
        let i = interval(fx(100_000), 6554);
        assert!((109_990..=110_010).contains(&i.hi.raw), "{:?}", i);
        assert!((90_900..=95_100).contains(&i.lo.raw), "{:?}", i);
        // The covariate: tiles from mesh_w, mesh_h (8-tile units, Q16.16).
        let mut row = [0i32; 20];
        (row[18], row[19]) = (2 << 13, 3 << 13); // 2 / 8, 3 / 8
        assert_eq!(covariate(&row), 6);
        assert_eq!(covariate(&row[..10]), 0);
        // Saturation instead of overflow.
        let i = interval(fx(i32::MAX), 40 << 16);
        assert_eq!(i.hi.raw, i32::MAX);
    }

    #[test]
    fn conformal_quantile_is_the_ceil_rank() {
        let mut s: std::vec::Vec<f64> = (1..=9).map(|i| i as f64 / 10.0).collect();
        // n = 9, c = 90 %: k = ceil(10 * 0.9) = 9 -> the largest.
        assert_eq!(
            conformal_half_width(&mut s, 90),
            Some((0.9f64 * 65536.0).ceil() as i32)
        );
        let mut few = [0.1, 0.2];
        assert_eq!(conformal_half_width(&mut few, 90), None);
        let mut nan: std::vec::Vec<f64> = (0..100).map(|i| i as f64 / 100.0).collect();
        nan[0] = f64::NAN;
        assert!(conformal_half_width(&mut nan, 50).is_some());
    }

    #[test]
    fn envelope_ranges_and_distance() {
        let lo: std::vec::Vec<u8> = [0i32, -10].iter().flat_map(|v| v.to_le_bytes()).collect();
        let hi: std::vec::Vec<u8> = [5i32, 10].iter().flat_map(|v| v.to_le_bytes()).collect();
        // Two dims, mean 2.0 and 0, sd 1 and 0.5.
        let mean: std::vec::Vec<u8> = [512i32, 0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let inv: std::vec::Vec<u8> = [65536i32, 131072]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let t = Trust {
            coverage_pct: 90,
            calibration_samples: 10,
            half_width: heapless::Vec::new(),
            feature_lo: &lo,
            feature_hi: &hi,
            embed_mean: &mean,
            embed_inv_sd: &inv,
            embed_threshold: 4 << 16,
            bins: heapless::Vec::new(),
        };
        assert_eq!(t.validate(2, 2, 0), Ok(()));
        assert!(t.validate(3, 2, 0).is_err());
        assert_eq!(t.check_row(0, &[5, 10]), None);
        let o = t.check_row(7, &[3, 11]).unwrap();
        assert_eq!((o.row, o.feature, o.value, o.lo, o.hi), (7, 1, 11, -10, 10));
        // e = (2, 0): z = (0, 0); e = (4, 1): z = (2, 2) -> mean z^2 = 4.
        assert_eq!(t.distance(&[2, 0]), 0);
        assert_eq!(t.distance(&[4, 1]), 4 << 16);
        assert!(t.assess(None, &[4, 1]).inside());
        assert!(!t.assess(None, &[5, 1]).inside());
        assert!(!t.assess(Some(o), &[2, 0]).inside());
        // A section that skipped validation (arrays of unequal length) never panics.
        let short = Trust {
            feature_hi: &hi[..4],
            embed_inv_sd: &inv[..4],
            ..t.clone()
        };
        assert!(short.validate(2, 2, 0).is_err());
        assert_eq!((short.features(), short.embed_dims()), (1, 1));
        assert!(short.check_row(0, &[9, 99]).is_some());
        assert_eq!(short.distance(&[2, 9]), 0);
    }
}
