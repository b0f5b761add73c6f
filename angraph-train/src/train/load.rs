//! Datasets for training, on top of [`crate::dataset`] (the one OGB-raw / npy reader).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::data::{LatencySet, PowerSet};
use crate::dataset::{GraphDataset, PowerDataset, Split};

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
/// original recipe when it has none), `Some(seed)` re-splits 80/10/10.
pub fn latency_set(dir: &Path, split_seed: Option<u64>) -> Result<LatencySet> {
    let ds = GraphDataset::load(dir)?;
    if ds.graphs.is_empty() {
        bail!("{}: the dataset has no graphs", dir.display());
    }
    let unit = ds
        .meta
        .as_ref()
        .and_then(|m| m.labels.first().map(|c| c.unit.clone()))
        .unwrap_or_else(|| "ns".to_string());
    let n = ds.graphs.len();
    Ok(LatencySet {
        name: name_of(dir),
        splits: splits(&ds.split, n, split_seed),
        graphs: ds.graphs,
        labels: ds.labels,
        estimate: ds.estimates,
        unit,
    })
}

/// Several datasets as one: `load` each folder, then `append` it to the first (each keeps its
/// own splits); errors name the folder.
fn load_all<S>(
    dirs: &[PathBuf],
    split_seed: Option<u64>,
    load: fn(&Path, Option<u64>) -> Result<S>,
    append: fn(&mut S, S) -> Result<()>,
) -> Result<S> {
    let (first, rest) = dirs.split_first().context("no dataset given")?;
    let mut set = load(first, split_seed)?;
    for d in rest {
        append(&mut set, load(d, split_seed)?).with_context(|| {
            format!(
                "training on {} together with {}",
                d.display(),
                first.display()
            )
        })?;
    }
    Ok(set)
}

/// Several latency datasets as one ([`LatencySet::append`]).
pub fn latency_sets(dirs: &[PathBuf], split_seed: Option<u64>) -> Result<LatencySet> {
    load_all(dirs, split_seed, latency_set, LatencySet::append)
}

/// Several power datasets as one, each read for a model of `in_dim` inputs
/// ([`power_set_for`]).
pub fn power_sets_for(
    dirs: &[PathBuf],
    split_seed: Option<u64>,
    in_dim: usize,
) -> Result<PowerSet> {
    let Some((first, rest)) = dirs.split_first() else {
        bail!("no power dataset given");
    };
    let mut set = power_set_for(first, split_seed, in_dim)?;
    for d in rest {
        set.append(power_set_for(d, split_seed, in_dim)?)
            .with_context(|| format!("{} together with {}", d.display(), first.display()))?;
    }
    Ok(set)
}

/// Several power datasets as one ([`PowerSet::append`]).
pub fn power_sets(dirs: &[PathBuf], split_seed: Option<u64>) -> Result<PowerSet> {
    load_all(dirs, split_seed, power_set, PowerSet::append)
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
}
