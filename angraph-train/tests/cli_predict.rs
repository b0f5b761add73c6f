//! The batch command (`angraph predict`): columns, one row per input in order, error rows and
//! exit codes, the same numbers as `angraph estimate`, JSON lines, input lists, threads.

mod common;

use common::{root, tmp};
use std::io::{BufRead, Write};
use std::process::{Command, Stdio};

const TIMED: &str = "data/streams/digits_4x4_sample0.timed.json";
const DFG: &str = "data/streams/digits_4x4_sample0.dfg.json";

const HEADER: &str = "input,latency_ns,latency_lo_ns,latency_hi_ns,dynamic_nj,dynamic_lo_nj,\
dynamic_hi_nj,static_nj,static_lo_nj,static_hi_nj,total_nj,total_lo_nj,total_hi_nj,in_envelope,\
why,system_estimate_ns,error";

/// Run `angraph` in the repository root: (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_angraph"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run angraph");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// RFC 4180 records (quoted fields may hold commas, quotes and line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && row.is_empty(),
        "unterminated last record"
    );
    rows
}

/// Header checked, then the records as maps column -> cell.
fn records(out: &str) -> Vec<std::collections::HashMap<String, String>> {
    let rows = parse_csv(out);
    assert_eq!(rows[0].join(","), HEADER);
    rows[1..]
        .iter()
        .map(|r| {
            assert_eq!(r.len(), rows[0].len(), "{r:?}");
            rows[0].iter().cloned().zip(r.iter().cloned()).collect()
        })
        .collect()
}

fn num(cell: &str) -> f64 {
    cell.parse()
        .unwrap_or_else(|_| panic!("not a number: {cell:?}"))
}

/// The number after `label` on the first line of `text` containing it.
fn number_after(text: &str, label: &str) -> String {
    let line = text.lines().find(|l| l.contains(label)).unwrap();
    let rest = &line[line.find(label).unwrap() + label.len()..];
    rest.split_whitespace().next().unwrap().to_string()
}

#[test]
fn both_stream_forms_one_row_each_and_the_untimed_one_says_timed() {
    let (code, out, err) = run(&["predict", TIMED, DFG]);
    assert_eq!(code, 1, "a failed row exits 1\n{out}\n{err}");
    let r = records(&out);
    assert_eq!(r.len(), 2, "{out}");
    assert_eq!(r[0]["input"], TIMED);
    assert_eq!(r[0]["error"], "");
    let lat = num(&r[0]["latency_ns"]);
    let span = num(&r[0]["system_estimate_ns"]);
    assert!((span - 336.42).abs() < 1e-9, "{span}");
    // The reference label of the recorded stream is 422.386 ns, total 13.206 nJ.
    assert!((lat - 422.386).abs() <= 0.25 * 422.386, "{lat}");
    let (d, s, t) = (
        num(&r[0]["dynamic_nj"]),
        num(&r[0]["static_nj"]),
        num(&r[0]["total_nj"]),
    );
    assert!((t - 13.206).abs() <= 0.05 * 13.206, "{t}");
    assert!((d + s - t).abs() <= 1e-3 * t, "{d} + {s} vs {t}");
    // The recommended blobs carry trust sections: intervals around the point predictions and
    // an envelope verdict (a recorded digits 4x4 stream is like the training data).
    let (lo, hi) = (num(&r[0]["latency_lo_ns"]), num(&r[0]["latency_hi_ns"]));
    assert!(
        lo < lat && lat < hi && hi < 2.0 * lat && lo > 0.5 * lat,
        "{lo} {lat} {hi}"
    );
    let (tlo, thi) = (num(&r[0]["total_lo_nj"]), num(&r[0]["total_hi_nj"]));
    assert!(tlo < t && t < thi, "{tlo} {t} {thi}");
    assert_eq!(r[0]["in_envelope"], "true");
    assert_eq!(r[0]["why"], "");
    assert_eq!(r[1]["input"], DFG);
    let e = &r[1]["error"];
    assert!(e.contains(DFG) && e.contains("timed"), "{e}");
    for c in ["latency_ns", "total_nj", "system_estimate_ns"] {
        assert_eq!(r[1][c], "", "{c}");
    }
}

#[test]
fn operating_conditions_are_never_defaulted() {
    // Without the latency model the untimed stream still lacks the process header that the
    // 42-input power model reads.
    let (code, out, _) = run(&["predict", "--no-latency", DFG, TIMED]);
    assert_eq!(code, 1);
    let r = records(&out);
    assert!(r[0]["error"].contains("missing field \"process\""), "{out}");
    assert!(!r[0]["error"].contains("timed stream"), "{out}");
    assert_eq!(r[1]["error"], "");
    assert_eq!(r[1]["latency_ns"], "");
    assert!(num(&r[1]["total_nj"]) > 0.0);
}

#[test]
fn a_dataset_gives_one_row_per_graph_equal_to_estimate() {
    let dir = "data/samples/digits_4x4";
    let n = angraph_train::dataset::OgbGraphs::load(&root().join(dir))
        .unwrap()
        .graphs
        .len();
    let (code, out, err) = run(&["predict", dir]);
    assert_eq!(code, 0, "{err}");
    let r = records(&out);
    assert_eq!(r.len(), n);
    for (i, row) in r.iter().enumerate() {
        assert_eq!(row["input"], format!("{dir}#{i}"));
        assert_eq!(row["total_nj"], "");
        assert_eq!(row["system_estimate_ns"], "");
    }
    for i in [0, 1, n - 1] {
        let (code, est, err) = run(&[
            "estimate",
            "--no-stream",
            "--graph",
            dir,
            "--graph-index",
            &i.to_string(),
        ]);
        assert_eq!(code, 0, "{err}");
        let printed = number_after(&est, "model units x 1 =");
        assert_eq!(
            format!("{:.1}", num(&r[i]["latency_ns"])),
            printed,
            "graph {i}"
        );
    }
}

#[test]
fn an_npy_gives_one_row_per_activity_row_equal_to_estimate() {
    let f = "data/samples/power_digits_4x4/feature.npy";
    let (code, out, err) = run(&["predict", f]);
    assert_eq!(code, 0, "{err}");
    let r = records(&out);
    let (_, width) = angraph_train::import::read_npy_rows(&root().join(f)).unwrap();
    assert_eq!(width, 48);
    assert!(r.len() > 1);
    assert_eq!(r[1]["input"], format!("{f}#1"));
    assert_eq!(r[1]["latency_ns"], "");
    let (code, est, _) = run(&["estimate", "--no-stream", "--activity-index", "1"]);
    assert_eq!(code, 0);
    for (col, label) in [
        ("dynamic_nj", "dynamic energy (fixed point):"),
        ("static_nj", "static energy (fixed point):"),
        ("total_nj", "total energy (fixed point):"),
    ] {
        assert_eq!(
            format!("{:.4}", num(&r[1][col])),
            number_after(&est, label),
            "{col}"
        );
    }
}

#[test]
fn bad_inputs_give_error_rows_and_exit_1_and_the_rest_still_runs() {
    let dir = tmp("predict-bad");
    // A comma and a quote in the path: the cell is quoted.
    let sub = dir.join("a,b\"c");
    std::fs::create_dir_all(&sub).unwrap();
    let garbage = sub.join("garbage.json");
    std::fs::write(&garbage, "this is not json\n").unwrap();
    let missing = dir.join("missing.timed.json");
    let (g, m) = (garbage.to_str().unwrap(), missing.to_str().unwrap());
    let (code, out, err) = run(&["predict", m, TIMED, g]);
    assert_eq!(code, 1, "{err}");
    let r = records(&out);
    assert_eq!(r.len(), 3, "{out}");
    assert_eq!(r[0]["input"], m);
    assert!(r[0]["error"].contains("missing.timed.json"), "{out}");
    assert_eq!(r[0]["latency_ns"], "");
    assert_eq!(r[1]["error"], "");
    assert!(num(&r[1]["latency_ns"]) > 0.0);
    assert_eq!(r[2]["input"], g);
    assert!(
        r[2]["error"].contains("garbage.json") && r[2]["error"].contains("line 1"),
        "{out}"
    );
    // All good: exit 0.
    let (code, _, err) = run(&["predict", TIMED]);
    assert_eq!(code, 0, "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn json_lines_parse_with_the_same_keys() {
    let (code, out, _) = run(&["predict", "--json", TIMED, DFG]);
    assert_eq!(code, 1);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 2);
    let keys: Vec<&str> = HEADER.split(',').collect();
    for v in &lines {
        let o = v.as_object().unwrap();
        assert_eq!(o.len(), keys.len());
        assert!(keys.iter().all(|k| o.contains_key(*k)), "{v}");
    }
    assert!(lines[0]["latency_ns"].as_f64().unwrap() > 0.0);
    assert_eq!(lines[0]["in_envelope"].as_bool(), Some(true));
    assert!(lines[0]["latency_lo_ns"].as_f64().unwrap() < lines[0]["latency_ns"].as_f64().unwrap());
    assert!(lines[0]["error"].is_null());
    assert!(lines[1]["error"].as_str().unwrap().contains("timed"));
}

#[test]
fn inputs_from_a_file_and_stdin_folders_and_globs() {
    let dir = tmp("predict-list");
    let list = dir.join("list.txt");
    std::fs::write(&list, format!("{TIMED}\n\n{TIMED}\n{TIMED}\n")).unwrap();
    let (code, out, err) = run(&["predict", "--inputs-from", list.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let r = records(&out);
    assert_eq!(r.len(), 3);
    assert!(r.iter().all(|x| x["latency_ns"] == r[0]["latency_ns"]));
    // `-`: stdin, after the arguments.
    let mut child = Command::new(env!("CARGO_BIN_EXE_angraph"))
        .args(["predict", "--no-latency", TIMED, "--inputs-from", "-"])
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"data/streams/digits_2x2_sample0.timed.json\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let r = records(&String::from_utf8(o.stdout).unwrap());
    assert_eq!(r.len(), 2);
    assert_eq!(r[1]["input"], "data/streams/digits_2x2_sample0.timed.json");
    // A folder: every *.json below it, sorted; a glob with `**`.
    let (_, out, _) = run(&["predict", "data/streams"]);
    let names: Vec<String> = records(&out).iter().map(|x| x["input"].clone()).collect();
    assert_eq!(
        names,
        [
            "data/streams/digits_2x2_sample0.dfg.json",
            "data/streams/digits_2x2_sample0.timed.json",
            "data/streams/digits_4x4_sample0.dfg.json",
            "data/streams/digits_4x4_sample0.timed.json",
        ]
    );
    let (code, out, _) = run(&["predict", "data/**/*_sample0.timed.json"]);
    assert_eq!(code, 0);
    assert_eq!(records(&out).len(), 2);
    let (code, out, _) = run(&["predict", "data/streams/nothing*.json"]);
    assert_eq!(code, 1);
    assert!(records(&out)[0]["error"].contains("no file matches"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn output_is_the_same_on_one_and_two_threads() {
    let args = [
        "predict",
        "data/streams",
        "data/samples/digits_2x2",
        "data/samples/power_digits_2x2/feature.npy",
        TIMED,
        "no/such/file.json",
    ];
    let one = run(&[&args[..], &["--threads", "1"]].concat());
    let two = run(&[&args[..], &["--threads", "2"]].concat());
    assert_eq!(one.0, 1);
    assert_eq!(one.0, two.0);
    assert_eq!(one.1, two.1);
    assert!(records(&one.1).len() > 10);
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = tmp("predict-pipe");
    let list = dir.join("list.txt");
    std::fs::write(&list, format!("{TIMED}\n").repeat(64)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_angraph"))
        .args(["predict", "--inputs-from", list.to_str().unwrap()])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // stdout is dropped (closed) here: `| head -1`.
    assert_eq!(first.trim_end(), HEADER);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{:?} {err}", o.status);
    assert!(!err.contains("panicked"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn help_explains_columns_units_and_exit_codes() {
    let (code, out, _) = run(&["predict", "--help"]);
    assert_eq!(code, 0);
    for w in [
        "latency_ns",
        "total_nj",
        "Exit codes",
        "--inputs-from",
        "OGB",
        ".npy",
    ] {
        assert!(out.contains(w), "{w}\n{out}");
    }
}

#[test]
fn a_mesh_larger_than_any_trained_one_is_flagged_with_the_reason() {
    let ds = root().join("data/samples/check_digits_10x10");
    let (code, out, _) = run(&["predict", ds.to_str().unwrap()]);
    assert_eq!(code, 0);
    let r = records(&out);
    assert!(!r.is_empty());
    for row in &r {
        assert_eq!(row["in_envelope"], "false", "{row:?}");
        assert!(
            row["why"].contains("mesh_w") && row["why"].contains("training range"),
            "{row:?}"
        );
    }
}
