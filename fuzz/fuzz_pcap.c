/*
 * fuzz_pcap.c - libFuzzer target for the whole program on pcap input:
 * the input becomes a pcap file in memory (fmemopen + pcap_fopen_offline),
 * read by libpcap and run through the engine as capture.c does (decode ->
 * flows -> reassembly -> TLS / DEFLATE -> dissector -> output), output to
 * /dev/null, with small caps so every cap is reached.
 *
 * Input:
 *   byte 0  bit 0: JSON (else text trace); bit 1: --all-tcp; bits 2-3:
 *           feed split (as delivered, 1 byte, 7 bytes, random); bit 4:
 *           nanosecond pcap magic; bit 5: byte-swapped file; bits 6-7:
 *           snap length in the file header (65535, 262144, 0, 0xffffffff)
 *   byte 1  link type: index into links[] (modulo)
 *   records u16 caplen (LE, clipped to what is left), u8 time step
 *           (signed: timestamps go backwards too), u8 wire-length extra
 *           (0xff: wire length 0, below caplen), then the frame.
 * fuzz/make_seeds.py turns captures into this format (seeds).
 *
 * Build: make fuzz (build-fuzz/fuzz_pcap).
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "output.h"

static const uint32_t links[] = {1, 0, 12, 101, 108, 113, 228, 229, 276, 147};

static void put32(uint8_t *b, uint32_t v, int swap)
{
    if (swap)
        b[0] = (uint8_t)(v >> 24), b[1] = (uint8_t)(v >> 16), b[2] = (uint8_t)(v >> 8), b[3] = (uint8_t)v;
    else
        b[3] = (uint8_t)(v >> 24), b[2] = (uint8_t)(v >> 16), b[1] = (uint8_t)(v >> 8), b[0] = (uint8_t)v;
}

static void put16(uint8_t *b, uint16_t v, int swap)
{
    if (swap)
        b[0] = (uint8_t)(v >> 8), b[1] = (uint8_t)v;
    else
        b[1] = (uint8_t)(v >> 8), b[0] = (uint8_t)v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t snaps[4] = {65535, 262144, 0, 0xffffffffu};
    const uint8_t *p = data + 2, *end = data + size;
    uint8_t *file, *w;
    size_t cap;
    int swap, nano;
    uint32_t sec = 1700000000u, frac = 0;
    engine_config ec;
    output *out;
    engine *e;
    FILE *fp;
    pcap_t *pc;
    char errbuf[PCAP_ERRBUF_SIZE > 512 ? PCAP_ERRBUF_SIZE : 512];

    if (size < 2)
        return 0;
    swap = (data[0] >> 5) & 1;
    nano = (data[0] >> 4) & 1;
    /* Every record grows by at most 16 - 4 bytes of header. */
    cap = 24 + size * 4 + 64;
    file = malloc(cap);
    if (!file)
        return 0;
    put32(file, nano ? 0xa1b23c4du : 0xa1b2c3d4u, swap);
    put16(file + 4, 2, swap);
    put16(file + 6, 4, swap);
    put32(file + 8, 0, swap);
    put32(file + 12, 0, swap);
    put32(file + 16, snaps[data[0] >> 6], swap);
    put32(file + 20, links[data[1] % (sizeof links / sizeof links[0])], swap);
    w = file + 24;
    while (end - p >= 4) {
        size_t caplen = (size_t)p[0] | (size_t)p[1] << 8;
        int8_t step = (int8_t)p[2];
        uint8_t extra = p[3];
        p += 4;
        if (caplen > (size_t)(end - p))
            caplen = (size_t)(end - p);
        /* time steps of 1/8 s, forwards or backwards */
        if (step < 0 && sec > 100)
            sec -= (uint32_t)(-step) / 8u;
        else
            sec += (uint32_t)step / 8u;
        frac = (frac + (uint32_t)(step & 7) * 125000u) % (nano ? 1000000000u : 1000000u);
        put32(w, sec, swap);
        put32(w + 4, frac, swap);
        put32(w + 8, (uint32_t)caplen, swap);
        put32(w + 12, extra == 0xff ? 0 : (uint32_t)caplen + extra, swap);
        memcpy(w + 16, p, caplen);
        w += 16 + caplen;
        p += caplen;
    }

    fp = fmemopen(file, (size_t)(w - file), "rb");
    if (!fp) {
        free(file);
        return 0;
    }
    pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (!pc) {
        fclose(fp);
        free(file);
        return 0;
    }

    engine_config_default(&ec);
    ec.max_flows = 8;
    ec.reasm.max_held_per_stream = 4096;
    ec.reasm.memcap_total = 16384;
    ec.imap.max_line = 256;
    ec.imap.max_pending = 8;
    ec.imap.max_responses = 8;
    ec.imap.max_txn_bytes = 4096;
    ec.imap.literal_keep = 64;
    ec.imap.max_literal = 100000;
    /* a small shared budget, so that its refusals are reached too */
    imap_budget budget;
    imap_budget_init(&budget, 6000);
    ec.imap.budget = &budget;
    ec.all_tcp = (data[0] >> 1) & 1;
    switch ((data[0] >> 2) & 3) {
    case 1: ec.feed_chunk = 1; break;
    case 2: ec.feed_chunk = 7; break;
    case 3: ec.feed_chunk = -1, ec.feed_seed = 7; break;
    default: break;
    }
    out = output_open("/dev/null", (data[0] & 1) ? OUT_JSON : OUT_TEXT, 1, errbuf, sizeof errbuf);
    if (!out)
        __builtin_trap();
    output_set_color(out, OUT_COLOR_NEVER);
    ec.imap.emit_lines = output_wants_lines(out);
    e = engine_new(&ec, out, errbuf, sizeof errbuf);
    if (!e)
        __builtin_trap();
    {
        int linktype = pcap_datalink(pc);
        struct pcap_pkthdr *h;
        const u_char *d;
        while (pcap_next_ex(pc, &h, &d) == 1) {
            uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
            engine_frame(e, linktype, d, h->caplen, h->len, ts);
        }
    }
    engine_finish(e, "end_of_input", NULL);
    engine_free(e);
    if (atomic_load(&budget.used) != 0) /* every session gave back what it took */
        __builtin_trap();
    output_close(out);
    pcap_close(pc);   /* closes fp */
    free(file);
    return 0;
}
