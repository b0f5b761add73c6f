//! `angraph quantize --out ELSEWHERE` writes only there (issue 12): the blob and the merged
//! report (`<out>.json`) go to `--out`'s folder, the model's folder is left as it was; without
//! `--out` the report is still merged into `<model>.json` beside the model.

mod common;

use common::{angraph, root, tmp};
use std::path::Path;

/// Every file of `dir` with its bytes, sorted by name.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn out_elsewhere_leaves_the_model_folder_alone() {
    let t = tmp("quantize-out");
    let input = t.join("in");
    std::fs::create_dir_all(&input).unwrap();
    for ext in ["safetensors", "json"] {
        std::fs::copy(
            root().join(format!("saved_model/latency_digits_4x4.{ext}")),
            input.join(format!("m.{ext}")),
        )
        .unwrap();
    }
    let before = files(&input);
    let model = input.join("m.safetensors");
    let out = t.join("elsewhere/m.angq");
    let args = |out: Option<&Path>| {
        let mut a = vec![
            "quantize".to_string(),
            "--model".into(),
            model.display().to_string(),
            "--data".into(),
            "data/samples/digits_4x4".into(),
            "--calib".into(),
            "16".into(),
        ];
        if let Some(o) = out {
            a.push("--out".into());
            a.push(o.display().to_string());
        }
        a
    };
    let a = args(Some(&out));
    let (ok, so, se) = angraph(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "{so}\n{se}");
    assert!(
        files(&input) == before,
        "quantize --out wrote into the model's folder"
    );
    assert!(out.exists());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.with_extension("json")).unwrap()).unwrap();
    assert!(report["fixed_point"].is_object(), "{report}");
    assert_eq!(
        report["model"], "ANGraph-L",
        "the model's report is merged into the copy"
    );
    assert_eq!(
        std::fs::read_dir(out.parent().unwrap()).unwrap().count(),
        2,
        "only the blob and its report"
    );
    // Without --out: the blob beside the model and the report merged into `<model>.json`.
    let a = args(None);
    let (ok, so, se) = angraph(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "{so}\n{se}");
    let merged: serde_json::Value =
        serde_json::from_slice(&std::fs::read(input.join("m.json")).unwrap()).unwrap();
    assert!(merged["fixed_point"].is_object());
    assert!(input.join("m.angq").exists());
    std::fs::remove_dir_all(&t).unwrap();
}
