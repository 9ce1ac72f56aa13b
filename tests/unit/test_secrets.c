/*
 * test_secrets.c - no password or SASL secret reaches any event
 * (trace lines, transactions, anomaly details, the session summary and its
 * command counts) unless show_credentials: LOGIN in every malformed shape,
 * AUTHENTICATE responses (also not base64), the pipelined data quoted by
 * starttls_command_injection / starttls_client_cleartext, and the
 * redaction module itself (imap_redact.h).  Each conversation is fed
 * whole, byte by byte and in random pieces; every serialized event of
 * every run is searched for the secret.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "imap.h"
#include "node_json.h"

/* The dissector's trees as jansson trees, so the assertions read them as
 * before (tests only; the program renders the trees directly). */
static json_t *summary_json(const imap_session *s)
{
    imap_node *n = imap_session_summary(s);
    json_t *j = node_to_json(n);
    imap_node_release(n);
    return j;
}
#include "imap_redact.h"

#define SECRET "s3cretQ"
/* base64 of "\0alice\0s3cretQ" (RFC 4616 PLAIN) */
#define PLAIN_B64 "AGFsaWNlAHMzY3JldFE="

typedef struct seg {
    imap_dir    dir;
    const char *bytes;
    size_t      len; /* 0: strlen */
} seg;

#define C(s) { IMAP_DIR_CLIENT, (s), 0 }
#define S(s) { IMAP_DIR_SERVER, (s), 0 }
#define END  { IMAP_DIR_CLIENT, NULL, 0 }

typedef struct rec {
    json_t *events;
    bool    check_pending[2]; /* a switch: show the next bytes to check_tls_start */
} rec;

static int on_event(void *user, const imap_event *ev)
{
    rec *r = user;
    json_t *o = json_object();
    json_object_set_new(o, "type", json_integer(ev->type));
    json_object_set_new(o, "dir", json_integer(ev->dir));
    if (ev->type == IMAP_EV_ANOMALY)
        json_object_set_new(o, "name", json_string(ev->name));
    if (ev->type == IMAP_EV_SWITCH)
        r->check_pending[ev->dir] = true;
    if (ev->data)
        json_object_set_new(o, "data", node_to_json(ev->data));
    json_array_append_new(r->events, o);
    return 0;
}

static const imap_callbacks callbacks = { on_event, NULL, NULL, NULL, NULL };

static uint32_t rng_next(uint32_t *st)
{
    uint32_t x = *st ? *st : 2463534242u;
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    return *st = x;
}

typedef struct opts {
    bool     show;          /* show_credentials */
    bool     hash;          /* hash_literals */
    uint64_t max_literal;   /* 0: default */
    size_t   literal_keep;  /* 0: default */
} opts;

/* Runs conv split by mode (0 whole, 1 bytes, 2 random); returns the
 * events, the summary appended as the last element. */
static json_t *run(const seg *conv, const opts *o, int mode, uint32_t seed)
{
    rec r = { json_array(), { false, false } };
    imap_config cfg;
    imap_config_default(&cfg);
    cfg.emit_lines = true;
    cfg.show_credentials = o && o->show;
    cfg.hash_literals = o && o->hash;
    if (o && o->max_literal)
        cfg.max_literal = o->max_literal;
    if (o && o->literal_keep)
        cfg.literal_keep = o->literal_keep;
    imap_session *s = imap_session_new(&cfg, &callbacks, &r);
    assert_non_null(s);
    uint32_t rng = seed;
    uint64_t ts = 1000000;
    for (const seg *g = conv; g->bytes; g++) {
        ts += 1000;
        size_t len = g->len ? g->len : strlen(g->bytes), off = 0;
        const uint8_t *b = (const uint8_t *)g->bytes;
        while (off < len) {
            if (r.check_pending[g->dir]) {
                r.check_pending[g->dir] = false;
                imap_session_check_tls_start(s, g->dir, b + off, len - off);
            }
            size_t piece = len - off;
            if (mode == 1)
                piece = 1;
            else if (mode == 2)
                piece = 1 + rng_next(&rng) % (piece < 17 ? piece : 17);
            long n = imap_session_feed(s, g->dir, b + off, piece, ts);
            assert_true(n >= 0);
            off += (size_t)n;
        }
    }
    imap_session_end(s, "test end", ts + 1000);
    json_array_append_new(r.events, summary_json(s));
    imap_session_free(s);
    return r.events;
}

/* Every run of conv (whole, bytes, 30 random splits): none of the
 * secrets appears in any event; returns the whole run's events. */
static json_t *run_checked(const seg *conv, const opts *o, const char *const *secrets)
{
    json_t *whole = NULL;
    for (int i = 0; i < 32; i++) {
        json_t *ev = run(conv, o, i == 0 ? 0 : i == 1 ? 1 : 2, (uint32_t)i * 7919u + 1);
        char *dump = json_dumps(ev, JSON_COMPACT | JSON_ENSURE_ASCII);
        assert_non_null(dump);
        for (const char *const *sec = secrets; *sec; sec++)
            if (strstr(dump, *sec)) {
                fprintf(stderr, "secret \"%s\" in split %d: %s\n", *sec, i, dump);
                fail();
            }
        free(dump);
        if (i == 0)
            whole = ev;
        else
            json_decref(ev);
    }
    return whole;
}

static const char *const secret_plain[] = { SECRET, NULL };
static const char *const secret_b64[] = { SECRET, PLAIN_B64, "AGFsaWNlAHMzY3Jl", NULL };

/* The text of the n-th client LINE event. */
static const char *client_line(const json_t *evs, int nth)
{
    size_t i;
    json_t *e;
    json_array_foreach(evs, i, e) {
        if (json_integer_value(json_object_get(e, "type")) != IMAP_EV_LINE ||
            json_integer_value(json_object_get(e, "dir")) != IMAP_DIR_CLIENT)
            continue;
        if (nth-- == 0)
            return json_string_value(json_object_get(json_object_get(e, "data"), "text"));
    }
    fail_msg("no client line %d", nth);
    return NULL;
}

static const json_t *anomaly_data(const json_t *evs, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(evs, i, e)
        if (json_integer_value(json_object_get(e, "type")) == IMAP_EV_ANOMALY &&
            strcmp(json_string_value(json_object_get(e, "name")), name) == 0)
            return json_object_get(e, "data");
    return NULL;
}

static const json_t *first_txn(const json_t *evs)
{
    size_t i;
    json_t *e;
    json_array_foreach(evs, i, e)
        if (json_integer_value(json_object_get(e, "type")) == IMAP_EV_TRANSACTION)
            return json_object_get(e, "data");
    fail_msg("no transaction");
    return NULL;
}

static const json_t *summary(const json_t *evs)
{
    return json_array_get(evs, json_array_size(evs) - 1);
}

#define GREET S("* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN AUTH=LOGIN] ready\r\n")
#define GREET_TLS S("* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] ready\r\n")

/* ------------------------------------------------------------ LOGIN shapes */

/* The golden leak: user a literal, password quoted (the trace showed
 * C <redacted> "secret"): the user is shown, the password is not. */
static void test_login_literal_user_quoted_password(void **state)
{
    (void)state;
    const seg conv[] = { GREET, C("a1 LOGIN {5}\r\n"), S("+ OK\r\n"), C("alice \"" SECRET "\"\r\n"),
                         S("a1 OK done\r\n"), END };
    json_t *ev = run_checked(conv, NULL, secret_plain);
    assert_string_equal(client_line(ev, 0), "a1 LOGIN {5}");
    assert_string_equal(client_line(ev, 1), "alice <redacted>");
    assert_string_equal(json_string_value(json_object_get(first_txn(ev), "user")), "alice");
    assert_string_equal(json_string_value(json_object_get(first_txn(ev), "password")), "<redacted>");
    json_decref(ev);
    /* and the test can fail: shown with show_credentials */
    opts o = { .show = true };
    ev = run(conv, &o, 0, 1);
    char *d = json_dumps(ev, JSON_COMPACT);
    assert_non_null(strstr(d, SECRET));
    free(d);
    json_decref(ev);
}

static void test_login_literal_password(void **state)
{
    (void)state;
    const seg conv[] = { GREET, C("a1 LOGIN \"alice\" {7}\r\n"), S("+ OK\r\n"), C(SECRET "\r\n"),
                         S("a1 OK done\r\n"), END };
    json_t *ev = run_checked(conv, NULL, secret_plain);
    assert_string_equal(client_line(ev, 0), "a1 LOGIN \"alice\" <redacted>");
    assert_string_equal(client_line(ev, 1), "<redacted>");
    json_decref(ev);
    /* non-synchronizing: one line, the literal is the password */
    const seg conv2[] = { GREET, C("a1 LOGIN alice {7+}\r\n" SECRET "\r\n"), S("a1 OK done\r\n"), END };
    ev = run_checked(conv2, NULL, secret_plain);
    assert_string_equal(client_line(ev, 0), "a1 LOGIN alice <redacted>");
    json_decref(ev);
}

static void test_login_double_space(void **state)
{
    (void)state;
    const seg conv[] = { GREET, C("a1 LOGIN  alice " SECRET "\r\n"), S("a1 BAD syntax\r\n"), END };
    json_t *ev = run_checked(conv, NULL, secret_plain);
    assert_string_equal(client_line(ev, 0), "a1 LOGIN <redacted>");
    const json_t *t = first_txn(ev);
    assert_string_equal(json_string_value(json_object_get(t, "command")), "LOGIN");
    assert_string_equal(json_string_value(json_object_get(t, "password")), "<redacted>");
    assert_true(json_is_true(json_object_get(t, "arguments_redacted")));
    assert_null(json_object_get(t, "user"));
    assert_non_null(anomaly_data(ev, "malformed_command"));
    json_decref(ev);
}

/* The count of name in the summary's commands, [{name, count}]; -1 when
 * absent. */
static json_int_t cmd_count(const json_t *cmds, const char *name)
{
    for (size_t i = 0; i < json_array_size(cmds); i++) {
        const json_t *e = json_array_get(cmds, i);
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n != NULL && strcmp(n, name) == 0)
            return json_integer_value(json_object_get(e, "count"));
    }
    return -1;
}

static void test_login_tabs(void **state)
{
    (void)state;
    /* TAB between every word: the "command" word would be LOGIN\tALICE\t... */
    const seg conv[] = { GREET, C("a1 LOGIN\talice\t" SECRET "\r\n"), S("a1 BAD syntax\r\n"),
                         C("a2 LOGIN alice\t" SECRET "\r\n"), S("a2 BAD syntax\r\n"),
                         C("a3\tLOGIN\talice\t" SECRET "\r\n"), S("a3 BAD syntax\r\n"), END };
    json_t *ev = run_checked(conv, NULL, secret_plain);
    assert_string_equal(client_line(ev, 0), "a1 LOGIN\\x09<redacted>");
    assert_string_equal(client_line(ev, 1), "a2 LOGIN <redacted>");
    assert_string_equal(client_line(ev, 2), "a3\\x09LOGIN\\x09<redacted>");
    const json_t *cmds = json_object_get(summary(ev), "commands");
    assert_int_equal(cmd_count(cmds, "LOGIN"), 1);
    assert_int_equal(json_array_size(cmds), 1);
    json_decref(ev);
}

static void test_login_zero_literal(void **state)
{
    (void)state;
    /* {0}: an empty user, the password after it */
    const seg conv[] = { GREET, C("a1 LOGIN {0}\r\n"), S("+ OK\r\n"), C(" " SECRET "\r\n"),
                         S("a1 NO bad\r\n"), END };
    json_t *ev = run_checked(conv, NULL, secret_plain);
    assert_string_equal(client_line(ev, 1), "<0 bytes> <redacted>");
    json_decref(ev);
    /* {0} password, then the real password sent as a bare line */
    const seg conv2[] = { GREET, C("a1 LOGIN alice {0}\r\n"), S("+ OK\r\n"), C("\r\n"),
                          S("a1 NO bad\r\n"), C(SECRET "\r\n"), S("* BAD what\r\n"),
                          C(SECRET " " SECRET "\r\n"), C("a2 LOGOUT\r\n"), S("a2 OK bye\r\n"), END };
    ev = run_checked(conv2, NULL, secret_plain);
    assert_string_equal(client_line(ev, 0), "a1 LOGIN alice <redacted>");
    assert_string_equal(client_line(ev, 2), "<redacted>");
    assert_string_equal(client_line(ev, 3), "<redacted>");
    assert_string_equal(client_line(ev, 4), "a2 LOGOUT");
    const json_t *cmds = json_object_get(summary(ev), "commands");
    assert_int_equal(json_array_size(cmds), 2); /* LOGIN, LOGOUT */
    json_decref(ev);
}

static void test_login_oversized_literal(void **state)
{
    (void)state;
    /* over max_literal and over literal_keep, the data sent anyway */
    const seg conv[] = { GREET, C("a1 LOGIN alice {7}\r\n"), S("a1 BAD too big\r\n"), C(SECRET "\r\n"),
                         C("a2 LOGOUT\r\n"), S("a2 OK bye\r\n"), END };
    opts o = { .max_literal = 4, .literal_keep = 2 };
    json_t *ev = run_checked(conv, &o, secret_plain);
    assert_non_null(anomaly_data(ev, "literal_too_large"));
    assert_string_equal(client_line(ev, 0), "a1 LOGIN alice <redacted>");
    json_decref(ev);
    /* announced larger than what comes: later lines are literal data */
    const seg conv2[] = { GREET, C("a1 LOGIN alice {40}\r\n"), S("+ OK\r\n"), C(SECRET "\r\na2 NOOP\r\n"), END };
    ev = run_checked(conv2, &o, secret_plain);
    json_decref(ev);
    /* literals on lines whose first words may be the secret: the
     * literal_too_large alert and the trace name no tag from them */
    const seg conv3[] = { GREET, C("a1 LOGIN alice {0}\r\n"), S("+ OK\r\n"), C("\r\n"), S("a1 NO bad\r\n"),
                          C(SECRET " {9}\r\n"), S("+ OK\r\n"), C("123456789\r\n"), S("* BAD what\r\n"),
                          C("LOGIN\t" SECRET " {9}\r\n"), S("+ OK\r\n"), C("123456789\r\n"),
                          S("* BAD what\r\n"), END };
    ev = run_checked(conv3, &o, secret_plain);
    assert_string_equal(client_line(ev, 2), "<redacted>");
    assert_string_equal(client_line(ev, 4), "LOGIN\\x09<redacted>");
    json_decref(ev);
}

static void test_login_arguments_missing_extra(void **state)
{
    (void)state;
    const char *const secrets[] = { SECRET, "m0reWord", NULL };
    const seg conv[] = { GREET, C("a1 LOGIN alice " SECRET " m0reWord\r\n"), S("a1 BAD extra\r\n"),
                         C("LOGIN alice " SECRET "\r\n"), C("a3 LOGIN alice\r\n"), S("a3 BAD no password\r\n"),
                         C("a4 LOGIN \"alice " SECRET "\r\n"), S("a4 BAD quote\r\n"), END };
    json_t *ev = run_checked(conv, NULL, secrets);
    assert_string_equal(client_line(ev, 0), "a1 LOGIN alice <redacted>");
    const json_t *extra = json_object_get(first_txn(ev), "extra_args");
    assert_int_equal(json_array_size(extra), 1);
    assert_string_equal(json_string_value(json_array_get(extra, 0)), "<redacted>");
    assert_string_equal(client_line(ev, 1), "LOGIN <redacted>");
    assert_string_equal(client_line(ev, 2), "a3 LOGIN alice");
    assert_string_equal(client_line(ev, 3), "a4 LOGIN <redacted>");
    json_decref(ev);
}

/* A literal of a LOGIN line has no hash (a hash of a password can be
 * cracked offline); an APPEND literal keeps its hash. */
static void test_login_literal_not_hashed(void **state)
{
    (void)state;
    const seg conv[] = { GREET, C("a1 LOGIN alice {7+}\r\n" SECRET "\r\n"), S("a1 OK done\r\n"),
                         C("a2 APPEND INBOX {3+}\r\nabc\r\n"), S("a2 OK done\r\n"), END };
    opts o = { .hash = true };
    json_t *ev = run_checked(conv, &o, secret_plain);
    size_t i, hashed = 0, lits = 0;
    json_t *e;
    json_array_foreach(ev, i, e) {
        const json_t *l = json_object_get(json_object_get(e, "data"), "literals");
        if (json_integer_value(json_object_get(e, "type")) != IMAP_EV_TRANSACTION || !l)
            continue;
        lits += json_array_size(l);
        if (json_object_get(json_array_get(l, 0), "sha256"))
            hashed++;
    }
    assert_int_equal(lits, 2);
    assert_int_equal(hashed, 1);
    json_decref(ev);
}

/* --------------------------------------------------------- AUTHENTICATE */

static void test_authenticate_plain(void **state)
{
    (void)state;
    const seg conv[] = { GREET, C("a1 AUTHENTICATE PLAIN\r\n"), S("+ \r\n"), C(PLAIN_B64 "\r\n"),
                         S("a1 OK done\r\n"), C("a2 AUTHENTICATE PLAIN " PLAIN_B64 "\r\n"), S("a2 OK done\r\n"),
                         C("a3 AUTHENTICATE  PLAIN " PLAIN_B64 "\r\n"), S("a3 BAD syntax\r\n"), END };
    json_t *ev = run_checked(conv, NULL, secret_b64);
    assert_string_equal(client_line(ev, 1), "<redacted>");
    assert_string_equal(client_line(ev, 2), "a2 AUTHENTICATE PLAIN <redacted>");
    assert_string_equal(client_line(ev, 3), "a3 AUTHENTICATE <redacted>");
    json_decref(ev);
}

static void test_authenticate_bad_base64(void **state)
{
    (void)state;
    /* a response that is not base64 is no command: all of it redacted */
    const char *const secrets[] = { SECRET, PLAIN_B64, NULL };
    const seg conv[] = { GREET, C("a1 AUTHENTICATE PLAIN\r\n"), S("+ \r\n"), C(PLAIN_B64 "!! " SECRET "\r\n"),
                         S("a1 BAD bad base64\r\n"), END };
    json_t *ev = run_checked(conv, NULL, secrets);
    assert_string_equal(client_line(ev, 1), "<redacted>");
    json_decref(ev);
}

static void test_authenticate_login_mech(void **state)
{
    (void)state;
    /* RFC draft-murchison-sasl-login: user, then password, one line each */
    const char *const secrets[] = { SECRET, "czNjcmV0UQ==", NULL };
    const seg conv[] = { GREET, C("a1 AUTHENTICATE LOGIN\r\n"), S("+ VXNlcm5hbWU6\r\n"), C("YWxpY2U=\r\n"),
                         S("+ UGFzc3dvcmQ6\r\n"), C("czNjcmV0UQ==\r\n"), S("a1 OK done\r\n"), END };
    json_t *ev = run_checked(conv, NULL, secrets);
    assert_string_equal(client_line(ev, 2), "<redacted>");
    json_decref(ev);
}

static void test_plain_one_nul(void **state)
{
    (void)state;
    /* base64 of "alice\0s3cretQ": which field is the password cannot be told */
    const char *const secrets[] = { SECRET, NULL };
    const seg conv[] = { GREET, C("a1 AUTHENTICATE PLAIN YWxpY2UAczNjcmV0UQ==\r\n"), S("a1 NO bad\r\n"),
                         C("a2 AUTHENTICATE PLAIN AHMzY3JldFE=\r\n"), S("a2 NO bad\r\n"), END };
    json_t *ev = run_checked(conv, NULL, secrets);
    json_decref(ev);
}

/* ------------------------------------------------------- alert details */

static void test_injection_detail_redacted(void **state)
{
    (void)state;
    const seg conv[] = { GREET_TLS, C("a1 STARTTLS\r\na2 LOGIN joe " SECRET "\r\n"), S("a1 OK Begin TLS\r\n"), END };
    json_t *ev = run_checked(conv, NULL, secret_plain);
    const json_t *a = anomaly_data(ev, "starttls_command_injection");
    assert_non_null(a);
    assert_string_equal(json_string_value(json_object_get(a, "detail")), "a2 LOGIN joe <redacted>");
    json_decref(ev);

    const seg conv2[] = { GREET_TLS, C("a1 STARTTLS\r\na2 AUTHENTICATE PLAIN " PLAIN_B64 "\r\n"),
                          S("a1 OK Begin TLS\r\n"), END };
    ev = run_checked(conv2, NULL, secret_b64);
    a = anomaly_data(ev, "starttls_command_injection");
    assert_string_equal(json_string_value(json_object_get(a, "detail")), "a2 AUTHENTICATE PLAIN <redacted>");
    json_decref(ev);

    /* a partial line when the OK comes */
    const seg conv3[] = { GREET_TLS, C("a1 STARTTLS\r\na2 LOGIN joe " SECRET), S("a1 OK Begin TLS\r\n"), END };
    ev = run_checked(conv3, NULL, secret_plain);
    a = anomaly_data(ev, "starttls_command_injection");
    assert_string_equal(json_string_value(json_object_get(a, "detail")),
                        "partial line after STARTTLS: a2 LOGIN joe <redacted>");
    json_decref(ev);
}

static void test_client_cleartext_detail_redacted(void **state)
{
    (void)state;
    const seg conv[] = { GREET_TLS, C("a1 STARTTLS\r\n"), S("a1 OK go\r\n"),
                         C("a2 LOGIN {3}\r\njoe " SECRET "\r\na3 AUTHENTICATE PLAIN\r\n" PLAIN_B64 "\r\na4 NOOP\r\n"),
                         END };
    json_t *ev = run_checked(conv, NULL, secret_b64);
    const json_t *a = anomaly_data(ev, "starttls_client_cleartext");
    assert_non_null(a);
    /* only the whole run shows the rest of the segment at once */
    assert_string_equal(json_string_value(json_object_get(a, "detail")),
                        "a2 LOGIN {3}\\x0d\\x0ajoe <redacted>\\x0d\\x0aa3 AUTHENTICATE PLAIN\\x0d\\x0a"
                        "<redacted>\\x0d\\x0aa4 NOOP\\x0d\\x0a");
    json_decref(ev);
}

/* ------------------------------------------------------- command counts */

static void test_unknown_command_keys_bounded(void **state)
{
    (void)state;
    static char buf[4096];
    size_t o = 0;
    for (int i = 0; i < 40; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "t%d FOO%d\r\n", i, i);
    const seg conv[] = { GREET, C(buf), END };
    json_t *ev = run(conv, NULL, 0, 1);
    const json_t *cmds = json_object_get(summary(ev), "commands");
    assert_int_equal(json_array_size(cmds), 17);
    assert_int_equal(cmd_count(cmds, "<other>"), 24);
    assert_int_equal(cmd_count(cmds, "FOO0"), 1);
    json_decref(ev);
}

/* ------------------------------------------------- the module on its own */

static void scan_is(const char *line, imap_redact_kind kind, const char *shown)
{
    size_t so;
    bool clean;
    assert_int_equal(imapi_redact_scan(line, strlen(line), false, &so, &clean), kind);
    assert_true(so <= strlen(line));
    assert_int_equal(so, strlen(shown));
    assert_memory_equal(line, shown, so);
}

static void test_redact_scan(void **state)
{
    (void)state;
    scan_is("a1 LOGIN alice secret", IMAP_REDACT_LOGIN, "a1 LOGIN alice ");
    scan_is("a1 login \"al ice\" \"se cret\"", IMAP_REDACT_LOGIN, "a1 login \"al ice\" ");
    scan_is("a1 LOGIN {5}\r\n secret", IMAP_REDACT_LOGIN, "a1 LOGIN {5}\r\n ");
    scan_is("a1 LOGIN {5}", IMAP_REDACT_LOGIN, "a1 LOGIN {5}");
    scan_is("a1 LOGIN alice", IMAP_REDACT_LOGIN, "a1 LOGIN alice");
    scan_is("a1 LOGIN  alice secret", IMAP_REDACT_LOGIN, "a1 LOGIN ");
    scan_is("a1 LOGIN \"alice secret", IMAP_REDACT_LOGIN, "a1 LOGIN ");
    scan_is("LOGIN alice secret", IMAP_REDACT_LOGIN, "LOGIN ");
    scan_is("a1 LOGIN{5}", IMAP_REDACT_LOGIN, "a1 LOGIN");
    scan_is("a1 AUTHENTICATE PLAIN AGFsaWNl", IMAP_REDACT_AUTHENTICATE, "a1 AUTHENTICATE PLAIN ");
    scan_is("a1 AUTHENTICATE PLAIN", IMAP_REDACT_AUTHENTICATE, "a1 AUTHENTICATE PLAIN");
    scan_is("a1 SELECT LOGIN", IMAP_REDACT_NONE, "a1 SELECT LOGIN");
    scan_is("a1 LOGINX alice secret", IMAP_REDACT_NONE, "a1 LOGINX alice secret");
}

static void raw_is(const char *in, const char *want)
{
    char out[512];
    size_t n = imapi_redact_raw(out, sizeof out, (const uint8_t *)in, strlen(in));
    out[n] = '\0';
    assert_string_equal(out, want);
}

static void test_redact_raw(void **state)
{
    (void)state;
    raw_is("a2 LOGIN alice secret\r\na3 SELECT INBOX\r\n", "a2 LOGIN alice <redacted>\r\na3 SELECT INBOX\r\n");
    raw_is("a2 LOGIN alice {6}\r\nsecret\r\na3 NOOP\r\n", "a2 LOGIN alice <redacted>\r\na3 NOOP\r\n");
    raw_is("a2 LOGIN {5}\r\nalice secret\r\n", "a2 LOGIN {5}\r\nalice <redacted>\r\n");
    raw_is("a2 LOGIN {5}\r\nal", "a2 LOGIN {5}\r\nal");
    raw_is("a2 AUTHENTICATE PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\n*\r\n",
           "a2 AUTHENTICATE PLAIN\r\n<redacted>\r\n<redacted>\r\n");
    raw_is("a2 LOGIN alice {0}\r\n\r\nsecret\r\na3 NOOP\r\n",
           "a2 LOGIN alice <redacted>\r\n<redacted>\r\na3 NOOP\r\n");
    raw_is("a2 APPEND INBOX {6}\r\nLOGIN \r\n", "a2 APPEND INBOX {6}\r\nLOGIN \r\n");
    /* cut at cap: never more than cap - 1 bytes */
    char out[8];
    assert_int_equal(imapi_redact_raw(out, sizeof out, (const uint8_t *)"a1 NOOP NOOP NOOP", 17), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_literal_user_quoted_password),
        cmocka_unit_test(test_login_literal_password),
        cmocka_unit_test(test_login_double_space),
        cmocka_unit_test(test_login_tabs),
        cmocka_unit_test(test_login_zero_literal),
        cmocka_unit_test(test_login_oversized_literal),
        cmocka_unit_test(test_login_arguments_missing_extra),
        cmocka_unit_test(test_login_literal_not_hashed),
        cmocka_unit_test(test_authenticate_plain),
        cmocka_unit_test(test_authenticate_bad_base64),
        cmocka_unit_test(test_authenticate_login_mech),
        cmocka_unit_test(test_plain_one_nul),
        cmocka_unit_test(test_injection_detail_redacted),
        cmocka_unit_test(test_client_cleartext_detail_redacted),
        cmocka_unit_test(test_unknown_command_keys_bounded),
        cmocka_unit_test(test_redact_scan),
        cmocka_unit_test(test_redact_raw),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
