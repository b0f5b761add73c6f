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

use crate::fixed::{sat_i32, Activation, Requant};
use crate::layer::Linear;

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

/// The activation types' arithmetic ([`Activation`]): saturation from the fixed-point module's
/// rules, the dot products from here.
impl Activation for i16 {
    const MAX: i32 = i16::MAX as i32;
    const BITS: u8 = 16;
    #[inline(always)]
    fn sat(x: i64) -> i16 {
        x.clamp(i16::MIN as i64, i16::MAX as i64) as i16
    }
    #[inline(always)]
    fn widen(self) -> i32 {
        self as i32
    }
    #[inline(always)]
    fn dot_i8(row: &[u8], x: &[i16]) -> i32 {
        dot_i8_i16(row, x)
    }
    #[inline(always)]
    fn as_i16(x: &[i16]) -> Option<&[i16]> {
        Some(x)
    }
    #[inline(always)]
    fn as_i16_mut(x: &mut [i16]) -> Option<&mut [i16]> {
        Some(x)
    }
}

impl Activation for i8 {
    const MAX: i32 = i8::MAX as i32;
    const BITS: u8 = 8;
    #[inline(always)]
    fn sat(x: i64) -> i8 {
        x.clamp(i8::MIN as i64, i8::MAX as i64) as i8
    }
    #[inline(always)]
    fn widen(self) -> i32 {
        self as i32
    }
    #[inline(always)]
    fn dot_i8(row: &[u8], x: &[i8]) -> i32 {
        dot_i8_i8(row, x)
    }
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

/// The second layer of an ANGraph-P residual block, `relu(lin(x) + skip(skip_x))`:
/// `out[o] = sat(max(0, requant_o(sum_k w[o,k] x[k] + bias[o]) + skip.apply32(skip_x[o])))`,
/// with the accumulator requantized as an unsaturated `i64` ([`Requant::apply64`]) and the
/// sum saturating. `skip_x` (the block input) has `out_dim` values; `out` is neither input.
///
/// On an x86_64 host (feature `std`) with at least 16 outputs the AVX-512 paths run 16 rows
/// per pass with the requantization on vector lanes; otherwise one dot product per output.
/// All give identical results.
#[inline]
pub fn linear_residual<A: Activation>(
    lin: &Linear<'_>,
    x: &[A],
    skip_x: &[A],
    skip: Requant,
    out: &mut [A],
) {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    {
        linear_residual_with(path(), lin, x, skip_x, skip, out)
    }
    #[cfg(not(all(target_arch = "x86_64", feature = "std")))]
    {
        residual_rows(lin, x, skip_x, skip, out, A::dot_i8)
    }
}

/// [`linear_residual`] one output at a time with the given dot product.
#[inline]
fn residual_rows<A: Activation>(
    lin: &Linear<'_>,
    x: &[A],
    skip_x: &[A],
    skip: Requant,
    out: &mut [A],
    dot: impl Fn(&[u8], &[A]) -> i32,
) {
    let x = &x[..lin.in_dim];
    for (o, (y, &s)) in out[..lin.out_dim].iter_mut().zip(skip_x).enumerate() {
        let acc = dot(lin.row_bytes(o), x) as i64 + lin.bias_i32(o) as i64;
        let v = lin.requant(o).apply64(acc);
        *y = A::sat(v.saturating_add(skip.apply32(s.widen())).max(0));
    }
}

/// [`linear_residual`] on a given path (clamped to what the CPU supports).
#[cfg(all(target_arch = "x86_64", feature = "std"))]
#[inline]
pub fn linear_residual_with<A: Activation>(
    p: Path,
    lin: &Linear<'_>,
    x: &[A],
    skip_x: &[A],
    skip: Requant,
    out: &mut [A],
) {
    let p = if p > Path::Avx2 {
        p.min(best_path())
    } else {
        p
    };
    let (n, m) = (lin.in_dim, lin.out_dim);
    if p >= Path::Avx512Bw && m >= 16 && x.len() >= n && skip_x.len() >= m && out.len() >= m {
        let (w, b, mult, shift) = lin.fixed_tensors();
        if w.len() >= n * m && b.len() >= 4 * m && mult.len() >= 4 * m && shift.len() >= m {
            let (x, sx, o) = (&x[..n], &skip_x[..m], &mut out[..m]);
            if let (Some(x16), Some(s16), Some(o16)) =
                (A::as_i16(x), A::as_i16(sx), A::as_i16_mut(o))
            {
                // SAFETY: the path is supported (clamped to `best_path`); lengths checked above.
                match p {
                    Path::Avx512Vnni => unsafe {
                        avx512::residual_i16_vnni(w, b, mult, shift, x16, s16, skip, o16)
                    },
                    _ => unsafe { avx512::residual_i16_bw(w, b, mult, shift, x16, s16, skip, o16) },
                }
                return;
            }
            if let (Path::Avx512Vnni, Some(x8), Some(s8), Some(o8)) =
                (p, as_i8(x), as_i8(sx), as_i8_mut(o))
            {
                // SAFETY: AVX-512 VNNI is supported; lengths checked above.
                unsafe { avx512::residual_i8_vnni(w, b, mult, shift, x8, s8, skip, o8) };
                return;
            }
        }
    }
    residual_rows(lin, x, skip_x, skip, out, |row, x| dot_i8_with(p, row, x))
}

/// Index of feature `k` of sample `b` in the block layout of `lanes` samples: features in
/// pairs `(2j, 2j + 1)`, each pair of every sample adjacent (`i16` pairs that one `i32` lane
/// holds), the samples of a pair consecutive: `2 * ((k / 2) * lanes + b) + k % 2`. A block of
/// `dim` features takes [`block_len`]`(dim, lanes)` values; an odd `dim` pads its last pair.
#[inline(always)]
pub const fn block_index(k: usize, b: usize, lanes: usize) -> usize {
    2 * ((k / 2) * lanes + b) + (k & 1)
}

/// Values of a block of `lanes` samples of `dim` features (see [`block_index`]).
pub const fn block_len(dim: usize, lanes: usize) -> usize {
    2 * dim.div_ceil(2) * lanes
}

/// One linear layer over a block of `lanes` samples in the block layout ([`block_index`]):
/// for every sample the values [`linear_fixed`] gives (activations `A`, stored as `i16`, so
/// an int8 model's values are sign-extended). The pad half of an odd output is set to 0.
///
/// On an x86_64 host (feature `std`) the AVX-512 paths, with `lanes` a multiple of 16, put the
/// samples in the vector lanes (one weight broadcast serves 16 samples, no horizontal sums);
/// otherwise [`linear_block_portable`]. All give identical results.
#[inline]
pub fn linear_block<A: Activation>(
    lin: &Linear<'_>,
    x: &[i16],
    out: &mut [i16],
    lanes: usize,
    relu: bool,
) {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    {
        linear_block_with::<A>(path(), lin, x, out, lanes, relu)
    }
    #[cfg(not(all(target_arch = "x86_64", feature = "std")))]
    {
        linear_block_portable::<A>(lin, x, out, lanes, relu)
    }
}

/// [`linear_residual`] over a block of `lanes` samples in the block layout (`x`, `skip_x` and
/// `out` each a separate block).
#[inline]
pub fn residual_block<A: Activation>(
    lin: &Linear<'_>,
    x: &[i16],
    skip_x: &[i16],
    skip: Requant,
    out: &mut [i16],
    lanes: usize,
) {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    {
        residual_block_with::<A>(path(), lin, x, skip_x, skip, out, lanes)
    }
    #[cfg(not(all(target_arch = "x86_64", feature = "std")))]
    {
        residual_block_portable::<A>(lin, x, skip_x, skip, out, lanes)
    }
}

/// The portable definition of [`linear_block`]: each sample gathered, then the plain loops.
pub fn linear_block_portable<A: Activation>(
    lin: &Linear<'_>,
    x: &[i16],
    out: &mut [i16],
    lanes: usize,
    relu: bool,
) {
    block_rows(lin, x, out, lanes, |o, dot, _| {
        let acc = sat_i32(dot as i64 + lin.bias_i32(o) as i64);
        let v = lin.requant(o).apply32(acc);
        A::sat(if relu { v.max(0) } else { v }).widen() as i16
    })
}

/// The portable definition of [`residual_block`].
pub fn residual_block_portable<A: Activation>(
    lin: &Linear<'_>,
    x: &[i16],
    skip_x: &[i16],
    skip: Requant,
    out: &mut [i16],
    lanes: usize,
) {
    block_rows(lin, x, out, lanes, |o, dot, b| {
        let v = lin.requant(o).apply64(dot as i64 + lin.bias_i32(o) as i64);
        let s = skip.apply32(skip_x[block_index(o, b, lanes)] as i32);
        A::sat(v.saturating_add(s).max(0)).widen() as i16
    })
}

/// Every sample of a block: gather its features, `out(o, b) = finish(o, dot, b)` with the
/// plain dot product of row `o`.
fn block_rows(
    lin: &Linear<'_>,
    x: &[i16],
    out: &mut [i16],
    lanes: usize,
    finish: impl Fn(usize, i32, usize) -> i16,
) {
    let (n, m) = (lin.in_dim.min(MAX_IN), lin.out_dim);
    let mut row = [0i16; MAX_IN];
    for b in 0..lanes {
        for (k, v) in row[..n].iter_mut().enumerate() {
            *v = x[block_index(k, b, lanes)];
        }
        for o in 0..m {
            out[block_index(o, b, lanes)] =
                finish(o, dot_i8_i16_scalar(lin.row_bytes(o), &row[..n]), b);
        }
        if m % 2 == 1 {
            out[block_index(m, b, lanes)] = 0;
        }
    }
}

/// Widest layer input.
const MAX_IN: usize = crate::config::MAX_LINEAR_IN as usize;

/// [`linear_block`] on a given path (clamped to what the CPU supports).
#[cfg(all(target_arch = "x86_64", feature = "std"))]
#[inline]
pub fn linear_block_with<A: Activation>(
    p: Path,
    lin: &Linear<'_>,
    x: &[i16],
    out: &mut [i16],
    lanes: usize,
    relu: bool,
) {
    let lo = if relu { 0 } else { -(A::MAX as i64) - 1 };
    let fin = avx512::BlockFinish::Plain {
        lo,
        hi: A::MAX as i64,
    };
    if !block_kernel(p, lin, x, out, lanes, fin) {
        linear_block_portable::<A>(lin, x, out, lanes, relu)
    }
}

/// [`residual_block`] on a given path (clamped to what the CPU supports).
#[cfg(all(target_arch = "x86_64", feature = "std"))]
#[inline]
pub fn residual_block_with<A: Activation>(
    p: Path,
    lin: &Linear<'_>,
    x: &[i16],
    skip_x: &[i16],
    skip: Requant,
    out: &mut [i16],
    lanes: usize,
) {
    let fin = avx512::BlockFinish::Residual {
        skip_x,
        skip,
        hi: A::MAX as i64,
    };
    if skip_x.len() < block_len(lin.out_dim, lanes) || !block_kernel(p, lin, x, out, lanes, fin) {
        residual_block_portable::<A>(lin, x, skip_x, skip, out, lanes)
    }
}

/// Whether the block layers have a vector kernel on this path (the others use the portable
/// definition).
#[cfg(all(target_arch = "x86_64", feature = "std"))]
pub fn has_block_kernel(p: Path) -> bool {
    p.min(best_path()) >= Path::Avx512Bw
}

/// The AVX-512 block layer, if the path has it and the shapes fit; `false` otherwise.
#[cfg(all(target_arch = "x86_64", feature = "std"))]
#[inline]
fn block_kernel(
    p: Path,
    lin: &Linear<'_>,
    x: &[i16],
    out: &mut [i16],
    lanes: usize,
    fin: avx512::BlockFinish<'_>,
) -> bool {
    let (n, m) = (lin.in_dim, lin.out_dim);
    if !has_block_kernel(p)
        || lanes == 0
        || !lanes.is_multiple_of(16)
        || n == 0
        || n > MAX_IN
        || x.len() < block_len(n, lanes)
        || out.len() < block_len(m, lanes)
    {
        return false;
    }
    let (w, b, mult, shift) = lin.fixed_tensors();
    if w.len() < n * m || b.len() < 4 * m || mult.len() < 4 * m || shift.len() < m {
        return false;
    }
    // SAFETY: AVX-512 is supported (`has_block_kernel`); shapes and lengths checked above (a
    // residual `skip_x` by the caller).
    unsafe {
        if p.min(best_path()) == Path::Avx512Vnni {
            avx512::block_i16_vnni(w, b, mult, shift, n, m, x, out, lanes, fin)
        } else {
            avx512::block_i16_bw(w, b, mult, shift, n, m, x, out, lanes, fin)
        }
    }
    true
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
                let (w, b, mult, shift) = random_tensors(&mut next, n, m, trial);
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

    /// Random layer tensors (weights, biases, multipliers, shifts) with the extremes of the
    /// other kernel tests: trial 0 all-extreme weights, biases near `i32::MAX`/`MIN`,
    /// multipliers 0 and `i32::MAX`, shifts 1..62.
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    #[allow(clippy::type_complexity)]
    fn random_tensors(
        next: &mut impl FnMut() -> u32,
        n: usize,
        m: usize,
        trial: usize,
    ) -> (
        std::vec::Vec<u8>,
        std::vec::Vec<u8>,
        std::vec::Vec<u8>,
        std::vec::Vec<u8>,
    ) {
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
            shift[o] = match o % 3 {
                0 => 1 + (next() % 62) as u8,
                1 => [1u8, 2, 62][next() as usize % 3],
                _ => 20 + (next() % 20) as u8,
            };
        }
        (w, b, mult, shift)
    }

    /// A random skip requantization (multiplier 0, `i32::MAX` or in range; shifts 1..62).
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    fn random_skip(next: &mut impl FnMut() -> u32, trial: usize) -> Requant {
        Requant {
            mult: match trial % 4 {
                0 => i32::MAX,
                1 => 0,
                _ => (1 << 30) + (next() >> 2) as i32,
            },
            shift: match trial % 3 {
                0 => 1,
                1 => 62,
                _ => 20 + (next() % 20) as u8,
            },
        }
    }

    /// Random activations of `n` values in `A`'s range (trials 0 and 1 at the extremes).
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    fn random_acts<A: Activation>(
        next: &mut impl FnMut() -> u32,
        n: usize,
        trial: usize,
    ) -> std::vec::Vec<A> {
        (0..n)
            .map(|_| {
                let v = match trial {
                    0 | 1 => [-(A::MAX as i64) - 1, A::MAX as i64][next() as usize % 2],
                    _ => (next() as i32 >> (32 - A::BITS as u32)) as i64,
                };
                A::sat(v)
            })
            .collect()
    }

    /// Every path's residual layer (16-row passes, vector `i64` requantization) against the
    /// one-output-at-a-time plain loops, int16 and int8, with accumulators and sums at the
    /// saturation limits.
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    #[test]
    fn every_path_residual_layer_equals_the_reference() {
        fn check<A: Activation + core::fmt::Debug + PartialEq>(
            next: &mut impl FnMut() -> u32,
            paths: &[Path],
            n: usize,
            m: usize,
            trial: usize,
        ) -> usize {
            let (w, b, mult, shift) = random_tensors(next, n, m, trial);
            let lin = Linear::from_raw(n, m, &w, &b, &mult, &shift);
            let x = random_acts::<A>(next, n, trial);
            let sx = random_acts::<A>(next, m, trial + 1);
            let skip = random_skip(next, trial);
            let mut want = std::vec![A::default(); m];
            residual_rows(&lin, &x, &sx, skip, &mut want, |r, x| match A::as_i16(x) {
                Some(x16) => dot_i8_i16_scalar(r, x16),
                None => A::dot_i8(r, x),
            });
            for &p in paths {
                let mut got = std::vec![A::default(); m];
                linear_residual_with(p, &lin, &x, &sx, skip, &mut got);
                assert_eq!(got, want, "n={n} m={m} trial={trial} {p:?}");
            }
            want.iter().filter(|&&v| v.widen() == A::MAX).count()
        }
        let mut rng = crate::test_rng::Lcg::new(0x0005_e51d);
        let mut next = || rng.next_u32();
        let paths = runnable_paths();
        let mut shapes: std::vec::Vec<(usize, usize)> = std::vec![
            (128, 128),
            (64, 64),
            (16, 16),
            (200, 17),
            (33, 15),
            (1, 1),
            (5, 31)
        ];
        for _ in 0..300 {
            shapes.push((1 + next() as usize % 300, 1 + next() as usize % 70));
        }
        let (mut sat16, mut sat8) = (0, 0);
        for &(n, m) in &shapes {
            for trial in 0..4 {
                sat16 += check::<i16>(&mut next, &paths, n, m, trial);
                sat8 += check::<i8>(&mut next, &paths, n, m, trial);
            }
        }
        assert!(sat16 > 1000 && sat8 > 1000, "{sat16} {sat8}");
    }

    /// Every path's block layers (plain and residual) against the per-sample reference, with
    /// lane counts that are and are not multiples of 16, odd widths (padded pairs) and the
    /// extremes.
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    #[test]
    fn every_path_block_layer_equals_the_per_sample_reference() {
        fn check<A: Activation + core::fmt::Debug + PartialEq>(
            next: &mut impl FnMut() -> u32,
            paths: &[Path],
            n: usize,
            m: usize,
            lanes: usize,
            trial: usize,
        ) {
            let (w, b, mult, shift) = random_tensors(next, n, m, trial);
            let lin = Linear::from_raw(n, m, &w, &b, &mult, &shift);
            let skip = random_skip(next, trial);
            let xs: std::vec::Vec<std::vec::Vec<A>> = (0..lanes)
                .map(|_| random_acts::<A>(next, n, trial))
                .collect();
            let ss: std::vec::Vec<std::vec::Vec<A>> = (0..lanes)
                .map(|_| random_acts::<A>(next, m, trial + 1))
                .collect();
            let pack = |rows: &[std::vec::Vec<A>], dim: usize| {
                let mut v = std::vec![0x5a5au16 as i16; block_len(dim, lanes)];
                for (bi, r) in rows.iter().enumerate() {
                    for (k, &a) in r.iter().enumerate() {
                        v[block_index(k, bi, lanes)] = a.widen() as i16;
                    }
                }
                v
            };
            let (xb, sb) = (pack(&xs, n), pack(&ss, m));
            let as_a = |v: i16| A::sat(v as i64);
            for relu in [false, true] {
                for &p in paths {
                    let mut got = std::vec![0x3333i16; block_len(m, lanes)];
                    linear_block_with::<A>(p, &lin, &xb, &mut got, lanes, relu);
                    let mut res = std::vec![0x3333i16; block_len(m, lanes)];
                    residual_block_with::<A>(p, &lin, &xb, &sb, skip, &mut res, lanes);
                    for bi in 0..lanes {
                        let mut want = std::vec![A::default(); m];
                        linear_fixed_with(Path::Scalar, &lin, &xs[bi], &mut want, relu);
                        let mut want_r = std::vec![A::default(); m];
                        linear_residual_with(
                            Path::Scalar,
                            &lin,
                            &xs[bi],
                            &ss[bi],
                            skip,
                            &mut want_r,
                        );
                        let row: std::vec::Vec<A> = (0..m)
                            .map(|o| as_a(got[block_index(o, bi, lanes)]))
                            .collect();
                        let row_r: std::vec::Vec<A> = (0..m)
                            .map(|o| as_a(res[block_index(o, bi, lanes)]))
                            .collect();
                        let ctx = std::format!("n={n} m={m} lanes={lanes} trial={trial} {p:?}");
                        assert_eq!(row, want, "{ctx} relu={relu} sample {bi}");
                        assert_eq!(row_r, want_r, "{ctx} residual sample {bi}");
                        if m % 2 == 1 {
                            assert_eq!(got[block_index(m, bi, lanes)], 0, "{ctx} pad");
                            assert_eq!(res[block_index(m, bi, lanes)], 0, "{ctx} pad");
                        }
                    }
                }
            }
        }
        let mut rng = crate::test_rng::Lcg::new(0xb10c_b10c);
        let mut next = || rng.next_u32();
        let paths = runnable_paths();
        let mut cases: std::vec::Vec<(usize, usize, usize)> = std::vec![
            (36, 128, 64),
            (128, 128, 64),
            (128, 64, 16),
            (64, 64, 48),
            (64, 16, 32),
            (16, 1, 16),
            (19, 77, 80),
            (77, 41, 16),
            (1, 1, 1),
            (3, 5, 7),
            (512, 3, 16),
        ];
        for _ in 0..120 {
            let lanes = match next() % 3 {
                0 => 16 * (1 + next() as usize % 6),
                _ => 1 + next() as usize % 40,
            };
            cases.push((1 + next() as usize % 300, 1 + next() as usize % 40, lanes));
        }
        for &(n, m, lanes) in &cases {
            for trial in 0..3 {
                check::<i16>(&mut next, &paths, n, m, lanes, trial);
                check::<i8>(&mut next, &paths, n, m, lanes, trial);
            }
        }
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
