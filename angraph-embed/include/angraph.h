/*
 * angraph.h - the C interface of angraph-embed (ANGraph-rs on a microcontroller).
 *
 * Events in, latency and energy out, without a heap: the caller owns one arena (a static
 * buffer), the model blobs (*.angq) stay where they are (e.g. in flash) and are read in place.
 *
 *   static _Alignas(8) uint8_t arena[ANGRAPH_ARENA_BYTES_ORIGINAL];
 *   angraph_handle *h;
 *   angraph_dims dims = ANGRAPH_DIMS_ORIGINAL;
 *   int32_t rc = angraph_init(arena, sizeof arena, &dims, latency_angq, latency_len,
 *                             NULL, 0, 4, 4, NULL, &h);
 *   angraph_begin_event(h);
 *   angraph_hop(h, component_id, enter_ps, leave_ps);   // one per hop of the event's path
 *   angraph_end_event(h);
 *   ...
 *   angraph_prediction p;
 *   rc = angraph_predict(h, &p);   // latency = p.latency.raw * 2^-p.latency.frac_bits
 *   angraph_reset(h);              // a prediction consumes the stream window
 *
 * Every function returns ANGRAPH_OK (0) or a negative ANGRAPH_ERR_* code and never panics or
 * reads out of bounds on bad data (truncated or corrupted blobs, the wrong model family, streams
 * beyond the capacities, hops in the wrong order). Pointers must be valid for the lengths given;
 * NULL where not allowed gives ANGRAPH_ERR_NULL_ARGUMENT.
 *
 * Link with the staticlib libangraph_embed.a (cargo build -p angraph-embed --release; on a
 * Cortex-M: --target thumbv7em-none-eabihf or thumbv7m-none-eabi). Host builds also need
 * -lpthread -ldl -lm. Fixed point only: no FPU is needed.
 */
#ifndef ANGRAPH_H
#define ANGRAPH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes (angraph_embed::Status). */
#define ANGRAPH_OK 0
#define ANGRAPH_ERR_NULL_ARGUMENT (-1)       /* a required pointer is NULL */
#define ANGRAPH_ERR_BAD_MAGIC (-2)           /* not a model blob */
#define ANGRAPH_ERR_UNSUPPORTED_VERSION (-3) /* blob format version not read by this build */
#define ANGRAPH_ERR_CHECKSUM (-4)            /* blob corrupted */
#define ANGRAPH_ERR_TRUNCATED (-5)           /* blob truncated or with trailing bytes */
#define ANGRAPH_ERR_INVALID_MODEL (-6)       /* invalid config, tensors or quantization */
#define ANGRAPH_ERR_WRONG_FAMILY (-7)        /* ANGraph-P given for ANGraph-L or vice versa */
#define ANGRAPH_ERR_WRONG_PRECISION (-8)     /* f32 blob: the chip runs int16/int8 blobs */
#define ANGRAPH_ERR_ARENA_TOO_SMALL (-9)     /* arena smaller than angraph_arena_bytes() */
#define ANGRAPH_ERR_MODEL_TOO_LARGE (-10)    /* model larger than the dims, or feature width */
#define ANGRAPH_ERR_NODE_CAPACITY (-11)      /* more components than the node capacity */
#define ANGRAPH_ERR_EDGE_CAPACITY (-12)      /* more component pairs than the edge capacity */
#define ANGRAPH_ERR_OUT_OF_MESH (-13)        /* component id outside the mesh */
#define ANGRAPH_ERR_STREAM_ORDER (-14)       /* hop outside an event, time going back, ... */
#define ANGRAPH_ERR_EMPTY_STREAM (-15)       /* nothing to predict from */
#define ANGRAPH_ERR_NEEDS_RESET (-16)        /* window consumed by a prediction */
#define ANGRAPH_ERR_INVALID_GRAPH (-17)      /* malformed graph (graph-in entry point) */
#define ANGRAPH_ERR_NO_POWER_MODEL (-18)     /* initialised without an ANGraph-P blob */
#define ANGRAPH_ERR_INVALID_HANDLE (-19)     /* not an initialised handle */
#define ANGRAPH_ERR_BUFFER_LENGTH (-20)      /* a buffer has the wrong length */
#define ANGRAPH_ERR_INVALID_PROCESS (-21)    /* operating conditions outside physical ranges */

/* Component ids: 16 per tile k = 16*k + slot, slot 0..4 IU-p, 5..9 OU-p, 10 SA,
 * 11 NI-k-toRouter, 12 NI-k-toPE, 13 LUT, 14 WeightSRAM, 15 AER; the Injector is 16*tiles. */
#define ANGRAPH_COMPONENTS_PER_TILE 16
/* Node features per component (feature set 2 of angraph_core::features: set 1's 35, then the
 * event load, words and fires per visit). A model of 35 (set 1) reads the first 35. */
#define ANGRAPH_NODE_FEATURES 37

/* Opaque estimator (lives at the start of the arena). */
typedef struct angraph_handle angraph_handle;

/* Model dimensions the arena is sized for (upper bounds). */
typedef struct angraph_dims {
    uint32_t width;       /* ANGraph-L layer width (original: 100) */
    uint32_t in_dim;      /* ANGraph-L input width (ANGRAPH_NODE_FEATURES for streams) */
    uint32_t head_max;    /* widest ANGraph-L head layer (original: 200) */
    uint32_t power_width; /* widest ANGraph-P layer incl. input (original: 128); 0: none */
    uint32_t power_in;    /* ANGraph-P input width (original: 36); 0: none */
} angraph_dims;

/* The original ANGraph-L (5 layers, width 100, head 200/100) on the 37 stream features,
 * without ANGraph-P. */
#define ANGRAPH_DIMS_ORIGINAL {100u, 37u, 200u, 0u, 0u}

/* An upper bound of angraph_arena_bytes(&ANGRAPH_DIMS_ORIGINAL) for the default capacities
 * (a 4x4 mesh: 257 components, 512 pairs): 117.25 KiB on 32-bit targets (a Cortex-M), 130 KiB on
 * 64-bit hosts; the library checks both at compile time. */
#if UINTPTR_MAX == 0xFFFFFFFFu
#define ANGRAPH_ARENA_BYTES_ORIGINAL 120064u
#else
#define ANGRAPH_ARENA_BYTES_ORIGINAL 133120u
#endif

/* A fixed-point value: raw * 2^-frac_bits (model units; times the blob's label scale = the
 * label in its unit). */
typedef struct angraph_fixed {
    int32_t raw;
    uint32_t frac_bits;
} angraph_fixed;

/* ANGraph-P output: per head (original: [dynamic, static]) and their sum. */
typedef struct angraph_energy {
    angraph_fixed heads[4];
    angraph_fixed total;
    uint32_t num_heads;
} angraph_energy;

/* One prediction of a stream window. */
typedef struct angraph_prediction {
    angraph_fixed latency; /* ANGraph-L output */
    angraph_energy energy; /* ANGraph-P on the window's 6x6 activity matrix (if has_energy) */
    uint32_t has_energy;   /* 1 when the handle has an ANGraph-P model */
    uint32_t nodes;        /* distinct components */
    uint32_t edges;        /* distinct consecutive pairs */
    uint32_t events;       /* completed events */
    uint64_t hops;         /* hops */
    uint64_t span_ps;      /* system-level estimate: last leave - first enter (ps) */
    uint32_t has_trust;    /* 1 when the latency blob carries intervals and an envelope */
    uint32_t in_envelope;  /* 1 when every model with a trust section finds the window familiar */
    angraph_fixed latency_lo; /* calibrated interval of latency (if has_trust) */
    angraph_fixed latency_hi;
    angraph_fixed total_lo;   /* calibrated interval of total energy (if the power blob has one) */
    angraph_fixed total_hi;
    uint32_t envelope_reason; /* 0 inside; 1 latency input out of range; 2 latency embedding far;
                                 3 power input out of range; 4 power embedding far */
    int32_t envelope_feature; /* the input feature out of range (reasons 1, 3), else -1 */
} angraph_prediction;

/* Process-node descriptors of the stream (node features 32..34). */
typedef struct angraph_process {
    uint16_t feature_nm;   /* 0 = unknown */
    uint16_t vdd_mv;       /* 0 = unknown */
    int16_t temperature_c;
} angraph_process;

/* Bytes of arena angraph_init needs for these dims (handle included); 0 for NULL. */
size_t angraph_arena_bytes(const angraph_dims *dims);

/* Node and edge capacities this library was built with. */
void angraph_capacity(uint32_t *max_nodes, uint32_t *max_edges);

/* Load the models (in place, validated), carve the arena, open an empty stream window for a
 * mesh_width x mesh_height mesh. power_blob and process may be NULL. The blobs and the arena
 * must stay valid and unchanged while the handle is used. On success *out is the handle. */
int32_t angraph_init(void *arena, size_t arena_len, const angraph_dims *dims,
                     const uint8_t *latency_blob, size_t latency_len,
                     const uint8_t *power_blob, size_t power_len,
                     uint16_t mesh_width, uint16_t mesh_height,
                     const angraph_process *process, angraph_handle **out);

/* Start a new, empty stream window (required after angraph_predict). */
int32_t angraph_reset(angraph_handle *h);
/* Open an event (one spike's path). */
int32_t angraph_begin_event(angraph_handle *h);
/* Open an event that reads `words` synaptic words at its destination (the fan-out row) and
 * fires `fires` of those neurons (fires <= words): node features 35 and 36. */
int32_t angraph_begin_event_load(angraph_handle *h, uint16_t words, uint16_t fires);
/* One hop of the open event: component id, enter and leave time (ps; 0 if untimed). A failed
 * hop changes nothing. */
int32_t angraph_hop(angraph_handle *h, uint32_t component, uint64_t enter_ps,
                    uint64_t leave_ps);
/* Close the open event. */
int32_t angraph_end_event(angraph_handle *h);
/* Predict the latency of the stream window, and its energy when a power blob was given (on the
 * window's activity matrix, followed for a 42-input power model by the operating conditions of
 * the handle's process descriptor: node, Vdd, temperature, tiles); consumes the window. */
int32_t angraph_predict(angraph_handle *h, angraph_prediction *out);

/* ANGraph-L on a graph given as COO edges (edge_src[i] -> edge_dst[i]) and row-major Q16.16
 * features (num_nodes x feature_width = the model's input width); activities may be NULL.
 * Ends the stream window. */
int32_t angraph_predict_graph(angraph_handle *h, uint32_t num_nodes, uint32_t feature_width,
                              const int32_t *x, uint32_t num_edges, const uint32_t *edge_src,
                              const uint32_t *edge_dst, const int32_t *activities,
                              angraph_fixed *out);

/* ANGraph-P on an activity vector you computed (Q16.16, the model's input width). */
int32_t angraph_predict_energy(angraph_handle *h, const int32_t *activity, size_t len,
                               angraph_energy *out);

/* The detail behind the handle's last failed call, as a sentence naming the field or value
 * (e.g. "malformed event stream: hop enters before the previous hop of its event"); written
 * NUL-terminated and truncated into buf (len bytes); "" when there is no detail. Returns the
 * bytes written (without the NUL) or a negative code. */
int32_t angraph_last_error(angraph_handle *h, char *buf, size_t len);

/* Dense id of a TrueAsync component name ("SA of Router-3", "Injector", ...; len bytes). */
int32_t angraph_component_id(uint16_t mesh_width, uint16_t mesh_height, const uint8_t *name,
                             size_t len, uint32_t *out);

/* Static NUL-terminated description of a status code. */
const char *angraph_status_message(int32_t code);

#ifdef __cplusplus
}
#endif

#endif /* ANGRAPH_H */
