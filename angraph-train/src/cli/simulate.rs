//! `angraph simulate`: one configuration -> event streams and/or a dataset.

use crate::dataset::generate::{generate, sample_graph};
use crate::dataset::graph::HostBuilder;
use crate::dataset::report::metrics;
use crate::dataset::shard::{generate_part, Shard};
use crate::dataset::Kind;
use crate::sim::workload::{Coding, Workload};
use crate::sim::{machine::Mapping, parse_mesh, Generator, SimConfig};
use crate::stream::from_sample;
use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Stream forms to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Form {
    /// The timed form (`*.timed.json`, ps timestamps, header, labels).
    Timed,
    /// The TrueAsync DFG JSON form (`*.dfg.json`, component names only).
    Dfg,
    /// Both.
    Both,
}

/// Arguments of `angraph simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Application: digits, digits-conv, dvs, large-a, large-b, mix.
    #[arg(long, default_value = "digits")]
    pub workload: String,
    /// Mesh as WxH tiles (2x2 .. 16x16 for graphs; larger meshes simulate but exceed the
    /// graph capacities).
    #[arg(long, default_value = "4x4")]
    pub mesh: String,
    /// Process node: tsmc65, tsmc28, tsmc22.
    #[arg(long, default_value = "tsmc65")]
    pub process: String,
    /// Neuron placement: uniform, nonuniform, mix.
    #[arg(long, default_value = "uniform")]
    pub mapping: String,
    /// Input coding of the digit workloads: rate or latency.
    #[arg(long, default_value = "rate")]
    pub coding: String,
    /// Seed of the network and of every sample.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Number of samples (inferences).
    #[arg(long, default_value_t = 1)]
    pub samples: usize,
    /// Write each sample's system-level event stream into this directory
    /// (`sample-<i>.timed.json` and/or `sample-<i>.dfg.json`).
    #[arg(long)]
    pub streams: Option<PathBuf>,
    /// Stream forms to write.
    #[arg(long, value_enum, default_value = "timed")]
    pub form: Form,
    /// Also write a latency dataset (OGB raw + meta.json + splits) into this directory.
    #[arg(long)]
    pub dataset: Option<PathBuf>,
    /// Also write a power dataset (feature.npy, label.npy, meta.json) into this directory.
    #[arg(long)]
    pub power: Option<PathBuf>,
    /// Simulate only shard I of N (1-based: `--shard 2/3`) of the `--samples` indices and
    /// write it as a part into `--dataset` / `--power` (merge the parts with `angraph datasets
    /// merge`); the table and `--streams` cover the shard's samples only.
    #[arg(long)]
    pub shard: Option<Shard>,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
}

fn parse_enum<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| anyhow::anyhow!("--{what} {s:?}: not a known value (see --help)"))
}

impl SimulateArgs {
    /// The configuration these arguments describe.
    pub fn config(&self) -> Result<SimConfig> {
        let (width, height) = parse_mesh(&self.mesh)?;
        let cfg = SimConfig {
            workload: Workload::parse(&self.workload)?,
            width,
            height,
            process: self.process.clone(),
            mapping: parse_enum::<Mapping>("mapping", &self.mapping)?,
            coding: parse_enum::<Coding>("coding", &self.coding)?,
            seed: self.seed,
        };
        Generator::new(cfg.clone())?;
        Ok(cfg)
    }
}

/// Run `angraph simulate`.
pub fn run(a: &SimulateArgs) -> Result<()> {
    if a.samples == 0 {
        bail!("--samples must be at least 1");
    }
    let cfg = a.config()?;
    let gen = Generator::new(cfg.clone())?;
    let mut sys = Vec::new();
    let mut refl = Vec::new();
    let mut builder: Option<HostBuilder> = None;
    let range = a.shard.map_or(0..a.samples, |s| s.range(a.samples));
    println!("sample  events    hops  nodes  edges  estimate_ns  reference_ns  dynamic_nJ  static_nJ  total_nJ  description");
    for i in range.clone() {
        let s = gen.sample(i as u64);
        let (nodes, edges) = match HostBuilder::new(s.plan.mesh, s.process) {
            Ok(b) => {
                let b = builder.get_or_insert(b);
                let g = sample_graph(b, &s)?;
                (g.num_nodes.to_string(), g.edges.len().to_string())
            }
            Err(_) => ("-".into(), "-".into()),
        };
        let [total, dynamic, stat] = s.energy_nj();
        println!(
            "{i:>6} {:>7} {:>7} {nodes:>6} {edges:>6} {:>12.1} {:>13.1} {dynamic:>11.3} {stat:>10.3} {total:>9.3}  {}",
            s.plan.num_events(),
            s.plan.path.len(),
            s.system_latency_ps as f64 / 1000.0,
            s.reference_latency_ps as f64 / 1000.0,
            s.description
        );
        sys.push((s.system_latency_ps as f64 / 1000.0) as f32);
        refl.push((s.reference_latency_ps as f64 / 1000.0) as f32);
        if let Some(dir) = &a.streams {
            let st = from_sample(&s, &cfg.process);
            if matches!(a.form, Form::Timed | Form::Both) {
                st.write_timed(&dir.join(format!("sample-{i}.timed.json")))?;
            }
            if matches!(a.form, Form::Dfg | Form::Both) {
                st.write_dfg(&dir.join(format!("sample-{i}.dfg.json")))?;
            }
        }
    }
    if range.len() >= 2 {
        let m = metrics(&sys, &refl);
        println!(
            "system-level estimate vs reference: R^2 {:.3}, RMSE {:.1} ns, MAPE {:.1} %",
            m.r2, m.rmse, m.mape
        );
    }
    let name = format!(
        "{}_{}x{}_{}",
        cfg.workload.name(),
        cfg.width,
        cfg.height,
        cfg.process
    );
    for (kind, dir, what) in [
        (Kind::Latency, &a.dataset, "latency dataset"),
        (Kind::Power, &a.power, "power dataset"),
    ] {
        let Some(dir) = dir else { continue };
        match a.shard {
            None => {
                let sp = generate(&name, kind, &cfg, a.samples, dir, !a.quiet)?;
                println!(
                    "{what}: {} ({:.1} samples/s)",
                    dir.display(),
                    sp.samples_per_s
                );
            }
            Some(shard) => {
                match generate_part(&name, kind, &cfg, a.samples, shard, dir, !a.quiet)? {
                    Some(sp) => println!(
                        "{what} part {shard} (samples {range:?}): {} ({:.1} samples/s)",
                        dir.display(),
                        sp.samples_per_s
                    ),
                    None => println!("{what} part {shard}: already complete: {}", dir.display()),
                }
            }
        }
    }
    Ok(())
}
