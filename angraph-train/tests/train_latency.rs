//! ANGraph-L training on a tiny synthetic graph set: it learns, a resumed run (its second half
//! reading the graphs from disk) is byte-identical to an uninterrupted one, and the exported (standardisation folded) model predicts the same.

use angraph_core::quantize::{OwnedGraph, SplitMix64};
use angraph_train::dataset::Split;
use angraph_train::metrics::Metrics;
use angraph_train::nn::Checkpoint;
use angraph_train::train::data::LatencySet;
use angraph_train::train::graph_store::{StoreBuilder, StoreMode, StoreOptions};
use angraph_train::train::latency::best_config;
use angraph_train::train::latency::{train, LatencyModel, LatencyRecipe};
use tch::Device;

/// Graphs whose label is a smooth function of their features and activities.
fn synthetic_set(n: usize, seed: u64) -> LatencySet {
    let mut rng = SplitMix64(seed);
    let mut graphs = Vec::new();
    let mut labels = Vec::new();
    for _ in 0..n {
        let nodes = 4 + (rng.next_u64() % 6) as u32;
        let x: Vec<f32> = (0..nodes * 5).map(|_| rng.uniform(0.0, 4.0)).collect();
        let edges: Vec<(u32, u32)> = (0..2 * nodes)
            .map(|_| {
                (
                    (rng.next_u64() % nodes as u64) as u32,
                    (rng.next_u64() % nodes as u64) as u32,
                )
            })
            .collect();
        let w: Vec<f32> = edges
            .iter()
            .map(|_| 1.0 + (rng.next_u64() % 8) as f32)
            .collect();
        let label = 50.0
            + (0..nodes as usize)
                .map(|v| 3.0 * x[5 * v] + x[5 * v + 1])
                .sum::<f32>();
        graphs.push(OwnedGraph::from_coo(nodes, 5, x, &edges, Some(&w)).unwrap());
        labels.push(label);
    }
    let estimate = labels.iter().map(|&l| 0.8 * l + 5.0).collect();
    LatencySet {
        name: "synthetic".into(),
        graphs: graphs.into(),
        labels,
        estimate: Some(estimate),
        unit: "ns".into(),
        splits: Split::fractions(n, 1, 0.7, 0.15).unwrap(),
    }
}

fn recipe(set: &LatencySet, epochs: usize) -> LatencyRecipe {
    let mut config = best_config(5);
    config.width = 16;
    config.layers = 2;
    // The synthetic label sums over nodes: sum pooling.
    config.pool = angraph_core::config::Pool::Sum;
    config.head.clear();
    config.head.push(16).unwrap();
    LatencyRecipe {
        config,
        dropout: 0.0,
        epochs,
        batch_size: 8,
        lr: 1e-2,
        weight_decay: 0.0,
        huber_delta: 1.0,
        label_scale: set.mean_label(&set.splits.train),
        standardize: true,
        seed: 5,
        drop_features: Vec::new(),
    }
}

#[test]
fn learns_resumes_exactly_and_exports_folded() {
    tch::set_num_threads(1);
    let set = synthetic_set(400, 3);
    let tmp = std::env::temp_dir().join(format!("angraph_train_latency_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);

    // Uninterrupted: 40 epochs.
    let (model, out) = train(
        &set,
        &recipe(&set, 40),
        &tmp.join("full"),
        Device::Cpu,
        false,
        false,
    )
    .unwrap();
    // Better than predicting the training mean: R^2 clearly positive on the test split.
    eprintln!("test {:?}", out.test);
    assert!(out.test.r2 > 0.6, "test R2 {}", out.test.r2);
    assert!(out.best_epoch >= 1 && out.best_epoch <= 40);
    for f in [
        "log.csv",
        "log.json",
        "curve.png",
        "state.json",
        "best.safetensors",
        "last.adam.safetensors",
    ] {
        assert!(tmp.join("full").join(f).exists(), "{f} missing");
    }
    let csv = std::fs::read_to_string(tmp.join("full/log.csv")).unwrap();
    assert_eq!(csv.lines().count(), 41, "{csv}");

    // Interrupted after 20 epochs, resumed to 40 with the graphs read from a spill file on
    // disk instead of memory: same bytes (the stores give the same values, the resume the same
    // state).
    train(
        &set,
        &recipe(&set, 20),
        &tmp.join("resumed"),
        Device::Cpu,
        false,
        false,
    )
    .unwrap();
    let on_disk = {
        let opts = StoreOptions {
            mode: StoreMode::Disk,
            spill_dir: None,
        };
        let mut budget = opts.memory_budget();
        let mut b = StoreBuilder::new(&opts, &mut budget);
        for i in 0..set.graphs.len() {
            b.push(set.graphs.get(i).unwrap().into_owned()).unwrap();
        }
        LatencySet {
            graphs: b.finish().unwrap(),
            ..set.clone()
        }
    };
    assert!(on_disk.graphs.on_disk());
    train(
        &on_disk,
        &recipe(&set, 40),
        &tmp.join("resumed"),
        Device::Cpu,
        true,
        false,
    )
    .unwrap();
    let a = std::fs::read(tmp.join("full/last.safetensors")).unwrap();
    let b = std::fs::read(tmp.join("resumed/last.safetensors")).unwrap();
    assert!(a == b, "resumed weights differ from the uninterrupted run");

    // A different recipe refuses to resume.
    let mut other = recipe(&set, 40);
    other.lr = 2e-2;
    assert!(train(&set, &other, &tmp.join("resumed"), Device::Cpu, true, false).is_err());

    // Export folds the standardisation: the saved checkpoint on raw features predicts the same.
    let idx = set.splits.test.clone();
    let before = model.predict(&set, &idx, 64).unwrap();
    let path = tmp.join("model.safetensors");
    model.export("test").unwrap().save(&path).unwrap();
    let loaded =
        LatencyModel::from_checkpoint(Checkpoint::load(&path, Device::Cpu).unwrap()).unwrap();
    let after = loaded.predict(&set, &idx, 64).unwrap();
    for (x, y) in before.iter().zip(&after) {
        assert!((x - y).abs() <= 1e-3 * x.abs().max(1.0), "{x} vs {y}");
    }
    let m = Metrics::of(
        &after,
        &idx.iter().map(|&i| set.labels[i]).collect::<Vec<_>>(),
    );
    assert!((m.r2 - out.test.r2).abs() < 1e-3);
    let _ = std::fs::remove_dir_all(&tmp);
}
