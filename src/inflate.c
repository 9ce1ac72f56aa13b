/*
 * inflate.c - raw DEFLATE per direction for COMPRESS=DEFLATE (see inflate.h).
 */
#include "inflate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define INFLATE_CHUNK 16384
#define INFLATE_BOMB_GRACE (1u << 20)

struct inflater {
    z_stream zs;
    unsigned max_ratio;
    int status;          /* inflate_status: sticky once an error */
    uint64_t in, out;
    char msg[128];
    uint8_t buf[INFLATE_CHUNK];
};

static const char *const names[] = {
#define INFLATE_X(e, n, d) n,
    INFLATE_ERRORS(INFLATE_X)
#undef INFLATE_X
};
static const char *const descs[] = {
#define INFLATE_X(e, n, d) d,
    INFLATE_ERRORS(INFLATE_X)
#undef INFLATE_X
};
_Static_assert(sizeof names / sizeof names[0] == INFLATE_STATUS_COUNT, "name table");

const char *inflate_error_name(int s)
{
    return s >= 0 && s < INFLATE_STATUS_COUNT ? names[s] : "unknown";
}

const char *inflate_error_description(int s)
{
    return s >= 0 && s < INFLATE_STATUS_COUNT ? descs[s] : "unknown";
}

inflater *inflater_new(unsigned max_ratio)
{
    inflater *z = calloc(1, sizeof *z);

    if (!z)
        return NULL;
    /* RFC 4978 3: raw DEFLATE; windowBits -15 accepts any window size. */
    if (inflateInit2(&z->zs, -15) != Z_OK) {
        free(z);
        return NULL;
    }
    z->max_ratio = max_ratio;
    return z;
}

int inflater_feed(inflater *z, const uint8_t *data, size_t len, inflate_out_fn out, void *user)
{
    if (z->status != INFLATE_OK)
        return z->status;
    while (len > 0) {
        uInt piece = len > (1u << 30) ? (1u << 30) : (uInt)len;
        z->zs.next_in = (Bytef *)(uintptr_t)data;
        z->zs.avail_in = piece;
        do {
            int rc;
            size_t have;
            z->zs.next_out = z->buf;
            z->zs.avail_out = sizeof z->buf;
            rc = inflate(&z->zs, Z_SYNC_FLUSH);
            have = sizeof z->buf - z->zs.avail_out;
            if (have && rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
                /* what this call inflated before the error is good output:
                 * hand it on, so the result does not depend on the split */
                z->out += have;
                if (out(user, z->buf, have))
                    return INFLATE_OK;
                have = 0;
            }
            if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_STREAM_ERROR) {
                snprintf(z->msg, sizeof z->msg, "%s", z->zs.msg ? z->zs.msg : "invalid data");
                return z->status = INFLATE_ERR_DATA;
            }
            if (rc == Z_MEM_ERROR)
                return z->status = INFLATE_ERR_MEM;
            z->out += have;
            if (z->max_ratio && z->out > INFLATE_BOMB_GRACE &&
                z->out / z->max_ratio > z->in + (piece - z->zs.avail_in)) {
                snprintf(z->msg, sizeof z->msg, "%llu bytes out of %llu in",
                         (unsigned long long)z->out,
                         (unsigned long long)(z->in + piece - z->zs.avail_in));
                return z->status = INFLATE_ERR_BOMB;
            }
            if (have && out(user, z->buf, have))
                return INFLATE_OK;
            if (rc == Z_STREAM_END) {
                /* A final block: the sender ended its stream.  Anything
                 * after it is not DEFLATE. */
                if (z->zs.avail_in > 0) {
                    snprintf(z->msg, sizeof z->msg, "%u bytes after the final block", z->zs.avail_in);
                    return z->status = INFLATE_ERR_END;
                }
                break;
            }
            if (rc == Z_BUF_ERROR && z->zs.avail_in == 0)
                break;
        } while (z->zs.avail_in > 0 || z->zs.avail_out == 0);
        z->in += piece;
        data += piece;
        len -= piece;
    }
    return INFLATE_OK;
}

const char *inflater_message(const inflater *z)
{
    return z && z->msg[0] ? z->msg : NULL;
}

uint64_t inflater_total_in(const inflater *z) { return z->in; }
uint64_t inflater_total_out(const inflater *z) { return z->out; }

void inflater_free(inflater *z)
{
    if (!z)
        return;
    inflateEnd(&z->zs);
    free(z);
}
