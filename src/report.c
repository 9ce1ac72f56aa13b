/*
 * report.c - the report's intake: events in, bounded aggregates kept
 * (see report.h for what is kept and its bounds).  The page is written by
 * report_html.c, the --stats tables by report_stats.c; the latency
 * histogram, the bounded key tables and the formatting are in
 * report_tables.c.
 */
#include "report_priv.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


/* ---- small helpers --------------------------------------------------------------- */

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static uint64_t jint(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    json_int_t i = json_is_integer(v) ? json_integer_value(v) : 0;
    return i > 0 ? (uint64_t)i : 0;
}


/* The same for the dissector's trees (typed events). */
static const char *nstr(const imap_node *o, const char *k)
{
    return imap_node_str(imap_node_get(o, k), NULL);
}

/* A span as a C string in buf (cut to len - 1 bytes); NULL when absent. */
static const char *span_cstr(imap_span sp, char *buf, size_t len)
{
    if (!sp.ptr)
        return NULL;
    size_t n = sp.len < len - 1 ? sp.len : len - 1;
    memcpy(buf, sp.ptr, n);
    buf[n] = '\0';
    return buf;
}

/* A copy of s cut to max bytes ("..." added when cut); NULL stays NULL. */
static char *dup_cut(const char *s, size_t max)
{
    size_t n;
    char *d;

    if (!s)
        return NULL;
    n = report_utf8_cut(s, max);
    d = malloc(n + 4);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    if (n < strlen(s))
        memcpy(d + n, "...", 3), n += 3;
    d[n] = '\0';
    return d;
}

static void copy_cut(char *dst, size_t dstlen, const char *s)
{
    size_t n;

    if (!s) {
        dst[0] = '\0';
        return;
    }
    n = report_utf8_cut(s, dstlen - 1);
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static void endpoint(char *dst, size_t len, const char *ip, uint16_t port)
{
    if (!ip)
        ip = "?";
    snprintf(dst, len, strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, port);
}

/* ---- time axis --------------------------------------------------------------------- */

static void series_fold(uint32_t *s)
{
    for (unsigned i = 0; i < REPORT_BUCKETS / 2; i++)
        s[i] = s[2 * i] + s[2 * i + 1];
    memset(s + REPORT_BUCKETS / 2, 0, (REPORT_BUCKETS - REPORT_BUCKETS / 2) * sizeof *s);
}

/* Doubles the bucket width: every series folds pairs of buckets. */
static void axis_double(report *r)
{
    r->ax.width_us *= 2;
    for (unsigned i = 0; i < REPORT_BUCKETS / 2; i++)
        r->open_us[i] = r->open_us[2 * i] + r->open_us[2 * i + 1];
    memset(r->open_us + REPORT_BUCKETS / 2, 0, (REPORT_BUCKETS - REPORT_BUCKETS / 2) * sizeof r->open_us[0]);
    series_fold(r->started_tls);
    series_fold(r->started_clear);
    series_fold(r->alert_series);
    for (unsigned i = 0; i < r->cmds.n; i++)
        series_fold(((cmd_entry *)KM_AT(&r->cmds, i))->series);
    for (unsigned i = 0; i < r->users.n; i++) {
        party_entry *u = KM_AT(&r->users, i);
        if (u->series) {
            series_fold(u->series);
            series_fold(u->series + REPORT_BUCKETS);
        }
    }
}

/* The bucket of ts: the axis starts at the first time seen (earlier times
 * fall in bucket 0) and widens until ts fits. */
static unsigned axis_bucket(report *r, uint64_t ts)
{
    if (!r->ax.set) {
        r->ax.set = true;
        r->ax.start_us = ts;
        r->ax.width_us = 1000;
    }
    if (ts < r->ax.start_us)
        return 0;
    while ((ts - r->ax.start_us) / r->ax.width_us >= REPORT_BUCKETS)
        axis_double(r);
    return (unsigned)((ts - r->ax.start_us) / r->ax.width_us);
}

static void seen_time(report *r, uint64_t ts)
{
    if (!ts)
        return;
    if (!r->first_us || ts < r->first_us)
        r->first_us = ts;
    if (ts > r->last_us)
        r->last_us = ts;
}

unsigned report_buckets_used(const report *r)
{
    unsigned used = 0;

    for (unsigned i = 0; i < REPORT_BUCKETS; i++)
        if (r->open_us[i] || r->started_tls[i] || r->started_clear[i] || r->alert_series[i])
            used = i + 1;
    for (unsigned k = 0; k < r->cmds.n; k++) {
        const cmd_entry *c = KM_AT(&r->cmds, k);
        for (unsigned i = used; i < REPORT_BUCKETS; i++)
            if (c->series[i])
                used = i + 1;
    }
    if (r->ax.set && r->last_us > r->ax.start_us) {
        uint64_t b = (r->last_us - r->ax.start_us) / r->ax.width_us + 1;
        if (b > used)
            used = b > REPORT_BUCKETS ? REPORT_BUCKETS : (unsigned)b;
    }
    return used ? used : 1;
}

/* ---- open connections ---------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static int open_grow(report *r)
{
    unsigned ns = r->open_slots ? r->open_slots * 2 : 256;
    open_conn *t = calloc(ns, sizeof *t);

    if (!t)
        return -1;
    for (unsigned i = 0; i < r->open_slots; i++) {
        open_conn *o = &r->open[i];
        if (!o->flow_id || o->tombstone)
            continue;
        unsigned j = (unsigned)(mix64(o->flow_id) & (ns - 1));
        while (t[j].flow_id)
            j = (j + 1) & (ns - 1);
        t[j] = *o;
    }
    free(r->open);
    r->open = t;
    r->open_slots = ns;
    r->n_open_used = r->n_open;
    return 0;
}

/* The open state of flow_id; made when create (NULL: out of memory).
 * Only report_flow_begin creates: every connection that has a first line
 * also gets an imap_session event (engine.c), which releases the state, so
 * the open states are bounded by the engine's --max-flows. */
static open_conn *open_get(report *r, uint64_t flow_id, bool create)
{
    unsigned j;
    open_conn *tomb = NULL;

    if (!flow_id)
        return NULL;
    if (r->open_slots) {
        j = (unsigned)(mix64(flow_id) & (r->open_slots - 1));
        while (r->open[j].flow_id) {
            open_conn *o = &r->open[j];
            if (o->tombstone) {
                if (!tomb)
                    tomb = o;
            } else if (o->flow_id == flow_id) {
                return o;
            }
            j = (j + 1) & (r->open_slots - 1);
        }
        if (!create)
            return NULL;
        if (!tomb && (r->n_open_used + 1) * 4 > r->open_slots * 3) {
            if (open_grow(r) != 0)
                return NULL;
            return open_get(r, flow_id, true);
        }
        open_conn *o = tomb ? tomb : &r->open[j];
        if (!tomb)
            r->n_open_used++;
        memset(o, 0, sizeof *o);
        o->flow_id = flow_id;
        r->n_open++;
        /* a trace buffer when the budget allows one */
        if (r->cfg.trace_bytes && r->trace_mem + 1024 <= r->cfg.trace_memcap) {
            o->trace = malloc(1024);
            if (o->trace) {
                o->trace_cap = 1024;
                r->trace_mem += 1024;
            }
        }
        if (!o->trace)
            r->traces_unrecorded++;
        return o;
    }
    if (!create || open_grow(r) != 0)
        return NULL;
    return open_get(r, flow_id, true);
}

static void open_release(report *r, open_conn *o)
{
    if (o->trace) {
        r->trace_mem -= o->trace_cap;
        free(o->trace);
    }
    memset(o, 0, sizeof *o);
    o->flow_id = UINT64_MAX; /* tombstone: keeps probe chains intact */
    o->tombstone = true;
    r->n_open--;
}

/* Appends one line to the trace of o: "HH:MM:SS.uuuuuu text\n", within
 * trace_bytes for the connection and trace_memcap for all. */
static void trace_add(report *r, open_conn *o, uint64_t ts, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void trace_add(report *r, open_conn *o, uint64_t ts, const char *fmt, ...)
{
    char line[1024];
    int n;
    size_t len;
    va_list ap;
    time_t sec = (time_t)(ts / 1000000u);
    struct tm tm;

    if (!o || !o->trace)
        return;
    gmtime_r(&sec, &tm);
    n = snprintf(line, sizeof line, "%02d:%02d:%02d.%06u ", tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (unsigned)(ts % 1000000u));
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    len = strlen(line);
    if (len == sizeof line - 2)
        memcpy(line + len - 3, "...", 3);
    line[len++] = '\n';
    line[len] = '\0';
    if (o->trace_len + len > r->cfg.trace_bytes) {
        if (!o->lines_dropped)
            r->traces_truncated++;
        o->lines_dropped++;
        return;
    }
    if (o->trace_len + len + 1 > o->trace_cap) {
        size_t nc = o->trace_cap * 2;
        char *nt;
        while (nc < o->trace_len + len + 1)
            nc *= 2;
        if (nc > r->cfg.trace_bytes + 1)
            nc = r->cfg.trace_bytes + 1;
        if (r->trace_mem - o->trace_cap + nc > r->cfg.trace_memcap || !(nt = realloc(o->trace, nc))) {
            if (!o->lines_dropped)
                r->traces_truncated++;
            o->lines_dropped++;
            return;
        }
        r->trace_mem += nc - o->trace_cap;
        o->trace = nt;
        o->trace_cap = nc;
    }
    memcpy(o->trace + o->trace_len, line, len + 1);
    o->trace_len += len;
}

/* ---- heaps of kept rows and traces ------------------------------------------------------ */

/* a is less interesting than b: lower score, or later flow on a tie */
static bool less_row(const conn_row *a, const conn_row *b)
{
    return a->score != b->score ? a->score < b->score : a->flow_id > b->flow_id;
}

static bool less_trace(const kept_trace *a, const kept_trace *b)
{
    return a->score != b->score ? a->score < b->score : a->flow_id > b->flow_id;
}

#define HEAP_FUNCS(name, type, less)                                                   \
    static void name##_down(type *h, unsigned n, unsigned i)                           \
    {                                                                                  \
        for (;;) {                                                                     \
            unsigned l = 2 * i + 1, m = i;                                             \
            if (l < n && less(&h[l], &h[m]))                                           \
                m = l;                                                                 \
            if (l + 1 < n && less(&h[l + 1], &h[m]))                                   \
                m = l + 1;                                                             \
            if (m == i)                                                                \
                return;                                                                \
            type t = h[i];                                                             \
            h[i] = h[m];                                                               \
            h[m] = t;                                                                  \
            i = m;                                                                     \
        }                                                                              \
    }                                                                                  \
    static void name##_up(type *h, unsigned i)                                         \
    {                                                                                  \
        while (i > 0) {                                                                \
            unsigned p = (i - 1) / 2;                                                  \
            if (!less(&h[i], &h[p]))                                                   \
                return;                                                                \
            type t = h[i];                                                             \
            h[i] = h[p];                                                               \
            h[p] = t;                                                                  \
            i = p;                                                                     \
        }                                                                              \
    }

HEAP_FUNCS(rowheap, conn_row, less_row)
HEAP_FUNCS(trheap, kept_trace, less_trace)

static void row_keep(report *r, const conn_row *row)
{
    if (!r->cfg.max_conns) {
        r->rows_dropped++;
        return;
    }
    if (r->n_rows < r->cfg.max_conns) {
        r->rows[r->n_rows] = *row;
        rowheap_up(r->rows, r->n_rows++);
    } else if (less_row(&r->rows[0], row)) {
        r->rows[0] = *row;
        rowheap_down(r->rows, r->n_rows, 0);
        r->rows_dropped++;
    } else {
        r->rows_dropped++;
    }
}

/* Takes the trace of o (kept or freed). */
static void trace_keep(report *r, open_conn *o, uint64_t score, const char *title)
{
    kept_trace t;

    if (!o->trace)
        return;
    memset(&t, 0, sizeof t);
    t.flow_id = o->flow_id;
    t.score = score;
    t.text = o->trace;
    t.len = o->trace_len;
    t.lines_dropped = o->lines_dropped;
    copy_cut(t.title, sizeof t.title, title);
    r->trace_mem -= o->trace_cap;
    o->trace = NULL;
    o->trace_cap = 0;
    if (r->n_traces < r->cfg.max_traces) {
        r->traces[r->n_traces] = t;
        trheap_up(r->traces, r->n_traces++);
    } else if (r->n_traces && less_trace(&r->traces[0], &t)) {
        free(r->traces[0].text);
        r->traces[0] = t;
        trheap_down(r->traces, r->n_traces, 0);
        r->traces_dropped++;
    } else {
        free(t.text);
        r->traces_dropped++;
    }
}

const kept_trace *report_trace_of(const report *r, uint64_t flow_id)
{
    for (unsigned i = 0; i < r->n_traces; i++)
        if (r->traces[i].flow_id == flow_id)
            return &r->traces[i];
    return NULL;
}

bool report_row_kept(const report *r, uint64_t flow_id)
{
    for (unsigned i = 0; i < r->n_rows; i++)
        if (r->rows[i].flow_id == flow_id)
            return true;
    return false;
}

/* ---- life cycle ------------------------------------------------------------------------------ */

void report_config_default(report_config *cfg)
{
    cfg->max_conns = REPORT_MAX_CONNS;
    cfg->max_traces = REPORT_MAX_TRACES;
    cfg->trace_bytes = REPORT_TRACE_BYTES;
    cfg->trace_memcap = REPORT_TRACE_MEMCAP;
    cfg->max_keys = REPORT_MAX_KEYS;
    cfg->max_rows = REPORT_MAX_ROWS;
}

report *report_new(const report_config *cfg, char *errbuf, size_t errlen)
{
    report *r = calloc(1, sizeof *r);

    if (!r)
        goto oom;
    r->cfg = *cfg;
    if (r->cfg.trace_bytes && r->cfg.trace_bytes < 1024)
        r->cfg.trace_bytes = 1024;
    pthread_mutex_init(&r->mu, NULL);
    if (km_init(&r->cmds, sizeof(cmd_entry), REPORT_MAX_COMMANDS) ||
        km_init(&r->users, sizeof(party_entry), cfg->max_keys) ||
        km_init(&r->clients, sizeof(party_entry), cfg->max_keys) ||
        km_init(&r->servers, sizeof(party_entry), cfg->max_keys) ||
        km_init(&r->kinds, sizeof(kind_entry), cfg->max_keys))
        goto oom;
    r->rows = calloc(cfg->max_conns ? cfg->max_conns : 1, sizeof *r->rows);
    r->traces = calloc(cfg->max_traces ? cfg->max_traces : 1, sizeof *r->traces);
    r->arows = calloc(cfg->max_rows ? cfg->max_rows : 1, sizeof *r->arows);
    r->mrows = calloc(cfg->max_rows ? cfg->max_rows : 1, sizeof *r->mrows);
    if (!r->rows || !r->traces || !r->arows || !r->mrows)
        goto oom;
    return r;
oom:
    snprintf(errbuf, errlen, "--report: out of memory");
    report_free(r);
    return NULL;
}

static void party_free(void *e) { free(((party_entry *)e)->series); }
static void kind_free(void *e) { free(((kind_entry *)e)->category); }

void report_free(report *r)
{
    if (!r)
        return;
    km_free(&r->cmds, NULL);
    km_free(&r->users, party_free);
    km_free(&r->clients, party_free);
    km_free(&r->servers, party_free);
    km_free(&r->kinds, kind_free);
    for (unsigned i = 0; i < r->n_arows; i++) {
        alert_row *a = &r->arows[i];
        free(a->name), free(a->category), free(a->detail), free(a->client), free(a->server);
    }
    for (unsigned i = 0; i < r->n_mrows; i++) {
        msg_row *m = &r->mrows[i];
        free(m->command), free(m->mailbox), free(m->subject), free(m->from), free(m->date);
    }
    for (unsigned i = 0; i < r->open_slots; i++)
        if (r->open[i].flow_id && !r->open[i].tombstone)
            free(r->open[i].trace);
    for (unsigned i = 0; i < r->n_traces; i++)
        free(r->traces[i].text);
    for (unsigned i = 0; i < r->n_inputs; i++)
        free(r->inputs[i]);
    free(r->inputs);
    free(r->open);
    free(r->rows);
    free(r->traces);
    free(r->arows);
    free(r->mrows);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

void report_add_input(report *r, const char *name)
{
    char **n;

    pthread_mutex_lock(&r->mu);
    if (r->n_inputs < 64 && (n = realloc(r->inputs, (r->n_inputs + 1) * sizeof *n))) {
        r->inputs = n;
        r->inputs[r->n_inputs] = dup_cut(name, 1000);
        if (r->inputs[r->n_inputs])
            r->n_inputs++;
    }
    pthread_mutex_unlock(&r->mu);
}

/* ---- intake: one function per event kind ------------------------------------------------------ */

static unsigned status_index(const char *st)
{
    if (!st)
        return ST_NONE;
    if (!strcmp(st, "OK"))
        return ST_OK;
    if (!strcmp(st, "NO"))
        return ST_NO;
    if (!strcmp(st, "BAD"))
        return ST_BAD;
    return ST_NONE;
}

/* "Name <addr>" of the first address of an ENVELOPE address list. */
/* The first "from" of an envelope's "addresses" ([{field, name, ...}]). */
static void envelope_from(const imap_node *list, char *dst, size_t len)
{
    const imap_node *a = NULL;
    const char *name, *addr;

    dst[0] = '\0';
    for (size_t i = 0; i < imap_node_size(list) && a == NULL; i++) {
        const char *f = nstr(imap_node_at(list, i), "field");
        if (f && strcmp(f, "from") == 0)
            a = imap_node_at(list, i);
    }
    if (imap_node_kind_of(a) != IMAP_NODE_OBJECT)
        return;
    name = nstr(a, "name"); /* RFC 2047 decoded */
    addr = nstr(a, "address");
    if (name && addr)
        snprintf(dst, len, "%s <%s>", name, addr);
    else
        snprintf(dst, len, "%s", addr ? addr : name ? name : "");
}

static void msg_add(report *r, uint64_t ts, const out_flow *flow, const char *command, const char *mailbox,
                    const imap_node *env, int64_t size, const char *date)
{
    char from[FIELD_MAX_BYTES + 1];
    const char *subj = NULL;
    open_conn *o = flow ? open_get(r, flow->flow_id, false) : NULL;

    r->messages++;
    if (o)
        o->messages++;
    if (r->n_mrows >= r->cfg.max_rows) {
        r->mrows_dropped++;
        return;
    }
    from[0] = '\0';
    if (env) {
        subj = nstr(env, "subject"); /* RFC 2047 decoded */
        envelope_from(imap_node_get(env, "addresses"), from, sizeof from);
        if (!date)
            date = nstr(env, "date");
    }
    msg_row *m = &r->mrows[r->n_mrows++];
    m->ts_us = ts;
    m->flow_id = flow ? flow->flow_id : 0;
    m->command = dup_cut(command, 40);
    m->mailbox = dup_cut(mailbox, FIELD_MAX_BYTES);
    m->subject = dup_cut(subj, FIELD_MAX_BYTES);
    m->from = from[0] ? dup_cut(from, FIELD_MAX_BYTES) : NULL;
    m->date = dup_cut(date, 64);
    m->size = size;
}

void report_txn(report *r, uint64_t ts, const out_flow *flow, const imap_transaction *t)
{
    char cmdbuf[64];
    const char *command = span_cstr(t->command_name, cmdbuf, sizeof cmdbuf);
    unsigned st = status_index(t->status == IMAP_STATUS_NONE ? NULL : imap_status_name(t->status)), b;
    const imap_node *imap = t->obj;
    cmd_entry *c;

    if (command && !command[0])
        command = NULL;
    pthread_mutex_lock(&r->mu);
    seen_time(r, ts);
    b = axis_bucket(r, ts);
    r->transactions++;
    c = km_get(&r->cmds, command ? command : "(none)");
    if (c) {
        c->count++;
        c->status[st]++;
        c->series[b]++;
        if (t->has_latency) {
            lat_add(&c->lat, t->latency_us);
            lat_add(&r->all_lat, t->latency_us);
        }
    }
    /* logins: LOGIN and AUTHENTICATE (its identity when decoded): "user" */
    if ((t->command == IMAP_CMD_LOGIN || t->command == IMAP_CMD_AUTHENTICATE) && st != ST_NONE) {
        const char *user = nstr(imap, "user");
        party_entry *u;
        u = user ? km_get(&r->users, user) : NULL; /* no name: counted in the totals only */
        if (u && !u->series)
            u->series = calloc(2 * REPORT_BUCKETS, sizeof *u->series);
        if (st == ST_OK) {
            r->login_ok++;
            if (u) {
                u->login_ok++;
                if (u->series)
                    u->series[b]++;
            }
        } else {
            open_conn *o = flow ? open_get(r, flow->flow_id, false) : NULL;
            r->login_fail++;
            if (o)
                o->failed_logins++;
            if (u) {
                u->login_fail++;
                if (u->series)
                    u->series[REPORT_BUCKETS + b]++;
            }
        }
    }
    /* messages: ENVELOPEs in FETCH responses, APPENDed messages */
    if (command && strstr(command, "FETCH")) {
        size_t n = imap_node_size(t->responses);
        for (size_t i = 0; i < n; i++) {
            const imap_node *x = imap_node_at(t->responses, i);
            const imap_node *env = imap_node_get(x, "envelope");
            const imap_node *sz = imap_node_get(x, "rfc822_size");
            if (imap_node_kind_of(env) == IMAP_NODE_OBJECT)
                msg_add(r, ts, flow, command, NULL, env,
                        imap_node_kind_of(sz) == IMAP_NODE_INT ? imap_node_int(sz) : -1, NULL);
        }
    } else if (t->command == IMAP_CMD_APPEND && st == ST_OK) {
        const imap_node *msgs = imap_node_get(imap, "messages");
        size_t n = imap_node_size(msgs);
        for (size_t i = 0; i < n; i++) {
            const imap_node *x = imap_node_at(msgs, i);
            const imap_node *sz = imap_node_get(x, "size");
            msg_add(r, ts, flow, command, nstr(imap, "mailbox"), imap_node_get(x, "envelope"),
                    imap_node_kind_of(sz) == IMAP_NODE_INT ? imap_node_int(sz) : -1, nstr(x, "date"));
        }
    }
    pthread_mutex_unlock(&r->mu);
}

static uint64_t anomaly_total(const json_t *list)
{
    const json_t *x;
    size_t i;
    uint64_t n = 0;

    json_array_foreach(list, i, x)
        n += jint(x, "count");
    return n;
}

static void party_add(keymap *km, const char *key, uint64_t cb, uint64_t sb)
{
    party_entry *p = km_get(km, key);

    if (!p)
        return;
    p->conns++;
    p->client_bytes += cb;
    p->server_bytes += sb;
    p->bytes += cb + sb;
}

void report_session(report *r, uint64_t ts, const out_flow *flow, const json_t *s)
{
    conn_row row;
    const json_t *tls = json_object_get(s, "tls");
    const char *mode = jstr(tls, "mode");
    const char *user = jstr(s, "user");
    const json_t *la = json_object_get(s, "login_success");
    uint64_t start = jint(s, "start"), dur = jint(s, "duration_us");
    uint64_t cb = jint(s, "client_bytes"), sb = jint(s, "server_bytes");
    open_conn *o;
    char title[256];

    if (!json_is_object(s))
        return;
    pthread_mutex_lock(&r->mu);
    memset(&row, 0, sizeof row);
    row.flow_id = flow ? flow->flow_id : 0;
    if (flow) {
        endpoint(row.client, sizeof row.client, flow->src_ip, flow->src_port);
        endpoint(row.server, sizeof row.server, flow->dest_ip, flow->dest_port);
    }
    copy_cut(row.user, sizeof row.user, user);
    row.start_us = start ? start : ts;
    row.end_us = start ? start + dur : ts;
    row.client_bytes = cb;
    row.server_bytes = sb;
    row.tls = mode && !strcmp(mode, "implicit") ? TM_IMPLICIT : mode && !strcmp(mode, "starttls") ? TM_STARTTLS : TM_NONE;
    row.decrypted = jint(tls, "decrypted_client_bytes") + jint(tls, "decrypted_server_bytes") > 0;
    row.login = json_is_true(la) ? 1 : 0;
    row.alerts = (uint32_t)anomaly_total(json_object_get(s, "anomalies"));
    row.commands = (uint32_t)jint(s, "transactions");
    copy_cut(row.reason, sizeof row.reason, jstr(s, "end_reason"));

    seen_time(r, row.start_us);
    seen_time(r, row.end_us);
    r->sessions++;
    r->tls_conns[row.tls]++;
    r->tls_bytes[row.tls] += cb + sb;
    r->bytes_client += cb;
    r->bytes_server += sb;
    if (row.decrypted)
        r->decrypted_conns++;
    {
        unsigned b0 = axis_bucket(r, row.start_us), b1 = axis_bucket(r, row.end_us);
        b0 = axis_bucket(r, row.start_us); /* the axis may have widened for end_us */
        /* the time the connection was open in each bucket: sums stay exact
         * when buckets fold, unlike a count of connections per bucket */
        uint64_t s0 = row.start_us < r->ax.start_us ? r->ax.start_us : row.start_us;
        for (unsigned b = b0; b <= b1 && b < REPORT_BUCKETS; b++) {
            uint64_t lo = r->ax.start_us + (uint64_t)b * r->ax.width_us, hi = lo + r->ax.width_us;
            uint64_t x = s0 > lo ? s0 : lo, y = row.end_us < hi ? row.end_us : hi;
            if (y > x)
                r->open_us[b] += y - x;
        }
        if (row.tls == TM_NONE)
            r->started_clear[b0]++;
        else
            r->started_tls[b0]++;
    }
    if (user) {
        party_add(&r->users, user, cb, sb);
    }
    party_add(&r->clients, flow && flow->src_ip ? flow->src_ip : "?", cb, sb);
    party_add(&r->servers, row.server[0] ? row.server : "?", cb, sb);

    o = flow ? open_get(r, flow->flow_id, false) : NULL;
    if (o) {
        row.n_alert_ts = o->n_alerts < ROW_ALERT_TS ? o->n_alerts : ROW_ALERT_TS;
        memcpy(row.alert_ts, o->alert_ts, sizeof row.alert_ts);
        row.failed_logins = o->failed_logins;
        if (row.login == 0 && o->failed_logins)
            row.login = 2;
        trace_add(r, o, ts, "=== end: user %s, %u commands, client %llu B, server %llu B, TLS %s, reason %s",
                  user ? user : "-", row.commands, (unsigned long long)cb, (unsigned long long)sb,
                  mode ? mode : "none", row.reason);
        snprintf(title, sizeof title, "flow %llu %s -> %s user %s", (unsigned long long)row.flow_id,
                 row.client, row.server, user ? user : "-");
        if (o->n_alerts > row.alerts)
            row.alerts = o->n_alerts; /* alerts the session summary does not list (all_tcp, tls) */
        trace_keep(r, o, (uint64_t)row.alerts * 1000000u + (uint64_t)o->failed_logins * 1000u +
                   (o->messages ? 1 : 0), title);
        open_release(r, o);
    }
    row.score = ((uint64_t)(row.alerts > 0xffffff ? 0xffffff : row.alerts) << 40) |
                ((cb + sb) & ((1ull << 40) - 1));
    if (cb + sb >= (1ull << 40))
        row.score |= (1ull << 40) - 1;
    row_keep(r, &row);
    pthread_mutex_unlock(&r->mu);
}

void report_alert(report *r, uint64_t ts, const out_flow *flow, const json_t *a)
{
    const char *name = jstr(a, "name");
    const char *detail = jstr(a, "detail");
    kind_entry *k;
    open_conn *o;

    if (!json_is_object(a))
        return;
    if (!detail)
        detail = jstr(a, "description");
    pthread_mutex_lock(&r->mu);
    seen_time(r, ts);
    r->alerts++;
    r->alert_series[axis_bucket(r, ts)]++;
    k = km_get(&r->kinds, name ? name : "(unnamed)");
    if (k) {
        k->count++;
        if (!k->category)
            k->category = dup_cut(jstr(a, "category"), 40);
    }
    o = flow ? open_get(r, flow->flow_id, false) : NULL;
    if (o) {
        if (o->n_alerts < ROW_ALERT_TS)
            o->alert_ts[o->n_alerts] = ts;
        o->n_alerts++;
        trace_add(r, o, ts, "!!! alert %s: %.300s", name ? name : "?", detail ? detail : "");
    }
    if (r->n_arows < r->cfg.max_rows) {
        alert_row *ar = &r->arows[r->n_arows++];
        char ep[64];
        ar->ts_us = ts;
        ar->flow_id = flow ? flow->flow_id : 0;
        ar->name = dup_cut(name ? name : "(unnamed)", 80);
        ar->category = dup_cut(jstr(a, "category"), 40);
        ar->detail = dup_cut(detail, FIELD_MAX_BYTES);
        if (flow) {
            endpoint(ep, sizeof ep, flow->src_ip, flow->src_port);
            ar->client = dup_cut(ep, 64);
            endpoint(ep, sizeof ep, flow->dest_ip, flow->dest_port);
            ar->server = dup_cut(ep, 64);
        }
    } else {
        r->arows_dropped++;
    }
    pthread_mutex_unlock(&r->mu);
}

void report_tls(report *r, uint64_t ts, const out_flow *flow, const json_t *t)
{
    open_conn *o;
    const char *sni = jstr(t, "sni"), *ver = jstr(t, "version");
    const char *ja3 = jstr(t, "ja3"), *ja4 = jstr(t, "ja4");

    pthread_mutex_lock(&r->mu);
    seen_time(r, ts);
    r->tls_events++;
    o = flow ? open_get(r, flow->flow_id, false) : NULL;
    trace_add(r, o, ts, "~~~ TLS%s%s%s%s%s%s%s%s", ver ? " " : "", ver ? ver : "", sni ? " sni=" : "",
              sni ? sni : "", ja3 ? " ja3=" : "", ja3 ? ja3 : "", ja4 ? " ja4=" : "", ja4 ? ja4 : "");
    pthread_mutex_unlock(&r->mu);
}

void report_stats(report *r, uint64_t ts, const json_t *st)
{
    pthread_mutex_lock(&r->mu);
    r->have_stats = true;
    r->frames += jint(st, "frames");
    r->tcp_packets += jint(st, "tcp_packets");
    r->threads = jint(st, "threads");
    pthread_mutex_unlock(&r->mu);
}

void report_flow_begin(report *r, uint64_t ts, const out_flow *flow)
{
    open_conn *o;
    char c[64], s[64];

    if (!flow)
        return;
    pthread_mutex_lock(&r->mu);
    seen_time(r, ts);
    axis_bucket(r, ts);
    o = open_get(r, flow->flow_id, true);
    endpoint(c, sizeof c, flow->src_ip, flow->src_port);
    endpoint(s, sizeof s, flow->dest_ip, flow->dest_port);
    trace_add(r, o, ts, "--- flow %llu %s -> %s community_id %s", (unsigned long long)flow->flow_id, c, s,
              flow->community_id ? flow->community_id : "-");
    pthread_mutex_unlock(&r->mu);
}

void report_line(report *r, uint64_t ts, const out_flow *flow, imap_dir dir, const imap_line *line)
{
    open_conn *o;
    char lat[32] = "";
    const char *d = dir == IMAP_DIR_CLIENT ? "C" : "S";

    if (!flow || !line)
        return;
    pthread_mutex_lock(&r->mu);
    o = open_get(r, flow->flow_id, false);
    if (!o || !o->trace) {
        pthread_mutex_unlock(&r->mu);
        return;
    }
    if (line->has_latency) {
        char v[24];
        report_fmt_latency(line->latency_us, v, sizeof v);
        snprintf(lat, sizeof lat, " (%s)", v);
    }
    if (line->text.ptr)
        trace_add(r, o, ts, "%s %.*s%s", d, (int)(line->text.len < 900 ? line->text.len : 900), line->text.ptr, lat);
    else
        trace_add(r, o, ts, "%s %.*s%s%.*s%s", d, (int)line->tag.len, line->tag.ptr ? line->tag.ptr : "",
                  line->tag.len && line->word.len ? " " : "", (int)line->word.len,
                  line->word.ptr ? line->word.ptr : "", lat);
    pthread_mutex_unlock(&r->mu);
}

void report_event(report *r, const char *type, uint64_t ts, const out_flow *flow, const json_t *body)
{
    if (!r || !type)
        return;
    if (!strcmp(type, "imap_session"))
        report_session(r, ts, flow, body);
    else if (!strcmp(type, "alert"))
        report_alert(r, ts, flow, body);
    else if (!strcmp(type, "tls"))
        report_tls(r, ts, flow, body);
    else if (!strcmp(type, "stats"))
        report_stats(r, ts, body);
}
