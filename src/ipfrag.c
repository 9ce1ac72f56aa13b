/*
 * ipfrag: IPv4 / IPv6 fragment reassembly.  See ipfrag.h for the contract.
 *
 * Layout: a fixed array of datagram slots (max_datagrams, allocated once), a
 * power-of-two bucket array of slot indexes chained through `hnext`, and a
 * doubly linked age list (oldest first) used for timeouts and for eviction
 * when a cap is reached.  Each datagram's buffer grows on demand up to its
 * final size; the byte cap counts buffer capacity.
 */
#include "ipfrag.h"
#include "siphash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define NIL (-1)
/* Buffers grow in steps of this many bytes (bounded by the datagram cap). */
#define IPFRAG_BUF_STEP 2048u

typedef struct ipfrag_range {
    uint32_t start, end;            /* [start, end) */
} ipfrag_range;

typedef struct ipfrag_dgram {
    ipfrag_key key;
    uint64_t created_us;
    uint8_t *buf;
    uint32_t cap;                   /* bytes allocated at buf */
    uint32_t total;                 /* final length, valid when have_last */
    bool have_last;
    bool in_use;
    uint8_t first_proto;            /* from the offset-0 fragment */
    uint8_t nranges;
    ipfrag_range ranges[IPFRAG_MAX_RANGES];
    int32_t hnext;                  /* bucket chain, or free list when unused */
    int32_t age_prev, age_next;
} ipfrag_dgram;

struct ipfrag_table {
    uint32_t max_datagrams;
    uint32_t max_bytes;
    uint64_t timeout_us;
    uint8_t  hash_key[16];
    ipfrag_dgram *slots;
    int32_t *buckets;
    uint32_t bucket_mask;
    int32_t free_head;
    int32_t age_head, age_tail;     /* oldest at head */
    uint32_t in_use;
    uint64_t bytes_held;
    uint8_t *completed[IPFRAG_MAX_COMPLETED];
    unsigned ncompleted;
    ipfrag_stats stats;
};

/* ---- helpers ------------------------------------------------------------- */

static uint64_t key_hash(const ipfrag_table *t, const ipfrag_key *k)
{
    uint8_t b[38];
    b[0] = k->ip_version;
    b[1] = k->proto;
    memcpy(b + 2, k->src, 16);
    memcpy(b + 18, k->dst, 16);
    b[34] = (uint8_t)(k->id >> 24);
    b[35] = (uint8_t)(k->id >> 16);
    b[36] = (uint8_t)(k->id >> 8);
    b[37] = (uint8_t)k->id;
    return siphash24(b, sizeof b, t->hash_key);
}

static bool key_equal(const ipfrag_key *a, const ipfrag_key *b)
{
    return a->ip_version == b->ip_version && a->proto == b->proto && a->id == b->id &&
           memcmp(a->src, b->src, 16) == 0 && memcmp(a->dst, b->dst, 16) == 0;
}

static void raise_event(ipfrag_table *t, ipfrag_event ev, unsigned *events)
{
    t->stats.events[ev]++;
    if (events)
        *events |= 1u << ev;
}

static void sync_gauges(ipfrag_table *t)
{
    t->stats.datagrams_in_flight = t->in_use;
    t->stats.bytes_held = t->bytes_held;
}

static int32_t *bucket_of(ipfrag_table *t, uint64_t h)
{
    return &t->buckets[h & t->bucket_mask];
}

/* Unlinks slot i from its bucket, the age list, frees its buffer (unless
 * `keep_buf`, in which case the caller took it) and returns it to the free
 * list. */
static void dgram_remove(ipfrag_table *t, int32_t i, bool keep_buf)
{
    ipfrag_dgram *d = &t->slots[i];
    int32_t *pp = bucket_of(t, key_hash(t, &d->key));
    while (*pp != NIL && *pp != i)
        pp = &t->slots[*pp].hnext;
    if (*pp == i)
        *pp = d->hnext;
    if (d->age_prev != NIL)
        t->slots[d->age_prev].age_next = d->age_next;
    else
        t->age_head = d->age_next;
    if (d->age_next != NIL)
        t->slots[d->age_next].age_prev = d->age_prev;
    else
        t->age_tail = d->age_prev;
    if (!keep_buf)
        free(d->buf);
    t->bytes_held -= d->cap;
    d->buf = NULL;
    d->cap = 0;
    d->in_use = false;
    d->hnext = t->free_head;
    t->free_head = i;
    t->in_use--;
    sync_gauges(t);
}

static int32_t dgram_find(ipfrag_table *t, const ipfrag_key *k, uint64_t h)
{
    for (int32_t i = *bucket_of(t, h); i != NIL; i = t->slots[i].hnext)
        if (key_equal(&t->slots[i].key, k))
            return i;
    return NIL;
}

static int32_t dgram_create(ipfrag_table *t, const ipfrag_key *k, uint64_t h, uint64_t now_us,
                            unsigned *events)
{
    if (t->in_use >= t->max_datagrams) {
        raise_event(t, IPFRAG_EV_TOO_MANY, events);
        dgram_remove(t, t->age_head, false);
    }
    int32_t i = t->free_head;
    ipfrag_dgram *d = &t->slots[i];
    t->free_head = d->hnext;
    memset(d, 0, sizeof *d);
    d->key = *k;
    d->created_us = now_us;
    d->in_use = true;
    int32_t *b = bucket_of(t, h);
    d->hnext = *b;
    *b = i;
    d->age_next = NIL;
    d->age_prev = t->age_tail;
    if (t->age_tail != NIL)
        t->slots[t->age_tail].age_next = i;
    else
        t->age_head = i;
    t->age_tail = i;
    t->in_use++;
    sync_gauges(t);
    return i;
}

/* Grows slot i's buffer to hold `need` bytes, evicting older datagrams when
 * the byte cap would be passed.  Returns false when it cannot. */
static bool dgram_reserve(ipfrag_table *t, int32_t i, uint32_t need, unsigned *events)
{
    ipfrag_dgram *d = &t->slots[i];
    if (need <= d->cap)
        return true;
    uint32_t newcap = d->have_last ? d->total : need;
    if (!d->have_last) {
        newcap = (need + IPFRAG_BUF_STEP - 1) / IPFRAG_BUF_STEP * IPFRAG_BUF_STEP;
        if (newcap > IPFRAG_MAX_DATAGRAM)
            newcap = IPFRAG_MAX_DATAGRAM;
    }
    uint32_t grow = newcap - d->cap;
    bool evicted = false;
    while (t->bytes_held + grow > t->max_bytes && t->age_head != NIL && t->age_head != i) {
        if (!evicted)
            raise_event(t, IPFRAG_EV_MEMCAP, events);
        evicted = true;
        dgram_remove(t, t->age_head, false);
    }
    if (t->bytes_held + grow > t->max_bytes) {
        /* Even alone this datagram does not fit: try the next oldest after it. */
        int32_t j = t->slots[i].age_next;
        while (t->bytes_held + grow > t->max_bytes && j != NIL) {
            int32_t next = t->slots[j].age_next;
            if (!evicted)
                raise_event(t, IPFRAG_EV_MEMCAP, events);
            evicted = true;
            dgram_remove(t, j, false);
            j = next;
        }
    }
    if (t->bytes_held + grow > t->max_bytes)
        return false;
    uint8_t *nb = realloc(d->buf, newcap);
    if (!nb)
        return false;
    d->buf = nb;
    d->cap = newcap;
    t->bytes_held += grow;
    sync_gauges(t);
    return true;
}

/* ---- public -------------------------------------------------------------- */

ipfrag_table *ipfrag_table_new(const ipfrag_config *cfg, char *errbuf, size_t errlen)
{
    ipfrag_table *t = calloc(1, sizeof *t);
    if (!t) {
        if (errbuf)
            snprintf(errbuf, errlen, "ipfrag: out of memory");
        return NULL;
    }
    t->max_datagrams = cfg && cfg->max_datagrams ? cfg->max_datagrams : IPFRAG_DEFAULT_MAX_DATAGRAMS;
    t->max_bytes = cfg && cfg->max_bytes ? cfg->max_bytes : IPFRAG_DEFAULT_MAX_BYTES;
    t->timeout_us = cfg && cfg->timeout_us ? cfg->timeout_us : IPFRAG_DEFAULT_TIMEOUT_US;
    if (t->max_datagrams > (1u << 24)) {
        if (errbuf)
            snprintf(errbuf, errlen, "ipfrag: max_datagrams %u too large", t->max_datagrams);
        free(t);
        return NULL;
    }
    uint32_t nb = 16;
    while (nb < t->max_datagrams * 2)
        nb <<= 1;
    t->slots = calloc(t->max_datagrams, sizeof *t->slots);
    t->buckets = malloc(nb * sizeof *t->buckets);
    if (!t->slots || !t->buckets) {
        if (errbuf)
            snprintf(errbuf, errlen, "ipfrag: out of memory for %u datagrams", t->max_datagrams);
        ipfrag_table_free(t);
        return NULL;
    }
    t->bucket_mask = nb - 1;
    for (uint32_t i = 0; i < nb; i++)
        t->buckets[i] = NIL;
    for (uint32_t i = 0; i < t->max_datagrams; i++)
        t->slots[i].hnext = i + 1 < t->max_datagrams ? (int32_t)(i + 1) : NIL;
    t->free_head = 0;
    t->age_head = t->age_tail = NIL;
    if (cfg && cfg->fixed_seed) {
        for (unsigned i = 0; i < 8; i++) {
            t->hash_key[i] = (uint8_t)(cfg->fixed_seed >> (8 * i));
            t->hash_key[8 + i] = (uint8_t)~(cfg->fixed_seed >> (8 * i));
        }
    } else if (getrandom(t->hash_key, sizeof t->hash_key, 0) != (ssize_t)sizeof t->hash_key) {
        if (errbuf)
            snprintf(errbuf, errlen, "ipfrag: getrandom: %s", strerror(errno));
        ipfrag_table_free(t);
        return NULL;
    }
    return t;
}

void ipfrag_table_free(ipfrag_table *t)
{
    if (!t)
        return;
    if (t->slots)
        for (uint32_t i = 0; i < t->max_datagrams; i++)
            free(t->slots[i].buf);
    ipfrag_release_completed(t);
    free(t->slots);
    free(t->buckets);
    free(t);
}

void ipfrag_release_completed(ipfrag_table *t)
{
    for (unsigned i = 0; i < t->ncompleted; i++)
        free(t->completed[i]);
    t->ncompleted = 0;
}

uint32_t ipfrag_in_flight(const ipfrag_table *t)
{
    return t->in_use;
}

const ipfrag_stats *ipfrag_table_stats(const ipfrag_table *t)
{
    return &t->stats;
}

static unsigned expire_events(ipfrag_table *t, uint64_t now_us, unsigned *events)
{
    unsigned n = 0;
    while (t->age_head != NIL) {
        ipfrag_dgram *d = &t->slots[t->age_head];
        if (now_us < d->created_us || now_us - d->created_us < t->timeout_us)
            break;
        raise_event(t, IPFRAG_EV_TIMEOUT, events);
        dgram_remove(t, t->age_head, false);
        n++;
    }
    return n;
}

unsigned ipfrag_expire(ipfrag_table *t, uint64_t now_us)
{
    return expire_events(t, now_us, NULL);
}

/* Drops the fragment (and, when `drop_dgram`, its datagram) for `ev`. */
static ipfrag_result refuse(ipfrag_table *t, int32_t i, bool drop_dgram, ipfrag_event ev,
                            ipfrag_event *drop_reason, unsigned *events)
{
    raise_event(t, ev, events);
    if (drop_dgram && i != NIL)
        dgram_remove(t, i, false);
    if (drop_reason)
        *drop_reason = ev;
    return IPFRAG_DROPPED;
}

ipfrag_result ipfrag_insert(ipfrag_table *t, const ipfrag_key *key, uint8_t first_proto,
                            uint32_t offset, const uint8_t *data, uint32_t len, bool more,
                            uint64_t now_us, ipfrag_datagram *out, ipfrag_event *drop_reason,
                            unsigned *events)
{
    t->stats.fragments++;
    expire_events(t, now_us, events);

    uint64_t end64 = (uint64_t)offset + len;
    if (end64 > IPFRAG_MAX_DATAGRAM)
        return refuse(t, NIL, false, IPFRAG_EV_TOO_BIG, drop_reason, events);
    uint32_t end = (uint32_t)end64;
    /* RFC 791 / RFC 8200: every fragment but the last carries a multiple
     * of 8 bytes. */
    if (more && (len == 0 || len % 8 != 0))
        return refuse(t, NIL, false, IPFRAG_EV_BAD_LENGTH, drop_reason, events);

    uint64_t h = key_hash(t, key);
    int32_t i = dgram_find(t, key, h);
    if (i == NIL)
        i = dgram_create(t, key, h, now_us, events);
    ipfrag_dgram *d = &t->slots[i];

    if (!more) {
        if (d->have_last && d->total != end)
            return refuse(t, i, false, IPFRAG_EV_INCONSISTENT, drop_reason, events);
        if (d->nranges && d->ranges[d->nranges - 1].end > end)
            return refuse(t, i, false, IPFRAG_EV_INCONSISTENT, drop_reason, events);
    } else if (d->have_last && end > d->total) {
        return refuse(t, i, false, IPFRAG_EV_INCONSISTENT, drop_reason, events);
    }
    if (!more) {
        d->have_last = true;
        d->total = end;
    }
    if (!dgram_reserve(t, i, end, events))
        return refuse(t, i, true, IPFRAG_EV_MEMCAP, drop_reason, events);
    d = &t->slots[i];

    /* Compare what overlaps, copy only what is new (first wins). */
    uint32_t cursor = offset;
    bool differ = false;
    for (unsigned r = 0; r < d->nranges && cursor < end; r++) {
        ipfrag_range rg = d->ranges[r];
        if (rg.end <= cursor)
            continue;
        if (rg.start >= end)
            break;
        if (rg.start > cursor) {
            memcpy(d->buf + cursor, data + (cursor - offset), rg.start - cursor);
            cursor = rg.start;
        }
        uint32_t hi = rg.end < end ? rg.end : end;
        if (memcmp(d->buf + cursor, data + (cursor - offset), hi - cursor) != 0)
            differ = true;
        else
            t->stats.duplicates++;
        cursor = hi;
    }
    if (cursor < end)
        memcpy(d->buf + cursor, data + (cursor - offset), end - cursor);
    if (differ)
        raise_event(t, IPFRAG_EV_OVERLAP, events);

    /* Merge [offset, end) into the sorted, disjoint, non-adjacent list. */
    ipfrag_range merged[IPFRAG_MAX_RANGES + 1];
    unsigned n = 0;
    ipfrag_range nr = {offset, end};
    bool placed = false;
    for (unsigned r = 0; r < d->nranges; r++) {
        ipfrag_range rg = d->ranges[r];
        if (rg.end < nr.start) {
            merged[n++] = rg;
        } else if (rg.start > nr.end) {
            if (!placed) {
                merged[n++] = nr;
                placed = true;
            }
            if (n > IPFRAG_MAX_RANGES)
                break;
            merged[n++] = rg;
        } else {
            nr.start = rg.start < nr.start ? rg.start : nr.start;
            nr.end = rg.end > nr.end ? rg.end : nr.end;
        }
        if (n > IPFRAG_MAX_RANGES)
            break;
    }
    if (!placed && n <= IPFRAG_MAX_RANGES)
        merged[n++] = nr;
    if (n > IPFRAG_MAX_RANGES)
        return refuse(t, i, true, IPFRAG_EV_TOO_MANY_HOLES, drop_reason, events);
    memcpy(d->ranges, merged, n * sizeof merged[0]);
    d->nranges = (uint8_t)n;
    if (offset == 0)
        d->first_proto = first_proto;

    if (d->have_last && d->nranges == 1 && d->ranges[0].start == 0 &&
        d->ranges[0].end == d->total) {
        if (t->ncompleted >= IPFRAG_MAX_COMPLETED)
            return refuse(t, i, true, IPFRAG_EV_MEMCAP, drop_reason, events);
        t->completed[t->ncompleted++] = d->buf;
        out->data = d->buf;
        out->len = d->total;
        out->proto = d->first_proto;
        t->stats.reassembled++;
        dgram_remove(t, i, true);
        return IPFRAG_COMPLETE;
    }
    return IPFRAG_HELD;
}
