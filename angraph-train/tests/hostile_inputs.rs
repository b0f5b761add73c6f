//! Hostile input files (issue 12), one small crafted file per class, through the real `angraph`
//! binary (or the library reader where no command reads the file alone): each must be refused
//! with a non-zero exit / an `Err`, an error naming the file and the field (or line / index), and
//! never a panic, an abort or raw terminal escape codes.

mod common;

use angraph_train::dataset::{npy, GraphDataset, PowerDataset};
use angraph_train::stream::Stream;
use common::{original_dir, root, tmp, write_gz};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Run `angraph` in the repository root: (exit code, stderr). A signal (abort, kill by the
/// OOM killer) gives `None`.
fn angraph(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_angraph"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run angraph");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `angraph args` must exit 1 with an error mentioning every one of `want`, without a panic.
fn refused(args: &[&str], want: &[&str]) -> String {
    let (code, err) = angraph(args);
    assert_eq!(code, Some(1), "{args:?}: exit {code:?}, stderr:\n{err}");
    assert!(!err.contains("panicked"), "{args:?}: panic:\n{err}");
    assert!(!err.contains('\x1b'), "{args:?}: raw escape code:\n{err}");
    for w in want {
        assert!(err.contains(w), "{args:?}: {w:?} missing from:\n{err}");
    }
    err
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// An unlabelled OGB folder: `graphs` = (nodes, feature rows, edge rows).
fn ogb(dir: &Path, nodes: &[&str], edges: &[&str], feat: &[&str], edge_rows: &[&str]) {
    let raw = dir.join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    write_gz(&raw.join("num-node-list.csv.gz"), nodes);
    write_gz(&raw.join("num-edge-list.csv.gz"), edges);
    write_gz(&raw.join("node-feat.csv.gz"), feat);
    write_gz(&raw.join("edge.csv.gz"), edge_rows);
}

#[test]
fn ogb_counts_beyond_the_files_are_refused_before_allocating() {
    let root = tmp("hostile-counts");
    // 2^32 - 1 nodes, empty feature file: the row count is checked against the rows present
    // (this aborted on a 16 GiB allocation: the check multiplied by zero features).
    let d = root.join("huge");
    ogb(&d, &["4294967295"], &["0"], &[], &[]);
    refused(
        &["estimate", "--no-stream", "--graph", &s(&d)],
        &["node-feat.csv.gz", "0 rows", "4294967295 nodes"],
    );
    // 2^32 nodes wrapped to 0 as a u32.
    let d = root.join("wrap");
    ogb(&d, &["4294967296"], &["0"], &["1"], &[]);
    refused(
        &["estimate", "--no-stream", "--graph", &s(&d)],
        &["num-node-list.csv.gz", "line 1", "4294967296"],
    );
    // Counts that overflow when summed.
    let d = root.join("sum");
    let big = (u32::MAX).to_string();
    let many: Vec<&str> = std::iter::repeat_n(big.as_str(), 8).collect();
    let zeros: Vec<&str> = std::iter::repeat_n("0", 8).collect();
    ogb(&d, &many, &zeros, &["1"], &[]);
    let (code, err) = angraph(&["estimate", "--no-stream", "--graph", &s(&d)]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("node-feat.csv.gz"), "{err}");
    // More feature rows than the counts allow: refused at the first extra row.
    let d = root.join("extra");
    ogb(&d, &["1"], &["0"], &["1", "2", "3"], &[]);
    refused(
        &["estimate", "--no-stream", "--graph", &s(&d)],
        &["node-feat.csv.gz", "line 2", "more than the 1 rows"],
    );
    std::fs::remove_dir_all(root).ok();
}

#[test]
fn ogb_non_finite_values_name_file_line_and_column() {
    let root = tmp("hostile-finite");
    for (k, bad) in ["nan", "inf", "-inf", "1e39", "NaN"].iter().enumerate() {
        let d = root.join(format!("x{k}"));
        let row = format!("0.5,{bad}");
        ogb(&d, &["2"], &["1"], &["1,2", &row], &["0,1"]);
        refused(
            &["estimate", "--no-stream", "--graph", &s(&d)],
            &["node-feat.csv.gz", "line 2, column 2", "not a finite f32"],
        );
        // Edge features.
        let raw = d.join("raw");
        write_gz(&raw.join("node-feat.csv.gz"), &["1,2", "3,4"]);
        write_gz(&raw.join("edge-feat.csv.gz"), &[&format!("1,{bad}")]);
        refused(
            &["estimate", "--no-stream", "--graph", &s(&d)],
            &["edge-feat.csv.gz", "line 1, column 2", "not a finite f32"],
        );
    }
    // Labels and the system-level estimate (library reader: a labelled dataset).
    let d = original_dir(&root);
    let raw = d.join("raw");
    for bad in ["nan", "1e39", "-inf"] {
        write_gz(&raw.join("graph-label.csv.gz"), &["1500", bad]);
        let e = format!("{:#}", GraphDataset::load(&d).unwrap_err());
        assert!(
            e.contains("graph-label.csv.gz") && e.contains("line 2, column 1"),
            "{e}"
        );
    }
    write_gz(&raw.join("graph-label.csv.gz"), &["1500", "-3"]);
    let e = format!("{:#}", GraphDataset::load(&d).unwrap_err());
    assert!(
        e.contains("graph-label.csv.gz") && e.contains("-3 is not a latency"),
        "{e}"
    );
    std::fs::remove_dir_all(root).ok();
}

/// A gzip file of several members (as `cat a.gz b.gz` gives), each holding some of the rows.
fn write_multi_gz(path: &Path, parts: &[&[&str]]) {
    let mut out = Vec::new();
    for rows in parts {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for r in *rows {
            writeln!(enc, "{r}").unwrap();
        }
        out.extend(enc.finish().unwrap());
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn multi_member_gzip_is_read_to_the_end() {
    let root = tmp("hostile-multigz");
    let d = original_dir(&root);
    let raw = d.join("raw");
    write_multi_gz(&raw.join("num-node-list.csv.gz"), &[&["3"], &["2"]]);
    write_multi_gz(
        &raw.join("node-feat.csv.gz"),
        &[&["1,0.5", "2,0.25"], &["3,0", "1,1", "0,2"]],
    );
    write_multi_gz(&raw.join("graph-label.csv.gz"), &[&["1500"], &["2400"]]);
    let ds = GraphDataset::load(&d).unwrap();
    assert_eq!(ds.graphs.len(), 2);
    assert_eq!(ds.labels, vec![1500.0, 2400.0]);
    assert_eq!(ds.graphs[1].x, vec![1.0, 1.0, 0.0, 2.0]);
    std::fs::remove_dir_all(root).ok();
}

/// Copy the committed dataset `name` into `to` (the files only; small samples).
fn copy_dataset(name: &str, to: &Path) -> PathBuf {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let p = e.unwrap().path();
            let t = to.join(p.file_name().unwrap());
            if p.is_dir() {
                copy(&p, &t);
            } else {
                std::fs::copy(&p, &t).unwrap();
            }
        }
    }
    let d = to.join(name);
    copy(&root().join("data/samples").join(name), &d);
    d
}

fn edit_meta(dir: &Path, from: &str, to: &str) {
    let p = dir.join("meta.json");
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains(from), "{from} not in {}", p.display());
    std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
}

/// The label column of a latency `meta.json`.
const LABEL_UNIT: &str = "\"reference_latency\",\n      \"unit\": \"ns\"";

#[test]
fn meta_json_kind_version_and_unit_are_checked() {
    let root = tmp("hostile-meta");
    let d = copy_dataset("digits_2x2", &root);
    let meta = d.join("meta.json");
    let pristine = std::fs::read_to_string(&meta).unwrap();
    let cases: [(&str, &str, &[&str]); 4] = [
        ("\"kind\": \"latency\"", "\"kind\": \"power\"", &["kind"]),
        (
            "\"feature_set_version\": 2",
            "\"feature_set_version\": 3",
            &["feature_set_version"],
        ),
        (
            LABEL_UNIT,
            "\"reference_latency\",\n      \"unit\": \"parsecs\"",
            &["labels", "unit"],
        ),
        (
            LABEL_UNIT,
            "\"reference_latency\",\n      \"unit\": \"\\u001b[2J\"",
            &["labels", "unit", "\\u{1b}[2J"],
        ),
    ];
    for (from, to, want) in cases {
        std::fs::write(&meta, &pristine).unwrap();
        edit_meta(&d, from, to);
        let e = format!("{:#}", GraphDataset::load(&d).unwrap_err());
        assert!(e.contains("meta.json") && !e.contains('\x1b'), "{e}");
        for w in want {
            assert!(e.contains(w), "{w}: {e}");
        }
    }
    // A `us` unit is a valid dataset, but an ns model refuses to evaluate it (it would report
    // an RMSE in ns labelled us).
    std::fs::write(&meta, &pristine).unwrap();
    edit_meta(
        &d,
        LABEL_UNIT,
        "\"reference_latency\",\n      \"unit\": \"us\"",
    );
    assert!(GraphDataset::load(&d).is_ok());
    let out = root.join("eval");
    refused(
        &[
            "eval",
            "--model",
            "saved_model/angraph_l.safetensors",
            "--data",
            &s(&d),
            "--out",
            &s(&out),
        ],
        &["digits_2x2", "\"us\"", "\"ns\"", "angraph_l.safetensors"],
    );
    // A power dataset read as power with the power-input version of another build.
    let p = copy_dataset("power_digits_2x2", &root);
    edit_meta(
        &p,
        "\"power_input_version\": 3",
        "\"power_input_version\": 4",
    );
    let e = format!("{:#}", PowerDataset::load(&p).unwrap_err());
    assert!(
        e.contains("meta.json") && e.contains("power_input_version"),
        "{e}"
    );
    std::fs::remove_dir_all(root).ok();
}

/// `.npy` bytes with a hand-written header dictionary.
fn npy_with_header(header: &str, body: &[u8]) -> Vec<u8> {
    let mut h = header.to_string();
    h.push_str(&" ".repeat((64 - (10 + h.len() + 1) % 64) % 64));
    h.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(h.len() as u16).to_le_bytes());
    b.extend_from_slice(h.as_bytes());
    b.extend_from_slice(body);
    b
}

#[test]
fn npy_shapes_values_and_headers_are_checked() {
    let root = tmp("hostile-npy");
    let f = root.join("a.npy");
    let run = |bytes: Vec<u8>, want: &[&str]| {
        std::fs::write(&f, bytes).unwrap();
        let mut w = vec![f.to_str().unwrap()];
        w.extend_from_slice(want);
        refused(&["estimate", "--no-stream", "--activity", &s(&f)], &w);
    };
    // (1, 6, 7) holds 42 values but is not the matrix then the conditions row.
    run(
        npy::to_bytes(&[1, 6, 7], &[0.5; 42]).unwrap(),
        &["shape", "[1, 6, 7]"],
    );
    run(npy::to_bytes(&[42], &[0.5; 42]).unwrap(), &["shape"]);
    // Non-finite values, with their index.
    let mut v = vec![0.5f32; 42];
    v[13] = f32::NAN;
    run(
        npy::to_bytes(&[1, 7, 6], &v).unwrap(),
        &["value 13", "[0, 2, 1]", "finite"],
    );
    v[13] = f32::INFINITY;
    run(
        npy::to_bytes(&[1, 7, 6], &v).unwrap(),
        &["value 13", "finite"],
    );
    // An f64 beyond the f32 range is refused, not read as infinity.
    let mut body = Vec::new();
    for i in 0..36 {
        let x: f64 = if i == 5 { 1e39 } else { 0.25 };
        body.extend_from_slice(&x.to_le_bytes());
    }
    run(
        npy_with_header(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 36), }",
            &body,
        ),
        &["value 5", "1000000000000000000000000000000000000000"],
    );
    // Header fields.
    let zeros = [0u8; 36 * 4];
    for (h, want) in [
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 36), 'shape': (1, 36), }",
            "appears twice",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 36), 'extra': 1, }",
            "unknown field",
        ),
        (
            "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 36), }",
            "descr",
        ),
        (
            "{'descr': '<f4', 'fortran_order': 1, 'shape': (1, 36), }",
            "fortran_order",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': )",
            "shape",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,é36), }",
            "shape",
        ),
    ] {
        run(npy_with_header(h, &zeros), &[want]);
    }
    // A header that claims a huge array: refused from the file length, nothing allocated.
    run(
        npy_with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967295, 36), }",
            &zeros,
        ),
        &["data has 144 bytes"],
    );
    std::fs::remove_dir_all(root).ok();
}

#[test]
fn activity_rows_hold_physical_values() {
    let root = tmp("hostile-rows");
    let f = root.join("rows.npy");
    let mut row = vec![0.5f32; 36];
    row.extend([0.65, 1.2, 0.4, 0.25, 0.0, 0.0]);
    for (k, v, want) in [
        (
            7usize,
            -1.0f32,
            "column 7 (switch_allocators.active_fraction): -1 is negative",
        ),
        (
            37,
            0.0,
            "column 37 (operating_conditions.vdd_v): 0 is outside",
        ),
        (3, 3.4e38, "column 3 (router_input_units.busy_time)"),
        (38, -3.0, "column 38 (operating_conditions.temperature)"),
        (40, 5.0, "column 40 (operating_conditions.reserved_4)"),
    ] {
        let mut r = row.clone();
        r[k] = v;
        std::fs::write(&f, npy::to_bytes(&[1, 7, 6], &r).unwrap()).unwrap();
        refused(
            &["estimate", "--no-stream", "--activity", &s(&f)],
            &[f.to_str().unwrap(), "row 0", want],
        );
    }
    std::fs::remove_dir_all(root).ok();
}

#[test]
fn latencies_and_features_have_physical_bounds() {
    let root = tmp("hostile-bounds");
    let d = copy_dataset("digits_2x2", &root);
    let raw = d.join("raw");
    let root_file = |n: &str| common::root().join("data/samples/digits_2x2/raw").join(n);
    let pristine = |n: &str| std::fs::read(root_file(n)).unwrap();
    // A label or estimate of 1e23 ns (finite in f32, beyond 1 s) is refused.
    write_gz(&raw.join("graph-label.csv.gz"), &vec!["1e23"; 150]);
    let e = format!("{:#}", GraphDataset::load(&d).unwrap_err());
    assert!(
        e.contains("graph-label.csv.gz") && e.contains("line 1, column 1"),
        "{e}"
    );
    std::fs::write(
        raw.join("graph-label.csv.gz"),
        pristine("graph-label.csv.gz"),
    )
    .unwrap();
    write_gz(&raw.join("system-estimate.csv.gz"), &vec!["2e9"; 150]);
    let e = format!("{:#}", GraphDataset::load(&d).unwrap_err());
    assert!(
        e.contains("system-estimate.csv.gz") && e.contains("line 1"),
        "{e}"
    );
    std::fs::write(
        raw.join("system-estimate.csv.gz"),
        pristine("system-estimate.csv.gz"),
    )
    .unwrap();
    // A node feature beyond the Q16.16 range.
    let text = {
        let mut t = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(
                std::fs::File::open(root_file("node-feat.csv.gz")).unwrap(),
            ),
            &mut t,
        )
        .unwrap();
        t
    };
    let mut rows: Vec<String> = text.lines().map(str::to_string).collect();
    let mut cells: Vec<&str> = rows[2].split(',').collect();
    cells[4] = "40000";
    rows[2] = cells.join(",");
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    write_gz(&raw.join("node-feat.csv.gz"), &refs);
    let e = format!("{:#}", GraphDataset::load(&d).unwrap_err());
    assert!(
        e.contains("node-feat.csv.gz") && e.contains("line 3, column 5") && e.contains("Q16.16"),
        "{e}"
    );
    std::fs::remove_dir_all(root).ok();
}

#[test]
fn activities_are_whole_counts() {
    let root = tmp("hostile-activities");
    let d = original_dir(&root);
    write_gz(&d.join("raw/edge-feat.csv.gz"), &["4", "2.5", "7"]);
    let e = format!("{:#}", GraphDataset::load(&d).unwrap_err());
    assert!(
        e.contains("edge-feat.csv.gz") && e.contains("line 2") && e.contains("whole number"),
        "{e}"
    );
    std::fs::remove_dir_all(root).ok();
}

#[test]
fn power_labels_must_be_consistent() {
    let root = tmp("hostile-power-labels");
    let d = root.join("p");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("feature.npy"),
        npy::to_bytes(&[2, 6, 6], &[0.5; 72]).unwrap(),
    )
    .unwrap();
    for (labels, want) in [
        ([3.0f32, 2.0, 1.0, 7.0, 4.0, 2.0], "row 1: total energy 7"),
        ([3.0, 2.0, 1.0, 6.0, 8.0, -2.0], "row 1: static energy -2"),
    ] {
        std::fs::write(
            d.join("label.npy"),
            npy::to_bytes(&[2, 3], &labels).unwrap(),
        )
        .unwrap();
        let e = format!("{:#}", PowerDataset::load(&d).unwrap_err());
        assert!(e.contains("label.npy") && e.contains(want), "{e}");
    }
    std::fs::remove_dir_all(root).ok();
}

const TIMED: &str = "data/streams/digits_2x2_sample0.timed.json";

/// The committed 2x2 timed stream with `from` replaced by `to` (once).
fn stream_edit(dir: &Path, name: &str, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join(TIMED)).unwrap();
    assert!(text.contains(from), "{from}");
    let p = dir.join(name);
    std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
    p
}

#[test]
fn streams_bound_timestamps_process_and_labels() {
    let root = tmp("hostile-streams");
    let hop0 = "[\"Injector\", 0, 600]";
    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            hop0,
            "[\"Injector\", 0, 18446744073709551615]".into(),
            &["\"DFS0\"", "hop 0", "leave_ps", "1 s"],
        ),
        (
            hop0,
            "[\"Injector\", 0, 2000000000000]".into(),
            &["\"DFS0\"", "hop 0", "leave_ps"],
        ),
        // Enters the next hop before it left this one.
        (
            hop0,
            "[\"Injector\", 0, 700]".into(),
            &[
                "\"DFS0\"",
                "hop 1",
                "enter_ps",
                "before the previous hop left (700)",
            ],
        ),
        (
            "\"feature_nm\":65",
            "\"feature_nm\":0".into(),
            &["process.feature_nm", "0 nm"],
        ),
        (
            "\"vdd_mv\":1200",
            "\"vdd_mv\":0".into(),
            &["process.vdd_mv", "0 mV"],
        ),
        (
            "\"temperature_c\":65",
            "\"temperature_c\":-300".into(),
            &["process.temperature_c", "-300 degC"],
        ),
        (
            "\"total_nj\":5.4444923",
            "\"total_nj\":9.5".into(),
            &["labels", "total energy 9.5"],
        ),
        (
            "\"static_nj\":0.072212435",
            "\"static_nj\":-0.072212435".into(),
            &["labels", "static energy"],
        ),
        (
            "\"reference_latency_ns\":418.33",
            "\"reference_latency_ns\":1e300".into(),
            &["labels.reference_latency_ns"],
        ),
        (
            "\"dynamic_nj\":5.37228",
            "\"dynamic_nj\":1e39".into(),
            &["labels.dynamic_nj", "finite"],
        ),
        (
            "\"name\":\"tsmc65\"",
            "\"name\":\"\\u001b]0;pwned\\u0007\"".into(),
            &["process.name", "\\u{1b}"],
        ),
        (
            "{\"key\": \"DFS0\"",
            "{\"key\": \"DFS\\u0000\"".into(),
            &["\"DFS\\u{0}\"", "control characters"],
        ),
        (
            "{\"key\": \"DFS0\", \"words\": 6, \"fires\": 0, \"hops\": [[\"Injector\"",
            "{\"key\": \"\\u001b[31mDFS0\", \"hops\": [[\"Inj\\u001bector\"".into(),
            &["\\u{1b}[31mDFS0", "hop 0", "unknown component"],
        ),
        (
            "\"words\": 6, \"fires\": 0",
            "\"words\": 6, \"fires\": 7".into(),
            &["DFS0", "fires", "7 neurons fire but the row has 6 words"],
        ),
        (
            "\"words\": 6, \"fires\": 0",
            "\"words\": 65536, \"fires\": 0".into(),
            &["line 8"],
        ),
        (
            "\"version\": 2",
            "\"version\": 1".into(),
            &["\"words\" / \"fires\" need version 2"],
        ),
    ];
    for (k, (from, to, want)) in cases.iter().enumerate() {
        let p = stream_edit(&root, &format!("s{k}.timed.json"), from, to);
        let mut w = vec![p.to_str().unwrap()];
        w.extend_from_slice(want);
        refused(&["estimate", "--stream", &s(&p)], &w);
        // The library reader gives the same error.
        let e = format!("{:#}", Stream::read(&p).unwrap_err());
        assert!(want.iter().all(|x| e.contains(x)), "{e}");
    }
    std::fs::remove_dir_all(root).ok();
}

#[test]
fn per_graph_errors_name_the_input() {
    // A graph of the dataset that the model cannot run on: the row names the dataset and the
    // graph index, not only the model's complaint.
    let root = tmp("hostile-where");
    let d = root.join("g");
    let feats: Vec<String> = (0..3).map(|_| vec!["1"; 35].join(",")).collect();
    let f: Vec<&str> = feats.iter().map(String::as_str).collect();
    ogb(&d, &["3"], &["2"], &f, &["0,1", "1,2"]);
    let out = Command::new(env!("CARGO_BIN_EXE_angraph"))
        .args(["predict", "--no-power", &s(&d)])
        .current_dir(common::root())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}{err}");
    assert!(!err.contains("panicked"), "{err}");
    let row = text.lines().nth(1).unwrap();
    // In the `input` cell and again in the `error` cell.
    assert_eq!(
        row.matches(&format!("{}#0", d.display())).count(),
        2,
        "{row}"
    );
    std::fs::remove_dir_all(root).ok();
}

/// A spill folder that does not exist is refused with its path (exit 1), and the run folder
/// gets no checkpoint.
#[test]
fn a_missing_spill_folder_is_refused() {
    let out = std::env::temp_dir().join(format!("angraph-spill-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    refused(
        &[
            "train",
            "latency",
            "--data",
            "data/samples/digits_4x4",
            "--out",
            &s(&out),
            "--epochs",
            "1",
            "--graphs",
            "disk",
            "--spill-dir",
            "/nonexistent-angraph-spill",
            "--quiet",
        ],
        &[
            "/nonexistent-angraph-spill",
            "cannot create the graph spill file",
        ],
    );
    assert!(!out.join("last.safetensors").exists());
    let _ = std::fs::remove_dir_all(&out);
}
