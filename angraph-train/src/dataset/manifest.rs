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

/// A chip-family protocol: which datasets train a model and which only evaluate it. An
/// evaluation or check configuration never contributes a training sample: no training entry
/// has the same configuration apart from the seed (checked on load).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    /// Name of the model it makes (`angraph_l`, `angraph_p`, `paper_l`).
    pub model: String,
    /// Latency or power.
    pub kind: Kind,
    /// Free text.
    pub description: String,
    /// Training datasets and how many of their first samples are used.
    pub train: Vec<TrainPart>,
    /// Evaluation-only datasets (the paper's zero-shot sets this model did not see).
    pub evaluation: Vec<String>,
    /// Further held-out configurations (not in the paper's table) that check the model
    /// beyond the listed sets; nothing is selected on them either.
    #[serde(default)]
    pub check: Vec<String>,
}

/// One training dataset of a [`Protocol`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainPart {
    /// Dataset name.
    pub name: String,
    /// Samples used (the first ones of the dataset).
    pub samples: usize,
}

/// The manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Free text.
    pub description: String,
    /// The datasets.
    pub datasets: Vec<Entry>,
    /// Training / evaluation protocols of the recommended models.
    #[serde(default)]
    pub protocols: Vec<Protocol>,
}

/// Two configurations that differ at most in the seed (the same chip and traffic family).
fn same_configuration(a: &SimConfig, b: &SimConfig) -> bool {
    SimConfig {
        seed: 0,
        ..a.clone()
    } == SimConfig {
        seed: 0,
        ..b.clone()
    }
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
        for (i, p) in m.protocols.iter().enumerate() {
            let at = || format!("{}: protocol {} ({:?})", path.display(), i, p.model);
            let find = |n: &str, field: &str| -> Result<&Entry> {
                let e = m
                    .datasets
                    .iter()
                    .find(|e| e.name == n)
                    .with_context(|| format!("{}: field {field:?}: no dataset {n:?}", at()))?;
                if e.kind != p.kind {
                    bail!(
                        "{}: field {field:?}: {n:?} is not a {:?} dataset",
                        at(),
                        p.kind
                    );
                }
                Ok(e)
            };
            if p.train.is_empty() {
                bail!("{}: field \"train\" is empty", at());
            }
            let mut train = Vec::new();
            for t in &p.train {
                let e = find(&t.name, "train")?;
                if t.samples == 0 || t.samples > e.samples {
                    bail!(
                        "{}: field \"train\": {:?} uses {} samples, the dataset has {}",
                        at(),
                        t.name,
                        t.samples,
                        e.samples
                    );
                }
                train.push(e);
            }
            for (field, names) in [("evaluation", &p.evaluation), ("check", &p.check)] {
                for n in names {
                    let e = find(n, field)?;
                    if let Some(t) = train
                        .iter()
                        .find(|t| same_configuration(&t.config, &e.config))
                    {
                        bail!(
                            "{}: field {field:?}: {n:?} has the configuration of training set {:?}",
                            at(),
                            t.name
                        );
                    }
                }
            }
        }
        Ok(m)
    }

    /// The protocol of `model`.
    pub fn protocol(&self, model: &str) -> Result<&Protocol> {
        self.protocols
            .iter()
            .find(|p| p.model == model)
            .with_context(|| {
                format!(
                    "no protocol {model:?} in the manifest (known: {})",
                    self.protocols
                        .iter()
                        .map(|p| p.model.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
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
