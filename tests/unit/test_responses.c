/*
 * test_responses.c - imapi_decode_untagged and imapi_decode_resp_code, from
 * the RFC examples (RFC 9051 7, RFC 4315, RFC 7162, RFC 5464, RFC 4314...).
 */
#include "unit/dec_helper.h"

static imap_node *untagged(const char *line)
{
    last_err = NULL;
    return imapi_decode_untagged(&ctx, tok(line, NULL, 0), &last_err);
}

static imap_node *code(const char *name, const char *args)
{
    const char *err = NULL;
    size_t off = 0;
    imap_value *v = imapi_tokenize(&arena, args, strlen(args), NULL, 0, NULL, true, NULL, &err, &off);
    assert_non_null(v);
    assert_null(err);
    return imapi_decode_resp_code(&ctx, name, v, args, strlen(args));
}

static void test_mailbox_data(void **state)
{
    (void)state;
    imap_node *o = untagged("23 EXISTS");                   /* RFC 9051 7.4.1 */
    STR(o, "type", "EXISTS");
    INT(o, "number", 23);
    imapi_decref(o);
    o = untagged("5 RECENT");
    STR(o, "type", "RECENT");
    imapi_decref(o);
    o = untagged("8 EXPUNGE");                           /* 7.5.1 */
    INT(o, "number", 8);
    imapi_decref(o);
    o = untagged("FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)"); /* 7.3.5 */
    SIZE(o, "flags", 5);
    STR(o, "flags/4", "\\Draft");
    imapi_decref(o);
    o = untagged("CAPABILITY IMAP4rev2 STARTTLS AUTH=GSSAPI XPIG-LATIN"); /* 7.2.2 */
    STR(o, "capabilities/0", "IMAP4rev2");                  /* the names as sent */
    STR(o, "capabilities/2", "AUTH=GSSAPI");
    STR(o, "capabilities/3", "XPIG-LATIN");
    SIZE(o, "capabilities", 4);
    imapi_decref(o);
    o = untagged("ENABLED CONDSTORE QRESYNC");           /* RFC 5161 */
    STR(o, "capabilities/1", "QRESYNC");                    /* CAPABILITY's shape */
    ABSENT(o, "enabled");
    imapi_decref(o);
}

static void test_list_status(void **state)
{
    (void)state;
    imap_node *o = untagged("LIST (\\Noselect) \"/\" ~/Mail/foo");  /* RFC 9051 7.3.1 */
    assert_null(last_err);
    STR(o, "flags/0", "\\Noselect");
    STR(o, "delimiter", "/");
    STR(o, "mailbox", "~/Mail/foo");
    imapi_decref(o);
    o = untagged("LIST () NIL INBOX");
    NUL(o, "delimiter");
    imapi_decref(o);
    /* RFC 5258 5: CHILDINFO and OLDNAME extended data */
    o = untagged("LIST (\\Subscribed) \"/\" \"Foo\" (\"CHILDINFO\" (\"SUBSCRIBED\" \"x\") \"X-OTHER\" 7)");
    STR(o, "values/0/name", "CHILDINFO");                   /* one list of named things */
    STR(o, "values/0/value", "SUBSCRIBED X");
    STR(o, "values/1/name", "X-OTHER");
    STR(o, "values/1/value", "7");
    ABSENT(o, "extended");
    imapi_decref(o);
    o = untagged("LIST () \".\" \"NewName\" (\"OLDNAME\" (\"&ZeVnLIqe-\"))");
    STR(o, "values/0/name", "OLDNAME");
    STR(o, "values/0/value", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"); /* a mailbox name, decoded */
    imapi_decref(o);
    o = untagged("LSUB (\\Noselect) \"/\" &ZeVnLIqe-");
    STR(o, "mailbox", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
    STR(o, "mailbox_raw", "&ZeVnLIqe-");
    imapi_decref(o);
    o = untagged("STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292 HIGHESTMODSEQ 7011231777 SIZE 99 APPENDLIMIT NIL)");
    STR(o, "mailbox", "blurdybloop");
    STR(o, "values/0/name", "MESSAGES");
    INT(o, "values/0/number", 231);
    ABSENT(o, "values/0/value");
    STR(o, "values/1/name", "UIDNEXT");
    INT(o, "values/1/number", 44292);
    STR(o, "values/2/name", "HIGHESTMODSEQ");
    INT(o, "values/2/number", 7011231777LL);
    STR(o, "values/4/name", "APPENDLIMIT");
    NUL(o, "values/4/value");
    ABSENT(o, "values/4/number");
    ABSENT(o, "status_items");
    imapi_decref(o);
    o = untagged("STATUS INBOX (MAILBOXID (F2212ea87-6097))"); /* RFC 8474 */
    STR(o, "values/0/value", "(F2212ea87-6097)");
    imapi_decref(o);
}

static void test_search_results(void **state)
{
    (void)state;
    imap_node *o = untagged("SEARCH 2 84 882");             /* RFC 3501 7.2.5 */
    INT(o, "count", 3);
    INT(o, "numbers/2", 882);
    imapi_decref(o);
    o = untagged("SEARCH");
    INT(o, "count", 0);
    imapi_decref(o);
    o = untagged("SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)"); /* RFC 7162 3.1.5 */
    INT(o, "modseq", 917162500);
    INT(o, "count", 10);
    imapi_decref(o);
    o = untagged("SORT 2 84 882");                       /* RFC 5256 */
    INT(o, "numbers/1", 84);
    imapi_decref(o);
    /* RFC 4731 / RFC 9051 7.3.4 */
    o = untagged("ESEARCH (TAG \"A282\") MIN 2 COUNT 3");
    STR(o, "tag", "A282");
    STR(o, "values/0/name", "MIN");
    INT(o, "values/0/number", 2);
    ABSENT(o, "min");
    INT(o, "count", 3);
    imapi_decref(o);
    o = untagged("ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800 ALL 7,12:13,3800 MODSEQ 12345");
    TRUE(o, "uid_results");
    ABSENT(o, "uid");                                    /* FETCH's number */
    STR(o, "values/1/name", "MAX");
    INT(o, "values/1/number", 3800);
    STR(o, "messages/text", "7,12:13,3800");                /* ALL: the set */
    INT(o, "messages/count", 4);
    ABSENT(o, "all");
    INT(o, "modseq", 12345);
    imapi_decref(o);
    o = untagged("ESEARCH (TAG \"A1\") UID PARTIAL (1:5 200:204)");  /* RFC 9394 */
    STR(o, "values/0/name", "PARTIAL");
    STR(o, "values/0/value", "1:5");
    INT(o, "messages/count", 5);
    ABSENT(o, "partial");
    imapi_decref(o);
    /* RFC 5256 THREAD */
    o = untagged("THREAD (2)(3 6 (4 23)(44 7 96))");
    /* each thread its wire text (any depth, one type), every message in
     * numbers */
    SIZE(o, "threads", 2);
    STR(o, "threads/0", "(2)");
    STR(o, "threads/1", "(3 6 (4 23)(44 7 96))");
    SIZE(o, "numbers", 8);
    INT(o, "numbers/3", 4);
    INT(o, "numbers/7", 96);
    ABSENT(o, "thread_count");
    imapi_decref(o);
}

static void test_namespace_id_quota_acl(void **state)
{
    (void)state;
    /* RFC 2342 5 examples: one entry of "values" per namespace, name
     * its class, value its prefix */
    imap_node *o = untagged("NAMESPACE ((\"\" \"/\")) ((\"~\" \"/\")) ((\"#shared/\" \"/\")(\"#public/\" \"/\")(\"#ftp/\" \"/\")(\"#news.\" \".\"))");
    SIZE(o, "values", 6);
    STR(o, "values/0/name", "personal");
    STR(o, "values/0/value", "");
    STR(o, "values/0/delimiter", "/");
    STR(o, "values/1/name", "other");
    STR(o, "values/1/value", "~");
    STR(o, "values/5/name", "shared");
    STR(o, "values/5/value", "#news.");
    STR(o, "values/5/delimiter", ".");
    ABSENT(o, "personal");
    imapi_decref(o);
    o = untagged("NAMESPACE ((\"\" \"/\" \"X-PARAM\" (\"FLAG1\" \"FLAG2\"))) NIL NIL");
    SIZE(o, "values", 2);                                   /* its extension follows it */
    STR(o, "values/1/name", "X-PARAM");
    STR(o, "values/1/value", "(\"FLAG1\" \"FLAG2\")");
    imapi_decref(o);
    o = untagged("ID (\"name\" \"Cyrus\" \"version\" \"1.5\" \"os\" \"sunos\" \"vendor\" NIL)"); /* RFC 2971 */
    STR(o, "values/0/name", "name");
    STR(o, "values/0/value", "Cyrus");
    STR(o, "values/1/value", "1.5");                        /* a string, not a number */
    STR(o, "values/2/name", "os");
    STR(o, "values/2/value", "sunos");
    NUL(o, "values/3/value");
    ABSENT(o, "id");
    imapi_decref(o);
    /* RFC 9208 5 */
    o = untagged("QUOTA \"\" (STORAGE 10 512)");
    STR(o, "roots/0", "");
    ABSENT(o, "quota_root");
    STR(o, "values/0/name", "STORAGE");
    INT(o, "values/0/number", 10);                          /* the usage */
    INT(o, "values/0/limit", 512);
    imapi_decref(o);
    o = untagged("QUOTA \"#user/alice\" (STORAGE 54 111 MESSAGE 42 1000)");
    STR(o, "values/1/name", "MESSAGE");
    INT(o, "values/1/limit", 1000);
    imapi_decref(o);
    o = untagged("QUOTA \"\" (STORAGE ten 512)");           /* not numbers: as sent */
    STR(o, "values/0/value", "ten 512");
    ABSENT(o, "values/0/number");
    ABSENT(o, "values/0/limit");
    imapi_decref(o);
    o = untagged("QUOTAROOT INBOX \"\"");
    STR(o, "mailbox", "INBOX");
    STR(o, "roots/0", "");
    imapi_decref(o);
    /* RFC 4314 3.6-3.8 */
    o = untagged("ACL INBOX Fred rwipsldexta");
    STR(o, "values/0/name", "Fred");                        /* the identifier */
    STR(o, "values/0/value", "rwipsldexta");                /* its rights */
    ABSENT(o, "acl");
    imapi_decref(o);
    o = untagged("LISTRIGHTS ~/Mail/saved smith la r swicdkxte");
    STR(o, "values/0/name", "smith");
    STR(o, "values/0/value", "la");                         /* always granted */
    STR(o, "optional/1", "swicdkxte");
    ABSENT(o, "required");
    imapi_decref(o);
    o = untagged("MYRIGHTS INBOX rwiptsldaex");
    STR(o, "rights", "rwiptsldaex");
    imapi_decref(o);
}

static void test_other_untagged(void **state)
{
    (void)state;
    /* RFC 5464 4.4 */
    imap_node *o = untagged("METADATA \"\" (/shared/comment \"Shared comment\")");
    STR(o, "values/0/name", "/shared/comment");
    STR(o, "values/0/value", "Shared comment");
    imapi_decref(o);
    o = untagged("METADATA \"INBOX\" /shared/comment /private/comment");
    STR(o, "changed_entries/1", "/private/comment");
    imapi_decref(o);
    /* RFC 7162 3.2.10 */
    o = untagged("VANISHED (EARLIER) 41,43:116,118,120:211,214:540");
    TRUE(o, "earlier");
    STR(o, "messages/text", "41,43:116,118,120:211,214:540");
    imapi_decref(o);
    o = untagged("VANISHED 405,407,410,425");
    assert_true(imapi_is_false(imapi_object_get(o, "earlier")));
    INT(o, "messages/count", 4);
    ABSENT(o, "uids");
    imapi_decref(o);
    o = untagged("LANGUAGE (EN DE IT i-default)");       /* RFC 5255 */
    STR(o, "languages/3", "i-default");
    imapi_decref(o);
    o = untagged("COMPARATOR \"i;unicode-casemap\"");
    STR(o, "comparators/0", "i;unicode-casemap");
    imapi_decref(o);
    /* RFC 5255 4.8: the active comparator, then the matching ones (not
     * one flat list with the active one twice) */
    o = untagged("COMPARATOR \"i;unicode-casemap\" (\"i;unicode-casemap\" \"i;octet\")");
    SIZE(o, "comparators", 1);
    STR(o, "matching/1", "i;octet");
    imapi_decref(o);
    /* RFC 5259 5.2 */
    o = untagged("CONVERSION \"image/gif\" \"image/jpeg\" (\"pix-y\" \"pix-x\")");
    STR(o, "source", "image/gif");
    STR(o, "target", "image/jpeg");
    STR(o, "params/1", "pix-x");
    imapi_decref(o);
    o = untagged("GENURLAUTH \"imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred:internal:91354a473744909de610943775f92038\"");
    assert_non_null(strstr(imapi_string_value(jget(o, "urls/0")), "urlauth=submit+fred"));
    imapi_decref(o);
    o = untagged("URLFETCH \"imap://joe@example.com/INBOX/;uid=20\" NIL \"imap://joe@example.com/INBOX/;uid=21\" \"abc\"");
    STR(o, "values/0/name", "imap://joe@example.com/INBOX/;uid=20");
    NUL(o, "values/0/value");                               /* no data */
    INT(o, "values/1/number", 3);                           /* its size */
    imapi_decref(o);
    o = untagged("XYZZY 1 2");
    assert_non_null(last_err);
    STR(o, "type", "XYZZY");
    STR(o, "raw", "XYZZY 1 2");
    imapi_decref(o);
}

static void test_resp_codes(void **state)
{
    (void)state;
    imap_node *o = code("UIDNEXT", "4392");                /* RFC 9051 7.1 */
    STR(o, "code", "UIDNEXT");
    INT(o, "number", 4392);
    STR(o, "args/0", "4392");
    imapi_decref(o);
    o = code("uidvalidity", "3857529045");
    STR(o, "code", "UIDVALIDITY");
    INT(o, "uidvalidity", 3857529045LL);
    imapi_decref(o);
    o = code("UNSEEN", "12");
    INT(o, "number", 12);
    imapi_decref(o);
    o = code("PERMANENTFLAGS", "(\\Deleted \\Seen \\*)");
    STR(o, "args/2", "\\*");                 /* the list's elements */
    imapi_decref(o);
    o = code("CAPABILITY", "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN");
    STR(o, "args/1", "SASL-IR");
    STR(o, "args/7", "AUTH=PLAIN");
    ABSENT(o, "capabilities");
    imapi_decref(o);
    o = code("BADCHARSET", "(UTF-8 US-ASCII)");
    STR(o, "args/1", "US-ASCII");
    imapi_decref(o);
    /* RFC 4315 3 */
    o = code("APPENDUID", "38505 3955");
    INT(o, "uidvalidity", 38505);
    STR(o, "uids/text", "3955");
    imapi_decref(o);
    o = code("COPYUID", "38505 304,319:320 3956:3958");
    INT(o, "uidvalidity", 38505);
    INT(o, "source_uids/count", 3);
    STR(o, "source_uids/text", "304,319:320");
    STR(o, "uids/text", "3956:3958");
    INT(o, "uids/ranges/0/1", 3958);
    STR(o, "args/2", "3956:3958");
    imapi_decref(o);
    /* RFC 7162 */
    o = code("HIGHESTMODSEQ", "715194045007");
    INT(o, "number", 715194045007LL);
    imapi_decref(o);
    o = code("MODIFIED", "7,9");
    STR(o, "uids/text", "7,9");
    INT(o, "uids/count", 2);
    imapi_decref(o);
    static const char *const bare[] = {
        "ALERT", "PARSE", "READ-ONLY", "READ-WRITE", "TRYCREATE", "UIDNOTSTICKY", "NOMODSEQ", "CLOSED",
        "COMPRESSIONACTIVE", "UNAVAILABLE", "AUTHENTICATIONFAILED", "AUTHORIZATIONFAILED", "EXPIRED",
        "PRIVACYREQUIRED", "CONTACTADMIN", "NOPERM", "INUSE", "EXPUNGEISSUED", "CORRUPTION", "SERVERBUG",
        "CLIENTBUG", "CANNOT", "LIMIT", "OVERQUOTA", "ALREADYEXISTS", "NONEXISTENT", "NOTIFICATIONOVERFLOW",
        "UNKNOWN-CTE", "BADCOMPARATOR", "USEATTR", "HASCHILDREN", "NOUPDATE",
    };
    for (size_t i = 0; i < sizeof(bare) / sizeof(bare[0]); i++) {
        o = code(bare[i], "");
        STR(o, "code", bare[i]);
        ABSENT(o, "raw");
        ABSENT(o, "known");
        imapi_decref(o);
    }
    o = code("REFERRAL", "IMAP://user;AUTH=*@SERVER2/");     /* RFC 2221 */
    STR(o, "args/0", "IMAP://user;AUTH=*@SERVER2/");
    imapi_decref(o);
    /* RFC 5464 */
    o = code("METADATA", "LONGENTRIES 2199");
    STR(o, "args/0", "LONGENTRIES");
    INT(o, "number", 2199);
    imapi_decref(o);
    o = code("METADATA", "MAXSIZE 1024");
    INT(o, "number", 1024);
    imapi_decref(o);
    o = code("METADATA", "TOOMANY");
    STR(o, "args/0", "TOOMANY");
    ABSENT(o, "number");
    imapi_decref(o);
    o = code("BADEVENT", "(MessageNew MessageExpunge)");    /* RFC 5465 */
    STR(o, "args/1", "MessageExpunge");     /* the list's elements */
    imapi_decref(o);
    o = code("URLMECH", "INTERNAL XSAMPLE");                /* RFC 4467 */
    STR(o, "args/1", "XSAMPLE");
    imapi_decref(o);
    o = code("MAILBOXID", "(F2212ea87-6097-4256-9d51-71338625)"); /* RFC 8474 */
    STR(o, "args/0", "F2212ea87-6097-4256-9d51-71338625");
    imapi_decref(o);
    o = code("X-SOMETHING", "1 2");
    assert_true(imapi_is_false(imapi_object_get(o, "known")));
    STR(o, "raw", "1 2");
    imapi_decref(o);
    o = code("UIDNEXT", "abc");
    STR(o, "raw", "abc");
    imapi_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mailbox_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_results, setup, teardown),
        cmocka_unit_test_setup_teardown(test_namespace_id_quota_acl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_untagged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resp_codes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
