/*
 * ipfrag: IPv4 and IPv6 fragment reassembly.
 *
 * A table of datagrams in flight, keyed by (IP version, src, dst, id, proto)
 * (RFC 791 3.2 for IPv4; RFC 8200 4.5 for IPv6, where the protocol is not
 * part of the key and the Next Header of the offset-zero fragment names the
 * reassembled payload).  Each datagram keeps one buffer and a sorted list of
 * the byte ranges received; holes are the gaps between them.
 *
 * Overlaps: the first bytes received win (what most end hosts do since
 * RFC 5722 forbids overlaps for IPv6).  An overlap whose bytes differ from
 * what is already held is the event IPFRAG_EV_OVERLAP; an identical
 * overlap (a duplicate) is only counted in the stats.
 *
 * Caps, all fixed when the table is made: datagrams in flight, bytes held in
 * total (buffer capacity, summed over datagrams), ranges per datagram, the
 * maximum datagram size (65535) and a timeout counted from the first
 * fragment.  Reaching a cap is an event and a counter, and the oldest
 * datagram is dropped to make room.
 *
 * The hash is SipHash-2-4 with a key drawn at creation (getrandom), so
 * crafted keys cannot pile into one bucket.
 *
 * Event names and descriptions live in the decoder's reason table
 * (decode.h, frag_*); this header only numbers them.
 */
#ifndef IMAPSCOPE_IPFRAG_H
#define IMAPSCOPE_IPFRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "limits.h" /* defaults and caps of this module */

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults and caps (IPFRAG_DEFAULT_*, IPFRAG_MAX_*): src/limits.h. */

/* Events.  IPFRAG_EV_COUNT is the sentinel. */
typedef enum ipfrag_event {
    IPFRAG_EV_OVERLAP = 0,   /* overlap with different bytes (first kept) */
    IPFRAG_EV_TOO_MANY,      /* datagram cap reached, oldest dropped */
    IPFRAG_EV_MEMCAP,        /* byte cap reached, oldest (or this) dropped */
    IPFRAG_EV_TIMEOUT,       /* datagram incomplete at its timeout, dropped */
    IPFRAG_EV_TOO_BIG,       /* fragment ends beyond IPFRAG_MAX_DATAGRAM */
    IPFRAG_EV_BAD_LENGTH,    /* non-final fragment not a multiple of 8 / empty */
    IPFRAG_EV_INCONSISTENT,  /* data beyond the final fragment's end, or two ends */
    IPFRAG_EV_TOO_MANY_HOLES,/* more than IPFRAG_MAX_RANGES ranges */
    IPFRAG_EV_COUNT
} ipfrag_event;

typedef struct ipfrag_config {
    uint32_t max_datagrams;  /* 0: IPFRAG_DEFAULT_MAX_DATAGRAMS */
    uint32_t max_bytes;      /* 0: IPFRAG_DEFAULT_MAX_BYTES */
    uint64_t timeout_us;     /* 0: IPFRAG_DEFAULT_TIMEOUT_US */
    /* Non-zero: use this hash key instead of a random one (tests only). */
    uint64_t fixed_seed;
} ipfrag_config;

typedef struct ipfrag_key {
    uint8_t  ip_version;     /* 4 or 6 */
    uint8_t  proto;          /* IPv4 protocol; 0 for IPv6 */
    uint8_t  src[16], dst[16];  /* IPv4 in the first 4 bytes, rest zero */
    uint32_t id;             /* IPv4 16-bit id or IPv6 32-bit id */
} ipfrag_key;

typedef struct ipfrag_stats {
    uint64_t fragments;      /* fragments offered */
    uint64_t reassembled;    /* datagrams completed */
    uint64_t duplicates;     /* overlaps with identical bytes */
    uint64_t datagrams_in_flight;
    uint64_t bytes_held;
    uint64_t events[IPFRAG_EV_COUNT];
} ipfrag_stats;

typedef enum ipfrag_result {
    IPFRAG_HELD = 0,         /* stored, datagram not complete yet */
    IPFRAG_COMPLETE,         /* *out is the whole datagram */
    IPFRAG_DROPPED           /* fragment refused; *drop_reason says why */
} ipfrag_result;

/* A completed datagram.  data belongs to the table and stays valid until the
 * next ipfrag_release_completed() or ipfrag_table_free(). */
typedef struct ipfrag_datagram {
    const uint8_t *data;
    uint32_t len;
    uint8_t  proto;          /* protocol of the payload (IPv6: from offset 0) */
} ipfrag_datagram;

typedef struct ipfrag_table ipfrag_table;

/* Makes a table.  cfg may be NULL (all defaults).  Returns NULL on failure
 * with a message in errbuf (if non-NULL).  Free with ipfrag_table_free(). */
ipfrag_table *ipfrag_table_new(const ipfrag_config *cfg, char *errbuf, size_t errlen);

/* Frees the table, every held datagram and every completed buffer. */
void ipfrag_table_free(ipfrag_table *t);

/*
 * Offers one fragment: `len` bytes of `data` at byte `offset` of the
 * datagram's fragmentable part; `more` is the MF / M flag; `first_proto` is
 * the protocol carried (used from the offset-0 fragment).  `data` is copied;
 * the caller keeps ownership.  Expires timed-out datagrams first (now_us).
 * Returns IPFRAG_COMPLETE with *out set when this fragment completes its
 * datagram, IPFRAG_HELD when it was stored, IPFRAG_DROPPED (reason in
 * *drop_reason, which may be NULL) when it was refused.  Events raised by
 * this call (including drops of other datagrams) are OR-ed as bits
 * (1u << ev) into *events if events is non-NULL; they are also counted in
 * the stats.
 */
ipfrag_result ipfrag_insert(ipfrag_table *t, const ipfrag_key *key, uint8_t first_proto,
                            uint32_t offset, const uint8_t *data, uint32_t len, bool more,
                            uint64_t now_us, ipfrag_datagram *out, ipfrag_event *drop_reason,
                            unsigned *events);

/* Drops every datagram whose first fragment is older than the timeout
 * (IPFRAG_EV_TIMEOUT each).  Returns how many were dropped. */
unsigned ipfrag_expire(ipfrag_table *t, uint64_t now_us);

/* Frees the buffers of datagrams completed since the last call; their
 * ipfrag_datagram.data pointers become invalid. */
void ipfrag_release_completed(ipfrag_table *t);

/* Number of datagrams in flight (cheap; lets callers skip ipfrag_expire). */
uint32_t ipfrag_in_flight(const ipfrag_table *t);

/* Counters; the pointer stays valid for the table's life. */
const ipfrag_stats *ipfrag_table_stats(const ipfrag_table *t);

#ifdef __cplusplus
}
#endif
#endif /* IMAPSCOPE_IPFRAG_H */
