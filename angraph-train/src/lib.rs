//! `angraph-train`: the host side of ANGraph-rs.
pub mod estimate;
pub mod import;
pub mod nn;
