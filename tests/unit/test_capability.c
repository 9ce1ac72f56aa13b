/*
 * test_capability.c - capability and response-code tables: every listed
 * capability resolves to its RFC; prefixes report their value; unknown
 * names are marked.
 */
#include "unit/dec_helper.h"
#include "imap.h"

/* ref is want, or want followed by a section ("RFC 4469" ~ "RFC 4469 2") */
static bool ref_is(const char *ref, const char *want)
{
    size_t n = strlen(want);
    return strncmp(ref, want, n) == 0 && (ref[n] == '\0' || ref[n] == ' ');
}

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
        { "LOGINDISABLED", "RFC 9051 6.2.3" }, { "MAILBOX-REFERRALS", "RFC 2193" }, { "MULTIAPPEND", "RFC 3502" },
        { "NAMESPACE", "RFC 2342" }, { "NOTIFY", "RFC 5465" }, { "QRESYNC", "RFC 7162" },
        { "QUOTA", "RFC 9208" }, { "RIGHTS=texk", "RFC 4314" }, { "SASL-IR", "RFC 4959" },
        { "SEARCHRES", "RFC 5182" }, { "SORT", "RFC 5256" }, { "STARTTLS", "RFC 9051 6.2.1" },
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
        { "UIDONLY", "RFC 9586" }, { "XLIST", "Google: developers.google.com/gmail/imap/imap-extensions" },
        { "X-GM-EXT-1", "Google: developers.google.com/gmail/imap/imap-extensions" },
        { "compress=deflate", "RFC 4978" }, { "idle", "RFC 2177" },
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const imap_capability_info *ci = imap_capability_lookup(want[i].name, strlen(want[i].name));
        if (ci == NULL)
            fail_msg("no entry for %s", want[i].name);
        if (!ref_is(ci->rfc, want[i].rfc))
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
        { "ALERT", "RFC 9051 7.1" }, { "BADCHARSET", "RFC 9051 7.1" }, { "CAPABILITY", "RFC 9051 7.1" },
        { "PARSE", "RFC 9051 7.1" }, { "PERMANENTFLAGS", "RFC 9051 7.1" }, { "READ-ONLY", "RFC 9051 7.1" },
        { "READ-WRITE", "RFC 9051 7.1" }, { "TRYCREATE", "RFC 9051 7.1" }, { "UIDNEXT", "RFC 9051 7.1" },
        { "UIDVALIDITY", "RFC 9051 7.1" }, { "UNSEEN", "RFC 3501" }, { "APPENDUID", "RFC 9051 7.1" },
        { "COPYUID", "RFC 9051 7.1" }, { "UIDNOTSTICKY", "RFC 9051 7.1" }, { "HIGHESTMODSEQ", "RFC 7162" },
        { "NOMODSEQ", "RFC 7162" }, { "MODIFIED", "RFC 7162" }, { "CLOSED", "RFC 9051 7.1" },
        { "REFERRAL", "RFC 2221" }, { "COMPRESSIONACTIVE", "RFC 4978" }, { "UNAVAILABLE", "RFC 9051 7.1" },
        { "AUTHENTICATIONFAILED", "RFC 9051 7.1" }, { "AUTHORIZATIONFAILED", "RFC 9051 7.1" },
        { "EXPIRED", "RFC 9051 7.1" }, { "PRIVACYREQUIRED", "RFC 9051 7.1" }, { "CONTACTADMIN", "RFC 9051 7.1" },
        { "NOPERM", "RFC 9051 7.1" }, { "INUSE", "RFC 9051 7.1" }, { "EXPUNGEISSUED", "RFC 9051 7.1" },
        { "CORRUPTION", "RFC 9051 7.1" }, { "SERVERBUG", "RFC 9051 7.1" }, { "CLIENTBUG", "RFC 9051 7.1" },
        { "CANNOT", "RFC 9051 7.1" }, { "LIMIT", "RFC 9051 7.1" }, { "OVERQUOTA", "RFC 9051 7.1" },
        { "ALREADYEXISTS", "RFC 9051 7.1" }, { "NONEXISTENT", "RFC 9051 7.1" }, { "METADATA", "RFC 5464" },
        { "NOTIFICATIONOVERFLOW", "RFC 5465" }, { "BADEVENT", "RFC 5465" }, { "UNKNOWN-CTE", "RFC 9051 7.1" },
        { "BADCOMPARATOR", "RFC 5255" }, { "ANNOTATE", "RFC 5257" }, { "URLMECH", "RFC 4467" },
        { "NOUPDATE", "RFC 5267" }, { "USEATTR", "RFC 6154" }, { "HASCHILDREN", "RFC 9051 7.1" },
        { "MAILBOXID", "RFC 8474" }, { "INPROGRESS", "RFC 9585" }, { "trycreate", "RFC 9051 7.1" },
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const imap_capability_info *ci = imap_resp_code_lookup(want[i].name, strlen(want[i].name));
        if (ci == NULL)
            fail_msg("no entry for %s", want[i].name);
        if (!ref_is(ci->rfc, want[i].rfc))
            fail_msg("%s: rfc %s, want %s", want[i].name, ci->rfc, want[i].rfc);
    }
    assert_null(imap_resp_code_lookup("X-NOPE", 6));
}

/* The annotation table (imap_annot.c): every kind, exact before prefix,
 * the index round trip the trace's seen-sets rely on. */
static void test_annot_table(void **state)
{
    (void)state;
    static const struct { imap_annot_kind kind; const char *name, *rfc; } want[] = {
        { IMAP_ANNOT_COMMAND, "UID FETCH", "RFC 9051 6.4.9" },
        { IMAP_ANNOT_COMMAND, "uid fetch", "RFC 9051 6.4.9" },
        { IMAP_ANNOT_COMMAND, "FETCH", "RFC 9051 6.4.5" },
        { IMAP_ANNOT_COMMAND, "MOVE", "RFC 9051 6.4.8" },
        { IMAP_ANNOT_COMMAND, "LOGIN", "RFC 9051 6.2.3" },
        { IMAP_ANNOT_COMMAND, "LSUB", "RFC 3501 6.3.9" },
        { IMAP_ANNOT_COMMAND, "THREAD", "RFC 5256 3" },
        { IMAP_ANNOT_COMMAND, "XLIST", "Google: developers.google.com/gmail/imap/imap-extensions" },
        { IMAP_ANNOT_COMMAND, "XNOSUCHCMD", "RFC 9051 6.5" },
        { IMAP_ANNOT_COMMAND, "UID XFOO", "RFC 9051 6.5" },
        { IMAP_ANNOT_STATUS, "OK", "RFC 9051 7.1.1" },
        { IMAP_ANNOT_STATUS, "NO", "RFC 9051 7.1.2" },
        { IMAP_ANNOT_STATUS, "BAD", "RFC 9051 7.1.3" },
        { IMAP_ANNOT_STATUS, "PREAUTH", "RFC 9051 7.1.4" },
        { IMAP_ANNOT_STATUS, "bye", "RFC 9051 7.1.5" },
        { IMAP_ANNOT_CODE, "UNSEEN", "RFC 3501 7.1" },
        { IMAP_ANNOT_CAPABILITY, "URL-PARTIAL", "RFC 5550" },
        { IMAP_ANNOT_CAPABILITY, "SEARCH=FUZZY", "RFC 6203" },
        { IMAP_ANNOT_CAPABILITY, "PREVIEW", "RFC 8970" },
        { IMAP_ANNOT_CAPABILITY, "THREAD", "RFC 5256" },
        { IMAP_ANNOT_CAPABILITY, "THREAD=REFS", "RFC 5256" },
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const imap_annot *a = imap_annot_lookup(want[i].kind, want[i].name, strlen(want[i].name));
        if (a == NULL)
            fail_msg("no %s entry for %s", imap_annot_kind_name(want[i].kind), want[i].name);
        if (strcmp(a->rfc, want[i].rfc) != 0)
            fail_msg("%s: rfc %s, want %s", want[i].name, a->rfc, want[i].rfc);
        assert_int_equal(a->kind, want[i].kind);
        assert_true(a->meaning != NULL && a->meaning[0] != '\0');
    }
    /* WEBALERT is not RFC 9051's */
    const imap_annot *w = imap_annot_lookup(IMAP_ANNOT_CODE, "WEBALERT", 8);
    assert_non_null(w);
    assert_true(strncmp(w->rfc, "RFC", 3) != 0);
    /* kinds do not leak: FETCH is no status, OK no command, THREAD= no code */
    assert_null(imap_annot_lookup(IMAP_ANNOT_STATUS, "FETCH", 5));
    assert_null(imap_annot_lookup(IMAP_ANNOT_COMMAND, "OK", 2));
    assert_null(imap_annot_lookup(IMAP_ANNOT_CODE, "THREAD=REFS", 11));
    /* a UID form of a non-UID command, and a non-X unknown: nothing */
    assert_null(imap_annot_lookup(IMAP_ANNOT_COMMAND, "UID LOGIN", 9));
    assert_null(imap_annot_lookup(IMAP_ANNOT_COMMAND, "FROBNICATE", 10));
    /* exact beats prefix; the longest prefix wins (QUOTA=RES- over QUOTA=) */
    assert_false(imap_annot_lookup(IMAP_ANNOT_COMMAND, "XLIST", 5)->prefix);
    assert_string_equal(imap_annot_lookup(IMAP_ANNOT_CAPABILITY, "QUOTA=RES-STORAGE", 17)->name, "QUOTA=RES-");
    /* every entry: non-empty fields, index round trip, under the bound */
    size_t n = imap_annot_count();
    assert_true(n > 200 && n <= IMAP_ANNOT_MAX);
    for (size_t i = 0; i < n; i++) {
        const imap_annot *a = imap_annot_at(i);
        assert_non_null(a);
        assert_int_equal(imap_annot_index(a), i);
        assert_true(a->name[0] && a->rfc[0] && a->meaning[0]);
        if (!a->prefix) /* each exact entry is found by its own name */
            assert_ptr_equal(imap_annot_lookup(a->kind, a->name, strlen(a->name)), a);
    }
    assert_null(imap_annot_at(n));
    assert_int_equal(imap_annot_index(NULL), n);
}

static void test_decode_capabilities(void **state)
{
    (void)state;
    imap_node *a = imapi_decode_capabilities(tok("IMAP4rev1 SASL-IR AUTH=PLAIN THREAD=REFERENCES I18NLEVEL=1 X-FOO", NULL, 0));
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
    assert_true(imapi_is_false(jget(a, "5/known")));
    ABSENT(a, "5/rfc");
    imapi_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_table),
        cmocka_unit_test(test_resp_code_table),
        cmocka_unit_test(test_annot_table),
        cmocka_unit_test_setup_teardown(test_decode_capabilities, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
