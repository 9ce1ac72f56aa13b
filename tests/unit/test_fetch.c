/*
 * test_fetch.c - FETCH responses: every message attribute, ENVELOPE (with
 * groups and RFC 2047 subjects) and BODYSTRUCTURE (RFC 3501 7.4.2 examples).
 */
#include "unit/dec_helper.h"

static imap_node *untagged(const char *line, const imap_literal *lits, size_t n)
{
    last_err = NULL;
    return imapi_decode_untagged(&ctx, tok(line, lits, n), &last_err);
}

static void test_fetch_simple(void **state)
{
    (void)state;
    /* RFC 9051 7.5.2 */
    imap_node *o = untagged("12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 UID 4827313 MODSEQ (12121231000) EMAILID (M6d99ac3275bb4e) THREADID (T64b478a75b7ea9) SAVEDATE \"1-Jan-2020 00:00:00 +0000\" PREVIEW \"Hello there\")", NULL, 0);
    assert_null(last_err);
    STR(o, "type", "FETCH");
    INT(o, "number", 12);
    STR(o, "flags/0", "\\Seen");
    STR(o, "internaldate", "1996-07-17T02:44:25-07:00");   /* one field: ISO 8601 */
    ABSENT(o, "internaldate_iso");
    INT(o, "rfc822_size", 4286);
    INT(o, "uid", 4827313);
    INT(o, "modseq", 12121231000LL);
    STR(o, "emailid", "M6d99ac3275bb4e");
    STR(o, "threadid", "T64b478a75b7ea9");
    STR(o, "savedate", "2020-01-01T00:00:00+00:00");
    STR(o, "preview", "Hello there");
    imapi_decref(o);
    o = untagged("1 FETCH (THREADID NIL X-UNKNOWN (1 2) INTERNALDATE \"32-Jan-1996 02:44:25 -0700\")", NULL, 0);
    NUL(o, "threadid");
    STR(o, "values/0/name", "X-UNKNOWN");                    /* raw text */
    STR(o, "values/0/value", "(1 2)");
    ABSENT(o, "other");
    STR(o, "internaldate", "32-Jan-1996 02:44:25 -0700");   /* not a date: as sent */
    imapi_decref(o);
}

static void test_fetch_sections(void **state)
{
    (void)state;
    imap_literal lits[2] = { { .size = 342, .received = 342, .has_sha256 = true },
                             { .size = 1000, .received = 600 } };
    lits[0].sha256[0] = 0xff;
    imap_node *o = untagged("3 FETCH (BODY[HEADER.FIELDS (FROM)] {342}\r\n BODY[1.2]<1024> {1000}\r\n BINARY[2] \"abc\" BINARY.SIZE[3] 4096 BODY[4] NIL RFC822.HEADER \"x\")", lits, 2);
    assert_null(last_err);
    STR(o, "sections/0/item", "BODY");
    STR(o, "sections/0/section", "HEADER.FIELDS (FROM)");
    ABSENT(o, "sections/0/fields");                         /* read in "section" */
    ABSENT(o, "sections/0/section_text");
    INT(o, "sections/0/size", 342);
    STR(o, "sections/0/sha256", "ff00000000000000000000000000000000000000000000000000000000000000");
    STR(o, "sections/1/part", "1.2");
    INT(o, "sections/1/origin", 1024);
    INT(o, "sections/1/size", 1000);
    INT(o, "sections/1/received", 600);
    STR(o, "sections/2/item", "BINARY");
    INT(o, "sections/2/size", 3);
    /* SHA-256("abc") */
    STR(o, "sections/2/sha256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    STR(o, "sections/3/item", "BINARY.SIZE");             /* one shape for every section */
    STR(o, "sections/3/part", "3");
    INT(o, "sections/3/size", 4096);
    ABSENT(o, "binary_size");
    NUL(o, "sections/4/size");
    STR(o, "sections/5/item", "RFC822.HEADER");
    INT(o, "sections/5/size", 1);
    ABSENT(o, "rfc822_header");
    imapi_decref(o);
}

static void test_envelope(void **state)
{
    (void)state;
    /* RFC 3501 7.4.2 example ENVELOPE, plus a group and an encoded word */
    imap_node *o = untagged("12 FETCH (ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"=?iso-8859-1?Q?Caf=E9?= =?utf-8?B?w6k=?=\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"=?utf-8?Q?J=C3=BCrg?=\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) ((NIL NIL \"undisclosed\" NIL)(\"A\" NIL \"a\" \"x.org\")(NIL NIL NIL NIL)) NIL \"<B27397-0100000@cac.washington.edu>\"))", NULL, 0);
    assert_null(last_err);
    /* one field per datum: the date in ISO 8601, the subject decoded */
    STR(o, "envelope/date", "1996-07-17T02:23:25-07:00");
    ABSENT(o, "envelope/date_iso");
    STR(o, "envelope/subject", "Caf\xc3\xa9\xc3\xa9");
    ABSENT(o, "envelope/subject_decoded");
    /* one array of addresses, "field" naming the header */
    STR(o, "envelope/addresses/0/field", "from");
    STR(o, "envelope/addresses/0/name", "Terry Gray");
    STR(o, "envelope/addresses/0/address", "gray@cac.washington.edu");
    ABSENT(o, "envelope/addresses/0/mailbox");
    ABSENT(o, "envelope/addresses/0/host");
    ABSENT(o, "envelope/addresses/0/adl");
    STR(o, "envelope/addresses/1/field", "sender");
    STR(o, "envelope/addresses/1/address", "gray@cac.washington.edu");
    STR(o, "envelope/addresses/2/field", "reply_to");
    STR(o, "envelope/addresses/2/name", "J\xc3\xbcrg");          /* RFC 2047 decoded */
    ABSENT(o, "envelope/addresses/2/name_decoded");
    STR(o, "envelope/addresses/3/field", "to");
    ABSENT(o, "envelope/addresses/3/name");                 /* NIL */
    STR(o, "envelope/addresses/3/address", "imap@cac.washington.edu");
    STR(o, "envelope/addresses/5/field", "cc");
    STR(o, "envelope/addresses/5/address", "KLENSIN@MIT.EDU");
    ABSENT(o, "envelope/addresses/5/group");
    STR(o, "envelope/addresses/6/field", "bcc");
    STR(o, "envelope/addresses/6/group", "undisclosed");
    STR(o, "envelope/addresses/6/address", "a@x.org");
    SIZE(o, "envelope/addresses", 7);
    NUL(o, "envelope/in_reply_to");
    STR(o, "envelope/message_id", "<B27397-0100000@cac.washington.edu>");
    imapi_decref(o);
    /* a date that does not parse stays as sent; a source route (RFC 5322
     * 4.4 obs-route) leads the address; a subject without encoded words
     * is as sent */
    o = untagged("1 FETCH (ENVELOPE (\"yesterday\" \"plain =? text\" ((NIL \"@relay.example\" \"bob\" \"example.org\")) NIL NIL NIL NIL NIL NIL NIL))", NULL, 0);
    STR(o, "envelope/date", "yesterday");
    STR(o, "envelope/subject", "plain =? text");
    STR(o, "envelope/addresses/0/address", "@relay.example:bob@example.org");
    SIZE(o, "envelope/addresses", 1);
    imapi_decref(o);
}

static void test_bodystructure(void **state)
{
    (void)state;
    /* RFC 3501 7.4.2 BODY example */
    imap_node *o = untagged("12 FETCH (BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))", NULL, 0);
    /* a flat array of parts in preorder (docs/output.md) */
    SIZE(o, "body", 1);
    STR(o, "body/0/part", "1");
    INT(o, "body/0/depth", 0);
    ABSENT(o, "body/0/type");                               /* in mime_type */
    ABSENT(o, "body/0/subtype");
    STR(o, "body/0/mime_type", "text/plain");
    STR(o, "body/0/charset", "US-ASCII");
    ABSENT(o, "body/0/params");                             /* nothing else */
    ABSENT(o, "body/0/id");                                 /* NIL */
    ABSENT(o, "body/0/description");
    STR(o, "body/0/encoding", "7BIT");
    INT(o, "body/0/size", 3028);
    INT(o, "body/0/lines", 92);
    imapi_decref(o);
    /* multipart with extension data, attachment disposition */
    o = untagged("1 FETCH (BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\" \"format\" \"flowed\" \"delsp\" \"yes\") NIL NIL \"quoted-printable\" 120 5 NIL NIL NIL NIL)(\"application\" \"pdf\" (\"name\" \"a.pdf\") \"<id1>\" \"desc\" \"base64\" 4000 \"md5sum\" (\"attachment\" (\"filename\" \"a.pdf\" \"size\" \"4000\" \"creation-date\" \"Wed, 12 Feb 1997 16:29:51 -0500\")) \"en\" \"http://x/\") \"mixed\" (\"boundary\" \"XX\") NIL (\"en\" \"fr\") NIL))", NULL, 0);
    assert_null(last_err);
    SIZE(o, "bodystructure", 3);
    STR(o, "bodystructure/0/part", "");
    STR(o, "bodystructure/0/mime_type", "multipart/mixed");
    STR(o, "bodystructure/0/params", "boundary=XX");        /* MIME header form */
    STR(o, "bodystructure/0/language/1", "fr");
    ABSENT(o, "bodystructure/0/parts");
    ABSENT(o, "bodystructure/0/disposition");               /* NIL */
    STR(o, "bodystructure/1/part", "1");
    INT(o, "bodystructure/1/depth", 1);
    INT(o, "bodystructure/1/lines", 5);
    STR(o, "bodystructure/1/charset", "utf-8");
    STR(o, "bodystructure/1/params", "format=flowed; delsp=yes");
    STR(o, "bodystructure/2/part", "2");
    STR(o, "bodystructure/2/mime_type", "application/pdf");
    STR(o, "bodystructure/2/id", "<id1>");
    STR(o, "bodystructure/2/md5", "md5sum");
    /* the file name taken out of both (the same name), the rest folded,
     * a value that is not an RFC 2045 token quoted */
    STR(o, "bodystructure/2/filename", "a.pdf");
    ABSENT(o, "bodystructure/2/params");
    STR(o, "bodystructure/2/disposition", "attachment; size=4000; creation-date=\"Wed, 12 Feb 1997 16:29:51 -0500\"");
    STR(o, "bodystructure/2/language/0", "en");              /* always an array */
    STR(o, "bodystructure/2/location", "http://x/");
    imapi_decref(o);
    /* RFC 2231: an encoded file name (3) and one in continuations (4) are
     * decoded; a Content-Type name that differs from the disposition's
     * stays in params; one in a charset this decoder does not read stays
     * as sent; RFC 2047 in a name (a common client habit) is decoded */
    o = untagged("1 FETCH (BODYSTRUCTURE (\"application\" \"octet-stream\" (\"name\" \"old.bin\") NIL NIL \"base64\" 10 NIL (\"attachment\" (\"filename*\" \"UTF-8''%E2%82%AC.bin\")) NIL NIL))", NULL, 0);
    STR(o, "bodystructure/0/filename", "\xe2\x82\xac.bin");
    STR(o, "bodystructure/0/params", "name=old.bin");
    STR(o, "bodystructure/0/disposition", "attachment");
    imapi_decref(o);
    o = untagged("1 FETCH (BODYSTRUCTURE (\"application\" \"pdf\" NIL NIL NIL \"base64\" 10 NIL (\"inline\" (\"filename*1*\" \"%E9.pdf\" \"filename*0*\" \"iso-8859-1'fr'r%E9sum\")) NIL NIL))", NULL, 0);
    STR(o, "bodystructure/0/filename", "r\xc3\xa9sum\xc3\xa9.pdf");
    STR(o, "bodystructure/0/disposition", "inline");
    imapi_decref(o);
    o = untagged("1 FETCH (BODYSTRUCTURE (\"application\" \"pdf\" NIL NIL NIL \"base64\" 10 NIL (\"attachment\" (\"filename*\" \"koi8-r''%C1.pdf\")) NIL NIL))", NULL, 0);
    ABSENT(o, "bodystructure/0/filename");
    STR(o, "bodystructure/0/disposition", "attachment; filename*=koi8-r''%C1.pdf"); /* a token */
    imapi_decref(o);
    /* RFC 2231 sections win; a plain fallback beside them stays, as sent */
    o = untagged("1 FETCH (BODYSTRUCTURE (\"application\" \"pdf\" NIL NIL NIL \"base64\" 10 NIL (\"attachment\" (\"filename\" \"fallback.pdf\" \"filename*\" \"utf-8''r%C3%A9.pdf\")) NIL NIL))", NULL, 0);
    STR(o, "bodystructure/0/filename", "r\xc3\xa9.pdf");
    STR(o, "bodystructure/0/disposition", "attachment; filename=fallback.pdf");
    imapi_decref(o);
    /* malformed RFC 2231: a missing section, a cut %XX, bytes that are
     * not UTF-8: no file name, the parameters kept as sent */
    o = untagged("1 FETCH (BODYSTRUCTURE (\"application\" \"pdf\" NIL NIL NIL \"base64\" 10 NIL (\"attachment\" (\"filename*1*\" \"x\")) NIL NIL))", NULL, 0);
    ABSENT(o, "bodystructure/0/filename");
    STR(o, "bodystructure/0/disposition", "attachment; filename*1*=x");
    imapi_decref(o);
    o = untagged("1 FETCH (BODYSTRUCTURE (\"application\" \"pdf\" NIL NIL NIL \"base64\" 10 NIL (\"attachment\" (\"filename*\" \"utf-8''a%E\")) NIL NIL))", NULL, 0);
    ABSENT(o, "bodystructure/0/filename");
    STR(o, "bodystructure/0/disposition", "attachment; filename*=utf-8''a%E");
    imapi_decref(o);
    o = untagged("1 FETCH (BODYSTRUCTURE (\"application\" \"pdf\" NIL NIL NIL \"base64\" 10 NIL (\"attachment\" (\"filename*\" \"utf-8''%FF.bin\" \"x\" \"a \\\"q\\\"\")) NIL NIL))", NULL, 0);
    ABSENT(o, "bodystructure/0/filename");
    STR(o, "bodystructure/0/disposition", "attachment; filename*=utf-8''%FF.bin; x=\"a \\\"q\\\"\"");
    imapi_decref(o);
    o = untagged("1 FETCH (BODYSTRUCTURE (\"image\" \"png\" (\"name\" \"=?utf-8?B?w6kucG5n?=\") NIL NIL \"base64\" 10 NIL NIL NIL NIL))", NULL, 0);
    STR(o, "bodystructure/0/filename", "\xc3\xa9.png");
    ABSENT(o, "bodystructure/0/params");
    imapi_decref(o);
    /* message/rfc822: the inner envelope is not repeated (the email event
     * decodes the message), its body follows */
    o = untagged("2 FETCH (BODYSTRUCTURE (\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 500 (NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 100 4) 20))", NULL, 0);
    STR(o, "bodystructure/0/part", "1");
    STR(o, "bodystructure/0/mime_type", "message/rfc822");
    ABSENT(o, "bodystructure/0/envelope");
    INT(o, "bodystructure/0/lines", 20);
    STR(o, "bodystructure/1/part", "1.1");                   /* RFC 9051 6.4.5 */
    INT(o, "bodystructure/1/depth", 1);
    STR(o, "bodystructure/1/mime_type", "text/plain");
    SIZE(o, "bodystructure", 2);
    imapi_decref(o);
    /* deep multipart nesting stays bounded */
    char line[4096];
    strcpy(line, "1 FETCH (BODYSTRUCTURE ");
    for (int i = 0; i < 60; i++)
        strcat(line, "(");
    strcat(line, "\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1");
    for (int i = 0; i < 60; i++)
        strcat(line, ") \"mixed\"");
    strcat(line, ")");
    o = untagged(line, NULL, 0);
    SIZE(o, "bodystructure", 60);                           /* 59 multiparts, 1 text */
    INT(o, "bodystructure/59/depth", 59);
    STR(o, "bodystructure/59/mime_type", "text/plain");
    imapi_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fetch_simple, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch_sections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_envelope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bodystructure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
