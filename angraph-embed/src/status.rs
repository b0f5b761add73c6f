//! Status codes: the one error type of `angraph-embed`, shared by the Rust API and the C ABI
//! (`ANGRAPH_*` in `include/angraph.h`, same numbers).

use angraph_core::{Error, Resource};

/// Why a call failed. `0` is success in the C ABI; every failure is a negative code.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Success (C ABI only).
    Ok = 0,
    /// A required pointer argument is null.
    NullArgument = -1,
    /// The blob does not start with the `ANGQ` magic.
    BadMagic = -2,
    /// The blob's format version is not one this build reads.
    UnsupportedVersion = -3,
    /// The blob's checksum does not match (corrupted).
    Checksum = -4,
    /// The blob is truncated or has trailing bytes.
    Truncated = -5,
    /// The blob body does not decode, or its configuration, tensors or quantization parameters
    /// are invalid.
    InvalidModel = -6,
    /// The model is ANGraph-P where ANGraph-L is expected, or the other way round.
    WrongFamily = -7,
    /// The model is f32; the chip runs fixed-point (int16/int8) blobs only.
    WrongPrecision = -8,
    /// The arena is smaller than `arena_bytes` for this capacity and these model dimensions.
    ArenaTooSmall = -9,
    /// A model dimension exceeds the arena's [`crate::Dims`] (or the feature width differs).
    ModelTooLarge = -10,
    /// More distinct components than the node capacity.
    NodeCapacity = -11,
    /// More distinct consecutive pairs than the edge capacity.
    EdgeCapacity = -12,
    /// A component id outside the configured mesh (or an invalid mesh).
    OutOfMesh = -13,
    /// Hops out of order: outside an event, nested events, leaving before entering, entering
    /// before the previous hop of the event, predicting inside an open event.
    StreamOrder = -14,
    /// Nothing to predict: no hop since the last reset.
    EmptyStream = -15,
    /// The stream window was consumed by a prediction: call reset before feeding hops again.
    NeedsReset = -16,
    /// A graph given to the graph-in entry points is malformed (lengths, indices, weights).
    InvalidGraph = -17,
    /// The estimator was created without an ANGraph-P blob.
    NoPowerModel = -18,
    /// The handle is not an initialised estimator.
    InvalidHandle = -19,
    /// An output or input buffer has the wrong length.
    BufferLength = -20,
    /// The operating conditions (process descriptor) are outside their physical ranges.
    InvalidProcess = -21,
}

// The codes as the C constants of `include/angraph.h` (`ANGRAPH_OK`, `ANGRAPH_ERR_*`). cbindgen
// writes a header constant from a literal and cannot give the enum's variants these names, so the
// literals are here, tied to the enum by `c_constant`: a new variant does not compile without its
// constant, and a constant whose value differs from its variant's fails the build.
/// Success.
pub const ANGRAPH_OK: i32 = 0;
/// A required pointer is NULL.
pub const ANGRAPH_ERR_NULL_ARGUMENT: i32 = -1;
/// Not a model blob.
pub const ANGRAPH_ERR_BAD_MAGIC: i32 = -2;
/// Blob format version not read by this build.
pub const ANGRAPH_ERR_UNSUPPORTED_VERSION: i32 = -3;
/// Blob corrupted.
pub const ANGRAPH_ERR_CHECKSUM: i32 = -4;
/// Blob truncated or with trailing bytes.
pub const ANGRAPH_ERR_TRUNCATED: i32 = -5;
/// Invalid config, tensors or quantization.
pub const ANGRAPH_ERR_INVALID_MODEL: i32 = -6;
/// ANGraph-P given for ANGraph-L or vice versa.
pub const ANGRAPH_ERR_WRONG_FAMILY: i32 = -7;
/// f32 blob: the chip runs int16/int8 blobs.
pub const ANGRAPH_ERR_WRONG_PRECISION: i32 = -8;
/// Arena smaller than angraph_arena_bytes().
pub const ANGRAPH_ERR_ARENA_TOO_SMALL: i32 = -9;
/// Model larger than the dims, or feature width.
pub const ANGRAPH_ERR_MODEL_TOO_LARGE: i32 = -10;
/// More components than the node capacity.
pub const ANGRAPH_ERR_NODE_CAPACITY: i32 = -11;
/// More component pairs than the edge capacity.
pub const ANGRAPH_ERR_EDGE_CAPACITY: i32 = -12;
/// Component id outside the mesh.
pub const ANGRAPH_ERR_OUT_OF_MESH: i32 = -13;
/// Hop outside an event, time going back, ...
pub const ANGRAPH_ERR_STREAM_ORDER: i32 = -14;
/// Nothing to predict from.
pub const ANGRAPH_ERR_EMPTY_STREAM: i32 = -15;
/// Window consumed by a prediction.
pub const ANGRAPH_ERR_NEEDS_RESET: i32 = -16;
/// Malformed graph (graph-in entry point).
pub const ANGRAPH_ERR_INVALID_GRAPH: i32 = -17;
/// Initialised without an ANGraph-P blob.
pub const ANGRAPH_ERR_NO_POWER_MODEL: i32 = -18;
/// Not an initialised handle.
pub const ANGRAPH_ERR_INVALID_HANDLE: i32 = -19;
/// A buffer has the wrong length.
pub const ANGRAPH_ERR_BUFFER_LENGTH: i32 = -20;
/// Operating conditions outside physical ranges.
pub const ANGRAPH_ERR_INVALID_PROCESS: i32 = -21;

/// The C constant of a status.
const fn c_constant(s: Status) -> i32 {
    match s {
        Status::Ok => ANGRAPH_OK,
        Status::NullArgument => ANGRAPH_ERR_NULL_ARGUMENT,
        Status::BadMagic => ANGRAPH_ERR_BAD_MAGIC,
        Status::UnsupportedVersion => ANGRAPH_ERR_UNSUPPORTED_VERSION,
        Status::Checksum => ANGRAPH_ERR_CHECKSUM,
        Status::Truncated => ANGRAPH_ERR_TRUNCATED,
        Status::InvalidModel => ANGRAPH_ERR_INVALID_MODEL,
        Status::WrongFamily => ANGRAPH_ERR_WRONG_FAMILY,
        Status::WrongPrecision => ANGRAPH_ERR_WRONG_PRECISION,
        Status::ArenaTooSmall => ANGRAPH_ERR_ARENA_TOO_SMALL,
        Status::ModelTooLarge => ANGRAPH_ERR_MODEL_TOO_LARGE,
        Status::NodeCapacity => ANGRAPH_ERR_NODE_CAPACITY,
        Status::EdgeCapacity => ANGRAPH_ERR_EDGE_CAPACITY,
        Status::OutOfMesh => ANGRAPH_ERR_OUT_OF_MESH,
        Status::StreamOrder => ANGRAPH_ERR_STREAM_ORDER,
        Status::EmptyStream => ANGRAPH_ERR_EMPTY_STREAM,
        Status::NeedsReset => ANGRAPH_ERR_NEEDS_RESET,
        Status::InvalidGraph => ANGRAPH_ERR_INVALID_GRAPH,
        Status::NoPowerModel => ANGRAPH_ERR_NO_POWER_MODEL,
        Status::InvalidHandle => ANGRAPH_ERR_INVALID_HANDLE,
        Status::BufferLength => ANGRAPH_ERR_BUFFER_LENGTH,
        Status::InvalidProcess => ANGRAPH_ERR_INVALID_PROCESS,
    }
}

const _: () = {
    let mut code = -64;
    while code < 64 {
        if let Some(s) = Status::from_code(code) {
            assert!(c_constant(s) == code);
        }
        code += 1;
    }
};

impl Status {
    /// The C code.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// A short static description (also `angraph_status_message` in C).
    pub const fn message(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::NullArgument => "a required pointer argument is null",
            Status::BadMagic => "not a model blob (magic is not ANGQ)",
            Status::UnsupportedVersion => "unsupported model blob format version",
            Status::Checksum => "model blob checksum mismatch (corrupted)",
            Status::Truncated => "model blob truncated or with trailing bytes",
            Status::InvalidModel => "model blob has an invalid configuration or tensors",
            Status::WrongFamily => "model family does not match (latency vs power)",
            Status::WrongPrecision => "model is not fixed point (int16/int8)",
            Status::ArenaTooSmall => "arena smaller than angraph_arena_bytes",
            Status::ModelTooLarge => "model dimensions exceed the arena's dims",
            Status::NodeCapacity => "more components than the node capacity",
            Status::EdgeCapacity => "more component pairs than the edge capacity",
            Status::OutOfMesh => "component id outside the configured mesh",
            Status::StreamOrder => "hops out of order for the event protocol",
            Status::EmptyStream => "no hops to predict from",
            Status::NeedsReset => "stream window consumed by a prediction; reset first",
            Status::InvalidGraph => "malformed graph",
            Status::NoPowerModel => "no ANGraph-P model loaded",
            Status::InvalidHandle => "not an initialised estimator handle",
            Status::BufferLength => "buffer has the wrong length",
            Status::InvalidProcess => "operating conditions outside their physical ranges",
        }
    }

    /// The status of a code, if it is one.
    pub const fn from_code(code: i32) -> Option<Status> {
        Some(match code {
            0 => Status::Ok,
            -1 => Status::NullArgument,
            -2 => Status::BadMagic,
            -3 => Status::UnsupportedVersion,
            -4 => Status::Checksum,
            -5 => Status::Truncated,
            -6 => Status::InvalidModel,
            -7 => Status::WrongFamily,
            -8 => Status::WrongPrecision,
            -9 => Status::ArenaTooSmall,
            -10 => Status::ModelTooLarge,
            -11 => Status::NodeCapacity,
            -12 => Status::EdgeCapacity,
            -13 => Status::OutOfMesh,
            -14 => Status::StreamOrder,
            -15 => Status::EmptyStream,
            -16 => Status::NeedsReset,
            -17 => Status::InvalidGraph,
            -18 => Status::NoPowerModel,
            -19 => Status::InvalidHandle,
            -20 => Status::BufferLength,
            -21 => Status::InvalidProcess,
            _ => return None,
        })
    }
}

impl core::fmt::Display for Status {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Status {
        match e {
            Error::BadMagic => Status::BadMagic,
            Error::UnsupportedVersion(_) => Status::UnsupportedVersion,
            Error::Checksum { .. } => Status::Checksum,
            Error::Truncated => Status::Truncated,
            Error::Decode
            | Error::Encode
            | Error::Config(_)
            | Error::TensorLength { .. }
            | Error::TensorCount { .. }
            | Error::QuantParam { .. } => Status::InvalidModel,
            Error::WrongFamily => Status::WrongFamily,
            Error::WrongPrecision => Status::WrongPrecision,
            Error::FeatureWidth { .. } => Status::ModelTooLarge,
            Error::GraphLength { .. }
            | Error::RowPtr { .. }
            | Error::NodeIndex { .. }
            | Error::EdgeWeight { .. }
            | Error::NotFinite(_) => Status::InvalidGraph,
            Error::TooManyNodes { .. } => Status::NodeCapacity,
            Error::EmptyGraph => Status::EmptyStream,
            Error::Workspace { .. } => Status::ArenaTooSmall,
            Error::OutputLength { .. } => Status::BufferLength,
            Error::Capacity { what, .. } => match what {
                Resource::GraphEdges => Status::EdgeCapacity,
                Resource::GraphNodes | Resource::Indices => Status::NodeCapacity,
                Resource::Workspace => Status::ArenaTooSmall,
                // Linear layers, tensors, trust intervals / bins: a blob larger than the format
                // allows.
                _ => Status::InvalidModel,
            },
            Error::ComponentName | Error::OutOfMesh { .. } => Status::OutOfMesh,
            Error::Stream(_) => Status::StreamOrder,
            Error::Process(_) => Status::InvalidProcess,
            #[allow(unreachable_patterns)]
            _ => Status::InvalidModel,
        }
    }
}

#[cfg(not(target_os = "none"))]
impl std::error::Error for Status {}

/// Result alias of `angraph-embed`.
pub type Result<T> = core::result::Result<T, Status>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_roundtrip_and_are_distinct() {
        let mut seen = [false; 22];
        for code in -30..10 {
            if let Some(s) = Status::from_code(code) {
                assert_eq!(s.code(), code);
                assert!(!s.message().is_empty());
                assert!(!seen[(-code) as usize]);
                seen[(-code) as usize] = true;
            }
        }
        assert!(seen.iter().all(|&s| s));
    }

    fn cap(what: Resource) -> Error {
        Error::Capacity {
            what,
            needed: 2,
            limit: 1,
        }
    }

    #[test]
    fn core_errors_map_to_specific_codes() {
        assert_eq!(
            Status::from(cap(Resource::GraphEdges)),
            Status::EdgeCapacity
        );
        assert_eq!(
            Status::from(cap(Resource::GraphNodes)),
            Status::NodeCapacity
        );
        assert_eq!(
            Status::from(Error::OutOfMesh { id: 9, limit: 3 }),
            Status::OutOfMesh
        );
        assert_eq!(Status::from(Error::Stream("x")), Status::StreamOrder);
        assert_eq!(
            Status::from(Error::Process("vdd_mv")),
            Status::InvalidProcess
        );
        assert_eq!(
            Status::from(cap(Resource::LinearLayers)),
            Status::InvalidModel
        );
        assert_eq!(
            Status::from(cap(Resource::Workspace)),
            Status::ArenaTooSmall
        );
    }
}
