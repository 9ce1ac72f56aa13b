/*
 * fuzz_dissector.c - libFuzzer target for the IMAP dissector session core.
 *
 * Input layout: byte 0 = flags (bit0 hash literals, bit1 emit lines, bit2
 * show credentials, bit3 implicit TLS, bits4-7 small max_line selector);
 * then records: 1 control byte (bit7: direction server, bits0-6: piece
 * length 0..127; 0 means "a gap of the next byte's value") followed by
 * that many data bytes.  The same bytes are also fed a second time with
 * the whole stream per direction in one piece, so differences in chunking
 * are exercised (the events are not compared here; test_session.c does).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap.h"

static int on_event(void *user, const imap_event *ev)
{
    size_t *n = user;
    (*n)++;
    if (ev->data) {
        char *s = json_dumps(ev->data, JSON_COMPACT);
        if (!s)
            __builtin_trap(); /* every event must serialise */
        free(s);
    }
    return 0;
}

static int on_lit_begin(void *u, imap_dir d, uint64_t size, const char *tag, const char *cmd)
{
    (void)u; (void)d; (void)size;
    if (!tag || !cmd)
        __builtin_trap();
    return 0;
}

static int on_lit_data(void *u, imap_dir d, const uint8_t *p, size_t n)
{
    (void)u; (void)d;
    volatile uint8_t x = 0;
    for (size_t i = 0; i < n; i++)
        x ^= p[i];
    (void)x;
    return 0;
}

static int on_lit_end(void *u, imap_dir d, bool complete)
{
    (void)u; (void)d; (void)complete;
    return 0;
}

static const imap_callbacks cbs = { on_event, on_lit_begin, on_lit_data, on_lit_end };

static void feed_all(imap_session *s, imap_dir dir, const uint8_t *p, size_t n, uint64_t ts)
{
    size_t off = 0;
    int zero = 0;
    while (off < n) {
        long r = imap_session_feed(s, dir, p + off, n - off, ts);
        if (r < 0)
            return;
        /* 0 consumed: a switch right at the first byte (a TLS record before
         * the STARTTLS OK); the next call must make progress */
        if (r == 0 && ++zero > 1)
            __builtin_trap();
        if (r > 0)
            zero = 0;
        off += (size_t)r;
        if (off < n)
            imap_session_check_tls_start(s, dir, p + off, n - off);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    imap_config cfg;
    imap_config_default(&cfg);
    uint8_t f = data[0];
    cfg.hash_literals = f & 1;
    cfg.emit_lines = f & 2;
    cfg.show_credentials = f & 4;
    cfg.max_line = 64 + (size_t)(f >> 4) * 64;
    cfg.max_literal = 4096;
    cfg.literal_keep = 16;
    cfg.max_pending = 4;
    cfg.max_responses = 8;
    cfg.max_txn_bytes = 4096;
    size_t events = 0;
    imap_session *s = imap_session_new(&cfg, &cbs, &events);
    if (!s)
        return 0;
    if (f & 8) {
        imap_session_set_layer(s, IMAP_DIR_CLIENT, IMAP_LAYER_TLS, true);
        imap_session_set_layer(s, IMAP_DIR_SERVER, IMAP_LAYER_TLS, true);
    }
    size_t i = 1;
    uint64_t ts = 1;
    while (i < size) {
        uint8_t c = data[i++];
        imap_dir dir = (c & 0x80) ? IMAP_DIR_SERVER : IMAP_DIR_CLIENT;
        size_t n = c & 0x7F;
        ts += 1000;
        if (n == 0) {
            if (i < size)
                imap_session_gap(s, dir, data[i++], ts);
            continue;
        }
        if (n > size - i)
            n = size - i;
        feed_all(s, dir, data + i, n, ts);
        i += n;
    }
    json_t *sum = imap_session_summary(s);
    char *d = json_dumps(sum, JSON_COMPACT);
    if (!d)
        __builtin_trap();
    free(d);
    json_decref(sum);
    imap_session_end(s, "fuzz", ts + 1);
    imap_session_end(s, "fuzz", ts + 2); /* idempotent */
    sum = imap_session_summary(s);
    json_decref(sum);
    imap_session_free(s);
    return 0;
}
