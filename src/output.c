/*
 * output.c - the façade of the output modules (output.h): an event goes
 * to the JSON renderer (render_json.c) or the text renderer
 * (render_text.c); the buffer and file descriptor behind both are in
 * sink.c.
 */
#include "output.h"

#include <stdlib.h>
#include <string.h>

#include "node_json.h"
#include "render_json.h"
#include "render_text.h"
#include "sink.h"

/* ------------------------------------------------------------------ */

void output_event_merged(output *o, const char *event_type, uint64_t ts_us, const out_flow *flow,
                         const imap_node *body, json_t *extra)
{
    if (!o || !event_type || o->broken || o->fmt == OUT_JSON) {
        output_event_node_extra(o, event_type, ts_us, flow, body, extra);
        json_decref(extra);
        return;
    }
    /* text: the members the trace reads of the dissector's part */
    static const char *const keys[] = { "user", "commands", "compress" };
    json_t *b = json_object();
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const imap_node *v = imap_node_get(body, keys[i]);
        if (v)
            json_object_set_new_nocheck(b, keys[i], node_to_json(v));
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
