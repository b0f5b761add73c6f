//! `angraph import` from the command line: outputs, report, exit codes.

mod common;

use common::{angraph, tmp};

#[test]
fn import_writes_checkpoint_blob_and_report() {
    let dir = tmp("cli-import");
    let d = dir.to_str().unwrap();
    // The committed checkpoints hold the original tensors under the original keys.
    let (ok, out, err) = angraph(&[
        "import",
        "saved_model/latency_scale.safetensors",
        "saved_model/power_ap_mnist_2x2.safetensors",
        "--out-dir",
        d,
        "--calib-count",
        "6",
        "--heldout",
        "3",
        "--precision",
        "int8",
    ]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("calibration (generated)"), "{out}");
    for stem in ["latency_scale", "power_ap_mnist_2x2"] {
        for ext in ["safetensors", "angq", "json"] {
            assert!(dir.join(format!("{stem}.{ext}")).exists(), "{stem}.{ext}");
        }
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(format!("{stem}.json"))).unwrap())
                .unwrap();
        assert_eq!(report["calibration_kind"], "generated");
        assert_eq!(report["precision"], "Int8");
        let blob = std::fs::read(dir.join(format!("{stem}.angq"))).unwrap();
        let m = angraph_core::Model::from_bytes(&blob).unwrap();
        assert_eq!(m.precision(), angraph_core::Precision::Int8);
        assert!(m.body().note.contains("6 generated"), "{}", m.body().note);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn import_with_user_calibration_inputs() {
    let dir = tmp("cli-calib");
    let d = dir.to_str().unwrap();
    let (ok, out, err) = angraph(&[
        "import",
        "saved_model/latency_dataset.safetensors",
        "--out-dir",
        d,
        "--calib",
        "data/examples/mesh4x4",
        "--heldout",
        "3",
    ]);
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains("calibration (user): 1 graphs of data/examples/mesh4x4"),
        "{out}"
    );
    let blob = std::fs::read(dir.join("latency_dataset.angq")).unwrap();
    let m = angraph_core::Model::from_bytes(&blob).unwrap();
    assert!(
        m.body().note.contains("data/examples/mesh4x4"),
        "{}",
        m.body().note
    );
    let (ok, out, err) = angraph(&[
        "import",
        "saved_model/power_ap_mnist_2x2.safetensors",
        "--out-dir",
        d,
        "--calib",
        "data/examples/mesh4x4/power/feature.npy",
        "--heldout",
        "3",
    ]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("calibration (user)"), "{out}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn import_errors() {
    let (ok, _, err) = angraph(&["import", "no/such.safetensors", "--out-dir", "/tmp/x"]);
    assert!(!ok);
    assert!(err.contains("no/such.safetensors"), "{err}");
    let (ok, _, err) = angraph(&[
        "import",
        "saved_model/latency_scale.safetensors",
        "--precision",
        "int4",
        "--out-dir",
        "/tmp/x",
    ]);
    assert!(!ok);
    assert!(err.contains("int16 or int8"), "{err}");
    // An .angq is not a state dict.
    let (ok, _, err) = angraph(&[
        "import",
        "saved_model/latency_scale.angq",
        "--out-dir",
        "/tmp/x",
    ]);
    assert!(!ok);
    assert!(err.contains("latency_scale.angq"), "{err}");
}
