//! The power datasets' 6 x 6 activity matrix: names and units. The matrix itself is computed
//! from the system-level stream by `angraph_core::transform::GraphBuilder::activity_matrix`
//! (integer Q16.16, the same on the chip), stored as `f32` = fixed / 65536.

/// Matrix rows: component classes (the injector is off-chip and not counted).
pub const MATRIX_ROWS: [&str; 6] = [
    "router_input_units",
    "switch_allocators",
    "router_output_units",
    "network_interfaces",
    "synapse_aer_sram",
    "neuron_lut",
];

/// Matrix columns: statistics of each class, with units.
pub const MATRIX_COLS: [(&str, &str); 6] = [
    ("hops", "1000 hops"),
    ("active_fraction", "share of the class's components used"),
    ("busiest_component_hops", "1000 hops"),
    ("busy_time", "us (sum of system-level dwell)"),
    ("span", "us (first entry to last exit, system level)"),
    ("mean_dwell", "ns"),
];
