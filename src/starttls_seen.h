/*
 * starttls_seen.h - evidence of STARTTLS stripping across connections.
 *
 * A man in the middle that strips STARTTLS from the capability list (RFC
 * 9051 6.2.1; sslstrip-like tools) leaves, in the stripped connection, a
 * server that looks as if it never offered STARTTLS.  The evidence is in
 * the other connections of the same capture: the same server (address and
 * port) offering STARTTLS to other clients.  This table keeps, for one run,
 * the servers seen offering STARTTLS, and the connections that sent
 * credentials in clear to a server not (yet) known to offer it, so that the
 * alert can be raised when the evidence comes later in the capture (the
 * connections may be processed in either order).
 *
 * Bounded: LIM_STARTTLS_SERVERS servers and LIM_STARTTLS_PENDING waiting
 * connections; beyond, entries are not kept and counted (stats).  Shared
 * by the worker threads (one mutex; used a few times per connection).
 */
#ifndef IMAPSCOPE_STARTTLS_SEEN_H
#define IMAPSCOPE_STARTTLS_SEEN_H

#include <stdbool.h>
#include <stdint.h>

#include "output.h"

typedef struct starttls_seen starttls_seen;

/* A server: IP version, address (16 bytes, IPv4 in the first 4), port. */
typedef struct starttls_server {
    uint8_t  ipv;
    uint8_t  addr[16];
    uint16_t port;
} starttls_server;

/* A connection that sent credentials in clear, waiting for evidence:
 * everything needed to write its alert after the connection has ended. */
typedef struct starttls_waiting {
    starttls_server server;
    uint64_t flow_id;
    uint64_t text_no;     /* its number in the text trace (out_flow.text_no) */
    char     community_id[64];
    char     src_ip[46], dest_ip[46];
    uint16_t src_port, dest_port;
    uint64_t ts_us, offset;
    char     tag[40];
    char     what[64];    /* "LOGIN", "AUTHENTICATE PLAIN" */
} starttls_waiting;

typedef struct starttls_seen_stats {
    uint64_t servers;          /* servers seen offering STARTTLS */
    uint64_t servers_dropped;  /* not kept: table full */
    uint64_t waiting_dropped;  /* cleartext logins not kept: table full */
    uint64_t late_alerts;      /* alerts raised when the evidence came later */
} starttls_seen_stats;

starttls_seen *starttls_seen_new(unsigned max_servers, unsigned max_waiting);
void starttls_seen_free(starttls_seen *t);

/* The server offered STARTTLS to some client.  The connections waiting for
 * this server are moved to out (at most max_out; the count is returned):
 * the caller raises their alerts. */
unsigned starttls_seen_offered(starttls_seen *t, const starttls_server *srv,
                               starttls_waiting *out, unsigned max_out);

/* A connection sent credentials in clear to srv with no STARTTLS in its
 * capability lists.  Returns the number of other connections on which
 * srv has been seen offering STARTTLS (>0: raise the alert now); 0: w is
 * kept until the evidence comes (or dropped when the table is full). */
uint64_t starttls_seen_cleartext(starttls_seen *t, const starttls_waiting *w);

/* The detection layer (src/detect.h), in its packet-time order: one more
 * connection of srv whose capability lists before TLS offered STARTTLS
 * (offered) or did not.  *with and *without get the server's counts after
 * this one (0 and 0 when the table is full and srv is not in it: counted
 * in servers_dropped). */
void starttls_seen_mix(starttls_seen *t, const starttls_server *srv, bool offered,
                       uint64_t *with, uint64_t *without);

void starttls_seen_get_stats(starttls_seen *t, starttls_seen_stats *st);

#endif /* IMAPSCOPE_STARTTLS_SEEN_H */
