//! Untrusted input never panics: thousands of mutated blobs and malformed graphs each give an
//! error or a valid result.

mod common;

use angraph_core::blob::{self, Body};
use angraph_core::config::{Config, LatencyConfig, PowerConfig};
use angraph_core::power::{self, Energy};
use angraph_core::quantize::{Calibration, ModelF32, OwnedGraph, SplitMix64};
use angraph_core::{latency, Error, Fixed, GraphView, Model, Precision};
use common::random_graph;

fn small_latency() -> LatencyConfig {
    let mut c = LatencyConfig::original();
    c.in_dim = 6;
    c.width = 8;
    c.input_proj = true;
    c.layers = 3;
    c.head = heapless::Vec::from_slice(&[12, 6]).unwrap();
    c
}

fn blobs() -> Vec<Vec<u8>> {
    let mut rng = SplitMix64(77);
    let lat = ModelF32::random(Config::Latency(small_latency()), 1).unwrap();
    let graphs: Vec<OwnedGraph> = (0..4)
        .map(|_| random_graph(&mut rng, 12, 6, 2.0, 2.0))
        .collect();
    let mut stages = heapless::Vec::new();
    stages
        .push(angraph_core::Stage {
            width: 8,
            blocks: 1,
        })
        .unwrap();
    stages
        .push(angraph_core::Stage {
            width: 4,
            blocks: 0,
        })
        .unwrap();
    let pow = ModelF32::random(
        Config::Power(PowerConfig {
            in_dim: 5,
            stages,
            heads: 2,
        }),
        2,
    )
    .unwrap();
    let rows: Vec<f32> = (0..50).map(|_| rng.uniform(0.0, 3.0)).collect();
    vec![
        lat.to_blob().unwrap(),
        lat.quantize(&Calibration::Latency(&graphs), Precision::Int16, "")
            .unwrap(),
        lat.quantize(&Calibration::Latency(&graphs), Precision::Int8, "")
            .unwrap(),
        pow.to_blob().unwrap(),
        pow.quantize(&Calibration::Power(&rows), Precision::Int16, "")
            .unwrap(),
    ]
}

/// Load, and if it loads, run both families on a small graph and a small batch.
fn exercise(bytes: &[u8], g: &OwnedGraph) -> Result<(), Error> {
    let model = Model::from_bytes(bytes)?;
    match model.config() {
        Config::Latency(c) => {
            let mut rng = SplitMix64(5);
            let g = if c.in_dim as u32 == g.feature_width {
                g.clone()
            } else {
                random_graph(&mut rng, 9, c.in_dim as u32, 2.0, 2.0)
            };
            let v = g.view()?;
            let mut ws =
                vec![0u8; latency::required_workspace(&model, v.num_nodes(), v.num_edges())];
            if model.precision() == Precision::F32 {
                let y = latency::predict_f32(&model, &v, &mut ws, None)?;
                let _ = y;
            } else {
                let gq = g.to_fixed();
                latency::predict_fixed(&model, &gq.view()?, &mut ws)?;
            }
        }
        Config::Power(c) => {
            let d = c.in_dim as usize;
            let mut ws = vec![0u8; power::required_workspace(&model)];
            if model.precision() == Precision::F32 {
                let mut out = vec![Energy::<f32>::ZERO; 3];
                power::predict_f32(&model, &vec![1.5; 3 * d], &mut out, &mut ws, None)?;
            } else {
                let mut out = vec![Energy::<Fixed>::ZERO; 3];
                power::predict_fixed(&model, &vec![1 << 16; 3 * d], &mut out, &mut ws)?;
            }
        }
    }
    Ok(())
}

#[test]
fn valid_blobs_run() {
    let mut rng = SplitMix64(8);
    let g = random_graph(&mut rng, 12, 6, 2.0, 2.0);
    for b in blobs() {
        exercise(&b, &g).unwrap();
    }
}

#[test]
fn truncations_and_trailing_bytes_are_errors() {
    let mut rng = SplitMix64(9);
    let g = random_graph(&mut rng, 12, 6, 2.0, 2.0);
    for b in blobs() {
        for len in 0..b.len() {
            assert!(
                exercise(&b[..len], &g).is_err(),
                "truncated to {len} of {} loaded",
                b.len()
            );
        }
        let mut longer = b.clone();
        longer.push(0);
        assert!(exercise(&longer, &g).is_err());
        blob::reseal(&mut longer);
        assert_eq!(Model::from_bytes(&longer).unwrap_err(), Error::Truncated);
    }
}

#[test]
fn bit_flips_and_byte_noise_never_panic() {
    let mut rng = SplitMix64(10);
    let g = random_graph(&mut rng, 12, 6, 2.0, 2.0);
    let mut loaded_after_reseal = 0;
    let mut total = 0;
    for b in blobs() {
        for i in 0..1500 {
            let mut m = b.clone();
            let flips = 1 + (rng.next_u64() % 4) as usize;
            for _ in 0..flips {
                let pos = (rng.next_u64() % m.len() as u64) as usize;
                if i % 2 == 0 {
                    m[pos] ^= 1 << (rng.next_u64() % 8);
                } else {
                    m[pos] = rng.next_u64() as u8;
                }
            }
            if m != b {
                // Without a fresh checksum every corruption is caught by the CRC or the header.
                assert!(Model::from_bytes(&m).is_err());
            }
            // With a valid checksum the decoder and validator see the corruption.
            blob::reseal(&mut m);
            total += 1;
            if exercise(&m, &g).is_ok() {
                loaded_after_reseal += 1;
            }
        }
    }
    // Weight bytes flipped with a fresh checksum are a valid (different) model: some must load.
    assert!(
        loaded_after_reseal > 0 && loaded_after_reseal < total,
        "{loaded_after_reseal}/{total}"
    );
}

#[test]
fn wrong_magic_version_family_and_lying_shapes() {
    let bs = blobs();
    let q = &bs[1];
    let mut m = q.clone();
    m[0] = b'X';
    assert_eq!(Model::from_bytes(&m).unwrap_err(), Error::BadMagic);
    let mut m = q.clone();
    m[4] = 3; // version varint: one from the future
    blob::reseal(&mut m);
    assert_eq!(
        Model::from_bytes(&m).unwrap_err(),
        Error::UnsupportedVersion(3)
    );
    // A latency blob asked to run as power, and the reverse.
    let lat = Model::from_bytes(q).unwrap();
    let mut out = vec![Energy::<Fixed>::ZERO; 1];
    assert_eq!(
        power::predict_fixed(&lat, &[0; 36], &mut out, &mut [0u8; 64]),
        Err(Error::WrongFamily)
    );
    assert_eq!(power::required_workspace(&lat), 0);
    // Shapes that disagree with the tensors: change the config, keep the tensors.
    let body = lat.body().clone();
    let mut lies = Vec::new();
    let mut c = small_latency();
    c.width = 9;
    lies.push(Body {
        config: Config::Latency(c),
        ..body.clone()
    });
    let mut c = small_latency();
    c.layers = 4;
    lies.push(Body {
        config: Config::Latency(c),
        ..body.clone()
    });
    let mut c = small_latency();
    c.head = heapless::Vec::from_slice(&[12]).unwrap();
    lies.push(Body {
        config: Config::Latency(c),
        ..body.clone()
    });
    lies.push(Body {
        precision: Precision::F32,
        ..body.clone()
    });
    lies.push(Body {
        config: Config::Power(PowerConfig::original()),
        ..body.clone()
    });
    let mut scalars = body.scalars.clone();
    scalars.pop();
    lies.push(Body {
        scalars,
        ..body.clone()
    });
    let mut scalars = body.scalars.clone();
    scalars[0].shift = 0;
    lies.push(Body {
        scalars,
        ..body.clone()
    });
    let mut tensors = body.tensors.clone();
    tensors.swap(0, 1);
    lies.push(Body {
        tensors,
        ..body.clone()
    });
    let mut c = small_latency();
    c.width = 1000;
    lies.push(Body {
        config: Config::Latency(c),
        ..body.clone()
    });
    for (i, lie) in lies.iter().enumerate() {
        let bytes = blob::encode(lie).unwrap();
        assert!(Model::from_bytes(&bytes).is_err(), "lie {i} loaded");
    }
}

#[test]
fn malformed_graphs_never_panic() {
    let bs = blobs();
    let models: Vec<Model> = bs
        .iter()
        .take(3)
        .map(|b| Model::from_bytes(b).unwrap())
        .collect();
    let mut rng = SplitMix64(11);
    let mut ok = 0;
    for i in 0..3000 {
        let n = (rng.next_u64() % 12) as usize;
        let e = (rng.next_u64() % 20) as usize;
        let width = if rng.next_u64().is_multiple_of(5) {
            5
        } else {
            6
        };
        let mut row_ptr: Vec<u32> = (0..=n)
            .map(|_| (rng.next_u64() % (e as u64 + 2)) as u32)
            .collect();
        if i % 3 != 0 {
            row_ptr.sort();
            if let Some(f) = row_ptr.first_mut() {
                *f = 0;
            }
            if let Some(l) = row_ptr.last_mut() {
                *l = e as u32;
            }
        }
        let src: Vec<u32> = (0..e)
            .map(|_| (rng.next_u64() % (n as u64 + 2)) as u32)
            .collect();
        let xlen = if i % 7 == 0 { n * width + 1 } else { n * width };
        let x: Vec<f32> = (0..xlen).map(|_| rng.uniform(-5.0, 5.0)).collect();
        let xq: Vec<i32> = (0..xlen).map(|_| rng.next_u64() as i32).collect();
        let w: Vec<f32> = (0..e).map(|_| rng.uniform(-0.5, 3.0)).collect();
        let wq: Vec<i32> = (0..e)
            .map(|_| (rng.next_u64() as i32) >> (rng.next_u64() % 31))
            .collect();
        let wopt = if i % 2 == 0 { Some(&w[..]) } else { None };
        let wqopt = if i % 2 == 0 { Some(&wq[..]) } else { None };
        if let Ok(v) = GraphView::new(width as u32, &x, &row_ptr, &src, wopt) {
            let mut ws =
                vec![0u8; latency::required_workspace(&models[0], v.num_nodes(), v.num_edges())];
            if latency::predict_f32(&models[0], &v, &mut ws, None).is_ok() {
                ok += 1;
            }
        }
        if let Ok(v) = GraphView::new(width as u32, &xq, &row_ptr, &src, wqopt) {
            for m in &models[1..] {
                let mut ws =
                    vec![0u8; latency::required_workspace(m, v.num_nodes(), v.num_edges())];
                if latency::predict_fixed(m, &v, &mut ws).is_ok() {
                    ok += 1;
                }
            }
        }
    }
    assert!(
        ok > 100,
        "only {ok} graphs were valid: the generator is too hostile to test the kernels"
    );
}

/// Features at the ends of the Q16.16 and f32 ranges go through every input preprocessing
/// (the original's scale-by-first multiplies two of them) without a panic or overflow.
#[test]
fn extreme_features_never_panic_under_any_preprocessing() {
    use angraph_core::config::Preprocess;
    let mut rng = SplitMix64(21);
    let calib: Vec<OwnedGraph> = (0..4)
        .map(|_| random_graph(&mut rng, 10, 6, 2.0, 2.0))
        .collect();
    let edges: Vec<(u32, u32)> = (0..6).map(|v| (v, (v + 1) % 6)).collect();
    let fixed_rows = [i32::MIN, i32::MAX, 0, -1, 1, i32::MIN + 1];
    let f32_rows = [f32::MAX, -f32::MAX, 0.0, f32::MIN_POSITIVE, -1.0, 1e30];
    for pre in [
        Preprocess::None,
        Preprocess::ScaleByFirst,
        Preprocess::Log2,
        Preprocess::Log2Exp2,
    ] {
        let mut c = small_latency();
        c.preprocess = pre;
        let m = ModelF32::random(Config::Latency(c), 3).unwrap();
        let blobs = [
            m.to_blob().unwrap(),
            m.quantize(&Calibration::Latency(&calib), Precision::Int16, "")
                .unwrap(),
            m.quantize(&Calibration::Latency(&calib), Precision::Int8, "")
                .unwrap(),
        ];
        // Rotations of the extremes, then every feature at the negative end.
        for shift in 0..7 {
            let xq: Vec<i32> = (0..36)
                .map(|k| {
                    if shift == 6 {
                        i32::MIN
                    } else {
                        fixed_rows[(k + shift) % 6]
                    }
                })
                .collect();
            let xf: Vec<f32> = (0..36)
                .map(|k| {
                    if shift == 6 {
                        -f32::MAX
                    } else {
                        f32_rows[(k + shift) % 6]
                    }
                })
                .collect();
            let gf = OwnedGraph::from_coo(6, 6, xf, &edges, None).unwrap();
            let vf = gf.view().unwrap();
            let row_ptr: Vec<u32> = (0..=6).collect();
            let src: Vec<u32> = (0..6).map(|v| (v + 5) % 6).collect();
            let vq = GraphView::new(6, &xq, &row_ptr, &src, None).unwrap();
            for b in &blobs {
                let model = Model::from_bytes(b).unwrap();
                let mut ws = vec![0u8; latency::required_workspace(&model, 6, 6)];
                if model.precision() == Precision::F32 {
                    let _ = latency::predict_f32(&model, &vf, &mut ws, None).unwrap();
                } else {
                    let _ = latency::predict_fixed(&model, &vq, &mut ws).unwrap();
                }
            }
        }
    }
}

/// Label scales that overflow, vanish or flip the sign of every output, over-long units and
/// units or notes with terminal escape codes are refused by the loader, with the field named,
/// and the writer cannot produce them either.
#[test]
fn semantic_fields_out_of_range_are_refused() {
    let bs = blobs();
    for q in [&bs[1], &bs[4]] {
        let body = Model::from_bytes(q).unwrap().body().clone();
        let long_unit = "n".repeat(blob::MAX_UNIT + 1);
        let lies = [
            (
                "label_scale",
                Body {
                    label_scale: 1e38,
                    ..body.clone()
                },
            ),
            (
                "label_scale",
                Body {
                    label_scale: 0.0,
                    ..body.clone()
                },
            ),
            (
                "label_scale",
                Body {
                    label_scale: -1.0,
                    ..body.clone()
                },
            ),
            (
                "label_scale",
                Body {
                    label_scale: f32::NAN,
                    ..body.clone()
                },
            ),
            (
                "label_scale",
                Body {
                    label_scale: 1e-12,
                    ..body.clone()
                },
            ),
            (
                "unit",
                Body {
                    unit: &long_unit,
                    ..body.clone()
                },
            ),
            (
                "unit",
                Body {
                    unit: "n\u{1b}[31mJ",
                    ..body.clone()
                },
            ),
            (
                "note",
                Body {
                    note: "ok\u{7}",
                    ..body.clone()
                },
            ),
            (
                "note",
                Body {
                    note: "\u{9b}2J",
                    ..body.clone()
                },
            ),
        ];
        for (field, lie) in &lies {
            let bytes = blob::encode(lie).unwrap();
            assert_eq!(
                Model::from_bytes(&bytes).unwrap_err(),
                Error::Config(field),
                "{field}: {:?} / {:?} / {:?}",
                lie.label_scale,
                lie.unit,
                lie.note
            );
        }
        // Line breaks and tabs in a note, the largest unit and the range's ends are fine.
        let unit = "u".repeat(blob::MAX_UNIT);
        for ok in [
            Body {
                note: "calibrated on\n\tdigits",
                ..body.clone()
            },
            Body {
                unit: &unit,
                ..body.clone()
            },
            Body {
                label_scale: blob::LABEL_SCALE_RANGE.0,
                ..body.clone()
            },
            Body {
                label_scale: blob::LABEL_SCALE_RANGE.1,
                ..body.clone()
            },
        ] {
            Model::from_bytes(&blob::encode(&ok).unwrap()).unwrap();
        }
    }
    let mut m = ModelF32::random(Config::Latency(small_latency()), 1).unwrap();
    m.label_scale = -2.0;
    assert_eq!(m.to_blob().unwrap_err(), Error::Config("label_scale"));
}
