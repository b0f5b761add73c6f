//! Fuzz the model-blob loader and, for every blob that loads, both inference paths on a fixed
//! small graph / batch. The loader must never panic or read out of bounds.
//!
//! The checksum is recomputed on every input (so the fuzzer explores the decoder and validator,
//! not only the CRC); the first byte of the input chooses whether to keep it as given instead.
#![no_main]

use angraph_core::blob;
use angraph_core::power::{self, Energy};
use angraph_core::{latency, Config, Fixed, GraphView, Model, Precision};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut bytes = rest.to_vec();
    if mode & 1 == 0 {
        blob::reseal(&mut bytes);
    }
    let Ok(model) = Model::from_bytes(&bytes) else { return };
    let mut ws = [0u8; 1 << 16];
    match model.config() {
        Config::Latency(c) => {
            let d = c.in_dim as usize;
            let n = 3usize;
            if n * d > 4096 {
                return;
            }
            let xf = vec![0.75f32; n * d];
            let xq = vec![3 << 15; n * d];
            let row_ptr = [0u32, 1, 3, 4];
            let src = [2u32, 0, 2, 1];
            let wf = [1.0f32, 2.0, 0.0, 5.0];
            let wq = [1i32, 2, 0, 5];
            if latency::required_workspace(&model, 3, 4) > ws.len() {
                return;
            }
            if model.precision() == Precision::F32 {
                if let Ok(g) = GraphView::new(d as u32, &xf, &row_ptr, &src, Some(&wf)) {
                    let _ = latency::predict_f32(&model, &g, &mut ws, None);
                }
            } else if let Ok(g) = GraphView::new(d as u32, &xq, &row_ptr, &src, Some(&wq)) {
                let _ = latency::predict_fixed(&model, &g, &mut ws);
            }
        }
        Config::Power(c) => {
            let d = c.in_dim as usize;
            if model.precision() == Precision::F32 {
                let mut out = [Energy::<f32>::ZERO; 2];
                let _ = power::predict_f32(&model, &vec![1.0; 2 * d], &mut out, &mut ws, None);
            } else {
                let z = Fixed { raw: 0, frac_bits: 0 };
                let mut out = [Energy::<Fixed>::ZERO; 2];
                let _ = power::predict_fixed(&model, &vec![1 << 16; 2 * d], &mut out, &mut ws);
            }
        }
    }
});
