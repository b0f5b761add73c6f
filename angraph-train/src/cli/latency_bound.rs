//! `angraph latency-bound`: score the oracles of [`crate::dataset::latency_bound`] on manifest
//! entries and print them as a table.

use super::power_bound::write_json;
use crate::dataset::latency_bound::latency_bound;
use crate::dataset::manifest::Manifest;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

/// Arguments of `angraph latency-bound`.
#[derive(Debug, Args)]
pub struct LatencyBoundArgs {
    /// Latency entries of the manifest (e.g. `digits_2x2`).
    #[arg(required = true)]
    pub names: Vec<String>,
    /// The manifest.
    #[arg(long, default_value = "data/manifest.json")]
    pub manifest: PathBuf,
    /// Samples per entry (the first N of the entry, as `angraph datasets --samples N`; the
    /// 80/10/10 split with seed 2024 is the datasets' split).
    #[arg(long, default_value_t = 300)]
    pub samples: usize,
    /// Also write the figures as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Run `angraph latency-bound`.
pub fn run(a: &LatencyBoundArgs) -> Result<()> {
    let manifest = Manifest::load(&a.manifest)?;
    let mut reports = Vec::new();
    for name in &a.names {
        let b = latency_bound(&manifest, name, a.samples, !a.quiet)?;
        println!(
            "{} ({} samples; die sigma {}, component sigma {})",
            b.dataset, b.samples, b.die_sigma, b.component_sigma
        );
        println!(
            "| oracle | scale | R^2 (all) | MAPE % (all) | within +-10 % (all) | R^2 (test) | MAPE % (test) |"
        );
        println!("|---|---|---|---|---|---|---|");
        for o in &b.oracles {
            println!(
                "| {} | {:.4} | {:.4} | {:.2} | {:.1} | {:.4} | {:.2} |",
                o.oracle,
                o.scale,
                o.all.r2,
                o.all.mape,
                o.all.within10_percent,
                o.test.r2,
                o.test.mape
            );
        }
        reports.push(b);
    }
    write_json(a.json.as_deref(), &reports)
}
