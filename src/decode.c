/*
 * decode: link layer -> IPv4/IPv6 (+ fragments, tunnels) -> transport.
 * See decode.h for the contract.
 *
 * Every read goes through a {p, end} pair and the checks are written as
 * `n > end - p`.  Alongside the captured end each layer carries `wire`, the
 * number of bytes the frame had on the wire from p on; wire >= end - p, and
 * the difference is what the snaplen cut off.
 */
#include "decode.h"
#include "cursor.h"

#include <stdio.h>
#include <string.h>

_Static_assert(DECODE_REASON_COUNT <= 64, "pkt.anomalies is a 64-bit mask");

static const struct {
    const char *name;
    const char *desc;
    decode_kind kind;
} reason_table[DECODE_REASON_COUNT] = {
#define DECODE_X_ROW(e, n, k, d) [DECODE_R_##e] = {n, d, DECODE_KIND_##k},
    DECODE_REASONS(DECODE_X_ROW)
#undef DECODE_X_ROW
};

/* ipfrag events -> reasons (names live in the one table above). */
static const decode_reason frag_event_reason[IPFRAG_EV_COUNT] = {
    [IPFRAG_EV_OVERLAP] = DECODE_R_FRAG_OVERLAP,
    [IPFRAG_EV_TOO_MANY] = DECODE_R_FRAG_TOO_MANY,
    [IPFRAG_EV_MEMCAP] = DECODE_R_FRAG_MEMCAP,
    [IPFRAG_EV_TIMEOUT] = DECODE_R_FRAG_TIMEOUT,
    [IPFRAG_EV_TOO_BIG] = DECODE_R_FRAG_TOO_BIG,
    [IPFRAG_EV_BAD_LENGTH] = DECODE_R_FRAG_BAD_LENGTH,
    [IPFRAG_EV_INCONSISTENT] = DECODE_R_FRAG_INCONSISTENT,
    [IPFRAG_EV_TOO_MANY_HOLES] = DECODE_R_FRAG_TOO_MANY_HOLES,
};
_Static_assert(IPFRAG_EV_COUNT == 8, "map every ipfrag event to a reason");

/* Ethertypes (IEEE registry) and PPP protocol numbers (RFC 1332, RFC 5072). */
#define ETH_IPV4    0x0800u
#define ETH_IPV6    0x86ddu
#define ETH_VLAN    0x8100u
#define ETH_QINQ    0x88a8u
#define ETH_QINQ_OLD 0x9100u
#define ETH_PPPOE_S 0x8864u
#define ETH_MPLS_UC 0x8847u
#define ETH_MPLS_MC 0x8848u
#define PPP_IPV4    0x0021u
#define PPP_IPV6    0x0057u

/* IP protocol numbers (IANA). */
#define IPP_HOPOPTS 0
#define IPP_ICMP    1
#define IPP_IPIP    4
#define IPP_TCP     6
#define IPP_UDP     17
#define IPP_IPV6    41
#define IPP_ROUTING 43
#define IPP_FRAG    44
#define IPP_AH      51
#define IPP_ICMPV6  58
#define IPP_DSTOPTS 60
#define IPP_SCTP    132

typedef struct dctx {
    decoder *d;
    pkt *out;
    uint64_t ts_us;
    unsigned vlan_depth;
    unsigned ip_depth;      /* IP headers decoded so far */
} dctx;

static uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint32_t get_le32(const uint8_t *p)
{
    return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}

/* Bytes from p to end, as a 32-bit count (frames are < 4 GiB). */
static uint32_t avail(const uint8_t *p, const uint8_t *end)
{
    return (uint32_t)(end - p);
}

static decode_result stop(dctx *c, decode_reason r)
{
    c->out->error = r;
    c->d->stats.reason[r]++;
    return reason_table[r].kind == DECODE_KIND_SKIP ? DECODE_SKIP : DECODE_ERROR;
}

static void note(dctx *c, decode_reason r)
{
    c->d->stats.reason[r]++;
    c->out->anomalies |= 1ull << r;
}

/* Copies the fragment table's event counters into ours. */
static void sync_frag_stats(decoder *d, pkt *out)
{
    const ipfrag_stats *fs = ipfrag_table_stats(d->frag);
    for (unsigned e = 0; e < IPFRAG_EV_COUNT; e++) {
        uint64_t delta = fs->events[e] - d->frag_synced[e];
        if (delta) {
            decode_reason r = frag_event_reason[e];
            d->stats.reason[r] += delta;
            d->frag_synced[e] = fs->events[e];
            if (out)
                out->anomalies |= 1ull << r;
        }
    }
}

/* ---- transport ----------------------------------------------------------- */

/* RFC 9293 3.1 / 3.2: options are kind, or kind + length (>= 2) + data;
 * EOL (0) ends the list, NOP (1) is one byte. */
static void tcp_options(dctx *c, const uint8_t *p, const uint8_t *end)
{
    pkt *o = c->out;
    cursor cur = { p, end, false };
    while (cur_left(&cur) > 0) {
        uint8_t kind = cur_u8(&cur);
        if (kind == 0)
            return;
        if (kind == 1)
            continue;
        uint8_t len = cur_u8(&cur);   /* kind and length included */
        if (cur.err || len < 2 || (size_t)(len - 2) > cur_left(&cur)) {
            note(c, DECODE_R_TCP_OPTION_BAD_LENGTH);
            return;
        }
        cursor opt = cur_sub(&cur, len - 2u);
        switch (kind) {
        case 2: /* MSS, RFC 9293 3.2 */
            if (len == 4) {
                o->mss = cur_be16(&opt);
                o->tcp_opts |= PKT_TCPOPT_MSS;
            }
            break;
        case 3: /* window scale, RFC 7323 2.2 */
            if (len == 3) {
                o->wscale = cur_u8(&opt);
                o->tcp_opts |= PKT_TCPOPT_WSCALE;
            }
            break;
        case 4: /* SACK permitted, RFC 2018 */
            if (len == 2)
                o->tcp_opts |= PKT_TCPOPT_SACK_PERM;
            break;
        case 5: /* SACK blocks, RFC 2018 */
            o->tcp_opts |= PKT_TCPOPT_SACK;
            break;
        case 8: /* timestamps, RFC 7323 3.2 */
            if (len == 10) {
                o->ts_val = cur_be32(&opt);
                o->ts_ecr = cur_be32(&opt);
                o->tcp_opts |= PKT_TCPOPT_TS;
            }
            break;
        default:
            break;
        }
    }
}

/* Checks a fixed transport header of `hlen` bytes: declared (wire) and
 * captured.  Returns true when both hold. */
static bool need_header(dctx *c, const uint8_t *p, const uint8_t *end, uint32_t wire,
                        uint32_t hlen, decode_reason too_short, decode_reason truncated,
                        decode_result *res)
{
    if (wire < hlen) {
        *res = stop(c, too_short);
        return false;
    }
    if (hlen > avail(p, end)) {
        *res = stop(c, truncated);
        return false;
    }
    return true;
}

static void set_payload(pkt *o, const uint8_t *p, const uint8_t *end, uint32_t wire)
{
    o->payload = p;
    o->payload_len = avail(p, end);
    o->payload_wire_len = wire;
    o->truncated = o->payload_len < wire;
}

/* p..end: captured IP payload (already bounded by the IP length); wire: the
 * length the IP header declares for it. */
static decode_result decode_transport(dctx *c, uint8_t proto, const uint8_t *p,
                                      const uint8_t *end, uint32_t wire)
{
    pkt *o = c->out;
    decode_result res = DECODE_OK;
    o->proto = proto;
    switch (proto) {
    case IPP_TCP: {
        if (!need_header(c, p, end, wire, 20, DECODE_R_TCP_HEADER_TOO_SHORT,
                         DECODE_R_TCP_HEADER_TRUNCATED, &res))
            return res;
        uint32_t doff = (uint32_t)(p[12] >> 4) * 4;
        if (doff < 20 || doff > wire)
            return stop(c, DECODE_R_TCP_BAD_DATA_OFFSET);
        if (doff > avail(p, end))
            return stop(c, DECODE_R_TCP_HEADER_TRUNCATED);
        o->sport = get_be16(p);
        o->dport = get_be16(p + 2);
        o->seq = get_be32(p + 4);
        o->ack = get_be32(p + 8);
        o->tcp_flags = p[13];
        o->window = get_be16(p + 14);
        o->tcp_optlen = (uint8_t)(doff - 20);
        tcp_options(c, p + 20, p + doff);
        set_payload(o, p + doff, end, wire - doff);
        return DECODE_OK;
    }
    case IPP_UDP: {
        if (!need_header(c, p, end, wire, 8, DECODE_R_UDP_HEADER_TOO_SHORT,
                         DECODE_R_UDP_HEADER_TRUNCATED, &res))
            return res;
        o->sport = get_be16(p);
        o->dport = get_be16(p + 2);
        /* RFC 768: length covers header and data.  Trust it when it fits
         * inside the IP payload (bytes after it are padding). */
        uint32_t ulen = get_be16(p + 4);
        if (ulen >= 8 && ulen <= wire) {
            wire = ulen;
            if (ulen < avail(p, end))
                end = p + ulen;
        } else {
            note(c, DECODE_R_UDP_BAD_LENGTH);
        }
        set_payload(o, p + 8, end, wire - 8);
        return DECODE_OK;
    }
    case IPP_SCTP: /* RFC 9260 3.1: 12-byte common header */
        if (!need_header(c, p, end, wire, 12, DECODE_R_SCTP_HEADER_TOO_SHORT,
                         DECODE_R_SCTP_HEADER_TRUNCATED, &res))
            return res;
        o->sport = get_be16(p);
        o->dport = get_be16(p + 2);
        set_payload(o, p + 12, end, wire - 12);
        return DECODE_OK;
    case IPP_ICMP:   /* RFC 792: type, code, checksum, 4 more bytes */
    case IPP_ICMPV6: /* RFC 4443 2.1 */
        if (!need_header(c, p, end, wire, 8, DECODE_R_ICMP_HEADER_TOO_SHORT,
                         DECODE_R_ICMP_HEADER_TRUNCATED, &res))
            return res;
        o->is_icmp = true;
        o->icmp_type = p[0];
        o->icmp_code = p[1];
        o->sport = p[0];
        o->dport = p[1];
        set_payload(o, p + 8, end, wire - 8);
        return DECODE_OK;
    default:
        set_payload(o, p, end, wire);
        return DECODE_OK;
    }
}

/* ---- IP ------------------------------------------------------------------ */

static decode_result decode_ip(dctx *c, int want_version, const uint8_t *p, const uint8_t *end,
                               uint32_t wire);

/* The payload of an IP header: another IP header (tunnel) or a transport. */
static decode_result decode_ip_payload(dctx *c, uint8_t proto, const uint8_t *p,
                                       const uint8_t *end, uint32_t wire)
{
    if (proto == IPP_IPIP || proto == IPP_IPV6) {
        if (c->ip_depth > c->d->max_tunnel)
            return stop(c, DECODE_R_TUNNEL_TOO_DEEP);
        c->out->tunnel_depth++;
        return decode_ip(c, proto == IPP_IPIP ? 4 : 6, p, end, wire);
    }
    return decode_transport(c, proto, p, end, wire);
}

/* Offers a fragment to the table; on completion *dg is the datagram. */
static decode_result reassemble(dctx *c, const ipfrag_key *key, uint8_t proto, uint32_t offset,
                                const uint8_t *p, const uint8_t *end, uint32_t wire, bool more,
                                ipfrag_datagram *dg)
{
    if (!c->d->reassemble)
        return stop(c, DECODE_R_FRAG_NOT_REASSEMBLED);
    if (wire > avail(p, end))
        return stop(c, DECODE_R_FRAG_TRUNCATED);
    ipfrag_event why = IPFRAG_EV_COUNT;
    ipfrag_result r = ipfrag_insert(c->d->frag, key, proto, offset, p, wire, more, c->ts_us, dg,
                                    &why, NULL);
    sync_frag_stats(c->d, c->out);
    if (r == IPFRAG_HELD)
        return DECODE_HELD;
    if (r == IPFRAG_DROPPED) {
        /* Already counted by sync_frag_stats. */
        c->out->error = frag_event_reason[why < IPFRAG_EV_COUNT ? why : IPFRAG_EV_MEMCAP];
        /* a malformed fragment is an error; one dropped by a cap (memcap,
         * table full) is a datagram not followed: DECODE_ERROR names ERROR
         * reasons only (decode.h) */
        return decode_reason_kind(c->out->error) == DECODE_KIND_ERROR ? DECODE_ERROR : DECODE_SKIP;
    }
    c->out->reassembled = true;
    return DECODE_OK;
}

/* RFC 791 3.1 */
static decode_result decode_ipv4(dctx *c, const uint8_t *p, const uint8_t *end, uint32_t wire)
{
    pkt *o = c->out;
    if (wire < 20)
        return stop(c, DECODE_R_IP_HEADER_TOO_SHORT);
    if (20 > avail(p, end))
        return stop(c, DECODE_R_IP_HEADER_TRUNCATED);
    if (p[0] >> 4 != 4)
        return stop(c, DECODE_R_BAD_IP_VERSION);
    uint32_t ihl = (uint32_t)(p[0] & 0x0f) * 4;
    if (ihl < 20)
        return stop(c, DECODE_R_IPV4_BAD_IHL);
    if (ihl > wire)
        return stop(c, DECODE_R_IP_HEADER_TOO_SHORT);
    if (ihl > avail(p, end))
        return stop(c, DECODE_R_IP_HEADER_TRUNCATED);
    uint32_t total = get_be16(p + 2);
    if (total == 0) {
        /* Linux captures of TSO/GSO segments carry total length 0. */
        note(c, DECODE_R_IPV4_TOTAL_LENGTH_ZERO);
        total = wire > 65535 ? 65535 : wire;
    }
    if (total < ihl)
        return stop(c, DECODE_R_IP_TOTAL_LENGTH_TOO_SHORT);
    if (total > wire)
        return stop(c, DECODE_R_IP_TOTAL_LENGTH_TOO_LONG);
    if (total < avail(p, end))
        end = p + total;    /* drop link-layer padding / trailers */

    o->ip_version = 4;
    memset(o->src, 0, sizeof o->src);
    memset(o->dst, 0, sizeof o->dst);
    memcpy(o->src, p + 12, 4);
    memcpy(o->dst, p + 16, 4);
    o->ttl = p[8];
    uint8_t proto = p[9];
    uint16_t fl = get_be16(p + 6);
    bool more = (fl & 0x2000u) != 0;
    uint32_t offset = (uint32_t)(fl & 0x1fffu) * 8;
    const uint8_t *l4 = p + ihl;
    uint32_t l4wire = total - ihl;
    if (more || offset) {
        ipfrag_key key;
        memset(&key, 0, sizeof key);
        key.ip_version = 4;
        key.proto = proto;
        memcpy(key.src, p + 12, 4);
        memcpy(key.dst, p + 16, 4);
        key.id = get_be16(p + 4);
        ipfrag_datagram dg;
        decode_result r = reassemble(c, &key, proto, offset, l4, end, l4wire, more, &dg);
        if (r != DECODE_OK)
            return r;
        return decode_ip_payload(c, dg.proto, dg.data, dg.data + dg.len, dg.len);
    }
    return decode_ip_payload(c, proto, l4, end, l4wire);
}

/* RFC 8200 3, 4 */
static decode_result decode_ipv6(dctx *c, const uint8_t *p, const uint8_t *end, uint32_t wire)
{
    pkt *o = c->out;
    if (wire < 40)
        return stop(c, DECODE_R_IP_HEADER_TOO_SHORT);
    if (40 > avail(p, end))
        return stop(c, DECODE_R_IP_HEADER_TRUNCATED);
    if (p[0] >> 4 != 6)
        return stop(c, DECODE_R_BAD_IP_VERSION);
    uint32_t plen = get_be16(p + 4);
    uint8_t nh = p[6];
    if (plen == 0 && nh != 59) {
        /* RFC 2675 jumbogram, or an offloaded segment: use the frame. */
        note(c, DECODE_R_IPV6_PAYLOAD_LENGTH_ZERO);
        plen = wire - 40;
    }
    if (plen > wire - 40)
        return stop(c, DECODE_R_IP_TOTAL_LENGTH_TOO_LONG);
    if (40 + plen < avail(p, end))
        end = p + 40 + plen;

    o->ip_version = 6;
    memcpy(o->src, p + 8, 16);
    memcpy(o->dst, p + 24, 16);
    o->ttl = p[7];
    const uint8_t *q = p + 40;
    uint32_t qwire = plen;
    for (unsigned n = 0;; n++) {
        if (n > DECODE_MAX_IPV6_EXT)
            return stop(c, DECODE_R_IPV6_TOO_MANY_EXT_HEADERS);
        uint32_t hl;
        switch (nh) {
        case IPP_HOPOPTS:
        case IPP_ROUTING:
        case IPP_DSTOPTS:
        case IPP_AH:
            if (qwire < 8)
                return stop(c, DECODE_R_IPV6_EXT_HEADER_BAD_LENGTH);
            if (8 > avail(q, end))
                return stop(c, DECODE_R_IPV6_EXT_HEADER_TRUNCATED);
            /* RFC 8200 4.3: (Hdr Ext Len + 1) * 8; RFC 4302 2.2: AH is
             * (Payload Len + 2) * 4. */
            hl = nh == IPP_AH ? ((uint32_t)q[1] + 2) * 4 : ((uint32_t)q[1] + 1) * 8;
            if (hl > qwire)
                return stop(c, DECODE_R_IPV6_EXT_HEADER_BAD_LENGTH);
            if (hl > avail(q, end))
                return stop(c, DECODE_R_IPV6_EXT_HEADER_TRUNCATED);
            nh = q[0];
            q += hl;
            qwire -= hl;
            continue;
        case IPP_FRAG: {
            /* RFC 8200 4.5: next header, reserved, offset(13)|res(2)|M, id */
            if (qwire < 8)
                return stop(c, DECODE_R_IPV6_EXT_HEADER_BAD_LENGTH);
            if (8 > avail(q, end))
                return stop(c, DECODE_R_IPV6_EXT_HEADER_TRUNCATED);
            uint8_t fnh = q[0];
            uint16_t fo = get_be16(q + 2);
            uint32_t offset = fo & 0xfff8u;
            bool more = (fo & 1u) != 0;
            uint32_t id = get_be32(q + 4);
            q += 8;
            qwire -= 8;
            nh = fnh;
            if (offset == 0 && !more)
                continue; /* RFC 6946 atomic fragment: no reassembly */
            ipfrag_key key;
            memset(&key, 0, sizeof key);
            key.ip_version = 6;
            memcpy(key.src, p + 8, 16);
            memcpy(key.dst, p + 24, 16);
            key.id = id;
            ipfrag_datagram dg;
            decode_result r = reassemble(c, &key, fnh, offset, q, end, qwire, more, &dg);
            if (r != DECODE_OK)
                return r;
            q = dg.data;
            end = dg.data + dg.len;
            qwire = dg.len;
            nh = dg.proto;
            continue;
        }
        default:
            return decode_ip_payload(c, nh, q, end, qwire);
        }
    }
}

/* want_version: 4 or 6, or 0 to take it from the version nibble. */
static decode_result decode_ip(dctx *c, int want_version, const uint8_t *p, const uint8_t *end,
                               uint32_t wire)
{
    c->ip_depth++;
    if (want_version == 0) {
        if (1 > avail(p, end))
            return stop(c, wire ? DECODE_R_IP_HEADER_TRUNCATED : DECODE_R_IP_HEADER_TOO_SHORT);
        want_version = p[0] >> 4;
        if (want_version != 4 && want_version != 6)
            return stop(c, DECODE_R_BAD_IP_VERSION);
    }
    return want_version == 4 ? decode_ipv4(c, p, end, wire) : decode_ipv6(c, p, end, wire);
}

/* ---- link layers --------------------------------------------------------- */

/* RFC 3032 2.1: label(20) TC(3) S(1) TTL(8); the payload type is not
 * signalled, so peek at the IP version nibble. */
static decode_result decode_mpls(dctx *c, const uint8_t *p, const uint8_t *end, uint32_t wire)
{
    for (unsigned n = 0;; n++) {
        if (n >= c->d->max_mpls)
            return stop(c, DECODE_R_MPLS_TOO_DEEP);
        if (4 > avail(p, end))
            return stop(c, DECODE_R_MPLS_HEADER_TRUNCATED);
        bool bottom = (p[2] & 1) != 0;
        p += 4;
        wire -= 4;
        if (bottom)
            break;
    }
    if (1 > avail(p, end))
        return stop(c, wire ? DECODE_R_MPLS_HEADER_TRUNCATED : DECODE_R_MPLS_NOT_IP);
    unsigned v = p[0] >> 4;
    if (v != 4 && v != 6)
        return stop(c, DECODE_R_MPLS_NOT_IP);
    return decode_ip(c, (int)v, p, end, wire);
}

static decode_result decode_ethertype(dctx *c, uint16_t type, const uint8_t *p, const uint8_t *end,
                                      uint32_t wire)
{
    pkt *o = c->out;
    for (;;) {
        switch (type) {
        case ETH_VLAN:
        case ETH_QINQ:
        case ETH_QINQ_OLD:
            /* IEEE 802.1Q: TCI(16) then the next ethertype */
            if (c->vlan_depth >= c->d->max_vlan)
                return stop(c, DECODE_R_VLAN_TOO_DEEP);
            if (4 > avail(p, end))
                return stop(c, DECODE_R_VLAN_HEADER_TRUNCATED);
            if (o->vlan_count < 2)
                o->vlan[o->vlan_count] = get_be16(p) & 0x0fffu;
            if (o->vlan_count < UINT8_MAX)
                o->vlan_count++;
            c->vlan_depth++;
            type = get_be16(p + 2);
            p += 4;
            wire -= 4;
            continue;
        case ETH_PPPOE_S: {
            /* RFC 2516 4: ver/type(8)=0x11 code(8)=0 session(16) length(16),
             * then the PPP protocol (RFC 1661 2). */
            if (8 > avail(p, end))
                return stop(c, DECODE_R_PPPOE_HEADER_TRUNCATED);
            uint32_t len = get_be16(p + 4);
            if (p[0] != 0x11 || p[1] != 0 || len < 2 || len > wire - 6)
                return stop(c, DECODE_R_PPPOE_BAD_HEADER);
            uint16_t proto = get_be16(p + 6);
            if (len + 6 < avail(p, end))
                end = p + 6 + len;
            wire = len - 2;
            p += 8;
            if (proto == PPP_IPV4)
                return decode_ip(c, 4, p, end, wire);
            if (proto == PPP_IPV6)
                return decode_ip(c, 6, p, end, wire);
            return stop(c, DECODE_R_PPP_NOT_IP);
        }
        case ETH_MPLS_UC:
        case ETH_MPLS_MC:
            return decode_mpls(c, p, end, wire);
        case ETH_IPV4:
            return decode_ip(c, 4, p, end, wire);
        case ETH_IPV6:
            return decode_ip(c, 6, p, end, wire);
        default:
            return stop(c, DECODE_R_NOT_IP);
        }
    }
}

/* BSD loopback address families: AF_INET is 2 everywhere; AF_INET6 is 10
 * (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS). */
static decode_result decode_loop_family(dctx *c, uint32_t fam, const uint8_t *p,
                                        const uint8_t *end, uint32_t wire)
{
    switch (fam) {
    case 2:
        return decode_ip(c, 4, p, end, wire);
    case 10:
    case 24:
    case 28:
    case 30:
        return decode_ip(c, 6, p, end, wire);
    default:
        return stop(c, DECODE_R_LOOPBACK_FAMILY_UNKNOWN);
    }
}

static decode_result decode_link(dctx *c, int linktype, const uint8_t *p, const uint8_t *end,
                                 uint32_t wire)
{
    switch (linktype) {
    case DECODE_LINK_EN10MB:
        if (14 > avail(p, end))
            return stop(c, DECODE_R_TRUNCATED_LINK_HEADER);
        return decode_ethertype(c, get_be16(p + 12), p + 14, end, wire - 14);
    case DECODE_LINK_SLL:
        /* pkttype(16) hatype(16) halen(16) addr(8 bytes) protocol(16) */
        if (16 > avail(p, end))
            return stop(c, DECODE_R_TRUNCATED_LINK_HEADER);
        return decode_ethertype(c, get_be16(p + 14), p + 16, end, wire - 16);
    case DECODE_LINK_SLL2:
        /* protocol(16) reserved(16) ifindex(32) hatype(16) pkttype(8)
         * halen(8) addr(8 bytes) */
        if (20 > avail(p, end))
            return stop(c, DECODE_R_TRUNCATED_LINK_HEADER);
        return decode_ethertype(c, get_be16(p), p + 20, end, wire - 20);
    case DECODE_LINK_NULL: {
        /* Host byte order of the capturing machine: a family fits in 16
         * bits, so zero high bytes tell big-endian. */
        if (4 > avail(p, end))
            return stop(c, DECODE_R_TRUNCATED_LINK_HEADER);
        uint32_t fam = (p[0] == 0 && p[1] == 0) ? get_be32(p) : get_le32(p);
        return decode_loop_family(c, fam, p + 4, end, wire - 4);
    }
    case DECODE_LINK_LOOP:
        if (4 > avail(p, end))
            return stop(c, DECODE_R_TRUNCATED_LINK_HEADER);
        return decode_loop_family(c, get_be32(p), p + 4, end, wire - 4);
    case DECODE_LINK_RAW:
    case DECODE_LINK_RAW_BSD:
    case DECODE_LINK_RAW_LT:
        return decode_ip(c, 0, p, end, wire);
    case DECODE_LINK_IPV4:
        return decode_ip(c, 4, p, end, wire);
    case DECODE_LINK_IPV6:
        return decode_ip(c, 6, p, end, wire);
    default:
        return stop(c, DECODE_R_UNSUPPORTED_LINKTYPE);
    }
}

/* ---- public -------------------------------------------------------------- */

int decoder_init(decoder *d, const decode_config *config, char *errbuf, size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->max_vlan = config && config->max_vlan ? config->max_vlan : DECODE_DEFAULT_MAX_VLAN;
    d->max_mpls = config && config->max_mpls ? config->max_mpls : DECODE_DEFAULT_MAX_MPLS;
    d->max_tunnel = config && config->max_tunnel ? config->max_tunnel : DECODE_DEFAULT_MAX_TUNNEL;
    d->reassemble = !(config && config->no_reassembly);
    if (d->max_tunnel > IPFRAG_MAX_COMPLETED - 2) {
        /* Each nesting level may hold one completed datagram. */
        if (errbuf)
            snprintf(errbuf, errlen, "decode: max_tunnel %u above %u", d->max_tunnel,
                     IPFRAG_MAX_COMPLETED - 2);
        return -1;
    }
    d->frag = ipfrag_table_new(config ? &config->frag : NULL, errbuf, errlen);
    return d->frag ? 0 : -1;
}

void decoder_free(decoder *d)
{
    ipfrag_table_free(d->frag);
    d->frag = NULL;
}

decode_result decode_packet(decoder *d, int linktype, const uint8_t *data, uint32_t caplen,
                            uint32_t wirelen, uint64_t ts_us, pkt *out)
{
    memset(out, 0, sizeof *out);
    out->ts_us = ts_us;
    out->error = DECODE_R_NONE;
    d->stats.packets++;
    ipfrag_release_completed(d->frag);
    if (ipfrag_in_flight(d->frag)) {
        ipfrag_expire(d->frag, ts_us);
        sync_frag_stats(d, NULL);
    }
    dctx c = {.d = d, .out = out, .ts_us = ts_us};
    uint32_t wire = wirelen > caplen ? wirelen : caplen;
    decode_result r = decode_link(&c, linktype, data, data + caplen, wire);
    switch (r) {
    case DECODE_OK:
        d->stats.ok++;
        break;
    case DECODE_HELD:
        d->stats.held++;
        break;
    case DECODE_SKIP:
        d->stats.skipped++;
        break;
    case DECODE_ERROR:
        d->stats.errors++;
        break;
    }
    return r;
}

void decoder_expire(decoder *d, uint64_t now_us)
{
    ipfrag_expire(d->frag, now_us);
    sync_frag_stats(d, NULL);
}

const decode_stats *decoder_stats(const decoder *d)
{
    return &d->stats;
}

const char *decode_reason_name(decode_reason r)
{
    return (unsigned)r < DECODE_REASON_COUNT ? reason_table[r].name : "unknown";
}

const char *decode_reason_description(decode_reason r)
{
    return (unsigned)r < DECODE_REASON_COUNT ? reason_table[r].desc : "unknown";
}

decode_kind decode_reason_kind(decode_reason r)
{
    return (unsigned)r < DECODE_REASON_COUNT ? reason_table[r].kind : DECODE_KIND_ERROR;
}

decode_reason decode_reason_from_name(const char *name)
{
    for (unsigned i = 0; i < DECODE_REASON_COUNT; i++)
        if (strcmp(reason_table[i].name, name) == 0)
            return (decode_reason)i;
    return DECODE_R_NONE;
}

const char *decode_result_name(decode_result r)
{
    switch (r) {
    case DECODE_OK:
        return "ok";
    case DECODE_HELD:
        return "held";
    case DECODE_SKIP:
        return "skip";
    case DECODE_ERROR:
        return "error";
    }
    return "unknown";
}
