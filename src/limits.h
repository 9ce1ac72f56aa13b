/*
 * limits.h - every cap and default of the program, in one place.
 *
 * Each value can be changed from the command line (see `imapscope --help`,
 * section "Limits").  Reaching a cap is always reported: a counter in the
 * final "stats" event and, where it concerns one connection, an alert.
 */
#ifndef IMAPSCOPE_LIMITS_H
#define IMAPSCOPE_LIMITS_H

/* Flow table */
#define LIM_MAX_FLOWS            100000u     /* concurrent TCP connections tracked */
#define LIM_FLOW_IDLE_TIMEOUT_S  600u        /* a connection silent this long is ended */
#define LIM_FLOW_CLOSED_LINGER_S 5u          /* after FIN/RST both ways, keep for late packets */

/* TCP reassembly */
#define LIM_REASM_PER_FLOW       (1u << 20)  /* out-of-order bytes held per direction */
#define LIM_REASM_TOTAL          (64u << 20) /* out-of-order bytes held in all */
#define LIM_REASM_DEPTH          0u          /* 0 = no depth limit */
#define LIM_REASM_VERIFY_WINDOW  2048u       /* delivered bytes kept per direction to compare
                                                retransmissions with (older: overlap_unverified) */

/* IP fragments */
#define LIM_FRAG_DATAGRAMS       1024u
#define LIM_FRAG_BYTES           (4u << 20)
#define LIM_FRAG_TIMEOUT_S       30u

/* IMAP dissector (imap_config) */
#define LIM_IMAP_MAX_LINE        (64u << 10) /* text of one logical line */
#define LIM_IMAP_MAX_LITERAL     (1ull << 32)/* literal announced larger: anomaly */
#define LIM_IMAP_LITERAL_KEEP    1024u       /* literal bytes kept for decoding */
#define LIM_IMAP_MAX_PENDING     256u        /* commands awaiting a tagged response */
#define LIM_IMAP_MAX_RESPONSES   64u         /* decoded untagged responses per transaction */
#define LIM_IMAP_MAX_TXN_BYTES   (256u << 10)/* decoded JSON held per transaction */
#define LIM_IMAP_MEMCAP          (128u << 20)/* dissector memory of all sessions beyond their fixed part
                                              * (long lines, kept literals, pending commands, decoded
                                              * responses): imap_budget */

/* Alerts: of each kind (name) on one connection, the first N are written;
 * later ones are counted (imap_session anomalies[].count and .suppressed,
 * stats events.alerts_suppressed) after one "alerts_suppressed" alert. */
#define LIM_MAX_ALERTS_PER_KIND  10u         /* 0 = every alert is written */

/* Text trace: bytes of an IMAP line's text shown; the rest is summarised
 * as "... [+N bytes]" (the JSON keeps everything). */
#define LIM_MAX_TEXT_LINE        200u        /* 0 = the whole line */

/* Layers (TLS, DEFLATE) */
#define LIM_TLS_MAX_RECORD       (16384u + 2048u) /* TLSCiphertext.length limit (RFC 8446 5.2) */
#define LIM_TLS_MAX_HANDSHAKE    (256u << 10)/* one handshake message */
#define LIM_STARTTLS_SERVERS     4096u       /* servers remembered as offering STARTTLS (one run) */
#define LIM_STARTTLS_WAITING     4096u       /* cleartext logins waiting for that evidence */
#define LIM_INFLATE_RATIO        1000u       /* inflated bytes per compressed byte (deflate bomb) */
#define LIM_KEYLOG_BYTES         (64u << 20) /* key log file size */

/* Capture */
#define LIM_SNAPLEN              262144
#define LIM_PCAP_BUFFER          (16 << 20)

#endif /* IMAPSCOPE_LIMITS_H */
