//! `angraph`: the ANGraph-rs command line. Each subcommand lives in its own module of the
//! `angraph_train` library; this file only dispatches.
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "angraph",
    version,
    about = "Latency and energy prediction for asynchronous neuromorphic hardware"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the libtorch version tch links (a smoke test of the installation).
    TorchInfo,
    /// The main job: predicted latency and energy of a graph and an activity row from model blobs
    /// (defaults: the recommended models on a committed sample graph, power row and recorded
    /// stream; the imported originals are one `--latency-model` / `--power-model` away).
    Estimate(angraph_train::estimate::EstimateArgs),
    /// The batch job: latency and energy of many streams, graph datasets or activity rows, one
    /// CSV row (or JSON line) each, in input order, on all cores (`--help` for columns, units
    /// and exit codes).
    Predict(angraph_train::predict::PredictArgs),
    /// Import original ANGraph weights (safetensors): f32 checkpoint, quantized blob, report.
    Import(angraph_train::import::ImportArgs),
    /// Train ANGraph-L (latency) or ANGraph-P (power), or search ANGraph-L options.
    Train(angraph_train::train::TrainArgs),
    /// Evaluate a model on datasets: metrics, system-level estimate side by side, PNGs, table.
    Eval(angraph_train::eval::EvalArgs),
    /// Adapt a trained ANGraph-L (head fine-tuning) or ANGraph-P (time factor + head refit) to a
    /// new configuration or process node from a little labelled data (`--shots N`).
    Transfer(angraph_train::transfer::TransferArgs),
    /// Calibrate on training data, write a fixed-point `.angq`, compare f32 and fixed point.
    Quantize(angraph_train::train::QuantizeArgs),
    /// Simulate one hardware + application configuration: event streams (timed or TrueAsync
    /// DFG JSON), system-level estimate and reference labels (latency in ns, energy in nJ),
    /// optionally a latency or power dataset.
    Simulate(angraph_train::sim::cli::SimulateArgs),
    /// Convert event streams (TrueAsync DFG JSON or timed) to graphs, to the other form, or
    /// to a latency dataset (OGB raw format).
    Convert(angraph_train::stream::cli::ConvertArgs),
    /// Generate benchmark datasets from data/manifest.json (committed samples or full sets)
    /// and the report (data/README.md).
    Datasets(angraph_train::dataset::cli::DatasetsArgs),
    /// The information bound of ANGraph-P's static energy: regenerate a power entry's samples
    /// and score oracles that know everything but the unobservable per-die factor.
    PowerBound(angraph_train::dataset::power_bound::PowerBoundArgs),
    /// The information bound of ANGraph-L: regenerate a latency entry's samples and score
    /// oracles that know everything but the unobservable per-die and per-component delay
    /// variation.
    LatencyBound(angraph_train::dataset::latency_bound::LatencyBoundArgs),
}

/// Let a closed stdout end the process quietly (SIGPIPE, status 141), as for other Unix
/// tools; Rust ignores SIGPIPE by default, which turns a closed pipe into a panic in `println!`.
/// `predict` keeps it ignored: it handles the broken pipe itself and exits 0.
fn default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called once at start-up, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Predict(_)) {
        default_sigpipe();
    }
    let result: anyhow::Result<()> = match cli.command {
        Command::Predict(a) => match angraph_train::predict::run(&a) {
            // Exit 1 when some rows failed (their `error` cells say why).
            Ok(false) => return ExitCode::from(1),
            r => r.map(|_| ()),
        },
        Command::Estimate(a) => angraph_train::estimate::run(&a),
        Command::Import(a) => angraph_train::import::run(&a),
        Command::Train(a) => angraph_train::train::run_train(&a),
        Command::Eval(a) => angraph_train::eval::run(&a),
        Command::Transfer(a) => angraph_train::transfer::run(&a),
        Command::Quantize(a) => angraph_train::train::run_quantize(&a),
        Command::Simulate(a) => angraph_train::sim::cli::run(&a),
        Command::Convert(a) => angraph_train::stream::cli::run(&a),
        Command::Datasets(a) => angraph_train::dataset::cli::run(&a),
        Command::PowerBound(a) => angraph_train::dataset::power_bound::run(&a),
        Command::LatencyBound(a) => angraph_train::dataset::latency_bound::run(&a),
        Command::TorchInfo => {
            let t = tch::Tensor::from_slice(&[1.0f32, 2.0, 3.0]);
            println!(
                "tch ok, sum = {}",
                t.sum(tch::Kind::Float).double_value(&[])
            );
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
