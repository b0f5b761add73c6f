//! The command line of `angraph`: every clap type and every subcommand's `run` (argument
//! parsing and validation, orchestration, printing), one file per subcommand. The domain
//! modules (`sim`, `dataset`, `stream`, `nn`, `train`, `eval`, `transfer`, `import`, `infer`)
//! do the work and never import this module or clap.

pub mod convert;
pub mod datasets;
pub mod estimate;
pub mod eval;
pub mod import;
pub mod latency_bound;
pub mod power_bound;
pub mod predict;
pub mod quantize;
pub mod simulate;
pub mod torch_info;
pub mod train;
pub mod transfer;
