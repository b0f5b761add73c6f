//! The linear energy path of ANGraph-P (`train power --anchor`): dynamic energy as the
//! operation counts times per-operation energies, fitted by least squares, carried exactly
//! through the residual MLP, which then learns only what the counts leave out.
//!
//! Dynamic energy is a sum over operations of an energy per operation: hops of each component
//! class, synaptic words read, neurons fired (power input version 3, `angraph_core::power_input`).
//! A function of that form extrapolates to meshes and traffic outside the training mix, where an
//! MLP on the same inputs does not (measured in `docs/generalization.md`). The path needs no
//! new layer: unit 0 of the first stage computes `relu(sum_c a_c x_c)` (the counts are >= 0 and
//! so is the fit on real rows), every residual block adds 0 to unit 0 (its second linear's row 0
//! is held at 0), every later stage copies unit 0 (row 0 = `e_0`), and the dynamic head reads it
//! with a learned weight. [`impose`] restores those rows after every optimizer step, so the
//! saved model is an ordinary ANGraph-P: the same blob format, fixed-point path and chip code.

use anyhow::{bail, Result};
use tch::Tensor;

use super::data::{FeatureNorm, PowerSet};
use crate::nn::PowerNet;

/// Input columns of the fit: per component class (rows 0..=5 of the activity matrix) the hops
/// (column 0) and the busiest component's hops (column 2), then the load row's words read and
/// neurons fired (values 42 and 43 of power input version 3).
pub const ANCHOR_COLUMNS: [usize; 14] = [0, 6, 12, 18, 24, 30, 2, 8, 14, 20, 26, 32, 42, 43];

/// Ridge added to the normal equations, relative to their diagonal (keeps collinear counts,
/// e.g. AER and SRAM hops, solvable).
const RIDGE: f64 = 1e-9;

/// Least-squares coefficients (model units per input unit) of `head`'s target on
/// [`ANCHOR_COLUMNS`] over the training rows, each row weighted by `1 / target^2` (relative
/// error, what MAPE measures). Errors: inputs without the load row, a degenerate fit.
pub fn fit(set: &PowerSet, label_scale: f32, head: usize) -> Result<Vec<f64>> {
    if set.in_dim < angraph_core::power_input::LOAD_INPUTS {
        bail!(
            "--anchor needs power input version 3 (48 values: the load row); {} has rows of {}",
            set.name,
            set.in_dim
        );
    }
    let k = ANCHOR_COLUMNS.len();
    let (mut ata, mut atb) = (vec![0f64; k * k], vec![0f64; k]);
    for &i in &set.splits.train {
        let y = (set.labels[i][head] / label_scale) as f64;
        if y <= 0.0 {
            continue;
        }
        let row = set.row(i);
        let w = 1.0 / (y * y);
        for a in 0..k {
            let xa = row[ANCHOR_COLUMNS[a]] as f64;
            atb[a] += w * xa * y;
            for b in 0..k {
                ata[a * k + b] += w * xa * row[ANCHOR_COLUMNS[b]] as f64;
            }
        }
    }
    for a in 0..k {
        ata[a * k + a] += RIDGE * ata[a * k + a].max(1e-300);
    }
    solve(&mut ata, &mut atb, k)?;
    Ok(atb)
}

/// Solve `m x = v` in place (Gaussian elimination with partial pivoting; `v` becomes `x`).
fn solve(m: &mut [f64], v: &mut [f64], k: usize) -> Result<()> {
    for c in 0..k {
        let p = (c..k)
            .max_by(|&a, &b| m[a * k + c].abs().total_cmp(&m[b * k + c].abs()))
            .unwrap_or(c);
        if m[p * k + c].abs() < 1e-300 {
            bail!(
                "the anchor fit is degenerate (column {} never varies)",
                ANCHOR_COLUMNS[c]
            );
        }
        if p != c {
            for j in 0..k {
                m.swap(c * k + j, p * k + j);
            }
            v.swap(c, p);
        }
        for r in c + 1..k {
            let f = m[r * k + c] / m[c * k + c];
            for j in c..k {
                m[r * k + j] -= f * m[c * k + j];
            }
            v[r] -= f * v[c];
        }
    }
    for c in (0..k).rev() {
        let s: f64 = (c + 1..k).map(|j| m[c * k + j] * v[j]).sum();
        v[c] = (v[c] - s) / m[c * k + c];
    }
    Ok(())
}

/// The anchor's value (model units) on raw input rows `x` (`in_dim` values each).
pub fn value(coef: &[f64], row: &[f32]) -> f64 {
    ANCHOR_COLUMNS
        .iter()
        .zip(coef)
        .map(|(&c, &a)| a * row[c] as f64)
        .sum()
}

/// Hold the linear path in `net` (see the module documentation) for inputs standardised by
/// `norm`: unit 0 of the first stage = `sum_c coef_c x_c` of the raw input, copied unchanged
/// to the last stage, read by the dynamic head only (the static head's weight on it is held at
/// 0: static energy is not a count, and a head reading a unit of the energy's magnitude
/// destabilised the joint stage). Call after initialisation and after every optimizer step.
pub fn impose(net: &PowerNet, norm: &FeatureNorm, coef: &[f64]) -> Result<()> {
    let in_dim = norm.mean.len();
    let mut row0 = vec![0f32; in_dim];
    let mut bias0 = 0f64;
    for (&c, &a) in ANCHOR_COLUMNS.iter().zip(coef) {
        if norm.dropped.contains(&c) {
            // A column constant in training: its value is the mean, a constant.
            bias0 += a * norm.mean[c] as f64;
            continue;
        }
        row0[c] = (a * norm.std[c] as f64) as f32;
        bias0 += a * norm.mean[c] as f64;
    }
    let set_row = |lin: &tch::nn::Linear, w: &[f32], b: f64| {
        tch::no_grad(|| {
            lin.ws
                .narrow(0, 0, 1)
                .copy_(&Tensor::from_slice(w).view([1, -1]));
            if let Some(bs) = &lin.bs {
                let _ = bs.narrow(0, 0, 1).fill_(b);
            }
        });
    };
    for (s, entry) in net.entries.iter().enumerate() {
        if s == 0 {
            set_row(entry, &row0, bias0);
        } else {
            let width = entry.ws.size()[1] as usize;
            let mut e0 = vec![0f32; width];
            e0[0] = 1.0;
            set_row(entry, &e0, 0.0);
        }
        for block in &net.blocks[s] {
            let width = block.conv2.ws.size()[1] as usize;
            set_row(&block.conv2, &vec![0f32; width], 0.0);
        }
    }
    for head in net.heads.iter().skip(1) {
        tch::no_grad(|| {
            let _ = head.ws.narrow(1, 0, 1).fill_(0.0);
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solve_recovers_a_known_system() {
        // [[2, 1], [1, 3]] x = [3, 5] -> x = [0.8, 1.4].
        let (mut m, mut v) = (vec![2.0, 1.0, 1.0, 3.0], vec![3.0, 5.0]);
        solve(&mut m, &mut v, 2).unwrap();
        assert!(
            (v[0] - 0.8).abs() < 1e-12 && (v[1] - 1.4).abs() < 1e-12,
            "{v:?}"
        );
        let (mut m, mut v) = (vec![0.0; 4], vec![1.0, 1.0]);
        assert!(solve(&mut m, &mut v, 2).is_err());
    }
}
