//! Benchmarks of ANGraph-rs (see `benches/`).
