/* test_tls_crypto: key derivation against published values (RFC 8448 sec. 3,
 * illustrated-tls12/13), suite table, record decryption of the
 * illustrated-tls13 "ping" record, and the tls_conn record layer on
 * synthetic input (alerts, bad headers, caps, byte-by-byte equality). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"
#include "tls_crypto.h"

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = 0;
    unsigned x;
    while (h[0] && h[1] && sscanf(h, "%2x", &x) == 1) {
        out[n++] = (uint8_t)x;
        h += 2;
    }
    return n;
}

static void assert_hex(const uint8_t *got, size_t n, const char *want)
{
    uint8_t w[128];
    size_t wl = unhex(want, w);
    assert_int_equal(wl, n);
    assert_memory_equal(got, w, n);
}

/* RFC 8448 sec. 3: server/client handshake and application write keys. */
static void test_rfc8448_keys(void **st)
{
    (void)st;
    static const struct { const char *secret, *key, *iv; } v[] = {
        {"b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38", "3fce516009c21727d0f2e4e86ee403bc", "5d313eb2671276ee13000b30"},
        {"b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21", "dbfaa693d1762c5b666af5d950258d01", "5bd3c71b836e0b76bb73265f"},
        {"a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643", "9f02283b6c9c07efc26bb9f2ac92e356", "cf782b88dd83549aadf1e984"},
        {"9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5", "17422dda596ed5d9acd890e3c63f5051", "5b78923dee08579033e523d9"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t s[32], k[16], iv[12];
        assert_int_equal(unhex(v[i].secret, s), 32);
        assert_int_equal(tls13_hkdf_expand_label("SHA256", s, 32, "key", NULL, 0, k, 16), 0);
        assert_int_equal(tls13_hkdf_expand_label("SHA256", s, 32, "iv", NULL, 0, iv, 12), 0);
        assert_hex(k, 16, v[i].key);
        assert_hex(iv, 12, v[i].iv);
        /* same through the record state */
        tls_rstate r;
        assert_int_equal(tls_rstate_init13(&r, tls_suite_find(0x1301), s, 32), 0);
        assert_memory_equal(r.key, k, 16);
        assert_memory_equal(r.iv, iv, 12);
        tls_rstate_free(&r);
    }
}

/* illustrated-tls13 (SHA-384) keys and the client "ping" record. */
static void test_illustrated13(void **st)
{
    (void)st;
    uint8_t s[48];
    unhex("9e47af27cb60d818a9ea7d233cb5ed4cc525fcd74614fb24b0ee59acb8e5aa7ff8d88b89792114208fec291a6fa96bad", s);
    tls_rstate r;
    assert_int_equal(tls_rstate_init13(&r, tls_suite_find(0x1302), s, 48), 0);
    assert_hex(r.key, 32, "de2f4c7672723a692319873e5c227606691a32d1c59d8b9f51dbb9352e9ca9cc");
    assert_hex(r.iv, 12, "bb007956f474b25de902432f");
    uint8_t rec[32], out[32], type = 0;
    size_t n = unhex("1703030015828139cb7b73aaabf5b82fbf9a2961bcde10038a32", rec), ol = 0;
    assert_int_equal(n, 26);
    assert_int_equal(tls_rstate_decrypt(&r, rec, rec + 5, n - 5, out, &ol, &type), 0);
    assert_int_equal(type, 0x17);
    assert_int_equal(ol, 4);
    assert_memory_equal(out, "ping", 4);
    /* same record again: seq 1 now, must fail authentication */
    assert_int_equal(tls_rstate_decrypt(&r, rec, rec + 5, n - 5, out, &ol, &type), -1);
    /* KeyUpdate changes the keys and resets seq */
    assert_int_equal(tls_rstate_key_update(&r), 0);
    assert_int_equal(r.seq, 0);
    tls_rstate_free(&r);
}

/* illustrated-tls12: key block of TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA. */
static void test_illustrated12(void **st)
{
    (void)st;
    uint8_t ms[48], cr[32], sr[32];
    unhex("916abf9da55973e13614ae0a3f5d3f37b023ba129aee02cc9134338127cd7049781c8e19fc1eb2a7387ac06ae237344c", ms);
    unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", cr);
    unhex("707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f", sr);
    tls12_keys k;
    assert_int_equal(tls12_derive_keys(tls_suite_find(0xc013), 0x0303, ms, cr, sr, &k), 0);
    assert_hex(k.mac[0], 20, "1b7d117c7d5f690bc263cae8ef60af0f1878acc2");
    assert_hex(k.mac[1], 20, "2ad8bdd8c601a617126f63540eb20906f781fad2");
    assert_hex(k.key[0], 16, "f656d037b173ef3e11169f27231a84b6");
    assert_hex(k.key[1], 16, "752a18e7a9fcb7cbcdd8f98dd8f769eb");
    assert_hex(k.iv[0], 16, "a0d2550c9238eebfef5c32251abb67d6");
    assert_hex(k.iv[1], 16, "434528db4937d540d393135e06a11bb8");
}

static void test_suite_table(void **st)
{
    (void)st;
    for (size_t i = 1; i < tls_suite_count(); i++)
        assert_true(tls_suite_at(i - 1)->id < tls_suite_at(i)->id);   /* sorted for bsearch */
    assert_string_equal(tls_suite_name(0xc030), "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
    assert_null(tls_suite_name(0x1234));
    assert_true(tls_suite_supported(tls_suite_find(0xcca8)));
    assert_true(tls_suite_supported(tls_suite_find(0x1303)));
    assert_false(tls_suite_supported(tls_suite_find(0x0003)));   /* export: name only */
}

/* ---- record layer on synthetic bytes ---- */
typedef struct rec_log {
    char names[2048];
    unsigned events;
} rec_log;

static void on_anom(void *u, int dir, const char *name, const char *desc, const char *detail, uint64_t ts)
{
    rec_log *l = u;
    snprintf(l->names + strlen(l->names), sizeof l->names - strlen(l->names), "%s;", name);
}

static void on_hs(void *u, json_t *ev, uint64_t ts)
{
    ((rec_log *)u)->events++;
    json_decref(ev);
}

static void run_bytes(const uint8_t *p, size_t n, bool bytewise, rec_log *l, json_t **summary)
{
    tls_callbacks cb = {NULL, NULL, on_hs, on_anom};
    memset(l, 0, sizeof *l);
    tls_conn *t = tls_conn_new(NULL, &cb, l);
    assert_non_null(t);
    if (bytewise)
        for (size_t i = 0; i < n; i++)
            tls_conn_feed(t, 1, p + i, 1, 0);
    else
        tls_conn_feed(t, 1, p, n, 0);
    tls_conn_end(t, 0);
    if (summary) {
        *summary = tls_conn_summary(t, true);
        /* the short form (the session event's): no per-direction counters
         * nor handshake details, the same alerts and anomalies */
        json_t *brief = tls_conn_summary(t, false);
        assert_non_null(json_object_get(*summary, "client"));
        assert_non_null(json_object_get(*summary, "handshakes"));
        assert_null(json_object_get(brief, "client"));
        assert_null(json_object_get(brief, "server"));
        assert_null(json_object_get(brief, "handshakes"));
        assert_true(json_equal(json_object_get(brief, "alerts"), json_object_get(*summary, "alerts")));
        assert_true(json_equal(json_object_get(brief, "anomalies"), json_object_get(*summary, "anomalies")));
        json_decref(brief);
    }
    tls_conn_free(t);
}

static void test_records(void **st)
{
    (void)st;
    /* two plaintext alerts in one record (fatal handshake_failure, then
     * close_notify), then a record with a bad type, then garbage */
    static const uint8_t a[] = {0x15, 0x03, 0x03, 0x00, 0x04, 0x02, 0x28, 0x01, 0x00,
                                0x99, 0x03, 0x03, 0x00, 0x01, 0x00,
                                0x17, 0x03, 0x03, 0x00, 0x02, 0xab, 0xcd};
    rec_log w, b;
    json_t *sw, *sb;
    run_bytes(a, sizeof a, false, &w, &sw);
    run_bytes(a, sizeof a, true, &b, &sb);
    assert_string_equal(w.names, b.names);
    assert_true(json_equal(sw, sb));
    assert_non_null(strstr(w.names, "tls_alert;"));
    assert_non_null(strstr(w.names, "tls_bad_record;"));
    assert_non_null(strstr(w.names, "tls_resync;"));
    json_t *al = json_object_get(sw, "alerts");
    assert_int_equal(json_array_size(al), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(al, 0), "description")), "handshake_failure");
    assert_string_equal(json_string_value(json_object_get(json_array_get(al, 0), "level")), "fatal");
    json_decref(sw);
    json_decref(sb);

    /* not TLS at all */
    run_bytes((const uint8_t *)"* OK IMAP4rev1\r\n", 16, false, &w, NULL);
    assert_string_equal(w.names, "tls_not_tls;");
    /* over-long record: skipped with a named anomaly, sync kept */
    static uint8_t big[5 + 20000];
    memcpy(big, "\x17\x03\x03\x4e\x20", 5);
    run_bytes(big, sizeof big, false, &w, NULL);
    assert_string_equal(w.names, "tls_record_too_long;");
    /* truncated record */
    run_bytes(a, 3, false, &w, NULL);
    assert_string_equal(w.names, "tls_truncated;");
    assert_true(tls_looks_like_record((const uint8_t *)"\x16\x03\x01\x02\x00", 5));
    assert_false(tls_looks_like_record((const uint8_t *)"\x16\x03\x05\x02\x00", 5));
    assert_false(tls_looks_like_record((const uint8_t *)"a1 ST", 5));
}

/* After a STARTTLS switch: cleartext (here with a 0x16 byte that is not a
 * record header, and a partial header at a piece end) before the first
 * handshake record is skipped and counted, without an anomaly of the TLS
 * layer, however the bytes are split (tls_conn_await_record). */
static void run_await(const uint8_t *p, size_t n, size_t piece, rec_log *l, uint64_t *skipped, json_t **sum)
{
    tls_callbacks cb = {NULL, NULL, on_hs, on_anom};
    memset(l, 0, sizeof *l);
    tls_conn *t = tls_conn_new(NULL, &cb, l);
    assert_non_null(t);
    tls_conn_await_record(t, 1);
    for (size_t i = 0; i < n; i += piece)
        tls_conn_feed(t, 1, p + i, n - i < piece ? n - i : piece, 0);
    tls_conn_end(t, 0);
    *skipped = tls_conn_skipped(t, 1);
    *sum = tls_conn_summary(t, true);
    tls_conn_free(t);
}

static void test_await_first_record(void **st)
{
    (void)st;
    /* "A2 OK x\r\n", a stray 0x16 0x03 0x09 (not a version), then an
     * alert record (0x15: not a handshake, skipped too), then a handshake
     * record holding a 4-byte unknown handshake message, then an alert */
    static const uint8_t a[] = {'A', '2', ' ', 'O', 'K', ' ', 'x', '\r', '\n', 0x16, 0x03, 0x09,
                                0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28,
                                0x16, 0x03, 0x03, 0x00, 0x04, 0x63, 0x00, 0x00, 0x00,
                                0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00};
    json_t *first = NULL;
    for (size_t piece = 1; piece <= sizeof a; piece++) {
        rec_log l;
        uint64_t skipped;
        json_t *sum;
        run_await(a, sizeof a, piece, &l, &skipped, &sum);
        assert_int_equal(skipped, 19);           /* everything before the 0x16 0x03 0x03 record */
        assert_null(strstr(l.names, "tls_not_tls"));
        assert_null(strstr(l.names, "tls_resync"));
        /* the record after the handshake one is read in sync: one alert */
        json_t *al = json_object_get(sum, "alerts");
        assert_int_equal(json_array_size(al), 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(al, 0), "description")), "close_notify");
        if (first == NULL) {
            first = sum;
        } else {
            assert_true(json_equal(first, sum));
            json_decref(sum);
        }
    }
    json_decref(first);
}

static void test_anomaly_table(void **st)
{
    (void)st;
    for (int i = 0; i < TLS_ANOM_COUNT; i++) {
        assert_non_null(tls_anomaly_name(i));
        assert_int_equal(tls_anomaly_from_name(tls_anomaly_name(i)), i);
    }
    assert_null(tls_anomaly_name(TLS_ANOM_COUNT));
    assert_string_equal(tls_alert_name(40), "handshake_failure");
    assert_string_equal(tls_version_name(0x0304), "TLSv1.3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8448_keys), cmocka_unit_test(test_illustrated13),
        cmocka_unit_test(test_illustrated12), cmocka_unit_test(test_suite_table),
        cmocka_unit_test(test_records),       cmocka_unit_test(test_anomaly_table),
        cmocka_unit_test(test_await_first_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
