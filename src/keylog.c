/*
 * keylog.c - NSS key log reader.  Contracts in keylog.h.
 */
#include "keylog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_util.h"
#include "limits.h"

static const char *const label_names[] = {
#define KEYLOG_X_NAME(e, s) s,
    KEYLOG_LABELS(KEYLOG_X_NAME)
#undef KEYLOG_X_NAME
};
_Static_assert(sizeof label_names / sizeof label_names[0] == KEYLOG_LABEL_COUNT, "label table");

const char *keylog_label_name(int label)
{
    return label >= 0 && label < KEYLOG_LABEL_COUNT ? label_names[label] : NULL;
}

/* Decodes the hex field [p, end) into out (cap bytes).  Returns bytes, or
 * -1 for odd length / bad digit / too long. */
static int hex_field(const char *p, const char *end, uint8_t *out, size_t cap)
{
    size_t n = (size_t)(end - p);
    if (n == 0)
        return -1;
    return (int)imapi_hex_decode(p, n, out, cap);
}

static int entry_cmp(const void *a, const void *b)
{
    const keylog_entry *x = a, *y = b;
    int c = memcmp(x->random, y->random, 32);
    if (c)
        return c;
    if (x->label != y->label)
        return x->label < y->label ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static bool is_sp(char c) { return c == ' ' || c == '\t'; }

/* One line [p, end) without its line terminator. */
static void parse_line(keylog *kl, const char *p, const char *end, uint32_t lineno, size_t *cap,
                       bool *oom)
{
    while (p < end && is_sp(*p))
        p++;
    while (end > p && (is_sp(end[-1]) || end[-1] == '\r'))
        end--;
    if (p == end || *p == '#')
        return;
    const char *f[4];
    const char *fe[4];
    int nf = 0;
    while (p < end && nf < 4) {
        f[nf] = p;
        while (p < end && !is_sp(*p))
            p++;
        fe[nf++] = p;
        while (p < end && is_sp(*p))
            p++;
    }
    if (nf != 3 || p != end) {
        kl->skipped_bad++;
        return;
    }
    int label = -1;
    for (int i = 0; i < KEYLOG_LABEL_COUNT; i++) {
        size_t ln = strlen(label_names[i]);
        if ((size_t)(fe[0] - f[0]) == ln && !memcmp(f[0], label_names[i], ln)) {
            label = i;
            break;
        }
    }
    if (label < 0) {
        kl->skipped_unknown++;
        return;
    }
    keylog_entry e;
    memset(&e, 0, sizeof e);
    if (hex_field(f[1], fe[1], e.random, 32) != 32) {
        kl->skipped_bad++;
        return;
    }
    int sl = hex_field(f[2], fe[2], e.secret, KEYLOG_MAX_SECRET);
    if (sl < 0 || (label == KEYLOG_CLIENT_RANDOM && sl != 48)) {
        kl->skipped_bad++;
        return;
    }
    e.label = (uint8_t)label;
    e.len = (uint8_t)sl;
    e.line = lineno;
    if (kl->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        keylog_entry *ne = realloc(kl->e, nc * sizeof *ne);
        if (!ne) {
            *oom = true;
            return;
        }
        kl->e = ne;
        *cap = nc;
    }
    kl->e[kl->n++] = e;
}

keylog *keylog_parse(const char *buf, size_t len, char *errbuf, size_t errlen)
{
    keylog *kl = calloc(1, sizeof *kl);
    if (!kl) {
        snprintf(errbuf, errlen, "key log: out of memory");
        return NULL;
    }
    size_t cap = 0;
    bool oom = false;
    const char *p = buf, *end = buf + len;
    uint32_t lineno = 0;
    while (p < end && !oom) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        lineno++;
        if (le - p <= KEYLOG_MAX_LINE)
            parse_line(kl, p, le, lineno, &cap, &oom);
        else
            kl->skipped_bad++;
        p = nl ? nl + 1 : end;
    }
    kl->lines = lineno;
    if (oom) {
        keylog_free(kl);
        snprintf(errbuf, errlen, "key log: out of memory");
        return NULL;
    }
    if (kl->n)
        qsort(kl->e, kl->n, sizeof kl->e[0], entry_cmp);
    return kl;
}

keylog *keylog_load(const char *path, size_t max_bytes, char *errbuf, size_t errlen)
{
    if (max_bytes == 0)
        max_bytes = LIM_KEYLOG_BYTES;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errbuf, errlen, "key log %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = max_bytes < 4096 ? max_bytes : 4096, n = 0;
    char *buf = malloc(cap);
    bool truncated = false;
    while (buf) {
        if (n == cap) {
            if (cap >= max_bytes) {
                int c = fgetc(f);
                truncated = c != EOF;
                break;
            }
            size_t nc = cap * 2 > max_bytes ? max_bytes : cap * 2;
            char *nb = realloc(buf, nc);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap = nc;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    bool err = ferror(f);
    fclose(f);
    if (!buf || err) {
        free(buf);
        snprintf(errbuf, errlen, "key log %s: %s", path, buf ? "read error" : "out of memory");
        return NULL;
    }
    if (truncated) {   /* keep whole lines only */
        while (n > 0 && buf[n - 1] != '\n')
            n--;
    }
    keylog *kl = keylog_parse(buf, n, errbuf, errlen);
    free(buf);
    if (kl) {
        kl->max_bytes = max_bytes;
        kl->bytes = n;
    }
    if (kl && truncated) {
        kl->truncated = true;
        snprintf(errbuf, errlen, "key log %s: larger than %zu bytes; only the first part was read",
                 path, max_bytes);
    }
    return kl;
}

void keylog_free(keylog *kl)
{
    if (!kl)
        return;
    free(kl->e);
    free(kl);
}

/* Index of the first entry with this random (and label, if label >= 0), or n. */
static size_t lower_bound(const keylog *kl, int label, const uint8_t random[32])
{
    size_t lo = 0, hi = kl->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const keylog_entry *e = &kl->e[mid];
        int c = memcmp(e->random, random, 32);
        if (c == 0 && label >= 0)
            c = e->label < label ? -1 : e->label > label;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const uint8_t *keylog_lookup(const keylog *kl, keylog_label label, const uint8_t random[32],
                             size_t *len)
{
    if (!kl || !kl->n)
        return NULL;
    size_t i = lower_bound(kl, (int)label, random);
    if (i < kl->n && kl->e[i].label == label && !memcmp(kl->e[i].random, random, 32)) {
        if (len)
            *len = kl->e[i].len;
        return kl->e[i].secret;
    }
    return NULL;
}

bool keylog_has_random(const keylog *kl, const uint8_t random[32])
{
    if (!kl || !kl->n)
        return false;
    size_t i = lower_bound(kl, -1, random);
    return i < kl->n && !memcmp(kl->e[i].random, random, 32);
}
