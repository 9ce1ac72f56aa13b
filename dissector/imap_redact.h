/*
 * imap_redact.h - where the secrets of a client command line are, so that
 * no output (trace text, alert details, counts) shows a LOGIN password or
 * a SASL response unless show_credentials.
 *
 * The rule is positional and needs no successful parse: a line whose
 * first or second word is LOGIN or AUTHENTICATE (any case, words split by
 * SP or TAB) carries a secret.  Only the exact RFC 9051 9 shapes
 *   login        = "LOGIN" SP userid SP password
 *   authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp]
 * after "tag SP" keep the user name or mechanism in sight; in any other
 * shape (double space, TAB, missing tag, a quoted string never closed,
 * ...) everything after the keyword is the secret.  Extra arguments after
 * the password are part of the secret (a password with spaces, unquoted).
 */
#ifndef IMAP_REDACT_H
#define IMAP_REDACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IMAP_REDACT_MARK "<redacted>"

typedef enum imap_redact_kind {
    IMAP_REDACT_NONE = 0,     /* not a LOGIN or AUTHENTICATE line */
    IMAP_REDACT_LOGIN,
    IMAP_REDACT_AUTHENTICATE
} imap_redact_kind;

/* Scans a client line (or the part of it known so far) for its secret.
 * text holds the line without its final CRLF; a literal appears as its
 * marker "{n}" CRLF, followed by its n data bytes when inline_literals
 * (raw wire bytes) and by the rest of the line when not (the session's
 * line buffer, which keeps literal data apart).  Returns the kind and
 * sets *secret_off: where the secret begins (len when the text holds none
 * so far).  A literal whose marker starts at or after *secret_off is a
 * secret; so is every byte of text from *secret_off on.  *clean: the line
 * has the exact RFC shape above (so far). */
imap_redact_kind imapi_redact_scan(const char *text, size_t len, bool inline_literals,
                                  size_t *secret_off, bool *clean);

/* Raw client bytes (one or more CRLF lines with their literal data, as
 * an alert quotes them) with every secret replaced by "<redacted>":
 * LOGIN / AUTHENTICATE lines as imapi_redact_scan says, and the lines that
 * follow an AUTHENTICATE (SASL responses) or a LOGIN and are not
 * "tag SP command" with an alphabetic command.  Writes at most cap - 1
 * bytes to out (raw, not escaped, not NUL-terminated when cap is
 * reached); returns the bytes written. */
size_t imapi_redact_raw(char *out, size_t cap, const uint8_t *data, size_t len);

/* Whether a client line that follows a LOGIN or AUTHENTICATE line (or
 * comes while a SASL exchange runs) looks like "tag SP command" with a
 * command made of letters (and, for "UID x", a space); a line that does
 * not may be the password or a SASL response sent on its own. */
bool imapi_redact_looks_like_command(const char *text, size_t len);

#ifdef __cplusplus
}
#endif

#endif
