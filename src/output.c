/*
 * output.c - the façade of the output modules (output.h): an event goes
 * to the JSON renderer (render_json.c) or the text renderer
 * (render_text.c); the buffer and file descriptor behind both are in
 * sink.c.
 */
#include "output.h"

#include <stdlib.h>
#include <string.h>

#include "render_json.h"
#include "render_text.h"
#include "sink.h"

/* ------------------------------------------------------------------ */

void output_event_merged(output *o, const char *event_type, uint64_t ts_us, const out_flow *flow,
                         const imap_summary *sum, json_t *extra)
{
    if (!o || !event_type || o->broken || o->fmt == OUT_JSON) {
        output_event_node_extra(o, event_type, ts_us, flow, sum ? sum->obj : NULL, extra);
        json_decref(extra);
        return;
    }
    /* text: the members the trace reads of the dissector's part, typed */
    json_t *b = json_object();
    if (sum) {
        json_object_set_new_nocheck(b, "user", sum->user.ptr ? json_stringn_nocheck(sum->user.ptr, sum->user.len)
                                                             : json_null());
        json_object_set_new_nocheck(b, "commands", json_integer((json_int_t)sum->commands));
    }
    json_object_update(b, extra);
    json_decref(extra);
    output_event(o, event_type, ts_us, flow, b);
}

void output_event(output *o, const char *event_type, uint64_t ts_us, const out_flow *flow, json_t *body)
{
    if (!o || !event_type || o->broken) {
        if (o && o->broken)
            o->ctr.events++;
        json_decref(body);
        return;
    }
    if (o->fmt == OUT_JSON) {
        event_begin(o);
        json_event(o, event_type, ts_us, flow, body);
        event_end(o);
    } else {
        text_event(o, event_type, ts_us, flow, body);
    }
    json_decref(body);
}
