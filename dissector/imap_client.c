/*
 * imap_client.c - one complete client line: tag and command, state
 * validity, a new pending command and its decoded arguments, LOGIN /
 * AUTHENTICATE (SASL responses, secrets redacted), IDLE's DONE, STARTTLS
 * command injection; and where a client line's secret begins.
 *
 * RFC 9051 2.2.1, 6 and 9 (command, tag, command-any / -auth / -nonauth /
 * -select), 6.2.2 (AUTHENTICATE), 6.2.3 (LOGIN); RFC 2177 (IDLE); RFC 2971
 * (ID); RFC 4978 (COMPRESS).
 */
#include "imap_session_int.h"
#include "imap_redact.h"

#include <stdio.h>
#include <stdlib.h>

/* ---------------------------------------------------------- client lines */

/* RFC 9051 9: x-command = "X" atom <experimental command arguments> */
static bool cmd_is_experimental(const char *name)
{
    return name[0] == 'X' || (strncmp(name, "UID X", 5) == 0);
}

static size_t parse_tag_command(const char *text, size_t len, char *tag, char *cmd, bool *eight_bit);

/* "tag SP command" with a command we know (or an experimental X one). */
static bool client_line_is_command(const char *text, size_t len)
{
    char tag[CORE_TAG_MAX], cmd[CORE_CMD_MAX];
    bool eb;
    return parse_tag_command(text, len, tag, cmd, &eb) != 0 && cmd[0] &&
           (imapi_cmd_lookup(cmd) != NULL || cmd_is_experimental(cmd));
}

/* Where the secret of client text (the line buffer so far, or the whole
 * line) begins: SIZE_MAX when it has none or show_credentials.  A LOGIN
 * or AUTHENTICATE line as imapi_redact_scan says; after such a line (or
 * during a SASL exchange) a line that is no known command is all secret:
 * the password sent on its own, or a SASL response that is not base64. */
size_t imapi_client_secret_from(const imap_session *s, const char *text, size_t len)
{
    if (s->cfg.show_credentials)
        return SIZE_MAX;
    size_t so;
    bool clean;
    if (imapi_redact_scan(text, len, false, &so, &clean) != IMAP_REDACT_NONE)
        return so < len ? so : SIZE_MAX;
    if ((s->after_secret || imapi_pending_newest(s, CMD_AUTHENTICATE) >= 0) && len > 0 &&
        !client_line_is_command(text, len))
        return 0;
    return SIZE_MAX;
}

/* The client text as an alert may quote it: escaped, the secret (from
 * secret_from, SIZE_MAX: none) replaced by "<redacted>". */
static void client_text_quoted(const char *text, size_t len, size_t secret_from, char *out, size_t cap)
{
    char tmp[CORE_INJECT_MAX + 16];
    size_t n = len < secret_from ? len : secret_from;
    if (n > CORE_INJECT_MAX)
        n = CORE_INJECT_MAX;
    memcpy(tmp, text, n);
    if (secret_from < len && n < CORE_INJECT_MAX) {
        memcpy(tmp + n, IMAP_REDACT_MARK, strlen(IMAP_REDACT_MARK));
        n += strlen(IMAP_REDACT_MARK);
    }
    imapi_core_escape(out, cap, (const uint8_t *)tmp, n);
}

/* RFC 9051 9: base64 = *(4base64-char) [base64-terminal]; "*" cancels. */
static bool is_base64_line(const char *t, size_t len)
{
    if (len == 1 && t[0] == '*')
        return true;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)t[i];
        if (!(isalnum(c) || c == '+' || c == '/' || c == '='))
            return false;
    }
    return true;
}

/* Parses "tag SP command [SP "UID" ...]" into tag/cmd; returns the offset
 * of the arguments (after the SP) or 0 when the line has no command. */
static size_t parse_tag_command(const char *text, size_t len, char *tag, char *cmd, bool *eight_bit)
{
    const char *p = text, *end = text + len;
    size_t tl = 0;
    *eight_bit = false;
    while (p + tl < end && p[tl] != ' ') {
        if ((unsigned char)p[tl] >= 0x80)
            *eight_bit = true;
        tl++;
    }
    size_t tc = tl < CORE_TAG_MAX - 1 ? tl : CORE_TAG_MAX - 1;
    memcpy(tag, p, tc);
    tag[tc] = '\0';
    cmd[0] = '\0';
    if (tl == 0 || p + tl >= end)
        return 0;
    for (size_t k = 0; k < tl; k++)
        if (!is_tag_char((unsigned char)p[k]))
            return 0;
    const char *c = p + tl + 1;
    size_t cl = word_len(c, end);
    for (size_t k = 0; k < cl; k++)
        if ((unsigned char)c[k] >= 0x80)
            *eight_bit = true;
    if (cl == 0 || cl >= CORE_CMD_MAX - 1)
        return 0;
    copy_upper(cmd, CORE_CMD_MAX, c, cl);
    const char *a = c + cl;
    if (strcmp(cmd, "UID") == 0 && a < end) {
        /* RFC 9051 9: uid = "UID" SP (copy / move / fetch / search / store / uid-expunge) */
        const char *sub = a + 1;
        size_t sl = word_len(sub, end);
        if (sl > 0 && 4 + sl < CORE_CMD_MAX) {
            cmd[3] = ' ';
            copy_upper(cmd + 4, CORE_CMD_MAX - 4, sub, sl);
            a = sub + sl;
        }
    }
    if (a < end && *a == ' ')
        a++;
    return (size_t)(a - text);
}

bool imapi_client_line_clear_start(const imap_session *s, const char *text, size_t len)
{
    char tag[CORE_TAG_MAX], cmd[CORE_CMD_MAX];
    bool eb;
    if (imapi_pending_newest(s, CMD_IDLE) >= 0 && ci_eq(text, len, "DONE"))
        return true;
    if (parse_tag_command(text, len, tag, cmd, &eb) == 0)
        return false;
    return cmd[0] && imapi_cmd_lookup(cmd) != NULL;
}

static void client_sasl_line(imap_session *s, dir_state *d, pending *p, const char *text, size_t len)
{
    s->after_secret = true;
    p->client_bytes += d->line_bytes;
    if (imapi_sasl_client(&p->sasl, text, len) < 0)
        imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_BAD_BASE64, d->line_start, p->tag,
                            "client SASL response is not base64");
    if (s->cfg.show_credentials || (len == 1 && text[0] == '*'))
        imapi_emit_line(s, IMAP_DIR_CLIENT, "continuation_data", NULL, NULL, text, len, NULL);
    else
        imapi_emit_line(s, IMAP_DIR_CLIENT, "continuation_data", NULL, NULL, "<redacted>", 10, NULL);
}

/* The summary's command counts, keyed by name: a known (or experimental)
 * command by its name; an unknown one by its name while fewer than
 * CORE_UNKNOWN_CMD_KEYS unknown names were seen and the name is printable
 * ASCII, else under "<other>", so garbage cannot grow the summary without
 * bound.  (A line that may be a secret is never counted: secret_line.) */
static void count_command(imap_session *s, const char *cmd, bool known)
{
    if (!known && !imapi_object_get(s->commands, cmd)) {
        bool printable = cmd[0] != '\0';
        for (const char *c = cmd; *c; c++)
            if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
                printable = false;
        if (!printable || s->unknown_cmd_keys >= CORE_UNKNOWN_CMD_KEYS) {
            json_count(s->commands, "<other>");
            return;
        }
        s->unknown_cmd_keys++;
    }
    json_count(s->commands, cmd);
}

static void mailbox_note(imap_session *s, const imap_node *obj)
{
    const char *m = imapi_string_value(imapi_object_get(obj, "mailbox"));
    if (!m)
        return;
    size_t i;
    imap_node *e;
    imapi_array_foreach(s->mailboxes, i, e)
        if (strcmp(imapi_string_value(e), m) == 0)
            return;
    if (imapi_array_size(s->mailboxes) < CORE_MAX_MAILBOXES)
        imapi_array_append_new(s->mailboxes, imapi_string(m));
}

void imapi_process_client_line(imap_session *s, const char *text, size_t len)
{
    dir_state *d = &s->dirs[IMAP_DIR_CLIENT];
    if (d->resync) {
        if (!imapi_client_line_clear_start(s, text, len))
            return;
        d->resync = false;
    }
    if (!s->greeting_seen && !s->client_first && !s->dirs[IMAP_DIR_SERVER].data_seen) {
        /* RFC 9051 7.1: the server speaks first.  A client line before any
         * server byte: most likely the capture started mid-connection; the
         * state is unknown until a response proves it (or a greeting comes
         * after all: greeting_plausible). */
        s->client_first = true;
        imapi_session_set_state(s, IMAP_STATE_UNKNOWN);
        imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_RESPONSE_BEFORE_GREETING, d->line_start, NULL,
                            "client line before any server greeting");
    }
    ssize_t i;
    /* RFC 2177 3: idle = "IDLE" CRLF "DONE" */
    if ((i = imapi_pending_newest(s, CMD_IDLE)) >= 0 && !s->pend[i].idle_done && ci_eq(text, len, "DONE")) {
        pending *p = &s->pend[i];
        p->idle_done = true;
        p->client_bytes += d->line_bytes;
        if (p->idle_started)
            p->idle_ms = (s->now - p->idle_start_ts) / 1000;
        imapi_emit_line(s, IMAP_DIR_CLIENT, "done", NULL, "DONE", text, len, NULL);
        return;
    }
    /* RFC 9051 6.2.2: the client's SASL responses, one base64 line each */
    if ((i = imapi_pending_newest(s, CMD_AUTHENTICATE)) >= 0 && is_base64_line(text, len)) {
        client_sasl_line(s, d, &s->pend[i], text, len);
        return;
    }
    if (s->state == IMAP_STATE_LOGOUT && !s->logout_reported) {
        s->logout_reported = true;
        imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_DATA_AFTER_LOGOUT, d->line_start, NULL, "command after logout");
    }
    /* secrets: the rest of this line from redact_from is shown nowhere */
    size_t so = len;
    bool clean = true;
    imap_redact_kind rk = s->cfg.show_credentials ? IMAP_REDACT_NONE
                                                  : imapi_redact_scan(text, len, false, &so, &clean);
    s->redact_from = imapi_client_secret_from(s, text, len);
    bool secret_line = rk == IMAP_REDACT_NONE && s->redact_from == 0;
    s->after_secret = rk != IMAP_REDACT_NONE || secret_line;
    if (s->starttls_outstanding > 0) {
        /* SPECS.md 6.1: nothing but TLS may follow STARTTLS before its OK */
        char buf[CORE_INJECT_MAX * 4 + 8];
        client_text_quoted(text, len, s->redact_from, buf, sizeof buf);
        imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_STARTTLS_COMMAND_INJECTION, d->line_start, NULL, "%s", buf);
    }
    if (secret_line) {
        /* no tag, no command name, no count: the words may be the secret */
        imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_MALFORMED_COMMAND, d->line_start, NULL,
                            "line after %s is no command (redacted)",
                            imapi_pending_newest(s, CMD_AUTHENTICATE) >= 0 ? "AUTHENTICATE" : "LOGIN");
        imapi_emit_line(s, IMAP_DIR_CLIENT, "command", NULL, NULL, text, len, NULL);
        return;
    }
    if (memchr(text, '\0', len))
        imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_NUL_BYTE, d->line_start, NULL, "NUL in command line");

    char tag[CORE_TAG_MAX], cmd[CORE_CMD_MAX];
    bool eight_bit;
    size_t argoff = parse_tag_command(text, len, tag, cmd, &eight_bit);
    const char *kw = rk == IMAP_REDACT_LOGIN ? "LOGIN" : "AUTHENTICATE";
    if (rk != IMAP_REDACT_NONE && (argoff == 0 || strcmp(cmd, kw) != 0)) {
        /* a LOGIN / AUTHENTICATE the tag and command of which do not parse
         * (no tag, TAB, ...): what was taken for the tag or the command
         * may hold the secret; shown as the keyword alone */
        imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_MALFORMED_COMMAND, d->line_start, NULL,
                            "%s line not well formed (arguments redacted)", kw);
        imapi_emit_line(s, IMAP_DIR_CLIENT, "command", NULL, kw, text, len, NULL);
        return;
    }
    if (eight_bit)
        imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_EIGHT_BIT_IN_ATOM, d->line_start, tag, "8-bit byte in tag or command");
    if (argoff == 0) {
        imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_MALFORMED_COMMAND, d->line_start, tag[0] ? tag : NULL,
                            "expected tag SP command");
        imapi_emit_line(s, IMAP_DIR_CLIENT, "command", tag[0] ? tag : NULL, NULL, text, len, NULL);
        return;
    }
    /* a new pending command */
    if (s->npend >= s->cfg.max_pending) {
        imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_TOO_MANY_PENDING, d->line_start, s->pend[0].tag,
                            "more than %zu commands pending: oldest abandoned", s->cfg.max_pending);
        imapi_object_set_new_nocheck(s->pend[0].obj, "reason", imapi_string("too_many_pending"));
        imapi_txn_emit(s, &s->pend[0], NULL, d->line_start);
        imapi_pending_remove(s, 0);
    }
    if (imapi_pending_find(s, tag) >= 0)
        imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_TAG_REUSED, d->line_start, tag, "tag %s still pending", tag);
    const cmd_info *ci = imapi_cmd_lookup(cmd);
    /* the decoded command is held until its tagged response: charged
     * (about its text, plus the objects around it) to the budget; when
     * refused, the oldest pending command is abandoned to make room */
    size_t need = d->line_bytes + CORE_PENDING_COST;
    bool args_dropped = false;
    bool grow = s->npend == s->pend_cap;
    size_t ncap = s->pend_cap ? s->pend_cap * 2 : CORE_PEND_FIRST;
    if (ncap > s->cfg.max_pending)
        ncap = s->cfg.max_pending;
    /* the first CORE_PEND_FIRST slots are every session's; more are charged */
    size_t old_x = s->pend_cap > CORE_PEND_FIRST ? s->pend_cap : CORE_PEND_FIRST;
    size_t grow_bytes = grow && ncap > old_x ? (ncap - old_x) * sizeof(pending) : 0;
    if (!imapi_budget_charge(s, need + grow_bytes, false)) {
        if (s->npend > 0) {
            imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_MEMCAP, d->line_start, s->pend[0].tag,
                                "oldest pending command abandoned (budget %zu bytes)", s->cfg.budget->limit);
            imapi_object_set_new_nocheck(s->pend[0].obj, "reason", imapi_string("memcap"));
            imapi_txn_emit(s, &s->pend[0], NULL, d->line_start);
            imapi_pending_remove(s, 0);
            grow = false; /* a slot is free now */
            grow_bytes = 0;
            imapi_budget_charge(s, need, true); /* what the abandoned one gave back */
        } else {
            /* nothing to give back: the command is tracked (tag, name,
             * status) without its decoded arguments, so what a session
             * takes past the budget stays a small fixed amount */
            imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_MEMCAP, d->line_start, tag,
                                "arguments of %s not decoded (budget %zu bytes)", cmd, s->cfg.budget->limit);
            args_dropped = true;
            need = CORE_PENDING_COST;
            imapi_budget_charge(s, need + grow_bytes, true);
        }
    }
    if (grow) {
        /* grown on demand: most connections have one or two pending */
        pending *np = realloc(s->pend, ncap * sizeof *np);
        if (!np) {
            imapi_budget_release(s, need + grow_bytes);
            return;
        }
        s->pend = np;
        s->pend_cap = ncap;
    }
    pending *p = &s->pend[s->npend++];
    memset(p, 0, sizeof *p);
    p->charged = need;
    memcpy(p->tag, tag, sizeof p->tag);
    memcpy(p->command, cmd, sizeof p->command);
    p->id = ci ? ci->id : CMD_OTHER;
    p->obj = imapi_object();
    osetl(p->obj, "tag", json_bytes(tag, strlen(tag)));
    imapi_object_set_new_nocheck(p->obj, "command", json_bytes(cmd, strlen(cmd)));
    p->untagged = imapi_object();
    p->responses = imapi_array();
    p->literals = imapi_array();
    p->ts_request = s->now;
    s->client_cmd_seen = true;
    p->state_at_issue = s->state;
    if (s->state == IMAP_STATE_SELECTED && s->selected_mb)
        p->sel_mb = imapi_incref(s->selected_mb);
    p->offset = d->line_start;
    p->client_bytes = d->line_bytes;
    p->continuations = s->inprogress_conts;
    s->inprogress_conts = 0;
    imapi_txn_add_literals(s, p, d, IMAP_DIR_CLIENT);
    count_command(s, cmd, ci != NULL || cmd_is_experimental(cmd));

    if (!ci && !cmd_is_experimental(cmd)) {
        imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_UNKNOWN_COMMAND, d->line_start, tag, "%s", cmd);
    } else if (ci && ci->id == CMD_STARTTLS) {
        if ((s->state != IMAP_STATE_NOT_AUTHENTICATED && s->state != IMAP_STATE_UNKNOWN) || tls_active(s))
            imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_STARTTLS_INVALID_STATE, d->line_start, tag,
                                "STARTTLS in state %s%s", imapi_state_names[s->state], tls_active(s) ? " inside TLS" : "");
    } else if (ci && s->state != IMAP_STATE_UNKNOWN && !(ci->states & (1u << s->state)) &&
               !(ci->states & (1u << s->projected))) {
        imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_COMMAND_INVALID_IN_STATE, d->line_start, tag,
                            "%s in state %s", cmd, imapi_state_names[s->state]);
    }

    /* arguments */
    const char *err = NULL;
    size_t err_off = 0, li = 0;
    imap_value *args = NULL;
    /* a LOGIN / AUTHENTICATE not in its exact shape: its arguments are not
     * taken apart, so no piece of the secret becomes a user or a name */
    bool args_secret = rk != IMAP_REDACT_NONE && !clean;
    if (args_secret && !args_dropped) {
        imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_MALFORMED_COMMAND, d->line_start, tag,
                            "%s: arguments not well formed (redacted)", cmd);
        imapi_object_set_new_nocheck(p->obj, "arguments_redacted", imapi_true());
        if (p->id == CMD_LOGIN)
            imapi_object_set_new_nocheck(p->obj, "password", imapi_string(IMAP_SASL_REDACTED));
    }
    if (!args_dropped && !args_secret)
        args = imapi_tokenize(s->arena, text + argoff, len - argoff, d->lits, d->nlits, &li, false, NULL,
                             &err, &err_off);
    if (args_dropped) {
        imapi_object_set_new_nocheck(p->obj, "arguments_dropped", imapi_string("memcap"));
    } else if (args_secret) {
        /* reported above */
    } else if (!args) {
        imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_MALFORMED_COMMAND, d->line_start, tag, "arguments too complex");
    } else if (err) {
        imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_MALFORMED_COMMAND, d->line_start, tag, "%s: %s at %zu",
                            cmd, err, err_off + argoff);
    }
    imap_decode_ctx ctx = decode_ctx(s);
    if (args && !err && (ci || cmd_is_experimental(cmd))) {
        const char *derr = NULL;
        if (imapi_decode_command(&ctx, cmd, args, p->obj, &derr) < 0)
            imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_MALFORMED_COMMAND, d->line_start, tag, "%s: %s", cmd,
                                derr ? derr : "bad arguments");
    } else if (!ci && argoff < len && !args_dropped) {
        osetl(p->obj, "arguments", json_bytes(text + argoff, len - argoff > 512 ? 512 : len - argoff));
    }
    const imap_value *a0 = args ? imapi_list_nth(args, 0) : NULL;
    const imap_value *a1 = args ? imapi_list_nth(args, 1) : NULL;
    switch (p->id) {
    case CMD_LOGIN: {
        /* RFC 9051 9: login = "LOGIN" SP userid SP password */
        if (a0 && imapi_value_is_astring(a0)) {
            size_t ul;
            const char *u = imapi_value_text(a0, &ul, NULL);
            if (!imapi_object_get(p->obj, "user"))
                osetl(p->obj, "user", json_bytes(u, ul));
        }
        if (a1) {
            size_t pl;
            const char *pw = imapi_value_text(a1, &pl, NULL);
            if (s->cfg.show_credentials)
                osetl(p->obj, "password", json_bytes(pw, pl));
            else
                imapi_object_set_new_nocheck(p->obj, "password", imapi_string(IMAP_SASL_REDACTED));
        }
        imapi_check_cleartext_credentials(s, tag, "LOGIN");
        break;
    }
    case CMD_AUTHENTICATE: {
        /* RFC 9051 9: authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp] */
        size_t ml = 0;
        const char *m = a0 && a0->type == IV_ATOM ? imapi_value_text(a0, &ml, NULL) : "";
        imapi_sasl_init(&p->sasl, m, ml, s->cfg.show_credentials);
        memcpy(p->mechanism, p->sasl.mechanism, sizeof p->mechanism);
        p->sasl_active = true;
        imapi_object_set_new_nocheck(p->obj, "mechanism", imapi_string(p->mechanism));
        if (a1) {
            size_t irl;
            const char *ir = imapi_value_text(a1, &irl, NULL);
            if (imapi_sasl_client(&p->sasl, ir, irl) < 0)
                imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_BAD_BASE64, d->line_start, tag, "initial response is not base64");
        }
        if (imapi_sasl_mech_is_cleartext(p->mechanism, strlen(p->mechanism))) {
            char what[80];
            snprintf(what, sizeof what, "AUTHENTICATE %s", p->mechanism);
            imapi_check_cleartext_credentials(s, tag, what);
        }
        break;
    }
    case CMD_STARTTLS:
        s->starttls_requested = true;
        s->starttls_outstanding++;
        break;
    case CMD_COMPRESS:
        s->compress_requested = true;
        break;
    case CMD_SELECT: case CMD_EXAMINE:
        mailbox_note(s, p->obj);
        break;
    case CMD_ID:
        imapi_decref(s->id_client);
        s->id_client = imapi_id_params(a0);
        break;
    default:
        break;
    }
    imapi_recompute_projected(s);
    imapi_emit_line(s, IMAP_DIR_CLIENT, "command", tag, cmd, text, len, imapi_line_names(s, p->obj, text, len, NULL));
}
