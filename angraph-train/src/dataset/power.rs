//! The power datasets' matrix: names and units. Rows 0..=5 are the 6 x 6 activity matrix
//! (`angraph_core::transform::GraphBuilder::activity_matrix`), row 6 the operating conditions
//! (`angraph_core::power_input`, power input version 2): integer Q16.16 computed from the
//! system-level stream and its header, the same on the chip, stored as `f32` = fixed / 65536.

use angraph_core::power_input::CONDITIONS_INPUTS;

/// Values per sample the generator writes (`(N, 7, 6)`: activity matrix + conditions row).
pub const DATASET_INPUTS: usize = CONDITIONS_INPUTS;

/// Matrix rows: component classes (the injector is off-chip and not counted), then the
/// operating conditions (columns: `angraph_core::power_input::CONDITIONS_NAMES`).
pub const MATRIX_ROWS: [&str; 7] = [
    "router_input_units",
    "switch_allocators",
    "router_output_units",
    "network_interfaces",
    "synapse_aer_sram",
    "neuron_lut",
    "operating_conditions",
];

/// Columns of the activity rows (0..=5): statistics of each class, with units.
pub const MATRIX_COLS: [(&str, &str); 6] = [
    ("hops", "1000 hops"),
    ("active_fraction", "share of the class's components used"),
    ("busiest_component_hops", "1000 hops"),
    ("busy_time", "us (sum of system-level dwell)"),
    ("span", "us (first entry to last exit, system level)"),
    ("mean_dwell", "ns"),
];

/// Values per sample of an activity `.npy` of `shape`, for the documented shapes only:
/// `(N, 6, 6)` / `(N, 36)` (the activity matrix, 36) and `(N, 7, 6)` / `(N, 42)` (the matrix
/// and the operating-conditions row, 42). Anything else (e.g. `(N, 6, 7)`, whose 42 values are
/// not the matrix then the conditions) is `None`.
pub fn row_width(shape: &[usize]) -> Option<usize> {
    use angraph_core::power_input::ACTIVITY_INPUTS;
    match shape {
        [_, 6, 6] | [_, ACTIVITY_INPUTS] => Some(ACTIVITY_INPUTS),
        [_, 7, 6] | [_, DATASET_INPUTS] => Some(DATASET_INPUTS),
        _ => None,
    }
}

/// Relative tolerance of `total == dynamic + static` in power labels (f32 rounding of the sum
/// is far below it).
pub const LABEL_SUM_TOLERANCE: f32 = 1e-3;

/// Check one energy triple `[total, dynamic, static]` (already finite): non-negative and
/// `total == dynamic + static` within [`LABEL_SUM_TOLERANCE`]; `Err` says which field.
pub fn check_energies(total: f32, dynamic: f32, stat: f32) -> Result<(), String> {
    for (name, v) in [("total", total), ("dynamic", dynamic), ("static", stat)] {
        if v < 0.0 {
            return Err(format!("{name} energy {v} is negative"));
        }
    }
    let sum = dynamic as f64 + stat as f64;
    let tol = LABEL_SUM_TOLERANCE as f64 * sum.abs().max(total.abs() as f64) + 1e-9;
    if (total as f64 - sum).abs() > tol {
        return Err(format!(
            "total energy {total} is not dynamic + static = {dynamic} + {stat} = {sum} (relative \
             tolerance {LABEL_SUM_TOLERANCE})"
        ));
    }
    Ok(())
}

/// Physical range of each column of the operating-conditions row (its stored unit:
/// `angraph_core::power_input::CONDITIONS_UNITS`), the same ranges as a stream's process
/// header (`crate::stream`): 1..=1000 nm, 0.1..=5 V, -55..=175 degC, 1..=1024 tiles; the
/// reserved columns are 0. One Q16.16 step of slack on each side.
pub const CONDITIONS_RANGES: [(f32, f32); 6] = [
    (0.01, 10.0),
    (0.1, 5.0),
    (-0.55, 1.75),
    (1.0 / 64.0, 16.0),
    (0.0, 0.0),
    (0.0, 0.0),
];

/// Largest activity statistic: the Q16.16 range ANGraph-P's fixed-point input holds.
pub const MAX_ACTIVITY: f32 = 32768.0;

/// Check activity rows of `width` values (36: the activity matrix; 42: the matrix and the
/// operating-conditions row), already finite: every activity statistic (hops, shares, times)
/// lies in 0..=[`MAX_ACTIVITY`] and every condition lies in [`CONDITIONS_RANGES`]. `Err` names the row, the
/// column and the field.
pub fn check_rows(values: &[f32], width: usize) -> Result<(), String> {
    use angraph_core::power_input::{ACTIVITY_INPUTS, CONDITIONS_NAMES};
    let eps = 1.0 / 65536.0;
    for (i, row) in values.chunks_exact(width.max(1)).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            if j < ACTIVITY_INPUTS {
                if !(0.0..=MAX_ACTIVITY).contains(&v) {
                    let (r, c) = (j / 6, j % 6);
                    let why = if v < 0.0 {
                        "is negative (an activity statistic is >= 0)".to_string()
                    } else {
                        format!("is beyond the Q16.16 input range {MAX_ACTIVITY}")
                    };
                    return Err(format!(
                        "row {i}, column {j} ({}.{}): {v} {why}",
                        MATRIX_ROWS[r], MATRIX_COLS[c].0
                    ));
                }
            } else {
                let k = j - ACTIVITY_INPUTS;
                let (lo, hi) = CONDITIONS_RANGES[k.min(5)];
                if v < lo - eps || v > hi + eps {
                    return Err(format!(
                        "row {i}, column {j} ({}.{}): {v} is outside {lo}..={hi}",
                        MATRIX_ROWS[6],
                        CONDITIONS_NAMES.get(k).copied().unwrap_or("?")
                    ));
                }
            }
        }
    }
    Ok(())
}
