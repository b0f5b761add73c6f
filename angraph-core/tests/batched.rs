//! ANGraph-P batches in blocks (a workspace of `power::required_workspace_batched`) against
//! the same batches sample by sample (`power::required_workspace`) and against the plain-loop
//! path (`Path::Scalar`): heads, total and embedding bit-identical for batch sizes that are and
//! are not multiples of the block, on every kernel path of this CPU (x86_64 hosts), for the
//! committed ANGraph-P models and random int16 and int8 ones with odd widths.
#![cfg(target_arch = "x86_64")]

use angraph_core::config::{Config, PowerConfig};
use angraph_core::kernel::{self, Path};
use angraph_core::power::{self, Energy};
use angraph_core::quantize::{Calibration, ModelF32, SplitMix64};
use angraph_core::{Fixed, Model, Precision};

/// Heads, total and embedding of `rows` with a workspace of `ws_len` bytes.
fn outputs(m: &Model<'_>, rows: &[i32], ws_len: usize) -> Vec<i32> {
    let c = m.power_config().unwrap();
    let batch = rows.len() / c.in_dim as usize;
    let mut out = vec![Energy::<Fixed>::ZERO; batch];
    let mut emb = vec![0i32; batch * c.head_input_width()];
    let mut ws = vec![0u8; ws_len];
    power::predict_embedded(m, rows, &mut out, &mut ws, &mut emb).unwrap();
    // Without the embedding: the same energies.
    let mut plain = vec![Energy::<Fixed>::ZERO; batch];
    power::predict_fixed(m, rows, &mut plain, &mut ws).unwrap();
    assert_eq!(plain, out);
    let mut all: Vec<i32> = out
        .iter()
        .flat_map(|e| {
            e.heads
                .iter()
                .map(|h| h.raw)
                .chain([e.total.raw, e.len as i32])
        })
        .collect();
    all.extend(emb);
    all
}

#[test]
fn batched_predictions_equal_sample_by_sample_ones_on_every_path() {
    let paths: Vec<Path> = Path::ALL
        .iter()
        .copied()
        .filter(|p| {
            let ok = p.supported();
            if !ok {
                println!("note: this CPU lacks {}: skipped", p.name());
            }
            ok
        })
        .collect();
    if !paths.iter().any(|&p| kernel::has_block_kernel(p)) {
        println!("note: this CPU has no block kernel: only the fallback is tested");
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../saved_model");
    let mut blobs: Vec<(String, Vec<u8>)> = Vec::new();
    for stem in ["angraph_p", "power_ap_mnist_4x4_tsmc28"] {
        match std::fs::read(dir.join(format!("{stem}.angq"))) {
            Ok(b) => blobs.push((stem.into(), b)),
            Err(_) => println!("note: {stem}.angq missing: skipped"),
        }
    }
    let mut rng = SplitMix64(0xb10c);
    let mut pc = PowerConfig::original();
    pc.in_dim = 19;
    pc.stages[0].width = 77;
    pc.stages[1].width = 41;
    pc.stages[2].width = 15;
    let prow: Vec<f32> = (0..64 * 19).map(|_| rng.uniform(0.0, 2.0)).collect();
    for precision in [Precision::Int16, Precision::Int8] {
        let m = ModelF32::random(Config::Power(pc.clone()), 5).unwrap();
        let b = m
            .quantize(&Calibration::Power(&prow), precision, "batched")
            .unwrap();
        blobs.push((format!("random power {precision:?}"), b));
    }
    let mut compared = 0;
    for (name, blob) in &blobs {
        let m = Model::from_bytes(blob).unwrap();
        let d = m.power_config().unwrap().in_dim as usize;
        let small = power::required_workspace(&m);
        let big = power::required_workspace_batched(&m, power::BLOCK);
        let mid = power::required_workspace_batched(&m, 16);
        assert!(small < mid && mid < big, "{name}: {small} {mid} {big}");
        for batch in [
            1usize, 3, 4, 5, 15, 16, 17, 40, 63, 64, 65, 68, 130, 256, 257,
        ] {
            let mut r = SplitMix64(batch as u64);
            let rows: Vec<i32> = (0..batch * d)
                .map(|_| angraph_core::fixed::feature_to_fixed(r.uniform(0.0, 3.0)))
                .collect();
            kernel::set_path(Path::Scalar);
            let want = outputs(&m, &rows, small);
            for &p in &paths {
                assert_eq!(kernel::set_path(p), p);
                for ws in [small, mid, mid + 100, big - 1, big, big + 1000] {
                    assert_eq!(
                        outputs(&m, &rows, ws),
                        want,
                        "{name}: batch {batch}, {p:?}, workspace {ws}"
                    );
                    compared += 1;
                }
            }
        }
    }
    kernel::set_path(kernel::best_path());
    println!("{compared} comparisons");
    assert!(compared >= 4 * 15 * 6);
}

#[test]
fn the_batched_workspace_is_larger_and_the_plain_one_unchanged() {
    let blob = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../saved_model/power_ap_mnist_4x4_tsmc28.angq"),
    );
    let Ok(blob) = blob else {
        println!("note: power_ap_mnist_4x4_tsmc28.angq missing: skipped");
        return;
    };
    let m = Model::from_bytes(&blob).unwrap();
    let w = m.power_config().unwrap().max_width();
    assert!(power::required_workspace(&m) <= power::fixed_workspace_bound(w));
    assert_eq!(
        power::required_workspace_batched(&m, 0),
        power::required_workspace(&m)
    );
    // Three blocks of 64 samples x 128 int16 values more.
    let extra = power::required_workspace_batched(&m, 64) - power::required_workspace(&m);
    assert!(
        (3 * 64 * 128 * 2..3 * 64 * 128 * 2 + 16).contains(&extra),
        "{extra}"
    );
}

/// `predict_assessed_batch` (batched kernels, then each sample's intervals and envelope) gives
/// what `predict_assessed` gives sample by sample, with and without a trust section; too
/// little embedding scratch is an error.
#[test]
fn assessed_batches_equal_assessed_samples() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../saved_model");
    let with_trust = std::fs::read(dir.join("angraph_p.angq")).unwrap();
    let mut rng = SplitMix64(0xa55e);
    let pc = PowerConfig::original();
    let prow: Vec<f32> = (0..64 * pc.in_dim as usize)
        .map(|_| rng.uniform(0.0, 2.0))
        .collect();
    let plain = ModelF32::random(Config::Power(pc), 9)
        .unwrap()
        .quantize(&Calibration::Power(&prow), Precision::Int16, "assessed")
        .unwrap();
    for (name, blob) in [("angraph_p", &with_trust), ("no trust", &plain)] {
        let m = Model::from_bytes(blob).unwrap();
        assert_eq!(m.trust().is_some(), name == "angraph_p");
        let c = m.power_config().unwrap();
        let (d, w) = (c.in_dim as usize, c.head_input_width());
        let mut one_ws = vec![0u8; power::required_workspace(&m)];
        let mut ws = vec![0u8; power::required_workspace_batched(&m, power::BLOCK)];
        for batch in [1usize, 17, 64, 65, 130] {
            let mut r = SplitMix64(7 + batch as u64);
            let rows: Vec<i32> = (0..batch * d)
                .map(|_| angraph_core::fixed::feature_to_fixed(r.uniform(0.0, 3.0)))
                .collect();
            let want: Vec<_> = rows
                .chunks_exact(d)
                .map(|row| power::predict_assessed(&m, row, &mut one_ws).unwrap())
                .collect();
            let mut got = vec![power::Assessed::UNASSESSED; batch];
            let mut emb = vec![0i32; batch * w];
            power::predict_assessed_batch(&m, &rows, &mut got, &mut ws, &mut emb).unwrap();
            assert_eq!(got, want, "{name}: batch {batch}");
            if m.trust().is_some() {
                assert!(want
                    .iter()
                    .all(|a| a.intervals.is_some() && a.envelope.is_some()));
                let e = power::predict_assessed_batch(
                    &m,
                    &rows,
                    &mut got,
                    &mut ws,
                    &mut emb[..batch * w - 1],
                );
                assert!(e.is_err(), "{name}: short embedding accepted");
            }
        }
    }
}
