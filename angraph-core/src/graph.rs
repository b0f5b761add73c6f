//! The graph view the models read: CSR ordered by target node, over borrowed slices.
//!
//! Node `v`'s incoming edges are `src[row_ptr[v]..row_ptr[v+1]]` (the sources `u` of edges
//! `u -> v`), so mean aggregation over incoming edges is one contiguous scan. Features are
//! row-major `num_nodes x feature_width`. The element type is `f32` for the reference path and
//! `i32` in Q16.16 ([`crate::fixed::FEATURE_FRAC_BITS`]) for the fixed-point path.

use crate::error::{Error, Resource, Result};

/// Element of a graph's features and edge weights.
pub trait Scalar: Copy + PartialOrd + 'static {
    /// `true` for a value usable as an edge weight (finite, >= 0).
    fn valid_weight(self) -> bool;
}

impl Scalar for f32 {
    fn valid_weight(self) -> bool {
        self.is_finite() && self >= 0.0
    }
}

impl Scalar for i32 {
    fn valid_weight(self) -> bool {
        self >= 0
    }
}

/// A validated graph over borrowed slices. Construct with [`GraphView::new`].
#[derive(Debug, Clone, Copy)]
pub struct GraphView<'a, T: Scalar> {
    num_nodes: u32,
    feature_width: u32,
    x: &'a [T],
    row_ptr: &'a [u32],
    src: &'a [u32],
    edge_weight: Option<&'a [T]>,
}

impl<'a, T: Scalar> GraphView<'a, T> {
    /// Validate and wrap. `row_ptr` has `num_nodes + 1` entries, starts at 0, never decreases
    /// and ends at `src.len()`; every source index is `< num_nodes`; `x` has
    /// `num_nodes * feature_width` entries; `edge_weight`, if given, one per edge, finite, >= 0.
    pub fn new(
        feature_width: u32,
        x: &'a [T],
        row_ptr: &'a [u32],
        src: &'a [u32],
        edge_weight: Option<&'a [T]>,
    ) -> Result<Self> {
        if row_ptr.is_empty() {
            return Err(Error::GraphLength {
                field: "row_ptr",
                expected: 1,
                found: 0,
            });
        }
        let n = row_ptr.len() - 1;
        let num_nodes = u32::try_from(n).map_err(|_| Error::Capacity {
            what: Resource::Indices,
            needed: n,
            limit: u32::MAX as usize,
        })?;
        if num_nodes == 0 {
            return Err(Error::EmptyGraph);
        }
        let e = u32::try_from(src.len()).map_err(|_| Error::Capacity {
            what: Resource::Indices,
            needed: src.len(),
            limit: u32::MAX as usize,
        })?;
        let expected_x = (n as u64) * feature_width as u64;
        if x.len() as u64 != expected_x {
            return Err(Error::GraphLength {
                field: "x",
                expected: expected_x.min(u32::MAX as u64) as u32,
                found: x.len().min(u32::MAX as usize) as u32,
            });
        }
        if row_ptr[0] != 0 {
            return Err(Error::RowPtr { node: 0 });
        }
        for (v, w) in row_ptr.windows(2).enumerate() {
            if w[1] < w[0] {
                return Err(Error::RowPtr { node: v as u32 + 1 });
            }
        }
        if row_ptr[n] != e {
            return Err(Error::GraphLength {
                field: "src",
                expected: row_ptr[n],
                found: e,
            });
        }
        for (i, &u) in src.iter().enumerate() {
            if u >= num_nodes {
                return Err(Error::NodeIndex {
                    edge: i as u32,
                    node: u,
                    num_nodes,
                });
            }
        }
        if let Some(w) = edge_weight {
            if w.len() != src.len() {
                return Err(Error::GraphLength {
                    field: "edge_weight",
                    expected: e,
                    found: w.len().min(u32::MAX as usize) as u32,
                });
            }
            if let Some(i) = w.iter().position(|v| !v.valid_weight()) {
                return Err(Error::EdgeWeight { edge: i as u32 });
            }
        }
        Ok(GraphView {
            num_nodes,
            feature_width,
            x,
            row_ptr,
            src,
            edge_weight,
        })
    }

    /// Number of nodes.
    pub fn num_nodes(&self) -> u32 {
        self.num_nodes
    }
    /// Number of edges.
    pub fn num_edges(&self) -> u32 {
        self.src.len() as u32
    }
    /// Features per node.
    pub fn feature_width(&self) -> u32 {
        self.feature_width
    }
    /// Row-major features.
    pub fn x(&self) -> &'a [T] {
        self.x
    }
    /// Features of node `v` (`v < num_nodes`).
    pub fn node_features(&self, v: usize) -> &'a [T] {
        let w = self.feature_width as usize;
        &self.x[v * w..(v + 1) * w]
    }
    /// CSR offsets.
    pub fn row_ptr(&self) -> &'a [u32] {
        self.row_ptr
    }
    /// Sources of the incoming edges, grouped by target.
    pub fn src(&self) -> &'a [u32] {
        self.src
    }
    /// Edge weights (activities), aligned with `src`.
    pub fn edge_weight(&self) -> Option<&'a [T]> {
        self.edge_weight
    }
    /// Incoming edge range of node `v`.
    #[inline(always)]
    pub fn in_edges(&self, v: usize) -> core::ops::Range<usize> {
        self.row_ptr[v] as usize..self.row_ptr[v + 1] as usize
    }
}

/// Build CSR-by-target from COO edges (`edge_src[i] -> edge_dst[i]`) into caller buffers,
/// stable in the original edge order within each target. `row_ptr` must have
/// `num_nodes + 1` entries, `src_out` and `perm` one per edge; `perm[k]` is the COO index of
/// CSR edge `k` (use it to reorder edge weights). No allocation.
pub fn csr_from_coo(
    num_nodes: u32,
    edge_src: &[u32],
    edge_dst: &[u32],
    row_ptr: &mut [u32],
    src_out: &mut [u32],
    perm: &mut [u32],
) -> Result<()> {
    let n = num_nodes as usize;
    let e = edge_src.len();
    if edge_dst.len() != e {
        return Err(Error::GraphLength {
            field: "edge_dst",
            expected: e as u32,
            found: edge_dst.len() as u32,
        });
    }
    if row_ptr.len() != n + 1 {
        return Err(Error::GraphLength {
            field: "row_ptr",
            expected: n as u32 + 1,
            found: row_ptr.len() as u32,
        });
    }
    if src_out.len() != e || perm.len() != e {
        return Err(Error::GraphLength {
            field: "src",
            expected: e as u32,
            found: src_out.len() as u32,
        });
    }
    row_ptr.iter_mut().for_each(|r| *r = 0);
    for (i, (&s, &d)) in edge_src.iter().zip(edge_dst).enumerate() {
        for node in [s, d] {
            if node >= num_nodes {
                return Err(Error::NodeIndex {
                    edge: i as u32,
                    node,
                    num_nodes,
                });
            }
        }
        row_ptr[d as usize + 1] += 1;
    }
    for v in 0..n {
        row_ptr[v + 1] += row_ptr[v];
    }
    // Scatter using row_ptr[v] as the cursor of v, then shift back.
    for (i, &d) in edge_dst.iter().enumerate() {
        let k = row_ptr[d as usize] as usize;
        src_out[k] = edge_src[i];
        perm[k] = i as u32;
        row_ptr[d as usize] += 1;
    }
    for v in (1..=n).rev() {
        row_ptr[v] = row_ptr[v - 1];
    }
    row_ptr[0] = 0;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csr_groups_by_target_and_is_stable() {
        // edges: 0->1, 2->1, 1->0, 2->2, 0->1 (duplicate)
        let s = [0, 2, 1, 2, 0];
        let d = [1, 1, 0, 2, 1];
        let mut rp = [0u32; 4];
        let mut src = [0u32; 5];
        let mut perm = [0u32; 5];
        csr_from_coo(3, &s, &d, &mut rp, &mut src, &mut perm).unwrap();
        assert_eq!(rp, [0, 1, 4, 5]);
        assert_eq!(src, [1, 0, 2, 0, 2]);
        assert_eq!(perm, [2, 0, 1, 4, 3]);
        let x = [0f32; 6];
        let g = GraphView::new(2, &x, &rp, &src, None).unwrap();
        assert_eq!(g.in_edges(1), 1..4);
    }

    #[test]
    fn validation_names_the_problem() {
        let x = [0f32; 4];
        assert_eq!(
            GraphView::new(2, &x, &[0, 1, 1], &[5], None).unwrap_err(),
            Error::NodeIndex {
                edge: 0,
                node: 5,
                num_nodes: 2
            }
        );
        assert_eq!(
            GraphView::new(2, &x, &[0, 2, 1], &[0], None).unwrap_err(),
            Error::RowPtr { node: 2 }
        );
        assert!(matches!(
            GraphView::new(3, &x, &[0, 0, 0], &[], None).unwrap_err(),
            Error::GraphLength { field: "x", .. }
        ));
        assert!(matches!(
            GraphView::new(2, &x, &[0, 0, 2], &[0], None).unwrap_err(),
            Error::GraphLength { field: "src", .. }
        ));
        assert_eq!(
            GraphView::new(2, &x, &[0, 0, 1], &[0], Some(&[-1.0])).unwrap_err(),
            Error::EdgeWeight { edge: 0 }
        );
        assert_eq!(
            GraphView::<f32>::new(2, &[], &[0], &[], None).unwrap_err(),
            Error::EmptyGraph
        );
        let mut rp = [0u32; 3];
        assert!(csr_from_coo(2, &[0], &[2], &mut rp, &mut [0], &mut [0]).is_err());
    }
}
