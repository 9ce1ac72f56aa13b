/*
 * netsink.c - network sinks: a bounded queue and a writer thread each;
 * syslog (RFC 5424 / RFC 6587), unix sockets, redis (see netsink.h).
 */
#include "netsink.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <hiredis.h>

#include "output.h"

#define NS_BATCH_BYTES   (256u << 10)  /* bytes the writer takes from the queue at once */
#define NS_BATCH_MSGS    1024u
#define NS_BACKOFF_MIN   100u          /* ms */
#define NS_BACKOFF_MAX   5000u
#define NS_IO_TIMEOUT_MS 1000u         /* send/connect timeout: the writer looks at shutdown this often */

struct netsink {
    netsink_config cfg;
    char name[320];

    pthread_mutex_t mu;
    pthread_cond_t  cv;
    pthread_t       thread;
    bool            started, closing, stopped;
    struct timespec deadline;       /* closing: give up after it */

    /* the queue: messages as [uint32 len][bytes], [qhead, qtail) of q */
    char  *q;
    size_t qhead, qtail, qalloc, qused; /* qused: bytes counted against the cap */
    uint64_t qmsgs;

    /* writer's own: the batch it holds, messages from bpos on not yet delivered */
    char  *batch;
    size_t blen, bpos, bcap;
    uint32_t bmsgs;
    size_t bsent;                   /* redis: messages of the batch sent without a reply */

    int    fd;                      /* sockets; -1 when not connected */
    redisContext *rc;
    bool   connected, ever_connected;
    unsigned backoff_ms;
    char   hostname[256];
    int    pid;

    /* accepted: lines queued; later_dropped: of those, given up; dropped:
     * later_dropped and the lines refused by a full queue */
    _Atomic uint64_t events, bytes, dropped, errors, reconnects, resent, accepted, later_dropped;
    bool   warned;                  /* one message on stderr per outage */
};

/* ------------------------------------------------------------------ */
/* options */

int netsink_facility(const char *name)
{
    static const char *const names[] = {"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
                                        "uucp", "cron", "authpriv", "ftp"};
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (!strcmp(name, names[i]))
            return i;
    if (!strncmp(name, "local", 5) && name[5] >= '0' && name[5] <= '7' && !name[6])
        return 16 + (name[5] - '0');
    return -1;
}

/* "HOST:PORT" or "[V6]:PORT" into c->host, c->port. */
static int parse_hostport(const char *s, netsink_config *c, char *err, size_t errlen, const char *opt)
{
    const char *colon, *h = s;
    size_t hl;

    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            goto bad;
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            goto bad;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= sizeof c->host)
        goto bad;
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || p == 0 || p > 65535)
        goto bad;
    memcpy(c->host, h, hl);
    c->host[hl] = '\0';
    snprintf(c->port, sizeof c->port, "%lu", p);
    return 0;
bad:
    snprintf(err, errlen, "%s: \"%s\" is not HOST:PORT", opt, s);
    return -1;
}

static int parse_path(const char *s, netsink_config *c, char *err, size_t errlen, const char *opt)
{
    if (!*s || strlen(s) >= sizeof c->path) {
        snprintf(err, errlen, "%s: socket path \"%s\" is empty or longer than %zu bytes", opt, s,
                 sizeof c->path - 1);
        return -1;
    }
    snprintf(c->path, sizeof c->path, "%s", s);
    return 0;
}

int netsink_parse(const char *opt, const char *arg, netsink_config *c, char *err, size_t errlen)
{
    snprintf(c->spec, sizeof c->spec, "%s %s", opt, arg);
    if (!strcmp(opt, "--syslog")) {
        if (!strncmp(arg, "udp:", 4)) {
            c->kind = NS_SYSLOG_UDP;
            return parse_hostport(arg + 4, c, err, errlen, opt);
        }
        if (!strncmp(arg, "tcp:", 4)) {
            c->kind = NS_SYSLOG_TCP;
            return parse_hostport(arg + 4, c, err, errlen, opt);
        }
        c->kind = NS_SYSLOG_UNIX;
        return parse_path(!strncmp(arg, "unix:", 5) ? arg + 5 : arg, c, err, errlen, opt);
    }
    if (!strcmp(opt, "--unix-socket")) {
        if (!strncmp(arg, "stream:", 7)) {
            c->kind = NS_UNIX_STREAM;
            return parse_path(arg + 7, c, err, errlen, opt);
        }
        if (!strncmp(arg, "dgram:", 6)) {
            c->kind = NS_UNIX_DGRAM;
            return parse_path(arg + 6, c, err, errlen, opt);
        }
        snprintf(err, errlen, "%s: \"%s\" is not stream:PATH or dgram:PATH", opt, arg);
        return -1;
    }
    if (!strcmp(opt, "--redis")) {
        c->kind = NS_REDIS;
        return parse_hostport(arg, c, err, errlen, opt);
    }
    snprintf(err, errlen, "%s: not a sink option", opt);
    return -1;
}

const char *netsink_type(const netsink *s)
{
    switch (s->cfg.kind) {
    case NS_SYSLOG_UNIX: case NS_SYSLOG_UDP: case NS_SYSLOG_TCP: return "syslog";
    case NS_UNIX_STREAM: case NS_UNIX_DGRAM: return "unix";
    default: return "redis";
    }
}

const char *netsink_name(const netsink *s) { return s->name; }

/* ------------------------------------------------------------------ */
/* syslog framing */

/* The line's event type: "event_type":"X" (-T json, near the start) or
 * "dataset":"imapscope.X" (-T ecs, event.dataset), as an RFC 5424 MSGID
 * (1*32 PRINTUSASCII). */
static size_t event_type_of(const char *line, size_t len, char out[33])
{
    static const char *const keys[] = {"\"event_type\":\"", "\"dataset\":\"imapscope."};
    size_t lim = len < 2048 ? len : 2048;
    for (size_t k = 0; k < 2; k++) {
        const char *p = memmem(line, lim, keys[k], strlen(keys[k]));
        if (!p)
            continue;
        p += strlen(keys[k]);
        size_t n = 0;
        while (p + n < line + len && n < 32 && p[n] != '"' && p[n] > 32 && p[n] < 127)
            n++;
        if (n == 0 || p + n >= line + len || p[n] != '"')
            continue;
        memcpy(out, p, n);
        out[n] = '\0';
        return n;
    }
    out[0] = '\0';
    return 0;
}

size_t netsink_syslog_header(char *out, size_t cap, int facility, const char *line, size_t len,
                             uint64_t now_us, const char *hostname, int pid)
{
    char ts[28], type[33];
    size_t tl = event_type_of(line, len, type);
    int sev = tl && !strcmp(type, "alert") ? 4 : 6;
    output_format_rfc3339(now_us, ts);
    int n = snprintf(out, cap, "<%d>1 %s %s imapscope %d %s - ", facility * 8 + sev, ts,
                     hostname && *hostname ? hostname : "-", pid, tl ? type : "-");
    if (n < 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

/* ------------------------------------------------------------------ */
/* time */

static uint64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* Deadlines and waits on CLOCK_MONOTONIC (the condition variable is made
 * with that clock): a wall clock that jumps moves no timeout. */
static struct timespec in_ms(unsigned ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static bool past(const struct timespec *t)
{
    struct timespec n;
    clock_gettime(CLOCK_MONOTONIC, &n);
    return n.tv_sec > t->tv_sec || (n.tv_sec == t->tv_sec && n.tv_nsec >= t->tv_nsec);
}

/* ------------------------------------------------------------------ */
/* connections */

static void set_timeouts(int fd)
{
    struct timeval tv = {.tv_sec = NS_IO_TIMEOUT_MS / 1000, .tv_usec = (NS_IO_TIMEOUT_MS % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

static int connect_unix(const char *path, int type, char *why, size_t wl)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, wl, "socket: %s", strerror(errno));
        return -1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    set_timeouts(fd);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        snprintf(why, wl, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int connect_inet(const char *host, const char *port, int type, char *why, size_t wl)
{
    struct addrinfo hints, *res = NULL, *ai;
    int fd = -1, rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = type;
    hints.ai_family = AF_UNSPEC;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(why, wl, "%s", gai_strerror(rc));
        return -1;
    }
    snprintf(why, wl, "no address");
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        set_timeouts(fd);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        snprintf(why, wl, "%s", strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static void ns_disconnect(netsink *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    if (s->rc)
        redisFree(s->rc);
    s->rc = NULL;
    s->connected = false;
}

static int ns_connect(netsink *s, char *why, size_t wl)
{
    const netsink_config *c = &s->cfg;
    switch (c->kind) {
    case NS_SYSLOG_UNIX:
    case NS_UNIX_DGRAM: s->fd = connect_unix(c->path, SOCK_DGRAM, why, wl); break;
    case NS_UNIX_STREAM: s->fd = connect_unix(c->path, SOCK_STREAM, why, wl); break;
    case NS_SYSLOG_UDP: s->fd = connect_inet(c->host, c->port, SOCK_DGRAM, why, wl); break;
    case NS_SYSLOG_TCP: s->fd = connect_inet(c->host, c->port, SOCK_STREAM, why, wl); break;
    case NS_REDIS: {
        struct timeval tv = {.tv_sec = NS_IO_TIMEOUT_MS / 1000, .tv_usec = (NS_IO_TIMEOUT_MS % 1000) * 1000};
        struct timeval cmd_tv = {.tv_sec = 5, .tv_usec = 0};
        s->rc = redisConnectWithTimeout(c->host, atoi(c->port), tv);
        if (!s->rc || s->rc->err) {
            snprintf(why, wl, "%s", s->rc ? s->rc->errstr : "out of memory");
            if (s->rc)
                redisFree(s->rc);
            s->rc = NULL;
            return -1;
        }
        redisSetTimeout(s->rc, cmd_tv);
        if (c->redis_password[0]) {
            /* AUTH [username] password (redis 6 ACL users; without a user: "default") */
            redisReply *r = c->redis_user[0]
                                ? redisCommand(s->rc, "AUTH %s %s", c->redis_user, c->redis_password)
                                : redisCommand(s->rc, "AUTH %s", c->redis_password);
            if (!r || r->type == REDIS_REPLY_ERROR) {
                snprintf(why, wl, "AUTH refused: %s", r ? r->str : s->rc->errstr);
                if (r)
                    freeReplyObject(r);
                redisFree(s->rc);
                s->rc = NULL;
                return -1;
            }
            freeReplyObject(r);
        }
        return 0;
    }
    }
    return s->fd >= 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* the queue */

static uint32_t rd32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Appends one message (under mu); false when the cap does not allow it. */
static bool q_put(netsink *s, const char *m, size_t n)
{
    size_t need = 4 + n;
    if (n > UINT32_MAX || s->qused + need > s->cfg.queue_bytes)
        return false;
    if (s->qtail + need > s->qalloc) {
        if (s->qhead > 0) {
            memmove(s->q, s->q + s->qhead, s->qtail - s->qhead);
            s->qtail -= s->qhead;
            s->qhead = 0;
        }
        if (s->qtail + need > s->qalloc) {
            size_t want = s->qalloc ? s->qalloc : 65536;
            while (want < s->qtail + need)
                want *= 2;
            char *p = realloc(s->q, want);
            if (!p)
                return false;
            s->q = p;
            s->qalloc = want;
        }
    }
    uint32_t l = (uint32_t)n;
    memcpy(s->q + s->qtail, &l, 4);
    memcpy(s->q + s->qtail + 4, m, n);
    s->qtail += need;
    s->qused += need;
    s->qmsgs++;
    return true;
}

void netsink_push(netsink *s, const char *buf, size_t len)
{
    uint64_t dropped = 0, accepted = 0;
    bool any = false;

    if (!s || len == 0)
        return;
    pthread_mutex_lock(&s->mu);
    while (len > 0) {
        const char *nl = memchr(buf, '\n', len);
        size_t n = nl ? (size_t)(nl - buf) : len;
        if (s->stopped || !q_put(s, buf, n))
            dropped++;
        else
            any = true, accepted++;
        n += nl ? 1 : 0;
        buf += n;
        len -= n;
    }
    if (any) {
        atomic_fetch_add(&s->accepted, accepted);
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    if (dropped)
        atomic_fetch_add(&s->dropped, dropped);
}

/* Moves a batch from the queue to the writer (under mu). */
static void take_batch(netsink *s)
{
    size_t p = s->qhead, n = 0;
    uint32_t m = 0;
    while (p < s->qtail && m < NS_BATCH_MSGS) {
        size_t l = 4 + rd32(s->q + p);
        if (n > 0 && n + l > NS_BATCH_BYTES)
            break;
        n += l;
        p += l;
        m++;
    }
    if (n > s->bcap) {
        size_t want = n > NS_BATCH_BYTES ? n : NS_BATCH_BYTES;
        char *b = realloc(s->batch, want);
        if (!b)
            return; /* try again later */
        s->batch = b;
        s->bcap = want;
    }
    memcpy(s->batch, s->q + s->qhead, n);
    s->blen = n;
    s->bpos = 0;
    s->bmsgs = m;
    s->bsent = 0;
    s->qhead += n;
    s->qused -= n;
    s->qmsgs -= m;
    if (s->qhead == s->qtail)
        s->qhead = s->qtail = 0;
}

/* Counts the rest of the batch and of the queue as dropped (under mu). */
static void drop_all(netsink *s)
{
    uint64_t d = 0;
    for (size_t p = s->bpos; p < s->blen; p += 4 + rd32(s->batch + p))
        d++;
    s->blen = s->bpos = 0;
    d += s->qmsgs;
    s->qhead = s->qtail = s->qused = 0;
    s->qmsgs = 0;
    atomic_fetch_add(&s->dropped, d);
    atomic_fetch_add(&s->later_dropped, d);
}

/* ------------------------------------------------------------------ */
/* sending */

typedef enum { SEND_OK = 0, SEND_DROP, SEND_FAIL } send_rc;

/* Writes iov whole to a stream socket; SEND_FAIL on a broken connection. */
/* A send that cannot go on now is retried, unless the sink is shutting
 * down and its drain deadline has passed. */
static bool giving_up(netsink *s)
{
    pthread_mutex_lock(&s->mu);
    bool r = s->closing && past(&s->deadline);
    pthread_mutex_unlock(&s->mu);
    return r;
}

static send_rc write_all(netsink *s, struct iovec *iov, int cnt)
{
    while (cnt > 0) {
        ssize_t w = writev(s->fd, iov, cnt);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                /* a slow reader (SO_SNDTIMEO ran out): keep waiting */
                if (giving_up(s))
                    return SEND_FAIL;
                continue;
            }
            return SEND_FAIL;
        }
        size_t left = (size_t)w;
        while (cnt > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return SEND_OK;
}

static send_rc send_dgram(netsink *s, struct iovec *iov, int cnt)
{
    for (;;) {
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)cnt};
        if (sendmsg(s->fd, &mh, MSG_NOSIGNAL) >= 0)
            return SEND_OK;
        if (errno == EINTR)
            continue;
        if (errno == EMSGSIZE)
            return SEND_DROP;
        if (errno == EAGAIN || errno == ENOBUFS) {
            if (giving_up(s))
                return SEND_FAIL;
            continue;
        }
        return SEND_FAIL;
    }
}

/* One message on a socket sink. */
static send_rc send_one(netsink *s, const char *m, size_t n)
{
    char hdr[400], oct[24];
    struct iovec iov[3];
    size_t hl = 0;
    const netsink_config *c = &s->cfg;

    switch (c->kind) {
    case NS_UNIX_STREAM:
        iov[0] = (struct iovec){(void *)m, n};
        iov[1] = (struct iovec){(void *)"\n", 1};
        return write_all(s, iov, 2);
    case NS_UNIX_DGRAM:
        iov[0] = (struct iovec){(void *)m, n};
        return send_dgram(s, iov, 1);
    case NS_SYSLOG_UNIX:
    case NS_SYSLOG_UDP:
        hl = netsink_syslog_header(hdr, sizeof hdr, c->facility, m, n, now_us(), s->hostname, s->pid);
        iov[0] = (struct iovec){hdr, hl};
        iov[1] = (struct iovec){(void *)m, n};
        return send_dgram(s, iov, 2);
    case NS_SYSLOG_TCP: {
        /* RFC 6587 3.4.1 octet counting: MSG-LEN SP SYSLOG-MSG */
        hl = netsink_syslog_header(hdr, sizeof hdr, c->facility, m, n, now_us(), s->hostname, s->pid);
        int ol = snprintf(oct, sizeof oct, "%zu ", hl + n);
        iov[0] = (struct iovec){oct, (size_t)ol};
        iov[1] = (struct iovec){hdr, hl};
        iov[2] = (struct iovec){(void *)m, n};
        return write_all(s, iov, 3);
    }
    default:
        return SEND_FAIL;
    }
}

/* Sends the batch from bpos on; bpos advances over what is delivered or
 * dropped.  SEND_FAIL: the connection broke (the rest is kept). */
static send_rc send_batch_sockets(netsink *s)
{
    while (s->bpos < s->blen) {
        uint32_t n = rd32(s->batch + s->bpos);
        const char *m = s->batch + s->bpos + 4;
        send_rc r = send_one(s, m, n);
        if (r == SEND_FAIL)
            return SEND_FAIL;
        if (r == SEND_DROP) {
            atomic_fetch_add(&s->dropped, 1);
            atomic_fetch_add(&s->later_dropped, 1);
            atomic_fetch_add(&s->errors, 1);
        } else {
            atomic_fetch_add(&s->events, 1);
            atomic_fetch_add(&s->bytes, n);
        }
        s->bpos += 4 + n;
    }
    return SEND_OK;
}

/* redis: the batch pipelined (one command per message), then the replies
 * read in order; a message is delivered when its reply is.  On an I/O
 * error the messages without a reply stay in the batch (sent again after
 * the reconnect: counted in resent). */
static send_rc send_batch_redis(netsink *s)
{
    const netsink_config *c = &s->cfg;
    size_t klen = strlen(c->redis_key), p;
    uint32_t appended = 0;

    if (s->bsent > 0)
        atomic_fetch_add(&s->resent, s->bsent);
    s->bsent = 0;
    for (p = s->bpos; p < s->blen; p += 4 + rd32(s->batch + p)) {
        uint32_t n = rd32(s->batch + p);
        const char *m = s->batch + p + 4;
        int rc;
        switch (c->redis_mode) {
        case NS_REDIS_CHANNEL: rc = redisAppendCommand(s->rc, "PUBLISH %b %b", c->redis_key, klen, m, (size_t)n); break;
        case NS_REDIS_STREAM:
            rc = redisAppendCommand(s->rc, "XADD %b * event %b", c->redis_key, klen, m, (size_t)n);
            break;
        default: rc = redisAppendCommand(s->rc, "RPUSH %b %b", c->redis_key, klen, m, (size_t)n); break;
        }
        if (rc != REDIS_OK)
            break;
        appended++;
    }
    s->bsent = appended;
    while (s->bsent > 0) {
        redisReply *r = NULL;
        uint32_t n = rd32(s->batch + s->bpos);
        if (redisGetReply(s->rc, (void **)&r) != REDIS_OK || !r) {
            if (r)
                freeReplyObject(r);
            return SEND_FAIL;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            if (!s->warned) {
                fprintf(stderr, "imapscope: %s: the server refused an event: %.*s (further refusals only counted)\n",
                        s->name, (int)r->len, r->str);
                s->warned = true;
            }
            atomic_fetch_add(&s->dropped, 1);
            atomic_fetch_add(&s->later_dropped, 1);
            atomic_fetch_add(&s->errors, 1);
        } else {
            atomic_fetch_add(&s->events, 1);
            atomic_fetch_add(&s->bytes, n);
        }
        freeReplyObject(r);
        s->bpos += 4 + n;
        s->bsent--;
    }
    return s->bpos < s->blen ? SEND_FAIL : SEND_OK;
}

/* ------------------------------------------------------------------ */
/* the writer */

static void *writer(void *arg)
{
    netsink *s = arg;
    char why[256];

    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (s->bpos >= s->blen && s->qmsgs == 0 && !s->closing)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->bpos >= s->blen) {
            if (s->qmsgs == 0) { /* closing, nothing left */
                pthread_mutex_unlock(&s->mu);
                break;
            }
            take_batch(s);
        }
        if (s->closing && past(&s->deadline)) {
            drop_all(s);
            pthread_mutex_unlock(&s->mu);
            break;
        }
        pthread_mutex_unlock(&s->mu);

        if (!s->connected) {
            if (ns_connect(s, why, sizeof why) != 0) {
                atomic_fetch_add(&s->errors, 1);
                if (!s->warned) {
                    fprintf(stderr, "imapscope: %s: cannot connect: %s (retrying; events are queued up to %zu bytes, "
                                    "then dropped and counted)\n", s->name, why, s->cfg.queue_bytes);
                    s->warned = true;
                }
                /* wait the backoff, or less when shutting down */
                pthread_mutex_lock(&s->mu);
                struct timespec until = in_ms(s->backoff_ms);
                if (s->closing && (s->deadline.tv_sec < until.tv_sec ||
                                   (s->deadline.tv_sec == until.tv_sec && s->deadline.tv_nsec < until.tv_nsec)))
                    until = s->deadline;
                bool was_closing = s->closing;
                while (!past(&until) && s->closing == was_closing)
                    if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT)
                        break;
                pthread_mutex_unlock(&s->mu);
                s->backoff_ms = s->backoff_ms * 2 > NS_BACKOFF_MAX ? NS_BACKOFF_MAX : s->backoff_ms * 2;
                continue;
            }
            s->connected = true;
            if (s->ever_connected) {
                atomic_fetch_add(&s->reconnects, 1);
                fprintf(stderr, "imapscope: %s: connected again\n", s->name);
            }
            s->ever_connected = true;
            s->warned = false;
            s->backoff_ms = NS_BACKOFF_MIN;
        }
        send_rc r = s->cfg.kind == NS_REDIS ? send_batch_redis(s) : send_batch_sockets(s);
        if (r == SEND_FAIL) {
            atomic_fetch_add(&s->errors, 1);
            if (!s->warned) {
                fprintf(stderr, "imapscope: %s: connection lost: %s (reconnecting)\n", s->name,
                        s->rc && s->rc->err ? s->rc->errstr : strerror(errno));
                s->warned = true;
            }
            ns_disconnect(s);
        }
    }
    ns_disconnect(s);
    return NULL;
}

netsink *netsink_start(const netsink_config *c, char *err, size_t errlen)
{
    netsink *s = calloc(1, sizeof *s);
    char why[256];

    if (!s) {
        snprintf(err, errlen, "%s: out of memory", c->spec);
        return NULL;
    }
    s->cfg = *c;
    if (s->cfg.kind == NS_REDIS && !s->cfg.redis_key[0])
        snprintf(s->cfg.redis_key, sizeof s->cfg.redis_key, "imapscope");
    snprintf(s->name, sizeof s->name, "%s", c->spec);
    s->fd = -1;
    s->backoff_ms = NS_BACKOFF_MIN;
    s->pid = (int)getpid();
    if (gethostname(s->hostname, sizeof s->hostname - 1) != 0)
        s->hostname[0] = '\0';
    for (char *h = s->hostname; *h; h++) /* RFC 5424 HOSTNAME: PRINTUSASCII */
        if (*h <= 32 || *h >= 127)
            *h = '_';
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (ns_connect(s, why, sizeof why) == 0) {
        s->connected = s->ever_connected = true;
    } else {
        atomic_fetch_add(&s->errors, 1);
        fprintf(stderr, "imapscope: %s: cannot connect: %s (retrying; events are queued up to %zu bytes, "
                        "then dropped and counted)\n", s->name, why, s->cfg.queue_bytes);
        s->warned = true;
    }
    if (pthread_create(&s->thread, NULL, writer, s) != 0) {
        snprintf(err, errlen, "%s: cannot start its writer thread", c->spec);
        ns_disconnect(s);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        free(s);
        return NULL;
    }
    s->started = true;
    return s;
}

void netsink_stop(netsink *s)
{
    if (!s || !s->started)
        return;
    pthread_mutex_lock(&s->mu);
    s->closing = true;
    s->deadline = in_ms(s->cfg.drain_ms);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_mutex_lock(&s->mu);
    s->started = false;
    s->stopped = true;
    drop_all(s); /* nothing, unless the writer left early */
    pthread_mutex_unlock(&s->mu);
}

void netsink_stats_get(netsink *s, netsink_stats *st)
{
    memset(st, 0, sizeof *st);
    if (!s)
        return;
    uint64_t acc = atomic_load(&s->accepted), later = atomic_load(&s->later_dropped);
    st->events = atomic_load(&s->events);
    st->queued = acc > st->events + later ? acc - st->events - later : 0;
    st->bytes = atomic_load(&s->bytes);
    st->dropped = atomic_load(&s->dropped);
    st->errors = atomic_load(&s->errors);
    st->reconnects = atomic_load(&s->reconnects);
    st->resent = atomic_load(&s->resent);
}

void netsink_free(netsink *s)
{
    if (!s)
        return;
    netsink_stop(s);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->q);
    free(s->batch);
    free(s);
}
