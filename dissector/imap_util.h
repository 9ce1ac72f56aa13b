/*
 * imap_util.h - the one copy of the byte utilities: UTF-8 checking and
 * encoding (RFC 3629), base64 (RFC 4648 4) and hex (RFC 4648 8).
 *
 * Internal to the dissector library (prefix imapi_, not exported as API);
 * the program in src/ links the library and uses the same functions.
 * None allocates; none reads past the bounds it is given.
 */
#ifndef IMAP_UTIL_H
#define IMAP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1..4) of the well-formed UTF-8 sequence starting at p (RFC 3629
 * 4, UTF8-char: no overlong forms, no surrogates D800-DFFF, nothing above
 * U+10FFFF), or 0 when the bytes at p are not one.  ASCII, NUL included,
 * has length 1.  Requires p < end.  When cp is not NULL and the result is
 * not 0, *cp is the code point. */
size_t imapi_utf8_seq(const uint8_t *p, const uint8_t *end, uint32_t *cp);

/* True when [str, str+len) is entirely well-formed UTF-8 (the same
 * acceptance as jansson's utf8_check_string). */
bool imapi_utf8_valid(const char *str, size_t len);

/* Writes the UTF-8 encoding of cp (<= 0x10FFFF) into out; returns its
 * length 1..4, or 0 for a code point above U+10FFFF.  Surrogates are
 * encoded as given (callers that must refuse them check first). */
size_t imapi_utf8_put(uint32_t cp, uint8_t out[4]);

/* Value 0..63 of a base64 alphabet character (RFC 4648 4, Table 1), -1
 * for any other byte ('=' included). */
int imapi_base64_value(unsigned char c);

/* Decodes base64 [in, in+len) (RFC 4648 4), strict alphabet.  Padding is
 * optional (RFC 4648 3.2 allows specifications to omit it); when present
 * it is at the end, at most two "=", and len is a multiple of 4.  A
 * leftover of one character (6 bits) is malformed.  Writes at most outcap
 * bytes to out (the rest is decoded but dropped); *outlen (when not NULL)
 * gets the bytes written.  Returns 0, or -1 for malformed input. */
int imapi_base64_decode(const char *in, size_t len, uint8_t *out, size_t outcap, size_t *outlen);

/* Encodes len bytes as padded base64 (RFC 4648 4) into out, NUL-terminated.
 * Needs outcap >= 4 * ((len + 2) / 3) + 1.  Returns the characters written
 * (not counting the NUL), or 0 when out is too small (out[0] = NUL then
 * when outcap > 0). */
size_t imapi_base64_encode(const uint8_t *in, size_t len, char *out, size_t outcap);

/* Value 0..15 of a hex digit (either case), -1 for any other byte. */
int imapi_hex_value(int c);

/* Writes 2*len lowercase hex digits of in (RFC 4648 8, in lower case as
 * the formats we write use) and a NUL; out needs 2*len+1 bytes. */
void imapi_hex_encode(const uint8_t *in, size_t len, char *out);

/* Decodes the hex digits [in, in+len) (either case) into out (cap bytes).
 * Returns the bytes written, or -1 for an odd length, a non-digit, or more
 * than cap bytes. */
long imapi_hex_decode(const char *in, size_t len, uint8_t *out, size_t cap);

#endif
