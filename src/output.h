/*
 * output.h - the event sinks: JSON lines and the annotated text trace.
 *
 * The program hands every event here: IMAP transactions ("imap"), the end
 * of a connection ("imap_session"), TLS handshake metadata ("tls"),
 * findings and anomalies ("alert"), the end-of-run counters ("stats").
 * docs/output.md documents every event and field; the JSON Schema in
 * docs/schema/imapscope-events.schema.json is checked against real output.
 *
 * JSON mode (OUT_JSON): one object per line, keys in this order:
 *   timestamp, event_type, flow_id, community_id, src_ip, src_port,
 *   dest_ip, dest_port, then the body under the key named like the event
 *   type ("imap": {...}).  Flow keys are left out when flow is NULL.
 *   The line is serialised by this module (not json_dumpb) straight into the
 *   write buffer: one pass, no allocation, insertion order of the body kept,
 *   and every string is guarded: invalid UTF-8 bytes become U+FFFD, so a
 *   line is always valid JSON and valid UTF-8.
 *
 * Text mode (OUT_TEXT, the default): one line per IMAP line, every line led
 * by the UTC time of day (see docs/output.md, "The text trace"):
 *   12:34:56.123456 --- flow 3 2024-05-01 192.0.2.1:51000 -> 192.0.2.2:143 community_id 1:...
 *   12:34:56.124000 [flow 3] C A003 LOGIN alice <redacted>
 *   12:34:56.130500 [flow 3] S A003 OK [CAPABILITY ...] Logged in (6.5 ms)
 *   12:34:57.000000 !!! flow 3 alert <name>: <detail>
 *   12:34:57.000000 ~~~ flow 3 TLS 1.3 sni=... ja3=... ja4=...
 *   12:35:00.000000 === flow 3 end: user alice, 12 commands, client 1234 B, server 56789 B, TLS no, reason fin
 *   12:35:00.000000 ### stats
 *                   |   frames       123            (one aligned row per counter or group)
 * "imap" events are not printed in text mode (the lines already show the
 * conversation).  Control characters and invalid UTF-8 from the network
 * are escaped (\r, \n, \t, \xNN), so a trace can never drive a terminal.
 *
 * Buffering: events are appended to one buffer that is written (write(2))
 * when it passes OUT_FLUSH_BYTES, on output_flush() and output_close(); on a
 * terminal every event is written at once.  A live capture should call
 * output_flush() after each batch of packets.  Write errors (ENOSPC, EIO,
 * ...) are reported once on stderr, counted, the pending bytes dropped, and
 * output_close() returns -1 (the program exits with status 3); EPIPE is
 * counted but quiet, and stops formatting.  Nothing here crashes or exits.  The program must ignore SIGPIPE
 * (signal(SIGPIPE, SIG_IGN)) for EPIPE to be an error instead of a death.
 * The module owns its file descriptor; when writing to standard output the
 * program must not also write to stdout through stdio (or must fflush it
 * before the first event).
 *
 * Single-threaded: one output is used by one thread at a time.
 */
#ifndef IMAPSCOPE_OUTPUT_H
#define IMAPSCOPE_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "imap.h"
#include "limits.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Caps of this module (OUT_FLUSH_BYTES, OUT_MAX_*, OUT_TEXT_MAX_LINE):
 * src/limits.h, each behind #ifndef so that a build may override it. */

typedef enum out_format {
    OUT_TEXT = 0,
    OUT_JSON = 1,
    OUT_ECS = 2   /* JSON lines with Elastic Common Schema names (render_ecs.h, docs/ecs-fields.md) */
} out_format;

typedef enum out_color {
    OUT_COLOR_AUTO = 0,  /* colour when writing to a terminal and NO_COLOR is unset */
    OUT_COLOR_NEVER,
    OUT_COLOR_ALWAYS
} out_color;

/* What the verbose trace has annotated on one connection, so that each
 * command, status, response code and capability is annotated the first
 * time it appears there only.  Fixed size (no allocation): one bit per
 * entry of the annotation table (imap.h, IMAP_ANNOT_MAX entries at most)
 * and the hashes of up to OUT_SEEN_UNKNOWN names that are not in it (past
 * that, such names are annotated each time: "not in our table").  The
 * caller keeps one per connection, zeroed when the connection starts. */
#define OUT_SEEN_KNOWN_BITS 512
#define OUT_SEEN_UNKNOWN    32
typedef struct out_seen {
    uint64_t known[OUT_SEEN_KNOWN_BITS / 64];
    uint32_t unknown[OUT_SEEN_UNKNOWN];
    uint32_t n_unknown;
} out_seen;

/* The connection an event belongs to; src is the IMAP client.  Strings are
 * borrowed for the call; community_id may be NULL (key left out).  seen
 * (may be NULL: every occurrence is annotated) is the connection's
 * annotation memory, updated by output_line in verbose text mode. */
typedef struct out_flow {
    uint64_t    flow_id;
    const char *community_id;
    const char *src_ip;
    uint16_t    src_port;
    const char *dest_ip;
    uint16_t    dest_port;
    uint64_t    text_no;   /* its number in the text trace (output_flow_number()); 0: flow_id */
    out_seen   *seen;
    const char *app_proto; /* "imap" once the connection is known to be IMAP; NULL: key left out */
} out_flow;

/* Counters of one output (for the "stats" event). */
typedef struct out_counters {
    uint64_t events;        /* events written (or attempted) */
    uint64_t bytes;         /* bytes handed to write(2) successfully */
    uint64_t write_errors;  /* failed write(2) calls */
    uint64_t dropped_bytes; /* pending bytes discarded after a write error */
    uint64_t oversize;      /* events over OUT_MAX_EVENT_BYTES, not written */
    uint64_t utf8_repairs;  /* strings in which invalid UTF-8 was replaced */
} out_counters;

typedef struct output output;

/* Opens an output.  path NULL or "-" is standard output; a file is created
 * or truncated (mode 0644).  verbose > 0 annotates, in the text trace, each
 * command, status response, response code and capability the first time it
 * appears in a connection (out_flow.seen).  Returns NULL with a one-line message in errbuf
 * (naming the path) when the file cannot be opened or memory is short. */
output *output_open(const char *path, out_format fmt, int verbose, char *errbuf, size_t errlen);

/* JSON mode: add the reference and meaning of every command, status,
 * response code and capability to "imap" and "imap_session" events
 * (--annotate; off by default).  See docs/output.md, "Annotations". */
void output_set_annotate(output *o, bool on);

/* The envelope of every event (EVE-style, issue 14): "host" (the sensor
 * name; NULL: key left out) and "pcap_filename" (the capture file read;
 * NULL: live, key left out).  Both are copied.  Call before forks. */
void output_set_sensor(output *o, const char *host, const char *pcap_filename);

/* "pcap_cnt" of the events written from now on: the number of the frame
 * whose processing causes them (1 = the first frame of the input); 0:
 * none (idle expiry, the end of input, stats), key left out.  The engine
 * sets it around each packet; per output (each fork its own). */
void output_set_packet(output *o, uint64_t frame_no);
uint64_t output_packet(const output *o);

/* What to log (--types): a comma-separated list of event types of
 * OUT_TYPE_NAMES; events of other types are not written (the text
 * trace's lines count as "imap").  Returns 0, or -1 with a message naming
 * the unknown or empty name in errbuf.  NULL: every type (the default). */
#define OUT_TYPE_NAMES "imap,imap_session,alert,tls,email,fileinfo,imap_user,stats"
int output_set_types(output *o, const char *list, char *errbuf, size_t errlen);

/* True when events of this type are written (--types), so that a
 * producer can skip building a body nobody reads. */
bool output_wants_type(const output *o, const char *event_type);

/* --exclude-fields: top-level members of event bodies that are not
 * written, a comma-separated list of TYPE.KEY ("imap.responses,
 * imap_session.capabilities,tls.ja4_r"; TYPE of OUT_TYPE_NAMES, KEY a
 * member name of up to OUT_EXCLUDE_KEY_MAX - 1 bytes), at most
 * OUT_MAX_EXCLUDE in all; added to those set before.  Applies to every
 * format.  Returns 0, or -1 with a message naming the bad entry. */
#define OUT_MAX_EXCLUDE     16
#define OUT_EXCLUDE_KEY_MAX 48
int output_exclude_fields(output *o, const char *list, char *errbuf, size_t errlen);

/* --no-responses: "imap" events are written without their "responses"
 * array (the untagged responses of the transaction): the same as
 * output_exclude_fields(o, "imap.responses"). */
void output_set_no_responses(output *o, bool on);

/* Colour for the text trace (default OUT_COLOR_AUTO). */
void output_set_color(output *o, out_color mode);

/* Text trace: bytes of an IMAP line's text shown (default
 * LIM_MAX_TEXT_LINE); a longer line is cut at a UTF-8 character boundary
 * and ends with "... [+N bytes]" (N: the bytes not shown).  0: no cut. */
void output_set_max_text_line(output *o, size_t max);

/* Text trace: the next number of a connection in this run, 1, 2, 3, ...
 * (shared by forks: one sequence per run).  The program numbers a
 * connection when it first appears (out_flow.text_no): the trace then
 * reads "flow 1", "flow 2" in order of appearance, while the JSON keeps
 * flow_id.  With --threads the numbers are unique but their order follows
 * the threads. */
uint64_t output_flow_number(output *o);

/* True in text mode: the program must then ask the dissector for line
 * events (imap_config.emit_lines) and pass them to output_line(). */
bool output_wants_lines(const output *o);

/* One event.  event_type: "imap", "imap_session", "alert", "tls", "stats",
 * or any other snake_case name.  body (may be NULL: no body key) is placed
 * under the key named like the event type; the reference is stolen, also
 * in text mode and on error.  flow may be NULL (stats).  ts_us: the
 * event's time in microseconds since the Unix epoch (UTC). */
void output_event(output *o, const char *event_type, uint64_t ts_us, const out_flow *flow, json_t *body);

/* The same for a body that is the dissector's value tree (the "imap"
 * object of an IMAP_EV_TRANSACTION): JSON mode writes it straight from the
 * tree (no jansson); text mode writes nothing for "imap" (the lines
 * already show it).  body is borrowed.  flag, when not NULL, is a member
 * added at the end of body with the value true ("decrypted"), unless body
 * has it already. */
typedef struct imap_node imap_node;
void output_event_node(output *o, const char *event_type, uint64_t ts_us, const out_flow *flow,
                       const imap_node *body, const char *flag);

/* The end of a connection: the dissector's summary (borrowed; NULL when
 * the connection had no IMAP session) with the program's members (extra,
 * stolen) set over its tree (json_object_update order: a member of both
 * keeps the summary's place).  JSON mode renders both without a merged
 * copy; text mode reads the typed fields it shows (user, commands). */
void output_event_merged(output *o, const char *event_type, uint64_t ts_us, const out_flow *flow,
                         const imap_summary *sum, json_t *extra);

/* Text mode: the header line of a connection ("--- flow N ...").  Call it
 * once when a connection's IMAP session starts.  No-op in JSON mode. */
void output_flow_begin(output *o, uint64_t ts_us, const out_flow *flow);

/* Text mode: one protocol line: an IMAP_EV_LINE event's direction and
 * typed line (borrowed, not kept; imap.h): its text (or tag and word when
 * it has none), latency, decoded names; with verbose > 0 it is followed by
 * the annotations of its command or status, code and capabilities not yet
 * annotated on flow->seen.  No-op in JSON mode. */
void output_line(output *o, uint64_t ts_us, const out_flow *flow, imap_dir dir, const imap_line *line);

/* Text mode: a hint for the reader, written once per run (per id, also
 * across forks) as an indented line under the previous one:
 *   "                | hint: <text>".
 * id < 32 names the hint (OUT_HINT_*).  No-op in JSON mode. */
enum { OUT_HINT_KEYLOG = 0 };
void output_hint_once(output *o, unsigned id, const char *text);

/* After SIGHUP (log rotation): pending bytes are written to the old file,
 * then path is opened again (created, appended to).  Standard output: only
 * a flush.  Returns 0, or -1 (message on stderr; the old file is kept). */
int output_reopen(output *o);

/* Writes the pending bytes.  Returns 0, or -1 after a write error. */
int output_flush(output *o);

void output_counters_get(const output *o, out_counters *c);

/* Flushes, closes the file (not standard output) and frees.  NULL is fine.
 * Returns -1 when output was lost: a write(2) failed with anything but
 * EPIPE (disk full, I/O error; a fork's failures count for the main
 * output), or close(2) of the file failed; else 0.  EPIPE (the reader of a
 * pipe left, `| head`) is not a failure: it stops output quietly. */
int output_close(output *o);

/* A fork of the main output for another thread (--threads): the same
 * format and settings, its own buffer; whole events are written to the
 * main output's file under its lock, so lines of different threads never
 * mix.  Close the fork (output_close: flushes, adds its counters to the
 * main output) before the main output.  NULL when out of memory or when
 * parent is itself a fork. */
output *output_fork(output *parent);

/* ---- exposed for tests and for other sinks ---- */

/* Writes ts_us as RFC 3339 UTC with microseconds, "2024-05-01T12:34:56.123456Z"
 * (27 characters and a NUL; buf must hold 28).  Years 0000-9999 only: later
 * times are clamped to 9999-12-31T23:59:59.999999Z.  Returns 27. */
size_t output_format_rfc3339(uint64_t ts_us, char buf[28]);

/* Serialises a JSON value compactly (like json_dumps(v, JSON_COMPACT),
 * insertion order kept, invalid UTF-8 repaired) into a new NUL-terminated
 * string (free() it).  NULL when out of memory or over OUT_MAX_EVENT_BYTES. */
char *output_json_dump(const json_t *v);

/* The same for a value tree of the dissector (render_json.c). */
char *output_node_dump(const imap_node *v);

#ifdef __cplusplus
}
#endif
#endif /* IMAPSCOPE_OUTPUT_H */
