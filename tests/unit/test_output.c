/*
 * The output layer: exact JSON lines, RFC 3339 timestamps (leap days,
 * microsecond padding), equality with jansson's compact dump, UTF-8 repair,
 * the text trace (lines, latency, headers, alerts, TLS, session end, stats,
 * escaping of control characters), verbose annotations, write errors, the
 * event size cap, and reopen after a rename (log rotation).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap.h"
#include "limits.h"
#include "output.h"
#include "alert_sig.h"
#include "inflate.h"
#include "reassembly.h"
#include "tls.h"
#include "line_helper.h"

/* output_line with a line written as a jansson object (line_helper.h) */
static void output_line_j(output *o, uint64_t ts, const out_flow *f, const json_t *j)
{
    lh_line L;
    lh_line_from(&L, j);
    output_line(o, ts, f, L.dir, &L.line);
    lh_line_done(&L);
}

/* A temp file path per test; removed by the test. */
static void tmp_path(char *buf, size_t len, const char *what)
{
    snprintf(buf, len, "/tmp/imapscope-test-output-%ld-%s", (long)getpid(), what);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *s = NULL;
    size_t len = 0, cap = 0;
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            s = realloc(s, cap);
            assert_non_null(s);
        }
        memcpy(s + len, tmp, n);
        len += n;
    }
    fclose(f);
    if (!s)
        s = calloc(1, 1);
    s[len] = '\0';
    return s;
}

static output *open_tmp(char *path, size_t len, const char *what, out_format fmt, int verbose)
{
    char err[256] = "";
    tmp_path(path, len, what);
    output *o = output_open(path, fmt, verbose, err, sizeof err);
    assert_non_null(o);
    assert_string_equal(err, "");
    return o;
}

/* Closes o and returns what it wrote (caller frees), removing the file. */
static char *close_and_read(output *o, const char *path)
{
    output_close(o);
    char *s = slurp(path);
    unlink(path);
    return s;
}

static const out_flow FLOW3 = {
    .flow_id = 3,
    .community_id = "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
    .src_ip = "192.0.2.1",
    .src_port = 51000,
    .dest_ip = "192.0.2.2",
    .dest_port = 143,
};

#define TS_2024_05_01 1714566896123456ull /* 2024-05-01T12:34:56.123456Z */

/* ---- timestamps ---- */

static void expect_ts(uint64_t ts_us, const char *want)
{
    char b[28];
    memset(b, 'x', sizeof b);
    assert_int_equal(output_format_rfc3339(ts_us, b), 27);
    assert_string_equal(b, want);
}

static void test_rfc3339(void **state)
{
    (void)state;
    expect_ts(0, "1970-01-01T00:00:00.000000Z");
    expect_ts(TS_2024_05_01, "2024-05-01T12:34:56.123456Z");
    expect_ts(1709251199ull * 1000000 + 1, "2024-02-29T23:59:59.000001Z");  /* leap day, us padding */
    expect_ts(1709251200ull * 1000000 + 10, "2024-03-01T00:00:00.000010Z"); /* the day after */
    expect_ts(951782400ull * 1000000 + 999999, "2000-02-29T00:00:00.999999Z"); /* 400-year leap */
    expect_ts((4107499200ull + 86400) * 1000000, "2100-03-01T12:00:00.000000Z"); /* 2100: no Feb 29 */
    expect_ts(946684799ull * 1000000 + 100000, "1999-12-31T23:59:59.100000Z");
    expect_ts(UINT64_MAX, "9999-12-31T23:59:59.999999Z"); /* clamped */
}

/* ---- JSON lines ---- */

static void test_json_line_exact(void **state)
{
    (void)state;
    char path[256];
    output *o = open_tmp(path, sizeof path, "exact", OUT_JSON, 0);
    assert_false(output_wants_lines(o));
    json_t *body = json_pack("{s:s, s:s, s:s, s:I, s:{s:s}, s:s, s:{s:i}}",
                             "tag", "A003", "command", "LOGIN", "status", "OK",
                             "latency_us", (json_int_t)6500, "response_code", "code", "CAPABILITY",
                             "response_text", "Logged in", "untagged", "CAPABILITY", 1);
    assert_non_null(body);
    output_event(o, "imap", TS_2024_05_01, &FLOW3, body);
    json_t *line = json_pack("{s:s, s:s, s:s}", "direction", "client", "kind", "command", "text", "x");
    output_line_j(o, TS_2024_05_01, &FLOW3, line); /* ignored in JSON mode */
    output_flow_begin(o, TS_2024_05_01, &FLOW3); /* ignored in JSON mode */
    json_decref(line);
    output_event(o, "stats", TS_2024_05_01 + 1, NULL, json_pack("{s:i, s:{s:i}}", "packets", 10, "flows", "total", 2));
    output_event(o, "alert", 5, &(out_flow){.flow_id = 7, .src_ip = "::1", .src_port = 1, .dest_ip = "::1", .dest_port = 993},
                 NULL);
    out_counters c;
    output_counters_get(o, &c);
    assert_int_equal(c.events, 3);
    char *s = close_and_read(o, path);
    assert_string_equal(s,
        "{\"timestamp\":\"2024-05-01T12:34:56.123456Z\",\"event_type\":\"imap\",\"flow_id\":3,"
        "\"community_id\":\"1:LQU9qZlK+B5F3KDmev6m5PMibrg=\",\"src_ip\":\"192.0.2.1\",\"src_port\":51000,"
        "\"dest_ip\":\"192.0.2.2\",\"dest_port\":143,\"proto\":\"TCP\",\"imap\":{\"tag\":\"A003\",\"command\":\"LOGIN\","
        "\"status\":\"OK\",\"latency_us\":6500,\"response_code\":{\"code\":\"CAPABILITY\"},"
        "\"response_text\":\"Logged in\",\"untagged\":{\"CAPABILITY\":1}}}\n"
        "{\"timestamp\":\"2024-05-01T12:34:56.123457Z\",\"event_type\":\"stats\","
        "\"stats\":{\"packets\":10,\"flows\":{\"total\":2}}}\n"
        "{\"timestamp\":\"1970-01-01T00:00:00.000005Z\",\"event_type\":\"alert\",\"flow_id\":7,"
        "\"src_ip\":\"::1\",\"src_port\":1,\"dest_ip\":\"::1\",\"dest_port\":993,\"proto\":\"TCP\"}\n");
    free(s);
}

/* Our serialiser equals json_dumps(JSON_COMPACT) on valid input. */
static void test_json_same_as_jansson(void **state)
{
    (void)state;
    const char *docs[] = {
        "{\"a\":[1,-2,9223372036854775807,-9223372036854775808,true,false,null,\"\"],\"b\":{}}",
        "{\"z\":1,\"a\":2,\"m\":{\"y\":[],\"b\":[[[]]]}}", /* insertion order, not sorted */
        "[\"quote \\\" backslash \\\\ slash / tab \\t nl \\n cr \\r bs \\b ff \\f\"]",
        "[\"\\u0000\\u0001\\u001f\\u007f caf\\u00e9 \\u20ac \\ud83d\\ude00 \\u2028\"]",
        "[0.5, 1.0, -2.25, 1e300, 1.5e-7, 123456789.125, 0.1]",
        "\"plain\"",
        "42",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        json_error_t err;
        json_t *v = json_loads(docs[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
        assert_non_null(v);
        char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        char *got = output_json_dump(v);
        assert_non_null(want);
        assert_non_null(got);
        assert_string_equal(got, want);
        free(want);
        free(got);
        json_decref(v);
    }
}

static void test_json_utf8_repair(void **state)
{
    (void)state;
    /* Invalid: a lone continuation byte, a truncated sequence, an overlong
     * '/', a UTF-16 surrogate, above U+10FFFF, a truncated 4-byte tail. */
    static const char bad[] = "a\x80" "b\xc3(" "c\xc0\xaf" "d\xed\xa0\x80" "e\xf4\x90\x80\x80" "f\xf0\x9f\x98";
    json_t *v = json_pack("{s:o}", "text", json_stringn_nocheck(bad, sizeof bad - 1));
    assert_non_null(v);
    char *got = output_json_dump(v);
    assert_non_null(got);
    assert_string_equal(got, "{\"text\":\"a\xEF\xBF\xBD" "b\xEF\xBF\xBD(c\xEF\xBF\xBD\xEF\xBF\xBD"
                             "d\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                             "e\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                             "f\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"}");
    json_error_t err;
    json_t *back = json_loads(got, 0, &err); /* jansson rejects invalid UTF-8: this proves it valid */
    assert_non_null(back);
    json_decref(back);
    free(got);

    char path[256];
    output *o = open_tmp(path, sizeof path, "utf8", OUT_JSON, 0);
    output_event(o, "imap", 0, &FLOW3, v); /* stolen */
    out_counters c;
    output_counters_get(o, &c);
    assert_int_equal(c.utf8_repairs, 1);
    char *s = close_and_read(o, path);
    assert_non_null(strstr(s, "\"imap\":{\"text\":\"a\xEF\xBF\xBD" "b"));
    free(s);
}

static void test_json_depth_and_size_caps(void **state)
{
    (void)state;
    json_t *root = json_array(), *cur = root;
    for (int i = 0; i < OUT_MAX_DEPTH + 10; i++) {
        json_t *n = json_array();
        json_array_append_new(cur, n);
        cur = n;
    }
    char *got = output_json_dump(root);
    assert_non_null(got);
    json_error_t err;
    json_t *back = json_loads(got, 0, &err);
    assert_non_null(back);
    json_decref(back);
    /* OUT_MAX_DEPTH + 1 brackets open, then null */
    size_t opens = strspn(got, "[");
    assert_int_equal(opens, OUT_MAX_DEPTH + 1);
    assert_memory_equal(got + opens, "null]", 5);
    free(got);
    json_decref(root);

    /* An event over OUT_MAX_EVENT_BYTES is dropped and counted; the next one is written. */
    size_t big = OUT_MAX_EVENT_BYTES + 10;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, 'x', big);
    char path[256];
    output *o = open_tmp(path, sizeof path, "big", OUT_JSON, 0);
    output_event(o, "imap", 0, &FLOW3, json_pack("{s:s%}", "text", huge, big));
    free(huge);
    output_event(o, "stats", 0, NULL, json_pack("{s:i}", "n", 1));
    out_counters c;
    output_counters_get(o, &c);
    assert_int_equal(c.oversize, 1);
    assert_int_equal(c.events, 2);
    char *s = close_and_read(o, path);
    assert_string_equal(s, "{\"timestamp\":\"1970-01-01T00:00:00.000000Z\",\"event_type\":\"stats\",\"stats\":{\"n\":1}}\n");
    free(s);
}

static void test_write_error_counted(void **state)
{
    (void)state;
    if (access("/dev/full", W_OK) != 0)
        skip();
    char err[256] = "";
    output *o = output_open("/dev/full", OUT_JSON, 0, err, sizeof err);
    assert_non_null(o);
    output_event(o, "stats", 0, NULL, json_pack("{s:i}", "n", 1));
    assert_int_equal(output_flush(o), -1);
    output_event(o, "stats", 0, NULL, json_pack("{s:i}", "n", 2));
    assert_int_equal(output_flush(o), -1);
    out_counters c;
    output_counters_get(o, &c);
    assert_int_equal(c.write_errors, 2);
    assert_true(c.dropped_bytes > 0);
    assert_int_equal(c.bytes, 0);
    assert_int_equal(output_close(o), -1); /* output lost: the program exits 3 */
}

/* EPIPE (the reader left, `| head`) stops output but is no failure. */
static void test_epipe_is_quiet(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    close(fds[0]); /* no reader */
    int saved = dup(STDOUT_FILENO);
    assert_true(saved >= 0);
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    fflush(stdout);
    assert_int_equal(dup2(fds[1], STDOUT_FILENO), STDOUT_FILENO);
    close(fds[1]);
    char err[256] = "";
    output *o = output_open(NULL, OUT_JSON, 0, err, sizeof err);
    assert_non_null(o);
    output_event(o, "stats", 0, NULL, json_pack("{s:i}", "n", 1));
    assert_int_equal(output_flush(o), -1);
    out_counters c;
    output_counters_get(o, &c);
    assert_int_equal(c.write_errors, 1);
    int rc = output_close(o);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    signal(SIGPIPE, old);
    assert_int_equal(rc, 0);
}

static void test_open_error(void **state)
{
    (void)state;
    char err[256] = "";
    output *o = output_open("/nonexistent-dir/x.json", OUT_JSON, 0, err, sizeof err);
    assert_null(o);
    assert_non_null(strstr(err, "/nonexistent-dir/x.json"));
    assert_non_null(strstr(err, "No such file"));
}

static void test_reopen_after_rename(void **state)
{
    (void)state;
    char path[256], rotated[300];
    output *o = open_tmp(path, sizeof path, "rotate", OUT_JSON, 0);
    snprintf(rotated, sizeof rotated, "%s.1", path);
    output_event(o, "stats", 1000000, NULL, json_pack("{s:i}", "n", 1));
    assert_int_equal(rename(path, rotated), 0);
    assert_int_equal(output_reopen(o), 0); /* flushes line 1 into the renamed file */
    output_event(o, "stats", 2000000, NULL, json_pack("{s:i}", "n", 2));
    char *now = close_and_read(o, path);
    char *old = slurp(rotated);
    unlink(rotated);
    assert_string_equal(old, "{\"timestamp\":\"1970-01-01T00:00:01.000000Z\",\"event_type\":\"stats\",\"stats\":{\"n\":1}}\n");
    assert_string_equal(now, "{\"timestamp\":\"1970-01-01T00:00:02.000000Z\",\"event_type\":\"stats\",\"stats\":{\"n\":2}}\n");
    free(now);
    free(old);
}

/* ---- the text trace ---- */

static void line(output *o, uint64_t ts, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_error_t err;
    json_t *l = json_vpack_ex(&err, 0, fmt, ap);
    va_end(ap);
    assert_non_null(l);
    output_line_j(o, ts, &FLOW3, l);
    json_decref(l);
}

static void test_text_conversation(void **state)
{
    (void)state;
    char path[256];
    output *o = open_tmp(path, sizeof path, "text", OUT_TEXT, 0);
    output_set_color(o, OUT_COLOR_NEVER);
    assert_true(output_wants_lines(o));
    uint64_t t = TS_2024_05_01;
    output_flow_begin(o, t, &FLOW3);
    line(o, t, "{s:s,s:s,s:s}", "direction", "server", "kind", "untagged", "text", "* OK Dovecot ready.");
    line(o, t + 877, "{s:s,s:s,s:s,s:s,s:s}", "direction", "client", "kind", "command", "tag", "A003",
         "command", "LOGIN", "text", "A003 LOGIN alice <redacted>");
    line(o, t + 7377, "{s:s,s:s,s:s,s:s,s:I,s:s,s:s}", "direction", "server", "kind", "tagged", "tag", "A003",
         "status", "OK", "latency_us", (json_int_t)6500, "code", "CAPABILITY", "text", "A003 OK [CAPABILITY IMAP4rev1] Logged in");
    line(o, t + 8000, "{s:s,s:s,s:s,s:s}", "direction", "client", "kind", "command", "tag", "A004", "command", "NOOP");
    line(o, t + 9000, "{s:s,s:s,s:s,s:s,s:I}", "direction", "server", "kind", "tagged", "tag", "A004", "status", "BAD",
         "latency_us", (json_int_t)2125000);
    line(o, t + 9100, "{s:s,s:s,s:I}", "direction", "server", "text", "* 1 EXISTS", "latency_us", (json_int_t)850);
    /* Terminal safety: an escape sequence, CRLF, a C1 control and invalid UTF-8 are shown escaped. */
    static const char nasty[] = "A5 X \x1b[2J\r\n\t\xc2\x9b caf\xc3\xa9 \xff";
    line(o, t + 9200, "{s:s,s:s,s:o}", "direction", "client", "kind", "command", "text",
         json_stringn_nocheck(nasty, sizeof nasty - 1));
    output_event(o, "imap", t, &FLOW3, json_pack("{s:s}", "tag", "A003")); /* not printed in text mode */
    output_event(o, "tls", t + 10000, &FLOW3,
                 json_pack("{s:s,s:s,s:[s],s:s,s:s,s:b}", "version", "TLS 1.3", "sni", "mail.example", "alpn", "imap",
                           "ja3", "e7d705a3286e19ea42f587b344ee6865", "ja4", "t13d1516h2_8daaf6152771_02713d6af862",
                           "decrypted", 1));
    output_event(o, "alert", t + 11000, &FLOW3,
                 json_pack("{s:s,s:s,s:s,s:i,s:s,s:i,s:i}", "name", "starttls_command_injection", "description", "commands after STARTTLS",
                           "detail", "3 bytes after A1 STARTTLS", "offset", 20, "direction", "client",
                           "severity", 1, "signature_id", 2300022));
    output_event(o, "imap_session", t + 20000, &FLOW3,
                 json_pack("{s:I,s:I,s:s,s:{s:i,s:i},s:b,s:s,s:[{s:s}]}", "client_bytes", (json_int_t)1234,
                           "server_bytes", (json_int_t)56789, "user", "alice", "commands", "LOGIN", 1, "FETCH", 11,
                           "tls", 0, "end_reason", "fin", "anomalies", "name", "x"));
    output_event(o, "imap_session", t + 20000, NULL, json_object()); /* everything missing */
    output_event(o, "imap_session", t + 20000, &FLOW3, /* the engine's shape */
                 json_pack("{s:i,s:i,s:n,s:{s:s,s:i,s:i},s:s,s:i,s:[{s:s,s:i},{s:s,s:i}]}", "client_bytes", 5,
                           "server_bytes", 6, "user", "tls", "mode", "starttls", "decrypted_client_bytes", 0,
                           "decrypted_server_bytes", 0, "compress", "OK", "gap_count", 2, "anomalies", "name", "a",
                           "count", 3, "name", "b", "count", 1));
    output_event(o, "imap_session", t + 20000, &FLOW3,
                 json_pack("{s:i,s:i,s:{s:s,s:s},s:n}", "client_bytes", 5, "server_bytes", 6, "tls",
                           "mode", "none", "version", "TLS 1.3", "compress"));
    output_event(o, "imap_session", t + 20000, &FLOW3,
                 json_pack("{s:{s:s,s:I,s:i,s:i},s:s}", "tls", "mode", "implicit", "version",
                           (json_int_t)0x0304, "decrypted_client_bytes", 0, "decrypted_server_bytes", 10,
                           "compress", "OK"));
    output_event(o, "imap_session", t + 20000, &FLOW3, /* refused */
                 json_pack("{s:s}", "compress", "NO"));
    output_event(o, "stats", t + 30000, NULL, json_pack("{s:i,s:{s:i,s:s},s:[i,i]}", "packets", 42, "flows", "total", 1, "x", "y", "a", 1, 2));
    output_event(o, "flow_note", t + 30000, &FLOW3, json_pack("{s:i}", "k", 1));
    char *s = close_and_read(o, path);
    assert_string_equal(s,
        "12:34:56.123456 --- flow 3 2024-05-01 192.0.2.1:51000 -> 192.0.2.2:143 community_id 1:LQU9qZlK+B5F3KDmev6m5PMibrg=\n"
        "12:34:56.123456 [flow 3] S * OK Dovecot ready.\n"
        "12:34:56.124333 [flow 3] C A003 LOGIN alice <redacted>\n"
        "12:34:56.130833 [flow 3] S A003 OK [CAPABILITY IMAP4rev1] Logged in (6.5 ms)\n"
        "12:34:56.131456 [flow 3] C A004 NOOP\n"
        "12:34:56.132456 [flow 3] S A004 BAD (2.125 s)\n"
        "12:34:56.132556 [flow 3] S * 1 EXISTS (850 us)\n"
        "12:34:56.132656 [flow 3] C A5 X \\x1B[2J\\r\\n\\t\\u009B caf\xc3\xa9 \\xFF\n"
        "12:34:56.133456 ~~~ flow 3 TLS 1.3 sni=mail.example alpn=imap ja3=e7d705a3286e19ea42f587b344ee6865 "
        "ja4=t13d1516h2_8daaf6152771_02713d6af862 decrypted\n"
        "12:34:56.134456 !!! flow 3 alert starttls_command_injection [sid 2300022 sev 1]: 3 bytes after A1 STARTTLS\n"
        "12:34:56.143456 === flow 3 end: user alice, 12 commands, client 1234 B, server 56789 B, TLS no, anomalies 1, reason fin\n"
        "12:34:56.143456 === end: user -, 0 commands, client 0 B, server 0 B, TLS no, reason -\n"
        "12:34:56.143456 === flow 3 end: user -, 0 commands, client 5 B, server 6 B, TLS yes starttls opaque, "
        "COMPRESS yes, gaps 2, anomalies 4, reason -\n"
        "12:34:56.143456 === flow 3 end: user -, 0 commands, client 5 B, server 6 B, TLS no, reason -\n"
        "12:34:56.143456 === flow 3 end: user -, 0 commands, client 0 B, server 0 B, TLS yes implicit 1.3 decrypted, "
        "COMPRESS yes, reason -\n"
        "12:34:56.143456 === flow 3 end: user -, 0 commands, client 0 B, server 0 B, TLS no, reason -\n"
        "12:34:56.153456 ### stats\n"
        "                |   packets  42\n"
        "                |   flows    total 1, x y\n"
        "                |   a        [1,2]\n"
        "12:34:56.153456 *** flow 3 flow_note {\"k\":1}\n");
    free(s);
}

/* The mail lines (src/mail.h): one per email, one per body part fetched
 * on its own, none for a message's own files; the end line's counts. */
static void test_text_mail(void **state)
{
    (void)state;
    char path[256];
    output *o = open_tmp(path, sizeof path, "mail", OUT_TEXT, 0);
    output_set_color(o, OUT_COLOR_NEVER);
    uint64_t t = TS_2024_05_01;
    output_event(o, "email", t, &FLOW3,
                 json_pack("{s:s,s:s,s:s,s:s,s:i,s:[{s:s,s:s},{s:s,s:s,s:s}],s:s,s:I,s:s,s:[{s:s},{s:s}]}",
                           "direction", "fetched", "source", "message", "tag", "A7", "mailbox", "INBOX", "uid", 4,
                           "addresses", "field", "sender", "address", "sec@example.org", "field", "from", "name", "Bob",
                           "address", "bob@example.org", "subject", "Grüße\x1b", "size", (json_int_t)12600,
                           "state", "complete", "attachments", "sha256", "a", "sha256", "b"));
    output_event(o, "fileinfo", t, &FLOW3, json_pack("{s:s,s:i}", "filename", "a.pdf", "size", 3)); /* no line */
    output_event(o, "email", t, &FLOW3,
                 json_pack("{s:s,s:s,s:s,s:s}", "direction", "appended", "source", "message", "mailbox", "Sent",
                           "state", "truncated"));
    output_event(o, "email", t, &FLOW3,
                 json_pack("{s:s,s:s,s:s,s:s}", "direction", "appended", "source", "message", "mailbox", "Sent",
                           "state", "gaps"));
    output_event(o, "fileinfo", t, &FLOW3,
                 json_pack("{s:s,s:i,s:s,s:s,s:I,s:s}", "section", "BODY[2]", "uid", 9, "filename", "r.pdf", "magic",
                           "application/pdf", "size", (json_int_t)2048, "state", "complete"));
    output_event(o, "imap_session", t, &FLOW3,
                 json_pack("{s:i,s:i,s:{s:i,s:I,s:i,s:i}}", "client_bytes", 5, "server_bytes", 6, "mail",
                           "messages_fetched", 2, "bytes_fetched", (json_int_t)3 << 20,
                           "messages_appended", 1, "bytes_appended", 100));
    char *s = close_and_read(o, path);
    assert_string_equal(s,
        "12:34:56.123456 @@@ flow 3 fetched message uid 4 in INBOX from Bob <bob@example.org> \"Grüße\\x1B\" "
        "2 attachments (12.3 KB)\n"
        "12:34:56.123456 @@@ flow 3 appended message to Sent truncated\n"
        "12:34:56.123456 @@@ flow 3 appended message to Sent incomplete\n"
        "12:34:56.123456 @@@ flow 3 fetched part BODY[2] uid 9 \"r.pdf\" application/pdf (2.0 KB)\n"
        "12:34:56.123456 === flow 3 end: user -, 0 commands, client 5 B, server 6 B, TLS no, messages fetched 2 "
        "(3.0 MB) appended 1 (100 B), reason -\n");
    free(s);
}

static void test_text_ipv6_and_color(void **state)
{
    (void)state;
    char path[256];
    output *o = open_tmp(path, sizeof path, "color", OUT_TEXT, 0);
    output_set_color(o, OUT_COLOR_ALWAYS);
    out_flow f = {.flow_id = 9, .src_ip = "2001:db8::1", .src_port = 40000, .dest_ip = "2001:db8::2", .dest_port = 993};
    output_flow_begin(o, 0, &f);
    json_t *l = json_pack("{s:s,s:s}", "direction", "client", "text", "a NOOP");
    output_line_j(o, 0, &f, l);
    json_decref(l);
    char *s = close_and_read(o, path);
    assert_string_equal(s,
        "00:00:00.000000 \033[1m--- flow 9 1970-01-01 [2001:db8::1]:40000 -> [2001:db8::2]:993\033[0m\n"
        "00:00:00.000000 [flow 9] \033[36mC a NOOP\033[0m\n");
    free(s);
}

/* Format characters (bidi overrides and isolates, zero-width, BOM, line
 * and paragraph separators, tags) are escaped like C1 controls; other
 * non-ASCII text is shown as it is. */
static void test_text_format_chars_escaped(void **state)
{
    (void)state;
    char path[256];
    output *o = open_tmp(path, sizeof path, "bidi", OUT_TEXT, 0);
    output_set_color(o, OUT_COLOR_NEVER);
    const char *text =
        "a1 LOGIN \xE2\x80\xAE" "evil\xE2\x80\xAC"   /* U+202E RLO, U+202C PDF */
        " \xE2\x81\xA6x\xE2\x81\xA9"              /* U+2066 LRI, U+2069 PDI */
        " \xE2\x80\x8B\xE2\x80\x8D\xE2\x81\xA0"  /* U+200B ZWSP, U+200D ZWJ, U+2060 WJ */
        " \xE2\x80\x8E\xE2\x80\x8F\xD8\x9C"      /* U+200E LRM, U+200F RLM, U+061C ALM */
        " \xEF\xBB\xBF\xE2\x80\xA8\xE2\x80\xA9"  /* U+FEFF, U+2028, U+2029 */
        " \xF3\xA0\x81\x81"                        /* U+E0041 TAG LATIN CAPITAL LETTER A */
        " \xC2\x9B"                                 /* U+009B CSI (C1) */
        " Entw\xC3\xBC" "rfe \xE2\x82\xAC \xF0\x9F\x98\x80"; /* ü, EUR sign, emoji: shown */
    json_t *l = json_pack("{s:s,s:s}", "direction", "client", "text", text);
    output_line_j(o, 0, NULL, l);
    json_decref(l);
    char *s = close_and_read(o, path);
    assert_string_equal(s, "00:00:00.000000 C a1 LOGIN \\u202Eevil\\u202C \\u2066x\\u2069"
                           " \\u200B\\u200D\\u2060 \\u200E\\u200F\\u061C \\uFEFF\\u2028\\u2029"
                           " \\U000E0041 \\u009B Entw\xC3\xBCrfe \xE2\x82\xAC \xF0\x9F\x98\x80\n");
    free(s);
}

/* A long IMAP line is cut at --max-text-line bytes (default
 * LIM_MAX_TEXT_LINE), never inside a UTF-8 character, with the number of
 * bytes not shown; 0 shows it whole. */
static void test_text_long_line_cut(void **state)
{
    (void)state;
    char path[256];
    size_t n = 1000;
    char *t = malloc(n);
    assert_non_null(t);
    memset(t, 'y', n);
    json_t *l = json_pack("{s:s,s:s%}", "direction", "server", "text", t, n);

    output *o = open_tmp(path, sizeof path, "long", OUT_TEXT, 0);
    output_set_color(o, OUT_COLOR_NEVER);
    output_line_j(o, 0, NULL, l);
    char *s = close_and_read(o, path);
    assert_int_equal(strlen(s), 18 + LIM_MAX_TEXT_LINE + strlen("... [+800 bytes]\n"));
    assert_string_equal(s + 18 + LIM_MAX_TEXT_LINE, "... [+800 bytes]\n");
    free(s);

    o = open_tmp(path, sizeof path, "long0", OUT_TEXT, 0);
    output_set_max_text_line(o, 0);
    output_line_j(o, 0, NULL, l);
    s = close_and_read(o, path);
    assert_int_equal(strlen(s), 18 + n + 1);
    free(s);
    json_decref(l);

    /* "ab" then "ü" (C3 BC) straddling the cut at 3: cut before it */
    o = open_tmp(path, sizeof path, "longu", OUT_TEXT, 0);
    output_set_max_text_line(o, 3);
    l = json_pack("{s:s,s:s}", "direction", "client", "text", "ab\xC3\xBC" "cdef");
    output_line_j(o, 0, NULL, l);
    json_decref(l);
    s = close_and_read(o, path);
    assert_string_equal(s, "00:00:00.000000 C ab... [+6 bytes]\n");
    free(s);
    free(t);
}

/* With text_no (output_flow_number), the trace numbers connections 1, 2,
 * ... per run; the header names the JSON's flow_id when it differs. */
static void test_text_flow_numbers(void **state)
{
    (void)state;
    char path[256];
    output *o = open_tmp(path, sizeof path, "flowno", OUT_TEXT, 0);
    output_set_color(o, OUT_COLOR_NEVER);
    out_flow a = {.flow_id = 1, .src_ip = "192.0.2.1", .src_port = 1, .dest_ip = "192.0.2.2", .dest_port = 143};
    out_flow b = {.flow_id = 251, .src_ip = "192.0.2.1", .src_port = 2, .dest_ip = "192.0.2.2", .dest_port = 143};
    a.text_no = output_flow_number(o);
    b.text_no = output_flow_number(o);
    assert_int_equal(a.text_no, 1);
    assert_int_equal(b.text_no, 2);
    output_flow_begin(o, 0, &a);
    output_flow_begin(o, 0, &b);
    json_t *l = json_pack("{s:s,s:s}", "direction", "client", "text", "a NOOP");
    output_line_j(o, 0, &b, l);
    json_decref(l);
    output_event(o, "alert", 0, &b, json_pack("{s:s}", "name", "x"));
    output_event(o, "imap_session", 0, &b, json_pack("{s:i,s:i}", "client_bytes", 1, "server_bytes", 2));
    char *s = close_and_read(o, path);
    assert_string_equal(s,
        "00:00:00.000000 --- flow 1 1970-01-01 192.0.2.1:1 -> 192.0.2.2:143\n"
        "00:00:00.000000 --- flow 2 1970-01-01 192.0.2.1:2 -> 192.0.2.2:143 flow_id 251\n"
        "00:00:00.000000 [flow 2] C a NOOP\n"
        "00:00:00.000000 !!! flow 2 alert x\n"
        "00:00:00.000000 === flow 2 end: user -, 0 commands, client 1 B, server 2 B, TLS no, reason -\n");
    free(s);
}

/* Every alert name a src/ layer can raise has a severity and a signature
 * id in src/alert_sig.h; every id is unique across both tables; the
 * dissector's table gives severities 1-3 and ids 2300001+. */
static void test_alert_signatures(void **state)
{
    (void)state;
    unsigned seen[256];
    size_t nseen = 0;
    int sev;
    unsigned sid;
    const char *names[128];
    size_t n = 0;
    for (int i = 0; reasm_anomaly_name(i); i++)
        names[n++] = reasm_anomaly_name(i);
    for (int i = 0; tls_anomaly_name(i); i++)
        names[n++] = tls_anomaly_name(i);
    for (int i = 1; i < INFLATE_STATUS_COUNT; i++) /* 0 is "ok", never an alert */
        names[n++] = inflate_error_name(i);
    for (size_t i = 0; i < n; i++) {
        if (!alert_sig_lookup(names[i], &sev, &sid))
            fail_msg("%s has no row in src/alert_sig.h", names[i]);
        assert_in_range(sev, 1, 3);
        assert_in_range(sid, 2301001, 2309999);
        for (size_t k = 0; k < nseen; k++)
            assert_int_not_equal(seen[k], sid);
        seen[nseen++] = sid;
    }
    assert_false(alert_sig_lookup("no_such_alert", &sev, &sid));
    assert_int_equal(sid, 0);
    for (int a = 0; a < IMAP_ANOM__COUNT; a++) {
        assert_in_range(imap_anomaly_severity((imap_anomaly)a), 1, 3);
        sid = imap_anomaly_signature_id((imap_anomaly)a);
        assert_in_range(sid, 2300001, 2300999);
        for (size_t k = 0; k < nseen; k++)
            assert_int_not_equal(seen[k], sid);
        seen[nseen++] = sid;
    }
    /* stable: the first rows keep their numbers */
    assert_int_equal(imap_anomaly_signature_id(IMAP_ANOM_MALFORMED_COMMAND), 2300001);
    assert_int_equal(imap_anomaly_signature_id(IMAP_ANOM_STARTTLS_STRIPPED), 2300030);
    assert_int_equal(imap_anomaly_severity(IMAP_ANOM_CLEARTEXT_CREDENTIALS), 1);
}

static void test_text_verbose(void **state)
{
    (void)state;
    char path[256];
    output *o = open_tmp(path, sizeof path, "verbose", OUT_TEXT, 1);
    output_set_color(o, OUT_COLOR_NEVER);
    line(o, 0, "{s:s,s:s,s:s,s:[s,s,s]}", "direction", "server", "code", "UIDVALIDITY", "text", "* OK [UIDVALIDITY 1] x",
         "capabilities", "IDLE", "AUTH=PLAIN", "XNOSUCHTHING");
    output_event(o, "alert", 0, NULL,
                 json_pack("{s:s,s:s,s:s,s:i,s:s,s:I,s:s}", "name", "n", "description", "what it means", "detail", "d",
                           "severity", 2, "direction", "server", "offset", (json_int_t)77, "category", "protocol"));
    char *s = close_and_read(o, path);

    /* Expected annotations come from the dissector's tables (not repeated here). */
    char want[2048];
    const imap_capability_info *code = imap_resp_code_lookup("UIDVALIDITY", 11);
    const imap_capability_info *idle = imap_capability_lookup("IDLE", 4);
    const imap_capability_info *plain = imap_capability_lookup("AUTH=PLAIN", 10);
    assert_non_null(code);
    assert_non_null(idle);
    assert_non_null(plain);
    assert_true(plain->prefix);
    assert_null(imap_capability_lookup("XNOSUCHTHING", 12));
    snprintf(want, sizeof want,
             "00:00:00.000000 [flow 3] S * OK [UIDVALIDITY 1] x\n"
             "                |   code UIDVALIDITY (%s): %s\n"
             "                |   capability IDLE (%s): %s\n"
             "                |   capability AUTH=PLAIN (%s): %s\n"
             "                |   capability XNOSUCHTHING: not in our table\n"
             "00:00:00.000000 !!! alert n: d\n"
             "                |   what it means; category protocol, severity 2, server offset 77\n",
             code->rfc, code->meaning, idle->rfc, idle->meaning, plain->rfc, plain->meaning);
    assert_string_equal(s, want);
    free(s);
}

/* -v: commands and statuses annotated too, each item only the first time
 * it appears on a connection (out_flow.seen); another connection (its own
 * seen-set) gets them again; without a seen-set, every time. */
static void test_text_verbose_first_only(void **state)
{
    (void)state;
    char path[256];
    output *o = open_tmp(path, sizeof path, "vfirst", OUT_TEXT, 1);
    output_set_color(o, OUT_COLOR_NEVER);
    out_seen seen_a, seen_b;
    memset(&seen_a, 0, sizeof seen_a);
    memset(&seen_b, 0, sizeof seen_b);
    out_flow a = FLOW3, b = FLOW3;
    a.seen = &seen_a;
    b.flow_id = 4;
    b.seen = &seen_b;
    const char *cl = "{s:s,s:s,s:s,s:s,s:s}";
    const char *sv = "{s:s,s:s,s:s,s:s,s:s}";
    json_t *l;
#define LINE(f, ...) (l = json_pack(__VA_ARGS__), output_line_j(o, 0, &(f), l), json_decref(l))
    LINE(a, cl, "direction", "client", "kind", "command", "tag", "a1", "command", "UID FETCH", "text", "a1 UID FETCH 1 FLAGS");
    LINE(a, sv, "direction", "server", "kind", "tagged", "tag", "a1", "status", "NO", "text", "a1 NO no");
    LINE(a, cl, "direction", "client", "kind", "command", "tag", "a2", "command", "uid fetch", "text", "a2 uid fetch 2 FLAGS");
    LINE(a, sv, "direction", "server", "kind", "tagged", "tag", "a2", "status", "NO", "text", "a2 NO no");
    LINE(a, cl, "direction", "client", "kind", "command", "tag", "a3", "command", "XFOO", "text", "a3 XFOO");
    LINE(a, cl, "direction", "client", "kind", "command", "tag", "a4", "command", "XFOO", "text", "a4 XFOO");
    LINE(a, cl, "direction", "client", "kind", "command", "tag", "a5", "command", "FROB", "text", "a5 FROB");
    LINE(a, cl, "direction", "client", "kind", "command", "tag", "a6", "command", "FROB", "text", "a6 FROB");
    /* untagged data: "status" FETCH is no status response */
    LINE(a, "{s:s,s:s,s:s,s:s}", "direction", "server", "kind", "untagged", "status", "FETCH", "text", "* 1 FETCH ()");
    LINE(b, sv, "direction", "server", "kind", "tagged", "tag", "b1", "status", "NO", "text", "b1 NO no");
    output_line_j(o, 0, &FLOW3, (l = json_pack(sv, "direction", "server", "kind", "tagged", "tag", "c1", "status", "NO",
                                             "text", "c1 NO no")));
    json_decref(l);
    output_line_j(o, 0, &FLOW3, (l = json_pack(sv, "direction", "server", "kind", "tagged", "tag", "c2", "status", "NO",
                                             "text", "c2 NO no")));
    json_decref(l);
#undef LINE
    char *s = close_and_read(o, path);
    const imap_annot *uf = imap_annot_lookup(IMAP_ANNOT_COMMAND, "UID FETCH", 9);
    const imap_annot *no = imap_annot_lookup(IMAP_ANNOT_STATUS, "NO", 2);
    const imap_annot *x = imap_annot_lookup(IMAP_ANNOT_COMMAND, "XFOO", 4);
    assert_non_null(uf);
    assert_non_null(no);
    assert_true(x && x->prefix);
    char want[4096];
    snprintf(want, sizeof want,
             "00:00:00.000000 [flow 3] C a1 UID FETCH 1 FLAGS\n"
             "                |   command UID FETCH (%s): %s\n"
             "00:00:00.000000 [flow 3] S a1 NO no\n"
             "                |   status NO (%s): %s\n"
             "00:00:00.000000 [flow 3] C a2 uid fetch 2 FLAGS\n"
             "00:00:00.000000 [flow 3] S a2 NO no\n"
             "00:00:00.000000 [flow 3] C a3 XFOO\n"
             "                |   command XFOO (%s): %s\n"
             "00:00:00.000000 [flow 3] C a4 XFOO\n"
             "00:00:00.000000 [flow 3] C a5 FROB\n"
             "                |   command FROB: not in our table\n"
             "00:00:00.000000 [flow 3] C a6 FROB\n"
             "00:00:00.000000 [flow 3] S * 1 FETCH ()\n"
             "00:00:00.000000 [flow 4] S b1 NO no\n"
             "                |   status NO (%s): %s\n"
             "00:00:00.000000 [flow 3] S c1 NO no\n"
             "                |   status NO (%s): %s\n"
             "00:00:00.000000 [flow 3] S c2 NO no\n"
             "                |   status NO (%s): %s\n",
             uf->rfc, uf->meaning, no->rfc, no->meaning, x->rfc, x->meaning, no->rfc, no->meaning,
             no->rfc, no->meaning, no->rfc, no->meaning);
    assert_string_equal(s, want);
    free(s);
}

/* The unknown-name part of a seen-set is bounded: past OUT_SEEN_UNKNOWN
 * names, new unknown names are annotated each time (never dropped). */
static void test_text_verbose_seen_bound(void **state)
{
    (void)state;
    char path[256];
    output *o = open_tmp(path, sizeof path, "vbound", OUT_TEXT, 1);
    output_set_color(o, OUT_COLOR_NEVER);
    out_seen seen;
    memset(&seen, 0, sizeof seen);
    out_flow f = FLOW3;
    f.seen = &seen;
    char name[32];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < OUT_SEEN_UNKNOWN + 2; i++) {
            snprintf(name, sizeof name, "NOPE%d", i);
            json_t *l = json_pack("{s:s,s:s,s:s}", "direction", "client", "command", name, "text", name);
            output_line_j(o, 0, &f, l);
            json_decref(l);
        }
    }
    char *s = close_and_read(o, path);
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, "not in our table")) != NULL; p++)
        n++;
    /* round 1: all OUT_SEEN_UNKNOWN + 2; round 2: only the 2 that did not fit */
    assert_int_equal(n, OUT_SEEN_UNKNOWN + 2 + 2);
    assert_int_equal(seen.n_unknown, OUT_SEEN_UNKNOWN);
    free(s);
}

/* --annotate: one "annotations" array at the end of imap and
 * imap_session bodies only, each (kind, name) once in first-seen order,
 * names not in the table left out; off by default. */
static void test_json_annotate(void **state)
{
    (void)state;
    char path[256];
    const char *body = "{s:s,s:s,s:s,s:{s:s},s:[{s:s,s:{s:s}},{s:s,s:[{s:s},{s:s,s:b}]},{s:s,s:{s:s}}]}";
#define EV(o) output_event(o, "imap", 0, NULL, json_pack(body, "tag", "a1", "command", "UID FETCH", "status", "NO", \
        "response_code", "code", "TRYCREATE", "responses", "type", "BYE", "code", "code", "ALERT", "type", "CAPABILITY", \
        "capabilities", "name", "IDLE", "name", "XNOPE", "known", 0, "type", "NO", "code", "code", "TRYCREATE"))
    output *o = open_tmp(path, sizeof path, "ann", OUT_JSON, 0);
    output_set_annotate(o, true);
    EV(o);
    output_event(o, "alert", 0, NULL, json_pack("{s:s,s:s}", "name", "n", "command", "LOGIN"));
    output_event(o, "imap_session", 0, NULL, json_pack("{s:[s,s,s]}", "capabilities", "IDLE", "auth=plain", "AUTH=LOGIN"));
    char *s = close_and_read(o, path);
    const imap_annot *uf = imap_annot_lookup(IMAP_ANNOT_COMMAND, "UID FETCH", 9);
    const imap_annot *no = imap_annot_lookup(IMAP_ANNOT_STATUS, "NO", 2);
    const imap_annot *tc = imap_annot_lookup(IMAP_ANNOT_CODE, "TRYCREATE", 9);
    const imap_annot *bye = imap_annot_lookup(IMAP_ANNOT_STATUS, "BYE", 3);
    const imap_annot *al = imap_annot_lookup(IMAP_ANNOT_CODE, "ALERT", 5);
    const imap_annot *idle = imap_annot_lookup(IMAP_ANNOT_CAPABILITY, "IDLE", 4);
    const imap_annot *auth = imap_annot_lookup(IMAP_ANNOT_CAPABILITY, "AUTH=PLAIN", 10);
    assert_non_null(auth);
    assert_true(auth->prefix); /* one entry, two names: both listed */
    char want[8192];
#define A(k, n, a) "{\"kind\":\"" k "\",\"name\":\"" n "\",\"rfc\":\"%s\",\"meaning\":\"%s\"}"
    snprintf(want, sizeof want,
             "{\"timestamp\":\"1970-01-01T00:00:00.000000Z\",\"event_type\":\"imap\",\"imap\":{\"tag\":\"a1\","
             "\"command\":\"UID FETCH\",\"status\":\"NO\",\"response_code\":{\"code\":\"TRYCREATE\"},"
             "\"responses\":[{\"type\":\"BYE\",\"code\":{\"code\":\"ALERT\"}},"
             "{\"type\":\"CAPABILITY\",\"capabilities\":[{\"name\":\"IDLE\"},{\"name\":\"XNOPE\",\"known\":false}]},"
             "{\"type\":\"NO\",\"code\":{\"code\":\"TRYCREATE\"}}],"
             "\"annotations\":[" A("command", "UID FETCH", uf) "," A("status", "NO", no) ","
             A("code", "TRYCREATE", tc) "," A("status", "BYE", bye) "," A("code", "ALERT", al) ","
             A("capability", "IDLE", idle) "]}}\n"
             "{\"timestamp\":\"1970-01-01T00:00:00.000000Z\",\"event_type\":\"alert\",\"alert\":{\"name\":\"n\","
             "\"command\":\"LOGIN\"}}\n"
             "{\"timestamp\":\"1970-01-01T00:00:00.000000Z\",\"event_type\":\"imap_session\",\"imap_session\":{"
             "\"capabilities\":[\"IDLE\",\"auth=plain\",\"AUTH=LOGIN\"],\"annotations\":["
             A("capability", "IDLE", idle) "," A("capability", "auth=plain", auth) ","
             A("capability", "AUTH=LOGIN", auth) "]}}\n",
             uf->rfc, uf->meaning, no->rfc, no->meaning, tc->rfc, tc->meaning, bye->rfc, bye->meaning, al->rfc,
             al->meaning, idle->rfc, idle->meaning, idle->rfc, idle->meaning, auth->rfc, auth->meaning, auth->rfc,
             auth->meaning);
#undef A
    assert_string_equal(s, want);
    free(s);
    /* off by default: nothing added */
    o = open_tmp(path, sizeof path, "noann", OUT_JSON, 0);
    EV(o);
    s = close_and_read(o, path);
    assert_null(strstr(s, "rfc"));
    assert_null(strstr(s, "meaning"));
    assert_null(strstr(s, "annotations"));
    free(s);
#undef EV
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_json_line_exact),
        cmocka_unit_test(test_json_same_as_jansson),
        cmocka_unit_test(test_json_utf8_repair),
        cmocka_unit_test(test_json_depth_and_size_caps),
        cmocka_unit_test(test_write_error_counted),
        cmocka_unit_test(test_open_error),
        cmocka_unit_test(test_reopen_after_rename),
        cmocka_unit_test(test_epipe_is_quiet),
        cmocka_unit_test(test_text_conversation),
        cmocka_unit_test(test_text_mail),
        cmocka_unit_test(test_text_ipv6_and_color),
        cmocka_unit_test(test_text_long_line_cut),
        cmocka_unit_test(test_text_flow_numbers),
        cmocka_unit_test(test_text_format_chars_escaped),
        cmocka_unit_test(test_text_verbose),
        cmocka_unit_test(test_text_verbose_first_only),
        cmocka_unit_test(test_text_verbose_seen_bound),
        cmocka_unit_test(test_json_annotate),
        cmocka_unit_test(test_alert_signatures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
