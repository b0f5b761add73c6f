//! The fixed-point ANGraph-L path in two stages, for callers that produce node features one row
//! at a time (the streaming transform on a microcontroller) and want to reuse the memory of the
//! feature source for the message-passing layers.
//!
//! Stage 1 ([`FixedInput::new`], [`FixedInput::push_node`]) quantizes (and projects) each
//! node's Q16.16 feature row into `h_0`; it needs [`input_workspace`] bytes, which hold `h_0`
//! until the end. Stage 2 ([`FixedInput::finish`]) runs the layers, the pooling and the head on
//! the graph's topology with a second, independent buffer of [`layer_workspace`] bytes, so that
//! buffer may be memory that held the feature source during stage 1. [`super::predict_fixed`]
//! is exactly these two stages over one buffer, so both give bit-identical results.

use super::{
    aggregate_fixed, check_graph_shape, dot_i8, linear_fixed, pool_fixed, quantize_row, Fixed,
};
use crate::blob::Precision;
use crate::config::{LatencyConfig, Pool, MAX_WIDTH};
use crate::error::{Error, Result};
use crate::fixed::{mul_recip, recip, sat_i32, Activation};
use crate::graph::GraphView;
use crate::model::Model;
use crate::trust::{Envelope, Interval, OutOfRange};
use crate::workspace::{Carver, Plain, Plan};

fn head_max(c: &LatencyConfig) -> usize {
    let w = c.width as usize;
    c.head.iter().map(|&d| d as usize).max().unwrap_or(0).max(w)
}

pub(super) fn input_plan<A: Plain>(c: &LatencyConfig, n: usize) -> Plan {
    let mut p = Plan::default();
    p.take::<A>(n * c.width as usize); // h_0, then h of every even layer
    p.take::<A>(c.in_dim as usize); // quantized input row
    p
}

pub(super) fn layer_plan<A: Plain>(c: &LatencyConfig, n: usize) -> Plan {
    let w = c.width as usize;
    let hm = head_max(c);
    let mut p = Plan::default();
    p.take::<A>(n * w); // h ping-pong partner
    p.take::<A>(2 * w); // [aggregated | self] SAGE input
    p.take::<i64>(w); // pooled g accumulator
    p.take::<i64>(w); // per-layer node sums, also the aggregation accumulator
    p.take::<A>(hm).take::<A>(hm); // head ping-pong
    p
}

fn plans(model: &Model<'_>, num_nodes: u32) -> Option<(Plan, Plan)> {
    let c = model.latency_config().ok()?;
    let n = num_nodes as usize;
    match model.precision() {
        Precision::Int16 => Some((input_plan::<i16>(c, n), layer_plan::<i16>(c, n))),
        Precision::Int8 => Some((input_plan::<i8>(c, n), layer_plan::<i8>(c, n))),
        Precision::F32 => None,
    }
}

/// Bytes stage 1 needs (and keeps until [`FixedInput::finish`]) for `num_nodes` nodes; 0 for a
/// model that is not a fixed-point ANGraph-L.
pub fn input_workspace(model: &Model<'_>, num_nodes: u32) -> usize {
    plans(model, num_nodes).map_or(0, |p| p.0.bytes())
}

/// Bytes stage 2 needs for `num_nodes` nodes; 0 for a model that is not a fixed-point ANGraph-L.
pub fn layer_workspace(model: &Model<'_>, num_nodes: u32) -> usize {
    plans(model, num_nodes).map_or(0, |p| p.1.bytes())
}

/// An upper bound of [`input_workspace`] for any fixed-point ANGraph-L with these dimensions,
/// usable in `const` context (int16 activations, worst-case alignment padding).
pub const fn input_workspace_bound(num_nodes: usize, in_dim: usize, width: usize) -> usize {
    2 * (num_nodes * width + in_dim) + 2 + crate::workspace::ALIGN_SLACK
}

/// An upper bound of [`layer_workspace`] for any fixed-point ANGraph-L with these dimensions
/// (`head_max` = widest head layer), usable in `const` context.
pub const fn layer_workspace_bound(num_nodes: usize, width: usize, head_max: usize) -> usize {
    let hm = if head_max > width { head_max } else { width };
    2 * (num_nodes * width + 2 * width + 2 * hm)
        + 16 * width
        + 6 * 7
        + crate::workspace::ALIGN_SLACK
}

enum Rows<'w> {
    I16 { h: &'w mut [i16], x: &'w mut [i16] },
    I8 { h: &'w mut [i8], x: &'w mut [i8] },
}

/// Stage 1 of the fixed-point ANGraph-L path: `h_0` being filled one node at a time.
pub struct FixedInput<'m, 'a, 'w> {
    model: &'m Model<'a>,
    config: &'m LatencyConfig,
    rows: Rows<'w>,
    num_nodes: usize,
    filled: usize,
    /// The first row's anchor feature ([`crate::preprocess::anchor_q16`]), for `Log2Ratio`.
    anchor: i32,
    /// The first pushed value outside the trust section's training range.
    out_of_range: Option<OutOfRange>,
    /// The first row's interval covariate ([`crate::trust::covariate`]).
    covariate: i32,
}

/// A fixed-point ANGraph-L prediction with what the blob's trust section says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assessed {
    /// The prediction (as [`FixedInput::finish`] returns it).
    pub value: Fixed,
    /// The interval covariate of the input ([`crate::trust::covariate`]).
    pub covariate: i32,
    /// Its calibrated interval (`None` without a trust section).
    pub interval: Option<Interval>,
    /// The envelope verdict (`None` without a trust section).
    pub envelope: Option<Envelope>,
}

impl<'m, 'a, 'w> FixedInput<'m, 'a, 'w> {
    /// Start a prediction for a graph of `num_nodes` nodes; `workspace` needs
    /// [`input_workspace`] bytes. Errors: wrong family or precision, an empty graph, more nodes
    /// than the model accepts, a workspace that is too small.
    pub fn new(model: &'m Model<'a>, num_nodes: u32, workspace: &'w mut [u8]) -> Result<Self> {
        let config = model.latency_config()?;
        if num_nodes == 0 {
            return Err(Error::EmptyGraph);
        }
        if num_nodes > config.max_nodes {
            return Err(Error::TooManyNodes {
                num_nodes,
                max: config.max_nodes,
            });
        }
        let n = num_nodes as usize;
        let rows = match model.precision() {
            Precision::Int16 => {
                let mut ws = Carver::new(workspace, &input_plan::<i16>(config, n))?;
                let h = ws.take::<i16>(n * config.width as usize)?;
                let x = ws.take::<i16>(config.in_dim as usize)?;
                Rows::I16 { h, x }
            }
            Precision::Int8 => {
                let mut ws = Carver::new(workspace, &input_plan::<i8>(config, n))?;
                let h = ws.take::<i8>(n * config.width as usize)?;
                let x = ws.take::<i8>(config.in_dim as usize)?;
                Rows::I8 { h, x }
            }
            Precision::F32 => return Err(Error::WrongPrecision),
        };
        Ok(FixedInput {
            model,
            config,
            rows,
            num_nodes: n,
            filled: 0,
            anchor: 0,
            out_of_range: None,
            covariate: 0,
        })
    }

    /// Nodes pushed so far.
    pub fn filled(&self) -> u32 {
        self.filled as u32
    }

    /// The Q16.16 feature row of the next node (node order = the topology's node order); the
    /// model reads its first `in_dim` values (a feature-set-1 model takes the set-1 prefix of
    /// a set-2 row). Errors: a row shorter than `in_dim`, more rows than nodes.
    pub fn push_node(&mut self, features: &[i32]) -> Result<()> {
        let c = self.config;
        if features.len() < c.in_dim as usize {
            return Err(Error::FeatureWidth {
                expected: c.in_dim as u32,
                found: features.len().min(u32::MAX as usize) as u32,
            });
        }
        let features = &features[..c.in_dim as usize];
        if self.filled >= self.num_nodes {
            return Err(Error::GraphLength {
                field: "node rows",
                expected: self.num_nodes as u32,
                found: self.filled as u32 + 1,
            });
        }
        let v = self.filled;
        if v == 0 {
            self.anchor = crate::preprocess::anchor_q16(features);
            self.covariate = crate::trust::covariate(features);
        }
        if self.out_of_range.is_none() {
            if let Some(t) = self.model.trust() {
                self.out_of_range = t.check_row(v as u32, features);
            }
        }
        match &mut self.rows {
            Rows::I16 { h, x } => embed_row(self.model, c, features, x, h, v),
            Rows::I8 { h, x } => embed_row(self.model, c, features, x, h, v),
        }
        self.filled += 1;
        Ok(())
    }

    /// Stage 2: layers, pooling and head over `topology` (its features are ignored; it must have
    /// the pushed number of nodes, and edge weights when the model aggregates by activity).
    /// `workspace` needs [`layer_workspace`] bytes and may be memory the feature source used.
    pub fn finish(self, topology: &GraphView<'_, i32>, workspace: &mut [u8]) -> Result<Fixed> {
        self.finish_embedded(topology, workspace, &mut [])
    }

    /// [`FixedInput::finish`] plus the interval and envelope verdict of the blob's trust
    /// section (both `None` without one).
    pub fn finish_assessed(
        self,
        topology: &GraphView<'_, i32>,
        workspace: &mut [u8],
    ) -> Result<Assessed> {
        let model = self.model;
        let out_of_range = self.out_of_range;
        let mut emb = [0i32; MAX_WIDTH as usize];
        let w = self.config.width as usize;
        let (value, covariate) = self.finish_inner(topology, workspace, &mut emb[..w])?;
        Ok(match model.trust() {
            Some(t) => Assessed {
                value,
                covariate,
                interval: t.interval(0, value, covariate),
                envelope: Some(t.assess(out_of_range, &emb[..w])),
            },
            None => Assessed {
                value,
                covariate,
                interval: None,
                envelope: None,
            },
        })
    }

    /// [`FixedInput::finish`], also writing the pooled graph embedding (what the head reads,
    /// activation units) to `embedding[..width]` when `embedding` is not empty (it must then
    /// hold `width` values).
    pub fn finish_embedded(
        self,
        topology: &GraphView<'_, i32>,
        workspace: &mut [u8],
        embedding: &mut [i32],
    ) -> Result<Fixed> {
        Ok(self.finish_inner(topology, workspace, embedding)?.0)
    }

    /// The prediction and its interval covariate; the embedding as in `finish_embedded`.
    pub(super) fn finish_inner(
        self,
        topology: &GraphView<'_, i32>,
        workspace: &mut [u8],
        embedding: &mut [i32],
    ) -> Result<(Fixed, i32)> {
        if !embedding.is_empty() && embedding.len() < self.config.width as usize {
            return Err(Error::OutputLength {
                needed: self.config.width as usize,
                given: embedding.len(),
            });
        }
        if topology.num_nodes() as usize != self.num_nodes || self.filled != self.num_nodes {
            return Err(Error::GraphLength {
                field: "node rows",
                expected: topology.num_nodes(),
                found: self.filled as u32,
            });
        }
        check_graph_shape(self.config, topology)?;
        let covariate = self.covariate;
        match self.rows {
            Rows::I16 { h, .. } => layers::<i16>(
                self.model,
                self.config,
                topology,
                h,
                workspace,
                self.anchor,
                embedding,
            )
            .map(|v| (v, covariate)),
            Rows::I8 { h, .. } => layers::<i8>(
                self.model,
                self.config,
                topology,
                h,
                workspace,
                self.anchor,
                embedding,
            )
            .map(|v| (v, covariate)),
        }
    }
}

fn embed_row<A: Activation>(
    model: &Model<'_>,
    c: &LatencyConfig,
    features: &[i32],
    xrow: &mut [A],
    h: &mut [A],
    v: usize,
) {
    let w = c.width as usize;
    let out = &mut h[v * w..(v + 1) * w];
    let q = model.scalars()[0];
    if c.input_proj {
        quantize_row(c, q, features, xrow);
        linear_fixed(&model.linears()[0], xrow, out, false);
    } else {
        quantize_row(c, q, features, out);
    }
}

fn layers<A: Activation + Plain>(
    model: &Model<'_>,
    c: &LatencyConfig,
    graph: &GraphView<'_, i32>,
    h0: &mut [A],
    workspace: &mut [u8],
    anchor: i32,
    embedding: &mut [i32],
) -> Result<Fixed> {
    let n = graph.num_nodes() as usize;
    let w = c.width as usize;
    let hm = head_max(c);
    let mut ws = Carver::new(workspace, &layer_plan::<A>(c, n))?;
    let mut h_next = ws.take::<A>(n * w)?;
    let sage_in = ws.take::<A>(2 * w)?;
    let g = ws.take::<i64>(w)?;
    let sums = ws.take::<i64>(w)?;
    let mut za = ws.take::<A>(hm)?;
    let mut zb = ws.take::<A>(hm)?;
    let mut h = h0;
    let lins = model.linears();
    let scalars = model.scalars();
    let mut li = usize::from(c.input_proj);
    let mut term = 0usize;
    let mut t = 0u8;
    if c.jk_includes(0) {
        pool_fixed(h, n, w, sums, g, scalars[1 + term]);
        term += 1;
    }
    let weights = graph.edge_weight();
    for layer in 0..c.computed_layers() {
        let lin = &lins[li];
        li += 1;
        let relu = c.layer_relu(layer);
        for v in 0..n {
            let (agg, selfv) = sage_in.split_at_mut(w);
            aggregate_fixed(c.aggr, graph, weights, h, w, v, sums, agg);
            selfv.copy_from_slice(&h[v * w..(v + 1) * w]);
            linear_fixed(lin, sage_in, &mut h_next[v * w..(v + 1) * w], relu);
        }
        core::mem::swap(&mut h, &mut h_next);
        t += 1;
        if c.jk_includes(t) {
            pool_fixed(h, n, w, sums, g, scalars[1 + term]);
            term += 1;
        }
    }
    let r = recip(n as u32);
    for (z, &gv) in za.iter_mut().zip(g.iter()) {
        let v = if c.pool == Pool::Mean {
            mul_recip(gv, r)
        } else {
            gv
        };
        *z = A::sat(v);
    }
    for (e, z) in embedding.iter_mut().zip(za.iter()) {
        *e = z.widen();
    }
    let mut dim = w;
    for &hd in c.head.iter() {
        linear_fixed(&lins[li], &za[..dim], &mut zb[..hd as usize], true);
        li += 1;
        dim = hd as usize;
        core::mem::swap(&mut za, &mut zb);
    }
    let last = &lins[li];
    let acc = dot_i8(last.row_bytes(0), &za[..dim]) as i64 + last.bias_i32(0) as i64;
    let raw = sat_i32(last.requant(0).apply64(acc));
    let fb = model.out_frac_bits();
    Ok(Fixed {
        raw: crate::preprocess::output_fixed(c.preprocess, raw, fb, anchor),
        frac_bits: fb,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn const_bounds_cover_the_plans() {
        let mut rng = crate::test_rng::Lcg::new(0x1234_5678);
        let mut next = |m: usize| 1 + rng.next_u31() as usize % m;
        for _ in 0..2000 {
            let (n, w, d, hm) = (next(1100), next(256), next(512), next(512));
            let mut c = LatencyConfig::original();
            c.in_dim = d as u16;
            c.input_proj = true;
            c.width = w as u16;
            c.head.clear();
            c.head.push(hm as u16).unwrap();
            let (i16_in, i16_layers) = (input_plan::<i16>(&c, n), layer_plan::<i16>(&c, n));
            let (i8_in, i8_layers) = (input_plan::<i8>(&c, n), layer_plan::<i8>(&c, n));
            let ib = input_workspace_bound(n, d, w);
            let lb = layer_workspace_bound(n, w, hm);
            assert!(
                i16_in.bytes() <= ib && i8_in.bytes() <= ib,
                "n={n} w={w} d={d}"
            );
            assert!(
                i16_layers.bytes() <= lb && i8_layers.bytes() <= lb,
                "n={n} w={w} hm={hm}"
            );
            // Tight for int16: only alignment padding is added.
            assert!(ib - i16_in.bytes() <= 8 && lb - i16_layers.bytes() <= 6 * 7);
        }
    }
}
