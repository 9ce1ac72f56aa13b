/*
 * sink_options.c - the sinks' command line (see sink_options.h).
 */
#include "sink_options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sink_options_init(sink_options *so)
{
    memset(so, 0, sizeof *so);
    so->facility = 21; /* local5 */
    so->redis_mode = NS_REDIS_LIST;
    so->redis_key = "imapscope";
    so->queue_bytes = SINK_DEFAULT_QUEUE_BYTES;
    so->drain_s = SINK_DEFAULT_DRAIN_S;
}

static const char *const opt_names[SINK_OPT__COUNT] = {
    "--rotate", "--syslog", "--syslog-facility", "--unix-socket", "--redis", "--redis-mode", "--redis-key",
    "--sink-buffer", "--sink-drain"};

int sink_options_parse(sink_options *so, int which, const char *arg)
{
    char err[512];
    const char *opt = which >= 0 && which < SINK_OPT__COUNT ? opt_names[which] : "?";

    switch (which) {
    case SINK_OPT_ROTATE:
        if (so->n_rotate == 2) {
            fprintf(stderr, "imapscope: --rotate: at most twice (size= and time=)\n");
            return -1;
        }
        so->rotate[so->n_rotate++] = arg;
        return 0;
    case SINK_OPT_SYSLOG:
    case SINK_OPT_UNIX:
    case SINK_OPT_REDIS:
        if (so->n_net == NS_MAX_SINKS) {
            fprintf(stderr, "imapscope: %s: at most %d network sinks\n", opt, NS_MAX_SINKS);
            return -1;
        }
        if (netsink_parse(opt, arg, &so->net[so->n_net], err, sizeof err) != 0) {
            fprintf(stderr, "imapscope: %s\n", err);
            return -1;
        }
        so->n_net++;
        return 0;
    case SINK_OPT_FACILITY:
        so->facility = netsink_facility(arg);
        if (so->facility < 0) {
            fprintf(stderr, "imapscope: --syslog-facility: \"%s\" is not a facility (kern, user, mail, daemon, "
                            "auth, syslog, lpr, news, uucp, cron, authpriv, ftp, local0..local7)\n", arg);
            return -1;
        }
        return 0;
    case SINK_OPT_REDIS_MODE:
        if (!strcmp(arg, "list"))
            so->redis_mode = NS_REDIS_LIST;
        else if (!strcmp(arg, "channel"))
            so->redis_mode = NS_REDIS_CHANNEL;
        else if (!strcmp(arg, "stream"))
            so->redis_mode = NS_REDIS_STREAM;
        else {
            fprintf(stderr, "imapscope: --redis-mode: \"%s\" is not list, channel or stream\n", arg);
            return -1;
        }
        return 0;
    case SINK_OPT_REDIS_KEY:
        if (!*arg || strlen(arg) >= sizeof so->net[0].redis_key) {
            fprintf(stderr, "imapscope: --redis-key: empty or longer than %zu bytes\n",
                    sizeof so->net[0].redis_key - 1);
            return -1;
        }
        so->redis_key = arg;
        return 0;
    case SINK_OPT_BUFFER:
        if (output_parse_size(arg, &so->queue_bytes) != 0 || so->queue_bytes < 1024 ||
            so->queue_bytes > (1ull << 36)) {
            fprintf(stderr, "imapscope: --sink-buffer: \"%s\" is not a size from 1K to 64G (e.g. 16M)\n", arg);
            return -1;
        }
        return 0;
    case SINK_OPT_DRAIN: {
        char *end;
        errno = 0;
        unsigned long v = strtoul(arg, &end, 10);
        if (errno || end == arg || *end || arg[0] == '-' || v > 3600) {
            fprintf(stderr, "imapscope: --sink-drain: \"%s\" is not a number of seconds from 0 to 3600\n", arg);
            return -1;
        }
        so->drain_s = (unsigned)v;
        return 0;
    }
    default:
        return -1;
    }
}

bool sink_options_have_network(const sink_options *so) { return so->n_net > 0; }

int sink_options_apply(sink_options *so, output *out, const char *outpath)
{
    char err[512];
    bool have_w = outpath != NULL;

    for (unsigned i = 0; i < so->n_rotate; i++) {
        if (!have_w || !strcmp(outpath, "-")) {
            fprintf(stderr, "imapscope: --rotate needs -w FILE (standard output is not rotated)\n");
            return -1;
        }
        if (output_set_rotate(out, so->rotate[i], err, sizeof err) != 0) {
            fprintf(stderr, "imapscope: %s\n", err);
            return -1;
        }
    }
    if (so->n_net > 0 && !have_w)
        output_set_no_primary(out);
    for (unsigned i = 0; i < so->n_net; i++) {
        netsink_config *c = &so->net[i];
        c->facility = so->facility;
        c->redis_mode = so->redis_mode;
        snprintf(c->redis_key, sizeof c->redis_key, "%s", so->redis_key);
        if (c->kind == NS_REDIS) {
            const char *u = getenv("IMAPSCOPE_REDIS_USER"), *pw = getenv("IMAPSCOPE_REDIS_PASSWORD");
            if ((u && strlen(u) >= sizeof c->redis_user) || (pw && strlen(pw) >= sizeof c->redis_password)) {
                fprintf(stderr, "imapscope: IMAPSCOPE_REDIS_USER or IMAPSCOPE_REDIS_PASSWORD is too long\n");
                return -1;
            }
            snprintf(c->redis_user, sizeof c->redis_user, "%s", u ? u : "");
            snprintf(c->redis_password, sizeof c->redis_password, "%s", pw ? pw : "");
        }
        c->queue_bytes = (size_t)so->queue_bytes;
        c->drain_ms = so->drain_s * 1000u;
        if (output_add_netsink(out, c, err, sizeof err) != 0) {
            fprintf(stderr, "imapscope: %s\n", err);
            return -1;
        }
    }
    return 0;
}
