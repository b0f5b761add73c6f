//! AVX-512 kernels of the int16-activation path (hosts with feature `std`, selected at run time
//! by [`super::path`]): int8 weights sign-extended to int16 (`vpmovsxbw`, 32 per load), then
//! either `vpdpwssd` (AVX-512 VNNI: multiply pairs and add into the `i32` accumulator in one
//! instruction) or `vpmaddwd` + `vpaddd` (AVX-512BW). Register-blocked over 16, 8 or 4 output
//! channels: one 32-activation load serves every row of the block. The row tail (fewer than 32
//! terms) uses masked loads, so no scalar loop remains.
//!
//! Both variants equal the portable path bit for bit: every product `w * x` (`|w| <= 128`,
//! `|x| <= 2^15`) and every pair sum is exact in `i32`, and the accumulators add with wrapping
//! `i32` arithmetic, as [`super::dot_i8_i16_scalar`] does (wrapping addition is associative and
//! commutative, so the order of the terms does not matter). `vpdpwssd` is the non-saturating
//! form (`vpdpwssds` would saturate). Bias, requantization, ReLU and int16 saturation are
//! [`super::finish_avx2`], already checked against the portable path.

use core::arch::x86_64::*;

use super::finish_avx2;

/// Lane `r` of the result is the (wrapping) sum of the eight lanes of `h[r]`.
#[target_feature(enable = "avx2")]
#[inline]
fn hsum8(h: &[__m256i; 8]) -> __m256i {
    let h01 = _mm256_hadd_epi32(h[0], h[1]);
    let h23 = _mm256_hadd_epi32(h[2], h[3]);
    let h45 = _mm256_hadd_epi32(h[4], h[5]);
    let h67 = _mm256_hadd_epi32(h[6], h[7]);
    let h0123 = _mm256_hadd_epi32(h01, h23);
    let h4567 = _mm256_hadd_epi32(h45, h67);
    _mm256_add_epi32(
        _mm256_permute2x128_si256(h0123, h4567, 0x20),
        _mm256_permute2x128_si256(h0123, h4567, 0x31),
    )
}

/// `acc + sum of pairs (a * b)` with AVX-512BW.
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
fn mac_bw(acc: __m512i, a: __m512i, b: __m512i) -> __m512i {
    _mm512_add_epi32(acc, _mm512_madd_epi16(a, b))
}

/// `acc + sum of pairs (a * b)` with AVX-512 VNNI (`vpdpwssd`, wrapping).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
fn mac_vnni(acc: __m512i, a: __m512i, b: __m512i) -> __m512i {
    _mm512_dpwssd_epi32(acc, a, b)
}

macro_rules! avx512_kernels {
    ($features:literal, $mac:ident, $linear:ident, $rows:ident, $dot_rows:ident, $dot:ident) => {
        /// A whole int16 linear layer (see [`super::linear_fixed`]): passes of 16, 8 and 4
        /// rows; fewer than four left-over rows take a four-row pass over the last four rows
        /// (the overlap is recomputed to the same values).
        ///
        /// # Safety
        /// The CPU must support the enabled features; `out.len() >= 4`,
        /// `w.len() >= out.len() * x.len()`, `bias.len() >= 4 * out.len()`,
        /// `mult.len() >= 4 * out.len()`, `shift.len() >= out.len()`.
        #[target_feature(enable = $features)]
        pub(super) unsafe fn $linear(
            w: &[u8],
            bias: &[u8],
            mult: &[u8],
            shift: &[u8],
            x: &[i16],
            out: &mut [i16],
            relu: bool,
        ) {
            let m = out.len();
            let mut o = 0;
            // SAFETY (every pass): a pass over rows `o..o + R` has `o + R <= m`, so its rows
            // and parameters are in bounds by the caller's length guarantees.
            while o + 16 <= m {
                unsafe { $rows::<16>(w, bias, mult, shift, x, out, o, relu) };
                o += 16;
            }
            if o + 8 <= m {
                unsafe { $rows::<8>(w, bias, mult, shift, x, out, o, relu) };
                o += 8;
            }
            if o + 4 <= m {
                unsafe { $rows::<4>(w, bias, mult, shift, x, out, o, relu) };
                o += 4;
            }
            if o < m {
                unsafe { $rows::<4>(w, bias, mult, shift, x, out, m - 4, relu) };
            }
        }

        /// Outputs `o..o + R` (`R` = 4, 8 or 16).
        ///
        /// # Safety
        /// The enabled features; `o + R <= out.len()`, `w.len() >= (o + R) * x.len()`,
        /// `bias.len() >= 4 * (o + R)`, `mult.len() >= 4 * (o + R)`, `shift.len() >= o + R`.
        #[target_feature(enable = $features)]
        #[inline]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $rows<const R: usize>(
            w: &[u8],
            bias: &[u8],
            mult: &[u8],
            shift: &[u8],
            x: &[i16],
            out: &mut [i16],
            o: usize,
            relu: bool,
        ) {
            // SAFETY: forwarded caller guarantees (the second half only when R == 16).
            unsafe {
                let sums = $dot_rows::<R>(w, x, o);
                if R == 4 {
                    finish_avx2::<4>(sums[0], bias, mult, shift, o, relu, out);
                } else {
                    finish_avx2::<8>(sums[0], bias, mult, shift, o, relu, out);
                    if R == 16 {
                        finish_avx2::<8>(sums[1], bias, mult, shift, o + 8, relu, out);
                    }
                }
            }
        }

        /// The dot products of rows `o..o + R` (`R` <= 16, row length `x.len()`) with `x`:
        /// row `o + r` in lane `r % 8` of result `r / 8` (other lanes are zero).
        ///
        /// # Safety
        /// The enabled features; `w.len() >= (o + R) * x.len()`.
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn $dot_rows<const R: usize>(w: &[u8], x: &[i16], o: usize) -> [__m256i; 2] {
            let n = x.len();
            let chunks = n / 32;
            let rem = n - 32 * chunks;
            // SAFETY (all loads): row `o + r` covers `w[(o+r)*n..(o+r+1)*n]`, in bounds by
            // the caller's guarantee; a 32-weight load at `(o+r)*n + 32c` and a 32-activation
            // load at `32c` need `32c + 32 <= n` (true for `c < chunks`); the tail loads are
            // masked to the `rem` elements that exist (masked-off lanes are not accessed).
            unsafe {
                let wp = w.as_ptr().add(o * n);
                let xp = x.as_ptr();
                let mut acc = [_mm512_setzero_si512(); R];
                for c in 0..chunks {
                    let xv = _mm512_loadu_si512(xp.add(32 * c).cast());
                    for (r, a) in acc.iter_mut().enumerate() {
                        let b = _mm256_loadu_si256(wp.add(r * n + 32 * c).cast());
                        *a = $mac(*a, _mm512_cvtepi8_epi16(b), xv);
                    }
                }
                if rem > 0 {
                    let k: __mmask32 = (1u32 << rem) - 1;
                    let xv = _mm512_maskz_loadu_epi16(k, xp.add(32 * chunks));
                    for (r, a) in acc.iter_mut().enumerate() {
                        let b = _mm256_maskz_loadu_epi8(k, wp.add(r * n + 32 * chunks).cast());
                        *a = $mac(*a, _mm512_cvtepi8_epi16(b), xv);
                    }
                }
                let mut h = [[_mm256_setzero_si256(); 8]; 2];
                for (r, a) in acc.iter().enumerate() {
                    h[r / 8][r % 8] = _mm256_add_epi32(
                        _mm512_castsi512_si256(*a),
                        _mm512_extracti64x4_epi64::<1>(*a),
                    );
                }
                let hi = if R > 8 {
                    hsum8(&h[1])
                } else {
                    _mm256_setzero_si256()
                };
                [hsum8(&h[0]), hi]
            }
        }

        /// `sum_k (row[k] as i8) * x[k]` over `min(row.len(), x.len())` terms.
        ///
        /// # Safety
        /// The CPU must support the enabled features.
        #[target_feature(enable = $features)]
        pub(super) unsafe fn $dot(row: &[u8], x: &[i16]) -> i32 {
            let n = row.len().min(x.len());
            let chunks = n / 32;
            let rem = n - 32 * chunks;
            // SAFETY: loads of 32 weights / activations at `32c` with `32c + 32 <= n`; the
            // tail loads are masked to the `rem` elements that exist.
            unsafe {
                let (wp, xp) = (row.as_ptr(), x.as_ptr());
                let mut acc = _mm512_setzero_si512();
                for c in 0..chunks {
                    let xv = _mm512_loadu_si512(xp.add(32 * c).cast());
                    let b = _mm256_loadu_si256(wp.add(32 * c).cast());
                    acc = $mac(acc, _mm512_cvtepi8_epi16(b), xv);
                }
                if rem > 0 {
                    let k: __mmask32 = (1u32 << rem) - 1;
                    let xv = _mm512_maskz_loadu_epi16(k, xp.add(32 * chunks));
                    let b = _mm256_maskz_loadu_epi8(k, wp.add(32 * chunks).cast());
                    acc = $mac(acc, _mm512_cvtepi8_epi16(b), xv);
                }
                _mm512_reduce_add_epi32(acc)
            }
        }
    };
}

avx512_kernels!(
    "avx512f,avx512bw,avx512vl,avx512vnni",
    mac_vnni,
    linear_i16_vnni,
    rows_vnni,
    dot_rows_vnni,
    dot_i8_i16_vnni
);
avx512_kernels!(
    "avx512f,avx512bw,avx512vl",
    mac_bw,
    linear_i16_bw,
    rows_bw,
    dot_rows_bw,
    dot_i8_i16_bw
);
