/*
 * tls.h - passive TLS stream layer: record layer, handshake metadata,
 * fingerprints, certificate chain, and decryption from an NSS key log.
 *
 * One tls_conn per TCP connection.  The caller feeds the in-order bytes of
 * each direction from the first TLS byte on (port 993: byte 0; STARTTLS:
 * the byte after the switch, tests/data/SPECS.md 4.4), reports lost bytes with
 * tls_conn_gap(), and gets back through a const callback table:
 *   - plaintext():  decrypted application_data, per direction, in order;
 *   - plaintext_gap(): application data that existed but cannot be given
 *                   (lost or undecryptable record after decryption worked);
 *   - handshake():  one "tls" event body per handshake (renegotiations too);
 *   - anomaly():    named anomalies from TLS_ANOMALY_TABLE.
 *
 * Chunking never changes the result: records are collected whole (copied
 * into a per-direction buffer of max_record bytes, allocated once) before
 * they are parsed or decrypted, so feeding byte by byte gives the same
 * callbacks as feeding whole streams.  Plaintext is delivered one record at
 * a time.
 *
 * Decryption (tls_crypto.h): TLS 1.0-1.2 from CLIENT_RANDOM (AEAD, CBC
 * incl. encrypt_then_mac, RC4, NULL; key switch at each ChangeCipherSpec,
 * so renegotiation inside the encrypted channel works), TLS 1.3 from the
 * *_HANDSHAKE_TRAFFIC_SECRET and *_TRAFFIC_SECRET_0 lines (KeyUpdate
 * followed; middlebox-compat CCS ignored; 0-RTT early data is skipped).
 * A missing key, a failed MAC/tag, an unknown suite: a named anomaly, the
 * direction continues opaque (records counted, nothing decrypted).
 *
 * Threading: a tls_conn is used by one thread; the keylog is shared
 * read-only.
 */
#ifndef IMAPSCOPE_TLS_H
#define IMAPSCOPE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "imap.h" /* imap_dir */
#include "keylog.h"
#include "tls_fingerprint.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(ENUM, "stable_name", "description") - the ONE anomaly table of the TLS
 * layer.  Names appear in JSON: add at the end, never rename. */
#define TLS_ANOMALY_TABLE(X)                                                                      \
    X(NOT_TLS, "tls_not_tls", "direction does not start with a TLS record header; not parsed")   \
    X(BAD_RECORD, "tls_bad_record", "record header with invalid type or version; record sync lost") \
    X(RECORD_TOO_LONG, "tls_record_too_long", "record longer than the cap (LIM_TLS_MAX_RECORD); skipped") \
    X(HANDSHAKE_TOO_LONG, "tls_handshake_too_long",                                              \
      "handshake message longer than the cap (LIM_TLS_MAX_HANDSHAKE); skipped")                  \
    X(BAD_HANDSHAKE, "tls_bad_handshake", "malformed handshake message")                         \
    X(NO_KEY, "tls_no_key", "no key log entry for this handshake; traffic stays opaque")         \
    X(DECRYPT_FAILED, "tls_decrypt_failed",                                                      \
      "record failed authentication (wrong key or corrupt record); direction opaque")            \
    X(UNSUPPORTED_CIPHER, "tls_unsupported_cipher", "negotiated cipher suite cannot be decrypted here") \
    X(GAP, "tls_gap", "bytes missing in the TLS stream")                                          \
    X(RESYNC, "tls_resync", "record boundary found again after lost bytes")                      \
    X(ALERT, "tls_alert", "TLS alert other than close_notify")                                   \
    X(RENEGOTIATION, "tls_renegotiation", "another handshake on an established connection")      \
    X(UNEXPECTED_CCS, "tls_unexpected_ccs", "ChangeCipherSpec before a ServerHello")            \
    X(SSLV2, "tls_sslv2_hello", "SSLv2-format ClientHello; not parsed")                          \
    X(EARLY_DATA, "tls_early_data", "0-RTT early data offered; early data is not decrypted")     \
    X(TRUNCATED, "tls_truncated", "connection ended inside a record or handshake message")       \
    X(HEARTBEAT, "tls_heartbeat", "heartbeat record (RFC 6520)")                                  \
    X(KEYLOG_TRUNCATED, "keylog_truncated", "key log larger than LIM_KEYLOG_BYTES; only its start was read") \
    X(HANDSHAKE_LOST, "tls_handshake_lost", "handshake bytes lost; later handshake messages of this direction ignored") \
    X(UNEXPECTED_PLAINTEXT, "tls_unexpected_plaintext", "application data in clear before encryption started") \
    X(HANDSHAKE_NOT_SEEN, "tls_handshake_not_seen",                                              \
      "application data with no handshake in the capture (it began after the handshake); opaque")   \
    X(MIDSTREAM, "tls_midstream",                                                                \
      "TLS connection seen mid-stream (capture began after the TCP and TLS handshakes): opaque, informational")

typedef enum tls_anomaly {
#define TLS_X_ENUM(e, n, d) TLS_ANOM_##e,
    TLS_ANOMALY_TABLE(TLS_X_ENUM)
#undef TLS_X_ENUM
    TLS_ANOM_COUNT
} tls_anomaly;

/* Stable name / description of an anomaly id; NULL when out of range. */
const char *tls_anomaly_name(int id);
const char *tls_anomaly_desc(int id);
/* Id for a name, or -1. */
int tls_anomaly_from_name(const char *name);

typedef struct tls_config {
    const keylog *keylog;          /* NULL: no decryption (and no tls_no_key) */
    size_t max_record;             /* 0: LIM_TLS_MAX_RECORD */
    size_t max_handshake;          /* 0: LIM_TLS_MAX_HANDSHAKE */
    bool no_certificates;          /* skip the X.509 chain summary */
    tls_ja4_alpn_rule ja4_alpn;    /* default TLS_JA4_ALPN_SPEC */
} tls_config;

/* Fills cfg with the defaults (no key log). */
void tls_config_default(tls_config *cfg);

typedef struct tls_callbacks {
    /* Decrypted application_data of direction dir (0 client->server, 1
     * server->client), in order, one record per call.  data is valid
     * during the call only.  May be NULL. */
    void (*plaintext)(void *user, imap_dir dir, const uint8_t *data, size_t len, uint64_t ts_us);
    /* An application_data record of dir could not be delivered after
     * earlier ones were (lost bytes, failed authentication): at most len
     * plaintext bytes are missing here.  May be NULL. */
    void (*plaintext_gap)(void *user, imap_dir dir, uint64_t len, uint64_t ts_us);
    /* Once per handshake (also renegotiation), when the ServerHello and
     * the server certificate (if visible) are known, or at the end of the
     * connection for an incomplete handshake.  tls_event is a new
     * reference the callee owns (the body of a "tls" event; fields in
     * docs/tls.md).  May be NULL (the event is then freed). */
    void (*handshake)(void *user, json_t *tls_event, uint64_t ts_us);
    /* A named anomaly of dir (-1: the connection).  description is the
     * table text; detail a short free text or NULL.  Strings are valid
     * during the call only.  May be NULL. */
    void (*anomaly)(void *user, int dir, const char *name, const char *description,
                    const char *detail, uint64_t ts_us);
} tls_callbacks;

typedef struct tls_conn tls_conn;

/* New connection state.  cfg and cb are copied (cfg->keylog is borrowed:
 * it must outlive the tls_conn).  Returns NULL on allocation failure. */
tls_conn *tls_conn_new(const tls_config *cfg, const tls_callbacks *cb, void *user);

/* The capture began after the TCP handshake: application data with no TLS
 * handshake before it is expected, reported once as tls_midstream
 * (informational) instead of tls_handshake_not_seen.  Call before the first
 * feed. */
void tls_conn_set_midstream(tls_conn *t);

/* After a STARTTLS switch (not implicit TLS): cleartext may stand before
 * the first record of dir (injected or pipelined bytes; the dissector
 * reports them, imap_session_check_tls_start).  Bytes are skipped, without
 * an anomaly of this layer, up to the first handshake record header,
 * however the stream is split; tls_conn_skipped() counts them.  Call
 * before the first feed of dir. */
void tls_conn_await_record(tls_conn *t, imap_dir dir);
uint64_t tls_conn_skipped(const tls_conn *t, imap_dir dir);

/* In-order bytes of direction dir (0/1).  Any split is allowed. */
void tls_conn_feed(tls_conn *t, imap_dir dir, const uint8_t *data, size_t len, uint64_t ts_us);

/* len bytes of dir are missing at the current position (anomaly tls_gap).
 * Inside a record whose remaining length covers the gap, that record is
 * lost but sync is kept (AEAD/CBC decryption continues with the next
 * sequence number).  Otherwise the layer scans for a plausible record
 * header (tls_resync) and tries the next 256 sequence numbers to resume
 * decryption (not possible for RC4 or TLS 1.0 CBC). */
void tls_conn_gap(tls_conn *t, imap_dir dir, uint64_t len, uint64_t ts_us);

/* End of the connection: reports tls_truncated for a partial record or
 * handshake message and emits a pending handshake event. */
void tls_conn_end(tls_conn *t, uint64_t ts_us);

/* New JSON object for the connection summary (fields in docs/tls.md):
 * version, sni, alpn, decrypted, ja3, ja4, alerts, anomaly counts; with
 * detail also cipher_suite, handshakes, resumed, ja3s and per direction
 * records / bytes / decrypted bytes / undecrypted records / state (the
 * session event takes the short form: the handshake's details are the tls
 * event's; tests/tools/tlsstreams the detailed one). */
json_t *tls_conn_summary(const tls_conn *t, bool detail);

/* True when decryption worked in direction dir (some record decrypted and
 * no later failure). */
bool tls_conn_decrypting(const tls_conn *t, imap_dir dir);

/* "Is this TLS": p starts with a plausible record header: type 0x14-0x18,
 * version 0x0300-0x0304, length 1..2^14+2048.  With fewer than 5 bytes,
 * checks what is there.  An SSLv2-format ClientHello (RFC 6101 E.1) is
 * also accepted. */
bool tls_looks_like_record(const uint8_t *p, size_t len);

void tls_conn_free(tls_conn *t);

/* Names for JSON (static strings, "unknown" when out of table):
 * 0x0303 -> "TLSv1.2"; alert description 40 -> "handshake_failure";
 * handshake type 1 -> "client_hello". */
const char *tls_version_name(uint16_t v);
const char *tls_alert_name(uint8_t desc);
const char *tls_handshake_type_name(uint8_t type);

#ifdef __cplusplus
}
#endif

#endif /* IMAPSCOPE_TLS_H */
