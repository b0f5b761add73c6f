//! `Preprocess::Untimed`: the model reads nothing a TrueAsync DFG JSON stream cannot give.
//! Its f32, fixed-point and staged (streaming) predictions do not change when the timing and
//! process features ([`DFG_ABSENT_FEATURES`]) do, while the same weights under `Log2Exp2` do;
//! the other features still matter; f32 and fixed point agree.

mod common;

use angraph_core::config::{Aggr, Config, Jk, LatencyConfig, Pool, Preprocess};
use angraph_core::features::{DFG_ABSENT_FEATURES, NODE_FEATURES};
use angraph_core::latency::{self, FixedInput};
use angraph_core::quantize::{Calibration, ModelF32, OwnedGraph, SplitMix64};
use angraph_core::{Model, Precision};
use common::random_graph;

fn config(pre: Preprocess) -> LatencyConfig {
    let mut head = heapless::Vec::new();
    head.push(48).unwrap();
    LatencyConfig {
        in_dim: NODE_FEATURES as u16,
        width: 32,
        layers: 3,
        jk: Jk::All,
        pool: Pool::Mean,
        aggr: Aggr::ActivityMean,
        input_proj: true,
        last_relu: false,
        head,
        preprocess: pre,
        max_nodes: 10_000,
    }
}

/// `g` with the columns `cols` replaced by `f(rng)`.
fn with_columns(
    g: &OwnedGraph,
    cols: &[usize],
    rng: &mut SplitMix64,
    f: impl Fn(&mut SplitMix64) -> f32,
) -> OwnedGraph {
    let mut out = g.clone();
    let w = g.feature_width as usize;
    for row in out.x.chunks_mut(w) {
        for &k in cols {
            row[k] = f(rng);
        }
    }
    out
}

struct Predictions {
    f32: f32,
    fixed: i32,
}

fn predict(f: &Model<'_>, q: &Model<'_>, g: &OwnedGraph) -> Predictions {
    let v = g.view().unwrap();
    let mut ws = vec![0u8; latency::required_workspace(f, v.num_nodes(), v.num_edges())];
    let yf = latency::predict_f32(f, &v, &mut ws, None).unwrap();
    let gq = g.to_fixed();
    let vq = gq.view().unwrap();
    let mut ws = vec![0u8; latency::required_workspace(q, vq.num_nodes(), vq.num_edges())];
    let yq = latency::predict_fixed(q, &vq, &mut ws).unwrap();
    // The staged path (one feature row at a time, as on the chip) gives the same bits.
    let n = vq.num_nodes();
    let mut ws1 = vec![0u8; latency::input_workspace(q, n)];
    let mut ws2 = vec![0u8; latency::layer_workspace(q, n)];
    let mut input = FixedInput::new(q, n, &mut ws1).unwrap();
    for v in 0..n as usize {
        input.push_node(vq.node_features(v)).unwrap();
    }
    let ys = input.finish(&vq, &mut ws2).unwrap();
    assert_eq!(ys, yq, "staged vs one-shot fixed point");
    Predictions {
        f32: yf,
        fixed: yq.raw,
    }
}

#[test]
fn untimed_models_ignore_exactly_the_features_a_dfg_stream_lacks() {
    let mut rng = SplitMix64(77);
    let w = NODE_FEATURES as u32;
    let graphs: Vec<OwnedGraph> = (0..16)
        .map(|_| {
            let n = 12 + (rng.next_u64() % 60) as u32;
            random_graph(&mut rng, n, w, 2.5, 3.0)
        })
        .collect();
    let untimed = ModelF32::random(Config::Latency(config(Preprocess::Untimed)), 9).unwrap();
    let mut timed = untimed.clone();
    timed.config = Config::Latency(config(Preprocess::Log2Exp2));
    let blobs = |m: &ModelF32| {
        (
            m.to_blob().unwrap(),
            m.quantize(&Calibration::Latency(&graphs), Precision::Int16, "")
                .unwrap(),
        )
    };
    let (uf, uq) = blobs(&untimed);
    let (tf, tq) = blobs(&timed);
    let (uf, uq) = (
        Model::from_bytes(&uf).unwrap(),
        Model::from_bytes(&uq).unwrap(),
    );
    let (tf, tq) = (
        Model::from_bytes(&tf).unwrap(),
        Model::from_bytes(&tq).unwrap(),
    );
    let others: Vec<usize> = (0..NODE_FEATURES)
        .filter(|k| !DFG_ABSENT_FEATURES.contains(k))
        .collect();
    let (mut timed_moved, mut others_moved) = (0, 0);
    for g in &graphs {
        // The DFG form: the absent columns are 0; another timed stream: other values.
        let dfg = with_columns(g, &DFG_ABSENT_FEATURES, &mut rng, |_| 0.0);
        let retimed = with_columns(g, &DFG_ABSENT_FEATURES, &mut rng, |r| r.uniform(0.0, 40.0));
        let base = predict(&uf, &uq, g);
        for h in [&dfg, &retimed] {
            let p = predict(&uf, &uq, h);
            assert_eq!(p.f32.to_bits(), base.f32.to_bits(), "f32 path");
            assert_eq!(p.fixed, base.fixed, "fixed-point path");
        }
        // The same weights reading the timing features (Log2Exp2) do see the change.
        let (a, b) = (predict(&tf, &tq, g), predict(&tf, &tq, &retimed));
        timed_moved += usize::from(a.f32 != b.f32 && a.fixed != b.fixed);
        // The features a DFG stream gives still matter.
        let moved = with_columns(g, &others, &mut rng, |r| r.uniform(0.0, 3.0));
        let p = predict(&uf, &uq, &moved);
        others_moved += usize::from(p.f32 != base.f32 && p.fixed != base.fixed);
        // Output 2^head - 1: f32 and fixed point agree (int16).
        let fx = base.fixed as f64 / (1u64 << uq.out_frac_bits()) as f64;
        let f = base.f32 as f64;
        assert!(
            (fx - f).abs() <= 0.03 * f.abs().max(0.05),
            "fixed {fx} vs f32 {f}"
        );
    }
    assert_eq!(timed_moved, graphs.len());
    assert_eq!(others_moved, graphs.len());
}

#[test]
fn untimed_needs_this_projects_feature_table() {
    assert!(config(Preprocess::Untimed).validate().is_ok());
    let mut c = config(Preprocess::Untimed);
    c.in_dim = 34;
    assert!(c.validate().is_err());
    c.in_dim = 100;
    assert!(c.validate().is_err());
}

/// postcard encodes a variant by its index: `Untimed` is appended, the older ones keep theirs
/// (so blobs written before it still load).
#[test]
fn untimed_is_the_last_variant_and_older_indices_are_unchanged() {
    let all = [
        Preprocess::None,
        Preprocess::ScaleByFirst,
        Preprocess::Log2,
        Preprocess::Log2Exp2,
        Preprocess::Log2Ratio,
        Preprocess::Untimed,
    ];
    for (i, pre) in all.into_iter().enumerate() {
        let mut buf = [0u8; 4];
        let bytes = postcard::to_slice(&pre, &mut buf).unwrap();
        assert_eq!(bytes, &[i as u8][..], "{pre:?}");
        let back: Preprocess = postcard::from_bytes(bytes).unwrap();
        assert_eq!(back, pre);
    }
}
