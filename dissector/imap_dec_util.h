/*
 * imap_dec_util.h - helpers shared by the command/response decoders
 * (imap_cmd.c, imap_resp.c, imap_fetch.c, imap_search.c): JSON of strings,
 * sequence sets, flags and dates.  Internal to the dissector.
 */
#ifndef IMAP_DEC_UTIL_H
#define IMAP_DEC_UTIL_H

#include "imap_decode.h"

/* Recursion cap of the decoders' own descent (search keys, BODYSTRUCTURE,
 * THREAD trees); the tokenizer already caps list nesting at 64. */
/* IMAP_DEC_MAX_DEPTH: imap_limits.h */

/* Sets obj[key] = val (stealing val); a NULL val is skipped. */
void imapi_dec_set(imap_node *obj, const char *key, imap_node *val);
/* The same for a key known to be ASCII (a literal): jansson's UTF-8 check
 * of the key is skipped. */
void imapi_dec_setl(imap_node *obj, const char *key, imap_node *val);

/* JSON of an astring / nstring / number: a string (network bytes escaped),
 * null for NIL; a literal whose kept bytes are not all of it gives the
 * generic literal object ({"literal_size", ...}); a list its generic array.
 * NULL only for a NULL value. */
imap_node *imapi_dec_str(const imap_value *v);

/* Same, upper-cased atom (command keywords, item names). */
imap_node *imapi_dec_upper(const imap_value *v);

/* Array of the string texts of a list's elements (flags, capabilities,
 * names); non-string elements via imapi_value_to_json. */
imap_node *imapi_dec_str_list(const imap_value *list);

/* Appends {"name": text of key, "value": val (stolen)} to arr: maps keyed
 * by network data (ID parameters, METADATA entries, MIME parameters) are
 * arrays of these, so field paths do not grow with traffic (issue 10). */
void imapi_dec_add_name_value(imap_node *arr, const imap_value *key, imap_node *val);

/* A tree (objects whose children are in the array member child_key) as a
 * flat array in preorder, each node without child_key, with "depth" (0
 * for the root) and "nargs" (its number of children) when it had some:
 * the field paths stay the same however deep the data nests (issue 10).
 * Steals tree; a non-object tree gives null. */
imap_node *imapi_dec_flatten_tree(imap_node *tree, const char *child_key);

/* Array of the raw wire texts of a list's elements (strings only): the
 * generic arguments of commands and responses without a decoder. */
imap_node *imapi_dec_raw_list(const imap_value *list);

/* RFC 9051 9 sequence-set (also uid-set, "$" of RFC 5182): adds one set
 * object, the same shape under every name (docs/output.md "Sequence
 * sets"): obj[key] = {"text": the wire text, "count": messages when every
 * range is finite, "ranges": [[lo, hi], ...] normalized (lo <= hi, "*" is
 * null, at most 64 ranges), "ranges_total": ranges when more, "star":
 * true when a range has "*", "searchres": true for "$"}.  Returns 0, or
 * -1 when the text is not a sequence set (only "text" is set then). */
int imapi_dec_add_seqset(imap_node *obj, const char *key, const imap_value *v);
int imapi_dec_add_seqset_text(imap_node *obj, const char *key, const char *s, size_t len);

/* Date (RFC 9051 9 date / date-time, RFC 5322 3.3 date-time): adds
 * obj[key] = ISO 8601 ("1996-07-17T02:44:25-07:00", a date alone
 * "1994-02-01") when it parses, the wire text otherwise (null for NIL):
 * one field per date (issue 10, item 3). */
void imapi_dec_add_date(imap_node *obj, const char *key, const imap_value *v);
/* ISO 8601 of a date text into out (cap >= 32); returns 0 or -1. */
int imapi_dec_date_iso(const char *s, size_t len, char *out, size_t cap);

/* RFC 2047 encoded words (Q and B; utf-8, us-ascii, iso-8859-1) decoded to
 * a new JSON string; NULL when s holds no encoded word or one it cannot
 * decode. */
imap_node *imapi_dec_rfc2047(const char *s, size_t len);

/* Parses a whole number64 text; returns 0 and *out, or -1. */
int imapi_dec_parse_u64(const char *s, size_t len, uint64_t *out);

/* Number of a NUMBER value (or an atom of digits); -1 when not one. */
int imapi_dec_number(const imap_value *v, uint64_t *out);

/* JSON integer of a uint64 (jansson is signed: beyond INT64_MAX a string). */
imap_node *imapi_dec_u64(uint64_t n);

/* Upper-case copy of a value's text into buf (cap bytes, NUL-terminated,
 * cut when longer); returns buf. */
const char *imapi_dec_upper_text(const imap_value *v, char *buf, size_t cap);

/* FETCH items (command) and message attributes (response): imap_fetch.c. */
imap_node *imapi_fetch_items_decode(const imap_value *v, const char **err);
imap_node *imapi_fetch_att_decode(const imap_decode_ctx *ctx, const imap_value *list, const char **err);
imap_node *imapi_envelope_decode(const imap_decode_ctx *ctx, const imap_value *v);
imap_node *imapi_bodystructure_decode(const imap_decode_ctx *ctx, const imap_value *v, unsigned depth);

/* SEARCH program (imap_search.c): decodes search keys from *cur on (a
 * chain of values), returns an array of key trees; *cur is advanced past
 * what was used.  err gets a message on a grammar mismatch. */
imap_node *imapi_search_keys_decode(const imap_decode_ctx *ctx, const imap_value **cur, const char **err);
/* SEARCH/UID SEARCH/SORT/THREAD/ESEARCH arguments (imap_search.c). */
int imapi_search_decode(const imap_decode_ctx *ctx, const char *cmd, const imap_value *args,
                       imap_node *obj, const char **err);

#endif /* IMAP_DEC_UTIL_H */
