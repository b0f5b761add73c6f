//! The Cortex-M3 firmware example under `qemu-system-arm` (mps2-an385, semihosting): build it
//! for `thumbv7m-none-eabi`, run it with a timeout, and check that its prediction equals the
//! host fixed-point prediction bit for bit, that bad inputs gave the same status codes as on the
//! host, and that it stayed inside 256 KB of flash (the linker script) and 128 KB of RAM.
//!
//! Needs `qemu-system-arm` and the `thumbv7m-none-eabi` target (`scripts/setup.sh` installs
//! both); without them this test fails and says so.
mod support;

use angraph_core::Model;
use angraph_embed::{Arena, Dims, Estimator, Status};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const QEMU_TIMEOUT: Duration = Duration::from_secs(180);

fn firmware_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware")
}

fn target_dir() -> PathBuf {
    support::target_subdir("firmware")
}

/// The core a firmware build targets: the target triple and QEMU's machine and CPU for it.
#[derive(Clone, Copy)]
enum Core {
    /// Cortex-M3 (`thumbv7m-none-eabi`, mps2-an385): the portable path.
    M3,
    /// Cortex-M4F (`thumbv7em-none-eabihf`, mps2-an386): DSP extension and FPU.
    M4,
}

impl Core {
    fn triple(self) -> &'static str {
        match self {
            Core::M3 => "thumbv7m-none-eabi",
            Core::M4 => "thumbv7em-none-eabihf",
        }
    }
    fn qemu(self) -> [&'static str; 4] {
        match self {
            Core::M3 => ["-machine", "mps2-an385", "-cpu", "cortex-m3"],
            Core::M4 => ["-machine", "mps2-an386", "-cpu", "cortex-m4"],
        }
    }
}

/// `cargo build --release` of the firmware (its own workspace, target and linker script) with
/// `features`; returns a copy of the ELF private to this variant.
fn build_firmware(features: &str) -> PathBuf {
    build_firmware_for(Core::M3, features)
}

/// [`build_firmware`] for a given core.
fn build_firmware_for(core: Core, features: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(firmware_dir())
        .args(["build", "--release", "--target", core.triple()])
        .args(["--features", features, "--target-dir"])
        .arg(target_dir())
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .expect("running cargo to build the firmware");
    assert!(
        out.status.success(),
        "firmware build failed (is the {} target installed? scripts/setup.sh adds it):\n{}",
        core.triple(),
        String::from_utf8_lossy(&out.stderr)
    );
    let elf = target_dir()
        .join(core.triple())
        .join("release/angraph-firmware");
    let copy = target_dir().join(format!(
        "angraph-firmware-{}-{}",
        core.triple(),
        features.replace(',', "-")
    ));
    std::fs::copy(&elf, &copy).expect("copying the firmware ELF");
    copy
}

/// Run the ELF under QEMU with `-icount shift=0` (one instruction per virtual ns) and return
/// its semihosting output (QEMU writes it to stderr).
fn run_qemu(elf: &Path) -> String {
    run_qemu_on(Core::M3, elf)
}

/// [`run_qemu`] on the board of a given core.
fn run_qemu_on(core: Core, elf: &Path) -> String {
    let mut child = Command::new("qemu-system-arm")
        .args(core.qemu())
        .args([
            "-nographic",
            "-monitor",
            "none",
            "-serial",
            "none",
            "-semihosting-config",
            "enable=on,target=native",
            "-icount",
            "shift=0",
            "-kernel",
        ])
        .arg(elf)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("qemu-system-arm not found: scripts/setup.sh installs it");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("waiting for qemu") {
            break s;
        }
        if start.elapsed() > QEMU_TIMEOUT {
            let _ = child.kill();
            let mut out = String::new();
            let _ = child.stderr.take().map(|mut o| o.read_to_string(&mut out));
            panic!("qemu timed out after {QEMU_TIMEOUT:?} (firmware hung?); output:\n{out}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    let mut err = String::new();
    let _ = child.stdout.take().map(|mut o| o.read_to_string(&mut out));
    let _ = child.stderr.take().map(|mut o| o.read_to_string(&mut err));
    assert!(
        status.success(),
        "firmware exited with {status}:\n{out}\n{err}"
    );
    out + &err
}

fn parse(out: &str) -> HashMap<String, String> {
    out.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn num(kv: &HashMap<String, String>, k: &str) -> i64 {
    kv.get(k)
        .unwrap_or_else(|| panic!("firmware printed no `{k}`"))
        .parse()
        .unwrap_or_else(|_| panic!("`{k}` is not a number"))
}

/// The status the host gets replaying the stream into a 64-component, 64-pair estimator (the
/// firmware's capacity check).
fn small_capacity_status(model: &Model<'_>, s: &support::Stream) -> Status {
    type Small<'a> = Estimator<'a, 64, 64>;
    let mut arena = vec![0u8; Small::arena_bytes(Dims::ORIGINAL)];
    let mut est = Small::new(&mut arena, Dims::ORIGINAL, model, s.mesh, s.process).unwrap();
    let r: Result<(), Status> = s.events.iter().try_for_each(|ev| {
        est.begin_event()?;
        ev.iter()
            .try_for_each(|h| est.hop(h.id, h.enter, h.leave))?;
        est.end_event()
    });
    let status = r.unwrap_err();
    assert!(matches!(
        status,
        Status::NodeCapacity | Status::EdgeCapacity
    ));
    status
}

#[test]
fn firmware_under_qemu_equals_host_bit_for_bit() {
    let elf = build_firmware("");
    let out = run_qemu(&elf);
    let kv = parse(&out);
    assert!(out.contains("\ndone"), "firmware did not finish:\n{out}");

    // Host: the core's fixed-point prediction on the transform's graph of the same stream, and
    // the streaming estimator on the host.
    let blob = std::fs::read(firmware_dir().join("fixtures/latency.angq")).unwrap();
    let stream = support::example_stream();
    let host = support::host_latency(&blob, &stream);
    let model = Model::from_bytes(&blob).unwrap();
    type Est<'a> = Estimator<'a, { support::NODES }, { support::EDGES }>;
    let mut arena = Box::new(Arena::<{ Est::arena_bytes(Dims::ORIGINAL) }>::new());
    let mut est = Est::new(
        arena.bytes(),
        Dims::ORIGINAL,
        &model,
        stream.mesh,
        stream.process,
    )
    .unwrap();
    for (i, ev) in stream.events.iter().enumerate() {
        est.begin_event_with(stream.load(i)).unwrap();
        for h in ev {
            est.hop(h.id, h.enter, h.leave).unwrap();
        }
        est.end_event().unwrap();
    }
    let p = est.predict().unwrap();
    assert_eq!(p.latency, host);

    assert_eq!(
        num(&kv, "latency_raw"),
        host.raw as i64,
        "chip vs host:\n{out}"
    );
    assert_eq!(num(&kv, "latency_frac_bits"), host.frac_bits as i64);
    assert_eq!(num(&kv, "nodes"), p.nodes as i64);
    assert_eq!(num(&kv, "edges"), p.edges as i64);
    assert_eq!(num(&kv, "events"), p.summary.events as i64);
    assert_eq!(num(&kv, "hops"), p.summary.hops as i64);
    assert_eq!(num(&kv, "span_ps"), p.summary.span() as i64);
    assert_eq!(num(&kv, "repeat_identical"), 1);

    // Bad inputs: the same status codes as the host API gives.
    let expected = [
        ("check_predict_twice", Status::NeedsReset),
        ("check_hop_outside_event", Status::StreamOrder),
        ("check_out_of_mesh", Status::OutOfMesh),
        ("check_leave_before_enter", Status::StreamOrder),
        ("check_predict_open_event", Status::StreamOrder),
        ("check_truncated_blob", Status::Checksum),
        ("check_shifted_blob", Status::BadMagic),
        ("check_wrong_family", Status::WrongFamily),
        ("check_empty_blob", Status::BadMagic),
        ("check_small_arena", Status::ArenaTooSmall),
        ("check_capacity", small_capacity_status(&model, &stream)),
    ];
    for (k, s) in expected {
        assert_eq!(num(&kv, k), s.code() as i64, "{k}:\n{out}");
    }
    let n = blob.len();
    assert_eq!(
        Model::from_bytes(&blob[..n - 7])
            .map(|_| ())
            .map_err(Status::from),
        Err(Status::Checksum)
    );

    // RAM: statics plus the painted stack's high-water mark within 128 KB (flash and static
    // RAM are enforced by the linker script).
    let ram = num(&kv, "static_ram") + num(&kv, "stack_init").max(num(&kv, "stack_peak"));
    assert!(ram <= 128 * 1024, "RAM {ram} bytes exceeds 128 KB:\n{out}");
    // SysTick calibration: 40 instructions per tick (25 MHz SysTick, -icount shift=0).
    let calib = num(&kv, "calib_ticks");
    assert!((49_000..=51_000).contains(&calib), "calibration {calib}");

    energy_firmware_runs_the_original_angraph_p_bit_for_bit();
    trained_firmware_runs_the_trained_angraph_l_bit_for_bit();
    estimate_firmware_runs_both_recommended_models_bit_for_bit();
    cortex_m4_dsp_kernels_equal_the_portable_path();
}

/// The Cortex-M4F builds (`thumbv7em-none-eabihf` on mps2-an386): with the SMLAD kernels
/// (feature `dsp`) the firmware checks them against the portable loops on the chip, and both
/// the original-size placeholder and the estimate variant predict the host's bits.
fn cortex_m4_dsp_kernels_equal_the_portable_path() {
    let stream = support::example_stream();
    let placeholder = std::fs::read(firmware_dir().join("fixtures/latency.angq")).unwrap();
    let host = support::host_latency(&placeholder, &stream);
    for features in ["", "dsp"] {
        let out = run_qemu_on(Core::M4, &build_firmware_for(Core::M4, features));
        let kv = parse(&out);
        assert!(
            out.contains("\ndone"),
            "M4 firmware ({features}) did not finish:\n{out}"
        );
        assert!(out.contains("cortex-m4f"), "{out}");
        assert_eq!(
            num(&kv, "latency_raw"),
            host.raw as i64,
            "M4 {features}:\n{out}"
        );
        if features == "dsp" {
            assert!(out.contains("kernels smlad"), "{out}");
            assert_eq!(
                num(&kv, "check_dsp_kernel"),
                0,
                "DSP kernel mismatches:\n{out}"
            );
        }
    }
    let out = run_qemu_on(Core::M4, &build_firmware_for(Core::M4, "estimate,dsp"));
    let kv = parse(&out);
    assert!(
        out.contains("\ndone"),
        "M4 estimate firmware did not finish:\n{out}"
    );
    let m3 = parse(&run_qemu(&build_firmware("estimate")));
    for k in [
        "latency_raw",
        "latency_lo",
        "latency_hi",
        "energy_total",
        "energy_lo2",
    ] {
        assert_eq!(kv[k], m3[k], "{k}: M4 with SMLAD vs M3 portable");
    }
}

/// The `estimate` variant: the recommended ANGraph-L and ANGraph-P on one window, with their
/// intervals and envelope verdicts, equal to angraph-core's assessed paths on the host; inside
/// 192 KiB of flash and 112 KiB of static RAM (issue 16's budget for this build).
fn estimate_firmware_runs_both_recommended_models_bit_for_bit() {
    use angraph_core::{latency, power};
    let elf = build_firmware("estimate");
    let out = run_qemu(&elf);
    let kv = parse(&out);
    assert!(out.contains("\ndone"), "firmware did not finish:\n{out}");
    let fixture = |f: &str| std::fs::read(firmware_dir().join("fixtures").join(f)).unwrap();
    let (lat, pow) = (fixture("angraph_l.angq"), fixture("angraph_p.angq"));
    let (model, power_model) = (
        Model::from_bytes(&lat).unwrap(),
        Model::from_bytes(&pow).unwrap(),
    );
    let s = support::example_stream();
    assert!(
        s.loads.iter().any(|l| l.words > 0),
        "the example stream carries no load"
    );
    let g = support::host_graph(&s).unwrap();
    let v = g.view();
    let mut ws = vec![0u8; latency::required_workspace(&model, v.num_nodes(), v.num_edges())];
    let host = latency::predict_assessed(&model, &v, &mut ws).unwrap();
    let in_dim = power_model.power_config().unwrap().in_dim as usize;
    let x = support::host_power_input(&s, in_dim);
    let mut pws = vec![0u8; power::required_workspace(&power_model)];
    let e = power::predict_assessed(&power_model, &x, &mut pws).unwrap();
    let at = |k: &str| num(&kv, k);
    assert_eq!(
        at("latency_raw"),
        host.value.raw as i64,
        "chip vs host:\n{out}"
    );
    let iv = host.interval.expect("angraph_l.angq has a trust section");
    assert_eq!(
        (at("latency_lo"), at("latency_hi")),
        (iv.lo.raw as i64, iv.hi.raw as i64)
    );
    let env = host.envelope.unwrap();
    assert_eq!(at("latency_envelope_inside"), env.inside() as i64);
    assert_eq!(at("latency_envelope_distance"), env.distance);
    assert_eq!(at("energy_heads"), e.energy.len as i64);
    assert_eq!(at("energy_head0"), e.energy.heads[0].raw as i64, "{out}");
    assert_eq!(at("energy_head1"), e.energy.heads[1].raw as i64);
    assert_eq!(at("energy_total"), e.energy.total.raw as i64);
    let ivs = e.intervals.expect("angraph_p.angq has a trust section");
    for (k, i) in ivs.iter().take(e.energy.len as usize + 1).enumerate() {
        assert_eq!(
            at(&format!("energy_lo{k}")),
            i.lo.raw as i64,
            "interval {k}"
        );
        assert_eq!(
            at(&format!("energy_hi{k}")),
            i.hi.raw as i64,
            "interval {k}"
        );
    }
    let penv = e.envelope.unwrap();
    assert_eq!(at("energy_envelope_inside"), penv.inside() as i64);
    assert_eq!(at("energy_envelope_distance"), penv.distance);
    // A recorded stream of a configuration both models were trained on: inside both envelopes,
    // and a latency of the order of the stream's span.
    assert_eq!(at("latency_envelope_inside"), 1, "{out}");
    assert_eq!(at("energy_envelope_inside"), 1, "{out}");
    let ns = host.value.to_f32() * model.body().label_scale;
    let span_ns = at("span_ps") as f32 / 1000.0;
    assert!(
        ns > 0.5 * span_ns && ns < 4.0 * span_ns,
        "ANGraph-L predicts {ns} ns for a stream spanning {span_ns} ns"
    );
    // Issue 16's budget for this build.
    let sizes = section_sizes(&elf);
    let flash = sizes[".vector_table"] + sizes[".text"] + sizes[".rodata"] + sizes[".data"];
    assert!(flash <= 192 * 1024, "flash {flash} bytes exceeds 192 KiB");
    let stat = at("static_ram");
    assert!(
        stat <= 112 * 1024,
        "static RAM {stat} bytes exceeds 112 KiB:\n{out}"
    );
}

/// Section sizes of an ELF (`arm-none-eabi-size -A`).
fn section_sizes(elf: &Path) -> HashMap<String, i64> {
    let out = Command::new("arm-none-eabi-size")
        .arg("-A")
        .arg(elf)
        .output()
        .expect("arm-none-eabi-size (scripts/setup.sh installs gcc-arm-none-eabi)");
    assert!(out.status.success(), "arm-none-eabi-size failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?.to_string(), f.next()?.parse().ok()?))
        })
        .collect()
}

/// The `trained` variant: the trained ANGraph-L (transferred to tsmc28, the stream's node) in
/// place of the random-weight placeholder. (Called from the main firmware test, like `energy`.)
fn trained_firmware_runs_the_trained_angraph_l_bit_for_bit() {
    let elf = build_firmware("trained");
    let out = run_qemu(&elf);
    let kv = parse(&out);
    assert!(out.contains("\ndone"), "firmware did not finish:\n{out}");
    let blob = std::fs::read(firmware_dir().join("fixtures/trained_latency.angq")).unwrap();
    let host = support::host_latency(&blob, &support::example_stream());
    assert_eq!(
        num(&kv, "latency_raw"),
        host.raw as i64,
        "chip vs host:\n{out}"
    );
    assert_eq!(num(&kv, "latency_frac_bits"), host.frac_bits as i64);
    // A trained model predicts a latency of the order of the system-level span (the reference
    // level is slower: contention, handshakes), unlike the placeholder.
    let ns = host.to_f32() * Model::from_bytes(&blob).unwrap().body().label_scale;
    let span_ns = num(&kv, "span_ps") as f32 / 1000.0;
    assert!(
        ns > span_ns && ns < 4.0 * span_ns,
        "trained ANGraph-L predicts {ns} ns for a stream spanning {span_ns} ns"
    );
    let ram = num(&kv, "static_ram") + num(&kv, "stack_init").max(num(&kv, "stack_peak"));
    assert!(ram <= 128 * 1024, "RAM {ram} bytes exceeds 128 KB:\n{out}");
}

/// The `energy` variant: the imported original ANGraph-P on the stream's activity matrix.
/// (Called from the main firmware test: both variants share one target dir and ELF path, and
/// test runners may run tests in parallel processes.)
fn energy_firmware_runs_the_original_angraph_p_bit_for_bit() {
    let elf = build_firmware("energy");
    let out = run_qemu(&elf);
    let kv = parse(&out);
    assert!(out.contains("\ndone"), "firmware did not finish:\n{out}");
    // Host: the core's ANGraph-P on the core's activity matrix of the same stream.
    let blob = std::fs::read(firmware_dir().join("fixtures/power.angq")).unwrap();
    let e = [support::host_energy(&blob, &support::example_stream())];
    assert_eq!(num(&kv, "energy_heads"), 2);
    assert_eq!(num(&kv, "energy_head0"), e[0].heads[0].raw as i64, "{out}");
    assert_eq!(num(&kv, "energy_head1"), e[0].heads[1].raw as i64);
    assert_eq!(num(&kv, "energy_total"), e[0].total.raw as i64);
    assert_eq!(num(&kv, "energy_frac_bits"), e[0].total.frac_bits as i64);
    let ram = num(&kv, "static_ram") + num(&kv, "stack_init").max(num(&kv, "stack_peak"));
    assert!(ram <= 128 * 1024, "RAM {ram} bytes exceeds 128 KB:\n{out}");
}

/// The C firmware example (`firmware/c`): `main.c` against `include/angraph.h`, linked with
/// arm-none-eabi-gcc against the thumbv7m staticlib and the budget memory map.
fn build_c_firmware() -> PathBuf {
    let dir = support::target_subdir("firmware-c");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(cargo)
        .current_dir(manifest)
        .args([
            "build",
            "--quiet",
            "--release",
            "-p",
            "angraph-embed",
            "--lib",
        ])
        // Whole-program LTO in one codegen unit, optimised for size: the C example carries the
        // original-size ANGraph-L (131 KB) and its stream in the 256 KB flash part.
        .args([
            "--config",
            "profile.release.lto=\"fat\"",
            "--config",
            "profile.release.codegen-units=1",
            "--config",
            "profile.release.opt-level=\"s\"",
        ])
        .args(["--target", "thumbv7m-none-eabi", "--target-dir"])
        .arg(&dir)
        .output()
        .expect("running cargo to build the thumbv7m staticlib");
    assert!(
        out.status.success(),
        "thumbv7m staticlib build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::copy(firmware_dir().join("memory-budget.x"), dir.join("memory.x")).unwrap();
    let elf = dir.join("angraph-firmware-c.elf");
    let c = firmware_dir().join("c");
    let out = Command::new("arm-none-eabi-gcc")
        .current_dir(&c)
        .args([
            "-mcpu=cortex-m3",
            "-mthumb",
            "-O2",
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
        ])
        .args([
            "-ffreestanding",
            "-nostdlib",
            "-Wl,--gc-sections",
            "-Wl,--no-warn-execstack",
        ])
        .arg(format!("-I{}", manifest.join("include").display()))
        .arg(format!(
            "-Wa,-I{}",
            firmware_dir().join("fixtures").display()
        ))
        .arg(format!("-L{}", dir.display()))
        .arg(format!("-T{}", firmware_dir().join("link.x").display()))
        .args(["main.c", "blobs.S"])
        .arg(dir.join("thumbv7m-none-eabi/release/libangraph_embed.a"))
        .args(["-lgcc", "-o"])
        .arg(&elf)
        .output()
        .expect("arm-none-eabi-gcc not found: scripts/setup.sh installs gcc-arm-none-eabi");
    assert!(
        out.status.success(),
        "C firmware compile/link failed (the link enforces 256 KB flash / 128 KB RAM):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    elf
}

#[test]
fn c_firmware_under_qemu_equals_host_bit_for_bit() {
    let elf = build_c_firmware();
    let out = run_qemu(&elf);
    let kv = parse(&out);
    assert!(out.contains("\ndone"), "C firmware did not finish:\n{out}");
    let blob = std::fs::read(firmware_dir().join("fixtures/latency.angq")).unwrap();
    let stream = support::example_stream();
    let host = support::host_latency(&blob, &stream);
    let g = support::host_graph(&stream).unwrap();
    for k in ["init", "replay", "predict"] {
        assert_eq!(num(&kv, k), 0, "{k}:\n{out}");
    }
    assert_eq!(num(&kv, "latency_raw"), host.raw as i64, "{out}");
    assert_eq!(num(&kv, "latency_frac_bits"), host.frac_bits as i64);
    assert_eq!(num(&kv, "nodes"), (g.row_ptr.len() - 1) as i64);
    assert_eq!(num(&kv, "edges"), g.src.len() as i64);
    assert_eq!(
        num(&kv, "err_predict_consumed"),
        Status::NeedsReset.code() as i64
    );
    assert_eq!(num(&kv, "err_out_of_mesh"), Status::OutOfMesh.code() as i64);
    assert_eq!(
        num(&kv, "err_truncated_blob"),
        Status::Checksum.code() as i64
    );
    assert!(num(&kv, "arena_bytes") <= num(&kv, "arena_static"));
    let ram = num(&kv, "static_ram") + num(&kv, "stack_peak");
    assert!(ram <= 128 * 1024, "RAM {ram} bytes exceeds 128 KB:\n{out}");
}

#[test]
fn fixtures_are_reproducible() {
    // make_fixture writes these from seeds; regenerating gives the committed bytes.
    let dir = firmware_dir().join("fixtures");
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    // stream.angs is a recorded input (see make_fixture): it decodes and re-encodes exactly.
    assert!(read("stream.angs") == support::example_stream().to_bytes());
    assert!(
        read("latency.angq") == support::placeholder_latency_blob(),
        "latency.angq is stale: cargo run -p angraph-embed --example make_fixture"
    );
    assert!(read("tiny_power.angq") == support::tiny_power_blob());
    // power.angq is a snapshot of saved_model/ taken by make_fixture (the energy check compares
    // chip and host on the snapshot itself).
    assert!(Model::from_bytes(&read("power.angq")).is_ok());
    // trained_latency.angq is a snapshot of the committed trained model: retraining it means
    // re-running make_fixture.
    for (fixture, source) in [
        ("trained_latency.angq", support::TRAINED_LATENCY),
        ("angraph_l.angq", support::RECOMMENDED_LATENCY),
        ("angraph_p.angq", support::RECOMMENDED_POWER),
    ] {
        assert!(
            read(fixture) == std::fs::read(support::repo_root().join(source)).unwrap(),
            "{fixture} differs from {source}: cargo run -p angraph-embed --example make_fixture"
        );
    }
}
