/*
 * imap_value.c - arena, generic-value tokenizer and value accessors.
 *
 * Grammar: RFC 9051 9 (and RFC 3501 9) generic values, read leniently the
 * way real servers and clients need:
 *   atom     = 1*ATOM-CHAR, here widened with "\" (flags, "\Seen", "\*"),
 *              list-wildcards "%" / "*" and "]" outside sections (astring)
 *   number64 = 1*DIGIT fitting in 63/64 bits
 *   quoted   = DQUOTE *QUOTED-CHAR DQUOTE (escapes "\\" and "\""; 8-bit
 *              bytes accepted, RFC 9051 allows UTF-8 there)
 *   literal  = "{" number64 ["+" / "-"] "}" CRLF *CHAR8  (RFC 7888)
 *   literal8 = "~{" number64 ["+"] "}" CRLF *OCTET        (RFC 3516)
 *   nil      = "NIL"
 *   list     = "(" [value *(SP value)] ")"
 *   section  = "[" [section-spec] "]" ["<" number ["." nz-number] ">"]
 *              directly after an atom (BODY[...], BINARY.PEEK[...]).
 * The tokenizer is iterative (an explicit stack capped at IMAP_MAX_DEPTH
 * frames), so a hostile line cannot exhaust the C stack; every value comes
 * from the caller's arena, whose cap bounds memory.
 */
#include "imap_value.h"

#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- arena */

#define ARENA_ALIGN        16u
/* ARENA_BLOCK_MIN, ARENA_KEEP_MAX: imap_limits.h */

struct imap_arena_block {
    struct imap_arena_block *next;  /* older block */
    size_t size;                    /* bytes in data */
    size_t used;
    alignas(16) unsigned char data[];
};

void imapi_arena_init(imap_arena *a, size_t cap)
{
    a->head = NULL;
    a->used_total = 0;
    a->cap = cap;
}

static struct imap_arena_block *arena_block_new(size_t size)
{
    struct imap_arena_block *b = malloc(sizeof(*b) + size);
    if (b == NULL)
        return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

/* Returns n bytes aligned to 16, or NULL when the cap would be passed (or
 * out of memory).  Zero bytes give a valid non-NULL pointer. */
void *imapi_arena_alloc(imap_arena *a, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need > a->cap || a->used_total > a->cap - need)
        return NULL;
    struct imap_arena_block *b = a->head;
    if (b == NULL || need > b->size - b->used) {
        size_t size = need > ARENA_BLOCK_MIN ? need : ARENA_BLOCK_MIN;
        if (b != NULL && size < b->size * 2 && b->size * 2 <= a->cap)
            size = b->size * 2;      /* geometric growth within one line */
        struct imap_arena_block *nb = arena_block_new(size);
        if (nb == NULL)
            return NULL;
        nb->next = b;
        a->head = nb;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->used_total += need;
    return p;
}

char *imapi_arena_strndup(imap_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *d = imapi_arena_alloc(a, n + 1);
    if (d == NULL)
        return NULL;
    if (n > 0)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Keeps one block so that the next line allocates nothing.  When the last
 * line needed several blocks, the kept block is regrown once to the size
 * that line needed (at most ARENA_KEEP_MAX), so a steady stream of
 * similar lines stops allocating. */
void imapi_arena_reset(imap_arena *a)
{
    struct imap_arena_block *b = a->head;
    if (b == NULL) {
        a->used_total = 0;
        return;
    }
    if (b->next == NULL) {
        b->used = 0;
        a->used_total = 0;
        return;
    }
    size_t want = a->used_total;
    while (b != NULL) {
        struct imap_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used_total = 0;
    size_t size = ARENA_BLOCK_MIN;
    while (size < want && size < ARENA_KEEP_MAX)
        size *= 2;
    a->head = arena_block_new(size); /* NULL is fine: the next alloc retries */
}

void imapi_arena_free(imap_arena *a)
{
    struct imap_arena_block *b = a->head;
    while (b != NULL) {
        struct imap_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used_total = 0;
}

/* ------------------------------------------------------------ tokenizer */

/* IMAP_MAX_DEPTH: imap_limits.h */

enum frame_kind { FRAME_TOP, FRAME_LIST, FRAME_SECTION };

typedef struct tok_frame {
    imap_value *list;   /* the LIST being filled */
    imap_value *tail;   /* its last child */
    size_t      start;  /* offset of "(" or "[" */
    enum frame_kind kind;
} tok_frame;

typedef struct tok_state {
    imap_arena *a;
    const char *text;   /* arena copy of the input (raw pointers point here) */
    size_t      len;
    size_t      pos;
    const imap_literal *lits;
    size_t      nlits;
    size_t      lit_i;
    const char *err;
    size_t      err_off;
    bool        oom;
} tok_state;

static void tok_error(tok_state *t, const char *msg, size_t off)
{
    if (t->err == NULL) {
        t->err = msg;
        t->err_off = off;
    }
}

static imap_value *value_new(tok_state *t, imap_vtype type, size_t start)
{
    imap_value *v = imapi_arena_alloc(t->a, sizeof(*v));
    if (v == NULL) {
        t->oom = true;
        return NULL;
    }
    memset(v, 0, sizeof(*v));
    v->type = type;
    v->raw = t->text + start;
    v->s = "";
    return v;
}

static void frame_append(tok_frame *f, imap_value *v)
{
    if (f->tail == NULL)
        f->list->child = v;
    else
        f->tail->next = v;
    f->tail = v;
    f->list->count++;
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A byte that ends an atom.  RFC 9051 9: atom-specials = "(" / ")" / "{" /
 * SP / CTL / list-wildcards / quoted-specials / resp-specials.  We accept
 * "%", "*", "\" (flags, patterns) and other CTLs (lenient), and "]" only
 * outside sections and response-code arguments (ASTRING-CHAR allows it). */
static bool ends_atom(unsigned char c, bool bracket_ends)
{
    switch (c) {
    case ' ': case '\t': case '\r': case '\n':
    case '(': case ')': case '{': case '"':
        return true;
    case ']':
        return bracket_ends;
    default:
        return false;
    }
}

/* Parses a literal marker at t->pos: "{n}", "{n+}", "{n-}" or "~{n}"
 * followed by CRLF (or the end of the text).  Returns 1 and sets *v when it
 * is one, 0 when the bytes are not a marker (the caller reads an atom),
 * -1 on error (marker without its record). */
static int tok_literal(tok_state *t, imap_value **out)
{
    size_t p = t->pos;
    bool binary = false;
    if (t->text[p] == '~') {
        binary = true;
        p++;
    }
    if (p >= t->len || t->text[p] != '{')
        return 0;
    p++;
    uint64_t n = 0;
    size_t digits = 0;
    while (p < t->len && t->text[p] >= '0' && t->text[p] <= '9') {
        unsigned d = (unsigned)(t->text[p] - '0');
        if (n > (UINT64_MAX - d) / 10)
            return 0;
        n = n * 10 + d;
        p++;
        digits++;
    }
    if (digits == 0 || p >= t->len)
        return 0;
    char mode = 0;
    if (t->text[p] == '+' || t->text[p] == '-') {
        mode = t->text[p];
        p++;
    }
    if (p >= t->len || t->text[p] != '}')
        return 0;
    p++;
    /* RFC 9051 9: the marker is followed by CRLF; accept a bare LF or the
     * end of the text (the line framer removes the final CRLF). */
    if (p < t->len && t->text[p] == '\r')
        p++;
    if (p < t->len && t->text[p] == '\n')
        p++;
    if (t->lits == NULL || t->lit_i >= t->nlits) {
        tok_error(t, "literal marker without literal data", t->pos);
        return -1;
    }
    const imap_literal *lit = &t->lits[t->lit_i++];
    imap_value *v = value_new(t, IV_LITERAL, t->pos);
    if (v == NULL)
        return -1;
    v->lit = lit;
    v->num = n;
    v->raw_len = p - t->pos;
    size_t kl = lit->kept != NULL ? lit->kept_len : 0;
    char *s = imapi_arena_strndup(t->a, (const char *)lit->kept, kl);
    if (s == NULL) {
        t->oom = true;
        return -1;
    }
    v->s = s;
    v->len = kl;
    (void)binary;
    (void)mode;
    t->pos = p;
    *out = v;
    return 1;
}

/* Quoted string at t->pos (on the DQUOTE).  RFC 9051 9: quoted = DQUOTE
 * *QUOTED-CHAR DQUOTE; QUOTED-CHAR = <any TEXT-CHAR except quoted-specials>
 * / "\" quoted-specials / UTF8-2..4.  A backslash before any other byte
 * keeps that byte (lenient).  CR or LF inside is an error. */
static imap_value *tok_quoted(tok_state *t)
{
    size_t start = t->pos;
    size_t p = start + 1;
    size_t outlen = 0;
    /* first pass: find the end and the unescaped length */
    for (;;) {
        if (p >= t->len || t->text[p] == '\r' || t->text[p] == '\n') {
            tok_error(t, "unterminated quoted string", start);
            return NULL;
        }
        char c = t->text[p];
        if (c == '"')
            break;
        if (c == '\\') {
            if (p + 1 >= t->len) {
                tok_error(t, "unterminated quoted string", start);
                return NULL;
            }
            p++;
        }
        p++;
        outlen++;
    }
    size_t end = p; /* on the closing quote */
    imap_value *v = value_new(t, IV_QUOTED, start);
    if (v == NULL)
        return NULL;
    char *s = imapi_arena_alloc(t->a, outlen + 1);
    if (s == NULL) {
        t->oom = true;
        return NULL;
    }
    size_t o = 0;
    for (size_t i = start + 1; i < end; i++) {
        if (t->text[i] == '\\')
            i++;
        s[o++] = t->text[i];
    }
    s[o] = '\0';
    v->s = s;
    v->len = o;
    v->raw_len = end + 1 - start;
    t->pos = end + 1;
    return v;
}

/* Classifies a finished atom: NIL, number64 or atom. */
static void atom_classify(imap_value *v)
{
    if (v->len == 3 && (v->s[0] | 0x20) == 'n' && (v->s[1] | 0x20) == 'i' &&
        (v->s[2] | 0x20) == 'l' && v->section == NULL) {
        v->type = IV_NIL;
        return;
    }
    if (v->len == 0 || v->len > 20 || v->section != NULL)
        return;
    uint64_t n = 0;
    for (size_t i = 0; i < v->len; i++) {
        unsigned char c = (unsigned char)v->s[i];
        if (c < '0' || c > '9')
            return;
        unsigned d = c - '0';
        if (n > (UINT64_MAX - d) / 10)
            return;
        n = n * 10 + d;
    }
    v->type = IV_NUMBER;
    v->num = n;
}

/* Reads "<...>" right after a section's "]": RFC 9051 9 partial
 * "<" number64 ["." nz-number64] ">" (lenient: any bytes but specials, at
 * most 64). */
static void tok_partial(tok_state *t, imap_value *atom)
{
    size_t p = t->pos;
    if (p >= t->len || t->text[p] != '<')
        return;
    size_t q = p + 1;
    while (q < t->len && q - p <= 64 && t->text[q] != '>' &&
           !ends_atom((unsigned char)t->text[q], true))
        q++;
    if (q >= t->len || t->text[q] != '>')
        return;
    const char *s = imapi_arena_strndup(t->a, t->text + p + 1, q - p - 1);
    if (s == NULL) {
        t->oom = true;
        return;
    }
    atom->partial = s;
    t->pos = q + 1;
}

/* Closes a frame's list: raw text from its opener to pos. */
static void frame_close(tok_state *t, tok_frame *f, size_t end)
{
    f->list->raw_len = end - f->start;
}

/* A section frame ends at "]": the atom gets its raw text and partial. */
static void section_close(tok_state *t, tok_frame *f, imap_value *atom)
{
    size_t inner_start = f->start + 1;
    size_t inner_len = t->pos - inner_start;  /* pos is on "]" */
    char *raw = imapi_arena_strndup(t->a, t->text + inner_start, inner_len);
    if (raw == NULL) {
        t->oom = true;
        return;
    }
    atom->section_raw = raw;
    t->pos++; /* "]" */
    frame_close(t, f, t->pos);
    tok_partial(t, atom);
    atom->raw_len = (size_t)(t->text + t->pos - atom->raw);
}

imap_value *imapi_tokenize(imap_arena *a, const char *text, size_t len,
                          const imap_literal *lits, size_t nlits, size_t *lit_index,
                          bool stop_at_bracket, size_t *consumed,
                          const char **err, size_t *err_off)
{
    tok_state t;
    memset(&t, 0, sizeof(t));
    t.a = a;
    t.len = len;
    t.lits = lits;
    t.nlits = nlits;
    t.lit_i = lit_index != NULL ? *lit_index : 0;
    if (err != NULL)
        *err = NULL;
    if (err_off != NULL)
        *err_off = 0;
    if (consumed != NULL)
        *consumed = 0;

    char *copy = imapi_arena_strndup(a, text != NULL ? text : "", text != NULL ? len : 0);
    if (copy == NULL)
        return NULL;
    t.text = copy;

    imap_value *top = value_new(&t, IV_LIST, 0);
    if (top == NULL)
        return NULL;

    tok_frame stack[IMAP_MAX_DEPTH + 1];
    imap_value *owner[IMAP_MAX_DEPTH + 1]; /* SECTION frame: its atom */
    size_t depth = 0;
    stack[0] = (tok_frame){ .list = top, .tail = NULL, .start = 0, .kind = FRAME_TOP };
    owner[0] = NULL;

    while (t.pos < t.len && t.err == NULL && !t.oom) {
        tok_frame *f = &stack[depth];
        unsigned char c = (unsigned char)t.text[t.pos];
        if (is_space(c)) {
            t.pos++;
            continue;
        }
        if (c == '(') {
            if (depth >= IMAP_MAX_DEPTH) {
                tok_error(&t, "lists nested too deeply", t.pos);
                break;
            }
            imap_value *l = value_new(&t, IV_LIST, t.pos);
            if (l == NULL)
                break;
            frame_append(f, l);
            depth++;
            stack[depth] = (tok_frame){ .list = l, .tail = NULL, .start = t.pos, .kind = FRAME_LIST };
            owner[depth] = NULL;
            t.pos++;
            continue;
        }
        if (c == ')') {
            if (f->kind != FRAME_LIST) {
                tok_error(&t, "unbalanced ')'", t.pos);
                break;
            }
            t.pos++;
            frame_close(&t, f, t.pos);
            depth--;
            continue;
        }
        if (c == ']' && f->kind == FRAME_SECTION) {
            section_close(&t, f, owner[depth]);
            depth--;
            continue;
        }
        if (c == ']' && stop_at_bracket) {
            if (depth > 0)
                tok_error(&t, "unbalanced '(' before ']'", stack[depth].start);
            break; /* response code end: not an error at depth 0 */
        }
        if (c == '"') {
            imap_value *v = tok_quoted(&t);
            if (v == NULL)
                break;
            frame_append(f, v);
            continue;
        }
        if (c == '{' || (c == '~' && t.pos + 1 < t.len && t.text[t.pos + 1] == '{')) {
            imap_value *v = NULL;
            int r = tok_literal(&t, &v);
            if (r < 0)
                break;
            if (r > 0) {
                frame_append(f, v);
                continue;
            }
            /* not a marker: read it as an atom below */
        }
        /* atom (possibly NIL / number / atom with section) */
        bool in_section = f->kind == FRAME_SECTION;
        bool bracket_ends = in_section || stop_at_bracket;
        size_t start = t.pos;
        size_t p = t.pos + 1; /* the first byte is taken whatever it is */
        while (p < t.len) {
            unsigned char d = (unsigned char)t.text[p];
            if (ends_atom(d, bracket_ends) || (d == '[' && !in_section))
                break;
            p++;
        }
        imap_value *v = value_new(&t, IV_ATOM, start);
        if (v == NULL)
            break;
        char *s = imapi_arena_strndup(t.a, t.text + start, p - start);
        if (s == NULL) {
            t.oom = true;
            break;
        }
        v->s = s;
        v->len = p - start;
        v->raw_len = p - start;
        t.pos = p;
        frame_append(f, v);
        if (p < t.len && t.text[p] == '[' && !in_section) {
            /* RFC 9051 9: section = "[" [section-spec] "]" after an atom */
            if (depth >= IMAP_MAX_DEPTH) {
                tok_error(&t, "lists nested too deeply", p);
                break;
            }
            imap_value *sec = value_new(&t, IV_LIST, p);
            if (sec == NULL)
                break;
            v->section = sec;
            depth++;
            stack[depth] = (tok_frame){ .list = sec, .tail = NULL, .start = p, .kind = FRAME_SECTION };
            owner[depth] = v;
            t.pos = p + 1;
            continue;
        }
        atom_classify(v);
    }

    if (t.oom)
        return NULL;
    if (t.err == NULL && depth > 0) {
        tok_error(&t, stack[depth].kind == FRAME_SECTION ? "unterminated section" : "unterminated list",
                  stack[depth].start);
    }
    /* close what is left open so the tree is well formed */
    while (depth > 0) {
        frame_close(&t, &stack[depth], t.pos);
        if (stack[depth].kind == FRAME_SECTION && owner[depth] != NULL) {
            imap_value *at = owner[depth];
            at->section_raw = imapi_arena_strndup(a, t.text + stack[depth].start + 1,
                                                 t.pos - stack[depth].start - 1);
            if (at->section_raw == NULL)
                return NULL;
            at->raw_len = (size_t)(t.text + t.pos - at->raw);
        }
        depth--;
    }
    top->raw_len = t.pos;
    if (consumed != NULL)
        *consumed = t.pos;
    if (lit_index != NULL)
        *lit_index = t.lit_i;
    if (err != NULL)
        *err = t.err;
    if (err_off != NULL)
        *err_off = t.err_off;
    return top;
}

/* ------------------------------------------------------------ accessors */

const imap_value *imapi_list_nth(const imap_value *list, size_t n)
{
    if (list == NULL || list->type != IV_LIST)
        return NULL;
    const imap_value *v = list->child;
    while (v != NULL && n > 0) {
        v = v->next;
        n--;
    }
    return v;
}

bool imapi_value_is_atom(const imap_value *v, const char *name_ci)
{
    if (v == NULL || v->type != IV_ATOM || name_ci == NULL)
        return false;
    size_t n = strlen(name_ci);
    return v->len == n && strncasecmp(v->s, name_ci, n) == 0;
}

bool imapi_value_is_string(const imap_value *v)
{
    return v != NULL && (v->type == IV_QUOTED || v->type == IV_LITERAL);
}

bool imapi_value_is_astring(const imap_value *v)
{
    return v != NULL && (v->type == IV_ATOM || v->type == IV_NUMBER ||
                         v->type == IV_QUOTED || v->type == IV_LITERAL);
}

bool imapi_value_is_nstring(const imap_value *v)
{
    return v != NULL && (v->type == IV_QUOTED || v->type == IV_LITERAL || v->type == IV_NIL);
}

const char *imapi_value_text(const imap_value *v, size_t *len, bool *truncated)
{
    if (truncated != NULL)
        *truncated = false;
    if (v == NULL) {
        if (len != NULL)
            *len = 0;
        return NULL;
    }
    switch (v->type) {
    case IV_NIL:
        if (len != NULL)
            *len = 0;
        return "";
    case IV_LIST:
        if (len != NULL)
            *len = v->raw != NULL ? v->raw_len : 0;
        return v->raw != NULL ? v->raw : "";
    case IV_LITERAL:
        if (truncated != NULL && v->lit != NULL)
            *truncated = v->len < v->lit->size;
        break;
    default:
        break;
    }
    if (len != NULL)
        *len = v->len;
    return v->s != NULL ? v->s : "";
}

/* ----------------------------------------------------------------- JSON */

/* Length of the valid UTF-8 sequence at p (RFC 3629 3 table: no overlongs,
 * no surrogates, at most U+10FFFF), 0 when invalid.  NUL counts invalid so
 * that it is escaped visibly. */
static size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
    return p[0] == 0 ? 0 : imapi_utf8_seq(p, p + avail, NULL);
}

imap_node *imapi_json_bytes(const char *s, size_t len)
{
    if (s == NULL)
        return imapi_string("");
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    bool clean = true;
    while (i < len) {
        if (p[i] - 1u < 0x7Fu) { /* ASCII but NUL: the common case */
            i++;
            continue;
        }
        size_t n = utf8_seq_len(p + i, len - i);
        if (n == 0) {
            clean = false;
            break;
        }
        i += n;
    }
    /* checked above as jansson would (utf8_seq_len is as strict): its own
     * check is skipped */
    if (clean)
        return imapi_stringn_nocheck(s, len);
    if (len > (SIZE_MAX - 1) / 4)
        return NULL;
    char *buf = malloc(len * 4 + 1);
    if (buf == NULL)
        return NULL;
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    i = 0;
    while (i < len) {
        size_t n = utf8_seq_len(p + i, len - i);
        if (n == 0) {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[p[i] >> 4];
            buf[o++] = hex[p[i] & 15];
            i++;
        } else {
            memcpy(buf + o, p + i, n);
            o += n;
            i += n;
        }
    }
    imap_node *j = imapi_stringn_nocheck(buf, o); /* valid by construction */
    free(buf);
    return j;
}

/* Printable text: valid UTF-8 without control bytes other than TAB, CR, LF. */
static bool text_printable(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return false;
        if (p[i] == 0x7f)
            return false;
        size_t n = utf8_seq_len(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

static imap_node *sha256_hex_json(const uint8_t d[32])
{
    char buf[65];
    imapi_hex_encode(d, 32, buf);
    return imapi_string(buf);
}

static imap_node *value_to_json_depth(const imap_value *v, unsigned depth)
{
    if (v == NULL || depth > 2 * IMAP_MAX_DEPTH + 2)
        return imapi_null();
    switch (v->type) {
    case IV_NIL:
        return imapi_null();
    case IV_NUMBER:
        if (v->num > (uint64_t)INT64_MAX) /* jansson integers are signed */
            return imapi_json_bytes(v->s, v->len);
        return imapi_integer((int64_t)v->num);
    case IV_QUOTED:
        return imapi_json_bytes(v->s, v->len);
    case IV_LITERAL: {
        imap_node *o = imapi_object();
        if (o == NULL)
            return NULL;
        uint64_t size = v->lit != NULL ? v->lit->size : v->num;
        imapi_object_set_new_nocheck(o, "literal_size", imapi_integer((int64_t)(size & INT64_MAX)));
        if (v->lit != NULL) {
            if (v->lit->received < v->lit->size)
                imapi_object_set_new_nocheck(o, "received", imapi_integer((int64_t)(v->lit->received & INT64_MAX)));
            if (v->lit->has_sha256)
                imapi_object_set_new_nocheck(o, "sha256", sha256_hex_json(v->lit->sha256));
            if (v->lit->binary)
                imapi_object_set_new_nocheck(o, "binary", imapi_true());
            if (v->lit->kept != NULL && text_printable(v->s, v->len))
                imapi_object_set_new_nocheck(o, "text", imapi_stringn(v->s, v->len));
        }
        return o;
    }
    case IV_LIST: {
        imap_node *arr = imapi_array();
        if (arr == NULL)
            return NULL;
        for (const imap_value *c = v->child; c != NULL; c = c->next)
            imapi_array_append_new(arr, value_to_json_depth(c, depth + 1));
        return arr;
    }
    case IV_ATOM:
    default:
        if (v->section == NULL)
            return imapi_json_bytes(v->s, v->len);
        {
            imap_node *o = imapi_object();
            if (o == NULL)
                return NULL;
            imapi_object_set_new_nocheck(o, "name", imapi_json_bytes(v->s, v->len));
            const char *sr = v->section_raw != NULL ? v->section_raw : "";
            imapi_object_set_new_nocheck(o, "section", imapi_json_bytes(sr, strlen(sr)));
            if (v->partial != NULL)
                imapi_object_set_new_nocheck(o, "partial", imapi_json_bytes(v->partial, strlen(v->partial)));
            return o;
        }
    }
}

imap_node *imapi_value_to_json(const imap_value *v)
{
    return value_to_json_depth(v, 0);
}
