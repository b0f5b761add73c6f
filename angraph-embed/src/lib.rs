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
//! use angraph_embed::{Arena, Dims, Estimator};
//! use angraph_core::component::Mesh;
//! use angraph_core::features::ProcessDescriptor;
//! type Est<'a> = Estimator<'a, 257, 640>; // a 4x4 mesh: 16 * 16 + 1 components
//! const BYTES: usize = Est::arena_bytes(Dims::ORIGINAL);
//! let mut arena = Box::new(Arena::<BYTES>::new()); // firmware: a `static`
//! // let est = Est::new(arena.bytes(), Dims::ORIGINAL, LATENCY_ANGQ, None,
//! //                    Mesh::new(4, 4)?, ProcessDescriptor::default())?;
//! # let _ = (&mut arena, Mesh::new(4, 4), ProcessDescriptor::default());
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
pub use estimator::{EnergyEstimator, Estimator, Prediction};
pub use status::{Result, Status};

#[cfg(all(target_os = "none", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
    }
}
