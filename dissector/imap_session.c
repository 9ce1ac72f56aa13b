/*
 * imap_session.c - the IMAP session core: streaming line assembly per
 * direction, literals, command/response parsing, session state, tag
 * correlation, AUTHENTICATE/IDLE/STARTTLS/COMPRESS, gaps, anomalies,
 * summary.  Implements imap.h (except the capability/code lookups).
 *
 * Grammar: RFC 9051 9 (and RFC 3501 9), cited at each rule.  The logical
 * line format handed to the tokenizer is described in imap_value.h.
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
#include "imap.h"
#include "imap_anomaly.h"
#include "imap_cache.h"
#include "imap_core_util.h"
#include "imap_decode.h"
#include "imap_redact.h"
#include "imap_sasl.h"
#include "imap_value.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ caps */

#define CORE_MAX_LITS        64    /* literal records per logical line */
#define CORE_TAG_MAX         64    /* bytes of a tag kept (longer tags compare on this prefix) */
#define CORE_CMD_MAX         40    /* bytes of a command name ("UID FETCH") */
#define CORE_MAX_CAPS        256   /* capability names remembered */
#define CORE_CAP_NAME_MAX    127   /* bytes of one capability name kept */
#define CORE_MAX_MAILBOXES   256   /* mailboxes listed in the summary */
#define CORE_MAX_AUTH        64    /* authentication attempts listed in the summary */
#define CORE_LINE_TEXT_MAX   1000  /* bytes of trace text per line */
#define CORE_DETAIL_MAX      300   /* bytes of an anomaly detail */
#define CORE_INJECT_MAX      200   /* bytes of injected data shown */
#define CORE_REDACT_LOOK     4096  /* bytes of injected client data scanned for secrets */
#define CORE_UNKNOWN_CMD_KEYS 16   /* distinct unknown command names counted by name */
#define CORE_LITERAL_SHOW    64    /* a literal this short and printable is shown in the trace */
#define CORE_DEFER_MAX       16    /* anomalies of one line held until its LINE event */
#define CORE_PENDING_COST    1024  /* budget charge of a pending command besides its text (objects) */
#define CORE_BUF_FIRST       1024  /* line buffer allocated per direction (grown on demand) */
#define CORE_PEND_FIRST      4     /* pending slots allocated at the first command (grown on demand) */
#define CORE_BUF_SHRINK      4096  /* a line buffer grown past this is shrunk back after its line */

void imap_config_default(imap_config *cfg)
{
    cfg->max_line = 65536;
    cfg->max_literal = (uint64_t)256 << 20;
    cfg->literal_keep = 1024;
    cfg->max_pending = 128;
    cfg->max_responses = 1000;
    cfg->max_txn_bytes = (size_t)1 << 20;
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

/* Charges n bytes to the session's budget (none: always granted).  force:
 * granted even past the limit (memory the session cannot do without, or
 * whose refusal was already handled).  The session's own total is kept
 * so that imap_session_free gives back exactly what it took. */
static bool budget_charge(imap_session *s, size_t n, bool force);
static void budget_release(imap_session *s, size_t n);

/* ---------------------------------------------------------- session state */

/* RFC 9051 3: the four states, and "unknown": the capture started
 * mid-connection (no greeting seen), so the state cannot be told until a
 * response proves it (see state_learn_*).  No state-validity anomaly is
 * raised while it is unknown. */
typedef enum imap_state {
    IMAP_STATE_NOT_AUTHENTICATED,
    IMAP_STATE_AUTHENTICATED,
    IMAP_STATE_SELECTED,
    IMAP_STATE_LOGOUT,
    IMAP_STATE_UNKNOWN,
    IMAP_STATE__COUNT
} imap_state;

static const char *const state_names[] = {
    "not_authenticated", "authenticated", "selected", "logout", "unknown",
};
_Static_assert(sizeof state_names / sizeof state_names[0] == IMAP_STATE__COUNT,
               "state name table matches the enum");

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

static const cmd_info *cmd_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof cmd_table / sizeof cmd_table[0]; i++)
        if (strcmp(cmd_table[i].name, name) == 0)
            return &cmd_table[i];
    return NULL;
}

/* RFC 9051 9: x-command = "X" atom <experimental command arguments> */
static bool cmd_is_experimental(const char *name)
{
    return name[0] == 'X' || (strncmp(name, "UID X", 5) == 0);
}

/* ------------------------------------------------------------ structures */

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
    /* parts of the line already shown (emit_line_part) */
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
     * wrong with it); see emit_line and process_line. */
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

/* ------------------------------------------------------------- budget */

static bool budget_charge(imap_session *s, size_t n, bool force)
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

static void budget_release(imap_session *s, size_t n)
{
    if (n > s->charged)
        n = s->charged;
    s->charged -= n;
    if (s->cfg.budget && n)
        atomic_fetch_sub_explicit(&s->cfg.budget->used, n, memory_order_relaxed);
}

/* Budget charge of a line buffer of cap bytes: what is beyond the first
 * CORE_BUF_FIRST (every session may have that much). */
static size_t buf_charge(size_t cap)
{
    return cap > CORE_BUF_FIRST ? cap - CORE_BUF_FIRST : 0;
}

/* ------------------------------------------------------------- events */

static void emit(imap_session *s, imap_event *ev)
{
    if (s->stopped || !s->cb.on_event)
        return;
    if (s->cb.on_event(s->user, ev) != 0)
        s->stopped = true;
}

static const char *dir_name(imap_dir dir)
{
    return dir == IMAP_DIR_CLIENT ? "client" : "server";
}

static void anomaly(imap_session *s, imap_dir dir, imap_anomaly a, uint64_t offset,
                    const char *tag, const char *fmt, ...)
{
    char raw[CORE_DETAIL_MAX * 2], detail[CORE_DETAIL_MAX];
    detail[0] = '\0';
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        if (n < 0)
            n = 0;
        if ((size_t)n >= sizeof raw)
            n = sizeof raw - 1;
        imapi_core_escape(detail, sizeof detail, (const uint8_t *)raw, (size_t)n);
    }
    s->anomaly_counts[a]++;
    imap_node *o = imapi_object();
    imapi_object_set_new_nocheck(o, "name", imapi_string(imap_anomaly_name(a)));
    imapi_object_set_new_nocheck(o, "description", imapi_string(imap_anomaly_description(a)));
    imapi_object_set_new_nocheck(o, "severity", imapi_integer(imap_anomaly_severity(a)));
    imapi_object_set_new_nocheck(o, "signature_id", imapi_integer((int64_t)imap_anomaly_signature_id(a)));
    imapi_object_set_new_nocheck(o, "direction", imapi_string(dir_name(dir)));
    imapi_object_set_new_nocheck(o, "offset", imapi_integer((int64_t)offset));
    if (fmt)
        imapi_object_set_new_nocheck(o, "detail", imapi_string(detail));
    if (tag && tag[0])
        imapi_object_set_new_nocheck(o, "tag", imapi_core_json_bytes(tag, strlen(tag), 0));
    if (s->defer_anomalies && !s->deferred)
        s->deferred = malloc(CORE_DEFER_MAX * sizeof *s->deferred);
    if (s->defer_anomalies && s->deferred && s->ndeferred < CORE_DEFER_MAX) {
        struct deferred_anomaly *q = &s->deferred[s->ndeferred++];
        q->a = a;
        q->dir = dir;
        q->offset = offset;
        q->data = o;
        q->has_detail = fmt != NULL;
        memcpy(q->detail, detail, sizeof q->detail);
        return;
    }
    imap_event ev = {
        .type = IMAP_EV_ANOMALY, .dir = dir, .ts_us = s->now, .offset = offset, .data = o,
        .anomaly = a, .name = imap_anomaly_name(a), .detail = fmt ? detail : NULL,
    };
    emit(s, &ev);
    imapi_decref(o);
}

/* Emits the anomalies held for the line being processed, in the order
 * they were raised, and stops holding (later ones go out at once). */
static void flush_anomalies(imap_session *s)
{
    s->defer_anomalies = false;
    for (size_t i = 0; i < s->ndeferred; i++) {
        struct deferred_anomaly *q = &s->deferred[i];
        imap_event ev = {
            .type = IMAP_EV_ANOMALY, .dir = q->dir, .ts_us = s->now, .offset = q->offset, .data = q->data,
            .anomaly = q->a, .name = imap_anomaly_name(q->a), .detail = q->has_detail ? q->detail : NULL,
        };
        emit(s, &ev);
        imapi_decref(q->data);
        q->data = NULL;
    }
    s->ndeferred = 0;
}

static void emit_switch(imap_session *s, imap_dir dir, imap_layer layer, uint64_t offset)
{
    dir_state *d = &s->dirs[dir];
    d->switched_to = layer;
    d->tls_check = layer == IMAP_LAYER_TLS ? TLS_CHECK_PENDING : TLS_CHECK_NONE;
    imap_event ev = { .type = IMAP_EV_SWITCH, .dir = dir, .ts_us = s->now, .offset = offset,
                      .switch_to = layer };
    emit(s, &ev);
}

/* ------------------------------------------------------------ helpers */

static bool ci_eq(const char *a, size_t alen, const char *b)
{
    return strlen(b) == alen && strncasecmp(a, b, alen) == 0;
}

static void copy_upper(char *out, size_t cap, const char *in, size_t len)
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
static bool is_tag_char(unsigned char c)
{
    if (c <= 0x20 || c >= 0x7F)
        return false;
    return strchr("(){%*\"\\+", c) == NULL;
}

/* Span of a word: bytes up to SP (or end). */
static size_t word_len(const char *p, const char *end)
{
    const char *q = memchr(p, ' ', (size_t)(end - p));
    return (size_t)((q ? q : end) - p);
}

static bool all_digits(const char *p, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

static imap_node *json_bytes(const void *p, size_t n)
{
    return imapi_core_json_bytes(p, n, 0);
}

/* imapi_object_set_new tolerant of NULL values, for a literal (ASCII) key:
 * no UTF-8 check of the key. */
static void osetl(imap_node *o, const char *k, imap_node *v)
{
    if (v)
        imapi_object_set_new_nocheck(o, k, v);
}

static void json_count(imap_node *o, const char *key)
{
    imap_node *c = imapi_object_get(o, key);
    if (c)
        imapi_object_set_new(o, key, imapi_integer(imapi_integer_value(c) + 1)); /* immortal small ints: replaced, not changed */
    else
        imapi_object_set_new(o, key, imapi_integer(1));
}

/* [{name, count}] of a count map (json_count): the names are network data
 * (response names, command names), so the output is an array, not an
 * object keyed by them (issue 10: field paths do not grow with traffic). */
static imap_node *count_array(const imap_node *o)
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

static imap_decode_ctx decode_ctx(const imap_session *s)
{
    imap_decode_ctx c = { .show_credentials = s->cfg.show_credentials, .utf8_accept = s->utf8_accept };
    return c;
}

static bool tls_active(const imap_session *s)
{
    return s->dirs[0].tls || s->dirs[1].tls;
}

static bool compressed_active(const imap_session *s)
{
    return s->dirs[0].compressed || s->dirs[1].compressed;
}

/* One function changes state (STYLE.md). */
static void session_set_state(imap_session *s, imap_state st)
{
    if ((unsigned)st >= IMAP_STATE__COUNT)
        return;
    s->state = st;
    s->projected = st;
}

/* ------------------------------------------------------ pending commands */

static void pending_clear(imap_session *s, pending *p)
{
    budget_release(s, p->charged);
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

static imap_span span_of(const char *str, size_t len) { return (imap_span){ str, str ? len : 0 }; }
static imap_span span_str(const char *str) { return span_of(str, str ? strlen(str) : 0); }
static imap_span span_node(const imap_node *n) { return span_of(imapi_string_value(n), imapi_string_length(n)); }

static imap_status status_of(const char *st)
{
    if (!st)
        return IMAP_STATUS_NONE;
    for (unsigned i = IMAP_STATUS_OK; i <= IMAP_STATUS_BYE; i++)
        if (strcmp(st, imap_status_name((imap_status)i)) == 0)
            return (imap_status)i;
    return IMAP_STATUS_NONE;
}

_Static_assert((int)IMAP_STATE_NOT_AUTHENTICATED == (int)IMAP_SESSION_NOT_AUTHENTICATED &&
               (int)IMAP_STATE_UNKNOWN == (int)IMAP_SESSION_UNKNOWN, "state enums agree");

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

/* The typed line of a line object o (built by emit_line/emit_line_part). */
static void line_fill(const imap_node *o, imap_line *l)
{
    static const char *const kinds[] = { "command", "continuation_data", "done", "tagged",
                                         "untagged", "continuation", "malformed" };
    memset(l, 0, sizeof *l);
    const char *k = imapi_string_value(imapi_object_get(o, "kind"));
    for (unsigned i = 0; k && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(k, kinds[i]) == 0)
            l->kind = (imap_line_kind)i;
    l->tag = span_node(imapi_object_get(o, "tag"));
    const imap_node *w = imapi_object_get(o, "command");
    l->word = span_node(w ? w : imapi_object_get(o, "status"));
    l->text = span_node(imapi_object_get(o, "text"));
    l->part = (unsigned)imapi_integer_value(imapi_object_get(o, "part"));
    l->last_part = imapi_is_true(imapi_object_get(o, "last_part"));
    const imap_node *lat = imapi_object_get(o, "latency_us");
    if (imapi_is_integer(lat)) {
        l->has_latency = true;
        l->latency_us = (uint64_t)imapi_integer_value(lat);
    }
    l->code = span_node(imapi_object_get(o, "code"));
    l->capabilities = imapi_object_get(o, "capabilities");
    l->names = imapi_object_get(o, "names");
    l->obj = o;
}

/* Completes pending entry p into ONE IMAP_EV_TRANSACTION.  status: "OK",
 * "NO", "BAD" or NULL (no tagged response). */
static void txn_emit(imap_session *s, pending *p, const char *status, uint64_t offset)
{
    imap_node *o = p->obj;
    imapi_object_set_new_nocheck(o, "status", status ? imapi_string(status) : imapi_null());
    if (p->command[0] && p->ts_request)
        imapi_object_set_new_nocheck(o, "latency_us", imapi_integer((int64_t)(s->now >= p->ts_request ? s->now - p->ts_request : 0)));
    /* null for a response whose command was not seen (an orphan) */
    imapi_object_set_new_nocheck(o, "ts_request_us", p->command[0] ? imapi_integer((int64_t)p->ts_request)
                                                                   : imapi_null());
    if (p->sel_mb) {
        /* the mailbox the command acts on; COPY/MOVE's own "mailbox" is
         * the destination, so there the selected one is "selected_mailbox" */
        imapi_object_set_nocheck(o, imapi_object_get(o, "mailbox") ? "selected_mailbox" : "mailbox", p->sel_mb);
    }
    imapi_object_set_new_nocheck(o, "untagged", count_array(p->untagged));
    if (imapi_array_size(p->responses) > 0)
        imapi_object_set_nocheck(o, "responses", p->responses);
    if (p->responses_dropped)
        imapi_object_set_new_nocheck(o, "responses_dropped", imapi_integer((int64_t)p->responses_dropped));
    imapi_object_set_new_nocheck(o, "continuations", imapi_integer(p->continuations));
    imapi_object_set_new_nocheck(o, "client_bytes", imapi_integer((int64_t)p->client_bytes));
    imapi_object_set_new_nocheck(o, "server_bytes", imapi_integer((int64_t)p->server_bytes));
    if (imapi_array_size(p->literals) > 0)
        imapi_object_set_nocheck(o, "literals", p->literals);
    imapi_object_set_new_nocheck(o, "state", imapi_string(state_names[p->state_at_issue]));
    imap_node *layer = imapi_object();
    imapi_object_set_new_nocheck(layer, "tls", imapi_boolean(tls_active(s)));
    imapi_object_set_new_nocheck(layer, "compressed", imapi_boolean(compressed_active(s)));
    imapi_object_set_new_nocheck(o, "layer", layer);
    if (p->id == CMD_IDLE) {
        imapi_object_set_new_nocheck(o, "idle_ms", imapi_integer((int64_t)p->idle_ms));
        if (p->idle_started) {
            s->idle_count++;
            s->idle_total_ms += p->idle_ms;
        }
    }
    if (p->id == CMD_AUTHENTICATE && p->sasl.info) {
        imapi_object_set_nocheck(o, "sasl", (imap_node *)imapi_sasl_info(&p->sasl));
        const char *su = imapi_sasl_user(&p->sasl);
        if (su && !imapi_object_get(o, "user"))
            imapi_object_set_nocheck(o, "user", imapi_object_get(imapi_sasl_info(&p->sasl), "user"));
    }
    if (p->id == CMD_LOGIN || p->id == CMD_AUTHENTICATE)
        add_auth_attempt(s, p, p->sasl.cancelled && !status ? "cancelled" : status);
    s->transactions++;
    imap_transaction t;
    txn_fill(s, p, status, &t);
    imap_event ev = { .type = IMAP_EV_TRANSACTION, .dir = IMAP_DIR_SERVER, .ts_us = s->now,
                      .offset = offset, .txn = &t, .data = o };
    emit(s, &ev);
}

/* Removes entry i (keeps the order). */
static void pending_remove(imap_session *s, size_t i)
{
    pending_clear(s, &s->pend[i]);
    memmove(&s->pend[i], &s->pend[i + 1], (s->npend - i - 1) * sizeof(pending));
    s->npend--;
    memset(&s->pend[s->npend], 0, sizeof(pending));
}

static ssize_t pending_find(const imap_session *s, const char *tag)
{
    for (size_t i = 0; i < s->npend; i++)
        if (strcmp(s->pend[i].tag, tag) == 0)
            return (ssize_t)i;
    return -1;
}

/* The command that untagged responses belong to: the running IDLE or
 * AUTHENTICATE, else the oldest pending command; -1 when none. */
static ssize_t pending_for_untagged(const imap_session *s)
{
    for (size_t i = 0; i < s->npend; i++)
        if (s->pend[i].id == CMD_IDLE || (s->pend[i].id == CMD_AUTHENTICATE && s->pend[i].sasl_active))
            return (ssize_t)i;
    return s->npend ? 0 : -1;
}

static ssize_t pending_newest(const imap_session *s, cmd_id id)
{
    for (size_t i = s->npend; i-- > 0;)
        if (s->pend[i].id == id && (id != CMD_AUTHENTICATE || s->pend[i].sasl_active))
            return (ssize_t)i;
    return -1;
}

static void txn_add_literals(imap_session *s, pending *p, dir_state *d, imap_dir dir)
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
            imapi_core_hex(hex, l->sha256, 32);
            imapi_object_set_new_nocheck(o, "sha256", imapi_string(hex));
        }
        if (l->mode == '+' || l->mode == '-') {
            char m[2] = { l->mode, 0 };
            imapi_object_set_new_nocheck(o, "mode", imapi_string(m));
        }
        if (l->binary)
            imapi_object_set_new_nocheck(o, "binary", imapi_true());
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
static void txn_add_response(imap_session *s, pending *p, const char *type, imap_node *resp, size_t approx)
{
    json_count(p->untagged, type);
    if (!resp)
        return;
    bool capped = imapi_array_size(p->responses) >= s->cfg.max_responses ||
                  p->txn_bytes + approx > s->cfg.max_txn_bytes;
    if (capped || !budget_charge(s, approx, false)) {
        if (!p->responses_dropped) {
            if (capped)
                anomaly(s, IMAP_DIR_SERVER, IMAP_ANOM_RESPONSES_DROPPED, s->dirs[IMAP_DIR_SERVER].line_start,
                        p->tag[0] ? p->tag : NULL, "%s: more than %zu responses or %zu bytes decoded",
                        p->command, s->cfg.max_responses, s->cfg.max_txn_bytes);
            else
                anomaly(s, IMAP_DIR_SERVER, IMAP_ANOM_MEMCAP, s->dirs[IMAP_DIR_SERVER].line_start,
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

/* ------------------------------------------------------------ capabilities */

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
static void caps_update(imap_session *s, const imap_value *v)
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

static imap_node *caps_annotate(const imap_node *names);

/* The summary's annotated capability list.  The sessions of a capture
 * mostly end with the same list (one server): it is kept per thread and
 * shared (imap_cache.h), keyed by the names. */
static imap_node *caps_annotated(const imap_node *names)
{
    imap_cache_key k = { .n = 0, .full = 0 };
    size_t i;
    imap_node *n;
    imapi_array_foreach(names, i, n)
        imapi_cache_key_add(&k, 's', imapi_string_value(n), imapi_string_length(n));
    imap_node *arr = imapi_cache_get(IMAP_CACHE_CAPS_ANNOTATED, &k);
    if (arr != NULL)
        return arr;
    arr = caps_annotate(names);
    imapi_cache_put(IMAP_CACHE_CAPS_ANNOTATED, &k, arr);
    return arr;
}

static imap_node *caps_annotate(const imap_node *names)
{
    imap_node *arr = imapi_array();
    size_t i;
    imap_node *n;
    imapi_array_foreach(names, i, n) {
        const char *name = imapi_string_value(n);
        imap_node *o = imapi_object();
        imapi_object_set_new_nocheck(o, "name", imapi_string(name));
        /* The shape of a CAPABILITY response's entries (name, value of
         * AUTH= and the like, known: false): the constant rfc and meaning
         * texts come only with --annotate (src/output.c put_json_ann), not
         * in every connection's summary (issue 10, volume). */
        const imap_capability_info *ci = imap_capability_lookup(name, strlen(name));
        if (ci) {
            if (ci->prefix) {
                size_t len = strlen(name), pl = strlen(ci->name);
                const char *eq = strchr(name, '=');
                if (eq != NULL)
                    imapi_object_set_new_nocheck(o, "value", imapi_string(eq + 1));
                else if (pl < len)
                    imapi_object_set_new_nocheck(o, "value", imapi_string(name + pl));
            }
        } else {
            imapi_object_set_new_nocheck(o, "known", imapi_false());
        }
        imapi_array_append_new(arr, o);
    }
    return arr;
}

/* ------------------------------------------------------------ trace lines */

/* Appends literal li of the line to tmp[*o..cap): its bytes when short
 * and printable, else "<N bytes>" (a secret never gets here: render_text
 * stops where it begins). */
static void render_literal(const dir_state *d, size_t li, char *tmp, size_t *o, size_t cap)
{
    if (li >= d->nlits)
        return;
    const imap_literal *l = &d->lits[li];
    bool printable = l->kept && l->kept_len == l->size && l->size <= CORE_LITERAL_SHOW;
    for (size_t i = 0; printable && i < l->kept_len; i++)
        if (l->kept[i] < 0x20 || l->kept[i] >= 0x7F)
            printable = false;
    int n;
    if (printable)
        n = snprintf(tmp + *o, cap - *o, "%.*s", (int)l->kept_len, (const char *)l->kept);
    else
        n = snprintf(tmp + *o, cap - *o, "<%llu bytes>", (unsigned long long)l->size);
    if (n > 0)
        *o += (size_t)n < cap - *o ? (size_t)n : cap - *o - 1;
}

/* Renders (part of) a logical line for the trace: each literal marker
 * ("{n}" CRLF in the text) is followed by literal li, li+1, ... from
 * first_lit; lead: the text starts right after a marker's CRLF, so it
 * starts with literal first_lit.  secret_from (SIZE_MAX: none): the text
 * from there on, and every literal whose marker lies there, is a secret,
 * shown as one "<redacted>" (0 with lead: the lead literal too).  out has
 * cap bytes. */
static size_t render_text(const dir_state *d, const char *text, size_t len, size_t first_lit, bool lead,
                          size_t secret_from, char *out, size_t cap)
{
    char tmp[CORE_LINE_TEXT_MAX + 256];
    size_t o = 0, li = first_lit;
    tmp[0] = '\0';
    bool secret = secret_from < len || (lead && secret_from == 0);
    if (secret)
        len = secret_from < len ? secret_from : len;
    const char *p = text, *end = text + len;
    if (lead && !(secret && secret_from == 0))
        render_literal(d, li++, tmp, &o, sizeof tmp);
    while (p < end && o < CORE_LINE_TEXT_MAX) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *seg_end = nl ? nl : end;
        size_t seg = (size_t)(seg_end - p);
        if (seg && seg_end[-1] == '\r' && nl)
            seg--;
        if (seg > sizeof tmp - o - 1)
            seg = sizeof tmp - o - 1;
        memcpy(tmp + o, p, seg);
        o += seg;
        if (!nl)
            break;
        render_literal(d, li++, tmp, &o, sizeof tmp);
        p = nl + 1;
    }
    if (p < end && o >= CORE_LINE_TEXT_MAX)
        o = CORE_LINE_TEXT_MAX;
    if (secret && o < CORE_LINE_TEXT_MAX) {
        int m = snprintf(tmp + o, sizeof tmp - o, "%s", IMAP_REDACT_MARK);
        if (m > 0)
            o += (size_t)m;
    }
    size_t n = imapi_core_escape(out, cap, (const uint8_t *)tmp, o);
    if (o >= CORE_LINE_TEXT_MAX && n + 4 < cap && (n < 3 || strcmp(out + n - 3, "...") != 0)) {
        memcpy(out + n, "...", 4);
        n += 3;
    }
    return n;
}

static size_t parse_tag_command(const char *text, size_t len, char *tag, char *cmd, bool *eight_bit);

/* "tag SP command" with a command we know (or an experimental X one). */
static bool client_line_is_command(const char *text, size_t len)
{
    char tag[CORE_TAG_MAX], cmd[CORE_CMD_MAX];
    bool eb;
    return parse_tag_command(text, len, tag, cmd, &eb) != 0 && cmd[0] &&
           (cmd_lookup(cmd) != NULL || cmd_is_experimental(cmd));
}

/* Where the secret of client text (the line buffer so far, or the whole
 * line) begins: SIZE_MAX when it has none or show_credentials.  A LOGIN
 * or AUTHENTICATE line as imapi_redact_scan says; after such a line (or
 * during a SASL exchange) a line that is no known command is all secret:
 * the password sent on its own, or a SASL response that is not base64. */
static size_t client_secret_from(const imap_session *s, const char *text, size_t len)
{
    if (s->cfg.show_credentials)
        return SIZE_MAX;
    size_t so;
    bool clean;
    if (imapi_redact_scan(text, len, false, &so, &clean) != IMAP_REDACT_NONE)
        return so < len ? so : SIZE_MAX;
    if ((s->after_secret || pending_newest(s, CMD_AUTHENTICATE) >= 0) && len > 0 &&
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

static void emit_line(imap_session *s, imap_dir dir, const char *kind, const char *tag,
                      const char *cmd_or_status, const char *text, size_t len, imap_node *extra)
{
    if (!s->cfg.emit_lines) {
        imapi_decref(extra);
        flush_anomalies(s);
        return;
    }
    dir_state *d = &s->dirs[dir];
    /* a client line already shown up to a synchronizing literal
     * (emit_line_part): what remains is its last part */
    bool rest = dir == IMAP_DIR_CLIENT && d->parts > 0 && s->line_text;
    imap_node *o = extra ? extra : imapi_object();
    imapi_object_set_new_nocheck(o, "direction", imapi_string(dir_name(dir)));
    imapi_object_set_new_nocheck(o, "kind", imapi_string(rest ? "continuation_data" : kind));
    if (tag)
        osetl(o, "tag", json_bytes(tag, strlen(tag)));
    if (cmd_or_status)
        imapi_object_set_new(o, dir == IMAP_DIR_CLIENT ? "command" : "status", imapi_string(cmd_or_status));
    char buf[CORE_LINE_TEXT_MAX * 4 + 8];
    size_t n;
    if (rest) {
        imapi_object_set_new_nocheck(o, "part", imapi_integer((int64_t)d->parts + 1));
        imapi_object_set_new_nocheck(o, "last_part", imapi_true());
        size_t from = s->redact_from == SIZE_MAX ? SIZE_MAX
                      : s->redact_from > d->part_off ? s->redact_from - d->part_off : 0;
        n = render_text(d, s->line_text + d->part_off, s->line_len - d->part_off, d->part_lit, true,
                        from, buf, sizeof buf);
    } else {
        n = render_text(d, text, len, 0, false,
                        dir == IMAP_DIR_CLIENT && text == s->line_text ? s->redact_from : SIZE_MAX,
                        buf, sizeof buf);
    }
    osetl(o, "text", imapi_stringn(buf, n));
    imap_line l;
    line_fill(o, &l);
    imap_event ev = { .type = IMAP_EV_LINE, .dir = dir, .ts_us = s->now,
                      .offset = rest ? d->part_wire : d->line_start, .line = &l, .data = o };
    emit(s, &ev);
    imapi_decref(o);
    flush_anomalies(s);
}

/* For the trace: the names of a decoded command or response (top-level
 * keys) whose wire form was modified UTF-7 (RFC 3501 5.1.3, RFC 9051 5.1):
 * a decoder that changed a name sets "<key>_raw" beside "<key>"; and the
 * RFC 2047 encoded-words of a FETCH ENVELOPE (RFC 9051 7.5.2) that
 * imapi_envelope_decode() decoded: "subject" (subject_decoded) and "from"
 * (the first sender's name_decoded).  Adds "names": {"<key>": "<decoded>"}
 * to extra (created when NULL) and returns it; extra unchanged when there
 * are none or no trace is made. */
static imap_node *line_names(const imap_session *s, const imap_node *obj, imap_node *extra)
{
    if (!s->cfg.emit_lines || !imapi_is_object(obj))
        return extra;
    imap_node *names = NULL;
    const char *k;
    imap_node *v;
    const imap_node *env = imapi_object_get(obj, "envelope");
    if (imapi_is_object(env)) {
        const imap_node *subj = imapi_object_get(env, "subject_decoded");
        /* the first address whose field is "from" (envelope "addresses") */
        const imap_node *addrs = imapi_object_get(env, "addresses"), *from = NULL;
        for (size_t ai = 0; ai < imapi_array_size(addrs); ai++) {
            const imap_node *ad = imapi_array_get(addrs, ai);
            const char *f = imapi_string_value(imapi_object_get(ad, "field"));
            if (f != NULL && strcmp(f, "from") == 0) {
                from = imapi_object_get(ad, "name_decoded");
                break;
            }
        }
        if (imapi_is_string(subj) || imapi_is_string(from))
            names = imapi_object();
        if (imapi_is_string(subj))
            imapi_object_set(names, "subject", (imap_node *)subj);
        if (imapi_is_string(from))
            imapi_object_set(names, "from", (imap_node *)from);
    }
    imapi_object_foreach((imap_node *)obj, k, v) {
        size_t kl = strlen(k);
        char base[64];
        if (kl <= 4 || kl - 4 >= sizeof base || strcmp(k + kl - 4, "_raw") != 0)
            continue;
        memcpy(base, k, kl - 4);
        base[kl - 4] = '\0';
        imap_node *dec = imapi_object_get(obj, base);
        if (!imapi_is_string(dec))
            continue;
        if (!names)
            names = imapi_object();
        imapi_object_set(names, base, dec);
    }
    if (!names)
        return extra;
    if (!extra)
        extra = imapi_object();
    imapi_object_set_new_nocheck(extra, "names", names);
    return extra;
}

/* A client line that announces a synchronizing literal waits for the
 * server's "+" (RFC 9051 4.3, 7.5): the text so far (up to the marker) is
 * shown at once, so the trace reads C "A1 APPEND INBOX {272}", S "+ OK",
 * then the rest.  The first part has kind "command" (tag and command
 * from the line head), later ones "continuation_data" with "part" n. */
static void emit_line_part(imap_session *s, dir_state *d)
{
    /* the buffer holds the line so far, ending with the marker and CRLF */
    size_t end = d->len >= 2 ? d->len - 2 : d->len;
    if (s->cfg.emit_lines && end >= d->part_off) {
        imap_node *o = imapi_object();
        imapi_object_set_new_nocheck(o, "direction", imapi_string("client"));
        imapi_object_set_new_nocheck(o, "kind", imapi_string(d->parts == 0 ? "command" : "continuation_data"));
        if (d->line_tag[0])
            osetl(o, "tag", json_bytes(d->line_tag, strlen(d->line_tag)));
        if (d->line_cmd[0])
            osetl(o, "command", json_bytes(d->line_cmd, strlen(d->line_cmd)));
        imapi_object_set_new_nocheck(o, "part", imapi_integer((int64_t)d->parts + 1));
        char buf[CORE_LINE_TEXT_MAX * 4 + 8];
        size_t sf = client_secret_from(s, d->buf, end);
        size_t from = sf == SIZE_MAX ? SIZE_MAX : sf > d->part_off ? sf - d->part_off : 0;
        size_t n = render_text(d, d->buf + d->part_off, end - d->part_off, d->part_lit, d->parts > 0,
                               from, buf, sizeof buf);
        osetl(o, "text", imapi_stringn(buf, n));
        imap_line l;
        line_fill(o, &l);
        imap_event ev = { .type = IMAP_EV_LINE, .dir = IMAP_DIR_CLIENT, .ts_us = s->now,
                          .offset = d->parts == 0 ? d->line_start : d->part_wire, .line = &l, .data = o };
        emit(s, &ev);
        imapi_decref(o);
    }
    d->parts++;
    d->part_off = d->len;
    d->part_lit = d->nlits; /* the literal about to begin leads the next part */
    d->part_wire = d->offset;
}

/* ------------------------------------------------------ response text */

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
        anomaly(s, dir, IMAP_ANOM_MALFORMED_RESPONSE, s->dirs[dir].line_start, tag,
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
        caps_update(s, rt->code_args);
}

/* ------------------------------------------------------ server lines */

static bool is_status_word(const char *w, size_t n, bool untagged)
{
    return ci_eq(w, n, "OK") || ci_eq(w, n, "NO") || ci_eq(w, n, "BAD") ||
           (untagged && (ci_eq(w, n, "PREAUTH") || ci_eq(w, n, "BYE")));
}

static void recompute_projected(imap_session *s)
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
static void state_learn_from_ok(imap_session *s, const char *command)
{
    const cmd_info *ci = command[0] ? cmd_lookup(command) : NULL;
    if (!ci)
        return;
    if (ci->states == ST_SE)
        session_set_state(s, IMAP_STATE_SELECTED);
    else if (ci->states == ST_AU)
        session_set_state(s, IMAP_STATE_AUTHENTICATED);
    else if (ci->states == ST_NA)
        session_set_state(s, IMAP_STATE_NOT_AUTHENTICATED);
}

/* The same from untagged data: message data (RFC 9051 7.4, 7.5: EXISTS,
 * EXPUNGE, FETCH, RECENT in RFC 3501 7.3.2) and FLAGS (7.3.5) are sent
 * about the selected mailbox only. */
static void state_learn_from_untagged(imap_session *s, const imap_value *first, const imap_value *kw)
{
    if (s->state != IMAP_STATE_UNKNOWN || !kw || kw->type != IV_ATOM)
        return;
    bool msg = first && first->type == IV_NUMBER &&
               (imapi_value_is_atom(kw, "EXISTS") || imapi_value_is_atom(kw, "EXPUNGE") ||
                imapi_value_is_atom(kw, "FETCH") || imapi_value_is_atom(kw, "RECENT"));
    if (msg || (kw == first && imapi_value_is_atom(kw, "FLAGS"))) {
        session_set_state(s, IMAP_STATE_SELECTED);
        recompute_projected(s);
    }
}

/* RFC 2971 3.1: id_params_list = "(" *(string SP nstring) ")" / nil */
static imap_node *id_params(const imap_value *list)
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
    anomaly(s, IMAP_DIR_SERVER, IMAP_ANOM_STARTTLS_UNTAGGED_BEFORE_OK, s->dirs[1].line_start, NULL,
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
                            pending_newest(s, CMD_IDLE) >= 0))
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
        session_set_state(s, IMAP_STATE_UNKNOWN);
        recompute_projected(s);
        anomaly(s, IMAP_DIR_SERVER, IMAP_ANOM_RESPONSE_BEFORE_GREETING, d->line_start, NULL,
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
        session_set_state(s, IMAP_STATE_UNKNOWN);
        recompute_projected(s);
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
            session_set_state(s, IMAP_STATE_AUTHENTICATED);
            s->preauth = true;
            s->login_success = true;
            if (!tls_active(s))
                anomaly(s, IMAP_DIR_SERVER, IMAP_ANOM_PREAUTH_CLEARTEXT, d->line_start, NULL,
                        "PREAUTH greeting without TLS");
        } else if (strcmp(status, "BYE") == 0) {
            session_set_state(s, IMAP_STATE_LOGOUT);
        } else if (strcmp(status, "OK") == 0) {
            session_set_state(s, IMAP_STATE_NOT_AUTHENTICATED); /* after a client that spoke first */
        } else {
            anomaly(s, IMAP_DIR_SERVER, IMAP_ANOM_MALFORMED_RESPONSE, d->line_start, NULL,
                    "greeting status %s", status);
        }
        recompute_projected(s);
        imapi_decref(rt.code);
        if (extra)
            imapi_object_set_new_nocheck(extra, "greeting", imapi_true());
        emit_line(s, IMAP_DIR_SERVER, "untagged", "*", status, text, len, extra);
        return;
    }
    check_starttls_window(s, text, len);
    if (strcmp(status, "BYE") == 0)
        session_set_state(s, IMAP_STATE_LOGOUT);
    imap_node *resp = imapi_object();
    imapi_object_set_new_nocheck(resp, "type", imapi_string(status));
    if (rt.code)
        imapi_object_set_nocheck(resp, "code", rt.code);
    osetl(resp, "text", json_bytes(rt.text, rt.text_len));
    imapi_decref(rt.code);
    if (strcmp(status, "BYE") == 0 && !s->bye) /* RFC 9051 7.1.5: why the server closes */
        s->bye = imapi_deep_copy(resp);
    ssize_t i = pending_for_untagged(s);
    if (i < 0) {
        json_count(s->unsolicited, status);
        imapi_decref(resp);
    } else {
        pending *p = &s->pend[i];
        p->server_bytes += d->line_bytes;
        txn_add_response(s, p, status, resp, len + 32);
    }
    emit_line(s, IMAP_DIR_SERVER, "untagged", "*", status, text, len, extra);
}

static void server_untagged_data(imap_session *s, dir_state *d, const char *text, size_t len)
{
    const char *err = NULL;
    size_t err_off = 0, li = 0;
    imap_value *toks = imapi_tokenize(s->arena, text + 2, len - 2, d->lits, d->nlits, &li, false,
                                     NULL, &err, &err_off);
    if (!toks) {
        anomaly(s, IMAP_DIR_SERVER, IMAP_ANOM_MALFORMED_RESPONSE, d->line_start, "*", "response too complex");
        return;
    }
    if (err)
        anomaly(s, IMAP_DIR_SERVER, IMAP_ANOM_MALFORMED_RESPONSE, d->line_start, "*",
                "%s at %zu", err, err_off + 2);
    imap_decode_ctx ctx = decode_ctx(s);
    const char *derr = NULL;
    imap_node *resp = err ? NULL : imapi_decode_untagged(&ctx, toks, &derr);
    if (derr)
        anomaly(s, IMAP_DIR_SERVER, IMAP_ANOM_MALFORMED_RESPONSE, d->line_start, "*", "%s", derr);
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
        caps_update(s, kw->next);
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
        s->id_server = id_params(kw->next);
    }
    state_learn_from_untagged(s, first, kw);
    check_starttls_window(s, text, len);
    ssize_t i = pending_for_untagged(s);
    if (i < 0) {
        json_count(s->unsolicited, type);
        imapi_decref(resp);
    } else {
        pending *p = &s->pend[i];
        p->server_bytes += d->line_bytes;
        txn_add_literals(s, p, d, IMAP_DIR_SERVER);
        txn_add_response(s, p, type, resp, len + 64);
    }
    if (extra)
        imapi_object_set_new_nocheck(extra, "type", imapi_string(type));
    emit_line(s, IMAP_DIR_SERVER, "untagged", "*", NULL, text, len, line_names(s, names_from, extra));
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
    } else if ((i = pending_newest(s, CMD_AUTHENTICATE)) >= 0) {
        pending *p = &s->pend[i];
        p->continuations++;
        p->server_bytes += d->line_bytes;
        if (imapi_sasl_server(&p->sasl, t, (size_t)(end - t)) < 0)
            anomaly(s, IMAP_DIR_SERVER, IMAP_ANOM_BAD_BASE64, d->line_start, p->tag,
                    "server challenge is not base64");
    } else if ((i = pending_newest(s, CMD_IDLE)) >= 0) {
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
        anomaly(s, IMAP_DIR_SERVER, IMAP_ANOM_CONTINUATION_UNEXPECTED, d->line_start, NULL,
                "no command waits for a continuation");
    }
    emit_line(s, IMAP_DIR_SERVER, "continuation", "+", NULL, text, len, NULL);
}

static void check_cleartext_credentials(imap_session *s, const char *tag, const char *what)
{
    if (tls_active(s))
        return;
    anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_CLEARTEXT_CREDENTIALS, s->dirs[0].line_start, tag,
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
        anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_STARTTLS_STRIPPED, s->dirs[0].line_start, tag,
                "%s after STARTTLS was refused (%s)", what, s->starttls_result ? s->starttls_result : "?");
    } else if (s->starttls_mangled[0]) {
        s->stripped_reported = true;
        anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_STARTTLS_STRIPPED, s->dirs[0].line_start, tag,
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

static void line_reset(imap_session *s, dir_state *d);
static void literal_end(imap_session *s, imap_dir dir, dir_state *d);

/* Drops the partial client line at a switch point (an open literal is
 * closed incomplete): what follows belongs to the new layer. */
static void abandon_line(imap_session *s, imap_dir dir, dir_state *d)
{
    if (d->mode == DM_LITERAL)
        literal_end(s, dir, d);
    d->mode = DM_LINE;
    d->tail_len = 0;
    line_reset(s, d);
}

/* STARTTLS OK: both directions switch (RFC 9051 6.2.1: TLS begins right
 * after the CRLF of the tagged OK; the client after its STARTTLS line). */
static void starttls_switch(imap_session *s)
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
        imapi_object_set_new_nocheck(p->obj, "abandoned", imapi_true());
        imapi_object_set_new_nocheck(p->obj, "reason", imapi_string("abandoned_at_tls_start"));
        txn_emit(s, p, NULL, sv->offset);
        pending_remove(s, 0);
    }
    s->starttls_outstanding = 0;
    s->inprogress_conts = 0;
    /* RFC 9051 6.2.1: the session stays (or is again) not authenticated */
    session_set_state(s, IMAP_STATE_NOT_AUTHENTICATED);
    imapi_decref(s->caps_before_tls);
    s->caps_before_tls = imapi_deep_copy(s->caps);
    caps_reset(s); /* RFC 9051 6.2.1: discard cached capabilities */
    sv->tls = true;
    sv->post_switch = true;
    emit_switch(s, IMAP_DIR_SERVER, IMAP_LAYER_TLS, sv->offset);
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
            anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_STARTTLS_COMMAND_INJECTION, c->line_start, NULL,
                    "partial line after STARTTLS: %s", buf);
        }
        abandon_line(s, IMAP_DIR_CLIENT, c);
        c->tls = true;
        c->post_switch = true;
        emit_switch(s, IMAP_DIR_CLIENT, IMAP_LAYER_TLS, c->offset);
    }
}

static void compress_switch(imap_session *s)
{
    dir_state *c = &s->dirs[IMAP_DIR_CLIENT], *sv = &s->dirs[IMAP_DIR_SERVER];
    sv->compressed = c->compressed = true;
    emit_switch(s, IMAP_DIR_SERVER, IMAP_LAYER_DEFLATE, sv->offset);
    s->server_switch_now = true;
    abandon_line(s, IMAP_DIR_CLIENT, c);
    emit_switch(s, IMAP_DIR_CLIENT, IMAP_LAYER_DEFLATE, c->offset);
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
        anomaly(s, IMAP_DIR_SERVER, IMAP_ANOM_MALFORMED_RESPONSE, d->line_start, tag,
                "not a tagged status response");
    const char *rest = w + wl;
    if (rest < end && *rest == ' ')
        rest++;
    resp_text rt;
    parse_resp_text(s, IMAP_DIR_SERVER, rest, end, &rt, tag);
    resp_code_effects(s, &rt);

    ssize_t i = pending_find(s, tag);
    pending tmp;
    pending *p;
    if (i < 0) {
        if (s->midstream && !s->client_cmd_seen) {
            /* the answer to a command sent before the capture began */
        } else if (s->dirs[IMAP_DIR_CLIENT].data_seen) {
            anomaly(s, IMAP_DIR_SERVER, IMAP_ANOM_UNKNOWN_TAG, d->line_start, tag,
                    "tagged %s for tag not pending", status);
        } else if (!s->client_missing_reported) {
            /* a one-sided capture: every tagged response would be an
             * unknown tag; one anomaly says why for the whole session */
            s->client_missing_reported = true;
            anomaly(s, IMAP_DIR_SERVER, IMAP_ANOM_CLIENT_STREAM_MISSING, d->line_start, tag,
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
    txn_add_literals(s, p, d, IMAP_DIR_SERVER);
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
            session_set_state(s, IMAP_STATE_AUTHENTICATED);
        p->sasl_active = false;
        break;
    case CMD_SELECT: case CMD_EXAMINE:
        /* RFC 9051 6.3.2: a failed SELECT leaves no mailbox selected (a NO
         * also proves an unknown state authenticated; a BAD proves nothing) */
        imapi_decref(s->selected_mb);
        s->selected_mb = NULL;
        if (ok) {
            session_set_state(s, IMAP_STATE_SELECTED);
            s->selected_mb = imapi_incref(imapi_object_get(p->obj, "mailbox"));
        } else if (st && s->state == IMAP_STATE_SELECTED)
            session_set_state(s, IMAP_STATE_AUTHENTICATED);
        else if (st && strcmp(st, "NO") == 0 && s->state == IMAP_STATE_UNKNOWN)
            session_set_state(s, IMAP_STATE_AUTHENTICATED);
        break;
    case CMD_CLOSE: case CMD_UNSELECT:
        if (ok) {
            session_set_state(s, IMAP_STATE_AUTHENTICATED);
            imapi_decref(s->selected_mb);
            s->selected_mb = NULL;
        }
        break;
    case CMD_LOGOUT:
        if (ok)
            session_set_state(s, IMAP_STATE_LOGOUT);
        break;
    case CMD_UNAUTHENTICATE:
        /* RFC 8437 2: back to the not authenticated state */
        if (ok) {
            session_set_state(s, IMAP_STATE_NOT_AUTHENTICATED);
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
            state_learn_from_ok(s, p->command);
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
    txn_emit(s, p, st, d->line_start);
    if (i < 0)
        pending_clear(s, &tmp);
    else
        pending_remove(s, (size_t)i);
    recompute_projected(s);
    emit_line(s, IMAP_DIR_SERVER, "tagged", tag, st ? st : status, text, len, extra);
    if (ok && id == CMD_STARTTLS)
        starttls_switch(s);
    else if (ok && id == CMD_COMPRESS)
        compress_switch(s);
}

static bool server_line_clear_start(const imap_session *s, const char *text, size_t len)
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
    return pending_find(s, tag) >= 0;
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
    return pending_find(s, tag) >= 0;
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
        anomaly(s, IMAP_DIR_SERVER, IMAP_ANOM_MALFORMED_RESPONSE, d->line_start, NULL,
                "not a response line: %s%s", buf, len > 40 ? "..." : "");
    emit_line(s, IMAP_DIR_SERVER, "malformed", NULL, NULL, text, len, NULL);
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
    anomaly(s, IMAP_DIR_SERVER, IMAP_ANOM_MALFORMED_RESPONSE, d->line_start, NULL,
            "response code %s on a line of its own (no tag and status): decoded", rt.code_name);
    imap_node *resp = imapi_object();
    imapi_object_set_new_nocheck(resp, "type", imapi_string("CODE"));
    if (rt.code)
        imapi_object_set_nocheck(resp, "code", rt.code);
    osetl(resp, "text", json_bytes(rt.text, rt.text_len));
    imapi_decref(rt.code);
    ssize_t i = pending_for_untagged(s);
    if (i < 0) {
        json_count(s->unsolicited, "CODE");
        imapi_decref(resp);
    } else {
        pending *p = &s->pend[i];
        p->server_bytes += d->line_bytes;
        txn_add_response(s, p, "CODE", resp, len + 32);
    }
    imap_node *extra = s->cfg.emit_lines ? imapi_object() : NULL;
    if (extra && rt.code_name[0])
        imapi_object_set_new_nocheck(extra, "code", imapi_string(rt.code_name));
    emit_line(s, IMAP_DIR_SERVER, "malformed", NULL, NULL, text, len, extra);
}

static void process_server_line_1(imap_session *s, const char *text, size_t len);

static void process_server_line(imap_session *s, const char *text, size_t len)
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
        if (!server_line_clear_start(s, text, len))
            return;
        d->resync = false;
    }
    if (len == 0) {
        anomaly(s, IMAP_DIR_SERVER, IMAP_ANOM_MALFORMED_RESPONSE, d->line_start, NULL, "empty line");
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

/* ------------------------------------------------------ client lines */

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

static bool client_line_clear_start(const imap_session *s, const char *text, size_t len)
{
    char tag[CORE_TAG_MAX], cmd[CORE_CMD_MAX];
    bool eb;
    if (pending_newest(s, CMD_IDLE) >= 0 && ci_eq(text, len, "DONE"))
        return true;
    if (parse_tag_command(text, len, tag, cmd, &eb) == 0)
        return false;
    return cmd[0] && cmd_lookup(cmd) != NULL;
}

static void client_sasl_line(imap_session *s, dir_state *d, pending *p, const char *text, size_t len)
{
    s->after_secret = true;
    p->client_bytes += d->line_bytes;
    if (imapi_sasl_client(&p->sasl, text, len) < 0)
        anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_BAD_BASE64, d->line_start, p->tag,
                "client SASL response is not base64");
    if (s->cfg.show_credentials || (len == 1 && text[0] == '*'))
        emit_line(s, IMAP_DIR_CLIENT, "continuation_data", NULL, NULL, text, len, NULL);
    else
        emit_line(s, IMAP_DIR_CLIENT, "continuation_data", NULL, NULL, "<redacted>", 10, NULL);
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

static void process_client_line(imap_session *s, const char *text, size_t len)
{
    dir_state *d = &s->dirs[IMAP_DIR_CLIENT];
    if (d->resync) {
        if (!client_line_clear_start(s, text, len))
            return;
        d->resync = false;
    }
    if (!s->greeting_seen && !s->client_first && !s->dirs[IMAP_DIR_SERVER].data_seen) {
        /* RFC 9051 7.1: the server speaks first.  A client line before any
         * server byte: most likely the capture started mid-connection; the
         * state is unknown until a response proves it (or a greeting comes
         * after all: greeting_plausible). */
        s->client_first = true;
        session_set_state(s, IMAP_STATE_UNKNOWN);
        anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_RESPONSE_BEFORE_GREETING, d->line_start, NULL,
                "client line before any server greeting");
    }
    ssize_t i;
    /* RFC 2177 3: idle = "IDLE" CRLF "DONE" */
    if ((i = pending_newest(s, CMD_IDLE)) >= 0 && !s->pend[i].idle_done && ci_eq(text, len, "DONE")) {
        pending *p = &s->pend[i];
        p->idle_done = true;
        p->client_bytes += d->line_bytes;
        if (p->idle_started)
            p->idle_ms = (s->now - p->idle_start_ts) / 1000;
        emit_line(s, IMAP_DIR_CLIENT, "done", NULL, "DONE", text, len, NULL);
        return;
    }
    /* RFC 9051 6.2.2: the client's SASL responses, one base64 line each */
    if ((i = pending_newest(s, CMD_AUTHENTICATE)) >= 0 && is_base64_line(text, len)) {
        client_sasl_line(s, d, &s->pend[i], text, len);
        return;
    }
    if (s->state == IMAP_STATE_LOGOUT && !s->logout_reported) {
        s->logout_reported = true;
        anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_DATA_AFTER_LOGOUT, d->line_start, NULL, "command after logout");
    }
    /* secrets: the rest of this line from redact_from is shown nowhere */
    size_t so = len;
    bool clean = true;
    imap_redact_kind rk = s->cfg.show_credentials ? IMAP_REDACT_NONE
                                                  : imapi_redact_scan(text, len, false, &so, &clean);
    s->redact_from = client_secret_from(s, text, len);
    bool secret_line = rk == IMAP_REDACT_NONE && s->redact_from == 0;
    s->after_secret = rk != IMAP_REDACT_NONE || secret_line;
    if (s->starttls_outstanding > 0) {
        /* SPECS.md 6.1: nothing but TLS may follow STARTTLS before its OK */
        char buf[CORE_INJECT_MAX * 4 + 8];
        client_text_quoted(text, len, s->redact_from, buf, sizeof buf);
        anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_STARTTLS_COMMAND_INJECTION, d->line_start, NULL, "%s", buf);
    }
    if (secret_line) {
        /* no tag, no command name, no count: the words may be the secret */
        anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_MALFORMED_COMMAND, d->line_start, NULL,
                "line after %s is no command (redacted)",
                pending_newest(s, CMD_AUTHENTICATE) >= 0 ? "AUTHENTICATE" : "LOGIN");
        emit_line(s, IMAP_DIR_CLIENT, "command", NULL, NULL, text, len, NULL);
        return;
    }
    if (memchr(text, '\0', len))
        anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_NUL_BYTE, d->line_start, NULL, "NUL in command line");

    char tag[CORE_TAG_MAX], cmd[CORE_CMD_MAX];
    bool eight_bit;
    size_t argoff = parse_tag_command(text, len, tag, cmd, &eight_bit);
    const char *kw = rk == IMAP_REDACT_LOGIN ? "LOGIN" : "AUTHENTICATE";
    if (rk != IMAP_REDACT_NONE && (argoff == 0 || strcmp(cmd, kw) != 0)) {
        /* a LOGIN / AUTHENTICATE the tag and command of which do not parse
         * (no tag, TAB, ...): what was taken for the tag or the command
         * may hold the secret; shown as the keyword alone */
        anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_MALFORMED_COMMAND, d->line_start, NULL,
                "%s line not well formed (arguments redacted)", kw);
        emit_line(s, IMAP_DIR_CLIENT, "command", NULL, kw, text, len, NULL);
        return;
    }
    if (eight_bit)
        anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_EIGHT_BIT_IN_ATOM, d->line_start, tag, "8-bit byte in tag or command");
    if (argoff == 0) {
        anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_MALFORMED_COMMAND, d->line_start, tag[0] ? tag : NULL,
                "expected tag SP command");
        emit_line(s, IMAP_DIR_CLIENT, "command", tag[0] ? tag : NULL, NULL, text, len, NULL);
        return;
    }
    /* a new pending command */
    if (s->npend >= s->cfg.max_pending) {
        anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_TOO_MANY_PENDING, d->line_start, s->pend[0].tag,
                "more than %zu commands pending: oldest abandoned", s->cfg.max_pending);
        imapi_object_set_new_nocheck(s->pend[0].obj, "abandoned", imapi_true());
        imapi_object_set_new_nocheck(s->pend[0].obj, "reason", imapi_string("too_many_pending"));
        txn_emit(s, &s->pend[0], NULL, d->line_start);
        pending_remove(s, 0);
    }
    if (pending_find(s, tag) >= 0)
        anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_TAG_REUSED, d->line_start, tag, "tag %s still pending", tag);
    const cmd_info *ci = cmd_lookup(cmd);
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
    if (!budget_charge(s, need + grow_bytes, false)) {
        if (s->npend > 0) {
            anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_MEMCAP, d->line_start, s->pend[0].tag,
                    "oldest pending command abandoned (budget %zu bytes)", s->cfg.budget->limit);
            imapi_object_set_new_nocheck(s->pend[0].obj, "abandoned", imapi_true());
            imapi_object_set_new_nocheck(s->pend[0].obj, "reason", imapi_string("memcap"));
            txn_emit(s, &s->pend[0], NULL, d->line_start);
            pending_remove(s, 0);
            grow = false; /* a slot is free now */
            grow_bytes = 0;
            budget_charge(s, need, true); /* what the abandoned one gave back */
        } else {
            /* nothing to give back: the command is tracked (tag, name,
             * status) without its decoded arguments, so what a session
             * takes past the budget stays a small fixed amount */
            anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_MEMCAP, d->line_start, tag,
                    "arguments of %s not decoded (budget %zu bytes)", cmd, s->cfg.budget->limit);
            args_dropped = true;
            need = CORE_PENDING_COST;
            budget_charge(s, need + grow_bytes, true);
        }
    }
    if (grow) {
        /* grown on demand: most connections have one or two pending */
        pending *np = realloc(s->pend, ncap * sizeof *np);
        if (!np) {
            budget_release(s, need + grow_bytes);
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
    txn_add_literals(s, p, d, IMAP_DIR_CLIENT);
    count_command(s, cmd, ci != NULL || cmd_is_experimental(cmd));

    if (!ci && !cmd_is_experimental(cmd)) {
        anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_UNKNOWN_COMMAND, d->line_start, tag, "%s", cmd);
    } else if (ci && ci->id == CMD_STARTTLS) {
        if ((s->state != IMAP_STATE_NOT_AUTHENTICATED && s->state != IMAP_STATE_UNKNOWN) || tls_active(s))
            anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_STARTTLS_INVALID_STATE, d->line_start, tag,
                    "STARTTLS in state %s%s", state_names[s->state], tls_active(s) ? " inside TLS" : "");
    } else if (ci && s->state != IMAP_STATE_UNKNOWN && !(ci->states & (1u << s->state)) &&
               !(ci->states & (1u << s->projected))) {
        anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_COMMAND_INVALID_IN_STATE, d->line_start, tag,
                "%s in state %s", cmd, state_names[s->state]);
    }

    /* arguments */
    const char *err = NULL;
    size_t err_off = 0, li = 0;
    imap_value *args = NULL;
    /* a LOGIN / AUTHENTICATE not in its exact shape: its arguments are not
     * taken apart, so no piece of the secret becomes a user or a name */
    bool args_secret = rk != IMAP_REDACT_NONE && !clean;
    if (args_secret && !args_dropped) {
        anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_MALFORMED_COMMAND, d->line_start, tag,
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
        anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_MALFORMED_COMMAND, d->line_start, tag, "arguments too complex");
    } else if (err) {
        anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_MALFORMED_COMMAND, d->line_start, tag, "%s: %s at %zu",
                cmd, err, err_off + argoff);
    }
    imap_decode_ctx ctx = decode_ctx(s);
    if (args && !err && (ci || cmd_is_experimental(cmd))) {
        const char *derr = NULL;
        if (imapi_decode_command(&ctx, cmd, args, p->obj, &derr) < 0)
            anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_MALFORMED_COMMAND, d->line_start, tag, "%s: %s", cmd,
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
        check_cleartext_credentials(s, tag, "LOGIN");
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
        imapi_object_set_new_nocheck(p->obj, "sasl_ir", imapi_boolean(a1 != NULL));
        if (a1) {
            size_t irl;
            const char *ir = imapi_value_text(a1, &irl, NULL);
            if (imapi_sasl_client(&p->sasl, ir, irl) < 0)
                anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_BAD_BASE64, d->line_start, tag, "initial response is not base64");
        }
        if (imapi_sasl_mech_is_cleartext(p->mechanism, strlen(p->mechanism))) {
            char what[80];
            snprintf(what, sizeof what, "AUTHENTICATE %s", p->mechanism);
            check_cleartext_credentials(s, tag, what);
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
        s->id_client = id_params(a0);
        break;
    default:
        break;
    }
    recompute_projected(s);
    emit_line(s, IMAP_DIR_CLIENT, "command", tag, cmd, text, len, line_names(s, p->obj, NULL));
}

/* ------------------------------------------------------------ framing */

static void line_reset(imap_session *s, dir_state *d)
{
    if (d->cap > CORE_BUF_SHRINK) {
        /* a long line is over: give its buffer back */
        size_t first = s->cfg.max_line + 3 < CORE_BUF_FIRST ? s->cfg.max_line + 3 : CORE_BUF_FIRST;
        char *nb = realloc(d->buf, first);
        if (nb) {
            budget_release(s, buf_charge(d->cap) - buf_charge(first));
            d->buf = nb;
            d->cap = first;
        }
    }
    d->refused = false;
    d->len = 0;
    d->nlits = 0;
    d->lits_overflow = false;
    d->keep_used = 0;
    d->bare_lf = false;
    d->lit_sync = false;
    d->overflow = false;
    d->line_bytes = 0;
    d->head_len = 0;
    d->line_tag[0] = d->line_cmd[0] = '\0';
    d->line_start = d->offset;
    d->parts = 0;
    d->part_off = d->part_lit = 0;
    d->part_wire = d->offset;
}

static void head_feed(dir_state *d, const void *p, size_t n)
{
    size_t room = sizeof d->head - d->head_len;
    if (n > room)
        n = room;
    memcpy(d->head + d->head_len, p, n);
    d->head_len += n;
}

/* RFC 9051 9: literal = "{" number64 ["+"] "}" CRLF *CHAR8; RFC 7888:
 * literal-minus "{" number "-" "}" ... ; RFC 3516: literal8 = "~{" number64 "}".
 * Finds such a marker at the end of text[0..len) (CRLF removed). */
static bool find_marker(const char *text, size_t len, uint64_t *size, char *mode, bool *binary)
{
    if (len < 3 || text[len - 1] != '}')
        return false;
    size_t i = len - 1; /* on '}' */
    *mode = 0;
    if (text[i - 1] == '+' || text[i - 1] == '-') {
        *mode = text[i - 1];
        i--;
    }
    size_t de = i; /* one past the last digit */
    while (i > 0 && text[i - 1] >= '0' && text[i - 1] <= '9')
        i--;
    size_t nd = de - i;
    if (nd == 0 || nd > 19 || i == 0 || text[i - 1] != '{')
        return false;
    uint64_t n = 0;
    for (size_t k = i; k < de; k++)
        n = n * 10 + (uint64_t)(text[k] - '0');
    *size = n;
    *binary = i >= 2 && text[i - 2] == '~';
    return true;
}

/* Server lines that never carry literals: continuations and status
 * responses (RFC 9051 9: resp-text is text, not string). */
static bool server_allows_literal(const char *text, size_t len)
{
    if (len >= 1 && text[0] == '+')
        return false;
    const char *end = text + len;
    size_t tl = word_len(text, end);
    if (tl >= len)
        return true;
    const char *w = text + tl + 1;
    return !is_status_word(w, word_len(w, end), true);
}

/* The tag and command of the line being sent, for the literal sink. */
static void line_ids(imap_dir dir, dir_state *d, const char *text, size_t len)
{
    const char *end = text + len;
    size_t tl = word_len(text, end);
    size_t tc = tl < CORE_TAG_MAX - 1 ? tl : CORE_TAG_MAX - 1;
    memcpy(d->line_tag, text, tc);
    d->line_tag[tc] = '\0';
    const char *w = text + tl + (tl < len ? 1 : 0);
    size_t wl = word_len(w, end);
    if (dir == IMAP_DIR_SERVER && all_digits(w, wl) && w + wl < end) {
        w += wl + 1;
        wl = word_len(w, end);
    }
    copy_upper(d->line_cmd, CORE_CMD_MAX, w, wl);
    if (dir == IMAP_DIR_CLIENT && strcmp(d->line_cmd, "UID") == 0 && w + wl < end) {
        const char *sub = w + wl + 1;
        size_t sl = word_len(sub, end);
        if (4 + sl < CORE_CMD_MAX) {
            d->line_cmd[3] = ' ';
            copy_upper(d->line_cmd + 4, CORE_CMD_MAX - 4, sub, sl);
        }
    }
}

/* The tag and command of a client line that announces a literal name it
 * in alerts and to the literal sink: not when they may hold a secret (a
 * LOGIN / AUTHENTICATE whose words do not parse, a line after one that is
 * no command; client_secret_from). */
static void line_ids_redact(const imap_session *s, dir_state *d)
{
    if (s->cfg.show_credentials)
        return;
    size_t end = d->len >= 2 ? d->len - 2 : d->len, so;
    bool clean;
    imap_redact_kind k = imapi_redact_scan(d->buf, end, false, &so, &clean);
    if (k != IMAP_REDACT_NONE) {
        if (!clean)
            d->line_tag[0] = '\0';
        snprintf(d->line_cmd, sizeof d->line_cmd, "%s", k == IMAP_REDACT_LOGIN ? "LOGIN" : "AUTHENTICATE");
    } else if (client_secret_from(s, d->buf, end) == 0) {
        d->line_tag[0] = '\0';
        d->line_cmd[0] = '\0';
    }
}

static void literal_begin(imap_session *s, imap_dir dir, dir_state *d, uint64_t size, char mode, bool binary)
{
    if (size > s->cfg.max_literal)
        anomaly(s, dir, IMAP_ANOM_LITERAL_TOO_LARGE, d->line_start, d->line_tag,
                "literal of %llu bytes (max %llu)", (unsigned long long)size,
                (unsigned long long)s->cfg.max_literal);
    if (dir == IMAP_DIR_CLIENT && mode) {
        if (mode == '-' && size > 4096)
            anomaly(s, dir, IMAP_ANOM_LITERAL_MINUS_TOO_LARGE, d->line_start, d->line_tag,
                    "{%llu-} over 4096 bytes", (unsigned long long)size);
        else if (s->caps_seen && !s->cap_literal_plus && !s->cap_literal_minus)
            anomaly(s, dir, IMAP_ANOM_NONSYNC_LITERAL_NOT_ADVERTISED, d->line_start, d->line_tag,
                    "{%llu%c} without LITERAL+/LITERAL-", (unsigned long long)size, mode);
        else if (s->caps_seen && !s->cap_literal_plus && s->cap_literal_minus && size > 4096)
            anomaly(s, dir, IMAP_ANOM_LITERAL_MINUS_TOO_LARGE, d->line_start, d->line_tag,
                    "non-synchronizing literal of %llu bytes under LITERAL-", (unsigned long long)size);
    }
    if (dir == IMAP_DIR_CLIENT && mode == 0)
        d->lit_sync = true;
    d->lit_remaining = size;
    d->cur = NULL;
    s->literal_count[dir]++;
    if (d->overflow)
        return; /* the line is being dropped: framing only */
    if (d->nlits >= CORE_MAX_LITS) {
        if (!d->lits_overflow)
            anomaly(s, dir, IMAP_ANOM_TOO_MANY_LITERALS, d->line_start, d->line_tag,
                    "more than %d literals in one line", CORE_MAX_LITS);
        d->lits_overflow = true;
        return;
    }
    if (d->nlits == d->lits_cap) {
        size_t ncap = d->lits_cap ? d->lits_cap * 2 : 4;
        imap_literal *nl = ncap <= CORE_MAX_LITS ? realloc(d->lits, ncap * sizeof *nl) : NULL;
        if (!nl) {
            d->lits_overflow = true;
            return;
        }
        d->lits = nl;
        d->lits_cap = ncap;
    }
    imap_literal *l = &d->lits[d->nlits++];
    memset(l, 0, sizeof *l);
    l->size = size;
    l->mode = mode;
    l->binary = binary;
    uint64_t k = size < s->cfg.literal_keep ? size : s->cfg.literal_keep;
    if (k > 0 && !d->keep && d->keep_cap && !d->keep_refused) {
        /* on the first literal: most directions have none */
        if (budget_charge(s, d->keep_cap, false)) {
            d->keep = malloc(d->keep_cap);
            if (!d->keep)
                budget_release(s, d->keep_cap);
        } else {
            d->keep_refused = true;
            anomaly(s, dir, IMAP_ANOM_MEMCAP, d->line_start, d->line_tag[0] ? d->line_tag : NULL,
                    "literal bytes not kept for decoding in this direction (budget %zu bytes)",
                    s->cfg.budget->limit);
        }
    }
    if (k > 0 && d->keep && k <= d->keep_cap - d->keep_used) {
        l->kept = d->keep + d->keep_used;
        d->keep_used += (size_t)k;
    }
    d->cur = l;
    if (s->cfg.hash_literals && !d->md)
        d->md = EVP_MD_CTX_new();
    if (s->cfg.hash_literals && d->md)
        EVP_DigestInit_ex(d->md, EVP_sha256(), NULL);
    if (s->cb.on_literal_begin &&
        s->cb.on_literal_begin(s->user, dir, size, d->line_tag, d->line_cmd) != 0)
        s->stopped = true;
}

static void literal_data(imap_session *s, imap_dir dir, dir_state *d, const uint8_t *p, size_t n)
{
    s->literal_bytes[dir] += n;
    imap_literal *l = d->cur;
    if (!l)
        return;
    if (l->kept) {
        uint64_t want = (l->size < s->cfg.literal_keep ? l->size : s->cfg.literal_keep);
        if (l->kept_len < want) {
            size_t c = (size_t)(want - l->kept_len) < n ? (size_t)(want - l->kept_len) : n;
            memcpy((uint8_t *)l->kept + l->kept_len, p, c);
            l->kept_len += c;
        }
    }
    if (s->cfg.hash_literals && d->md)
        EVP_DigestUpdate(d->md, p, n);
    l->received += n;
    if (s->cb.on_literal_data && s->cb.on_literal_data(s->user, dir, p, n) != 0)
        s->stopped = true;
}

static void literal_end(imap_session *s, imap_dir dir, dir_state *d)
{
    imap_literal *l = d->cur;
    d->cur = NULL;
    d->mode = d->overflow ? DM_DISCARD : DM_LINE;
    if (!l)
        return;
    bool complete = l->received == l->size;
    if (s->cfg.hash_literals && d->md) {
        unsigned int mdlen = 0;
        uint8_t md[EVP_MAX_MD_SIZE];
        EVP_DigestFinal_ex(d->md, md, &mdlen);
        if (complete && mdlen == 32) {
            memcpy(l->sha256, md, 32);
            l->has_sha256 = true;
        }
    }
    if (s->cb.on_literal_end && s->cb.on_literal_end(s->user, dir, complete) != 0)
        s->stopped = true;
}

/* Appends to the line buffer; false when the line is too long. */
static bool buf_append(imap_session *s, dir_state *d, const char *p, size_t n)
{
    if (n == 0)
        return true;
    if (n > d->cap - d->len) {
        /* allocated at the first line that needs a copy (most lines are
         * parsed in place), CORE_BUF_FIRST, then doubled up to max_line */
        size_t max = s->cfg.max_line + 3, want = d->cap ? d->cap * 2 : CORE_BUF_FIRST;
        if (n > max - d->len)
            return false;
        if (want < d->len + n)
            want = d->len + n;
        if (want > max)
            want = max;
        size_t charge = buf_charge(want) - buf_charge(d->cap);
        if (!budget_charge(s, charge, false)) {
            d->refused = true;
            return false;
        }
        char *nb = realloc(d->buf, want);
        if (!nb) {
            budget_release(s, charge);
            return false;
        }
        d->buf = nb;
        d->cap = want;
    }
    memcpy(d->buf + d->len, p, n);
    d->len += n;
    return true;
}

/* A line that cannot be kept whole: longer than max_line, or the buffer
 * could not grow within the memory budget. */
static void line_too_long(imap_session *s, imap_dir dir, dir_state *d)
{
    if (d->refused)
        anomaly(s, dir, IMAP_ANOM_MEMCAP, d->line_start, NULL,
                "line over %zu bytes framed, not parsed (budget %zu bytes)", d->cap, s->cfg.budget->limit);
    else
        anomaly(s, dir, IMAP_ANOM_LINE_TOO_LONG, d->line_start, NULL, "line longer than %zu bytes", s->cfg.max_line);
}

static void report_bare_lf(imap_session *s, imap_dir dir, dir_state *d)
{
    if (d->bare_lf)
        return; /* once per logical line */
    d->bare_lf = true;
    anomaly(s, dir, IMAP_ANOM_BARE_LF, d->line_start, NULL, "line ended by LF alone");
}

/* The values of one line live in a scratch arena reset at each line.
 * Lines of different sessions are never parsed at the same time on one
 * thread, so one arena per thread serves them all (instead of a block held
 * by every open connection); it is freed when the thread ends. */
static pthread_key_t arena_key;
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;

static void arena_destroy(void *p)
{
    imapi_arena_free(p);
    free(p);
}

static void arena_key_init(void)
{
    pthread_key_create(&arena_key, arena_destroy);
}

static imap_arena *thread_arena(size_t cap)
{
    imap_arena *a;

    pthread_once(&arena_once, arena_key_init);
    a = pthread_getspecific(arena_key);
    if (!a) {
        a = malloc(sizeof *a);
        if (!a)
            return NULL;
        imapi_arena_init(a, cap);
        if (pthread_setspecific(arena_key, a) != 0) {
            free(a);
            return NULL;
        }
    }
    a->cap = cap; /* this session's limit */
    return a;
}

/* A complete logical line (final CRLF removed). */
static void process_line(imap_session *s, imap_dir dir, const char *text, size_t len)
{
    s->arena = thread_arena(s->arena_cap);
    if (!s->arena)
        return;
    imapi_arena_reset(s->arena);
    /* anomalies about this line follow its LINE event (emit_line flushes);
     * framing ones (line_too_long, bare_lf, literals) were raised before */
    s->defer_anomalies = true;
    s->line_text = text;
    s->line_len = len;
    s->redact_from = SIZE_MAX;
    if (memchr(text, '\0', len) && dir == IMAP_DIR_SERVER)
        anomaly(s, dir, IMAP_ANOM_NUL_BYTE, s->dirs[dir].line_start, NULL, "NUL in response line");
    if (dir == IMAP_DIR_CLIENT)
        process_client_line(s, text, len);
    else
        process_server_line(s, text, len);
    flush_anomalies(s); /* a line that gave no LINE event */
    s->line_text = NULL;
    s->redact_from = SIZE_MAX;
}

/* The line text ends at lf (exclusive) in the chunk; returns true when the
 * line continues with a literal. */
static void line_end(imap_session *s, imap_dir dir, dir_state *d, const char *seg, size_t seglen)
{
    const char *text;
    size_t tlen;
    bool in_place = d->len == 0 && d->nlits == 0 && !d->overflow;
    if (d->overflow) {
        text = seg;
        tlen = seglen;
    } else if (in_place) {
        text = seg;
        tlen = seglen;
    } else {
        if (!buf_append(s, d, seg, seglen)) {
            line_too_long(s, dir, d);
            d->overflow = true;
            /* the end of buffered text + seg, for the literal marker check */
            size_t from_seg = seglen < sizeof d->tail ? seglen : sizeof d->tail;
            size_t from_buf = sizeof d->tail - from_seg;
            if (from_buf > d->len)
                from_buf = d->len;
            if (from_buf)
                memcpy(d->tail, d->buf + d->len - from_buf, from_buf);
            memcpy(d->tail + from_buf, seg + seglen - from_seg, from_seg);
            text = d->tail;
            tlen = from_buf + from_seg;
        } else {
            text = d->buf;
            tlen = d->len;
        }
    }
    /* bare LF: reported after line_too_long, which a split line may raise
     * before its LF arrives (same event order whatever the split) */
    bool bare = true;
    if (tlen > 0 && text[tlen - 1] == '\r') {
        tlen--;
        bare = false;
    }
    uint64_t size = 0;
    char mode = 0;
    bool binary = false;
    /* Line-start decisions use the head (the same bytes whatever the
     * split, even for a dropped overlong line). */
    bool marker = find_marker(text, tlen, &size, &mode, &binary);
    bool lit_ok = dir == IMAP_DIR_CLIENT || server_allows_literal(d->head, d->head_len);
    if (marker && lit_ok && d->resync && d->nlits == 0) {
        if (dir == IMAP_DIR_CLIENT ? client_line_clear_start(s, d->head, d->head_len)
                                   : server_line_clear_start(s, d->head, d->head_len))
            d->resync = false;
        else
            marker = false;
    }
    if (marker && lit_ok) {
        if (!d->overflow) {
            if (in_place) {
                if (!buf_append(s, d, text, tlen)) {
                    line_too_long(s, dir, d);
                    d->overflow = true;
                }
            } else {
                d->len = tlen;
            }
            if (!d->overflow && (!buf_append(s, d, "\r\n", 2) || d->len > s->cfg.max_line)) {
                line_too_long(s, dir, d);
                d->overflow = true;
            }
            if (d->nlits == 0 && !d->overflow) {
                line_ids(dir, d, d->buf, d->len);
                if (dir == IMAP_DIR_CLIENT)
                    line_ids_redact(s, d);
            }
            if (dir == IMAP_DIR_CLIENT && mode == 0 && !d->overflow)
                emit_line_part(s, d);
        }
        if (bare)
            report_bare_lf(s, dir, d);
        d->mode = DM_LITERAL; /* a dropped line still frames its literals */
        literal_begin(s, dir, d, size, mode, binary);
        if (size == 0)
            literal_end(s, dir, d);
        return;
    }
    if (!d->overflow && tlen > s->cfg.max_line) {
        line_too_long(s, dir, d);
        d->overflow = true;
    }
    if (bare)
        report_bare_lf(s, dir, d);
    if (!d->overflow)
        process_line(s, dir, text, tlen);
    line_reset(s, d);
}

long imap_session_feed(imap_session *s, imap_dir dir, const uint8_t *data, size_t len, uint64_t ts_us)
{
    if (!s || (dir != IMAP_DIR_CLIENT && dir != IMAP_DIR_SERVER))
        return -1;
    dir_state *d = &s->dirs[dir];
    s->now = ts_us;
    s->stopped = false;
    s->server_switch_now = false;
    if (len == 0)
        return 0;
    d->data_seen = true;
    if (d->post_switch) {
        d->post_switch = false;
        /* raw TLS records fed after a TLS switch: the caller cannot decrypt */
        if (d->switched_to == IMAP_LAYER_TLS && data[0] >= 0x14 && data[0] <= 0x17)
            d->mode = DM_OPAQUE;
    }
    const uint8_t *p = data, *end = data + len;
    while (p < end) {
        if (s->stopped)
            return -1;
        switch (d->mode) {
        case DM_OPAQUE:
            d->ignored_bytes += (size_t)(end - p);
            d->offset += (size_t)(end - p);
            p = end;
            break;
        case DM_LITERAL: {
            size_t n = (size_t)(end - p);
            if (n > d->lit_remaining)
                n = (size_t)d->lit_remaining;
            literal_data(s, dir, d, p, n);
            p += n;
            d->offset += n;
            d->line_bytes += n;
            d->lit_remaining -= n;
            if (d->lit_remaining == 0)
                literal_end(s, dir, d);
            break;
        }
        case DM_DISCARD: {
            const uint8_t *lf = memchr(p, '\n', (size_t)(end - p));
            size_t n = lf ? (size_t)(lf + 1 - p) : (size_t)(end - p);
            head_feed(d, p, lf ? n - 1 : n);
            /* keep the tail: a dropped line may still announce a literal */
            size_t keep = n < sizeof d->tail ? n : sizeof d->tail;
            if (d->tail_len + keep > sizeof d->tail) {
                size_t drop = d->tail_len + keep - sizeof d->tail;
                memmove(d->tail, d->tail + drop, d->tail_len - drop);
                d->tail_len -= drop;
            }
            memcpy(d->tail + d->tail_len, p + n - keep, keep);
            d->tail_len += keep;
            p += n;
            d->offset += n;
            d->line_bytes += n;
            if (lf) {
                size_t tl = d->tail_len - 1; /* without LF */
                d->tail_len = 0;
                d->mode = DM_LINE;
                line_end(s, dir, d, d->tail, tl);
            }
            break;
        }
        case DM_LINE: {
            if (dir == IMAP_DIR_CLIENT && s->starttls_outstanding > 0 && d->len == 0 && d->nlits == 0 &&
                d->line_bytes == 0 && *p == 0x16 && d->switched_to != IMAP_LAYER_TLS) {
                /* SPECS.md 6.6: a ClientHello before the STARTTLS OK */
                anomaly(s, dir, IMAP_ANOM_TLS_BEFORE_STARTTLS_OK, d->offset, NULL,
                        "TLS record before the STARTTLS response");
                d->tls = true;
                d->post_switch = true;
                emit_switch(s, dir, IMAP_LAYER_TLS, d->offset);
                d->tls_check = TLS_CHECK_NONE;
                return s->stopped ? -1 : (long)(p - data);
            }
            const uint8_t *lf = memchr(p, '\n', (size_t)(end - p));
            if (!lf) {
                size_t n = (size_t)(end - p);
                if (!d->overflow && !buf_append(s, d, (const char *)p, n)) {
                    line_too_long(s, dir, d);
                    d->overflow = true;
                    d->mode = DM_DISCARD;
                    /* the tail starts with the end of what was buffered */
                    d->tail_len = d->len < sizeof d->tail ? d->len : sizeof d->tail;
                    if (d->tail_len)
                        memcpy(d->tail, d->buf + d->len - d->tail_len, d->tail_len);
                    continue; /* the DISCARD state takes these bytes */
                }
                head_feed(d, p, n);
                d->offset += n;
                d->line_bytes += n;
                p = end;
                break;
            }
            size_t n = (size_t)(lf + 1 - p);
            const char *seg = (const char *)p;
            head_feed(d, seg, n - 1);
            d->offset += n;
            d->line_bytes += n;
            p = lf + 1;
            line_end(s, dir, d, seg, n - 1);
            if (s->server_switch_now && dir == IMAP_DIR_SERVER) {
                s->server_switch_now = false;
                /* the bytes after the switch are the caller's to show to
                 * imap_session_check_tls_start: only it sees them whole,
                 * however the stream was split into pieces */
                d->post_switch = d->switched_to == IMAP_LAYER_TLS;
                return s->stopped ? -1 : (long)(p - data);
            }
            break;
        }
        }
    }
    return s->stopped ? -1 : (long)len;
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
    anomaly(s, dir, dir == IMAP_DIR_SERVER ? IMAP_ANOM_STARTTLS_RESPONSE_INJECTION : IMAP_ANOM_STARTTLS_CLIENT_CLEARTEXT,
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
    session_set_state(s, IMAP_STATE_UNKNOWN);
    recompute_projected(s);
    s->dirs[IMAP_DIR_CLIENT].resync = true;
    s->dirs[IMAP_DIR_SERVER].resync = true;
}

void imap_session_gap(imap_session *s, imap_dir dir, uint64_t len, uint64_t ts_us)
{
    if (!s || (dir != IMAP_DIR_CLIENT && dir != IMAP_DIR_SERVER) || len == 0)
        return;
    dir_state *d = &s->dirs[dir];
    s->now = ts_us;
    if (d->mode == DM_OPAQUE) {
        d->offset += len;
        return;
    }
    if (d->mode == DM_LITERAL) {
        /* inside a literal: it only gets shorter */
        uint64_t n = len < d->lit_remaining ? len : d->lit_remaining;
        d->lit_remaining -= n;
        d->offset += n;
        len -= n;
        if (d->lit_remaining == 0)
            literal_end(s, dir, d);
        if (len == 0)
            return;
    }
    anomaly(s, dir, IMAP_ANOM_DATA_AFTER_GAP, d->offset, NULL, "%llu bytes lost: resynchronising",
            (unsigned long long)len);
    d->offset += len;
    d->mode = DM_LINE;
    d->tail_len = 0;
    line_reset(s, d);
    d->resync = true;
}

void imap_session_set_layer(imap_session *s, imap_dir dir, imap_layer layer, bool visible)
{
    if (!s || (dir != IMAP_DIR_CLIENT && dir != IMAP_DIR_SERVER))
        return;
    dir_state *d = &s->dirs[dir];
    if (layer == IMAP_LAYER_TLS)
        d->tls = true;
    else if (layer == IMAP_LAYER_DEFLATE)
        d->compressed = true;
    d->post_switch = false;
    if (visible) {
        if (d->mode == DM_OPAQUE || d->mode == DM_DISCARD) {
            d->mode = DM_LINE;
            line_reset(s, d);
        }
    } else {
        d->mode = DM_OPAQUE;
    }
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

/* ------------------------------------------------------------ lifetime */

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
    session_set_state(s, IMAP_STATE_NOT_AUTHENTICATED);
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
            anomaly(s, (imap_dir)i, IMAP_ANOM_LITERAL_INCOMPLETE, d->line_start, d->line_tag[0] ? d->line_tag : NULL,
                    "%llu literal bytes missing at the end", (unsigned long long)d->lit_remaining);
            literal_end(s, (imap_dir)i, d);
        }
    }
    if (s->cred_while_starttls && s->starttls_outstanding > 0 && !s->stripped_reported) {
        s->stripped_reported = true;
        anomaly(s, IMAP_DIR_CLIENT, IMAP_ANOM_STARTTLS_STRIPPED, s->cred_while_starttls_off,
                s->cred_while_starttls_tag[0] ? s->cred_while_starttls_tag : NULL,
                "%s after STARTTLS, which went unanswered", s->cred_while_starttls_what);
    }
    while (s->npend > 0) {
        pending *p = &s->pend[0];
        imapi_object_set_new_nocheck(p->obj, "reason", imapi_string(reason ? reason : "end"));
        txn_emit(s, p, NULL, s->dirs[IMAP_DIR_SERVER].offset);
        pending_remove(s, 0);
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

imap_node *imap_session_summary(const imap_session *s)
{
    imap_node *o = imapi_object();
    if (!s)
        return o;
    imapi_object_set_nocheck(o, "user", s->user_name ? s->user_name : imapi_null());
    imapi_object_set_nocheck(o, "auth_attempts", s->auth_attempts);
    imapi_object_set_new_nocheck(o, "login_success", imapi_boolean(s->login_success));
    if (s->preauth)
        imapi_object_set_new_nocheck(o, "preauth", imapi_true());
    if (s->bye)
        imapi_object_set_nocheck(o, "bye", s->bye);
    imapi_object_set_new_nocheck(o, "capabilities", caps_annotated(s->caps));
    if (s->caps_before_tls)
        imapi_object_set_new_nocheck(o, "capabilities_before_tls", caps_annotated(s->caps_before_tls));
    imapi_object_set_nocheck(o, "enabled", s->enabled);
    imapi_object_set_nocheck(o, "mailboxes", s->mailboxes);
    imapi_object_set_new_nocheck(o, "commands", count_array(s->commands));
    imapi_object_set_new_nocheck(o, "transactions", imapi_integer((int64_t)s->transactions));
    imapi_object_set_new_nocheck(o, "unsolicited", count_array(s->unsolicited));
    imapi_object_set_new_nocheck(o, "state", imapi_string(state_names[s->state]));
    imapi_object_set_new_nocheck(o, "midstream", imapi_boolean(s->midstream));
    imapi_object_set_nocheck(o, "greeting", s->greeting ? s->greeting : imapi_null());
    imap_node *st = imapi_object();
    imapi_object_set_new_nocheck(st, "requested", imapi_boolean(s->starttls_requested));
    imapi_object_set_new_nocheck(st, "result", s->starttls_result ? imapi_string(s->starttls_result) : imapi_null());
    imapi_object_set_new_nocheck(o, "starttls", st);
    imap_node *cz = imapi_object();
    imapi_object_set_new_nocheck(cz, "requested", imapi_boolean(s->compress_requested));
    imapi_object_set_new_nocheck(cz, "result", s->compress_result ? imapi_string(s->compress_result) : imapi_null());
    imapi_object_set_new_nocheck(o, "compress", cz);
    imap_node *layer = imapi_object();
    imapi_object_set_new_nocheck(layer, "tls", imapi_boolean(tls_active(s)));
    imapi_object_set_new_nocheck(layer, "compressed", imapi_boolean(compressed_active(s)));
    imapi_object_set_new_nocheck(o, "layer", layer);
    imap_node *idle = imapi_object();
    imapi_object_set_new_nocheck(idle, "count", imapi_integer((int64_t)s->idle_count));
    imapi_object_set_new_nocheck(idle, "total_ms", imapi_integer((int64_t)s->idle_total_ms));
    imapi_object_set_new_nocheck(o, "idle", idle);
    imap_node *an = imapi_object();
    for (int i = 0; i < IMAP_ANOM__COUNT; i++)
        if (s->anomaly_counts[i])
            imapi_object_set_new(an, imap_anomaly_name((imap_anomaly)i), imapi_integer((int64_t)s->anomaly_counts[i]));
    imapi_object_set_new_nocheck(o, "anomalies", an);
    imap_node *id = imapi_object();
    imapi_object_set_nocheck(id, "client", s->id_client ? s->id_client : imapi_null());
    imapi_object_set_nocheck(id, "server", s->id_server ? s->id_server : imapi_null());
    imapi_object_set_new_nocheck(o, "id", id);
    imap_node *lit = imapi_object();
    imapi_object_set_new_nocheck(lit, "client_count", imapi_integer((int64_t)s->literal_count[0]));
    imapi_object_set_new_nocheck(lit, "client_bytes", imapi_integer((int64_t)s->literal_bytes[0]));
    imapi_object_set_new_nocheck(lit, "server_count", imapi_integer((int64_t)s->literal_count[1]));
    imapi_object_set_new_nocheck(lit, "server_bytes", imapi_integer((int64_t)s->literal_bytes[1]));
    imapi_object_set_new_nocheck(o, "literals", lit);
    imapi_object_set_new_nocheck(o, "pending", imapi_integer((int64_t)s->npend));
    return o;
}

void imap_session_free(imap_session *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->pend && i < s->npend; i++)
        pending_clear(s, &s->pend[i]);
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
    budget_release(s, s->charged);
    free(s);
}
