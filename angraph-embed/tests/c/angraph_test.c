/*
 * A C program against include/angraph.h and libangraph_embed.a (built and run by
 * angraph-embed/tests/c_abi.rs, which checks its output against the Rust results).
 *
 *   angraph_test <latency.angq> <stream.angs> <graph.bin> <tiny_power.angq>
 *
 * Prints key=value lines: the streaming prediction, the graph-in prediction, the energy
 * prediction, and the status codes of bad calls.
 */
#include "angraph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Alignas(8) uint8_t arena[ANGRAPH_ARENA_BYTES_ORIGINAL + 4096];

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "%s: cannot read\n", path);
        exit(2);
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static uint32_t u32le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* One LEB128 value of an .angs body; 0 (and *ok = 0) past the end. */
static uint64_t varint(const uint8_t *b, size_t len, size_t *at, int *ok) {
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*at >= len) {
            *ok = 0;
            return 0;
        }
        uint8_t byte = b[(*at)++];
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) return v;
    }
    *ok = 0;
    return 0;
}
static uint16_t u16le(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Feed every record of an .angs stream (version 2, or 3 with loads); the first failing call's status. */
static int32_t replay(angraph_handle *h, const uint8_t *stream, size_t stream_len, uint32_t records) {
    int32_t rc = ANGRAPH_OK;
    size_t at = 28;
    uint64_t prev = 0;
    int open = 0, ok = 1;
    int with_load = u32le(stream + 4) == 3;
    for (uint32_t i = 0; i < records && ok; i++) {
        if (with_load && !open) {
            /* Version 3: each event opens with its load (words, fires). */
            uint64_t words = varint(stream, stream_len, &at, &ok);
            uint64_t fires = varint(stream, stream_len, &at, &ok);
            if (!ok || words > 0xffff || fires > 0xffff) {
                ok = 0;
                break;
            }
            rc = angraph_begin_event_load(h, (uint16_t)words, (uint16_t)fires);
            open = 1;
            if (rc) break;
        }
        uint64_t tag = varint(stream, stream_len, &at, &ok);
        if (tag == 0) {
            rc = angraph_end_event(h);
            open = 0;
        } else {
            if (!open) {
                rc = angraph_begin_event(h);
                open = 1;
                if (rc) break;
            }
            uint64_t z = varint(stream, stream_len, &at, &ok);
            uint64_t enter = prev + (uint64_t)((int64_t)(z >> 1) ^ -(int64_t)(z & 1));
            uint64_t leave = enter + varint(stream, stream_len, &at, &ok);
            prev = enter;
            rc = angraph_hop(h, (uint32_t)(tag - 1), enter, leave);
        }
        if (rc) break;
    }
    if (!ok) rc = ANGRAPH_ERR_BUFFER_LENGTH;
    return rc;
}

#define CHECK(name, expr) printf("%s=%d\n", name, (int)(expr))

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s latency.angq stream.angs graph.bin tiny_power.angq power.angq\n",
                argv[0]);
        return 2;
    }
    size_t lat_len, stream_len, graph_len, pow_len, opow_len;
    uint8_t *lat = read_file(argv[1], &lat_len);
    uint8_t *stream = read_file(argv[2], &stream_len);
    uint8_t *graph = read_file(argv[3], &graph_len);
    uint8_t *pow = read_file(argv[4], &pow_len);
    uint8_t *opow = read_file(argv[5], &opow_len);

    angraph_dims dims = ANGRAPH_DIMS_ORIGINAL;
    size_t need = angraph_arena_bytes(&dims);
    printf("arena_bytes=%zu arena_bound=%u\n", need, ANGRAPH_ARENA_BYTES_ORIGINAL);
    uint32_t max_nodes = 0, max_edges = 0;
    angraph_capacity(&max_nodes, &max_edges);
    printf("max_nodes=%u max_edges=%u\n", max_nodes, max_edges);

    /* The stream file (.angs v2 or v3, see tests/support/mod.rs): 28-byte header, LEB128 records. */
    if (stream_len < 28 || memcmp(stream, "ANGS", 4) != 0 || (u32le(stream + 4) != 2 && u32le(stream + 4) != 3)) {
        fprintf(stderr, "bad stream file\n");
        return 2;
    }
    uint16_t mw = u16le(stream + 8), mh = u16le(stream + 10);
    angraph_process proc = {u16le(stream + 12), u16le(stream + 14), (int16_t)u16le(stream + 16)};
    uint32_t records = u32le(stream + 20);

    if (need > sizeof arena) {
        fprintf(stderr, "arena of %zu bytes < angraph_arena_bytes() = %zu\n", sizeof arena, need);
        return 1;
    }
    angraph_handle *h = NULL;
    int32_t rc = angraph_init(arena, sizeof arena, &dims, lat, lat_len, NULL, 0, mw, mh, &proc, &h);
    CHECK("init", rc);
    if (rc != ANGRAPH_OK) return 1;

    rc = replay(h, stream, stream_len, records);
    CHECK("replay", rc);
    angraph_prediction p;
    rc = angraph_predict(h, &p);
    CHECK("predict", rc);
    printf("latency_raw=%d latency_frac_bits=%u nodes=%u edges=%u events=%u hops=%llu span_ps=%llu\n",
           p.latency.raw, p.latency.frac_bits, p.nodes, p.edges, p.events,
           (unsigned long long)p.hops, (unsigned long long)p.span_ps);

    /* Graph in: n, e, x (n x 35 i32), src (e u32), dst (e u32), activities (e i32). */
    uint32_t n = u32le(graph), e = u32le(graph + 4);
    const uint8_t *g = graph + 8;
    if (graph_len != 8 + 4 * ((size_t)n * ANGRAPH_NODE_FEATURES + 3 * (size_t)e)) {
        fprintf(stderr, "bad graph file\n");
        return 2;
    }
    int32_t *x = malloc(4 * (size_t)n * ANGRAPH_NODE_FEATURES);
    uint32_t *src = malloc(4 * (size_t)e), *dst = malloc(4 * (size_t)e);
    int32_t *act = malloc(4 * (size_t)e);
    memcpy(x, g, 4 * (size_t)n * ANGRAPH_NODE_FEATURES);
    g += 4 * (size_t)n * ANGRAPH_NODE_FEATURES;
    memcpy(src, g, 4 * (size_t)e);
    memcpy(dst, g + 4 * (size_t)e, 4 * (size_t)e);
    memcpy(act, g + 8 * (size_t)e, 4 * (size_t)e);
    angraph_fixed y;
    rc = angraph_predict_graph(h, n, ANGRAPH_NODE_FEATURES, x, e, src, dst, act, &y);
    CHECK("predict_graph", rc);
    printf("graph_raw=%d graph_frac_bits=%u\n", y.raw, y.frac_bits);

    /* Bad calls give status codes. */
    CHECK("err_predict_consumed", angraph_predict(h, &p));
    CHECK("err_reset", angraph_reset(h));
    CHECK("err_hop_outside_event", angraph_hop(h, 0, 0, 0));
    angraph_begin_event(h);
    CHECK("err_out_of_mesh", angraph_hop(h, 16u * mw * mh + 1, 0, 0));
    CHECK("err_leave_before_enter", angraph_hop(h, 0, 10, 5));
    char detail[96];
    int32_t dn = angraph_last_error(h, detail, sizeof detail);
    printf("last_error_len=%d\n", (int)dn);
    printf("last_error=%s\n", detail);
    CHECK("err_null_handle", angraph_hop(NULL, 0, 0, 0));
    CHECK("err_null_out", angraph_predict(h, NULL));
    CHECK("err_no_power_model", angraph_predict_energy(h, x, 4, (angraph_energy *)&p));
    CHECK("err_graph_out_of_range",
          angraph_predict_graph(h, 2, ANGRAPH_NODE_FEATURES, x, 1, (const uint32_t[]){0},
                                (const uint32_t[]){7}, NULL, &y));
    CHECK("err_graph_feature_width",
          angraph_predict_graph(h, 2, 3, x, 0, NULL, NULL, NULL, &y));
    CHECK("err_graph_too_many_nodes",
          angraph_predict_graph(h, max_nodes + 1, ANGRAPH_NODE_FEATURES, x, 0, NULL, NULL, NULL, &y));
    angraph_handle *h2 = NULL;
    CHECK("err_truncated_blob",
          angraph_init(arena, need, &dims, lat, lat_len - 7, NULL, 0, mw, mh, NULL, &h2));
    CHECK("err_wrong_family",
          angraph_init(arena, need, &dims, pow, pow_len, NULL, 0, mw, mh, NULL, &h2));
    CHECK("err_small_arena",
          angraph_init(arena, need / 2, &dims, lat, lat_len, NULL, 0, mw, mh, NULL, &h2));
    CHECK("err_bad_mesh", angraph_init(arena, need, &dims, lat, lat_len, NULL, 0, 0, 4, NULL, &h2));
    CHECK("err_stale_handle_after_failed_init", angraph_reset(h));
    printf("msg_checksum=%s\n", angraph_status_message(ANGRAPH_ERR_CHECKSUM));
    printf("msg_unknown=%s\n", angraph_status_message(12345));
    uint32_t id = 0;
    const char *name = "SA of Router-3";
    rc = angraph_component_id(mw, mh, (const uint8_t *)name, strlen(name), &id);
    printf("component_id_rc=%d component_id=%u\n", rc, id);
    CHECK("err_component_name",
          angraph_component_id(mw, mh, (const uint8_t *)"SA of Router-99", 15, &id));

    /* Energy: the tiny ANGraph-P as power model (4 inputs, width 8). */
    angraph_dims pdims = dims;
    pdims.power_width = 8;
    pdims.power_in = 4;
    size_t pneed = angraph_arena_bytes(&pdims);
    if (pneed > sizeof arena) {
        fprintf(stderr, "arena too small for the power dims\n");
        return 1;
    }
    rc = angraph_init(arena, sizeof arena, &pdims, lat, lat_len, pow, pow_len, mw, mh, NULL, &h2);
    CHECK("init_power", rc);
    const int32_t activity[4] = {1 << 16, 0, 3 << 15, 1 << 14};
    angraph_energy en;
    rc = angraph_predict_energy(h2, activity, 4, &en);
    CHECK("predict_energy", rc);
    printf("energy_heads=%u energy_head0=%d energy_total=%d energy_frac_bits=%u\n", en.num_heads,
           en.heads[0].raw, en.total.raw, en.total.frac_bits);
    CHECK("err_energy_length", angraph_predict_energy(h2, activity, 3, &en));

    /* Latency and energy from the stream: the original ANGraph-P on its activity matrix. */
    angraph_dims odims = dims;
    odims.power_width = 128;
    odims.power_in = 36;
    if (angraph_arena_bytes(&odims) > sizeof arena) {
        fprintf(stderr, "arena too small for the original power dims\n");
        return 1;
    }
    angraph_handle *h3 = NULL;
    CHECK("init_original_power",
          angraph_init(arena, sizeof arena, &odims, lat, lat_len, opow, opow_len, mw, mh, &proc, &h3));
    CHECK("replay_with_energy", replay(h3, stream, stream_len, records));
    CHECK("predict_with_energy", angraph_predict(h3, &p));
    printf("stream_has_energy=%u stream_energy_head0=%d stream_energy_head1=%d stream_energy_total=%d "
           "stream_energy_frac_bits=%u stream_latency_raw=%d\n",
           p.has_energy, p.energy.heads[0].raw, p.energy.heads[1].raw, p.energy.total.raw,
           p.energy.total.frac_bits, p.latency.raw);
    printf("done=1\n");
    free(lat);
    free(stream);
    free(graph);
    free(pow);
    free(opow);
    free(x);
    free(src);
    free(dst);
    free(act);
    return 0;
}
