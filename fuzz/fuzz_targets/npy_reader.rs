//! Fuzz the `.npy` reader (`angraph_train::dataset::npy::parse_f32`) and, for every array it
//! accepts, the activity-row rules (`dataset::power::row_width`, `check_rows`). It must never
//! panic, and never allocate by the header before the file length agrees with it.
//!
//! Seeds: the committed `.npy` files (`data/samples/power_*/{feature,label}.npy`,
//! `data/examples/mesh4x4/power/feature.npy`; see docs/hardening.md).
#![no_main]

use angraph_train::dataset::{npy, power};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((shape, values)) = npy::parse_f32(data) else {
        return;
    };
    let n: usize = shape.iter().product();
    assert_eq!(n, values.len());
    assert!(values.iter().all(|v| v.is_finite()));
    if let Some(width) = power::row_width(&shape) {
        let _ = power::check_rows(&values, width);
    }
});
