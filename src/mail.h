/*
 * mail.h - the mail itself: messages carried in IMAP literals become
 * "email" and "fileinfo" events (docs/output.md).
 *
 * Per connection a mail_conn takes the literal sink of the dissector
 * (imap.h: on_literal_begin / data / end / line_end).  Literals that carry
 * a message (FETCH BODY[] / BODY.PEEK[] / RFC822 / BINARY[], header
 * sections BODY[HEADER] / BODY[HEADER.FIELDS (..)] / RFC822.HEADER,
 * APPEND, the TEXT parts of CATENATE) are hashed (SHA-256 of the bytes as
 * transferred) while they stream and kept up to max_mail_bytes (the rest
 * is hashed, not kept: the message is "truncated"), then parsed with GMime
 * 3: headers (RFC 2047 decoded in any charset iconv knows), addresses,
 * and every attachment or inline file part (RFC 2231 / 2047 filenames,
 * decoded bytes hashed with MD5, SHA-1, SHA-256, libmagic type).
 * Partial fetches BODY[]<origin> of one message (same section, same UID
 * or sequence number) are joined while they come contiguously from 0.
 * Because the literal sink sits after the layer stack, this works the
 * same inside STARTTLS / implicit TLS (with keys) and COMPRESS.
 *
 * When events are written: a parsed message waits for the tagged response
 * of its command (the transaction event: FETCH responses are untagged, so
 * the tag is known only then; the UID is then read from the decoded
 * responses when it came after the literal), then its "email" event is
 * written, then one "fileinfo" per file part.  At most MAIL_MAX_PENDING
 * wait per connection; past that they are written at once without a tag
 * (counted: mail.pending_overflow).  FETCH responses with ENVELOPE and no
 * message give an "email" with source "envelope".
 *
 * Memory: one message per direction is assembled at a time (a partial
 * join is that message), its kept bytes charged to a process-wide cap
 * (LIM_MAIL_MEMCAP); a refused charge makes the message "truncated" and
 * is counted.  Parsing is bounded by MAIL_MAX_DEPTH, MAIL_MAX_PARTS,
 * MAIL_MAX_PART_BYTES, MAIL_MAX_HEADER_BYTES (src/limits.h).
 *
 * Threading: a mail_conn is used by one thread; the GMime and libmagic
 * set-up is done once per process (mail_global_init, thread-safe), the
 * libmagic cookie is shared under a lock.
 */
#ifndef IMAPSCOPE_MAIL_H
#define IMAPSCOPE_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "imap.h"
#include "limits.h" /* defaults and caps of this module */

struct extract;

typedef struct mail_config {
    bool            enabled;         /* false: mail_conn_new returns NULL (no cost) */
    size_t          max_mail_bytes;  /* bytes of one message kept for parsing (--max-mail-bytes) */
    struct extract *extract;         /* --extract-dir (borrowed, shared), or NULL */
} mail_config;

void mail_config_default(mail_config *cfg);

/* Counters of one engine (summed over threads in the stats event: "mail"). */
typedef struct mail_stats {
    uint64_t messages;          /* email events of source message/header */
    uint64_t envelopes;         /* email events of source envelope */
    uint64_t files;             /* fileinfo events */
    uint64_t bytes;             /* message bytes seen (as transferred) */
    uint64_t truncated;         /* messages cut at --max-mail-bytes or the header cap */
    uint64_t memcap_refused;    /* messages cut because LIM_MAIL_MEMCAP was reached */
    uint64_t parse_failed;      /* messages GMime could not parse */
    uint64_t partial_joined;    /* partial fetches joined into a message */
    uint64_t partial_dropped;   /* partial fetches not contiguous from 0 (not joined) */
    uint64_t pending_overflow;  /* messages written before their tagged response (MAIL_MAX_PENDING) */
    uint64_t parts_capped;      /* messages with more parts or nesting than the caps */
    uint64_t parts_unknown;     /* BODY[n] fetched without its BODYSTRUCTURE seen: not decoded */
} mail_stats;

/* What mail_conn emits: the caller writes the event (event_type "email"
 * or "fileinfo", body stolen) with its flow envelope. */
typedef void (*mail_emit_fn)(void *user, const char *event_type, uint64_t ts_us, json_t *body);

typedef struct mail_conn mail_conn;

/* One per connection.  stats (borrowed) is the engine's.  NULL when mail
 * is not enabled or out of memory. */
mail_conn *mail_conn_new(const mail_config *cfg, mail_stats *stats, mail_emit_fn emit, void *user);

/* The literal sink (imap.h callbacks), with the time of the bytes. */
void mail_literal_begin(mail_conn *m, const imap_literal_info *li, uint64_t ts_us);
void mail_literal_data(mail_conn *m, imap_dir dir, const uint8_t *data, size_t len);
void mail_literal_end(mail_conn *m, imap_dir dir, bool complete, uint64_t ts_us);
void mail_line_end(mail_conn *m, const imap_literal_info *li, uint64_t ts_us);

/* A transaction completed: waiting messages of its command get their
 * tag, command, mailbox and UID (from the decoded responses), and ENVELOPE
 * responses without a message become "email" events; they are written at
 * the next mail_flush (the caller calls it after the tagged response's
 * line event, or at once when it has no line events), or at once when
 * MAIL_MAX_READY already wait. */
void mail_transaction(mail_conn *m, const imap_transaction *t, uint64_t ts_us);
void mail_flush(mail_conn *m, uint64_t ts_us);

/* The connection ended: a partial join and every waiting message are
 * written.  Idempotent. */
void mail_conn_end(mail_conn *m, uint64_t ts_us);

/* The per-mailbox counts for the session summary, a new array of
 * {mailbox, messages_fetched, bytes_fetched, messages_appended,
 * bytes_appended}, or NULL when nothing was fetched or appended;
 * *truncated is set when more than MAIL_MAX_MAILBOXES were seen.  Also
 * the totals (for the text trace). */
json_t *mail_conn_summary(const mail_conn *m, bool *truncated);
void mail_conn_totals(const mail_conn *m, uint64_t *fetched, uint64_t *appended);

void mail_conn_free(mail_conn *m);

/* The stats body ("mail": {...}) of the counters. */
json_t *mail_stats_json(const mail_stats *s);

/* ---- the parser, exposed for tests and the fuzz target ---- */

/* One file part: its fileinfo body (filename, content_type, magic,
 * disposition, size, md5, sha1, sha256, state) and its decoded bytes
 * (borrowed for the call). */
typedef void (*mail_file_fn)(void *user, json_t *fileinfo, const uint8_t *data, size_t len);

/* Parses one message (data[0..len), the bytes kept): adds the header
 * fields of the "email" event (addresses: [{field, name, address}] of
 * From, Sender, Reply-To, To, Cc, Bcc; subject, date, message_id,
 * in_reply_to, references, x_mailer (X-Mailer, else User-Agent),
 * received_count) and "attachments" ([{filename, sha256}]) to email, and
 * calls file for each file part (fileinfo stolen by the callee).  cut: the
 * bytes end before the message did (state "truncated" for the last part),
 * gaps: bytes were lost (state "gaps").  Returns 0, 1 when a cap was
 * reached (parts, depth, header bytes: the caller makes the email's state
 * "truncated"), -1 when GMime could not parse it.  Thread-safe. */
int mail_parse(const uint8_t *data, size_t len, bool cut, bool gaps, json_t *email, mail_file_fn file,
               void *user);

/* Once per process before any parse (also called by mail_conn_new). */
void mail_global_init(void);

#endif /* IMAPSCOPE_MAIL_H */
