/*
 * inflate.h - one direction of IMAP COMPRESS=DEFLATE (RFC 4978): a raw
 * DEFLATE stream (RFC 1951, no zlib or gzip wrapper) inflated as bytes
 * arrive, output handed on as it appears (senders flush with Z_SYNC_FLUSH
 * or Z_PARTIAL_FLUSH; there is no end of stream before the connection's).
 *
 * Bounded: the output buffer is fixed, and a stream that inflates to more
 * than max_ratio bytes per compressed byte (after the first 1 MiB of
 * output) is stopped as a deflate bomb.
 */
#ifndef IMAPSCOPE_INFLATE_H
#define IMAPSCOPE_INFLATE_H

#include <stddef.h>
#include <stdint.h>

#define INFLATE_ERRORS(X)                                                             \
    X(INFLATE_OK, "ok", "no error")                                                   \
    X(INFLATE_ERR_DATA, "deflate_corrupt", "compressed data is not valid DEFLATE")    \
    X(INFLATE_ERR_BOMB, "deflate_bomb", "inflated size beyond the configured ratio")  \
    X(INFLATE_ERR_MEM, "deflate_no_memory", "out of memory for the inflater")         \
    X(INFLATE_ERR_END, "deflate_data_after_end", "bytes after the final DEFLATE block")

typedef enum inflate_status {
#define INFLATE_X(e, n, d) e,
    INFLATE_ERRORS(INFLATE_X)
#undef INFLATE_X
    INFLATE_STATUS_COUNT
} inflate_status;

typedef struct inflater inflater;

/* Output callback: len bytes of inflated data (valid during the call).
 * Non-zero stops inflating (inflater_feed returns INFLATE_OK). */
typedef int (*inflate_out_fn)(void *user, const uint8_t *data, size_t len);

/* A new inflater; max_ratio 0 means no bomb check.  NULL when out of memory. */
inflater *inflater_new(unsigned max_ratio);

/* Inflates len bytes, calling out for each piece of output.  Returns
 * INFLATE_OK, or an error (the inflater is then dead: further calls return
 * the same error without reading). */
int inflater_feed(inflater *z, const uint8_t *data, size_t len, inflate_out_fn out, void *user);

/* zlib's message for the last error, or NULL. */
const char *inflater_message(const inflater *z);
uint64_t inflater_total_in(const inflater *z);
uint64_t inflater_total_out(const inflater *z);
void inflater_free(inflater *z);

const char *inflate_error_name(int status);
const char *inflate_error_description(int status);

#endif /* IMAPSCOPE_INFLATE_H */
