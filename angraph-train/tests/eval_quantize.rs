//! A model trained with the tch loop, exported (standardisation folded), quantized with
//! calibration on its training graphs, keeps its accuracy on angraph-core's fixed-point path.

use angraph_core::config::Preprocess;
use angraph_core::quantize::{Calibration, OwnedGraph, SplitMix64};
use angraph_core::{latency, Model, Precision};
use angraph_train::dataset::Split;
use angraph_train::metrics::Metrics;
use angraph_train::train::data::LatencySet;
use angraph_train::train::latency::best_config;
use angraph_train::train::latency::{train, LatencyModel, LatencyRecipe};
use tch::Device;

#[test]
fn trained_model_quantizes_within_bound() {
    check(Preprocess::None, Vec::new());
}

/// The log-scale options (log2 features; log-log with a `2^y - 1` output) and an explicitly
/// dropped feature go through training, export, the f32 path and the fixed-point path alike.
#[test]
fn log_scale_models_quantize_within_bound() {
    check(Preprocess::Log2, vec![1]);
    check(Preprocess::Log2Exp2, Vec::new());
}

fn check(pre: Preprocess, drop_features: Vec<usize>) {
    tch::set_num_threads(1);
    let mut rng = SplitMix64(11);
    let (mut graphs, mut labels) = (Vec::new(), Vec::new());
    for _ in 0..300 {
        let nodes = 5 + (rng.next_u64() % 5) as u32;
        // Feature 3 sometimes sits at the Q16.16 ceiling (a saturated statistic): the trainer
        // must drop it and the quantizer must not let it set the input range.
        let x: Vec<f32> = (0..nodes * 4)
            .map(|k| {
                if k % 4 == 3 && rng.next_u64().is_multiple_of(3) {
                    32767.5
                } else {
                    rng.uniform(0.0, 3.0)
                }
            })
            .collect();
        let edges: Vec<(u32, u32)> = (0..nodes).map(|v| (v, (v + 1) % nodes)).collect();
        let w: Vec<f32> = edges
            .iter()
            .map(|_| 1.0 + (rng.next_u64() % 4) as f32)
            .collect();
        labels.push(
            20.0 + (0..nodes as usize)
                .map(|v| 2.0 * x[4 * v] - x[4 * v + 2])
                .sum::<f32>()
                / nodes as f32
                * 5.0,
        );
        graphs.push(OwnedGraph::from_coo(nodes, 4, x, &edges, Some(&w)).unwrap());
    }
    let set = LatencySet {
        name: "q".into(),
        graphs: graphs.into(),
        labels,
        estimate: None,
        unit: "ns".into(),
        splits: Split::fractions(300, 2, 0.7, 0.15).unwrap(),
    };
    let mut config = best_config(4);
    config.width = 16;
    config.layers = 2;
    config.preprocess = pre;
    let recipe = LatencyRecipe {
        config,
        dropout: 0.0,
        epochs: 25,
        batch_size: 8,
        lr: 5e-3,
        weight_decay: 0.0,
        huber_delta: 1.0,
        label_scale: 20.0,
        standardize: true,
        seed: 3,
        drop_features: drop_features.clone(),
    };
    let tmp = std::env::temp_dir().join(format!(
        "angraph_eval_quantize_{}_{pre:?}",
        std::process::id()
    ));
    let (model, out) = train(&set, &recipe, &tmp, Device::Cpu, false, false).unwrap();
    assert!(out.test.r2 > 0.8, "{:?}", out.test);
    let exported = model.export("q").unwrap();
    match &exported.meta.config {
        angraph_core::config::Config::Latency(c) => assert_eq!(c.preprocess, pre),
        _ => unreachable!(),
    }
    let mf = exported.to_model_f32().unwrap();
    // The exported tch module applies the preprocessing (and the 2^y - 1 output) itself on raw
    // features: it predicts what the training form (preprocessing on the CPU) predicted.
    let idx = set.splits.test.clone();
    let before = model.predict(&set, &idx, 64).unwrap();
    let after = LatencyModel::from_checkpoint(exported)
        .unwrap()
        .predict(&set, &idx, 64)
        .unwrap();
    for (x, y) in before.iter().zip(&after) {
        assert!(
            (x - y).abs() <= 1e-3 * x.abs().max(1.0),
            "{pre:?}: {x} vs {y}"
        );
    }
    for &j in &drop_features {
        assert!(
            mf.linears[0].w.chunks(4).all(|row| row[j] == 0.0),
            "feature {j} is read"
        );
    }
    let cal: Vec<OwnedGraph> = set
        .splits
        .train
        .iter()
        .map(|&i| set.graphs.get(i).unwrap().into_owned())
        .collect();
    let blob = mf
        .quantize(&Calibration::Latency(&cal), Precision::Int16, "t")
        .unwrap();
    let q = Model::from_bytes(&blob).unwrap();
    let f_blob = mf.to_blob().unwrap();
    let f = Model::from_bytes(&f_blob).unwrap();
    let (mut pf, mut px, mut t) = (Vec::new(), Vec::new(), Vec::new());
    let mut ws = vec![0u8; 1 << 20];
    for &i in &set.splits.test {
        let g = set.graphs.get(i).unwrap();
        pf.push(latency::predict_f32(&f, &g.view().unwrap(), &mut ws, None).unwrap() * 20.0);
        let fx = g.to_fixed();
        px.push(
            latency::predict_fixed(&q, &fx.view().unwrap(), &mut ws)
                .unwrap()
                .to_f32()
                * 20.0,
        );
        t.push(set.labels[i]);
    }
    let (mf32, mfix) = (Metrics::of(&pf, &t), Metrics::of(&px, &t));
    // angraph-core's f32 path agrees with the tch model.
    assert!(
        (mf32.r2 - out.test.r2).abs() < 1e-3,
        "{mf32:?} vs {:?}",
        out.test
    );
    // Fixed point stays within 0.005 R^2 of f32.
    assert!(
        (mf32.r2 - mfix.r2).abs() < 0.005,
        "f32 {mf32:?} fixed {mfix:?}"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
