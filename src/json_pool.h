/*
 * json_pool.h - a size-class allocator for jansson's small blocks.
 *
 * Every decoded response and transaction is a tree of jansson objects,
 * built and freed again after it is written: millions of small malloc/free
 * pairs per run, more than glibc's per-thread cache holds (measured: 30% of
 * the CPU time of `-T json` in malloc and free; see docs/performance.md).
 * json_pool_install() gives jansson (json_set_alloc_funcs) an allocator
 * that keeps freed blocks on per-thread free lists by size class (16-byte
 * steps up to 512 bytes; larger blocks go to malloc) and carves new ones
 * from 64 KiB slabs.
 *
 * Memory: the slabs are never returned before json_pool_shutdown(), so the
 * pool holds the most jansson memory that was live at once, which the
 * caps (flows, pending commands, responses per transaction, the shared
 * dissector budget) bound.  Blocks freed on another thread than the one
 * that allocated them go to the freeing thread's lists.
 *
 * Not installed in sanitizer builds (ASan must see each block) nor when
 * the environment has IMAPSCOPE_JSON_POOL=0 (valgrind runs).
 */
#ifndef IMAPSCOPE_JSON_POOL_H
#define IMAPSCOPE_JSON_POOL_H

#include <stdbool.h>
#include <stddef.h>

/* Installs the pool as jansson's allocator, and the dissector's
 * (imap_set_alloc_funcs: its value trees are as many small blocks).  Call once, before any jansson
 * value exists and before threads start.  Returns true when installed. */
bool json_pool_install(void);

/* Frees every slab.  Call at the very end, when no jansson value is left
 * and no other thread runs. */
void json_pool_shutdown(void);

/* Bytes of slabs taken from malloc so far (tests/unit/test_json_pool.c
 * checks reuse with it). */
size_t json_pool_slab_bytes(void);

#endif /* IMAPSCOPE_JSON_POOL_H */
