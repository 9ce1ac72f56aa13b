/*
 * line_helper.h - typed line and transaction events (imap.h) from the
 * jansson descriptions the output and report tests write them as
 * ({"direction": "server", "kind": "tagged", "tag": "a1", "status": "OK",
 * "text": ..., "latency_us": n, "code": ..., "capabilities": [...],
 * "names": {...}}): the tests keep their cases, the program under test
 * gets the structs the dissector hands out.  Tests only.
 */
#ifndef LINE_HELPER_H
#define LINE_HELPER_H

#include <string.h>
#include <jansson.h>

#include "imap.h"
#include "imap_node.h"

static inline imap_span lh_span(const json_t *v)
{
    return json_is_string(v) ? (imap_span){ json_string_value(v), json_string_length(v) } : (imap_span){ NULL, 0 };
}

/* A jansson tree as an imap_node tree (new reference). */
static inline imap_node *lh_node(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        imap_node *o = imapi_object();
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
            imapi_object_set_new_nocheck(o, k, lh_node(x));
        return o;
    }
    case JSON_ARRAY: {
        imap_node *a = imapi_array();
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
            imapi_array_append_new(a, lh_node(x));
        return a;
    }
    case JSON_STRING: return imapi_stringn_nocheck(json_string_value(v), json_string_length(v));
    case JSON_INTEGER: return imapi_integer((int64_t)json_integer_value(v));
    case JSON_TRUE: return imapi_true();
    case JSON_FALSE: return imapi_false();
    default: return imapi_null();
    }
}

typedef struct lh_line {
    imap_line  line;
    imap_dir   dir;
    imap_node *obj;
} lh_line;

static inline void lh_line_from(lh_line *L, const json_t *j)
{
    static const char *const kinds[] = { "command", "continuation_data", "done", "tagged",
                                         "untagged", "continuation", "malformed" };
    memset(L, 0, sizeof *L);
    const char *dir = json_string_value(json_object_get(j, "direction"));
    L->dir = dir && strcmp(dir, "client") == 0 ? IMAP_DIR_CLIENT : IMAP_DIR_SERVER;
    L->obj = lh_node(j);
    imap_line *l = &L->line;
    const char *k = json_string_value(json_object_get(j, "kind"));
    for (unsigned i = 0; k && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(k, kinds[i]) == 0)
            l->kind = (imap_line_kind)i;
    l->tag = lh_span(json_object_get(j, "tag"));
    json_t *w = json_object_get(j, "command");
    l->word = lh_span(w ? w : json_object_get(j, "status"));
    l->text = lh_span(json_object_get(j, "text"));
    json_t *lat = json_object_get(j, "latency_us");
    if (json_is_integer(lat)) {
        l->has_latency = true;
        l->latency_us = (uint64_t)json_integer_value(lat);
    }
    l->code = lh_span(json_object_get(j, "code"));
    l->capabilities = imap_node_get(L->obj, "capabilities");
    l->names = imap_node_get(L->obj, "names");
    l->obj = L->obj;
}

static inline void lh_line_done(lh_line *L) { imapi_decref(L->obj); }

#endif /* LINE_HELPER_H */
