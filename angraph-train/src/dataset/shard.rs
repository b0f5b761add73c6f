//! Sharded dataset generation: shard `i/n` (1-based, as `cargo nextest --partition`) simulates
//! a contiguous range of the sample indices into a *part* directory, and [`merge`] verifies the
//! parts and writes the dataset, byte for byte the one an unsharded run writes (sample `k` is
//! `Generator::sample(k)` whichever process makes it; the tables are re-assembled line by line
//! through the same writers; split and `meta.json` come from the same functions).
//!
//! A part holds the dataset files of its rows (`raw/*.csv.gz`, or `feature.npy` /
//! `label.npy`) and `part.json` ([`PartMeta`]: what it is a part of, its range and a CRC-32 of
//! every file). It is written into a temporary directory and renamed into place, so a killed
//! shard leaves no part; rerunning a shard whose part is complete (same dataset, range and
//! checksums) does nothing.

use super::csvgz::CsvGzWriter;
use super::generate::{meta_for, simulate_rows, write_meta, Speed};
use super::{npy, Kind, Meta, Split, SPLIT_SEED};
use crate::fsio::{replace_dir, temp_dir_for, write_atomic};
use crate::sim::SimConfig;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// `part.json`'s `format`.
pub const PART_FORMAT: &str = "angraph-dataset-part";
/// `part.json`'s `version`.
pub const PART_VERSION: u32 = 1;

/// The tables of a latency part, in `raw/`, in the order they are merged.
const LATENCY_TABLES: [&str; 7] = [
    "edge.csv.gz",
    "edge-feat.csv.gz",
    "node-feat.csv.gz",
    "num-node-list.csv.gz",
    "num-edge-list.csv.gz",
    "graph-label.csv.gz",
    "system-estimate.csv.gz",
];

/// Shard `index` of `count` (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 1..=count.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Shard> {
        let (i, n) = s
            .split_once('/')
            .with_context(|| format!("--shard {s:?}: expected i/n, e.g. 2/3"))?;
        let parse = |v: &str, what: &str| -> Result<usize> {
            v.trim()
                .parse()
                .with_context(|| format!("--shard {s:?}: {what} {v:?} is not a whole number"))
        };
        let (index, count) = (parse(i, "index")?, parse(n, "count")?);
        if count == 0 || index == 0 || index > count {
            bail!("--shard {s:?}: need 1 <= i <= n (1-based, like `cargo nextest --partition`)");
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// The sample indices of this shard among `total`: contiguous, the shards in order cover
    /// `0..total` exactly, sizes differ by at most one.
    pub fn range(&self, total: usize) -> Range<usize> {
        let at = |i: usize| (total as u128 * i as u128 / self.count as u128) as usize;
        at(self.index - 1)..at(self.index)
    }

    /// The conventional part directory name, `shard-<i>-of-<n>`.
    pub fn dir_name(&self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }
}

/// `part.json`: what a part directory is a part of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartMeta {
    /// [`PART_FORMAT`].
    pub format: String,
    /// [`PART_VERSION`].
    pub version: u32,
    /// The shard.
    pub shard: Shard,
    /// Its sample indices: `first..end`.
    pub first: usize,
    /// See `first`.
    pub end: usize,
    /// The `meta.json` of the whole dataset (name, kind, configuration, total samples, versions).
    /// Compared through [`same_dataset`]; `merge` writes the `meta.json` of this binary
    /// ([`meta_for`]) after checking that it is this one.
    pub dataset: Meta,
    /// CRC-32 (IEEE) of every file of the part, by path relative to it.
    pub files: BTreeMap<String, u32>,
}

fn part_files(kind: Kind) -> Vec<String> {
    match kind {
        Kind::Latency => LATENCY_TABLES.iter().map(|t| format!("raw/{t}")).collect(),
        Kind::Power => vec!["feature.npy".into(), "label.npy".into()],
    }
}

fn checksums(dir: &Path, kind: Kind) -> Result<BTreeMap<String, u32>> {
    let mut m = BTreeMap::new();
    for f in part_files(kind) {
        let p = dir.join(&f);
        let bytes = std::fs::read(&p).with_context(|| format!("{}: cannot read", p.display()))?;
        m.insert(f, angraph_core::crc::crc32(&bytes));
    }
    Ok(m)
}

/// Whether two dataset descriptions agree: compared as their JSON text after one parse, so a
/// float that the JSON reader does not round-trip to the last bit compares equal to itself.
pub fn same_dataset(a: &Meta, b: &Meta) -> bool {
    let text = |m: &Meta| {
        serde_json::to_string(m)
            .ok()
            .and_then(|t| serde_json::from_str::<Meta>(&t).ok())
            .and_then(|m| serde_json::to_string(&m).ok())
    };
    text(a).is_some() && text(a) == text(b)
}

/// Read and check a part directory: `part.json` well formed, every file present with its
/// checksum. Errors name the part and the field or file.
pub fn read_part(dir: &Path) -> Result<PartMeta> {
    let path = dir.join("part.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read (not a dataset part?)", path.display()))?;
    let p: PartMeta = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a dataset part", path.display()))?;
    if p.format != PART_FORMAT || p.version != PART_VERSION {
        bail!(
            "{}: format {:?} version {} (expected {PART_FORMAT:?} version {PART_VERSION})",
            path.display(),
            p.format,
            p.version
        );
    }
    if p.shard.index == 0 || p.shard.index > p.shard.count {
        bail!(
            "{}: shard {} is not i/n with 1 <= i <= n",
            path.display(),
            p.shard
        );
    }
    if p.shard.range(p.dataset.samples) != (p.first..p.end) {
        bail!(
            "{}: range {}..{} is not shard {}'s of {} samples ({:?})",
            path.display(),
            p.first,
            p.end,
            p.shard,
            p.dataset.samples,
            p.shard.range(p.dataset.samples)
        );
    }
    let want: Vec<String> = part_files(p.dataset.kind);
    if p.files.keys().cloned().collect::<Vec<_>>() != {
        let mut w = want.clone();
        w.sort();
        w
    } {
        bail!(
            "{}: files {:?} (a {:?} part has {:?})",
            path.display(),
            p.files.keys().collect::<Vec<_>>(),
            p.dataset.kind,
            want
        );
    }
    let got = checksums(dir, p.dataset.kind)?;
    for (f, crc) in &p.files {
        if got[f] != *crc {
            bail!(
                "{}: checksum mismatch (CRC-32 {:08x}, part.json says {crc:08x}): the part is \
                 damaged; rerun its shard",
                dir.join(f).display(),
                got[f]
            );
        }
    }
    // Its rows are its range: one graph (or activity row) per sample index.
    let want = p.end - p.first;
    let (file, rows) = match p.dataset.kind {
        Kind::Latency => {
            let f = dir.join("raw/num-node-list.csv.gz");
            let (_, counts) = super::csvgz::read_rows::<u32>(&f, Some(1), Some(want))?;
            (f, counts.len())
        }
        Kind::Power => {
            let f = dir.join("label.npy");
            let (shape, _) = npy::read_f32(&f)?;
            (f, shape.first().copied().unwrap_or(0))
        }
    };
    if rows != want {
        bail!(
            "{}: {rows} samples, shard {} holds {want} ({}..{})",
            file.display(),
            p.shard,
            p.first,
            p.end
        );
    }
    Ok(p)
}

/// Simulate shard `shard` of the `samples`-sample dataset `name` into the part directory `out`
/// (replaced atomically). `None` when `out` already holds that complete part (nothing done).
pub fn generate_part(
    name: &str,
    kind: Kind,
    config: &SimConfig,
    samples: usize,
    shard: Shard,
    out: &Path,
    progress: bool,
) -> Result<Option<Speed>> {
    if samples == 0 {
        bail!("{name}: zero samples requested");
    }
    let dataset = meta_for(name, kind, config, samples);
    let range = shard.range(samples);
    if out.join("part.json").exists() {
        if let Ok(p) = read_part(out) {
            if same_dataset(&p.dataset, &dataset) && p.shard == shard {
                return Ok(None);
            }
        }
    }
    let tmp = temp_dir_for(out)?;
    let result = (|| -> Result<Speed> {
        let speed = simulate_rows(name, kind, config, range.clone(), &tmp, progress)?;
        let part = PartMeta {
            format: PART_FORMAT.into(),
            version: PART_VERSION,
            shard,
            first: range.start,
            end: range.end,
            files: checksums(&tmp, kind)?,
            dataset: dataset.clone(),
        };
        write_atomic(
            &tmp.join("part.json"),
            (serde_json::to_string_pretty(&part)? + "\n").as_bytes(),
        )?;
        Ok(speed)
    })();
    match result {
        Ok(speed) => {
            replace_dir(&tmp, out)?;
            Ok(Some(speed))
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

/// Verify the parts of one dataset (each read with [`read_part`]; all of the same dataset and
/// shard count; every shard exactly once) and write the dataset into `out` (replaced
/// atomically): the bytes of the unsharded run. Returns the dataset's `meta.json`.
pub fn merge(parts: &[PathBuf], out: &Path) -> Result<Meta> {
    if parts.is_empty() {
        bail!("no parts to merge");
    }
    let mut metas = Vec::new();
    for p in parts {
        metas.push((p.clone(), read_part(p)?));
    }
    let (first_dir, first) = &metas[0];
    let count = first.shard.count;
    let mut by_index: Vec<Option<&PathBuf>> = vec![None; count];
    for (dir, m) in &metas {
        if !same_dataset(&m.dataset, &first.dataset) {
            bail!(
                "{} is a part of {:?} ({} samples), {} of {:?} ({} samples), or their \
                 configurations or versions differ",
                dir.display(),
                m.dataset.name,
                m.dataset.samples,
                first_dir.display(),
                first.dataset.name,
                first.dataset.samples
            );
        }
        if m.shard.count != count {
            bail!(
                "{} is shard {}, {} is shard {}: different shard counts",
                dir.display(),
                m.shard,
                first_dir.display(),
                first.shard
            );
        }
        let slot = &mut by_index[m.shard.index - 1];
        if let Some(other) = slot {
            bail!(
                "shard {} given twice: {} and {}",
                m.shard,
                other.display(),
                dir.display()
            );
        }
        *slot = Some(dir);
    }
    let missing: Vec<String> = (1..=count)
        .filter(|i| by_index[i - 1].is_none())
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        bail!(
            "{}: shard(s) {} missing",
            first.dataset.name,
            missing.join(", ")
        );
    }
    let ordered: Vec<&PathBuf> = by_index.into_iter().flatten().collect();
    // The dataset's meta.json as this binary writes it (the parts' copy went through a float
    // parse); the parts must describe that very dataset.
    let d = &first.dataset;
    let config = d
        .config
        .as_ref()
        .with_context(|| format!("{}: part.json has no configuration", first_dir.display()))?;
    let meta = meta_for(&d.name, d.kind, config, d.samples);
    if !same_dataset(&meta, d) {
        bail!(
            "{}: the parts were written by another generator version or parameter set than \
             this binary's (compare part.json's dataset with `meta.json` of a fresh run); merge \
             them with the binary that generated them",
            first_dir.display()
        );
    }
    let tmp = temp_dir_for(out)?;
    let result = (|| -> Result<()> {
        match meta.kind {
            Kind::Latency => {
                let raw = tmp.join("raw");
                std::fs::create_dir_all(&raw)
                    .with_context(|| format!("{}: cannot create", raw.display()))?;
                for t in LATENCY_TABLES {
                    let mut w = CsvGzWriter::create(&raw.join(t))?;
                    for p in &ordered {
                        w.append_file(&p.join("raw").join(t))?;
                    }
                    w.finish()?;
                }
            }
            Kind::Power => {
                for (file, width) in [("feature.npy", None), ("label.npy", Some(3usize))] {
                    let (mut shape, mut data) = (Vec::new(), Vec::new());
                    for p in &ordered {
                        let (s, d) = npy::read_f32(&p.join(file))?;
                        if shape.is_empty() {
                            shape = s;
                        } else {
                            if s[1..] != shape[1..] {
                                bail!(
                                    "{}: shape {s:?}, the first part's is {shape:?}",
                                    p.join(file).display()
                                );
                            }
                            shape[0] += s[0];
                        }
                        data.extend(d);
                    }
                    if let Some(w) = width {
                        if shape.len() != 2 || shape[1] != w {
                            bail!("{file}: shape {shape:?}, expected (N, {w})");
                        }
                    }
                    std::fs::write(tmp.join(file), npy::to_bytes(&shape, &data)?)
                        .with_context(|| format!("{}: write failed", tmp.join(file).display()))?;
                }
            }
        }
        Split::random(meta.samples, SPLIT_SEED).write(&tmp)?;
        write_meta(&tmp, &meta)
    })();
    match result {
        Ok(()) => {
            replace_dir(&tmp, out)?;
            Ok(meta)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}
