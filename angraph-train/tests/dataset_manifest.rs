//! `data/manifest.json` describes the paper's 16 latency and 6 power benchmarks plus the
//! protocols' training mixes and checks, and the committed samples are exactly what the
//! manifest regenerates.

use angraph_train::dataset::generate::generate;
use angraph_train::dataset::manifest::Manifest;
use angraph_train::dataset::Kind;
use std::path::{Path, PathBuf};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data")
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
                out.push((
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn manifest_has_the_papers_shape() {
    let m = Manifest::load(&data().join("manifest.json")).unwrap();
    let lat = m
        .datasets
        .iter()
        .filter(|e| e.kind == Kind::Latency)
        .count();
    let pow = m.datasets.iter().filter(|e| e.kind == Kind::Power).count();
    // The paper's 16 + 6, plus the training mixes and held-out checks of the protocols.
    assert_eq!((lat, pow), (29, 14));
    let mut seeds: Vec<u64> = m.datasets.iter().map(|e| e.config.seed).collect();
    seeds.sort();
    seeds.dedup();
    assert_eq!(seeds.len(), 43, "every dataset has its own seed");
    for model in [
        "angraph_l",
        "angraph_l_dfg",
        "angraph_p",
        "paper_l",
        "paper_p",
    ] {
        assert!(m.protocol(model).is_ok(), "{model}");
    }
    for e in &m.datasets {
        assert!((5_000..=20_000).contains(&e.samples), "{}", e.name);
        assert!(
            data().join("samples").join(&e.name).is_dir(),
            "{} has no committed sample",
            e.name
        );
    }
    assert!(m.select(&["nope".into()]).is_err());
}

#[test]
fn committed_samples_regenerate_byte_for_byte() {
    let m = Manifest::load(&data().join("manifest.json")).unwrap();
    let tmp = std::env::temp_dir().join(format!("angraph-manifest-{}", std::process::id()));
    for name in ["digits_2x2", "power_digits_2x2"] {
        let e = m.select(&[name.into()]).unwrap()[0];
        let out = tmp.join(name);
        generate(&e.name, e.kind, &e.config, e.sample_size, &out, false).unwrap();
        let (a, b) = (files(&out), files(&data().join("samples").join(name)));
        assert_eq!(a.len(), b.len(), "{name}");
        for ((na, ba), (nb, bb)) in a.iter().zip(&b) {
            assert_eq!(na, nb);
            assert!(ba == bb, "{name}/{na} differs from the committed file");
        }
    }
    std::fs::remove_dir_all(tmp).ok();
}

#[test]
fn a_protocol_never_evaluates_on_a_training_configuration() {
    let text = std::fs::read_to_string(data().join("manifest.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let tmp = std::env::temp_dir().join(format!("angraph-protocol-{}.json", std::process::id()));
    // Training on digits_4x4 and evaluating on digits_4x4 with another seed is the same
    // configuration: refused, naming the protocol and both sets.
    let mut bad = v.clone();
    let d = bad["datasets"].as_array_mut().unwrap();
    let mut twin = d
        .iter()
        .find(|e| e["name"] == "digits_4x4")
        .unwrap()
        .clone();
    twin["name"] = "digits_4x4_again".into();
    twin["config"]["seed"] = 99_999.into();
    d.push(twin);
    bad["protocols"][0]["evaluation"]
        .as_array_mut()
        .unwrap()
        .push("digits_4x4_again".into());
    std::fs::write(&tmp, serde_json::to_string(&bad).unwrap()).unwrap();
    let err = format!("{:#}", Manifest::load(&tmp).unwrap_err());
    assert!(
        err.contains("angraph_l") && err.contains("digits_4x4_again") && err.contains("digits_4x4"),
        "{err}"
    );
    // A power set in a latency protocol, and more samples than the dataset has.
    v["protocols"][0]["train"][0]["samples"] = 1_000_000.into();
    std::fs::write(&tmp, serde_json::to_string(&v).unwrap()).unwrap();
    let err = format!("{:#}", Manifest::load(&tmp).unwrap_err());
    assert!(err.contains("uses 1000000 samples"), "{err}");
    v["protocols"][0]["train"][0] = serde_json::json!({"name": "power_digits_4x4", "samples": 10});
    std::fs::write(&tmp, serde_json::to_string(&v).unwrap()).unwrap();
    let err = format!("{:#}", Manifest::load(&tmp).unwrap_err());
    assert!(err.contains("is not a Latency dataset"), "{err}");
    std::fs::remove_file(tmp).ok();
}
