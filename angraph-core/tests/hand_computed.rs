//! Small models whose outputs are computed by hand (formulas in the comments), on both paths.

mod common;

use angraph_core::config::{Aggr, Config, Jk, LatencyConfig, Pool, PowerConfig, Preprocess, Stage};
use angraph_core::power::{self, Energy};
use angraph_core::quantize::{BatchNorm, Calibration, LinearF32, ModelF32, OwnedGraph};
use angraph_core::{latency, Model, Precision};

fn lat_config(width: u16, layers: u8, jk: Jk, pool: Pool, aggr: Aggr) -> LatencyConfig {
    LatencyConfig {
        in_dim: width,
        width,
        layers,
        jk,
        pool,
        aggr,
        input_proj: false,
        last_relu: false,
        head: heapless::Vec::new(),
        preprocess: Preprocess::None,
        max_nodes: 1000,
    }
}

fn run_both(m: &ModelF32, g: &OwnedGraph) -> (f32, f32) {
    let fb = m.to_blob().unwrap();
    let fm = Model::from_bytes(&fb).unwrap();
    let v = g.view().unwrap();
    let mut ws = vec![0u8; latency::required_workspace(&fm, v.num_nodes(), v.num_edges())];
    let yf = latency::predict_f32(&fm, &v, &mut ws, None).unwrap();
    let qb = m
        .quantize(
            &Calibration::Latency(std::slice::from_ref(g)),
            Precision::Int16,
            "test",
        )
        .unwrap();
    let qm = Model::from_bytes(&qb).unwrap();
    let gf = g.to_fixed();
    let vf = gf.view().unwrap();
    let mut ws = vec![0u8; latency::required_workspace(&qm, vf.num_nodes(), vf.num_edges())];
    let yq = latency::predict_fixed(&qm, &vf, &mut ws).unwrap().to_f32();
    (yf, yq)
}

/// SAGE mean over incoming edges: zero in-degree gives 0, a self loop counts as a neighbour,
/// duplicate edges count twice.
#[test]
fn sage_mean_aggregation_by_hand() {
    let cfg = lat_config(2, 1, Jk::Last, Pool::Sum, Aggr::Mean);
    // SAGE over [mean0, mean1, self0, self1]: out0 = mean0, out1 = self1. Head: y = out0 + out1.
    let sage = LinearF32::new(4, 2, vec![1., 0., 0., 0., 0., 0., 0., 1.], vec![0., 0.]).unwrap();
    let head = LinearF32::new(2, 1, vec![1., 1.], vec![0.]).unwrap();
    let m = ModelF32::new(Config::Latency(cfg), vec![sage, head], 1.0, "", "hand").unwrap();
    let x = vec![1., 10., 2., 20., 4., 40., 8., 80.];
    // 0->1, 2->1, 1->1 (self loop), 0->2, 3->2, 3->2 (duplicate); nodes 0 and 3 have no inputs.
    let edges = [(0, 1), (2, 1), (1, 1), (0, 2), (3, 2), (3, 2)];
    let g = OwnedGraph::from_coo(4, 2, x, &edges, None).unwrap();
    // mean0: node0 0, node1 (1+4+2)/3, node2 (1+8+8)/3, node3 0; sum of self1 = 150.
    let expected = (1. + 4. + 2.) / 3. + (1. + 8. + 8.) / 3. + 150.;
    let (yf, yq) = run_both(&m, &g);
    assert!((yf - expected).abs() < 1e-4, "f32 {yf} vs {expected}");
    assert!(
        (yq - expected).abs() / expected < 2e-3,
        "fixed {yq} vs {expected}"
    );
}

/// Activity-weighted mean: sum(w_e h_u) / sum(w_e); all-zero weights give 0.
#[test]
fn activity_weighted_mean_by_hand() {
    let cfg = lat_config(1, 1, Jk::Last, Pool::Sum, Aggr::ActivityMean);
    let sage = LinearF32::new(2, 1, vec![1., 0.], vec![0.]).unwrap();
    let head = LinearF32::new(1, 1, vec![1.], vec![0.]).unwrap();
    let m = ModelF32::new(Config::Latency(cfg), vec![sage, head], 1.0, "", "hand").unwrap();
    // node 2 receives from 0 (w 1) and 1 (w 3); node 0 receives from 1 with weight 0.
    let g = OwnedGraph::from_coo(
        3,
        1,
        vec![2., 6., 100.],
        &[(0, 2), (1, 2), (1, 0)],
        Some(&[1., 3., 0.]),
    )
    .unwrap();
    let expected = (1. * 2. + 3. * 6.) / 4.;
    let (yf, yq) = run_both(&m, &g);
    assert!((yf - expected).abs() < 1e-5, "f32 {yf}");
    assert!((yq - expected).abs() / expected < 2e-3, "fixed {yq}");
}

/// The original's JK quirk (h_0 + h_1, last layer dead), BatchNorm folding, ReLU, mean pooling.
#[test]
fn jk_original_batchnorm_and_mean_pool_by_hand() {
    let cfg = lat_config(1, 2, Jk::Original, Pool::Mean, Aggr::Mean);
    let (a, b, bias) = (0.5f32, 1.0f32, 0.25f32);
    let (gamma, beta, mu, var) = (2.0f32, 0.1f32, 0.5f32, 3.0f32);
    let bn = BatchNorm {
        gamma: &[gamma],
        beta: &[beta],
        mean: &[mu],
        var: &[var],
        eps: 1e-5,
    };
    let sage = LinearF32::sage(1, 1, &[a], &[bias], &[b], Some(bn)).unwrap();
    let head = LinearF32::new(1, 1, vec![2.0], vec![1.0]).unwrap();
    // Only one SAGE layer is stored: the second one's output never reaches the prediction.
    let m = ModelF32::new(Config::Latency(cfg), vec![sage, head], 1.0, "", "hand").unwrap();
    let x = [1.0f64, -2.0, 3.0];
    let g = OwnedGraph::from_coo(
        3,
        1,
        x.iter().map(|&v| v as f32).collect(),
        &[(0, 1), (1, 2), (2, 0)],
        None,
    )
    .unwrap();
    let k = gamma as f64 / (var as f64 + 1e-5).sqrt();
    let h1 = |mean: f64, own: f64| {
        (k * (a as f64 * mean + b as f64 * own + bias as f64 - mu as f64) + beta as f64).max(0.0)
    };
    let reps = [
        x[0] + h1(x[2], x[0]),
        x[1] + h1(x[0], x[1]),
        x[2] + h1(x[1], x[2]),
    ];
    let expected = (2.0 * reps.iter().sum::<f64>() / 3.0 + 1.0) as f32;
    let (yf, yq) = run_both(&m, &g);
    assert!((yf - expected).abs() < 1e-5, "f32 {yf} vs {expected}");
    assert!(
        (yq - expected).abs() / expected < 2e-3,
        "fixed {yq} vs {expected}"
    );
}

/// Residual block `relu(lin2(relu(lin1 x)) + x)` and two heads with total = sum.
#[test]
fn residual_block_and_heads_by_hand() {
    let mut stages = heapless::Vec::new();
    stages
        .push(Stage {
            width: 2,
            blocks: 1,
        })
        .unwrap();
    let cfg = PowerConfig {
        in_dim: 2,
        stages,
        heads: 2,
    };
    let l = |i, o, w: &[f32], b: &[f32]| LinearF32::new(i, o, w.to_vec(), b.to_vec()).unwrap();
    let m = ModelF32::new(
        Config::Power(cfg),
        vec![
            l(2, 2, &[1., 0., 0., 1.], &[0., 0.]),
            l(2, 2, &[1., 1., 0., -1.], &[0., 0.]),
            l(2, 2, &[1., 0., 0., 1.], &[-1., 0.]),
            l(2, 1, &[1., 0.], &[0.]),
            l(2, 1, &[0., 1.], &[0.5]),
        ],
        1.0,
        "pJ",
        "hand",
    )
    .unwrap();
    // x=[2,3]: entry [2,3]; t=relu([5,-3])=[5,0]; lin2=[4,0]; +x -> [6,3]; heads 6, 3.5.
    // x=[1,-1]: entry [1,0]; t=[1,0]; lin2=[0,0]; +x -> [1,0]; heads 1, 0.5.
    let input = [2f32, 3., 1., -1.];
    let expected = [(6.0f32, 3.5f32), (1.0, 0.5)];
    let fb = m.to_blob().unwrap();
    let fm = Model::from_bytes(&fb).unwrap();
    let mut out = vec![Energy::<f32>::ZERO; 2];
    let mut ws = vec![0u8; power::required_workspace(&fm)];
    power::predict_f32(&fm, &input, &mut out, &mut ws, None).unwrap();
    for (o, &(d, s)) in out.iter().zip(&expected) {
        assert_eq!((o.heads[0], o.heads[1], o.total, o.len), (d, s, d + s, 2));
    }
    let qb = m
        .quantize(&Calibration::Power(&input), Precision::Int16, "")
        .unwrap();
    let qm = Model::from_bytes(&qb).unwrap();
    let fixed: Vec<i32> = input
        .iter()
        .map(|&v| angraph_core::fixed::feature_to_fixed(v))
        .collect();
    let mut out = vec![Energy::<angraph_core::Fixed>::ZERO; 2];
    let mut ws = vec![0u8; power::required_workspace(&qm)];
    power::predict_fixed(&qm, &fixed, &mut out, &mut ws).unwrap();
    for (o, &(d, s)) in out.iter().zip(&expected) {
        assert!((o.heads[0].to_f32() - d).abs() < 2e-3 * 6.0, "{:?}", o);
        assert!((o.heads[1].to_f32() - s).abs() < 2e-3 * 6.0, "{:?}", o);
        assert_eq!(o.total.raw, o.heads[0].raw + o.heads[1].raw);
    }
}

#[test]
fn sum_pool_counts_every_node() {
    // width 1, JK over all layers (h_0 + h_1), sum pool: y = sum_v x_v + sum_v relu?(mean).
    let mut cfg = lat_config(1, 1, Jk::All, Pool::Sum, Aggr::Mean);
    cfg.last_relu = true;
    let sage = LinearF32::new(2, 1, vec![0., -1.], vec![0.]).unwrap(); // h1 = relu(-x)
    let head = LinearF32::new(1, 1, vec![1.], vec![0.]).unwrap();
    let m = ModelF32::new(Config::Latency(cfg), vec![sage, head], 1.0, "", "hand").unwrap();
    let g = OwnedGraph::from_coo(4, 1, vec![1., -2., 3., -4.], &[], None).unwrap();
    let expected = (1. - 2. + 3. - 4.) + (2. + 4.);
    let (yf, yq) = run_both(&m, &g);
    assert!((yf - expected).abs() < 1e-6, "f32 {yf}");
    assert!((yq - expected).abs() < 2e-2, "fixed {yq}");
}
