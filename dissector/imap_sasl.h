/*
 * imap_sasl.h - decoding of the SASL exchange of IMAP AUTHENTICATE
 * (RFC 9051 6.2.2, RFC 4959 SASL-IR) (internal to the dissector).
 *
 * One imap_sasl per AUTHENTICATE command.  The session hands it each base64
 * line of the exchange: the initial response (SASL-IR), the server's
 * challenges (text after "+ ") and the client's responses.  Decoded fields
 * accumulate in a jansson object; secrets (passwords, proofs, digests,
 * tokens) become "<redacted>" unless show_credentials.
 *
 * Mechanisms: PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login), CRAM-MD5
 * (RFC 2195), DIGEST-MD5 (RFC 2831), SCRAM-SHA-1/-256[-PLUS] (RFC 5802,
 * RFC 7677), XOAUTH2 (Google), OAUTHBEARER (RFC 7628), NTLM (MS-NLMP),
 * EXTERNAL/ANONYMOUS (RFC 4422 / RFC 4505), GSSAPI and others (opaque).
 */
#ifndef IMAP_SASL_H
#define IMAP_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "imap_node.h"

#define IMAP_SASL_REDACTED "<redacted>"
/* IMAP_SASL_MAX_DECODED: imap_limits.h */

typedef struct imap_sasl {
    char     mechanism[48];   /* upper case, NUL-terminated, truncated */
    bool     show_credentials;
    unsigned client_steps;    /* client responses seen (initial response included) */
    unsigned server_steps;    /* server challenges seen */
    bool     cancelled;       /* the client sent "*" (RFC 9051 6.2.2) */
    bool     plain_prompts;   /* LOGIN: the server prompted in plain text, not base64 */
    imap_node  *info;            /* decoded fields (owned) */
} imap_sasl;

/* Starts an exchange for mechanism (need not be NUL-terminated). */
void imapi_sasl_init(imap_sasl *x, const char *mech, size_t mech_len, bool show_credentials);

/* One client response, base64 text (without CRLF).  "*" cancels; "=" is an
 * empty initial response (RFC 4959 3).  Returns 0, or -1 when the text is
 * not valid base64 (the step is counted and noted, nothing decoded). */
int imapi_sasl_client(imap_sasl *x, const char *b64, size_t len);

/* One server challenge: the text after "+ " (may be empty).  Returns 0 or
 * -1 for invalid base64 (servers sometimes send plain text: noted). */
int imapi_sasl_server(imap_sasl *x, const char *b64, size_t len);

/* The decoded fields, {"user": ..., "authzid": ..., ...}: borrowed, valid
 * until imapi_sasl_clear. */
const imap_node *imapi_sasl_info(const imap_sasl *x);

/* The authentication identity ("user"), or NULL when none was seen. */
const char *imapi_sasl_user(const imap_sasl *x);

/* True for mechanisms that carry a reusable secret in clear (PLAIN, LOGIN,
 * XOAUTH2, OAUTHBEARER): worth an alert without TLS. */
bool imapi_sasl_mech_is_cleartext(const char *mech, size_t len);

void imapi_sasl_clear(imap_sasl *x);

/* Base64 decoding: imapi_base64_decode in imap_util.h. */

#endif /* IMAP_SASL_H */
