/*
 * community_id: Community ID flow hashing, version 1
 * (corelight/community-id-spec; written down in tests/data/SPECS.md section 1).
 *
 *   "1:" + base64(SHA1(u16(seed) || ip_a || ip_b || u8(proto) || 0x00
 *                      [|| u16(port_a) || u16(port_b)]))
 *
 * where (ip_a, port_a) is the smaller endpoint, ports are present only for
 * TCP, UDP, SCTP, ICMP and ICMPv6, and ICMP type/code are mapped to "ports"
 * as Zeek does (request/reply pairs are two-way; other types are one-way and
 * keep their direction).
 */
#ifndef IMAPSCOPE_COMMUNITY_ID_H
#define IMAPSCOPE_COMMUNITY_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest output including the NUL: "1:" + 40 hex digits + NUL (base64 is
 * "1:" + 28 characters). */
#define COMMUNITY_ID_MAX_LEN 43

/*
 * Computes the Community ID of an explicit tuple.  ip_version is 4 or 6; src
 * and dst hold 4 or 16 bytes in network order; for proto 1 / 58 sport is the
 * ICMP type and dport the code, mapped here per the spec.  seed is the
 * Community ID seed (0 by default).  base64 false gives the "1:" + hex
 * variant.  Writes a NUL-terminated string to out (outlen bytes, at least
 * COMMUNITY_ID_MAX_LEN is always enough).  Returns the string length, or -1
 * (out set to "" when outlen > 0) for a bad ip_version, a too-small buffer,
 * or a hashing failure.
 */
int community_id_v1_tuple(uint8_t ip_version, const uint8_t *src, const uint8_t *dst,
                          uint8_t proto, uint16_t sport, uint16_t dport, uint16_t seed,
                          bool base64, char *out, size_t outlen);

/* The same for a decoded packet (its innermost IP header and transport). */
int community_id_v1(const pkt *p, uint16_t seed, bool base64, char *out, size_t outlen);

#ifdef __cplusplus
}
#endif
#endif /* IMAPSCOPE_COMMUNITY_ID_H */
