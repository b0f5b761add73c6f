//! Host side (feature `std`): fitting a blob's [`Trust`] section and writing it into the blob.
//!
//! Two kinds of samples feed a [`TrustFit`]: *fit* samples (the training data: input ranges,
//! embedding mean and spread) and *calibration* samples (held out from training: conformal
//! scores and the embedding-distance threshold). Everything is measured on the fixed-point
//! model the blob holds, so the stored numbers describe what the chip runs.

use std::vec::Vec;

use crate::blob::{self, Body};
use crate::error::{Error, Resource, Result};
use crate::model::Model;
use crate::trust::{conformal_half_width, Bin, Trust, MAX_BINS, MAX_INTERVALS, MEAN_FRAC_BITS};

/// A [`Trust`] section with owned arrays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedTrust {
    /// See [`Trust::coverage_pct`].
    pub coverage_pct: u8,
    /// See [`Trust::calibration_samples`].
    pub calibration_samples: u32,
    /// See [`Trust::half_width`].
    pub half_width: Vec<i32>,
    /// See [`Trust::feature_lo`] (values, not bytes).
    pub feature_lo: Vec<i32>,
    /// See [`Trust::feature_hi`].
    pub feature_hi: Vec<i32>,
    /// See [`Trust::embed_mean`].
    pub embed_mean: Vec<i32>,
    /// See [`Trust::embed_inv_sd`].
    pub embed_inv_sd: Vec<i32>,
    /// See [`Trust::embed_threshold`].
    pub embed_threshold: i64,
    /// See [`Trust::bins`].
    pub bins: Vec<Bin>,
}

/// The byte arrays of an [`OwnedTrust`], to borrow a [`Trust`] from.
#[derive(Debug, Clone)]
pub struct TrustBytes {
    lo: Vec<u8>,
    hi: Vec<u8>,
    mean: Vec<u8>,
    inv_sd: Vec<u8>,
}

fn le(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

impl OwnedTrust {
    /// The arrays as little-endian bytes.
    pub fn bytes(&self) -> TrustBytes {
        TrustBytes {
            lo: le(&self.feature_lo),
            hi: le(&self.feature_hi),
            mean: le(&self.embed_mean),
            inv_sd: le(&self.embed_inv_sd),
        }
    }

    /// The borrowed section over `bytes` (from [`OwnedTrust::bytes`]).
    pub fn view<'a>(&self, bytes: &'a TrustBytes) -> Result<Trust<'a>> {
        Ok(Trust {
            coverage_pct: self.coverage_pct,
            calibration_samples: self.calibration_samples,
            half_width: heapless::Vec::from_slice(&self.half_width).map_err(|_| {
                Error::Capacity {
                    what: Resource::TrustIntervals,
                    needed: self.half_width.len(),
                    limit: MAX_INTERVALS,
                }
            })?,
            feature_lo: &bytes.lo,
            feature_hi: &bytes.hi,
            embed_mean: &bytes.mean,
            embed_inv_sd: &bytes.inv_sd,
            embed_threshold: self.embed_threshold,
            bins: heapless::Vec::from_slice(&self.bins).map_err(|_| Error::Capacity {
                what: Resource::TrustBins,
                needed: self.bins.len(),
                limit: crate::trust::MAX_BINS,
            })?,
        })
    }
}

/// Re-encode `blob` with `trust` as its trust section (replacing any); the result is checked
/// by loading it.
pub fn with_trust(blob_bytes: &[u8], trust: Option<&OwnedTrust>) -> Result<Vec<u8>> {
    let body = blob::decode(blob_bytes)?;
    let bytes = trust.map(|t| t.bytes());
    let section = match (trust, &bytes) {
        (Some(t), Some(b)) => Some(t.view(b)?),
        _ => None,
    };
    let out = blob::encode(&Body {
        trust: section,
        ..body
    })?;
    Model::from_bytes(&out)?;
    Ok(out)
}

/// Accumulates fit and calibration samples; [`TrustFit::finish`] makes the section.
#[derive(Debug, Clone)]
pub struct TrustFit {
    lo: Vec<i32>,
    hi: Vec<i32>,
    dims: usize,
    fit_embeddings: Vec<i32>,
    cal_embeddings: Vec<i32>,
    scores: Vec<Vec<f64>>,
    covariates: Vec<i32>,
    cal_samples: usize,
}

impl TrustFit {
    /// For a model with `features` inputs, an embedding of `dims` values and `outputs`
    /// intervals ([`Trust::validate`] says which).
    pub fn new(features: usize, dims: usize, outputs: usize) -> Result<TrustFit> {
        if outputs == 0 || outputs > MAX_INTERVALS {
            return Err(Error::Capacity {
                what: Resource::TrustIntervals,
                needed: outputs,
                limit: MAX_INTERVALS,
            });
        }
        Ok(TrustFit {
            lo: std::vec![i32::MAX; features],
            hi: std::vec![i32::MIN; features],
            dims,
            fit_embeddings: Vec::new(),
            cal_embeddings: Vec::new(),
            scores: std::vec![Vec::new(); outputs],
            covariates: Vec::new(),
            cal_samples: 0,
        })
    }

    /// The shapes a model's trust section must have: (features, embedding dims, outputs).
    pub fn shapes(model: &Model<'_>) -> (usize, usize, usize) {
        match model.config() {
            crate::Config::Latency(c) => (c.in_dim as usize, c.width as usize, 1),
            crate::Config::Power(c) => (
                c.in_dim as usize,
                c.head_input_width(),
                c.heads as usize + 1,
            ),
        }
    }

    /// A training input row (Q16.16): widens the ranges.
    pub fn fit_row(&mut self, row: &[i32]) -> Result<()> {
        if row.len() != self.lo.len() {
            return Err(Error::FeatureWidth {
                expected: self.lo.len() as u32,
                found: row.len().min(u32::MAX as usize) as u32,
            });
        }
        for ((l, h), &v) in self.lo.iter_mut().zip(self.hi.iter_mut()).zip(row) {
            *l = (*l).min(v);
            *h = (*h).max(v);
        }
        Ok(())
    }

    fn check_dims(&self, e: &[i32]) -> Result<()> {
        if e.len() != self.dims {
            return Err(Error::OutputLength {
                needed: self.dims,
                given: e.len(),
            });
        }
        Ok(())
    }

    /// A training sample's embedding.
    pub fn fit_embedding(&mut self, embedding: &[i32]) -> Result<()> {
        self.check_dims(embedding)?;
        self.fit_embeddings.extend_from_slice(embedding);
        Ok(())
    }

    /// A held-out sample: its embedding, its interval covariate
    /// ([`crate::trust::covariate`]; 0 for ANGraph-P), and per output the prediction and the
    /// label (same unit). A non-positive prediction or label scores as an infinite miss.
    pub fn calibrate(
        &mut self,
        embedding: &[i32],
        covariate: i32,
        predicted: &[f64],
        label: &[f64],
    ) -> Result<()> {
        self.check_dims(embedding)?;
        self.covariates.push(covariate);
        if predicted.len() != self.scores.len() || label.len() != self.scores.len() {
            return Err(Error::OutputLength {
                needed: self.scores.len(),
                given: predicted.len().min(label.len()),
            });
        }
        self.cal_embeddings.extend_from_slice(embedding);
        for ((s, &p), &y) in self.scores.iter_mut().zip(predicted).zip(label) {
            s.push(if p > 0.0 && y > 0.0 {
                log2_piecewise(y / p).abs()
            } else {
                f64::INFINITY
            });
        }
        self.cal_samples += 1;
        Ok(())
    }

    /// The section: intervals of `coverage_pct` % and an embedding threshold at the
    /// `envelope_pct` % quantile of the calibration distances (their maximum when there are too
    /// few for that quantile). Errors when there are too few samples for the interval quantile
    /// or when no training row was seen.
    pub fn finish(self, coverage_pct: u8, envelope_pct: u8) -> Result<OwnedTrust> {
        if self.lo.first().is_some_and(|&l| l == i32::MAX) {
            return Err(Error::Config("trust: no training rows"));
        }
        let d = self.dims;
        let n_fit = self.fit_embeddings.len().checked_div(d).unwrap_or(0);
        if d > 0 && n_fit < 2 {
            return Err(Error::Config("trust: fewer than 2 training embeddings"));
        }
        let (mut mean, mut inv_sd) = (Vec::with_capacity(d), Vec::with_capacity(d));
        for i in 0..d {
            let col = || {
                self.fit_embeddings
                    .iter()
                    .skip(i)
                    .step_by(d)
                    .map(|&v| v as f64)
            };
            let m = col().sum::<f64>() / n_fit as f64;
            let var = col().map(|v| (v - m) * (v - m)).sum::<f64>() / (n_fit - 1) as f64;
            // A spread below one activation unit is measurement resolution, not information.
            let sd = var.sqrt().max(1.0);
            mean.push((m * (1 << MEAN_FRAC_BITS) as f64).round() as i32);
            inv_sd.push((65536.0 / sd).round() as i32);
        }
        let few = Error::Config("trust: too few calibration samples");
        let bins = mondrian(&self.scores[0], &self.covariates, coverage_pct)?;
        let mut half_width = Vec::new();
        for s in &self.scores {
            let mut s = s.clone();
            half_width.push(conformal_half_width(&mut s, coverage_pct).ok_or(few)?);
        }
        let mut t = OwnedTrust {
            coverage_pct,
            calibration_samples: self.cal_samples as u32,
            half_width,
            feature_lo: self.lo,
            feature_hi: self.hi,
            embed_mean: mean,
            embed_inv_sd: inv_sd,
            embed_threshold: i64::MAX,
            bins,
        };
        if d > 0 {
            let bytes = t.bytes();
            let view = t.view(&bytes)?;
            let mut dist: Vec<i64> = self
                .cal_embeddings
                .chunks_exact(d)
                .map(|e| view.distance(e))
                .collect();
            dist.sort_unstable();
            let n = dist.len();
            // With fewer samples than the quantile needs, the largest held-out distance.
            let k = ((n as f64 + 1.0) * envelope_pct as f64 / 100.0).ceil() as usize;
            if n == 0 {
                return Err(Error::Config("trust: no calibration samples"));
            }
            t.embed_threshold = dist[k.clamp(1, n) - 1];
        }
        Ok(t)
    }
}

/// Fewest calibration samples of a Mondrian bin.
pub const MIN_BIN: usize = 100;

/// Mondrian bins over the covariate: consecutive covariate values grouped until each group
/// has at least [`MIN_BIN`] samples (at most [`MAX_BINS`] groups), each with its own conformal
/// half-width; a group ends halfway to the next group's smallest value, the last one at
/// `i32::MAX`. One group only: no bins (the pooled half-width serves all).
fn mondrian(scores: &[f64], u: &[i32], coverage_pct: u8) -> Result<Vec<Bin>> {
    let mut values: Vec<i32> = u.to_vec();
    values.sort_unstable();
    values.dedup();
    let count = |lo: i32, hi: i32| u.iter().filter(|&&v| lo <= v && v <= hi).count();
    let mut min_bin = MIN_BIN;
    let groups = loop {
        let mut groups: Vec<(i32, i32)> = Vec::new();
        let mut start = None;
        for &v in &values {
            let lo = *start.get_or_insert(v);
            if count(lo, v) >= min_bin {
                groups.push((lo, v));
                start = None;
            }
        }
        if let Some(lo) = start {
            match groups.last_mut() {
                Some(g) => g.1 = *values.last().unwrap_or(&lo),
                None => groups.push((lo, *values.last().unwrap_or(&lo))),
            }
        }
        if groups.len() <= MAX_BINS {
            break groups;
        }
        min_bin *= 2;
    };
    if groups.len() <= 1 {
        return Ok(Vec::new());
    }
    let mut bins = Vec::new();
    for (k, &(lo, hi)) in groups.iter().enumerate() {
        let mut s: Vec<f64> = scores
            .iter()
            .zip(u)
            .filter(|(_, &v)| lo <= v && v <= hi)
            .map(|(&s, _)| s)
            .collect();
        let q = conformal_half_width(&mut s, coverage_pct)
            .ok_or(Error::Config("trust: too few calibration samples in a bin"))?;
        let upto = match groups.get(k + 1) {
            Some(&(next, _)) => hi + (next - hi - 1) / 2,
            None => i32::MAX,
        };
        bins.push(Bin {
            upto,
            half_width: q,
        });
    }
    Ok(bins)
}

/// Piecewise `log2` (exponent plus mantissa fraction), the exact inverse of the `2^x` that
/// [`crate::trust::interval`] uses: the smallest half-width whose interval holds a label at
/// ratio `r` of the prediction is `|log2_piecewise(r)|`.
fn log2_piecewise(r: f64) -> f64 {
    let e = r.log2().floor();
    let mut m = r / e.exp2();
    let mut e = e;
    // Guard the floor against rounding at exact powers of two.
    if m >= 2.0 {
        m /= 2.0;
        e += 1.0;
    } else if m < 1.0 {
        m *= 2.0;
        e -= 1.0;
    }
    e + (m - 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed::Fixed;
    use crate::trust::interval;

    #[test]
    fn the_score_is_the_smallest_covering_half_width() {
        for &r in &[1.0, 1.07, 0.93, 2.0, 0.5, 3.3, 0.21, 1.0001] {
            let q = (log2_piecewise(r).abs() * 65536.0).ceil() as i32;
            let y = Fixed {
                raw: 1 << 20,
                frac_bits: 10,
            };
            let iv = interval(y, q);
            let label = (r * (1 << 20) as f64).round() as i32;
            assert!(
                iv.lo.raw <= label + 1 && label <= iv.hi.raw + 1,
                "r {r}: {iv:?} {label}"
            );
            // A clearly smaller half-width misses it (unless r = 1).
            if r != 1.0 {
                let iv = interval(y, (q - 300).max(0));
                assert!(label < iv.lo.raw - 1 || label > iv.hi.raw + 1, "r {r}");
            }
        }
    }

    #[test]
    fn mondrian_bins_group_covariates_and_widen_where_errors_are_large() {
        // Covariate 4: errors up to 0.5; 6: up to 0.3; 16: up to 0.1; 64: 30 samples only.
        let (mut s, mut u) = (Vec::new(), Vec::new());
        for (cov, top, n) in [(4, 0.5, 150), (6, 0.3, 120), (16, 0.1, 300), (64, 0.1, 30)] {
            for i in 0..n {
                s.push(top * i as f64 / n as f64);
                u.push(cov);
            }
        }
        let bins = mondrian(&s, &u, 90).unwrap();
        let edges: Vec<i32> = bins.iter().map(|b| b.upto).collect();
        // 64 has too few samples and joins 16; edges halfway between groups.
        assert_eq!(edges, std::vec![4, 10, i32::MAX]);
        let q: Vec<f64> = bins.iter().map(|b| b.half_width as f64 / 65536.0).collect();
        assert!(q[0] > 0.44 && q[1] > 0.26 && q[2] < 0.1, "{q:?}");
        assert!(mondrian(&s, &std::vec![7; s.len()], 90).unwrap().is_empty());
    }

    #[test]
    fn a_blob_carries_its_trust_section_and_refuses_a_mismatched_one() {
        use crate::config::{Config, LatencyConfig};
        use crate::quantize::ModelF32;
        let mut c = LatencyConfig::original();
        c.in_dim = 4;
        c.width = 8;
        c.input_proj = true;
        c.head = heapless::Vec::from_slice(&[6]).unwrap();
        let blob = ModelF32::random(Config::Latency(c), 3)
            .unwrap()
            .to_blob()
            .unwrap();
        let m = Model::from_bytes(&blob).unwrap();
        assert!(m.trust().is_none());
        let (f, d, o) = TrustFit::shapes(&m);
        assert_eq!((f, d, o), (4, 8, 1));
        let t = OwnedTrust {
            coverage_pct: 90,
            calibration_samples: 20,
            half_width: std::vec![6554],
            feature_lo: std::vec![-5; 4],
            feature_hi: std::vec![5; 4],
            embed_mean: std::vec![0; 8],
            embed_inv_sd: std::vec![65536; 8],
            embed_threshold: 3 << 16,
            bins: std::vec![
                Bin {
                    upto: 4,
                    half_width: 30000
                },
                Bin {
                    upto: i32::MAX,
                    half_width: 6554
                }
            ],
        };
        let with = with_trust(&blob, Some(&t)).unwrap();
        let m2 = Model::from_bytes(&with).unwrap();
        let b = t.bytes();
        assert_eq!(m2.trust(), Some(&t.view(&b).unwrap()));
        assert_eq!(with_trust(&with, None).unwrap(), blob);
        // Wrong shapes or unordered bins do not load.
        for bad in [
            OwnedTrust {
                feature_lo: std::vec![-5; 3],
                ..t.clone()
            },
            OwnedTrust {
                embed_mean: std::vec![0; 7],
                ..t.clone()
            },
            OwnedTrust {
                half_width: std::vec![1, 2],
                ..t.clone()
            },
            OwnedTrust {
                feature_lo: std::vec![9; 4],
                ..t.clone()
            },
            OwnedTrust {
                bins: std::vec![t.bins[1], t.bins[0]],
                ..t.clone()
            },
            OwnedTrust {
                coverage_pct: 100,
                ..t.clone()
            },
        ] {
            assert!(with_trust(&blob, Some(&bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fit_finishes_and_round_trips_through_a_view() {
        let mut f = TrustFit::new(2, 2, 1).unwrap();
        for i in 0..50 {
            f.fit_row(&[i, -i]).unwrap();
            f.fit_embedding(&[i % 7, 3]).unwrap();
            let p = 100.0 + i as f64;
            f.calibrate(&[i % 5, 3], 0, &[p], &[p * (1.0 + (i % 10) as f64 / 100.0)])
                .unwrap();
        }
        assert!(f.fit_row(&[1]).is_err());
        let t = f.finish(90, 95).unwrap();
        assert_eq!(
            (t.feature_lo.clone(), t.feature_hi.clone()),
            (std::vec![0, -49], std::vec![49, 0])
        );
        let b = t.bytes();
        let v = t.view(&b).unwrap();
        assert_eq!(v.validate(2, 2, 1), Ok(()));
        // 90 % of scores log2(1 + k / 100), k = 0..9 -> about the 9 % ratio.
        let q = v.half_width[0] as f64 / 65536.0;
        assert!((0.08..=0.095).contains(&q), "{q}");
        assert!(TrustFit::new(2, 2, 1).unwrap().finish(90, 99).is_err());
    }
}
