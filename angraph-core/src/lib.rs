//! `angraph-core`: the `no_std`, heap-free heart of ANGraph-rs.
//!
//! - [`graph`]: the CSR graph view the models read, validated over borrowed slices;
//! - [`config`]: ANGraph-L and ANGraph-P as configurable families (the originals included);
//! - [`blob`] and [`model`]: the versioned `*.angq` model blob, loaded zero-copy;
//! - [`latency`] and [`power`]: inference on the f32 reference path and the fixed-point path;
//! - [`fixed`]: the integer arithmetic (requantization, saturation, reciprocals);
//! - [`component`], [`transform`], [`features`]: hardware components, the streaming event ->
//!   graph transform and its integer (Q16.16) node and edge features;
//! - [`power_input`]: ANGraph-P's versioned input (activity matrix, operating conditions);
//! - [`trust`]: calibrated prediction intervals and the training envelope (blob format 2);
//! - `quantize` (feature `std`): f32 models, BatchNorm folding, calibration and blob writing;
//!   `trust_fit` (feature `std`): fitting the trust section from training and held-out samples.
//!
//! Working memory is always supplied by the caller ([`latency::required_workspace`],
//! [`power::required_workspace`]); nothing here allocates.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub mod blob;
pub mod component;
pub mod config;
pub mod crc;
pub mod error;
pub mod features;
pub mod fixed;
pub mod graph;
pub mod kernel;
pub mod latency;
pub mod model;
pub mod power;
pub mod power_input;
pub mod preprocess;
#[cfg(feature = "std")]
pub mod quantize;
#[cfg(test)]
mod test_rng;
pub mod transform;
pub mod trust;
#[cfg(feature = "std")]
pub mod trust_fit;
#[cfg(feature = "std")]
pub mod weight_rounding;
pub mod workspace;

pub use blob::Precision;
pub use config::{Aggr, Config, Family, Jk, LatencyConfig, Pool, PowerConfig, Preprocess, Stage};
pub use crc::crc32;
pub use error::{Error, Resource, Result};
pub use graph::GraphView;
pub use latency::Fixed;
pub use model::Model;
