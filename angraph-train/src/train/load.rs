//! Datasets for training, on top of [`crate::dataset`] (the one OGB-raw / npy reader).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::data::{LatencySet, PowerSet};
use super::graph_store::{StoreBuilder, StoreOptions};
use crate::dataset::{GraphDatasetReader, PowerDataset, Split};

fn name_of(dir: &Path) -> String {
    dir.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

/// The dataset's own split, or with `split_seed` the generator's 80/10/10 rule re-drawn (so
/// `--split-seed S` reproduces the split of a dataset generated with seed `S`).
fn splits(stored: &Split, n: usize, split_seed: Option<u64>) -> Split {
    match split_seed {
        Some(s) => Split::random(n, s),
        None => stored.clone(),
    }
}

/// Load a latency graph dataset; `split_seed` = None uses the dataset's own split files (or the
/// original recipe when it has none), `Some(seed)` re-splits 80/10/10. The graphs are stored as
/// [`StoreOptions::default`] says (in memory up to 1 GiB, else in a spill file).
pub fn latency_set(dir: &Path, split_seed: Option<u64>) -> Result<LatencySet> {
    let opts = StoreOptions::default();
    latency_set_stored(dir, split_seed, &opts, &mut opts.memory_budget())
}

/// [`latency_set`] with the graphs stored as `opts` say, taking what it keeps in memory from
/// `budget` (bytes). The dataset is read one graph at a time, so the load itself never holds
/// more than the store keeps.
pub fn latency_set_stored(
    dir: &Path,
    split_seed: Option<u64>,
    opts: &StoreOptions,
    budget: &mut u64,
) -> Result<LatencySet> {
    let mut r = GraphDatasetReader::open(dir)?;
    if r.is_empty() {
        bail!("{}: the dataset has no graphs", dir.display());
    }
    let unit = r
        .meta
        .as_ref()
        .and_then(|m| m.labels.first().map(|c| c.unit.clone()))
        .unwrap_or_else(|| "ns".to_string());
    let n = r.len();
    let mut store = StoreBuilder::new(opts, budget);
    while let Some((g, _)) = r.graphs.next_graph()? {
        store.push(g)?;
    }
    Ok(LatencySet {
        name: name_of(dir),
        splits: splits(&r.split, n, split_seed),
        graphs: store.finish()?,
        labels: r.labels,
        estimate: r.estimates,
        unit,
    })
}

/// Several latency datasets as one ([`LatencySet::append`]), stored as `opts` say (the memory
/// budget is shared by all of them).
pub fn latency_sets_stored(
    dirs: &[PathBuf],
    split_seed: Option<u64>,
    opts: &StoreOptions,
) -> Result<LatencySet> {
    let mut budget = opts.memory_budget();
    load_all(
        dirs,
        |d| latency_set_stored(d, split_seed, opts, &mut budget),
        LatencySet::append,
    )
}

/// Several datasets as one: `load` each folder, then `append` it to the first (each keeps its
/// own splits); errors name the folder.
fn load_all<S>(
    dirs: &[PathBuf],
    mut load: impl FnMut(&Path) -> Result<S>,
    append: fn(&mut S, S) -> Result<()>,
) -> Result<S> {
    let (first, rest) = dirs.split_first().context("no dataset given")?;
    let mut set = load(first)?;
    for d in rest {
        append(&mut set, load(d)?).with_context(|| {
            format!(
                "training on {} together with {}",
                d.display(),
                first.display()
            )
        })?;
    }
    Ok(set)
}

/// Several latency datasets as one ([`LatencySet::append`]), stored as
/// [`StoreOptions::default`] says.
pub fn latency_sets(dirs: &[PathBuf], split_seed: Option<u64>) -> Result<LatencySet> {
    latency_sets_stored(dirs, split_seed, &StoreOptions::default())
}

/// Several power datasets as one, each read for a model of `in_dim` inputs
/// ([`power_set_for`]).
pub fn power_sets_for(
    dirs: &[PathBuf],
    split_seed: Option<u64>,
    in_dim: usize,
) -> Result<PowerSet> {
    load_all(
        dirs,
        |d| power_set_for(d, split_seed, in_dim),
        PowerSet::append,
    )
}

/// Several power datasets as one ([`PowerSet::append`]).
pub fn power_sets(dirs: &[PathBuf], split_seed: Option<u64>) -> Result<PowerSet> {
    load_all(dirs, |d| power_set(d, split_seed), PowerSet::append)
}

/// Load a power dataset (labels as `[dynamic, static]`, total = their sum).
pub fn power_set(dir: &Path, split_seed: Option<u64>) -> Result<PowerSet> {
    let ds = PowerDataset::load(dir)?;
    let dynamic = ds
        .column("dynamic")
        .with_context(|| format!("{}", dir.display()))?;
    let stat = ds
        .column("static")
        .with_context(|| format!("{}", dir.display()))?;
    let n = dynamic.len();
    if n == 0 {
        bail!("{}: the dataset has no samples", dir.display());
    }
    let in_dim: usize = ds.feature_shape.iter().skip(1).product();
    if in_dim * n != ds.features.len() {
        bail!(
            "{}: feature.npy holds {} values, expected {n} x {in_dim}",
            dir.display(),
            ds.features.len()
        );
    }
    let unit = ds
        .meta
        .as_ref()
        .and_then(|m| m.labels.first().map(|c| c.unit.clone()))
        .unwrap_or_else(|| "nJ".to_string());
    Ok(PowerSet {
        name: name_of(dir),
        in_dim,
        splits: splits(&ds.split, n, split_seed),
        x: ds.features,
        labels: dynamic.into_iter().zip(stat).map(|(d, s)| [d, s]).collect(),
        unit,
    })
}

/// [`power_set`] as a model of input width `in_dim` reads it: the stored rows when the widths
/// agree; for a narrower model (a 36-input original, a 42-input model of power input version
/// 2) on wider rows (`angraph_core::power_input`: each layout extends the one before), their
/// first `in_dim` values ([`crate::dataset::power::model_row_width`]). Any other mismatch is
/// an error naming the dataset.
pub fn power_set_for(dir: &Path, split_seed: Option<u64>, in_dim: usize) -> Result<PowerSet> {
    let mut set = power_set(dir, split_seed)?;
    if set.in_dim == in_dim {
        return Ok(set);
    }
    if crate::dataset::power::model_row_width(set.in_dim, in_dim).is_none() {
        bail!(
            "{}: rows of {} inputs, the model reads {in_dim}",
            dir.display(),
            set.in_dim
        );
    }
    set.x = set
        .x
        .chunks_exact(set.in_dim)
        .flat_map(|r| r[..in_dim].iter().copied())
        .collect();
    set.in_dim = in_dim;
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::GraphDataset;
    use crate::dataset::SPLIT_SEED;

    /// `--split-seed 2024` (the generator's seed) reproduces every committed sample set's own
    /// split files, and another seed draws another split.
    #[test]
    fn split_seed_reproduces_the_generators_split() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/samples");
        let mut checked = 0;
        for name in ["digits_4x4", "digits_2x2", "dvs_4x4", "power_digits_4x4"] {
            let dir = root.join(name);
            let (own, redrawn, other) = if name.starts_with("power_") {
                (
                    power_set(&dir, None).unwrap().splits,
                    power_set(&dir, Some(SPLIT_SEED)).unwrap().splits,
                    power_set(&dir, Some(SPLIT_SEED + 1)).unwrap().splits,
                )
            } else {
                (
                    latency_set(&dir, None).unwrap().splits,
                    latency_set(&dir, Some(SPLIT_SEED)).unwrap().splits,
                    latency_set(&dir, Some(SPLIT_SEED + 1)).unwrap().splits,
                )
            };
            assert_eq!(own, redrawn, "{name}");
            assert_ne!(own, other, "{name}");
            checked += 1;
        }
        assert_eq!(checked, 4);
    }

    /// A dataset read into a spill file gives the graphs, labels, estimate and split that the
    /// in-memory reader gives, and a budget too small for it sends it to disk under `Auto`.
    #[test]
    fn a_dataset_on_disk_reads_as_in_memory() {
        use crate::train::graph_store::StoreMode;
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/samples/digits_4x4");
        let ds = GraphDataset::load(&dir).unwrap();
        for (mode, budget) in [(StoreMode::Disk, u64::MAX), (StoreMode::Auto, 1 << 20)] {
            let opts = StoreOptions {
                mode,
                spill_dir: None,
            };
            let mut b = if mode == StoreMode::Auto {
                budget
            } else {
                opts.memory_budget()
            };
            let set = latency_set_stored(&dir, None, &opts, &mut b).unwrap();
            assert!(set.graphs.on_disk(), "{mode:?}");
            assert_eq!(set.graphs.len(), ds.graphs.len());
            for (i, g) in ds.graphs.iter().enumerate() {
                assert_eq!(set.graphs.get(i).unwrap().as_ref(), g, "graph {i}");
            }
            assert_eq!(set.labels, ds.labels);
            assert_eq!(set.estimate, ds.estimates);
            assert_eq!(set.splits, ds.split);
        }
        // The default keeps a small set in memory.
        assert!(!latency_set(&dir, None).unwrap().graphs.on_disk());
    }
}
