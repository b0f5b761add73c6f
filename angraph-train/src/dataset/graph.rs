//! One graph on the host: the `angraph-core` transform behind a heap-allocated builder, and the
//! record the dataset writer stores.

use angraph_core::component::Mesh;
use angraph_core::features::{
    to_f32, EventLoad, ProcessDescriptor, StreamSummary, EDGE_FEATURES, NODE_FEATURES,
};
use angraph_core::transform::{GraphBuffers, GraphBuilder};
use anyhow::{anyhow, Result};

/// Node capacity of the small host builder (up to 8x8 = 1025 components).
pub const SMALL_NODES: usize = 1100;
/// Edge capacity of the small host builder.
pub const SMALL_EDGES: usize = 4096;
/// Node capacity of the large host builder (up to 16x16 = 4097 components).
pub const LARGE_NODES: usize = 4100;
/// Edge capacity of the large host builder.
pub const LARGE_EDGES: usize = 16384;

/// The core [`GraphBuilder`] with host capacities, boxed; the capacity is chosen by the mesh
/// (meshes above 16x16 are refused with a capacity error naming the mesh).
pub enum HostBuilder {
    /// Up to 8x8.
    Small(Box<GraphBuilder<SMALL_NODES, SMALL_EDGES>>),
    /// Up to 16x16.
    Large(Box<GraphBuilder<LARGE_NODES, LARGE_EDGES>>),
}

macro_rules! each {
    ($self:ident, $b:ident => $e:expr) => {
        match $self {
            HostBuilder::Small($b) => $e,
            HostBuilder::Large($b) => $e,
        }
    };
}

/// A builder built in place on the heap: a large one is megabytes, more than a worker thread's
/// stack holds (`GraphBuilder::new` returns it by value).
fn boxed<const N: usize, const E: usize>(
    mesh: Mesh,
    process: ProcessDescriptor,
) -> angraph_core::Result<Box<GraphBuilder<N, E>>> {
    let mut slot = Box::<GraphBuilder<N, E>>::new_uninit();
    GraphBuilder::init_in(&mut slot, mesh, process)?;
    // SAFETY: `init_in` returned Ok, so it initialised the builder in `slot`.
    Ok(unsafe { slot.assume_init() })
}

impl HostBuilder {
    /// A builder able to hold every component of `mesh`.
    pub fn new(mesh: Mesh, process: ProcessDescriptor) -> Result<HostBuilder> {
        let cap = |e| anyhow!("mesh {}x{}: {e}", mesh.width, mesh.height);
        if mesh.check_capacity(SMALL_NODES).is_ok() {
            Ok(HostBuilder::Small(boxed(mesh, process).map_err(cap)?))
        } else {
            mesh.check_capacity(LARGE_NODES).map_err(|e| {
                anyhow!(
                    "mesh {}x{} is too large for the configured capacities ({} nodes): {e}",
                    mesh.width,
                    mesh.height,
                    LARGE_NODES
                )
            })?;
            Ok(HostBuilder::Large(boxed(mesh, process).map_err(cap)?))
        }
    }

    /// Start over for `mesh` (reusing the allocation when it fits); `process` is checked as
    /// [`GraphBuilder::new`] checks it.
    pub fn reset(&mut self, mesh: Mesh, process: ProcessDescriptor) -> Result<()> {
        process
            .validate()
            .map_err(|e| anyhow!("mesh {}x{}: {e}", mesh.width, mesh.height))?;
        let fits = match self {
            HostBuilder::Small(_) => mesh.check_capacity(SMALL_NODES).is_ok(),
            HostBuilder::Large(_) => mesh.check_capacity(LARGE_NODES).is_ok(),
        };
        if fits {
            each!(self, b => b.reset(mesh, process));
        } else {
            *self = HostBuilder::new(mesh, process)?;
        }
        Ok(())
    }

    /// See [`GraphBuilder::begin_event`].
    pub fn begin_event(&mut self) -> angraph_core::Result<()> {
        each!(self, b => b.begin_event())
    }
    /// See [`GraphBuilder::begin_event_with`].
    pub fn begin_event_with(&mut self, load: EventLoad) -> angraph_core::Result<()> {
        each!(self, b => b.begin_event_with(load))
    }
    /// See [`GraphBuilder::end_event`].
    pub fn end_event(&mut self) -> angraph_core::Result<()> {
        each!(self, b => b.end_event())
    }
    /// See [`GraphBuilder::hop`].
    pub fn hop(&mut self, id: u32, enter: u64, leave: u64) -> angraph_core::Result<()> {
        each!(self, b => b.hop(id, enter, leave))
    }

    /// ANGraph-P's input of the stream so far for a model of input width `in_dim` (36: the
    /// 6 x 6 activity matrix; 42: followed by the operating-conditions row; 48: then the load
    /// row), as Q16.16
    /// (`angraph_core::power_input`, the chip's computation).
    pub fn power_input_fixed(&self, in_dim: usize) -> Result<Vec<i32>> {
        let mut q = vec![0i32; in_dim];
        each!(self, b => b.power_input(in_dim, &mut q)).map_err(|e| anyhow!("power input: {e}"))?;
        Ok(q)
    }

    /// [`Self::power_input_fixed`] as `f32` = Q16.16 / 65536 exactly (what power datasets store).
    pub fn power_input(&self, in_dim: usize) -> Result<Vec<f32>> {
        Ok(self
            .power_input_fixed(in_dim)?
            .into_iter()
            .map(to_f32)
            .collect())
    }

    /// Finish into a [`GraphRecord`] (f32 features = Q16.16 / 65536 exactly).
    pub fn finish(&mut self) -> Result<GraphRecord> {
        let (n, e) = each!(self, b => (b.num_nodes(), b.num_edges()));
        let mut x = vec![0i32; n * NODE_FEATURES];
        let mut row_ptr = vec![0u32; n + 1];
        let mut src = vec![0u32; e];
        let mut w = vec![0i32; e];
        let mut attr = vec![0i32; e * EDGE_FEATURES];
        let mut ids = vec![0u32; n];
        let mut bufs = GraphBuffers::new(&mut x, &mut row_ptr, &mut src, &mut w);
        bufs.edge_attr = &mut attr;
        bufs.components = &mut ids;
        let built = each!(self, b => b.finish(bufs)).map_err(|e| anyhow!("transform: {e}"))?;
        let summary = built.summary;
        let mut edges = Vec::with_capacity(e);
        for v in 0..n {
            for &s in &src[row_ptr[v] as usize..row_ptr[v + 1] as usize] {
                edges.push((s, v as u32));
            }
        }
        Ok(GraphRecord {
            num_nodes: n as u32,
            x_fixed: x,
            edges,
            activities: w.iter().map(|&a| a as u32).collect(),
            edge_attr_fixed: attr,
            components: ids,
            summary,
        })
    }
}

/// A finished graph: COO edges in CSR-by-target order, Q16.16 features, activities.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphRecord {
    /// Nodes.
    pub num_nodes: u32,
    /// `num_nodes x NODE_FEATURES` Q16.16 node features.
    pub x_fixed: Vec<i32>,
    /// `(source, target)` per edge.
    pub edges: Vec<(u32, u32)>,
    /// Traversal count per edge.
    pub activities: Vec<u32>,
    /// `num_edges x EDGE_FEATURES` Q16.16 edge features.
    pub edge_attr_fixed: Vec<i32>,
    /// Component id of each node.
    pub components: Vec<u32>,
    /// Whole-stream statistics (span = system-level latency estimate).
    pub summary: StreamSummary,
}

impl GraphRecord {
    /// Node features as `f32` (exactly `fixed / 65536`).
    pub fn x_f32(&self) -> Vec<f32> {
        self.x_fixed.iter().map(|&q| to_f32(q)).collect()
    }
}
