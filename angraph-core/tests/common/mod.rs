//! Shared helpers of the angraph-core integration tests.
#![allow(dead_code)]

use angraph_core::quantize::{OwnedGraph, SplitMix64};

/// A random graph shaped like the hardware's: `n` nodes, about `avg_deg` incoming edges each,
/// a few duplicates, self loops and isolated nodes; features in `[0, max_feat)`, activities 1..=50.
pub fn random_graph(
    rng: &mut SplitMix64,
    n: u32,
    width: u32,
    avg_deg: f32,
    max_feat: f32,
) -> OwnedGraph {
    let x: Vec<f32> = (0..n * width).map(|_| rng.uniform(0.0, max_feat)).collect();
    let e = ((n as f32) * avg_deg) as usize;
    let mut edges = Vec::with_capacity(e);
    let mut w = Vec::with_capacity(e);
    for _ in 0..e {
        let s = (rng.next_u64() % n as u64) as u32;
        let d = (rng.next_u64() % n as u64) as u32;
        edges.push((s, d));
        w.push(1.0 + (rng.next_u64() % 50) as f32);
    }
    OwnedGraph::from_coo(n, width, x, &edges, Some(&w)).unwrap()
}
