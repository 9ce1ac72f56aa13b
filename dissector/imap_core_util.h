/*
 * imap_core_util.h - small helpers of the session core (internal): escaping
 * network bytes for JSON and human text.
 */
#ifndef IMAP_CORE_UTIL_H
#define IMAP_CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include "imap_node.h"

/* Copies in[0..len) to out (cap bytes, NUL-terminated) keeping printable
 * ASCII and valid UTF-8 sequences, writing every other byte as \xHH.  When
 * the result does not fit it is cut on a character boundary and ends with
 * "...".  Returns the length written (excluding the NUL).  cap >= 4. */
size_t imapi_core_escape(char *out, size_t cap, const uint8_t *in, size_t len);

/* A JSON string of network bytes escaped as above, at most maxlen output
 * bytes (0: 4096).  Never NULL unless out of memory. */
imap_node *imapi_core_json_bytes(const void *in, size_t len, size_t maxlen);


#endif /* IMAP_CORE_UTIL_H */
