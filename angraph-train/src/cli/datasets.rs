//! `angraph datasets`: generate manifest entries (committed samples or full sets) and the
//! report.

use crate::dataset::generate::{generate, Speed};
use crate::dataset::manifest::{Entry, Manifest};
use crate::dataset::report;
use crate::dataset::shard::{generate_part, merge, Shard};
use crate::fsio::write_atomic;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Arguments of `angraph datasets`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DatasetsArgs {
    /// `merge`: assemble a dataset from the parts its shards wrote.
    #[command(subcommand)]
    pub command: Option<DatasetsCommand>,
    /// Manifest entries to generate (see `data/manifest.json`); none: generate nothing
    /// (with `--report`: only the report).
    pub names: Vec<String>,
    /// Generate every entry of the manifest.
    #[arg(long)]
    pub all: bool,
    /// Generate the full sizes (5,000-20,000 samples each) instead of the committed samples.
    #[arg(long)]
    pub full: bool,
    /// The manifest.
    #[arg(long, default_value = "data/manifest.json")]
    pub manifest: PathBuf,
    /// Output root (one directory per dataset). Default: `data/samples` for samples,
    /// `target-data/full` for `--full`, `target-data/<protocol>` for `--protocol`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override the number of samples of every selected entry (for quick trials).
    #[arg(long)]
    pub samples: Option<usize>,
    /// Write the report (sizes, baseline R^2 / RMSE / MAPE, speed) of the datasets under the
    /// output root.
    #[arg(long)]
    pub report: bool,
    /// Where the report goes. Default: `data/README.md` for the samples,
    /// `<out>/REPORT.md` otherwise.
    #[arg(long)]
    pub report_out: Option<PathBuf>,
    /// Generate the datasets of a protocol of the manifest (`angraph_l`, `angraph_p`,
    /// `paper_l`, `paper_p`): its training sets at the sizes it declares, its evaluation and
    /// check sets at `--eval-samples` each.
    #[arg(long, conflicts_with_all = ["all", "names", "full"])]
    pub protocol: Option<String>,
    /// Samples of each evaluation and check set with `--protocol` (the first ones of the set).
    #[arg(long, default_value_t = 300)]
    pub eval_samples: usize,
    /// Generate only shard I of N (1-based: `--shard 2/3`) of every selected dataset: a
    /// contiguous range of its sample indices, into `<out>/<name>/shard-I-of-N` (a part:
    /// its rows and `part.json`, no split, no `meta.json`). Run the N shards anywhere (Slurm
    /// array, Kubernetes indexed job, local processes), then `angraph datasets merge`. A shard
    /// whose part is already complete is skipped; an interrupted one leaves no part.
    #[arg(long, conflicts_with = "report")]
    pub shard: Option<Shard>,
    /// Hide progress bars.
    #[arg(long)]
    pub quiet: bool,
}

/// Subcommands of `angraph datasets`.
#[derive(Debug, Subcommand)]
pub enum DatasetsCommand {
    /// Verify the parts of one dataset (same dataset and configuration, every shard exactly
    /// once, row counts, CRC-32 of every file) and write the dataset: byte for byte what the
    /// unsharded run writes. Exit code 1 (and nothing written) when a part is missing, given
    /// twice, damaged or of another dataset.
    Merge(MergeArgs),
}

/// Arguments of `angraph datasets merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The part directories (`shard-I-of-N`, in any order).
    #[arg(required = true)]
    pub parts: Vec<PathBuf>,
    /// The dataset directory to write (replaced atomically).
    #[arg(long)]
    pub out: PathBuf,
}

fn read_speeds(path: &Path) -> Result<BTreeMap<String, Speed>> {
    if !path.exists() {
        return Ok(BTreeMap::new());
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not a speed record", path.display()))
}

/// Run `angraph datasets`.
pub fn run(a: &DatasetsArgs) -> Result<()> {
    if let Some(DatasetsCommand::Merge(m)) = &a.command {
        let meta = merge(&m.parts, &m.out)?;
        eprintln!(
            "{}: {} parts, {} samples -> {}",
            meta.name,
            m.parts.len(),
            meta.samples,
            m.out.display()
        );
        return Ok(());
    }
    let manifest = Manifest::load(&a.manifest)?;
    let root = a.out.clone().unwrap_or_else(|| {
        if let Some(p) = &a.protocol {
            PathBuf::from("target-data").join(p)
        } else if a.full {
            PathBuf::from("target-data/full")
        } else {
            PathBuf::from("data/samples")
        }
    });
    let chosen: Vec<(&Entry, usize)> = if let Some(p) = &a.protocol {
        let p = manifest.protocol(p)?;
        let mut v = Vec::new();
        for t in &p.train {
            v.push((
                manifest.select(std::slice::from_ref(&t.name))?[0],
                t.samples,
            ));
        }
        for n in p.evaluation.iter().chain(&p.check) {
            let e = manifest.select(std::slice::from_ref(n))?[0];
            v.push((e, a.eval_samples.min(e.samples)));
        }
        v
    } else {
        let entries = if a.all {
            if !a.names.is_empty() {
                bail!("give dataset names or --all, not both");
            }
            manifest.select(&[])?
        } else if a.names.is_empty() {
            Vec::new()
        } else {
            manifest.select(&a.names)?
        };
        entries
            .into_iter()
            .map(|e| {
                let n = a
                    .samples
                    .unwrap_or(if a.full { e.samples } else { e.sample_size });
                (e, n)
            })
            .collect()
    };
    if let Some(shard) = a.shard {
        for (e, n) in chosen {
            let out = root.join(&e.name).join(shard.dir_name());
            match generate_part(&e.name, e.kind, &e.config, n, shard, &out, !a.quiet)? {
                Some(sp) => eprintln!(
                    "{} shard {shard}: samples {:?} of {n} in {:.1} s ({:.1} samples/s, {} \
                     threads) -> {}",
                    e.name,
                    shard.range(n),
                    sp.seconds,
                    sp.samples_per_s,
                    sp.threads,
                    out.display()
                ),
                None => eprintln!(
                    "{} shard {shard}: already complete -> {}",
                    e.name,
                    out.display()
                ),
            }
        }
        return Ok(());
    }
    let speed_file = root.join("speed.json");
    let mut speeds = read_speeds(&speed_file)?;
    for (e, n) in chosen {
        let out = root.join(&e.name);
        let sp = generate(&e.name, e.kind, &e.config, n, &out, !a.quiet)?;
        eprintln!(
            "{}: {} samples in {:.1} s ({:.1} samples/s, {} threads, {} build) -> {}",
            e.name,
            n,
            sp.seconds,
            sp.samples_per_s,
            sp.threads,
            sp.profile,
            out.display()
        );
        speeds.insert(e.name.clone(), sp);
        write_atomic(
            &speed_file,
            (serde_json::to_string_pretty(&speeds)? + "\n").as_bytes(),
        )?;
    }
    if a.report {
        let out = a.report_out.clone().unwrap_or_else(|| {
            if a.full || a.out.is_some() {
                root.join("REPORT.md")
            } else {
                PathBuf::from("data/README.md")
            }
        });
        let text = report::render(&manifest, &root, &speeds, report::HEAD)?;
        write_atomic(&out, text.as_bytes())?;
        eprintln!("report: {}", out.display());
    }
    Ok(())
}
