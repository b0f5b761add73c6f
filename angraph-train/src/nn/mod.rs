//! ANGraph-L and ANGraph-P as `tch` modules, for training and for an independent f32 forward.
//!
//! - [`GraphBatch`]: many graphs as one disjoint graph (node offsets, a `batch` vector);
//! - [`LatencyNet`]: ANGraph-L (GraphSAGE mean / activity-weighted mean aggregation, BatchNorm,
//!   dropout, JK, sum / mean pooling, optional input projection, MLP head);
//! - [`PowerNet`]: ANGraph-P (residual MLP, one head per energy component);
//! - [`checkpoint`]: safetensors checkpoints with the ORIGINAL PyTorch key names
//!   (`convs.0.lin_l.weight`, `batch_norms.0.module.running_mean`, `graph_pred_linear.2.bias`,
//!   `block3.conv2.weight`, `output_2.bias`, ...), loaded with shape checks.
//!
//! Both modules are built from `angraph-core`'s configurations, so a trained module converts
//! exactly to the model angraph-core runs ([`LatencyNet::to_model_f32`],
//! [`PowerNet::to_model_f32`]: BatchNorm folded into the SAGE linears), which then quantizes to a
//! fixed-point `.angq` blob.
//!
//! Variables live in a caller-owned [`tch::nn::VarStore`]; the modules only keep handles to them,
//! so the usual tch training loop applies (`nn::Adam::default().build(&vs, lr)`, `forward_t(..,
//! true)` in training, `forward_t(.., false)` under `tch::no_grad` for evaluation).

pub mod batch;
pub mod checkpoint;
pub mod latency;
pub mod power;

pub use batch::GraphBatch;
pub use checkpoint::{load_checked, save_checkpoint, Checkpoint, CheckpointMeta, Net};
pub use latency::{LatencyNet, SageConv};
pub use power::{PowerNet, ResidualBlock};

use anyhow::{bail, Context, Result};
use tch::{Device, Kind, Tensor};

/// BatchNorm epsilon of the original (PyTorch default).
pub const BN_EPS: f64 = 1e-5;

/// The tensor's values as a flat `Vec<f32>` (any device, any float kind).
pub fn to_vec_f32(t: &Tensor) -> Result<Vec<f32>> {
    let flat = t
        .detach()
        .to_device(Device::Cpu)
        .to_kind(Kind::Float)
        .contiguous()
        .view([-1]);
    Vec::<f32>::try_from(&flat).context("tensor to Vec<f32>")
}

/// A PyTorch-style BatchNorm1d (weight 1, bias 0, running mean 0, running var 1 at start) at
/// `path` (the original wraps it as `batch_norms.<i>.module`).
pub fn batch_norm(path: &tch::nn::Path<'_>, dim: i64) -> tch::nn::BatchNorm {
    tch::nn::batch_norm1d(
        path,
        dim,
        tch::nn::BatchNormConfig {
            eps: BN_EPS,
            momentum: 0.1,
            ws_init: tch::nn::Init::Const(1.0),
            bs_init: tch::nn::Init::Const(0.0),
            ..Default::default()
        },
    )
}

/// A PyTorch-style `nn.Linear` (Kaiming-uniform weights, uniform bias) at `path`.
pub fn linear(path: &tch::nn::Path<'_>, in_dim: i64, out_dim: i64, bias: bool) -> tch::nn::Linear {
    tch::nn::linear(
        path,
        in_dim,
        out_dim,
        tch::nn::LinearConfig {
            bias,
            ..Default::default()
        },
    )
}

/// Weights and bias of a tch linear layer as an angraph-core [`LinearF32`](angraph_core::quantize::LinearF32).
pub fn linear_f32(l: &tch::nn::Linear) -> Result<angraph_core::quantize::LinearF32> {
    let size = l.ws.size();
    let (out_dim, in_dim) = (size[0] as usize, size[1] as usize);
    let w = to_vec_f32(&l.ws)?;
    let b = match &l.bs {
        Some(b) => to_vec_f32(b)?,
        None => vec![0.0; out_dim],
    };
    angraph_core::quantize::LinearF32::new(in_dim, out_dim, w, b)
        .map_err(|e| anyhow::anyhow!("linear layer: {e}"))
}

/// The `--device` option: `auto` (CUDA when tch sees a device, else CPU), `cpu`, `cuda`.
pub fn parse_device(s: &str) -> Result<Device> {
    Ok(match s {
        "auto" => Device::cuda_if_available(),
        "cpu" => Device::Cpu,
        "cuda" => {
            if !tch::Cuda::is_available() {
                bail!("--device cuda: tch sees no CUDA device");
            }
            Device::Cuda(0)
        }
        o => bail!("--device must be auto, cpu or cuda, not {o:?}"),
    })
}
