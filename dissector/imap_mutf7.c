/*
 * imap_mutf7.c - modified UTF-7 mailbox names (RFC 3501 5.1.3, kept by
 * RFC 9051 5.1.3 for IMAP4rev1 compatibility) to UTF-8, and the mailbox
 * field helper of the decoders.
 */
#include "imap_dec_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 3501 5.1.3: modified BASE64 of RFC 2152 with "," instead of "/". */
static int mb64(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == ',') return 63;
    return -1;
}

static int put_utf8(char *out, size_t outcap, size_t *o, uint32_t cp)
{
    uint8_t b[4];
    size_t n = imapi_utf8_put(cp, b); /* cp from UTF-16: <= U+10FFFF */
    if (n >= outcap - *o)  /* keep room for the NUL */
        return -1;
    memcpy(out + *o, b, n);
    *o += n;
    return 0;
}

/* Contract (imap_decode.h).  Rejected: bytes outside printable US-ASCII,
 * an unterminated shift, a byte that is not modified base64 inside a shift,
 * leftover bits that are not zero or that make a whole 6-bit group, an odd
 * number of bytes (half a UTF-16 unit), an unpaired surrogate, and a shift
 * that encodes a printable US-ASCII character (RFC 3501 5.1.3: those "MUST"
 * represent themselves) or an empty shift other than "&-". */
int imapi_mutf7_to_utf8(const char *in, size_t len, char *out, size_t outcap, size_t *outlen)
{
    size_t o = 0;
    if (out == NULL || outcap == 0)
        return -1;
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)in[i];
        if (c < 0x20 || c > 0x7e)
            return -1;
        if (c != '&') {
            if (o + 1 >= outcap)
                return -1;
            out[o++] = (char)c;
            i++;
            continue;
        }
        i++;
        if (i < len && in[i] == '-') {  /* "&-" is "&" */
            if (o + 1 >= outcap)
                return -1;
            out[o++] = '&';
            i++;
            continue;
        }
        uint32_t acc = 0;
        int bits = 0;
        uint32_t high = 0;     /* pending high surrogate */
        size_t units = 0;
        for (;;) {
            if (i >= len)
                return -1;      /* unterminated shift */
            unsigned char d = (unsigned char)in[i];
            if (d == '-') {
                i++;
                break;
            }
            int v = mb64(d);
            if (v < 0)
                return -1;
            i++;
            acc = ((acc << 6) | (uint32_t)v) & 0xFFFFFF;
            bits += 6;
            if (bits >= 16) {
                bits -= 16;
                uint32_t u = (acc >> bits) & 0xFFFF;
                units++;
                if (high != 0) {
                    if (u < 0xDC00 || u > 0xDFFF)
                        return -1;
                    uint32_t cp = 0x10000 + ((high - 0xD800) << 10) + (u - 0xDC00);
                    high = 0;
                    if (put_utf8(out, outcap, &o, cp) != 0)
                        return -1;
                } else if (u >= 0xD800 && u <= 0xDBFF) {
                    high = u;
                } else if (u >= 0xDC00 && u <= 0xDFFF) {
                    return -1;
                } else {
                    if (u >= 0x20 && u <= 0x7e)
                        return -1;  /* printable ASCII must not be encoded */
                    if (put_utf8(out, outcap, &o, u) != 0)
                        return -1;
                }
            }
        }
        if (units == 0 || high != 0)
            return -1;
        if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
            return -1;  /* extra group, or non-zero padding bits */
    }
    out[o] = '\0';
    if (outlen != NULL)
        *outlen = o;
    return 0;
}

int imapi_add_mailbox(const imap_decode_ctx *ctx, imap_node *obj, const char *key, const imap_value *v)
{
    if (!imapi_value_is_astring(v))
        return -1;
    size_t len = 0;
    const char *s = v->type == IV_ATOM && v->section != NULL ? v->raw : imapi_value_text(v, &len, NULL);
    if (v->type == IV_ATOM && v->section != NULL)
        len = v->raw_len;
    if (v->type == IV_LITERAL && (v->lit == NULL || v->len < v->lit->size)) {
        imapi_dec_set(obj, key, imapi_value_to_json(v)); /* name not fully kept */
        return 0;
    }
    bool needs = memchr(s, '&', len) != NULL;
    if (ctx != NULL && ctx->utf8_accept)
        needs = false;  /* RFC 6855 3: UTF-8 names once UTF8=ACCEPT is enabled */
    if (!needs) {
        imapi_dec_set(obj, key, imapi_json_bytes(s, len));
        return 0;
    }
    size_t cap = len * 2 + 4;
    char *buf = malloc(cap);
    if (buf == NULL)
        return -1;
    size_t olen = 0;
    char k[80];
    if (imapi_mutf7_to_utf8(s, len, buf, cap, &olen) == 0) {
        imapi_dec_set(obj, key, imapi_stringn(buf, olen));
        if (olen != len || memcmp(buf, s, len) != 0) {
            snprintf(k, sizeof(k), "%s_raw", key);
            imapi_dec_set(obj, k, imapi_json_bytes(s, len));
        }
    } else {
        imapi_dec_set(obj, key, imapi_json_bytes(s, len));
        snprintf(k, sizeof(k), "%s_mutf7_invalid", key);
        imapi_dec_set(obj, k, imapi_true());
    }
    free(buf);
    return 0;
}
