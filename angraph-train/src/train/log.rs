//! The per-epoch training log: `log.csv`, `log.json` and the training-curve `curve.png`.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::plot::{curves, Series};
use crate::fsio::write_atomic;

/// One epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch, from 1.
    pub epoch: usize,
    /// Mean training loss (model units).
    pub train_loss: f64,
    /// Validation loss (same loss, evaluation mode).
    pub valid_loss: f64,
    /// Validation R^2 (for ANGraph-P: of the total energy).
    pub valid_r2: f64,
    /// Validation RMSE in the label unit.
    pub valid_rmse: f64,
    /// Validation MAPE, percent.
    pub valid_mape: f64,
    /// Training time of the epoch, seconds (validation excluded).
    pub seconds: f64,
}

/// All epochs so far.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainLog {
    /// Records in order.
    pub epochs: Vec<EpochRecord>,
}

impl TrainLog {
    /// Append.
    pub fn push(&mut self, r: EpochRecord) {
        self.epochs.retain(|e| e.epoch < r.epoch);
        self.epochs.push(r);
    }

    /// Mean epoch time.
    pub fn mean_seconds(&self) -> f64 {
        self.epochs.iter().map(|e| e.seconds).sum::<f64>() / self.epochs.len().max(1) as f64
    }

    /// Read `log.json`.
    pub fn load(path: &Path) -> Result<Self> {
        let s =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&s).with_context(|| format!("{}: not a training log", path.display()))
    }

    /// Write `log.csv`, `log.json` and `curve.png` into `dir`.
    pub fn save(&self, dir: &Path, title: &str, unit: &str) -> Result<()> {
        write_atomic(&dir.join("log.json"), &self.json_bytes()?)?;
        self.save_views(dir, title, unit)
    }

    /// The bytes of `log.json`.
    pub fn json_bytes(&self) -> Result<Vec<u8>> {
        Ok(serde_json::to_string_pretty(self)?.into_bytes())
    }

    /// Write the views of the log, `log.csv` and `curve.png`, into `dir`.
    pub fn save_views(&self, dir: &Path, title: &str, unit: &str) -> Result<()> {
        let mut csv = String::from(
            "epoch,train_loss,valid_loss,valid_r2,valid_rmse,valid_mape_percent,seconds\n",
        );
        for e in &self.epochs {
            csv.push_str(&format!(
                "{},{},{},{},{},{},{:.3}\n",
                e.epoch,
                e.train_loss,
                e.valid_loss,
                e.valid_r2,
                e.valid_rmse,
                e.valid_mape,
                e.seconds
            ));
        }
        write_atomic(&dir.join("log.csv"), csv.as_bytes())?;
        let pts = |f: fn(&EpochRecord) -> f64| -> Vec<(f64, f64)> {
            self.epochs.iter().map(|e| (e.epoch as f64, f(e))).collect()
        };
        curves(
            &dir.join("curve.png"),
            title,
            &format!("loss (model units); RMSE ({unit})"),
            &[
                Series {
                    name: "train loss",
                    points: pts(|e| e.train_loss),
                },
                Series {
                    name: "valid loss",
                    points: pts(|e| e.valid_loss),
                },
                Series {
                    name: "valid RMSE",
                    points: pts(|e| e.valid_rmse),
                },
            ],
        )
    }
}
