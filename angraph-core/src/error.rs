//! The one error type of `angraph-core`.

use core::fmt;

/// A fixed capacity of `angraph-core` (what [`Error::Capacity`] ran out of).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resource {
    /// Components of one graph: a `GraphBuilder`'s `MAX_NODES` (or a mesh's component count
    /// against it).
    GraphNodes,
    /// Distinct consecutive component pairs of one graph: a `GraphBuilder`'s `MAX_EDGES`.
    GraphEdges,
    /// Node or edge counts of a graph or builder beyond what `u32` indices address.
    Indices,
    /// Linear layers of a model ([`crate::config::MAX_LINEARS`]).
    LinearLayers,
    /// Tensors of a blob ([`crate::blob::MAX_TENSORS`]).
    Tensors,
    /// Bytes of a working-memory request (the size overflows `usize`).
    Workspace,
    /// Calibrated intervals of a trust section ([`crate::trust::MAX_INTERVALS`]).
    TrustIntervals,
    /// Covariate bins of a trust section ([`crate::trust::MAX_BINS`]).
    TrustBins,
}

impl Resource {
    /// A short name for messages.
    pub const fn name(self) -> &'static str {
        match self {
            Resource::GraphNodes => "graph nodes",
            Resource::GraphEdges => "graph edges",
            Resource::Indices => "u32 node / edge indices",
            Resource::LinearLayers => "linear layers",
            Resource::Tensors => "blob tensors",
            Resource::Workspace => "workspace bytes",
            Resource::TrustIntervals => "trust intervals",
            Resource::TrustBins => "trust bins",
        }
    }
}

/// Everything that can go wrong in `angraph-core`. `Copy`, allocation-free, and specific enough
/// to name the offending field, index or value. New variants may come in minor versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // variant fields are named after what they hold
#[non_exhaustive]
pub enum Error {
    /// The blob does not start with the `ANGQ` magic.
    BadMagic,
    /// The blob's format version is not one this build reads.
    UnsupportedVersion(u16),
    /// The blob's checksum does not match its contents.
    Checksum { stored: u32, computed: u32 },
    /// The blob is shorter than its own structure says, or has trailing bytes.
    Truncated,
    /// postcard could not decode the blob body.
    Decode,
    /// postcard could not encode (buffer too small).
    Encode,
    /// The model has a different family than the caller asked for.
    WrongFamily,
    /// The model has a different precision than the execution path needs.
    WrongPrecision,
    /// A configuration field is out of its allowed range.
    Config(&'static str),
    /// A tensor has the wrong number of bytes for the shape the config implies.
    TensorLength {
        index: u16,
        expected: u32,
        found: u32,
    },
    /// The number of tensors does not match the config.
    TensorCount { expected: u16, found: u16 },
    /// A quantization parameter (multiplier or shift) is out of range.
    QuantParam { index: u16 },
    /// The graph's feature width differs from the model's input width.
    FeatureWidth { expected: u32, found: u32 },
    /// A graph array has a length that disagrees with the node or edge count.
    GraphLength {
        field: &'static str,
        expected: u32,
        found: u32,
    },
    /// `row_ptr` must start at 0, never decrease and end at the edge count.
    RowPtr { node: u32 },
    /// An edge refers to a node that does not exist.
    NodeIndex {
        edge: u32,
        node: u32,
        num_nodes: u32,
    },
    /// An edge weight is negative or not finite.
    EdgeWeight { edge: u32 },
    /// The graph has more nodes than the model's limit.
    TooManyNodes { num_nodes: u32, max: u32 },
    /// The graph has no nodes.
    EmptyGraph,
    /// The caller's workspace is smaller than `required_workspace`.
    Workspace { needed: usize, given: usize },
    /// An output buffer is too small.
    OutputLength { needed: usize, given: usize },
    /// A fixed capacity was exceeded: `needed` of `what` where `limit` is the most there is
    /// (`needed` saturates at `usize::MAX`).
    Capacity {
        what: Resource,
        needed: usize,
        limit: usize,
    },
    /// An input value is not a finite number (f32 path, calibration).
    NotFinite(&'static str),
    /// A string is not a component name of the TrueAsync form (`IU-p of Router-k`, ...).
    ComponentName,
    /// A component (by dense id, or a tile index) lies outside the configured mesh.
    OutOfMesh { id: u32, limit: u32 },
    /// An event stream is malformed (e.g. a hop leaves before it enters, a hop outside an event).
    Stream(&'static str),
    /// An operating condition (the named field of a `ProcessDescriptor`) is outside its
    /// physical range.
    Process(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::BadMagic => write!(f, "not a model blob: magic is not \"ANGQ\""),
            Error::UnsupportedVersion(v) => write!(f, "unsupported blob format version {v}"),
            Error::Checksum { stored, computed } => {
                write!(
                    f,
                    "blob checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"
                )
            }
            Error::Truncated => write!(f, "blob is truncated or has trailing bytes"),
            Error::Decode => write!(f, "blob body could not be decoded"),
            Error::Encode => write!(f, "blob could not be encoded"),
            Error::WrongFamily => write!(f, "model family does not match (latency vs power)"),
            Error::WrongPrecision => write!(f, "model precision does not match the execution path"),
            Error::Config(field) => write!(f, "invalid model config field `{field}`"),
            Error::TensorLength {
                index,
                expected,
                found,
            } => {
                write!(
                    f,
                    "tensor {index}: expected {expected} bytes, found {found}"
                )
            }
            Error::TensorCount { expected, found } => {
                write!(f, "expected {expected} tensors, found {found}")
            }
            Error::QuantParam { index } => {
                write!(f, "quantization parameter {index} out of range")
            }
            Error::FeatureWidth { expected, found } => {
                write!(
                    f,
                    "graph has {found} features per node, model expects {expected}"
                )
            }
            Error::GraphLength {
                field,
                expected,
                found,
            } => {
                write!(
                    f,
                    "graph field `{field}`: expected length {expected}, found {found}"
                )
            }
            Error::RowPtr { node } => write!(f, "graph row_ptr is not monotone at node {node}"),
            Error::NodeIndex {
                edge,
                node,
                num_nodes,
            } => {
                write!(
                    f,
                    "edge {edge} refers to node {node}, graph has {num_nodes} nodes"
                )
            }
            Error::EdgeWeight { edge } => {
                write!(f, "edge {edge} has a negative or non-finite weight")
            }
            Error::TooManyNodes { num_nodes, max } => {
                write!(f, "graph has {num_nodes} nodes, model limit is {max}")
            }
            Error::EmptyGraph => write!(f, "graph has no nodes"),
            Error::Workspace { needed, given } => {
                write!(f, "workspace too small: need {needed} bytes, given {given}")
            }
            Error::OutputLength { needed, given } => {
                write!(f, "output buffer too small: need {needed}, given {given}")
            }
            Error::Capacity {
                what,
                needed,
                limit,
            } => write!(
                f,
                "capacity exceeded: {needed} {} needed, the limit is {limit}",
                what.name()
            ),
            Error::NotFinite(what) => write!(f, "non-finite value in {what}"),
            Error::ComponentName => write!(f, "not a TrueAsync component name"),
            Error::OutOfMesh { id, limit } => {
                write!(f, "component or tile {id} outside the mesh (limit {limit})")
            }
            Error::Stream(what) => write!(f, "malformed event stream: {what}"),
            Error::Process(field) => write!(
                f,
                "operating conditions: `{field}` outside its physical range (features::*_RANGE)"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// Result alias of `angraph-core`.
pub type Result<T> = core::result::Result<T, Error>;
