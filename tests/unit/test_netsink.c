/*
 * The network sinks' pure parts (netsink.h): the RFC 5424 header (PRI from
 * facility and the event type, MSGID from "event_type" or ECS event.dataset), the
 * facility names, the address syntax of --syslog, --unix-socket and
 * --redis, and a queue that drops and counts past its cap while no one
 * listens (a unix datagram path with no listener), then counts the rest
 * dropped at stop: events + dropped == lines pushed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "netsink.h"

static void test_header_event_types(void **state)
{
    (void)state;
    char h[400];
    const char *imap = "{\"timestamp\":\"2024-05-01T12:00:00.000000Z\",\"event_type\":\"imap\",\"flow_id\":1}";
    const char *alert = "{\"timestamp\":\"2024-05-01T12:00:00.000000Z\",\"event_type\":\"alert\",\"alert\":{}}";
    const char *ecs = "{\"@timestamp\":\"x\",\"event\":{\"kind\":\"alert\",\"category\":[\"network\"],"
                      "\"module\":\"imapscope\",\"dataset\":\"imapscope.alert\"}}";
    const char *text = "12:00:00.000000 [flow 1] C a LOGIN";
    uint64_t t = 1714564800123456ull; /* 2024-05-01T12:00:00.123456Z */

    size_t n = netsink_syslog_header(h, sizeof h, 21, imap, strlen(imap), t, "sensor1", 42);
    assert_string_equal(h, "<174>1 2024-05-01T12:00:00.123456Z sensor1 imapscope 42 imap - ");
    assert_int_equal(n, strlen(h));
    /* local5 (21) * 8 + warning (4) */
    netsink_syslog_header(h, sizeof h, 21, alert, strlen(alert), t, "sensor1", 42);
    assert_string_equal(h, "<172>1 2024-05-01T12:00:00.123456Z sensor1 imapscope 42 alert - ");
    /* -T ecs: event.dataset "imapscope.alert" */
    netsink_syslog_header(h, sizeof h, 3, ecs, strlen(ecs), t, "s", 7);
    assert_string_equal(h, "<28>1 2024-05-01T12:00:00.123456Z s imapscope 7 alert - ");
    /* text trace: no type, NILVALUE MSGID and hostname */
    netsink_syslog_header(h, sizeof h, 21, text, strlen(text), t, "", 7);
    assert_string_equal(h, "<174>1 2024-05-01T12:00:00.123456Z - imapscope 7 - - ");
    /* a cut line: the type's closing quote missing is no type */
    netsink_syslog_header(h, sizeof h, 21, imap, 45, t, "s", 7);
    assert_string_equal(h, "<174>1 2024-05-01T12:00:00.123456Z s imapscope 7 - - ");
}

static void test_facility(void **state)
{
    (void)state;
    assert_int_equal(netsink_facility("kern"), 0);
    assert_int_equal(netsink_facility("mail"), 2);
    assert_int_equal(netsink_facility("daemon"), 3);
    assert_int_equal(netsink_facility("authpriv"), 10);
    assert_int_equal(netsink_facility("local0"), 16);
    assert_int_equal(netsink_facility("local5"), 21);
    assert_int_equal(netsink_facility("local7"), 23);
    assert_int_equal(netsink_facility("local8"), -1);
    assert_int_equal(netsink_facility("local"), -1);
    assert_int_equal(netsink_facility("LOCAL5"), -1);
}

static void test_parse(void **state)
{
    (void)state;
    netsink_config c;
    char err[300];

    memset(&c, 0, sizeof c);
    assert_int_equal(netsink_parse("--syslog", "udp:127.0.0.1:5514", &c, err, sizeof err), 0);
    assert_int_equal(c.kind, NS_SYSLOG_UDP);
    assert_string_equal(c.host, "127.0.0.1");
    assert_string_equal(c.port, "5514");
    assert_string_equal(c.spec, "--syslog udp:127.0.0.1:5514");
    assert_int_equal(netsink_parse("--syslog", "tcp:[::1]:601", &c, err, sizeof err), 0);
    assert_int_equal(c.kind, NS_SYSLOG_TCP);
    assert_string_equal(c.host, "::1");
    assert_string_equal(c.port, "601");
    assert_int_equal(netsink_parse("--syslog", "/dev/log", &c, err, sizeof err), 0);
    assert_int_equal(c.kind, NS_SYSLOG_UNIX);
    assert_string_equal(c.path, "/dev/log");
    assert_int_equal(netsink_parse("--syslog", "unix:/run/x.sock", &c, err, sizeof err), 0);
    assert_string_equal(c.path, "/run/x.sock");
    assert_int_equal(netsink_parse("--unix-socket", "dgram:/tmp/a", &c, err, sizeof err), 0);
    assert_int_equal(c.kind, NS_UNIX_DGRAM);
    assert_int_equal(netsink_parse("--unix-socket", "stream:/tmp/b", &c, err, sizeof err), 0);
    assert_int_equal(c.kind, NS_UNIX_STREAM);
    assert_string_equal(c.path, "/tmp/b");
    assert_int_equal(netsink_parse("--redis", "localhost:6379", &c, err, sizeof err), 0);
    assert_int_equal(c.kind, NS_REDIS);
    assert_string_equal(c.host, "localhost");
    /* refused, with a message naming the option */
    assert_int_equal(netsink_parse("--redis", "localhost", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "--redis"));
    assert_int_equal(netsink_parse("--redis", "h:0", &c, err, sizeof err), -1);
    assert_int_equal(netsink_parse("--redis", "h:65536", &c, err, sizeof err), -1);
    assert_int_equal(netsink_parse("--redis", ":80", &c, err, sizeof err), -1);
    assert_int_equal(netsink_parse("--syslog", "udp:[::1]601", &c, err, sizeof err), -1);
    assert_int_equal(netsink_parse("--unix-socket", "seqpacket:/x", &c, err, sizeof err), -1);
    assert_int_equal(netsink_parse("--unix-socket", "stream:", &c, err, sizeof err), -1);
    char longp[200];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    assert_int_equal(netsink_parse("--syslog", longp, &c, err, sizeof err), -1);
}

/* No listener: every line is queued (up to the cap) or dropped; stop gives
 * up after drain_ms and counts the queue dropped. */
static void test_queue_cap_and_stop(void **state)
{
    (void)state;
    netsink_config c;
    netsink_stats st;
    char err[300], line[101];

    memset(&c, 0, sizeof c);
    assert_int_equal(netsink_parse("--unix-socket", "dgram:/nonexistent-dir-imapscope/x.sock", &c, err, sizeof err), 0);
    c.queue_bytes = 1040; /* 10 messages of 100 bytes and their 4-byte lengths */
    c.drain_ms = 200;
    netsink *s = netsink_start(&c, err, sizeof err);
    assert_non_null(s);
    memset(line, 'x', 100);
    line[100] = '\n';
    for (int i = 0; i < 25; i++)
        netsink_push(s, line, sizeof line);
    netsink_stats_get(s, &st);
    /* the queue holds 10; the writer may hold one more batch (those it took
     * from the queue before it failed to connect): 10 to 20 accepted */
    assert_int_equal(st.events, 0);
    assert_int_equal(st.dropped + st.queued, 25);
    assert_true(st.queued >= 10 && st.queued <= 20);
    assert_true(st.errors >= 1);
    netsink_stop(s);
    netsink_stats_get(s, &st);
    assert_int_equal(st.events + st.dropped, 25);
    assert_int_equal(st.dropped, 25);
    assert_int_equal(st.queued, 0);
    /* after stop: pushed lines are dropped, counted */
    netsink_push(s, "a\nb\n", 4);
    netsink_stats_get(s, &st);
    assert_int_equal(st.dropped, 27);
    assert_string_equal(netsink_type(s), "unix");
    assert_string_equal(netsink_name(s), "--unix-socket dgram:/nonexistent-dir-imapscope/x.sock");
    netsink_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_event_types),
        cmocka_unit_test(test_facility),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_queue_cap_and_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
