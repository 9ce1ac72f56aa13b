/*
 * test_session.c - the session core (imap_session.c): conversations from
 * RFC 9051 / RFC 3501 and extension RFC examples fed through
 * imap_session_feed, asserting transactions, state, anomalies, literals,
 * switches, gaps, and the chunking property (whole, byte by byte, 100
 * random splits: identical serialized event sequences).
 *
 * Why this file is over 1,000 lines: it is a list of independent
 * conversations (33 test functions, each a few RFC conversations) over one harness
 * (the feed, event capture and chunking helpers at the top); each case
 * reads on its own, and a split would only copy the harness.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>

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

/* ---------------------------------------------------------------- harness */

typedef struct seg {
    imap_dir    dir;
    const char *bytes;   /* NUL-terminated unless len given */
    size_t      len;     /* 0: strlen(bytes) */
    uint64_t    gap;     /* when non-zero: a gap of this many bytes instead of data */
} seg;

#define C(s) { IMAP_DIR_CLIENT, (s), 0, 0 }
#define S(s) { IMAP_DIR_SERVER, (s), 0, 0 }
#define END  { IMAP_DIR_CLIENT, NULL, 0, 0 }

typedef struct rec {
    json_t  *events;         /* array of {type, dir, offset, ...} */
    uint8_t *lit_bytes;      /* literal sink: bytes received */
    size_t   lit_len, lit_cap;
    int      lit_begins, lit_ends, lit_incomplete;
    bool     check_pending[2]; /* a TLS switch happened: show the next raw bytes */
    imap_layer switched[2];    /* the layer of that switch */
    bool     decrypt;          /* segments after a switch are the layer's plaintext */
    uint64_t lit_sizes[16];
    char     lit_cmd[16][40];
} rec;

static const char *type_name(imap_event_type t)
{
    switch (t) {
    case IMAP_EV_TRANSACTION: return "transaction";
    case IMAP_EV_LINE: return "line";
    case IMAP_EV_ANOMALY: return "anomaly";
    case IMAP_EV_SWITCH: return "switch";
    }
    return "?";
}

static int on_event(void *user, const imap_event *ev)
{
    rec *r = user;
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(type_name(ev->type)));
    json_object_set_new(o, "dir", json_integer(ev->dir));
    json_object_set_new(o, "offset", json_integer((json_int_t)ev->offset));
    if (ev->type == IMAP_EV_SWITCH) {
        json_object_set_new(o, "switch_to", json_integer(ev->switch_to));
        r->check_pending[ev->dir] = true;
        r->switched[ev->dir] = ev->switch_to;
    }
    if (ev->type == IMAP_EV_ANOMALY) {
        json_object_set_new(o, "name", json_string(ev->name));
        assert_string_equal(ev->name, imap_anomaly_name(ev->anomaly));
    }
    if (ev->data)
        json_object_set_new(o, "data", node_to_json(ev->data));
    else
        assert_int_equal(ev->type, IMAP_EV_SWITCH);
    json_array_append_new(r->events, o);
    return 0;
}

static int on_lit_begin(void *user, const imap_literal_info *li)
{
    uint64_t size = li->size;
    const char *command = li->command;
    rec *r = user;
    if (r->lit_begins < 16) {
        r->lit_sizes[r->lit_begins] = size;
        snprintf(r->lit_cmd[r->lit_begins], sizeof r->lit_cmd[0], "%s", command ? command : "");
    }
    r->lit_begins++;
    return 0;
}

static int on_lit_data(void *user, imap_dir dir, const uint8_t *data, size_t len)
{
    rec *r = user;
    if (r->lit_len + len > r->lit_cap) {
        r->lit_cap = (r->lit_len + len) * 2;
        r->lit_bytes = realloc(r->lit_bytes, r->lit_cap);
    }
    memcpy(r->lit_bytes + r->lit_len, data, len);
    r->lit_len += len;
    (void)dir;
    return 0;
}

static int on_lit_end(void *user, imap_dir dir, bool complete)
{
    rec *r = user;
    r->lit_ends++;
    if (!complete)
        r->lit_incomplete++;
    (void)dir;
    return 0;
}

static const imap_callbacks callbacks = { on_event, on_lit_begin, on_lit_data, on_lit_end, NULL };

enum split { SPLIT_WHOLE, SPLIT_BYTES, SPLIT_RANDOM };

static uint32_t rng_next(uint32_t *st)
{
    uint32_t x = *st ? *st : 2463534242u;
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    return *st = x;
}

typedef struct opts {
    imap_config cfg;
    bool        tls;      /* implicit TLS (port 993): set_layer at start */
    json_t     *summary;  /* out: the summary after end (caller decrefs) */
    bool        decrypt;  /* segments after a switch are decrypted/inflated plaintext */
    bool        midstream;/* imap_session_set_midstream before the first byte */
    bool        no_handshake; /* imap_session_set_no_handshake before the first byte */
} opts;

/* Feeds one segment in pieces; after a switch, shows the rest to
 * imap_session_check_tls_start and goes on feeding (the way a caller that
 * keeps feeding raw bytes does). */
static void feed_seg(imap_session *s, rec *r, const seg *g, enum split mode, uint32_t *rng, uint64_t ts)
{
    size_t len = g->len ? g->len : strlen(g->bytes);
    const uint8_t *b = (const uint8_t *)g->bytes;
    size_t off = 0;
    while (off < len) {
        if (r->check_pending[g->dir]) {
            r->check_pending[g->dir] = false;
            if (r->decrypt) /* a caller with keys: what follows is plaintext */
                imap_session_set_layer(s, g->dir, r->switched[g->dir], true);
            else
                imap_session_check_tls_start(s, g->dir, b + off, len - off);
        }
        size_t piece = len - off;
        if (mode == SPLIT_BYTES)
            piece = 1;
        else if (mode == SPLIT_RANDOM)
            piece = 1 + rng_next(rng) % (piece < 40 ? piece : 40);
        if (piece > len - off)
            piece = len - off;
        long n = imap_session_feed(s, g->dir, b + off, piece, ts);
        assert_true(n >= 0);
        off += (size_t)n;
    }
}

static json_t *run(const seg *conv, opts *o, enum split mode, uint32_t seed, rec *r_out)
{
    rec r;
    memset(&r, 0, sizeof r);
    r.events = json_array();
    r.decrypt = o && o->decrypt;
    imap_config cfg;
    if (o)
        cfg = o->cfg;
    else
        imap_config_default(&cfg);
    imap_session *s = imap_session_new(&cfg, &callbacks, &r);
    assert_non_null(s);
    if (o && o->midstream)
        imap_session_set_midstream(s);
    if (o && o->no_handshake)
        imap_session_set_no_handshake(s);
    if (o && o->tls) {
        imap_session_set_layer(s, IMAP_DIR_CLIENT, IMAP_LAYER_TLS, true);
        imap_session_set_layer(s, IMAP_DIR_SERVER, IMAP_LAYER_TLS, true);
    }
    uint32_t rng = seed;
    uint64_t ts = 1000000;
    for (const seg *g = conv; g->bytes || g->gap; g++) {
        ts += 250000;
        if (g->gap)
            imap_session_gap(s, g->dir, g->gap, ts);
        else
            feed_seg(s, &r, g, mode, &rng, ts);
    }
    imap_session_end(s, "test end", 9000000);
    if (o) {
        json_decref(o->summary);
        o->summary = summary_json(s);
    }
    imap_session_free(s);
    if (r_out)
        *r_out = r;
    else
        free(r.lit_bytes);
    return r.events;
}

/* The detail of starttls_response_injection shows the injected bytes that
 * were visible with the switch (the rest of the piece fed): the only value
 * that depends on the split, so it is left out of the comparison. */
static char *dump_for_compare(const json_t *evs)
{
    json_t *c = json_deep_copy(evs);
    size_t i;
    json_t *e;
    json_array_foreach(c, i, e) {
        const json_t *n = json_object_get(e, "name");
        if (n && strcmp(json_string_value(n), "starttls_response_injection") == 0)
            json_object_del(json_object_get(e, "data"), "detail");
    }
    char *s = json_dumps(c, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(c);
    return s;
}

/* The chunking property: whole, byte by byte and 100 random splits give
 * the same serialized events. */
static json_t *run_all_splits(const seg *conv, opts *o, rec *r_out)
{
    json_t *whole = run(conv, o, SPLIT_WHOLE, 1, r_out);
    char *ws = dump_for_compare(whole);
    for (int i = 0; i < 101; i++) {
        json_t *ev = run(conv, o, i == 0 ? SPLIT_BYTES : SPLIT_RANDOM, (uint32_t)i * 7919u + 1, NULL);
        char *es = dump_for_compare(ev);
        if (strcmp(ws, es) != 0) {
            fprintf(stderr, "split %d differs:\nwhole: %s\nsplit: %s\n", i, ws, es);
            fail();
        }
        free(es);
        json_decref(ev);
    }
    free(ws);
    return whole;
}

static size_t count_type(const json_t *evs, const char *type)
{
    size_t i, n = 0;
    json_t *e;
    json_array_foreach(evs, i, e)
        if (strcmp(json_string_value(json_object_get(e, "type")), type) == 0)
            n++;
    return n;
}

static size_t count_anomaly(const json_t *evs, const char *name)
{
    size_t i, n = 0;
    json_t *e;
    json_array_foreach(evs, i, e)
        if (strcmp(json_string_value(json_object_get(e, "type")), "anomaly") == 0 &&
            strcmp(json_string_value(json_object_get(e, "name")), name) == 0)
            n++;
    return n;
}

static const json_t *anomaly_ev(const json_t *evs, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(evs, i, e)
        if (strcmp(json_string_value(json_object_get(e, "type")), "anomaly") == 0 &&
            strcmp(json_string_value(json_object_get(e, "name")), name) == 0)
            return e;
    return NULL;
}

/* The data of the n-th transaction whose tag is tag (NULL: any). */
static const json_t *txn(const json_t *evs, const char *tag, int nth)
{
    size_t i;
    json_t *e;
    json_array_foreach(evs, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "type")), "transaction") != 0)
            continue;
        const json_t *d = json_object_get(e, "data");
        const char *t = json_string_value(json_object_get(d, "tag"));
        if (tag && (!t || strcmp(t, tag) != 0))
            continue;
        if (nth-- == 0)
            return d;
    }
    fail_msg("no transaction %s", tag ? tag : "(any)");
    return NULL;
}

static const char *jstr(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return v ? json_string_value(v) : NULL;
}

/* The value of the {name, value} entry named k in the array o (e.g. a
 * sasl object's params, issue 10). */
/* t's "layer" is exactly [l1[, l2]] (docs/output.md) */
static bool layer_is(const json_t *t, const char *l1, const char *l2)
{
    const json_t *l = json_object_get(t, "layer");
    size_t n = l2 ? 2 : 1;
    return json_array_size(l) == n && strcmp(json_string_value(json_array_get(l, 0)), l1) == 0 &&
           (!l2 || strcmp(json_string_value(json_array_get(l, 1)), l2) == 0);
}

static const char *jparam(const json_t *arr, const char *k)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *n = jstr(json_array_get(arr, i), "name");
        if (n && strcmp(n, k) == 0)
            return jstr(json_array_get(arr, i), "value");
    }
    return NULL;
}

static json_int_t jint(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    assert_non_null(v);
    return json_integer_value(v);
}

/* The count of name in a [{name, count}] array (untagged, commands,
 * unsolicited: docs/output.md); fails when name is not there. */
static json_int_t jcount(const json_t *arr, const char *name)
{
    assert_true(json_is_array(arr));
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *e = json_array_get(arr, i);
        if (jstr(e, "name") != NULL && strcmp(jstr(e, "name"), name) == 0)
            return jint(e, "count");
    }
    fail_msg("no count for %s", name);
    return -1;
}

/* The element of a [{name, value}] array named name, or NULL. */
static void assert_no_anomalies(const json_t *evs)
{
    size_t i;
    json_t *e;
    json_array_foreach(evs, i, e)
        if (strcmp(json_string_value(json_object_get(e, "type")), "anomaly") == 0) {
            char *d = json_dumps(e, JSON_COMPACT);
            fail_msg("unexpected anomaly %s", d);
        }
}

static opts default_opts(void)
{
    opts o;
    memset(&o, 0, sizeof o);
    imap_config_default(&o.cfg);
    return o;
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
    uint8_t md[32];
    unsigned int l = 0;
    EVP_Digest(p, n, md, &l, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

/* ------------------------------------------------------------------ tests */

/* 44 bytes: a header block in a FETCH response (RFC 9051 6.4.5 style). */
#define HDR44 "Date: Wed, 17 Jul 1996 02:23:25 -0700\r\nX:y\r\n"

static const seg conv_basic[] = {
    S("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ AUTH=PLAIN ID] IMAP4rev2 server ready\r\n"),
    C("a001 CAPABILITY\r\n"),
    S("* CAPABILITY IMAP4rev2 AUTH=PLAIN LITERAL+ IDLE\r\na001 OK CAPABILITY completed\r\n"),
    C("a002 LOGIN mrc secret\r\n"),
    S("a002 OK LOGIN completed\r\n"),
    C("A142 SELECT INBOX\r\n"),
    S("* 172 EXISTS\r\n* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
      "* OK [UIDNEXT 4392] Predicted next UID\r\n"
      "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
      "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"
      "* LIST () \"/\" INBOX\r\n"
      "A142 OK [READ-WRITE] SELECT completed\r\n"),
    C("a003 FETCH 12 (FLAGS BODY[HEADER])\r\n"),
    S("* 12 FETCH (FLAGS (\\Seen) BODY[HEADER] {44}\r\n" HDR44 ")\r\na003 OK FETCH completed\r\n"),
    C("a004 UID FETCH 1:* (FLAGS)\r\n"),
    S("* 12 FETCH (FLAGS (\\Seen) UID 4)\r\na004 OK done\r\n"),
    C("a005 LOGOUT\r\n"),
    S("* BYE IMAP4rev2 Server logging out\r\na005 OK LOGOUT completed\r\n"),
    END
};

static void test_basic_session(void **state)
{
    (void)state;
    opts o = default_opts();
    o.tls = true;
    o.cfg.hash_literals = true;
    json_t *ev = run_all_splits(conv_basic, &o, NULL);
    assert_no_anomalies(ev);
    assert_int_equal(count_type(ev, "transaction"), 6);

    const json_t *t = txn(ev, "a001", 0);
    assert_string_equal(jstr(t, "command"), "CAPABILITY");
    assert_string_equal(jstr(t, "status"), "OK");
    assert_string_equal(jstr(t, "state"), "not_authenticated");
    assert_int_equal(jcount(json_object_get(t, "untagged"), "CAPABILITY"), 1);
    assert_true(layer_is(t, "tls", NULL));

    t = txn(ev, "a002", 0);
    assert_string_equal(jstr(t, "command"), "LOGIN");
    assert_string_equal(jstr(t, "user"), "mrc");
    assert_string_equal(jstr(t, "password"), "<redacted>");
    assert_int_equal(jint(t, "client_bytes"), strlen("a002 LOGIN mrc secret\r\n"));
    assert_int_equal(jint(t, "server_bytes"), strlen("a002 OK LOGIN completed\r\n"));
    assert_int_equal(jint(t, "latency_us"), 250000);

    t = txn(ev, "A142", 0);
    assert_string_equal(jstr(t, "command"), "SELECT");
    assert_string_equal(jstr(t, "mailbox"), "INBOX");
    assert_string_equal(jstr(t, "state"), "authenticated");
    assert_string_equal(jstr(json_object_get(t, "response_code"), "code"), "READ-WRITE");
    assert_string_equal(jstr(t, "response_text"), "SELECT completed");
    const json_t *u = json_object_get(t, "untagged");
    assert_int_equal(jcount(u, "EXISTS"), 1);
    assert_int_equal(jcount(u, "OK"), 3);
    assert_int_equal(jcount(u, "FLAGS"), 1);
    assert_int_equal(jcount(u, "LIST"), 1);
    assert_int_equal(json_array_size(json_object_get(t, "responses")), 6);

    t = txn(ev, "a003", 0);
    assert_string_equal(jstr(t, "state"), "selected");
    const json_t *lits = json_object_get(t, "literals");
    assert_int_equal(json_array_size(lits), 1);
    const json_t *l0 = json_array_get(lits, 0);
    assert_string_equal(jstr(l0, "direction"), "server");
    assert_int_equal(jint(l0, "size"), 44);
    char hex[65];
    sha256_hex(HDR44, 44, hex);
    assert_string_equal(jstr(l0, "sha256"), hex);

    t = txn(ev, "a004", 0);
    assert_string_equal(jstr(t, "command"), "UID FETCH");
    t = txn(ev, "a005", 0);
    assert_int_equal(jcount(json_object_get(t, "untagged"), "BYE"), 1);

    const json_t *sum = o.summary;
    assert_string_equal(jstr(sum, "state"), "logout");
    assert_string_equal(jstr(sum, "user"), "mrc");
    assert_true(json_is_true(json_object_get(sum, "login_success")));
    assert_int_equal(json_array_size(json_object_get(sum, "mailboxes")), 1);
    assert_int_equal(jcount(json_object_get(sum, "commands"), "LOGIN"), 1);
    assert_int_equal(jcount(json_object_get(sum, "commands"), "UID FETCH"), 1);
    assert_null(json_object_get(sum, "transactions")); /* one imap event each */
    assert_string_equal(jstr(json_object_get(sum, "greeting"), "status"), "OK");
    assert_string_equal(jstr(json_object_get(json_object_get(sum, "greeting"), "code"), "code"), "CAPABILITY");
    const json_t *caps = json_object_get(sum, "capabilities");
    assert_int_equal(json_array_size(caps), 4);
    assert_string_equal(json_string_value(json_array_get(caps, 0)), "IMAP4rev2");
    assert_int_equal(json_object_size(json_object_get(sum, "anomalies")), 0);
    /* the attempt is the LOGIN imap event; the summary counts failures */
    assert_int_equal(jint(sum, "login_failures"), 0);
    assert_null(json_object_get(sum, "auth_attempts"));
    json_decref(o.summary);
    json_decref(ev);
}

/* RFC 9051 6.3.12 APPEND example: the message is a synchronizing literal. */
#define APPEND_MSG \
    "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n" \
    "From: Fred Foobar <foobar@Blurdybloop.example>\r\n" \
    "Subject: afternoon meeting\r\n" \
    "To: mooch@owatagu.siam.edu.example\r\n" \
    "Message-Id: <B27397-0100000@Blurdybloop.example>\r\n" \
    "MIME-Version: 1.0\r\n" \
    "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n" \
    "\r\n" \
    "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n"

static void test_append_literal(void **state)
{
    (void)state;
    char cmd[128];
    size_t mlen = strlen(APPEND_MSG);
    snprintf(cmd, sizeof cmd, "A003 APPEND saved-messages (\\Seen) {%zu}\r\n", mlen);
    const seg conv[] = {
        S("* PREAUTH [CAPABILITY IMAP4rev2] ready\r\n"),
        C(cmd),
        S("+ Ready for literal data\r\n"),
        C(APPEND_MSG "\r\n"),
        S("A003 OK APPEND completed\r\n"),
        END
    };
    opts o = default_opts();
    o.tls = true;
    o.cfg.hash_literals = true;
    rec r;
    json_t *ev = run_all_splits(conv, &o, &r);
    assert_no_anomalies(ev);
    const json_t *t = txn(ev, "A003", 0);
    assert_string_equal(jstr(t, "command"), "APPEND");
    assert_string_equal(jstr(t, "mailbox"), "saved-messages");
    assert_int_equal(jint(t, "continuations"), 1);
    assert_string_equal(jstr(t, "state"), "authenticated");
    const json_t *l0 = json_array_get(json_object_get(t, "literals"), 0);
    assert_int_equal(jint(l0, "size"), mlen);
    char hex[65];
    sha256_hex(APPEND_MSG, mlen, hex);
    assert_string_equal(jstr(l0, "sha256"), hex);
    assert_int_equal(jint(t, "client_bytes"), strlen(cmd) + mlen + 2);
    /* the sink got the exact bytes */
    assert_int_equal(r.lit_begins, 1);
    assert_int_equal(r.lit_ends, 1);
    assert_int_equal(r.lit_incomplete, 0);
    assert_int_equal(r.lit_sizes[0], mlen);
    assert_string_equal(r.lit_cmd[0], "APPEND");
    assert_int_equal(r.lit_len, mlen);
    assert_memory_equal(r.lit_bytes, APPEND_MSG, mlen);
    free(r.lit_bytes);
    json_decref(o.summary);
    json_decref(ev);
}

static const seg conv_login_literals[] = {
    S("* OK [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n"),
    C("a LOGIN {5}\r\n"),
    S("+ go\r\n"),
    C("alice {8+}\r\npassword\r\n"),
    S("a OK [CAPABILITY IMAP4rev1 IDLE] welcome\r\n"),
    C("b SELECT \"Sent Items\"\r\n"),
    S("b NO [NONEXISTENT] no such mailbox\r\n"),
    C("c SELECT INBOX\r\n"),
    S("c OK [READ-ONLY] ok\r\n"),
    C("d CLOSE\r\n"),
    S("d OK closed\r\n"),
    END
};

/* APPEND: the messages' sizes, binary form and hashes are the literals'
 * (one shape: imap.literals), in order; mode gives the markers as sent. */
static const seg conv_append_literals[] = {
    S("* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+ BINARY MULTIAPPEND] hi\r\n"),
    C("a APPEND INBOX (\\Seen) \"7-Feb-1994 21:52:25 -0800\" ~{5+}\r\nhello {3}\r\n"),
    S("+ go\r\n"),
    C("abc\r\n"),
    S("a OK done\r\n"),
    END
};

static void test_append_literals(void **state)
{
    (void)state;
    opts o = default_opts();
    o.cfg.hash_literals = true;
    json_t *ev = run_all_splits(conv_append_literals, &o, NULL);
    const json_t *t = txn(ev, "a", 0);
    const json_t *ms = json_object_get(t, "messages");
    assert_int_equal(json_array_size(ms), 2);
    assert_string_equal(jstr(json_array_get(ms, 0), "date"), "1994-02-07T21:52:25-08:00");
    assert_null(json_object_get(json_array_get(ms, 0), "size"));
    const json_t *ls = json_object_get(t, "literals");
    assert_int_equal(json_array_size(ls), 2);
    assert_int_equal(jint(json_array_get(ls, 0), "size"), 5);
    assert_string_equal(jstr(json_array_get(ls, 0), "mode"), "~+");
    assert_null(json_object_get(json_array_get(ls, 0), "binary"));
    /* SHA-256("hello") */
    assert_string_equal(jstr(json_array_get(ls, 0), "sha256"),
                        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    assert_int_equal(jint(json_array_get(ls, 1), "size"), 3);
    assert_null(json_object_get(json_array_get(ls, 1), "mode")); /* {3} */
    json_decref(o.summary);
    json_decref(ev);
}

static void test_login_literals_state(void **state)
{
    (void)state;
    opts o = default_opts();
    o.tls = true;
    o.cfg.emit_lines = true;
    json_t *ev = run_all_splits(conv_login_literals, &o, NULL);
    assert_no_anomalies(ev);
    const json_t *t = txn(ev, "a", 0);
    assert_string_equal(jstr(t, "user"), "alice");
    assert_string_equal(jstr(t, "password"), "<redacted>");
    assert_int_equal(jint(t, "continuations"), 1);
    assert_int_equal(json_array_size(json_object_get(t, "literals")), 2);
    assert_string_equal(jstr(json_array_get(json_object_get(t, "literals"), 1), "mode"), "+");
    t = txn(ev, "b", 0);
    assert_string_equal(jstr(t, "status"), "NO");
    assert_string_equal(jstr(json_object_get(t, "response_code"), "code"), "NONEXISTENT");
    assert_string_equal(jstr(txn(ev, "c", 0), "state"), "authenticated");
    assert_string_equal(jstr(txn(ev, "d", 0), "state"), "selected");
    assert_string_equal(jstr(o.summary, "state"), "authenticated");
    /* capabilities from the tagged OK code replace the greeting's */
    assert_int_equal(json_array_size(json_object_get(o.summary, "capabilities")), 2);
    /* trace lines: the password never appears */
    size_t i;
    json_t *e;
    int lines = 0;
    json_array_foreach(ev, i, e) {
        if (strcmp(jstr(e, "type"), "line") != 0)
            continue;
        lines++;
        const char *text = jstr(json_object_get(e, "data"), "text");
        assert_null(strstr(text, "password"));
        /* shown up to the synchronizing literal, then the rest after the
         * server's "+": the user literal, the password redacted */
        if (strcmp(jstr(json_object_get(e, "data"), "kind"), "command") == 0 &&
            strcmp(jstr(json_object_get(e, "data"), "command"), "LOGIN") == 0)
            assert_string_equal(text, "a LOGIN {5}");
        if (strcmp(jstr(json_object_get(e, "data"), "kind"), "continuation_data") == 0) {
            assert_string_equal(text, "alice <redacted>");
            assert_int_equal(jint(json_object_get(e, "data"), "part"), 2);
        }
        if (strcmp(jstr(json_object_get(e, "data"), "kind"), "tagged") == 0 &&
            strcmp(jstr(json_object_get(e, "data"), "tag"), "a") == 0) {
            assert_string_equal(jstr(json_object_get(e, "data"), "code"), "CAPABILITY");
            assert_int_equal(json_array_size(json_object_get(json_object_get(e, "data"), "capabilities")), 2);
            assert_non_null(json_object_get(json_object_get(e, "data"), "latency_us"));
        }
    }
    assert_int_equal(lines, 11);
    json_decref(o.summary);
    json_decref(ev);

    /* show_credentials: the password in clear */
    o = default_opts();
    o.tls = true;
    o.cfg.show_credentials = true;
    ev = run(conv_login_literals, &o, SPLIT_WHOLE, 1, NULL);
    assert_string_equal(jstr(txn(ev, "a", 0), "password"), "password");
    json_decref(o.summary);
    json_decref(ev);
}

static const seg conv_auth[] = {
    S("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=CRAM-MD5] ready\r\n"),
    /* RFC 2195 2 example */
    C("a1 AUTHENTICATE CRAM-MD5\r\n"),
    S("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n"),
    C("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n"),
    S("a1 NO authentication failed\r\n"),
    /* RFC 4616 4 example, as a SASL-IR initial response (RFC 4959) */
    C("a2 AUTHENTICATE PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n"),
    S("a2 OK [CAPABILITY IMAP4rev1] done\r\n"),
    END
};

static void test_authenticate(void **state)
{
    (void)state;
    opts o = default_opts();
    o.tls = true;
    json_t *ev = run_all_splits(conv_auth, &o, NULL);
    assert_no_anomalies(ev);
    const json_t *t = txn(ev, "a1", 0);
    assert_string_equal(jstr(t, "mechanism"), "CRAM-MD5");
    assert_false(json_is_true(json_object_get(t, "initial_response")));
    assert_null(json_object_get(t, "sasl_ir"));
    const json_t *sasl = json_object_get(t, "sasl");
    /* user and password as LOGIN's; the mechanism's values in "values" */
    assert_string_equal(jstr(t, "user"), "tim");
    assert_null(json_object_get(sasl, "user"));
    assert_string_equal(jparam(json_object_get(t, "values"), "digest"), "<redacted>");
    assert_string_equal(jparam(json_object_get(t, "values"), "challenge"), "<1896.697170952@postoffice.reston.mci.net>");
    assert_null(json_object_get(sasl, "params"));
    assert_int_equal(jint(sasl, "client_steps"), 1);
    assert_null(json_object_get(sasl, "server_steps")); /* = continuations */
    assert_int_equal(jint(t, "continuations"), 1);
    assert_string_equal(jstr(t, "status"), "NO");
    t = txn(ev, "a2", 0);
    assert_true(json_is_true(json_object_get(t, "initial_response")));
    assert_string_equal(jstr(t, "user"), "tim");
    assert_string_equal(jstr(t, "password"), "<redacted>");
    sasl = json_object_get(t, "sasl");
    assert_null(json_object_get(sasl, "password"));
    assert_string_equal(jstr(o.summary, "state"), "authenticated");
    assert_string_equal(jstr(o.summary, "user"), "tim");
    /* the CRAM-MD5 NO counted, the PLAIN OK not */
    assert_int_equal(jint(o.summary, "login_failures"), 1);
    assert_true(json_is_true(json_object_get(o.summary, "login_success")));
    json_decref(o.summary);
    json_decref(ev);
}

static const seg conv_idle[] = {
    S("* PREAUTH ok\r\n"),
    C("s SELECT INBOX\r\n"),
    S("s OK [READ-WRITE] ok\r\n"),
    C("A002 IDLE\r\n"),
    S("+ idling\r\n"),
    S("* 4 EXISTS\r\n"),
    C("DONE\r\n"),
    S("A002 OK IDLE terminated\r\n"),
    END
};

static void test_idle(void **state)
{
    (void)state;
    opts o = default_opts();
    o.tls = true;
    json_t *ev = run_all_splits(conv_idle, &o, NULL);
    assert_no_anomalies(ev);
    const json_t *t = txn(ev, "A002", 0);
    assert_string_equal(jstr(t, "command"), "IDLE");
    assert_int_equal(jint(t, "idle_ms"), 500);
    assert_int_equal(jcount(json_object_get(t, "untagged"), "EXISTS"), 1);
    assert_int_equal(jint(t, "continuations"), 1);
    /* the summary: IDLE counted among the commands; its time is the
     * IDLE event's idle_ms */
    assert_int_equal(jcount(json_object_get(o.summary, "commands"), "IDLE"), 1);
    assert_null(json_object_get(o.summary, "idle"));
    json_decref(o.summary);
    json_decref(ev);
}

/* ---- STARTTLS (RFC 9051 6.2.1, SPECS.md 6) ---- */

#define GREET_TLS "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n"

static const json_t *switch_ev(const json_t *evs, imap_dir dir, int nth)
{
    size_t i;
    json_t *e;
    json_array_foreach(evs, i, e)
        if (strcmp(jstr(e, "type"), "switch") == 0 && jint(e, "dir") == dir && nth-- == 0)
            return e;
    return NULL;
}

static void test_starttls_clean(void **state)
{
    (void)state;
    const seg conv[] = {
        S(GREET_TLS),
        C("a1 STARTTLS\r\n"),
        S("a1 OK Begin TLS negotiation now\r\n"),
        { IMAP_DIR_CLIENT, "\x16\x03\x01\x00\x02hi", 7, 0 },
        { IMAP_DIR_SERVER, "\x16\x03\x03\x00\x02ok", 7, 0 },
        END
    };
    opts o = default_opts();
    json_t *ev = run_all_splits(conv, &o, NULL);
    assert_no_anomalies(ev);
    const json_t *sw = switch_ev(ev, IMAP_DIR_SERVER, 0);
    assert_non_null(sw);
    assert_int_equal(jint(sw, "offset"), strlen(GREET_TLS) + strlen("a1 OK Begin TLS negotiation now\r\n"));
    assert_int_equal(jint(sw, "switch_to"), IMAP_LAYER_TLS);
    sw = switch_ev(ev, IMAP_DIR_CLIENT, 0);
    assert_non_null(sw);
    assert_int_equal(jint(sw, "offset"), strlen("a1 STARTTLS\r\n"));
    assert_null(switch_ev(ev, IMAP_DIR_CLIENT, 1));
    assert_string_equal(jstr(o.summary, "starttls"), "OK");
    assert_int_equal(json_array_size(json_object_get(o.summary, "capabilities")), 0);
    assert_int_equal(json_array_size(json_object_get(o.summary, "capabilities_before_tls")), 3);
    assert_true(json_is_null(json_object_get(o.summary, "compress")));
    json_decref(o.summary);
    json_decref(ev);

    /* feed returns the bytes up to the switch point */
    imap_config cfg;
    imap_config_default(&cfg);
    rec r;
    memset(&r, 0, sizeof r);
    r.events = json_array();
    imap_session *s = imap_session_new(&cfg, &callbacks, &r);
    const char *sv = "a1 OK go\r\n\x16\x03\x03";
    assert_int_equal(imap_session_feed(s, IMAP_DIR_SERVER, (const uint8_t *)GREET_TLS, strlen(GREET_TLS), 1),
                     strlen(GREET_TLS));
    assert_int_equal(imap_session_feed(s, IMAP_DIR_CLIENT, (const uint8_t *)"a1 STARTTLS\r\n", 13, 1), 13);
    assert_int_equal(imap_session_feed(s, IMAP_DIR_SERVER, (const uint8_t *)sv, strlen(sv), 2), 10);
    imap_session_free(s);
    assert_no_anomalies(r.events);
    json_decref(r.events);
}

static void test_starttls_command_injection(void **state)
{
    (void)state;
    const seg conv[] = {
        S(GREET_TLS),
        C("a1 STARTTLS\r\na2 LOGIN joe secret\r\n"),
        S("a1 OK Begin TLS\r\n"),
        END
    };
    opts o = default_opts();
    json_t *ev = run_all_splits(conv, &o, NULL);
    const json_t *a = anomaly_ev(ev, "starttls_command_injection");
    assert_non_null(a);
    assert_int_equal(jint(a, "offset"), 13);
    assert_non_null(strstr(jstr(json_object_get(a, "data"), "detail"), "a2 LOGIN"));
    assert_string_equal(jstr(json_object_get(a, "data"), "direction"), "client");
    assert_int_equal(count_anomaly(ev, "cleartext_credentials"), 1);
    json_decref(o.summary);
    json_decref(ev);
}

static void test_starttls_response_injection(void **state)
{
    (void)state;
    const seg conv[] = {
        S(GREET_TLS),
        C("a1 STARTTLS\r\n"),
        S("a1 OK Begin TLS\r\n* OK [ALERT] injected\r\n"),
        END
    };
    opts o = default_opts();
    json_t *ev = run_all_splits(conv, &o, NULL);
    const json_t *a = anomaly_ev(ev, "starttls_response_injection");
    assert_non_null(a);
    assert_int_equal(jint(a, "offset"), strlen(GREET_TLS) + strlen("a1 OK Begin TLS\r\n"));
    assert_non_null(strstr(jstr(json_object_get(a, "data"), "detail"), "* OK [ALERT] injected"));
    json_decref(o.summary);
    json_decref(ev);
}

static void test_starttls_untagged_and_early_tls(void **state)
{
    (void)state;
    const seg conv[] = {
        S(GREET_TLS),
        C("a1 STARTTLS\r\n"),
        S("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n"),
        { IMAP_DIR_CLIENT, "\x16\x03\x01\x00\x02hi", 7, 0 },
        S("a1 OK Begin TLS\r\n"),
        END
    };
    opts o = default_opts();
    json_t *ev = run_all_splits(conv, &o, NULL);
    assert_int_equal(count_anomaly(ev, "starttls_untagged_before_ok"), 1);
    const json_t *a = anomaly_ev(ev, "tls_before_starttls_ok");
    assert_non_null(a);
    assert_int_equal(jint(a, "offset"), 13);
    const json_t *sw = switch_ev(ev, IMAP_DIR_CLIENT, 0);
    assert_int_equal(jint(sw, "offset"), 13);
    assert_null(switch_ev(ev, IMAP_DIR_CLIENT, 1));
    assert_non_null(switch_ev(ev, IMAP_DIR_SERVER, 0));
    assert_int_equal(count_anomaly(ev, "starttls_command_injection"), 0);
    json_decref(o.summary);
    json_decref(ev);
}

static void test_starttls_stripped(void **state)
{
    (void)state;
    /* never offered in this connection: nothing was stripped here (the
     * engine looks for the evidence in other connections) */
    const seg conv1[] = {
        S("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n"),
        C("a1 LOGIN joe secret\r\n"),
        S("a1 OK done\r\n"),
        END
    };
    opts o = default_opts();
    json_t *ev = run_all_splits(conv1, &o, NULL);
    assert_int_equal(count_anomaly(ev, "cleartext_credentials"), 1);
    assert_int_equal(count_anomaly(ev, "starttls_stripped"), 0);
    json_decref(o.summary);
    json_decref(ev);
    /* a mangled STARTTLS in the list (overwritten in place): stripped */
    static const char *const mangled[] = {"XXXXXXXX", "STARTTLZ", "xSTARTTLS"};
    for (size_t k = 0; k < 3; k++) {
        char greet[96];
        snprintf(greet, sizeof greet, "* OK [CAPABILITY IMAP4rev1 %s AUTH=PLAIN] ready\r\n", mangled[k]);
        const seg conv3[] = { S(greet), C("a1 LOGIN joe secret\r\n"), S("a1 OK done\r\n"), END };
        o = default_opts();
        ev = run_all_splits(conv3, &o, NULL);
        const json_t *a = anomaly_ev(ev, "starttls_stripped");
        assert_non_null(a);
        assert_non_null(strstr(jstr(json_object_get(a, "data"), "detail"), mangled[k]));
        assert_int_equal(jint(json_object_get(o.summary, "anomalies"), "starttls_stripped"), 1);
        json_decref(o.summary);
        json_decref(ev);
    }
    /* offered, and the client did not use it: no evidence of stripping */
    const seg conv4[] = {
        S(GREET_TLS),
        C("a1 LOGIN joe secret\r\n"),
        S("a1 OK done\r\n"),
        END
    };
    o = default_opts();
    ev = run_all_splits(conv4, &o, NULL);
    assert_int_equal(count_anomaly(ev, "cleartext_credentials"), 1);
    assert_int_equal(count_anomaly(ev, "starttls_stripped"), 0);
    json_decref(o.summary);
    json_decref(ev);
    /* STARTTLS sent, never answered (ignored), then LOGIN in clear: stripped */
    const seg conv5[] = {
        S(GREET_TLS),
        C("a1 STARTTLS\r\n"),
        C("a2 LOGIN joe secret\r\n"),
        S("a2 OK done\r\n"),
        END
    };
    o = default_opts();
    ev = run_all_splits(conv5, &o, NULL);
    const json_t *a4 = anomaly_ev(ev, "starttls_stripped");
    assert_non_null(a4);
    assert_non_null(strstr(jstr(json_object_get(a4, "data"), "detail"), "unanswered"));
    assert_int_equal(jint(json_object_get(a4, "data"), "severity"), 1);
    assert_int_equal(jint(json_object_get(a4, "data"), "signature_id"), 2300030);
    json_decref(o.summary);
    json_decref(ev);
    /* refused, then AUTHENTICATE PLAIN in clear */
    const seg conv2[] = {
        S(GREET_TLS),
        C("a1 STARTTLS\r\n"),
        S("a1 BAD not now\r\n"),
        C("a2 AUTHENTICATE PLAIN\r\n"),
        S("+ \r\n"),
        C("AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n"),
        S("a2 OK done\r\n"),
        END
    };
    o = default_opts();
    ev = run_all_splits(conv2, &o, NULL);
    assert_int_equal(count_anomaly(ev, "cleartext_credentials"), 1);
    assert_int_equal(count_anomaly(ev, "starttls_stripped"), 1);
    assert_string_equal(jstr(o.summary, "starttls"), "BAD");
    assert_string_equal(jstr(txn(ev, "a2", 0), "user"), "tim");
    json_decref(o.summary);
    json_decref(ev);
}

static void test_preauth_cleartext(void **state)
{
    (void)state;
    const seg conv[] = {
        S("* PREAUTH IMAP4rev1 server logged in as Smith\r\n"),
        C("a1 SELECT INBOX\r\n"),
        S("a1 OK [READ-WRITE] done\r\n"),
        C("a2 STARTTLS\r\n"),
        S("a2 BAD wrong state\r\n"),
        END
    };
    opts o = default_opts();
    json_t *ev = run_all_splits(conv, &o, NULL);
    assert_int_equal(count_anomaly(ev, "preauth_cleartext"), 1);
    assert_int_equal(count_anomaly(ev, "starttls_invalid_state"), 1);
    assert_int_equal(count_type(ev, "anomaly"), 2);
    assert_string_equal(jstr(o.summary, "state"), "selected");
    /* RFC 9051 7.1.4: authenticated, user not named */
    assert_true(json_is_true(json_object_get(o.summary, "login_success")));
    assert_string_equal(jstr(json_object_get(o.summary, "greeting"), "status"), "PREAUTH");
    assert_null(json_object_get(o.summary, "preauth"));
    assert_true(json_is_null(json_object_get(o.summary, "user")));
    json_decref(o.summary);
    json_decref(ev);
}

/* An unsolicited BYE (no command pending) keeps its code and text in the
 * summary (RFC 9051 7.1.5). */
static void test_unsolicited_bye(void **state)
{
    (void)state;
    const seg conv[] = {
        S("* OK ready\r\n"),
        C("a1 LOGIN joe secret\r\n"),
        S("a1 OK done\r\n"),
        S("* BYE [UNAVAILABLE] Server shutting down\r\n"),
        END
    };
    opts o = default_opts();
    json_t *ev = run_all_splits(conv, &o, NULL);
    const json_t *bye = json_object_get(o.summary, "bye");
    assert_non_null(bye);
    assert_string_equal(jstr(bye, "text"), "Server shutting down");
    assert_string_equal(jstr(json_object_get(bye, "code"), "code"), "UNAVAILABLE");
    assert_null(json_object_get(bye, "type")); /* always a BYE */
    assert_string_equal(jstr(json_object_get(o.summary, "greeting"), "status"), "OK");
    json_decref(o.summary);
    json_decref(ev);
}

/* RFC 4978 3: COMPRESS DEFLATE; after the OK both directions switch. */
static void test_compress(void **state)
{
    (void)state;
    const seg conv[] = {
        S("* PREAUTH [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] ok\r\n"),
        C("a COMPRESS DEFLATE\r\n"),
        S("a OK DEFLATE active\r\n"),
        /* what the caller's inflater gives back */
        C("b NOOP\r\n"),
        S("b OK done\r\n"),
        END
    };
    opts o = default_opts();
    o.tls = true;
    json_t *ev = run_all_splits(conv, &o, NULL);
    assert_no_anomalies(ev);
    const json_t *sw = switch_ev(ev, IMAP_DIR_SERVER, 0);
    assert_int_equal(jint(sw, "switch_to"), IMAP_LAYER_DEFLATE);
    assert_int_equal(jint(sw, "offset"), strlen(conv[0].bytes) + strlen(conv[2].bytes));
    sw = switch_ev(ev, IMAP_DIR_CLIENT, 0);
    assert_int_equal(jint(sw, "offset"), strlen(conv[1].bytes));
    assert_true(layer_is(txn(ev, "b", 0), "tls", "deflate"));
    assert_string_equal(jstr(o.summary, "compress"), "OK");
    json_decref(o.summary);
    json_decref(ev);
}

/* The shared memory budget: a line that must be buffered (fed byte by
 * byte) and would grow the buffer past the budget is framed, not parsed,
 * with a memcap anomaly; the session goes on with the next line; the
 * buffer is given back after the line; a full budget abandons the oldest
 * pending command; everything is given back when the session ends. */
static void test_budget(void **state)
{
    (void)state;
    static char longline[12000];
    memcpy(longline, "a2 LOGIN ", 9);
    memset(longline + 9, 'A', sizeof longline - 12);
    memcpy(longline + sizeof longline - 3, "\r\n", 3);
    const seg conv[] = {
        S("* OK [CAPABILITY IMAP4rev1] ready\r\n"), C("a1 NOOP\r\n"), C(longline), C("a3 NOOP\r\n"), S("a1 OK\r\na3 OK done\r\n"), END
    };
    imap_budget budget;
    imap_budget_init(&budget, 6000);
    opts o = default_opts();
    o.tls = true;
    o.cfg.budget = &budget;
    json_t *ev = run(conv, &o, SPLIT_BYTES, 0, NULL);
    assert_int_equal(count_anomaly(ev, "memcap"), 1);
    assert_int_equal(count_anomaly(ev, "line_too_long"), 0);
    assert_string_equal(jstr(txn(ev, "a1", 0), "status"), "OK");
    assert_string_equal(jstr(txn(ev, "a3", 0), "status"), "OK");
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e) /* the dropped line made no transaction */
        if (strcmp(jstr(e, "type"), "transaction") == 0)
            assert_string_not_equal(jstr(json_object_get(e, "data"), "tag"), "a2");
    assert_true(atomic_load(&budget.refused) >= 1);
    assert_true(atomic_load(&budget.peak) <= 6000);
    assert_int_equal(atomic_load(&budget.used), 0);
    json_decref(o.summary);
    json_decref(ev);

    /* fed whole, the line is parsed in place (no buffer), but the decoded
     * a2 (12 KB of text) must be held until its response: a1 is abandoned
     * to make room, and a3 abandons a2 in turn */
    imap_budget_init(&budget, 6000);
    o = default_opts();
    o.tls = true;
    o.cfg.budget = &budget;
    ev = run(conv, &o, SPLIT_WHOLE, 0, NULL);
    assert_int_equal(count_anomaly(ev, "memcap"), 2);
    assert_string_equal(jstr(txn(ev, "a1", 0), "reason"), "memcap");
    assert_string_equal(jstr(txn(ev, "a2", 0), "reason"), "memcap");
    assert_string_equal(jstr(txn(ev, "a3", 0), "status"), "OK");
    assert_int_equal(atomic_load(&budget.used), 0);
    json_decref(o.summary);
    json_decref(ev);

    /* a budget for two pending commands (1 KiB each besides their text):
     * the third abandons the oldest, reason memcap */
    const seg conv2[] = {
        S("* OK [CAPABILITY IMAP4rev1] ready\r\n"), C("b1 NOOP\r\nb2 NOOP\r\nb3 NOOP\r\n"), S("b2 OK\r\nb3 OK\r\n"), END
    };
    imap_budget_init(&budget, 2 * 1024 + 40);
    o = default_opts();
    o.tls = true;
    o.cfg.budget = &budget;
    ev = run_all_splits(conv2, &o, NULL);
    assert_int_equal(count_anomaly(ev, "memcap"), 1);
    const json_t *b1 = txn(ev, "b1", 0);
    assert_non_null(b1);
    assert_true(json_is_null(json_object_get(b1, "status")));
    assert_string_equal(jstr(b1, "reason"), "memcap");
    assert_string_equal(jstr(txn(ev, "b3", 0), "status"), "OK");
    assert_int_equal(atomic_load(&budget.used), 0);
    assert_true(atomic_load(&budget.peak) <= 2 * 1024 + 40);
    json_decref(o.summary);
    json_decref(ev);
}

/* Trace lines carry the mailbox names that were sent in modified UTF-7,
 * decoded (RFC 3501 5.1.3; the example of RFC 9051 5.1.3: "&ZeVnLIqe-" is
 * "日本語"), for commands and untagged responses; plain names add none. */
static void test_line_names(void **state)
{
    (void)state;
    const seg conv[] = {
        S("* PREAUTH [CAPABILITY IMAP4rev1] ready\r\n"),
        C("a CREATE &ZeVnLIqe-\r\n"),
        S("a OK\r\n"),
        C("b RENAME &ZeVnLIqe- Entw&APw-rfe\r\n"),
        S("b OK\r\n"),
        C("c LIST \"\" *\r\n"),
        S("* LIST () \"/\" Entw&APw-rfe\r\n* LIST () \"/\" INBOX\r\nc OK\r\n"),
        END
    };
    opts o = default_opts();
    o.tls = true;
    o.cfg.emit_lines = true;
    json_t *ev = run_all_splits(conv, &o, NULL);
    size_t i;
    json_t *e;
    int n = 0;
    json_array_foreach(ev, i, e) {
        const json_t *d = json_object_get(e, "data");
        if (strcmp(jstr(e, "type"), "line") != 0)
            continue;
        const json_t *names = json_object_get(d, "names");
        const char *text = jstr(d, "text");
        if (strncmp(text, "a CREATE", 8) == 0) {
            assert_string_equal(jstr(names, "mailbox"), "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
            n++;
        } else if (strncmp(text, "b RENAME", 8) == 0) {
            assert_string_equal(jstr(names, "mailbox"), "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
            assert_string_equal(jstr(names, "new_mailbox"), "Entw\xc3\xbcrfe");
            n++;
        } else if (strstr(text, "LIST () \"/\" Entw")) {
            assert_string_equal(jstr(names, "mailbox"), "Entw\xc3\xbcrfe");
            n++;
        } else {
            assert_null(names); /* INBOX, c LIST, the OKs */
        }
    }
    assert_int_equal(n, 3);
    json_decref(o.summary);
    json_decref(ev);
}

/* ---- anomalies: each in the table triggered by a conversation ---- */

typedef struct anom_case {
    const char *name;
    seg         conv[8];
    bool        tls;
    size_t      max_line, max_pending;
    uint64_t    max_literal;
    size_t      max_responses; /* 0: default */
    size_t      budget;        /* imap_budget limit; 0: no budget */
} anom_case;

#define OKG S("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n")

static const anom_case anom_cases[] = {
    { "malformed_command", { OKG, C("a1\r\n"), END }, true, 0, 0, 0, 0, 0 },
    { "malformed_response", { OKG, C("a1 NOOP\r\n"), S("a1 MAYBE done\r\n"), END }, true, 0, 0, 0, 0, 0 },
    { "line_too_long", { OKG, C("a1 NOOP xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\na2 NOOP\r\n"), S("a2 OK\r\n"), END }, true, 64, 0, 0, 0, 0 },
    { "bare_lf", { OKG, C("a1 NOOP\n"), S("a1 OK done\r\n"), END }, true, 0, 0, 0, 0, 0 },
    { "nul_byte", { OKG, { IMAP_DIR_CLIENT, "a1 NOOP \0x\r\n", 12, 0 }, S("a1 OK done\r\n"), END }, true, 0, 0, 0, 0, 0 },
    { "eight_bit_in_atom", { OKG, C("a\xc3\xa9 NOOP\r\n"), END }, true, 0, 0, 0, 0, 0 },
    { "literal_too_large", { OKG, C("a1 LOGIN {20}\r\n01234567890123456789 x\r\n"), S("a1 NO\r\n"), END }, true, 0, 0, 10, 0, 0 },
    { "nonsync_literal_not_advertised", { OKG, C("a1 LOGIN {3+}\r\nabc x\r\n"), S("a1 NO\r\n"), END }, true, 0, 0, 0, 0, 0 },
    { "literal_minus_too_large", { OKG, C("a1 LOGIN {5000-}\r\n"), END }, true, 0, 0, 0, 0, 0 },
    { "literal_incomplete", { OKG, C("a1 LOGIN {50}\r\nabc"), END }, true, 0, 0, 0, 0, 0 },
    { "tag_reused", { OKG, C("a1 NOOP\r\na1 NOOP\r\n"), S("a1 OK\r\na1 OK\r\n"), END }, true, 0, 0, 0, 0, 0 },
    { "unknown_tag", { OKG, C("a1 NOOP\r\n"), S("zz OK what\r\n"), END }, true, 0, 0, 0, 0, 0 },
    { "client_stream_missing", { OKG, S("zz OK what\r\n"), END }, true, 0, 0, 0, 0, 0 },
    { "too_many_pending", { OKG, C("a1 NOOP\r\na2 NOOP\r\na3 NOOP\r\n"), END }, true, 0, 2, 0, 0, 0 },
    { "command_invalid_in_state", { OKG, C("a1 FETCH 1 FLAGS\r\n"), S("a1 BAD no mailbox\r\n"), END }, true, 0, 0, 0, 0, 0 },
    { "unknown_command", { OKG, C("a1 FROBNICATE now\r\n"), S("a1 BAD unknown\r\n"), END }, true, 0, 0, 0, 0, 0 },
    { "bad_base64", { OKG, C("a1 AUTHENTICATE PLAIN\r\n"), S("+ \r\n"), C("AHRp=x==\r\n"), S("a1 BAD\r\n"), END }, true, 0, 0, 0, 0, 0 },
    { "data_after_gap", { OKG, C("a1 NOOP"), { IMAP_DIR_CLIENT, NULL, 0, 10 }, C("xx\r\na2 NOOP\r\n"), S("a2 OK\r\n"), END }, true, 0, 0, 0, 0, 0 },
    { "continuation_unexpected", { OKG, S("+ hello\r\n"), END }, true, 0, 0, 0, 0, 0 },
    { "response_before_greeting", { S("* 3 EXISTS\r\n"), END }, true, 0, 0, 0, 0, 0 },
    { "data_after_logout", { OKG, C("a1 LOGOUT\r\n"), S("* BYE bye\r\na1 OK\r\n"), C("a2 NOOP\r\n"), END }, true, 0, 0, 0, 0, 0 },
    { "too_many_literals", { OKG, C("a1 X {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n"
        " {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n"
        " {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n"
        " {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n {0}\r\n\r\n"), END }, true, 0, 0, 0, 0, 0 },
    { "starttls_client_cleartext", { S(GREET_TLS), C("a1 STARTTLS\r\n"), S("a1 OK go\r\n"), END }, false, 0, 0, 0, 0, 0 },
    { "responses_dropped", { OKG, C("a1 NOOP\r\n"), S("* 3 EXISTS\r\n* 4 EXISTS\r\n* 5 EXISTS\r\na1 OK\r\n"), END }, true, 0, 0, 0, 2, 0 },
    { "memcap", { OKG, C("a1 LOGIN alice secret\r\n"), S("a1 OK\r\n"), END }, true, 0, 0, 0, 0, 100 },
    { NULL, { END }, false, 0, 0, 0, 0, 0 },
};

static void test_anomaly_table(void **state)
{
    (void)state;
    bool seen[IMAP_ANOM__COUNT] = { false };
    for (const anom_case *c = anom_cases; c->name; c++) {
        opts o = default_opts();
        o.tls = c->tls;
        if (c->max_line)
            o.cfg.max_line = c->max_line;
        if (c->max_pending)
            o.cfg.max_pending = c->max_pending;
        if (c->max_literal)
            o.cfg.max_literal = c->max_literal;
        if (c->max_responses)
            o.cfg.max_responses = c->max_responses;
        imap_budget budget;
        imap_budget_init(&budget, c->budget);
        if (c->budget)
            o.cfg.budget = &budget;
        json_t *ev;
        if (strcmp(c->name, "starttls_client_cleartext") == 0) {
            /* a caller showing the client's first raw bytes after the switch */
            rec r;
            memset(&r, 0, sizeof r);
            r.events = json_array();
            imap_session *s = imap_session_new(&o.cfg, &callbacks, &r);
            for (const seg *g = c->conv; g->bytes; g++)
                assert_int_equal(imap_session_feed(s, g->dir, (const uint8_t *)g->bytes, strlen(g->bytes), 5),
                                 strlen(g->bytes));
            assert_int_equal(imap_session_check_tls_start(s, IMAP_DIR_CLIENT, (const uint8_t *)"a2 LOGIN", 8), 1);
            assert_int_equal(imap_session_check_tls_start(s, IMAP_DIR_CLIENT, (const uint8_t *)"a2 LOGIN", 8), 0);
            assert_int_equal(imap_session_check_tls_start(s, IMAP_DIR_SERVER, (const uint8_t *)"\x16\x03", 2), 0);
            imap_session_free(s);
            ev = r.events;
        } else {
            ev = run_all_splits(c->conv, &o, NULL);
        }
        if (count_anomaly(ev, c->name) == 0) {
            char *d = json_dumps(ev, JSON_COMPACT);
            fail_msg("case %s: anomaly not raised: %s", c->name, d);
        }
        const json_t *a = anomaly_ev(ev, c->name);
        const json_t *data = json_object_get(a, "data");
        assert_string_equal(jstr(data, "name"), c->name);
        assert_non_null(jstr(data, "description"));
        assert_non_null(jstr(data, "direction"));
        assert_non_null(json_object_get(data, "offset"));
        size_t i;
        json_t *e;
        json_array_foreach(ev, i, e)
            if (strcmp(jstr(e, "type"), "anomaly") == 0)
                for (int k = 0; k < IMAP_ANOM__COUNT; k++)
                    if (strcmp(jstr(e, "name"), imap_anomaly_name((imap_anomaly)k)) == 0)
                        seen[k] = true;
        if (o.summary && json_object_get(o.summary, "anomalies"))
            assert_true(jint(json_object_get(o.summary, "anomalies"), c->name) >= 1);
        json_decref(o.summary);
        json_decref(ev);
        assert_int_equal(atomic_load(&budget.used), 0); /* every session gave back what it took */
    }
    /* the other tests raise the STARTTLS/credential ones; here the rest */
    static const char *const elsewhere[] = {
        "starttls_command_injection", "starttls_response_injection", "starttls_untagged_before_ok",
        "starttls_invalid_state", "tls_before_starttls_ok", "preauth_cleartext",
        "cleartext_credentials", "starttls_stripped", NULL
    };
    for (int k = 0; k < IMAP_ANOM__COUNT; k++) {
        bool other = false;
        for (int j = 0; elsewhere[j]; j++)
            if (strcmp(elsewhere[j], imap_anomaly_name((imap_anomaly)k)) == 0)
                other = true;
        if (!seen[k] && !other)
            fail_msg("anomaly %s is not triggered by any test", imap_anomaly_name((imap_anomaly)k));
    }
    assert_string_equal(imap_anomaly_name(IMAP_ANOM__COUNT), "unknown");
}

static void test_specific_anomaly_values(void **state)
{
    (void)state;
    /* unknown tag: still a transaction, command null */
    const seg c1[] = { OKG, S("zz OK what\r\n"), END };
    opts o = default_opts();
    o.tls = true;
    json_t *ev = run(c1, &o, SPLIT_WHOLE, 1, NULL);
    const json_t *t = txn(ev, "zz", 0);
    assert_true(json_is_null(json_object_get(t, "command")));
    assert_string_equal(jstr(t, "status"), "OK");
    json_decref(o.summary);
    json_decref(ev);
    /* too many pending: the oldest abandoned with a null status */
    const seg c2[] = { OKG, C("a1 NOOP\r\na2 NOOP\r\na3 NOOP\r\n"), S("a3 OK\r\n"), END };
    o = default_opts();
    o.tls = true;
    o.cfg.max_pending = 2;
    ev = run(c2, &o, SPLIT_WHOLE, 1, NULL);
    t = txn(ev, "a1", 0);
    assert_true(json_is_null(json_object_get(t, "status")));
    assert_string_equal(jstr(t, "reason"), "too_many_pending"); /* no "abandoned": the reason says it */
    assert_null(json_object_get(t, "abandoned"));
    assert_string_equal(jstr(txn(ev, "a3", 0), "status"), "OK");
    /* a2 never answered: ended with a reason */
    t = txn(ev, "a2", 0);
    assert_true(json_is_null(json_object_get(t, "status")));
    assert_string_equal(jstr(t, "reason"), "test end");
    json_decref(o.summary);
    json_decref(ev);
    /* line too long: the next line is parsed again */
    o = default_opts();
    o.tls = true;
    o.cfg.max_line = 64;
    ev = run(anom_cases[2].conv, &o, SPLIT_WHOLE, 1, NULL);
    assert_string_equal(jstr(txn(ev, "a2", 0), "status"), "OK");
    assert_int_equal(count_anomaly(ev, "line_too_long"), 1);
    json_decref(o.summary);
    json_decref(ev);
}

/* ---- gaps ---- */

static void test_gap_in_literal(void **state)
{
    (void)state;
    const seg conv[] = {
        S("* PREAUTH ok\r\n"),
        C("s SELECT INBOX\r\n"),
        S("s OK done\r\n"),
        C("f FETCH 1 BODY[]\r\n"),
        S("* 1 FETCH (BODY[] {20}\r\n0123"),
        { IMAP_DIR_SERVER, NULL, 0, 10 },
        S("456789)\r\nf OK done\r\n"),
        END
    };
    opts o = default_opts();
    o.tls = true;
    o.cfg.hash_literals = true;
    rec r;
    json_t *ev = run_all_splits(conv, &o, &r);
    assert_no_anomalies(ev);
    const json_t *t = txn(ev, "f", 0);
    assert_string_equal(jstr(t, "status"), "OK");
    const json_t *l = json_array_get(json_object_get(t, "literals"), 0);
    assert_int_equal(jint(l, "size"), 20);
    assert_true(json_is_true(json_object_get(l, "incomplete")));
    assert_int_equal(jint(l, "received"), 10);
    assert_null(json_object_get(l, "sha256"));
    assert_int_equal(r.lit_incomplete, 1);
    assert_int_equal(r.lit_len, 10);
    free(r.lit_bytes);
    json_decref(o.summary);
    json_decref(ev);
}

static void test_gap_resync(void **state)
{
    (void)state;
    const seg conv[] = {
        S("* PREAUTH ok\r\n"),
        C("s SELECT INBOX\r\n"),
        S("s OK done\r\n"),
        C("f FETCH 1 BODY[]\r\n"),
        S("* 1 FETCH (BODY[] {30}\r\n0123456789"),
        { IMAP_DIR_SERVER, NULL, 0, 40 },
        /* message data lines, then a clear response start */
        S("more message text\r\nf2 OK not ours\r\n* 2 EXISTS\r\nf OK done\r\n"),
        END
    };
    opts o = default_opts();
    o.tls = true;
    json_t *ev = run_all_splits(conv, &o, NULL);
    assert_int_equal(count_anomaly(ev, "data_after_gap"), 1);
    assert_int_equal(count_type(ev, "anomaly"), 1);
    const json_t *t = txn(ev, "f", 0);
    assert_string_equal(jstr(t, "status"), "OK");
    assert_int_equal(jcount(json_object_get(t, "untagged"), "EXISTS"), 1);
    json_decref(o.summary);
    json_decref(ev);
}

static void test_greeting_helper(void **state)
{
    (void)state;
    assert_true(imap_looks_like_greeting((const uint8_t *)"* OK ready\r\n", 12));
    assert_true(imap_looks_like_greeting((const uint8_t *)"* PREAUTH x", 11));
    assert_true(imap_looks_like_greeting((const uint8_t *)"* bye", 5));
    assert_false(imap_looks_like_greeting((const uint8_t *)"* 1 EXISTS", 10));
    assert_false(imap_looks_like_greeting((const uint8_t *)"a1 OK", 5));
    assert_false(imap_looks_like_greeting((const uint8_t *)"* O", 3));
}

/* RFC 2971 ID, RFC 5161 ENABLE, unsolicited responses, trace line kinds. */
static void test_id_enable_lines(void **state)
{
    (void)state;
    const seg conv[] = {
        S("* PREAUTH [CAPABILITY IMAP4rev1 ID ENABLE UTF8=ACCEPT IDLE] ok\r\n"),
        C("a ID (\"name\" \"sodr\" \"version\" \"19.34\")\r\n"),
        S("* ID (\"name\" \"Cyrus\" \"version\" \"1.5\" \"os\" NIL)\r\na OK done\r\n"),
        C("b ENABLE UTF8=ACCEPT\r\n"),
        S("* ENABLED UTF8=ACCEPT\r\nb OK enabled\r\n"),
        S("* 5 EXISTS\r\n"),
        C("c IDLE\r\n"),
        S("+ idling\r\n"),
        C("done\r\n"),
        S("c OK\r\n"),
        END
    };
    opts o = default_opts();
    o.tls = true;
    o.cfg.emit_lines = true;
    json_t *ev = run_all_splits(conv, &o, NULL);
    assert_no_anomalies(ev);
    const json_t *id = json_object_get(o.summary, "id");
    /* ID parameters of both sides, client first: [{direction, name, value}] */
    assert_int_equal(json_array_size(id), 5);
    static const char *const want[5][3] = {{"client", "name", "sodr"}, {"client", "version", "19.34"},
                                           {"server", "name", "Cyrus"}, {"server", "version", "1.5"},
                                           {"server", "os", NULL}};
    for (size_t k = 0; k < 5; k++) {
        const json_t *p = json_array_get(id, k);
        assert_string_equal(jstr(p, "direction"), want[k][0]);
        assert_string_equal(jstr(p, "name"), want[k][1]);
        if (want[k][2])
            assert_string_equal(jstr(p, "value"), want[k][2]);
        else
            assert_true(json_is_null(json_object_get(p, "value")));
    }
    assert_string_equal(json_string_value(json_array_get(json_object_get(o.summary, "enabled"), 0)), "UTF8=ACCEPT");
    assert_int_equal(jcount(json_object_get(o.summary, "unsolicited"), "EXISTS"), 1);
    /* kinds of trace lines, in order */
    static const char *const kinds[] = { "untagged", "command", "untagged", "tagged", "command", "untagged",
                                         "tagged", "untagged", "command", "continuation", "done", "tagged" };
    size_t i, k = 0;
    json_t *e;
    json_array_foreach(ev, i, e) {
        if (strcmp(jstr(e, "type"), "line") != 0)
            continue;
        assert_true(k < sizeof kinds / sizeof kinds[0]);
        assert_string_equal(jstr(json_object_get(e, "data"), "kind"), kinds[k]);
        k++;
    }
    assert_int_equal(k, sizeof kinds / sizeof kinds[0]);
    json_decref(o.summary);
    json_decref(ev);
}

/* A callback that returns non-zero stops the feed call (-1). */
static int stop_on_transaction(void *user, const imap_event *ev)
{
    int *n = user;
    if (ev->type == IMAP_EV_TRANSACTION)
        return ++*n > 0;
    return 0;
}

static void test_callback_stop(void **state)
{
    (void)state;
    imap_config cfg;
    imap_config_default(&cfg);
    const imap_callbacks cb = { stop_on_transaction, NULL, NULL, NULL, NULL };
    int n = 0;
    imap_session *s = imap_session_new(&cfg, &cb, &n);
    const char *g = "* PREAUTH ok\r\n";
    assert_int_equal(imap_session_feed(s, IMAP_DIR_SERVER, (const uint8_t *)g, strlen(g), 1), strlen(g));
    assert_int_equal(imap_session_feed(s, IMAP_DIR_CLIENT, (const uint8_t *)"a NOOP\r\nb NOOP\r\n", 16, 2), 16);
    const char *r = "a OK\r\nb OK\r\n";
    assert_int_equal(imap_session_feed(s, IMAP_DIR_SERVER, (const uint8_t *)r, strlen(r), 3), -1);
    assert_int_equal(n, 1);
    json_t *sum = summary_json(s);
    assert_int_equal(json_integer_value(json_object_get(sum, "pending")), 1);
    json_decref(sum);
    imap_session_free(s);
}

/* Findings of fuzz/fuzz_dissector.c become cases here. */
static void test_fuzz_regressions(void **state)
{
    (void)state;
    /* fuzz finding 1: a TLS record as the very first client byte while
     * STARTTLS is pending: feed returns 0 (switch at the first byte), and
     * the next call consumes everything (raw TLS: ignored). */
    imap_config cfg;
    imap_config_default(&cfg);
    rec r;
    memset(&r, 0, sizeof r);
    r.events = json_array();
    imap_session *s = imap_session_new(&cfg, &callbacks, &r);
    const char *g = GREET_TLS;
    assert_int_equal(imap_session_feed(s, IMAP_DIR_SERVER, (const uint8_t *)g, strlen(g), 1), strlen(g));
    assert_int_equal(imap_session_feed(s, IMAP_DIR_CLIENT, (const uint8_t *)"a STARTTLS\r\n", 12, 2), 12);
    assert_int_equal(imap_session_feed(s, IMAP_DIR_CLIENT, (const uint8_t *)"\x16\x03\x01x\r\n", 6, 3), 0);
    assert_int_equal(imap_session_feed(s, IMAP_DIR_CLIENT, (const uint8_t *)"\x16\x03\x01x\r\n", 6, 3), 6);
    assert_int_equal(imap_session_feed(s, IMAP_DIR_CLIENT, (const uint8_t *)"b NOOP\r\n", 8, 4), 8);
    imap_session_end(s, "end", 5);
    imap_session_free(s);
    assert_int_equal(count_anomaly(r.events, "tls_before_starttls_ok"), 1);
    assert_int_equal(count_type(r.events, "anomaly"), 1);
    /* the STARTTLS never answered; nothing parsed from the TLS bytes */
    assert_int_equal(count_type(r.events, "transaction"), 1);
    json_decref(r.events);

    /* fuzz finding 2: an overlong line ending in a literal marker split
     * after the marker's "{": the dropped line must still frame its
     * literal whatever the split (the tail kept for the check starts with
     * the end of the buffered text). */
    const seg c2[] = {
        S("* 1 FETCH (BODY[] xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx ~{6}\r\nabcdef)\r\n"),
        S("* 2 EXISTS\r\n"),
        END
    };
    opts o = default_opts();
    o.cfg.max_line = 64;
    json_t *ev = run_all_splits(c2, &o, NULL);
    assert_int_equal(count_anomaly(ev, "line_too_long"), 1);
    assert_int_equal(count_anomaly(ev, "literal_incomplete"), 0);
    assert_int_equal(jint(json_object_get(o.summary, "literals"), "server_count"), 1);
    assert_int_equal(jint(json_object_get(o.summary, "literals"), "server_bytes"), 6);
    assert_int_equal(jcount(json_object_get(o.summary, "unsolicited"), "EXISTS"), 1);
    json_decref(o.summary);
    json_decref(ev);
    /* fuzz finding 3: the same with the marker split across two pieces,
     * "{" | "3}": the continuation after the literal is still part of the
     * dropped line, never a command */
    const seg c3[] = {
        S("* PREAUTH ok\r\n"),
        C("a1 NOOP xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx {"),
        C("3}\r\nabc not a command\r\na2 NOOP\r\n"),
        S("a2 OK\r\n"),
        END
    };
    o = default_opts();
    o.tls = true;
    o.cfg.max_line = 64;
    ev = run_all_splits(c3, &o, NULL);
    assert_int_equal(count_anomaly(ev, "line_too_long"), 1);
    assert_int_equal(count_type(ev, "anomaly"), 1);
    assert_int_equal(jint(json_object_get(o.summary, "literals"), "client_count"), 1);
    assert_string_equal(jstr(txn(ev, "a2", 0), "status"), "OK");
    json_decref(o.summary);
    json_decref(ev);
}

/* RFC 9051 7.2.2 / 9: capability names are atoms compared without regard
 * to case: shown as the server spelled them, matched case-insensitively
 * (lookup, LITERAL+, STARTTLS, LOGINDISABLED, ENABLED UTF8=ACCEPT). */
static void test_capability_spelling(void **state)
{
    (void)state;
    const seg conv[] = {
        S("* OK [CAPABILITY IMAP4rev1 StartTLS LoginDisabled Literal+ Idle] ready\r\n"),
        C("a CAPABILITY\r\n"),
        S("* CAPABILITY IMAP4rev1 literal+ Enable Utf8=Accept auth=PLAIN Idle\r\na OK done\r\n"),
        C("b LOGIN {5+}\r\nalice secret\r\n"),
        S("b OK in\r\n"),
        C("c ENABLE utf8=accept\r\n"),
        S("* ENABLED Utf8=Accept\r\nc OK\r\n"),
        END
    };
    opts o = default_opts();
    o.tls = true;
    o.cfg.emit_lines = true;
    json_t *ev = run_all_splits(conv, &o, NULL);
    /* literal+ counts as LITERAL+: the {5+} is no anomaly */
    assert_no_anomalies(ev);
    /* the trace line of * CAPABILITY keeps the server's spelling */
    size_t i;
    json_t *e;
    int seen = 0;
    json_array_foreach(ev, i, e) {
        const json_t *d = json_object_get(e, "data");
        if (strcmp(jstr(e, "type"), "line") != 0 || !json_object_get(d, "capabilities"))
            continue;
        const json_t *c = json_object_get(d, "capabilities");
        if (seen == 0) {
            assert_int_equal(json_array_size(c), 5);
            assert_string_equal(json_string_value(json_array_get(c, 1)), "StartTLS");
            assert_string_equal(json_string_value(json_array_get(c, 2)), "LoginDisabled");
        } else {
            assert_int_equal(json_array_size(c), 6);
            assert_string_equal(json_string_value(json_array_get(c, 0)), "IMAP4rev1");
            assert_string_equal(json_string_value(json_array_get(c, 1)), "literal+");
            assert_string_equal(json_string_value(json_array_get(c, 4)), "auth=PLAIN");
        }
        seen++;
    }
    assert_int_equal(seen, 2);
    /* the summary: the names, spelling kept (rfc and meaning only with
     * --annotate, in the event's annotations: test_annotations.py) */
    const json_t *caps = json_object_get(o.summary, "capabilities");
    assert_int_equal(json_array_size(caps), 6);
    assert_string_equal(json_string_value(json_array_get(caps, 3)), "Utf8=Accept");
    assert_string_equal(json_string_value(json_array_get(caps, 1)), "literal+");
    assert_string_equal(json_string_value(json_array_get(caps, 4)), "auth=PLAIN");
    /* ENABLED: spelled as the server did, and UTF8=ACCEPT took effect */
    const json_t *en = json_object_get(o.summary, "enabled");
    assert_int_equal(json_array_size(en), 1);
    assert_string_equal(json_string_value(json_array_get(en, 0)), "Utf8=Accept");
    json_decref(o.summary);
    json_decref(ev);

    /* STARTTLS in lower case is STARTTLS (offered, not mangled): no
     * stripping alarm */
    const seg conv2[] = {
        S("* OK [CAPABILITY IMAP4rev1 starttls] ready\r\n"),
        C("a LOGIN joe secret\r\n"),
        S("a NO no\r\n"),
        END
    };
    o = default_opts();
    ev = run(conv2, &o, SPLIT_WHOLE, 1, NULL);
    assert_int_equal(count_anomaly(ev, "cleartext_credentials"), 1);
    assert_int_equal(count_anomaly(ev, "starttls_stripped"), 0);
    json_decref(o.summary);
    json_decref(ev);
}

/* SPECS.md 6.1 / RFC 9051 6.2.1: the client pipelined "a2 LOGIN" after
 * STARTTLS in the same segment (the generated-imap cmd-injection vector).
 * At the switch the injected command is closed unanswered, so the inner
 * a2 is a new command (no tag_reused), the inner "a2 OK" completes it,
 * the state is still not authenticated and a3 LOGIN is valid. */
static void test_starttls_injection_abandoned(void **state)
{
    (void)state;
    const seg conv[] = {
        S(GREET_TLS),
        C("a1 STARTTLS\r\na2 LOGIN alice \"injected\"\r\n"),
        S("a1 OK Begin TLS negotiation now\r\n"),
        /* inside TLS (decrypted) */
        C("a2 CAPABILITY\r\n"),
        S("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na2 OK CAPABILITY completed\r\n"),
        C("a3 LOGIN alice secret\r\n"),
        S("a3 OK LOGIN completed\r\n"),
        C("a4 LOGOUT\r\n"),
        S("* BYE logging out\r\na4 OK LOGOUT completed\r\n"),
        END
    };
    opts o = default_opts();
    o.decrypt = true;
    json_t *ev = run_all_splits(conv, &o, NULL);
    assert_int_equal(count_anomaly(ev, "starttls_command_injection"), 1);
    assert_int_equal(count_anomaly(ev, "cleartext_credentials"), 1);
    assert_int_equal(count_anomaly(ev, "tag_reused"), 0);
    assert_int_equal(count_anomaly(ev, "command_invalid_in_state"), 0);
    assert_int_equal(count_anomaly(ev, "unknown_tag"), 0);
    assert_int_equal(count_type(ev, "anomaly"), 2);
    assert_int_equal(count_type(ev, "transaction"), 5);
    /* the injected LOGIN: no status, the reason, closed at the switch
     * (after the STARTTLS transaction, before the switch events) */
    const json_t *t = txn(ev, "a2", 0);
    assert_string_equal(jstr(t, "command"), "LOGIN");
    assert_true(json_is_null(json_object_get(t, "status")));
    assert_string_equal(jstr(t, "reason"), "abandoned_at_tls_start");
    assert_null(json_object_get(t, "abandoned"));
    assert_string_equal(jstr(t, "user"), "alice");
    size_t i, k = 0;
    json_t *e;
    static const char *const order[] = { "transaction", "transaction", "switch", "switch" };
    json_array_foreach(ev, i, e) {
        if (k == 0 && strcmp(jstr(e, "type"), "transaction") != 0)
            continue;
        if (k < 4)
            assert_string_equal(jstr(e, "type"), order[k]);
        if (k == 0)
            assert_string_equal(jstr(json_object_get(e, "data"), "command"), "STARTTLS");
        k++;
    }
    /* inside TLS: the new a2 and a3 complete normally */
    t = txn(ev, "a2", 1);
    assert_string_equal(jstr(t, "command"), "CAPABILITY");
    assert_string_equal(jstr(t, "status"), "OK");
    assert_string_equal(jstr(t, "state"), "not_authenticated");
    assert_true(layer_is(t, "tls", NULL));
    t = txn(ev, "a3", 0);
    assert_string_equal(jstr(t, "status"), "OK");
    assert_string_equal(jstr(t, "state"), "not_authenticated");
    assert_string_equal(jstr(txn(ev, "a4", 0), "state"), "authenticated");
    /* the summary: one unanswered and one good attempt */
    assert_int_equal(jint(o.summary, "login_failures"), 1);
    assert_true(json_is_true(json_object_get(o.summary, "login_success")));
    assert_string_equal(jstr(o.summary, "state"), "logout");
    assert_null(json_object_get(o.summary, "pending")); /* all emitted at the end */
    assert_int_equal(json_array_size(json_object_get(o.summary, "capabilities")), 2);
    assert_int_equal(json_array_size(json_object_get(o.summary, "capabilities_before_tls")), 3);
    json_decref(o.summary);
    json_decref(ev);
}

/* A one-sided capture (only server to client, like suricata-verify
 * tcp-async-01): the tagged responses are still transactions (command
 * null), and one client_stream_missing replaces an unknown_tag each. */
static void test_client_stream_missing(void **state)
{
    (void)state;
    const seg conv[] = {
        S("* OK IMAP4rev1 Service Ready\r\n"),
        S("* CAPABILITY IMAP4rev1 ID LITERAL+\r\nC1 OK CAPABILITY completed\r\n"),
        S("C2 OK LOGIN completed\r\n"),
        S("* 21 EXISTS\r\n* 6 RECENT\r\nC3 OK [READ-WRITE] SELECT completed\r\n"),
        S("C4 OK Fetch completed\r\n"),
        END
    };
    opts o = default_opts();
    o.tls = true;
    json_t *ev = run_all_splits(conv, &o, NULL);
    assert_int_equal(count_anomaly(ev, "unknown_tag"), 0);
    assert_int_equal(count_anomaly(ev, "client_stream_missing"), 1);
    assert_int_equal(count_type(ev, "anomaly"), 1);
    const json_t *a = anomaly_ev(ev, "client_stream_missing");
    const json_t *d = json_object_get(a, "data");
    assert_string_equal(jstr(d, "direction"), "server");
    assert_string_equal(jstr(d, "tag"), "C1");
    assert_int_equal(jint(d, "offset"), strlen(conv[0].bytes) + strlen("* CAPABILITY IMAP4rev1 ID LITERAL+\r\n"));
    assert_int_equal(count_type(ev, "transaction"), 4);
    const json_t *t = txn(ev, "C3", 0);
    assert_true(json_is_null(json_object_get(t, "command")));
    assert_string_equal(jstr(t, "status"), "OK");
    assert_string_equal(jstr(json_object_get(t, "response_code"), "code"), "READ-WRITE");
    assert_int_equal(jint(json_object_get(o.summary, "anomalies"), "client_stream_missing"), 1);
    json_decref(o.summary);
    json_decref(ev);

    /* once the client has sent bytes, an unmatched tag is unknown_tag again */
    const seg conv2[] = {
        S("* OK ready\r\n"),
        C("a1 NOOP\r\n"),
        S("a1 OK\r\nzz OK what\r\n"),
        END
    };
    o = default_opts();
    o.tls = true;
    ev = run_all_splits(conv2, &o, NULL);
    assert_int_equal(count_anomaly(ev, "unknown_tag"), 1);
    assert_int_equal(count_anomaly(ev, "client_stream_missing"), 0);
    json_decref(o.summary);
    json_decref(ev);
}

/* The caller knows the capture began mid-connection (no handshake): the
 * pre-capture tail (DONE, the IDLE's OK, the rest of a literal) is skipped
 * without anomalies, the state is unknown until proven, and the first
 * complete exchange is decoded. */
static void test_set_midstream(void **state)
{
    (void)state;
    const seg conv[] = {
        S("lo world\r\n)\r\n15 OK FETCH completed\r\n"),   /* the end of a literal of a FETCH */
        C("DONE\r\n"),
        S("16 OK IDLE completed\r\n"),
        C("17 SELECT INBOX\r\n"),
        S("* 3 EXISTS\r\n17 OK [READ-WRITE] done\r\n"),
        C("18 FETCH 1 (FLAGS)\r\n"),
        S("* 1 FETCH (FLAGS (\\Seen))\r\n18 OK done\r\n"),
        END
    };
    opts o = default_opts();
    o.midstream = true;
    json_t *ev = run_all_splits(conv, &o, NULL);
    assert_int_equal(count_type(ev, "anomaly"), 0);
    assert_int_equal(count_type(ev, "transaction"), 2);
    assert_string_equal(jstr(txn(ev, "17", 0), "command"), "SELECT");
    assert_string_equal(jstr(txn(ev, "17", 0), "state"), "unknown");
    assert_string_equal(jstr(txn(ev, "18", 0), "state"), "selected");
    assert_true(json_is_true(json_object_get(o.summary, "midstream")));
    json_decref(o.summary);
    json_decref(ev);
}

/* No TCP handshake, and the first server line is "* OK Still here" (an
 * IDLE keep-alive, RFC 2177): no greeting, so mid-stream with an unknown
 * state; the answer to the IDLE sent before the capture is no unknown_tag
 * and its transaction has no request time.  A real greeting without the
 * handshake stays a greeting. */
static void test_no_handshake_keepalive(void **state)
{
    (void)state;
    const seg conv[] = {
        S("* OK Still here\r\n"),
        C("DONE\r\n"),
        S("a4 OK Idle completed.\r\n"),
        C("a5 FETCH 1 (FLAGS)\r\n"),
        S("* 1 FETCH (FLAGS (\\Seen))\r\na5 OK done\r\n"),
        END
    };
    opts o = default_opts();
    o.no_handshake = true;
    json_t *ev = run_all_splits(conv, &o, NULL);
    assert_int_equal(count_type(ev, "anomaly"), 0);
    assert_true(json_is_true(json_object_get(o.summary, "midstream")));
    assert_true(json_is_null(json_object_get(o.summary, "greeting")));
    const json_t *orphan = txn(ev, "a4", 0);
    assert_non_null(orphan);
    assert_true(json_is_null(json_object_get(orphan, "command")));
    /* no command time: no latency (the command time is the event's
     * timestamp minus latency_us) */
    assert_null(json_object_get(orphan, "latency_us"));
    assert_null(json_object_get(orphan, "ts_request_us"));
    assert_string_equal(jstr(txn(ev, "a5", 0), "state"), "unknown");
    json_decref(o.summary);
    json_decref(ev);

    const seg conv2[] = {
        S("* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n"),
        C("a1 SELECT INBOX\r\n"),
        S("a1 NO not authenticated\r\n"),
        END
    };
    o = default_opts();
    o.no_handshake = true;
    ev = run_all_splits(conv2, &o, NULL);
    assert_false(json_is_true(json_object_get(o.summary, "midstream")));
    assert_string_equal(jstr(json_object_get(o.summary, "greeting"), "status"), "OK");
    assert_int_equal(count_anomaly(ev, "command_invalid_in_state"), 1);
    json_decref(o.summary);
    json_decref(ev);
}

/* A server line that is not tag-shaped (the ")" left by a miscounted
 * literal) is no transaction and no new alert after the broken line it
 * ends; a bare "[COPYUID ...]" line (Exchange) is the code of the COPY. */
static void test_broken_server_lines(void **state)
{
    (void)state;
    const seg conv[] = {
        S("* PREAUTH ready\r\n"),
        C("a1 SELECT INBOX\r\n"),
        S("a1 OK [READ-WRITE] done\r\n"),
        C("a2 FETCH 1 (BODY[HEADER])\r\n"),
        S("* 1 FETCH (BODY[HEADER] {5}\r\nSubj:\r\n)\r\na2 OK done\r\n"),
        C("a3 UID COPY 7 Trash\r\n"),
        S("[COPYUID 38505 7 3956] COPY completed.\r\na3 OK COPY completed.\r\n"),
        C("a4 NOOP\r\n"),
        S("garbage without a tag\r\na4 OK done\r\n"),
        END
    };
    opts o = default_opts();
    json_t *ev = run_all_splits(conv, &o, NULL);
    /* the FETCH line, the bare code, the garbage: one each; not the ")" */
    assert_int_equal(count_anomaly(ev, "malformed_response"), 3);
    assert_int_equal(count_anomaly(ev, "unknown_tag"), 0);
    assert_int_equal(count_type(ev, "transaction"), 4);
    const json_t *r = json_array_get(json_object_get(txn(ev, "a3", 0), "responses"), 0);
    assert_string_equal(jstr(r, "type"), "CODE");
    assert_string_equal(jstr(json_object_get(r, "code"), "code"), "COPYUID");
    assert_int_equal(jint(json_object_get(r, "code"), "uidvalidity"), 38505);
    assert_string_equal(jstr(txn(ev, "a2", 0), "mailbox"), "INBOX");
    json_decref(o.summary);
    json_decref(ev);
}

/* A capture that starts mid-connection (bruteshark Plain_Base64 flow 2):
 * no greeting, so the state is unknown and no command is judged against
 * it until a response proves the state (RFC 9051 3; 7.4: message data
 * only about the selected mailbox). */
static void test_midstream_unknown_state(void **state)
{
    (void)state;
    const seg conv[] = {
        C("DONE\r\n"),
        S("16 OK IDLE completed\r\n"),
        C("17 list \"\" \"Sent\"\r\n"),
        S("* LIST (\\HasNoChildren) \"/\" Sent\r\n17 OK LIST completed\r\n"),
        C("18 UID fetch 2:* (FLAGS)\r\n"),
        S("* 1 FETCH (UID 1 FLAGS (\\Recent))\r\n18 OK UID FETCH completed\r\n"),
        C("19 LOGIN joe secret\r\n"),
        S("19 BAD wrong state\r\n"),
        C("20 CLOSE\r\n"),
        S("20 OK closed\r\n"),
        C("21 LOGOUT\r\n"),
        S("* BYE bye\r\n21 OK\r\n"),
        END
    };
    opts o = default_opts();
    o.tls = true;
    json_t *ev = run_all_splits(conv, &o, NULL);
    assert_int_equal(count_anomaly(ev, "response_before_greeting"), 1);
    assert_string_equal(jstr(json_object_get(anomaly_ev(ev, "response_before_greeting"), "data"), "direction"),
                        "client");
    assert_int_equal(count_anomaly(ev, "malformed_command"), 1);   /* the DONE */
    assert_int_equal(count_anomaly(ev, "unknown_tag"), 1);         /* 16 */
    /* only the LOGIN in the selected state, once the state was known */
    assert_int_equal(count_anomaly(ev, "command_invalid_in_state"), 1);
    assert_string_equal(jstr(json_object_get(anomaly_ev(ev, "command_invalid_in_state"), "data"), "tag"), "19");
    assert_int_equal(count_type(ev, "anomaly"), 4);
    assert_string_equal(jstr(txn(ev, "17", 0), "state"), "unknown");
    assert_string_equal(jstr(txn(ev, "18", 0), "state"), "unknown");
    assert_string_equal(jstr(txn(ev, "19", 0), "state"), "selected");
    assert_string_equal(jstr(txn(ev, "20", 0), "state"), "selected");
    assert_string_equal(jstr(txn(ev, "21", 0), "state"), "authenticated");
    assert_string_equal(jstr(o.summary, "state"), "logout");
    assert_true(json_is_null(json_object_get(o.summary, "greeting")));
    json_decref(o.summary);
    json_decref(ev);

    /* the server's first line is a SELECT response, not a greeting; the
     * state stays unknown until a tagged OK proves it (FETCH: selected) */
    const seg conv2[] = {
        S("* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"),
        C("a1 CREATE foo\r\n"),
        S("a1 OK created\r\n"),
        C("a2 STORE 1 +FLAGS (\\Seen)\r\n"),
        S("a2 OK stored\r\n"),
        C("a3 ENABLE CONDSTORE\r\n"),
        S("a3 BAD not now\r\n"),
        END
    };
    o = default_opts();
    o.tls = true;
    ev = run_all_splits(conv2, &o, NULL);
    assert_int_equal(count_anomaly(ev, "response_before_greeting"), 1);
    assert_string_equal(jstr(json_object_get(anomaly_ev(ev, "response_before_greeting"), "data"), "direction"),
                        "server");
    assert_int_equal(count_anomaly(ev, "command_invalid_in_state"), 1); /* ENABLE when selected */
    assert_int_equal(count_type(ev, "anomaly"), 2);
    assert_string_equal(jstr(txn(ev, "a1", 0), "state"), "unknown");
    assert_string_equal(jstr(txn(ev, "a2", 0), "state"), "unknown");
    assert_string_equal(jstr(txn(ev, "a3", 0), "state"), "selected");
    assert_string_equal(jstr(o.summary, "state"), "selected");
    assert_true(json_is_null(json_object_get(o.summary, "greeting")));
    json_decref(o.summary);
    json_decref(ev);

    /* a client that spoke before the greeting: the late greeting is still
     * the greeting, and the state known from it */
    const seg conv3[] = {
        C("a1 CAPABILITY\r\n"),
        S("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n"),
        S("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na1 OK done\r\n"),
        C("a2 SELECT INBOX\r\n"),
        S("a2 NO login first\r\n"),
        END
    };
    o = default_opts();
    o.tls = true;
    ev = run_all_splits(conv3, &o, NULL);
    assert_int_equal(count_anomaly(ev, "response_before_greeting"), 1);
    assert_int_equal(count_anomaly(ev, "command_invalid_in_state"), 1);
    assert_int_equal(count_type(ev, "anomaly"), 2);
    assert_string_equal(jstr(txn(ev, "a1", 0), "state"), "unknown");
    assert_string_equal(jstr(txn(ev, "a2", 0), "state"), "not_authenticated");
    assert_string_equal(jstr(json_object_get(o.summary, "greeting"), "status"), "OK");
    assert_string_equal(jstr(o.summary, "state"), "not_authenticated");
    json_decref(o.summary);
    json_decref(ev);
}

/* Types of the events in order, "line:C" / "line:S" / "anomaly:NAME" /
 * "transaction:TAG", joined by spaces (for order assertions). */
static char *event_order(const json_t *evs)
{
    size_t cap = 4096, n = 0, i;
    char *out = calloc(1, cap);
    json_t *e;
    json_array_foreach(evs, i, e) {
        const char *t = jstr(e, "type");
        const json_t *d = json_object_get(e, "data");
        char one[160];
        if (strcmp(t, "line") == 0)
            snprintf(one, sizeof one, "line:%s", jint(e, "dir") == IMAP_DIR_CLIENT ? "C" : "S");
        else if (strcmp(t, "anomaly") == 0)
            snprintf(one, sizeof one, "anomaly:%s", jstr(e, "name"));
        else if (strcmp(t, "transaction") == 0)
            snprintf(one, sizeof one, "transaction:%s", jstr(d, "tag") ? jstr(d, "tag") : "-");
        else
            snprintf(one, sizeof one, "%s", t);
        size_t l = strlen(one);
        assert_true(n + l + 2 < cap);
        memcpy(out + n, one, l);
        n += l;
        out[n++] = ' ';
    }
    if (n)
        out[n - 1] = '\0';
    return out;
}

/* An anomaly about a line comes after that line's LINE event (a trace
 * shows the line, then what is wrong with it); framing anomalies
 * (bare_lf, line_too_long) come where the framing found them. */
static void test_alert_order(void **state)
{
    (void)state;
    const seg conv[] = {
        S("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n"),
        C("a1 LOGIN joe secret\r\n"),                 /* cleartext (STARTTLS never offered) */
        S("a1 OK [CAPABILITY IMAP4rev1] in\r\n"),
        C("a2 NOOP\r\na2 NOOP\r\n"),                  /* tag_reused */
        S("a2 OK\r\nzz OK\r\n"),                      /* unknown_tag */
        C("a3 FETCH 1 FLAGS\n"),                      /* bare_lf, invalid in state */
        S("a3 BAD no mailbox\r\n"),
        END
    };
    opts o = default_opts();
    o.cfg.emit_lines = true;
    json_t *ev = run_all_splits(conv, &o, NULL);
    char *got = event_order(ev);
    assert_string_equal(got,
        "line:S "
        "line:C anomaly:cleartext_credentials "
        "transaction:a1 line:S "
        "line:C line:C anomaly:tag_reused "
        "transaction:a2 line:S "
        "transaction:zz line:S anomaly:unknown_tag "
        "anomaly:bare_lf line:C anomaly:command_invalid_in_state "
        "transaction:a3 line:S "
        "transaction:a2");
    free(got);
    json_decref(o.summary);
    json_decref(ev);

    /* without trace lines: the same order of the other events */
    o = default_opts();
    ev = run_all_splits(conv, &o, NULL);
    got = event_order(ev);
    assert_string_equal(got,
        "anomaly:cleartext_credentials transaction:a1 anomaly:tag_reused "
        "transaction:a2 transaction:zz anomaly:unknown_tag anomaly:bare_lf anomaly:command_invalid_in_state "
        "transaction:a3 transaction:a2");
    free(got);
    json_decref(o.summary);
    json_decref(ev);
}

/* A client line with synchronizing literals is shown in parts (RFC 9051
 * 4.3: the client waits for "+" after each "{n}" CRLF): the trace reads
 * C APPEND ... {n}, S +, C <message> ... {5}, S +, C hello, then the
 * tagged response.  RFC 3502 MULTIAPPEND example shape. */
static void test_literal_line_order(void **state)
{
    (void)state;
    char cmd[128], mid[512];
    size_t mlen = strlen(APPEND_MSG);
    snprintf(cmd, sizeof cmd, "A003 APPEND saved-messages (\\Seen) {%zu}\r\n", mlen);
    snprintf(mid, sizeof mid, "%s (\\Seen) {5}\r\n", APPEND_MSG);
    const seg conv[] = {
        S("* PREAUTH [CAPABILITY IMAP4rev2 MULTIAPPEND] ready\r\n"),
        C(cmd),
        S("+ Ready for literal data\r\n"),
        C(mid),
        S("+ Ready\r\n"),
        C("hello\r\nA004 NOOP\r\n"),
        S("A003 OK APPEND completed\r\nA004 OK\r\n"),
        END
    };
    opts o = default_opts();
    o.tls = true;
    o.cfg.emit_lines = true;
    json_t *ev = run_all_splits(conv, &o, NULL);
    assert_no_anomalies(ev);
    char *got = event_order(ev);
    assert_string_equal(got, "line:S line:C line:S line:C line:S line:C line:C transaction:A003 line:S "
                             "transaction:A004 line:S");
    free(got);
    /* the three parts of A003 and the next command */
    const json_t *parts[4];
    size_t i, k = 0;
    json_t *e;
    json_array_foreach(ev, i, e)
        if (strcmp(jstr(e, "type"), "line") == 0 && jint(e, "dir") == IMAP_DIR_CLIENT && k < 4)
            parts[k++] = e;
    assert_int_equal(k, 4);
    const json_t *d = json_object_get(parts[0], "data");
    char want[160];
    snprintf(want, sizeof want, "A003 APPEND saved-messages (\\Seen) {%zu}", mlen);
    assert_string_equal(jstr(d, "text"), want);
    assert_string_equal(jstr(d, "kind"), "command");
    assert_string_equal(jstr(d, "tag"), "A003");
    assert_string_equal(jstr(d, "command"), "APPEND");
    assert_int_equal(jint(d, "part"), 1);
    assert_int_equal(jint(parts[0], "offset"), 0);
    d = json_object_get(parts[1], "data");
    snprintf(want, sizeof want, "<%zu bytes> (\\Seen) {5}", mlen);
    assert_string_equal(jstr(d, "kind"), "continuation_data");
    assert_string_equal(jstr(d, "text"), want);
    assert_int_equal(jint(d, "part"), 2);
    assert_int_equal(jint(parts[1], "offset"), strlen(cmd));
    d = json_object_get(parts[2], "data");
    assert_string_equal(jstr(d, "kind"), "continuation_data");
    assert_string_equal(jstr(d, "text"), "hello");
    assert_string_equal(jstr(d, "tag"), "A003");
    assert_int_equal(jint(d, "part"), 3);
    assert_true(json_is_true(json_object_get(d, "last_part")));
    assert_int_equal(jint(parts[2], "offset"), strlen(cmd) + strlen(mid));
    d = json_object_get(parts[3], "data");
    assert_string_equal(jstr(d, "kind"), "command");
    assert_string_equal(jstr(d, "text"), "A004 NOOP");
    assert_null(json_object_get(d, "part"));
    /* the transaction is whole */
    const json_t *t = txn(ev, "A003", 0);
    assert_int_equal(jint(t, "continuations"), 2);
    assert_int_equal(json_array_size(json_object_get(t, "literals")), 2);
    json_decref(o.summary);
    json_decref(ev);

    /* a non-synchronizing literal (RFC 7888) waits for nothing: one line */
    const seg conv2[] = {
        S("* PREAUTH [CAPABILITY IMAP4rev2 LITERAL+] ready\r\n"),
        C("A1 APPEND INBOX {5+}\r\nhello\r\n"),
        S("A1 OK done\r\n"),
        END
    };
    o = default_opts();
    o.tls = true;
    o.cfg.emit_lines = true;
    ev = run_all_splits(conv2, &o, NULL);
    assert_no_anomalies(ev);
    got = event_order(ev);
    assert_string_equal(got, "line:S line:C transaction:A1 line:S");
    free(got);
    assert_string_equal(jstr(json_object_get(json_array_get(ev, 1), "data"), "text"), "A1 APPEND INBOX {5+}hello");
    json_decref(o.summary);
    json_decref(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_session),
        cmocka_unit_test(test_append_literal),
        cmocka_unit_test(test_login_literals_state),
        cmocka_unit_test(test_authenticate),
        cmocka_unit_test(test_idle),
        cmocka_unit_test(test_starttls_clean),
        cmocka_unit_test(test_starttls_command_injection),
        cmocka_unit_test(test_starttls_response_injection),
        cmocka_unit_test(test_starttls_untagged_and_early_tls),
        cmocka_unit_test(test_starttls_stripped),
        cmocka_unit_test(test_preauth_cleartext),
        cmocka_unit_test(test_unsolicited_bye),
        cmocka_unit_test(test_compress),
        cmocka_unit_test(test_anomaly_table),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_line_names),
        cmocka_unit_test(test_specific_anomaly_values),
        cmocka_unit_test(test_gap_in_literal),
        cmocka_unit_test(test_gap_resync),
        cmocka_unit_test(test_greeting_helper),
        cmocka_unit_test(test_id_enable_lines),
        cmocka_unit_test(test_callback_stop),
        cmocka_unit_test(test_fuzz_regressions),
        cmocka_unit_test(test_capability_spelling),
        cmocka_unit_test(test_starttls_injection_abandoned),
        cmocka_unit_test(test_append_literals),
        cmocka_unit_test(test_client_stream_missing),
        cmocka_unit_test(test_midstream_unknown_state),
        cmocka_unit_test(test_set_midstream),
        cmocka_unit_test(test_no_handshake_keepalive),
        cmocka_unit_test(test_broken_server_lines),
        cmocka_unit_test(test_alert_order),
        cmocka_unit_test(test_literal_line_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
