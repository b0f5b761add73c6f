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
