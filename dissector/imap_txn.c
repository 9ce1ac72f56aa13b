/*
 * imap_txn.c - pending commands and the transactions they become (one
 * IMAP_EV_TRANSACTION per tagged completion, abandon or end), the typed
 * transaction, untagged responses and literals attached to them within
 * their caps, authentication attempts; the session's memory budget.
 *
 * RFC 9051 2.2.1 (tag correlation), 7 (untagged responses belong to the
 * command running), 6.2.2 / 6.2.3 (authentication outcome).
 */
#include "imap_session_int.h"
#include "imap_util.h"

#include <stdatomic.h>

/* ---------------------------------------------------------------- budget */

bool imapi_budget_charge(imap_session *s, size_t n, bool force)
{
    imap_budget *b = s->cfg.budget;
    if (!b || n == 0) {
        s->charged += n;
        return true;
    }
    size_t used = atomic_load_explicit(&b->used, memory_order_relaxed);
    for (;;) {
        if (!force && b->limit && (n > b->limit || used > b->limit - n)) {
            atomic_fetch_add_explicit(&b->refused, 1, memory_order_relaxed);
            return false;
        }
        if (atomic_compare_exchange_weak_explicit(&b->used, &used, used + n, memory_order_relaxed,
                                                  memory_order_relaxed))
            break;
    }
    size_t now = used + n, peak = atomic_load_explicit(&b->peak, memory_order_relaxed);
    while (now > peak &&
           !atomic_compare_exchange_weak_explicit(&b->peak, &peak, now, memory_order_relaxed, memory_order_relaxed))
        ;
    s->charged += n;
    return true;
}

void imapi_budget_release(imap_session *s, size_t n)
{
    if (n > s->charged)
        n = s->charged;
    s->charged -= n;
    if (s->cfg.budget && n)
        atomic_fetch_sub_explicit(&s->cfg.budget->used, n, memory_order_relaxed);
}

/* --------------------------------------------------------------- helpers */

/* [{name, count}] of a count map (json_count): the names are network data
 * (response names, command names), so the output is an array, not an
 * object keyed by them (issue 10: field paths do not grow with traffic). */
imap_node *imapi_count_array(const imap_node *o)
{
    imap_node *arr = imapi_array();
    const char *k;
    imap_node *v;
    imapi_object_foreach((imap_node *)o, k, v) {
        imap_node *e = imapi_object();
        imapi_object_set_new_nocheck(e, "name", imapi_string(k));
        imapi_object_set_new_nocheck(e, "count", imapi_incref(v));
        imapi_array_append_new(arr, e);
    }
    return arr;
}

/* ------------------------------------------------------ pending commands */

void imapi_pending_clear(imap_session *s, pending *p)
{
    imapi_budget_release(s, p->charged);
    p->charged = 0;
    imapi_decref(p->obj);
    imapi_decref(p->untagged);
    imapi_decref(p->responses);
    imapi_decref(p->literals);
    imapi_decref(p->sel_mb);
    imapi_sasl_clear(&p->sasl);
    memset(p, 0, sizeof *p);
}

static void add_auth_attempt(imap_session *s, pending *p, const char *outcome)
{
    if (!outcome || strcmp(outcome, "OK") != 0)
        s->login_failures++;
    if (imapi_array_size(s->auth_attempts) >= CORE_MAX_AUTH)
        return;
    imap_node *a = imapi_object();
    imapi_object_set_new_nocheck(a, "method", imapi_string(p->id == CMD_LOGIN ? "LOGIN" : "AUTHENTICATE"));
    if (p->mechanism[0])
        imapi_object_set_new_nocheck(a, "mechanism", imapi_string(p->mechanism));
    imap_node *u = imapi_object_get(p->obj, "user");
    if (!u && p->id == CMD_AUTHENTICATE) {
        const char *su = imapi_sasl_user(&p->sasl);
        if (su)
            u = imapi_object_get(imapi_sasl_info(&p->sasl), "user");
    }
    imapi_object_set_nocheck(a, "user", u ? u : imapi_null());
    imapi_object_set_new_nocheck(a, "outcome", outcome ? imapi_string(outcome) : imapi_null());
    imapi_array_append_new(s->auth_attempts, a);
    if (outcome && strcmp(outcome, "OK") == 0) {
        s->login_success = true;
        if (u) {
            imapi_decref(s->user_name);
            s->user_name = imapi_incref(u);
        }
    }
}

static imap_status status_of(const char *st)
{
    if (!st)
        return IMAP_STATUS_NONE;
    for (unsigned i = IMAP_STATUS_OK; i <= IMAP_STATUS_BYE; i++)
        if (strcmp(st, imap_status_name((imap_status)i)) == 0)
            return (imap_status)i;
    return IMAP_STATUS_NONE;
}

/* The typed transaction of p (its object o complete). */
static void txn_fill(const imap_session *s, const pending *p, const char *status, imap_transaction *t)
{
    const imap_node *o = p->obj;
    memset(t, 0, sizeof *t);
    t->tag = span_str(p->tag);
    t->command_name = span_str(p->command);
    t->command = p->command[0] ? imap_command_lookup(p->command, strlen(p->command)) : IMAP_CMD_NONE;
    t->status = status_of(status);
    const imap_node *rc = imapi_object_get(o, "response_code");
    if (rc) {
        t->code.value = rc;
        t->code.name = span_node(imapi_object_get(rc, "code"));
        t->code.code = imap_code_lookup(t->code.name.ptr, t->code.name.len);
    }
    t->text = span_node(imapi_object_get(o, "response_text"));
    if (p->command[0] && p->ts_request) {
        t->has_latency = true;
        t->latency_us = s->now >= p->ts_request ? s->now - p->ts_request : 0;
    }
    t->ts_request_us = p->command[0] ? p->ts_request : 0;
    t->client_bytes = p->client_bytes;
    t->server_bytes = p->server_bytes;
    t->continuations = p->continuations;
    t->state = (imap_session_state)p->state_at_issue;
    t->tls = tls_active(s);
    t->compressed = compressed_active(s);
    t->args = o;
    t->responses = imapi_array_size(p->responses) > 0 ? p->responses : NULL;
    t->obj = o;
}

/* AUTHENTICATE's decoded exchange into the transaction o (issue 10: one
 * name per concept): the authentication identity and the password are
 * "user" and "password" as for LOGIN; the mechanism-specific values
 * (realm, iterations, ntlm_last_type and the "params" of imap_sasl.c) are
 * the {name, value} pairs of "values", as ID's parameters and
 * SETMETADATA's entries; the rest (authzid, counters, flags) is "sasl". */
static void sasl_members(imap_node *o, const imap_node *info)
{
    imap_node *sasl = imapi_object(), *params = NULL;
    const char *k;
    imap_node *v;
    imapi_object_foreach(info, k, v) {
        if (strcmp(k, "user") == 0 || strcmp(k, "password") == 0) {
            if (!imapi_object_get(o, k))
                imapi_object_set_nocheck(o, k, v);
        } else if (strcmp(k, "realm") == 0 || strcmp(k, "iterations") == 0 || strcmp(k, "ntlm_last_type") == 0) {
            if (!params)
                params = imapi_array();
            imap_node *e = imapi_object();
            imapi_object_set_new_nocheck(e, "name", imapi_string_nocheck(k));
            if (v && v->kind == IMAP_NODE_INT) {
                char num[24];
                snprintf(num, sizeof num, "%lld", (long long)imapi_integer_value(v));
                imapi_object_set_new_nocheck(e, "value", imapi_string_nocheck(num));
            } else {
                imapi_object_set_nocheck(e, "value", v);
            }
            imapi_array_append_new(params, e);
        } else if (strcmp(k, "params") == 0) {
            if (!params)
                params = imapi_array();
            size_t i;
            imap_node *e;
            imapi_array_foreach(v, i, e)
                imapi_array_append(params, e);
        } else {
            imapi_object_set_nocheck(sasl, k, v);
        }
    }
    if (params)
        imapi_object_set_new_nocheck(o, "values", params);
    imapi_object_set_new_nocheck(o, "sasl", sasl);
}

/* Completes pending entry p into ONE IMAP_EV_TRANSACTION.  status: "OK",
 * "NO", "BAD" or NULL (no tagged response). */
void imapi_txn_emit(imap_session *s, pending *p, const char *status, uint64_t offset)
{
    imap_node *o = p->obj;
    imapi_object_set_new_nocheck(o, "status", status ? imapi_string(status) : imapi_null());
    if (p->command[0] && p->ts_request)
        imapi_object_set_new_nocheck(o, "latency_us", imapi_integer((int64_t)(s->now >= p->ts_request ? s->now - p->ts_request : 0)));
    /* the command's time is the event's timestamp minus latency_us (no
     * ts_request_us member: issue 10, at most 400 fields) */
    if (p->sel_mb) {
        /* the mailbox the command acts on; COPY/MOVE's own "mailbox" is
         * the destination, so there the selected one is "selected_mailbox" */
        imapi_object_set_nocheck(o, imapi_object_get(o, "mailbox") ? "selected_mailbox" : "mailbox", p->sel_mb);
    }
    imapi_object_set_new_nocheck(o, "untagged", imapi_count_array(p->untagged));
    if (imapi_array_size(p->responses) > 0)
        imapi_object_set_nocheck(o, "responses", p->responses);
    if (p->responses_dropped)
        imapi_object_set_new_nocheck(o, "responses_dropped", imapi_integer((int64_t)p->responses_dropped));
    imapi_object_set_new_nocheck(o, "continuations", imapi_integer(p->continuations));
    imapi_object_set_new_nocheck(o, "client_bytes", imapi_integer((int64_t)p->client_bytes));
    imapi_object_set_new_nocheck(o, "server_bytes", imapi_integer((int64_t)p->server_bytes));
    if (imapi_array_size(p->literals) > 0)
        imapi_object_set_nocheck(o, "literals", p->literals);
    imapi_object_set_new_nocheck(o, "state", imapi_string(imapi_state_names[p->state_at_issue]));
    /* the layers the command was read through, outermost first: [],
     * ["tls"], ["deflate"], ["tls", "deflate"] (TLS here means decrypted:
     * the dissector sees no bytes of an opaque TLS stream) */
    imap_node *layer = imapi_array();
    if (tls_active(s))
        imapi_array_append_new(layer, imapi_string_nocheck("tls"));
    if (compressed_active(s))
        imapi_array_append_new(layer, imapi_string_nocheck("deflate"));
    imapi_object_set_new_nocheck(o, "layer", layer);
    if (p->id == CMD_IDLE) {
        imapi_object_set_new_nocheck(o, "idle_ms", imapi_integer((int64_t)p->idle_ms));
        if (p->idle_started) {
            s->idle_count++;
            s->idle_total_ms += p->idle_ms;
        }
    }
    if (p->id == CMD_AUTHENTICATE && p->sasl.info)
        sasl_members(o, imapi_sasl_info(&p->sasl));
    if (p->id == CMD_LOGIN || p->id == CMD_AUTHENTICATE)
        add_auth_attempt(s, p, p->sasl.cancelled && !status ? "cancelled" : status);
    s->transactions++;
    imap_transaction t;
    txn_fill(s, p, status, &t);
    imap_event ev = { .type = IMAP_EV_TRANSACTION, .dir = IMAP_DIR_SERVER, .ts_us = s->now,
                      .offset = offset, .txn = &t, .data = o };
    imapi_emit(s, &ev);
}

/* Removes entry i (keeps the order). */
void imapi_pending_remove(imap_session *s, size_t i)
{
    imapi_pending_clear(s, &s->pend[i]);
    memmove(&s->pend[i], &s->pend[i + 1], (s->npend - i - 1) * sizeof(pending));
    s->npend--;
    memset(&s->pend[s->npend], 0, sizeof(pending));
}

ssize_t imapi_pending_find(const imap_session *s, const char *tag)
{
    for (size_t i = 0; i < s->npend; i++)
        if (strcmp(s->pend[i].tag, tag) == 0)
            return (ssize_t)i;
    return -1;
}

/* The command that untagged responses belong to: the running IDLE or
 * AUTHENTICATE, else the oldest pending command; -1 when none. */
ssize_t imapi_pending_for_untagged(const imap_session *s)
{
    for (size_t i = 0; i < s->npend; i++)
        if (s->pend[i].id == CMD_IDLE || (s->pend[i].id == CMD_AUTHENTICATE && s->pend[i].sasl_active))
            return (ssize_t)i;
    return s->npend ? 0 : -1;
}

ssize_t imapi_pending_newest(const imap_session *s, cmd_id id)
{
    for (size_t i = s->npend; i-- > 0;)
        if (s->pend[i].id == id && (id != CMD_AUTHENTICATE || s->pend[i].sasl_active))
            return (ssize_t)i;
    return -1;
}

void imapi_txn_add_literals(imap_session *s, pending *p, dir_state *d, imap_dir dir)
{
    for (size_t i = 0; i < d->nlits; i++) {
        const imap_literal *l = &d->lits[i];
        imap_node *o = imapi_object();
        imapi_object_set_new_nocheck(o, "direction", imapi_string(dir_name(dir)));
        imapi_object_set_new_nocheck(o, "size", imapi_integer((int64_t)l->size));
        /* a hash of a password is a password to crack offline */
        bool secret = dir == IMAP_DIR_CLIENT && !s->cfg.show_credentials &&
                      (p->id == CMD_LOGIN || p->id == CMD_AUTHENTICATE);
        if (l->has_sha256 && !secret) {
            char hex[65];
            imapi_hex_encode(l->sha256, 32, hex);
            imapi_object_set_new_nocheck(o, "sha256", imapi_string(hex));
        }
        /* the literal's markers as sent: "+" {n+}, "-" {n-}, "~" ~{n}
         * (binary, RFC 3516), "~+" ~{n+}; none for {n} */
        if (l->mode == '+' || l->mode == '-' || l->binary) {
            char m[3] = { 0 }, *w = m;
            if (l->binary)
                *w++ = '~';
            if (l->mode == '+' || l->mode == '-')
                *w++ = l->mode;
            imapi_object_set_new_nocheck(o, "mode", imapi_string(m));
        }
        if (l->received < l->size) {
            imapi_object_set_new_nocheck(o, "incomplete", imapi_true());
            imapi_object_set_new_nocheck(o, "received", imapi_integer((int64_t)l->received));
        }
        if (imapi_array_size(p->literals) < 1000)
            imapi_array_append_new(p->literals, o);
        else
            imapi_decref(o);
    }
    (void)s;
}

/* Adds one decoded untagged response (stolen) to p, within the caps. */
void imapi_txn_add_response(imap_session *s, pending *p, const char *type, imap_node *resp, size_t approx)
{
    json_count(p->untagged, type);
    if (!resp)
        return;
    bool capped = imapi_array_size(p->responses) >= s->cfg.max_responses ||
                  p->txn_bytes + approx > s->cfg.max_txn_bytes;
    if (capped || !imapi_budget_charge(s, approx, false)) {
        if (!p->responses_dropped) {
            if (capped)
                imapi_anomaly_raise(s, IMAP_DIR_SERVER, IMAP_ANOM_RESPONSES_DROPPED, s->dirs[IMAP_DIR_SERVER].line_start,
                                    p->tag[0] ? p->tag : NULL, "%s: more than %zu responses or %zu bytes decoded",
                                    p->command, s->cfg.max_responses, s->cfg.max_txn_bytes);
            else
                imapi_anomaly_raise(s, IMAP_DIR_SERVER, IMAP_ANOM_MEMCAP, s->dirs[IMAP_DIR_SERVER].line_start,
                                    p->tag[0] ? p->tag : NULL, "%s: decoded responses only counted (budget %zu bytes)",
                                    p->command, s->cfg.budget->limit);
        }
        p->responses_dropped++;
        imapi_decref(resp);
        return;
    }
    p->charged += approx;
    p->txn_bytes += approx;
    imapi_array_append_new(p->responses, resp);
}
