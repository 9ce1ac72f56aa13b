/*
 * imap_cache.h - per-thread caches of decoded values that a capture
 * repeats (internal to the dissector).
 *
 * A server sends the same capability list on every connection, several
 * times each (greeting, after STARTTLS, after login, CAPABILITY); decoding
 * and annotating it each time was 13% of the CPU time of -T json on the
 * benchmark corpus.  A cache keeps the values of the last IMAP_CACHE_SLOTS
 * keys per thread (no lock: lines of different sessions are never decoded
 * at the same time on one thread), keyed by bytes the caller derives from
 * what the value is decoded from, and hands out references to them.  The
 * values are shared read-only: the caller must not change them (jansson's
 * reference counts are atomic, so a value may end up freed on another
 * thread).  Each thread's entries are freed when it ends.
 */
#ifndef IMAP_CACHE_H
#define IMAP_CACHE_H

#include <stddef.h>
#include "imap_node.h"

/* IMAP_CACHE_SLOTS, IMAP_CACHE_KEY_MAX: imap_limits.h */

typedef enum imap_cache_id {
    IMAP_CACHE_CAPS_DECODED,   /* imapi_decode_capabilities: tokens -> [{name[, value][, known]}] */
    IMAP_CACHE__COUNT
} imap_cache_id;

/* A builder of cache keys: bytes appended with their length, so that a
 * sequence of pieces gives one unambiguous key. */
typedef struct imap_cache_key {
    char   b[IMAP_CACHE_KEY_MAX];
    size_t n;
    int    full; /* a piece did not fit: the key is not to be used */
} imap_cache_key;

/* Appends a tag byte, the length and the bytes of one piece. */
void imapi_cache_key_add(imap_cache_key *k, char tag, const void *p, size_t len);

/* The value cached under k in cache id (a new reference), or NULL. */
imap_node *imapi_cache_get(imap_cache_id id, const imap_cache_key *k);

/* Keeps v (a reference is taken) under k in cache id, replacing the
 * oldest entry.  Does nothing for a full key or when out of memory. */
void imapi_cache_put(imap_cache_id id, const imap_cache_key *k, imap_node *v);

#endif /* IMAP_CACHE_H */
