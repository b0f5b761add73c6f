//! ANGraph-P as a tch module, with the original key names.
//!
//! `x -> [conv<s> + ReLU -> residual blocks]* -> output_<h>` where a residual block is
//! `relu(conv2(relu(conv1(x))) + x)`. Keys: stage `s` (from 1) has `conv<s>.{weight,bias}`;
//! residual blocks are numbered from 1 across stages, `block<k>.conv1`, `block<k>.conv2`; head `h`
//! (from 1) is `output_<h>` (the original: `output_1` = dynamic, `output_2` = static energy).
//! The original also declares BatchNorm layers (`bn2`, `block<k>.bn1`, ...) that its forward pass
//! never uses; they are not declared here, so loading ignores them and saving leaves them out.

use std::collections::BTreeMap;

use angraph_core::config::{Config, PowerConfig, Stage};
use angraph_core::quantize::ModelF32;
use anyhow::{bail, Result};
use tch::nn;
use tch::Tensor;

use super::{linear, linear_f32};

/// `relu(conv2(relu(conv1(x))) + x)`.
#[derive(Debug)]
pub struct ResidualBlock {
    /// First linear.
    pub conv1: nn::Linear,
    /// Second linear.
    pub conv2: nn::Linear,
}

impl ResidualBlock {
    /// `block<k>` at `path`.
    pub fn new(path: &nn::Path<'_>, width: i64) -> Self {
        ResidualBlock {
            conv1: linear(&(path / "conv1"), width, width, true),
            conv2: linear(&(path / "conv2"), width, width, true),
        }
    }

    /// Forward.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        (x.apply(&self.conv1).relu().apply(&self.conv2) + x).relu()
    }
}

/// ANGraph-P (see the module documentation).
#[derive(Debug)]
pub struct PowerNet {
    config: PowerConfig,
    /// Entry linear of each stage (`conv<s>`).
    pub entries: Vec<nn::Linear>,
    /// Residual blocks of each stage (`block<k>`, numbered across stages).
    pub blocks: Vec<Vec<ResidualBlock>>,
    /// One `Linear(width, 1)` per head (`output_<h>`).
    pub heads: Vec<nn::Linear>,
}

impl PowerNet {
    /// Declare the variables of `config` under `path` (PyTorch-like initialisation).
    pub fn new(path: &nn::Path<'_>, config: &PowerConfig) -> Result<Self> {
        config
            .validate()
            .map_err(|e| anyhow::anyhow!("power configuration: {e}"))?;
        let mut entries = Vec::new();
        let mut blocks = Vec::new();
        let mut prev = config.in_dim as i64;
        let mut k = 1;
        for (s, st) in config.stages.iter().enumerate() {
            let w = st.width as i64;
            entries.push(linear(&(path / format!("conv{}", s + 1)), prev, w, true));
            let mut bs = Vec::new();
            for _ in 0..st.blocks {
                bs.push(ResidualBlock::new(&(path / format!("block{k}")), w));
                k += 1;
            }
            blocks.push(bs);
            prev = w;
        }
        let heads = (0..config.heads)
            .map(|h| linear(&(path / format!("output_{}", h + 1)), prev, 1, true))
            .collect();
        Ok(PowerNet {
            config: config.clone(),
            entries,
            blocks,
            heads,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &PowerConfig {
        &self.config
    }

    /// `x` is `[batch, in_dim]`; returns `[batch, heads]` in model units (the total is the sum
    /// over heads).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.trunk(x)?;
        let outs: Vec<Tensor> = self.heads.iter().map(|l| h.apply(l)).collect();
        Ok(Tensor::cat(&outs, 1))
    }

    /// The features every head reads: `x` (`[batch, in_dim]`) through all stages, `[batch,
    /// width of the last stage]` (each head is `Linear(width, 1)` of these).
    pub fn trunk(&self, x: &Tensor) -> Result<Tensor> {
        let size = x.size();
        let d = self.config.in_dim as i64;
        if size.len() != 2 || size[1] < d {
            bail!("power input has shape {size:?}, expected [batch, {d}]");
        }
        // Each power input layout extends the one before (36, 42, 48 values): a model reads the
        // prefix of a wider row.
        let mut h = if size[1] > d {
            x.narrow(1, 0, d)
        } else {
            x.shallow_clone()
        };
        for (entry, blocks) in self.entries.iter().zip(&self.blocks) {
            h = h.apply(entry).relu();
            for b in blocks {
                h = b.forward(&h);
            }
        }
        Ok(h)
    }

    /// The f32 model angraph-core runs (same layers, canonical order).
    pub fn to_model_f32(&self, label_scale: f32, unit: &str, note: &str) -> Result<ModelF32> {
        let mut linears = Vec::new();
        for (entry, blocks) in self.entries.iter().zip(&self.blocks) {
            linears.push(linear_f32(entry)?);
            for b in blocks {
                linears.push(linear_f32(&b.conv1)?);
                linears.push(linear_f32(&b.conv2)?);
            }
        }
        for h in &self.heads {
            linears.push(linear_f32(h)?);
        }
        Ok(ModelF32::new(
            Config::Power(self.config.clone()),
            linears,
            label_scale,
            unit,
            note,
        )?)
    }

    /// Infer the stages and heads of an ANGraph-P state dict from its tensor shapes
    /// (`conv<s>.weight`, `block<k>.conv1.weight`, `output_<h>.weight`).
    ///
    /// Blocks are assigned to the stage whose width they have, in order: the original's
    /// `block1..4` (128) follow `conv1`, `block5..6` (64) follow `conv2`.
    pub fn infer_config(shapes: &BTreeMap<String, Vec<usize>>) -> Result<PowerConfig> {
        let mut stages: heapless::Vec<Stage, { angraph_core::config::MAX_STAGES }> =
            heapless::Vec::new();
        let Some(first) = shapes.get("conv1.weight") else {
            bail!("no `conv1.weight`: not an ANGraph-P state dict");
        };
        if first.len() != 2 {
            bail!("`conv1.weight` has shape {first:?}, expected [width, in]");
        }
        let in_dim = first[1];
        let mut prev = in_dim;
        let mut k = 1;
        let mut s = 1;
        while let Some(w) = shapes.get(&format!("conv{s}.weight")) {
            if w.len() != 2 || w[1] != prev {
                bail!("`conv{s}.weight` has shape {w:?}, expected [width, {prev}]");
            }
            let width = w[0];
            let mut blocks = 0u8;
            while let Some(b) = shapes.get(&format!("block{k}.conv1.weight")) {
                if b[..] != [width, width] {
                    break;
                }
                match shapes.get(&format!("block{k}.conv2.weight")) {
                    Some(b2) if b2[..] == [width, width] => {}
                    other => bail!(
                        "`block{k}.conv2.weight` has shape {other:?}, expected [{width}, {width}]"
                    ),
                }
                blocks += 1;
                k += 1;
            }
            stages
                .push(Stage {
                    width: width as u16,
                    blocks,
                })
                .map_err(|_| anyhow::anyhow!("more stages than supported"))?;
            prev = width;
            s += 1;
        }
        if shapes.contains_key(&format!("block{k}.conv1.weight")) {
            bail!("`block{k}` does not fit any stage: its width matches no conv layer before it");
        }
        let mut heads = 0u8;
        while let Some(h) = shapes.get(&format!("output_{}.weight", heads + 1)) {
            if h[..] != [1, prev] {
                bail!(
                    "`output_{}.weight` has shape {h:?}, expected [1, {prev}]",
                    heads + 1
                );
            }
            heads += 1;
        }
        let cfg = PowerConfig {
            in_dim: in_dim as u16,
            stages,
            heads,
        };
        cfg.validate()
            .map_err(|e| anyhow::anyhow!("inferred configuration: {e}"))?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn residual_blocks_by_hand() {
        let mut stages = heapless::Vec::new();
        stages
            .push(Stage {
                width: 2,
                blocks: 1,
            })
            .unwrap();
        let cfg = PowerConfig {
            in_dim: 2,
            stages,
            heads: 2,
        };
        let vs = nn::VarStore::new(Device::Cpu);
        let net = PowerNet::new(&vs.root(), &cfg).unwrap();
        let set = |t: &Tensor, v: &[f32]| {
            tch::no_grad(|| {
                t.shallow_clone()
                    .copy_(&Tensor::from_slice(v).view(t.size().as_slice()));
            })
        };
        // conv1 = [[1, 0], [0, -1]], bias (0, 1): x = (2, 3) -> relu((2, -2)) = (2, 0).
        set(&net.entries[0].ws, &[1., 0., 0., -1.]);
        set(net.entries[0].bs.as_ref().unwrap(), &[0., 1.]);
        // block: conv1 = I, b = (-1, 0) -> relu((1, 0)); conv2 = [[0, 1], [1, 0]], b = (0, -5)
        // -> (0, -4); + skip (2, 0) -> relu((2, -4)) = (2, 0).
        let b = &net.blocks[0][0];
        set(&b.conv1.ws, &[1., 0., 0., 1.]);
        set(b.conv1.bs.as_ref().unwrap(), &[-1., 0.]);
        set(&b.conv2.ws, &[0., 1., 1., 0.]);
        set(b.conv2.bs.as_ref().unwrap(), &[0., -5.]);
        // heads: (3, 1) + 0.5 = 6.5; (-1, 0) + 0 = -2.
        set(&net.heads[0].ws, &[3., 1.]);
        set(net.heads[0].bs.as_ref().unwrap(), &[0.5]);
        set(&net.heads[1].ws, &[-1., 0.]);
        set(net.heads[1].bs.as_ref().unwrap(), &[0.]);
        let y = tch::no_grad(|| {
            net.forward(&Tensor::from_slice(&[2f32, 3.]).view([1, 2]))
                .unwrap()
        });
        let y = Vec::<f32>::try_from(&y.to_kind(Kind::Float).view([-1])).unwrap();
        assert_eq!(y, vec![6.5, -2.0]);
    }
}
