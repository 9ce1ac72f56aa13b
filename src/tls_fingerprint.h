/*
 * tls_fingerprint.h - ClientHello / ServerHello parsing and the JA3, JA3S
 * and JA4 fingerprints (tests/data/SPECS.md sections 2 and 3).
 *
 * JA4S and the other JA4+ methods are deliberately NOT implemented: they
 * are under the FoxIO License 1.1 (non-commercial), see DESIGN.md.
 *
 * The parsers take the BODY of a handshake message (after the 4-byte
 * msg_type/length header), bounds-check every field, and keep at most the
 * TLS_HELLO_MAX_* entries of each list (more is reported through
 * ->lists_truncated; the fingerprints are then computed over what was kept).
 */
#ifndef IMAPSCOPE_TLS_FINGERPRINT_H
#define IMAPSCOPE_TLS_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "limits.h" /* defaults and caps of this module */

#ifdef __cplusplus
extern "C" {
#endif


/* RFC 8701: 0x?A?A with both bytes equal. */
bool tls_is_grease(uint16_t v);

typedef struct tls_client_hello {
    uint16_t legacy_version;
    uint8_t random[32];
    uint8_t session_id_len;
    uint8_t session_id[32];
    uint16_t ciphers[TLS_HELLO_MAX_CIPHERS];
    size_t n_ciphers;
    uint16_t exts[TLS_HELLO_MAX_EXTS];          /* wire order */
    size_t n_exts;
    uint16_t groups[TLS_HELLO_MAX_LIST];        /* supported_groups (10) */
    size_t n_groups;
    uint8_t point_formats[TLS_HELLO_MAX_LIST];  /* ec_point_formats (11) */
    size_t n_point_formats;
    uint16_t sigalgs[TLS_HELLO_MAX_LIST];       /* signature_algorithms (13) */
    size_t n_sigalgs;
    uint16_t versions[TLS_HELLO_MAX_LIST];      /* supported_versions (43) */
    size_t n_versions;
    uint16_t key_shares[TLS_HELLO_MAX_LIST];    /* key_share (51) groups */
    size_t n_key_shares;
    char sni[TLS_HELLO_MAX_SNI + 1];            /* first host_name, raw bytes, NUL-ended */
    size_t sni_len;
    uint8_t alpn[TLS_HELLO_MAX_ALPN];           /* raw ProtocolNameList (without its u16 length) */
    size_t alpn_len;
    bool has_sni, has_alpn, has_versions, has_sigalgs;
    bool has_session_ticket;     /* ext 35 present */
    bool session_ticket_nonempty;/* ext 35 carries a ticket (resumption attempt) */
    bool has_psk;                /* pre_shared_key (41) */
    bool has_early_data;         /* early_data (42) */
    bool has_etm, has_ems, has_reneg_info;
    bool lists_truncated;
} tls_client_hello;

typedef struct tls_server_hello {
    uint16_t legacy_version;
    uint8_t random[32];
    uint8_t session_id_len;
    uint8_t session_id[32];
    uint16_t cipher;
    uint8_t compression;
    uint16_t exts[TLS_HELLO_MAX_EXTS];
    size_t n_exts;
    uint16_t selected_version;   /* supported_versions (43), 0 if absent */
    uint16_t key_share_group;    /* 0 if absent */
    char alpn[256];              /* selected protocol, raw bytes, NUL-ended */
    size_t alpn_len;
    bool has_alpn, has_etm, has_ems, has_session_ticket, has_psk, has_reneg_info;
    bool hrr;                    /* HelloRetryRequest (RFC 8446 4.1.3 magic random) */
    bool lists_truncated;
} tls_server_hello;

/* Parse results. */
#define TLS_HELLO_OK 0
#define TLS_HELLO_MALFORMED -1
#define TLS_HELLO_SSLV2 -2       /* not used by the parsers here (record layer) */

/* Parses a ClientHello body (RFC 8446 4.1.2 / RFC 5246 7.4.1.2).  Returns
 * TLS_HELLO_OK or TLS_HELLO_MALFORMED (h is then partially filled). */
int tls_client_hello_parse(const uint8_t *body, size_t len, tls_client_hello *h);
/* Parses a ServerHello body (RFC 8446 4.1.3). */
int tls_server_hello_parse(const uint8_t *body, size_t len, tls_server_hello *h);

/* The negotiated version: selected_version if present, else legacy. */
uint16_t tls_server_hello_version(const tls_server_hello *h);


/* JA3: str gets the comma string (truncated to cap with a NUL), md5 the 32
 * lower-case hex digits + NUL. */
void tls_ja3(const tls_client_hello *h, char *str, size_t cap, char md5[33]);
/* JA3S over a ServerHello. */
void tls_ja3s(const tls_server_hello *h, char *str, size_t cap, char md5[33]);

/* JA4 ALPN rule for a first/last byte that is not ASCII alphanumeric. */
typedef enum tls_ja4_alpn_rule {
    TLS_JA4_ALPN_SPEC = 0,   /* JA4.md (2024-09+): first+last hex digit of the
                                whole first name, e.g. 0xBA 0xAD -> "bd".
                                Our choice; see docs/tls.md. */
    TLS_JA4_ALPN_UPSTREAM    /* upstream python/rust: a byte > 0x7F gives '9'
                                (FoxIO-LLC/ja4#326) */
} tls_ja4_alpn_rule;

/* JA4 (a_b_c) into ja4 (TLS_JA4_MAX) and, if ja4_r is not NULL, JA4_r
 * into ja4_r (cap bytes, truncated with NUL).  Transport is always 't'. */
void tls_ja4(const tls_client_hello *h, tls_ja4_alpn_rule rule, char ja4[TLS_JA4_MAX], char *ja4_r,
             size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* IMAPSCOPE_TLS_FINGERPRINT_H */
