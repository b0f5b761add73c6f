//! Importing the original ANGraph weights reproduces the original forward semantics.
//!
//! Three independent implementations are compared on the same inputs:
//! 1. a plain f64 loop implementation of the original PyTorch-Geometric forward written here,
//!    reading the tensors by their original key names (BatchNorm unfolded, all five layers
//!    computed, the last one discarded by the JK quirk);
//! 2. the tch module (`angraph_train::nn`, original keys, BatchNorm unfolded);
//! 3. angraph-core's f32 path on the imported model (BatchNorm folded into the SAGE linears);
//!
//! The fixed-point error of the imported `.angq` is reported on the same inputs.
//!
//! The originals are the committed `saved_model/*.safetensors` (the original tensors under their
//! original key names).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{root, tmp};

use angraph_core::quantize::OwnedGraph;
use angraph_core::{latency, Model, Precision};
use angraph_train::import::{self, CalibSource, ImportOptions};
use angraph_train::nn::checkpoint::read_state_dict;

const NAMES: [&str; 5] = [
    "latency_scale",
    "latency_dataset",
    "power_ap_mnist_2x2",
    "power_ap_mnist_4x4_tsmc22",
    "power_ap_mnist_4x4_tsmc28",
];

fn original(name: &str) -> PathBuf {
    root()
        .join("saved_model")
        .join(format!("{name}.safetensors"))
}

type Tensors = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

fn mat_vec(t: &Tensors, key: &str, x: &[f64]) -> Vec<f64> {
    let (shape, w) = &t[key];
    let (out, inp) = (shape[0], shape[1]);
    assert_eq!(inp, x.len(), "{key}");
    (0..out)
        .map(|o| (0..inp).map(|k| w[o * inp + k] as f64 * x[k]).sum())
        .collect()
}

fn vec_of(t: &Tensors, key: &str) -> Vec<f64> {
    t[key].1.iter().map(|&v| v as f64).collect()
}

/// The original ANGraph-L forward, in f64, straight from the state dict (eval mode).
fn original_latency_forward(t: &Tensors, x: &[Vec<f64>], edges: &[(usize, usize)]) -> f64 {
    let n = x.len();
    // x[:, 1:] *= x[:, 0:1] * 2
    let h0: Vec<Vec<f64>> = x
        .iter()
        .map(|r| {
            let f = r[0] * 2.0;
            r.iter()
                .enumerate()
                .map(|(k, &v)| if k == 0 { v } else { v * f })
                .collect()
        })
        .collect();
    let mut h_list = vec![h0];
    for layer in 0..5 {
        let h = &h_list[layer];
        let mut next = Vec::with_capacity(n);
        for v in 0..n {
            let srcs: Vec<usize> = edges.iter().filter(|e| e.1 == v).map(|e| e.0).collect();
            let mut mean = vec![0f64; h[v].len()];
            for &u in &srcs {
                for (m, &a) in mean.iter_mut().zip(&h[u]) {
                    *m += a;
                }
            }
            if !srcs.is_empty() {
                mean.iter_mut().for_each(|m| *m /= srcs.len() as f64);
            }
            let l = mat_vec(t, &format!("convs.{layer}.lin_l.weight"), &mean);
            let bl = vec_of(t, &format!("convs.{layer}.lin_l.bias"));
            let r = mat_vec(t, &format!("convs.{layer}.lin_r.weight"), &h[v]);
            let bn = |s: &str| vec_of(t, &format!("batch_norms.{layer}.module.{s}"));
            let (g, b, mu, var) = (
                bn("weight"),
                bn("bias"),
                bn("running_mean"),
                bn("running_var"),
            );
            let out: Vec<f64> = (0..l.len())
                .map(|o| {
                    let z = l[o] + bl[o] + r[o];
                    let y = (z - mu[o]) / (var[o] + 1e-5).sqrt() * g[o] + b[o];
                    if layer == 4 {
                        y
                    } else {
                        y.max(0.0)
                    }
                })
                .collect();
            next.push(out);
        }
        h_list.push(next);
    }
    // JK "sum" of the original: h_list[0] + ... + h_list[4] (the last layer's output excluded).
    let w = h_list[0][0].len();
    let mut g = vec![0f64; w];
    for h in &h_list[..5] {
        for row in h {
            for (a, &b) in g.iter_mut().zip(row) {
                *a += b;
            }
        }
    }
    let mut z = g;
    for j in 0..3 {
        let y = mat_vec(t, &format!("graph_pred_linear.{j}.weight"), &z);
        let b = vec_of(t, &format!("graph_pred_linear.{j}.bias"));
        z = y
            .iter()
            .zip(&b)
            .map(|(a, c)| if j < 2 { (a + c).max(0.0) } else { a + c })
            .collect();
    }
    z[0]
}

/// The original ANGraph-P forward, in f64: `[dynamic, static]`.
fn original_power_forward(t: &Tensors, x: &[f64]) -> [f64; 2] {
    let lin = |k: &str, x: &[f64]| -> Vec<f64> {
        mat_vec(t, &format!("{k}.weight"), x)
            .iter()
            .zip(vec_of(t, &format!("{k}.bias")))
            .map(|(a, b)| a + b)
            .collect()
    };
    let relu = |v: Vec<f64>| v.into_iter().map(|a| a.max(0.0)).collect::<Vec<_>>();
    let block = |k: usize, h: Vec<f64>| -> Vec<f64> {
        let t1 = relu(lin(&format!("block{k}.conv1"), &h));
        let t2 = lin(&format!("block{k}.conv2"), &t1);
        relu(t2.iter().zip(&h).map(|(a, b)| a + b).collect())
    };
    let mut h = relu(lin("conv1", x));
    for k in 1..=4 {
        h = block(k, h);
    }
    h = relu(lin("conv2", &h));
    for k in 5..=6 {
        h = block(k, h);
    }
    h = relu(lin("conv3", &h));
    [lin("output_1", &h)[0], lin("output_2", &h)[0]]
}

/// A small graph: 6 nodes, a node without in-edges, a self loop, a duplicate edge.
fn small_graph(seed: u64, width: usize) -> (Vec<Vec<f64>>, Vec<(usize, usize)>) {
    let mut rng = angraph_core::rng::SplitMix64(seed);
    let x = (0..6)
        .map(|_| (0..width).map(|_| rng.uniform(0.0, 1.0) as f64).collect())
        .collect();
    let edges = vec![
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 4),
        (4, 5),
        (5, 1),
        (2, 2),
        (0, 3),
        (0, 3),
    ];
    (x, edges)
}

fn owned(x: &[Vec<f64>], edges: &[(usize, usize)]) -> OwnedGraph {
    let flat = x.iter().flatten().map(|&v| v as f32).collect();
    let e: Vec<(u32, u32)> = edges.iter().map(|&(a, b)| (a as u32, b as u32)).collect();
    OwnedGraph::from_coo(x.len() as u32, x[0].len() as u32, flat, &e, None).unwrap()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}

#[test]
fn imported_latency_models_reproduce_the_original_forward() {
    let out = tmp("latency");
    for name in &NAMES[..2] {
        let src = original(name);
        let sd = read_state_dict(&src).unwrap();
        let report = import::import(&ImportOptions {
            source: src.clone(),
            out_dir: out.clone(),
            name: None,
            precision: Precision::Int16,
            calib: CalibSource::Generated { count: 24, seed: 7 },
            heldout: 12,
            label_scale: None,
            unit: "test".into(),
        })
        .unwrap();
        assert_eq!(report.family, "latency");
        // Independent f64 reference vs the tch module vs angraph-core f32 vs fixed point.
        let ck = angraph_train::nn::Checkpoint::load(
            &out.join(format!("{name}.safetensors")),
            tch::Device::Cpu,
        )
        .unwrap();
        let angraph_train::nn::Net::Latency(net) = &ck.net else {
            panic!("not latency")
        };
        let f32_blob = ck.to_model_f32().unwrap().to_blob().unwrap();
        let fixed_blob = std::fs::read(out.join(format!("{name}.angq"))).unwrap();
        assert!(Model::from_bytes(&fixed_blob).unwrap().precision() == Precision::Int16);
        let mut worst_f32 = 0f64;
        let mut fixed_errs = Vec::new();
        for seed in 0..4 {
            let (x, edges) = small_graph(seed, 100);
            let expected = original_latency_forward(&sd.f32, &x, &edges);
            let g = owned(&x, &edges);
            let [t, f, q] =
                import::latency_outputs(net, &f32_blob, &fixed_blob, std::slice::from_ref(&g))
                    .unwrap();
            let (t, f, q) = (t[0], f[0], q[0]);
            println!(
                "{name} graph {seed}: original f64 {expected:.6}, tch {t:.6}, core f32 {f:.6}, \
                 fixed {q:.6} (rel err of fixed {:.2e})",
                rel(q, f)
            );
            assert!(rel(t, expected) < 1e-4, "tch {t} vs original {expected}");
            assert!(
                rel(f, expected) < 1e-4,
                "core f32 {f} vs original {expected}"
            );
            worst_f32 = worst_f32.max(rel(f, expected));
            fixed_errs.push(rel(q, f));
        }
        fixed_errs.sort_by(f64::total_cmp);
        println!(
            "{name}: worst core-f32 rel err {worst_f32:.2e}; fixed vs f32 on the small graphs: \
             median {:.2e}, max {:.2e}; on the calibration set: median {:.2e}, max {:.2e}",
            fixed_errs[fixed_errs.len() / 2],
            fixed_errs.last().unwrap(),
            report.on_calibration.fixed_vs_core_f32.median_rel,
            report.on_calibration.fixed_vs_core_f32.max_rel
        );
        assert!(report.on_calibration.tch_vs_core_f32.max_rel < 1e-5);
        assert!(report.on_calibration.fixed_vs_core_f32.median_rel < 0.01);
        assert!(report.on_heldout.fixed_vs_core_f32.median_rel < 0.01);
        // The imported original's dead last layer is kept in the checkpoint, not in the blob.
        assert!(report
            .unused_tensors
            .iter()
            .all(|k| !k.starts_with("convs.")));
        let blob_size = fixed_blob.len();
        assert!(blob_size <= 150 * 1024, "{name}.angq is {blob_size} bytes");
        let ws = report.workspace_bytes_257_nodes.unwrap();
        println!(
            "{name}: blob {blob_size} bytes, fixed-point working memory at 257 nodes {ws} bytes"
        );
    }
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn imported_power_models_reproduce_the_original_forward() {
    let out = tmp("power");
    for name in &NAMES[2..] {
        let src = original(name);
        let sd = read_state_dict(&src).unwrap();
        let report = import::import(&ImportOptions {
            source: src.clone(),
            out_dir: out.clone(),
            name: None,
            precision: Precision::Int16,
            calib: CalibSource::Generated { count: 64, seed: 3 },
            heldout: 32,
            label_scale: None,
            unit: "test".into(),
        })
        .unwrap();
        assert_eq!(report.family, "power");
        let ck = angraph_train::nn::Checkpoint::load(
            &out.join(format!("{name}.safetensors")),
            tch::Device::Cpu,
        )
        .unwrap();
        let angraph_train::nn::Net::Power(net) = &ck.net else {
            panic!("not power")
        };
        let f32_blob = ck.to_model_f32().unwrap().to_blob().unwrap();
        let fixed_blob = std::fs::read(out.join(format!("{name}.angq"))).unwrap();
        let rows = import::generated_rows(4, 36, 99);
        let [t, f, q] = import::power_outputs(net, &f32_blob, &fixed_blob, &rows).unwrap();
        for (i, row) in rows.chunks_exact(36).enumerate() {
            let x: Vec<f64> = row.iter().map(|&v| v as f64).collect();
            let [dynamic, stat] = original_power_forward(&sd.f32, &x);
            let expected = [dynamic, stat, dynamic + stat];
            for (k, &e) in expected.iter().enumerate() {
                let j = 3 * i + k;
                assert!(rel(t[j], e) < 1e-4, "{name} row {i} out {k}: tch {}", t[j]);
                assert!(rel(f[j], e) < 1e-4, "{name} row {i} out {k}: f32 {}", f[j]);
            }
            println!(
                "{name} row {i}: original (dyn, static) = ({dynamic:.4}, {stat:.4}); core f32 \
                 ({:.4}, {:.4}); fixed ({:.4}, {:.4})",
                f[3 * i],
                f[3 * i + 1],
                q[3 * i],
                q[3 * i + 1]
            );
        }
        println!(
            "{name}: fixed vs f32 on the calibration set: median rel {:.2e}, max rel {:.2e}",
            report.on_calibration.fixed_vs_core_f32.median_rel,
            report.on_calibration.fixed_vs_core_f32.max_rel
        );
        assert!(report.on_calibration.fixed_vs_core_f32.median_rel < 0.01);
        assert!(report.on_heldout.fixed_vs_core_f32.median_rel < 0.01);
    }
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn import_is_deterministic_and_the_committed_blobs_are_reproducible() {
    let out = tmp("determinism");
    for name in ["latency_dataset", "power_ap_mnist_2x2"] {
        let committed = root().join("saved_model").join(format!("{name}.angq"));
        // The defaults of `angraph import` (48 generated inputs, seed 2024, int16).
        let opts = ImportOptions {
            source: original(name),
            out_dir: out.clone(),
            name: None,
            precision: Precision::Int16,
            calib: CalibSource::Generated {
                count: 48,
                seed: 2024,
            },
            heldout: 4,
            label_scale: None,
            unit: "original label unit (not recorded in the checkpoint)".into(),
        };
        import::import(&opts).unwrap();
        let first = std::fs::read(out.join(format!("{name}.angq"))).unwrap();
        let first_ck = std::fs::read(out.join(format!("{name}.safetensors"))).unwrap();
        import::import(&opts).unwrap();
        assert_eq!(
            first,
            std::fs::read(out.join(format!("{name}.angq"))).unwrap()
        );
        assert_eq!(
            first_ck,
            std::fs::read(out.join(format!("{name}.safetensors"))).unwrap()
        );
        assert_eq!(
            first,
            std::fs::read(&committed).unwrap(),
            "{} differs from a fresh import",
            committed.display()
        );
        let note = Model::from_bytes(&first).unwrap().body().note.to_string();
        assert!(note.contains("generated"), "{note}");
    }
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn bad_originals_give_errors_that_name_the_file_and_tensor() {
    let out = tmp("bad");
    let src = original("latency_scale");
    let bytes = std::fs::read(&src).unwrap();
    let truncated = out.join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let opts = |p: &Path| ImportOptions {
        source: p.to_path_buf(),
        out_dir: out.join("o"),
        name: None,
        precision: Precision::Int16,
        calib: CalibSource::Generated { count: 2, seed: 1 },
        heldout: 2,
        label_scale: None,
        unit: String::new(),
    };
    let e = format!("{:#}", import::import(&opts(&truncated)).unwrap_err());
    assert!(e.contains("truncated.safetensors"), "{e}");

    // A state dict whose BatchNorm has the wrong length: rewrite one tensor's shape.
    let sd = read_state_dict(&src).unwrap();
    let mut views = Vec::new();
    let mut store: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (k, (shape, v)) in &sd.f32 {
        let (shape, v) = if k == "batch_norms.2.module.running_var" {
            (vec![99], v[..99].to_vec())
        } else {
            (shape.clone(), v.clone())
        };
        store.push((
            k.clone(),
            shape,
            v.iter().flat_map(|f| f.to_le_bytes()).collect(),
        ));
    }
    for (k, s, b) in &store {
        views.push((
            k.as_str(),
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b).unwrap(),
        ));
    }
    let bad = out.join("bad_shape.safetensors");
    std::fs::write(&bad, safetensors::tensor::serialize(views, &None).unwrap()).unwrap();
    let e = format!("{:#}", import::import(&opts(&bad)).unwrap_err());
    assert!(
        e.contains("bad_shape.safetensors") && e.contains("batch_norms.2.module.running_var"),
        "{e}"
    );
    assert!(!out.join("o").join("bad_shape.angq").exists());
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn fixed_point_working_memory_and_blob_size_of_the_original_latency_model() {
    let blob = std::fs::read(root().join("saved_model/latency_dataset.angq")).unwrap();
    let m = Model::from_bytes(&blob).unwrap();
    let g = import::synthetic_mesh_graph(4, 4, 100, 1).unwrap();
    let v = g.view().unwrap();
    assert_eq!(v.num_nodes(), 257);
    let ws = latency::required_workspace(&m, v.num_nodes(), v.num_edges());
    println!(
        "original ANGraph-L: .angq {} bytes; working memory for 257 nodes / {} edges: {ws} bytes",
        blob.len(),
        v.num_edges()
    );
    assert!(ws <= 110 * 1024, "{ws}");
    assert!(blob.len() <= 150 * 1024, "{}", blob.len());
}
