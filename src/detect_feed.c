/*
 * detect_feed.c - typed events to detection records (see detect_feed.h).
 */
#include "detect_feed.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static void copy_span(char *dst, size_t len, const char *s, size_t n)
{
    if (!s)
        n = 0;
    if (n >= len)
        n = len - 1;
    if (n)
        memcpy(dst, s, n);
    dst[n] = '\0';
}

static void copy_str(char *dst, size_t len, const imap_node *n)
{
    size_t l = 0;
    const char *s = imap_node_str(n, &l);
    copy_span(dst, len, s, s ? l : 0);
}

/* count of the untagged responses named name ("untagged": [{name, count}]) */
static uint64_t untagged_count(const imap_transaction *t, const char *name)
{
    const imap_node *u = imap_node_get(t->obj, "untagged");
    for (size_t i = 0; i < imap_node_size(u); i++) {
        const imap_node *e = imap_node_at(u, i);
        const char *n = imap_node_str(imap_node_get(e, "name"), NULL);
        if (n && strcmp(n, name) == 0)
            return (uint64_t)imap_node_int(imap_node_get(e, "count"));
    }
    return 0;
}

/* messages named by VANISHED responses (RFC 7162 3.2.10), as decoded */
static uint64_t vanished_count(const imap_transaction *t)
{
    uint64_t n = 0;
    for (size_t i = 0; i < imap_node_size(t->responses); i++) {
        const imap_node *r = imap_node_at(t->responses, i);
        const char *ty = imap_node_str(imap_node_get(r, "type"), NULL);
        if (ty && strcmp(ty, "VANISHED") == 0 && !imap_node_bool(imap_node_get(r, "earlier")))
            n += (uint64_t)imap_node_int(imap_node_get(imap_node_get(r, "messages"), "count"));
    }
    return n;
}

static uint64_t seqset_count(const imap_transaction *t)
{
    const imap_node *c = imap_node_get(imap_node_get(t->obj, "sequence_set"), "count");
    return c ? (uint64_t)imap_node_int(c) : 0;
}

static bool names_starttls(const imap_node *list)
{
    for (size_t i = 0; i < imap_node_size(list); i++) {
        const imap_node *e = imap_node_at(list, i);
        const char *n = imap_node_str(imap_node_kind_of(e) == IMAP_NODE_OBJECT ? imap_node_get(e, "name") : e, NULL);
        if (n && strcasecmp(n, "STARTTLS") == 0)
            return true;
    }
    return false;
}

/* Capability lists in a transaction before TLS and login (RFC 9051 6.1.1,
 * 7.1 CAPABILITY code): the tagged reply of LOGIN/AUTHENTICATE lists the
 * capabilities after login, where STARTTLS is never offered. */
static void note_caps(detect_conn *dc, const imap_transaction *t)
{
    if (t->tls || t->state != IMAP_SESSION_NOT_AUTHENTICATED || t->command == IMAP_CMD_LOGIN ||
        t->command == IMAP_CMD_AUTHENTICATE || t->command == IMAP_CMD_STARTTLS)
        return;
    for (size_t i = 0; i < imap_node_size(t->responses); i++) {
        const imap_node *r = imap_node_at(t->responses, i);
        const char *ty = imap_node_str(imap_node_get(r, "type"), NULL);
        if (ty && strcmp(ty, "CAPABILITY") == 0) {
            dc->caps_pre_tls = true;
            dc->starttls_pre_tls |= names_starttls(imap_node_get(r, "capabilities"));
        }
    }
    if (t->code.code == IMAP_CODE_CAPABILITY && t->code.value) {
        dc->caps_pre_tls = true;
        dc->starttls_pre_tls |= names_starttls(imap_node_get(t->code.value, "args"));
    }
}

/* ID parameters (RFC 2971 3.1) as "name=x;version=y;..." */
static void note_id(detect_conn *dc, const imap_transaction *t)
{
    const imap_node *id = imap_node_get(t->obj, "values"); /* ID's parameters */
    size_t o = 0;
    dc->id[0] = '\0';
    for (size_t i = 0; i < imap_node_size(id) && o + 1 < sizeof dc->id; i++) {
        const imap_node *p = imap_node_at(id, i);
        const char *n = imap_node_str(imap_node_get(p, "name"), NULL);
        const char *v = imap_node_str(imap_node_get(p, "value"), NULL);
        int k;
        if (!n)
            continue;
        k = snprintf(dc->id + o, sizeof dc->id - o, "%s%s=%s", o ? ";" : "", n, v ? v : "NIL");
        o = k < 0 ? sizeof dc->id : o + (size_t)k;
    }
}

/* FETCH items that transfer a whole message body (RFC 9051 6.4.5):
 * BODY[] / BODY.PEEK[] / BINARY[] without a partial range, RFC822. */
static const char *whole_body_item(const imap_transaction *t)
{
    const imap_node *items = imap_node_get(t->obj, "items");
    for (size_t i = 0; i < imap_node_size(items); i++) {
        const imap_node *it = imap_node_at(items, i);
        const char *name = imap_node_str(imap_node_get(it, "item"), NULL);
        const char *sec = imap_node_str(imap_node_get(it, "section"), NULL);
        if (!name)
            continue;
        if (strcmp(name, "RFC822") == 0)
            return "RFC822";
        if (sec && sec[0] == '\0' && !imap_node_get(it, "partial_origin")) {
            if (strcmp(name, "BODY") == 0)
                return "BODY[]";
            if (strcmp(name, "BODY.PEEK") == 0)
                return "BODY.PEEK[]";
            if (strcmp(name, "BINARY") == 0)
                return "BINARY[]";
            if (strcmp(name, "BINARY.PEEK") == 0)
                return "BINARY.PEEK[]";
        }
    }
    return NULL;
}

static bool fetches_body(const imap_transaction *t)
{
    const imap_node *items = imap_node_get(t->obj, "items");
    for (size_t i = 0; i < imap_node_size(items); i++) {
        const char *name = imap_node_str(imap_node_get(imap_node_at(items, i), "item"), NULL);
        if (name && (strncmp(name, "BODY", 4) == 0 || strncmp(name, "BINARY", 6) == 0 ||
                     strncmp(name, "RFC822", 6) == 0) &&
            strcmp(name, "BODYSTRUCTURE") != 0 && strcmp(name, "RFC822.SIZE") != 0 &&
            strcmp(name, "BINARY.SIZE") != 0 && !(strcmp(name, "BODY") == 0 && !imap_node_get(imap_node_at(items, i), "section")))
            return true;
    }
    return false;
}

static bool flags_deleted(const imap_transaction *t)
{
    const imap_node *st = imap_node_get(t->obj, "store");
    const char *act = imap_node_str(imap_node_get(st, "action"), NULL);
    const imap_node *fl = imap_node_get(t->obj, "flags");
    if (!act || strcmp(act, "remove") == 0)
        return false;
    for (size_t i = 0; i < imap_node_size(fl); i++) {
        const char *f = imap_node_str(imap_node_at(fl, i), NULL);
        if (f && strcasecmp(f, "\\Deleted") == 0)
            return true;
    }
    return false;
}

static void submit(detect *d, unsigned feeder, detect_conn *dc, detect_rec *r, uint64_t ts,
                   detect_envelope_fn env, void *ctx)
{
    r->ts_us = ts;
    r->seq = ++dc->seq;
    env(ctx, r);
    detect_submit(d, feeder, r);
}

/* The server greeting the dissector decoded (RFC 9051 7.1: greeting =
 * "*" SP (resp-cond-auth / resp-cond-bye) CRLF), read from the session:
 * no second parse of the server's bytes here.  A CAPABILITY code in it
 * (sent in clear unless the connection was TLS from its first byte) is a
 * capability list before TLS and login. */
static void note_greeting_caps(detect_conn *dc, const imap_session *s)
{
    const imap_node *code = imap_node_get(imap_session_greeting(s), "code");
    const char *name = imap_node_str(imap_node_get(code, "code"), NULL);
    if (name && strcasecmp(name, "CAPABILITY") == 0) {
        dc->caps_pre_tls = true;
        dc->starttls_pre_tls |= names_starttls(imap_node_get(code, "args"));
    }
}

/* The greeting's text after its response code: the banner of a client
 * fingerprint (OK and PREAUTH greetings; a BYE greeting has no login). */
static void greeting_banner(char *dst, size_t len, const imap_session *s)
{
    const imap_node *g = imap_session_greeting(s);
    const char *st = imap_node_str(imap_node_get(g, "status"), NULL);
    dst[0] = '\0';
    if (st && (strcmp(st, "OK") == 0 || strcmp(st, "PREAUTH") == 0))
        copy_str(dst, len, imap_node_get(g, "text"));
}

void detect_feed_txn(detect *d, unsigned feeder, detect_conn *dc, const imap_transaction *t,
                     const imap_session *s, uint64_t ts, detect_envelope_fn env, void *ctx)
{
    detect_rec r;
    bool ok = t->status == IMAP_STATUS_OK;
    const char *mbox_key = "mailbox";

    note_caps(dc, t);
    switch (t->command) {
    case IMAP_CMD_ID:
        note_id(dc, t);
        return;
    case IMAP_CMD_LOGIN:
    case IMAP_CMD_AUTHENTICATE:
        if (t->status != IMAP_STATUS_OK && t->status != IMAP_STATUS_NO)
            return; /* BAD: a syntax error or a cancelled exchange, not a verdict on the password */
        memset(&r, 0, sizeof r);
        r.kind = DETECT_LOGIN;
        r.ok = ok;
        r.tls = t->tls;
        copy_str(r.user, sizeof r.user, imap_node_get(t->obj, "user"));
        if (t->command == IMAP_CMD_LOGIN)
            snprintf(r.mechanism, sizeof r.mechanism, "LOGIN");
        else
            copy_str(r.mechanism, sizeof r.mechanism, imap_node_get(t->obj, "mechanism"));
        memcpy(r.id, dc->id, sizeof r.id);
        memcpy(r.ja3, dc->ja3, sizeof r.ja3);
        memcpy(r.ja4, dc->ja4, sizeof r.ja4);
        if (ok) {
            greeting_banner(r.banner, sizeof r.banner, s);
            memcpy(dc->user, r.user, sizeof dc->user);
        }
        submit(d, feeder, dc, &r, ts, env, ctx);
        return;
    default:
        break;
    }
    if (!ok || !dc->user[0])
        return;
    memset(&r, 0, sizeof r);
    memcpy(r.user, dc->user, sizeof r.user);
    switch (t->command) {
    case IMAP_CMD_SELECT:
    case IMAP_CMD_EXAMINE:
        r.kind = DETECT_SELECT;
        break;
    case IMAP_CMD_FETCH:
    case IMAP_CMD_UID_FETCH: {
        const char *whole = whole_body_item(t);
        const char *set = imap_node_str(imap_node_get(imap_node_get(t->obj, "sequence_set"), "text"), NULL);
        r.kind = DETECT_FETCH;
        r.bytes = t->server_bytes;
        r.messages = fetches_body(t) ? untagged_count(t, "FETCH") : 0;
        if (whole && set && (strcmp(set, "1:*") == 0 || strcmp(set, "*:1") == 0)) {
            r.whole_mailbox = true;
            snprintf(r.items, sizeof r.items, "%s", whole);
        }
        break;
    }
    case IMAP_CMD_APPEND: {
        const imap_node *ms = imap_node_get(t->obj, "messages");
        r.kind = DETECT_APPEND;
        r.messages = imap_node_size(ms) ? (uint64_t)imap_node_size(ms) : 1;
        r.bytes = t->client_bytes;
        break;
    }
    case IMAP_CMD_STORE:
    case IMAP_CMD_UID_STORE: {
        uint64_t n;
        if (!flags_deleted(t))
            return;
        r.kind = DETECT_FLAG_DELETED;
        n = untagged_count(t, "FETCH");
        r.messages = n ? n : seqset_count(t);
        break;
    }
    case IMAP_CMD_EXPUNGE:
    case IMAP_CMD_UID_EXPUNGE:
        r.kind = DETECT_EXPUNGE;
        r.messages = untagged_count(t, "EXPUNGE") + vanished_count(t);
        if (r.messages == 0)
            return;
        break;
    case IMAP_CMD_DELETE:
        r.kind = DETECT_DELETE_MAILBOX;
        break;
    case IMAP_CMD_MOVE:
    case IMAP_CMD_UID_MOVE: {
        uint64_t n = untagged_count(t, "EXPUNGE") + vanished_count(t), sc = seqset_count(t);
        r.kind = DETECT_MOVE;
        r.messages = n > sc ? n : sc;
        break;
    }
    default:
        return;
    }
    /* FETCH, STORE and EXPUNGE name the selected mailbox "mailbox"; MOVE
     * and COPY name their target so and the source "selected_mailbox" */
    copy_str(r.mailbox, sizeof r.mailbox, imap_node_get(t->obj, mbox_key));
    submit(d, feeder, dc, &r, ts, env, ctx);
}

void detect_feed_tls(detect_conn *dc, const json_t *tls_event)
{
    const char *ja3 = json_string_value(json_object_get(tls_event, "ja3"));
    const char *ja4 = json_string_value(json_object_get(tls_event, "ja4"));
    if (ja3)
        snprintf(dc->ja3, sizeof dc->ja3, "%s", ja3);
    if (ja4)
        snprintf(dc->ja4, sizeof dc->ja4, "%s", ja4);
}

void detect_feed_end(detect *d, unsigned feeder, detect_conn *dc, const imap_session *s, bool implicit_tls,
                     uint64_t ts, detect_envelope_fn env, void *ctx)
{
    detect_rec r;
    imap_starttls_offer off = imap_session_starttls_offer(s);

    if (implicit_tls)
        return;
    note_greeting_caps(dc, s);
    if (off != IMAP_STARTTLS_OFFERED && off != IMAP_STARTTLS_STRIPPED && !dc->caps_pre_tls)
        return;
    memset(&r, 0, sizeof r);
    r.kind = DETECT_STARTTLS;
    r.offered = off == IMAP_STARTTLS_OFFERED || (off != IMAP_STARTTLS_STRIPPED && dc->starttls_pre_tls);
    memcpy(r.user, dc->user, sizeof r.user);
    submit(d, feeder, dc, &r, ts, env, ctx);
}
