//! angraph-embed on a Cortex-M3 (QEMU mps2-an385): replay a recorded hop stream through the
//! streaming estimator and print the fixed-point prediction, the measured memory and the
//! instruction count, then check that bad inputs give status codes. Output lines are
//! `key=value` for angraph-embed/tests/qemu.rs and report.sh.
#![no_std]
#![no_main]

mod rt;

use angraph_core::component::Mesh;
use angraph_core::features::{EventLoad, ProcessDescriptor};
use angraph_core::Model;
use angraph_embed::{Arena, Dims, Estimator, Status};
use core::fmt::Write;
use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;

/// A 4x4 mesh: 16 components per tile plus the injector.
const NODES: usize = 257;
/// Distinct consecutive pairs the example provisions for.
const EDGES: usize = 512;
#[cfg(not(feature = "estimate"))]
const DIMS: Dims = Dims::ORIGINAL;
/// The recommended ANGraph-L (`saved_model/angraph_l`): width 32 on the 37 stream features, a
/// 128-wide head; the arena is sized for it instead of the original size.
#[cfg(feature = "estimate")]
const DIMS: Dims = Dims {
    width: 32,
    in_dim: 37,
    head_max: 128,
};
type Est<'a> = Estimator<'a, NODES, EDGES>;
const ARENA_BYTES: usize = Est::arena_bytes(DIMS);

/// The integrator-owned arena.
static mut ARENA: Arena<ARENA_BYTES> = Arena::new();
/// The decoded ANGraph-L (about 4 KB of slices and parameters; the weights stay in flash).
static mut MODEL: MaybeUninit<Model<'static>> = MaybeUninit::uninit();

#[cfg(not(any(feature = "trained", feature = "estimate")))]
static LATENCY: &[u8] = include_bytes!("../fixtures/latency.angq");
#[cfg(all(feature = "trained", not(feature = "estimate")))]
static LATENCY: &[u8] = include_bytes!("../fixtures/trained_latency.angq");
#[cfg(feature = "estimate")]
static LATENCY: &[u8] = include_bytes!("../fixtures/angraph_l.angq");
static TINY_POWER: &[u8] = include_bytes!("../fixtures/tiny_power.angq");
static STREAM: &[u8] = include_bytes!("../fixtures/stream.angs");

#[cfg(all(feature = "energy", not(feature = "estimate")))]
mod energy {
    use angraph_core::Model;
    use angraph_embed::EnergyEstimator;
    use core::fmt::Write;
    use core::mem::MaybeUninit;
    use core::ptr::addr_of_mut;

    static POWER: &[u8] = include_bytes!("../fixtures/power.angq");
    const WS: usize = EnergyEstimator::workspace_bytes(128, 36);
    static mut WORKSPACE: angraph_embed::Arena<WS> = angraph_embed::Arena::new();
    static mut MODEL: MaybeUninit<Model<'static>> = MaybeUninit::uninit();

    /// The original ANGraph-P on the stream window's activity matrix (before the latency
    /// prediction, which consumes the window).
    #[inline(never)]
    pub fn run(est: &mut crate::Est<'_>) {
        let mut out = crate::rt::Console;
        // SAFETY: the only references to these statics, in a single-threaded program.
        let (ws, slot) = unsafe { (&mut *addr_of_mut!(WORKSPACE), &mut *addr_of_mut!(MODEL)) };
        let t0 = crate::rt::ticks();
        let r = Model::from_bytes_into(POWER, slot)
            .map_err(angraph_embed::Status::from)
            .and_then(|m| EnergyEstimator::new(m, ws.bytes()))
            .and_then(|mut e| est.predict_energy(&mut e));
        let t = crate::rt::ticks() - t0;
        match r {
            Ok(e) => {
                let _ = writeln!(
                    out,
                    "energy_heads={} energy_head0={} energy_head1={} energy_total={} \
                     energy_frac_bits={} ticks_energy={t}",
                    e.len, e.heads[0].raw, e.heads[1].raw, e.total.raw, e.total.frac_bits
                );
            }
            Err(s) => crate::fail("energy", s),
        }
    }
}

/// The `estimate` variant: the recommended ANGraph-P (`saved_model/angraph_p`, 48 inputs:
/// activity matrix, operating conditions, load) on the same window, with its 90 % intervals and
/// envelope verdict; the latency's come with the latency prediction.
#[cfg(feature = "estimate")]
mod estimate {
    use angraph_core::trust::Envelope;
    use angraph_core::Model;
    use angraph_embed::EnergyEstimator;
    use core::fmt::Write;
    use core::mem::MaybeUninit;
    use core::ptr::addr_of_mut;

    static POWER: &[u8] = include_bytes!("../fixtures/angraph_p.angq");
    /// Widest layer 64, 48 inputs.
    const WS: usize = EnergyEstimator::workspace_bytes(64, 48);
    static mut WORKSPACE: angraph_embed::Arena<WS> = angraph_embed::Arena::new();
    static mut MODEL: MaybeUninit<Model<'static>> = MaybeUninit::uninit();

    /// `envelope_inside`, and the first out-of-range feature (-1 if none) and the distance.
    pub fn envelope(out: &mut crate::rt::Console, prefix: &str, e: Option<Envelope>) {
        match e {
            Some(e) => {
                let feature = e.out_of_range.map_or(-1, |o| o.feature as i32);
                let _ = writeln!(
                    out,
                    "{prefix}_inside={} {prefix}_feature={feature} {prefix}_distance={} \
                     {prefix}_threshold={}",
                    e.inside() as u32,
                    e.distance,
                    e.threshold
                );
            }
            None => {
                let _ = writeln!(out, "{prefix}_inside=none");
            }
        }
    }

    /// ANGraph-P on the window (before the latency prediction, which consumes it).
    #[inline(never)]
    pub fn run(est: &mut crate::Est<'_>) {
        let mut out = crate::rt::Console;
        // SAFETY: the only references to these statics, in a single-threaded program.
        let (ws, slot) = unsafe { (&mut *addr_of_mut!(WORKSPACE), &mut *addr_of_mut!(MODEL)) };
        let t0 = crate::rt::ticks();
        let r = Model::from_bytes_into(POWER, slot)
            .map_err(angraph_embed::Status::from)
            .and_then(|m| EnergyEstimator::new(m, ws.bytes()))
            .and_then(|mut e| est.predict_energy_assessed(&mut e));
        let t = crate::rt::ticks() - t0;
        let a = match r {
            Ok(a) => a,
            Err(s) => crate::fail("energy", s),
        };
        let e = a.energy;
        let _ = writeln!(
            out,
            "energy_heads={} energy_head0={} energy_head1={} energy_total={} \
             energy_frac_bits={} ticks_energy={t}",
            e.len, e.heads[0].raw, e.heads[1].raw, e.total.raw, e.total.frac_bits
        );
        if let Some(iv) = a.intervals {
            for (k, i) in iv.iter().take(e.len as usize + 1).enumerate() {
                let _ = writeln!(out, "energy_lo{k}={} energy_hi{k}={}", i.lo.raw, i.hi.raw);
            }
        }
        envelope(&mut out, "energy_envelope", a.envelope);
    }
}

/// The core this build targets.
#[cfg(target_abi = "eabihf")]
const CORE: &str = "cortex-m4f";
#[cfg(not(target_abi = "eabihf"))]
const CORE: &str = "cortex-m3";
/// The int16 dot-product kernels compiled in.
#[cfg(feature = "dsp")]
const KERNELS: &str = "smlad";
#[cfg(not(feature = "dsp"))]
const KERNELS: &str = "portable";

/// The DSP kernels against the portable loops on the chip: seeded vectors of every length up
/// to 67 (remainders included) with extreme values mixed in; the number of mismatches.
#[cfg(feature = "dsp")]
#[inline(never)]
fn dsp_check() -> u32 {
    use angraph_core::kernel::{cortex_m_dsp, dot_i8_i16_scalar};
    let mut state = 0x2545_f491_u32;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let (mut w, mut x) = ([0u8; 4 * 67], [0i16; 67]);
    let mut bad = 0;
    for n in 0..=67 {
        for v in w.iter_mut() {
            let r = next();
            *v = match r % 8 {
                0 => 0x80,
                1 => 0x7f,
                _ => r as u8,
            };
        }
        for v in x.iter_mut() {
            let r = next();
            *v = match r % 8 {
                0 => i16::MIN,
                1 => i16::MAX,
                _ => r as i16,
            };
        }
        let xs = &x[..n];
        let mut packed = [0u32; 34];
        cortex_m_dsp::pack(xs, &mut packed);
        let d4 = cortex_m_dsp::dot4_i8_i16(&w[..4 * n], xs);
        let p4 = cortex_m_dsp::dot4_packed(&w[..4 * n], xs, &packed);
        for r in 0..4 {
            let row = &w[r * n..(r + 1) * n];
            let want = dot_i8_i16_scalar(row, xs);
            bad += u32::from(d4[r] != want)
                + u32::from(p4[r] != want)
                + u32::from(cortex_m_dsp::dot_i8_i16(row, xs) != want);
        }
    }
    bad
}

const HEADER: usize = 28;

fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The `.angs` header (version 2, or 3 with each event's load; docs/formats.md): mesh,
/// process, records.
fn stream_header(b: &[u8]) -> Option<(Mesh, ProcessDescriptor, usize)> {
    if b.get(..4)? != b"ANGS" || !matches!(le_u32(b, 4)?, 2 | 3) {
        return None;
    }
    let mesh = Mesh::new(le_u16(b, 8)?, le_u16(b, 10)?).ok()?;
    let process = ProcessDescriptor {
        feature_nm: le_u16(b, 12)?,
        vdd_mv: le_u16(b, 14)?,
        temperature_c: le_u16(b, 16)? as i16,
    };
    let n = le_u32(b, 20)? as usize;
    if b.len() != HEADER + le_u32(b, 24)? as usize {
        return None;
    }
    Some((mesh, process, n))
}

/// One LEB128 value at `*at`.
fn varint(b: &[u8], at: &mut usize) -> Result<u64, Status> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at).ok_or(Status::BufferLength)?;
        *at += 1;
        v |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(Status::BufferLength)
}

/// Feed every record of the stream; the first failing call's status.
fn replay<const N: usize, const E: usize>(
    est: &mut Estimator<'_, N, E>,
    b: &[u8],
) -> Result<(), Status> {
    let (_, _, n) = stream_header(b).ok_or(Status::BufferLength)?;
    let with_load = le_u32(b, 4) == Some(3);
    let (mut at, mut open, mut prev) = (HEADER, false, 0u64);
    for _ in 0..n {
        if with_load && !open {
            // Version 3: each event opens with its load (words, then fires).
            let mut count = || u16::try_from(varint(b, &mut at)?).map_err(|_| Status::BufferLength);
            let load = EventLoad {
                words: count()?,
                fires: count()?,
            };
            est.begin_event_with(load)?;
            open = true;
        }
        let tag = varint(b, &mut at)?;
        if tag == 0 {
            est.end_event()?;
            open = false;
            continue;
        }
        if !open {
            est.begin_event()?;
            open = true;
        }
        let z = varint(b, &mut at)?;
        let enter = prev.wrapping_add((((z >> 1) as i64) ^ -((z & 1) as i64)) as u64);
        let leave = enter.wrapping_add(varint(b, &mut at)?);
        prev = enter;
        est.hop(u32::try_from(tag - 1).unwrap_or(u32::MAX), enter, leave)?;
    }
    Ok(())
}

fn code<T>(r: Result<T, Status>) -> i32 {
    match r {
        Ok(_) => 0,
        Err(s) => s.code(),
    }
}

fn fail(what: &str, s: Status) -> ! {
    let _ = writeln!(rt::Console, "error={what} {} ({})", s.code(), s.message());
    rt::exit(false)
}

/// Load the model into its static and carve the arena.
#[inline(never)]
fn init(mesh: Mesh, process: ProcessDescriptor) -> Est<'static> {
    // SAFETY: the only references to ARENA and MODEL, taken once in this single-threaded
    // program.
    let (arena, slot) = unsafe { (&mut *addr_of_mut!(ARENA), &mut *addr_of_mut!(MODEL)) };
    let model: &'static Model<'static> = match Model::from_bytes_into(LATENCY, slot) {
        Ok(m) => m,
        Err(e) => fail("model", e.into()),
    };
    match Est::new(arena.bytes(), DIMS, model, mesh, process) {
        Ok(e) => e,
        Err(s) => fail("init", s),
    }
}

/// Bad inputs give status codes on the chip, never a panic.
#[inline(never)]
fn robustness(mut est: Est<'static>, mesh: Mesh, process: ProcessDescriptor) {
    let mut out = rt::Console;
    let _ = writeln!(out, "check_predict_twice={}", code(est.predict()));
    let _ = est.reset();
    let _ = writeln!(out, "check_hop_outside_event={}", code(est.hop(0, 0, 0)));
    let _ = est.begin_event();
    let _ = writeln!(
        out,
        "check_out_of_mesh={}",
        code(est.hop(mesh.num_components(), 0, 0))
    );
    let _ = writeln!(out, "check_leave_before_enter={}", code(est.hop(0, 10, 5)));
    let _ = writeln!(out, "check_predict_open_event={}", code(est.predict()));
    let model = est.latency_model();
    // The arena is reused below.
    // SAFETY: single-threaded; the estimator that borrowed the arena is not used again.
    let arena = unsafe { &mut *addr_of_mut!(ARENA) }.bytes();
    let r = Est::new(&mut arena[..ARENA_BYTES / 2], DIMS, model, mesh, process);
    let _ = writeln!(out, "check_small_arena={}", code(r));
    // A stream larger than the capacities: an estimator for 64 components and 64 pairs.
    type Small<'a> = Estimator<'a, 64, 64>;
    match Small::new(&mut *arena, DIMS, model, mesh, process) {
        Ok(mut s) => {
            let _ = writeln!(out, "check_capacity={}", code(replay(&mut s, STREAM)));
        }
        Err(s) => {
            let _ = writeln!(out, "check_capacity=init {}", s.code());
        }
    }
    // Bad blobs, loaded into the model's own static (the model is not used again).
    // SAFETY: single-threaded; nothing borrows MODEL any more.
    let slot = unsafe { &mut *addr_of_mut!(MODEL) };
    let n = LATENCY.len();
    let checks: [(&str, &[u8]); 4] = [
        ("check_truncated_blob", &LATENCY[..n - 7]),
        ("check_shifted_blob", &LATENCY[1..]),
        ("check_wrong_family", TINY_POWER),
        ("check_empty_blob", &[]),
    ];
    for (name, blob) in checks {
        let r = match Model::from_bytes_into(blob, slot) {
            Ok(m) => Est::new(&mut *arena, DIMS, m, mesh, process).map(|_| ()),
            Err(e) => Err(e.into()),
        };
        let _ = writeln!(out, "{name}={}", code(r));
    }
}

#[no_mangle]
pub fn main() -> ! {
    rt::paint_stack();
    rt::ticks_start();
    let mut out = rt::Console;
    let _ = writeln!(
        out,
        "angraph-firmware: {CORE}, kernels {KERNELS}, arena {ARENA_BYTES} bytes"
    );
    #[cfg(feature = "dsp")]
    let _ = writeln!(out, "check_dsp_kernel={}", dsp_check());

    // Calibrate SysTick ticks against instructions (qemu -icount: one instruction per ns).
    let t0 = rt::ticks();
    rt::spin(1_000_000);
    let t1 = rt::ticks();
    let _ = writeln!(out, "calib_insns=2000000 calib_ticks={}", t1 - t0);

    let Some((mesh, process, _)) = stream_header(STREAM) else {
        let _ = writeln!(out, "error=bad stream file");
        rt::exit(false)
    };
    let t0 = rt::ticks();
    let mut est = init(mesh, process);
    let t_init = rt::ticks() - t0;
    let stack_init = rt::stack_peak();
    rt::paint_stack();
    let t0 = rt::ticks();
    if let Err(s) = replay(&mut est, STREAM) {
        fail("replay", s)
    }
    let t_stream = rt::ticks() - t0;
    #[cfg(all(feature = "energy", not(feature = "estimate")))]
    energy::run(&mut est);
    #[cfg(feature = "estimate")]
    estimate::run(&mut est);
    let t0 = rt::ticks();
    let p = match est.predict() {
        Ok(p) => p,
        Err(s) => fail("predict", s),
    };
    let t_predict = rt::ticks() - t0;
    let stack_predict = rt::stack_peak();
    let _ = writeln!(
        out,
        "latency_raw={} latency_frac_bits={} nodes={} edges={} events={} hops={} span_ps={}",
        p.latency.raw,
        p.latency.frac_bits,
        p.nodes,
        p.edges,
        p.summary.events,
        p.summary.hops,
        p.summary.span()
    );
    if let Some(iv) = p.interval {
        let _ = writeln!(out, "latency_lo={} latency_hi={}", iv.lo.raw, iv.hi.raw);
    }
    #[cfg(feature = "estimate")]
    estimate::envelope(&mut out, "latency_envelope", p.envelope);
    let _ = writeln!(
        out,
        "ticks_init={t_init} ticks_stream={t_stream} ticks_predict={t_predict}"
    );
    // The stream again after a reset gives the same prediction.
    let again = code(est.reset()).min(code(replay(&mut est, STREAM)));
    let same = again == 0 && matches!(est.predict(), Ok(q) if q.latency == p.latency);
    let _ = writeln!(out, "repeat_identical={}", same as u32);
    robustness(est, mesh, process);
    let _ = writeln!(
        out,
        "static_ram={} stack_init={stack_init} stack_predict={stack_predict} stack_peak={}",
        rt::static_ram(),
        rt::stack_peak()
    );
    let _ = writeln!(out, "done");
    rt::exit(true)
}
