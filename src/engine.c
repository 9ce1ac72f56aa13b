/*
 * engine.c - the packet path (see engine.h).
 *
 * Per TCP connection the engine keeps a `conn`: the IMAP session, the layer
 * each direction is in (plain IMAP, TLS, DEFLATE), the byte counts, the gap
 * list and the anomaly counts.  The dissector's events become output
 * events here, with the connection's envelope (flow id, Community ID,
 * endpoints with the client as src).
 *
 * Why this file is over 1,000 lines: it is the one owner of each
 * connection's layer stack (TCP -> TLS -> DEFLATE -> IMAP: switch points,
 * IMAP detection, the TLS start check) and of the envelope of every event,
 * and those parts share the `conn`.  The session-summary and stats builders
 * (about 300 lines) only read a `conn` and are the next part to move out.
 */
#include "engine.h"
#include "node_json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "alert_sig.h"
#include "detect_feed.h"
#include "community_id.h"
#include "flow_id.h"
#include "limits.h"
#include "inflate.h"
#include "streams.h"
#include "mail.h"
#include "extract.h"
#include "report.h"
#include "stats_event.h"
#include "tls.h"


/* What a direction's bytes are, from the dissector's point of view. */
typedef enum conn_layer {
    CL_PLAIN = 0,   /* IMAP text (or DEFLATE data when z_on): conn_plain */
    CL_TLS,         /* TLS records: to the TLS layer */
    CL_DEAD         /* nothing more is decoded (a layer failed) */
} conn_layer;

typedef enum conn_kind {
    CK_UNDECIDED = 0,
    CK_IMAP,        /* a server port, a greeting, or a client command */
    CK_OTHER        /* some other protocol: bytes counted, nothing decoded */
} conn_kind;

typedef struct anomaly_count {
    const char *name;   /* static string */
    const char *layer;  /* "tcp", "imap", "deflate" */
    uint64_t count;     /* every occurrence */
    uint64_t suppressed;/* occurrences past --max-alerts-per-kind: counted, no alert written */
} anomaly_count;

typedef struct conn {
    engine *e;
    flow *f;
    imap_session *imap;
    out_flow of;
    uint64_t flow_id;        /* flow_id.h: made when the connection is */
    out_seen seen;          /* what the -v trace has annotated on this connection */
    char src_ip[INET6_ADDRSTRLEN], dest_ip[INET6_ADDRSTRLEN];
    char community_id[64];
    bool envelope_ready;     /* of/src_ip/... computed (orientation fixed) */
    bool announced;          /* text trace: "flow start" shown */
    bool saw_data;
    uint8_t kind;            /* conn_kind: is this IMAP */
    conn_layer layer[2];     /* by imap_dir: the outermost layer of the raw bytes */
    bool z_on[2];            /* DEFLATE under (or without) TLS, by imap_dir */
    tls_conn *tls;           /* once TLS starts */
    bool tls_implicit;       /* server port is a TLS port */
    bool tls_seen, compress_seen;
    uint64_t bytes[2];       /* TCP payload delivered, by imap_dir */
    uint64_t gap_bytes[2];
    uint64_t opaque_bytes[2];/* bytes in a layer we cannot decode */
    uint64_t gaps_total;
    json_t *gaps;            /* [{direction, offset, length}], capped */
    anomaly_count *anomalies;  /* grown on demand: most connections have none */
    unsigned n_anomaly_kinds, cap_anomaly_kinds;
    uint64_t anomalies_dropped;
    inflater *z[2];
    uint64_t plaintext_bytes[2]; /* decrypted bytes, by imap_dir */
    uint32_t rng;            /* feed_chunk = -1 */
    bool stream_bad[2];      /* --streams-dir: this file failed (reported once) */
    mail_conn *mail;         /* the messages of this connection (mail.h), or NULL */
    uint64_t mail_ts;        /* time of the bytes being fed (for the literal sink) */
    /* STARTTLS stripping across connections (starttls_seen.h) */
    bool starttls_noted;     /* this server's STARTTLS offer is in the table */
    bool stripped_local;     /* the dissector raised starttls_stripped here */
    bool cred_seen;          /* cleartext_credentials: first one below */
    uint64_t cred_ts, cred_off;
    char cred_tag[40], cred_what[64];
    detect_conn *dc;         /* what the detection layer needs of this connection: made at its
                              * first transaction or TLS handshake (a SYN flood makes none) */
} conn;

struct engine {
    engine_config cfg;
    output *out;
    decoder dec;
    reasm_pool pool;
    flow_table *flows;
    uint64_t now_us;
    uint64_t last_frame_us;  /* newest frame given to engine_decode */
    uint64_t frames, tcp_packets, non_tcp;
    uint64_t events[8];
    uint64_t imap_anomalies, tcp_anomalies;
    uint64_t alerts_suppressed;  /* alerts not written: informational repeats, --max-alerts-per-kind */
    uint64_t conns_reported;
    uint64_t mail_events;    /* email and fileinfo events */
    mail_stats mail;
    bool finished;
    tls_config tls_cfg;
    uint64_t tls_events;
    starttls_seen *starttls;  /* cfg.starttls, or own_starttls */
    starttls_seen *own_starttls;
    uint8_t flow_id_key[16]; /* flow_id.h, from cfg.flow_id_seed */
};

enum { EV_IMAP, EV_SESSION, EV_ALERT, EV_TLS };

static const reasm_callbacks reasm_cb;

static bool flow_is_server_port_of(const engine *e, uint16_t port)
{
    return flow_is_server_port(e->flows, port);
}

/* ---- defaults ----------------------------------------------------------- */

void engine_config_default(engine_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    imap_config_default(&cfg->imap);
    cfg->imap.max_line = LIM_IMAP_MAX_LINE;
    cfg->imap.max_literal = LIM_IMAP_MAX_LITERAL;
    cfg->imap.literal_keep = LIM_IMAP_LITERAL_KEEP;
    cfg->imap.max_pending = LIM_IMAP_MAX_PENDING;
    cfg->imap.max_responses = LIM_IMAP_MAX_RESPONSES;
    cfg->imap.max_txn_bytes = LIM_IMAP_MAX_TXN_BYTES;
    reasm_config_default(&cfg->reasm);
    cfg->reasm.max_held_per_stream = LIM_REASM_PER_FLOW;
    cfg->reasm.memcap_total = LIM_REASM_TOTAL;
    cfg->reasm.depth = LIM_REASM_DEPTH;
    cfg->reasm.recent_window = LIM_REASM_VERIFY_WINDOW;
    cfg->decode.frag.max_datagrams = LIM_FRAG_DATAGRAMS;
    cfg->decode.frag.max_bytes = LIM_FRAG_BYTES;
    cfg->decode.frag.timeout_us = (uint64_t)LIM_FRAG_TIMEOUT_S * 1000000u;
    cfg->max_flows = LIM_MAX_FLOWS;
    cfg->idle_timeout_us = (uint64_t)LIM_FLOW_IDLE_TIMEOUT_S * 1000000u;
    cfg->server_ports[0] = 143;
    cfg->server_ports[1] = 220;
    cfg->server_ports[2] = 993;
    cfg->n_server_ports = 3;
    cfg->tls_max_record = LIM_TLS_MAX_RECORD;
    cfg->tls_max_handshake = LIM_TLS_MAX_HANDSHAKE;
    cfg->inflate_ratio = LIM_INFLATE_RATIO;
    cfg->tls_ports[0] = 993;
    cfg->n_tls_ports = 1;
    cfg->max_alerts_per_kind = LIM_MAX_ALERTS_PER_KIND;
    mail_config_default(&cfg->mail);
    cfg->mail.enabled = true;
}

/* ---- envelope ------------------------------------------------------------- */

static void conn_envelope(conn *c)
{
    flow *f = c->f;
    int cs = f->client_side, ss = !cs;
    int af = f->ipv == 4 ? AF_INET : AF_INET6;

    inet_ntop(af, f->addr[cs], c->src_ip, sizeof c->src_ip);
    inet_ntop(af, f->addr[ss], c->dest_ip, sizeof c->dest_ip);
    if (community_id_v1_tuple(f->ipv, f->addr[cs], f->addr[ss], 6, f->port[cs], f->port[ss],
                              c->e->cfg.community_id_seed, true, c->community_id,
                              sizeof c->community_id) < 0)
        c->community_id[0] = '\0';
    c->of.flow_id = c->flow_id;
    c->of.community_id = c->community_id;
    c->of.src_ip = c->src_ip;
    c->of.src_port = f->port[cs];
    c->of.dest_ip = c->dest_ip;
    c->of.dest_port = f->port[ss];
    c->of.text_no = output_flow_number(c->e->out);
    c->of.seen = &c->seen;
    c->envelope_ready = true;
}

static const out_flow *conn_out(conn *c)
{
    if (!c->envelope_ready)
        conn_envelope(c);
    c->of.app_proto = c->kind == CK_IMAP ? "imap" : NULL; /* known once data was seen */
    return &c->of;
}

/* The connection's detect_conn, made on first use; NULL when out of memory
 * (the detection layer then misses this connection). */
static detect_conn *conn_dc(conn *c)
{
    if (!c->dc)
        c->dc = calloc(1, sizeof *c->dc);
    return c->dc;
}

/* The envelope of a record for the detection layer (detect_feed.h). */
static void conn_detect_env(void *ctx, detect_rec *r)
{
    conn *c = ctx;
    const flow *f = c->f;
    int ss = !f->client_side;

    conn_out(c);
    r->first_frame = f->id;
    r->flow_id = c->of.flow_id;
    r->text_no = c->of.text_no;
    snprintf(r->community_id, sizeof r->community_id, "%s", c->community_id);
    snprintf(r->src_ip, sizeof r->src_ip, "%s", c->src_ip);
    snprintf(r->dest_ip, sizeof r->dest_ip, "%s", c->dest_ip);
    r->src_port = c->of.src_port;
    r->dest_port = c->of.dest_port;
    r->server.ipv = f->ipv;
    memcpy(r->server.addr, f->addr[ss], f->ipv == 4 ? 4 : 16);
    r->server.port = f->port[ss];
}

static const char *dir_name(imap_dir d)
{
    return d == IMAP_DIR_CLIENT ? "client" : "server";
}

/* ---- events: to the output, and to the report when there is one ---------- */

static void emit_event(engine *e, const char *type, uint64_t ts, const out_flow *f, json_t *body)
{
    if (e->cfg.report)
        report_event(e->cfg.report, type, ts, f, body);
    output_event(e->out, type, ts, f, body);
}

static void emit_line(engine *e, uint64_t ts, const out_flow *f, imap_dir dir, const imap_line *line)
{
    if (e->cfg.report)
        report_line(e->cfg.report, ts, f, dir, line);
    output_line(e->out, ts, f, dir, line);
}

/* The end of a connection: the dissector's summary (borrowed) with the
 * engine's members (extra, stolen) set over it, as json_object_update
 * would: a member of both keeps its place and takes extra's value. */
static void emit_session(engine *e, uint64_t ts, const out_flow *f, const imap_summary *sum, json_t *extra)
{
    if (e->cfg.report) {
        json_t *full = sum ? node_to_json(sum->obj) : NULL;
        if (!full)
            full = json_object();
        json_object_update(full, extra);
        if (sum) /* the report's command count (not in the event: one imap event each) */
            json_object_set_new_nocheck(full, "transactions", json_integer((json_int_t)sum->transactions));
        report_event(e->cfg.report, "imap_session", ts, f, full);
        json_decref(full);
    }
    output_event_merged(e->out, "imap_session", ts, f, sum, extra);
}

/* A transaction: rendered from the dissector's tree (no jansson). */
static void emit_txn(engine *e, uint64_t ts, const out_flow *f, const imap_transaction *t, bool decrypted)
{
    if (e->cfg.report)
        report_txn(e->cfg.report, ts, f, t);
    (void)decrypted; /* imap.layer says it: ["tls", ...] (the dissector sees decrypted bytes only) */
    output_event_node(e->out, "imap", ts, f, t->obj, NULL);
}

/* ---- anomalies ------------------------------------------------------------- */

/* Counts an anomaly by name on the connection (for the session summary);
 * kinds beyond CONN_MAX_ANOMALY_KINDS are counted in anomalies_dropped
 * (returns NULL then).  Returns the kind's count record. */
static anomaly_count *conn_count_anomaly(conn *c, const char *name, const char *layer)
{
    for (unsigned i = 0; i < c->n_anomaly_kinds; i++) {
        if (c->anomalies[i].name == name || !strcmp(c->anomalies[i].name, name)) {
            c->anomalies[i].count++;
            return &c->anomalies[i];
        }
    }
    if (c->n_anomaly_kinds == c->cap_anomaly_kinds) {
        unsigned ncap = c->cap_anomaly_kinds ? c->cap_anomaly_kinds * 2 : 4;
        anomaly_count *na;
        if (ncap > CONN_MAX_ANOMALY_KINDS ||
            !(na = realloc(c->anomalies, ncap * sizeof *na))) {
            c->anomalies_dropped++;
            return NULL;
        }
        c->anomalies = na;
        c->cap_anomaly_kinds = ncap;
    }
    c->anomalies[c->n_anomaly_kinds] = (anomaly_count){name, layer, 1, 0};
    return &c->anomalies[c->n_anomaly_kinds++];
}

/* Whether the alert of an anomaly just counted (ac) is written.  Severity 3
 * (informational): only the first on a connection.  Others: the first
 * --max-alerts-per-kind of each kind on a connection are (0: all are);
 * later ones are only counted (ac->suppressed, and the session summary's
 * anomalies[] keeps the true count), so a stream of garbage cannot turn
 * into an alert per line.  When the first one is held back, one alert
 * "alerts_suppressed" names the kind. */
static bool conn_alert_allowed(conn *c, anomaly_count *ac, int severity, imap_dir dir, uint64_t ts_us)
{
    unsigned max = c->e->cfg.max_alerts_per_kind;
    char detail[160];
    int sev;
    unsigned sid;

    if (!ac)
        return true;
    /* Informational alerts (severity 3: a server's formatting quirk on
     * every FETCH line, a gap, ...) are written once per connection and
     * kind, at the first occurrence; later ones are only counted. */
    if (severity >= 3 && ac->count > 1) {
        ac->suppressed++;
        c->e->alerts_suppressed++;
        return false;
    }
    if (max == 0 || ac->count <= max)
        return true;
    ac->suppressed++;
    c->e->alerts_suppressed++;
    if (ac->suppressed == 1) {
        json_t *a = json_object();
        snprintf(detail, sizeof detail, "%s: more than %u on this connection; the rest are counted "
                 "in the session's anomalies", ac->name, max);
        json_object_set_new_nocheck(a, "name", json_string("alerts_suppressed"));
        json_object_set_new_nocheck(a, "description",
                                    json_string("further alerts of one kind on this connection are counted, "
                                                "not written (--max-alerts-per-kind)"));
        alert_sig_lookup("alerts_suppressed", &sev, &sid);
        json_object_set_new_nocheck(a, "severity", json_integer(sev));
        json_object_set_new_nocheck(a, "signature_id", json_integer((json_int_t)sid));
        json_object_set_new_nocheck(a, "category", json_string(ac->layer));
        json_object_set_new_nocheck(a, "direction", json_string(dir == IMAP_DIR_CLIENT ? "client" : "server"));
        json_object_set_new_nocheck(a, "offset", json_integer((json_int_t)c->bytes[dir]));
        json_object_set_new_nocheck(a, "detail", json_string(detail));
        json_object_set_new_nocheck(a, "suppressed_name", json_string(ac->name));
        json_object_set_new_nocheck(a, "max_alerts_per_kind", json_integer((json_int_t)max));
        c->e->events[EV_ALERT]++;
        emit_event(c->e, "alert", ts_us, conn_out(c), a);
    }
    return false;
}

/* An alert event for an anomaly the engine itself found (TCP, layers). */
static void conn_alert(conn *c, const char *name, const char *desc, const char *layer,
                       imap_dir dir, uint64_t off, const char *detail, uint64_t ts_us)
{
    json_t *a;
    int sev;
    unsigned sid;

    alert_sig_lookup(name, &sev, &sid);
    if (!conn_alert_allowed(c, conn_count_anomaly(c, name, layer), sev, dir, ts_us))
        return;
    a = json_object();
    json_object_set_new_nocheck(a, "name", json_string(name));
    json_object_set_new_nocheck(a, "description", json_string(desc ? desc : ""));
    json_object_set_new_nocheck(a, "severity", json_integer(sev));
    json_object_set_new_nocheck(a, "signature_id", json_integer((json_int_t)sid));
    json_object_set_new_nocheck(a, "category", json_string(layer));
    json_object_set_new_nocheck(a, "direction", json_string(dir_name(dir)));
    json_object_set_new_nocheck(a, "offset", json_integer((json_int_t)off));
    if (detail)
        json_object_set_new_nocheck(a, "detail", json_string(detail));
    c->e->events[EV_ALERT]++;
    emit_event(c->e, "alert", ts_us, conn_out(c), a);
}

/* ---- dissector events --------------------------------------------------- */

static void conn_start_tls(conn *c, imap_dir d);

static int on_imap_event(void *user, const imap_event *ev)
{
    conn *c = user;
    engine *e = c->e;

    switch (ev->type) {
    case IMAP_EV_TRANSACTION: {
        e->events[EV_IMAP]++;
        bool decrypted = c->tls && (tls_conn_decrypting(c->tls, 0) || tls_conn_decrypting(c->tls, 1));
        emit_txn(e, ev->ts_us, conn_out(c), ev->txn, decrypted);
        mail_transaction(c->mail, ev->txn, ev->ts_us); /* its messages follow it */
        if (!e->cfg.imap.emit_lines)
            mail_flush(c->mail, ev->ts_us);
        if (e->cfg.detect && conn_dc(c))
            detect_feed_txn(e->cfg.detect, e->cfg.detect_feeder, c->dc, ev->txn, c->imap, ev->ts_us,
                            conn_detect_env, c);
        break;
    }
    case IMAP_EV_LINE:
        emit_line(e, ev->ts_us, conn_out(c), ev->dir, ev->line);
        /* the trace: a command's messages after its tagged response */
        if (ev->line->kind == IMAP_LINE_TAGGED)
            mail_flush(c->mail, ev->ts_us);
        break;
    case IMAP_EV_ANOMALY:
        if (ev->anomaly == IMAP_ANOM_STARTTLS_STRIPPED)
            c->stripped_local = true;
        if (ev->anomaly == IMAP_ANOM_CLEARTEXT_CREDENTIALS && !c->cred_seen && ev->data) {
            const char *tag = imap_node_str(imap_node_get(ev->data, "tag"), NULL);
            const char *det = ev->detail ? ev->detail : "";
            const char *sp = strstr(det, " without TLS");
            c->cred_seen = true;
            c->cred_ts = ev->ts_us;
            c->cred_off = ev->offset;
            snprintf(c->cred_tag, sizeof c->cred_tag, "%s", tag ? tag : "");
            snprintf(c->cred_what, sizeof c->cred_what, "%.*s", sp ? (int)(sp - det) : (int)strlen(det), det);
        }
        e->imap_anomalies++;
        if (!conn_alert_allowed(c, conn_count_anomaly(c, ev->name, "imap"),
                                imap_anomaly_severity(ev->anomaly), ev->dir, ev->ts_us))
            break;
        e->events[EV_ALERT]++;
        if (ev->data) {
            json_t *a = node_to_json(ev->data); /* alerts stay jansson trees: few, and the engine adds to them */
            if (!json_object_get(a, "category"))
                json_object_set_new_nocheck(a, "category", json_string("imap"));
            emit_event(e, "alert", ev->ts_us, conn_out(c), a);
        }
        break;
    case IMAP_EV_SWITCH:
        if (e->cfg.imap.emit_lines) {
            /* the switch point, in the trace: "C [layer] TLS from stream byte N" */
            char text[96];
            int n = snprintf(text, sizeof text, "[layer] %s starts after IMAP byte %llu of this direction",
                             ev->switch_to == IMAP_LAYER_TLS ? "TLS" : "DEFLATE",
                             (unsigned long long)ev->offset);
            /* a line of the engine's own: only its text is read */
            imap_line l = { .text = { text, n > 0 && (size_t)n < sizeof text ? (size_t)n : strlen(text) } };
            emit_line(e, ev->ts_us, conn_out(c), ev->dir, &l);
        }
        if (ev->switch_to == IMAP_LAYER_TLS) {
            conn_start_tls(c, ev->dir);
        } else if (ev->switch_to == IMAP_LAYER_DEFLATE) {
            c->compress_seen = true;
            if (!c->z[ev->dir])
                c->z[ev->dir] = inflater_new(e->cfg.inflate_ratio);
            c->z_on[ev->dir] = c->z[ev->dir] != NULL;
            /* the inflated bytes come back to the dissector as plaintext */
            imap_session_set_layer(c->imap, ev->dir, IMAP_LAYER_DEFLATE, c->z[ev->dir] != NULL);
        }
        break;
    }
    return 0;
}

/* The literal sink (imap.h): the bytes of messages, to mail.c. */
static int on_literal_begin(void *user, const imap_literal_info *li)
{
    conn *c = user;
    mail_literal_begin(c->mail, li, c->mail_ts);
    return 0;
}

static int on_literal_data(void *user, imap_dir dir, const uint8_t *data, size_t len)
{
    conn *c = user;
    mail_literal_data(c->mail, dir, data, len);
    return 0;
}

static int on_literal_end(void *user, imap_dir dir, bool complete)
{
    conn *c = user;
    mail_literal_end(c->mail, dir, complete, c->mail_ts);
    return 0;
}

static int on_literal_line_end(void *user, const imap_literal_info *li)
{
    conn *c = user;
    mail_line_end(c->mail, li, c->mail_ts);
    return 0;
}

static const imap_callbacks imap_cb = {
    .on_event = on_imap_event,
};

static const imap_callbacks imap_cb_mail = {
    .on_event = on_imap_event,
    .on_literal_begin = on_literal_begin,
    .on_literal_data = on_literal_data,
    .on_literal_end = on_literal_end,
    .on_literal_line_end = on_literal_line_end,
};

/* mail.c's events, with the connection's envelope */
static void mail_emit(void *user, const char *type, uint64_t ts, json_t *body)
{
    conn *c = user;
    c->e->mail_events++;
    emit_event(c->e, type, ts, conn_out(c), body);
}

/* ---- feeding the layers ----------------------------------------------------- */

static uint32_t xorshift32(uint32_t *s)
{
    uint32_t x = *s ? *s : 2463534242u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Feeds plaintext IMAP to the dissector, split as the test knob says.
 * Returns the bytes consumed (fewer than len after a layer switch). */
static size_t feed_dissector(conn *c, imap_dir d, const uint8_t *data, size_t len, uint64_t ts)
{
    int mode = c->e->cfg.feed_chunk;
    size_t done = 0;
    conn_layer layer = c->layer[d];
    bool z_on = c->z_on[d];

    c->mail_ts = ts;

    if (mode == 0) {
        long n = imap_session_feed(c->imap, d, data, len, ts);
        return n < 0 ? len : (size_t)n;
    }
    while (done < len) {
        size_t piece = mode > 0 ? (size_t)mode : 1 + xorshift32(&c->rng) % 97;
        long n;
        if (piece > len - done)
            piece = len - done;
        n = imap_session_feed(c->imap, d, data + done, piece, ts);
        if (n < 0)
            return len;
        done += (size_t)n;
        /* a layer switch, also one that ends exactly at a piece's end */
        if ((size_t)n < piece || c->layer[d] != layer || c->z_on[d] != z_on)
            break;
    }
    return done;
}

/*
 * The layers of one direction, outermost first:  TCP bytes -> [TLS] ->
 * [DEFLATE] -> IMAP.  conn_raw() takes reassembled TCP bytes; conn_plain()
 * takes bytes below TLS (plaintext IMAP, or DEFLATE data after COMPRESS).
 * A switch announced by the dissector inside a piece sends the rest of that
 * piece to the new layer.
 */
static void conn_plain(conn *c, imap_dir d, const uint8_t *data, size_t len, uint64_t ts, bool from_tls);

typedef struct inflate_ctx {
    conn *c;
    imap_dir d;
    uint64_t ts;
} inflate_ctx;

/* The inflater's output goes to the dissector as plaintext.  A switch
 * inside inflated data (STARTTLS after COMPRESS) is not legal (RFC 4978 4)
 * and whatever follows stays with the dissector. */
static int inflate_out(void *user, const uint8_t *data, size_t len)
{
    inflate_ctx *ic = user;

    feed_dissector(ic->c, ic->d, data, len, ic->ts);
    return 0;
}

static void conn_inflate(conn *c, imap_dir d, const uint8_t *data, size_t len, uint64_t ts)
{
    inflate_ctx ic = {c, d, ts};
    int rc = inflater_feed(c->z[d], data, len, inflate_out, &ic);

    if (rc != INFLATE_OK) {
        conn_alert(c, inflate_error_name(rc), inflate_error_description(rc), "deflate", d,
                   c->bytes[d], inflater_message(c->z[d]), ts);
        c->z_on[d] = false;
        c->layer[d] = CL_DEAD;
    }
}

static void conn_tls_bytes(conn *c, imap_dir d, const uint8_t *data, size_t len, uint64_t ts)
{
    /* SPECS.md 6.2: the first bytes after the switch must be a TLS record. */
    /* the dissector names cleartext after the switch; the TLS layer skips
     * it (tls_conn_await_record) */
    imap_session_check_tls_start(c->imap, d, data, len);
    if (c->tls)
        tls_conn_feed(c->tls, d, data, len, ts);
    else
        c->opaque_bytes[d] += len;
}

static void conn_plain(conn *c, imap_dir d, const uint8_t *data, size_t len, uint64_t ts, bool from_tls)
{
    while (len > 0) {
        size_t n;
        if (c->layer[d] == CL_DEAD) {
            c->opaque_bytes[d] += len;
            return;
        }
        if (c->z_on[d]) {
            conn_inflate(c, d, data, len, ts);
            return;
        }
        n = feed_dissector(c, d, data, len, ts);
        data += n, len -= n;
        if (len == 0 || c->z_on[d])
            continue;
        if (c->layer[d] == CL_TLS && !from_tls) {
            conn_tls_bytes(c, d, data, len, ts);
            return;
        }
        c->opaque_bytes[d] += len; /* the dissector stopped without a layer to go to */
        return;
    }
}

/* ---- STARTTLS stripping across connections --------------------------------- */

static void conn_server_key(const conn *c, starttls_server *k)
{
    const flow *f = c->f;
    int ss = !f->client_side;
    memset(k, 0, sizeof *k);
    k->ipv = f->ipv;
    memcpy(k->addr, f->addr[ss], f->ipv == 4 ? 4 : 16);
    k->port = f->port[ss];
}

/* A starttls_stripped alert whose evidence is another connection of the
 * same server (the dissector's table row gives name, severity and id). */
static void stripped_alert(engine *e, const out_flow *of, uint64_t ts, uint64_t off, const char *tag,
                           const char *detail)
{
    json_t *a = json_object();
    imap_anomaly an = IMAP_ANOM_STARTTLS_STRIPPED;
    json_object_set_new_nocheck(a, "name", json_string(imap_anomaly_name(an)));
    json_object_set_new_nocheck(a, "description", json_string(imap_anomaly_description(an)));
    json_object_set_new_nocheck(a, "severity", json_integer(imap_anomaly_severity(an)));
    json_object_set_new_nocheck(a, "signature_id", json_integer((json_int_t)imap_anomaly_signature_id(an)));
    json_object_set_new_nocheck(a, "direction", json_string("client"));
    json_object_set_new_nocheck(a, "offset", json_integer((json_int_t)off));
    json_object_set_new_nocheck(a, "detail", json_string(detail));
    if (tag && *tag)
        json_object_set_new_nocheck(a, "tag", json_string(tag));
    json_object_set_new_nocheck(a, "category", json_string("imap"));
    e->events[EV_ALERT]++;
    e->imap_anomalies++;
    output_event(e->out, "alert", ts, of, a);
}

/* The session saw STARTTLS offered: the server goes in the table, and the
 * connections that sent credentials in clear to it earlier in the capture
 * (already ended) get their alert now, with their own envelope and time. */
static void conn_note_starttls(conn *c)
{
    starttls_server k;
    starttls_waiting w[16];
    unsigned n;

    if (c->starttls_noted || !c->imap || !c->e->starttls ||
        imap_session_starttls_offer(c->imap) != IMAP_STARTTLS_OFFERED)
        return;
    c->starttls_noted = true;
    conn_server_key(c, &k);
    do {
        n = starttls_seen_offered(c->e->starttls, &k, w, 16);
        for (unsigned i = 0; i < n; i++) {
            char detail[256];
            out_flow of = {w[i].flow_id, w[i].community_id, w[i].src_ip, w[i].src_port, w[i].dest_ip,
                           w[i].dest_port, w[i].text_no, NULL, "imap"};
            snprintf(detail, sizeof detail,
                     "%s in clear after capability lists without STARTTLS; the server offered STARTTLS "
                     "to other clients later in this capture", w[i].what);
            /* about an earlier connection, at its time: no pcap_cnt (the
             * frame being processed belongs to another connection) */
            uint64_t frame = output_packet(c->e->out);
            output_set_packet(c->e->out, 0);
            stripped_alert(c->e, &of, w[i].ts_us, w[i].offset, w[i].tag, detail);
            output_set_packet(c->e->out, frame);
        }
    } while (n == 16);
}

/* At the end of a connection that sent credentials in clear with no
 * STARTTLS in its capability lists (and no evidence of its own): stripped
 * when the server offered STARTTLS to other clients of this capture; else
 * kept, in case the evidence comes later. */
static void conn_check_stripped(conn *c)
{
    starttls_waiting w;
    uint64_t offers;

    conn_note_starttls(c);
    if (!c->cred_seen || c->stripped_local || !c->imap || !c->e->starttls ||
        imap_session_starttls_offer(c->imap) != IMAP_STARTTLS_ABSENT)
        return;
    memset(&w, 0, sizeof w);
    conn_server_key(c, &w.server);
    conn_out(c);
    w.flow_id = c->of.flow_id;
    w.text_no = c->of.text_no;
    snprintf(w.community_id, sizeof w.community_id, "%s", c->community_id);
    snprintf(w.src_ip, sizeof w.src_ip, "%s", c->src_ip);
    snprintf(w.dest_ip, sizeof w.dest_ip, "%s", c->dest_ip);
    w.src_port = c->of.src_port;
    w.dest_port = c->of.dest_port;
    w.ts_us = c->cred_ts;
    w.offset = c->cred_off;
    snprintf(w.tag, sizeof w.tag, "%s", c->cred_tag);
    snprintf(w.what, sizeof w.what, "%s", c->cred_what);
    offers = starttls_seen_cleartext(c->e->starttls, &w);
    if (offers) {
        char detail[256];
        snprintf(detail, sizeof detail,
                 "%s in clear after capability lists without STARTTLS; the server offered STARTTLS "
                 "to other clients in this capture (%llu connections)", w.what, (unsigned long long)offers);
        conn_count_anomaly(c, "starttls_stripped", "imap");
        stripped_alert(c->e, conn_out(c), c->cred_ts, c->cred_off, c->cred_tag, detail);
    }
}

static void conn_raw(conn *c, imap_dir d, const uint8_t *data, size_t len, uint64_t ts)
{
    switch (c->layer[d]) {
    case CL_PLAIN:
        conn_plain(c, d, data, len, ts, false);
        break;
    case CL_TLS:
        conn_tls_bytes(c, d, data, len, ts);
        break;
    case CL_DEAD:
        c->opaque_bytes[d] += len;
        break;
    }
    if (!c->starttls_noted)
        conn_note_starttls(c);
}

/* ---- TLS ------------------------------------------------------------------ */

static void tls_plaintext(void *user, imap_dir d, const uint8_t *data, size_t len, uint64_t ts)
{
    conn *c = user;

    c->plaintext_bytes[d] += len;
    if (c->imap)
        conn_plain(c, d, data, len, ts, true);
}

static void tls_plaintext_gap(void *user, imap_dir d, uint64_t len, uint64_t ts)
{
    conn *c = user;

    c->mail_ts = ts;
    if (c->imap && !c->z_on[d])
        imap_session_gap(c->imap, d, len, ts);
    else if (c->z_on[d]) {
        c->z_on[d] = false; /* a DEFLATE stream cannot survive lost bytes */
        c->layer[d] = CL_DEAD;
    }
}

static void tls_handshake(void *user, json_t *ev, uint64_t ts)
{
    conn *c = user;

    c->e->tls_events++;
    if (c->e->cfg.detect && conn_dc(c))
        detect_feed_tls(c->dc, ev);
    emit_event(c->e, "tls", ts, conn_out(c), ev);
}

static void on_tls_anomaly(void *user, int tdir, const char *name, const char *desc,
                        const char *detail, uint64_t ts)
{
    conn *c = user;
    imap_dir d = tdir == 1 ? IMAP_DIR_SERVER : IMAP_DIR_CLIENT; /* -1, the connection: client */
    uint64_t off = c->bytes[d];

    conn_alert(c, name, desc, "tls", d, off, detail, ts);
}

static const tls_callbacks tls_cb = {
    .plaintext = tls_plaintext,
    .plaintext_gap = tls_plaintext_gap,
    .handshake = tls_handshake,
    .anomaly = on_tls_anomaly,
};

/* TLS starts in direction d (a STARTTLS switch, or implicit TLS). */
static void conn_start_tls(conn *c, imap_dir d)
{
    c->tls_seen = true;
    c->layer[d] = CL_TLS;
    if (!c->tls) {
        c->tls = tls_conn_new(&c->e->tls_cfg, &tls_cb, c);
        /* no TCP handshake seen: a missing TLS handshake is expected */
        if (c->tls && !c->f->syn[0] && !c->f->syn[1])
            tls_conn_set_midstream(c->tls);
    }
    if (c->tls && !c->tls_implicit)
        tls_conn_await_record(c->tls, d);
    if (c->imap)
        imap_session_set_layer(c->imap, d, IMAP_LAYER_TLS, c->e->tls_cfg.keylog != NULL);
}

/* ---- conn lifecycle ------------------------------------------------------------ */

static bool is_tls_port(const engine *e, uint16_t port)
{
    for (unsigned i = 0; i < e->cfg.n_tls_ports; i++)
        if (e->cfg.tls_ports[i] == port)
            return true;
    return false;
}

static conn *conn_new(engine *e, flow *f)
{
    conn *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    c->e = e;
    c->f = f;
    c->rng = e->cfg.feed_seed ^ (uint32_t)f->id * 2654435761u;
    c->flow_id = flow_id_make(e->flow_id_key, f);
    f->app = c;
    if (e->cfg.streams_dir) {
        /* streams.h: new files only, 0600, no link followed; named by the JSON's flow_id */
        for (int d = 0; d < 2; d++)
            if (streams_file_create(e->cfg.streams_dir, c->flow_id, dir_name(d)) != 0)
                c->stream_bad[d] = true;
    }
    return c;
}

/* Decides who is the client from the first payload when the handshake and
 * the ports did not tell (a greeting comes from the server). */
static void conn_orient_from_payload(conn *c, int side, const uint8_t *data, size_t len)
{
    flow *f = c->f;

    if (f->orient != FLOW_ORIENT_UNKNOWN)
        return;
    if (imap_looks_like_greeting(data, len))
        flow_set_client(f, !side, FLOW_ORIENT_PAYLOAD);
    else
        flow_set_client(f, f->client_side, FLOW_ORIENT_PAYLOAD);
}

/* RFC 9051 9: a client's first line "tag SP command": only commands a
 * client can open a connection with count, so other text protocols on
 * unknown ports are not taken for IMAP. */
static bool looks_like_imap_command(const uint8_t *p, size_t len)
{
    static const char *const first[] = {
        "CAPABILITY", "LOGIN", "AUTHENTICATE", "STARTTLS", "NOOP", "ID", "LOGOUT",
        "SELECT", "EXAMINE", "LIST", "ENABLE", "NAMESPACE", "COMPRESS", "STATUS", NULL};
    size_t i = 0, t;

    while (i < len && i < 64 && p[i] > 0x20 && p[i] < 0x7f && p[i] != '+' && p[i] != '(' &&
           p[i] != ')' && p[i] != '{' && p[i] != '"' && p[i] != '%' && p[i] != '*')
        i++;
    if (i == 0 || i >= len || p[i] != ' ')
        return false;
    t = ++i;
    while (i < len && ((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z')))
        i++;
    if (i == len || (p[i] != ' ' && p[i] != '\r'))
        return false;
    for (int k = 0; first[k]; k++)
        if (strlen(first[k]) == i - t && !strncasecmp((const char *)p + t, first[k], i - t))
            return true;
    return false;
}

static void conn_start_session(conn *c)
{
    engine *e = c->e;

    c->mail = mail_conn_new(&e->cfg.mail, &e->mail, mail_emit, c);
    c->imap = imap_session_new(&e->cfg.imap, c->mail ? &imap_cb_mail : &imap_cb, c);
    if (!c->imap) {
        c->layer[0] = c->layer[1] = CL_DEAD;
        return;
    }
    if (c->tls_implicit) {
        conn_start_tls(c, IMAP_DIR_CLIENT);
        conn_start_tls(c, IMAP_DIR_SERVER);
    }
}

static void dump_stream(conn *c, imap_dir d, const uint8_t *data, size_t len)
{
    if (c->stream_bad[d])
        return;
    if (streams_file_append(c->e->cfg.streams_dir, c->flow_id, dir_name(d), data, len) != 0)
        c->stream_bad[d] = true;
}

static void on_deliver(void *user, int side, const uint8_t *data, size_t len, uint64_t ts)
{
    conn *c = user;
    imap_dir d;

    if (!c->saw_data) {
        flow *f = c->f;
        conn_orient_from_payload(c, side, data, len);
        c->saw_data = true;
        if (flow_is_server_port_of(c->e, f->port[0]) || flow_is_server_port_of(c->e, f->port[1]) ||
            imap_looks_like_greeting(data, len) || looks_like_imap_command(data, len))
            c->kind = CK_IMAP;
        else
            c->kind = CK_OTHER;
        /* Implicit TLS: a TLS port, or a connection whose first bytes are a
         * TLS record (a capture that starts after the STARTTLS switch). */
        c->tls_implicit = is_tls_port(c->e, f->port[!f->client_side]) ||
                          (f->port[0] != 0 && tls_looks_like_record(data, len));
        if (c->kind == CK_IMAP) {
            conn_start_session(c);
            /* No handshake and no greeting first: the capture began in
             * the middle of the connection. */
            if (c->imap && !f->syn[0] && !f->syn[1] && !c->tls_implicit) {
                if (!(side != f->client_side && imap_looks_like_greeting(data, len)))
                    imap_session_set_midstream(c->imap);
                else
                    imap_session_set_no_handshake(c->imap); /* a greeting, or "* OK Still here" */
            }
        }
        if (c->kind == CK_IMAP || c->e->cfg.all_tcp) {
            output_flow_begin(c->e->out, ts, conn_out(c));
            if (c->e->cfg.report)
                report_flow_begin(c->e->cfg.report, ts, conn_out(c));
        }
    }
    d = side == c->f->client_side ? IMAP_DIR_CLIENT : IMAP_DIR_SERVER;
    c->bytes[d] += len;
    if (c->e->cfg.streams_dir)
        dump_stream(c, d, data, len);
    if (c->imap)
        conn_raw(c, d, data, len, ts);
}

static void on_gap(void *user, int side, uint64_t len, uint64_t ts)
{
    conn *c = user;
    imap_dir d = side == c->f->client_side ? IMAP_DIR_CLIENT : IMAP_DIR_SERVER;
    uint64_t off = c->bytes[d] + c->gap_bytes[d];

    c->gaps_total++;
    if (!c->gaps)
        c->gaps = json_array();
    if (json_array_size(c->gaps) < CONN_MAX_GAPS_LISTED) {
        json_t *g = json_object();
        json_object_set_new_nocheck(g, "direction", json_string(dir_name(d)));
        json_object_set_new_nocheck(g, "offset", json_integer((json_int_t)off));
        json_object_set_new_nocheck(g, "length", json_integer((json_int_t)len));
        json_array_append_new(c->gaps, g);
    }
    c->gap_bytes[d] += len;
    if (!c->imap)
        return;
    if (c->layer[d] == CL_TLS && c->tls) {
        tls_conn_gap(c->tls, d, len, ts);
    } else if (c->z_on[d]) {
        c->z_on[d] = false; /* a DEFLATE stream cannot survive a gap */
        c->layer[d] = CL_DEAD;
    } else if (c->layer[d] == CL_PLAIN) {
        c->mail_ts = ts;
        imap_session_gap(c->imap, d, len, ts);
    }
}

static void on_reasm_anomaly(void *user, int side, int id, uint64_t off, uint64_t ts)
{
    conn *c = user;
    imap_dir d = side == c->f->client_side ? IMAP_DIR_CLIENT : IMAP_DIR_SERVER;

    c->e->tcp_anomalies++;
    conn_alert(c, reasm_anomaly_name(id), reasm_anomaly_desc(id), "tcp", d, off, NULL, ts);
}

static const reasm_callbacks reasm_cb = {
    .deliver = on_deliver,
    .gap = on_gap,
    .anomaly = on_reasm_anomaly,
};

static json_t *conn_summary(conn *c, const char *reason)
{
    flow *f = c->f;
    int cs = f->client_side;
    json_t *s = json_object(); /* the engine's members, rendered after (or over) the dissector's summary */
    json_t *an = json_array();
    json_t *tls = json_object();
    static const char *orient_names[] = {"guessed", "handshake", "port", "payload"};

    json_object_set_new_nocheck(s, "client_bytes", json_integer((json_int_t)c->bytes[IMAP_DIR_CLIENT]));
    json_object_set_new_nocheck(s, "server_bytes", json_integer((json_int_t)c->bytes[IMAP_DIR_SERVER]));
    json_object_set_new_nocheck(s, "client_packets", json_integer((json_int_t)f->packets[cs]));
    json_object_set_new_nocheck(s, "server_packets", json_integer((json_int_t)f->packets[!cs]));
    json_object_set_new_nocheck(s, "start", json_integer((json_int_t)f->first_ts_us));
    json_object_set_new_nocheck(s, "duration_us", json_integer((json_int_t)(f->last_ts_us - f->first_ts_us)));
    json_object_set_new_nocheck(s, "end_reason", json_string(reason));
    json_object_set_new_nocheck(s, "orientation", json_string(orient_names[f->orient & 3]));
    json_object_set_new_nocheck(s, "handshake_seen", json_boolean(f->syn[0] || f->syn[1]));
    json_object_set_new_nocheck(s, "gaps", c->gaps ? json_incref(c->gaps) : json_array());
    json_object_set_new_nocheck(s, "gap_count", json_integer((json_int_t)c->gaps_total));
    json_object_set_new_nocheck(s, "client_gap_bytes", json_integer((json_int_t)c->gap_bytes[IMAP_DIR_CLIENT]));
    json_object_set_new_nocheck(s, "server_gap_bytes", json_integer((json_int_t)c->gap_bytes[IMAP_DIR_SERVER]));
    for (unsigned i = 0; i < c->n_anomaly_kinds; i++) {
        json_t *a = json_object();
        json_object_set_new_nocheck(a, "name", json_string(c->anomalies[i].name));
        json_object_set_new_nocheck(a, "count", json_integer((json_int_t)c->anomalies[i].count));
        if (c->anomalies[i].suppressed)
            json_object_set_new_nocheck(a, "suppressed", json_integer((json_int_t)c->anomalies[i].suppressed));
        json_array_append_new(an, a);
    }
    json_object_set_new_nocheck(s, "anomalies", an);
    if (c->anomalies_dropped)
        json_object_set_new_nocheck(s, "anomaly_kinds_dropped", json_integer((json_int_t)c->anomalies_dropped));
    json_object_set_new_nocheck(tls, "mode", json_string(!c->tls_seen ? "none" : c->tls_implicit ? "implicit" : "starttls"));
    if (c->tls) {
        /* a session summary (issue 10, at most 400 fields): the TLS
         * version and SNI; the handshake's details (cipher suite, ALPN,
         * ja3/ja3s/ja4, resumption, renegotiations, certificates) are the
         * tls event's, linked by flow_id; TLS anomalies are counted in
         * imap_session.anomalies (category "tls") and each is an alert */
        json_t *ts = tls_conn_summary(c->tls, false);
        json_t *v;
        if ((v = json_object_get(ts, "version")) != NULL)
            json_object_set_nocheck(tls, "version", v);
        if ((v = json_object_get(ts, "sni")) != NULL)
            json_object_set_nocheck(tls, "sni", v);
        /* TLS alert records seen both ways (close_notify and encrypted
         * ones included; the others are tls_alert alerts with level and
         * description) */
        json_object_set_new_nocheck(tls, "alerts", json_integer((json_int_t)json_array_size(json_object_get(ts, "alerts"))));
        json_decref(ts);
    }
    json_object_set_new_nocheck(tls, "decrypted_client_bytes", json_integer((json_int_t)c->plaintext_bytes[IMAP_DIR_CLIENT]));
    json_object_set_new_nocheck(tls, "decrypted_server_bytes", json_integer((json_int_t)c->plaintext_bytes[IMAP_DIR_SERVER]));
    json_object_set_new_nocheck(tls, "opaque_client_bytes",
                                json_integer((json_int_t)(c->opaque_bytes[IMAP_DIR_CLIENT] + tls_conn_skipped(c->tls, IMAP_DIR_CLIENT))));
    json_object_set_new_nocheck(tls, "opaque_server_bytes",
                                json_integer((json_int_t)(c->opaque_bytes[IMAP_DIR_SERVER] + tls_conn_skipped(c->tls, IMAP_DIR_SERVER))));
    json_object_set_new_nocheck(s, "tls", tls);
    bool mail_trunc;
    json_t *mail = mail_conn_summary(c->mail, &mail_trunc);
    if (mail) {
        /* whole messages fetched and appended, summed over the mailboxes
         * of mail.h's per-mailbox summary (each message is an email event
         * with its mailbox) */
        static const char *const keys[] = {"messages_fetched", "bytes_fetched", "messages_appended", "bytes_appended"};
        json_t *tot = json_object();
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            json_int_t sum = 0;
            for (size_t i = 0; i < json_array_size(mail); i++)
                sum += json_integer_value(json_object_get(json_array_get(mail, i), keys[k]));
            json_object_set_new_nocheck(tot, keys[k], json_integer(sum));
        }
        json_decref(mail);
        json_object_set_new_nocheck(s, "mail", tot);
        if (mail_trunc)
            json_object_set_new_nocheck(s, "mail_truncated", json_true());
    }
    return s;
}

static void on_flow_end(void *user, flow *f, const char *reason, uint64_t ts)
{
    engine *e = user;
    conn *c = f->app;

    if (!c)
        return;
    tcp_stream_flush(&f->stream[0], ts, &reasm_cb, c);
    tcp_stream_flush(&f->stream[1], ts, &reasm_cb, c);
    if (c->tls)
        tls_conn_end(c->tls, ts);
    c->mail_ts = ts;
    if (c->imap)
        imap_session_end(c->imap, reason, ts);
    mail_conn_end(c->mail, ts);
    conn_check_stripped(c);
    if (e->cfg.detect && c->imap && c->kind == CK_IMAP && c->dc)
        detect_feed_end(e->cfg.detect, e->cfg.detect_feeder, c->dc, c->imap, c->tls_implicit, ts,
                        conn_detect_env, c);
    if (c->kind == CK_IMAP || e->cfg.all_tcp) {
        e->events[EV_SESSION]++;
        e->conns_reported++;
        imap_summary sum;
        if (c->imap)
            imap_session_summary_typed(c->imap, &sum);
        emit_session(e, ts, conn_out(c), c->imap ? &sum : NULL, conn_summary(c, reason));
        if (c->imap)
            imap_summary_release(&sum);
        if (c->tls_seen && c->plaintext_bytes[0] + c->plaintext_bytes[1] == 0)
            output_hint_once(e->out, OUT_HINT_KEYLOG, e->cfg.keylog
                ? "TLS not decrypted: the --keylog file has no secrets for this connection "
                  "(log the keys of this client or server with SSLKEYLOGFILE)"
                : "TLS not decrypted: use --keylog FILE (SSLKEYLOGFILE) to see inside");
    }
    for (int d = 0; d < 2; d++)
        inflater_free(c->z[d]);
    tls_conn_free(c->tls);
    imap_session_free(c->imap);
    mail_conn_free(c->mail);
    json_decref(c->gaps);
    free(c->anomalies);
    free(c->dc);
    free(c);
    f->app = NULL;
}

/* ---- the engine ------------------------------------------------------------------ */

engine *engine_new(const engine_config *cfg, output *out, char *errbuf, size_t errlen)
{
    engine *e = calloc(1, sizeof *e);
    flow_config fc;

    if (!e) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    e->cfg = *cfg;
    e->out = out;
    flow_id_key_from_seed(e->flow_id_key, cfg->flow_id_seed);
    if (decoder_init(&e->dec, &e->cfg.decode, errbuf, errlen) != 0) {
        free(e);
        return NULL;
    }
    reasm_pool_init(&e->pool, &e->cfg.reasm);
    tls_config_default(&e->tls_cfg);
    e->tls_cfg.keylog = cfg->keylog;
    e->tls_cfg.max_record = cfg->tls_max_record;
    e->tls_cfg.max_handshake = cfg->tls_max_handshake;
    fc.max_flows = e->cfg.max_flows;
    fc.idle_timeout_us = e->cfg.idle_timeout_us;
    fc.server_ports = e->cfg.server_ports;
    fc.n_server_ports = e->cfg.n_server_ports;
    e->flows = flow_table_new(&fc, &e->pool, on_flow_end, e);
    if (!e->flows) {
        snprintf(errbuf, errlen, "out of memory for a flow table of %u flows", fc.max_flows);
        decoder_free(&e->dec);
        free(e);
        return NULL;
    }
    /* the streams directory is made and checked by main once privileges
     * are dropped (streams_dir_prepare), by the user that writes it */
    e->starttls = cfg->starttls;
    if (!e->starttls)
        e->starttls = e->own_starttls = starttls_seen_new(LIM_STARTTLS_SERVERS, LIM_STARTTLS_WAITING);
    return e;
}

starttls_seen *engine_starttls(engine *e)
{
    return e->starttls;
}

static bool both_closed(const flow *f)
{
    int s0 = tcp_stream_get_state(&f->stream[0]);
    int s1 = tcp_stream_get_state(&f->stream[1]);

    if (f->rst)
        return true;
    return s0 == TCP_STREAM_FIN_DONE && s1 == TCP_STREAM_FIN_DONE;
}

static void engine_tcp(engine *e, const pkt *p, uint64_t ts, uint64_t frame_no)
{
    int side;
    /* A new flow starts with a SYN or with data: a bare ACK, FIN or RST is
     * the tail of a connection already ended (or one we never saw carry
     * anything), and would only leave an empty connection behind. */
    bool may_create = (p->tcp_flags & PKT_TCP_SYN) || p->payload_len > 0;
    flow *f = flow_table_lookup(e->flows, p, ts, may_create, frame_no, &side);
    conn *c;
    int rc;

    if (!f)
        return;
    if (!f->app && !conn_new(e, f))
        return;
    c = f->app;
    f->packets[side]++;
    f->payload_bytes[side] += p->payload_len;
    if (p->tcp_flags & PKT_TCP_SYN)
        f->syn[side] = 1;
    if (p->tcp_flags & PKT_TCP_FIN)
        f->fin[side] = 1;

    rc = tcp_stream_segment(&f->stream[side], p->seq, p->tcp_flags, p->payload, p->payload_len,
                            ts, &reasm_cb, c);
    if (rc == REASM_SEG_NEW_CONN) {
        /* Port reuse: a new SYN on an ended connection. */
        flow_table_end(e->flows, f, "port_reuse", ts);
        f = flow_table_lookup(e->flows, p, ts, true, frame_no, &side);
        if (!f || (!f->app && !conn_new(e, f)))
            return;
        c = f->app;
        f->packets[side]++;
        f->payload_bytes[side] += p->payload_len;
        f->syn[side] = 1;
        tcp_stream_segment(&f->stream[side], p->seq, p->tcp_flags, p->payload, p->payload_len,
                           ts, &reasm_cb, c);
    }
    if (p->tcp_flags & PKT_TCP_ACK)
        tcp_stream_peer_ack(&f->stream[!side], p->ack, ts, &reasm_cb, c);
    if (p->tcp_flags & PKT_TCP_RST) {
        f->rst = 1;
        flow_table_end(e->flows, f, "rst", ts);
        return;
    }
    if (both_closed(f))
        flow_table_end(e->flows, f, "fin", ts);
}

bool engine_decode(engine *e, int linktype, const uint8_t *data, uint32_t caplen,
                   uint32_t wirelen, uint64_t ts_us, pkt *p)
{
    e->frames++;
    if (ts_us > e->last_frame_us)
        e->last_frame_us = ts_us;
    if (decode_packet(&e->dec, linktype, data, caplen, wirelen, ts_us, p) != DECODE_OK)
        return false;
    if (p->proto != 6) {
        e->non_tcp++;
        return false;
    }
    return true;
}

void engine_packet(engine *e, const pkt *p, uint64_t ts_us, uint64_t frame_no)
{
    if (ts_us > e->now_us) {
        /* Idle expiry looks at the LRU head only: cheap per packet. */
        e->now_us = ts_us;
        flow_table_expire(e->flows, ts_us);
    }
    e->tcp_packets++;
    /* pcap_cnt of the events this packet causes; those of idle expiry
     * (above), ticks and the end of input carry none */
    output_set_packet(e->out, frame_no);
    engine_tcp(e, p, ts_us, frame_no);
    output_set_packet(e->out, 0);
    /* (after: the detections it releases are not this packet's events) */
    if (e->cfg.detect)
        detect_clock(e->cfg.detect, e->cfg.detect_feeder, e->now_us);
}

void engine_frame(engine *e, int linktype, const uint8_t *data, uint32_t caplen,
                  uint32_t wirelen, uint64_t ts_us)
{
    pkt p;

    if (engine_decode(e, linktype, data, caplen, wirelen, ts_us, &p))
        engine_packet(e, &p, ts_us, e->frames);
}

void engine_tick(engine *e, uint64_t now_us)
{
    if (now_us > e->now_us) {
        e->now_us = now_us;
        flow_table_expire(e->flows, now_us);
    }
    if (e->cfg.detect) {
        detect_clock(e->cfg.detect, e->cfg.detect_feeder, e->now_us);
        detect_tick(e->cfg.detect, e->now_us);
    }
    output_flush(e->out);
}

void engine_end_all(engine *e, const char *reason)
{
    if (e->finished)
        return;
    e->finished = true;
    if (e->last_frame_us > e->now_us) {
        /* frames after the last TCP packet still move the clock */
        e->now_us = e->last_frame_us;
        flow_table_expire(e->flows, e->now_us);
    }
    flow_table_end_all(e->flows, reason, e->now_us);
    decoder_expire(&e->dec, UINT64_MAX);
    output_flush(e->out);
}

uint64_t engine_now(const engine *e)
{
    return e->now_us > e->last_frame_us ? e->now_us : e->last_frame_us;
}

void engine_progress(const engine *e, uint64_t *open_conns, uint64_t *events)
{
    *open_conns = flow_table_stats(e->flows)->active;
    *events = e->events[EV_IMAP] + e->events[EV_SESSION] + e->events[EV_ALERT] + e->tls_events + e->mail_events;
}

uint64_t engine_frames(const engine *e)
{
    return e->frames;
}

/* The working form of the stats event (stats_event.h): the groups of
 * counters and the bounded resources under "limits"; with --threads the
 * workers' forms are summed (workers.c), then stats_event_body() shapes
 * the event.  A cap reached is a limit's refused or evicted, or a counter
 * named for it (decode.frag_memcap, reassembly.reasm_stream_cap, ...). */
json_t *engine_stats(engine *e)
{
    json_t *st, *dec, *re, *fl, *ev;
    const decode_stats *ds;
    const flow_stats *fs;

    st = json_object();
    json_object_set_new_nocheck(st, "frames", json_integer((json_int_t)e->frames));
    json_object_set_new_nocheck(st, "tcp_packets", json_integer((json_int_t)e->tcp_packets));
    json_object_set_new_nocheck(st, "non_tcp_packets", json_integer((json_int_t)e->non_tcp));

    ds = decoder_stats(&e->dec);
    dec = json_object();
    json_object_set_new_nocheck(dec, "ok", json_integer((json_int_t)ds->ok));
    json_object_set_new_nocheck(dec, "held", json_integer((json_int_t)ds->held));
    json_object_set_new_nocheck(dec, "skipped", json_integer((json_int_t)ds->skipped));
    json_object_set_new_nocheck(dec, "errors", json_integer((json_int_t)ds->errors));
    for (int i = 0; i < DECODE_REASON_COUNT; i++)
        if (ds->reason[i])
            json_object_set_new(dec, decode_reason_name((decode_reason)i),
                                json_integer((json_int_t)ds->reason[i]));
    json_object_set_new_nocheck(st, "decode", dec);

    re = json_object();
    for (int i = 0; i < REASM_CTR_COUNT; i++)
        json_object_set_new(re, reasm_counter_name(i), json_integer((json_int_t)e->pool.counters[i]));
    for (int i = 0; i < REASM_ANOMALY_COUNT; i++)
        if (e->pool.anomalies[i] && i != REASM_ANOMALY_MEMCAP) /* the memcap: limit reassembly.memory */
            json_object_set_new(re, reasm_anomaly_name(i), json_integer((json_int_t)e->pool.anomalies[i]));
    json_object_set_new_nocheck(st, "reassembly", re);
    stats_limit_set(st, "reassembly.memory", "limit", e->cfg.reasm.memcap_total);
    stats_limit_set(st, "reassembly.memory", "used", e->pool.mem_used);
    stats_limit_set(st, "reassembly.memory", "peak", e->pool.mem_peak);
    stats_limit_set(st, "reassembly.memory", "refused", e->pool.anomalies[REASM_ANOMALY_MEMCAP]);

    fs = flow_table_stats(e->flows);
    fl = json_object();
    json_object_set_new_nocheck(fl, "created", json_integer((json_int_t)fs->created));
    json_object_set_new_nocheck(fl, "timed_out", json_integer((json_int_t)fs->timed_out));
    json_object_set_new_nocheck(st, "flows", fl);
    /* (the connections reported are events.imap_session) */
    stats_limit_set(st, "flows.table", "limit", e->cfg.max_flows);
    stats_limit_set(st, "flows.table", "used", fs->active);
    stats_limit_set(st, "flows.table", "peak", fs->peak_active);
    stats_limit_set(st, "flows.table", "evicted", fs->evicted);

    ev = json_object();
    json_object_set_new_nocheck(ev, "imap", json_integer((json_int_t)e->events[EV_IMAP]));
    json_object_set_new_nocheck(ev, "imap_session", json_integer((json_int_t)e->events[EV_SESSION]));
    json_object_set_new_nocheck(ev, "alert", json_integer((json_int_t)e->events[EV_ALERT]));
    json_object_set_new_nocheck(ev, "alerts_suppressed", json_integer((json_int_t)e->alerts_suppressed));
    json_object_set_new_nocheck(ev, "tls", json_integer((json_int_t)e->tls_events));
    if (e->cfg.mail.enabled)
        json_object_set_new_nocheck(ev, "mail", json_integer((json_int_t)e->mail_events));
    json_object_set_new_nocheck(st, "events", ev);
    if (e->cfg.mail.enabled) {
        /* the caps of src/mail.c: limits mail.memory and mail.pending */
        json_t *m = mail_stats_json(&e->mail);
        json_object_del(m, "memcap_refused");
        json_object_del(m, "pending_overflow");
        json_object_set_new_nocheck(st, "mail", m);
        stats_limit_set(st, "mail.memory", "limit", LIM_MAIL_MEMCAP);
        stats_limit_set(st, "mail.memory", "refused", e->mail.memcap_refused);
        stats_limit_set(st, "mail.pending", "limit", MAIL_MAX_PENDING);
        stats_limit_set(st, "mail.pending", "refused", e->mail.pending_overflow);
    }
    if (e->cfg.mail.extract) /* one per run, shared by the workers: counted once (workers.c) */
        json_object_set_new_nocheck(st, "extract", extract_stats_json(e->cfg.mail.extract));
    if (e->cfg.imap.budget) {
        const imap_budget *b = e->cfg.imap.budget;
        stats_limit_set(st, "imap.memory", "limit", b->limit);
        stats_limit_set(st, "imap.memory", "used", atomic_load(&b->used));
        stats_limit_set(st, "imap.memory", "peak", atomic_load(&b->peak));
        stats_limit_set(st, "imap.memory", "refused", atomic_load(&b->refused));
    }
    if (e->own_starttls) {
        /* the table's own counters, once per run (worker engines share the first's) */
        starttls_seen_stats ss;
        json_t *so = json_object();
        starttls_seen_get_stats(e->own_starttls, &ss);
        json_object_set_new_nocheck(so, "late_alerts", json_integer((json_int_t)ss.late_alerts));
        json_object_set_new_nocheck(st, "starttls_offered", so);
        stats_limit_set(st, "starttls_offered.servers", "limit", LIM_STARTTLS_SERVERS);
        stats_limit_set(st, "starttls_offered.servers", "used", ss.servers);
        stats_limit_set(st, "starttls_offered.servers", "refused", ss.servers_dropped);
        stats_limit_set(st, "starttls_offered.waiting", "limit", LIM_STARTTLS_WAITING);
        stats_limit_set(st, "starttls_offered.waiting", "refused", ss.waiting_dropped);
    }
    if (e->cfg.keylog) {
        const keylog *kl = e->cfg.keylog;
        json_t *k = json_object();
        json_object_set_new_nocheck(k, "entries", json_integer((json_int_t)kl->n));
        json_object_set_new_nocheck(k, "lines", json_integer((json_int_t)kl->lines));
        json_object_set_new_nocheck(k, "malformed_lines", json_integer((json_int_t)kl->skipped_bad));
        json_object_set_new_nocheck(st, "keylog", k);
        /* --key-log-max: refused 1 when the file was cut there */
        stats_limit_set(st, "keylog.bytes", "limit", kl->max_bytes);
        stats_limit_set(st, "keylog.bytes", "used", kl->bytes);
        stats_limit_set(st, "keylog.bytes", "refused", kl->truncated ? 1 : 0);
    }
    return st;
}

uint64_t engine_stats_time(uint64_t newest_us)
{
    struct timespec now;

    if (newest_us != 0 || clock_gettime(CLOCK_REALTIME, &now) != 0 || now.tv_sec < 0)
        return newest_us;
    return (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
}

void engine_stats_periodic(engine *e, uint64_t now_us, json_t *extra)
{
    json_t *st = engine_stats(e);
    json_object_set_new_nocheck(st, "periodic", json_true());
    if (extra) {
        json_object_update(st, extra);
        json_decref(extra);
    }
    output_flush(e->out); /* the sinks' counters after this engine's events so far */
    json_t *sinks = output_sinks_json(e->out);
    if (sinks)
        json_object_set_new_nocheck(st, "sinks", sinks);
    output_event(e->out, "stats", now_us, NULL, stats_event_body(st));
    output_flush(e->out);
}

void engine_finish(engine *e, const char *reason, json_t *extra)
{
    json_t *st;

    if (e->finished) {
        json_decref(extra);
        return;
    }
    engine_end_all(e, reason);
    st = engine_stats(e);
    if (e->cfg.detect) {
        /* the records still waiting, then the imap_user events */
        detect_finish(e->cfg.detect, e->now_us);
        json_object_set_new_nocheck(st, "detect", detect_stats(e->cfg.detect));
    }
    json_object_set_new_nocheck(st, "end_reason", json_string(reason));
    if (extra) {
        json_object_update(st, extra);
        json_decref(extra);
    }
    json_t *sinks = output_sinks_json(e->out); /* --rotate, network sinks: what each did so far */
    if (sinks)
        json_object_set_new_nocheck(st, "sinks", sinks);
    emit_event(e, "stats", engine_stats_time(e->now_us), NULL, stats_event_body(st));
    output_flush(e->out);
}

void engine_free(engine *e)
{
    if (!e)
        return;
    flow_table_free(e->flows);
    decoder_free(&e->dec);
    starttls_seen_free(e->own_starttls);
    free(e);
}
