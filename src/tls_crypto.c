/*
 * tls_crypto.c - cipher-suite table, TLS PRF / HKDF-Expand-Label, record
 * decryption with OpenSSL 3 EVP.  Contracts in tls_crypto.h.
 */
#include "tls_crypto.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/provider.h>

/* ---- suite table --------------------------------------------------------
 * S(id, name, kind, evp, key, iv, block, tag, mac, prf)
 * TLS 1.2 suites use P_SHA256 unless the name ends in _SHA384 (RFC 5246 5,
 * RFC 5288 3, RFC 5289 3.2).  Export suites are listed by name only. */
#define C_SHA "SHA1"
#define C_256 "SHA256"
#define C_384 "SHA384"
#define CBC(id, nm, evp, k, b, mac, prf) {id, nm, TLS_CK_CBC, evp, k, b, b, 0, mac, prf}
#define GCM(id, nm, evp, k, prf) {id, nm, TLS_CK_GCM, evp, k, 4, 0, 16, NULL, prf}
#define CCM(id, nm, k, tag) {id, nm, TLS_CK_CCM, (k) == 16 ? "AES-128-CCM" : "AES-256-CCM", k, 4, 0, tag, NULL, C_256}
#define CHA(id, nm) {id, nm, TLS_CK_CHACHA, "ChaCha20-Poly1305", 32, 12, 0, 16, NULL, C_256}
#define RC4(id, nm, mac) {id, nm, TLS_CK_STREAM, "RC4", 16, 0, 0, 0, mac, C_256}
#define NUL(id, nm, mac) {id, nm, TLS_CK_NULL, NULL, 0, 0, 0, 0, mac, C_256}
#define T13(id, nm, evp, k, prf) {id, nm, TLS_CK_TLS13, evp, k, 12, 0, 16, NULL, prf}
#define NAME(id, nm) {id, nm, TLS_CK_NONE, NULL, 0, 0, 0, 0, NULL, NULL}

static const tls_suite suites[] = {
    NUL(0x0001, "TLS_RSA_WITH_NULL_MD5", "MD5"),
    NUL(0x0002, "TLS_RSA_WITH_NULL_SHA", C_SHA),
    NAME(0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"),
    RC4(0x0004, "TLS_RSA_WITH_RC4_128_MD5", "MD5"),
    RC4(0x0005, "TLS_RSA_WITH_RC4_128_SHA", C_SHA),
    NAME(0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5"),
    CBC(0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA", "IDEA-CBC", 16, 8, C_SHA, C_256),
    NAME(0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"),
    CBC(0x0009, "TLS_RSA_WITH_DES_CBC_SHA", "DES-CBC", 8, 8, C_SHA, C_256),
    CBC(0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-EDE3-CBC", 24, 8, C_SHA, C_256),
    CBC(0x000d, "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA", "DES-EDE3-CBC", 24, 8, C_SHA, C_256),
    CBC(0x0010, "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA", "DES-EDE3-CBC", 24, 8, C_SHA, C_256),
    NAME(0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA"),
    CBC(0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA", "DES-CBC", 8, 8, C_SHA, C_256),
    CBC(0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA", "DES-EDE3-CBC", 24, 8, C_SHA, C_256),
    NAME(0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA"),
    CBC(0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA", "DES-CBC", 8, 8, C_SHA, C_256),
    CBC(0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", "DES-EDE3-CBC", 24, 8, C_SHA, C_256),
    CBC(0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", "AES-128-CBC", 16, 16, C_SHA, C_256),
    CBC(0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA", "AES-128-CBC", 16, 16, C_SHA, C_256),
    CBC(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", "AES-128-CBC", 16, 16, C_SHA, C_256),
    CBC(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", "AES-256-CBC", 32, 16, C_SHA, C_256),
    CBC(0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA", "AES-256-CBC", 32, 16, C_SHA, C_256),
    CBC(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "AES-256-CBC", 32, 16, C_SHA, C_256),
    NUL(0x003b, "TLS_RSA_WITH_NULL_SHA256", C_256),
    CBC(0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256", "AES-128-CBC", 16, 16, C_256, C_256),
    CBC(0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256", "AES-256-CBC", 32, 16, C_256, C_256),
    CBC(0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256", "AES-128-CBC", 16, 16, C_256, C_256),
    CBC(0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA", "CAMELLIA-128-CBC", 16, 16, C_SHA, C_256),
    CBC(0x0044, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA", "CAMELLIA-128-CBC", 16, 16, C_SHA, C_256),
    CBC(0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA", "CAMELLIA-128-CBC", 16, 16, C_SHA, C_256),
    CBC(0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", "AES-128-CBC", 16, 16, C_256, C_256),
    CBC(0x006a, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256", "AES-256-CBC", 32, 16, C_256, C_256),
    CBC(0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", "AES-256-CBC", 32, 16, C_256, C_256),
    CBC(0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA", "CAMELLIA-256-CBC", 32, 16, C_SHA, C_256),
    CBC(0x0087, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA", "CAMELLIA-256-CBC", 32, 16, C_SHA, C_256),
    CBC(0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA", "CAMELLIA-256-CBC", 32, 16, C_SHA, C_256),
    CBC(0x0096, "TLS_RSA_WITH_SEED_CBC_SHA", "SEED-CBC", 16, 16, C_SHA, C_256),
    CBC(0x0099, "TLS_DHE_DSS_WITH_SEED_CBC_SHA", "SEED-CBC", 16, 16, C_SHA, C_256),
    CBC(0x009a, "TLS_DHE_RSA_WITH_SEED_CBC_SHA", "SEED-CBC", 16, 16, C_SHA, C_256),
    GCM(0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256", "AES-128-GCM", 16, C_256),
    GCM(0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384", "AES-256-GCM", 32, C_384),
    GCM(0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "AES-128-GCM", 16, C_256),
    GCM(0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "AES-256-GCM", 32, C_384),
    GCM(0x00a2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256", "AES-128-GCM", 16, C_256),
    GCM(0x00a3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384", "AES-256-GCM", 32, C_384),
    CBC(0x00ba, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256", "CAMELLIA-128-CBC", 16, 16, C_256, C_256),
    CBC(0x00be, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256", "CAMELLIA-128-CBC", 16, 16, C_256, C_256),
    CBC(0x00c0, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256", "CAMELLIA-256-CBC", 32, 16, C_256, C_256),
    CBC(0x00c4, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256", "CAMELLIA-256-CBC", 32, 16, C_256, C_256),
    NAME(0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"),
    T13(0x1301, "TLS_AES_128_GCM_SHA256", "AES-128-GCM", 16, C_256),
    T13(0x1302, "TLS_AES_256_GCM_SHA384", "AES-256-GCM", 32, C_384),
    T13(0x1303, "TLS_CHACHA20_POLY1305_SHA256", "ChaCha20-Poly1305", 32, C_256),
    T13(0x1304, "TLS_AES_128_CCM_SHA256", "AES-128-CCM", 16, C_256),
    {0x1305, "TLS_AES_128_CCM_8_SHA256", TLS_CK_TLS13, "AES-128-CCM", 16, 12, 0, 8, NULL, C_256},
    NAME(0x5600, "TLS_FALLBACK_SCSV"),
    RC4(0xc002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA", C_SHA),
    CBC(0xc003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA", "DES-EDE3-CBC", 24, 8, C_SHA, C_256),
    CBC(0xc004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA", "AES-128-CBC", 16, 16, C_SHA, C_256),
    CBC(0xc005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA", "AES-256-CBC", 32, 16, C_SHA, C_256),
    RC4(0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", C_SHA),
    CBC(0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", "DES-EDE3-CBC", 24, 8, C_SHA, C_256),
    CBC(0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "AES-128-CBC", 16, 16, C_SHA, C_256),
    CBC(0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "AES-256-CBC", 32, 16, C_SHA, C_256),
    RC4(0xc00c, "TLS_ECDH_RSA_WITH_RC4_128_SHA", C_SHA),
    CBC(0xc00d, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA", "DES-EDE3-CBC", 24, 8, C_SHA, C_256),
    CBC(0xc00e, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA", "AES-128-CBC", 16, 16, C_SHA, C_256),
    CBC(0xc00f, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA", "AES-256-CBC", 32, 16, C_SHA, C_256),
    RC4(0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", C_SHA),
    CBC(0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "DES-EDE3-CBC", 24, 8, C_SHA, C_256),
    CBC(0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "AES-128-CBC", 16, 16, C_SHA, C_256),
    CBC(0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "AES-256-CBC", 32, 16, C_SHA, C_256),
    CBC(0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "AES-128-CBC", 16, 16, C_256, C_256),
    CBC(0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "AES-256-CBC", 32, 16, C_384, C_384),
    CBC(0xc025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256", "AES-128-CBC", 16, 16, C_256, C_256),
    CBC(0xc026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384", "AES-256-CBC", 32, 16, C_384, C_384),
    CBC(0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "AES-128-CBC", 16, 16, C_256, C_256),
    CBC(0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "AES-256-CBC", 32, 16, C_384, C_384),
    CBC(0xc029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256", "AES-128-CBC", 16, 16, C_256, C_256),
    CBC(0xc02a, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384", "AES-256-CBC", 32, 16, C_384, C_384),
    GCM(0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "AES-128-GCM", 16, C_256),
    GCM(0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "AES-256-GCM", 32, C_384),
    GCM(0xc02d, "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256", "AES-128-GCM", 16, C_256),
    GCM(0xc02e, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384", "AES-256-GCM", 32, C_384),
    GCM(0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "AES-128-GCM", 16, C_256),
    GCM(0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "AES-256-GCM", 32, C_384),
    GCM(0xc031, "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256", "AES-128-GCM", 16, C_256),
    GCM(0xc032, "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384", "AES-256-GCM", 32, C_384),
    GCM(0xc050, "TLS_RSA_WITH_ARIA_128_GCM_SHA256", "ARIA-128-GCM", 16, C_256),
    GCM(0xc051, "TLS_RSA_WITH_ARIA_256_GCM_SHA384", "ARIA-256-GCM", 32, C_384),
    GCM(0xc052, "TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256", "ARIA-128-GCM", 16, C_256),
    GCM(0xc053, "TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384", "ARIA-256-GCM", 32, C_384),
    GCM(0xc05c, "TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256", "ARIA-128-GCM", 16, C_256),
    GCM(0xc05d, "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384", "ARIA-256-GCM", 32, C_384),
    GCM(0xc060, "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256", "ARIA-128-GCM", 16, C_256),
    GCM(0xc061, "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384", "ARIA-256-GCM", 32, C_384),
    CCM(0xc09c, "TLS_RSA_WITH_AES_128_CCM", 16, 16),
    CCM(0xc09d, "TLS_RSA_WITH_AES_256_CCM", 32, 16),
    CCM(0xc09e, "TLS_DHE_RSA_WITH_AES_128_CCM", 16, 16),
    CCM(0xc09f, "TLS_DHE_RSA_WITH_AES_256_CCM", 32, 16),
    CCM(0xc0a0, "TLS_RSA_WITH_AES_128_CCM_8", 16, 8),
    CCM(0xc0a1, "TLS_RSA_WITH_AES_256_CCM_8", 32, 8),
    CCM(0xc0a2, "TLS_DHE_RSA_WITH_AES_128_CCM_8", 16, 8),
    CCM(0xc0a3, "TLS_DHE_RSA_WITH_AES_256_CCM_8", 32, 8),
    CCM(0xc0ac, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", 16, 16),
    CCM(0xc0ad, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM", 32, 16),
    CCM(0xc0ae, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8", 16, 8),
    CCM(0xc0af, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8", 32, 8),
    CHA(0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    CHA(0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    CHA(0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    CHA(0xccab, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256"),
    CHA(0xccac, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256"),
    CHA(0xccad, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256"),
    CHA(0xccae, "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256"),
};

size_t tls_suite_count(void) { return sizeof suites / sizeof suites[0]; }

const tls_suite *tls_suite_at(size_t i)
{
    return i < tls_suite_count() ? &suites[i] : NULL;
}

const tls_suite *tls_suite_find(uint16_t id)
{
    size_t lo = 0, hi = tls_suite_count();   /* table is sorted by id */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (suites[mid].id == id)
            return &suites[mid];
        if (suites[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *tls_suite_name(uint16_t id)
{
    const tls_suite *s = tls_suite_find(id);
    return s ? s->name : NULL;
}

/* ---- providers --------------------------------------------------------- */
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static EVP_MAC *hmac_alg;   /* fetched once, kept for the process life */
static OSSL_PROVIDER *prov_default, *prov_legacy;   /* idem (kept reachable) */

static void crypto_unload(void)
{
    EVP_MAC_free(hmac_alg);
    if (prov_legacy)
        OSSL_PROVIDER_unload(prov_legacy);
    if (prov_default)
        OSSL_PROVIDER_unload(prov_default);
}

static void crypto_load(void)
{
    /* Loading any provider explicitly stops the automatic load of
     * "default", so load both.  legacy may be missing: then RC4/DES/IDEA/
     * SEED suites are reported as unsupported. */
    prov_default = OSSL_PROVIDER_load(NULL, "default");
    prov_legacy = OSSL_PROVIDER_load(NULL, "legacy");
    hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
    atexit(crypto_unload);   /* runs before OpenSSL's own cleanup (registered earlier) */
}

void tls_crypto_init(void) { pthread_once(&crypto_once, crypto_load); }

static const EVP_MD *md_by_name(const char *md)
{
    if (!md)
        return NULL;
    if (!strcmp(md, "SHA1"))
        return EVP_sha1();
    if (!strcmp(md, "SHA256"))
        return EVP_sha256();
    if (!strcmp(md, "SHA384"))
        return EVP_sha384();
    if (!strcmp(md, "MD5"))
        return EVP_md5();
    return NULL;
}

size_t tls_md_len(const char *md)
{
    const EVP_MD *m = md_by_name(md);
    return m ? (size_t)EVP_MD_get_size(m) : 0;
}

bool tls_suite_supported(const tls_suite *s)
{
    if (!s || s->kind == TLS_CK_NONE)
        return false;
    tls_crypto_init();
    if (s->kind != TLS_CK_NULL) {
        EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, s->evp, NULL);
        if (!c)
            return false;
        EVP_CIPHER_free(c);
    }
    if (s->mac && !md_by_name(s->mac))
        return false;
    return md_by_name(s->prf) != NULL;
}

/* ---- PRF and HKDF ------------------------------------------------------- */

/* P_hash(secret, seed) XORed into out when xor is true (RFC 5246 5). */
static int p_hash(const EVP_MD *md, const uint8_t *secret, size_t secret_len,
                  const uint8_t *seed, size_t seed_len, uint8_t *out, size_t out_len, bool xor)
{
    uint8_t a[EVP_MAX_MD_SIZE], buf[EVP_MAX_MD_SIZE + 300], blk[EVP_MAX_MD_SIZE];
    unsigned a_len = 0, blk_len = 0;
    size_t hlen = (size_t)EVP_MD_get_size(md);
    if (seed_len > 300 || hlen > EVP_MAX_MD_SIZE)
        return -1;
    if (!HMAC(md, secret, (int)secret_len, seed, seed_len, a, &a_len))   /* A(1) */
        return -1;
    size_t done = 0;
    while (done < out_len) {
        memcpy(buf, a, a_len);
        memcpy(buf + a_len, seed, seed_len);
        if (!HMAC(md, secret, (int)secret_len, buf, a_len + seed_len, blk, &blk_len))
            return -1;
        size_t n = out_len - done < blk_len ? out_len - done : blk_len;
        for (size_t i = 0; i < n; i++)
            out[done + i] = xor ? out[done + i] ^ blk[i] : blk[i];
        done += n;
        if (!HMAC(md, secret, (int)secret_len, a, a_len, a, &a_len))       /* A(i+1) */
            return -1;
    }
    return 0;
}

int tls_prf(const char *md, const uint8_t *secret, size_t secret_len, const char *label,
            const uint8_t *seed1, size_t seed1_len, const uint8_t *seed2, size_t seed2_len,
            uint8_t *out, size_t out_len)
{
    uint8_t seed[300];
    size_t ll = strlen(label);
    if (secret_len > 128 || ll + seed1_len + seed2_len > sizeof seed)
        return -1;
    memcpy(seed, label, ll);
    if (seed1_len)
        memcpy(seed + ll, seed1, seed1_len);
    if (seed2_len)
        memcpy(seed + ll + seed1_len, seed2, seed2_len);
    size_t sl = ll + seed1_len + seed2_len;
    if (md)
        return p_hash(md_by_name(md) ? md_by_name(md) : EVP_sha256(), secret, secret_len, seed, sl,
                      out, out_len, false);
    /* RFC 2246 5: PRF = P_MD5(S1, ...) XOR P_SHA-1(S2, ...), halves overlap
     * by one byte when the secret length is odd. */
    size_t half = (secret_len + 1) / 2;
    if (p_hash(EVP_md5(), secret, half, seed, sl, out, out_len, false) < 0)
        return -1;
    return p_hash(EVP_sha1(), secret + secret_len - half, half, seed, sl, out, out_len, true);
}

int tls13_hkdf_expand_label(const char *md, const uint8_t *secret, size_t secret_len,
                            const char *label, const uint8_t *ctx, size_t ctx_len,
                            uint8_t *out, size_t out_len)
{
    const EVP_MD *m = md_by_name(md);
    uint8_t info[2 + 1 + 255 + 1 + 255];
    size_t ll = strlen(label);
    if (!m || ll + 6 > 255 || ctx_len > 255 || out_len > 255 * 64)
        return -1;
    /* HkdfLabel = u16 length || opaque label<7..255> || opaque context<0..255> */
    size_t n = 0;
    info[n++] = (uint8_t)(out_len >> 8);
    info[n++] = (uint8_t)out_len;
    info[n++] = (uint8_t)(ll + 6);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, ll);
    n += ll;
    info[n++] = (uint8_t)ctx_len;
    if (ctx_len)
        memcpy(info + n, ctx, ctx_len);
    n += ctx_len;
    /* RFC 5869 2.3: T(i) = HMAC(PRK, T(i-1) || info || u8(i)) */
    uint8_t t[EVP_MAX_MD_SIZE], buf[EVP_MAX_MD_SIZE + sizeof info + 1];
    unsigned t_len = 0;
    size_t done = 0;
    for (unsigned i = 1; done < out_len; i++) {
        size_t bl = 0;
        memcpy(buf, t, t_len);
        bl = t_len;
        memcpy(buf + bl, info, n);
        bl += n;
        buf[bl++] = (uint8_t)i;
        if (!HMAC(m, secret, (int)secret_len, buf, bl, t, &t_len))
            return -1;
        size_t c = out_len - done < t_len ? out_len - done : t_len;
        memcpy(out + done, t, c);
        done += c;
    }
    return 0;
}

/* ---- key material --------------------------------------------------------- */

int tls12_derive_keys(const tls_suite *s, uint16_t version, const uint8_t master[48],
                      const uint8_t client_random[32], const uint8_t server_random[32],
                      tls12_keys *out)
{
    if (!s || s->kind == TLS_CK_NONE || s->kind == TLS_CK_TLS13)
        return -1;
    size_t mac_len = (s->kind == TLS_CK_CBC || s->kind == TLS_CK_STREAM || s->kind == TLS_CK_NULL)
                         ? tls_md_len(s->mac) : 0;
    size_t iv_len = s->iv_len;
    size_t need = 2 * (mac_len + s->key_len + iv_len);
    uint8_t kb[2 * (TLS_MAX_MAC + TLS_MAX_KEY + TLS_MAX_IV)];
    if (need > sizeof kb)
        return -1;
    const char *prf = version >= 0x0303 ? s->prf : NULL;   /* TLS 1.0/1.1: MD5+SHA1 */
    if (tls_prf(prf, master, 48, "key expansion", server_random, 32, client_random, 32, kb, need) < 0)
        return -1;
    memset(out, 0, sizeof *out);
    size_t o = 0;
    for (int d = 0; d < 2; d++, o += mac_len)
        memcpy(out->mac[d], kb + o, mac_len);
    for (int d = 0; d < 2; d++, o += s->key_len)
        memcpy(out->key[d], kb + o, s->key_len);
    for (int d = 0; d < 2; d++, o += iv_len)
        memcpy(out->iv[d], kb + o, iv_len);
    OPENSSL_cleanse(kb, sizeof kb);
    return 0;
}

/* ---- record state ------------------------------------------------------- */

static int rstate_cipher(tls_rstate *r)
{
    tls_crypto_init();
    if (r->mac_len) {
        r->mac_ctx = hmac_alg ? EVP_MAC_CTX_new(hmac_alg) : NULL;
        if (!r->mac_ctx)
            return -1;
    }
    if (r->suite->kind == TLS_CK_NULL)
        return 0;
    r->cipher = EVP_CIPHER_fetch(NULL, r->suite->evp, NULL);
    r->ctx = EVP_CIPHER_CTX_new();
    if (!r->cipher || !r->ctx)
        return -1;
    return 0;
}

int tls_rstate_init12(tls_rstate *r, const tls_suite *s, uint16_t version, bool etm,
                      const uint8_t *mac_key, const uint8_t *key, const uint8_t *iv)
{
    memset(r, 0, sizeof *r);
    if (!s || s->kind == TLS_CK_NONE || s->kind == TLS_CK_TLS13)
        return -1;
    r->suite = s;
    r->version = version;
    r->etm = etm && s->kind == TLS_CK_CBC;
    if (s->kind == TLS_CK_CBC || s->kind == TLS_CK_STREAM || s->kind == TLS_CK_NULL) {
        r->mac_len = (uint8_t)tls_md_len(s->mac);
        memcpy(r->mac_key, mac_key, r->mac_len);
    }
    memcpy(r->key, key, s->key_len);
    memcpy(r->iv, iv, s->iv_len);
    if (rstate_cipher(r) < 0) {
        tls_rstate_free(r);
        return -1;
    }
    return 0;
}

static int rstate_keys13(tls_rstate *r)
{
    const tls_suite *s = r->suite;
    if (tls13_hkdf_expand_label(s->prf, r->secret, r->secret_len, "key", NULL, 0, r->key, s->key_len) < 0 ||
        tls13_hkdf_expand_label(s->prf, r->secret, r->secret_len, "iv", NULL, 0, r->iv, 12) < 0)
        return -1;
    r->seq = 0;
    return 0;
}

int tls_rstate_init13(tls_rstate *r, const tls_suite *s, const uint8_t *secret, size_t secret_len)
{
    memset(r, 0, sizeof *r);
    if (!s || s->kind != TLS_CK_TLS13 || secret_len != tls_md_len(s->prf) || secret_len > TLS_MAX_SECRET)
        return -1;
    r->suite = s;
    r->version = 0x0304;
    r->tls13 = true;
    memcpy(r->secret, secret, secret_len);
    r->secret_len = (uint8_t)secret_len;
    if (rstate_keys13(r) < 0 || rstate_cipher(r) < 0) {
        tls_rstate_free(r);
        return -1;
    }
    return 0;
}

int tls_rstate_key_update(tls_rstate *r)
{
    if (!r->tls13 || !r->suite)
        return -1;
    uint8_t next[TLS_MAX_SECRET];
    if (tls13_hkdf_expand_label(r->suite->prf, r->secret, r->secret_len, "traffic upd", NULL, 0, next,
                                r->secret_len) < 0)
        return -1;
    memcpy(r->secret, next, r->secret_len);
    OPENSSL_cleanse(next, sizeof next);
    return rstate_keys13(r);
}

void tls_rstate_free(tls_rstate *r)
{
    if (r->ctx)
        EVP_CIPHER_CTX_free(r->ctx);
    if (r->cipher)
        EVP_CIPHER_free(r->cipher);
    if (r->mac_ctx)
        EVP_MAC_CTX_free(r->mac_ctx);
    OPENSSL_cleanse(r, sizeof *r);
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* AEAD open: nonce (12 bytes), aad, ciphertext ct[len] followed by tag. */
static int aead_open(tls_rstate *r, const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
                     const uint8_t *ct, size_t ct_len, const uint8_t *tag, uint8_t *out)
{
    EVP_CIPHER_CTX *c = r->ctx;
    int kind = r->suite->kind;
    bool ccm = kind == TLS_CK_CCM || (kind == TLS_CK_TLS13 && strstr(r->suite->evp, "CCM"));
    int tl = r->suite->tag_len, n = 0;
    if (EVP_DecryptInit_ex2(c, r->cipher, NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1)
        return -3;
    if (ccm && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, tl, (void *)tag) != 1)
        return -3;
    if (EVP_DecryptInit_ex2(c, NULL, r->key, nonce, NULL) != 1)
        return -3;
    if (ccm && EVP_DecryptUpdate(c, NULL, &n, NULL, (int)ct_len) != 1)
        return -3;
    if (EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_len) != 1)
        return -3;
    if (ccm)   /* CCM verifies the tag in the (single) update */
        return EVP_DecryptUpdate(c, out, &n, ct, (int)ct_len) == 1 ? 0 : -1;
    if (ct_len && EVP_DecryptUpdate(c, out, &n, ct, (int)ct_len) != 1)
        return -3;
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, tl, (void *)tag) != 1)
        return -3;
    int fl = 0;
    return EVP_DecryptFinal_ex(c, out + n, &fl) == 1 ? 0 : -1;
}

/* HMAC over seq || type || version || u16(len) || data (RFC 5246 6.2.3.1). */
static int mac_check(tls_rstate *r, uint8_t type, uint16_t ver, const uint8_t *data, size_t len,
                     const uint8_t *mac)
{
    uint8_t m[EVP_MAX_MD_SIZE];
    unsigned ml = 0;
    uint8_t hdr[13];
    put_be64(hdr, r->seq);
    hdr[8] = type;
    hdr[9] = (uint8_t)(ver >> 8);
    hdr[10] = (uint8_t)ver;
    hdr[11] = (uint8_t)(len >> 8);
    hdr[12] = (uint8_t)len;
    EVP_MAC_CTX *mc = r->mac_ctx;
    int rc = -3;
    if (mc) {
        OSSL_PARAM params[2];
        params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)r->suite->mac, 0);
        params[1] = OSSL_PARAM_construct_end();
        size_t outl = 0;
        if (EVP_MAC_init(mc, r->mac_key, r->mac_len, params) == 1 && EVP_MAC_update(mc, hdr, 13) == 1 &&
            EVP_MAC_update(mc, data, len) == 1 && EVP_MAC_final(mc, m, &outl, sizeof m) == 1) {
            ml = (unsigned)outl;
            rc = (ml == r->mac_len && CRYPTO_memcmp(m, mac, ml) == 0) ? 0 : -1;
        }
    }
    return rc;
}

int tls_rstate_decrypt(tls_rstate *r, const uint8_t hdr[5], const uint8_t *frag, size_t len,
                       uint8_t *out, size_t *out_len, uint8_t *type)
{
    const tls_suite *s = r->suite;
    uint8_t ctype = hdr[0];
    uint16_t ver = (uint16_t)(hdr[1] << 8 | hdr[2]);
    uint8_t nonce[12], aad[13];
    int rc = -3;
    *out_len = 0;
    *type = ctype;
    if (!s)
        return -3;
    uint64_t seq = r->seq;

    switch (s->kind) {
    case TLS_CK_TLS13: {
        /* RFC 8446 5.2-5.4: nonce = iv XOR seq, aad = record header. */
        if (len < (size_t)s->tag_len + 1) {
            rc = -2;
            break;
        }
        memcpy(nonce, r->iv, 12);
        for (int i = 0; i < 8; i++)
            nonce[4 + i] ^= (uint8_t)(seq >> (56 - 8 * i));
        size_t ct = len - s->tag_len;
        rc = aead_open(r, nonce, hdr, 5, frag, ct, frag + ct, out);
        if (rc == 0) {
            size_t n = ct;
            while (n > 0 && out[n - 1] == 0)   /* zero padding (5.4) */
                n--;
            if (n == 0) {
                rc = -1;   /* no inner content type: unexpected_message */
                break;
            }
            *type = out[n - 1];
            *out_len = n - 1;
        }
        break;
    }
    case TLS_CK_GCM:
    case TLS_CK_CCM:
    case TLS_CK_CHACHA: {
        size_t expl = s->kind == TLS_CK_CHACHA ? 0 : 8;
        if (len < expl + s->tag_len) {
            rc = -2;
            break;
        }
        if (s->kind == TLS_CK_CHACHA) {   /* RFC 7905 2 */
            memcpy(nonce, r->iv, 12);
            for (int i = 0; i < 8; i++)
                nonce[4 + i] ^= (uint8_t)(seq >> (56 - 8 * i));
        } else {                          /* RFC 5288 3 */
            memcpy(nonce, r->iv, 4);
            memcpy(nonce + 4, frag, 8);
        }
        size_t plen = len - expl - s->tag_len;
        put_be64(aad, seq);
        aad[8] = ctype;
        aad[9] = hdr[1];
        aad[10] = hdr[2];
        aad[11] = (uint8_t)(plen >> 8);
        aad[12] = (uint8_t)plen;
        rc = aead_open(r, nonce, aad, 13, frag + expl, plen, frag + expl + plen, out);
        if (rc == 0)
            *out_len = plen;
        break;
    }
    case TLS_CK_CBC: {
        EVP_CIPHER_CTX *c = r->ctx;
        size_t bs = s->block, ml = r->mac_len;
        bool explicit_iv = r->version >= 0x0302;
        const uint8_t *iv = explicit_iv ? frag : r->iv;
        const uint8_t *ctp = explicit_iv ? frag + bs : frag;
        size_t ctl = explicit_iv ? len - bs : len;
        if (len < (explicit_iv ? bs : 0) + (r->etm ? ml : 0) + bs) {
            rc = -2;
            break;
        }
        if (r->etm) {   /* RFC 7366 3: MAC over IV || ciphertext */
            ctl -= ml;
            if (ctl % bs) {
                rc = -2;
                break;
            }
            if (mac_check(r, ctype, ver, frag, len - ml, frag + len - ml) != 0) {
                rc = -1;
                break;
            }
        } else if (ctl % bs) {
            rc = -2;
            break;
        }
        int n = 0;
        if (EVP_DecryptInit_ex2(c, r->cipher, r->key, iv, NULL) != 1 ||
            EVP_CIPHER_CTX_set_padding(c, 0) != 1 || EVP_DecryptUpdate(c, out, &n, ctp, (int)ctl) != 1) {
            rc = -3;
            break;
        }
        if (!explicit_iv)   /* TLS 1.0: next IV = last ciphertext block */
            memcpy(r->iv, ctp + ctl - bs, bs);
        size_t pad = out[ctl - 1];
        if (pad + 1 > ctl) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < pad; i++)
            if (out[ctl - 2 - i] != pad) {
                rc = -1;
                break;
            }
        if (rc == -1)
            break;
        size_t content = ctl - pad - 1;
        if (!r->etm) {
            if (content < ml) {
                rc = -1;
                break;
            }
            content -= ml;
            if (mac_check(r, ctype, ver, out, content, out + content) != 0) {
                rc = -1;
                break;
            }
        }
        *out_len = content;
        rc = 0;
        break;
    }
    case TLS_CK_STREAM:
    case TLS_CK_NULL: {
        size_t ml = r->mac_len;
        if (len < ml) {
            rc = -2;
            break;
        }
        if (s->kind == TLS_CK_STREAM) {
            int n = 0;
            if (!r->stream_started) {
                if (EVP_DecryptInit_ex2(r->ctx, r->cipher, r->key, NULL, NULL) != 1) {
                    rc = -3;
                    break;
                }
                r->stream_started = true;
            }
            if (len && EVP_DecryptUpdate(r->ctx, out, &n, frag, (int)len) != 1) {
                rc = -3;
                break;
            }
        } else {
            memcpy(out, frag, len);
        }
        size_t content = len - ml;
        rc = mac_check(r, ctype, ver, out, content, out + content) == 0 ? 0 : -1;
        if (rc == 0)
            *out_len = content;
        break;
    }
    default:
        rc = -3;
    }
    r->seq++;
    return rc;
}
