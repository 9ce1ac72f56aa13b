/*
 * imap_framing.c - the byte stream of each direction cut into logical
 * lines: line assembly whatever the split, literals (begin / data / end,
 * kept bytes, SHA-256), overlong lines, bare LF, gaps and resync, layer
 * switches (opaque TLS records), the per-thread scratch arena; hands each
 * complete line to imap_client.c or imap_server.c.  imap_session_feed,
 * imap_session_gap, imap_session_set_layer.
 *
 * RFC 9051 2.2 (lines end with CRLF), 4.3 and 9: literal = "{" number64
 * ["+"] "}" CRLF *CHAR8; RFC 7888 (literal-minus); RFC 3516 (literal8).
 */
#include "imap_session_int.h"
#include "imap_redact.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* --------------------------------------------------------------- helpers */

/* Budget charge of a line buffer of cap bytes: what is beyond the first
 * CORE_BUF_FIRST (every session may have that much). */
static size_t buf_charge(size_t cap)
{
    return cap > CORE_BUF_FIRST ? cap - CORE_BUF_FIRST : 0;
}

static bool all_digits(const char *p, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

/* --------------------------------------------------------------- framing */

static void line_reset(imap_session *s, dir_state *d)
{
    if (d->cap > CORE_BUF_SHRINK) {
        /* a long line is over: give its buffer back */
        size_t first = s->cfg.max_line + 3 < CORE_BUF_FIRST ? s->cfg.max_line + 3 : CORE_BUF_FIRST;
        char *nb = realloc(d->buf, first);
        if (nb) {
            imapi_budget_release(s, buf_charge(d->cap) - buf_charge(first));
            d->buf = nb;
            d->cap = first;
        }
    }
    d->refused = false;
    d->len = 0;
    d->nlits = 0;
    d->lit_seen = 0;
    d->lits_overflow = false;
    d->keep_used = 0;
    d->bare_lf = false;
    d->lit_sync = false;
    d->overflow = false;
    d->line_bytes = 0;
    d->head_len = 0;
    d->line_tag[0] = d->line_cmd[0] = '\0';
    d->line_start = d->offset;
    d->parts = 0;
    d->part_off = d->part_lit = 0;
    d->part_wire = d->offset;
}

/* Drops the partial client line at a switch point (an open literal is
 * closed incomplete): what follows belongs to the new layer. */
void imapi_abandon_line(imap_session *s, imap_dir dir, dir_state *d)
{
    if (d->mode == DM_LITERAL)
        imapi_literal_end(s, dir, d);
    d->mode = DM_LINE;
    d->tail_len = 0;
    line_reset(s, d);
}

static void head_feed(dir_state *d, const void *p, size_t n)
{
    size_t room = sizeof d->head - d->head_len;
    if (n > room)
        n = room;
    memcpy(d->head + d->head_len, p, n);
    d->head_len += n;
}

/* RFC 9051 9: literal = "{" number64 ["+"] "}" CRLF *CHAR8; RFC 7888:
 * literal-minus "{" number "-" "}" ... ; RFC 3516: literal8 = "~{" number64 "}".
 * Finds such a marker at the end of text[0..len) (CRLF removed). */
static bool find_marker(const char *text, size_t len, uint64_t *size, char *mode, bool *binary)
{
    if (len < 3 || text[len - 1] != '}')
        return false;
    size_t i = len - 1; /* on '}' */
    *mode = 0;
    if (text[i - 1] == '+' || text[i - 1] == '-') {
        *mode = text[i - 1];
        i--;
    }
    size_t de = i; /* one past the last digit */
    while (i > 0 && text[i - 1] >= '0' && text[i - 1] <= '9')
        i--;
    size_t nd = de - i;
    if (nd == 0 || nd > 19 || i == 0 || text[i - 1] != '{')
        return false;
    uint64_t n = 0;
    for (size_t k = i; k < de; k++)
        n = n * 10 + (uint64_t)(text[k] - '0');
    *size = n;
    *binary = i >= 2 && text[i - 2] == '~';
    return true;
}

/* Server lines that never carry literals: continuations and status
 * responses (RFC 9051 9: resp-text is text, not string). */
static bool server_allows_literal(const char *text, size_t len)
{
    if (len >= 1 && text[0] == '+')
        return false;
    const char *end = text + len;
    size_t tl = word_len(text, end);
    if (tl >= len)
        return true;
    const char *w = text + tl + 1;
    return !is_status_word(w, word_len(w, end), true);
}

/* The tag and command of the line being sent, for the literal sink. */
static void line_ids(imap_dir dir, dir_state *d, const char *text, size_t len)
{
    const char *end = text + len;
    size_t tl = word_len(text, end);
    size_t tc = tl < CORE_TAG_MAX - 1 ? tl : CORE_TAG_MAX - 1;
    memcpy(d->line_tag, text, tc);
    d->line_tag[tc] = '\0';
    const char *w = text + tl + (tl < len ? 1 : 0);
    size_t wl = word_len(w, end);
    if (dir == IMAP_DIR_SERVER && all_digits(w, wl) && w + wl < end) {
        w += wl + 1;
        wl = word_len(w, end);
    }
    copy_upper(d->line_cmd, CORE_CMD_MAX, w, wl);
    if (dir == IMAP_DIR_CLIENT && strcmp(d->line_cmd, "UID") == 0 && w + wl < end) {
        const char *sub = w + wl + 1;
        size_t sl = word_len(sub, end);
        if (4 + sl < CORE_CMD_MAX) {
            d->line_cmd[3] = ' ';
            copy_upper(d->line_cmd + 4, CORE_CMD_MAX - 4, sub, sl);
        }
    }
}

/* The tag and command of a client line that announces a literal name it
 * in alerts and to the literal sink: not when they may hold a secret (a
 * LOGIN / AUTHENTICATE whose words do not parse, a line after one that is
 * no command; imapi_client_secret_from). */
static void line_ids_redact(const imap_session *s, dir_state *d)
{
    if (s->cfg.show_credentials)
        return;
    size_t end = d->len >= 2 ? d->len - 2 : d->len, so;
    bool clean;
    imap_redact_kind k = imapi_redact_scan(d->buf, end, false, &so, &clean);
    if (k != IMAP_REDACT_NONE) {
        if (!clean)
            d->line_tag[0] = '\0';
        snprintf(d->line_cmd, sizeof d->line_cmd, "%s", k == IMAP_REDACT_LOGIN ? "LOGIN" : "AUTHENTICATE");
    } else if (imapi_client_secret_from(s, d->buf, end) == 0) {
        d->line_tag[0] = '\0';
        d->line_cmd[0] = '\0';
    }
}

/* Tells the literal sink a literal begins, with what it carries
 * (imap_litinfo.c reads the line so far; a dropped line gives OTHER). */
static void literal_sink_begin(imap_session *s, imap_dir dir, dir_state *d, uint64_t size, bool binary)
{
    /* the info and its strings are borrowed for the callback only
     * (imap.h), so they live on this stack frame, not in every session */
    imap_literal_info info, *li = &info;
    char section[CORE_SECTION_MAX], mailbox[CORE_MAILBOX_MAX];
    unsigned index = d->lit_seen++;

    if (!s->cb.on_literal_begin)
        return;
    memset(li, 0, sizeof *li);
    if (!d->overflow)
        imapi_literal_info_scan(s, dir, d, d->buf, d->len, false, li, section, sizeof section,
                                mailbox, sizeof mailbox);
    else
        li->section = li->mailbox = "";
    li->dir = dir;
    li->size = size;
    li->binary = binary;
    li->index = index;
    li->tag = d->line_tag;
    li->command = d->line_cmd;
    d->sink_open = true;
    d->sink_size = size;
    d->sink_received = 0;
    if (s->cb.on_literal_begin(s->user, li) != 0)
        s->stopped = true;
}

static void literal_begin(imap_session *s, imap_dir dir, dir_state *d, uint64_t size, char mode, bool binary)
{
    if (size > s->cfg.max_literal)
        imapi_anomaly_raise(s, dir, IMAP_ANOM_LITERAL_TOO_LARGE, d->line_start, d->line_tag,
                            "literal of %llu bytes (max %llu)", (unsigned long long)size,
                            (unsigned long long)s->cfg.max_literal);
    if (dir == IMAP_DIR_CLIENT && mode) {
        if (mode == '-' && size > 4096)
            imapi_anomaly_raise(s, dir, IMAP_ANOM_LITERAL_MINUS_TOO_LARGE, d->line_start, d->line_tag,
                                "{%llu-} over 4096 bytes", (unsigned long long)size);
        else if (s->caps_seen && !s->cap_literal_plus && !s->cap_literal_minus)
            imapi_anomaly_raise(s, dir, IMAP_ANOM_NONSYNC_LITERAL_NOT_ADVERTISED, d->line_start, d->line_tag,
                                "{%llu%c} without LITERAL+/LITERAL-", (unsigned long long)size, mode);
        else if (s->caps_seen && !s->cap_literal_plus && s->cap_literal_minus && size > 4096)
            imapi_anomaly_raise(s, dir, IMAP_ANOM_LITERAL_MINUS_TOO_LARGE, d->line_start, d->line_tag,
                                "non-synchronizing literal of %llu bytes under LITERAL-", (unsigned long long)size);
    }
    if (dir == IMAP_DIR_CLIENT && mode == 0)
        d->lit_sync = true;
    d->lit_remaining = size;
    d->cur = NULL;
    s->literal_count[dir]++;
    if (d->overflow || d->nlits >= CORE_MAX_LITS) {
        if (!d->overflow && !d->lits_overflow)
            imapi_anomaly_raise(s, dir, IMAP_ANOM_TOO_MANY_LITERALS, d->line_start, d->line_tag,
                                "more than %d literals in one line", CORE_MAX_LITS);
        if (!d->overflow)
            d->lits_overflow = true;
        /* the line is being dropped, or its literals are not recorded:
         * framing only (the sink still gets the bytes) */
        literal_sink_begin(s, dir, d, size, binary);
        return;
    }
    if (d->nlits == d->lits_cap) {
        size_t ncap = d->lits_cap ? d->lits_cap * 2 : 4;
        imap_literal *nl = ncap <= CORE_MAX_LITS ? realloc(d->lits, ncap * sizeof *nl) : NULL;
        if (!nl) {
            d->lits_overflow = true;
            literal_sink_begin(s, dir, d, size, binary);
            return;
        }
        d->lits = nl;
        d->lits_cap = ncap;
    }
    imap_literal *l = &d->lits[d->nlits++];
    memset(l, 0, sizeof *l);
    l->size = size;
    l->mode = mode;
    l->binary = binary;
    uint64_t k = size < s->cfg.literal_keep ? size : s->cfg.literal_keep;
    if (k > 0 && !d->keep && d->keep_cap && !d->keep_refused) {
        /* on the first literal: most directions have none */
        if (imapi_budget_charge(s, d->keep_cap, false)) {
            d->keep = malloc(d->keep_cap);
            if (!d->keep)
                imapi_budget_release(s, d->keep_cap);
        } else {
            d->keep_refused = true;
            imapi_anomaly_raise(s, dir, IMAP_ANOM_MEMCAP, d->line_start, d->line_tag[0] ? d->line_tag : NULL,
                                "literal bytes not kept for decoding in this direction (budget %zu bytes)",
                                s->cfg.budget->limit);
        }
    }
    if (k > 0 && d->keep && k <= d->keep_cap - d->keep_used) {
        l->kept = d->keep + d->keep_used;
        d->keep_used += (size_t)k;
    }
    d->cur = l;
    if (s->cfg.hash_literals && !d->md)
        d->md = EVP_MD_CTX_new();
    if (s->cfg.hash_literals && d->md)
        EVP_DigestInit_ex(d->md, EVP_sha256(), NULL);
    literal_sink_begin(s, dir, d, size, binary);
}

static void literal_data(imap_session *s, imap_dir dir, dir_state *d, const uint8_t *p, size_t n)
{
    s->literal_bytes[dir] += n;
    if (d->sink_open) {
        d->sink_received += n;
        if (s->cb.on_literal_data && s->cb.on_literal_data(s->user, dir, p, n) != 0)
            s->stopped = true;
    }
    imap_literal *l = d->cur;
    if (!l)
        return;
    if (l->kept) {
        uint64_t want = (l->size < s->cfg.literal_keep ? l->size : s->cfg.literal_keep);
        if (l->kept_len < want) {
            size_t c = (size_t)(want - l->kept_len) < n ? (size_t)(want - l->kept_len) : n;
            memcpy((uint8_t *)l->kept + l->kept_len, p, c);
            l->kept_len += c;
        }
    }
    if (s->cfg.hash_literals && d->md)
        EVP_DigestUpdate(d->md, p, n);
    l->received += n;
}

void imapi_literal_end(imap_session *s, imap_dir dir, dir_state *d)
{
    imap_literal *l = d->cur;
    d->cur = NULL;
    d->mode = d->overflow ? DM_DISCARD : DM_LINE;
    if (d->sink_open) {
        d->sink_open = false;
        if (s->cb.on_literal_end && s->cb.on_literal_end(s->user, dir, d->sink_received == d->sink_size) != 0)
            s->stopped = true;
    }
    if (!l)
        return;
    bool complete = l->received == l->size;
    if (s->cfg.hash_literals && d->md) {
        unsigned int mdlen = 0;
        uint8_t md[EVP_MAX_MD_SIZE];
        EVP_DigestFinal_ex(d->md, md, &mdlen);
        if (complete && mdlen == 32) {
            memcpy(l->sha256, md, 32);
            l->has_sha256 = true;
        }
    }
}

/* Appends to the line buffer; false when the line is too long. */
static bool buf_append(imap_session *s, dir_state *d, const char *p, size_t n)
{
    if (n == 0)
        return true;
    if (n > d->cap - d->len) {
        /* allocated at the first line that needs a copy (most lines are
         * parsed in place), CORE_BUF_FIRST, then doubled up to max_line */
        size_t max = s->cfg.max_line + 3, want = d->cap ? d->cap * 2 : CORE_BUF_FIRST;
        if (n > max - d->len)
            return false;
        if (want < d->len + n)
            want = d->len + n;
        if (want > max)
            want = max;
        size_t charge = buf_charge(want) - buf_charge(d->cap);
        if (!imapi_budget_charge(s, charge, false)) {
            d->refused = true;
            return false;
        }
        char *nb = realloc(d->buf, want);
        if (!nb) {
            imapi_budget_release(s, charge);
            return false;
        }
        d->buf = nb;
        d->cap = want;
    }
    memcpy(d->buf + d->len, p, n);
    d->len += n;
    return true;
}

/* A line that cannot be kept whole: longer than max_line, or the buffer
 * could not grow within the memory budget. */
static void line_too_long(imap_session *s, imap_dir dir, dir_state *d)
{
    if (d->refused)
        imapi_anomaly_raise(s, dir, IMAP_ANOM_MEMCAP, d->line_start, NULL,
                            "line over %zu bytes framed, not parsed (budget %zu bytes)", d->cap, s->cfg.budget->limit);
    else
        imapi_anomaly_raise(s, dir, IMAP_ANOM_LINE_TOO_LONG, d->line_start, NULL, "line longer than %zu bytes", s->cfg.max_line);
}

static void report_bare_lf(imap_session *s, imap_dir dir, dir_state *d)
{
    if (d->bare_lf)
        return; /* once per logical line */
    d->bare_lf = true;
    imapi_anomaly_raise(s, dir, IMAP_ANOM_BARE_LF, d->line_start, NULL, "line ended by LF alone");
}

/* The values of one line live in a scratch arena reset at each line.
 * Lines of different sessions are never parsed at the same time on one
 * thread, so one arena per thread serves them all (instead of a block held
 * by every open connection); it is freed when the thread ends. */
static pthread_key_t arena_key;
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;

static void arena_destroy(void *p)
{
    imapi_arena_free(p);
    free(p);
}

static void arena_key_init(void)
{
    pthread_key_create(&arena_key, arena_destroy);
}

static imap_arena *thread_arena(size_t cap)
{
    imap_arena *a;

    pthread_once(&arena_once, arena_key_init);
    a = pthread_getspecific(arena_key);
    if (!a) {
        a = malloc(sizeof *a);
        if (!a)
            return NULL;
        imapi_arena_init(a, cap);
        if (pthread_setspecific(arena_key, a) != 0) {
            free(a);
            return NULL;
        }
    }
    a->cap = cap; /* this session's limit */
    return a;
}

/* A complete logical line (final CRLF removed). */
static void process_line(imap_session *s, imap_dir dir, const char *text, size_t len)
{
    s->arena = thread_arena(s->arena_cap);
    if (!s->arena)
        return;
    imapi_arena_reset(s->arena);
    /* anomalies about this line follow its LINE event (imapi_emit_line flushes);
     * framing ones (line_too_long, bare_lf, literals) were raised before */
    s->defer_anomalies = true;
    s->line_text = text;
    s->line_len = len;
    s->redact_from = SIZE_MAX;
    if (memchr(text, '\0', len) && dir == IMAP_DIR_SERVER)
        imapi_anomaly_raise(s, dir, IMAP_ANOM_NUL_BYTE, s->dirs[dir].line_start, NULL, "NUL in response line");
    if (dir == IMAP_DIR_CLIENT)
        imapi_process_client_line(s, text, len);
    else
        imapi_process_server_line(s, text, len);
    imapi_flush_anomalies(s); /* a line that gave no LINE event */
    s->line_text = NULL;
    s->redact_from = SIZE_MAX;
}

/* The line text ends at lf (exclusive) in the chunk; returns true when the
 * line continues with a literal. */
static void line_end(imap_session *s, imap_dir dir, dir_state *d, const char *seg, size_t seglen)
{
    const char *text;
    size_t tlen;
    bool in_place = d->len == 0 && d->nlits == 0 && !d->overflow;
    if (d->overflow) {
        text = seg;
        tlen = seglen;
    } else if (in_place) {
        text = seg;
        tlen = seglen;
    } else {
        if (!buf_append(s, d, seg, seglen)) {
            line_too_long(s, dir, d);
            d->overflow = true;
            /* the end of buffered text + seg, for the literal marker check */
            size_t from_seg = seglen < sizeof d->tail ? seglen : sizeof d->tail;
            size_t from_buf = sizeof d->tail - from_seg;
            if (from_buf > d->len)
                from_buf = d->len;
            if (from_buf)
                memcpy(d->tail, d->buf + d->len - from_buf, from_buf);
            memcpy(d->tail + from_buf, seg + seglen - from_seg, from_seg);
            text = d->tail;
            tlen = from_buf + from_seg;
        } else {
            text = d->buf;
            tlen = d->len;
        }
    }
    /* bare LF: reported after line_too_long, which a split line may raise
     * before its LF arrives (same event order whatever the split) */
    bool bare = true;
    if (tlen > 0 && text[tlen - 1] == '\r') {
        tlen--;
        bare = false;
    }
    uint64_t size = 0;
    char mode = 0;
    bool binary = false;
    /* Line-start decisions use the head (the same bytes whatever the
     * split, even for a dropped overlong line). */
    bool marker = find_marker(text, tlen, &size, &mode, &binary);
    bool lit_ok = dir == IMAP_DIR_CLIENT || server_allows_literal(d->head, d->head_len);
    if (marker && lit_ok && d->resync && d->nlits == 0) {
        if (dir == IMAP_DIR_CLIENT ? imapi_client_line_clear_start(s, d->head, d->head_len)
                                   : imapi_server_line_clear_start(s, d->head, d->head_len))
            d->resync = false;
        else
            marker = false;
    }
    if (marker && lit_ok) {
        if (!d->overflow) {
            if (in_place) {
                if (!buf_append(s, d, text, tlen)) {
                    line_too_long(s, dir, d);
                    d->overflow = true;
                }
            } else {
                d->len = tlen;
            }
            if (!d->overflow && (!buf_append(s, d, "\r\n", 2) || d->len > s->cfg.max_line)) {
                line_too_long(s, dir, d);
                d->overflow = true;
            }
            if (d->nlits == 0 && !d->overflow) {
                line_ids(dir, d, d->buf, d->len);
                if (dir == IMAP_DIR_CLIENT)
                    line_ids_redact(s, d);
            }
            if (dir == IMAP_DIR_CLIENT && mode == 0 && !d->overflow)
                imapi_emit_line_part(s, d);
        }
        if (bare)
            report_bare_lf(s, dir, d);
        d->mode = DM_LITERAL; /* a dropped line still frames its literals */
        literal_begin(s, dir, d, size, mode, binary);
        if (size == 0)
            imapi_literal_end(s, dir, d);
        return;
    }
    if (!d->overflow && tlen > s->cfg.max_line) {
        line_too_long(s, dir, d);
        d->overflow = true;
    }
    if (bare)
        report_bare_lf(s, dir, d);
    /* a line that carried literals: its context for the sink's line end,
     * read before the line is processed (the text is the same after) */
    bool sink_end = !d->overflow && d->lit_seen > 0 && s->cb.on_literal_line_end;
    imap_literal_info end_info;                 /* borrowed by the callback only */
    char section[CORE_SECTION_MAX], mailbox[CORE_MAILBOX_MAX];
    if (sink_end) {
        imap_literal_info *li = &end_info;
        memset(li, 0, sizeof *li);
        imapi_literal_info_scan(s, dir, d, text, tlen, true, li, section, sizeof section,
                                mailbox, sizeof mailbox);
        li->dir = dir;
        li->index = d->lit_seen;
        li->tag = d->line_tag;
        li->command = d->line_cmd;
    }
    if (!d->overflow)
        process_line(s, dir, text, tlen);
    if (sink_end && s->cb.on_literal_line_end(s->user, &end_info) != 0)
        s->stopped = true;
    line_reset(s, d);
}

/* ---------------------------------------------------------- entry points */

long imap_session_feed(imap_session *s, imap_dir dir, const uint8_t *data, size_t len, uint64_t ts_us)
{
    if (!s || (dir != IMAP_DIR_CLIENT && dir != IMAP_DIR_SERVER))
        return -1;
    dir_state *d = &s->dirs[dir];
    s->now = ts_us;
    s->stopped = false;
    s->server_switch_now = false;
    if (len == 0)
        return 0;
    d->data_seen = true;
    if (d->post_switch) {
        d->post_switch = false;
        /* raw TLS records fed after a TLS switch: the caller cannot decrypt */
        if (d->switched_to == IMAP_LAYER_TLS && data[0] >= 0x14 && data[0] <= 0x17)
            d->mode = DM_OPAQUE;
    }
    const uint8_t *p = data, *end = data + len;
    while (p < end) {
        if (s->stopped)
            return -1;
        switch (d->mode) {
        case DM_OPAQUE:
            d->ignored_bytes += (size_t)(end - p);
            d->offset += (size_t)(end - p);
            p = end;
            break;
        case DM_LITERAL: {
            size_t n = (size_t)(end - p);
            if (n > d->lit_remaining)
                n = (size_t)d->lit_remaining;
            literal_data(s, dir, d, p, n);
            p += n;
            d->offset += n;
            d->line_bytes += n;
            d->lit_remaining -= n;
            if (d->lit_remaining == 0)
                imapi_literal_end(s, dir, d);
            break;
        }
        case DM_DISCARD: {
            const uint8_t *lf = memchr(p, '\n', (size_t)(end - p));
            size_t n = lf ? (size_t)(lf + 1 - p) : (size_t)(end - p);
            head_feed(d, p, lf ? n - 1 : n);
            /* keep the tail: a dropped line may still announce a literal */
            size_t keep = n < sizeof d->tail ? n : sizeof d->tail;
            if (d->tail_len + keep > sizeof d->tail) {
                size_t drop = d->tail_len + keep - sizeof d->tail;
                memmove(d->tail, d->tail + drop, d->tail_len - drop);
                d->tail_len -= drop;
            }
            memcpy(d->tail + d->tail_len, p + n - keep, keep);
            d->tail_len += keep;
            p += n;
            d->offset += n;
            d->line_bytes += n;
            if (lf) {
                size_t tl = d->tail_len - 1; /* without LF */
                d->tail_len = 0;
                d->mode = DM_LINE;
                line_end(s, dir, d, d->tail, tl);
            }
            break;
        }
        case DM_LINE: {
            if (dir == IMAP_DIR_CLIENT && s->starttls_outstanding > 0 && d->len == 0 && d->nlits == 0 &&
                d->line_bytes == 0 && *p == 0x16 && d->switched_to != IMAP_LAYER_TLS) {
                /* SPECS.md 6.6: a ClientHello before the STARTTLS OK */
                imapi_anomaly_raise(s, dir, IMAP_ANOM_TLS_BEFORE_STARTTLS_OK, d->offset, NULL,
                                    "TLS record before the STARTTLS response");
                d->tls = true;
                d->post_switch = true;
                imapi_emit_switch(s, dir, IMAP_LAYER_TLS, d->offset);
                d->tls_check = TLS_CHECK_NONE;
                return s->stopped ? -1 : (long)(p - data);
            }
            const uint8_t *lf = memchr(p, '\n', (size_t)(end - p));
            if (!lf) {
                size_t n = (size_t)(end - p);
                if (!d->overflow && !buf_append(s, d, (const char *)p, n)) {
                    line_too_long(s, dir, d);
                    d->overflow = true;
                    d->mode = DM_DISCARD;
                    /* the tail starts with the end of what was buffered */
                    d->tail_len = d->len < sizeof d->tail ? d->len : sizeof d->tail;
                    if (d->tail_len)
                        memcpy(d->tail, d->buf + d->len - d->tail_len, d->tail_len);
                    continue; /* the DISCARD state takes these bytes */
                }
                head_feed(d, p, n);
                d->offset += n;
                d->line_bytes += n;
                p = end;
                break;
            }
            size_t n = (size_t)(lf + 1 - p);
            const char *seg = (const char *)p;
            head_feed(d, seg, n - 1);
            d->offset += n;
            d->line_bytes += n;
            p = lf + 1;
            line_end(s, dir, d, seg, n - 1);
            if (s->server_switch_now && dir == IMAP_DIR_SERVER) {
                s->server_switch_now = false;
                /* the bytes after the switch are the caller's to show to
                 * imap_session_check_tls_start: only it sees them whole,
                 * however the stream was split into pieces */
                d->post_switch = d->switched_to == IMAP_LAYER_TLS;
                return s->stopped ? -1 : (long)(p - data);
            }
            break;
        }
        }
    }
    return s->stopped ? -1 : (long)len;
}

void imap_session_gap(imap_session *s, imap_dir dir, uint64_t len, uint64_t ts_us)
{
    if (!s || (dir != IMAP_DIR_CLIENT && dir != IMAP_DIR_SERVER) || len == 0)
        return;
    dir_state *d = &s->dirs[dir];
    s->now = ts_us;
    if (d->mode == DM_OPAQUE) {
        d->offset += len;
        return;
    }
    if (d->mode == DM_LITERAL) {
        /* inside a literal: it only gets shorter */
        uint64_t n = len < d->lit_remaining ? len : d->lit_remaining;
        d->lit_remaining -= n;
        d->offset += n;
        len -= n;
        if (d->lit_remaining == 0)
            imapi_literal_end(s, dir, d);
        if (len == 0)
            return;
    }
    imapi_anomaly_raise(s, dir, IMAP_ANOM_DATA_AFTER_GAP, d->offset, NULL, "%llu bytes lost: resynchronising",
                        (unsigned long long)len);
    d->offset += len;
    d->mode = DM_LINE;
    d->tail_len = 0;
    line_reset(s, d);
    d->resync = true;
}

void imap_session_set_layer(imap_session *s, imap_dir dir, imap_layer layer, bool visible)
{
    if (!s || (dir != IMAP_DIR_CLIENT && dir != IMAP_DIR_SERVER))
        return;
    dir_state *d = &s->dirs[dir];
    if (layer == IMAP_LAYER_TLS)
        d->tls = true;
    else if (layer == IMAP_LAYER_DEFLATE)
        d->compressed = true;
    d->post_switch = false;
    if (visible) {
        if (d->mode == DM_OPAQUE || d->mode == DM_DISCARD) {
            d->mode = DM_LINE;
            line_reset(s, d);
        }
    } else {
        d->mode = DM_OPAQUE;
    }
}
