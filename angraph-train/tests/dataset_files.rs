//! Datasets: same seed -> same bytes, the reader returns what the transform produced, power
//! labels add up exactly, the original ANGraph files load, bad files name the place, and a
//! failed generation leaves nothing behind.

mod common;

use angraph_core::features::{to_f32, NODE_FEATURES};
use angraph_train::dataset::generate::{generate, sample_graph};
use angraph_train::dataset::graph::HostBuilder;
use angraph_train::dataset::{npy, GraphDataset, Kind, PowerDataset};
use angraph_train::sim::machine::Mapping;
use angraph_train::sim::workload::{Coding, Workload};
use angraph_train::sim::{Generator, SimConfig};
use angraph_train::train::load::{power_set, power_set_for};
use common::{original_dir, tmp, write_gz};
use std::path::Path;

fn cfg(seed: u64) -> SimConfig {
    SimConfig {
        workload: Workload::Mix,
        width: 2,
        height: 2,
        process: "tsmc65".into(),
        mapping: Mapping::Mix,
        coding: Coding::Rate,
        seed,
    }
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn same_seed_same_bytes_and_reader_agrees_with_transform() {
    let root = tmp("determinism");
    let (a, b, c) = (root.join("a"), root.join("b"), root.join("c"));
    generate("t", Kind::Latency, &cfg(9), 12, &a, false).unwrap();
    generate("t", Kind::Latency, &cfg(9), 12, &b, false).unwrap();
    generate("t", Kind::Latency, &cfg(10), 12, &c, false).unwrap();
    let (fa, fb, fc) = (files(&a), files(&b), files(&c));
    assert_eq!(
        fa.len(),
        11,
        "{:?}",
        fa.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert_eq!(fa, fb);
    assert_ne!(fa, fc);
    // No temporary directories are left next to the datasets.
    let left: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 3, "{left:?}");

    let ds = GraphDataset::load(&a).unwrap();
    assert_eq!(ds.graphs.len(), 12);
    let meta = ds.meta.as_ref().unwrap();
    assert_eq!(
        meta.feature_set_version,
        Some(angraph_core::features::FEATURE_SET_VERSION)
    );
    assert_eq!(meta.node_features.len(), NODE_FEATURES);
    assert_eq!(meta.config.as_ref().unwrap(), &cfg(9));
    assert_eq!(
        ds.split.train.len() + ds.split.valid.len() + ds.split.test.len(),
        12
    );
    let mut all: Vec<usize> = ds
        .split
        .train
        .iter()
        .chain(&ds.split.valid)
        .chain(&ds.split.test)
        .copied()
        .collect();
    all.sort();
    assert_eq!(all, (0..12).collect::<Vec<_>>());
    // Graph 4 equals the transform of sample 4, features exactly fixed / 65536.
    let gen = Generator::new(cfg(9)).unwrap();
    let s = gen.sample(4);
    let mut hb = HostBuilder::new(s.plan.mesh, s.process).unwrap();
    let rec = sample_graph(&mut hb, &s).unwrap();
    let g = &ds.graphs[4];
    assert_eq!(g.feature_width as usize, NODE_FEATURES);
    assert_eq!(
        g.x,
        rec.x_fixed.iter().map(|&q| to_f32(q)).collect::<Vec<_>>()
    );
    let w: Vec<f32> = rec.activities.iter().map(|&a| a as f32).collect();
    assert_eq!(g.edge_weight.as_ref().unwrap(), &w);
    assert_eq!(g.src, rec.edges.iter().map(|e| e.0).collect::<Vec<_>>());
    assert_eq!(
        ds.labels[4],
        (s.reference_latency_ps as f64 / 1000.0) as f32
    );
    assert_eq!(
        ds.estimates.as_ref().unwrap()[4],
        (s.system_latency_ps as f64 / 1000.0) as f32
    );
    assert_eq!(ds.edge_attr[4].len(), g.src.len() * ds.edge_attr_width);
    // The fixed-point view the chip would build is the same graph.
    g.view().unwrap();
    std::fs::remove_dir_all(root).ok();
}

#[test]
fn power_dataset_labels_add_up_and_columns_are_declared() {
    let root = tmp("power");
    let out = root.join("p");
    generate("p", Kind::Power, &cfg(3), 10, &out, false).unwrap();
    let p = PowerDataset::load(&out).unwrap();
    assert_eq!(p.feature_shape, vec![10, 8, 6]);
    assert_eq!(p.label_columns, vec!["total", "dynamic", "static"]);
    // Rows 0..=5: the activity matrix; row 6: the sample's operating conditions (tsmc65,
    // 1.2 V, its junction temperature, 4 tiles of 64), exactly the core's Q16.16 / 65536.
    let meta = p.meta.as_ref().unwrap();
    assert_eq!(meta.power_input_version, Some(3));
    assert_eq!(meta.node_features.len(), 8);
    assert_eq!(meta.node_features[6].name, "operating_conditions");
    assert_eq!(meta.node_features[7].name, "event_load");
    assert_eq!(
        meta.load_columns.as_ref().unwrap()[2].name,
        "words_per_read"
    );
    let cond = meta.conditions_columns.as_ref().unwrap();
    assert_eq!(
        cond.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        [
            "node_nm",
            "vdd_v",
            "temperature",
            "tiles",
            "reserved_4",
            "reserved_5"
        ]
    );
    assert_eq!(cond[2].unit, "100 degC");
    let gen = Generator::new(cfg(3)).unwrap();
    let mut temps = Vec::new();
    for i in [0usize, 7] {
        let s = gen.sample(i as u64);
        let mut hb = HostBuilder::new(s.plan.mesh, s.process).unwrap();
        angraph_train::dataset::generate::feed_sample(&mut hb, &s).unwrap();
        let mut m = [0i32; 36];
        match &hb {
            HostBuilder::Small(b) => b.activity_matrix(&mut m).unwrap(),
            HostBuilder::Large(b) => b.activity_matrix(&mut m).unwrap(),
        }
        let row = p.sample(i);
        assert_eq!(&row[..36], &m.map(to_f32)[..], "sample {i}");
        let t = s.process.temperature_c as f32;
        assert!((25.0..=85.0).contains(&t));
        assert_eq!(
            &row[36..42],
            &[
                to_f32(42598),
                to_f32(78643),
                to_f32((t as i64 * 65536 + 50) as i32 / 100),
                0.0625,
                0.0,
                0.0
            ],
            "sample {i}"
        );
        // Row 7: the load, from the plan's fan-out rows (words read, neurons fired).
        let (mut words, mut fires, mut reads, mut updates) = (0u64, 0u64, 0u64, 0u64);
        for e in 0..s.plan.num_events() {
            let l = s.plan.load(e);
            words += l.words as u64;
            fires += l.fires as u64;
            let path = &s.plan.path[s.plan.path_off[e] as usize..s.plan.path_off[e + 1] as usize];
            for &id in path.iter().filter(|&&id| id < s.plan.mesh.injector_id()) {
                reads += (id % 16 == 14) as u64; // WeightSRAM slot
                updates += (id % 16 == 13) as u64; // LUT slot
            }
        }
        assert!(words > 0 && reads > 0 && updates > 0, "sample {i}");
        // Q16.16 of n / d, rounded half up (features::ratio_q16).
        let ratio = |n: u64, d: u64| to_f32((((n << 16) + d / 2) / d) as i32);
        assert_eq!(
            &row[42..],
            &[
                ratio(words, 1000),
                ratio(fires, 1000),
                ratio(words, reads),
                ratio(fires, updates),
                0.0,
                0.0
            ],
            "sample {i}"
        );
        temps.push(t);
    }
    assert!(temps.iter().all(|&t| t > 0.0));
    let (t, d, s) = (
        p.column("total").unwrap(),
        p.column("dynamic").unwrap(),
        p.column("static").unwrap(),
    );
    for i in 0..10 {
        assert_eq!(t[i], d[i] + s[i], "sample {i}");
        assert!(d[i] > 0.0 && s[i] > 0.0);
    }
    assert!(p.sample(0).iter().any(|&v| v > 0.0));
    std::fs::remove_dir_all(root).ok();
}

#[test]
fn original_files_load_without_meta() {
    let root = tmp("original");
    let d = original_dir(&root);
    let ds = GraphDataset::load(&d).unwrap();
    assert!(ds.meta.is_none() && ds.estimates.is_none());
    assert_eq!(ds.graphs.len(), 2);
    assert_eq!(ds.labels, vec![1500.0, 2400.0]);
    assert_eq!(ds.graphs[0].row_ptr, vec![0, 0, 1, 2]);
    assert_eq!(ds.graphs[0].edge_weight.as_ref().unwrap(), &vec![4.0, 2.0]);
    assert_eq!(ds.graphs[1].x, vec![1.0, 1.0, 0.0, 2.0]);
    assert_eq!(
        ds.split.train.len() + ds.split.valid.len() + ds.split.test.len(),
        2
    );

    // Original power files: float64 (N, 36) features, labels [total, dynamic, static].
    let p = root.join("power");
    std::fs::create_dir_all(&p).unwrap();
    let feat: Vec<f64> = (0..72).map(|i| i as f64 * 0.5).collect();
    let mut bytes = npy::to_bytes(&[2, 36], &vec![0.0; 72]).unwrap();
    let hdr = bytes.len() - 72 * 4;
    bytes.truncate(hdr);
    let text = String::from_utf8(bytes[10..].to_vec())
        .unwrap()
        .replace("<f4", "<f8");
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(text.len() as u16).to_le_bytes());
    b.extend_from_slice(text.as_bytes());
    for v in &feat {
        b.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(p.join("feature.npy"), b).unwrap();
    std::fs::write(
        p.join("label.npy"),
        npy::to_bytes(&[2, 3], &[3.0, 2.0, 1.0, 6.0, 4.0, 2.0]).unwrap(),
    )
    .unwrap();
    let pd = PowerDataset::load(&p).unwrap();
    assert_eq!(pd.feature_shape, vec![2, 36]);
    assert_eq!(pd.sample(1)[0], 18.0);
    assert_eq!(pd.column("static").unwrap(), vec![1.0, 2.0]);
    std::fs::remove_dir_all(root).ok();
}

#[test]
fn power_loader_takes_both_matrix_shapes() {
    // The original / version-1 6 x 6 matrix and this project's 7 x 6 (matrix + conditions):
    // the loader flattens whatever (a, b) it gets; the input width follows.
    let root = tmp("shapes");
    for (rows, width) in [(6usize, 36usize), (7, 42)] {
        let d = root.join(format!("m{rows}"));
        std::fs::create_dir_all(&d).unwrap();
        let mut feat: Vec<f32> = (0..3 * width).map(|i| i as f32 * 0.25).collect();
        // The operating-conditions row holds physical values (65 nm, 1.2 V, 40 degC, 16 tiles).
        for r in feat.chunks_exact_mut(width) {
            if width == 42 {
                r[36..].copy_from_slice(&[0.65, 1.2, 0.4, 0.25, 0.0, 0.0]);
            }
        }
        std::fs::write(
            d.join("feature.npy"),
            npy::to_bytes(&[3, rows, 6], &feat).unwrap(),
        )
        .unwrap();
        std::fs::write(
            d.join("label.npy"),
            npy::to_bytes(&[3, 3], &[3.0, 2.0, 1.0, 6.0, 4.0, 2.0, 9.0, 6.0, 3.0]).unwrap(),
        )
        .unwrap();
        let p = PowerDataset::load(&d).unwrap();
        assert_eq!(p.feature_shape, vec![3, rows, 6]);
        assert_eq!(p.sample(2).len(), width);
        assert_eq!(p.sample(2)[0], (2 * width) as f32 * 0.25);
        let set = power_set(&d, None).unwrap();
        assert_eq!(set.in_dim, width);
        assert_eq!(set.row(1), &feat[width..2 * width]);
        assert_eq!(set.labels[2], [6.0, 3.0]);
        // A 36-input model (the original ANGraph-P) reads the activity-matrix prefix of the
        // 42-value rows; a 42-input model cannot read 36-value rows.
        let for36 = power_set_for(&d, None, 36).unwrap();
        assert_eq!(for36.in_dim, 36);
        assert_eq!(for36.row(1), &feat[width..width + 36]);
        let e = power_set_for(&d, None, 42);
        if width == 36 {
            let e = format!("{:#}", e.unwrap_err());
            assert!(e.contains("m6") && e.contains("reads 42"), "{e}");
        } else {
            assert_eq!(e.unwrap().in_dim, 42);
        }
    }
    std::fs::remove_dir_all(root).ok();
}

#[test]
fn bad_files_name_the_place() {
    let root = tmp("bad");
    let d = original_dir(&root);
    let raw = d.join("raw");
    write_gz(&raw.join("num-node-list.csv.gz"), &["3", "3"]);
    let e = format!("{:#}", GraphDataset::load(&d).unwrap_err());
    assert!(
        e.contains("node-feat.csv.gz") && e.contains("5 rows"),
        "{e}"
    );
    write_gz(&raw.join("num-node-list.csv.gz"), &["3", "2"]);
    write_gz(
        &raw.join("node-feat.csv.gz"),
        &["1,0.5", "2,x", "3,0", "1,1", "0,2"],
    );
    let e = format!("{:#}", GraphDataset::load(&d).unwrap_err());
    assert!(
        e.contains("node-feat.csv.gz") && e.contains("line 2, column 2"),
        "{e}"
    );
    write_gz(
        &raw.join("node-feat.csv.gz"),
        &["1,0.5", "2,1", "3,0", "1,1", "0,2"],
    );
    write_gz(&raw.join("edge.csv.gz"), &["0,1", "1,2", "1,5"]);
    let e = format!("{:#}", GraphDataset::load(&d).unwrap_err());
    assert!(e.contains("edge.csv.gz") && e.contains("line 3"), "{e}");
    write_gz(&raw.join("edge.csv.gz"), &["0,1", "1,2", "1,0"]);
    write_gz(&raw.join("graph-label.csv.gz"), &["1"]);
    let e = format!("{:#}", GraphDataset::load(&d).unwrap_err());
    assert!(e.contains("graph-label.csv.gz"), "{e}");
    std::fs::write(raw.join("graph-label.csv.gz"), b"not gzip").unwrap();
    let e = format!("{:#}", GraphDataset::load(&d).unwrap_err());
    assert!(
        e.contains("graph-label.csv.gz") && e.contains("line 1"),
        "{e}"
    );
    // A bad meta.json is named too.
    std::fs::write(d.join("meta.json"), "{\"format\": 3}").unwrap();
    let e = format!("{:#}", GraphDataset::load(&d).unwrap_err());
    assert!(e.contains("meta.json") && e.contains("line 1"), "{e}");
    // npy with the wrong shape.
    let p = root.join("p");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(
        p.join("feature.npy"),
        npy::to_bytes(&[2, 6, 6], &[0.0; 72]).unwrap(),
    )
    .unwrap();
    std::fs::write(
        p.join("label.npy"),
        npy::to_bytes(&[2, 2], &[0.0; 4]).unwrap(),
    )
    .unwrap();
    let e = format!("{:#}", PowerDataset::load(&p).unwrap_err());
    assert!(e.contains("label.npy") && e.contains("(2, 3)"), "{e}");
    std::fs::remove_dir_all(root).ok();
}

#[test]
fn failed_generation_leaves_nothing() {
    let root = tmp("atomic");
    let out = root.join("x");
    let mut c = cfg(1);
    c.process = "tsmc7".into();
    let e = format!(
        "{:#}",
        generate("x", Kind::Latency, &c, 3, &out, false).unwrap_err()
    );
    assert!(e.contains("tsmc7"), "{e}");
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
    // Replacing an existing dataset swaps it whole.
    generate("x", Kind::Power, &cfg(1), 3, &out, false).unwrap();
    generate("x", Kind::Power, &cfg(1), 4, &out, false).unwrap();
    assert_eq!(PowerDataset::load(&out).unwrap().len(), 4);
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 1);
    std::fs::remove_dir_all(root).ok();
}
