/*
 * report_priv.h - the report's aggregates, shared by report.c (intake),
 * report_html.c (the page) and the --stats tables.  Not a public header:
 * other modules use report.h.
 */
#ifndef IMAPSCOPE_REPORT_PRIV_H
#define IMAPSCOPE_REPORT_PRIV_H

#include <pthread.h>

#include "report.h"
#include "limits.h" /* defaults and caps of this module */

/* ---- latency: log-bucket histogram ----------------------------------------
 * Values below 16 us have a bucket each; above, 16 sub-buckets per power of
 * two: bucket width / lower bound <= 1/16, so the middle of a bucket is
 * within 1/32 (3.2%) of any value in it.  Values >= 2^48 us share the last. */
#define LAT_SUB      16u
#define LAT_BUCKETS  (LAT_SUB + (48u - 4u) * LAT_SUB)

typedef struct lat_hist {
    uint64_t n, min, max, sum;
    uint64_t b[LAT_BUCKETS];
    uint32_t nsamp;                       /* samples kept while n <= REPORT_EXACT_SAMPLES */
    uint64_t samp[REPORT_EXACT_SAMPLES];
} lat_hist;

void lat_add(lat_hist *h, uint64_t us);
/* Nearest-rank percentile p (0 < p <= 100): the smallest sample with at
 * least p% of the samples at or below it.  Exact while every sample is
 * kept, else the middle of its bucket (clamped to min..max).  *exact says
 * which.  0 when empty. */
uint64_t lat_percentile(const lat_hist *h, double p, bool *exact);
/* Lower bound of bucket i (us). */
uint64_t lat_bucket_low(unsigned i);

/* ---- bounded string-keyed tables -------------------------------------------- */

typedef struct keymap {
    size_t elem;          /* bytes of one entry; an entry starts with `char *key` */
    unsigned max;         /* entries at most (the last is "(other)") */
    unsigned n;
    char *data;           /* n entries of elem bytes */
    unsigned cap;
    uint32_t *slots;      /* open addressing: index + 1, 0 empty */
    unsigned nslots;
    uint64_t refused;     /* lookups of new keys after the cap: counted in "(other)" */
    uint8_t seed[16];
} keymap;

#define KM_AT(km, i) ((void *)((km)->data + (size_t)(i) * (km)->elem))
#define OTHER_KEY     "(other: over the cap)"  /* the entry that sums the keys over the cap */

/* A table of at most max entries of elem bytes.  0, or -1 out of memory. */
int km_init(keymap *km, size_t elem, unsigned max);
/* Frees the keys (entry_free, when given, frees the rest of an entry). */
void km_free(keymap *km, void (*entry_free)(void *));
/* Finds or adds key; over the cap, the OTHER_KEY entry (refused counted).
 * NULL only when out of memory.  Valid until the next km_get on km. */
void *km_get(keymap *km, const char *key);

/* Length of s cut to at most max bytes on a UTF-8 character boundary. */
size_t report_utf8_cut(const char *s, size_t max);

/* ---- the time axis --------------------------------------------------------- */

typedef struct timeaxis {
    bool set;
    uint64_t start_us;    /* time of bucket 0 */
    uint64_t width_us;    /* a power of two times 1 ms */
} timeaxis;

/* ---- entries ---------------------------------------------------------------- */

enum { ST_OK, ST_NO, ST_BAD, ST_NONE, ST_COUNT };

typedef struct cmd_entry {
    char *key;
    uint64_t count;
    uint64_t status[ST_COUNT];
    uint32_t series[REPORT_BUCKETS];
    lat_hist lat;
} cmd_entry;

typedef struct party_entry {   /* a user, a client address or a server address:port */
    char *key;
    uint64_t conns, bytes, client_bytes, server_bytes;
    uint64_t login_ok, login_fail;
    uint32_t *series;          /* users: 2 * REPORT_BUCKETS (ok, failed), made on the first login */
} party_entry;

typedef struct kind_entry {    /* an alert name */
    char *key;
    uint64_t count;
    char *category;
} kind_entry;

typedef enum tls_mode { TM_NONE, TM_STARTTLS, TM_IMPLICIT } tls_mode;

#define ROW_ALERT_TS 8

typedef struct conn_row {
    uint64_t flow_id;
    char client[56], server[56];
    char user[80];
    uint64_t start_us, end_us;
    uint64_t client_bytes, server_bytes;
    uint8_t tls;               /* tls_mode */
    bool decrypted;
    uint8_t login;             /* 0 none, 1 succeeded, 2 only failures */
    uint32_t alerts, commands, failed_logins;
    char reason[24];
    uint64_t alert_ts[ROW_ALERT_TS];
    unsigned n_alert_ts;
    uint64_t score;
} conn_row;

typedef struct alert_row {
    uint64_t ts_us, flow_id;
    char *name, *category, *detail, *client, *server;
} alert_row;

typedef struct msg_row {
    uint64_t ts_us, flow_id;
    char *command, *mailbox, *subject, *from, *date;
    int64_t size;               /* -1 unknown */
} msg_row;

/* The open state of a connection while its events come in. */
typedef struct open_conn {
    uint64_t flow_id;           /* 0: empty slot */
    bool tombstone;
    char *trace;                /* NULL: not recorded (budget) */
    size_t trace_len, trace_cap;
    uint64_t lines_dropped;
    uint64_t alert_ts[ROW_ALERT_TS];
    unsigned n_alerts;
    uint32_t failed_logins, messages;
} open_conn;

typedef struct kept_trace {
    uint64_t flow_id, score;
    char *text;
    size_t len;
    uint64_t lines_dropped;
    char title[256];
} kept_trace;

struct report {
    report_config cfg;
    pthread_mutex_t mu;
    char **inputs;
    unsigned n_inputs;

    timeaxis ax;
    uint64_t first_us, last_us;
    /* totals */
    uint64_t sessions, transactions, alerts, tls_events;
    uint64_t tls_conns[3], tls_bytes[3];  /* by tls_mode */
    uint64_t decrypted_conns;
    uint64_t login_ok, login_fail;
    uint64_t bytes_client, bytes_server;
    uint64_t frames, tcp_packets, threads;
    bool have_stats;
    /* series on the time axis */
    uint64_t open_us[REPORT_BUCKETS];    /* connection-microseconds in the bucket: / width = mean open */
    uint32_t started_tls[REPORT_BUCKETS], started_clear[REPORT_BUCKETS];
    uint32_t alert_series[REPORT_BUCKETS];
    /* tables */
    keymap cmds, users, clients, servers, kinds;
    lat_hist all_lat;
    /* connection rows: a min-heap on (score, -flow_id) of at most max_conns */
    conn_row *rows;
    unsigned n_rows;
    uint64_t rows_dropped;
    alert_row *arows;
    unsigned n_arows;
    uint64_t arows_dropped;
    msg_row *mrows;
    unsigned n_mrows;
    uint64_t mrows_dropped;
    uint64_t messages;
    /* open connections (hash on flow_id, linear probing) */
    open_conn *open;
    unsigned n_open, n_open_used, open_slots;
    size_t trace_mem;
    uint64_t traces_unrecorded;          /* connections without a trace: trace_memcap reached */
    uint64_t traces_truncated;           /* traces cut at trace_bytes */
    /* kept traces: a min-heap on (score, -flow_id) of at most max_traces */
    kept_trace *traces;
    unsigned n_traces;
    uint64_t traces_dropped;             /* ended connections whose trace was not kept */
};

/* Helpers shared by the writers. */
void report_fmt_latency(uint64_t us, char *buf, size_t len);   /* "850 us", "6.5 ms", "2.125 s" */
void report_fmt_bytes(uint64_t b, char *buf, size_t len);      /* "1.2 MB" (SI) */
void report_fmt_time(uint64_t ts_us, char *buf, size_t len);   /* "2024-05-01 12:34:56.123456" */
/* Indexes of the entries of km sorted by the key function, descending;
 * returns the count (caller frees *out). */
unsigned report_sorted(const keymap *km, uint64_t (*key)(const void *entry), unsigned **out);
/* Buckets of the time axis in use (1 + the last non-empty of any series). */
unsigned report_buckets_used(const report *r);
/* The kept trace of flow_id, or NULL. */
const kept_trace *report_trace_of(const report *r, uint64_t flow_id);
bool report_row_kept(const report *r, uint64_t flow_id);

#endif /* IMAPSCOPE_REPORT_PRIV_H */
