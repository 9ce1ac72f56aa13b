/*
 * render_text.c - the annotated text trace (render_text.h; its format is
 * described in output.h and docs/output.md, "The text trace"): one line
 * per IMAP line from the dissector's typed line events, and a line (or a
 * table) per connection header, alert, TLS handshake, session end and the
 * final stats.
 */
#include "render_text_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap.h"
#include "limits.h"
#include "render_json.h"
#include "sink.h"

static const char hexdig[] = "0123456789ABCDEF";

/* ------------------------------------------------------------------ */
/* The text trace                                                      */
/* ------------------------------------------------------------------ */

#define C_RESET  "\033[0m"
#define C_BOLD   "\033[1m"
#define C_DIM    "\033[2m"
#define C_RED    "\033[31m"
#define C_GREEN  "\033[32m"
#define C_YELLOW "\033[33m"
#define C_MAGENTA "\033[35m"
#define C_CYAN   "\033[36m"

static void put_color(output *o, const char *code)
{
    if (o->color)
        put_str(o, code);
}

/* "HH:MM:SS.uuuuuu " (UTC time of day). */
static void put_time_of_day(output *o, uint64_t ts_us)
{
    char b[16];
    unsigned tod = (unsigned)(ts_us / 1000000 % 86400);
    fmt_dec(b, tod / 3600, 2);
    b[2] = ':';
    fmt_dec(b + 3, tod / 60 % 60, 2);
    b[5] = ':';
    fmt_dec(b + 6, tod % 60, 2);
    b[8] = '.';
    fmt_dec(b + 9, (unsigned)(ts_us % 1000000), 6);
    b[15] = ' ';
    put(o, b, 16);
}


/* Unicode characters that are invisible or reorder what is shown around
 * them: general category Cf (format: bidi embeddings and overrides
 * U+202A-202E, isolates U+2066-2069, marks U+200E/U+200F/U+061C,
 * zero-width U+200B-200D, U+2060, U+FEFF, tags U+E0020-E007F, ...; the
 * list of Unicode 15) and the line and paragraph separators U+2028/U+2029
 * (Zl, Zp).  A trace shows them escaped so text cannot hide or reorder
 * itself ("Trojan Source", CVE-2021-42574). */
static bool unicode_format_char(uint32_t cp)
{
    static const uint32_t ranges[][2] = {
        {0x00AD, 0x00AD}, {0x0600, 0x0605}, {0x061C, 0x061C}, {0x06DD, 0x06DD}, {0x070F, 0x070F},
        {0x0890, 0x0891}, {0x08E2, 0x08E2}, {0x180E, 0x180E}, {0x200B, 0x200F}, {0x2028, 0x202E},
        {0x2060, 0x2064}, {0x2066, 0x206F}, {0xFEFF, 0xFEFF}, {0xFFF9, 0xFFFB}, {0x110BD, 0x110BD},
        {0x110CD, 0x110CD}, {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A},
        {0xE0001, 0xE0001}, {0xE0020, 0xE007F},
    };
    if (cp < 0xAD)
        return false;
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (cp >= ranges[i][0] && cp <= ranges[i][1])
            return true;
    return false;
}

/* Network text made safe for a terminal: printable ASCII and well-formed
 * UTF-8 as they are, except C1 controls U+0080-U+009F (some terminals obey
 * them) and format characters (unicode_format_char) written as \uXXXX
 * (\UXXXXXXXX above U+FFFF), like C and Python spell them; \r \n \t,
 * other controls and DEL as \xNN, each byte of invalid UTF-8 as \xNN.  At
 * most max bytes of s are shown; the rest is summarised as "...[+N bytes]". */
static void put_text_escaped(output *o, const char *s, size_t n, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t shown = n > max ? max : n;
    /* cut before a UTF-8 sequence, not inside one */
    for (int back = 0; shown < n && shown > 0 && back < 3 && (p[shown] & 0xC0) == 0x80; back++)
        shown--;
    const unsigned char *end = p + shown;
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && *p >= 0x20 && *p < 0x7F)
            p++;
        if (p > run)
            put(o, (const char *)run, (size_t)(p - run));
        if (p >= end)
            break;
        unsigned char c = *p;
        uint32_t cp = 0;
        size_t k = c >= 0x80 ? imapi_utf8_seq(p, end, &cp) : 0;
        if (k && cp >= 0xA0 && !unicode_format_char(cp)) {
            put(o, (const char *)p, k);
            p += k;
            continue;
        }
        if (k) { /* C1 control or format character */
            char e[10];
            int nd = cp > 0xFFFF ? 8 : 4;
            e[0] = '\\';
            e[1] = cp > 0xFFFF ? 'U' : 'u';
            for (int i = 0; i < nd; i++)
                e[2 + i] = hexdig[(cp >> (4 * (nd - 1 - i))) & 15];
            put(o, e, (size_t)(2 + nd));
            p += k;
            continue;
        }
        p++;
        if (c == '\r') {
            put(o, "\\r", 2);
        } else if (c == '\n') {
            put(o, "\\n", 2);
        } else if (c == '\t') {
            put(o, "\\t", 2);
        } else {
            char e[4] = {'\\', 'x', hexdig[c >> 4], hexdig[c & 15]};
            put(o, e, 4);
        }
    }
    if (n > max) {
        put(o, "... [+", 6);
        put_u64(o, n - shown);
        put(o, " bytes]", 7);
    }
}

void text_put_str(output *o, const char *s) { put_text_escaped(o, s, strlen(s), OUT_TEXT_MAX_LINE); }

void text_put_json_str(output *o, const json_t *v)
{
    put_text_escaped(o, json_string_value(v), json_string_length(v), OUT_TEXT_MAX_LINE);
}

const char *text_obj_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key)); /* NULL when absent or not a string */
}

bool text_obj_int(const json_t *obj, const char *key, int64_t *v)
{
    const json_t *x = json_object_get(obj, key);
    if (!json_is_integer(x))
        return false;
    *v = (int64_t)json_integer_value(x);
    return true;
}

/* The number of a connection in the trace: its number in the run
 * (text_no), else its flow_id. */
static uint64_t flow_text_no(const out_flow *flow)
{
    return flow->text_no ? flow->text_no : flow->flow_id;
}

/* "[flow N] " or nothing. */
static void put_flow_tag(output *o, const out_flow *flow)
{
    if (!flow)
        return;
    put(o, "[flow ", 6);
    put_u64(o, flow_text_no(flow));
    put(o, "] ", 2);
}

/* "flow N " or nothing. */
void text_put_flow_word(output *o, const out_flow *flow)
{
    if (!flow)
        return;
    put(o, "flow ", 5);
    put_u64(o, flow_text_no(flow));
    put_ch(o, ' ');
}

/* An endpoint: "192.0.2.1:143", "[2001:db8::1]:143". */
static void put_endpoint(output *o, const char *ip, uint16_t port)
{
    if (!ip)
        ip = "?";
    bool v6 = strchr(ip, ':') != NULL;
    if (v6)
        put_ch(o, '[');
    text_put_str(o, ip);
    if (v6)
        put_ch(o, ']');
    put_ch(o, ':');
    put_u64(o, port);
}

/* A latency: "850 us", "6.5 ms", "2.125 s" (digits truncated, integer
 * arithmetic so every platform prints the same). */
static void put_latency(output *o, int64_t us)
{
    if (us < 0)
        us = 0;
    uint64_t u = (uint64_t)us;
    if (u < 1000) {
        put_u64(o, u);
        put(o, " us", 3);
    } else if (u < 1000000) {
        put_u64(o, u / 1000);
        put_ch(o, '.');
        put_ch(o, (char)('0' + u % 1000 / 100));
        put(o, " ms", 3);
    } else {
        char f[3];
        put_u64(o, u / 1000000);
        put_ch(o, '.');
        fmt_dec(f, (unsigned)(u % 1000000 / 1000), 3);
        put(o, f, 3);
        put(o, " s", 2);
    }
}

/* Verbose: "                |   capability IDLE (RFC 2177): meaning". */
static void put_annotation(output *o, const char *what, const char *name, size_t len,
                           const imap_annot *info)
{
    put_color(o, C_DIM);
    put_str(o, TEXT_INDENT "  ");
    put_str(o, what);
    put_ch(o, ' ');
    put_text_escaped(o, name, len, 256);
    if (info) {
        put(o, " (", 2);
        put_str(o, info->rfc ? info->rfc : "?");
        put(o, "): ", 3);
        put_str(o, info->meaning ? info->meaning : "");
    } else {
        put(o, ": not in our table", 18);
    }
    put_color(o, C_RESET);
    put_ch(o, '\n');
}

void output_hint_once(output *o, unsigned id, const char *text)
{
    if (!o || o->fmt != OUT_TEXT || o->broken || id >= 32 || !text)
        return;
    output *root = o->parent ? o->parent : o;
    pthread_mutex_lock(&root->lock);
    bool given = root->hints_given & (1u << id);
    root->hints_given |= 1u << id;
    pthread_mutex_unlock(&root->lock);
    if (given)
        return;
    event_begin(o);
    put_color(o, C_DIM);
    put_str(o, TEXT_INDENT "hint: ");
    put_str(o, text);
    put_color(o, C_RESET);
    put_ch(o, '\n');
    event_end(o);
}

_Static_assert(IMAP_ANNOT_MAX <= OUT_SEEN_KNOWN_BITS, "one seen bit per annotation entry");

/* FNV-1a of kind and the upper-cased name: the key of a name that is not
 * in the annotation table. */
static uint32_t seen_hash(imap_annot_kind kind, const char *name, size_t len)
{
    uint32_t h = 2166136261u ^ (uint32_t)kind;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        h = (h ^ (c >= 'a' && c <= 'z' ? c - 32u : c)) * 16777619u;
    }
    return h;
}

/* True the first time (kind, name) is met on this connection, and marks it
 * seen; always true without a seen-set, or when the set of unknown names
 * is full (they are then annotated each time). */
static bool seen_first(out_seen *seen, imap_annot_kind kind, const char *name, size_t len,
                       const imap_annot *info)
{
    if (!seen)
        return true;
    if (info) {
        size_t i = imap_annot_index(info);
        if (i >= OUT_SEEN_KNOWN_BITS)
            return true;
        uint64_t bit = (uint64_t)1 << (i % 64);
        if (seen->known[i / 64] & bit)
            return false;
        seen->known[i / 64] |= bit;
        return true;
    }
    uint32_t h = seen_hash(kind, name, len);
    for (uint32_t i = 0; i < seen->n_unknown && i < OUT_SEEN_UNKNOWN; i++)
        if (seen->unknown[i] == h)
            return false;
    if (seen->n_unknown < OUT_SEEN_UNKNOWN)
        seen->unknown[seen->n_unknown++] = h;
    return true;
}

/* The annotation of one item, unless this connection already had it.  A
 * prefix entry (AUTH=, THREAD=, X...) is remembered per name, not per
 * entry: AUTH=PLAIN and AUTH=LOGIN are each shown once. */
static void annotate_once(output *o, out_seen *seen, imap_annot_kind kind, const char *name, size_t len)
{
    const imap_annot *info = imap_annot_lookup(kind, name, len);
    if (!seen_first(seen, kind, name, len, info && !info->prefix ? info : NULL))
        return;
    put_annotation(o, imap_annot_kind_name(kind), name, len, info);
}

void output_flow_begin(output *o, uint64_t ts_us, const out_flow *flow)
{
    if (!o || o->fmt != OUT_TEXT || o->broken || !flow || !output_wants_type(o, "imap"))
        return; /* --types without imap: no conversation shown */
    event_begin(o);
    char date[28];
    output_format_rfc3339(ts_us, date);
    put_time_of_day(o, ts_us);
    put_color(o, C_BOLD);
    put(o, "--- ", 4);
    text_put_flow_word(o, flow);
    put(o, date, 10);
    put_ch(o, ' ');
    put_endpoint(o, flow->src_ip, flow->src_port);
    put(o, " -> ", 4);
    put_endpoint(o, flow->dest_ip, flow->dest_port);
    if (flow->community_id && *flow->community_id) {
        put(o, " community_id ", 14);
        text_put_str(o, flow->community_id);
    }
    if (flow->text_no && flow->text_no != flow->flow_id) { /* the JSON's flow_id, to find it there */
        put(o, " flow_id ", 9);
        put_u64(o, flow->flow_id);
    }
    put_color(o, C_RESET);
    put_ch(o, '\n');
    event_end(o);
}

static bool span_eq(imap_span sp, const char *lit)
{
    size_t n = strlen(lit);
    return sp.len == n && memcmp(sp.ptr, lit, n) == 0;
}

void output_line(output *o, uint64_t ts_us, const out_flow *flow, imap_dir dir, const imap_line *line)
{
    if (!o || o->fmt != OUT_TEXT || o->broken || !line || !output_wants_type(o, "imap"))
        return;
    event_begin(o);
    bool client = dir == IMAP_DIR_CLIENT;
    /* a server line's word is its status (OK NO BAD ...) or response name */
    imap_span status = client ? (imap_span){ NULL, 0 } : line->word;

    put_time_of_day(o, ts_us);
    put_flow_tag(o, flow);
    const char *col = client ? C_CYAN : C_GREEN;
    if (span_eq(status, "NO"))
        col = C_YELLOW;
    else if (span_eq(status, "BAD"))
        col = C_RED;
    put_color(o, col);
    put(o, client ? "C " : "S ", 2);

    if (line->text.ptr) {
        size_t max = o->max_text_line ? o->max_text_line : SIZE_MAX;
        put_text_escaped(o, line->text.ptr, line->text.len, max);
    } else { /* no text: what the line is, from its parts */
        if (line->tag.len)
            put_text_escaped(o, line->tag.ptr, line->tag.len, OUT_TEXT_MAX_LINE);
        if (line->tag.len && line->word.len)
            put_ch(o, ' ');
        if (line->word.len)
            put_text_escaped(o, line->word.ptr, line->word.len, OUT_TEXT_MAX_LINE);
        if (!line->tag.len && !line->word.len)
            text_put_str(o, imap_line_kind_name(line->kind));
    }
    if (line->has_latency) {
        put(o, " (", 2);
        put_latency(o, (int64_t)line->latency_us);
        put_ch(o, ')');
    }
    /* mailbox names sent in modified UTF-7, decoded: [mailbox "Entwürfe"] */
    size_t nn = imap_node_size(line->names);
    if (imap_node_kind_of(line->names) == IMAP_NODE_OBJECT && nn > 0) {
        bool first = true;
        put_color(o, C_RESET);
        put_color(o, C_DIM);
        put(o, " [", 2);
        for (size_t i = 0; i < nn; i++) {
            size_t vl;
            const char *v = imap_node_str(imap_node_at(line->names, i), &vl);
            if (!v)
                continue;
            if (!first)
                put(o, ", ", 2);
            first = false;
            text_put_str(o, imap_node_key_at(line->names, i, NULL));
            put(o, " \"", 2);
            put_text_escaped(o, v, vl, OUT_TEXT_MAX_LINE);
            put_ch(o, '"');
        }
        put_ch(o, ']');
    }
    put_color(o, C_RESET);
    put_ch(o, '\n');

    if (o->verbose > 0) {
        /* first occurrence in the connection only (flow->seen) */
        out_seen *seen = flow ? flow->seen : NULL;
        if (client && line->word.ptr)
            annotate_once(o, seen, IMAP_ANNOT_COMMAND, line->word.ptr, line->word.len);
        /* a server line's "status" is its status word (OK NO BAD PREAUTH
         * BYE); other words (untagged data) are not status responses */
        if (!client && status.ptr && imap_annot_lookup(IMAP_ANNOT_STATUS, status.ptr, status.len))
            annotate_once(o, seen, IMAP_ANNOT_STATUS, status.ptr, status.len);
        if (line->code.ptr)
            annotate_once(o, seen, IMAP_ANNOT_CODE, line->code.ptr, line->code.len);
        size_t n = imap_node_size(line->capabilities);
        for (size_t i = 0; i < n && !o->overflow; i++) {
            size_t cl;
            const char *c = imap_node_str(imap_node_at(line->capabilities, i), &cl);
            if (c)
                annotate_once(o, seen, IMAP_ANNOT_CAPABILITY, c, cl);
        }
    }
    event_end(o);
}

/* "1.3" from "TLS 1.3", "TLSv1.3", "1.3", 772 (0x0304), ...; NULL when
 * the value says nothing. */
static const char *tls_version_text(const json_t *v, char *tmp, size_t tmplen)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strncmp(s, "TLS", 3) == 0) {
            s += 3;
            if (*s == 'v' || *s == ' ')
                s++;
        }
        return *s ? s : NULL;
    }
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (x == 0x0300)
            return "SSL 3.0";
        if (x >= 0x0301 && x <= 0x0304) {
            snprintf(tmp, tmplen, "1.%d", (int)(x - 0x0301));
            return tmp;
        }
        snprintf(tmp, tmplen, "0x%04x", (unsigned)x & 0xffffu);
        return tmp;
    }
    return NULL;
}

/* "key=value" for a string or an array of strings (comma-joined). */
static void put_kv(output *o, const char *key, const json_t *v)
{
    if (!v || json_is_null(v))
        return;
    if (json_is_object(v)) { /* e.g. "ja3": {"hash": ..., "string": ...} */
        const json_t *h = json_object_get(v, "hash");
        if (!h)
            return;
        v = h;
    }
    put_ch(o, ' ');
    put_str(o, key);
    put_ch(o, '=');
    if (json_is_string(v)) {
        put_text_escaped(o, json_string_value(v), json_string_length(v), 512);
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *e = json_array_get(v, i);
            if (i)
                put_ch(o, ',');
            if (json_is_string(e))
                put_text_escaped(o, json_string_value(e), json_string_length(e), 256);
            else if (json_is_integer(e))
                put_i64(o, (int64_t)json_integer_value(e));
        }
    } else if (json_is_integer(v)) {
        put_i64(o, (int64_t)json_integer_value(v));
    } else if (json_is_boolean(v)) {
        put_str(o, json_is_true(v) ? "yes" : "no");
    }
}

static void text_tls(output *o, const out_flow *flow, const json_t *b)
{
    char tmp[16];
    put_color(o, C_MAGENTA);
    put(o, "~~~ ", 4);
    text_put_flow_word(o, flow);
    put(o, "TLS", 3);
    const char *ver = tls_version_text(json_object_get(b, "version"), tmp, sizeof tmp);
    put_ch(o, ' ');
    text_put_str(o, ver ? ver : "?");
    put_kv(o, "sni", json_object_get(b, "sni"));
    put_kv(o, "alpn", json_object_get(b, "alpn"));
    const json_t *cipher = json_object_get(b, "cipher_suite");
    if (json_is_string(cipher))
        put_kv(o, "cipher", cipher);
    put_kv(o, "ja3", json_object_get(b, "ja3"));
    put_kv(o, "ja3s", json_object_get(b, "ja3s"));
    put_kv(o, "ja4", json_object_get(b, "ja4"));
    if (json_is_true(json_object_get(b, "decrypted")))
        put(o, " decrypted", 10);
    put_color(o, C_RESET);
    put_ch(o, '\n');
}

/* "12.3 KB": bytes for a reader */
static void put_size(output *o, int64_t n)
{
    char tmp[32];
    if (n < 1024)
        snprintf(tmp, sizeof tmp, "%lld B", (long long)n);
    else if (n < 1024 * 1024)
        snprintf(tmp, sizeof tmp, "%.1f KB", (double)n / 1024.0);
    else
        snprintf(tmp, sizeof tmp, "%.1f MB", (double)n / (1024.0 * 1024.0));
    put_str(o, tmp);
}

/* One line per message (mail.h):
 *   @@@ flow 3 fetched message uid 4 from Bob <bob@example.org> "Subject" 2 attachments (12.3 KB) */
static void text_email(output *o, const out_flow *flow, const json_t *b)
{
    int64_t v;
    put_color(o, C_CYAN);
    put(o, "@@@ ", 4);
    text_put_flow_word(o, flow);
    const char *dir = text_obj_str(b, "direction"), *src = text_obj_str(b, "source"), *mb = text_obj_str(b, "mailbox");
    text_put_str(o, dir ? dir : "?");
    put_ch(o, ' ');
    text_put_str(o, src ? src : "message");
    if (text_obj_int(b, "uid", &v)) {
        put(o, " uid ", 5);
        put_i64(o, v);
    }
    if (mb) {
        put(o, dir && !strcmp(dir, "appended") ? " to " : " in ", 4);
        text_put_str(o, mb);
    }
    /* the first From of addresses ([{field, name, address}]) */
    const json_t *from = NULL, *addrs = json_object_get(b, "addresses");
    for (size_t i = 0; i < json_array_size(addrs) && !from; i++) {
        const char *f = text_obj_str(json_array_get(addrs, i), "field");
        if (f && !strcmp(f, "from"))
            from = json_array_get(addrs, i);
    }
    if (from) {
        const char *name = text_obj_str(from, "name"), *addr = text_obj_str(from, "address");
        put(o, " from ", 6);
        if (name) {
            text_put_str(o, name);
            put_ch(o, ' ');
        }
        put_ch(o, '<');
        text_put_str(o, addr ? addr : "");
        put_ch(o, '>');
    }
    const char *subj = text_obj_str(b, "subject");
    if (subj) {
        put(o, " \"", 2);
        put_text_escaped(o, subj, strlen(subj), 200);
        put_ch(o, '"');
    }
    size_t na = json_array_size(json_object_get(b, "attachments"));
    if (na) {
        put_ch(o, ' ');
        put_i64(o, (int64_t)na);
        put_str(o, na == 1 ? " attachment" : " attachments");
    }
    if (text_obj_int(b, "size", &v)) {
        put(o, " (", 2);
        put_size(o, v);
        put_ch(o, ')');
    }
    const char *state = text_obj_str(b, "state");
    if (state && !strcmp(state, "truncated"))
        put_str(o, " truncated");
    if (state && !strcmp(state, "gaps"))
        put_str(o, " incomplete");
    put_color(o, C_RESET);
    put_ch(o, '\n');
}

/* A body part fetched on its own (mail.h), which has no email line:
 *   @@@ flow 3 fetched part BODY[2] uid 4 "report.pdf" application/pdf (12.3 KB) */
static void text_part(output *o, const out_flow *flow, const json_t *b)
{
    int64_t v;
    put_color(o, C_CYAN);
    put(o, "@@@ ", 4);
    text_put_flow_word(o, flow);
    put_str(o, "fetched part ");
    const char *sec = text_obj_str(b, "section"), *name = text_obj_str(b, "filename");
    const char *type = text_obj_str(b, "magic") ? text_obj_str(b, "magic") : text_obj_str(b, "content_type");
    text_put_str(o, sec ? sec : "?");
    if (text_obj_int(b, "uid", &v)) {
        put(o, " uid ", 5);
        put_i64(o, v);
    }
    if (name) {
        put(o, " \"", 2);
        put_text_escaped(o, name, strlen(name), 200);
        put_ch(o, '"');
    }
    if (type) {
        put_ch(o, ' ');
        text_put_str(o, type);
    }
    if (text_obj_int(b, "size", &v)) {
        put(o, " (", 2);
        put_size(o, v);
        put_ch(o, ')');
    }
    const char *state = text_obj_str(b, "state");
    if (state && strcmp(state, "complete") != 0) {
        put_ch(o, ' ');
        text_put_str(o, state);
    }
    put_color(o, C_RESET);
    put_ch(o, '\n');
}

static void text_alert(output *o, const out_flow *flow, const json_t *b)
{
    const char *name = text_obj_str(b, "name");
    const char *detail = text_obj_str(b, "detail");
    const char *desc = text_obj_str(b, "description");
    put_color(o, C_RED C_BOLD);
    put(o, "!!! ", 4);
    text_put_flow_word(o, flow);
    put(o, "alert ", 6);
    text_put_str(o, name ? name : "?");
    {
        /* [sid N sev S], as Suricata's fast.log [1:sid:rev] and Priority */
        int64_t sid, sv;
        if (text_obj_int(b, "signature_id", &sid) && text_obj_int(b, "severity", &sv)) {
            put(o, " [sid ", 6);
            put_i64(o, sid);
            put(o, " sev ", 5);
            put_i64(o, sv);
            put_ch(o, ']');
        }
    }
    if (detail || desc) {
        put(o, ": ", 2);
        text_put_str(o, detail ? detail : desc);
    }
    put_color(o, C_RESET);
    put_ch(o, '\n');
    if (o->verbose > 0) {
        const char *cat = text_obj_str(b, "category");
        const char *dir = text_obj_str(b, "direction");
        int64_t sev, off;
        put_str(o, TEXT_INDENT "  ");
        if (desc && detail) {
            text_put_str(o, desc);
            put(o, "; ", 2);
        }
        put(o, "category ", 9);
        text_put_str(o, cat ? cat : "-");
        if (text_obj_int(b, "severity", &sev)) {
            put(o, ", severity ", 11);
            put_i64(o, sev);
        }
        if (dir) {
            put(o, ", ", 2);
            text_put_str(o, dir);
        }
        if (text_obj_int(b, "offset", &off)) {
            put(o, " offset ", 8);
            put_i64(o, off);
        }
        put_ch(o, '\n');
    }
}

/* Number of commands: an integer, an object of counts per command, or
 * an array of {name, count}. */
static int64_t session_commands(const json_t *v)
{
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    int64_t sum = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            if (json_is_integer(x))
                sum += (int64_t)json_integer_value(x);
        }
    } else if (json_is_array(v)) {
        /* [{name, count}] (docs/output.md) */
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *c = json_object_get(json_array_get(v, i), "count");
            sum += json_is_integer(c) ? (int64_t)json_integer_value(c) : 1;
        }
    }
    return sum;
}

static void text_session(output *o, const out_flow *flow, const json_t *b)
{
    int64_t v;
    put_color(o, C_BOLD);
    put(o, "=== ", 4);
    text_put_flow_word(o, flow);
    put(o, "end: user ", 10);
    const char *user = text_obj_str(b, "user");
    text_put_str(o, user ? user : "-");
    put(o, ", ", 2);
    put_i64(o, session_commands(json_object_get(b, "commands")));
    put(o, " commands, client ", 18);
    put_i64(o, text_obj_int(b, "client_bytes", &v) ? v : 0);
    put(o, " B, server ", 11);
    put_i64(o, text_obj_int(b, "server_bytes", &v) ? v : 0);
    put(o, " B, TLS ", 8);
    const json_t *tls = json_object_get(b, "tls");
    const char *mode = json_is_object(tls) ? text_obj_str(tls, "mode") : NULL;
    if (!json_is_object(tls) || !mode || strcmp(mode, "none") == 0) {
        put(o, "no", 2);
    } else {
        /* {mode, version, decrypted_client_bytes, ...} (docs/output.md) */
        char tmp[16];
        const char *ver = tls_version_text(json_object_get(tls, "version"), tmp, sizeof tmp);
        int64_t dc = 0, ds = 0;
        put(o, "yes ", 4);
        text_put_str(o, mode);
        if (ver) {
            put_ch(o, ' ');
            text_put_str(o, ver);
        }
        if (!text_obj_int(tls, "decrypted_client_bytes", &dc))
            dc = 0;
        if (!text_obj_int(tls, "decrypted_server_bytes", &ds))
            ds = 0;
        put_str(o, dc + ds > 0 ? " decrypted" : " opaque");
    }
    /* COMPRESS: the tagged status of COMPRESS, "OK" when it was accepted */
    const char *comp = text_obj_str(b, "compress");
    if (comp && strcmp(comp, "OK") == 0)
        put(o, ", COMPRESS yes", 14);
    int64_t ng;
    if (!text_obj_int(b, "gap_count", &ng))
        ng = (int64_t)json_array_size(json_object_get(b, "gaps"));
    if (ng > 0) {
        put(o, ", gaps ", 7);
        put_i64(o, ng);
    }
    /* mail: {messages_fetched, bytes_fetched, messages_appended, bytes_appended} */
    const json_t *mail = json_object_get(b, "mail");
    int64_t mf = 0, bf = 0, ma = 0, ba = 0;
    if (!text_obj_int(mail, "messages_fetched", &mf))
        mf = 0;
    if (!text_obj_int(mail, "bytes_fetched", &bf))
        bf = 0;
    if (!text_obj_int(mail, "messages_appended", &ma))
        ma = 0;
    if (!text_obj_int(mail, "bytes_appended", &ba))
        ba = 0;
    if (mf + ma > 0) {
        put(o, ", messages fetched ", 19);
        put_i64(o, mf);
        put(o, " (", 2);
        put_size(o, bf);
        put(o, ") appended ", 11);
        put_i64(o, ma);
        put(o, " (", 2);
        put_size(o, ba);
        put_ch(o, ')');
    }
    /* anomalies: [{name, count}, ...]; an entry without count counts once */
    const json_t *an = json_object_get(b, "anomalies");
    int64_t na = 0;
    for (size_t i = 0; i < json_array_size(an); i++) {
        int64_t k;
        na += text_obj_int(json_array_get(an, i), "count", &k) ? k : 1;
    }
    if (na > 0) {
        put(o, ", anomalies ", 12);
        put_i64(o, na);
    }
    put(o, ", reason ", 9);
    const char *reason = text_obj_str(b, "end_reason");
    text_put_str(o, reason ? reason : "-");
    put_color(o, C_RESET);
    put_ch(o, '\n');
}

void text_event(output *o, const char *event_type, uint64_t ts_us, const out_flow *flow, const json_t *body)
{
    if (strcmp(event_type, "imap") == 0 ||
        (strcmp(event_type, "fileinfo") == 0 && !json_object_get(body, "section")))
        return; /* the lines already told it; a message's files: its email line counts them */
    if (strcmp(event_type, "imap_user") == 0 && o->verbose == 0)
        return; /* the per-user table is for -v */
    event_begin(o);
    put_time_of_day(o, ts_us);
    if (strcmp(event_type, "imap_session") == 0) {
        text_session(o, flow, body);
    } else if (strcmp(event_type, "alert") == 0) {
        text_alert(o, flow, body);
    } else if (strcmp(event_type, "tls") == 0) {
        text_tls(o, flow, body);
    } else if (strcmp(event_type, "email") == 0) {
        text_email(o, flow, body);
    } else if (strcmp(event_type, "fileinfo") == 0) {
        text_part(o, flow, body);
    } else if (strcmp(event_type, "stats") == 0) {
        text_stats(o, flow, body);
    } else if (strcmp(event_type, "imap_user") == 0) {
        text_user(o, body);
    } else {
        put(o, "*** ", 4);
        text_put_flow_word(o, flow);
        text_put_str(o, event_type);
        if (body) {
            put_ch(o, ' ');
            put_json_value(o, body, 0);
        }
        put_ch(o, '\n');
    }
    event_end(o);
}
