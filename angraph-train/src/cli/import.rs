//! `angraph import`: parse the arguments, run [`crate::import::import`] on every source and
//! print what each report says.

use std::path::PathBuf;

use angraph_core::Precision;
use anyhow::{bail, Context, Result};

use crate::import::{import, CalibSource, ImportOptions};

/// `angraph import` command-line arguments.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Original ANGraph-L or ANGraph-P state dicts as safetensors (original key names); the
    /// family is recognised from the keys.
    #[arg(required = true)]
    pub sources: Vec<PathBuf>,
    /// Directory the checkpoint (`<name>.safetensors`), blob (`<name>.angq`) and report
    /// (`<name>.json`) are written to.
    #[arg(long, default_value = "saved_model")]
    pub out_dir: PathBuf,
    /// Output file stem (only with one source; default: the source's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Calibration inputs: an OGB raw dataset directory (ANGraph-L) or an `.npy` activity file
    /// (ANGraph-P). Without it, generated inputs are used and the blob's note says so.
    #[arg(long)]
    pub calib: Option<PathBuf>,
    /// Number of generated calibration graphs / rows (without --calib).
    #[arg(long, default_value_t = 48)]
    pub calib_count: usize,
    /// Seed of the generated calibration inputs.
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
    /// Size of the held-out generated set the report measures the agreement on.
    #[arg(long, default_value_t = 48)]
    pub heldout: usize,
    /// Activation precision of the blob: int16 or int8 (weights are always int8).
    #[arg(long, default_value = "int16")]
    pub precision: String,
    /// Model output x label scale = label. Default: 1000 for ANGraph-L (the original trained
    /// on `y / 1000`), 1 for ANGraph-P.
    #[arg(long)]
    pub label_scale: Option<f32>,
    /// Unit of the label (the original checkpoints do not record theirs).
    #[arg(
        long,
        default_value = "original label unit (not recorded in the checkpoint)"
    )]
    pub unit: String,
}

/// Run `angraph import`.
pub fn run(args: &ImportArgs) -> Result<()> {
    if args.name.is_some() && args.sources.len() > 1 {
        bail!("--name needs exactly one source");
    }
    let precision = match args.precision.as_str() {
        "int16" => Precision::Int16,
        "int8" => Precision::Int8,
        p => bail!("--precision must be int16 or int8, not `{p}`"),
    };
    for source in &args.sources {
        let opts = ImportOptions {
            source: source.clone(),
            out_dir: args.out_dir.clone(),
            name: args.name.clone(),
            precision,
            calib: match &args.calib {
                Some(p) => CalibSource::User(p.clone()),
                None => CalibSource::Generated {
                    count: args.calib_count,
                    seed: args.seed,
                },
            },
            heldout: args.heldout,
            label_scale: args.label_scale,
            unit: args.unit.clone(),
        };
        let r = import(&opts).with_context(|| format!("importing {}", source.display()))?;
        println!(
            "{}: {} model -> {} + {} ({} bytes, {})",
            r.source, r.family, r.checkpoint, r.blob, r.blob_bytes, r.precision
        );
        println!("  calibration ({}): {}", r.calibration_kind, r.calibration);
        for a in [&r.on_calibration, &r.on_heldout] {
            println!(
                "  on {}:\n    tch f32 vs core f32: median rel {:.2e}, max rel {:.2e}\n    fixed vs core f32:   median rel {:.2e}, p90 {:.2e}, max rel {:.2e}",
                a.inputs,
                a.tch_vs_core_f32.median_rel,
                a.tch_vs_core_f32.max_rel,
                a.fixed_vs_core_f32.median_rel,
                a.fixed_vs_core_f32.p90_rel,
                a.fixed_vs_core_f32.max_rel
            );
        }
        if !r.unused_tensors.is_empty() {
            println!(
                "  {} tensors of the source are unused by the original forward pass (e.g. {})",
                r.unused_tensors.len(),
                r.unused_tensors[0]
            );
        }
    }
    Ok(())
}
