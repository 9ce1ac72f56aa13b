/*
 * render_json.h - the JSON renderer's pieces, shared by output.c (events
 * whose body is a jansson tree: tls, alert, stats, imap_session) and
 * render_json.c (the dissector's typed events: their imap_node trees are
 * written straight into the output buffer, with no jansson tree, no
 * hashing and no allocation per event).  Internal to the output modules.
 *
 * Every writer appends to the current event of o (sink.h); after an
 * overflow they are no-ops.  The bytes are those of
 * json_dumps(v, JSON_COMPACT) for the same values in the same order
 * (tests/unit/test_output.c, tests/golden).
 */
#ifndef IMAPSCOPE_RENDER_JSON_H
#define IMAPSCOPE_RENDER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "imap.h"
#include "imap_util.h" /* imapi_utf8_seq */
#include "output.h"

/* Zero-padded decimal of exactly width digits (v < 10^width). */
void fmt_dec(char *dst, unsigned v, int width);
/* A whole event with a jansson body (NULL: no body key). */
void json_event(output *o, const char *event_type, uint64_t ts_us, const out_flow *flow, const json_t *body);

/* "2024-05-01T12:34:56.123456Z", the date part cached per second. */
void put_rfc3339(output *o, uint64_t ts_us);
/* A JSON string with jansson's escapes; invalid UTF-8 bytes become U+FFFD
 * (counted in utf8_repairs). */
void put_json_string(output *o, const char *s, size_t n);
void put_json_cstr(output *o, const char *s);
/* An object member's key with its separators: [","] "key" ":". */
void put_json_key(output *o, const char *k, size_t n, bool first);
/* {"timestamp":...,"event_type":...[, flow keys] (no closing brace). */
void json_event_head(output *o, const char *event_type, uint64_t ts_us, const out_flow *flow);

/* A jansson value compactly (output.c). */
void put_json_value(output *o, const json_t *v, int depth);

/* JSON mode: an event whose body is the tree body with the members of
 * extra (borrowed, may be NULL) set over it: a member of both keeps body's
 * place and takes extra's value; extra's other members follow.  Counts
 * and frames the event like output_event.  No-op in text mode. */
void output_event_node_extra(output *o, const char *event_type, uint64_t ts_us, const out_flow *flow,
                             const imap_node *body, const json_t *extra);

/* A value tree, compactly; deeper than OUT_MAX_DEPTH: null. */
void put_node_value(output *o, const imap_node *v, int depth);

#endif /* IMAPSCOPE_RENDER_JSON_H */
