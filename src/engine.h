/*
 * engine.h - the packet path: frame -> decode -> flow -> TCP reassembly ->
 * stream layers -> IMAP dissector -> output.
 *
 * One engine per thread.  The caller (capture.c) hands it frames in
 * capture order; the engine emits events to the output as connections
 * progress and end, and a "stats" event from engine_finish().
 */
#ifndef IMAPSCOPE_ENGINE_H
#define IMAPSCOPE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "decode.h"
#include "flow.h"
#include "imap.h"
#include "output.h"
#include "keylog.h"
#include "mail.h"
#include "reassembly.h"
#include "starttls_seen.h"
#include "detect.h"
#include "limits.h" /* defaults and caps of this module */


typedef struct engine_config {
    imap_config    imap;
    decode_config  decode;
    reasm_config   reasm;
    uint32_t       max_flows;
    uint64_t       idle_timeout_us;
    uint16_t       server_ports[ENGINE_MAX_SERVER_PORTS]; /* IMAP server ports (flow orientation) */
    unsigned       n_server_ports;
    uint16_t       tls_ports[ENGINE_MAX_TLS_PORTS];       /* TLS from the first byte (993) */
    unsigned       n_tls_ports;
    uint16_t       community_id_seed;
    uint64_t       flow_id_seed;  /* flow_id.h: the key of every flow_id (main: --flow-id-seed, else random) */
    mail_config    mail;          /* email/fileinfo events, --extract-dir (mail.h) */
    const char    *streams_dir;   /* when set: DIR/<flow_id>.client|.server get the reassembled bytes */
    int            feed_chunk;    /* testing: 0 feed as delivered, N>0 pieces of N bytes, -1 random sizes */
    uint32_t       feed_seed;     /* seed of the random split */
    bool           all_tcp;       /* report every TCP connection, not only IMAP-looking ones */
    const keylog  *keylog;        /* --keylog: TLS secrets (borrowed; outlives the engine), or NULL */
    size_t         tls_max_record;    /* bytes of one TLS record */
    size_t         tls_max_handshake; /* bytes of one TLS handshake message */
    unsigned       inflate_ratio;     /* inflated bytes per compressed byte (0: no bomb check) */
    unsigned       max_alerts_per_kind; /* alerts of one name written per connection (0: no cap) */
    struct report *report;        /* --report/--stats: gets every event too (borrowed; thread-safe), or NULL */
    struct starttls_seen *starttls;   /* servers seen offering STARTTLS, shared by the engines of
                                       * one run (borrowed), or NULL: the engine keeps its own */
    struct detect *detect;        /* detections across connections (borrowed; detect.h), or NULL */
    unsigned       detect_feeder; /* this engine's feeder number there */
} engine_config;

void engine_config_default(engine_config *cfg);

typedef struct engine engine;

/* Creates an engine writing to out (borrowed; must outlive the engine).
 * Returns NULL with a message in errbuf. */
engine *engine_new(const engine_config *cfg, output *out, char *errbuf, size_t errlen);

/* One captured frame: engine_decode() then engine_packet(). */
void engine_frame(engine *e, int linktype, const uint8_t *data, uint32_t caplen,
                  uint32_t wirelen, uint64_t ts_us);

/* The two halves of engine_frame, for a dispatcher that decodes on one
 * thread and hands TCP packets to engines on others: engine_decode()
 * counts the frame, decodes it (IP fragments reassembled) and returns true
 * for a TCP packet; engine_packet() takes a decoded TCP packet and the
 * number of its frame (a new flow's id). */
bool engine_decode(engine *e, int linktype, const uint8_t *data, uint32_t caplen,
                   uint32_t wirelen, uint64_t ts_us, pkt *p);
void engine_packet(engine *e, const pkt *p, uint64_t ts_us, uint64_t frame_no);

/* Ends every connection (their events are written), without the stats
 * event.  Idempotent. */
void engine_end_all(engine *e, const char *reason);

/* The counters as a new "stats" body (caller owns). */
json_t *engine_stats(engine *e);

/* For the progress line: connections open now and events emitted so far. */
void engine_progress(const engine *e, uint64_t *open_conns, uint64_t *events);

/* Time of the newest packet seen. */
uint64_t engine_now(const engine *e);

/* Frames given to engine_decode so far (the number of the last one). */
uint64_t engine_frames(const engine *e);

/* Ends every connection (reason: "end_of_input", "shutdown"), then emits
 * the "stats" event with the counters and `extra` (stolen, may be NULL:
 * e.g. pcap_stats of a live capture) merged in. */
void engine_finish(engine *e, const char *reason, json_t *extra);

/* --stats-interval: a "stats" event now (the counters so far, with
 * "periodic": true and extra, stolen, merged in: the kernel's packet
 * counters), then the output is flushed.  Connections go on. */
void engine_stats_periodic(engine *e, uint64_t now_us, json_t *extra);

/* The time of the "stats" event: newest_us, the newest packet's time, as
 * every other event; when no packet was seen (0: an empty capture) the
 * wall-clock time at the end of the run, as Suricata's stats records
 * carry, never 1970-01-01. */
uint64_t engine_stats_time(uint64_t newest_us);

/* Flushes the output.  For live capture: call now and then. */
void engine_tick(engine *e, uint64_t now_us);

void engine_free(engine *e);

/* The table of servers seen offering STARTTLS this engine uses (for the
 * worker engines to share the first one's). */
struct starttls_seen *engine_starttls(engine *e);

#endif /* IMAPSCOPE_ENGINE_H */
