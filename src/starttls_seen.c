/*
 * starttls_seen.c - servers seen offering STARTTLS (see starttls_seen.h).
 * Linear tables: a run sees few IMAP servers, and the calls are per
 * connection, not per packet.
 */
#include "starttls_seen.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct server_row {
    starttls_server srv;
    uint64_t offers;      /* connections that saw STARTTLS offered */
    uint64_t mix_with, mix_without; /* starttls_seen_mix: connections offered it or not */
} server_row;

struct starttls_seen {
    pthread_mutex_t mu;
    server_row *servers;
    unsigned n_servers, max_servers;
    starttls_waiting *waiting;
    unsigned n_waiting, max_waiting;
    starttls_seen_stats st;
};

starttls_seen *starttls_seen_new(unsigned max_servers, unsigned max_waiting)
{
    starttls_seen *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->servers = calloc(max_servers ? max_servers : 1, sizeof *t->servers);
    t->waiting = calloc(max_waiting ? max_waiting : 1, sizeof *t->waiting);
    if (!t->servers || !t->waiting) {
        free(t->servers);
        free(t->waiting);
        free(t);
        return NULL;
    }
    t->max_servers = max_servers;
    t->max_waiting = max_waiting;
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

void starttls_seen_free(starttls_seen *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t->servers);
    free(t->waiting);
    free(t);
}

static bool same_server(const starttls_server *a, const starttls_server *b)
{
    return a->ipv == b->ipv && a->port == b->port &&
           memcmp(a->addr, b->addr, a->ipv == 4 ? 4 : 16) == 0;
}

static server_row *find(starttls_seen *t, const starttls_server *srv)
{
    for (unsigned i = 0; i < t->n_servers; i++)
        if (same_server(&t->servers[i].srv, srv))
            return &t->servers[i];
    return NULL;
}

unsigned starttls_seen_offered(starttls_seen *t, const starttls_server *srv,
                               starttls_waiting *out, unsigned max_out)
{
    unsigned n = 0;
    pthread_mutex_lock(&t->mu);
    server_row *r = find(t, srv);
    if (!r) {
        if (t->n_servers < t->max_servers) {
            r = &t->servers[t->n_servers++];
            r->srv = *srv;
        } else {
            t->st.servers_dropped++;
        }
    }
    if (r && r->offers++ == 0)
        t->st.servers++; /* rows made by starttls_seen_mix count once they offer */
    for (unsigned i = 0; i < t->n_waiting;) {
        if (n < max_out && same_server(&t->waiting[i].server, srv)) {
            out[n++] = t->waiting[i];
            t->waiting[i] = t->waiting[--t->n_waiting];
            t->st.late_alerts++;
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return n;
}

uint64_t starttls_seen_cleartext(starttls_seen *t, const starttls_waiting *w)
{
    uint64_t offers = 0;
    pthread_mutex_lock(&t->mu);
    server_row *r = find(t, &w->server);
    if (r && r->offers)
        offers = r->offers;
    else if (t->n_waiting < t->max_waiting)
        t->waiting[t->n_waiting++] = *w;
    else
        t->st.waiting_dropped++;
    pthread_mutex_unlock(&t->mu);
    return offers;
}

void starttls_seen_mix(starttls_seen *t, const starttls_server *srv, bool offered,
                       uint64_t *with, uint64_t *without)
{
    pthread_mutex_lock(&t->mu);
    server_row *r = find(t, srv);
    if (!r) {
        if (t->n_servers < t->max_servers) {
            r = &t->servers[t->n_servers++];
            memset(r, 0, sizeof *r);
            r->srv = *srv;
        } else {
            t->st.servers_dropped++;
        }
    }
    if (r) {
        if (offered)
            r->mix_with++;
        else
            r->mix_without++;
    }
    *with = r ? r->mix_with : 0;
    *without = r ? r->mix_without : 0;
    pthread_mutex_unlock(&t->mu);
}

void starttls_seen_get_stats(starttls_seen *t, starttls_seen_stats *st)
{
    pthread_mutex_lock(&t->mu);
    *st = t->st;
    pthread_mutex_unlock(&t->mu);
}
