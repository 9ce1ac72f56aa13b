/*
 * test_sasl.c - SASL exchange decoding of AUTHENTICATE (imap_sasl.c) with
 * the RFC examples: RFC 4616 (PLAIN), RFC 2195 (CRAM-MD5), RFC 2831
 * (DIGEST-MD5), RFC 5802 (SCRAM-SHA-1), RFC 7628 (OAUTHBEARER), plus LOGIN,
 * XOAUTH2, NTLM, GSSAPI; redaction on and off.
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

#include "imap_sasl.h"

/* base64 of n bytes (test side: OpenSSL's encoder). */
static const char *b64(const void *p, size_t n)
{
    static char out[4096];
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    return out;
}

static void client(imap_sasl *x, const void *p, size_t n)
{
    const char *e = b64(p, n);
    assert_int_equal(imapi_sasl_client(x, e, strlen(e)), 0);
}

static void server(imap_sasl *x, const void *p, size_t n)
{
    const char *e = b64(p, n);
    assert_int_equal(imapi_sasl_server(x, e, strlen(e)), 0);
}

/* A fixed member of the sasl object, else the value of the params entry
 * named k (the mechanism-specific values, issue 10). */
static const char *field(const imap_sasl *x, const char *k)
{
    const imap_node *v = imapi_object_get(imapi_sasl_info(x), k);
    if (v)
        return imapi_string_value(v);
    const imap_node *ps = imapi_object_get(imapi_sasl_info(x), "params");
    for (size_t i = 0; i < imapi_array_size(ps); i++) {
        const imap_node *e = imapi_array_get(ps, i);
        const char *n = imapi_string_value(imapi_object_get(e, "name"));
        if (n && strcmp(n, k) == 0)
            return imapi_string_value(imapi_object_get(e, "value"));
    }
    return NULL;
}

static void test_base64(void **state)
{
    (void)state;
    uint8_t out[64];
    size_t n;
    assert_int_equal(imapi_base64_decode("AHRpbQB0YW5zdGFhZnRhbnN0YWFm", 28, out, sizeof out, &n), 0);
    assert_int_equal(n, 21);
    assert_memory_equal(out, "\0tim\0tanstaaftanstaaf", 21);
    assert_int_equal(imapi_base64_decode("dXNlcg==", 8, out, sizeof out, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(imapi_base64_decode("dXNlcg", 6, out, sizeof out, &n), 0); /* padding optional */
    assert_int_equal(n, 4);
    assert_int_equal(imapi_base64_decode("dX!lcg==", 8, out, sizeof out, &n), -1);
    assert_int_equal(imapi_base64_decode("dXNlc", 5, out, sizeof out, &n), -1);   /* 1 char left over */
    assert_int_equal(imapi_base64_decode("dQ==dQ==", 8, out, sizeof out, &n), -1); /* data after padding */
    assert_int_equal(imapi_base64_decode("", 0, out, sizeof out, &n), 0);
    assert_int_equal(n, 0);
    /* output capped: decoded but not written past outcap */
    assert_int_equal(imapi_base64_decode("AHRpbQB0YW5zdGFhZnRhbnN0YWFm", 28, out, 3, &n), 0);
    assert_int_equal(n, 3);
}

/* RFC 4616 4 examples. */
static void test_plain(void **state)
{
    (void)state;
    imap_sasl x;
    imapi_sasl_init(&x, "plain", 5, false);
    assert_string_equal(x.mechanism, "PLAIN");
    client(&x, "\0tim\0tanstaaftanstaaf", 21);
    assert_string_equal(imapi_sasl_user(&x), "tim");
    assert_string_equal(field(&x, "password"), IMAP_SASL_REDACTED);
    assert_null(field(&x, "authzid"));
    imapi_sasl_clear(&x);

    imapi_sasl_init(&x, "PLAIN", 5, true);
    client(&x, "Ursel\0Kurt\0xipj3plmq", 20);
    assert_string_equal(field(&x, "authzid"), "Ursel");
    assert_string_equal(field(&x, "user"), "Kurt");
    assert_string_equal(field(&x, "password"), "xipj3plmq");
    assert_int_equal(imapi_integer_value(imapi_object_get(imapi_sasl_info(&x), "client_steps")), 1);
    imapi_sasl_clear(&x);

    /* "=" is an empty initial response (RFC 4959 3) */
    imapi_sasl_init(&x, "PLAIN", 5, false);
    assert_int_equal(imapi_sasl_client(&x, "=", 1), 0);
    assert_non_null(field(&x, "error"));
    imapi_sasl_clear(&x);
}

static void test_login(void **state)
{
    (void)state;
    imap_sasl x;
    imapi_sasl_init(&x, "LOGIN", 5, false);
    server(&x, "Username:", 9);
    client(&x, "tim", 3);
    server(&x, "Password:", 9);
    client(&x, "tanstaaf", 8);
    assert_string_equal(imapi_sasl_user(&x), "tim");
    assert_string_equal(field(&x, "password"), IMAP_SASL_REDACTED);
    assert_string_equal(field(&x, "prompt1"), "Username:");
    imapi_sasl_clear(&x);
    imapi_sasl_init(&x, "LOGIN", 5, true);
    client(&x, "tim", 3);
    client(&x, "tanstaaf", 8);
    assert_string_equal(field(&x, "password"), "tanstaaf");
    imapi_sasl_clear(&x);
    /* a server that prompts in plain text ("+ User Name") and a client that
     * answers in plain text: the raw user, not base64 garbage ("joe1" is
     * valid base64), and no base64 error on the client's lines */
    imapi_sasl_init(&x, "LOGIN", 5, false);
    assert_int_equal(imapi_sasl_server(&x, "User Name", 9), -1);
    assert_int_equal(imapi_sasl_client(&x, "joe1", 4), 0);
    assert_int_equal(imapi_sasl_server(&x, "Password", 8), 0); /* valid base64, but text here */
    assert_int_equal(imapi_sasl_client(&x, "pass word", 9), 0);
    assert_string_equal(imapi_sasl_user(&x), "joe1");
    assert_string_equal(field(&x, "password"), IMAP_SASL_REDACTED);
    assert_string_equal(field(&x, "server_text"), "User Name");
    assert_string_equal(field(&x, "prompt2"), "Password");
    assert_null(imapi_object_get(imapi_sasl_info(&x), "error"));
    imapi_sasl_clear(&x);
}

/* RFC 2195 2 example. */
static void test_cram_md5(void **state)
{
    (void)state;
    imap_sasl x;
    imapi_sasl_init(&x, "CRAM-MD5", 8, false);
    const char *ch = "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+";
    assert_int_equal(imapi_sasl_server(&x, ch, strlen(ch)), 0);
    const char *rs = "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw";
    assert_int_equal(imapi_sasl_client(&x, rs, strlen(rs)), 0);
    assert_string_equal(field(&x, "challenge"), "<1896.697170952@postoffice.reston.mci.net>");
    assert_string_equal(imapi_sasl_user(&x), "tim");
    assert_string_equal(field(&x, "digest"), IMAP_SASL_REDACTED);
    imapi_sasl_clear(&x);
    imapi_sasl_init(&x, "CRAM-MD5", 8, true);
    assert_int_equal(imapi_sasl_client(&x, rs, strlen(rs)), 0);
    assert_string_equal(field(&x, "digest"), "b913a602c7eda7a495b4e6e7334d3890");
    imapi_sasl_clear(&x);
}

/* RFC 2831 4 example. */
static void test_digest_md5(void **state)
{
    (void)state;
    const char *ch = "realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\",algorithm=md5-sess,charset=utf-8";
    const char *rs = "charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\","
                     "nc=00000001,cnonce=\"OA6MHXh6VqTrRk\",digest-uri=\"imap/elwood.innosoft.com\","
                     "response=d388dad90d4bbd760a152321f2143af7,qop=auth";
    const char *fin = "rspauth=ea40f60335c427b5527b84dbabcdfffd";
    imap_sasl x;
    imapi_sasl_init(&x, "DIGEST-MD5", 10, false);
    server(&x, ch, strlen(ch));
    client(&x, rs, strlen(rs));
    server(&x, fin, strlen(fin));
    assert_string_equal(imapi_sasl_user(&x), "chris");
    assert_string_equal(field(&x, "realm"), "elwood.innosoft.com");
    assert_string_equal(field(&x, "nonce"), "OA6MG9tEQGm2hh");
    assert_string_equal(field(&x, "cnonce"), "OA6MHXh6VqTrRk");
    assert_string_equal(field(&x, "digest_uri"), "imap/elwood.innosoft.com");
    assert_string_equal(field(&x, "qop"), "auth");
    assert_string_equal(field(&x, "algorithm"), "md5-sess");
    assert_string_equal(field(&x, "response"), IMAP_SASL_REDACTED);
    assert_string_equal(field(&x, "rspauth"), IMAP_SASL_REDACTED);
    imapi_sasl_clear(&x);
    imapi_sasl_init(&x, "DIGEST-MD5", 10, true);
    client(&x, rs, strlen(rs));
    assert_string_equal(field(&x, "response"), "d388dad90d4bbd760a152321f2143af7");
    imapi_sasl_clear(&x);
}

/* RFC 5802 5 example (SCRAM-SHA-1). */
static void test_scram(void **state)
{
    (void)state;
    const char *c1 = "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL";
    const char *s1 = "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
    const char *c2 = "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
    const char *s2 = "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=";
    imap_sasl x;
    imapi_sasl_init(&x, "SCRAM-SHA-1", 11, false);
    client(&x, c1, strlen(c1));
    server(&x, s1, strlen(s1));
    client(&x, c2, strlen(c2));
    server(&x, s2, strlen(s2));
    assert_string_equal(imapi_sasl_user(&x), "user");
    assert_string_equal(field(&x, "gs2_cbind_flag"), "n");
    assert_string_equal(field(&x, "client_nonce"), "fyko+d2lbbFgONRv9qkxdawL");
    assert_string_equal(field(&x, "server_nonce"), "fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j");
    assert_string_equal(field(&x, "salt"), "QSXCR+Q6sek8bf92");
    assert_int_equal(imapi_integer_value(imapi_object_get(imapi_sasl_info(&x), "iterations")), 4096);
    assert_string_equal(field(&x, "channel_binding"), "biws");
    assert_string_equal(field(&x, "proof"), IMAP_SASL_REDACTED);
    assert_string_equal(field(&x, "verifier"), IMAP_SASL_REDACTED);
    imapi_sasl_clear(&x);
    /* authzid and saslname escapes (RFC 5802 5.1), clear proof */
    imapi_sasl_init(&x, "SCRAM-SHA-256", 13, true);
    const char *c1b = "n,a=admin=2Cx,n=us=3Der,r=abc";
    client(&x, c1b, strlen(c1b));
    client(&x, c2, strlen(c2));
    assert_string_equal(field(&x, "authzid"), "admin,x");
    assert_string_equal(field(&x, "user"), "us=er");
    assert_string_equal(field(&x, "proof"), "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
    imapi_sasl_clear(&x);
}

static void test_oauth(void **state)
{
    (void)state;
    /* RFC 7628 4.1 example */
    const char oa[] = "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
                      "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01";
    imap_sasl x;
    imapi_sasl_init(&x, "OAUTHBEARER", 11, false);
    client(&x, oa, sizeof oa - 1);
    assert_string_equal(imapi_sasl_user(&x), "user@example.com");
    assert_string_equal(field(&x, "host"), "server.example.com");
    assert_string_equal(field(&x, "port"), "143");
    assert_string_equal(field(&x, "auth_scheme"), "Bearer");
    assert_string_equal(field(&x, "token"), IMAP_SASL_REDACTED);
    const char err[] = "{\"status\":\"invalid_token\"}";
    server(&x, err, sizeof err - 1);
    assert_string_equal(field(&x, "error"), err);
    imapi_sasl_clear(&x);
    /* XOAUTH2 */
    const char xo[] = "user=someuser@example.com\x01" "auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01";
    imapi_sasl_init(&x, "XOAUTH2", 7, true);
    client(&x, xo, sizeof xo - 1);
    assert_string_equal(imapi_sasl_user(&x), "someuser@example.com");
    assert_string_equal(field(&x, "token"), "Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg");
    imapi_sasl_clear(&x);
    assert_true(imapi_sasl_mech_is_cleartext("xoauth2", 7));
    assert_true(imapi_sasl_mech_is_cleartext("PLAIN", 5));
    assert_false(imapi_sasl_mech_is_cleartext("SCRAM-SHA-1", 11));
}

/* NTLM (MS-NLMP 2.2.1.3): a type 3 message with Unicode strings. */
static size_t put_utf16(uint8_t *p, const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        p[n++] = (uint8_t)*s;
        p[n++] = 0;
    }
    return n;
}

static void secbuf(uint8_t *hdr, size_t len, size_t off)
{
    hdr[0] = (uint8_t)len; hdr[1] = (uint8_t)(len >> 8);
    hdr[2] = (uint8_t)len; hdr[3] = (uint8_t)(len >> 8);
    hdr[4] = (uint8_t)off; hdr[5] = (uint8_t)(off >> 8); hdr[6] = 0; hdr[7] = 0;
}

static void test_ntlm(void **state)
{
    (void)state;
    uint8_t m[256];
    memset(m, 0, sizeof m);
    memcpy(m, "NTLMSSP\0", 8);
    m[8] = 3;
    size_t off = 64;
    /* LM and NT responses */
    secbuf(m + 12, 24, off); memset(m + off, 0xAA, 24); off += 24;
    secbuf(m + 20, 24, off); memset(m + off, 0xBB, 24); off += 24;
    size_t n = put_utf16(m + off, "DOMAIN"); secbuf(m + 28, n, off); off += n;
    n = put_utf16(m + off, "user"); secbuf(m + 36, n, off); off += n;
    n = put_utf16(m + off, "WORKSTATION"); secbuf(m + 44, n, off); off += n;
    m[60] = 0x01; /* NTLMSSP_NEGOTIATE_UNICODE */
    imap_sasl x;
    imapi_sasl_init(&x, "NTLM", 4, false);
    /* type 1, type 2 then type 3 */
    uint8_t t1[32] = "NTLMSSP\0\x01\0\0\0";
    client(&x, t1, 32);
    uint8_t t2[48];
    memset(t2, 0, sizeof t2);
    memcpy(t2, "NTLMSSP\0\x02\0\0\0", 12);
    memcpy(t2 + 24, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
    server(&x, t2, sizeof t2);
    assert_string_equal(field(&x, "challenge"), "0123456789abcdef");
    client(&x, m, off);
    assert_string_equal(field(&x, "domain"), "DOMAIN");
    assert_string_equal(imapi_sasl_user(&x), "user");
    assert_string_equal(field(&x, "host"), "WORKSTATION");
    assert_string_equal(field(&x, "nt_response"), IMAP_SASL_REDACTED);
    assert_int_equal(imapi_integer_value(imapi_object_get(imapi_sasl_info(&x), "ntlm_last_type")), 3);
    imapi_sasl_clear(&x);
    /* a truncated type 3: fields out of bounds are skipped, no crash */
    imapi_sasl_init(&x, "NTLM", 4, false);
    client(&x, m, 60);
    assert_null(field(&x, "user"));
    imapi_sasl_clear(&x);
}

static void test_gssapi_cancel_bad(void **state)
{
    (void)state;
    imap_sasl x;
    imapi_sasl_init(&x, "GSSAPI", 6, false);
    client(&x, "\x60\x82\x01\x00opaque", 10);
    assert_int_equal(imapi_integer_value(imapi_object_get(imapi_sasl_info(&x), "client_token_bytes")), 10);
    assert_int_equal(imapi_sasl_client(&x, "*", 1), 0);
    assert_true(x.cancelled);
    assert_true(imapi_is_true(imapi_object_get(imapi_sasl_info(&x), "cancelled")));
    assert_int_equal(imapi_sasl_client(&x, "a!b", 3), -1);
    assert_string_equal(field(&x, "error"), "invalid base64");
    assert_int_equal(imapi_sasl_server(&x, "go ahead", 8), -1);
    assert_string_equal(field(&x, "server_text"), "go ahead");
    imapi_sasl_clear(&x);
    assert_null(imapi_sasl_info(&x));
    assert_null(imapi_sasl_user(&x));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_login),
        cmocka_unit_test(test_cram_md5),
        cmocka_unit_test(test_digest_md5),
        cmocka_unit_test(test_scram),
        cmocka_unit_test(test_oauth),
        cmocka_unit_test(test_ntlm),
        cmocka_unit_test(test_gssapi_cancel_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
