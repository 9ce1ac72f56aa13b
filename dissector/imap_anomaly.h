/*
 * imap_anomaly.h - the dissector's named anomalies: ONE X-macro table gives
 * the enum, the stable snake_case JSON name and a one-line description.
 *
 * Names are an interface (SIEM rules match them): add freely, never rename.
 * Included by imap.h; the lookups are implemented in imap_anomaly.c.
 */
#ifndef IMAP_ANOMALY_H
#define IMAP_ANOMALY_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(enum suffix, "name", "description") */
#define IMAP_ANOMALY_TABLE(X) \
    X(MALFORMED_COMMAND, "malformed_command", "client line does not match the command grammar (RFC 9051 9: command)") \
    X(MALFORMED_RESPONSE, "malformed_response", "server line does not match the response grammar (RFC 9051 9: response)") \
    X(LINE_TOO_LONG, "line_too_long", "line longer than max_line: discarded up to the next CRLF") \
    X(BARE_LF, "bare_lf", "line ended by LF without CR (RFC 9051 9: CRLF required)") \
    X(NUL_BYTE, "nul_byte", "NUL byte in a line outside a literal (RFC 9051 4.3: CHAR8 excludes NUL)") \
    X(EIGHT_BIT_IN_ATOM, "eight_bit_in_atom", "8-bit byte in a tag or command name (RFC 9051 9: ATOM-CHAR is 7-bit)") \
    X(LITERAL_TOO_LARGE, "literal_too_large", "literal announced larger than max_literal (its bytes are still skipped)") \
    X(NONSYNC_LITERAL_NOT_ADVERTISED, "nonsync_literal_not_advertised", "client {n+} literal without LITERAL+/LITERAL- advertised (RFC 7888 4)") \
    X(LITERAL_MINUS_TOO_LARGE, "literal_minus_too_large", "non-synchronizing literal over 4096 bytes under LITERAL- (RFC 7888 5)") \
    X(LITERAL_INCOMPLETE, "literal_incomplete", "literal cut short by a gap or the end of the stream") \
    X(TOO_MANY_LITERALS, "too_many_literals", "more literals in one line than the dissector records (the rest only skipped)") \
    X(TAG_REUSED, "tag_reused", "client reused a tag that is still pending (RFC 9051 2.2.1)") \
    X(UNKNOWN_TAG, "unknown_tag", "tagged response whose tag matches no pending command") \
    X(TOO_MANY_PENDING, "too_many_pending", "more commands pending than max_pending: the oldest was abandoned") \
    X(COMMAND_INVALID_IN_STATE, "command_invalid_in_state", "command not valid in the session state (RFC 9051 3, 6)") \
    X(UNKNOWN_COMMAND, "unknown_command", "command name not in RFC 9051/3501 nor a known extension") \
    X(BAD_BASE64, "bad_base64", "AUTHENTICATE line is not valid base64 (RFC 9051 6.2.2)") \
    X(DATA_AFTER_GAP, "data_after_gap", "bytes lost mid-line: partial line dropped, resynchronising") \
    X(CONTINUATION_UNEXPECTED, "continuation_unexpected", "continuation request with no command that could expect it") \
    X(RESPONSE_BEFORE_GREETING, "response_before_greeting", "client command or server response before the server greeting (RFC 9051 7.1)") \
    X(DATA_AFTER_LOGOUT, "data_after_logout", "command or response after the logout state was reached") \
    X(STARTTLS_COMMAND_INJECTION, "starttls_command_injection", "client plaintext after STARTTLS before the server's OK (CVE-2011-0411 class)") \
    X(STARTTLS_RESPONSE_INJECTION, "starttls_response_injection", "server plaintext after its STARTTLS OK where the TLS handshake was due") \
    X(STARTTLS_UNTAGGED_BEFORE_OK, "starttls_untagged_before_ok", "untagged or continuation response between STARTTLS and its OK (RFC 9051 6.2.1)") \
    X(STARTTLS_INVALID_STATE, "starttls_invalid_state", "STARTTLS outside the not-authenticated state or inside TLS (RFC 9051 6.2.1)") \
    X(STARTTLS_CLIENT_CLEARTEXT, "starttls_client_cleartext", "client stayed in cleartext after the STARTTLS OK") \
    X(TLS_BEFORE_STARTTLS_OK, "tls_before_starttls_ok", "client sent a TLS record before the STARTTLS OK arrived") \
    X(PREAUTH_CLEARTEXT, "preauth_cleartext", "PREAUTH greeting on a cleartext connection: STARTTLS is impossible") \
    X(CLEARTEXT_CREDENTIALS, "cleartext_credentials", "LOGIN or AUTHENTICATE PLAIN/LOGIN without TLS: credentials in clear") \
    X(STARTTLS_STRIPPED, "starttls_stripped", "STARTTLS refused or not offered (no LOGINDISABLED), then credentials in clear") \
    X(MEMCAP, "memcap", "the dissector memory budget shared by all sessions (imap_budget, --imap-memcap) was reached: what was about to be kept was dropped (see detail)") \
    X(RESPONSES_DROPPED, "responses_dropped", "a transaction reached max_responses or max_txn_bytes: later untagged responses are only counted (responses_dropped in the event)") \
    X(CLIENT_STREAM_MISSING, "client_stream_missing", "tagged responses while the client sent no bytes at all (one-sided capture): commands unknown, reported once instead of unknown_tag")

typedef enum imap_anomaly {
#define IMAP_ANOMALY_ENUM(id, name, desc) IMAP_ANOM_##id,
    IMAP_ANOMALY_TABLE(IMAP_ANOMALY_ENUM)
#undef IMAP_ANOMALY_ENUM
    IMAP_ANOM__COUNT
} imap_anomaly;

/* Stable snake_case name / one-line description; "unknown" for an
 * out-of-range value.  Static strings. */
const char *imap_anomaly_name(imap_anomaly a);
const char *imap_anomaly_description(imap_anomaly a);

#ifdef __cplusplus
}
#endif
#endif /* IMAP_ANOMALY_H */
