//! ANGraph-L as a tch module, with the original PyTorch-Geometric key names.
//!
//! Forward (eval), exactly what `angraph_core::latency` computes with the BatchNorm folded:
//! `h_0 = [input_proj](pre(x))`; for each computed layer `i`:
//! `h_{i+1} = dropout(act(BN_i(SAGE_i(h_i))))` with
//! `SAGE(h)[v] = lin_l(agg_{u->v} h[u]) + lin_r(h[v])`; node representation = sum of the JK terms;
//! graph representation = sum (or mean) over the graph's nodes; head = `Linear + ReLU` per hidden
//! width, then `Linear(.., 1)`.
//!
//! Keys: `input_proj.{weight,bias}` (only with an input projection; not in the original),
//! `convs.<i>.lin_l.{weight,bias}`, `convs.<i>.lin_r.weight`,
//! `batch_norms.<i>.module.{weight,bias,running_mean,running_var}`,
//! `graph_pred_linear.<j>.{weight,bias}`. Under `Jk::Original` the last layer is declared (so the
//! original checkpoints load and save unchanged) but never computed: its output is not used.

use std::collections::BTreeMap;

use angraph_core::config::{Aggr, Config, Jk, LatencyConfig, Pool, Preprocess};
use angraph_core::features::SPAN_FEATURE;
use angraph_core::quantize::{BatchNorm, LinearF32, ModelF32};
use anyhow::{bail, Context, Result};
use tch::nn::{self, ModuleT};
use tch::{Kind, Tensor};

use super::{batch_norm, linear, linear_f32, to_vec_f32, GraphBatch, BN_EPS};

/// One GraphSAGE layer: `lin_l(aggregated neighbours) + lin_r(self)` (`lin_r` has no bias).
#[derive(Debug)]
pub struct SageConv {
    /// Applied to the aggregated incoming messages (with bias).
    pub lin_l: nn::Linear,
    /// Applied to the node itself (no bias).
    pub lin_r: nn::Linear,
}

impl SageConv {
    /// `convs.<i>` at `path`.
    pub fn new(path: &nn::Path<'_>, in_dim: i64, out_dim: i64) -> Self {
        SageConv {
            lin_l: linear(&(path / "lin_l"), in_dim, out_dim, true),
            lin_r: linear(&(path / "lin_r"), in_dim, out_dim, false),
        }
    }

    /// `h` is `[num_nodes, in]`; `coef` is the batch's per-edge aggregation coefficient.
    pub fn forward(&self, h: &Tensor, batch: &GraphBatch, coef: &Tensor) -> Tensor {
        let messages = h.index_select(0, &batch.src) * coef;
        let agg = h.zeros_like().index_add(0, &batch.dst, &messages);
        agg.apply(&self.lin_l) + h.apply(&self.lin_r)
    }
}

/// ANGraph-L (see the module documentation).
#[derive(Debug)]
pub struct LatencyNet {
    config: LatencyConfig,
    /// Dropout probability after each message-passing layer in training (the original: 0.5).
    pub dropout: f64,
    /// `input_proj` (only when the configuration asks for it).
    pub input_proj: Option<nn::Linear>,
    /// `convs.<i>`, all `config.layers` of them.
    pub convs: Vec<SageConv>,
    /// `batch_norms.<i>.module`.
    pub batch_norms: Vec<nn::BatchNorm>,
    /// `graph_pred_linear.<j>`: hidden layers then the output layer.
    pub head: Vec<nn::Linear>,
}

impl LatencyNet {
    /// Declare the variables of `config` under `path` (PyTorch-like initialisation).
    pub fn new(path: &nn::Path<'_>, config: &LatencyConfig) -> Result<Self> {
        config
            .validate()
            .map_err(|e| anyhow::anyhow!("latency configuration: {e}"))?;
        let w = config.width as i64;
        let input_proj = config
            .input_proj
            .then(|| linear(&(path / "input_proj"), config.in_dim as i64, w, true));
        let mut convs = Vec::new();
        let mut batch_norms = Vec::new();
        for i in 0..config.layers as usize {
            convs.push(SageConv::new(&(path / "convs" / i), w, w));
            batch_norms.push(batch_norm(&(path / "batch_norms" / i / "module"), w));
        }
        let mut head = Vec::new();
        let mut prev = w;
        let hp = path / "graph_pred_linear";
        for (j, &d) in config.head.iter().enumerate() {
            head.push(linear(&(&hp / j), prev, d as i64, true));
            prev = d as i64;
        }
        head.push(linear(&(&hp / config.head.len()), prev, 1, true));
        Ok(LatencyNet {
            config: config.clone(),
            dropout: 0.5,
            input_proj,
            convs,
            batch_norms,
            head,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &LatencyConfig {
        &self.config
    }

    /// Predictions `[num_graphs]` in model units. `train` switches BatchNorm to batch statistics
    /// (and updates the running ones) and enables dropout.
    pub fn forward_t(&self, batch: &GraphBatch, train: bool) -> Result<Tensor> {
        let c = &self.config;
        if batch.feature_width() < c.in_dim as i64 {
            bail!(
                "graph feature width {} is below the model's in_dim {}",
                batch.feature_width(),
                c.in_dim
            );
        }
        // A feature-set-1 model (35) reads the set-1 prefix of a set-2 graph (37), as the
        // fixed-point path does (angraph_core::features).
        let bx = if batch.feature_width() > c.in_dim as i64 {
            batch.x.narrow(1, 0, c.in_dim as i64)
        } else {
            batch.x.shallow_clone()
        };
        let coef = match c.aggr {
            Aggr::Mean => &batch.mean_coef,
            Aggr::ActivityMean => batch
                .activity_coef
                .as_ref()
                .context("activity-weighted aggregation needs edge weights (activities)")?,
        };
        let x = match c.preprocess {
            Preprocess::None => bx,
            Preprocess::ScaleByFirst => {
                let first = bx.narrow(1, 0, 1);
                let rest = bx.narrow(1, 1, c.in_dim as i64 - 1) * (&first * 2.0);
                Tensor::cat(&[first, rest], 1)
            }
            Preprocess::Log2
            | Preprocess::Log2Exp2
            | Preprocess::Log2Ratio
            | Preprocess::Untimed => {
                // Untimed: the features a DFG stream cannot give are 0 first (log2(1 + 0) = 0).
                let x = match zero_mask(c.preprocess, c.in_dim as usize) {
                    Some(m) => &bx * m.to_device(bx.device()),
                    None => bx,
                };
                // angraph_core::preprocess: e + (y / 2^e - 1) with y = 1 + |x|, e = floor(log2 y);
                // continuous at the powers of two, so rounding of `e` there does not matter.
                let y = x.abs() + 1.0;
                let e = y.log2().floor();
                let mag = &e + (&y / e.exp2() - 1.0);
                mag * x.sign()
            }
        };
        let mut h = match &self.input_proj {
            Some(p) => x.apply(p),
            None => x,
        };
        let mut jk: Option<Tensor> = c.jk_includes(0).then(|| h.shallow_clone());
        for layer in 0..c.computed_layers() {
            let i = layer as usize;
            let mut z = self.convs[i].forward(&h, batch, coef);
            z = self.batch_norms[i].forward_t(&z, train);
            if c.layer_relu(layer) {
                z = z.relu();
            }
            h = z.dropout(self.dropout, train);
            if c.jk_includes(layer + 1) {
                jk = Some(match jk {
                    Some(acc) => acc + &h,
                    None => h.shallow_clone(),
                });
            }
        }
        let node = jk.context("the JK combination selects no layer")?;
        let mut g = batch.sum_per_graph(&node);
        if c.pool == Pool::Mean {
            g /= &batch.nodes_per_graph;
        }
        let last = self.head.len() - 1;
        for lin in &self.head[..last] {
            g = g.apply(lin).relu();
        }
        let y = g.apply(&self.head[last]).view([-1]);
        Ok(match c.preprocess {
            Preprocess::Log2Exp2 | Preprocess::Untimed => exp2_m1(&y),
            Preprocess::Log2Ratio => {
                // The anchor (system-level estimate, ns) is the same on every node of a graph.
                let span = batch.x.narrow(1, SPAN_FEATURE as i64, 1);
                let anchor =
                    batch.sum_per_graph(&span).view([-1]) / &batch.nodes_per_graph.view([-1]);
                (exp2_m1(&y) + 1.0) * anchor * 1000.0
            }
            _ => y,
        })
    }

    /// Variables of the message-passing part (input projection, convs, BatchNorm affine
    /// parameters): freeze them for transfer (`set_requires_grad(false)`) and run `forward_t(..,
    /// false)` so that BatchNorm keeps its running statistics.
    pub fn message_passing_variables(&self) -> Vec<Tensor> {
        let mut v = Vec::new();
        if let Some(p) = &self.input_proj {
            v.push(p.ws.shallow_clone());
            v.extend(p.bs.as_ref().map(|b| b.shallow_clone()));
        }
        for (c, bn) in self.convs.iter().zip(&self.batch_norms) {
            v.push(c.lin_l.ws.shallow_clone());
            v.extend(c.lin_l.bs.as_ref().map(|b| b.shallow_clone()));
            v.push(c.lin_r.ws.shallow_clone());
            v.extend(bn.ws.as_ref().map(|b| b.shallow_clone()));
            v.extend(bn.bs.as_ref().map(|b| b.shallow_clone()));
        }
        v
    }

    /// The f32 model angraph-core runs: SAGE layers as one linear over `[mean | self]` with the
    /// BatchNorm (running statistics, eps 1e-5) folded in; the dead last layer of `Jk::Original`
    /// is dropped. `label_scale` x model output = label in `unit`.
    pub fn to_model_f32(&self, label_scale: f32, unit: &str, note: &str) -> Result<ModelF32> {
        let c = &self.config;
        let w = c.width as usize;
        let mut linears: Vec<LinearF32> = Vec::new();
        if let Some(p) = &self.input_proj {
            linears.push(linear_f32(p)?);
        }
        for i in 0..c.computed_layers() as usize {
            let conv = &self.convs[i];
            let bn = &self.batch_norms[i];
            let wl = to_vec_f32(&conv.lin_l.ws)?;
            let bl = match &conv.lin_l.bs {
                Some(b) => to_vec_f32(b)?,
                None => vec![0.0; w],
            };
            let wr = to_vec_f32(&conv.lin_r.ws)?;
            let gamma = match &bn.ws {
                Some(t) => to_vec_f32(t)?,
                None => vec![1.0; w],
            };
            let beta = match &bn.bs {
                Some(t) => to_vec_f32(t)?,
                None => vec![0.0; w],
            };
            let mean = to_vec_f32(&bn.running_mean)?;
            let var = to_vec_f32(&bn.running_var)?;
            let folded = LinearF32::sage(
                w,
                w,
                &wl,
                &bl,
                &wr,
                Some(BatchNorm {
                    gamma: &gamma,
                    beta: &beta,
                    mean: &mean,
                    var: &var,
                    eps: BN_EPS as f32,
                }),
            )
            .with_context(|| format!("layer {i}"))?;
            linears.push(folded);
        }
        for lin in &self.head {
            linears.push(linear_f32(lin)?);
        }
        Ok(ModelF32::new(
            Config::Latency(c.clone()),
            linears,
            label_scale,
            unit,
            note,
        )?)
    }

    /// Infer the layer count, width and head of an ANGraph-L state dict from its tensor shapes
    /// (`convs.<i>.lin_l.weight`, `graph_pred_linear.<j>.weight`, `input_proj.weight`); the
    /// options the shapes cannot tell (JK, pooling, aggregation, preprocessing, limits) come
    /// from `template` (e.g. [`LatencyConfig::original`]).
    pub fn infer_config(
        shapes: &BTreeMap<String, Vec<usize>>,
        template: &LatencyConfig,
    ) -> Result<LatencyConfig> {
        let mut layers = 0usize;
        while shapes.contains_key(&format!("convs.{layers}.lin_l.weight")) {
            layers += 1;
        }
        if layers == 0 {
            bail!("no `convs.0.lin_l.weight`: not an ANGraph-L state dict");
        }
        let s = &shapes["convs.0.lin_l.weight"];
        if s.len() != 2 || s[0] != s[1] {
            bail!("`convs.0.lin_l.weight` has shape {s:?}, expected [width, width]");
        }
        let width = s[0];
        let in_dim = match shapes.get("input_proj.weight") {
            Some(p) if p.len() == 2 && p[0] == width => p[1],
            Some(p) => bail!("`input_proj.weight` has shape {p:?}, expected [{width}, in]"),
            None => width,
        };
        let mut head = heapless::Vec::new();
        let mut j = 0;
        let mut prev = width;
        loop {
            let key = format!("graph_pred_linear.{j}.weight");
            let Some(s) = shapes.get(&key) else { break };
            if s.len() != 2 || s[1] != prev {
                bail!("`{key}` has shape {s:?}, expected [out, {prev}]");
            }
            if !shapes.contains_key(&format!("graph_pred_linear.{}.weight", j + 1)) {
                if s[0] != 1 {
                    bail!(
                        "the last head layer `{key}` has {} outputs, expected 1",
                        s[0]
                    );
                }
                break;
            }
            head.push(s[0] as u16)
                .map_err(|_| anyhow::anyhow!("head has more hidden layers than supported"))?;
            prev = s[0];
            j += 1;
        }
        if j == 0 && !shapes.contains_key("graph_pred_linear.0.weight") {
            bail!("no `graph_pred_linear.0.weight`: not an ANGraph-L state dict");
        }
        let cfg = LatencyConfig {
            in_dim: in_dim as u16,
            width: width as u16,
            layers: layers as u8,
            input_proj: shapes.contains_key("input_proj.weight"),
            head,
            ..template.clone()
        };
        cfg.validate()
            .map_err(|e| anyhow::anyhow!("inferred configuration: {e}"))?;
        Ok(cfg)
    }
}

/// The original JK quirk as text, for reports.
pub fn jk_name(jk: Jk) -> &'static str {
    match jk {
        Jk::Original => "original (h_0 + ... + h_{L-1}; last layer unused)",
        Jk::All => "all (h_0 + ... + h_L)",
        Jk::Last => "last (h_L)",
    }
}

/// Mean absolute value of a float tensor (a small helper for reports and tests).
pub fn mean_abs(t: &Tensor) -> f64 {
    t.abs().mean(Kind::Float).double_value(&[])
}

/// `[1, width]` of 0 where `pre` zeroes the feature
/// ([`angraph_core::preprocess::zeroes_feature`]) and 1 elsewhere; `None` when it zeroes none.
pub fn zero_mask(pre: Preprocess, width: usize) -> Option<Tensor> {
    let m: Vec<f32> = (0..width)
        .map(|k| {
            if angraph_core::preprocess::zeroes_feature(pre, k) {
                0.0
            } else {
                1.0
            }
        })
        .collect();
    m.contains(&0.0)
        .then(|| Tensor::from_slice(&m).view([1, width as i64]))
}

/// `2^y - 1` with `2^y` linear between integer powers (angraph_core::preprocess::exp2_m1_f32).
pub fn exp2_m1(y: &Tensor) -> Tensor {
    let e = y.floor();
    (y - &e + 1.0) * e.exp2() - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use angraph_core::quantize::OwnedGraph;
    use tch::Device;

    fn set(t: &Tensor, v: &[f32]) {
        tch::no_grad(|| {
            let src = Tensor::from_slice(v).view(t.size().as_slice());
            t.shallow_clone().copy_(&src);
        });
    }

    /// A width-2, 2-layer model with hand-set weights on a 3-node graph, computed by hand.
    #[test]
    fn hand_computed_two_layer_model() {
        let mut head = heapless::Vec::new();
        head.push(2).unwrap();
        let cfg = LatencyConfig {
            in_dim: 2,
            width: 2,
            layers: 2,
            jk: Jk::All,
            pool: Pool::Sum,
            aggr: Aggr::Mean,
            input_proj: false,
            last_relu: false,
            head,
            preprocess: Preprocess::None,
            max_nodes: 16,
        };
        let vs = nn::VarStore::new(Device::Cpu);
        let net = LatencyNet::new(&vs.root(), &cfg).unwrap();
        // Layer 0: lin_l = I, b = 0; lin_r = 0  => h1[v] = relu(mean of in-neighbours)
        // Layer 1: lin_l = 0, b = (1, -1); lin_r = 2I => h2[v] = 2 h1[v] + (1, -1) (no ReLU)
        set(&net.convs[0].lin_l.ws, &[1., 0., 0., 1.]);
        set(net.convs[0].lin_l.bs.as_ref().unwrap(), &[0., 0.]);
        set(&net.convs[0].lin_r.ws, &[0., 0., 0., 0.]);
        set(&net.convs[1].lin_l.ws, &[0., 0., 0., 0.]);
        set(net.convs[1].lin_l.bs.as_ref().unwrap(), &[1., -1.]);
        set(&net.convs[1].lin_r.ws, &[2., 0., 0., 2.]);
        // BN 0 default; BN 1: gamma 2, var 3 => y = 2 (x - 1) / sqrt(3 + 1e-5) + 0.5 on channel 0.
        set(net.batch_norms[1].ws.as_ref().unwrap(), &[2., 1.]);
        set(net.batch_norms[1].bs.as_ref().unwrap(), &[0.5, 0.]);
        set(&net.batch_norms[1].running_mean, &[1., 0.]);
        set(&net.batch_norms[1].running_var, &[3., 1.]);
        // Head: Linear(2->2) = I with bias 0, ReLU, Linear(2->1) = (1, 10), bias 0.25.
        set(&net.head[0].ws, &[1., 0., 0., 1.]);
        set(net.head[0].bs.as_ref().unwrap(), &[0., 0.]);
        set(&net.head[1].ws, &[1., 10.]);
        set(net.head[1].bs.as_ref().unwrap(), &[0.25]);
        // Graph: x0 = (1, 2), x1 = (3, -4), x2 = (5, 6); edges 0->2, 1->2, 2->2 (self loop), 0->1.
        let g = OwnedGraph::from_coo(
            3,
            2,
            vec![1., 2., 3., -4., 5., 6.],
            &[(0, 2), (1, 2), (2, 2), (0, 1)],
            None,
        )
        .unwrap();
        // h1: node0 has no in-edges -> (0,0); node1 <- 0 -> (1,2); node2 <- {0,1,2} -> (3,4/3);
        // then the default BatchNorm (mean 0, var 1) divides by sqrt(1 + eps), then ReLU.
        let eps = 1e-5f64;
        let s = 1.0 / (1.0 + eps).sqrt();
        let h1 = [[0f64, 0.], [s, 2. * s], [3. * s, 4. / 3. * s]];
        // h2 before BN: 2 h1 + (1, -1); BN: ch0 -> 2 (x - 1)/sqrt(3+eps) + 0.5, ch1 -> x/sqrt(1+eps).
        let h2: Vec<[f64; 2]> = h1
            .iter()
            .map(|h| {
                let z = [2. * h[0] + 1., 2. * h[1] - 1.];
                [
                    2. * (z[0] - 1.) / (3. + eps).sqrt() + 0.5,
                    z[1] / (1. + eps).sqrt(),
                ]
            })
            .collect();
        let x = [[1f64, 2.], [3., -4.], [5., 6.]];
        let mut gsum = [0f64; 2];
        for v in 0..3 {
            for k in 0..2 {
                gsum[k] += x[v][k] + h1[v][k] + h2[v][k];
            }
        }
        let expected = gsum[0].max(0.) + 10. * gsum[1].max(0.) + 0.25;
        let b = GraphBatch::single(&g, Device::Cpu).unwrap();
        let y = tch::no_grad(|| net.forward_t(&b, false).unwrap());
        let got = y.double_value(&[0]);
        assert!(
            (got - expected).abs() < 1e-4 * expected.abs().max(1.0),
            "{got} vs {expected}"
        );

        // The folded angraph-core f32 model gives the same number.
        let m = net.to_model_f32(1.0, "", "hand").unwrap();
        let blob = m.to_blob().unwrap();
        let model = angraph_core::Model::from_bytes(&blob).unwrap();
        let view = g.view().unwrap();
        let mut ws = vec![0u8; angraph_core::latency::required_workspace(&model, 3, 4)];
        let core = angraph_core::latency::predict_f32(&model, &view, &mut ws, None).unwrap();
        assert!(
            (core as f64 - expected).abs() < 1e-4 * expected.abs(),
            "{core} vs {expected}"
        );
    }

    #[test]
    fn batching_equals_one_graph_at_a_time() {
        let cfg = LatencyConfig {
            in_dim: 6,
            width: 8,
            input_proj: true,
            layers: 3,
            jk: Jk::All,
            pool: Pool::Mean,
            aggr: Aggr::ActivityMean,
            ..LatencyConfig::original()
        };
        let vs = nn::VarStore::new(Device::Cpu);
        let net = LatencyNet::new(&vs.root(), &cfg).unwrap();
        let mut rng = angraph_core::rng::SplitMix64(7);
        let graphs: Vec<OwnedGraph> = (0..4)
            .map(|i| {
                let n = 3 + i;
                let x = (0..n * 6).map(|_| rng.uniform(-1.0, 1.0)).collect();
                let edges: Vec<(u32, u32)> = (0..2 * n)
                    .map(|e| (e as u32 % n as u32, (e as u32 * 7 + 1) % n as u32))
                    .collect();
                let w: Vec<f32> = edges.iter().map(|_| rng.uniform(0.0, 3.0)).collect();
                OwnedGraph::from_coo(n as u32, 6, x, &edges, Some(&w)).unwrap()
            })
            .collect();
        let refs: Vec<&OwnedGraph> = graphs.iter().collect();
        let all = tch::no_grad(|| {
            net.forward_t(&GraphBatch::from_graphs(&refs, Device::Cpu).unwrap(), false)
                .unwrap()
        });
        for (i, g) in graphs.iter().enumerate() {
            let one = tch::no_grad(|| {
                net.forward_t(&GraphBatch::single(g, Device::Cpu).unwrap(), false)
                    .unwrap()
            });
            let (a, b) = (all.double_value(&[i as i64]), one.double_value(&[0]));
            assert!(
                (a - b).abs() < 1e-5 * b.abs().max(1.0),
                "graph {i}: {a} vs {b}"
            );
        }
    }
}
