//! Event streams as a latency dataset: the graphs of many streams, in input order, in the OGB
//! raw format with `meta.json` and the splits (`angraph convert --out`).

use super::Stream;
use crate::dataset::csvgz::CsvGzWriter;
use crate::dataset::generate::{append_graph, write_column};
use crate::dataset::{Column, Kind, Meta, Split, META_FORMAT, META_VERSION, SPLIT_SEED};
use crate::fsio::{replace_dir, temp_dir_for, write_atomic};
use angraph_core::component::Mesh;
use angraph_core::features::{
    EDGE_FEATURE_NAMES, EDGE_FEATURE_UNITS, FEATURE_SET_VERSION, NODE_FEATURE_NAMES,
    NODE_FEATURE_UNITS,
};
use anyhow::{anyhow, Context, Result};
use std::path::{Path, PathBuf};

/// Labels of a dataset, one latency per line (ns; the first comma-separated cell of a line),
/// blank lines skipped.
pub fn read_labels(path: &Path) -> Result<Vec<f32>> {
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

/// Write a latency dataset of the graphs of `inputs` (built on `mesh`, default: each stream's
/// own) into `out`, atomically: labels from `labels` in input order, or else each timed
/// stream's own.
pub fn write_dataset(
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
        write_atomic(
            &tmp.join("meta.json"),
            (serde_json::to_string_pretty(&meta)? + "\n").as_bytes(),
        )
    })();
    match res {
        Ok(()) => replace_dir(&tmp, out),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}
