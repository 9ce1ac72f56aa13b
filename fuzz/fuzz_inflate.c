/*
 * fuzz_inflate.c - libFuzzer target for the COMPRESS=DEFLATE inflater
 * (src/inflate.h).
 *
 * Input: byte 0 = bits 0-1: ratio (0 = no bomb check, 1: 2, 2: 10,
 * 3: 1000); bits 2-7: split seed.  The rest is the raw DEFLATE stream.
 * Run twice: whole, then in pieces of 1..64 bytes chosen from the seed.
 * Checked: without a ratio both runs give the same status and, when OK,
 * the same output bytes (hash and length); with a ratio, output never exceeds the
 * 1 MiB grace + ratio * input + one output chunk (16 KiB) before
 * deflate_bomb stops it; a dead inflater stays dead; status names exist.
 *
 * Build: make fuzz (build-fuzz/fuzz_inflate).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "inflate.h"

typedef struct sink {
    uint64_t len;
    uint64_t hash;
} sink;

static int on_out(void *user, const uint8_t *d, size_t n)
{
    sink *s = user;

    for (size_t i = 0; i < n; i++)
        s->hash = (s->hash ^ d[i]) * 1099511628211ull;
    s->len += n;
    return 0;
}

static int run(const uint8_t *data, size_t size, unsigned ratio, unsigned seed, sink *s)
{
    inflater *z = inflater_new(ratio);
    int rc = INFLATE_OK;
    size_t off = 0;
    uint32_t x = seed * 2654435761u + 1u;

    if (!z)
        __builtin_trap();
    memset(s, 0, sizeof *s);
    s->hash = 14695981039346656037ull;
    while (off < size && rc == INFLATE_OK) {
        size_t piece = size - off;
        if (seed) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            piece = 1 + x % 64;
            if (piece > size - off)
                piece = size - off;
        }
        rc = inflater_feed(z, data + off, piece, on_out, s);
        off += piece;
        if (ratio && inflater_total_out(z) > (1u << 20) + (uint64_t)ratio * inflater_total_in(z) + 16384u + (uint64_t)ratio * 64u)
            __builtin_trap();
    }
    if (rc != INFLATE_OK) {
        uint8_t b = 0;
        if (inflater_feed(z, &b, 1, on_out, s) != rc || !inflate_error_name(rc))
            __builtin_trap();
    }
    /* every inflated byte is handed on, except the chunk that proved a bomb */
    if (rc == INFLATE_OK ? inflater_total_out(z) != s->len : inflater_total_out(z) < s->len)
        __builtin_trap();
    inflater_free(z);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned ratios[4] = {0, 2, 10, 1000};
    unsigned ratio, seed;
    sink a, b;
    int ra, rb;

    if (size < 1)
        return 0;
    ratio = ratios[data[0] & 3];
    seed = (data[0] >> 2) + 1u;
    ra = run(data + 1, size - 1, ratio, 0, &a);
    rb = run(data + 1, size - 1, ratio, seed, &b);
    /* Same status; same output when OK.  After an error the two runs may
     * differ by up to one output chunk (16 KiB): inflater_feed drops the
     * output of the zlib call that met the corrupt bytes, and where that
     * call starts depends on the split (see fuzz/README.md, findings). */
    if (ratio == 0 && (ra != rb || (ra == INFLATE_OK && (a.len != b.len || a.hash != b.hash)) ||
                       (ra != INFLATE_OK && (a.len > b.len + 16384 || b.len > a.len + 16384))))
        __builtin_trap();
    return 0;
}
