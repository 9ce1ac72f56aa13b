/*
 * report.h - the capture report: aggregates of the events, written at the
 * end as one self-contained HTML page (--report FILE.html, report_html.c)
 * and as aligned tables on the terminal (--stats).
 *
 * The report is one more consumer of the events the outputs get; it is
 * not an output format and works beside -T json or -T text.  The engine
 * hands it every event through report_event() (or the one function per
 * event kind below, which is what a typed-event version will call).
 *
 * What is kept, and its bound (every bound is a report_config field; when
 * one is reached the page and --stats say so):
 *   - counters, per-command counts/status/latency, a time axis of
 *     REPORT_BUCKETS buckets (bucket width doubles as the capture grows):
 *     fixed size;
 *   - users, clients, servers, alert kinds: at most max_keys each; more
 *     are summed into one "(other)" row;
 *   - connection rows (timeline, connection table): the max_conns with the
 *     most alerts, then the most bytes;
 *   - alert and message rows: the first max_rows of each;
 *   - traces: the conversation of each open connection is recorded up to
 *     trace_bytes, all open ones together up to trace_memcap; when a
 *     connection ends its trace is kept if it is among the max_traces most
 *     interesting (alerts, failed logins; then the earliest), else freed.
 * Latency percentiles come from a log-bucket histogram per command (16
 * sub-buckets per power of two: the value printed, the middle of its
 * bucket clamped to the observed min/max, is within 3.2% of the true
 * nearest-rank percentile); while a command has at most
 * REPORT_EXACT_SAMPLES samples they are kept and the percentiles are exact.
 *
 * Thread safety: every function that takes events locks the report's
 * mutex, so the worker threads of --threads N share one report.
 */
#ifndef IMAPSCOPE_REPORT_H
#define IMAPSCOPE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "output.h"
#include "limits.h" /* defaults and caps of this module */

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults of report_config (the caps of this module): src/limits.h. */

typedef struct report_config {
    unsigned max_conns;
    unsigned max_traces;
    size_t   trace_bytes;
    size_t   trace_memcap;
    unsigned max_keys;
    unsigned max_rows;
} report_config;

void report_config_default(report_config *cfg);

typedef struct report report;

/* A new, empty report.  NULL with a message in errbuf when out of memory. */
report *report_new(const report_config *cfg, char *errbuf, size_t errlen);

/* The input's name (a capture file, or "interface X") for the summary;
 * may be called more than once (several inputs).  The string is copied. */
void report_add_input(report *r, const char *name);

/* Any event with a jansson body, as output_event() gets it (borrowed, not
 * stolen): dispatches on event_type to the functions below; others (and
 * "imap": see report_txn) are ignored. */
void report_event(report *r, const char *event_type, uint64_t ts_us, const out_flow *flow,
                  const json_t *body);

/* One intake function per event kind; every argument is borrowed. */
/* A transaction, typed (the dissector's IMAP_EV_TRANSACTION). */
void report_txn(report *r, uint64_t ts_us, const out_flow *flow, const imap_transaction *t);
void report_session(report *r, uint64_t ts_us, const out_flow *flow, const json_t *session);
void report_alert(report *r, uint64_t ts_us, const out_flow *flow, const json_t *alert);
void report_tls(report *r, uint64_t ts_us, const out_flow *flow, const json_t *tls);
void report_stats(report *r, uint64_t ts_us, const json_t *stats);
/* The text trace's inputs: a connection's first line, and each IMAP line
 * (an IMAP_EV_LINE event's line and direction, as output_line() gets them). */
void report_flow_begin(report *r, uint64_t ts_us, const out_flow *flow);
void report_line(report *r, uint64_t ts_us, const out_flow *flow, imap_dir dir, const imap_line *line);

/* Writes the page (report_html.c).  Returns 0, or -1 with a message naming
 * the path in errbuf. */
int report_write_html(report *r, const char *path, char *errbuf, size_t errlen);

/* Writes the --stats tables (command mix, status per command, latency
 * percentiles, top users) to fp. */
void report_write_stats(report *r, FILE *fp);

void report_free(report *r);

#ifdef __cplusplus
}
#endif
#endif /* IMAPSCOPE_REPORT_H */
