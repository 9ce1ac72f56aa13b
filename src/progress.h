/*
 * progress.h - the progress line of a capture file on standard error:
 *   "  412.3 MB / 1.2 GB  34.1%  98.2 MB/s  ETA 0:08  conns 1,024  events 2,345,678"
 * rewritten in place (\r) at most PROGRESS_INTERVAL_MS apart, and cleared
 * (spaces, \r) at the end.
 *
 * "Bytes read" is the offset libpcap's reader has reached in the file
 * (ftell on pcap_file()): every record it returned, headers included, plus
 * the file header.  With a regular file the total is its size, so the
 * percentage and the ETA are exact in bytes; without one (a pipe) only the
 * bytes and the rate are shown.
 *
 * When to show it is the caller's choice (main.c): by default only when
 * standard error is a terminal, the input is a regular file, the events do
 * not go to that same terminal, and CI is unset; --progress forces it,
 * --no-progress turns it off.
 */
#ifndef IMAPSCOPE_PROGRESS_H
#define IMAPSCOPE_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "limits.h" /* defaults and caps of this module */


typedef struct progress {
    FILE *fp;
    uint64_t total;        /* file size, 0 when unknown */
    uint64_t t_start_ms, t_last_ms;
    size_t last_len;       /* characters of the line shown last */
    bool shown;
} progress;

/* Starts: total is the input's size in bytes (0: unknown). */
void progress_start(progress *p, FILE *fp, uint64_t total);

/* True when a refresh is due (the first call, then every interval). */
bool progress_due(progress *p);

/* Rewrites the line.  pos: bytes read; open_conns, events: see above. */
void progress_show(progress *p, uint64_t pos, uint64_t open_conns, uint64_t events);

/* Clears the line (when one was shown). */
void progress_end(progress *p);

/* Formats the line into buf (for tests); elapsed_ms since the start. */
size_t progress_format(char *buf, size_t len, uint64_t pos, uint64_t total, uint64_t elapsed_ms,
                       uint64_t open_conns, uint64_t events);

#endif /* IMAPSCOPE_PROGRESS_H */
