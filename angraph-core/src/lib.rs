//! `angraph-core`: the `no_std`, heap-free heart of ANGraph-rs. The modules follow the data,
//! from an event stream to a prediction:
//!
//! 1. **Stream -> graph -> features.** [`component`]: the hardware components of a mesh and
//!    their TrueAsync names; [`transform`]: the streaming event -> graph transform (the
//!    asynchronous neuromorphic graph and ANGraph-P's activity matrix, event by event);
//!    [`features`]: its integer (Q16.16) node and edge features; [`power_input`]: ANGraph-P's
//!    versioned input row (activity matrix, operating conditions, load); [`graph`]: the CSR
//!    graph view the models read, validated over borrowed slices.
//! 2. **Model format.** [`config`]: ANGraph-L and ANGraph-P as configurable families (the
//!    originals included); [`preprocess`]: how a model reads features and writes its output
//!    (log2 scales, the ratio to the system-level estimate); [`blob`] and [`model`]: the
//!    versioned `*.angq` blob, loaded zero-copy, with [`crc`] its checksum; [`trust`]: the
//!    calibrated intervals and training envelope a blob may carry.
//! 3. **Inference.** [`latency`] and [`power`]: the f32 reference path and the fixed-point
//!    path; [`fixed`]: the integer arithmetic (requantization, saturation, the [`Fixed`]
//!    output); [`layer`]: one layer's borrowed tensors; [`observe`]: the calibration hooks of the
//!    f32 path; [`kernel`]: the
//!    layer kernels (portable, Cortex-M DSP, x86 SSE2 / AVX2 / AVX-512, chosen at run time);
//!    [`workspace`]: the caller's working memory ([`latency::required_workspace`],
//!    [`power::required_workspace`]).
//! 4. **Host-only tools** (feature `std`): `quantize` (f32 models, BatchNorm folding,
//!    calibration, blob writing), `weight_rounding`, `trust_fit` (fitting the trust section).
//!
//! Shared by all: [`error`] (one typed error, mapped one-to-one to the C status codes) and
//! [`rng`] (the project's one seeded generator). Nothing here allocates.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

// 1. Stream -> graph -> features.
pub mod component;
pub mod features;
pub mod graph;
pub mod power_input;
pub mod transform;

// 2. Model format.
pub mod blob;
pub mod config;
pub mod crc;
pub mod model;
pub mod preprocess;
pub mod trust;

// 3. Inference.
pub mod fixed;
pub mod kernel;
pub mod latency;
pub mod layer;
pub mod observe;
pub mod power;
pub mod workspace;

// 4. Host-only tools.
#[cfg(feature = "std")]
pub mod quantize;
#[cfg(feature = "std")]
pub mod trust_fit;
#[cfg(feature = "std")]
pub mod weight_rounding;

// Shared.
pub mod error;
pub mod rng;
#[cfg(test)]
mod test_rng;

pub use blob::Precision;
pub use config::{Aggr, Config, Family, Jk, LatencyConfig, Pool, PowerConfig, Preprocess, Stage};
pub use crc::crc32;
pub use error::{Error, Resource, Result};
pub use fixed::Fixed;
pub use graph::GraphView;
pub use model::Model;
