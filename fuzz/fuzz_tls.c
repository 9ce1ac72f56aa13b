/*
 * fuzz_tls - libFuzzer target for the TLS record/handshake layer (src/tls.h).
 *
 * Input: byte 0 = flags (bit 0: feed byte by byte, bit 1: insert a gap,
 * bit 2: use a key log whose CLIENT_RANDOM / TLS 1.3 lines match the client
 * random 00..00 so decryption paths run), then a sequence of chunks:
 * u8 header (bit 7 = direction, bits 0-6 = length) + bytes.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE
 *        -Isrc -Idissector fuzz/fuzz_tls.c src/tls*.c src/keylog.c
 *        -lssl -lcrypto -ljansson -lz -lpthread
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keylog.h"
#include "tls.h"

static keylog *kl;

static void cb_anom(void *u, int dir, const char *n, const char *d, const char *det, uint64_t ts) {}
static void cb_hs(void *u, json_t *ev, uint64_t ts)
{
    char *s = json_dumps(ev, JSON_COMPACT);   /* the event must serialise */
    free(s);
    json_decref(ev);
}
static void cb_plain(void *u, imap_dir dir, const uint8_t *d, size_t n, uint64_t ts)
{
    volatile uint8_t x = 0;
    for (size_t i = 0; i < n; i++)
        x ^= d[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!kl) {
        static const char txt[] =
            "CLIENT_RANDOM 0000000000000000000000000000000000000000000000000000000000000000 "
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f\n"
            "SERVER_HANDSHAKE_TRAFFIC_SECRET 0000000000000000000000000000000000000000000000000000000000000000 "
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET 0000000000000000000000000000000000000000000000000000000000000000 "
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
        char err[128];
        kl = keylog_parse(txt, sizeof txt - 1, err, sizeof err);
    }
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    tls_config cfg;
    tls_config_default(&cfg);
    if (flags & 4)
        cfg.keylog = kl;
    cfg.max_handshake = 4096;
    tls_callbacks cb = {cb_plain, NULL, cb_hs, cb_anom};
    tls_conn *t = tls_conn_new(&cfg, &cb, NULL);
    size_t i = 1;
    unsigned nchunk = 0;
    while (i < size) {
        int dir = data[i] >> 7;
        size_t n = data[i] & 0x7f;
        i++;
        if (n > size - i)
            n = size - i;
        if ((flags & 2) && nchunk == 3)
            tls_conn_gap(t, dir, n + 1, 0);
        if (flags & 1)
            for (size_t k = 0; k < n; k++)
                tls_conn_feed(t, dir, data + i + k, 1, 0);
        else
            tls_conn_feed(t, dir, data + i, n, 0);
        i += n;
        nchunk++;
    }
    tls_conn_end(t, 0);
    json_t *s = tls_conn_summary(t, true);
    char *js = json_dumps(s, JSON_COMPACT);
    free(js);
    json_decref(s);
    tls_conn_free(t);
    return 0;
}
