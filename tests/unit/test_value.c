/*
 * test_value.c - the arena, the generic-value tokenizer (RFC 9051 9) and
 * imapi_value_to_json / imapi_json_bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "imap_value.h"
#include "output.h"

static imap_arena arena;

static int setup(void **state)
{
    (void)state;
    imapi_arena_init(&arena, 1u << 20);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    imapi_arena_free(&arena);
    return 0;
}

/* Tokenizes a NUL-terminated line without literals; asserts no error. */
static const imap_value *tok_ok(const char *line)
{
    const char *err = NULL;
    size_t off = 0, used = 0;
    imap_value *v = imapi_tokenize(&arena, line, strlen(line), NULL, 0, NULL, false, &used, &err, &off);
    assert_non_null(v);
    if (err != NULL)
        fail_msg("unexpected error '%s' at %zu in '%s'", err, off, line);
    assert_int_equal(used, strlen(line));
    return v;
}

static void assert_atom(const imap_value *v, const char *s)
{
    assert_non_null(v);
    assert_int_equal(v->type, IV_ATOM);
    assert_string_equal(v->s, s);
    assert_int_equal(v->len, strlen(s));
}

static void test_arena(void **state)
{
    (void)state;
    imap_arena a;
    imapi_arena_init(&a, 1000);
    char *p = imapi_arena_alloc(&a, 100);
    assert_non_null(p);
    assert_int_equal(((uintptr_t)p) % 16, 0);
    assert_null(imapi_arena_alloc(&a, 2000));          /* past the cap */
    char *s = imapi_arena_strndup(&a, "hello world", 5);
    assert_string_equal(s, "hello");
    while (imapi_arena_alloc(&a, 64) != NULL)
        ;
    assert_true(a.used_total <= a.cap);
    imapi_arena_reset(&a);
    assert_int_equal(a.used_total, 0);
    assert_non_null(imapi_arena_alloc(&a, 100));
    imapi_arena_free(&a);
    /* many blocks, then reset: the kept block grows, nothing leaks */
    imapi_arena_init(&a, 1u << 20);
    for (int i = 0; i < 100; i++)
        assert_non_null(imapi_arena_alloc(&a, 1000));
    imapi_arena_reset(&a);
    for (int i = 0; i < 30; i++)
        assert_non_null(imapi_arena_alloc(&a, 1000));
    imapi_arena_free(&a);
}

static void test_atoms_numbers_nil(void **state)
{
    (void)state;
    const imap_value *l = tok_ok("a001 FETCH 1:*,5 \\Seen \\* % INBOX.* NIL nil 42 18446744073709551615 18446744073709551616 $ +FLAGS.SILENT");
    assert_int_equal(l->type, IV_LIST);
    assert_int_equal(l->count, 14);
    assert_atom(imapi_list_nth(l, 0), "a001");
    assert_atom(imapi_list_nth(l, 1), "FETCH");
    assert_atom(imapi_list_nth(l, 2), "1:*,5");
    assert_atom(imapi_list_nth(l, 3), "\\Seen");
    assert_atom(imapi_list_nth(l, 4), "\\*");
    assert_atom(imapi_list_nth(l, 5), "%");
    assert_atom(imapi_list_nth(l, 6), "INBOX.*");
    assert_int_equal(imapi_list_nth(l, 7)->type, IV_NIL);
    assert_int_equal(imapi_list_nth(l, 8)->type, IV_NIL);
    assert_int_equal(imapi_list_nth(l, 9)->type, IV_NUMBER);
    assert_int_equal(imapi_list_nth(l, 9)->num, 42);
    assert_int_equal(imapi_list_nth(l, 10)->type, IV_NUMBER);
    assert_true(imapi_list_nth(l, 10)->num == UINT64_MAX);
    assert_atom(imapi_list_nth(l, 11), "18446744073709551616"); /* overflow stays an atom */
    assert_atom(imapi_list_nth(l, 12), "$");
    assert_atom(imapi_list_nth(l, 13), "+FLAGS.SILENT");
    assert_null(imapi_list_nth(l, 14));
    assert_true(imapi_value_is_atom(imapi_list_nth(l, 1), "fetch"));
    assert_false(imapi_value_is_atom(imapi_list_nth(l, 1), "FETC"));
    size_t n;
    assert_string_equal(imapi_value_text(imapi_list_nth(l, 9), &n, NULL), "42");
    assert_string_equal(imapi_value_text(imapi_list_nth(l, 7), &n, NULL), "");
    assert_int_equal(n, 0);
    assert_true(imapi_value_is_nstring(imapi_list_nth(l, 7)));
    assert_false(imapi_value_is_astring(imapi_list_nth(l, 7)));
}

static void test_quoted(void **state)
{
    (void)state;
    const imap_value *l = tok_ok("\"hello world\" \"a\\\\b\\\"c\" \"\" \"caf\xc3\xa9\"");
    assert_int_equal(l->count, 4);
    const imap_value *q = imapi_list_nth(l, 0);
    assert_int_equal(q->type, IV_QUOTED);
    assert_string_equal(q->s, "hello world");
    assert_int_equal(q->raw_len, 13);
    assert_string_equal(imapi_list_nth(l, 1)->s, "a\\b\"c");
    assert_int_equal(imapi_list_nth(l, 2)->len, 0);
    assert_string_equal(imapi_list_nth(l, 3)->s, "caf\xc3\xa9");
    assert_true(imapi_value_is_string(q));
    assert_true(imapi_value_is_astring(q));
}

static void test_lists(void **state)
{
    (void)state;
    /* RFC 9051 7.5.2 */
    const imap_value *l = tok_ok("* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 () ((a) (b (c))))");
    assert_int_equal(l->count, 4);
    const imap_value *att = imapi_list_nth(l, 3);
    assert_int_equal(att->type, IV_LIST);
    assert_int_equal(att->count, 8);
    assert_atom(imapi_list_nth(att, 0), "FLAGS");
    const imap_value *fl = imapi_list_nth(att, 1);
    assert_int_equal(fl->type, IV_LIST);
    assert_atom(imapi_list_nth(fl, 0), "\\Seen");
    assert_int_equal(imapi_list_nth(att, 5)->num, 4286);
    assert_int_equal(imapi_list_nth(att, 6)->type, IV_LIST);
    assert_int_equal(imapi_list_nth(att, 6)->count, 0);
    const imap_value *nest = imapi_list_nth(att, 7);
    const imap_value *c = imapi_list_nth(imapi_list_nth(imapi_list_nth(nest, 1), 1), 0);
    assert_atom(c, "c");
    /* raw text of a list */
    assert_int_equal(fl->raw_len, 7);
    assert_memory_equal(fl->raw, "(\\Seen)", 7);
    /* no spaces between lists */
    l = tok_ok("(a)(b)");
    assert_int_equal(l->count, 2);
}

static void test_sections(void **state)
{
    (void)state;
    const imap_value *l = tok_ok("BODY[HEADER.FIELDS (FROM TO)]<0.100> BODY.PEEK[] BINARY[1.2.MIME] BODY[1]<5> RFC822.HEADER BODY[TEXT]");
    assert_int_equal(l->count, 6);
    const imap_value *b = imapi_list_nth(l, 0);
    assert_atom(b, "BODY");
    assert_non_null(b->section);
    assert_string_equal(b->section_raw, "HEADER.FIELDS (FROM TO)");
    assert_string_equal(b->partial, "0.100");
    assert_int_equal(b->section->count, 2);
    assert_atom(imapi_list_nth(b->section, 0), "HEADER.FIELDS");
    const imap_value *hl = imapi_list_nth(b->section, 1);
    assert_int_equal(hl->type, IV_LIST);
    assert_atom(imapi_list_nth(hl, 1), "TO");
    assert_int_equal(b->raw_len, strlen("BODY[HEADER.FIELDS (FROM TO)]<0.100>"));

    const imap_value *p = imapi_list_nth(l, 1);
    assert_atom(p, "BODY.PEEK");
    assert_non_null(p->section);
    assert_int_equal(p->section->count, 0);
    assert_string_equal(p->section_raw, "");
    assert_null(p->partial);

    const imap_value *bin = imapi_list_nth(l, 2);
    assert_atom(bin, "BINARY");
    assert_string_equal(bin->section_raw, "1.2.MIME");
    assert_atom(imapi_list_nth(bin->section, 0), "1.2.MIME");

    const imap_value *b1 = imapi_list_nth(l, 3);
    assert_int_equal(imapi_list_nth(b1->section, 0)->type, IV_NUMBER);
    assert_string_equal(b1->partial, "5");
    assert_null(imapi_list_nth(l, 4)->section);

    /* JSON of a section */
    imap_node *j = imapi_value_to_json(b);
    assert_string_equal(imapi_string_value(imapi_object_get(j, "name")), "BODY");
    assert_string_equal(imapi_string_value(imapi_object_get(j, "section")), "HEADER.FIELDS (FROM TO)");
    assert_string_equal(imapi_string_value(imapi_object_get(j, "partial")), "0.100");
    imapi_decref(j);

    /* "]" is an ASTRING-CHAR outside sections: a Gmail-like mailbox */
    l = tok_ok("[Gmail]/Sent");
    assert_int_equal(l->count, 1);
    assert_atom(imapi_list_nth(l, 0), "[Gmail]/Sent");
}

static void test_literals(void **state)
{
    (void)state;
    /* the header's example: A001 LOGIN {5}\r\nalice {8}\r\npassword */
    imap_literal lits[2];
    memset(lits, 0, sizeof(lits));
    lits[0].size = 5; lits[0].received = 5; lits[0].kept = (const uint8_t *)"alice"; lits[0].kept_len = 5;
    lits[1].size = 8; lits[1].received = 8; lits[1].kept = (const uint8_t *)"password"; lits[1].kept_len = 8;
    lits[1].mode = '+';
    const char *text = "A001 LOGIN {5}\r\n {8+}\r\n";
    size_t li = 0, used = 0, off = 0;
    const char *err = NULL;
    imap_value *l = imapi_tokenize(&arena, text, strlen(text), lits, 2, &li, false, &used, &err, &off);
    assert_non_null(l);
    assert_null(err);
    assert_int_equal(li, 2);
    assert_int_equal(l->count, 4);
    const imap_value *u = imapi_list_nth(l, 2);
    assert_int_equal(u->type, IV_LITERAL);
    assert_string_equal(u->s, "alice");
    assert_ptr_equal(u->lit, &lits[0]);
    assert_true(imapi_value_is_string(u));
    const imap_value *pw = imapi_list_nth(l, 3);
    assert_string_equal(pw->s, "password");
    assert_int_equal(pw->lit->mode, '+');

    /* literal inside a list, binary literal, truncated kept bytes */
    imap_literal big;
    memset(&big, 0, sizeof(big));
    big.size = 1000; big.received = 1000; big.kept = (const uint8_t *)"Subject: hi"; big.kept_len = 11;
    big.has_sha256 = true; big.sha256[0] = 0xab;
    text = "* 1 FETCH (BODY[] ~{1000}\r\n UID 7)";
    li = 0;
    l = imapi_tokenize(&arena, text, strlen(text), &big, 1, &li, false, &used, &err, &off);
    assert_null(err);
    const imap_value *att = imapi_list_nth(l, 3);
    assert_int_equal(att->count, 4);
    const imap_value *lv = imapi_list_nth(att, 1);
    assert_int_equal(lv->type, IV_LITERAL);
    assert_int_equal(lv->num, 1000);
    bool trunc = false;
    size_t n = 0;
    assert_string_equal(imapi_value_text(lv, &n, &trunc), "Subject: hi");
    assert_true(trunc);
    assert_int_equal(imapi_list_nth(att, 3)->num, 7);
    imap_node *j = imapi_value_to_json(lv);
    assert_int_equal(imapi_integer_value(imapi_object_get(j, "literal_size")), 1000);
    assert_string_equal(imapi_string_value(imapi_object_get(j, "text")), "Subject: hi");
    assert_string_equal(imapi_string_value(imapi_object_get(j, "sha256")),
                        "ab00000000000000000000000000000000000000000000000000000000000000");
    imapi_decref(j);

    /* marker without its record: an error at the marker's offset */
    text = "A1 LOGIN {5}\r\n";
    li = 0;
    l = imapi_tokenize(&arena, text, strlen(text), NULL, 0, &li, false, &used, &err, &off);
    assert_non_null(l);
    assert_non_null(err);
    assert_int_equal(off, 9);
    assert_int_equal(l->count, 2);
    /* "{abc}" is not a marker: read as an atom */
    l = (imap_value *)tok_ok("{abc}");
    assert_atom(imapi_list_nth(l, 0), "{abc}");
}

static void test_errors(void **state)
{
    (void)state;
    const char *err = NULL;
    size_t off = 0, used = 0;
    const char *t1 = "A1 LOGIN \"alice";
    imap_value *l = imapi_tokenize(&arena, t1, strlen(t1), NULL, 0, NULL, false, &used, &err, &off);
    assert_non_null(l);
    assert_string_equal(err, "unterminated quoted string");
    assert_int_equal(off, 9);
    assert_int_equal(l->count, 2);

    const char *t2 = "(a (b)";
    l = imapi_tokenize(&arena, t2, strlen(t2), NULL, 0, NULL, false, &used, &err, &off);
    assert_non_null(err);
    assert_int_equal(off, 0);
    assert_int_equal(l->count, 1);
    assert_int_equal(imapi_list_nth(l, 0)->count, 2);

    const char *t3 = "a) b";
    l = imapi_tokenize(&arena, t3, strlen(t3), NULL, 0, NULL, false, &used, &err, &off);
    assert_string_equal(err, "unbalanced ')'");
    assert_int_equal(off, 1);
    assert_int_equal(used, 1);

    const char *t4 = "BODY[1";
    l = imapi_tokenize(&arena, t4, strlen(t4), NULL, 0, NULL, false, &used, &err, &off);
    assert_string_equal(err, "unterminated section");
    assert_int_equal(off, 4);
    assert_string_equal(imapi_list_nth(l, 0)->section_raw, "1");

    /* too deep: 64 KiB of "(" stops at the cap without recursion */
    static char deep[65536];
    memset(deep, '(', sizeof(deep));
    l = imapi_tokenize(&arena, deep, sizeof(deep), NULL, 0, NULL, false, &used, &err, &off);
    assert_non_null(l);
    assert_string_equal(err, "lists nested too deeply");
    assert_int_equal(off, 64);
    imap_node *j = imapi_value_to_json(l);
    assert_non_null(j);
    imapi_decref(j);
}

static void test_stop_at_bracket(void **state)
{
    (void)state;
    /* response code arguments: "[PERMANENTFLAGS (\Deleted \Seen \*)] Limited" */
    const char *t = "(\\Deleted \\Seen \\*)] Limited";
    const char *err = NULL;
    size_t off = 0, used = 0;
    imap_value *l = imapi_tokenize(&arena, t, strlen(t), NULL, 0, NULL, true, &used, &err, &off);
    assert_null(err);
    assert_int_equal(used, 19);
    assert_int_equal(l->count, 1);
    assert_atom(imapi_list_nth(imapi_list_nth(l, 0), 2), "\\*");
    const char *t2 = "4392] Predicted next UID";
    l = imapi_tokenize(&arena, t2, strlen(t2), NULL, 0, NULL, true, &used, &err, &off);
    assert_int_equal(used, 4);
    assert_int_equal(imapi_list_nth(l, 0)->num, 4392);
}

static void test_arena_cap(void **state)
{
    (void)state;
    imap_arena small;
    imapi_arena_init(&small, 4096);
    static char line[65536];
    for (size_t i = 0; i < sizeof(line); i++)
        line[i] = (i % 2) ? ' ' : 'a';
    const char *err = NULL;
    size_t off = 0;
    assert_null(imapi_tokenize(&small, line, sizeof(line), NULL, 0, NULL, false, NULL, &err, &off));
    imapi_arena_free(&small);
}

static void test_json_bytes(void **state)
{
    (void)state;
    imap_node *j = imapi_json_bytes("caf\xc3\xa9", 5);
    assert_string_equal(imapi_string_value(j), "caf\xc3\xa9");
    imapi_decref(j);
    j = imapi_json_bytes("a\xff" "b\xc0\xaf", 5);
    assert_string_equal(imapi_string_value(j), "a\\xffb\\xc0\\xaf");
    imapi_decref(j);
    j = imapi_json_bytes("a\0b", 3);
    assert_string_equal(imapi_string_value(j), "a\\x00b");
    imapi_decref(j);
    j = imapi_json_bytes("\xed\xa0\x80", 3); /* surrogate */
    assert_string_equal(imapi_string_value(j), "\\xed\\xa0\\x80");
    imapi_decref(j);

    const imap_value *l = tok_ok("(1 NIL \"x\" (a))");
    j = imapi_value_to_json(l);
    char *dump = output_node_dump(j);
    assert_string_equal(dump, "[[1,null,\"x\",[\"a\"]]]");
    free(dump);
    imapi_decref(j);
}

static void test_random_garbage(void **state)
{
    (void)state;
    static const char alphabet[] = "()[]{}<>\"\\ ~+-*%:,.0123456789aNIL\r\n\x80\xff";
    unsigned seed = 12345;
    char buf[256];
    imap_literal lits[4];
    memset(lits, 0, sizeof(lits));
    for (int i = 0; i < 4; i++) {
        lits[i].size = 3;
        lits[i].kept = (const uint8_t *)"abc";
        lits[i].kept_len = 3;
    }
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = 0;
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 16) % sizeof(buf);
        for (n = 0; n < len; n++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = seed >> 16;
            buf[n] = (iter & 1) ? (char)(r & 0xff) : alphabet[r % (sizeof(alphabet) - 1)];
        }
        char *heap = malloc(len ? len : 1); /* exact size: ASan sees any overread */
        memcpy(heap, buf, len);
        const char *err = NULL;
        size_t off = 0, used = 0, li = 0;
        imapi_arena_reset(&arena);
        imap_value *l = imapi_tokenize(&arena, heap, len, lits, 4, &li, (iter % 3) == 0, &used, &err, &off);
        assert_non_null(l);
        assert_true(used <= len);
        assert_true(li <= 4);
        if (err != NULL)
            assert_true(off <= len);
        imap_node *j = imapi_value_to_json(l);
        assert_non_null(j);
        char *d = output_node_dump(j);
        assert_non_null(d);
        free(d);
        imapi_decref(j);
        free(heap);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena),
        cmocka_unit_test_setup_teardown(test_atoms_numbers_nil, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quoted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_literals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_at_bracket, setup, teardown),
        cmocka_unit_test(test_arena_cap),
        cmocka_unit_test_setup_teardown(test_json_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_garbage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
