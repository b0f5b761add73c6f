//! Many graphs as one disjoint graph, the way PyTorch Geometric batches them.

use angraph_core::quantize::OwnedGraph;
use anyhow::{bail, Result};
use tch::{Device, Kind, Tensor};

/// A batch of graphs as one disjoint graph: node ids of graph `g` are offset by the node counts
/// of graphs `0..g`, and `batch[v]` names the graph of node `v`.
///
/// Edge tensors are in the CSR-by-target order of the source graphs (`dst` non-decreasing).
/// The per-edge aggregation coefficients are precomputed once per batch, so a SAGE layer's
/// aggregation is a single `index_add`:
/// `mean_coef[e] = 1 / in_degree(dst[e])`, and for activity-weighted mean
/// `activity_coef[e] = w[e] / sum of w over dst[e]'s incoming edges` (0 when that sum is 0).
#[derive(Debug)]
pub struct GraphBatch {
    /// Node features, `[num_nodes, feature_width]`, f32.
    pub x: Tensor,
    /// Edge sources, `[num_edges]`, i64.
    pub src: Tensor,
    /// Edge targets, `[num_edges]`, i64.
    pub dst: Tensor,
    /// `[num_edges, 1]` f32: `1 / in_degree(dst)`.
    pub mean_coef: Tensor,
    /// `[num_edges, 1]` f32: normalised activities; `None` when the graphs carry no edge weights.
    pub activity_coef: Option<Tensor>,
    /// Graph of each node, `[num_nodes]`, i64.
    pub batch: Tensor,
    /// Nodes per graph, `[num_graphs, 1]`, f32 (for mean pooling).
    pub nodes_per_graph: Tensor,
    /// Number of graphs.
    pub num_graphs: i64,
    /// Total number of nodes.
    pub num_nodes: i64,
}

impl GraphBatch {
    /// Batch `graphs` (all of one feature width; either all or none with edge weights) on
    /// `device`.
    pub fn from_graphs(graphs: &[&OwnedGraph], device: Device) -> Result<Self> {
        if graphs.is_empty() {
            bail!("a batch needs at least one graph");
        }
        let fw = graphs[0].feature_width as usize;
        let weighted = graphs[0].edge_weight.is_some();
        let total_nodes: usize = graphs.iter().map(|g| g.row_ptr.len() - 1).sum();
        let total_edges: usize = graphs.iter().map(|g| g.src.len()).sum();
        let mut x = Vec::with_capacity(total_nodes * fw);
        let mut src = Vec::with_capacity(total_edges);
        let mut dst = Vec::with_capacity(total_edges);
        let mut mean_coef = Vec::with_capacity(total_edges);
        let mut act_coef = Vec::with_capacity(if weighted { total_edges } else { 0 });
        let mut batch = Vec::with_capacity(total_nodes);
        let mut counts = Vec::with_capacity(graphs.len());
        let mut offset = 0i64;
        for (gi, g) in graphs.iter().enumerate() {
            g.view()
                .map_err(|e| anyhow::anyhow!("graph {gi} of the batch: {e}"))?;
            if g.feature_width as usize != fw {
                bail!(
                    "graph {gi} of the batch has feature width {}, graph 0 has {fw}",
                    g.feature_width
                );
            }
            if g.edge_weight.is_some() != weighted {
                bail!("graph {gi} of the batch: either all graphs carry edge weights or none");
            }
            let n = g.row_ptr.len() - 1;
            x.extend_from_slice(&g.x);
            for v in 0..n {
                let range = g.row_ptr[v] as usize..g.row_ptr[v + 1] as usize;
                let deg = range.len();
                let total: f64 = match &g.edge_weight {
                    Some(w) => w[range.clone()].iter().map(|&a| a as f64).sum(),
                    None => 0.0,
                };
                for e in range {
                    src.push(offset + g.src[e] as i64);
                    dst.push(offset + v as i64);
                    mean_coef.push(1.0 / deg as f32);
                    if let Some(w) = &g.edge_weight {
                        act_coef.push(if total > 0.0 {
                            (w[e] as f64 / total) as f32
                        } else {
                            0.0
                        });
                    }
                }
                batch.push(gi as i64);
            }
            counts.push(n as f32);
            offset += n as i64;
        }
        let e = src.len() as i64;
        Ok(GraphBatch {
            x: Tensor::from_slice(&x)
                .view([total_nodes as i64, fw as i64])
                .to_device(device),
            src: Tensor::from_slice(&src).to_device(device),
            dst: Tensor::from_slice(&dst).to_device(device),
            mean_coef: Tensor::from_slice(&mean_coef)
                .view([e, 1])
                .to_device(device),
            activity_coef: weighted
                .then(|| Tensor::from_slice(&act_coef).view([e, 1]).to_device(device)),
            batch: Tensor::from_slice(&batch).to_device(device),
            nodes_per_graph: Tensor::from_slice(&counts)
                .view([graphs.len() as i64, 1])
                .to_device(device),
            num_graphs: graphs.len() as i64,
            num_nodes: total_nodes as i64,
        })
    }

    /// One graph.
    pub fn single(graph: &OwnedGraph, device: Device) -> Result<Self> {
        Self::from_graphs(&[graph], device)
    }

    /// The feature width.
    pub fn feature_width(&self) -> i64 {
        self.x.size()[1]
    }

    /// Sum of `values` (`[num_nodes, d]`) per graph: `[num_graphs, d]`.
    pub fn sum_per_graph(&self, values: &Tensor) -> Tensor {
        let d = values.size()[1];
        Tensor::zeros([self.num_graphs, d], (Kind::Float, values.device())).index_add(
            0,
            &self.batch,
            values,
        )
    }
}
