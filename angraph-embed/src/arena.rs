//! The integrator's static arena: model dimensions, the `const fn` that sizes it, and its
//! layout.
//!
//! Regions, each 8-byte aligned, in this order:
//!
//! | region | holds | bytes |
//! |---|---|---|
//! | shared | the streaming [`GraphBuilder`] while hops arrive; the layers' workspace of ANGraph-L (stage 2) during a prediction | `max(size_of::<GraphBuilder<N, E>>(), layer_workspace_bound)` |
//! | input | `h_0` (stage 1) | `input_workspace_bound` |
//! | row_ptr, src, weight | the graph's CSR topology and activities | `4 (N + 1) + 8 E` |
//! | row | one node's feature row | `4 max(in_dim, NODE_FEATURES)` |
//!
//! Sharing the builder's memory with stage 2 is what lets the original-size ANGraph-L (width
//! 100, int16) at 4x4 scale fit 128 KB of RAM: a prediction consumes the stream window.

use angraph_core::features::NODE_FEATURES;
use angraph_core::latency::{input_workspace_bound, layer_workspace_bound};
use angraph_core::transform::GraphBuilder;

/// Model dimensions an arena is sized for (upper bounds; smaller models fit too).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// ANGraph-L layer width (the original: 100).
    pub width: u32,
    /// ANGraph-L input width: node features per node ([`NODE_FEATURES`] for streaming).
    pub in_dim: u32,
    /// Widest ANGraph-L head layer (the original: 200).
    pub head_max: u32,
}

impl Dims {
    /// Within the model format's limits (`angraph_core::config`: layer width at most 256,
    /// linear inputs at most 512), so every size computed from them is small and exact.
    pub const fn is_valid(&self) -> bool {
        self.width >= 1
            && self.width <= angraph_core::config::MAX_WIDTH as u32
            && self.in_dim <= angraph_core::config::MAX_LINEAR_IN as u32
            && self.head_max <= angraph_core::config::MAX_LINEAR_IN as u32
    }

    /// The original ANGraph-L (width 100, head 200/100) on the transform's features.
    pub const ORIGINAL: Dims = Dims {
        width: 100,
        in_dim: NODE_FEATURES as u32,
        head_max: 200,
    };
}

const fn align8(x: usize) -> usize {
    (x + 7) & !7
}

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// Byte offset and length of one region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Region {
    pub(crate) offset: usize,
    pub(crate) len: usize,
}

/// Where each region lives, relative to an 8-aligned base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) shared: Region,
    pub(crate) input: Region,
    pub(crate) row_ptr: Region,
    pub(crate) src: Region,
    pub(crate) weight: Region,
    pub(crate) row: Region,
    /// Bytes from the aligned base to the end of the last region.
    pub(crate) end: usize,
}

const fn region(at: &mut usize, len: usize) -> Region {
    let r = Region { offset: *at, len };
    *at = align8(*at + len);
    r
}

/// The arena layout for capacities `NODES`, `EDGES` and dimensions `d`.
pub(crate) const fn layout<const NODES: usize, const EDGES: usize>(d: Dims) -> Layout {
    let (w, in_dim, hm) = (d.width as usize, d.in_dim as usize, d.head_max as usize);
    let mut at = 0;
    let shared = region(
        &mut at,
        max(
            core::mem::size_of::<GraphBuilder<NODES, EDGES>>(),
            layer_workspace_bound(NODES, w, hm),
        ),
    );
    let input = region(&mut at, input_workspace_bound(NODES, in_dim, w));
    let row_ptr = region(&mut at, 4 * (NODES + 1));
    let src = region(&mut at, 4 * EDGES);
    let weight = region(&mut at, 4 * EDGES);
    let row = region(&mut at, 4 * max(in_dim, NODE_FEATURES));
    Layout {
        shared,
        input,
        row_ptr,
        src,
        weight,
        row,
        end: at,
    }
}

/// Bytes of arena an estimator with capacities `NODES` (distinct components), `EDGES`
/// (distinct consecutive pairs) and model dimensions `d` needs, alignment slack included.
/// A `const fn`: size the integrator's static buffer with it.
pub const fn arena_bytes<const NODES: usize, const EDGES: usize>(d: Dims) -> usize {
    layout::<NODES, EDGES>(d).end + 8
}

/// An 8-byte aligned byte buffer of `N` bytes, for a `static` arena:
///
/// ```
/// use angraph_embed::{arena_bytes, Arena, Dims};
/// const BYTES: usize = arena_bytes::<257, 512>(Dims::ORIGINAL);
/// static mut ARENA: Arena<BYTES> = Arena::new();
/// ```
#[repr(C, align(8))]
pub struct Arena<const N: usize>(pub [u8; N]);

impl<const N: usize> Arena<N> {
    /// A zeroed arena (lands in `.bss`).
    pub const fn new() -> Self {
        Arena([0; N])
    }
    /// The bytes.
    pub fn bytes(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl<const N: usize> Default for Arena<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_disjoint_aligned_and_sized() {
        let l = layout::<257, 512>(Dims::ORIGINAL);
        let rs = [l.shared, l.input, l.row_ptr, l.src, l.weight, l.row];
        for w in rs.windows(2) {
            assert!(w[0].offset + w[0].len <= w[1].offset);
        }
        for r in rs {
            assert_eq!(r.offset % 8, 0);
        }
        assert!(l.end >= l.row.offset + l.row.len);
        assert!(
            l.shared.len >= core::mem::size_of::<GraphBuilder<257, 512>>()
                && l.shared.len >= layer_workspace_bound(257, 100, 200)
        );
        assert!(arena_bytes::<257, 512>(Dims::ORIGINAL) < 115 * 1024);
    }
}
