/*
 * netsink.h - the network sinks of the output (issue 14, item 3): syslog
 * (RFC 5424 over a unix datagram socket, UDP, or TCP with RFC 6587
 * octet-counting framing), a unix stream or datagram socket, and redis
 * (RPUSH to a list, PUBLISH to a channel, XADD to a stream, via hiredis).
 *
 * Contract.  The output (sink.c) hands a sink whole rendered lines
 * (netsink_push: a buffer of lines each ended by '\n'); one line is one
 * message.  netsink_push never blocks on the network: it copies the lines
 * into the sink's bounded queue (netsink_config.queue_bytes) under a mutex
 * and returns.  A line that does not fit is dropped and counted (the
 * newest is dropped: what is queued stays in order).  Memory: the queue's
 * cap plus the one batch the writer holds (256 KiB, or one larger line).  One writer thread per
 * sink takes batches from the queue and does the (blocking) I/O: connect,
 * frame, send; on failure it closes, waits (backoff 100 ms doubling to
 * 5 s) and reconnects, keeping the batch it holds; meanwhile the queue
 * fills and then drops.  Why a thread per sink rather than non-blocking
 * sockets in the capture loop: hiredis' synchronous API, TCP connect with
 * backoff and partial writes then live in straight-line code that cannot
 * stall the capture, and the capture thread's cost per flush is one lock
 * and one memcpy; a sink can never block capture, and what it cannot take
 * is counted, not lost silently.
 *
 * Delivery.  redis: a message counts as delivered when the server's reply
 * is read; on a lost connection the messages of the batch without a reply
 * are sent again after the reconnect (at least once; counted in "resent").
 * A server error reply (WRONGTYPE ...) drops that message (counted).
 * Stream sockets (unix stream, syslog TCP): delivered when written to the
 * socket; bytes in the kernel's buffer when the peer dies are lost without
 * notice (these protocols have no acknowledgement), a message cut by the
 * failure is sent again whole.  Datagrams (unix dgram, syslog unix and
 * UDP): delivered when sent; a message larger than the socket takes
 * (EMSGSIZE) is dropped and counted.
 *
 * Shutdown: netsink_stop() lets the writer drain the queue for up to
 * drain_ms (reconnecting if needed), then drops and counts what is left.
 * After it, events + dropped == the lines pushed.
 */
#ifndef IMAPSCOPE_NETSINK_H
#define IMAPSCOPE_NETSINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ns_kind {
    NS_SYSLOG_UNIX = 0, NS_SYSLOG_UDP, NS_SYSLOG_TCP, NS_UNIX_STREAM, NS_UNIX_DGRAM, NS_REDIS
} ns_kind;

typedef enum ns_redis_mode { NS_REDIS_LIST = 0, NS_REDIS_CHANNEL, NS_REDIS_STREAM } ns_redis_mode;

#define NS_MAX_SINKS 16

typedef struct netsink_config {
    ns_kind       kind;
    char          spec[300];     /* the option's argument as given, for messages and "name" */
    char          path[108];     /* unix sockets */
    char          host[256];     /* UDP, TCP, redis */
    char          port[8];
    int           facility;      /* syslog: 0..23 (RFC 5424 6.2.1); default 21 (local5) */
    ns_redis_mode redis_mode;
    char          redis_key[256];
    char          redis_user[128];     /* AUTH: from IMAPSCOPE_REDIS_USER (may be empty) */
    char          redis_password[256]; /* AUTH: from IMAPSCOPE_REDIS_PASSWORD (empty: no AUTH) */
    size_t        queue_bytes;   /* the queue's cap */
    unsigned      drain_ms;      /* netsink_stop: time left to deliver the queue */
} netsink_config;

/* What a sink did.  events: messages delivered (see Delivery); bytes: their
 * bytes (the line, without framing); dropped: messages given up (queue
 * full, too large, refused by the server, left at shutdown); errors:
 * failed connects, sends and error replies; reconnects: connections made
 * after the first; resent: redis messages sent again after a lost
 * connection; queued: pushed and not yet delivered or dropped. */
typedef struct netsink_stats {
    uint64_t events, bytes, dropped, errors, reconnects, resent, queued;
} netsink_stats;

typedef struct netsink netsink;

/* Parses the argument of --syslog (unix:PATH, udp:HOST:PORT,
 * tcp:HOST:PORT; a bare path is unix:), --unix-socket (stream:PATH,
 * dgram:PATH) or --redis (HOST:PORT, [IPv6]:PORT) into c (kind, address,
 * spec); the other members are left as they are.  opt is "--syslog",
 * "--unix-socket" or "--redis".  Returns 0, or -1 with a message. */
int netsink_parse(const char *opt, const char *arg, netsink_config *c, char *err, size_t errlen);

/* --syslog-facility NAME (kern, user, mail, daemon, auth, syslog, lpr,
 * news, uucp, cron, authpriv, ftp, local0..local7): its number, or -1. */
int netsink_facility(const char *name);

/* Starts the sink: its queue and writer thread.  The first connection is
 * tried here once: when it fails, a warning names the sink and the writer
 * keeps trying (the events are queued meanwhile).  NULL (message in err)
 * only when memory or the thread cannot be had. */
netsink *netsink_start(const netsink_config *c, char *err, size_t errlen);

/* Queues the lines of buf[0, len) (each ended by '\n'; a last line without
 * one is taken whole).  Never blocks on I/O. */
void netsink_push(netsink *s, const char *buf, size_t len);

/* Drains (up to drain_ms) and stops the writer; idempotent. */
void netsink_stop(netsink *s);

void netsink_stats_get(netsink *s, netsink_stats *st);

/* "syslog", "unix", "redis"; and the name: the option and its argument,
 * "--redis 127.0.0.1:6379". */
const char *netsink_type(const netsink *s);
const char *netsink_name(const netsink *s);

/* Stops (if needed) and frees.  NULL is fine. */
void netsink_free(netsink *s);

/* ---- exposed for tests ---- */

/* The RFC 5424 header of a message (6. Syslog Message Format):
 * "<PRI>1 TIMESTAMP HOSTNAME imapscope PROCID MSGID - " where PRI is
 * facility * 8 + severity (4 warning for an alert, 6 info otherwise) and
 * MSGID the line's event type ("event_type" of -T json, event.dataset
 * "imapscope.X" of -T ecs),
 * "-" when none is found.  Returns its length (< cap), written to out. */
size_t netsink_syslog_header(char *out, size_t cap, int facility, const char *line, size_t len,
                             uint64_t now_us, const char *hostname, int pid);

#endif /* IMAPSCOPE_NETSINK_H */
