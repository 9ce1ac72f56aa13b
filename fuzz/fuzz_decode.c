/*
 * fuzz_decode.c - libFuzzer target for the packet decoder (src/decode.h):
 * every link type, several frames per input so IP fragment reassembly
 * (small caps) runs too.
 *
 * Input: byte 0 selects the link type (index into links[] below, modulo
 * its size); byte 1 = config (bit 0: no reassembly, bits 1-3: VLAN/MPLS
 * cap, bits 4-5: tunnel cap); then records:
 *   u16 caplen (little endian, clipped to what is left), u16 wire-length
 *   delta (wirelen = caplen + delta; may also be below caplen), frame.
 * Checked per frame: the result is one of the four; a reason name exists
 * for SKIP/ERROR; DECODE_OK payload bytes are readable (ASan) and
 * payload_len <= payload_wire_len unless not truncated; the counters add
 * up (ok + held + skipped + errors == packets decoded).
 *
 * Build: make fuzz (build-fuzz/fuzz_decode).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decode.h"

static const int links[] = {
    DECODE_LINK_NULL, DECODE_LINK_EN10MB, DECODE_LINK_RAW, DECODE_LINK_RAW_BSD,
    DECODE_LINK_RAW_LT, DECODE_LINK_LOOP, DECODE_LINK_SLL, DECODE_LINK_IPV4,
    DECODE_LINK_IPV6, DECODE_LINK_SLL2, 147 /* unsupported */,
};

static volatile uint8_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p, *end = data + size;
    decode_config cfg;
    decoder d;
    char err[128];
    uint64_t ts = 1000000, frames = 0;
    int lt;

    if (size < 2)
        return 0;
    lt = links[data[0] % (sizeof links / sizeof links[0])];
    memset(&cfg, 0, sizeof cfg);
    cfg.no_reassembly = data[1] & 1;
    cfg.max_vlan = (data[1] >> 1) & 7;
    cfg.max_mpls = (data[1] >> 1) & 7;
    cfg.max_tunnel = (data[1] >> 4) & 3;
    cfg.frag.max_datagrams = 4;
    cfg.frag.max_bytes = 8192;
    cfg.frag.timeout_us = 5000000;
    cfg.frag.fixed_seed = 1;
    if (decoder_init(&d, &cfg, err, sizeof err) != 0)
        __builtin_trap();
    p = data + 2;
    while (end - p >= 4) {
        size_t caplen = (size_t)p[0] | (size_t)p[1] << 8;
        uint32_t delta = (uint32_t)p[2] | (uint32_t)p[3] << 8;
        uint32_t wirelen;
        pkt out;
        decode_result r;

        p += 4;
        if (caplen > (size_t)(end - p))
            caplen = (size_t)(end - p);
        wirelen = (delta & 0x8000u) ? (uint32_t)caplen - (uint32_t)(caplen < (delta & 0x7fffu) ? caplen : (delta & 0x7fffu))
                                    : (uint32_t)caplen + delta;
        ts += (uint64_t)(delta & 0xff) * 100000u;
        r = decode_packet(&d, lt, p, (uint32_t)caplen, wirelen, ts, &out);
        frames++;
        switch (r) {
        case DECODE_OK: {
            uint8_t x = 0;
            if (out.payload_len && !out.payload)
                __builtin_trap();
            for (size_t i = 0; i < out.payload_len; i++)
                x ^= out.payload[i];   /* every byte readable (ASan) */
            sink ^= x;
            if (out.truncated != (out.payload_len < out.payload_wire_len))
                __builtin_trap();
            if (out.ip_version != 4 && out.ip_version != 6)
                __builtin_trap();
            break;
        }
        case DECODE_HELD:
            break;
        case DECODE_SKIP:
        case DECODE_ERROR:
            /* An ERROR names an error reason.  A SKIP names a skip reason,
             * or the anomaly of a cap that dropped the datagram (frag_memcap,
             * frag_too_many; decode.h). */
            if (out.error >= DECODE_REASON_COUNT ||
                (r == DECODE_SKIP && decode_reason_kind(out.error) == DECODE_KIND_ERROR) ||
                (r == DECODE_ERROR && decode_reason_kind(out.error) != DECODE_KIND_ERROR))
                __builtin_trap();
            break;
        default:
            __builtin_trap();
        }
        p += caplen;
    }
    decoder_expire(&d, UINT64_MAX);
    {
        const decode_stats *st = decoder_stats(&d);
        if (st->ok + st->held + st->skipped + st->errors != frames)
            __builtin_trap();
    }
    decoder_free(&d);
    return 0;
}
