/*
 * detect_table.c - fixed-size LRU table (see detect_table.h).
 *
 * Entries live in one array, mapped anonymously (mmap): its pages stay
 * unallocated until an entry on them is used, so a table sized for 10,000
 * users costs only what the users seen take (calloc may memset a block it
 * takes from the heap, touching every page).  A bucket array (a power of two, at least twice
 * the capacity) holds the head index of each chain; every entry is on one
 * chain and on the LRU list (doubly linked by index, most recent at head).
 */
#include "detect_table.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "siphash.h"

#define NIL UINT32_MAX

typedef struct entry_hdr {
    uint32_t chain;       /* next entry in the bucket */
    uint32_t prev, next;  /* LRU list */
    uint32_t bucket;
    char key[DETECT_KEY_MAX];
} entry_hdr;

struct detect_table {
    unsigned cap, n;
    size_t payload, stride;
    uint8_t *mem;
    size_t mem_len;
    uint32_t *buckets;
    uint32_t mask;
    uint32_t head, tail;
    uint64_t evicted;
    uint8_t sipkey[16];
};

static entry_hdr *hdr(const detect_table *t, uint32_t i)
{
    return (entry_hdr *)(t->mem + (size_t)i * t->stride);
}

detect_table *detect_table_new(unsigned cap, size_t payload_size)
{
    detect_table *t = calloc(1, sizeof *t);
    uint32_t nb = 16;

    if (!t)
        return NULL;
    if (cap == 0)
        cap = 1;
    while (nb < 2u * cap && nb < (1u << 30))
        nb <<= 1;
    t->cap = cap;
    t->payload = payload_size;
    t->stride = (sizeof(entry_hdr) + payload_size + 15) & ~(size_t)15;
    t->mem_len = (size_t)cap * t->stride;
    t->mem = mmap(NULL, t->mem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (t->mem == MAP_FAILED)
        t->mem = NULL;
    t->buckets = malloc(nb * sizeof *t->buckets);
    if (!t->mem || !t->buckets) {
        detect_table_free(t);
        return NULL;
    }
    memset(t->buckets, 0xff, nb * sizeof *t->buckets);
    t->mask = nb - 1;
    t->head = t->tail = NIL;
    if (getrandom(t->sipkey, sizeof t->sipkey, GRND_NONBLOCK) != (ssize_t)sizeof t->sipkey) {
        /* no entropy yet: still a working table, with a fixed key */
        for (unsigned i = 0; i < sizeof t->sipkey; i++)
            t->sipkey[i] = (uint8_t)(0x5a + 31 * i);
    }
    return t;
}

void detect_table_free(detect_table *t)
{
    if (!t)
        return;
    if (t->mem)
        munmap(t->mem, t->mem_len);
    free(t->buckets);
    free(t);
}

static void lru_unlink(detect_table *t, uint32_t i)
{
    entry_hdr *h = hdr(t, i);
    if (h->prev != NIL)
        hdr(t, h->prev)->next = h->next;
    else
        t->head = h->next;
    if (h->next != NIL)
        hdr(t, h->next)->prev = h->prev;
    else
        t->tail = h->prev;
}

static void lru_push_head(detect_table *t, uint32_t i)
{
    entry_hdr *h = hdr(t, i);
    h->prev = NIL;
    h->next = t->head;
    if (t->head != NIL)
        hdr(t, t->head)->prev = i;
    t->head = i;
    if (t->tail == NIL)
        t->tail = i;
}

static void chain_remove(detect_table *t, uint32_t i)
{
    entry_hdr *h = hdr(t, i);
    uint32_t *p = &t->buckets[h->bucket];
    while (*p != NIL && *p != i)
        p = &hdr(t, *p)->chain;
    if (*p == i)
        *p = h->chain;
}

void *detect_table_get(detect_table *t, const char *key, bool create, bool *created, bool *evicted)
{
    char k[DETECT_KEY_MAX];
    size_t kl = strlen(key);
    uint32_t b, i;
    entry_hdr *h;

    if (created)
        *created = false;
    if (evicted)
        *evicted = false;
    if (kl >= sizeof k)
        kl = sizeof k - 1;
    memcpy(k, key, kl);
    k[kl] = '\0';
    b = (uint32_t)siphash24((const uint8_t *)k, kl, t->sipkey) & t->mask;
    for (i = t->buckets[b]; i != NIL; i = hdr(t, i)->chain) {
        if (strcmp(hdr(t, i)->key, k) == 0) {
            if (t->head != i) {
                lru_unlink(t, i);
                lru_push_head(t, i);
            }
            return (uint8_t *)hdr(t, i) + sizeof(entry_hdr);
        }
    }
    if (!create)
        return NULL;
    if (t->n < t->cap) {
        i = t->n++;
    } else {
        i = t->tail;
        lru_unlink(t, i);
        chain_remove(t, i);
        t->evicted++;
        if (evicted)
            *evicted = true;
    }
    h = hdr(t, i);
    memset(h, 0, t->stride);
    memcpy(h->key, k, kl + 1);
    h->bucket = b;
    h->chain = t->buckets[b];
    t->buckets[b] = i;
    lru_push_head(t, i);
    if (created)
        *created = true;
    return (uint8_t *)h + sizeof(entry_hdr);
}

unsigned detect_table_count(const detect_table *t) { return t->n; }
unsigned detect_table_cap(const detect_table *t) { return t->cap; }
uint64_t detect_table_evicted(const detect_table *t) { return t->evicted; }

void detect_table_foreach(detect_table *t, void (*fn)(void *ctx, const char *key, void *payload), void *ctx)
{
    for (uint32_t i = 0; i < t->n; i++)
        fn(ctx, hdr(t, i)->key, (uint8_t *)hdr(t, i) + sizeof(entry_hdr));
}
