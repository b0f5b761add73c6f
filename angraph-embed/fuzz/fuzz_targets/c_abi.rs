//! Fuzz the C ABI: the first byte picks what the rest of the input is.
//! 0: a latency blob for `angraph_init` (then, if it loads, one prediction);
//! 1: a power blob next to the fixture latency blob (then one energy prediction);
//! 2: a call sequence (begin / hop / end / predict / reset) with ids and times from the input;
//! 3: a graph for `angraph_predict_graph` (sizes, indices, features, activities from the input).
//! Every call must return a documented status code; a panic aborts (a crash for libFuzzer).
#![no_main]

use angraph_embed::ffi::*;
use angraph_embed::Status;
use libfuzzer_sys::fuzz_target;
use std::ptr::{null, null_mut};

static LATENCY: &[u8] = include_bytes!("../../firmware/fixtures/latency.angq");

fn check(rc: i32) {
    assert!(Status::from_code(rc).is_some(), "undocumented status {rc}");
}

fn word(d: &[u8], i: usize) -> u32 {
    let b = |k: usize| d.get(i + k).copied().unwrap_or(0) as u32;
    b(0) | b(1) << 8 | b(2) << 16 | b(3) << 24
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut dims = C_DIMS_ORIGINAL;
    dims.power_width = 128;
    dims.power_in = 36;
    // SAFETY: valid pointer.
    let len = unsafe { angraph_arena_bytes(&dims) };
    let mut arena = vec![0u64; len / 8 + 1];
    let mut h = null_mut();
    // SAFETY: buffers valid for their lengths, alive for every use of the handle.
    unsafe {
        let (lat, pow): (&[u8], Option<&[u8]>) = match mode % 4 {
            0 => (rest, None),
            1 => (LATENCY, Some(rest)),
            _ => (LATENCY, None),
        };
        let (pp, pl) = pow.map_or((null(), 0), |p| (p.as_ptr(), p.len()));
        let rc = angraph_init(
            arena.as_mut_ptr().cast(),
            arena.len() * 8,
            &dims,
            lat.as_ptr(),
            lat.len(),
            pp,
            pl,
            4,
            4,
            null(),
            &mut h,
        );
        check(rc);
        if rc != 0 {
            return;
        }
        match mode % 4 {
            0 => {
                check(angraph_begin_event(h));
                for id in [256, 11, 0, 10, 7] {
                    check(angraph_hop(h, id, 10, 20));
                }
                check(angraph_end_event(h));
                let mut p = AngraphPrediction::default();
                check(angraph_predict(h, &mut p));
            }
            1 => {
                let a: Vec<i32> = (0..36).map(|i| (i * 4096) as i32).collect();
                let mut e = AngraphEnergy::default();
                check(angraph_predict_energy(h, a.as_ptr(), a.len(), &mut e));
            }
            2 => {
                for op in rest.chunks(9) {
                    let w = word(op, 1);
                    let rc = match op[0] % 8 {
                        0 => angraph_begin_event(h),
                        1 => angraph_end_event(h),
                        2 => {
                            let mut p = AngraphPrediction::default();
                            angraph_predict(h, &mut p)
                        }
                        3 => angraph_reset(h),
                        _ => angraph_hop(
                            h,
                            w % 300,
                            word(op, 5) as u64,
                            word(op, 5) as u64 + (w >> 16) as u64,
                        ),
                    };
                    check(rc);
                }
            }
            _ => {
                let n = word(rest, 0) % 300;
                let e = word(rest, 4) % 700;
                let body = rest.get(8..).unwrap_or(&[]);
                let at = |i: usize| word(body, (4 * i) % body.len().max(1));
                let x: Vec<i32> = (0..n as usize * 35)
                    .map(|i| at(i) as i32 >> (i % 24))
                    .collect();
                let src: Vec<u32> = (0..e as usize).map(|i| at(i + 7) % (n + 2)).collect();
                let dst: Vec<u32> = (0..e as usize).map(|i| at(i + 13) % (n + 2)).collect();
                let act: Vec<i32> = (0..e as usize).map(|i| at(i + 29) as i32).collect();
                let mut y = AngraphFixed::default();
                check(angraph_predict_graph(
                    h,
                    n,
                    35,
                    x.as_ptr(),
                    e,
                    src.as_ptr(),
                    dst.as_ptr(),
                    act.as_ptr(),
                    &mut y,
                ));
            }
        }
    }
});
