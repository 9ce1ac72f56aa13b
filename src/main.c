/*
 * main.c - imapscope's command line (after tcpdump and tshark).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "engine.h"
#include "flow_id.h"
#include "json_pool.h"
#include "keylog.h"
#include "limits.h"
#include "output.h"
#include "streams.h"
#include "extract.h"
#include "progress.h"
#include "report.h"
#include "detect.h"
#include "sink_options.h"
#include "workers.h"

#include <sys/stat.h>
#include <unistd.h>

#define IMAPSCOPE_VERSION "0.1.0"

static void usage(FILE *fp)
{
    fprintf(fp,
"Usage: imapscope [-r FILE | -i IFACE] [options]\n"
"       imapscope -D\n"
"Decodes IMAP conversations from a capture file or a live interface.\n"
"\n"
"Input\n"
"  -r FILE              read a pcap or pcapng file (\"-\" is standard input)\n"
"  -i IFACE             capture live on IFACE\n"
"  -f EXPR              BPF filter (live default: \"" CAPTURE_DEFAULT_FILTER "\",\n"
"                       or the ports of --server-port/--tls-port; files: none)\n"
"  -s SNAPLEN           live snap length (default %d)\n"
"  -p                   do not put the interface in promiscuous mode\n"
"  -B MB                live capture buffer size in MiB\n"
"  -c N                 stop after N packets\n"
"  -D                   list interfaces and exit\n"
"  -Z USER              drop root privileges to USER after opening the interface\n"
"  --keylog FILE        TLS secrets (NSS key log, SSLKEYLOGFILE format) to decrypt TLS\n"
"  --key-log-max B      bytes of the key log read at most (default %u)\n"
"\n"
"Output\n"
"  -T text|json|ecs     annotated trace (default), JSON lines, or JSON lines with Elastic\n"
"                       Common Schema 8.11 names (docs/ecs-fields.md)\n"
"  -w FILE              write output to FILE (reopened on SIGHUP) instead of stdout\n"
"  -v                   verbose: annotate each command, status response, response code and\n"
"                       capability with its RFC section, the first time it appears in a connection\n"
"  --annotate           JSON: an \"annotations\" array per imap/imap_session event: the RFC and meaning\n"
"                       of each command, status, code and capability it shows\n"
"  --explain NAME       print the annotation of NAME (command, status, code or capability), exit\n"
"  --color WHEN         auto (default), always, never\n"
"  --max-text-line B    text trace: bytes of an IMAP line shown, the rest summarised\n"
"                       as \"... [+N bytes]\" (default %u; 0 = whole lines)\n"
"  --show-credentials   show passwords and SASL secrets (redacted by default)\n"
"  --hash-literals      add the SHA-256 of every literal\n"
"  --streams-dir DIR    write each connection's reassembled bytes to DIR/<flow>.client|server;\n"
"                       these hold passwords and mail IN CLEAR (no redaction): DIR is made\n"
"                       mode 0700 (after -Z, by USER), must not be another user's or\n"
"                       writable by others, files are new (never overwritten), mode 0600\n"
"  --community-id-seed N  Community ID seed (default 0)\n"
"  --flow-id-seed N     the key of every flow_id (default: random per run, so flow_ids differ\n"
"                       across runs and sensors; give one for reproducible output)\n"
"  --sensor-name NAME   the \"host\" of every event (default: the host name)\n"
"  --types LIST         write only these event types, comma-separated, of\n"
"                       " OUT_TYPE_NAMES "\n"
"  --no-responses       \"imap\" events without their untagged \"responses\"\n"
"  --exclude-fields LIST  top-level fields not written, comma-separated TYPE.FIELD\n"
"                       (imap_session.capabilities,tls.ja4_r; at most %d)\n"
"  --stats-interval S   live capture: a \"stats\" event every S seconds, with the\n"
"                       kernel's packet counters (received, dropped)\n"
"  --server-port P      an IMAP server port (repeatable; default 143, 220, 993)\n"
"  --tls-port P         a port that is TLS from the first byte (repeatable; default 993);\n"
"                       also an IMAP server port (no --server-port P needed)\n"
"  --all-tcp            report every TCP connection, not only IMAP ones\n"
"  --threads N          split connections across N worker threads (default 1)\n"
"\n"
"Sinks (more than one at once; see docs/output.md, \"Sinks\")\n"
"  --rotate size=B|time=T  -w FILE: rename FILE to FILE.<UTC time> and start a new one\n"
"                       past B bytes (100M, 1G) or every T (30m, 1h, 1d); repeatable\n"
"  --syslog ADDR        also send each event to syslog (RFC 5424): unix:PATH (e.g.\n"
"                       /dev/log), udp:HOST:PORT or tcp:HOST:PORT (RFC 6587 framing)\n"
"  --syslog-facility F  syslog facility (default local5; severity info, warning for alerts)\n"
"  --unix-socket T:PATH also write each event to a unix socket: stream:PATH (lines)\n"
"                       or dgram:PATH (one datagram per event)\n"
"  --redis HOST:PORT    also send each event to redis (reconnects when it goes away;\n"
"                       AUTH from IMAPSCOPE_REDIS_PASSWORD and IMAPSCOPE_REDIS_USER)\n"
"  --redis-mode M       list (RPUSH, default), channel (PUBLISH) or stream (XADD, field \"event\")\n"
"  --redis-key NAME     the list, channel or stream (default imapscope)\n"
"  --sink-buffer B      bytes queued per network sink; past it events are dropped and\n"
"                       counted, capture never waits (default 16M)\n"
"  --sink-drain S       seconds at exit to deliver what is queued (default %u)\n"
"                       With a network sink and no -w, nothing goes to standard output.\n"
"\n"
"Mail (see docs/output.md, \"email\" and \"fileinfo\")\n"
"  --no-mail            no email/fileinfo events (messages in literals are not parsed)\n"
"  --max-mail-bytes B   bytes of one message kept for MIME parsing; the rest is hashed,\n"
"                       not parsed, and the message is \"truncated\" (default %u)\n"
"  --extract-dir DIR    write messages as DIR/<sha256>.eml and attachments as DIR/<sha256>\n"
"                       (decoded); written once (dedup by hash), mode 0600, no name from\n"
"                       the traffic; DIR is handled like --streams-dir (mail IN CLEAR)\n"
"  --extract-max-bytes B  bytes written to DIR per run (default %llu; 0 = no cap)\n"
"  --extract-max-files N  files written to DIR per run (default %u; 0 = no cap)\n"
"  --extract-types LIST  only parts of these types (sniffed or declared), comma list:\n"
"                       application/pdf,image/* (messages are always written)\n"
"\n"
"Report and statistics (see docs/report.md)\n"
"  --report FILE.html   write a self-contained HTML report of the capture at the end\n"
"  --stats              print statistics tables to standard error at the end\n"
"  --report-max-conns N  connection rows kept (timeline and table; default %u)\n"
"  --report-traces N    connection traces kept in the page (default %u)\n"
"  --report-trace-bytes B  bytes of one connection's trace (default %u)\n"
"  --report-max-keys N  distinct users, clients, servers, alert kinds each (default %u)\n"
"  --report-max-rows N  alert rows and message rows each (default %u)\n"
"  --progress           progress line on standard error even when it is not a terminal\n"
"  --no-progress        no progress line (default: shown when standard error is a\n"
"                       terminal, the input a file, and the events go elsewhere)\n"
"\n"
"Limits (see src/limits.h)\n"
"  --max-flows N        concurrent connections (default %u)\n"
"  --flow-timeout S     idle seconds before a connection is ended (default %u)\n"
"  --reasm-flow-cap B   out-of-order bytes held per direction (default %u)\n"
"  --reasm-memcap B     out-of-order bytes held in all (default %u)\n"
"  --max-line B         bytes of one IMAP line (default %u)\n"
"  --max-literal B      literal size beyond which an anomaly is raised (default %llu)\n"
"  --literal-keep B     literal bytes kept for decoding (default %u)\n"
"  --max-pending N      commands awaiting a response per connection (default %u)\n"
"  --max-responses N    decoded untagged responses kept per transaction (default %u)\n"
"  --max-txn-bytes B    decoded bytes held per transaction (default %u)\n"
"  --imap-memcap B      dissector memory of all connections beyond their fixed part\n"
"                       (default %u; with --threads N, each worker gets B/N)\n"
"  --tls-max-record B   bytes of one TLS record (default %u)\n"
"  --tls-max-handshake B  bytes of one TLS handshake message (default %u)\n"
"  --inflate-ratio N    inflated bytes per compressed byte before deflate_bomb (default %u)\n"
"  --max-alerts-per-kind N  alerts of one name written per connection, later ones only\n"
"                       counted (default %u; 0 = no cap)\n"
"\n"
"Detections across connections (see docs/alerts.md; windows in packet time)\n"
"  --no-detect          no detection alerts (imap_user events are still written)\n"
"  --no-user-events     no imap_user events\n"
"  --bruteforce-failures N  auth_bruteforce: failed logins of one client as one user (default %u)\n"
"  --bruteforce-window S    ... within S seconds (default %u)\n"
"  --spray-users N      password_spraying: users one client failed as (default %u, at most %u)\n"
"  --spray-window S     ... within S seconds (default %u)\n"
"  --stuffing-clients N  credential_stuffing: distinct clients (default %u, at most %u)\n"
"  --stuffing-users N   ... and distinct users against one server (default %u, at most %u)\n"
"  --stuffing-success-pct P  ... with at most P%% of the logins succeeding (default %u)\n"
"  --stuffing-window S  ... within S seconds (default %u)\n"
"  --after-failures N   login_after_failures: failures of the user before a success (default %u)\n"
"  --after-failures-window S  ... within S seconds (default %u)\n"
"  --bulk-bytes B       bulk_download: bytes fetched by one user (default %llu)\n"
"  --bulk-messages N    ... or message bodies fetched (default %u)\n"
"  --bulk-window S      ... within S seconds (default %u)\n"
"  --mass-delete N      mass_deletion: messages flagged \\Deleted or expunged by one user (default %u)\n"
"  --mass-delete-mailboxes N  ... or mailboxes deleted (default %u)\n"
"  --mass-delete-window S  ... within S seconds (default %u)\n"
"  --mass-move N        mass_move: messages moved by one user (default %u)\n"
"  --mass-move-window S  ... within S seconds (default %u)\n"
"  --max-users N        users kept for imap_user events and the per-user detections (default %u)\n"
"  --detect-max-keys N  clients, (client, user) pairs and servers kept, each (default %u)\n"
"  --user-interval S    live capture: imap_user events every S seconds (default %u; 0 = at the end)\n"
"\n"
"  -h, --help           this help\n"
"  --version            print the version\n"
"\n"
"Exit status: 0 done (also when the reader of a pipe left early, `| head`),\n"
"1 setup error, 2 the input broke off, 3 writing the output failed (disk full)\n"
"or a sink dropped events (a line per sink on standard error says which).\n",
            LIM_SNAPLEN, LIM_KEYLOG_BYTES, LIM_MAX_TEXT_LINE, OUT_MAX_EXCLUDE, SINK_DEFAULT_DRAIN_S, LIM_MAIL_MAX_BYTES,
            (unsigned long long)LIM_EXTRACT_MAX_BYTES, LIM_EXTRACT_MAX_FILES, REPORT_MAX_CONNS, REPORT_MAX_TRACES,
            REPORT_TRACE_BYTES, REPORT_MAX_KEYS, REPORT_MAX_ROWS, LIM_MAX_FLOWS, LIM_FLOW_IDLE_TIMEOUT_S, LIM_REASM_PER_FLOW,
            LIM_REASM_TOTAL, LIM_IMAP_MAX_LINE, (unsigned long long)LIM_IMAP_MAX_LITERAL,
            LIM_IMAP_LITERAL_KEEP, LIM_IMAP_MAX_PENDING, LIM_IMAP_MAX_RESPONSES, LIM_IMAP_MAX_TXN_BYTES,
            LIM_IMAP_MEMCAP,
            LIM_TLS_MAX_RECORD, LIM_TLS_MAX_HANDSHAKE, LIM_INFLATE_RATIO, LIM_MAX_ALERTS_PER_KIND,
            DETECT_BF_FAILURES, DETECT_BF_WINDOW_S, DETECT_SPRAY_USERS, DETECT_DISTINCT, DETECT_SPRAY_WINDOW_S,
            DETECT_STUFF_CLIENTS, DETECT_DISTINCT, DETECT_STUFF_USERS, DETECT_DISTINCT, DETECT_STUFF_SUCCESS_PCT,
            DETECT_STUFF_WINDOW_S, DETECT_AFTER_FAILURES, DETECT_AFTER_WINDOW_S,
            (unsigned long long)DETECT_BULK_BYTES, DETECT_BULK_MESSAGES, DETECT_BULK_WINDOW_S,
            DETECT_DEL_MESSAGES, DETECT_DEL_MAILBOXES, DETECT_DEL_WINDOW_S, DETECT_MOVE_MESSAGES,
            DETECT_MOVE_WINDOW_S, DETECT_MAX_USERS, DETECT_MAX_KEYS, DETECT_USER_INTERVAL_S);
}

enum {
    OPT_COLOR = 1000, OPT_SHOWCRED, OPT_HASHLIT, OPT_STREAMS, OPT_CIDSEED, OPT_SERVERPORT,
    OPT_TLSPORT, OPT_ALLTCP, OPT_MAXFLOWS, OPT_FLOWTIMEOUT, OPT_REASMFLOW, OPT_REASMMEM,
    OPT_MAXLINE, OPT_IMAPMEMCAP, OPT_MAXLIT, OPT_LITKEEP, OPT_MAXPENDING, OPT_FEEDCHUNK, OPT_VERSION,
    OPT_KEYLOG, OPT_KEYLOGMAX, OPT_THREADS, OPT_MAXRESP, OPT_MAXTXNBYTES,
    OPT_TLSMAXREC, OPT_TLSMAXHS, OPT_INFLATERATIO, OPT_MAXALERTS, OPT_MAXTEXTLINE,
    OPT_ANNOTATE, OPT_EXPLAIN,
    /* report, statistics, progress (issue 16) */
    OPT_REPORT, OPT_STATS, OPT_REPCONNS, OPT_REPTRACES, OPT_REPTRACEBYTES, OPT_REPKEYS, OPT_REPROWS,
    OPT_PROGRESS, OPT_NOPROGRESS,
    /* SIEM output (issue 14) */
    OPT_FLOWIDSEED, OPT_SENSORNAME, OPT_TYPES, OPT_NORESPONSES, OPT_STATSINTERVAL, OPT_EXCLUDEFIELDS,
    /* mail (issue 13) */
    OPT_NOMAIL, OPT_MAXMAIL, OPT_EXTRACTDIR, OPT_EXTRACTBYTES, OPT_EXTRACTFILES, OPT_EXTRACTTYPES,
    /* detections across connections (issue 15) */
    OPT_NODETECT, OPT_NOUSERS, OPT_BFFAIL, OPT_BFWIN, OPT_SPRAYUSERS, OPT_SPRAYWIN, OPT_STUFFCLIENTS,
    OPT_STUFFUSERS, OPT_STUFFPCT, OPT_STUFFWIN, OPT_AFTERFAIL, OPT_AFTERWIN, OPT_BULKBYTES, OPT_BULKMSGS,
    OPT_BULKWIN, OPT_DELMSGS, OPT_DELMBOX, OPT_DELWIN, OPT_MOVEMSGS, OPT_MOVEWIN, OPT_MAXUSERS,
    OPT_DETECTKEYS, OPT_USERINTERVAL,
    /* sinks (issue 14): OPT_SINK + SINK_OPT_* (sink_options.h) */
    OPT_SINK = 2000
};

static const struct option long_opts[] = {
    {"no-detect", no_argument, NULL, OPT_NODETECT},
    {"no-user-events", no_argument, NULL, OPT_NOUSERS},
    {"bruteforce-failures", required_argument, NULL, OPT_BFFAIL},
    {"bruteforce-window", required_argument, NULL, OPT_BFWIN},
    {"spray-users", required_argument, NULL, OPT_SPRAYUSERS},
    {"spray-window", required_argument, NULL, OPT_SPRAYWIN},
    {"stuffing-clients", required_argument, NULL, OPT_STUFFCLIENTS},
    {"stuffing-users", required_argument, NULL, OPT_STUFFUSERS},
    {"stuffing-success-pct", required_argument, NULL, OPT_STUFFPCT},
    {"stuffing-window", required_argument, NULL, OPT_STUFFWIN},
    {"after-failures", required_argument, NULL, OPT_AFTERFAIL},
    {"after-failures-window", required_argument, NULL, OPT_AFTERWIN},
    {"bulk-bytes", required_argument, NULL, OPT_BULKBYTES},
    {"bulk-messages", required_argument, NULL, OPT_BULKMSGS},
    {"bulk-window", required_argument, NULL, OPT_BULKWIN},
    {"mass-delete", required_argument, NULL, OPT_DELMSGS},
    {"mass-delete-mailboxes", required_argument, NULL, OPT_DELMBOX},
    {"mass-delete-window", required_argument, NULL, OPT_DELWIN},
    {"mass-move", required_argument, NULL, OPT_MOVEMSGS},
    {"mass-move-window", required_argument, NULL, OPT_MOVEWIN},
    {"max-users", required_argument, NULL, OPT_MAXUSERS},
    {"detect-max-keys", required_argument, NULL, OPT_DETECTKEYS},
    {"user-interval", required_argument, NULL, OPT_USERINTERVAL},
    {"color", required_argument, NULL, OPT_COLOR},
    {"show-credentials", no_argument, NULL, OPT_SHOWCRED},
    {"hash-literals", no_argument, NULL, OPT_HASHLIT},
    {"streams-dir", required_argument, NULL, OPT_STREAMS},
    {"community-id-seed", required_argument, NULL, OPT_CIDSEED},
    {"server-port", required_argument, NULL, OPT_SERVERPORT},
    {"tls-port", required_argument, NULL, OPT_TLSPORT},
    {"all-tcp", no_argument, NULL, OPT_ALLTCP},
    {"max-flows", required_argument, NULL, OPT_MAXFLOWS},
    {"flow-timeout", required_argument, NULL, OPT_FLOWTIMEOUT},
    {"reasm-flow-cap", required_argument, NULL, OPT_REASMFLOW},
    {"reasm-memcap", required_argument, NULL, OPT_REASMMEM},
    {"max-line", required_argument, NULL, OPT_MAXLINE},
    {"max-literal", required_argument, NULL, OPT_MAXLIT},
    {"literal-keep", required_argument, NULL, OPT_LITKEEP},
    {"max-pending", required_argument, NULL, OPT_MAXPENDING},
    {"imap-memcap", required_argument, NULL, OPT_IMAPMEMCAP},
    {"max-responses", required_argument, NULL, OPT_MAXRESP},
    {"max-txn-bytes", required_argument, NULL, OPT_MAXTXNBYTES},
    {"tls-max-record", required_argument, NULL, OPT_TLSMAXREC},
    {"tls-max-handshake", required_argument, NULL, OPT_TLSMAXHS},
    {"inflate-ratio", required_argument, NULL, OPT_INFLATERATIO},
    {"max-alerts-per-kind", required_argument, NULL, OPT_MAXALERTS},
    {"max-text-line", required_argument, NULL, OPT_MAXTEXTLINE},
    {"feed-chunk", required_argument, NULL, OPT_FEEDCHUNK},   /* testing: N, or random[:SEED] */
    {"keylog", required_argument, NULL, OPT_KEYLOG},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"key-log-max", required_argument, NULL, OPT_KEYLOGMAX},
    {"annotate", no_argument, NULL, OPT_ANNOTATE},
    {"explain", required_argument, NULL, OPT_EXPLAIN},
    {"report", required_argument, NULL, OPT_REPORT},
    {"stats", no_argument, NULL, OPT_STATS},
    {"report-max-conns", required_argument, NULL, OPT_REPCONNS},
    {"report-traces", required_argument, NULL, OPT_REPTRACES},
    {"report-trace-bytes", required_argument, NULL, OPT_REPTRACEBYTES},
    {"report-max-keys", required_argument, NULL, OPT_REPKEYS},
    {"report-max-rows", required_argument, NULL, OPT_REPROWS},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NOPROGRESS},
    {"flow-id-seed", required_argument, NULL, OPT_FLOWIDSEED},
    {"sensor-name", required_argument, NULL, OPT_SENSORNAME},
    {"types", required_argument, NULL, OPT_TYPES},
    {"no-responses", no_argument, NULL, OPT_NORESPONSES},
    {"exclude-fields", required_argument, NULL, OPT_EXCLUDEFIELDS},
    {"stats-interval", required_argument, NULL, OPT_STATSINTERVAL},
    {"rotate", required_argument, NULL, OPT_SINK + SINK_OPT_ROTATE},
    {"syslog", required_argument, NULL, OPT_SINK + SINK_OPT_SYSLOG},
    {"syslog-facility", required_argument, NULL, OPT_SINK + SINK_OPT_FACILITY},
    {"unix-socket", required_argument, NULL, OPT_SINK + SINK_OPT_UNIX},
    {"redis", required_argument, NULL, OPT_SINK + SINK_OPT_REDIS},
    {"redis-mode", required_argument, NULL, OPT_SINK + SINK_OPT_REDIS_MODE},
    {"redis-key", required_argument, NULL, OPT_SINK + SINK_OPT_REDIS_KEY},
    {"sink-buffer", required_argument, NULL, OPT_SINK + SINK_OPT_BUFFER},
    {"sink-drain", required_argument, NULL, OPT_SINK + SINK_OPT_DRAIN},
    {"no-mail", no_argument, NULL, OPT_NOMAIL},
    {"max-mail-bytes", required_argument, NULL, OPT_MAXMAIL},
    {"extract-dir", required_argument, NULL, OPT_EXTRACTDIR},
    {"extract-max-bytes", required_argument, NULL, OPT_EXTRACTBYTES},
    {"extract-max-files", required_argument, NULL, OPT_EXTRACTFILES},
    {"extract-types", required_argument, NULL, OPT_EXTRACTTYPES},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* Parses an unsigned number in [min, max]; exits with a one-line error. */
static unsigned long long parse_num(const char *opt, const char *s, unsigned long long min,
                                    unsigned long long max)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
        fprintf(stderr, "imapscope: %s: \"%s\" is not a number from %llu to %llu\n", opt, s, min, max);
        exit(1);
    }
    return v;
}

/* --explain NAME: every annotation entry NAME matches (a command, a
 * status, a response code, a capability: THREAD is both a command and a
 * capability), one line each on standard output, in the -v trace's words;
 * prefix entries (AUTH=, X...) only when no entry names NAME exactly.
 * Returns 0, or 1 with a message on standard error when none matches. */
static int explain(const char *name)
{
    size_t len = strlen(name), found = 0;
    const imap_annot *hit[IMAP_ANNOT__COUNT];
    bool exact = false;
    for (int k = 0; k < IMAP_ANNOT__COUNT; k++) {
        hit[k] = imap_annot_lookup((imap_annot_kind)k, name, len);
        exact = exact || (hit[k] && !hit[k]->prefix);
    }
    for (int k = 0; k < IMAP_ANNOT__COUNT; k++) {
        const imap_annot *a = hit[k];
        /* a name with an entry of its own: not also "any name starting X" */
        if (!a || (exact && a->prefix))
            continue;
        found++;
        printf("%s %s (%s): %s", imap_annot_kind_name(a->kind), a->prefix ? name : a->name, a->rfc, a->meaning);
        if (a->prefix)
            printf(" [any name starting %s]", a->name);
        printf("\n");
    }
    if (found == 0) {
        fprintf(stderr, "imapscope: --explain: \"%s\" is not a known IMAP command, status response, "
                        "response code or capability\n", name);
        return 1;
    }
    return 0;
}

/* The capture loop's sink: one engine, or the worker threads. */
static void sink_engine_frame(void *ctx, int lt, const uint8_t *d, uint32_t cl, uint32_t wl, uint64_t ts)
{
    engine_frame(ctx, lt, d, cl, wl, ts);
}
static void sink_engine_tick(void *ctx, uint64_t now) { engine_tick(ctx, now); }
static void sink_engine_finish(void *ctx, const char *why, json_t *x) { engine_finish(ctx, why, x); }
static void sink_workers_frame(void *ctx, int lt, const uint8_t *d, uint32_t cl, uint32_t wl, uint64_t ts)
{
    workers_frame(ctx, lt, d, cl, wl, ts);
}
static void sink_workers_tick(void *ctx, uint64_t now) { workers_tick(ctx, now); }
static void sink_workers_finish(void *ctx, const char *why, json_t *x) { workers_finish(ctx, why, x); }
static void sink_engine_progress(void *ctx, uint64_t *o, uint64_t *ev) { engine_progress(ctx, o, ev); }
static void sink_workers_progress(void *ctx, uint64_t *o, uint64_t *ev) { workers_progress(ctx, o, ev); }
static void sink_engine_stats(void *ctx, uint64_t now, json_t *x) { engine_stats_periodic(ctx, now, x); }
static void sink_workers_stats(void *ctx, uint64_t now, json_t *x) { workers_stats_periodic(ctx, now, x); }

/* The progress line by default: stderr is a terminal, the input a regular
 * file, the events do not go to the same terminal, and no CI log. */
static bool progress_auto(const char *file, const char *outpath)
{
    struct stat st;

    if (!file || !strcmp(file, "-") || !isatty(STDERR_FILENO) || getenv("CI"))
        return false;
    if (!outpath && isatty(STDOUT_FILENO))
        return false;
    return stat(file, &st) == 0 && S_ISREG(st.st_mode);
}

/* capture_opts.ready: the streams and extraction directories, made and
 * checked by the user that will write them (after -Z). */
typedef struct ready_dirs {
    const char *streams;
    extract    *extract;
} ready_dirs;

static int dirs_ready(void *ctx)
{
    ready_dirs *rd = ctx;
    char err[4400];
    if (rd->streams && streams_dir_prepare(rd->streams, err, sizeof err) != 0) {
        fprintf(stderr, "imapscope: --streams-dir: %s\n", err);
        return -1;
    }
    if (rd->extract && extract_prepare(rd->extract, err, sizeof err) != 0) {
        fprintf(stderr, "imapscope: --extract-dir: %s\n", err);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    capture_opts co = {.promisc = true};
    engine_config ec;
    out_format fmt = OUT_TEXT;
    out_color color = OUT_COLOR_AUTO;
    const char *outpath = NULL;
    int verbose = 0, ch, rc;
    bool list = false, user_ports = false, user_tls_ports = false, annotate = false;
    const char *explain_name = NULL;
    const char *extract_dir = NULL, *extract_types = NULL;
    unsigned long long extract_max_bytes = LIM_EXTRACT_MAX_BYTES, extract_max_files = LIM_EXTRACT_MAX_FILES;
    extract *xt = NULL;
    char errbuf[512];
    output *out;
    engine *e;
    const char *keylog_path = NULL;
    size_t keylog_max = LIM_KEYLOG_BYTES;
    size_t imap_memcap = LIM_IMAP_MEMCAP;
    static imap_budget budget; /* shared by every engine (and thread) */
    keylog *kl = NULL;
    unsigned threads = 1;
    workers *ws = NULL;
    capture_sink sink;
    static char live_filter[ENGINE_MAX_SERVER_PORTS * 24];
    size_t max_text_line = LIM_MAX_TEXT_LINE;
    /* report, statistics, progress (issue 16) */
    const char *report_path = NULL;
    bool want_stats = false;
    int progress_mode = 0; /* -1 off, 0 auto, 1 on */
    report_config rc_cfg;
    report *rep = NULL;
    sink_options sinks; /* issue 14 */
    /* SIEM output (issue 14) */
    bool flow_id_seed_set = false, no_responses = false;
    const char *sensor_name = NULL, *types = NULL, *exclude[OUT_MAX_EXCLUDE];
    unsigned n_exclude = 0;
    static char hostname[256];
    /* detections across connections (issue 15) */
    detect_config dcfg;
    detect *det = NULL;
    output *det_out = NULL;

    sink_options_init(&sinks);
    json_pool_install(); /* before any jansson value exists */
    engine_config_default(&ec);
    report_config_default(&rc_cfg);
    detect_config_default(&dcfg);
    while ((ch = getopt_long(argc, argv, "r:i:f:s:pB:c:DZ:T:w:vh", long_opts, NULL)) != -1) {
        switch (ch) {
        case 'r': co.file = optarg; break;
        case 'i': co.iface = optarg; break;
        case 'f': co.filter = optarg; break;
        case 's': co.snaplen = (int)parse_num("-s", optarg, 64, 262144); break;
        case 'p': co.promisc = false; break;
        case 'B': co.buffer_mb = (int)parse_num("-B", optarg, 1, 4096); break;
        case 'c': co.count = (long long)parse_num("-c", optarg, 1, (1ull << 62)); break;
        case 'D': list = true; break;
        case 'Z': co.drop_user = optarg; break;
        case 'T':
            if (!strcmp(optarg, "json"))
                fmt = OUT_JSON;
            else if (!strcmp(optarg, "text"))
                fmt = OUT_TEXT;
            else if (!strcmp(optarg, "ecs"))
                fmt = OUT_ECS;
            else {
                fprintf(stderr, "imapscope: -T: \"%s\" is not a format (text, json, ecs)\n", optarg);
                return 1;
            }
            break;
        case 'w': outpath = optarg; break;
        case 'v': verbose++; break;
        case 'h': usage(stdout); return 0;
        case OPT_VERSION: printf("imapscope %s\n", IMAPSCOPE_VERSION); return 0;
        case OPT_COLOR:
            if (!strcmp(optarg, "auto")) color = OUT_COLOR_AUTO;
            else if (!strcmp(optarg, "always")) color = OUT_COLOR_ALWAYS;
            else if (!strcmp(optarg, "never")) color = OUT_COLOR_NEVER;
            else {
                fprintf(stderr, "imapscope: --color: \"%s\" is not auto, always or never\n", optarg);
                return 1;
            }
            break;
        case OPT_ANNOTATE: annotate = true; break;
        case OPT_EXPLAIN: explain_name = optarg; break;
        case OPT_SHOWCRED: ec.imap.show_credentials = true; break;
        case OPT_HASHLIT: ec.imap.hash_literals = true; break;
        case OPT_STREAMS: ec.streams_dir = optarg; break;
        case OPT_NOMAIL: ec.mail.enabled = false; break;
        case OPT_MAXMAIL: ec.mail.max_mail_bytes = (size_t)parse_num("--max-mail-bytes", optarg, 1024, 1ull << 31); break;
        case OPT_EXTRACTDIR: extract_dir = optarg; break;
        case OPT_EXTRACTBYTES: extract_max_bytes = parse_num("--extract-max-bytes", optarg, 0, UINT64_MAX); break;
        case OPT_EXTRACTFILES: extract_max_files = parse_num("--extract-max-files", optarg, 0, UINT64_MAX); break;
        case OPT_EXTRACTTYPES: extract_types = optarg; break;
        case OPT_CIDSEED: ec.community_id_seed = (uint16_t)parse_num("--community-id-seed", optarg, 0, 65535); break;
        case OPT_SERVERPORT:
            if (!user_ports)
                ec.n_server_ports = 0, user_ports = true;
            if (ec.n_server_ports == ENGINE_MAX_SERVER_PORTS) {
                fprintf(stderr, "imapscope: --server-port: at most %d ports\n", ENGINE_MAX_SERVER_PORTS);
                return 1;
            }
            ec.server_ports[ec.n_server_ports++] = (uint16_t)parse_num("--server-port", optarg, 1, 65535);
            break;
        case OPT_TLSPORT:
            if (!user_tls_ports)
                ec.n_tls_ports = 0, user_tls_ports = true;
            if (ec.n_tls_ports == ENGINE_MAX_TLS_PORTS) {
                fprintf(stderr, "imapscope: --tls-port: at most %d ports\n", ENGINE_MAX_TLS_PORTS);
                return 1;
            }
            ec.tls_ports[ec.n_tls_ports++] = (uint16_t)parse_num("--tls-port", optarg, 1, 65535);
            break;
        case OPT_ALLTCP: ec.all_tcp = true; break;
        case OPT_KEYLOG: keylog_path = optarg; break;
        case OPT_THREADS: threads = (unsigned)parse_num("--threads", optarg, 1, WORKERS_MAX); break;
        case OPT_KEYLOGMAX: keylog_max = parse_num("--key-log-max", optarg, 1, 1ull << 34); break;
        case OPT_MAXFLOWS: ec.max_flows = (uint32_t)parse_num("--max-flows", optarg, 1, 100000000); break;
        case OPT_FLOWTIMEOUT:
            ec.idle_timeout_us = parse_num("--flow-timeout", optarg, 1, 86400 * 365) * 1000000u;
            break;
        case OPT_REASMFLOW: ec.reasm.max_held_per_stream = parse_num("--reasm-flow-cap", optarg, 0, 1ull << 34); break;
        case OPT_REASMMEM: ec.reasm.memcap_total = parse_num("--reasm-memcap", optarg, 0, 1ull << 40); break;
        case OPT_MAXLINE: ec.imap.max_line = parse_num("--max-line", optarg, 64, 1u << 30); break;
        case OPT_MAXLIT: ec.imap.max_literal = parse_num("--max-literal", optarg, 0, UINT64_MAX); break;
        case OPT_LITKEEP: ec.imap.literal_keep = parse_num("--literal-keep", optarg, 0, 1u << 24); break;
        case OPT_IMAPMEMCAP: imap_memcap = parse_num("--imap-memcap", optarg, 0, 1ull << 40); break;
        case OPT_MAXPENDING: ec.imap.max_pending = parse_num("--max-pending", optarg, 1, 1u << 20); break;
        case OPT_MAXRESP: ec.imap.max_responses = parse_num("--max-responses", optarg, 0, 1u << 24); break;
        case OPT_MAXTXNBYTES: ec.imap.max_txn_bytes = parse_num("--max-txn-bytes", optarg, 0, 1u << 30); break;
        case OPT_TLSMAXREC: ec.tls_max_record = parse_num("--tls-max-record", optarg, 512, 1u << 24); break;
        case OPT_TLSMAXHS: ec.tls_max_handshake = parse_num("--tls-max-handshake", optarg, 1024, 1u << 26); break;
        case OPT_INFLATERATIO: ec.inflate_ratio = (unsigned)parse_num("--inflate-ratio", optarg, 0, 1u << 20); break;
        case OPT_MAXTEXTLINE: max_text_line = parse_num("--max-text-line", optarg, 0, 1u << 30); break;
        case OPT_MAXALERTS:
            ec.max_alerts_per_kind = (unsigned)parse_num("--max-alerts-per-kind", optarg, 0, UINT32_MAX);
            break;
        case OPT_FEEDCHUNK:
            if (!strncmp(optarg, "random", 6)) {
                ec.feed_chunk = -1;
                ec.feed_seed = optarg[6] == ':' ? (uint32_t)parse_num("--feed-chunk", optarg + 7, 0, UINT32_MAX) : 1;
            } else {
                ec.feed_chunk = (int)parse_num("--feed-chunk", optarg, 0, 1u << 20);
            }
            break;
        case OPT_REPORT: report_path = optarg; break;
        case OPT_STATS: want_stats = true; break;
        case OPT_REPCONNS: rc_cfg.max_conns = (unsigned)parse_num("--report-max-conns", optarg, 0, 10000000); break;
        case OPT_REPTRACES: rc_cfg.max_traces = (unsigned)parse_num("--report-traces", optarg, 0, 100000); break;
        case OPT_REPTRACEBYTES: rc_cfg.trace_bytes = parse_num("--report-trace-bytes", optarg, 1024, 1u << 26); break;
        case OPT_REPKEYS: rc_cfg.max_keys = (unsigned)parse_num("--report-max-keys", optarg, 2, 10000000); break;
        case OPT_REPROWS: rc_cfg.max_rows = (unsigned)parse_num("--report-max-rows", optarg, 0, 10000000); break;
        case OPT_PROGRESS: progress_mode = 1; break;
        case OPT_NODETECT: dcfg.enabled = false; break;
        case OPT_NOUSERS: dcfg.users = false; break;
        case OPT_BFFAIL: dcfg.bf_failures = (unsigned)parse_num("--bruteforce-failures", optarg, 1, 1u << 30); break;
        case OPT_BFWIN: dcfg.bf_window_us = (uint64_t)parse_num("--bruteforce-window", optarg, 1, 86400ull * 365) * 1000000u; break;
        case OPT_SPRAYUSERS: dcfg.spray_users = (unsigned)parse_num("--spray-users", optarg, 2, DETECT_DISTINCT); break;
        case OPT_SPRAYWIN: dcfg.spray_window_us = (uint64_t)parse_num("--spray-window", optarg, 1, 86400ull * 365) * 1000000u; break;
        case OPT_STUFFCLIENTS: dcfg.stuff_clients = (unsigned)parse_num("--stuffing-clients", optarg, 2, DETECT_DISTINCT); break;
        case OPT_STUFFUSERS: dcfg.stuff_users = (unsigned)parse_num("--stuffing-users", optarg, 2, DETECT_DISTINCT); break;
        case OPT_STUFFPCT: dcfg.stuff_success_pct = (unsigned)parse_num("--stuffing-success-pct", optarg, 0, 100); break;
        case OPT_STUFFWIN: dcfg.stuff_window_us = (uint64_t)parse_num("--stuffing-window", optarg, 1, 86400ull * 365) * 1000000u; break;
        case OPT_AFTERFAIL: dcfg.after_failures = (unsigned)parse_num("--after-failures", optarg, 1, 1u << 30); break;
        case OPT_AFTERWIN: dcfg.after_window_us = (uint64_t)parse_num("--after-failures-window", optarg, 1, 86400ull * 365) * 1000000u; break;
        case OPT_BULKBYTES: dcfg.bulk_bytes = parse_num("--bulk-bytes", optarg, 1, 1ull << 50); break;
        case OPT_BULKMSGS: dcfg.bulk_messages = (unsigned)parse_num("--bulk-messages", optarg, 1, 1u << 30); break;
        case OPT_BULKWIN: dcfg.bulk_window_us = (uint64_t)parse_num("--bulk-window", optarg, 1, 86400ull * 365) * 1000000u; break;
        case OPT_DELMSGS: dcfg.del_messages = (unsigned)parse_num("--mass-delete", optarg, 1, 1u << 30); break;
        case OPT_DELMBOX: dcfg.del_mailboxes = (unsigned)parse_num("--mass-delete-mailboxes", optarg, 1, 1u << 30); break;
        case OPT_DELWIN: dcfg.del_window_us = (uint64_t)parse_num("--mass-delete-window", optarg, 1, 86400ull * 365) * 1000000u; break;
        case OPT_MOVEMSGS: dcfg.move_messages = (unsigned)parse_num("--mass-move", optarg, 1, 1u << 30); break;
        case OPT_MOVEWIN: dcfg.move_window_us = (uint64_t)parse_num("--mass-move-window", optarg, 1, 86400ull * 365) * 1000000u; break;
        case OPT_MAXUSERS: dcfg.max_users = (unsigned)parse_num("--max-users", optarg, 1, 10000000); break;
        case OPT_DETECTKEYS: dcfg.max_keys = (unsigned)parse_num("--detect-max-keys", optarg, 1, 10000000); break;
        case OPT_USERINTERVAL:
            dcfg.user_interval_us = parse_num("--user-interval", optarg, 0, 86400ull * 365) * 1000000u;
            break;
        case OPT_NOPROGRESS: progress_mode = -1; break;
        case OPT_FLOWIDSEED:
            ec.flow_id_seed = parse_num("--flow-id-seed", optarg, 0, UINT64_MAX);
            flow_id_seed_set = true;
            break;
        case OPT_SENSORNAME:
            if (!*optarg || strlen(optarg) > 255) {
                fprintf(stderr, "imapscope: --sensor-name: give a name of 1 to 255 bytes\n");
                return 1;
            }
            sensor_name = optarg;
            break;
        case OPT_TYPES: types = optarg; break;
        case OPT_NORESPONSES: no_responses = true; break;
        case OPT_EXCLUDEFIELDS:
            if (n_exclude == OUT_MAX_EXCLUDE) {
                fprintf(stderr, "imapscope: --exclude-fields: at most %d uses\n", OUT_MAX_EXCLUDE);
                return 1;
            }
            exclude[n_exclude++] = optarg;
            break;
        case OPT_STATSINTERVAL:
            co.stats_interval = (unsigned)parse_num("--stats-interval", optarg, 1, 86400 * 365);
            break;
        default:
            if (ch >= OPT_SINK && ch < OPT_SINK + SINK_OPT__COUNT) {
                if (sink_options_parse(&sinks, ch - OPT_SINK, optarg) != 0)
                    return 1;
                break;
            }
            usage(stderr);
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "imapscope: unexpected argument \"%s\" (a filter goes after -f)\n", argv[optind]);
        return 1;
    }
    if (explain_name)
        return explain(explain_name);
    if (list)
        return capture_list_interfaces(stdout);
    /* A TLS port is an IMAP server port too (implicit TLS, RFC 8314 3.2):
     * --tls-port P alone is enough for IMAPS on P. */
    for (unsigned i = 0; i < ec.n_tls_ports; i++) {
        unsigned k = 0;
        while (k < ec.n_server_ports && ec.server_ports[k] != ec.tls_ports[i])
            k++;
        if (k < ec.n_server_ports)
            continue;
        if (ec.n_server_ports == ENGINE_MAX_SERVER_PORTS) {
            fprintf(stderr, "imapscope: --tls-port: at most %d server ports in all\n", ENGINE_MAX_SERVER_PORTS);
            return 1;
        }
        ec.server_ports[ec.n_server_ports++] = ec.tls_ports[i];
    }
    /* Live, no -f: the filter follows the server ports when they were given. */
    if (co.iface && !co.filter && (user_ports || user_tls_ports)) {
        size_t off = 0;
        for (unsigned i = 0; i < ec.n_server_ports; i++)
            off += (size_t)snprintf(live_filter + off, sizeof live_filter - off, "%stcp port %u",
                                    i ? " or " : "", (unsigned)ec.server_ports[i]);
        co.filter = live_filter;
    }
    if (!co.file == !co.iface) {
        fprintf(stderr, "imapscope: give one input: -r FILE or -i IFACE (see --help)\n");
        return 1;
    }

    if (keylog_path) {
        kl = keylog_load(keylog_path, keylog_max, errbuf, sizeof errbuf);
        if (!kl) {
            fprintf(stderr, "imapscope: --keylog %s: %s\n", keylog_path, errbuf);
            return 1;
        }
        if (kl->truncated)
            fprintf(stderr, "imapscope: --keylog %s: keylog_truncated: larger than %zu bytes, only its start was read\n",
                    keylog_path, keylog_max);
        ec.keylog = kl;
    }

    out = output_open(outpath, fmt, verbose, errbuf, sizeof errbuf);
    if (!out) {
        fprintf(stderr, "imapscope: %s\n", errbuf);
        keylog_free(kl);
        return 1;
    }
    output_set_color(out, color);
    output_set_max_text_line(out, max_text_line);
    output_set_annotate(out, annotate);
    if (!flow_id_seed_set)
        ec.flow_id_seed = flow_id_random_seed(); /* unique across runs and sensors */
    if (!sensor_name) {
        if (gethostname(hostname, sizeof hostname - 1) != 0 || !hostname[0])
            snprintf(hostname, sizeof hostname, "unknown");
        sensor_name = hostname;
    }
    output_set_sensor(out, sensor_name, co.file && strcmp(co.file, "-") != 0 ? co.file : NULL);
    output_set_no_responses(out, no_responses);
    for (unsigned i = 0; i < n_exclude; i++) {
        if (output_exclude_fields(out, exclude[i], errbuf, sizeof errbuf) != 0) {
            fprintf(stderr, "imapscope: --exclude-fields: %s\n", errbuf);
            output_close(out);
            keylog_free(kl);
            return 1;
        }
    }
    if (types && output_set_types(out, types, errbuf, sizeof errbuf) != 0) {
        fprintf(stderr, "imapscope: --types: %s\n", errbuf);
        output_close(out);
        keylog_free(kl);
        return 1;
    }
    if (sink_options_apply(&sinks, out, outpath) != 0) {
        output_close(out);
        keylog_free(kl);
        return 1;
    }
    ec.imap.emit_lines = output_wants_lines(out);
    if (report_path || want_stats) {
        char in[600];
        if (!report_path)
            rc_cfg.max_traces = 0, rc_cfg.trace_bytes = 0; /* --stats alone: no traces recorded */
        rep = report_new(&rc_cfg, errbuf, sizeof errbuf);
        if (!rep) {
            fprintf(stderr, "imapscope: %s\n", errbuf);
            output_close(out);
            keylog_free(kl);
            return 1;
        }
        FILE *probe = report_path ? fopen(report_path, "w") : NULL; /* fail now, not after the capture */
        if (report_path && !probe) {
            fprintf(stderr, "imapscope: --report %s: %s\n", report_path, strerror(errno));
            report_free(rep);
            output_close(out);
            keylog_free(kl);
            return 1;
        }
        if (probe)
            fclose(probe);
        snprintf(in, sizeof in, "%s%s", co.file ? "" : "interface ", co.file ? co.file : co.iface);
        report_add_input(rep, in);
        ec.report = rep;
        /* the page's traces are made of the trace lines */
        if (report_path && rc_cfg.max_traces > 0)
            ec.imap.emit_lines = true;
    }
    co.progress = progress_mode > 0 || (progress_mode == 0 && progress_auto(co.file, outpath));
    if (extract_dir || extract_types) {
        if (!extract_dir || !ec.mail.enabled) {
            fprintf(stderr, "imapscope: %s\n", !extract_dir ? "--extract-types needs --extract-dir"
                                                          : "--extract-dir needs the mail events (not --no-mail)");
            output_close(out);
            report_free(rep);
            keylog_free(kl);
            return 1;
        }
        xt = extract_new(extract_dir, extract_max_bytes, extract_max_files, extract_types, errbuf, sizeof errbuf);
        if (!xt) {
            fprintf(stderr, "imapscope: %s\n", errbuf);
            output_close(out);
            report_free(rep);
            keylog_free(kl);
            return 1;
        }
        ec.mail.extract = xt;
    }
    imap_budget_init(&budget, imap_memcap);
    ec.imap.budget = &budget;
    errbuf[0] = '\0';
    if (dcfg.enabled || dcfg.users) {
        /* with threads, the layer writes through a fork of its own (used
         * under its lock by whichever worker drains it) */
        det_out = threads > 1 ? output_fork(out) : out;
        det = det_out ? detect_new(&dcfg, threads > 1 ? threads : 1, det_out, rep, NULL, errbuf, sizeof errbuf)
                      : NULL;
        if (!det) {
            fprintf(stderr, "imapscope: %s\n", errbuf[0] ? errbuf : "out of memory");
            if (det_out && det_out != out)
                output_close(det_out);
            output_close(out);
            report_free(rep);
            keylog_free(kl);
            return 1;
        }
        ec.detect = det;
    }
    if (threads > 1) {
        e = NULL;
        ws = workers_new(threads, &ec, out, errbuf, sizeof errbuf);
        sink = (capture_sink){sink_workers_frame, sink_workers_tick, sink_workers_finish, ws, sink_workers_progress,
                              sink_workers_stats};
    } else {
        e = engine_new(&ec, out, errbuf, sizeof errbuf);
        sink = (capture_sink){sink_engine_frame, sink_engine_tick, sink_engine_finish, e, sink_engine_progress,
                              sink_engine_stats};
    }
    if (det)
        detect_set_starttls(det, e ? engine_starttls(e) : workers_starttls(ws));
    if (!e && !ws) {
        fprintf(stderr, "imapscope: %s\n", errbuf);
        detect_free(det);
        if (det_out && det_out != out)
            output_close(det_out);
        output_close(out);
        report_free(rep);
        keylog_free(kl);
        return 1;
    }
    ready_dirs rdirs = { ec.streams_dir, xt };
    if (ec.streams_dir || xt) {
        co.ready = dirs_ready;
        co.ready_ctx = &rdirs;
    }
    rc = capture_run(&co, &sink, out);
    if (ec.streams_dir && streams_errors() > 0) {
        fprintf(stderr, "imapscope: --streams-dir %s: %lu error(s): some bytes were not written\n",
                ec.streams_dir, streams_errors());
        if (rc == CAPTURE_EXIT_OK)
            rc = 1;
    }
    if (xt && extract_errors(xt) > 0) {
        fprintf(stderr, "imapscope: --extract-dir %s: %lu error(s): some files were not written\n",
                extract_dir, extract_errors(xt));
        if (rc == CAPTURE_EXIT_OK)
            rc = 1;
    }
    if (rep) {
        output_flush(out); /* the events first, then the tables */
        if (want_stats)
            report_write_stats(rep, stderr);
        if (report_path && report_write_html(rep, report_path, errbuf, sizeof errbuf) != 0) {
            fprintf(stderr, "imapscope: %s\n", errbuf);
            if (rc == 0)
                rc = 1;
        }
    }
    engine_free(e);
    workers_free(ws);
    detect_free(det);
    if (det_out && det_out != out)
        output_close(det_out); /* before the main output: its counters go there */
    if (output_close(out) != 0)
        rc = CAPTURE_EXIT_OUTPUT; /* output lost: worse than an input cut short */
    report_free(rep);
    keylog_free(kl);
    extract_free(xt);
    json_pool_shutdown();
    return rc;
}
