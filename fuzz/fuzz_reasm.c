/*
 * fuzz_reasm.c - libFuzzer target for the TCP reassembler (src/reassembly.h):
 * two directions sharing one pool with small caps, segments with arbitrary
 * sequence numbers, flags and lengths, ACKs from the other direction,
 * flushes.
 *
 * Input: 4 config bytes (per-stream held cap, blocks cap, pool memcap,
 * depth / recent window), then records:
 *   u8 ctl   bit 7: direction; bit 6: carries an ACK (u16 follows);
 *            bit 5: absolute 32-bit sequence number (else u16 relative to
 *            the direction's ISN); bit 4: payload taken from the input
 *            (else the byte pattern of the sequence number); bit 3: flush
 *            this direction instead of a segment; bits 0-2: FIN SYN RST
 *   seq      u16 or u32 (little endian)
 *   [ack]    u16, relative to the other direction's ISN
 *   u8 len   payload length (x 37 when bit 4 is clear, so caps are reached)
 *   [payload when bit 4]
 * Checked after every call (reassembly.h contract):
 *   tcp_stream_offset() == delivered + gap bytes reported (callback totals);
 *   every deliver/gap starts at the stream's current offset;
 *   held bytes <= per-stream cap; pool memory <= memcap;
 *   with pattern payloads only, each delivered byte is the pattern byte of
 *   its sequence number (first-wins never invents data);
 *   after both streams are freed the pool holds nothing.
 *
 * Build: make fuzz (build-fuzz/fuzz_reasm); replay build: see fuzz/README.md.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reassembly.h"

typedef struct side_state {
    tcp_stream *s;
    uint64_t delivered, gaps;
    bool pattern_only;   /* every payload of this direction came from pat() */
} side_state;

typedef struct run {
    side_state side[2];
} run;

static uint8_t pat(uint32_t seq, int dir)
{
    uint32_t x = seq * 2654435761u + (uint32_t)dir * 40503u;
    return (uint8_t)(x >> 24);
}

static void on_deliver(void *user, int dir, const uint8_t *data, size_t len, uint64_t ts)
{
    run *r = user;
    side_state *ss = &r->side[dir];
    uint64_t at = ss->delivered + ss->gaps;

    (void)ts;
    if (len == 0 || tcp_stream_offset(ss->s) != at)
        __builtin_trap();
    if (ss->pattern_only) {
        uint32_t seq0 = ss->s->base_seq + (uint32_t)at;
        for (size_t i = 0; i < len; i++)
            if (data[i] != pat(seq0 + (uint32_t)i, dir))
                __builtin_trap();
    }
    ss->delivered += len;
}

static void on_gap(void *user, int dir, uint64_t len, uint64_t ts)
{
    run *r = user;
    side_state *ss = &r->side[dir];

    (void)ts;
    if (len == 0 || tcp_stream_offset(ss->s) != ss->delivered + ss->gaps)
        __builtin_trap();
    ss->gaps += len;
}

static void on_anomaly(void *user, int dir, int id, uint64_t off, uint64_t ts)
{
    (void)user, (void)dir, (void)off, (void)ts;
    if (!reasm_anomaly_name(id))
        __builtin_trap();
}

static const reasm_callbacks cb = {on_deliver, on_gap, on_anomaly};

static void check(const run *r, const reasm_config *cfg, const reasm_pool *pool)
{
    for (int d = 0; d < 2; d++) {
        const side_state *ss = &r->side[d];
        if (tcp_stream_offset(ss->s) != ss->delivered + ss->gaps)
            __builtin_trap();
        if (tcp_stream_held(ss->s) > cfg->max_held_per_stream)
            __builtin_trap();
    }
    if (pool->mem_used > cfg->memcap_total)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    reasm_config cfg;
    reasm_pool pool;
    tcp_stream st[2];
    run r;
    uint32_t isn[2] = {1000u, 0xfffff000u};  /* the server's ISN wraps soon */
    uint8_t buf[255 * 37];
    uint64_t ts = 0;

    if (size < 4)
        return 0;
    reasm_config_default(&cfg);
    cfg.max_held_per_stream = 64u + (size_t)p[0] * 32u;       /* 64 .. 8224 */
    cfg.max_blocks_per_stream = 1u + (p[1] & 31u);
    cfg.memcap_total = 256u + (size_t)p[2] * 64u;              /* 256 .. 16576 */
    cfg.depth = (p[3] & 0x0f) ? 0 : (uint64_t)(p[3] >> 4) * 1000u;
    cfg.recent_window = (p[3] & 0x10) ? 0 : (p[3] & 0x20) ? 256 : 4096;
    p += 4;
    reasm_pool_init(&pool, &cfg);
    memset(&r, 0, sizeof r);
    for (int d = 0; d < 2; d++) {
        tcp_stream_init(&st[d], &pool, d);
        r.side[d].s = &st[d];
        r.side[d].pattern_only = true;
    }

    while (p < end) {
        uint8_t ctl = *p++;
        int d = ctl >> 7;
        uint8_t flags = (uint8_t)(ctl & 7u);
        uint32_t seq;
        size_t len;
        const uint8_t *payload;

        ts += 1000;
        if (ctl & 0x08) {
            tcp_stream_flush(&st[d], ts, &cb, &r);
            check(&r, &cfg, &pool);
            continue;
        }
        if (ctl & 0x20) {
            if (end - p < 4)
                break;
            seq = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            p += 4;
        } else {
            if (end - p < 2)
                break;
            seq = isn[d] + ((uint32_t)p[0] | (uint32_t)p[1] << 8);
            p += 2;
        }
        if (ctl & 0x40) {
            uint32_t ack;
            if (end - p < 2)
                break;
            ack = isn[!d] + ((uint32_t)p[0] | (uint32_t)p[1] << 8);
            p += 2;
            tcp_stream_peer_ack(&st[!d], ack, ts, &cb, &r);
            check(&r, &cfg, &pool);
        }
        if (p >= end)
            break;
        len = *p++;
        if (ctl & 0x10) {
            if ((size_t)(end - p) < len)
                len = (size_t)(end - p);
            payload = p;
            p += len;
            if (len)
                r.side[d].pattern_only = false;
        } else {
            /* SYN: data starts at seq+1 (RFC 9293 3.4). */
            uint32_t s0 = seq + ((flags & 2u) ? 1u : 0u);
            len *= 37u;
            for (size_t i = 0; i < len; i++)
                buf[i] = pat(s0 + (uint32_t)i, d);
            payload = buf;
        }
        if (tcp_stream_segment(&st[d], seq, flags, payload, len, ts, &cb, &r) == REASM_SEG_NEW_CONN) {
            /* The engine would start a new connection: do the same. */
            tcp_stream_flush(&st[d], ts, &cb, &r);
            check(&r, &cfg, &pool);
            tcp_stream_free(&st[d]);
            tcp_stream_init(&st[d], &pool, d);
            r.side[d].delivered = r.side[d].gaps = 0;
            r.side[d].pattern_only = true;
            /* the segment itself may carry input bytes: the flag is about
             * what reaches this fresh stream */
            if ((ctl & 0x10) && len)
                r.side[d].pattern_only = false;
            tcp_stream_segment(&st[d], seq, flags, payload, len, ts, &cb, &r);
        }
        check(&r, &cfg, &pool);
    }
    for (int d = 0; d < 2; d++) {
        tcp_stream_flush(&st[d], ts, &cb, &r);
        check(&r, &cfg, &pool);
        if (tcp_stream_held(&st[d]) != 0)
            __builtin_trap();
        tcp_stream_free(&st[d]);
    }
    if (pool.mem_used != 0)
        __builtin_trap();
    return 0;
}
