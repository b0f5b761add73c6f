//! `angraph-embed`: ANGraph-rs on a microcontroller, a co-processor or inside a simulator.
//!
//! Events in, latency and energy out: `#![no_std]`, no allocator, bounded memory.
//!
//! - [`arena`]: the integrator's static arena, sized by the `const fn` [`arena_bytes`] for
//!   capacities (`NODES` distinct components, `EDGES` distinct consecutive pairs, as const
//!   parameters) and model dimensions ([`Dims`]);
//! - [`estimator`]: the streaming [`Estimator`] (hops in, [`Prediction`] out) over
//!   `angraph_core`'s transform, features and fixed-point models;
//! - [`status`]: the error codes shared with the C ABI;
//! - [`ffi`]: the C ABI of `include/angraph.h` (built as a `staticlib`).
//!
//! ```
//! use angraph_core::component::Mesh;
//! use angraph_core::features::{ProcessDescriptor, NODE_FEATURES};
//! use angraph_core::{Config, LatencyConfig, Model, Precision};
//! use angraph_embed::{Arena, Dims, Estimator};
//! # use angraph_core::quantize::{Calibration, ModelF32, OwnedGraph};
//! # fn blob() -> Vec<u8> {
//! #     // A small ANGraph-L on the stream features (firmware: include_bytes!("latency.angq")).
//! #     let mut c = LatencyConfig::original();
//! #     c.in_dim = NODE_FEATURES as u16;
//! #     c.input_proj = true;
//! #     c.width = 8;
//! #     c.head.clear();
//! #     c.head.push(8).unwrap();
//! #     let m = ModelF32::random(Config::Latency(c), 1).unwrap();
//! #     let x = (0..2 * NODE_FEATURES).map(|i| (i % 5) as f32 * 0.25).collect();
//! #     let g = OwnedGraph::from_coo(2, NODE_FEATURES as u32, x, &[(0, 1)], None).unwrap();
//! #     m.quantize(&Calibration::Latency(&[g]), Precision::Int16, "doc").unwrap()
//! # }
//! // Capacities are const parameters: a 2x2 mesh has 16 * 4 + 1 = 65 components.
//! type Est<'a> = Estimator<'a, 65, 160>;
//! const DIMS: Dims = Dims { width: 8, in_dim: NODE_FEATURES as u32, head_max: 8 };
//! const BYTES: usize = Est::arena_bytes(DIMS); // a const fn: size a `static` with it
//! let mut arena = Box::new(Arena::<BYTES>::new()); // firmware: `static mut ARENA: Arena<BYTES>`
//! let blob = blob();
//! let model = Model::from_bytes(&blob)?; // firmware: Model::from_bytes_into(.., &mut STATIC)
//! let mesh = Mesh::new(2, 2)?;
//! let mut est = Est::new(arena.bytes(), DIMS, &model, mesh, ProcessDescriptor::default())?;
//! est.begin_event()?;
//! for (name, t) in [("Injector", 0), ("NI-0-toRouter", 500), ("IU-0 of Router-0", 900),
//!                   ("SA of Router-0", 1200), ("OU-2 of Router-0", 1500)] {
//!     est.hop(mesh.parse_id(name)?, t, t + 300)?; // component id, enter and leave (ps)
//! }
//! est.end_event()?;
//! let p = est.predict()?; // consumes the window
//! assert_eq!((p.nodes, p.edges), (5, 4));
//! let _latency = p.latency.raw as f64 / (1u64 << p.latency.frac_bits) as f64; // model units
//! est.reset()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![no_std]
#![warn(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// Host builds link std (its panic handler serves the host staticlib); bare-metal builds get the
// halting handler below, which no input can reach: every failure is a `Status`.
#[cfg(not(target_os = "none"))]
extern crate std;

pub mod arena;
pub mod estimator;
pub mod ffi;
pub mod status;

pub use arena::{arena_bytes, Arena, Dims};
pub use estimator::{EnergyEstimator, Estimator, Prediction, ACTIVITY_INPUTS, CONDITIONS_INPUTS};
pub use status::{Result, Status};

#[cfg(all(target_os = "none", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
    }
}
