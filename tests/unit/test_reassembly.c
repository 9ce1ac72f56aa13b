/*
 * test_reassembly.c - unit tests for src/reassembly.c.  Segments are fed
 * directly; each test asserts the exact bytes delivered, the gaps (offset
 * and size) and the anomalies (id and offset).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "reassembly.h"

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_ACK 0x10

#define REC_MAX_BYTES (1u << 16)
#define REC_MAX_EVENTS 64

typedef struct rec_gap { uint64_t off, len; } rec_gap;
typedef struct rec_anom { int id; uint64_t off; } rec_anom;

/* What the callbacks saw. */
typedef struct recorder {
    uint8_t bytes[REC_MAX_BYTES];
    size_t nbytes;              /* delivered bytes, concatenated */
    uint64_t offset;            /* delivered + gaps, as the stream counts */
    uint64_t delivered_total;   /* may exceed REC_MAX_BYTES (big tests) */
    rec_gap gaps[REC_MAX_EVENTS];
    size_t ngaps;
    rec_anom anoms[REC_MAX_EVENTS];
    size_t nanoms;
    const uint8_t *last_ptr;    /* data pointer of the last delivery */
    size_t ndeliveries;
    int dir_seen;
} recorder;

static void rec_deliver(void *user, int dir, const uint8_t *data, size_t len,
                        uint64_t ts_us)
{
    recorder *r = user;
    (void)ts_us;
    r->dir_seen = dir;
    assert_true(len > 0);
    if (r->nbytes + len <= REC_MAX_BYTES) {
        memcpy(r->bytes + r->nbytes, data, len);
        r->nbytes += len;
    }
    r->offset += len;
    r->delivered_total += len;
    r->last_ptr = data;
    r->ndeliveries++;
}

static void rec_gap_cb(void *user, int dir, uint64_t len, uint64_t ts_us)
{
    recorder *r = user;
    (void)dir;
    (void)ts_us;
    assert_true(len > 0);
    assert_true(r->ngaps < REC_MAX_EVENTS);
    r->gaps[r->ngaps].off = r->offset;
    r->gaps[r->ngaps].len = len;
    r->ngaps++;
    r->offset += len;
}

static void rec_anomaly(void *user, int dir, int id, uint64_t off, uint64_t ts_us)
{
    recorder *r = user;
    (void)dir;
    (void)ts_us;
    assert_non_null(reasm_anomaly_name(id));
    assert_true(r->nanoms < REC_MAX_EVENTS);
    r->anoms[r->nanoms].id = id;
    r->anoms[r->nanoms].off = off;
    r->nanoms++;
}

static const reasm_callbacks CB = { rec_deliver, rec_gap_cb, rec_anomaly };

/* One stream with its own pool, config and recorder. */
typedef struct fixture {
    reasm_config cfg;
    reasm_pool pool;
    tcp_stream s;
    recorder r;
} fixture;

static fixture *fx_new(void)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    reasm_config_default(&f->cfg);
    reasm_pool_init(&f->pool, &f->cfg);
    tcp_stream_init(&f->s, &f->pool, 1);
    return f;
}

static void fx_free(fixture *f)
{
    tcp_stream_free(&f->s);
    assert_int_equal(f->pool.mem_used, 0);
    free(f);
}

static void seg(fixture *f, uint32_t seq, uint8_t flags, const void *data, size_t len)
{
    int rc = tcp_stream_segment(&f->s, seq, flags, data, len, 1000, &CB, &f->r);
    assert_int_equal(rc, REASM_SEG_OK);
    /* Invariant: the stream's offset is what the callbacks accounted. */
    assert_true(tcp_stream_offset(&f->s) == f->r.offset);
}

static void assert_bytes(const recorder *r, const void *want, size_t n)
{
    assert_int_equal(r->nbytes, n);
    assert_memory_equal(r->bytes, want, n);
}

static const char MSG[] =
    "* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR] Dovecot ready.\r\n"
    "a1 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n";
#define MSG_LEN (sizeof MSG - 1)

/* ---- tests ---------------------------------------------------------------- */

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(reasm_anomaly_name(REASM_ANOMALY_OVERLAP_MISMATCH), "overlap_mismatch");
    assert_string_equal(reasm_anomaly_name(REASM_ANOMALY_MEMCAP), "reasm_memcap");
    assert_string_equal(reasm_anomaly_name(REASM_ANOMALY_STREAM_CAP), "reasm_stream_cap");
    assert_null(reasm_anomaly_name(-1));
    assert_null(reasm_anomaly_name(REASM_ANOMALY_COUNT));
    for (int i = 0; i < REASM_ANOMALY_COUNT; i++) {
        assert_int_equal(reasm_anomaly_from_name(reasm_anomaly_name(i)), i);
        assert_non_null(reasm_anomaly_desc(i));
    }
    assert_int_equal(reasm_anomaly_from_name("no_such_thing"), -1);
    assert_string_equal(reasm_counter_name(REASM_CTR_GAPS), "gaps");
}

static void test_in_order_zero_copy(void **state)
{
    (void)state;
    fixture *f = fx_new();
    uint8_t pkt[MSG_LEN];
    memcpy(pkt, MSG, MSG_LEN);
    seg(f, 1000, F_SYN, NULL, 0);
    seg(f, 1001, F_ACK, pkt, 10);
    assert_ptr_equal(f->r.last_ptr, pkt);          /* zero copy */
    seg(f, 1011, F_ACK, pkt + 10, 50);
    assert_ptr_equal(f->r.last_ptr, pkt + 10);
    seg(f, 1061, F_ACK | F_FIN, pkt + 60, MSG_LEN - 60);
    assert_ptr_equal(f->r.last_ptr, pkt + 60);
    assert_bytes(&f->r, MSG, MSG_LEN);
    assert_int_equal(f->r.ndeliveries, 3);
    assert_int_equal(f->r.dir_seen, 1);
    assert_int_equal(f->r.ngaps, 0);
    assert_int_equal(f->r.nanoms, 0);
    assert_int_equal(tcp_stream_get_state(&f->s), TCP_STREAM_FIN_DONE);
    assert_int_equal(f->pool.counters[REASM_CTR_DIRECT_BYTES], MSG_LEN);
    assert_int_equal(f->pool.counters[REASM_CTR_BLOCKS_HELD], 0);
    fx_free(f);
}

static void test_reversed(void **state)
{
    (void)state;
    fixture *f = fx_new();
    seg(f, 0, F_SYN, NULL, 0);
    /* 10-byte segments, last first */
    for (int i = (int)((MSG_LEN + 9) / 10) - 1; i >= 0; i--) {
        size_t o = (size_t)i * 10, n = MSG_LEN - o < 10 ? MSG_LEN - o : 10;
        seg(f, 1 + (uint32_t)o, F_ACK, MSG + o, n);
        if (i > 0)
            assert_int_equal(f->r.nbytes, 0);      /* nothing until byte 0 */
    }
    assert_bytes(&f->r, MSG, MSG_LEN);
    assert_int_equal(tcp_stream_held(&f->s), 0);
    assert_int_equal(f->r.ngaps, 0);
    assert_int_equal(f->r.nanoms, 0);
    fx_free(f);
}

/* Small deterministic PRNG so permutations are reproducible. */
static uint32_t rng_next(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void test_random_permutations(void **state)
{
    (void)state;
    enum { N = 3000, MAXSEG = 128 };
    static uint8_t msg[N];
    for (size_t i = 0; i < N; i++)
        msg[i] = (uint8_t)(i * 7 + (i >> 8));
    for (uint32_t seed = 1; seed <= 200; seed++) {
        uint32_t x = seed * 2654435761u;
        size_t offs[N], lens[N], nseg = 0;
        for (size_t o = 0; o < N;) {
            size_t n = 1 + rng_next(&x) % MAXSEG;
            if (n > N - o)
                n = N - o;
            offs[nseg] = o;
            lens[nseg] = n;
            nseg++;
            o += n;
        }
        for (size_t i = nseg - 1; i > 0; i--) {      /* Fisher-Yates */
            size_t j = rng_next(&x) % (i + 1);
            size_t t = offs[i]; offs[i] = offs[j]; offs[j] = t;
            t = lens[i]; lens[i] = lens[j]; lens[j] = t;
        }
        fixture *f = fx_new();
        uint32_t isn = rng_next(&x);
        seg(f, isn, F_SYN, NULL, 0);
        for (size_t i = 0; i < nseg; i++) {
            seg(f, isn + 1 + (uint32_t)offs[i], F_ACK, msg + offs[i], lens[i]);
            if (seed % 3 == 0 && i % 4 == 0)          /* some exact duplicates */
                seg(f, isn + 1 + (uint32_t)offs[i], F_ACK, msg + offs[i], lens[i]);
            if (seed % 5 == 0 && i % 3 == 0) {        /* overlapping re-segmentation */
                size_t o = offs[i] > 5 ? offs[i] - 5 : 0;
                size_t n = lens[i] + 10;
                if (o + n > N)
                    n = N - o;
                seg(f, isn + 1 + (uint32_t)o, F_ACK, msg + o, n);
            }
        }
        assert_bytes(&f->r, msg, N);
        assert_int_equal(f->r.ngaps, 0);
        assert_int_equal(f->r.nanoms, 0);
        assert_int_equal(tcp_stream_held(&f->s), 0);
        fx_free(f);
    }
}

static void test_duplicates(void **state)
{
    (void)state;
    fixture *f = fx_new();
    seg(f, 99, F_SYN, NULL, 0);
    seg(f, 100, F_ACK, MSG, 20);
    seg(f, 100, F_ACK, MSG, 20);                    /* retransmission of delivered */
    seg(f, 140, F_ACK, MSG + 40, 10);               /* held */
    seg(f, 140, F_ACK, MSG + 40, 10);               /* retransmission of held */
    assert_int_equal(f->pool.counters[REASM_CTR_DUPLICATES], 2);
    seg(f, 120, F_ACK, MSG + 20, 20);
    assert_bytes(&f->r, MSG, 50);
    assert_int_equal(f->r.nanoms, 0);
    assert_int_equal(f->r.ngaps, 0);
    fx_free(f);
}

static void test_partial_overlaps_same(void **state)
{
    (void)state;
    fixture *f = fx_new();
    seg(f, 0, F_SYN, NULL, 0);
    seg(f, 1 + 20, F_ACK, MSG + 20, 10);            /* held [20,30) */
    seg(f, 1 + 15, F_ACK, MSG + 15, 10);            /* [15,25): left side overlaps */
    seg(f, 1 + 25, F_ACK, MSG + 25, 15);            /* [25,40): right side overlaps */
    seg(f, 1 + 10, F_ACK, MSG + 10, 35);            /* covers it all, extends to 45 */
    assert_int_equal(f->r.nbytes, 0);
    seg(f, 1 + 0, F_ACK, MSG, 12);                  /* fills the leading hole, overlaps */
    assert_bytes(&f->r, MSG, 45);
    seg(f, 1 + 5, F_ACK, MSG + 5, 50);              /* overlaps delivered data */
    assert_bytes(&f->r, MSG, 55);
    assert_int_equal(f->r.nanoms, 0);
    assert_true(f->pool.counters[REASM_CTR_OVERLAP_SAME] >= 4);
    fx_free(f);
}

static void test_overlap_mismatch_first_wins(void **state)
{
    (void)state;
    fixture *f = fx_new();
    char evil[64];
    memcpy(evil, MSG, sizeof evil);
    evil[27] = 'X';                                 /* differs from MSG[27] */
    seg(f, 0, F_SYN, NULL, 0);
    seg(f, 1 + 20, F_ACK, MSG + 20, 10);            /* held [20,30) original */
    seg(f, 1 + 18, F_ACK, evil + 18, 20);           /* [18,38) conflicting at 27 */
    assert_int_equal(f->r.nanoms, 1);
    assert_int_equal(f->r.anoms[0].id, REASM_ANOMALY_OVERLAP_MISMATCH);
    assert_int_equal(f->r.anoms[0].off, 27);
    seg(f, 1, F_ACK, MSG, 20);
    assert_bytes(&f->r, MSG, 38);                   /* first copy won */
    /* Conflicting retransmission of already-delivered bytes. */
    evil[5] = '!';
    seg(f, 1, F_ACK, evil, 10);
    assert_int_equal(f->r.nanoms, 2);
    assert_int_equal(f->r.anoms[1].id, REASM_ANOMALY_OVERLAP_MISMATCH);
    assert_int_equal(f->r.anoms[1].off, 5);
    assert_bytes(&f->r, MSG, 38);
    assert_int_equal(f->pool.anomalies[REASM_ANOMALY_OVERLAP_MISMATCH], 2);
    fx_free(f);
}

static void test_overlap_unverified(void **state)
{
    (void)state;
    fixture *f = fx_new();
    f->cfg.recent_window = 0;                       /* nothing kept to compare */
    seg(f, 0, F_SYN, NULL, 0);
    seg(f, 1, F_ACK, MSG, 30);
    seg(f, 1, F_ACK, MSG, 10);
    assert_int_equal(f->r.nanoms, 1);
    assert_int_equal(f->r.anoms[0].id, REASM_ANOMALY_OVERLAP_UNVERIFIED);
    assert_int_equal(f->r.anoms[0].off, 0);
    assert_bytes(&f->r, MSG, 30);
    fx_free(f);
}

static void test_window_ring_wraps(void **state)
{
    (void)state;
    /* Deliver 20 KiB in odd-sized pieces with a 8 KiB window: retransmitting
     * the last 8 KiB compares equal, older bytes are unverified. */
    enum { N = 20000 };
    static uint8_t data[N];
    for (size_t i = 0; i < N; i++)
        data[i] = (uint8_t)(i * 31 + 7);
    fixture *f = fx_new();
    f->cfg.recent_window = 8192;
    seg(f, 0, F_SYN, NULL, 0);
    for (size_t o = 0; o < N; o += 1337)
        seg(f, 1 + (uint32_t)o, F_ACK, data + o, N - o < 1337 ? N - o : 1337);
    assert_bytes(&f->r, data, N);
    seg(f, 1 + N - 8192, F_ACK, data + N - 8192, 8192);
    assert_int_equal(f->r.nanoms, 0);
    uint8_t bad[100];
    memcpy(bad, data + N - 100, 100);
    bad[99] ^= 1;
    seg(f, 1 + N - 100, F_ACK, bad, 100);
    assert_int_equal(f->r.nanoms, 1);
    assert_int_equal(f->r.anoms[0].id, REASM_ANOMALY_OVERLAP_MISMATCH);
    assert_int_equal(f->r.anoms[0].off, N - 1);
    seg(f, 1 + N - 8200, F_ACK, data + N - 8200, 10);
    assert_int_equal(f->r.nanoms, 2);
    assert_int_equal(f->r.anoms[1].id, REASM_ANOMALY_OVERLAP_UNVERIFIED);
    assert_true(f->s.ring_cap == 8192);
    fx_free(f);
}

static void test_hole_then_flush(void **state)
{
    (void)state;
    fixture *f = fx_new();
    seg(f, 0, F_SYN, NULL, 0);
    seg(f, 1, F_ACK, MSG, 10);
    seg(f, 1 + 25, F_ACK, MSG + 25, 10);            /* hole [10,25) */
    seg(f, 1 + 50, F_ACK, MSG + 50, 5);             /* hole [35,50) */
    assert_int_equal(tcp_stream_held(&f->s), 15);
    tcp_stream_flush(&f->s, 2000, &CB, &f->r);
    assert_int_equal(f->r.ngaps, 2);
    assert_int_equal(f->r.gaps[0].off, 10);
    assert_int_equal(f->r.gaps[0].len, 15);
    assert_int_equal(f->r.gaps[1].off, 35);
    assert_int_equal(f->r.gaps[1].len, 15);
    uint8_t want[25];
    memcpy(want, MSG, 10);
    memcpy(want + 10, MSG + 25, 10);
    memcpy(want + 20, MSG + 50, 5);
    assert_bytes(&f->r, want, 25);
    assert_int_equal(tcp_stream_offset(&f->s), 55);
    assert_int_equal(tcp_stream_held(&f->s), 0);
    assert_int_equal(tcp_stream_get_state(&f->s), TCP_STREAM_FLUSHED);
    assert_int_equal(f->r.nanoms, 0);
    /* A FIN known but never reached: the bytes before it are a final gap. */
    fixture *g = fx_new();
    seg(g, 0, F_SYN, NULL, 0);
    seg(g, 1, F_ACK, MSG, 10);
    seg(g, 1 + 30, F_ACK | F_FIN, MSG + 30, 10);    /* FIN at 40 */
    tcp_stream_flush(&g->s, 2000, &CB, &g->r);
    assert_int_equal(g->r.ngaps, 1);
    assert_int_equal(g->r.gaps[0].off, 10);
    assert_int_equal(g->r.gaps[0].len, 20);
    assert_int_equal(tcp_stream_offset(&g->s), 40);
    assert_int_equal(tcp_stream_get_state(&g->s), TCP_STREAM_FIN_DONE);
    fx_free(g);
    fx_free(f);
}

static void test_peer_ack_past_hole(void **state)
{
    (void)state;
    fixture *f = fx_new();
    seg(f, 500, F_SYN, NULL, 0);
    tcp_stream_peer_ack(&f->s, 501, 1, &CB, &f->r);  /* SYN-ACK: nothing lost */
    seg(f, 501, F_ACK, MSG, 10);
    seg(f, 501 + 30, F_ACK, MSG + 30, 10);           /* hole [10,30) */
    tcp_stream_peer_ack(&f->s, 501 + 10, 1, &CB, &f->r);
    assert_int_equal(f->r.ngaps, 0);
    tcp_stream_peer_ack(&f->s, 501 + 45, 1, &CB, &f->r); /* peer saw up to 45 */
    assert_int_equal(f->r.ngaps, 2);
    assert_int_equal(f->r.gaps[0].off, 10);
    assert_int_equal(f->r.gaps[0].len, 20);
    assert_int_equal(f->r.gaps[1].off, 40);
    assert_int_equal(f->r.gaps[1].len, 5);
    assert_int_equal(tcp_stream_offset(&f->s), 45);
    uint8_t want[20];
    memcpy(want, MSG, 10);
    memcpy(want + 10, MSG + 30, 10);
    assert_bytes(&f->r, want, 20);
    /* The lost bytes arriving late are old data, not re-delivered. */
    seg(f, 501 + 10, F_ACK, MSG + 10, 20);
    assert_bytes(&f->r, want, 20);
    /* ACK of the FIN is clamped to the FIN. */
    seg(f, 501 + 45, F_ACK | F_FIN, MSG + 45, 5);
    tcp_stream_peer_ack(&f->s, 501 + 51, 1, &CB, &f->r);
    assert_int_equal(f->r.ngaps, 2);
    assert_int_equal(tcp_stream_offset(&f->s), 50);
    assert_int_equal(tcp_stream_get_state(&f->s), TCP_STREAM_FIN_DONE);
    fx_free(f);
}

static void test_wraparound(void **state)
{
    (void)state;
    fixture *f = fx_new();
    uint32_t isn = 0xFFFFFFF0u;
    seg(f, isn, F_SYN, NULL, 0);
    uint32_t d = isn + 1;                            /* 0xFFFFFFF1 */
    seg(f, d + 20, F_ACK, MSG + 20, 20);             /* seq wraps: 0x00000005 */
    seg(f, d + 0, F_ACK, MSG, 10);                   /* 0xFFFFFFF1 */
    seg(f, d + 10, F_ACK, MSG + 10, 10);             /* 0xFFFFFFFB..0x04 */
    assert_bytes(&f->r, MSG, 40);
    tcp_stream_peer_ack(&f->s, d + 40, 1, &CB, &f->r);
    seg(f, d + 40, F_ACK | F_FIN, MSG + 40, 10);
    assert_bytes(&f->r, MSG, 50);
    assert_int_equal(f->r.ngaps, 0);
    assert_int_equal(f->r.nanoms, 0);
    assert_int_equal(tcp_stream_get_state(&f->s), TCP_STREAM_FIN_DONE);
    fx_free(f);
}

static uint64_t big_delivered;
static void count_deliver(void *user, int dir, const uint8_t *data, size_t len,
                          uint64_t ts_us)
{
    (void)user; (void)dir; (void)data; (void)ts_us;
    big_delivered += len;
}

static void test_beyond_4gib(void **state)
{
    (void)state;
    /* 64-bit offsets: a stream longer than 2^32 bytes, with an out-of-order
     * pair straddling offset 2^32 (sequence space wraps once). */
    static uint8_t chunk[65536];
    reasm_callbacks cb = { count_deliver, rec_gap_cb, rec_anomaly };
    fixture *f = fx_new();
    f->cfg.recent_window = 0;
    uint32_t isn = 12345;
    tcp_stream_segment(&f->s, isn, F_SYN, NULL, 0, 0, &cb, &f->r);
    uint64_t off = 0;
    big_delivered = 0;
    while (off + sizeof chunk < (1ull << 32) - 100) {
        tcp_stream_segment(&f->s, isn + 1 + (uint32_t)off, F_ACK, chunk,
                           sizeof chunk, 0, &cb, &f->r);
        off += sizeof chunk;
    }
    uint64_t b = (1ull << 32) - 50;                   /* straddles 2^32 */
    tcp_stream_segment(&f->s, isn + 1 + (uint32_t)b, F_ACK, chunk, 100, 0, &cb, &f->r);
    tcp_stream_segment(&f->s, isn + 1 + (uint32_t)off, F_ACK, chunk,
                       (size_t)(b - off), 0, &cb, &f->r);
    assert_true(tcp_stream_offset(&f->s) == b + 100);
    assert_true(big_delivered == b + 100);
    assert_int_equal(tcp_stream_held(&f->s), 0);
    assert_int_equal(f->r.nanoms, 0);
    assert_int_equal(f->r.ngaps, 0);
    fx_free(f);
}

static void test_syn_with_data(void **state)
{
    (void)state;
    fixture *f = fx_new();
    uint8_t pkt[16];
    memcpy(pkt, MSG, 16);
    seg(f, 7000, F_SYN, pkt, 16);                    /* TFO-style SYN data */
    assert_ptr_equal(f->r.last_ptr, pkt);
    seg(f, 7000 + 1 + 16, F_ACK, MSG + 16, 10);
    seg(f, 7000, F_SYN, pkt, 16);                    /* retransmitted SYN */
    assert_bytes(&f->r, MSG, 26);
    assert_int_equal(f->r.nanoms, 0);
    fx_free(f);
}

static void test_midstream(void **state)
{
    (void)state;
    fixture *f = fx_new();
    seg(f, 80000, F_ACK, NULL, 0);                   /* pure ACK: no origin */
    tcp_stream_peer_ack(&f->s, 1234, 1, &CB, &f->r); /* ignored: no origin */
    seg(f, 90000, F_ACK, MSG + 30, 10);              /* origin: offset 0 */
    seg(f, 90010, F_ACK, MSG + 40, 10);
    seg(f, 89990, F_ACK, MSG + 20, 20);              /* straddles the origin */
    assert_bytes(&f->r, MSG + 30, 20);
    assert_int_equal(f->pool.counters[REASM_CTR_MIDSTREAM], 1);
    assert_int_equal(f->pool.counters[REASM_CTR_BEFORE_START], 1);
    assert_int_equal(f->r.ngaps, 0);
    fx_free(f);
}

static void test_keepalive(void **state)
{
    (void)state;
    fixture *f = fx_new();
    seg(f, 0, F_SYN, NULL, 0);
    seg(f, 1, F_ACK, MSG, 10);
    seg(f, 10, F_ACK, "\0", 1);                      /* 1 garbage byte at SND.NXT-1 */
    seg(f, 10, F_ACK, NULL, 0);                      /* 0-byte keep-alive */
    seg(f, 11, F_ACK, MSG + 10, 10);
    assert_bytes(&f->r, MSG, 20);
    assert_int_equal(f->r.nanoms, 0);
    assert_int_equal(f->r.ngaps, 0);
    assert_int_equal(f->pool.counters[REASM_CTR_KEEPALIVES], 1);
    fx_free(f);
}

static void test_fin_then_data(void **state)
{
    (void)state;
    fixture *f = fx_new();
    seg(f, 0, F_SYN, NULL, 0);
    seg(f, 1 + 10, F_ACK | F_FIN, MSG + 10, 10);     /* FIN at 20, out of order */
    assert_int_equal(tcp_stream_get_state(&f->s), TCP_STREAM_OPEN);
    seg(f, 1, F_ACK, MSG, 10);
    assert_int_equal(tcp_stream_get_state(&f->s), TCP_STREAM_FIN_DONE);
    seg(f, 1 + 10, F_ACK | F_FIN, MSG + 10, 10);     /* FIN retransmitted: fine */
    assert_int_equal(f->r.nanoms, 0);
    seg(f, 1 + 15, F_ACK, MSG + 15, 10);             /* [15,25): 20..25 after FIN */
    assert_int_equal(f->r.nanoms, 1);
    assert_int_equal(f->r.anoms[0].id, REASM_ANOMALY_DATA_AFTER_FIN);
    assert_int_equal(f->r.anoms[0].off, 20);
    assert_bytes(&f->r, MSG, 20);
    fx_free(f);
}

static void test_rst(void **state)
{
    (void)state;
    fixture *f = fx_new();
    seg(f, 0, F_SYN, NULL, 0);
    seg(f, 1, F_ACK, MSG, 10);
    seg(f, 1 + 20, F_ACK, MSG + 20, 10);
    seg(f, 1 + 30, F_RST, NULL, 0);
    assert_int_equal(tcp_stream_get_state(&f->s), TCP_STREAM_RST);
    assert_int_equal(f->r.ngaps, 1);
    assert_int_equal(f->r.gaps[0].off, 10);
    assert_int_equal(f->r.gaps[0].len, 10);
    seg(f, 1 + 30, F_ACK, MSG + 30, 10);
    assert_int_equal(f->r.nanoms, 1);
    assert_int_equal(f->r.anoms[0].id, REASM_ANOMALY_DATA_AFTER_CLOSE);
    uint8_t want[20];
    memcpy(want, MSG, 10);
    memcpy(want + 10, MSG + 20, 10);
    assert_bytes(&f->r, want, 20);
    fx_free(f);
}

static void test_port_reuse(void **state)
{
    (void)state;
    fixture *f = fx_new();
    seg(f, 100, F_SYN, NULL, 0);
    seg(f, 101, F_ACK | F_FIN, MSG, 10);
    assert_int_equal(tcp_stream_get_state(&f->s), TCP_STREAM_FIN_DONE);
    seg(f, 100, F_SYN, NULL, 0);                      /* same ISN: retransmission */
    int rc = tcp_stream_segment(&f->s, 90000, F_SYN, NULL, 0, 1, &CB, &f->r);
    assert_int_equal(rc, REASM_SEG_NEW_CONN);
    assert_int_equal(f->r.nanoms, 0);
    fx_free(f);
}

static void test_stream_cap(void **state)
{
    (void)state;
    fixture *f = fx_new();
    f->cfg.max_held_per_stream = 25;
    seg(f, 0, F_SYN, NULL, 0);
    seg(f, 1, F_ACK, MSG, 5);
    seg(f, 1 + 10, F_ACK, MSG + 10, 10);              /* held 10, hole [5,10) */
    seg(f, 1 + 30, F_ACK, MSG + 30, 10);              /* held 20, hole [20,30) */
    assert_int_equal(f->r.nbytes, 5);
    seg(f, 1 + 45, F_ACK, MSG + 45, 10);              /* 30 > 25: cap */
    assert_int_equal(f->r.nanoms, 1);
    assert_int_equal(f->r.anoms[0].id, REASM_ANOMALY_STREAM_CAP);
    assert_int_equal(f->r.anoms[0].off, 5);
    /* Leading hole [5,10) became a gap and [10,20) was delivered; then the
     * new block fits (held 10 + 10 <= 25) and is held: only as much is given
     * up as the cap requires. */
    assert_int_equal(f->r.ngaps, 1);
    assert_int_equal(f->r.gaps[0].off, 5);
    assert_int_equal(f->r.gaps[0].len, 5);
    assert_int_equal(tcp_stream_held(&f->s), 20);
    tcp_stream_flush(&f->s, 3, &CB, &f->r);
    assert_int_equal(f->r.ngaps, 3);
    assert_int_equal(f->r.gaps[1].off, 20);
    assert_int_equal(f->r.gaps[1].len, 10);
    assert_int_equal(f->r.gaps[2].off, 40);
    assert_int_equal(f->r.gaps[2].len, 5);
    uint8_t want[35];
    memcpy(want, MSG, 5);
    memcpy(want + 5, MSG + 10, 10);
    memcpy(want + 15, MSG + 30, 10);
    memcpy(want + 25, MSG + 45, 10);
    assert_bytes(&f->r, want, 35);
    assert_int_equal(tcp_stream_offset(&f->s), 55);
    assert_int_equal(f->pool.anomalies[REASM_ANOMALY_STREAM_CAP], 1);
    fx_free(f);
}

static void test_stream_cap_one_hole(void **state)
{
    (void)state;
    /* Cap reached with several blocks behind ONE hole: one gap, the rest of
     * the held data delivered, the new block then fits. */
    fixture *f = fx_new();
    f->cfg.max_held_per_stream = 20;
    seg(f, 0, F_SYN, NULL, 0);
    seg(f, 1 + 8, F_ACK, MSG + 8, 10);               /* hole [0,8) */
    seg(f, 1 + 18, F_ACK, MSG + 18, 10);             /* held 20 */
    seg(f, 1 + 40, F_ACK, MSG + 40, 5);              /* cap */
    assert_int_equal(f->r.ngaps, 1);
    assert_int_equal(f->r.gaps[0].off, 0);
    assert_int_equal(f->r.gaps[0].len, 8);
    assert_bytes(&f->r, MSG + 8, 20);
    assert_int_equal(tcp_stream_held(&f->s), 5);      /* [40,45) now held */
    seg(f, 1 + 28, F_ACK, MSG + 28, 12);
    assert_bytes(&f->r, MSG + 8, 37);
    assert_int_equal(f->r.ngaps, 1);
    fx_free(f);
}

static void test_block_count_cap(void **state)
{
    (void)state;
    fixture *f = fx_new();
    f->cfg.max_blocks_per_stream = 3;
    seg(f, 0, F_SYN, NULL, 0);
    for (uint32_t i = 0; i < 4; i++)                 /* 1-byte blocks at 2,4,6,8 */
        seg(f, 1 + 2 + 2 * i, F_ACK, MSG + 2 + 2 * i, 1);
    assert_int_equal(f->r.nanoms, 1);
    assert_int_equal(f->r.anoms[0].id, REASM_ANOMALY_STREAM_CAP);
    assert_int_equal(f->r.gaps[0].off, 0);
    assert_int_equal(f->r.gaps[0].len, 2);
    assert_true(tcp_stream_held(&f->s) <= 3);
    fx_free(f);
}

static void test_pool_memcap(void **state)
{
    (void)state;
    reasm_config cfg;
    reasm_pool pool;
    reasm_config_default(&cfg);
    cfg.recent_window = 0;                            /* only held data counts */
    cfg.memcap_total = 30;
    reasm_pool_init(&pool, &cfg);
    tcp_stream a, b;
    recorder *ra = calloc(1, sizeof *ra), *rb = calloc(1, sizeof *rb);
    assert_non_null(ra);
    assert_non_null(rb);
    tcp_stream_init(&a, &pool, 0);
    tcp_stream_init(&b, &pool, 1);
    tcp_stream_segment(&a, 0, F_SYN, NULL, 0, 0, &CB, ra);
    tcp_stream_segment(&b, 0, F_SYN, NULL, 0, 0, &CB, rb);
    tcp_stream_segment(&a, 1 + 10, F_ACK, (const uint8_t *)MSG + 10, 25, 0, &CB, ra); /* a holds 25 */
    assert_int_equal(pool.mem_used, 25);
    tcp_stream_segment(&b, 1 + 7, F_ACK, (const uint8_t *)MSG + 7, 10, 0, &CB, rb);   /* 35 > 30 */
    assert_int_equal(rb->nanoms, 1);
    assert_int_equal(rb->anoms[0].id, REASM_ANOMALY_MEMCAP);
    assert_int_equal(rb->ngaps, 1);                   /* b's own hole [0,7) */
    assert_int_equal(rb->gaps[0].off, 0);
    assert_int_equal(rb->gaps[0].len, 7);
    assert_bytes(rb, MSG + 7, 10);
    assert_int_equal(ra->nbytes, 0);                  /* a untouched */
    assert_int_equal(pool.anomalies[REASM_ANOMALY_MEMCAP], 1);
    /* a itself over the memcap: its leading hole goes. */
    tcp_stream_segment(&a, 1 + 40, F_ACK, (const uint8_t *)MSG + 40, 10, 0, &CB, ra);
    assert_int_equal(ra->nanoms, 1);
    assert_int_equal(ra->anoms[0].id, REASM_ANOMALY_MEMCAP);
    assert_int_equal(ra->ngaps, 1);                   /* hole [0,10) */
    assert_int_equal(ra->gaps[0].off, 0);
    assert_int_equal(ra->gaps[0].len, 10);
    assert_bytes(ra, MSG + 10, 25);                   /* [10,35) released */
    assert_int_equal(tcp_stream_held(&a), 10);        /* [40,50) fits now */
    assert_int_equal(pool.mem_used, 10);
    tcp_stream_flush(&a, 0, &CB, ra);
    assert_int_equal(ra->ngaps, 2);
    assert_int_equal(ra->gaps[1].off, 35);
    assert_int_equal(ra->gaps[1].len, 5);
    uint8_t want[35];
    memcpy(want, MSG + 10, 25);
    memcpy(want + 25, MSG + 40, 10);
    assert_bytes(ra, want, 35);
    tcp_stream_free(&a);
    tcp_stream_free(&b);
    assert_int_equal(pool.mem_used, 0);
    free(ra);
    free(rb);
}

static void test_depth(void **state)
{
    (void)state;
    fixture *f = fx_new();
    f->cfg.depth = 25;
    seg(f, 0, F_SYN, NULL, 0);
    seg(f, 1 + 30, F_ACK, MSG + 30, 10);              /* held, beyond depth */
    seg(f, 1, F_ACK, MSG, 20);
    seg(f, 1 + 20, F_ACK, MSG + 20, 10);              /* crosses depth at 25 */
    assert_bytes(&f->r, MSG, 25);
    assert_int_equal(f->r.nanoms, 1);
    assert_int_equal(f->r.anoms[0].id, REASM_ANOMALY_DEPTH);
    assert_int_equal(f->r.anoms[0].off, 25);
    assert_int_equal(tcp_stream_held(&f->s), 0);
    seg(f, 1 + 40, F_ACK | F_FIN, MSG + 40, 10);
    assert_bytes(&f->r, MSG, 25);
    assert_int_equal(f->r.nanoms, 1);                 /* reported once */
    assert_int_equal(tcp_stream_get_state(&f->s), TCP_STREAM_FIN_DONE);
    fx_free(f);
}

/* Property: with random loss, reordering, duplication and caps, every byte
 * delivered at offset o equals msg[o], and delivered + gaps covers the
 * stream exactly once. */
static const uint8_t *prop_msg;
static uint64_t prop_off, prop_gap_bytes, prop_bad;
static void prop_deliver(void *user, int dir, const uint8_t *data, size_t len,
                         uint64_t ts_us)
{
    (void)user; (void)dir; (void)ts_us;
    if (memcmp(data, prop_msg + prop_off, len) != 0)
        prop_bad++;
    prop_off += len;
}
static void prop_gap(void *user, int dir, uint64_t len, uint64_t ts_us)
{
    (void)user; (void)dir; (void)ts_us;
    prop_off += len;
    prop_gap_bytes += len;
}
static void prop_anomaly(void *user, int dir, int id, uint64_t off, uint64_t ts_us)
{
    (void)user; (void)dir; (void)off; (void)ts_us;
    /* The input never conflicts: only caps, and retransmissions that cannot
     * be compared (no window, or data from before a gap), are expected. */
    if (id != REASM_ANOMALY_STREAM_CAP && id != REASM_ANOMALY_MEMCAP &&
        id != REASM_ANOMALY_OVERLAP_UNVERIFIED)
        prop_bad++;
}

static void test_random_loss_property(void **state)
{
    (void)state;
    enum { N = 6000 };
    static uint8_t msg[N];
    static const reasm_callbacks pcb = { prop_deliver, prop_gap, prop_anomaly };
    for (size_t i = 0; i < N; i++)
        msg[i] = (uint8_t)(i ^ (i >> 5));
    prop_msg = msg;
    for (uint32_t seed = 1; seed <= 300; seed++) {
        uint32_t x = seed * 0x9E3779B9u;
        fixture *f = fx_new();
        f->cfg.max_held_per_stream = 100 + rng_next(&x) % 3000;
        f->cfg.max_blocks_per_stream = 2 + rng_next(&x) % 40;
        f->cfg.recent_window = rng_next(&x) % 3 == 0 ? 0 : 4096;
        uint32_t isn = rng_next(&x);
        prop_off = prop_gap_bytes = prop_bad = 0;
        tcp_stream_segment(&f->s, isn, F_SYN, NULL, 0, 0, &pcb, NULL);
        size_t offs[N], lens[N], nseg = 0;
        for (size_t o = 0; o < N;) {
            size_t n = 1 + rng_next(&x) % 200;
            if (n > N - o)
                n = N - o;
            offs[nseg] = o;
            lens[nseg++] = n;
            o += n;
        }
        for (size_t i = 0; i + 1 < nseg; i++) {        /* local reordering */
            if (rng_next(&x) % 3 == 0) {
                size_t j = i + 1 + rng_next(&x) % 4;
                if (j >= nseg)
                    j = nseg - 1;
                size_t t = offs[i]; offs[i] = offs[j]; offs[j] = t;
                t = lens[i]; lens[i] = lens[j]; lens[j] = t;
            }
        }
        for (size_t i = 0; i < nseg; i++) {
            uint32_t r = rng_next(&x) % 20;
            if (r == 0)
                continue;                              /* lost */
            tcp_stream_segment(&f->s, isn + 1 + (uint32_t)offs[i], F_ACK,
                               msg + offs[i], lens[i], 0, &pcb, NULL);
            if (r == 1)
                tcp_stream_segment(&f->s, isn + 1 + (uint32_t)offs[i], F_ACK,
                                   msg + offs[i], lens[i], 0, &pcb, NULL);
            if (r == 2 && offs[i] > 0)
                tcp_stream_peer_ack(&f->s, isn + 1 + (uint32_t)offs[i], 0, &pcb, NULL);
            assert_true(tcp_stream_offset(&f->s) == prop_off);
        }
        tcp_stream_peer_ack(&f->s, isn + 1 + N, 0, &pcb, NULL);
        tcp_stream_flush(&f->s, 0, &pcb, NULL);
        assert_true(prop_off == N);
        assert_true(prop_bad == 0);
        assert_true(tcp_stream_offset(&f->s) == N);
        assert_int_equal(tcp_stream_held(&f->s), 0);
        fx_free(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_in_order_zero_copy),
        cmocka_unit_test(test_reversed),
        cmocka_unit_test(test_random_permutations),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_partial_overlaps_same),
        cmocka_unit_test(test_overlap_mismatch_first_wins),
        cmocka_unit_test(test_overlap_unverified),
        cmocka_unit_test(test_window_ring_wraps),
        cmocka_unit_test(test_hole_then_flush),
        cmocka_unit_test(test_peer_ack_past_hole),
        cmocka_unit_test(test_wraparound),
        cmocka_unit_test(test_beyond_4gib),
        cmocka_unit_test(test_syn_with_data),
        cmocka_unit_test(test_midstream),
        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_fin_then_data),
        cmocka_unit_test(test_rst),
        cmocka_unit_test(test_port_reuse),
        cmocka_unit_test(test_stream_cap),
        cmocka_unit_test(test_stream_cap_one_hole),
        cmocka_unit_test(test_block_count_cap),
        cmocka_unit_test(test_pool_memcap),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_random_loss_property),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
