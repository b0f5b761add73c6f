//! `angraph quantize`: calibrate a checkpoint on training data, write the fixed-point `.angq`
//! (optionally with a trust section), and report float vs fixed point.

use std::path::PathBuf;

use angraph_core::Precision;
use anyhow::{bail, Context, Result};
use clap::Args;

use crate::eval;
use crate::fsio::write_atomic;

/// `angraph quantize`: calibrate on training data, write the `.angq`, report float vs fixed.
#[derive(Args, Debug)]
pub struct QuantizeArgs {
    /// A checkpoint written by `angraph train` / `transfer` / `import` (`*.safetensors`).
    #[arg(long)]
    pub model: PathBuf,
    /// The datasets (one or more; give a mix model its whole training mix): calibration on
    /// `--calib` samples spread over their training splits, the report on `--split`.
    #[arg(long, required = true, num_args = 1..)]
    pub data: Vec<PathBuf>,
    /// Output blob (default: the checkpoint's path with `.angq`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Calibration samples (spread evenly over the training splits).
    #[arg(long, default_value_t = 256)]
    pub calib: usize,
    /// Activation precision: int16 or int8 (weights are int8 either way).
    #[arg(long, default_value = "int16")]
    pub precision: String,
    /// Split to report on: train, valid, test, all.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Re-split with this seed instead of the dataset's split files.
    #[arg(long)]
    pub split_seed: Option<u64>,
    /// Datasets (repeatable) that fit the blob's trust section: input ranges and embedding
    /// statistics on their training splits, the conformal intervals and the envelope threshold
    /// on their validation splits (held out from training). Use the model's training sets.
    /// Without it the blob has no intervals and no envelope check.
    #[arg(long, value_name = "DIR")]
    pub trust_data: Vec<PathBuf>,
    /// Nominal coverage of the intervals, percent.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u8).range(50..=99))]
    pub coverage: u8,
    /// Envelope threshold: this quantile (percent) of the held-out embedding distances; a
    /// larger value flags fewer in-distribution inputs.
    #[arg(long, default_value_t = 99, value_parser = clap::value_parser!(u8).range(50..=99))]
    pub envelope: u8,
}

/// Fit the trust section of the blob at `out` on `a.trust_data` and rewrite the blob.
fn add_trust(a: &QuantizeArgs, out: &std::path::Path) -> Result<Option<serde_json::Value>> {
    if a.trust_data.is_empty() {
        return Ok(None);
    }
    let bytes = std::fs::read(out).with_context(|| format!("reading {}", out.display()))?;
    let q = angraph_core::Model::from_bytes(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    let t = match q.family() {
        angraph_core::Family::Latency => {
            let set = crate::train::load::latency_sets(&a.trust_data, a.split_seed)?;
            crate::trust::fit_latency(&q, &set, a.coverage, a.envelope)?
        }
        angraph_core::Family::Power => {
            let set = crate::train::load::power_sets(&a.trust_data, a.split_seed)?;
            crate::trust::fit_power(&q, &set, a.coverage, a.envelope)?
        }
    };
    let blob = angraph_core::trust_fit::with_trust(&bytes, Some(&t))
        .map_err(|e| anyhow::anyhow!("{}: trust section: {e}", out.display()))?;
    write_atomic(out, &blob)?;
    let widths: Vec<f64> = t
        .half_width
        .iter()
        .map(|&q| 100.0 * (angraph_core::preprocess::exp2_f32(q as f32 / 65536.0) as f64 - 1.0))
        .collect();
    eprintln!(
        "trust: {} calibration samples, {} % intervals of +{} %, envelope at the {} % distance quantile",
        t.calibration_samples,
        t.coverage_pct,
        widths
            .iter()
            .map(|w| format!("{w:.2}"))
            .collect::<Vec<_>>()
            .join(" / "),
        a.envelope
    );
    Ok(Some(serde_json::json!({
        "datasets": a.trust_data.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "calibration_samples": t.calibration_samples,
        "coverage_pct": t.coverage_pct,
        "envelope_pct": a.envelope,
        "upper_half_width_pct": widths,
    })))
}

/// Run `angraph quantize`.
pub fn run(a: &QuantizeArgs) -> Result<()> {
    let precision = match a.precision.as_str() {
        "int16" => Precision::Int16,
        "int8" => Precision::Int8,
        p => bail!("--precision must be int16 or int8, not {p:?}"),
    };
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| a.model.with_extension("angq"));
    let report = eval::quantize_and_compare(
        &a.model,
        &a.data,
        a.split_seed,
        a.calib,
        precision,
        &a.split,
        &out,
    )?;
    let trust = add_trust(a, &out)?;
    // Merge into a copy of the model's JSON report when there is one (`<model>.json`), written
    // next to the blob (`<out>.json`: `<model>.json` itself without --out), else
    // `<out>.angq.json`. Nothing is written outside `--out`'s folder.
    let report_path = a.model.with_extension("json");
    let merged_path = Some(out.with_extension("json"))
        .filter(|p| *p != out)
        .unwrap_or_else(|| out.with_extension("angq.json"));
    let merged = match std::fs::read_to_string(&report_path)
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
    {
        Some(mut v)
            if v.is_object()
                && a.model.extension().is_some_and(|e| e == "safetensors")
                && report_path.exists()
                && !report_path.ends_with("report.json") =>
        {
            v["fixed_point"] = serde_json::to_value(&report)?;
            if let Some(t) = &trust {
                v["fixed_point"]["trust"] = t.clone();
            }
            (merged_path, v)
        }
        _ => {
            let mut v = serde_json::to_value(&report)?;
            if let Some(t) = &trust {
                v["trust"] = t.clone();
            }
            (out.with_extension("angq.json"), v)
        }
    };
    write_atomic(
        &merged.0,
        serde_json::to_string_pretty(&merged.1)?.as_bytes(),
    )?;
    eprintln!("report: {}", merged.0.display());
    Ok(())
}
