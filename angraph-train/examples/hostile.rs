//! Generated hostile inputs for the input readers (issue 12): mutate the committed data with a
//! seeded RNG, run each reader in-process under `catch_unwind`, and report per reader how many
//! inputs were tried, rejected with an error, accepted, and how many panicked. Exits 1 when any
//! input panicked.
//!
//! ```text
//! cargo run -p angraph-train --example hostile -- --per-reader 10000 --seed 1
//! cargo run -p angraph-train --example hostile -- --per-reader 500 --seed 7 --readers npy,stream
//! ```
//!
//! Readers and seeds (all from the repository's `data/`):
//!
//! - `ogb`: the first graphs of `data/samples/digits_2x2` (every raw file, `meta.json`), read by
//!   both `GraphDataset::load` and `OgbGraphs::load`;
//! - `npy`: `data/samples/power_digits_2x2` (`feature.npy`, `label.npy`, `meta.json`, split)
//!   read by `PowerDataset::load`, and `data/examples/mesh4x4/power/feature.npy` read by the
//!   activity-row reader of `angraph estimate` / `predict`;
//! - `stream`: `data/streams/digits_2x2_sample0.{timed,dfg}.json`, read by `Stream::parse` and
//!   then fed to the transform (`Stream::to_graph`);
//! - `checkpoint`: `saved_model/angraph_l.safetensors` and `saved_model/angraph_p.safetensors`,
//!   read by `Checkpoint::load` (tch) and converted to angraph-core's f32 model (the path of
//!   eval, quantize, transfer and `train --resume`); `angraph_l`'s header is also mutated as
//!   JSON with its length prefix kept consistent, so the metadata and tensor table checks see
//!   the edits;
//! - `blob`: `saved_model/angraph_l.angq` and `saved_model/angraph_p.angq`, loaded by
//!   `Model::from_bytes` (checksum, structure, semantics, trust section) and, when they load,
//!   run on a committed graph / activity row with the assessed fixed-point path the chip runs.
//!
//! Mutations: byte flips, inserted and deleted bytes (escape codes, NUL, non-UTF-8), truncation,
//! number replacement (NaN, inf, 1e39, -1, 2^32, u64::MAX, ...), line deletion / duplication,
//! header edits (`.npy` shape / descr / length, `meta.json` fields), extra gzip members and
//! garbage after the gzip stream. A mutation can leave an input valid (e.g. one feature digit
//! changed): such inputs count as accepted.

use angraph_core::rng::SplitMix64;
use angraph_core::{latency, power, Model};
use angraph_train::dataset::{GraphDataset, OgbGraphs, PowerDataset};
use angraph_train::import::read_npy_rows;
use angraph_train::nn::checkpoint::Checkpoint;
use angraph_train::stream::Stream;
use std::io::{Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// Graphs kept from the committed OGB dataset (a small base keeps 10,000 runs quick).
const OGB_GRAPHS: usize = 4;

/// Replacement numbers of the number mutation.
const NUMBERS: [&str; 24] = [
    "NaN",
    "nan",
    "inf",
    "-inf",
    "1e39",
    "-1e39",
    "1e308",
    "-1",
    "-0",
    "0",
    "1",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999",
    "1000000000001",
    "3.4028236e38",
    "1e-45",
    "0x10",
    "",
    "1,2",
    "-300",
    "65535",
];

/// Replacement strings of the string mutation (units, names, keys).
const STRINGS: [&str; 12] = [
    "us",
    "ps",
    "parsecs",
    "\\u001b[2J\\u001b[31m",
    "",
    "power",
    "latency",
    "Router-99",
    "IU-9 of Router-0",
    "DFS0",
    "\\u0000",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
];

struct Rng(SplitMix64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.0.next_u64() % n as u64) as usize
        }
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

/// One file of a base input: its name and plain content (gzip applied when written).
#[derive(Clone)]
struct File {
    name: String,
    bytes: Vec<u8>,
    gz: bool,
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).expect("committed data"))
        .read_to_end(&mut out)
        .expect("committed gzip");
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("in memory");
    e.finish().expect("in memory")
}

fn lines(b: &[u8]) -> Vec<&[u8]> {
    b.split(|&c| c == b'\n').filter(|l| !l.is_empty()).collect()
}

fn join(ls: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in ls {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    out
}

fn count(line: &[u8]) -> usize {
    std::str::from_utf8(line).unwrap().trim().parse().unwrap()
}

/// The first [`OGB_GRAPHS`] graphs of the committed digits 2x2 dataset, every raw file cut to
/// them, and its `meta.json` (the split files are left out: their indices refer to 150 graphs).
fn ogb_base(root: &Path) -> Vec<File> {
    let d = root.join("data/samples/digits_2x2");
    let raw = |n: &str| gunzip(&d.join("raw").join(n));
    let nn = raw("num-node-list.csv.gz");
    let ne = raw("num-edge-list.csv.gz");
    let nn = lines(&nn)[..OGB_GRAPHS].to_vec();
    let ne = lines(&ne)[..OGB_GRAPHS].to_vec();
    let nodes: usize = nn.iter().map(|l| count(l)).sum();
    let edges: usize = ne.iter().map(|l| count(l)).sum();
    let cut = |n: &str, k: usize| {
        let b = raw(n);
        join(&lines(&b)[..k])
    };
    let f = |name: &str, bytes: Vec<u8>| File {
        name: format!("raw/{name}"),
        bytes,
        gz: true,
    };
    vec![
        f("num-node-list.csv.gz", join(&nn)),
        f("num-edge-list.csv.gz", join(&ne)),
        f("node-feat.csv.gz", cut("node-feat.csv.gz", nodes)),
        f("edge.csv.gz", cut("edge.csv.gz", edges)),
        f("edge-feat.csv.gz", cut("edge-feat.csv.gz", edges)),
        f("graph-label.csv.gz", cut("graph-label.csv.gz", OGB_GRAPHS)),
        f(
            "system-estimate.csv.gz",
            cut("system-estimate.csv.gz", OGB_GRAPHS),
        ),
        File {
            name: "meta.json".into(),
            bytes: std::fs::read(d.join("meta.json")).unwrap(),
            gz: false,
        },
    ]
}

/// Byte ranges of the numbers in `b` (maximal runs of digits, signs, dots and exponents that
/// hold a digit).
fn numbers(b: &[u8]) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() || (b[i] == b'-' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let s = i;
            i += 1;
            while i < b.len() && (b[i].is_ascii_digit() || b"+-.eE".contains(&b[i])) {
                i += 1;
            }
            v.push((s, i));
        } else {
            i += 1;
        }
    }
    v
}

/// Byte ranges of the contents of the double-quoted strings in `b`.
fn strings(b: &[u8]) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut open = None;
    for (i, &c) in b.iter().enumerate() {
        if c == b'"' {
            match open.take() {
                None => open = Some(i + 1),
                Some(s) => v.push((s, i)),
            }
        }
    }
    v
}

fn splice(b: &mut Vec<u8>, (s, e): (usize, usize), with: &[u8]) {
    b.splice(s..e, with.iter().copied());
}

/// One text mutation of `b` (csv or JSON).
fn mutate_text(b: &mut Vec<u8>, rng: &mut Rng) -> String {
    let mut m = rng.below(10);
    if m == 4 && strings(b).is_empty() {
        m = 0; // csv: no strings, replace a number instead
    }
    match m {
        0..=3 => {
            let ns = numbers(b);
            let with = *rng.pick(&NUMBERS);
            if ns.is_empty() {
                b.extend_from_slice(with.as_bytes());
                format!("number appended: {with:?}")
            } else {
                let r = *rng.pick(&ns);
                let was = String::from_utf8_lossy(&b[r.0..r.1]).into_owned();
                splice(b, r, with.as_bytes());
                format!("number at byte {}: {was:?} -> {with:?}", r.0)
            }
        }
        4 => {
            let ss = strings(b);
            if ss.is_empty() {
                return "string: none".into();
            }
            let r = *rng.pick(&ss);
            let with = *rng.pick(&STRINGS);
            let was = String::from_utf8_lossy(&b[r.0..r.1]).into_owned();
            splice(b, r, with.as_bytes());
            format!("string at byte {}: {was:?} -> {with:?}", r.0)
        }
        5 => {
            let ls: Vec<Vec<u8>> = b.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
            let mut ls = ls;
            let i = rng.below(ls.len());
            let what = match rng.below(3) {
                0 => {
                    ls.remove(i);
                    format!("line {} deleted", i + 1)
                }
                1 => {
                    let l = ls[i].clone();
                    ls.insert(i, l);
                    format!("line {} duplicated", i + 1)
                }
                _ => {
                    let j = rng.below(ls.len());
                    ls.swap(i, j);
                    format!("lines {} and {} swapped", i + 1, j + 1)
                }
            };
            *b = ls.join(&b'\n');
            what
        }
        6 => {
            let n = rng.below(b.len() + 1);
            let was = b.len();
            b.truncate(n);
            format!("truncated at byte {n} of {was}")
        }
        7 => {
            if b.is_empty() {
                return "flip: empty".into();
            }
            let i = rng.below(b.len());
            let was = b[i];
            b[i] ^= 1 << rng.below(8);
            format!("byte {i} flipped: {:?} -> {:?}", was as char, b[i] as char)
        }
        8 => {
            let i = rng.below(b.len() + 1);
            let opts: [&[u8]; 9] = [
                b"\x1b[2J",
                b"\0",
                b"\xff\xfe",
                b",",
                b"\n",
                b"-",
                b"\xc3\xa9",
                b"]",
                b"}",
            ];
            let ins = *rng.pick(&opts);
            b.splice(i..i, ins.iter().copied());
            format!("inserted at byte {i}: {:?}", String::from_utf8_lossy(ins))
        }
        _ => {
            if b.is_empty() {
                return "delete: empty".into();
            }
            let i = rng.below(b.len());
            let n = 1 + rng.below(8.min(b.len() - i));
            let was: Vec<u8> = b.drain(i..i + n).collect();
            format!("deleted at byte {i}: {:?}", String::from_utf8_lossy(&was))
        }
    }
}

/// Write `files` into `dir`, one of them mutated (text or, for gzip files, the compressed
/// bytes too).
fn write_mutated(dir: &Path, base: &[File], rng: &mut Rng) -> (usize, String) {
    let k = rng.below(base.len());
    let f = &base[k];
    let p = dir.join(&f.name);
    let mut what = String::new();
    {
        let mut text = f.bytes.clone();
        let on_gzip = f.gz && rng.below(4) == 0;
        if !on_gzip {
            what = mutate_text(&mut text, rng);
        }
        let mut bytes = if f.gz { gzip(&text) } else { text };
        if on_gzip {
            let m = rng.below(6);
            what = format!("gzip mutation {m}");
            match m {
                0 => {
                    let i = rng.below(bytes.len());
                    bytes[i] ^= 1 << rng.below(8);
                    what = format!("gzip byte {i} flipped");
                }
                1 => {
                    let n = rng.below(bytes.len() + 1);
                    bytes.truncate(n);
                    what = format!("gzip truncated at byte {n}");
                }
                2 => {
                    // A second member: the rows again, or a hostile row.
                    let extra = if rng.below(2) == 0 {
                        f.bytes.clone()
                    } else {
                        format!("{}\n", rng.pick(&NUMBERS)).into_bytes()
                    };
                    what = format!(
                        "second gzip member: {:?}",
                        String::from_utf8_lossy(&extra[..extra.len().min(40)])
                    );
                    bytes.extend(gzip(&extra));
                }
                3 => bytes.extend_from_slice(b"trailing garbage"),
                4 => bytes.clear(),
                _ => {
                    let mut g = b"\x1f\x8b".to_vec();
                    g.extend_from_slice(&bytes);
                    bytes = g;
                }
            }
        }
        std::fs::write(&p, bytes).unwrap();
    }
    (k, format!("{}: {what}", f.name))
}

/// Write the base files (all, or only `only`) into `dir`.
fn restore(dir: &Path, base: &[File], only: Option<usize>) {
    for (i, f) in base.iter().enumerate() {
        if only.is_some_and(|k| k != i) {
            continue;
        }
        let p = dir.join(&f.name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let bytes = if f.gz {
            gzip(&f.bytes)
        } else {
            f.bytes.clone()
        };
        std::fs::write(p, bytes).unwrap();
    }
}

/// The `.npy` float values' byte ranges: header end and element size.
fn npy_layout(b: &[u8]) -> Option<(usize, usize)> {
    if b.len() < 10 {
        return None;
    }
    let end = 10 + u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = b.get(10..end)?;
    let elem = if header.windows(3).any(|w| w == b"<f8") {
        8
    } else {
        4
    };
    Some((end, elem))
}

/// One `.npy` mutation.
fn mutate_npy(b: &mut Vec<u8>, rng: &mut Rng) -> String {
    let Some((end, elem)) = npy_layout(b) else {
        return "none".into();
    };
    let n_vals = (b.len() - end) / elem;
    let m = rng.below(8);
    let before = b.clone();
    match m {
        0 | 1 if n_vals > 0 => {
            // A value replaced by a hostile one.
            let i = end + elem * rng.below(n_vals);
            let v: f64 = *rng.pick(&[
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                1e39,
                -1.0,
                -1e-30,
                f32::MAX as f64,
                3.5e38,
                0.0,
                -0.0,
            ]);
            if elem == 4 {
                b[i..i + 4].copy_from_slice(&(v as f32).to_le_bytes());
            } else {
                b[i..i + 8].copy_from_slice(&v.to_le_bytes());
            }
            return format!("value {} -> {v}", (i - end) / elem);
        }
        2 => {
            // The shape's numbers.
            let h = b[10..end].to_vec();
            let ns = numbers(&h);
            if !ns.is_empty() {
                let (s, e) = *rng.pick(&ns);
                let with = rng.pick(&[
                    "0",
                    "1",
                    "7",
                    "6",
                    "36",
                    "42",
                    "4294967296",
                    "18446744073709551615",
                    "99999999999999999999",
                    "-1",
                    "3, 1",
                    "",
                ]);
                let mut h2 = h.clone();
                h2.splice(s..e, with.bytes());
                let mut out = b[..8].to_vec();
                out.extend_from_slice(&(h2.len() as u16).to_le_bytes());
                out.extend_from_slice(&h2);
                out.extend_from_slice(&b[end..]);
                *b = out;
            }
        }
        3 => {
            // Header text: a dtype, the order, a duplicate or unknown key, a stray character.
            let h = String::from_utf8_lossy(&b[10..end]).into_owned();
            let h2 = match rng.below(6) {
                0 => h.replacen(
                    "<f4",
                    rng.pick::<&str>(&["<f8", ">f4", "<i4", "|u1", "<f2"]),
                    1,
                ),
                1 => h.replacen("False", "True", 1),
                2 => h.replacen("'shape'", "'shape': (1,), 'shape'", 1),
                3 => h.replacen("{", "{'extra': 1, ", 1),
                4 => h.replacen("(", rng.pick::<&str>(&["", "((", "(é", "[", ")"]), 1),
                _ => {
                    let mut t = h.into_bytes();
                    let n = rng.below(t.len() + 1);
                    t.truncate(n);
                    String::from_utf8_lossy(&t).into_owned()
                }
            };
            let mut out = b[..8].to_vec();
            out.extend_from_slice(&(h2.len() as u16).to_le_bytes());
            out.extend_from_slice(h2.as_bytes());
            out.extend_from_slice(&b[end..]);
            *b = out;
        }
        4 => {
            // The header length field or the version.
            let i = 6 + rng.below(4);
            b[i] = (rng.0.next_u64() & 0xff) as u8;
        }
        5 => {
            let n = rng.below(b.len() + 1);
            b.truncate(n);
        }
        6 => {
            let extra = 1 + rng.below(16);
            b.extend((0..extra).map(|_| 0x7f));
        }
        _ => {
            let i = rng.below(b.len());
            b[i] ^= 1 << rng.below(8);
            return format!("byte {i} flipped");
        }
    }
    let header = |x: &[u8]| String::from_utf8_lossy(&x[..x.len().min(90)]).into_owned();
    format!(
        "mutation {m}: {:?} -> {:?} ({} -> {} bytes)",
        header(&before),
        header(b),
        before.len(),
        b.len()
    )
}

#[derive(Default)]
struct Tally {
    inputs: u64,
    rejected: u64,
    accepted: u64,
    panics: u64,
    slowest_ms: f64,
    first_panic: Option<String>,
    /// The first accepted mutations (`--show-accepted K`).
    accepted_examples: Vec<String>,
    show: usize,
}

static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

impl Tally {
    fn run(&mut self, what: &str, f: impl FnOnce() -> anyhow::Result<()>) {
        self.inputs += 1;
        let t = Instant::now();
        let r = catch_unwind(AssertUnwindSafe(f));
        self.slowest_ms = self.slowest_ms.max(t.elapsed().as_secs_f64() * 1e3);
        match r {
            Ok(Ok(())) => {
                self.accepted += 1;
                if self.accepted_examples.len() < self.show {
                    self.accepted_examples.push(what.to_string());
                }
            }
            Ok(Err(_)) => self.rejected += 1,
            Err(_) => {
                self.panics += 1;
                if self.first_panic.is_none() {
                    let msg = LAST_PANIC.lock().ok().and_then(|m| m.clone());
                    self.first_panic = Some(format!("{what}: {}", msg.unwrap_or_default()));
                }
            }
        }
    }
}

/// A binary mutation: byte flips, random 8-byte words, truncation, inserted or appended
/// garbage, a length-like field set to an extreme.
fn mutate_binary(b: &mut Vec<u8>, rng: &mut Rng) -> String {
    if b.is_empty() {
        b.push(0);
        return "empty -> one byte".into();
    }
    match rng.below(6) {
        0 => {
            let k = 1 + rng.below(4);
            for _ in 0..k {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            format!("{k} bit flips")
        }
        1 => {
            let i = rng.below(b.len().saturating_sub(8).max(1));
            let r = rng.0.next_u64();
            let v = *rng.pick(&[0u64, u64::MAX, 1 << 31, 1 << 32, 0x7fc0_0000, r]);
            let end = (i + 8).min(b.len());
            b[i..end].copy_from_slice(&v.to_le_bytes()[..end - i]);
            format!("8 bytes at {i} = {v:#x}")
        }
        2 => {
            let n = rng.below(b.len());
            b.truncate(n);
            format!("truncated to {n}")
        }
        3 => {
            let i = rng.below(b.len());
            let n = 1 + rng.below(64);
            let junk: Vec<u8> = (0..n).map(|_| rng.0.next_u64() as u8).collect();
            b.splice(i..i, junk);
            format!("{n} bytes inserted at {i}")
        }
        4 => {
            let n = 1 + rng.below(64);
            b.extend((0..n).map(|_| rng.0.next_u64() as u8));
            format!("{n} bytes appended")
        }
        _ => {
            let i = rng.below(b.len());
            let n = (1 + rng.below(32)).min(b.len() - i);
            b.drain(i..i + n);
            format!("{n} bytes deleted at {i}")
        }
    }
}

/// A safetensors mutation of the JSON header (text mutations), the 8-byte length prefix kept
/// consistent with the new header.
fn mutate_safetensors_header(b: &mut Vec<u8>, rng: &mut Rng) -> String {
    let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
    let mut header = b[8..8 + n].to_vec();
    let what = mutate_text(&mut header, rng);
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    out.extend_from_slice(&b[8 + n..]);
    *b = out;
    format!("header: {what}")
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                eprintln!("{name}: expected a value");
                std::process::exit(2)
            }),
        None => default,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: u64 = arg(&args, "--per-reader", 10_000);
    let seed: u64 = arg(&args, "--seed", 1);
    let readers: String = arg(
        &args,
        "--readers",
        "ogb,npy,stream,checkpoint,blob".to_string(),
    );
    let show: usize = arg(&args, "--show-accepted", 0);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let work: PathBuf =
        std::env::temp_dir().join(format!("angraph-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut m) = LAST_PANIC.lock() {
            *m = Some(info.to_string());
        }
    }));
    let mut rng = Rng(SplitMix64(seed));
    let mut report = Vec::new();
    for reader in readers.split(',') {
        let mut t = Tally {
            show,
            ..Tally::default()
        };
        let start = Instant::now();
        match reader {
            "ogb" => {
                let base = ogb_base(&root);
                let dir = work.join("ogb");
                restore(&dir, &base, None);
                // The base itself loads (the mutations, not the set-up, are what is refused).
                GraphDataset::load(&dir).expect("base OGB dataset");
                for i in 0..n {
                    let (k, what) = write_mutated(&dir, &base, &mut rng);
                    let what = format!("ogb #{i} {what}");
                    // Both entry points on every input (training / eval, and estimate /
                    // predict / import); the input is accepted when the labelled reader
                    // accepts it (the unlabelled one ignores the estimate file).
                    t.run(&what, || {
                        let labelled = GraphDataset::load(&dir);
                        let unlabelled = OgbGraphs::load(&dir);
                        labelled?;
                        unlabelled?;
                        Ok(())
                    });
                    restore(&dir, &base, Some(k));
                }
            }
            "npy" => {
                let pd = root.join("data/samples/power_digits_2x2");
                let dir = work.join("npy");
                let base: Vec<File> = ["feature.npy", "label.npy", "meta.json"]
                    .iter()
                    .map(|n| File {
                        name: n.to_string(),
                        bytes: std::fs::read(pd.join(n)).unwrap(),
                        gz: false,
                    })
                    .chain(["train", "valid", "test"].iter().map(|s| File {
                        name: format!("split/random/{s}.csv.gz"),
                        bytes: gunzip(&pd.join(format!("split/random/{s}.csv.gz"))),
                        gz: true,
                    }))
                    .collect();
                restore(&dir, &base, None);
                PowerDataset::load(&dir).expect("base power dataset");
                let rows =
                    std::fs::read(root.join("data/examples/mesh4x4/power/feature.npy")).unwrap();
                let one = work.join("rows.npy");
                for i in 0..n {
                    match i % 3 {
                        0 | 1 => {
                            let k = (i % 3) as usize; // feature.npy, label.npy
                            let mut b = base[k].bytes.clone();
                            let what = format!(
                                "npy #{i} {}: {}",
                                base[k].name,
                                mutate_npy(&mut b, &mut rng)
                            );
                            std::fs::write(dir.join(&base[k].name), b).unwrap();
                            t.run(&what, || PowerDataset::load(&dir).map(|_| ()));
                            std::fs::write(dir.join(&base[k].name), &base[k].bytes).unwrap();
                        }
                        _ => {
                            let mut b = rows.clone();
                            let what =
                                format!("npy #{i} rows.npy: {}", mutate_npy(&mut b, &mut rng));
                            std::fs::write(&one, b).unwrap();
                            t.run(&what, || read_npy_rows(&one).map(|_| ()));
                        }
                    }
                }
            }
            "stream" => {
                let bases: Vec<(String, Vec<u8>)> = ["timed", "dfg"]
                    .iter()
                    .map(|f| {
                        let p = root.join(format!("data/streams/digits_2x2_sample0.{f}.json"));
                        (p.display().to_string(), std::fs::read(&p).unwrap())
                    })
                    .collect();
                for (name, b) in &bases {
                    let s = Stream::parse(std::str::from_utf8(b).unwrap(), name).expect("base");
                    s.to_graph().expect("base stream");
                }
                for i in 0..n {
                    let (name, b) = &bases[(i % 2) as usize];
                    let mut b = b.clone();
                    let what = format!("stream #{i} {name}: {}", mutate_text(&mut b, &mut rng));
                    t.run(&what, || {
                        // As `Stream::read` does: the file must be UTF-8 text.
                        let text = String::from_utf8(b)?;
                        let s = Stream::parse(&text, name)?;
                        s.to_graph()?;
                        Ok(())
                    });
                }
            }
            "checkpoint" => {
                let bases: Vec<(String, Vec<u8>)> = ["angraph_l", "angraph_p"]
                    .iter()
                    .map(|m| {
                        let p = root.join(format!("saved_model/{m}.safetensors"));
                        (m.to_string(), std::fs::read(&p).unwrap())
                    })
                    .collect();
                let file = work.join("model.safetensors");
                for (_, b) in &bases {
                    std::fs::write(&file, b).unwrap();
                    Checkpoint::load(&file, tch::Device::Cpu)
                        .and_then(|c| c.to_model_f32())
                        .expect("base checkpoint");
                }
                for i in 0..n {
                    let (name, b) = &bases[(i % 2) as usize];
                    let mut b = b.clone();
                    let what = if i % 4 == 0 {
                        mutate_safetensors_header(&mut b, &mut rng)
                    } else {
                        mutate_binary(&mut b, &mut rng)
                    };
                    let what = format!("checkpoint #{i} {name}: {what}");
                    std::fs::write(&file, &b).unwrap();
                    t.run(&what, || {
                        Checkpoint::load(&file, tch::Device::Cpu)?.to_model_f32()?;
                        Ok(())
                    });
                }
            }
            "blob" => {
                let bases: Vec<(String, Vec<u8>)> = ["angraph_l", "angraph_p"]
                    .iter()
                    .map(|m| {
                        let p = root.join(format!("saved_model/{m}.angq"));
                        (m.to_string(), std::fs::read(&p).unwrap())
                    })
                    .collect();
                let graph = GraphDataset::load(&root.join("data/samples/digits_4x4"))
                    .expect("committed graphs")
                    .graphs
                    .swap_remove(0)
                    .to_fixed();
                let row: Vec<i32> = PowerDataset::load(&root.join("data/samples/power_digits_4x4"))
                    .expect("committed rows")
                    .features[..42]
                    .iter()
                    .map(|&v| angraph_core::fixed::feature_to_fixed(v))
                    .collect();
                let run = |bytes: &[u8]| -> anyhow::Result<()> {
                    let m = Model::from_bytes(bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
                    if m.power_config().is_ok() {
                        let mut ws = vec![0u8; power::required_workspace(&m)];
                        power::predict_assessed(&m, &row, &mut ws)
                            .map_err(|e| anyhow::anyhow!("{e}"))?;
                    } else {
                        let v = graph.view().map_err(|e| anyhow::anyhow!("{e}"))?;
                        let mut ws =
                            vec![
                                0u8;
                                latency::required_workspace(&m, v.num_nodes(), v.num_edges())
                            ];
                        latency::predict_assessed(&m, &v, &mut ws)
                            .map_err(|e| anyhow::anyhow!("{e}"))?;
                    }
                    Ok(())
                };
                for (_, b) in &bases {
                    run(b).expect("base blob");
                }
                for i in 0..n {
                    let (name, b) = &bases[(i % 2) as usize];
                    let mut b = b.clone();
                    let what = format!("blob #{i} {name}: {}", mutate_binary(&mut b, &mut rng));
                    t.run(&what, || run(&b));
                }
            }
            other => {
                eprintln!("unknown reader {other:?} (ogb, npy, stream, checkpoint, blob)");
                std::process::exit(2);
            }
        }
        report.push((reader.to_string(), t, start.elapsed().as_secs_f64()));
    }
    std::fs::remove_dir_all(&work).ok();
    println!("hostile inputs: --per-reader {n} --seed {seed}");
    println!("reader  inputs  rejected  accepted  panics  slowest_ms  seconds");
    let mut panics = 0;
    for (name, t, secs) in &report {
        println!(
            "{name:<7} {:>6}  {:>8}  {:>8}  {:>6}  {:>10.1}  {secs:>7.1}",
            t.inputs, t.rejected, t.accepted, t.panics, t.slowest_ms
        );
        if let Some(p) = &t.first_panic {
            println!("  first panic: {p}");
        }
        for a in &t.accepted_examples {
            println!("  accepted: {a}");
        }
        panics += t.panics;
    }
    if let Some(kb) = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
    {
        println!("peak RSS (VmHWM): {kb} kB");
    }
    if panics > 0 {
        std::process::exit(1);
    }
}
