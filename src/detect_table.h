/*
 * detect_table.h - a fixed-size table of keyed entries with least-recently
 * used eviction, for the detection layer (src/detect.h).
 *
 * The table is allocated once (cap entries of a fixed payload size): its
 * memory is bounded by configuration, never by traffic.  When it is full,
 * a new key takes the place of the entry used least recently; evictions are
 * counted.  Keys are strings up to DETECT_KEY_MAX - 1 bytes (longer keys
 * are cut, and two keys that differ only past the cut share an entry).
 * Lookups hash the key with SipHash-2-4 under a per-table random key, so
 * crafted names cannot make chains long.  Not thread-safe: the caller
 * serialises (detect.c holds one mutex).
 */
#ifndef IMAPSCOPE_DETECT_TABLE_H
#define IMAPSCOPE_DETECT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DETECT_KEY_MAX 200

typedef struct detect_table detect_table;

/* A table of cap entries (cap >= 1) of payload_size bytes each, zeroed.
 * NULL when out of memory. */
detect_table *detect_table_new(unsigned cap, size_t payload_size);
void detect_table_free(detect_table *t);

/* The payload of key, made most recently used.  When absent and create:
 * a new zeroed entry (*created true), taking the least recently used
 * entry's place when the table is full (*evicted true; the count goes up);
 * when absent and !create: NULL.  created/evicted may be NULL. */
void *detect_table_get(detect_table *t, const char *key, bool create, bool *created, bool *evicted);

/* Entries in use, capacity, evictions so far. */
unsigned detect_table_count(const detect_table *t);
unsigned detect_table_cap(const detect_table *t);
uint64_t detect_table_evicted(const detect_table *t);

/* Calls fn on every entry (any order) with its key and payload. */
void detect_table_foreach(detect_table *t, void (*fn)(void *ctx, const char *key, void *payload), void *ctx);

#endif /* IMAPSCOPE_DETECT_TABLE_H */
