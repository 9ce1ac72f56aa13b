/*
 * keylog.h - NSS key log reader (SSLKEYLOGFILE), tests/data/SPECS.md 4.1.
 *
 * One secret per line: `LABEL <client_random hex64> <secret hex>`, fields
 * separated by spaces or tabs; `#` lines and empty lines are comments; hex
 * in either case; CRLF accepted.  Lines with an unknown label, a bad hex
 * field or a secret longer than KEYLOG_MAX_SECRET are skipped and counted.
 * The "RSA" form (encrypted pre-master prefix) is not keyed by the client
 * random and is skipped (counted as unknown).
 *
 * A loaded key log is read-only and may be shared by every connection and
 * thread.  Lookup is by (label, ClientHello.random), binary search.  When
 * the same (label, random) appears twice, the FIRST line wins.
 */
#ifndef IMAPSCOPE_KEYLOG_H
#define IMAPSCOPE_KEYLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "limits.h" /* defaults and caps of this module */

#ifdef __cplusplus
extern "C" {
#endif


/* X(ENUM, "LABEL") */
#define KEYLOG_LABELS(X)                                                 \
    X(CLIENT_RANDOM, "CLIENT_RANDOM")                                    \
    X(CLIENT_EARLY_TRAFFIC_SECRET, "CLIENT_EARLY_TRAFFIC_SECRET")        \
    X(CLIENT_HANDSHAKE_TRAFFIC_SECRET, "CLIENT_HANDSHAKE_TRAFFIC_SECRET") \
    X(SERVER_HANDSHAKE_TRAFFIC_SECRET, "SERVER_HANDSHAKE_TRAFFIC_SECRET") \
    X(CLIENT_TRAFFIC_SECRET_0, "CLIENT_TRAFFIC_SECRET_0")                \
    X(SERVER_TRAFFIC_SECRET_0, "SERVER_TRAFFIC_SECRET_0")                \
    X(EXPORTER_SECRET, "EXPORTER_SECRET")                                \
    X(EARLY_EXPORTER_SECRET, "EARLY_EXPORTER_SECRET")

typedef enum keylog_label {
#define KEYLOG_X_ENUM(e, s) KEYLOG_##e,
    KEYLOG_LABELS(KEYLOG_X_ENUM)
#undef KEYLOG_X_ENUM
    KEYLOG_LABEL_COUNT
} keylog_label;

typedef struct keylog_entry {
    uint8_t random[32];
    uint8_t label;              /* keylog_label */
    uint8_t len;                /* secret bytes */
    uint8_t secret[KEYLOG_MAX_SECRET];
    uint32_t line;              /* 1-based line number, for messages */
} keylog_entry;

typedef struct keylog {
    keylog_entry *e;            /* sorted by (random, label, line) */
    size_t n;
    size_t lines;               /* lines read */
    size_t skipped_bad;         /* malformed lines */
    size_t skipped_unknown;     /* unknown label / RSA form */
    bool truncated;             /* the file exceeded max_bytes: only its
                                   first max_bytes (whole lines) were read */
    size_t max_bytes;           /* keylog_load's cap (0: keylog_parse, none) */
    size_t bytes;               /* bytes parsed */
} keylog;

/* Parses a key log held in memory (buf need not be NUL-terminated).
 * Returns a new keylog (free with keylog_free) or NULL on allocation
 * failure (message in errbuf).  Malformed lines never fail the parse. */
keylog *keylog_parse(const char *buf, size_t len, char *errbuf, size_t errlen);

/* Reads the file at path.  If it is larger than max_bytes (0 = the
 * LIM_KEYLOG_BYTES default), only the first max_bytes are parsed,
 * kl->truncated is set and errbuf gets a warning (the caller reports the
 * anomaly keylog_truncated).  Returns NULL with a message in errbuf when
 * the file cannot be read. */
keylog *keylog_load(const char *path, size_t max_bytes, char *errbuf, size_t errlen);

void keylog_free(keylog *kl);

/* Secret for (label, client_random), or NULL.  *len gets its length.
 * The pointer is valid for the keylog's life. */
const uint8_t *keylog_lookup(const keylog *kl, keylog_label label, const uint8_t random[32],
                             size_t *len);

/* True when kl has any entry for this client random. */
bool keylog_has_random(const keylog *kl, const uint8_t random[32]);

/* "CLIENT_RANDOM", ... or NULL. */
const char *keylog_label_name(int label);

#ifdef __cplusplus
}
#endif

#endif /* IMAPSCOPE_KEYLOG_H */
