//! One linear layer's tensors as the blob stores them, borrowed (zero-copy): what the kernels
//! read. Below the model ([`crate::model`] builds these from a blob) and the kernels.

use crate::fixed::Requant;

/// One linear layer's tensors, borrowed from the blob.
#[derive(Debug, Clone, Copy)]
pub struct Linear<'a> {
    /// Input width.
    pub in_dim: usize,
    /// Output width.
    pub out_dim: usize,
    pub(crate) w: &'a [u8],
    pub(crate) b: &'a [u8],
    pub(crate) mult: &'a [u8],
    pub(crate) shift: &'a [u8],
}

#[inline(always)]
fn le_i32(b: &[u8], i: usize) -> i32 {
    let c = &b[4 * i..4 * i + 4];
    i32::from_le_bytes([c[0], c[1], c[2], c[3]])
}

#[inline(always)]
fn le_f32(b: &[u8], i: usize) -> f32 {
    let c = &b[4 * i..4 * i + 4];
    f32::from_le_bytes([c[0], c[1], c[2], c[3]])
}

impl<'a> Linear<'a> {
    /// Row `o` of the weights as raw bytes (`in_dim` i8 or `4 * in_dim` f32 LE).
    #[inline(always)]
    pub fn row_bytes(&self, o: usize) -> &'a [u8] {
        let stride = self.w.len() / self.out_dim;
        &self.w[o * stride..(o + 1) * stride]
    }
    /// Rows `o..o + count` of the weights as raw bytes (contiguous, row-major).
    #[inline(always)]
    pub fn rows_bytes(&self, o: usize, count: usize) -> &'a [u8] {
        let stride = self.w.len() / self.out_dim;
        &self.w[o * stride..(o + count) * stride]
    }
    /// f32 weight `(o, k)`.
    #[inline(always)]
    pub fn w_f32(&self, o: usize, k: usize) -> f32 {
        le_f32(self.w, o * self.in_dim + k)
    }
    /// f32 bias of channel `o`.
    #[inline(always)]
    pub fn b_f32(&self, o: usize) -> f32 {
        le_f32(self.b, o)
    }
    /// int8 weight `(o, k)`.
    #[inline(always)]
    pub fn w_i8(&self, o: usize, k: usize) -> i8 {
        self.w[o * self.in_dim + k] as i8
    }
    /// Accumulator-unit bias of channel `o` (fixed point).
    #[inline(always)]
    pub fn bias_i32(&self, o: usize) -> i32 {
        le_i32(self.b, o)
    }
    /// Requantization of channel `o` (fixed point).
    #[inline(always)]
    pub fn requant(&self, o: usize) -> Requant {
        Requant {
            mult: le_i32(self.mult, o),
            shift: self.shift[o],
        }
    }
    /// The raw tensors of a fixed-point layer: int8 weights (row-major), LE i32 biases, LE i32
    /// multipliers, u8 shifts (what the SIMD kernels load directly).
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    #[inline(always)]
    pub(crate) fn fixed_tensors(&self) -> (&'a [u8], &'a [u8], &'a [u8], &'a [u8]) {
        (self.w, self.b, self.mult, self.shift)
    }
    /// A layer over raw tensors (the kernel tests build layers without a blob).
    #[cfg(test)]
    pub(crate) fn from_raw(
        in_dim: usize,
        out_dim: usize,
        w: &'a [u8],
        b: &'a [u8],
        mult: &'a [u8],
        shift: &'a [u8],
    ) -> Self {
        Linear {
            in_dim,
            out_dim,
            w,
            b,
            mult,
            shift,
        }
    }
}
