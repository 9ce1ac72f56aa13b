/*
 * detect.c - detections across connections and per-user records (see
 * detect.h; docs/alerts.md).
 *
 * Records wait in a min-heap ordered by (packet time, flow id, order in
 * the flow) until every feeder's clock has passed them, then go through
 * process(): the user table (imap_user and the per-user detections), the
 * (client, user) table (auth_bruteforce), the client table
 * (password_spraying), the server table (credential_stuffing and the
 * STARTTLS evidence).  All tables are detect_table (fixed size, LRU).
 *
 * Why this file is over 1,000 lines: it is one job, the ordered processing
 * of records into four tables, and every part of it reads the same
 * private entries (user_ent, pair_ent, client_ent, server_ent) and the
 * `detect` struct: the reorder heap (about 150 lines), the nine
 * detections' handlers (on_login, on_fetch, on_delete, on_move,
 * on_starttls: about 550), the evidence builders and the imap_user
 * events (about 250).  Splitting it would put those layouts in a header
 * that only these parts read; detect_feed.c (typed events -> records) and
 * detect_table.c (the LRU table) are already apart.
 */
#include "detect.h"

#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_sig.h"
#include "detect_table.h"
#include "report.h"

/* X(id, name, technique_id, technique, description) */
#define DETECT_ALERT_TABLE(X)                                                                      \
    X(BRUTEFORCE, "auth_bruteforce", "T1110.001", "Brute Force: Password Guessing",                \
      "many failed logins from one client for one user within the window")                        \
    X(SPRAY, "password_spraying", "T1110.003", "Brute Force: Password Spraying",                   \
      "one client failed to log in as many different users within the window")                    \
    X(STUFFING, "credential_stuffing", "T1110.004", "Brute Force: Credential Stuffing",            \
      "many clients tried many users against one server with a low success rate")                 \
    X(AFTER_FAILURES, "login_after_failures", "T1110.001", "Brute Force: Password Guessing",       \
      "a successful login for a user after many failed ones within the window")                   \
    X(BULK, "bulk_download", "T1114.002", "Email Collection: Remote Email Collection",             \
      "a user fetched many messages or bytes within the window, or every message body of a mailbox") \
    X(MASS_DELETE, "mass_deletion", "T1070.008", "Indicator Removal: Clear Mailbox Data",          \
      "a user deleted many messages or mailboxes within the window")                              \
    X(MASS_MOVE, "mass_move", "T1070.008", "Indicator Removal: Clear Mailbox Data",                \
      "a user moved many messages within the window")                                              \
    X(STRIPPED, "starttls_stripped_across_flows", "T1557", "Adversary-in-the-Middle",              \
      "a server offered STARTTLS to some clients and not to others in this capture")              \
    X(NEW_FP, "new_client_fingerprint", "T1078", "Valid Accounts",                                 \
      "a user logged in from a client not seen before for that user (ID, JA3/JA4, banner)")       \
    X(TABLE_FULL, "detect_table_full", NULL, NULL,                                                 \
      "a table of the detection layer is full: its least recently used entries are forgotten")

enum {
#define X_(id, n, t, tn, d) DA_##id,
    DETECT_ALERT_TABLE(X_)
#undef X_
    DA_COUNT
};

static const struct {
    const char *name, *technique_id, *technique, *description;
} alert_info[DA_COUNT] = {
#define X_(id, n, t, tn, d) {n, t, tn, d},
    DETECT_ALERT_TABLE(X_)
#undef X_
};

/* A packet-time window: starts at its first event, lasts `len`. */
typedef struct win {
    uint64_t start;
    uint64_t a, b;      /* two counters (failures; bytes and messages; ...) */
    uint64_t c;
    bool     open, alerted;
} win;

/* Starts a new window when none is open or ts is past the open one. */
static void win_roll(win *w, uint64_t ts, uint64_t len)
{
    if (!w->open || ts < w->start || ts - w->start > len) {
        memset(w, 0, sizeof *w);
        w->open = true;
        w->start = ts;
    }
}

/* A set of distinct names within a window: their hashes (up to
 * DETECT_DISTINCT; past that, counted only if the hash is new among the
 * kept ones is unknowable, so counting stops: the threshold is capped at
 * DETECT_DISTINCT), and the first DETECT_SAMPLE names. */
typedef struct dset {
    uint32_t n;
    uint32_t h[DETECT_DISTINCT];
    char sample[DETECT_SAMPLE][64];
} dset;

/* Copies s into dst[len], cut at len - 1 bytes (a UTF-8 sequence may be
 * cut: output.c repairs invalid UTF-8 when writing). */
static void set_str(char *dst, size_t len, const char *s)
{
    size_t n = strlen(s);
    if (n >= len)
        n = len - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static uint32_t fnv32(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* Adds name; true when it was new. */
static bool dset_add(dset *s, const char *name)
{
    uint32_t h = fnv32(name);
    for (uint32_t i = 0; i < s->n && i < DETECT_DISTINCT; i++)
        if (s->h[i] == h)
            return false;
    if (s->n >= DETECT_DISTINCT)
        return false;
    if (s->n < DETECT_SAMPLE)
        set_str(s->sample[s->n], sizeof s->sample[s->n], name);
    s->h[s->n++] = h;
    return true;
}

static json_t *dset_sample(const dset *s)
{
    json_t *a = json_array();
    for (uint32_t i = 0; i < s->n && i < DETECT_SAMPLE; i++)
        json_array_append_new(a, json_string(s->sample[i]));
    return a;
}

/* ---- entries ------------------------------------------------------------- */

typedef struct user_ent {
    char     name[DETECT_NAME_MAX];
    uint64_t first_seen, last_seen;
    uint64_t logins_ok, logins_failed, cleartext; /* over TLS: logins_ok - cleartext */
    uint64_t msgs_fetched, bytes_fetched, msgs_appended, bytes_appended;
    uint64_t msgs_deleted, msgs_expunged, msgs_moved, mailboxes_deleted;
    char     sources[DETECT_LIST][46];
    char     mechanisms[4][24];
    char     mailboxes[DETECT_LIST][64];
    char     clients[4][DETECT_FP_MAX];
    uint8_t  n_sources, n_mech, n_mbox, n_clients;
    bool     truncated;
    win      fails;      /* a: failures (login_after_failures) */
    dset     fail_clients;
    win      bulk;       /* a: bytes, b: messages */
    bool     whole_alerted;
    win      del;        /* a: flagged \Deleted, b: expunged, c: mailboxes deleted */
    dset     del_mailboxes;
    win      move;       /* a: messages */
    dset     move_targets;
    uint32_t fps[DETECT_FPS][4]; /* fnv32 of id, ja3, ja4, banner; 0: absent */
    uint8_t  n_fps;
} user_ent;

typedef struct pair_ent {  /* (client, user) */
    win fails;
} pair_ent;

typedef struct client_ent {
    win  w;             /* a: failures */
    dset users;         /* users failed in the window */
} client_ent;

/* The envelope of a connection, kept to put a later alert on it. */
typedef struct flow_env {
    bool     set;
    uint64_t flow_id, text_no;
    char     community_id[64];
    char     src_ip[46], dest_ip[46];
    uint16_t src_port, dest_port;
} flow_env;

typedef struct server_ent {
    win  stuff;         /* a: failures, b: successes */
    dset clients, users;
    bool stripped_alerted;
    dset without, with; /* clients not offered / offered STARTTLS (samples) */
    flow_env first_without; /* the first connection not offered STARTTLS */
} server_ent;

enum { T_USERS, T_PAIRS, T_CLIENTS, T_SERVERS, T_COUNT };
static const char *const table_names[T_COUNT] = {"users", "client_user_pairs", "clients", "servers"};

struct detect {
    detect_config cfg;
    pthread_mutex_t mu;
    output *out;
    struct report *report;
    starttls_seen *starttls;
    unsigned n_feeders;
    _Atomic uint64_t *clock;
    /* reorder heap */
    detect_rec **heap;
    unsigned n_heap, cap_heap;
    _Atomic unsigned pending;
    _Atomic uint64_t oldest_ts;     /* the heap's first record's time (UINT64_MAX: empty) */
    detect_table *t[T_COUNT];
    bool full_reported[T_COUNT];
    bool forced_reported;           /* the reorder buffer's cap: one notice */
    uint64_t last_users_us;
    bool finished;
    /* counters */
    uint64_t records[DETECT_KIND_COUNT];
    uint64_t alerts[DA_COUNT];
    uint64_t reorder_forced, late, unattributed, user_events;
    uint64_t processed_max_ts;
};

void detect_config_default(detect_config *c)
{
    memset(c, 0, sizeof *c);
    c->enabled = true;
    c->users = true;
    c->bf_failures = DETECT_BF_FAILURES;
    c->bf_window_us = DETECT_BF_WINDOW_S * 1000000ull;
    c->spray_users = DETECT_SPRAY_USERS;
    c->spray_window_us = DETECT_SPRAY_WINDOW_S * 1000000ull;
    c->stuff_clients = DETECT_STUFF_CLIENTS;
    c->stuff_users = DETECT_STUFF_USERS;
    c->stuff_success_pct = DETECT_STUFF_SUCCESS_PCT;
    c->stuff_window_us = DETECT_STUFF_WINDOW_S * 1000000ull;
    c->after_failures = DETECT_AFTER_FAILURES;
    c->after_window_us = DETECT_AFTER_WINDOW_S * 1000000ull;
    c->bulk_bytes = DETECT_BULK_BYTES;
    c->bulk_messages = DETECT_BULK_MESSAGES;
    c->bulk_window_us = DETECT_BULK_WINDOW_S * 1000000ull;
    c->del_messages = DETECT_DEL_MESSAGES;
    c->del_mailboxes = DETECT_DEL_MAILBOXES;
    c->del_window_us = DETECT_DEL_WINDOW_S * 1000000ull;
    c->move_messages = DETECT_MOVE_MESSAGES;
    c->move_window_us = DETECT_MOVE_WINDOW_S * 1000000ull;
    c->max_users = DETECT_MAX_USERS;
    c->max_keys = DETECT_MAX_KEYS;
    c->user_interval_us = DETECT_USER_INTERVAL_S * 1000000ull;
    c->max_pending = DETECT_MAX_PENDING;
}

detect *detect_new(const detect_config *cfg, unsigned n_feeders, output *out, struct report *rep,
                   starttls_seen *starttls, char *errbuf, size_t errlen)
{
    detect *d = calloc(1, sizeof *d);
    static const size_t psize[T_COUNT] = {sizeof(user_ent), sizeof(pair_ent), sizeof(client_ent),
                                          sizeof(server_ent)};

    if (!d)
        goto oom;
    d->cfg = *cfg;
    if (d->cfg.max_pending == 0)
        d->cfg.max_pending = 1;
    d->out = out;
    d->report = rep;
    d->starttls = starttls;
    d->n_feeders = n_feeders ? n_feeders : 1;
    d->clock = calloc(d->n_feeders, sizeof *d->clock);
    d->cap_heap = d->cfg.max_pending;
    atomic_store(&d->oldest_ts, UINT64_MAX);
    d->heap = calloc(d->cap_heap, sizeof *d->heap);
    if (!d->clock || !d->heap)
        goto oom;
    for (int i = 0; i < T_COUNT; i++) {
        d->t[i] = detect_table_new(i == T_USERS ? d->cfg.max_users : d->cfg.max_keys, psize[i]);
        if (!d->t[i])
            goto oom;
    }
    pthread_mutex_init(&d->mu, NULL);
    return d;
oom:
    if (d) {
        for (int i = 0; i < T_COUNT; i++)
            detect_table_free(d->t[i]);
        free(d->clock);
        free(d->heap);
        free(d);
    }
    snprintf(errbuf, errlen, "out of memory for the detection tables (--max-users, --detect-max-keys)");
    return NULL;
}

void detect_free(detect *d)
{
    if (!d)
        return;
    for (unsigned i = 0; i < d->n_heap; i++)
        free(d->heap[i]);
    for (int i = 0; i < T_COUNT; i++)
        detect_table_free(d->t[i]);
    free(d->heap);
    free((void *)d->clock);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

void detect_set_starttls(detect *d, starttls_seen *t)
{
    pthread_mutex_lock(&d->mu);
    d->starttls = t;
    pthread_mutex_unlock(&d->mu);
}

/* ---- the reorder heap ------------------------------------------------------ */

static bool rec_before(const detect_rec *a, const detect_rec *b)
{
    if (a->ts_us != b->ts_us)
        return a->ts_us < b->ts_us;
    if (a->first_frame != b->first_frame)
        return a->first_frame < b->first_frame;
    return a->seq < b->seq;
}

static void heap_push(detect *d, detect_rec *r)
{
    unsigned i = d->n_heap++;
    d->heap[i] = r;
    while (i > 0) {
        unsigned p = (i - 1) / 2;
        if (!rec_before(d->heap[i], d->heap[p]))
            break;
        detect_rec *t = d->heap[i];
        d->heap[i] = d->heap[p];
        d->heap[p] = t;
        i = p;
    }
}

static detect_rec *heap_pop(detect *d)
{
    detect_rec *top = d->heap[0];
    unsigned i = 0;
    d->heap[0] = d->heap[--d->n_heap];
    for (;;) {
        unsigned l = 2 * i + 1, r = l + 1, m = i;
        if (l < d->n_heap && rec_before(d->heap[l], d->heap[m]))
            m = l;
        if (r < d->n_heap && rec_before(d->heap[r], d->heap[m]))
            m = r;
        if (m == i)
            break;
        detect_rec *t = d->heap[i];
        d->heap[i] = d->heap[m];
        d->heap[m] = t;
        i = m;
    }
    return top;
}

/* ---- alerts ---------------------------------------------------------------- */

/*
 * The evidence of every detection has one shape (docs/alerts.md
 * "Evidence"): `user` (the user the finding is about; the client is the
 * event's src_ip, the server its dest_ip and dest_port), `window_start`
 * and `window_s`, and `facts`: [{name, value, threshold, names}], one
 * entry per thing counted or named.  `value` is the number, `threshold`
 * the option it was compared with, `names` at most DETECT_SAMPLE of the
 * distinct names counted (users, clients, mailboxes) or the one string a
 * fact is (a mailbox, a fetch item, a fingerprint).
 */
static json_t *evidence_new(const char *user)
{
    json_t *ev = json_object();
    if (user)
        json_object_set_new_nocheck(ev, "user", json_string(user));
    return ev;
}

static void put_window(json_t *ev, uint64_t start, uint64_t len_us)
{
    char b[28];
    output_format_rfc3339(start, b);
    json_object_set_new_nocheck(ev, "window_start", json_string(b));
    json_object_set_new_nocheck(ev, "window_s", json_integer((json_int_t)(len_us / 1000000u)));
}

/* Appends the fact `name` to ev's facts; returns it (borrowed). */
static json_t *fact(json_t *ev, const char *name)
{
    json_t *facts = json_object_get(ev, "facts"), *f = json_object();
    if (!facts) {
        facts = json_array();
        json_object_set_new_nocheck(ev, "facts", facts);
    }
    json_object_set_new_nocheck(f, "name", json_string(name));
    json_array_append_new(facts, f);
    return f;
}

/* A counted fact: its value, and the threshold it was compared with. */
static json_t *fact_count(json_t *ev, const char *name, uint64_t value)
{
    json_t *f = fact(ev, name);
    json_object_set_new_nocheck(f, "value", json_integer((json_int_t)value));
    return f;
}

static json_t *fact_limit(json_t *ev, const char *name, uint64_t value, uint64_t threshold)
{
    json_t *f = fact_count(ev, name, value);
    json_object_set_new_nocheck(f, "threshold", json_integer((json_int_t)threshold));
    return f;
}

/* A fact that is one string. */
static void fact_text(json_t *ev, const char *name, const char *text)
{
    json_t *a = json_array();
    json_array_append_new(a, json_string(text));
    json_object_set_new_nocheck(fact(ev, name), "names", a);
}

/* Writes alert `which` on the connection of r, at r's time; evidence stolen. */
static void emit_alert(detect *d, const detect_rec *r, int which, const char *detail, json_t *evidence)
{
    json_t *a = json_object();
    int sev;
    unsigned sid;
    out_flow of = {r->flow_id, r->community_id[0] ? r->community_id : NULL, r->src_ip, r->src_port,
                   r->dest_ip, r->dest_port, r->text_no, NULL, "imap"};

    alert_sig_lookup(alert_info[which].name, &sev, &sid);
    json_object_set_new_nocheck(a, "name", json_string(alert_info[which].name));
    json_object_set_new_nocheck(a, "description", json_string(alert_info[which].description));
    json_object_set_new_nocheck(a, "severity", json_integer(sev));
    json_object_set_new_nocheck(a, "signature_id", json_integer((json_int_t)sid));
    json_object_set_new_nocheck(a, "category", json_string("detect"));
    json_object_set_new_nocheck(a, "detail", json_string(detail));
    if (alert_info[which].technique_id) {
        json_t *m = json_object();
        json_object_set_new_nocheck(m, "technique_id", json_string(alert_info[which].technique_id));
        json_object_set_new_nocheck(m, "technique", json_string(alert_info[which].technique));
        json_object_set_new_nocheck(a, "mitre", m);
    }
    json_object_set_new_nocheck(a, "evidence", evidence ? evidence : evidence_new(NULL));
    d->alerts[which]++;
    if (d->report)
        report_event(d->report, "alert", r->ts_us, &of, a);
    output_event(d->out, "alert", r->ts_us, &of, a);
}

/* A table got its first eviction: one notice per table and run. */
static void note_eviction(detect *d, int table, const detect_rec *r)
{
    char detail[160];
    json_t *ev;

    if (d->full_reported[table] || !d->cfg.enabled)
        return;
    d->full_reported[table] = true;
    ev = evidence_new(NULL);
    fact_text(ev, "table", table_names[table]);
    fact_count(ev, "capacity", detect_table_cap(d->t[table]));
    snprintf(detail, sizeof detail, "the %s table is full (%u entries, %s): the least recently used "
             "are forgotten; counted in stats detect.evicted", table_names[table],
             detect_table_cap(d->t[table]), table == T_USERS ? "--max-users" : "--detect-max-keys");
    emit_alert(d, r, DA_TABLE_FULL, detail, ev);
}

static void *table_get(detect *d, int table, const char *key, const detect_rec *r)
{
    bool created, evicted;
    void *p = detect_table_get(d->t[table], key, true, &created, &evicted);
    if (evicted)
        note_eviction(d, table, r);
    return p;
}

/* ---- per-user bookkeeping ---------------------------------------------------- */

static void list_add(char *arr, size_t width, uint8_t *n, unsigned max, const char *s, bool *truncated)
{
    if (!*s)
        return;
    for (unsigned i = 0; i < *n; i++)
        if (strncmp(arr + i * width, s, width - 1) == 0)
            return;
    if (*n >= max) {
        *truncated = true;
        return;
    }
    set_str(arr + (size_t)*n * width, width, s);
    (*n)++;
}

#define LIST_ADD(u, field, count, s) \
    list_add(&(u)->field[0][0], sizeof (u)->field[0], &(u)->count, \
             sizeof (u)->field / sizeof (u)->field[0], (s), &(u)->truncated)

static user_ent *user_of(detect *d, const detect_rec *r)
{
    user_ent *u;
    if (!r->user[0])
        return NULL;
    u = table_get(d, T_USERS, r->user, r);
    if (!u->name[0]) {
        set_str(u->name, sizeof u->name, r->user);
        u->first_seen = r->ts_us;
    }
    if (r->ts_us > u->last_seen)
        u->last_seen = r->ts_us;
    return u;
}

/* Appends s to buf[len] (at *o), cut at the end. */
static void append(char *buf, size_t len, size_t *o, const char *s)
{
    size_t n = strlen(s);
    if (*o + 1 >= len)
        return;
    if (n > len - 1 - *o)
        n = len - 1 - *o;
    memcpy(buf + *o, s, n);
    *o += n;
    buf[*o] = '\0';
}

/* "id name=x;version=y ja4 t13... ja3 abc... banner ..." (cut to len) */
static void fp_describe(const detect_rec *r, char *buf, size_t len)
{
    size_t o = 0;
    const char *label[4] = {"id ", "ja4 ", "ja3 ", "banner "};
    const char *val[4] = {r->id, r->ja4, r->ja3, r->banner};
    buf[0] = '\0';
    for (int i = 0; i < 4; i++) {
        if (!val[i][0])
            continue;
        if (o)
            append(buf, len, &o, " ");
        append(buf, len, &o, label[i]);
        append(buf, len, &o, val[i]);
    }
}

/* ---- detections -------------------------------------------------------------- */

static void on_login(detect *d, const detect_rec *r)
{
    const detect_config *c = &d->cfg;
    user_ent *u = user_of(d, r);
    char key[DETECT_KEY_MAX], detail[320];
    server_ent *sv;
    char skey[64];

    snprintf(skey, sizeof skey, "%s:%u", r->dest_ip, r->dest_port);
    if (u) {
        if (r->ok) {
            u->logins_ok++;
            if (!r->tls)
                u->cleartext++;
        } else {
            u->logins_failed++;
        }
        LIST_ADD(u, sources, n_sources, r->src_ip);
        LIST_ADD(u, mechanisms, n_mech, r->mechanism);
    }
    if (!c->enabled)
        goto users_only;

    /* credential_stuffing: per server, distinct clients and users, success rate */
    sv = table_get(d, T_SERVERS, skey, r);
    win_roll(&sv->stuff, r->ts_us, c->stuff_window_us);
    if (sv->stuff.a == 0 && sv->stuff.b == 0) {
        memset(&sv->clients, 0, sizeof sv->clients);
        memset(&sv->users, 0, sizeof sv->users);
    }
    if (r->ok)
        sv->stuff.b++;
    else
        sv->stuff.a++;
    dset_add(&sv->clients, r->src_ip);
    if (r->user[0])
        dset_add(&sv->users, r->user);
    if (!r->ok && !sv->stuff.alerted && sv->clients.n >= c->stuff_clients && sv->users.n >= c->stuff_users) {
        uint64_t tot = sv->stuff.a + sv->stuff.b;
        uint64_t pct = tot ? sv->stuff.b * 100 / tot : 0;
        if (pct <= c->stuff_success_pct) {
            json_t *ev = evidence_new(NULL);
            sv->stuff.alerted = true;
            put_window(ev, sv->stuff.start, c->stuff_window_us);
            json_object_set_new_nocheck(fact_limit(ev, "clients", sv->clients.n, c->stuff_clients), "names",
                                        dset_sample(&sv->clients));
            json_object_set_new_nocheck(fact_limit(ev, "users", sv->users.n, c->stuff_users), "names",
                                        dset_sample(&sv->users));
            fact_count(ev, "failures", sv->stuff.a);
            fact_count(ev, "successes", sv->stuff.b);
            fact_limit(ev, "success_pct", pct, c->stuff_success_pct); /* at most */
            snprintf(detail, sizeof detail, "%u clients tried %u users against %s: %llu failed, %llu succeeded "
                     "(%llu%%) within %llu s", sv->clients.n, sv->users.n, skey,
                     (unsigned long long)sv->stuff.a, (unsigned long long)sv->stuff.b, (unsigned long long)pct,
                     (unsigned long long)(c->stuff_window_us / 1000000u));
            emit_alert(d, r, DA_STUFFING, detail, ev);
        }
    }

    if (!r->ok) {
        /* auth_bruteforce: per (client, user) */
        pair_ent *p;
        client_ent *cl;
        snprintf(key, sizeof key, "%s\x1f%s", r->src_ip, r->user);
        p = table_get(d, T_PAIRS, key, r);
        win_roll(&p->fails, r->ts_us, c->bf_window_us);
        p->fails.a++;
        if (!p->fails.alerted && p->fails.a >= c->bf_failures) {
            json_t *ev = evidence_new(r->user);
            p->fails.alerted = true;
            put_window(ev, p->fails.start, c->bf_window_us);
            fact_limit(ev, "failures", p->fails.a, c->bf_failures);
            snprintf(detail, sizeof detail, "%llu failed logins from %s as \"%.64s\" within %llu s",
                     (unsigned long long)p->fails.a, r->src_ip, r->user,
                     (unsigned long long)(c->bf_window_us / 1000000u));
            emit_alert(d, r, DA_BRUTEFORCE, detail, ev);
        }
        /* password_spraying: per client, distinct users failed */
        cl = table_get(d, T_CLIENTS, r->src_ip, r);
        win_roll(&cl->w, r->ts_us, c->spray_window_us);
        if (cl->w.a == 0)
            memset(&cl->users, 0, sizeof cl->users);
        cl->w.a++;
        if (r->user[0])
            dset_add(&cl->users, r->user);
        if (!cl->w.alerted && cl->users.n >= c->spray_users) {
            json_t *ev = evidence_new(NULL);
            cl->w.alerted = true;
            put_window(ev, cl->w.start, c->spray_window_us);
            json_object_set_new_nocheck(fact_limit(ev, "users", cl->users.n, c->spray_users), "names",
                                        dset_sample(&cl->users));
            fact_count(ev, "failures", cl->w.a);
            snprintf(detail, sizeof detail, "%s failed to log in as %u different users within %llu s",
                     r->src_ip, cl->users.n, (unsigned long long)(c->spray_window_us / 1000000u));
            emit_alert(d, r, DA_SPRAY, detail, ev);
        }
        if (u) {
            win_roll(&u->fails, r->ts_us, c->after_window_us);
            if (u->fails.a == 0)
                memset(&u->fail_clients, 0, sizeof u->fail_clients);
            u->fails.a++;
            dset_add(&u->fail_clients, r->src_ip);
        }
    } else if (u) {
        /* login_after_failures */
        if (u->fails.open && r->ts_us >= u->fails.start && r->ts_us - u->fails.start <= c->after_window_us &&
            u->fails.a >= c->after_failures) {
            json_t *ev = evidence_new(r->user);
            put_window(ev, u->fails.start, c->after_window_us);
            fact_limit(ev, "failures", u->fails.a, c->after_failures);
            /* the clients of those failures (the success's is src_ip) */
            json_object_set_new_nocheck(fact_count(ev, "clients", u->fail_clients.n), "names",
                                        dset_sample(&u->fail_clients));
            snprintf(detail, sizeof detail, "\"%.64s\" logged in from %s after %llu failed logins within %llu s",
                     r->user, r->src_ip, (unsigned long long)u->fails.a,
                     (unsigned long long)(c->after_window_us / 1000000u));
            emit_alert(d, r, DA_AFTER_FAILURES, detail, ev);
        }
        u->fails.open = false; /* the count starts again after a success */
    }

users_only:
    if (u && r->ok) {
        /* new_client_fingerprint, and the clients list */
        char desc[DETECT_FP_MAX];
        fp_describe(r, desc, sizeof desc);
        if (desc[0]) {
            /* Known when a remembered fingerprint agrees on every part
             * both have (a client that sent ID once and not the next
             * time, or whose TLS was not seen, is still the same). */
            const char *part[4] = {r->id, r->ja3, r->ja4, r->banner};
            uint32_t h[4];
            bool known = false;
            for (int k = 0; k < 4; k++)
                h[k] = part[k][0] ? (fnv32(part[k]) | 1u) : 0;
            for (unsigned i = 0; i < u->n_fps && !known; i++) {
                bool agree = true, shared = false;
                for (int k = 0; k < 4; k++) {
                    if (h[k] && u->fps[i][k]) {
                        shared = true;
                        agree &= h[k] == u->fps[i][k];
                    }
                }
                known = agree && shared;
            }
            if (!known) {
                if (c->enabled && u->n_fps > 0) {
                    json_t *ev = evidence_new(r->user), *seen = json_array();
                    /* as imap_user.clients writes them: "id ... ja4 ... ja3 ... banner ..." */
                    fact_text(ev, "fingerprint", desc);
                    for (unsigned i = 0; i < u->n_clients && i < DETECT_SAMPLE; i++)
                        json_array_append_new(seen, json_string(u->clients[i]));
                    json_object_set_new_nocheck(fact_count(ev, "known_fingerprints", u->n_fps), "names", seen);
                    snprintf(detail, sizeof detail, "\"%.64s\" logged in from %s with a client not seen "
                             "before for this user: %s", r->user, r->src_ip, desc);
                    emit_alert(d, r, DA_NEW_FP, detail, ev);
                }
                if (u->n_fps < DETECT_FPS)
                    memcpy(u->fps[u->n_fps++], h, sizeof h);
                else
                    u->truncated = true; /* a later client is new again each time: alerts, capped per kind */
            }
            LIST_ADD(u, clients, n_clients, desc);
        }
    }
}

static void on_fetch(detect *d, const detect_rec *r, user_ent *u)
{
    const detect_config *c = &d->cfg;
    char detail[320];

    u->msgs_fetched += r->messages;
    u->bytes_fetched += r->bytes;
    if (r->mailbox[0])
        LIST_ADD(u, mailboxes, n_mbox, r->mailbox);
    if (!c->enabled)
        return;
    win_roll(&u->bulk, r->ts_us, c->bulk_window_us);
    if (u->bulk.a == 0 && u->bulk.b == 0)
        u->whole_alerted = false;
    u->bulk.a += r->bytes;
    u->bulk.b += r->messages;
    if (r->whole_mailbox && !u->whole_alerted && !u->bulk.alerted) {
        json_t *ev = evidence_new(r->user);
        u->whole_alerted = true;
        fact_text(ev, "whole_mailbox", r->mailbox);
        fact_text(ev, "items", r->items);
        fact_count(ev, "messages", r->messages);
        fact_count(ev, "bytes", r->bytes);
        snprintf(detail, sizeof detail, "\"%.64s\" fetched %s of every message of \"%.64s\" (1:*): %llu messages, "
                 "%llu bytes", r->user, r->items, r->mailbox, (unsigned long long)r->messages,
                 (unsigned long long)r->bytes);
        emit_alert(d, r, DA_BULK, detail, ev);
    }
    if (!u->bulk.alerted && (u->bulk.a >= c->bulk_bytes || u->bulk.b >= c->bulk_messages)) {
        json_t *ev = evidence_new(r->user);
        u->bulk.alerted = true;
        put_window(ev, u->bulk.start, c->bulk_window_us);
        fact_limit(ev, "messages", u->bulk.b, c->bulk_messages);
        fact_limit(ev, "bytes", u->bulk.a, c->bulk_bytes);
        snprintf(detail, sizeof detail, "\"%.64s\" fetched %llu messages, %llu bytes within %llu s", r->user,
                 (unsigned long long)u->bulk.b, (unsigned long long)u->bulk.a,
                 (unsigned long long)(c->bulk_window_us / 1000000u));
        emit_alert(d, r, DA_BULK, detail, ev);
    }
}

static void on_delete(detect *d, const detect_rec *r, user_ent *u)
{
    const detect_config *c = &d->cfg;
    char detail[320];

    if (r->kind == DETECT_FLAG_DELETED)
        u->msgs_deleted += r->messages;
    else if (r->kind == DETECT_EXPUNGE)
        u->msgs_expunged += r->messages;
    else
        u->mailboxes_deleted++;
    if (r->mailbox[0] && r->kind != DETECT_DELETE_MAILBOX)
        LIST_ADD(u, mailboxes, n_mbox, r->mailbox);
    if (!c->enabled)
        return;
    win_roll(&u->del, r->ts_us, c->del_window_us);
    if (u->del.a == 0 && u->del.b == 0 && u->del.c == 0)
        memset(&u->del_mailboxes, 0, sizeof u->del_mailboxes);
    if (r->kind == DETECT_FLAG_DELETED)
        u->del.a += r->messages;
    else if (r->kind == DETECT_EXPUNGE)
        u->del.b += r->messages;
    else
        u->del.c++;
    if (r->mailbox[0])
        dset_add(&u->del_mailboxes, r->mailbox);
    if (!u->del.alerted &&
        (u->del.a >= c->del_messages || u->del.b >= c->del_messages || u->del.c >= c->del_mailboxes)) {
        json_t *ev = evidence_new(r->user);
        u->del.alerted = true;
        put_window(ev, u->del.start, c->del_window_us);
        fact_limit(ev, "messages_flagged_deleted", u->del.a, c->del_messages);
        fact_limit(ev, "messages_expunged", u->del.b, c->del_messages);
        fact_limit(ev, "mailboxes_deleted", u->del.c, c->del_mailboxes);
        json_object_set_new_nocheck(fact_count(ev, "mailboxes", u->del_mailboxes.n), "names",
                                    dset_sample(&u->del_mailboxes));
        snprintf(detail, sizeof detail, "\"%.64s\" flagged %llu messages \\Deleted, expunged %llu, deleted %llu "
                 "mailboxes within %llu s", r->user, (unsigned long long)u->del.a, (unsigned long long)u->del.b,
                 (unsigned long long)u->del.c, (unsigned long long)(c->del_window_us / 1000000u));
        emit_alert(d, r, DA_MASS_DELETE, detail, ev);
    }
}

static void on_move(detect *d, const detect_rec *r, user_ent *u)
{
    const detect_config *c = &d->cfg;
    char detail[320];

    u->msgs_moved += r->messages;
    if (!c->enabled)
        return;
    win_roll(&u->move, r->ts_us, c->move_window_us);
    if (u->move.a == 0)
        memset(&u->move_targets, 0, sizeof u->move_targets);
    u->move.a += r->messages;
    if (r->mailbox[0])
        dset_add(&u->move_targets, r->mailbox);
    if (!u->move.alerted && u->move.a >= c->move_messages) {
        json_t *ev = evidence_new(r->user);
        u->move.alerted = true;
        put_window(ev, u->move.start, c->move_window_us);
        fact_limit(ev, "messages", u->move.a, c->move_messages);
        json_object_set_new_nocheck(fact_count(ev, "target_mailboxes", u->move_targets.n), "names",
                                    dset_sample(&u->move_targets));
        snprintf(detail, sizeof detail, "\"%.64s\" moved %llu messages within %llu s", r->user,
                 (unsigned long long)u->move.a, (unsigned long long)(c->move_window_us / 1000000u));
        emit_alert(d, r, DA_MASS_MOVE, detail, ev);
    }
}

static void on_starttls(detect *d, const detect_rec *r)
{
    char skey[64], detail[320];
    uint64_t with = 0, without = 0;
    server_ent *sv;

    if (!d->cfg.enabled)
        return;
    snprintf(skey, sizeof skey, "%s:%u", r->dest_ip, r->dest_port);
    sv = table_get(d, T_SERVERS, skey, r);
    dset_add(r->offered ? &sv->with : &sv->without, r->src_ip);
    if (!r->offered && !sv->first_without.set) {
        flow_env *fe = &sv->first_without;
        fe->set = true;
        fe->flow_id = r->flow_id;
        fe->text_no = r->text_no;
        memcpy(fe->community_id, r->community_id, sizeof fe->community_id);
        memcpy(fe->src_ip, r->src_ip, sizeof fe->src_ip);
        memcpy(fe->dest_ip, r->dest_ip, sizeof fe->dest_ip);
        fe->src_port = r->src_port;
        fe->dest_port = r->dest_port;
    }
    if (d->starttls) {
        starttls_seen_mix(d->starttls, &r->server, r->offered, &with, &without);
    } else {
        with = sv->with.n;
        without = sv->without.n;
    }
    if (!sv->stripped_alerted && with > 0 && without > 0) {
        json_t *ev = evidence_new(NULL);
        sv->stripped_alerted = true;
        /* names: clients of those connections */
        json_object_set_new_nocheck(fact_count(ev, "flows_with_starttls", with), "names", dset_sample(&sv->with));
        json_object_set_new_nocheck(fact_count(ev, "flows_without_starttls", without), "names",
                                    dset_sample(&sv->without));
        snprintf(detail, sizeof detail, "%s offered STARTTLS before TLS on %llu connections and not on %llu, "
                 "this one among them", skey, (unsigned long long)with, (unsigned long long)without);
        if (r->offered && sv->first_without.set) {
            /* the evidence came with an offering connection: the alert
             * goes on the first one that was not offered STARTTLS (the one
             * a man in the middle stripped), at the time of the evidence */
            const flow_env *fe = &sv->first_without;
            detect_rec on = *r;
            on.flow_id = fe->flow_id;
            on.text_no = fe->text_no;
            memcpy(on.community_id, fe->community_id, sizeof on.community_id);
            memcpy(on.src_ip, fe->src_ip, sizeof on.src_ip);
            memcpy(on.dest_ip, fe->dest_ip, sizeof on.dest_ip);
            on.src_port = fe->src_port;
            on.dest_port = fe->dest_port;
            fact_count(ev, "evidence_flow_id", r->flow_id);
            emit_alert(d, &on, DA_STRIPPED, detail, ev);
        } else {
            emit_alert(d, r, DA_STRIPPED, detail, ev);
        }
    }
}

static void process(detect *d, const detect_rec *r)
{
    user_ent *u;

    if (r->ts_us > d->processed_max_ts)
        d->processed_max_ts = r->ts_us;
    d->records[r->kind]++;
    switch (r->kind) {
    case DETECT_LOGIN:
        on_login(d, r);
        return;
    case DETECT_STARTTLS:
        on_starttls(d, r);
        return;
    default:
        break;
    }
    u = user_of(d, r);
    if (!u) {
        d->unattributed++;
        return;
    }
    switch (r->kind) {
    case DETECT_SELECT:
        LIST_ADD(u, mailboxes, n_mbox, r->mailbox);
        break;
    case DETECT_FETCH:
        on_fetch(d, r, u);
        break;
    case DETECT_APPEND:
        u->msgs_appended += r->messages;
        u->bytes_appended += r->bytes;
        LIST_ADD(u, mailboxes, n_mbox, r->mailbox);
        break;
    case DETECT_FLAG_DELETED:
    case DETECT_EXPUNGE:
    case DETECT_DELETE_MAILBOX:
        on_delete(d, r, u);
        break;
    case DETECT_MOVE:
        on_move(d, r, u);
        break;
    default:
        break;
    }
}

/* Processes the waiting records older than every feeder's clock (all of
 * them when all is set).  Lock held. */
static void drain(detect *d, bool all)
{
    uint64_t wm = UINT64_MAX;
    if (!all)
        for (unsigned i = 0; i < d->n_feeders; i++) {
            uint64_t c = atomic_load_explicit(&d->clock[i], memory_order_acquire);
            if (c < wm)
                wm = c;
        }
    while (d->n_heap > 0 && (all || d->heap[0]->ts_us < wm)) {
        detect_rec *r = heap_pop(d);
        process(d, r);
        free(r);
    }
    atomic_store_explicit(&d->pending, d->n_heap, memory_order_release);
    atomic_store_explicit(&d->oldest_ts, d->n_heap ? d->heap[0]->ts_us : UINT64_MAX, memory_order_release);
}

/* ---- the interface ------------------------------------------------------------ */

void detect_submit(detect *d, unsigned f, const detect_rec *r)
{
    detect_rec *copy = malloc(sizeof *copy);
    (void)f;
    pthread_mutex_lock(&d->mu);
    if (d->finished) {
        free(copy);
        pthread_mutex_unlock(&d->mu);
        return;
    }
    if (d->n_heap == d->cap_heap) {
        /* full: the oldest goes now, whatever the clocks say */
        detect_rec *old = heap_pop(d);
        d->reorder_forced++;
        if (!d->forced_reported && d->cfg.enabled) {
            char detail[160];
            json_t *ev = evidence_new(NULL);
            d->forced_reported = true;
            fact_text(ev, "table", "reorder_buffer");
            fact_count(ev, "capacity", d->cap_heap);
            snprintf(detail, sizeof detail, "the reorder buffer is full (%u records): the oldest are processed "
                     "before every thread's clock has passed them; counted in stats detect.reorder_forced",
                     d->cap_heap);
            emit_alert(d, old, DA_TABLE_FULL, detail, ev);
        }
        process(d, old);
        free(old);
    }
    if (!copy) {
        /* no memory for the copy: processed now (order may differ) */
        d->reorder_forced++;
        process(d, r);
    } else {
        *copy = *r;
        if (r->ts_us < d->processed_max_ts)
            d->late++;
        heap_push(d, copy);
    }
    atomic_store_explicit(&d->pending, d->n_heap, memory_order_release);
    atomic_store_explicit(&d->oldest_ts, d->n_heap ? d->heap[0]->ts_us : UINT64_MAX, memory_order_release);
    pthread_mutex_unlock(&d->mu);
}

void detect_clock(detect *d, unsigned f, uint64_t now_us)
{
    if (f >= d->n_feeders)
        return;
    if (now_us > atomic_load_explicit(&d->clock[f], memory_order_relaxed))
        atomic_store_explicit(&d->clock[f], now_us, memory_order_release);
    /* nothing waits that this clock could release (per packet: no lock) */
    if (atomic_load_explicit(&d->pending, memory_order_acquire) == 0 ||
        atomic_load_explicit(&d->oldest_ts, memory_order_acquire) >= now_us)
        return;
    pthread_mutex_lock(&d->mu);
    drain(d, false);
    pthread_mutex_unlock(&d->mu);
}

/* ---- imap_user events ------------------------------------------------------------ */

typedef struct user_list {
    user_ent **v;
    unsigned n, cap;
} user_list;

static void collect_user(void *ctx, const char *key, void *payload)
{
    user_list *l = ctx;
    user_ent *u = payload;
    (void)key;
    if (u->name[0] && l->n < l->cap)
        l->v[l->n++] = u;
}

static int cmp_user(const void *a, const void *b)
{
    return strcmp((*(user_ent *const *)a)->name, (*(user_ent *const *)b)->name);
}

static json_t *str_list(const char *arr, size_t width, unsigned n)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < n; i++)
        json_array_append_new(a, json_string(arr + (size_t)i * width));
    return a;
}

#define STR_LIST(u, field, count) str_list(&(u)->field[0][0], sizeof (u)->field[0], (u)->count)

static json_t *user_body(const user_ent *u)
{
    json_t *b = json_object();
    char t[28];
    json_object_set_new_nocheck(b, "user", json_string(u->name));
    json_object_set_new_nocheck(b, "logins_ok", json_integer((json_int_t)u->logins_ok));
    json_object_set_new_nocheck(b, "logins_failed", json_integer((json_int_t)u->logins_failed));
    json_object_set_new_nocheck(b, "sources", STR_LIST(u, sources, n_sources));
    json_object_set_new_nocheck(b, "mechanisms", STR_LIST(u, mechanisms, n_mech));
    /* (over TLS: logins_ok - cleartext) */
    json_object_set_new_nocheck(b, "cleartext", json_integer((json_int_t)u->cleartext));
    json_object_set_new_nocheck(b, "mailboxes", STR_LIST(u, mailboxes, n_mbox));
    json_object_set_new_nocheck(b, "messages_fetched", json_integer((json_int_t)u->msgs_fetched));
    json_object_set_new_nocheck(b, "bytes_fetched", json_integer((json_int_t)u->bytes_fetched));
    json_object_set_new_nocheck(b, "messages_appended", json_integer((json_int_t)u->msgs_appended));
    json_object_set_new_nocheck(b, "bytes_appended", json_integer((json_int_t)u->bytes_appended));
    json_object_set_new_nocheck(b, "messages_flagged_deleted", json_integer((json_int_t)u->msgs_deleted));
    json_object_set_new_nocheck(b, "messages_expunged", json_integer((json_int_t)u->msgs_expunged));
    json_object_set_new_nocheck(b, "messages_moved", json_integer((json_int_t)u->msgs_moved));
    json_object_set_new_nocheck(b, "mailboxes_deleted", json_integer((json_int_t)u->mailboxes_deleted));
    json_object_set_new_nocheck(b, "clients", STR_LIST(u, clients, n_clients));
    /* (last seen: the event's timestamp, emit_users) */
    output_format_rfc3339(u->first_seen, t);
    json_object_set_new_nocheck(b, "first_seen", json_string(t));
    json_object_set_new_nocheck(b, "truncated", json_boolean(u->truncated));
    return b;
}

/* One imap_user event per user, by name, each at the time of the last
 * record counted for that user (its "last seen": the packet that
 * completed what the event says, as for every event).  Lock held. */
static void emit_users(detect *d)
{
    user_list l = {0};
    if (!d->cfg.users)
        return;
    l.cap = detect_table_count(d->t[T_USERS]);
    if (l.cap == 0)
        return;
    l.v = malloc(l.cap * sizeof *l.v);
    if (!l.v)
        return;
    detect_table_foreach(d->t[T_USERS], collect_user, &l);
    qsort(l.v, l.n, sizeof *l.v, cmp_user);
    for (unsigned i = 0; i < l.n; i++) {
        json_t *b = user_body(l.v[i]);
        d->user_events++;
        if (d->report)
            report_event(d->report, "imap_user", l.v[i]->last_seen, NULL, b);
        output_event(d->out, "imap_user", l.v[i]->last_seen, NULL, b);
    }
    free(l.v);
}

void detect_tick(detect *d, uint64_t now_us)
{
    pthread_mutex_lock(&d->mu);
    if (!d->finished && d->cfg.user_interval_us) {
        if (d->last_users_us == 0)
            d->last_users_us = now_us;
        else if (now_us - d->last_users_us >= d->cfg.user_interval_us) {
            d->last_users_us = now_us;
            drain(d, false);
            emit_users(d);
        }
    }
    /* live: the alerts written since the last tick go out (with
     * --threads the layer writes to a buffer of its own) */
    if (!d->finished)
        output_flush(d->out);
    pthread_mutex_unlock(&d->mu);
}

void detect_finish(detect *d, uint64_t now_us)
{
    pthread_mutex_lock(&d->mu);
    if (!d->finished) {
        drain(d, true);
        d->finished = true;
        emit_users(d);
        /* written now: with --threads the layer's output is a fork whose
         * buffer must reach the file before the final stats event */
        output_flush(d->out);
    }
    pthread_mutex_unlock(&d->mu);
}

json_t *detect_stats(detect *d)
{
    json_t *s = json_object(), *al = json_array(), *tb = json_array();
    uint64_t recs = 0;

    pthread_mutex_lock(&d->mu);
    for (int i = 0; i < DETECT_KIND_COUNT; i++)
        recs += d->records[i];
    json_object_set_new_nocheck(s, "records", json_integer((json_int_t)recs));
    for (int i = 0; i < DA_COUNT; i++) {
        json_t *a = json_object();
        json_object_set_new_nocheck(a, "name", json_string(alert_info[i].name));
        json_object_set_new_nocheck(a, "count", json_integer((json_int_t)d->alerts[i]));
        json_array_append_new(al, a);
    }
    json_object_set_new_nocheck(s, "alerts", al);
    for (int i = 0; i < T_COUNT; i++) {
        json_t *t = json_object();
        json_object_set_new_nocheck(t, "name", json_string(table_names[i]));
        json_object_set_new_nocheck(t, "entries", json_integer(detect_table_count(d->t[i])));
        json_object_set_new_nocheck(t, "capacity", json_integer(detect_table_cap(d->t[i])));
        json_object_set_new_nocheck(t, "evicted", json_integer((json_int_t)detect_table_evicted(d->t[i])));
        json_array_append_new(tb, t);
    }
    json_object_set_new_nocheck(s, "tables", tb);
    json_object_set_new_nocheck(s, "user_events", json_integer((json_int_t)d->user_events));
    json_object_set_new_nocheck(s, "unattributed", json_integer((json_int_t)d->unattributed));
    json_object_set_new_nocheck(s, "reorder_forced", json_integer((json_int_t)d->reorder_forced));
    json_object_set_new_nocheck(s, "late_records", json_integer((json_int_t)d->late));
    pthread_mutex_unlock(&d->mu);
    return s;
}

unsigned detect_user_count(detect *d)
{
    return detect_table_count(d->t[T_USERS]);
}

uint64_t detect_users_evicted(detect *d)
{
    return detect_table_evicted(d->t[T_USERS]);
}
