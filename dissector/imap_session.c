/*
 * imap_session.c - the IMAP session core's lifetime and its public entry
 * points that belong to no other part: configuration defaults, budget
 * set-up, imap_session_new / _end / _free, the summary (plain and typed),
 * midstream / no-handshake starts and the greeting sniff.  Implements
 * imap.h together with the files named in imap_session_int.h.
 *
 * RFC 9051 7.1 (greeting), 3 (states, in the summary).
 */
#include "imap_session_int.h"

#include <stdlib.h>

/* --------------------------------------------------------- configuration */

void imap_config_default(imap_config *cfg)
{
    cfg->max_line = IMAPI_DEFAULT_MAX_LINE;
    cfg->max_literal = IMAPI_DEFAULT_MAX_LITERAL;
    cfg->literal_keep = IMAPI_DEFAULT_LITERAL_KEEP;
    cfg->max_pending = IMAPI_DEFAULT_MAX_PENDING;
    cfg->max_responses = IMAPI_DEFAULT_MAX_RESPONSES;
    cfg->max_txn_bytes = IMAPI_DEFAULT_MAX_TXN_BYTES;
    cfg->hash_literals = false;
    cfg->show_credentials = false;
    cfg->emit_lines = false;
    cfg->budget = NULL;
}

void imap_budget_init(imap_budget *b, size_t limit)
{
    b->limit = limit;
    atomic_init(&b->used, 0);
    atomic_init(&b->peak, 0);
    atomic_init(&b->refused, 0);
}

/* ---------------------------------------------------------- entry points */

void imap_session_set_no_handshake(imap_session *s)
{
    if (s)
        s->no_handshake = true;
}

void imap_session_set_midstream(imap_session *s)
{
    if (!s || s->greeting_seen || s->dirs[IMAP_DIR_CLIENT].data_seen || s->dirs[IMAP_DIR_SERVER].data_seen)
        return;
    /* No greeting will come and the first bytes may be anywhere in a line
     * or a literal: the state is unknown, and each direction starts as
     * after a gap, at the first line that clearly begins a command or a
     * response (without an anomaly: nothing was lost that we saw). */
    s->midstream = true;
    s->greeting_seen = true;
    imapi_session_set_state(s, IMAP_STATE_UNKNOWN);
    imapi_recompute_projected(s);
    s->dirs[IMAP_DIR_CLIENT].resync = true;
    s->dirs[IMAP_DIR_SERVER].resync = true;
}

const imap_node *imap_session_greeting(const imap_session *s)
{
    return s ? s->greeting : NULL;
}

bool imap_looks_like_greeting(const uint8_t *data, size_t len)
{
    static const char *const g[] = { "* OK", "* PREAUTH", "* BYE" };
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(g[i]);
        if (len >= n && strncasecmp((const char *)data, g[i], n) == 0 &&
            (len == n || data[n] == ' ' || data[n] == '\r' || data[n] == '\n'))
            return true;
    }
    return false;
}

/* -------------------------------------------------------------- lifetime */

imap_session *imap_session_new(const imap_config *cfg, const imap_callbacks *cb, void *user)
{
    imap_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (cfg)
        s->cfg = *cfg;
    else
        imap_config_default(&s->cfg);
    if (s->cfg.max_line < 64)
        s->cfg.max_line = 64;
    if (s->cfg.max_pending < 1)
        s->cfg.max_pending = 1;
    if (cb)
        s->cb = *cb;
    s->user = user;
    s->arena_cap = s->cfg.max_line * 16 + 65536;
    for (int i = 0; i < 2; i++) {
        dir_state *d = &s->dirs[i];
        d->keep_cap = s->cfg.literal_keep * 16;
        /* line buffer: at the first line that needs a copy (buf_append);
         * SHA-256 context: at the first literal, with hash_literals */
    }
    /* pending slots: at the first command */
    s->caps = imapi_array();
    s->enabled = imapi_array();
    s->auth_attempts = imapi_array();
    s->mailboxes = imapi_array();
    s->commands = imapi_object();
    s->unsolicited = imapi_object();
    if (!s->caps || !s->enabled || !s->auth_attempts || !s->mailboxes ||
        !s->commands || !s->unsolicited) {
        imap_session_free(s);
        return NULL;
    }
    imapi_session_set_state(s, IMAP_STATE_NOT_AUTHENTICATED);
    return s;
}

void imap_session_end(imap_session *s, const char *reason, uint64_t ts_us)
{
    if (!s || s->ended)
        return;
    s->ended = true;
    s->now = ts_us;
    for (int i = 0; i < 2; i++) {
        dir_state *d = &s->dirs[i];
        if (d->mode == DM_LITERAL) {
            imapi_anomaly_raise(s, (imap_dir)i, IMAP_ANOM_LITERAL_INCOMPLETE, d->line_start, d->line_tag[0] ? d->line_tag : NULL,
                                "%llu literal bytes missing at the end", (unsigned long long)d->lit_remaining);
            imapi_literal_end(s, (imap_dir)i, d);
        }
    }
    if (s->cred_while_starttls && s->starttls_outstanding > 0 && !s->stripped_reported) {
        s->stripped_reported = true;
        imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_STARTTLS_STRIPPED, s->cred_while_starttls_off,
                            s->cred_while_starttls_tag[0] ? s->cred_while_starttls_tag : NULL,
                            "%s after STARTTLS, which went unanswered", s->cred_while_starttls_what);
    }
    while (s->npend > 0) {
        pending *p = &s->pend[0];
        imapi_object_set_new_nocheck(p->obj, "reason", imapi_string(reason ? reason : "end"));
        imapi_txn_emit(s, p, NULL, s->dirs[IMAP_DIR_SERVER].offset);
        imapi_pending_remove(s, 0);
    }
}

static imap_span cspan(const char *c) { return (imap_span){ c, c ? strlen(c) : 0 }; }

void imap_session_summary_typed(const imap_session *s, imap_summary *out)
{
    memset(out, 0, sizeof *out);
    out->obj = imap_session_summary(s);
    if (!s)
        return;
    out->user = (imap_span){ imapi_string_value(s->user_name), imapi_string_length(s->user_name) };
    out->login_success = s->login_success;
    out->preauth = s->preauth;
    out->midstream = s->midstream;
    out->state = (imap_session_state)s->state;
    out->transactions = s->transactions;
    const char *k;
    imap_node *v;
    imapi_object_foreach(s->commands, k, v) {
        (void)k;
        out->commands += (uint64_t)imapi_integer_value(v);
    }
    out->starttls_requested = s->starttls_requested;
    out->starttls_result = cspan(s->starttls_result);
    out->compress_requested = s->compress_requested;
    out->compress_result = cspan(s->compress_result);
    out->tls = tls_active(s);
    out->compressed = compressed_active(s);
    out->starttls_offer = imap_session_starttls_offer(s);
}

void imap_summary_release(imap_summary *sum)
{
    if (sum) {
        imapi_decref(sum->obj);
        sum->obj = NULL;
    }
}

/* STARTTLS / COMPRESS in the summary: null when the command was not
 * sent, else its tagged status ("OK", "NO", "BAD", "invalid"), or
 * "unanswered" when no tagged response was seen (issue 10: one field,
 * not {requested, result}). */
static imap_node *switch_result(bool requested, const char *result)
{
    if (!requested)
        return imapi_null();
    return imapi_string(result ? result : "unanswered");
}

/* The ID parameters of both sides as one list, [{direction, name, value}]
 * (RFC 2971; issue 10: one shape instead of id.client and id.server). */
static void id_add(imap_node *out, const imap_node *params, const char *dir)
{
    size_t i;
    imap_node *p;
    imapi_array_foreach(params, i, p) {
        imap_node *e = imapi_object();
        imapi_object_set_new_nocheck(e, "direction", imapi_string_nocheck(dir));
        imap_node *n = imapi_object_get(p, "name"), *v = imapi_object_get(p, "value");
        imapi_object_set_nocheck(e, "name", n ? n : imapi_null());
        imapi_object_set_nocheck(e, "value", v ? v : imapi_null());
        imapi_array_append_new(out, e);
    }
}

imap_node *imap_session_summary(const imap_session *s)
{
    imap_node *o = imapi_object();
    if (!s)
        return o;
    imapi_object_set_nocheck(o, "user", s->user_name ? s->user_name : imapi_null());
    /* each attempt is an imap event (command LOGIN or AUTHENTICATE, user,
     * mechanism, status): the summary counts those that failed */
    imapi_object_set_new_nocheck(o, "login_success", imapi_boolean(s->login_success));
    imapi_object_set_new_nocheck(o, "login_failures", imapi_integer((int64_t)s->login_failures));
    if (s->bye) {
        /* the first BYE: its code and text (it is always a BYE) */
        imap_node *bye = imapi_object();
        imap_node *v;
        if ((v = imapi_object_get(s->bye, "code")) != NULL)
            imapi_object_set_nocheck(bye, "code", v);
        if ((v = imapi_object_get(s->bye, "text")) != NULL)
            imapi_object_set_nocheck(bye, "text", v);
        imapi_object_set_new_nocheck(o, "bye", bye);
    }
    /* capability names as the server sent them (the rfc and meaning of
     * each are in "annotations" with --annotate) */
    imapi_object_set_nocheck(o, "capabilities", s->caps);
    if (s->caps_before_tls)
        imapi_object_set_nocheck(o, "capabilities_before_tls", s->caps_before_tls);
    imapi_object_set_nocheck(o, "enabled", s->enabled);
    imapi_object_set_nocheck(o, "mailboxes", s->mailboxes);
    imapi_object_set_new_nocheck(o, "commands", imapi_count_array(s->commands));
    imapi_object_set_new_nocheck(o, "unsolicited", imapi_count_array(s->unsolicited));
    imapi_object_set_new_nocheck(o, "state", imapi_string(imapi_state_names[s->state]));
    imapi_object_set_new_nocheck(o, "midstream", imapi_boolean(s->midstream));
    imapi_object_set_nocheck(o, "greeting", s->greeting ? s->greeting : imapi_null());
    imapi_object_set_new_nocheck(o, "starttls", switch_result(s->starttls_requested, s->starttls_result));
    imapi_object_set_new_nocheck(o, "compress", switch_result(s->compress_requested, s->compress_result));
    imap_node *an = imapi_object();
    for (int i = 0; i < IMAP_ANOM__COUNT; i++)
        if (s->anomaly_counts[i])
            imapi_object_set_new(an, imap_anomaly_name((imap_anomaly)i), imapi_integer((int64_t)s->anomaly_counts[i]));
    imapi_object_set_new_nocheck(o, "anomalies", an);
    imap_node *id = imapi_array();
    id_add(id, s->id_client, "client");
    id_add(id, s->id_server, "server");
    imapi_object_set_new_nocheck(o, "id", id);
    imap_node *lit = imapi_object();
    imapi_object_set_new_nocheck(lit, "client_count", imapi_integer((int64_t)s->literal_count[0]));
    imapi_object_set_new_nocheck(lit, "client_bytes", imapi_integer((int64_t)s->literal_bytes[0]));
    imapi_object_set_new_nocheck(lit, "server_count", imapi_integer((int64_t)s->literal_count[1]));
    imapi_object_set_new_nocheck(lit, "server_bytes", imapi_integer((int64_t)s->literal_bytes[1]));
    imapi_object_set_new_nocheck(o, "literals", lit);
    /* commands still waiting: only in a summary made before
     * imap_session_end (which turns them into transactions), so never in
     * the program's imap_session event */
    if (s->npend)
        imapi_object_set_new_nocheck(o, "pending", imapi_integer((int64_t)s->npend));
    return o;
}

void imap_session_free(imap_session *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->pend && i < s->npend; i++)
        imapi_pending_clear(s, &s->pend[i]);
    free(s->pend);
    for (int i = 0; i < 2; i++) {
        free(s->dirs[i].buf);
        free(s->dirs[i].keep);
        free(s->dirs[i].lits);
        EVP_MD_CTX_free(s->dirs[i].md);
    }
    for (size_t i = 0; i < s->ndeferred; i++)
        imapi_decref(s->deferred[i].data);
    free(s->deferred);
    imapi_decref(s->greeting);
    imapi_decref(s->selected_mb);
    imapi_decref(s->bye);
    imapi_decref(s->caps);
    imapi_decref(s->caps_before_tls);
    imapi_decref(s->enabled);
    imapi_decref(s->user_name);
    imapi_decref(s->auth_attempts);
    imapi_decref(s->mailboxes);
    imapi_decref(s->commands);
    imapi_decref(s->unsolicited);
    imapi_decref(s->id_client);
    imapi_decref(s->id_server);
    imapi_budget_release(s, s->charged);
    free(s);
}
