//! Train / valid / test splits: the one rule that the generator writes (`split/random/*.csv.gz`),
//! the trainer re-draws (`--split-seed`), and transfer cuts (`--shots`, fractions).
//!
//! The rule: shuffle `0..n` with the simulator's seeded RNG ([`Rng::shuffle`], Fisher-Yates with
//! unbiased draws), then cut `floor(n * valid)` validation and `floor(n * test)` test samples
//! (`test = 1 - train - valid`) after the training part, which takes the rounding remainder.
//! With 80/10/10 that is `n / 10` validation and `n / 10` test samples, so
//! `Split::fractions(n, s, 0.8, 0.1) == Split::random(n, s)` and `angraph eval --split-seed S`
//! reproduces the split a dataset generated with seed `S` carries.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::csvgz;
use crate::sim::rng::Rng;

/// Sample indices of the three splits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Training samples.
    pub train: Vec<usize>,
    /// Validation samples (model selection).
    pub valid: Vec<usize>,
    /// Test samples (reported, never used for any choice).
    pub test: Vec<usize>,
}

/// `floor(n * f)`, robust to the binary rounding of fractions such as `1 - 0.8 - 0.1`.
fn count(n: usize, f: f64) -> usize {
    ((n as f64 * f + 1e-6).floor().max(0.0) as usize).min(n)
}

impl Split {
    /// Shuffle `0..n` with `seed` and cut 80/10/10 (the generator's split; train gets the
    /// rounding remainder).
    pub fn random(n: usize, seed: u64) -> Split {
        Self::cut(n, seed, n / 10, n / 10)
    }

    /// Shuffle `0..n` with `seed` and cut `train` / `valid` (fractions in `[0, 1]`, at most 1
    /// together; test = the rest) by the module's rule. The original used 80/10/10 with seed
    /// 2024; transfer uses 10/10/80, and `shots / n` for an exact number of training samples.
    pub fn fractions(n: usize, seed: u64, train: f64, valid: f64) -> Result<Split> {
        if !(0.0..=1.0).contains(&train) || !(0.0..=1.0).contains(&valid) || train + valid > 1.0 {
            bail!("split fractions {train} + {valid} must lie in [0, 1] and sum to at most 1");
        }
        let n_valid = count(n, valid);
        let n_test = count(n, 1.0 - train - valid).min(n - n_valid);
        Ok(Self::cut(n, seed, n_valid, n_test))
    }

    fn cut(n: usize, seed: u64, n_valid: usize, n_test: usize) -> Split {
        let mut idx: Vec<usize> = (0..n).collect();
        Rng::new(seed).shuffle(&mut idx);
        let n_train = n - n_valid - n_test;
        Split {
            train: idx[..n_train].to_vec(),
            valid: idx[n_train..n_train + n_valid].to_vec(),
            test: idx[n_train + n_valid..].to_vec(),
        }
    }

    /// Append `other`'s splits, its indices shifted by `offset` (the samples before it).
    pub fn extend_shifted(&mut self, other: &Split, offset: usize) {
        for (to, from) in [
            (&mut self.train, &other.train),
            (&mut self.valid, &other.valid),
            (&mut self.test, &other.test),
        ] {
            to.extend(from.iter().map(|&i| i + offset));
        }
    }

    /// The named split (`train`, `valid`, `test`, or `all` = every sample in order).
    pub fn named(&self, name: &str, n: usize) -> Result<Vec<usize>> {
        Ok(match name {
            "train" => self.train.clone(),
            "valid" => self.valid.clone(),
            "test" => self.test.clone(),
            "all" => (0..n).collect(),
            other => bail!("unknown split {other:?} (train, valid, test, all)"),
        })
    }

    /// Read `split/random/{train,valid,test}.csv.gz` under `dir`, checking indices `< n`.
    pub fn read(dir: &Path, n: usize) -> Result<Split> {
        let part = |name: &str| -> Result<Vec<usize>> {
            let p = dir.join("split/random").join(format!("{name}.csv.gz"));
            let (_, v) = csvgz::read_rows::<usize>(&p, Some(1), Some(n))?;
            if let Some(bad) = v.iter().position(|&i| i >= n) {
                bail!(
                    "{}: line {}: index {} >= {n} graphs",
                    p.display(),
                    bad + 1,
                    v[bad]
                );
            }
            Ok(v)
        };
        Ok(Split {
            train: part("train")?,
            valid: part("valid")?,
            test: part("test")?,
        })
    }

    /// Write the three split files under `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let d = dir.join("split/random");
        std::fs::create_dir_all(&d).with_context(|| format!("{}: cannot create", d.display()))?;
        for (name, v) in [
            ("train", &self.train),
            ("valid", &self.valid),
            ("test", &self.test),
        ] {
            let mut w = csvgz::CsvGzWriter::create(&d.join(format!("{name}.csv.gz")))?;
            for i in v {
                w.row([i])?;
            }
            w.finish()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_partition_and_are_seeded() {
        let a = Split::fractions(101, 2024, 0.8, 0.1).unwrap();
        let b = Split::fractions(101, 2024, 0.8, 0.1).unwrap();
        assert_eq!(a, b);
        assert_eq!((a.train.len(), a.valid.len(), a.test.len()), (81, 10, 10));
        let mut all: Vec<usize> = [a.train.clone(), a.valid.clone(), a.test.clone()].concat();
        all.sort();
        assert_eq!(all, (0..101).collect::<Vec<_>>());
        let c = Split::fractions(101, 2025, 0.8, 0.1).unwrap();
        assert_ne!(a.train, c.train);
        assert!(Split::fractions(10, 1, 0.9, 0.2).is_err());
    }

    /// The trainer's 80/10/10 re-split is the generator's split, for every size (the two used
    /// to shuffle and round differently).
    #[test]
    fn fractions_80_10_10_are_the_generators_split() {
        for n in 0..400 {
            for seed in [0, 1, 2024, 2025] {
                assert_eq!(
                    Split::fractions(n, seed, 0.8, 0.1).unwrap(),
                    Split::random(n, seed),
                    "n = {n}, seed = {seed}"
                );
            }
        }
    }

    #[test]
    fn shots_are_exact() {
        for n in 1..300 {
            for shots in [1, 5, 20] {
                if shots > n {
                    continue;
                }
                let s = Split::fractions(n, 7, shots as f64 / n as f64, 0.0).unwrap();
                assert_eq!((s.train.len(), s.valid.len()), (shots, 0), "n = {n}");
            }
        }
        let s = Split::fractions(300, 7, 0.1, 0.1).unwrap();
        assert_eq!((s.train.len(), s.valid.len(), s.test.len()), (30, 30, 240));
    }
}
