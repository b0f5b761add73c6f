//! `angraph convert`: event streams -> graph summary, the other stream form, or a dataset.

use crate::stream::export::{read_labels, write_dataset};
use crate::stream::Stream;
use angraph_core::component::Mesh;
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `angraph convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Event streams: TrueAsync DFG JSON or the timed form (recognised by content).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Write a latency dataset (OGB raw + meta.json + splits) of all inputs into this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Labels for `--out`, one latency per line (ns) in input order; default: the `labels`
    /// of timed streams.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Mesh (WxH) of DFG streams; default: the smallest square mesh holding every tile named.
    #[arg(long)]
    pub mesh: Option<String>,
    /// Rewrite the (single) input in the TrueAsync DFG JSON form to this file.
    #[arg(long)]
    pub to_dfg: Option<PathBuf>,
    /// Rewrite the (single) input in the timed form to this file (needs a timed input).
    #[arg(long)]
    pub to_timed: Option<PathBuf>,
}

/// Run `angraph convert`.
pub fn run(a: &ConvertArgs) -> Result<()> {
    let mesh = match &a.mesh {
        Some(m) => {
            let (w, h) = crate::sim::parse_mesh(m)?;
            Some(Mesh::new(w, h).map_err(|e| anyhow!("--mesh {m}: {e}"))?)
        }
        None => None,
    };
    if a.to_dfg.is_some() || a.to_timed.is_some() {
        if a.inputs.len() != 1 {
            bail!("--to-dfg / --to-timed convert exactly one input");
        }
        let s = Stream::read(&a.inputs[0])?;
        if let Some(p) = &a.to_dfg {
            s.write_dfg(p)?;
            println!("wrote {}", p.display());
        }
        if let Some(p) = &a.to_timed {
            s.write_timed(p)
                .with_context(|| format!("{}", a.inputs[0].display()))?;
            println!("wrote {}", p.display());
        }
        return Ok(());
    }
    let labels = match &a.labels {
        Some(p) => {
            let l = read_labels(p)?;
            if l.len() != a.inputs.len() {
                bail!(
                    "{}: {} labels for {} streams",
                    p.display(),
                    l.len(),
                    a.inputs.len()
                );
            }
            Some(l)
        }
        None => None,
    };
    match &a.out {
        None => {
            println!("stream  events  nodes  edges  max_activity  estimate_ns");
            for p in &a.inputs {
                let s = Stream::read(p)?;
                let g = s
                    .to_graph_on(mesh)
                    .with_context(|| format!("{}", p.display()))?;
                println!(
                    "{}  {}  {}  {}  {}  {:.1}",
                    p.display(),
                    g.summary.events,
                    g.num_nodes,
                    g.edges.len(),
                    g.activities.iter().max().unwrap_or(&0),
                    g.summary.span() as f64 / 1000.0
                );
            }
            Ok(())
        }
        Some(out) => {
            write_dataset(&a.inputs, labels, mesh, out)?;
            println!("wrote {} ({} graphs)", out.display(), a.inputs.len());
            Ok(())
        }
    }
}
