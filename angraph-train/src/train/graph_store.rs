//! Where a training set's graphs live: in memory, or packed into a spill file on disk and read
//! back one graph at a time, so that the memory a training run needs depends on the batch and
//! not on the dataset (issue 15: a 200,000-graph 4x4 set is about 8 GB of f32 features).
//!
//! The spill file is created in `--spill-dir` (default: the system's temporary folder) and
//! unlinked at once: the open handle keeps it alive, and it disappears when the process ends,
//! killed or not. Graphs are written once, in dataset order, and read with positioned reads
//! (`pread`); the operating system's page cache holds what fits and is not the process's memory.
//! Both stores give the same `f32` values, so training on either gives the same bytes.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use angraph_core::quantize::OwnedGraph;
use anyhow::{bail, Context, Result};

/// Where the graphs of a loaded dataset are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    /// In memory up to [`AUTO_MEMORY_BYTES`] in all, on disk beyond.
    Auto,
    /// Always in memory (the fastest when it fits).
    Memory,
    /// Always on disk.
    Disk,
}

/// `Auto` keeps up to this many bytes of graphs in memory (all datasets of one load together);
/// a dataset that does not fit goes to a spill file whole.
pub const AUTO_MEMORY_BYTES: u64 = 1 << 30;

/// How a load stores its graphs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Memory, disk, or by size.
    pub mode: StoreMode,
    /// Folder of the spill files (`None`: `std::env::temp_dir()`).
    pub spill_dir: Option<PathBuf>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            mode: StoreMode::Auto,
            spill_dir: None,
        }
    }
}

impl StoreOptions {
    /// Bytes of graphs a load may keep in memory.
    pub fn memory_budget(&self) -> u64 {
        match self.mode {
            StoreMode::Auto => AUTO_MEMORY_BYTES,
            StoreMode::Memory => u64::MAX,
            StoreMode::Disk => 0,
        }
    }

    fn spill_dir(&self) -> PathBuf {
        self.spill_dir.clone().unwrap_or_else(std::env::temp_dir)
    }
}

/// Bytes an [`OwnedGraph`] takes in memory (its vectors' contents).
pub fn graph_bytes(g: &OwnedGraph) -> u64 {
    4 * (g.x.len() + g.row_ptr.len() + g.src.len() + g.edge_weight.as_ref().map_or(0, Vec::len))
        as u64
}

/// The graphs of a training set, indexed `0..len` (in memory, on disk, or parts of both after
/// [`GraphStore::append`]), with each graph's system-level anchor kept in memory.
#[derive(Debug, Clone, Default)]
pub struct GraphStore {
    parts: Vec<Part>,
    /// Index of each part's first graph.
    starts: Vec<usize>,
    /// Per graph: [`angraph_core::preprocess::anchor_ns_f32`] of its first node.
    anchors: Vec<f32>,
    feature_width: Option<usize>,
}

#[derive(Debug, Clone)]
enum Part {
    Memory(Vec<OwnedGraph>),
    Packed(Arc<SpillFile>),
}

/// A spill file: graph `k`'s record is bytes `offsets[k]..offsets[k + 1]`.
#[derive(Debug)]
struct SpillFile {
    file: File,
    offsets: Vec<u64>,
    /// The folder it was made in (errors name it; the file itself is unlinked).
    dir: PathBuf,
}

fn anchor_of(g: &OwnedGraph) -> f32 {
    let w = (g.feature_width as usize).min(g.x.len());
    angraph_core::preprocess::anchor_ns_f32(&g.x[..w])
}

impl From<Vec<OwnedGraph>> for GraphStore {
    fn from(graphs: Vec<OwnedGraph>) -> Self {
        GraphStore {
            anchors: graphs.iter().map(anchor_of).collect(),
            feature_width: graphs.first().map(|g| g.feature_width as usize),
            starts: vec![0],
            parts: vec![Part::Memory(graphs)],
        }
    }
}

impl GraphStore {
    /// Number of graphs.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// No graphs.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// Node features of the first graph (0 for an empty store).
    pub fn feature_width(&self) -> usize {
        self.feature_width.unwrap_or(0)
    }

    /// Graph `i`'s system-level estimate as the model sees it (ns): node feature
    /// `graph_span_us` of its first node (0 for an empty graph).
    pub fn anchor_ns(&self, i: usize) -> f32 {
        self.anchors[i]
    }

    /// Some graphs are in a spill file.
    pub fn on_disk(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Packed(_)))
    }

    /// Graph `i` (borrowed from memory, or read from the spill file). Panics when `i >= len`,
    /// as indexing does; a failed read is an error.
    pub fn get(&self, i: usize) -> Result<Cow<'_, OwnedGraph>> {
        assert!(i < self.len(), "graph {i} of a store of {}", self.len());
        let p = self.starts.partition_point(|&s| s <= i) - 1;
        let k = i - self.starts[p];
        match &self.parts[p] {
            Part::Memory(v) => Ok(Cow::Borrowed(&v[k])),
            Part::Packed(f) => f.read(k).map(Cow::Owned),
        }
    }

    /// Graphs `idx`, in that order.
    pub fn get_many(&self, idx: &[usize]) -> Result<Vec<Cow<'_, OwnedGraph>>> {
        idx.iter().map(|&i| self.get(i)).collect()
    }

    /// Append `other`'s graphs after this store's.
    pub fn append(&mut self, other: GraphStore) {
        let base = self.len();
        if self.feature_width.is_none() {
            self.feature_width = other.feature_width;
        }
        for (p, s) in other.parts.into_iter().zip(other.starts) {
            self.starts.push(base + s);
            self.parts.push(p);
        }
        self.anchors.extend(other.anchors);
    }
}

impl SpillFile {
    fn read(&self, k: usize) -> Result<OwnedGraph> {
        let (a, b) = (self.offsets[k], self.offsets[k + 1]);
        let mut buf = vec![0u8; (b - a) as usize];
        self.file.read_exact_at(&mut buf, a).with_context(|| {
            format!(
                "the graph spill file in {}: cannot read graph {k} (bytes {a}..{b})",
                self.dir.display()
            )
        })?;
        decode(&buf).with_context(|| {
            format!(
                "the graph spill file in {}: graph {k} (bytes {a}..{b}) is damaged",
                self.dir.display()
            )
        })
    }
}

/// Collects the graphs of one dataset as [`StoreOptions`] say: in memory while the load's
/// budget lasts, then (all of this dataset's graphs) in a spill file.
pub struct StoreBuilder<'a> {
    budget: &'a mut u64,
    opts: &'a StoreOptions,
    memory: Vec<OwnedGraph>,
    memory_bytes: u64,
    spill: Option<SpillWriter>,
    anchors: Vec<f32>,
    feature_width: Option<usize>,
}

impl<'a> StoreBuilder<'a> {
    /// A builder that takes from `budget` the bytes it keeps in memory.
    pub fn new(opts: &'a StoreOptions, budget: &'a mut u64) -> Self {
        StoreBuilder {
            budget,
            opts,
            memory: Vec::new(),
            memory_bytes: 0,
            spill: None,
            anchors: Vec::new(),
            feature_width: None,
        }
    }

    /// Add the next graph.
    pub fn push(&mut self, g: OwnedGraph) -> Result<()> {
        self.anchors.push(anchor_of(&g));
        self.feature_width.get_or_insert(g.feature_width as usize);
        if let Some(s) = &mut self.spill {
            return s.push(&g);
        }
        let bytes = graph_bytes(&g);
        if self.memory_bytes + bytes <= *self.budget {
            self.memory_bytes += bytes;
            self.memory.push(g);
            return Ok(());
        }
        let mut s = SpillWriter::create(&self.opts.spill_dir())?;
        for m in self.memory.drain(..) {
            s.push(&m)?;
        }
        self.memory_bytes = 0;
        s.push(&g)?;
        self.spill = Some(s);
        Ok(())
    }

    /// The store (the budget keeps what it did not use).
    pub fn finish(self) -> Result<GraphStore> {
        let part = match self.spill {
            Some(s) => Part::Packed(Arc::new(s.finish()?)),
            None => {
                *self.budget -= self.memory_bytes;
                Part::Memory(self.memory)
            }
        };
        Ok(GraphStore {
            parts: vec![part],
            starts: vec![0],
            anchors: self.anchors,
            feature_width: self.feature_width,
        })
    }
}

/// Writes graph records to a new, already unlinked, spill file.
struct SpillWriter {
    out: BufWriter<File>,
    file: File,
    dir: PathBuf,
    offsets: Vec<u64>,
    record: Vec<u8>,
}

static SPILL_COUNTER: AtomicUsize = AtomicUsize::new(0);

impl SpillWriter {
    fn create(dir: &Path) -> Result<SpillWriter> {
        let n = SPILL_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".angraph-graphs-{}-{n}.spill", std::process::id()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| {
                format!(
                    "{}: cannot create the graph spill file (--spill-dir names a writable folder)",
                    path.display()
                )
            })?;
        // Unlinked at once: the handle keeps the data, and nothing is left behind.
        std::fs::remove_file(&path)
            .with_context(|| format!("{}: cannot unlink the spill file", path.display()))?;
        let out = BufWriter::with_capacity(
            1 << 20,
            file.try_clone()
                .context("cannot duplicate the spill file handle")?,
        );
        Ok(SpillWriter {
            out,
            file,
            dir: dir.to_path_buf(),
            offsets: vec![0],
            record: Vec::new(),
        })
    }

    fn push(&mut self, g: &OwnedGraph) -> Result<()> {
        encode(g, &mut self.record);
        self.out.write_all(&self.record).with_context(|| {
            format!(
                "{}: cannot write the graph spill file (disk full? --spill-dir chooses another folder)",
                self.dir.display()
            )
        })?;
        let end = self.offsets.last().copied().unwrap_or(0) + self.record.len() as u64;
        self.offsets.push(end);
        Ok(())
    }

    fn finish(self) -> Result<SpillFile> {
        let dir = self.dir.clone();
        self.out.into_inner().map_err(|e| {
            anyhow::anyhow!(
                "{}: cannot write the graph spill file: {}",
                dir.display(),
                e.error()
            )
        })?;
        Ok(SpillFile {
            file: self.file,
            offsets: self.offsets,
            dir,
        })
    }
}

/// A record: `num_nodes, feature_width, num_edges, weighted` (u32 each), then `x` (f32),
/// `row_ptr` (u32), `src` (u32) and the weights (f32) when weighted; little-endian.
fn encode(g: &OwnedGraph, out: &mut Vec<u8>) {
    out.clear();
    let head = [
        (g.row_ptr.len().saturating_sub(1)) as u32,
        g.feature_width,
        g.src.len() as u32,
        g.edge_weight.is_some() as u32,
    ];
    for v in head {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in &g.x {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in g.row_ptr.iter().chain(&g.src) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in g.edge_weight.iter().flatten() {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn decode(b: &[u8]) -> Result<OwnedGraph> {
    let words: Vec<[u8; 4]> = b
        .chunks_exact(4)
        .map(|c| [c[0], c[1], c[2], c[3]])
        .collect();
    if !b.len().is_multiple_of(4) || words.len() < 4 {
        bail!("{} bytes is not a record", b.len());
    }
    let u = |w: [u8; 4]| u32::from_le_bytes(w) as usize;
    let (n, fw, e, weighted) = (u(words[0]), u(words[1]), u(words[2]), words[3] != [0; 4]);
    // In u128: a damaged header's counts (up to 2^32 each) cannot overflow it.
    let want = 4 + n as u128 * fw as u128 + (n as u128 + 1) + e as u128 * (1 + weighted as u128);
    if words.len() as u128 != want {
        bail!("{} words, the header needs {want}", words.len());
    }
    let mut at = 4;
    let mut take = |k: usize| {
        let s = &words[at..at + k];
        at += k;
        s
    };
    let x = take(n * fw)
        .iter()
        .map(|&w| f32::from_le_bytes(w))
        .collect();
    let row_ptr = take(n + 1).iter().map(|&w| u32::from_le_bytes(w)).collect();
    let src = take(e).iter().map(|&w| u32::from_le_bytes(w)).collect();
    let edge_weight = weighted.then(|| take(e).iter().map(|&w| f32::from_le_bytes(w)).collect());
    Ok(OwnedGraph {
        feature_width: fw as u32,
        x,
        row_ptr,
        src,
        edge_weight,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graphs(n: usize) -> Vec<OwnedGraph> {
        (0..n)
            .map(|k| {
                let nodes = 3 + k as u32 % 4;
                let fw = 5;
                let x = (0..nodes * fw)
                    .map(|v| v as f32 * 0.25 - k as f32)
                    .collect();
                let edges: Vec<(u32, u32)> = (1..nodes)
                    .map(|d| (d - 1, d))
                    .chain([(0, nodes - 1)])
                    .collect();
                let w: Vec<f32> = (0..edges.len()).map(|v| (v + k) as f32).collect();
                OwnedGraph::from_coo(nodes, fw, x, &edges, (k % 2 == 0).then_some(&w[..])).unwrap()
            })
            .collect()
    }

    /// Every mode gives the graphs back bit for bit, in order, with their anchors; the spill
    /// file leaves nothing in its folder; `Auto` spills a dataset that exceeds the budget whole.
    #[test]
    fn every_store_returns_the_same_graphs() {
        let dir = std::env::temp_dir().join(format!("angraph-store-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let gs = graphs(9);
        for mode in [StoreMode::Memory, StoreMode::Disk, StoreMode::Auto] {
            let opts = StoreOptions {
                mode,
                spill_dir: Some(dir.clone()),
            };
            // Auto with a budget of the second dataset's size: the first spills, the second fits.
            let mut budget = match mode {
                StoreMode::Auto => gs[6..8].iter().map(graph_bytes).sum(),
                _ => opts.memory_budget(),
            };
            let mut stores = Vec::new();
            for chunk in [&gs[..6], &gs[6..8]] {
                let mut b = StoreBuilder::new(&opts, &mut budget);
                for g in chunk {
                    b.push(g.clone()).unwrap();
                }
                stores.push(b.finish().unwrap());
            }
            let mut all = stores.remove(0);
            let second = stores.remove(0);
            if mode == StoreMode::Auto {
                assert!(all.on_disk() && !second.on_disk());
            }
            assert_eq!(all.on_disk(), mode != StoreMode::Memory);
            all.append(second);
            all.append(GraphStore::from(vec![gs[8].clone()]));
            assert_eq!(all.len(), 9);
            assert_eq!(all.feature_width(), 5);
            for (i, g) in gs.iter().enumerate() {
                assert_eq!(all.get(i).unwrap().as_ref(), g, "{mode:?} graph {i}");
                assert_eq!(all.anchor_ns(i).to_bits(), anchor_of(g).to_bits());
            }
            assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "{mode:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A damaged record is an error naming the spill folder, not a panic.
    #[test]
    fn a_damaged_record_is_an_error() {
        let g = &graphs(1)[0];
        let mut rec = Vec::new();
        encode(g, &mut rec);
        assert_eq!(&decode(&rec).unwrap(), g);
        for cut in [0, 3, 16, rec.len() - 4] {
            assert!(decode(&rec[..cut]).is_err(), "cut at {cut}");
        }
        rec[0] = 0xff;
        assert!(decode(&rec).is_err());
        // Counts whose product overflows 64 bits: an error, not an overflow.
        rec[..8].copy_from_slice(&[0xff; 8]);
        assert!(decode(&rec).is_err());
    }
}
