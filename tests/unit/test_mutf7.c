/*
 * test_mutf7.c - modified UTF-7 (RFC 3501 5.1.3) and imapi_add_mailbox.
 */
#include "unit/dec_helper.h"

static void ok(const char *in, const char *want)
{
    char out[256];
    size_t n = 0;
    if (imapi_mutf7_to_utf8(in, strlen(in), out, sizeof(out), &n) != 0)
        fail_msg("'%s' rejected", in);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void bad(const char *in)
{
    char out[256];
    size_t n = 0;
    if (imapi_mutf7_to_utf8(in, strlen(in), out, sizeof(out), &n) == 0)
        fail_msg("'%s' accepted as '%s'", in, out);
}

static void test_valid(void **state)
{
    (void)state;
    ok("INBOX", "INBOX");
    ok("", "");
    ok("&-", "&");
    ok("Tom &- Jerry", "Tom & Jerry");
    /* RFC 3501 5.1.3 example */
    ok("~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
    ok("Entw&APw-rfe", "Entw\xc3\xbc" "rfe");
    /* surrogate pair: U+1F600 = D83D DE00 */
    ok("&2D3eAA-", "\xf0\x9f\x98\x80");
}

static void test_invalid(void **state)
{
    (void)state;
    bad("&U,BTFw");      /* unterminated shift */
    bad("&U,B*Fw-");     /* bad base64 */
    bad("&AGE-");        /* encodes "a": printable ASCII */
    bad("&APw");         /* unterminated */
    bad("&APx-");        /* non-zero padding bits */
    bad("&AP-");         /* half a UTF-16 unit */
    bad("&2D0-");        /* lone high surrogate (and padding) */
    bad("&2D3YPQ-");     /* high surrogate followed by a non-low */
    bad("&3gA-");        /* lone low surrogate */
    bad("caf\xc3\xa9");  /* raw 8-bit */
    bad("&APw/-");       /* "/" is not modified base64 */
    char small[4];
    size_t n;
    assert_int_equal(imapi_mutf7_to_utf8("abcdef", 6, small, sizeof(small), &n), -1);
}

static void test_add_mailbox(void **state)
{
    (void)state;
    imap_node *o = imapi_object();
    assert_int_equal(imapi_add_mailbox(&ctx, o, "mailbox", imapi_list_nth(tok("Entw&APw-rfe", NULL, 0), 0)), 0);
    STR(o, "mailbox", "Entw\xc3\xbc" "rfe");
    STR(o, "mailbox_raw", "Entw&APw-rfe");
    imapi_decref(o);
    o = imapi_object();
    imapi_add_mailbox(&ctx, o, "mailbox", imapi_list_nth(tok("\"A&B\"", NULL, 0), 0));
    STR(o, "mailbox", "A&B");
    TRUE(o, "mailbox_mutf7_invalid");
    imapi_decref(o);
    /* UTF8=ACCEPT: names are taken as UTF-8 */
    ctx.utf8_accept = true;
    o = imapi_object();
    imapi_add_mailbox(&ctx, o, "mailbox", imapi_list_nth(tok("\"Entw&APw-rfe\"", NULL, 0), 0));
    STR(o, "mailbox", "Entw&APw-rfe");
    ABSENT(o, "mailbox_raw");
    imapi_decref(o);
    ctx.utf8_accept = false;
    o = imapi_object();
    assert_int_equal(imapi_add_mailbox(&ctx, o, "mailbox", imapi_list_nth(tok("(a)", NULL, 0), 0)), -1);
    assert_int_equal(imapi_add_mailbox(&ctx, o, "mailbox", imapi_list_nth(tok("NIL", NULL, 0), 0)), -1);
    imapi_decref(o);
}

static void test_random(void **state)
{
    (void)state;
    static const char alpha[] = "&-AZaz09+,/ ~\x80";
    unsigned seed = 7;
    for (int i = 0; i < 20000; i++) {
        char in[32], out[80];
        size_t len = (size_t)(i % 31), n;
        for (size_t k = 0; k < len; k++) {
            seed = seed * 1103515245u + 12345u;
            in[k] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
        }
        if (imapi_mutf7_to_utf8(in, len, out, sizeof(out), &n) == 0)
            assert_true(n < sizeof(out) && out[n] == '\0');
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test_setup_teardown(test_add_mailbox, setup, teardown),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
