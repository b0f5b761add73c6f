//! Models of untimed streams (`--preprocess untimed`): the DFG JSON form of a stream is its
//! timed form without exactly `DFG_ABSENT_FEATURES`, and a trained, quantized untimed model
//! predicts the same latency from both forms (a timed model does not).

mod common;

use angraph_core::config::{Config, Preprocess};
use angraph_core::features::{DFG_ABSENT_FEATURES, NODE_FEATURES, NODE_FEATURE_NAMES};
use angraph_core::quantize::OwnedGraph;
use angraph_core::{latency, Model};
use angraph_train::dataset::graph::GraphRecord;
use angraph_train::dataset::Split;
use angraph_train::nn::Checkpoint;
use angraph_train::stream::Stream;
use angraph_train::train::data::LatencySet;
use angraph_train::train::latency::LatencyModel;
use common::{angraph, root, tmp};
use tch::Device;

const STREAMS: [&str; 2] = ["digits_4x4_sample0", "digits_2x2_sample0"];

/// The (DFG form, timed form) graphs of a committed stream.
fn graphs(name: &str) -> (GraphRecord, GraphRecord) {
    let dir = root().join("data/streams");
    let timed = Stream::read(&dir.join(format!("{name}.timed.json"))).unwrap();
    let dfg = Stream::read(&dir.join(format!("{name}.dfg.json"))).unwrap();
    assert!(timed.header.is_some() && dfg.header.is_none());
    (dfg.to_graph().unwrap(), timed.to_graph().unwrap())
}

/// Empirically: which columns differ between the two forms' transforms? Exactly the absent
/// ones, and the DFG form has 0 there.
#[test]
fn dfg_form_is_the_timed_form_without_exactly_the_absent_features() {
    for name in STREAMS {
        let (d, t) = graphs(name);
        assert_eq!(d.num_nodes, t.num_nodes, "{name}");
        assert_eq!(d.components, t.components, "{name}");
        assert_eq!(d.edges, t.edges, "{name}");
        assert_eq!(d.activities, t.activities, "{name}");
        let w = NODE_FEATURES;
        let mut differs = [false; NODE_FEATURES];
        for (rd, rt) in d.x_fixed.chunks(w).zip(t.x_fixed.chunks(w)) {
            for k in 0..w {
                if DFG_ABSENT_FEATURES.contains(&k) {
                    assert_eq!(rd[k], 0, "{name}: DFG form, {}", NODE_FEATURE_NAMES[k]);
                }
                differs[k] |= rd[k] != rt[k];
            }
        }
        let found: Vec<usize> = (0..w).filter(|&k| differs[k]).collect();
        assert_eq!(
            found,
            DFG_ABSENT_FEATURES,
            "{name}: columns that differ: {:?}",
            found
                .iter()
                .map(|&k| NODE_FEATURE_NAMES[k])
                .collect::<Vec<_>>()
        );
    }
}

fn owned(g: &GraphRecord) -> OwnedGraph {
    let acts: Vec<f32> = g.activities.iter().map(|&a| a as f32).collect();
    OwnedGraph::from_coo(
        g.num_nodes,
        NODE_FEATURES as u32,
        g.x_f32(),
        &g.edges,
        Some(&acts),
    )
    .unwrap()
}

fn fixed_prediction(blob: &[u8], g: &GraphRecord) -> i32 {
    let m = Model::from_bytes(blob).unwrap();
    let gf = owned(g).to_fixed();
    let v = gf.view().unwrap();
    let mut ws = vec![0u8; latency::required_workspace(&m, v.num_nodes(), v.num_edges())];
    latency::predict_fixed(&m, &v, &mut ws).unwrap().raw
}

/// The exported tch module's predictions for `graphs`.
fn tch_predictions(ck: Checkpoint, graphs: Vec<OwnedGraph>) -> Vec<f32> {
    let n = graphs.len();
    let set = LatencySet {
        name: "forms".into(),
        graphs: graphs.into(),
        labels: vec![1.0; n],
        estimate: None,
        unit: "ns".into(),
        splits: Split::fractions(n, 1, 0.5, 0.25).unwrap(),
    };
    let idx: Vec<usize> = (0..n).collect();
    LatencyModel::from_checkpoint(ck)
        .unwrap()
        .predict(&set, &idx, n)
        .unwrap()
}

/// A tiny `angraph train latency --preprocess untimed` run, then `angraph quantize`: the model
/// keeps the variant, learns something, and gives the same fixed-point latency (and the same
/// tch prediction) for the DFG form and the timed form of both committed streams. The same
/// run with `--preprocess log2exp2` does not, so the comparison can fail.
#[test]
fn trained_untimed_model_predicts_the_same_from_both_forms() {
    tch::set_num_threads(1);
    let dir = tmp("untimed-train");
    let data = "data/samples/digits_4x4_tsmc28";
    let mut blobs = Vec::new();
    for pre in ["untimed", "log2exp2"] {
        let run = dir.join(pre);
        let save = dir.join(format!("m_{pre}"));
        let (ok, out, err) = angraph(&[
            "train",
            "latency",
            "--data",
            data,
            "--out",
            run.to_str().unwrap(),
            "--preprocess",
            pre,
            "--epochs",
            "4",
            "--seed",
            "3",
            "--threads",
            "1",
            "--quiet",
            "--save",
            save.to_str().unwrap(),
        ]);
        assert!(ok, "{out}\n{err}");
        let st = save.with_extension("safetensors");
        let ck = Checkpoint::load(&st, Device::Cpu).unwrap();
        let Config::Latency(c) = &ck.meta.config else {
            panic!("not ANGraph-L")
        };
        let want = if pre == "untimed" {
            Preprocess::Untimed
        } else {
            Preprocess::Log2Exp2
        };
        assert_eq!(c.preprocess, want);
        // The tch module (training forward, eval mode) on both forms of both streams.
        let forms: Vec<OwnedGraph> = STREAMS
            .iter()
            .flat_map(|n| {
                let (d, t) = graphs(n);
                [owned(&d), owned(&t)]
            })
            .collect();
        let p = tch_predictions(ck, forms);
        let same = p[0] == p[1] && p[2] == p[3];
        assert_eq!(same, pre == "untimed", "{pre}: tch predictions {p:?}");
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(save.with_extension("json")).unwrap()).unwrap();
        let r2 = report["outcome"]["test"]["r2"].as_f64().unwrap();
        assert!(r2 > 0.0, "{pre}: test R^2 {r2} after 4 epochs");
        let (ok, out, err) = angraph(&[
            "quantize",
            "--model",
            st.to_str().unwrap(),
            "--data",
            data,
            "--calib",
            "64",
        ]);
        assert!(ok, "{out}\n{err}");
        blobs.push(std::fs::read(save.with_extension("angq")).unwrap());
    }
    let mut timed_differs = false;
    for name in STREAMS {
        let (d, t) = graphs(name);
        let (yd, yt) = (
            fixed_prediction(&blobs[0], &d),
            fixed_prediction(&blobs[0], &t),
        );
        assert_eq!(yd, yt, "{name}: untimed model, DFG vs timed form");
        assert!(yd > 0, "{name}: {yd}");
        timed_differs |= fixed_prediction(&blobs[1], &d) != fixed_prediction(&blobs[1], &t);
    }
    assert!(
        timed_differs,
        "the log2exp2 model should see the timing features"
    );
    // `angraph estimate` on both forms prints the same ANGraph-L latency, and no note.
    let blob = dir.join("m_untimed.angq");
    let line = |form: &str| {
        let s = format!("data/streams/digits_4x4_sample0.{form}.json");
        let (ok, out, err) = angraph(&[
            "estimate",
            "--stream",
            &s,
            "--latency-model",
            blob.to_str().unwrap(),
        ]);
        assert!(ok, "{out}\n{err}");
        assert!(!out.contains("note: this latency model"), "{out}");
        out.lines()
            .find(|l| l.contains("ANGraph-L (fixed point)"))
            .unwrap_or_else(|| panic!("{out}"))
            .to_string()
    };
    assert_eq!(line("dfg"), line("timed"));
    let _ = std::fs::remove_dir_all(&dir);
}
