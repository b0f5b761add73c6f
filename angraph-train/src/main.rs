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
    /// (defaults: the imported original models on the bundled synthetic example).
    Estimate(angraph_train::estimate::EstimateArgs),
    /// Import original ANGraph weights (safetensors): f32 checkpoint, quantized blob, report.
    Import(angraph_train::import::ImportArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: anyhow::Result<()> = match cli.command {
        Command::Estimate(a) => angraph_train::estimate::run(&a),
        Command::Import(a) => angraph_train::import::run(&a),
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
