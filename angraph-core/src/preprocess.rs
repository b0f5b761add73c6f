//! Elementwise input preprocessing of ANGraph-L ([`crate::config::Preprocess`]), one definition
//! for the f32 path, the fixed-point path and the trainer.
//!
//! `Log2` maps every node feature `x` to `sign(x) * log2(1 + |x|)`, with `log2` linear between
//! powers of two (exact at them, continuous, monotone): on the chip it is a leading-zero count
//! and a shift. Counts, times and rates then enter the model on a compressed scale, so graphs
//! far busier than the training set (a smaller mesh carrying the same workload) stay within the
//! range the network has seen; 0/1 one-hot features are unchanged.

use crate::config::Preprocess;
use crate::features::log2_1p_q16;
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
        Preprocess::Log2 | Preprocess::Log2Exp2 => {
            for v in out.iter_mut() {
                *v = log2_1p_signed_f32(*v);
            }
        }
    }
}

/// Whether `pre` takes features on a log scale.
pub fn logs_input(pre: Preprocess) -> bool {
    matches!(pre, Preprocess::Log2 | Preprocess::Log2Exp2)
}

/// The model output after the head on the f32 path: `2^y - 1` under `Log2Exp2`, else `y`.
pub fn output_f32(pre: Preprocess, y: f32) -> f32 {
    match pre {
        Preprocess::Log2Exp2 => exp2_m1_f32(y),
        _ => y,
    }
}

/// The model output after the head on the fixed-point path (`raw` with `frac_bits`, the
/// result in the same format, saturated).
pub fn output_fixed(pre: Preprocess, raw: i32, frac_bits: u8) -> i32 {
    match pre {
        Preprocess::Log2Exp2 => exp2_m1_fixed(raw, frac_bits),
        _ => raw,
    }
}

/// `2^y - 1` with `2^y` linear between integer powers (the inverse of the piecewise `log2`).
pub fn exp2_m1_f32(y: f32) -> f32 {
    // floor without libm: truncation toward zero, corrected for negative non-integers.
    let y = y.clamp(-126.0, 127.0);
    let mut e = y as i32;
    if (e as f32) > y {
        e -= 1;
    }
    let f = y - e as f32;
    f32::from_bits(((e + 127) as u32) << 23) * (1.0 + f) - 1.0
}

/// [`exp2_m1_f32`] in fixed point: `raw` and the result have `frac_bits` fractional bits;
/// the result saturates at `i32::MAX`.
pub fn exp2_m1_fixed(raw: i32, frac_bits: u8) -> i32 {
    let fb = frac_bits.min(30) as u32;
    let one = 1i64 << fb;
    let e = (raw as i64) >> fb; // floor
    let mant = one + (raw as i64 & (one - 1)); // 1 + f, in [1, 2)
    let v = if e >= 0 {
        if e >= 32 {
            return i32::MAX;
        }
        mant << e
    } else if e <= -63 {
        0
    } else {
        mant >> (-e)
    };
    (v - one).clamp(i32::MIN as i64, i32::MAX as i64) as i32
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
    let y = 1.0 + if x < 0.0 { -x } else { x };
    let bits = y.to_bits();
    let exp = ((bits >> 23) & 0xff) as i32 - 127;
    let frac = (bits & 0x7f_ffff) as f32 / (1u32 << 23) as f32;
    let mag = exp as f32 + frac;
    if x < 0.0 {
        -mag
    } else {
        mag
    }
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
