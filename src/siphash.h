/*
 * siphash.h - SipHash-2-4 (Aumasson & Bernstein, 2012), the keyed hash of
 * the flow and fragment tables: with a random key, crafted addresses
 * cannot make them degrade.
 */
#ifndef IMAPSCOPE_SIPHASH_H
#define IMAPSCOPE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* The 64-bit SipHash-2-4 of in[0..len) under the 16-byte key (read as two
 * little-endian 64-bit words, as in the reference implementation). */
uint64_t siphash24(const uint8_t *in, size_t len, const uint8_t key[16]);

#endif /* IMAPSCOPE_SIPHASH_H */
