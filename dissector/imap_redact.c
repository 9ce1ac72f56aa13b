/*
 * imap_redact.c - where the secrets of a client command line are
 * (contract in imap_redact.h).
 */
#include "imap_redact.h"

#include <string.h>

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_word_end(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* The keyword LOGIN or AUTHENTICATE at t[i..] (any case) not followed by
 * a letter or digit: its length, 0 when none. */
static size_t keyword_at(const char *t, size_t i, size_t len, imap_redact_kind *kind)
{
    static const struct { const char *w; imap_redact_kind k; } kw[] = {
        { "LOGIN", IMAP_REDACT_LOGIN }, { "AUTHENTICATE", IMAP_REDACT_AUTHENTICATE },
    };
    for (size_t k = 0; k < sizeof kw / sizeof kw[0]; k++) {
        size_t n = strlen(kw[k].w), j;
        if (len - i < n)
            continue;
        for (j = 0; j < n && upper(t[i + j]) == kw[k].w[j]; j++)
            ;
        if (j == n && (i + n == len || !is_alnum(t[i + n]))) {
            *kind = kw[k].k;
            return n;
        }
    }
    return 0;
}

/* RFC 9051 9: ATOM-CHAR (and resp-specials, for astring); 8-bit bytes
 * too, which some clients send in user names. */
static bool is_astring_char(char ch)
{
    unsigned char c = (unsigned char)ch;
    if (c <= 0x20 || c == 0x7f)
        return false;
    return c != '(' && c != ')' && c != '{' && c != '"' && c != '\\' && c != '%' && c != '*';
}

/* A literal marker "{" number ["+" / "-"] "}" at t[i..]: sets *size and
 * *after (the offset after the "}"); false when t[i..] is none. */
static bool literal_marker(const char *t, size_t i, size_t len, uint64_t *size, size_t *after)
{
    if (i >= len || t[i] != '{')
        return false;
    size_t j = i + 1;
    uint64_t n = 0;
    size_t digits = 0;
    while (j < len && t[j] >= '0' && t[j] <= '9' && digits < 19) {
        n = n * 10 + (uint64_t)(t[j] - '0');
        j++;
        digits++;
    }
    if (digits == 0 || j >= len)
        return false;
    if (t[j] == '+' || t[j] == '-')
        j++;
    if (j >= len || t[j] != '}')
        return false;
    *size = n;
    *after = j + 1;
    return true;
}

/* The end of the userid astring starting at u; false when it is not
 * well formed (so far).  *boundary: the text ends inside or right after a
 * literal marker or its data (a line still arriving in parts). */
static bool userid_end(const char *t, size_t u, size_t len, bool inline_literals, size_t *end, bool *boundary)
{
    *boundary = false;
    if (t[u] == '"') {
        /* RFC 9051 9: quoted = DQUOTE *QUOTED-CHAR DQUOTE */
        for (size_t j = u + 1; j < len; j++) {
            if (t[j] == '\r' || t[j] == '\n')
                return false;
            if (t[j] == '\\') {
                j++;
                continue;
            }
            if (t[j] == '"') {
                *end = j + 1;
                return true;
            }
        }
        return false; /* never closed: the password may be inside */
    }
    if (t[u] == '{') {
        /* RFC 9051 9: literal = "{" number64 ["+"] "}" CRLF *CHAR8 */
        uint64_t n;
        size_t j;
        if (!literal_marker(t, u, len, &n, &j))
            return false;
        if (j < len && t[j] == '\r')
            j++;
        if (j >= len) {
            *boundary = true;
            *end = len;
            return true;
        }
        if (t[j] != '\n')
            return false;
        j++;
        if (inline_literals) {
            if (n > len - j) {
                *boundary = true;
                *end = len;
                return true;
            }
            j += (size_t)n;
        }
        *end = j;
        return true;
    }
    size_t j = u;
    while (j < len && is_astring_char(t[j]))
        j++;
    if (j == u)
        return false;
    *end = j;
    return true;
}

imap_redact_kind imapi_redact_scan(const char *text, size_t len, bool inline_literals,
                                  size_t *secret_off, bool *clean)
{
    imap_redact_kind kind = IMAP_REDACT_NONE;
    *secret_off = len;
    *clean = true;
    size_t i = 0;
    while (i < len && is_ws(text[i]))
        i++;
    size_t w1s = i;
    size_t kl = keyword_at(text, w1s, len, &kind);
    size_t k; /* the keyword's end */
    bool second = false;
    if (kl) {
        k = w1s + kl;
    } else {
        while (i < len && !is_word_end(text[i]))
            i++;
        size_t w1e = i;
        while (i < len && is_ws(text[i]))
            i++;
        if (i == w1e) /* no second word on this line */
            return IMAP_REDACT_NONE;
        kl = keyword_at(text, i, len, &kind);
        if (!kl)
            return IMAP_REDACT_NONE;
        k = i + kl;
        second = w1s == 0 && w1e > 0 && text[w1e] == ' ' && i == w1e + 1;
    }
    /* the exact shape: "tag SP KEYWORD" then SP or the end */
    bool shaped = second && (k == len || text[k] == ' ');
    if (k == len) {
        *clean = shaped;
        return kind;
    }
    size_t unclean_off = is_ws(text[k]) ? k + 1 : k;
    if (!shaped) {
        *clean = false;
        *secret_off = unclean_off;
        return kind;
    }
    size_t a = k + 1; /* the first argument */
    if (a == len)
        return kind;
    size_t e;
    if (kind == IMAP_REDACT_AUTHENTICATE) {
        /* RFC 9051 9: auth-type = atom (RFC 4422 3.1 mechanism names) */
        e = a;
        while (e < len && (is_alnum(text[e]) || text[e] == '-' || text[e] == '_'))
            e++;
        if (e == a || (e < len && text[e] != ' ')) {
            *clean = false;
            *secret_off = unclean_off;
            return kind;
        }
    } else {
        bool boundary;
        if (!userid_end(text, a, len, inline_literals, &e, &boundary) || (e < len && text[e] != ' ')) {
            *clean = false;
            *secret_off = unclean_off;
            return kind;
        }
        if (boundary)
            return kind;
    }
    if (e < len && e + 1 < len)
        *secret_off = e + 1;
    return kind;
}

bool imapi_redact_looks_like_command(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && text[i] != ' ') {
        char c = text[i];
        if (!is_astring_char(c) || (unsigned char)c >= 0x80 || c == '+')
            return false;
        i++;
    }
    if (i == 0 || i >= len)
        return false;
    size_t c = ++i;
    while (i < len && ((text[i] >= 'A' && text[i] <= 'Z') || (text[i] >= 'a' && text[i] <= 'z')))
        i++;
    return i > c && (i == len || text[i] == ' ');
}

/* Appends n bytes to out[*o..cap - 1). */
static void put(char *out, size_t cap, size_t *o, const char *p, size_t n)
{
    if (cap == 0 || *o >= cap - 1)
        return;
    if (n > cap - 1 - *o)
        n = cap - 1 - *o;
    memcpy(out + *o, p, n);
    *o += n;
}

/* The end of the logical line starting at i in raw bytes: the offset of
 * its final LF (or len), past the data of every literal it announces. */
static size_t raw_line_end(const char *t, size_t i, size_t len)
{
    size_t pos = i;
    for (;;) {
        const char *lf = memchr(t + pos, '\n', len - pos);
        if (!lf)
            return len;
        size_t le = (size_t)(lf - t);
        size_t ce = le > i && t[le - 1] == '\r' ? le - 1 : le;
        /* does the segment end with a literal marker? */
        size_t ob = ce;
        while (ob > i && t[ob - 1] != '{' && ce - ob < 24)
            ob--;
        uint64_t n;
        size_t after;
        if (ob == i || t[ob - 1] != '{' || !literal_marker(t, ob - 1, ce, &n, &after) || after != ce)
            return le;
        if (n >= len - le - 1)
            return len;
        pos = le + 1 + (size_t)n;
    }
}

size_t imapi_redact_raw(char *out, size_t cap, const uint8_t *data, size_t len)
{
    const char *t = (const char *)data;
    size_t o = 0, i = 0;
    bool after_secret = false; /* the previous line was LOGIN / AUTHENTICATE / redacted */
    while (i < len && (cap == 0 || o < cap - 1)) {
        size_t le = raw_line_end(t, i, len);
        size_t tl = le - i;
        if (le < len && tl > 0 && t[le - 1] == '\r')
            tl--;
        size_t so;
        bool clean;
        imap_redact_kind kind = imapi_redact_scan(t + i, tl, true, &so, &clean);
        if (kind != IMAP_REDACT_NONE) {
            put(out, cap, &o, t + i, so);
            if (so < tl)
                put(out, cap, &o, IMAP_REDACT_MARK, strlen(IMAP_REDACT_MARK));
            after_secret = true;
        } else if (after_secret && tl > 0 && !imapi_redact_looks_like_command(t + i, tl)) {
            put(out, cap, &o, IMAP_REDACT_MARK, strlen(IMAP_REDACT_MARK));
        } else {
            put(out, cap, &o, t + i, tl);
            after_secret = false;
        }
        /* the line's terminator as it was */
        put(out, cap, &o, t + i + tl, (le < len ? le + 1 : len) - (i + tl));
        i = le < len ? le + 1 : len;
    }
    return o;
}
