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

static json_t *decode_capabilities(const imap_value *tokens);

/* RFC 9051 9: capability-data = "CAPABILITY" *(SP capability) SP "IMAP4rev2"
 * *(SP capability); capability = ("AUTH=" auth-type) / atom.
 * The decoded list is kept per thread and shared (imap_cache.h), keyed by
 * the tokens' types and wire text. */
json_t *imap_decode_capabilities(const imap_value *tokens)
{
    if (tokens == NULL || tokens->type != IV_LIST)
        return decode_capabilities(tokens);
    imap_cache_key k = { .n = 0, .full = 0 };
    for (const imap_value *c = tokens->child; c != NULL; c = c->next) {
        if (c->raw == NULL)
            k.full = 1;
        imap_cache_key_add(&k, (char)(c->type * 2 + (c->section != NULL)), c->raw, c->raw_len);
    }
    json_t *arr = imap_cache_get(IMAP_CACHE_CAPS_DECODED, &k);
    if (arr != NULL)
        return arr;
    arr = decode_capabilities(tokens);
    imap_cache_put(IMAP_CACHE_CAPS_DECODED, &k, arr);
    return arr;
}

static json_t *decode_capabilities(const imap_value *tokens)
{
    json_t *arr = json_array();
    if (arr == NULL || tokens == NULL || tokens->type != IV_LIST)
        return arr;
    for (const imap_value *c = tokens->child; c != NULL; c = c->next) {
        json_t *o = json_object();
        size_t len = 0;
        const char *s = c->type == IV_ATOM && c->section != NULL ? c->raw : imap_value_text(c, &len, NULL);
        if (c->type == IV_ATOM && c->section != NULL)
            len = c->raw_len;
        if (c->type == IV_LIST) {
            imap_dec_setl(o, "name", imap_value_to_json(c));
            imap_dec_setl(o, "known", json_false());
            json_array_append_new(arr, o);
            continue;
        }
        imap_dec_setl(o, "name", imap_json_bytes(s, len));
        const imap_capability_info *ci = imap_capability_lookup(s, len);
        if (ci != NULL) {
            if (ci->prefix) {
                size_t pl = strlen(ci->name);
                const char *eq = memchr(s, '=', len);
                if (eq != NULL) {
                    size_t vo = (size_t)(eq - s) + 1;
                    imap_dec_setl(o, "value", imap_json_bytes(s + vo, len - vo));
                } else if (pl < len) {
                    imap_dec_setl(o, "value", imap_json_bytes(s + pl, len - pl));
                }
            }
        } else {
            imap_dec_setl(o, "known", json_false());
        }
        json_array_append_new(arr, o);
    }
    return arr;
}
