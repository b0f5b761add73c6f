//! Fuzz the C entry points on the host with thousands of seeded, mutated inputs: blobs
//! (truncations, bit flips, byte noise with and without a fresh checksum, garbage), random
//! call sequences with hostile component ids and timestamps, random graphs for the graph-in
//! entry point, null pointers and uninitialised handles. Every call must return `ANGRAPH_OK`
//! or a documented negative code; none may panic (a panic would abort this test process).
mod support;

use angraph_core::blob;
use angraph_core::rng::SplitMix64;
use angraph_embed::ffi::*;
use angraph_embed::Status;
use std::ptr::{null, null_mut};

fn valid(code: i32) -> bool {
    Status::from_code(code).is_some()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("firmware/fixtures")
            .join(name),
    )
    .unwrap()
}

struct Arena(Vec<u64>);

impl Arena {
    fn new(bytes: usize) -> Self {
        Arena(vec![0u64; bytes / 8 + 1])
    }
    fn ptr(&mut self) -> *mut core::ffi::c_void {
        self.0.as_mut_ptr().cast()
    }
    fn len(&self) -> usize {
        self.0.len() * 8
    }
}

fn init(
    arena: &mut Arena,
    dims: &AngraphDims,
    lat: &[u8],
    pow: Option<&[u8]>,
) -> (i32, *mut Handle) {
    let mut h = null_mut();
    let (pp, pl) = pow.map_or((null(), 0), |p| (p.as_ptr(), p.len()));
    // SAFETY: valid buffers for their lengths; the blobs outlive every use of the handle.
    let rc = unsafe {
        angraph_init(
            arena.ptr(),
            arena.len(),
            dims,
            lat.as_ptr(),
            lat.len(),
            pp,
            pl,
            4,
            4,
            null(),
            &mut h,
        )
    };
    assert!(valid(rc), "angraph_init returned {rc}");
    (rc, h)
}

#[test]
fn mutated_blobs_never_panic() {
    let lat = fixture("latency.angq");
    let tiny = fixture("tiny_power.angq");
    let mut dims = C_DIMS_ORIGINAL;
    dims.power_width = 8;
    dims.power_in = 4;
    // SAFETY: valid pointer.
    let mut arena = Arena::new(unsafe { angraph_arena_bytes(&dims) });
    let mut rng = SplitMix64(0xf0221);
    let mut ok = 0;
    let mut codes = std::collections::BTreeSet::new();
    for i in 0..3000 {
        let src = if i % 3 == 0 { &tiny } else { &lat };
        let mut b = src.clone();
        match i % 6 {
            0 => b.truncate((rng.next_u64() % (b.len() as u64 + 1)) as usize),
            1 => {
                for _ in 0..1 + rng.next_u64() % 8 {
                    let k = (rng.next_u64() % b.len() as u64) as usize;
                    b[k] ^= 1 << (rng.next_u64() % 8);
                }
            }
            2 | 3 => {
                // Noise in the header/config region, then a valid checksum: reaches the decoder
                // and the validator.
                let span = 160.min(b.len() - 4) as u64;
                for _ in 0..1 + rng.next_u64() % 4 {
                    let k = 4 + (rng.next_u64() % (span - 4)) as usize;
                    b[k] = rng.next_u64() as u8;
                }
                blob::reseal(&mut b);
            }
            4 => {
                // Noise anywhere (weights, requantization, tensor lengths), resealed.
                for _ in 0..1 + rng.next_u64() % 16 {
                    let k = (rng.next_u64() % b.len() as u64) as usize;
                    b[k] = rng.next_u64() as u8;
                }
                blob::reseal(&mut b);
            }
            _ => {
                let n = (rng.next_u64() % 512) as usize;
                b = (0..n).map(|_| rng.next_u64() as u8).collect();
                if n > 4 && rng.next_u64() % 2 == 0 {
                    b[..4].copy_from_slice(b"ANGQ");
                    blob::reseal(&mut b);
                }
            }
        }
        let as_power = i % 5 == 0;
        let (rc, h) = if as_power {
            init(&mut arena, &dims, &lat, Some(&b))
        } else {
            init(&mut arena, &dims, &b, None)
        };
        codes.insert(rc);
        if rc != 0 {
            assert!(h.is_null());
            continue;
        }
        ok += 1;
        // A model that still loads must predict or fail cleanly (some of the time: the
        // original-size model takes milliseconds).
        if i % 7 == 0 {
            // SAFETY: a live handle and valid out pointers.
            unsafe {
                let mut p = AngraphPrediction::default();
                assert!(valid(angraph_begin_event(h)));
                for &id in &[256u32, 11, 0, 10, 7] {
                    assert!(valid(angraph_hop(h, id, 1000, 2000)));
                }
                assert!(valid(angraph_end_event(h)));
                assert!(valid(angraph_predict(h, &mut p)));
                let mut e = AngraphEnergy::default();
                let act = [1 << 16, 2 << 16, 0, 5];
                assert!(valid(angraph_predict_energy(h, act.as_ptr(), 4, &mut e)));
            }
        }
    }
    // The mutations reach many different checks, and some mutated blobs still load.
    assert!(codes.len() >= 5, "codes seen: {codes:?}");
    assert!(ok > 0);
}

#[test]
fn random_call_sequences_never_panic() {
    let lat = fixture("latency.angq");
    let pow = fixture("power.angq");
    let mut dims = C_DIMS_ORIGINAL;
    dims.power_width = 128;
    dims.power_in = 36;
    // SAFETY: valid pointer.
    let mut arena = Arena::new(unsafe { angraph_arena_bytes(&dims) });
    // Both models: every prediction also runs ANGraph-P on the window's activity matrix.
    let (rc, h) = init(&mut arena, &dims, &lat, Some(&pow));
    assert_eq!(rc, 0);
    let mut rng = SplitMix64(77);
    let mut predictions = 0;
    for step in 0..20_000 {
        let r = rng.next_u64();
        // SAFETY: `h` is a live handle; out pointers are valid.
        let rc = unsafe {
            match r % 100 {
                0..=9 => angraph_begin_event(h),
                10..=17 => angraph_end_event(h),
                18 => {
                    let mut p = AngraphPrediction::default();
                    let rc = angraph_predict(h, &mut p);
                    if rc == 0 {
                        predictions += 1;
                        assert_eq!(p.has_energy, 1);
                    }
                    rc
                }
                19..=20 => angraph_reset(h),
                _ => {
                    // Mostly valid ids and increasing times, sometimes hostile.
                    let id = match r >> 8 & 7 {
                        0 => (r >> 16) as u32,
                        1 => 257,
                        _ => ((r >> 16) % 257) as u32,
                    };
                    let t = (step as u64) * 100;
                    let (enter, leave) = match r >> 12 & 7 {
                        0 => (t + 50, t),
                        1 => (u64::MAX - (r >> 20), u64::MAX),
                        2 => (0, 0),
                        _ => (t, t + (r >> 24) % 1000),
                    };
                    angraph_hop(h, id, enter, leave)
                }
            }
        };
        assert!(valid(rc), "step {step}: {rc}");
        if step % 97 == 0 {
            // The detail of the last failure, into buffers of any size.
            let mut buf = vec![0xffu8; 1 + (r >> 40) as usize % 40];
            // SAFETY: a live handle and a writable buffer of that length.
            let n = unsafe { angraph_last_error(h, buf.as_mut_ptr().cast(), buf.len()) };
            assert!(
                n >= 0 && (n as usize) < buf.len() && buf[n as usize] == 0,
                "{n}"
            );
        }
    }
    assert!(predictions > 0, "no window was ever predicted");
}

#[test]
fn random_graphs_never_panic() {
    let lat = fixture("latency.angq");
    let dims = C_DIMS_ORIGINAL;
    // SAFETY: valid pointer.
    let mut arena = Arena::new(unsafe { angraph_arena_bytes(&dims) });
    let (rc, h) = init(&mut arena, &dims, &lat, None);
    assert_eq!(rc, 0);
    let mut rng = SplitMix64(99);
    let mut ok = 0;
    for i in 0..2000 {
        let n = (rng.next_u64() % 300) as u32;
        let e = (rng.next_u64() % 700) as u32;
        let width = if i % 10 == 0 {
            (rng.next_u64() % 40) as u32
        } else {
            angraph_core::features::NODE_FEATURES as u32
        };
        let x: Vec<i32> = (0..n as usize * width as usize)
            .map(|_| rng.next_u64() as i32 >> (rng.next_u64() % 31))
            .collect();
        let bound = if i % 4 == 0 { n + 3 } else { n.max(1) };
        let src: Vec<u32> = (0..e)
            .map(|_| (rng.next_u64() % bound as u64) as u32)
            .collect();
        let dst: Vec<u32> = (0..e)
            .map(|_| (rng.next_u64() % bound as u64) as u32)
            .collect();
        let act: Vec<i32> = (0..e)
            .map(|_| (rng.next_u64() as i32) >> (rng.next_u64() % 31))
            .collect();
        let mut y = AngraphFixed::default();
        let big_graph = n > 64;
        // Large valid graphs take the full model's time: only some of them.
        if big_graph
            && i % 25 != 0
            && bound == n.max(1)
            && width == angraph_core::features::NODE_FEATURES as u32
        {
            continue;
        }
        // SAFETY: arrays valid for the lengths given.
        let rc = unsafe {
            angraph_predict_graph(
                h,
                n,
                width,
                x.as_ptr(),
                e,
                src.as_ptr(),
                dst.as_ptr(),
                if i % 2 == 0 { act.as_ptr() } else { null() },
                &mut y,
            )
        };
        assert!(valid(rc), "graph {i}: {rc}");
        ok += (rc == 0) as u32;
    }
    assert!(ok > 0);
}

#[test]
fn null_pointers_and_bad_handles_are_error_codes() {
    let lat = fixture("latency.angq");
    let dims = C_DIMS_ORIGINAL;
    let mut h = null_mut();
    let null_arg = Status::NullArgument.code();
    // SAFETY: each call passes NULL where the API allows detecting it.
    unsafe {
        assert_eq!(angraph_arena_bytes(null()), 0);
        angraph_capacity(null_mut(), null_mut());
        assert_eq!(
            angraph_init(
                null_mut(),
                0,
                &dims,
                lat.as_ptr(),
                lat.len(),
                null(),
                0,
                4,
                4,
                null(),
                &mut h
            ),
            null_arg
        );
        let mut arena = Arena::new(angraph_arena_bytes(&dims));
        assert_eq!(
            angraph_init(
                arena.ptr(),
                arena.len(),
                null(),
                lat.as_ptr(),
                lat.len(),
                null(),
                0,
                4,
                4,
                null(),
                &mut h
            ),
            null_arg
        );
        assert_eq!(
            angraph_init(
                arena.ptr(),
                arena.len(),
                &dims,
                null(),
                0,
                null(),
                0,
                4,
                4,
                null(),
                &mut h
            ),
            null_arg
        );
        assert_eq!(
            angraph_init(
                arena.ptr(),
                arena.len(),
                &dims,
                lat.as_ptr(),
                lat.len(),
                null(),
                0,
                4,
                4,
                null(),
                null_mut()
            ),
            null_arg
        );
        // Too small for even the handle; a mesh that is not one.
        assert_eq!(
            angraph_init(
                arena.ptr(),
                16,
                &dims,
                lat.as_ptr(),
                lat.len(),
                null(),
                0,
                4,
                4,
                null(),
                &mut h
            ),
            Status::ArenaTooSmall.code()
        );
        assert_eq!(
            angraph_init(
                arena.ptr(),
                arena.len(),
                &dims,
                lat.as_ptr(),
                lat.len(),
                null(),
                0,
                4,
                0,
                null(),
                &mut h
            ),
            Status::OutOfMesh.code()
        );
        for f in [angraph_reset, angraph_begin_event, angraph_end_event] {
            assert_eq!(f(null_mut()), null_arg);
        }
        assert_eq!(angraph_hop(null_mut(), 0, 0, 0), null_arg);
        let mut p = AngraphPrediction::default();
        assert_eq!(angraph_predict(null_mut(), &mut p), null_arg);
        // A zeroed arena is not a handle.
        let mut zeros = Arena::new(1 << 16);
        let fake = zeros.ptr() as *mut Handle;
        assert_eq!(angraph_reset(fake), Status::InvalidHandle.code());
        assert_eq!(angraph_predict(fake, &mut p), Status::InvalidHandle.code());
        let mut id = 0;
        assert_eq!(angraph_component_id(4, 4, null(), 0, &mut id), null_arg);
        let bad = [0xffu8, 0xfe];
        assert_eq!(
            angraph_component_id(4, 4, bad.as_ptr(), 2, &mut id),
            Status::OutOfMesh.code()
        );
        let m = angraph_status_message(-3);
        assert!(!m.is_null());
        // Absurd dims: no size, and init refuses them (no overflow, no panic).
        let mut rng = SplitMix64(5);
        for _ in 0..2000 {
            let r = |rng: &mut SplitMix64| match rng.next_u64() % 3 {
                0 => rng.next_u64() as u32,
                1 => u32::MAX - (rng.next_u64() % 4) as u32,
                _ => (rng.next_u64() % 600) as u32,
            };
            let d = AngraphDims {
                width: r(&mut rng),
                in_dim: r(&mut rng),
                head_max: r(&mut rng),
                power_width: r(&mut rng),
                power_in: r(&mut rng),
            };
            let n = angraph_arena_bytes(&d);
            let mut small = Arena::new(n.min(1 << 20));
            let rc = angraph_init(
                small.ptr(),
                small.len(),
                &d,
                lat.as_ptr(),
                lat.len(),
                null(),
                0,
                4,
                4,
                null(),
                &mut h,
            );
            assert!(valid(rc), "{d:?}: {rc}");
        }
    }
}
