/* The size-class allocator for jansson (src/json_pool.c): values built
 * through it equal those built through malloc, blocks are 16-byte aligned,
 * freed blocks are reused (no new slab for the same work again), large
 * blocks bypass the classes, and blocks freed by another thread are
 * usable.  In a sanitizer build the pool is not installed (ASan must see
 * each block): the test then checks that it says so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>
#include <jansson.h>

#include "json_pool.h"

static bool installed;

static json_t *build(int n)
{
    json_t *root = json_object();
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        json_t *o = json_object();
        char key[32], val[600];
        snprintf(key, sizeof key, "k%d", i);
        memset(val, 'a' + i % 26, sizeof val - 1);
        val[(size_t)(i * 37) % (sizeof val - 1)] = '\0'; /* strings of many sizes, some > 512 */
        json_object_set_new(o, key, json_string(val));
        json_object_set_new(o, "n", json_integer(i));
        json_object_set_new(o, "r", json_real(i / 8.0));
        json_array_append_new(arr, o);
    }
    json_object_set_new(root, "items", arr);
    return root;
}

static void test_values_and_reuse(void **state)
{
    (void)state;
    if (!installed) {
        assert_int_equal(json_pool_slab_bytes(), 0);
        skip();
    }
    json_t *a = build(2000);
    char *da = json_dumps(a, JSON_COMPACT);
    assert_non_null(da);
    size_t slabs = json_pool_slab_bytes();
    assert_true(slabs > 0);
    json_decref(a);
    /* the same work again fits in the blocks freed */
    json_t *b = build(2000);
    char *db = json_dumps(b, JSON_COMPACT);
    assert_string_equal(da, db);
    assert_int_equal(json_pool_slab_bytes(), slabs);
    /* alignment of every value's block */
    json_t *items = json_object_get(b, "items");
    for (size_t i = 0; i < json_array_size(items); i++)
        assert_int_equal((uintptr_t)json_array_get(items, i) % 16, 0);
    json_decref(b);
    /* json_dumps's buffer came from the pool too: freed through it */
    json_free_t fr;
    json_get_alloc_funcs(NULL, &fr);
    fr(da);
    fr(db);
}

static void *other_thread(void *arg)
{
    json_decref((json_t *)arg); /* freed on this thread's lists */
    json_t *x = build(50);      /* and allocation works here too */
    json_decref(x);
    return NULL;
}

static void test_cross_thread_free(void **state)
{
    (void)state;
    if (!installed)
        skip();
    json_t *a = build(500);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, other_thread, a), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    json_t *b = build(500);
    assert_int_equal(json_array_size(json_object_get(b, "items")), 500);
    json_decref(b);
}

int main(void)
{
    installed = json_pool_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_reuse),
        cmocka_unit_test(test_cross_thread_free),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    json_pool_shutdown();
    return rc;
}
