//! The training-side view of a dataset: graphs (or activity rows) with labels in model units,
//! the system-level estimate, seeded splits, feature standardisation and seeded batching.

use crate::dataset::Split;
use angraph_core::config::Preprocess;
use angraph_core::rng::SplitMix64;

pub use super::graph_store::GraphStore;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// Fisher-Yates shuffle driven by SplitMix64(`seed`).
pub fn shuffle(idx: &mut [usize], seed: u64) {
    let mut rng = SplitMix64(seed);
    for i in (1..idx.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        idx.swap(i, j);
    }
}

/// The training order of `indices` in `epoch` (a seeded shuffle that depends on the run seed and
/// the epoch only, so a resumed run sees the same order as an uninterrupted one), cut into
/// batches of `batch_size`.
pub fn epoch_batches(
    indices: &[usize],
    seed: u64,
    epoch: usize,
    batch_size: usize,
) -> Vec<Vec<usize>> {
    let mut order = indices.to_vec();
    shuffle(
        &mut order,
        seed ^ (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(epoch as u64 + 1)),
    );
    order
        .chunks(batch_size.max(1))
        .map(|c| c.to_vec())
        .collect()
}

/// Per-feature standardisation `(x - mean) / std`, measured on training data; folded into the
/// first linear layer on export, so exported models take raw features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureNorm {
    /// Per-feature mean.
    pub mean: Vec<f32>,
    /// Per-feature standard deviation (features that barely vary get 1, so that a feature
    /// constant in training does not explode on data where it varies).
    pub std: Vec<f32>,
    /// Features the model does not read (set to 0 after standardisation; their weight columns
    /// are zero after folding): features that reach the Q16.16 ceiling
    /// ([`SATURATED_FEATURE`]) in training, i.e. a saturated value rather than a measurement,
    /// and features constant in training (std below [`CONSTANT_FEATURE_STD`], e.g. the mesh size
    /// or the process node of a single-configuration set): their weights could only learn a
    /// bias, which then shifts every prediction on data where they differ (unseen scales).
    /// The fixed-point quantizer then ignores them when it measures the input range.
    pub dropped: Vec<usize>,
}

/// Smallest divisor of the standardisation. Folding `1 / std` into the input projection
/// multiplies a feature's weights by it, and the fixed-point path keeps one int8 scale per
/// output row: a feature with a tiny spread (e.g. `hop_share`, std 0.005) would take the whole
/// row's int8 range and leave the others with a few levels. With this floor the fixed-point R^2
/// of ANGraph-L on digits 4x4 dropped by 0.0002 instead of 0.21 (8-epoch runs, same f32 R^2).
pub const MIN_FEATURE_STD: f64 = 0.1;

/// `row` after the model's input preprocessing (angraph-core's definition).
pub fn preprocess_row(pre: Preprocess, row: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; row.len()];
    angraph_core::preprocess::apply_f32(pre, row, &mut out);
    out
}

/// A feature whose training standard deviation is below this is constant in training.
pub const CONSTANT_FEATURE_STD: f64 = 1e-3;

/// A feature whose training maximum reaches this is saturated (Q16.16 `i32::MAX / 65536`).
pub const SATURATED_FEATURE: f32 = 32767.0;

impl FeatureNorm {
    /// The identity.
    pub fn identity(width: usize) -> Self {
        FeatureNorm {
            mean: vec![0.0; width],
            std: vec![1.0; width],
            dropped: Vec::new(),
        }
    }

    /// Measure over `rows` (row-major, `width` columns).
    pub fn measure<'a>(width: usize, rows: impl Iterator<Item = &'a [f32]>) -> Self {
        let mut st = NormStats::new(width);
        for r in rows {
            st.add(r);
        }
        st.finish()
    }

    /// Also drop the features `indices` (kept sorted and unique).
    pub fn drop(&mut self, indices: &[usize]) {
        self.dropped.extend_from_slice(indices);
        self.dropped.sort_unstable();
        self.dropped.dedup();
    }

    /// Standardise row-major `x` in place.
    pub fn apply(&self, x: &mut [f32]) {
        let w = self.mean.len();
        for row in x.chunks_mut(w) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = (*v - m) / s;
            }
            for &j in &self.dropped {
                row[j] = 0.0;
            }
        }
    }

    /// Fold into a linear layer that reads standardised inputs (`w` row-major `[out, in]`):
    /// `W ((x - m) / s) + b = (W / s) x + (b - W (m / s))`.
    pub fn fold_into(&self, w: &mut [f32], b: &mut [f32]) {
        let n_in = self.mean.len();
        for (o, row) in w.chunks_mut(n_in).enumerate() {
            for &j in &self.dropped {
                row[j] = 0.0;
            }
            let mut shift = 0f64;
            for ((wv, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                shift += *wv as f64 * (*m as f64 / *s as f64);
                *wv /= s;
            }
            b[o] -= shift as f32;
        }
    }
}

/// Running sums of [`FeatureNorm::measure`], one row at a time (so rows can come from a
/// dataset that is read as it goes).
#[derive(Debug, Clone)]
pub struct NormStats {
    s: Vec<f64>,
    s2: Vec<f64>,
    mx: Vec<f32>,
    n: f64,
}

impl NormStats {
    /// No rows yet, `width` columns.
    pub fn new(width: usize) -> Self {
        NormStats {
            s: vec![0.0; width],
            s2: vec![0.0; width],
            mx: vec![0.0; width],
            n: 0.0,
        }
    }

    /// Add one row.
    pub fn add(&mut self, r: &[f32]) {
        for (((a, b), m), &v) in self
            .s
            .iter_mut()
            .zip(self.s2.iter_mut())
            .zip(self.mx.iter_mut())
            .zip(r)
        {
            *a += v as f64;
            *b += v as f64 * v as f64;
            *m = m.max(v.abs());
        }
        self.n += 1.0;
    }

    /// The standardisation of the rows added.
    pub fn finish(self) -> FeatureNorm {
        let NormStats { s, s2, mx, n } = self;
        let width = s.len();
        let n = n.max(1.0);
        let sd_of = |j: usize| ((s2[j] / n - (s[j] / n) * (s[j] / n)).max(0.0)).sqrt();
        let dropped = (0..width)
            .filter(|&j| mx[j] >= SATURATED_FEATURE || sd_of(j) < CONSTANT_FEATURE_STD)
            .collect();
        let mean: Vec<f32> = s.iter().map(|a| (a / n) as f32).collect();
        let std = s
            .iter()
            .zip(&s2)
            .map(|(a, b)| {
                let var = (b / n - (a / n) * (a / n)).max(0.0);
                let sd = var.sqrt();
                if sd < CONSTANT_FEATURE_STD {
                    1.0
                } else {
                    sd.max(MIN_FEATURE_STD) as f32
                }
            })
            .collect();
        FeatureNorm { mean, std, dropped }
    }
}

/// A latency dataset ready for training: graphs, labels and the system-level estimate in the
/// label unit, and the splits.
#[derive(Debug, Clone)]
pub struct LatencySet {
    /// Name (the dataset folder's name).
    pub name: String,
    /// Graphs with raw features and activity edge weights (in memory or in a spill file).
    pub graphs: GraphStore,
    /// Reference latency per graph.
    pub labels: Vec<f32>,
    /// The system-level simulator's latency estimate per graph, when the dataset has it.
    pub estimate: Option<Vec<f32>>,
    /// Unit of labels and estimate.
    pub unit: String,
    /// Split.
    pub splits: Split,
}

impl LatencySet {
    /// Feature width (0 for an empty set).
    pub fn feature_width(&self) -> usize {
        self.graphs.feature_width()
    }

    /// Graph `i`'s system-level estimate as the model sees it (ns): node feature
    /// `graph_span_us` of its first node, the anchor of a `Log2Ratio` model (0 for an empty graph).
    pub fn anchor_ns(&self, i: usize) -> f32 {
        self.graphs.anchor_ns(i)
    }

    /// Standardisation measured over the nodes of the `indices` graphs, after `pre` (one graph
    /// in memory at a time).
    pub fn feature_norm(&self, indices: &[usize], pre: Preprocess) -> Result<FeatureNorm> {
        let w = self.feature_width();
        let mut st = NormStats::new(w);
        for &i in indices {
            let g = self.graphs.get(i)?;
            for r in g.x.chunks(w.max(1)) {
                if pre == Preprocess::None {
                    st.add(r);
                } else {
                    st.add(&preprocess_row(pre, r));
                }
            }
        }
        Ok(st.finish())
    }

    /// Append `other` (graphs after this set's, each set keeping its own splits; name
    /// `a+b`). Feature width and label unit must agree; the estimate stays only if both
    /// sets have it.
    pub fn append(&mut self, other: LatencySet) -> Result<()> {
        if other.feature_width() != self.feature_width() {
            bail!(
                "{}: {} node features, {} has {}",
                other.name,
                other.feature_width(),
                self.name,
                self.feature_width()
            );
        }
        if other.unit != self.unit {
            bail!(
                "{}: labels in {}, {} has {}",
                other.name,
                other.unit,
                self.name,
                self.unit
            );
        }
        let offset = self.graphs.len();
        self.splits.extend_shifted(&other.splits, offset);
        self.estimate = match (self.estimate.take(), other.estimate) {
            (Some(mut a), Some(b)) => {
                a.extend(b);
                Some(a)
            }
            _ => None,
        };
        self.name = format!("{}+{}", self.name, other.name);
        self.graphs.append(other.graphs);
        self.labels.extend(other.labels);
        Ok(())
    }

    /// Mean label over `indices`.
    pub fn mean_label(&self, indices: &[usize]) -> f32 {
        (indices.iter().map(|&i| self.labels[i] as f64).sum::<f64>() / indices.len().max(1) as f64)
            as f32
    }
}

/// A power dataset ready for training: flattened activity matrices and energy labels.
#[derive(Debug, Clone)]
pub struct PowerSet {
    /// Name.
    pub name: String,
    /// Inputs per sample (the flattened activity matrix).
    pub in_dim: usize,
    /// Row-major inputs `[n, in_dim]`.
    pub x: Vec<f32>,
    /// Labels per sample as `[dynamic, static]` (total = their sum).
    pub labels: Vec<[f32; 2]>,
    /// Unit of the energies.
    pub unit: String,
    /// Split.
    pub splits: Split,
}

impl PowerSet {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Is it empty?
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.x[i * self.in_dim..(i + 1) * self.in_dim]
    }

    /// Append `other` (rows after this set's, each set keeping its own splits; name `a+b`).
    /// Input width and label unit must agree.
    pub fn append(&mut self, other: PowerSet) -> Result<()> {
        if other.in_dim != self.in_dim || other.unit != self.unit {
            bail!(
                "{}: rows of {} inputs in {}, {} has {} inputs in {}",
                other.name,
                other.in_dim,
                other.unit,
                self.name,
                self.in_dim,
                self.unit
            );
        }
        let offset = self.len();
        self.splits.extend_shifted(&other.splits, offset);
        self.name = format!("{}+{}", self.name, other.name);
        self.x.extend(other.x);
        self.labels.extend(other.labels);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use angraph_core::quantize::OwnedGraph;

    fn line_set(name: &str, n: u32, width: u32, estimate: bool, unit: &str) -> LatencySet {
        let graphs: Vec<OwnedGraph> = (0..n)
            .map(|k| {
                let x = vec![k as f32; 2 * width as usize];
                OwnedGraph::from_coo(2, width, x, &[(0, 1)], None).unwrap()
            })
            .collect();
        LatencySet {
            name: name.into(),
            labels: (0..n).map(|k| k as f32).collect(),
            estimate: estimate.then(|| (0..n).map(|k| k as f32 / 2.0).collect()),
            unit: unit.into(),
            splits: Split::fractions(n as usize, 5, 0.6, 0.2).unwrap(),
            graphs: graphs.into(),
        }
    }

    #[test]
    fn appended_sets_keep_their_own_splits() {
        let (a, b) = (
            line_set("a", 10, 3, true, "ns"),
            line_set("b", 5, 3, true, "ns"),
        );
        let mut ab = a.clone();
        ab.append(b.clone()).unwrap();
        assert_eq!(ab.name, "a+b");
        assert_eq!(ab.graphs.len(), 15);
        assert_eq!(ab.labels[10..], b.labels[..]);
        assert_eq!(
            ab.estimate.as_ref().unwrap()[10..],
            b.estimate.as_ref().unwrap()[..]
        );
        for (joined, first, second) in [
            (&ab.splits.train, &a.splits.train, &b.splits.train),
            (&ab.splits.valid, &a.splits.valid, &b.splits.valid),
            (&ab.splits.test, &a.splits.test, &b.splits.test),
        ] {
            let want: Vec<usize> = first
                .iter()
                .copied()
                .chain(second.iter().map(|i| i + 10))
                .collect();
            assert_eq!(joined, &want);
        }
        // The estimate survives only when both sets have it.
        let mut no_est = a.clone();
        no_est.append(line_set("c", 4, 3, false, "ns")).unwrap();
        assert!(no_est.estimate.is_none());
        // Different feature widths or units are errors that name the set.
        let mut bad = a.clone();
        let e = bad.append(line_set("wide", 4, 4, true, "ns")).unwrap_err();
        assert!(e.to_string().contains("wide: 4 node features"), "{e}");
        let e = bad.append(line_set("us", 4, 3, true, "us")).unwrap_err();
        assert!(e.to_string().contains("us: labels in us"), "{e}");
    }

    #[test]
    fn appended_power_sets_shift_rows_and_splits() {
        let set = |name: &str, n: usize, in_dim: usize| PowerSet {
            name: name.into(),
            in_dim,
            x: (0..n * in_dim).map(|v| v as f32).collect(),
            labels: (0..n).map(|k| [k as f32, 1.0]).collect(),
            unit: "nJ".into(),
            splits: Split::fractions(n, 9, 0.5, 0.25).unwrap(),
        };
        let mut a = set("p", 8, 2);
        let b = set("q", 4, 2);
        a.append(b.clone()).unwrap();
        assert_eq!((a.len(), a.name.as_str()), (12, "p+q"));
        assert_eq!(a.row(9), b.row(1));
        assert!(a
            .splits
            .test
            .ends_with(&b.splits.test.iter().map(|i| i + 8).collect::<Vec<_>>()));
        assert!(a
            .append(set("r", 3, 5))
            .unwrap_err()
            .to_string()
            .contains("r: rows of 5 inputs"));
    }

    #[test]
    fn norm_folds_exactly() {
        let rows = [1.0f32, 10.0, 3.0, 30.0, 5.0, 20.0];
        let norm = FeatureNorm::measure(2, rows.chunks(2));
        assert!((norm.mean[0] - 3.0).abs() < 1e-6 && (norm.mean[1] - 20.0).abs() < 1e-5);
        let mut xs = rows.to_vec();
        norm.apply(&mut xs);
        let w = [0.5f32, -2.0, 1.5, 0.25];
        let b = [0.1f32, -0.3];
        let mut wf = w;
        let mut bf = b;
        norm.fold_into(&mut wf, &mut bf);
        for r in 0..3 {
            for o in 0..2 {
                let std_out = w[2 * o] * xs[2 * r] + w[2 * o + 1] * xs[2 * r + 1] + b[o];
                let raw_out = wf[2 * o] * rows[2 * r] + wf[2 * o + 1] * rows[2 * r + 1] + bf[o];
                assert!((std_out - raw_out).abs() < 1e-4, "{std_out} vs {raw_out}");
            }
        }
    }

    #[test]
    fn constant_and_saturated_features_are_dropped() {
        // Column 0 varies, column 1 is constant (a mesh size), column 2 saturates.
        let rows = [1.0f32, 0.5, 32767.5, 2.0, 0.5, 1.0, 4.0, 0.5, 2.0];
        let norm = FeatureNorm::measure(3, rows.chunks(3));
        assert_eq!(norm.dropped, vec![1, 2]);
        // On unseen data where the constant differs, the prediction does not move.
        let mut w = [0.5f32, 3.0, -1.0];
        let mut b = [0.0f32];
        norm.fold_into(&mut w, &mut b);
        assert_eq!((w[1], w[2]), (0.0, 0.0));
        let mut x = [2.0f32, 0.25, 7.0];
        norm.apply(&mut x);
        assert_eq!((x[1], x[2]), (0.0, 0.0));
        assert!(x[0] != 0.0);
    }

    #[test]
    fn epoch_order_depends_on_seed_and_epoch_only() {
        let idx: Vec<usize> = (0..50).collect();
        let a = epoch_batches(&idx, 7, 3, 8);
        assert_eq!(a, epoch_batches(&idx, 7, 3, 8));
        assert_ne!(a, epoch_batches(&idx, 7, 4, 8));
        assert_eq!(a.len(), 7);
        let mut flat: Vec<usize> = a.concat();
        flat.sort();
        assert_eq!(flat, idx);
    }
}
