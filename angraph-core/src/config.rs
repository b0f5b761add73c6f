//! Model configurations: ANGraph-L and ANGraph-P as configurable families, with the original
//! configurations as constructors.

use crate::error::{Error, Resource, Result};
use heapless::Vec;
use serde::{Deserialize, Serialize};

/// Largest layer width (keeps every `i8 x i16` dot product of a valid blob inside `i32`).
pub const MAX_WIDTH: u16 = 256;
/// Largest input width of any linear layer.
pub const MAX_LINEAR_IN: u16 = 2 * MAX_WIDTH;
/// Most message-passing layers.
pub const MAX_LAYERS: u8 = 8;
/// Most hidden layers in the ANGraph-L head.
pub const MAX_HEAD_HIDDEN: usize = 4;
/// Most stages of ANGraph-P.
pub const MAX_STAGES: usize = 4;
/// Most residual blocks per stage.
pub const MAX_BLOCKS: u8 = 8;
/// Most output heads of ANGraph-P.
pub const MAX_HEADS: u8 = 4;

/// Which model a blob holds.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// ANGraph-L, the latency GNN.
    Latency,
    /// ANGraph-P, the power residual network.
    Power,
}

/// Jumping-knowledge combination of the per-layer node representations.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jk {
    /// `h_0 + ... + h_{L-1}`: the input included, the last layer excluded (the original's quirk;
    /// the last layer's weights are then dead and not stored).
    Original,
    /// `h_0 + ... + h_L`.
    All,
    /// `h_L` only.
    Last,
}

/// Graph readout over nodes.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// Sum over nodes (the original).
    Sum,
    /// Mean over nodes.
    Mean,
}

/// Neighbourhood aggregation of SAGEConv.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggr {
    /// Mean over incoming edges, empty mean = 0 (the original).
    Mean,
    /// Mean weighted by the edge weight (the edge's activity); all-zero weights give 0.
    ActivityMean,
}

/// Input preprocessing applied to raw node features inside the model (`Log2Exp2` also maps
/// the head's output).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preprocess {
    /// Features are used as given.
    None,
    /// The original's `x[:, 1:] *= x[:, 0:1] * 2`.
    ScaleByFirst,
    /// Every feature `x -> sign(x) * log2(1 + |x|)`, piecewise linear
    /// ([`crate::preprocess`]).
    Log2,
    /// `Log2` on the features, and the head regresses `log2(1 + y)`: the model's output is
    /// `2^head - 1` (piecewise linear, the exact inverse). A log-log model: multiplicative
    /// effects (load x service time) become additive, so it extrapolates as a power law.
    Log2Exp2,
    /// `Log2` on the features, and the head regresses `log2(latency / estimate)`: the model's
    /// output is `estimate * 2^head` in ns, where the estimate is node feature
    /// [`crate::features::SPAN_FEATURE`] (the system-level span, us). The model corrects the
    /// system-level estimate instead of replacing it, so its level follows the estimate's on
    /// configurations it was not trained on. Appended last: blobs of older versions still load.
    Log2Ratio,
    /// A model of untimed streams (TrueAsync DFG JSON): every node feature such a stream
    /// cannot give ([`crate::features::DFG_ABSENT_FEATURES`]: timing and process) is set to 0
    /// first, then `Log2` on the features, and the head regresses `log2(1 + y)` as under
    /// `Log2Exp2` (output `2^head - 1`). The DFG form and the timed form of a stream then give
    /// the same prediction. Appended last: blobs of older versions still load.
    Untimed,
}

/// ANGraph-L: GraphSAGE layers with BatchNorm (folded), JK, pooling and an MLP head.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct LatencyConfig {
    /// Node feature width.
    pub in_dim: u16,
    /// Layer width.
    pub width: u16,
    /// Number of SAGEConv layers.
    pub layers: u8,
    /// Jumping knowledge.
    pub jk: Jk,
    /// Readout.
    pub pool: Pool,
    /// Aggregation.
    pub aggr: Aggr,
    /// A linear input projection `in_dim -> width` (required when they differ).
    pub input_proj: bool,
    /// ReLU after the last layer too (the original: no).
    pub last_relu: bool,
    /// Hidden widths of the head; the head ends in one output.
    pub head: Vec<u16, MAX_HEAD_HIDDEN>,
    /// Input preprocessing.
    pub preprocess: Preprocess,
    /// Largest graph the model accepts (nodes).
    pub max_nodes: u32,
}

impl LatencyConfig {
    /// The original ANGraph-L: 5 x SAGEConv(100, 100), JK "sum" quirk, sum pooling,
    /// head 100 -> 200 -> 100 -> 1, the original preprocessing.
    pub fn original() -> Self {
        let mut head = Vec::new();
        let _ = head.push(200);
        let _ = head.push(100);
        LatencyConfig {
            in_dim: 100,
            width: 100,
            layers: 5,
            jk: Jk::Original,
            pool: Pool::Sum,
            aggr: Aggr::Mean,
            input_proj: false,
            last_relu: false,
            head,
            preprocess: Preprocess::ScaleByFirst,
            max_nodes: 1 << 20,
        }
    }

    /// Layers whose output reaches the prediction (the original's JK skips the last one).
    pub fn computed_layers(&self) -> u8 {
        match self.jk {
            Jk::Original => self.layers.saturating_sub(1),
            Jk::All | Jk::Last => self.layers,
        }
    }

    /// Does layer `i` (0-based) end in a ReLU?
    pub fn layer_relu(&self, i: u8) -> bool {
        i + 1 < self.layers || self.last_relu
    }

    /// Is `h_t` (t = 0 is the input) part of the JK sum?
    pub fn jk_includes(&self, t: u8) -> bool {
        match self.jk {
            Jk::Original => t < self.layers,
            Jk::All => t <= self.layers,
            Jk::Last => t == self.layers,
        }
    }

    /// Number of terms in the JK sum.
    pub fn jk_terms(&self) -> u8 {
        (0..=self.layers).filter(|&t| self.jk_includes(t)).count() as u8
    }

    /// Check every field's range.
    pub fn validate(&self) -> Result<()> {
        if self.in_dim == 0 || self.in_dim > MAX_LINEAR_IN {
            return Err(Error::Config("latency.in_dim"));
        }
        if self.width == 0 || self.width > MAX_WIDTH {
            return Err(Error::Config("latency.width"));
        }
        if self.layers == 0 || self.layers > MAX_LAYERS {
            return Err(Error::Config("latency.layers"));
        }
        if !self.input_proj && self.in_dim != self.width {
            return Err(Error::Config(
                "latency.input_proj (in_dim != width needs a projection)",
            ));
        }
        if self.head.iter().any(|&d| d == 0 || d > MAX_LINEAR_IN) {
            return Err(Error::Config("latency.head"));
        }
        if self.preprocess == Preprocess::ScaleByFirst && self.in_dim < 2 {
            return Err(Error::Config("latency.preprocess"));
        }
        if self.preprocess == Preprocess::Log2Ratio
            && (self.in_dim as usize) <= crate::features::SPAN_FEATURE
        {
            return Err(Error::Config(
                "latency.preprocess (Log2Ratio reads node feature 30, graph_span_us)",
            ));
        }
        if self.preprocess == Preprocess::Untimed
            && self.in_dim as usize != crate::features::NODE_FEATURES
            && self.in_dim as usize != crate::features::V1_NODE_FEATURES
        {
            return Err(Error::Config(
                "latency.preprocess (Untimed reads the 35 or 37 node features of this project)",
            ));
        }
        if self.max_nodes == 0 {
            return Err(Error::Config("latency.max_nodes"));
        }
        Ok(())
    }
}

/// One stage of ANGraph-P: `Linear(prev -> width) + ReLU`, then `blocks` residual blocks.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    /// Width of the stage.
    pub width: u16,
    /// Residual blocks `relu(lin2(relu(lin1(x))) + x)`.
    pub blocks: u8,
}

/// ANGraph-P: residual MLP with one scalar head per energy component.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct PowerConfig {
    /// Input width (the original: 36 = a flattened 6x6 activity matrix).
    pub in_dim: u16,
    /// Stages in order.
    pub stages: Vec<Stage, MAX_STAGES>,
    /// Output heads (the original: 2 = dynamic, static; total = their sum).
    pub heads: u8,
}

impl PowerConfig {
    /// The original ANGraph-P: 36 -> 128 (4 blocks) -> 64 (2 blocks) -> 16 -> 2 heads.
    pub fn original() -> Self {
        let mut stages = Vec::new();
        let _ = stages.push(Stage {
            width: 128,
            blocks: 4,
        });
        let _ = stages.push(Stage {
            width: 64,
            blocks: 2,
        });
        let _ = stages.push(Stage {
            width: 16,
            blocks: 0,
        });
        PowerConfig {
            in_dim: 36,
            stages,
            heads: 2,
        }
    }

    /// Total residual blocks.
    pub fn total_blocks(&self) -> usize {
        self.stages.iter().map(|s| s.blocks as usize).sum()
    }

    /// Widest layer.
    pub fn max_width(&self) -> usize {
        self.stages
            .iter()
            .map(|s| s.width as usize)
            .max()
            .unwrap_or(0)
            .max(self.in_dim as usize)
    }

    /// Width of the vector the heads read (the last stage's width).
    pub fn head_input_width(&self) -> usize {
        self.stages
            .last()
            .map_or(self.in_dim as usize, |s| s.width as usize)
    }

    /// Check every field's range.
    pub fn validate(&self) -> Result<()> {
        if self.in_dim == 0 || self.in_dim > MAX_LINEAR_IN {
            return Err(Error::Config("power.in_dim"));
        }
        if self.stages.is_empty() {
            return Err(Error::Config("power.stages"));
        }
        for s in &self.stages {
            if s.width == 0 || s.width > MAX_WIDTH || s.blocks > MAX_BLOCKS {
                return Err(Error::Config("power.stages"));
            }
        }
        if self.heads == 0 || self.heads > MAX_HEADS {
            return Err(Error::Config("power.heads"));
        }
        Ok(())
    }
}

/// The configuration of either family.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum Config {
    /// ANGraph-L.
    Latency(LatencyConfig),
    /// ANGraph-P.
    Power(PowerConfig),
}

/// Shape `(in, out)` of one linear layer.
pub type LinearShape = (u16, u16);

/// Most linear layers in any model.
pub const MAX_LINEARS: usize = 48;

impl Config {
    /// The family.
    pub fn family(&self) -> Family {
        match self {
            Config::Latency(_) => Family::Latency,
            Config::Power(_) => Family::Power,
        }
    }

    /// Check every field's range.
    pub fn validate(&self) -> Result<()> {
        match self {
            Config::Latency(c) => c.validate(),
            Config::Power(c) => c.validate(),
        }
    }

    /// The linear layers in canonical order, `(in, out)` each.
    ///
    /// ANGraph-L: `[proj]`, one `(2*width, width)` per computed SAGE layer (`[lin_l | lin_r]`
    /// concatenated along the input, BatchNorm folded, bias = folded `lin_l` bias), then the head.
    /// ANGraph-P: per stage the entry linear then `lin1, lin2` per block, then one `(w, 1)` per head.
    pub fn linear_shapes(&self) -> Result<Vec<LinearShape, MAX_LINEARS>> {
        self.validate()?;
        let mut v: Vec<LinearShape, MAX_LINEARS> = Vec::new();
        let full = Error::Capacity {
            what: Resource::LinearLayers,
            needed: MAX_LINEARS + 1,
            limit: MAX_LINEARS,
        };
        match self {
            Config::Latency(c) => {
                if c.input_proj {
                    v.push((c.in_dim, c.width)).map_err(|_| full)?;
                }
                for _ in 0..c.computed_layers() {
                    v.push((2 * c.width, c.width)).map_err(|_| full)?;
                }
                let mut prev = c.width;
                for &h in &c.head {
                    v.push((prev, h)).map_err(|_| full)?;
                    prev = h;
                }
                v.push((prev, 1)).map_err(|_| full)?;
            }
            Config::Power(c) => {
                let mut prev = c.in_dim;
                for s in &c.stages {
                    v.push((prev, s.width)).map_err(|_| full)?;
                    for _ in 0..s.blocks {
                        v.push((s.width, s.width)).map_err(|_| full)?;
                        v.push((s.width, s.width)).map_err(|_| full)?;
                    }
                    prev = s.width;
                }
                for _ in 0..c.heads {
                    v.push((prev, 1)).map_err(|_| full)?;
                }
            }
        }
        Ok(v)
    }

    /// Number of scalar requantization parameters of a fixed-point blob.
    ///
    /// ANGraph-L: `[input, pool_0, ..., pool_{jk_terms-1}]`; ANGraph-P: `[input, skip_0, ...]`.
    pub fn scalar_quant_count(&self) -> usize {
        match self {
            Config::Latency(c) => 1 + c.jk_terms() as usize,
            Config::Power(c) => 1 + c.total_blocks(),
        }
    }

    /// Number of calibration sites (activation tensors whose range the quantizer measures).
    ///
    /// ANGraph-L: `x, h_0, h_1..h_computed, g, head hidden..., y`.
    /// ANGraph-P: `x`, then the output of every linear layer / residual block in order.
    pub fn calibration_sites(&self) -> usize {
        match self {
            Config::Latency(c) => 2 + c.computed_layers() as usize + 1 + c.head.len() + 1,
            Config::Power(c) => {
                1 + c
                    .stages
                    .iter()
                    .map(|s| 1 + 2 * s.blocks as usize)
                    .sum::<usize>()
                    + c.heads as usize
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn original_shapes() {
        let l = Config::Latency(LatencyConfig::original());
        let s = l.linear_shapes().unwrap();
        // 4 computed SAGE layers (the 5th is dead under the original JK), 3 head linears.
        assert_eq!(s.len(), 7);
        assert_eq!(s[0], (200, 100));
        assert_eq!(&s[4..], &[(100, 200), (200, 100), (100, 1)]);
        let p = Config::Power(PowerConfig::original());
        let s = p.linear_shapes().unwrap();
        assert_eq!(s.len(), 1 + 8 + 1 + 4 + 1 + 2);
        assert_eq!(s[0], (36, 128));
        assert_eq!(*s.last().unwrap(), (16, 1));
        assert_eq!(p.calibration_sites(), 1 + 9 + 5 + 1 + 2);
    }

    #[test]
    fn invalid_configs_are_rejected() {
        let mut c = LatencyConfig::original();
        c.in_dim = 7;
        assert_eq!(
            c.validate(),
            Err(Error::Config(
                "latency.input_proj (in_dim != width needs a projection)"
            ))
        );
        c.input_proj = true;
        assert!(c.validate().is_ok());
        c.width = 0;
        assert!(c.validate().is_err());
        let mut p = PowerConfig::original();
        p.heads = 0;
        assert!(p.validate().is_err());
    }
}
