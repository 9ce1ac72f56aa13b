/*
 * imap_cache.c - per-thread caches of repeated decoded values (see
 * imap_cache.h).  One thread-specific block holds every cache; it is
 * allocated at the first use on a thread and freed when the thread ends.
 */
#include "imap_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct cache_entry {
    char   *key;   /* NULL: empty */
    size_t  key_len;
    imap_node *value;
} cache_entry;

typedef struct thread_caches {
    cache_entry e[IMAP_CACHE__COUNT][IMAP_CACHE_SLOTS];
    unsigned    next[IMAP_CACHE__COUNT]; /* entry replaced next (round robin) */
} thread_caches;

static pthread_key_t caches_key;
static pthread_once_t caches_once = PTHREAD_ONCE_INIT;

static void caches_destroy(void *p)
{
    thread_caches *t = p;
    for (int c = 0; c < IMAP_CACHE__COUNT; c++)
        for (int i = 0; i < IMAP_CACHE_SLOTS; i++) {
            free(t->e[c][i].key);
            imapi_decref(t->e[c][i].value);
        }
    free(t);
}

static void caches_key_init(void)
{
    pthread_key_create(&caches_key, caches_destroy);
}

/* This thread's caches; NULL when out of memory. */
static thread_caches *caches(void)
{
    pthread_once(&caches_once, caches_key_init);
    thread_caches *t = pthread_getspecific(caches_key);
    if (t == NULL) {
        t = calloc(1, sizeof *t);
        if (t != NULL && pthread_setspecific(caches_key, t) != 0) {
            free(t);
            t = NULL;
        }
    }
    return t;
}

void imapi_cache_key_add(imap_cache_key *k, char tag, const void *p, size_t len)
{
    if (k->full || len > IMAP_CACHE_KEY_MAX || k->n + 1 + sizeof len + len > IMAP_CACHE_KEY_MAX) {
        k->full = 1;
        return;
    }
    k->b[k->n++] = tag;
    memcpy(k->b + k->n, &len, sizeof len);
    k->n += sizeof len;
    if (len > 0)
        memcpy(k->b + k->n, p, len);
    k->n += len;
}

imap_node *imapi_cache_get(imap_cache_id id, const imap_cache_key *k)
{
    thread_caches *t = k->full ? NULL : caches();
    if (t == NULL)
        return NULL;
    for (int i = 0; i < IMAP_CACHE_SLOTS; i++) {
        const cache_entry *e = &t->e[id][i];
        if (e->key != NULL && e->key_len == k->n && memcmp(e->key, k->b, k->n) == 0)
            return imapi_incref(e->value);
    }
    return NULL;
}

void imapi_cache_put(imap_cache_id id, const imap_cache_key *k, imap_node *v)
{
    thread_caches *t = k->full || v == NULL ? NULL : caches();
    if (t == NULL)
        return;
    char *key = malloc(k->n ? k->n : 1);
    if (key == NULL)
        return;
    memcpy(key, k->b, k->n);
    cache_entry *e = &t->e[id][t->next[id]];
    t->next[id] = (t->next[id] + 1) % IMAP_CACHE_SLOTS;
    free(e->key);
    imapi_decref(e->value);
    e->key = key;
    e->key_len = k->n;
    e->value = imapi_incref(v);
}
