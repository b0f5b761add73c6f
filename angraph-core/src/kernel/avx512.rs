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
use crate::fixed::Requant;

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

/// `acc + sum of pairs (a * b)` with AVX-512 VNNI (`vpdpwssd`, wrapping; the same value as
/// `_mm512_dpwssd_epi32`). Inline assembly: for a generic x86-64 target LLVM rewrites the
/// intrinsic into `vpmaddwd` + `vpaddd` inside loops (its tuning assumes a slow
/// `vpdpwssd`), which measured no faster than the AVX-512BW kernel on this Zen 4.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
fn mac_vnni(mut acc: __m512i, a: __m512i, b: __m512i) -> __m512i {
    // SAFETY: `vpdpwssd` on registers only (AVX-512 VNNI is enabled for this function): no
    // memory, stack or flags are touched.
    unsafe {
        core::arch::asm!(
            "vpdpwssd {acc}, {a}, {b}",
            acc = inout(zmm_reg) acc,
            a = in(zmm_reg) a,
            b = in(zmm_reg) b,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    acc
}

/// Lane `r` of the result is the (wrapping) sum of the sixteen lanes of `acc[r]`: a
/// transposing tree (128-bit blocks, then 64-bit, then 32-bit pairs) and one permutation.
#[target_feature(enable = "avx512f")]
#[inline]
fn hsum16(acc: &[__m512i; 16]) -> __m512i {
    // s1[i]: row 2i in 128-bit blocks 0..2, row 2i + 1 in blocks 2..4.
    let s1: [__m512i; 8] = core::array::from_fn(|i| {
        let (a, b) = (acc[2 * i], acc[2 * i + 1]);
        _mm512_add_epi32(
            _mm512_shuffle_i64x2::<0x44>(a, b),
            _mm512_shuffle_i64x2::<0xee>(a, b),
        )
    });
    // s2[j]: row 4j + L in 128-bit block L.
    let s2: [__m512i; 4] = core::array::from_fn(|j| {
        let (c, d) = (s1[2 * j], s1[2 * j + 1]);
        _mm512_add_epi32(
            _mm512_shuffle_i64x2::<0x88>(c, d),
            _mm512_shuffle_i64x2::<0xdd>(c, d),
        )
    });
    let pair = |x: __m512i, y: __m512i| {
        _mm512_add_epi32(_mm512_unpacklo_epi32(x, y), _mm512_unpackhi_epi32(x, y))
    };
    let (t0, t1) = (pair(s2[0], s2[1]), pair(s2[2], s2[3]));
    // Element 4L + j holds row 4j + L.
    let v = _mm512_add_epi32(_mm512_unpacklo_epi64(t0, t1), _mm512_unpackhi_epi64(t0, t1));
    let idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    _mm512_permutexvar_epi32(idx, v)
}

/// [`finish_avx2`] on sixteen lanes with AVX-512F (variable arithmetic 64-bit shifts, 64-bit
/// min / max, mask blends): bias (saturating), requantization, ReLU and saturation to
/// `lo..=hi` of outputs `o..o + 16` from the dot products in `dots`, as sixteen `i32` lanes.
///
/// # Safety
/// `bias.len() >= 4 * (o + 16)`, `mult.len() >= 4 * (o + 16)`, `shift.len() >= o + 16`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
#[inline]
unsafe fn requant16(
    dots: __m512i,
    bias: &[u8],
    mult: &[u8],
    shift: &[u8],
    o: usize,
    lo: i64,
    hi: i64,
) -> __m512i {
    // SAFETY: loads of 64 bytes at `4o` of `bias` and `mult`, 16 bytes at `o` of `shift`: in
    // bounds by the caller's guarantee.
    unsafe {
        let b = _mm512_loadu_si512(bias.as_ptr().add(4 * o).cast());
        let mv = _mm512_loadu_si512(mult.as_ptr().add(4 * o).cast());
        let sh = _mm512_cvtepu8_epi32(_mm_loadu_si128(shift.as_ptr().add(o).cast()));
        requant_lanes(dots, b, mv, sh, lo, hi)
    }
}

/// The arithmetic of [`requant16`] with the bias, multiplier and shift of each lane given as
/// `i32` lanes (a lane's own channel, or one channel broadcast to every lane).
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
#[inline]
fn requant_lanes(dots: __m512i, b: __m512i, mv: __m512i, sh: __m512i, lo: i64, hi: i64) -> __m512i {
    // acc = sat_i32(dot + bias): on signed overflow the result is i32::MAX or i32::MIN by
    // the sign of the bias.
    let s = _mm512_add_epi32(dots, b);
    let both = _mm512_and_si512(_mm512_xor_si512(s, dots), _mm512_xor_si512(s, b));
    let ovf = _mm512_cmplt_epi32_mask(both, _mm512_setzero_si512());
    let sat = _mm512_xor_si512(_mm512_srai_epi32::<31>(b), _mm512_set1_epi32(i32::MAX));
    let acc = _mm512_mask_blend_epi32(ovf, s, sat);
    let one = _mm512_set1_epi64(1);
    let (lo, hi) = (_mm512_set1_epi64(lo), _mm512_set1_epi64(hi));
    // Requant::apply32 on eight i64 lanes: (a * m + 2^(s-1)) >> s, then the clamp.
    let apply = |a: __m512i, m: __m512i, s: __m512i| -> __m512i {
        let p = _mm512_add_epi64(
            _mm512_mul_epi32(a, m),
            _mm512_sllv_epi64(one, _mm512_sub_epi64(s, one)),
        );
        _mm512_min_epi64(_mm512_max_epi64(_mm512_srav_epi64(p, s), lo), hi)
    };
    let lo32 = _mm512_set1_epi64(0xffff_ffff);
    let even = apply(acc, mv, _mm512_and_si512(sh, lo32));
    let odd = apply(
        _mm512_srli_epi64::<32>(acc),
        _mm512_srli_epi64::<32>(mv),
        _mm512_srli_epi64::<32>(sh),
    );
    _mm512_mask_blend_epi32(0xaaaa, even, _mm512_slli_epi64::<32>(odd))
}

/// The second layer of an ANGraph-P residual block on sixteen lanes:
/// `clamp(requant64(dot + bias) + skip(x), 0, hi)` with `requant64` = [`Requant::apply64`] of
/// the unsaturated `i64` accumulator and `skip` = [`Requant::apply32`] of the block input `xs`
/// (`i32` lanes holding activations), as the portable [`super::linear_residual_portable`].
///
/// Exact in `i64`: `(dot + bias) * m = dot * m + bias * m` with both products below `2^62`
/// in magnitude, so the sum fits; the rounding `(p + 2^(s-1)) >> s` is computed as
/// `((p >> 1) + 2^(s-2)) >> (s-1)` (equal for `s >= 2`, and free of overflow) or, for `s = 1`,
/// `(p >> 1) + (p & 1)`. `|requant64| < 2^62` and `|skip| < 2^46`, so the sum neither
/// saturates nor needs the `i64` clamp of `apply64`.
///
/// [`Requant::apply64`]: crate::fixed::Requant::apply64
/// [`Requant::apply32`]: crate::fixed::Requant::apply32
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
#[inline]
#[allow(clippy::too_many_arguments)]
fn residual_lanes(
    dots: __m512i,
    b: __m512i,
    mv: __m512i,
    sh: __m512i,
    xs: __m512i,
    skip_mult: __m512i,
    skip_shift: __m512i,
    hi: i64,
) -> __m512i {
    let one = _mm512_set1_epi64(1);
    let two = _mm512_set1_epi64(2);
    let zero = _mm512_setzero_si512();
    let hi = _mm512_set1_epi64(hi);
    let skip_round = _mm512_sllv_epi64(one, _mm512_sub_epi64(skip_shift, one));
    let lane = |d: __m512i, b: __m512i, m: __m512i, s: __m512i, x: __m512i| -> __m512i {
        let p = _mm512_add_epi64(_mm512_mul_epi32(d, m), _mm512_mul_epi32(b, m));
        // 2^(s-2), which is 0 for s = 1 (shift count 2^64 - 1); p & 1 for s = 1 only.
        let t = _mm512_add_epi64(
            _mm512_sllv_epi64(one, _mm512_sub_epi64(s, two)),
            _mm512_and_si512(p, _mm512_srlv_epi64(one, _mm512_sub_epi64(s, one))),
        );
        let y = _mm512_srav_epi64(
            _mm512_add_epi64(_mm512_srai_epi64::<1>(p), t),
            _mm512_sub_epi64(s, one),
        );
        let x = _mm512_srav_epi64(
            _mm512_add_epi64(_mm512_mul_epi32(x, skip_mult), skip_round),
            skip_shift,
        );
        _mm512_min_epi64(_mm512_max_epi64(_mm512_add_epi64(y, x), zero), hi)
    };
    let lo32 = _mm512_set1_epi64(0xffff_ffff);
    let even = lane(dots, b, mv, _mm512_and_si512(sh, lo32), xs);
    let odd = lane(
        _mm512_srli_epi64::<32>(dots),
        _mm512_srli_epi64::<32>(b),
        _mm512_srli_epi64::<32>(mv),
        _mm512_srli_epi64::<32>(sh),
        _mm512_srli_epi64::<32>(xs),
    );
    _mm512_mask_blend_epi32(0xaaaa, even, _mm512_slli_epi64::<32>(odd))
}

/// [`requant16`] to int16, stored at `out[o..o + 16]`.
///
/// # Safety
/// As [`requant16`], and `o + 16 <= out.len()`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
#[inline]
unsafe fn finish16(
    dots: __m512i,
    bias: &[u8],
    mult: &[u8],
    shift: &[u8],
    o: usize,
    relu: bool,
    out: &mut [i16],
) {
    let lo = if relu { 0 } else { i16::MIN as i64 };
    // SAFETY: the caller's guarantees; the store covers `out[o..o + 16]`. The values are in
    // range already: the truncating narrowing is exact.
    unsafe {
        let r = requant16(dots, bias, mult, shift, o, lo, i16::MAX as i64);
        _mm256_storeu_si256(out.as_mut_ptr().add(o).cast(), _mm512_cvtepi32_epi16(r));
    }
}

/// [`requant16`] to int8, stored at `out[o..o + 16]`.
///
/// # Safety
/// As [`requant16`], and `o + 16 <= out.len()`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
#[inline]
unsafe fn finish16_i8(
    dots: __m512i,
    bias: &[u8],
    mult: &[u8],
    shift: &[u8],
    o: usize,
    relu: bool,
    out: &mut [i8],
) {
    let lo = if relu { 0 } else { i8::MIN as i64 };
    // SAFETY: as in `finish16`.
    unsafe {
        let r = requant16(dots, bias, mult, shift, o, lo, i8::MAX as i64);
        _mm_storeu_si128(out.as_mut_ptr().add(o).cast(), _mm512_cvtepi32_epi8(r));
    }
}

/// `acc + sum of 4 products (a as u8) * (b as i8)` per lane (`vpdpbusd`, wrapping), inline
/// assembly for the reason given at [`mac_vnni`].
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
fn mac_u8i8(mut acc: __m512i, a: __m512i, b: __m512i) -> __m512i {
    // SAFETY: `vpdpbusd` on registers only: no memory, stack or flags are touched.
    unsafe {
        core::arch::asm!(
            "vpdpbusd {acc}, {a}, {b}",
            acc = inout(zmm_reg) acc,
            a = in(zmm_reg) a,
            b = in(zmm_reg) b,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    acc
}

/// The dot products of rows `o..o + 16` (row length `x.len()`) with int8 activations, as
/// sixteen lanes: `vpdpbusd` of the weights offset to unsigned (`w ^ 0x80 = w + 128`) against
/// the signed activations, 64 terms per instruction, minus `128 * sum_k x[k]` (wrapping `i32`
/// throughout, so equal to the plain sum).
///
/// # Safety
/// `w.len() >= (o + 16) * x.len()`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
unsafe fn dot16_i8(w: &[u8], x: &[i8], o: usize, x_sum: i32) -> __m512i {
    let n = x.len();
    let chunks = n / 64;
    let rem = n - 64 * chunks;
    let flip = _mm512_set1_epi8(-128);
    // SAFETY (all loads): row `o + r` covers `w[(o+r)*n..(o+r+1)*n]`, in bounds by the
    // caller's guarantee; 64-byte loads at `64c` need `64c + 64 <= n` (`c < chunks`); the tail
    // loads are masked to the `rem` bytes that exist. Masked-off activations load as 0, so the
    // masked-off weights (0 ^ 0x80 = 128) add nothing.
    unsafe {
        let wp = w.as_ptr().add(o * n);
        let xp = x.as_ptr();
        let mut acc = [_mm512_setzero_si512(); 16];
        for c in 0..chunks {
            let xv = _mm512_loadu_si512(xp.add(64 * c).cast());
            for (r, a) in acc.iter_mut().enumerate() {
                let b = _mm512_loadu_si512(wp.add(r * n + 64 * c).cast());
                *a = mac_u8i8(*a, _mm512_xor_si512(b, flip), xv);
            }
        }
        if rem > 0 {
            let k: __mmask64 = (1u64 << rem) - 1;
            let xv = _mm512_maskz_loadu_epi8(k, xp.add(64 * chunks));
            for (r, a) in acc.iter_mut().enumerate() {
                let b = _mm512_maskz_loadu_epi8(k, wp.add(r * n + 64 * chunks).cast());
                *a = mac_u8i8(*a, _mm512_xor_si512(b, flip), xv);
            }
        }
        _mm512_sub_epi32(hsum16(&acc), _mm512_set1_epi32(x_sum.wrapping_mul(128)))
    }
}

/// A whole int8-activation linear layer with AVX-512 VNNI: passes of 16 rows, the last one
/// over the last sixteen rows (the overlap is recomputed to the same values).
///
/// # Safety
/// AVX-512F/BW/VL/VNNI; `out.len() >= 16`, `w.len() >= out.len() * x.len()`,
/// `bias.len() >= 4 * out.len()`, `mult.len() >= 4 * out.len()`, `shift.len() >= out.len()`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) unsafe fn linear_i8_vnni(
    w: &[u8],
    bias: &[u8],
    mult: &[u8],
    shift: &[u8],
    x: &[i8],
    out: &mut [i8],
    relu: bool,
) {
    let m = out.len();
    let x_sum = x.iter().fold(0i32, |s, &v| s.wrapping_add(v as i32));
    let mut o = 0;
    // SAFETY (every pass): rows `o..o + 16` with `o + 16 <= m`: in bounds by the caller's
    // guarantees.
    while o + 16 <= m {
        unsafe { finish16_i8(dot16_i8(w, x, o, x_sum), bias, mult, shift, o, relu, out) };
        o += 16;
    }
    if o < m {
        let o = m - 16;
        unsafe { finish16_i8(dot16_i8(w, x, o, x_sum), bias, mult, shift, o, relu, out) };
    }
}

/// The second layer of an ANGraph-P residual block with int8 activations and AVX-512 VNNI:
/// passes of 16 rows ([`dot16_i8`], [`residual_lanes`]), the last one over the last sixteen
/// rows (the overlap is recomputed to the same values; `out` is neither input).
///
/// # Safety
/// AVX-512F/BW/VL/VNNI; `out.len() >= 16`, `skip_x.len() >= out.len()`,
/// `w.len() >= out.len() * x.len()`, `bias.len() >= 4 * out.len()`,
/// `mult.len() >= 4 * out.len()`, `shift.len() >= out.len()`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn residual_i8_vnni(
    w: &[u8],
    bias: &[u8],
    mult: &[u8],
    shift: &[u8],
    x: &[i8],
    skip_x: &[i8],
    skip: Requant,
    out: &mut [i8],
) {
    let m = out.len();
    let x_sum = x.iter().fold(0i32, |s, &v| s.wrapping_add(v as i32));
    let (skm, sks) = skip_vectors(skip);
    let pass = |o: usize, out: &mut [i8]| {
        // SAFETY: rows and parameters `o..o + 16` with `o + 16 <= m`: in bounds by the
        // caller's guarantees (16-byte loads of `skip_x` and `shift`, a 16-byte store).
        unsafe {
            let dots = dot16_i8(w, x, o, x_sum);
            let (b, mv, sh) = params16(bias, mult, shift, o);
            let xs = _mm512_cvtepi8_epi32(_mm_loadu_si128(skip_x.as_ptr().add(o).cast()));
            let r = residual_lanes(dots, b, mv, sh, xs, skm, sks, i8::MAX as i64);
            _mm_storeu_si128(out.as_mut_ptr().add(o).cast(), _mm512_cvtepi32_epi8(r));
        }
    };
    let mut o = 0;
    while o + 16 <= m {
        pass(o, out);
        o += 16;
    }
    if o < m {
        pass(m - 16, out);
    }
}

/// Bias, multiplier and shift of channels `o..o + 16` as `i32` lanes.
///
/// # Safety
/// `bias.len() >= 4 * (o + 16)`, `mult.len() >= 4 * (o + 16)`, `shift.len() >= o + 16`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
#[inline]
unsafe fn params16(
    bias: &[u8],
    mult: &[u8],
    shift: &[u8],
    o: usize,
) -> (__m512i, __m512i, __m512i) {
    // SAFETY: the caller's guarantee.
    unsafe {
        (
            _mm512_loadu_si512(bias.as_ptr().add(4 * o).cast()),
            _mm512_loadu_si512(mult.as_ptr().add(4 * o).cast()),
            _mm512_cvtepu8_epi32(_mm_loadu_si128(shift.as_ptr().add(o).cast())),
        )
    }
}

/// The skip requantization's multiplier and shift as `i64` lanes.
#[target_feature(enable = "avx512f")]
#[inline]
fn skip_vectors(skip: Requant) -> (__m512i, __m512i) {
    (
        _mm512_set1_epi64(skip.mult as i64),
        _mm512_set1_epi64(skip.shift as i64),
    )
}

/// What a block layer does after the dot products (see [`super::linear_block_with`]).
#[derive(Clone, Copy)]
pub(super) enum BlockFinish<'s> {
    /// Bias (saturating), requantization, clamp to `lo..=hi`.
    Plain { lo: i64, hi: i64 },
    /// [`residual_lanes`] with the block input `skip_x` (same layout as the output) and the
    /// clamp `0..=hi`.
    Residual {
        skip_x: &'s [i16],
        skip: Requant,
        hi: i64,
    },
}

/// Weight pairs of the widest layer input (`MAX_LINEAR_IN / 2`).
const WB: usize = crate::config::MAX_LINEAR_IN as usize / 2;

/// Rows `o..o + R` of an int8 weight matrix (row length `n <= 2 * WB`) sign-extended to
/// int16 pairs, one `i32` per pair `(w[2j], w[2j + 1])` (the odd tail pairs with 0): what one
/// broadcast per pair feeds to `vpdpwssd` / `vpmaddwd` against the samples' pairs.
///
/// # Safety
/// `w.len() >= (o + R) * n`, `n <= 2 * WB`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
#[inline]
unsafe fn widen_rows<const R: usize>(
    w: &[u8],
    n: usize,
    o: usize,
    wb: &mut core::mem::MaybeUninit<[[i32; WB]; R]>,
) -> *const i32 {
    // Not zeroed first (4 KB per group of four rows): only pairs `< n.div_ceil(2)` are read,
    // and all of them are written here.
    let base = wb.as_mut_ptr().cast::<i32>();
    // SAFETY: masked loads read only `w[(o+r)*n + 32c..]` up to the row's end; the stores
    // write 16 pairs at `16c < n.div_ceil(2) <= WB`, `16c + 16 <= WB` (WB is a multiple of 16)
    // of row `r < R`. The unwritten pairs (beyond the row length) are never read: the
    // result is a raw pointer to the pairs of row 0 (row `r` at `r * WB`).
    unsafe {
        for r in 0..R {
            let src = w.as_ptr().add((o + r) * n);
            let dst = base.add(r * WB);
            for c in 0..n.div_ceil(32) {
                let rem = n - 32 * c;
                let k: __mmask32 = if rem >= 32 { !0 } else { (1u32 << rem) - 1 };
                let v = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(k, src.add(32 * c).cast()));
                _mm512_storeu_si512(dst.add(16 * c).cast(), v);
            }
        }
    }
    base
}

/// Finish the dot products `acc[r][v]` (row `o + r`, samples `16 (s0 + v)..` of the block)
/// and store them as pairs in the block layout of `out` (an odd last row pairs with 0).
///
/// # Safety
/// `o` even; rows `o..o + R` exist in the parameter tensors; `out` (and a residual `skip_x`)
/// hold `(o + R).div_ceil(2)` pairs of `lanes` samples, `16 (s0 + SV) <= lanes`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
#[inline]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
unsafe fn finish_block<const R: usize, const SV: usize>(
    acc: &[[__m512i; SV]; R],
    bias: &[u8],
    mult: &[u8],
    shift: &[u8],
    o: usize,
    s0: usize,
    lanes: usize,
    fin: BlockFinish<'_>,
    out: &mut [i16],
) {
    let at = |pair: usize, v: usize| 2 * (pair * lanes + 16 * (s0 + v));
    for p in 0..R.div_ceil(2) {
        let rows = (R - 2 * p).min(2);
        let q: [RowQuant; 2] =
            core::array::from_fn(|h| RowQuant::new(bias, mult, shift, o + 2 * p + h.min(rows - 1)));
        for v in 0..SV {
            let mut vals = [_mm512_setzero_si512(); 2];
            for (h, val) in vals.iter_mut().enumerate().take(rows) {
                let d = acc[2 * p + h][v];
                *val = match fin {
                    BlockFinish::Plain { lo, hi } => q[h].plain(d, lo, hi),
                    BlockFinish::Residual { skip_x, skip, hi } => {
                        // SAFETY: `skip_x` holds this pair (caller's guarantee).
                        let xv = unsafe {
                            _mm512_loadu_si512(skip_x.as_ptr().add(at(o / 2 + p, v)).cast())
                        };
                        let xs = if h == 0 {
                            _mm512_srai_epi32::<16>(_mm512_slli_epi32::<16>(xv))
                        } else {
                            _mm512_srai_epi32::<16>(xv)
                        };
                        q[h].residual(d, xs, skip, hi)
                    }
                };
            }
            let packed = _mm512_or_si512(
                _mm512_and_si512(vals[0], _mm512_set1_epi32(0xffff)),
                _mm512_slli_epi32::<16>(vals[1]),
            );
            // SAFETY: the pair exists in `out` (caller's guarantee).
            unsafe { _mm512_storeu_si512(out.as_mut_ptr().add(at(o / 2 + p, v)).cast(), packed) };
        }
    }
}

/// One output channel's bias and requantization, prepared once for every sample vector of a
/// block: [`requant_lanes`] and [`residual_lanes`] with the per-channel terms precomputed
/// (same integers).
#[derive(Clone, Copy)]
struct RowQuant {
    bias: i32,
    mult: i64,
    shift: u8,
}

impl RowQuant {
    fn new(bias: &[u8], mult: &[u8], shift: &[u8], c: usize) -> RowQuant {
        let le =
            |t: &[u8]| i32::from_le_bytes([t[4 * c], t[4 * c + 1], t[4 * c + 2], t[4 * c + 3]]);
        RowQuant {
            bias: le(bias),
            mult: le(mult) as i64,
            shift: shift[c],
        }
    }

    /// `clamp(requant(sat_i32(dots + bias)), lo, hi)` on 16 lanes. The saturating add is
    /// `min(max(d, MIN - min(b, 0)), MAX - max(b, 0)) + b` (no overflow, the same value).
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    #[inline]
    fn plain(self, d: __m512i, lo: i64, hi: i64) -> __m512i {
        let b = self.bias;
        let acc = _mm512_add_epi32(
            _mm512_min_epi32(
                _mm512_max_epi32(d, _mm512_set1_epi32(i32::MIN - b.min(0))),
                _mm512_set1_epi32(i32::MAX - b.max(0)),
            ),
            _mm512_set1_epi32(b),
        );
        let s = self.shift as i64;
        let (m, round, sh) = (
            _mm512_set1_epi64(self.mult),
            _mm512_set1_epi64(1i64 << (s - 1)),
            _mm512_set1_epi64(s),
        );
        let (lo, hi) = (_mm512_set1_epi64(lo), _mm512_set1_epi64(hi));
        let apply = |a: __m512i| {
            let p = _mm512_add_epi64(_mm512_mul_epi32(a, m), round);
            _mm512_min_epi64(_mm512_max_epi64(_mm512_srav_epi64(p, sh), lo), hi)
        };
        let even = apply(acc);
        let odd = apply(_mm512_srli_epi64::<32>(acc));
        _mm512_mask_blend_epi32(0xaaaa, even, _mm512_slli_epi64::<32>(odd))
    }

    /// [`residual_lanes`] on 16 lanes with this channel's terms: `bias * mult` and the
    /// rounding term computed once.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    #[inline]
    fn residual(self, d: __m512i, xs: __m512i, skip: Requant, hi: i64) -> __m512i {
        let s = self.shift as i64;
        let m = _mm512_set1_epi64(self.mult);
        let pb = _mm512_set1_epi64(self.bias as i64 * self.mult);
        // ((p >> 1) + c + (p & 1 if s = 1)) >> (s - 1), c = 2^(s-2) (0 for s = 1).
        let c = _mm512_set1_epi64(if s >= 2 { 1i64 << (s - 2) } else { 0 });
        let odd_bit = _mm512_set1_epi64((s == 1) as i64);
        let sh = _mm512_set1_epi64(s - 1);
        let (skm, sks) = skip_vectors(skip);
        let skr = _mm512_set1_epi64(1i64 << (skip.shift - 1));
        let (zero, hi) = (_mm512_setzero_si512(), _mm512_set1_epi64(hi));
        let lane = |d: __m512i, x: __m512i| {
            let p = _mm512_add_epi64(_mm512_mul_epi32(d, m), pb);
            let t = _mm512_add_epi64(c, _mm512_and_si512(p, odd_bit));
            let y = _mm512_srav_epi64(_mm512_add_epi64(_mm512_srai_epi64::<1>(p), t), sh);
            let x = _mm512_srav_epi64(_mm512_add_epi64(_mm512_mul_epi32(x, skm), skr), sks);
            _mm512_min_epi64(_mm512_max_epi64(_mm512_add_epi64(y, x), zero), hi)
        };
        let even = lane(d, xs);
        let odd = lane(_mm512_srli_epi64::<32>(d), _mm512_srli_epi64::<32>(xs));
        _mm512_mask_blend_epi32(0xaaaa, even, _mm512_slli_epi64::<32>(odd))
    }
}

/// `sum_k (row[k] as i8) * x[k]` for int8 activations over `min(row.len(), x.len())` terms.
///
/// # Safety
/// AVX-512F/BW/VNNI.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) unsafe fn dot_i8_i8_vnni(row: &[u8], x: &[i8]) -> i32 {
    let n = row.len().min(x.len());
    let chunks = n / 64;
    let rem = n - 64 * chunks;
    let flip = _mm512_set1_epi8(-128);
    let x_sum = x[..n].iter().fold(0i32, |s, &v| s.wrapping_add(v as i32));
    // SAFETY: 64-byte loads at `64c` with `64c + 64 <= n`; masked tail loads (see dot16_i8).
    unsafe {
        let (wp, xp) = (row.as_ptr(), x.as_ptr());
        let mut acc = _mm512_setzero_si512();
        for c in 0..chunks {
            let xv = _mm512_loadu_si512(xp.add(64 * c).cast());
            let b = _mm512_loadu_si512(wp.add(64 * c).cast());
            acc = mac_u8i8(acc, _mm512_xor_si512(b, flip), xv);
        }
        if rem > 0 {
            let k: __mmask64 = (1u64 << rem) - 1;
            let xv = _mm512_maskz_loadu_epi8(k, xp.add(64 * chunks));
            let b = _mm512_maskz_loadu_epi8(k, wp.add(64 * chunks).cast());
            acc = mac_u8i8(acc, _mm512_xor_si512(b, flip), xv);
        }
        _mm512_reduce_add_epi32(acc).wrapping_sub(x_sum.wrapping_mul(128))
    }
}

/// The accumulators of rows `o..o + R` (row length `x.len()`) against `x`, with the
/// multiply-add `$mac`: the sum of the sixteen lanes of accumulator `r` is row `o + r`'s dot
/// product. A macro so that the 16-row passes keep the accumulators in registers (functions
/// with `target_feature` cannot be forced inline). Unsafe: `w.len() >= (o + R) * x.len()`.
macro_rules! dot_rows_body {
    ($mac:ident, $r:expr, $w:expr, $x:expr, $o:expr) => {{
        let (w, x, o): (&[u8], &[i16], usize) = ($w, $x, $o);
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
            let mut acc = [_mm512_setzero_si512(); $r];
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
            acc
        }
    }};
}

macro_rules! avx512_kernels {
    (
        $features:literal,
        $mac:ident,
        $linear:ident,
        $rows:ident,
        $dot_rows:ident,
        $dot16:ident,
        $dot:ident,
        $residual:ident,
        $block:ident,
        $group:ident,
        $block_dots:ident
    ) => {
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
            // SAFETY: forwarded caller guarantees.
            unsafe {
                if R == 16 {
                    finish16($dot16(w, x, o), bias, mult, shift, o, relu, out);
                } else {
                    let acc = $dot_rows::<R>(w, x, o);
                    let mut h = [_mm256_setzero_si256(); 8];
                    for (r, a) in acc.iter().enumerate() {
                        h[r] = _mm256_add_epi32(
                            _mm512_castsi512_si256(*a),
                            _mm512_extracti64x4_epi64::<1>(*a),
                        );
                    }
                    if R == 4 {
                        finish_avx2::<4>(hsum8(&h), bias, mult, shift, o, relu, out);
                    } else {
                        finish_avx2::<8>(hsum8(&h), bias, mult, shift, o, relu, out);
                    }
                }
            }
        }

        /// The partial dot products of rows `o..o + R` (row length `x.len()`) with `x`: the
        /// sum of the sixteen lanes of accumulator `r` is row `o + r`'s.
        ///
        /// # Safety
        /// The enabled features; `w.len() >= (o + R) * x.len()`.
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn $dot_rows<const R: usize>(w: &[u8], x: &[i16], o: usize) -> [__m512i; R] {
            dot_rows_body!($mac, R, w, x, o)
        }

        /// The dot products of rows `o..o + 16` with `x` as sixteen lanes ([`hsum16`] of the
        /// accumulators, in the same function so they stay in registers).
        ///
        /// # Safety
        /// The enabled features; `w.len() >= (o + 16) * x.len()`.
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn $dot16(w: &[u8], x: &[i16], o: usize) -> __m512i {
            let acc: [__m512i; 16] = dot_rows_body!($mac, 16, w, x, o);
            hsum16(&acc)
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

        /// The second layer of an ANGraph-P residual block with int16 activations (see
        /// [`super::linear_residual`]): passes of 16 rows, the last one over the last sixteen
        /// rows (the overlap is recomputed to the same values; `out` is neither input).
        ///
        /// # Safety
        /// The enabled features; `out.len() >= 16`, `skip_x.len() >= out.len()`,
        /// `w.len() >= out.len() * x.len()`, `bias.len() >= 4 * out.len()`,
        /// `mult.len() >= 4 * out.len()`, `shift.len() >= out.len()`.
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        pub(super) unsafe fn $residual(
            w: &[u8],
            bias: &[u8],
            mult: &[u8],
            shift: &[u8],
            x: &[i16],
            skip_x: &[i16],
            skip: Requant,
            out: &mut [i16],
        ) {
            let m = out.len();
            let (skm, sks) = skip_vectors(skip);
            let pass = |o: usize, out: &mut [i16]| {
                // SAFETY: rows and parameters `o..o + 16` with `o + 16 <= m`: in bounds by
                // the caller's guarantees (32-byte load of `skip_x`, 32-byte store).
                unsafe {
                    let dots = $dot16(w, x, o);
                    let (b, mv, sh) = params16(bias, mult, shift, o);
                    let xs =
                        _mm512_cvtepi16_epi32(_mm256_loadu_si256(skip_x.as_ptr().add(o).cast()));
                    let r = residual_lanes(dots, b, mv, sh, xs, skm, sks, i16::MAX as i64);
                    _mm256_storeu_si256(out.as_mut_ptr().add(o).cast(), _mm512_cvtepi32_epi16(r));
                }
            };
            let mut o = 0;
            while o + 16 <= m {
                pass(o, out);
                o += 16;
            }
            if o < m {
                pass(m - 16, out);
            }
        }

        /// A layer over a block of `lanes` samples in the block layout (see
        /// [`super::block_index`]): samples in the vector lanes, so no horizontal sums. Rows
        /// in groups of 4 (then 2, 1), each group's weights widened once to int16 pairs and
        /// broadcast, against 4 (then 2, 1) vectors of 16 samples' pairs.
        ///
        /// # Safety
        /// The enabled features; `lanes` a multiple of 16; `n <= MAX_LINEAR_IN`;
        /// `w.len() >= m * n`, `bias.len() >= 4 * m`, `mult.len() >= 4 * m`,
        /// `shift.len() >= m`; `x` holds `n.div_ceil(2)` pairs of `lanes` samples, `out` (and a
        /// residual `skip_x`) `m.div_ceil(2)`.
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        pub(super) unsafe fn $block(
            w: &[u8],
            bias: &[u8],
            mult: &[u8],
            shift: &[u8],
            n: usize,
            m: usize,
            x: &[i16],
            out: &mut [i16],
            lanes: usize,
            fin: BlockFinish<'_>,
        ) {
            let mut o = 0;
            // SAFETY (every group): rows `o..o + R` with `o + R <= m`, `o` even.
            while o + 4 <= m {
                unsafe { $group::<4>(w, bias, mult, shift, n, o, x, out, lanes, fin) };
                o += 4;
            }
            if o + 2 <= m {
                unsafe { $group::<2>(w, bias, mult, shift, n, o, x, out, lanes, fin) };
                o += 2;
            }
            if o < m {
                unsafe { $group::<1>(w, bias, mult, shift, n, o, x, out, lanes, fin) };
            }
        }

        /// Rows `o..o + R` of the block layer for every sample of the block.
        ///
        /// # Safety
        /// As the block layer, `o` even and `o + R <= m`.
        #[target_feature(enable = $features)]
        #[inline]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $group<const R: usize>(
            w: &[u8],
            bias: &[u8],
            mult: &[u8],
            shift: &[u8],
            n: usize,
            o: usize,
            x: &[i16],
            out: &mut [i16],
            lanes: usize,
            fin: BlockFinish<'_>,
        ) {
            let np = n.div_ceil(2);
            let nv = lanes / 16;
            // SAFETY: forwarded caller guarantees; `s + SV <= nv`.
            unsafe {
                let mut store = core::mem::MaybeUninit::uninit();
                let wb = widen_rows::<R>(w, n, o, &mut store);
                let mut s = 0;
                while s + 4 <= nv {
                    let acc = $block_dots::<R, 4>(wb, np, x, lanes, s);
                    finish_block::<R, 4>(&acc, bias, mult, shift, o, s, lanes, fin, out);
                    s += 4;
                }
                if s + 2 <= nv {
                    let acc = $block_dots::<R, 2>(wb, np, x, lanes, s);
                    finish_block::<R, 2>(&acc, bias, mult, shift, o, s, lanes, fin, out);
                    s += 2;
                }
                if s < nv {
                    let acc = $block_dots::<R, 1>(wb, np, x, lanes, s);
                    finish_block::<R, 1>(&acc, bias, mult, shift, o, s, lanes, fin, out);
                }
            }
        }

        /// The dot products of the `R` widened rows `wb` (`np` pairs) with the sample
        /// vectors `s0..s0 + SV` of the block: `R x SV` accumulators, one broadcast per row
        /// and pair, one 16-sample load per vector and pair.
        ///
        /// # Safety
        /// The enabled features; `wb` from [`widen_rows`] of `R` rows of `2 np` or `2 np - 1` weights; `x` holds `np` pairs of `lanes` samples,
        /// `16 (s0 + SV) <= lanes`.
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn $block_dots<const R: usize, const SV: usize>(
            wb: *const i32,
            np: usize,
            x: &[i16],
            lanes: usize,
            s0: usize,
        ) -> [[__m512i; SV]; R] {
            let mut acc = [[_mm512_setzero_si512(); SV]; R];
            // SAFETY: pair `j < np` of sample vector `s0 + v` is at
            // `2 * (j * lanes + 16 * (s0 + v))`, 64 bytes inside `x`; pair `j` of row `r` at
            // `wb + r * WB + j`, written by `widen_rows` (`j < np`).
            unsafe {
                let xp = x.as_ptr().add(32 * s0);
                for j in 0..np {
                    let row = xp.add(2 * j * lanes);
                    let xs: [__m512i; SV] =
                        core::array::from_fn(|v| _mm512_loadu_si512(row.add(32 * v).cast()));
                    for (r, a) in acc.iter_mut().enumerate() {
                        let wv = _mm512_set1_epi32(*wb.add(r * WB + j));
                        for (v, av) in a.iter_mut().enumerate() {
                            *av = $mac(*av, wv, xs[v]);
                        }
                    }
                }
            }
            acc
        }
    };
}

avx512_kernels!(
    "avx512f,avx512bw,avx512vl,avx512vnni",
    mac_vnni,
    linear_i16_vnni,
    rows_vnni,
    dot_rows_vnni,
    dot16_vnni,
    dot_i8_i16_vnni,
    residual_i16_vnni,
    block_i16_vnni,
    group_vnni,
    block_dots_vnni
);
avx512_kernels!(
    "avx512f,avx512bw,avx512vl",
    mac_bw,
    linear_i16_bw,
    rows_bw,
    dot_rows_bw,
    dot16_bw,
    dot_i8_i16_bw,
    residual_i16_bw,
    block_i16_bw,
    group_bw,
    block_dots_bw
);
