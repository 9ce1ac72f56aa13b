/*
 * report_html.c - the report as one self-contained HTML page (--report).
 *
 * Everything is in the file: the styles, the charts as static SVG written
 * here, and a small script (open the trace a link points to, sort a table
 * by a column); nothing is fetched from the network.  The page works
 * without the script.  Every string from the network is HTML-escaped.
 *
 * Sections: summary, session timeline, command mix over time, latency,
 * logins over time per user, top users / clients / servers, alerts,
 * messages, connections, traces, notes on the caps that were reached.
 * Ids the tests (and a reader's links) rely on: #summary, #sum-connections,
 * #sum-users, #sum-alerts, #sum-transactions, #timeline, #commands,
 * #latency, #logins, #top, #alerts, #messages, #connections, #traces,
 * #trace-<flow_id>, #conn-<flow_id>, #notes; the latency table's rows
 * carry data-cmd, its cells data-v (microseconds).  <body data-load-ms> is
 * the time from navigation start to the end of the page's script.
 */
#include "report_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOP_N          20u    /* rows of the top users / clients / servers tables */
#define MIX_COMMANDS   8u     /* commands drawn in the command mix (the rest: "other") */
#define LOGIN_USERS    20u    /* users drawn in the logins chart */
#define CHART_W        1100   /* plot width in px */
#define TIMELINE_LANES 80     /* rows of the timeline; a bar that finds none is not drawn (counted) */

static const char *PALETTE[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
                                "#edc948", "#b07aa1", "#ff9da7", "#9c755f"};

/* ---- writing helpers ---------------------------------------------------------------- */

static void esc(FILE *fp, const char *s)
{
    if (!s)
        return;
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", fp); break;
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '"': fputs("&quot;", fp); break;
        case '\'': fputs("&#39;", fp); break;
        default:
            /* control characters from the network would be invalid in HTML */
            if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
                fputc('?', fp);
            else
                fputc(*s, fp);
        }
    }
}

static void esc_n(FILE *fp, const char *s, size_t n)
{
    char buf[4096];

    while (n > 0) {
        size_t k = n < sizeof buf - 1 ? n : sizeof buf - 1;
        memcpy(buf, s, k);
        buf[k] = '\0';
        esc(fp, buf);
        s += k;
        n -= k;
    }
}

/* 1234567 -> "1,234,567" */
static const char *count(uint64_t v, char *buf, size_t len)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v), o = 0;

    for (int i = 0; i < n && (size_t)o + 2 < len; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = '\0';
    return buf;
}

static const char *bytes(uint64_t v, char *buf, size_t len)
{
    report_fmt_bytes(v, buf, len);
    return buf;
}

static const char *lat(uint64_t v, char *buf, size_t len)
{
    report_fmt_latency(v, buf, len);
    return buf;
}

/* Time of day "12:34:56.123" of ts (UTC). */
static const char *tod(uint64_t ts, char *buf, size_t len)
{
    time_t s = (time_t)(ts / 1000000u);
    struct tm tm;

    gmtime_r(&s, &tm);
    snprintf(buf, len, "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ts % 1000000u / 1000));
    return buf;
}

/* The link of a flow: its trace when kept, else its connection row, else none. */
static void flow_link(FILE *fp, const report *r, uint64_t flow_id)
{
    if (!flow_id) {
        fputs("-", fp);
    } else if (report_trace_of(r, flow_id)) {
        fprintf(fp, "<a href=\"#trace-%llu\">%llu</a>", (unsigned long long)flow_id, (unsigned long long)flow_id);
    } else if (report_row_kept(r, flow_id)) {
        fprintf(fp, "<a href=\"#conn-%llu\">%llu</a> <small>(no trace)</small>", (unsigned long long)flow_id,
                (unsigned long long)flow_id);
    } else {
        fprintf(fp, "%llu <small>(not kept)</small>", (unsigned long long)flow_id);
    }
}

static const char *tls_name(int m)
{
    return m == TM_IMPLICIT ? "implicit TLS" : m == TM_STARTTLS ? "STARTTLS" : "cleartext";
}

/* ---- page head ------------------------------------------------------------------------ */

static const char CSS[] =
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 24px 40px;color:#222;background:#fff}"
    "h1{font-size:22px;margin:18px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}"
    "nav a{margin-right:12px}table{border-collapse:collapse;margin:6px 0}"
    "th,td{padding:2px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
    "table.sort th{cursor:pointer;user-select:none}table.sort th:hover{background:#f3f3f3}"
    ".cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:130px}"
    ".card b{display:block;font-size:20px}.card span{color:#666;font-size:12px}"
    ".bar{display:inline-block;height:10px;background:#4e79a7;vertical-align:middle}"
    "pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px;max-height:600px}"
    "details{margin:4px 0}summary{cursor:pointer}small,.note{color:#666}"
    ".legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}"
    "svg text{font:11px sans-serif;fill:#444}:target{outline:2px solid #e15759}"
    ".tbl{max-height:520px;overflow:auto;display:inline-block}";

/* Errors of the page's script are recorded on <html data-errors>; the end
 * of the script sets <body data-ready="1"> (the tests read both). */
static const char JS_HEAD[] =
    "window.onerror=function(m){var d=document.documentElement;"
    "d.setAttribute('data-errors',(d.getAttribute('data-errors')||'')+String(m)+';');};";

static const char JS_TAIL[] =
    "(function(){"
    "function openHash(){var id=decodeURIComponent(location.hash.slice(1));if(!id)return;"
    "var el=document.getElementById(id);if(!el)return;"
    "for(var p=el;p;p=p.parentElement){if(p.tagName==='DETAILS')p.open=true;}"
    "el.scrollIntoView();}"
    "window.addEventListener('hashchange',openHash);"
    "function val(td){var v=td.getAttribute('data-v');return v!==null?parseFloat(v):td.textContent.toLowerCase();}"
    "var tables=document.querySelectorAll('table.sort');"
    "for(var t=0;t<tables.length;t++){(function(tb){var ths=tb.querySelectorAll('th');"
    "for(var i=0;i<ths.length;i++){(function(i){ths[i].addEventListener('click',function(){"
    "var body=tb.tBodies[0],rows=Array.prototype.slice.call(body.rows),dir=ths[i].getAttribute('data-dir')==='a'?-1:1;"
    "ths[i].setAttribute('data-dir',dir===1?'a':'d');"
    "rows.sort(function(x,y){var a=val(x.cells[i]),b=val(y.cells[i]);return a<b?dir:a>b?-dir:0;});"
    "for(var k=0;k<rows.length;k++)body.appendChild(rows[k]);});})(i);}})(tables[t]);}"
    "openHash();"
    "document.body.setAttribute('data-load-ms',String(Math.round(window.performance?performance.now():0)));"
    "document.body.setAttribute('data-ready','1');"
    "})();";

/* ---- sections ---------------------------------------------------------------------------- */

static void card(FILE *fp, const char *id, uint64_t v, const char *label)
{
    char b[40];
    fprintf(fp, "<div class=card><b id=\"%s\" data-v=\"%llu\">%s</b><span>%s</span></div>", id,
            (unsigned long long)v, count(v, b, sizeof b), label);
}

static uint64_t kind_count(const void *e) { return ((const kind_entry *)e)->count; }
static uint64_t cmd_count(const void *e) { return ((const cmd_entry *)e)->count; }
static uint64_t party_bytes(const void *e) { return ((const party_entry *)e)->bytes; }
static uint64_t user_logins(const void *e)
{
    const party_entry *u = e;
    return u->login_ok + u->login_fail;
}

static void section_summary(FILE *fp, const report *r)
{
    char a[48], b[48], c[48];
    uint64_t tot = r->bytes_client + r->bytes_server;
    unsigned *idx, n;

    fputs("<h2 id=summary>Summary</h2>\n<div class=cards>", fp);
    card(fp, "sum-connections", r->sessions, "connections");
    card(fp, "sum-users", r->users.n, r->users.refused ? "users (cap reached)" : "users");
    card(fp, "sum-clients", r->clients.n, "client addresses");
    card(fp, "sum-servers", r->servers.n, "servers");
    card(fp, "sum-transactions", r->transactions, "commands");
    card(fp, "sum-alerts", r->alerts, "alerts");
    card(fp, "sum-messages", r->messages, "messages seen");
    card(fp, "sum-login-failed", r->login_fail, "failed logins");
    fputs("</div>\n<table>", fp);
    fputs("<tr><th>Captures</th><td>", fp);
    for (unsigned i = 0; i < r->n_inputs; i++) {
        if (i)
            fputs("<br>", fp);
        esc(fp, r->inputs[i]);
    }
    fprintf(fp, "%s</td></tr>\n", r->n_inputs ? "" : "-");
    if (r->first_us) {
        report_fmt_time(r->first_us, a, sizeof a);
        report_fmt_time(r->last_us, b, sizeof b);
        fprintf(fp, "<tr><th>Time span (UTC)</th><td>%s &ndash; %s (%s)</td></tr>\n", a, b,
                lat(r->last_us - r->first_us, c, sizeof c));
    }
    if (r->have_stats)
        fprintf(fp, "<tr><th>Frames</th><td>%s (TCP packets %s)%s</td></tr>\n", count(r->frames, a, sizeof a),
                count(r->tcp_packets, b, sizeof b), r->threads > 1 ? ", worker threads" : "");
    fprintf(fp, "<tr><th>Bytes</th><td>%s (client %s, server %s)</td></tr>\n", bytes(tot, a, sizeof a),
            bytes(r->bytes_client, b, sizeof b), bytes(r->bytes_server, c, sizeof c));
    fputs("<tr><th>TLS / cleartext</th><td>", fp);
    for (int m = TM_NONE; m <= TM_IMPLICIT; m++) {
        double pc = r->sessions ? 100.0 * (double)r->tls_conns[m] / (double)r->sessions : 0;
        double pb = tot ? 100.0 * (double)r->tls_bytes[m] / (double)tot : 0;
        fprintf(fp, "%s%s: <span id=\"sum-tls-%d\" data-v=\"%llu\">%s</span> connections (%.1f%%), %.1f%% of bytes", m ? "; " : "",
                tls_name(m), m, (unsigned long long)r->tls_conns[m], count(r->tls_conns[m], a, sizeof a), pc, pb);
    }
    fprintf(fp, "; decrypted (key log): %s</td></tr>\n", count(r->decrypted_conns, a, sizeof a));
    fprintf(fp, "<tr><th>Logins</th><td>%s succeeded, %s failed</td></tr>\n", count(r->login_ok, a, sizeof a),
            count(r->login_fail, b, sizeof b));
    fputs("</table>\n<h3>Alerts by kind</h3>\n", fp);
    n = report_sorted(&r->kinds, kind_count, &idx);
    if (!n) {
        fputs("<p class=note>No alerts.</p>\n", fp);
    } else {
        fputs("<table id=alert-kinds><thead><tr><th>Alert</th><th>Category</th><th class=n>Count</th></tr></thead><tbody>\n", fp);
        for (unsigned i = 0; i < n; i++) {
            const kind_entry *k = KM_AT(&r->kinds, idx[i]);
            fputs("<tr><td>", fp);
            esc(fp, k->key);
            fputs("</td><td>", fp);
            esc(fp, k->category ? k->category : "-");
            fprintf(fp, "</td><td class=n data-v=\"%llu\">%s</td></tr>\n", (unsigned long long)k->count,
                    count(k->count, a, sizeof a));
        }
        fputs("</tbody></table>\n", fp);
    }
    free(idx);
}

/* x of time t on a plot of width CHART_W starting at x0 */
static double tx(uint64_t t, uint64_t t0, uint64_t t1, double x0)
{
    if (t < t0)
        t = t0;
    if (t > t1)
        t = t1;
    return x0 + (double)(t - t0) * CHART_W / (double)(t1 - t0);
}

static void time_axis(FILE *fp, uint64_t t0, uint64_t t1, double x0, double y)
{
    char b[32];

    for (int i = 0; i <= 5; i++) {
        uint64_t t = t0 + (t1 - t0) * (uint64_t)i / 5;
        double x = tx(t, t0, t1, x0);
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\"/>", x, y, x, y + 4);
        fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">%s</text>", x, y + 16,
                i == 0 ? "start" : i == 5 ? "end" : "middle", tod(t, b, sizeof b));
    }
}

static int cmp_row_score_desc(const void *a, const void *b)
{
    const conn_row *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return x->flow_id < y->flow_id ? -1 : x->flow_id > y->flow_id;
}

static int cmp_row_start(const void *a, const void *b)
{
    const conn_row *x = a, *y = b;
    if (x->start_us != y->start_us)
        return x->start_us < y->start_us ? -1 : 1;
    return x->flow_id < y->flow_id ? -1 : x->flow_id > y->flow_id;
}

/* The bucket axis: start and width as the report has them, nb used. */
static void bucket_span(const report *r, unsigned nb, uint64_t *t0, uint64_t *t1)
{
    *t0 = r->ax.start_us;
    *t1 = r->ax.start_us + (uint64_t)nb * r->ax.width_us;
}

static void section_timeline(FILE *fp, const report *r)
{
    unsigned n = r->n_rows, bars, nb = report_buckets_used(r);
    conn_row *rows = malloc((n ? n : 1) * sizeof *rows);
    uint64_t t0 = r->first_us, t1 = r->last_us > r->first_us ? r->last_us : r->first_us + 1, bt0, bt1;
    double h, y = 0, x0 = 10;
    uint64_t maxa = 1;
    char a[48], b[48], c[48];

    fputs("<h2 id=timeline>Session timeline</h2>\n", fp);
    if (!rows || !r->sessions) {
        fputs("<p class=note>No connections.</p>\n", fp);
        free(rows);
        return;
    }
    memcpy(rows, r->rows, n * sizeof *rows);
    qsort(rows, n, sizeof *rows, cmp_row_score_desc);
    bars = n < REPORT_TIMELINE_BARS ? n : REPORT_TIMELINE_BARS;
    qsort(rows, bars, sizeof *rows, cmp_row_start);
    fprintf(fp, "<p class=note>%s of %s connections drawn (%s), each a bar from its first to its last packet; "
                "<span style=\"color:#f28e2b\">&#9632;</span> cleartext, <span style=\"color:#4e79a7\">&#9632;</span> TLS "
                "(STARTTLS or implicit), <span style=\"color:#e15759\">&#9650;</span> an alert; connections that do not "
                "overlap share a row.  "
                "Click a bar for its trace.  The strip below counts every connection.</p>\n",
            count(bars, a, sizeof a), count(r->sessions, b, sizeof b),
            bars < r->sessions ? "those with the most alerts, then the most bytes" : "all");
    /* lanes: each bar goes to the first lane free at its start (a pixel of
     * space kept), so short connections share a lane instead of a row each */
    unsigned *lane = malloc(bars * sizeof *lane), nlanes = 0, undrawn = 0;
    double lane_end[TIMELINE_LANES];
    if (!lane) {
        free(rows);
        return;
    }
    for (unsigned i = 0; i < bars; i++) {
        double x1 = tx(rows[i].start_us, t0, t1, x0), x2 = tx(rows[i].end_us, t0, t1, x0);
        unsigned k = 0;
        if (x2 < x1 + 1)
            x2 = x1 + 1;
        while (k < nlanes && lane_end[k] + 1 > x1)
            k++;
        if (k == nlanes && nlanes < TIMELINE_LANES)
            nlanes++;
        if (k == nlanes) {
            lane[i] = UINT32_MAX;
            undrawn++;
            continue;
        }
        lane[i] = k;
        lane_end[k] = x2;
    }
    h = 600.0 / (nlanes ? nlanes : 1);
    if (h > 14)
        h = 14;
    if (h < 4)
        h = 4;
    fprintf(fp, "<svg id=timeline-svg width=\"%d\" height=\"%.0f\" role=img>\n", CHART_W + 20,
            nlanes * h + 70);
    for (unsigned i = 0; i < bars; i++) {
        const conn_row *w = &rows[i];
        double x1 = tx(w->start_us, t0, t1, x0), x2 = tx(w->end_us, t0, t1, x0);
        const char *col = w->tls == TM_NONE ? "#f28e2b" : "#4e79a7";
        if (lane[i] == UINT32_MAX)
            continue;
        y = lane[i] * h;
        fprintf(fp, "<a href=\"#%s-%llu\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                    "<title>flow %llu ",
                report_trace_of(r, w->flow_id) ? "trace" : "conn", (unsigned long long)w->flow_id, x1, y,
                x2 - x1 < 1 ? 1 : x2 - x1, h - 1, col, (unsigned long long)w->flow_id);
        esc(fp, w->client);
        fputs(" -&gt; ", fp);
        esc(fp, w->server);
        fputs(" user ", fp);
        esc(fp, w->user[0] ? w->user : "-");
        fprintf(fp, ", %s, %s, %u alerts</title></rect></a>", tls_name(w->tls),
                bytes(w->client_bytes + w->server_bytes, c, sizeof c), w->alerts);
        for (unsigned k = 0; k < w->n_alert_ts; k++) {
            double ax = tx(w->alert_ts[k], t0, t1, x0);
            fprintf(fp, "<path d=\"M%.1f %.1fl3 %.1fh-6z\" fill=\"#e15759\"/>", ax, y, h - 1);
        }
        fputc('\n', fp);
    }
    y = nlanes * h;
    free(lane);
    /* density strip: connections open per bucket, all connections */
    bucket_span(r, nb, &bt0, &bt1);
    for (unsigned i = 0; i < nb; i++)
        if (r->open_us[i] > maxa)
            maxa = r->open_us[i];
    y += 8;
    for (unsigned i = 0; i < nb; i++) {
        double xa = tx(bt0 + (uint64_t)i * r->ax.width_us, t0, t1, x0);
        double xb = tx(bt0 + (uint64_t)(i + 1) * r->ax.width_us, t0, t1, x0);
        fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"18\" fill=\"#333\" fill-opacity=\"%.3f\">"
                    "<title>%s: %.1f connections open on average, %u started (%u TLS)</title></rect>",
                xa, y, xb - xa < 0.5 ? 0.5 : xb - xa, r->open_us[i] ? 0.08 + 0.92 * (double)r->open_us[i] / (double)maxa : 0.0,
                tod(bt0 + (uint64_t)i * r->ax.width_us, a, sizeof a), (double)r->open_us[i] / (double)r->ax.width_us,
                r->started_tls[i] + r->started_clear[i], r->started_tls[i]);
    }
    fputc('\n', fp);
    time_axis(fp, t0, t1, x0, y + 20);
    fputs("</svg>\n", fp);
    if (undrawn)
        fprintf(fp, "<p class=note>%u of the selected connections found no free row and are not drawn.</p>\n", undrawn);
    fprintf(fp, "<p class=note>Strip: connections open on average in each %s bucket (darkest: %.1f).</p>\n",
            lat(r->ax.width_us, a, sizeof a), (double)maxa / (double)r->ax.width_us);
    free(rows);
}

static void section_commands(FILE *fp, const report *r)
{
    unsigned *idx, n = report_sorted(&r->cmds, cmd_count, &idx), k = n < MIX_COMMANDS ? n : MIX_COMMANDS;
    unsigned nb = report_buckets_used(r);
    uint64_t maxt = 1, bt0, bt1;
    const double H = 220, x0 = 10;
    char a[48];

    fputs("<h2 id=commands>Command mix over time</h2>\n", fp);
    if (!n) {
        fputs("<p class=note>No commands.</p>\n", fp);
        free(idx);
        return;
    }
    bucket_span(r, nb, &bt0, &bt1);
    for (unsigned b = 0; b < nb; b++) {
        uint64_t t = 0;
        for (unsigned i = 0; i < n; i++)
            t += ((const cmd_entry *)KM_AT(&r->cmds, idx[i]))->series[b];
        if (t > maxt)
            maxt = t;
    }
    fprintf(fp, "<div class=legend>");
    for (unsigned i = 0; i <= k && i <= n; i++) {
        if (i == k && n <= k)
            break;
        fprintf(fp, "<span><i style=\"background:%s\"></i>", PALETTE[i]);
        if (i < k)
            esc(fp, ((const cmd_entry *)KM_AT(&r->cmds, idx[i]))->key);
        else
            fputs("other commands", fp);
        fputs("</span>", fp);
    }
    fprintf(fp, "</div>\n<svg id=commands-svg width=\"%d\" height=\"%.0f\" role=img>\n", CHART_W + 20, H + 30);
    for (unsigned b = 0; b < nb; b++) {
        double xa = x0 + (double)b * CHART_W / nb, w = (double)CHART_W / nb, y = H;
        uint64_t other = 0;
        for (unsigned i = 0; i < n; i++) {
            const cmd_entry *c = KM_AT(&r->cmds, idx[i]);
            if (i >= k) {
                other += c->series[b];
                continue;
            }
            if (!c->series[b])
                continue;
            double hh = H * c->series[b] / (double)maxt;
            y -= hh;
            fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>", xa, y,
                    w > 2 ? w - 1 : w, hh, PALETTE[i]);
            esc(fp, c->key);
            fprintf(fp, ": %u at %s</title></rect>", c->series[b], tod(bt0 + (uint64_t)b * r->ax.width_us, a, sizeof a));
        }
        if (other) {
            double hh = H * other / (double)maxt;
            y -= hh;
            fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>other: %llu</title></rect>",
                    xa, y, w > 2 ? w - 1 : w, hh, PALETTE[MIX_COMMANDS], (unsigned long long)other);
        }
    }
    fputc('\n', fp);
    time_axis(fp, bt0, bt1, x0, H + 2);
    fprintf(fp, "</svg>\n<p class=note>Commands completed per %s bucket (tallest: %llu).</p>\n",
            lat(r->ax.width_us, a, sizeof a), (unsigned long long)maxt);
    free(idx);
}

static void pct_cell(FILE *fp, const lat_hist *h, double p)
{
    char b[32];
    bool exact;
    uint64_t v = lat_percentile(h, p, &exact);

    if (!h->n) {
        fputs("<td class=n>-</td>", fp);
        return;
    }
    fprintf(fp, "<td class=\"n p%g\" data-v=\"%llu\"%s>%s%s</td>", p, (unsigned long long)v,
            exact ? "" : " title=\"from the histogram: within 3.2%\"", exact ? "" : "~", lat(v, b, sizeof b));
}

static void section_latency(FILE *fp, const report *r)
{
    unsigned *idx, n = report_sorted(&r->cmds, cmd_count, &idx);
    uint64_t bins[48] = {0}, maxb = 1;
    int lo = 48, hi = -1;
    const double H = 160, x0 = 10;
    char a[48], b[48];

    fputs("<h2 id=latency>Latency per command</h2>\n", fp);
    fprintf(fp, "<p class=note>From a command to its tagged response.  Percentiles by nearest rank: exact while a "
                "command has at most %u samples, beyond that (marked ~) the middle of a log-bucket histogram's "
                "bucket, within 3.2%%.</p>\n", REPORT_EXACT_SAMPLES);
    fputs("<div class=tbl><table class=sort id=latency-table><thead><tr><th>Command</th><th class=n>Count</th>"
          "<th class=n>OK</th><th class=n>NO</th><th class=n>BAD</th><th class=n>no response</th>"
          "<th class=n>p50</th><th class=n>p90</th><th class=n>p99</th><th class=n>max</th></tr></thead><tbody>\n", fp);
    for (unsigned i = 0; i < n; i++) {
        const cmd_entry *c = KM_AT(&r->cmds, idx[i]);
        fputs("<tr data-cmd=\"", fp);
        esc(fp, c->key);
        fputs("\"><td>", fp);
        esc(fp, c->key);
        fprintf(fp, "</td><td class=n data-v=\"%llu\">%s</td>", (unsigned long long)c->count, count(c->count, a, sizeof a));
        for (int s = 0; s < ST_COUNT; s++)
            fprintf(fp, "<td class=n data-v=\"%llu\">%s</td>", (unsigned long long)c->status[s],
                    count(c->status[s], a, sizeof a));
        pct_cell(fp, &c->lat, 50);
        pct_cell(fp, &c->lat, 90);
        pct_cell(fp, &c->lat, 99);
        if (c->lat.n)
            fprintf(fp, "<td class=n data-v=\"%llu\">%s</td>", (unsigned long long)c->lat.max, lat(c->lat.max, a, sizeof a));
        else
            fputs("<td class=n>-</td>", fp);
        fputs("</tr>\n", fp);
    }
    fputs("</tbody></table></div>\n", fp);
    free(idx);

    /* histogram of all latencies, one bar per power of two */
    for (unsigned i = 0; i < LAT_BUCKETS; i++) {
        uint64_t low = lat_bucket_low(i);
        int k = low ? 63 - __builtin_clzll(low) : 0;
        if (!r->all_lat.b[i])
            continue;
        bins[k] += r->all_lat.b[i];
        if (k < lo)
            lo = k;
        if (k > hi)
            hi = k;
    }
    fputs("<h3>Latency histogram (all commands)</h3>\n", fp);
    if (hi < 0) {
        fputs("<p class=note>No latencies.</p>\n", fp);
        return;
    }
    for (int k = lo; k <= hi; k++)
        if (bins[k] > maxb)
            maxb = bins[k];
    fprintf(fp, "<svg id=latency-svg width=\"%d\" height=\"%.0f\" role=img>\n", CHART_W + 20, H + 36);
    for (int k = lo; k <= hi; k++) {
        double w = (double)CHART_W / (hi - lo + 1), xa = x0 + (k - lo) * w, hh = H * bins[k] / (double)maxb;
        fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#4e79a7\"><title>%s to %s: %llu</title></rect>",
                xa, H - hh, w > 3 ? w - 2 : w, hh, lat(k ? 1ull << k : 0, a, sizeof a), lat(2ull << k, b, sizeof b),
                (unsigned long long)bins[k]);
        if ((hi - lo) < 16 || (k - lo) % 2 == 0)
            fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>", xa + w / 2, H + 14,
                    lat(k ? 1ull << k : 0, a, sizeof a));
    }
    fprintf(fp, "\n</svg>\n<p class=note>Commands per latency range [2<sup>k</sup>, 2<sup>k+1</sup>) us, "
                "labelled by the lower bound (%s commands).</p>\n", count(r->all_lat.n, a, sizeof a));
}

static void section_logins(FILE *fp, const report *r)
{
    unsigned *idx, n = report_sorted(&r->users, user_logins, &idx), k = 0, nb = report_buckets_used(r);
    uint32_t maxv = 1;
    const double RH = 26, x0 = 180, W = CHART_W - 170;
    uint64_t bt0, bt1;
    char a[48], b[48];

    fputs("<h2 id=logins>Logins over time per user</h2>\n", fp);
    for (unsigned i = 0; i < n && k < LOGIN_USERS; i++) {
        const party_entry *u = KM_AT(&r->users, idx[i]);
        if (!u->series || !(u->login_ok + u->login_fail))
            break;
        k++;
        for (unsigned j = 0; j < 2 * REPORT_BUCKETS; j++)
            if (u->series[j] > maxv)
                maxv = u->series[j];
    }
    if (!k) {
        fputs("<p class=note>No LOGIN or AUTHENTICATE commands.</p>\n", fp);
        free(idx);
        return;
    }
    bucket_span(r, nb, &bt0, &bt1);
    fprintf(fp, "<p class=note>The %u users with the most attempts; per %s bucket <span style=\"color:#59a14f\">"
                "&#9632;</span> succeeded (up), <span style=\"color:#e15759\">&#9632;</span> failed (down); "
                "tallest: %u.</p>\n", k, lat(r->ax.width_us, a, sizeof a), maxv);
    fprintf(fp, "<svg id=logins-svg width=\"%d\" height=\"%.0f\" role=img>\n", CHART_W + 20, k * RH + 30);
    for (unsigned i = 0; i < k; i++) {
        const party_entry *u = KM_AT(&r->users, idx[i]);
        double ym = i * RH + RH / 2;
        fputs("<text x=\"0\" y=\"", fp);
        fprintf(fp, "%.1f\">", ym + 4);
        esc_n(fp, u->key, strlen(u->key) > 24 ? 24 : strlen(u->key));
        fprintf(fp, " (%llu/%llu)</text>", (unsigned long long)u->login_ok, (unsigned long long)u->login_fail);
        fprintf(fp, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\"/>", x0, x0 + W, ym, ym);
        for (unsigned j = 0; j < nb; j++) {
            double xa = x0 + j * W / nb, w = W / nb;
            uint32_t ok = u->series[j], bad = u->series[REPORT_BUCKETS + j];
            if (ok)
                fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#59a14f\"><title>%u succeeded at %s</title></rect>",
                        xa, ym - (RH / 2 - 1) * ok / maxv, w > 2 ? w - 1 : w, (RH / 2 - 1) * ok / maxv, ok,
                        tod(bt0 + (uint64_t)j * r->ax.width_us, b, sizeof b));
            if (bad)
                fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#e15759\"><title>%u failed at %s</title></rect>",
                        xa, ym, w > 2 ? w - 1 : w, (RH / 2 - 1) * bad / maxv, bad,
                        tod(bt0 + (uint64_t)j * r->ax.width_us, b, sizeof b));
        }
        fputc('\n', fp);
    }
    time_axis(fp, bt0, bt1, x0 - 10 + 10, k * RH + 2);
    fputs("</svg>\n", fp);
    free(idx);
}

static void top_table(FILE *fp, const keymap *km, const char *id, const char *what, bool logins)
{
    unsigned *idx, n = report_sorted(km, party_bytes, &idx);
    uint64_t maxb = 1;
    char a[48], b[48];

    fprintf(fp, "<div style=\"display:inline-block;vertical-align:top;margin-right:24px\"><h3>%s</h3>", what);
    if (n && ((const party_entry *)KM_AT(km, idx[0]))->bytes > maxb)
        maxb = ((const party_entry *)KM_AT(km, idx[0]))->bytes;
    fprintf(fp, "<table class=sort id=\"%s\"><thead><tr><th>%s</th><th class=n>Conns</th>%s<th class=n>Bytes</th><th></th></tr></thead><tbody>\n",
            id, logins ? "User" : "Address", logins ? "<th class=n>Logins OK</th><th class=n>Failed</th>" : "");
    for (unsigned i = 0; i < n && i < TOP_N; i++) {
        const party_entry *p = KM_AT(km, idx[i]);
        fputs("<tr><td>", fp);
        esc(fp, p->key);
        fprintf(fp, "</td><td class=n data-v=\"%llu\">%s</td>", (unsigned long long)p->conns, count(p->conns, a, sizeof a));
        if (logins)
            fprintf(fp, "<td class=n data-v=\"%llu\">%llu</td><td class=n data-v=\"%llu\">%llu</td>",
                    (unsigned long long)p->login_ok, (unsigned long long)p->login_ok,
                    (unsigned long long)p->login_fail, (unsigned long long)p->login_fail);
        fprintf(fp, "<td class=n data-v=\"%llu\">%s</td><td><span class=bar style=\"width:%.0fpx\"></span></td></tr>\n",
                (unsigned long long)p->bytes, bytes(p->bytes, b, sizeof b), 120.0 * (double)p->bytes / (double)maxb);
    }
    fputs("</tbody></table>", fp);
    if (n > TOP_N)
        fprintf(fp, "<p class=note>%u more not shown.</p>", n - TOP_N);
    fputs("</div>\n", fp);
    free(idx);
}

static void section_alerts(FILE *fp, const report *r)
{
    char a[48];

    fprintf(fp, "<h2 id=alerts>Alerts</h2>\n");
    if (!r->n_arows) {
        fputs("<p class=note>No alerts.</p>\n", fp);
        return;
    }
    if (r->arows_dropped)
        fprintf(fp, "<p class=note>The first %u of %llu alerts (cap: --report-max-rows).</p>\n", r->n_arows,
                (unsigned long long)r->alerts);
    fputs("<div class=tbl><table class=sort id=alerts-table><thead><tr><th>Time (UTC)</th><th>Flow</th><th>Alert</th>"
          "<th>Category</th><th>Client</th><th>Server</th><th>Detail</th></tr></thead><tbody>\n", fp);
    for (unsigned i = 0; i < r->n_arows; i++) {
        const alert_row *w = &r->arows[i];
        fprintf(fp, "<tr><td data-v=\"%llu\">%s</td><td data-v=\"%llu\">", (unsigned long long)w->ts_us,
                tod(w->ts_us, a, sizeof a), (unsigned long long)w->flow_id);
        flow_link(fp, r, w->flow_id);
        fputs("</td><td>", fp);
        esc(fp, w->name);
        fputs("</td><td>", fp);
        esc(fp, w->category);
        fputs("</td><td>", fp);
        esc(fp, w->client);
        fputs("</td><td>", fp);
        esc(fp, w->server);
        fputs("</td><td>", fp);
        esc(fp, w->detail);
        fputs("</td></tr>\n", fp);
    }
    fputs("</tbody></table></div>\n", fp);
}

static void section_messages(FILE *fp, const report *r)
{
    char a[48], b[48];

    fprintf(fp, "<h2 id=messages>Messages</h2>\n<p class=note>Messages whose ENVELOPE a FETCH response carried "
                "(subject and sender decoded), and APPENDed messages (their headers are not decoded).  %s seen",
            count(r->messages, a, sizeof a));
    if (r->mrows_dropped)
        fprintf(fp, "; the first %u listed (cap: --report-max-rows)", r->n_mrows);
    fputs(".</p>\n", fp);
    if (!r->n_mrows)
        return;
    fputs("<div class=tbl><table class=sort id=messages-table><thead><tr><th>Time (UTC)</th><th>Flow</th><th>Command</th>"
          "<th>From</th><th>Subject</th><th>Date</th><th>Mailbox</th><th class=n>Size</th></tr></thead><tbody>\n", fp);
    for (unsigned i = 0; i < r->n_mrows; i++) {
        const msg_row *m = &r->mrows[i];
        fprintf(fp, "<tr><td data-v=\"%llu\">%s</td><td data-v=\"%llu\">", (unsigned long long)m->ts_us,
                tod(m->ts_us, a, sizeof a), (unsigned long long)m->flow_id);
        flow_link(fp, r, m->flow_id);
        fputs("</td><td>", fp);
        esc(fp, m->command);
        fputs("</td><td>", fp);
        esc(fp, m->from ? m->from : "");
        fputs("</td><td>", fp);
        esc(fp, m->subject ? m->subject : "");
        fputs("</td><td>", fp);
        esc(fp, m->date ? m->date : "");
        fputs("</td><td>", fp);
        esc(fp, m->mailbox ? m->mailbox : "");
        if (m->size >= 0)
            fprintf(fp, "</td><td class=n data-v=\"%lld\">%s</td></tr>\n", (long long)m->size, bytes((uint64_t)m->size, b, sizeof b));
        else
            fputs("</td><td class=n>-</td></tr>\n", fp);
    }
    fputs("</tbody></table></div>\n", fp);
}

static void section_connections(FILE *fp, const report *r)
{
    conn_row *rows = malloc((r->n_rows ? r->n_rows : 1) * sizeof *rows);
    char a[48], b[48], c[48];

    fputs("<h2 id=connections>Connections</h2>\n", fp);
    if (!rows)
        return;
    memcpy(rows, r->rows, r->n_rows * sizeof *rows);
    qsort(rows, r->n_rows, sizeof *rows, cmp_row_start);
    if (r->rows_dropped)
        fprintf(fp, "<p class=note>%u of %s connections listed: those with the most alerts, then the most bytes "
                    "(cap: --report-max-conns).</p>\n", r->n_rows, count(r->sessions, a, sizeof a));
    fputs("<div class=tbl><table class=sort id=connections-table><thead><tr><th>Flow</th><th>Start (UTC)</th>"
          "<th class=n>Duration</th><th>Client</th><th>Server</th><th>User</th><th>Login</th><th>TLS</th>"
          "<th class=n>Commands</th><th class=n>Client bytes</th><th class=n>Server bytes</th><th class=n>Alerts</th>"
          "<th>End</th></tr></thead><tbody>\n", fp);
    for (unsigned i = 0; i < r->n_rows; i++) {
        const conn_row *w = &rows[i];
        fprintf(fp, "<tr id=\"conn-%llu\"><td data-v=\"%llu\">", (unsigned long long)w->flow_id,
                (unsigned long long)w->flow_id);
        if (report_trace_of(r, w->flow_id))
            fprintf(fp, "<a href=\"#trace-%llu\">%llu</a>", (unsigned long long)w->flow_id, (unsigned long long)w->flow_id);
        else
            fprintf(fp, "%llu", (unsigned long long)w->flow_id);
        fprintf(fp, "</td><td data-v=\"%llu\">%s</td><td class=n data-v=\"%llu\">%s</td><td>",
                (unsigned long long)w->start_us, tod(w->start_us, a, sizeof a),
                (unsigned long long)(w->end_us - w->start_us), lat(w->end_us - w->start_us, b, sizeof b));
        esc(fp, w->client);
        fputs("</td><td>", fp);
        esc(fp, w->server);
        fputs("</td><td>", fp);
        esc(fp, w->user[0] ? w->user : "-");
        fprintf(fp, "</td><td>%s</td><td>%s%s</td><td class=n data-v=\"%u\">%u</td><td class=n data-v=\"%llu\">%s</td>"
                    "<td class=n data-v=\"%llu\">%s</td><td class=n data-v=\"%u\">%u</td><td>",
                w->login == 1 ? "ok" : w->login == 2 ? "failed" : "-", tls_name(w->tls), w->decrypted ? " (decrypted)" : "",
                w->commands, w->commands, (unsigned long long)w->client_bytes, bytes(w->client_bytes, b, sizeof b),
                (unsigned long long)w->server_bytes, bytes(w->server_bytes, c, sizeof c), w->alerts, w->alerts);
        esc(fp, w->reason);
        fputs("</td></tr>\n", fp);
    }
    fputs("</tbody></table></div>\n", fp);
    free(rows);
}

static int cmp_trace_flow(const void *a, const void *b)
{
    const kept_trace *x = *(const kept_trace *const *)a, *y = *(const kept_trace *const *)b;
    return x->flow_id < y->flow_id ? -1 : x->flow_id > y->flow_id;
}

static void section_traces(FILE *fp, const report *r)
{
    const kept_trace **t = malloc((r->n_traces ? r->n_traces : 1) * sizeof *t);
    char a[48];

    fputs("<h2 id=traces>Traces</h2>\n", fp);
    fprintf(fp, "<p class=note>The conversation of %u connection%s, folded (click to open): ", r->n_traces,
            r->n_traces == 1 ? "" : "s");
    if (r->traces_dropped || r->traces_unrecorded)
        fprintf(fp, "the %u most interesting of %s (the most alerts, then failed logins, then the earliest; cap: "
                    "--report-traces)%s.",
                r->cfg.max_traces, count(r->sessions, a, sizeof a),
                r->traces_unrecorded ? "; some connections were not recorded at all (trace memory cap)" : "");
    else
        fputs("every connection.", fp);
    fputs("  Passwords are redacted unless --show-credentials.</p>\n", fp);
    if (!t)
        return;
    for (unsigned i = 0; i < r->n_traces; i++)
        t[i] = &r->traces[i];
    qsort(t, r->n_traces, sizeof *t, cmp_trace_flow);
    for (unsigned i = 0; i < r->n_traces; i++) {
        fprintf(fp, "<details id=\"trace-%llu\"><summary>", (unsigned long long)t[i]->flow_id);
        esc(fp, t[i]->title);
        fputs("</summary><pre>", fp);
        esc_n(fp, t[i]->text, t[i]->len);
        if (t[i]->lines_dropped)
            fprintf(fp, "... %llu more lines not kept (cap: --report-trace-bytes %zu)\n",
                    (unsigned long long)t[i]->lines_dropped, r->cfg.trace_bytes);
        fputs("</pre></details>\n", fp);
    }
    free(t);
}

static void section_notes(FILE *fp, const report *r)
{
    fputs("<h2 id=notes>Caps and notes</h2>\n<ul>\n", fp);
    fprintf(fp, "<li>Time buckets: %u of %s each, from the first event.</li>\n", REPORT_BUCKETS,
            r->ax.width_us >= 1000000 ? "at least a second" : "at most a second");
    if (r->users.refused || r->clients.refused || r->servers.refused || r->kinds.refused)
        fprintf(fp, "<li class=cap>Cap reached (--report-max-keys %u): %llu user, %llu client, %llu server and %llu "
                    "alert-kind lookups counted under \"(other...)\".</li>\n",
                r->cfg.max_keys, (unsigned long long)r->users.refused, (unsigned long long)r->clients.refused,
                (unsigned long long)r->servers.refused, (unsigned long long)r->kinds.refused);
    if (r->cmds.refused)
        fprintf(fp, "<li class=cap>Cap reached: more than %u command names; %llu transactions under \"(other...)\".</li>\n",
                REPORT_MAX_COMMANDS - 1, (unsigned long long)r->cmds.refused);
    if (r->rows_dropped)
        fprintf(fp, "<li class=cap>Cap reached (--report-max-conns %u): %llu connections have no row.</li>\n",
                r->cfg.max_conns, (unsigned long long)r->rows_dropped);
    if (r->arows_dropped || r->mrows_dropped)
        fprintf(fp, "<li class=cap>Cap reached (--report-max-rows %u): %llu alerts and %llu messages not listed.</li>\n",
                r->cfg.max_rows, (unsigned long long)r->arows_dropped, (unsigned long long)r->mrows_dropped);
    if (r->traces_dropped)
        fprintf(fp, "<li class=cap>Cap reached (--report-traces %u): %llu traces not kept.</li>\n", r->cfg.max_traces,
                (unsigned long long)r->traces_dropped);
    if (r->traces_unrecorded)
        fprintf(fp, "<li class=cap>Cap reached (trace memory %zu bytes): %llu connections were not recorded.</li>\n",
                r->cfg.trace_memcap, (unsigned long long)r->traces_unrecorded);
    if (r->traces_truncated)
        fprintf(fp, "<li class=cap>Cap reached (--report-trace-bytes %zu): %llu traces cut short.</li>\n",
                r->cfg.trace_bytes, (unsigned long long)r->traces_truncated);
    fputs("</ul>\n", fp);
}

int report_write_html(report *r, const char *path, char *errbuf, size_t errlen)
{
    FILE *fp = fopen(path, "w");
    char gen[40];

    if (!fp) {
        snprintf(errbuf, errlen, "--report %s: %s", path, strerror(errno));
        return -1;
    }
    pthread_mutex_lock(&r->mu);
    report_fmt_time((uint64_t)time(NULL) * 1000000u, gen, sizeof gen);
    fputs("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
          "<meta name=viewport content=\"width=device-width\">"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
          "script-src 'unsafe-inline'; img-src data:\">"
          "<title>imapscope report", fp);
    if (r->n_inputs) {
        fputs(": ", fp);
        esc(fp, r->inputs[0]);
    }
    fprintf(fp, "</title>\n<style>%s</style>\n<script>%s</script>\n</head>\n<body>\n", CSS, JS_HEAD);
    fputs("<h1>imapscope report</h1>\n<p class=note>", fp);
    for (unsigned i = 0; i < r->n_inputs; i++) {
        esc(fp, r->inputs[i]);
        fputs(" &middot; ", fp);
    }
    fprintf(fp, "generated %s UTC</p>\n", gen);
    fputs("<nav><a href=\"#summary\">Summary</a><a href=\"#timeline\">Timeline</a><a href=\"#commands\">Commands</a>"
          "<a href=\"#latency\">Latency</a><a href=\"#logins\">Logins</a><a href=\"#top\">Top</a>"
          "<a href=\"#alerts\">Alerts</a><a href=\"#messages\">Messages</a><a href=\"#connections\">Connections</a>"
          "<a href=\"#traces\">Traces</a><a href=\"#notes\">Notes</a></nav>\n", fp);
    section_summary(fp, r);
    section_timeline(fp, r);
    section_commands(fp, r);
    section_latency(fp, r);
    section_logins(fp, r);
    fputs("<h2 id=top>Top users, clients and servers by bytes</h2>\n", fp);
    top_table(fp, &r->users, "top-users", "Users", true);
    top_table(fp, &r->clients, "top-clients", "Clients", false);
    top_table(fp, &r->servers, "top-servers", "Servers", false);
    section_alerts(fp, r);
    section_messages(fp, r);
    section_connections(fp, r);
    section_traces(fp, r);
    section_notes(fp, r);
    fprintf(fp, "<script>%s</script>\n</body></html>\n", JS_TAIL);
    pthread_mutex_unlock(&r->mu);
    if (ferror(fp) | (fclose(fp) != 0)) {
        snprintf(errbuf, errlen, "--report %s: write error: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
