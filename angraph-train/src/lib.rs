//! `angraph-train`: the host side of ANGraph-rs.
pub mod import;
pub mod nn;
