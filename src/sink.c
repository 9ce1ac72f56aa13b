/*
 * sink.c - the buffer and file descriptor behind an output (sink.h):
 * opening, writing (write(2), errors reported once and counted), reopening
 * after SIGHUP, forks for worker threads, counters and closing.
 */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "limits.h"

const char *out_name(const output *o) { return o->path ? o->path : "standard output"; }

/* Writes the pending bytes.  A failed write(2) is counted, reported once
 * on stderr, and the pending bytes are dropped (never retried forever). */
int out_write_pending(output *o)
{
    output *root = o->parent ? o->parent : o;
    size_t off = 0;
    int rc = 0;

    if (o->len == 0)
        return 0;
    pthread_mutex_lock(&root->lock);
    if (root->broken)
        o->broken = true;
    while (off < o->len) {
        ssize_t w = write(root->fd, o->buf + off, o->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int err = w < 0 ? errno : EIO;
            o->ctr.write_errors++;
            o->ctr.dropped_bytes += o->len - off;
            if (err == EPIPE) {
                /* the reader is gone (`| head`): not an error of ours, and
                 * nothing to say; formatting stops */
                o->broken = root->broken = true;
                rc = -1;
                break;
            }
            o->failed = root->failed = true;
            if (!root->error_reported) {
                root->error_reported = o->error_reported = true;
                fprintf(stderr, "imapscope: error writing %s: %s (further output errors are only counted)\n",
                        out_name(root), strerror(err));
            }
            rc = -1;
            break;
        }
        off += (size_t)w;
        o->ctr.bytes += (uint64_t)w;
    }
    pthread_mutex_unlock(&root->lock);
    o->len = 0;
    return rc;
}

void event_begin(output *o)
{
    o->ev_start = o->len;
    o->overflow = false;
}

/* Ends an event: drops it when it overflowed, writes the buffer when it is
 * full enough (or at once on a terminal). */
void event_end(output *o)
{
    o->ctr.events++;
    if (o->overflow) {
        o->len = o->ev_start;
        o->overflow = false;
        o->ctr.oversize++;
        if (!o->error_reported) {
            o->error_reported = true;
            fprintf(stderr, "imapscope: an event larger than %u bytes was not written to %s\n",
                    (unsigned)OUT_MAX_EVENT_BYTES, out_name(o));
        }
    }
    if (o->len >= OUT_FLUSH_BYTES || (o->is_tty && o->len))
        out_write_pending(o);
}

output *output_open(const char *path, out_format fmt, int verbose, char *errbuf, size_t errlen)
{
    output *o = calloc(1, sizeof *o);
    if (!o) {
        snprintf(errbuf, errlen, "out of memory opening the output");
        return NULL;
    }
    o->fmt = fmt;
    o->verbose = verbose;
    o->ts_cache_sec = -1;
    o->env.skip_type = -1;
    o->max_text_line = LIM_MAX_TEXT_LINE;
    pthread_mutex_init(&o->lock, NULL);
    if (!path || strcmp(path, "-") == 0) {
        o->is_stdout = true;
        o->fd = STDOUT_FILENO;
    } else {
        o->path = strdup(path);
        if (!o->path) {
            snprintf(errbuf, errlen, "out of memory opening %s", path);
            free(o);
            return NULL;
        }
        o->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (o->fd < 0) {
            snprintf(errbuf, errlen, "cannot open output file %s: %s", path, strerror(errno));
            free(o->path);
            free(o);
            return NULL;
        }
    }
    o->is_tty = isatty(o->fd) == 1;
    output_set_color(o, OUT_COLOR_AUTO);
    o->cap = OUT_FLUSH_BYTES + 4096;
    o->buf = malloc(o->cap);
    if (!o->buf) {
        snprintf(errbuf, errlen, "out of memory opening %s", out_name(o));
        output_close(o);
        return NULL;
    }
    return o;
}

void output_set_color(output *o, out_color mode)
{
    const char *nc = getenv("NO_COLOR"); /* https://no-color.org: set and not empty disables colour */
    switch (mode) {
    case OUT_COLOR_ALWAYS: o->color = true; break;
    case OUT_COLOR_NEVER: o->color = false; break;
    default: o->color = o->is_tty && !(nc && *nc); break;
    }
    if (o->fmt != OUT_TEXT)
        o->color = false;
}

bool output_wants_lines(const output *o) { return o && o->fmt == OUT_TEXT; }

void output_set_max_text_line(output *o, size_t max)
{
    if (o)
        o->max_text_line = max;
}

uint64_t output_flow_number(output *o)
{
    if (!o)
        return 0;
    output *root = o->parent ? o->parent : o;
    pthread_mutex_lock(&root->lock);
    uint64_t n = ++root->flow_numbers;
    pthread_mutex_unlock(&root->lock);
    return n;
}

void output_set_annotate(output *o, bool on)
{
    if (o)
        o->annotate = on;
}

int output_flush(output *o)
{
    if (!o)
        return 0;
    return out_write_pending(o);
}

int output_reopen(output *o)
{
    if (!o)
        return 0;
    if (o->parent)
        return out_write_pending(o);
    int rc = out_write_pending(o);
    if (o->is_stdout)
        return rc;
    int fd = open(o->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "imapscope: cannot reopen output file %s: %s (still writing to the old file)\n",
                o->path, strerror(errno));
        return -1;
    }
    pthread_mutex_lock(&o->lock);
    close(o->fd);
    o->fd = fd;
    o->broken = false;
    o->error_reported = false;
    o->is_tty = isatty(fd) == 1;
    pthread_mutex_unlock(&o->lock);
    return rc;
}

output *output_fork(output *parent)
{
    output *o;

    if (!parent || parent->parent)
        return NULL;
    o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->fmt = parent->fmt;
    o->verbose = parent->verbose;
    o->annotate = parent->annotate;
    o->env = parent->env;
    o->fd = -1;
    o->is_stdout = true; /* never closes a descriptor */
    o->is_tty = parent->is_tty;
    o->color = parent->color;
    o->max_text_line = parent->max_text_line;
    o->ts_cache_sec = -1;
    o->parent = parent;
    o->cap = OUT_FLUSH_BYTES + 4096;
    o->buf = malloc(o->cap);
    if (!o->buf) {
        free(o);
        return NULL;
    }
    return o;
}

void output_counters_get(const output *o, out_counters *c)
{
    if (o)
        *c = o->ctr;
    else
        memset(c, 0, sizeof *c);
}

int output_close(output *o)
{
    if (!o)
        return 0;
    if (o->buf)
        out_write_pending(o);
    if (o->parent) {
        /* a fork: its counters go to the main output */
        output *p = o->parent;
        pthread_mutex_lock(&p->lock);
        p->ctr.events += o->ctr.events;
        p->ctr.bytes += o->ctr.bytes;
        p->ctr.write_errors += o->ctr.write_errors;
        p->ctr.dropped_bytes += o->ctr.dropped_bytes;
        p->ctr.oversize += o->ctr.oversize;
        p->ctr.utf8_repairs += o->ctr.utf8_repairs;
        p->failed |= o->failed;
        pthread_mutex_unlock(&p->lock);
        int frc = o->failed ? -1 : 0;
        free(o->buf);
        free(o);
        return frc;
    }
    pthread_mutex_destroy(&o->lock);
    if (!o->is_stdout && o->fd >= 0) {
        if (close(o->fd) != 0) {
            o->failed = true;
            if (!o->error_reported)
                fprintf(stderr, "imapscope: error closing %s: %s\n", out_name(o), strerror(errno));
        }
    }
    int rc = o->failed ? -1 : 0;
    free(o->buf);
    free(o->path);
    free(o);
    return rc;
}

