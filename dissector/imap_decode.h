/*
 * imap_decode.h - command- and response-specific decoding (internal).
 *
 * Built on the generic values of imap_value.h: these functions give meaning
 * to the tokens of a command's arguments, an untagged response, a response
 * code, a capability list; they never see raw stream bytes.  Each names the
 * grammar rule it implements (RFC 9051 9 / RFC 3501 9 / the extension RFC).
 */
#ifndef IMAP_DECODE_H
#define IMAP_DECODE_H

#include "imap_value.h"

typedef struct imap_decode_ctx {
    bool show_credentials;  /* LOGIN password etc. in clear; otherwise "<redacted>" */
    bool utf8_accept;       /* UTF8=ACCEPT enabled: mailbox names are UTF-8, not modified UTF-7 */
} imap_decode_ctx;

/* Command arguments.  cmd: the upper-case command name ("FETCH", "UID FETCH",
 * "APPEND", "X-FOO"...).  args: a LIST of the tokens after the command name
 * (after the UID sub-command for UID commands).  Adds the decoded fields to
 * obj (the transaction's "imap" object), with names documented in
 * docs/decoded.md: e.g. "mailbox" (+ "mailbox_raw" when it was modified
 * UTF-7), "sequence_set", "uid", "items", "search", "flags", "store",
 * "user" (LOGIN; the password is never added unless show_credentials).
 * Returns 0, or -1 with *err set (a static message: the arguments do not
 * match the command's grammar; obj still holds what could be decoded). */
int imapi_decode_command(const imap_decode_ctx *ctx, const char *cmd,
                        const imap_value *args, imap_node *obj, const char **err);

/* An untagged response other than a status response: the tokens after "* "
 * ("12 FETCH (...)", "CAPABILITY ...", "LIST (\HasNoChildren) "/" INBOX",
 * "ESEARCH ...", "VANISHED ..."...).  Returns a new object
 * {"type": "FETCH", "number": 12, ...decoded fields} (caller owns), or an
 * object with "type" and "raw" plus *err set when it could not be decoded. */
imap_node *imapi_decode_untagged(const imap_decode_ctx *ctx, const imap_value *tokens, const char **err);

/* A response code (RFC 9051 9: resp-text-code): name is its atom (upper or
 * any case), args a LIST of the tokens after it (may be empty or NULL).
 * Returns a new object {"code": "UIDNEXT", ...decoded fields} (e.g.
 * "uidnext": 4392, "capabilities": [...], "flags": [...], "copyuid": {...});
 * an unknown code keeps {"code": name, "raw": "..."}. */
imap_node *imapi_decode_resp_code(const imap_decode_ctx *ctx, const char *name,
                              const imap_value *args, const char *raw, size_t raw_len);

/* A capability list (the tokens of "* CAPABILITY ..." or of a CAPABILITY
 * code): returns a new array of objects {"name", "rfc", "meaning"} or
 * {"name", "known": false}. */
imap_node *imapi_decode_capabilities(const imap_value *tokens);

/* Modified UTF-7 mailbox name (RFC 3501 5.1.3) to UTF-8.  Writes at most
 * outcap bytes (NUL-terminated), *outlen the length.  Returns 0, or -1 when
 * the input is not valid modified UTF-7 (out then undefined). */
int imapi_mutf7_to_utf8(const char *in, size_t len, char *out, size_t outcap, size_t *outlen);

/* Adds "<key>" (UTF-8) and, when different, "<key>_raw" (wire form) for a
 * mailbox name value to obj.  Returns 0, -1 when v is not an astring. */
int imapi_add_mailbox(const imap_decode_ctx *ctx, imap_node *obj, const char *key, const imap_value *v);

#endif /* IMAP_DECODE_H */
