/*
 * flow_id.h - the "flow_id" of the JSON events (issue 14, item 2): one
 * 64-bit number per connection, like Suricata's EVE flow_id, that links
 * a connection's events and differs across runs and sensors.
 *
 * flow_id = SipHash-2-4 under a per-run key of (IP version, the two
 * endpoints in a canonical order, the flow's first timestamp, the number
 * of the frame that started it), kept to its low 53 bits, never 0.
 *
 * Why 53 bits and not Suricata's int64: a JSON number above 2^53 loses
 * precision in every consumer that reads numbers as IEEE doubles
 * (JavaScript, jq 1.6, Kibana's browser side, many Python pipelines
 * through pandas): two flows would seem to share an id.  53 bits keep
 * collisions rare (about n^2 / 2^54: 1 in 18,000 for a million flows of
 * one run; the first timestamp and frame number make ids of one run
 * unique unless the hashes collide).
 *
 * The key comes from --flow-id-seed N (reproducible: the tests and
 * goldens pass one), else from getrandom(2) once per run.
 */
#ifndef IMAPSCOPE_FLOW_ID_H
#define IMAPSCOPE_FLOW_ID_H

#include <stdbool.h>
#include <stdint.h>

#include "flow.h"

#define FLOW_ID_MAX ((UINT64_C(1) << 53) - 1)

/* The 16-byte SipHash key of a seed (splitmix64 of it, twice): every seed,
 * 0 included, gives a different key. */
void flow_id_key_from_seed(uint8_t key[16], uint64_t seed);

/* A random 64-bit seed from getrandom(2) (the time and pid mixed in when
 * that fails). */
uint64_t flow_id_random_seed(void);

/* The flow_id of f (its addresses, ports, first_ts_us and id, the frame
 * that started it), in [1, FLOW_ID_MAX].  The same whichever side is the
 * client (the endpoints are ordered first): it can be made before the
 * orientation is known. */
uint64_t flow_id_make(const uint8_t key[16], const flow *f);

#endif /* IMAPSCOPE_FLOW_ID_H */
