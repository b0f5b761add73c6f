//! Hostile safetensors checkpoints (issue 12): each is refused with an error that names the file
//! and the tensor or metadata field, instead of loading into NaN, a silently truncated model or
//! a panic later on.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use angraph_core::config::{Config, PowerConfig};
use angraph_train::nn::checkpoint::{read_state_dict, CheckpointMeta, META_KEY};
use angraph_train::nn::Checkpoint;
use angraph_train::train::latency::best_config;
use safetensors::tensor::{Dtype, TensorView};
use tch::Device;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("angraph-ckval-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn latency_meta(layers: u8) -> CheckpointMeta {
    let mut config = best_config(5);
    config.width = 8;
    config.layers = layers;
    config.head.clear();
    config.head.push(8).unwrap();
    CheckpointMeta {
        config: Config::Latency(config),
        label_scale: 100.0,
        unit: "ns".into(),
        note: "test".into(),
    }
}

/// Write `tensors` (f32, by name) with `meta` as a safetensors file.
fn write(path: &Path, tensors: &[(String, Vec<usize>, Vec<f32>)], meta: &str) {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let views: Vec<(&str, TensorView<'_>)> = tensors
        .iter()
        .zip(&bytes)
        .map(|((n, s, _), b)| {
            (
                n.as_str(),
                TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    let info = HashMap::from([(META_KEY.to_string(), meta.to_string())]);
    std::fs::write(
        path,
        safetensors::tensor::serialize(views, &Some(info)).unwrap(),
    )
    .unwrap();
}

/// The tensors of a freshly initialised network for `meta`.
fn tensors_of(meta: &CheckpointMeta, dir: &Path) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let p = dir.join("fresh.safetensors");
    tch::manual_seed(1);
    Checkpoint::new(meta.clone(), Device::Cpu)
        .unwrap()
        .save(&p)
        .unwrap();
    Checkpoint::load(&p, Device::Cpu).expect("a checkpoint this project wrote loads");
    read_state_dict(&p)
        .unwrap()
        .f32
        .into_iter()
        .map(|(n, (s, v))| (n, s, v))
        .collect()
}

fn load_err(path: &Path) -> String {
    format!(
        "{:#}",
        Checkpoint::load(path, Device::Cpu).expect_err("must be refused")
    )
}

#[test]
fn negative_running_var_is_refused_naming_the_tensor() {
    let d = scratch("var");
    let meta = latency_meta(2);
    let mut t = tensors_of(&meta, &d);
    let (name, _, v) = t
        .iter_mut()
        .find(|(n, _, _)| n.ends_with("running_var"))
        .expect("a batch norm");
    v[3] = -0.5;
    let name = name.clone();
    let p = d.join("negvar.safetensors");
    write(&p, &t, &serde_json::to_string(&meta).unwrap());
    let e = load_err(&p);
    assert!(
        e.contains("negvar.safetensors") && e.contains(&name) && e.contains("negative variance"),
        "{e}"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn non_finite_weight_is_refused_naming_the_tensor() {
    let d = scratch("nan");
    let meta = latency_meta(2);
    let mut t = tensors_of(&meta, &d);
    t[0].2[0] = f32::INFINITY;
    let name = t[0].0.clone();
    let p = d.join("inf.safetensors");
    write(&p, &t, &serde_json::to_string(&meta).unwrap());
    let e = load_err(&p);
    assert!(
        e.contains("inf.safetensors") && e.contains(&name) && e.contains("non-finite"),
        "{e}"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn tensors_the_metadata_does_not_use_are_refused() {
    let d = scratch("layers");
    // A 3-layer network's tensors under metadata that says 2 layers: `convs.2` would be dropped.
    let t = tensors_of(&latency_meta(3), &d);
    assert!(t.iter().any(|(n, _, _)| n.starts_with("convs.2.")));
    let p = d.join("layers.safetensors");
    write(&p, &t, &serde_json::to_string(&latency_meta(2)).unwrap());
    let e = load_err(&p);
    assert!(
        e.contains("layers.safetensors") && e.contains("convs.2.") && e.contains("not used"),
        "{e}"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn power_metadata_with_one_head_is_refused_naming_the_field() {
    let d = scratch("heads");
    let meta = CheckpointMeta {
        config: Config::Power(PowerConfig::original()),
        label_scale: 10.0,
        unit: "nJ".into(),
        note: "test".into(),
    };
    let t = tensors_of(&meta, &d);
    let mut one = PowerConfig::original();
    one.heads = 1;
    let bad = CheckpointMeta {
        config: Config::Power(one),
        ..meta.clone()
    };
    let p = d.join("heads.safetensors");
    write(&p, &t, &serde_json::to_string(&bad).unwrap());
    let e = load_err(&p);
    assert!(
        e.contains("heads.safetensors") && e.contains("`heads`") && e.contains('1'),
        "{e}"
    );
    // A zero label scale is refused as well.
    let zero = CheckpointMeta {
        label_scale: 0.0,
        ..meta
    };
    write(&p, &t, &serde_json::to_string(&zero).unwrap());
    let e = load_err(&p);
    assert!(e.contains("`label_scale`"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn tensors_sharing_one_byte_range_are_refused() {
    let d = scratch("overlap");
    // Two 4-value tensors that both claim bytes 0..16 of a 16-byte data section.
    let header = format!(
        r#"{{"__metadata__":{{"{META_KEY}":"{{}}"}},"a":{{"dtype":"F32","shape":[4],"data_offsets":[0,16]}},"b":{{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}}}"#
    );
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&[0u8; 16]);
    let p = d.join("overlap.safetensors");
    std::fs::write(&p, &bytes).unwrap();
    let e = format!("{:#}", read_state_dict(&p).expect_err("must be refused"));
    assert!(e.contains("overlap.safetensors"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn committed_checkpoints_still_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../saved_model");
    let mut n = 0;
    for e in std::fs::read_dir(&root).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "safetensors") {
            let sd = read_state_dict(&p).unwrap();
            if sd.meta.is_some() {
                Checkpoint::load(&p, Device::Cpu)
                    .unwrap_or_else(|e| panic!("{}: {e:#}", p.display()));
                n += 1;
            }
        }
    }
    assert!(n > 0, "no project checkpoint in saved_model/");
}
