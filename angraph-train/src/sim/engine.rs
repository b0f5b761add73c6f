//! The event-driven engine: the same logical events, timed at either fidelity level.
//!
//! A [`Plan`] holds one inference's events (one per spike and destination tile, with its path
//! of component ids) and their causal dependencies: the spikes a tile's neurons emit at step `t`
//! leave once every event delivering step-`t` input to that tile's layer has been processed
//! (the neuron group is complete). [`run`] plays the plan through a priority queue of timed
//! actions (arrival at a component, end of service), ordered by time and then by insertion, so
//! a run is deterministic.
//!
//! - [`Level::System`] (what TrueAsync reports): nominal delays, every component serves any
//!   number of events at once, unlimited buffers, no variation. Only the injector is serial
//!   (it paces the input). Its timestamps are the event stream.
//! - [`Level::Reference`] (the labels): single-server components with FIFO queues, round-robin
//!   arbitration at each `SA` over its input ports with rare metastability, a return-to-zero
//!   (reset) phase after each token before the next is accepted, finite `IU` and
//!   `NI-toRouter` queues whose backpressure stalls the upstream component, handshake overhead
//!   per hop, data-dependent SRAM (row size, bank conflicts) and LUT (row size, reset path)
//!   delays, temperature and per-die / per-component variation, and energy accounting.

use super::machine::{event_path, Placement};
use super::params::{ProcessNode, DELAYS, EFFECTS, ENERGIES};
use super::rng::Rng;
use super::workload::{Activity, Network};
use angraph_core::component::{ComponentKind, Mesh, COMPONENTS_PER_TILE};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Logical facts of one event that the reference level's delays and energies depend on.
#[derive(Debug, Clone, Copy)]
pub struct EventInfo {
    /// Destination neuron group (tile, layer, step).
    pub group: u32,
    /// Fan-out row size: postsynaptic neurons of the spiking neuron on the destination tile.
    pub row: u16,
    /// How many of those fire at this step (reset path).
    pub fires: u16,
    /// The 16-bit address flit (source neuron address), for link switching energy.
    pub flit: u16,
}

/// One inference's events and dependencies.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The mesh.
    pub mesh: Mesh,
    /// Path of event `e`: `path[path_off[e]..path_off[e + 1]]`.
    pub path_off: Vec<u32>,
    /// Component ids of all paths.
    pub path: Vec<u32>,
    /// Per event facts.
    pub info: Vec<EventInfo>,
    /// Input events in injection order.
    pub inputs: Vec<u32>,
    /// Events delivering into each group.
    pub group_in: Vec<u32>,
    /// Events a group emits when complete: `emit[emit_off[g]..emit_off[g + 1]]`.
    pub emit_off: Vec<u32>,
    /// Emitted event ids.
    pub emit: Vec<u32>,
}

impl Plan {
    /// Events of an inference of `net` with spikes `act` placed by `place` on `mesh`.
    pub fn new(mesh: Mesh, net: &Network, act: &Activity, place: &Placement) -> Plan {
        let tiles = mesh.tiles() as usize;
        let steps = net.steps;
        let layers = net.sizes.len();
        let group = |tile: u32, layer: usize, t: usize| ((layer * steps + t) * tiles) as u32 + tile;
        let n_groups = layers * steps * tiles;
        let mut plan = Plan {
            mesh,
            path_off: vec![0],
            path: Vec::new(),
            info: Vec::new(),
            inputs: Vec::new(),
            group_in: vec![0; n_groups],
            emit_off: Vec::new(),
            emit: Vec::new(),
        };
        let mut emits: Vec<(u32, u32)> = Vec::new();
        let mut fired = Vec::new();
        let mut rows: Vec<(u32, Vec<u32>)> = Vec::new();
        for l in 0..layers - 1 {
            for t in 0..steps {
                fired.clear();
                fired.resize(net.sizes[l + 1], false);
                for &n in &act.spikes[l + 1][t] {
                    fired[n as usize] = true;
                }
                for &n in &act.spikes[l][t] {
                    // Fan-out rows of n, per destination tile (ascending).
                    rows.clear();
                    for &(post, _) in &net.fanout[l][n as usize] {
                        let d = place.tile_of[l + 1][post as usize];
                        match rows.binary_search_by_key(&d, |r| r.0) {
                            Ok(i) => rows[i].1.push(post),
                            Err(i) => rows.insert(i, (d, vec![post])),
                        }
                    }
                    let src = if l == 0 {
                        None
                    } else {
                        Some(place.tile_of[l][n as usize])
                    };
                    for (d, posts) in &rows {
                        let e = plan.info.len() as u32;
                        event_path(&mesh, src, *d, &mut plan.path);
                        plan.path_off.push(plan.path.len() as u32);
                        let g = group(*d, l + 1, t);
                        plan.group_in[g as usize] += 1;
                        plan.info.push(EventInfo {
                            group: g,
                            row: posts.len().min(u16::MAX as usize) as u16,
                            fires: posts.iter().filter(|&&p| fired[p as usize]).count() as u16,
                            flit: (((l as u32) << 12) ^ n.wrapping_mul(0x9E37)) as u16,
                        });
                        match src {
                            None => plan.inputs.push(e),
                            Some(s) => emits.push((group(s, l, t), e)),
                        }
                    }
                }
            }
        }
        emits.sort_unstable();
        plan.emit_off = vec![0; n_groups + 1];
        for &(g, _) in &emits {
            plan.emit_off[g as usize + 1] += 1;
        }
        for g in 0..n_groups {
            plan.emit_off[g + 1] += plan.emit_off[g];
        }
        plan.emit = emits.into_iter().map(|(_, e)| e).collect();
        plan
    }

    /// What event `e` carries in the stream besides its path: the fan-out row its
    /// destination reads and how many of those neurons fire (the mapping and the functional
    /// simulation fix both; the system level's timing uses the nominal row instead).
    pub fn load(&self, e: usize) -> angraph_core::features::EventLoad {
        let i = self.info[e];
        angraph_core::features::EventLoad {
            words: i.row,
            fires: i.fires,
        }
    }

    /// Number of events.
    pub fn num_events(&self) -> usize {
        self.info.len()
    }

    /// Component ids of event `e`'s path.
    pub fn path_of(&self, e: usize) -> &[u32] {
        &self.path[self.path_off[e] as usize..self.path_off[e + 1] as usize]
    }
}

/// Fidelity level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Nominal, contention-free (the event stream and the estimate).
    System,
    /// With every reference effect (the labels).
    Reference,
}

/// Operating point and random variation of one sample (reference level only).
#[derive(Debug, Clone)]
pub struct Conditions {
    /// Process node.
    pub node: ProcessNode,
    /// Junction temperature (degC).
    pub temperature_c: f64,
    /// Per-die delay factor.
    pub die: f64,
    /// Per-component delay factors (indexed by component id).
    pub component: Vec<f64>,
    /// Seed of the metastability draws.
    pub seed: u64,
}

impl Conditions {
    /// Draw temperature and variation for `mesh` from `rng`.
    pub fn draw(node: ProcessNode, mesh: &Mesh, rng: &mut Rng) -> Conditions {
        let (lo, hi) = EFFECTS.temperature_range;
        let temperature_c = rng.uniform(lo, hi).round();
        let die = rng.lognormal(EFFECTS.die_sigma);
        let component = (0..mesh.num_components())
            .map(|_| rng.lognormal(EFFECTS.component_sigma))
            .collect();
        Conditions {
            node,
            temperature_c,
            die,
            component,
            seed: rng.next_u64(),
        }
    }
}

/// Per-hop timestamps of a run (ps), aligned with [`Plan::path`].
#[derive(Debug, Clone)]
pub struct Timing {
    /// When each hop entered its component (for the injector: when it started serving).
    pub enter: Vec<u64>,
    /// When each hop left its component.
    pub leave: Vec<u64>,
}

/// Energy of a run (pJ) by where it is spent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Energy {
    /// Dynamic energy (pJ).
    pub dynamic_pj: f64,
    /// Leakage power of the whole mesh (uW).
    pub leakage_uw: f64,
}

/// Result of a run.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Completion of the last event (ps).
    pub latency_ps: u64,
    /// Per-hop timestamps.
    pub timing: Timing,
    /// Energy (reference level only; zero at the system level).
    pub energy: Energy,
}

const ARRIVE: u8 = 0;
const DONE: u8 = 1;
const FREE: u8 = 2;

#[derive(Default, Clone)]
struct CompState {
    busy: bool,
    queue: VecDeque<u32>,
    occupancy: u32,
    blocked: Option<u32>,
    waiters: VecDeque<u32>,
    last_bank: u32,
    last_flit: u16,
}

struct Engine<'p> {
    plan: &'p Plan,
    level: Level,
    cond: &'p Conditions,
    heap: BinaryHeap<Reverse<(u64, u64, u8, u32)>>,
    seq: u64,
    comps: Vec<CompState>,
    /// Per SA (by tile), per input port: waiting hop indices.
    sa_queues: Vec<[VecDeque<u32>; 5]>,
    sa_next: Vec<u8>,
    hop_event: Vec<u32>,
    group_left: Vec<u32>,
    timing: Timing,
    rng: Rng,
    dynamic_pj: f64,
    latency: u64,
    delay_factor: f64,
    /// Service time of the last token each component served (its reset phase scales with it).
    last_service: Vec<u64>,
    /// Events that reached the end of their path.
    completed: usize,
}

fn kind_of(id: u32, mesh: &Mesh) -> ComponentKind {
    if id == mesh.injector_id() {
        ComponentKind::Injector
    } else {
        ComponentKind::from_slot(id % COMPONENTS_PER_TILE).unwrap_or(ComponentKind::Injector)
    }
}

impl<'p> Engine<'p> {
    fn push(&mut self, t: u64, what: u8, hop: u32) {
        self.seq += 1;
        self.heap.push(Reverse((t, self.seq, what, hop)));
    }

    fn contention(&self, comp: u32) -> bool {
        self.level == Level::Reference || comp == self.plan.mesh.injector_id()
    }

    fn capacity(&self, comp: u32) -> Option<u32> {
        if self.level == Level::System {
            return None;
        }
        match kind_of(comp, &self.plan.mesh) {
            ComponentKind::InputUnit(_) => Some(EFFECTS.iu_depth),
            ComponentKind::NiToRouter => Some(EFFECTS.ni_depth),
            _ => None,
        }
    }

    fn scaled(&self, ps: f64, comp: u32) -> u64 {
        let mut d = ps * self.cond.node.delay_scale;
        if self.level == Level::Reference {
            d *= self.delay_factor * self.cond.component[comp as usize];
        }
        d.round() as u64
    }

    /// Service time of hop `h` (and the dynamic energy it spends at the reference level).
    fn service(&mut self, h: u32, comp: u32, contenders: usize) -> u64 {
        let e = self.hop_event[h as usize] as usize;
        let info = self.plan.info[e];
        let reference = self.level == Level::Reference;
        let (row, fires) = if reference {
            (info.row as u64, info.fires as u64)
        } else {
            (DELAYS.nominal_row, 0)
        };
        let es = self.cond.node.energy_scale;
        let kind = kind_of(comp, &self.plan.mesh);
        let (mut ps, pj) = match kind {
            ComponentKind::Injector => (DELAYS.injector, ENERGIES.injector),
            ComponentKind::NiToRouter | ComponentKind::NiToPe => (DELAYS.ni, ENERGIES.ni),
            ComponentKind::InputUnit(_) => (DELAYS.iu, ENERGIES.iu),
            ComponentKind::SwitchAllocator => (DELAYS.sa, ENERGIES.sa),
            ComponentKind::OutputUnit(_) => (DELAYS.ou, ENERGIES.ou),
            ComponentKind::Aer => (DELAYS.aer, ENERGIES.aer),
            ComponentKind::WeightSram => (
                DELAYS.sram_base + DELAYS.sram_per_word * row,
                ENERGIES.sram_row + ENERGIES.sram_word * row as f64,
            ),
            ComponentKind::Lut => (
                DELAYS.lut_base + DELAYS.lut_per_neuron * row + DELAYS.lut_fire * fires,
                ENERGIES.lut_neuron * row as f64 + ENERGIES.lut_fire * fires as f64,
            ),
        };
        let mut extra = 0.0;
        if reference {
            let st = &mut self.comps[comp as usize];
            if let ComponentKind::WeightSram = kind {
                let bank = (info.flit as u32) % EFFECTS.sram_banks;
                if bank == st.last_bank {
                    ps += EFFECTS.bank_conflict;
                }
                st.last_bank = bank;
            }
            if let ComponentKind::OutputUnit(p) = kind {
                if p.index() != 0 {
                    let toggles = (st.last_flit ^ info.flit).count_ones() as f64;
                    st.last_flit = info.flit;
                    self.dynamic_pj += (ENERGIES.link + ENERGIES.link_per_toggle * toggles) * es;
                }
            }
            if contenders >= 2 && self.rng.chance(EFFECTS.metastability_p) {
                extra = -EFFECTS.metastability_tau * self.rng.unit().max(1e-12).ln();
            }
            self.dynamic_pj += pj * es;
        }
        if reference && kind == ComponentKind::Injector {
            extra += EFFECTS.injector_handshake as f64;
        }
        self.scaled(ps as f64, comp) + extra.round() as u64
    }

    fn arrive(&mut self, h: u32, t: u64) {
        let comp = self.plan.path[h as usize];
        self.timing.enter[h as usize] = t;
        if !self.contention(comp) {
            let d = self.service(h, comp, 0);
            self.push(t + d, DONE, h);
            return;
        }
        if let ComponentKind::SwitchAllocator = kind_of(comp, &self.plan.mesh) {
            let port = self.in_port(h);
            let tile = (comp / COMPONENTS_PER_TILE) as usize;
            self.sa_queues[tile][port].push_back(h);
        } else {
            self.comps[comp as usize].queue.push_back(h);
        }
        self.try_start(comp, t);
    }

    /// Input port of the IU hop before SA hop `h`.
    fn in_port(&self, h: u32) -> usize {
        let prev = self.plan.path[h as usize - 1];
        (prev % COMPONENTS_PER_TILE).min(4) as usize
    }

    fn try_start(&mut self, comp: u32, t: u64) {
        let st = &self.comps[comp as usize];
        if st.busy || st.blocked.is_some() {
            return;
        }
        let (h, contenders) = if let ComponentKind::SwitchAllocator = kind_of(comp, &self.plan.mesh)
        {
            let tile = (comp / COMPONENTS_PER_TILE) as usize;
            let qs = &mut self.sa_queues[tile];
            let contenders = qs.iter().filter(|q| !q.is_empty()).count();
            if contenders == 0 {
                return;
            }
            // Fair round robin: the first non-empty port after the last one served.
            let start = self.sa_next[tile] as usize;
            let mut pick = None;
            for k in 0..5 {
                let p = (start + k) % 5;
                if let Some(h) = qs[p].pop_front() {
                    pick = Some((h, p));
                    break;
                }
            }
            let Some((h, p)) = pick else { return };
            self.sa_next[tile] = ((p + 1) % 5) as u8;
            (h, contenders)
        } else {
            match self.comps[comp as usize].queue.pop_front() {
                Some(h) => (h, 0),
                None => return,
            }
        };
        if comp == self.plan.mesh.injector_id() {
            self.timing.enter[h as usize] = t;
        }
        self.comps[comp as usize].busy = true;
        let d = self.service(h, comp, contenders);
        self.last_service[comp as usize] = d;
        self.push(t + d, DONE, h);
    }

    fn done(&mut self, h: u32, t: u64) {
        let comp = self.plan.path[h as usize];
        let e = self.hop_event[h as usize] as usize;
        let last = h + 1 == self.plan.path_off[e + 1];
        if last {
            self.timing.leave[h as usize] = t;
            self.leave_comp(comp, t);
            self.complete(e, t);
            return;
        }
        let next = self.plan.path[h as usize + 1];
        if let Some(cap) = self.capacity(next) {
            if self.comps[next as usize].occupancy >= cap {
                self.comps[comp as usize].blocked = Some(h);
                self.comps[next as usize].waiters.push_back(comp);
                return;
            }
        }
        self.advance(h, comp, next, t);
    }

    /// Hop `h` leaves `comp` at `t` and heads for `next`.
    fn advance(&mut self, h: u32, comp: u32, next: u32, t: u64) {
        self.timing.leave[h as usize] = t;
        if self.capacity(next).is_some() {
            self.comps[next as usize].occupancy += 1;
        }
        let mut wire = 0.0;
        if let ComponentKind::OutputUnit(p) = kind_of(comp, &self.plan.mesh) {
            if p.index() != 0 {
                wire += DELAYS.link as f64;
            }
        }
        if self.level == Level::Reference {
            wire += EFFECTS.handshake as f64;
        }
        let w = if wire > 0.0 {
            self.scaled(wire, comp)
        } else {
            0
        };
        self.push(t + w, ARRIVE, h + 1);
        self.comps[comp as usize].blocked = None;
        self.leave_comp(comp, t);
    }

    /// A token left `comp` at `t`. At the reference level the component is free for the next
    /// token only after its return-to-zero (reset) phase.
    fn leave_comp(&mut self, comp: u32, t: u64) {
        if self.level == Level::Reference && comp != self.plan.mesh.injector_id() {
            if self.capacity(comp).is_some() {
                self.occupancy_down(comp, t);
            }
            let r = self.scaled(
                self.last_service[comp as usize] as f64 * EFFECTS.reset_phase,
                comp,
            );
            self.push(t + r, FREE, comp);
        } else {
            self.release(comp, t);
        }
    }

    fn occupancy_down(&mut self, comp: u32, t: u64) {
        let st = &mut self.comps[comp as usize];
        st.occupancy -= 1;
        if let Some(w) = st.waiters.pop_front() {
            if let Some(bh) = self.comps[w as usize].blocked {
                self.advance(bh, w, comp, t);
            }
        }
    }

    /// End of the reset phase of `comp`.
    fn free(&mut self, comp: u32, t: u64) {
        self.comps[comp as usize].busy = false;
        self.try_start(comp, t);
    }

    /// `comp` is free again at `t`: wake a blocked upstream component, start the next hop.
    fn release(&mut self, comp: u32, t: u64) {
        if self.contention(comp) {
            self.comps[comp as usize].busy = false;
        }
        if self.capacity(comp).is_some() {
            self.occupancy_down(comp, t);
        }
        self.try_start(comp, t);
    }

    fn complete(&mut self, e: usize, t: u64) {
        self.completed += 1;
        self.latency = self.latency.max(t);
        let g = self.plan.info[e].group as usize;
        self.group_left[g] -= 1;
        if self.group_left[g] == 0 {
            self.emit(g, t);
        }
    }

    fn emit(&mut self, g: usize, t: u64) {
        let fire = DELAYS.fire_to_ni as f64;
        let (a, b) = (self.plan.emit_off[g], self.plan.emit_off[g + 1]);
        for k in a..b {
            let e = self.plan.emit[k as usize] as usize;
            let h0 = self.plan.path_off[e];
            let comp = self.plan.path[h0 as usize];
            if self.capacity(comp).is_some() {
                self.comps[comp as usize].occupancy += 1;
            }
            let d = self.scaled(fire, comp);
            self.push(t + d, ARRIVE, h0);
        }
    }
}

/// Play `plan` at `level`. At the system level `cond` only supplies the process node.
pub fn run(plan: &Plan, level: Level, cond: &Conditions) -> RunResult {
    let hops = plan.path.len();
    let mut hop_event = vec![0u32; hops];
    for e in 0..plan.num_events() {
        for h in plan.path_off[e]..plan.path_off[e + 1] {
            hop_event[h as usize] = e as u32;
        }
    }
    let n_comp = plan.mesh.num_components() as usize;
    let delay_factor = cond.die * (1.0 + EFFECTS.delay_per_degc * (cond.temperature_c - 25.0));
    let mut eng = Engine {
        plan,
        level,
        cond,
        heap: BinaryHeap::with_capacity(1024),
        seq: 0,
        comps: vec![CompState::default(); n_comp],
        sa_queues: vec![Default::default(); plan.mesh.tiles() as usize],
        sa_next: vec![0; plan.mesh.tiles() as usize],
        hop_event,
        group_left: plan.group_in.clone(),
        timing: Timing {
            enter: vec![0; hops],
            leave: vec![0; hops],
        },
        rng: Rng::new(cond.seed),
        dynamic_pj: 0.0,
        latency: 0,
        delay_factor,
        last_service: vec![0; n_comp],
        completed: 0,
    };
    // Groups with emissions but no input (cannot happen for LIF without bias) start at once.
    for g in 0..plan.group_in.len() {
        if plan.group_in[g] == 0 && plan.emit_off[g] != plan.emit_off[g + 1] {
            eng.emit(g, 0);
        }
    }
    for &e in &plan.inputs {
        eng.arrive(plan.path_off[e as usize], 0);
    }
    while let Some(Reverse((t, _, what, h))) = eng.heap.pop() {
        match what {
            ARRIVE => eng.arrive(h, t),
            DONE => eng.done(h, t),
            _ => eng.free(h, t),
        }
    }
    // XY routing with single-flit events has no cyclic buffer dependency: nothing can stall.
    debug_assert_eq!(
        eng.completed,
        plan.num_events(),
        "events left in the network"
    );
    let leakage_uw = if level == Level::Reference {
        plan.mesh.tiles() as f64
            * cond.node.leakage_uw_per_tile
            * 2f64.powf((cond.temperature_c - 25.0) / EFFECTS.leakage_doubling_degc)
            / cond.die.powi(2)
    } else {
        0.0
    };
    RunResult {
        latency_ps: eng.latency,
        timing: eng.timing,
        energy: Energy {
            dynamic_pj: eng.dynamic_pj,
            leakage_uw,
        },
    }
}
