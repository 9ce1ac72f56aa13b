/*
 * imap_core_util.c - escaping helpers of the session core.
 */
#include "imap_core_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t imapi_core_escape(char *out, size_t cap, const uint8_t *in, size_t len)
{
    static const char hexd[] = "0123456789abcdef";
    const uint8_t *p = in, *end = in + len;
    size_t o = 0;
    if (cap < 4) {
        if (cap)
            out[0] = '\0';
        return 0;
    }
    size_t limit = cap - 4; /* room for "..." and NUL */
    while (p < end) {
        size_t n;
        char tmp[4];
        const char *src;
        if (*p >= 0x20 && *p < 0x7F) {
            /* a run of printable ASCII, copied at once */
            const uint8_t *r = p;
            while (r < end && *r >= 0x20 && *r < 0x7F)
                r++;
            n = (size_t)(r - p);
            if (n > limit - o) {
                memcpy(out + o, p, limit - o);
                o = limit;
                goto cut;
            }
            memcpy(out + o, p, n);
            o += n;
            p = r;
            continue;
        }
        if (*p >= 0x80 && (n = imapi_utf8_seq(p, end, NULL)) > 0) {
            src = (const char *)p;
        } else {
            tmp[0] = '\\'; tmp[1] = 'x';
            tmp[2] = hexd[*p >> 4]; tmp[3] = hexd[*p & 15];
            src = tmp;
            n = 4;
            if (o + n > limit)
                goto cut;
            memcpy(out + o, src, n);
            o += n;
            p++;
            continue;
        }
        if (o + n > limit)
            goto cut;
        memcpy(out + o, src, n);
        o += n;
        p += (src == (const char *)p) ? n : 1;
    }
    out[o] = '\0';
    return o;
cut:
    memcpy(out + o, "...", 4);
    return o + 3;
}

imap_node *imapi_core_json_bytes(const void *in, size_t len, size_t maxlen)
{
    char stackbuf[512];
    if (maxlen == 0)
        maxlen = 4096;
    size_t need = len * 4 + 4;
    if (need > maxlen + 4)
        need = maxlen + 4;
    char *buf = need <= sizeof stackbuf ? stackbuf : malloc(need);
    if (!buf)
        return NULL;
    size_t n = imapi_core_escape(buf, need, in, len);
    imap_node *j = imapi_stringn_nocheck(buf, n); /* valid UTF-8 by construction */
    if (buf != stackbuf)
        free(buf);
    return j;
}
