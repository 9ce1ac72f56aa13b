/*
 * workers.c - flows split across worker threads (see workers.h).
 */
#include "workers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "stats_event.h"

enum { ITEM_PACKET, ITEM_TICK };

typedef struct item {
    pkt p;            /* p.payload is rebuilt from off on the worker */
    uint64_t ts_us;
    uint64_t frame;
    uint32_t off;
    uint8_t kind;
} item;

typedef struct batch {
    struct batch *next;
    unsigned n;
    size_t used;
    item items[WORKERS_BATCH_PACKETS];
    uint8_t bytes[WORKERS_BATCH_BYTES];
} batch;

typedef struct worker {
    pthread_t thread;
    bool started;
    engine *e;
    output *out;
    pthread_mutex_t mu;
    pthread_cond_t nonempty, has_free;
    batch *head, *tail;   /* queued for the worker */
    batch *free_list;
    batch *filling;       /* capture thread's current batch */
    bool stop;
    /* This worker's share of --imap-memcap: a budget of its own, so what
     * is refused depends only on the connections hashed to this worker
     * and their order, never on how the threads are timed. */
    imap_budget budget;
    _Atomic uint64_t prog_open, prog_events; /* for the progress line: set after each batch */
} worker;

struct workers {
    unsigned n;
    engine *e0;           /* the capture thread's engine: decoding and counters only */
    output *out;
    struct report *report; /* cfg->report (borrowed), or NULL */
    struct detect *detect; /* cfg->detect (borrowed), or NULL: fed by every worker */
    worker w[WORKERS_MAX];
};

static void *worker_main(void *arg)
{
    worker *wk = arg;

    for (;;) {
        batch *b;
        pthread_mutex_lock(&wk->mu);
        while (!wk->head && !wk->stop)
            pthread_cond_wait(&wk->nonempty, &wk->mu);
        b = wk->head;
        if (!b) {
            pthread_mutex_unlock(&wk->mu);
            break;
        }
        wk->head = b->next;
        if (!wk->head)
            wk->tail = NULL;
        pthread_mutex_unlock(&wk->mu);

        for (unsigned i = 0; i < b->n; i++) {
            item *it = &b->items[i];
            if (it->kind == ITEM_TICK) {
                engine_tick(wk->e, it->ts_us);
                continue;
            }
            it->p.payload = it->p.payload_len ? b->bytes + it->off : NULL;
            engine_packet(wk->e, &it->p, it->ts_us, it->frame);
        }
        b->n = 0;
        b->used = 0;
        {
            uint64_t open_conns, events;
            engine_progress(wk->e, &open_conns, &events);
            atomic_store_explicit(&wk->prog_open, open_conns, memory_order_relaxed);
            atomic_store_explicit(&wk->prog_events, events, memory_order_relaxed);
        }
        pthread_mutex_lock(&wk->mu);
        b->next = wk->free_list;
        wk->free_list = b;
        pthread_cond_signal(&wk->has_free);
        pthread_mutex_unlock(&wk->mu);
    }
    return NULL;
}

/* Hands the capture thread's current batch of wk to the worker. */
static void worker_push(worker *wk)
{
    batch *b = wk->filling;

    if (!b || b->n == 0)
        return;
    wk->filling = NULL;
    b->next = NULL;
    pthread_mutex_lock(&wk->mu);
    if (wk->tail)
        wk->tail->next = b;
    else
        wk->head = b;
    wk->tail = b;
    pthread_cond_signal(&wk->nonempty);
    pthread_mutex_unlock(&wk->mu);
}

/* The batch to append to, waiting for the worker when all are in use. */
static batch *worker_batch(worker *wk, size_t need)
{
    batch *b = wk->filling;

    if (b && (b->n == WORKERS_BATCH_PACKETS || b->used + need > WORKERS_BATCH_BYTES)) {
        worker_push(wk);
        b = NULL;
    }
    if (!b) {
        pthread_mutex_lock(&wk->mu);
        while (!wk->free_list)
            pthread_cond_wait(&wk->has_free, &wk->mu);
        b = wk->free_list;
        wk->free_list = b->next;
        pthread_mutex_unlock(&wk->mu);
        b->n = 0;
        b->used = 0;
        wk->filling = b;
    }
    return b;
}

/* Both directions of a connection to the same worker: the two endpoints
 * are hashed in a fixed order (FNV-1a). */
static unsigned tuple_worker(const pkt *p, unsigned n)
{
    size_t alen = p->ip_version == 4 ? 4 : 16;
    const uint8_t *a = p->src, *b = p->dst;
    uint16_t pa = p->sport, pb = p->dport;
    uint64_t h = 0xcbf29ce484222325ULL;
    int c = memcmp(a, b, alen);

    if (c > 0 || (c == 0 && pa > pb)) {
        const uint8_t *t = a;
        uint16_t tp = pa;
        a = b, b = t, pa = pb, pb = tp;
    }
    for (size_t i = 0; i < alen; i++)
        h = (h ^ a[i]) * 0x100000001b3ULL;
    for (size_t i = 0; i < alen; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    h = (h ^ (pa >> 8)) * 0x100000001b3ULL;
    h = (h ^ (pa & 0xff)) * 0x100000001b3ULL;
    h = (h ^ (pb >> 8)) * 0x100000001b3ULL;
    h = (h ^ (pb & 0xff)) * 0x100000001b3ULL;
    return (unsigned)((h ^ (h >> 32)) % n);
}

workers *workers_new(unsigned n, const engine_config *cfg, output *out, char *errbuf, size_t errlen)
{
    workers *ws;
    engine_config wc = *cfg, dc = *cfg;

    if (n < 2 || n > WORKERS_MAX) {
        snprintf(errbuf, errlen, "--threads: %u is not from 2 to %d", n, WORKERS_MAX);
        return NULL;
    }
    ws = calloc(1, sizeof *ws);
    if (!ws) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    ws->n = n;
    ws->out = out;
    ws->report = cfg->report;
    ws->detect = cfg->detect;
    dc.max_flows = 1;
    dc.streams_dir = NULL;
    dc.detect = NULL; /* the capture thread's engine decodes only */
    ws->e0 = engine_new(&dc, out, errbuf, errlen);
    if (!ws->e0) {
        free(ws);
        return NULL;
    }
    /* The caps are shared among the workers. */
    wc.max_flows = cfg->max_flows / n ? cfg->max_flows / n : 1;
    wc.starttls = engine_starttls(ws->e0); /* one table of STARTTLS evidence for the run */
    wc.reasm.memcap_total = cfg->reasm.memcap_total / n;
    for (unsigned i = 0; i < n; i++) {
        worker *wk = &ws->w[i];
        pthread_mutex_init(&wk->mu, NULL);
        pthread_cond_init(&wk->nonempty, NULL);
        pthread_cond_init(&wk->has_free, NULL);
        wk->out = output_fork(out);
        if (cfg->imap.budget) {
            /* an equal share each (0 = no limit stays no limit) */
            imap_budget_init(&wk->budget, cfg->imap.budget->limit / n);
            wc.imap.budget = &wk->budget;
        }
        wc.detect_feeder = i;
        wk->e = wk->out ? engine_new(&wc, wk->out, errbuf, errlen) : NULL;
        for (unsigned k = 0; wk->e && k < WORKERS_QUEUE_BATCHES; k++) {
            batch *b = malloc(sizeof *b);
            if (!b)
                break;
            b->next = wk->free_list;
            wk->free_list = b;
        }
        if (!wk->e || !wk->free_list ||
            pthread_create(&wk->thread, NULL, worker_main, wk) != 0) {
            if (!*errbuf)
                snprintf(errbuf, errlen, "cannot start worker thread %u", i);
            workers_free(ws);
            return NULL;
        }
        wk->started = true;
    }
    return ws;
}

void workers_frame(workers *ws, int linktype, const uint8_t *data, uint32_t caplen,
                   uint32_t wirelen, uint64_t ts_us)
{
    pkt p;
    worker *wk;
    batch *b;
    item *it;

    if (!engine_decode(ws->e0, linktype, data, caplen, wirelen, ts_us, &p))
        return;
    wk = &ws->w[tuple_worker(&p, ws->n)];
    b = worker_batch(wk, p.payload_len);
    it = &b->items[b->n++];
    it->p = p;
    it->kind = ITEM_PACKET;
    it->ts_us = ts_us;
    it->frame = engine_frames(ws->e0);
    it->off = (uint32_t)b->used;
    if (p.payload_len) {
        memcpy(b->bytes + b->used, p.payload, p.payload_len);
        b->used += p.payload_len;
    }
}

void workers_tick(workers *ws, uint64_t now_us)
{
    for (unsigned i = 0; i < ws->n; i++) {
        worker *wk = &ws->w[i];
        batch *b = worker_batch(wk, 0);
        item *it = &b->items[b->n++];
        memset(it, 0, sizeof *it);
        it->kind = ITEM_TICK;
        it->ts_us = now_us;
        worker_push(wk);
    }
    output_flush(ws->out);
}

/* dst += src, recursively for objects of integers. */
static void json_sum_into(json_t *dst, json_t *src)
{
    const char *k;
    json_t *v;

    json_object_foreach(src, k, v) {
        json_t *d = json_object_get(dst, k);
        if (!d)
            json_object_set(dst, k, v);
        else if (json_is_integer(d) && json_is_integer(v))
            json_integer_set(d, json_integer_value(d) + json_integer_value(v));
        else if (json_is_object(d) && json_is_object(v))
            json_sum_into(d, v);
    }
}

static void workers_stop(workers *ws)
{
    for (unsigned i = 0; i < ws->n; i++) {
        worker *wk = &ws->w[i];
        if (!wk->started)
            continue;
        worker_push(wk);
        pthread_mutex_lock(&wk->mu);
        wk->stop = true;
        pthread_cond_signal(&wk->nonempty);
        pthread_mutex_unlock(&wk->mu);
        pthread_join(wk->thread, NULL);
        wk->started = false;
    }
}

void workers_finish(workers *ws, const char *reason, json_t *extra)
{
    json_t *st;
    uint64_t now = engine_now(ws->e0);

    workers_stop(ws);
    engine_end_all(ws->e0, reason);
    st = engine_stats(ws->e0);
    for (unsigned i = 0; i < ws->n; i++) {
        worker *wk = &ws->w[i];
        json_t *ws_st;
        if (!wk->e)
            continue;
        /* The capture's clock, not the worker's: connections idle past the
         * timeout end as they would with one thread. */
        engine_tick(wk->e, engine_now(ws->e0));
        engine_end_all(wk->e, reason);
        if (engine_now(wk->e) > now)
            now = engine_now(wk->e);
        ws_st = engine_stats(wk->e);
        json_object_del(ws_st, "keylog"); /* one key log for all: counted once, from e0 */
        stats_limit_del(ws_st, "keylog.bytes");
        json_object_del(ws_st, "extract"); /* one --extract-dir for all: the same */
        /* one message memcap for the run (mail.c), a pending cap per
         * connection: their limits are not summed, their refusals are */
        json_object_del(json_object_get(json_object_get(ws_st, "limits"), "mail.memory"), "limit");
        json_object_del(json_object_get(json_object_get(ws_st, "limits"), "mail.pending"), "limit");
        if (i == 0) {
            /* the workers' budgets and tables are summed; e0 holds no
             * session (its flow table of one and pool are the dispatcher's) */
            stats_limit_del(st, "imap.memory");
            stats_limit_del(st, "flows.table");
            stats_limit_del(st, "reassembly.memory");
        }
        json_sum_into(st, ws_st);
        json_decref(ws_st);
        output_close(wk->out);
        wk->out = NULL;
    }
    if (ws->detect) {
        /* every worker has ended its connections: the records still
         * waiting, in packet-time order, then the imap_user events */
        detect_finish(ws->detect, now);
        json_object_set_new_nocheck(st, "detect", detect_stats(ws->detect));
    }
    json_object_set_new_nocheck(st, "threads", json_integer(ws->n));
    json_object_set_new_nocheck(st, "end_reason", json_string(reason));
    if (extra) {
        json_object_update(st, extra);
        json_decref(extra);
    }
    if (ws->report)
        report_stats(ws->report, now, st);
    json_t *sinks = output_sinks_json(ws->out); /* --rotate, network sinks: what each did so far */
    if (sinks)
        json_object_set_new_nocheck(st, "sinks", sinks);
    output_event(ws->out, "stats", engine_stats_time(now), NULL, stats_event_body(st));
    output_flush(ws->out);
}

void workers_stats_periodic(workers *ws, uint64_t now_us, json_t *extra)
{
    json_t *st = engine_stats(ws->e0);
    /* e0 holds no session: its budget, flow table of one and pool say nothing */
    stats_limit_del(st, "imap.memory");
    stats_limit_del(st, "flows.table");
    stats_limit_del(st, "reassembly.memory");
    json_object_set_new_nocheck(st, "threads", json_integer(ws->n));
    json_object_set_new_nocheck(st, "periodic", json_true());
    if (extra) {
        json_object_update(st, extra);
        json_decref(extra);
    }
    json_t *sinks = output_sinks_json(ws->out); /* as they stand: workers' events may still be queued */
    if (sinks)
        json_object_set_new_nocheck(st, "sinks", sinks);
    output_event(ws->out, "stats", now_us, NULL, stats_event_body(st));
    output_flush(ws->out);
}

void workers_progress(workers *ws, uint64_t *open_conns, uint64_t *events)
{
    *open_conns = *events = 0;
    for (unsigned i = 0; i < ws->n; i++) {
        *open_conns += atomic_load_explicit(&ws->w[i].prog_open, memory_order_relaxed);
        *events += atomic_load_explicit(&ws->w[i].prog_events, memory_order_relaxed);
    }
}

void workers_free(workers *ws)
{
    if (!ws)
        return;
    workers_stop(ws);
    for (unsigned i = 0; i < ws->n; i++) {
        worker *wk = &ws->w[i];
        batch *b;
        engine_free(wk->e);
        if (wk->out)
            output_close(wk->out);
        free(wk->filling);
        while ((b = wk->free_list)) {
            wk->free_list = b->next;
            free(b);
        }
        while ((b = wk->head)) {
            wk->head = b->next;
            free(b);
        }
        pthread_mutex_destroy(&wk->mu);
        pthread_cond_destroy(&wk->nonempty);
        pthread_cond_destroy(&wk->has_free);
    }
    engine_free(ws->e0);
    free(ws);
}

starttls_seen *workers_starttls(workers *ws)
{
    return engine_starttls(ws->e0);
}
