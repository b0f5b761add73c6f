//! Helpers shared by the integration tests: the repository root, the `angraph` binary, fresh
//! temporary directories and gzip csv files.

// Each test binary uses a subset of these.
#![allow(dead_code)]

use angraph_train::dataset::csvgz;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (committed data and models are found from here).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Run the `angraph` binary in the repository root: (success, stdout, stderr).
pub fn angraph(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_angraph"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run angraph");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fresh, empty temporary directory named after this test process and `name`.
pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("angraph-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Write `rows` (comma-separated cells) as a gzip csv file with the dataset writer.
pub fn write_gz(path: &Path, rows: &[&str]) {
    let mut w = csvgz::CsvGzWriter::create(path).unwrap();
    for r in rows {
        w.row(r.split(',')).unwrap();
    }
    w.finish().unwrap();
}

/// The original ANGraph layout under `root/original`: two graphs, OGB raw files only (one
/// edge-feature column, the activities), no meta.json, no split files.
pub fn original_dir(root: &Path) -> PathBuf {
    let d = root.join("original");
    let raw = d.join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    write_gz(&raw.join("num-node-list.csv.gz"), &["3", "2"]);
    write_gz(&raw.join("num-edge-list.csv.gz"), &["2", "1"]);
    write_gz(&raw.join("edge.csv.gz"), &["0,1", "1,2", "1,0"]);
    write_gz(&raw.join("edge-feat.csv.gz"), &["4", "2", "7"]);
    write_gz(
        &raw.join("node-feat.csv.gz"),
        &["1,0.5", "2,0.25", "3,0", "1,1", "0,2"],
    );
    write_gz(&raw.join("graph-label.csv.gz"), &["1500", "2400"]);
    d
}

/// Every file under `dir`, relative, sorted, with its bytes.
pub fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push((
                    p.strip_prefix(base).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}
