//! The C ABI from C: compile `tests/c/angraph_test.c` against `include/angraph.h` and the
//! `staticlib` (`libangraph_embed.a`, built by cargo with this test) with the system C compiler,
//! run it on the firmware fixtures, and check every value it prints against the Rust results.
mod support;

use angraph_core::power::{self, Energy};
use angraph_core::{Fixed, Model};
use angraph_embed::Status;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Build `libangraph_embed.a` (default features: the header's capacities) in a target dir of
/// its own, so the library the C program links is exactly this source with these features
/// (the uplifted `target/debug/libangraph_embed.a` may come from a build with other features).
fn staticlib() -> PathBuf {
    let target = support::target_subdir("c-abi");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(manifest())
        .args([
            "build",
            "--quiet",
            "-p",
            "angraph-embed",
            "--lib",
            "--target-dir",
        ])
        .arg(&target)
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .expect("running cargo to build the staticlib");
    assert!(
        out.status.success(),
        "staticlib build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lib = target.join("debug/libangraph_embed.a");
    assert!(lib.exists(), "{} not found", lib.display());
    lib
}

fn scratch_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("angraph-c-abi-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn parse(out: &str) -> HashMap<String, String> {
    out.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn c_program_agrees_with_rust() {
    let dir = scratch_dir();
    let exe = dir.join("angraph_test");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .args(["-std=c11", "-O1", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(manifest().join("include"))
        .arg(manifest().join("tests/c/angraph_test.c"))
        .arg(staticlib())
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("running the C compiler `{cc}`: {e}"));
    assert!(
        out.status.success(),
        "C compile failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The graph file: the transform's graph of the example stream as COO.
    let stream = support::example_stream();
    let g = support::host_graph(&stream).unwrap();
    let n = g.row_ptr.len() - 1;
    let e = g.src.len();
    let mut bytes = Vec::new();
    bytes.extend((n as u32).to_le_bytes());
    bytes.extend((e as u32).to_le_bytes());
    g.x.iter().for_each(|v| bytes.extend(v.to_le_bytes()));
    let mut dst = Vec::with_capacity(e);
    for v in 0..n {
        for _ in g.row_ptr[v]..g.row_ptr[v + 1] {
            dst.push(v as u32);
        }
    }
    g.src.iter().for_each(|v| bytes.extend(v.to_le_bytes()));
    dst.iter().for_each(|v| bytes.extend(v.to_le_bytes()));
    g.weight.iter().for_each(|v| bytes.extend(v.to_le_bytes()));
    let graph_file = dir.join("graph.bin");
    std::fs::write(&graph_file, &bytes).unwrap();

    let fx = manifest().join("firmware/fixtures");
    let run = Command::new(&exe)
        .arg(fx.join("latency.angq"))
        .arg(fx.join("stream.angs"))
        .arg(&graph_file)
        .arg(fx.join("tiny_power.angq"))
        .arg(fx.join("power.angq"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(
        run.status.success(),
        "C program failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let kv = parse(&stdout);
    let get = |k: &str| -> String {
        kv.get(k)
            .cloned()
            .unwrap_or_else(|| panic!("C program printed no `{k}`:\n{stdout}"))
    };
    let num = |k: &str| -> i64 { get(k).parse().unwrap() };

    let blob = std::fs::read(fx.join("latency.angq")).unwrap();
    let host = support::host_latency(&blob, &stream);
    assert_eq!(num("done"), 1);
    assert_eq!(num("init"), 0);
    assert_eq!(num("replay"), 0);
    assert_eq!(num("predict"), 0);
    assert_eq!(num("latency_raw"), host.raw as i64, "{stdout}");
    assert_eq!(num("latency_frac_bits"), host.frac_bits as i64);
    assert_eq!(num("nodes"), n as i64);
    assert_eq!(num("edges"), e as i64);
    assert_eq!(num("predict_graph"), 0);
    assert_eq!(num("graph_raw"), host.raw as i64);
    assert_eq!(num("graph_frac_bits"), host.frac_bits as i64);
    assert!(num("arena_bytes") <= num("arena_bound"));
    assert_eq!(num("max_nodes"), 257);

    let codes = [
        ("err_predict_consumed", Status::NeedsReset),
        ("err_hop_outside_event", Status::StreamOrder),
        ("err_out_of_mesh", Status::OutOfMesh),
        ("err_leave_before_enter", Status::StreamOrder),
        ("err_null_handle", Status::NullArgument),
        ("err_null_out", Status::NullArgument),
        ("err_no_power_model", Status::NoPowerModel),
        ("err_graph_out_of_range", Status::InvalidGraph),
        ("err_graph_feature_width", Status::ModelTooLarge),
        ("err_graph_too_many_nodes", Status::NodeCapacity),
        ("err_truncated_blob", Status::Checksum),
        ("err_wrong_family", Status::WrongFamily),
        ("err_small_arena", Status::ArenaTooSmall),
        ("err_bad_mesh", Status::OutOfMesh),
        ("err_stale_handle_after_failed_init", Status::InvalidHandle),
        ("err_component_name", Status::OutOfMesh),
        ("err_energy_length", Status::BufferLength),
    ];
    for (k, s) in codes {
        assert_eq!(num(k), s.code() as i64, "{k}:\n{stdout}");
    }
    assert_eq!(num("err_reset"), 0);
    let detail = stdout
        .lines()
        .find_map(|l| l.strip_prefix("last_error="))
        .unwrap_or_default();
    assert_eq!(
        detail,
        angraph_core::Error::Stream("hop leaves before it enters").to_string()
    );
    assert_eq!(num("last_error_len"), detail.len() as i64);
    assert_eq!(num("component_id_rc"), 0);
    assert_eq!(num("component_id"), 16 * 3 + 10);
    assert!(stdout.contains(&format!("msg_checksum={}", Status::Checksum.message())));
    assert!(stdout.contains("msg_unknown=unknown status"));

    // Energy: the C result equals angraph_core's ANGraph-P on the same vector.
    assert_eq!(num("init_power"), 0);
    assert_eq!(num("predict_energy"), 0);
    let tiny = std::fs::read(fx.join("tiny_power.angq")).unwrap();
    let pm = Model::from_bytes(&tiny).unwrap();
    let mut outp = [Energy::<Fixed>::ZERO];
    let mut ws = vec![0u8; power::required_workspace(&pm)];
    power::predict_fixed(&pm, &[1 << 16, 0, 3 << 15, 1 << 14], &mut outp, &mut ws).unwrap();
    assert_eq!(num("energy_heads"), outp[0].len as i64);
    assert_eq!(num("energy_head0"), outp[0].heads[0].raw as i64);
    assert_eq!(num("energy_total"), outp[0].total.raw as i64);
    assert_eq!(num("energy_frac_bits"), outp[0].total.frac_bits as i64);
    // Latency and energy from the stream through one handle with both models.
    let opow = std::fs::read(fx.join("power.angq")).unwrap();
    let e = support::host_energy(&opow, &stream);
    for k in [
        "init_original_power",
        "replay_with_energy",
        "predict_with_energy",
    ] {
        assert_eq!(num(k), 0, "{k}:\n{stdout}");
    }
    assert_eq!(num("stream_has_energy"), 1);
    assert_eq!(num("stream_energy_head0"), e.heads[0].raw as i64);
    assert_eq!(num("stream_energy_head1"), e.heads[1].raw as i64);
    assert_eq!(num("stream_energy_total"), e.total.raw as i64);
    assert_eq!(num("stream_energy_frac_bits"), e.total.frac_bits as i64);
    assert_eq!(num("stream_latency_raw"), host.raw as i64);
    let _ = std::fs::remove_dir_all(&dir);
}
