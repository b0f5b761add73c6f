//! Benchmark datasets on disk: graph datasets in the OGB raw format (latency) and activity
//! matrices in `.npy` (power), with `meta.json`, the system-level estimate and seeded splits.
//! The readers also load the original ANGraph files (no `meta.json`, no estimate).
//!
//! **Latency dataset** (a directory):
//!
//! | file | content |
//! |---|---|
//! | `raw/edge.csv.gz` | `src,dst` per edge, node ids local to each graph |
//! | `raw/edge-feat.csv.gz` | per edge: `activities` (integer count), then the edge features |
//! | `raw/node-feat.csv.gz` | per node: the node features (`angraph_core::features`) |
//! | `raw/graph-label.csv.gz` | per graph: reference latency (ns); optional for unlabelled graph folders ([`OgbGraphs`]) |
//! | `raw/num-node-list.csv.gz`, `raw/num-edge-list.csv.gz` | per graph: nodes, edges |
//! | `raw/system-estimate.csv.gz` | per graph: the system-level latency estimate (ns) |
//! | `split/random/{train,valid,test}.csv.gz` | graph indices, 80/10/10, seeded shuffle |
//! | `meta.json` | [`Meta`]: feature names and units, feature-set version, hardware config, generator, seed |
//!
//! **Power dataset**: `feature.npy` float32 `(N, 7, 6)`: the 6 x 6 activity matrix (rows:
//! component classes, columns: statistics, see [`power::MATRIX_ROWS`] / [`power::MATRIX_COLS`])
//! and the operating-conditions row (process node, Vdd, junction temperature, tiles; see
//! `angraph_core::power_input`, power input version 2, `meta.json` `power_input_version` and
//! `conditions_columns`); `label.npy` float32 `(N, 3)` with columns `[total, dynamic, static]`
//! energy in nJ (the original's order; `total == dynamic + static` exactly), the same split
//! files and `meta.json`. The reader takes any `(N, a, b)` or `(N, k)` (the original's
//! `(N, 36)`, this project's earlier `(N, 6, 6)`) and flattens each sample: the model's `in_dim`
//! decides (36 reads the activity matrix, 42 the matrix and the conditions).
//!
//! Reading a latency dataset for training (issue 4):
//!
//! ```no_run
//! use angraph_train::dataset::{GraphDataset, PowerDataset};
//! let ds = GraphDataset::load(std::path::Path::new("data/samples/digits_4x4"))?;
//! for &i in &ds.split.train {
//!     let g = &ds.graphs[i]; // angraph_core::quantize::OwnedGraph, f32 features,
//!                            // edge_weight = activities
//!     let y = ds.labels[i]; // reference latency, ns
//!     let baseline = ds.estimates.as_ref().map(|e| e[i]); // system-level estimate, ns
//!     let _ = (g.view()?, y, baseline);
//! }
//! let p = PowerDataset::load(std::path::Path::new("data/samples/power_digits_4x4"))?;
//! let (total, dynamic, stat) = (p.column("total")?, p.column("dynamic")?, p.column("static")?);
//! # let _ = (total, dynamic, stat);
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod cli;
pub mod csvgz;
pub mod generate;
pub mod graph;
pub mod manifest;
pub mod npy;
pub mod ogb;
pub mod power;
pub mod power_bound;
pub mod report;
pub mod split;

pub use ogb::OgbGraphs;
pub use split::Split;

use crate::sim::SimConfig;
use angraph_core::quantize::OwnedGraph;
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Format name in `meta.json`.
pub const META_FORMAT: &str = "angraph-dataset";
/// Version of the dataset layout.
pub const META_VERSION: u32 = 1;
/// Version of the reference hardware model: bump whenever a parameter or effect changes
/// (datasets of different versions are not comparable).
pub const SIM_MODEL_VERSION: u32 = 1;
/// Seed of the original's 80/10/10 split, used by default.
pub const SPLIT_SEED: u64 = 2024;

/// A named column or feature with its unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Name.
    pub name: String,
    /// Unit (empty when dimensionless).
    pub unit: String,
}

/// Which kind of dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Graphs with latency labels.
    Latency,
    /// Activity matrices with energy labels.
    Power,
}

/// `meta.json` of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// Always [`META_FORMAT`].
    pub format: String,
    /// [`META_VERSION`].
    pub version: u32,
    /// Dataset name (manifest entry).
    pub name: String,
    /// Latency or power.
    pub kind: Kind,
    /// Number of samples.
    pub samples: usize,
    /// The simulated configuration (absent for converted streams).
    pub config: Option<SimConfig>,
    /// Generator identity: crate version and [`SIM_MODEL_VERSION`].
    pub generator: serde_json::Value,
    /// `angraph_core::features::FEATURE_SET_VERSION` (latency datasets).
    pub feature_set_version: Option<u32>,
    /// `angraph_core::power_input::POWER_INPUT_VERSION` (power datasets from version 2 on,
    /// whose matrix has the operating-conditions row; absent in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_input_version: Option<u32>,
    /// Node features (latency) or matrix rows (power).
    pub node_features: Vec<Column>,
    /// Edge-feature columns (latency) or matrix columns (power, activity rows).
    pub edge_features: Vec<Column>,
    /// Columns of the power matrix's operating-conditions row (its last row), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions_columns: Option<Vec<Column>>,
    /// Column of `edge-feat.csv.gz` holding the activities (latency).
    pub activities_column: Option<usize>,
    /// Label columns, in file order.
    pub labels: Vec<Column>,
    /// File of the system-level estimate, relative to the dataset directory.
    pub estimate_file: Option<String>,
    /// Split description: kind, seed, fractions.
    pub split: serde_json::Value,
    /// Every parameter of the hardware model.
    pub parameters: serde_json::Value,
}

fn read_meta(dir: &Path) -> Result<Option<Meta>> {
    let p = dir.join("meta.json");
    if !p.exists() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(&p).with_context(|| format!("{}: cannot read", p.display()))?;
    let meta: Meta = serde_json::from_str(&text).map_err(|e| {
        anyhow!(
            "{}: line {}, column {}: {e}",
            p.display(),
            e.line(),
            e.column()
        )
    })?;
    if meta.format != META_FORMAT {
        bail!(
            "{}: field \"format\": expected {META_FORMAT:?}",
            p.display()
        );
    }
    if meta.version != META_VERSION {
        bail!(
            "{}: field \"version\": {} not supported",
            p.display(),
            meta.version
        );
    }
    Ok(Some(meta))
}

/// A latency dataset in memory.
#[derive(Debug, Clone)]
pub struct GraphDataset {
    /// Directory it was read from.
    pub dir: PathBuf,
    /// Graphs: f32 node features, CSR by target, `edge_weight` = activities (when the
    /// dataset has edge features).
    pub graphs: Vec<OwnedGraph>,
    /// Edge features per graph, row-major `num_edges x width`, in the graph's CSR edge order
    /// (the activities column included).
    pub edge_attr: Vec<Vec<f32>>,
    /// Edge-feature width.
    pub edge_attr_width: usize,
    /// Labels (reference latency; ns for this project's datasets).
    pub labels: Vec<f32>,
    /// System-level estimate per graph (same unit), absent in the original files.
    pub estimates: Option<Vec<f32>>,
    /// `meta.json`, absent in the original files.
    pub meta: Option<Meta>,
    /// The stored split, or the original recipe (seed 2024, 80/10/10) when none is stored.
    pub split: Split,
}

impl GraphDataset {
    /// Load a labelled latency dataset under `dir` (this project's or the original's): the OGB
    /// raw graphs ([`OgbGraphs`], the one reader), `raw/graph-label.csv.gz` (required here),
    /// `meta.json`, the system-level estimate and the split when present. Every count is
    /// cross-checked; errors name the file and line.
    pub fn load(dir: &Path) -> Result<GraphDataset> {
        let meta = read_meta(dir)?;
        let OgbGraphs {
            graphs,
            edge_attr,
            edge_attr_width,
            labels,
        } = OgbGraphs::read(dir, meta.as_ref())?;
        let labels = labels.ok_or_else(|| {
            anyhow!(
                "{}: missing: a labelled dataset needs one label per graph",
                dir.join("raw/graph-label.csv.gz").display()
            )
        })?;
        let g = graphs.len();
        let estimates = match meta.as_ref().and_then(|m| m.estimate_file.clone()) {
            Some(file) => {
                let p = dir.join(&file);
                let (_, v) = csvgz::read_rows::<f32>(&p, Some(1))?;
                if v.len() != g {
                    bail!("{}: {} values for {g} graphs", p.display(), v.len());
                }
                Some(v)
            }
            None => None,
        };
        let split = if dir.join("split/random/train.csv.gz").exists() {
            Split::read(dir, g)?
        } else {
            Split::random(g, SPLIT_SEED)
        };
        Ok(GraphDataset {
            dir: dir.to_path_buf(),
            graphs,
            edge_attr,
            edge_attr_width,
            labels,
            estimates,
            meta,
            split,
        })
    }
}

/// A power dataset in memory.
#[derive(Debug, Clone)]
pub struct PowerDataset {
    /// Directory it was read from.
    pub dir: PathBuf,
    /// Shape of `feature.npy` (`[N, a, b]`, or `[N, k]` for flattened files).
    pub feature_shape: Vec<usize>,
    /// Row-major features, `N * a * b` values.
    pub features: Vec<f32>,
    /// `N x 3` labels, row-major, in the order of `label_columns`.
    pub labels: Vec<f32>,
    /// Label column names (`total`, `dynamic`, `static` for both this project and the original).
    pub label_columns: Vec<String>,
    /// `meta.json`, absent in the original files.
    pub meta: Option<Meta>,
    /// The stored split or the original recipe.
    pub split: Split,
}

impl PowerDataset {
    /// Load `feature.npy`, `label.npy` (and `meta.json`, splits when present) from `dir`.
    pub fn load(dir: &Path) -> Result<PowerDataset> {
        let meta = read_meta(dir)?;
        let (fs, features) = npy::read_f32(&dir.join("feature.npy"))?;
        let (ls, labels) = npy::read_f32(&dir.join("label.npy"))?;
        if fs.len() < 2 {
            bail!(
                "{}: shape {fs:?}: expected (N, a, b) or (N, k)",
                dir.join("feature.npy").display()
            );
        }
        if ls.len() != 2 || ls[1] != 3 || ls[0] != fs[0] {
            bail!(
                "{}: shape {ls:?}: expected ({}, 3)",
                dir.join("label.npy").display(),
                fs[0]
            );
        }
        let label_columns: Vec<String> = match &meta {
            Some(m) => m.labels.iter().map(|c| c.name.clone()).collect(),
            None => vec!["total".into(), "dynamic".into(), "static".into()],
        };
        if label_columns.len() != 3 {
            bail!("{}: meta.json must declare 3 label columns", dir.display());
        }
        let split = if dir.join("split/random/train.csv.gz").exists() {
            Split::read(dir, fs[0])?
        } else {
            Split::random(fs[0], SPLIT_SEED)
        };
        Ok(PowerDataset {
            dir: dir.to_path_buf(),
            feature_shape: fs,
            features,
            labels,
            label_columns,
            meta,
            split,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.feature_shape[0]
    }

    /// `true` when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Features of sample `i`, flattened (`a * b` values).
    pub fn sample(&self, i: usize) -> &[f32] {
        let k: usize = self.feature_shape[1..].iter().product();
        &self.features[i * k..(i + 1) * k]
    }

    /// One label column by name prefix (`total`, `dynamic`, `static`).
    pub fn column(&self, name: &str) -> Result<Vec<f32>> {
        let c = self
            .label_columns
            .iter()
            .position(|n| n.starts_with(name))
            .with_context(|| format!("no label column {name:?} in {:?}", self.label_columns))?;
        Ok(self.labels.chunks_exact(3).map(|r| r[c]).collect())
    }
}
