/*
 * flow.h - the TCP flow table: both directions of a 5-tuple in one flow.
 *
 * A flow has two sides: side 0 is the source of the first packet seen,
 * side 1 its destination.  Which side is the IMAP client is decided from
 * the handshake (the sender of a SYN without ACK), else from the ports (the
 * side on a server port is the server), else later by the caller (from IMAP
 * itself: a greeting comes from the server) through flow_set_client().
 * Each side's bytes are reassembled by its own tcp_stream, stream[side].
 *
 * Bounds: at most cfg.max_flows flows at once; when full, the least
 * recently used flow is ended (reason "evicted") to make room, and counted.
 * A flow silent for cfg.idle_timeout_us is ended (reason "idle_timeout")
 * by flow_table_expire().  Lookups use SipHash-2-4 with a random key, so
 * crafted addresses cannot degrade the table.
 */
#ifndef IMAPSCOPE_FLOW_H
#define IMAPSCOPE_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "decode.h"
#include "reassembly.h"

typedef enum flow_orient {
    FLOW_ORIENT_UNKNOWN = 0, /* guessed: side 0 is the client until told otherwise */
    FLOW_ORIENT_SYN,         /* from the SYN / SYN-ACK */
    FLOW_ORIENT_PORT,        /* from a server port */
    FLOW_ORIENT_PAYLOAD      /* from the IMAP payload (caller) */
} flow_orient;

typedef struct flow {
    uint64_t id;                 /* the caller's id: imapscope uses the number of the
                                    capture frame that started the flow, so the id is
                                    the same whatever the threading */
    uint8_t  ipv;                /* 4 or 6 */
    uint8_t  addr[2][16];        /* side 0, side 1 */
    uint16_t port[2];
    uint8_t  client_side;        /* 0 or 1 */
    uint8_t  orient;             /* flow_orient */
    uint8_t  syn[2], fin[2], rst;/* TCP flags seen per side */
    uint64_t first_ts_us, last_ts_us;
    uint64_t packets[2];
    uint64_t payload_bytes[2];   /* TCP payload as captured, retransmissions included */
    tcp_stream stream[2];        /* stream[side]: the bytes side sends */
    void    *app;                /* the caller's per-flow state */
    /* private to flow.c */
    struct flow *hnext, *lru_prev, *lru_next;
    uint64_t hash;
} flow;

typedef struct flow_config {
    uint32_t max_flows;
    uint64_t idle_timeout_us;
    const uint16_t *server_ports;   /* ports that identify the server side */
    unsigned n_server_ports;
} flow_config;

/* The caller is told when a flow ends, before it is freed: it flushes the
 * streams (tcp_stream_flush) and releases flow->app.  reason is a static
 * string: "fin", "rst", "idle_timeout", "evicted", "end_of_input",
 * "port_reuse", "shutdown". */
typedef void (*flow_end_fn)(void *user, flow *f, const char *reason, uint64_t ts_us);

typedef struct flow_table flow_table;

typedef struct flow_stats {
    uint64_t created, ended, evicted, timed_out, port_reused;
    uint64_t active, peak_active;
} flow_stats;

/* Creates a table.  cfg is copied (server_ports is referenced, must
 * outlive the table).  pool is the reassembly pool the streams use.
 * Returns NULL when out of memory (errbuf says so). */
flow_table *flow_table_new(const flow_config *cfg, reasm_pool *pool,
                           flow_end_fn on_end, void *user);

/* Finds the flow of a TCP packet, creating it (with id new_id) when create
 * is true and it is new (ending the LRU flow first when the table is full).
 * *side gets the side that sent p (0 or 1).  Returns NULL when not found
 * and not created. */
flow *flow_table_lookup(flow_table *t, const pkt *p, uint64_t ts_us, bool create,
                        uint64_t new_id, int *side);

/* Ends one flow now (calls on_end, frees it). */
void flow_table_end(flow_table *t, flow *f, const char *reason, uint64_t ts_us);

/* Ends flows idle since before now_us - idle_timeout.  Cheap when nothing
 * expires (looks at the LRU head only). */
void flow_table_expire(flow_table *t, uint64_t now_us);

/* Ends every flow (end of input, shutdown), oldest first. */
void flow_table_end_all(flow_table *t, const char *reason, uint64_t ts_us);

/* Marks `side` as the client (decided by the caller from the payload). */
void flow_set_client(flow *f, int side, flow_orient how);

/* True when port is one of the configured server ports. */
bool flow_is_server_port(const flow_table *t, uint16_t port);

const flow_stats *flow_table_stats(const flow_table *t);
void flow_table_free(flow_table *t);   /* frees without calling on_end */

#endif /* IMAPSCOPE_FLOW_H */
