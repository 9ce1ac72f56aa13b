/*
 * json_pool.c - size-class allocator for jansson (see json_pool.h).
 *
 * Each block has a 16-byte header holding its size class (or BIG for a
 * block from malloc), so free needs no lookup.  Classes: payload up to
 * (c + 1) * 16 bytes, c < NCLASS.  Free lists are per thread and
 * unbounded; slabs are chained on one global list (under a mutex, taken
 * once per 64 KiB) so that they stay reachable and can be freed at the end.
 */
#include "json_pool.h"

#include <jansson.h>
#include "imap.h"
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define POOL_DISABLED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define POOL_DISABLED 1
#endif
#endif

#define HDR        16u
#define STEP       16u
#define NCLASS     32u                 /* payloads up to 512 bytes */
#define BIG        0xFFFFFFFFu
#define SLAB_BYTES (64u << 10)

typedef struct block_hdr {
    uint32_t cls;
    uint32_t pad[3];
} block_hdr;

typedef struct free_block {
    struct free_block *next;
} free_block;

typedef struct slab {
    struct slab *next;
    char pad[HDR - sizeof(struct slab *)];
} slab;

#ifndef POOL_DISABLED
static _Thread_local free_block *free_lists[NCLASS];
#endif
static pthread_mutex_t slab_lock = PTHREAD_MUTEX_INITIALIZER;
static slab *slabs;
static size_t slab_bytes;

#ifndef POOL_DISABLED
/* Carves a new slab into blocks of class c on this thread's list. */
static bool refill(unsigned c)
{
    size_t bsize = HDR + (size_t)(c + 1) * STEP;
    slab *s = malloc(SLAB_BYTES);
    if (!s)
        return false;
    pthread_mutex_lock(&slab_lock);
    s->next = slabs;
    slabs = s;
    slab_bytes += SLAB_BYTES;
    pthread_mutex_unlock(&slab_lock);
    char *p = (char *)s + sizeof *s, *end = (char *)s + SLAB_BYTES;
    free_block *head = free_lists[c];
    for (; p + bsize <= end; p += bsize) {
        ((block_hdr *)p)->cls = c;
        free_block *f = (free_block *)(p + HDR);
        f->next = head;
        head = f;
    }
    free_lists[c] = head;
    return true;
}

static void *pool_malloc(size_t n)
{
    if (n == 0)
        n = 1;
    if (n > NCLASS * STEP) {
        if (n > SIZE_MAX - HDR)
            return NULL;
        block_hdr *h = malloc(HDR + n);
        if (!h)
            return NULL;
        h->cls = BIG;
        return (char *)h + HDR;
    }
    unsigned c = (unsigned)((n - 1) / STEP);
    free_block *f = free_lists[c];
    if (!f) {
        if (!refill(c))
            return NULL;
        f = free_lists[c];
    }
    free_lists[c] = f->next;
    return f;
}

static void pool_free(void *p)
{
    if (!p)
        return;
    block_hdr *h = (block_hdr *)((char *)p - HDR);
    if (h->cls == BIG) {
        free(h);
        return;
    }
    free_block *f = p;
    f->next = free_lists[h->cls];
    free_lists[h->cls] = f;
}

#endif /* POOL_DISABLED */

bool json_pool_install(void)
{
#ifdef POOL_DISABLED
    return false;
#else
    const char *env = getenv("IMAPSCOPE_JSON_POOL");
    if (env && strcmp(env, "0") == 0)
        return false;
    json_set_alloc_funcs(pool_malloc, pool_free);
    imap_set_alloc_funcs(pool_malloc, pool_free); /* the dissector's value trees */
    return true;
#endif
}

void json_pool_shutdown(void)
{
    pthread_mutex_lock(&slab_lock);
    slab *s = slabs;
    slabs = NULL;
    slab_bytes = 0;
    pthread_mutex_unlock(&slab_lock);
    while (s) {
        slab *n = s->next;
        free(s);
        s = n;
    }
#ifndef POOL_DISABLED
    memset(free_lists, 0, sizeof free_lists);
#endif
}

size_t json_pool_slab_bytes(void)
{
    pthread_mutex_lock(&slab_lock);
    size_t n = slab_bytes;
    pthread_mutex_unlock(&slab_lock);
    return n;
}
