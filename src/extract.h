/*
 * extract.h - --extract-dir: messages and attachment parts written to
 * disk by the hash of their bytes: DIR/<sha256>.eml for a whole message
 * (the bytes as transferred), DIR/<sha256> for a part (its decoded bytes).
 * No name from the traffic is ever used as a path.
 *
 * The directory is handled like --streams-dir (streams_dir_prepare: made
 * 0700 by the user that writes it, one that exists must be a directory of
 * that user writable by no one else).  Every file is made new
 * (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600): EEXIST means the same bytes are
 * already there (dedup by hash), counted, never rewritten.  Caps per run on
 * bytes and files written: when one is reached the file is not written,
 * it is counted, and one line says so on stderr.  --extract-types limits
 * which parts are written: a comma list of MIME types ("application/pdf")
 * or top-level types (image/ followed by a star), matched on the sniffed or the declared
 * type (messages are always written).
 *
 * Thread-safe: one extract is shared by every thread of a run (atomic
 * counters).
 */
#ifndef IMAPSCOPE_EXTRACT_H
#define IMAPSCOPE_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "limits.h" /* defaults and caps of this module */

typedef struct extract extract;

/* types: NULL or the --extract-types list.  Returns NULL with the reason
 * in errbuf (a bad type list, out of memory).  The directory is not
 * touched here (extract_prepare). */
extract *extract_new(const char *dir, uint64_t max_bytes, uint64_t max_files, const char *types, char *errbuf,
                     size_t errlen);

/* Makes and checks the directory (after privileges were dropped).
 * Returns 0, or -1 with the reason in errbuf. */
int extract_prepare(extract *x, char *errbuf, size_t errlen);

/* Whether a part of these types (either may be NULL) is to be written. */
bool extract_wants(const extract *x, const char *magic, const char *declared);

/* Writes data as DIR/<sha256_hex><suffix> ("" or ".eml").  Returns true
 * when the file is there afterwards (written now, or already there);
 * false when a cap was reached or writing failed (counted, reported). */
bool extract_store(extract *x, const char *sha256_hex, const char *suffix, const uint8_t *data, size_t len);

/* The counters, a new object for the stats event:
 * {files, bytes, already_present, cap_reached, errors}. */
json_t *extract_stats_json(const extract *x);

/* Failures to write (for the exit status). */
unsigned long extract_errors(const extract *x);

void extract_free(extract *x);

#endif /* IMAPSCOPE_EXTRACT_H */
