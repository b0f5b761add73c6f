//! `angraph`: the ANGraph-rs command line. Each subcommand lives in its own file of the
//! `angraph_train::cli` module; this file only dispatches.
use angraph_train::cli;
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
    Estimate(cli::estimate::EstimateArgs),
    /// The batch job: latency and energy of many streams, graph datasets or activity rows, one
    /// CSV row (or JSON line) each, in input order, on all cores (`--help` for columns, units
    /// and exit codes).
    Predict(cli::predict::PredictArgs),
    /// Import original ANGraph weights (safetensors): f32 checkpoint, quantized blob, report.
    Import(cli::import::ImportArgs),
    /// Train ANGraph-L (latency) or ANGraph-P (power), or search ANGraph-L options.
    Train(cli::train::TrainArgs),
    /// Evaluate a model on datasets: metrics, system-level estimate side by side, PNGs, table.
    Eval(cli::eval::EvalArgs),
    /// Adapt a trained ANGraph-L (head fine-tuning) or ANGraph-P (time factor + head refit) to a
    /// new configuration or process node from a little labelled data (`--shots N`).
    Transfer(cli::transfer::TransferArgs),
    /// Calibrate on training data, write a fixed-point `.angq`, compare f32 and fixed point.
    Quantize(cli::quantize::QuantizeArgs),
    /// Simulate one hardware + application configuration: event streams (timed or TrueAsync
    /// DFG JSON), system-level estimate and reference labels (latency in ns, energy in nJ),
    /// optionally a latency or power dataset.
    Simulate(cli::simulate::SimulateArgs),
    /// Convert event streams (TrueAsync DFG JSON or timed) to graphs, to the other form, or
    /// to a latency dataset (OGB raw format).
    Convert(cli::convert::ConvertArgs),
    /// Generate benchmark datasets from data/manifest.json (committed samples or full sets)
    /// and the report (data/README.md).
    Datasets(cli::datasets::DatasetsArgs),
    /// The information bound of ANGraph-P's static energy: regenerate a power entry's samples
    /// and score oracles that know everything but the unobservable per-die factor.
    PowerBound(cli::power_bound::PowerBoundArgs),
    /// The information bound of ANGraph-L: regenerate a latency entry's samples and score
    /// oracles that know everything but the unobservable per-die and per-component delay
    /// variation.
    LatencyBound(cli::latency_bound::LatencyBoundArgs),
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
    let args = Cli::parse();
    if !matches!(args.command, Command::Predict(_)) {
        default_sigpipe();
    }
    let result: anyhow::Result<()> = match args.command {
        Command::Predict(a) => match cli::predict::run(&a) {
            // Exit 1 when some rows failed (their `error` cells say why).
            Ok(false) => return ExitCode::from(1),
            r => r.map(|_| ()),
        },
        Command::Estimate(a) => cli::estimate::run(&a),
        Command::Import(a) => cli::import::run(&a),
        Command::Train(a) => cli::train::run(&a),
        Command::Eval(a) => cli::eval::run(&a),
        Command::Transfer(a) => cli::transfer::run(&a),
        Command::Quantize(a) => cli::quantize::run(&a),
        Command::Simulate(a) => cli::simulate::run(&a),
        Command::Convert(a) => cli::convert::run(&a),
        Command::Datasets(a) => cli::datasets::run(&a),
        Command::PowerBound(a) => cli::power_bound::run(&a),
        Command::LatencyBound(a) => cli::latency_bound::run(&a),
        Command::TorchInfo => cli::torch_info::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
