/*
 * stats_event.h - the body of the "stats" event from the stages' counters.
 *
 * Every stage hands its counters as a small JSON object (engine_stats,
 * mail_stats_json, extract_stats_json, detect_stats, output_sinks_json);
 * with --threads the workers' objects are summed member by member
 * (workers.c).  This module turns that working form into the one shape of
 * the event (docs/output.md, "stats"), so that the number of fields an
 * index maps does not grow with each counter a stage adds (issue 10,
 * item 3):
 *
 *   scalars   frames, tcp_packets, non_tcp_packets, threads, periodic,
 *             end_reason: kept as they are
 *   capture   (live capture, pcap_stats) and sinks (an array): kept
 *   limits    every bounded resource: [{name, limit, used, peak, refused,
 *             evicted}], a member only when the resource has it
 *   counters  every other counter: [{name: "group.counter", count}]
 *
 * The working form (input), all integers unless said:
 *   {"frames": n, ..., "GROUP": {"COUNTER": n, ...}, ...,
 *    "limits": {"NAME": {"limit": n, "used": n, ...}, ...},
 *    "detect": {..., "alerts": [{name, count}],
 *               "tables": [{name, entries, capacity, evicted}]}}
 * GROUP's integers become counters "GROUP.COUNTER"; detect's alerts
 * become counters "detect.alerts.NAME" and its tables limits
 * "detect.NAME" (limit = capacity, used = entries, evicted).
 */
#ifndef IMAPSCOPE_STATS_EVENT_H
#define IMAPSCOPE_STATS_EVENT_H

#include <stdint.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The event body made from the working form raw (stolen: freed here).
 * Never NULL unless out of memory. */
json_t *stats_event_body(json_t *raw);

/* Sets one member of the working form's limit NAME (creating "limits"
 * and NAME as needed): stats_limit_set(st, "flows.table", "peak", 12). */
void stats_limit_set(json_t *raw, const char *name, const char *member, uint64_t v);

/* Removes the working form's limit NAME (a --threads dispatcher's own
 * tables, which hold nothing). */
void stats_limit_del(json_t *raw, const char *name);

#ifdef __cplusplus
}
#endif
#endif
