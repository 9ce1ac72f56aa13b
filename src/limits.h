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

/* Packet decoding (decode_config defaults): src/decode.h */
#define DECODE_DEFAULT_MAX_VLAN     8   /* stacked VLAN tags */
#define DECODE_DEFAULT_MAX_MPLS     8   /* MPLS labels */
#define DECODE_DEFAULT_MAX_TUNNEL   3   /* IP-in-IP nesting below the outer header */
#define DECODE_MAX_IPV6_EXT        16   /* IPv6 extension headers per IP header */

/* IP fragment module (ipfrag_config defaults; LIM_FRAG_* are the command-line defaults): src/ipfrag.h */
#define IPFRAG_DEFAULT_MAX_DATAGRAMS 1024u
#define IPFRAG_DEFAULT_MAX_BYTES     (4u * 1024u * 1024u)
#define IPFRAG_DEFAULT_TIMEOUT_US    (30ull * 1000000ull)
/* Largest reassembled payload (IPv4 total length / IPv6 payload length is a
 * 16-bit field). */
#define IPFRAG_MAX_DATAGRAM          65535u
/* Disjoint byte ranges held per datagram; one more hole than this drops the
 * datagram (IPFRAG_EV_TOO_MANY_HOLES).  In-order fragments merge into one
 * range, so only scattered arrival uses them. */
#define IPFRAG_MAX_RANGES            32u
/* Completed buffers kept alive until ipfrag_release_completed(): enough for
 * a reassembled datagram nested in another (tunnels). */
#define IPFRAG_MAX_COMPLETED         8u

/* Reassembly module (reasm_config defaults; LIM_REASM_* are the command-line defaults): src/reassembly.h */
#define REASM_DEFAULT_MAX_HELD_PER_STREAM ((size_t)1 << 20)  /* 1 MiB held  */
#define REASM_DEFAULT_MAX_BLOCKS_PER_STREAM 1024u            /* list length */
#define REASM_DEFAULT_MEMCAP_TOTAL ((size_t)64 << 20)        /* 64 MiB      */
#define REASM_DEFAULT_DEPTH 0u                               /* 0 = no limit*/
#define REASM_DEFAULT_RECENT_WINDOW ((size_t)64 << 10)       /* 64 KiB      */
#define REASM_RECENT_WINDOW_INITIAL ((size_t)4 << 10)        /* first ring  */
#define REASM_MAX_SEGMENT_LEN ((size_t)1 << 20) /* larger payload = bogus   */

/* HTML report (report_config defaults): src/report.h */
#define REPORT_MAX_CONNS      2000u        /* connection rows kept */
#define REPORT_MAX_TRACES     100u         /* traces kept in the page */
#define REPORT_TRACE_BYTES    (32u << 10)  /* bytes of one connection's trace */
#define REPORT_TRACE_MEMCAP   (64u << 20)  /* bytes of the traces of all open connections */
#define REPORT_MAX_KEYS       10000u       /* distinct users, clients, servers, alert kinds each */
#define REPORT_MAX_ROWS       1000u        /* alert rows, message rows each */
#define REPORT_MAX_COMMANDS   64u          /* distinct command names (more: "(other)") */
#define REPORT_BUCKETS        100u         /* buckets of the time axis */
#define REPORT_EXACT_SAMPLES  256u         /* latencies kept per command for exact percentiles */
#define REPORT_TIMELINE_BARS  300u         /* connections drawn as bars in the timeline */

/* Workers: src/workers.h */
#define WORKERS_MAX             64
#define WORKERS_BATCH_PACKETS   512
#define WORKERS_BATCH_BYTES     (512u << 10)

/* Engine: src/engine.h */
#define ENGINE_MAX_SERVER_PORTS 32
#define ENGINE_MAX_TLS_PORTS    32

/* Key log: src/keylog.h */
#define KEYLOG_MAX_SECRET 64       /* bytes (SHA-384 secrets are 48) */
#define KEYLOG_MAX_LINE 1024       /* longer lines are skipped */

/* TLS certificates: src/tls_cert.h */
#define TLS_CERT_MAX_CHAIN 10      /* certificates summarised per message */
#define TLS_CERT_MAX_SANS 64       /* SAN entries kept per certificate */

/* TLS hellos and fingerprints (sizes of the kept fields): src/tls_fingerprint.h */
#define TLS_HELLO_MAX_CIPHERS 512
#define TLS_HELLO_MAX_EXTS 128
#define TLS_HELLO_MAX_LIST 128
#define TLS_HELLO_MAX_SNI 255
#define TLS_HELLO_MAX_ALPN 512      /* raw protocol_name_list bytes kept */
#define TLS_JA3_STR_MAX 8192
#define TLS_JA4_MAX 48
#define TLS_JA4_R_MAX 8192

/* Engine, per connection: src/engine.c */
#define CONN_MAX_GAPS_LISTED 64
#define CONN_MAX_ANOMALY_KINDS 64

/* TLS layer: src/tls.c */
#define TLS_MAX_ALERTS_KEPT 16
#define TLS_RESYNC_SEQ_TRIES 256

/* HTML report rows: src/report.c */
#define FIELD_MAX_BYTES 300u   /* bytes of a subject, detail, ... kept in a row */

/* HTML report statistics: src/report_stats.c */
#define STATS_NAME_MAX  40u   /* columns of a name cell */

/* HTML report keys: src/report_priv.h */
#define KEY_MAX_BYTES 200u                     /* bytes of a key kept (cut on a UTF-8 boundary) */

/* Progress: src/progress.h */
#define PROGRESS_INTERVAL_MS 250u

/* Mail (--max-mail-bytes, --extract-*): src/mail.h, src/extract.h */
#define LIM_MAIL_MAX_BYTES       (32u << 20) /* bytes of one message kept for MIME parsing (the rest
                                              * is hashed, not parsed: "truncated") */
#define LIM_MAIL_MEMCAP          (256u << 20)/* message bytes kept by all connections at once */
#define LIM_EXTRACT_MAX_BYTES    (1ull << 30)/* bytes written by --extract-dir in one run */
#define LIM_EXTRACT_MAX_FILES    10000u      /* files written by --extract-dir in one run */
#define MAIL_MAX_PENDING         256u        /* parsed messages of one connection waiting for their
                                              * command's tagged response (the rest are written then) */
#define MAIL_MAX_READY           4096u       /* completed messages and envelopes of one response held
                                              * until its tagged line is shown (the rest: at once) */
#define MAIL_MAX_HELD_PARTS      16u         /* body parts (BODY[n]) of one connection held until their
                                              * command's end, where BODYSTRUCTURE may tell their encoding */
#define MAIL_BS_CACHE            128u        /* BODYSTRUCTURE parts remembered per connection */
#define MAIL_MAX_DEPTH           32u         /* MIME nesting looked into (multipart, message/rfc822) */
#define MAIL_MAX_PARTS           256u        /* MIME leaf parts looked at per message */
#define MAIL_MAX_PART_BYTES      (32u << 20) /* decoded bytes of one part hashed and kept */
#define MAIL_MAX_HEADER_BYTES    (256u << 10)/* bytes of the header block parsed (the rest: truncated) */
#define MAIL_MAX_ADDRESSES       100u        /* addresses listed per header (from, to, cc, reply_to) */
#define MAIL_MAX_FIELD_BYTES     2048u       /* bytes of one header value in an event */
#define MAIL_MAX_REFERENCES      50u         /* message ids listed in "references" */
#define MAIL_MAX_MAILBOXES       64u         /* mailboxes counted in the session's "mail" summary */
#define MAIL_MAGIC_CACHE         256u        /* libmagic answers remembered by content hash */
#define MAIL_MAGIC_BYTES         (64u << 10) /* bytes of a part given to libmagic */

/* Streams: src/streams.h */
#define STREAMS_ERRORS_SHOWN 5

/* Output: src/output.h (each may be overridden at build time) */
#ifndef OUT_FLUSH_BYTES
#define OUT_FLUSH_BYTES     (64u << 10)  /* pending bytes that trigger a write */
#endif
#ifndef OUT_MAX_EVENT_BYTES
#define OUT_MAX_EVENT_BYTES (16u << 20)  /* one serialised event; larger: dropped and counted */
#endif
#ifndef OUT_MAX_DEPTH
#define OUT_MAX_DEPTH       64           /* nesting of a body; deeper values are written as null */
#endif
#ifndef OUT_TEXT_MAX_LINE
#define OUT_TEXT_MAX_LINE   8192u        /* bytes of one string (alert detail, name, ...) shown in the
                                          * trace; an IMAP line: output_set_max_text_line() */
#endif
#ifndef OUT_MAX_ANNOTATIONS
#define OUT_MAX_ANNOTATIONS 256          /* distinct names in one event's --annotate "annotations"
                                          * array; the rest are counted in "annotations_dropped" */
#endif

#endif /* IMAPSCOPE_LIMITS_H */
