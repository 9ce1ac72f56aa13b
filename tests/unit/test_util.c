/* The one copy of the byte utilities (dissector/imap_util.h: UTF-8,
 * base64, hex) and the bounds-checked cursor (src/cursor.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cursor.h"
#include "imap.h"
#include "imap_limits.h"
#include "imap_util.h"

/* ---- cursor ---- */

static void test_cursor_reads(void **state)
{
    (void)state;
    static const uint8_t b[] = { 0x16, 0x03, 0x01, 0x00, 0x2a, 0x01, 0x00, 0x00, 0x26, 0xde, 0xad, 0xbe, 0xef };
    cursor c = cur_make(b, sizeof b);
    assert_int_equal(cur_u8(&c), 0x16);
    assert_int_equal(cur_be16(&c), 0x0301);
    assert_int_equal(cur_be16(&c), 0x002a);
    assert_int_equal(cur_u8(&c), 0x01);
    assert_int_equal(cur_be24(&c), 0x000026);
    assert_int_equal(cur_left(&c), 4);
    assert_true(cur_be32(&c) == 0xdeadbeefu);
    assert_int_equal(cur_left(&c), 0);
    assert_false(c.err);
    assert_true(c.p == b + sizeof b);
}

static void test_cursor_past_end(void **state)
{
    (void)state;
    static const uint8_t b[] = { 1, 2, 3 };
    /* each reader, one byte short: err set, 0 returned, p unmoved */
    cursor c = cur_make(b, 1);
    assert_int_equal(cur_be16(&c), 0);
    assert_true(c.err);
    assert_true(c.p == b);
    c = cur_make(b, 2);
    assert_int_equal(cur_be24(&c), 0);
    assert_true(c.err);
    c = cur_make(b, 3);
    assert_int_equal(cur_be32(&c), 0);
    assert_true(c.err);
    c = cur_make(b, 0);
    assert_int_equal(cur_u8(&c), 0);
    assert_true(c.err);
    c = cur_make(b, 3);
    assert_false(cur_skip(&c, 4));
    assert_true(c.err);
    c = cur_make(b, 3);
    assert_null(cur_bytes(&c, 4));
    assert_true(c.err);
    /* a huge length does not wrap the pointer */
    c = cur_make(b, 3);
    assert_false(cur_skip(&c, SIZE_MAX));
    assert_true(c.err);
    /* err is sticky: later reads that would fit fail too */
    assert_int_equal(cur_u8(&c), 0);
    assert_int_equal(cur_left(&c), 0);
    /* exact fit succeeds */
    c = cur_make(b, 3);
    assert_non_null(cur_bytes(&c, 3));
    assert_false(c.err);
}

static void test_cursor_sub(void **state)
{
    (void)state;
    static const uint8_t b[] = { 0, 2, 0xaa, 0xbb, 0xcc };
    cursor c = cur_make(b, sizeof b);
    cursor v = cur_sub(&c, cur_be16(&c));
    assert_false(v.err);
    assert_int_equal(cur_left(&v), 2);
    assert_int_equal(cur_be16(&v), 0xaabb);
    assert_int_equal(cur_u8(&v), 0);
    assert_true(v.err);
    assert_int_equal(cur_u8(&c), 0xcc); /* parent moved past the vector */
    cursor w = cur_sub(&c, 1);
    assert_true(w.err);
    assert_true(c.err);
}

/* ---- base64, RFC 4648 10 test vectors ---- */

static const char *const b64_plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
static const char *const b64_enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
static const char *const b16_enc[] = { "", "66", "666f", "666f6f", "666f6f62", "666f6f6261", "666f6f626172" };

static void test_base64_rfc4648(void **state)
{
    (void)state;
    for (size_t i = 0; i < 7; i++) {
        const char *pl = b64_plain[i];
        char enc[16];
        assert_int_equal(imapi_base64_encode((const uint8_t *)pl, strlen(pl), enc, sizeof enc), strlen(b64_enc[i]));
        assert_string_equal(enc, b64_enc[i]);
        uint8_t dec[16];
        size_t n = 99;
        assert_int_equal(imapi_base64_decode(b64_enc[i], strlen(b64_enc[i]), dec, sizeof dec, &n), 0);
        assert_int_equal(n, strlen(pl));
        assert_memory_equal(dec, pl, n);
    }
    /* all 64 alphabet values and back */
    uint8_t all[48], back[48];
    for (int i = 0; i < 48; i++)
        all[i] = (uint8_t)(i * 5 + 3);
    char enc[80];
    assert_int_equal(imapi_base64_encode(all, 48, enc, sizeof enc), 64);
    size_t n = 0;
    assert_int_equal(imapi_base64_decode(enc, 64, back, sizeof back, &n), 0);
    assert_int_equal(n, 48);
    assert_memory_equal(all, back, 48);
    assert_int_equal(imapi_base64_value('+'), 62);
    assert_int_equal(imapi_base64_value('/'), 63);
    assert_int_equal(imapi_base64_value('='), -1);
    assert_int_equal(imapi_base64_value('-'), -1);
}

static void test_base64_refused(void **state)
{
    (void)state;
    uint8_t out[16];
    size_t n;
    assert_int_equal(imapi_base64_decode("Zm9v!mFy", 8, out, sizeof out, &n), -1); /* not alphabet */
    assert_int_equal(imapi_base64_decode("Zm9vY", 5, out, sizeof out, &n), -1);    /* 6 bits left */
    assert_int_equal(imapi_base64_decode("Zg==Zg==", 8, out, sizeof out, &n), -1); /* data after pad */
    assert_int_equal(imapi_base64_decode("Zg===", 5, out, sizeof out, &n), -1);    /* three pads */
    assert_int_equal(imapi_base64_decode("Zm9vYg=", 7, out, sizeof out, &n), -1);  /* pad, len % 4 */
    /* output capped: decoded but dropped */
    assert_int_equal(imapi_base64_decode("Zm9vYmFy", 8, out, 2, &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(out, "fo", 2);
    /* encoder refuses a short buffer */
    char e[8];
    assert_int_equal(imapi_base64_encode((const uint8_t *)"foobar", 6, e, 8), 0);
    assert_string_equal(e, "");
}

/* ---- hex (base16), RFC 4648 10 ---- */

static void test_hex_rfc4648(void **state)
{
    (void)state;
    for (size_t i = 0; i < 7; i++) {
        const char *pl = b64_plain[i];
        char enc[16];
        imapi_hex_encode((const uint8_t *)pl, strlen(pl), enc);
        assert_string_equal(enc, b16_enc[i]);
        uint8_t dec[8];
        assert_int_equal(imapi_hex_decode(b16_enc[i], strlen(b16_enc[i]), dec, sizeof dec), (long)strlen(pl));
        assert_memory_equal(dec, pl, strlen(pl));
    }
    uint8_t d[4];
    assert_int_equal(imapi_hex_decode("DEADbeef", 8, d, 4), 4); /* either case */
    assert_int_equal(d[0], 0xde);
    assert_int_equal(d[3], 0xef);
    assert_int_equal(imapi_hex_decode("abc", 3, d, 4), -1);        /* odd */
    assert_int_equal(imapi_hex_decode("zz", 2, d, 4), -1);         /* not a digit */
    assert_int_equal(imapi_hex_decode("0011223344", 10, d, 4), -1); /* too long */
    assert_int_equal(imapi_hex_value('g'), -1);
}

/* ---- UTF-8, RFC 3629 ---- */

static size_t seq(const char *s, size_t n, uint32_t *cp)
{
    return imapi_utf8_seq((const uint8_t *)s, (const uint8_t *)s + n, cp);
}

static void test_utf8(void **state)
{
    (void)state;
    uint32_t cp = 0;
    assert_int_equal(seq("A", 1, &cp), 1);
    assert_int_equal(cp, 'A');
    assert_int_equal(seq("\0", 1, &cp), 1);
    assert_int_equal(seq("\xc3\xa9", 2, &cp), 2);
    assert_int_equal(cp, 0xE9);
    assert_int_equal(seq("\xe2\x82\xac", 3, &cp), 3);
    assert_int_equal(cp, 0x20AC);
    assert_int_equal(seq("\xf0\x9f\x98\x80", 4, &cp), 4);
    assert_int_equal(cp, 0x1F600);
    assert_int_equal(seq("\xf4\x8f\xbf\xbf", 4, &cp), 4); /* U+10FFFF, the last */
    assert_int_equal(cp, 0x10FFFF);
    assert_int_equal(seq("\xed\x9f\xbf", 3, &cp), 3);     /* U+D7FF */
    assert_int_equal(seq("\xee\x80\x80", 3, &cp), 3);     /* U+E000 */
    /* overlongs */
    assert_int_equal(seq("\xc0\xaf", 2, NULL), 0);
    assert_int_equal(seq("\xc1\xbf", 2, NULL), 0);
    assert_int_equal(seq("\xe0\x80\xaf", 3, NULL), 0);
    assert_int_equal(seq("\xe0\x9f\xbf", 3, NULL), 0);
    assert_int_equal(seq("\xf0\x80\x80\xaf", 4, NULL), 0);
    assert_int_equal(seq("\xf0\x8f\xbf\xbf", 4, NULL), 0);
    /* surrogates D800-DFFF */
    assert_int_equal(seq("\xed\xa0\x80", 3, NULL), 0);
    assert_int_equal(seq("\xed\xbf\xbf", 3, NULL), 0);
    /* above U+10FFFF */
    assert_int_equal(seq("\xf4\x90\x80\x80", 4, NULL), 0);
    assert_int_equal(seq("\xf5\x80\x80\x80", 4, NULL), 0);
    assert_int_equal(seq("\xff", 1, NULL), 0);
    /* lone continuation, truncated, bad continuation */
    assert_int_equal(seq("\x80", 1, NULL), 0);
    assert_int_equal(seq("\xe2\x82", 2, NULL), 0);
    assert_int_equal(seq("\xe2\x82\xac", 2, NULL), 0); /* end cuts it */
    assert_int_equal(seq("\xe2\x28\xac", 3, NULL), 0);
    assert_int_equal(seq("\xf0\x9f\x98\x41", 4, NULL), 0);

    assert_true(imapi_utf8_valid("caf\xc3\xa9 \xe2\x82\xac", 9));
    assert_true(imapi_utf8_valid("a\0b", 3));
    assert_false(imapi_utf8_valid("caf\xc3", 4));
    assert_false(imapi_utf8_valid("\xed\xa0\x80", 3));
    assert_false(imapi_utf8_valid("\xc0\x80", 2));

    uint8_t b[4];
    uint32_t cps[] = { 0x41, 0x7FF, 0x800, 0xFFFF, 0x10000, 0x10FFFF };
    size_t lens[] = { 1, 2, 3, 3, 4, 4 };
    for (size_t i = 0; i < 6; i++) {
        size_t n = imapi_utf8_put(cps[i], b);
        assert_int_equal(n, lens[i]);
        assert_int_equal(imapi_utf8_seq(b, b + n, &cp), n);
        assert_int_equal(cp, cps[i]);
    }
    assert_int_equal(imapi_utf8_put(0x110000, b), 0);
}

/* The library defaults documented in imap_limits.h are the ones
 * imap_config_default writes. */
static void test_config_defaults(void **state)
{
    (void)state;
    imap_config cfg;
    memset(&cfg, 0xa5, sizeof cfg);
    imap_config_default(&cfg);
    assert_true(cfg.max_line == IMAPI_DEFAULT_MAX_LINE);
    assert_true(cfg.max_literal == IMAPI_DEFAULT_MAX_LITERAL);
    assert_true(cfg.literal_keep == IMAPI_DEFAULT_LITERAL_KEEP);
    assert_true(cfg.max_pending == IMAPI_DEFAULT_MAX_PENDING);
    assert_true(cfg.max_responses == IMAPI_DEFAULT_MAX_RESPONSES);
    assert_true(cfg.max_txn_bytes == IMAPI_DEFAULT_MAX_TXN_BYTES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cursor_reads),    cmocka_unit_test(test_cursor_past_end),
        cmocka_unit_test(test_cursor_sub),      cmocka_unit_test(test_base64_rfc4648),
        cmocka_unit_test(test_base64_refused),  cmocka_unit_test(test_hex_rfc4648),
        cmocka_unit_test(test_utf8),            cmocka_unit_test(test_config_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
