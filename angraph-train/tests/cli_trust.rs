//! `angraph quantize --trust-data` writes a blob whose trust section `angraph eval` measures;
//! the section is refused where it cannot be fitted or is missing.

mod common;

use common::{angraph, root, tmp};

#[test]
fn quantize_fits_a_trust_section_and_eval_measures_it() {
    let dir = tmp("trust");
    std::fs::create_dir_all(&dir).unwrap();
    let ck = dir.join("l.safetensors");
    std::fs::copy(root().join("saved_model/angraph_l.safetensors"), &ck).unwrap();
    let s = |n: &str| root().join("data/samples").join(n).display().to_string();
    let (a, b) = (s("digits_4x4"), s("train_digits_2x2_nonuniform"));
    let blob = dir.join("l.angq");
    let args = [
        "quantize",
        "--model",
        ck.to_str().unwrap(),
        "--data",
        &a,
        &b,
        "--calib",
        "64",
        "--out",
        blob.to_str().unwrap(),
        "--trust-data",
        &a,
        "--trust-data",
        &b,
    ];
    let (ok, out, err) = angraph(&args);
    assert!(ok, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        err.contains("trust: ") && err.contains(" calibration samples"),
        "{err}"
    );
    let bytes = std::fs::read(&blob).unwrap();
    let m = angraph_core::Model::from_bytes(&bytes).unwrap();
    let t = m.trust().expect("trust section");
    assert_eq!(t.coverage_pct, 90);
    assert!(err.contains(&format!(
        "trust: {} calibration samples",
        t.calibration_samples
    )));
    assert!(
        (10..=40).contains(&t.calibration_samples),
        "{}",
        t.calibration_samples
    );
    // Two tile counts (16 and 4) with a few held-out graphs each: too few for Mondrian bins.
    assert!(t.bins.is_empty());
    assert!(t.half_width[0] > 0);
    // eval --blob measures coverage and flags per set.
    let out_dir = dir.join("eval");
    let (ok, out, err) = angraph(&[
        "eval",
        "--model",
        ck.to_str().unwrap(),
        "--blob",
        blob.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        "--data",
        &format!("{a}:valid"),
        &format!("{b}:all"),
    ]);
    assert!(ok, "stdout:\n{out}\nstderr:\n{err}");
    let md = std::fs::read_to_string(out_dir.join("trust.md")).unwrap();
    let row = md
        .lines()
        .find(|l| l.starts_with("| digits_4x4 | valid"))
        .unwrap();
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    let coverage: f64 = cells[5].parse().unwrap();
    // Split conformal on the union of both validation splits: at least 90 % of them covered
    // overall, so the 4x4 half cannot be far below.
    assert!((70.0..=100.0).contains(&coverage), "{row}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("trust.json")).unwrap())
            .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    // A blob without a trust section is an error that says how to get one.
    let plain = dir.join("plain.angq");
    let (ok, _, err) = angraph(&[
        "quantize",
        "--model",
        ck.to_str().unwrap(),
        "--data",
        &a,
        "--calib",
        "16",
        "--out",
        plain.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let (ok, _, err) = angraph(&[
        "eval",
        "--model",
        ck.to_str().unwrap(),
        "--blob",
        plain.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        "--data",
        &a,
    ]);
    assert!(!ok && err.contains("no trust section"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
