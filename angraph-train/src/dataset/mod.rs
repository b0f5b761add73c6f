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

pub mod csvgz;
pub mod generate;
pub mod graph;
pub mod latency_bound;
pub mod manifest;
pub mod npy;
pub mod ogb;
pub mod power;
pub mod power_bound;
pub mod report;
pub mod shard;
pub mod split;

pub use ogb::{OgbGraphs, OgbStream};
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
    /// Columns of the power matrix's operating-conditions row (row 6), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions_columns: Option<Vec<Column>>,
    /// Columns of the power matrix's load row (row 7, power input version 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_columns: Option<Vec<Column>>,
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

/// `dir/meta.json` when present, checked: format, version, `kind` (the reader's), then the
/// kind's fields ([`Meta::check`]); errors name the file and the field.
pub(crate) fn read_meta(dir: &Path, kind: Kind) -> Result<Option<Meta>> {
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
    if meta.kind != kind {
        bail!(
            "{}: field \"kind\": {:?}, this reader reads {:?} datasets",
            p.display(),
            meta.kind,
            kind
        );
    }
    meta.check(&p)?;
    Ok(Some(meta))
}

/// Label units a latency dataset may declare.
pub const LATENCY_UNITS: [&str; 5] = ["ps", "ns", "us", "ms", "s"];
/// The longest latency a dataset may hold, 1 s (as a stream's timestamps,
/// [`angraph_core::features::MAX_TIME_PS`]), in `unit` (one of [`LATENCY_UNITS`]; ns otherwise).
pub fn max_latency(unit: &str) -> f64 {
    match unit {
        "ps" => 1e12,
        "us" => 1e6,
        "ms" => 1e3,
        "s" => 1.0,
        _ => 1e9,
    }
}

/// Label units a power dataset may declare.
pub const ENERGY_UNITS: [&str; 5] = ["pJ", "nJ", "uJ", "mJ", "J"];

impl Meta {
    /// The fields every reader relies on, checked once (`path`: the `meta.json`, named in the
    /// errors): the feature-set version (latency) or power input version (power) this build
    /// computes, the label columns (one latency column; total, dynamic and static energies) in
    /// a known unit, and the file of the estimate inside the dataset.
    fn check(&self, path: &Path) -> Result<()> {
        use angraph_core::features::FEATURE_SET_VERSION;
        use angraph_core::power_input::POWER_INPUT_VERSION;
        let file = path.display();
        let unit_of = |i: usize, c: &Column, allowed: &[&str]| -> Result<()> {
            if !allowed.contains(&c.unit.as_str()) {
                bail!(
                    "{file}: field \"labels\"[{i}].unit: {:?} is not one of {allowed:?}",
                    crate::text::printable(&c.unit)
                );
            }
            Ok(())
        };
        match self.kind {
            Kind::Latency => {
                // Set 2 appends two columns to set 1, whose meaning is unchanged: both load
                // (a set-1 model reads either, a set-2 model needs set 2).
                if !matches!(
                    self.feature_set_version,
                    Some(1) | Some(FEATURE_SET_VERSION)
                ) {
                    bail!(
                        "{file}: field \"feature_set_version\": {:?}, this build reads node \
                         features of versions 1 and {FEATURE_SET_VERSION}",
                        self.feature_set_version
                    );
                }
                let want = if self.feature_set_version == Some(1) {
                    angraph_core::features::V1_NODE_FEATURES
                } else {
                    angraph_core::features::NODE_FEATURES
                };
                if !self.node_features.is_empty() && self.node_features.len() != want {
                    bail!(
                        "{file}: field \"node_features\": {} columns, feature set {:?} has {want}",
                        self.node_features.len(),
                        self.feature_set_version
                    );
                }
                if self.labels.len() != 1 {
                    bail!(
                        "{file}: field \"labels\": {} columns, a latency dataset has one",
                        self.labels.len()
                    );
                }
                unit_of(0, &self.labels[0], &LATENCY_UNITS)?;
            }
            Kind::Power => {
                if power::inputs_of_version(self.power_input_version).is_none() {
                    bail!(
                        "{file}: field \"power_input_version\": {:?}, this build reads versions \
                         1 to {POWER_INPUT_VERSION}",
                        self.power_input_version
                    );
                }
                let names: Vec<&str> = self.labels.iter().map(|c| c.name.as_str()).collect();
                if names != ["total", "dynamic", "static"] {
                    bail!(
                        "{file}: field \"labels\": names {:?}, expected [\"total\", \"dynamic\", \
                         \"static\"] (the order of label.npy's columns)",
                        names
                            .iter()
                            .map(|n| crate::text::printable(n))
                            .collect::<Vec<_>>()
                    );
                }
                for (i, c) in self.labels.iter().enumerate() {
                    unit_of(i, c, &ENERGY_UNITS)?;
                    if c.unit != self.labels[0].unit {
                        bail!(
                            "{file}: field \"labels\"[{i}].unit: {:?}, but labels[0] is in {:?}",
                            c.unit,
                            self.labels[0].unit
                        );
                    }
                }
            }
        }
        if let Some(e) = &self.estimate_file {
            let rel = Path::new(e);
            if rel.is_absolute()
                || rel
                    .components()
                    .any(|c| !matches!(c, std::path::Component::Normal(_)))
            {
                bail!(
                    "{file}: field \"estimate_file\": {:?} is not a path inside the dataset",
                    crate::text::printable(e)
                );
            }
        }
        Ok(())
    }

    /// The label unit (first label column).
    pub fn label_unit(&self) -> &str {
        self.labels.first().map_or("", |c| c.unit.as_str())
    }
}

/// The label unit of dataset `dir` (`unit`) checked against the unit a model predicts in
/// (`model_unit`, of the checkpoint or blob at `model`): a model in ns never reports metrics
/// of labels in us as if they were ns, nor the other way round.
pub fn check_label_unit(dir: &Path, unit: &str, model: &Path, model_unit: &str) -> Result<()> {
    if unit != model_unit {
        bail!(
            "{}: labels in {:?} (meta.json field \"labels\"[0].unit), but {} predicts in {:?}",
            dir.display(),
            crate::text::printable(unit),
            model.display(),
            crate::text::printable(model_unit)
        );
    }
    Ok(())
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
        let mut r = GraphDatasetReader::open(dir)?;
        let (mut graphs, mut edge_attr) = (Vec::with_capacity(r.len()), Vec::new());
        while let Some((g, a)) = r.graphs.next_graph()? {
            graphs.push(g);
            edge_attr.push(a);
        }
        Ok(GraphDataset {
            dir: r.dir,
            graphs,
            edge_attr,
            edge_attr_width: r.graphs.edge_attr_width(),
            labels: r.labels,
            estimates: r.estimates,
            meta: r.meta,
            split: r.split,
        })
    }
}

/// A labelled latency dataset opened for reading its graphs one at a time
/// ([`GraphDataset::load`] without holding them): labels, estimate, split and `meta.json` in
/// memory (a few numbers per graph), the graphs from [`OgbStream`], with the same checks.
pub struct GraphDatasetReader {
    /// Directory it is read from.
    pub dir: PathBuf,
    /// Labels (reference latency; ns for this project's datasets).
    pub labels: Vec<f32>,
    /// System-level estimate per graph (same unit), absent in the original files.
    pub estimates: Option<Vec<f32>>,
    /// `meta.json`, absent in the original files.
    pub meta: Option<Meta>,
    /// The stored split, or the original recipe (seed 2024, 80/10/10) when none is stored.
    pub split: Split,
    /// The graphs, in order.
    pub graphs: OgbStream,
}

impl GraphDatasetReader {
    /// Open the dataset under `dir` (see [`GraphDataset::load`]).
    pub fn open(dir: &Path) -> Result<GraphDatasetReader> {
        let meta = read_meta(dir, Kind::Latency)?;
        let mut graphs = OgbStream::open(dir, meta.as_ref())?;
        let labels = graphs.labels.take().ok_or_else(|| {
            anyhow!(
                "{}: missing: a labelled dataset needs one label per graph",
                dir.join("raw/graph-label.csv.gz").display()
            )
        })?;
        let g = graphs.len();
        let estimates = match meta.as_ref().and_then(|m| m.estimate_file.clone()) {
            Some(file) => {
                let p = dir.join(&file);
                let (_, v) = csvgz::read_rows::<f32>(&p, Some(1), Some(g))?;
                if v.len() != g {
                    bail!("{}: {} values for {g} graphs", p.display(), v.len());
                }
                let unit = meta.as_ref().map_or("ns", |m| m.label_unit());
                let max = max_latency(unit);
                if let Some(k) = v.iter().position(|&y| y < 0.0 || y as f64 > max) {
                    bail!(
                        "{}: line {}, column 1: system-level estimate {} is not a latency in \
                         0..={max} {unit} (1 s)",
                        p.display(),
                        k + 1,
                        v[k]
                    );
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
        Ok(GraphDatasetReader {
            dir: dir.to_path_buf(),
            labels,
            estimates,
            meta,
            split,
            graphs,
        })
    }

    /// Number of graphs.
    pub fn len(&self) -> usize {
        self.graphs.len()
    }

    /// No graphs.
    pub fn is_empty(&self) -> bool {
        self.graphs.is_empty()
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
        let meta = read_meta(dir, Kind::Power)?;
        let (fpath, lpath) = (dir.join("feature.npy"), dir.join("label.npy"));
        let (fs, features) = npy::read_f32(&fpath)?;
        let Some(width) = power::row_width(&fs) else {
            bail!(
                "{}: field \"shape\": {fs:?}: expected (N, 6, 6), (N, 36), (N, 7, 6), (N, 42), \
                 (N, 8, 6) or (N, 48)",
                fpath.display()
            );
        };
        if let Some(m) = &meta {
            // Version 3 stores the conditions and load rows (48 values), version 2 the
            // conditions row (42); files without the field are older ones, the activity
            // matrix alone (36). `Meta::check` refused any other version.
            let want = power::inputs_of_version(m.power_input_version).unwrap_or(0);
            if width != want {
                bail!(
                    "{}: field \"shape\": {fs:?} gives rows of {width}, meta.json \
                     (power_input_version {:?}) declares rows of {want}",
                    fpath.display(),
                    m.power_input_version
                );
            }
        }
        power::check_rows(&features, width).map_err(|e| anyhow!("{}: {e}", fpath.display()))?;
        let (ls, labels) = npy::read_f32(&lpath)?;
        if ls.len() != 2 || ls[1] != 3 || ls[0] != fs[0] {
            bail!(
                "{}: field \"shape\": {ls:?}: expected ({}, 3)",
                lpath.display(),
                fs[0]
            );
        }
        for (i, r) in labels.chunks_exact(3).enumerate() {
            power::check_energies(r[0], r[1], r[2])
                .map_err(|e| anyhow!("{}: row {i}: {e}", lpath.display()))?;
        }
        let label_columns: Vec<String> = match &meta {
            Some(m) => m.labels.iter().map(|c| c.name.clone()).collect(),
            None => vec!["total".into(), "dynamic".into(), "static".into()],
        };
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
