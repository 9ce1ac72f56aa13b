/*
 * reassembly.c - TCP stream reassembly, one direction.  Contracts and
 * policies are in reassembly.h; this file says how.
 *
 * Invariants kept between calls (checked by the unit tests):
 *  - held blocks are sorted by offset, pairwise disjoint, non-empty, and
 *    every block starts strictly after next_off (a block that becomes
 *    contiguous is delivered before the call returns);
 *  - next_off == delivered + gap_bytes;
 *  - the ring holds exactly the delivered bytes [next_off - ring_len,
 *    next_off); a gap empties it (no bytes to compare against).
 */
#include "reassembly.h"

#include <stdlib.h>
#include <string.h>

#define TCP_FLAG_FIN 0x01u
#define TCP_FLAG_SYN 0x02u
#define TCP_FLAG_RST 0x04u

struct reasm_block {
    reasm_block *next;
    uint64_t off;      /* stream offset of data[0] */
    size_t len;        /* > 0 */
    uint8_t data[];    /* copied payload */
};

/* ---- tables ------------------------------------------------------------ */
static const char *const anomaly_names[] = {
#define REASM_X_NAME(id, name, desc) name,
    REASM_ANOMALY_TABLE(REASM_X_NAME)
#undef REASM_X_NAME
};
static const char *const anomaly_descs[] = {
#define REASM_X_DESC(id, name, desc) desc,
    REASM_ANOMALY_TABLE(REASM_X_DESC)
#undef REASM_X_DESC
};
static const char *const counter_names[] = {
#define REASM_X_NAME(id, name, desc) name,
    REASM_COUNTER_TABLE(REASM_X_NAME)
#undef REASM_X_NAME
};
_Static_assert(sizeof anomaly_names / sizeof anomaly_names[0] == REASM_ANOMALY_COUNT,
               "anomaly name table out of step with the enum");
_Static_assert(sizeof counter_names / sizeof counter_names[0] == REASM_CTR_COUNT,
               "counter name table out of step with the enum");
_Static_assert(REASM_ANOMALY_COUNT <= 32, "per-call report mask is 32 bits");

const char *reasm_anomaly_name(int id)
{
    return (id >= 0 && id < REASM_ANOMALY_COUNT) ? anomaly_names[id] : NULL;
}

const char *reasm_anomaly_desc(int id)
{
    return (id >= 0 && id < REASM_ANOMALY_COUNT) ? anomaly_descs[id] : NULL;
}

int reasm_anomaly_from_name(const char *name)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < REASM_ANOMALY_COUNT; i++)
        if (strcmp(anomaly_names[i], name) == 0)
            return i;
    return -1;
}

const char *reasm_counter_name(int id)
{
    return (id >= 0 && id < REASM_CTR_COUNT) ? counter_names[id] : NULL;
}

void reasm_config_default(reasm_config *cfg)
{
    cfg->max_held_per_stream = REASM_DEFAULT_MAX_HELD_PER_STREAM;
    cfg->max_blocks_per_stream = REASM_DEFAULT_MAX_BLOCKS_PER_STREAM;
    cfg->memcap_total = REASM_DEFAULT_MEMCAP_TOTAL;
    cfg->depth = REASM_DEFAULT_DEPTH;
    cfg->recent_window = REASM_DEFAULT_RECENT_WINDOW;
}

void reasm_pool_init(reasm_pool *pool, const reasm_config *cfg)
{
    memset(pool, 0, sizeof *pool);
    pool->cfg = cfg;
}

/* ---- per-call context --------------------------------------------------- */
typedef struct reasm_ctx {
    const reasm_callbacks *cb;
    void *user;
    uint64_t ts;
    uint32_t reported;   /* anomaly ids already reported during this call */
} reasm_ctx;

static void stream_report(tcp_stream *s, reasm_ctx *ctx, int id, uint64_t off)
{
    uint32_t bit = (uint32_t)1 << id;
    if (ctx->reported & bit)
        return;              /* once per call: one segment, one report */
    ctx->reported |= bit;
    s->pool->anomalies[id]++;
    s->pool->counters[REASM_CTR_ANOMALIES]++;
    if (ctx->cb && ctx->cb->anomaly)
        ctx->cb->anomaly(ctx->user, s->dir, id, off, ctx->ts);
}

/* ---- memory accounting -------------------------------------------------- */
static int pool_can_take(const reasm_pool *pool, size_t n)
{
    return n <= pool->cfg->memcap_total &&
           pool->mem_used <= pool->cfg->memcap_total - n;
}

static void pool_take(reasm_pool *pool, size_t n)
{
    pool->mem_used += n;
    if (pool->mem_used > pool->mem_peak)
        pool->mem_peak = pool->mem_used;
}

static void pool_give(reasm_pool *pool, size_t n)
{
    pool->mem_used = n > pool->mem_used ? 0 : pool->mem_used - n;
}

/* ---- recent window (ring indexed by absolute offset modulo capacity) ---- */
static void ring_put(uint8_t *ring, size_t cap, uint64_t off,
                     const uint8_t *data, size_t n)
{
    /* n <= cap */
    size_t idx = (size_t)(off % cap);
    size_t first = n < cap - idx ? n : cap - idx;
    memcpy(ring + idx, data, first);
    if (n > first)
        memcpy(ring, data + first, n - first);
}

/* Grows the ring towards `need` bytes (capped by cfg.recent_window) when the
 * pool allows; keeps the newest bytes.  Failure leaves the old ring. */
static void ring_grow(tcp_stream *s, size_t need)
{
    size_t max = s->pool->cfg->recent_window;
    size_t cap = s->ring_cap ? s->ring_cap : REASM_RECENT_WINDOW_INITIAL;
    while (cap < need && cap < max)
        cap = cap > max / 2 ? max : cap * 2;
    if (cap > max)
        cap = max;
    if (cap <= s->ring_cap || !pool_can_take(s->pool, cap - s->ring_cap))
        return;
    uint8_t *nr = malloc(cap);
    if (nr == NULL)
        return;
    /* Move the kept bytes [next_off - ring_len, next_off) piece by piece. */
    uint64_t o = s->next_off - s->ring_len;
    while (o < s->next_off) {
        size_t idx = (size_t)(o % s->ring_cap);
        uint64_t left = s->next_off - o;
        size_t chunk = left < s->ring_cap - idx ? (size_t)left : s->ring_cap - idx;
        ring_put(nr, cap, o, s->ring + idx, chunk);
        o += chunk;
    }
    pool_take(s->pool, cap - s->ring_cap);
    free(s->ring);
    s->ring = nr;
    s->ring_cap = cap;
}

/* Records bytes about to be delivered at next_off. */
static void ring_append(tcp_stream *s, const uint8_t *data, size_t n)
{
    if (s->pool->cfg->recent_window == 0)
        return;
    if (s->ring_len + n > s->ring_cap && s->ring_cap < s->pool->cfg->recent_window)
        ring_grow(s, s->ring_len + n);
    if (s->ring_cap == 0)
        return;
    if (n >= s->ring_cap) {
        ring_put(s->ring, s->ring_cap, s->next_off + n - s->ring_cap,
                 data + (n - s->ring_cap), s->ring_cap);
        s->ring_len = s->ring_cap;
    } else {
        ring_put(s->ring, s->ring_cap, s->next_off, data, n);
        s->ring_len = s->ring_len + n > s->ring_cap ? s->ring_cap : s->ring_len + n;
    }
}

static void ring_free(tcp_stream *s)
{
    if (s->ring) {
        free(s->ring);
        pool_give(s->pool, s->ring_cap);
    }
    s->ring = NULL;
    s->ring_cap = 0;
    s->ring_len = 0;
}

/* Compares bytes [off, off+n) (all below next_off, off >= 0) with what was
 * delivered.  Reports overlap_unverified for the part older than the window
 * and overlap_mismatch at the first differing byte.  Returns 1 when a
 * mismatch was found. */
static int compare_delivered(tcp_stream *s, reasm_ctx *ctx, uint64_t off,
                             const uint8_t *p, size_t n)
{
    uint64_t win_start = s->next_off - s->ring_len;
    if (off < win_start) {
        uint64_t skip = win_start - off;
        stream_report(s, ctx, REASM_ANOMALY_OVERLAP_UNVERIFIED, off);
        if (skip >= n)
            return 0;
        p += skip;
        n -= (size_t)skip;
        off = win_start;
    }
    while (n > 0) {
        size_t idx = (size_t)(off % s->ring_cap);
        size_t chunk = n < s->ring_cap - idx ? n : s->ring_cap - idx;
        for (size_t i = 0; i < chunk; i++) {
            if (s->ring[idx + i] != p[i]) {
                stream_report(s, ctx, REASM_ANOMALY_OVERLAP_MISMATCH, off + i);
                return 1;
            }
        }
        off += chunk;
        p += chunk;
        n -= chunk;
    }
    return 0;
}

/* ---- held blocks ---------------------------------------------------------- */
static void block_free(tcp_stream *s, reasm_block *b)
{
    s->held -= b->len;
    s->nblocks--;
    pool_give(s->pool, b->len);
    free(b);
}

static void blocks_free_all(tcp_stream *s)
{
    reasm_block *b = s->head;
    while (b) {
        reasm_block *next = b->next;
        block_free(s, b);
        b = next;
    }
    s->head = NULL;
}

/* ---- delivery ------------------------------------------------------------- */

/* Delivers n bytes at next_off, honouring the depth limit. */
static void stream_emit(tcp_stream *s, reasm_ctx *ctx, const uint8_t *data,
                        size_t n, int from_block)
{
    uint64_t depth = s->pool->cfg->depth;
    size_t give = n;
    int hit = 0;
    if (s->depth_reached)
        return;
    if (depth && s->next_off + n > depth) {
        give = depth > s->next_off ? (size_t)(depth - s->next_off) : 0;
        hit = 1;
    }
    if (give) {
        ring_append(s, data, give);
        if (ctx->cb && ctx->cb->deliver)
            ctx->cb->deliver(ctx->user, s->dir, data, give, ctx->ts);
        s->next_off += give;
        s->delivered += give;
        s->pool->counters[from_block ? REASM_CTR_HELD_BYTES_DELIVERED
                                     : REASM_CTR_DIRECT_BYTES] += give;
    }
    if (hit) {
        s->depth_reached = 1;
        stream_report(s, ctx, REASM_ANOMALY_DEPTH, s->next_off);
    }
}

/* n bytes at next_off are lost for good. */
static void stream_gap(tcp_stream *s, reasm_ctx *ctx, uint64_t n)
{
    uint64_t depth = s->pool->cfg->depth;
    int hit = 0;
    if (n == 0 || s->depth_reached)
        return;
    if (depth && s->next_off + n > depth) {
        n = depth > s->next_off ? depth - s->next_off : 0;
        hit = 1;
    }
    if (n) {
        if (ctx->cb && ctx->cb->gap)
            ctx->cb->gap(ctx->user, s->dir, n, ctx->ts);
        s->next_off += n;
        s->gap_bytes += n;
        s->ring_len = 0;          /* nothing before the gap to compare with */
        s->pool->counters[REASM_CTR_GAPS]++;
        s->pool->counters[REASM_CTR_GAP_BYTES] += n;
    }
    if (hit) {
        s->depth_reached = 1;
        stream_report(s, ctx, REASM_ANOMALY_DEPTH, s->next_off);
    }
}

/* Delivers the held blocks that start at next_off and end at or before
 * `limit`, in order.  Returns the number delivered. */
static unsigned drain_upto(tcp_stream *s, reasm_ctx *ctx, uint64_t limit)
{
    unsigned n = 0;
    while (s->head && s->head->off == s->next_off &&
           s->head->off + s->head->len <= limit && !s->depth_reached) {
        reasm_block *b = s->head;
        s->head = b->next;
        stream_emit(s, ctx, b->data, b->len, 1);
        block_free(s, b);
        n++;
    }
    return n;
}

static void drain_all(tcp_stream *s, reasm_ctx *ctx)
{
    drain_upto(s, ctx, UINT64_MAX);
}

/* Releases held data until `limit`: each hole below it becomes a gap and the
 * blocks after each hole are delivered.  Used by ACK, flush and caps. */
static void release_upto(tcp_stream *s, reasm_ctx *ctx, uint64_t limit)
{
    drain_all(s, ctx);
    while (s->next_off < limit && !s->depth_reached) {
        uint64_t hole_end = limit;
        if (s->head && s->head->off < hole_end)
            hole_end = s->head->off;
        stream_gap(s, ctx, hole_end - s->next_off);
        drain_all(s, ctx);
    }
}

static void check_fin_done(tcp_stream *s)
{
    if (s->state == TCP_STREAM_OPEN && s->fin_seen && s->next_off >= s->fin_off)
        s->state = TCP_STREAM_FIN_DONE;
}

/* Ends the stream: everything held is delivered with its holes as gaps, the
 * bytes missing before a known FIN too. */
static void stream_end(tcp_stream *s, reasm_ctx *ctx, tcp_stream_state why)
{
    if (s->state != TCP_STREAM_OPEN) {
        blocks_free_all(s);
        return;
    }
    if (s->have_origin && !s->depth_reached) {
        uint64_t limit = s->next_off;
        for (reasm_block *b = s->head; b; b = b->next)
            limit = b->off + b->len;
        if (s->fin_seen && s->fin_off > limit)
            limit = s->fin_off;
        release_upto(s, ctx, limit);
    }
    blocks_free_all(s);
    check_fin_done(s);
    if (s->state == TCP_STREAM_OPEN)
        s->state = (uint8_t)why;
    if (why == TCP_STREAM_RST)
        ring_free(s);
}

/* ---- segment processing --------------------------------------------------- */

/* Nearest 64-bit offset for a 32-bit sequence number (RFC 9293 3.4 modulo
 * arithmetic).  May be negative: bytes before the stream origin. */
static int64_t seq_to_off(const tcp_stream *s, uint32_t seq)
{
    uint32_t ref = s->base_seq + (uint32_t)s->next_off;
    int32_t d = (int32_t)(seq - ref);
    return (int64_t)s->next_off + d;
}

/* Makes room to hold n more bytes in one more block.  Returns 1 when the
 * block may be allocated, 0 after reporting which cap refused it. */
static int may_hold(tcp_stream *s, reasm_ctx *ctx, size_t n)
{
    const reasm_config *cfg = s->pool->cfg;
    if (s->held + n > cfg->max_held_per_stream ||
        s->nblocks + 1 > cfg->max_blocks_per_stream) {
        stream_report(s, ctx, REASM_ANOMALY_STREAM_CAP, s->next_off);
        return 0;
    }
    if (!pool_can_take(s->pool, n)) {
        stream_report(s, ctx, REASM_ANOMALY_MEMCAP, s->next_off);
        return 0;
    }
    return 1;
}

/* A cap refused to hold [cur, ...): give up the leading hole.  Either held
 * data sits below cur (declare the hole before it a gap and deliver it), or
 * nothing does (declare [next_off, cur) a gap so the piece is in order). */
static void give_up_leading_hole(tcp_stream *s, reasm_ctx *ctx, uint64_t cur)
{
    if (s->head && s->head->off < cur) {
        stream_gap(s, ctx, s->head->off - s->next_off);
        drain_all(s, ctx);
    } else {
        stream_gap(s, ctx, cur - s->next_off);
    }
}

/* Data [off, off+len) with off >= 0, below any FIN, not a keep-alive. */
static void stream_data(tcp_stream *s, reasm_ctx *ctx, uint64_t off,
                        const uint8_t *p, size_t len)
{
    uint64_t end = off + len;
    int new_bytes = 0, overlap = 0;

    /* Already delivered: compare with the recent window, first wins. */
    if (off < s->next_off) {
        uint64_t old_end = end < s->next_off ? end : s->next_off;
        size_t n = (size_t)(old_end - off);
        compare_delivered(s, ctx, off, p, n);
        overlap = 1;
        p += n;
        off = old_end;
    }

    const uint8_t *base = p;       /* payload byte at offset `off` */
    uint64_t base_off = off;
    uint64_t cur = off;
    reasm_block **link = &s->head;

    while (cur < end && !s->depth_reached) {
        if (drain_upto(s, ctx, cur))
            link = &s->head;
        while (*link && (*link)->off + (*link)->len <= cur)
            link = &(*link)->next;
        reasm_block *b = *link;

        if (b && b->off <= cur) {
            /* Overlap with held bytes: the held copy wins. */
            uint64_t ov_end = end < b->off + b->len ? end : b->off + b->len;
            const uint8_t *held = b->data + (cur - b->off);
            const uint8_t *in = base + (cur - base_off);
            size_t n = (size_t)(ov_end - cur);
            if (memcmp(held, in, n) != 0) {
                size_t i = 0;
                while (held[i] == in[i])
                    i++;
                stream_report(s, ctx, REASM_ANOMALY_OVERLAP_MISMATCH, cur + i);
            }
            overlap = 1;
            cur = ov_end;
            continue;
        }

        uint64_t hole_end = (b && b->off < end) ? b->off : end;
        size_t n = (size_t)(hole_end - cur);
        if (cur == s->next_off) {
            /* In order: straight from the packet, no copy. */
            stream_emit(s, ctx, base + (cur - base_off), n, 0);
            cur = hole_end;
            new_bytes = 1;
            continue;
        }
        if (!may_hold(s, ctx, n)) {
            give_up_leading_hole(s, ctx, cur);
            link = &s->head;
            continue;
        }
        reasm_block *nb = malloc(sizeof *nb + n);
        if (nb == NULL) {
            stream_report(s, ctx, REASM_ANOMALY_ALLOC_FAILED, s->next_off);
            give_up_leading_hole(s, ctx, cur);
            link = &s->head;
            continue;
        }
        nb->off = cur;
        nb->len = n;
        memcpy(nb->data, base + (cur - base_off), n);
        nb->next = *link;
        *link = nb;
        link = &nb->next;
        s->held += n;
        s->nblocks++;
        pool_take(s->pool, n);
        s->pool->counters[REASM_CTR_BLOCKS_HELD]++;
        cur = hole_end;
        new_bytes = 1;
    }
    drain_all(s, ctx);

    if (!new_bytes)
        s->pool->counters[REASM_CTR_DUPLICATES]++;
    else if (overlap)
        s->pool->counters[REASM_CTR_OVERLAP_SAME]++;
}

/* Drops held bytes at or beyond fin_off (reported once). */
static void trim_after_fin(tcp_stream *s, reasm_ctx *ctx)
{
    reasm_block **link = &s->head;
    while (*link) {
        reasm_block *b = *link;
        if (b->off >= s->fin_off) {
            stream_report(s, ctx, REASM_ANOMALY_DATA_AFTER_FIN, b->off);
            *link = b->next;
            block_free(s, b);
            continue;
        }
        if (b->off + b->len > s->fin_off) {
            size_t cut = (size_t)(b->off + b->len - s->fin_off);
            stream_report(s, ctx, REASM_ANOMALY_DATA_AFTER_FIN, s->fin_off);
            b->len -= cut;
            s->held -= cut;
            pool_give(s->pool, cut);
        }
        link = &b->next;
    }
}

static void stream_fin(tcp_stream *s, reasm_ctx *ctx, int64_t fin_off)
{
    if (fin_off < 0)
        return;
    if (s->fin_seen) {
        if ((uint64_t)fin_off != s->fin_off)
            stream_report(s, ctx, REASM_ANOMALY_FIN_SEQ_MISMATCH, (uint64_t)fin_off);
        return;
    }
    s->fin_seen = 1;
    s->pool->counters[REASM_CTR_FIN_SEEN]++;
    if ((uint64_t)fin_off < s->next_off) {
        /* Bytes were delivered past this FIN: they were data after FIN. */
        stream_report(s, ctx, REASM_ANOMALY_DATA_AFTER_FIN, (uint64_t)fin_off);
        s->fin_off = s->next_off;
    } else {
        s->fin_off = (uint64_t)fin_off;
    }
    trim_after_fin(s, ctx);
}

void tcp_stream_init(tcp_stream *s, reasm_pool *pool, int dir)
{
    memset(s, 0, sizeof *s);
    s->pool = pool;
    s->dir = dir;
    s->state = TCP_STREAM_OPEN;
}

int tcp_stream_segment(tcp_stream *s, uint32_t seq, uint8_t tcp_flags,
                       const uint8_t *payload, size_t len, uint64_t ts_us,
                       const reasm_callbacks *cb, void *user)
{
    reasm_ctx ctx = { cb, user, ts_us, 0 };
    uint32_t data_seq = seq;

    s->pool->counters[REASM_CTR_SEGMENTS]++;
    if (payload == NULL)
        len = 0;
    if (len > REASM_MAX_SEGMENT_LEN) {
        stream_report(s, &ctx, REASM_ANOMALY_SEGMENT_TOO_LONG, s->next_off);
        len = 0;
    }

    if (tcp_flags & TCP_FLAG_SYN) {
        /* RFC 9293 3.4: the SYN occupies the ISN; data starts at ISN+1. */
        data_seq = seq + 1;
        if (!s->have_origin) {
            s->base_seq = data_seq;
            s->have_origin = 1;
            s->syn_seen = 1;
        } else if (data_seq != s->base_seq) {
            if ((s->state != TCP_STREAM_OPEN || s->fin_seen) &&
                !(tcp_flags & TCP_FLAG_RST))
                return REASM_SEG_NEW_CONN;          /* port reuse */
            stream_report(s, &ctx, REASM_ANOMALY_SYN_SEQ_MISMATCH, s->next_off);
            return REASM_SEG_OK;
        } else {
            s->syn_seen = 1;                        /* retransmitted SYN */
        }
    }

    if (!s->have_origin) {
        if (tcp_flags & TCP_FLAG_RST) {
            s->state = TCP_STREAM_RST;
            s->pool->counters[REASM_CTR_RST_SEEN]++;
            return REASM_SEG_OK;
        }
        if (len == 0 && !(tcp_flags & TCP_FLAG_FIN))
            return REASM_SEG_OK;   /* a pure ACK may be a 0-byte keep-alive */
        s->base_seq = data_seq;
        s->have_origin = 1;
        s->pool->counters[REASM_CTR_MIDSTREAM]++;
    }

    int64_t off = seq_to_off(s, data_seq);
    int64_t fin_at = off + (int64_t)len;   /* FIN occupies the seq after the data */

    if (tcp_flags & TCP_FLAG_RST) {
        /* RFC 9293 3.5.3: RST payload is diagnostic text, not stream data. */
        if (s->state == TCP_STREAM_OPEN)
            s->pool->counters[REASM_CTR_RST_SEEN]++;
        stream_end(s, &ctx, TCP_STREAM_RST);
        return REASM_SEG_OK;
    }

    if (s->state == TCP_STREAM_RST || s->state == TCP_STREAM_FLUSHED) {
        if (len > 0 && off + (int64_t)len > (int64_t)s->next_off)
            stream_report(s, &ctx, REASM_ANOMALY_DATA_AFTER_CLOSE, s->next_off);
        return REASM_SEG_OK;
    }

    if (len > 0 && !s->depth_reached) {
        const uint8_t *p = payload;
        int64_t end = off + (int64_t)len;
        s->pool->counters[REASM_CTR_DATA_SEGMENTS]++;
        if (len == 1 && s->next_off > 0 && off == (int64_t)s->next_off - 1) {
            /* RFC 1122 4.2.3.6 keep-alive: one (garbage) byte at SND.NXT-1. */
            s->pool->counters[REASM_CTR_KEEPALIVES]++;
            len = 0;
        } else if (end <= 0) {
            s->pool->counters[REASM_CTR_BEFORE_START]++;
            len = 0;
        } else if (off < 0) {
            s->pool->counters[REASM_CTR_BEFORE_START]++;
            p += (size_t)(-off);
            len -= (size_t)(-off);
            off = 0;
        }
        if (len > 0 && s->fin_seen && (uint64_t)end > s->fin_off) {
            uint64_t at = (uint64_t)off > s->fin_off ? (uint64_t)off : s->fin_off;
            stream_report(s, &ctx, REASM_ANOMALY_DATA_AFTER_FIN, at);
            len = (uint64_t)off >= s->fin_off ? 0 : (size_t)(s->fin_off - (uint64_t)off);
        }
        if (len > 0)
            stream_data(s, &ctx, (uint64_t)off, p, len);
    }

    if (tcp_flags & TCP_FLAG_FIN) {
        if (!s->depth_reached) {
            stream_fin(s, &ctx, fin_at);
        } else if (!s->fin_seen) {
            /* Past the depth nothing is tracked but the end of the stream. */
            s->fin_seen = 1;
            s->fin_off = s->next_off;
            s->pool->counters[REASM_CTR_FIN_SEEN]++;
        }
    }
    if (s->depth_reached)
        blocks_free_all(s);
    check_fin_done(s);
    return REASM_SEG_OK;
}

void tcp_stream_peer_ack(tcp_stream *s, uint32_t ack, uint64_t ts_us,
                         const reasm_callbacks *cb, void *user)
{
    reasm_ctx ctx = { cb, user, ts_us, 0 };
    if (!s->have_origin || s->state != TCP_STREAM_OPEN || s->depth_reached)
        return;
    int64_t a = seq_to_off(s, ack);
    if (s->fin_seen && a > (int64_t)s->fin_off)
        a = (int64_t)s->fin_off;              /* the ACK of the FIN itself */
    if (a <= (int64_t)s->next_off)
        return;
    release_upto(s, &ctx, (uint64_t)a);
    if (s->depth_reached)
        blocks_free_all(s);
    check_fin_done(s);
}

void tcp_stream_flush(tcp_stream *s, uint64_t ts_us,
                      const reasm_callbacks *cb, void *user)
{
    reasm_ctx ctx = { cb, user, ts_us, 0 };
    stream_end(s, &ctx, TCP_STREAM_FLUSHED);
}

void tcp_stream_free(tcp_stream *s)
{
    blocks_free_all(s);
    ring_free(s);
}

uint64_t tcp_stream_offset(const tcp_stream *s)
{
    return s->next_off;
}

int tcp_stream_get_state(const tcp_stream *s)
{
    return s->state;
}

size_t tcp_stream_held(const tcp_stream *s)
{
    return s->held;
}
