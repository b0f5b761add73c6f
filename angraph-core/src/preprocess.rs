//! Elementwise input preprocessing of ANGraph-L ([`crate::config::Preprocess`]), one definition
//! for the f32 path, the fixed-point path and the trainer.
//!
//! `Log2` maps every node feature `x` to `sign(x) * log2(1 + |x|)`, with `log2` linear between
//! powers of two (exact at them, continuous, monotone): on the chip it is a leading-zero count
//! and a shift. Counts, times and rates then enter the model on a compressed scale, so graphs
//! far busier than the training set (a smaller mesh carrying the same workload) stay within the
//! range the network has seen; 0/1 one-hot features are unchanged.
//!
//! The output maps: `Log2Exp2` ends in `2^y - 1`, `Log2Ratio` in `anchor * 2^y` (the anchor is
//! the graph's system-level estimate, node feature [`SPAN_FEATURE`], in ns), with `2^y` linear
//! between integer powers: the exact inverse of the piecewise `log2`.
//!
//! `Untimed` first sets every feature a DFG JSON stream cannot give to 0
//! ([`crate::features::DFG_ABSENT_FEATURES`], see [`zeroes_feature`]), then behaves as
//! `Log2Exp2`: the model then reads nothing a DFG stream lacks.

use crate::config::Preprocess;
use crate::features::{dfg_absent, log2_1p_q16, SPAN_FEATURE};
use crate::fixed::FEATURE_FRAC_BITS;

/// `out = pre(x)` on the f32 path (`out.len() == x.len()`).
pub fn apply_f32(pre: Preprocess, x: &[f32], out: &mut [f32]) {
    out.copy_from_slice(x);
    match pre {
        Preprocess::None => {}
        Preprocess::ScaleByFirst => {
            let f = x.first().copied().unwrap_or(0.0) * 2.0;
            for v in out.iter_mut().skip(1) {
                *v *= f;
            }
        }
        Preprocess::Log2 | Preprocess::Log2Exp2 | Preprocess::Log2Ratio | Preprocess::Untimed => {
            for (k, v) in out.iter_mut().enumerate() {
                *v = if zeroes_feature(pre, k) {
                    0.0
                } else {
                    log2_1p_signed_f32(*v)
                };
            }
        }
    }
}

/// Whether `pre` sets node feature `k` to 0 before anything else: under `Untimed`, the
/// features a DFG JSON stream cannot give ([`crate::features::DFG_ABSENT_FEATURES`]). The one
/// definition of the zeroing, for the f32 path, the fixed-point path and the trainer.
pub fn zeroes_feature(pre: Preprocess, k: usize) -> bool {
    pre == Preprocess::Untimed && dfg_absent(k)
}

/// Whether `pre` takes features on a log scale.
pub fn logs_input(pre: Preprocess) -> bool {
    match pre {
        Preprocess::None | Preprocess::ScaleByFirst => false,
        Preprocess::Log2 | Preprocess::Log2Exp2 | Preprocess::Log2Ratio | Preprocess::Untimed => {
            true
        }
    }
}

/// Whether a model with `pre` needs timed streams: its features include timing (and process)
/// features that are 0 for a TrueAsync DFG JSON stream, so a DFG stream is out of its
/// distribution (or, under `Log2Ratio`, has no estimate to correct). False only for `Untimed`.
pub fn needs_timing(pre: Preprocess) -> bool {
    match pre {
        Preprocess::None
        | Preprocess::ScaleByFirst
        | Preprocess::Log2
        | Preprocess::Log2Exp2
        | Preprocess::Log2Ratio => true,
        Preprocess::Untimed => false,
    }
}

/// ns per us: the anchor feature is in us, a `Log2Ratio` model's output in ns.
const NS_PER_US: i64 = 1000;

/// The anchor of a `Log2Ratio` output, from a node's f32 feature row: the system-level
/// estimate in ns (0 when the row is too short).
pub fn anchor_ns_f32(features: &[f32]) -> f32 {
    features
        .get(SPAN_FEATURE)
        .map_or(0.0, |&v| v * NS_PER_US as f32)
}

/// The anchor in Q16.16 us from a node's fixed-point feature row (0 when the row is too short).
pub fn anchor_q16(features: &[i32]) -> i32 {
    features.get(SPAN_FEATURE).copied().unwrap_or(0)
}

/// The model output after the head on the f32 path: `2^y - 1` under `Log2Exp2` and `Untimed`,
/// `anchor_ns * 2^y` under `Log2Ratio` (see [`anchor_ns_f32`]), else `y`.
pub fn output_f32(pre: Preprocess, y: f32, anchor_ns: f32) -> f32 {
    match pre {
        Preprocess::Log2Exp2 | Preprocess::Untimed => exp2_m1_f32(y),
        Preprocess::Log2Ratio => anchor_ns * exp2_f32(y),
        Preprocess::None | Preprocess::ScaleByFirst | Preprocess::Log2 => y,
    }
}

/// The model output after the head on the fixed-point path (`raw` with `frac_bits`, the
/// result in the same format, saturated); `anchor` is [`anchor_q16`] of the graph.
pub fn output_fixed(pre: Preprocess, raw: i32, frac_bits: u8, anchor: i32) -> i32 {
    match pre {
        Preprocess::Log2Exp2 | Preprocess::Untimed => exp2_m1_fixed(raw, frac_bits),
        Preprocess::Log2Ratio => ratio_fixed(raw, frac_bits, anchor),
        Preprocess::None | Preprocess::ScaleByFirst | Preprocess::Log2 => raw,
    }
}

/// `anchor (Q16.16 us) * 1000 * 2^y` in ns with `frac_bits` fractional bits, saturated to
/// `0..=i32::MAX` (a negative anchor counts as 0).
fn ratio_fixed(raw: i32, frac_bits: u8, anchor: i32) -> i32 {
    let p = exp2_fixed(raw, frac_bits) as i128; // 2^y with frac_bits, < 2^63
    let a = anchor.max(0) as i128 * NS_PER_US as i128; // ns, Q16.16: < 2^41
    let v = (a * p + (1 << (FEATURE_FRAC_BITS - 1))) >> FEATURE_FRAC_BITS;
    v.clamp(0, i32::MAX as i128) as i32
}

/// The training target of a `Log2Ratio` model: the piecewise `log2(label / anchor)` (the
/// inverse of [`exp2_f32`]); both must be positive (else a very negative number).
pub fn log2_ratio_f32(label: f32, anchor: f32) -> f32 {
    let r = label / anchor;
    if r.is_finite() && r > 0.0 {
        log2_pos_f32(r.max(f32::MIN_POSITIVE))
    } else {
        -126.0
    }
}

/// Piecewise `2^y` (linear between integer powers), the inverse of the piecewise `log2`.
pub fn exp2_f32(y: f32) -> f32 {
    // floor without libm: truncation toward zero, corrected for negative non-integers.
    let y = y.clamp(-126.0, 127.0);
    let mut e = y as i32;
    if (e as f32) > y {
        e -= 1;
    }
    let f = y - e as f32;
    f32::from_bits(((e + 127) as u32) << 23) * (1.0 + f)
}

/// `2^y - 1` with `2^y` linear between integer powers (the inverse of the piecewise `log2`).
pub fn exp2_m1_f32(y: f32) -> f32 {
    exp2_f32(y) - 1.0
}

/// Piecewise `2^y` in fixed point: `raw` has `frac_bits` fractional bits, so has the result
/// (an `i64`, saturated at `i64::MAX >> 1`).
pub fn exp2_fixed(raw: i32, frac_bits: u8) -> i64 {
    let fb = frac_bits.min(30) as u32;
    let one = 1i64 << fb;
    let e = (raw as i64) >> fb; // floor
    let mant = one + (raw as i64 & (one - 1)); // 1 + f, in [1, 2)
    if e >= 0 {
        if e >= 31 {
            return i64::MAX >> 1;
        }
        mant << e
    } else if e <= -63 {
        0
    } else {
        mant >> (-e)
    }
}

/// [`exp2_m1_f32`] in fixed point: `raw` and the result have `frac_bits` fractional bits;
/// the result saturates at `i32::MAX`.
pub fn exp2_m1_fixed(raw: i32, frac_bits: u8) -> i32 {
    let one = 1i64 << frac_bits.min(30);
    (exp2_fixed(raw, frac_bits) - one).clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

/// `sign(q) * log2(1 + |q| / 65536)` of a Q16.16 value, in Q16.16 (piecewise linear).
pub fn log2_1p_signed_q16(q: i32) -> i32 {
    // log2(1 + m / 2^16) = log2(2^16 + m) - 16, and log2_1p_q16(v) = log2(1 + v).
    let m = q.unsigned_abs();
    let v = m + ((1u32 << FEATURE_FRAC_BITS) - 1); // <= 2^31 + 65535: no overflow
    let mag = log2_1p_q16(v) - ((FEATURE_FRAC_BITS as i32) << FEATURE_FRAC_BITS);
    if q < 0 {
        -mag
    } else {
        mag
    }
}

/// `sign(x) * log2(1 + |x|)` with the same piecewise-linear `log2` as
/// [`log2_1p_signed_q16`] (exact exponent and mantissa bits of the f32; no libm).
pub fn log2_1p_signed_f32(x: f32) -> f32 {
    let mag = log2_pos_f32(1.0 + if x < 0.0 { -x } else { x });
    if x < 0.0 {
        -mag
    } else {
        mag
    }
}

/// Piecewise `log2` of a positive normal f32: its exponent plus its mantissa fraction.
fn log2_pos_f32(y: f32) -> f32 {
    let bits = y.to_bits();
    let exp = ((bits >> 23) & 0xff) as i32 - 127;
    let frac = (bits & 0x7f_ffff) as f32 / (1u32 << 23) as f32;
    exp as f32 + frac
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: f32 = 65536.0;

    #[test]
    fn exact_at_powers_of_two_and_linear_between() {
        for (x, want) in [
            (0.0f32, 0.0f32),
            (1.0, 1.0),
            (3.0, 2.0),
            (7.0, 3.0),
            (0.5, 0.5),
        ] {
            assert_eq!(log2_1p_signed_f32(x), want, "{x}");
            assert_eq!(log2_1p_signed_f32(-x), -want, "{x}");
            let q = (x * ONE) as i32;
            assert_eq!(log2_1p_signed_q16(q), (want * ONE) as i32, "{x}");
            assert_eq!(log2_1p_signed_q16(-q), -(want * ONE) as i32, "{x}");
        }
        // Between 2 and 4 (x in 1..3): linear, x = 2 -> log2(3) ~ 1.5 piecewise.
        assert_eq!(log2_1p_signed_f32(2.0), 1.5);
        assert_eq!(log2_1p_signed_q16(2 << 16), 3 << 15);
    }

    #[test]
    fn exp2_inverts_log2() {
        for x in [0.0f32, 0.3, 1.0, 2.0, 3.0, 7.5, 100.0, 1234.5] {
            let y = log2_1p_signed_f32(x);
            assert!((exp2_m1_f32(y) - x).abs() <= 1e-5 * (1.0 + x), "{x}");
            let q = (x * ONE) as i32;
            let l = log2_1p_signed_q16(q);
            let back = exp2_m1_fixed(l, 16);
            assert!((back - q).abs() <= 1 + q / 32768, "{x}: {back} vs {q}");
        }
        assert_eq!(exp2_m1_f32(-1.0), -0.5);
        assert_eq!(exp2_m1_fixed(-(1 << 16), 16), -(1 << 15));
        assert_eq!(exp2_m1_fixed(i32::MAX, 16), i32::MAX);
        assert_eq!(exp2_m1_fixed(i32::MIN, 16), -(1 << 16));
        assert_eq!(exp2_m1_fixed(40 << 20, 20), i32::MAX);
        for raw in (-(8 << 16)..(14 << 16)).step_by(4099) {
            let f = exp2_m1_fixed(raw, 16) as f64 / 65536.0;
            let want = exp2_m1_f32(raw as f32 / ONE) as f64;
            assert!(
                (f - want).abs() <= 1e-6 * want.abs().max(1.0) * 64.0,
                "{raw}: {f} vs {want}"
            );
        }
    }

    #[test]
    fn ratio_output_inverts_its_target_and_agrees_in_fixed_point() {
        // anchor 0.4 us = 400 ns; labels from below to far above it.
        let anchor_q = (0.4 * ONE) as i32;
        let mut row = [0.0f32; SPAN_FEATURE + 1];
        row[SPAN_FEATURE] = 0.4;
        let anchor_ns = anchor_ns_f32(&row);
        assert!((anchor_ns - 400.0).abs() < 1e-3);
        for label in [150.0f32, 400.0, 401.0, 560.0, 1999.0, 12_000.0] {
            let t = log2_ratio_f32(label, anchor_ns);
            let back = output_f32(Preprocess::Log2Ratio, t, anchor_ns);
            assert!((back - label).abs() <= 1e-4 * label, "{label}: {back}");
            let fb = 16u8;
            let raw = (t * (1 << fb) as f32).round() as i32;
            let fixed = output_fixed(Preprocess::Log2Ratio, raw, fb, anchor_q) as f64 / 65536.0;
            assert!(
                (fixed - label as f64).abs() <= 2e-4 * label as f64,
                "{label}: fixed {fixed}"
            );
        }
        // 2^1 exactly doubles; 0 anchor gives 0; saturation instead of overflow.
        assert_eq!(ratio_fixed(1 << 10, 10, 1 << 16), 2000 << 10);
        assert_eq!(output_fixed(Preprocess::Log2Ratio, 5 << 10, 10, 0), 0);
        assert_eq!(
            output_fixed(Preprocess::Log2Ratio, i32::MAX, 10, i32::MAX),
            i32::MAX
        );
        assert_eq!(output_fixed(Preprocess::Log2Ratio, i32::MIN, 30, -5), 0);
        assert_eq!(log2_ratio_f32(1.0, 0.0), -126.0);
        assert_eq!(exp2_fixed(i32::MAX, 0), i64::MAX >> 1);
    }

    #[test]
    fn untimed_zeroes_the_dfg_absent_features_then_logs_and_inverts_like_log2exp2() {
        use crate::features::{DFG_ABSENT_FEATURES, NODE_FEATURES};
        let x: [f32; NODE_FEATURES] = core::array::from_fn(|k| 1.0 + k as f32);
        let mut u = [0.0f32; NODE_FEATURES];
        let mut l = [0.0f32; NODE_FEATURES];
        apply_f32(Preprocess::Untimed, &x, &mut u);
        apply_f32(Preprocess::Log2Exp2, &x, &mut l);
        for k in 0..NODE_FEATURES {
            let absent = DFG_ABSENT_FEATURES.contains(&k);
            assert_eq!(zeroes_feature(Preprocess::Untimed, k), absent, "{k}");
            assert!(!zeroes_feature(Preprocess::Log2Exp2, k));
            assert_eq!(u[k], if absent { 0.0 } else { l[k] }, "{k}");
        }
        // Output: 2^y - 1 (f32 and fixed point), the inverse of the target log2(1 + y).
        for label in [0.0f32, 0.3, 1.0, 2.5, 17.0, 400.0] {
            let t = log2_1p_signed_f32(label);
            let back = output_f32(Preprocess::Untimed, t, 123.0);
            assert!(
                (back - label).abs() <= 1e-5 * (1.0 + label),
                "{label}: {back}"
            );
            assert_eq!(back, output_f32(Preprocess::Log2Exp2, t, 0.0));
            let raw = (t * ONE).round() as i32;
            let q = output_fixed(Preprocess::Untimed, raw, 16, 7);
            assert_eq!(q, output_fixed(Preprocess::Log2Exp2, raw, 16, 0));
            let fixed = q as f32 / ONE;
            assert!(
                (fixed - label).abs() <= 2e-4 * (1.0 + label),
                "{label}: {fixed}"
            );
        }
        assert!(logs_input(Preprocess::Untimed));
        assert!(!needs_timing(Preprocess::Untimed));
        for pre in [
            Preprocess::None,
            Preprocess::ScaleByFirst,
            Preprocess::Log2,
            Preprocess::Log2Exp2,
            Preprocess::Log2Ratio,
        ] {
            assert!(needs_timing(pre), "{pre:?}");
            assert!(
                (0..NODE_FEATURES).all(|k| !zeroes_feature(pre, k)),
                "{pre:?}"
            );
        }
    }

    #[test]
    fn fixed_matches_f32_and_is_monotone_at_the_extremes() {
        let mut prev = i32::MIN;
        let mut q = i32::MIN;
        loop {
            let f = log2_1p_signed_q16(q);
            assert!(f >= prev, "not monotone at {q}");
            prev = f;
            let want = log2_1p_signed_f32(q as f32 / ONE);
            assert!(
                (f as f32 / ONE - want).abs() <= 2.0 / ONE,
                "{q}: {f} vs {want}"
            );
            match q.checked_add(0x1_0001 + (q.unsigned_abs() / 3) as i32) {
                Some(n) => q = n,
                None => break,
            }
        }
        // log2(1 + 32767.99...) = 15.00004: 15 in the integer part, one step of fraction.
        assert_eq!(log2_1p_signed_q16(i32::MAX), (15 << 16) + 1);
    }
}
