//! `angraph convert`: event streams -> graph summary, the other stream form, or a dataset.

use super::Stream;
use crate::dataset::csvgz::CsvGzWriter;
use crate::dataset::generate::{append_graph, replace_dir, temp_dir_for, write_column};
use crate::dataset::{Column, Kind, Meta, Split, META_FORMAT, META_VERSION, SPLIT_SEED};
use angraph_core::component::Mesh;
use angraph_core::features::{
    EDGE_FEATURE_NAMES, EDGE_FEATURE_UNITS, FEATURE_SET_VERSION, NODE_FEATURE_NAMES,
    NODE_FEATURE_UNITS,
};
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};

/// Arguments of `angraph convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Event streams: TrueAsync DFG JSON or the timed form (recognised by content).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Write a latency dataset (OGB raw + meta.json + splits) of all inputs into this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Labels for `--out`, one latency per line (ns) in input order; default: the `labels`
    /// of timed streams.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Mesh (WxH) of DFG streams; default: the smallest square mesh holding every tile named.
    #[arg(long)]
    pub mesh: Option<String>,
    /// Rewrite the (single) input in the TrueAsync DFG JSON form to this file.
    #[arg(long)]
    pub to_dfg: Option<PathBuf>,
    /// Rewrite the (single) input in the timed form to this file (needs a timed input).
    #[arg(long)]
    pub to_timed: Option<PathBuf>,
}

fn read_labels(path: &Path) -> Result<Vec<f32>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let cell = l.split(',').next().unwrap_or("").trim();
            cell.parse::<f32>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    anyhow!(
                        "{}: line {}: {cell:?} is not a number",
                        path.display(),
                        i + 1
                    )
                })
        })
        .collect()
}

/// Run `angraph convert`.
pub fn run(a: &ConvertArgs) -> Result<()> {
    let mesh = match &a.mesh {
        Some(m) => {
            let (w, h) = crate::sim::parse_mesh(m)?;
            Some(Mesh::new(w, h).map_err(|e| anyhow!("--mesh {m}: {e}"))?)
        }
        None => None,
    };
    if a.to_dfg.is_some() || a.to_timed.is_some() {
        if a.inputs.len() != 1 {
            bail!("--to-dfg / --to-timed convert exactly one input");
        }
        let s = Stream::read(&a.inputs[0])?;
        if let Some(p) = &a.to_dfg {
            s.write_dfg(p)?;
            println!("wrote {}", p.display());
        }
        if let Some(p) = &a.to_timed {
            s.write_timed(p)
                .with_context(|| format!("{}", a.inputs[0].display()))?;
            println!("wrote {}", p.display());
        }
        return Ok(());
    }
    let labels = match &a.labels {
        Some(p) => {
            let l = read_labels(p)?;
            if l.len() != a.inputs.len() {
                bail!(
                    "{}: {} labels for {} streams",
                    p.display(),
                    l.len(),
                    a.inputs.len()
                );
            }
            Some(l)
        }
        None => None,
    };
    match &a.out {
        None => {
            println!("stream  events  nodes  edges  max_activity  estimate_ns");
            for p in &a.inputs {
                let s = Stream::read(p)?;
                let g = s
                    .to_graph_on(mesh)
                    .with_context(|| format!("{}", p.display()))?;
                println!(
                    "{}  {}  {}  {}  {}  {:.1}",
                    p.display(),
                    g.summary.events,
                    g.num_nodes,
                    g.edges.len(),
                    g.activities.iter().max().unwrap_or(&0),
                    g.summary.span() as f64 / 1000.0
                );
            }
            Ok(())
        }
        Some(out) => write_dataset(&a.inputs, labels, mesh, out),
    }
}

fn write_dataset(
    inputs: &[PathBuf],
    labels: Option<Vec<f32>>,
    mesh: Option<Mesh>,
    out: &Path,
) -> Result<()> {
    let tmp = temp_dir_for(out)?;
    let res = (|| -> Result<()> {
        let raw = tmp.join("raw");
        std::fs::create_dir_all(&raw)?;
        let mut edge = CsvGzWriter::create(&raw.join("edge.csv.gz"))?;
        let mut edge_feat = CsvGzWriter::create(&raw.join("edge-feat.csv.gz"))?;
        let mut node_feat = CsvGzWriter::create(&raw.join("node-feat.csv.gz"))?;
        let (mut nn, mut ne, mut ys, mut est) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, p) in inputs.iter().enumerate() {
            let s = Stream::read(p)?;
            let g = s
                .to_graph_on(mesh)
                .with_context(|| format!("{}", p.display()))?;
            let y = match &labels {
                Some(l) => l[i],
                None => s
                    .header
                    .as_ref()
                    .and_then(|h| h.labels)
                    .map(|l| l.reference_latency_ns as f32)
                    .with_context(|| {
                        format!("{}: no labels in the stream; pass --labels", p.display())
                    })?,
            };
            append_graph(&g, &mut edge, &mut edge_feat, &mut node_feat)?;
            nn.push(g.num_nodes);
            ne.push(g.edges.len() as u32);
            ys.push(y);
            est.push((g.summary.span() as f64 / 1000.0) as f32);
        }
        edge.finish()?;
        edge_feat.finish()?;
        node_feat.finish()?;
        write_column(&raw.join("num-node-list.csv.gz"), &nn)?;
        write_column(&raw.join("num-edge-list.csv.gz"), &ne)?;
        write_column(&raw.join("graph-label.csv.gz"), &ys)?;
        write_column(&raw.join("system-estimate.csv.gz"), &est)?;
        Split::random(inputs.len(), SPLIT_SEED).write(&tmp)?;
        let col = |n: &str, u: &str| Column {
            name: n.into(),
            unit: u.into(),
        };
        let mut edge_cols = vec![col("activities", "traversals")];
        edge_cols.extend(
            EDGE_FEATURE_NAMES
                .iter()
                .zip(EDGE_FEATURE_UNITS)
                .map(|(n, u)| col(n, u)),
        );
        let meta = Meta {
            format: META_FORMAT.into(),
            version: META_VERSION,
            name: out
                .file_name()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default(),
            kind: Kind::Latency,
            samples: inputs.len(),
            config: None,
            generator: serde_json::json!({"crate": "angraph-train", "version": env!("CARGO_PKG_VERSION"), "converted_from": inputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>()}),
            feature_set_version: Some(FEATURE_SET_VERSION),
            power_input_version: None,
            node_features: NODE_FEATURE_NAMES
                .iter()
                .zip(NODE_FEATURE_UNITS)
                .map(|(n, u)| col(n, u))
                .collect(),
            edge_features: edge_cols,
            conditions_columns: None,
            load_columns: None,
            activities_column: Some(0),
            labels: vec![col("reference_latency", "ns")],
            estimate_file: Some("raw/system-estimate.csv.gz".into()),
            split: serde_json::json!({"kind": "random", "seed": SPLIT_SEED, "fractions": [0.8, 0.1, 0.1]}),
            parameters: serde_json::Value::Null,
        };
        super::write_atomic(
            &tmp.join("meta.json"),
            (serde_json::to_string_pretty(&meta)? + "\n").as_bytes(),
        )
    })();
    match res {
        Ok(()) => {
            replace_dir(&tmp, out)?;
            println!("wrote {} ({} graphs)", out.display(), inputs.len());
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}
