/*
 * tls_fingerprint.c - hello parsers, JA3/JA3S/JA4.  Contracts in
 * tls_fingerprint.h; algorithms in tests/data/SPECS.md 2-3.
 */
#include "tls_fingerprint.h"
#include "cursor.h"
#include "imap_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

bool tls_is_grease(uint16_t v) { return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff); }

/* ---- bounds-checked reading: cursor.h ------------------------------------ */
static void get_bytes(cursor *c, uint8_t *out, size_t n)
{
    const uint8_t *b = cur_bytes(c, n);
    if (b != NULL)
        memcpy(out, b, n);
}

/* u16 list of the whole sub-cursor into arr (cap), *n count. */
static void u16_list(cursor *c, uint16_t *arr, size_t cap, size_t *n, bool *trunc)
{
    if (cur_left(c) % 2)
        c->err = true;
    while (!c->err && cur_left(c) >= 2) {
        uint16_t v = (uint16_t)cur_be16(c);
        if (*n < cap)
            arr[(*n)++] = v;
        else
            *trunc = true;
    }
}

/* ---- extensions ---------------------------------------------------------- */
static void client_ext(tls_client_hello *h, uint16_t type, cursor *e)
{
    switch (type) {
    case 0: { /* server_name, RFC 6066 3 */
        h->has_sni = true;
        cursor l = cur_sub(e, cur_be16(e));
        while (!l.err && cur_left(&l) >= 3) {
            uint8_t nt = (uint8_t)cur_u8(&l);
            cursor name = cur_sub(&l, cur_be16(&l));
            if (nt == 0 && !name.err && h->sni_len == 0) {
                size_t n = cur_left(&name) > TLS_HELLO_MAX_SNI ? TLS_HELLO_MAX_SNI : cur_left(&name);
                memcpy(h->sni, name.p, n);
                h->sni[n] = 0;
                h->sni_len = n;
            }
        }
        break;
    }
    case 10: { /* supported_groups, RFC 8446 4.2.7 */
        cursor l = cur_sub(e, cur_be16(e));
        u16_list(&l, h->groups, TLS_HELLO_MAX_LIST, &h->n_groups, &h->lists_truncated);
        break;
    }
    case 11: { /* ec_point_formats, RFC 8422 5.1.2 */
        cursor l = cur_sub(e, cur_u8(e));
        while (!l.err && cur_left(&l)) {
            uint8_t v = (uint8_t)cur_u8(&l);
            if (h->n_point_formats < TLS_HELLO_MAX_LIST)
                h->point_formats[h->n_point_formats++] = v;
            else
                h->lists_truncated = true;
        }
        break;
    }
    case 13: { /* signature_algorithms, RFC 8446 4.2.3 */
        h->has_sigalgs = true;
        cursor l = cur_sub(e, cur_be16(e));
        u16_list(&l, h->sigalgs, TLS_HELLO_MAX_LIST, &h->n_sigalgs, &h->lists_truncated);
        break;
    }
    case 16: { /* ALPN, RFC 7301 3.1 */
        h->has_alpn = true;
        cursor l = cur_sub(e, cur_be16(e));
        size_t n = cur_left(&l) > TLS_HELLO_MAX_ALPN ? TLS_HELLO_MAX_ALPN : cur_left(&l);
        if (!l.err) {
            memcpy(h->alpn, l.p, n);
            h->alpn_len = n;
        }
        break;
    }
    case 22: h->has_etm = true; break;
    case 23: h->has_ems = true; break;
    case 35:
        h->has_session_ticket = true;
        h->session_ticket_nonempty = cur_left(e) > 0;
        break;
    case 41: h->has_psk = true; break;
    case 42: h->has_early_data = true; break;
    case 43: { /* supported_versions, RFC 8446 4.2.1 */
        h->has_versions = true;
        cursor l = cur_sub(e, cur_u8(e));
        u16_list(&l, h->versions, TLS_HELLO_MAX_LIST, &h->n_versions, &h->lists_truncated);
        break;
    }
    case 51: { /* key_share, RFC 8446 4.2.8 */
        cursor l = cur_sub(e, cur_be16(e));
        while (!l.err && cur_left(&l) >= 4) {
            uint16_t g = (uint16_t)cur_be16(&l);
            (void)cur_sub(&l, cur_be16(&l));
            if (h->n_key_shares < TLS_HELLO_MAX_LIST)
                h->key_shares[h->n_key_shares++] = g;
            else
                h->lists_truncated = true;
        }
        break;
    }
    case 0xff01: h->has_reneg_info = true; break;
    default: break;
    }
}

int tls_client_hello_parse(const uint8_t *body, size_t len, tls_client_hello *h)
{
    memset(h, 0, sizeof *h);
    cursor c = cur_make(body, len);
    h->legacy_version = (uint16_t)cur_be16(&c);
    get_bytes(&c, h->random, 32);
    size_t sl = cur_u8(&c);
    if (sl > 32)
        return TLS_HELLO_MALFORMED;
    h->session_id_len = (uint8_t)sl;
    get_bytes(&c, h->session_id, sl);
    cursor cs = cur_sub(&c, cur_be16(&c));
    u16_list(&cs, h->ciphers, TLS_HELLO_MAX_CIPHERS, &h->n_ciphers, &h->lists_truncated);
    (void)cur_sub(&c, cur_u8(&c));   /* compression methods */
    if (c.err || cs.err)
        return TLS_HELLO_MALFORMED;
    if (cur_left(&c) == 0)
        return TLS_HELLO_OK;        /* no extensions (RFC 5246 7.4.1.2) */
    cursor ex = cur_sub(&c, cur_be16(&c));
    while (!ex.err && cur_left(&ex) >= 4) {
        uint16_t type = (uint16_t)cur_be16(&ex);
        cursor e = cur_sub(&ex, cur_be16(&ex));
        if (ex.err)
            break;
        if (h->n_exts < TLS_HELLO_MAX_EXTS)
            h->exts[h->n_exts++] = type;
        else
            h->lists_truncated = true;
        client_ext(h, type, &e);
    }
    return (c.err || ex.err || cur_left(&ex)) ? TLS_HELLO_MALFORMED : TLS_HELLO_OK;
}

/* RFC 8446 4.1.3: SHA-256("HelloRetryRequest") */
static const uint8_t hrr_random[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};

int tls_server_hello_parse(const uint8_t *body, size_t len, tls_server_hello *h)
{
    memset(h, 0, sizeof *h);
    cursor c = cur_make(body, len);
    h->legacy_version = (uint16_t)cur_be16(&c);
    get_bytes(&c, h->random, 32);
    size_t sl = cur_u8(&c);
    if (sl > 32)
        return TLS_HELLO_MALFORMED;
    h->session_id_len = (uint8_t)sl;
    get_bytes(&c, h->session_id, sl);
    h->cipher = (uint16_t)cur_be16(&c);
    h->compression = (uint8_t)cur_u8(&c);
    if (c.err)
        return TLS_HELLO_MALFORMED;
    h->hrr = !memcmp(h->random, hrr_random, 32);
    if (cur_left(&c) == 0)
        return TLS_HELLO_OK;
    cursor ex = cur_sub(&c, cur_be16(&c));
    while (!ex.err && cur_left(&ex) >= 4) {
        uint16_t type = (uint16_t)cur_be16(&ex);
        cursor e = cur_sub(&ex, cur_be16(&ex));
        if (ex.err)
            break;
        if (h->n_exts < TLS_HELLO_MAX_EXTS)
            h->exts[h->n_exts++] = type;
        else
            h->lists_truncated = true;
        switch (type) {
        case 16: { /* ALPN: exactly one name (RFC 7301 3.1) */
            cursor l = cur_sub(&e, cur_be16(&e));
            cursor name = cur_sub(&l, cur_u8(&l));
            if (!name.err) {
                h->has_alpn = true;
                h->alpn_len = cur_left(&name);
                memcpy(h->alpn, name.p, h->alpn_len);
                h->alpn[h->alpn_len] = 0;
            }
            break;
        }
        case 22: h->has_etm = true; break;
        case 23: h->has_ems = true; break;
        case 35: h->has_session_ticket = true; break;
        case 41: h->has_psk = true; break;
        case 43: h->selected_version = (uint16_t)cur_be16(&e); break;
        case 51: h->key_share_group = (uint16_t)cur_be16(&e); break;
        case 0xff01: h->has_reneg_info = true; break;
        default: break;
        }
    }
    return (c.err || ex.err || cur_left(&ex)) ? TLS_HELLO_MALFORMED : TLS_HELLO_OK;
}

uint16_t tls_server_hello_version(const tls_server_hello *h)
{
    return h->selected_version ? h->selected_version : h->legacy_version;
}

/* ---- string building ------------------------------------------------------ */
typedef struct sbuf {
    char *s;
    size_t cap, len;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, unsigned v)
{
    if (b->len + 1 >= b->cap)
        return;
    int n = snprintf(b->s + b->len, b->cap - b->len, fmt, v);
    if (n > 0)
        b->len = b->len + (size_t)n >= b->cap ? b->cap - 1 : b->len + (size_t)n;
}


static void md5_hex(const char *s, size_t n, char out[33])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    out[0] = 0;
    if (EVP_Digest(s, n, d, &dl, EVP_md5(), NULL) != 1)
        return;
    imapi_hex_encode(d, 16, out);
}

static void sha256_12(const char *s, size_t n, char out[13])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    memcpy(out, "000000000000", 13);
    if (EVP_Digest(s, n, d, &dl, EVP_sha256(), NULL) != 1)
        return;
    imapi_hex_encode(d, 6, out);
}

static void join_dec16(sbuf *b, const uint16_t *v, size_t n, bool grease)
{
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (grease && tls_is_grease(v[i]))
            continue;
        sb_add(b, first ? "%u" : "-%u", v[i]);
        first = false;
    }
}

void tls_ja3(const tls_client_hello *h, char *str, size_t cap, char md5[33])
{
    sbuf b = {str, cap, 0};
    str[0] = 0;
    sb_add(&b, "%u,", h->legacy_version);
    join_dec16(&b, h->ciphers, h->n_ciphers, true);
    sb_add(&b, ",", 0);
    join_dec16(&b, h->exts, h->n_exts, true);
    sb_add(&b, ",", 0);
    join_dec16(&b, h->groups, h->n_groups, true);
    sb_add(&b, ",", 0);
    for (size_t i = 0; i < h->n_point_formats; i++)
        sb_add(&b, i ? "-%u" : "%u", h->point_formats[i]);
    md5_hex(str, b.len, md5);
}

void tls_ja3s(const tls_server_hello *h, char *str, size_t cap, char md5[33])
{
    sbuf b = {str, cap, 0};
    str[0] = 0;
    sb_add(&b, "%u,", h->legacy_version);
    sb_add(&b, "%u,", h->cipher);
    join_dec16(&b, h->exts, h->n_exts, false);
    md5_hex(str, b.len, md5);
}

static int cmp_u16(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return x < y ? -1 : x > y;
}

static const char *ja4_version(uint16_t v)
{
    switch (v) {
    case 0x0304: return "13";
    case 0x0303: return "12";
    case 0x0302: return "11";
    case 0x0301: return "10";
    case 0x0300: return "s3";
    case 0x0002: return "s2";
    case 0xfeff: return "d1";
    case 0xfefd: return "d2";
    case 0xfefc: return "d3";
    default: return "00";
    }
}

static bool is_alnum(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void ja4_alpn(const tls_client_hello *h, tls_ja4_alpn_rule rule, char out[3])
{
    static const char hx[] = "0123456789abcdef";
    out[0] = out[1] = '0';
    out[2] = 0;
    if (!h->has_alpn || h->alpn_len < 2)
        return;
    size_t n = h->alpn[0];
    if (n == 0 || n + 1 > h->alpn_len)
        return;
    uint8_t f = h->alpn[1], l = h->alpn[n];
    if (rule == TLS_JA4_ALPN_UPSTREAM) {
        out[0] = f > 0x7f ? '9' : (char)f;
        out[1] = l > 0x7f ? '9' : (char)l;
        return;
    }
    if (is_alnum(f) && is_alnum(l)) {
        out[0] = (char)f;
        out[1] = (char)l;
    } else {  /* JA4.md: first and last hex digit of the hex of the whole name */
        out[0] = hx[f >> 4];
        out[1] = hx[l & 15];
    }
}

void tls_ja4(const tls_client_hello *h, tls_ja4_alpn_rule rule, char ja4[TLS_JA4_MAX], char *ja4_r,
             size_t cap)
{
    uint16_t ver = h->legacy_version;
    if (h->has_versions) {
        uint16_t best = 0;
        for (size_t i = 0; i < h->n_versions; i++)
            if (!tls_is_grease(h->versions[i]) && h->versions[i] > best)
                best = h->versions[i];
        if (best)
            ver = best;
    }
    uint16_t ciph[TLS_HELLO_MAX_CIPHERS], ext[TLS_HELLO_MAX_EXTS];
    size_t nc = 0, ne = 0, ne_all = 0;
    for (size_t i = 0; i < h->n_ciphers; i++)
        if (!tls_is_grease(h->ciphers[i]))
            ciph[nc++] = h->ciphers[i];
    for (size_t i = 0; i < h->n_exts; i++) {
        if (tls_is_grease(h->exts[i]))
            continue;
        ne_all++;
        if (h->exts[i] != 0x0000 && h->exts[i] != 0x0010)
            ext[ne++] = h->exts[i];
    }
    qsort(ciph, nc, sizeof ciph[0], cmp_u16);
    qsort(ext, ne, sizeof ext[0], cmp_u16);
    char alpn[3];
    ja4_alpn(h, rule, alpn);
    char a[16];
    snprintf(a, sizeof a, "t%s%c%02u%02u%s", ja4_version(ver), h->has_sni ? 'd' : 'i',
             (unsigned)(nc > 99 ? 99 : nc), (unsigned)(ne_all > 99 ? 99 : ne_all), alpn);

    /* b and c raw strings; sized for the caps of tls_client_hello. */
    static const size_t bcap = TLS_HELLO_MAX_CIPHERS * 5 + 1;
    static const size_t ccap = (TLS_HELLO_MAX_EXTS + TLS_HELLO_MAX_LIST) * 5 + 2;
    char *bs = malloc(bcap), *cs = malloc(ccap);
    if (!bs || !cs) {
        free(bs);
        free(cs);
        snprintf(ja4, TLS_JA4_MAX, "%s_000000000000_000000000000", a);
        if (ja4_r && cap)
            ja4_r[0] = 0;
        return;
    }
    sbuf b = {bs, bcap, 0}, c = {cs, ccap, 0};
    bs[0] = cs[0] = 0;
    for (size_t i = 0; i < nc; i++)
        sb_add(&b, i ? ",%04x" : "%04x", ciph[i]);
    for (size_t i = 0; i < ne; i++)
        sb_add(&c, i ? ",%04x" : "%04x", ext[i]);
    bool first = true;
    for (size_t i = 0; i < h->n_sigalgs; i++) {
        if (tls_is_grease(h->sigalgs[i]))
            continue;
        sb_add(&c, first ? "_%04x" : ",%04x", h->sigalgs[i]);
        first = false;
    }
    char hb[13], hc[13];
    if (nc)
        sha256_12(bs, b.len, hb);
    else
        memcpy(hb, "000000000000", 13);
    if (ne)
        sha256_12(cs, c.len, hc);
    else
        memcpy(hc, "000000000000", 13);
    snprintf(ja4, TLS_JA4_MAX, "%s_%s_%s", a, hb, hc);
    if (ja4_r && cap)
        snprintf(ja4_r, cap, "%s_%s_%s", a, bs, cs);
    free(bs);
    free(cs);
}
