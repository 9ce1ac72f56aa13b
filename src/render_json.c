/*
 * render_json.c - the JSON renderer (render_json.h): events written as
 * JSON lines straight into the output buffer (sink.h), from jansson
 * trees (alerts, tls, stats, the program's members of imap_session) and
 * from the dissector's value trees (imap_node: transactions, session
 * summaries), with the same bytes for the same values.
 *
 * The serialiser is our own rather than json_dumpb(): json_dumpb needs
 * a second pass when its buffer is short, allocates a loop-detection table
 * per container, and fails the whole event on one invalid UTF-8 string; ours
 * writes once, bounds depth (OUT_MAX_DEPTH) and size (OUT_MAX_EVENT_BYTES),
 * and repairs invalid UTF-8.  Its output is byte-identical to
 * json_dumps(v, JSON_COMPACT) for valid input (tests/unit/test_output.c
 * checks it).
 */
#include "render_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_node.h"
#include "limits.h"
#include "node_json.h"
#include "render_ecs.h"
#include "sink.h"

/* Zero-padded decimal of exactly width digits (v < 10^width). */
void fmt_dec(char *dst, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        dst[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

/* Civil date from days since 1970-01-01 (proleptic Gregorian; Howard
 * Hinnant's civil_from_days, exact for every day, leap years included). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);                           /* [0, 146096] */
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  /* [0, 399] */
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                /* [0, 365] */
    const unsigned mp = (5 * doy + 2) / 153;                                     /* [0, 11] */
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* 253402300799 = 9999-12-31T23:59:59Z, the last second RFC 3339 can write. */
#define OUT_MAX_TS_US (253402300799ull * 1000000ull + 999999ull)

/* "YYYY-MM-DDTHH:MM:SS" (19 characters) of a second since the epoch. */
static void fmt_date_time(int64_t sec, char dst[19])
{
    int64_t y;
    unsigned m, d;
    civil_from_days(sec / 86400, &y, &m, &d);
    unsigned tod = (unsigned)(sec % 86400);
    fmt_dec(dst, (unsigned)y, 4);
    dst[4] = '-';
    fmt_dec(dst + 5, m, 2);
    dst[7] = '-';
    fmt_dec(dst + 8, d, 2);
    dst[10] = 'T';
    fmt_dec(dst + 11, tod / 3600, 2);
    dst[13] = ':';
    fmt_dec(dst + 14, tod / 60 % 60, 2);
    dst[16] = ':';
    fmt_dec(dst + 17, tod % 60, 2);
}

size_t output_format_rfc3339(uint64_t ts_us, char buf[28])
{
    if (ts_us > OUT_MAX_TS_US)
        ts_us = OUT_MAX_TS_US;
    fmt_date_time((int64_t)(ts_us / 1000000), buf);
    buf[19] = '.';
    fmt_dec(buf + 20, (unsigned)(ts_us % 1000000), 6);
    buf[26] = 'Z';
    buf[27] = '\0';
    return 27;
}

/* The same into the buffer, with the date part cached per second. */
void put_rfc3339(output *o, uint64_t ts_us)
{
    if (ts_us > OUT_MAX_TS_US)
        ts_us = OUT_MAX_TS_US;
    int64_t sec = (int64_t)(ts_us / 1000000);
    if (sec != o->ts_cache_sec) {
        fmt_date_time(sec, o->ts_cache);
        o->ts_cache_sec = sec;
    }
    char tail[8];
    tail[0] = '.';
    fmt_dec(tail + 1, (unsigned)(ts_us % 1000000), 6);
    tail[7] = 'Z';
    put(o, o->ts_cache, 19);
    put(o, tail, 8);
}

/* ------------------------------------------------------------------ */
/* UTF-8 and JSON                                                      */
/* ------------------------------------------------------------------ */

static const char hexdig[] = "0123456789ABCDEF";

/* Bytes a JSON string holds as they are: printable ASCII but '"' and '\\'. */
static const bool json_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* A JSON string (RFC 8259 7) with jansson's escapes: \" \\ \b \f \n \r \t,
 * other controls as \u00XX (upper-case hex).  Invalid UTF-8 bytes become
 * U+FFFD one by one. */
void put_json_string(output *o, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    bool repaired = false;
    /* Fast path: room for the worst case (every byte a \u00XX escape, or
     * U+FFFD for an invalid byte: at most 6 bytes out per byte in) is made
     * once, then bytes are written without a check each. */
    if (!o->overflow && n < OUT_MAX_EVENT_BYTES / 6 &&
        o->len - o->ev_start <= OUT_MAX_EVENT_BYTES - (6 * n + 2) && buf_reserve(o, 6 * n + 2)) {
        char *w = o->buf + o->len;
        *w++ = '"';
        while (p < end) {
            /* a run of bytes written as they are, copied at once */
            const unsigned char *run = p;
            while (p < end && json_plain[*p])
                p++;
            if (p > run) {
                memcpy(w, run, (size_t)(p - run));
                w += p - run;
                if (p == end)
                    break;
            }
            unsigned char c = *p;
            if (c >= 0x80) {
                uint32_t cp;
                size_t k = imapi_utf8_seq(p, end, &cp);
                if (k) {
                    memcpy(w, p, k);
                    w += k;
                    p += k;
                } else {
                    memcpy(w, "\xEF\xBF\xBD", 3);
                    w += 3;
                    repaired = true;
                    p++;
                }
                continue;
            }
            p++;
            *w++ = '\\';
            switch (c) {
            case '"': *w++ = '"'; break;
            case '\\': *w++ = '\\'; break;
            case '\b': *w++ = 'b'; break;
            case '\f': *w++ = 'f'; break;
            case '\n': *w++ = 'n'; break;
            case '\r': *w++ = 'r'; break;
            case '\t': *w++ = 't'; break;
            default:
                *w++ = 'u', *w++ = '0', *w++ = '0';
                *w++ = hexdig[c >> 4], *w++ = hexdig[c & 15];
            }
        }
        *w++ = '"';
        o->len = (size_t)(w - o->buf);
        if (repaired)
            o->ctr.utf8_repairs++;
        return;
    }
    put_ch(o, '"');
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && json_plain[*p])
            p++;
        if (p > run)
            put(o, (const char *)run, (size_t)(p - run));
        if (p >= end)
            break;
        unsigned char c = *p;
        if (c >= 0x80) {
            uint32_t cp;
            size_t k = imapi_utf8_seq(p, end, &cp);
            if (k) {
                put(o, (const char *)p, k);
                p += k;
            } else {
                put(o, "\xEF\xBF\xBD", 3);
                repaired = true;
                p++;
            }
            continue;
        }
        p++;
        switch (c) {
        case '"': put(o, "\\\"", 2); break;
        case '\\': put(o, "\\\\", 2); break;
        case '\b': put(o, "\\b", 2); break;
        case '\f': put(o, "\\f", 2); break;
        case '\n': put(o, "\\n", 2); break;
        case '\r': put(o, "\\r", 2); break;
        case '\t': put(o, "\\t", 2); break;
        default: {
            char e[6] = {'\\', 'u', '0', '0', hexdig[c >> 4], hexdig[c & 15]};
            put(o, e, 6);
        }
        }
    }
    put_ch(o, '"');
    if (repaired)
        o->ctr.utf8_repairs++;
}

void put_json_cstr(output *o, const char *s) { put_json_string(o, s, strlen(s)); }

/* An object member's key with its separators: [","] "key" ":".  Keys are
 * short and plain (the dissector's names): one reservation and one copy;
 * anything else goes through put_json_string. */
void put_json_key(output *o, const char *k, size_t n, bool first)
{
    size_t i = 0;
    while (i < n && json_plain[(unsigned char)k[i]])
        i++;
    if (i == n && n < 256 && !o->overflow && o->len - o->ev_start <= OUT_MAX_EVENT_BYTES - (n + 4) &&
        buf_reserve(o, n + 4)) {
        char *w = o->buf + o->len;
        if (!first)
            *w++ = ',';
        *w++ = '"';
        memcpy(w, k, n);
        w += n;
        *w++ = '"';
        *w++ = ':';
        o->len = (size_t)(w - o->buf);
        return;
    }
    if (!first)
        put_ch(o, ',');
    put_json_string(o, k, n);
    put_ch(o, ':');
}

/* A real as jansson 2.14 writes it (jsonp_dtostr, precision 17): "%.17g",
 * ".0" added when it looks like an integer, exponent without '+' or
 * leading zeros.  Not finite (cannot come from jansson): null. */
static void put_json_real(output *o, double d)
{
    if (!isfinite(d)) {
        put(o, "null", 4);
        return;
    }
    char b[64];
    int n = snprintf(b, sizeof b - 3, "%.17g", d);
    if (n <= 0 || (size_t)n >= sizeof b - 3) {
        put(o, "null", 4);
        return;
    }
    for (int i = 0; i < n; i++)
        if (b[i] == ',') /* a locale's decimal comma */
            b[i] = '.';
    if (!strpbrk(b, ".eE")) {
        b[n++] = '.';
        b[n++] = '0';
        b[n] = '\0';
    }
    char *e = strchr(b, 'e');
    if (e) {
        char *start = e + 1, *q;
        if (*start == '-')
            start++;
        q = start;
        if (*q == '+')
            q++;
        while (*q == '0' && q[1])
            q++;
        memmove(start, q, strlen(q) + 1);
        n = (int)strlen(b);
    }
    put(o, b, (size_t)n);
}

void put_json_value(output *o, const json_t *v, int depth)
{
    if (!v || depth > OUT_MAX_DEPTH) {
        put(o, "null", 4);
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        put_ch(o, '{');
        bool first = true;
        json_t *obj = (json_t *)v; /* jansson's iterators take non-const; nothing is changed */
        for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
            if (o->overflow)
                return;
            put_json_key(o, json_object_iter_key(it), json_object_iter_key_len(it), first);
            first = false;
            put_json_value(o, json_object_iter_value(it), depth + 1);
        }
        put_ch(o, '}');
        break;
    }
    case JSON_ARRAY: {
        put_ch(o, '[');
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n && !o->overflow; i++) {
            if (i)
                put_ch(o, ',');
            put_json_value(o, json_array_get(v, i), depth + 1);
        }
        put_ch(o, ']');
        break;
    }
    case JSON_STRING: put_json_string(o, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: put_i64(o, (int64_t)json_integer_value(v)); break;
    case JSON_REAL: put_json_real(o, json_real_value(v)); break;
    case JSON_TRUE: put(o, "true", 4); break;
    case JSON_FALSE: put(o, "false", 5); break;
    default: put(o, "null", 4); break;
    }
}

char *output_json_dump(const json_t *v)
{
    output tmp;
    memset(&tmp, 0, sizeof tmp);
    put_json_value(&tmp, v, 0);
    put_ch(&tmp, '\0');
    if (tmp.overflow) {
        free(tmp.buf);
        return NULL;
    }
    return tmp.buf;
}

/* ---- --annotate: one "annotations" array per event --------------------- */

/* The annotations an event shows (docs/output.md, "Annotations"): each
 * distinct (kind, name) once, in first-seen order, collected while the
 * body is written and appended as its last member,
 * "annotations": [{"kind", "name", "rfc", "meaning"}].  Names point into
 * the event's own strings (valid until the event is written).  Past
 * OUT_MAX_ANNOTATIONS distinct names (the table has at most IMAP_ANNOT_MAX
 * entries, but prefix entries such as AUTH= answer for any suffix) the
 * rest are counted in "annotations_dropped". */
typedef struct ann_set {
    struct {
        const imap_annot *a;
        const char *name;
        size_t len;
    } e[OUT_MAX_ANNOTATIONS];
    size_t n;
    uint64_t dropped;
} ann_set;

/* Adds (kind, name) when the table has it and the set does not (names
 * compare without case: the table's lookup does). */
static void ann_add(ann_set *set, imap_annot_kind kind, const char *name, size_t len)
{
    if (!set || !name)
        return;
    const imap_annot *a = imap_annot_lookup(kind, name, len);
    if (!a)
        return;
    for (size_t i = 0; i < set->n; i++)
        if (set->e[i].a == a && set->e[i].len == len && strncasecmp(set->e[i].name, name, len) == 0)
            return;
    if (set->n == OUT_MAX_ANNOTATIONS) {
        set->dropped++;
        return;
    }
    set->e[set->n].a = a;
    set->e[set->n].name = name;
    set->e[set->n].len = len;
    set->n++;
}

/* [","] "annotations":[...] (nothing when the set is empty, or when
 * --exclude-fields names it: type is the event type's index there, or
 * -1). */
static void put_ann_set(output *o, const ann_set *set, bool first, int type)
{
    if (!set->n || (type >= 0 && out_excluded(o, type, "annotations", 11)))
        return;
    put_json_key(o, "annotations", 11, first);
    put_ch(o, '[');
    for (size_t i = 0; i < set->n && !o->overflow; i++) {
        const imap_annot *a = set->e[i].a;
        if (i)
            put_ch(o, ',');
        put(o, "{\"kind\":", 8);
        put_json_cstr(o, imap_annot_kind_name(a->kind));
        put(o, ",\"name\":", 8);
        put_json_string(o, set->e[i].name, set->e[i].len);
        put(o, ",\"rfc\":", 7);
        put_json_cstr(o, a->rfc);
        put(o, ",\"meaning\":", 11);
        put_json_cstr(o, a->meaning);
        put_ch(o, '}');
    }
    put_ch(o, ']');
    if (set->dropped) {
        put_json_key(o, "annotations_dropped", 19, false);
        put_u64(o, set->dropped);
    }
}

/* The kind of the items held by member key (its object value, or the
 * elements of its array) and the member that names each: a response code
 * ("response_code", "code": its "code"), a capability (elements of
 * "capabilities", "capabilities_before_tls": their "name", or the string
 * itself), an untagged status response (elements of "responses": their
 * "type").  One rule for both writers. */
static bool ann_container(const char *key, imap_annot_kind *kind, const char **field)
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

/* A string member "command" (a command name) or "status" (a status
 * response when the table has it: OK NO BAD PREAUTH BYE) of any object. */
static void ann_member(ann_set *set, const char *k, const char *v, size_t vl)
{
    if (strcmp(k, "command") == 0)
        ann_add(set, IMAP_ANNOT_COMMAND, v, vl);
    else if (strcmp(k, "status") == 0)
        ann_add(set, IMAP_ANNOT_STATUS, v, vl);
}

/* --annotate applies to the events that show commands, statuses, codes
 * and capabilities: imap and imap_session. */
static bool annotated(const output *o, const char *event_type)
{
    return o->annotate && (strcmp(event_type, "imap") == 0 || strcmp(event_type, "imap_session") == 0);
}

/* put_json_value, collecting the annotations of v into set; key: the
 * member name that holds v (arrays pass theirs to their elements); at
 * depth 0 (an event body) "annotations" is written as the last member. */
static void put_json_ann(output *o, const json_t *v, int depth, const char *key, ann_set *set)
{
    imap_annot_kind ak;
    const char *field;
    if (json_is_string(v) && key && ann_container(key, &ak, &field) && ak == IMAP_ANNOT_CAPABILITY)
        ann_add(set, ak, json_string_value(v), json_string_length(v));
    if (!v || depth > OUT_MAX_DEPTH || !(json_is_object(v) || json_is_array(v))) {
        put_json_value(o, v, depth);
        return;
    }
    if (json_is_array(v)) {
        put_ch(o, '[');
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n && !o->overflow; i++) {
            if (i)
                put_ch(o, ',');
            put_json_ann(o, json_array_get(v, i), depth + 1, key, set);
        }
        put_ch(o, ']');
        return;
    }
    if (key && ann_container(key, &ak, &field)) {
        const json_t *f = json_object_get(v, field);
        if (json_is_string(f))
            ann_add(set, ak, json_string_value(f), json_string_length(f));
    }
    put_ch(o, '{');
    bool first = true;
    json_t *obj = (json_t *)v; /* iterators take non-const; nothing is changed */
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        if (o->overflow)
            return;
        const char *k = json_object_iter_key(it);
        const json_t *x = json_object_iter_value(it);
        put_json_key(o, k, json_object_iter_key_len(it), first);
        first = false;
        if (json_is_string(x))
            ann_member(set, k, json_string_value(x), json_string_length(x));
        put_json_ann(o, x, depth + 1, k, set);
    }
    if (depth == 0)
        put_ann_set(o, set, first, o->env.skip_type);
    put_ch(o, '}');
}

void json_event_head(output *o, const char *event_type, uint64_t ts_us, const out_flow *flow)
{
    put(o, "{\"timestamp\":\"", 14);
    put_rfc3339(o, ts_us);
    put(o, "\",\"event_type\":", 15);
    put_json_cstr(o, event_type);
    if (flow) {
        put(o, ",\"flow_id\":", 11);
        put_u64(o, flow->flow_id);
        if (flow->community_id) {
            put(o, ",\"community_id\":", 16);
            put_json_cstr(o, flow->community_id);
        }
        put(o, ",\"src_ip\":", 10);
        put_json_cstr(o, flow->src_ip ? flow->src_ip : "");
        put(o, ",\"src_port\":", 12);
        put_u64(o, flow->src_port);
        put(o, ",\"dest_ip\":", 11);
        put_json_cstr(o, flow->dest_ip ? flow->dest_ip : "");
        put(o, ",\"dest_port\":", 13);
        put_u64(o, flow->dest_port);
        /* EVE-style (issue 14): the transport, and the application
         * protocol once the connection is known to be IMAP */
        put(o, ",\"proto\":\"TCP\"", 14);
        if (flow->app_proto) {
            put(o, ",\"app_proto\":", 13);
            put_json_cstr(o, flow->app_proto);
        }
    }
    if (o->env.host) {
        put(o, ",\"host\":", 8);
        put_json_cstr(o, o->env.host);
    }
    if (flow && o->env.pcap_cnt) {
        put(o, ",\"pcap_cnt\":", 12);
        put_u64(o, o->env.pcap_cnt);
    }
    if (o->env.pcap_filename) {
        put(o, ",\"pcap_filename\":", 17);
        put_json_cstr(o, o->env.pcap_filename);
    }
}

void json_event(output *o, const char *event_type, uint64_t ts_us, const out_flow *flow, const json_t *body)
{
    json_event_head(o, event_type, ts_us, flow);
    if (body) {
        put_ch(o, ',');
        put_json_cstr(o, event_type);
        put_ch(o, ':');
        if (annotated(o, event_type)) {
            ann_set set;
            set.n = 0;
            set.dropped = 0;
            o->env.skip_type = o->env.n_excl ? out_type_index(event_type) : -1;
            put_json_ann(o, body, 0, NULL, &set);
            o->env.skip_type = -1;
        } else {
            put_json_value(o, body, 0);
        }
    }
    put(o, "}\n", 2);
}


/* ------------------------------------------------------------------ */
/* The dissector's value trees                                         */
/* ------------------------------------------------------------------ */

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
    case IMAP_NODE_OBJECT: {
        put_ch(o, '{');
        bool first = true;
        for (uint32_t i = 0; i < v->len; i++) {
            if (o->overflow)
                return;
            const imapi_pair *p = &v->u.pairs[i];
            if (depth == 0 && o->env.skip_type >= 0 && out_excluded(o, o->env.skip_type, p->key, p->klen))
                continue; /* --exclude-fields */
            put_json_key(o, p->key, p->klen, first);
            first = false;
            put_node_value(o, p->value, depth + 1);
        }
        put_ch(o, '}');
        break;
    }
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

/* put_node_value, collecting the annotations of v into set (the rules of
 * put_json_ann); depth 0 is the event body: --exclude-fields applies, and
 * "annotations" is its last member. */
static void put_node_ann(output *o, const imap_node *v, int depth, const char *key, ann_set *set)
{
    imap_node_kind kind = imap_node_kind_of(v);
    imap_annot_kind ak;
    const char *field;
    if (kind == IMAP_NODE_STRING && key && ann_container(key, &ak, &field) && ak == IMAP_ANNOT_CAPABILITY) {
        size_t len;
        const char *s = imap_node_str(v, &len);
        ann_add(set, ak, s, len);
    }
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
            put_node_ann(o, imap_node_at(v, i), depth + 1, key, set);
        }
        put_ch(o, ']');
        return;
    }
    if (key && ann_container(key, &ak, &field)) {
        size_t len;
        const char *s = imap_node_str(imap_node_get(v, field), &len);
        ann_add(set, ak, s, len);
    }
    put_ch(o, '{');
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (o->overflow)
            return;
        size_t kl;
        const char *k = imap_node_key_at(v, i, &kl);
        if (depth == 0 && o->env.skip_type >= 0 && out_excluded(o, o->env.skip_type, k, kl))
            continue; /* --exclude-fields */
        const imap_node *x = imap_node_at(v, i);
        put_json_key(o, k, kl, first);
        first = false;
        size_t xl;
        const char *xs = imap_node_str(x, &xl);
        if (xs)
            ann_member(set, k, xs, xl);
        put_node_ann(o, x, depth + 1, k, set);
    }
    if (depth == 0)
        put_ann_set(o, set, first, o->env.skip_type);
    put_ch(o, '}');
}

void output_event_node(output *o, const char *event_type, uint64_t ts_us, const out_flow *flow,
                       const imap_node *body, const char *flag)
{
    if (!o || !event_type || o->broken || !output_wants_type(o, event_type)) {
        if (o && o->broken)
            o->ctr.events++;
        return;
    }
    if (o->fmt == OUT_ECS) {
        json_t *b = body ? node_to_json(body) : NULL;
        if (json_is_object(b)) {
            out_exclude_json(o, event_type, b);
            if (flag && !json_object_get(b, flag))
                json_object_set_new(b, flag, json_true());
        }
        ecs_event(o, event_type, ts_us, flow, b);
        json_decref(b);
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
        o->env.skip_type = o->env.n_excl ? out_type_index(event_type) : -1;
        if (annotated(o, event_type)) {
            ann_set set;
            set.n = 0;
            set.dropped = 0;
            put_node_ann(o, body, 0, NULL, &set);
        } else {
            put_node_value(o, body, 0);
        }
        o->env.skip_type = -1;
        if (flag && !o->overflow && imap_node_kind_of(body) == IMAP_NODE_OBJECT && !imap_node_get(body, flag)) {
            /* a member the program adds at the end ("decrypted": true) */
            o->len--; /* the closing brace */
            put_json_key(o, flag, strlen(flag), o->buf[o->len - 1] == '{');
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
    bool ann = annotated(o, event_type);
    ann_set set;
    set.n = 0;
    set.dropped = 0;
    event_begin(o);
    json_event_head(o, event_type, ts_us, flow);
    put_ch(o, ',');
    put_json_cstr(o, event_type);
    put(o, ":{", 2);
    bool first = true;
    int t = o->env.n_excl ? out_type_index(event_type) : -1;
    size_t n = imap_node_kind_of(body) == IMAP_NODE_OBJECT ? imap_node_size(body) : 0;
    for (size_t i = 0; i < n && !o->overflow; i++) {
        size_t kl;
        const char *k = imap_node_key_at(body, i, &kl);
        if (t >= 0 && out_excluded(o, t, k, kl))
            continue; /* --exclude-fields */
        const json_t *over = json_object_get(extra, k);
        put_json_key(o, k, kl, first);
        first = false;
        if (over) {
            if (ann) {
                if (json_is_string(over))
                    ann_member(&set, k, json_string_value(over), json_string_length(over));
                put_json_ann(o, over, 1, k, &set);
            } else {
                put_json_value(o, over, 1);
            }
        } else if (ann) {
            size_t xl;
            const char *xs = imap_node_str(imap_node_at(body, i), &xl);
            if (xs)
                ann_member(&set, k, xs, xl);
            put_node_ann(o, imap_node_at(body, i), 1, k, &set);
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
        if (t >= 0 && out_excluded(o, t, k, strlen(k)))
            continue;
        put_json_key(o, k, strlen(k), first);
        first = false;
        if (ann) {
            if (json_is_string(v))
                ann_member(&set, k, json_string_value(v), json_string_length(v));
            put_json_ann(o, v, 1, k, &set);
        } else {
            put_json_value(o, v, 1);
        }
    }
    if (ann)
        put_ann_set(o, &set, first, t);
    put(o, "}}\n", 3);
    event_end(o);
}
