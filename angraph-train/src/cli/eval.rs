//! `angraph eval`: evaluate a checkpoint on datasets given as `FOLDER[:SPLIT]`, print a line
//! per dataset, write the PNGs, CSVs, tables and reports of [`crate::eval`].

use std::path::PathBuf;

use angraph_core::Model;
use anyhow::{bail, Context, Result};
use clap::Args;

use crate::eval::{
    generalization_plot, latency_csv, latency_eval, latency_plot, mean_row, or_dash, power_plot,
    table_md, trust_md_row, EvalRow, TRUST_MD_HEAD,
};
use crate::fsio::write_atomic;
use crate::nn::{Checkpoint, Net};
use crate::train::latency::LatencyModel;
use crate::train::power::{PowerMetrics, PowerModel};
use crate::trust::TrustMetrics;

/// `angraph eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A checkpoint (`*.safetensors` written by train / transfer / import).
    #[arg(long)]
    pub model: PathBuf,
    /// Datasets as `FOLDER` or `FOLDER:SPLIT` (split = train, valid, test, all; default test).
    /// Give the training dataset with `:test` and unseen ones with `:all` for a
    /// generalization table: its last row is the mean of every column over the sets given with
    /// `:all` (the zero-shot sets; estimate columns only when all of them have an estimate),
    /// followed by the lowest R2 and the lowest share within +-10 % among them.
    #[arg(long, required = true, num_args = 1..)]
    pub data: Vec<String>,
    /// Output folder: report.json, table.md, one predicted-vs-true PNG per dataset (and for a
    /// latency model one CSV of per-graph true / estimate / predicted values, and
    /// generalization.png with one predicted-vs-true panel per dataset).
    #[arg(long)]
    pub out: PathBuf,
    /// Re-split with this seed instead of the datasets' split files.
    #[arg(long)]
    pub split_seed: Option<u64>,
    /// `auto`, `cpu` or `cuda`.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// A fixed-point blob with a trust section (`angraph quantize --trust-data`) whose
    /// intervals and envelope check are measured on every dataset (trust.md: coverage, median
    /// half-width, flag rate, catch rate of misses beyond +-10 %). Default: the checkpoint's
    /// `.angq` when it exists and has a trust section.
    #[arg(long)]
    pub blob: Option<PathBuf>,
}

/// The trust blob of an evaluation: `--blob`, else `<model>.angq` if it has a trust section.
fn trust_blob(a: &EvalArgs) -> Result<Option<Vec<u8>>> {
    let (path, explicit) = match &a.blob {
        Some(p) => (p.clone(), true),
        None => (a.model.with_extension("angq"), false),
    };
    if !explicit && !path.exists() {
        return Ok(None);
    }
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let has_trust = Model::from_bytes(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        .trust()
        .is_some();
    match (has_trust, explicit) {
        (true, _) => Ok(Some(bytes)),
        (false, true) => bail!(
            "{}: no trust section (quantize with --trust-data)",
            path.display()
        ),
        (false, false) => Ok(None),
    }
}

/// Parse `FOLDER[:SPLIT]`.
fn data_spec(s: &str) -> (PathBuf, String) {
    match s.rsplit_once(':') {
        Some((p, sp)) if ["train", "valid", "test", "all"].contains(&sp) => {
            (PathBuf::from(p), sp.to_string())
        }
        _ => (PathBuf::from(s), "test".to_string()),
    }
}

/// Run `angraph eval`.
pub fn run(a: &EvalArgs) -> Result<()> {
    let device = crate::nn::parse_device(&a.device)?;
    let ck = Checkpoint::load(&a.model, device)?;
    let model_unit = ck.meta.unit.clone();
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let mut rows = Vec::new();
    let is_latency = matches!(ck.net, Net::Latency(_));
    let lm;
    let pm;
    if is_latency {
        lm = Some(LatencyModel::from_checkpoint(ck)?);
        pm = None;
    } else {
        pm = Some(PowerModel::from_checkpoint(ck)?);
        lm = None;
    }
    let mut units = Vec::new();
    let trust_bytes = trust_blob(a)?;
    let trust_model = match &trust_bytes {
        Some(b) => Some(Model::from_bytes(b).map_err(|e| {
            let p = a
                .blob
                .clone()
                .unwrap_or_else(|| a.model.with_extension("angq"));
            anyhow::anyhow!("{}: trust blob: {e}", p.display())
        })?),
        None => None,
    };
    let mut trust_md = String::from(TRUST_MD_HEAD);
    let mut trust_json = Vec::new();
    for spec in &a.data {
        let (dir, split) = data_spec(spec);
        if let Some(m) = &lm {
            let set = crate::train::load::latency_set(&dir, a.split_seed)?;
            crate::dataset::check_label_unit(&dir, &set.unit, &a.model, &model_unit)?;
            let idx = set.splits.named(&split, set.graphs.len())?;
            let ev = latency_eval(m, &set, &idx).with_context(|| {
                format!("{}: {} on split {split}", dir.display(), a.model.display())
            })?;
            latency_plot(
                &a.out.join(format!("{}_{split}.png", set.name)),
                &set,
                &ev,
                &split,
            )?;
            latency_csv(
                &a.out.join(format!("{}_{split}.csv", set.name)),
                &set,
                &idx,
                &ev,
            )?;
            println!(
                "{:<28} {:<5} n={:<6} R2 {:.4} RMSE {:.4} {} MAPE {:.2}% within10 {:.1}% tau {:.4}{}",
                set.name,
                split,
                idx.len(),
                ev.model.r2,
                ev.model.rmse,
                set.unit,
                ev.model.mape,
                ev.model.within10_percent,
                ev.model.kendall_tau,
                ev.versus
                    .map(|v| format!(
                        " | estimate R2 {:.4} RMSE {:.4} within10 {:.1}% tau {:.4} | gain {:+.4}, RMSE -{:.1}%",
                        v.baseline.r2,
                        v.baseline.rmse,
                        v.baseline.within10_percent,
                        v.baseline.kendall_tau,
                        v.r2_gain,
                        v.rmse_reduction
                    ))
                    .unwrap_or_default()
            );
            if let Some(q) = &trust_model {
                let t = TrustMetrics::of(&crate::trust::judge_latency(q, &set, &idx)?);
                print_trust(&set.name, "latency", &t);
                trust_md.push_str(&trust_md_row(&set.name, &split, "latency", &t));
                trust_json
                    .push(serde_json::json!({"dataset": set.name, "split": split, "latency": t}));
            }
            units.push(set.unit.clone());
            rows.push(EvalRow {
                dataset: set.name.clone(),
                split,
                samples: idx.len(),
                latency: Some(ev),
                power: None,
                summary: None,
            });
        } else if let Some(m) = &pm {
            let in_dim = m.net().config().in_dim as usize;
            let set = crate::train::load::power_set_for(&dir, a.split_seed, in_dim)?;
            crate::dataset::check_label_unit(&dir, &set.unit, &a.model, &model_unit)?;
            let idx = set.splits.named(&split, set.len())?;
            let pred = m.predict(&set, &idx).with_context(|| {
                format!("{}: {} on split {split}", dir.display(), a.model.display())
            })?;
            let p = PowerMetrics::of(&pred, &set, &idx);
            power_plot(
                &a.out.join(format!("{}_{split}.png", set.name)),
                &set,
                &idx,
                &pred,
            )?;
            println!(
                "{:<28} {:<5} n={:<6} R2 dyn {:.5} stat {:.5} total {:.5} | MAPE {:.3}% / {:.3}% / {:.3}% | within10 {:.1}% / {:.1}% / {:.1}%",
                set.name, split, idx.len(), p.dynamic.r2, p.r#static.r2, p.total.r2, p.dynamic.mape, p.r#static.mape, p.total.mape,
                p.dynamic.within10_percent, p.r#static.within10_percent, p.total.within10_percent
            );
            if let Some(q) = &trust_model {
                let j = crate::trust::judge_power(q, &set, &idx)?;
                let mut entry = serde_json::json!({"dataset": set.name, "split": split});
                for (k, name) in ["dynamic", "static", "total"].iter().enumerate() {
                    let t = TrustMetrics::of(&j.iter().map(|r| r[k]).collect::<Vec<_>>());
                    print_trust(&set.name, name, &t);
                    trust_md.push_str(&trust_md_row(&set.name, &split, name, &t));
                    entry[*name] = serde_json::to_value(t)?;
                }
                trust_json.push(entry);
            }
            rows.push(EvalRow {
                dataset: set.name.clone(),
                split,
                samples: idx.len(),
                latency: None,
                power: Some(p),
                summary: None,
            });
        }
    }
    if is_latency {
        generalization_plot(&a.out.join("generalization.png"), &rows, &units)?;
    }
    rows.extend(mean_row(&rows));
    let mut md = table_md(&rows);
    md.push_str(&format!("\nModel: `{}`\n", a.model.display()));
    write_atomic(&a.out.join("table.md"), md.as_bytes())?;
    write_atomic(
        &a.out.join("report.json"),
        serde_json::to_string_pretty(&rows)?.as_bytes(),
    )?;
    print!("\n{md}");
    if trust_model.is_some() {
        write_atomic(&a.out.join("trust.md"), trust_md.as_bytes())?;
        write_atomic(
            &a.out.join("trust.json"),
            serde_json::to_string_pretty(&trust_json)?.as_bytes(),
        )?;
        print!("\n{trust_md}");
    }
    Ok(())
}

fn print_trust(set: &str, output: &str, t: &TrustMetrics) {
    println!(
        "{set:<28} trust {output:<8} coverage {:.1}% median half-width {:.2}% flagged {:.1}% (range {:.1}%) misses {} flagged {}% flagged-or-covered {}%",
        t.coverage_pct,
        t.median_half_width_pct,
        t.flag_pct,
        t.flag_range_pct,
        t.misses,
        or_dash(t.catch_pct, 1),
        or_dash(t.caught_or_covered_pct, 1)
    );
}
