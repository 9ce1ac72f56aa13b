/*
 * progress.c - the progress line (see progress.h).
 */
#include "progress.h"

#include <string.h>
#include <time.h>

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void fmt_size(char *buf, size_t len, double v)
{
    static const char *unit[] = {"B", "kB", "MB", "GB", "TB"};
    unsigned i = 0;

    while (v >= 1000 && i < 4)
        v /= 1000, i++;
    if (i == 0)
        snprintf(buf, len, "%.0f B", v);
    else
        snprintf(buf, len, "%.1f %s", v, unit[i]);
}

static void fmt_count(char *buf, size_t len, uint64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    size_t o = 0;

    for (int i = 0; i < n && o + 2 < len; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = '\0';
}

size_t progress_format(char *buf, size_t len, uint64_t pos, uint64_t total, uint64_t elapsed_ms,
                       uint64_t open_conns, uint64_t events)
{
    char a[24], b[24], rate[24], c[32], e[32], eta[32] = "";
    double secs = (double)elapsed_ms / 1000.0;
    double bps = secs > 0 ? (double)pos / secs : 0;
    int n;

    fmt_size(a, sizeof a, (double)pos);
    fmt_size(rate, sizeof rate, bps);
    fmt_count(c, sizeof c, open_conns);
    fmt_count(e, sizeof e, events);
    if (total) {
        double pct = total ? 100.0 * (double)pos / (double)total : 0;
        if (pct > 100)
            pct = 100;
        fmt_size(b, sizeof b, (double)total);
        if (bps > 0 && pos <= total) {
            uint64_t left = (uint64_t)((double)(total - pos) / bps);
            if (left >= 3600)
                snprintf(eta, sizeof eta, "  ETA %llu:%02llu:%02llu", (unsigned long long)(left / 3600),
                         (unsigned long long)(left / 60 % 60), (unsigned long long)(left % 60));
            else
                snprintf(eta, sizeof eta, "  ETA %llu:%02llu", (unsigned long long)(left / 60),
                         (unsigned long long)(left % 60));
        }
        n = snprintf(buf, len, "imapscope: %s / %s  %.1f%%  %s/s%s  conns %s  events %s", a, b, pct, rate, eta, c, e);
    } else {
        n = snprintf(buf, len, "imapscope: %s  %s/s  conns %s  events %s", a, rate, c, e);
    }
    return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

void progress_start(progress *p, FILE *fp, uint64_t total)
{
    memset(p, 0, sizeof *p);
    p->fp = fp;
    p->total = total;
    p->t_start_ms = mono_ms();
}

bool progress_due(progress *p)
{
    uint64_t now = mono_ms();

    if (p->shown && now - p->t_last_ms < PROGRESS_INTERVAL_MS)
        return false;
    p->t_last_ms = now;
    return true;
}

void progress_show(progress *p, uint64_t pos, uint64_t open_conns, uint64_t events)
{
    char line[256];
    size_t n = progress_format(line, sizeof line, pos, p->total, mono_ms() - p->t_start_ms, open_conns, events);

    /* pad over the previous line's tail: no terminal escapes needed */
    fprintf(p->fp, "\r%s%*s", line, p->last_len > n ? (int)(p->last_len - n) : 0, "");
    fflush(p->fp);
    p->last_len = n;
    p->shown = true;
}

void progress_end(progress *p)
{
    if (!p->shown)
        return;
    fprintf(p->fp, "\r%*s\r", (int)p->last_len, "");
    fflush(p->fp);
    p->shown = false;
}
