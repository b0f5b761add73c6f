//! The on-chip estimator: hops in, latency (ANGraph-L) and energy (ANGraph-P) out, in the
//! integrator's arena, without a heap.
//!
//! Streaming: [`Estimator::begin_event`], [`Estimator::hop`] (component id + enter/leave
//! timestamps in ps), [`Estimator::end_event`] feed `angraph_core`'s [`GraphBuilder`], which keeps
//! only per-component and per-edge statistics; [`Estimator::predict`] builds the topology, pushes
//! each node's feature row through ANGraph-L's first stage and runs the layers in the builder's
//! memory. A prediction therefore consumes the stream window: [`Estimator::reset`] starts the
//! next one. The fixed-point results are bit-identical to `angraph_core::latency::predict_fixed`
//! on the graph `GraphBuilder::finish` produces (both run the same two stages).
//!
//! [`EnergyEstimator`] runs ANGraph-P on an activity vector with its own small workspace;
//! [`Estimator::predict_energy`] fills it from the stream window (activity matrix, and the
//! operating conditions when the model's `in_dim` is 42).

use crate::arena::{layout, Dims, Layout, Region};
use crate::status::{Result, Status};
use angraph_core::component::Mesh;
use angraph_core::features::{
    EventLoad, ProcessDescriptor, StreamSummary, NODE_FEATURES, V1_NODE_FEATURES,
};
use angraph_core::graph::{csr_from_coo, GraphView};
use angraph_core::latency::{self, FixedInput};
use angraph_core::power::{self, Energy};
use angraph_core::transform::GraphBuilder;
use angraph_core::trust::{Envelope, Interval};
use angraph_core::{Error, Family, Fixed, Model, Precision};
use core::mem::MaybeUninit;

/// One prediction of the stream window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// ANGraph-L output (model units: x `label_scale` of the blob = latency in its unit).
    pub latency: Fixed,
    /// Nodes (distinct components) of the graph.
    pub nodes: u32,
    /// Edges (distinct consecutive pairs) of the graph.
    pub edges: u32,
    /// Whole-window statistics (`span()` is the system-level latency estimate, ps).
    pub summary: StreamSummary,
    /// The calibrated interval of `latency` (`None` when the blob has no trust section).
    pub interval: Option<Interval>,
    /// Whether the window looks like the training data (`None` without a trust section).
    pub envelope: Option<Envelope>,
}

/// A failure inside the estimator: a status decided here, or an `angraph_core` error (kept as
/// [`Estimator::last_error`] for logs: it names the field, index or value).
enum Fail {
    Status(Status),
    Core(Error),
}

impl From<Status> for Fail {
    fn from(s: Status) -> Self {
        Fail::Status(s)
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Core(e)
    }
}

type Inner<T> = core::result::Result<T, Fail>;

fn settle<T>(last: &mut Option<Error>, r: Inner<T>) -> Result<T> {
    match r {
        Ok(v) => Ok(v),
        Err(Fail::Status(s)) => {
            *last = None;
            Err(s)
        }
        Err(Fail::Core(e)) => {
            *last = Some(e);
            Err(e.into())
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The shared region holds an initialised builder.
    Streaming,
    /// The shared region was used as workspace: the builder must be re-initialised.
    Consumed,
}

/// A streaming estimator for meshes with at most `NODES` distinct components and `EDGES`
/// distinct consecutive pairs, borrowing its arena and its model blobs (zero-copy) for `'a`.
pub struct Estimator<'a, const NODES: usize, const EDGES: usize> {
    latency: &'a Model<'a>,
    mesh: Mesh,
    process: ProcessDescriptor,
    shared: &'a mut [u8],
    input: &'a mut [u8],
    row_ptr: &'a mut [u32],
    src: &'a mut [u32],
    weight: &'a mut [i32],
    row: &'a mut [i32],
    state: State,
    last_error: Option<Error>,
}

/// The next region of the arena (regions come in layout order); `ArenaTooSmall` if it does not
/// fit what is left.
fn take<'a>(rest: &mut &'a mut [u8], used: &mut usize, r: Region) -> Result<&'a mut [u8]> {
    let buf = core::mem::take(rest);
    let skip = r.offset.checked_sub(*used).ok_or(Status::ArenaTooSmall)?;
    if buf.len() < skip || buf.len() - skip < r.len {
        return Err(Status::ArenaTooSmall);
    }
    let (_, tail) = buf.split_at_mut(skip);
    let (mine, after) = tail.split_at_mut(r.len);
    *used = r.offset + r.len;
    *rest = after;
    Ok(mine)
}

fn typed<T: angraph_core::workspace::Plain>(bytes: &mut [u8], n: usize) -> &mut [T] {
    // SAFETY: `T` is a plain integer type (every bit pattern valid); `bytes` is 8-aligned by the
    // layout and holds at least `n * size_of::<T>()` bytes; `align_to_mut` only hands out an
    // aligned, in-bounds middle part.
    let (head, mid, _) = unsafe { bytes.align_to_mut::<T>() };
    debug_assert!(head.is_empty());
    let n = n.min(mid.len());
    &mut mid[..n]
}

fn check_latency(model: &Model<'_>) -> Result<()> {
    if model.family() != Family::Latency {
        return Err(Status::WrongFamily);
    }
    if model.precision() == Precision::F32 {
        return Err(Status::WrongPrecision);
    }
    Ok(())
}

impl<'a, const NODES: usize, const EDGES: usize> Estimator<'a, NODES, EDGES> {
    /// Bytes of arena for model dimensions `dims` (see [`crate::arena_bytes`]).
    pub const fn arena_bytes(dims: Dims) -> usize {
        crate::arena::arena_bytes::<NODES, EDGES>(dims)
    }

    /// Carve the arena for the ANGraph-L `model` and start an empty stream window for `mesh`.
    /// Load the model with `Model::from_bytes` (or, on a microcontroller, straight into a
    /// `static` with `Model::from_bytes_into`: a model is about 4 KB). Errors: an ANGraph-P or
    /// f32 model, an arena smaller than `arena_bytes(dims)`, a model larger than `dims`.
    pub fn new(
        arena: &'a mut [u8],
        dims: Dims,
        model: &'a Model<'a>,
        mesh: Mesh,
        process: ProcessDescriptor,
    ) -> Result<Self> {
        let latency = model;
        check_latency(latency)?;
        if !dims.is_valid() {
            return Err(Status::ModelTooLarge);
        }
        let l: Layout = layout::<NODES, EDGES>(dims);
        let pad = arena.as_ptr().align_offset(8);
        if pad > 8 || arena.len() < pad + l.end {
            return Err(Status::ArenaTooSmall);
        }
        let (_, mut rest) = arena.split_at_mut(pad);
        let mut used = 0;
        let shared = take(&mut rest, &mut used, l.shared)?;
        let input = take(&mut rest, &mut used, l.input)?;
        let row_ptr = typed::<u32>(take(&mut rest, &mut used, l.row_ptr)?, NODES + 1);
        let src = typed::<u32>(take(&mut rest, &mut used, l.src)?, EDGES);
        let weight = typed::<i32>(take(&mut rest, &mut used, l.weight)?, EDGES);
        let row_len = l.row.len / 4;
        let row = typed::<i32>(take(&mut rest, &mut used, l.row)?, row_len);
        // The model must fit the dimensions the arena was sized for.
        let n = NODES as u32;
        if latency::input_workspace(latency, n) > input.len()
            || latency::layer_workspace(latency, n) > shared.len()
            || latency.latency_config()?.in_dim as usize > row.len()
        {
            return Err(Status::ModelTooLarge);
        }
        if core::mem::size_of::<GraphBuilder<NODES, EDGES>>() > shared.len()
            || shared
                .as_ptr()
                .align_offset(core::mem::align_of::<GraphBuilder<NODES, EDGES>>())
                != 0
        {
            return Err(Status::ArenaTooSmall);
        }
        let mut est = Estimator {
            latency,
            mesh,
            process,
            shared,
            input,
            row_ptr,
            src,
            weight,
            row,
            state: State::Consumed,
            last_error: None,
        };
        est.reset_to(mesh, process)?;
        Ok(est)
    }

    /// The `angraph_core` error behind the last failed call, when there was one (it names the
    /// offending field, index or value; `Display` gives a sentence for logs).
    pub fn last_error(&self) -> Option<Error> {
        self.last_error
    }

    /// The ANGraph-L model.
    pub fn latency_model(&self) -> &'a Model<'a> {
        self.latency
    }

    /// The mesh of the current stream window.
    pub fn mesh(&self) -> Mesh {
        self.mesh
    }

    /// Start a new, empty stream window (after a prediction, or to drop a window).
    pub fn reset(&mut self) -> Result<()> {
        self.reset_to(self.mesh, self.process)
    }

    /// Start a new, empty stream window for another mesh or process.
    pub fn reset_to(&mut self, mesh: Mesh, process: ProcessDescriptor) -> Result<()> {
        let r = self.reset_to_inner(mesh, process);
        settle(&mut self.last_error, r)
    }

    fn reset_to_inner(&mut self, mesh: Mesh, process: ProcessDescriptor) -> Inner<()> {
        let slot = self.shared.as_mut_ptr() as *mut MaybeUninit<GraphBuilder<NODES, EDGES>>;
        // SAFETY: `new` checked that `shared` is aligned for and at least as large as the
        // builder; `MaybeUninit` has no validity requirement, and `init_in` initialises it.
        let slot = unsafe { &mut *slot };
        GraphBuilder::init_in(slot, mesh, process)?;
        self.mesh = mesh;
        self.process = process;
        self.state = State::Streaming;
        Ok(())
    }

    /// The builder in the shared region.
    ///
    /// # Safety
    /// Only in `State::Streaming`: `init_in` initialised a builder at the start of `shared`
    /// (aligned and large enough, checked in `new`) and nothing else wrote that memory since.
    unsafe fn builder(shared: &mut [u8]) -> &mut GraphBuilder<NODES, EDGES> {
        // SAFETY: the caller's contract above; the returned borrow is tied to `shared`.
        unsafe { &mut *(shared.as_mut_ptr() as *mut GraphBuilder<NODES, EDGES>) }
    }

    fn streaming(&mut self) -> Result<&mut GraphBuilder<NODES, EDGES>> {
        match self.state {
            // SAFETY: the state says the builder is initialised and intact.
            State::Streaming => Ok(unsafe { Self::builder(self.shared) }),
            State::Consumed => Err(Status::NeedsReset),
        }
    }

    /// Open an event (one spike's path).
    pub fn begin_event(&mut self) -> Result<()> {
        let r = self.begin_event_inner();
        settle(&mut self.last_error, r)
    }

    fn begin_event_inner(&mut self) -> Inner<()> {
        Ok(self.streaming()?.begin_event()?)
    }

    /// Open an event that reads `load.words` synaptic words at its destination and fires
    /// `load.fires` neurons there (`angraph_core::features::EventLoad`; node features 35 and
    /// 36, the power input's load row).
    pub fn begin_event_with(&mut self, load: EventLoad) -> Result<()> {
        let r = self.begin_event_with_inner(load);
        settle(&mut self.last_error, r)
    }

    fn begin_event_with_inner(&mut self, load: EventLoad) -> Inner<()> {
        Ok(self.streaming()?.begin_event_with(load)?)
    }

    /// One hop of the open event: dense component id (`angraph_core::component`: `16 * tile +
    /// slot`, the injector `16 * tiles`), entered at `enter_ps` and left at `leave_ps`
    /// (picoseconds; 0 for untimed streams). A failed hop changes nothing.
    pub fn hop(&mut self, component: u32, enter_ps: u64, leave_ps: u64) -> Result<()> {
        let r = self.hop_inner(component, enter_ps, leave_ps);
        settle(&mut self.last_error, r)
    }

    fn hop_inner(&mut self, component: u32, enter_ps: u64, leave_ps: u64) -> Inner<()> {
        Ok(self.streaming()?.hop(component, enter_ps, leave_ps)?)
    }

    /// Close the open event.
    pub fn end_event(&mut self) -> Result<()> {
        let r = self.end_event_inner();
        settle(&mut self.last_error, r)
    }

    fn end_event_inner(&mut self) -> Inner<()> {
        Ok(self.streaming()?.end_event()?)
    }

    /// Distinct components and pairs so far, and the window's statistics.
    pub fn progress(&mut self) -> Result<(u32, u32, StreamSummary)> {
        let r = self.progress_inner();
        settle(&mut self.last_error, r)
    }

    fn progress_inner(&mut self) -> Inner<(u32, u32, StreamSummary)> {
        let b = self.streaming()?;
        Ok((b.num_nodes() as u32, b.num_edges() as u32, b.summary()))
    }

    /// ANGraph-P's input from the stream window so far (the 6 x 6 activity matrix, Q16.16,
    /// `GraphBuilder::activity_matrix`) into `out[..36]`. Does not consume the window.
    pub fn activity_matrix(&mut self, out: &mut [i32]) -> Result<()> {
        let r = self.activity_matrix_inner(out);
        settle(&mut self.last_error, r)
    }

    fn activity_matrix_inner(&mut self, out: &mut [i32]) -> Inner<()> {
        Ok(self.streaming()?.activity_matrix(out)?)
    }

    /// Energy of the stream window so far: ANGraph-P (`energy`) on the input its `in_dim`
    /// asks for (`angraph_core::power_input`): 36 = the window's activity matrix, 42 = the
    /// matrix then the operating-conditions row (process node, Vdd and junction temperature of
    /// the window's [`ProcessDescriptor`], mesh size), computed in the energy estimator's own
    /// input buffer. Other widths: [`Status::InvalidModel`] (the core error names `in_dim`).
    /// Does not consume the window: call it before [`Self::predict`]. To report a new
    /// temperature reading, start the window with [`Self::reset_to`].
    pub fn predict_energy(&mut self, energy: &mut EnergyEstimator<'_>) -> Result<Energy<Fixed>> {
        let r = self.predict_energy_inner(energy);
        settle(&mut self.last_error, r)
    }

    fn predict_energy_inner(&mut self, energy: &mut EnergyEstimator<'_>) -> Inner<Energy<Fixed>> {
        let d = energy.input.len();
        self.streaming()?.power_input(d, energy.input)?;
        Ok(energy.run()?)
    }

    /// [`Self::predict_energy`] with the intervals and envelope verdict of the power blob's
    /// trust section (`None` without one).
    pub fn predict_energy_assessed(
        &mut self,
        energy: &mut EnergyEstimator<'_>,
    ) -> Result<power::Assessed> {
        let r = self.predict_energy_assessed_inner(energy);
        settle(&mut self.last_error, r)
    }

    fn predict_energy_assessed_inner(
        &mut self,
        energy: &mut EnergyEstimator<'_>,
    ) -> Inner<power::Assessed> {
        let d = energy.input.len();
        self.streaming()?.power_input(d, energy.input)?;
        Ok(power::predict_assessed(
            energy.power,
            energy.input,
            energy.workspace,
        )?)
    }

    /// Predict latency from the stream window, which this consumes (call [`Self::reset`] next).
    pub fn predict(&mut self) -> Result<Prediction> {
        let r = self.predict_inner();
        settle(&mut self.last_error, r)
    }

    fn predict_inner(&mut self) -> Inner<Prediction> {
        if self.state != State::Streaming {
            return Err(Status::NeedsReset.into());
        }
        // SAFETY: checked just above: the builder is initialised and intact.
        let b = unsafe { Self::builder(self.shared) };
        let summary = b.summary();
        let topo = b.finish_topology(self.row_ptr, self.src, self.weight)?;
        let n = topo.num_nodes();
        let in_dim = self.latency.latency_config()?.in_dim as usize;
        // Feature set 2 (37) or a set-1 model (35), which reads the set-1 prefix of each row.
        if in_dim != NODE_FEATURES && in_dim != V1_NODE_FEATURES {
            return Err(Status::ModelTooLarge.into());
        }
        let mut stage = FixedInput::new(self.latency, n, self.input)?;
        let row = &mut self.row[..NODE_FEATURES];
        for v in 0..n as usize {
            b.node_features_at(v, row)?;
            stage.push_node(row)?;
        }
        // From here on the builder's memory is the layers' workspace.
        self.state = State::Consumed;
        let a = stage.finish_assessed(&topo, self.shared)?;
        Ok(Prediction {
            latency: a.value,
            nodes: n,
            edges: topo.num_edges(),
            summary,
            interval: a.interval,
            envelope: a.envelope,
        })
    }

    /// ANGraph-L on a graph the caller built (Q16.16 features `num_nodes x in_dim`): the same
    /// two stages as `predict_fixed`. Uses the shared region, so it ends the stream window.
    pub fn predict_graph(&mut self, graph: &GraphView<'_, i32>) -> Result<Fixed> {
        let r = self.predict_graph_inner(graph);
        settle(&mut self.last_error, r)
    }

    fn predict_graph_inner(&mut self, graph: &GraphView<'_, i32>) -> Inner<Fixed> {
        let n = graph.num_nodes();
        if n as usize > NODES || graph.num_edges() as usize > EDGES {
            return Err(if n as usize > NODES {
                Status::NodeCapacity.into()
            } else {
                Status::EdgeCapacity.into()
            });
        }
        let c = self.latency.latency_config()?;
        if graph.feature_width() != c.in_dim as u32 {
            return Err(Status::ModelTooLarge.into());
        }
        self.state = State::Consumed;
        let mut stage = FixedInput::new(self.latency, n, self.input)?;
        for v in 0..n as usize {
            stage.push_node(graph.node_features(v))?;
        }
        Ok(stage.finish(graph, self.shared)?)
    }

    /// ANGraph-L on a graph given as COO edges (`edge_src[i] -> edge_dst[i]`, optional
    /// activities) and row-major Q16.16 features: builds the CSR in the arena, then as
    /// [`Self::predict_graph`]. Ends the stream window.
    pub fn predict_coo(
        &mut self,
        num_nodes: u32,
        x: &[i32],
        edge_src: &[u32],
        edge_dst: &[u32],
        activities: Option<&[i32]>,
    ) -> Result<Fixed> {
        let r = self.predict_coo_inner(num_nodes, x, edge_src, edge_dst, activities);
        settle(&mut self.last_error, r)
    }

    fn predict_coo_inner(
        &mut self,
        num_nodes: u32,
        x: &[i32],
        edge_src: &[u32],
        edge_dst: &[u32],
        activities: Option<&[i32]>,
    ) -> Inner<Fixed> {
        let (n, e) = (num_nodes as usize, edge_src.len());
        if n > NODES {
            return Err(Status::NodeCapacity.into());
        }
        if e > EDGES {
            return Err(Status::EdgeCapacity.into());
        }
        if edge_dst.len() != e || activities.is_some_and(|a| a.len() != e) {
            return Err(Status::BufferLength.into());
        }
        if n == 0 {
            return Err(Status::EmptyStream.into());
        }
        let in_dim = self.latency.latency_config()?.in_dim as usize;
        if x.len() != n * in_dim {
            return Err(Status::BufferLength.into());
        }
        self.state = State::Consumed;
        // The permutation lives in the shared region until the layers need it.
        let perm = typed::<u32>(&mut *self.shared, e);
        if perm.len() < e {
            return Err(Status::ArenaTooSmall.into());
        }
        let (row_ptr, src) = (&mut self.row_ptr[..n + 1], &mut self.src[..e]);
        csr_from_coo(num_nodes, edge_src, edge_dst, row_ptr, src, perm)?;
        let weight = &mut self.weight[..e];
        if let Some(a) = activities {
            for (w, &p) in weight.iter_mut().zip(perm.iter()) {
                *w = a.get(p as usize).copied().ok_or(Status::InvalidGraph)?;
            }
        }
        let graph = GraphView::new(
            in_dim as u32,
            x,
            &self.row_ptr[..n + 1],
            &self.src[..e],
            activities.map(|_| &self.weight[..e]),
        )?;
        let mut stage = FixedInput::new(self.latency, num_nodes, self.input)?;
        for v in 0..n {
            stage.push_node(graph.node_features(v))?;
        }
        Ok(stage.finish(&graph, self.shared)?)
    }
}

/// Inputs of ANGraph-P computed from a stream: the 6 x 6 activity matrix (the original's
/// input), or the matrix followed by the operating-conditions row (`angraph_core::power_input`).
pub use angraph_core::power_input::{ACTIVITY_INPUTS, CONDITIONS_INPUTS};

/// ANGraph-P on the chip: one activity vector (Q16.16) in, per-head energies and their total
/// out, in a caller workspace of [`EnergyEstimator::workspace_bytes`] bytes.
pub struct EnergyEstimator<'a> {
    power: &'a Model<'a>,
    input: &'a mut [i32],
    workspace: &'a mut [u8],
}

impl<'a> EnergyEstimator<'a> {
    /// Workspace bytes for an ANGraph-P whose widest layer (input included) is `max_width` and
    /// whose input has `in_dim` values. A `const fn`.
    pub const fn workspace_bytes(max_width: usize, in_dim: usize) -> usize {
        8 + ((power::fixed_workspace_bound(max_width) + 7) & !7) + 4 * in_dim
    }

    /// For the ANGraph-P `model`. Errors: an ANGraph-L model ([`Status::WrongFamily`]), an f32
    /// model, a workspace that is too small.
    pub fn new(model: &'a Model<'a>, workspace: &'a mut [u8]) -> Result<Self> {
        let power = model;
        if power.family() != Family::Power {
            return Err(Status::WrongFamily);
        }
        if power.precision() == Precision::F32 {
            return Err(Status::WrongPrecision);
        }
        let d = power.power_config()?.in_dim as usize;
        let pad = workspace.as_ptr().align_offset(8);
        let ws_len = (power::required_workspace(power) + 7) & !7;
        if pad > 8 || workspace.len() < pad + ws_len + 4 * d {
            return Err(Status::ArenaTooSmall);
        }
        let (_, rest) = workspace.split_at_mut(pad);
        let (ws, rest) = rest.split_at_mut(ws_len);
        let input = typed::<i32>(rest, d);
        if input.len() < d {
            return Err(Status::ArenaTooSmall);
        }
        Ok(EnergyEstimator {
            power,
            input,
            workspace: ws,
        })
    }

    /// The ANGraph-P model.
    pub fn model(&self) -> &'a Model<'a> {
        self.power
    }

    /// Predict from one input vector (Q16.16, the model's `in_dim` values; for 36 or 42 see
    /// `angraph_core::power_input`).
    pub fn predict(&mut self, activity: &[i32]) -> Result<Energy<Fixed>> {
        let d = self.input.len();
        if activity.len() != d {
            return Err(Status::BufferLength);
        }
        self.input.copy_from_slice(activity);
        self.run()
    }

    /// [`Self::predict`] with the intervals and envelope verdict of the blob's trust section
    /// (`None` without one): bit-identical to `angraph_core::power::predict_assessed`.
    pub fn predict_assessed(&mut self, activity: &[i32]) -> Result<power::Assessed> {
        let d = self.input.len();
        if activity.len() != d {
            return Err(Status::BufferLength);
        }
        self.input.copy_from_slice(activity);
        Ok(power::predict_assessed(
            self.power,
            self.input,
            self.workspace,
        )?)
    }

    /// The model's input width (36 or 42 for a model fed from a stream).
    pub fn in_dim(&self) -> usize {
        self.input.len()
    }

    /// ANGraph-P on the input buffer as it is.
    fn run(&mut self) -> Result<Energy<Fixed>> {
        let mut out = [Energy::<Fixed>::ZERO];
        power::predict_fixed(self.power, self.input, &mut out, self.workspace)?;
        Ok(out[0])
    }
}
