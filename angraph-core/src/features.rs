//! Node and edge features of the asynchronous neuromorphic graph, in integer arithmetic only.
//!
//! Every feature is a Q16.16 `i32` ([`FEATURE_FRAC_BITS`]) computed from integer statistics
//! (counts and picosecond timestamps) with integer operations and round-half-up division, so the
//! host and the chip produce bit-identical features. The host's `f32` features are exactly
//! `fixed as f32 / 65536` ([`to_f32`]). Values saturate at `i32::MAX` (32767.99...) but the
//! units below keep realistic magnitudes far inside the range.
//!
//! Feature set version [`FEATURE_SET_VERSION`] (recorded in every dataset's `meta.json`):
//!
//! | node feature | meaning | unit |
//! |---|---|---|
//! | 0 `log2_visits` | `log2(1 + visits)`, piecewise linear between powers of two | - |
//! | 1 `visits_k` | hops through the component | 1024 hops |
//! | 2..=10 `kind_*` | one-hot kind: iu, ou, sa, ni_to_router, ni_to_pe, lut, weight_sram, aer, injector | - |
//! | 11..=15 `port_*` | one-hot router port of an IU/OU: local, north, east, south, west | - |
//! | 16 `x_norm`, 17 `y_norm` | tile position `x / (W-1)`, `y / (H-1)` (0 for a side of 1 and for the injector) | - |
//! | 18 `mesh_w`, 19 `mesh_h` | mesh size | 8 tiles |
//! | 20 `dwell_mean_ns`, 21 `dwell_max_ns` | system-level time a hop spends in the component | ns |
//! | 22 `first_enter_us`, 23 `last_leave_us` | first arrival, last departure, from the stream's start | us |
//! | 24 `busy_span_us` | `last_leave - first_enter` | us |
//! | 25 `utilization` | `sum(dwell) / busy_span`: above 1 means overlapping demand (contention at the reference level) | - |
//! | 26 `rate_per_us` | `visits / busy_span` | 1/us |
//! | 27 `in_degree`, 28 `out_degree` | distinct predecessor / successor components | - |
//! | 29 `hop_share` | `visits / all hops of the stream` | - |
//! | 30 `graph_span_us` | the whole stream's span (the system-level latency estimate) | us |
//! | 31 `graph_events_k` | events in the stream | 1024 events |
//! | 32 `node_nm` | process node feature size | 100 nm |
//! | 33 `vdd_v` | supply voltage | V |
//! | 34 `temperature` | junction temperature | 100 degC |
//! | 35 `words_per_visit` | synaptic words a `WeightSRAM` or `LUT` handles per hop (the fan-out row on that tile; 0 on other kinds) | words |
//! | 36 `fires_per_visit` | neurons of that row that fire, per hop through a `WeightSRAM` or `LUT` | neurons |
//!
//! | edge feature | meaning | unit |
//! |---|---|---|
//! | 0 `log2_activities` | `log2(1 + activities)` as above | - |
//! | 1 `activities_k` | traversals of the pair | 1024 |
//! | 2 `link` | 1 when the edge is a link between two routers (OU of one tile -> IU of another) | - |
//! | 3 `first_us`, 4 `last_us` | first and last traversal (entry into the target) | us |
//! | 5 `rate_per_us` | `activities / (last - first)` (0 when the span is 0) | 1/us |
//! | 6 `gap_mean_ns` | mean of `enter(target) - leave(source)` (wire and handshake time) | ns |
//!
//! Feature set 2 appends the load features 35 and 36 ([`LOAD_FEATURES`]) to the 35 features of
//! set 1, whose columns keep their meaning: a model trained on set 1 reads the first
//! [`V1_NODE_FEATURES`] columns of a set-2 graph and gives the same result as before. The load
//! comes from the stream's per-event `words` / `fires` ([`EventLoad`]): the length of the
//! fan-out row the destination's WeightSRAM reads and how many of its neurons fire. The mapping
//! (compiler output) fixes the row, and a system-level simulator that delivers spikes to
//! neurons knows both; the system level's own timing assumes a nominal row for every read,
//! so without them a model cannot tell a 12-word row (4 tiles) from a 3-word row (16 tiles).
//!
//! Timing features ([`TIMING_FEATURES`]), the process features ([`PROCESS_FEATURES`]) and the
//! load features are 0 for untimed streams (TrueAsync DFG JSON): [`DFG_ABSENT_FEATURES`]. Node feature 0 is the
//! activity on a log scale, so the original preprocessing `x[:, 1:] *= 2 * x[:, 0:1]` weights
//! every other feature by how busy the component is.

use crate::component::{ComponentKind, Mesh};
use crate::error::{Error, Result};
pub use crate::fixed::FEATURE_FRAC_BITS;

/// Version of the feature table above; bump on any change of meaning, order or unit.
pub const FEATURE_SET_VERSION: u32 = 2;
/// Node features per node.
pub const NODE_FEATURES: usize = 37;
/// Node features of feature set 1 (0..=34): the prefix a set-1 model reads.
pub const V1_NODE_FEATURES: usize = 35;
/// Edge features per edge.
pub const EDGE_FEATURES: usize = 7;
/// Index of node feature `graph_span_us`: the stream's span, i.e. the system-level latency
/// estimate (us, the same value on every node). `Log2Ratio` models anchor their output on it.
pub const SPAN_FEATURE: usize = 30;

/// Node features that depend on timestamps: dwell (20, 21), first enter / last leave (22, 23),
/// busy span (24), utilization (25), rate (26) and the stream's span (30, [`SPAN_FEATURE`]).
/// A TrueAsync DFG JSON stream has no timestamps, so its transform gives 0 for all of them.
pub const TIMING_FEATURES: [usize; 8] = [20, 21, 22, 23, 24, 25, 26, SPAN_FEATURE];
/// Node features of the process node (32 `node_nm`, 33 `vdd_v`, 34 `temperature`): a DFG JSON
/// stream has no header, so its transform gives 0 for them too.
pub const PROCESS_FEATURES: [usize; 3] = [32, 33, 34];
/// Node features of the event load (35 `words_per_visit`, 36 `fires_per_visit`): a DFG JSON
/// stream carries no load, so its transform gives 0 for them.
pub const LOAD_FEATURES: [usize; 2] = [35, 36];
/// Every node feature a DFG JSON stream cannot give: [`TIMING_FEATURES`],
/// [`PROCESS_FEATURES`] and [`LOAD_FEATURES`], ascending. The transform of a stream's DFG form
/// equals the transform of its timed form with exactly these columns set to 0 (tested on the
/// streams of `data/streams`). `Preprocess::Untimed` models zero them before everything else.
pub const DFG_ABSENT_FEATURES: [usize; 13] = [20, 21, 22, 23, 24, 25, 26, 30, 32, 33, 34, 35, 36];

/// Is node feature `k` one of [`DFG_ABSENT_FEATURES`]?
pub const fn dfg_absent(k: usize) -> bool {
    let mut i = 0;
    while i < DFG_ABSENT_FEATURES.len() {
        if DFG_ABSENT_FEATURES[i] == k {
            return true;
        }
        i += 1;
    }
    false
}

/// Names of the node features, in order (as in `meta.json`).
pub const NODE_FEATURE_NAMES: [&str; NODE_FEATURES] = [
    "log2_visits",
    "visits_k",
    "kind_iu",
    "kind_ou",
    "kind_sa",
    "kind_ni_to_router",
    "kind_ni_to_pe",
    "kind_lut",
    "kind_weight_sram",
    "kind_aer",
    "kind_injector",
    "port_local",
    "port_north",
    "port_east",
    "port_south",
    "port_west",
    "x_norm",
    "y_norm",
    "mesh_w",
    "mesh_h",
    "dwell_mean_ns",
    "dwell_max_ns",
    "first_enter_us",
    "last_leave_us",
    "busy_span_us",
    "utilization",
    "rate_per_us",
    "in_degree",
    "out_degree",
    "hop_share",
    "graph_span_us",
    "graph_events_k",
    "node_nm",
    "vdd_v",
    "temperature",
    "words_per_visit",
    "fires_per_visit",
];

/// Units of the node features, aligned with [`NODE_FEATURE_NAMES`].
pub const NODE_FEATURE_UNITS: [&str; NODE_FEATURES] = [
    "log2",
    "1024 hops",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "8 tiles",
    "8 tiles",
    "ns",
    "ns",
    "us",
    "us",
    "us",
    "",
    "1/us",
    "",
    "",
    "",
    "us",
    "1024 events",
    "100 nm",
    "V",
    "100 degC",
    "words",
    "neurons",
];

/// Names of the edge features, in order.
pub const EDGE_FEATURE_NAMES: [&str; EDGE_FEATURES] = [
    "log2_activities",
    "activities_k",
    "link",
    "first_us",
    "last_us",
    "rate_per_us",
    "gap_mean_ns",
];

/// Units of the edge features.
pub const EDGE_FEATURE_UNITS: [&str; EDGE_FEATURES] =
    ["log2", "1024", "", "us", "us", "1/us", "ns"];

const ONE: i64 = 1 << FEATURE_FRAC_BITS;
const PS_PER_NS: u64 = 1_000;
const PS_PER_US: u64 = 1_000_000;

/// Process-node descriptors of the hardware a stream comes from (from the timed stream's header,
/// or given by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProcessDescriptor {
    /// Feature size in nm (e.g. 65, 28, 22); 0 when unknown.
    pub feature_nm: u16,
    /// Supply voltage in mV; 0 when unknown.
    pub vdd_mv: u16,
    /// Junction temperature in degC.
    pub temperature_c: i16,
}

/// Latest timestamp (ps) a hop may carry: 1 s after the stream's origin. One inference on these
/// meshes spans microseconds; the bound keeps every span, dwell and rate the transform computes
/// physical and far from overflow. The host's stream readers apply the same bound.
pub const MAX_TIME_PS: u64 = 1_000_000_000_000;
/// Feature sizes a process may declare (nm); 0 means unknown.
pub const FEATURE_NM_RANGE: core::ops::RangeInclusive<u16> = 1..=1000;
/// Supply voltages a process may declare (mV); 0 means unknown.
pub const VDD_MV_RANGE: core::ops::RangeInclusive<u16> = 100..=5000;
/// Junction temperatures a process may declare (degC: the extended industrial / automotive
/// range).
pub const TEMPERATURE_C_RANGE: core::ops::RangeInclusive<i16> = -55..=175;

impl ProcessDescriptor {
    /// `Ok` when every field is physical ([`FEATURE_NM_RANGE`], [`VDD_MV_RANGE`],
    /// [`TEMPERATURE_C_RANGE`]) or, for the feature size and the supply, 0 (unknown, as for a
    /// DFG JSON stream); otherwise [`Error::Process`] naming the field.
    pub const fn validate(&self) -> Result<()> {
        let nm = self.feature_nm;
        if nm != 0 && (nm < *FEATURE_NM_RANGE.start() || nm > *FEATURE_NM_RANGE.end()) {
            return Err(Error::Process("feature_nm"));
        }
        let mv = self.vdd_mv;
        if mv != 0 && (mv < *VDD_MV_RANGE.start() || mv > *VDD_MV_RANGE.end()) {
            return Err(Error::Process("vdd_mv"));
        }
        let t = self.temperature_c;
        if t < *TEMPERATURE_C_RANGE.start() || t > *TEMPERATURE_C_RANGE.end() {
            return Err(Error::Process("temperature_c"));
        }
        Ok(())
    }
}

/// The load one event puts on its destination's `WeightSRAM` and `LUT` (from the timed stream's
/// per-event `words` and `fires`; both 0 when the stream does not carry them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventLoad {
    /// Synaptic words the WeightSRAM reads: the fan-out row of the spiking neuron on the
    /// destination tile (the neurons the LUT then updates).
    pub words: u16,
    /// Neurons of that row that fire at this step (the LUT's reset path).
    pub fires: u16,
}

/// What the transform accumulates per component (bounded, no stream kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeStats {
    /// Dense component id.
    pub id: u32,
    /// Hops through the component.
    pub visits: u32,
    /// Sum of `leave - enter` over the hops (ps).
    pub dwell_sum: u64,
    /// Largest `leave - enter` (ps).
    pub dwell_max: u64,
    /// Earliest enter (ps).
    pub first_enter: u64,
    /// Latest leave (ps).
    pub last_leave: u64,
    /// Distinct predecessors.
    pub in_degree: u32,
    /// Distinct successors.
    pub out_degree: u32,
    /// Sum of [`EventLoad::words`] over the hops (WeightSRAM and LUT only; saturating).
    pub words: u32,
    /// Sum of [`EventLoad::fires`] over the hops (WeightSRAM and LUT only; saturating).
    pub fires: u32,
}

impl NodeStats {
    /// Fresh statistics of component `id`.
    pub const fn new(id: u32) -> Self {
        NodeStats {
            id,
            visits: 0,
            dwell_sum: 0,
            dwell_max: 0,
            first_enter: u64::MAX,
            last_leave: 0,
            in_degree: 0,
            out_degree: 0,
            words: 0,
            fires: 0,
        }
    }
}

/// What the transform accumulates per directed pair of consecutive components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeStats {
    /// `src_id << 32 | dst_id`: the sort key.
    pub key: u64,
    /// Builder slot of the source node.
    pub src: u32,
    /// Builder slot of the target node.
    pub dst: u32,
    /// Traversals (the paper's `activities`).
    pub activities: u32,
    /// Earliest entry into the target (ps).
    pub first: u64,
    /// Latest entry into the target (ps).
    pub last: u64,
    /// Sum of `enter(target) - leave(source)` (ps, signed).
    pub gap_sum: i64,
}

impl EdgeStats {
    /// Fresh statistics.
    pub const fn new(key: u64, src: u32, dst: u32) -> Self {
        EdgeStats {
            key,
            src,
            dst,
            activities: 0,
            first: u64::MAX,
            last: 0,
            gap_sum: 0,
        }
    }
}

/// Whole-stream statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamSummary {
    /// Completed events.
    pub events: u32,
    /// Hops over all events.
    pub hops: u64,
    /// Earliest enter over all hops (ps; 0 for an empty stream).
    pub start: u64,
    /// Latest leave over all hops (ps).
    pub end: u64,
    /// Sum of [`EventLoad::words`] over the events.
    pub words: u64,
    /// Sum of [`EventLoad::fires`] over the events.
    pub fires: u64,
}

impl StreamSummary {
    /// `end - start`: the system-level latency estimate of a timed stream (ps).
    pub const fn span(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
}

/// `round(num / den)` in Q16.16, saturated to `0..=i32::MAX`; 0 when `den == 0`.
pub fn ratio_q16(num: u64, den: u64) -> i32 {
    if den == 0 {
        return 0;
    }
    let n = (num as u128) << FEATURE_FRAC_BITS;
    let q = (n + den as u128 / 2) / den as u128;
    q.min(i32::MAX as u128) as i32
}

/// Signed `round(num / den)` in Q16.16 (half away from zero), saturated; 0 when `den == 0`.
pub fn ratio_q16_signed(num: i64, den: u64) -> i32 {
    let mag = ratio_q16(num.unsigned_abs(), den);
    if num < 0 {
        -mag
    } else {
        mag
    }
}

/// `log2(1 + v)` in Q16.16, linear between powers of two (exact at `v + 1 = 2^k`).
pub fn log2_1p_q16(v: u32) -> i32 {
    let x = v as u64 + 1;
    let msb = 63 - x.leading_zeros();
    // Bits below the leading one, as a 16-bit fraction.
    let frac = if msb >= FEATURE_FRAC_BITS {
        (x >> (msb - FEATURE_FRAC_BITS)) & (ONE as u64 - 1)
    } else {
        (x << (FEATURE_FRAC_BITS - msb)) & (ONE as u64 - 1)
    };
    ((msb as i64) * ONE + frac as i64) as i32
}

/// The host's float value of a Q16.16 feature (exact).
pub fn to_f32(q: i32) -> f32 {
    q as f32 / ONE as f32
}

/// The node features of one component, written to `out[..NODE_FEATURES]` (`out` must be at
/// least that long; the caller checks buffer sizes).
pub fn node_features(
    mesh: &Mesh,
    kind: ComponentKind,
    tile: u32,
    s: &NodeStats,
    summary: &StreamSummary,
    process: &ProcessDescriptor,
    out: &mut [i32],
) {
    let out = &mut out[..NODE_FEATURES];
    out.iter_mut().for_each(|v| *v = 0);
    let one = ONE as i32;
    out[0] = log2_1p_q16(s.visits);
    out[1] = ratio_q16(s.visits as u64, 1024);
    out[2 + kind.class()] = one;
    if let Some(p) = kind.port() {
        out[11 + p.index() as usize] = one;
    }
    if !matches!(kind, ComponentKind::Injector) {
        let (x, y) = mesh.coords(tile);
        out[16] = ratio_q16(x as u64, (mesh.width as u64).saturating_sub(1));
        out[17] = ratio_q16(y as u64, (mesh.height as u64).saturating_sub(1));
    }
    out[18] = ratio_q16(mesh.width as u64, 8);
    out[19] = ratio_q16(mesh.height as u64, 8);
    if s.visits > 0 {
        out[20] = ratio_q16(s.dwell_sum, s.visits as u64 * PS_PER_NS);
        out[21] = ratio_q16(s.dwell_max, PS_PER_NS);
        let first = s.first_enter.saturating_sub(summary.start);
        let last = s.last_leave.saturating_sub(summary.start);
        let span = s.last_leave.saturating_sub(s.first_enter);
        out[22] = ratio_q16(first, PS_PER_US);
        out[23] = ratio_q16(last, PS_PER_US);
        out[24] = ratio_q16(span, PS_PER_US);
        out[25] = ratio_q16(s.dwell_sum, span);
        out[26] = ratio_q16(s.visits as u64 * PS_PER_US, span);
    }
    out[27] = ratio_q16(s.in_degree as u64, 1);
    out[28] = ratio_q16(s.out_degree as u64, 1);
    out[29] = ratio_q16(s.visits as u64, summary.hops);
    out[SPAN_FEATURE] = ratio_q16(summary.span(), PS_PER_US);
    out[31] = ratio_q16(summary.events as u64, 1024);
    out[32] = ratio_q16(process.feature_nm as u64, 100);
    out[33] = ratio_q16(process.vdd_mv as u64, 1000);
    out[34] = ratio_q16_signed(process.temperature_c as i64, 100);
    if s.visits > 0 {
        out[35] = ratio_q16(s.words as u64, s.visits as u64);
        out[36] = ratio_q16(s.fires as u64, s.visits as u64);
    }
}

/// The edge features of one edge, written to `out[..EDGE_FEATURES]`. `link` is true for a
/// router-to-router link between two tiles.
pub fn edge_features(e: &EdgeStats, link: bool, summary: &StreamSummary, out: &mut [i32]) {
    let out = &mut out[..EDGE_FEATURES];
    out.iter_mut().for_each(|v| *v = 0);
    out[0] = log2_1p_q16(e.activities);
    out[1] = ratio_q16(e.activities as u64, 1024);
    out[2] = if link { ONE as i32 } else { 0 };
    if e.activities > 0 {
        let first = e.first.saturating_sub(summary.start);
        let last = e.last.saturating_sub(summary.start);
        out[3] = ratio_q16(first, PS_PER_US);
        out[4] = ratio_q16(last, PS_PER_US);
        out[5] = ratio_q16(
            e.activities as u64 * PS_PER_US,
            e.last.saturating_sub(e.first),
        );
        out[6] = ratio_q16_signed(e.gap_sum, e.activities as u64 * PS_PER_NS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dfg_absent_features_are_timing_and_process_ones() {
        let mut union = [0usize; 13];
        union[..8].copy_from_slice(&TIMING_FEATURES);
        union[8..11].copy_from_slice(&PROCESS_FEATURES);
        union[11..].copy_from_slice(&LOAD_FEATURES);
        union.sort_unstable();
        assert_eq!(union, DFG_ABSENT_FEATURES);
        for k in 0..NODE_FEATURES + 3 {
            assert_eq!(dfg_absent(k), DFG_ABSENT_FEATURES.contains(&k), "{k}");
        }
        let names = TIMING_FEATURES.map(|k| NODE_FEATURE_NAMES[k]);
        assert_eq!(
            names,
            [
                "dwell_mean_ns",
                "dwell_max_ns",
                "first_enter_us",
                "last_leave_us",
                "busy_span_us",
                "utilization",
                "rate_per_us",
                "graph_span_us"
            ]
        );
        assert_eq!(
            PROCESS_FEATURES.map(|k| NODE_FEATURE_NAMES[k]),
            ["node_nm", "vdd_v", "temperature"]
        );
        // Counts and structure stay: visits, degrees, hop share, events.
        for k in [0, 1, 27, 28, 29, 31] {
            assert!(!dfg_absent(k), "{k}");
        }
    }

    #[test]
    fn log2_is_exact_at_powers_and_monotone() {
        assert_eq!(log2_1p_q16(0), 0);
        assert_eq!(log2_1p_q16(1), 1 << 16);
        assert_eq!(log2_1p_q16(3), 2 << 16);
        assert_eq!(log2_1p_q16(2), (1 << 16) + (1 << 15));
        assert_eq!(log2_1p_q16(u32::MAX), 32 << 16);
        let mut prev = -1;
        for v in (0..200_000u32).chain([1 << 20, 1 << 30, u32::MAX - 1]) {
            let l = log2_1p_q16(v);
            assert!(l >= prev, "{v}");
            prev = l;
        }
    }

    #[test]
    fn ratios_round_and_saturate() {
        assert_eq!(ratio_q16(1, 2), 1 << 15);
        assert_eq!(ratio_q16(1, 3), 21845);
        assert_eq!(ratio_q16(2, 3), 43691);
        assert_eq!(ratio_q16(5, 0), 0);
        assert_eq!(ratio_q16(u64::MAX, 1), i32::MAX);
        assert_eq!(ratio_q16_signed(-1, 2), -(1 << 15));
        assert_eq!(to_f32(ratio_q16(3, 4)), 0.75);
    }

    #[test]
    fn tables_agree() {
        assert_eq!(NODE_FEATURE_NAMES.len(), NODE_FEATURE_UNITS.len());
        assert_eq!(NODE_FEATURE_NAMES[11], "port_local");
        assert_eq!(NODE_FEATURE_NAMES[32], "node_nm");
    }
}
