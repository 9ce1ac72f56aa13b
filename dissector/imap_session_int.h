/*
 * imap_session_int.h - the one internal header of the IMAP session core
 * (not installed, not part of the API of imap.h): the caps, the session
 * struct and its per-direction state, and what the files of the core share.
 *
 *   imap_session.c  lifetime and the public entry points without a file of
 *                   their own (configuration, midstream, summary)
 *   imap_framing.c  lines, literals, gaps, layer switches of the byte stream
 *   imap_client.c   client lines: commands, SASL responses, IDLE DONE
 *   imap_server.c   server lines: greeting, status, data, continuations
 *   imap_txn.c      pending commands, transactions, the memory budget
 *   imap_state.c    session state, capabilities, STARTTLS/COMPRESS
 *   imap_trace.c    events: anomalies, trace lines, layer switches
 *
 * Functions shared between these files are named imapi_* (the shared
 * library exports only imap_*: Makefile "make shared"); each one's
 * contract is stated at its definition.  Small helpers used by several
 * files are static inline here.  Everything else is static in its file.
 */
#ifndef IMAP_SESSION_INT_H
#define IMAP_SESSION_INT_H

#include "imap.h"
#include "imap_anomaly.h"
#include "imap_core_util.h"
#include "imap_decode.h"
#include "imap_limits.h"
#include "imap_sasl.h"
#include "imap_value.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

/* ------------------------------------------------------------------ caps */

/* the session core's caps live in imap_limits.h with the library's other defaults */

/* RFC 9051 3: the four states, and "unknown": the capture started
 * mid-connection (no greeting seen), so the state cannot be told until a
 * response proves it (see imapi_state_learn_*).  No state-validity anomaly is
 * raised while it is unknown. */
typedef enum imap_state {
    IMAP_STATE_NOT_AUTHENTICATED,
    IMAP_STATE_AUTHENTICATED,
    IMAP_STATE_SELECTED,
    IMAP_STATE_LOGOUT,
    IMAP_STATE_UNKNOWN,
    IMAP_STATE__COUNT
} imap_state;

#define ST_NA (1u << IMAP_STATE_NOT_AUTHENTICATED)
#define ST_AU (1u << IMAP_STATE_AUTHENTICATED)
#define ST_SE (1u << IMAP_STATE_SELECTED)
#define ST_ANY (ST_NA | ST_AU | ST_SE)
#define ST_AUTH (ST_AU | ST_SE)

typedef enum cmd_id {
    CMD_OTHER, CMD_LOGIN, CMD_AUTHENTICATE, CMD_STARTTLS, CMD_SELECT, CMD_EXAMINE,
    CMD_CLOSE, CMD_UNSELECT, CMD_LOGOUT, CMD_IDLE, CMD_COMPRESS, CMD_ENABLE, CMD_ID,
    CMD_APPEND, CMD_CAPABILITY, CMD_UNAUTHENTICATE
} cmd_id;

typedef struct cmd_info {
    const char *name;
    unsigned    states;  /* ST_* mask where the command is valid */
    cmd_id      id;
} cmd_info;

enum dir_mode {
    DM_LINE,     /* assembling line text */
    DM_LITERAL,  /* inside literal data */
    DM_DISCARD,  /* overlong line: dropping bytes up to the next LF */
    DM_OPAQUE    /* after a layer switch, bytes the caller did not decode: ignored */
};

enum tls_check { TLS_CHECK_NONE, TLS_CHECK_PENDING };

typedef struct dir_state {
    enum dir_mode mode;
    bool      resync;        /* after a gap: skip lines until a clear line start */
    uint64_t  offset;        /* stream offset of the next byte */
    uint64_t  line_start;    /* offset of the current line's first byte */
    uint64_t  line_bytes;    /* wire bytes of the current logical line (literals included) */
    char     *buf;           /* text of a line that is copied (cap: max_line + 2) */
    size_t    len, cap;
    bool      bare_lf;       /* a bare LF ended a piece of the current line */
    bool      overflow;      /* the current line is too long: framed, not parsed */
    bool      refused;       /* the line buffer could not grow: the memory budget refused */
    char      tail[32];      /* last bytes of a dropped line (literal marker check) */
    char      head[128];     /* first bytes of the line (line-start checks, whatever the split) */
    size_t    head_len;
    size_t    tail_len;
    bool      post_switch;   /* next fed byte is the first after a layer switch */
    bool      data_seen;     /* any byte was fed in this direction */
    imap_literal *lits;      /* grown on demand up to CORE_MAX_LITS */
    size_t    nlits, lits_cap;
    bool      lits_overflow;
    uint8_t  *keep;          /* kept literal bytes of the current line */
    bool      keep_refused;  /* the budget refused the keep buffer (reported once) */
    size_t    keep_used, keep_cap;
    /* current literal */
    uint64_t  lit_remaining;
    imap_literal *cur;       /* NULL when not recorded (too many) */
    imap_literal overflow_lit;
    bool      lit_sync;      /* a synchronizing literal was seen in this line */
    EVP_MD_CTX *md;
    char      line_tag[CORE_TAG_MAX];
    char      line_cmd[CORE_CMD_MAX];
    /* the literal sink's context (imap_litinfo.c) */
    unsigned  lit_seen;      /* literals begun in this logical line */
    bool      sink_open;     /* on_literal_begin was called for the current literal */
    uint64_t  sink_size, sink_received;
    /* parts of the line already shown (imapi_emit_line_part) */
    unsigned  parts;
    size_t    part_off;      /* text offset in buf where the next part starts */
    size_t    part_lit;      /* literal that leads the next part */
    uint64_t  part_wire;     /* stream offset where the next part starts */
    /* layers */
    enum tls_check tls_check;
    imap_layer switched_to;  /* last switch of this direction */
    bool      tls, compressed;
    uint64_t  ignored_bytes;
} dir_state;

typedef struct pending {
    char      tag[CORE_TAG_MAX];
    size_t    charged;       /* bytes of this entry charged to the budget */
    char      command[CORE_CMD_MAX];
    cmd_id    id;
    imap_node   *obj;           /* the "imap" object being built */
    imap_node   *untagged;      /* counts per type */
    imap_node   *responses;     /* decoded untagged responses */
    imap_node   *literals;
    imap_node   *sel_mb;        /* the mailbox selected when issued (selected state), or NULL */
    size_t    responses_dropped;
    size_t    txn_bytes;
    uint64_t  ts_request;
    uint64_t  client_bytes, server_bytes;
    unsigned  continuations;
    imap_state state_at_issue;
    uint64_t  offset;
    bool      idle_started, idle_done;
    uint64_t  idle_start_ts, idle_ms;
    bool      sasl_active;   /* AUTHENTICATE exchange running */
    imap_sasl sasl;
    char      mechanism[48];
} pending;

struct imap_session {
    imap_config    cfg;
    imap_callbacks cb;
    void          *user;
    dir_state      dirs[2];
    imap_arena    *arena;         /* the thread's scratch arena, during one line */
    size_t         arena_cap;
    bool           stopped;
    bool           ended;
    uint64_t       now;      /* ts of the current feed */

    imap_state     state;
    imap_state     projected;  /* state if every pending command succeeds */
    bool           greeting_seen;
    imap_node        *greeting;
    imap_node        *selected_mb;   /* mailbox of the last successful SELECT/EXAMINE, or NULL */

    pending       *pend;
    size_t         npend, pend_cap;
    unsigned       inprogress_conts; /* '+' seen while the client line was being sent */

    /* capabilities (RFC 9051 7.2.2) */
    imap_node        *caps;     /* array of names */
    imap_node        *caps_before_tls;
    bool           caps_seen, cap_literal_plus, cap_literal_minus, cap_starttls, cap_logindisabled;
    imap_node        *enabled;
    bool           utf8_accept;

    /* STARTTLS / COMPRESS */
    size_t         starttls_outstanding;
    bool           starttls_requested, starttls_refused, starttls_done;
    const char    *starttls_result;
    bool           stripped_reported;
    bool           cred_while_starttls;  /* credentials in clear while a STARTTLS was unanswered */
    uint64_t       cred_while_starttls_off;
    char           cred_while_starttls_tag[CORE_TAG_MAX];
    char           cred_while_starttls_what[64];
    bool           starttls_offered;   /* STARTTLS in a capability list before TLS (sticky) */
    bool           logindisabled_seen; /* LOGINDISABLED in a list before TLS (sticky) */
    char           starttls_mangled[CORE_CAP_NAME_MAX + 1]; /* first mangled STARTTLS seen, "" if none */
    bool           compress_requested;
    const char    *compress_result;
    bool           server_switch_now;  /* a switch point was reached in the server line just processed */
    bool           client_switch_now;

    /* summary */
    imap_node        *user_name;
    imap_node        *auth_attempts;
    uint64_t          login_failures; /* attempts not answered OK (uncapped) */
    bool           login_success;
    bool           preauth;        /* PREAUTH greeting: authenticated without a login (RFC 9051 7.1.4) */
    imap_node        *bye;            /* the server's BYE (after the greeting): status, code, text */
    imap_node        *mailboxes;
    imap_node        *commands;
    imap_node        *unsolicited;
    imap_node        *id_client, *id_server;
    uint64_t       transactions;
    uint64_t       idle_count, idle_total_ms;
    uint64_t       literal_count[2], literal_bytes[2];
    uint64_t       anomaly_counts[IMAP_ANOM__COUNT];
    bool           logout_reported;
    bool           before_greeting_reported;
    bool           client_missing_reported;
    bool           midstream;      /* imap_session_set_midstream: the capture began mid-connection */
    bool           no_handshake;   /* imap_session_set_no_handshake: a greeting must look like one */
    bool           client_cmd_seen; /* a client command line was processed */
    bool           prev_server_malformed; /* the last server line raised malformed_response */
    size_t         charged;        /* bytes charged to cfg.budget now */
    bool           client_first;   /* a client line came before any server byte */

    /* Anomalies raised while a complete line is processed wait until that
     * line's IMAP_EV_LINE is out (a trace shows the line, then what is
     * wrong with it); see imapi_emit_line and process_line. */
    bool           defer_anomalies;
    const char    *line_text;      /* the complete line being processed (process_line) */
    size_t         line_len;
    /* Secrets (imap_redact.h), unless cfg.show_credentials: where in the
     * client line being processed the trace stops and shows "<redacted>"
     * (SIZE_MAX: nowhere); after_secret: the last client line was LOGIN,
     * AUTHENTICATE or itself redacted, so a next line that is no command
     * may be a password sent on its own. */
    size_t         redact_from;
    bool           after_secret;
    size_t         unknown_cmd_keys; /* distinct unknown names in commands */
    size_t         ndeferred;
    struct deferred_anomaly {
        imap_anomaly a;
        imap_dir     dir;
        uint64_t     offset;
        imap_node      *data;
        bool         has_detail;
        char         detail[CORE_DETAIL_MAX];
    } *deferred;                   /* CORE_DEFER_MAX entries, allocated at the first
                                    * (most connections have none: 5 KB saved each) */
};

/* ---------------------------------------------------- shared functions */

/* imap_state.c: session state, commands, capabilities, STARTTLS/COMPRESS */
extern const char *const imapi_state_names[]; /* IMAP_STATE__COUNT names */
const cmd_info *imapi_cmd_lookup(const char *name);
void imapi_session_set_state(imap_session *s, imap_state st);
void imapi_recompute_projected(imap_session *s);
void imapi_state_learn_from_ok(imap_session *s, const char *command);
void imapi_state_learn_from_untagged(imap_session *s, const imap_value *first, const imap_value *kw);
void imapi_caps_update(imap_session *s, const imap_value *v);
void imapi_check_cleartext_credentials(imap_session *s, const char *tag, const char *what);
void imapi_starttls_switch(imap_session *s);
void imapi_compress_switch(imap_session *s);

/* imap_txn.c: the memory budget, pending commands, transactions.
 * imapi_budget_charge charges n bytes to the session's budget (none:
 * always granted).  force: granted even past the limit (memory the
 * session cannot do without, or whose refusal was already handled).  The
 * session's own total is kept so that imap_session_free gives back
 * exactly what it took. */
bool imapi_budget_charge(imap_session *s, size_t n, bool force);
void imapi_budget_release(imap_session *s, size_t n);
imap_node *imapi_count_array(const imap_node *o);
void imapi_pending_clear(imap_session *s, pending *p);
void imapi_txn_emit(imap_session *s, pending *p, const char *status, uint64_t offset);
void imapi_pending_remove(imap_session *s, size_t i);
ssize_t imapi_pending_find(const imap_session *s, const char *tag);
ssize_t imapi_pending_for_untagged(const imap_session *s);
ssize_t imapi_pending_newest(const imap_session *s, cmd_id id);
void imapi_txn_add_literals(imap_session *s, pending *p, dir_state *d, imap_dir dir);
void imapi_txn_add_response(imap_session *s, pending *p, const char *type, imap_node *resp, size_t approx);

/* imap_trace.c: events */
void imapi_emit(imap_session *s, imap_event *ev);
void imapi_anomaly_raise(imap_session *s, imap_dir dir, imap_anomaly a, uint64_t offset,
                         const char *tag, const char *fmt, ...);
void imapi_flush_anomalies(imap_session *s);
void imapi_emit_switch(imap_session *s, imap_dir dir, imap_layer layer, uint64_t offset);
void imapi_emit_line(imap_session *s, imap_dir dir, const char *kind, const char *tag,
                     const char *cmd_or_status, const char *text, size_t len, imap_node *extra);
imap_node *imapi_line_names(const imap_session *s, const imap_node *obj, const char *text, size_t len,
                            imap_node *extra);
void imapi_emit_line_part(imap_session *s, dir_state *d);

/* imap_client.c: client lines */
size_t imapi_client_secret_from(const imap_session *s, const char *text, size_t len);
bool imapi_client_line_clear_start(const imap_session *s, const char *text, size_t len);
void imapi_process_client_line(imap_session *s, const char *text, size_t len);

/* imap_server.c: server lines */
imap_node *imapi_id_params(const imap_value *list);
bool imapi_server_line_clear_start(const imap_session *s, const char *text, size_t len);
void imapi_process_server_line(imap_session *s, const char *text, size_t len);

/* imap_framing.c: lines and literals */
void imapi_abandon_line(imap_session *s, imap_dir dir, dir_state *d);
void imapi_literal_end(imap_session *s, imap_dir dir, dir_state *d);
void imapi_literal_info_scan(const imap_session *s, imap_dir dir, const dir_state *d, const char *text, size_t len,
                             bool line_end, imap_literal_info *out, char *section, size_t seccap, char *mailbox,
                             size_t mbcap);

/* ------------------------------------------------------------ helpers */

static inline const char *dir_name(imap_dir dir)
{
    return dir == IMAP_DIR_CLIENT ? "client" : "server";
}

static inline bool ci_eq(const char *a, size_t alen, const char *b)
{
    return strlen(b) == alen && strncasecmp(a, b, alen) == 0;
}

static inline void copy_upper(char *out, size_t cap, const char *in, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)toupper((unsigned char)in[i]);
    out[n] = '\0';
}

/* A tag byte: RFC 9051 9: tag = 1*<any ASTRING-CHAR except "+">;
 * ASTRING-CHAR = ATOM-CHAR / resp-specials; ATOM-CHAR = <any CHAR except
 * atom-specials>; atom-specials = "(" / ")" / "{" / SP / CTL /
 * list-wildcards / quoted-specials / resp-specials. */
static inline bool is_tag_char(unsigned char c)
{
    if (c <= 0x20 || c >= 0x7F)
        return false;
    return strchr("(){%*\"\\+", c) == NULL;
}

/* Span of a word: bytes up to SP (or end). */
static inline size_t word_len(const char *p, const char *end)
{
    const char *q = memchr(p, ' ', (size_t)(end - p));
    return (size_t)((q ? q : end) - p);
}

static inline imap_node *json_bytes(const void *p, size_t n)
{
    return imapi_core_json_bytes(p, n, 0);
}

/* imapi_object_set_new tolerant of NULL values, for a literal (ASCII) key:
 * no UTF-8 check of the key. */
static inline void osetl(imap_node *o, const char *k, imap_node *v)
{
    if (v)
        imapi_object_set_new_nocheck(o, k, v);
}

static inline void json_count(imap_node *o, const char *key)
{
    imap_node *c = imapi_object_get(o, key);
    if (c)
        imapi_object_set_new(o, key, imapi_integer(imapi_integer_value(c) + 1)); /* immortal small ints: replaced, not changed */
    else
        imapi_object_set_new(o, key, imapi_integer(1));
}

static inline imap_decode_ctx decode_ctx(const imap_session *s)
{
    imap_decode_ctx c = { .show_credentials = s->cfg.show_credentials, .utf8_accept = s->utf8_accept };
    return c;
}

static inline bool tls_active(const imap_session *s)
{
    return s->dirs[0].tls || s->dirs[1].tls;
}

static inline bool compressed_active(const imap_session *s)
{
    return s->dirs[0].compressed || s->dirs[1].compressed;
}

static inline bool is_status_word(const char *w, size_t n, bool untagged)
{
    return ci_eq(w, n, "OK") || ci_eq(w, n, "NO") || ci_eq(w, n, "BAD") ||
           (untagged && (ci_eq(w, n, "PREAUTH") || ci_eq(w, n, "BYE")));
}

static inline imap_span span_of(const char *str, size_t len) { return (imap_span){ str, str ? len : 0 }; }
static inline imap_span span_str(const char *str) { return span_of(str, str ? strlen(str) : 0); }
static inline imap_span span_node(const imap_node *n) { return span_of(imapi_string_value(n), imapi_string_length(n)); }

#endif /* IMAP_SESSION_INT_H */
