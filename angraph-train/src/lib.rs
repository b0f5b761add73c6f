//! `angraph-train`: the host side of ANGraph-rs.
pub mod dataset;
pub mod estimate;
pub mod eval;
pub mod fsio;
pub mod import;
pub mod infer;
pub mod metrics;
pub mod nn;
pub mod predict;
pub mod progress;
pub mod sim;
pub mod stream;
pub mod text;
pub mod train;
pub mod transfer;
pub mod trust;
