/*
 * capture.h - packet input through libpcap: a capture file (pcap or pcapng,
 * micro- or nanosecond; "-" is standard input) or a live interface.
 *
 * Runs the read loop, hands every frame to the engine, and handles the
 * signals: SIGINT/SIGTERM end the capture cleanly (every open connection is
 * flushed), SIGHUP reopens the output file (log rotation).
 */
#ifndef IMAPSCOPE_CAPTURE_H
#define IMAPSCOPE_CAPTURE_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>
#include <stdint.h>

#include "output.h"

#define CAPTURE_DEFAULT_FILTER "tcp port 143 or tcp port 220 or tcp port 993"

typedef struct capture_opts {
    const char *file;        /* -r */
    const char *iface;       /* -i */
    const char *filter;      /* -f; NULL: none for a file, CAPTURE_DEFAULT_FILTER live */
    int snaplen;             /* -s */
    bool promisc;            /* default on; -p turns it off */
    long long count;         /* -c: stop after this many packets (0: no limit) */
    int buffer_mb;           /* -B */
    const char *drop_user;   /* -Z: drop privileges to this user after opening */
    /* Called once the input is open and privileges are dropped, before the
     * first packet (so what it creates belongs to the user that goes on);
     * non-zero: capture_run stops with CAPTURE_EXIT_SETUP.  May be NULL. */
    int (*ready)(void *ctx);
    void *ready_ctx;
    bool progress;           /* a file: the progress line on stderr (progress.h); main decides */
    unsigned stats_interval; /* live: a "stats" event every this many seconds (0: only at the end) */
} capture_opts;

/* Exit statuses of capture_run. */
#define CAPTURE_EXIT_OK     0
#define CAPTURE_EXIT_SETUP  1   /* could not open / filter / permission */
#define CAPTURE_EXIT_INPUT  2   /* the input broke off (truncated or damaged file) */
#define CAPTURE_EXIT_OUTPUT 3   /* writing the output failed (disk full, I/O error; not EPIPE) */

/* Where frames go: one engine (engine_frame/engine_tick/engine_finish) or
 * the worker threads (workers_*). */
typedef struct capture_sink {
    void (*frame)(void *ctx, int linktype, const uint8_t *data, uint32_t caplen,
                  uint32_t wirelen, uint64_t ts_us);
    void (*tick)(void *ctx, uint64_t now_us);     /* live: about once a second */
    void (*finish)(void *ctx, const char *reason, json_t *extra);
    void *ctx;
    /* optional, for the progress line: connections open, events emitted */
    void (*progress)(void *ctx, uint64_t *open_conns, uint64_t *events);
    /* optional, --stats-interval: a periodic "stats" event at now_us with
     * extra (stolen: the kernel's packet counters) merged in */
    void (*stats)(void *ctx, uint64_t now_us, json_t *extra);
} capture_sink;

/* Opens the input, runs the loop to the end (or a signal, or -c), finishes
 * the sink (flows flushed, stats emitted) and returns an exit status.
 * Errors are printed to stderr as one line naming the problem and the
 * input.  out is reopened on SIGHUP. */
int capture_run(const capture_opts *opts, const capture_sink *sink, output *out);

/* Prints the interfaces (like tcpdump -D).  Returns an exit status. */
int capture_list_interfaces(FILE *fp);

#endif /* IMAPSCOPE_CAPTURE_H */
