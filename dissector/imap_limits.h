/*
 * imap_limits.h - every default and cap of the dissector library, in one
 * place (the library cannot include the program's src/limits.h; the
 * program's command-line defaults, LIM_IMAP_*, are there and are given to
 * the library through imap_config).
 *
 * Internal: not installed, not part of the API of imap.h.  IMAP_ANNOT_MAX
 * stays in imap.h because it sizes a public array.
 */
#ifndef IMAP_LIMITS_H
#define IMAP_LIMITS_H

#include <stddef.h>
#include <stdint.h>

/* imap_config_default() (imap_session.c): the library's defaults when the
 * caller gives no imap_config.  test_session checks they are the values
 * imap_config_default writes. */
#define IMAPI_DEFAULT_MAX_LINE       65536u                 /* text of one logical line */
#define IMAPI_DEFAULT_MAX_LITERAL    ((uint64_t)256 << 20)  /* literal announced larger: anomaly */
#define IMAPI_DEFAULT_LITERAL_KEEP   1024u                  /* literal bytes kept for decoding */
#define IMAPI_DEFAULT_MAX_PENDING    128u                   /* commands awaiting a tagged response */
#define IMAPI_DEFAULT_MAX_RESPONSES  1000u                  /* decoded untagged responses per transaction */
#define IMAPI_DEFAULT_MAX_TXN_BYTES  ((size_t)1 << 20)      /* decoded data held per transaction */

/* Decoders (imap_dec_util.c, imap_value.c, imap_sasl.c) */
#define IMAP_DEC_MAX_DEPTH     64      /* nesting of decoded values */
#define IMAP_MAX_DEPTH         64      /* nested lists and sections per line (imap_value.c) */
#define SEQSET_MAX_RANGES      64      /* ranges of a sequence set decoded */
#define IMAP_SASL_MAX_DECODED  8192    /* bytes of one decoded SASL step looked at */

/* Value arena (imap_value.c) */
#define ARENA_BLOCK_MIN        8192u   /* first block size */
#define ARENA_KEEP_MAX         65536u  /* reset may grow the first block up to this */

/* Response cache (imap_cache.c) */
#define IMAP_CACHE_SLOTS       8       /* greeting, after STARTTLS, after login, ... of a few servers */
#define IMAP_CACHE_KEY_MAX     4096    /* a longer key is not cached */

/* Session core (imap_session.c, being split; not yet moved here):
 * CORE_MAX_LITS 64, CORE_TAG_MAX 64, CORE_CMD_MAX 40, CORE_MAX_CAPS 256,
 * CORE_CAP_NAME_MAX 127, CORE_MAX_MAILBOXES 256, CORE_MAX_AUTH 64,
 * CORE_LINE_TEXT_MAX 1000, CORE_DETAIL_MAX 300, CORE_INJECT_MAX 200,
 * CORE_DEFER_MAX 16. */

#endif /* IMAP_LIMITS_H */
