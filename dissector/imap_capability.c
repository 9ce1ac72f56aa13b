/*
 * imap_capability.c - the capability-list decoder, and the capability and
 * response-code lookups (wrappers of the annotation table, imap_annot.c).
 *
 * Lookups are case-insensitive (RFC 9051 9: capability names are atoms,
 * compared case-insensitively); prefix entries (AUTH=, THREAD=, ...) match
 * any name that starts with them and report the value after "=".
 */
#include "imap_cache.h"
#include "imap_dec_util.h"
#include "imap.h"

#include <string.h>
#include <strings.h>

/* The tables live in imap_annot.c (one home for every annotation). */
const imap_capability_info *imap_capability_lookup(const char *name, size_t len)
{
    return imap_annot_lookup(IMAP_ANNOT_CAPABILITY, name, len);
}

const imap_capability_info *imap_resp_code_lookup(const char *name, size_t len)
{
    return imap_annot_lookup(IMAP_ANNOT_CODE, name, len);
}

static imap_node *decode_capabilities(const imap_value *tokens);

/* RFC 9051 9: capability-data = "CAPABILITY" *(SP capability) SP "IMAP4rev2"
 * *(SP capability); capability = ("AUTH=" auth-type) / atom.
 * The decoded list is kept per thread and shared (imap_cache.h), keyed by
 * the tokens' types and wire text. */
imap_node *imapi_decode_capabilities(const imap_value *tokens)
{
    if (tokens == NULL || tokens->type != IV_LIST)
        return decode_capabilities(tokens);
    imap_cache_key k = { .n = 0, .full = 0 };
    for (const imap_value *c = tokens->child; c != NULL; c = c->next) {
        if (c->raw == NULL)
            k.full = 1;
        imapi_cache_key_add(&k, (char)(c->type * 2 + (c->section != NULL)), c->raw, c->raw_len);
    }
    imap_node *arr = imapi_cache_get(IMAP_CACHE_CAPS_DECODED, &k);
    if (arr != NULL)
        return arr;
    arr = decode_capabilities(tokens);
    imapi_cache_put(IMAP_CACHE_CAPS_DECODED, &k, arr);
    return arr;
}

static imap_node *decode_capabilities(const imap_value *tokens)
{
    imap_node *arr = imapi_array();
    if (arr == NULL || tokens == NULL || tokens->type != IV_LIST)
        return arr;
    for (const imap_value *c = tokens->child; c != NULL; c = c->next) {
        imap_node *o = imapi_object();
        size_t len = 0;
        const char *s = c->type == IV_ATOM && c->section != NULL ? c->raw : imapi_value_text(c, &len, NULL);
        if (c->type == IV_ATOM && c->section != NULL)
            len = c->raw_len;
        if (c->type == IV_LIST) {
            imapi_dec_setl(o, "name", imapi_value_to_json(c));
            imapi_dec_setl(o, "known", imapi_false());
            imapi_array_append_new(arr, o);
            continue;
        }
        imapi_dec_setl(o, "name", imapi_json_bytes(s, len));
        const imap_capability_info *ci = imap_capability_lookup(s, len);
        if (ci != NULL) {
            if (ci->prefix) {
                size_t pl = strlen(ci->name);
                const char *eq = memchr(s, '=', len);
                if (eq != NULL) {
                    size_t vo = (size_t)(eq - s) + 1;
                    imapi_dec_setl(o, "value", imapi_json_bytes(s + vo, len - vo));
                } else if (pl < len) {
                    imapi_dec_setl(o, "value", imapi_json_bytes(s + pl, len - pl));
                }
            }
        } else {
            imapi_dec_setl(o, "known", imapi_false());
        }
        imapi_array_append_new(arr, o);
    }
    return arr;
}
