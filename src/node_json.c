/*
 * node_json.c - a jansson tree from the dissector's value tree (node_json.h).
 */
#include "node_json.h"

json_t *node_to_json(const imap_node *n)
{
    switch (imap_node_kind_of(n)) {
    case IMAP_NODE_BOOL:
        return json_boolean(imap_node_bool(n));
    case IMAP_NODE_INT:
        return json_integer((json_int_t)imap_node_int(n));
    case IMAP_NODE_STRING: {
        size_t len;
        const char *s = imap_node_str(n, &len);
        return json_stringn_nocheck(s, len);
    }
    case IMAP_NODE_ARRAY: {
        json_t *a = json_array();
        size_t cnt = imap_node_size(n);
        for (size_t i = 0; a && i < cnt; i++) {
            json_t *v = node_to_json(imap_node_at(n, i));
            if (!v || json_array_append_new(a, v) < 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case IMAP_NODE_OBJECT: {
        json_t *o = json_object();
        size_t cnt = imap_node_size(n);
        for (size_t i = 0; o && i < cnt; i++) {
            size_t kl;
            const char *k = imap_node_key_at(n, i, &kl);
            json_t *v = node_to_json(imap_node_at(n, i));
            if (!v || json_object_setn_new_nocheck(o, k, kl, v) < 0) {
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    default:
        return json_null();
    }
}
