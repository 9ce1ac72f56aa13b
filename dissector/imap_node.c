/*
 * imap_node.c - the dissector's value tree (imap_node.h: builder; imap.h:
 * public readers).
 */
#include "imap_node.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------- allocator */

static void *(*node_malloc)(size_t) = malloc;
static void (*node_free)(void *) = free;

void imap_set_alloc_funcs(void *(*malloc_fn)(size_t), void (*free_fn)(void *))
{
    node_malloc = malloc_fn ? malloc_fn : malloc;
    node_free = malloc_fn && free_fn ? free_fn : free;
}

/* ---------------------------------------------------------- immortals */

#define IMMORTAL UINT32_MAX

static imap_node node_null  = { .refcount = IMMORTAL, .kind = IMAP_NODE_NULL };
static imap_node node_true  = { .refcount = IMMORTAL, .kind = IMAP_NODE_BOOL, .u.b = true };
static imap_node node_false = { .refcount = IMMORTAL, .kind = IMAP_NODE_BOOL, .u.b = false };

#define N_SMALL (IMAPI_SMALL_INT_MAX - IMAPI_SMALL_INT_MIN + 1)
#define SI(v) { .refcount = IMMORTAL, .kind = IMAP_NODE_INT, .u.i = (v) }
#define SI4(v) SI(v), SI((v) + 1), SI((v) + 2), SI((v) + 3)
#define SI16(v) SI4(v), SI4((v) + 4), SI4((v) + 8), SI4((v) + 12)
#define SI64(v) SI16(v), SI16((v) + 16), SI16((v) + 32), SI16((v) + 48)
static imap_node small_ints[N_SMALL] = {
    SI(-1), SI64(0), SI64(64), SI64(128), SI64(192),
};
_Static_assert(sizeof small_ints / sizeof small_ints[0] == 257, "small integer table: -1..255");

imap_node *imapi_null(void) { return &node_null; }
imap_node *imapi_true(void) { return &node_true; }
imap_node *imapi_false(void) { return &node_false; }

/* ------------------------------------------------------- constructors */

static imap_node *node_alloc(imap_node_kind kind, size_t extra)
{
    imap_node *n = node_malloc(sizeof *n + extra);
    if (!n)
        return NULL;
    n->refcount = 1;
    n->kind = (uint8_t)kind;
    n->len = 0;
    n->cap = 0;
    n->u.i = 0;
    return n;
}

imap_node *imapi_object(void) { return node_alloc(IMAP_NODE_OBJECT, 0); }
imap_node *imapi_array(void) { return node_alloc(IMAP_NODE_ARRAY, 0); }

imap_node *imapi_integer(int64_t v)
{
    if (v >= IMAPI_SMALL_INT_MIN && v <= IMAPI_SMALL_INT_MAX)
        return &small_ints[v - IMAPI_SMALL_INT_MIN];
    imap_node *n = node_alloc(IMAP_NODE_INT, 0);
    if (n)
        n->u.i = v;
    return n;
}

imap_node *imapi_stringn_nocheck(const char *s, size_t len)
{
    if (!s || len >= UINT32_MAX)
        return NULL;
    imap_node *n = node_alloc(IMAP_NODE_STRING, len + 1);
    if (!n)
        return NULL;
    n->u.s = (char *)(n + 1);
    memcpy(n->u.s, s, len);
    n->u.s[len] = '\0';
    n->len = (uint32_t)len;
    return n;
}

imap_node *imapi_string_nocheck(const char *s)
{
    return s ? imapi_stringn_nocheck(s, strlen(s)) : NULL;
}

imap_node *imapi_stringn(const char *s, size_t len)
{
    if (!s || !imapi_utf8_valid(s, len))
        return NULL;
    return imapi_stringn_nocheck(s, len);
}

imap_node *imapi_string(const char *s)
{
    return s ? imapi_stringn(s, strlen(s)) : NULL;
}

/* ------------------------------------------------------------- freeing */

static void pair_clear(imapi_pair *p)
{
    if (p->key != p->k)
        node_free((char *)p->key);
    imapi_decref(p->value);
}

void imapi_node_free_(imap_node *n)
{
    switch ((imap_node_kind)n->kind) {
    case IMAP_NODE_ARRAY:
        for (uint32_t i = 0; i < n->len; i++)
            imapi_decref(n->u.items[i]);
        node_free(n->u.items);
        break;
    case IMAP_NODE_OBJECT:
        for (uint32_t i = 0; i < n->len; i++)
            pair_clear(&n->u.pairs[i]);
        node_free(n->u.pairs);
        break;
    default:
        break;
    }
    node_free(n);
}

/* -------------------------------------------------------------- objects */

static imapi_pair *pair_find(const imap_node *obj, const char *key, size_t klen)
{
    for (uint32_t i = 0; i < obj->len; i++) {
        imapi_pair *p = &obj->u.pairs[i];
        if (p->klen == klen && memcmp(p->key, key, klen) == 0)
            return p;
    }
    return NULL;
}

static bool grow(imap_node *n, size_t elem)
{
    if (n->len < n->cap)
        return true;
    uint32_t ncap = n->cap ? n->cap * 2 : (elem == sizeof(imapi_pair) ? 8 : 4);
    if (ncap <= n->cap)
        return false;
    /* no realloc in the allocator interface: a new vector, copied */
    void *old = n->kind == IMAP_NODE_OBJECT ? (void *)n->u.pairs : (void *)n->u.items;
    void *p = node_malloc((size_t)ncap * elem);
    if (!p)
        return false;
    if (old) {
        memcpy(p, old, (size_t)n->len * elem);
        node_free(old);
    }
    if (n->kind == IMAP_NODE_OBJECT) {
        n->u.pairs = p;
        /* inline keys moved with the vector */
        for (uint32_t i = 0; i < n->len; i++)
            if (n->u.pairs[i].klen < IMAPI_KEY_INLINE)
                n->u.pairs[i].key = n->u.pairs[i].k;
    } else {
        n->u.items = p;
    }
    n->cap = ncap;
    return true;
}

int imapi_object_setn_new(imap_node *obj, const char *key, size_t klen, imap_node *value)
{
    if (!value)
        return -1;
    if (!key || !imapi_is_object(obj) || obj == value || klen >= UINT32_MAX) {
        imapi_decref(value);
        return -1;
    }
    imapi_pair *p = pair_find(obj, key, klen);
    if (p) {
        imapi_decref(p->value);
        p->value = value;
        return 0;
    }
    if (!grow(obj, sizeof(imapi_pair))) {
        imapi_decref(value);
        return -1;
    }
    p = &obj->u.pairs[obj->len];
    if (klen < IMAPI_KEY_INLINE) {
        memcpy(p->k, key, klen);
        p->k[klen] = '\0';
        p->key = p->k;
    } else {
        char *k = node_malloc(klen + 1);
        if (!k) {
            imapi_decref(value);
            return -1;
        }
        memcpy(k, key, klen);
        k[klen] = '\0';
        p->key = k;
    }
    p->klen = (uint32_t)klen;
    p->value = value;
    obj->len++;
    return 0;
}

int imapi_object_set_new_nocheck(imap_node *obj, const char *key, imap_node *value)
{
    if (!key) {
        imapi_decref(value);
        return -1;
    }
    return imapi_object_setn_new(obj, key, strlen(key), value);
}

int imapi_object_set_new(imap_node *obj, const char *key, imap_node *value)
{
    size_t klen = key ? strlen(key) : 0;
    if (!key || !imapi_utf8_valid(key, klen)) {
        imapi_decref(value);
        return -1;
    }
    return imapi_object_setn_new(obj, key, klen, value);
}

imap_node *imapi_object_getn(const imap_node *obj, const char *key, size_t klen)
{
    if (!key || !imapi_is_object(obj))
        return NULL;
    imapi_pair *p = pair_find(obj, key, klen);
    return p ? p->value : NULL;
}

imap_node *imapi_object_get(const imap_node *obj, const char *key)
{
    return key ? imapi_object_getn(obj, key, strlen(key)) : NULL;
}

int imapi_object_del(imap_node *obj, const char *key)
{
    if (!key || !imapi_is_object(obj))
        return -1;
    imapi_pair *p = pair_find(obj, key, strlen(key));
    if (!p)
        return -1;
    pair_clear(p);
    size_t i = (size_t)(p - obj->u.pairs);
    memmove(p, p + 1, (obj->len - i - 1) * sizeof *p);
    obj->len--;
    for (uint32_t j = (uint32_t)i; j < obj->len; j++)
        if (obj->u.pairs[j].klen < IMAPI_KEY_INLINE)
            obj->u.pairs[j].key = obj->u.pairs[j].k;
    return 0;
}

size_t imapi_object_size(const imap_node *obj)
{
    return imapi_is_object(obj) ? obj->len : 0;
}

int imapi_object_update(imap_node *obj, const imap_node *other)
{
    if (!imapi_is_object(obj) || !imapi_is_object(other))
        return -1;
    for (uint32_t i = 0; i < other->len; i++)
        if (imapi_object_setn_new(obj, other->u.pairs[i].key, other->u.pairs[i].klen,
                                  imapi_incref(other->u.pairs[i].value)) < 0)
            return -1;
    return 0;
}

/* --------------------------------------------------------------- arrays */

int imapi_array_append_new(imap_node *arr, imap_node *value)
{
    if (!value)
        return -1;
    if (!imapi_is_array(arr) || arr == value || !grow(arr, sizeof(imap_node *))) {
        imapi_decref(value);
        return -1;
    }
    arr->u.items[arr->len++] = value;
    return 0;
}

imap_node *imapi_array1_new(imap_node *value)
{
    imap_node *a = imapi_array();
    if (!a || imapi_array_append_new(a, value) < 0) {
        if (!a)
            imapi_decref(value);
        imapi_decref(a);
        return NULL;
    }
    return a;
}

int imapi_array_set_new(imap_node *arr, size_t i, imap_node *value)
{
    if (!value)
        return -1;
    if (!imapi_is_array(arr) || i >= arr->len || arr == value) {
        imapi_decref(value);
        return -1;
    }
    imapi_decref(arr->u.items[i]);
    arr->u.items[i] = value;
    return 0;
}

int imapi_array_clear(imap_node *arr)
{
    if (!imapi_is_array(arr))
        return -1;
    for (uint32_t i = 0; i < arr->len; i++)
        imapi_decref(arr->u.items[i]);
    arr->len = 0;
    return 0;
}

/* ----------------------------------------------------------- deep copy */

imap_node *imapi_deep_copy(const imap_node *n)
{
    if (!n)
        return NULL;
    switch ((imap_node_kind)n->kind) {
    case IMAP_NODE_STRING:
        return imapi_stringn_nocheck(n->u.s, n->len);
    case IMAP_NODE_INT:
        return imapi_integer(n->u.i);
    case IMAP_NODE_NULL:
        return imapi_null();
    case IMAP_NODE_BOOL:
        return imapi_boolean(n->u.b);
    case IMAP_NODE_ARRAY: {
        imap_node *a = imapi_array();
        for (uint32_t i = 0; a && i < n->len; i++)
            if (imapi_array_append_new(a, imapi_deep_copy(n->u.items[i])) < 0) {
                imapi_decref(a);
                return NULL;
            }
        return a;
    }
    case IMAP_NODE_OBJECT: {
        imap_node *o = imapi_object();
        for (uint32_t i = 0; o && i < n->len; i++)
            if (imapi_object_setn_new(o, n->u.pairs[i].key, n->u.pairs[i].klen,
                                      imapi_deep_copy(n->u.pairs[i].value)) < 0) {
                imapi_decref(o);
                return NULL;
            }
        return o;
    }
    }
    return NULL;
}

size_t imapi_node_bytes(const imap_node *n)
{
    if (!n || n->refcount == IMMORTAL)
        return 0;
    size_t b = sizeof *n;
    switch ((imap_node_kind)n->kind) {
    case IMAP_NODE_STRING:
        b += n->len + 1;
        break;
    case IMAP_NODE_ARRAY:
        b += n->cap * sizeof(imap_node *);
        for (uint32_t i = 0; i < n->len; i++)
            b += imapi_node_bytes(n->u.items[i]);
        break;
    case IMAP_NODE_OBJECT:
        b += n->cap * sizeof(imapi_pair);
        for (uint32_t i = 0; i < n->len; i++)
            b += imapi_node_bytes(n->u.pairs[i].value) +
                 (n->u.pairs[i].klen >= IMAPI_KEY_INLINE ? n->u.pairs[i].klen + 1 : 0);
        break;
    default:
        break;
    }
    return b;
}

/* ------------------------------------------------------ public readers */

imap_node_kind imap_node_kind_of(const imap_node *n) { return imapi_typeof(n); }
bool imap_node_bool(const imap_node *n) { return imapi_boolean_value(n); }
int64_t imap_node_int(const imap_node *n) { return imapi_integer_value(n); }

const char *imap_node_str(const imap_node *n, size_t *len)
{
    if (!imapi_is_string(n)) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = n->len;
    return n->u.s;
}

size_t imap_node_size(const imap_node *n)
{
    return n && (n->kind == IMAP_NODE_ARRAY || n->kind == IMAP_NODE_OBJECT) ? n->len : 0;
}

const imap_node *imap_node_at(const imap_node *n, size_t i)
{
    if (!n || i >= n->len)
        return NULL;
    if (n->kind == IMAP_NODE_ARRAY)
        return n->u.items[i];
    if (n->kind == IMAP_NODE_OBJECT)
        return n->u.pairs[i].value;
    return NULL;
}

const char *imap_node_key_at(const imap_node *n, size_t i, size_t *klen)
{
    if (!imapi_is_object(n) || i >= n->len) {
        if (klen)
            *klen = 0;
        return NULL;
    }
    if (klen)
        *klen = n->u.pairs[i].klen;
    return n->u.pairs[i].key;
}

const imap_node *imap_node_get(const imap_node *n, const char *key)
{
    return imapi_object_get(n, key);
}

void imap_node_release(imap_node *n) { imapi_decref(n); }
