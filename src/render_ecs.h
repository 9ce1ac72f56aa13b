/*
 * render_ecs.h - the ECS renderer (-T ecs, issue 14): the same typed
 * events as the JSON renderer, written as JSON lines with Elastic Common
 * Schema 8.11 field names.  Internal to the output modules (output.c and
 * render_json.c call it when the output's format is OUT_ECS).
 *
 * One document per event (docs/ecs-fields.md lists every field, its ECS
 * type and where it comes from; tests/data/ecs/ecs-subset.json is the
 * machine-readable copy that tests/scripts/test_ecs.py checks output
 * against):
 *   - ECS fields: @timestamp, ecs.version, event.* (kind, category, type,
 *     action, outcome, dataset, module, severity, duration, start, end),
 *     observer.* (the sensor: --sensor-name), source.* = the IMAP client,
 *     destination.* = the server, network.*, user.name, related.*, and per
 *     event type tls.*, email.*, file.*, rule.*, threat.*, message;
 *   - custom fields: imapscope.* (flow_id, pcap_cnt, pcap_filename: the
 *     envelope of the JSON events) and imap.* (the JSON event's body,
 *     unchanged but for nulls left out: the "imap" event's body is imap.*,
 *     the others' imap.session.*, imap.tls.*, imap.alert.*, imap.email.*,
 *     imap.fileinfo.*, imap.user_summary.*, imap.stats.*; an event type
 *     of no such list goes to imap.<event_type>.*).
 * Null values are left out (Elasticsearch indexes null as missing).
 */
#ifndef IMAPSCOPE_RENDER_ECS_H
#define IMAPSCOPE_RENDER_ECS_H

#include <stdint.h>

#include <jansson.h>

#include "output.h"

#define ECS_VERSION "8.11.0"

/* One event as an ECS document written to o (framed and counted like
 * output_event).  body is borrowed (may be NULL). */
void ecs_event(output *o, const char *event_type, uint64_t ts_us, const out_flow *flow, const json_t *body);

/* The ECS document of one event as a new jansson object (for tests and
 * ecs_event).  host and pcap_filename may be NULL; pcap_cnt 0: none. */
json_t *ecs_document(const char *event_type, uint64_t ts_us, const out_flow *flow, const json_t *body,
                     const char *host, const char *pcap_filename, uint64_t pcap_cnt);

/* An RFC 5322 3.3 date-time ("Tue, 14 Nov 2023 10:00:00 +0000", day
 * name and seconds optional, obsolete zone names UT/GMT/EST..., and
 * comments ignored) as microseconds since the epoch (UTC).  Returns 0 and
 * sets *ts_us, or -1 when it does not parse. */
int ecs_parse_rfc5322_date(const char *s, uint64_t *ts_us);

#endif /* IMAPSCOPE_RENDER_ECS_H */
