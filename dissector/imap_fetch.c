/*
 * imap_fetch.c - FETCH: the items of the command, the message attributes
 * of the FETCH response, ENVELOPE and BODY/BODYSTRUCTURE.
 *
 * Grammar: RFC 9051 9 (fetch-att, msg-att, envelope, body), RFC 3516
 * (BINARY), RFC 7162 (MODSEQ, CHANGEDSINCE, VANISHED), RFC 8474 (EMAILID,
 * THREADID), RFC 8970 (PREVIEW), RFC 8514 (SAVEDATE).
 */
#include "imap_dec_util.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <openssl/evp.h>

/* ------------------------------------------------------------- sections */

/* A section (RFC 9051 9: section-spec = section-msgtext / (section-part
 * ["." section-text])) into obj: "section", the text between the
 * brackets ("1.2.HEADER.FIELDS (FROM)"), and "part", its section-part
 * ("1.2") when it has one.  The section-text and header names are read
 * in "section" (issue 10, item 3: no derived copies). */
static void add_section(imap_node *obj, const imap_value *atom)
{
    const char *raw = atom->section_raw != NULL ? atom->section_raw : "";
    imapi_dec_setl(obj, "section", imapi_json_bytes(raw, strlen(raw)));
    const imap_value *first = imapi_list_nth(atom->section, 0);
    if (first != NULL && (first->type == IV_ATOM || first->type == IV_NUMBER)) {
        const char *s = first->s;
        size_t len = first->len;
        size_t i = 0, part_end = 0;
        /* leading nz-number *("." nz-number) */
        while (i < len) {
            size_t j = i;
            while (j < len && isdigit((unsigned char)s[j]))
                j++;
            if (j == i || (j < len && s[j] != '.'))
                break;
            part_end = j;
            i = j < len ? j + 1 : j;
        }
        if (part_end > 0)
            imapi_dec_setl(obj, "part", imapi_json_bytes(s, part_end));
    }
}

/* RFC 9051 9: partial = "<" number64 "." nz-number64 ">" (command) and
 * "<" number ">" (response origin). */
static void add_partial(imap_node *obj, const char *p, bool response)
{
    if (p == NULL)
        return;
    const char *dot = strchr(p, '.');
    uint64_t a, b;
    size_t alen = dot != NULL ? (size_t)(dot - p) : strlen(p);
    if (imapi_dec_parse_u64(p, alen, &a) != 0) {
        imapi_dec_setl(obj, "partial", imapi_json_bytes(p, strlen(p)));
        return;
    }
    imapi_dec_set(obj, response ? "origin" : "partial_origin", imapi_dec_u64(a));
    if (dot != NULL && imapi_dec_parse_u64(dot + 1, strlen(dot + 1), &b) == 0)
        imapi_dec_setl(obj, "partial_length", imapi_dec_u64(b));
}

/* ------------------------------------------------------------ FETCH items */

static const char *const fetch_simple_items[] = {
    "ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822", "RFC822.HEADER", "RFC822.SIZE",
    "RFC822.TEXT", "BODY", "BODYSTRUCTURE", "UID", "MODSEQ", "EMAILID", "THREADID",
    "SAVEDATE", "PREVIEW", "X-GM-MSGID", "X-GM-THRID", "X-GM-LABELS", "RFC822.PEEK",
};

static const char *const fetch_section_items[] = {
    "BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE",
};

/* One fetch-att (RFC 9051 9; RFC 3516 4.2; RFC 7162 3.1.4; RFC 8474 7;
 * RFC 8970 3; RFC 8514 4). */
static imap_node *fetch_item(const imap_value *v, bool *known)
{
    imap_node *o = imapi_object();
    char name[64];
    imapi_dec_upper_text(v, name, sizeof(name));
    *known = false;
    imapi_dec_setl(o, "item", imapi_json_bytes(name, strlen(name)));
    if (v->type == IV_ATOM && v->section != NULL) {
        for (size_t i = 0; i < sizeof(fetch_section_items) / sizeof(fetch_section_items[0]); i++)
            if (strcmp(name, fetch_section_items[i]) == 0)
                *known = true;
        if (strstr(name, ".PEEK") != NULL)
            imapi_dec_setl(o, "peek", imapi_true());
        add_section(o, v);
        add_partial(o, v->partial, false);
    } else if (v->type == IV_ATOM) {
        if (strcmp(name, "ALL") == 0 || strcmp(name, "FAST") == 0 || strcmp(name, "FULL") == 0) {
            /* RFC 9051 6.4.5 macros */
            *known = true;
            imapi_dec_setl(o, "macro", imapi_true());
        }
        for (size_t i = 0; i < sizeof(fetch_simple_items) / sizeof(fetch_simple_items[0]); i++)
            if (strcmp(name, fetch_simple_items[i]) == 0)
                *known = true;
    }
    if (!*known)
        imapi_dec_setl(o, "known", imapi_false());
    return o;
}

imap_node *imapi_fetch_items_decode(const imap_value *v, const char **err)
{
    imap_node *arr = imapi_array();
    if (v == NULL) {
        *err = "FETCH without items";
        return arr;
    }
    bool known;
    if (v->type != IV_LIST) {
        imapi_array_append_new(arr, fetch_item(v, &known));
        return arr;
    }
    for (const imap_value *c = v->child; c != NULL; c = c->next) {
        if (c->type == IV_LIST) {
            /* RFC 8970 3: PREVIEW (LAZY): modifiers of the previous item */
            imap_node *last = imapi_array_get(arr, imapi_array_size(arr) - 1);
            if (last != NULL)
                imapi_dec_setl(last, "modifiers", imapi_dec_str_list(c));
            continue;
        }
        imapi_array_append_new(arr, fetch_item(c, &known));
    }
    return arr;
}

/* --------------------------------------------------------------- ENVELOPE */

/* A string of an nstring's text with RFC 2047 encoded words decoded
 * (RFC 9051 7.5.2: ENVELOPE strings are as in the header); the text as
 * sent when it holds none or one this decoder cannot read. */
static imap_node *decoded_str(const imap_value *v)
{
    if (v != NULL && (v->type == IV_QUOTED || v->type == IV_LITERAL || v->type == IV_ATOM)) {
        imap_node *d = imapi_dec_rfc2047(v->s, v->len);
        if (d != NULL)
            return d;
    }
    return imapi_dec_str(v);
}

/* RFC 9051 9: address = "(" addr-name SP addr-adl SP addr-mailbox SP
 * addr-host ")"; group syntax (RFC 9051 7.5.2 ENVELOPE): host NIL and
 * mailbox non-NIL starts a group named by mailbox, both NIL ends it.
 * Each address: {"field", "name" (RFC 2047 decoded; absent for NIL),
 * "address" (mailbox@host; with a source route, RFC 5322 4.4 obs-route
 * "@adl:mailbox@host"; only the part that is not NIL when one is),
 * "group" (the group of a member)}; an element that is not an address:
 * {"field", "raw"}. */
static void address_list(imap_node *arr, const char *field, const imap_value *v)
{
    if (v == NULL || v->type != IV_LIST)
        return;                       /* NIL: no address */
    imap_node *group = NULL;             /* name of the open group */
    for (const imap_value *a = v->child; a != NULL; a = a->next) {
        imap_node *o = imapi_object();
        imapi_dec_setl(o, "field", imapi_string(field));
        if (a->type != IV_LIST || a->count != 4) {
            /* not an address: its raw text, one type per field */
            imapi_dec_setl(o, "raw", imapi_json_bytes(a->raw != NULL ? a->raw : "", a->raw != NULL ? a->raw_len : 0));
            imapi_array_append_new(arr, o);
            continue;
        }
        const imap_value *name = imapi_list_nth(a, 0), *adl = imapi_list_nth(a, 1);
        const imap_value *mbox = imapi_list_nth(a, 2), *host = imapi_list_nth(a, 3);
        if (host->type == IV_NIL) {
            imapi_decref(group);
            group = mbox->type != IV_NIL ? imapi_dec_str(mbox) : NULL;
            imapi_decref(o);
            continue;
        }
        if (group != NULL)
            imapi_dec_setl(o, "group", imapi_incref(group));
        if (name->type != IV_NIL && name->type != IV_LIST)
            imapi_dec_setl(o, "name", decoded_str(name));
        char buf[1024];
        size_t al = 0, ml = 0, hl = 0;
        const char *as = adl->type != IV_NIL && adl->type != IV_LIST ? imapi_value_text(adl, &al, NULL) : NULL;
        const char *ms = mbox->type != IV_NIL && mbox->type != IV_LIST ? imapi_value_text(mbox, &ml, NULL) : NULL;
        const char *hs = host->type != IV_LIST ? imapi_value_text(host, &hl, NULL) : NULL;
        size_t n = 0;
        if (as != NULL && al > 0 && al + ml + hl + 4 <= sizeof(buf)) {
            n += (size_t)snprintf(buf, sizeof(buf), "%s%.*s:", as[0] == '@' ? "" : "@", (int)al, as);
        }
        if (ms != NULL && n + ml + hl + 2 <= sizeof(buf)) {
            memcpy(buf + n, ms, ml);
            n += ml;
            if (hs != NULL)
                buf[n++] = '@';
        }
        if (hs != NULL && n + hl <= sizeof(buf)) {
            memcpy(buf + n, hs, hl);
            n += hl;
        }
        if (n > 0)
            imapi_dec_setl(o, "address", imapi_json_bytes(buf, n));
        imapi_array_append_new(arr, o);
    }
    imapi_decref(group);
}

/* RFC 9051 9: envelope = "(" env-date SP env-subject SP env-from SP
 * env-sender SP env-reply-to SP env-to SP env-cc SP env-bcc SP
 * env-in-reply-to SP env-message-id ")".  One field per datum (issue 10,
 * item 3): "date" ISO 8601 when it parses (the text otherwise), "subject"
 * and the names RFC 2047 decoded when they can be (as sent otherwise). */
imap_node *imapi_envelope_decode(const imap_decode_ctx *ctx, const imap_value *v)
{
    (void)ctx;
    if (v == NULL || v->type != IV_LIST || v->count < 10)
        return imapi_value_to_json(v);
    imap_node *o = imapi_object();
    imapi_dec_add_date(o, "date", imapi_list_nth(v, 0));
    imapi_dec_setl(o, "subject", decoded_str(imapi_list_nth(v, 1)));
    /* one array of every address, "field" naming its header (issue 10:
     * six lists of the same shape were six sets of field paths); a group
     * member carries its group's name in "group" */
    static const char *const keys[6] = { "from", "sender", "reply_to", "to", "cc", "bcc" };
    imap_node *addrs = imapi_array();
    for (size_t i = 0; i < 6; i++)
        address_list(addrs, keys[i], imapi_list_nth(v, 2 + i));
    imapi_dec_setl(o, "addresses", addrs);
    imapi_dec_setl(o, "in_reply_to", imapi_dec_str(imapi_list_nth(v, 8)));
    imapi_dec_setl(o, "message_id", imapi_dec_str(imapi_list_nth(v, 9)));
    return o;
}

/* ----------------------------------------------------------- BODYSTRUCTURE */

/* A growing text buffer for the folded parameters. */
typedef struct sbuf {
    char  *p;
    size_t len, cap;
    bool   oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 128;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *q = realloc(b->p, nc);
        if (q == NULL) {
            b->oom = true;
            return;
        }
        b->p = q;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* RFC 2045 5.1: token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials> */
static bool mime_token(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || strchr("()<>@,;:\\\"/[]?=", c) != NULL)
            return false;
    }
    return true;
}

/* Appends "; name=value" (no "; " first), the value quoted (RFC 2045 5.1,
 * RFC 5322 3.2.4 quoted-pair for '"' and '\') when it is not a token. */
static void sb_param(sbuf *b, const char *name, size_t nl, const char *val, size_t vl)
{
    if (b->len > 0)
        sb_put(b, "; ", 2);
    sb_put(b, name, nl);
    sb_put(b, "=", 1);
    if (mime_token(val, vl)) {
        sb_put(b, val, vl);
        return;
    }
    sb_put(b, "\"", 1);
    for (size_t i = 0; i < vl; i++) {
        if (val[i] == '"' || val[i] == '\\')
            sb_put(b, "\\", 1);
        sb_put(b, val + i, 1);
    }
    sb_put(b, "\"", 1);
}

/* RFC 2231 3-4: a parameter name "base*n*" / "base*n" / "base*": the base
 * (lower case, into base), section n (-1 when none) and whether the value
 * is extended (charset'language'%XX). */
static void param_name(const imap_value *k, char *base, size_t cap, int *section, bool *ext)
{
    imapi_dec_upper_text(k, base, cap);
    for (char *p = base; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    *section = -1;
    *ext = false;
    char *star = strchr(base, '*');
    if (star == NULL)
        return;
    *star = '\0';
    const char *q = star + 1;
    if (*q >= '0' && *q <= '9') {
        int n = 0;
        while (*q >= '0' && *q <= '9' && n < 1000)
            n = n * 10 + (*q++ - '0');
        *section = n;
        if (*q == '*') {
            *ext = true;
            q++;
        }
    } else {
        *ext = true;
    }
    if (*q != '\0')
        *section = -2; /* not RFC 2231 form: kept as sent */
}

#define BS_MAX_SECTIONS 64

/* The value of parameter `want` (RFC 2231 sections joined in order,
 * extended values percent-decoded in their charset: utf-8, us-ascii,
 * iso-8859-1; RFC 2047 words in a plain value decoded) as a new string,
 * and used[i] set for the parameters it was made of.  NULL when the
 * parameter is absent or does not decode (it is then kept as sent). */
static imap_node *param_value(const imap_value *v, const char *want, bool *used, size_t nparams)
{
    const imap_value *sec[BS_MAX_SECTIONS] = { 0 };
    bool secx[BS_MAX_SECTIONS] = { 0 };
    size_t idx[BS_MAX_SECTIONS] = { 0 };
    const imap_value *plain = NULL;
    size_t plain_i = 0;
    int nsec = 0;
    size_t i = 0;
    for (const imap_value *k = v->child; k != NULL && k->next != NULL && i < nparams; k = k->next->next, i++) {
        char base[128];
        int section;
        bool ext;
        param_name(k, base, sizeof(base), &section, &ext);
        if (strcmp(base, want) != 0 || section == -2 || k->next->type == IV_NIL || k->next->type == IV_LIST)
            continue;
        if (section == -1 && !ext) {
            plain = k->next;
            plain_i = i;
            continue;
        }
        int s = section < 0 ? 0 : section;
        if (s >= BS_MAX_SECTIONS || sec[s] != NULL)
            return NULL;
        sec[s] = k->next;
        secx[s] = ext;
        idx[s] = i;
        if (s + 1 > nsec)
            nsec = s + 1;
    }
    if (nsec == 0) {
        if (plain == NULL)
            return NULL;
        imap_node *d = imapi_dec_rfc2047(plain->s, plain->len);
        if (d == NULL)
            d = imapi_dec_str(plain);
        if (imapi_is_string(d))
            used[plain_i] = true;
        else {
            imapi_decref(d);
            d = NULL;
        }
        return d;
    }
    for (int s = 0; s < nsec; s++)
        if (sec[s] == NULL)
            return NULL; /* a section is missing: kept as sent */
    sbuf b = { 0 };
    bool latin1 = false, fail = false;
    for (int s = 0; s < nsec && !fail; s++) {
        size_t len = 0;
        const char *t = imapi_value_text(sec[s], &len, NULL);
        if (!secx[s]) {
            sb_put(&b, t, len);
            continue;
        }
        if (s == 0) {
            /* RFC 2231 4: charset "'" [language] "'" value-chars */
            const char *q1 = memchr(t, '\'', len);
            const char *q2 = q1 != NULL ? memchr(q1 + 1, '\'', len - (size_t)(q1 + 1 - t)) : NULL;
            if (q2 == NULL) {
                fail = true;
                break;
            }
            size_t cl = (size_t)(q1 - t);
            if ((cl == 5 && strncasecmp(t, "utf-8", 5) == 0) || (cl == 8 && strncasecmp(t, "us-ascii", 8) == 0) ||
                cl == 0)
                latin1 = false;
            else if ((cl == 10 && strncasecmp(t, "iso-8859-1", 10) == 0) || (cl == 6 && strncasecmp(t, "latin1", 6) == 0))
                latin1 = true;
            else
                fail = true;
            len -= (size_t)(q2 + 1 - t);
            t = q2 + 1;
        }
        for (size_t j = 0; j < len && !fail; j++) {
            unsigned char c = (unsigned char)t[j];
            if (c == '%') {
                if (j + 2 >= len + 0 || imapi_hex_value(t[j + 1]) < 0 || imapi_hex_value(t[j + 2]) < 0) {
                    fail = true;
                    break;
                }
                c = (unsigned char)(imapi_hex_value(t[j + 1]) * 16 + imapi_hex_value(t[j + 2]));
                j += 2;
            }
            if (latin1 && c >= 0x80) {
                char u[2] = { (char)(0xC0 | (c >> 6)), (char)(0x80 | (c & 0x3F)) };
                sb_put(&b, u, 2);
            } else {
                sb_put(&b, (const char *)&c, 1);
            }
        }
    }
    imap_node *out = NULL;
    if (!fail && !b.oom && imapi_utf8_valid(b.p != NULL ? b.p : "", b.len))
        out = imapi_stringn(b.p != NULL ? b.p : "", b.len);
    free(b.p);
    if (out != NULL)
        for (int s = 0; s < nsec; s++)
            used[idx[s]] = true;
    /* a plain "name" beside RFC 2231 sections (a fallback for old
     * readers) stays in the parameters, as sent */
    return out;
}

/* RFC 9051 9: body-fld-param = "(" string SP string *(SP string SP string) ")" / nil.
 * One string in MIME header form ("format=flowed; delsp=yes": names in
 * lower case, values quoted when not an RFC 2045 token) instead of a
 * list of {name, value} (issue 10, item 3), without the parameters taken
 * out into their own members: "charset" (when charset is not NULL) and
 * the file name parameter fname ("filename" of a disposition, "name" of
 * a Content-Type) into *filename when it decodes and *filename is still
 * NULL.  NULL when no parameter is left. */
static imap_node *body_params(const imap_value *v, imap_node **charset, const char *fname, imap_node **filename)
{
    if (v == NULL || v->type != IV_LIST)
        return NULL; /* NIL, or not a body-fld-param */
    /* used[i]: parameter i went into *filename (the first 256 are
     * looked at for it; every parameter is folded) */
    bool used[256] = { false };
    size_t np = 0;
    for (const imap_value *k = v->child; k != NULL && k->next != NULL && np < 256; k = k->next->next)
        np++;
    if (fname != NULL && filename != NULL && *filename == NULL)
        *filename = param_value(v, fname, used, np);
    sbuf b = { 0 };
    size_t i = 0;
    for (const imap_value *k = v->child; k != NULL && k->next != NULL; k = k->next->next, i++) {
        if (i < np && used[i])
            continue;
        char key[128];
        imapi_dec_upper_text(k, key, sizeof(key));
        for (char *p = key; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        size_t vl = 0;
        const char *val = imapi_value_text(k->next, &vl, NULL);
        if (charset != NULL && *charset == NULL && strcmp(key, "charset") == 0 && k->next->type != IV_NIL) {
            *charset = imapi_json_bytes(val, vl);
            continue;
        }
        sb_param(&b, key, strlen(key), val != NULL ? val : "", val != NULL ? vl : 0);
    }
    imap_node *out = b.len > 0 && !b.oom ? imapi_json_bytes(b.p, b.len) : NULL;
    free(b.p);
    return out;
}

/* RFC 9051 9: body-fld-dsp = "(" string SP body-fld-param ")" / nil: the
 * disposition in header form, "attachment; size=2048" (RFC 2183), the
 * file name taken out into *filename. */
static imap_node *body_disposition(const imap_value *v, imap_node **filename)
{
    if (v == NULL || v->type != IV_LIST)
        return NULL; /* NIL, or not a body-fld-dsp */
    const imap_value *t = imapi_list_nth(v, 0);
    char dt[64];
    imapi_dec_upper_text(t, dt, sizeof(dt));
    for (char *p = dt; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    imap_node *params = body_params(imapi_list_nth(v, 1), NULL, "filename", filename);
    const char *ps = imapi_string_value(params);
    sbuf b = { 0 };
    sb_put(&b, dt, strlen(dt));
    if (ps != NULL) {
        sb_put(&b, "; ", 2);
        sb_put(&b, ps, imapi_string_length(params));
    }
    imapi_decref(params);
    imap_node *out = !b.oom ? imapi_json_bytes(b.p != NULL ? b.p : "", b.len) : NULL;
    free(b.p);
    return out;
}

/* The MIME type in lower case: "text/plain". */
static void add_mime_type(imap_node *o, const imap_value *t, const imap_value *st)
{
    char a[64], b[128], m[200];
    if (!imapi_value_is_string(t) && t->type != IV_ATOM)
        return;
    imapi_dec_upper_text(t, a, sizeof(a));
    imapi_dec_upper_text(st, b, sizeof(b));
    snprintf(m, sizeof(m), "%s/%s", a, b);
    for (char *p = m; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    imapi_dec_setl(o, "mime_type", imapi_json_bytes(m, strlen(m)));
}

/* Sets obj[key] to a nstring's text; nothing for NIL (issue 10: absent
 * rather than null, as in the header it stands for). */
static void set_nstr(imap_node *o, const char *key, const imap_value *v)
{
    if (v != NULL && v->type != IV_NIL)
        imapi_dec_setl(o, key, imapi_dec_str(v));
}

/* Extension data after the fixed fields: disposition, language, location,
 * then body-extension values (RFC 9051 9 body-ext-1part/body-ext-mpart).
 * *filename: the disposition's file name (it wins over a Content-Type
 * "name"). */
static void body_ext(imap_node *o, const imap_value *e, imap_node **filename)
{
    if (e == NULL)
        return;
    imapi_dec_setl(o, "disposition", body_disposition(e, filename));
    e = e->next;
    if (e == NULL)
        return;
    /* body-fld-lang = nstring / "(" string *(SP string) ")": always an
     * array, absent for NIL, one type per field */
    if (e->type != IV_NIL)
        imapi_dec_setl(o, "language", e->type == IV_LIST ? imapi_dec_str_list(e) : imapi_array1_new(imapi_dec_str(e)));
    e = e->next;
    if (e == NULL)
        return;
    set_nstr(o, "location", e);
    e = e->next;
    if (e == NULL)
        return;
    imap_node *x = imapi_array();
    for (; e != NULL; e = e->next) /* raw text: strings only */
        imapi_array_append_new(x, imapi_json_bytes(e->raw != NULL ? e->raw : "", e->raw != NULL ? e->raw_len : 0));
    imapi_dec_setl(o, "extensions", x);
}

/* The decoded tree as a flat array of its nodes in preorder (issue 10:
 * field paths must not grow with the nesting): each node without its
 * "parts" and "body", with "part", its RFC 9051 6.4.5 part specifier
 * ("" for a multipart top level, "1" for a single-part message's body;
 * the body of a MESSAGE/RFC822 part P is "P" when multipart, "P.1" when
 * not), and "depth", the nesting level (0 top).  "part" and "depth" come
 * first. */
static bool is_multipart(const imap_node *node)
{
    const char *t = imapi_string_value(imapi_object_get(node, "mime_type"));
    return t != NULL && strncmp(t, "multipart/", 10) == 0;
}

static void bs_flatten(imap_node *node, const char *part, int depth, imap_node *out)
{
    if (!imapi_is_object(node) || depth > IMAP_DEC_MAX_DEPTH)
        return;
    imap_node *parts = imapi_incref(imapi_object_get(node, "parts"));
    imap_node *body = imapi_incref(imapi_object_get(node, "body"));
    imapi_object_del(node, "parts");
    imapi_object_del(node, "body");
    imap_node *e = imapi_object();
    imapi_object_set_new_nocheck(e, "part", imapi_string(part));
    imapi_object_set_new_nocheck(e, "depth", imapi_integer(depth));
    imapi_object_update(e, node);
    imapi_array_append_new(out, e);
    char cp[256];
    size_t i;
    imap_node *k;
    imapi_array_foreach(parts, i, k) {
        snprintf(cp, sizeof cp, "%s%s%zu", part, part[0] ? "." : "", i + 1);
        bs_flatten(k, cp, depth + 1, out);
    }
    if (imapi_is_object(body)) {
        snprintf(cp, sizeof cp, "%s%s", part, is_multipart(body) ? "" : ".1");
        bs_flatten(body, cp, depth + 1, out);
    }
    imapi_decref(parts);
    imapi_decref(body);
}

static imap_node *bodystructure_flat(const imap_decode_ctx *ctx, const imap_value *v)
{
    imap_node *tree = imapi_bodystructure_decode(ctx, v, 0);
    if (!imapi_is_object(tree)) {
        imapi_decref(tree);
        return imapi_null();
    }
    imap_node *out = imapi_array();
    bs_flatten(tree, is_multipart(tree) ? "" : "1", 0, out);
    imapi_decref(tree);
    return out;
}

/* RFC 9051 9: body = "(" (body-type-1part / body-type-mpart) ")".
 * One object per part (issue 10, item 3: one field per datum):
 *   mime_type    type/subtype in lower case
 *   charset      the "charset" parameter, as sent
 *   params       the other Content-Type parameters in header form
 *   filename     the file name: the disposition's "filename", else the
 *                Content-Type "name" (RFC 2231 and RFC 2047 decoded; kept
 *                in its parameters as sent when it does not decode)
 *   disposition  "attachment; size=2048" (RFC 2183), without the filename
 *   id, description, encoding, size, lines, md5, language, location
 *   extensions   body-extension values, raw text
 * and the tree below it in "parts" (multipart) or "body" (the message of
 * a MESSAGE/RFC822 part: its ENVELOPE is not repeated here, the email
 * event decodes the message when it is fetched). */
imap_node *imapi_bodystructure_decode(const imap_decode_ctx *ctx, const imap_value *v, unsigned depth)
{
    if (v == NULL || v->type != IV_LIST || depth > IMAP_DEC_MAX_DEPTH)
        return imapi_value_to_json(v);
    imap_node *o = imapi_object();
    imap_node *filename = NULL;
    const imap_value *c = v->child;
    if (c != NULL && c->type == IV_LIST) {
        /* body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart] */
        imap_node *parts = imapi_array();
        while (c != NULL && c->type == IV_LIST) {
            imapi_array_append_new(parts, imapi_bodystructure_decode(ctx, c, depth + 1));
            c = c->next;
        }
        {
            char st[64], m[80];
            imapi_dec_upper_text(c, st, sizeof(st));
            snprintf(m, sizeof(m), "multipart/%s", st);
            for (char *p = m; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            imapi_dec_setl(o, "mime_type", imapi_json_bytes(m, strlen(m)));
            if (c != NULL)
                c = c->next;
        }
        imapi_dec_setl(o, "parts", parts);
        if (c != NULL) {
            /* body-ext-mpart = body-fld-param [SP body-fld-dsp ...] */
            imapi_dec_setl(o, "params", body_params(c, NULL, NULL, NULL));
            body_ext(o, c->next, &filename);
            imapi_dec_setl(o, "filename", filename);
        }
        return o;
    }
    /* body-type-1part: media type, subtype, body-fields */
    if (v->count < 7) {
        imapi_decref(o);
        return imapi_value_to_json(v);
    }
    const imap_value *t = imapi_list_nth(v, 0), *st = imapi_list_nth(v, 1);
    add_mime_type(o, t, st);
    imap_node *charset = NULL, *cfile = NULL;
    imap_node *params = body_params(imapi_list_nth(v, 2), &charset, "name", &cfile);
    imapi_dec_setl(o, "charset", charset);
    imapi_dec_setl(o, "params", params);
    imapi_dec_setl(o, "filename", imapi_null()); /* its place; set or removed below */
    set_nstr(o, "id", imapi_list_nth(v, 3));
    set_nstr(o, "description", imapi_list_nth(v, 4));
    imapi_dec_setl(o, "encoding", imapi_dec_str(imapi_list_nth(v, 5)));
    const imap_value *sz = imapi_list_nth(v, 6);
    if (sz->type == IV_NUMBER)
        imapi_dec_setl(o, "size", imapi_dec_u64(sz->num));
    c = imapi_list_nth(v, 7);
    bool is_text = imapi_value_is_string(t) && strcasecmp(t->s, "TEXT") == 0;
    bool is_msg = imapi_value_is_string(t) && strcasecmp(t->s, "MESSAGE") == 0 &&
                  imapi_value_is_string(st) &&
                  (strcasecmp(st->s, "RFC822") == 0 || strcasecmp(st->s, "GLOBAL") == 0);
    imap_node *body = NULL;
    if (is_msg && c != NULL && c->type == IV_LIST && c->next != NULL && c->next->type == IV_LIST) {
        /* body-type-msg = media-message SP body-fields SP envelope SP body SP body-fld-lines */
        c = c->next;
        body = imapi_bodystructure_decode(ctx, c, depth + 1);
        c = c->next;
        if (c != NULL && c->type == IV_NUMBER) {
            imapi_dec_setl(o, "lines", imapi_dec_u64(c->num));
            c = c->next;
        }
    } else if (is_text && c != NULL && c->type == IV_NUMBER) {
        imapi_dec_setl(o, "lines", imapi_dec_u64(c->num));
        c = c->next;
    }
    imap_node *dfile = NULL;
    if (c != NULL) {
        /* body-ext-1part = body-fld-md5 [SP body-fld-dsp ...] */
        set_nstr(o, "md5", c);
        body_ext(o, c->next, &dfile);
    }
    /* the disposition's file name wins; a Content-Type "name" that differs
     * from it stays in params, as sent */
    if (dfile != NULL && cfile != NULL) {
        const char *a = imapi_string_value(dfile), *b = imapi_string_value(cfile);
        if (a == NULL || b == NULL || strcmp(a, b) != 0) {
            imap_node *cs2 = NULL;
            imapi_dec_setl(o, "params", body_params(imapi_list_nth(v, 2), &cs2, NULL, NULL));
            imapi_decref(cs2);
        }
        imapi_decref(cfile);
        cfile = NULL;
    }
    if (dfile != NULL || cfile != NULL)
        imapi_object_set_new_nocheck(o, "filename", dfile != NULL ? dfile : cfile);
    else
        imapi_object_del(o, "filename");
    if (body != NULL)
        imapi_dec_setl(o, "body", body);
    return o;
}

/* ------------------------------------------------------- FETCH response */

static imap_node *sha256_json(const void *data, size_t len)
{
    unsigned char d[32];
    unsigned int dl = 0;
    if (EVP_Digest(data, len, d, &dl, EVP_sha256(), NULL) != 1 || dl != 32)
        return NULL;
    char buf[65];
    imapi_hex_encode(d, 32, buf);
    return imapi_string(buf);
}

/* Size and hash of a body section's data: nstring / literal8. */
static void add_data_info(imap_node *o, const imap_value *v)
{
    if (v == NULL)
        return;
    if (v->type == IV_NIL) {
        imapi_dec_setl(o, "size", imapi_null());
        return;
    }
    if (v->type == IV_LITERAL && v->lit != NULL) {
        imapi_dec_setl(o, "size", imapi_dec_u64(v->lit->size));
        if (v->lit->received < v->lit->size)
            imapi_dec_setl(o, "received", imapi_dec_u64(v->lit->received));
        if (v->lit->has_sha256) {
            imap_node *lj = imapi_value_to_json(v);
            imapi_dec_setl(o, "sha256", imapi_incref(imapi_object_get(lj, "sha256")));
            imapi_decref(lj);
        }
        if (v->lit->binary)
            imapi_dec_setl(o, "binary", imapi_true());
        return;
    }
    if (v->type == IV_QUOTED || v->type == IV_ATOM || v->type == IV_NUMBER) {
        imapi_dec_setl(o, "size", imapi_integer((int64_t)v->len));
        imapi_dec_setl(o, "sha256", sha256_json(v->s, v->len));
        return;
    }
    /* not a string: as sent, one type per field */
    imapi_dec_setl(o, "value", imapi_json_bytes(v->raw != NULL ? v->raw : "", v->raw != NULL ? v->raw_len : 0));
}

static void add_number_att(imap_node *o, const char *key, const imap_value *v)
{
    uint64_t n;
    if (imapi_dec_number(v, &n) == 0)
        imapi_dec_set(o, key, imapi_dec_u64(n));
    else
        imapi_dec_set(o, key, imapi_value_to_json(v));
}

/* RFC 9051 9: msg-att = "(" (msg-att-dynamic / msg-att-static)
 * *(SP (msg-att-dynamic / msg-att-static)) ")".  Returns an object of the
 * decoded attributes (keys in docs/decoded.md). */
imap_node *imapi_fetch_att_decode(const imap_decode_ctx *ctx, const imap_value *list, const char **err)
{
    imap_node *o = imapi_object();
    if (list == NULL || list->type != IV_LIST) {
        *err = "FETCH data is not a list";
        return o;
    }
    imap_node *sections = NULL, *other = NULL;
    const imap_value *c = list->child;
    while (c != NULL) {
        const imap_value *val = c->next;
        char name[64];
        imapi_dec_upper_text(c, name, sizeof(name));
        if (c->type != IV_ATOM) {
            *err = "FETCH attribute name is not an atom";
            break;
        }
        if (val == NULL) {
            *err = "FETCH attribute without value";
            imapi_dec_setl(o, "truncated_attribute", imapi_json_bytes(name, strlen(name)));
            break;
        }
        if (c->section != NULL) {
            /* BODY[section]<origin> nstring / BINARY[part]<origin> (nstring / literal8)
             * / BINARY.SIZE[part] number */
            /* every section is one entry of "sections" in wire order, the
             * same shape for BODY[], BINARY[], BINARY.SIZE[] (its "size"
             * the number it announces) and RFC822* below (issue 10) */
            if (sections == NULL)
                sections = imapi_array();
            imap_node *e = imapi_object();
            imapi_dec_setl(e, "item", imapi_json_bytes(name, strlen(name)));
            add_section(e, c);
            if (strcmp(name, "BINARY.SIZE") == 0) {
                add_number_att(e, "size", val);
            } else {
                add_partial(e, c->partial, true);
                add_data_info(e, val);
            }
            imapi_array_append_new(sections, e);
        } else if (strcmp(name, "FLAGS") == 0) {
            imapi_dec_setl(o, "flags", imapi_dec_str_list(val));
        } else if (strcmp(name, "UID") == 0) {
            add_number_att(o, "uid", val);
        } else if (strcmp(name, "INTERNALDATE") == 0) {
            imapi_dec_add_date(o, "internaldate", val);
        } else if (strcmp(name, "SAVEDATE") == 0) {
            imapi_dec_add_date(o, "savedate", val);            /* RFC 8514 */
        } else if (strcmp(name, "RFC822.SIZE") == 0) {
            add_number_att(o, "rfc822_size", val);
        } else if (strcmp(name, "ENVELOPE") == 0) {
            imapi_dec_setl(o, "envelope", imapi_envelope_decode(ctx, val));
        } else if (strcmp(name, "BODYSTRUCTURE") == 0) {
            imapi_dec_setl(o, "bodystructure", bodystructure_flat(ctx, val));
        } else if (strcmp(name, "BODY") == 0) {
            imapi_dec_setl(o, "body", bodystructure_flat(ctx, val));
        } else if (strcmp(name, "RFC822") == 0 || strcmp(name, "RFC822.HEADER") == 0 ||
                   strcmp(name, "RFC822.TEXT") == 0) {
            /* RFC 9051 6.4.5 (obsolete RFC822, RFC822.HEADER, RFC822.TEXT):
             * a section entry like BODY[], item the attribute's name */
            if (sections == NULL)
                sections = imapi_array();
            imap_node *e = imapi_object();
            imapi_dec_setl(e, "item", imapi_json_bytes(name, strlen(name)));
            add_data_info(e, val);
            imapi_array_append_new(sections, e);
        } else if (strcmp(name, "MODSEQ") == 0) {
            /* RFC 7162 3.1.4.1: MODSEQ SP "(" mod-sequence-value ")" */
            add_number_att(o, "modseq", val->type == IV_LIST ? imapi_list_nth(val, 0) : val);
        } else if (strcmp(name, "EMAILID") == 0 || strcmp(name, "THREADID") == 0) {
            /* RFC 8474 5: "(" objectid ")" / nil (THREADID) */
            const imap_value *id = val->type == IV_LIST ? imapi_list_nth(val, 0) : val;
            imapi_dec_set(o, strcmp(name, "EMAILID") == 0 ? "emailid" : "threadid",
                         id != NULL ? imapi_dec_str(id) : imapi_null());
        } else if (strcmp(name, "PREVIEW") == 0) {
            imapi_dec_setl(o, "preview", imapi_dec_str(val));   /* RFC 8970: nstring */
        } else if (strcmp(name, "X-GM-MSGID") == 0 || strcmp(name, "X-GM-THRID") == 0) {
            add_number_att(o, strcmp(name, "X-GM-MSGID") == 0 ? "x_gm_msgid" : "x_gm_thrid", val);
        } else if (strcmp(name, "X-GM-LABELS") == 0) {
            imapi_dec_setl(o, "x_gm_labels", imapi_dec_str_list(val));
        } else {
            /* entries of "values" (imap_resp.c: the one list of named
             * things), the raw text: attribute names are network data */
            if (other == NULL)
                other = imapi_array();
            imap_node *it = imapi_object();
            imapi_dec_setl(it, "name", imapi_string(name));
            imapi_dec_setl(it, "value", val->raw != NULL ? imapi_json_bytes(val->raw, val->raw_len)
                                                        : imapi_dec_str_list(val));
            imapi_array_append_new(other, it);
        }
        c = val->next;
    }
    if (sections != NULL)
        imapi_dec_setl(o, "sections", sections);
    if (other != NULL)
        imapi_dec_setl(o, "values", other);
    return o;
}
