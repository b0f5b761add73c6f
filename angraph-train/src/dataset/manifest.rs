//! `data/manifest.json`: the benchmark datasets, their configurations, seeds and sizes.

use super::Kind;
use crate::sim::{Generator, SimConfig};
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One benchmark dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Directory name (`digits_4x4`).
    pub name: String,
    /// Latency (graphs) or power (activity matrices).
    pub kind: Kind,
    /// The dataset of the paper this one mirrors.
    pub paper: String,
    /// What it is for (training, generalization, transfer, ...).
    pub purpose: String,
    /// The configuration, seed included.
    pub config: SimConfig,
    /// Full size (samples).
    pub samples: usize,
    /// Size of the committed sample (the first samples of the full set).
    pub sample_size: usize,
}

/// The manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Free text.
    pub description: String,
    /// The datasets.
    pub datasets: Vec<Entry>,
}

impl Manifest {
    /// Read and validate (unique names, sizes, valid configurations); errors name the file
    /// and the entry.
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        let m: Manifest = serde_json::from_str(&text).map_err(|e| {
            anyhow!(
                "{}: line {}, column {}: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        let mut names = std::collections::HashSet::new();
        for (i, e) in m.datasets.iter().enumerate() {
            let at = || format!("{}: dataset {} ({:?})", path.display(), i, e.name);
            if !names.insert(e.name.as_str()) {
                bail!("{}: name used twice", at());
            }
            if e.name.is_empty()
                || !e
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                bail!("{}: field \"name\": use letters, digits and '_'", at());
            }
            if e.sample_size == 0 || e.sample_size > e.samples {
                bail!("{}: field \"sample_size\" must be in 1..=samples", at());
            }
            Generator::new(e.config.clone()).with_context(at)?;
        }
        Ok(m)
    }

    /// The entries named (all when `names` is empty); unknown names are an error.
    pub fn select(&self, names: &[String]) -> Result<Vec<&Entry>> {
        if names.is_empty() {
            return Ok(self.datasets.iter().collect());
        }
        names
            .iter()
            .map(|n| {
                self.datasets
                    .iter()
                    .find(|e| &e.name == n)
                    .with_context(|| {
                        format!(
                            "no dataset {n:?} in the manifest (known: {})",
                            self.datasets
                                .iter()
                                .map(|e| e.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })
            })
            .collect()
    }
}
