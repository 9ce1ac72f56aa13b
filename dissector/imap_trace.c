/*
 * imap_trace.c - the session's events: anomalies (held until the LINE
 * event of the line they are about), layer switches, and the trace lines
 * (IMAP_EV_LINE) with their text rendered: literals shown short or as
 * "<N bytes>", secrets as "<redacted>", decoded mailbox and header names.
 *
 * RFC 9051 4.3 (literals in a line), 5.1 / RFC 3501 5.1.3 (modified
 * UTF-7 names), 7.5.2 (ENVELOPE); RFC 2047 (encoded-words).
 */
#include "imap_session_int.h"
#include "imap_redact.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* ---------------------------------------------------------------- events */

void imapi_emit(imap_session *s, imap_event *ev)
{
    if (s->stopped || !s->cb.on_event)
        return;
    if (s->cb.on_event(s->user, ev) != 0)
        s->stopped = true;
}

void imapi_anomaly_raise(imap_session *s, imap_dir dir, imap_anomaly a, uint64_t offset,
                         const char *tag, const char *fmt, ...)
{
    char raw[CORE_DETAIL_MAX * 2], detail[CORE_DETAIL_MAX];
    detail[0] = '\0';
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        if (n < 0)
            n = 0;
        if ((size_t)n >= sizeof raw)
            n = sizeof raw - 1;
        imapi_core_escape(detail, sizeof detail, (const uint8_t *)raw, (size_t)n);
    }
    s->anomaly_counts[a]++;
    imap_node *o = imapi_object();
    imapi_object_set_new_nocheck(o, "name", imapi_string(imap_anomaly_name(a)));
    imapi_object_set_new_nocheck(o, "description", imapi_string(imap_anomaly_description(a)));
    imapi_object_set_new_nocheck(o, "severity", imapi_integer(imap_anomaly_severity(a)));
    imapi_object_set_new_nocheck(o, "signature_id", imapi_integer((int64_t)imap_anomaly_signature_id(a)));
    imapi_object_set_new_nocheck(o, "direction", imapi_string(dir_name(dir)));
    imapi_object_set_new_nocheck(o, "offset", imapi_integer((int64_t)offset));
    if (fmt)
        imapi_object_set_new_nocheck(o, "detail", imapi_string(detail));
    if (tag && tag[0])
        imapi_object_set_new_nocheck(o, "tag", imapi_core_json_bytes(tag, strlen(tag), 0));
    if (s->defer_anomalies && !s->deferred)
        s->deferred = malloc(CORE_DEFER_MAX * sizeof *s->deferred);
    if (s->defer_anomalies && s->deferred && s->ndeferred < CORE_DEFER_MAX) {
        struct deferred_anomaly *q = &s->deferred[s->ndeferred++];
        q->a = a;
        q->dir = dir;
        q->offset = offset;
        q->data = o;
        q->has_detail = fmt != NULL;
        memcpy(q->detail, detail, sizeof q->detail);
        return;
    }
    imap_event ev = {
        .type = IMAP_EV_ANOMALY, .dir = dir, .ts_us = s->now, .offset = offset, .data = o,
        .anomaly = a, .name = imap_anomaly_name(a), .detail = fmt ? detail : NULL,
    };
    imapi_emit(s, &ev);
    imapi_decref(o);
}

/* Emits the anomalies held for the line being processed, in the order
 * they were raised, and stops holding (later ones go out at once). */
void imapi_flush_anomalies(imap_session *s)
{
    s->defer_anomalies = false;
    for (size_t i = 0; i < s->ndeferred; i++) {
        struct deferred_anomaly *q = &s->deferred[i];
        imap_event ev = {
            .type = IMAP_EV_ANOMALY, .dir = q->dir, .ts_us = s->now, .offset = q->offset, .data = q->data,
            .anomaly = q->a, .name = imap_anomaly_name(q->a), .detail = q->has_detail ? q->detail : NULL,
        };
        imapi_emit(s, &ev);
        imapi_decref(q->data);
        q->data = NULL;
    }
    s->ndeferred = 0;
}

void imapi_emit_switch(imap_session *s, imap_dir dir, imap_layer layer, uint64_t offset)
{
    dir_state *d = &s->dirs[dir];
    d->switched_to = layer;
    d->tls_check = layer == IMAP_LAYER_TLS ? TLS_CHECK_PENDING : TLS_CHECK_NONE;
    imap_event ev = { .type = IMAP_EV_SWITCH, .dir = dir, .ts_us = s->now, .offset = offset,
                      .switch_to = layer };
    imapi_emit(s, &ev);
}

/* ----------------------------------------------------------- trace lines */

/* The typed line of a line object o (built by imapi_emit_line/imapi_emit_line_part). */
static void line_fill(const imap_node *o, imap_line *l)
{
    static const char *const kinds[] = { "command", "continuation_data", "done", "tagged",
                                         "untagged", "continuation", "malformed" };
    memset(l, 0, sizeof *l);
    const char *k = imapi_string_value(imapi_object_get(o, "kind"));
    for (unsigned i = 0; k && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(k, kinds[i]) == 0)
            l->kind = (imap_line_kind)i;
    l->tag = span_node(imapi_object_get(o, "tag"));
    const imap_node *w = imapi_object_get(o, "command");
    l->word = span_node(w ? w : imapi_object_get(o, "status"));
    l->text = span_node(imapi_object_get(o, "text"));
    l->part = (unsigned)imapi_integer_value(imapi_object_get(o, "part"));
    l->last_part = imapi_is_true(imapi_object_get(o, "last_part"));
    const imap_node *lat = imapi_object_get(o, "latency_us");
    if (imapi_is_integer(lat)) {
        l->has_latency = true;
        l->latency_us = (uint64_t)imapi_integer_value(lat);
    }
    l->code = span_node(imapi_object_get(o, "code"));
    l->capabilities = imapi_object_get(o, "capabilities");
    l->names = imapi_object_get(o, "names");
    l->obj = o;
}

/* Appends literal li of the line to tmp[*o..cap): its bytes when short
 * and printable, else "<N bytes>" (a secret never gets here: render_text
 * stops where it begins). */
static void render_literal(const dir_state *d, size_t li, char *tmp, size_t *o, size_t cap)
{
    if (li >= d->nlits)
        return;
    const imap_literal *l = &d->lits[li];
    bool printable = l->kept && l->kept_len == l->size && l->size <= CORE_LITERAL_SHOW;
    for (size_t i = 0; printable && i < l->kept_len; i++)
        if (l->kept[i] < 0x20 || l->kept[i] >= 0x7F)
            printable = false;
    int n;
    if (printable)
        n = snprintf(tmp + *o, cap - *o, "%.*s", (int)l->kept_len, (const char *)l->kept);
    else
        n = snprintf(tmp + *o, cap - *o, "<%llu bytes>", (unsigned long long)l->size);
    if (n > 0)
        *o += (size_t)n < cap - *o ? (size_t)n : cap - *o - 1;
}

/* Renders (part of) a logical line for the trace: each literal marker
 * ("{n}" CRLF in the text) is followed by literal li, li+1, ... from
 * first_lit; lead: the text starts right after a marker's CRLF, so it
 * starts with literal first_lit.  secret_from (SIZE_MAX: none): the text
 * from there on, and every literal whose marker lies there, is a secret,
 * shown as one "<redacted>" (0 with lead: the lead literal too).  out has
 * cap bytes. */
static size_t render_text(const dir_state *d, const char *text, size_t len, size_t first_lit, bool lead,
                          size_t secret_from, char *out, size_t cap)
{
    char tmp[CORE_LINE_TEXT_MAX + 256];
    size_t o = 0, li = first_lit;
    tmp[0] = '\0';
    bool secret = secret_from < len || (lead && secret_from == 0);
    if (secret)
        len = secret_from < len ? secret_from : len;
    const char *p = text, *end = text + len;
    if (lead && !(secret && secret_from == 0))
        render_literal(d, li++, tmp, &o, sizeof tmp);
    while (p < end && o < CORE_LINE_TEXT_MAX) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *seg_end = nl ? nl : end;
        size_t seg = (size_t)(seg_end - p);
        if (seg && seg_end[-1] == '\r' && nl)
            seg--;
        if (seg > sizeof tmp - o - 1)
            seg = sizeof tmp - o - 1;
        memcpy(tmp + o, p, seg);
        o += seg;
        if (!nl)
            break;
        render_literal(d, li++, tmp, &o, sizeof tmp);
        p = nl + 1;
    }
    if (p < end && o >= CORE_LINE_TEXT_MAX)
        o = CORE_LINE_TEXT_MAX;
    if (secret && o < CORE_LINE_TEXT_MAX) {
        int m = snprintf(tmp + o, sizeof tmp - o, "%s", IMAP_REDACT_MARK);
        if (m > 0)
            o += (size_t)m;
    }
    size_t n = imapi_core_escape(out, cap, (const uint8_t *)tmp, o);
    if (o >= CORE_LINE_TEXT_MAX && n + 4 < cap && (n < 3 || strcmp(out + n - 3, "...") != 0)) {
        memcpy(out + n, "...", 4);
        n += 3;
    }
    return n;
}

void imapi_emit_line(imap_session *s, imap_dir dir, const char *kind, const char *tag,
                     const char *cmd_or_status, const char *text, size_t len, imap_node *extra)
{
    if (!s->cfg.emit_lines) {
        imapi_decref(extra);
        imapi_flush_anomalies(s);
        return;
    }
    dir_state *d = &s->dirs[dir];
    /* a client line already shown up to a synchronizing literal
     * (imapi_emit_line_part): what remains is its last part */
    bool rest = dir == IMAP_DIR_CLIENT && d->parts > 0 && s->line_text;
    imap_node *o = extra ? extra : imapi_object();
    imapi_object_set_new_nocheck(o, "direction", imapi_string(dir_name(dir)));
    imapi_object_set_new_nocheck(o, "kind", imapi_string(rest ? "continuation_data" : kind));
    if (tag)
        osetl(o, "tag", json_bytes(tag, strlen(tag)));
    if (cmd_or_status)
        imapi_object_set_new(o, dir == IMAP_DIR_CLIENT ? "command" : "status", imapi_string(cmd_or_status));
    char buf[CORE_LINE_TEXT_MAX * 4 + 8];
    size_t n;
    if (rest) {
        imapi_object_set_new_nocheck(o, "part", imapi_integer((int64_t)d->parts + 1));
        imapi_object_set_new_nocheck(o, "last_part", imapi_true());
        size_t from = s->redact_from == SIZE_MAX ? SIZE_MAX
                      : s->redact_from > d->part_off ? s->redact_from - d->part_off : 0;
        n = render_text(d, s->line_text + d->part_off, s->line_len - d->part_off, d->part_lit, true,
                        from, buf, sizeof buf);
    } else {
        n = render_text(d, text, len, 0, false,
                        dir == IMAP_DIR_CLIENT && text == s->line_text ? s->redact_from : SIZE_MAX,
                        buf, sizeof buf);
    }
    osetl(o, "text", imapi_stringn(buf, n));
    imap_line l;
    line_fill(o, &l);
    imap_event ev = { .type = IMAP_EV_LINE, .dir = dir, .ts_us = s->now,
                      .offset = rest ? d->part_wire : d->line_start, .line = &l, .data = o };
    imapi_emit(s, &ev);
    imapi_decref(o);
    imapi_flush_anomalies(s);
}

/* For the trace: the names of a decoded command or response (top-level
 * keys) whose wire form was modified UTF-7 (RFC 3501 5.1.3, RFC 9051 5.1):
 * a decoder that changed a name sets "<key>_raw" beside "<key>"; and the
 * ENVELOPE texts of a FETCH (RFC 9051 7.5.2) that imapi_envelope_decode()
 * decoded from RFC 2047 encoded words: "subject" and "from" (the first
 * sender's name), each when the line (text, len: the wire text without
 * the literals' data) does not hold it as it is.  Adds "names":
 * {"<key>": "<decoded>"} to extra (created when NULL) and returns it;
 * extra unchanged when there are none or no trace is made. */
static bool decoded_text(const imap_node *v, const char *text, size_t len)
{
    size_t vl = imapi_string_length(v);
    return imapi_is_string(v) && vl > 0 && (text == NULL || memmem(text, len, imapi_string_value(v), vl) == NULL);
}

imap_node *imapi_line_names(const imap_session *s, const imap_node *obj, const char *text, size_t len,
                            imap_node *extra)
{
    if (!s->cfg.emit_lines || !imapi_is_object(obj))
        return extra;
    imap_node *names = NULL;
    const char *k;
    imap_node *v;
    const imap_node *env = imapi_object_get(obj, "envelope");
    if (imapi_is_object(env)) {
        const imap_node *subj = imapi_object_get(env, "subject");
        /* the first address whose field is "from" (envelope "addresses") */
        const imap_node *addrs = imapi_object_get(env, "addresses"), *from = NULL;
        for (size_t ai = 0; ai < imapi_array_size(addrs); ai++) {
            const imap_node *ad = imapi_array_get(addrs, ai);
            const char *f = imapi_string_value(imapi_object_get(ad, "field"));
            if (f != NULL && strcmp(f, "from") == 0) {
                from = imapi_object_get(ad, "name");
                break;
            }
        }
        bool ds = decoded_text(subj, text, len), df = decoded_text(from, text, len);
        if (ds || df)
            names = imapi_object();
        if (ds)
            imapi_object_set(names, "subject", (imap_node *)subj);
        if (df)
            imapi_object_set(names, "from", (imap_node *)from);
    }
    imapi_object_foreach((imap_node *)obj, k, v) {
        size_t kl = strlen(k);
        char base[64];
        if (kl <= 4 || kl - 4 >= sizeof base || strcmp(k + kl - 4, "_raw") != 0)
            continue;
        memcpy(base, k, kl - 4);
        base[kl - 4] = '\0';
        imap_node *dec = imapi_object_get(obj, base);
        if (!imapi_is_string(dec))
            continue;
        if (!names)
            names = imapi_object();
        imapi_object_set(names, base, dec);
    }
    if (!names)
        return extra;
    if (!extra)
        extra = imapi_object();
    imapi_object_set_new_nocheck(extra, "names", names);
    return extra;
}

/* A client line that announces a synchronizing literal waits for the
 * server's "+" (RFC 9051 4.3, 7.5): the text so far (up to the marker) is
 * shown at once, so the trace reads C "A1 APPEND INBOX {272}", S "+ OK",
 * then the rest.  The first part has kind "command" (tag and command
 * from the line head), later ones "continuation_data" with "part" n. */
void imapi_emit_line_part(imap_session *s, dir_state *d)
{
    /* the buffer holds the line so far, ending with the marker and CRLF */
    size_t end = d->len >= 2 ? d->len - 2 : d->len;
    if (s->cfg.emit_lines && end >= d->part_off) {
        imap_node *o = imapi_object();
        imapi_object_set_new_nocheck(o, "direction", imapi_string("client"));
        imapi_object_set_new_nocheck(o, "kind", imapi_string(d->parts == 0 ? "command" : "continuation_data"));
        if (d->line_tag[0])
            osetl(o, "tag", json_bytes(d->line_tag, strlen(d->line_tag)));
        if (d->line_cmd[0])
            osetl(o, "command", json_bytes(d->line_cmd, strlen(d->line_cmd)));
        imapi_object_set_new_nocheck(o, "part", imapi_integer((int64_t)d->parts + 1));
        char buf[CORE_LINE_TEXT_MAX * 4 + 8];
        size_t sf = imapi_client_secret_from(s, d->buf, end);
        size_t from = sf == SIZE_MAX ? SIZE_MAX : sf > d->part_off ? sf - d->part_off : 0;
        size_t n = render_text(d, d->buf + d->part_off, end - d->part_off, d->part_lit, d->parts > 0,
                               from, buf, sizeof buf);
        osetl(o, "text", imapi_stringn(buf, n));
        imap_line l;
        line_fill(o, &l);
        imap_event ev = { .type = IMAP_EV_LINE, .dir = IMAP_DIR_CLIENT, .ts_us = s->now,
                          .offset = d->parts == 0 ? d->line_start : d->part_wire, .line = &l, .data = o };
        imapi_emit(s, &ev);
        imapi_decref(o);
    }
    d->parts++;
    d->part_off = d->len;
    d->part_lit = d->nlits; /* the literal about to begin leads the next part */
    d->part_wire = d->offset;
}
