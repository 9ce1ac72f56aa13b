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

#include "engine.h"
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
} capture_opts;

/* Exit statuses of capture_run. */
#define CAPTURE_EXIT_OK     0
#define CAPTURE_EXIT_SETUP  1   /* could not open / filter / permission */
#define CAPTURE_EXIT_INPUT  2   /* the input broke off (truncated or damaged file) */

/* Opens the input, runs the loop to the end (or a signal, or -c), finishes
 * the engine (flows flushed, stats emitted) and returns an exit status.
 * Errors are printed to stderr as one line naming the problem and the
 * input. */
int capture_run(const capture_opts *opts, engine *e, output *out);

/* Prints the interfaces (like tcpdump -D).  Returns an exit status. */
int capture_list_interfaces(FILE *fp);

#endif /* IMAPSCOPE_CAPTURE_H */
