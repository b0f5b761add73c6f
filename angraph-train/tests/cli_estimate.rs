//! The main job (`angraph estimate`) on the bundled defaults, and its errors.

mod common;

use common::{angraph, root, tmp};

/// The number after `label` on the first line that contains it.
fn number_after(text: &str, label: &str) -> f64 {
    let line = text.lines().find(|l| l.contains(label)).unwrap_or_else(|| {
        panic!("no `{label}` in:\n{text}");
    });
    let rest = &line[line.find(label).unwrap() + label.len()..];
    rest.split_whitespace()
        .next()
        .and_then(|w| w.trim_end_matches([';', ',']).parse().ok())
        .unwrap_or_else(|| panic!("no number after `{label}` in `{line}`"))
}

#[test]
fn main_job_on_the_bundled_defaults() {
    // The defaults are the recommended models on a committed sample graph, a power row and the
    // recorded stream: real estimates in ns and nJ, checked against the reference labels.
    let (ok, out, err) = angraph(&["estimate"]);
    assert!(ok, "stdout:\n{out}\nstderr:\n{err}");
    println!("{out}");
    assert!(out.contains("graph: data/samples/digits_4x4 #0"), "{out}");
    assert!(out.contains("saved_model/angraph_l.angq"), "{out}");
    let fixed = number_after(&out, "predicted latency (fixed point):");
    let f32_ref = number_after(&out, "angraph_l.safetensors):");
    assert!(fixed.is_finite() && fixed > 0.0);
    assert!(
        (fixed - f32_ref).abs() <= 0.01 * f32_ref.abs(),
        "{fixed} vs {f32_ref}"
    );
    let total = number_after(&out, "total energy (fixed point):");
    let total_ref = number_after(&out, "angraph_p.safetensors): total");
    assert!(
        total.is_finite() && (total - total_ref).abs() <= 0.01 * total_ref.abs(),
        "{total} vs {total_ref}"
    );
    // The recorded stream: ANGraph-L on its graph within 25% of the reference label (the
    // system-level estimate misses it by 20%), ANGraph-P's total within 5% of its label.
    assert!(out.contains("stream: data/streams/"), "{out}");
    let span = number_after(&out, "system-level latency estimate (stream span):");
    let label = number_after(&out, "reference labels in the file: latency");
    let lat = number_after(&out, "ANGraph-L (fixed point) on the stream's graph:");
    assert!(span > 0.0 && label > span, "{out}");
    assert!((lat - label).abs() <= 0.25 * label, "{lat} vs {label}");
    let stream_total = number_after(&out, "), total");
    let total_label = number_after(&out, "nJ, total");
    assert!(
        (stream_total - total_label).abs() <= 0.05 * total_label,
        "{stream_total} vs {total_label}"
    );
    assert!(!out.contains("not a hardware estimate"), "{out}");
}

#[test]
fn the_original_weights_say_what_their_numbers_are() {
    let (ok, out, err) = angraph(&[
        "estimate",
        "--latency-model",
        "saved_model/latency_dataset.angq",
        "--power-model",
        "saved_model/power_ap_mnist_4x4_tsmc28.angq",
        "--graph",
        "data/examples/mesh4x4",
        "--activity",
        "data/examples/mesh4x4/power/feature.npy",
    ]);
    assert!(ok, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("257 nodes"), "{out}");
    let fixed = number_after(&out, "predicted latency (fixed point):");
    let f32_ref = number_after(&out, "latency_dataset.safetensors):");
    assert!(
        fixed.is_finite() && (fixed - f32_ref).abs() <= 0.01 * f32_ref.abs(),
        "{fixed} vs {f32_ref}"
    );
    assert!(out.contains("transform gives 37"), "{out}");
    assert!(out.contains("not a hardware estimate"), "{out}");
}

#[test]
fn stream_can_be_skipped_and_a_bad_stream_is_named() {
    let (ok, out, err) = angraph(&["estimate", "--no-stream"]);
    assert!(ok, "{err}");
    assert!(!out.contains("stream:"), "{out}");
    let dir = tmp("badstream");
    let bad = dir.join("broken.timed.json");
    std::fs::write(&bad, "{\"format\": \"angraph-timed-stream\", \"events\": [").unwrap();
    let (ok, _, err) = angraph(&["estimate", "--stream", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("broken.timed.json"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bundled_example_is_regenerated_byte_for_byte() {
    let dir = tmp("example");
    angraph_train::import::write_example(&dir).unwrap();
    for f in [
        "raw/edge.csv.gz",
        "raw/node-feat.csv.gz",
        "raw/num-node-list.csv.gz",
        "raw/num-edge-list.csv.gz",
        "power/feature.npy",
    ] {
        let committed = root().join("data/examples/mesh4x4").join(f);
        assert_eq!(
            std::fs::read(dir.join(f)).unwrap(),
            std::fs::read(&committed).unwrap(),
            "{} differs from `angraph estimate --write-example`",
            committed.display()
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_inputs_name_the_file_and_fail() {
    let (ok, _, err) = angraph(&["estimate", "--graph", "no/such/dir"]);
    assert!(!ok);
    assert!(err.contains("no/such/dir"), "{err}");
    // A power blob where a latency blob is expected.
    let (ok, _, err) = angraph(&[
        "estimate",
        "--latency-model",
        "saved_model/power_ap_mnist_2x2.angq",
    ]);
    assert!(!ok);
    assert!(err.contains("not an ANGraph-L blob"), "{err}");
    // A corrupted blob.
    let dir = tmp("badblob");
    let mut bytes = std::fs::read(root().join("saved_model/latency_dataset.angq")).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    let bad = dir.join("flipped.angq");
    std::fs::write(&bad, &bytes).unwrap();
    let (ok, _, err) = angraph(&["estimate", "--latency-model", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("flipped.angq"), "{err}");
    // An activity index past the end.
    let (ok, _, err) = angraph(&["estimate", "--activity-index", "100000"]);
    assert!(!ok);
    assert!(err.contains("row 100000 requested"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_untimed_stream_gives_no_latency_from_the_ratio_model() {
    // The DFG JSON form has no timestamps: the system-level estimate the recommended ANGraph-L
    // corrects is 0, so it says so instead of printing 0 ns; ANGraph-P still runs.
    let (ok, out, err) = angraph(&[
        "estimate",
        "--stream",
        "data/streams/digits_4x4_sample0.dfg.json",
    ]);
    assert!(ok, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("no latency from this stream"), "{out}");
    assert!(
        !out.contains("ANGraph-L (fixed point) on the stream's graph"),
        "{out}"
    );
    assert!(
        out.contains("ANGraph-P (fixed point) on the stream's"),
        "{out}"
    );
}

#[test]
fn a_closed_stdout_ends_quietly() {
    // `angraph estimate --no-stream | head -1`: the reader goes away after one line; the
    // process ends by SIGPIPE (status 141 in a shell), with no panic message on stderr.
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_angraph"))
        .args(["estimate", "--no-stream"])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 8];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // stdout is dropped (closed) here; the next write fails.
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert!(
            out.status.signal() == Some(libc_sigpipe()) || out.status.success(),
            "{:?}",
            out.status
        );
    }
}

#[cfg(unix)]
fn libc_sigpipe() -> i32 {
    13 // SIGPIPE on Linux and the BSDs
}
