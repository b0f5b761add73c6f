//! Host side (feature `std`): f32 models as owned tensors, BatchNorm folding, blob writing,
//! calibration and quantization into fixed-point blobs.

use std::string::String;
use std::vec;
use std::vec::Vec;

use crate::blob::{self, Body, Precision};
use crate::config::{Config, LatencyConfig, PowerConfig, Preprocess};
use crate::error::{Error, Resource, Result};
use crate::fixed::{feature_to_fixed, Requant, FEATURE_FRAC_BITS};
use crate::graph::{csr_from_coo, GraphView};
use crate::model::Model;
use crate::weight_rounding::{self, Gram};
use crate::{latency, power};

/// One f32 linear layer, `w` row-major `out x in`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearF32 {
    /// Input width.
    pub in_dim: usize,
    /// Output width.
    pub out_dim: usize,
    /// Weights, row-major `out x in`.
    pub w: Vec<f32>,
    /// Bias, `out`.
    pub b: Vec<f32>,
}

/// BatchNorm parameters in eval mode: `y = gamma * (x - mean) / sqrt(var + eps) + beta`.
#[derive(Debug, Clone, Copy)]
pub struct BatchNorm<'a> {
    /// Scale.
    pub gamma: &'a [f32],
    /// Shift.
    pub beta: &'a [f32],
    /// Running mean.
    pub mean: &'a [f32],
    /// Running variance.
    pub var: &'a [f32],
    /// Epsilon (PyTorch default 1e-5).
    pub eps: f32,
}

impl LinearF32 {
    /// Check lengths and wrap.
    pub fn new(in_dim: usize, out_dim: usize, w: Vec<f32>, b: Vec<f32>) -> Result<Self> {
        if w.len() != in_dim * out_dim {
            return Err(Error::GraphLength {
                field: "linear weight",
                expected: (in_dim * out_dim) as u32,
                found: w.len() as u32,
            });
        }
        if b.len() != out_dim {
            return Err(Error::GraphLength {
                field: "linear bias",
                expected: out_dim as u32,
                found: b.len() as u32,
            });
        }
        Ok(LinearF32 {
            in_dim,
            out_dim,
            w,
            b,
        })
    }

    /// A SAGEConv layer `lin_l(mean) + lin_r(self)` followed by an optional BatchNorm, as one
    /// linear layer over `[mean | self]` with the BatchNorm folded in.
    /// `wl`, `wr`: `out x in`; `bl`: `out` (`lin_r` has no bias).
    pub fn sage(
        in_dim: usize,
        out_dim: usize,
        wl: &[f32],
        bl: &[f32],
        wr: &[f32],
        bn: Option<BatchNorm<'_>>,
    ) -> Result<Self> {
        for (name, t, n) in [
            ("lin_l.weight", wl, in_dim * out_dim),
            ("lin_l.bias", bl, out_dim),
            ("lin_r.weight", wr, in_dim * out_dim),
        ] {
            if t.len() != n {
                return Err(Error::GraphLength {
                    field: name,
                    expected: n as u32,
                    found: t.len() as u32,
                });
            }
        }
        let mut w = vec![0f32; out_dim * 2 * in_dim];
        let mut b = bl.to_vec();
        for o in 0..out_dim {
            w[o * 2 * in_dim..o * 2 * in_dim + in_dim]
                .copy_from_slice(&wl[o * in_dim..(o + 1) * in_dim]);
            w[o * 2 * in_dim + in_dim..(o + 1) * 2 * in_dim]
                .copy_from_slice(&wr[o * in_dim..(o + 1) * in_dim]);
        }
        if let Some(bn) = bn {
            for (name, t) in [
                ("bn.weight", bn.gamma),
                ("bn.bias", bn.beta),
                ("bn.running_mean", bn.mean),
                ("bn.running_var", bn.var),
            ] {
                if t.len() != out_dim {
                    return Err(Error::GraphLength {
                        field: name,
                        expected: out_dim as u32,
                        found: t.len() as u32,
                    });
                }
            }
            for o in 0..out_dim {
                let a = bn.gamma[o] as f64 / (bn.var[o] as f64 + bn.eps as f64).sqrt();
                for v in &mut w[o * 2 * in_dim..(o + 1) * 2 * in_dim] {
                    *v = (*v as f64 * a) as f32;
                }
                b[o] = ((b[o] as f64 - bn.mean[o] as f64) * a + bn.beta[o] as f64) as f32;
            }
        }
        LinearF32::new(2 * in_dim, out_dim, w, b)
    }
}

/// An f32 model: configuration plus owned linear layers in canonical order.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelF32 {
    /// Family and configuration.
    pub config: Config,
    /// Linear layers in the order of [`Config::linear_shapes`].
    pub linears: Vec<LinearF32>,
    /// Model output x `label_scale` = label in `unit`.
    pub label_scale: f32,
    /// Unit of the label.
    pub unit: String,
    /// Provenance.
    pub note: String,
}

/// The seeded generator of random initialisations (its home is [`crate::rng`]).
pub use crate::rng::SplitMix64;

impl ModelF32 {
    /// Check the layers against the configuration.
    pub fn new(
        config: Config,
        linears: Vec<LinearF32>,
        label_scale: f32,
        unit: &str,
        note: &str,
    ) -> Result<Self> {
        let shapes = config.linear_shapes()?;
        if shapes.len() != linears.len() {
            return Err(Error::TensorCount {
                expected: shapes.len() as u16,
                found: linears.len() as u16,
            });
        }
        for (i, (&(a, b), l)) in shapes.iter().zip(&linears).enumerate() {
            if l.in_dim != a as usize
                || l.out_dim != b as usize
                || l.w.len() != l.in_dim * l.out_dim
                || l.b.len() != l.out_dim
            {
                return Err(Error::TensorLength {
                    index: i as u16,
                    expected: (a as u32) * (b as u32),
                    found: l.w.len() as u32,
                });
            }
            if l.w.iter().chain(&l.b).any(|v| !v.is_finite()) {
                return Err(Error::NotFinite("model weights"));
            }
        }
        Ok(ModelF32 {
            config,
            linears,
            label_scale,
            unit: unit.into(),
            note: note.into(),
        })
    }

    /// A model with PyTorch-like uniform(-1/sqrt(in), 1/sqrt(in)) weights, from a seed.
    pub fn random(config: Config, seed: u64) -> Result<Self> {
        let mut rng = SplitMix64(seed);
        let mut linears = Vec::new();
        for &(i, o) in config.linear_shapes()?.iter() {
            let (i, o) = (i as usize, o as usize);
            let k = 1.0 / (i as f32).sqrt();
            let w = (0..i * o).map(|_| rng.uniform(-k, k)).collect();
            let b = (0..o).map(|_| rng.uniform(-k, k)).collect();
            linears.push(LinearF32::new(i, o, w, b)?);
        }
        ModelF32::new(
            config,
            linears,
            1.0,
            "",
            &std::format!("random init, seed {seed}"),
        )
    }

    /// The f32 blob (runs on the reference path).
    pub fn to_blob(&self) -> Result<Vec<u8>> {
        let bytes: Vec<(Vec<u8>, Vec<u8>)> = self
            .linears
            .iter()
            .map(|l| {
                (
                    l.w.iter().flat_map(|v| v.to_le_bytes()).collect(),
                    l.b.iter().flat_map(|v| v.to_le_bytes()).collect(),
                )
            })
            .collect();
        let mut tensors = heapless::Vec::new();
        for (w, b) in &bytes {
            tensors.push(w.as_slice()).map_err(|_| Error::Capacity {
                what: Resource::Tensors,
                needed: blob::MAX_TENSORS + 1,
                limit: blob::MAX_TENSORS,
            })?;
            tensors.push(b.as_slice()).map_err(|_| Error::Capacity {
                what: Resource::Tensors,
                needed: blob::MAX_TENSORS + 1,
                limit: blob::MAX_TENSORS,
            })?;
        }
        let body = Body {
            config: self.config.clone(),
            precision: Precision::F32,
            out_frac_bits: 0,
            label_scale: self.label_scale,
            unit: self.unit.as_str(),
            note: self.note.as_str(),
            scalars: heapless::Vec::new(),
            tensors,
            trust: None,
        };
        check_text(&body)?;
        blob::encode(&body)
    }

    /// Calibrate on `calib` with the f32 reference path and write a fixed-point blob with
    /// `precision` (`Int16` or `Int8` activations). `note` is appended to the model's note.
    pub fn quantize(
        &self,
        calib: &Calibration<'_>,
        precision: Precision,
        note: &str,
    ) -> Result<Vec<u8>> {
        if precision == Precision::F32 {
            return Err(Error::WrongPrecision);
        }
        let f32_blob = self.to_blob()?;
        let model = Model::from_bytes(&f32_blob)?;
        let mut obs = CalibObserver::new(&self.config, &self.linears);
        match (&self.config, calib) {
            (Config::Latency(_), Calibration::Latency(graphs)) => {
                if graphs.is_empty() {
                    return Err(Error::Config("calibration set is empty"));
                }
                let mut ws = Vec::new();
                for g in graphs.iter() {
                    let view = g.view()?;
                    ws.resize(
                        latency::required_workspace(&model, view.num_nodes(), view.num_edges()),
                        0,
                    );
                    latency::predict_f32_observed(&model, &view, &mut ws, &mut obs)?;
                }
            }
            (Config::Power(c), Calibration::Power(rows)) => {
                if rows.is_empty() {
                    return Err(Error::Config("calibration set is empty"));
                }
                let n = rows.len() / c.in_dim as usize;
                let mut out = vec![power::Energy::<f32>::ZERO; n];
                let mut ws = vec![0u8; power::required_workspace(&model)];
                power::predict_f32_observed(&model, rows, &mut out, &mut ws, &mut obs)?;
            }
            _ => return Err(Error::WrongFamily),
        }
        let mut stats = obs.max_abs.clone();
        // ANGraph-L with an input projection: the input range covers only the features the
        // projection reads (a feature whose weight column is all zero, e.g. one the trainer
        // dropped because it saturates, would otherwise set the scale of all the others; in
        // the fixed path it saturates harmlessly).
        if let (Config::Latency(c), Some(first)) = (&self.config, self.linears.first()) {
            if c.input_proj && obs.input_count.first().is_some_and(|&n| n > 0) {
                let read =
                    |j: usize| (0..first.out_dim).any(|o| first.w[o * first.in_dim + j] != 0.0);
                stats[0] = (0..first.in_dim)
                    .filter(|&j| read(j))
                    .fold(0f32, |a, j| a.max(obs.first_input_max[j]));
            }
        }
        if stats.iter().any(|v| !v.is_finite()) {
            return Err(Error::NotFinite("calibration activations"));
        }
        // ANGraph-P: inputs and activations grow with the mesh and the traffic, and a chip
        // configuration larger than any in the calibration mix must not saturate (activity
        // rows of a mesh bigger than the training ones reach 1.5x the calibrated ranges);
        // int16 keeps a 2^-13 step of the range after the headroom (measured: no loss).
        if matches!(self.config, Config::Power(_)) && precision == Precision::Int16 {
            let sites = stats.len() - power_heads(&self.config);
            stats[..sites]
                .iter_mut()
                .for_each(|v| *v *= POWER_ACTIVATION_HEADROOM);
        }
        let amax = if precision == Precision::Int16 {
            i16::MAX as f64
        } else {
            i8::MAX as f64
        };
        // A site that stayed at zero over the whole calibration set (a ReLU that never fired,
        // e.g. a dead residual branch of an original ANGraph-P) gets a range floor relative to
        // the largest range, so the multipliers into and out of it stay representable.
        let floor = stats.iter().fold(0f32, |a, &b| a.max(b)) as f64 * 1e-5;
        let scale = move |m: f32| (m as f64).max(floor).max(1e-12) / amax;
        let mut q = Quantizer {
            linears: Vec::new(),
            scalars: Vec::new(),
            input_mean: obs.means(),
            gram: core::mem::take(&mut obs.gram),
        };
        let out_frac_bits = match &self.config {
            Config::Latency(c) => self.quantize_latency(c, &stats, scale, &mut q)?,
            Config::Power(c) => self.quantize_power(c, &stats, scale, &mut q)?,
        };
        let mut tensors = heapless::Vec::new();
        for t in &q.linears {
            for part in [&t.0, &t.1, &t.2, &t.3] {
                tensors.push(part.as_slice()).map_err(|_| Error::Capacity {
                    what: Resource::Tensors,
                    needed: blob::MAX_TENSORS + 1,
                    limit: blob::MAX_TENSORS,
                })?;
            }
        }
        let full_note = if note.is_empty() {
            self.note.clone()
        } else {
            std::format!("{}; {}", self.note, note)
        };
        let body = Body {
            config: self.config.clone(),
            precision,
            out_frac_bits,
            label_scale: self.label_scale,
            unit: self.unit.as_str(),
            note: full_note.as_str(),
            scalars: q.scalars.iter().copied().collect(),
            tensors,
            trust: None,
        };
        check_text(&body)?;
        let bytes = blob::encode(&body)?;
        Model::from_bytes(&bytes)?; // never write a blob this build cannot read
        Ok(bytes)
    }

    fn quantize_latency(
        &self,
        c: &LatencyConfig,
        stats: &[f32],
        scale: impl Fn(f32) -> f64,
        q: &mut Quantizer,
    ) -> Result<u8> {
        let s_x = scale(stats[0]);
        let s_h0 = if c.input_proj { scale(stats[1]) } else { s_x };
        let s_g = scale(stats[2 + c.computed_layers() as usize]);
        q.scalars
            .push(requant(2f64.powi(-(FEATURE_FRAC_BITS as i32)) / s_x)?);
        let mut li = 0;
        if c.input_proj {
            q.linear(&self.linears[0], s_x, s_h0)?;
            li = 1;
        }
        let mut layer_scales = vec![s_h0];
        let mut s_in = s_h0;
        for layer in 0..c.computed_layers() as usize {
            let s_out = scale(stats[2 + layer]);
            q.linear(&self.linears[li], s_in, s_out)?;
            li += 1;
            layer_scales.push(s_out);
            s_in = s_out;
        }
        for (t, &s) in layer_scales.iter().enumerate() {
            if c.jk_includes(t as u8) {
                q.scalars.push(requant(s / s_g)?);
            }
        }
        let head_site = 3 + c.computed_layers() as usize;
        let mut s_in = s_g;
        for j in 0..c.head.len() {
            let s_out = scale(stats[head_site + j]);
            q.linear(&self.linears[li], s_in, s_out)?;
            li += 1;
            s_in = s_out;
        }
        let out_max = stats[head_site + c.head.len()] as f64;
        // Under Log2Exp2 (and Untimed) the raw head output (log domain) is followed by 2^y - 1 in the same
        // format, which must fit too.
        // Under Log2Ratio the output is a latency in ns: room for up to 2^20 ns (1 ms; longer
        // saturates), which leaves 9 fractional bits (a 0.14% step of the log2 ratio).
        let out_max = match c.preprocess {
            Preprocess::Log2Exp2 | Preprocess::Untimed => out_max.max(2f64.powf(out_max.min(30.0))),
            Preprocess::Log2Ratio => out_max.max(RATIO_OUTPUT_MAX_NS),
            Preprocess::None | Preprocess::ScaleByFirst | Preprocess::Log2 => out_max,
        };
        let bits = out_frac_bits(out_max);
        q.linear(&self.linears[li], s_in, 2f64.powi(-(bits as i32)))?;
        Ok(bits)
    }

    fn quantize_power(
        &self,
        c: &PowerConfig,
        stats: &[f32],
        scale: impl Fn(f32) -> f64,
        q: &mut Quantizer,
    ) -> Result<u8> {
        let mut cur = scale(stats[0]);
        q.scalars
            .push(requant(2f64.powi(-(FEATURE_FRAC_BITS as i32)) / cur)?);
        let mut site = 1;
        let mut li = 0;
        for st in &c.stages {
            let s = scale(stats[site]);
            q.linear(&self.linears[li], cur, s)?;
            li += 1;
            site += 1;
            cur = s;
            for _ in 0..st.blocks {
                let s_t = scale(stats[site]);
                let s_out = scale(stats[site + 1]);
                q.linear(&self.linears[li], cur, s_t)?;
                q.linear(&self.linears[li + 1], s_t, s_out)?;
                q.scalars.push(requant(cur / s_out)?);
                li += 2;
                site += 2;
                cur = s_out;
            }
        }
        let total: f64 = stats[site..site + c.heads as usize]
            .iter()
            .map(|&v| v as f64)
            .sum();
        let bits = out_frac_bits(total);
        for h in 0..c.heads as usize {
            q.linear(&self.linears[li + h], cur, 2f64.powi(-(bits as i32)))?;
        }
        Ok(bits)
    }
}

/// Headroom of an int16 ANGraph-P's input and activation ranges over the calibration maxima
/// (int8 keeps the bare maxima: it has 7 bits to spend; the heads' outputs have their own 4x
/// in [`out_frac_bits`]).
pub const POWER_ACTIVATION_HEADROOM: f32 = 2.0;

fn power_heads(config: &Config) -> usize {
    match config {
        Config::Power(c) => c.heads as usize,
        Config::Latency(_) => 0,
    }
}

fn check_text(body: &Body<'_>) -> Result<()> {
    blob::check_semantics(body.label_scale, body.unit, body.note)
}

fn requant(m: f64) -> Result<Requant> {
    Requant::from_f64(m).ok_or(Error::Config("requantization multiplier out of range"))
}

/// Fractional bits for an output whose calibration magnitude is `max_abs`: 4x headroom.
/// Largest latency (ns) a `Log2Ratio` model's fixed-point output holds.
const RATIO_OUTPUT_MAX_NS: f64 = (1u32 << 20) as f64;

fn out_frac_bits(max_abs: f64) -> u8 {
    let m = max_abs.max(1e-9) * 4.0;
    let bits = ((i32::MAX as f64) / m).log2().floor();
    bits.clamp(0.0, 30.0) as u8
}

type QTensors = (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>);

struct Quantizer {
    linears: Vec<QTensors>,
    scalars: Vec<Requant>,
    /// Mean calibration input of every linear layer (for bias correction).
    input_mean: Vec<Vec<f64>>,
    /// Gram matrices of the layers' calibration inputs; empty: round to nearest.
    gram: Vec<Gram>,
}

/// Collects what the quantizer needs from the f32 path: max-abs per site and the mean input of
/// every linear layer.
struct CalibObserver {
    max_abs: Vec<f32>,
    input_sum: Vec<Vec<f64>>,
    input_count: Vec<u64>,
    /// Per-feature max-abs of the first linear layer's input.
    first_input_max: Vec<f32>,
    /// Gram matrix of every linear layer's inputs (ANGraph-P only: GPTQ rounding).
    gram: Vec<Gram>,
}

impl CalibObserver {
    fn new(config: &Config, linears: &[LinearF32]) -> Self {
        CalibObserver {
            max_abs: vec![0.0; config.calibration_sites()],
            input_sum: linears.iter().map(|l| vec![0.0; l.in_dim]).collect(),
            input_count: vec![0; linears.len()],
            first_input_max: vec![0.0; linears.first().map_or(0, |l| l.in_dim)],
            gram: match config {
                Config::Power(_) => linears.iter().map(|l| Gram::new(l.in_dim)).collect(),
                Config::Latency(_) => Vec::new(),
            },
        }
    }

    fn means(&self) -> Vec<Vec<f64>> {
        self.input_sum
            .iter()
            .zip(&self.input_count)
            .map(|(s, &n)| {
                s.iter()
                    .map(|&v| if n > 0 { v / n as f64 } else { 0.0 })
                    .collect()
            })
            .collect()
    }
}

impl latency::Observer for CalibObserver {
    fn activation(&mut self, site: usize, values: &[f32]) {
        if let Some(m) = self.max_abs.get_mut(site) {
            *m = values.iter().fold(*m, |a, &v| a.max(v.abs()));
        }
    }
    fn linear_input(&mut self, linear: usize, input: &[f32]) {
        if linear == 0 {
            for (m, &v) in self.first_input_max.iter_mut().zip(input) {
                *m = m.max(v.abs());
            }
        }
        if let Some(sum) = self.input_sum.get_mut(linear) {
            for (s, &v) in sum.iter_mut().zip(input) {
                *s += v as f64;
            }
            self.input_count[linear] += 1;
        }
        if let Some(g) = self.gram.get_mut(linear) {
            g.add(input);
        }
    }
}

impl Quantizer {
    /// int8 per-output-channel weights (rounded to nearest, or by GPTQ where the layer's Gram
    /// matrix was collected: [`weight_rounding`]); bias in accumulator units, corrected for the
    /// mean error the weight rounding causes on calibration inputs (bias correction, Nagel et
    /// al. 2019: otherwise sum pooling over hundreds of nodes turns the per-channel rounding
    /// error into a systematic offset); requantization to `s_out`.
    fn linear(&mut self, l: &LinearF32, s_in: f64, s_out: f64) -> Result<()> {
        let mean = self
            .input_mean
            .get(self.linears.len())
            .cloned()
            .unwrap_or_default();
        let mut bias = Vec::with_capacity(4 * l.out_dim);
        let mut mult = Vec::with_capacity(4 * l.out_dim);
        let mut shift = Vec::with_capacity(l.out_dim);
        let scales: Vec<f64> = (0..l.out_dim)
            .map(|o| {
                let row = &l.w[o * l.in_dim..(o + 1) * l.in_dim];
                let m = row.iter().fold(0f64, |a, &v| a.max((v as f64).abs()));
                let s_w = if m > 0.0 { m / 127.0 } else { 1.0 };
                // The bias must fit an i32 in accumulator units (s_in * s_w): a large bias on a
                // small input range coarsens the weight scale instead of saturating the bias
                // (the static-energy head of an original ANGraph-P is a bias of 5413 plus tiny
                // weights).
                s_w.max((l.b[o] as f64).abs() / (s_in * (1u64 << 30) as f64))
            })
            .collect();
        let gram = self.gram.get(self.linears.len());
        let q_all = weight_rounding::round_rows(&l.w, l.in_dim, &scales, gram);
        for (o, &s_w) in scales.iter().enumerate() {
            let row = &l.w[o * l.in_dim..(o + 1) * l.in_dim];
            let q = &q_all[o * l.in_dim..(o + 1) * l.in_dim];
            let err: f64 = q
                .iter()
                .zip(row)
                .zip(&mean)
                .map(|((&qv, &v), &m)| (qv as f64 * s_w - v as f64) * m)
                .sum();
            let b = ((l.b[o] as f64 - err) / (s_in * s_w))
                .round()
                .clamp(i32::MIN as f64, i32::MAX as f64) as i32;
            bias.extend(b.to_le_bytes());
            let r = requant(s_in * s_w / s_out)?;
            mult.extend(r.mult.to_le_bytes());
            shift.push(r.shift);
        }
        let w = q_all.iter().map(|&v| v as u8).collect();
        self.linears.push((w, bias, mult, shift));
        Ok(())
    }
}

/// Inputs the quantizer calibrates activation ranges on.
pub enum Calibration<'a> {
    /// ANGraph-L: graphs with f32 features.
    Latency(&'a [OwnedGraph]),
    /// ANGraph-P: rows of `in_dim` f32 activities.
    Power(&'a [f32]),
}

/// An owned graph in CSR-by-target form (host side).
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedGraph {
    /// Features per node.
    pub feature_width: u32,
    /// Row-major node features.
    pub x: Vec<f32>,
    /// CSR offsets by target.
    pub row_ptr: Vec<u32>,
    /// Sources of incoming edges.
    pub src: Vec<u32>,
    /// Edge weights (activities), aligned with `src`.
    pub edge_weight: Option<Vec<f32>>,
}

/// The fixed-point copy of an [`OwnedGraph`]: Q16.16 features, integer edge weights.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedGraphFixed {
    /// Features per node.
    pub feature_width: u32,
    /// Q16.16 features.
    pub x: Vec<i32>,
    /// CSR offsets.
    pub row_ptr: Vec<u32>,
    /// Sources of incoming edges.
    pub src: Vec<u32>,
    /// Edge weights scaled by a power of two (the weighted mean is scale-invariant).
    pub edge_weight: Option<Vec<i32>>,
}

impl OwnedGraph {
    /// From COO edges `(src, dst)` with optional per-edge weights; validates.
    pub fn from_coo(
        num_nodes: u32,
        feature_width: u32,
        x: Vec<f32>,
        edges: &[(u32, u32)],
        weights: Option<&[f32]>,
    ) -> Result<Self> {
        let s: Vec<u32> = edges.iter().map(|e| e.0).collect();
        let d: Vec<u32> = edges.iter().map(|e| e.1).collect();
        let mut row_ptr = vec![0u32; num_nodes as usize + 1];
        let mut src = vec![0u32; edges.len()];
        let mut perm = vec![0u32; edges.len()];
        csr_from_coo(num_nodes, &s, &d, &mut row_ptr, &mut src, &mut perm)?;
        let edge_weight = match weights {
            Some(w) => {
                if w.len() != edges.len() {
                    return Err(Error::GraphLength {
                        field: "edge_weight",
                        expected: edges.len() as u32,
                        found: w.len() as u32,
                    });
                }
                Some(perm.iter().map(|&p| w[p as usize]).collect())
            }
            None => None,
        };
        let g = OwnedGraph {
            feature_width,
            x,
            row_ptr,
            src,
            edge_weight,
        };
        g.view()?;
        Ok(g)
    }

    /// The validated view.
    pub fn view(&self) -> Result<GraphView<'_, f32>> {
        GraphView::new(
            self.feature_width,
            &self.x,
            &self.row_ptr,
            &self.src,
            self.edge_weight.as_deref(),
        )
    }

    /// Q16.16 features and integer edge weights for the fixed-point path.
    pub fn to_fixed(&self) -> OwnedGraphFixed {
        let edge_weight = self.edge_weight.as_ref().map(|w| {
            let max = w.iter().fold(0f32, |a, &v| a.max(v)) as f64;
            let mut k = 1f64;
            while max * k * 2.0 < (1u64 << 30) as f64 && k < (1u64 << 16) as f64 {
                k *= 2.0;
            }
            w.iter()
                .map(|&v| (v as f64 * k).round().clamp(0.0, i32::MAX as f64) as i32)
                .collect()
        });
        OwnedGraphFixed {
            feature_width: self.feature_width,
            x: self.x.iter().map(|&v| feature_to_fixed(v)).collect(),
            row_ptr: self.row_ptr.clone(),
            src: self.src.clone(),
            edge_weight,
        }
    }
}

impl OwnedGraphFixed {
    /// The validated view.
    pub fn view(&self) -> Result<GraphView<'_, i32>> {
        GraphView::new(
            self.feature_width,
            &self.x,
            &self.row_ptr,
            &self.src,
            self.edge_weight.as_deref(),
        )
    }
}
