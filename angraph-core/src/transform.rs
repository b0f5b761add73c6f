//! The event stream -> asynchronous neuromorphic graph transform: streaming and
//! capacity-bounded, the same code on the host and on a microcontroller.
//!
//! The paper's graph: one node per component that appears in the stream, one directed edge per
//! pair of components that are consecutive in some event's path, and each edge's `activities` =
//! how many times that pair was traversed. A [`GraphBuilder`] takes the stream one hop at a time
//! ([`GraphBuilder::begin_event`], [`GraphBuilder::hop`], [`GraphBuilder::end_event`]) and keeps
//! only per-component ([`NodeStats`]) and per-edge ([`EdgeStats`]) statistics in fixed arrays of
//! `MAX_NODES` and `MAX_EDGES` entries; the stream itself is never stored. Lookups are binary
//! searches over sorted index arrays (no hashing, no allocation).
//!
//! [`GraphBuilder::finish`] writes the graph into caller buffers: nodes in ascending component id,
//! CSR by target (sources ascending within a target), Q16.16 node features
//! ([`crate::features`]), edge weights = activities (plain counts), and optionally edge features
//! and the component id of every node.
//!
//! Timestamps are integer picoseconds (the unit of the timed stream form); pass 0 for untimed
//! streams. Every failure (capacity, component outside the mesh, malformed hop order) is an
//! [`Error`], never a panic; a failed hop leaves the builder unchanged.
//!
//! ```
//! use angraph_core::component::Mesh;
//! use angraph_core::features::{ProcessDescriptor, NODE_FEATURES};
//! use angraph_core::transform::{GraphBuffers, GraphBuilder};
//! let mesh = Mesh::new(2, 2).unwrap();
//! let mut b: GraphBuilder<65, 256> = GraphBuilder::new(mesh, ProcessDescriptor::default()).unwrap();
//! b.begin_event().unwrap();
//! for name in ["Injector", "NI-0-toRouter", "IU-0 of Router-0", "SA of Router-0", "OU-0 of Router-0"] {
//!     b.hop(mesh.parse_id(name).unwrap(), 0, 0).unwrap();
//! }
//! b.end_event().unwrap();
//! let (n, e) = (b.num_nodes(), b.num_edges());
//! let (mut x, mut rp, mut src, mut w) = ([0i32; 5 * NODE_FEATURES], [0u32; 6], [0u32; 4], [0i32; 4]);
//! let built = b.finish(GraphBuffers::new(&mut x, &mut rp, &mut src, &mut w)).unwrap();
//! assert_eq!((built.graph.num_nodes(), built.graph.num_edges()), (n as u32, e as u32));
//! ```

use crate::component::{ComponentKind, Mesh, COMPONENTS_PER_TILE};
use crate::error::{Error, Resource, Result};
use crate::features::{
    edge_features, node_features, ratio_q16, EdgeStats, EventLoad, NodeStats, ProcessDescriptor,
    StreamSummary, EDGE_FEATURES, MAX_TIME_PS, NODE_FEATURES,
};
use crate::graph::GraphView;
use crate::power_input::{
    conditions_row, load_row, LoadTotals, PowerInput, ACTIVITY_INPUTS, CONDITIONS_INPUTS,
};

/// [`GraphBuilder`]'s "no edge yet" slot.
const NO_EDGE: u32 = u32::MAX;

/// Streaming, capacity-bounded builder of one graph. Reuse it with [`GraphBuilder::reset`].
#[derive(Debug, Clone)]
pub struct GraphBuilder<const MAX_NODES: usize, const MAX_EDGES: usize> {
    mesh: Mesh,
    process: ProcessDescriptor,
    nodes: [NodeStats; MAX_NODES],
    /// Node slots sorted by component id (first `n_nodes` entries).
    node_order: [u32; MAX_NODES],
    n_nodes: usize,
    edges: [EdgeStats; MAX_EDGES],
    /// Edge slots sorted by key (first `n_edges` entries).
    edge_order: [u32; MAX_EDGES],
    n_edges: usize,
    /// Scratch for `finish`: output position of each node slot.
    rank: [u32; MAX_NODES],
    /// Per node slot, the edge slots its last two distinct outgoing hops took, most recent
    /// first ([`NO_EDGE`] before one): a path that repeats skips both lookups.
    last_out: [[u32; 2]; MAX_NODES],
    in_event: bool,
    /// Load of the open event (added to its WeightSRAM and LUT hops).
    load: EventLoad,
    /// Previous hop of the open event: (node slot, enter, leave).
    prev: Option<(u32, u64, u64)>,
    summary: StreamSummary,
}

/// Caller buffers for [`GraphBuilder::finish`]. Each must be at least as long as stated; only
/// the needed prefix is written.
#[derive(Debug)]
pub struct GraphBuffers<'b> {
    /// `num_nodes * NODE_FEATURES` Q16.16 node features.
    pub x: &'b mut [i32],
    /// `num_nodes + 1` CSR offsets.
    pub row_ptr: &'b mut [u32],
    /// `num_edges` edge sources.
    pub src: &'b mut [u32],
    /// `num_edges` edge weights (activities).
    pub edge_weight: &'b mut [i32],
    /// `num_edges * EDGE_FEATURES` Q16.16 edge features, or empty to skip them.
    pub edge_attr: &'b mut [i32],
    /// `num_nodes` component ids, or empty to skip them.
    pub components: &'b mut [u32],
}

impl<'b> GraphBuffers<'b> {
    /// The four required buffers; no edge features, no component ids.
    pub fn new(
        x: &'b mut [i32],
        row_ptr: &'b mut [u32],
        src: &'b mut [u32],
        edge_weight: &'b mut [i32],
    ) -> Self {
        GraphBuffers {
            x,
            row_ptr,
            src,
            edge_weight,
            edge_attr: &mut [],
            components: &mut [],
        }
    }
}

/// The result of [`GraphBuilder::finish`]: a validated graph over the caller's buffers.
#[derive(Debug, Clone, Copy)]
pub struct BuiltGraph<'b> {
    /// Q16.16 node features, CSR by target, activities as edge weights.
    pub graph: GraphView<'b, i32>,
    /// Edge features aligned with the CSR edges (empty if not requested).
    pub edge_attr: &'b [i32],
    /// Component id of each node (empty if not requested).
    pub components: &'b [u32],
    /// Whole-stream statistics (`summary.span()` is the system-level latency estimate).
    pub summary: StreamSummary,
}

/// Does the slot of a tile component take the event's load (WeightSRAM, LUT)?
#[inline(always)]
const fn loaded_slot(slot: u32) -> bool {
    slot == ComponentKind::WeightSram.slot() || slot == ComponentKind::Lut.slot()
}

impl<const MAX_NODES: usize, const MAX_EDGES: usize> GraphBuilder<MAX_NODES, MAX_EDGES> {
    /// What [`GraphBuilder::new`] and [`GraphBuilder::init_in`] check: capacities that `u32`
    /// indices address, and a physical `process`.
    const fn check(process: &ProcessDescriptor) -> Result<()> {
        if MAX_NODES == 0 || MAX_NODES > u32::MAX as usize || MAX_EDGES > u32::MAX as usize {
            return Err(Error::Capacity {
                what: Resource::Indices,
                needed: if MAX_NODES > MAX_EDGES {
                    MAX_NODES
                } else {
                    MAX_EDGES
                },
                limit: u32::MAX as usize,
            });
        }
        process.validate()
    }

    /// An empty builder for `mesh`. Fails when the capacities cannot be indexed by `u32` or
    /// `process` is not physical ([`ProcessDescriptor::validate`]).
    /// (A mesh larger than `MAX_NODES` components is accepted; it only fails if too many of
    /// its components actually appear.)
    pub const fn new(mesh: Mesh, process: ProcessDescriptor) -> Result<Self> {
        if let Err(e) = Self::check(&process) {
            return Err(e);
        }
        Ok(GraphBuilder {
            mesh,
            process,
            nodes: [NodeStats::new(0); MAX_NODES],
            node_order: [0; MAX_NODES],
            n_nodes: 0,
            edges: [EdgeStats::new(0, 0, 0); MAX_EDGES],
            edge_order: [0; MAX_EDGES],
            n_edges: 0,
            rank: [0; MAX_NODES],
            last_out: [[NO_EDGE; 2]; MAX_NODES],
            in_event: false,
            load: EventLoad { words: 0, fires: 0 },
            prev: None,
            summary: StreamSummary {
                events: 0,
                hops: 0,
                start: u64::MAX,
                end: 0,
                words: 0,
                fires: 0,
            },
        })
    }

    /// Initialise a builder in caller memory without a temporary on the stack (a builder for a
    /// 4x4 mesh is tens of KB: firmware keeps it in a static, possibly sharing that memory with
    /// other work between streams). Same checks as [`GraphBuilder::new`].
    pub fn init_in(
        slot: &mut core::mem::MaybeUninit<Self>,
        mesh: Mesh,
        process: ProcessDescriptor,
    ) -> Result<&mut Self> {
        Self::check(&process)?;
        let p = slot.as_mut_ptr();
        // SAFETY: `p` is valid for writes and aligned (it comes from a `&mut MaybeUninit<Self>`).
        // The arrays hold structs of plain integers, for which all-zero bytes are valid values
        // (their contents are only read after `hop` has written them); every other field is
        // written below, so the value is fully initialised before `assume_init_mut`.
        unsafe {
            core::ptr::addr_of_mut!((*p).nodes).write_bytes(0, 1);
            core::ptr::addr_of_mut!((*p).node_order).write_bytes(0, 1);
            core::ptr::addr_of_mut!((*p).edges).write_bytes(0, 1);
            core::ptr::addr_of_mut!((*p).edge_order).write_bytes(0, 1);
            core::ptr::addr_of_mut!((*p).rank).write_bytes(0, 1);
            core::ptr::addr_of_mut!((*p).last_out).write_bytes(0, 1);
            core::ptr::addr_of_mut!((*p).mesh).write(mesh);
            core::ptr::addr_of_mut!((*p).process).write(process);
            core::ptr::addr_of_mut!((*p).n_nodes).write(0);
            core::ptr::addr_of_mut!((*p).n_edges).write(0);
            core::ptr::addr_of_mut!((*p).in_event).write(false);
            core::ptr::addr_of_mut!((*p).load).write(EventLoad::default());
            core::ptr::addr_of_mut!((*p).prev).write(None);
            core::ptr::addr_of_mut!((*p).summary).write(StreamSummary::default());
        }
        // SAFETY: every field was initialised above.
        let b = unsafe { slot.assume_init_mut() };
        b.reset(mesh, process);
        Ok(b)
    }

    /// Forget everything and start a new graph, possibly for another mesh or process. Unlike
    /// [`GraphBuilder::new`] it does not check `process` (it cannot fail): callers that take
    /// conditions from outside check them with [`ProcessDescriptor::validate`] first.
    pub fn reset(&mut self, mesh: Mesh, process: ProcessDescriptor) {
        self.mesh = mesh;
        self.process = process;
        self.n_nodes = 0;
        self.n_edges = 0;
        self.in_event = false;
        self.load = EventLoad::default();
        self.prev = None;
        self.summary = StreamSummary {
            events: 0,
            hops: 0,
            start: u64::MAX,
            end: 0,
            words: 0,
            fires: 0,
        };
    }

    /// The mesh.
    pub fn mesh(&self) -> Mesh {
        self.mesh
    }
    /// Nodes so far.
    pub fn num_nodes(&self) -> usize {
        self.n_nodes
    }
    /// Edges so far.
    pub fn num_edges(&self) -> usize {
        self.n_edges
    }
    /// Whole-stream statistics so far (`start` is 0 for an empty stream).
    pub fn summary(&self) -> StreamSummary {
        let mut s = self.summary;
        if s.hops == 0 {
            s.start = 0;
        }
        s
    }

    /// Open an event (one spike's path) that carries no load (a DFG JSON stream, or a timed
    /// stream without `words`). Fails if one is already open.
    pub fn begin_event(&mut self) -> Result<()> {
        self.begin_event_with(EventLoad::default())
    }

    /// Open an event whose destination reads `load.words` synaptic words and fires
    /// `load.fires` neurons (node features 35 and 36 of its WeightSRAM and LUT hops). Fails if
    /// an event is already open or `fires > words`.
    pub fn begin_event_with(&mut self, load: EventLoad) -> Result<()> {
        if self.in_event {
            return Err(Error::Stream("event begins before the previous one ended"));
        }
        if load.fires > load.words {
            return Err(Error::Stream(
                "event fires more neurons than its row has words",
            ));
        }
        self.in_event = true;
        self.load = load;
        self.prev = None;
        self.summary.words = self.summary.words.saturating_add(load.words as u64);
        self.summary.fires = self.summary.fires.saturating_add(load.fires as u64);
        Ok(())
    }

    /// Close the open event. Fails if none is open.
    pub fn end_event(&mut self) -> Result<()> {
        if !self.in_event {
            return Err(Error::Stream("event ends without having begun"));
        }
        self.in_event = false;
        self.prev = None;
        self.summary.events = self.summary.events.saturating_add(1);
        Ok(())
    }

    /// One hop of the open event: component `id` (a dense id of the mesh) entered at `enter`
    /// and left at `leave` (ps). Requires `enter <= leave` and, within an event, that a hop
    /// does not enter before the previous hop entered.
    pub fn hop(&mut self, id: u32, enter: u64, leave: u64) -> Result<()> {
        if !self.in_event {
            return Err(Error::Stream("hop outside an event"));
        }
        if id >= self.mesh.num_components() {
            return Err(Error::OutOfMesh {
                id,
                limit: self.mesh.num_components(),
            });
        }
        if leave < enter {
            return Err(Error::Stream("hop leaves before it enters"));
        }
        if leave > MAX_TIME_PS {
            return Err(Error::Stream(
                "timestamp beyond features::MAX_TIME_PS (1 s)",
            ));
        }
        if let Some((_, prev_enter, _)) = self.prev {
            if enter < prev_enter {
                return Err(Error::Stream(
                    "hop enters before the previous hop of its event",
                ));
            }
        }
        // The edge the previous node took last time, if this hop repeats it: node and edge
        // slots without a search (and nothing to insert, so no capacity to check).
        let repeat = self.prev.and_then(|(p, _, _)| {
            let key = ((self.nodes[p as usize].id as u64) << 32) | id as u64;
            let hit = |c: u32| (c as usize) < self.n_edges && self.edges[c as usize].key == key;
            let [c0, c1] = self.last_out[p as usize];
            match (hit(c0), hit(c1)) {
                (true, _) => Some((p, c0)),
                (false, true) => Some((p, c1)),
                _ => None,
            }
        });
        if let Some((p, c)) = repeat {
            let slot = self.edges[c as usize].dst;
            self.record_node(slot, id, enter, leave);
            self.record_edge(c, enter);
            self.took(p, c);
            self.record_hop(slot, enter, leave);
            return Ok(());
        }
        // Capacity checks first, so that a failed hop changes nothing.
        let node_pos = self.find_node(id);
        let need_node = node_pos.is_err();
        if need_node && self.n_nodes >= MAX_NODES {
            return Err(Error::Capacity {
                what: Resource::GraphNodes,
                needed: self.n_nodes + 1,
                limit: MAX_NODES,
            });
        }
        let edge_pos = match self.prev {
            Some((p, _, _)) => {
                let key = ((self.nodes[p as usize].id as u64) << 32) | id as u64;
                let pos = self.find_edge(key);
                if pos.is_err() && self.n_edges >= MAX_EDGES {
                    return Err(Error::Capacity {
                        what: Resource::GraphEdges,
                        needed: self.n_edges + 1,
                        limit: MAX_EDGES,
                    });
                }
                Some((p, key, pos))
            }
            None => None,
        };
        let slot = match node_pos {
            Ok(i) => self.node_order[i],
            Err(i) => self.insert_node(i, id),
        };
        self.record_node(slot, id, enter, leave);
        if let Some((p, key, pos)) = edge_pos {
            let eslot = match pos {
                Ok(i) => self.edge_order[i],
                Err(i) => {
                    let es = self.insert_edge(i, key, p, slot);
                    self.nodes[p as usize].out_degree += 1;
                    self.nodes[slot as usize].in_degree += 1;
                    es
                }
            };
            self.record_edge(eslot, enter);
            self.took(p, eslot);
        }
        self.record_hop(slot, enter, leave);
        Ok(())
    }

    /// Node slot `p`'s hop took edge slot `c`: most recent first in `last_out`.
    #[inline(always)]
    fn took(&mut self, p: u32, c: u32) {
        let l = &mut self.last_out[p as usize];
        if l[0] != c {
            *l = [c, l[0]];
        }
    }

    /// A validated hop's node statistics.
    #[inline(always)]
    fn record_node(&mut self, slot: u32, id: u32, enter: u64, leave: u64) {
        let n = &mut self.nodes[slot as usize];
        n.visits = n.visits.saturating_add(1);
        let dwell = leave - enter;
        n.dwell_sum = n.dwell_sum.saturating_add(dwell);
        n.dwell_max = n.dwell_max.max(dwell);
        n.first_enter = n.first_enter.min(enter);
        n.last_leave = n.last_leave.max(leave);
        if self.load.words != 0
            && id < self.mesh.injector_id()
            && loaded_slot(id % COMPONENTS_PER_TILE)
        {
            n.words = n.words.saturating_add(self.load.words as u32);
            n.fires = n.fires.saturating_add(self.load.fires as u32);
        }
    }

    /// A validated hop's statistics of the edge from the previous hop.
    #[inline(always)]
    fn record_edge(&mut self, eslot: u32, enter: u64) {
        let prev_leave = self.prev.map(|v| v.2).unwrap_or(0);
        let e = &mut self.edges[eslot as usize];
        e.activities = e.activities.saturating_add(1);
        e.first = e.first.min(enter);
        e.last = e.last.max(enter);
        // Both times are at most MAX_TIME_PS (checked when each hop came in), so the
        // difference is exact in i64; the sum saturates.
        let gap = enter as i64 - prev_leave as i64;
        e.gap_sum = e.gap_sum.saturating_add(gap);
    }

    /// A validated hop's stream summary and the event's previous hop.
    #[inline(always)]
    fn record_hop(&mut self, slot: u32, enter: u64, leave: u64) {
        self.summary.hops = self.summary.hops.saturating_add(1);
        self.summary.start = self.summary.start.min(enter);
        self.summary.end = self.summary.end.max(leave);
        self.prev = Some((slot, enter, leave));
    }

    fn find_node(&self, id: u32) -> core::result::Result<usize, usize> {
        self.node_order[..self.n_nodes].binary_search_by(|&s| self.nodes[s as usize].id.cmp(&id))
    }

    fn find_edge(&self, key: u64) -> core::result::Result<usize, usize> {
        self.edge_order[..self.n_edges].binary_search_by(|&s| self.edges[s as usize].key.cmp(&key))
    }

    fn insert_node(&mut self, pos: usize, id: u32) -> u32 {
        let slot = self.n_nodes as u32;
        self.nodes[slot as usize] = NodeStats::new(id);
        self.last_out[slot as usize] = [NO_EDGE; 2];
        self.node_order.copy_within(pos..self.n_nodes, pos + 1);
        self.node_order[pos] = slot;
        self.n_nodes += 1;
        slot
    }

    fn insert_edge(&mut self, pos: usize, key: u64, src: u32, dst: u32) -> u32 {
        let slot = self.n_edges as u32;
        self.edges[slot as usize] = EdgeStats::new(key, src, dst);
        self.edge_order.copy_within(pos..self.n_edges, pos + 1);
        self.edge_order[pos] = slot;
        self.n_edges += 1;
        slot
    }

    /// Write the graph into `bufs` and return the validated view. Fails while an event is open,
    /// for an empty stream, or when a buffer is too short ([`Error::OutputLength`]).
    pub fn finish<'b>(&mut self, bufs: GraphBuffers<'b>) -> Result<BuiltGraph<'b>> {
        if self.in_event {
            return Err(Error::Stream("stream ends inside an event"));
        }
        let n = self.n_nodes;
        let e = self.n_edges;
        if n == 0 {
            return Err(Error::EmptyGraph);
        }
        let check = |needed: usize, given: usize| {
            if given < needed {
                Err(Error::OutputLength { needed, given })
            } else {
                Ok(())
            }
        };
        check(n * NODE_FEATURES, bufs.x.len())?;
        check(n + 1, bufs.row_ptr.len())?;
        check(e, bufs.src.len())?;
        check(e, bufs.edge_weight.len())?;
        let want_attr = !bufs.edge_attr.is_empty();
        if want_attr {
            check(e * EDGE_FEATURES, bufs.edge_attr.len())?;
        }
        let want_ids = !bufs.components.is_empty();
        if want_ids {
            check(n, bufs.components.len())?;
        }
        let summary = self.summary();
        let x = &mut bufs.x[..n * NODE_FEATURES];
        let row_ptr = &mut bufs.row_ptr[..n + 1];
        let src = &mut bufs.src[..e];
        let weight = &mut bufs.edge_weight[..e];
        let attr: &'b mut [i32] = if want_attr {
            &mut bufs.edge_attr[..e * EDGE_FEATURES]
        } else {
            &mut []
        };
        let ids: &'b mut [u32] = if want_ids {
            &mut bufs.components[..n]
        } else {
            &mut []
        };
        self.rank_nodes();
        // Nodes in ascending component id.
        for (pos, row) in x.chunks_exact_mut(NODE_FEATURES).enumerate() {
            self.node_row(pos, &summary, row)?;
        }
        if want_ids {
            for (pos, &slot) in self.node_order[..n].iter().enumerate() {
                ids[pos] = self.nodes[slot as usize].id;
            }
        }
        self.scatter_edges(row_ptr, src, weight, attr, &summary)?;
        let x: &'b [i32] = x;
        let row_ptr: &'b [u32] = row_ptr;
        let src: &'b [u32] = src;
        let weight: &'b [i32] = weight;
        let attr: &'b [i32] = attr;
        let ids: &'b [u32] = ids;
        let graph = GraphView::new(NODE_FEATURES as u32, x, row_ptr, src, Some(weight))?;
        Ok(BuiltGraph {
            graph,
            edge_attr: attr,
            components: ids,
            summary,
        })
    }

    /// The topology part of [`GraphBuilder::finish`], for callers that take node features one
    /// row at a time ([`GraphBuilder::node_features_at`]) instead of as a matrix: CSR by target
    /// and activities into the caller's buffers; the view has feature width 0. Same errors.
    pub fn finish_topology<'b>(
        &mut self,
        row_ptr: &'b mut [u32],
        src: &'b mut [u32],
        edge_weight: &'b mut [i32],
    ) -> Result<GraphView<'b, i32>> {
        if self.in_event {
            return Err(Error::Stream("stream ends inside an event"));
        }
        let (n, e) = (self.n_nodes, self.n_edges);
        if n == 0 {
            return Err(Error::EmptyGraph);
        }
        for (needed, given) in [
            (n + 1, row_ptr.len()),
            (e, src.len()),
            (e, edge_weight.len()),
        ] {
            if given < needed {
                return Err(Error::OutputLength { needed, given });
            }
        }
        let summary = self.summary();
        let row_ptr = &mut row_ptr[..n + 1];
        let src = &mut src[..e];
        let weight = &mut edge_weight[..e];
        self.rank_nodes();
        self.scatter_edges(row_ptr, src, weight, &mut [], &summary)?;
        let row_ptr: &'b [u32] = row_ptr;
        let src: &'b [u32] = src;
        let weight: &'b [i32] = weight;
        GraphView::new(0, &[], row_ptr, src, Some(weight))
    }

    /// ANGraph-P's input from the stream so far: the power datasets' 6 x 6 activity matrix
    /// (row-major, Q16.16) over the builder's per-component statistics, written to `out[..36]`.
    /// Rows are component classes (router input units, switch allocators, router output units,
    /// network interfaces, AER + WeightSRAM, LUT; the off-chip injector is not counted), columns
    /// hops (1000), active fraction of the class's components, busiest component's hops (1000),
    /// busy time (sum of dwell, us), span (first entry to last exit, us), mean dwell (ns). The
    /// host's power datasets store exactly this matrix as `f32` (fixed / 65536), so a chip
    /// computes the same input in place. Errors: `out` shorter than 36.
    pub fn activity_matrix(&self, out: &mut [i32]) -> Result<()> {
        if out.len() < ACTIVITY_INPUTS {
            return Err(Error::OutputLength {
                needed: ACTIVITY_INPUTS,
                given: out.len(),
            });
        }
        const PER_TILE: [u64; 6] = [5, 1, 5, 2, 2, 1];
        let (mut hops, mut active, mut busiest) = ([0u64; 6], [0u64; 6], [0u64; 6]);
        let (mut dwell, mut first, mut last) = ([0u64; 6], [u64::MAX; 6], [0u64; 6]);
        for s in &self.nodes[..self.n_nodes] {
            let Ok(c) = self.mesh.component(s.id) else {
                continue;
            };
            let r = match c.kind {
                ComponentKind::InputUnit(_) => 0,
                ComponentKind::SwitchAllocator => 1,
                ComponentKind::OutputUnit(_) => 2,
                ComponentKind::NiToRouter | ComponentKind::NiToPe => 3,
                ComponentKind::Aer | ComponentKind::WeightSram => 4,
                ComponentKind::Lut => 5,
                ComponentKind::Injector => continue,
            };
            if s.visits == 0 {
                continue;
            }
            hops[r] += s.visits as u64;
            active[r] += 1;
            busiest[r] = busiest[r].max(s.visits as u64);
            dwell[r] = dwell[r].saturating_add(s.dwell_sum);
            first[r] = first[r].min(s.first_enter);
            last[r] = last[r].max(s.last_leave);
        }
        let tiles = self.mesh.tiles() as u64;
        for r in 0..6 {
            let span = last[r].saturating_sub(first[r].min(last[r]));
            let row = [
                ratio_q16(hops[r], 1000),
                ratio_q16(active[r], PER_TILE[r] * tiles),
                ratio_q16(busiest[r], 1000),
                ratio_q16(dwell[r], 1_000_000),
                ratio_q16(span, 1_000_000),
                ratio_q16(dwell[r], hops[r].saturating_mul(1000)),
            ];
            out[r * 6..r * 6 + 6].copy_from_slice(&row);
        }
        Ok(())
    }

    /// ANGraph-P's input for a model of input width `in_dim` ([`crate::power_input`]): the
    /// activity matrix (36 values), followed for `in_dim` 42 and 48 by the operating-conditions
    /// row of the builder's mesh and process descriptor, and for `in_dim` 48 by the load row
    /// of its events. Written to `out[..in_dim]`. Errors: another `in_dim`, `out` too short.
    pub fn power_input(&self, in_dim: usize, out: &mut [i32]) -> Result<()> {
        let layout = PowerInput::from_in_dim(in_dim)?;
        if out.len() < layout.inputs() {
            return Err(Error::OutputLength {
                needed: layout.inputs(),
                given: out.len(),
            });
        }
        self.activity_matrix(&mut out[..ACTIVITY_INPUTS])?;
        if layout.has_conditions() {
            conditions_row(self.mesh, &self.process, &mut out[ACTIVITY_INPUTS..])?;
        }
        if layout == PowerInput::WithLoad {
            load_row(&self.load_totals(), &mut out[CONDITIONS_INPUTS..])?;
        }
        Ok(())
    }

    /// The stream's load so far: words and fired neurons of all events, hops through
    /// WeightSRAMs and LUTs (the load row of [`crate::power_input`]).
    pub fn load_totals(&self) -> LoadTotals {
        let mut t = LoadTotals {
            words: self.summary.words,
            fires: self.summary.fires,
            ..LoadTotals::default()
        };
        for s in &self.nodes[..self.n_nodes] {
            match self.mesh.component(s.id).map(|c| c.kind) {
                Ok(ComponentKind::WeightSram) => t.sram_reads += s.visits as u64,
                Ok(ComponentKind::Lut) => t.lut_updates += s.visits as u64,
                _ => {}
            }
        }
        t
    }

    /// The [`NODE_FEATURES`] Q16.16 features of the node at position `pos` of the finished graph
    /// (nodes in ascending component id), written to `out[..NODE_FEATURES]`. Errors: `pos` not
    /// a node, `out` too short.
    pub fn node_features_at(&self, pos: usize, out: &mut [i32]) -> Result<()> {
        if pos >= self.n_nodes {
            return Err(Error::GraphLength {
                field: "node position",
                expected: self.n_nodes as u32,
                found: pos.min(u32::MAX as usize) as u32,
            });
        }
        if out.len() < NODE_FEATURES {
            return Err(Error::OutputLength {
                needed: NODE_FEATURES,
                given: out.len(),
            });
        }
        self.node_row(pos, &self.summary(), &mut out[..NODE_FEATURES])
    }

    fn node_row(&self, pos: usize, summary: &StreamSummary, out: &mut [i32]) -> Result<()> {
        let s = &self.nodes[self.node_order[pos] as usize];
        let c = self.mesh.component(s.id)?;
        node_features(&self.mesh, c.kind, c.tile, s, summary, &self.process, out);
        Ok(())
    }

    /// `rank[slot]` = output position of node `slot` (ascending component id).
    fn rank_nodes(&mut self) {
        for (pos, &slot) in self.node_order[..self.n_nodes].iter().enumerate() {
            self.rank[slot as usize] = pos as u32;
        }
    }

    /// CSR by target: count, prefix sum, stable scatter in key order (sources ascending).
    /// Needs `rank_nodes` first; `attr` empty to skip edge features.
    fn scatter_edges(
        &self,
        row_ptr: &mut [u32],
        src: &mut [u32],
        weight: &mut [i32],
        attr: &mut [i32],
        summary: &StreamSummary,
    ) -> Result<()> {
        let (n, e) = (self.n_nodes, self.n_edges);
        let want_attr = !attr.is_empty();
        row_ptr.iter_mut().for_each(|r| *r = 0);
        for es in &self.edges[..e] {
            row_ptr[self.rank[es.dst as usize] as usize + 1] += 1;
        }
        for v in 0..n {
            row_ptr[v + 1] += row_ptr[v];
        }
        // The edge key orders by (source id, target id); scatter by target keeps sources sorted.
        for &eslot in &self.edge_order[..e] {
            let es = &self.edges[eslot as usize];
            let t = self.rank[es.dst as usize] as usize;
            let k = row_ptr[t] as usize;
            row_ptr[t] += 1;
            src[k] = self.rank[es.src as usize];
            weight[k] = es.activities.min(i32::MAX as u32) as i32;
            if want_attr {
                let a = self.mesh.component(self.nodes[es.src as usize].id)?;
                let b = self.mesh.component(es.key as u32)?;
                let link = matches!(a.kind, ComponentKind::OutputUnit(_))
                    && matches!(b.kind, ComponentKind::InputUnit(_))
                    && a.tile != b.tile;
                edge_features(
                    es,
                    link,
                    summary,
                    &mut attr[k * EDGE_FEATURES..(k + 1) * EDGE_FEATURES],
                );
            }
        }
        for v in (1..=n).rev() {
            row_ptr[v] = row_ptr[v - 1];
        }
        row_ptr[0] = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::NODE_FEATURE_NAMES;

    /// Impossible operating conditions and timestamps beyond a second are refused where the
    /// chip reads them (builder creation, each hop), naming the field; unknown (0) node and
    /// supply, and the ranges' ends, are accepted.
    #[test]
    fn unphysical_process_and_timestamps_are_refused() {
        let mesh = Mesh::new(2, 2).unwrap();
        let p = |feature_nm, vdd_mv, temperature_c| ProcessDescriptor {
            feature_nm,
            vdd_mv,
            temperature_c,
        };
        for (bad, field) in [
            (p(2000, 1200, 40), "feature_nm"),
            (p(65, 50, 40), "vdd_mv"),
            (p(65, 9000, 40), "vdd_mv"),
            (p(65, 1200, -300), "temperature_c"),
            (p(0, 0, 200), "temperature_c"),
        ] {
            assert_eq!(
                GraphBuilder::<70, 128>::new(mesh, bad).err(),
                Some(Error::Process(field))
            );
            let mut slot = core::mem::MaybeUninit::<GraphBuilder<70, 128>>::uninit();
            assert_eq!(
                GraphBuilder::init_in(&mut slot, mesh, bad).err(),
                Some(Error::Process(field))
            );
        }
        for ok in [
            p(0, 0, 0),
            p(1, 100, -55),
            p(1000, 5000, 175),
            p(65, 1200, 40),
        ] {
            GraphBuilder::<70, 128>::new(mesh, ok).unwrap();
        }
        let mut b = GraphBuilder::<70, 128>::new(mesh, p(65, 1200, 40)).unwrap();
        b.begin_event().unwrap();
        b.hop(0, 0, MAX_TIME_PS).unwrap();
        assert_eq!(
            b.hop(1, MAX_TIME_PS, MAX_TIME_PS + 1),
            Err(Error::Stream(
                "timestamp beyond features::MAX_TIME_PS (1 s)"
            ))
        );
        assert_eq!(
            b.hop(1, 0, u64::MAX),
            Err(Error::Stream(
                "timestamp beyond features::MAX_TIME_PS (1 s)"
            ))
        );
    }

    type Small = GraphBuilder<70, 128>;

    fn feed(b: &mut Small, mesh: Mesh, path: &[(&str, u64, u64)]) -> Result<()> {
        b.begin_event()?;
        for &(name, t0, t1) in path {
            b.hop(mesh.parse_id(name)?, t0, t1)?;
        }
        b.end_event()
    }

    #[test]
    fn counts_activities_and_orders_nodes_by_id() {
        let mesh = Mesh::new(2, 1).unwrap();
        let mut b = Small::new(mesh, ProcessDescriptor::default()).unwrap();
        let path = [
            ("Injector", 0, 1000),
            ("NI-0-toRouter", 1000, 2000),
            ("IU-0 of Router-0", 2000, 3000),
            ("SA of Router-0", 3000, 4000),
            ("OU-2 of Router-0", 4000, 5000),
            ("IU-4 of Router-1", 5500, 6000),
        ];
        feed(&mut b, mesh, &path).unwrap();
        feed(&mut b, mesh, &path).unwrap();
        feed(&mut b, mesh, &path[..3]).unwrap();
        assert_eq!((b.num_nodes(), b.num_edges()), (6, 5));
        let (mut x, mut rp, mut src, mut w) = ([0; 6 * NODE_FEATURES], [0; 7], [0; 5], [0; 5]);
        let (mut attr, mut ids) = ([0; 5 * EDGE_FEATURES], [0u32; 6]);
        let mut bufs = GraphBuffers::new(&mut x, &mut rp, &mut src, &mut w);
        bufs.edge_attr = &mut attr;
        bufs.components = &mut ids;
        let g = b.finish(bufs).unwrap();
        assert_eq!(g.components, &[0, 7, 10, 11, 20, 32]);
        // Injector(5) -> NI(3): 3 traversals; NI(3) -> IU-0(0): 3; IU-0 -> SA: 2.
        assert_eq!(g.graph.row_ptr(), &[0, 1, 2, 3, 4, 5, 5]);
        assert_eq!(g.graph.src(), &[3, 2, 0, 5, 1]);
        assert_eq!(g.graph.edge_weight().unwrap(), &[3, 2, 2, 3, 2]);
        assert_eq!(g.summary.events, 3);
        assert_eq!(g.summary.span(), 6000);
        // The OU-2 -> IU-4 edge is a link with a 500 ps gap.
        let k = 4; // target IU-4 of Router-1 (node 4), source OU-2 (node 1)
        assert_eq!(g.edge_attr[k * EDGE_FEATURES + 2], 1 << 16);
        assert_eq!(g.edge_attr[k * EDGE_FEATURES + 6], 1 << 15);
        // Injector: 3 visits, dwell 1 ns.
        let inj = g.graph.node_features(5);
        assert_eq!(inj[0], 2 << 16);
        assert_eq!(inj[20], 1 << 16);
        assert_eq!(inj[10], 1 << 16);
        assert_eq!(NODE_FEATURE_NAMES[10], "kind_injector");
    }

    #[test]
    fn event_load_lands_on_weight_sram_and_lut_only() {
        let mesh = Mesh::new(2, 1).unwrap();
        let mut b = Small::new(mesh, ProcessDescriptor::default()).unwrap();
        let path = [
            "Injector",
            "NI-0-toRouter",
            "IU-0 of Router-0",
            "SA of Router-0",
            "OU-0 of Router-0",
            "NI-0-toPE",
            "AER of PE-0",
            "WeightSRAM of PE-0",
            "LUT of PE-0",
        ];
        // Two events: rows of 12 and 3 words, 2 and 0 neurons firing; one without load.
        for load in [(12, 2), (3, 0), (0, 0)] {
            let (words, fires) = load;
            b.begin_event_with(EventLoad { words, fires }).unwrap();
            for (t, name) in path.iter().enumerate() {
                let t = t as u64 * 1000;
                b.hop(mesh.parse_id(name).unwrap(), t, t + 1000).unwrap();
            }
            b.end_event().unwrap();
        }
        assert!(b
            .begin_event_with(EventLoad { words: 1, fires: 2 })
            .is_err());
        let t = b.load_totals();
        assert_eq!(
            (t.words, t.fires, t.sram_reads, t.lut_updates),
            (15, 2, 3, 3)
        );
        let n = b.num_nodes();
        let mut x = [0; 9 * NODE_FEATURES];
        let (mut rp, mut src, mut w, mut ids) = ([0; 10], [0; 8], [0; 8], [0u32; 9]);
        let mut bufs = GraphBuffers::new(&mut x, &mut rp, &mut src, &mut w);
        bufs.components = &mut ids;
        let g = b.finish(bufs).unwrap();
        for v in 0..n {
            let f = g.graph.node_features(v);
            let kind = mesh.component(g.components[v]).unwrap().kind;
            let loaded = matches!(kind, ComponentKind::WeightSram | ComponentKind::Lut);
            // 15 words over 3 visits = 5.0; 2 fires over 3 visits = 0.6667 (rounded).
            let want = if loaded { [5 << 16, 43691] } else { [0, 0] };
            assert_eq!([f[35], f[36]], want, "{kind:?}");
        }
        assert_eq!(NODE_FEATURE_NAMES[35], "words_per_visit");
    }

    #[test]
    fn errors_never_panic_and_leave_state_unchanged() {
        let mesh = Mesh::new(2, 1).unwrap();
        let mut b: GraphBuilder<3, 1> =
            GraphBuilder::new(mesh, ProcessDescriptor::default()).unwrap();
        assert_eq!(b.hop(0, 0, 0), Err(Error::Stream("hop outside an event")));
        b.begin_event().unwrap();
        assert!(b.begin_event().is_err());
        assert!(matches!(b.hop(33, 0, 0), Err(Error::OutOfMesh { .. })));
        assert!(b.hop(0, 5, 4).is_err());
        b.hop(0, 0, 1).unwrap();
        b.hop(1, 1, 2).unwrap();
        assert_eq!(
            b.hop(2, 2, 3),
            Err(Error::Capacity {
                what: Resource::GraphEdges,
                needed: 2,
                limit: 1
            })
        );
        assert_eq!((b.num_nodes(), b.num_edges()), (2, 1));
        assert!(b.hop(1, 0, 3).is_err());
        b.end_event().unwrap();
        b.begin_event().unwrap();
        b.hop(2, 0, 0).unwrap();
        assert_eq!(
            b.hop(3, 0, 0),
            Err(Error::Capacity {
                what: Resource::GraphNodes,
                needed: 4,
                limit: 3
            })
        );
        assert!(b
            .finish(GraphBuffers::new(&mut [], &mut [], &mut [], &mut []))
            .is_err());
        b.end_event().unwrap();
        assert!(matches!(
            b.finish(GraphBuffers::new(&mut [], &mut [], &mut [], &mut [])),
            Err(Error::OutputLength { .. })
        ));
        b.reset(mesh, ProcessDescriptor::default());
        assert_eq!(
            b.finish(GraphBuffers::new(&mut [], &mut [], &mut [], &mut []))
                .unwrap_err(),
            Error::EmptyGraph
        );
    }

    #[test]
    fn topology_and_rows_equal_finish_and_init_in_equals_new() {
        let mesh = Mesh::new(2, 1).unwrap();
        let path = [
            ("Injector", 0, 1000),
            ("NI-0-toRouter", 1000, 2000),
            ("IU-0 of Router-0", 2000, 3000),
            ("SA of Router-0", 3000, 4000),
            ("OU-2 of Router-0", 4000, 5000),
            ("IU-4 of Router-1", 5500, 6000),
        ];
        let mut slot = core::mem::MaybeUninit::<Small>::uninit();
        let a = Small::init_in(&mut slot, mesh, ProcessDescriptor::default()).unwrap();
        let mut b = Small::new(mesh, ProcessDescriptor::default()).unwrap();
        for builder in [&mut *a, &mut b] {
            feed(builder, mesh, &path).unwrap();
            feed(builder, mesh, &path[2..]).unwrap();
        }
        let (mut x, mut rp, mut src, mut w) = ([0; 6 * NODE_FEATURES], [0; 7], [0; 5], [0; 5]);
        let full = b
            .finish(GraphBuffers::new(&mut x, &mut rp, &mut src, &mut w))
            .unwrap();
        let (mut rp2, mut src2, mut w2) = ([0; 7], [0; 5], [0; 5]);
        let topo = a.finish_topology(&mut rp2, &mut src2, &mut w2).unwrap();
        assert_eq!(topo.row_ptr(), full.graph.row_ptr());
        assert_eq!(topo.src(), full.graph.src());
        assert_eq!(topo.edge_weight(), full.graph.edge_weight());
        assert_eq!(topo.feature_width(), 0);
        let mut row = [0i32; NODE_FEATURES];
        for v in 0..6 {
            a.node_features_at(v, &mut row).unwrap();
            assert_eq!(&row[..], full.graph.node_features(v));
        }
        assert!(a.node_features_at(6, &mut row).is_err());
        assert!(a.node_features_at(0, &mut row[..3]).is_err());
        assert!(matches!(
            a.finish_topology(&mut [0; 6], &mut [0; 5], &mut [0; 5]),
            Err(Error::OutputLength { .. })
        ));
    }

    #[test]
    fn extreme_timestamps_saturate_instead_of_overflowing() {
        // Found by angraph-embed's C ABI fuzz test: a hop entering near MAX_TIME_PS after one
        // that left at 0 overflowed the gap in debug builds.
        let mesh = Mesh::new(2, 1).unwrap();
        let mut b = Small::new(mesh, ProcessDescriptor::default()).unwrap();
        b.begin_event().unwrap();
        b.hop(0, 0, 0).unwrap();
        b.hop(10, MAX_TIME_PS - 5, MAX_TIME_PS).unwrap();
        b.hop(15, MAX_TIME_PS - 1, MAX_TIME_PS).unwrap();
        b.end_event().unwrap();
        b.begin_event().unwrap();
        b.hop(0, 0, 0).unwrap();
        b.hop(10, MAX_TIME_PS - 5, MAX_TIME_PS).unwrap();
        b.end_event().unwrap();
        let (mut x, mut rp, mut src, mut w) = ([0; 3 * NODE_FEATURES], [0; 4], [0; 2], [0; 2]);
        let mut attr = [0; 2 * EDGE_FEATURES];
        let mut bufs = GraphBuffers::new(&mut x, &mut rp, &mut src, &mut w);
        bufs.edge_attr = &mut attr;
        let g = b.finish(bufs).unwrap();
        assert_eq!(g.graph.num_edges(), 2);
    }

    #[test]
    fn activity_matrix_by_hand() {
        let mesh = Mesh::new(2, 1).unwrap();
        let mut b = Small::new(mesh, ProcessDescriptor::default()).unwrap();
        let path = [
            ("Injector", 0, 1000),
            ("NI-0-toRouter", 1000, 2000),
            ("IU-0 of Router-0", 2000, 3000),
            ("SA of Router-0", 3000, 5000),
            ("OU-2 of Router-0", 5000, 6000),
            ("IU-4 of Router-1", 6500, 7000),
        ];
        feed(&mut b, mesh, &path).unwrap();
        feed(&mut b, mesh, &path[1..4]).unwrap();
        let mut m = [0i32; 36];
        b.activity_matrix(&mut m).unwrap();
        let q = |num: u64, den: u64| ratio_q16(num, den);
        // Input units: IU-0 (2 visits), IU-4 of tile 1 (1): 3 hops, 2 of 10 active, busiest 2,
        // dwell 1000 + 1000 + 500 ps, span 2000..7000 ps, mean dwell 2500 / 3 ps.
        assert_eq!(
            &m[0..6],
            &[
                q(3, 1000),
                q(2, 10),
                q(2, 1000),
                q(2500, 1_000_000),
                q(5000, 1_000_000),
                q(2500, 3000)
            ]
        );
        // Switch allocators: SA of tile 0, 2 visits of 2000 ps.
        assert_eq!(&m[6..9], &[q(2, 1000), q(1, 2), q(2, 1000)]);
        assert_eq!(m[11], q(4000, 2000));
        // LUTs never visited: a zero row; the injector is not counted anywhere.
        assert_eq!(&m[30..36], &[0; 6]);
        assert!(b.activity_matrix(&mut [0; 35]).is_err());
        // The power input: the same 36 values, then for in_dim 42 the conditions row.
        let mut p36 = [0i32; 36];
        b.power_input(36, &mut p36).unwrap();
        assert_eq!(p36, m);
        let mut p42 = [-1i32; 43];
        b.power_input(42, &mut p42).unwrap();
        assert_eq!(&p42[..36], &m[..]);
        // Default process descriptor (unknown node and supply, 0 degC), 2 tiles of 64.
        assert_eq!(&p42[36..], &[0, 0, 0, 2048, 0, 0, -1]);
        let hot = ProcessDescriptor {
            feature_nm: 22,
            vdd_mv: 800,
            temperature_c: 61,
        };
        b.reset(mesh, hot);
        feed(&mut b, mesh, &path).unwrap();
        b.power_input(42, &mut p42).unwrap();
        // 0.22 -> 14417.92, 0.8 -> 52428.8, 0.61 -> 39976.96 (rounded half up).
        assert_eq!(&p42[36..42], &[14418, 52429, 39977, 2048, 0, 0]);
        assert!(b.power_input(42, &mut p42[..41]).is_err());
        assert!(matches!(b.power_input(40, &mut p42), Err(Error::Config(_))));
    }

    #[test]
    fn arbitrary_call_sequences_never_panic() {
        let mesh = Mesh::new(3, 2).unwrap();
        let mut b: GraphBuilder<12, 9> =
            GraphBuilder::new(mesh, ProcessDescriptor::default()).unwrap();
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut x, mut rp, mut src, mut w) =
            ([0i32; 12 * NODE_FEATURES], [0u32; 13], [0u32; 9], [0i32; 9]);
        for round in 0..2000 {
            let r = next();
            let _ = match r % 8 {
                0 => b.begin_event(),
                1 => b.end_event(),
                2 if round % 50 == 0 => {
                    b.reset(mesh, ProcessDescriptor::default());
                    Ok(())
                }
                3 => {
                    let before = (b.num_nodes(), b.num_edges());
                    let res = b.finish(GraphBuffers::new(&mut x, &mut rp, &mut src, &mut w));
                    if let Ok(g) = res {
                        assert_eq!(
                            (g.graph.num_nodes() as usize, g.graph.num_edges() as usize),
                            before
                        );
                    }
                    Ok(())
                }
                _ => {
                    let id = (r >> 8) as u32 % 110; // some ids outside the 97 of the mesh
                    let t0 = (r >> 20) % 5000;
                    let t1 = (t0 + (r >> 40) % 3000).saturating_sub(500);
                    let before = (b.num_nodes(), b.num_edges());
                    let res = b.hop(id, t0, t1);
                    if res.is_err() {
                        assert_eq!((b.num_nodes(), b.num_edges()), before);
                    }
                    res
                }
            };
            assert!(b.num_nodes() <= 12 && b.num_edges() <= 9);
        }
    }
}
