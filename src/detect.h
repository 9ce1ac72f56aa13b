/*
 * detect.h - detections across connections, and the per-user records
 * ("imap_user" events).  Issue 15; docs/alerts.md lists every detection,
 * its thresholds (command line, defaults below) and its MITRE technique.
 *
 * The engine (src/engine.c) turns the dissector's typed events into small
 * records (detect_rec: a login with its outcome and user, a mailbox
 * selected, messages and bytes fetched or appended, messages flagged
 * \Deleted, expunged, moved, a mailbox deleted, whether a server offered
 * STARTTLS before TLS) and submits them here.  Records are processed in
 * the order of their PACKET time (ties: the number of the frame that
 * started the flow, then the order within the flow), never of arrival: with --threads, connections are split across
 * threads and their records arrive interleaved by timing; they wait in a
 * bounded reorder buffer until every feeder's clock (the time of the last
 * packet it processed, detect_clock) has passed them.  So a capture file
 * gives the same alerts with one thread or many, and as the live run it was
 * recorded from.  Windows are packet-time windows that start at the first
 * event of a key and end `window` later (a new window starts with the next
 * event after that); each detection alerts at most once per key and window.
 *
 * Memory is fixed by configuration: the user table (--max-users), the
 * tables of clients, (client, user) pairs and servers (--detect-max-keys
 * each), the reorder buffer (DETECT_MAX_PENDING records), and small capped
 * lists in each entry.  A full table evicts its least recently used entry;
 * evictions are counted in the stats event ("detect") and the first one of
 * each table raises one "detect_table_full" alert.
 *
 * Thread safety: every function takes the layer's mutex; alerts and
 * imap_user events are written to the output given to detect_new (with
 * --threads, a fork of the main output made for this layer) while it is
 * held.
 */
#ifndef IMAPSCOPE_DETECT_H
#define IMAPSCOPE_DETECT_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "output.h"
#include "starttls_seen.h"

#define DETECT_NAME_MAX   128  /* bytes of a user or mailbox name kept (cut beyond) */
#define DETECT_FP_MAX     96   /* bytes of an ID summary or banner kept */
#define DETECT_SAMPLE     5    /* names in an alert's evidence sample */
#define DETECT_DISTINCT   64   /* distinct users/clients counted per key (hashes) */
#define DETECT_LIST       8    /* entries of each list of an imap_user record */
#define DETECT_FPS        8    /* client fingerprints remembered per user */
#define DETECT_MAX_PENDING 16384u /* records in the reorder buffer (then the oldest go) */

/* Defaults (docs/alerts.md; --help prints them). */
#define DETECT_BF_FAILURES        10u
#define DETECT_BF_WINDOW_S        300u
#define DETECT_SPRAY_USERS        10u
#define DETECT_SPRAY_WINDOW_S     600u
#define DETECT_STUFF_CLIENTS      5u
#define DETECT_STUFF_USERS        10u
#define DETECT_STUFF_SUCCESS_PCT  10u
#define DETECT_STUFF_WINDOW_S     600u
#define DETECT_AFTER_FAILURES     5u
#define DETECT_AFTER_WINDOW_S     3600u
#define DETECT_BULK_BYTES         (50ull << 20)
#define DETECT_BULK_MESSAGES      500u
#define DETECT_BULK_WINDOW_S      600u
#define DETECT_DEL_MESSAGES       50u
#define DETECT_DEL_MAILBOXES      5u
#define DETECT_DEL_WINDOW_S       600u
#define DETECT_MOVE_MESSAGES      100u
#define DETECT_MOVE_WINDOW_S      600u
#define DETECT_MAX_USERS          10000u
#define DETECT_MAX_KEYS           10000u
#define DETECT_USER_INTERVAL_S    300u

typedef struct detect_config {
    bool     enabled;                 /* false: no detection alerts (imap_user events still) */
    bool     users;                   /* imap_user events */
    unsigned bf_failures;   uint64_t bf_window_us;
    unsigned spray_users;   uint64_t spray_window_us;
    unsigned stuff_clients, stuff_users, stuff_success_pct; uint64_t stuff_window_us;
    unsigned after_failures; uint64_t after_window_us;
    uint64_t bulk_bytes;    unsigned bulk_messages; uint64_t bulk_window_us;
    unsigned del_messages, del_mailboxes; uint64_t del_window_us;
    unsigned move_messages; uint64_t move_window_us;
    unsigned max_users, max_keys;
    uint64_t user_interval_us;        /* live: imap_user events every so often (0: at the end only) */
    unsigned max_pending;             /* reorder buffer records */
} detect_config;

void detect_config_default(detect_config *cfg);

typedef enum detect_kind {
    DETECT_LOGIN = 0,       /* LOGIN/AUTHENTICATE completed: ok, user, mechanism, tls, fingerprint */
    DETECT_SELECT,          /* SELECT/EXAMINE OK: mailbox */
    DETECT_FETCH,           /* FETCH/UID FETCH: messages, bytes, whole_mailbox */
    DETECT_APPEND,          /* APPEND OK: messages, bytes, mailbox */
    DETECT_FLAG_DELETED,    /* STORE +FLAGS \Deleted OK: messages */
    DETECT_EXPUNGE,         /* EXPUNGE/UID EXPUNGE/CLOSE: messages expunged */
    DETECT_DELETE_MAILBOX,  /* DELETE OK: mailbox */
    DETECT_MOVE,            /* MOVE/UID MOVE OK: messages, mailbox (target) */
    DETECT_STARTTLS,        /* a connection's capability lists before TLS: offered or not */
    DETECT_KIND_COUNT
} detect_kind;

/* One record; strings NUL-terminated (cut to their arrays). */
typedef struct detect_rec {
    uint8_t  kind;            /* detect_kind */
    uint64_t ts_us;           /* packet time of the event */
    uint64_t seq;             /* order within the flow (the engine counts) */
    uint64_t first_frame;     /* the frame that started the flow: the order of ties (flow_id
                               * is a keyed hash, different every run) */
    /* the connection (for the alert's envelope) */
    uint64_t flow_id, text_no;
    char     community_id[64];
    char     src_ip[46], dest_ip[46];
    uint16_t src_port, dest_port;
    starttls_server server;
    /* who */
    char     user[DETECT_NAME_MAX];   /* "" when unknown (no login seen) */
    /* DETECT_LOGIN */
    bool     ok, tls;
    char     mechanism[24];           /* "LOGIN" or the SASL mechanism */
    char     id[DETECT_FP_MAX];       /* client ID parameters, "name=...;version=..." */
    char     ja3[40], ja4[48];
    char     banner[DETECT_FP_MAX];   /* the server's greeting text */
    /* data */
    char     mailbox[DETECT_NAME_MAX];
    uint64_t messages, bytes;
    bool     whole_mailbox;           /* FETCH 1:* of message bodies */
    char     items[32];               /* FETCH: the body item ("BODY[]", "RFC822") */
    /* DETECT_STARTTLS */
    bool     offered;
} detect_rec;

typedef struct detect detect;

/* A layer fed by n_feeders engines (1, or the --threads workers), writing
 * to out (borrowed; must outlive it; used under the layer's lock only),
 * and to report (may be NULL).  starttls (borrowed, may be NULL) is the
 * run's table of STARTTLS evidence (starttls_seen.h): the per-server
 * counts of connections offered STARTTLS or not are kept there.  NULL with
 * a message in errbuf when out of memory. */
struct report;
detect *detect_new(const detect_config *cfg, unsigned n_feeders, output *out, struct report *report,
                   starttls_seen *starttls, char *errbuf, size_t errlen);
void detect_free(detect *d);

/* The run's STARTTLS evidence table, once the engines exist (borrowed). */
void detect_set_starttls(detect *d, starttls_seen *t);

/* A record from feeder f (0 .. n_feeders-1): copied into the reorder
 * buffer.  When the buffer is full, the oldest records are processed first
 * (counted: stats detect.reorder_forced). */
void detect_submit(detect *d, unsigned f, const detect_rec *r);

/* Feeder f has processed every packet up to now_us: records older than the
 * clock of every feeder are processed.  Cheap when nothing waits. */
void detect_clock(detect *d, unsigned f, uint64_t now_us);

/* Live capture, about once a second: the imap_user events when
 * --user-interval has passed since the last ones (packet time now_us),
 * and the layer's output flushed. */
void detect_tick(detect *d, uint64_t now_us);

/* End of the run: every waiting record is processed, then one imap_user
 * event per user (ordered by name) at time now_us.  Idempotent. */
void detect_finish(detect *d, uint64_t now_us);

/* The layer's counters as a new object (the stats event's "detect"). */
json_t *detect_stats(detect *d);

/* For tests: users in the table and its evictions. */
unsigned detect_user_count(detect *d);
uint64_t detect_users_evicted(detect *d);

#endif /* IMAPSCOPE_DETECT_H */
