//! `data/manifest.json` describes the paper's 16 latency and 6 power benchmarks, and the
//! committed samples are exactly what the manifest regenerates.

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
    assert_eq!((lat, pow), (16, 6));
    let mut seeds: Vec<u64> = m.datasets.iter().map(|e| e.config.seed).collect();
    seeds.sort();
    seeds.dedup();
    assert_eq!(seeds.len(), 22, "every dataset has its own seed");
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
