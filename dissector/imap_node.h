/*
 * imap_node.h - the dissector's value tree, internal builder API.
 *
 * The decoded arguments and responses of an event are a tree of
 * imap_node (kinds null, bool, int, string, array, object; imap.h reads
 * it).  This header is the builder the decoders use: its calls are shaped
 * like the subset of jansson they used before (imapi_object_set_new for
 * json_object_set_new, ...) with the same ownership rules, so the
 * conversion from jansson is mechanical and reviewable:
 *
 *   - constructors return a new reference (NULL when out of memory, or for
 *     imapi_string/imapi_stringn when the bytes are not valid UTF-8, as
 *     jansson does);
 *   - *_new setters and appenders steal the value's reference, also on
 *     failure; the others take a new reference;
 *   - imapi_incref/imapi_decref are NULL-safe; a node is freed when its
 *     last reference goes;
 *   - getters borrow; readers of the wrong kind or NULL give 0/NULL.
 *
 * What differs from jansson, on purpose:
 *   - objects are a vector of (key, value) in insertion order, looked up
 *     by a linear scan (no hash table: IMAP objects hold a handful of keys,
 *     and the JSON writer walks them in order); setting an existing key
 *     replaces its value in place (its position is kept, as jansson does);
 *   - null, true, false and the integers IMAPI_SMALL_INT_MIN..MAX are
 *     immortal shared nodes (no allocation); they are read-only, and so
 *     is every node once it is reachable from two places (there is no
 *     imapi_integer_set);
 *   - one allocation per string (the bytes follow the node), keys up to
 *     IMAPI_KEY_INLINE-1 bytes are kept inside the object's vector.
 *
 * A tree is used by one thread at a time (reference counts are not
 * atomic); the capability cache (imap_cache.c) shares trees per thread.
 * Symbols here are internal (imapi_ prefix), not part of the public API.
 */
#ifndef IMAP_NODE_H
#define IMAP_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap.h"
#include "imap_util.h"
#include "imap_limits.h"

#define IMAPI_SMALL_INT_MIN (-1)
#define IMAPI_SMALL_INT_MAX 255
#define IMAPI_KEY_INLINE    24

typedef struct imapi_pair {
    const char *key;                 /* points to k when inline */
    uint32_t    klen;
    imap_node  *value;
    char        k[IMAPI_KEY_INLINE];
} imapi_pair;

struct imap_node {
    uint32_t refcount;               /* UINT32_MAX: immortal */
    uint8_t  kind;                   /* imap_node_kind */
    uint32_t len;                    /* string bytes, array items, object pairs */
    uint32_t cap;                    /* allocated items/pairs */
    union {
        bool         b;
        int64_t      i;
        char        *s;              /* NUL-terminated, len bytes (may hold NULs) */
        imap_node  **items;
        imapi_pair  *pairs;
    } u;
};

/* ---- constructors (new reference) ---- */
imap_node *imapi_object(void);
imap_node *imapi_array(void);
imap_node *imapi_string(const char *s);                        /* NULL if s is NULL or not UTF-8 */
imap_node *imapi_stringn(const char *s, size_t len);           /* NULL if not UTF-8 */
imap_node *imapi_string_nocheck(const char *s);
imap_node *imapi_stringn_nocheck(const char *s, size_t len);
imap_node *imapi_integer(int64_t v);
imap_node *imapi_null(void);
imap_node *imapi_true(void);
imap_node *imapi_false(void);
#define imapi_boolean(v) ((v) ? imapi_true() : imapi_false())
imap_node *imapi_deep_copy(const imap_node *n);

/* ---- references ---- */
static inline imap_node *imapi_incref(imap_node *n)
{
    if (n && n->refcount != UINT32_MAX)
        n->refcount++;
    return n;
}
void imapi_node_free_(imap_node *n);
static inline void imapi_decref(imap_node *n)
{
    if (n && n->refcount != UINT32_MAX && --n->refcount == 0)
        imapi_node_free_(n);
}

/* ---- kinds ---- */
#define imapi_typeof(n)      ((n) ? (imap_node_kind)(n)->kind : IMAP_NODE_NULL)
#define imapi_is_object(n)   ((n) && (n)->kind == IMAP_NODE_OBJECT)
#define imapi_is_array(n)    ((n) && (n)->kind == IMAP_NODE_ARRAY)
#define imapi_is_string(n)   ((n) && (n)->kind == IMAP_NODE_STRING)
#define imapi_is_integer(n)  ((n) && (n)->kind == IMAP_NODE_INT)
#define imapi_is_boolean(n)  ((n) && (n)->kind == IMAP_NODE_BOOL)
#define imapi_is_true(n)     ((n) && (n)->kind == IMAP_NODE_BOOL && (n)->u.b)
#define imapi_is_false(n)    ((n) && (n)->kind == IMAP_NODE_BOOL && !(n)->u.b)
#define imapi_is_null(n)     ((n) && (n)->kind == IMAP_NODE_NULL)

/* ---- objects ---- */
/* Steals value (also on failure); -1 when value is NULL, obj is not an
 * object, the key is not valid UTF-8 (as jansson; the _nocheck forms do
 * not check it: their callers pass literals), or out of memory. */
int imapi_object_set_new(imap_node *obj, const char *key, imap_node *value);
int imapi_object_set_new_nocheck(imap_node *obj, const char *key, imap_node *value);
int imapi_object_setn_new(imap_node *obj, const char *key, size_t klen, imap_node *value);
static inline int imapi_object_set(imap_node *obj, const char *key, imap_node *value)
{
    return imapi_object_set_new(obj, key, imapi_incref(value));
}
static inline int imapi_object_set_nocheck(imap_node *obj, const char *key, imap_node *value)
{
    return imapi_object_set_new_nocheck(obj, key, imapi_incref(value));
}
imap_node *imapi_object_get(const imap_node *obj, const char *key);
imap_node *imapi_object_getn(const imap_node *obj, const char *key, size_t klen);
int imapi_object_del(imap_node *obj, const char *key);
size_t imapi_object_size(const imap_node *obj);
/* Sets every key of other in obj (new references), like json_object_update. */
int imapi_object_update(imap_node *obj, const imap_node *other);
/* Iteration in insertion order: for (i ...) key/value at i. */
#define imapi_object_foreach(obj, key_, value_)                                                \
    for (size_t imapi_i_ = 0;                                                                      \
         imapi_is_object(obj) && imapi_i_ < (obj)->len &&                                          \
         ((key_) = (obj)->u.pairs[imapi_i_].key, (value_) = (obj)->u.pairs[imapi_i_].value, (void)(value_), 1); \
         imapi_i_++)

/* ---- arrays ---- */
int imapi_array_append_new(imap_node *arr, imap_node *value);
static inline int imapi_array_append(imap_node *arr, imap_node *value)
{
    return imapi_array_append_new(arr, imapi_incref(value));
}
int imapi_array_set_new(imap_node *arr, size_t i, imap_node *value);
/* [value] (json_pack("[o]", value): stolen), or NULL. */
imap_node *imapi_array1_new(imap_node *value);
int imapi_array_clear(imap_node *arr);
static inline size_t imapi_array_size(const imap_node *arr)
{
    return arr && arr->kind == IMAP_NODE_ARRAY ? arr->len : 0;
}
static inline imap_node *imapi_array_get(const imap_node *arr, size_t i)
{
    return arr && arr->kind == IMAP_NODE_ARRAY && i < arr->len ? arr->u.items[i] : NULL;
}
#define imapi_array_foreach(arr, index, value)                                    \
    for ((index) = 0; (index) < imapi_array_size(arr) &&                          \
                      ((value) = imapi_array_get((arr), (index)), 1); (index)++)

/* ---- scalars ---- */
static inline const char *imapi_string_value(const imap_node *n)
{
    return n && n->kind == IMAP_NODE_STRING ? n->u.s : NULL;
}
static inline size_t imapi_string_length(const imap_node *n)
{
    return n && n->kind == IMAP_NODE_STRING ? n->len : 0;
}
static inline int64_t imapi_integer_value(const imap_node *n)
{
    return n && n->kind == IMAP_NODE_INT ? n->u.i : 0;
}
static inline bool imapi_boolean_value(const imap_node *n)
{
    return n && n->kind == IMAP_NODE_BOOL && n->u.b;
}

/* Approximate bytes a tree holds (for the memory budget). */
size_t imapi_node_bytes(const imap_node *n);

/* imapi_utf8_valid: in imap_util.h (included above). */

#endif /* IMAP_NODE_H */
