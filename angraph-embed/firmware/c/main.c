/*
 * The C firmware example: the same replay as the Rust firmware, through include/angraph.h and
 * the thumbv7m-none-eabi staticlib, on QEMU's mps2-an385 (Cortex-M3). Freestanding: no libc;
 * output over semihosting as key=value lines (checked by angraph-embed/tests/qemu.rs).
 */
#include "angraph.h"

#include <stddef.h>
#include <stdint.h>

extern const uint8_t latency_angq[], latency_angq_end[];
extern const uint8_t stream_angs[], stream_angs_end[];
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _stack_top;

/* The arena, sized at compile time by the header's bound. */
static _Alignas(8) uint8_t arena[ANGRAPH_ARENA_BYTES_ORIGINAL];

static void semihost_write0(const char *s) {
    register uint32_t r0 __asm__("r0") = 0x04;
    register const char *r1 __asm__("r1") = s;
    __asm__ volatile("bkpt #0xAB" : "+r"(r0) : "r"(r1) : "memory");
}

static void semihost_exit(int ok) {
    register uint32_t r0 __asm__("r0") = 0x18;
    register uint32_t r1 __asm__("r1") = ok ? 0x20026 : 0x20024;
    __asm__ volatile("bkpt #0xAB" : "+r"(r0) : "r"(r1) : "memory");
    for (;;) {
    }
}

static char line[160];
static size_t pos;

static void put(const char *s) {
    while (*s && pos + 1 < sizeof line) line[pos++] = *s++;
}
static void put_i64(int64_t v) {
    char buf[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
    do {
        buf[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) buf[n++] = '-';
    while (n) {
        char c[2] = {buf[--n], 0};
        put(c);
    }
}
static void kv(const char *k, int64_t v) {
    put(k);
    put("=");
    put_i64(v);
    put("\n");
    line[pos] = 0;
    semihost_write0(line);
    pos = 0;
}

static uint32_t u32le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t u16le(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

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

#define PAINT 0x5A5AA5A5u

static uint32_t stack_peak(void) {
    uint32_t *p = &_ebss;
    while (p < &_stack_top && *p == PAINT) p++;
    return (uint32_t)((uintptr_t)&_stack_top - (uintptr_t)p);
}

int main(void) {
    semihost_write0("angraph-firmware-c: cortex-m3, C ABI\n");
    angraph_dims dims = ANGRAPH_DIMS_ORIGINAL;
    kv("arena_bytes", (int64_t)angraph_arena_bytes(&dims));
    kv("arena_static", (int64_t)sizeof arena);
    const uint8_t *s = stream_angs;
    uint16_t mw = u16le(s + 8), mh = u16le(s + 10);
    angraph_process proc = {u16le(s + 12), u16le(s + 14), (int16_t)u16le(s + 16)};
    uint32_t records = u32le(s + 20);
    angraph_handle *h = 0;
    int32_t rc = angraph_init(arena, sizeof arena, &dims, latency_angq,
                              (size_t)(latency_angq_end - latency_angq), 0, 0, mw, mh, &proc, &h);
    kv("init", rc);
    if (rc) semihost_exit(0);
    /* .angs records: tag (0 = end of event, else id + 1), zigzag enter delta, dwell; version 3
     * opens each event with its load (words, fires). */
    size_t len = (size_t)(stream_angs_end - stream_angs), at = 28;
    int with_load = u32le(s + 4) == 3;
    uint64_t prev = 0;
    int open = 0, ok = 1;
    for (uint32_t i = 0; i < records && rc == 0 && ok; i++) {
        if (with_load && !open) {
            uint64_t words = varint(s, len, &at, &ok);
            uint64_t fires = varint(s, len, &at, &ok);
            if (words > 0xffff || fires > 0xffff) ok = 0;
            if (!ok) break;
            rc = angraph_begin_event_load(h, (uint16_t)words, (uint16_t)fires);
            open = 1;
            if (rc) break;
        }
        uint64_t tag = varint(s, len, &at, &ok);
        if (tag == 0) {
            rc = angraph_end_event(h);
            open = 0;
            continue;
        }
        if (!open) {
            rc = angraph_begin_event(h);
            open = 1;
            if (rc) break;
        }
        uint64_t z = varint(s, len, &at, &ok);
        uint64_t enter = prev + (uint64_t)((int64_t)(z >> 1) ^ -(int64_t)(z & 1));
        uint64_t leave = enter + varint(s, len, &at, &ok);
        prev = enter;
        rc = angraph_hop(h, (uint32_t)(tag - 1), enter, leave);
    }
    if (!ok) rc = ANGRAPH_ERR_BUFFER_LENGTH;
    kv("replay", rc);
    angraph_prediction p;
    rc = angraph_predict(h, &p);
    kv("predict", rc);
    kv("latency_raw", p.latency.raw);
    kv("latency_frac_bits", p.latency.frac_bits);
    kv("nodes", p.nodes);
    kv("edges", p.edges);
    kv("err_predict_consumed", angraph_predict(h, &p));
    kv("err_out_of_mesh", (angraph_reset(h), angraph_begin_event(h),
                           angraph_hop(h, 16u * mw * mh + 1, 0, 0)));
    kv("err_truncated_blob",
       angraph_init(arena, sizeof arena, &dims, latency_angq,
                    (size_t)(latency_angq_end - latency_angq) - 7, 0, 0, mw, mh, 0, &h));
    kv("static_ram", (int64_t)((uintptr_t)&_ebss - (uintptr_t)&_sdata));
    kv("stack_peak", stack_peak());
    semihost_write0("done\n");
    semihost_exit(1);
    return 0;
}

/* Start-up: copy .data, zero .bss, paint the free stack, run main. */
void Reset(void) {
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss; dst++) *dst = 0;
    uint32_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = &_ebss; (uintptr_t)p < sp - 64; p++) *p = PAINT;
    main();
    semihost_exit(0);
}

static void fault(void) {
    semihost_write0("FAULT\n");
    semihost_exit(0);
}

/* Exceptions 1..15 (entry 0, the initial stack pointer, comes from link.x). */
__attribute__((section(".vector_table.vectors"), used)) void (*const VECTORS[15])(void) = {
    Reset, fault, fault, fault, fault, fault, 0, 0, 0, 0, fault, fault, 0, fault, fault,
};
