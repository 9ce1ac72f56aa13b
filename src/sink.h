/*
 * sink.h - the buffer and file descriptor behind an output (output.h):
 * internal to the output modules (output.c: the JSON and text renderers;
 * sink.c: opening, writing, reopening, forks, errors).
 *
 * One growable buffer per output holds the bytes not yet written; every
 * event is serialised straight into it (no intermediate string, no
 * allocation once the buffer has reached its working size) and the buffer
 * is written with write(2) when it passes OUT_FLUSH_BYTES.  An event is
 * framed by event_begin()/event_end(): one that passes
 * OUT_MAX_EVENT_BYTES is dropped whole and counted.  The put_ helpers are
 * inline: they are the renderers' innermost loop.
 */
#ifndef IMAPSCOPE_SINK_H
#define IMAPSCOPE_SINK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

/* The envelope and selection settings of an output (output.h:
 * output_set_sensor, output_set_packet, output_set_types,
 * output_set_no_responses); a fork starts with a copy of its parent's. */
typedef struct out_env {
    const char *host;           /* "host"; NULL: left out (borrowed: outlives the output) */
    const char *pcap_filename;  /* "pcap_filename"; NULL: left out (borrowed) */
    uint64_t    pcap_cnt;       /* "pcap_cnt" of the events being written; 0: left out */
    uint32_t    types;          /* bit per OUT_TYPE_NAMES entry written; 0: every type */
    struct {                    /* --exclude-fields, --no-responses: top-level body members left out */
        uint8_t type;           /* index in OUT_TYPE_NAMES */
        uint8_t len;
        char    key[OUT_EXCLUDE_KEY_MAX];
    } excl[OUT_MAX_EXCLUDE];
    unsigned    n_excl;
    int         skip_type;      /* while writing a body: its type's index (excl applies); -1: none */
} out_env;

/* The index of event_type in OUT_TYPE_NAMES, or -1 (output.c). */
int out_type_index(const char *event_type);

/* Deletes the excluded members of a jansson body of this type (owned by
 * the caller). */
void out_exclude_json(const output *o, const char *event_type, json_t *body);

struct output {
    out_format fmt;
    out_env    env;
    int        verbose;
    bool       annotate;        /* JSON: rfc and meaning added (--annotate) */
    int        fd;
    bool       is_stdout;
    bool       is_tty;
    bool       color;
    bool       broken;          /* EPIPE seen: the reader is gone, stop formatting */
    bool       error_reported;  /* one message on stderr per output */
    bool       failed;          /* a write or close failed other than EPIPE: output lost */
    uint32_t   hints_given;     /* output_hint_once: bit per id (main output, under lock) */
    uint64_t   flow_numbers;    /* output_flow_number: numbers given (main output, under lock) */
    size_t     max_text_line;   /* bytes of an IMAP line's text shown (0: all, up to OUT_TEXT_MAX_LINE) */
    char      *path;            /* NULL for standard output */

    char      *buf;             /* pending bytes [0, len) */
    size_t     len, cap;
    size_t     ev_start;        /* where the event being built started */
    bool       overflow;        /* the event being built passed OUT_MAX_EVENT_BYTES */

    int64_t    ts_cache_sec;    /* second of ts_cache (RFC 3339 "YYYY-MM-DDTHH:MM:SS") */
    char       ts_cache[20];

    out_counters ctr;

    /* Threads (--threads): each worker writes through a fork of the main
     * output: its own buffer of whole events, written to the main output's
     * file descriptor under the main output's lock, so lines never mix. */
    struct output *parent;     /* NULL for the main output */
    pthread_mutex_t lock;      /* main output: guards fd and write(2) */
};

/* True when member k (kl bytes) of a body of type index t is excluded. */
static inline bool out_excluded(const output *o, int t, const char *k, size_t kl)
{
    for (unsigned i = 0; i < o->env.n_excl; i++)
        if (o->env.excl[i].type == t && o->env.excl[i].len == kl && memcmp(o->env.excl[i].key, k, kl) == 0)
            return true;
    return false;
}

/* Makes room for n more bytes of the current event.  Returns false (and
 * marks the event overflowed) past the per-event cap or when out of
 * memory; the caller then stops appending (every put_ below is a no-op on
 * an overflowed event). */
static inline bool buf_reserve(output *o, size_t n)
{
    if (o->overflow)
        return false;
    if (n > OUT_MAX_EVENT_BYTES || o->len - o->ev_start > OUT_MAX_EVENT_BYTES - n) {
        o->overflow = true;
        return false;
    }
    if (n <= o->cap - o->len)
        return true;
    size_t want = o->cap ? o->cap : 4096;
    while (want - o->len < n)
        want *= 2;
    char *p = realloc(o->buf, want);
    if (!p) {
        o->overflow = true;
        return false;
    }
    o->buf = p;
    o->cap = want;
    return true;
}

static inline void put(output *o, const char *s, size_t n)
{
    if (!buf_reserve(o, n))
        return;
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static inline void put_str(output *o, const char *s) { put(o, s, strlen(s)); }

static inline void put_ch(output *o, char c)
{
    if (o->len < o->cap && !o->overflow && o->len - o->ev_start < OUT_MAX_EVENT_BYTES) {
        o->buf[o->len++] = c; /* room: the common case */
        return;
    }
    if (!buf_reserve(o, 1))
        return;
    o->buf[o->len++] = c;
}

static inline void put_u64(output *o, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(o, tmp + i, sizeof tmp - i);
}

static inline void put_i64(output *o, int64_t v)
{
    if (v < 0) {
        put_ch(o, '-');
        put_u64(o, (uint64_t)0 - (uint64_t)v);
    } else {
        put_u64(o, (uint64_t)v);
    }
}

/* The output's name for messages: its path, or "standard output". */
const char *out_name(const output *o);

/* Writes the pending bytes.  A failed write(2) is counted, reported once
 * on stderr, and the pending bytes are dropped (never retried forever). */
int out_write_pending(output *o);

/* Frames one event: begin marks where it starts; end drops it when it
 * overflowed, writes the buffer when it is full enough (or at once on a
 * terminal). */
void event_begin(output *o);
void event_end(output *o);

#endif /* IMAPSCOPE_SINK_H */
