//! The OGB raw graph files under `raw/` (see the module table in [`super`]): the one reader of
//! graph folders, labelled (datasets for training and evaluation, through
//! [`super::GraphDataset::load`]) or not (`angraph estimate`'s bundled example, calibration
//! graphs of `angraph import`, through [`OgbGraphs::load`]). [`OgbStream`] reads the graphs one
//! at a time (memory: one graph, whatever the dataset's size); [`OgbGraphs`] collects them.
//! Every count is cross-checked; errors name the file and line.

use super::csvgz::{self, RowReader};
use super::{read_meta, Kind, Meta};
use angraph_core::quantize::OwnedGraph;
use anyhow::{anyhow, bail, Result};
use std::fs::File;
use std::path::{Path, PathBuf};

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
        let mut s = OgbStream::open(dir, meta)?;
        let mut graphs = Vec::with_capacity(s.len());
        let mut edge_attr = Vec::with_capacity(s.len());
        while let Some((g, a)) = s.next_graph()? {
            graphs.push(g);
            edge_attr.push(a);
        }
        Ok(OgbGraphs {
            graphs,
            edge_attr,
            edge_attr_width: s.edge_attr_width(),
            labels: s.labels.take(),
        })
    }
}

/// The graphs of an OGB raw folder read one at a time, in order: the counts and labels are read
/// (and checked) when it is opened, the node, edge and edge-feature tables row by row as
/// [`OgbStream::next_graph`] asks, and after the last graph every table must be at its end.
pub struct OgbStream {
    dir: PathBuf,
    n_nodes: Vec<usize>,
    n_edges: Vec<usize>,
    /// `raw/graph-label.csv.gz`, one value per graph (checked), or `None` when the folder has
    /// no such file.
    pub labels: Option<Vec<f32>>,
    node_feat: RowReader<File>,
    node_feat_path: PathBuf,
    edge: RowReader<File>,
    edge_path: PathBuf,
    edge_feat: Option<(RowReader<File>, PathBuf)>,
    declared_node_features: Option<usize>,
    declared_edge_features: Option<usize>,
    check_range: bool,
    act_col: usize,
    total_nodes: usize,
    total_edges: usize,
    next: usize,
    done: bool,
    nodes_read: usize,
    edges_read: usize,
}

impl OgbStream {
    /// Open the tables under `dir/raw` (`meta`: `dir/meta.json` when present).
    pub fn open(dir: &Path, meta: Option<&Meta>) -> Result<OgbStream> {
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
        let node_feat = RowReader::open(&nf_path, None, Some(total_nodes))?;
        let edge_path = f("edge.csv.gz");
        let edge = RowReader::open(&edge_path, Some(2), Some(total_edges))?;
        let ef_path = f("edge-feat.csv.gz");
        let edge_feat = if ef_path.exists() {
            Some((RowReader::open(&ef_path, None, Some(total_edges))?, ef_path))
        } else {
            None
        };
        Ok(OgbStream {
            dir: dir.to_path_buf(),
            n_nodes,
            n_edges,
            labels,
            node_feat,
            node_feat_path: nf_path,
            edge,
            edge_path,
            edge_feat,
            declared_node_features: meta.map(|m| m.node_features.len()),
            declared_edge_features: meta.map(|m| m.edge_features.len()),
            check_range: meta.is_some(),
            act_col: meta.and_then(|m| m.activities_column).unwrap_or(0),
            total_nodes,
            total_edges,
            next: 0,
            done: false,
            nodes_read: 0,
            edges_read: 0,
        })
    }

    /// Number of graphs (from `raw/num-node-list.csv.gz`).
    pub fn len(&self) -> usize {
        self.n_nodes.len()
    }

    /// No graphs.
    pub fn is_empty(&self) -> bool {
        self.n_nodes.is_empty()
    }

    /// Nodes of every graph (`raw/num-node-list.csv.gz`).
    pub fn node_counts(&self) -> &[usize] {
        &self.n_nodes
    }

    /// Edge-feature width (0 without `raw/edge-feat.csv.gz`, or before the first edge row).
    pub fn edge_attr_width(&self) -> usize {
        self.edge_feat
            .as_ref()
            .and_then(|(r, _)| r.width())
            .unwrap_or(0)
    }

    /// The next graph and its edge features (row-major, in the graph's CSR edge order), or
    /// `None` after the last one (once every table has been checked to end there).
    pub fn next_graph(&mut self) -> Result<Option<(OwnedGraph, Vec<f32>)>> {
        let gi = self.next;
        if self.done {
            return Ok(None);
        }
        if gi == self.len() {
            self.finish()?;
            self.done = true;
            return Ok(None);
        }
        let (n, e) = (self.n_nodes[gi], self.n_edges[gi]);
        // Node features.
        let mut xs: Vec<f32> = Vec::new();
        for _ in 0..n {
            if !self.node_feat.read_row(&mut xs)? {
                bail!(
                    "{}: {} rows, but num-node-list.csv.gz sums to {} nodes",
                    self.node_feat_path.display(),
                    self.node_feat.rows(),
                    self.total_nodes
                );
            }
            if self.nodes_read == 0 {
                self.check_node_width()?;
            }
            self.nodes_read += 1;
        }
        let xw = self.node_feat.width().unwrap_or(0);
        if self.check_range {
            check_q16(&xs, xw, &self.node_feat_path, self.nodes_read - n)?;
        }
        // Edges.
        let mut ei: Vec<u32> = Vec::with_capacity(2 * e);
        for _ in 0..e {
            if !self.edge.read_row(&mut ei)? {
                bail!(
                    "{}: {} rows, but num-edge-list.csv.gz sums to {} edges",
                    self.edge_path.display(),
                    self.edge.rows(),
                    self.total_edges
                );
            }
        }
        let edges: Vec<(u32, u32)> = ei.chunks_exact(2).map(|c| (c[0], c[1])).collect();
        if let Some(k) = edges
            .iter()
            .position(|&(s, d)| s as usize >= n || d as usize >= n)
        {
            bail!(
                "{}: line {}: edge {:?} of graph {gi} refers to a node >= {n}",
                self.edge_path.display(),
                self.edges_read + k + 1,
                edges[k]
            );
        }
        // Edge features and the activities column.
        let mut attr: Vec<f32> = Vec::new();
        let mut weights = None;
        if let Some((r, path)) = &mut self.edge_feat {
            for k in 0..e {
                if !r.read_row(&mut attr)? {
                    bail!(
                        "{}: {} rows, but num-edge-list.csv.gz sums to {} edges",
                        path.display(),
                        r.rows(),
                        self.total_edges
                    );
                }
                if self.edges_read + k == 0 {
                    let w = r.width().unwrap_or(0);
                    if let Some(d) = self.declared_edge_features {
                        if d != w {
                            bail!(
                                "{}: {w} edge features, meta.json declares {d}",
                                path.display()
                            );
                        }
                    }
                }
            }
            let ew = r.width().unwrap_or(0);
            if self.check_range {
                check_q16(&attr, ew, path, self.edges_read)?;
            }
            if e > 0 && self.act_col >= ew {
                bail!(
                    "{}: activities column {} >= width {ew}",
                    path.display(),
                    self.act_col
                );
            }
            let w: Vec<f32> = (0..e).map(|k| attr[k * ew + self.act_col]).collect();
            if let Some(k) = w
                .iter()
                .position(|a| !a.is_finite() || *a < 0.0 || a.fract() != 0.0)
            {
                bail!(
                    "{}: line {}: activities {} must be a whole number >= 0 (a count)",
                    path.display(),
                    self.edges_read + k + 1,
                    w[k]
                );
            }
            weights = Some(w);
        }
        let og = OwnedGraph::from_coo(n as u32, xw as u32, xs, &edges, weights.as_deref())
            .map_err(|err| anyhow!("{}: graph {gi}: {err}", self.dir.display()))?;
        // Reorder the edge attributes into the CSR order OwnedGraph chose (stable by target).
        let ew = self.edge_attr_width();
        let mut order: Vec<usize> = (0..e).collect();
        order.sort_by_key(|&k| edges[k].1);
        let mut a = Vec::with_capacity(attr.len());
        for &k in &order {
            a.extend_from_slice(&attr[k * ew..(k + 1) * ew]);
        }
        self.edges_read += e;
        self.next += 1;
        Ok(Some((og, a)))
    }

    /// The node-feature count against `meta.json`, once the width is known.
    fn check_node_width(&self) -> Result<()> {
        let xw = self.node_feat.width().unwrap_or(0);
        match self.declared_node_features {
            Some(d) if d != xw => bail!(
                "{}: {xw} node features, meta.json declares {d}",
                self.node_feat_path.display()
            ),
            _ => Ok(()),
        }
    }

    /// After the last graph: no table has rows left (the row limits make an extra row an
    /// error), and an empty node table still agrees with `meta.json`.
    fn finish(&mut self) -> Result<()> {
        let mut spare_f: Vec<f32> = Vec::new();
        let mut spare_u: Vec<u32> = Vec::new();
        while self.node_feat.read_row(&mut spare_f)? {}
        if self.nodes_read == 0 {
            self.check_node_width()?;
        }
        while self.edge.read_row(&mut spare_u)? {}
        if let Some((r, _)) = &mut self.edge_feat {
            while r.read_row(&mut spare_f)? {}
        }
        Ok(())
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

/// Every value of a row-major table of `width` columns within +-[`MAX_FEATURE`]; `first_row`:
/// the table row of `v`'s first row (0-based). The error names the file, line and column.
fn check_q16(v: &[f32], width: usize, path: &Path, first_row: usize) -> Result<()> {
    if let Some(k) = v.iter().position(|x| x.abs() > MAX_FEATURE) {
        bail!(
            "{}: line {}, column {}: {} is beyond the Q16.16 feature range +-{MAX_FEATURE}",
            path.display(),
            first_row + k / width.max(1) + 1,
            k % width.max(1) + 1,
            v[k]
        );
    }
    Ok(())
}
