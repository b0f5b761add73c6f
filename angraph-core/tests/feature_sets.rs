//! Feature set 2 appends two columns to set 1: a set-1 model (35 inputs) gives on a set-2 graph
//! (37 columns) exactly what it gives on the graph's set-1 prefix, in f32 and fixed point, and a
//! graph narrower than the model is refused.

mod common;

use angraph_core::config::{Config, LatencyConfig, Preprocess};
use angraph_core::features::{NODE_FEATURES, V1_NODE_FEATURES};
use angraph_core::quantize::{Calibration, ModelF32, OwnedGraph, SplitMix64};
use angraph_core::{latency, Error, Model, Precision};
use common::random_graph;

/// `g` cut to its first `w` feature columns.
fn prefix(g: &OwnedGraph, w: usize) -> OwnedGraph {
    let fw = g.feature_width as usize;
    let mut p = g.clone();
    p.x = g.x.chunks_exact(fw).flat_map(|r| r[..w].to_vec()).collect();
    p.feature_width = w as u32;
    p
}

#[test]
fn a_set_1_model_reads_the_set_1_prefix_of_a_set_2_graph() {
    assert_eq!((V1_NODE_FEATURES, NODE_FEATURES), (35, 37));
    let mut rng = SplitMix64(7);
    let mut cfg = LatencyConfig::original();
    cfg.in_dim = V1_NODE_FEATURES as u16;
    cfg.width = 24;
    cfg.input_proj = true;
    cfg.preprocess = Preprocess::Log2;
    let m = ModelF32::random(Config::Latency(cfg.clone()), 3).unwrap();
    let wide: Vec<OwnedGraph> = (0..6)
        .map(|_| random_graph(&mut rng, 30, NODE_FEATURES as u32, 2.0, 3.0))
        .collect();
    let narrow: Vec<OwnedGraph> = wide.iter().map(|g| prefix(g, V1_NODE_FEATURES)).collect();
    let fb = m.to_blob().unwrap();
    let fm = Model::from_bytes(&fb).unwrap();
    let qb = m
        .quantize(&Calibration::Latency(&narrow), Precision::Int16, "sets")
        .unwrap();
    let qm = Model::from_bytes(&qb).unwrap();
    for (w, n) in wide.iter().zip(&narrow) {
        let (vw, vn) = (w.view().unwrap(), n.view().unwrap());
        let mut ws = vec![0u8; latency::required_workspace(&fm, 30, vw.num_edges())];
        let a = latency::predict_f32(&fm, &vw, &mut ws, None).unwrap();
        let b = latency::predict_f32(&fm, &vn, &mut ws, None).unwrap();
        assert_eq!(a.to_bits(), b.to_bits());
        let (fw, fnar) = (w.to_fixed(), n.to_fixed());
        let mut ws = vec![0u8; latency::required_workspace(&qm, 30, vw.num_edges())];
        let a = latency::predict_fixed(&qm, &fw.view().unwrap(), &mut ws).unwrap();
        let b = latency::predict_fixed(&qm, &fnar.view().unwrap(), &mut ws).unwrap();
        assert_eq!(a, b);
    }
    // A set-2 model on a set-1 graph: refused, naming the widths.
    let mut cfg2 = cfg;
    cfg2.in_dim = NODE_FEATURES as u16;
    let m2 = ModelF32::random(Config::Latency(cfg2), 4).unwrap();
    let b2 = m2.to_blob().unwrap();
    let m2 = Model::from_bytes(&b2).unwrap();
    let v = narrow[0].view().unwrap();
    let mut ws = vec![0u8; latency::required_workspace(&m2, 30, v.num_edges())];
    assert_eq!(
        latency::predict_f32(&m2, &v, &mut ws, None),
        Err(Error::FeatureWidth {
            expected: 37,
            found: 35
        })
    );
}
