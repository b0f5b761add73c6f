//! The streaming estimator on the host equals `angraph_core`'s fixed-point prediction on the
//! transform's full graph, bit for bit; errors are status codes.
mod support;

use angraph_core::component::Mesh;
use angraph_core::Model;
use angraph_embed::{Arena, Dims, Estimator, Status};
use support::{EDGES, NODES};

type Est<'a> = Estimator<'a, NODES, EDGES>;
const BYTES: usize = Est::arena_bytes(Dims::ORIGINAL);

fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("firmware/fixtures")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn feed(est: &mut Est<'_>, s: &support::Stream) -> Result<(), Status> {
    for (i, ev) in s.events.iter().enumerate() {
        est.begin_event_with(s.load(i))?;
        for h in ev {
            est.hop(h.id, h.enter, h.leave)?;
        }
        est.end_event()?;
    }
    Ok(())
}

fn load(blob: &[u8]) -> Result<Model<'_>, Status> {
    Model::from_bytes(blob).map_err(Status::from)
}

#[test]
fn streaming_equals_core_predict_fixed() {
    let blob = fixture("latency.angq");
    let model = load(&blob).unwrap();
    // The in-place loader gives the same model.
    let mut slot = std::mem::MaybeUninit::uninit();
    let in_place = Model::from_bytes_into(&blob, &mut slot).unwrap();
    assert_eq!(in_place.linears().len(), model.linears().len());
    assert_eq!(in_place.config(), model.config());
    let mut arena = Box::new(Arena::<BYTES>::new());
    let streams = [
        support::example_stream(),
        support::synthetic_stream(4, 4, 60, 11),
        support::synthetic_stream(4, 4, 100, 12),
    ];
    for (seed, s) in streams.into_iter().enumerate() {
        let expected = support::host_latency(&blob, &s);
        let mut est = Est::new(arena.bytes(), Dims::ORIGINAL, &model, s.mesh, s.process).unwrap();
        feed(&mut est, &s).unwrap();
        let p = est.predict().unwrap();
        assert_eq!(p.latency, expected, "seed {seed}");
        // A consumed window needs a reset; after it the same stream gives the same bits.
        assert_eq!(est.predict().unwrap_err(), Status::NeedsReset);
        assert_eq!(est.hop(0, 0, 0).unwrap_err(), Status::NeedsReset);
        est.reset().unwrap();
        feed(&mut est, &s).unwrap();
        assert_eq!(est.predict().unwrap().latency, expected);
    }
}

#[test]
fn stream_errors_are_status_codes() {
    let blob = fixture("latency.angq");
    let model = load(&blob).unwrap();
    let mut arena = Box::new(Arena::<BYTES>::new());
    let mesh = Mesh::new(4, 4).unwrap();
    let mut est = Est::new(
        arena.bytes(),
        Dims::ORIGINAL,
        &model,
        mesh,
        support::PROCESS,
    )
    .unwrap();
    assert_eq!(est.predict().unwrap_err(), Status::EmptyStream);
    est.reset().unwrap();
    assert_eq!(est.hop(0, 0, 0).unwrap_err(), Status::StreamOrder);
    assert_eq!(est.end_event().unwrap_err(), Status::StreamOrder);
    est.begin_event().unwrap();
    assert_eq!(est.begin_event().unwrap_err(), Status::StreamOrder);
    assert_eq!(est.hop(257, 0, 0).unwrap_err(), Status::OutOfMesh);
    assert_eq!(est.hop(u32::MAX, 0, 0).unwrap_err(), Status::OutOfMesh);
    assert_eq!(est.hop(3, 10, 5).unwrap_err(), Status::StreamOrder);
    assert_eq!(
        est.last_error(),
        Some(angraph_core::Error::Stream("hop leaves before it enters"))
    );
    est.hop(3, 10, 20).unwrap();
    assert_eq!(est.hop(4, 5, 30).unwrap_err(), Status::StreamOrder);
    assert_eq!(est.predict().unwrap_err(), Status::StreamOrder);
    est.end_event().unwrap();
    assert!(est.predict().is_ok());
}

#[test]
fn capacities_overflow_is_an_error_code() {
    let blob = fixture("latency.angq");
    let blob = load(&blob).unwrap();
    let s = support::example_stream();
    type Small<'a> = Estimator<'a, 64, 64>;
    let mut arena = vec![0u8; Small::arena_bytes(Dims::ORIGINAL)];
    let mut est = Small::new(&mut arena, Dims::ORIGINAL, &blob, s.mesh, s.process).unwrap();
    let mut first_err = None;
    'outer: for ev in &s.events {
        est.begin_event().unwrap();
        for h in ev {
            if let Err(e) = est.hop(h.id, h.enter, h.leave) {
                first_err = Some(e);
                break 'outer;
            }
        }
        est.end_event().unwrap();
    }
    assert!(
        matches!(first_err, Some(Status::NodeCapacity | Status::EdgeCapacity)),
        "{first_err:?}"
    );
    // Edge capacity alone: plenty of nodes, 8 pairs.
    type Narrow<'a> = Estimator<'a, 257, 8>;
    let mut arena = vec![0u8; Narrow::arena_bytes(Dims::ORIGINAL)];
    let mut est = Narrow::new(&mut arena, Dims::ORIGINAL, &blob, s.mesh, s.process).unwrap();
    est.begin_event().unwrap();
    let r: Result<(), Status> = s.events[0]
        .iter()
        .chain(&s.events[1])
        .try_for_each(|h| est.hop(h.id, h.enter, h.leave));
    assert_eq!(r.unwrap_err(), Status::EdgeCapacity);
}

#[test]
fn bad_blobs_and_small_arenas_are_error_codes() {
    let blob = fixture("latency.angq");
    let tiny = fixture("tiny_power.angq");
    let mesh = Mesh::new(4, 4).unwrap();
    let d = Dims::ORIGINAL;
    assert_eq!(load(&blob[..blob.len() - 7]).err(), Some(Status::Checksum));
    assert_eq!(load(&blob[1..]).err(), Some(Status::BadMagic));
    assert_eq!(load(&[]).err(), Some(Status::BadMagic));
    let model = load(&blob).unwrap();
    let power = load(&tiny).unwrap();
    let mut arena = Box::new(Arena::<BYTES>::new());
    let mut try_new = |m: &Model<'_>, len: usize| {
        Est::new(&mut arena.bytes()[..len], d, m, mesh, support::PROCESS).err()
    };
    assert_eq!(try_new(&power, BYTES), Some(Status::WrongFamily));
    assert_eq!(try_new(&model, BYTES / 2), Some(Status::ArenaTooSmall));
    assert_eq!(try_new(&model, BYTES), None);
    // Dims smaller than the model.
    let small = Dims { width: 50, ..d };
    let mut arena2 = vec![0u8; Est::arena_bytes(small)];
    assert_eq!(
        Est::new(&mut arena2, small, &model, mesh, support::PROCESS).err(),
        Some(Status::ModelTooLarge)
    );
    // The energy estimator refuses ANGraph-L and small workspaces.
    let mut ws = vec![0u8; 4096];
    assert_eq!(
        angraph_embed::EnergyEstimator::new(&model, &mut ws).err(),
        Some(Status::WrongFamily)
    );
    assert_eq!(
        angraph_embed::EnergyEstimator::new(&power, &mut ws[..16]).err(),
        Some(Status::ArenaTooSmall)
    );
    let mut e = angraph_embed::EnergyEstimator::new(&power, &mut ws).unwrap();
    assert_eq!(e.predict(&[0; 3]).unwrap_err(), Status::BufferLength);
    let x = [1 << 16, 0, 3 << 15, 1 << 14];
    let got = e.predict(&x).unwrap();
    let mut out = [angraph_core::power::Energy::<angraph_core::Fixed>::ZERO];
    let mut pws = vec![0u8; angraph_core::power::required_workspace(&power)];
    angraph_core::power::predict_fixed(&power, &x, &mut out, &mut pws).unwrap();
    assert_eq!(got, out[0]);
}

#[test]
fn an_8x8_mesh_with_its_own_capacities_is_bit_exact_too() {
    use angraph_core::quantize::{Calibration, ModelF32};
    use angraph_core::transform::{GraphBuffers, GraphBuilder};
    use angraph_core::{latency, Config, Precision};
    const N: usize = 1025; // 16 * 64 + 1
    const E: usize = 2560;
    let s = support::synthetic_stream(8, 8, 300, 21);
    // The host graph at these capacities.
    let mut b: Box<GraphBuilder<N, E>> = Box::new(GraphBuilder::new(s.mesh, s.process).unwrap());
    support::feed(&mut b, &s).unwrap();
    let (n, e) = (b.num_nodes(), b.num_edges());
    assert!(
        n > 257,
        "an 8x8 stream must exceed the 4x4 capacity ({n} nodes)"
    );
    let nf = angraph_core::features::NODE_FEATURES;
    let mut g = support::HostGraph {
        x: vec![0; n * nf],
        row_ptr: vec![0; n + 1],
        src: vec![0; e],
        weight: vec![0; e],
    };
    b.finish(GraphBuffers::new(
        &mut g.x,
        &mut g.row_ptr,
        &mut g.src,
        &mut g.weight,
    ))
    .unwrap();
    // A narrow placeholder ANGraph-L that accepts 1025 nodes.
    let mut c = support::latency_config();
    c.width = 16;
    c.head.clear();
    c.head.push(32).unwrap();
    c.head.push(16).unwrap();
    c.max_nodes = N as u32;
    let blob = ModelF32::random(Config::Latency(c), 3)
        .unwrap()
        .quantize(
            &Calibration::Latency(&[g.to_f32()]),
            Precision::Int16,
            "8x8 test",
        )
        .unwrap();
    let model = load(&blob).unwrap();
    let v = g.view();
    let mut ws = vec![0u8; latency::required_workspace(&model, v.num_nodes(), v.num_edges())];
    let expected = latency::predict_fixed(&model, &v, &mut ws).unwrap();
    type Big<'a> = Estimator<'a, N, E>;
    let dims = Dims {
        width: 16,
        in_dim: nf as u32,
        head_max: 32,
    };
    let mut arena = vec![0u8; Big::arena_bytes(dims)];
    let mut est = Big::new(&mut arena, dims, &model, s.mesh, s.process).unwrap();
    for ev in &s.events {
        est.begin_event().unwrap();
        for h in ev {
            est.hop(h.id, h.enter, h.leave).unwrap();
        }
        est.end_event().unwrap();
    }
    let p = est.predict().unwrap();
    assert_eq!(p.latency, expected);
    assert_eq!((p.nodes as usize, p.edges as usize), (n, e));
}

#[test]
fn energy_from_the_stream_equals_core_on_the_activity_matrix() {
    let lat = fixture("latency.angq");
    let pow = fixture("power.angq");
    let (model, power) = (load(&lat).unwrap(), load(&pow).unwrap());
    let s = support::example_stream();
    let mut arena = Box::new(Arena::<BYTES>::new());
    let mut est = Est::new(arena.bytes(), Dims::ORIGINAL, &model, s.mesh, s.process).unwrap();
    let mut ws = vec![0u8; angraph_embed::EnergyEstimator::workspace_bytes(128, 36)];
    let mut energy = angraph_embed::EnergyEstimator::new(&power, &mut ws).unwrap();
    feed(&mut est, &s).unwrap();
    let mut m = [0i32; 36];
    est.activity_matrix(&mut m).unwrap();
    assert_eq!(&m[..], &support::host_activity(&s)[..]);
    // Busy classes have hops: the matrix is not trivially zero.
    assert!(m[0] > 0 && m[6] > 0);
    let e = est.predict_energy(&mut energy).unwrap();
    assert_eq!(e, support::host_energy(&pow, &s));
    // Energy does not consume the window; latency still predicts.
    assert!(est.predict().is_ok());
    assert_eq!(
        est.predict_energy(&mut energy).unwrap_err(),
        Status::NeedsReset
    );
}

/// A random ANGraph-P of the original shape reading `in_dim` inputs, int16, calibrated on
/// plausible rows.
fn power_blob(in_dim: u16) -> Vec<u8> {
    use angraph_core::config::{Config, PowerConfig};
    use angraph_core::quantize::{Calibration, ModelF32};
    let c = PowerConfig {
        in_dim,
        ..PowerConfig::original()
    };
    let m = ModelF32::random(Config::Power(c), 7).unwrap();
    let rows: Vec<f32> = (0..64 * in_dim as usize)
        .map(|i| (i % 11) as f32 * 0.1)
        .collect();
    m.quantize(
        &Calibration::Power(&rows),
        angraph_core::Precision::Int16,
        "test",
    )
    .unwrap()
}

#[test]
fn energy_with_conditions_reads_the_window_process() {
    use angraph_core::power_input::{conditions_row, CONDITIONS_COLS};
    let lat = fixture("latency.angq");
    let model = load(&lat).unwrap();
    let blob = power_blob(42);
    let power = load(&blob).unwrap();
    let s = support::example_stream();
    let mut arena = Box::new(Arena::<BYTES>::new());
    let mut est = Est::new(arena.bytes(), Dims::ORIGINAL, &model, s.mesh, s.process).unwrap();
    let mut ws = vec![0u8; angraph_embed::EnergyEstimator::workspace_bytes(128, 42)];
    let mut energy = angraph_embed::EnergyEstimator::new(&power, &mut ws).unwrap();
    assert_eq!(energy.in_dim(), angraph_embed::CONDITIONS_INPUTS);
    // Host reference: the activity matrix, then the conditions row of the stream's header.
    let host = |process| {
        let mut x = support::host_activity(&s);
        let mut c = [0i32; CONDITIONS_COLS];
        conditions_row(s.mesh, &process, &mut c).unwrap();
        x.extend_from_slice(&c);
        let mut ws = vec![0u8; 1 << 16];
        let mut e = angraph_embed::EnergyEstimator::new(&power, &mut ws).unwrap();
        e.predict(&x).unwrap()
    };
    feed(&mut est, &s).unwrap();
    let cool = est.predict_energy(&mut energy).unwrap();
    assert_eq!(cool, host(s.process));
    // The same window on a hotter die: a different input, a different energy.
    let hot = angraph_core::features::ProcessDescriptor {
        temperature_c: s.process.temperature_c + 40,
        ..s.process
    };
    est.reset_to(s.mesh, hot).unwrap();
    feed(&mut est, &s).unwrap();
    let warm = est.predict_energy(&mut energy).unwrap();
    assert_eq!(warm, host(hot));
    assert_ne!(warm, cool);
    // A die at -300 degC (or a 0.01 V supply) is refused, and the window stays usable.
    for bad in [
        angraph_core::features::ProcessDescriptor {
            temperature_c: -300,
            ..s.process
        },
        angraph_core::features::ProcessDescriptor {
            vdd_mv: 10,
            ..s.process
        },
    ] {
        assert_eq!(
            est.reset_to(s.mesh, bad).unwrap_err(),
            Status::InvalidProcess
        );
    }
    est.reset_to(s.mesh, hot).unwrap();
    feed(&mut est, &s).unwrap();
    assert_eq!(est.predict_energy(&mut energy).unwrap(), warm);
    // A model that reads neither 36 nor 42 values cannot be fed from a stream.
    let tiny = fixture("tiny_power.angq");
    let tiny = load(&tiny).unwrap();
    let mut ws4 = vec![0u8; 1 << 14];
    let mut e4 = angraph_embed::EnergyEstimator::new(&tiny, &mut ws4).unwrap();
    assert_eq!(
        est.predict_energy(&mut e4).unwrap_err(),
        Status::InvalidModel
    );
    assert!(matches!(
        est.last_error(),
        Some(angraph_core::Error::Config(_))
    ));
}

#[test]
fn angs_version_3_carries_the_load_and_version_2_still_reads() {
    let s = support::example_stream();
    assert!(s.loads.iter().any(|l| l.words > 0 && l.fires <= l.words));
    let v3 = s.to_bytes();
    assert_eq!(u32::from_le_bytes(v3[4..8].try_into().unwrap()), 3);
    assert_eq!(support::Stream::from_bytes(&v3).unwrap(), s);
    // The same stream without loads, in version 2: records only (no load fields).
    let mut bare = s.clone();
    bare.loads.clear();
    let v2 = bare.to_v2_bytes();
    let back = support::Stream::from_bytes(&v2).unwrap();
    assert_eq!((back.events, back.loads.len()), (s.events.clone(), 0));
    // Hostile version-3 loads: fires above words, a count above 16 bits, a cut load.
    let mut bad = s.clone();
    bad.loads[0] = angraph_core::features::EventLoad { words: 1, fires: 2 };
    let e = support::Stream::from_bytes(&bad.to_bytes()).unwrap_err();
    assert!(
        e.contains("event 0") && e.contains("fires 2 > words 1"),
        "{e}"
    );
    let mut big = v3.clone();
    // Event 0's words as a 3-byte LEB128 of 2^20 (header body length fixed up).
    let words_len = {
        let mut n = 1;
        while v3[28 + n - 1] & 0x80 != 0 {
            n += 1;
        }
        n
    };
    big.splice(28..28 + words_len, [0x80, 0x80, 0x40]);
    let body = (big.len() - 28) as u32;
    big[24..28].copy_from_slice(&body.to_le_bytes());
    let e = support::Stream::from_bytes(&big).unwrap_err();
    assert!(
        e.contains("event 0 load words") && e.contains("65535"),
        "{e}"
    );
    let e = support::Stream::from_bytes(&v3[..29]).unwrap_err();
    assert!(!e.is_empty());
}
