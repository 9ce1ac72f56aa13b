/*
 * imap_litinfo.c - what a literal carries, for the literal sink
 * (imap_literal_info of imap.h): read from the text of the logical line up
 * to the literal's marker (the literal bytes themselves are not in the
 * line buffer, only their "{n}" CRLF markers).  A small tokenizer of its
 * own, independent of the grammar decoders: it runs before the line is
 * complete, when those cannot.
 *
 *   server, RFC 9051 9:
 *     message-data   = nz-number SP ("EXPUNGE" / ("FETCH" SP msg-att))
 *     msg-att        = "(" (msg-att-dynamic / msg-att-static)
 *                          *(SP (msg-att-dynamic / msg-att-static)) ")"
 *     msg-att-static = ... / "RFC822" SP nstring / "RFC822.HEADER" SP nstring /
 *                      "RFC822.TEXT" SP nstring / "UID" SP uniqueid /
 *                      "BODY" section ["<" number ">"] SP nstring /
 *                      "BINARY" section-binary ["<" number ">"] SP (nstring / literal8)
 *     section        = "[" [section-spec] "]"
 *   client, RFC 9051 9 and RFC 3502 / RFC 4469:
 *     append         = "APPEND" SP mailbox 1*append-message
 *     append-message = [SP flag-list] [SP date-time] SP (literal / "CATENATE" SP "(" cat-part *(SP cat-part) ")")
 *     cat-part       = "TEXT" SP literal / "URL" SP astring
 */
#include "imap_session_int.h"

#include <stdio.h>

typedef enum ltok { LT_END, LT_ATOM, LT_QUOTED, LT_LITERAL, LT_LPAREN, LT_RPAREN } ltok;

typedef struct lscan {
    const char *p, *end;
    const char *tok;     /* token text (atom: the atom; quoted: inside the quotes) */
    size_t      tok_len;
    bool        ours;    /* LT_LITERAL: the marker is the last thing of the text */
} lscan;

static void skip_sp(lscan *c)
{
    while (c->p < c->end && *c->p == ' ')
        c->p++;
}

/* "{" digits ["+" / "-"] "}" CRLF, or with a leading "~" (literal8). */
static bool at_literal(const lscan *c, const char **after)
{
    const char *q = c->p;
    if (q < c->end && *q == '~')
        q++;
    if (q >= c->end || *q != '{')
        return false;
    q++;
    const char *d = q;
    while (q < c->end && *q >= '0' && *q <= '9')
        q++;
    if (q == d)
        return false;
    if (q < c->end && (*q == '+' || *q == '-'))
        q++;
    if (q >= c->end || *q != '}')
        return false;
    q++;
    if (c->end - q >= 2 && q[0] == '\r' && q[1] == '\n')
        q += 2;
    else if (q != c->end)
        return false;
    *after = q;
    return true;
}

static ltok lscan_next(lscan *c)
{
    const char *after;

    skip_sp(c);
    c->tok = c->p;
    c->tok_len = 0;
    c->ours = false;
    if (c->p >= c->end)
        return LT_END;
    char ch = *c->p;
    if (ch == '(') {
        c->p++;
        return LT_LPAREN;
    }
    if (ch == ')') {
        c->p++;
        return LT_RPAREN;
    }
    if (ch == '"') {
        const char *q = ++c->p;
        while (q < c->end && *q != '"') {
            if (*q == '\\' && q + 1 < c->end)
                q++;
            q++;
        }
        c->tok = c->p;
        c->tok_len = (size_t)(q - c->p);
        c->p = q < c->end ? q + 1 : q;
        return LT_QUOTED;
    }
    if (at_literal(c, &after)) {
        c->tok_len = (size_t)(after - c->p);
        c->p = after;
        c->ours = after == c->end;
        return LT_LITERAL;
    }
    /* an atom, with fetch-att decorations: "BODY[HEADER.FIELDS (A B)]<0>"
     * (spaces and parentheses inside brackets belong to it) */
    const char *q = c->p;
    while (q < c->end && *q != ' ' && *q != '(' && *q != ')' && *q != '\r' && *q != '\n') {
        if (*q == '[') {
            const char *rb = memchr(q, ']', (size_t)(c->end - q));
            q = rb ? rb + 1 : c->end;
            continue;
        }
        q++;
    }
    if (q == c->p)
        q++; /* a lone CR or LF: one byte */
    c->tok_len = (size_t)(q - c->p);
    c->p = q;
    return LT_ATOM;
}

/* Skips a parenthesised group whose "(" was just read; true when our
 * literal is inside (*ours_inside). */
static void skip_group(lscan *c, bool *ours_inside)
{
    int depth = 1;
    for (;;) {
        ltok t = lscan_next(c);
        if (t == LT_END)
            return;
        if (t == LT_LITERAL && c->ours)
            *ours_inside = true;
        if (t == LT_LPAREN && depth < 64)
            depth++;
        else if (t == LT_RPAREN && --depth == 0)
            return;
    }
}

static bool parse_u32(const char *p, size_t n, uint32_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 10)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    if (v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool tok_is(const lscan *c, const char *w)
{
    return ci_eq(c->tok, c->tok_len, w);
}

static bool fetch_item_carries_message(const char *name, size_t n)
{
    return (n >= 5 && strncasecmp(name, "BODY[", 5) == 0) ||
           (n >= 7 && strncasecmp(name, "BINARY[", 7) == 0) ||
           ci_eq(name, n, "RFC822") || ci_eq(name, n, "RFC822.HEADER") || ci_eq(name, n, "RFC822.TEXT");
}

/* The section of a fetch item: upper case, the partial "<n>" removed. */
static void set_section(imap_literal_info *out, char *section, size_t seccap, const char *name, size_t n)
{
    if (n > 0 && name[n - 1] == '>') {
        const char *lt = NULL;
        for (size_t i = n; i-- > 0;)
            if (name[i] == '<') {
                lt = name + i;
                break;
            }
        if (lt) {
            uint64_t v = 0;
            bool ok = lt + 1 < name + n - 1;
            for (const char *q = lt + 1; q < name + n - 1 && ok; q++) {
                if (*q < '0' || *q > '9' || v > UINT64_MAX / 10 - 1)
                    ok = false;
                else
                    v = v * 10 + (uint64_t)(*q - '0');
            }
            if (ok) {
                out->has_origin = true;
                out->origin = v;
                n = (size_t)(lt - name);
            }
        }
    }
    copy_upper(section, seccap, name, n);
    out->section = section;
}

static void scan_fetch(const imap_session *s, const char *text, size_t len, imap_literal_info *out,
                       char *section, size_t seccap, bool line_end)
{
    lscan c = {text, text + len, NULL, 0, false};
    uint32_t seq;

    if (lscan_next(&c) != LT_ATOM || !tok_is(&c, "*"))
        return;
    if (lscan_next(&c) != LT_ATOM || !parse_u32(c.tok, c.tok_len, &seq))
        return;
    if (lscan_next(&c) != LT_ATOM || !tok_is(&c, "FETCH"))
        return;
    if (lscan_next(&c) != LT_LPAREN)
        return;
    out->seq = seq;
    if (s->selected_mb)
        out->mailbox = imapi_string_value(s->selected_mb);
    if (line_end)
        out->kind = IMAP_LITERAL_FETCH;
    for (;;) {
        ltok t = lscan_next(&c);
        if (t != LT_ATOM)
            return;
        const char *name = c.tok;
        size_t nlen = c.tok_len;
        t = lscan_next(&c);
        if (t == LT_END)
            return;
        if (t == LT_LPAREN) {
            bool inside = false;
            skip_group(&c, &inside);
            if (inside)
                return; /* a literal inside ENVELOPE, BODYSTRUCTURE...: OTHER */
            continue;
        }
        if (t == LT_ATOM && ci_eq(name, nlen, "UID")) {
            uint32_t uid;
            if (parse_u32(c.tok, c.tok_len, &uid)) {
                out->has_uid = true;
                out->uid = uid;
            }
            continue;
        }
        if (t == LT_LITERAL && c.ours && !line_end) {
            if (fetch_item_carries_message(name, nlen)) {
                out->kind = IMAP_LITERAL_FETCH;
                set_section(out, section, seccap, name, nlen);
            }
            return;
        }
    }
}

/* The APPEND target: atom, quoted (escapes removed), or a literal whose
 * first bytes were kept; then modified UTF-7 decoded. */
static void set_mailbox(const dir_state *d, ltok t, const lscan *c, imap_literal_info *out, char *mailbox,
                        size_t mbcap)
{
    char raw[CORE_MAILBOX_MAX];
    size_t n = 0, olen;

    if (t == LT_ATOM || t == LT_QUOTED) {
        for (size_t i = 0; i < c->tok_len && n + 1 < sizeof raw; i++) {
            if (t == LT_QUOTED && c->tok[i] == '\\' && i + 1 < c->tok_len)
                i++;
            raw[n++] = c->tok[i];
        }
    } else if (t == LT_LITERAL && d->nlits > 0 && d->lits[0].kept && d->lits[0].kept_len == d->lits[0].size) {
        n = d->lits[0].kept_len < sizeof raw - 1 ? d->lits[0].kept_len : sizeof raw - 1;
        memcpy(raw, d->lits[0].kept, n);
    } else {
        return;
    }
    raw[n] = '\0';
    if (memchr(raw, '\0', n))
        return;
    if (imapi_mutf7_to_utf8(raw, n, mailbox, mbcap, &olen) != 0)
        snprintf(mailbox, mbcap, "%s", raw);
    out->mailbox = mailbox;
}

static void scan_append(const dir_state *d, const char *text, size_t len, imap_literal_info *out, char *mailbox,
                        size_t mbcap, bool line_end)
{
    lscan c = {text, text + len, NULL, 0, false};
    bool after_catenate = false;

    if (lscan_next(&c) != LT_ATOM)          /* tag */
        return;
    if (lscan_next(&c) != LT_ATOM || !tok_is(&c, "APPEND"))
        return;
    ltok t = lscan_next(&c);                 /* mailbox */
    if (t == LT_LITERAL && c.ours)
        return;                              /* the mailbox itself: OTHER */
    set_mailbox(d, t, &c, out, mailbox, mbcap);
    if (line_end) {
        out->kind = IMAP_LITERAL_APPEND;
        return;
    }
    for (;;) {
        t = lscan_next(&c);
        if (t == LT_END)
            return;
        if (t == LT_LITERAL && c.ours) {
            out->kind = IMAP_LITERAL_APPEND;
            return;
        }
        if (t == LT_LPAREN && after_catenate) {
            /* cat-part = "TEXT" SP literal / "URL" SP astring */
            bool prev_text = false;
            for (;;) {
                ltok u = lscan_next(&c);
                if (u == LT_END || u == LT_RPAREN)
                    break;
                if (u == LT_LITERAL && c.ours) {
                    out->kind = prev_text ? IMAP_LITERAL_CATENATE : IMAP_LITERAL_OTHER;
                    return;
                }
                prev_text = u == LT_ATOM && tok_is(&c, "TEXT");
            }
            after_catenate = false;
            continue;
        }
        if (t == LT_LPAREN) {
            bool inside = false;
            skip_group(&c, &inside); /* flag-list */
            if (inside)
                return;
        }
        after_catenate = t == LT_ATOM && tok_is(&c, "CATENATE");
    }
}

/* Fills *out for the line text[0..len) of dir: at a literal's begin the
 * text ends with its marker and CRLF; at the end of a line (line_end) it
 * is the whole line.  section and mailbox are the caller's buffers (the
 * strings of *out point there or into the session). */
void imapi_literal_info_scan(const imap_session *s, imap_dir dir, const dir_state *d, const char *text, size_t len,
                             bool line_end, imap_literal_info *out, char *section, size_t seccap, char *mailbox,
                             size_t mbcap)
{
    section[0] = mailbox[0] = '\0';
    out->section = section;
    out->mailbox = mailbox;
    if (!text || len == 0)
        return;
    if (dir == IMAP_DIR_SERVER)
        scan_fetch(s, text, len, out, section, seccap, line_end);
    else
        scan_append(d, text, len, out, mailbox, mbcap, line_end);
}
