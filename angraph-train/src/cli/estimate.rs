//! `angraph estimate`: the main job. Load model blobs from `saved_model/`, read a graph and an
//! activity row, and print the predicted latency and energy computed by angraph-core's
//! fixed-point path (and, when the f32 checkpoint sits next to the blob, its f32 reference).
//!
//! The defaults are the recommended models (`saved_model/angraph_l.angq`,
//! `saved_model/angraph_p.angq`, trained on the chip-family protocols of `data/manifest.json`)
//! on a committed digits 4x4 sample graph, a committed power row and a recorded simulator
//! stream from `data/streams/`. The imported original ANGraph weights still run with
//! `--latency-model saved_model/latency_dataset.angq --power-model
//! saved_model/power_ap_mnist_4x4_tsmc28.angq --graph data/examples/mesh4x4 --activity
//! data/examples/mesh4x4/power/feature.npy`; their node features and label units are not
//! published, so those numbers demonstrate the pipeline, not real hardware (the output says so).

use std::path::{Path, PathBuf};

use angraph_core::power::Energy;
use angraph_core::power_input::PowerInput;
use angraph_core::preprocess::needs_timing;
use angraph_core::quantize::OwnedGraph;
use angraph_core::{latency, power, Config, Fixed, Model};
use anyhow::{bail, Context, Result};

use crate::dataset::OgbGraphs;
use crate::import::{read_npy_rows, write_example};
use crate::infer::{self, load_blob};
use crate::nn::Checkpoint;
use crate::text::printable;

/// `angraph estimate` command-line arguments.
#[derive(Debug, clap::Args)]
pub struct EstimateArgs {
    /// ANGraph-L blob (`.angq`); default: the recommended model (latency in ns).
    #[arg(long, default_value = "saved_model/angraph_l.angq")]
    pub latency_model: PathBuf,
    /// ANGraph-P blob (`.angq`); default: the recommended model (energies in nJ).
    #[arg(long, default_value = "saved_model/angraph_p.angq")]
    pub power_model: PathBuf,
    /// Graph: an OGB raw dataset directory (`raw/edge.csv.gz`, `raw/node-feat.csv.gz`, ...;
    /// `raw/graph-label.csv.gz` is optional and checked when present). Default: the committed
    /// digits 4x4 sample (35 transform features per node, as the trained models read).
    #[arg(long, default_value = "data/samples/digits_4x4")]
    pub graph: PathBuf,
    /// Which graph of the dataset (0-based).
    #[arg(long, default_value_t = 0)]
    pub graph_index: usize,
    /// Activity rows for ANGraph-P: `.npy` of shape `(N, 6, 6)` or `(N, 36)` (the activity
    /// matrix), or `(N, 7, 6)` / `(N, 42)` (this project's power datasets: the matrix, then the
    /// operating-conditions row), f32 or f64. A 36-input model reads the first 36 values.
    #[arg(long, default_value = "data/samples/power_digits_4x4/feature.npy")]
    pub activity: PathBuf,
    /// Which activity row (0-based).
    #[arg(long, default_value_t = 0)]
    pub activity_index: usize,
    /// A recorded event stream (TrueAsync DFG JSON or this project's timed JSON). Its graph is
    /// built by angraph-core's transform; ANGraph-P runs on its 6x6 activity matrix (plus the
    /// operating-conditions row of the stream's header for a 42-input model), and ANGraph-L on
    /// its graph when the latency model takes the transform's node features.
    #[arg(long, default_value = "data/streams/digits_4x4_sample0.timed.json")]
    pub stream: PathBuf,
    /// Skip the stream section.
    #[arg(long)]
    pub no_stream: bool,
    /// Write the bundled synthetic example of the original weights (a 4x4 mesh graph with 100
    /// features per node and one activity row of 36 values, seed 4) to this directory (the
    /// committed one is `data/examples/mesh4x4`) and exit.
    #[arg(long, value_name = "DIR")]
    pub write_example: Option<PathBuf>,
}

fn checkpoint_next_to(blob: &Path) -> Option<PathBuf> {
    let p = blob.with_extension("safetensors");
    p.exists().then_some(p)
}

fn describe(m: &Model<'_>) -> String {
    let b = m.body();
    format!("{:?}, {}", b.precision, printable(b.note))
}

fn fmt_fixed(f: Fixed) -> String {
    format!("raw {} x 2^-{}", f.raw, f.frac_bits)
}

/// Predict from a recorded event stream: graph through the one transform, activity matrix of
/// the same builder, fixed-point ANGraph-P (and ANGraph-L when its input width fits).
fn stream_section(path: &Path, lat: &Model<'_>, pw: &Model<'_>) -> Result<()> {
    let stream = crate::stream::Stream::read(path)?;
    let file = path.display();
    let mesh = stream.mesh().with_context(|| file.to_string())?;
    let Config::Power(pc) = pw.config() else {
        bail!("not an ANGraph-P blob");
    };
    let in_dim = pc.in_dim as usize;
    let layout = PowerInput::from_in_dim(in_dim).ok();
    // One builder pass: the graph and the activity matrix (ANGraph-P's input).
    let (graph, power_input) =
        infer::stream_inputs(&stream, layout.map(|_| in_dim)).with_context(|| file.to_string())?;
    let s = graph.summary;
    println!(
        "stream: {} ({} events, {} hops, mesh {}x{})",
        path.display(),
        s.events,
        s.hops,
        mesh.width,
        mesh.height
    );
    let fw = angraph_core::features::NODE_FEATURES;
    println!(
        "  graph (angraph-core transform): {} nodes, {} edges, {fw} node features",
        graph.num_nodes,
        graph.edges.len()
    );
    println!(
        "  system-level latency estimate (stream span): {:.3} ns",
        s.end.saturating_sub(s.start) as f64 / 1000.0
    );
    if let Some(l) = stream.header.as_ref().and_then(|h| h.labels) {
        println!(
            "  reference labels in the file: latency {:.3} ns, dynamic {:.5} nJ, static {:.5} nJ, total {:.5} nJ",
            l.reference_latency_ns, l.dynamic_nj, l.static_nj, l.total_nj
        );
    }
    let Config::Latency(lc) = lat.config() else {
        bail!("not an ANGraph-L blob");
    };
    let untimed = s.end.saturating_sub(s.start) == 0;
    if needs_timing(lc.preprocess) && untimed {
        println!(
            "  ANGraph-L: no latency from this stream: it has no timestamps (TrueAsync DFG JSON), \
             so the system-level estimate the model corrects is 0; give the timed form, or a \
             model of untimed streams (--latency-model saved_model/angraph_l_dfg.angq)"
        );
    } else if lc.in_dim as usize == fw {
        let g = infer::stream_owned_graph(&graph).with_context(|| file.to_string())?;
        let (a, _) = infer::latency_assessed(lat, &g)
            .with_context(|| format!("{file}: ANGraph-L on the stream's graph"))?;
        println!(
            "  ANGraph-L (fixed point) on the stream's graph: {:.3} [{}]",
            a.value.to_f32() * lat.body().label_scale,
            printable(lat.body().unit)
        );
        print_trust(
            &infer::latency_estimate(lat, &a),
            lat.body().unit,
            infer::Verdicts {
                latency: a.envelope,
                power: None,
            },
        );
        if untimed && angraph_core::preprocess::needs_timing(lc.preprocess) {
            println!(
                "  note: this latency model reads timing and process features, which are 0 for \
                 an untimed stream; saved_model/angraph_l_dfg.angq reads only what it gives"
            );
        }
    } else {
        println!(
            "  ANGraph-L: the latency model takes {} features per node, the transform gives {fw}: \
             no latency from this stream until a model trained on this project's features is given \
             (--latency-model)",
            lc.in_dim
        );
    }
    if let (Some(layout), Some(input)) = (layout, power_input) {
        // The one implementation of ANGraph-P's input (angraph-core), as on the chip.
        let pa = infer::power_assessed(pw, &input)
            .with_context(|| format!("{file}: ANGraph-P on the stream's activity matrix"))?;
        let e = pa.energy;
        let unit = printable(pw.body().unit);
        let k = pw.body().label_scale;
        let parts: Vec<String> = (0..e.len as usize)
            .map(|h| format!("{:.4}", e.heads[h].to_f32() * k))
            .collect();
        let what = match layout {
            PowerInput::Activity => "6x6 activity matrix",
            PowerInput::WithConditions => "activity matrix + operating conditions (header)",
            PowerInput::WithLoad => "activity matrix + operating conditions + load",
        };
        println!(
            "  ANGraph-P (fixed point) on the stream's {what}: heads (dynamic, static) = ({}), total {:.4} [{unit}]",
            parts.join(", "),
            e.total.to_f32() * k
        );
        print_trust(
            &infer::energy_estimate_assessed(pw, &pa).total,
            &unit,
            infer::Verdicts {
                latency: None,
                power: pa.envelope,
            },
        );
    } else {
        println!(
            "  ANGraph-P: the power model takes {in_dim} inputs; a stream gives 36 (activity \
             matrix), 42 (with the operating conditions) or 48 (and the load): no energy from \
             this stream"
        );
    }
    Ok(())
}

/// Run `angraph estimate`.
pub fn run(args: &EstimateArgs) -> Result<()> {
    if let Some(dir) = &args.write_example {
        write_example(dir)?;
        println!("wrote the synthetic example to {}", dir.display());
        return Ok(());
    }
    let lat_bytes = load_blob(&args.latency_model)?;
    let lat = Model::from_bytes(&lat_bytes)?;
    let Config::Latency(lc) = lat.config() else {
        bail!("{}: not an ANGraph-L blob", args.latency_model.display());
    };
    let pow_bytes = load_blob(&args.power_model)?;
    let pw = Model::from_bytes(&pow_bytes)?;
    let Config::Power(pc) = pw.config() else {
        bail!("{}: not an ANGraph-P blob", args.power_model.display());
    };

    // The one OGB raw reader, labelled or not; with edge features it also yields the
    // activities as edge weights (activity-weighted models need them).
    let graphs = OgbGraphs::load(&args.graph)?.graphs;
    let g: &OwnedGraph = graphs.get(args.graph_index).with_context(|| {
        format!(
            "{}: graph {} requested, the dataset has {}",
            args.graph.display(),
            args.graph_index,
            graphs.len()
        )
    })?;
    let where_g = || format!("{}: graph {}", args.graph.display(), args.graph_index);
    let view = g.view().with_context(where_g)?;
    if view.feature_width() < lc.in_dim as u32 {
        bail!(
            "{}: {} features per node, {} expects {}",
            args.graph.display(),
            view.feature_width(),
            args.latency_model.display(),
            lc.in_dim
        );
    }
    let (rows, width) = read_npy_rows(&args.activity)?;
    // A 36-input model (the original layout) reads the activity-matrix prefix of a 42-value row
    // (this project's power datasets append the operating conditions).
    let Some(used) = infer::npy_row_width(width, pc.in_dim as usize) else {
        bail!(
            "{}: rows of {width} activities, {} expects {}",
            args.activity.display(),
            args.power_model.display(),
            pc.in_dim
        );
    };
    let row = rows
        .chunks_exact(width)
        .nth(args.activity_index)
        .map(|r| &r[..used])
        .with_context(|| {
            format!(
                "{}: row {} requested, the file has {}",
                args.activity.display(),
                args.activity_index,
                rows.len() / width
            )
        })?;

    if infer::graph_lacks_timing(&lat, g).with_context(where_g)? {
        bail!(
            "{}: graph {} has no system-level span (node feature graph_span_us is 0): {} \
             corrects that estimate and needs graphs of timed streams",
            args.graph.display(),
            args.graph_index,
            args.latency_model.display()
        );
    }
    // ANGraph-L, fixed point.
    let (lat_a, ws_len) = infer::latency_assessed(&lat, g)
        .with_context(|| format!("{}: ANGraph-L {}", where_g(), args.latency_model.display()))?;
    let lunit = printable(lat.body().unit);
    let y = lat_a.value;
    let lscale = lat.body().label_scale;
    println!("ANGraph-rs estimate");
    println!(
        "graph: {} #{} ({} nodes, {} edges, {} features per node)",
        args.graph.display(),
        args.graph_index,
        view.num_nodes(),
        view.num_edges(),
        view.feature_width()
    );
    println!(
        "latency model: {} (ANGraph-L, {})",
        args.latency_model.display(),
        describe(&lat)
    );
    println!(
        "  predicted latency (fixed point): {:.4} model units x {} = {:.1} [{}]  ({}, working memory {} bytes)",
        y.to_f32(),
        lscale,
        y.to_f32() * lscale,
        lunit,
        fmt_fixed(y),
        ws_len
    );
    print_trust(
        &infer::latency_estimate(&lat, &lat_a),
        &lunit,
        infer::Verdicts {
            latency: lat_a.envelope,
            power: None,
        },
    );
    if let Some(ck) = checkpoint_next_to(&args.latency_model) {
        let ctx = || format!("{}: f32 reference on {}", ck.display(), where_g());
        let m = Checkpoint::load(&ck, tch::Device::Cpu)?
            .to_model_f32()
            .with_context(ctx)?;
        let b = m.to_blob().with_context(ctx)?;
        let mf = Model::from_bytes(&b).with_context(ctx)?;
        let mut ws =
            vec![0u8; latency::required_workspace(&mf, view.num_nodes(), view.num_edges())];
        let f = latency::predict_f32(&mf, &view, &mut ws, None).with_context(ctx)?;
        println!(
            "  f32 reference ({}): {:.4} model units = {:.1}; fixed point differs by {:.3}%",
            ck.display(),
            f,
            f * lscale,
            100.0 * (y.to_f32() - f).abs() / f.abs().max(1e-12)
        );
    }

    // ANGraph-P, fixed point.
    let fixed_row: Vec<i32> = row
        .iter()
        .map(|&v| angraph_core::fixed::feature_to_fixed(v))
        .collect();
    let where_row = || format!("{}: row {}", args.activity.display(), args.activity_index);
    let pow_a = infer::power_assessed(&pw, &fixed_row)
        .with_context(|| format!("{}: ANGraph-P {}", where_row(), args.power_model.display()))?;
    let e = pow_a.energy;
    let pscale = pw.body().label_scale;
    let unit = printable(pw.body().unit);
    println!(
        "power model: {} (ANGraph-P, {})",
        args.power_model.display(),
        describe(&pw)
    );
    println!(
        "  activity: {} row {} ({} values{})",
        args.activity.display(),
        args.activity_index,
        width,
        match used {
            _ if used == width => String::new(),
            36 => ", the model reads the first 36: the activity matrix".to_string(),
            42 => ", the model reads the first 42: activity matrix and operating conditions"
                .to_string(),
            _ => format!(", the model reads the first {used}"),
        }
    );
    let names = ["dynamic", "static"];
    for h in 0..e.len as usize {
        println!(
            "  {} energy (fixed point): {:.4} [{unit}]",
            names.get(h).copied().unwrap_or("head"),
            e.heads[h].to_f32() * pscale
        );
    }
    println!(
        "  total energy (fixed point): {:.4} [{unit}]",
        e.total.to_f32() * pscale
    );
    print_trust(
        &infer::energy_estimate_assessed(&pw, &pow_a).total,
        &unit,
        infer::Verdicts {
            latency: None,
            power: pow_a.envelope,
        },
    );
    if let Some(ck) = checkpoint_next_to(&args.power_model) {
        let ctx = || format!("{}: f32 reference on {}", ck.display(), where_row());
        let m = Checkpoint::load(&ck, tch::Device::Cpu)?
            .to_model_f32()
            .with_context(ctx)?;
        let b = m.to_blob().with_context(ctx)?;
        let mf = Model::from_bytes(&b).with_context(ctx)?;
        let mut o = [Energy::<f32>::ZERO];
        let mut ws = vec![0u8; power::required_workspace(&mf)];
        power::predict_f32(&mf, row, &mut o, &mut ws, None).with_context(ctx)?;
        println!(
            "  f32 reference ({}): total {:.4}; fixed point differs by {:.3}%",
            ck.display(),
            o[0].total * pscale,
            100.0 * (e.total.to_f32() - o[0].total).abs() / o[0].total.abs().max(1e-12)
        );
    }
    if !args.no_stream {
        stream_section(&args.stream, &lat, &pw)?;
    }
    let imported = lat.body().note.contains("original ANGraph weights")
        || pw.body().note.contains("original ANGraph weights");
    if imported {
        println!(
            "note: these are the original ANGraph weights, trained on the original datasets whose \
             node features and label units are not published with the weights. The bundled graph \
             example is synthetic; the stream is a real simulator stream, but the original weights \
             were not trained on this project's benchmarks, so no output above is comparable with \
             its reference labels: the numbers demonstrate the pipeline, not a hardware estimate."
        );
    }
    Ok(())
}

/// The trust section's verdict on one estimate, when the blob has one: the calibrated interval
/// and whether the input lies in the training envelope (with the reason when not).
fn print_trust(est: &infer::Estimate, unit: &str, verdicts: infer::Verdicts) {
    let unit = printable(unit);
    let (Some(lo), Some(hi)) = (est.lo, est.hi) else {
        return;
    };
    let mut p = infer::Prediction::default();
    infer::apply_trust(&verdicts, &mut p);
    let envelope = match p.in_envelope {
        Some(true) => "inside the training envelope".to_string(),
        Some(false) => format!("OUTSIDE the training envelope ({})", p.why),
        None => "envelope unknown".to_string(),
    };
    println!("    90 % interval [{lo:.4}, {hi:.4}] [{unit}]; {envelope}");
}
