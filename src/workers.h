/*
 * workers.h - --threads N: flows split across worker threads.
 *
 * The capture thread decodes each frame (so IP fragments are reassembled
 * once), hashes the TCP 5-tuple symmetrically (both directions of a
 * connection go to the same worker), and hands the packet to that worker
 * in batches.  Each worker owns an engine (flow table, reassembly,
 * dissector) and a fork of the output, so the events of one connection
 * come out in order; connections interleave differently than with one
 * thread.  Flow ids are frame numbers, the same as with one thread.
 *
 * Memory: each worker holds at most WORKERS_QUEUE_BATCHES batches of at
 * most WORKERS_BATCH_BYTES; the capture thread waits when a worker is that
 * far behind.  Flow and reassembly caps are divided among the workers.
 */
#ifndef IMAPSCOPE_WORKERS_H
#define IMAPSCOPE_WORKERS_H

#include <stdint.h>

#include "engine.h"
#include "output.h"
#include "limits.h" /* defaults and caps of this module */

#define WORKERS_QUEUE_BATCHES   8

typedef struct workers workers;

/* Starts n worker threads (2..WORKERS_MAX) with engines made from cfg,
 * writing through forks of out.  Returns NULL with a message in errbuf. */
workers *workers_new(unsigned n, const engine_config *cfg, output *out, char *errbuf, size_t errlen);

/* One captured frame (capture thread). */
void workers_frame(workers *w, int linktype, const uint8_t *data, uint32_t caplen,
                   uint32_t wirelen, uint64_t ts_us);

/* Live capture: hands every worker the wall clock (idle expiry) and flushes. */
void workers_tick(workers *w, uint64_t now_us);

/* Ends every connection in every worker, joins the threads, and writes one
 * "stats" event with the counters of all of them (extra merged in, stolen). */
void workers_finish(workers *w, const char *reason, json_t *extra);

/* For the progress line (capture thread): connections open and events
 * emitted, summed over the workers as of their last finished batch. */
/* --stats-interval: a "stats" event of the dispatcher's counters (frames,
 * decoding; the workers' connection counters come in the final stats
 * only: they are not read while the workers run), with "threads",
 * "periodic": true and extra (stolen) merged in. */
void workers_stats_periodic(workers *w, uint64_t now_us, json_t *extra);

void workers_progress(workers *w, uint64_t *open_conns, uint64_t *events);

void workers_free(workers *w);

/* The run's table of STARTTLS evidence (shared by the workers). */
struct starttls_seen *workers_starttls(workers *w);

#endif /* IMAPSCOPE_WORKERS_H */
