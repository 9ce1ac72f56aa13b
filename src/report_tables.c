/*
 * report_tables.c - the report's building blocks: the latency histogram,
 * the bounded string-keyed tables (keymap), and the formatting shared by
 * the writers (see report_priv.h).
 */
#include "report_priv.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "siphash.h"

/* Length of s cut to at most max bytes on a UTF-8 character boundary. */
size_t report_utf8_cut(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* ---- latency histogram ----------------------------------------------------------- */

static unsigned lat_index(uint64_t v)
{
    unsigned e;

    if (v < LAT_SUB)
        return (unsigned)v;
    e = 63u - (unsigned)__builtin_clzll(v);  /* >= 4 */
    if (e >= 48)
        return LAT_BUCKETS - 1;
    return LAT_SUB + (e - 4) * LAT_SUB + (unsigned)((v >> (e - 4)) & (LAT_SUB - 1));
}

uint64_t lat_bucket_low(unsigned i)
{
    unsigned e, sub;

    if (i < LAT_SUB)
        return i;
    e = (i - LAT_SUB) / LAT_SUB + 4;
    sub = (i - LAT_SUB) % LAT_SUB;
    return (uint64_t)(LAT_SUB + sub) << (e - 4);
}

void lat_add(lat_hist *h, uint64_t us)
{
    if (h->n == 0 || us < h->min)
        h->min = us;
    if (us > h->max)
        h->max = us;
    h->n++;
    h->sum += us;
    h->b[lat_index(us)]++;
    if (h->n <= REPORT_EXACT_SAMPLES)
        h->samp[h->nsamp++] = us;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t lat_percentile(const lat_hist *h, double p, bool *exact)
{
    uint64_t rank, seen = 0;

    if (exact)
        *exact = true;
    if (h->n == 0)
        return 0;
    /* nearest rank: ceil(p/100 * n), at least 1 */
    rank = (uint64_t)(p / 100.0 * (double)h->n);
    if ((double)rank < p / 100.0 * (double)h->n)
        rank++;
    if (rank < 1)
        rank = 1;
    if (rank > h->n)
        rank = h->n;
    if (h->n <= REPORT_EXACT_SAMPLES && h->nsamp == h->n) {
        uint64_t s[REPORT_EXACT_SAMPLES];
        memcpy(s, h->samp, h->nsamp * sizeof s[0]);
        qsort(s, h->nsamp, sizeof s[0], cmp_u64);
        return s[rank - 1];
    }
    if (exact)
        *exact = false;
    for (unsigned i = 0; i < LAT_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t lo = lat_bucket_low(i), hi = i + 1 < LAT_BUCKETS ? lat_bucket_low(i + 1) : lo * 2;
            uint64_t mid = i < LAT_SUB ? lo : lo + (hi - lo) / 2;
            if (mid < h->min)
                mid = h->min;
            if (mid > h->max)
                mid = h->max;
            return mid;
        }
    }
    return h->max;
}

/* ---- keymap ------------------------------------------------------------------------- */

int km_init(keymap *km, size_t elem, unsigned max)
{
    memset(km, 0, sizeof *km);
    km->elem = elem;
    km->max = max < 2 ? 2 : max;
    if (RAND_bytes(km->seed, sizeof km->seed) != 1) {
        uint64_t a = (uint64_t)time(NULL), b = (uint64_t)(uintptr_t)km;
        memcpy(km->seed, &a, 8);
        memcpy(km->seed + 8, &b, 8);
    }
    km->nslots = 64;
    km->slots = calloc(km->nslots, sizeof *km->slots);
    return km->slots ? 0 : -1;
}

void km_free(keymap *km, void (*entry_free)(void *))
{
    for (unsigned i = 0; i < km->n; i++) {
        void *e = KM_AT(km, i);
        if (entry_free)
            entry_free(e);
        free(*(char **)e);
    }
    free(km->data);
    free(km->slots);
}

static int km_rehash(keymap *km)
{
    unsigned ns = km->nslots * 2;
    uint32_t *s = calloc(ns, sizeof *s);

    if (!s)
        return -1;
    for (unsigned i = 0; i < km->n; i++) {
        const char *k = *(char **)KM_AT(km, i);
        unsigned j = (unsigned)(siphash24((const uint8_t *)k, strlen(k), km->seed) & (ns - 1));
        while (s[j])
            j = (j + 1) & (ns - 1);
        s[j] = i + 1;
    }
    free(km->slots);
    km->slots = s;
    km->nslots = ns;
    return 0;
}

/* Finds or adds key (cut to KEY_MAX_BYTES); over the cap, the "(other)"
 * entry.  NULL only when out of memory.  The pointer is valid until the
 * next km_get on the same map. */
void *km_get(keymap *km, const char *key)
{
    char buf[KEY_MAX_BYTES + 1];
    size_t len = report_utf8_cut(key, KEY_MAX_BYTES);
    unsigned j;
    uint64_t h;
    bool other = false;

    memcpy(buf, key, len);
    buf[len] = '\0';
again:
    h = siphash24((const uint8_t *)buf, len, km->seed);
    j = (unsigned)(h & (km->nslots - 1));
    while (km->slots[j]) {
        void *e = KM_AT(km, km->slots[j] - 1);
        if (!strcmp(*(char **)e, buf))
            return e;
        j = (j + 1) & (km->nslots - 1);
    }
    if (!other && km->n >= km->max - 1) {
        km->refused++;
        other = true;
        len = strlen(OTHER_KEY);
        memcpy(buf, OTHER_KEY, len + 1);
        goto again;
    }
    if (km->n + 1 >= km->nslots)
        return NULL; /* only after a failed rehash: out of memory */
    if (km->n == km->cap) {
        unsigned nc = km->cap ? km->cap * 2 : 16;
        char *nd = realloc(km->data, (size_t)nc * km->elem);
        if (!nd)
            return NULL;
        km->data = nd;
        km->cap = nc;
    }
    void *e = KM_AT(km, km->n);
    memset(e, 0, km->elem);
    *(char **)e = strdup(buf);
    if (!*(char **)e)
        return NULL;
    km->slots[j] = ++km->n;
    /* at most half full; when the rehash fails the table is fuller, never full
     * (n <= max and the table grows before n passes nslots / 2) */
    if (km->n * 2 > km->nslots)
        km_rehash(km);
    return e;
}

typedef struct sort_pair {
    uint64_t v;
    unsigned i;
} sort_pair;

/* Descending on v; ties in insertion order (the first seen first). */
static int cmp_pair_desc(const void *a, const void *b)
{
    const sort_pair *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? 1 : -1;
    return x->i < y->i ? -1 : x->i > y->i;
}

unsigned report_sorted(const keymap *km, uint64_t (*key)(const void *entry), unsigned **out)
{
    unsigned n = km->n;
    unsigned *idx = malloc((n ? n : 1) * sizeof *idx);
    sort_pair *p = malloc((n ? n : 1) * sizeof *p);

    *out = idx;
    if (!idx || !p) {
        free(p);
        return 0;
    }
    for (unsigned i = 0; i < n; i++)
        p[i] = (sort_pair){key(KM_AT(km, i)), i};
    qsort(p, n, sizeof *p, cmp_pair_desc);
    for (unsigned i = 0; i < n; i++)
        idx[i] = p[i].i;
    free(p);
    return n;
}

/* ---- formatting shared by the writers ------------------------------------------------------------- */

void report_fmt_latency(uint64_t u, char *buf, size_t len)
{
    if (u < 1000)
        snprintf(buf, len, "%llu us", (unsigned long long)u);
    else if (u < 1000000)
        snprintf(buf, len, "%llu.%llu ms", (unsigned long long)(u / 1000), (unsigned long long)(u % 1000 / 100));
    else
        snprintf(buf, len, "%llu.%03llu s", (unsigned long long)(u / 1000000),
                 (unsigned long long)(u % 1000000 / 1000));
}

void report_fmt_bytes(uint64_t b, char *buf, size_t len)
{
    static const char *unit[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    double v = (double)b;
    unsigned i = 0;

    if (b < 1000) {
        snprintf(buf, len, "%llu B", (unsigned long long)b);
        return;
    }
    while (v >= 1000 && i < 5)
        v /= 1000, i++;
    snprintf(buf, len, "%.1f %s", v, unit[i]);
}

void report_fmt_time(uint64_t ts, char *buf, size_t len)
{
    char d[28];

    output_format_rfc3339(ts, d);
    d[10] = ' ';
    d[26] = '\0';
    snprintf(buf, len, "%s", d);
}
