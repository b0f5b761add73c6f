//! The power datasets' matrix: names and units. Rows 0..=5 are the 6 x 6 activity matrix
//! (`angraph_core::transform::GraphBuilder::activity_matrix`), row 6 the operating conditions,
//! row 7 the event load (`angraph_core::power_input`, power input version 3): integer Q16.16
//! computed from the system-level stream and its header, the same on the chip, stored as
//! `f32` = fixed / 65536.

use angraph_core::power_input::{CONDITIONS_INPUTS, LOAD_INPUTS};

/// Values per sample the generator writes (`(N, 8, 6)`: activity matrix, conditions row, load
/// row).
pub const DATASET_INPUTS: usize = LOAD_INPUTS;

/// Values per sample of a power dataset of `power_input_version` (`None`: files without the
/// field, the activity matrix alone).
pub const fn inputs_of_version(version: Option<u32>) -> Option<usize> {
    match version {
        None | Some(1) => Some(angraph_core::power_input::ACTIVITY_INPUTS),
        Some(2) => Some(CONDITIONS_INPUTS),
        Some(3) => Some(LOAD_INPUTS),
        Some(_) => None,
    }
}

/// Matrix rows: component classes (the injector is off-chip and not counted), then the
/// operating conditions (columns: `angraph_core::power_input::CONDITIONS_NAMES`).
pub const MATRIX_ROWS: [&str; 8] = [
    "router_input_units",
    "switch_allocators",
    "router_output_units",
    "network_interfaces",
    "synapse_aer_sram",
    "neuron_lut",
    "operating_conditions",
    "event_load",
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
/// `(N, 6, 6)` / `(N, 36)` (the activity matrix, 36), `(N, 7, 6)` / `(N, 42)` (the matrix
/// and the operating-conditions row, 42) and `(N, 8, 6)` / `(N, 48)` (then the load row, 48).
/// Anything else (e.g. `(N, 6, 7)`, whose 42 values are not the matrix then the conditions)
/// is `None`.
pub fn row_width(shape: &[usize]) -> Option<usize> {
    use angraph_core::power_input::ACTIVITY_INPUTS;
    match shape {
        [_, 6, 6] | [_, ACTIVITY_INPUTS] => Some(ACTIVITY_INPUTS),
        [_, 7, 6] | [_, CONDITIONS_INPUTS] => Some(CONDITIONS_INPUTS),
        [_, 8, 6] | [_, LOAD_INPUTS] => Some(LOAD_INPUTS),
        _ => None,
    }
}

/// How many values of a stored row of `width` a power model of `in_dim` reads: each power
/// input layout extends the one before it (36 activity values, 42 with the operating
/// conditions, 48 with the load), so a model reads the prefix of a wider row (a 36-input
/// original on this project's 48-value rows). `None` when they do not fit.
pub fn model_row_width(width: usize, in_dim: usize) -> Option<usize> {
    use angraph_core::power_input::PowerInput;
    let layout = |n| PowerInput::from_in_dim(n).is_ok();
    (in_dim <= width && layout(in_dim) && layout(width)).then_some(in_dim)
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

/// Physical range of each column of the load row (`angraph_core::power_input::LOAD_UNITS`):
/// counts within the Q16.16 range, at most 65535 words per read (`EventLoad::words` is a
/// `u16`), fires per update at most the words; the reserved columns are 0.
pub const LOAD_RANGES: [(f32, f32); 6] = [
    (0.0, MAX_ACTIVITY),
    (0.0, MAX_ACTIVITY),
    (0.0, 65535.0),
    (0.0, 65535.0),
    (0.0, 0.0),
    (0.0, 0.0),
];

/// Check activity rows of `width` values (36: the activity matrix; 42: the matrix and the
/// operating-conditions row; 48: then the load row), already finite: every activity statistic
/// (hops, shares, times) lies in 0..=[`MAX_ACTIVITY`], every condition in
/// [`CONDITIONS_RANGES`], every load value in [`LOAD_RANGES`]. `Err` names the row, the column
/// and the field.
pub fn check_rows(values: &[f32], width: usize) -> Result<(), String> {
    use angraph_core::power_input::{ACTIVITY_INPUTS, CONDITIONS_NAMES, LOAD_NAMES};
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
                // Row 6: the operating conditions; row 7: the load.
                let (r, k, ranges, names) = if j < CONDITIONS_INPUTS {
                    (
                        6,
                        j - ACTIVITY_INPUTS,
                        &CONDITIONS_RANGES,
                        &CONDITIONS_NAMES,
                    )
                } else {
                    (7, j - CONDITIONS_INPUTS, &LOAD_RANGES, &LOAD_NAMES)
                };
                let (lo, hi) = ranges[k.min(5)];
                if v < lo - eps || v > hi + eps {
                    return Err(format!(
                        "row {i}, column {j} ({}.{}): {v} is outside {lo}..={hi}",
                        MATRIX_ROWS[r],
                        names.get(k).copied().unwrap_or("?")
                    ));
                }
            }
        }
    }
    Ok(())
}
