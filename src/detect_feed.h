/*
 * detect_feed.h - from the dissector's typed events of one connection to
 * the records of the detection layer (src/detect.h).  The engine keeps one
 * detect_conn per connection and calls these from its event callbacks;
 * they read the typed transaction (imap.h) and its decoded arguments
 * (docs/output.md "imap") and submit what the detections need.
 */
#ifndef IMAPSCOPE_DETECT_FEED_H
#define IMAPSCOPE_DETECT_FEED_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "detect.h"
#include "imap.h"

/* What one connection has told so far.  Zeroed when it starts. */
typedef struct detect_conn {
    uint64_t seq;                      /* records submitted (their order in the flow) */
    char user[DETECT_NAME_MAX];        /* logged in as (last successful login) */
    char id[DETECT_FP_MAX];            /* the client's ID parameters (RFC 2971) */
    char ja3[40], ja4[48];             /* of the client's TLS hello */
    bool caps_pre_tls;                 /* a capability list seen before TLS and login */
    bool starttls_pre_tls;             /* ... naming STARTTLS */
} detect_conn;

/* Fills the connection's envelope of a record (flow id, endpoints, ...). */
typedef void (*detect_envelope_fn)(void *ctx, detect_rec *r);

/* A transaction completed on the connection (ts: its time).  s is the
 * connection's session (its greeting gives the banner of a login:
 * imap_session_greeting). */
void detect_feed_txn(detect *d, unsigned feeder, detect_conn *dc, const imap_transaction *t,
                     const imap_session *s, uint64_t ts, detect_envelope_fn env, void *ctx);

/* The connection's TLS handshake event (the "tls" body): JA3/JA4 kept. */
void detect_feed_tls(detect_conn *dc, const json_t *tls_event);

/* The connection ended: whether its server offered STARTTLS before TLS
 * (when capability lists were seen in clear).  implicit_tls: the
 * connection was TLS from its first byte (nothing was in clear). */
void detect_feed_end(detect *d, unsigned feeder, detect_conn *dc, const imap_session *s, bool implicit_tls,
                     uint64_t ts, detect_envelope_fn env, void *ctx);

#endif /* IMAPSCOPE_DETECT_FEED_H */
