/*
 * decode: one captured frame, from the libpcap link layer down to a decoded
 * TCP / UDP / SCTP / ICMP / ICMPv6 view (struct pkt).
 *
 * Link types: Ethernet (DLT_EN10MB) with 802.1Q / 802.1ad / 0x9100 VLAN tags
 * stacked up to a cap, PPPoE session and MPLS; Linux cooked v1 and v2;
 * DLT_NULL (host byte order, both accepted) and DLT_LOOP; raw IP (12, 14,
 * 101) and LINKTYPE_IPV4 / LINKTYPE_IPV6.  Network: IPv4 with options and
 * fragment reassembly (ipfrag.h), IPv6 with extension headers (hop-by-hop,
 * routing, destination options, fragment, AH), IP-in-IP in any mix of
 * versions (protocols 4 and 41) up to a depth cap; pkt describes the
 * innermost IP header.
 *
 * Lengths: the transport payload is bounded by the IP total / payload length
 * AND by the bytes captured, so Ethernet padding never becomes payload and
 * a snaplen cut shows as truncated = true with payload_wire_len telling the
 * declared size.
 *
 * Transports: TCP (options bounds-checked: MSS, window scale, SACK,
 * timestamps), UDP, SCTP (ports), ICMP / ICMPv6 (type, code; an error's
 * quoted packet is not followed).  Any other IP protocol (GRE, ESP, OSPF,
 * RSVP, ...) still decodes as DECODE_OK with proto set, ports 0 and the IP
 * payload as payload, so Community ID and statistics can use it; callers
 * filter on proto.  Not decoded (skipped as not_ip): ARP, LLC/SNAP, LLDP,
 * NSH, Cisco MetaData and every other ethertype.
 *
 * Reasons (errors, skips, anomalies) are one X-macro table below; the decoder
 * counts each in decode_stats.
 *
 * Threading: a decoder is used by one thread at a time.
 */
#ifndef IMAPSCOPE_DECODE_H
#define IMAPSCOPE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipfrag.h"
#include "limits.h" /* defaults and caps of this module */

#ifdef __cplusplus
extern "C" {
#endif

/* Link types accepted by decode_packet (libpcap DLT_ / LINKTYPE_ values). */
#define DECODE_LINK_NULL     0
#define DECODE_LINK_EN10MB   1
#define DECODE_LINK_RAW      12   /* DLT_RAW on most systems */
#define DECODE_LINK_RAW_BSD  14   /* DLT_RAW on OpenBSD / BSD/OS */
#define DECODE_LINK_RAW_LT   101  /* LINKTYPE_RAW in files */
#define DECODE_LINK_LOOP     108
#define DECODE_LINK_SLL      113
#define DECODE_LINK_IPV4     228
#define DECODE_LINK_IPV6     229
#define DECODE_LINK_SLL2     276

/* Defaults for decode_config (DECODE_DEFAULT_*): src/limits.h. */

/* Kinds of reasons. */
typedef enum decode_kind {
    DECODE_KIND_ERROR = 0,   /* the packet is malformed; decode_packet returned DECODE_ERROR */
    DECODE_KIND_SKIP,        /* not something we follow (ARP, ...); DECODE_SKIP */
    DECODE_KIND_ANOMALY      /* noted and counted; the packet still decodes (or is held) */
} decode_kind;

/*
 * X(ENUM, name, kind, description).  Names are stable: they appear in the
 * JSON statistics.  Add at the end of a group; never rename.
 */
#define DECODE_REASONS(X)                                                                        \
    X(TRUNCATED_LINK_HEADER, "truncated_link_header", ERROR, "frame shorter than its link-layer header") \
    X(UNSUPPORTED_LINKTYPE, "unsupported_linktype", ERROR, "link type not decoded")              \
    X(VLAN_HEADER_TRUNCATED, "vlan_header_truncated", ERROR, "802.1Q/802.1ad tag cut short")     \
    X(VLAN_TOO_DEEP, "vlan_too_deep", ERROR, "more stacked VLAN tags than the cap")              \
    X(PPPOE_HEADER_TRUNCATED, "pppoe_header_truncated", ERROR, "PPPoE session header cut short") \
    X(PPPOE_BAD_HEADER, "pppoe_bad_header", ERROR, "PPPoE version/type/code not 1/1/0 or length beyond the frame") \
    X(MPLS_HEADER_TRUNCATED, "mpls_header_truncated", ERROR, "MPLS label stack cut short")       \
    X(MPLS_TOO_DEEP, "mpls_too_deep", ERROR, "more MPLS labels than the cap")                    \
    X(BAD_IP_VERSION, "bad_ip_version", ERROR, "IP version nibble not the one the link layer announced") \
    X(IP_HEADER_TOO_SHORT, "ip_header_too_short", ERROR, "frame on the wire shorter than the IP header") \
    X(IP_HEADER_TRUNCATED, "ip_header_truncated", ERROR, "capture cut the IP header short")      \
    X(IPV4_BAD_IHL, "ipv4_bad_ihl", ERROR, "IPv4 header length field below 5 words")             \
    X(IP_TOTAL_LENGTH_TOO_SHORT, "ip_total_length_too_short", ERROR, "IPv4 total length smaller than its header") \
    X(IP_TOTAL_LENGTH_TOO_LONG, "ip_total_length_too_long", ERROR, "IP total/payload length beyond the frame on the wire") \
    X(IPV6_EXT_HEADER_TRUNCATED, "ipv6_ext_header_truncated", ERROR, "IPv6 extension header beyond the captured bytes") \
    X(IPV6_EXT_HEADER_BAD_LENGTH, "ipv6_ext_header_bad_length", ERROR, "IPv6 extension header longer than the payload length") \
    X(IPV6_TOO_MANY_EXT_HEADERS, "ipv6_too_many_ext_headers", ERROR, "more IPv6 extension headers than the cap") \
    X(TUNNEL_TOO_DEEP, "tunnel_too_deep", ERROR, "IP-in-IP nested deeper than the cap")          \
    X(FRAG_TRUNCATED, "frag_truncated", ERROR, "capture cut an IP fragment short; cannot reassemble") \
    X(FRAG_TOO_BIG, "frag_too_big", ERROR, "fragment ends beyond 65535 bytes")                   \
    X(FRAG_BAD_LENGTH, "frag_bad_length", ERROR, "non-final fragment empty or not a multiple of 8 bytes") \
    X(FRAG_INCONSISTENT, "frag_inconsistent", ERROR, "fragment beyond the final fragment's end, or two different ends") \
    X(FRAG_TOO_MANY_HOLES, "frag_too_many_holes", ERROR, "datagram scattered into more pieces than the cap; dropped") \
    X(TCP_HEADER_TOO_SHORT, "tcp_header_too_short", ERROR, "IP payload shorter than a TCP header") \
    X(TCP_HEADER_TRUNCATED, "tcp_header_truncated", ERROR, "capture cut the TCP header short")   \
    X(TCP_BAD_DATA_OFFSET, "tcp_bad_data_offset", ERROR, "TCP data offset below 5 or beyond the segment") \
    X(UDP_HEADER_TOO_SHORT, "udp_header_too_short", ERROR, "IP payload shorter than a UDP header") \
    X(UDP_HEADER_TRUNCATED, "udp_header_truncated", ERROR, "capture cut the UDP header short")   \
    X(SCTP_HEADER_TOO_SHORT, "sctp_header_too_short", ERROR, "IP payload shorter than an SCTP common header") \
    X(SCTP_HEADER_TRUNCATED, "sctp_header_truncated", ERROR, "capture cut the SCTP header short") \
    X(ICMP_HEADER_TOO_SHORT, "icmp_header_too_short", ERROR, "IP payload shorter than an ICMP header") \
    X(ICMP_HEADER_TRUNCATED, "icmp_header_truncated", ERROR, "capture cut the ICMP header short") \
    X(NOT_IP, "not_ip", SKIP, "link layer carries something other than IP (ARP, LLC, ...)")      \
    X(LOOPBACK_FAMILY_UNKNOWN, "loopback_family_unknown", SKIP, "DLT_NULL/DLT_LOOP family is not IPv4 or IPv6") \
    X(PPP_NOT_IP, "ppp_not_ip", SKIP, "PPPoE session carries a PPP protocol other than IP")      \
    X(MPLS_NOT_IP, "mpls_not_ip", SKIP, "MPLS payload is not IPv4 or IPv6")                      \
    X(FRAG_NOT_REASSEMBLED, "frag_not_reassembled", SKIP, "IP fragment while reassembly is off") \
    X(IPV4_TOTAL_LENGTH_ZERO, "ipv4_total_length_zero", ANOMALY, "IPv4 total length 0 (segmentation offload); frame length used") \
    X(IPV6_PAYLOAD_LENGTH_ZERO, "ipv6_payload_length_zero", ANOMALY, "IPv6 payload length 0 (jumbogram or offload); frame length used") \
    X(UDP_BAD_LENGTH, "udp_bad_length", ANOMALY, "UDP length field below 8 or beyond the IP payload") \
    X(TCP_OPTION_BAD_LENGTH, "tcp_option_bad_length", ANOMALY, "TCP option length invalid; rest of options ignored") \
    X(FRAG_OVERLAP, "frag_overlap", ANOMALY, "IP fragments overlap with different bytes; first kept") \
    X(FRAG_TOO_MANY, "frag_too_many", ANOMALY, "fragment table full; oldest datagram dropped")   \
    X(FRAG_MEMCAP, "frag_memcap", ANOMALY, "fragment byte cap reached; a datagram dropped")      \
    X(FRAG_TIMEOUT, "frag_timeout", ANOMALY, "datagram incomplete at its timeout; dropped")

typedef enum decode_reason {
#define DECODE_X_ENUM(e, name, kind, desc) DECODE_R_##e,
    DECODE_REASONS(DECODE_X_ENUM)
#undef DECODE_X_ENUM
    DECODE_REASON_COUNT,
    DECODE_R_NONE = DECODE_REASON_COUNT   /* pkt.error when there is none */
} decode_reason;

typedef enum decode_result {
    DECODE_OK = 0,    /* *out filled */
    DECODE_HELD,      /* an IP fragment was stored; nothing to do yet */
    DECODE_SKIP,      /* not IP / not followed; out->error names why (a SKIP reason, or the
                         ANOMALY reason of a cap that dropped a fragmented datagram); counted */
    DECODE_ERROR      /* malformed; out->error names why; counted */
} decode_result;

/* TCP option presence bits (pkt.tcp_opts). */
#define PKT_TCPOPT_MSS       0x01u
#define PKT_TCPOPT_WSCALE    0x02u
#define PKT_TCPOPT_SACK_PERM 0x04u
#define PKT_TCPOPT_TS        0x08u
#define PKT_TCPOPT_SACK      0x10u

/* TCP flag bits (pkt.tcp_flags), RFC 9293 3.1 (+ RFC 3168 ECE/CWR). */
#define PKT_TCP_FIN 0x01u
#define PKT_TCP_SYN 0x02u
#define PKT_TCP_RST 0x04u
#define PKT_TCP_PSH 0x08u
#define PKT_TCP_ACK 0x10u
#define PKT_TCP_URG 0x20u
#define PKT_TCP_ECE 0x40u
#define PKT_TCP_CWR 0x80u

/*
 * One decoded packet.  Pointers (payload) point into the caller's frame or
 * into a reassembled datagram owned by the decoder; both are valid until the
 * next decode_packet() call on the same decoder (and the frame's own life).
 */
typedef struct pkt {
    uint64_t ts_us;
    uint8_t  ip_version;          /* 4 or 6: the innermost IP header */
    uint8_t  src[16], dst[16];    /* IPv4 in the first 4 bytes, rest zero */
    uint8_t  ttl;                 /* TTL / hop limit of the innermost header */
    uint8_t  proto;               /* IP protocol of the transport (6, 17, 1, 58, 132, ...) */
    uint16_t sport, dport;        /* TCP/UDP/SCTP ports; ICMP/ICMPv6: type and code */
    uint8_t  icmp_type, icmp_code;
    bool     is_icmp;
    /* TCP only */
    uint32_t seq, ack;
    uint8_t  tcp_flags;
    uint16_t window;
    uint8_t  tcp_optlen;          /* bytes of options (data offset * 4 - 20) */
    uint8_t  tcp_opts;            /* PKT_TCPOPT_* present */
    uint8_t  wscale;              /* valid with PKT_TCPOPT_WSCALE */
    uint16_t mss;                 /* valid with PKT_TCPOPT_MSS */
    uint32_t ts_val, ts_ecr;      /* valid with PKT_TCPOPT_TS */
    /* transport payload */
    const uint8_t *payload;
    size_t   payload_len;         /* bytes actually present */
    uint32_t payload_wire_len;    /* length the headers declare */
    bool     truncated;           /* payload_len < payload_wire_len */
    /* encapsulation */
    uint16_t vlan[2];             /* first two VLAN ids, outermost first */
    uint8_t  vlan_count;          /* tags seen (may exceed 2) */
    uint8_t  tunnel_depth;        /* IP-in-IP headers above the innermost one */
    bool     reassembled;         /* built from IP fragments */
    decode_reason error;          /* reason for DECODE_SKIP / DECODE_ERROR, else DECODE_R_NONE */
    uint64_t anomalies;           /* bit (1 << reason) for each anomaly noted on this packet */
} pkt;

typedef struct decode_config {
    unsigned max_vlan;            /* 0: DECODE_DEFAULT_MAX_VLAN */
    unsigned max_mpls;            /* 0: DECODE_DEFAULT_MAX_MPLS */
    unsigned max_tunnel;          /* 0: DECODE_DEFAULT_MAX_TUNNEL */
    bool     no_reassembly;       /* true: fragments are skipped (frag_not_reassembled) */
    ipfrag_config frag;           /* caps of the fragment table */
} decode_config;

typedef struct decode_stats {
    uint64_t packets, ok, held, skipped, errors;
    uint64_t reason[DECODE_REASON_COUNT];
} decode_stats;

typedef struct decoder {
    unsigned max_vlan, max_mpls, max_tunnel;
    bool reassemble;
    ipfrag_table *frag;
    uint64_t frag_synced[IPFRAG_EV_COUNT];
    decode_stats stats;
} decoder;

/* Sets up d (config may be NULL for defaults).  Returns 0, or -1 with a
 * message in errbuf.  Release with decoder_free(). */
int decoder_init(decoder *d, const decode_config *config, char *errbuf, size_t errlen);

/* Frees what d owns (the fragment table); d itself is the caller's. */
void decoder_free(decoder *d);

/*
 * Decodes one frame.  data/caplen are the captured bytes, wirelen the
 * original length (pcap_pkthdr.len; a value below caplen is taken as
 * caplen), ts_us the capture time (drives fragment timeouts).  Returns
 * DECODE_OK with *out filled, DECODE_HELD, DECODE_SKIP or DECODE_ERROR with
 * out->error set.  data is only borrowed; out->payload may point into it.
 */
decode_result decode_packet(decoder *d, int linktype, const uint8_t *data, uint32_t caplen,
                            uint32_t wirelen, uint64_t ts_us, pkt *out);

/* Drops incomplete datagrams older than the timeout at now_us (e.g. at the
 * end of a capture with UINT64_MAX), counting frag_timeout. */
void decoder_expire(decoder *d, uint64_t now_us);

/* Counters; valid for d's life. */
const decode_stats *decoder_stats(const decoder *d);

/* Stable snake_case name / one-line description / kind of a reason
 * (static strings; "unknown" for an out-of-range value). */
const char *decode_reason_name(decode_reason r);
const char *decode_reason_description(decode_reason r);
decode_kind decode_reason_kind(decode_reason r);
/* Reverse lookup; returns DECODE_R_NONE if name is not a reason. */
decode_reason decode_reason_from_name(const char *name);
/* "ok", "held", "skip", "error". */
const char *decode_result_name(decode_result r);

#ifdef __cplusplus
}
#endif
#endif /* IMAPSCOPE_DECODE_H */
