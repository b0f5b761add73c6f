//! Every parameter of the reference hardware model, in one place.
//!
//! Times are integer picoseconds, energies picojoules, powers microwatts, voltages millivolts.
//! The magnitudes are engineering estimates for a small asynchronous (QDI / bundled-data)
//! neuromorphic tile, not foundry data; where each comes from is noted next to it. What matters
//! for the benchmarks is their *ratios*: which stage is the bottleneck, how much the effects
//! the system level leaves out (contention, backpressure, data-dependent delays, variation)
//! add on top of the nominal delays.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// A process node's delay, voltage, energy and leakage descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProcessNode {
    /// Name as used on the command line and in `meta.json` (`tsmc65`, `tsmc28`, `tsmc22`).
    pub name: &'static str,
    /// Feature size (nm).
    pub feature_nm: u16,
    /// Nominal supply voltage (mV).
    pub vdd_mv: u16,
    /// Every delay is the 65 nm delay times this factor. FO4 inverter delay: ~22 ps at 65 nm
    /// (ITRS), ~11 ps at 28 nm, ~9.5 ps at 22 nm (published FO4 ring-oscillator figures).
    pub delay_scale: f64,
    /// Dynamic energy per operation relative to 65 nm: switched capacitance scales about with
    /// the feature size, energy with C * V^2, so (nm / 65) * (Vdd / 1.2 V)^2.
    pub energy_scale: f64,
    /// Leakage power of one powered tile at 25 degC (uW). 65 nm LP: ~10 uW for a ~0.1 mm^2
    /// tile of mostly SRAM; 28 nm HPC leaks more per area; 22 nm ULL is a low-leakage flavour.
    pub leakage_uw_per_tile: f64,
}

/// The process nodes this model knows.
pub const PROCESS_NODES: [ProcessNode; 3] = [
    ProcessNode {
        name: "tsmc65",
        feature_nm: 65,
        vdd_mv: 1200,
        delay_scale: 1.0,
        energy_scale: 1.0,
        leakage_uw_per_tile: 12.0,
    },
    ProcessNode {
        name: "tsmc28",
        feature_nm: 28,
        vdd_mv: 900,
        delay_scale: 0.50,
        energy_scale: (28.0 / 65.0) * (0.9 / 1.2) * (0.9 / 1.2),
        leakage_uw_per_tile: 20.0,
    },
    ProcessNode {
        name: "tsmc22",
        feature_nm: 22,
        vdd_mv: 800,
        delay_scale: 0.43,
        energy_scale: (22.0 / 65.0) * (0.8 / 1.2) * (0.8 / 1.2),
        leakage_uw_per_tile: 6.0,
    },
];

/// Look a process node up by name.
pub fn process_node(name: &str) -> Result<ProcessNode> {
    match PROCESS_NODES.iter().find(|p| p.name == name) {
        Some(p) => Ok(*p),
        None => bail!(
            "unknown process node {name:?} (known: {})",
            PROCESS_NODES.map(|p| p.name).join(", ")
        ),
    }
}

/// Nominal delays at 65 nm, 1.2 V, 25 degC (ps). Both levels use these; the system level
/// uses them as they are, with the data-dependent parts at their nominal (average) values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Delays {
    /// Injector: one input spike per this interval (the input pacing of the application).
    pub injector: u64,
    /// Network interface, either direction (packetise / depacketise one address event).
    pub ni: u64,
    /// Router input unit: FIFO write + read, route computation.
    pub iu: u64,
    /// Switch allocator: arbitration plus crossbar traversal.
    pub sa: u64,
    /// Router output unit.
    pub ou: u64,
    /// Wire delay of a link between neighbouring routers (1 mm tile pitch, repeated wire).
    pub link: u64,
    /// AER decoder: address -> fan-out row pointer.
    pub aer: u64,
    /// WeightSRAM: row activation.
    pub sram_base: u64,
    /// WeightSRAM: per synaptic word read in the row.
    pub sram_per_word: u64,
    /// LUT: neuron-update pipeline start.
    pub lut_base: u64,
    /// LUT: per neuron updated.
    pub lut_per_neuron: u64,
    /// LUT: extra time of the reset path when an updated neuron fires.
    pub lut_fire: u64,
    /// Time from the last update of a firing group to its spikes reaching the NI.
    pub fire_to_ni: u64,
    /// Row size (words) the system level assumes for every SRAM read and LUT update.
    pub nominal_row: u64,
}

/// The nominal delays.
pub const DELAYS: Delays = Delays {
    injector: 600,
    ni: 450,
    iu: 300,
    sa: 380,
    ou: 250,
    link: 150,
    aer: 350,
    sram_base: 500,
    sram_per_word: 60,
    lut_base: 350,
    lut_per_neuron: 70,
    lut_fire: 500,
    fire_to_ni: 300,
    nominal_row: 3,
};

/// The reference-level effects the system level leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Effects {
    /// Router input FIFO depth (flits); a full FIFO stalls the upstream output unit.
    pub iu_depth: u32,
    /// NI-toRouter queue depth; a full queue stalls the injector.
    pub ni_depth: u32,
    /// Return-to-zero phase of a 4-phase handshake, as a fraction of the forward delay: a
    /// component accepts its next token only this much after the previous one left (so its
    /// cycle time exceeds its latency; the system level only counts latency).
    pub reset_phase: f64,
    /// Off-chip handshake round trip of the injector interface per input spike (pads and
    /// board, not scaled by the process node), ps.
    pub injector_handshake: u64,
    /// Handshake overhead per hop (4-phase request/acknowledge + completion detection), ps.
    pub handshake: u64,
    /// SRAM banks; consecutive reads of the same bank pay `bank_conflict`.
    pub sram_banks: u32,
    /// Extra time of a bank conflict (precharge), ps.
    pub bank_conflict: u64,
    /// Probability that an arbitration with at least two requesters goes metastable.
    pub metastability_p: f64,
    /// Mean of the exponential metastability resolution time, ps (long tail).
    pub metastability_tau: f64,
    /// Per-die delay variation (sigma of a log-normal factor).
    pub die_sigma: f64,
    /// Per-component delay variation (sigma of a log-normal factor).
    pub component_sigma: f64,
    /// Delay increase per degC above 25 degC (relative).
    pub delay_per_degc: f64,
    /// Leakage doubles every this many degC.
    pub leakage_doubling_degc: f64,
    /// Operating temperature range of the samples (degC, uniform).
    pub temperature_range: (f64, f64),
}

/// The reference effects.
pub const EFFECTS: Effects = Effects {
    iu_depth: 4,
    ni_depth: 2,
    reset_phase: 0.3,
    injector_handshake: 120,
    handshake: 60,
    sram_banks: 4,
    bank_conflict: 250,
    metastability_p: 2e-3,
    metastability_tau: 800.0,
    die_sigma: 0.02,
    component_sigma: 0.05,
    delay_per_degc: 0.002,
    leakage_doubling_degc: 22.0,
    temperature_range: (25.0, 85.0),
};

/// Dynamic energy per operation at 65 nm, 1.2 V (pJ).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Energies {
    /// Injector (off-chip pad driver share), per spike.
    pub injector: f64,
    /// NI, per event.
    pub ni: f64,
    /// IU, per flit (FIFO write + read).
    pub iu: f64,
    /// SA, per grant.
    pub sa: f64,
    /// OU, per flit.
    pub ou: f64,
    /// Link, per toggled wire of the 16-bit address flit.
    pub link_per_toggle: f64,
    /// Link, fixed per flit (handshake wires).
    pub link: f64,
    /// AER, per event.
    pub aer: f64,
    /// SRAM, per row activation.
    pub sram_row: f64,
    /// SRAM, per word read.
    pub sram_word: f64,
    /// LUT, per neuron updated.
    pub lut_neuron: f64,
    /// LUT, per firing neuron (reset + spike generation).
    pub lut_fire: f64,
}

/// The energies.
pub const ENERGIES: Energies = Energies {
    injector: 1.2,
    ni: 0.45,
    iu: 0.35,
    sa: 0.25,
    ou: 0.2,
    link_per_toggle: 0.04,
    link: 0.15,
    aer: 0.3,
    sram_row: 0.9,
    sram_word: 0.6,
    lut_neuron: 0.35,
    lut_fire: 0.8,
};

/// Leaky integrate-and-fire neuron parameters (shared by every workload).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Neuron {
    /// Membrane decay per algorithmic time step.
    pub leak: f32,
    /// Firing threshold.
    pub threshold: f32,
}

/// The neuron model.
pub const NEURON: Neuron = Neuron {
    leak: 0.85,
    threshold: 1.0,
};

/// Everything above, for `meta.json`.
pub fn all_parameters_json() -> serde_json::Value {
    serde_json::json!({
        "process_nodes": PROCESS_NODES,
        "delays_ps_at_65nm": DELAYS,
        "reference_effects": EFFECTS,
        "energies_pj_at_65nm": ENERGIES,
        "neuron": NEURON,
    })
}
