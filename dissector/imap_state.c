/*
 * imap_state.c - the session state (the one function that changes it, the
 * command table of which command is valid where, what an unknown state is
 * learnt from), capabilities, and the STARTTLS / COMPRESS switches and the
 * STARTTLS checks (stripping, injection, TLS start).
 *
 * RFC 9051 3 and 6.1-6.4 (states, commands per state), 7.2.2
 * (CAPABILITY), 6.2.1 (STARTTLS); RFC 4978 (COMPRESS); RFC 8437
 * (UNAUTHENTICATE).
 *
 * Design of the STARTTLS check (SPECS.md 6.2): when a STARTTLS (or
 * COMPRESS) OK switches a direction, feed returns the bytes consumed up to
 * the switch point; what follows is the new layer's business.  Bytes fed
 * afterwards are taken as the layer's output (decrypted / inflated IMAP).
 * The first raw byte after a TLS switch is checked once: by peeking at the
 * rest of the chunk in the same feed call (the strongest injection form: in
 * the same segment), or by imap_session_check_tls_start() when the caller
 * hands the raw bytes that follow to its TLS layer and wants them checked.
 * A TLS record (0x16) there is right; any other byte is plaintext that
 * should not be there (server: starttls_response_injection; client:
 * starttls_client_cleartext).  Raw TLS records fed to feed after a TLS
 * switch (a caller without keys) are recognised by their first byte and
 * ignored until imap_session_set_layer(dir, TLS, true).
 */
#include "imap_session_int.h"
#include "imap_cache.h"
#include "imap_redact.h"

#include <stdio.h>

/* --------------------------------------------------------- session state */

const char *const imapi_state_names[] = {
    "not_authenticated", "authenticated", "selected", "logout", "unknown",
};
_Static_assert(sizeof imapi_state_names / sizeof imapi_state_names[0] == IMAP_STATE__COUNT,
               "state name table matches the enum");

/* Which command is valid where: RFC 9051 9 command-any / command-nonauth /
 * command-auth / command-select, plus extensions (RFC named). */
static const cmd_info cmd_table[] = {
    /* command-any */
    { "CAPABILITY", ST_ANY, CMD_CAPABILITY }, { "LOGOUT", ST_ANY, CMD_LOGOUT },
    { "NOOP", ST_ANY, CMD_OTHER },
    { "ID", ST_ANY, CMD_ID },                         /* RFC 2971 */
    { "LANGUAGE", ST_ANY, CMD_OTHER },                /* RFC 5255 3.2: valid in all states */
    /* command-nonauth */
    { "LOGIN", ST_NA, CMD_LOGIN }, { "AUTHENTICATE", ST_NA, CMD_AUTHENTICATE },
    { "STARTTLS", ST_NA, CMD_STARTTLS },
    /* command-auth (also valid in selected: RFC 9051 3.3) */
    { "APPEND", ST_AUTH, CMD_APPEND }, { "CREATE", ST_AUTH, CMD_OTHER },
    { "DELETE", ST_AUTH, CMD_OTHER },
    { "ENABLE", ST_AU, CMD_ENABLE },                  /* RFC 5161 3.1: authenticated state only */
    { "EXAMINE", ST_AUTH, CMD_EXAMINE }, { "LIST", ST_AUTH, CMD_OTHER },
    { "LSUB", ST_AUTH, CMD_OTHER }, { "NAMESPACE", ST_AUTH, CMD_OTHER },
    { "RENAME", ST_AUTH, CMD_OTHER }, { "SELECT", ST_AUTH, CMD_SELECT },
    { "STATUS", ST_AUTH, CMD_OTHER }, { "SUBSCRIBE", ST_AUTH, CMD_OTHER },
    { "UNSUBSCRIBE", ST_AUTH, CMD_OTHER },
    { "IDLE", ST_AUTH, CMD_IDLE },                    /* RFC 2177 */
    { "COMPRESS", ST_AUTH, CMD_COMPRESS },            /* RFC 4978 */
    { "GETQUOTA", ST_AUTH, CMD_OTHER }, { "GETQUOTAROOT", ST_AUTH, CMD_OTHER },
    { "SETQUOTA", ST_AUTH, CMD_OTHER },               /* RFC 9208 */
    { "GETACL", ST_AUTH, CMD_OTHER }, { "SETACL", ST_AUTH, CMD_OTHER },
    { "DELETEACL", ST_AUTH, CMD_OTHER }, { "LISTRIGHTS", ST_AUTH, CMD_OTHER },
    { "MYRIGHTS", ST_AUTH, CMD_OTHER },               /* RFC 4314 */
    { "GETMETADATA", ST_AUTH, CMD_OTHER }, { "SETMETADATA", ST_AUTH, CMD_OTHER }, /* RFC 5464 */
    { "NOTIFY", ST_AUTH, CMD_OTHER },                 /* RFC 5465 */
    { "XLIST", ST_AUTH, CMD_OTHER },                  /* Gmail, pre RFC 6154 */
    { "ESEARCH", ST_AUTH, CMD_OTHER },                /* RFC 7377 */
    { "RESETKEY", ST_AUTH, CMD_OTHER }, { "GENURLAUTH", ST_AUTH, CMD_OTHER },
    { "URLFETCH", ST_AUTH, CMD_OTHER },               /* RFC 4467 */
    { "COMPARATOR", ST_AUTH, CMD_OTHER },             /* RFC 5255 4.7 */
    { "CONVERSIONS", ST_AUTH, CMD_OTHER },            /* RFC 5259 5.1 */
    { "UNAUTHENTICATE", ST_AUTH, CMD_UNAUTHENTICATE },/* RFC 8437 2 */
    /* command-select */
    { "CHECK", ST_SE, CMD_OTHER }, { "CLOSE", ST_SE, CMD_CLOSE },
    { "EXPUNGE", ST_SE, CMD_OTHER }, { "COPY", ST_SE, CMD_OTHER },
    { "FETCH", ST_SE, CMD_OTHER }, { "STORE", ST_SE, CMD_OTHER },
    { "SEARCH", ST_SE, CMD_OTHER },
    { "MOVE", ST_SE, CMD_OTHER },                     /* RFC 6851 */
    { "UNSELECT", ST_SE, CMD_UNSELECT },              /* RFC 3691 */
    { "SORT", ST_SE, CMD_OTHER }, { "THREAD", ST_SE, CMD_OTHER }, /* RFC 5256 */
    { "CANCELUPDATE", ST_SE, CMD_OTHER },             /* RFC 5267 */
    { "REPLACE", ST_SE, CMD_OTHER },                  /* RFC 8508 */
    { "UID FETCH", ST_SE, CMD_OTHER }, { "UID STORE", ST_SE, CMD_OTHER },
    { "UID COPY", ST_SE, CMD_OTHER }, { "UID MOVE", ST_SE, CMD_OTHER },
    { "UID SEARCH", ST_SE, CMD_OTHER }, { "UID EXPUNGE", ST_SE, CMD_OTHER }, /* RFC 4315 */
    { "UID SORT", ST_SE, CMD_OTHER }, { "UID THREAD", ST_SE, CMD_OTHER },
    { "UID REPLACE", ST_SE, CMD_OTHER },
};

const cmd_info *imapi_cmd_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof cmd_table / sizeof cmd_table[0]; i++)
        if (strcmp(cmd_table[i].name, name) == 0)
            return &cmd_table[i];
    return NULL;
}

/* One function changes state (STYLE.md). */
void imapi_session_set_state(imap_session *s, imap_state st)
{
    if ((unsigned)st >= IMAP_STATE__COUNT)
        return;
    s->state = st;
    s->projected = st;
}

_Static_assert((int)IMAP_STATE_NOT_AUTHENTICATED == (int)IMAP_SESSION_NOT_AUTHENTICATED &&
               (int)IMAP_STATE_UNKNOWN == (int)IMAP_SESSION_UNKNOWN, "state enums agree");

/* ---------------------------------------------------------- capabilities */

static void caps_reset(imap_session *s)
{
    imapi_array_clear(s->caps);
    s->caps_seen = s->cap_literal_plus = s->cap_literal_minus = false;
    s->cap_starttls = s->cap_logindisabled = false;
}

/* Whether a capability name is STARTTLS as a man in the middle mangles it
 * to make the client stay in clear (sslstrip-like tools, and firewalls'
 * "inspection" of STARTTLS, which overwrite the word in place so that the
 * lengths stay valid): "XXXXXXXX" (8 X's, the PIX/ASA way), a word of 8
 * letters within two of STARTTLS ("STARTTLZ", "STARTXXX"), a word that
 * keeps "START" and pads ("STARTXXXX"), or STARTTLS with letters added
 * ("XSTARTTLS", "X-STARTTLS").  STARTTLS itself is not mangled. */
static bool starttls_mangled(const char *name, size_t len)
{
    static const char st[] = "STARTTLS";
    if (len < 7 || len > 12 || ci_eq(name, len, st))
        return false;
    if (len == 8) {
        size_t x = 0, diff = 0;
        for (size_t i = 0; i < 8; i++) {
            char c = (char)(name[i] & ~0x20);
            x += c == 'X';
            diff += c != st[i];
        }
        if (x == 8 || diff <= 2)
            return true;
    }
    if (len <= 10 && ci_eq(name, 5, "START"))
        return true;
    for (size_t i = 0; i + 8 <= len; i++)
        if (ci_eq(name + i, 8, st))
            return true;
    return false;
}

/* Remembers the capability names of a list of atoms (RFC 9051 7.2.2:
 * capability-data; also the CAPABILITY response code). */
void imapi_caps_update(imap_session *s, const imap_value *v)
{
    caps_reset(s);
    s->caps_seen = true;
    for (; v; v = v->next) {
        if (v->type != IV_ATOM && v->type != IV_NUMBER)
            continue;
        const char *name = v->raw && v->raw_len ? v->raw : v->s;
        size_t len = v->raw && v->raw_len ? v->raw_len : v->len;
        if (len > CORE_CAP_NAME_MAX)
            len = CORE_CAP_NAME_MAX;
        /* RFC 9051 9: capability names are atoms, compared without regard
         * to case; shown as the server spelled them. */
        if (len > 0 && imapi_array_size(s->caps) < CORE_MAX_CAPS)
            imapi_array_append_new(s->caps, json_bytes(name, len));
        if (ci_eq(name, len, "LITERAL+")) s->cap_literal_plus = true;
        if (ci_eq(name, len, "LITERAL-")) s->cap_literal_minus = true;
        if (ci_eq(name, len, "STARTTLS")) s->cap_starttls = true;
        if (ci_eq(name, len, "LOGINDISABLED")) s->cap_logindisabled = true;
        if (!tls_active(s) && !s->starttls_mangled[0] && starttls_mangled(name, len)) {
            memcpy(s->starttls_mangled, name, len);
            s->starttls_mangled[len] = '\0';
        }
    }
    if (!tls_active(s)) {
        s->starttls_offered |= s->cap_starttls;
        s->logindisabled_seen |= s->cap_logindisabled;
    }
}

/* ------------------------------------------- state learnt from responses */

void imapi_recompute_projected(imap_session *s)
{
    imap_state st = s->state;
    for (size_t i = 0; i < s->npend; i++) {
        switch (s->pend[i].id) {
        case CMD_LOGIN: case CMD_AUTHENTICATE:
            if (st == IMAP_STATE_NOT_AUTHENTICATED)
                st = IMAP_STATE_AUTHENTICATED;
            break;
        case CMD_SELECT: case CMD_EXAMINE: st = IMAP_STATE_SELECTED; break;
        case CMD_CLOSE: case CMD_UNSELECT: st = IMAP_STATE_AUTHENTICATED; break;
        case CMD_LOGOUT: st = IMAP_STATE_LOGOUT; break;
        case CMD_UNAUTHENTICATE: st = IMAP_STATE_NOT_AUTHENTICATED; break;
        default: break;
        }
    }
    s->projected = st;
}

/* An unknown state (capture started mid-connection) is learnt from a
 * tagged OK to a command valid in one state only (RFC 9051 6.1-6.4:
 * e.g. FETCH, STORE, UID SEARCH only when selected; ENABLE only when
 * authenticated, RFC 5161 3.1). */
void imapi_state_learn_from_ok(imap_session *s, const char *command)
{
    const cmd_info *ci = command[0] ? imapi_cmd_lookup(command) : NULL;
    if (!ci)
        return;
    if (ci->states == ST_SE)
        imapi_session_set_state(s, IMAP_STATE_SELECTED);
    else if (ci->states == ST_AU)
        imapi_session_set_state(s, IMAP_STATE_AUTHENTICATED);
    else if (ci->states == ST_NA)
        imapi_session_set_state(s, IMAP_STATE_NOT_AUTHENTICATED);
}

/* The same from untagged data: message data (RFC 9051 7.4, 7.5: EXISTS,
 * EXPUNGE, FETCH, RECENT in RFC 3501 7.3.2) and FLAGS (7.3.5) are sent
 * about the selected mailbox only. */
void imapi_state_learn_from_untagged(imap_session *s, const imap_value *first, const imap_value *kw)
{
    if (s->state != IMAP_STATE_UNKNOWN || !kw || kw->type != IV_ATOM)
        return;
    bool msg = first && first->type == IV_NUMBER &&
               (imapi_value_is_atom(kw, "EXISTS") || imapi_value_is_atom(kw, "EXPUNGE") ||
                imapi_value_is_atom(kw, "FETCH") || imapi_value_is_atom(kw, "RECENT"));
    if (msg || (kw == first && imapi_value_is_atom(kw, "FLAGS"))) {
        imapi_session_set_state(s, IMAP_STATE_SELECTED);
        imapi_recompute_projected(s);
    }
}

/* --------------------------------------------------- STARTTLS / COMPRESS */

void imapi_check_cleartext_credentials(imap_session *s, const char *tag, const char *what)
{
    if (tls_active(s))
        return;
    imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_CLEARTEXT_CREDENTIALS, s->dirs[0].line_start, tag,
                        "%s without TLS", what);
    /* Stripping needs evidence in this connection: STARTTLS answered NO or
     * BAD, STARTTLS sent and left unanswered (ignored) before the
     * credentials, or a mangled STARTTLS in a capability list.  A server
     * that never offered it here has nothing stripped (the credentials are
     * their own alert); the engine still raises starttls_stripped when the
     * same server offered STARTTLS to other clients in the capture
     * (imap_session_starttls_offer).  A client that simply does not use the
     * STARTTLS offered is no evidence of a man in the middle: only
     * cleartext_credentials. */
    if (s->stripped_reported)
        return;
    if (s->starttls_refused) {
        s->stripped_reported = true;
        imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_STARTTLS_STRIPPED, s->dirs[0].line_start, tag,
                            "%s after STARTTLS was refused (%s)", what, s->starttls_result ? s->starttls_result : "?");
    } else if (s->starttls_mangled[0]) {
        s->stripped_reported = true;
        imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_STARTTLS_STRIPPED, s->dirs[0].line_start, tag,
                            "%s after a capability list with %s in place of STARTTLS", what, s->starttls_mangled);
    } else if (s->starttls_outstanding > 0 && !s->cred_while_starttls) {
        /* decided at the end: if STARTTLS is still unanswered then, the
         * server ignored it (a LOGIN pipelined behind a STARTTLS that gets
         * its OK is the injection case, reported on its own) */
        s->cred_while_starttls = true;
        s->cred_while_starttls_off = s->dirs[0].line_start;
        snprintf(s->cred_while_starttls_tag, sizeof s->cred_while_starttls_tag, "%s", tag ? tag : "");
        snprintf(s->cred_while_starttls_what, sizeof s->cred_while_starttls_what, "%s", what);
    }
}

/* STARTTLS OK: both directions switch (RFC 9051 6.2.1: TLS begins right
 * after the CRLF of the tagged OK; the client after its STARTTLS line). */
void imapi_starttls_switch(imap_session *s)
{
    dir_state *c = &s->dirs[IMAP_DIR_CLIENT], *sv = &s->dirs[IMAP_DIR_SERVER];
    s->starttls_done = true;
    /* RFC 9051 6.2.1: the client MUST NOT send commands after STARTTLS
     * before the OK; a server that buffers them and runs them inside TLS
     * is the CVE-2011-0411 bug (SPECS.md 6.1).  The cleartext commands
     * still pending end here, unanswered: the tags the client uses inside
     * TLS are new commands (no tag_reused, and a tagged response inside
     * TLS never completes an injected command). */
    while (s->npend > 0) {
        pending *p = &s->pend[0];
        imapi_object_set_new_nocheck(p->obj, "reason", imapi_string("abandoned_at_tls_start"));
        imapi_txn_emit(s, p, NULL, sv->offset);
        imapi_pending_remove(s, 0);
    }
    s->starttls_outstanding = 0;
    s->inprogress_conts = 0;
    /* RFC 9051 6.2.1: the session stays (or is again) not authenticated */
    imapi_session_set_state(s, IMAP_STATE_NOT_AUTHENTICATED);
    imapi_decref(s->caps_before_tls);
    s->caps_before_tls = imapi_deep_copy(s->caps);
    caps_reset(s); /* RFC 9051 6.2.1: discard cached capabilities */
    sv->tls = true;
    sv->post_switch = true;
    imapi_emit_switch(s, IMAP_DIR_SERVER, IMAP_LAYER_TLS, sv->offset);
    s->server_switch_now = true;
    if (c->switched_to != IMAP_LAYER_TLS) {
        if (c->line_bytes > 0) {
            /* SPECS.md 6.1: a partial client line after STARTTLS */
            char raw[CORE_INJECT_MAX + 8], buf[CORE_INJECT_MAX * 4 + 8];
            size_t rn = s->cfg.show_credentials ? 0 : imapi_redact_raw(raw, sizeof raw, (const uint8_t *)c->head, c->head_len);
            if (s->cfg.show_credentials)
                imapi_core_escape(buf, sizeof buf, (const uint8_t *)c->head, c->head_len);
            else
                imapi_core_escape(buf, sizeof buf, (const uint8_t *)raw, rn);
            imapi_anomaly_raise(s, IMAP_DIR_CLIENT, IMAP_ANOM_STARTTLS_COMMAND_INJECTION, c->line_start, NULL,
                                "partial line after STARTTLS: %s", buf);
        }
        imapi_abandon_line(s, IMAP_DIR_CLIENT, c);
        c->tls = true;
        c->post_switch = true;
        imapi_emit_switch(s, IMAP_DIR_CLIENT, IMAP_LAYER_TLS, c->offset);
    }
}

void imapi_compress_switch(imap_session *s)
{
    dir_state *c = &s->dirs[IMAP_DIR_CLIENT], *sv = &s->dirs[IMAP_DIR_SERVER];
    sv->compressed = c->compressed = true;
    imapi_emit_switch(s, IMAP_DIR_SERVER, IMAP_LAYER_DEFLATE, sv->offset);
    s->server_switch_now = true;
    imapi_abandon_line(s, IMAP_DIR_CLIENT, c);
    imapi_emit_switch(s, IMAP_DIR_CLIENT, IMAP_LAYER_DEFLATE, c->offset);
}

int imap_session_check_tls_start(imap_session *s, imap_dir dir, const uint8_t *data, size_t len)
{
    if (!s || (dir != IMAP_DIR_CLIENT && dir != IMAP_DIR_SERVER) || len == 0)
        return 0;
    dir_state *d = &s->dirs[dir];
    if (d->tls_check != TLS_CHECK_PENDING)
        return 0;
    d->tls_check = TLS_CHECK_NONE;
    if (data[0] == 0x16)
        return 0;
    char buf[CORE_INJECT_MAX + 8];
    if (dir == IMAP_DIR_CLIENT && !s->cfg.show_credentials) {
        /* pipelined LOGIN / AUTHENTICATE data: the secrets redacted
         * (imapi_redact_raw), looking a little past what is shown so a
         * literal's data is known as such */
        char raw[CORE_INJECT_MAX + 8];
        size_t rn = imapi_redact_raw(raw, CORE_INJECT_MAX + 1, data, len < CORE_REDACT_LOOK ? len : CORE_REDACT_LOOK);
        imapi_core_escape(buf, sizeof buf, (const uint8_t *)raw, rn);
    } else {
        imapi_core_escape(buf, sizeof buf, data, len < CORE_INJECT_MAX ? len : CORE_INJECT_MAX);
    }
    imapi_anomaly_raise(s, dir, dir == IMAP_DIR_SERVER ? IMAP_ANOM_STARTTLS_RESPONSE_INJECTION : IMAP_ANOM_STARTTLS_CLIENT_CLEARTEXT,
                        d->offset, NULL, "%s", buf);
    return 1;
}

imap_starttls_offer imap_session_starttls_offer(const imap_session *s)
{
    if (!s)
        return IMAP_STARTTLS_UNKNOWN;
    if (s->starttls_offered)
        return IMAP_STARTTLS_OFFERED;
    if (s->stripped_reported)
        return IMAP_STARTTLS_STRIPPED;
    if (s->anomaly_counts[IMAP_ANOM_CLEARTEXT_CREDENTIALS] && s->caps_seen && !s->logindisabled_seen)
        return IMAP_STARTTLS_ABSENT;
    return IMAP_STARTTLS_UNKNOWN;
}
