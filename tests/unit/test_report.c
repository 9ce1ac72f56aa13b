/*
 * test_report.c - the report's aggregates (issue 16): latency percentiles
 * (exact while samples are kept, within 3.2% from the histogram), the cap
 * on distinct keys ("(other...)"), the kept connection rows (most alerts,
 * then most bytes), the kept traces (most interesting, then earliest;
 * per-trace and total memory caps), the time axis folding without losing
 * counts, and HTML escaping of network strings in the page.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "report_priv.h"
#include "line_helper.h"

static void report_line_j(report *r, uint64_t ts, const out_flow *f, const json_t *j)
{
    lh_line L;
    lh_line_from(&L, j);
    report_line(r, ts, f, L.dir, &L.line);
    lh_line_done(&L);
}

/* report_txn with a transaction written as its jansson "imap" object */
static void report_imap_j(report *r, uint64_t ts, const out_flow *f, const json_t *j)
{
    imap_transaction t;
    memset(&t, 0, sizeof t);
    imap_node *obj = lh_node(j);
    t.command_name = lh_span(json_object_get(j, "command"));
    t.command = t.command_name.ptr ? imap_command_lookup(t.command_name.ptr, t.command_name.len) : IMAP_CMD_NONE;
    const char *st = json_string_value(json_object_get(j, "status"));
    for (unsigned i = IMAP_STATUS_OK; st && i <= IMAP_STATUS_BYE; i++)
        if (strcmp(st, imap_status_name((imap_status)i)) == 0)
            t.status = (imap_status)i;
    json_t *lat = json_object_get(j, "latency_us");
    if (json_is_integer(lat) && json_integer_value(lat) >= 0) {
        t.has_latency = true;
        t.latency_us = (uint64_t)json_integer_value(lat);
    }
    t.obj = t.args = obj;
    t.responses = imap_node_get(obj, "responses");
    report_txn(r, ts, f, &t);
    imapi_decref(obj);
}

static uint64_t exact_rank(uint64_t *v, size_t n, double p)
{
    uint64_t rank = (uint64_t)(p / 100.0 * (double)n);
    if ((double)rank < p / 100.0 * (double)n)
        rank++;
    if (rank < 1)
        rank = 1;
    for (size_t i = 1; i < n; i++) /* insertion sort: small n in tests */
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[rank - 1];
}

static uint32_t rng = 12345;
static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void test_latency_exact_then_bounded(void **state)
{
    (void)state;
    static lat_hist h;
    static uint64_t v[5000];
    bool exact;
    const double ps[] = {50, 90, 99, 100};

    memset(&h, 0, sizeof h);
    for (size_t i = 0; i < 200; i++) {
        v[i] = 1 + next_rand() % 100000;
        lat_add(&h, v[i]);
    }
    for (size_t k = 0; k < 4; k++) {
        uint64_t got = lat_percentile(&h, ps[k], &exact);
        uint64_t tmp[200];
        memcpy(tmp, v, sizeof tmp);
        assert_true(exact);
        assert_int_equal(got, exact_rank(tmp, 200, ps[k]));
    }
    /* beyond REPORT_EXACT_SAMPLES: the histogram, within 1/32 */
    memset(&h, 0, sizeof h);
    for (size_t i = 0; i < 5000; i++) {
        v[i] = (uint64_t)(next_rand() % 1000) * (1u << (next_rand() % 20)) + 1;
        lat_add(&h, v[i]);
    }
    for (size_t k = 0; k < 4; k++) {
        uint64_t got = lat_percentile(&h, ps[k], &exact);
        static uint64_t tmp[5000];
        memcpy(tmp, v, sizeof tmp);
        uint64_t want = exact_rank(tmp, 5000, ps[k]);
        assert_false(exact);
        double err = got > want ? (double)(got - want) : (double)(want - got);
        if (err > want / 32.0 + 1)
            fail_msg("p%g: %llu vs exact %llu", ps[k], (unsigned long long)got, (unsigned long long)want);
    }
    /* bucket bounds are increasing and cover every value */
    for (unsigned i = 1; i < LAT_BUCKETS; i++)
        assert_true(lat_bucket_low(i) > lat_bucket_low(i - 1));
}

static out_flow flow_of(uint64_t id, char *ip)
{
    snprintf(ip, 32, "192.0.2.%u", (unsigned)(id % 250 + 1));
    return (out_flow){.flow_id = id, .community_id = "1:x", .src_ip = ip, .src_port = (uint16_t)(1000 + id),
                      .dest_ip = "198.51.100.1", .dest_port = 143};
}

static void session(report *r, uint64_t id, const char *user, uint64_t bytes, int alerts, uint64_t ts)
{
    char ip[32];
    out_flow f = flow_of(id, ip);
    json_t *s = json_pack("{s:s, s:I, s:I, s:I, s:I, s:{s:s}, s:[{s:s, s:I}]}", "user", user, "client_bytes",
                          (json_int_t)bytes, "server_bytes", (json_int_t)0, "start", (json_int_t)ts,
                          "duration_us", (json_int_t)1000, "tls", "mode", "none", "anomalies", "name", "x",
                          "count", (json_int_t)alerts);
    report_flow_begin(r, ts, &f);
    report_session(r, ts + 1000, &f, s);
    json_decref(s);
}

static void test_key_cap_and_rows(void **state)
{
    (void)state;
    report_config c;
    char err[128];
    report *r;
    char user[32];

    report_config_default(&c);
    c.max_keys = 3;
    c.max_conns = 5;
    r = report_new(&c, err, sizeof err);
    assert_non_null(r);
    for (unsigned i = 1; i <= 20; i++) {
        snprintf(user, sizeof user, "user%u", i);
        session(r, i, user, i * 100, i == 7 ? 2 : 0, 1000000 + i * 10);
    }
    assert_int_equal(r->sessions, 20);
    assert_int_equal(r->users.n, 3);                 /* two names and "(other...)" */
    assert_int_equal(r->users.refused, 18);
    const party_entry *o = KM_AT(&r->users, 2);
    assert_true(strstr(o->key, "other") != NULL);
    assert_int_equal(o->conns, 18);
    /* rows: flow 7 (alerts) then the 4 with the most bytes: 20, 19, 18, 17 */
    assert_int_equal(r->n_rows, 5);
    assert_int_equal(r->rows_dropped, 15);
    bool seen[21] = {false};
    for (unsigned i = 0; i < r->n_rows; i++)
        seen[r->rows[i].flow_id] = true;
    assert_true(seen[7] && seen[20] && seen[19] && seen[18] && seen[17]);
    report_free(r);
}

static void test_traces_kept_and_capped(void **state)
{
    (void)state;
    report_config c;
    char err[128], ip[32];
    report *r;
    json_t *line = json_pack("{s:s, s:s}", "direction", "client",
                             "text", "a1 SELECT INBOX 0123456789012345678901234567890123456789012345678901234567890123456789");
    json_t *alert = json_pack("{s:s, s:s, s:s}", "name", "test_alert", "detail", "<b>x</b>", "category", "imap");

    report_config_default(&c);
    c.max_traces = 2;
    c.trace_bytes = 1024;
    c.trace_memcap = 3 * 1024;
    r = report_new(&c, err, sizeof err);
    assert_non_null(r);
    /* four connections open at once: the memory cap allows three traces */
    for (uint64_t id = 1; id <= 4; id++) {
        out_flow f = flow_of(id, ip);
        report_flow_begin(r, 1000 + id, &f);
    }
    assert_int_equal(r->traces_unrecorded, 1);
    for (uint64_t id = 1; id <= 4; id++) {
        out_flow f = flow_of(id, ip);
        for (int k = 0; k < 30; k++)               /* ~3 kB of lines: cut at 1 kB */
            report_line_j(r, 2000 + id, &f, line);
        if (id == 3)
            report_alert(r, 3000, &f, alert);
    }
    for (uint64_t id = 1; id <= 4; id++) {
        out_flow f = flow_of(id, ip);
        json_t *s = json_pack("{s:s, s:I, s:I}", "user", "bob", "client_bytes", (json_int_t)10, "server_bytes",
                              (json_int_t)10);
        report_session(r, 5000 + id, &f, s);
        json_decref(s);
    }
    assert_int_equal(r->n_open, 0);
    assert_int_equal(r->trace_mem, 0);
    assert_int_equal(r->n_traces, 2);
    assert_non_null(report_trace_of(r, 3));          /* the alert */
    assert_non_null(report_trace_of(r, 1));          /* then the earliest */
    const kept_trace *t = report_trace_of(r, 1);
    assert_true(t->len <= 1024);
    assert_true(t->lines_dropped > 0);
    assert_true(r->traces_truncated >= 1);
    assert_non_null(strstr(report_trace_of(r, 3)->text, "!!! alert test_alert: <b>x</b>"));

    /* the page escapes network strings */
    char path[] = "/tmp/test_report_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(report_write_html(r, path, err, sizeof err), 0);
    FILE *fp = fopen(path, "r");
    static char page[1 << 20];
    size_t n = fread(page, 1, sizeof page - 1, fp);
    fclose(fp);
    unlink(path);
    page[n] = '\0';
    assert_non_null(strstr(page, "&lt;b&gt;x&lt;/b&gt;"));
    assert_null(strstr(page, "<b>x</b>"));
    assert_non_null(strstr(page, "id=\"trace-3\""));
    assert_non_null(strstr(page, "class=cap"));      /* the caps reached are reported */
    json_decref(line);
    json_decref(alert);
    report_free(r);
}

static void test_axis_folds_without_loss(void **state)
{
    (void)state;
    report_config c;
    char err[128], ip[32];
    report *r;
    out_flow f = flow_of(1, ip);
    uint64_t total = 0;

    report_config_default(&c);
    r = report_new(&c, err, sizeof err);
    assert_non_null(r);
    /* one command a second over a day: the 1 ms buckets widen many times */
    for (uint64_t i = 0; i < 86400; i += 60) {
        json_t *t = json_pack("{s:s, s:s, s:I}", "command", "NOOP", "status", "OK", "latency_us", (json_int_t)50);
        report_imap_j(r, 1700000000000000ull + i * 1000000u, &f, t);
        json_decref(t);
        total++;
    }
    const cmd_entry *ce = KM_AT(&r->cmds, 0);
    uint64_t sum = 0;
    for (unsigned b = 0; b < REPORT_BUCKETS; b++)
        sum += ce->series[b];
    assert_int_equal(sum, total);
    assert_int_equal(ce->count, total);
    assert_true(r->ax.width_us * REPORT_BUCKETS > 86340ull * 1000000u);
    assert_true(r->ax.width_us < 2 * 86400ull * 1000000u / REPORT_BUCKETS * 2);
    report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_latency_exact_then_bounded),
        cmocka_unit_test(test_key_cap_and_rows),
        cmocka_unit_test(test_traces_kept_and_capped),
        cmocka_unit_test(test_axis_folds_without_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
