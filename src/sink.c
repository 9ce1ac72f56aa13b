/*
 * sink.c - the buffer and file descriptor behind an output (sink.h):
 * opening, writing (write(2), errors reported once and counted), reopening
 * after SIGHUP, forks for worker threads, counters and closing.
 */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "limits.h"

const char *out_name(const output *o) { return o->path ? o->path : "standard output"; }

static uint64_t count_lines(const char *p, size_t n)
{
    uint64_t c = 0;
    const char *end = p + n;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        c++;
        p++;
    }
    return c;
}

static uint64_t wall_now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* --rotate: renames the file to PATH.YYYYMMDDTHHMMSSZ (PATH.<stamp>-N when
 * that name is taken: link(2) never replaces a file) and opens a new PATH.
 * Called under the lock, between two writes of whole lines, so no event
 * is split across files.  On failure the old file is kept (reported once). */
static void rotate_file(output *o)
{
    char stamp[32], *dst;
    time_t now = time(NULL);
    struct tm tm;
    size_t cap = strlen(o->path) + sizeof stamp + 16;
    int fd;

    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    dst = malloc(cap);
    if (!dst)
        return;
    for (unsigned i = 0;; i++) {
        if (i == 0)
            snprintf(dst, cap, "%s.%s", o->path, stamp);
        else
            snprintf(dst, cap, "%s.%s-%u", o->path, stamp, i);
        if (link(o->path, dst) == 0)
            break;
        if (errno != EEXIST || i > 10000) {
            if (!o->error_reported) {
                o->error_reported = true;
                fprintf(stderr, "imapscope: --rotate: cannot rename %s to %s: %s (still writing to %s)\n",
                        o->path, dst, strerror(errno), o->path);
            }
            o->fctr.errors++;
            free(dst);
            return;
        }
    }
    unlink(o->path);
    fd = open(o->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        /* the old file, now under its new name, is still open: keep writing there */
        fprintf(stderr, "imapscope: --rotate: cannot open a new %s: %s (still writing to %s)\n", o->path,
                strerror(errno), dst);
        o->fctr.errors++;
        free(dst);
        return;
    }
    free(dst);
    close(o->fd);
    o->fd = fd;
    o->file_size = 0;
    o->fctr.rotations++;
}

/* Writes the pending bytes.  A failed write(2) is counted, reported once
 * on stderr, and the pending bytes are dropped (never retried forever).
 * The same bytes (whole lines) go to every network sink's queue. */
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
    if (root->path && (root->rot_size || root->rot_secs)) {
        bool due = root->rot_size && root->file_size > 0 && root->file_size + o->len > root->rot_size;
        if (root->rot_secs) {
            uint64_t now = wall_now_us(), per = root->rot_secs * 1000000u;
            if (now >= root->rot_next_us) {
                due = due || (root->rot_next_us != 0 && root->file_size > 0);
                root->rot_next_us = (now / per + 1) * per;
            }
        }
        if (due)
            rotate_file(root);
    }
    while (!root->no_primary && off < o->len) {
        ssize_t w = write(root->fd, o->buf + off, o->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int err = w < 0 ? errno : EIO;
            o->ctr.write_errors++;
            o->ctr.dropped_bytes += o->len - off;
            root->fctr.errors++;
            if (root->sinks_report)
                root->fctr.dropped += count_lines(o->buf + off, o->len - off);
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
        if (root->sinks_report) /* lines are counted only when sinks are reported */
            root->fctr.events += count_lines(o->buf + off, (size_t)w);
        off += (size_t)w;
        o->ctr.bytes += (uint64_t)w;
        root->fctr.bytes += (uint64_t)w;
        root->file_size += (uint64_t)w;
    }
    for (unsigned i = 0; i < root->n_net; i++)
        netsink_push(root->net[i], o->buf, o->len);
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
    {
        struct stat st;
        o->file_size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    }
    o->fctr.reopens++;
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
    output_sinks_finish(o);
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


/* ------------------------------------------------------------------ */
/* sinks (issue 14) */

/* A positive decimal number with an optional unit letter from units
 * (letter, multiplier; a zero letter ends the table) and nothing after it
 * but, when tail is not 0, that one letter; at most max after scaling. */
typedef struct unit { char letter; uint64_t mul; } unit;

static int parse_scaled(const char *s, const unit *units, char tail, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-' || v == 0)
        return -1;
    uint64_t mul = 1;
    for (const unit *u = units; *end && u->letter; u++)
        if (*end == u->letter) {
            mul = u->mul;
            end++;
            break;
        }
    if (tail && (*end == tail || *end == (tail | 0x20)))
        end++;
    if (*end || v > max / mul)
        return -1;
    *out = (uint64_t)v * mul;
    return 0;
}

/* "100M", "1G", "4096", "64k", "1MB": bytes (K, M, G, T: powers of 1024). */
static int parse_size(const char *s, uint64_t *out)
{
    static const unit u[] = {{'k', 1ull << 10}, {'K', 1ull << 10}, {'m', 1ull << 20}, {'M', 1ull << 20},
                             {'g', 1ull << 30}, {'G', 1ull << 30}, {'t', 1ull << 40}, {'T', 1ull << 40}, {0, 0}};
    return parse_scaled(s, u, 'B', UINT64_MAX, out);
}

/* "30s", "15m", "1h", "1d", "3600": seconds, at most a year. */
static int parse_secs(const char *s, uint64_t *out)
{
    static const unit u[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {0, 0}};
    return parse_scaled(s, u, 0, 86400ull * 366, out);
}

int output_parse_size(const char *s, uint64_t *bytes) { return parse_size(s, bytes); }

int output_set_rotate(output *o, const char *spec, char *err, size_t errlen)
{
    if (!strncmp(spec, "size=", 5) && parse_size(spec + 5, &o->rot_size) == 0) {
        o->sinks_report = true;
        return 0;
    }
    if (!strncmp(spec, "time=", 5) && parse_secs(spec + 5, &o->rot_secs) == 0) {
        o->sinks_report = true;
        return 0;
    }
    snprintf(err, errlen, "--rotate: \"%s\" is not size=BYTES (e.g. 100M) or time=PERIOD (e.g. 1h, 30m, 90s)",
             spec);
    return -1;
}

void output_set_no_primary(output *o)
{
    if (!o || o->parent)
        return;
    o->no_primary = true;
    o->is_tty = false;
    o->color = false;
}

int output_add_netsink(output *o, const netsink_config *c, char *err, size_t errlen)
{
    if (o->n_net == NS_MAX_SINKS) {
        snprintf(err, errlen, "%s: at most %d network sinks", c->spec, NS_MAX_SINKS);
        return -1;
    }
    netsink *s = netsink_start(c, err, errlen);
    if (!s)
        return -1;
    o->net[o->n_net++] = s;
    o->sinks_report = true;
    return 0;
}

typedef struct sink_row {
    const char *name, *type;
    uint64_t events, bytes, dropped, errors, reconnects, queued, resent, rotations;
    bool net;
} sink_row;

static unsigned sink_rows(output *o, sink_row *rows)
{
    unsigned n = 0;
    if (!o->no_primary) {
        sink_row *r = &rows[n++];
        memset(r, 0, sizeof *r);
        r->name = o->path ? o->path : "-";
        r->type = o->path ? "file" : "stdout";
        r->events = o->fctr.events;
        r->bytes = o->fctr.bytes;
        r->dropped = o->fctr.dropped;
        r->errors = o->fctr.errors;
        r->reconnects = o->fctr.reopens;
        r->rotations = o->fctr.rotations;
    }
    for (unsigned i = 0; i < o->n_net; i++) {
        netsink_stats st;
        sink_row *r = &rows[n++];
        memset(r, 0, sizeof *r);
        netsink_stats_get(o->net[i], &st);
        r->name = netsink_name(o->net[i]);
        r->type = netsink_type(o->net[i]);
        r->events = st.events;
        r->bytes = st.bytes;
        r->dropped = st.dropped;
        r->errors = st.errors;
        r->reconnects = st.reconnects;
        r->queued = st.queued;
        r->resent = st.resent;
        r->net = true;
    }
    return n;
}

json_t *output_sinks_json(output *o)
{
    sink_row rows[NS_MAX_SINKS + 1];
    json_t *a;
    unsigned n;

    if (!o || o->parent || !o->sinks_report)
        return NULL;
    pthread_mutex_lock(&o->lock);
    n = sink_rows(o, rows);
    pthread_mutex_unlock(&o->lock);
    a = json_array();
    for (unsigned i = 0; i < n; i++) {
        json_t *s = json_object();
        json_object_set_new_nocheck(s, "name", json_string(rows[i].name));
        json_object_set_new_nocheck(s, "type", json_string(rows[i].type));
        json_object_set_new_nocheck(s, "events", json_integer((json_int_t)rows[i].events));
        json_object_set_new_nocheck(s, "bytes", json_integer((json_int_t)rows[i].bytes));
        json_object_set_new_nocheck(s, "dropped", json_integer((json_int_t)rows[i].dropped));
        json_object_set_new_nocheck(s, "errors", json_integer((json_int_t)rows[i].errors));
        json_object_set_new_nocheck(s, "reconnects", json_integer((json_int_t)rows[i].reconnects));
        if (rows[i].net) {
            json_object_set_new_nocheck(s, "queued", json_integer((json_int_t)rows[i].queued));
            json_object_set_new_nocheck(s, "resent", json_integer((json_int_t)rows[i].resent));
        } else {
            json_object_set_new_nocheck(s, "rotations", json_integer((json_int_t)rows[i].rotations));
        }
        json_array_append_new(a, s);
    }
    return a;
}

/* output_close of the main output: the network sinks drained and stopped,
 * one line per sink on stderr; a sink that lost events fails the output. */
void output_sinks_finish(output *o)
{
    sink_row rows[NS_MAX_SINKS + 1];
    unsigned n;

    for (unsigned i = 0; i < o->n_net; i++)
        netsink_stop(o->net[i]);
    if (o->sinks_report) {
        n = sink_rows(o, rows);
        for (unsigned i = 0; i < n; i++) {
            fprintf(stderr, "imapscope: sink %s (%s): %llu events, %llu bytes, %llu dropped, %llu errors, %llu %s",
                    rows[i].name, rows[i].type, (unsigned long long)rows[i].events,
                    (unsigned long long)rows[i].bytes, (unsigned long long)rows[i].dropped,
                    (unsigned long long)rows[i].errors, (unsigned long long)rows[i].reconnects,
                    rows[i].net ? "reconnects" : "reopens");
            if (rows[i].net)
                fprintf(stderr, ", %llu resent\n", (unsigned long long)rows[i].resent);
            else
                fprintf(stderr, ", %llu rotations\n", (unsigned long long)rows[i].rotations);
            if (rows[i].net && rows[i].dropped)
                o->failed = true;
        }
    }
    for (unsigned i = 0; i < o->n_net; i++)
        netsink_free(o->net[i]);
    o->n_net = 0;
}
