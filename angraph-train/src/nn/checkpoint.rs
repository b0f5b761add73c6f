//! safetensors checkpoints with the original key names, loaded with name and shape checks.
//!
//! A checkpoint written by this project is a plain safetensors file (f32 tensors, sorted by
//! name, readable by PyTorch's `safetensors.torch.load_file` and `load_state_dict(strict=False)`
//! of the original code) whose metadata holds one entry, `"angraph"`: the JSON of a
//! [`CheckpointMeta`] (family and configuration, label scale and unit, provenance). Files of the
//! original code carry no such entry; [`Checkpoint::load_original`] infers their configuration
//! from the tensor shapes.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use angraph_core::config::{Config, LatencyConfig};
use angraph_core::quantize::ModelF32;
use anyhow::{bail, Context, Result};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use tch::nn::VarStore;
use tch::{Device, Tensor};

use super::{to_vec_f32, LatencyNet, PowerNet};

/// Metadata key of a project checkpoint.
pub const META_KEY: &str = "angraph";

/// What a project checkpoint says about itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckpointMeta {
    /// Family and configuration.
    pub config: Config,
    /// Model output x `label_scale` = label in `unit`.
    pub label_scale: f32,
    /// Unit of the label.
    pub unit: String,
    /// Provenance.
    pub note: String,
}

/// The tensors of a safetensors file: f32 values by name, and every tensor's shape.
#[derive(Debug, Default)]
pub struct StateDict {
    /// f32 tensors: shape and values.
    pub f32: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    /// Shapes of all tensors (any dtype).
    pub shapes: BTreeMap<String, Vec<usize>>,
    /// The `"angraph"` metadata entry, if any.
    pub meta: Option<String>,
}

/// Read every tensor of a safetensors file (f32 values decoded; other dtypes listed by shape).
pub fn read_state_dict(path: &Path) -> Result<StateDict> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: not a valid safetensors file: {e:?}", path.display()))?;
    let (_, header) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: bad safetensors header: {e:?}", path.display()))?;
    let mut sd = StateDict {
        meta: header
            .metadata()
            .as_ref()
            .and_then(|m| m.get(META_KEY).cloned()),
        ..Default::default()
    };
    for (name, view) in st.tensors() {
        let shape = view.shape().to_vec();
        sd.shapes.insert(name.clone(), shape.clone());
        if view.dtype() == Dtype::F32 {
            let values = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            sd.f32.insert(name, (shape, values));
        }
    }
    Ok(sd)
}

/// Copy the file's tensors into every variable of `vs`: each variable must exist in the file
/// as an f32 tensor of exactly the variable's shape. Returns the file's tensors that no
/// variable took (e.g. the original's unused embeddings), sorted.
pub fn load_checked(vs: &VarStore, sd: &StateDict, source: &Path) -> Result<Vec<String>> {
    let vars = vs.variables();
    for (name, var) in &vars {
        let Some((shape, values)) = sd.f32.get(name) else {
            if sd.shapes.contains_key(name) {
                bail!("{}: tensor `{name}` is not f32", source.display());
            }
            bail!("{}: tensor `{name}` is missing", source.display());
        };
        let want: Vec<usize> = var.size().iter().map(|&d| d as usize).collect();
        if *shape != want {
            bail!(
                "{}: tensor `{name}` has shape {shape:?}, the model expects {want:?}",
                source.display()
            );
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            bail!(
                "{}: tensor `{name}` holds a non-finite value ({}) at index {i}",
                source.display(),
                values[i]
            );
        }
        if name.ends_with("running_var") {
            if let Some(i) = values.iter().position(|&v| v < 0.0) {
                bail!(
                    "{}: tensor `{name}` holds a negative variance ({}) at index {i}",
                    source.display(),
                    values[i]
                );
            }
        }
        let src = Tensor::from_slice(values)
            .view(var.size().as_slice())
            .to_device(var.device());
        tch::no_grad(|| var.shallow_clone().copy_(&src));
    }
    Ok(sd
        .shapes
        .keys()
        .filter(|k| !vars.contains_key(*k))
        .cloned()
        .collect())
}

/// Write every variable of `vs` (f32, sorted by name) and `meta` to `path`, atomically (a
/// temporary file in the same directory, then a rename). Same variables, same bytes.
pub fn save_checkpoint(vs: &VarStore, meta: &CheckpointMeta, path: &Path) -> Result<()> {
    let bytes = checkpoint_bytes(vs, meta).with_context(|| format!("{}", path.display()))?;
    write_atomic(path, &bytes)
}

/// The safetensors bytes [`save_checkpoint`] writes.
pub fn checkpoint_bytes(vs: &VarStore, meta: &CheckpointMeta) -> Result<Vec<u8>> {
    let vars: BTreeMap<String, Tensor> = vs.variables().into_iter().collect();
    let mut data: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, t) in &vars {
        let shape = t.size().iter().map(|&d| d as usize).collect();
        let bytes = to_vec_f32(t)?
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        data.push((name.clone(), shape, bytes));
    }
    let views = data
        .iter()
        .map(|(n, s, b)| {
            TensorView::new(Dtype::F32, s.clone(), b)
                .map(|v| (n.as_str(), v))
                .map_err(|e| anyhow::anyhow!("tensor `{n}`: {e:?}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut info = HashMap::new();
    info.insert(META_KEY.to_string(), serde_json::to_string(meta)?);
    safetensors::tensor::serialize(views, &Some(info))
        .map_err(|e| anyhow::anyhow!("serializing the checkpoint: {e:?}"))
}

/// Atomic writes live in [`crate::fsio`]; re-exported here for the callers of this path.
pub use crate::fsio::write_atomic;

/// Refuse metadata a model cannot be built from or would misread: a label scale that is not
/// a positive finite number, an ANGraph-P without its two heads (dynamic, static).
fn check_meta(meta: &CheckpointMeta, path: &Path) -> Result<()> {
    if !(meta.label_scale.is_finite() && meta.label_scale > 0.0) {
        bail!(
            "{}: `{META_KEY}` metadata field `label_scale` is {}; it must be a positive finite number",
            path.display(),
            meta.label_scale
        );
    }
    if let Config::Power(c) = &meta.config {
        if c.heads != 2 {
            bail!(
                "{}: `{META_KEY}` metadata field `heads` is {}; ANGraph-P has 2 heads (dynamic and static energy)",
                path.display(),
                c.heads
            );
        }
    }
    Ok(())
}

/// Either network.
#[derive(Debug)]
pub enum Net {
    /// ANGraph-L.
    Latency(LatencyNet),
    /// ANGraph-P.
    Power(PowerNet),
}

/// A network with its variables and metadata.
#[derive(Debug)]
pub struct Checkpoint {
    /// The variables.
    pub vs: VarStore,
    /// The network (handles into `vs`).
    pub net: Net,
    /// Configuration, label scale and unit, provenance.
    pub meta: CheckpointMeta,
    /// Tensors of the source file that no variable took.
    pub unused: Vec<String>,
}

impl Checkpoint {
    /// A freshly initialised network for `meta.config` (seeded through `tch::manual_seed` by
    /// the caller).
    pub fn new(meta: CheckpointMeta, device: Device) -> Result<Self> {
        let vs = VarStore::new(device);
        let net = match &meta.config {
            Config::Latency(c) => Net::Latency(LatencyNet::new(&vs.root(), c)?),
            Config::Power(c) => Net::Power(PowerNet::new(&vs.root(), c)?),
        };
        Ok(Checkpoint {
            vs,
            net,
            meta,
            unused: Vec::new(),
        })
    }

    /// Load a checkpoint this project wrote (its metadata names the configuration).
    pub fn load(path: &Path, device: Device) -> Result<Self> {
        let sd = read_state_dict(path)?;
        let meta: CheckpointMeta = match &sd.meta {
            Some(m) => serde_json::from_str(m).with_context(|| {
                format!("{}: bad `{META_KEY}` metadata entry", path.display())
            })?,
            None => bail!(
                "{}: no `{META_KEY}` metadata; for weights of the original code use `angraph import`",
                path.display()
            ),
        };
        check_meta(&meta, path)?;
        let mut ck = Checkpoint::new(meta, device).with_context(|| {
            format!(
                "{}: the `{META_KEY}` metadata configuration",
                path.display()
            )
        })?;
        ck.unused = load_checked(&ck.vs, &sd, path)?;
        if !ck.unused.is_empty() {
            let n = ck.unused.len();
            let shown: Vec<&str> = ck.unused.iter().take(8).map(String::as_str).collect();
            bail!(
                "{}: {n} tensor(s) not used by the configuration of the `{META_KEY}` metadata \
                 (`{}`{}): the metadata (e.g. `layers`) and the tensors disagree",
                path.display(),
                shown.join("`, `"),
                if n > shown.len() { ", ..." } else { "" }
            );
        }
        Ok(ck)
    }

    /// Load a state dict of the original code: the family and shapes are inferred from the key
    /// names (ANGraph-L options the shapes cannot tell come from `latency_template`).
    /// `label_scale`, `unit` and `note` describe the labels the weights were trained on.
    pub fn load_original(
        path: &Path,
        latency_template: &LatencyConfig,
        label_scale: f32,
        unit: &str,
        note: &str,
        device: Device,
    ) -> Result<Self> {
        let sd = read_state_dict(path)?;
        let config = if sd.shapes.contains_key("convs.0.lin_l.weight") {
            Config::Latency(
                LatencyNet::infer_config(&sd.shapes, latency_template)
                    .with_context(|| format!("{}", path.display()))?,
            )
        } else if sd.shapes.contains_key("conv1.weight") {
            Config::Power(
                PowerNet::infer_config(&sd.shapes)
                    .with_context(|| format!("{}", path.display()))?,
            )
        } else {
            bail!(
                "{}: neither ANGraph-L (`convs.0.lin_l.weight`) nor ANGraph-P (`conv1.weight`)",
                path.display()
            );
        };
        let meta = CheckpointMeta {
            config,
            label_scale,
            unit: unit.to_string(),
            note: note.to_string(),
        };
        check_meta(&meta, path)?;
        let mut ck = Checkpoint::new(meta, device)?;
        ck.unused = load_checked(&ck.vs, &sd, path)?;
        Ok(ck)
    }

    /// Save (atomically) with this checkpoint's metadata.
    pub fn save(&self, path: &Path) -> Result<()> {
        save_checkpoint(&self.vs, &self.meta, path)
    }

    /// The f32 model angraph-core runs (BatchNorm folded).
    pub fn to_model_f32(&self) -> Result<ModelF32> {
        let m = &self.meta;
        match &self.net {
            Net::Latency(n) => n.to_model_f32(m.label_scale, &m.unit, &m.note),
            Net::Power(n) => n.to_model_f32(m.label_scale, &m.unit, &m.note),
        }
    }
}
