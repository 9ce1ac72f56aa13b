/*
 * imap_anomaly.h - the dissector's named anomalies: ONE X-macro table gives
 * the enum, the stable snake_case JSON name and a one-line description.
 *
 * Names are an interface (SIEM rules match them): add freely, never rename.
 * Each row also carries a severity as Suricata grades it (1 high: an attack
 * or credentials exposed; 2 medium: a protocol violation or a cap reached
 * that loses data; 3 low/informational) and a signature_id: a stable
 * number, 2300001 upwards in the order rows were added, written out in the
 * row so that moving a row cannot change it; a retired row's number is
 * never given to another.  The alerts raised outside the dissector (TCP,
 * TLS, DEFLATE, engine) number theirs in src/alert_sig.h (2301001+).
 * Included by imap.h; the lookups are implemented in imap_anomaly.c.
 */
#ifndef IMAP_ANOMALY_H
#define IMAP_ANOMALY_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(enum suffix, "name", severity 1-3, signature_id, "description") */
#define IMAP_ANOMALY_TABLE(X) \
    X(MALFORMED_COMMAND, "malformed_command", 3, 2300001, "client line does not match the command grammar (RFC 9051 9: command)") \
    X(MALFORMED_RESPONSE, "malformed_response", 3, 2300002, "server line does not match the response grammar (RFC 9051 9: response)") \
    X(LINE_TOO_LONG, "line_too_long", 2, 2300003, "line longer than max_line: discarded up to the next CRLF") \
    X(BARE_LF, "bare_lf", 3, 2300004, "line ended by LF without CR (RFC 9051 9: CRLF required)") \
    X(NUL_BYTE, "nul_byte", 2, 2300005, "NUL byte in a line outside a literal (RFC 9051 4.3: CHAR8 excludes NUL)") \
    X(EIGHT_BIT_IN_ATOM, "eight_bit_in_atom", 3, 2300006, "8-bit byte in a tag or command name (RFC 9051 9: ATOM-CHAR is 7-bit)") \
    X(LITERAL_TOO_LARGE, "literal_too_large", 2, 2300007, "literal announced larger than max_literal (its bytes are still skipped)") \
    X(NONSYNC_LITERAL_NOT_ADVERTISED, "nonsync_literal_not_advertised", 3, 2300008, "client {n+} literal without LITERAL+/LITERAL- advertised (RFC 7888 4)") \
    X(LITERAL_MINUS_TOO_LARGE, "literal_minus_too_large", 3, 2300009, "non-synchronizing literal over 4096 bytes under LITERAL- (RFC 7888 5)") \
    X(LITERAL_INCOMPLETE, "literal_incomplete", 3, 2300010, "literal cut short by a gap or the end of the stream") \
    X(TOO_MANY_LITERALS, "too_many_literals", 2, 2300011, "more literals in one line than the dissector records (the rest only skipped)") \
    X(TAG_REUSED, "tag_reused", 3, 2300012, "client reused a tag that is still pending (RFC 9051 2.2.1)") \
    X(UNKNOWN_TAG, "unknown_tag", 3, 2300013, "tagged response whose tag matches no pending command") \
    X(TOO_MANY_PENDING, "too_many_pending", 2, 2300014, "more commands pending than max_pending: the oldest was abandoned") \
    X(COMMAND_INVALID_IN_STATE, "command_invalid_in_state", 3, 2300015, "command not valid in the session state (RFC 9051 3, 6)") \
    X(UNKNOWN_COMMAND, "unknown_command", 3, 2300016, "command name not in RFC 9051/3501 nor a known extension") \
    X(BAD_BASE64, "bad_base64", 3, 2300017, "AUTHENTICATE line is not valid base64 (RFC 9051 6.2.2)") \
    X(DATA_AFTER_GAP, "data_after_gap", 3, 2300018, "bytes lost mid-line: partial line dropped, resynchronising") \
    X(CONTINUATION_UNEXPECTED, "continuation_unexpected", 3, 2300019, "continuation request with no command that could expect it") \
    X(RESPONSE_BEFORE_GREETING, "response_before_greeting", 3, 2300020, "client command or server response before the server greeting (RFC 9051 7.1)") \
    X(DATA_AFTER_LOGOUT, "data_after_logout", 3, 2300021, "command or response after the logout state was reached") \
    X(STARTTLS_COMMAND_INJECTION, "starttls_command_injection", 1, 2300022, "client plaintext after STARTTLS before the server's OK (CVE-2011-0411 class)") \
    X(STARTTLS_RESPONSE_INJECTION, "starttls_response_injection", 1, 2300023, "server plaintext after its STARTTLS OK where the TLS handshake was due") \
    X(STARTTLS_UNTAGGED_BEFORE_OK, "starttls_untagged_before_ok", 2, 2300024, "untagged or continuation response between STARTTLS and its OK (RFC 9051 6.2.1)") \
    X(STARTTLS_INVALID_STATE, "starttls_invalid_state", 2, 2300025, "STARTTLS outside the not-authenticated state or inside TLS (RFC 9051 6.2.1)") \
    X(STARTTLS_CLIENT_CLEARTEXT, "starttls_client_cleartext", 1, 2300026, "client stayed in cleartext after the STARTTLS OK") \
    X(TLS_BEFORE_STARTTLS_OK, "tls_before_starttls_ok", 2, 2300027, "client sent a TLS record before the STARTTLS OK arrived") \
    X(PREAUTH_CLEARTEXT, "preauth_cleartext", 2, 2300028, "PREAUTH greeting on a cleartext connection: STARTTLS is impossible") \
    X(CLEARTEXT_CREDENTIALS, "cleartext_credentials", 1, 2300029, "LOGIN or AUTHENTICATE PLAIN/LOGIN without TLS: credentials in clear") \
    X(STARTTLS_STRIPPED, "starttls_stripped", 1, 2300030, "credentials in clear after STARTTLS was refused (NO/BAD) or left unanswered, or mangled in the capability list (e.g. XXXXXXXX, STARTTLZ), or where the same server offered STARTTLS to other clients in this capture") \
    X(MEMCAP, "memcap", 2, 2300031, "the dissector memory budget shared by all sessions (imap_budget, --imap-memcap) was reached: what was about to be kept was dropped (see detail)") \
    X(RESPONSES_DROPPED, "responses_dropped", 3, 2300032, "a transaction reached max_responses or max_txn_bytes: later untagged responses are only counted (responses_dropped in the event)") \
    X(CLIENT_STREAM_MISSING, "client_stream_missing", 3, 2300033, "tagged responses while the client sent no bytes at all (one-sided capture): commands unknown, reported once instead of unknown_tag")

typedef enum imap_anomaly {
#define IMAP_ANOMALY_ENUM(id, name, sev, sid, desc) IMAP_ANOM_##id,
    IMAP_ANOMALY_TABLE(IMAP_ANOMALY_ENUM)
#undef IMAP_ANOMALY_ENUM
    IMAP_ANOM__COUNT
} imap_anomaly;

/* Stable snake_case name / one-line description; "unknown" for an
 * out-of-range value.  Static strings. */
const char *imap_anomaly_name(imap_anomaly a);
const char *imap_anomaly_description(imap_anomaly a);
/* Severity 1 (high) to 3 (low), as Suricata; 3 for an out-of-range value. */
int imap_anomaly_severity(imap_anomaly a);
/* Stable signature id (2300001+); 0 for an out-of-range value. */
unsigned imap_anomaly_signature_id(imap_anomaly a);

#ifdef __cplusplus
}
#endif
#endif /* IMAP_ANOMALY_H */
