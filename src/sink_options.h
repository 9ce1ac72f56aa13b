/*
 * sink_options.h - the command line of the sinks (issue 14): --rotate,
 * --syslog, --syslog-facility, --unix-socket, --redis, --redis-mode,
 * --redis-key, --sink-buffer, --sink-drain.  main.c hands each of these
 * options here (SINK_OPT_* is its index), then calls sink_options_apply()
 * once the output is open.  Settings (facility, redis mode and key, buffer,
 * drain) apply to every sink of their kind, wherever they stand on the line.
 */
#ifndef IMAPSCOPE_SINK_OPTIONS_H
#define IMAPSCOPE_SINK_OPTIONS_H

#include <stdbool.h>

#include "netsink.h"
#include "output.h"

enum {
    SINK_OPT_ROTATE = 0, SINK_OPT_SYSLOG, SINK_OPT_FACILITY, SINK_OPT_UNIX, SINK_OPT_REDIS,
    SINK_OPT_REDIS_MODE, SINK_OPT_REDIS_KEY, SINK_OPT_BUFFER, SINK_OPT_DRAIN, SINK_OPT__COUNT
};

#define SINK_DEFAULT_QUEUE_BYTES (16u << 20)  /* --sink-buffer: each network sink's queue */
#define SINK_DEFAULT_DRAIN_S     5u           /* --sink-drain: seconds to deliver the queue at exit */

typedef struct sink_options {
    netsink_config net[NS_MAX_SINKS];
    unsigned       n_net;
    const char    *rotate[2];
    unsigned       n_rotate;
    int            facility;
    ns_redis_mode  redis_mode;
    const char    *redis_key;
    uint64_t       queue_bytes;
    unsigned       drain_s;
} sink_options;

void sink_options_init(sink_options *so);

/* One option (SINK_OPT_*) and its argument.  Returns 0, or -1 after a
 * one-line message on stderr. */
int sink_options_parse(sink_options *so, int which, const char *arg);

/* True when a network sink was given (then, without -w, nothing goes to
 * standard output). */
bool sink_options_have_network(const sink_options *so);

/* Sets rotation and starts the network sinks on out; outpath is -w's
 * argument (NULL: none given).  Returns 0, or -1 after a one-line message
 * on stderr. */
int sink_options_apply(sink_options *so, output *out, const char *outpath);

#endif /* IMAPSCOPE_SINK_OPTIONS_H */
