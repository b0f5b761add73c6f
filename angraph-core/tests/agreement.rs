//! f32 reference vs fixed point on random models and graphs, and bit-exact blob round trips.
//!
//! Stated bounds, with int16 activations, calibrated on graphs from the same distribution as the
//! test graphs: the median error is at most 1% (1.5% for the original-size random model) of the
//! spread (max - min) of the f32 predictions over the test set, every error is at most 5% (8%
//! for the original-size random model) of the largest |f32 prediction|, and the median
//! relative error is at most 1% for the small option variants and 3% for the original-size
//! model. Random weights are a harsher case than trained ones: the original-size random head
//! cancels large pooled sums down to small outputs, which magnifies int8 weight rounding.

mod common;

use angraph_core::config::{Aggr, Config, Jk, LatencyConfig, Pool, PowerConfig, Preprocess};
use angraph_core::power::{self, Energy};
use angraph_core::quantize::{Calibration, ModelF32, OwnedGraph, SplitMix64};
use angraph_core::{blob, latency, Fixed, Model, Precision};
use common::random_graph;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn latency_agreement(
    cfg: LatencyConfig,
    seed: u64,
    precision: Precision,
    median_bound: f64,
    max_bound: f64,
    spread_bound: f64,
) {
    let mut rng = SplitMix64(seed);
    let w = cfg.in_dim as u32;
    let m = ModelF32::random(Config::Latency(cfg), seed).unwrap();
    let calib: Vec<OwnedGraph> = (0..24)
        .map(|_| {
            let n = 20 + (rng.next_u64() % 120) as u32;
            random_graph(&mut rng, n, w, 2.5, 2.0)
        })
        .collect();
    let test: Vec<OwnedGraph> = (0..24)
        .map(|_| {
            let n = 20 + (rng.next_u64() % 120) as u32;
            random_graph(&mut rng, n, w, 2.5, 2.0)
        })
        .collect();
    let fb = m.to_blob().unwrap();
    let fm = Model::from_bytes(&fb).unwrap();
    let qb = m
        .quantize(&Calibration::Latency(&calib), precision, "agreement")
        .unwrap();
    let qm = Model::from_bytes(&qb).unwrap();
    let mut ys = Vec::new();
    for g in &test {
        let v = g.view().unwrap();
        let mut ws = vec![0u8; latency::required_workspace(&fm, v.num_nodes(), v.num_edges())];
        let yf = latency::predict_f32(&fm, &v, &mut ws, None).unwrap() as f64;
        let gq = g.to_fixed();
        let vq = gq.view().unwrap();
        let mut ws = vec![0u8; latency::required_workspace(&qm, vq.num_nodes(), vq.num_edges())];
        let yq = latency::predict_fixed(&qm, &vq, &mut ws).unwrap().to_f32() as f64;
        ys.push((yf, yq));
    }
    let scale = ys.iter().fold(0f64, |a, &(f, _)| a.max(f.abs()));
    let rel: Vec<f64> = ys
        .iter()
        .map(|&(f, q)| (f - q).abs() / f.abs().max(1e-3 * scale))
        .collect();
    let worst = ys.iter().fold(0f64, |a, &(f, q)| a.max((f - q).abs())) / scale;
    let med = median(rel);
    assert!(
        med <= median_bound,
        "median relative error {med} > {median_bound} ({ys:?})"
    );
    let lo = ys.iter().fold(f64::INFINITY, |a, &(f, _)| a.min(f));
    let hi = ys.iter().fold(f64::NEG_INFINITY, |a, &(f, _)| a.max(f));
    let spread_err = median(ys.iter().map(|&(f, q)| (f - q).abs()).collect()) / (hi - lo);
    assert!(
        spread_err <= spread_bound,
        "median error {spread_err} of the prediction spread"
    );
    assert!(
        worst <= max_bound,
        "worst error {worst} of max |y| > {max_bound}"
    );
}

#[test]
fn original_latency_config_agrees() {
    latency_agreement(
        LatencyConfig::original(),
        1,
        Precision::Int16,
        0.03,
        0.08,
        0.015,
    );
}

#[test]
fn latency_options_agree() {
    let variants = [
        (
            Jk::All,
            Pool::Mean,
            Aggr::ActivityMean,
            true,
            24u16,
            Preprocess::None,
        ),
        (
            Jk::Last,
            Pool::Sum,
            Aggr::Mean,
            true,
            7,
            Preprocess::ScaleByFirst,
        ),
        (
            Jk::Original,
            Pool::Mean,
            Aggr::ActivityMean,
            false,
            32,
            Preprocess::None,
        ),
        (
            Jk::All,
            Pool::Mean,
            Aggr::ActivityMean,
            true,
            35,
            Preprocess::Log2,
        ),
        (
            Jk::All,
            Pool::Mean,
            Aggr::ActivityMean,
            true,
            35,
            Preprocess::Log2Exp2,
        ),
        (
            Jk::All,
            Pool::Mean,
            Aggr::ActivityMean,
            true,
            35,
            Preprocess::Untimed,
        ),
    ];
    for (i, &(jk, pool, aggr, proj, in_dim, preprocess)) in variants.iter().enumerate() {
        let mut head = heapless::Vec::new();
        head.push(48).unwrap();
        let cfg = LatencyConfig {
            in_dim,
            width: if proj { 40 } else { in_dim },
            layers: 3,
            jk,
            pool,
            aggr,
            input_proj: proj,
            last_relu: i == 1,
            head,
            preprocess,
            max_nodes: 10_000,
        };
        latency_agreement(cfg, 10 + i as u64, Precision::Int16, 0.01, 0.05, 0.01);
    }
}

#[test]
fn int8_activations_agree_loosely() {
    latency_agreement(
        LatencyConfig::original(),
        3,
        Precision::Int8,
        0.15,
        0.5,
        0.2,
    );
}

#[test]
fn power_agrees() {
    let m = ModelF32::random(Config::Power(PowerConfig::original()), 5).unwrap();
    let mut rng = SplitMix64(6);
    let calib: Vec<f32> = (0..36 * 200).map(|_| rng.uniform(0.0, 50.0)).collect();
    let test: Vec<f32> = (0..36 * 64).map(|_| rng.uniform(0.0, 50.0)).collect();
    let fb = m.to_blob().unwrap();
    let fm = Model::from_bytes(&fb).unwrap();
    let qb = m
        .quantize(&Calibration::Power(&calib), Precision::Int16, "")
        .unwrap();
    let qm = Model::from_bytes(&qb).unwrap();
    let mut of = vec![Energy::<f32>::ZERO; 64];
    let mut ws = vec![0u8; power::required_workspace(&fm)];
    power::predict_f32(&fm, &test, &mut of, &mut ws, None).unwrap();
    let mut oq = vec![Energy::<Fixed>::ZERO; 64];
    let tq: Vec<i32> = test
        .iter()
        .map(|&v| angraph_core::fixed::feature_to_fixed(v))
        .collect();
    let mut ws = vec![0u8; power::required_workspace(&qm)];
    power::predict_fixed(&qm, &tq, &mut oq, &mut ws).unwrap();
    let scale = of.iter().fold(0f32, |a, e| a.max(e.total.abs())) as f64;
    let rel: Vec<f64> = of
        .iter()
        .zip(&oq)
        .map(|(f, q)| {
            (f.total as f64 - q.total.to_f32() as f64).abs()
                / (f.total.abs() as f64).max(1e-3 * scale)
        })
        .collect();
    let med = median(rel);
    assert!(med <= 0.01, "median relative error {med}");
}

#[test]
fn blob_round_trip_is_bit_exact() {
    for (i, cfg) in [
        Config::Latency(LatencyConfig::original()),
        Config::Power(PowerConfig::original()),
    ]
    .into_iter()
    .enumerate()
    {
        let m = ModelF32::random(cfg, 100 + i as u64).unwrap();
        let bytes = m.to_blob().unwrap();
        let model = Model::from_bytes(&bytes).unwrap();
        // Re-encode the decoded body: identical bytes, and identical tensors.
        let again = blob::encode(model.body()).unwrap();
        assert_eq!(bytes, again);
        let mut buf = vec![0u8; bytes.len()];
        let n = blob::encode_into(model.body(), &mut buf).unwrap();
        assert_eq!(&buf[..n], &bytes[..]);
        for (l, lin) in model.linears().iter().zip(&m.linears) {
            for o in 0..lin.out_dim {
                for k in 0..lin.in_dim {
                    assert_eq!(l.w_f32(o, k).to_bits(), lin.w[o * lin.in_dim + k].to_bits());
                }
                assert_eq!(l.b_f32(o).to_bits(), lin.b[o].to_bits());
            }
        }
        // Same model and seed: same bytes.
        assert_eq!(
            ModelF32::random(m.config.clone(), 100 + i as u64)
                .unwrap()
                .to_blob()
                .unwrap(),
            bytes
        );
    }
}

#[test]
fn quantization_is_deterministic_and_small() {
    let m = ModelF32::random(Config::Latency(LatencyConfig::original()), 9).unwrap();
    let mut rng = SplitMix64(1);
    let calib: Vec<OwnedGraph> = (0..4)
        .map(|_| random_graph(&mut rng, 257, 100, 2.0, 1.0))
        .collect();
    let a = m
        .quantize(&Calibration::Latency(&calib), Precision::Int16, "")
        .unwrap();
    let b = m
        .quantize(&Calibration::Latency(&calib), Precision::Int16, "")
        .unwrap();
    assert_eq!(a, b);
    assert!(
        a.len() <= 150 * 1024,
        "original-size ANGraph-L blob is {} bytes",
        a.len()
    );
    let qm = Model::from_bytes(&a).unwrap();
    let ws = latency::required_workspace(&qm, 257, 600);
    assert!(
        ws <= 110 * 1024,
        "workspace at 257 nodes, width 100: {ws} bytes"
    );
}

#[test]
fn errors_for_wrong_inputs() {
    let m = ModelF32::random(Config::Latency(LatencyConfig::original()), 2).unwrap();
    let fb = m.to_blob().unwrap();
    let fm = Model::from_bytes(&fb).unwrap();
    let mut rng = SplitMix64(3);
    let g = random_graph(&mut rng, 10, 100, 2.0, 1.0);
    let v = g.view().unwrap();
    let need = latency::required_workspace(&fm, 10, v.num_edges());
    let mut ws = vec![0u8; need - 1];
    assert!(matches!(
        latency::predict_f32(&fm, &v, &mut ws, None),
        Err(angraph_core::Error::Workspace { .. })
    ));
    let mut ws = vec![0u8; need];
    let gq = g.to_fixed();
    assert_eq!(
        latency::predict_fixed(&fm, &gq.view().unwrap(), &mut ws),
        Err(angraph_core::Error::WrongPrecision)
    );
    let narrow = random_graph(&mut rng, 10, 99, 2.0, 1.0);
    assert!(matches!(
        latency::predict_f32(&fm, &narrow.view().unwrap(), &mut ws, None),
        Err(angraph_core::Error::FeatureWidth { .. })
    ));
    let mut out = [Energy::<f32>::ZERO];
    assert_eq!(
        power::predict_f32(&fm, &[0.0; 36], &mut out, &mut ws, None),
        Err(angraph_core::Error::WrongFamily)
    );
}
