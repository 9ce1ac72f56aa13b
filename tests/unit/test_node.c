/* The dissector's value tree (dissector/imap_node.h, public readers in
 * imap.h), its JSON renderer (src/render_json.c) and its conversion to
 * jansson (src/node_json.c): jansson's ownership rules and key order, the
 * immortal small values, UTF-8 checking as jansson's, and JSON bytes equal
 * to those of the jansson tree of the same values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "imap_node.h"
#include "node_json.h"
#include "output.h"

static void test_object_order_and_replace(void **state)
{
    (void)state;
    imap_node *o = imapi_object();
    assert_int_equal(imapi_object_set_new(o, "tag", imapi_string("A1")), 0);
    assert_int_equal(imapi_object_set_new(o, "command", imapi_string("FETCH")), 0);
    assert_int_equal(imapi_object_set_new(o, "a_key_longer_than_24_bytes_here", imapi_integer(7)), 0);
    /* replacing keeps the position (as jansson) */
    assert_int_equal(imapi_object_set_new(o, "tag", imapi_string("A2")), 0);
    assert_int_equal(imap_node_size(o), 3);
    size_t kl;
    assert_string_equal(imap_node_key_at(o, 0, &kl), "tag");
    assert_int_equal(kl, 3);
    assert_string_equal(imap_node_str(imap_node_at(o, 0), NULL), "A2");
    assert_string_equal(imap_node_key_at(o, 2, NULL), "a_key_longer_than_24_bytes_here");
    assert_int_equal(imap_node_int(imap_node_get(o, "a_key_longer_than_24_bytes_here")), 7);
    /* many keys: the vector grows, inline keys stay readable */
    for (int i = 0; i < 40; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        assert_int_equal(imapi_object_set_new(o, k, imapi_integer(1000 + i)), 0);
    }
    assert_int_equal(imap_node_size(o), 43);
    assert_int_equal(imap_node_int(imap_node_get(o, "k39")), 1039);
    assert_string_equal(imap_node_key_at(o, 1, NULL), "command");
    assert_int_equal(imapi_object_del(o, "command"), 0);
    assert_string_equal(imap_node_key_at(o, 1, NULL), "a_key_longer_than_24_bytes_here");
    assert_string_equal(imap_node_key_at(o, 2, NULL), "k0");
    assert_null(imap_node_get(o, "command"));
    /* set_new steals also on failure; NULL value fails */
    assert_int_equal(imapi_object_set_new(o, "x", NULL), -1);
    assert_int_equal(imapi_object_set_new(NULL, "x", imapi_string("y")), -1);
    imapi_decref(o);
}

static void test_refcount_and_sharing(void **state)
{
    (void)state;
    imap_node *shared = imapi_array();
    imapi_array_append_new(shared, imapi_string("IMAP4rev1"));
    imap_node *a = imapi_object(), *b = imapi_object();
    imapi_object_set(a, "caps", shared);
    imapi_object_set(b, "caps", shared);
    assert_int_equal(shared->refcount, 3);
    imapi_decref(a);
    assert_int_equal(shared->refcount, 2);
    assert_string_equal(imap_node_str(imap_node_at(imap_node_get(b, "caps"), 0), NULL), "IMAP4rev1");
    imapi_decref(b);
    imapi_decref(shared);
    /* immortals: no allocation, never freed */
    assert_ptr_equal(imapi_integer(5), imapi_integer(5));
    imap_node *i1 = imapi_integer(100000), *i2 = imapi_integer(100000);
    assert_ptr_not_equal(i1, i2);
    assert_int_equal(i1->refcount, 1);
    imapi_decref(i1);
    imapi_decref(i2);
    imap_node *f = imapi_false();
    imapi_decref(f);
    imapi_decref(f); /* immortal: still there */
    assert_false(imap_node_bool(f));
}

static void test_scalars_and_utf8(void **state)
{
    (void)state;
    assert_int_equal(imap_node_kind_of(NULL), IMAP_NODE_NULL);
    assert_int_equal(imap_node_kind_of(imapi_null()), IMAP_NODE_NULL);
    assert_true(imap_node_bool(imapi_true()));
    assert_false(imap_node_bool(imapi_false()));
    assert_int_equal(imap_node_int(imapi_integer(-1)), -1);
    assert_int_equal(imap_node_int(imapi_integer(255)), 255);
    imap_node *big = imapi_integer(INT64_MIN);
    assert_true(imap_node_int(big) == INT64_MIN);
    imapi_decref(big);
    /* jansson's acceptance: overlongs, surrogates, > U+10FFFF refused */
    assert_null(imapi_string("\xC0\x80"));
    assert_null(imapi_string("\xED\xA0\x80"));
    assert_null(imapi_string("\xF4\x90\x80\x80"));
    assert_null(imapi_string("caf\xE9"));
    imap_node *ok = imapi_string("Entw\xC3\xBCrfe \xF0\x9F\x93\xA7");
    assert_non_null(ok);
    imapi_decref(ok);
    /* embedded NUL kept with its length */
    imap_node *nul = imapi_stringn("a\0b", 3);
    size_t len;
    const char *s = imap_node_str(nul, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(s, "a\0b", 3);
    imapi_decref(nul);
    /* wrong kind: zero values */
    assert_null(imap_node_str(imapi_integer(3), &len));
    assert_int_equal(len, 0);
    assert_int_equal(imap_node_size(imapi_integer(3)), 0);
    assert_null(imap_node_at(imapi_true(), 0));
}

/* The tree below and the jansson tree built the same way give the same
 * bytes through the two writers (and through node_to_json). */
static imap_node *sample(void)
{
    imap_node *o = imapi_object();
    imapi_object_set_new(o, "tag", imapi_string("A001"));
    imapi_object_set_new(o, "command", imapi_string("UID FETCH"));
    imap_node *r = imapi_array();
    for (int i = 0; i < 5; i++) {
        imap_node *e = imapi_object();
        imapi_object_set_new(e, "type", imapi_string(i % 2 ? "FETCH" : "OK"));
        imapi_object_set_new(e, "n", imapi_integer((int64_t)i * 1000003 - 7));
        imapi_object_set_new(e, "flag", imapi_boolean(i & 1));
        imapi_object_set_new(e, "none", imapi_null());
        imapi_object_set_new(e, "text", imapi_stringn_nocheck("q\"\\\x01\n\t/\xFF", 8));
        imapi_array_append_new(r, e);
    }
    imapi_object_set_new(o, "responses", r);
    imapi_object_set_new(o, "empty_object", imapi_object());
    imapi_object_set_new(o, "empty_array", imapi_array());
    return o;
}

static void test_render_equals_jansson(void **state)
{
    (void)state;
    imap_node *n = sample();
    json_t *j = node_to_json(n);
    assert_non_null(j);
    char *a = output_node_dump(n);
    char *b = output_json_dump(j);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a, b);
    /* and the decoded values survived the conversion */
    json_t *r0 = json_array_get(json_object_get(j, "responses"), 1);
    assert_string_equal(json_string_value(json_object_get(r0, "type")), "FETCH");
    assert_int_equal(json_integer_value(json_object_get(r0, "n")), 1000003 - 7);
    assert_true(json_is_true(json_object_get(r0, "flag")));
    assert_non_null(strstr(a, "\"text\":\"q\\\"\\\\\\u0001\\n\\t/\xEF\xBF\xBD\""));
    free(a);
    free(b);
    json_decref(j);
    imapi_decref(n);
}

static void test_deep_copy_and_update(void **state)
{
    (void)state;
    imap_node *n = sample();
    imap_node *c = imapi_deep_copy(n);
    char *a = output_node_dump(n), *b = output_node_dump(c);
    assert_string_equal(a, b);
    free(a);
    free(b);
    imap_node *u = imapi_object();
    imapi_object_set_new(u, "command", imapi_string("X"));
    imapi_object_set_new(u, "new", imapi_integer(1));
    imapi_object_update(c, u);
    assert_string_equal(imap_node_str(imap_node_get(c, "command"), NULL), "X");
    assert_string_equal(imap_node_key_at(c, 1, NULL), "command");
    assert_string_equal(imap_node_key_at(c, imap_node_size(c) - 1, NULL), "new");
    assert_string_equal(imap_node_str(imap_node_get(n, "command"), NULL), "UID FETCH");
    imapi_decref(u);
    imapi_decref(c);
    imapi_decref(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_object_order_and_replace),
        cmocka_unit_test(test_refcount_and_sharing),
        cmocka_unit_test(test_scalars_and_utf8),
        cmocka_unit_test(test_render_equals_jansson),
        cmocka_unit_test(test_deep_copy_and_update),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
