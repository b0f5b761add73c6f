//! The inner product of the fixed-point path: int8 weights against int16 or int8 activations,
//! accumulated in `i32` with wrapping adds (a valid blob never wraps: widths are capped so that
//! `512 * 127 * 32767 < 2^31`; a hostile blob gets garbage, never a panic).
//!
//! On x86_64 the int16 product uses SSE2 (part of the x86_64 baseline, so no runtime detection
//! and no `std` needed): sign-extend 16 weights to int16, then `pmaddwd`. Elsewhere (Cortex-M)
//! a plain loop. Both give identical results (wrapping `i32` addition is associative).

use crate::fixed::{sat_i32, Activation};
use crate::model::Linear;

/// `sum_k (row[k] as i8) * x[k]` over `min(row.len(), x.len())` terms.
#[inline]
pub fn dot_i8_i16(row: &[u8], x: &[i16]) -> i32 {
    #[cfg(target_arch = "x86_64")]
    {
        dot_i8_i16_sse2(row, x)
    }
    #[cfg(not(target_arch = "x86_64"))]
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
    #[cfg(not(target_arch = "x86_64"))]
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
#[inline]
pub fn linear_fixed<A: Activation>(lin: &Linear<'_>, x: &[A], out: &mut [A], relu: bool) {
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

/// The accumulator of output `o` (dot product plus bias) as `i64`.
#[inline]
pub fn accumulate<A: Activation>(lin: &Linear<'_>, x: &[A], o: usize) -> i64 {
    A::dot_i8(lin.row_bytes(o), &x[..lin.in_dim]) as i64 + lin.bias_i32(o) as i64
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

    #[test]
    fn simd_equals_scalar_at_every_length_and_extreme() {
        let mut seed = 0x1234_5678u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
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
