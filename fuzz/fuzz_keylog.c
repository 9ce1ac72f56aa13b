/*
 * fuzz_keylog - libFuzzer target for the NSS key log reader (src/keylog.h):
 * parse the input, then look up every random that was stored.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE
 *        -Isrc fuzz/fuzz_keylog.c src/keylog.c
 */
#include <stdint.h>
#include <string.h>

#include "keylog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[128];
    keylog *kl = keylog_parse((const char *)data, size, err, sizeof err);
    if (!kl)
        return 0;
    for (size_t i = 0; i < kl->n; i++) {
        size_t len = 0;
        const uint8_t *s = keylog_lookup(kl, (keylog_label)kl->e[i].label, kl->e[i].random, &len);
        /* duplicates: the first line wins, so only presence is checked */
        if (!s || len == 0 || len > KEYLOG_MAX_SECRET || !keylog_has_random(kl, kl->e[i].random))
            __builtin_trap();
    }
    keylog_free(kl);
    return 0;
}
