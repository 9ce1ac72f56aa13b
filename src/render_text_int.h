/*
 * render_text_int.h - what the text trace's modules share (render_text.c:
 * the per-line trace and the per-event lines; render_text_tables.c: the
 * stats and per-user tables).  Internal to the text renderer.
 */
#ifndef IMAPSCOPE_RENDER_TEXT_INT_H
#define IMAPSCOPE_RENDER_TEXT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "render_text.h"

/* The continuation lines of an event: indented under the time of day. */
#define TEXT_INDENT "                | "

/* A string (or a JSON string) of the traffic, escaped for a terminal and
 * cut at OUT_TEXT_MAX_LINE bytes. */
void text_put_str(output *o, const char *s);
void text_put_json_str(output *o, const json_t *v);
/* A member of obj: a string (NULL when absent or not a string), an
 * integer (false when absent or not an integer). */
const char *text_obj_str(const json_t *obj, const char *key);
bool text_obj_int(const json_t *obj, const char *key, int64_t *v);
/* "flow N " (the connection's number in the run), nothing without a flow. */
void text_put_flow_word(output *o, const out_flow *flow);

/* The stats event as a table (render_text_tables.c). */
void text_stats(output *o, const out_flow *flow, const json_t *body);
/* One imap_user event as a row of the per-user table (-v). */
void text_user(output *o, const json_t *b);

#endif /* IMAPSCOPE_RENDER_TEXT_INT_H */
