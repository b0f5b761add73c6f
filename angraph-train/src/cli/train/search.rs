//! `angraph train search`: short ANGraph-L runs of one-factor-at-a-time variants of the `best`
//! recipe, selected on validation RMSE only.

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;

use super::latency::{latency_recipe, LatencyOpts};
use super::{restrict_train, RunArgs};
use crate::fsio::write_atomic;
use crate::train::latency::{self, LatencyRecipe};

/// `angraph train search`.
#[derive(Args, Debug)]
pub struct SearchArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Epochs per candidate.
    #[arg(long, default_value_t = 8)]
    pub epochs: usize,
}

#[derive(Serialize)]
struct SearchRow {
    candidate: String,
    recipe: LatencyRecipe,
    best_epoch: usize,
    valid_r2: f64,
    valid_rmse: f64,
    test_r2: f64,
    seconds_per_epoch: f64,
}

/// Run `angraph train search`: one-factor-at-a-time search around the base recipe; selection
/// by validation RMSE.
pub fn run(a: &SearchArgs) -> Result<()> {
    let device = a.run.setup()?;
    let mut set = a.run.latency_sets()?;
    restrict_train(&mut set, a.run.max_train);
    let base = LatencyOpts {
        recipe: "best".into(),
        epochs: Some(a.epochs),
        batch_size: None,
        lr: None,
        width: None,
        layers: None,
        jk: None,
        pool: None,
        aggr: None,
        dropout: None,
        huber_delta: None,
        label_scale: None,
        weight_decay: None,
        drop_features: None,
        preprocess: None,
    };
    let with = |f: &dyn Fn(&mut LatencyOpts)| {
        let mut o = base.clone();
        f(&mut o);
        o
    };
    let candidates: Vec<(&str, LatencyOpts)> = vec![
        (
            "base: jk all, mean pool, activity mean, w64 x3",
            base.clone(),
        ),
        ("jk original", with(&|o| o.jk = Some("original".into()))),
        ("jk last", with(&|o| o.jk = Some("last".into()))),
        ("pool sum", with(&|o| o.pool = Some("sum".into()))),
        ("aggr mean", with(&|o| o.aggr = Some("mean".into()))),
        ("width 100", with(&|o| o.width = Some(100))),
        ("width 64", with(&|o| o.width = Some(64))),
        ("layers 5", with(&|o| o.layers = Some(5))),
        ("layers 2", with(&|o| o.layers = Some(2))),
        ("dropout 0.1", with(&|o| o.dropout = Some(0.1))),
    ];
    let mut rows = Vec::new();
    for (i, (name, opts)) in candidates.iter().enumerate() {
        let recipe = latency_recipe(opts, &set, a.run.seed)?;
        let dir = a.run.out.join(format!("c{i:02}"));
        eprintln!("candidate {i}: {name}");
        let (_, o) = latency::train(&set, &recipe, &dir, device, a.run.resume, !a.run.quiet)?;
        println!(
            "{name:<46} valid R2 {:.4} RMSE {:.4} (epoch {})  {:.1} s/epoch",
            o.valid.r2, o.valid.rmse, o.best_epoch, o.seconds_per_epoch
        );
        rows.push(SearchRow {
            candidate: name.to_string(),
            recipe,
            best_epoch: o.best_epoch,
            valid_r2: o.valid.r2,
            valid_rmse: o.valid.rmse,
            test_r2: o.test.r2,
            seconds_per_epoch: o.seconds_per_epoch,
        });
    }
    let best = rows
        .iter()
        .min_by(|a, b| a.valid_rmse.total_cmp(&b.valid_rmse))
        .context("no candidate")?;
    let mut md = format!(
        "Search on {} ({} training graphs, {} epochs each, seed {}); selection by validation RMSE only.\n\n| candidate | valid R2 | valid RMSE ({}) | best epoch | s/epoch |\n|---|---|---|---|---|\n",
        set.name,
        set.splits.train.len(),
        a.epochs,
        a.run.seed,
        set.unit
    );
    for r in &rows {
        md.push_str(&format!(
            "| {}{} | {:.4} | {:.4} | {} | {:.1} |\n",
            r.candidate,
            if std::ptr::eq(r, best) {
                " **(selected)**"
            } else {
                ""
            },
            r.valid_r2,
            r.valid_rmse,
            r.best_epoch,
            r.seconds_per_epoch
        ));
    }
    write_atomic(&a.run.out.join("search.md"), md.as_bytes())?;
    write_atomic(
        &a.run.out.join("search.json"),
        serde_json::to_string_pretty(&rows)?.as_bytes(),
    )?;
    print!("{md}");
    Ok(())
}
