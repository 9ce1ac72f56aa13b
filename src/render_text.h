/*
 * render_text.h - the text trace renderer (render_text.c), internal to
 * the output modules.  output_line, output_flow_begin and
 * output_hint_once (output.h) live there too.
 */
#ifndef IMAPSCOPE_RENDER_TEXT_H
#define IMAPSCOPE_RENDER_TEXT_H

#include <stdint.h>

#include <jansson.h>

#include "output.h"

/* A non-line event in the trace: "imap_session", "alert", "tls", "stats"
 * (each with its own layout) or any other as "*** ..."; "imap" writes
 * nothing (its lines were shown).  body borrowed. */
void text_event(output *o, const char *event_type, uint64_t ts_us, const out_flow *flow, const json_t *body);

#endif /* IMAPSCOPE_RENDER_TEXT_H */
