//! `angraph power-bound`: score the oracles of [`crate::dataset::power_bound`] on manifest
//! entries and print them as a table.

use crate::dataset::manifest::Manifest;
use crate::dataset::power_bound::power_bound;
use anyhow::Result;
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;

/// Arguments of `angraph power-bound`.
#[derive(Debug, Args)]
pub struct PowerBoundArgs {
    /// Power entries of the manifest (e.g. `power_digits_4x4`).
    #[arg(required = true)]
    pub names: Vec<String>,
    /// The manifest.
    #[arg(long, default_value = "data/manifest.json")]
    pub manifest: PathBuf,
    /// Samples per entry (the first N of the entry, as `angraph datasets --samples N`; the
    /// 80/10/10 split with seed 2024 is the datasets' split).
    #[arg(long, default_value_t = 2000)]
    pub samples: usize,
    /// Also write the figures as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Run `angraph power-bound`.
pub fn run(a: &PowerBoundArgs) -> Result<()> {
    let manifest = Manifest::load(&a.manifest)?;
    let mut reports = Vec::new();
    for name in &a.names {
        let b = power_bound(&manifest, name, a.samples, !a.quiet)?;
        println!(
            "{} ({} samples; die sigma {}, 1/die alone: MAPE ~{:.2}%; static share of total {:.2}%)",
            b.dataset, b.samples, b.die_sigma, b.die_only_mape_approx, b.static_share_mean
        );
        println!(
            "| oracle | scale | static R^2 (test) | static MAPE % (test) | static R^2 (all) | static MAPE % (all) | total R^2 (test) | total MAPE % (test) |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        for o in &b.oracles {
            println!(
                "| {} | {:.4} | {:.5} | {:.3} | {:.5} | {:.3} | {:.6} | {:.4} |",
                o.oracle,
                o.scale,
                o.static_test.r2,
                o.static_test.mape,
                o.static_all.r2,
                o.static_all.mape,
                o.total_test.r2,
                o.total_test.mape
            );
        }
        reports.push(b);
    }
    write_json(a.json.as_deref(), &reports)
}

/// Write a bound report as JSON to `path` (atomically) when one was asked for.
pub(crate) fn write_json<T: Serialize>(path: Option<&std::path::Path>, reports: &T) -> Result<()> {
    if let Some(p) = path {
        crate::fsio::write_atomic(
            p,
            (serde_json::to_string_pretty(reports)? + "\n").as_bytes(),
        )?;
        eprintln!("wrote {}", p.display());
    }
    Ok(())
}
