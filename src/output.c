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
#include "render_ecs.h"
#include "render_json.h"
#include "render_text.h"
#include "sink.h"

/* ------------------------------------------------------------------ */
/* Envelope and selection (issue 14)                                   */
/* ------------------------------------------------------------------ */

/* OUT_TYPE_NAMES as a table: bit i of out_env.types is type_names[i]. */
static const char *const type_names[] = {"imap", "imap_session", "alert", "tls",
                                         "email", "fileinfo", "imap_user", "stats"};

static int type_index_n(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (strlen(type_names[i]) == n && memcmp(type_names[i], name, n) == 0)
            return (int)i;
    return -1;
}

void output_set_sensor(output *o, const char *host, const char *pcap_filename)
{
    if (!o)
        return;
    o->env.host = host && *host ? host : NULL;
    o->env.pcap_filename = pcap_filename && *pcap_filename ? pcap_filename : NULL;
}

void output_set_packet(output *o, uint64_t frame_no)
{
    if (o)
        o->env.pcap_cnt = frame_no;
}

uint64_t output_packet(const output *o)
{
    return o ? o->env.pcap_cnt : 0;
}

int output_set_types(output *o, const char *list, char *errbuf, size_t errlen)
{
    uint32_t mask = 0;
    if (!list) {
        o->env.types = 0;
        return 0;
    }
    for (const char *p = list;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        int i = type_index_n(p, n);
        if (i < 0) {
            snprintf(errbuf, errlen, "\"%.*s\" is not an event type (%s)", (int)(n > 64 ? 64 : n), p,
                     OUT_TYPE_NAMES);
            return -1;
        }
        mask |= 1u << i;
        if (!end)
            break;
        p = end + 1;
    }
    o->env.types = mask;
    return 0;
}

bool output_wants_type(const output *o, const char *event_type)
{
    if (!o || !o->env.types)
        return true;
    int i = type_index_n(event_type, strlen(event_type));
    return i >= 0 && (o->env.types & (1u << i));
}

int out_type_index(const char *event_type)
{
    return type_index_n(event_type, strlen(event_type));
}

int output_exclude_fields(output *o, const char *list, char *errbuf, size_t errlen)
{
    for (const char *p = list;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *dot = memchr(p, '.', n);
        int t = dot ? type_index_n(p, (size_t)(dot - p)) : -1;
        size_t kl = dot ? n - (size_t)(dot - p) - 1 : 0;
        if (t < 0 || kl == 0 || kl >= OUT_EXCLUDE_KEY_MAX || memchr(dot + 1, '.', kl)) {
            snprintf(errbuf, errlen, "\"%.*s\" is not TYPE.FIELD (a type of %s and a top-level field of its body)",
                     (int)(n > 80 ? 80 : n), p, OUT_TYPE_NAMES);
            return -1;
        }
        if (!out_excluded(o, t, dot + 1, kl)) {
            if (o->env.n_excl == OUT_MAX_EXCLUDE) {
                snprintf(errbuf, errlen, "more than %d fields", OUT_MAX_EXCLUDE);
                return -1;
            }
            o->env.excl[o->env.n_excl].type = (uint8_t)t;
            o->env.excl[o->env.n_excl].len = (uint8_t)kl;
            memcpy(o->env.excl[o->env.n_excl].key, dot + 1, kl);
            o->env.excl[o->env.n_excl].key[kl] = '\0';
            o->env.n_excl++;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

void out_exclude_json(const output *o, const char *event_type, json_t *body)
{
    if (!o->env.n_excl || !json_is_object(body))
        return;
    int t = out_type_index(event_type);
    for (unsigned i = 0; i < o->env.n_excl; i++)
        if (o->env.excl[i].type == t)
            json_object_del(body, o->env.excl[i].key);
}

void output_set_no_responses(output *o, bool on)
{
    char err[160];
    if (o && on)
        output_exclude_fields(o, "imap.responses", err, sizeof err);
}

/* ------------------------------------------------------------------ */

void output_event_merged(output *o, const char *event_type, uint64_t ts_us, const out_flow *flow,
                         const imap_summary *sum, json_t *extra)
{
    if (o && event_type && !output_wants_type(o, event_type)) {
        json_decref(extra);
        return;
    }
    if (o && event_type && !o->broken && o->fmt == OUT_ECS) {
        json_t *b = sum && sum->obj ? node_to_json(sum->obj) : NULL;
        if (!b)
            b = json_object();
        json_object_update(b, extra);
        json_decref(extra);
        out_exclude_json(o, event_type, b);
        ecs_event(o, event_type, ts_us, flow, b);
        json_decref(b);
        return;
    }
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
        if (sum->compress_requested) /* the JSON's "compress": its tagged status */
            json_object_set_new_nocheck(b, "compress", sum->compress_result.ptr
                                                       ? json_stringn_nocheck(sum->compress_result.ptr, sum->compress_result.len)
                                                       : json_string("unanswered"));
    }
    json_object_update(b, extra);
    json_decref(extra);
    output_event(o, event_type, ts_us, flow, b); /* excluded fields: there */
}

void output_event(output *o, const char *event_type, uint64_t ts_us, const out_flow *flow, json_t *body)
{
    if (!o || !event_type || o->broken || !output_wants_type(o, event_type)) {
        if (o && o->broken)
            o->ctr.events++;
        json_decref(body);
        return;
    }
    out_exclude_json(o, event_type, body);
    if (o->fmt == OUT_JSON) {
        event_begin(o);
        json_event(o, event_type, ts_us, flow, body);
        event_end(o);
    } else if (o->fmt == OUT_ECS) {
        ecs_event(o, event_type, ts_us, flow, body);
    } else {
        text_event(o, event_type, ts_us, flow, body);
    }
    json_decref(body);
}
