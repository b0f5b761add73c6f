//! `angraph-train`: the host side of ANGraph-rs.
