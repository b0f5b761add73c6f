//! `angraph transfer --shots`: the committed ANGraph-P (digits 4x4, 65 nm) adapted to 28 nm
//! from 20 labelled rows, and the committed ANGraph-L from 20 graphs. The adapted power model
//! must be an ordinary ANGraph-P checkpoint that reproduces the reported metrics on exactly the
//! other 480 rows and still quantizes.

mod common;

use angraph_train::nn::{Checkpoint, Net};
use angraph_train::train::power::{PowerMetrics, PowerModel};
use angraph_train::transfer::shot_splits;
use common::{angraph, root, tmp};
use tch::Device;

const SOURCE: &str = "saved_model/power_digits_4x4.safetensors";
const TARGET: &str = "data/samples/power_digits_4x4_tsmc28";

fn report(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

fn mape(r: &serde_json::Value, when: &str, output: &str) -> f64 {
    r[when][output]["mape"].as_f64().unwrap()
}

#[test]
fn power_few_shot_adapts_to_a_new_node() {
    let dir = tmp("transfer-power");
    let out = dir.join("fit");
    let args = [
        "transfer",
        "--model",
        SOURCE,
        "--data",
        TARGET,
        "--out",
        out.to_str().unwrap(),
        "--shots",
        "20",
        "--seed",
        "3",
        "--threads",
        "1",
        "--quiet",
    ];
    let (ok, stdout, stderr) = angraph(&args);
    assert!(ok, "{stdout}\n{stderr}");
    let r = report(&out);
    assert_eq!(r["sizes"], serde_json::json!([20, 480]), "{r}");
    // Zero shot the 65 nm model is off by a factor of about 3 on 28 nm.
    assert!(mape(&r, "before", "total") > 100.0, "{r}");
    // 20 rows: under 2% total MAPE (measured 0.8%), and the time factor near the 28 nm / 65 nm
    // gate-delay ratio of the simulator (0.5).
    assert!(mape(&r, "after", "total") < 2.0, "{r}");
    assert!(mape(&r, "after", "dynamic") < 2.0, "{r}");
    assert!(
        mape(&r, "after", "static") < mape(&r, "before", "static") / 3.0,
        "{r}"
    );
    let tf = r["time_factor"].as_f64().unwrap();
    assert!((0.4..0.6).contains(&tf), "time factor {tf}");

    // The output is an ANGraph-P of the source's architecture whose predictions on the other
    // 480 rows give the reported metrics.
    let ck = Checkpoint::load(&out.join("model.safetensors"), Device::Cpu).unwrap();
    assert!(matches!(ck.net, Net::Power(_)));
    let src = Checkpoint::load(&root().join(SOURCE), Device::Cpu).unwrap();
    assert_eq!(ck.meta.config, src.meta.config);
    let model = PowerModel::from_checkpoint(ck).unwrap();
    let set = angraph_train::train::load::power_set_for(&root().join(TARGET), None, 42).unwrap();
    let split = shot_splits(&set.name, set.len(), 20, 3).unwrap();
    let m = PowerMetrics::of(
        &model.predict(&set, &split.test).unwrap(),
        &set,
        &split.test,
    );
    assert!(
        (m.total.mape - mape(&r, "after", "total")).abs() < 1e-6,
        "{m:?} vs {r}"
    );
    let source = PowerModel::from_checkpoint(src).unwrap();
    let b = PowerMetrics::of(
        &source.predict(&set, &split.test).unwrap(),
        &set,
        &split.test,
    );
    assert!((b.total.mape - mape(&r, "before", "total")).abs() < 1e-6);

    // The heads alone (no time factor) help, but leave several times the error: the node
    // also shifts the time inputs.
    let heads_only = dir.join("heads-only");
    let mut a2 = args.to_vec();
    a2[6] = heads_only.to_str().unwrap();
    a2.extend(["--time-factor", "1", "--power-method", "affine"]);
    let (ok, stdout, stderr) = angraph(&a2);
    assert!(ok, "{stdout}\n{stderr}");
    let r2 = report(&heads_only);
    assert_eq!(r2["time_factor"].as_f64(), Some(1.0));
    assert!(mape(&r2, "after", "total") < mape(&r2, "before", "total") / 10.0);
    assert!(mape(&r, "after", "total") * 3.0 < mape(&r2, "after", "total"));

    // Still quantizes.
    let blob = dir.join("fit.angq");
    let (ok, stdout, stderr) = angraph(&[
        "quantize",
        "--model",
        out.join("model.safetensors").to_str().unwrap(),
        "--data",
        TARGET,
        "--out",
        blob.to_str().unwrap(),
        "--calib",
        "64",
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(blob.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shots_are_checked_and_latency_tunes_on_exactly_them() {
    let dir = tmp("transfer-shots");
    let o = dir.join("x");
    let o = o.to_str().unwrap();
    let (ok, _, stderr) = angraph(&[
        "transfer", "--model", SOURCE, "--data", TARGET, "--out", o, "--shots", "500",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("power_digits_4x4_tsmc28: --shots 500 must lie between 1 and 499"),
        "{stderr}"
    );
    let latency = "saved_model/latency_digits_4x4.safetensors";
    let lat_data = "data/samples/digits_4x4_tsmc28";
    let (ok, _, stderr) = angraph(&[
        "transfer",
        "--model",
        latency,
        "--data",
        lat_data,
        "--out",
        o,
        "--power-method",
        "scale",
    ]);
    assert!(!ok);
    assert!(stderr.contains("is an ANGraph-L checkpoint"), "{stderr}");

    let (ok, stdout, stderr) = angraph(&[
        "transfer",
        "--model",
        latency,
        "--data",
        lat_data,
        "--out",
        o,
        "--shots",
        "20",
        "--epochs",
        "3",
        "--threads",
        "1",
        "--quiet",
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    let r = report(&dir.join("x"));
    let n = angraph_train::train::load::latency_set(&root().join(lat_data), None)
        .unwrap()
        .graphs
        .len();
    assert_eq!(r["sizes"], serde_json::json!([20, 0, n - 20]), "{r}");
    assert_eq!(
        (r["shots"].as_u64(), r["best_epoch"].as_u64()),
        (Some(20), Some(3))
    );
    let r2 = |w: &str| r[w]["model"]["r2"].as_f64().unwrap();
    assert!(r2("after") > r2("before"), "{r}");
    let ck = Checkpoint::load(&dir.join("x/model.safetensors"), Device::Cpu).unwrap();
    assert!(matches!(ck.net, Net::Latency(_)));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Head fine-tuning runs the training loop of `angraph train`: stopped after 2 epochs and
/// resumed to 4, it writes the uninterrupted 4-epoch run's bytes, with and without a validation
/// split; a resume with other options is refused.
#[test]
fn latency_transfer_resumes_byte_identically() {
    let dir = tmp("transfer-resume");
    let run = |out: &str, epochs: &str, extra: &[&str]| {
        let o = dir.join(out);
        let mut args = vec![
            "transfer",
            "--model",
            "saved_model/angraph_l.safetensors",
            "--data",
            "data/samples/digits_4x4_tsmc22",
            "--out",
            o.to_str().unwrap(),
            "--epochs",
            epochs,
            "--threads",
            "1",
            "--quiet",
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        angraph(&refs)
    };
    for (name, extra) in [("valid", &[][..]), ("shots", &["--shots", "20"][..])] {
        let whole = format!("{name}-whole");
        let parts = format!("{name}-parts");
        let (ok, out, err) = run(&whole, "4", extra);
        assert!(ok, "{out}\n{err}");
        let (ok, out, err) = run(&parts, "2", extra);
        assert!(ok, "{out}\n{err}");
        let mut more = extra.to_vec();
        more.push("--resume");
        let (ok, out, err) = run(&parts, "4", &more);
        assert!(ok, "{out}\n{err}");
        assert!(err.contains("after epoch 2"), "{err}");
        for f in ["model.safetensors", "best.safetensors", "last.safetensors"] {
            let a = std::fs::read(dir.join(&whole).join(f)).unwrap();
            let b = std::fs::read(dir.join(&parts).join(f)).unwrap();
            assert!(a == b, "{name}: {f} of the resumed run differs");
        }
        let (r1, r2) = (report(&dir.join(&whole)), report(&dir.join(&parts)));
        assert_eq!(r1["after"], r2["after"], "{name}");
        assert_eq!(r1["best_epoch"], r2["best_epoch"], "{name}");
    }
    let (ok, _, err) = run("shots-parts", "4", &["--shots", "10", "--resume"]);
    assert!(!ok);
    assert!(err.contains("different recipe"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
