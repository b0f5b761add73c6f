//! `bench-report`: the figures the foundation's targets are checked on.
//!
//! Prints (1) working memory of the fixed-point ANGraph-L per graph size and the size of the
//! original ANGraph-L `.angq`; (2) fixed-point vs f32 error on calibration-like inputs (generated
//! like the import's calibration set, another seed); (3) a markdown table of the criterion
//! medians of `cargo bench -p angraph-benches --bench inference` (read from
//! `$CARGO_TARGET_DIR/criterion`, default `target/criterion`) with the fixed / tch throughput ratio.

use std::path::PathBuf;

use angraph_benches::{
    mesh_graph, workspace_root, Contenders, LATENCY_STEM, MESH_SIDES, POWER_BATCHES, POWER_STEM,
};
use angraph_core::{latency, Model};
use angraph_train::import::{
    generated_graphs, generated_rows, latency_outputs, power_outputs, ErrorStats,
};
use angraph_train::nn::Net;
use anyhow::{Context, Result};

fn criterion_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("criterion")
}

/// Median time per iteration in nanoseconds, if the benchmark has run.
fn median_ns(group: &str, function: &str) -> Option<f64> {
    let p = criterion_dir()
        .join(group)
        .join(function)
        .join("new/estimates.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

fn main() -> Result<()> {
    let lat = Contenders::load(LATENCY_STEM).context("loading the ANGraph-L contenders")?;
    let mq = Model::from_bytes(&lat.fixed_blob)?;
    println!("## Memory and size (original ANGraph-L `{LATENCY_STEM}`, int16 activations)\n");
    println!("| mesh | nodes | edges | fixed-point working memory (bytes) |");
    println!("|---|---|---|---|");
    let mut ws257 = 0;
    for side in MESH_SIDES {
        let g = mesh_graph(side)?;
        let v = g.view()?;
        let ws = latency::required_workspace(&mq, v.num_nodes(), v.num_edges());
        if v.num_nodes() == 257 {
            ws257 = ws;
        }
        println!(
            "| {side}x{side} | {} | {} | {ws} |",
            v.num_nodes(),
            v.num_edges()
        );
    }
    let blob = lat.fixed_blob.len();
    println!("\n- working memory at 257 nodes, width 100: {ws257} bytes = {:.1} KB (target <= 110 KB: {})",
        ws257 as f64 / 1024.0, verdict(ws257 <= 110 * 1024));
    println!(
        "- `saved_model/{LATENCY_STEM}.angq`: {blob} bytes = {:.1} KB (target <= 150 KB: {})",
        blob as f64 / 1024.0,
        verdict(blob <= 150 * 1024)
    );

    println!("\n## Fixed point vs f32 on calibration-like inputs\n");
    let Net::Latency(lnet) = &lat.checkpoint.net else {
        anyhow::bail!("not ANGraph-L")
    };
    let graphs = generated_graphs(48, 100, 9_999)?;
    let o = latency_outputs(lnet, &lat.f32_blob, &lat.fixed_blob, &graphs)?;
    let el = ErrorStats::of(&o[2], &o[1]);
    let pw = Contenders::load(POWER_STEM)?;
    let Net::Power(pnet) = &pw.checkpoint.net else {
        anyhow::bail!("not ANGraph-P")
    };
    let rows = generated_rows(256, 36, 9_999);
    let op = power_outputs(pnet, &pw.f32_blob, &pw.fixed_blob, &rows)?;
    let ep = ErrorStats::of(&op[2], &op[1]);
    println!("| model | inputs | median rel | p90 rel | max rel |");
    println!("|---|---|---|---|---|");
    println!(
        "| {LATENCY_STEM} | 48 generated mesh graphs (2x2..4x4), seed 9999 | {:.2e} | {:.2e} | {:.2e} |",
        el.median_rel, el.p90_rel, el.max_rel
    );
    println!(
        "| {POWER_STEM} | 256 generated rows, seed 9999 (heads + total) | {:.2e} | {:.2e} | {:.2e} |",
        ep.median_rel, ep.p90_rel, ep.max_rel
    );
    println!(
        "\n- median relative error <= 1%: ANGraph-L {}, ANGraph-P {}",
        verdict(el.median_rel <= 0.01),
        verdict(ep.median_rel <= 0.01)
    );

    println!("\n## Throughput (criterion medians, one thread)\n");
    println!("| benchmark | fixed point | angraph-core f32 | tch f32 | fixed / tch |");
    println!("|---|---|---|---|---|");
    let mut rows_out = Vec::new();
    for side in MESH_SIDES {
        let nodes = 16 * side * side + 1;
        rows_out.push((
            format!("angraph_l_{side}x{side}"),
            format!("ANGraph-L {side}x{side} ({nodes} nodes), graphs/s"),
            1.0,
        ));
    }
    for b in POWER_BATCHES {
        rows_out.push((
            format!("angraph_p_batch{b}"),
            format!("ANGraph-P batch {b}, samples/s"),
            b as f64,
        ));
    }
    let mut any = false;
    let mut l4_ratio = None;
    for (group, label, elems) in &rows_out {
        let t: Vec<Option<f64>> = ["fixed", "core_f32", "tch_f32"]
            .iter()
            .map(|f| median_ns(group, f))
            .collect();
        let rate = |ns: Option<f64>| ns.map(|ns| elems / (ns * 1e-9));
        let cell = |ns: Option<f64>| match rate(ns) {
            Some(r) => format!("{r:.0}"),
            None => "-".into(),
        };
        let ratio = match (rate(t[0]), rate(t[2])) {
            (Some(a), Some(b)) => {
                any = true;
                format!("{:.2}", a / b)
            }
            _ => "-".into(),
        };
        if group == "angraph_l_4x4" {
            l4_ratio = rate(t[0]).zip(rate(t[2])).map(|(a, b)| a / b);
        }
        println!(
            "| {label} | {} | {} | {} | {ratio} |",
            cell(t[0]),
            cell(t[1]),
            cell(t[2])
        );
    }
    if !any {
        println!(
            "\n(no criterion results under {}: run `cargo bench -p angraph-benches --bench inference` first)",
            criterion_dir().display()
        );
    }
    if let Some(r) = l4_ratio {
        println!(
            "\n- fixed point >= tch f32 for ANGraph-L at 4x4, one thread: {} (ratio {r:.2})",
            verdict(r >= 1.0)
        );
    }
    Ok(())
}
