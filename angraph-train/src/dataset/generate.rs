//! Dataset generation: samples in parallel (rayon, in order), written atomically (everything
//! goes to a temporary directory next to the target, renamed into place at the end).
//!
//! Sample `i` depends only on `(config, i)`, so a dataset's bytes depend only on its
//! configuration and size, whatever the thread count.

use super::csvgz::CsvGzWriter;
use super::graph::{GraphRecord, HostBuilder};
use super::{
    power, Column, Kind, Meta, Split, META_FORMAT, META_VERSION, SIM_MODEL_VERSION, SPLIT_SEED,
};
use crate::sim::{params, Generator, Sample, SimConfig};
use angraph_core::features::{
    EDGE_FEATURE_NAMES, EDGE_FEATURE_UNITS, FEATURE_SET_VERSION, NODE_FEATURE_NAMES,
    NODE_FEATURE_UNITS,
};
use angraph_core::power_input::{
    CONDITIONS_NAMES, CONDITIONS_UNITS, LOAD_NAMES, LOAD_UNITS, MATRIX_COLS, POWER_INPUT_VERSION,
};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// Samples simulated per parallel batch (bounds memory; order is kept).
const BATCH: usize = 256;

/// Timing of one generation run (kept outside the dataset directory, so the dataset's bytes
/// stay deterministic).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Speed {
    /// Samples generated.
    pub samples: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Samples per second.
    pub samples_per_s: f64,
    /// Worker threads.
    pub threads: usize,
    /// Build profile of the generator.
    pub profile: String,
}

/// Feed a simulated sample's system-level stream into `b` (reset first).
pub fn feed_sample(b: &mut HostBuilder, s: &Sample) -> Result<()> {
    b.reset(s.plan.mesh, s.process)?;
    for e in 0..s.plan.num_events() {
        b.begin_event_with(s.plan.load(e))?;
        for h in s.plan.path_off[e] as usize..s.plan.path_off[e + 1] as usize {
            b.hop(s.plan.path[h], s.timing.enter[h], s.timing.leave[h])
                .map_err(|err| anyhow::anyhow!("sample {}: event {e}: {err}", s.index))?;
        }
        b.end_event()?;
    }
    Ok(())
}

/// The graph of a simulated sample (its system-level stream through the core transform).
pub fn sample_graph(b: &mut HostBuilder, s: &Sample) -> Result<GraphRecord> {
    feed_sample(b, s)?;
    b.finish()
}

/// What one sample contributes to a dataset.
enum Row {
    Latency(Box<GraphRecord>, f32, f32),
    Power(Vec<f32>, [f32; 3]),
}

/// The worker's builder, created on first use.
fn builder<'a>(b: &'a mut Option<HostBuilder>, s: &Sample) -> Result<&'a mut HostBuilder> {
    if b.is_none() {
        *b = Some(HostBuilder::new(s.plan.mesh, s.process)?);
    }
    Ok(b.as_mut().expect("set above"))
}

fn pool() -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .stack_size(64 << 20)
        .build()
        .context("cannot start worker threads")
}

/// Generate `samples` samples of `config` as a `kind` dataset named `name` into `out`
/// (replaced atomically). `progress`: show a progress bar on stderr.
pub fn generate(
    name: &str,
    kind: Kind,
    config: &SimConfig,
    samples: usize,
    out: &Path,
    progress: bool,
) -> Result<Speed> {
    if samples == 0 {
        bail!("{name}: zero samples requested");
    }
    let tmp = temp_dir_for(out)?;
    let result = (|| -> Result<Speed> {
        let speed = simulate_rows(name, kind, config, 0..samples, &tmp, progress)?;
        Split::random(samples, SPLIT_SEED).write(&tmp)?;
        write_meta(&tmp, &meta_for(name, kind, config, samples))?;
        Ok(speed)
    })();
    match result {
        Ok(speed) => {
            replace_dir(&tmp, out)?;
            Ok(speed)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

/// Write `meta.json` into a dataset directory (pretty JSON and a newline: the bytes every
/// writer of a dataset produces).
pub fn write_meta(dir: &Path, meta: &Meta) -> Result<()> {
    crate::fsio::write_atomic(
        &dir.join("meta.json"),
        (serde_json::to_string_pretty(meta)? + "\n").as_bytes(),
    )
}

/// Simulate samples `range` of `config` (sample `k` is `Generator::sample(k)`, whatever the
/// range) and write their rows into `dir` as the dataset files of `kind` (`raw/*.csv.gz`, or
/// `feature.npy` / `label.npy`), in index order; no split, no `meta.json`. The one
/// implementation behind a whole dataset and a shard's part.
pub fn simulate_rows(
    name: &str,
    kind: Kind,
    config: &SimConfig,
    range: std::ops::Range<usize>,
    dir: &Path,
    progress: bool,
) -> Result<Speed> {
    let gen = Generator::new(config.clone()).with_context(|| format!("dataset {name}"))?;
    let pool = pool()?;
    let samples = range.len();
    let start = Instant::now();
    let bar = if progress {
        let b = ProgressBar::new(samples as u64);
        b.set_style(
            ProgressStyle::with_template(
                "{prefix:>24} [{bar:40}] {pos}/{len} samples, {per_sec}, eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b.set_prefix(name.to_string());
        b
    } else {
        ProgressBar::hidden()
    };
    let mut sink = Sink::new(kind, dir)?;
    // A writer thread compresses batch k while the pool simulates batch k + 1.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Result<Row>>>(1);
    std::thread::scope(|scope| -> Result<()> {
        let writer = scope.spawn(move || -> Result<Sink> {
            for rows in rx {
                for r in rows {
                    sink.push(r?)?;
                }
            }
            Ok(sink)
        });
        let mut i = range.start;
        while i < range.end {
            let end = (i + BATCH).min(range.end);
            let rows: Vec<Result<Row>> = pool.install(|| {
                (i..end)
                    .into_par_iter()
                    .map_init(
                        || None::<HostBuilder>,
                        |b, k| {
                            let s = gen.sample(k as u64);
                            let r = match kind {
                                Kind::Latency => {
                                    let b = builder(b, &s)?;
                                    let g = sample_graph(b, &s)?;
                                    Row::Latency(
                                        Box::new(g),
                                        (s.reference_latency_ps as f64 / 1000.0) as f32,
                                        (s.system_latency_ps as f64 / 1000.0) as f32,
                                    )
                                }
                                Kind::Power => {
                                    let b = builder(b, &s)?;
                                    feed_sample(b, &s)?;
                                    Row::Power(b.power_input(power::DATASET_INPUTS)?, s.energy_nj())
                                }
                            };
                            bar.inc(1);
                            Ok(r)
                        },
                    )
                    .collect()
            });
            if tx.send(rows).is_err() {
                break; // the writer stopped on an error; join below reports it
            }
            i = end;
        }
        drop(tx);
        let sink = writer
            .join()
            .map_err(|_| anyhow::anyhow!("dataset writer thread panicked"))??;
        sink.finish(dir)
    })?;
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    Ok(Speed {
        samples,
        seconds,
        samples_per_s: samples as f64 / seconds.max(1e-9),
        threads: pool.current_num_threads(),
        profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
        .into(),
    })
}

/// The `meta.json` of a generated dataset.
pub fn meta_for(name: &str, kind: Kind, config: &SimConfig, samples: usize) -> Meta {
    let cols = |names: &[&str], units: &[&str]| -> Vec<Column> {
        names
            .iter()
            .zip(units)
            .map(|(n, u)| Column {
                name: n.to_string(),
                unit: u.to_string(),
            })
            .collect()
    };
    let generator = serde_json::json!({
        "crate": "angraph-train",
        "version": env!("CARGO_PKG_VERSION"),
        "sim_model_version": SIM_MODEL_VERSION,
    });
    let split =
        serde_json::json!({"kind": "random", "seed": SPLIT_SEED, "fractions": [0.8, 0.1, 0.1]});
    match kind {
        Kind::Latency => {
            let mut edge = vec![Column {
                name: "activities".into(),
                unit: "traversals".into(),
            }];
            edge.extend(cols(&EDGE_FEATURE_NAMES, &EDGE_FEATURE_UNITS));
            Meta {
                format: META_FORMAT.into(),
                version: META_VERSION,
                name: name.into(),
                kind,
                samples,
                config: Some(config.clone()),
                generator,
                feature_set_version: Some(FEATURE_SET_VERSION),
                power_input_version: None,
                node_features: cols(&NODE_FEATURE_NAMES, &NODE_FEATURE_UNITS),
                edge_features: edge,
                conditions_columns: None,
                load_columns: None,
                activities_column: Some(0),
                labels: vec![Column {
                    name: "reference_latency".into(),
                    unit: "ns".into(),
                }],
                estimate_file: Some("raw/system-estimate.csv.gz".into()),
                split,
                parameters: params::all_parameters_json(),
            }
        }
        Kind::Power => Meta {
            format: META_FORMAT.into(),
            version: META_VERSION,
            name: name.into(),
            kind,
            samples,
            config: Some(config.clone()),
            generator,
            feature_set_version: None,
            power_input_version: Some(POWER_INPUT_VERSION),
            node_features: cols(&power::MATRIX_ROWS, &[""; 8]),
            edge_features: power::MATRIX_COLS
                .iter()
                .map(|(n, u)| Column {
                    name: n.to_string(),
                    unit: u.to_string(),
                })
                .collect(),
            conditions_columns: Some(cols(&CONDITIONS_NAMES, &CONDITIONS_UNITS)),
            load_columns: Some(cols(&LOAD_NAMES, &LOAD_UNITS)),
            activities_column: None,
            labels: cols(&["total", "dynamic", "static"], &["nJ", "nJ", "nJ"]),
            estimate_file: None,
            split,
            parameters: params::all_parameters_json(),
        },
    }
}

/// Writers of a dataset under construction (one per generation run, so its size does not matter).
#[allow(clippy::large_enum_variant)]
enum Sink {
    Latency {
        edge: CsvGzWriter,
        edge_feat: CsvGzWriter,
        node_feat: CsvGzWriter,
        num_nodes: Vec<u32>,
        num_edges: Vec<u32>,
        labels: Vec<f32>,
        estimates: Vec<f32>,
    },
    Power {
        features: Vec<f32>,
        labels: Vec<f32>,
    },
}

impl Sink {
    fn new(kind: Kind, dir: &Path) -> Result<Sink> {
        Ok(match kind {
            Kind::Latency => {
                let raw = dir.join("raw");
                std::fs::create_dir_all(&raw)
                    .with_context(|| format!("{}: cannot create", raw.display()))?;
                Sink::Latency {
                    edge: CsvGzWriter::create(&raw.join("edge.csv.gz"))?,
                    edge_feat: CsvGzWriter::create(&raw.join("edge-feat.csv.gz"))?,
                    node_feat: CsvGzWriter::create(&raw.join("node-feat.csv.gz"))?,
                    num_nodes: Vec::new(),
                    num_edges: Vec::new(),
                    labels: Vec::new(),
                    estimates: Vec::new(),
                }
            }
            Kind::Power => Sink::Power {
                features: Vec::new(),
                labels: Vec::new(),
            },
        })
    }

    fn push(&mut self, row: Row) -> Result<()> {
        match (self, row) {
            (
                Sink::Latency {
                    edge,
                    edge_feat,
                    node_feat,
                    num_nodes,
                    num_edges,
                    labels,
                    estimates,
                },
                Row::Latency(g, y, est),
            ) => {
                append_graph(&g, edge, edge_feat, node_feat)?;
                num_nodes.push(g.num_nodes);
                num_edges.push(g.edges.len() as u32);
                labels.push(y);
                estimates.push(est);
            }
            (Sink::Power { features, labels }, Row::Power(m, l)) => {
                features.extend_from_slice(&m);
                labels.extend_from_slice(&l);
            }
            _ => bail!("internal: sample kind does not match the dataset kind"),
        }
        Ok(())
    }

    fn finish(self, dir: &Path) -> Result<()> {
        match self {
            Sink::Latency {
                edge,
                edge_feat,
                node_feat,
                num_nodes,
                num_edges,
                labels,
                estimates,
            } => {
                edge.finish()?;
                edge_feat.finish()?;
                node_feat.finish()?;
                let raw = dir.join("raw");
                write_column(&raw.join("num-node-list.csv.gz"), &num_nodes)?;
                write_column(&raw.join("num-edge-list.csv.gz"), &num_edges)?;
                write_column(&raw.join("graph-label.csv.gz"), &labels)?;
                write_column(&raw.join("system-estimate.csv.gz"), &estimates)?;
            }
            Sink::Power { features, labels } => {
                let n = labels.len() / 3;
                std::fs::write(
                    dir.join("feature.npy"),
                    super::npy::to_bytes(
                        &[n, power::DATASET_INPUTS / MATRIX_COLS, MATRIX_COLS],
                        &features,
                    )?,
                )?;
                std::fs::write(
                    dir.join("label.npy"),
                    super::npy::to_bytes(&[n, 3], &labels)?,
                )?;
            }
        }
        Ok(())
    }
}

/// Append one graph to the three per-node / per-edge files.
pub fn append_graph(
    g: &GraphRecord,
    edge: &mut CsvGzWriter,
    edge_feat: &mut CsvGzWriter,
    node_feat: &mut CsvGzWriter,
) -> Result<()> {
    use angraph_core::features::{to_f32, EDGE_FEATURES, NODE_FEATURES};
    for v in 0..g.num_nodes as usize {
        node_feat.row(
            g.x_fixed[v * NODE_FEATURES..(v + 1) * NODE_FEATURES]
                .iter()
                .map(|&q| to_f32(q)),
        )?;
    }
    for (k, &(s, d)) in g.edges.iter().enumerate() {
        edge.row([s, d])?;
        let a = g.activities[k] as f32;
        edge_feat.row(
            std::iter::once(a).chain(
                g.edge_attr_fixed[k * EDGE_FEATURES..(k + 1) * EDGE_FEATURES]
                    .iter()
                    .map(|&q| to_f32(q)),
            ),
        )?;
    }
    Ok(())
}

/// One value per line.
pub fn write_column<T: std::fmt::Display>(path: &Path, vals: &[T]) -> Result<()> {
    let mut w = CsvGzWriter::create(path)?;
    for v in vals {
        w.row([v])?;
    }
    w.finish()
}

/// Temporary dataset directories and their atomic replacement live in [`crate::fsio`].
pub use crate::fsio::{replace_dir, temp_dir_for};
