//! The power datasets' 6 x 6 activity matrix, computed from the system-level stream only.

use crate::sim::engine::{Plan, Timing};
use angraph_core::component::{ComponentKind, COMPONENTS_PER_TILE};

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

fn row_of(kind: ComponentKind) -> Option<usize> {
    Some(match kind {
        ComponentKind::InputUnit(_) => 0,
        ComponentKind::SwitchAllocator => 1,
        ComponentKind::OutputUnit(_) => 2,
        ComponentKind::NiToRouter | ComponentKind::NiToPe => 3,
        ComponentKind::Aer | ComponentKind::WeightSram => 4,
        ComponentKind::Lut => 5,
        ComponentKind::Injector => return None,
    })
}

/// Components of each class in one tile.
const PER_TILE: [f64; 6] = [5.0, 1.0, 5.0, 2.0, 2.0, 1.0];

/// The activity matrix of a sample, row-major 6 x 6.
pub fn activity_matrix(plan: &Plan, timing: &Timing) -> [f32; 36] {
    let mesh = plan.mesh;
    let n = mesh.num_components() as usize;
    let mut visits = vec![0u32; n];
    let mut dwell = [0u64; 6];
    let mut first = [u64::MAX; 6];
    let mut last = [0u64; 6];
    for (h, &c) in plan.path.iter().enumerate() {
        visits[c as usize] += 1;
        let Ok(comp) = mesh.component(c) else {
            continue;
        };
        if let Some(r) = row_of(comp.kind) {
            dwell[r] += timing.leave[h] - timing.enter[h];
            first[r] = first[r].min(timing.enter[h]);
            last[r] = last[r].max(timing.leave[h]);
        }
    }
    let mut hops = [0u64; 6];
    let mut active = [0u32; 6];
    let mut busiest = [0u32; 6];
    for (c, &v) in visits.iter().enumerate() {
        if c as u32 >= mesh.tiles() * COMPONENTS_PER_TILE || v == 0 {
            continue;
        }
        let Ok(comp) = mesh.component(c as u32) else {
            continue;
        };
        if let Some(r) = row_of(comp.kind) {
            hops[r] += v as u64;
            active[r] += 1;
            busiest[r] = busiest[r].max(v);
        }
    }
    let mut m = [0f32; 36];
    for r in 0..6 {
        let span = last[r].saturating_sub(first[r].min(last[r]));
        let row = [
            hops[r] as f64 / 1000.0,
            active[r] as f64 / (PER_TILE[r] * mesh.tiles() as f64),
            busiest[r] as f64 / 1000.0,
            dwell[r] as f64 / 1e6,
            span as f64 / 1e6,
            if hops[r] > 0 {
                dwell[r] as f64 / hops[r] as f64 / 1e3
            } else {
                0.0
            },
        ];
        for (k, v) in row.iter().enumerate() {
            m[r * 6 + k] = *v as f32;
        }
    }
    m
}
