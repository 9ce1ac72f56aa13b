/*
 * test_ecs.c - the SIEM output of issue 14: the ECS renderer (-T ecs) on
 * synthetic email, fileinfo and alert bodies built as docs/NEW-EVENTS
 * agrees (through output_event, as the producers call it), the EVE-style
 * envelope of -T json (proto, app_proto, host, pcap_cnt, pcap_filename),
 * --types, the keyed flow_id and the RFC 5322 date parser.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "flow.h"
#include "flow_id.h"
#include "output.h"
#include "render_ecs.h"

#define TS_2024_05_01 UINT64_C(1714566896123456) /* 2024-05-01T12:34:56.123456Z */

static const out_flow FLOW = {
    .flow_id = 123456789,
    .community_id = "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
    .src_ip = "192.0.2.1",
    .src_port = 51000,
    .dest_ip = "192.0.2.2",
    .dest_port = 143,
    .app_proto = "imap",
};

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

static output *open_tmp(char *path, size_t len, const char *what, out_format fmt)
{
    char err[256] = "";
    snprintf(path, len, "/tmp/imapscope-test-ecs-%ld-%s", (long)getpid(), what);
    output *o = output_open(path, fmt, 0, err, sizeof err);
    assert_non_null(o);
    return o;
}

static char *close_and_read(output *o, const char *path)
{
    assert_int_equal(output_close(o), 0);
    char *s = slurp(path);
    unlink(path);
    return s;
}

/* The n-th line (0-based) of s parsed as JSON. */
static json_t *line_json(const char *s, int n)
{
    const char *p = s;
    for (int i = 0; i < n; i++) {
        p = strchr(p, '\n');
        assert_non_null(p);
        p++;
    }
    const char *end = strchr(p, '\n');
    assert_non_null(end);
    json_error_t err;
    json_t *j = json_loadb(p, (size_t)(end - p), 0, &err);
    if (!j)
        fail_msg("line %d is not JSON: %s", n, err.text);
    return j;
}

/* The value at a dotted path of nested objects. */
static json_t *at(json_t *doc, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *v = doc;
    for (char *p = buf, *dot; p && v; p = dot ? dot + 1 : NULL) {
        dot = strchr(p, '.');
        if (dot)
            *dot = '\0';
        /* a number indexes an array ("facts.0.name") */
        v = json_is_array(v) ? json_array_get(v, (size_t)strtoul(p, NULL, 10)) : json_object_get(v, p);
    }
    return v;
}

static void assert_str_at(json_t *doc, const char *path, const char *want)
{
    json_t *v = at(doc, path);
    if (!json_is_string(v))
        fail_msg("%s: not a string", path);
    assert_string_equal(json_string_value(v), want);
}

static void assert_int_at(json_t *doc, const char *path, long long want)
{
    json_t *v = at(doc, path);
    if (!json_is_integer(v))
        fail_msg("%s: not an integer", path);
    assert_int_equal(json_integer_value(v), want);
}


/* ---- every field of a document is in tests/data/ecs/ecs-subset.json ----- */

static json_t *subset_fields(void)
{
    const char *dir = getenv("IMAPSCOPE_SHARED");
    char path[1024];
    snprintf(path, sizeof path, "%s/ecs/ecs-subset.json", dir && *dir ? dir : "tests/data");
    json_error_t err;
    json_t *s = json_load_file(path, 0, &err);
    if (!s)
        fail_msg("%s: %s", path, err.text);
    return s;
}

/* Fails on a leaf path of doc (arrays transparent) in neither part of the
 * subset; a flattened field is not looked into. */
static void check_in_subset(const json_t *subset, const json_t *v, const char *path)
{
    const json_t *f = json_object_get(subset, "fields"), *c = json_object_get(subset, "custom");
    const json_t *t = *path ? json_object_get(f, path) : NULL;
    if (!t && *path)
        t = json_object_get(c, path);
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            check_in_subset(subset, json_array_get(v, i), path);
        return;
    }
    if (json_is_object(v) && !(t && strcmp(json_string_value(t), "flattened") == 0)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", k);
            check_in_subset(subset, x, sub);
        }
        return;
    }
    if (!t)
        fail_msg("%s: not in ecs-subset.json", path);
}

/* ---- email (NEW-EVENTS.md "email") --------------------------------------- */

static void test_ecs_email(void **state)
{
    (void)state;
    char path[256];
    output *o = open_tmp(path, sizeof path, "email", OUT_ECS);
    output_set_sensor(o, "sensor-a", "/data/x.pcap");
    output_set_packet(o, 42);
    /* addresses: one list [{field, name, address}] for every header */
    json_t *b = json_pack(
        "{s:s, s:s, s:s, s:s, s:i, s:i, s:s,"
        " s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s}, {s:s, s:s}], s:s, s:s, s:s, s:i, s:s, s:s,"
        " s:[{s:s, s:s}]}",
        "direction", "fetched", "source", "message", "tag", "A007", "mailbox", "INBOX",
        "uid", 4, "seq", 2, "section", "BODY[]",
        "addresses", "field", "from", "name", "Bob Example", "address", "bob@example.org",
        "field", "to", "name", "Alice", "address", "alice@example.net", "field", "to", "address", "carol@example.net",
        "field", "bcc", "address", "dave@example.net",
        "subject", "Quarterly report", "date", "Tue, 14 Nov 2023 10:00:00 +0100", "message_id", "<id1@host>",
        "size", 12345, "sha256", "ab12", "state", "complete",
        "attachments", "filename", "report.pdf", "sha256", "cd34");
    output_event(o, "email", TS_2024_05_01, &FLOW, b);
    char *s = close_and_read(o, path);
    json_t *d = line_json(s, 0);

    assert_str_at(d, "@timestamp", "2024-05-01T12:34:56.123456Z");
    assert_str_at(d, "ecs.version", ECS_VERSION);
    assert_str_at(d, "event.kind", "event");
    assert_str_at(d, "event.dataset", "imapscope.email");
    assert_string_equal(json_string_value(json_array_get(at(d, "event.category"), 0)), "email");
    assert_str_at(d, "event.action", "email-fetched");
    assert_str_at(d, "email.direction", "inbound");
    assert_string_equal(json_string_value(json_array_get(at(d, "email.from.address"), 0)), "bob@example.org");
    assert_int_equal(json_array_size(at(d, "email.to.address")), 2);
    assert_string_equal(json_string_value(json_array_get(at(d, "email.to.address"), 0)), "alice@example.net");
    assert_string_equal(json_string_value(json_array_get(at(d, "email.to.address"), 1)), "carol@example.net");
    assert_int_equal(json_array_size(at(d, "email.from.address")), 1);
    assert_string_equal(json_string_value(json_array_get(at(d, "email.bcc.address"), 0)), "dave@example.net");
    assert_null(at(d, "email.cc")); /* no Cc */
    assert_str_at(d, "email.subject", "Quarterly report");
    assert_str_at(d, "email.message_id", "<id1@host>");
    assert_str_at(d, "email.local_id", "4");
    /* 10:00 +0100 is 09:00 UTC */
    assert_str_at(d, "email.origination_timestamp", "2023-11-14T09:00:00.000000Z");
    json_t *att = json_array_get(at(d, "email.attachments"), 0);
    assert_non_null(att);
    assert_str_at(att, "file.name", "report.pdf");
    assert_str_at(att, "file.extension", "pdf");
    assert_str_at(att, "file.hash.sha256", "cd34");
    /* the envelope and the connection */
    assert_str_at(d, "observer.hostname", "sensor-a");
    assert_str_at(d, "source.ip", "192.0.2.1");
    assert_int_at(d, "source.port", 51000);
    assert_str_at(d, "destination.ip", "192.0.2.2");
    assert_int_at(d, "destination.port", 143);
    assert_str_at(d, "network.protocol", "imap");
    assert_str_at(d, "network.transport", "tcp");
    assert_str_at(d, "network.community_id", "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
    assert_int_at(d, "imapscope.flow_id", 123456789);
    assert_int_at(d, "imapscope.pcap_cnt", 42);
    assert_str_at(d, "imapscope.pcap_filename", "/data/x.pcap");
    /* the body, unchanged, under the custom namespace */
    assert_str_at(d, "imap.email.tag", "A007");
    assert_str_at(d, "imap.email.addresses.3.field", "bcc");
    assert_str_at(d, "imap.email.section", "BODY[]");
    assert_str_at(d, "imap.email.state", "complete");
    json_t *sub = subset_fields();
    check_in_subset(sub, d, "");
    json_decref(sub);
    json_decref(d);
    free(s);
}

/* ---- fileinfo ------------------------------------------------------------ */

static void test_ecs_fileinfo(void **state)
{
    (void)state;
    char path[256];
    output *o = open_tmp(path, sizeof path, "fileinfo", OUT_ECS);
    json_t *b = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s}", "filename", "invoice.tar.gz",
                          "content_type", "application/octet-stream", "magic", "application/gzip",
                          "disposition", "attachment", "size", 2048, "md5", "0cc175b9c0f1b6a831c399e269772661",
                          "sha1", "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8", "sha256",
                          "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb", "state", "complete",
                          "direction", "appended");
    output_event(o, "fileinfo", TS_2024_05_01, &FLOW, b);
    char *s = close_and_read(o, path);
    json_t *d = line_json(s, 0);
    assert_str_at(d, "event.dataset", "imapscope.fileinfo");
    assert_string_equal(json_string_value(json_array_get(at(d, "event.category"), 0)), "file");
    assert_str_at(d, "event.action", "file-appended");
    assert_str_at(d, "file.name", "invoice.tar.gz");
    assert_str_at(d, "file.extension", "gz");
    assert_str_at(d, "file.mime_type", "application/gzip"); /* sniffed before declared */
    assert_int_at(d, "file.size", 2048);
    assert_str_at(d, "file.hash.md5", "0cc175b9c0f1b6a831c399e269772661");
    assert_str_at(d, "file.hash.sha1", "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8");
    assert_str_at(d, "file.hash.sha256", "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb");
    assert_str_at(d, "imap.fileinfo.disposition", "attachment");
    assert_null(at(d, "observer.hostname")); /* no sensor set */
    json_t *sub = subset_fields();
    check_in_subset(sub, d, "");
    json_decref(sub);
    json_decref(d);
    free(s);
}

/* ---- alerts, with and without "mitre" ------------------------------------ */

static void test_ecs_alert_mitre(void **state)
{
    (void)state;
    char path[256];
    output *o = open_tmp(path, sizeof path, "alert", OUT_ECS);
    /* evidence: {user, window_start, window_s, facts: [{name, value, threshold, names}]} (docs/alerts.md) */
    json_t *a = json_pack("{s:s, s:s, s:i, s:i, s:s, s:s, s:{s:s, s:s}, s:{s:s, s:i, s:[{s:s, s:i, s:i}]}}",
                          "name", "auth_bruteforce", "description", "many failed logins from one source",
                          "severity", 2, "signature_id", 2000101, "category", "detection", "detail",
                          "12 failures in 60 s", "mitre", "technique_id", "T1110.001", "technique",
                          "Brute Force: Password Guessing", "evidence", "user", "alice", "window_s", 60, "facts",
                          "name", "failures", "value", 12, "threshold", 10);
    output_event(o, "alert", TS_2024_05_01, &FLOW, a);
    output_event(o, "alert", TS_2024_05_01, &FLOW,
                 json_pack("{s:s, s:i, s:i, s:s}", "name", "line_too_long", "severity", 3, "signature_id", 2000001,
                           "detail", "x"));
    char *s = close_and_read(o, path);
    json_t *d = line_json(s, 0);
    assert_str_at(d, "event.kind", "alert");
    assert_str_at(d, "event.dataset", "imapscope.alert");
    assert_str_at(d, "rule.name", "auth_bruteforce");
    assert_str_at(d, "rule.id", "2000101"); /* ECS rule.id is a keyword */
    assert_str_at(d, "rule.description", "many failed logins from one source");
    assert_int_at(d, "event.severity", 2);
    assert_str_at(d, "message", "12 failures in 60 s");
    assert_str_at(d, "threat.framework", "MITRE ATT&CK");
    assert_str_at(d, "threat.technique.id", "T1110.001");
    assert_str_at(d, "threat.technique.name", "Brute Force: Password Guessing");
    assert_str_at(d, "user.name", "alice"); /* the user a detection is about */
    assert_str_at(d, "related.user.0", "alice");
    assert_int_at(d, "imap.alert.evidence.window_s", 60);
    assert_str_at(d, "imap.alert.evidence.facts.0.name", "failures");
    assert_int_at(d, "imap.alert.evidence.facts.0.value", 12);
    assert_int_at(d, "imap.alert.evidence.facts.0.threshold", 10);
    json_t *sub = subset_fields();
    check_in_subset(sub, d, "");
    json_decref(sub);
    json_decref(d);
    d = line_json(s, 1);
    assert_str_at(d, "rule.name", "line_too_long");
    assert_null(at(d, "threat")); /* no mitre: no threat.* */
    json_decref(d);
    free(s);
}

/* ---- imap_user and stats: no connection ---------------------------------- */

static void test_ecs_no_flow(void **state)
{
    (void)state;
    json_t *b = json_pack("{s:s, s:i, s:i, s:n}", "user", "alice", "logins_ok", 3, "logins_failed", 1, "gone");
    json_t *d = ecs_document("imap_user", TS_2024_05_01, NULL, b, "s1", NULL, 9);
    assert_str_at(d, "user.name", "alice");
    assert_int_at(d, "imap.user_summary.logins_ok", 3);
    assert_null(at(d, "imap.user_summary.gone")); /* nulls left out */
    assert_null(at(d, "source"));
    assert_null(at(d, "imapscope.pcap_cnt")); /* only with a connection */
    json_t *sub = subset_fields();
    check_in_subset(sub, d, "");
    json_decref(sub);
    json_decref(d);
    json_decref(b);
    b = json_pack("{s:i}", "frames", 10);
    d = ecs_document("stats", TS_2024_05_01, NULL, b, NULL, NULL, 0);
    assert_str_at(d, "event.kind", "metric");
    assert_int_at(d, "imap.stats.frames", 10);
    json_decref(d);
    json_decref(b);
}

/* ---- the EVE-style envelope of -T json and --types ----------------------- */

static void test_json_envelope_and_types(void **state)
{
    (void)state;
    char path[256], err[256];
    output *o = open_tmp(path, sizeof path, "env", OUT_JSON);
    assert_int_equal(output_set_types(o, "alert,nosuch", err, sizeof err), -1);
    assert_non_null(strstr(err, "\"nosuch\""));
    assert_int_equal(output_set_types(o, "alert,stats", err, sizeof err), 0);
    assert_true(output_wants_type(o, "alert"));
    assert_false(output_wants_type(o, "imap"));
    assert_false(output_wants_type(o, "tls"));
    output_set_sensor(o, "sensor-b", "in.pcap");
    output_set_packet(o, 7);
    output_event(o, "tls", 5, &FLOW, json_pack("{s:s}", "version", "TLSv1.3")); /* not written */
    output_event(o, "alert", 5, &FLOW, json_pack("{s:s}", "name", "x"));
    output_set_packet(o, 0);
    output_event(o, "stats", 6, NULL, json_pack("{s:i}", "frames", 1));
    char *s = close_and_read(o, path);
    assert_string_equal(s,
        "{\"timestamp\":\"1970-01-01T00:00:00.000005Z\",\"event_type\":\"alert\",\"flow_id\":123456789,"
        "\"community_id\":\"1:LQU9qZlK+B5F3KDmev6m5PMibrg=\",\"src_ip\":\"192.0.2.1\",\"src_port\":51000,"
        "\"dest_ip\":\"192.0.2.2\",\"dest_port\":143,\"proto\":\"TCP\",\"app_proto\":\"imap\",\"host\":\"sensor-b\","
        "\"pcap_cnt\":7,\"pcap_filename\":\"in.pcap\",\"alert\":{\"name\":\"x\"}}\n"
        "{\"timestamp\":\"1970-01-01T00:00:00.000006Z\",\"event_type\":\"stats\",\"host\":\"sensor-b\","
        "\"pcap_filename\":\"in.pcap\",\"stats\":{\"frames\":1}}\n");
    free(s);
}

/* ---- flow_id -------------------------------------------------------------- */

static void test_flow_id(void **state)
{
    (void)state;
    flow f;
    memset(&f, 0, sizeof f);
    f.ipv = 4;
    memcpy(f.addr[0], "\xc0\x00\x02\x01", 4);
    memcpy(f.addr[1], "\xc0\x00\x02\x02", 4);
    f.port[0] = 51000;
    f.port[1] = 143;
    f.first_ts_us = TS_2024_05_01;
    f.id = 1;
    uint8_t k1[16], k2[16];
    flow_id_key_from_seed(k1, 1);
    flow_id_key_from_seed(k2, 2);
    uint64_t a = flow_id_make(k1, &f);
    assert_true(a >= 1 && a <= FLOW_ID_MAX);
    assert_true(a > 1000000); /* not a small counter */
    assert_int_equal(flow_id_make(k1, &f), a); /* deterministic under one key */
    assert_int_not_equal(flow_id_make(k2, &f), a); /* another run's key */
    /* the same whichever side was seen first */
    flow g = f;
    memcpy(g.addr[0], f.addr[1], 4);
    memcpy(g.addr[1], f.addr[0], 4);
    g.port[0] = f.port[1];
    g.port[1] = f.port[0];
    assert_int_equal(flow_id_make(k1, &g), a);
    /* port reuse: another first timestamp is another flow */
    g = f;
    g.first_ts_us++;
    assert_int_not_equal(flow_id_make(k1, &g), a);
    g = f;
    g.port[0]++;
    assert_int_not_equal(flow_id_make(k1, &g), a);
    /* every id of many flows stays within 2^53 */
    for (unsigned i = 0; i < 10000; i++) {
        g.port[0] = (uint16_t)i;
        uint64_t id = flow_id_make(k2, &g);
        assert_true(id >= 1 && id <= FLOW_ID_MAX);
    }
}

/* ---- RFC 5322 dates --------------------------------------------------------- */

static void test_rfc5322_date(void **state)
{
    (void)state;
    uint64_t t;
    assert_int_equal(ecs_parse_rfc5322_date("Tue, 14 Nov 2023 10:00:00 +0000", &t), 0);
    assert_int_equal(t, UINT64_C(1699956000) * 1000000);
    assert_int_equal(ecs_parse_rfc5322_date("14 Nov 2023 05:00:00 -0500 (EST)", &t), 0);
    assert_int_equal(t, UINT64_C(1699956000) * 1000000);
    assert_int_equal(ecs_parse_rfc5322_date("Tue, 14 Nov 23 10:00 GMT", &t), 0); /* obs-year, no seconds */
    assert_int_equal(t, UINT64_C(1699956000) * 1000000);
    assert_int_equal(ecs_parse_rfc5322_date("Sat, 29 Feb 2020 23:59:59 +0000", &t), 0);
    assert_int_equal(t, UINT64_C(1583020799) * 1000000);
    assert_int_equal(ecs_parse_rfc5322_date("not a date", &t), -1);
    assert_int_equal(ecs_parse_rfc5322_date("14 Foo 2023 10:00:00 +0000", &t), -1);
    assert_int_equal(ecs_parse_rfc5322_date("14 Nov 2023 25:00:00 +0000", &t), -1);
    assert_int_equal(ecs_parse_rfc5322_date("14 Nov 2023 10:00:00 +0099", &t), -1);
    assert_int_equal(ecs_parse_rfc5322_date("", &t), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ecs_email),
        cmocka_unit_test(test_ecs_fileinfo),
        cmocka_unit_test(test_ecs_alert_mitre),
        cmocka_unit_test(test_ecs_no_flow),
        cmocka_unit_test(test_json_envelope_and_types),
        cmocka_unit_test(test_flow_id),
        cmocka_unit_test(test_rfc5322_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
