/*
 * report_stats.c - --stats: the report's aggregates as aligned tables on
 * a terminal (after tshark -z): the summary, the command mix with the
 * status of each command and its latency percentiles, the alert kinds and
 * the top users.  Network strings are printed with control characters
 * replaced by '?', so the tables can never drive a terminal.
 */
#include "report_priv.h"

#include <stdlib.h>
#include <string.h>

#define STATS_TOP_USERS 20u

/* Display columns of s (UTF-8 code points), at most max. */
static size_t cols(const char *s, size_t max)
{
    size_t n = 0;

    for (; *s && n < max; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* Prints s in a cell of width columns (left-aligned, cut at width). */
static void cell(FILE *fp, const char *s, size_t width)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        if ((*p & 0xC0) != 0x80) {
            if (n == width)
                break;
            n++;
        }
        fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, fp);
        p++;
    }
    for (; n < width; n++)
        fputc(' ', fp);
}

static uint64_t cmd_count(const void *e) { return ((const cmd_entry *)e)->count; }
static uint64_t party_bytes(const void *e) { return ((const party_entry *)e)->bytes; }
static uint64_t kind_count(const void *e) { return ((const kind_entry *)e)->count; }

static void pct(FILE *fp, const lat_hist *h, double p)
{
    char b[32], c[40];
    bool exact;
    uint64_t v = lat_percentile(h, p, &exact);

    if (!h->n) {
        fprintf(fp, " %11s", "-");
        return;
    }
    report_fmt_latency(v, b, sizeof b);
    snprintf(c, sizeof c, "%s%s", exact ? "" : "~", b);
    fprintf(fp, " %11s", c);
}

void report_write_stats(report *r, FILE *fp)
{
    unsigned *idx = NULL, n;
    size_t w = 7;
    char t0[40], t1[40], lat[32];

    pthread_mutex_lock(&r->mu);
    fprintf(fp, "=== imapscope statistics ===\n");
    for (unsigned i = 0; i < r->n_inputs; i++) {
        fprintf(fp, "Input:        ");
        cell(fp, r->inputs[i], cols(r->inputs[i], 400));
        fputc('\n', fp);
    }
    if (r->first_us) {
        report_fmt_time(r->first_us, t0, sizeof t0);
        report_fmt_time(r->last_us, t1, sizeof t1);
        report_fmt_latency(r->last_us - r->first_us, lat, sizeof lat);
        fprintf(fp, "Time:         %s .. %s (%s)\n", t0, t1, lat);
    }
    fprintf(fp, "Connections:  %llu (cleartext %llu, STARTTLS %llu, implicit TLS %llu)\n",
            (unsigned long long)r->sessions, (unsigned long long)r->tls_conns[TM_NONE],
            (unsigned long long)r->tls_conns[TM_STARTTLS], (unsigned long long)r->tls_conns[TM_IMPLICIT]);
    fprintf(fp, "Transactions: %llu\n", (unsigned long long)r->transactions);
    fprintf(fp, "Logins:       %llu succeeded, %llu failed\n", (unsigned long long)r->login_ok,
            (unsigned long long)r->login_fail);
    fprintf(fp, "Alerts:       %llu\n", (unsigned long long)r->alerts);
    fprintf(fp, "Users:        %u%s\n", r->users.n, r->users.refused ? " (cap reached: the rest under \"(other...)\")" : "");

    /* commands */
    n = report_sorted(&r->cmds, cmd_count, &idx);
    for (unsigned i = 0; i < n; i++) {
        size_t c = cols(((cmd_entry *)KM_AT(&r->cmds, idx[i]))->key, STATS_NAME_MAX);
        if (c > w)
            w = c;
    }
    fprintf(fp, "\nCommands\n");
    cell(fp, "Command", w);
    fprintf(fp, " %9s %9s %9s %9s %9s %11s %11s %11s %11s\n", "Count", "OK", "NO", "BAD", "none", "p50", "p90",
            "p99", "max");
    for (unsigned i = 0; i < n; i++) {
        const cmd_entry *c = KM_AT(&r->cmds, idx[i]);
        cell(fp, c->key, w);
        fprintf(fp, " %9llu %9llu %9llu %9llu %9llu", (unsigned long long)c->count,
                (unsigned long long)c->status[ST_OK], (unsigned long long)c->status[ST_NO],
                (unsigned long long)c->status[ST_BAD], (unsigned long long)c->status[ST_NONE]);
        pct(fp, &c->lat, 50);
        pct(fp, &c->lat, 90);
        pct(fp, &c->lat, 99);
        if (c->lat.n) {
            report_fmt_latency(c->lat.max, lat, sizeof lat);
            fprintf(fp, " %11s\n", lat);
        } else {
            fprintf(fp, " %11s\n", "-");
        }
    }
    free(idx);
    fprintf(fp, "Latency: request to tagged response; percentiles by nearest rank, exact up to %u samples\n"
                "of a command, beyond that (marked ~) within 3.2%% (log-bucket histogram).\n",
            REPORT_EXACT_SAMPLES);
    if (r->cmds.refused)
        fprintf(fp, "(%llu transactions of commands beyond the first %u names are counted under \"(other...)\")\n",
                (unsigned long long)r->cmds.refused, REPORT_MAX_COMMANDS - 1);

    /* alerts */
    if (r->kinds.n) {
        n = report_sorted(&r->kinds, kind_count, &idx);
        w = 5;
        for (unsigned i = 0; i < n; i++) {
            size_t c = cols(((kind_entry *)KM_AT(&r->kinds, idx[i]))->key, STATS_NAME_MAX);
            if (c > w)
                w = c;
        }
        fprintf(fp, "\nAlerts\n");
        cell(fp, "Alert", w);
        fprintf(fp, " %9s  %s\n", "Count", "Category");
        for (unsigned i = 0; i < n; i++) {
            const kind_entry *k = KM_AT(&r->kinds, idx[i]);
            cell(fp, k->key, w);
            fprintf(fp, " %9llu  ", (unsigned long long)k->count);
            cell(fp, k->category ? k->category : "-", cols(k->category ? k->category : "-", 40));
            fputc('\n', fp);
        }
        free(idx);
    }

    /* top users */
    n = report_sorted(&r->users, party_bytes, &idx);
    w = 4;
    for (unsigned i = 0; i < n && i < STATS_TOP_USERS; i++) {
        size_t c = cols(((party_entry *)KM_AT(&r->users, idx[i]))->key, STATS_NAME_MAX);
        if (c > w)
            w = c;
    }
    fprintf(fp, "\nTop users (by bytes)\n");
    cell(fp, "User", w);
    fprintf(fp, " %9s %9s %9s %14s\n", "Conns", "Login OK", "Failed", "Bytes");
    for (unsigned i = 0; i < n && i < STATS_TOP_USERS; i++) {
        const party_entry *u = KM_AT(&r->users, idx[i]);
        cell(fp, u->key, w);
        fprintf(fp, " %9llu %9llu %9llu %14llu\n", (unsigned long long)u->conns,
                (unsigned long long)u->login_ok, (unsigned long long)u->login_fail,
                (unsigned long long)u->bytes);
    }
    if (n > STATS_TOP_USERS)
        fprintf(fp, "(%u more users)\n", n - STATS_TOP_USERS);
    free(idx);
    pthread_mutex_unlock(&r->mu);
    fflush(fp);
}
