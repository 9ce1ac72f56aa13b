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

/* Session core (imap_session.c, imap_framing.c, imap_client.c, imap_server.c,
 * imap_txn.c, imap_state.c, imap_trace.c) */
#define CORE_MAX_LITS        64    /* literal records per logical line */
#define CORE_TAG_MAX         64    /* bytes of a tag kept (longer tags compare on this prefix) */
#define CORE_CMD_MAX         40    /* bytes of a command name ("UID FETCH") */
#define CORE_SECTION_MAX     256   /* bytes of a FETCH section given to the literal sink (longer: cut) */
#define CORE_MAILBOX_MAX     512   /* bytes of an APPEND mailbox given to the literal sink (longer: cut) */
#define CORE_MAX_CAPS        256   /* capability names remembered */
#define CORE_CAP_NAME_MAX    127   /* bytes of one capability name kept */
#define CORE_MAX_MAILBOXES   256   /* mailboxes listed in the summary */
#define CORE_MAX_AUTH        64    /* authentication attempts listed in the summary */
#define CORE_LINE_TEXT_MAX   1000  /* bytes of trace text per line */
#define CORE_DETAIL_MAX      300   /* bytes of an anomaly detail */
#define CORE_INJECT_MAX      200   /* bytes of injected data shown */
#define CORE_REDACT_LOOK     4096  /* bytes of injected client data scanned for secrets */
#define CORE_UNKNOWN_CMD_KEYS 16   /* distinct unknown command names counted by name */
#define CORE_LITERAL_SHOW    64    /* a literal this short and printable is shown in the trace */
#define CORE_DEFER_MAX       16    /* anomalies of one line held until its LINE event */
#define CORE_PENDING_COST    1024  /* budget charge of a pending command besides its text (objects) */
#define CORE_BUF_FIRST       1024  /* line buffer allocated per direction (grown on demand) */
#define CORE_PEND_FIRST      4     /* pending slots allocated at the first command (grown on demand) */
#define CORE_BUF_SHRINK      4096  /* a line buffer grown past this is shrunk back after its line */

#endif /* IMAP_LIMITS_H */
