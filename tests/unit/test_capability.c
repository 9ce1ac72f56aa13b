/*
 * test_capability.c - capability and response-code tables: every listed
 * capability resolves to its RFC; prefixes report their value; unknown
 * names are marked.
 */
#include "unit/dec_helper.h"
#include "imap.h"

static void test_lookup_table(void **state)
{
    (void)state;
    static const struct { const char *name, *rfc; } want[] = {
        { "ACL", "RFC 4314" }, { "ANNOTATE-EXPERIMENT-1", "RFC 5257" }, { "BINARY", "RFC 3516" },
        { "CATENATE", "RFC 4469" }, { "CHILDREN", "RFC 3348" }, { "COMPRESS=DEFLATE", "RFC 4978" },
        { "CONDSTORE", "RFC 7162" }, { "CONTEXT=SEARCH", "RFC 5267" }, { "CONTEXT=SORT", "RFC 5267" },
        { "CONVERT", "RFC 5259" }, { "ENABLE", "RFC 5161" }, { "ESEARCH", "RFC 4731" },
        { "ESORT", "RFC 5267" }, { "FILTERS", "RFC 5466" }, { "I18NLEVEL=1", "RFC 5255" },
        { "I18NLEVEL=2", "RFC 5255" }, { "ID", "RFC 2971" }, { "IDLE", "RFC 2177" },
        { "LANGUAGE", "RFC 5255" }, { "LITERAL+", "RFC 7888" }, { "LOGIN-REFERRALS", "RFC 2221" },
        { "LOGINDISABLED", "RFC 3501" }, { "MAILBOX-REFERRALS", "RFC 2193" }, { "MULTIAPPEND", "RFC 3502" },
        { "NAMESPACE", "RFC 2342" }, { "NOTIFY", "RFC 5465" }, { "QRESYNC", "RFC 7162" },
        { "QUOTA", "RFC 9208" }, { "RIGHTS=texk", "RFC 4314" }, { "SASL-IR", "RFC 4959" },
        { "SEARCHRES", "RFC 5182" }, { "SORT", "RFC 5256" }, { "STARTTLS", "RFC 3501" },
        { "THREAD=REFERENCES", "RFC 5256" }, { "UIDPLUS", "RFC 4315" }, { "UNSELECT", "RFC 3691" },
        { "URLAUTH", "RFC 4467" }, { "WITHIN", "RFC 5032" }, { "IMAP4rev1", "RFC 3501" },
        { "IMAP4rev2", "RFC 9051" }, { "AUTH=SCRAM-SHA-256", "RFC 9051" }, { "LITERAL-", "RFC 7888" },
        { "MOVE", "RFC 6851" }, { "SPECIAL-USE", "RFC 6154" }, { "CREATE-SPECIAL-USE", "RFC 6154" },
        { "UTF8=ACCEPT", "RFC 6855" }, { "UTF8=ONLY", "RFC 6855" }, { "LIST-EXTENDED", "RFC 5258" },
        { "LIST-STATUS", "RFC 5819" }, { "METADATA", "RFC 5464" }, { "METADATA-SERVER", "RFC 5464" },
        { "OBJECTID", "RFC 8474" }, { "SAVEDATE", "RFC 8514" }, { "STATUS=SIZE", "RFC 8438" },
        { "APPENDLIMIT", "RFC 7889" }, { "APPENDLIMIT=1000", "RFC 7889" }, { "PREVIEW", "RFC 8970" },
        { "QUOTA=RES-STORAGE", "RFC 9208" }, { "SORT=DISPLAY", "RFC 5957" }, { "LIST-MYRIGHTS", "RFC 8440" },
        { "UNAUTHENTICATE", "RFC 8437" }, { "REPLACE", "RFC 8508" }, { "PARTIAL", "RFC 9394" },
        { "UIDONLY", "RFC 9586" }, { "XLIST", "vendor (Google)" }, { "X-GM-EXT-1", "vendor (Google)" },
        { "compress=deflate", "RFC 4978" }, { "idle", "RFC 2177" },
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const imap_capability_info *ci = imap_capability_lookup(want[i].name, strlen(want[i].name));
        if (ci == NULL)
            fail_msg("no entry for %s", want[i].name);
        if (strcmp(ci->rfc, want[i].rfc) != 0)
            fail_msg("%s: rfc %s, want %s", want[i].name, ci->rfc, want[i].rfc);
        assert_non_null(ci->meaning);
    }
    assert_null(imap_capability_lookup("XYZZY", 5));
    assert_null(imap_capability_lookup(NULL, 0));
    /* not NUL-terminated input: "IDLEX" cut at 4 is IDLE */
    assert_non_null(imap_capability_lookup("IDLEX", 4));
    assert_true(imap_capability_lookup("AUTH=PLAIN", 10)->prefix);
    /* exact entry wins over its prefix */
    assert_false(imap_capability_lookup("COMPRESS=DEFLATE", 16)->prefix);
    assert_true(imap_capability_lookup("COMPRESS=LZ4", 12)->prefix);
}

static void test_resp_code_table(void **state)
{
    (void)state;
    static const struct { const char *name, *rfc; } want[] = {
        { "ALERT", "RFC 9051" }, { "BADCHARSET", "RFC 9051" }, { "CAPABILITY", "RFC 9051" },
        { "PARSE", "RFC 9051" }, { "PERMANENTFLAGS", "RFC 9051" }, { "READ-ONLY", "RFC 9051" },
        { "READ-WRITE", "RFC 9051" }, { "TRYCREATE", "RFC 9051" }, { "UIDNEXT", "RFC 9051" },
        { "UIDVALIDITY", "RFC 9051" }, { "UNSEEN", "RFC 3501" }, { "APPENDUID", "RFC 4315" },
        { "COPYUID", "RFC 4315" }, { "UIDNOTSTICKY", "RFC 4315" }, { "HIGHESTMODSEQ", "RFC 7162" },
        { "NOMODSEQ", "RFC 7162" }, { "MODIFIED", "RFC 7162" }, { "CLOSED", "RFC 7162" },
        { "REFERRAL", "RFC 2221" }, { "COMPRESSIONACTIVE", "RFC 4978" }, { "UNAVAILABLE", "RFC 5530" },
        { "AUTHENTICATIONFAILED", "RFC 5530" }, { "AUTHORIZATIONFAILED", "RFC 5530" },
        { "EXPIRED", "RFC 5530" }, { "PRIVACYREQUIRED", "RFC 5530" }, { "CONTACTADMIN", "RFC 5530" },
        { "NOPERM", "RFC 5530" }, { "INUSE", "RFC 5530" }, { "EXPUNGEISSUED", "RFC 5530" },
        { "CORRUPTION", "RFC 5530" }, { "SERVERBUG", "RFC 5530" }, { "CLIENTBUG", "RFC 5530" },
        { "CANNOT", "RFC 5530" }, { "LIMIT", "RFC 5530" }, { "OVERQUOTA", "RFC 5530" },
        { "ALREADYEXISTS", "RFC 5530" }, { "NONEXISTENT", "RFC 5530" }, { "METADATA", "RFC 5464" },
        { "NOTIFICATIONOVERFLOW", "RFC 5465" }, { "BADEVENT", "RFC 5465" }, { "UNKNOWN-CTE", "RFC 3516" },
        { "BADCOMPARATOR", "RFC 5255" }, { "ANNOTATE", "RFC 5257" }, { "URLMECH", "RFC 4467" },
        { "NOUPDATE", "RFC 5267" }, { "USEATTR", "RFC 6154" }, { "HASCHILDREN", "RFC 9051" },
        { "MAILBOXID", "RFC 8474" }, { "INPROGRESS", "RFC 9585" }, { "trycreate", "RFC 9051" },
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const imap_capability_info *ci = imap_resp_code_lookup(want[i].name, strlen(want[i].name));
        if (ci == NULL)
            fail_msg("no entry for %s", want[i].name);
        if (strcmp(ci->rfc, want[i].rfc) != 0)
            fail_msg("%s: rfc %s, want %s", want[i].name, ci->rfc, want[i].rfc);
    }
    assert_null(imap_resp_code_lookup("X-NOPE", 6));
}

static void test_decode_capabilities(void **state)
{
    (void)state;
    json_t *a = imap_decode_capabilities(tok("IMAP4rev1 SASL-IR AUTH=PLAIN THREAD=REFERENCES I18NLEVEL=1 X-FOO", NULL, 0));
    /* names (and prefix values) only: the RFC and meaning of each are in
     * the session summary and the verbose trace, not in every response */
    STR(a, "0/name", "IMAP4rev1");
    ABSENT(a, "0/rfc");
    ABSENT(a, "0/known");
    STR(a, "1/name", "SASL-IR");
    STR(a, "2/value", "PLAIN");
    STR(a, "3/value", "REFERENCES");
    STR(a, "4/name", "I18NLEVEL=1");
    STR(a, "5/name", "X-FOO");
    assert_true(json_is_false(jget(a, "5/known")));
    ABSENT(a, "5/rfc");
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_table),
        cmocka_unit_test(test_resp_code_table),
        cmocka_unit_test_setup_teardown(test_decode_capabilities, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
