//! ANGraph-P inference: residual MLP from an activity vector to per-component energy.
//!
//! `x -> [Linear + ReLU -> residual blocks]* -> heads`; a residual block is
//! `relu(lin2(relu(lin1(x))) + x)`. The heads are (dynamic, static) in the original; the total
//! is their sum. Working memory is three activation vectors of the widest stage, plus three
//! blocks of samples for the batched path ([`required_workspace_batched`]).

use crate::blob::Precision;
use crate::config::PowerConfig;
use crate::error::{Error, Result};
use crate::fixed::Fixed;
use crate::fixed::{sat_i32, Activation, Requant};
use crate::model::{Linear, Model};
use crate::observe::{MaxAbs, NoObserver, Observer};
use crate::trust::{Envelope, Interval, MAX_INTERVALS};
use crate::workspace::{Carver, Plain, Plan};

/// Most heads (outputs) of ANGraph-P.
pub const MAX_OUTPUTS: usize = crate::config::MAX_HEADS as usize;

/// The energy prediction of one sample: one value per head, plus their sum (`total`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Energy<T> {
    /// Per head, in head order (original: `[dynamic, static]`); unused entries are zero.
    pub heads: [T; MAX_OUTPUTS],
    /// Number of heads in use.
    pub len: u8,
    /// Sum of the heads.
    pub total: T,
}

impl Energy<f32> {
    /// No energy: the value of an output buffer before a prediction writes it.
    pub const ZERO: Energy<f32> = Energy {
        heads: [0.0; MAX_OUTPUTS],
        len: 0,
        total: 0.0,
    };
}

impl Energy<Fixed> {
    /// No energy (format `Q.0`): the value of an output buffer before a prediction writes it.
    pub const ZERO: Energy<Fixed> = Energy {
        heads: [Fixed::ZERO; MAX_OUTPUTS],
        len: 0,
        total: Fixed::ZERO,
    };
}

fn plan(model: &Model<'_>, c: &PowerConfig) -> Plan {
    let w = c.max_width();
    let mut p = Plan::default();
    match model.precision() {
        Precision::F32 => {
            p.take::<f32>(w).take::<f32>(w).take::<f32>(w);
        }
        Precision::Int16 => {
            p.take::<i16>(w).take::<i16>(w).take::<i16>(w);
        }
        Precision::Int8 => {
            p.take::<i8>(w).take::<i8>(w).take::<i8>(w);
        }
    }
    p
}

/// Bytes of working memory one ANGraph-P prediction needs (any batch size reuses it).
/// Returns 0 for a model that is not ANGraph-P.
pub fn required_workspace(model: &Model<'_>) -> usize {
    match model.power_config() {
        Ok(c) => plan(model, c).bytes(),
        Err(_) => 0,
    }
}

/// An upper bound of [`required_workspace`] for any fixed-point ANGraph-P whose widest layer
/// (input included) is `max_width`, usable in `const` context.
pub const fn fixed_workspace_bound(max_width: usize) -> usize {
    3 * max_width * core::mem::size_of::<i16>() + 3 + crate::workspace::ALIGN_SLACK
}

fn check_input(c: &PowerConfig, len: usize, batch: usize, out_len: usize) -> Result<()> {
    let need = c.in_dim as usize * batch;
    if len != need {
        return Err(Error::GraphLength {
            field: "power input",
            expected: need as u32,
            found: len as u32,
        });
    }
    if out_len < batch {
        return Err(Error::OutputLength {
            needed: batch,
            given: out_len,
        });
    }
    Ok(())
}

#[inline]
fn dot_f32(row: &[u8], x: &[f32]) -> f32 {
    let mut s = [0f32; 4];
    for (r, xs) in row.chunks_exact(16).zip(x.chunks_exact(4)) {
        for j in 0..4 {
            let b = &r[4 * j..4 * j + 4];
            s[j] += f32::from_le_bytes([b[0], b[1], b[2], b[3]]) * xs[j];
        }
    }
    let mut tail = 0f32;
    for k in (x.len() / 4) * 4..x.len() {
        let b = &row[4 * k..4 * k + 4];
        tail += f32::from_le_bytes([b[0], b[1], b[2], b[3]]) * x[k];
    }
    (s[0] + s[1]) + (s[2] + s[3]) + tail
}

fn lin_f32(lin: &Linear<'_>, x: &[f32], out: &mut [f32], relu: bool) {
    for (o, y) in out.iter_mut().enumerate().take(lin.out_dim) {
        let v = dot_f32(lin.row_bytes(o), &x[..lin.in_dim]) + lin.b_f32(o);
        *y = if relu { v.max(0.0) } else { v };
    }
}

/// Predict a batch with the f32 reference path. `input` is `batch x in_dim` row-major.
/// `stats`, if given, receives the running max-abs of every calibration site.
pub fn predict_f32(
    model: &Model<'_>,
    input: &[f32],
    out: &mut [Energy<f32>],
    workspace: &mut [u8],
    stats: Option<&mut [f32]>,
) -> Result<()> {
    match stats {
        Some(s) => {
            if s.len() < model.config().calibration_sites() {
                return Err(Error::OutputLength {
                    needed: model.config().calibration_sites(),
                    given: s.len(),
                });
            }
            predict_f32_observed(model, input, out, workspace, &mut MaxAbs(s))
        }
        None => predict_f32_observed(model, input, out, workspace, &mut NoObserver),
    }
}

/// [`predict_f32`] reporting every activation and linear-layer input to `obs`.
pub fn predict_f32_observed<O: Observer>(
    model: &Model<'_>,
    input: &[f32],
    out: &mut [Energy<f32>],
    workspace: &mut [u8],
    obs: &mut O,
) -> Result<()> {
    let c = model.power_config()?;
    if model.precision() != Precision::F32 {
        return Err(Error::WrongPrecision);
    }
    let d = c.in_dim as usize;
    let batch = input.len() / d;
    check_input(c, input.len(), batch, out.len())?;
    if input.iter().any(|v| !v.is_finite()) {
        return Err(Error::NotFinite("power input"));
    }
    let p = plan(model, c);
    let mut ws = Carver::new(workspace, &p)?;
    let w = c.max_width();
    let mut a = ws.take::<f32>(w)?;
    let mut b = ws.take::<f32>(w)?;
    let t = ws.take::<f32>(w)?;
    let lins = model.linears();
    for (s, e) in input.chunks_exact(d).zip(out.iter_mut()) {
        a[..d].copy_from_slice(s);
        obs.activation(0, &a[..d]);
        let mut site = 1;
        let mut li = 0;
        let mut dim = d;
        for st in &c.stages {
            let sw = st.width as usize;
            obs.linear_input(li, &a[..dim]);
            lin_f32(&lins[li], &a[..dim], &mut b[..sw], true);
            li += 1;
            obs.activation(site, &b[..sw]);
            site += 1;
            core::mem::swap(&mut a, &mut b);
            dim = sw;
            for _ in 0..st.blocks {
                obs.linear_input(li, &a[..dim]);
                lin_f32(&lins[li], &a[..dim], &mut t[..dim], true);
                obs.activation(site, &t[..dim]);
                obs.linear_input(li + 1, &t[..dim]);
                lin_f32(&lins[li + 1], &t[..dim], &mut b[..dim], false);
                li += 2;
                for (y, &x) in b[..dim].iter_mut().zip(a[..dim].iter()) {
                    *y = (*y + x).max(0.0);
                }
                obs.activation(site + 1, &b[..dim]);
                site += 2;
                core::mem::swap(&mut a, &mut b);
            }
        }
        let mut res = Energy {
            heads: [0.0; MAX_OUTPUTS],
            len: c.heads,
            total: 0.0,
        };
        for hd in 0..c.heads as usize {
            let mut y = [0f32];
            obs.linear_input(li + hd, &a[..dim]);
            lin_f32(&lins[li + hd], &a[..dim], &mut y, false);
            obs.activation(site + hd, &y);
            res.heads[hd] = y[0];
            res.total += y[0];
        }
        *e = res;
    }
    Ok(())
}

use crate::kernel::{
    accumulate as acc_fixed, linear_fixed as lin_fixed, linear_residual as lin_residual,
};

/// Predict a batch with the fixed-point path. `input` is `batch x in_dim` Q16.16 activities.
pub fn predict_fixed(
    model: &Model<'_>,
    input: &[i32],
    out: &mut [Energy<Fixed>],
    workspace: &mut [u8],
) -> Result<()> {
    predict_embedded(model, input, out, workspace, &mut [])
}

/// [`predict_fixed`], also writing each sample's last hidden vector (what the heads read,
/// [`PowerConfig::head_input_width`] values in activation units per sample) to `embedding`
/// unless it is empty: what trust calibration measures.
pub fn predict_embedded(
    model: &Model<'_>,
    input: &[i32],
    out: &mut [Energy<Fixed>],
    workspace: &mut [u8],
    embedding: &mut [i32],
) -> Result<()> {
    match model.precision() {
        Precision::Int16 => run_fixed::<i16>(model, input, out, workspace, embedding),
        Precision::Int8 => run_fixed::<i8>(model, input, out, workspace, embedding),
        Precision::F32 => Err(Error::WrongPrecision),
    }
}

/// A fixed-point ANGraph-P prediction with what the blob's trust section says about it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assessed {
    /// The prediction (as [`predict_fixed`] gives it).
    pub energy: Energy<Fixed>,
    /// Interval of each head (in head order), then of the total; `None` without a trust
    /// section.
    pub intervals: Option<[Interval; MAX_INTERVALS]>,
    /// The envelope verdict (`None` without a trust section).
    pub envelope: Option<Envelope>,
}

/// [`predict_fixed`] of one sample (`in_dim` Q16.16 activities) with the intervals and the
/// envelope verdict of the blob's trust section: the same values the chip computes.
pub fn predict_assessed(
    model: &Model<'_>,
    input: &[i32],
    workspace: &mut [u8],
) -> Result<Assessed> {
    let mut out = [Assessed::UNASSESSED];
    let mut emb = [0i32; crate::config::MAX_WIDTH as usize];
    predict_assessed_batch(model, input, &mut out, workspace, &mut emb)?;
    Ok(out[0])
}

/// Samples [`predict_assessed_batch`] runs at once: a block where the batched kernels exist,
/// else one (so the chip's stack holds one output, not a block of them).
#[cfg(all(target_arch = "x86_64", feature = "std"))]
const ASSESS_CHUNK: usize = BLOCK;
#[cfg(not(all(target_arch = "x86_64", feature = "std")))]
const ASSESS_CHUNK: usize = 1;

impl Assessed {
    /// A zero prediction without trust (the initial value of an output slot).
    pub const UNASSESSED: Assessed = Assessed {
        energy: Energy::<Fixed>::ZERO,
        intervals: None,
        envelope: None,
    };
}

/// [`predict_assessed`] of a batch (`out.len()` samples of `in_dim` activities each): the
/// batched kernels of [`predict_embedded`] when `workspace` holds
/// [`required_workspace_batched`] bytes, then each sample's intervals and envelope verdict.
/// `embedding` is scratch of at least `out.len() x` [`PowerConfig::head_input_width`] values
/// (only the first sample's when the blob has no trust section). Bit-identical to
/// [`predict_assessed`] sample by sample.
pub fn predict_assessed_batch(
    model: &Model<'_>,
    input: &[i32],
    out: &mut [Assessed],
    workspace: &mut [u8],
    embedding: &mut [i32],
) -> Result<()> {
    let c = model.power_config()?;
    let d = c.in_dim as usize;
    let n = out.len();
    check_input(c, input.len(), n, n)?;
    let w = c.head_input_width();
    let trust = model.trust();
    let need = if trust.is_some() { n * w } else { 0 };
    if embedding.len() < need {
        return Err(Error::OutputLength {
            needed: need,
            given: embedding.len(),
        });
    }
    let emb = &mut embedding[..need];
    let mut energies = [Energy::<Fixed>::ZERO; ASSESS_CHUNK];
    let mut done = 0;
    while done < n {
        let k = (n - done).min(ASSESS_CHUNK);
        let e = if emb.is_empty() {
            &mut [][..]
        } else {
            &mut emb[done * w..(done + k) * w]
        };
        predict_embedded(
            model,
            &input[done * d..(done + k) * d],
            &mut energies[..k],
            workspace,
            e,
        )?;
        for (j, energy) in energies[..k].iter().enumerate() {
            let frac_bits = model.out_frac_bits();
            let zero = Fixed { raw: 0, frac_bits };
            out[done + j] = match &trust {
                Some(t) => {
                    let mut iv = [Interval { lo: zero, hi: zero }; MAX_INTERVALS];
                    for (h, slot) in iv.iter_mut().enumerate().take(energy.len as usize + 1) {
                        let y = if h < energy.len as usize {
                            energy.heads[h]
                        } else {
                            energy.total
                        };
                        *slot = t.interval(h, y, 0).unwrap_or(Interval { lo: y, hi: y });
                    }
                    let row = &input[(done + j) * d..(done + j + 1) * d];
                    let u = &emb[(done + j) * w..(done + j + 1) * w];
                    Assessed {
                        energy: *energy,
                        intervals: Some(iv),
                        envelope: Some(t.assess(t.check_row(0, row), u)),
                    }
                }
                None => Assessed {
                    energy: *energy,
                    intervals: None,
                    envelope: None,
                },
            };
        }
        done += k;
    }
    Ok(())
}

/// What every fixed-point sample reads: the configuration and the model's tensors.
struct Net<'m, 'a> {
    c: &'m PowerConfig,
    lins: &'m [Linear<'a>],
    scalars: &'m [Requant],
    frac_bits: u8,
}

impl Net<'_, '_> {
    /// The heads (linears `li..`) of one sample's last hidden vector `a`.
    fn heads<A: Activation>(&self, li: usize, a: &[A]) -> Energy<Fixed> {
        let frac_bits = self.frac_bits;
        let zero = Fixed { raw: 0, frac_bits };
        let mut res = Energy {
            heads: [zero; MAX_OUTPUTS],
            len: self.c.heads,
            total: zero,
        };
        let mut total = 0i64;
        for hd in 0..self.c.heads as usize {
            let lin = &self.lins[li + hd];
            let raw = sat_i32(lin.requant(0).apply64(acc_fixed(lin, a, 0)));
            res.heads[hd] = Fixed { raw, frac_bits };
            total += raw as i64;
        }
        res.total = Fixed {
            raw: sat_i32(total),
            frac_bits,
        };
        res
    }

    /// One sample `s` (`in_dim` Q16.16 activities) through every layer, one layer call per
    /// sample; `embedding` receives the last hidden vector unless it is empty.
    fn row<A: Activation>(
        &self,
        s: &[i32],
        bufs: (&mut [A], &mut [A], &mut [A]),
        embedding: &mut [i32],
    ) -> Energy<Fixed> {
        let (mut a, mut b, t) = bufs;
        let q: Requant = self.scalars[0];
        for (o, &v) in a.iter_mut().zip(s) {
            *o = A::sat(q.apply32(v));
        }
        let lins = self.lins;
        let mut li = 0;
        let mut blk = 0;
        let mut dim = s.len();
        for st in &self.c.stages {
            let sw = st.width as usize;
            lin_fixed(&lins[li], &a[..dim], &mut b[..sw], true);
            li += 1;
            core::mem::swap(&mut a, &mut b);
            dim = sw;
            for _ in 0..st.blocks {
                lin_fixed(&lins[li], &a[..dim], &mut t[..dim], true);
                let skip = self.scalars[1 + blk];
                lin_residual(&lins[li + 1], &t[..dim], &a[..dim], skip, &mut b[..dim]);
                li += 2;
                blk += 1;
                core::mem::swap(&mut a, &mut b);
            }
        }
        for (o, v) in embedding.iter_mut().zip(&a[..dim]) {
            *o = v.widen();
        }
        self.heads(li, &a[..dim])
    }

    /// The samples of `input` (at most `lanes`, `lanes` a multiple of 16) as one block
    /// through every layer: layer-major, each layer one call over the block
    /// ([`crate::kernel::linear_block`]); the same values as [`Net::row`] sample by sample.
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    fn block<A: Activation>(
        &self,
        input: &[i32],
        out: &mut [Energy<Fixed>],
        embedding: &mut [i32],
        lanes: usize,
        bufs: (&mut [i16], &mut [i16], &mut [i16]),
    ) {
        use crate::kernel::{block_index, linear_block, residual_block};
        let (mut a, mut b, t) = bufs;
        let d = self.c.in_dim as usize;
        let q: Requant = self.scalars[0];
        for (bi, s) in input.chunks_exact(d).enumerate() {
            for (k, &v) in s.iter().enumerate() {
                a[block_index(k, bi, lanes)] = A::sat(q.apply32(v)).widen() as i16;
            }
        }
        let lins = self.lins;
        let mut li = 0;
        let mut blk = 0;
        let mut dim = d;
        for st in &self.c.stages {
            linear_block::<A>(&lins[li], a, b, lanes, true);
            li += 1;
            core::mem::swap(&mut a, &mut b);
            dim = st.width as usize;
            for _ in 0..st.blocks {
                linear_block::<A>(&lins[li], a, t, lanes, true);
                let skip = self.scalars[1 + blk];
                residual_block::<A>(&lins[li + 1], t, a, skip, b, lanes);
                li += 2;
                blk += 1;
                core::mem::swap(&mut a, &mut b);
            }
        }
        let mut row = [A::default(); crate::config::MAX_WIDTH as usize];
        let row = &mut row[..dim];
        for (bi, e) in out.iter_mut().enumerate() {
            for (o, v) in row.iter_mut().enumerate() {
                *v = A::sat(a[block_index(o, bi, lanes)] as i64);
            }
            if !embedding.is_empty() {
                for (o, v) in embedding[bi * dim..(bi + 1) * dim].iter_mut().zip(&*row) {
                    *o = v.widen();
                }
            }
            *e = self.heads(li, row);
        }
    }
}

/// Samples per block of the batched fixed-point path: with a workspace of
/// [`required_workspace_batched`]`(model, BLOCK)` bytes, [`predict_fixed`] runs a batch in
/// blocks of this many samples, layer by layer (four vectors of 16 samples per weight
/// broadcast on AVX-512 hosts).
pub const BLOCK: usize = 64;

/// Fewest samples the batched path runs as a block; fewer left-over samples go one by one.
#[cfg(all(target_arch = "x86_64", feature = "std"))]
const MIN_BLOCK: usize = 8;

/// Lanes of a block of up to `block` samples (a multiple of 16).
const fn block_lanes(block: usize) -> usize {
    block.div_ceil(16) * 16
}

fn plan_batched(model: &Model<'_>, c: &PowerConfig, block: usize) -> Plan {
    let mut p = plan(model, c);
    if model.precision() != Precision::F32 && block > 0 {
        let n = crate::kernel::block_len(c.max_width(), block_lanes(block));
        p.take::<i16>(n).take::<i16>(n).take::<i16>(n);
    }
    p
}

/// Bytes of working memory with which [`predict_fixed`] (and [`predict_embedded`]) run a
/// fixed-point batch in blocks of `block` samples, rounded up to a multiple of 16 (at most
/// [`BLOCK`] are used; [`BLOCK`] is the default): [`required_workspace`] plus three activation
/// blocks. A workspace between two block sizes runs the smaller one; with less than the
/// 16-sample size (but at least [`required_workspace`]) a prediction goes sample by sample.
/// The results are the same in every case. The blocks run on AVX-512 hosts (feature `std`);
/// elsewhere the extra memory is unused. Returns 0 for a model that is not ANGraph-P.
pub fn required_workspace_batched(model: &Model<'_>, block: usize) -> usize {
    match model.power_config() {
        Ok(c) => plan_batched(model, c, block).bytes(),
        Err(_) => 0,
    }
}

/// The block lanes a fixed-point batch of `batch` samples runs with in `ws_len` bytes (0:
/// sample by sample).
#[cfg_attr(
    not(all(target_arch = "x86_64", feature = "std")),
    allow(unused_variables)
)]
fn batched_lanes(model: &Model<'_>, c: &PowerConfig, ws_len: usize, batch: usize) -> usize {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    if batch >= MIN_BLOCK && crate::kernel::has_block_kernel(crate::kernel::path()) {
        for block in (1..=BLOCK / 16).rev().map(|v| 16 * v) {
            if ws_len >= plan_batched(model, c, block).bytes() {
                return block_lanes(block);
            }
        }
    }
    0
}

fn run_fixed<A: Activation + Plain>(
    model: &Model<'_>,
    input: &[i32],
    out: &mut [Energy<Fixed>],
    workspace: &mut [u8],
    embedding: &mut [i32],
) -> Result<()> {
    let c = model.power_config()?;
    let d = c.in_dim as usize;
    let batch = input.len() / d;
    check_input(c, input.len(), batch, out.len())?;
    let ew = c.head_input_width();
    if !embedding.is_empty() && embedding.len() < batch * ew {
        return Err(Error::OutputLength {
            needed: batch * ew,
            given: embedding.len(),
        });
    }
    let lanes = batched_lanes(model, c, workspace.len(), batch);
    let p = plan_batched(model, c, lanes);
    let mut ws = Carver::new(workspace, &p)?;
    let w = c.max_width();
    let a = ws.take::<A>(w)?;
    let b = ws.take::<A>(w)?;
    let t = ws.take::<A>(w)?;
    let net = Net {
        c,
        lins: model.linears(),
        scalars: model.scalars(),
        frac_bits: model.out_frac_bits(),
    };
    let emb_of = |e: &mut [i32], k: usize, n: usize| -> core::ops::Range<usize> {
        if e.is_empty() {
            0..0
        } else {
            k * ew..(k + n) * ew
        }
    };
    #[cfg_attr(not(all(target_arch = "x86_64", feature = "std")), allow(unused_mut))]
    let mut done = 0;
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    if lanes > 0 {
        let len = crate::kernel::block_len(w, lanes);
        let (x, y, z) = (
            ws.take::<i16>(len)?,
            ws.take::<i16>(len)?,
            ws.take::<i16>(len)?,
        );
        while batch - done >= MIN_BLOCK {
            let n = (batch - done).min(lanes);
            let r = emb_of(embedding, done, n);
            net.block::<A>(
                &input[done * d..(done + n) * d],
                &mut out[done..done + n],
                &mut embedding[r],
                block_lanes(n),
                (&mut *x, &mut *y, &mut *z),
            );
            done += n;
        }
    }
    let _ = lanes;
    for k in done..batch {
        let r = emb_of(embedding, k, 1);
        out[k] = net.row::<A>(
            &input[k * d..(k + 1) * d],
            (&mut *a, &mut *b, &mut *t),
            &mut embedding[r],
        );
    }
    Ok(())
}

#[cfg(test)]
mod bound_tests {
    use super::*;

    #[test]
    fn fixed_workspace_bound_covers_the_plan() {
        for w in 1..=512usize {
            let mut p16 = Plan::default();
            p16.take::<i16>(w).take::<i16>(w).take::<i16>(w);
            let mut p8 = Plan::default();
            p8.take::<i8>(w).take::<i8>(w).take::<i8>(w);
            assert!(p16.bytes() <= fixed_workspace_bound(w), "w={w}");
            assert!(p8.bytes() <= fixed_workspace_bound(w), "w={w}");
        }
    }
}
