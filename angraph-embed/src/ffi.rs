//! The C ABI (`include/angraph.h`): `extern "C"` functions over `repr(C)` types, returning
//! [`Status`] codes. Nothing here panics on any argument values; pointers must be valid for the
//! lengths given (or null where allowed, which gives [`Status::NullArgument`]).
//!
//! The header is generated from this module and [`crate::status`] by cbindgen (`cbindgen.toml`):
//! the doc comments of the public items below are its comments, so they are written for C
//! readers, and `tests/c_header.rs` fails when the committed header differs from what this source
//! generates.
//!
//! The estimator handle lives at the start of the caller's arena; the model blobs are borrowed
//! (zero-copy) and must stay valid and unchanged while the handle is used (e.g. in flash). The
//! capacities of the C library are fixed when it is built: [`C_MAX_NODES`] distinct components
//! and [`C_MAX_EDGES`] distinct consecutive pairs (a 4x4 mesh; feature `mesh-8x8` for 8x8).

use crate::arena::Dims;
use crate::estimator::{EnergyEstimator, Estimator, Prediction};
use crate::status::Status;
use angraph_core::component::Mesh;
use angraph_core::features::ProcessDescriptor;
use angraph_core::power::{Energy, MAX_OUTPUTS};
use angraph_core::Fixed;
use angraph_core::Model;
use core::ffi::{c_char, c_void};
use core::mem::{align_of, size_of, MaybeUninit};
use core::ptr::addr_of_mut;

/// Node capacity of the C library (4x4 mesh: 16 * 16 + 1; 8x8 with feature `mesh-8x8`).
#[cfg(not(feature = "mesh-8x8"))]
pub const C_MAX_NODES: usize = 257;
/// Edge capacity of the C library.
#[cfg(not(feature = "mesh-8x8"))]
pub const C_MAX_EDGES: usize = 512;
/// Node capacity of the C library (4x4 mesh: 16 * 16 + 1; 8x8 with feature `mesh-8x8`).
#[cfg(feature = "mesh-8x8")]
pub const C_MAX_NODES: usize = 1025;
/// Edge capacity of the C library.
#[cfg(feature = "mesh-8x8")]
pub const C_MAX_EDGES: usize = 2560;

type CEstimator = Estimator<'static, C_MAX_NODES, C_MAX_EDGES>;

/// Component ids: 16 per tile k = 16*k + slot, slot 0..4 IU-p, 5..9 OU-p, 10 SA,
/// 11 NI-k-toRouter, 12 NI-k-toPE, 13 LUT, 14 WeightSRAM, 15 AER; the Injector is 16*tiles.
pub const C_COMPONENTS_PER_TILE: u32 = 16;
const _: () = assert!(C_COMPONENTS_PER_TILE == angraph_core::component::COMPONENTS_PER_TILE);

/// Node features per component (feature set 2 of angraph_core::features: set 1's 35, then the
/// event load, words and fires per visit). A model of 35 (set 1) reads the first 35.
pub const C_NODE_FEATURES: u32 = 37;
const _: () = assert!(C_NODE_FEATURES as usize == angraph_core::features::NODE_FEATURES);

/// Energy heads an angraph_energy holds (the original ANGraph-P uses 2: dynamic, static).
pub const C_ENERGY_HEADS: usize = 4;
const _: () = assert!(C_ENERGY_HEADS == MAX_OUTPUTS);

const HANDLE_MAGIC: u32 = 0x414e_4748; // "ANGH"

/// Opaque estimator (lives at the start of the arena): the models and the estimators that
/// borrow them.
pub struct Handle {
    magic: u32,
    latency_model: MaybeUninit<Model<'static>>,
    power_model: MaybeUninit<Model<'static>>,
    est: MaybeUninit<CEstimator>,
    energy: Option<EnergyEstimator<'static>>,
}

/// Model dimensions the arena is sized for (upper bounds): ANGraph-L, plus ANGraph-P.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AngraphDims {
    /// ANGraph-L layer width (the original: 100).
    pub width: u32,
    /// ANGraph-L input width (ANGRAPH_NODE_FEATURES for streams).
    pub in_dim: u32,
    /// Widest ANGraph-L head layer (the original: 200).
    pub head_max: u32,
    /// Widest ANGraph-P layer, input included (the original: 128); 0 without ANGraph-P.
    pub power_width: u32,
    /// ANGraph-P input width (the original: 36); 0 without ANGraph-P.
    pub power_in: u32,
}

impl AngraphDims {
    fn latency(&self) -> Dims {
        Dims {
            width: self.width,
            in_dim: self.in_dim,
            head_max: self.head_max,
        }
    }
    fn is_valid(&self) -> bool {
        self.latency().is_valid()
            && self.power_width <= angraph_core::config::MAX_WIDTH as u32
            && self.power_in <= angraph_core::config::MAX_LINEAR_IN as u32
    }
    fn power_bytes(&self) -> usize {
        if self.power_width == 0 {
            0
        } else {
            EnergyEstimator::workspace_bytes(self.power_width as usize, self.power_in as usize)
        }
    }
}

const HANDLE_BYTES: usize = (size_of::<Handle>() + 7) & !7;

/// A fixed-point value: raw * 2^-frac_bits (model units; times the blob's label scale = the
/// label in its unit).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AngraphFixed {
    /// Raw integer.
    pub raw: i32,
    /// Fractional bits.
    pub frac_bits: u32,
}

impl From<Fixed> for AngraphFixed {
    fn from(f: Fixed) -> Self {
        AngraphFixed {
            raw: f.raw,
            frac_bits: f.frac_bits as u32,
        }
    }
}

/// ANGraph-P output: per head (the original: [dynamic, static]) and their sum.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AngraphEnergy {
    /// Per head; num_heads are used.
    pub heads: [AngraphFixed; C_ENERGY_HEADS],
    /// Sum of the heads.
    pub total: AngraphFixed,
    /// Heads in use.
    pub num_heads: u32,
}

impl From<Energy<Fixed>> for AngraphEnergy {
    fn from(e: Energy<Fixed>) -> Self {
        let mut heads = [AngraphFixed::default(); C_ENERGY_HEADS];
        for (h, &v) in heads.iter_mut().zip(e.heads.iter()) {
            *h = v.into();
        }
        AngraphEnergy {
            heads,
            total: e.total.into(),
            num_heads: e.len as u32,
        }
    }
}

/// One prediction of a stream window.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AngraphPrediction {
    /// ANGraph-L output (model units; x the blob's label scale = latency).
    pub latency: AngraphFixed,
    /// ANGraph-P output on the window's power input (valid when `has_energy` is 1).
    pub energy: AngraphEnergy,
    /// 1 when the handle has an ANGraph-P model and `energy` holds its prediction.
    pub has_energy: u32,
    /// Distinct components of the graph.
    pub nodes: u32,
    /// Distinct consecutive pairs of the graph.
    pub edges: u32,
    /// Completed events in the window.
    pub events: u32,
    /// Hops in the window.
    pub hops: u64,
    /// System-level latency estimate of the window: last leave - first enter (ps).
    pub span_ps: u64,
    /// 1 when the latency blob has a trust section (intervals and the envelope check).
    pub has_trust: u32,
    /// 1 when every model with a trust section finds the window like its training data.
    pub in_envelope: u32,
    /// Calibrated interval of `latency` (valid when `has_trust` is 1).
    pub latency_lo: AngraphFixed,
    /// See `latency_lo`.
    pub latency_hi: AngraphFixed,
    /// Calibrated interval of the total energy (valid when `has_energy` is 1 and the power
    /// blob has a trust section).
    pub total_lo: AngraphFixed,
    /// See `total_lo`.
    pub total_hi: AngraphFixed,
    /// Why not in envelope: 0 inside, 1 a latency input outside its training range, 2 the
    /// latency embedding far from training, 3 a power input outside its range, 4 the power
    /// embedding far from training.
    pub envelope_reason: u32,
    /// The input feature outside its training range (reasons 1 and 3), else -1.
    pub envelope_feature: i32,
}

/// Reason code of an envelope verdict (`first` for a range violation, `first + 1` for the
/// embedding distance), 0 when inside; and the feature index or -1.
fn envelope_code(e: &angraph_core::trust::Envelope, first: u32) -> (u32, i32) {
    match (e.out_of_range, e.inside()) {
        (Some(o), _) => (first, o.feature as i32),
        (None, false) => (first + 1, -1),
        (None, true) => (0, -1),
    }
}

impl From<Prediction> for AngraphPrediction {
    fn from(p: Prediction) -> Self {
        let mut out = AngraphPrediction {
            latency: p.latency.into(),
            energy: AngraphEnergy::default(),
            has_energy: 0,
            nodes: p.nodes,
            edges: p.edges,
            events: p.summary.events,
            hops: p.summary.hops,
            span_ps: p.summary.span(),
            has_trust: 0,
            in_envelope: 1,
            latency_lo: AngraphFixed::default(),
            latency_hi: AngraphFixed::default(),
            total_lo: AngraphFixed::default(),
            total_hi: AngraphFixed::default(),
            envelope_reason: 0,
            envelope_feature: -1,
        };
        if let (Some(iv), Some(e)) = (p.interval, p.envelope) {
            out.has_trust = 1;
            out.latency_lo = iv.lo.into();
            out.latency_hi = iv.hi.into();
            let (reason, feature) = envelope_code(&e, 1);
            out.in_envelope = u32::from(reason == 0);
            out.envelope_reason = reason;
            out.envelope_feature = feature;
        }
        out
    }
}

/// Process-node descriptors of the stream (node features 32..34).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AngraphProcess {
    /// Feature size in nm (0 = unknown).
    pub feature_nm: u16,
    /// Supply voltage in mV (0 = unknown).
    pub vdd_mv: u16,
    /// Junction temperature in degC.
    pub temperature_c: i16,
}

fn code(r: crate::Result<()>) -> i32 {
    match r {
        Ok(()) => Status::Ok.code(),
        Err(s) => s.code(),
    }
}

/// # Safety
/// `ptr` must be null or valid for reads of `len` bytes for `'static` (see the module docs).
unsafe fn bytes_static(ptr: *const u8, len: usize) -> Option<&'static [u8]> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: the caller guarantees validity; null was handled.
    Some(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// # Safety
/// `ptr` must be null or valid for reads of `len` values.
unsafe fn slice<'x, T>(ptr: *const T, len: usize) -> Result<&'x [T], Status> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Status::NullArgument);
    }
    if !ptr.is_aligned() {
        return Err(Status::BufferLength);
    }
    // SAFETY: the caller guarantees validity for `len` values; null and alignment were checked.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// # Safety
/// `h` must be null or a pointer returned by `angraph_init` whose arena is still alive.
unsafe fn handle<'x>(h: *mut Handle) -> Result<&'x mut CEstimator, Status> {
    // SAFETY: forwarded; a handle with the magic has an initialised estimator.
    unsafe { handle_full(h) }.map(|h| unsafe { h.est.assume_init_mut() })
}

/// # Safety
/// As [`handle`].
unsafe fn handle_full<'x>(h: *mut Handle) -> Result<&'x mut Handle, Status> {
    if h.is_null() {
        return Err(Status::NullArgument);
    }
    if !h.is_aligned() {
        return Err(Status::InvalidHandle);
    }
    // SAFETY: non-null and aligned; the caller guarantees it came from `angraph_init`. The magic
    // catches handles that were never initialised (or were zeroed).
    let h = unsafe { &mut *h };
    if h.magic != HANDLE_MAGIC {
        return Err(Status::InvalidHandle);
    }
    Ok(h)
}

/// Bytes of arena angraph_init needs for these model dimensions (handle included); 0 for NULL
/// or invalid dims.
///
/// # Safety
/// `dims` must be null or point to a valid `angraph_dims`.
#[no_mangle]
pub unsafe extern "C" fn angraph_arena_bytes(dims: *const AngraphDims) -> usize {
    if dims.is_null() {
        return 0;
    }
    // SAFETY: non-null, and the caller guarantees it points to an `angraph_dims`.
    let d = unsafe { *dims };
    if !d.is_valid() {
        return 0;
    }
    c_arena_bytes(d) + d.power_bytes()
}

/// The node and edge capacities this library was built with (either pointer may be NULL).
///
/// # Safety
/// Each pointer must be null or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn angraph_capacity(max_nodes: *mut u32, max_edges: *mut u32) {
    if !max_nodes.is_null() {
        // SAFETY: non-null; the caller guarantees it is writable.
        unsafe { *max_nodes = C_MAX_NODES as u32 };
    }
    if !max_edges.is_null() {
        // SAFETY: as above.
        unsafe { *max_edges = C_MAX_EDGES as u32 };
    }
}

/// Load the models (in place, validated), carve the arena and open an empty stream window for a
/// mesh_width x mesh_height mesh. power_blob may be NULL (latency only), process too (unknown
/// conditions). The blobs and the arena must stay valid and unchanged while the handle is used.
/// On success *out is the handle (inside the arena).
///
/// # Safety
/// `arena` must be valid for writes of `arena_len` bytes and outlive the handle; the blobs must
/// be valid for reads of their lengths and stay unchanged while the handle is used; `dims`,
/// `process` and `out` must be null or valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn angraph_init(
    arena: *mut c_void,
    arena_len: usize,
    dims: *const AngraphDims,
    latency_blob: *const u8,
    latency_len: usize,
    power_blob: *const u8,
    power_len: usize,
    mesh_width: u16,
    mesh_height: u16,
    process: *const AngraphProcess,
    out: *mut *mut Handle,
) -> i32 {
    if arena.is_null() || dims.is_null() || latency_blob.is_null() || out.is_null() {
        return Status::NullArgument.code();
    }
    let arena = arena.cast::<u8>();
    // SAFETY: `out` is non-null and writable (caller contract); clear it first so a failed init
    // never leaves a stale handle behind.
    unsafe { *out = core::ptr::null_mut() };
    // SAFETY: non-null, caller-guaranteed.
    let d = unsafe { *dims };
    if !d.is_valid() {
        return Status::ModelTooLarge.code();
    }
    let pad = arena.align_offset(align_of::<Handle>());
    if pad > 8 || arena_len < pad + HANDLE_BYTES {
        return Status::ArenaTooSmall.code();
    }
    let mesh = match Mesh::new(mesh_width, mesh_height) {
        Ok(m) => m,
        Err(_) => return Status::OutOfMesh.code(),
    };
    let process = if process.is_null() {
        ProcessDescriptor::default()
    } else {
        // SAFETY: non-null, caller-guaranteed.
        let p = unsafe { *process };
        ProcessDescriptor {
            feature_nm: p.feature_nm,
            vdd_mv: p.vdd_mv,
            temperature_c: p.temperature_c,
        }
    };
    // SAFETY: caller-guaranteed validity of the blobs for 'static (module docs).
    let (lat, pow) = unsafe {
        (
            bytes_static(latency_blob, latency_len),
            bytes_static(power_blob, power_len),
        )
    };
    let Some(lat) = lat else {
        return Status::NullArgument.code();
    };
    // SAFETY: `arena` is valid for `arena_len` bytes (caller contract) and `pad < arena_len`.
    let base = unsafe { arena.add(pad) };
    let handle_ptr = base as *mut Handle;
    // SAFETY: the region after the handle is inside the arena (checked above) and is borrowed
    // for as long as the handle lives (caller contract), disjoint from the handle itself.
    let rest = unsafe {
        core::slice::from_raw_parts_mut(base.add(HANDLE_BYTES), arena_len - pad - HANDLE_BYTES)
    };
    let power_bytes = d.power_bytes();
    if rest.len() < power_bytes {
        return Status::ArenaTooSmall.code();
    }
    let (power_ws, rest) = rest.split_at_mut(power_bytes);
    // Build the handle in place: models first (into their slots), then the estimators that
    // borrow them. The magic is written last, so a failed init leaves no valid handle.
    // SAFETY: `handle_ptr` is aligned and HANDLE_BYTES of the arena are reserved for it; every
    // reference below points into that reservation, which lives as long as the arena (caller
    // contract) and never moves. Fields are only read after they were written.
    unsafe {
        addr_of_mut!((*handle_ptr).magic).write(0);
        addr_of_mut!((*handle_ptr).energy).write(None);
        let lat_slot = &mut *addr_of_mut!((*handle_ptr).latency_model);
        let lat_model: &'static Model<'static> = match Model::from_bytes_into(lat, lat_slot) {
            Ok(m) => m,
            Err(e) => return Status::from(e).code(),
        };
        if let Some(b) = pow {
            let pow_slot = &mut *addr_of_mut!((*handle_ptr).power_model);
            let pow_model: &'static Model<'static> = match Model::from_bytes_into(b, pow_slot) {
                Ok(m) => m,
                Err(e) => return Status::from(e).code(),
            };
            match EnergyEstimator::new(pow_model, power_ws) {
                Ok(e) => addr_of_mut!((*handle_ptr).energy).write(Some(e)),
                Err(s) => return s.code(),
            }
        }
        match CEstimator::new(rest, d.latency(), lat_model, mesh, process) {
            Ok(est) => {
                addr_of_mut!((*handle_ptr).est).write(MaybeUninit::new(est));
            }
            Err(s) => return s.code(),
        }
        addr_of_mut!((*handle_ptr).magic).write(HANDLE_MAGIC);
        *out = handle_ptr;
    }
    Status::Ok.code()
}

/// Start a new, empty stream window (required after angraph_predict).
///
/// # Safety
/// `h` must be null or a live handle from `angraph_init`.
#[no_mangle]
pub unsafe extern "C" fn angraph_reset(h: *mut Handle) -> i32 {
    // SAFETY: forwarded caller contract.
    code(unsafe { handle(h) }.and_then(|e| e.reset()))
}

/// Open an event (one spike's path).
///
/// # Safety
/// `h` must be null or a live handle from `angraph_init`.
#[no_mangle]
pub unsafe extern "C" fn angraph_begin_event(h: *mut Handle) -> i32 {
    // SAFETY: forwarded caller contract.
    code(unsafe { handle(h) }.and_then(|e| e.begin_event()))
}

/// Open an event that reads `words` synaptic words at its destination (the fan-out row) and
/// fires `fires` of those neurons (fires <= words, else ANGRAPH_ERR_STREAM_ORDER): node features
/// 35 and 36.
///
/// # Safety
/// `h` must be null or a live handle from `angraph_init`.
#[no_mangle]
pub unsafe extern "C" fn angraph_begin_event_load(h: *mut Handle, words: u16, fires: u16) -> i32 {
    // SAFETY: forwarded caller contract.
    code(
        unsafe { handle(h) }
            .and_then(|e| e.begin_event_with(angraph_core::features::EventLoad { words, fires })),
    )
}

/// One hop of the open event: dense component id, enter and leave time (ps; 0 if untimed). A
/// failed hop changes nothing.
///
/// # Safety
/// `h` must be null or a live handle from `angraph_init`.
#[no_mangle]
pub unsafe extern "C" fn angraph_hop(
    h: *mut Handle,
    component: u32,
    enter_ps: u64,
    leave_ps: u64,
) -> i32 {
    // SAFETY: forwarded caller contract.
    code(unsafe { handle(h) }.and_then(|e| e.hop(component, enter_ps, leave_ps)))
}

/// Close the open event.
///
/// # Safety
/// `h` must be null or a live handle from `angraph_init`.
#[no_mangle]
pub unsafe extern "C" fn angraph_end_event(h: *mut Handle) -> i32 {
    // SAFETY: forwarded caller contract.
    code(unsafe { handle(h) }.and_then(|e| e.end_event()))
}

/// Predict the latency of the stream window, and its energy when a power blob was given (on the
/// window's activity matrix, followed for a 42-input power model by the operating conditions of
/// the handle's process descriptor: node, Vdd, temperature, tiles); consumes the window
/// (angraph_reset next).
///
/// # Safety
/// `h` must be null or a live handle; `out` null or writable.
#[no_mangle]
pub unsafe extern "C" fn angraph_predict(h: *mut Handle, out: *mut AngraphPrediction) -> i32 {
    if out.is_null() {
        return Status::NullArgument.code();
    }
    // SAFETY: forwarded caller contract.
    let r = unsafe { handle_full(h) }.and_then(|h| {
        // SAFETY: a handle with the magic has an initialised estimator.
        let est = unsafe { h.est.assume_init_mut() };
        // Energy first: the latency prediction consumes the window.
        let energy = match h.energy.as_mut() {
            Some(e) => Some(est.predict_energy_assessed(e)?),
            None => None,
        };
        let mut p: AngraphPrediction = est.predict()?.into();
        if let Some(a) = energy {
            p.energy = a.energy.into();
            p.has_energy = 1;
            if let (Some(iv), Some(e)) = (a.intervals, a.envelope) {
                let k = a.energy.len as usize; // the total follows the heads
                p.total_lo = iv[k].lo.into();
                p.total_hi = iv[k].hi.into();
                let (reason, feature) = envelope_code(&e, 3);
                if reason != 0 && p.envelope_reason == 0 {
                    p.envelope_reason = reason;
                    p.envelope_feature = feature;
                }
                p.in_envelope &= u32::from(reason == 0);
            }
        }
        Ok(p)
    });
    match r {
        Ok(p) => {
            // SAFETY: non-null, caller-guaranteed writable.
            unsafe { *out = p };
            Status::Ok.code()
        }
        Err(s) => s.code(),
    }
}

/// ANGraph-L on a graph given as COO edges (`edge_src[i] -> edge_dst[i]`) and row-major Q16.16
/// features (num_nodes x feature_width = the model's input width); activities may be NULL. Ends
/// the stream window.
///
/// # Safety
/// `h` must be null or a live handle; each array null or valid for its length; `out` null or
/// writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn angraph_predict_graph(
    h: *mut Handle,
    num_nodes: u32,
    feature_width: u32,
    x: *const i32,
    num_edges: u32,
    edge_src: *const u32,
    edge_dst: *const u32,
    activities: *const i32,
    out: *mut AngraphFixed,
) -> i32 {
    if out.is_null() {
        return Status::NullArgument.code();
    }
    let r = (|| {
        // SAFETY: forwarded caller contract.
        let e = unsafe { handle(h) }?;
        let c = e.latency_model().latency_config()?;
        if feature_width != c.in_dim as u32 {
            return Err(Status::ModelTooLarge);
        }
        let xl = (num_nodes as usize)
            .checked_mul(feature_width as usize)
            .ok_or(Status::NodeCapacity)?;
        if num_nodes as usize > C_MAX_NODES {
            return Err(Status::NodeCapacity);
        }
        if num_edges as usize > C_MAX_EDGES {
            return Err(Status::EdgeCapacity);
        }
        // SAFETY: forwarded caller contract for each array.
        let (x, s, d) = unsafe {
            (
                slice(x, xl)?,
                slice(edge_src, num_edges as usize)?,
                slice(edge_dst, num_edges as usize)?,
            )
        };
        let a = if activities.is_null() {
            None
        } else {
            // SAFETY: forwarded caller contract.
            Some(unsafe { slice(activities, num_edges as usize) }?)
        };
        e.predict_coo(num_nodes, x, s, d, a)
    })();
    match r {
        Ok(f) => {
            // SAFETY: non-null, caller-guaranteed writable.
            unsafe { *out = f.into() };
            Status::Ok.code()
        }
        Err(s) => s.code(),
    }
}

/// ANGraph-P on an activity vector you computed (Q16.16, the model's input width).
///
/// # Safety
/// `h` must be null or a live handle; `activity` null or valid for `len` values; `out` null or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn angraph_predict_energy(
    h: *mut Handle,
    activity: *const i32,
    len: usize,
    out: *mut AngraphEnergy,
) -> i32 {
    if out.is_null() || activity.is_null() {
        return Status::NullArgument.code();
    }
    let r = (|| {
        // SAFETY: forwarded caller contract.
        let h = unsafe { handle_full(h) }?;
        let e = h.energy.as_mut().ok_or(Status::NoPowerModel)?;
        // SAFETY: forwarded caller contract.
        let a = unsafe { slice(activity, len) }?;
        e.predict(a)
    })();
    match r {
        Ok(en) => {
            // SAFETY: non-null, caller-guaranteed writable.
            unsafe { *out = en.into() };
            Status::Ok.code()
        }
        Err(s) => s.code(),
    }
}

/// The detail behind the handle's last failed call, as a sentence naming the field or value
/// (e.g. "malformed event stream: hop enters before the previous hop of its event"); written
/// NUL-terminated and truncated into buf (len bytes); "" when there is no detail. Returns the
/// bytes written (without the NUL) or a negative code.
///
/// # Safety
/// `h` must be null or a live handle; `buf` null or writable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn angraph_last_error(h: *mut Handle, buf: *mut c_char, len: usize) -> i32 {
    if buf.is_null() || len == 0 {
        return Status::NullArgument.code();
    }
    // SAFETY: forwarded caller contract.
    let e = match unsafe { handle(h) } {
        Ok(e) => e.last_error(),
        Err(s) => return s.code(),
    };
    // SAFETY: non-null and writable for `len` bytes (caller contract).
    let out = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), len) };
    struct Cut<'b> {
        out: &'b mut [u8],
        n: usize,
    }
    impl core::fmt::Write for Cut<'_> {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            for &b in s.as_bytes() {
                if self.n + 1 < self.out.len() {
                    self.out[self.n] = b;
                    self.n += 1;
                }
            }
            Ok(())
        }
    }
    let mut w = Cut { out, n: 0 };
    if let Some(e) = e {
        let _ = core::fmt::write(&mut w, format_args!("{e}"));
    }
    let n = w.n;
    w.out[n] = 0;
    n as i32
}

/// Dense id of a TrueAsync component name ("SA of Router-3", "Injector", ...; len bytes, no NUL
/// needed) on a mesh_width x mesh_height mesh.
///
/// # Safety
/// `name` must be null or valid for `len` bytes; `out` null or writable.
#[no_mangle]
pub unsafe extern "C" fn angraph_component_id(
    mesh_width: u16,
    mesh_height: u16,
    name: *const u8,
    len: usize,
    out: *mut u32,
) -> i32 {
    if name.is_null() || out.is_null() {
        return Status::NullArgument.code();
    }
    // SAFETY: non-null, caller-guaranteed.
    let bytes = unsafe { core::slice::from_raw_parts(name, len) };
    let Ok(s) = core::str::from_utf8(bytes) else {
        return Status::OutOfMesh.code();
    };
    let r = Mesh::new(mesh_width, mesh_height).and_then(|m| m.parse_id(s));
    match r {
        Ok(id) => {
            // SAFETY: non-null, caller-guaranteed writable.
            unsafe { *out = id };
            Status::Ok.code()
        }
        Err(e) => Status::from(e).code(),
    }
}

/// Static NUL-terminated description of a status code ("unknown status" for other values).
#[no_mangle]
pub extern "C" fn angraph_status_message(code: i32) -> *const c_char {
    message_nul(code).as_ptr().cast()
}

macro_rules! c_messages {
    ($($s:ident),*) => {
        /// The message of a code with its NUL.
        fn message_nul(code: i32) -> &'static [u8] {
            match Status::from_code(code) {
                $(Some(Status::$s) => &concat_msg::$s,)*
                None => b"unknown status\0",
            }
        }
        #[allow(non_upper_case_globals)]
        mod concat_msg {
            use crate::status::Status;
            $(pub(super) const $s: [u8; Status::$s.message().len() + 1] = nul(Status::$s.message());)*
            const fn nul<const N: usize>(s: &str) -> [u8; N] {
                let mut out = [0u8; N];
                let b = s.as_bytes();
                let mut i = 0;
                while i < b.len() && i + 1 < N {
                    out[i] = b[i];
                    i += 1;
                }
                out
            }
        }
    };
}

c_messages!(
    Ok,
    NullArgument,
    BadMagic,
    UnsupportedVersion,
    Checksum,
    Truncated,
    InvalidModel,
    WrongFamily,
    WrongPrecision,
    ArenaTooSmall,
    ModelTooLarge,
    NodeCapacity,
    EdgeCapacity,
    OutOfMesh,
    StreamOrder,
    EmptyStream,
    NeedsReset,
    InvalidGraph,
    NoPowerModel,
    InvalidHandle,
    BufferLength,
    InvalidProcess
);

/// An upper bound of angraph_arena_bytes(&ANGRAPH_DIMS_ORIGINAL) for the default capacities (a
/// 4x4 mesh: 257 components, 512 pairs) on 32-bit targets (a Cortex-M): 117.25 KiB. The library
/// checks the bound of its target at compile time.
#[cfg(target_pointer_width = "32")]
pub const C_ARENA_BYTES_ORIGINAL: usize = 120064;
/// An upper bound of angraph_arena_bytes(&ANGRAPH_DIMS_ORIGINAL) for the default capacities on
/// 64-bit hosts: 130 KiB.
#[cfg(not(target_pointer_width = "32"))]
pub const C_ARENA_BYTES_ORIGINAL: usize = 133120;

/// The original ANGraph-L (5 layers, width 100, head 200/100) on the stream features, without
/// ANGraph-P.
pub const C_DIMS_ORIGINAL: AngraphDims = AngraphDims {
    width: 100,
    in_dim: C_NODE_FEATURES,
    head_max: 200,
    power_width: 0,
    power_in: 0,
};

const fn c_arena_bytes(d: AngraphDims) -> usize {
    8 + HANDLE_BYTES
        + CEstimator::arena_bytes(Dims {
            width: d.width,
            in_dim: d.in_dim,
            head_max: d.head_max,
        })
}

#[cfg(not(feature = "mesh-8x8"))]
const _: () = assert!(c_arena_bytes(C_DIMS_ORIGINAL) <= C_ARENA_BYTES_ORIGINAL);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn original_arena_bound_is_tight() {
        let d = C_DIMS_ORIGINAL;
        // SAFETY: a valid pointer.
        let exact = unsafe { angraph_arena_bytes(&d) };
        assert_eq!(exact, c_arena_bytes(d));
        std::println!("angraph_arena_bytes(original) = {exact}, handle {HANDLE_BYTES}");
        assert!(exact <= C_ARENA_BYTES_ORIGINAL && C_ARENA_BYTES_ORIGINAL - exact < 8192);
    }
}
