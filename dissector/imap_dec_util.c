/*
 * imap_dec_util.c - helpers of the command/response decoders: strings,
 * sequence sets, dates, RFC 2047 encoded words.
 */
#include "imap_dec_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* SEQSET_MAX_RANGES: imap_limits.h */

void imapi_dec_set(imap_node *obj, const char *key, imap_node *val)
{
    if (obj != NULL && val != NULL)
        imapi_object_set_new(obj, key, val);
    else if (val != NULL)
        imapi_decref(val);
}

void imapi_dec_setl(imap_node *obj, const char *key, imap_node *val)
{
    if (obj != NULL && val != NULL)
        imapi_object_set_new_nocheck(obj, key, val);
    else if (val != NULL)
        imapi_decref(val);
}

imap_node *imapi_dec_u64(uint64_t n)
{
    /* One JSON type per field (issue 10): a number, or null when it does
     * not fit a JSON integer (2^63-1, the largest RFC 7162 3.1.1
     * mod-sequence-value; nz-number stops at 2^32-1), not a string. */
    if (n > (uint64_t)INT64_MAX)
        return imapi_null();
    return imapi_integer((int64_t)n);
}

imap_node *imapi_dec_str(const imap_value *v)
{
    if (v == NULL)
        return NULL;
    switch (v->type) {
    case IV_NIL:
        return imapi_null();
    case IV_LIST:
        return imapi_value_to_json(v);
    case IV_LITERAL:
        if (v->lit == NULL || v->lit->kept == NULL || v->len < v->lit->size)
            return imapi_value_to_json(v);
        return imapi_json_bytes(v->s, v->len);
    case IV_ATOM:
        if (v->section != NULL)
            return imapi_json_bytes(v->raw, v->raw_len);
        return imapi_json_bytes(v->s, v->len);
    default:
        return imapi_json_bytes(v->s, v->len);
    }
}

void imapi_dec_add_name_value(imap_node *arr, const imap_value *key, imap_node *val)
{
    size_t len = 0;
    const char *k = imapi_value_text(key, &len, NULL);
    imap_node *o = imapi_object();
    imapi_dec_setl(o, "name", imapi_json_bytes(k != NULL ? k : "", k != NULL ? len : 0));
    imapi_dec_setl(o, "value", val != NULL ? val : imapi_null());
    imapi_array_append_new(arr, o);
}

static void flatten_into(imap_node *node, const char *child_key, int depth, imap_node *out)
{
    if (!imapi_is_object(node) || depth > IMAP_DEC_MAX_DEPTH)
        return;
    imap_node *kids = imapi_incref(imapi_object_get(node, child_key));
    imapi_object_del(node, child_key);
    imapi_object_set_new_nocheck(node, "depth", imapi_integer(depth));
    if (imapi_is_array(kids))
        imapi_object_set_new_nocheck(node, "nargs", imapi_integer((int64_t)imapi_array_size(kids)));
    imapi_array_append(out, node);
    size_t i;
    imap_node *k;
    imapi_array_foreach(kids, i, k)
        flatten_into(k, child_key, depth + 1, out);
    imapi_decref(kids);
}

imap_node *imapi_dec_flatten_tree(imap_node *tree, const char *child_key)
{
    if (!imapi_is_object(tree)) {
        imapi_decref(tree);
        return imapi_null();
    }
    imap_node *out = imapi_array();
    flatten_into(tree, child_key, 0, out);
    imapi_decref(tree);
    return out;
}

imap_node *imapi_dec_raw_list(const imap_value *list)
{
    imap_node *arr = imapi_array();
    if (list == NULL)
        return arr;
    const imap_value *c = list->type == IV_LIST ? list->child : list;
    for (; c != NULL; c = c->next) {
        if (c->raw != NULL) {
            imapi_array_append_new(arr, imapi_json_bytes(c->raw, c->raw_len));
        } else {
            size_t len = 0;
            const char *s = imapi_value_text(c, &len, NULL);
            imapi_array_append_new(arr, imapi_json_bytes(s != NULL ? s : "", s != NULL ? len : 0));
        }
    }
    return arr;
}

const char *imapi_dec_upper_text(const imap_value *v, char *buf, size_t cap)
{
    size_t len = 0;
    const char *s = imapi_value_text(v, &len, NULL);
    if (cap == 0)
        return buf;
    if (s == NULL)
        len = 0;
    if (len >= cap)
        len = cap - 1;
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)toupper((unsigned char)s[i]);
    buf[len] = '\0';
    return buf;
}

imap_node *imapi_dec_upper(const imap_value *v)
{
    if (v == NULL)
        return NULL;
    if (v->type != IV_ATOM)
        return imapi_dec_str(v);
    char buf[256];
    if (v->len >= sizeof(buf))
        return imapi_dec_str(v);
    imapi_dec_upper_text(v, buf, sizeof(buf));
    return imapi_json_bytes(buf, v->len);
}

imap_node *imapi_dec_str_list(const imap_value *list)
{
    imap_node *arr = imapi_array();
    if (arr == NULL || list == NULL || list->type != IV_LIST)
        return arr;
    for (const imap_value *c = list->child; c != NULL; c = c->next)
        imapi_array_append_new(arr, c->type == IV_LIST ? imapi_value_to_json(c) : imapi_dec_str(c));
    return arr;
}

int imapi_dec_parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (s == NULL || len == 0 || len > 20)
        return -1;
    uint64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (n > (UINT64_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    *out = n;
    return 0;
}

int imapi_dec_number(const imap_value *v, uint64_t *out)
{
    if (v == NULL)
        return -1;
    if (v->type == IV_NUMBER) {
        *out = v->num;
        return 0;
    }
    if (v->type == IV_ATOM || v->type == IV_QUOTED)
        return imapi_dec_parse_u64(v->s, v->len, out);
    return -1;
}

/* ---------------------------------------------------------- sequence set */

/* RFC 9051 9: sequence-set = (seq-number / seq-range) ["," sequence-set];
 * seq-range = seq-number ":" seq-number; seq-number = nz-number / "*". */
static int seq_number(const char **p, const char *end, uint64_t *out, bool *star)
{
    *star = false;
    if (*p < end && **p == '*') {
        (*p)++;
        *star = true;
        *out = UINT64_MAX;
        return 0;
    }
    const char *q = *p;
    while (q < end && *q >= '0' && *q <= '9')
        q++;
    if (q == *p || imapi_dec_parse_u64(*p, (size_t)(q - *p), out) != 0)
        return -1;
    *p = q;
    return 0;
}

/* The set object of text s..len (see imap_dec_util.h); NULL when obj is. */
static imap_node *set_object(imap_node *obj, const char *key, const char *s, size_t len)
{
    if (obj == NULL)
        return NULL;
    imap_node *so = imapi_object();
    imap_node *t = imapi_json_bytes(s, len);
    if (t != NULL)
        imapi_object_set_new_nocheck(so, "text", t);
    imapi_dec_set(obj, key, so);
    return so;
}

int imapi_dec_add_seqset_text(imap_node *obj, const char *key, const char *s, size_t len)
{
    imap_node *so = set_object(obj, key, s, len);
    if (len == 1 && s[0] == '$') {
        imapi_dec_setl(so, "searchres", imapi_true()); /* RFC 5182 2.1 */
        return 0;
    }
    const char *p = s, *end = s + len;
    imap_node *ranges = imapi_array();
    uint64_t count = 0;
    bool finite = true, overflow = false, star = false;
    size_t n = 0;
    if (len == 0)
        goto bad;
    while (p < end) {
        uint64_t a, b;
        bool sa, sb;
        if (seq_number(&p, end, &a, &sa) != 0)
            goto bad;
        b = a;
        sb = sa;
        if (p < end && *p == ':') {
            p++;
            if (seq_number(&p, end, &b, &sb) != 0)
                goto bad;
        }
        if (p < end) {
            if (*p != ',')
                goto bad;
            p++;
            if (p == end)
                goto bad;
        }
        if ((!sa && a == 0) || (!sb && b == 0))
            goto bad; /* nz-number */
        if (b < a) {
            uint64_t t = a; a = b; b = t;
            bool ts = sa; sa = sb; sb = ts;
        }
        if (sa || sb) {
            finite = false;
            star = true;
        } else {
            uint64_t c = b - a + 1;
            if (c == 0 || count > UINT64_MAX - c)
                overflow = true;
            else
                count += c;
        }
        if (n < SEQSET_MAX_RANGES) {
            imap_node *r = imapi_array();
            /* "*" (the largest number in use) is null in a range, and
             * <key>_star says the set has one: ranges stay numbers. */
            imapi_array_append_new(r, sa ? imapi_null() : imapi_dec_u64(a));
            imapi_array_append_new(r, sb ? imapi_null() : imapi_dec_u64(b));
            imapi_array_append_new(ranges, r);
        }
        n++;
    }
    if (finite && !overflow)
        imapi_dec_setl(so, "count", imapi_dec_u64(count));
    imapi_dec_setl(so, "ranges", ranges);
    if (n > SEQSET_MAX_RANGES)
        imapi_dec_setl(so, "ranges_total", imapi_integer((int64_t)n));
    if (star)
        imapi_dec_setl(so, "star", imapi_true());
    return 0;
bad:
    imapi_decref(ranges);
    return -1;
}

int imapi_dec_add_seqset(imap_node *obj, const char *key, const imap_value *v)
{
    if (v == NULL)
        return -1;
    if (v->type == IV_LIST || v->type == IV_NIL || v->type == IV_LITERAL) {
        /* not a sequence set: its wire text only (one shape, issue 10) */
        if (v->raw != NULL)
            set_object(obj, key, v->raw, v->raw_len);
        else
            set_object(obj, key, "", 0);
        return -1;
    }
    return imapi_dec_add_seqset_text(obj, key, v->s, v->len);
}

/* ----------------------------------------------------------------- dates */

static const char *const month_names[12] = {
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"
};

static int month_of(const char *s, size_t len)
{
    if (len != 3)
        return -1;
    for (int i = 0; i < 12; i++)
        if (strncasecmp(s, month_names[i], 3) == 0)
            return i + 1;
    return -1;
}

typedef struct date_cur {
    const char *p, *end;
} date_cur;

static void dc_skip_ws(date_cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
}

static int dc_digits(date_cur *c, size_t min, size_t max, int *out)
{
    size_t n = 0;
    int v = 0;
    while (c->p < c->end && n < max && *c->p >= '0' && *c->p <= '9') {
        v = v * 10 + (*c->p - '0');
        c->p++;
        n++;
    }
    if (n < min)
        return -1;
    *out = v;
    return 0;
}

static int dc_char(date_cur *c, char ch)
{
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 0;
    }
    return -1;
}

/* Zone: RFC 9051 zone ("+"/"-" 4DIGIT) or RFC 5322 4.3 obs-zone names. */
static int dc_zone(date_cur *c, int *minutes)
{
    dc_skip_ws(c);
    if (c->p < c->end && (*c->p == '+' || *c->p == '-')) {
        int sign = *c->p == '-' ? -1 : 1;
        c->p++;
        int z;
        const char *st = c->p;
        if (dc_digits(c, 4, 4, &z) != 0 || c->p - st != 4)
            return -1;
        if (z % 100 > 59)
            return -1;
        *minutes = sign * ((z / 100) * 60 + z % 100);
        return 0;
    }
    static const struct { const char *n; int h; } zones[] = {
        { "UT", 0 }, { "GMT", 0 }, { "Z", 0 }, { "UTC", 0 },
        { "EST", -5 }, { "EDT", -4 }, { "CST", -6 }, { "CDT", -5 },
        { "MST", -7 }, { "MDT", -6 }, { "PST", -8 }, { "PDT", -7 },
    };
    const char *st = c->p;
    while (c->p < c->end && isalpha((unsigned char)*c->p))
        c->p++;
    size_t n = (size_t)(c->p - st);
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        if (strlen(zones[i].n) == n && strncasecmp(st, zones[i].n, n) == 0) {
            *minutes = zones[i].h * 60;
            return 0;
        }
    }
    return -1;
}

static bool valid_day(int y, int m, int d)
{
    static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return false;
    return true;
}

static int format_iso(char *out, size_t cap, int y, int mo, int d, bool has_time,
                      int h, int mi, int s, int zone)
{
    if (!valid_day(y, mo, d) || y < 0 || y > 9999)
        return -1;
    int n;
    if (!has_time) {
        n = snprintf(out, cap, "%04d-%02d-%02d", y, mo, d);
    } else {
        if (h > 23 || mi > 59 || s > 60)
            return -1;
        int az = zone < 0 ? -zone : zone;
        n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y, mo, d, h, mi, s,
                     zone < 0 ? '-' : '+', az / 60, az % 60);
    }
    return (n > 0 && (size_t)n < cap) ? 0 : -1;
}

/* Accepts:
 *   RFC 9051 date-time: date-day-fixed "-" date-month "-" date-year SP time SP zone
 *   RFC 9051 date:      date-day "-" date-month "-" date-year
 *   RFC 5322 3.3:       [day-of-week ","] day month year hour ":" minute [":" second] zone [CFWS] */
int imapi_dec_date_iso(const char *s, size_t len, char *out, size_t cap)
{
    date_cur c = { s, s + len };
    int d, mo, y, h = 0, mi = 0, sec = 0, zone = 0;
    dc_skip_ws(&c);
    if (c.p < c.end && isalpha((unsigned char)*c.p)) {   /* day-of-week */
        const char *st = c.p;
        while (c.p < c.end && isalpha((unsigned char)*c.p))
            c.p++;
        if (c.p - st != 3)
            return -1;
        dc_skip_ws(&c);
        if (dc_char(&c, ',') != 0)
            return -1;
        dc_skip_ws(&c);
    }
    if (dc_digits(&c, 1, 2, &d) != 0)
        return -1;
    bool imap_form = c.p < c.end && *c.p == '-';
    if (imap_form)
        c.p++;
    else
        dc_skip_ws(&c);
    const char *ms = c.p;
    while (c.p < c.end && isalpha((unsigned char)*c.p))
        c.p++;
    mo = month_of(ms, (size_t)(c.p - ms));
    if (mo < 0)
        return -1;
    if (imap_form) {
        if (dc_char(&c, '-') != 0)
            return -1;
    } else {
        dc_skip_ws(&c);
    }
    const char *ys = c.p;
    if (dc_digits(&c, 2, 4, &y) != 0)
        return -1;
    if (c.p - ys == 2)                 /* RFC 5322 4.3 obs-year */
        y += y < 50 ? 2000 : 1900;
    else if (c.p - ys == 3)
        y += 1900;
    dc_skip_ws(&c);
    if (c.p >= c.end)
        return format_iso(out, cap, y, mo, d, false, 0, 0, 0, 0);
    if (dc_digits(&c, 2, 2, &h) != 0 || dc_char(&c, ':') != 0 || dc_digits(&c, 2, 2, &mi) != 0)
        return -1;
    if (c.p < c.end && *c.p == ':') {
        c.p++;
        if (dc_digits(&c, 2, 2, &sec) != 0)
            return -1;
    }
    if (dc_zone(&c, &zone) != 0)
        return -1;
    dc_skip_ws(&c);
    if (c.p < c.end && *c.p != '(')   /* only a comment may follow */
        return -1;
    return format_iso(out, cap, y, mo, d, true, h, mi, sec, zone);
}

void imapi_dec_add_date(imap_node *obj, const char *key, const imap_value *v)
{
    if (v == NULL)
        return;
    if (v->type != IV_NIL && v->type != IV_LIST) {
        size_t len = 0;
        const char *s = imapi_value_text(v, &len, NULL);
        char iso[40];
        if (imapi_dec_date_iso(s, len, iso, sizeof(iso)) == 0) {
            imapi_dec_set(obj, key, imapi_string(iso));
            return;
        }
    }
    /* not a date it can read: the wire text (one field, issue 10) */
    imapi_dec_set(obj, key, imapi_dec_str(v));
}

/* ---------------------------------------------------------------- RFC 2047 */

/* Decodes one encoded-text into out (room for 2*len bytes: Latin-1 doubles).
 * RFC 2047 4.1 (B: base64) and 4.2 (Q: "_" is space, =XX hex). */
static int ew_decode(char enc, bool latin1, const char *t, size_t len, char *out, size_t *olen)
{
    unsigned char tmp[1024];
    size_t n = 0;
    if (len > sizeof(tmp))
        return -1;
    if (enc == 'Q') {
        for (size_t i = 0; i < len; i++) {
            if (t[i] == '_') {
                tmp[n++] = ' ';
            } else if (t[i] == '=' && i + 2 < len + 0 && imapi_hex_value(t[i + 1]) >= 0 && imapi_hex_value(t[i + 2]) >= 0) {
                tmp[n++] = (unsigned char)(imapi_hex_value(t[i + 1]) * 16 + imapi_hex_value(t[i + 2]));
                i += 2;
            } else if (t[i] == '=') {
                return -1;
            } else {
                tmp[n++] = (unsigned char)t[i];
            }
        }
    } else {
        uint32_t acc = 0;
        int bits = 0;
        for (size_t i = 0; i < len; i++) {
            if (t[i] == '=')
                break;
            int v = imapi_base64_value((unsigned char)t[i]);
            if (v < 0)
                return -1;
            acc = (acc << 6) | (uint32_t)v;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                tmp[n++] = (unsigned char)(acc >> bits);
            }
        }
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (latin1 && tmp[i] >= 0x80) {
            out[o++] = (char)(0xC0 | (tmp[i] >> 6));
            out[o++] = (char)(0x80 | (tmp[i] & 0x3F));
        } else {
            out[o++] = (char)tmp[i];
        }
    }
    *olen = o;
    return 0;
}

imap_node *imapi_dec_rfc2047(const char *s, size_t len)
{
    if (s == NULL || len < 8 || len > 65536)
        return NULL;
    char *out = malloc(len * 2 + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0, i = 0;
    bool any = false, prev_ew = false;
    size_t pending_ws_start = 0, pending_ws_len = 0;
    while (i < len) {
        if (s[i] == '=' && i + 1 < len && s[i + 1] == '?') {
            /* =?charset?enc?text?= */
            size_t cs = i + 2, q1 = cs;
            while (q1 < len && s[q1] != '?')
                q1++;
            if (q1 + 3 < len && s[q1 + 2] == '?') {
                char enc = (char)toupper((unsigned char)s[q1 + 1]);
                size_t ts = q1 + 3, te = ts;
                while (te + 1 < len && !(s[te] == '?' && s[te + 1] == '='))
                    te++;
                if (te + 1 < len && (enc == 'Q' || enc == 'B')) {
                    size_t cslen = q1 - cs;
                    const char *star = memchr(s + cs, '*', cslen); /* RFC 2231 language */
                    if (star != NULL)
                        cslen = (size_t)(star - (s + cs));
                    bool utf8 = (cslen == 5 && strncasecmp(s + cs, "utf-8", 5) == 0) ||
                                (cslen == 8 && strncasecmp(s + cs, "us-ascii", 8) == 0);
                    bool latin1 = (cslen == 10 && strncasecmp(s + cs, "iso-8859-1", 10) == 0) ||
                                  (cslen == 6 && strncasecmp(s + cs, "latin1", 6) == 0);
                    if (!utf8 && !latin1) {
                        free(out);
                        return NULL;
                    }
                    size_t dl = 0;
                    if (ew_decode(enc, latin1, s + ts, te - ts, out + o, &dl) != 0) {
                        free(out);
                        return NULL;
                    }
                    /* RFC 2047 6.2: whitespace between encoded words is dropped */
                    if (!prev_ew && pending_ws_len > 0) {
                        memmove(out + o + pending_ws_len, out + o, dl);
                        memcpy(out + o, s + pending_ws_start, pending_ws_len);
                        o += pending_ws_len;
                    }
                    o += dl;
                    pending_ws_len = 0;
                    prev_ew = true;
                    any = true;
                    i = te + 2;
                    continue;
                }
            }
        }
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
            if (pending_ws_len == 0)
                pending_ws_start = i;
            pending_ws_len++;
            i++;
            continue;
        }
        if (pending_ws_len > 0) {
            memcpy(out + o, s + pending_ws_start, pending_ws_len);
            o += pending_ws_len;
            pending_ws_len = 0;
        }
        prev_ew = false;
        out[o++] = s[i++];
    }
    if (pending_ws_len > 0) {
        memcpy(out + o, s + pending_ws_start, pending_ws_len);
        o += pending_ws_len;
    }
    imap_node *j = any ? imapi_json_bytes(out, o) : NULL;
    free(out);
    return j;
}
