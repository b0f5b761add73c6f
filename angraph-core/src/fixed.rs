//! Integer arithmetic of the fixed-point path: requantization by multiplier and shift,
//! saturation, reciprocal multipliers. No floating point here.

/// Fractional bits of the fixed-point feature format (Q16.16 in an `i32`): a feature value `v`
/// is passed to the fixed-point path as `round(v * 65536)`.
pub const FEATURE_FRAC_BITS: u32 = 16;

/// Bits of the reciprocal used for mean aggregation and mean pooling.
pub const RECIP_BITS: u32 = 24;

/// Bits of the normalised edge weights used by activity-weighted mean aggregation.
pub const EDGE_WEIGHT_BITS: u32 = 15;

/// A real multiplier `m` represented as `mult * 2^-shift`, `mult` in `[2^30, 2^31)` (or 0),
/// `shift` in `1..=62`. `apply(x) = round(x * m)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Requant {
    /// Multiplier in `[2^30, 2^31)`, or 0.
    pub mult: i32,
    /// Right shift in `1..=62`.
    pub shift: u8,
}

impl Requant {
    /// `true` when `mult` and `shift` are in range (checked once when a blob is loaded, so the
    /// kernels never shift out of range).
    pub const fn is_valid(&self) -> bool {
        self.mult >= 0 && self.shift >= 1 && self.shift <= 62
    }

    /// `round(x * m)` for an `i32` accumulator (exact `i64` product).
    #[inline(always)]
    pub fn apply32(self, x: i32) -> i64 {
        let p = x as i64 * self.mult as i64;
        let s = self.shift as u32;
        (p + (1i64 << (s - 1))) >> s
    }

    /// `round(x * m)` for an `i64` accumulator (`i128` product), saturated to `i64`.
    #[inline]
    pub fn apply64(self, x: i64) -> i64 {
        let p = x as i128 * self.mult as i128;
        let s = self.shift as u32;
        let r = (p + (1i128 << (s - 1))) >> s;
        r.clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }

    /// The multiplier closest to `m` (host side; `m` must be finite and >= 0).
    /// Returns `None` when `m` cannot be represented (too large or too small).
    #[cfg(feature = "std")]
    pub fn from_f64(m: f64) -> Option<Requant> {
        if !m.is_finite() || m < 0.0 {
            return None;
        }
        if m == 0.0 {
            return Some(Requant { mult: 0, shift: 31 });
        }
        // m = frac * 2^exp with frac in [0.5, 1).
        let mut exp = m.log2().floor() as i32 + 1;
        let mut frac = m / 2f64.powi(exp);
        let mut mult = (frac * 2f64.powi(31)).round() as i64;
        if mult == 1i64 << 31 {
            mult /= 2;
            exp += 1;
            frac = mult as f64 / 2f64.powi(31);
        }
        let _ = frac;
        let shift = 31 - exp;
        if !(1..=62).contains(&shift) {
            // Too small: flush to zero; too large: not representable.
            return if shift > 62 {
                Some(Requant { mult: 0, shift: 31 })
            } else {
                None
            };
        }
        Some(Requant {
            mult: mult as i32,
            shift: shift as u8,
        })
    }

    /// The real multiplier (host side, for reports and tests).
    #[cfg(feature = "std")]
    pub fn to_f64(self) -> f64 {
        self.mult as f64 / 2f64.powi(self.shift as i32)
    }
}

/// Saturate an `i64` to the activation type's range. The two activation types (`i16`, `i8`)
/// implement it in [`crate::kernel`], next to the dot products they call.
pub trait Activation: Copy + Default + 'static {
    /// Largest value.
    const MAX: i32;
    /// Bits of the type (8 or 16).
    const BITS: u8;
    /// Saturating conversion.
    fn sat(x: i64) -> Self;
    /// Widen to `i32`.
    fn widen(self) -> i32;
    /// `sum_k (row[k] as i8) * x[k]` (implemented with the kernels, [`crate::kernel`]).
    fn dot_i8(row: &[u8], x: &[Self]) -> i32;
    /// The slice as int16 activations, if that is the type (selects the 4-row kernel).
    fn as_i16(x: &[Self]) -> Option<&[i16]> {
        let _ = x;
        None
    }
    /// The mutable slice as int16 activations, if that is the type.
    fn as_i16_mut(x: &mut [Self]) -> Option<&mut [i16]> {
        let _ = x;
        None
    }
}

/// Saturate to `i32`.
#[inline(always)]
pub fn sat_i32(x: i64) -> i32 {
    x.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

/// `round(2^RECIP_BITS / n)` for `n >= 1` (integer division, no FPU).
#[inline(always)]
pub fn recip(n: u32) -> i64 {
    let n = n.max(1) as i64;
    ((1i64 << RECIP_BITS) + n / 2) / n
}

/// `round(sum * recip >> RECIP_BITS)`: the mean of `n` values from their sum.
#[inline(always)]
pub fn mul_recip(sum: i64, recip: i64) -> i64 {
    let p = sum as i128 * recip as i128;
    ((p + (1i128 << (RECIP_BITS - 1))) >> RECIP_BITS) as i64
}

/// [`mul_recip`] for an `i32` sum (`recip <= 2^RECIP_BITS`): the product fits in `i64`, so no
/// `i128` is needed; same value.
#[inline(always)]
pub fn mul_recip_i32(sum: i32, recip: i64) -> i64 {
    (sum as i64 * recip + (1i64 << (RECIP_BITS - 1))) >> RECIP_BITS
}

/// Convert a float feature to Q16.16 (host convenience), saturating.
#[cfg(feature = "std")]
pub fn feature_to_fixed(v: f32) -> i32 {
    let s = (v as f64 * (1u64 << FEATURE_FRAC_BITS) as f64).round();
    s.clamp(i32::MIN as f64, i32::MAX as f64) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requant_roundtrip_of_multipliers() {
        for &m in &[
            1e-9, 3.3e-5, 0.001, 0.25, 0.5, 0.7, 0.999_999, 1.0, 3.0, 1234.5, 1e6,
        ] {
            let q = Requant::from_f64(m).unwrap();
            assert!(q.is_valid(), "{m}: {q:?}");
            let rel = (q.to_f64() - m).abs() / m;
            assert!(rel < 1e-8, "{m}: {}", q.to_f64());
        }
        assert!(Requant::from_f64(1e30).is_none());
        assert_eq!(Requant::from_f64(0.0).unwrap().apply32(12345), 0);
    }

    #[test]
    fn requant_rounds_to_nearest() {
        let half = Requant::from_f64(0.5).unwrap();
        assert_eq!(half.apply32(3), 2); // 1.5 -> 2 (round half up)
        assert_eq!(half.apply32(-3), -1); // -1.5 -> -1 (round half up)
        assert_eq!(half.apply32(4), 2);
        let third = Requant::from_f64(1.0 / 3.0).unwrap();
        assert_eq!(third.apply32(300), 100);
        // 31-bit multiplier: relative error below 2^-30.
        assert!((third.apply64(3_000_000_000_000) - 1_000_000_000_000).abs() < 1_000);
        assert_eq!(i16::sat(1 << 20), i16::MAX);
        assert_eq!(i8::sat(-1000), i8::MIN);
    }

    #[test]
    fn reciprocal_of_an_i32_sum_equals_the_i128_one() {
        for n in (1..70_000u32)
            .step_by(7)
            .chain([1, 2, 3, 1 << 15, u32::MAX])
        {
            let r = recip(n);
            for sum in [i32::MIN, i32::MIN + 1, -65_535, -1, 0, 1, 32_767, i32::MAX] {
                assert_eq!(
                    mul_recip_i32(sum, r),
                    mul_recip(sum as i64, r),
                    "n={n} sum={sum}"
                );
            }
        }
    }

    #[test]
    fn reciprocal_mean() {
        for n in 1..200u32 {
            for sum in [-30000i64 * n as i64, -7, 0, 5, 12345, 32767 * n as i64] {
                let m = mul_recip(sum, recip(n));
                let exact = sum as f64 / n as f64;
                assert!((m as f64 - exact).abs() <= 1.0, "n={n} sum={sum} m={m}");
            }
        }
    }
}

/// A fixed-point output: the value is `raw * 2^-frac_bits` (model units).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixed {
    /// Raw integer.
    pub raw: i32,
    /// Fractional bits.
    pub frac_bits: u8,
}

impl Fixed {
    /// Zero in format `Q.0`.
    pub const ZERO: Fixed = Fixed {
        raw: 0,
        frac_bits: 0,
    };

    /// The value as f32 (a host convenience; firmware can shift instead).
    pub fn to_f32(self) -> f32 {
        self.raw as f32 / (1u64 << self.frac_bits) as f32
    }
}
