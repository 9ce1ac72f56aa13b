/* test_fingerprint: JA3/JA4 examples from SPECS.md 2-3 and the parsers on a
 * hand-built ClientHello/ServerHello. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tls_fingerprint.h"

/* JA3 README examples: the MD5 over the given strings. */
static void test_ja3_readme(void **st)
{
    (void)st;
    tls_client_hello *h = calloc(1, sizeof *h);
    char s[TLS_JA3_STR_MAX], md5[33];
    h->legacy_version = 769;
    static const uint16_t c1[] = {47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4};
    memcpy(h->ciphers, c1, sizeof c1);
    h->n_ciphers = 12;
    h->exts[0] = 0; h->exts[1] = 10; h->exts[2] = 11; h->n_exts = 3;
    h->groups[0] = 23; h->groups[1] = 24; h->groups[2] = 25; h->n_groups = 3;
    h->point_formats[0] = 0; h->n_point_formats = 1;
    tls_ja3(h, s, sizeof s, md5);
    assert_string_equal(s, "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0");
    assert_string_equal(md5, "ada70206e40642a3e4461f35503241d5");
    memset(h, 0, sizeof *h);
    h->legacy_version = 769;
    static const uint16_t c2[] = {4, 5, 10, 9, 100, 98, 3, 6, 19, 18, 99};
    memcpy(h->ciphers, c2, sizeof c2);
    h->n_ciphers = 11;
    h->ciphers[h->n_ciphers++] = 0x0a0a;   /* GREASE is dropped */
    tls_ja3(h, s, sizeof s, md5);
    assert_string_equal(s, "769,4-5-10-9-100-98-3-6-19-18-99,,,");
    assert_string_equal(md5, "de350869b8c85de67a350c8d186f11e6");
    free(h);
}

/* JA4.md worked example, built as a wire ClientHello and parsed. */
static size_t put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; return 2; }

static void test_ja4_example(void **st)
{
    (void)st;
    static const uint16_t ciphers[] = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
                                       0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035, 0x5a5a};
    static const uint16_t exts[] = {0x0000, 0x0017, 0xff01, 0x000a, 0x000b, 0x0023, 0x0010, 0x0005, 0x000d,
                                    0x0012, 0x0033, 0x002d, 0x002b, 0x001b, 0x0015, 0x4469, 0x1a1a};
    static const uint16_t sig[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};
    uint8_t b[1024];
    size_t n = 0;
    n += put16(b + n, 0x0303);
    memset(b + n, 0x11, 32);
    n += 32;
    b[n++] = 0;
    n += put16(b + n, sizeof ciphers);
    for (size_t i = 0; i < 16; i++)
        n += put16(b + n, ciphers[i]);
    b[n++] = 1;
    b[n++] = 0;
    size_t extlen_at = n;
    n += 2;
    for (size_t i = 0; i < 17; i++) {
        n += put16(b + n, exts[i]);
        if (exts[i] == 0x0000) {   /* SNI "a.b" */
            n += put16(b + n, 8); n += put16(b + n, 6); b[n++] = 0; n += put16(b + n, 3);
            memcpy(b + n, "a.b", 3); n += 3;
        } else if (exts[i] == 0x0010) {   /* ALPN h2, http/1.1 */
            n += put16(b + n, 14); n += put16(b + n, 12);
            memcpy(b + n, "\x02h2\x08http/1.1", 12); n += 12;
        } else if (exts[i] == 0x000d) {
            n += put16(b + n, 2 + 2 * 8); n += put16(b + n, 16);
            for (size_t k = 0; k < 8; k++)
                n += put16(b + n, sig[k]);
        } else if (exts[i] == 0x002b) {
            n += put16(b + n, 5); b[n++] = 4; n += put16(b + n, 0x0304); n += put16(b + n, 0x0303);
        } else {
            n += put16(b + n, 0);
        }
    }
    put16(b + extlen_at, (unsigned)(n - extlen_at - 2));
    tls_client_hello *h = calloc(1, sizeof *h);
    assert_int_equal(tls_client_hello_parse(b, n, h), TLS_HELLO_OK);
    assert_string_equal(h->sni, "a.b");
    assert_int_equal(h->n_sigalgs, 8);
    char ja4[TLS_JA4_MAX], r[TLS_JA4_R_MAX];
    tls_ja4(h, TLS_JA4_ALPN_SPEC, ja4, r, sizeof r);
    assert_string_equal(ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");
    assert_string_equal(r, "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_"
                           "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_"
                           "0403,0804,0401,0503,0805,0501,0806,0601");
    /* ALPN rules for a non-alphanumeric first name (0xBA 0xAD) */
    memcpy(h->alpn, "\x02\xba\xad", 3);
    h->alpn_len = 3;
    tls_ja4(h, TLS_JA4_ALPN_SPEC, ja4, NULL, 0);
    assert_memory_equal(ja4, "t13d1516bd", 10);
    tls_ja4(h, TLS_JA4_ALPN_UPSTREAM, ja4, NULL, 0);
    assert_memory_equal(ja4, "t13d151699", 10);
    memcpy(h->alpn, "\x01x", 2);   /* 1-byte name: that char twice */
    h->alpn_len = 2;
    tls_ja4(h, TLS_JA4_ALPN_SPEC, ja4, NULL, 0);
    assert_memory_equal(ja4, "t13d1516xx", 10);
    /* truncated hello: malformed, no crash */
    assert_int_equal(tls_client_hello_parse(b, n - 3, h), TLS_HELLO_MALFORMED);
    free(h);
}

static void test_server_hello(void **st)
{
    (void)st;
    /* ServerHello: 0x0303, random, empty session id, 0xc030, null, exts ff01, 000b */
    uint8_t b[128];
    size_t n = 0;
    n += put16(b, 0x0303);
    memset(b + n, 0x22, 32); n += 32;
    b[n++] = 0;
    n += put16(b + n, 0xc030);
    b[n++] = 0;
    n += put16(b + n, 11);
    n += put16(b + n, 0xff01); n += put16(b + n, 1); b[n++] = 0;
    n += put16(b + n, 0x000b); n += put16(b + n, 2); b[n++] = 1; b[n++] = 0;
    tls_server_hello sh;
    assert_int_equal(tls_server_hello_parse(b, n, &sh), TLS_HELLO_OK);
    char s[256], md5[33];
    tls_ja3s(&sh, s, sizeof s, md5);
    assert_string_equal(s, "771,49200,65281-11");
    assert_string_equal(md5, "0debd3853f330c574b05e0b6d882dc27");
    assert_false(sh.hrr);
    assert_int_equal(tls_server_hello_version(&sh), 0x0303);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_ja3_readme), cmocka_unit_test(test_ja4_example),
                                       cmocka_unit_test(test_server_hello)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
