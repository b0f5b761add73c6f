//! The int16-activation dot products with the Cortex-M4/M7 DSP extension (feature
//! `cortex-m-dsp`, ARMv7E-M targets such as `thumbv7em-none-eabihf`): `SMLAD` multiplies two
//! signed 16-bit pairs and adds both products to the accumulator in one instruction. Four int8
//! weights are sign-extended to two 16-bit pairs with `SXTB16` (bytes 0 and 2, then bytes 1 and
//! 3 with `ROR #8`); the activations are repacked to match with `PKHBT` / `PKHTB` once per four
//! inputs and shared by four weight rows in [`dot4_i8_i16`].
//!
//! `SMLAD` wraps modulo 2^32 (it only sets the Q flag), so the sums equal the portable path's
//! wrapping `i32` additions bit for bit, in any order. An ARMv7-M core without the DSP
//! extension (Cortex-M3) cannot assemble these instructions: enable the feature only for
//! ARMv7E-M builds.
use core::arch::asm;

/// `acc + a.lo * b.lo + a.hi * b.hi` (signed 16-bit halves, wrapping).
#[inline(always)]
fn smlad(a: u32, b: u32, mut acc: i32) -> i32 {
    // SAFETY: a pure register operation of the DSP extension (the feature is only enabled for
    // cores that have it). The accumulator is updated in place (one register per sum).
    unsafe {
        asm!("smlad {acc}, {a}, {b}, {acc}", acc = inout(reg) acc, a = in(reg) a, b = in(reg) b,
             options(pure, nomem, nostack, preserves_flags));
    }
    acc
}

/// Bytes 0 and 2 of `w`, sign-extended to the two halves.
#[inline(always)]
fn sxtb16(w: u32) -> u32 {
    let r: u32;
    // SAFETY: as in `smlad`.
    unsafe {
        asm!("sxtb16 {r}, {w}", r = lateout(reg) r, w = in(reg) w,
             options(pure, nomem, nostack, preserves_flags));
    }
    r
}

/// Bytes 1 and 3 of `w`, sign-extended to the two halves.
#[inline(always)]
fn sxtb16_ror8(w: u32) -> u32 {
    let r: u32;
    // SAFETY: as in `smlad`.
    unsafe {
        asm!("sxtb16 {r}, {w}, ror #8", r = lateout(reg) r, w = in(reg) w,
             options(pure, nomem, nostack, preserves_flags));
    }
    r
}

/// `(lo.lo, hi.lo)`: the low halves of two words.
#[inline(always)]
fn pkhbt(lo: u32, hi: u32) -> u32 {
    let r: u32;
    // SAFETY: as in `smlad`.
    unsafe {
        asm!("pkhbt {r}, {lo}, {hi}, lsl #16", r = lateout(reg) r, lo = in(reg) lo, hi = in(reg) hi,
             options(pure, nomem, nostack, preserves_flags));
    }
    r
}

/// `(lo.hi, hi.hi)`: the high halves of two words.
#[inline(always)]
fn pkhtb(hi: u32, lo: u32) -> u32 {
    let r: u32;
    // SAFETY: as in `smlad`.
    unsafe {
        asm!("pkhtb {r}, {hi}, {lo}, asr #16", r = lateout(reg) r, hi = in(reg) hi, lo = in(reg) lo,
             options(pure, nomem, nostack, preserves_flags));
    }
    r
}

/// Four weights at `p` (any alignment: ARMv7-M `LDR` accepts unaligned addresses in normal
/// memory, and `read_unaligned` lets the compiler use it).
///
/// # Safety
/// `p..p + 4` is readable.
#[inline(always)]
unsafe fn weights4(p: *const u8) -> u32 {
    // SAFETY: the caller's contract.
    unsafe { core::ptr::read_unaligned(p as *const u32) }
}

/// Activations `x[k..k + 4]` at `p` as the pairs `(x0, x2)` and `(x1, x3)` that match
/// [`sxtb16`] and [`sxtb16_ror8`] of four weights: two word loads, two packs.
///
/// # Safety
/// `p..p + 4` (four `i16`) is readable.
#[inline(always)]
unsafe fn pairs(p: *const i16) -> (u32, u32) {
    // SAFETY: the caller's contract.
    let (x01, x23) = unsafe {
        (
            core::ptr::read_unaligned(p as *const u32),
            core::ptr::read_unaligned(p.add(2) as *const u32),
        )
    };
    (pkhbt(x01, x23), pkhtb(x23, x01))
}

/// `sum_k (row[k] as i8) * x[k]` over `min(row.len(), x.len())` terms.
#[inline]
pub fn dot_i8_i16(row: &[u8], x: &[i16]) -> i32 {
    let n = row.len().min(x.len());
    let full = n / 4 * 4;
    let (wp, xp) = (row.as_ptr(), x.as_ptr());
    let mut s = 0i32;
    let mut k = 0;
    while k < full {
        // SAFETY: k + 4 <= full <= n, within both slices.
        let (w, (a, b)) = unsafe { (weights4(wp.add(k)), pairs(xp.add(k))) };
        s = smlad(sxtb16(w), a, s);
        s = smlad(sxtb16_ror8(w), b, s);
        k += 4;
    }
    for k in full..n {
        s = s.wrapping_add(row[k] as i8 as i32 * x[k] as i32);
    }
    s
}

/// Four rows `w[r * n..(r + 1) * n]` (`n = x.len()`) against the same activations: each
/// repacked activation pair serves four rows. All zero if `w.len() < 4 * n` (as the portable
/// [`super::dot4_i8_i16`]).
#[inline]
pub fn dot4_i8_i16(w: &[u8], x: &[i16]) -> [i32; 4] {
    let n = x.len();
    if w.len() < 4 * n {
        return [0; 4];
    }
    let full = n / 4 * 4;
    // Five pointers walking in step (activations, four rows) and an end pointer: with the four
    // accumulators and the unpacked pairs this fits the 14 allocatable registers.
    let mut xp = x.as_ptr();
    let mut r0 = w.as_ptr();
    // SAFETY: `full <= n` and 4 * n <= w.len(): every pointer stays within (or one past) its
    // slice.
    let (x_end, mut r1, mut r2, mut r3) =
        unsafe { (xp.add(full), r0.add(n), r0.add(2 * n), r0.add(3 * n)) };
    let (mut s0, mut s1, mut s2, mut s3) = (0i32, 0i32, 0i32, 0i32);
    while xp < x_end {
        // SAFETY: xp + 4 <= x_end: four activations and four weights of each row remain.
        unsafe {
            let (a, b) = pairs(xp);
            let w = weights4(r0);
            s0 = smlad(sxtb16_ror8(w), b, smlad(sxtb16(w), a, s0));
            let w = weights4(r1);
            s1 = smlad(sxtb16_ror8(w), b, smlad(sxtb16(w), a, s1));
            let w = weights4(r2);
            s2 = smlad(sxtb16_ror8(w), b, smlad(sxtb16(w), a, s2));
            let w = weights4(r3);
            s3 = smlad(sxtb16_ror8(w), b, smlad(sxtb16(w), a, s3));
            xp = xp.add(4);
            r0 = r0.add(4);
            r1 = r1.add(4);
            r2 = r2.add(4);
            r3 = r3.add(4);
        }
    }
    let mut s = [s0, s1, s2, s3];
    for k in full..n {
        for (r, acc) in s.iter_mut().enumerate() {
            *acc = acc.wrapping_add(w[r * n + k] as i8 as i32 * x[k] as i32);
        }
    }
    s
}

/// Activations a layer packs once for all its rows (see [`pack`]): at most this many.
pub const PACK_CAPACITY: usize = 256;

/// `x[..n / 4 * 4]` as the `(x0, x2), (x1, x3)` pairs of every group of four, into
/// `out[..n / 2]` (`out.len() >= n / 4 * 2`): what [`dot4_packed`] reads with one `LDRD`.
#[inline]
pub fn pack(x: &[i16], out: &mut [u32]) {
    for (q, o) in x.chunks_exact(4).zip(out.chunks_exact_mut(2)) {
        let (x01, x23) = (
            q[0] as u16 as u32 | (q[1] as u16 as u32) << 16,
            q[2] as u16 as u32 | (q[3] as u16 as u32) << 16,
        );
        o[0] = pkhbt(x01, x23);
        o[1] = pkhtb(x23, x01);
    }
}

/// [`dot4_i8_i16`] on activations [`pack`]ed once per layer: `packed` holds the pairs of
/// `x[..n / 4 * 4]` (`n = x.len()`), the tail comes from `x`. Bit-identical to it.
#[inline]
pub fn dot4_packed(w: &[u8], x: &[i16], packed: &[u32]) -> [i32; 4] {
    let n = x.len();
    let full = n / 4 * 4;
    if w.len() < 4 * n || packed.len() < full / 2 {
        return [0; 4];
    }
    let mut pp = packed.as_ptr();
    let mut r0 = w.as_ptr();
    // SAFETY: `full / 2 <= packed.len()` and `4 * n <= w.len()`: every pointer stays within (or
    // one past) its slice.
    let (p_end, mut r1, mut r2, mut r3) =
        unsafe { (pp.add(full / 2), r0.add(n), r0.add(2 * n), r0.add(3 * n)) };
    let (mut s0, mut s1, mut s2, mut s3) = (0i32, 0i32, 0i32, 0i32);
    while pp < p_end {
        // SAFETY: pp + 2 <= p_end: one packed group and four weights of each row remain.
        unsafe {
            let (a, b) = (pp.read(), pp.add(1).read());
            let w = weights4(r0);
            s0 = smlad(sxtb16_ror8(w), b, smlad(sxtb16(w), a, s0));
            let w = weights4(r1);
            s1 = smlad(sxtb16_ror8(w), b, smlad(sxtb16(w), a, s1));
            let w = weights4(r2);
            s2 = smlad(sxtb16_ror8(w), b, smlad(sxtb16(w), a, s2));
            let w = weights4(r3);
            s3 = smlad(sxtb16_ror8(w), b, smlad(sxtb16(w), a, s3));
            pp = pp.add(2);
            r0 = r0.add(4);
            r1 = r1.add(4);
            r2 = r2.add(4);
            r3 = r3.add(4);
        }
    }
    let mut s = [s0, s1, s2, s3];
    for k in full..n {
        for (r, acc) in s.iter_mut().enumerate() {
            *acc = acc.wrapping_add(w[r * n + k] as i8 as i32 * x[k] as i32);
        }
    }
    s
}
