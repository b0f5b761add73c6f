//! Host side (feature `std`): error-compensating rounding of int8 weight rows (GPTQ, Frantar
//! et al. 2023), for the quantizer.
//!
//! Round-to-nearest rounds every weight of a row on its own; the errors of one output add up
//! over its inputs. GPTQ rounds the inputs of a row one at a time and moves each rounding
//! error onto the inputs not yet rounded, weighted by how the calibration inputs co-vary
//! (the Gram matrix `H = sum x x^T` of the layer's inputs), so that `w . x` keeps its value on
//! the calibration data. The result has the same format (int8 per output channel, the same
//! scale per row), only other integers. Deterministic: f64 in a fixed order, no randomness.

use std::vec;
use std::vec::Vec;

/// Relative damping added to the Gram matrix's diagonal (of its mean diagonal), as in GPTQ.
pub const DAMPING: f64 = 0.01;

/// `sum x x^T` over the inputs a linear layer saw during calibration (row-major, `d x d`).
#[derive(Debug, Clone, PartialEq)]
pub struct Gram {
    d: usize,
    sum: Vec<f64>,
    count: u64,
}

impl Gram {
    /// Empty accumulator for inputs of width `d`.
    pub fn new(d: usize) -> Self {
        Gram {
            d,
            sum: vec![0.0; d * d],
            count: 0,
        }
    }

    /// Add one input vector (extra entries beyond `d` are ignored).
    pub fn add(&mut self, x: &[f32]) {
        let d = self.d;
        for (i, &xi) in x.iter().take(d).enumerate() {
            if xi == 0.0 {
                continue;
            }
            let row = &mut self.sum[i * d..(i + 1) * d];
            for (s, &xj) in row.iter_mut().zip(x.iter().take(d)) {
                *s += xi as f64 * xj as f64;
            }
        }
        self.count += 1;
    }

    /// Inputs added.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The upper Cholesky factor `U` of `(H + damping)^-1` (`H^-1 = U^T U`), row-major; `None`
    /// when nothing was added or the factorisation fails (then round to nearest).
    fn inverse_factor(&self) -> Option<Vec<f64>> {
        let d = self.d;
        if self.count == 0 || d == 0 {
            return None;
        }
        let mut h = self.sum.clone();
        let mean_diag = (0..d).map(|i| h[i * d + i]).sum::<f64>() / d as f64;
        if !(mean_diag.is_finite() && mean_diag > 0.0) {
            return None;
        }
        for i in 0..d {
            // An input that never fired: any value of its weight is exact on the calibration
            // data; a unit diagonal keeps the factorisation defined.
            if h[i * d + i] == 0.0 {
                h[i * d + i] = mean_diag;
            }
            h[i * d + i] += DAMPING * mean_diag;
        }
        let l = cholesky_lower(&h, d)?;
        let li = invert_lower(&l, d);
        // H^-1 = L^-T L^-1.
        let mut hinv = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..=i {
                let s: f64 = (i..d).map(|k| li[k * d + i] * li[k * d + j]).sum();
                hinv[i * d + j] = s;
                hinv[j * d + i] = s;
            }
        }
        let c = cholesky_lower(&hinv, d)?;
        // U = C^T.
        let mut u = vec![0.0; d * d];
        for i in 0..d {
            for j in i..d {
                u[i * d + j] = c[j * d + i];
            }
        }
        Some(u)
    }
}

fn cholesky_lower(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s = a[i * n + j] - (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum::<f64>();
            if i == j {
                if !(s.is_finite() && s > 0.0) {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Some(l)
}

fn invert_lower(l: &[f64], n: usize) -> Vec<f64> {
    let mut inv = vec![0.0; n * n];
    for i in 0..n {
        inv[i * n + i] = 1.0 / l[i * n + i];
        for j in 0..i {
            let s: f64 = (j..i).map(|k| l[i * n + k] * inv[k * n + j]).sum();
            inv[i * n + j] = -s / l[i * n + i];
        }
    }
    inv
}

/// Round the rows of `w` (`out x d`, row-major) to int8 with the per-row scales `scale`
/// (`w ~ q * scale`, `|q| <= 127`): GPTQ with `gram`, or to nearest when `gram` is `None` or
/// cannot be factorised.
pub fn round_rows(w: &[f32], d: usize, scale: &[f64], gram: Option<&Gram>) -> Vec<i8> {
    let u = gram.filter(|g| g.d == d).and_then(Gram::inverse_factor);
    let mut out = Vec::with_capacity(w.len());
    for (row, &s) in w.chunks_exact(d.max(1)).zip(scale) {
        let q = |v: f64| (v / s).round().clamp(-127.0, 127.0);
        match &u {
            None => out.extend(row.iter().map(|&v| q(v as f64) as i8)),
            Some(u) => {
                let mut r: Vec<f64> = row.iter().map(|&v| v as f64).collect();
                for j in 0..d {
                    let qj = q(r[j]);
                    let err = (r[j] - qj * s) / u[j * d + j];
                    out.push(qj as i8);
                    for k in j + 1..d {
                        r[k] -= err * u[j * d + k];
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    fn err(w: &[f32], q: &[i8], s: &[f64], xs: &[Vec<f32>], d: usize) -> f64 {
        let mut e = 0.0;
        for x in xs {
            for (o, row) in w.chunks(d).enumerate() {
                let exact: f64 = row.iter().zip(x).map(|(&a, &b)| a as f64 * b as f64).sum();
                let got: f64 = q[o * d..(o + 1) * d]
                    .iter()
                    .zip(x)
                    .map(|(&a, &b)| a as f64 * s[o] * b as f64)
                    .sum();
                e += (exact - got).powi(2);
            }
        }
        e
    }

    /// On correlated inputs GPTQ's output error is well below round-to-nearest's, the integers
    /// stay in range, and without a Gram matrix it is round-to-nearest.
    #[test]
    fn gptq_beats_round_to_nearest_on_the_calibration_inputs() {
        let (d, out) = (24, 8);
        let mut rng = SplitMix64(5);
        let w: Vec<f32> = (0..d * out).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let s: Vec<f64> = w
            .chunks(d)
            .map(|r| r.iter().fold(0f64, |a, &v| a.max(v.abs() as f64)) / 127.0)
            .collect();
        // Inputs driven by three latent factors: strongly correlated columns.
        let xs: Vec<Vec<f32>> = (0..400)
            .map(|_| {
                let z = [
                    rng.uniform(0.0, 1.0),
                    rng.uniform(0.0, 1.0),
                    rng.uniform(0.0, 1.0),
                ];
                (0..d)
                    .map(|j| z[j % 3] * (1.0 + j as f32 / 8.0) + 0.01 * rng.uniform(-1.0, 1.0))
                    .collect()
            })
            .collect();
        let mut g = Gram::new(d);
        xs.iter().for_each(|x| g.add(x));
        let rtn = round_rows(&w, d, &s, None);
        let gptq = round_rows(&w, d, &s, Some(&g));
        assert_eq!(rtn.len(), gptq.len());
        assert!(gptq.iter().all(|&v| v != i8::MIN));
        let (e_rtn, e_gptq) = (err(&w, &rtn, &s, &xs, d), err(&w, &gptq, &s, &xs, d));
        assert!(e_gptq < 0.2 * e_rtn, "gptq {e_gptq} vs rtn {e_rtn}");
        let direct: Vec<i8> = w
            .iter()
            .enumerate()
            .map(|(i, &v)| (v as f64 / s[i / d]).round() as i8)
            .collect();
        assert_eq!(rtn, direct);
        assert_eq!(round_rows(&w, d, &s, Some(&Gram::new(d))), rtn);
    }
}
