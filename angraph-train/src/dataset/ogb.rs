//! The OGB raw graph files under `raw/` (see the module table in [`super`]): the one reader of
//! graph folders, labelled (datasets for training and evaluation, through
//! [`super::GraphDataset::load`]) or not (`angraph estimate`'s bundled example, calibration
//! graphs of `angraph import`, through [`OgbGraphs::load`]). Every count is cross-checked;
//! errors name the file and line.

use super::{csvgz, read_meta, Kind, Meta};
use angraph_core::quantize::OwnedGraph;
use anyhow::{anyhow, bail, Result};
use std::path::Path;

/// The graphs of an OGB raw folder, with their labels when the folder has them.
#[derive(Debug, Clone)]
pub struct OgbGraphs {
    /// Graphs: f32 node features, CSR by target, `edge_weight` = activities (when the folder
    /// has `raw/edge-feat.csv.gz`).
    pub graphs: Vec<OwnedGraph>,
    /// Edge features per graph, row-major `num_edges x width`, in the graph's CSR edge order
    /// (the activities column included); empty rows without `raw/edge-feat.csv.gz`.
    pub edge_attr: Vec<Vec<f32>>,
    /// Edge-feature width (0 without `raw/edge-feat.csv.gz`).
    pub edge_attr_width: usize,
    /// `raw/graph-label.csv.gz`, one value per graph (checked), or `None` when the folder has
    /// no such file.
    pub labels: Option<Vec<f32>>,
}

impl OgbGraphs {
    /// Read the graphs under `dir/raw` (labels when present), with `dir/meta.json` when present
    /// (activities column, node-feature count).
    pub fn load(dir: &Path) -> Result<OgbGraphs> {
        let meta = read_meta(dir, Kind::Latency)?;
        OgbGraphs::read(dir, meta.as_ref())
    }

    /// [`OgbGraphs::load`] with `meta.json` already read.
    pub(crate) fn read(dir: &Path, meta: Option<&Meta>) -> Result<OgbGraphs> {
        let raw = dir.join("raw");
        let f = |name: &str| raw.join(name);
        let nn_path = f("num-node-list.csv.gz");
        let ne_path = f("num-edge-list.csv.gz");
        let (_, n_nodes) = csvgz::read_rows::<usize>(&nn_path, Some(1), None)?;
        let g = n_nodes.len();
        let (_, n_edges) = csvgz::read_rows::<usize>(&ne_path, Some(1), Some(g))?;
        if n_edges.len() != g {
            bail!(
                "{}: {} graphs, but num-node-list.csv.gz has {g}",
                ne_path.display(),
                n_edges.len()
            );
        }
        // Counts first, in checked arithmetic: a graph's node ids are u32, and every later read
        // is bounded by these sums (a file with more rows is refused at its first extra row),
        // so nothing is allocated beyond what the files actually hold.
        let total_nodes = checked_total(&n_nodes, &nn_path, "nodes")?;
        let total_edges = checked_total(&n_edges, &ne_path, "edges")?;
        let label_path = f("graph-label.csv.gz");
        let labels = if label_path.exists() {
            // One row more than needed is read, so that the count error below says what is
            // expected.
            let (lw, labels) = csvgz::read_rows::<f32>(&label_path, None, g.checked_add(1))?;
            if labels.len() != g || lw > 1 {
                bail!(
                    "{}: expected {g} labels (one per graph, one column), found {} values in {} \
                     columns",
                    label_path.display(),
                    labels.len(),
                    lw
                );
            }
            let unit = meta.map_or("ns", |m| m.label_unit());
            let max = super::max_latency(unit);
            if let Some(k) = labels.iter().position(|&y| y < 0.0 || y as f64 > max) {
                bail!(
                    "{}: line {}, column 1: label {} is not a latency in 0..={max} {unit} (1 s)",
                    label_path.display(),
                    k + 1,
                    labels[k]
                );
            }
            Some(labels)
        } else {
            None
        };
        let nf_path = f("node-feat.csv.gz");
        let (xw, x) = csvgz::read_rows::<f32>(&nf_path, None, Some(total_nodes))?;
        let x_rows = x.len().checked_div(xw).unwrap_or(0);
        if x_rows != total_nodes {
            bail!(
                "{}: {x_rows} rows, but num-node-list.csv.gz sums to {total_nodes} nodes",
                nf_path.display(),
            );
        }
        if meta.is_some() {
            check_q16(&x, xw, &nf_path)?;
        }
        if let Some(m) = meta {
            if m.node_features.len() != xw {
                bail!(
                    "{}: {xw} node features, meta.json declares {}",
                    nf_path.display(),
                    m.node_features.len()
                );
            }
        }
        let (_, ei) = csvgz::read_rows::<u32>(&f("edge.csv.gz"), Some(2), Some(total_edges))?;
        if ei.len() / 2 != total_edges {
            bail!(
                "{}: {} rows, but num-edge-list.csv.gz sums to {total_edges} edges",
                f("edge.csv.gz").display(),
                ei.len() / 2
            );
        }
        let ef_path = f("edge-feat.csv.gz");
        let (ew, ef) = if ef_path.exists() {
            let (w, v) = csvgz::read_rows::<f32>(&ef_path, None, Some(total_edges))?;
            let rows = v.len().checked_div(w).unwrap_or(0);
            if rows != total_edges {
                bail!(
                    "{}: {rows} rows, but num-edge-list.csv.gz sums to {total_edges} edges",
                    ef_path.display(),
                );
            }
            if let Some(m) = meta {
                if rows > 0 && m.edge_features.len() != w {
                    bail!(
                        "{}: {w} edge features, meta.json declares {}",
                        ef_path.display(),
                        m.edge_features.len()
                    );
                }
            }
            if meta.is_some() {
                check_q16(&v, w, &ef_path)?;
            }
            (w, Some(v))
        } else {
            (0, None)
        };
        let act_col = meta.and_then(|m| m.activities_column).unwrap_or(0);
        if ef.is_some() && act_col >= ew {
            bail!(
                "{}: activities column {act_col} >= width {ew}",
                ef_path.display()
            );
        }
        let mut graphs = Vec::with_capacity(g);
        let mut edge_attr = Vec::with_capacity(g);
        let (mut no, mut eo) = (0usize, 0usize);
        for gi in 0..g {
            let (n, e) = (n_nodes[gi], n_edges[gi]);
            let edges: Vec<(u32, u32)> = (0..e)
                .map(|k| (ei[2 * (eo + k)], ei[2 * (eo + k) + 1]))
                .collect();
            if let Some(k) = edges
                .iter()
                .position(|&(s, d)| s as usize >= n || d as usize >= n)
            {
                bail!(
                    "{}: line {}: edge {:?} of graph {gi} refers to a node >= {n}",
                    f("edge.csv.gz").display(),
                    eo + k + 1,
                    edges[k]
                );
            }
            let attr: Vec<f32> = match &ef {
                Some(v) => v[eo * ew..(eo + e) * ew].to_vec(),
                None => Vec::new(),
            };
            let weights: Option<Vec<f32>> = ef
                .as_ref()
                .map(|_| (0..e).map(|k| attr[k * ew + act_col]).collect());
            if let Some(w) = &weights {
                if let Some(k) = w
                    .iter()
                    .position(|a| !a.is_finite() || *a < 0.0 || a.fract() != 0.0)
                {
                    bail!(
                        "{}: line {}: activities {} must be a whole number >= 0 (a count)",
                        ef_path.display(),
                        eo + k + 1,
                        w[k]
                    );
                }
            }
            let xs = x[no * xw..(no + n) * xw].to_vec();
            let og = OwnedGraph::from_coo(n as u32, xw as u32, xs, &edges, weights.as_deref())
                .map_err(|err| anyhow!("{}: graph {gi}: {err}", dir.display()))?;
            // Reorder the edge attributes into the CSR order OwnedGraph chose (stable by target).
            let mut order: Vec<usize> = (0..e).collect();
            order.sort_by_key(|&k| edges[k].1);
            let mut a = Vec::with_capacity(attr.len());
            for &k in &order {
                a.extend_from_slice(&attr[k * ew..(k + 1) * ew]);
            }
            graphs.push(og);
            edge_attr.push(a);
            no += n;
            eo += e;
        }
        Ok(OgbGraphs {
            graphs,
            edge_attr,
            edge_attr_width: ew,
            labels,
        })
    }
}

/// The sum of one count per graph, refusing a graph above `u32::MAX` (its ids are u32: 2^32
/// would wrap to 0) and a sum that overflows; errors name the file and line.
fn checked_total(counts: &[usize], path: &Path, what: &str) -> Result<usize> {
    let mut total = 0usize;
    for (i, &c) in counts.iter().enumerate() {
        if c > u32::MAX as usize {
            bail!(
                "{}: line {}: {c} {what} in one graph, more than the {} a graph can hold",
                path.display(),
                i + 1,
                u32::MAX
            );
        }
        total = total.checked_add(c).ok_or_else(|| {
            anyhow!(
                "{}: line {}: the {what} counts overflow when summed",
                path.display(),
                i + 1
            )
        })?;
    }
    Ok(total)
}

/// Largest magnitude of a feature of this project's datasets: the Q16.16 range the chip
/// computes in (`angraph_core::fixed`; saturated features sit at its ceiling).
pub const MAX_FEATURE: f32 = 32768.0;

/// Every value of a row-major table of `width` columns within +-[`MAX_FEATURE`]; the error
/// names the file, line and column.
fn check_q16(v: &[f32], width: usize, path: &Path) -> Result<()> {
    if let Some(k) = v.iter().position(|x| x.abs() > MAX_FEATURE) {
        bail!(
            "{}: line {}, column {}: {} is beyond the Q16.16 feature range +-{MAX_FEATURE}",
            path.display(),
            k / width.max(1) + 1,
            k % width.max(1) + 1,
            v[k]
        );
    }
    Ok(())
}
