/*
 * fuzz_dissector.c - libFuzzer target for the IMAP dissector session core.
 *
 * Input layout: byte 0 = flags (bit0 hash literals, bit1 emit lines, bit2
 * show credentials, bit3 implicit TLS, bits4-7 small max_line selector);
 * then records: 1 control byte (bit7: direction server, bits0-6: piece
 * length 0..127; 0 means "a gap of the next byte's value") followed by
 * that many data bytes.  The same input is run twice: pieces as given,
 * then every piece byte by byte; the serialized event sequences must be
 * identical (the chunking property; the detail of
 * starttls_response_injection, which shows the bytes visible with the
 * switch, is left out).  The literal sink's context (imap_literal_info at
 * each begin and line end) and the completeness at each end are part of
 * the compared sequence.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "imap.h"
#include "node_json.h"

typedef struct run_state {
    char  *log;        /* serialized events */
    size_t len, cap;
    bool   check_pending[2];
} run_state;

static void log_append(run_state *r, const char *s, size_t n)
{
    if (r->len + n + 1 > r->cap) {
        size_t c = (r->len + n + 1) * 2;
        char *p = realloc(r->log, c);
        if (!p)
            __builtin_trap();
        r->log = p;
        r->cap = c;
    }
    memcpy(r->log + r->len, s, n);
    r->len += n;
    r->log[r->len] = '\0';
}

static int on_event(void *user, const imap_event *ev)
{
    run_state *r = user;
    char head[96];
    int n = snprintf(head, sizeof head, "%d %d %llu %d|", (int)ev->type, (int)ev->dir,
                     (unsigned long long)ev->offset, (int)ev->switch_to);
    log_append(r, head, (size_t)n);
    if (ev->type == IMAP_EV_SWITCH)
        r->check_pending[ev->dir] = true;
    if (ev->data) {
        json_t *d = node_to_json(ev->data);
        if (ev->type == IMAP_EV_ANOMALY && ev->anomaly == IMAP_ANOM_STARTTLS_RESPONSE_INJECTION)
            json_object_del(d, "detail");
        char *s = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(d);
        if (!s)
            __builtin_trap(); /* every event must serialise */
        log_append(r, s, strlen(s));
        log_append(r, "\n", 1);
        free(s);
    }
    return 0;
}

/* The literal sink's context is logged too: the same whatever the split. */
static void log_info(run_state *r, const char *what, const imap_literal_info *li)
{
    char line[1200];
    if (!li || !li->tag || !li->command || !li->section || !li->mailbox)
        __builtin_trap();
    int n = snprintf(line, sizeof line, "%s %d %d %llu %d %u %s %s %u %d %u %s %d %llu %s\n", what, (int)li->dir,
                     (int)li->kind, (unsigned long long)li->size, (int)li->binary, li->index, li->tag, li->command,
                     li->seq, (int)li->has_uid, li->uid, li->section, (int)li->has_origin,
                     (unsigned long long)li->origin, li->mailbox);
    log_append(r, line, n > 0 && (size_t)n < sizeof line ? (size_t)n : strlen(line));
}

static int on_lit_begin(void *u, const imap_literal_info *li)
{
    log_info(u, "L", li);
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
    char line[32];
    int n = snprintf(line, sizeof line, "E %d %d\n", (int)d, (int)complete);
    log_append(u, line, (size_t)n);
    return 0;
}

static int on_lit_line_end(void *u, const imap_literal_info *li)
{
    log_info(u, "N", li);
    return 0;
}

static const imap_callbacks cbs = { on_event, on_lit_begin, on_lit_data, on_lit_end, on_lit_line_end };

static void feed_all(imap_session *s, run_state *rs, imap_dir dir, const uint8_t *p, size_t n,
                     uint64_t ts, bool bytewise)
{
    size_t off = 0;
    int zero = 0;
    while (off < n) {
        if (rs->check_pending[dir]) {
            rs->check_pending[dir] = false;
            imap_session_check_tls_start(s, dir, p + off, n - off);
        }
        long r = imap_session_feed(s, dir, p + off, bytewise ? 1 : n - off, ts);
        if (r < 0)
            return;
        /* 0 consumed: a switch right at the first byte (a TLS record before
         * the STARTTLS OK); the next call must make progress */
        if (r == 0 && ++zero > 1)
            __builtin_trap();
        if (r > 0)
            zero = 0;
        off += (size_t)r;
    }
}

static char *run_once(const uint8_t *data, size_t size, bool bytewise)
{
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
    run_state rs;
    memset(&rs, 0, sizeof rs);
    imap_session *s = imap_session_new(&cfg, &cbs, &rs);
    if (!s)
        __builtin_trap();
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
        feed_all(s, &rs, dir, data + i, n, ts, bytewise);
        i += n;
    }
    imap_node *sumn = imap_session_summary(s);
    json_t *sum = node_to_json(sumn);
    imap_node_release(sumn);
    char *d = json_dumps(sum, JSON_COMPACT | JSON_SORT_KEYS);
    if (!d)
        __builtin_trap();
    log_append(&rs, d, strlen(d));
    free(d);
    json_decref(sum);
    imap_session_end(s, "fuzz", ts + 1);
    imap_session_end(s, "fuzz", ts + 2); /* idempotent */
    imap_session_free(s);
    log_append(&rs, "", 0);
    return rs.log;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *a = run_once(data, size, false);
    char *b = run_once(data, size, true);
    if (strcmp(a, b) != 0) {
        fprintf(stderr, "chunking changed the events:\n--- pieces\n%s\n--- bytes\n%s\n", a, b);
        __builtin_trap();
    }
    free(a);
    free(b);
    return 0;
}
