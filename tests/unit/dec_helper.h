/*
 * dec_helper.h - shared helpers of the decoder unit tests (test_commands,
 * test_responses, test_fetch): tokenize a line, read JSON by path
 * ("a/b/0/c"), assert values with the line number in the message.
 * Included by each test file (static functions: one copy per binary).
 */
#ifndef DEC_HELPER_H
#define DEC_HELPER_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "imap_decode.h"
#include "imap_node.h"
#include "output.h" /* output_node_dump: a tree as compact JSON, in failure messages */

/* ---- shared by the decoder tests (copied per file: one binary each) ---- */
static imap_arena arena;
static imap_decode_ctx ctx;
static const char *last_err __attribute__((unused));

static inline int setup(void **state)
{
    (void)state;
    imapi_arena_init(&arena, 1u << 20);
    memset(&ctx, 0, sizeof(ctx));
    return 0;
}

static inline int teardown(void **state)
{
    (void)state;
    imapi_arena_free(&arena);
    return 0;
}

static inline imap_value *tok(const char *text, const imap_literal *lits, size_t nlits)
{
    const char *err = NULL;
    size_t off = 0, li = 0;
    imap_value *v = imapi_tokenize(&arena, text, strlen(text), lits, nlits, &li, false, NULL, &err, &off);
    assert_non_null(v);
    if (err != NULL)
        fail_msg("tokenizer error '%s' at %zu in '%s'", err, off, text);
    return v;
}

/* "a/b/0/c": object keys and array indexes separated by "/". */
static inline imap_node *jget(imap_node *j, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    char *save = NULL;
    for (char *p = strtok_r(buf, "/", &save); p != NULL && j != NULL; p = strtok_r(NULL, "/", &save)) {
        if (imapi_is_array(j))
            j = imapi_array_get(j, (size_t)atoi(p));
        else
            j = imapi_object_get(j, p);
    }
    return j;
}

static inline void check_str(imap_node *o, const char *path, const char *want, int line)
{
    imap_node *j = jget(o, path);
    if (!imapi_is_string(j)) {
        char *d = output_node_dump(o);
        fail_msg("line %d: %s is not a string in %s", line, path, d);
    }
    if (strcmp(imapi_string_value(j), want) != 0)
        fail_msg("line %d: %s = '%s', want '%s'", line, path, imapi_string_value(j), want);
}

static inline void check_int(imap_node *o, const char *path, long long want, int line)
{
    imap_node *j = jget(o, path);
    if (!imapi_is_integer(j)) {
        char *d = output_node_dump(o);
        fail_msg("line %d: %s is not an integer in %s", line, path, d);
    }
    if (imapi_integer_value(j) != want)
        fail_msg("line %d: %s = %lld, want %lld", line, path, (long long)imapi_integer_value(j), want);
}

static inline void check_true(imap_node *o, const char *path, int line)
{
    if (!imapi_is_true(jget(o, path))) {
        char *d = output_node_dump(o);
        fail_msg("line %d: %s is not true in %s", line, path, d);
    }
}

static inline void check_null(imap_node *o, const char *path, int line)
{
    imap_node *j = jget(o, path);
    if (!imapi_is_null(j)) {
        char *d = output_node_dump(o);
        fail_msg("line %d: %s is not null (%s) in %s", line, path, j ? "present" : "missing", d);
    }
}

static inline void check_size(imap_node *o, const char *path, size_t want, int line)
{
    imap_node *j = jget(o, path);
    size_t n = imapi_is_array(j) ? imapi_array_size(j) : imapi_is_object(j) ? imapi_object_size(j) : (size_t)-1;
    if (n != want) {
        char *d = output_node_dump(o);
        fail_msg("line %d: size of %s = %zu, want %zu in %s", line, path, n, want, d);
    }
}

#define STR(o, p, w)  check_str((o), (p), (w), __LINE__)
#define INT(o, p, w)  check_int((o), (p), (w), __LINE__)
#define TRUE(o, p)    check_true((o), (p), __LINE__)
#define NUL(o, p)     check_null((o), (p), __LINE__)
#define SIZE(o, p, w) check_size((o), (p), (w), __LINE__)
#define ABSENT(o, p)  assert_null(jget((o), (p)))

#endif /* DEC_HELPER_H */
