//! `angraph import`: weights of the original PyTorch-Geometric ANGraph into this project.
//!
//! Reads an original ANGraph-L or ANGraph-P `state_dict` saved as safetensors (original key
//! names), infers the configuration from the tensor shapes (the options shapes cannot tell are
//! the original's: JK quirk, sum pooling, mean aggregation, `x[:, 1:] *= 2 x[:, 0]`), and writes
//! - `<name>.safetensors`: the f32 checkpoint (original key names + an `angraph` metadata entry),
//! - `<name>.angq`: the fixed-point blob, calibrated on the inputs the user gives or, when none
//!   are given, on generated ones (the blob's note and the report say which),
//! - `<name>.json`: a report: configuration, unused tensors, calibration, and the agreement of
//!   the tch f32 forward (original, unfolded BatchNorm), angraph-core's f32 path (BatchNorm
//!   folded) and its fixed-point path on the calibration inputs and on a held-out generated set.
//!
//! The generated inputs are synthetic: graphs with the topology of a W x H mesh (16 components
//! per tile + the injector, every structural edge) and uniform random features in `[0, 1)`;
//! activity rows uniform in `[0, 1)`. They exercise the model over a plausible range; they are
//! not the original's data, whose feature semantics are not published with the weights.

use std::io::Write;
use std::path::{Path, PathBuf};

use angraph_core::config::{Config, LatencyConfig};
use angraph_core::power::Energy;
use angraph_core::quantize::{Calibration, ModelF32, OwnedGraph};
use angraph_core::rng::SplitMix64;
use angraph_core::{latency, power, Model, Precision};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use tch::{Device, Tensor};

use crate::fsio::write_atomic;
use crate::nn::{Checkpoint, GraphBatch, Net};

/// Components per tile of the hardware (IU-0..4, OU-0..4, SA, NI-toRouter, NI-toPE, LUT,
/// WeightSRAM, AER).
pub const COMPONENTS_PER_TILE: u32 = 16;

/// A synthetic graph with the topology of a `width x height` mesh: every component of every
/// tile plus the injector (`16 * W * H + 1` nodes) and every structural edge (injector -> NI,
/// NI -> IU-0, IU -> SA -> OU, OU -> neighbour IU, OU-0 -> NI -> AER -> WeightSRAM -> LUT ->
/// NI). Features are uniform in `[0, 1)`, edge weights (activities) uniform integers `1..=64`,
/// both from `seed`. Ports: 0 local, 1 north (y-1), 2 east (x+1), 3 south (y+1), 4 west (x-1).
pub fn synthetic_mesh_graph(
    width: u32,
    height: u32,
    feature_width: u32,
    seed: u64,
) -> Result<OwnedGraph> {
    if width == 0 || height == 0 || feature_width == 0 {
        bail!("a mesh needs width, height and feature width >= 1");
    }
    let tiles = width * height;
    let n = COMPONENTS_PER_TILE * tiles + 1;
    let injector = n - 1;
    let (iu, ou) = (|k: u32, p: u32| 16 * k + p, |k: u32, p: u32| 16 * k + 5 + p);
    let (sa, ni_r, ni_pe, lut, sram, aer) = (
        |k: u32| 16 * k + 10,
        |k: u32| 16 * k + 11,
        |k: u32| 16 * k + 12,
        |k: u32| 16 * k + 13,
        |k: u32| 16 * k + 14,
        |k: u32| 16 * k + 15,
    );
    let neighbour = |k: u32, p: u32| -> Option<u32> {
        let (x, y) = (k % width, k / width);
        match p {
            1 if y > 0 => Some(k - width),
            2 if x + 1 < width => Some(k + 1),
            3 if y + 1 < height => Some(k + width),
            4 if x > 0 => Some(k - 1),
            _ => None,
        }
    };
    let opposite = |p: u32| [0, 3, 4, 1, 2][p as usize];
    let mut edges = Vec::new();
    for k in 0..tiles {
        edges.push((injector, ni_r(k)));
        edges.push((ni_r(k), iu(k, 0)));
        for p in 0..5 {
            let linked = p == 0 || neighbour(k, p).is_some();
            if linked {
                edges.push((iu(k, p), sa(k)));
                edges.push((sa(k), ou(k, p)));
            }
            if let Some(m) = neighbour(k, p) {
                edges.push((ou(k, p), iu(m, opposite(p))));
            }
        }
        edges.push((ou(k, 0), ni_pe(k)));
        edges.push((ni_pe(k), aer(k)));
        edges.push((aer(k), sram(k)));
        edges.push((sram(k), lut(k)));
        edges.push((lut(k), ni_r(k)));
    }
    let mut rng = SplitMix64(seed);
    let x = (0..n * feature_width)
        .map(|_| rng.uniform(0.0, 1.0))
        .collect();
    let w: Vec<f32> = edges
        .iter()
        .map(|_| 1.0 + (rng.next_u64() % 64) as f32)
        .collect();
    Ok(OwnedGraph::from_coo(n, feature_width, x, &edges, Some(&w))?)
}

/// `count` generated calibration graphs, cycling through meshes 2x2, 3x3 and 4x4.
pub fn generated_graphs(count: usize, feature_width: u32, seed: u64) -> Result<Vec<OwnedGraph>> {
    (0..count)
        .map(|i| {
            let side = 2 + (i % 3) as u32;
            synthetic_mesh_graph(side, side, feature_width, seed.wrapping_add(i as u64))
        })
        .collect()
}

/// `count` generated activity rows of `in_dim` values uniform in `[0, 1)`, row-major.
pub fn generated_rows(count: usize, in_dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64(seed);
    (0..count * in_dim).map(|_| rng.uniform(0.0, 1.0)).collect()
}

// ---------------------------------------------------------------------------------------------
// Readers of user inputs: OGB raw graph folders and `.npy` both go through the dataset module.
// ---------------------------------------------------------------------------------------------

/// Read an `.npy` activity file (f32, or f64 converted; the dataset module's reader) as `N`
/// rows: `(values, row width)`. Only the documented shapes are read
/// ([`crate::dataset::power::row_width`]: `(N, 6, 6)` / `(N, 36)` give rows of 36,
/// `(N, 7, 6)` / `(N, 42)` rows of 42, `(N, 8, 6)` / `(N, 48)` rows of 48); any other is an
/// error naming the file and the field.
pub fn read_npy_rows(path: &Path) -> Result<(Vec<f32>, usize)> {
    let (shape, values) = crate::dataset::npy::read_f32(path)?;
    let Some(width) = crate::dataset::power::row_width(&shape) else {
        bail!(
            "{}: field \"shape\": {shape:?}: expected (N, 6, 6), (N, 36), (N, 7, 6), (N, 42), \
             (N, 8, 6) or (N, 48)",
            path.display()
        );
    };
    crate::dataset::power::check_rows(&values, width)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok((values, width))
}

// ---------------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------------

/// Where calibration inputs come from.
#[derive(Debug, Clone)]
pub enum CalibSource {
    /// Generated inputs ([`generated_graphs`] / [`generated_rows`]).
    Generated {
        /// How many graphs or rows.
        count: usize,
        /// Seed.
        seed: u64,
    },
    /// An OGB raw graph dataset directory (ANGraph-L) or an `.npy` activity file (ANGraph-P).
    User(PathBuf),
}

/// What `angraph import` does.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The original safetensors file.
    pub source: PathBuf,
    /// Output directory.
    pub out_dir: PathBuf,
    /// Output file stem (default: the source's).
    pub name: Option<String>,
    /// Activation precision of the blob.
    pub precision: Precision,
    /// Calibration inputs.
    pub calib: CalibSource,
    /// Size of the held-out generated evaluation set.
    pub heldout: usize,
    /// Model output x label scale = label (the original latency target was `y / 1000`).
    pub label_scale: Option<f32>,
    /// Unit of the label.
    pub unit: String,
}

/// Relative-error statistics of one contender against a reference.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorStats {
    /// Values compared.
    pub count: usize,
    /// Median of `|a - b| / |b|`.
    pub median_rel: f64,
    /// 90th percentile of `|a - b| / |b|`.
    pub p90_rel: f64,
    /// Largest `|a - b| / |b|`.
    pub max_rel: f64,
    /// Largest `|a - b|` (model units).
    pub max_abs: f64,
    /// Mean `|b|` (model units), for scale.
    pub mean_abs_reference: f64,
}

impl ErrorStats {
    /// Compare `a` against the reference `b`.
    pub fn of(a: &[f64], b: &[f64]) -> ErrorStats {
        let mut rel: Vec<f64> = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs() / y.abs().max(1e-12))
            .collect();
        rel.sort_by(f64::total_cmp);
        let q = |p: f64| {
            if rel.is_empty() {
                0.0
            } else {
                rel[((rel.len() - 1) as f64 * p).round() as usize]
            }
        };
        ErrorStats {
            count: a.len(),
            median_rel: q(0.5),
            p90_rel: q(0.9),
            max_rel: rel.last().copied().unwrap_or(0.0),
            max_abs: a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max),
            mean_abs_reference: b.iter().map(|v| v.abs()).sum::<f64>() / b.len().max(1) as f64,
        }
    }
}

/// Agreement of the three implementations on one input set.
#[derive(Debug, Clone, Serialize)]
pub struct Agreement {
    /// What the inputs are.
    pub inputs: String,
    /// tch f32 (original layers, BatchNorm unfolded) vs angraph-core f32 (BatchNorm folded).
    pub tch_vs_core_f32: ErrorStats,
    /// angraph-core fixed point vs angraph-core f32.
    pub fixed_vs_core_f32: ErrorStats,
    /// A few outputs side by side: `[tch, core f32, fixed]` (model units).
    pub samples: Vec<[f64; 3]>,
}

/// The JSON report of an import.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// The original file.
    pub source: String,
    /// `latency` or `power`.
    pub family: String,
    /// The inferred configuration.
    pub config: Config,
    /// Tensors of the source no layer uses (the original's unused embeddings and norms).
    pub unused_tensors: Vec<String>,
    /// Label scale and unit written to the checkpoint and blob.
    pub label_scale: f32,
    /// Unit of the label.
    pub unit: String,
    /// The f32 checkpoint written.
    pub checkpoint: String,
    /// The fixed-point blob written.
    pub blob: String,
    /// Its size in bytes.
    pub blob_bytes: usize,
    /// Its precision.
    pub precision: String,
    /// `generated` or `user`.
    pub calibration_kind: String,
    /// What the calibration inputs were.
    pub calibration: String,
    /// Agreement on the calibration inputs.
    pub on_calibration: Agreement,
    /// Agreement on a held-out generated set.
    pub on_heldout: Agreement,
    /// ANGraph-L: working memory of the fixed-point path for a 4x4 mesh graph (257 nodes).
    pub workspace_bytes_257_nodes: Option<usize>,
}

/// Outputs of tch, core f32 and core fixed on a set of graphs (model units).
pub fn latency_outputs(
    net: &crate::nn::LatencyNet,
    f32_blob: &[u8],
    fixed_blob: &[u8],
    graphs: &[OwnedGraph],
) -> Result<[Vec<f64>; 3]> {
    let refs: Vec<&OwnedGraph> = graphs.iter().collect();
    let mut t = Vec::new();
    for chunk in refs.chunks(64) {
        let b = GraphBatch::from_graphs(chunk, Device::Cpu)?;
        let y = tch::no_grad(|| net.forward_t(&b, false))?;
        t.extend(Vec::<f64>::try_from(&y.to_kind(tch::Kind::Double)).context("tch output")?);
    }
    let mf = Model::from_bytes(f32_blob)?;
    let mq = Model::from_bytes(fixed_blob)?;
    let (mut f, mut q) = (Vec::new(), Vec::new());
    let mut ws = Vec::new();
    for g in graphs {
        let v = g.view()?;
        ws.resize(
            latency::required_workspace(&mf, v.num_nodes(), v.num_edges()).max(
                latency::required_workspace(&mq, v.num_nodes(), v.num_edges()),
            ),
            0,
        );
        f.push(latency::predict_f32(&mf, &v, &mut ws, None)? as f64);
        let gf = g.to_fixed();
        q.push(latency::predict_fixed(&mq, &gf.view()?, &mut ws)?.to_f32() as f64);
    }
    Ok([t, f, q])
}

/// Outputs (every head, then the total, per row) of tch, core f32 and core fixed.
pub fn power_outputs(
    net: &crate::nn::PowerNet,
    f32_blob: &[u8],
    fixed_blob: &[u8],
    rows: &[f32],
) -> Result<[Vec<f64>; 3]> {
    let d = net.config().in_dim as usize;
    let heads = net.config().heads as usize;
    let n = rows.len() / d;
    let x = Tensor::from_slice(rows).view([n as i64, d as i64]);
    let y = tch::no_grad(|| net.forward(&x))?;
    let yv = Vec::<f64>::try_from(&y.to_kind(tch::Kind::Double).view([-1]))?;
    let mut t = Vec::new();
    for r in yv.chunks_exact(heads) {
        t.extend_from_slice(r);
        t.push(r.iter().sum());
    }
    let mf = Model::from_bytes(f32_blob)?;
    let mq = Model::from_bytes(fixed_blob)?;
    let zero_f = Energy::<f32>::ZERO;
    let mut of = vec![zero_f; n];
    let mut ws = vec![0u8; power::required_workspace(&mf).max(power::required_workspace(&mq))];
    power::predict_f32(&mf, rows, &mut of, &mut ws, None)?;
    let zero_q = angraph_core::Fixed {
        raw: 0,
        frac_bits: 0,
    };
    let mut oq = vec![
        Energy {
            heads: [zero_q; power::MAX_OUTPUTS],
            len: 0,
            total: zero_q
        };
        n
    ];
    let fixed_rows: Vec<i32> = rows
        .iter()
        .map(|&v| angraph_core::fixed::feature_to_fixed(v))
        .collect();
    power::predict_fixed(&mq, &fixed_rows, &mut oq, &mut ws)?;
    let (mut f, mut q) = (Vec::new(), Vec::new());
    for (a, b) in of.iter().zip(&oq) {
        for h in 0..heads {
            f.push(a.heads[h] as f64);
            q.push(b.heads[h].to_f32() as f64);
        }
        f.push(a.total as f64);
        q.push(b.total.to_f32() as f64);
    }
    Ok([t, f, q])
}

fn agreement(inputs: String, o: &[Vec<f64>; 3]) -> Agreement {
    Agreement {
        inputs,
        tch_vs_core_f32: ErrorStats::of(&o[0], &o[1]),
        fixed_vs_core_f32: ErrorStats::of(&o[2], &o[1]),
        samples: (0..o[0].len().min(5))
            .map(|i| [o[0][i], o[1][i], o[2][i]])
            .collect(),
    }
}

/// Run an import (see the module documentation). Writes the three files and returns the report.
pub fn import(opts: &ImportOptions) -> Result<ImportReport> {
    let stem = match &opts.name {
        Some(n) => n.clone(),
        None => opts
            .source
            .file_stem()
            .and_then(|s| s.to_str())
            .map(|s| s.trim_end_matches(".safetensors").to_string())
            .with_context(|| format!("{}: no file name", opts.source.display()))?,
    };
    // Peek at the family to pick the default label scale.
    let probe = crate::nn::checkpoint::read_state_dict(&opts.source)?;
    let is_latency = probe.shapes.contains_key("convs.0.lin_l.weight");
    drop(probe);
    let label_scale = opts
        .label_scale
        .unwrap_or(if is_latency { 1000.0 } else { 1.0 });
    let source_name = opts
        .source
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base_note = format!("imported from the original ANGraph weights {source_name}");
    let ck = Checkpoint::load_original(
        &opts.source,
        &LatencyConfig::original(),
        label_scale,
        &opts.unit,
        &base_note,
        Device::Cpu,
    )?;
    let ckpt_path = opts.out_dir.join(format!("{stem}.safetensors"));
    let blob_path = opts.out_dir.join(format!("{stem}.angq"));
    let report_path = opts.out_dir.join(format!("{stem}.json"));
    let model: ModelF32 = ck.to_model_f32()?;
    let f32_blob = model.to_blob()?;
    let in_dim = match &model.config {
        Config::Latency(c) => c.in_dim as usize,
        Config::Power(c) => c.in_dim as usize,
    };
    let heldout_seed = 0x5EED_0000_u64 + 1;
    let (kind, calib_text, fixed_blob, on_cal, on_held) = match &ck.net {
        Net::Latency(net) => {
            let (kind, text, graphs) = match &opts.calib {
                CalibSource::Generated { count, seed } => (
                    "generated",
                    format!(
                        "{count} generated synthetic mesh graphs (2x2/3x3/4x4 topology, features \
                         uniform in [0,1)), seed {seed}"
                    ),
                    generated_graphs(*count, in_dim as u32, *seed)?,
                ),
                CalibSource::User(p) => {
                    let g = crate::dataset::OgbGraphs::load(p)?.graphs;
                    ("user", format!("{} graphs of {}", g.len(), p.display()), g)
                }
            };
            if graphs.is_empty() {
                bail!("the calibration set is empty");
            }
            let blob = model.quantize(
                &Calibration::Latency(&graphs),
                opts.precision,
                &format!("calibrated on {text}"),
            )?;
            let oc = latency_outputs(net, &f32_blob, &blob, &graphs)?;
            let held = generated_graphs(opts.heldout, in_dim as u32, heldout_seed)?;
            let oh = latency_outputs(net, &f32_blob, &blob, &held)?;
            (
                kind,
                text.clone(),
                blob,
                agreement(format!("the calibration set: {text}"), &oc),
                agreement(
                    format!(
                        "{} held-out generated synthetic mesh graphs, seed {heldout_seed}",
                        opts.heldout
                    ),
                    &oh,
                ),
            )
        }
        Net::Power(net) => {
            let (kind, text, rows) = match &opts.calib {
                CalibSource::Generated { count, seed } => (
                    "generated",
                    format!("{count} generated activity rows uniform in [0,1), seed {seed}"),
                    generated_rows(*count, in_dim, *seed),
                ),
                CalibSource::User(p) => {
                    let (mut rows, width) = read_npy_rows(p)?;
                    // This project's power rows (activity matrix + operating conditions, 42)
                    // hold a 36-input model's activity matrix as their prefix.
                    use angraph_core::power_input::{ACTIVITY_INPUTS, CONDITIONS_INPUTS};
                    if width == CONDITIONS_INPUTS && in_dim == ACTIVITY_INPUTS {
                        rows = rows
                            .chunks_exact(width)
                            .flat_map(|r| r[..in_dim].iter().copied())
                            .collect();
                    } else if width != in_dim {
                        bail!(
                            "{}: rows of {width} values, the model takes {in_dim}",
                            p.display()
                        );
                    }
                    let n = rows.len() / in_dim;
                    ("user", format!("{n} rows of {}", p.display()), rows)
                }
            };
            if rows.is_empty() {
                bail!("the calibration set is empty");
            }
            let blob = model.quantize(
                &Calibration::Power(&rows),
                opts.precision,
                &format!("calibrated on {text}"),
            )?;
            let oc = power_outputs(net, &f32_blob, &blob, &rows)?;
            let held = generated_rows(opts.heldout, in_dim, heldout_seed);
            let oh = power_outputs(net, &f32_blob, &blob, &held)?;
            (
                kind,
                text.clone(),
                blob,
                agreement(
                    format!("the calibration set ({text}); every head and the total"),
                    &oc,
                ),
                agreement(
                    format!(
                        "{} held-out generated rows, seed {heldout_seed}; every head and the total",
                        opts.heldout
                    ),
                    &oh,
                ),
            )
        }
    };
    let qmodel = Model::from_bytes(&fixed_blob)?;
    let workspace = if is_latency {
        let g = synthetic_mesh_graph(4, 4, in_dim as u32, 0)?;
        Some(latency::required_workspace(
            &qmodel,
            g.view()?.num_nodes(),
            g.view()?.num_edges(),
        ))
    } else {
        None
    };
    ck.save(&ckpt_path)?;
    write_atomic(&blob_path, &fixed_blob)?;
    let report = ImportReport {
        source: opts.source.display().to_string(),
        family: if is_latency { "latency" } else { "power" }.into(),
        config: model.config.clone(),
        unused_tensors: ck.unused.clone(),
        label_scale,
        unit: opts.unit.clone(),
        checkpoint: ckpt_path.display().to_string(),
        blob: blob_path.display().to_string(),
        blob_bytes: fixed_blob.len(),
        precision: format!("{:?}", opts.precision),
        calibration_kind: kind.into(),
        calibration: calib_text,
        on_calibration: on_cal,
        on_heldout: on_held,
        workspace_bytes_257_nodes: workspace,
    };
    let mut json = serde_json::to_string_pretty(&report)?;
    json.push('\n');
    write_atomic(&report_path, json.as_bytes())?;
    Ok(report)
}

/// Seed of the bundled example inputs (`angraph estimate --write-example`).
pub const EXAMPLE_SEED: u64 = 4;

/// Write the bundled example: `dir/raw/*.csv.gz` (one synthetic 4x4 mesh graph, 257 nodes,
/// 100 features per node) and `dir/power/feature.npy` (one `(6, 6)` activity matrix).
pub fn write_example(dir: &Path) -> Result<()> {
    let g = synthetic_mesh_graph(4, 4, 100, EXAMPLE_SEED)?;
    let n = g.row_ptr.len() - 1;
    let gz = |text: String| -> Result<Vec<u8>> {
        let mut enc = flate2::GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), flate2::Compression::best());
        enc.write_all(text.as_bytes())?;
        Ok(enc.finish()?)
    };
    let mut edges = String::new();
    for v in 0..n {
        for e in g.row_ptr[v] as usize..g.row_ptr[v + 1] as usize {
            edges.push_str(&format!("{},{}\n", g.src[e], v));
        }
    }
    let mut feats = String::new();
    for row in g.x.chunks_exact(g.feature_width as usize) {
        let cells: Vec<String> = row.iter().map(|v| format!("{v}")).collect();
        feats.push_str(&cells.join(","));
        feats.push('\n');
    }
    let raw = dir.join("raw");
    write_atomic(&raw.join("edge.csv.gz"), &gz(edges)?)?;
    write_atomic(&raw.join("node-feat.csv.gz"), &gz(feats)?)?;
    write_atomic(&raw.join("num-node-list.csv.gz"), &gz(format!("{n}\n"))?)?;
    write_atomic(
        &raw.join("num-edge-list.csv.gz"),
        &gz(format!("{}\n", g.src.len()))?,
    )?;
    let rows = generated_rows(1, 36, EXAMPLE_SEED);
    write_atomic(
        &dir.join("power").join("feature.npy"),
        &crate::dataset::npy::to_bytes(&[1, 6, 6], &rows)?,
    )?;
    Ok(())
}
