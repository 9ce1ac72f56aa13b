/*
 * tls_crypto.h - TLS cipher-suite table, key derivation and record
 * decryption (OpenSSL 3 EVP), for the passive TLS layer (tls.h).
 *
 * Key derivation follows tests/data/SPECS.md section 4:
 *   TLS 1.2: key_block = PRF(master, "key expansion", server_random ||
 *            client_random), P_SHA256 or P_SHA384 (RFC 5246 5, 6.3);
 *            TLS 1.0/1.1: the MD5/SHA-1 split PRF (RFC 2246 5).
 *   TLS 1.3: HKDF-Expand-Label(secret, "key"/"iv", "", len) (RFC 8446 7.1,
 *            7.3), KeyUpdate with "traffic upd" (RFC 8446 7.2).
 * Record protection: AEAD (GCM, CCM, CCM_8, ChaCha20-Poly1305; RFC 5288,
 * RFC 6655, RFC 7905, RFC 8446 5.2), CBC with HMAC (MAC-then-encrypt,
 * RFC 5246 6.2.3.2, or encrypt-then-MAC, RFC 7366), stream (RC4) and NULL.
 * Ciphers that OpenSSL 3 keeps in its legacy provider (RC4, DES, IDEA, SEED,
 * RC2) are fetched after loading that provider once (tls_crypto_init).
 *
 * Not thread-safe per tls_rstate; the global provider set-up is done once.
 */
#ifndef IMAPSCOPE_TLS_CRYPTO_H
#define IMAPSCOPE_TLS_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How a suite protects records. */
typedef enum tls_cipher_kind {
    TLS_CK_NONE = 0,   /* name only: not decryptable here (export, SCSV, ...) */
    TLS_CK_NULL,       /* MAC only */
    TLS_CK_STREAM,     /* RC4 */
    TLS_CK_CBC,        /* block cipher in CBC mode + HMAC */
    TLS_CK_GCM,        /* AES/ARIA-GCM, 4-byte fixed IV + 8-byte explicit nonce */
    TLS_CK_CCM,        /* AES-CCM(_8), layout as GCM */
    TLS_CK_CHACHA,     /* ChaCha20-Poly1305, 12-byte IV XOR seq */
    TLS_CK_TLS13       /* TLS 1.3 suite: AEAD named by .evp, key schedule by .prf */
} tls_cipher_kind;

/* One TLS cipher suite (IANA registry "TLS Cipher Suites"). */
typedef struct tls_suite {
    uint16_t id;
    const char *name;     /* IANA name */
    uint8_t kind;         /* tls_cipher_kind */
    const char *evp;      /* OpenSSL cipher name for EVP_CIPHER_fetch, or NULL */
    uint8_t key_len;      /* enc key bytes */
    uint8_t iv_len;       /* fixed IV bytes from the key block (TLS 1.2) */
    uint8_t block;        /* CBC block size / explicit IV bytes, 0 otherwise */
    uint8_t tag_len;      /* AEAD tag bytes */
    const char *mac;      /* HMAC digest for CBC/stream/NULL ("SHA1", ...) */
    const char *prf;      /* PRF / HKDF digest: "SHA256" or "SHA384" */
} tls_suite;

/* Suite by id, or NULL when not in our table.  Static storage. */
const tls_suite *tls_suite_find(uint16_t id);
/* IANA name, or NULL when unknown. */
const char *tls_suite_name(uint16_t id);
/* Number of suites in the table / the i-th one (for tests). */
size_t tls_suite_count(void);
const tls_suite *tls_suite_at(size_t i);
/* True when the suite can be decrypted with this OpenSSL (cipher and
 * digests fetchable).  Loads the legacy provider when needed. */
bool tls_suite_supported(const tls_suite *s);

/* Loads the OpenSSL providers (default + legacy if present) once.
 * Safe to call many times and from several threads. */
void tls_crypto_init(void);

/* TLS 1.2 PRF (RFC 5246 5) with digest md ("SHA256"/"SHA384"), or the
 * TLS 1.0/1.1 MD5+SHA-1 PRF when md is NULL.  seed = seed1 || seed2.
 * Returns 0, -1 on failure (out undefined).  secret_len <= 128,
 * label_len + seed lengths <= 256. */
int tls_prf(const char *md, const uint8_t *secret, size_t secret_len, const char *label,
            const uint8_t *seed1, size_t seed1_len, const uint8_t *seed2, size_t seed2_len,
            uint8_t *out, size_t out_len);

/* RFC 8446 7.1 HKDF-Expand-Label(secret, label, context, out_len) with
 * digest md.  label without the "tls13 " prefix.  Returns 0 or -1. */
int tls13_hkdf_expand_label(const char *md, const uint8_t *secret, size_t secret_len,
                            const char *label, const uint8_t *ctx, size_t ctx_len,
                            uint8_t *out, size_t out_len);

/* Digest length of "SHA256"/"SHA384"/... (0 when unknown). */
size_t tls_md_len(const char *md);

#define TLS_MAX_KEY 32
#define TLS_MAX_IV 16
#define TLS_MAX_MAC 48
#define TLS_MAX_SECRET 64

/* Read (decrypt) state of one direction for one set of keys. */
typedef struct tls_rstate {
    const tls_suite *suite;
    void *ctx;                 /* EVP_CIPHER_CTX */
    void *cipher;              /* EVP_CIPHER (fetched) */
    void *mac_ctx;             /* EVP_MAC_CTX (HMAC), CBC/stream/NULL only */
    uint16_t version;          /* negotiated version (0x0301..0x0304) */
    bool tls13;
    bool etm;                  /* encrypt_then_mac (RFC 7366) */
    bool stream_started;       /* RC4: ctx keyed */
    uint8_t key[TLS_MAX_KEY];
    uint8_t iv[TLS_MAX_IV];
    uint8_t mac_key[TLS_MAX_MAC];
    uint8_t mac_len;
    uint64_t seq;              /* next record sequence number */
    uint8_t secret[TLS_MAX_SECRET];   /* TLS 1.3 traffic secret (KeyUpdate) */
    uint8_t secret_len;
} tls_rstate;

/* Key material of one TLS 1.2 connection, both directions. */
typedef struct tls12_keys {
    uint8_t mac[2][TLS_MAX_MAC];
    uint8_t key[2][TLS_MAX_KEY];
    uint8_t iv[2][TLS_MAX_IV];
} tls12_keys;

/* Derives the TLS 1.0-1.2 key block for suite s and cuts it (index 0 =
 * client write, 1 = server write).  Returns 0 or -1. */
int tls12_derive_keys(const tls_suite *s, uint16_t version, const uint8_t master[48],
                      const uint8_t client_random[32], const uint8_t server_random[32],
                      tls12_keys *out);

/* Sets up r for TLS <= 1.2 with the keys of one direction. Returns 0, -1
 * (cipher not available). r must be zeroed or freed before. */
int tls_rstate_init12(tls_rstate *r, const tls_suite *s, uint16_t version, bool etm,
                      const uint8_t *mac_key, const uint8_t *key, const uint8_t *iv);
/* Sets up r for TLS 1.3 from a traffic secret (hash length of the suite). */
int tls_rstate_init13(tls_rstate *r, const tls_suite *s, const uint8_t *secret, size_t secret_len);
/* TLS 1.3 KeyUpdate: next secret, new key/iv, seq 0 (RFC 8446 7.2). */
int tls_rstate_key_update(tls_rstate *r);
/* Frees the EVP objects; r is zeroed. */
void tls_rstate_free(tls_rstate *r);

/* Decrypts one record fragment (TLSCiphertext.fragment of len bytes, with
 * the record header hdr[5] as received).  Writes the plaintext content to
 * out (capacity >= len) and its length to *out_len, the content type to
 * *type (TLS 1.3: the inner type).  Advances seq on success AND on failure
 * (a record was consumed either way).
 * Returns 0 ok, -1 authentication/MAC/padding failure, -2 malformed
 * (too short for IV/tag/MAC), -3 internal (EVP) error. */
int tls_rstate_decrypt(tls_rstate *r, const uint8_t hdr[5], const uint8_t *frag, size_t len,
                       uint8_t *out, size_t *out_len, uint8_t *type);

#ifdef __cplusplus
}
#endif

#endif /* IMAPSCOPE_TLS_CRYPTO_H */
