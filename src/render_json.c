/*
 * render_json.c - the dissector's value trees (imap_node, imap.h) written
 * as JSON straight into the output buffer (render_json.h).
 *
 * The same bytes as output.c's put_json_value/put_json_ann give for the
 * jansson tree of the same values: objects in insertion order, integers
 * in decimal, strings through put_json_string.
 */
#include "render_json.h"

#include <string.h>

#include "imap_node.h"
#include "sink.h"

/* The writer walks the nodes' layout (dissector/imap_node.h) directly
 * rather than through imap.h's accessor calls: it is the one consumer on
 * the per-transaction path, and the calls were 5% of -T json on dense
 * traffic.  Everything else in the program uses the public readers. */
void put_node_value(output *o, const imap_node *v, int depth)
{
    if (!v || depth > OUT_MAX_DEPTH) {
        put(o, "null", 4);
        return;
    }
    switch ((imap_node_kind)v->kind) {
    case IMAP_NODE_OBJECT:
        put_ch(o, '{');
        for (uint32_t i = 0; i < v->len; i++) {
            if (o->overflow)
                return;
            const imapi_pair *p = &v->u.pairs[i];
            put_json_key(o, p->key, p->klen, i == 0);
            put_node_value(o, p->value, depth + 1);
        }
        put_ch(o, '}');
        break;
    case IMAP_NODE_ARRAY:
        put_ch(o, '[');
        for (uint32_t i = 0; i < v->len && !o->overflow; i++) {
            if (i)
                put_ch(o, ',');
            put_node_value(o, v->u.items[i], depth + 1);
        }
        put_ch(o, ']');
        break;
    case IMAP_NODE_STRING: put_json_string(o, v->u.s, v->len); break;
    case IMAP_NODE_INT: put_i64(o, v->u.i); break;
    case IMAP_NODE_BOOL:
        if (v->u.b)
            put(o, "true", 4);
        else
            put(o, "false", 5);
        break;
    default: put(o, "null", 4); break;
    }
}

bool ann_container(const char *key, imap_annot_kind *kind, const char **field)
{
    if (strcmp(key, "response_code") == 0 || strcmp(key, "code") == 0) {
        *kind = IMAP_ANNOT_CODE;
        *field = "code";
    } else if (strcmp(key, "capabilities") == 0 || strcmp(key, "capabilities_before_tls") == 0) {
        *kind = IMAP_ANNOT_CAPABILITY;
        *field = "name";
    } else if (strcmp(key, "responses") == 0) {
        *kind = IMAP_ANNOT_STATUS;
        *field = "type";
    } else {
        return false;
    }
    return true;
}

static const imap_annot *node_ann_of(const imap_node *obj, const char *key, imap_annot_kind kind)
{
    size_t len;
    const char *s = imap_node_str(imap_node_get(obj, key), &len);
    return s ? imap_annot_lookup(kind, s, len) : NULL;
}

void put_node_ann(output *o, const imap_node *v, int depth, const char *key)
{
    imap_node_kind kind = imap_node_kind_of(v);
    if (!v || depth > OUT_MAX_DEPTH || !(kind == IMAP_NODE_OBJECT || kind == IMAP_NODE_ARRAY)) {
        put_node_value(o, v, depth);
        return;
    }
    size_t n = imap_node_size(v);
    if (kind == IMAP_NODE_ARRAY) {
        put_ch(o, '[');
        for (size_t i = 0; i < n && !o->overflow; i++) {
            if (i)
                put_ch(o, ',');
            put_node_ann(o, imap_node_at(v, i), depth + 1, key);
        }
        put_ch(o, ']');
        return;
    }
    put_ch(o, '{');
    for (size_t i = 0; i < n; i++) {
        if (o->overflow)
            return;
        size_t kl;
        const char *k = imap_node_key_at(v, i, &kl);
        put_json_key(o, k, kl, i == 0);
        put_node_ann(o, imap_node_at(v, i), depth + 1, k);
        const imap_annot *a = NULL;
        if (strcmp(k, "command") == 0 && (a = node_ann_of(v, k, IMAP_ANNOT_COMMAND)) != NULL)
            put_ann_fields(o, a, "command_");
        else if (strcmp(k, "status") == 0 && (a = node_ann_of(v, k, IMAP_ANNOT_STATUS)) != NULL)
            put_ann_fields(o, a, "status_");
    }
    imap_annot_kind ak;
    const char *field;
    if (key && !imap_node_get(v, "rfc") && ann_container(key, &ak, &field)) {
        const imap_annot *a = node_ann_of(v, field, ak);
        if (a) /* the object has that member: never empty, a comma is due */
            put_ann_fields(o, a, "");
    }
    put_ch(o, '}');
}

void output_event_node(output *o, const char *event_type, uint64_t ts_us, const out_flow *flow,
                       const imap_node *body, const char *flag)
{
    if (!o || !event_type || o->broken) {
        if (o && o->broken)
            o->ctr.events++;
        return;
    }
    if (o->fmt != OUT_JSON)
        return; /* text: the lines already told it (as output_event for "imap") */
    event_begin(o);
    json_event_head(o, event_type, ts_us, flow);
    if (body) {
        put_ch(o, ',');
        put_json_cstr(o, event_type);
        put_ch(o, ':');
        if (o->annotate && (strcmp(event_type, "imap") == 0 || strcmp(event_type, "imap_session") == 0))
            put_node_ann(o, body, 0, NULL);
        else
            put_node_value(o, body, 0);
        if (flag && !o->overflow && imap_node_kind_of(body) == IMAP_NODE_OBJECT && !imap_node_get(body, flag)) {
            /* a member the program adds at the end ("decrypted": true) */
            o->len--; /* the closing brace */
            put_json_key(o, flag, strlen(flag), imap_node_size(body) == 0);
            put(o, "true}", 5);
        }
    }
    put(o, "}\n", 2);
    event_end(o);
}

char *output_node_dump(const imap_node *v)
{
    output tmp;
    memset(&tmp, 0, sizeof tmp);
    put_node_value(&tmp, v, 0);
    put_ch(&tmp, '\0');
    if (tmp.overflow) {
        free(tmp.buf);
        return NULL;
    }
    return tmp.buf;
}

void output_event_node_extra(output *o, const char *event_type, uint64_t ts_us, const out_flow *flow,
                             const imap_node *body, const json_t *extra)
{
    if (!o || !event_type || o->broken) {
        if (o && o->broken)
            o->ctr.events++;
        return;
    }
    if (o->fmt != OUT_JSON)
        return;
    bool ann = o->annotate && (strcmp(event_type, "imap") == 0 || strcmp(event_type, "imap_session") == 0);
    event_begin(o);
    json_event_head(o, event_type, ts_us, flow);
    put_ch(o, ',');
    put_json_cstr(o, event_type);
    put(o, ":{", 2);
    bool first = true;
    size_t n = imap_node_kind_of(body) == IMAP_NODE_OBJECT ? imap_node_size(body) : 0;
    for (size_t i = 0; i < n && !o->overflow; i++) {
        size_t kl;
        const char *k = imap_node_key_at(body, i, &kl);
        const json_t *over = json_object_get(extra, k);
        put_json_key(o, k, kl, first);
        first = false;
        if (over) {
            if (ann)
                put_json_ann(o, over, 1, k);
            else
                put_json_value(o, over, 1);
        } else if (ann) {
            put_node_ann(o, imap_node_at(body, i), 1, k);
        } else {
            put_node_value(o, imap_node_at(body, i), 1);
        }
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)extra, k, v) {
        if (o->overflow)
            break;
        if (n && imap_node_get(body, k))
            continue; /* written in body's place */
        put_json_key(o, k, strlen(k), first);
        first = false;
        if (ann)
            put_json_ann(o, v, 1, k);
        else
            put_json_value(o, v, 1);
    }
    put(o, "}}\n", 3);
    event_end(o);
}
