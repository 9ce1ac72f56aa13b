/*
 * decode: hand-built frames for every link type and encapsulation, every
 * prefix of valid frames (never a crash; an error, or a truncated payload of
 * the right size), named malformed cases, the reason table, and every
 * capture in shared/captures/public.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pcap/pcap.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

static const uint8_t SRC4[4] = {10, 1, 2, 3}, DST4[4] = {10, 4, 5, 6};
static const uint8_t SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t DST6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
static const char PAYLOAD[] = "a001 CAPABILITY\r\n";
#define PAYLOAD_LEN (sizeof PAYLOAD - 1)

static const char *shared_dir(void)
{
    const char *s = getenv("IMAPSCOPE_SHARED");
    return s && *s ? s : "tests/data";
}

static void be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* TCP 51234 -> 143, seq/ack fixed, PSH|ACK, window 502, 20 bytes of options
 * (MSS 1460, NOP, WS 7, SACK-permitted, TS 1000/2000), PAYLOAD. */
static size_t mk_tcp(uint8_t *b)
{
    static const uint8_t opts[20] = {2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2,
                                     8, 10, 0, 0, 0x03, 0xe8, 0, 0, 0x07, 0xd0};
    memset(b, 0, 20);
    be16(b, 51234);
    be16(b + 2, 143);
    be32(b + 4, 0x01020304);
    be32(b + 8, 0xa0b0c0d0);
    b[12] = 10 << 4;
    b[13] = PKT_TCP_PSH | PKT_TCP_ACK;
    be16(b + 14, 502);
    memcpy(b + 20, opts, 20);
    memcpy(b + 40, PAYLOAD, PAYLOAD_LEN);
    return 40 + PAYLOAD_LEN;
}

static size_t mk_udp(uint8_t *b, const void *pl, size_t n)
{
    be16(b, 5353);
    be16(b + 2, 53);
    be16(b + 4, (uint32_t)(8 + n));
    b[6] = b[7] = 0;
    memcpy(b + 8, pl, n);
    return 8 + n;
}

/* IPv4 header (with optlen bytes of NOP options, a multiple of 4) + l4. */
static size_t mk_ipv4(uint8_t *b, uint8_t proto, const uint8_t *l4, size_t l4len, size_t optlen)
{
    size_t ihl = 20 + optlen;
    memmove(b + ihl, l4, l4len); /* first: l4 may alias b */
    memset(b, 0, ihl);
    b[0] = (uint8_t)(0x40 | (ihl / 4));
    be16(b + 2, (uint32_t)(ihl + l4len));
    be16(b + 4, 0x1234);
    b[6] = 0x40; /* DF */
    b[8] = 64;
    b[9] = proto;
    memcpy(b + 12, SRC4, 4);
    memcpy(b + 16, DST4, 4);
    memset(b + 20, 1, optlen);
    return ihl + l4len;
}

static size_t mk_ipv6(uint8_t *b, uint8_t nh, const uint8_t *rest, size_t restlen)
{
    memmove(b + 40, rest, restlen); /* first: rest may alias b */
    memset(b, 0, 40);
    b[0] = 0x60;
    be16(b + 4, (uint32_t)restlen);
    b[6] = nh;
    b[7] = 63;
    memcpy(b + 8, SRC6, 16);
    memcpy(b + 24, DST6, 16);
    return 40 + restlen;
}

/* Ethernet with a chain of VLAN tags: tags[i] = {tpid, vid}. */
static size_t mk_eth(uint8_t *b, const uint16_t (*tags)[2], int ntags, uint16_t type,
                     const uint8_t *l3, size_t n)
{
    static const uint8_t macs[12] = {0, 1, 2, 3, 4, 5, 0, 6, 7, 8, 9, 10};
    memcpy(b, macs, 12);
    size_t off = 12;
    for (int i = 0; i < ntags; i++) {
        be16(b + off, tags[i][0]);
        be16(b + off + 2, tags[i][1]);
        off += 4;
    }
    be16(b + off, type);
    off += 2;
    memmove(b + off, l3, n);
    return off + n;
}

/* A standard IPv4/TCP packet. */
static size_t mk_ip4tcp(uint8_t *b)
{
    uint8_t l4[128];
    size_t n = mk_tcp(l4);
    return mk_ipv4(b, 6, l4, n, 0);
}

static size_t mk_ip6tcp(uint8_t *b)
{
    uint8_t l4[128];
    size_t n = mk_tcp(l4);
    return mk_ipv6(b, 6, l4, n);
}

static decoder dec;
/* The frame of the last run(), kept until the next one (p->payload points
 * into it). */
static uint8_t *last_copy;

static int setup(void **state)
{
    (void)state;
    char err[128];
    return decoder_init(&dec, NULL, err, sizeof err);
}

static int teardown(void **state)
{
    (void)state;
    decoder_free(&dec);
    free(last_copy);
    last_copy = NULL;
    return 0;
}

/* Decodes a heap copy of exactly caplen bytes (so ASan sees any over-read). */
static decode_result run(int linktype, const uint8_t *f, size_t caplen, size_t wirelen, pkt *p)
{
    free(last_copy);
    uint8_t *copy = last_copy = malloc(caplen ? caplen : 1);
    assert_non_null(copy);
    memcpy(copy, f, caplen);
    decode_result r = decode_packet(&dec, linktype, copy, (uint32_t)caplen, (uint32_t)wirelen,
                                    42, p);
    if (r == DECODE_OK && p->payload_len) {
        /* the payload lies inside the frame (or is reassembled) */
        assert_true(p->reassembled ||
                    (p->payload >= copy && p->payload + p->payload_len <= copy + caplen));
    }
    return r;
}

static void assert_tcp_fields(const pkt *p, int version)
{
    assert_int_equal(p->ip_version, version);
    if (version == 4) {
        assert_memory_equal(p->src, SRC4, 4);
        assert_memory_equal(p->dst, DST4, 4);
    } else {
        assert_memory_equal(p->src, SRC6, 16);
        assert_memory_equal(p->dst, DST6, 16);
    }
    assert_int_equal(p->proto, 6);
    assert_int_equal(p->sport, 51234);
    assert_int_equal(p->dport, 143);
    assert_int_equal(p->seq, 0x01020304);
    assert_int_equal(p->ack, 0xa0b0c0d0);
    assert_int_equal(p->tcp_flags, PKT_TCP_PSH | PKT_TCP_ACK);
    assert_int_equal(p->window, 502);
    assert_int_equal(p->tcp_optlen, 20);
    assert_int_equal(p->tcp_opts, PKT_TCPOPT_MSS | PKT_TCPOPT_WSCALE | PKT_TCPOPT_SACK_PERM |
                                      PKT_TCPOPT_TS);
    assert_int_equal(p->mss, 1460);
    assert_int_equal(p->wscale, 7);
    assert_int_equal(p->ts_val, 1000);
    assert_int_equal(p->ts_ecr, 2000);
    assert_int_equal(p->payload_len, PAYLOAD_LEN);
    assert_int_equal(p->payload_wire_len, PAYLOAD_LEN);
    assert_false(p->truncated);
    assert_memory_equal(p->payload, PAYLOAD, PAYLOAD_LEN);
    assert_false(p->is_icmp);
    assert_int_equal(p->error, DECODE_R_NONE);
    assert_int_equal(p->anomalies, 0);
}

/* Every prefix of a valid frame: cut on the wire it is an error (or skip);
 * cut by the snaplen it is an error until the headers are whole, then OK
 * with a truncated payload of exactly the bytes present. */
static void check_prefixes(int linktype, const uint8_t *f, size_t n, size_t hdrs)
{
    pkt p;
    for (size_t len = 0; len < n; len++) {
        decode_result r = run(linktype, f, len, len, &p);
        if (r != DECODE_ERROR && r != DECODE_SKIP)
            fail_msg("prefix %zu of %zu (wire cut): %s", len, n, decode_result_name(r));
        assert_int_not_equal(p.error, DECODE_R_NONE);
        r = run(linktype, f, len, n, &p);
        if (len < hdrs) {
            if (r != DECODE_ERROR)
                fail_msg("prefix %zu of %zu (snaplen): %s", len, n, decode_result_name(r));
        } else {
            if (r != DECODE_OK)
                fail_msg("prefix %zu of %zu (snaplen): %s %s", len, n, decode_result_name(r),
                         decode_reason_name(p.error));
            assert_int_equal(p.payload_len, len - hdrs);
            assert_int_equal(p.payload_wire_len, n - hdrs);
            assert_true(p.truncated == (len < n));
        }
    }
    assert_int_equal(run(linktype, f, n, n, &p), DECODE_OK);
}

/* ---- link layers --------------------------------------------------------- */

static void test_ethernet_ipv4_tcp(void **state)
{
    (void)state;
    uint8_t ip[256], f[300];
    size_t n = mk_eth(f, NULL, 0, 0x0800, ip, mk_ip4tcp(ip));
    pkt p;
    assert_int_equal(run(DECODE_LINK_EN10MB, f, n, n, &p), DECODE_OK);
    assert_tcp_fields(&p, 4);
    assert_int_equal(p.ttl, 64);
    assert_int_equal(p.vlan_count, 0);
    assert_int_equal(p.tunnel_depth, 0);
    check_prefixes(DECODE_LINK_EN10MB, f, n, 14 + 20 + 40);
}

static void test_ethernet_ipv4_options(void **state)
{
    (void)state;
    uint8_t l4[128], ip[256], f[300];
    size_t n = mk_eth(f, NULL, 0, 0x0800, ip, mk_ipv4(ip, 6, l4, mk_tcp(l4), 12));
    pkt p;
    assert_int_equal(run(DECODE_LINK_EN10MB, f, n, n, &p), DECODE_OK);
    assert_tcp_fields(&p, 4);
    check_prefixes(DECODE_LINK_EN10MB, f, n, 14 + 32 + 40);
}

static void test_vlan_stack(void **state)
{
    (void)state;
    const uint16_t tags[3][2] = {{0x88a8, 0x2064}, {0x8100, 200}, {0x9100, 300}};
    uint8_t ip[256], f[300];
    size_t n = mk_eth(f, tags, 3, 0x86dd, ip, mk_ip6tcp(ip));
    pkt p;
    assert_int_equal(run(DECODE_LINK_EN10MB, f, n, n, &p), DECODE_OK);
    assert_tcp_fields(&p, 6);
    assert_int_equal(p.vlan_count, 3);
    assert_int_equal(p.vlan[0], 100); /* PCP bits masked off */
    assert_int_equal(p.vlan[1], 200);
    assert_int_equal(p.ttl, 63);
    check_prefixes(DECODE_LINK_EN10MB, f, n, 14 + 12 + 40 + 40);

    /* one tag more than the cap */
    uint16_t many[DECODE_DEFAULT_MAX_VLAN + 1][2];
    for (int i = 0; i <= DECODE_DEFAULT_MAX_VLAN; i++)
        many[i][0] = 0x8100, many[i][1] = (uint16_t)i;
    n = mk_eth(f, many, DECODE_DEFAULT_MAX_VLAN + 1, 0x86dd, ip, mk_ip6tcp(ip));
    assert_int_equal(run(DECODE_LINK_EN10MB, f, n, n, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_VLAN_TOO_DEEP);
    n = mk_eth(f, many, DECODE_DEFAULT_MAX_VLAN, 0x86dd, ip, mk_ip6tcp(ip));
    assert_int_equal(run(DECODE_LINK_EN10MB, f, n, n, &p), DECODE_OK);
    assert_int_equal(p.vlan_count, DECODE_DEFAULT_MAX_VLAN);
}

static void test_linux_sll(void **state)
{
    (void)state;
    uint8_t f[300];
    memset(f, 0, 16);
    be16(f, 4);           /* outgoing */
    be16(f + 2, 772);     /* ARPHRD_LOOPBACK */
    be16(f + 4, 6);
    be16(f + 14, 0x0800);
    size_t n = 16 + mk_ip4tcp(f + 16);
    pkt p;
    assert_int_equal(run(DECODE_LINK_SLL, f, n, n, &p), DECODE_OK);
    assert_tcp_fields(&p, 4);
    check_prefixes(DECODE_LINK_SLL, f, n, 16 + 60);
    /* an SLL frame with a VLAN ethertype */
    be16(f + 14, 0x8100);
    be16(f + 16, 7);
    be16(f + 18, 0x86dd);
    n = 20 + mk_ip6tcp(f + 20);
    assert_int_equal(run(DECODE_LINK_SLL, f, n, n, &p), DECODE_OK);
    assert_tcp_fields(&p, 6);
    assert_int_equal(p.vlan[0], 7);
}

static void test_linux_sll2(void **state)
{
    (void)state;
    uint8_t f[300];
    memset(f, 0, 20);
    be16(f, 0x86dd);
    be32(f + 4, 1);       /* ifindex */
    be16(f + 8, 1);       /* ARPHRD_ETHER */
    f[11] = 6;
    size_t n = 20 + mk_ip6tcp(f + 20);
    pkt p;
    assert_int_equal(run(DECODE_LINK_SLL2, f, n, n, &p), DECODE_OK);
    assert_tcp_fields(&p, 6);
    check_prefixes(DECODE_LINK_SLL2, f, n, 20 + 80);
}

static void test_null_and_loop(void **state)
{
    (void)state;
    uint8_t f[300];
    pkt p;
    /* DLT_NULL, little-endian host, AF_INET */
    f[0] = 2, f[1] = 0, f[2] = 0, f[3] = 0;
    size_t n = 4 + mk_ip4tcp(f + 4);
    assert_int_equal(run(DECODE_LINK_NULL, f, n, n, &p), DECODE_OK);
    assert_tcp_fields(&p, 4);
    check_prefixes(DECODE_LINK_NULL, f, n, 4 + 60);
    /* DLT_NULL, big-endian host, AF_INET */
    be32(f, 2);
    assert_int_equal(run(DECODE_LINK_NULL, f, n, n, &p), DECODE_OK);
    assert_tcp_fields(&p, 4);
    /* DLT_NULL IPv6 under each BSD value, both byte orders */
    static const uint32_t fam6[] = {10, 24, 28, 30};
    n = 4 + mk_ip6tcp(f + 4);
    for (size_t i = 0; i < 4; i++) {
        be32(f, fam6[i]);
        assert_int_equal(run(DECODE_LINK_NULL, f, n, n, &p), DECODE_OK);
        assert_tcp_fields(&p, 6);
        f[0] = (uint8_t)fam6[i], f[1] = f[2] = f[3] = 0;
        assert_int_equal(run(DECODE_LINK_NULL, f, n, n, &p), DECODE_OK);
        assert_tcp_fields(&p, 6);
    }
    /* DLT_LOOP is always network order */
    be32(f, 24);
    assert_int_equal(run(DECODE_LINK_LOOP, f, n, n, &p), DECODE_OK);
    assert_tcp_fields(&p, 6);
    check_prefixes(DECODE_LINK_LOOP, f, n, 4 + 80);
    /* unknown family: skipped */
    be32(f, 7);
    assert_int_equal(run(DECODE_LINK_LOOP, f, n, n, &p), DECODE_SKIP);
    assert_int_equal(p.error, DECODE_R_LOOPBACK_FAMILY_UNKNOWN);
}

static void test_raw_links(void **state)
{
    (void)state;
    uint8_t f4[300], f6[300];
    size_t n4 = mk_ip4tcp(f4), n6 = mk_ip6tcp(f6);
    pkt p;
    static const int raw[] = {DECODE_LINK_RAW, DECODE_LINK_RAW_BSD, DECODE_LINK_RAW_LT};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(run(raw[i], f4, n4, n4, &p), DECODE_OK);
        assert_tcp_fields(&p, 4);
        assert_int_equal(run(raw[i], f6, n6, n6, &p), DECODE_OK);
        assert_tcp_fields(&p, 6);
    }
    check_prefixes(DECODE_LINK_RAW, f4, n4, 60);
    check_prefixes(DECODE_LINK_RAW, f6, n6, 80);
    assert_int_equal(run(DECODE_LINK_IPV4, f4, n4, n4, &p), DECODE_OK);
    assert_tcp_fields(&p, 4);
    assert_int_equal(run(DECODE_LINK_IPV6, f6, n6, n6, &p), DECODE_OK);
    assert_tcp_fields(&p, 6);
    check_prefixes(DECODE_LINK_IPV6, f6, n6, 80);
    /* the link type says IPv4 but the packet is IPv6 */
    assert_int_equal(run(DECODE_LINK_IPV4, f6, n6, n6, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_BAD_IP_VERSION);
    /* raw with version 5 */
    f4[0] = 0x55;
    assert_int_equal(run(DECODE_LINK_RAW, f4, n4, n4, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_BAD_IP_VERSION);
}

static void test_pppoe_and_mpls(void **state)
{
    (void)state;
    uint8_t l3[256], inner[300], f[400];
    pkt p;
    /* PPPoE session: 11 00 sid len, PPP protocol 0x0021 */
    size_t ipn = mk_ip4tcp(l3);
    inner[0] = 0x11, inner[1] = 0;
    be16(inner + 2, 0x0042);
    be16(inner + 4, (uint32_t)(ipn + 2));
    be16(inner + 6, 0x0021);
    memcpy(inner + 8, l3, ipn);
    size_t n = mk_eth(f, NULL, 0, 0x8864, inner, 8 + ipn);
    assert_int_equal(run(DECODE_LINK_EN10MB, f, n, n, &p), DECODE_OK);
    assert_tcp_fields(&p, 4);
    check_prefixes(DECODE_LINK_EN10MB, f, n, 14 + 8 + 60);
    /* PPP LCP is not IP: skipped */
    be16(inner + 6, 0xc021);
    n = mk_eth(f, NULL, 0, 0x8864, inner, 8 + ipn);
    assert_int_equal(run(DECODE_LINK_EN10MB, f, n, n, &p), DECODE_SKIP);
    assert_int_equal(p.error, DECODE_R_PPP_NOT_IP);

    /* MPLS: two labels, bottom of stack on the second, then IPv6 */
    ipn = mk_ip6tcp(l3);
    be32(inner, (1000u << 12) | 64);
    be32(inner + 4, (2000u << 12) | 0x100 | 64);
    memcpy(inner + 8, l3, ipn);
    n = mk_eth(f, NULL, 0, 0x8847, inner, 8 + ipn);
    assert_int_equal(run(DECODE_LINK_EN10MB, f, n, n, &p), DECODE_OK);
    assert_tcp_fields(&p, 6);
    check_prefixes(DECODE_LINK_EN10MB, f, n, 14 + 8 + 80);
}

static void test_tunnels(void **state)
{
    (void)state;
    uint8_t a[512], b[512], f[600];
    pkt p;
    /* 6in4: IPv4 proto 41 carrying IPv6/TCP */
    size_t n = mk_ipv4(b, 41, a, mk_ip6tcp(a), 0);
    n = mk_eth(f, NULL, 0, 0x0800, b, n);
    assert_int_equal(run(DECODE_LINK_EN10MB, f, n, n, &p), DECODE_OK);
    assert_tcp_fields(&p, 6);
    assert_int_equal(p.tunnel_depth, 1);
    check_prefixes(DECODE_LINK_EN10MB, f, n, 14 + 20 + 40 + 40);
    /* 4in4 */
    n = mk_ipv4(b, 4, a, mk_ip4tcp(a), 0);
    assert_int_equal(run(DECODE_LINK_RAW, b, n, n, &p), DECODE_OK);
    assert_tcp_fields(&p, 4);
    assert_int_equal(p.tunnel_depth, 1);
    /* 4in6 and 6in6 */
    n = mk_ipv6(b, 4, a, mk_ip4tcp(a));
    assert_int_equal(run(DECODE_LINK_RAW, b, n, n, &p), DECODE_OK);
    assert_tcp_fields(&p, 4);
    n = mk_ipv6(b, 41, a, mk_ip6tcp(a));
    assert_int_equal(run(DECODE_LINK_RAW, b, n, n, &p), DECODE_OK);
    assert_tcp_fields(&p, 6);
    check_prefixes(DECODE_LINK_RAW, b, n, 40 + 40 + 40);
    /* nesting: depth 3 is fine, 4 is over the cap */
    n = mk_ip4tcp(a);
    for (int i = 0; i < DECODE_DEFAULT_MAX_TUNNEL; i++)
        n = mk_ipv4(a, 4, a, n, 0);
    assert_int_equal(run(DECODE_LINK_RAW, a, n, n, &p), DECODE_OK);
    assert_int_equal(p.tunnel_depth, DECODE_DEFAULT_MAX_TUNNEL);
    assert_tcp_fields(&p, 4);
    n = mk_ipv4(a, 4, a, n, 0);
    assert_int_equal(run(DECODE_LINK_RAW, a, n, n, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_TUNNEL_TOO_DEEP);
}

static void test_ipv6_extension_headers(void **state)
{
    (void)state;
    uint8_t rest[512], f[600];
    size_t off = 0;
    /* hop-by-hop: 8 bytes, PadN */
    rest[off] = 43, rest[off + 1] = 0, rest[off + 2] = 1, rest[off + 3] = 4;
    memset(rest + off + 4, 0, 4);
    off += 8;
    /* routing: 24 bytes (Hdr Ext Len 2), segments left 0 */
    memset(rest + off, 0, 24);
    rest[off] = 60, rest[off + 1] = 2, rest[off + 2] = 4;
    off += 24;
    /* destination options: 16 bytes */
    memset(rest + off, 0, 16);
    rest[off] = 51, rest[off + 1] = 1, rest[off + 2] = 1, rest[off + 3] = 12;
    off += 16;
    /* AH: Payload Len 4 -> (4 + 2) * 4 = 24 bytes */
    memset(rest + off, 0xaa, 24);
    rest[off] = 6, rest[off + 1] = 4, rest[off + 2] = 0, rest[off + 3] = 0;
    off += 24;
    off += mk_tcp(rest + off);
    size_t n = mk_ipv6(f, 0, rest, off);
    pkt p;
    assert_int_equal(run(DECODE_LINK_IPV6, f, n, n, &p), DECODE_OK);
    assert_tcp_fields(&p, 6);
    check_prefixes(DECODE_LINK_IPV6, f, n, 40 + 72 + 40);
    /* routing header claims more than the payload */
    f[40 + 8 + 1] = 200;
    assert_int_equal(run(DECODE_LINK_IPV6, f, n, n, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_IPV6_EXT_HEADER_BAD_LENGTH);
    /* ... or more than was captured (snaplen) */
    f[40 + 8 + 1] = 2;
    assert_int_equal(run(DECODE_LINK_IPV6, f, 60, n, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_IPV6_EXT_HEADER_TRUNCATED);
    /* a chain longer than the cap */
    uint8_t chain[8 * (DECODE_MAX_IPV6_EXT + 2) + 8];
    size_t k;
    for (k = 0; k < DECODE_MAX_IPV6_EXT + 2; k++) {
        memset(chain + 8 * k, 0, 8);
        chain[8 * k] = 60;
    }
    chain[8 * (k - 1)] = 59; /* no next header */
    n = mk_ipv6(f, 60, chain, 8 * k);
    assert_int_equal(run(DECODE_LINK_IPV6, f, n, n, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_IPV6_TOO_MANY_EXT_HEADERS);
    /* no next header right away: decoded as proto 59 without payload */
    n = mk_ipv6(f, 59, chain, 0);
    assert_int_equal(run(DECODE_LINK_IPV6, f, n, n, &p), DECODE_OK);
    assert_int_equal(p.proto, 59);
    assert_int_equal(p.payload_len, 0);
}

static void test_udp_sctp_icmp(void **state)
{
    (void)state;
    uint8_t l4[128], ip[256], f[300];
    pkt p;
    size_t n = mk_eth(f, NULL, 0, 0x0800, ip, mk_ipv4(ip, 17, l4, mk_udp(l4, "dns?", 4), 0));
    assert_int_equal(run(DECODE_LINK_EN10MB, f, n, n, &p), DECODE_OK);
    assert_int_equal(p.proto, 17);
    assert_int_equal(p.sport, 5353);
    assert_int_equal(p.dport, 53);
    assert_int_equal(p.payload_len, 4);
    assert_memory_equal(p.payload, "dns?", 4);
    check_prefixes(DECODE_LINK_EN10MB, f, n, 14 + 28);

    /* SCTP common header: ports 7/7, vtag, checksum, then a chunk */
    memset(l4, 0, 16);
    be16(l4, 7);
    be16(l4 + 2, 9);
    n = mk_ipv6(f, 132, l4, 16);
    assert_int_equal(run(DECODE_LINK_IPV6, f, n, n, &p), DECODE_OK);
    assert_int_equal(p.proto, 132);
    assert_int_equal(p.sport, 7);
    assert_int_equal(p.dport, 9);
    assert_int_equal(p.payload_len, 4);
    check_prefixes(DECODE_LINK_IPV6, f, n, 52);

    /* ICMP echo request */
    memset(l4, 0, 12);
    l4[0] = 8;
    n = mk_ipv4(f, 1, l4, 12, 0);
    assert_int_equal(run(DECODE_LINK_RAW, f, n, n, &p), DECODE_OK);
    assert_true(p.is_icmp);
    assert_int_equal(p.icmp_type, 8);
    assert_int_equal(p.icmp_code, 0);
    assert_int_equal(p.sport, 8);
    assert_int_equal(p.payload_len, 4);
    /* ICMPv6 destination unreachable, code 4 */
    l4[0] = 1, l4[1] = 4;
    n = mk_ipv6(f, 58, l4, 8);
    assert_int_equal(run(DECODE_LINK_RAW, f, n, n, &p), DECODE_OK);
    assert_true(p.is_icmp);
    assert_int_equal(p.proto, 58);
    assert_int_equal(p.icmp_type, 1);
    assert_int_equal(p.icmp_code, 4);
    assert_int_equal(p.dport, 4);
    /* another protocol (GRE): no ports, payload is the IP payload */
    n = mk_ipv4(f, 47, l4, 12, 0);
    assert_int_equal(run(DECODE_LINK_RAW, f, n, n, &p), DECODE_OK);
    assert_int_equal(p.proto, 47);
    assert_int_equal(p.sport, 0);
    assert_int_equal(p.payload_len, 12);
}

/* ---- malformed ------------------------------------------------------------ */

static void test_ethernet_padding_excluded(void **state)
{
    (void)state;
    uint8_t l4[128], ip[256], f[300];
    pkt p;
    /* a bare ACK (54 bytes) padded to 60 with non-zero bytes */
    size_t tl = mk_tcp(l4) - PAYLOAD_LEN;
    l4[12] = 5 << 4;
    tl -= 20;
    size_t n = mk_eth(f, NULL, 0, 0x0800, ip, mk_ipv4(ip, 6, l4, tl, 0));
    memset(f + n, 0xee, 6);
    assert_int_equal(run(DECODE_LINK_EN10MB, f, n + 6, n + 6, &p), DECODE_OK);
    assert_int_equal(p.payload_len, 0);
    assert_int_equal(p.payload_wire_len, 0);
    assert_false(p.truncated);
    /* UDP padded: the UDP length bounds the payload as well */
    n = mk_eth(f, NULL, 0, 0x0800, ip, mk_ipv4(ip, 17, l4, mk_udp(l4, "x", 1), 0));
    memset(f + n, 0xee, 17);
    assert_int_equal(run(DECODE_LINK_EN10MB, f, n + 17, n + 17, &p), DECODE_OK);
    assert_int_equal(p.payload_len, 1);
    assert_int_equal(p.payload[0], 'x');
}

static void test_malformed_ip(void **state)
{
    (void)state;
    uint8_t ip[256], f[300], g[300];
    pkt p;
    size_t n = mk_eth(f, NULL, 0, 0x0800, ip, mk_ip4tcp(ip));
    memcpy(g, f, n);
    /* IHL 4 */
    g[14] = 0x44;
    assert_int_equal(run(DECODE_LINK_EN10MB, g, n, n, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_IPV4_BAD_IHL);
    /* IHL 15 (60 bytes): swallows the TCP header */
    g[14] = 0x4f;
    assert_int_equal(run(DECODE_LINK_EN10MB, g, n, n, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_TCP_HEADER_TOO_SHORT);
    g[14] = 0x45;
    /* total length beyond the frame (caplen == wirelen) */
    be16(g + 16, 1000);
    assert_int_equal(run(DECODE_LINK_EN10MB, g, n, n, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_IP_TOTAL_LENGTH_TOO_LONG);
    /* total length beyond caplen but within wirelen: a snaplen cut */
    assert_int_equal(run(DECODE_LINK_EN10MB, g, n, 1014, &p), DECODE_OK);
    assert_true(p.truncated);
    assert_int_equal(p.payload_len, PAYLOAD_LEN);
    assert_int_equal(p.payload_wire_len, 1000 - 60);
    /* total length below the header */
    be16(g + 16, 10);
    assert_int_equal(run(DECODE_LINK_EN10MB, g, n, n, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_IP_TOTAL_LENGTH_TOO_SHORT);
    /* total length 0 (offload): frame length used, noted */
    be16(g + 16, 0);
    assert_int_equal(run(DECODE_LINK_EN10MB, g, n, n, &p), DECODE_OK);
    assert_true(p.anomalies & (1ull << DECODE_R_IPV4_TOTAL_LENGTH_ZERO));
    assert_int_equal(p.payload_len, PAYLOAD_LEN);
    /* IPv6 payload length beyond the frame */
    n = mk_eth(f, NULL, 0, 0x86dd, ip, mk_ip6tcp(ip));
    be16(f + 14 + 4, 500);
    assert_int_equal(run(DECODE_LINK_EN10MB, f, n, n, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_IP_TOTAL_LENGTH_TOO_LONG);
    /* version 6 behind ethertype IPv4 */
    n = mk_eth(f, NULL, 0, 0x0800, ip, mk_ip6tcp(ip));
    assert_int_equal(run(DECODE_LINK_EN10MB, f, n, n, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_BAD_IP_VERSION);
}

static void test_malformed_transport(void **state)
{
    (void)state;
    uint8_t ip[256], g[300], l4[128];
    pkt p;
    size_t n = mk_ip4tcp(ip);
    /* data offset 4 */
    memcpy(g, ip, n);
    g[20 + 12] = 4 << 4;
    assert_int_equal(run(DECODE_LINK_RAW, g, n, n, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_TCP_BAD_DATA_OFFSET);
    /* data offset 15 in a 20-byte segment */
    size_t m = mk_ipv4(g, 6, ip + 20, 20, 0);
    g[20 + 12] = 15 << 4;
    assert_int_equal(run(DECODE_LINK_RAW, g, m, m, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_TCP_BAD_DATA_OFFSET);
    /* a 12-byte TCP segment */
    m = mk_ipv4(g, 6, ip + 20, 12, 0);
    assert_int_equal(run(DECODE_LINK_RAW, g, m, m, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_TCP_HEADER_TOO_SHORT);
    /* an option whose length runs past the header: noted, still decoded */
    memcpy(g, ip, n);
    g[20 + 20 + 10] = 8, g[20 + 20 + 11] = 40;  /* the TS option, length 40 */
    assert_int_equal(run(DECODE_LINK_RAW, g, n, n, &p), DECODE_OK);
    assert_true(p.anomalies & (1ull << DECODE_R_TCP_OPTION_BAD_LENGTH));
    assert_false(p.tcp_opts & PKT_TCPOPT_TS);
    assert_int_equal(p.mss, 1460);
    assert_int_equal(p.payload_len, PAYLOAD_LEN);
    /* option length 0 */
    memcpy(g, ip, n);
    g[20 + 20 + 1] = 0;
    assert_int_equal(run(DECODE_LINK_RAW, g, n, n, &p), DECODE_OK);
    assert_true(p.anomalies & (1ull << DECODE_R_TCP_OPTION_BAD_LENGTH));
    assert_int_equal(p.tcp_opts, 0);
    /* UDP length 3: noted, the IP length bounds the payload */
    m = mk_ipv4(g, 17, l4, mk_udp(l4, "abcd", 4), 0);
    be16(g + 24, 3);
    assert_int_equal(run(DECODE_LINK_RAW, g, m, m, &p), DECODE_OK);
    assert_true(p.anomalies & (1ull << DECODE_R_UDP_BAD_LENGTH));
    assert_int_equal(p.payload_len, 4);
    /* UDP header cut by the IP length */
    m = mk_ipv4(g, 17, l4, 6, 0);
    assert_int_equal(run(DECODE_LINK_RAW, g, m, m, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_UDP_HEADER_TOO_SHORT);
    /* ICMP of 3 bytes */
    m = mk_ipv4(g, 1, l4, 3, 0);
    assert_int_equal(run(DECODE_LINK_RAW, g, m, m, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_ICMP_HEADER_TOO_SHORT);
}

static void test_skips_and_link_errors(void **state)
{
    (void)state;
    uint8_t arp[28] = {0, 1, 8, 0, 6, 4, 0, 1}, f[100];
    pkt p;
    size_t n = mk_eth(f, NULL, 0, 0x0806, arp, sizeof arp);
    uint64_t skipped = decoder_stats(&dec)->skipped;
    assert_int_equal(run(DECODE_LINK_EN10MB, f, n, n, &p), DECODE_SKIP);
    assert_int_equal(p.error, DECODE_R_NOT_IP);
    assert_int_equal(decoder_stats(&dec)->skipped, skipped + 1);
    assert_int_equal(run(9999, f, n, n, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_UNSUPPORTED_LINKTYPE);
    assert_int_equal(run(DECODE_LINK_EN10MB, f, 13, 13, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_TRUNCATED_LINK_HEADER);
    assert_int_equal(run(DECODE_LINK_SLL2, f, 19, 19, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_TRUNCATED_LINK_HEADER);
    /* MPLS label stack without bottom-of-stack bit, then cut */
    uint8_t m[8] = {0, 0, 0, 64, 0, 0, 0, 64};
    n = mk_eth(f, NULL, 0, 0x8847, m, 8);
    assert_int_equal(run(DECODE_LINK_EN10MB, f, n, n, &p), DECODE_ERROR);
    assert_int_equal(p.error, DECODE_R_MPLS_HEADER_TRUNCATED);
}

static void test_reason_table(void **state)
{
    (void)state;
    for (unsigned i = 0; i < DECODE_REASON_COUNT; i++) {
        const char *name = decode_reason_name((decode_reason)i);
        assert_true(strlen(name) > 0);
        assert_true(strlen(decode_reason_description((decode_reason)i)) > 10);
        for (const char *c = name; *c; c++)
            assert_true((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_');
        assert_int_equal(decode_reason_from_name(name), i);
    }
    assert_string_equal(decode_reason_name(DECODE_R_FRAG_OVERLAP), "frag_overlap");
    assert_string_equal(decode_reason_name(DECODE_R_TCP_BAD_DATA_OFFSET), "tcp_bad_data_offset");
    assert_int_equal(decode_reason_kind(DECODE_R_NOT_IP), DECODE_KIND_SKIP);
    assert_int_equal(decode_reason_kind(DECODE_R_FRAG_TIMEOUT), DECODE_KIND_ANOMALY);
    assert_int_equal(decode_reason_kind(DECODE_R_IPV4_BAD_IHL), DECODE_KIND_ERROR);
    assert_int_equal(decode_reason_from_name("no_such_reason"), DECODE_R_NONE);
    assert_string_equal(decode_reason_name(DECODE_R_NONE), "unknown");
}

/* Deterministic mutation run: valid frames with random bytes overwritten,
 * decoded under every link type.  Every result is one of the four, an error
 * or skip names a reason of the right kind, and an OK payload lies inside
 * the frame (or a reassembled datagram) and within its declared length. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static void test_random_mutations(void **state)
{
    (void)state;
    uint8_t seeds[6][400], a[400], b[400];
    size_t len[6];
    len[0] = mk_eth(seeds[0], NULL, 0, 0x0800, a, mk_ip4tcp(a));
    const uint16_t tags[2][2] = {{0x88a8, 5}, {0x8100, 6}};
    len[1] = mk_eth(seeds[1], tags, 2, 0x86dd, a, mk_ip6tcp(a));
    len[2] = mk_ipv4(seeds[2], 41, a, mk_ip6tcp(a), 8);
    /* IPv4 fragment (MF set) carrying UDP */
    len[3] = mk_ipv4(seeds[3], 17, b, mk_udp(b, "0123456789abcdef", 16), 0);
    seeds[3][6] = 0x20;
    /* IPv6 with a fragment header: offset 8, M set */
    memset(b, 0, 8);
    b[0] = 17, b[3] = 8 | 1, b[7] = 9;
    memset(b + 8, 'f', 32);
    len[4] = mk_ipv6(seeds[4], 44, b, 40);
    /* SLL2 + IPv6 with hop-by-hop and TCP */
    memset(seeds[5], 0, 20);
    be16(seeds[5], 0x86dd);
    memset(b, 0, 8);
    b[0] = 6;
    size_t tl = mk_tcp(b + 8);
    len[5] = 20 + mk_ipv6(seeds[5] + 20, 0, b, 8 + tl);
    static const int links[] = {DECODE_LINK_EN10MB, DECODE_LINK_RAW, DECODE_LINK_SLL2,
                                DECODE_LINK_NULL, DECODE_LINK_IPV4, DECODE_LINK_IPV6};
    unsigned counts[4] = {0};
    for (unsigned iter = 0; iter < 60000; iter++) {
        unsigned s = iter % 6;
        uint8_t f[400];
        memcpy(f, seeds[s], len[s]);
        unsigned flips = 1 + rng() % 4;
        for (unsigned k = 0; k < flips; k++)
            f[rng() % len[s]] = (uint8_t)rng();
        size_t cap = len[s] - (rng() % 4 == 0 ? rng() % len[s] : 0);
        size_t wire = cap + (rng() % 4 == 0 ? rng() % 100 : 0);
        int link = s == 0 || s == 1 ? DECODE_LINK_EN10MB
                 : s == 5           ? DECODE_LINK_SLL2
                                    : DECODE_LINK_RAW;
        if (rng() % 8 == 0)
            link = links[rng() % 6];
        pkt p;
        decode_result r = run(link, f, cap, wire, &p);
        assert_true(r >= DECODE_OK && r <= DECODE_ERROR);
        counts[r]++;
        if (r == DECODE_SKIP)
            assert_int_equal(decode_reason_kind(p.error), DECODE_KIND_SKIP);
        else if (r == DECODE_ERROR)
            assert_true(p.error < DECODE_REASON_COUNT);
        else if (r == DECODE_OK) {
            assert_int_equal(p.error, DECODE_R_NONE);
            assert_true(p.payload_len <= p.payload_wire_len);
            assert_true(p.ip_version == 4 || p.ip_version == 6);
        }
    }
    print_message("mutations: ok %u held %u skip %u error %u\n", counts[0], counts[1], counts[2], counts[3]);
    /* every outcome was reached */
    for (int i = 0; i < 4; i++)
        assert_true(counts[i] > 0);
    decoder_expire(&dec, UINT64_MAX);
    assert_int_equal(ipfrag_in_flight(dec.frag), 0);
}

/* ---- public captures ------------------------------------------------------ */

typedef struct capture_expect {
    const char *file;
    unsigned frames;    /* frames libpcap returns */
    unsigned ok;        /* IP frames (TShark: ip || ipv6) */
    unsigned imap;      /* TCP on port 143 or 993 */
    unsigned imap_v6;   /* of which IPv6 */
    unsigned anomalies; /* anomaly counters summed */
    unsigned imap_bytes;/* TCP payload bytes on those ports (TShark tcp.len) */
} capture_expect;

/* Counts from TShark 4.0 on the same files, except that arkime_synthetic
 * frames 307 (NSH, 0x894f) and 315 (Cisco MetaData, 0x8909) are skipped as
 * not_ip: TShark decodes 913 of its frames as IP, we 911.  Its frame 818 is
 * a UDP header with length 0 (TShark: "Bad length value 0 < 8"), our one
 * anomaly (udp_bad_length); every other capture has none. */
static const capture_expect captures[] = {
    {"arkime__arkime_synthetic.pcap", 918, 911, 22, 0, 1, 484},
    {"arkime__imap.pcap", 124, 124, 106, 0, 0, 21515},
    {"arkime__ntlm_synthetic.pcap", 218, 218, 24, 24, 0, 575},
    {"bruteshark__IMAP_-_Authenticate_CRAM-MD5.cap", 46, 40, 40, 0, 0, 1487},
    {"bruteshark__IMAP_-_Authenticate_CRAM-MD5.pcapng", 46, 40, 40, 0, 0, 1487},
    {"bruteshark__IMAP_-_Authenticate_Digest-MD5.pcap", 31, 31, 31, 0, 0, 1017},
    {"bruteshark__IMAP_-_Authenticate_Digest-MD5.pcapng", 31, 31, 31, 0, 0, 1017},
    {"bruteshark__IMAP_-_Authenticate_Plain_Base64.pcap", 209, 209, 180, 0, 0, 23810},
    {"bruteshark__IMAP_-_Authenticate_Plain_Base64.pcapng", 209, 209, 180, 0, 0, 23810},
    {"bruteshark__IMAP_-_Login_Plaintext_1.pcapng", 124, 124, 106, 0, 0, 21515},
    {"lekensteyn__imap-ssl.pcapng", 41, 41, 41, 0, 0, 5393},
    {"ndpi__imaps.pcap", 28, 28, 28, 0, 0, 7666},
    {"ndpi__whatsapp_login_call.pcap", 1253, 1251, 17, 0, 0, 876},
    {"nfstream__imaps.pcap", 20, 20, 20, 0, 0, 3856},
    {"peafowl__imap.cap", 8, 8, 8, 0, 0, 264},   /* damaged: the reader stops after 8 */
    {"suricata-verify__imap-detection__input.pcap", 106, 106, 106, 0, 0, 21515},
    {"suricata-verify__tcp-async-01__input.pcap", 139, 139, 139, 0, 0, 181339},
    {"zeek__imap-starttls.pcap", 32, 32, 32, 0, 0, 6193},
};

static void test_public_captures(void **state)
{
    (void)state;
    size_t ncap = sizeof captures / sizeof captures[0];
    for (size_t i = 0; i < ncap; i++) {
        const capture_expect *e = &captures[i];
        char path[1024], errbuf[PCAP_ERRBUF_SIZE];
        snprintf(path, sizeof path, "%s/captures/public/%s", shared_dir(), e->file);
        pcap_t *pc = pcap_open_offline(path, errbuf);
        if (!pc)
            fail_msg("%s: %s", path, errbuf);
        decoder d;
        char err[128];
        assert_int_equal(decoder_init(&d, NULL, err, sizeof err), 0);
        struct pcap_pkthdr *h;
        const u_char *data;
        unsigned frames = 0, imap = 0, imap_v6 = 0, imap_payload = 0, imap_bytes = 0;
        int rc;
        while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
            frames++;
            pkt p;
            uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
            decode_result r = decode_packet(&d, pcap_datalink(pc), data, h->caplen, h->len, ts,
                                            &p);
            if (r == DECODE_ERROR)
                fail_msg("%s frame %u: %s", e->file, frames, decode_reason_name(p.error));
            if (r == DECODE_OK && p.proto == 6 &&
                (p.sport == 143 || p.dport == 143 || p.sport == 993 || p.dport == 993)) {
                imap++;
                imap_v6 += p.ip_version == 6;
                imap_payload += p.payload_len > 0;
                imap_bytes += (unsigned)p.payload_len;
                assert_true(p.payload_len <= p.payload_wire_len);
            }
        }
        if (frames != e->frames || decoder_stats(&d)->ok != e->ok || imap != e->imap ||
            imap_v6 != e->imap_v6 || imap_bytes != e->imap_bytes)
            fail_msg("%s: frames %u ok %llu imap %u v6 %u bytes %u", e->file, frames,
                     (unsigned long long)decoder_stats(&d)->ok, imap, imap_v6, imap_bytes);
        assert_int_equal(decoder_stats(&d)->skipped, e->frames - e->ok);
        assert_int_equal(decoder_stats(&d)->errors, 0);
        assert_true(imap_payload > 0);
        uint64_t anomalies = 0;
        for (unsigned r = 0; r < DECODE_REASON_COUNT; r++)
            if (decode_reason_kind((decode_reason)r) == DECODE_KIND_ANOMALY)
                anomalies += decoder_stats(&d)->reason[r];
        if (anomalies != e->anomalies)
            fail_msg("%s: %llu anomalies", e->file, (unsigned long long)anomalies);
        decoder_free(&d);
        pcap_close(pc);
    }
}

/* The arkime IMAP session: 106 TCP packets on port 143, first the client's
 * SYN with its options, and the VLAN/MPLS frames of the synthetic capture. */
static void test_capture_details(void **state)
{
    (void)state;
    char path[1024], errbuf[PCAP_ERRBUF_SIZE];
    snprintf(path, sizeof path, "%s/captures/public/arkime__arkime_synthetic.pcap", shared_dir());
    pcap_t *pc = pcap_open_offline(path, errbuf);
    if (!pc)
        fail_msg("%s: %s", path, errbuf);
    decoder d;
    char err[128];
    assert_int_equal(decoder_init(&d, NULL, err, sizeof err), 0);
    struct pcap_pkthdr *h;
    const u_char *data;
    unsigned frame = 0, vlan1 = 0, vlan2 = 0;
    while (pcap_next_ex(pc, &h, &data) == 1) {
        frame++;
        pkt p;
        decode_result r = decode_packet(&d, pcap_datalink(pc), data, h->caplen, h->len, 0, &p);
        if (frame == 313) { /* eth:mpls:ip:icmp */
            assert_int_equal(r, DECODE_OK);
            assert_true(p.is_icmp);
        }
        if (frame == 512 || frame == 513) {
            assert_int_equal(r, DECODE_OK);
            assert_true(p.is_icmp);
            vlan1 += p.vlan_count == 1;
            vlan2 += p.vlan_count == 2;
        }
    }
    assert_int_equal(vlan1, 1);
    assert_int_equal(vlan2, 1);
    /* ARP x2, LLDP, LLC, ethertype 0x0000?, NSH, Cisco MetaData */
    assert_int_equal(decoder_stats(&d)->reason[DECODE_R_NOT_IP], 7);
    decoder_free(&d);
    pcap_close(pc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ethernet_ipv4_tcp),
        cmocka_unit_test(test_ethernet_ipv4_options),
        cmocka_unit_test(test_vlan_stack),
        cmocka_unit_test(test_linux_sll),
        cmocka_unit_test(test_linux_sll2),
        cmocka_unit_test(test_null_and_loop),
        cmocka_unit_test(test_raw_links),
        cmocka_unit_test(test_pppoe_and_mpls),
        cmocka_unit_test(test_tunnels),
        cmocka_unit_test(test_ipv6_extension_headers),
        cmocka_unit_test(test_udp_sctp_icmp),
        cmocka_unit_test(test_ethernet_padding_excluded),
        cmocka_unit_test(test_malformed_ip),
        cmocka_unit_test(test_malformed_transport),
        cmocka_unit_test(test_skips_and_link_errors),
        cmocka_unit_test(test_reason_table),
        cmocka_unit_test(test_random_mutations),
        cmocka_unit_test(test_public_captures),
        cmocka_unit_test(test_capture_details),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
