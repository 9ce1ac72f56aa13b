/*
 * capture.c - libpcap input loop (see capture.h).
 */
#include "capture.h"

#include <errno.h>
#include <grp.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "limits.h"
#include "progress.h"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reopen_requested;
static pcap_t *active_pcap;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
    if (active_pcap)
        pcap_breakloop(active_pcap);
}

static void on_hup(int sig)
{
    (void)sig;
    reopen_requested = 1;
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop; /* no SA_RESTART: a blocked read returns */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static uint64_t wall_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

/* -Z: drop root after the interface is open, as tcpdump does. */
static int drop_privileges(const char *user)
{
    struct passwd *pw = getpwnam(user);

    if (!pw) {
        fprintf(stderr, "imapscope: -Z %s: no such user\n", user);
        return -1;
    }
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0) {
        fprintf(stderr, "imapscope: -Z %s: cannot drop privileges: %s\n", user, strerror(errno));
        return -1;
    }
    if (pw->pw_uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
        fprintf(stderr, "imapscope: -Z %s: root privileges could be regained; refusing to continue\n", user);
        return -1;
    }
    return 0;
}

static pcap_t *open_live(const capture_opts *o, char *errbuf)
{
    pcap_t *p = pcap_create(o->iface, errbuf);
    int rc;

    if (!p)
        return NULL;
    pcap_set_snaplen(p, o->snaplen > 0 ? o->snaplen : LIM_SNAPLEN);
    pcap_set_promisc(p, o->promisc ? 1 : 0);
    pcap_set_timeout(p, 100);
    pcap_set_immediate_mode(p, 1);
    pcap_set_buffer_size(p, o->buffer_mb > 0 ? o->buffer_mb << 20 : LIM_PCAP_BUFFER);
    pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_MICRO);
    rc = pcap_activate(p);
    if (rc < 0) {
        const char *why = pcap_geterr(p);
        if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
            snprintf(errbuf, PCAP_ERRBUF_SIZE, "no such interface (%s)", why && *why ? why : "not found");
        else if (rc == PCAP_ERROR_PERM_DENIED)
            snprintf(errbuf, PCAP_ERRBUF_SIZE, "permission denied (need root or CAP_NET_RAW: %s)", why);
        else
            snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", why && *why ? why : pcap_statustostr(rc));
        pcap_close(p);
        return NULL;
    }
    return p;
}

/* The kernel's counters of a live capture (pcap_stats(3PCAP): packets
 * received, dropped for lack of buffer space, dropped by the interface)
 * as {"capture": {...}}; NULL when the platform cannot say. */
static json_t *capture_counters(pcap_t *p, struct pcap_stat *ps)
{
    if (pcap_stats(p, ps) != 0)
        return NULL;
    json_t *cap = json_object();
    json_object_set_new_nocheck(cap, "received", json_integer(ps->ps_recv));
    json_object_set_new_nocheck(cap, "dropped", json_integer(ps->ps_drop));
    json_object_set_new_nocheck(cap, "if_dropped", json_integer(ps->ps_ifdrop));
    json_t *extra = json_object();
    json_object_set_new_nocheck(extra, "capture", cap);
    return extra;
}

/* --stats-interval: a "stats" event when the interval has passed on the
 * wall clock (live capture only). */
static void periodic_stats(const capture_opts *o, const capture_sink *sink, pcap_t *p, uint64_t *last)
{
    uint64_t now = wall_us();
    if (*last == 0)
        *last = now;
    if (now - *last < (uint64_t)o->stats_interval * 1000000u)
        return;
    *last = now;
    struct pcap_stat ps;
    sink->stats(sink->ctx, now, capture_counters(p, &ps));
}

int capture_run(const capture_opts *o, const capture_sink *sink, output *out)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    const char *input = o->file ? o->file : o->iface;
    const char *filter = o->filter;
    bool live = o->file == NULL;
    pcap_t *p;
    int linktype, status = CAPTURE_EXIT_OK;
    long long n = 0;
    uint64_t last_tick = 0;
    json_t *extra = NULL;
    progress pline;
    bool show_progress = false;
    uint64_t read_bytes = 24; /* when ftell cannot say: file header + (16 + caplen) per record */
    uint64_t read_records = 0;
    uint64_t last_stats = 0;   /* --stats-interval: wall time of the last periodic stats */
    bool periodic = o->file == NULL && o->stats_interval > 0 && sink->stats;

    if (live) {
        p = open_live(o, errbuf);
        if (!filter)
            filter = CAPTURE_DEFAULT_FILTER;
    } else {
        p = pcap_open_offline_with_tstamp_precision(o->file, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    }
    if (!p) {
        fprintf(stderr, "imapscope: %s %s: %s\n", live ? "cannot capture on" : "cannot read",
                input, errbuf);
        return CAPTURE_EXIT_SETUP;
    }
    if (filter && *filter) {
        struct bpf_program prog;
        if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0 ||
            pcap_setfilter(p, &prog) != 0) {
            fprintf(stderr, "imapscope: %s: bad filter \"%s\": %s\n", input, filter, pcap_geterr(p));
            pcap_close(p);
            return CAPTURE_EXIT_SETUP;
        }
        pcap_freecode(&prog);
    }
    if (o->drop_user && drop_privileges(o->drop_user) != 0) {
        pcap_close(p);
        return CAPTURE_EXIT_SETUP;
    }
    if (o->ready && o->ready(o->ready_ctx) != 0) {
        pcap_close(p);
        return CAPTURE_EXIT_SETUP;
    }
    linktype = pcap_datalink(p);
    /* Live: non-blocking reads and our own poll(2) of 100 ms when nothing
     * is buffered.  In immediate mode Linux's libpcap does not honour the
     * read timeout (pcap_set_timeout), so a blocking read on an idle link
     * never returned: idle connections did not expire and
     * --stats-interval came only with traffic. */
    int sel_fd = -1;
    if (live) {
        sel_fd = pcap_get_selectable_fd(p);
        if (sel_fd >= 0 && pcap_setnonblock(p, 1, errbuf) != 0)
            sel_fd = -1;
    }
    install_signals();
    active_pcap = p;
    if (o->progress && !live) {
        struct stat st;
        FILE *pf = pcap_file(p);
        show_progress = true;
        progress_start(&pline, stderr,
                       pf && fstat(fileno(pf), &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0);
    }

    while (!stop_requested) {
        struct pcap_pkthdr *h;
        const u_char *data;
        int rc = pcap_next_ex(p, &h, &data);

        if (reopen_requested) {
            reopen_requested = 0;
            output_reopen(out);
        }
        if (rc == 1) {
            uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
            sink->frame(sink->ctx, linktype, data, h->caplen, h->len, ts);
            read_bytes += 16u + h->caplen;
            if (show_progress && (read_records++ & 63) == 0 && progress_due(&pline)) {
                FILE *pf = pcap_file(p);
                long pos = pf ? ftell(pf) : -1;
                uint64_t open_conns = 0, events = 0;
                if (sink->progress)
                    sink->progress(sink->ctx, &open_conns, &events);
                progress_show(&pline, pos >= 0 ? (uint64_t)pos : read_bytes, open_conns, events);
            }
            if (o->count > 0 && ++n >= o->count)
                break;
            if (live && ts - last_tick > 1000000u) {
                last_tick = ts;
                sink->tick(sink->ctx, ts);
            }
            if (periodic)
                periodic_stats(o, sink, p, &last_stats);
        } else if (rc == 0) {
            /* live, nothing buffered: wait for the descriptor, then idle
             * expiry by the wall clock (poll returns early on a signal) */
            if (sel_fd >= 0) {
                struct pollfd pfd = {.fd = sel_fd, .events = POLLIN};
                poll(&pfd, 1, 100);
            }
            uint64_t now = wall_us();
            if (now - last_tick > 1000000u) {
                last_tick = now;
                sink->tick(sink->ctx, now);
            }
            if (periodic)
                periodic_stats(o, sink, p, &last_stats);
        } else if (rc == PCAP_ERROR_BREAK) {
            break;
        } else if (rc == PCAP_ERROR) {
            if (show_progress)
                progress_end(&pline); /* the message on a line of its own */
            fprintf(stderr, "imapscope: %s: %s (input ends here; what was read is reported)\n",
                    input, pcap_geterr(p));
            status = CAPTURE_EXIT_INPUT;
            break;
        } else {
            break; /* end of file */
        }
    }

    if (live) {
        struct pcap_stat ps;
        extra = capture_counters(p, &ps);
        if (extra) {
            fprintf(stderr, "imapscope: %u packets received, %u dropped by kernel, %u dropped by interface\n",
                    ps.ps_recv, ps.ps_drop, ps.ps_ifdrop);
        }
    }
    active_pcap = NULL;
    if (show_progress)
        progress_end(&pline);
    sink->finish(sink->ctx, live ? "shutdown" : "end_of_input", extra);
    pcap_close(p);
    return status;
}

int capture_list_interfaces(FILE *fp)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_if_t *all, *d;
    int i = 1;

    if (pcap_findalldevs(&all, errbuf) != 0) {
        fprintf(stderr, "imapscope: cannot list interfaces: %s\n", errbuf);
        return CAPTURE_EXIT_SETUP;
    }
    for (d = all; d; d = d->next, i++)
        fprintf(fp, "%d.%s%s%s%s\n", i, d->name, d->description ? " (" : "",
                d->description ? d->description : "", d->description ? ")" : "");
    pcap_freealldevs(all);
    return CAPTURE_EXIT_OK;
}
