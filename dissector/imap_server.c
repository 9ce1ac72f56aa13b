/*
 * imap_server.c - one complete server line: the greeting, untagged status
 * and data responses, continuations, tagged completions (state changes,
 * STARTTLS / COMPRESS switch points), response text and codes, lines that
 * are no response.
 *
 * RFC 9051 7 and 9 (greeting, response-tagged, response-data,
 * continue-req, resp-text, resp-text-code), 7.1 (status responses);
 * RFC 2971 (ID); RFC 5161 (ENABLED).
 */
#include "imap_session_int.h"

#include <stdio.h>

/* --------------------------------------------------------- response text */

typedef struct resp_text {
    imap_node *code;                 /* decoded response code (owned) or NULL */
    char    code_name[48];
    const imap_value *code_args;  /* first token after the code name */
    const char *text;
    size_t  text_len;
} resp_text;

/* RFC 9051 9: resp-text = ["[" resp-text-code "]" SP] [text].  p..end is
 * the part after the status word and its SP. */
static void parse_resp_text(imap_session *s, imap_dir dir, const char *p, const char *end,
                            resp_text *rt, const char *tag)
{
    memset(rt, 0, sizeof *rt);
    rt->text = p;
    rt->text_len = (size_t)(end - p);
    if (p >= end || *p != '[')
        return;
    const char *err = NULL;
    size_t consumed = 0, err_off = 0;
    imap_value *toks = imapi_tokenize(s->arena, p + 1, (size_t)(end - p - 1), NULL, 0, NULL, true,
                                     &consumed, &err, &err_off);
    const char *q = p + 1 + consumed;
    if (!toks || err || q >= end || *q != ']' || !toks->child || toks->child->type != IV_ATOM) {
        imapi_anomaly_raise(s, dir, IMAP_ANOM_MALFORMED_RESPONSE, s->dirs[dir].line_start, tag,
                            "bad response code: %s", err ? err : "missing ']' or code name");
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (rb) {
            q = rb;
        } else {
            return;
        }
        if (!toks || !toks->child || toks->child->type != IV_ATOM) {
            rt->text = q + 1 < end && q[1] == ' ' ? q + 2 : q + 1;
            rt->text_len = (size_t)(end - rt->text);
            return;
        }
    }
    const imap_value *name = toks->child;
    copy_upper(rt->code_name, sizeof rt->code_name, name->s, name->len);
    imap_value *args = imapi_arena_alloc(s->arena, sizeof *args);
    if (args) {
        memset(args, 0, sizeof *args);
        args->type = IV_LIST;
        args->child = name->next;
        args->count = toks->count ? toks->count - 1 : 0;
        args->s = "";
    }
    rt->code_args = name->next;
    /* raw: the code's arguments as on the wire */
    const char *raw = p + 1 + name->len;
    while (raw < q && *raw == ' ')
        raw++;
    imap_decode_ctx ctx = decode_ctx(s);
    rt->code = imapi_decode_resp_code(&ctx, rt->code_name, args, raw, (size_t)(q - raw));
    q++; /* "]" */
    if (q < end && *q == ' ')
        q++;
    rt->text = q;
    rt->text_len = (size_t)(end - q);
}

/* Effects of a response code wherever it appears. */
static void resp_code_effects(imap_session *s, const resp_text *rt)
{
    if (strcmp(rt->code_name, "CAPABILITY") == 0)
        imapi_caps_update(s, rt->code_args);
}

/* ---------------------------------------------------------- server lines */

/* RFC 2971 3.1: id_params_list = "(" *(string SP nstring) ")" / nil */
imap_node *imapi_id_params(const imap_value *list)
{
    if (!list || list->type != IV_LIST)
        return imapi_null();
    imap_node *o = imapi_array(); /* [{name, value}]: names are network data (issue 10) */
    for (const imap_value *k = list->child; k && k->next; k = k->next->next) {
        size_t kl, vl;
        const char *ks = imapi_value_text(k, &kl, NULL);
        const char *vs = imapi_value_text(k->next, &vl, NULL);
        char key[64];
        imapi_core_escape(key, sizeof key, (const uint8_t *)ks, kl);
        imap_node *e = imapi_object();
        imapi_object_set_new_nocheck(e, "name", imapi_string(key));
        imapi_object_set_new_nocheck(e, "value", k->next->type == IV_NIL ? imapi_null() : json_bytes(vs, vl));
        imapi_array_append_new(o, e);
        if (imapi_array_size(o) >= 30)
            break;
    }
    return o;
}

/* Untagged responses and continuations are not legitimate between STARTTLS
 * and its OK (SPECS.md 6.3, RFC 9051 6.2.1). */
static void check_starttls_window(imap_session *s, const char *text, size_t len)
{
    if (s->starttls_outstanding == 0)
        return;
    char buf[CORE_INJECT_MAX + 8];
    imapi_core_escape(buf, sizeof buf, (const uint8_t *)text, len);
    imapi_anomaly_raise(s, IMAP_DIR_SERVER, IMAP_ANOM_STARTTLS_UNTAGGED_BEFORE_OK, s->dirs[1].line_start, NULL,
                        "%s", buf);
}

/* Whether the first untagged status may be the greeting (RFC 9051 7.1:
 * greeting = "*" SP (resp-cond-auth / resp-cond-bye)).  A capture that
 * starts mid-connection often begins with a SELECT's "* OK [UIDVALIDITY
 * n]": a code about a selected mailbox (RFC 9051 7.1) is never in a
 * greeting.  After a client line that came first, an IDLE keepalive
 * ("* OK still here", RFC 2177) is no greeting either. */
static bool greeting_plausible(const imap_session *s, const char *status, const resp_text *rt)
{
    static const char *const mailbox_codes[] = {
        "UIDVALIDITY", "UIDNEXT", "UNSEEN", "PERMANENTFLAGS", "READ-ONLY", "READ-WRITE",
        "HIGHESTMODSEQ", "NOMODSEQ", "CLOSED", "TRYCREATE", "APPENDUID", "COPYUID", "UIDNOTSTICKY",
    };
    for (size_t k = 0; k < sizeof mailbox_codes / sizeof mailbox_codes[0]; k++)
        if (strcmp(rt->code_name, mailbox_codes[k]) == 0)
            return false;
    if (s->client_first && (strcmp(status, "NO") == 0 || strcmp(status, "BAD") == 0 ||
                            imapi_pending_newest(s, CMD_IDLE) >= 0))
        return false;
    return true;
}

/* Without the TCP handshake, a first "* OK" is a greeting only if it looks
 * like one (RFC 9051 7.1: the greeting's resp-text is free, but servers
 * announce themselves): a CAPABILITY code, or text naming the server
 * ("ready", "IMAP", "server", "service", "welcome", "hello", "greet",
 * "proxy").  An IDLE keep-alive ("* OK Still here", RFC 2177 3) or any other
 * status in flight when the capture began is not. */
static bool greeting_text_plausible(const char *status, const resp_text *rt)
{
    static const char *const words[] = {
        "ready", "imap", "server", "service", "welcome", "hello", "greet", "proxy",
    };
    if (strcmp(status, "OK") != 0 || strcmp(rt->code_name, "CAPABILITY") == 0)
        return true;
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
        size_t wl = strlen(words[k]);
        for (size_t i = 0; i + wl <= rt->text_len; i++)
            if (ci_eq(rt->text + i, wl, words[k]))
                return true;
    }
    return false;
}

/* The first server line is not a greeting: the capture started
 * mid-connection, so the state is unknown (the client side already said so
 * when it spoke first). */
static void greeting_missing(imap_session *s, const dir_state *d)
{
    s->greeting_seen = true;
    if (!s->client_first) {
        imapi_session_set_state(s, IMAP_STATE_UNKNOWN);
        imapi_recompute_projected(s);
        imapi_anomaly_raise(s, IMAP_DIR_SERVER, IMAP_ANOM_RESPONSE_BEFORE_GREETING, d->line_start, NULL,
                            "first server line is not a greeting");
    }
}

static void server_untagged_status(imap_session *s, dir_state *d, const char *text, size_t len,
                                   const char *w, size_t wl)
{
    const char *end = text + len;
    const char *rest = w + wl;
    if (rest < end && *rest == ' ')
        rest++;
    char status[16];
    copy_upper(status, sizeof status, w, wl);
    resp_text rt;
    parse_resp_text(s, IMAP_DIR_SERVER, rest, end, &rt, "*");
    resp_code_effects(s, &rt);
    imap_node *extra = s->cfg.emit_lines ? imapi_object() : NULL;
    if (extra && rt.code_name[0]) {
        imapi_object_set_new_nocheck(extra, "code", imapi_string(rt.code_name));
        if (strcmp(rt.code_name, "CAPABILITY") == 0)
            imapi_object_set_nocheck(extra, "capabilities", s->caps);
    }
    if (!s->greeting_seen && s->no_handshake && !s->client_first && !greeting_text_plausible(status, &rt)) {
        /* no TCP handshake and no greeting: the capture began
         * mid-connection, as imap_session_set_midstream (no anomaly: that
         * is what a capture without the handshake is) */
        s->midstream = true;
        s->greeting_seen = true;
        imapi_session_set_state(s, IMAP_STATE_UNKNOWN);
        imapi_recompute_projected(s);
        if (!s->dirs[IMAP_DIR_CLIENT].data_seen)
            s->dirs[IMAP_DIR_CLIENT].resync = true;
    } else if (!s->greeting_seen && !greeting_plausible(s, status, &rt)) {
        /* mid-connection: this is a response, not a greeting */
        greeting_missing(s, d);
    } else if (!s->greeting_seen) {
        /* RFC 9051 7.1: greeting = "*" SP (resp-cond-auth / resp-cond-bye) CRLF */
        s->greeting_seen = true;
        imapi_decref(s->greeting);
        s->greeting = imapi_object();
        imapi_object_set_new_nocheck(s->greeting, "status", imapi_string(status));
        if (rt.code)
            imapi_object_set_nocheck(s->greeting, "code", rt.code);
        osetl(s->greeting, "text", json_bytes(rt.text, rt.text_len));
        if (strcmp(status, "PREAUTH") == 0) {
            /* RFC 9051 7.1.4: already authenticated by external means; the
             * user is not named on the wire */
            imapi_session_set_state(s, IMAP_STATE_AUTHENTICATED);
            s->preauth = true;
            s->login_success = true;
            if (!tls_active(s))
                imapi_anomaly_raise(s, IMAP_DIR_SERVER, IMAP_ANOM_PREAUTH_CLEARTEXT, d->line_start, NULL,
                                    "PREAUTH greeting without TLS");
        } else if (strcmp(status, "BYE") == 0) {
            imapi_session_set_state(s, IMAP_STATE_LOGOUT);
        } else if (strcmp(status, "OK") == 0) {
            imapi_session_set_state(s, IMAP_STATE_NOT_AUTHENTICATED); /* after a client that spoke first */
        } else {
            imapi_anomaly_raise(s, IMAP_DIR_SERVER, IMAP_ANOM_MALFORMED_RESPONSE, d->line_start, NULL,
                                "greeting status %s", status);
        }
        imapi_recompute_projected(s);
        imapi_decref(rt.code);
        if (extra)
            imapi_object_set_new_nocheck(extra, "greeting", imapi_true());
        imapi_emit_line(s, IMAP_DIR_SERVER, "untagged", "*", status, text, len, extra);
        return;
    }
    check_starttls_window(s, text, len);
    if (strcmp(status, "BYE") == 0)
        imapi_session_set_state(s, IMAP_STATE_LOGOUT);
    imap_node *resp = imapi_object();
    imapi_object_set_new_nocheck(resp, "type", imapi_string(status));
    if (rt.code)
        imapi_object_set_nocheck(resp, "code", rt.code);
    osetl(resp, "text", json_bytes(rt.text, rt.text_len));
    imapi_decref(rt.code);
    if (strcmp(status, "BYE") == 0 && !s->bye) /* RFC 9051 7.1.5: why the server closes */
        s->bye = imapi_deep_copy(resp);
    ssize_t i = imapi_pending_for_untagged(s);
    if (i < 0) {
        json_count(s->unsolicited, status);
        imapi_decref(resp);
    } else {
        pending *p = &s->pend[i];
        p->server_bytes += d->line_bytes;
        imapi_txn_add_response(s, p, status, resp, len + 32);
    }
    imapi_emit_line(s, IMAP_DIR_SERVER, "untagged", "*", status, text, len, extra);
}

static void server_untagged_data(imap_session *s, dir_state *d, const char *text, size_t len)
{
    const char *err = NULL;
    size_t err_off = 0, li = 0;
    imap_value *toks = imapi_tokenize(s->arena, text + 2, len - 2, d->lits, d->nlits, &li, false,
                                     NULL, &err, &err_off);
    if (!toks) {
        imapi_anomaly_raise(s, IMAP_DIR_SERVER, IMAP_ANOM_MALFORMED_RESPONSE, d->line_start, "*", "response too complex");
        return;
    }
    if (err)
        imapi_anomaly_raise(s, IMAP_DIR_SERVER, IMAP_ANOM_MALFORMED_RESPONSE, d->line_start, "*",
                            "%s at %zu", err, err_off + 2);
    imap_decode_ctx ctx = decode_ctx(s);
    const char *derr = NULL;
    imap_node *resp = err ? NULL : imapi_decode_untagged(&ctx, toks, &derr);
    if (derr)
        imapi_anomaly_raise(s, IMAP_DIR_SERVER, IMAP_ANOM_MALFORMED_RESPONSE, d->line_start, "*", "%s", derr);
    /* the type: "CAPABILITY", "FETCH" (after a number), ... */
    char type[32] = "UNKNOWN";
    const char *jt = imapi_string_value(imapi_object_get(resp, "type"));
    const imap_value *first = toks->child;
    const imap_value *kw = first && first->type == IV_NUMBER ? first->next : first;
    if (jt)
        copy_upper(type, sizeof type, jt, strlen(jt));
    else if (kw && kw->type == IV_ATOM)
        copy_upper(type, sizeof type, kw->s, kw->len);
    if (!resp) {
        resp = imapi_object();
        imapi_object_set_new_nocheck(resp, "type", imapi_string(type));
        osetl(resp, "raw", json_bytes(text + 2, len - 2 > 512 ? 512 : len - 2));
    }
    imap_node *extra = s->cfg.emit_lines ? imapi_object() : NULL;
    imap_node *names_from = s->cfg.emit_lines ? imapi_incref(resp) : NULL;
    if (kw && imapi_value_is_atom(kw, "CAPABILITY")) {
        imapi_caps_update(s, kw->next);
        if (extra)
            imapi_object_set_nocheck(extra, "capabilities", s->caps);
    } else if (kw && imapi_value_is_atom(kw, "ENABLED")) {
        /* RFC 5161 3.2: enable-data = "ENABLED" *(SP capability) */
        for (const imap_value *v = kw->next; v; v = v->next) {
            if (v->type != IV_ATOM)
                continue;
            size_t vl = v->len < CORE_CAP_NAME_MAX ? v->len : CORE_CAP_NAME_MAX;
            bool dup = false;
            size_t k;
            imap_node *e;
            imapi_array_foreach(s->enabled, k, e)
                if (ci_eq(v->s, vl, imapi_string_value(e)))
                    dup = true;
            if (!dup && imapi_array_size(s->enabled) < 64)
                imapi_array_append_new(s->enabled, json_bytes(v->s, vl));
            if (ci_eq(v->s, vl, "UTF8=ACCEPT"))
                s->utf8_accept = true;
        }
    } else if (kw && imapi_value_is_atom(kw, "ID")) {
        imapi_decref(s->id_server);
        s->id_server = imapi_id_params(kw->next);
    }
    imapi_state_learn_from_untagged(s, first, kw);
    check_starttls_window(s, text, len);
    ssize_t i = imapi_pending_for_untagged(s);
    if (i < 0) {
        json_count(s->unsolicited, type);
        imapi_decref(resp);
    } else {
        pending *p = &s->pend[i];
        p->server_bytes += d->line_bytes;
        imapi_txn_add_literals(s, p, d, IMAP_DIR_SERVER);
        imapi_txn_add_response(s, p, type, resp, len + 64);
    }
    if (extra)
        imapi_object_set_new_nocheck(extra, "type", imapi_string(type));
    imapi_emit_line(s, IMAP_DIR_SERVER, "untagged", "*", NULL, text, len, imapi_line_names(s, names_from, text, len, extra));
    imapi_decref(names_from);
}

static void server_continuation(imap_session *s, dir_state *d, const char *text, size_t len)
{
    /* RFC 9051 9: continue-req = "+" SP (resp-text / base64) CRLF */
    const char *t = text + 1, *end = text + len;
    if (t < end && *t == ' ')
        t++;
    check_starttls_window(s, text, len);
    dir_state *c = &s->dirs[IMAP_DIR_CLIENT];
    ssize_t i;
    if (c->lit_sync && (c->mode == DM_LITERAL || c->len > 0)) {
        /* the "+" a synchronizing literal of the line being sent waits for */
        s->inprogress_conts++;
    } else if ((i = imapi_pending_newest(s, CMD_AUTHENTICATE)) >= 0) {
        pending *p = &s->pend[i];
        p->continuations++;
        p->server_bytes += d->line_bytes;
        if (imapi_sasl_server(&p->sasl, t, (size_t)(end - t)) < 0)
            imapi_anomaly_raise(s, IMAP_DIR_SERVER, IMAP_ANOM_BAD_BASE64, d->line_start, p->tag,
                                "server challenge is not base64");
    } else if ((i = imapi_pending_newest(s, CMD_IDLE)) >= 0) {
        pending *p = &s->pend[i];
        p->continuations++;
        p->server_bytes += d->line_bytes;
        if (!p->idle_started) {
            p->idle_started = true;
            p->idle_start_ts = s->now;
        }
    } else if (s->npend > 0) {
        pending *p = &s->pend[s->npend - 1];
        p->continuations++;
        p->server_bytes += d->line_bytes;
    } else {
        imapi_anomaly_raise(s, IMAP_DIR_SERVER, IMAP_ANOM_CONTINUATION_UNEXPECTED, d->line_start, NULL,
                            "no command waits for a continuation");
    }
    imapi_emit_line(s, IMAP_DIR_SERVER, "continuation", "+", NULL, text, len, NULL);
}

static void server_tagged(imap_session *s, dir_state *d, const char *text, size_t len)
{
    const char *end = text + len;
    size_t tl = word_len(text, end);
    char tag[CORE_TAG_MAX];
    copy_upper(tag, sizeof tag, text, 0);
    size_t tcopy = tl < sizeof tag - 1 ? tl : sizeof tag - 1;
    memcpy(tag, text, tcopy);
    tag[tcopy] = '\0';
    const char *w = text + tl;
    if (w < end)
        w++;
    size_t wl = word_len(w, end);
    char status[16];
    copy_upper(status, sizeof status, w, wl);
    bool valid = tl > 0 && tl < len && is_status_word(w, wl, false);
    for (size_t k = 0; k < tl && valid; k++)
        if (!is_tag_char((unsigned char)text[k]))
            valid = false;
    if (!valid)
        imapi_anomaly_raise(s, IMAP_DIR_SERVER, IMAP_ANOM_MALFORMED_RESPONSE, d->line_start, tag,
                            "not a tagged status response");
    const char *rest = w + wl;
    if (rest < end && *rest == ' ')
        rest++;
    resp_text rt;
    parse_resp_text(s, IMAP_DIR_SERVER, rest, end, &rt, tag);
    resp_code_effects(s, &rt);

    ssize_t i = imapi_pending_find(s, tag);
    pending tmp;
    pending *p;
    if (i < 0) {
        if (s->midstream && !s->client_cmd_seen) {
            /* the answer to a command sent before the capture began */
        } else if (s->dirs[IMAP_DIR_CLIENT].data_seen) {
            imapi_anomaly_raise(s, IMAP_DIR_SERVER, IMAP_ANOM_UNKNOWN_TAG, d->line_start, tag,
                                "tagged %s for tag not pending", status);
        } else if (!s->client_missing_reported) {
            /* a one-sided capture: every tagged response would be an
             * unknown tag; one anomaly says why for the whole session */
            s->client_missing_reported = true;
            imapi_anomaly_raise(s, IMAP_DIR_SERVER, IMAP_ANOM_CLIENT_STREAM_MISSING, d->line_start, tag,
                                "tagged %s but no client bytes seen", status);
        }
        memset(&tmp, 0, sizeof tmp);
        p = &tmp;
        memcpy(p->tag, tag, sizeof tag);
        p->obj = imapi_object();
        osetl(p->obj, "tag", json_bytes(tag, strlen(tag)));
        imapi_object_set_new_nocheck(p->obj, "command", imapi_null());
        p->untagged = imapi_object();
        p->responses = imapi_array();
        p->literals = imapi_array();
        p->state_at_issue = s->state;
    } else {
        p = &s->pend[i];
    }
    p->server_bytes += d->line_bytes;
    imapi_txn_add_literals(s, p, d, IMAP_DIR_SERVER);
    if (rt.code)
        imapi_object_set_nocheck(p->obj, "response_code", rt.code);
    osetl(p->obj, "response_text", json_bytes(rt.text, rt.text_len));
    const char *st = NULL;
    if (valid)
        st = strcmp(status, "OK") == 0 ? "OK" : strcmp(status, "NO") == 0 ? "NO" : "BAD";
    bool ok = st && strcmp(st, "OK") == 0;
    uint64_t latency = p->ts_request && s->now >= p->ts_request ? s->now - p->ts_request : 0;
    switch (p->id) {
    case CMD_LOGIN: case CMD_AUTHENTICATE:
        if (ok && (s->state == IMAP_STATE_NOT_AUTHENTICATED || s->state == IMAP_STATE_UNKNOWN))
            imapi_session_set_state(s, IMAP_STATE_AUTHENTICATED);
        p->sasl_active = false;
        break;
    case CMD_SELECT: case CMD_EXAMINE:
        /* RFC 9051 6.3.2: a failed SELECT leaves no mailbox selected (a NO
         * also proves an unknown state authenticated; a BAD proves nothing) */
        imapi_decref(s->selected_mb);
        s->selected_mb = NULL;
        if (ok) {
            imapi_session_set_state(s, IMAP_STATE_SELECTED);
            s->selected_mb = imapi_incref(imapi_object_get(p->obj, "mailbox"));
        } else if (st && s->state == IMAP_STATE_SELECTED)
            imapi_session_set_state(s, IMAP_STATE_AUTHENTICATED);
        else if (st && strcmp(st, "NO") == 0 && s->state == IMAP_STATE_UNKNOWN)
            imapi_session_set_state(s, IMAP_STATE_AUTHENTICATED);
        break;
    case CMD_CLOSE: case CMD_UNSELECT:
        if (ok) {
            imapi_session_set_state(s, IMAP_STATE_AUTHENTICATED);
            imapi_decref(s->selected_mb);
            s->selected_mb = NULL;
        }
        break;
    case CMD_LOGOUT:
        if (ok)
            imapi_session_set_state(s, IMAP_STATE_LOGOUT);
        break;
    case CMD_UNAUTHENTICATE:
        /* RFC 8437 2: back to the not authenticated state */
        if (ok) {
            imapi_session_set_state(s, IMAP_STATE_NOT_AUTHENTICATED);
            imapi_decref(s->selected_mb);
            s->selected_mb = NULL;
        }
        break;
    case CMD_STARTTLS:
        if (s->starttls_outstanding)
            s->starttls_outstanding--;
        s->starttls_result = st ? st : "invalid";
        if (ok)
            ;
        else
            s->starttls_refused = true;
        break;
    case CMD_COMPRESS:
        s->compress_result = st ? st : "invalid";
        break;
    default:
        if (ok && s->state == IMAP_STATE_UNKNOWN)
            imapi_state_learn_from_ok(s, p->command);
        break;
    }
    imap_node *extra = s->cfg.emit_lines ? imapi_object() : NULL;
    if (extra) {
        if (i >= 0)
            imapi_object_set_new_nocheck(extra, "latency_us", imapi_integer((int64_t)latency));
        if (rt.code_name[0])
            imapi_object_set_new_nocheck(extra, "code", imapi_string(rt.code_name));
        if (strcmp(rt.code_name, "CAPABILITY") == 0)
            imapi_object_set_nocheck(extra, "capabilities", s->caps);
    }
    imapi_decref(rt.code);
    cmd_id id = p->id;
    imapi_txn_emit(s, p, st, d->line_start);
    if (i < 0)
        imapi_pending_clear(s, &tmp);
    else
        imapi_pending_remove(s, (size_t)i);
    imapi_recompute_projected(s);
    imapi_emit_line(s, IMAP_DIR_SERVER, "tagged", tag, st ? st : status, text, len, extra);
    if (ok && id == CMD_STARTTLS)
        imapi_starttls_switch(s);
    else if (ok && id == CMD_COMPRESS)
        imapi_compress_switch(s);
}

bool imapi_server_line_clear_start(const imap_session *s, const char *text, size_t len)
{
    if (len >= 2 && text[0] == '*' && text[1] == ' ')
        return true;
    if (len >= 1 && text[0] == '+' && (len == 1 || text[1] == ' '))
        return true;
    size_t tl = word_len(text, text + len);
    if (tl == 0 || tl >= len || tl >= CORE_TAG_MAX)
        return false;
    char tag[CORE_TAG_MAX];
    memcpy(tag, text, tl);
    tag[tl] = '\0';
    return imapi_pending_find(s, tag) >= 0;
}

/* Whether a server line can be a tagged status response (RFC 9051 9:
 * response-tagged = tag SP resp-cond-state CRLF): a tag of ASTRING-CHARs
 * but "+", a SP, then OK/NO/BAD, or any word when the tag is pending (a
 * bad status for a command we know still completes it). */
static bool tagged_shaped(const imap_session *s, const char *text, size_t len)
{
    const char *end = text + len;
    size_t tl = word_len(text, end);
    if (tl == 0 || tl >= len || tl >= CORE_TAG_MAX)
        return false;
    for (size_t k = 0; k < tl; k++)
        if (!is_tag_char((unsigned char)text[k]))
            return false;
    const char *w = text + tl + 1;
    if (is_status_word(w, word_len(w, end), false))
        return true;
    char tag[CORE_TAG_MAX];
    memcpy(tag, text, tl);
    tag[tl] = '\0';
    return imapi_pending_find(s, tag) >= 0;
}

/* A line that is no response at all (the rest of a response the server
 * framed wrongly, e.g. ")" after a miscounted literal): one
 * malformed_response, no transaction, nothing else inferred from it. */
static void server_not_a_response(imap_session *s, dir_state *d, const char *text, size_t len)
{
    char buf[64];
    imapi_core_escape(buf, sizeof buf, (const uint8_t *)text, len < 40 ? len : 40);
    /* the tail of the line before, which was already reported broken */
    if (!s->prev_server_malformed)
        imapi_anomaly_raise(s, IMAP_DIR_SERVER, IMAP_ANOM_MALFORMED_RESPONSE, d->line_start, NULL,
                            "not a response line: %s%s", buf, len > 40 ? "..." : "");
    imapi_emit_line(s, IMAP_DIR_SERVER, "malformed", NULL, NULL, text, len, NULL);
}

/* "[COPYUID 38505 304,319:320 3956:3958] ..." on a line of its own: a
 * response code without "tag OK" before it (Exchange sends the code of a
 * COPY/MOVE that way).  Decoded as the code it carries and given to the
 * command it answers (as a response of type "CODE"); one
 * malformed_response says the line broke the grammar. */
static void server_bare_code(imap_session *s, dir_state *d, const char *text, size_t len)
{
    resp_text rt;
    parse_resp_text(s, IMAP_DIR_SERVER, text, text + len, &rt, NULL);
    resp_code_effects(s, &rt);
    imapi_anomaly_raise(s, IMAP_DIR_SERVER, IMAP_ANOM_MALFORMED_RESPONSE, d->line_start, NULL,
                        "response code %s on a line of its own (no tag and status): decoded", rt.code_name);
    imap_node *resp = imapi_object();
    imapi_object_set_new_nocheck(resp, "type", imapi_string("CODE"));
    if (rt.code)
        imapi_object_set_nocheck(resp, "code", rt.code);
    osetl(resp, "text", json_bytes(rt.text, rt.text_len));
    imapi_decref(rt.code);
    ssize_t i = imapi_pending_for_untagged(s);
    if (i < 0) {
        json_count(s->unsolicited, "CODE");
        imapi_decref(resp);
    } else {
        pending *p = &s->pend[i];
        p->server_bytes += d->line_bytes;
        imapi_txn_add_response(s, p, "CODE", resp, len + 32);
    }
    imap_node *extra = s->cfg.emit_lines ? imapi_object() : NULL;
    if (extra && rt.code_name[0])
        imapi_object_set_new_nocheck(extra, "code", imapi_string(rt.code_name));
    imapi_emit_line(s, IMAP_DIR_SERVER, "malformed", NULL, NULL, text, len, extra);
}

static void process_server_line_1(imap_session *s, const char *text, size_t len);

void imapi_process_server_line(imap_session *s, const char *text, size_t len)
{
    uint64_t before = s->anomaly_counts[IMAP_ANOM_MALFORMED_RESPONSE];
    bool prev = s->prev_server_malformed;
    process_server_line_1(s, text, len);
    /* a line not a response right after a broken one stays "broken" */
    s->prev_server_malformed = s->anomaly_counts[IMAP_ANOM_MALFORMED_RESPONSE] > before ||
                               (prev && !tagged_shaped(s, text, len) && !(len >= 1 && (text[0] == '*' || text[0] == '+')));
}

static void process_server_line_1(imap_session *s, const char *text, size_t len)
{
    dir_state *d = &s->dirs[IMAP_DIR_SERVER];
    if (d->resync) {
        if (!imapi_server_line_clear_start(s, text, len))
            return;
        d->resync = false;
    }
    if (len == 0) {
        imapi_anomaly_raise(s, IMAP_DIR_SERVER, IMAP_ANOM_MALFORMED_RESPONSE, d->line_start, NULL, "empty line");
        return;
    }
    if (len >= 2 && text[0] == '*' && text[1] == ' ') {
        const char *w = text + 2;
        size_t wl = word_len(w, text + len);
        if (is_status_word(w, wl, true)) {
            server_untagged_status(s, d, text, len, w, wl);
            return;
        }
    }
    if (!s->greeting_seen)
        greeting_missing(s, d);
    if (len >= 2 && text[0] == '*' && text[1] == ' ')
        server_untagged_data(s, d, text, len);
    else if (text[0] == '+' && (len == 1 || text[1] == ' '))
        server_continuation(s, d, text, len);
    else if (text[0] == '[' && len > 2 && memchr(text, ']', len))
        server_bare_code(s, d, text, len);
    else if (!tagged_shaped(s, text, len))
        server_not_a_response(s, d, text, len);
    else
        server_tagged(s, d, text, len);
}
