//! ANGraph-L inference: the f32 reference path and the fixed-point path.
//!
//! Both follow the same model description ([`Model`]) and the same order of operations:
//! `h_0 = [proj](pre(x))`; `h_{i+1} = act(BN_i(SAGE_i(h_i)))` with BatchNorm folded;
//! `g = pool(sum_{t in JK} h_t)`; `y = head(g)`. Since JK-sum followed by sum pooling equals the
//! sum over layers of each layer's node sum, only two node buffers are live at any time: working
//! memory is `2 * nodes * width` activations plus `O(width)`, independent of the layer count.

use crate::blob::Precision;
use crate::config::{Aggr, LatencyConfig, Pool, Preprocess};
use crate::error::{Error, Result};
use crate::fixed::{
    self, mul_recip, mul_recip_i32, recip, sat_i32, Activation, Requant, EDGE_WEIGHT_BITS,
    FEATURE_FRAC_BITS,
};
use crate::graph::GraphView;
use crate::model::{Linear, Model};
use crate::workspace::{Carver, Plan};

mod staged;
pub use staged::{
    input_workspace, input_workspace_bound, layer_workspace, layer_workspace_bound, Assessed,
    FixedInput,
};

/// The fixed-point output type and the calibration hooks live with what they belong to; kept
/// here too so that `latency::Fixed` and `latency::Observer` keep working.
pub use crate::fixed::Fixed;
pub(crate) use crate::observe::MaxAbs;
pub use crate::observe::{NoObserver, Observer};

fn plan(model: &Model<'_>, c: &LatencyConfig, num_nodes: u32, num_edges: u32) -> Plan {
    let _ = num_edges; // edge state is recomputed per node: no per-edge memory
    let n = num_nodes as usize;
    let w = c.width as usize;
    let in_dim = c.in_dim as usize;
    let head_max = c.head.iter().map(|&d| d as usize).max().unwrap_or(0).max(w);
    let mut p = Plan::default();
    match model.precision() {
        Precision::F32 => {
            p.take::<f32>(n * w).take::<f32>(n * w); // h ping-pong
            p.take::<f32>(in_dim); // preprocessed input row
            p.take::<f32>(2 * w); // [aggregated | self] SAGE input
            p.take::<f32>(w); // pooled g
            p.take::<f32>(head_max).take::<f32>(head_max); // head ping-pong
        }
        // Fixed point runs in two stages with one plan each: see `staged`.
        Precision::Int16 | Precision::Int8 => {}
    }
    p
}

/// Bytes of working memory [`predict_f32`] / [`predict_fixed`] need for a graph of this size.
/// Returns 0 for a model that is not ANGraph-L.
pub fn required_workspace(model: &Model<'_>, num_nodes: u32, num_edges: u32) -> usize {
    match model.latency_config() {
        Ok(c) if model.precision() == Precision::F32 => {
            plan(model, c, num_nodes, num_edges).bytes()
        }
        Ok(_) => input_workspace(model, num_nodes) + layer_workspace(model, num_nodes),
        Err(_) => 0,
    }
}

/// An upper bound of [`required_workspace`] for any fixed-point (`Int16` or `Int8`) ANGraph-L
/// with these dimensions, usable in `const` context to size a static arena. `head_max` is the
/// widest head layer. Mirrors the two fixed-point stages with `i16` activations and allows the
/// worst-case alignment padding for each of their eight slices.
pub const fn fixed_workspace_bound(
    num_nodes: usize,
    in_dim: usize,
    width: usize,
    head_max: usize,
) -> usize {
    let hm = if head_max > width { head_max } else { width };
    let a = core::mem::size_of::<i16>();
    let bytes = 2 * num_nodes * width * a + in_dim * a + 2 * width * a + 2 * width * 8 + 2 * hm * a;
    bytes + 8 * 7 + 2 * crate::workspace::ALIGN_SLACK
}

/// A graph of at least `in_dim` features per node: the model reads the first `in_dim` (a
/// feature-set-1 model of 35 reads the set-1 prefix of a set-2 graph, [`crate::features`]).
fn check_graph<T: crate::graph::Scalar>(c: &LatencyConfig, g: &GraphView<'_, T>) -> Result<()> {
    if g.feature_width() < c.in_dim as u32 {
        return Err(Error::FeatureWidth {
            expected: c.in_dim as u32,
            found: g.feature_width(),
        });
    }
    check_graph_shape(c, g)
}

/// The checks of [`check_graph`] that do not involve node features.
fn check_graph_shape<T: crate::graph::Scalar>(
    c: &LatencyConfig,
    g: &GraphView<'_, T>,
) -> Result<()> {
    if g.num_nodes() > c.max_nodes {
        return Err(Error::TooManyNodes {
            num_nodes: g.num_nodes(),
            max: c.max_nodes,
        });
    }
    if c.aggr == Aggr::ActivityMean && g.edge_weight().is_none() {
        return Err(Error::GraphLength {
            field: "edge_weight",
            expected: g.num_edges(),
            found: 0,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// f32 reference path
// ---------------------------------------------------------------------------------------------

#[inline]
fn dot_f32(row: &[u8], x: &[f32]) -> f32 {
    // Four partial sums let the compiler vectorize; the order is fixed, so results are
    // deterministic across runs.
    let mut s = [0f32; 4];
    let mut chunks = row.chunks_exact(16).zip(x.chunks_exact(4));
    for (r, xs) in &mut chunks {
        for j in 0..4 {
            let b = &r[4 * j..4 * j + 4];
            s[j] += f32::from_le_bytes([b[0], b[1], b[2], b[3]]) * xs[j];
        }
    }
    let done = (x.len() / 4) * 4;
    let mut tail = 0f32;
    for k in done..x.len() {
        let b = &row[4 * k..4 * k + 4];
        tail += f32::from_le_bytes([b[0], b[1], b[2], b[3]]) * x[k];
    }
    (s[0] + s[1]) + (s[2] + s[3]) + tail
}

fn linear_f32(lin: &Linear<'_>, x: &[f32], out: &mut [f32], relu: bool) {
    for (o, y) in out.iter_mut().enumerate().take(lin.out_dim) {
        let v = dot_f32(lin.row_bytes(o), &x[..lin.in_dim]) + lin.b_f32(o);
        *y = if relu { v.max(0.0) } else { v };
    }
}

fn preprocess_f32(c: &LatencyConfig, x: &[f32], out: &mut [f32]) {
    crate::preprocess::apply_f32(c.preprocess, x, out);
}

/// Site indices of [`LatencyConfig`] calibration statistics (see `Config::calibration_sites`).
struct Sites {
    x: usize,
    h0: usize,
    layer0: usize,
    g: usize,
    head0: usize,
}

impl Sites {
    fn of(c: &LatencyConfig) -> Sites {
        let layer0 = 2;
        let g = layer0 + c.computed_layers() as usize;
        Sites {
            x: 0,
            h0: 1,
            layer0,
            g,
            head0: g + 1,
        }
    }
}

/// Predict with the f32 reference path (model units). `stats`, if given, receives the running
/// max-abs of every calibration site (length `Config::calibration_sites`).
pub fn predict_f32(
    model: &Model<'_>,
    graph: &GraphView<'_, f32>,
    workspace: &mut [u8],
    stats: Option<&mut [f32]>,
) -> Result<f32> {
    match stats {
        Some(s) => {
            if s.len() < model.config().calibration_sites() {
                return Err(Error::OutputLength {
                    needed: model.config().calibration_sites(),
                    given: s.len(),
                });
            }
            predict_f32_observed(model, graph, workspace, &mut MaxAbs(s))
        }
        None => predict_f32_observed(model, graph, workspace, &mut NoObserver),
    }
}

/// [`predict_f32`] reporting every activation and linear-layer input to `obs`.
pub fn predict_f32_observed<O: Observer>(
    model: &Model<'_>,
    graph: &GraphView<'_, f32>,
    workspace: &mut [u8],
    obs: &mut O,
) -> Result<f32> {
    let c = model.latency_config()?;
    if model.precision() != Precision::F32 {
        return Err(Error::WrongPrecision);
    }
    check_graph(c, graph)?;
    let n = graph.num_nodes() as usize;
    let w = c.width as usize;
    let in_dim = c.in_dim as usize;
    let p = plan(model, c, graph.num_nodes(), graph.num_edges());
    let mut ws = Carver::new(workspace, &p)?;
    let mut h = ws.take::<f32>(n * w)?;
    let mut h_next = ws.take::<f32>(n * w)?;
    let xrow = ws.take::<f32>(in_dim)?;
    let sage_in = ws.take::<f32>(2 * w)?;
    let g = ws.take::<f32>(w)?;
    let head_max = c.head.iter().map(|&d| d as usize).max().unwrap_or(0).max(w);
    let mut za = ws.take::<f32>(head_max)?;
    let mut zb = ws.take::<f32>(head_max)?;
    let sites = Sites::of(c);
    let lins = model.linears();
    let mut li = 0;

    // h_0
    for v in 0..n {
        preprocess_f32(c, &graph.node_features(v)[..c.in_dim as usize], xrow);
        obs.activation(sites.x, xrow);
        let out = &mut h[v * w..(v + 1) * w];
        if c.input_proj {
            obs.linear_input(0, xrow);
            linear_f32(&lins[0], xrow, out, false);
        } else {
            out.copy_from_slice(xrow);
        }
    }
    if c.input_proj {
        li = 1;
    }
    obs.activation(sites.h0, h);
    let mut t = 0u8;
    if c.jk_includes(0) {
        node_sum_f32(h, n, w, g);
    }
    let weights = graph.edge_weight();
    for layer in 0..c.computed_layers() {
        let relu = c.layer_relu(layer);
        for v in 0..n {
            let (agg, selfv) = sage_in.split_at_mut(w);
            aggregate_f32(c.aggr, graph, weights, h, w, v, agg);
            selfv.copy_from_slice(&h[v * w..(v + 1) * w]);
            obs.linear_input(li, sage_in);
            linear_f32(&lins[li], sage_in, &mut h_next[v * w..(v + 1) * w], relu);
        }
        li += 1;
        core::mem::swap(&mut h, &mut h_next);
        t += 1;
        obs.activation(sites.layer0 + layer as usize, h);
        if c.jk_includes(t) {
            node_sum_f32(h, n, w, g);
        }
    }
    if c.pool == Pool::Mean {
        for v in g.iter_mut() {
            *v /= n as f32;
        }
    }
    obs.activation(sites.g, g);
    za[..w].copy_from_slice(g);
    let mut dim = w;
    for (j, &hd) in c.head.iter().enumerate() {
        obs.linear_input(li, &za[..dim]);
        linear_f32(&lins[li], &za[..dim], &mut zb[..hd as usize], true);
        li += 1;
        dim = hd as usize;
        obs.activation(sites.head0 + j, &zb[..dim]);
        core::mem::swap(&mut za, &mut zb);
    }
    let mut y = [0f32];
    obs.linear_input(li, &za[..dim]);
    linear_f32(&lins[li], &za[..dim], &mut y, false);
    obs.activation(sites.head0 + c.head.len(), &y);
    let anchor = crate::preprocess::anchor_ns_f32(graph.node_features(0));
    Ok(crate::preprocess::output_f32(c.preprocess, y[0], anchor))
}

fn node_sum_f32(h: &[f32], n: usize, w: usize, g: &mut [f32]) {
    for v in 0..n {
        for (a, &b) in g.iter_mut().zip(&h[v * w..(v + 1) * w]) {
            *a += b;
        }
    }
}

fn aggregate_f32(
    aggr: Aggr,
    graph: &GraphView<'_, f32>,
    weights: Option<&[f32]>,
    h: &[f32],
    w: usize,
    v: usize,
    agg: &mut [f32],
) {
    agg.iter_mut().for_each(|a| *a = 0.0);
    let range = graph.in_edges(v);
    let src = graph.src();
    match (aggr, weights) {
        (Aggr::ActivityMean, Some(ew)) => {
            let total: f32 = ew[range.clone()].iter().sum();
            if total <= 0.0 {
                return;
            }
            for e in range {
                let u = src[e] as usize;
                let f = ew[e] / total;
                for (a, &b) in agg.iter_mut().zip(&h[u * w..(u + 1) * w]) {
                    *a += f * b;
                }
            }
        }
        _ => {
            let deg = range.len();
            if deg == 0 {
                return;
            }
            for e in range {
                let u = src[e] as usize;
                for (a, &b) in agg.iter_mut().zip(&h[u * w..(u + 1) * w]) {
                    *a += b;
                }
            }
            let inv = 1.0 / deg as f32;
            agg.iter_mut().for_each(|a| *a *= inv);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// fixed-point path
// ---------------------------------------------------------------------------------------------

/// `sum_k w[k] * x[k]` with int8 weights (see [`crate::kernel`]).
#[inline]
fn dot_i8<A: Activation>(row: &[u8], x: &[A]) -> i32 {
    A::dot_i8(row, x)
}

pub(crate) use crate::kernel::linear_fixed;

fn quantize_row<A: Activation>(c: &LatencyConfig, q: Requant, x: &[i32], out: &mut [A]) {
    let f = if c.preprocess == Preprocess::ScaleByFirst {
        Some(x[0] as i64 * 2)
    } else {
        None
    };
    let log = crate::preprocess::logs_input(c.preprocess);
    for (k, (o, &v)) in out.iter_mut().zip(x).enumerate() {
        let v = match f {
            Some(f) if k > 0 => sat_i32((v as i64).saturating_mul(f) >> FEATURE_FRAC_BITS),
            _ if crate::preprocess::zeroes_feature(c.preprocess, k) => 0,
            _ if log => crate::preprocess::log2_1p_signed_q16(v),
            _ => v,
        };
        *o = A::sat(q.apply32(v));
    }
}

/// Predict with the fixed-point path. Node features are Q16.16 (`round(v * 65536)`), edge
/// weights (activities) any non-negative integers. No floating point is used.
pub fn predict_fixed(
    model: &Model<'_>,
    graph: &GraphView<'_, i32>,
    workspace: &mut [u8],
) -> Result<Fixed> {
    Ok(predict_embedded(model, graph, workspace, &mut [])?.0)
}

/// [`predict_fixed`] and the interval covariate ([`crate::trust::covariate`]), also writing
/// the pooled graph embedding (`width` values, activation units) to `embedding` unless it is
/// empty: what trust calibration measures.
pub fn predict_embedded(
    model: &Model<'_>,
    graph: &GraphView<'_, i32>,
    workspace: &mut [u8],
    embedding: &mut [i32],
) -> Result<(Fixed, i32)> {
    let (stage, ws_layers) = fill(model, graph, workspace)?;
    stage.finish_inner(graph, ws_layers, embedding)
}

/// [`predict_fixed`] with the interval and envelope verdict of the blob's trust section
/// ([`crate::trust`]; both `None` without one): the same values the chip computes.
pub fn predict_assessed(
    model: &Model<'_>,
    graph: &GraphView<'_, i32>,
    workspace: &mut [u8],
) -> Result<Assessed> {
    let (stage, ws_layers) = fill(model, graph, workspace)?;
    stage.finish_assessed(graph, ws_layers)
}

/// Stage 1 of the fixed-point path over `graph`'s rows: one implementation for every
/// fixed-point entry point.
fn fill<'m, 'a, 'w>(
    model: &'m Model<'a>,
    graph: &GraphView<'_, i32>,
    workspace: &'w mut [u8],
) -> Result<(FixedInput<'m, 'a, 'w>, &'w mut [u8])> {
    let c = model.latency_config()?;
    if model.precision() == Precision::F32 {
        return Err(Error::WrongPrecision);
    }
    check_graph(c, graph)?;
    // The two stages of `staged` over one buffer: one implementation of the fixed-point path.
    let n = graph.num_nodes();
    let (a, b) = (input_workspace(model, n), layer_workspace(model, n));
    if workspace.len() < a + b {
        return Err(Error::Workspace {
            needed: a + b,
            given: workspace.len(),
        });
    }
    let (ws_input, ws_layers) = workspace.split_at_mut(a);
    let mut stage = FixedInput::new(model, n, ws_input)?;
    for v in 0..n as usize {
        stage.push_node(&graph.node_features(v)[..c.in_dim as usize])?;
    }
    Ok((stage, ws_layers))
}

/// Column block of the `i32` accumulators of pooling and aggregation (on the stack: 256 bytes).
const BLOCK: usize = 64;

/// At most this many terms of int16 (or int8) activations, possibly weighted by normalised edge
/// weights (which sum to at most `2^15 + terms / 2`), are summed in an `i32` without overflow;
/// longer sums use `i64` accumulators. Both give the same values.
const I32_TERMS: usize = 1 << 15;

/// Hosts (feature `std`) sum in blocks of `i32`, which vectorize; firmware keeps only the
/// compact `i64` loops (the blocked ones would cost about 9 KB of flash on Cortex-M).
const BLOCKED_SUMS: bool = cfg!(feature = "std");

fn pool_fixed<A: Activation>(
    h: &[A],
    n: usize,
    w: usize,
    sums: &mut [i64],
    g: &mut [i64],
    q: Requant,
) {
    pool_fixed_sums(h, n, w, sums, g, q, BLOCKED_SUMS && n <= I32_TERMS)
}

/// [`pool_fixed`] with the accumulator chosen (`blocked`: `i32` blocks, needs
/// `n <= I32_TERMS`); both choices give the same values.
fn pool_fixed_sums<A: Activation>(
    h: &[A],
    n: usize,
    w: usize,
    sums: &mut [i64],
    g: &mut [i64],
    q: Requant,
    blocked: bool,
) {
    if BLOCKED_SUMS && blocked {
        for c0 in (0..w).step_by(BLOCK) {
            let c1 = (c0 + BLOCK).min(w);
            let mut acc = [0i32; BLOCK];
            let acc = &mut acc[..c1 - c0];
            for v in 0..n {
                for (s, &b) in acc.iter_mut().zip(&h[v * w + c0..v * w + c1]) {
                    *s += b.widen();
                }
            }
            for (a, &s) in g[c0..c1].iter_mut().zip(acc.iter()) {
                *a = a.saturating_add(q.apply64(s as i64));
            }
        }
        return;
    }
    sums.iter_mut().for_each(|s| *s = 0);
    for v in 0..n {
        for (s, &b) in sums.iter_mut().zip(&h[v * w..(v + 1) * w]) {
            *s += b.widen() as i64;
        }
    }
    for (a, &s) in g.iter_mut().zip(sums.iter()) {
        *a = a.saturating_add(q.apply64(s));
    }
}

#[allow(clippy::too_many_arguments)]
fn aggregate_fixed<A: Activation>(
    aggr: Aggr,
    graph: &GraphView<'_, i32>,
    weights: Option<&[i32]>,
    h: &[A],
    w: usize,
    v: usize,
    acc: &mut [i64],
    agg: &mut [A],
) {
    let blocked = BLOCKED_SUMS && graph.in_edges(v).len() <= I32_TERMS;
    aggregate_fixed_sums(aggr, graph, weights, h, w, v, acc, agg, blocked)
}

/// [`aggregate_fixed`] with the accumulator chosen (`blocked`: `i32` blocks, needs an
/// in-degree `<= I32_TERMS`); both choices give the same values.
#[allow(clippy::too_many_arguments)]
fn aggregate_fixed_sums<A: Activation>(
    aggr: Aggr,
    graph: &GraphView<'_, i32>,
    weights: Option<&[i32]>,
    h: &[A],
    w: usize,
    v: usize,
    acc: &mut [i64],
    agg: &mut [A],
    small: bool,
) {
    let small = BLOCKED_SUMS && small;
    let range = graph.in_edges(v);
    let src = graph.src();
    match (aggr, weights) {
        (Aggr::ActivityMean, Some(ew)) => {
            let total: i64 = ew[range.clone()].iter().map(|&x| x as i64).sum();
            if total <= 0 {
                agg.iter_mut().for_each(|a| *a = A::default());
                return;
            }
            // sum_e round(w_e * 2^15 / total) * h[u], then >> 15.
            let wn = |e: usize| (((ew[e] as i64) << EDGE_WEIGHT_BITS) + total / 2) / total;
            if small {
                for c0 in (0..w).step_by(BLOCK) {
                    let c1 = (c0 + BLOCK).min(w);
                    let mut blk = [0i32; BLOCK];
                    let blk = &mut blk[..c1 - c0];
                    for e in range.clone() {
                        let u = src[e] as usize;
                        // wn <= 2^15 (it is a rounded share of the total).
                        let f = wn(e) as i32;
                        for (a, &b) in blk.iter_mut().zip(&h[u * w + c0..u * w + c1]) {
                            *a += f * b.widen();
                        }
                    }
                    for (o, &a) in agg[c0..c1].iter_mut().zip(blk.iter()) {
                        *o = A::sat((a as i64 + (1 << (EDGE_WEIGHT_BITS - 1))) >> EDGE_WEIGHT_BITS);
                    }
                }
                return;
            }
            acc.iter_mut().for_each(|a| *a = 0);
            for e in range {
                let u = src[e] as usize;
                let f = wn(e);
                for (a, &b) in acc.iter_mut().zip(&h[u * w..(u + 1) * w]) {
                    *a += f * b.widen() as i64;
                }
            }
            for (o, &a) in agg.iter_mut().zip(acc.iter()) {
                *o = A::sat((a + (1 << (EDGE_WEIGHT_BITS - 1))) >> EDGE_WEIGHT_BITS);
            }
        }
        _ => {
            let deg = range.len();
            if deg == 0 {
                agg.iter_mut().for_each(|a| *a = A::default());
                return;
            }
            if deg == 1 {
                let u = src[range.start] as usize;
                agg.copy_from_slice(&h[u * w..(u + 1) * w]);
                return;
            }
            let r = recip(deg as u32);
            if small {
                for c0 in (0..w).step_by(BLOCK) {
                    let c1 = (c0 + BLOCK).min(w);
                    let mut blk = [0i32; BLOCK];
                    let blk = &mut blk[..c1 - c0];
                    for e in range.clone() {
                        let u = src[e] as usize;
                        for (a, &b) in blk.iter_mut().zip(&h[u * w + c0..u * w + c1]) {
                            *a += b.widen();
                        }
                    }
                    for (o, &a) in agg[c0..c1].iter_mut().zip(blk.iter()) {
                        *o = A::sat(mul_recip_i32(a, r));
                    }
                }
                return;
            }
            acc.iter_mut().for_each(|a| *a = 0);
            for e in range {
                let u = src[e] as usize;
                for (a, &b) in acc.iter_mut().zip(&h[u * w..(u + 1) * w]) {
                    *a += b.widen() as i64;
                }
            }
            for (o, &a) in agg.iter_mut().zip(acc.iter()) {
                *o = A::sat(mul_recip(a, r));
            }
        }
    }
}

/// Convert float features to the fixed-point input format (host convenience).
#[cfg(feature = "std")]
pub fn features_to_fixed(x: &[f32]) -> std::vec::Vec<i32> {
    x.iter().map(|&v| fixed::feature_to_fixed(v)).collect()
}

#[cfg(not(feature = "std"))]
#[allow(unused_imports)]
use fixed as _;

#[cfg(test)]
mod bound_tests {
    use super::*;

    #[test]
    fn blocked_i32_sums_equal_the_i64_sums() {
        let mut rng = crate::test_rng::Lcg::new(0xb10c);
        let mut next = |m: u32| rng.next_u31() % m;
        const N: usize = 40;
        const E: usize = 400;
        const W: usize = 150; // more than two column blocks
        let mut h = [0i16; N * W];
        let mut h8 = [0i8; N * W];
        let mut dst = [0u32; E];
        let mut srcs = [0u32; E];
        let (mut row_ptr, mut src, mut perm) = ([0u32; N + 1], [0u32; E], [0u32; E]);
        let mut ew = [0i32; E];
        let mut acc = [0i64; W];
        let (mut a, mut b) = ([0i16; W], [0i16; W]);
        let (mut a8, mut b8) = ([0i8; W], [0i8; W]);
        for trial in 0..40 {
            for (x, y) in h.iter_mut().zip(h8.iter_mut()) {
                *x = match trial % 3 {
                    0 => [i16::MIN, i16::MAX][next(2) as usize],
                    _ => next(65536) as u16 as i16,
                };
                *y = *x as i8;
            }
            for e in 0..E {
                // Node 0 collects a third of the edges; some nodes get none or one.
                dst[e] = if next(3) == 0 { 0 } else { next(N as u32) };
                srcs[e] = next(N as u32);
            }
            crate::graph::csr_from_coo(N as u32, &srcs, &dst, &mut row_ptr, &mut src, &mut perm)
                .unwrap();
            for w in ew.iter_mut() {
                *w = match trial % 4 {
                    0 => next(2) as i32,
                    1 => i32::MAX / E as i32,
                    _ => next(50) as i32,
                };
            }
            let x = [0i32; N];
            let g = GraphView::new(1, &x, &row_ptr, &src, Some(&ew)).unwrap();
            for aggr in [Aggr::Mean, Aggr::ActivityMean] {
                for v in 0..N {
                    let args = (aggr, &g, Some(&ew[..]), W, v);
                    aggregate_fixed_sums(args.0, args.1, args.2, &h, W, v, &mut acc, &mut a, true);
                    aggregate_fixed_sums(args.0, args.1, args.2, &h, W, v, &mut acc, &mut b, false);
                    assert_eq!(a, b, "trial {trial} {aggr:?} node {v}");
                    aggregate_fixed_sums(aggr, &g, Some(&ew), &h8, W, v, &mut acc, &mut a8, true);
                    aggregate_fixed_sums(aggr, &g, Some(&ew), &h8, W, v, &mut acc, &mut b8, false);
                    assert_eq!(a8, b8, "trial {trial} {aggr:?} node {v}");
                }
            }
            let q = Requant {
                mult: (1 << 30) + next(1 << 30) as i32,
                shift: 1 + next(40) as u8,
            };
            let (mut ga, mut gb) = ([7i64; W], [7i64; W]);
            pool_fixed_sums(&h, N, W, &mut acc, &mut ga, q, true);
            pool_fixed_sums(&h, N, W, &mut acc, &mut gb, q, false);
            assert_eq!(ga, gb, "trial {trial}");
        }
    }

    #[test]
    fn fixed_workspace_bound_covers_the_plan() {
        let mut rng = crate::test_rng::Lcg::new(0x5eed);
        let mut next = |m: usize| 1 + rng.next_u31() as usize % m;
        for _ in 0..2000 {
            let (n, w, d, hm) = (next(600), next(256), next(512), next(512));
            let bound = fixed_workspace_bound(n, d, w, hm);
            let mut c = LatencyConfig::original();
            c.in_dim = d as u16;
            c.input_proj = true;
            c.width = w as u16;
            c.head.clear();
            c.head.push(hm as u16).unwrap();
            let p16 =
                staged::input_plan::<i16>(&c, n).bytes() + staged::layer_plan::<i16>(&c, n).bytes();
            let p8 =
                staged::input_plan::<i8>(&c, n).bytes() + staged::layer_plan::<i8>(&c, n).bytes();
            assert!(p16 <= bound, "n={n} w={w} d={d} hm={hm}");
            assert!(p8 <= bound, "n={n} w={w} d={d} hm={hm}");
            // Tight for int16: the bound only adds worst-case alignment padding.
            assert!(bound - p16 <= 8 * 7, "n={n} w={w} d={d} hm={hm}");
        }
        // 4x4 mesh (257 nodes), width 100, head 200: the 110 KB budget.
        assert!(fixed_workspace_bound(257, 100, 100, 200) <= 110 * 1024);
    }
}
