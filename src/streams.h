/*
 * streams.h - --streams-dir: each connection's reassembled bytes, as they
 * were on the wire (decrypted when keys were given), in DIR/<flow>.client
 * and DIR/<flow>.server.  These files hold passwords, SASL secrets and
 * mail in clear: nothing is redacted there.  So the directory is made
 * 0700 by the user that writes it (after -Z drops privileges), one that
 * exists must be a directory of that user writable by no one else, and
 * every file is made new (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600): an
 * existing file or link is never followed, truncated or appended to.
 *
 * Errors are counted process-wide (the worker threads share them): the
 * first STREAMS_ERRORS_SHOWN are printed to stderr as they happen, the
 * count is for the exit status (main: non-zero when any).
 */
#ifndef IMAPSCOPE_STREAMS_H
#define IMAPSCOPE_STREAMS_H

#include <stddef.h>
#include <stdint.h>
#include "limits.h" /* defaults and caps of this module */


/* Creates dir (mode 0700) when missing, then checks it: a directory (not a
 * symbolic link), owned by the effective user, not writable by group or
 * others, writable and searchable by us.  Returns 0, or -1 with the reason
 * in errbuf. */
int streams_dir_prepare(const char *dir, char *errbuf, size_t errlen);

/* Creates DIR/<id>.<side>, which must not exist (mode 0600, no link
 * followed).  Returns 0, or -1 after counting and reporting the error. */
int streams_file_create(const char *dir, uint64_t id, const char *side);

/* Appends len bytes to DIR/<id>.<side> (made by streams_file_create; a
 * link is not followed).  Returns 0, or -1 after counting and reporting
 * the error. */
int streams_file_append(const char *dir, uint64_t id, const char *side, const uint8_t *data, size_t len);

/* Errors counted since the start of the process. */
unsigned long streams_errors(void);

#endif /* IMAPSCOPE_STREAMS_H */
