/*
 * flow.c - the TCP flow table (see flow.h).
 *
 * Chained hash table keyed by the direction-free 5-tuple, with a
 * doubly-linked LRU list for idle expiry and eviction.  The bucket count is
 * a power of two fixed at creation (max_flows rounded up), so the table
 * never rehashes under load.
 */
#include "flow.h"
#include "siphash.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

struct flow_table {
    flow_config cfg;
    reasm_pool *pool;
    flow_end_fn on_end;
    void *user;
    flow **buckets;
    uint64_t mask;
    uint8_t key[16];             /* SipHash key, random per table */
    flow *lru_head, *lru_tail;   /* head = least recently used */
    flow_stats st;
};

/* ---- keys --------------------------------------------------------------- */

/* The direction-free key: the lower (addr, port) endpoint first. */
typedef struct flow_key {
    uint8_t ipv;
    uint8_t a[16], b[16];
    uint16_t pa, pb;
} flow_key;

static int endpoint_cmp(const uint8_t *a, uint16_t pa, const uint8_t *b, uint16_t pb)
{
    int c = memcmp(a, b, 16);
    if (c)
        return c;
    return (pa > pb) - (pa < pb);
}

static void key_from_pkt(const pkt *p, flow_key *k)
{
    uint8_t src[16] = {0}, dst[16] = {0};
    size_t alen = p->ip_version == 4 ? 4 : 16;

    memcpy(src, p->src, alen);
    memcpy(dst, p->dst, alen);
    k->ipv = p->ip_version;
    if (endpoint_cmp(src, p->sport, dst, p->dport) <= 0) {
        memcpy(k->a, src, 16), k->pa = p->sport;
        memcpy(k->b, dst, 16), k->pb = p->dport;
    } else {
        memcpy(k->a, dst, 16), k->pa = p->dport;
        memcpy(k->b, src, 16), k->pb = p->sport;
    }
}

static uint64_t key_hash(const flow_table *t, const flow_key *k)
{
    uint8_t buf[1 + 32 + 4];

    buf[0] = k->ipv;
    memcpy(buf + 1, k->a, 16);
    memcpy(buf + 17, k->b, 16);
    buf[33] = (uint8_t)(k->pa >> 8), buf[34] = (uint8_t)k->pa;
    buf[35] = (uint8_t)(k->pb >> 8), buf[36] = (uint8_t)k->pb;
    return siphash24(buf, sizeof buf, t->key);
}

/* Which side of f sent p, or -1 when p is not of f. */
static int flow_side_of(const flow *f, const pkt *p)
{
    size_t alen = p->ip_version == 4 ? 4 : 16;

    if (f->ipv != p->ip_version)
        return -1;
    if (f->port[0] == p->sport && f->port[1] == p->dport &&
        !memcmp(f->addr[0], p->src, alen) && !memcmp(f->addr[1], p->dst, alen))
        return 0;
    if (f->port[1] == p->sport && f->port[0] == p->dport &&
        !memcmp(f->addr[1], p->src, alen) && !memcmp(f->addr[0], p->dst, alen))
        return 1;
    return -1;
}

/* ---- LRU ------------------------------------------------------------------ */

static void lru_unlink(flow_table *t, flow *f)
{
    if (f->lru_prev)
        f->lru_prev->lru_next = f->lru_next;
    else
        t->lru_head = f->lru_next;
    if (f->lru_next)
        f->lru_next->lru_prev = f->lru_prev;
    else
        t->lru_tail = f->lru_prev;
    f->lru_prev = f->lru_next = NULL;
}

static void lru_push_tail(flow_table *t, flow *f)
{
    f->lru_prev = t->lru_tail;
    f->lru_next = NULL;
    if (t->lru_tail)
        t->lru_tail->lru_next = f;
    else
        t->lru_head = f;
    t->lru_tail = f;
}

/* ---- table ---------------------------------------------------------------- */

flow_table *flow_table_new(const flow_config *cfg, reasm_pool *pool,
                           flow_end_fn on_end, void *user)
{
    flow_table *t = calloc(1, sizeof *t);
    uint64_t nb = 1024;

    if (!t)
        return NULL;
    t->cfg = *cfg;
    if (t->cfg.max_flows == 0)
        t->cfg.max_flows = 1;
    while (nb < t->cfg.max_flows && nb < ((uint64_t)1 << 30))
        nb <<= 1;
    t->buckets = calloc(nb, sizeof *t->buckets);
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    t->mask = nb - 1;
    t->pool = pool;
    t->on_end = on_end;
    t->user = user;
    if (RAND_bytes(t->key, sizeof t->key) != 1) {
        /* No entropy: still correct, only predictable.  Mix in addresses. */
        uint64_t a = (uint64_t)(uintptr_t)t ^ 0x9e3779b97f4a7c15ULL, b = (uint64_t)(uintptr_t)t->buckets;
        memcpy(t->key, &a, 8);
        memcpy(t->key + 8, &b, 8);
    }
    return t;
}

bool flow_is_server_port(const flow_table *t, uint16_t port)
{
    for (unsigned i = 0; i < t->cfg.n_server_ports; i++)
        if (t->cfg.server_ports[i] == port)
            return true;
    return false;
}

static void bucket_remove(flow_table *t, flow *f)
{
    flow **pp = &t->buckets[f->hash & t->mask];

    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
}

static void flow_destroy(flow_table *t, flow *f)
{
    bucket_remove(t, f);
    lru_unlink(t, f);
    tcp_stream_free(&f->stream[0]);
    tcp_stream_free(&f->stream[1]);
    free(f);
    t->st.active--;
}

void flow_table_end(flow_table *t, flow *f, const char *reason, uint64_t ts_us)
{
    if (t->on_end)
        t->on_end(t->user, f, reason, ts_us);
    t->st.ended++;
    flow_destroy(t, f);
}

static flow *flow_create(flow_table *t, const pkt *p, uint64_t id, uint64_t h, uint64_t ts_us)
{
    flow *f;
    size_t alen = p->ip_version == 4 ? 4 : 16;

    if (t->st.active >= t->cfg.max_flows && t->lru_head) {
        t->st.evicted++;
        flow_table_end(t, t->lru_head, "evicted", ts_us);
    }
    f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->id = id;
    f->ipv = p->ip_version;
    memcpy(f->addr[0], p->src, alen);
    memcpy(f->addr[1], p->dst, alen);
    f->port[0] = p->sport;
    f->port[1] = p->dport;
    f->first_ts_us = f->last_ts_us = ts_us;
    f->hash = h;
    tcp_stream_init(&f->stream[0], t->pool, 0);
    tcp_stream_init(&f->stream[1], t->pool, 1);

    /* Who is the client: the SYN sender, the side of a SYN-ACK's
     * destination, else the side not on a server port. */
    if ((p->tcp_flags & 0x12) == 0x02) {
        f->client_side = 0, f->orient = FLOW_ORIENT_SYN;
    } else if ((p->tcp_flags & 0x12) == 0x12) {
        f->client_side = 1, f->orient = FLOW_ORIENT_SYN;
    } else if (flow_is_server_port(t, p->dport) && !flow_is_server_port(t, p->sport)) {
        f->client_side = 0, f->orient = FLOW_ORIENT_PORT;
    } else if (flow_is_server_port(t, p->sport) && !flow_is_server_port(t, p->dport)) {
        f->client_side = 1, f->orient = FLOW_ORIENT_PORT;
    } else if (flow_is_server_port(t, p->dport)) {
        f->client_side = 0, f->orient = FLOW_ORIENT_PORT;
    } else {
        f->client_side = 0, f->orient = FLOW_ORIENT_UNKNOWN;
    }

    f->hnext = t->buckets[h & t->mask];
    t->buckets[h & t->mask] = f;
    lru_push_tail(t, f);
    t->st.created++;
    if (++t->st.active > t->st.peak_active)
        t->st.peak_active = t->st.active;
    return f;
}

flow *flow_table_lookup(flow_table *t, const pkt *p, uint64_t ts_us, bool create,
                        uint64_t new_id, int *side)
{
    flow_key k;
    uint64_t h;
    flow *f;

    key_from_pkt(p, &k);
    h = key_hash(t, &k);
    for (f = t->buckets[h & t->mask]; f; f = f->hnext) {
        int s;
        if (f->hash != h)
            continue;
        s = flow_side_of(f, p);
        if (s < 0)
            continue;
        *side = s;
        if (ts_us > f->last_ts_us)
            f->last_ts_us = ts_us;
        lru_unlink(t, f);
        lru_push_tail(t, f);
        return f;
    }
    if (!create)
        return NULL;
    f = flow_create(t, p, new_id, h, ts_us);
    if (f)
        *side = 0;
    return f;
}

void flow_table_expire(flow_table *t, uint64_t now_us)
{
    while (t->lru_head && t->cfg.idle_timeout_us &&
           t->lru_head->last_ts_us + t->cfg.idle_timeout_us < now_us) {
        flow *f = t->lru_head;
        t->st.timed_out++;
        /* The connection ended when it became idle, whenever we notice:
         * the same time whichever packet (or thread's clock) finds it. */
        flow_table_end(t, f, "idle_timeout", f->last_ts_us + t->cfg.idle_timeout_us);
    }
}

void flow_table_end_all(flow_table *t, const char *reason, uint64_t ts_us)
{
    while (t->lru_head) {
        flow *f = t->lru_head;
        flow_table_end(t, f, reason, ts_us > f->last_ts_us ? ts_us : f->last_ts_us);
    }
}

void flow_set_client(flow *f, int side, flow_orient how)
{
    f->client_side = (uint8_t)(side ? 1 : 0);
    f->orient = (uint8_t)how;
}

const flow_stats *flow_table_stats(const flow_table *t)
{
    return &t->st;
}

void flow_table_free(flow_table *t)
{
    if (!t)
        return;
    while (t->lru_head)
        flow_destroy(t, t->lru_head);
    free(t->buckets);
    free(t);
}
