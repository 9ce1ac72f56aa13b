/*
 * test_commands.c - imapi_decode_command for every command, from the RFC
 * examples (RFC 9051 6, the extension RFCs).
 */
#include "unit/dec_helper.h"

/* Decodes the arguments "args" of command "name"; last_err gets the error. */
static imap_node *cmd(const char *name, const char *args, const imap_literal *lits, size_t nlits)
{
    imap_value *v = tok(args, lits, nlits);
    imap_node *o = imapi_object();
    last_err = NULL;
    imapi_decode_command(&ctx, name, v, o, &last_err);
    return o;
}

#define CMD(name, args) cmd((name), (args), NULL, 0)

static void test_simple(void **state)
{
    (void)state;
    static const char *const none[] = { "CAPABILITY", "CHECK", "CLOSE", "EXPUNGE", "IDLE", "LOGOUT",
                                        "NAMESPACE", "NOOP", "STARTTLS", "UNSELECT", "UNAUTHENTICATE" };
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        imap_node *o = CMD(none[i], "");
        assert_null(last_err);
        assert_int_equal(imapi_object_size(o), 0);
        imapi_decref(o);
    }
    imap_node *o = CMD("NOOP", "extra");
    assert_non_null(last_err);
    STR(o, "extra_args/0", "extra");
    imapi_decref(o);
}

static void test_login(void **state)
{
    (void)state;
    /* RFC 9051 6.2.3: a001 LOGIN SMITH SESAME */
    imap_node *o = CMD("LOGIN", "SMITH SESAME");
    assert_null(last_err);
    STR(o, "user", "SMITH");
    STR(o, "password", "<redacted>");
    imapi_decref(o);
    ctx.show_credentials = true;
    o = CMD("LOGIN", "\"fred foobar\" \"p\\\"w\"");
    STR(o, "user", "fred foobar");
    STR(o, "password", "p\"w");
    imapi_decref(o);
    ctx.show_credentials = false;
    /* literal user */
    imap_literal lit = { .size = 5, .received = 5, .kept = (const uint8_t *)"alice", .kept_len = 5 };
    o = cmd("LOGIN", "{5}\r\n secret", &lit, 1);
    STR(o, "user", "alice");
    imapi_decref(o);
    o = CMD("LOGIN", "onlyuser");
    assert_non_null(last_err);
    imapi_decref(o);
}

static void test_authenticate(void **state)
{
    (void)state;
    imap_node *o = CMD("AUTHENTICATE", "plain dGVzdAB0ZXN0AHRlc3Q=");  /* RFC 4959 3 */
    STR(o, "mechanism", "PLAIN");
    TRUE(o, "initial_response");
    imapi_decref(o);
    o = CMD("AUTHENTICATE", "GSSAPI");                            /* RFC 9051 6.2.2 */
    assert_true(imapi_is_false(imapi_object_get(o, "initial_response")));
    imapi_decref(o);
    o = CMD("AUTHENTICATE", "EXTERNAL =");
    TRUE(o, "initial_response_empty");
    imapi_decref(o);
}

static void test_mailbox_commands(void **state)
{
    (void)state;
    imap_node *o = CMD("SELECT", "INBOX");                          /* RFC 9051 6.3.2 */
    STR(o, "mailbox", "INBOX");
    imapi_decref(o);
    o = CMD("EXAMINE", "blurdybloop");
    STR(o, "mailbox", "blurdybloop");
    imapi_decref(o);
    o = CMD("CREATE", "owatagusiam/");                            /* 6.3.4 */
    STR(o, "mailbox", "owatagusiam/");
    imapi_decref(o);
    o = CMD("CREATE", "MySpecialArchive (USE (\\Archive))");      /* RFC 6154 5.2 */
    STR(o, "use/0", "\\Archive");
    assert_null(last_err);
    imapi_decref(o);
    o = CMD("DELETE", "blurdybloop");
    STR(o, "mailbox", "blurdybloop");
    imapi_decref(o);
    o = CMD("RENAME", "blurdybloop sarasoop");                    /* 6.3.6 */
    STR(o, "mailbox", "blurdybloop");
    STR(o, "new_mailbox", "sarasoop");
    imapi_decref(o);
    o = CMD("SUBSCRIBE", "#news.comp.mail.mime");
    STR(o, "mailbox", "#news.comp.mail.mime");
    imapi_decref(o);
    o = CMD("UNSUBSCRIBE", "#news.comp.mail.mime");
    STR(o, "mailbox", "#news.comp.mail.mime");
    imapi_decref(o);
    /* modified UTF-7 (RFC 3501 5.1.3 example) */
    o = CMD("SELECT", "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
    STR(o, "mailbox", "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
    STR(o, "mailbox_raw", "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
    imapi_decref(o);
    o = CMD("SELECT", "");
    assert_non_null(last_err);
    imapi_decref(o);
}

static void test_select_params(void **state)
{
    (void)state;
    /* RFC 7162 3.1.8 and 3.2.5.2 */
    imap_node *o = CMD("SELECT", "INBOX (CONDSTORE)");
    STR(o, "options/0", "CONDSTORE"); /* one name with LIST's options */
    SIZE(o, "options", 1);
    ABSENT(o, "condstore");
    imapi_decref(o);
    o = CMD("SELECT", "INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))");
    INT(o, "qresync/uidvalidity", 67890007);
    INT(o, "qresync/modseq", 20050715194045000LL);
    STR(o, "qresync/known_uids/text", "41,43:211,214:541");
    INT(o, "qresync/known_uids/count", 1 + 169 + 328);
    imapi_decref(o);
    o = CMD("SELECT", "INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976:29997)))");
    STR(o, "qresync/known_uids/text", "1:29997");
    STR(o, "qresync/seq_match/sequence_set/text", "5000,7500,9000,9990:9999");
    STR(o, "qresync/seq_match/uid_set/text", "15000,22500,27000,29970,29973,29976:29997");
    imapi_decref(o);
}

static void test_list(void **state)
{
    (void)state;
    imap_node *o = CMD("LIST", "\"\" \"\"");                         /* RFC 9051 6.3.9 */
    STR(o, "reference", "");
    STR(o, "patterns/0", "");
    ABSENT(o, "pattern");
    imapi_decref(o);
    o = CMD("LIST", "/usr/staff/jones \"\"");
    STR(o, "reference", "/usr/staff/jones");
    imapi_decref(o);
    o = CMD("LIST", "~/Mail/ %");
    STR(o, "patterns/0", "%");
    imapi_decref(o);
    /* RFC 5258 5 */
    o = CMD("LIST", "(SUBSCRIBED RECURSIVEMATCH) \"\" % RETURN (CHILDREN)");
    STR(o, "options/0", "SUBSCRIBED");
    STR(o, "options/1", "RECURSIVEMATCH");
    STR(o, "return/0", "CHILDREN"); /* one name with SEARCH's RETURN */
    ABSENT(o, "selection_options");
    ABSENT(o, "return_options");
    imapi_decref(o);
    o = CMD("LIST", "\"\" (\"foo\" \"foo/*\")");
    STR(o, "patterns/1", "foo/*");
    ABSENT(o, "patterns_raw");
    imapi_decref(o);
    /* RFC 3501 5.1.3: the wire form kept, aligned, when one differs */
    o = CMD("LIST", "\"\" (\"foo\" \"Caf&AOk-*\")");
    STR(o, "patterns/1", "Caf\xc3\xa9*");
    STR(o, "patterns_raw/0", "foo");
    STR(o, "patterns_raw/1", "Caf&AOk-*");
    imapi_decref(o);
    /* RFC 5819 2 */
    o = CMD("LIST", "\"\" % RETURN (STATUS (MESSAGES UNSEEN))");
    STR(o, "status_items/0", "MESSAGES"); /* one name with STATUS's items */
    STR(o, "status_items/1", "UNSEEN");
    STR(o, "return/0", "STATUS");
    imapi_decref(o);
    o = CMD("LIST", "\"\" \"%\" RETURN (SPECIAL-USE)");           /* RFC 6154 */
    STR(o, "return/0", "SPECIAL-USE");
    imapi_decref(o);
    o = CMD("LSUB", "\"#news.\" \"comp.mail.*\"");
    STR(o, "reference", "#news.");
    STR(o, "patterns/0", "comp.mail.*");    /* one name for LIST and LSUB */
    imapi_decref(o);
}

static void test_status(void **state)
{
    (void)state;
    imap_node *o = CMD("STATUS", "blurdybloop (UIDNEXT MESSAGES)");  /* RFC 9051 6.3.11 */
    STR(o, "mailbox", "blurdybloop");
    STR(o, "status_items/0", "UIDNEXT");
    STR(o, "status_items/1", "MESSAGES");
    imapi_decref(o);
    o = CMD("STATUS", "INBOX (HIGHESTMODSEQ SIZE APPENDLIMIT DELETED)");
    SIZE(o, "status_items", 4);
    STR(o, "status_items/3", "DELETED");
    imapi_decref(o);
}

static void test_append(void **state)
{
    (void)state;
    /* RFC 9051 6.3.12: APPEND saved-messages (\Seen) {326} */
    imap_literal lit = { .size = 326, .received = 326, .has_sha256 = true };
    lit.sha256[31] = 1;
    imap_node *o = cmd("APPEND", "saved-messages (\\Seen) {326}\r\n", &lit, 1);
    assert_null(last_err);
    STR(o, "mailbox", "saved-messages");
    STR(o, "messages/0/flags/0", "\\Seen");
    SIZE(o, "messages", 1);
    /* size and SHA-256 are the literal's (imap.literals: test_session) */
    ABSENT(o, "messages/0/size");
    ABSENT(o, "messages/0/sha256");
    ABSENT(o, "message_count");
    imapi_decref(o);
    /* date-time; RFC 3502 MULTIAPPEND: several messages */
    imap_literal two[2] = { { .size = 310, .received = 310 }, { .size = 287, .received = 287 } };
    o = cmd("APPEND", "saved-messages (\\Seen) \"7-Feb-1994 21:52:25 -0800\" {310}\r\n (\\Seen) \" 7-Feb-1994 22:43:04 -0800\" {287}\r\n", two, 2);
    assert_null(last_err);
    SIZE(o, "messages", 2);
    /* one date: ISO 8601 when it parses */
    STR(o, "messages/0/date", "1994-02-07T21:52:25-08:00");
    STR(o, "messages/1/date", "1994-02-07T22:43:04-08:00");
    ABSENT(o, "messages/0/date_iso");
    imapi_decref(o);
    o = cmd("APPEND", "saved-messages \"31-Feb-1994 21:52:25 -0800\" {310}\r\n", two, 1);
    STR(o, "messages/0/date", "31-Feb-1994 21:52:25 -0800"); /* no such day: as sent */
    imapi_decref(o);
    /* RFC 4469 5: CATENATE */
    imap_literal cl[2] = { { .size = 42, .received = 42 }, { .size = 12, .received = 12 } };
    o = cmd("APPEND", "Drafts (\\Seen \\Draft $MDNSent) CATENATE (TEXT {42}\r\n URL \"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER\" TEXT {12}\r\n)", cl, 2);
    assert_null(last_err);
    STR(o, "messages/0/catenate/0/type", "TEXT");
    ABSENT(o, "messages/0/catenate/0/size");
    STR(o, "messages/0/catenate/1/type", "URL");
    STR(o, "messages/0/catenate/1/url", "/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER");
    STR(o, "messages/0/catenate/2/type", "TEXT");
    SIZE(o, "messages/0/catenate", 3);
    imapi_decref(o);
    /* RFC 3516: binary literal */
    imap_literal bl = { .size = 99, .received = 99, .binary = true };
    o = cmd("APPEND", "INBOX ~{99}\r\n", &bl, 1);
    assert_null(last_err);
    SIZE(o, "messages", 1);
    ABSENT(o, "messages/0/binary"); /* the literal's mode "~" */
    imapi_decref(o);
    o = CMD("APPEND", "INBOX (\\Seen)");
    assert_non_null(last_err);
    imapi_decref(o);
}

static void test_copy_move_expunge(void **state)
{
    (void)state;
    imap_node *o = CMD("COPY", "2:4 MEETING");                       /* RFC 9051 6.4.7 */
    STR(o, "sequence_set/text", "2:4");
    INT(o, "sequence_set/count", 3);
    INT(o, "sequence_set/ranges/0/0", 2);
    INT(o, "sequence_set/ranges/0/1", 4);
    STR(o, "mailbox", "MEETING");
    imapi_decref(o);
    o = CMD("UID MOVE", "42:69 foo");                             /* RFC 6851 4.4 */
    ABSENT(o, "uid"); /* the command is "UID ..." */
    INT(o, "sequence_set/count", 28);
    STR(o, "mailbox", "foo");
    imapi_decref(o);
    o = CMD("MOVE", "1:* Trash");
    NUL(o, "sequence_set/ranges/0/1");                        /* "*" */
    INT(o, "sequence_set/ranges/0/0", 1);
    TRUE(o, "sequence_set/star");
    ABSENT(o, "sequence_set/count");
    imapi_decref(o);
    o = CMD("UID EXPUNGE", "3000:3002");                          /* RFC 4315 2.1 */
    STR(o, "sequence_set/text", "3000:3002");
    INT(o, "sequence_set/count", 3);
    imapi_decref(o);
    o = CMD("UID COPY", "$ Archive");                             /* RFC 5182 */
    TRUE(o, "sequence_set/searchres");
    imapi_decref(o);
    o = CMD("COPY", "0:3 X");
    assert_non_null(last_err);
    imapi_decref(o);
}

static void test_fetch_cmd(void **state)
{
    (void)state;
    imap_node *o = CMD("FETCH", "2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])"); /* RFC 9051 6.4.5 */
    assert_null(last_err);
    INT(o, "sequence_set/count", 3);
    STR(o, "items/0/item", "FLAGS");
    STR(o, "items/1/item", "BODY");
    STR(o, "items/1/section", "HEADER.FIELDS (DATE FROM)");
    ABSENT(o, "items/1/section_text");                      /* read in "section" */
    ABSENT(o, "items/1/fields");
    imapi_decref(o);
    o = CMD("FETCH", "1 ALL");
    TRUE(o, "items/0/macro");
    imapi_decref(o);
    o = CMD("FETCH", "1 (BODY.PEEK[1.2.MIME]<0.2048> BINARY[1]<0.100> BINARY.PEEK[2] BINARY.SIZE[3] RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE UID MODSEQ EMAILID THREADID SAVEDATE PREVIEW (LAZY) RFC822 RFC822.HEADER RFC822.TEXT BODY)");
    assert_null(last_err);
    STR(o, "items/0/item", "BODY.PEEK");
    TRUE(o, "items/0/peek");
    STR(o, "items/0/part", "1.2");
    STR(o, "items/0/section", "1.2.MIME");
    INT(o, "items/0/partial_origin", 0);
    INT(o, "items/0/partial_length", 2048);
    STR(o, "items/1/item", "BINARY");
    STR(o, "items/1/part", "1");
    STR(o, "items/3/item", "BINARY.SIZE");
    STR(o, "items/13/item", "PREVIEW");
    STR(o, "items/13/modifiers/0", "LAZY");
    SIZE(o, "items", 18);
    imapi_decref(o);
    /* RFC 7162 3.1.4.1 and 3.2.6 */
    o = CMD("UID FETCH", "1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)");
    INT(o, "changedsince", 12345);
    TRUE(o, "vanished");
    ABSENT(o, "uid"); /* the command is "UID ..." */
    imapi_decref(o);
    o = CMD("FETCH", "1 (FLAGS XYZZY)");
    assert_true(imapi_is_false(jget(o, "items/1/known")));
    imapi_decref(o);
}

static void test_store(void **state)
{
    (void)state;
    imap_node *o = CMD("STORE", "2:4 +FLAGS (\\Deleted)");           /* RFC 9051 6.4.6 */
    assert_null(last_err);
    STR(o, "store/action", "add");
    assert_true(imapi_is_false(jget(o, "store/silent")));
    STR(o, "flags/0", "\\Deleted");
    imapi_decref(o);
    o = CMD("UID STORE", "7 -FLAGS.SILENT \\Seen $Junk");
    STR(o, "store/action", "remove");
    TRUE(o, "store/silent");
    STR(o, "flags/1", "$Junk");
    imapi_decref(o);
    o = CMD("STORE", "7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)"); /* RFC 7162 3.1.3 */
    INT(o, "unchangedsince", 320162338);
    STR(o, "store/item", "+FLAGS.SILENT");
    imapi_decref(o);
    o = CMD("STORE", "1 FLAGS ()");
    STR(o, "store/action", "replace");
    SIZE(o, "flags", 0);
    imapi_decref(o);
    /* RFC 5257 4.5: "a STORE 1 ANNOTATION (/comment (value.priv "My new
     * comment"))" is valid, and decoded */
    o = CMD("STORE", "1 ANNOTATION (/comment (value.priv \"My new comment\") /altsubject (value.shared NIL))");
    assert_null(last_err);
    STR(o, "store/item", "ANNOTATION");
    const imap_node *ann = imapi_object_get(o, "annotations");
    assert_string_equal(imapi_string_value(imapi_object_get(imapi_object_get(ann, "/comment"), "value.priv")),
                        "My new comment");
    assert_true(imapi_is_null(imapi_object_get(imapi_object_get(ann, "/altsubject"), "value.shared")));
    imapi_decref(o);
    o = CMD("UID STORE", "7 ANNOTATION (/comment)");  /* entry without (attribute value) */
    assert_non_null(last_err);
    imapi_decref(o);
}

static void test_search(void **state)
{
    (void)state;
    /* RFC 9051 6.4.4 */
    imap_node *o = CMD("SEARCH", "FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"");
    assert_null(last_err);
    /* the program in preorder (docs/output.md): depth, nargs */
    STR(o, "search/0/key", "AND");
    INT(o, "search/0/depth", 0);
    INT(o, "search/0/nargs", 3);
    STR(o, "search/1/key", "FLAGGED");
    INT(o, "search/1/depth", 1);
    STR(o, "search/2/key", "SINCE");
    STR(o, "search/2/value", "1994-02-01");
    ABSENT(o, "search/2/date");
    ABSENT(o, "search/2/date_iso");
    STR(o, "search/3/key", "NOT");
    INT(o, "search/3/nargs", 1);
    STR(o, "search/4/key", "FROM");
    INT(o, "search/4/depth", 2);
    STR(o, "search/4/value", "Smith");
    SIZE(o, "search", 5);
    imapi_decref(o);
    o = CMD("SEARCH", "TEXT \"string not in mailbox\"");
    STR(o, "search/0/key", "TEXT");
    SIZE(o, "search", 1);
    imapi_decref(o);
    o = CMD("SEARCH", "CHARSET UTF-8 OR (FROM a TO b) HEADER X-Spam yes");
    STR(o, "charset", "UTF-8");
    STR(o, "search/0/key", "OR");
    ABSENT(o, "search/0/op");
    STR(o, "search/1/key", "AND");
    INT(o, "search/1/depth", 1);
    STR(o, "search/3/key", "TO");
    INT(o, "search/3/depth", 2);
    STR(o, "search/4/key", "HEADER");
    INT(o, "search/4/depth", 1);
    STR(o, "search/4/field", "X-Spam");
    STR(o, "search/4/value", "yes");
    imapi_decref(o);
    /* RFC 4731 3.1 RETURN, sequence sets, UID, LARGER */
    o = CMD("UID SEARCH", "RETURN (MIN COUNT) UID 1:100 LARGER 4096 2:* $");
    STR(o, "return/0", "MIN");
    STR(o, "return/1", "COUNT");
    STR(o, "search/1/key", "UID");
    INT(o, "search/1/sequence_set/count", 100);
    INT(o, "search/2/number", 4096);
    STR(o, "search/3/key", "SEQUENCE");
    TRUE(o, "search/3/sequence_set/star");
    TRUE(o, "search/4/sequence_set/searchres");
    imapi_decref(o);
    /* RFC 7162 3.1.5 MODSEQ */
    o = CMD("SEARCH", "MODSEQ \"/flags/\\\\draft\" all 620162338");
    STR(o, "search/0/key", "MODSEQ");
    STR(o, "search/0/entry", "/flags/\\draft");
    STR(o, "search/0/entry_type", "all");
    INT(o, "search/0/number", 620162338);
    imapi_decref(o);
    /* RFC 5032 WITHIN, RFC 6203 FUZZY, RFC 8514 SAVEDBEFORE */
    o = CMD("SEARCH", "YOUNGER 3600 OLDER 60 FUZZY SUBJECT hello SAVEDBEFORE 1-Jan-2020 KEYWORD $Forwarded");
    INT(o, "search/1/number", 3600);
    STR(o, "search/2/key", "OLDER");
    STR(o, "search/3/key", "FUZZY");
    STR(o, "search/4/value", "hello");
    STR(o, "search/5/value", "2020-01-01");
    STR(o, "search/6/value", "$Forwarded");
    imapi_decref(o);
    /* errors */
    o = CMD("SEARCH", "FROM");
    assert_non_null(last_err);
    imapi_decref(o);
    o = CMD("SEARCH", "BOGUSKEY");
    assert_non_null(last_err);
    assert_true(imapi_is_false(jget(o, "search/0/known")));
    imapi_decref(o);
    /* deep NOT chain does not recurse past the cap */
    static char deep[4 * 200 + 4];
    deep[0] = '\0';
    for (int i = 0; i < 200; i++)
        strcat(deep, "NOT ");
    strcat(deep, "ALL");
    o = CMD("SEARCH", deep);
    assert_non_null(last_err);
    imapi_decref(o);
}

static void test_sort_thread_esearch(void **state)
{
    (void)state;
    /* RFC 5256 */
    imap_node *o = CMD("SORT", "(SUBJECT) UTF-8 SINCE 1-Feb-1994");
    STR(o, "sort_criteria/0/key", "SUBJECT");
    STR(o, "charset", "UTF-8");
    STR(o, "search/0/key", "SINCE");
    imapi_decref(o);
    o = CMD("UID SORT", "(REVERSE DATE SUBJECT) UTF-8 ALL");
    TRUE(o, "sort_criteria/0/reverse");
    STR(o, "sort_criteria/0/key", "DATE");
    ABSENT(o, "sort_criteria/1/reverse");
    imapi_decref(o);
    o = CMD("SORT", "RETURN (MIN) (DATE) UTF-8 ALL");             /* RFC 5267 */
    STR(o, "return/0", "MIN");
    imapi_decref(o);
    o = CMD("THREAD", "ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000");
    STR(o, "algorithm", "ORDEREDSUBJECT");
    STR(o, "charset", "UTF-8");
    STR(o, "search/0/value", "2000-03-05");
    imapi_decref(o);
    o = CMD("THREAD", "REFERENCES");
    assert_non_null(last_err);
    imapi_decref(o);
    /* RFC 7377 2 */
    o = CMD("ESEARCH", "IN (mailboxes \"folder1\" subtree-one \"folder2\") unseen");
    STR(o, "source/0/filter", "MAILBOXES");
    STR(o, "source/0/mailboxes/0", "folder1");
    STR(o, "source/1/filter", "SUBTREE-ONE");
    STR(o, "search/0/key", "UNSEEN");
    imapi_decref(o);
}

static void test_acl_quota(void **state)
{
    (void)state;
    /* RFC 4314 3 */
    imap_node *o = CMD("SETACL", "INBOX/Drafts David lrswida");
    STR(o, "mailbox", "INBOX/Drafts");
    STR(o, "identifier", "David");
    STR(o, "rights", "lrswida");
    STR(o, "rights_mode", "replace");
    imapi_decref(o);
    o = CMD("SETACL", "INBOX/Drafts Chris +cda");
    STR(o, "rights", "cda");
    STR(o, "rights_mode", "add");
    imapi_decref(o);
    o = CMD("DELETEACL", "INBOX/Drafts Chris");
    STR(o, "identifier", "Chris");
    imapi_decref(o);
    o = CMD("GETACL", "INBOX");
    STR(o, "mailbox", "INBOX");
    imapi_decref(o);
    o = CMD("LISTRIGHTS", "~/Mail/saved smith");
    STR(o, "identifier", "smith");
    imapi_decref(o);
    o = CMD("MYRIGHTS", "INBOX");
    STR(o, "mailbox", "INBOX");
    imapi_decref(o);
    /* RFC 9208 4 */
    o = CMD("GETQUOTA", "\"\"");
    STR(o, "quota_root", "");
    imapi_decref(o);
    o = CMD("GETQUOTAROOT", "INBOX");
    STR(o, "mailbox", "INBOX");
    imapi_decref(o);
    o = CMD("SETQUOTA", "\"\" (STORAGE 512)");
    INT(o, "limits/STORAGE", 512);
    imapi_decref(o);
}

static void test_misc_extensions(void **state)
{
    (void)state;
    /* RFC 2971 3.3 */
    imap_node *o = CMD("ID", "(\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" NIL)");
    /* "values", as SETMETADATA's entries and AUTHENTICATE's values */
    STR(o, "values/0/name", "name");
    STR(o, "values/0/value", "sodr");
    STR(o, "values/1/name", "version");
    STR(o, "values/1/value", "19.34");
    STR(o, "values/2/name", "vendor");
    NUL(o, "values/2/value");
    ABSENT(o, "id");
    imapi_decref(o);
    o = CMD("ID", "NIL");
    NUL(o, "values");
    imapi_decref(o);
    o = CMD("ENABLE", "CONDSTORE X-GOOD-IDEA");                   /* RFC 5161 4 */
    STR(o, "enabled/0", "CONDSTORE");
    STR(o, "enabled/1", "X-GOOD-IDEA");
    imapi_decref(o);
    o = CMD("COMPRESS", "DEFLATE");                               /* RFC 4978 */
    STR(o, "mechanism", "DEFLATE");
    imapi_decref(o);
    o = CMD("LANGUAGE", "FR");                                    /* RFC 5255 */
    STR(o, "languages/0", "FR");
    imapi_decref(o);
    o = CMD("COMPARATOR", "\"i;unicode-casemap\" \"i;octet\"");
    STR(o, "comparators/1", "i;octet");
    imapi_decref(o);
    o = CMD("CONVERSIONS", "\"text/plain\" \"text/html\"");      /* RFC 5259 */
    STR(o, "source", "text/plain");
    STR(o, "target", "text/html");
    imapi_decref(o);
    /* RFC 5464 4.2 / 4.3 */
    o = CMD("GETMETADATA", "(MAXSIZE 1024 DEPTH infinity) \"INBOX\" (/shared/comment /private/comment)");
    INT(o, "maxsize", 1024);
    STR(o, "depth", "infinity");
    ABSENT(o, "options");
    STR(o, "mailbox", "INBOX");
    STR(o, "entries/1", "/private/comment");
    imapi_decref(o);
    /* DEPTH 1 (a number on the wire) is a string as "infinity" is: one type */
    o = CMD("GETMETADATA", "(DEPTH 1) INBOX /shared/comment");
    STR(o, "depth", "1");
    imapi_decref(o);
    /* RFC 5464 4.2.1's own example: the options after the mailbox */
    o = CMD("GETMETADATA", "\"INBOX\" (MAXSIZE 1024) (/shared/comment /private/comment)");
    assert_null(last_err);
    INT(o, "maxsize", 1024);
    STR(o, "mailbox", "INBOX");
    STR(o, "entries/0", "/shared/comment");
    STR(o, "entries/1", "/private/comment");
    imapi_decref(o);
    o = CMD("GETMETADATA", "\"\" /shared/comment");
    STR(o, "entries/0", "/shared/comment");
    imapi_decref(o);
    o = CMD("SETMETADATA", "INBOX (/private/comment \"My new comment\" /shared/x NIL)");
    STR(o, "values/0/name", "/private/comment");
    STR(o, "values/0/value", "My new comment");
    STR(o, "values/1/name", "/shared/x");
    NUL(o, "values/1/value");
    imapi_decref(o);
    o = CMD("SETMETADATA", "INBOX (/shared/x NIL)");
    STR(o, "values/0/name", "/shared/x");
    assert_non_null(jget(o, "values/0/value"));
    NUL(o, "values/0/value");
    imapi_decref(o);
    /* RFC 5465 6 */
    o = CMD("NOTIFY", "SET STATUS (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (From To)]) MessageExpunge)) (subtree (INBOX Lists) (MessageNew MessageExpunge)) (personal NONE)");
    STR(o, "notify", "SET");
    TRUE(o, "status");
    STR(o, "event_groups/0/filter", "SELECTED");
    STR(o, "event_groups/0/events/0/event", "MessageNew");
    STR(o, "event_groups/0/events/0/fetch/0/item", "UID");
    STR(o, "event_groups/0/events/1/event", "MessageExpunge");    /* always objects */
    STR(o, "event_groups/1/mailboxes/1", "Lists");
    SIZE(o, "event_groups/2/events", 0);
    TRUE(o, "event_groups/2/none");
    imapi_decref(o);
    o = CMD("NOTIFY", "NONE");
    STR(o, "notify", "NONE");
    imapi_decref(o);
    /* RFC 4467 */
    o = CMD("GENURLAUTH", "\"imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred\" INTERNAL");
    STR(o, "url_auths/0/mechanism", "INTERNAL");
    imapi_decref(o);
    o = CMD("URLFETCH", "\"imap://joe@example.com/INBOX/;uid=20\"");
    STR(o, "urls/0", "imap://joe@example.com/INBOX/;uid=20");
    imapi_decref(o);
    o = CMD("RESETKEY", "INBOX INTERNAL");
    STR(o, "mailbox", "INBOX");
    STR(o, "mechanisms/0", "INTERNAL");
    imapi_decref(o);
    /* unknown / X- commands keep generic args */
    o = CMD("X-FOO", "1 (a \"b\") NIL");
    STR(o, "args/0", "1");                                    /* raw text of each */
    STR(o, "args/1", "(a \"b\")");
    STR(o, "args/2", "NIL");
    imapi_decref(o);
    o = CMD("uid fetch", "1 FLAGS");                              /* case-insensitive */
    ABSENT(o, "uid"); /* the command is "UID ..." */
    STR(o, "items/0/item", "FLAGS");
    imapi_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_simple, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login, setup, teardown),
        cmocka_unit_test_setup_teardown(test_authenticate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mailbox_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_move_expunge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch_cmd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sort_thread_esearch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acl_quota, setup, teardown),
        cmocka_unit_test_setup_teardown(test_misc_extensions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
