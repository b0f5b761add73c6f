//! The inner product of the fixed-point path: int8 weights against int16 or int8 activations,
//! accumulated in `i32` with wrapping adds (a valid blob never wraps: widths are capped so that
//! `512 * 127 * 32767 < 2^31`; a hostile blob gets garbage, never a panic).
//!
//! On x86_64 the int16 product uses SSE2 (part of the x86_64 baseline, so no runtime detection
//! and no `std` needed): sign-extend 16 weights to int16, then `pmaddwd`. On ARMv7E-M with the
//! feature `cortex-m-dsp` (Cortex-M4/M7), `SMLAD` dual 16-bit multiply-accumulates
//! (`kernel/cortex_m_dsp.rs`); elsewhere (Cortex-M3) a plain loop. On x86_64 hosts (feature `std`) whole layers run in the kernel of [`path`],
//! detected at run time: AVX2, AVX-512BW or AVX-512 VNNI (`kernel/avx512.rs`, also int8
//! activations with `vpdpbusd`); see `docs/kernels.md`. All give identical results (wrapping
//! `i32` addition is associative).

use crate::fixed::{sat_i32, Activation};
use crate::model::Linear;

#[cfg(all(target_arch = "x86_64", feature = "std"))]
mod avx512;
#[cfg(all(target_arch = "arm", feature = "cortex-m-dsp"))]
pub mod cortex_m_dsp;

/// The kernel family of the int16-activation layers on an x86_64 host (feature `std`): every
/// path gives bit-identical results. [`linear_fixed`] uses [`path`]: the best one the CPU has,
/// unless [`set_path`] chose another (benchmarks and tests compare them that way).
#[cfg(all(target_arch = "x86_64", feature = "std"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Path {
    /// Plain loops, as on Cortex-M ([`dot_i8_i16_scalar`] row by row).
    Scalar = 1,
    /// SSE2 (the x86_64 baseline): four rows per pass, `pmaddwd`.
    Sse2 = 2,
    /// AVX2: eight rows per pass, `vpmaddwd`, vector requantization.
    Avx2 = 3,
    /// AVX-512BW: sixteen rows per pass, `vpmaddwd` on 32 lanes, masked row tails.
    Avx512Bw = 4,
    /// AVX-512 VNNI: as [`Path::Avx512Bw`] with `vpdpwssd` (multiply-add in one instruction).
    Avx512Vnni = 5,
}

#[cfg(all(target_arch = "x86_64", feature = "std"))]
impl Path {
    /// Every path, slowest first.
    pub const ALL: [Path; 5] = [
        Path::Scalar,
        Path::Sse2,
        Path::Avx2,
        Path::Avx512Bw,
        Path::Avx512Vnni,
    ];

    /// A short name (`scalar`, `sse2`, `avx2`, `avx512bw`, `avx512vnni`).
    pub fn name(self) -> &'static str {
        match self {
            Path::Scalar => "scalar",
            Path::Sse2 => "sse2",
            Path::Avx2 => "avx2",
            Path::Avx512Bw => "avx512bw",
            Path::Avx512Vnni => "avx512vnni",
        }
    }

    /// Whether this CPU can run the path.
    pub fn supported(self) -> bool {
        self <= best_path()
    }

    fn from_u8(v: u8) -> Option<Path> {
        Path::ALL.iter().copied().find(|&p| p as u8 == v)
    }
}

/// The fastest path this CPU supports (run-time detection).
#[cfg(all(target_arch = "x86_64", feature = "std"))]
pub fn best_path() -> Path {
    use std::arch::is_x86_feature_detected as has;
    if has!("avx512f") && has!("avx512bw") && has!("avx512vl") {
        if has!("avx512vnni") {
            Path::Avx512Vnni
        } else {
            Path::Avx512Bw
        }
    } else if has!("avx2") {
        Path::Avx2
    } else {
        Path::Sse2
    }
}

/// The selected path (0: not chosen yet, then [`best_path`]).
#[cfg(all(target_arch = "x86_64", feature = "std"))]
static SELECTED: core::sync::atomic::AtomicU8 = core::sync::atomic::AtomicU8::new(0);

/// The path [`linear_fixed`] (and so every fixed-point prediction) uses: [`best_path`] unless
/// [`set_path`] chose another. One relaxed atomic load per call.
#[cfg(all(target_arch = "x86_64", feature = "std"))]
#[inline]
pub fn path() -> Path {
    use core::sync::atomic::Ordering::Relaxed;
    match Path::from_u8(SELECTED.load(Relaxed)) {
        Some(p) => p,
        None => {
            let p = best_path();
            SELECTED.store(p as u8, Relaxed);
            p
        }
    }
}

/// Select the path of every later fixed-point layer in this process (clamped to what the CPU
/// supports); returns the path now in force. Results do not depend on it.
#[cfg(all(target_arch = "x86_64", feature = "std"))]
pub fn set_path(p: Path) -> Path {
    let p = p.min(best_path());
    SELECTED.store(p as u8, core::sync::atomic::Ordering::Relaxed);
    p
}

/// `sum_k (row[k] as i8) * x[k]` over `min(row.len(), x.len())` terms.
#[inline]
pub fn dot_i8_i16(row: &[u8], x: &[i16]) -> i32 {
    #[cfg(target_arch = "x86_64")]
    {
        dot_i8_i16_sse2(row, x)
    }
    #[cfg(all(target_arch = "arm", feature = "cortex-m-dsp"))]
    {
        cortex_m_dsp::dot_i8_i16(row, x)
    }
    #[cfg(not(any(
        target_arch = "x86_64",
        all(target_arch = "arm", feature = "cortex-m-dsp")
    )))]
    {
        dot_i8_i16_scalar(row, x)
    }
}

/// The portable version of [`dot_i8_i16`].
#[inline]
pub fn dot_i8_i16_scalar(row: &[u8], x: &[i16]) -> i32 {
    row.iter()
        .zip(x)
        .map(|(&a, &b)| (a as i8 as i32) * (b as i32))
        .fold(0i32, |s, p| s.wrapping_add(p))
}

/// `sum_k (row[k] as i8) * x[k]` for int8 activations.
#[inline]
pub fn dot_i8_i8(row: &[u8], x: &[i8]) -> i32 {
    row.iter()
        .zip(x)
        .map(|(&a, &b)| (a as i8 as i32) * (b as i32))
        .fold(0i32, |s, p| s.wrapping_add(p))
}

/// Four dot products at once: rows `o..o+4` of a row-major int8 matrix with row length
/// `x.len()` starting at `w[0]`, against the same activations (loads `x` once for four rows).
#[inline]
pub fn dot4_i8_i16(w: &[u8], x: &[i16]) -> [i32; 4] {
    let n = x.len();
    if w.len() < 4 * n {
        return [0; 4];
    }
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 is present (checked at run time); `w.len() >= 4 * n` checked above.
            return unsafe { dot4_i8_i16_avx2(w, x) };
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        dot4_i8_i16_sse2(w, x)
    }
    #[cfg(all(target_arch = "arm", feature = "cortex-m-dsp"))]
    {
        cortex_m_dsp::dot4_i8_i16(w, x)
    }
    #[cfg(not(any(
        target_arch = "x86_64",
        all(target_arch = "arm", feature = "cortex-m-dsp")
    )))]
    {
        core::array::from_fn(|r| dot_i8_i16_scalar(&w[r * n..(r + 1) * n], x))
    }
}

/// [`dot4_i8_i16`] with AVX2 (`vpmovsxbw` + `vpmaddwd` over 16 lanes), selected at run time on
/// hosts that have it (feature `std`, which provides the CPU detection).
///
/// # Safety
/// The CPU must support AVX2 and `w.len() >= 4 * x.len()`.
#[cfg(all(target_arch = "x86_64", feature = "std"))]
#[target_feature(enable = "avx2")]
unsafe fn dot4_i8_i16_avx2(w: &[u8], x: &[i16]) -> [i32; 4] {
    use core::arch::x86_64::*;
    let n = x.len();
    let chunks = n / 16;
    let wp = w.as_ptr();
    let mut out = [0i32; 4];
    // SAFETY (all loads): row r covers `w[r*n..(r+1)*n]` (the caller guarantees
    // `w.len() >= 4n`); a 16-weight load at `r*n + 16c` and a 16-activation load at `16c` need
    // `16c + 16 <= n`, true for `c < chunks`; the 8-wide tail needs `16*chunks + 8 <= n`.
    unsafe {
        let mut acc = [_mm256_setzero_si256(); 4];
        for c in 0..chunks {
            let xv = _mm256_loadu_si256(x.as_ptr().add(16 * c) as *const __m256i);
            for (r, a) in acc.iter_mut().enumerate() {
                let b = _mm_loadu_si128(wp.add(r * n + 16 * c) as *const __m128i);
                *a = _mm256_add_epi32(*a, _mm256_madd_epi16(_mm256_cvtepi8_epi16(b), xv));
            }
        }
        let mut done = 16 * chunks;
        let mut tail = [_mm_setzero_si128(); 4];
        if n - done >= 8 {
            let xv = _mm_loadu_si128(x.as_ptr().add(done) as *const __m128i);
            for (r, t) in tail.iter_mut().enumerate() {
                let b = _mm_loadl_epi64(wp.add(r * n + done) as *const __m128i);
                *t = _mm_madd_epi16(_mm_cvtepi8_epi16(b), xv);
            }
            done += 8;
        }
        for r in 0..4 {
            let s = _mm_add_epi32(
                _mm_add_epi32(
                    _mm256_castsi256_si128(acc[r]),
                    _mm256_extracti128_si256(acc[r], 1),
                ),
                tail[r],
            );
            let mut lanes = [0i32; 4];
            _mm_storeu_si128(lanes.as_mut_ptr() as *mut __m128i, s);
            let mut v = lanes[0]
                .wrapping_add(lanes[1])
                .wrapping_add(lanes[2])
                .wrapping_add(lanes[3]);
            for k in done..n {
                v = v.wrapping_add(w[r * n + k] as i8 as i32 * x[k] as i32);
            }
            out[r] = v;
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn dot4_i8_i16_sse2(w: &[u8], x: &[i16]) -> [i32; 4] {
    use core::arch::x86_64::*;
    let n = x.len();
    let chunks = n / 16;
    let mut out = [0i32; 4];
    // SAFETY: the caller checked `w.len() >= 4 * n`; row r covers `w[r*n..(r+1)*n]` and each
    // load reads 16 bytes at `r*n + 16*c` with `16*c + 16 <= n`; `x` loads read 8 i16 at
    // `16*c` and `16*c + 8`, both within `x[..n]`. Unaligned loads throughout.
    unsafe {
        let mut acc = [_mm_setzero_si128(); 4];
        let wp = w.as_ptr();
        for c in 0..chunks {
            let x0 = _mm_loadu_si128(x.as_ptr().add(16 * c) as *const __m128i);
            let x1 = _mm_loadu_si128(x.as_ptr().add(16 * c + 8) as *const __m128i);
            for (r, a) in acc.iter_mut().enumerate() {
                let v = _mm_loadu_si128(wp.add(r * n + 16 * c) as *const __m128i);
                let lo = _mm_srai_epi16(_mm_unpacklo_epi8(v, v), 8);
                let hi = _mm_srai_epi16(_mm_unpackhi_epi8(v, v), 8);
                *a = _mm_add_epi32(
                    *a,
                    _mm_add_epi32(_mm_madd_epi16(lo, x0), _mm_madd_epi16(hi, x1)),
                );
            }
        }
        if n - 16 * chunks >= 8 {
            // SAFETY: 8 more weights and activations exist at offset 16 * chunks.
            let x0 = _mm_loadu_si128(x.as_ptr().add(16 * chunks) as *const __m128i);
            for (r, a) in acc.iter_mut().enumerate() {
                let v = _mm_loadl_epi64(wp.add(r * n + 16 * chunks) as *const __m128i);
                let lo = _mm_srai_epi16(_mm_unpacklo_epi8(v, v), 8);
                *a = _mm_add_epi32(*a, _mm_madd_epi16(lo, x0));
            }
        }
        for (r, a) in acc.iter().enumerate() {
            let mut lanes = [0i32; 4];
            _mm_storeu_si128(lanes.as_mut_ptr() as *mut __m128i, *a);
            out[r] = lanes[0]
                .wrapping_add(lanes[1])
                .wrapping_add(lanes[2])
                .wrapping_add(lanes[3]);
        }
    }
    let done = if n - 16 * chunks >= 8 {
        16 * chunks + 8
    } else {
        16 * chunks
    };
    for (r, o) in out.iter_mut().enumerate() {
        for k in done..n {
            *o = o.wrapping_add(w[r * n + k] as i8 as i32 * x[k] as i32);
        }
    }
    out
}

/// One fixed-point linear layer: `out[o] = sat(act(requant_o(sum_k w[o,k] x[k] + bias[o])))`.
/// The accumulator is saturated to `i32` before requantization (a valid blob never reaches it).
///
/// On an x86_64 host (feature `std`) with int16 activations and at least four outputs the
/// whole layer runs in the kernel of [`path`] (AVX-512 VNNI, AVX-512BW or AVX2: 16 or 8 rows
/// per pass, vector requantization); otherwise in [`linear_fixed_portable`]. All give
/// identical results.
#[inline]
pub fn linear_fixed<A: Activation>(lin: &Linear<'_>, x: &[A], out: &mut [A], relu: bool) {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    {
        linear_fixed_with(path(), lin, x, out, relu)
    }
    #[cfg(not(all(target_arch = "x86_64", feature = "std")))]
    {
        linear_fixed_portable(lin, x, out, relu)
    }
}

/// [`linear_fixed`] on a given path (clamped to what the CPU supports): what the benchmarks
/// and the tests use to compare the kernels.
#[cfg(all(target_arch = "x86_64", feature = "std"))]
#[inline]
pub fn linear_fixed_with<A: Activation>(
    p: Path,
    lin: &Linear<'_>,
    x: &[A],
    out: &mut [A],
    relu: bool,
) {
    let p = if p > Path::Avx2 {
        p.min(best_path())
    } else {
        p
    };
    let (n, m) = (lin.in_dim, lin.out_dim);
    if p == Path::Avx512Vnni && m >= 16 && x.len() >= n && out.len() >= m {
        let (w, b, mult, shift) = lin.fixed_tensors();
        if let (Some(x8), Some(o8)) = (as_i8(&x[..n]), as_i8_mut(&mut out[..m])) {
            if w.len() >= n * m && b.len() >= 4 * m && mult.len() >= 4 * m && shift.len() >= m {
                // SAFETY: AVX-512 VNNI is supported (clamped to `best_path`); tensor lengths
                // checked just above.
                unsafe { avx512::linear_i8_vnni(w, b, mult, shift, x8, o8, relu) };
                return;
            }
        }
    }
    if p >= Path::Avx2 && m >= 4 && x.len() >= n && out.len() >= m {
        let (w, b, mult, shift) = lin.fixed_tensors();
        if let (Some(x16), Some(o16)) = (A::as_i16(&x[..n]), A::as_i16_mut(&mut out[..m])) {
            if w.len() >= n * m && b.len() >= 4 * m && mult.len() >= 4 * m && shift.len() >= m {
                // SAFETY: the path is supported (clamped to `best_path` above; AVX2 is checked
                // below); tensor lengths checked just above.
                match p {
                    Path::Avx512Vnni => unsafe {
                        avx512::linear_i16_vnni(w, b, mult, shift, x16, o16, relu)
                    },
                    Path::Avx512Bw => unsafe {
                        avx512::linear_i16_bw(w, b, mult, shift, x16, o16, relu)
                    },
                    _ if std::arch::is_x86_feature_detected!("avx2") => unsafe {
                        linear_i16_avx2(w, b, mult, shift, x16, o16, relu)
                    },
                    _ => return linear_rows(lin, x, out, relu, dot4_i8_i16_sse2, dot_i8_sse2),
                }
                return;
            }
        }
    }
    match p {
        Path::Scalar => linear_rows(lin, x, out, relu, dot4_scalar, dot_i8_scalar),
        _ => linear_rows(lin, x, out, relu, dot4_i8_i16_sse2, dot_i8_sse2),
    }
}

/// The slice as int8 activations, if that is the type.
#[cfg(all(target_arch = "x86_64", feature = "std"))]
#[inline]
fn as_i8<A: Activation>(x: &[A]) -> Option<&[i8]> {
    if core::any::TypeId::of::<A>() == core::any::TypeId::of::<i8>() {
        // SAFETY: `A` is `i8`: same layout, same length.
        Some(unsafe { core::slice::from_raw_parts(x.as_ptr().cast::<i8>(), x.len()) })
    } else {
        None
    }
}

/// The mutable slice as int8 activations, if that is the type.
#[cfg(all(target_arch = "x86_64", feature = "std"))]
#[inline]
fn as_i8_mut<A: Activation>(x: &mut [A]) -> Option<&mut [i8]> {
    if core::any::TypeId::of::<A>() == core::any::TypeId::of::<i8>() {
        // SAFETY: `A` is `i8`: same layout, same length, the borrow is moved into the result.
        Some(unsafe { core::slice::from_raw_parts_mut(x.as_mut_ptr().cast::<i8>(), x.len()) })
    } else {
        None
    }
}

#[cfg(all(target_arch = "x86_64", feature = "std"))]
fn dot4_scalar(w: &[u8], x: &[i16]) -> [i32; 4] {
    let n = x.len();
    core::array::from_fn(|r| dot_i8_i16_scalar(&w[r * n..(r + 1) * n], x))
}

#[cfg(all(target_arch = "x86_64", feature = "std"))]
fn dot_i8_sse2<A: Activation>(row: &[u8], x: &[A]) -> i32 {
    A::dot_i8(row, x)
}

/// One dot product with plain loops (int8 activations have only the loop).
#[cfg(all(target_arch = "x86_64", feature = "std"))]
fn dot_i8_scalar<A: Activation>(row: &[u8], x: &[A]) -> i32 {
    match A::as_i16(x) {
        Some(x16) => dot_i8_i16_scalar(row, x16),
        None => A::dot_i8(row, x),
    }
}

/// The layer with given 4-row and 1-row int16 dot products (the SSE2 and scalar paths).
#[cfg(all(target_arch = "x86_64", feature = "std"))]
#[inline]
fn linear_rows<A: Activation>(
    lin: &Linear<'_>,
    x: &[A],
    out: &mut [A],
    relu: bool,
    dot4: fn(&[u8], &[i16]) -> [i32; 4],
    dot1: fn(&[u8], &[A]) -> i32,
) {
    let x = &x[..lin.in_dim];
    let finish = |o: usize, dot: i32| -> A {
        let acc = sat_i32(dot as i64 + lin.bias_i32(o) as i64);
        let v = lin.requant(o).apply32(acc);
        A::sat(if relu { v.max(0) } else { v })
    };
    let out = &mut out[..lin.out_dim];
    let mut o = 0;
    if let Some(x16) = A::as_i16(x) {
        while o + 4 <= out.len() {
            if lin.rows_bytes(o, 4).len() < 4 * x16.len() {
                break;
            }
            let d = dot4(lin.rows_bytes(o, 4), x16);
            for (r, &dv) in d.iter().enumerate() {
                out[o + r] = finish(o + r, dv);
            }
            o += 4;
        }
    }
    while o < out.len() {
        out[o] = finish(o, dot1(lin.row_bytes(o), x));
        o += 1;
    }
}

/// [`linear_fixed`] without the AVX2 layer kernel (4-row SSE2 dot products on x86_64, plain
/// loops elsewhere).
#[inline]
pub fn linear_fixed_portable<A: Activation>(lin: &Linear<'_>, x: &[A], out: &mut [A], relu: bool) {
    let x = &x[..lin.in_dim];
    let finish = |o: usize, dot: i32| -> A {
        let acc = sat_i32(dot as i64 + lin.bias_i32(o) as i64);
        let v = lin.requant(o).apply32(acc);
        A::sat(if relu { v.max(0) } else { v })
    };
    let out = &mut out[..lin.out_dim];
    let mut o = 0;
    // Cortex-M4/M7: the activations repacked once for all rows of the layer.
    #[cfg(all(target_arch = "arm", feature = "cortex-m-dsp"))]
    if let Some(x16) = A::as_i16(x).filter(|x| x.len() <= cortex_m_dsp::PACK_CAPACITY) {
        let mut packed = [0u32; cortex_m_dsp::PACK_CAPACITY / 2];
        cortex_m_dsp::pack(x16, &mut packed);
        while o + 4 <= out.len() {
            let d = cortex_m_dsp::dot4_packed(lin.rows_bytes(o, 4), x16, &packed);
            for (r, &dv) in d.iter().enumerate() {
                out[o + r] = finish(o + r, dv);
            }
            o += 4;
        }
    }
    if let Some(x16) = A::as_i16(x) {
        while o + 4 <= out.len() {
            let d = dot4_i8_i16(lin.rows_bytes(o, 4), x16);
            for (r, &dv) in d.iter().enumerate() {
                out[o + r] = finish(o + r, dv);
            }
            o += 4;
        }
    }
    while o < out.len() {
        out[o] = finish(o, A::dot_i8(lin.row_bytes(o), x));
        o += 1;
    }
}

/// A whole int16 linear layer with AVX2: eight weight rows per pass against the same
/// activations, the eight sums reduced into one vector, then bias (saturating), per-channel
/// requantization (`i64` products, rounding, arithmetic shift), ReLU and int16 saturation on
/// eight lanes at once. Left-over rows take a four-row pass; fewer than four left-over rows take
/// a four-row pass over the last four rows (the overlap is recomputed to the same values).
///
/// # Safety
/// The CPU must support AVX2; `out.len() >= 4`, `w.len() >= out.len() * x.len()`,
/// `bias.len() >= 4 * out.len()`, `mult.len() >= 4 * out.len()`, `shift.len() >= out.len()`.
#[cfg(all(target_arch = "x86_64", feature = "std"))]
#[target_feature(enable = "avx2")]
unsafe fn linear_i16_avx2(
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
    // SAFETY (every pass): a pass over rows `o..o + R` has `o + R <= m`, so the rows and their
    // parameters are in bounds by the caller's length guarantees.
    while o + 8 <= m {
        unsafe { rows_avx2::<8>(w, bias, mult, shift, x, out, o, relu) };
        o += 8;
    }
    if o + 4 <= m {
        unsafe { rows_avx2::<4>(w, bias, mult, shift, x, out, o, relu) };
        o += 4;
    }
    if o < m {
        unsafe { rows_avx2::<4>(w, bias, mult, shift, x, out, m - 4, relu) };
    }
}

/// Outputs `o..o + R` (`R` = 4 or 8) of [`linear_i16_avx2`].
///
/// # Safety
/// AVX2; `o + R <= out.len()`, `w.len() >= (o + R) * x.len()`, `bias.len() >= 4 * (o + R)`,
/// `mult.len() >= 4 * (o + R)`, `shift.len() >= o + R`.
#[cfg(all(target_arch = "x86_64", feature = "std"))]
#[target_feature(enable = "avx2")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn rows_avx2<const R: usize>(
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
        let sums = dot_rows_avx2::<R>(w, x, o);
        finish_avx2::<R>(sums, bias, mult, shift, o, relu, out);
    }
}

/// The dot products of rows `o..o + R` (`R` = 4 or 8, row length `x.len()`) with `x`, in lanes
/// `0..R` (the other lanes are unspecified).
///
/// # Safety
/// AVX2; `w.len() >= (o + R) * x.len()`.
#[cfg(all(target_arch = "x86_64", feature = "std"))]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn dot_rows_avx2<const R: usize>(
    w: &[u8],
    x: &[i16],
    o: usize,
) -> core::arch::x86_64::__m256i {
    use core::arch::x86_64::*;
    let n = x.len();
    let chunks = n / 16;
    // SAFETY (all loads): row `o + r` covers `w[(o+r)*n..(o+r+1)*n]`, in bounds by the caller's
    // guarantee; a 16-weight load at `(o+r)*n + 16c` and a 16-activation load at `16c` need
    // `16c + 16 <= n` (true for `c < chunks`); the 8-wide tail needs `16*chunks + 8 <= n`.
    unsafe {
        let wp = w.as_ptr().add(o * n);
        let xp = x.as_ptr();
        let mut acc = [_mm256_setzero_si256(); R];
        for c in 0..chunks {
            let xv = _mm256_loadu_si256(xp.add(16 * c) as *const __m256i);
            for (r, a) in acc.iter_mut().enumerate() {
                let b = _mm_loadu_si128(wp.add(r * n + 16 * c) as *const __m128i);
                *a = _mm256_add_epi32(*a, _mm256_madd_epi16(_mm256_cvtepi8_epi16(b), xv));
            }
        }
        let mut done = 16 * chunks;
        if n - done >= 8 {
            let xv = _mm_loadu_si128(xp.add(done) as *const __m128i);
            for (r, a) in acc.iter_mut().enumerate() {
                let b = _mm_loadl_epi64(wp.add(r * n + done) as *const __m128i);
                let t = _mm_madd_epi16(_mm_cvtepi8_epi16(b), xv);
                *a = _mm256_add_epi32(*a, _mm256_zextsi128_si256(t));
            }
            done += 8;
        }
        // Horizontal sums: lane r of the result is the sum of the eight lanes of acc[r].
        let h01 = _mm256_hadd_epi32(acc[0], acc[1]);
        let h23 = _mm256_hadd_epi32(acc[2], acc[3]);
        let h0123 = _mm256_hadd_epi32(h01, h23);
        let mut sums = if R == 8 {
            let h45 = _mm256_hadd_epi32(acc[4 % R], acc[5 % R]);
            let h67 = _mm256_hadd_epi32(acc[6 % R], acc[7 % R]);
            let h4567 = _mm256_hadd_epi32(h45, h67);
            _mm256_add_epi32(
                _mm256_permute2x128_si256(h0123, h4567, 0x20),
                _mm256_permute2x128_si256(h0123, h4567, 0x31),
            )
        } else {
            _mm256_zextsi128_si256(_mm_add_epi32(
                _mm256_castsi256_si128(h0123),
                _mm256_extracti128_si256(h0123, 1),
            ))
        };
        if done < n {
            let mut tail = [0i32; 8];
            for (r, t) in tail.iter_mut().enumerate().take(R) {
                for (k, &xk) in x.iter().enumerate().skip(done) {
                    *t = t.wrapping_add(*wp.add(r * n + k) as i8 as i32 * xk as i32);
                }
            }
            sums = _mm256_add_epi32(sums, _mm256_loadu_si256(tail.as_ptr() as *const __m256i));
        }
        sums
    }
}

/// Bias, requantization, ReLU and int16 saturation of outputs `o..o + R` (`R` = 4 or 8) from
/// the dot products in lanes `0..R` of `dots` (see [`linear_fixed_portable`]'s `finish`, which
/// this matches bit for bit).
///
/// # Safety
/// AVX2; `o + R <= out.len()`, `bias.len() >= 4 * (o + R)`, `mult.len() >= 4 * (o + R)`,
/// `shift.len() >= o + R`.
#[cfg(all(target_arch = "x86_64", feature = "std"))]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn finish_avx2<const R: usize>(
    dots: core::arch::x86_64::__m256i,
    bias: &[u8],
    mult: &[u8],
    shift: &[u8],
    o: usize,
    relu: bool,
    out: &mut [i16],
) {
    use core::arch::x86_64::*;
    // SAFETY: loads of 4R bytes at `4o` of `bias` and `mult`, R bytes at `o` of `shift`, a
    // store of 2R bytes at `2o` of `out`: all in bounds by the caller's guarantee.
    unsafe {
        let (b, mv, sh8) = if R == 8 {
            (
                _mm256_loadu_si256(bias.as_ptr().add(4 * o) as *const __m256i),
                _mm256_loadu_si256(mult.as_ptr().add(4 * o) as *const __m256i),
                _mm_loadl_epi64(shift.as_ptr().add(o) as *const __m128i),
            )
        } else {
            let s4 = (shift.as_ptr().add(o) as *const i32).read_unaligned();
            (
                _mm256_zextsi128_si256(_mm_loadu_si128(bias.as_ptr().add(4 * o) as *const __m128i)),
                _mm256_zextsi128_si256(_mm_loadu_si128(mult.as_ptr().add(4 * o) as *const __m128i)),
                _mm_cvtsi32_si128(s4),
            )
        };
        let sh = _mm256_cvtepu8_epi32(sh8);
        // acc = sat_i32(dot + bias): on signed overflow (both operands' signs differ from the
        // sum's) the result is i32::MAX or i32::MIN by the sign of the bias.
        let s = _mm256_add_epi32(dots, b);
        let ovf = _mm256_srai_epi32(
            _mm256_and_si256(_mm256_xor_si256(s, dots), _mm256_xor_si256(s, b)),
            31,
        );
        let sat = _mm256_xor_si256(_mm256_srai_epi32(b, 31), _mm256_set1_epi32(i32::MAX));
        let acc = _mm256_blendv_epi8(s, sat, ovf);
        // Requant::apply32 on the even and the odd lanes (as four i64 each).
        let lo32 = _mm256_set1_epi64x(0xffff_ffff);
        let one = _mm256_set1_epi64x(1);
        let zero = _mm256_setzero_si256();
        let hi = _mm256_set1_epi64x(i16::MAX as i64);
        let lo = _mm256_set1_epi64x(if relu { 0 } else { i16::MIN as i64 });
        let apply = |a: __m256i, m: __m256i, s: __m256i| -> __m256i {
            // |a| <= 2^31 and 0 <= m < 2^31: the product and the rounding term fit in i64.
            // (Unused lanes may hold a shift of 0: AVX2 variable shifts by 64 or more give 0.)
            let p = _mm256_add_epi64(
                _mm256_mul_epi32(a, m),
                _mm256_sllv_epi64(one, _mm256_sub_epi64(s, one)),
            );
            // Arithmetic shift right by s: logical shift of the one's complement for negatives.
            let neg = _mm256_cmpgt_epi64(zero, p);
            let v = _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(p, neg), s), neg);
            let v = _mm256_blendv_epi8(v, hi, _mm256_cmpgt_epi64(v, hi));
            _mm256_blendv_epi8(v, lo, _mm256_cmpgt_epi64(lo, v))
        };
        let even = apply(acc, mv, _mm256_and_si256(sh, lo32));
        let odd = apply(
            _mm256_srli_epi64(acc, 32),
            _mm256_srli_epi64(mv, 32),
            _mm256_srli_epi64(sh, 32),
        );
        // Lanes back in order as i32, then packed to i16 (already in range).
        let r = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0b1010_1010);
        let p = _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packs_epi32(r, r), 0b1000));
        if R == 8 {
            _mm_storeu_si128(out.as_mut_ptr().add(o) as *mut __m128i, p);
        } else {
            _mm_storel_epi64(out.as_mut_ptr().add(o) as *mut __m128i, p);
        }
    }
}

/// The accumulator of output `o` (dot product plus bias) as `i64`.
#[inline]
pub fn accumulate<A: Activation>(lin: &Linear<'_>, x: &[A], o: usize) -> i64 {
    let (row, x) = (lin.row_bytes(o), &x[..lin.in_dim]);
    dot_i8_with(
        #[cfg(all(target_arch = "x86_64", feature = "std"))]
        path(),
        row,
        x,
    ) as i64
        + lin.bias_i32(o) as i64
}

/// One dot product (any activation) on the selected path: the AVX-512 kernels for int16 (and
/// the VNNI one for int8) on hosts that have them, [`Activation::dot_i8`] otherwise (all give the same value).
#[inline]
fn dot_i8_with<A: Activation>(
    #[cfg(all(target_arch = "x86_64", feature = "std"))] p: Path,
    row: &[u8],
    x: &[A],
) -> i32 {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    {
        let p = if p > Path::Avx2 {
            p.min(best_path())
        } else {
            p
        };
        if let Some(x16) = A::as_i16(x) {
            // SAFETY: the path is supported (clamped to `best_path`).
            match p {
                Path::Avx512Vnni => return unsafe { avx512::dot_i8_i16_vnni(row, x16) },
                Path::Avx512Bw => return unsafe { avx512::dot_i8_i16_bw(row, x16) },
                Path::Scalar => return dot_i8_i16_scalar(row, x16),
                _ => {}
            }
        }
        if let (Path::Avx512Vnni, Some(x8)) = (p, as_i8(x)) {
            // SAFETY: AVX-512 VNNI is supported (clamped to `best_path`).
            return unsafe { avx512::dot_i8_i8_vnni(row, x8) };
        }
    }
    A::dot_i8(row, x)
}

/// [`accumulate`] on a given path (tests and benchmarks).
#[cfg(all(target_arch = "x86_64", feature = "std"))]
pub fn accumulate_with<A: Activation>(p: Path, lin: &Linear<'_>, x: &[A], o: usize) -> i64 {
    dot_i8_with(p, lin.row_bytes(o), &x[..lin.in_dim]) as i64 + lin.bias_i32(o) as i64
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn dot_i8_i16_sse2(row: &[u8], x: &[i16]) -> i32 {
    use core::arch::x86_64::*;
    let n = row.len().min(x.len());
    let chunks = n / 16;
    // SAFETY: SSE2 is always available on x86_64. Every load reads 16 bytes starting at
    // `16 * c` of `row` (c < n / 16, so within `row[..n]`) and 8 i16 starting at `16 * c` and
    // `16 * c + 8` of `x` (within `x[..n]`); unaligned loads are used throughout.
    let mut s = unsafe {
        let mut acc0 = _mm_setzero_si128();
        let mut acc1 = _mm_setzero_si128();
        for c in 0..chunks {
            let w = _mm_loadu_si128(row.as_ptr().add(16 * c) as *const __m128i);
            // Interleave each byte with itself, then arithmetic-shift: sign-extends to i16.
            let lo = _mm_srai_epi16(_mm_unpacklo_epi8(w, w), 8);
            let hi = _mm_srai_epi16(_mm_unpackhi_epi8(w, w), 8);
            let x0 = _mm_loadu_si128(x.as_ptr().add(16 * c) as *const __m128i);
            let x1 = _mm_loadu_si128(x.as_ptr().add(16 * c + 8) as *const __m128i);
            acc0 = _mm_add_epi32(acc0, _mm_madd_epi16(lo, x0));
            acc1 = _mm_add_epi32(acc1, _mm_madd_epi16(hi, x1));
        }
        let acc = _mm_add_epi32(acc0, acc1);
        let mut lanes = [0i32; 4];
        _mm_storeu_si128(lanes.as_mut_ptr() as *mut __m128i, acc);
        lanes[0]
            .wrapping_add(lanes[1])
            .wrapping_add(lanes[2])
            .wrapping_add(lanes[3])
    };
    for k in 16 * chunks..n {
        s = s.wrapping_add(row[k] as i8 as i32 * x[k] as i32);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed::Activation;

    #[test]
    fn simd_equals_scalar_at_every_length_and_extreme() {
        let mut rng = crate::test_rng::Lcg::new(0x1234_5678);
        let mut next = || rng.next_u31();
        for n in 0..70 {
            for trial in 0..20 {
                let row: alloc_free::Buf<u8> = alloc_free::Buf::from_fn(n, |_| next() as u8);
                let x: alloc_free::Buf<i16> = alloc_free::Buf::from_fn(n, |_| match trial {
                    0 => i16::MIN,
                    1 => i16::MAX,
                    _ => next() as i16,
                });
                let (r, xs) = (row.as_slice(), x.as_slice());
                assert_eq!(dot_i8_i16(r, xs), dot_i8_i16_scalar(r, xs), "n={n}");
                if n >= 1 {
                    let mut w4 = [0u8; 320];
                    for (i, v) in w4.iter_mut().enumerate().take(4 * n) {
                        *v = (i as u8).wrapping_mul(37).wrapping_add(trial as u8);
                    }
                    let d = dot4_i8_i16(&w4[..4 * n], xs);
                    for (r, &dv) in d.iter().enumerate() {
                        assert_eq!(dv, dot_i8_i16_scalar(&w4[r * n..(r + 1) * n], xs));
                    }
                    // Every x86_64 variant, whichever one the dispatcher picked.
                    #[cfg(target_arch = "x86_64")]
                    assert_eq!(dot4_i8_i16_sse2(&w4[..4 * n], xs), d);
                    #[cfg(all(target_arch = "x86_64", feature = "std"))]
                    if std::arch::is_x86_feature_detected!("avx2") {
                        // SAFETY: AVX2 detected; the slice holds 4 * n weights.
                        assert_eq!(unsafe { dot4_i8_i16_avx2(&w4[..4 * n], xs) }, d);
                    }
                }
                // Unequal lengths use the shorter one.
                if n > 0 {
                    assert_eq!(
                        dot_i8_i16(r, &xs[..n - 1]),
                        dot_i8_i16_scalar(r, &xs[..n - 1])
                    );
                }
            }
        }
    }

    /// The plain definition of a fixed-point linear layer, row by row.
    fn linear_reference(lin: &Linear<'_>, x: &[i16], out: &mut [i16], relu: bool) {
        for (o, y) in out.iter_mut().enumerate().take(lin.out_dim) {
            let dot = dot_i8_i16_scalar(lin.row_bytes(o), &x[..lin.in_dim]);
            let acc = sat_i32(dot as i64 + lin.bias_i32(o) as i64);
            let v = lin.requant(o).apply32(acc);
            *y = i16::sat(if relu { v.max(0) } else { v });
        }
    }

    #[test]
    fn linear_layer_kernels_equal_the_reference_at_every_shape_and_extreme() {
        let mut rng = crate::test_rng::Lcg::new(0x0dd5_eed5);
        let mut next = || rng.next_u32();
        const MAX_IN: usize = 70;
        const MAX_OUT: usize = 27;
        let mut w = [0u8; MAX_IN * MAX_OUT];
        let mut b = [0u8; 4 * MAX_OUT];
        let mut mult = [0u8; 4 * MAX_OUT];
        let mut shift = [0u8; MAX_OUT];
        let mut x = [0i16; MAX_IN];
        let (mut checked, mut saturated) = (0usize, 0usize);
        for n in 1..=MAX_IN {
            for m in 1..=MAX_OUT {
                for trial in 0..6 {
                    for v in w.iter_mut().take(n * m) {
                        // Trial 0: every weight at an extreme.
                        *v = match trial {
                            0 => [0x80, 0x7f][next() as usize % 2],
                            _ => next() as u8,
                        };
                    }
                    for o in 0..m {
                        let bias: i32 = match (trial + o) % 5 {
                            0 => i32::MAX - (next() % 1000) as i32,
                            1 => i32::MIN + (next() % 1000) as i32,
                            2 => next() as i32,
                            _ => (next() as i32) >> 12,
                        };
                        let mu: i32 = match o % 4 {
                            0 => 0,
                            1 => i32::MAX,
                            _ => (1 << 30) + (next() >> 2) as i32,
                        };
                        let sh = match o % 3 {
                            0 => 1 + (next() % 62) as u8,
                            1 => [1u8, 62][next() as usize % 2],
                            _ => 28 + (next() % 20) as u8,
                        };
                        b[4 * o..4 * o + 4].copy_from_slice(&bias.to_le_bytes());
                        mult[4 * o..4 * o + 4].copy_from_slice(&mu.to_le_bytes());
                        shift[o] = sh;
                    }
                    for v in x.iter_mut().take(n) {
                        *v = match trial {
                            0 | 1 => [i16::MIN, i16::MAX][next() as usize % 2],
                            _ => next() as i16,
                        };
                    }
                    let lin = Linear::from_raw(
                        n,
                        m,
                        &w[..n * m],
                        &b[..4 * m],
                        &mult[..4 * m],
                        &shift[..m],
                    );
                    for relu in [false, true] {
                        let mut want = [0i16; MAX_OUT];
                        linear_reference(&lin, &x[..n], &mut want, relu);
                        let mut got = [0i16; MAX_OUT];
                        linear_fixed(&lin, &x[..n], &mut got[..m], relu);
                        assert_eq!(got[..m], want[..m], "n={n} m={m} trial={trial} relu={relu}");
                        let mut port = [0i16; MAX_OUT];
                        linear_fixed_portable(&lin, &x[..n], &mut port[..m], relu);
                        assert_eq!(port[..m], want[..m], "n={n} m={m} trial={trial}");
                        #[cfg(all(target_arch = "x86_64", feature = "std"))]
                        if m >= 4 && std::arch::is_x86_feature_detected!("avx2") {
                            let mut simd = [0i16; MAX_OUT];
                            let (wt, bt, mt, st) = lin.fixed_tensors();
                            // SAFETY: AVX2 detected; the tensors hold m rows of n weights and
                            // m biases, multipliers and shifts.
                            unsafe {
                                linear_i16_avx2(wt, bt, mt, st, &x[..n], &mut simd[..m], relu)
                            };
                            assert_eq!(simd[..m], want[..m], "n={n} m={m} trial={trial}");
                        }
                        checked += m;
                        saturated += want[..m]
                            .iter()
                            .filter(|&&v| v == i16::MAX || v == i16::MIN)
                            .count();
                    }
                }
            }
        }
        // The cases reach both the saturated and the unsaturated outputs.
        assert!(
            saturated > checked / 10 && saturated < checked * 9 / 10,
            "{saturated}/{checked}"
        );
    }

    /// The paths this CPU can run, with a note for each one it cannot (tests skip those).
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    fn runnable_paths() -> std::vec::Vec<Path> {
        Path::ALL
            .iter()
            .copied()
            .filter(|p| {
                let ok = p.supported();
                if !ok {
                    std::println!(
                        "note: this CPU lacks {}: its kernel is not tested",
                        p.name()
                    );
                }
                ok
            })
            .collect()
    }

    /// Every path's single-row dot product, int16 and int8 (the ANGraph-P residual layers and heads), against
    /// the plain loop, at every length up to 300 and at the extremes.
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    #[test]
    fn every_path_dot_equals_scalar() {
        let mut rng = crate::test_rng::Lcg::new(0xd07_d07);
        let mut next = || rng.next_u32();
        let paths = runnable_paths();
        for n in 0..300usize {
            for trial in 0..8 {
                let row: std::vec::Vec<u8> = (0..n)
                    .map(|_| match trial {
                        0 => 0x80,
                        1 => 0x7f,
                        2 => [0x80, 0x7f][next() as usize % 2],
                        _ => next() as u8,
                    })
                    .collect();
                let x: std::vec::Vec<i16> = (0..n)
                    .map(|_| match trial {
                        0 => i16::MIN,
                        1 => i16::MAX,
                        2 => [i16::MIN, i16::MAX][next() as usize % 2],
                        _ => next() as i16,
                    })
                    .collect();
                let want = dot_i8_i16_scalar(&row, &x);
                let x8: std::vec::Vec<i8> = x.iter().map(|&v| (v >> 8) as i8).collect();
                let want8 = dot_i8_i8(&row, &x8);
                for &p in &paths {
                    assert_eq!(dot_i8_with(p, &row, &x8), want8, "int8 n={n} {p:?}");
                    if n > 1 {
                        let short = dot_i8_i8(&row[..n - 1], &x8);
                        assert_eq!(dot_i8_with(p, &row[..n - 1], &x8), short, "int8 {p:?}");
                    }
                    assert_eq!(dot_i8_with(p, &row, &x), want, "n={n} {p:?}");
                    if n > 1 {
                        // Unequal lengths use the shorter one.
                        let short = dot_i8_i16_scalar(&row, &x[..n - 1]);
                        assert_eq!(dot_i8_with(p, &row, &x[..n - 1]), short, "n={n} {p:?}");
                        let short = dot_i8_i16_scalar(&row[..n - 1], &x);
                        assert_eq!(dot_i8_with(p, &row[..n - 1], &x), short, "n={n} {p:?}");
                    }
                }
            }
        }
    }

    /// Every path's whole layer (16/8/4-row passes, masked tails) against the reference on
    /// random shapes up to 300 inputs and 70 outputs (the models' 36..200 x 16..200 included)
    /// with extreme weights, activations, biases, multipliers and shifts.
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    #[test]
    fn every_path_layer_equals_the_reference_on_random_shapes() {
        let mut rng = crate::test_rng::Lcg::new(0x512_512);
        let mut next = || rng.next_u32();
        let paths = runnable_paths();
        let mut shapes: std::vec::Vec<(usize, usize)> = std::vec![
            (100, 100),
            (200, 100),
            (100, 200),
            (36, 128),
            (128, 128),
            (128, 64),
            (64, 64),
            (64, 16),
            (16, 1),
            (31, 17),
            (33, 15),
            (1, 4),
            (32, 3),
        ];
        for _ in 0..400 {
            shapes.push((1 + next() as usize % 300, 1 + next() as usize % 70));
        }
        let (mut checked, mut checked8) = (0usize, 0usize);
        for (si, &(n, m)) in shapes.iter().enumerate() {
            for trial in 0..3 {
                let w: std::vec::Vec<u8> = (0..n * m)
                    .map(|_| match trial {
                        0 => [0x80, 0x7f][next() as usize % 2],
                        _ => next() as u8,
                    })
                    .collect();
                let (mut b, mut mult, mut shift) = (
                    std::vec![0u8; 4 * m],
                    std::vec![0u8; 4 * m],
                    std::vec![0u8; m],
                );
                for o in 0..m {
                    let bias: i32 = match (trial + o) % 5 {
                        0 => i32::MAX - (next() % 1000) as i32,
                        1 => i32::MIN + (next() % 1000) as i32,
                        2 => next() as i32,
                        _ => (next() as i32) >> 12,
                    };
                    let mu: i32 = match o % 4 {
                        0 => 0,
                        1 => i32::MAX,
                        _ => (1 << 30) + (next() >> 2) as i32,
                    };
                    b[4 * o..4 * o + 4].copy_from_slice(&bias.to_le_bytes());
                    mult[4 * o..4 * o + 4].copy_from_slice(&mu.to_le_bytes());
                    shift[o] = 1 + (next() % 62) as u8;
                }
                let x: std::vec::Vec<i16> = (0..n)
                    .map(|_| match trial {
                        0 | 1 => [i16::MIN, i16::MAX][next() as usize % 2],
                        _ => next() as i16,
                    })
                    .collect();
                let lin = Linear::from_raw(n, m, &w, &b, &mult, &shift);
                for relu in [false, true] {
                    let mut want = std::vec![0i16; m];
                    linear_reference(&lin, &x, &mut want, relu);
                    for &p in &paths {
                        let mut got = std::vec![0i16; m];
                        linear_fixed_with(p, &lin, &x, &mut got, relu);
                        assert_eq!(got, want, "shape {si}: n={n} m={m} trial={trial} {p:?}");
                        for o in [0, m / 2, m - 1] {
                            assert_eq!(
                                accumulate_with(p, &lin, &x, o),
                                accumulate_with(Path::Scalar, &lin, &x, o),
                                "n={n} m={m} o={o} {p:?}"
                            );
                        }
                        checked += m;
                    }
                    // Int8 activations (the VNNI `vpdpbusd` kernel on 16-row passes).
                    let x8: std::vec::Vec<i8> = x.iter().map(|&v| (v >> 8) as i8).collect();
                    let mut want8 = std::vec![0i8; m];
                    for (o, y) in want8.iter_mut().enumerate() {
                        let dot = dot_i8_i8(lin.row_bytes(o), &x8);
                        let acc = sat_i32(dot as i64 + lin.bias_i32(o) as i64);
                        let v = lin.requant(o).apply32(acc);
                        *y = i8::sat(if relu { v.max(0) } else { v });
                    }
                    for &p in &paths {
                        let mut got = std::vec![0i8; m];
                        linear_fixed_with(p, &lin, &x8, &mut got, relu);
                        assert_eq!(got, want8, "int8 n={n} m={m} trial={trial} {p:?}");
                        for o in [0, m / 2, m - 1] {
                            let want =
                                dot_i8_i8(lin.row_bytes(o), &x8) as i64 + lin.bias_i32(o) as i64;
                            assert_eq!(accumulate_with(p, &lin, &x8, o), want, "int8 {p:?}");
                        }
                        checked8 += m;
                    }
                }
            }
        }
        assert!(checked > 100_000, "{checked}");
        assert!(checked8 > 50_000, "{checked8}");
    }

    /// A fixed-capacity buffer for the tests (the crate is no_std).
    mod alloc_free {
        pub struct Buf<T: Copy + Default> {
            data: [T; 80],
            len: usize,
        }
        impl<T: Copy + Default> Buf<T> {
            pub fn from_fn(len: usize, mut f: impl FnMut(usize) -> T) -> Self {
                let mut data = [T::default(); 80];
                for (i, d) in data.iter_mut().enumerate().take(len) {
                    *d = f(i);
                }
                Buf { data, len }
            }
            pub fn as_slice(&self) -> &[T] {
                &self.data[..self.len]
            }
        }
    }
}
