/*
 * alert_sig.h - severity and signature id of the alerts raised outside the
 * dissector: TCP reassembly (src/reassembly.h), TLS (src/tls.h), DEFLATE
 * (src/inflate.h) and the engine itself.  The dissector's alerts carry theirs
 * in dissector/imap_anomaly.h (2300001+).
 *
 * Severity as Suricata grades it: 1 high (an attack, evasion, or a bomb),
 * 2 medium (a violation or a cap that loses data), 3 low/informational.
 * signature_id: stable, written out per row (never derived from the order),
 * never reused once retired: 2301xxx TCP, 2302xxx TLS, 2303xxx DEFLATE,
 * 2304xxx the engine's own (alerts_suppressed), 2305xxx the detections
 * across connections (src/detect.h, docs/alerts.md).  A test checks every name of the three layer tables has a
 * row here (tests/unit/test_output.c).
 */
#ifndef ALERT_SIG_H
#define ALERT_SIG_H

/* X("name", severity, signature_id) */
#define ALERT_SIG_TABLE(X)                       \
    X("overlap_mismatch", 1, 2301001)            \
    X("overlap_unverified", 3, 2301002)          \
    X("data_after_fin", 2, 2301003)              \
    X("data_after_close", 2, 2301004)            \
    X("syn_seq_mismatch", 2, 2301005)            \
    X("fin_seq_mismatch", 2, 2301006)            \
    X("reasm_memcap", 2, 2301007)                \
    X("reasm_stream_cap", 2, 2301008)            \
    X("reasm_depth", 3, 2301009)                 \
    X("reasm_alloc_failed", 2, 2301010)          \
    X("segment_too_long", 2, 2301011)            \
    X("tls_not_tls", 2, 2302001)                 \
    X("tls_bad_record", 2, 2302002)              \
    X("tls_record_too_long", 2, 2302003)         \
    X("tls_handshake_too_long", 2, 2302004)      \
    X("tls_bad_handshake", 2, 2302005)           \
    X("tls_no_key", 3, 2302006)                  \
    X("tls_decrypt_failed", 2, 2302007)          \
    X("tls_unsupported_cipher", 3, 2302008)      \
    X("tls_gap", 3, 2302009)                     \
    X("tls_resync", 3, 2302010)                  \
    X("tls_alert", 3, 2302011)                   \
    X("tls_renegotiation", 2, 2302012)           \
    X("tls_unexpected_ccs", 2, 2302013)          \
    X("tls_sslv2_hello", 2, 2302014)             \
    X("tls_early_data", 3, 2302015)              \
    X("tls_truncated", 3, 2302016)               \
    X("tls_heartbeat", 2, 2302017)               \
    X("keylog_truncated", 3, 2302018)            \
    X("tls_handshake_lost", 3, 2302019)          \
    X("tls_unexpected_plaintext", 2, 2302020)    \
    X("tls_handshake_not_seen", 3, 2302021)      \
    X("tls_midstream", 3, 2302022)               \
    X("deflate_corrupt", 2, 2303001)             \
    X("deflate_bomb", 1, 2303002)                \
    X("deflate_no_memory", 2, 2303003)           \
    X("deflate_data_after_end", 2, 2303004)      \
    X("alerts_suppressed", 3, 2304001)           \
    X("auth_bruteforce", 2, 2305001)             \
    X("password_spraying", 1, 2305002)           \
    X("credential_stuffing", 1, 2305003)         \
    X("login_after_failures", 1, 2305004)        \
    X("bulk_download", 2, 2305005)               \
    X("mass_deletion", 2, 2305006)               \
    X("mass_move", 3, 2305007)                   \
    X("starttls_stripped_across_flows", 1, 2305008) \
    X("new_client_fingerprint", 3, 2305009)      \
    X("detect_table_full", 2, 2305010)

/* Severity and signature id of an alert raised in src/; false (and 3, 0)
 * for a name not in the table.  (The engine's cross-connection
 * starttls_stripped uses the dissector's row.) */
#include <stdbool.h>
bool alert_sig_lookup(const char *name, int *severity, unsigned *signature_id);

#endif /* ALERT_SIG_H */
