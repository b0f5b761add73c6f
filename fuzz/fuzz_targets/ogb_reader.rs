//! Fuzz the OGB raw dataset reader: `GraphDataset::load` (labelled, with `meta.json` and the
//! system-level estimate) and `OgbGraphs::load` (unlabelled) on a dataset folder written from
//! the input, and the gzip csv reader alone. None may panic or allocate beyond what the files
//! hold.
//!
//! Input: the files' contents separated by NUL bytes, in the order of [`FILES`]; a missing part
//! leaves that file out. A csv part is gzip-compressed here (so that the fuzzer explores the
//! text) unless it already starts with the gzip magic, which is then written as is. The first
//! byte of the input, when it is `b'#'`, runs only the csv reader on the rest (as gzip).
//!
//! Seeds: the first graphs of `data/samples/digits_2x2` in this layout (docs/hardening.md).
#![no_main]

use angraph_train::dataset::{csvgz, GraphDataset, OgbGraphs};
use libfuzzer_sys::fuzz_target;
use std::io::Write;

const FILES: [&str; 8] = [
    "raw/num-node-list.csv.gz",
    "raw/num-edge-list.csv.gz",
    "raw/node-feat.csv.gz",
    "raw/edge.csv.gz",
    "raw/edge-feat.csv.gz",
    "raw/graph-label.csv.gz",
    "raw/system-estimate.csv.gz",
    "meta.json",
];

fuzz_target!(|data: &[u8]| {
    if let Some(rest) = data.strip_prefix(b"#") {
        let _ = csvgz::parse_rows::<f32>(rest, "fuzz.csv.gz", None, Some(1 << 16));
        let _ = csvgz::parse_rows::<usize>(rest, "fuzz.csv.gz", Some(1), Some(1 << 16));
        return;
    }
    let dir = std::env::temp_dir().join(format!("angraph-fuzz-ogb-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("raw")).expect("temp dir");
    for (part, name) in data.split(|&b| b == 0).zip(FILES) {
        let bytes = if name.ends_with(".gz") && !part.starts_with(b"\x1f\x8b") {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part).expect("in memory");
            e.finish().expect("in memory")
        } else {
            part.to_vec()
        };
        std::fs::write(dir.join(name), bytes).expect("temp file");
    }
    let _ = GraphDataset::load(&dir);
    let _ = OgbGraphs::load(&dir);
});
