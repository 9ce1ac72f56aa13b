/*
 * community_id: Community ID v1.  See community_id.h and SPECS.md section 1.
 */
#include "community_id.h"

#include <string.h>

#include <openssl/evp.h>

#include "imap_util.h"

#define IPP_ICMP   1
#define IPP_TCP    6
#define IPP_UDP    17
#define IPP_ICMPV6 58
#define IPP_SCTP   132

/* SPECS.md 1.4: request/reply counterparts; -1 when the type has none. */
static int icmp4_counterpart(uint16_t type)
{
    switch (type) {
    case 8: return 0;    /* echo */
    case 0: return 8;
    case 13: return 14;  /* timestamp */
    case 14: return 13;
    case 15: return 16;  /* information */
    case 16: return 15;
    case 10: return 9;   /* router solicitation / advertisement */
    case 9: return 10;
    case 17: return 18;  /* address mask */
    case 18: return 17;
    default: return -1;
    }
}

static int icmp6_counterpart(uint16_t type)
{
    switch (type) {
    case 128: return 129;  /* echo */
    case 129: return 128;
    case 133: return 134;  /* router solicitation / advertisement */
    case 134: return 133;
    case 135: return 136;  /* neighbor solicitation / advertisement */
    case 136: return 135;
    case 130: return 131;  /* MLD query / report */
    case 131: return 130;
    case 139: return 140;  /* node information query / reply */
    case 140: return 139;
    case 144: return 145;  /* home agent address discovery */
    case 145: return 144;
    default: return -1;
    }
}

static int fail(char *out, size_t outlen)
{
    if (outlen > 0)
        out[0] = '\0';
    return -1;
}

int community_id_v1_tuple(uint8_t ip_version, const uint8_t *src, const uint8_t *dst,
                          uint8_t proto, uint16_t sport, uint16_t dport, uint16_t seed,
                          bool base64, char *out, size_t outlen)
{
    size_t alen;
    if (ip_version == 4)
        alen = 4;
    else if (ip_version == 6)
        alen = 16;
    else
        return fail(out, outlen);

    bool has_ports = proto == IPP_TCP || proto == IPP_UDP || proto == IPP_SCTP ||
                     proto == IPP_ICMP || proto == IPP_ICMPV6;
    bool one_way = false;
    if (proto == IPP_ICMP || proto == IPP_ICMPV6) {
        int peer = proto == IPP_ICMP ? icmp4_counterpart(sport) : icmp6_counterpart(sport);
        if (peer >= 0)
            dport = (uint16_t)peer;  /* sport stays the type */
        else
            one_way = true;          /* (type, code), direction kept */
    }

    /* SPECS.md 1.1: order by address, then port. */
    int cmp = memcmp(src, dst, alen);
    bool swap = !one_way && (cmp > 0 || (cmp == 0 && has_ports && sport > dport));
    const uint8_t *a = swap ? dst : src, *b = swap ? src : dst;
    uint16_t pa = swap ? dport : sport, pb = swap ? sport : dport;

    uint8_t in[2 + 16 + 16 + 2 + 4];
    size_t n = 0;
    in[n++] = (uint8_t)(seed >> 8);
    in[n++] = (uint8_t)seed;
    memcpy(in + n, a, alen);
    n += alen;
    memcpy(in + n, b, alen);
    n += alen;
    in[n++] = proto;
    in[n++] = 0;
    if (has_ports) {
        in[n++] = (uint8_t)(pa >> 8);
        in[n++] = (uint8_t)pa;
        in[n++] = (uint8_t)(pb >> 8);
        in[n++] = (uint8_t)pb;
    }

    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(in, n, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
        return fail(out, outlen);

    size_t need = base64 ? 2 + 28 + 1 : 2 + 40 + 1;
    if (outlen < need)
        return fail(out, outlen);
    out[0] = '1';
    out[1] = ':';
    if (base64) {
        /* 28 characters and a NUL for 20 bytes. */
        imapi_base64_encode(md, 20, out + 2, outlen - 2);
    } else {
        imapi_hex_encode(md, 20, out + 2);
    }
    return (int)(need - 1);
}

int community_id_v1(const pkt *p, uint16_t seed, bool base64, char *out, size_t outlen)
{
    return community_id_v1_tuple(p->ip_version, p->src, p->dst, p->proto, p->sport, p->dport,
                                 seed, base64, out, outlen);
}
