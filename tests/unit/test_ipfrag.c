/*
 * ipfrag: in-order, reverse, duplicate, overlapping (same and different
 * bytes), missing last fragment (timeout), caps, malformed fragments, and
 * IPv4 / IPv6 fragments through the decoder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "decode.h"
#include "ipfrag.h"

#define SEC 1000000ull

static ipfrag_table *new_table(uint32_t max_dgrams, uint32_t max_bytes, uint64_t timeout_us)
{
    ipfrag_config cfg = {.max_datagrams = max_dgrams, .max_bytes = max_bytes,
                         .timeout_us = timeout_us, .fixed_seed = 0x1234};
    char err[128];
    ipfrag_table *t = ipfrag_table_new(&cfg, err, sizeof err);
    assert_non_null(t);
    return t;
}

static ipfrag_key key4(uint32_t id)
{
    ipfrag_key k;
    memset(&k, 0, sizeof k);
    k.ip_version = 4;
    k.proto = 17;
    k.src[0] = 10, k.src[3] = 1;
    k.dst[0] = 10, k.dst[3] = 2;
    k.id = id;
    return k;
}

static void fill(uint8_t *b, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed + i * 7);
}

/* Inserts data[off, off+len) of `whole`. */
static ipfrag_result put(ipfrag_table *t, const ipfrag_key *k, const uint8_t *whole, uint32_t off,
                         uint32_t len, bool more, uint64_t now, ipfrag_datagram *dg, unsigned *ev)
{
    ipfrag_event why;
    return ipfrag_insert(t, k, 17, off, whole + off, len, more, now, dg, &why, ev);
}

static void test_in_order(void **state)
{
    (void)state;
    ipfrag_table *t = new_table(0, 0, 0);
    uint8_t d[1500];
    fill(d, sizeof d, 3);
    ipfrag_key k = key4(7);
    ipfrag_datagram dg;
    unsigned ev = 0;
    assert_int_equal(put(t, &k, d, 0, 512, true, 1, &dg, &ev), IPFRAG_HELD);
    assert_int_equal(put(t, &k, d, 512, 512, true, 2, &dg, &ev), IPFRAG_HELD);
    assert_int_equal(ipfrag_in_flight(t), 1);
    assert_int_equal(put(t, &k, d, 1024, 476, false, 3, &dg, &ev), IPFRAG_COMPLETE);
    assert_int_equal(dg.len, 1500);
    assert_int_equal(dg.proto, 17);
    assert_memory_equal(dg.data, d, 1500);
    assert_int_equal(ev, 0);
    assert_int_equal(ipfrag_in_flight(t), 0);
    const ipfrag_stats *s = ipfrag_table_stats(t);
    assert_int_equal(s->reassembled, 1);
    assert_int_equal(s->fragments, 3);
    assert_int_equal(s->bytes_held, 0);
    ipfrag_release_completed(t);
    ipfrag_table_free(t);
}

static void test_reverse_order(void **state)
{
    (void)state;
    ipfrag_table *t = new_table(0, 0, 0);
    uint8_t d[3000];
    fill(d, sizeof d, 9);
    ipfrag_key k = key4(8);
    ipfrag_datagram dg;
    unsigned ev = 0;
    assert_int_equal(put(t, &k, d, 2400, 600, false, 1, &dg, &ev), IPFRAG_HELD);
    for (int off = 1600; off > 0; off -= 800)
        assert_int_equal(put(t, &k, d, (uint32_t)off, 800, true, 1, &dg, &ev), IPFRAG_HELD);
    assert_int_equal(put(t, &k, d, 0, 800, true, 1, &dg, &ev), IPFRAG_COMPLETE);
    assert_int_equal(dg.len, 3000);
    assert_memory_equal(dg.data, d, 3000);
    assert_int_equal(ev, 0);
    ipfrag_table_free(t);
}

static void test_duplicate(void **state)
{
    (void)state;
    ipfrag_table *t = new_table(0, 0, 0);
    uint8_t d[100];
    fill(d, sizeof d, 1);
    ipfrag_key k = key4(9);
    ipfrag_datagram dg;
    unsigned ev = 0;
    assert_int_equal(put(t, &k, d, 0, 48, true, 1, &dg, &ev), IPFRAG_HELD);
    assert_int_equal(put(t, &k, d, 0, 48, true, 1, &dg, &ev), IPFRAG_HELD);
    assert_int_equal(put(t, &k, d, 48, 52, false, 1, &dg, &ev), IPFRAG_COMPLETE);
    assert_memory_equal(dg.data, d, 100);
    assert_int_equal(ev, 0);
    assert_int_equal(ipfrag_table_stats(t)->duplicates, 1);
    assert_int_equal(ipfrag_table_stats(t)->events[IPFRAG_EV_OVERLAP], 0);
    ipfrag_table_free(t);
}

static void test_overlap_same_bytes(void **state)
{
    (void)state;
    ipfrag_table *t = new_table(0, 0, 0);
    uint8_t d[64];
    fill(d, sizeof d, 5);
    ipfrag_key k = key4(10);
    ipfrag_datagram dg;
    unsigned ev = 0;
    assert_int_equal(put(t, &k, d, 0, 24, true, 1, &dg, &ev), IPFRAG_HELD);
    assert_int_equal(put(t, &k, d, 16, 32, true, 1, &dg, &ev), IPFRAG_HELD);  /* 16..48 */
    assert_int_equal(put(t, &k, d, 40, 24, false, 1, &dg, &ev), IPFRAG_COMPLETE); /* 40..64 */
    assert_int_equal(dg.len, 64);
    assert_memory_equal(dg.data, d, 64);
    assert_int_equal(ev, 0);
    assert_int_equal(ipfrag_table_stats(t)->duplicates, 2);
    ipfrag_table_free(t);
}

static void test_overlap_different_bytes(void **state)
{
    (void)state;
    ipfrag_table *t = new_table(0, 0, 0);
    uint8_t first[64], evil[64];
    fill(first, sizeof first, 5);
    memcpy(evil, first, sizeof evil);
    memset(evil + 16, 'X', 16); /* bytes 16..32 differ */
    ipfrag_key k = key4(11);
    ipfrag_datagram dg;
    unsigned ev = 0;
    ipfrag_event why;
    assert_int_equal(put(t, &k, first, 0, 24, true, 1, &dg, &ev), IPFRAG_HELD);
    /* 8..40: overlaps 8..24 with different bytes at 16..24, adds 24..40 */
    assert_int_equal(ipfrag_insert(t, &k, 17, 8, evil + 8, 32, true, 1, &dg, &why, &ev),
                     IPFRAG_HELD);
    assert_true(ev & (1u << IPFRAG_EV_OVERLAP));
    assert_int_equal(put(t, &k, first, 40, 24, false, 1, &dg, &ev), IPFRAG_COMPLETE);
    /* first wins on 0..24; the second fragment supplied 24..40 */
    assert_memory_equal(dg.data, first, 24);
    assert_memory_equal(dg.data + 24, evil + 24, 16);
    assert_memory_equal(dg.data + 40, first + 40, 24);
    assert_int_equal(ipfrag_table_stats(t)->events[IPFRAG_EV_OVERLAP], 1);
    ipfrag_table_free(t);
}

static void test_missing_last_times_out(void **state)
{
    (void)state;
    ipfrag_table *t = new_table(0, 0, 30 * SEC);
    uint8_t d[64];
    fill(d, sizeof d, 2);
    ipfrag_key k = key4(12);
    ipfrag_datagram dg;
    unsigned ev = 0;
    assert_int_equal(put(t, &k, d, 0, 32, true, 100 * SEC, &dg, &ev), IPFRAG_HELD);
    assert_int_equal(ipfrag_expire(t, 129 * SEC), 0);
    assert_int_equal(ipfrag_in_flight(t), 1);
    assert_int_equal(ipfrag_expire(t, 130 * SEC), 1);
    assert_int_equal(ipfrag_in_flight(t), 0);
    assert_int_equal(ipfrag_table_stats(t)->events[IPFRAG_EV_TIMEOUT], 1);
    assert_int_equal(ipfrag_table_stats(t)->bytes_held, 0);
    /* the late last fragment starts a new datagram, which does not complete */
    assert_int_equal(put(t, &k, d, 32, 32, false, 131 * SEC, &dg, &ev), IPFRAG_HELD);
    /* an insert also expires: a different datagram 40 s later */
    ipfrag_key k2 = key4(13);
    ev = 0;
    assert_int_equal(put(t, &k2, d, 0, 32, true, 171 * SEC, &dg, &ev), IPFRAG_HELD);
    assert_true(ev & (1u << IPFRAG_EV_TIMEOUT));
    assert_int_equal(ipfrag_in_flight(t), 1);
    ipfrag_table_free(t);
}

static void test_datagram_cap(void **state)
{
    (void)state;
    ipfrag_table *t = new_table(2, 0, 0);
    uint8_t d[64];
    fill(d, sizeof d, 4);
    ipfrag_datagram dg;
    unsigned ev = 0;
    for (uint32_t id = 1; id <= 3; id++) {
        ipfrag_key k = key4(id);
        assert_int_equal(put(t, &k, d, 0, 32, true, id, &dg, &ev), IPFRAG_HELD);
    }
    assert_true(ev & (1u << IPFRAG_EV_TOO_MANY));
    assert_int_equal(ipfrag_table_stats(t)->events[IPFRAG_EV_TOO_MANY], 1);
    assert_int_equal(ipfrag_in_flight(t), 2);
    /* id 1 (the oldest) was dropped: its last fragment does not complete it */
    ipfrag_key k1 = key4(1), k3 = key4(3);
    assert_int_equal(put(t, &k1, d, 32, 32, false, 5, &dg, &ev), IPFRAG_HELD);
    /* id 2 was dropped to make room for that; id 3 still completes */
    assert_int_equal(ipfrag_table_stats(t)->events[IPFRAG_EV_TOO_MANY], 2);
    assert_int_equal(put(t, &k3, d, 32, 32, false, 6, &dg, &ev), IPFRAG_COMPLETE);
    assert_memory_equal(dg.data, d, 64);
    ipfrag_table_free(t);
}

static void test_memcap(void **state)
{
    (void)state;
    /* 4 KiB: two datagrams of one 2 KiB buffer step each */
    ipfrag_table *t = new_table(0, 4096, 0);
    uint8_t d[4096];
    fill(d, sizeof d, 6);
    ipfrag_datagram dg;
    unsigned ev = 0;
    ipfrag_event why = IPFRAG_EV_COUNT;
    for (uint32_t id = 1; id <= 2; id++) {
        ipfrag_key k = key4(id);
        assert_int_equal(put(t, &k, d, 0, 1024, true, id, &dg, &ev), IPFRAG_HELD);
    }
    assert_int_equal(ipfrag_table_stats(t)->bytes_held, 4096);
    assert_int_equal(ev, 0);
    ipfrag_key k3 = key4(3);
    assert_int_equal(put(t, &k3, d, 0, 1024, true, 3, &dg, &ev), IPFRAG_HELD);
    assert_true(ev & (1u << IPFRAG_EV_MEMCAP));
    assert_int_equal(ipfrag_in_flight(t), 2);
    assert_true(ipfrag_table_stats(t)->bytes_held <= 4096);
    /* a datagram that cannot fit even alone is refused */
    ipfrag_key k4 = key4(4);
    assert_int_equal(ipfrag_insert(t, &k4, 17, 0, d, 4096, true, 4, &dg, &why, &ev),
                     IPFRAG_HELD);
    assert_int_equal(ipfrag_insert(t, &k4, 17, 4096, d, 8, true, 4, &dg, &why, &ev),
                     IPFRAG_DROPPED);
    assert_int_equal(why, IPFRAG_EV_MEMCAP);
    assert_true(ipfrag_table_stats(t)->bytes_held <= 4096);
    ipfrag_table_free(t);
}

static void test_malformed_fragments(void **state)
{
    (void)state;
    ipfrag_table *t = new_table(0, 0, 0);
    uint8_t d[70000];
    fill(d, sizeof d, 7);
    ipfrag_key k = key4(20);
    ipfrag_datagram dg;
    ipfrag_event why;
    /* not a multiple of 8 while more fragments follow */
    assert_int_equal(ipfrag_insert(t, &k, 17, 0, d, 30, true, 1, &dg, &why, NULL), IPFRAG_DROPPED);
    assert_int_equal(why, IPFRAG_EV_BAD_LENGTH);
    /* beyond 65535 */
    assert_int_equal(ipfrag_insert(t, &k, 17, 65528, d, 16, false, 1, &dg, &why, NULL),
                     IPFRAG_DROPPED);
    assert_int_equal(why, IPFRAG_EV_TOO_BIG);
    /* two different ends */
    assert_int_equal(ipfrag_insert(t, &k, 17, 64, d, 16, false, 1, &dg, &why, NULL), IPFRAG_HELD);
    assert_int_equal(ipfrag_insert(t, &k, 17, 64, d, 24, false, 1, &dg, &why, NULL),
                     IPFRAG_DROPPED);
    assert_int_equal(why, IPFRAG_EV_INCONSISTENT);
    /* data beyond the end */
    assert_int_equal(ipfrag_insert(t, &k, 17, 72, d, 16, true, 1, &dg, &why, NULL), IPFRAG_DROPPED);
    assert_int_equal(why, IPFRAG_EV_INCONSISTENT);
    /* the datagram survives those and still completes */
    assert_int_equal(ipfrag_insert(t, &k, 17, 0, d, 64, true, 1, &dg, &why, NULL), IPFRAG_COMPLETE);
    assert_int_equal(dg.len, 80);

    /* too many holes: every other 8-byte block */
    ipfrag_key k2 = key4(21);
    ipfrag_result r = IPFRAG_HELD;
    unsigned i;
    for (i = 0; i < IPFRAG_MAX_RANGES + 1 && r == IPFRAG_HELD; i++)
        r = ipfrag_insert(t, &k2, 17, i * 16, d, 8, true, 1, &dg, &why, NULL);
    assert_int_equal(r, IPFRAG_DROPPED);
    assert_int_equal(why, IPFRAG_EV_TOO_MANY_HOLES);
    assert_int_equal(i, IPFRAG_MAX_RANGES + 1);
    const ipfrag_stats *s = ipfrag_table_stats(t);
    assert_int_equal(s->events[IPFRAG_EV_BAD_LENGTH], 1);
    assert_int_equal(s->events[IPFRAG_EV_TOO_BIG], 1);
    assert_int_equal(s->events[IPFRAG_EV_INCONSISTENT], 2);
    assert_int_equal(s->events[IPFRAG_EV_TOO_MANY_HOLES], 1);
    assert_int_equal(ipfrag_in_flight(t), 0);
    ipfrag_table_free(t);
}

static void test_many_datagrams_interleaved(void **state)
{
    (void)state;
    ipfrag_table *t = new_table(0, 0, 0);  /* random hash key */
    uint8_t d[256];
    fill(d, sizeof d, 8);
    ipfrag_datagram dg;
    for (uint32_t id = 0; id < 1000; id++) {
        ipfrag_key k = key4(id * 65537u);
        assert_int_equal(put(t, &k, d, 0, 128, true, 1, &dg, NULL), IPFRAG_HELD);
    }
    assert_int_equal(ipfrag_in_flight(t), 1000);
    for (uint32_t id = 0; id < 1000; id++) {
        ipfrag_key k = key4(id * 65537u);
        assert_int_equal(put(t, &k, d, 128, 128, false, 1, &dg, NULL), IPFRAG_COMPLETE);
        assert_memory_equal(dg.data, d, 256);
        ipfrag_release_completed(t);
    }
    assert_int_equal(ipfrag_in_flight(t), 0);
    assert_int_equal(ipfrag_table_stats(t)->bytes_held, 0);
    ipfrag_table_free(t);
}

/* ---- through the decoder ------------------------------------------------ */

static size_t ipv4_frag(uint8_t *b, uint16_t id, uint32_t off, bool more, uint8_t proto,
                        const uint8_t *data, size_t len)
{
    memset(b, 0, 20);
    b[0] = 0x45;
    b[2] = (uint8_t)((20 + len) >> 8);
    b[3] = (uint8_t)(20 + len);
    b[4] = (uint8_t)(id >> 8);
    b[5] = (uint8_t)id;
    uint16_t fo = (uint16_t)((off / 8) | (more ? 0x2000 : 0));
    b[6] = (uint8_t)(fo >> 8);
    b[7] = (uint8_t)fo;
    b[8] = 64;
    b[9] = proto;
    uint8_t src[4] = {192, 0, 2, 1}, dst[4] = {192, 0, 2, 2};
    memcpy(b + 12, src, 4);
    memcpy(b + 16, dst, 4);
    memcpy(b + 20, data, len);
    return 20 + len;
}

/* UDP datagram: ports 1000 -> 2000, n payload bytes */
static size_t udp_datagram(uint8_t *b, size_t n)
{
    b[0] = 0x03, b[1] = 0xe8, b[2] = 0x07, b[3] = 0xd0;
    b[4] = (uint8_t)((8 + n) >> 8);
    b[5] = (uint8_t)(8 + n);
    b[6] = b[7] = 0;
    fill(b + 8, n, 11);
    return 8 + n;
}

static void test_decoder_ipv4_fragments(void **state)
{
    (void)state;
    decoder d;
    char err[128];
    assert_int_equal(decoder_init(&d, NULL, err, sizeof err), 0);
    uint8_t dgram[2000], frame[2100];
    size_t dl = udp_datagram(dgram, 1992);
    pkt p;
    /* out of order: middle, last, first */
    size_t n = ipv4_frag(frame, 77, 800, true, 17, dgram + 800, 800);
    assert_int_equal(decode_packet(&d, DECODE_LINK_IPV4, frame, (uint32_t)n, (uint32_t)n, 1, &p),
                     DECODE_HELD);
    n = ipv4_frag(frame, 77, 1600, false, 17, dgram + 1600, dl - 1600);
    assert_int_equal(decode_packet(&d, DECODE_LINK_IPV4, frame, (uint32_t)n, (uint32_t)n, 2, &p),
                     DECODE_HELD);
    n = ipv4_frag(frame, 77, 0, true, 17, dgram, 800);
    assert_int_equal(decode_packet(&d, DECODE_LINK_IPV4, frame, (uint32_t)n, (uint32_t)n, 3, &p),
                     DECODE_OK);
    assert_true(p.reassembled);
    assert_int_equal(p.proto, 17);
    assert_int_equal(p.sport, 1000);
    assert_int_equal(p.dport, 2000);
    assert_int_equal(p.payload_len, 1992);
    assert_false(p.truncated);
    assert_memory_equal(p.payload, dgram + 8, 1992);
    assert_int_equal(decoder_stats(&d)->held, 2);
    assert_int_equal(decoder_stats(&d)->ok, 1);

    /* overlap with different bytes is counted as frag_overlap */
    uint8_t evil[800];
    memset(evil, 'E', sizeof evil);
    n = ipv4_frag(frame, 78, 0, true, 17, dgram, 800);
    assert_int_equal(decode_packet(&d, DECODE_LINK_IPV4, frame, (uint32_t)n, (uint32_t)n, 4, &p),
                     DECODE_HELD);
    n = ipv4_frag(frame, 78, 0, true, 17, evil, 800);
    assert_int_equal(decode_packet(&d, DECODE_LINK_IPV4, frame, (uint32_t)n, (uint32_t)n, 5, &p),
                     DECODE_HELD);
    assert_true(p.anomalies & (1ull << DECODE_R_FRAG_OVERLAP));
    assert_int_equal(decoder_stats(&d)->reason[DECODE_R_FRAG_OVERLAP], 1);
    /* never completed: timeout at the end of the capture */
    decoder_expire(&d, UINT64_MAX);
    assert_int_equal(decoder_stats(&d)->reason[DECODE_R_FRAG_TIMEOUT], 1);

    /* a fragment cut by the snaplen cannot be reassembled */
    n = ipv4_frag(frame, 79, 0, true, 17, dgram, 800);
    assert_int_equal(decode_packet(&d, DECODE_LINK_IPV4, frame, 100, (uint32_t)n, 6, &p),
                     DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_FRAG_TRUNCATED);
    /* a bad fragment length is an error with its reason */
    n = ipv4_frag(frame, 80, 0, true, 17, dgram, 801);
    assert_int_equal(decode_packet(&d, DECODE_LINK_IPV4, frame, (uint32_t)n, (uint32_t)n, 7, &p),
                     DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_FRAG_BAD_LENGTH);
    assert_int_equal(decoder_stats(&d)->reason[DECODE_R_FRAG_BAD_LENGTH], 1);
    decoder_free(&d);
}

/* IPv6 fragment: 40-byte header, then a fragment header (RFC 8200 4.5). */
static size_t ipv6_frag(uint8_t *b, uint32_t id, uint32_t off, bool more, uint8_t nh,
                        const uint8_t *data, size_t len)
{
    memset(b, 0, 48);
    b[0] = 0x60;
    b[4] = (uint8_t)((8 + len) >> 8);
    b[5] = (uint8_t)(8 + len);
    b[6] = 44;
    b[7] = 64;
    b[8] = 0x20, b[9] = 0x01, b[10] = 0x0d, b[11] = 0xb8, b[23] = 1;
    b[24] = 0x20, b[25] = 0x01, b[26] = 0x0d, b[27] = 0xb8, b[39] = 2;
    b[40] = nh;
    uint16_t fo = (uint16_t)(off | (more ? 1 : 0));
    b[42] = (uint8_t)(fo >> 8);
    b[43] = (uint8_t)fo;
    b[44] = (uint8_t)(id >> 24), b[45] = (uint8_t)(id >> 16), b[46] = (uint8_t)(id >> 8),
    b[47] = (uint8_t)id;
    memcpy(b + 48, data, len);
    return 48 + len;
}

static void test_decoder_ipv6_fragments(void **state)
{
    (void)state;
    decoder d;
    char err[128];
    assert_int_equal(decoder_init(&d, NULL, err, sizeof err), 0);
    uint8_t dgram[3000], frame[3100];
    size_t dl = udp_datagram(dgram, 2500);
    pkt p;
    /* last fragment first, with a different next header (RFC 8200: only
     * the offset-zero fragment's value counts) */
    size_t n = ipv6_frag(frame, 0xdeadbeef, 1232, false, 59, dgram + 1232, dl - 1232);
    assert_int_equal(decode_packet(&d, DECODE_LINK_IPV6, frame, (uint32_t)n, (uint32_t)n, 1, &p),
                     DECODE_HELD);
    n = ipv6_frag(frame, 0xdeadbeef, 0, true, 17, dgram, 1232);
    assert_int_equal(decode_packet(&d, DECODE_LINK_IPV6, frame, (uint32_t)n, (uint32_t)n, 2, &p),
                     DECODE_OK);
    assert_int_equal(p.ip_version, 6);
    assert_true(p.reassembled);
    assert_int_equal(p.proto, 17);
    assert_int_equal(p.sport, 1000);
    assert_int_equal(p.dport, 2000);
    assert_int_equal(p.src[0], 0x20);
    assert_int_equal(p.src[15], 1);
    assert_int_equal(p.dst[15], 2);
    assert_int_equal(p.payload_len, 2500);
    assert_memory_equal(p.payload, dgram + 8, 2500);

    /* atomic fragment (offset 0, M 0): decoded at once (RFC 6946) */
    n = ipv6_frag(frame, 5, 0, false, 17, dgram, 108);
    dgram[4] = 0, dgram[5] = 108;
    memcpy(frame + 48, dgram, 108);
    assert_int_equal(decode_packet(&d, DECODE_LINK_IPV6, frame, (uint32_t)n, (uint32_t)n, 3, &p),
                     DECODE_OK);
    assert_false(p.reassembled);
    assert_int_equal(p.payload_len, 100);
    assert_int_equal(ipfrag_in_flight(d.frag), 0);
    decoder_free(&d);
}

static void test_decoder_no_reassembly(void **state)
{
    (void)state;
    decoder d;
    decode_config cfg = {.no_reassembly = true};
    char err[128];
    assert_int_equal(decoder_init(&d, &cfg, err, sizeof err), 0);
    uint8_t dgram[100], frame[200];
    udp_datagram(dgram, 92);
    pkt p;
    size_t n = ipv4_frag(frame, 1, 0, true, 17, dgram, 48);
    assert_int_equal(decode_packet(&d, DECODE_LINK_IPV4, frame, (uint32_t)n, (uint32_t)n, 1, &p),
                     DECODE_SKIP);
    assert_int_equal(p.error, DECODE_R_FRAG_NOT_REASSEMBLED);
    decoder_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_reverse_order),
        cmocka_unit_test(test_duplicate),
        cmocka_unit_test(test_overlap_same_bytes),
        cmocka_unit_test(test_overlap_different_bytes),
        cmocka_unit_test(test_missing_last_times_out),
        cmocka_unit_test(test_datagram_cap),
        cmocka_unit_test(test_memcap),
        cmocka_unit_test(test_malformed_fragments),
        cmocka_unit_test(test_many_datagrams_interleaved),
        cmocka_unit_test(test_decoder_ipv4_fragments),
        cmocka_unit_test(test_decoder_ipv6_fragments),
        cmocka_unit_test(test_decoder_no_reassembly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
