//! `angraph-train`: the host side of ANGraph-rs.
pub mod cli;
pub mod dataset;
pub mod eval;
pub mod fsio;
pub mod import;
pub mod infer;
pub mod metrics;
pub mod nn;
pub mod progress;
pub mod sim;
pub mod stream;
pub mod text;
pub mod train;
pub mod transfer;
pub mod trust;
