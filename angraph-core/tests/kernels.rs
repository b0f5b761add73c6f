//! Full-model predictions on every kernel path of this CPU (x86_64 hosts): ANGraph-L and
//! ANGraph-P, int16 and int8 activations, the committed models of `saved_model/` and random
//! quantized ones, bit-identical to the plain-loop (`Path::Scalar`, the Cortex-M arithmetic)
//! path. Paths the CPU lacks are skipped with a note. One test function: the path is
//! process-wide ([`kernel::set_path`]).
#![cfg(target_arch = "x86_64")]

mod common;

use angraph_core::config::{Config, LatencyConfig, PowerConfig};
use angraph_core::kernel::{self, Path};
use angraph_core::power::{self, Energy};
use angraph_core::quantize::{Calibration, ModelF32, SplitMix64};
use angraph_core::{latency, Fixed, Model, Precision};
use common::random_graph;

fn runnable() -> Vec<Path> {
    Path::ALL
        .iter()
        .copied()
        .filter(|p| {
            let ok = p.supported();
            if !ok {
                println!("note: this CPU lacks {}: skipped", p.name());
            }
            ok
        })
        .collect()
}

/// ANGraph-L predictions (value and embedding) of `graphs` on the current path.
fn latency_outputs(m: &Model<'_>, graphs: &[angraph_core::quantize::OwnedGraph]) -> Vec<i32> {
    let mut all = Vec::new();
    for g in graphs {
        let gq = g.to_fixed();
        let v = gq.view().unwrap();
        let mut ws = vec![0u8; latency::required_workspace(m, v.num_nodes(), v.num_edges())];
        let w = m.latency_config().unwrap().width as usize;
        let mut emb = vec![0i32; w];
        let (y, cov) = latency::predict_embedded(m, &v, &mut ws, &mut emb).unwrap();
        all.push(y.raw);
        all.push(cov);
        all.extend(emb);
    }
    all
}

/// ANGraph-P predictions (heads, total, embedding) of `rows` on the current path.
fn power_outputs(m: &Model<'_>, rows: &[i32]) -> Vec<i32> {
    let c = m.power_config().unwrap();
    let batch = rows.len() / c.in_dim as usize;
    let z = Fixed {
        raw: 0,
        frac_bits: 0,
    };
    let mut out = vec![
        Energy {
            heads: [z; power::MAX_OUTPUTS],
            len: 0,
            total: z
        };
        batch
    ];
    let mut emb = vec![0i32; batch * c.head_input_width()];
    let mut ws = vec![0u8; power::required_workspace(m)];
    power::predict_embedded(m, rows, &mut out, &mut ws, &mut emb).unwrap();
    let mut all: Vec<i32> = out
        .iter()
        .flat_map(|e| e.heads.iter().map(|h| h.raw).chain([e.total.raw]))
        .collect();
    all.extend(emb);
    all
}

#[test]
fn every_kernel_path_gives_bit_identical_predictions() {
    let paths = runnable();
    let mut rng = SplitMix64(0x6b65726e);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../saved_model");
    let mut blobs: Vec<(String, Vec<u8>)> = Vec::new();
    for stem in [
        "latency_dataset",
        "angraph_l",
        "angraph_p",
        "power_ap_mnist_4x4_tsmc28",
    ] {
        let p = dir.join(format!("{stem}.angq"));
        match std::fs::read(&p) {
            Ok(b) => blobs.push((stem.into(), b)),
            Err(_) => println!("note: {} missing: skipped", p.display()),
        }
    }
    // Random models, int16 and int8, with odd widths (tails of every vector width).
    let mut lc = LatencyConfig::original();
    lc.in_dim = 37;
    lc.width = 45;
    lc.input_proj = true;
    lc.head.clear();
    lc.head.push(23).unwrap();
    let mut pc = PowerConfig::original();
    pc.in_dim = 19;
    pc.stages[0].width = 77;
    pc.stages[1].width = 41;
    let calib: Vec<_> = (0..8)
        .map(|_| {
            let n = 30 + (rng.next_u64() % 40) as u32;
            random_graph(&mut rng, n, 37, 2.5, 2.0)
        })
        .collect();
    let prow: Vec<f32> = (0..64 * 19).map(|_| rng.uniform(0.0, 2.0)).collect();
    for precision in [Precision::Int16, Precision::Int8] {
        let m = ModelF32::random(Config::Latency(lc.clone()), 7).unwrap();
        let b = m
            .quantize(&Calibration::Latency(&calib), precision, "kernels")
            .unwrap();
        blobs.push((format!("random latency {precision:?}"), b));
        let m = ModelF32::random(Config::Power(pc.clone()), 9).unwrap();
        let b = m
            .quantize(&Calibration::Power(&prow), precision, "kernels")
            .unwrap();
        blobs.push((format!("random power {precision:?}"), b));
    }
    let mut compared = 0;
    for (name, blob) in &blobs {
        let m = Model::from_bytes(blob).unwrap();
        let outputs = |p: Path| -> Vec<i32> {
            assert_eq!(kernel::set_path(p), p);
            if let Ok(c) = m.latency_config() {
                let d = c.in_dim as u32;
                let mut r = SplitMix64(11);
                let graphs: Vec<_> = [65u32, 1, 2, 130]
                    .iter()
                    .map(|&n| random_graph(&mut r, n, d, 2.5, 2.0))
                    .collect();
                latency_outputs(&m, &graphs)
            } else {
                let d = m.power_config().unwrap().in_dim as usize;
                let mut r = SplitMix64(12);
                let rows: Vec<i32> = (0..37 * d)
                    .map(|_| angraph_core::fixed::feature_to_fixed(r.uniform(0.0, 3.0)))
                    .collect();
                power_outputs(&m, &rows)
            }
        };
        let want = outputs(Path::Scalar);
        for &p in &paths[1..] {
            assert_eq!(
                outputs(p),
                want,
                "{name}: {p:?} differs from the scalar path"
            );
            compared += 1;
        }
    }
    kernel::set_path(kernel::best_path());
    println!("{compared} model x path comparisons");
    assert!(compared >= paths.len() - 1);
}
