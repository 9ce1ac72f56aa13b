/*
 * tlsstreams - test driver for the TLS layer (src/tls.h).
 *
 * Reads a pcap/pcapng, rebuilds every TCP connection with src/decode and
 * src/reassembly, finds where TLS starts in each direction (the first
 * "16 03 0x LL LL 01|02" record header: byte 0 for implicit TLS, the byte
 * after the STARTTLS exchange otherwise), and replays the deliveries in
 * capture order into one tls_conn per connection.  Prints JSON lines:
 *   {"type":"conn","conn":N,"client":"ip:port","server":"ip:port","tls_start":[c,s]}
 *   {"type":"tls","conn":N,"event":{...}}            (handshake callback)
 *   {"type":"anomaly","conn":N,"dir":D,"name":..,"detail":..}
 *   {"type":"summary","conn":N,"summary":{...},"plaintext":[b64 client, b64 server],
 *    "plaintext_gaps":[n,n]}
 * Options:
 *   -k FILE   NSS key log          -b        feed one byte at a time
 *   -r SEED   random chunk sizes   -u        JA4 ALPN rule of upstream tools
 *   -f D:OFF  flip one bit of byte OFF (after the TLS start) of direction D
 *   -g D:OFF:LEN  replace LEN bytes at OFF (after the TLS start) by a gap
 *   -t OFF    truncate every direction OFF bytes after its TLS start
 *   -n        no certificates      -R N      max record size
 */
#include <getopt.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "decode.h"
#include "keylog.h"
#include "reassembly.h"
#include "tls.h"

#define MAX_CONNS 4096

typedef struct delivery {
    uint8_t dir, gap;
    uint64_t off, len, ts;
} delivery;

typedef struct conn {
    uint8_t ip[2][16];
    uint16_t port[2];   /* [0] client */
    int ipv;
    tcp_stream st[2];
    uint8_t *buf[2];
    size_t len[2], cap[2];
    delivery *dl;
    size_t ndl, capdl;
    bool used;
} conn;

static conn conns[MAX_CONNS];
static size_t nconns;
static reasm_config rcfg;
static reasm_pool rpool;

static int flip_dir = -1, gap_dir = -1;
static uint64_t flip_off, gap_off, gap_len, trunc_off = UINT64_MAX;
static int chunk_mode;   /* 0 whole, 1 byte, 2 random */
static unsigned seed;

static void add_dl(conn *c, int dir, bool gap, uint64_t len, uint64_t ts)
{
    if (c->ndl == c->capdl) {
        c->capdl = c->capdl ? c->capdl * 2 : 64;
        c->dl = realloc(c->dl, c->capdl * sizeof *c->dl);
    }
    uint64_t off = c->len[dir];
    c->dl[c->ndl++] = (delivery){(uint8_t)dir, gap, off, len, ts};
}

static void grow(conn *c, int dir, size_t need)
{
    if (c->len[dir] + need > c->cap[dir]) {
        size_t nc = c->cap[dir] ? c->cap[dir] : 4096;
        while (nc < c->len[dir] + need)
            nc *= 2;
        c->buf[dir] = realloc(c->buf[dir], nc);
        c->cap[dir] = nc;
    }
}

static void on_deliver(void *user, int dir, const uint8_t *data, size_t len, uint64_t ts)
{
    conn *c = user;
    add_dl(c, dir, false, len, ts);
    grow(c, dir, len);
    memcpy(c->buf[dir] + c->len[dir], data, len);
    c->len[dir] += len;
}

static void on_gap(void *user, int dir, uint64_t len, uint64_t ts)
{
    conn *c = user;
    add_dl(c, dir, true, len, ts);
    grow(c, dir, (size_t)len);
    memset(c->buf[dir] + c->len[dir], 0, (size_t)len);
    c->len[dir] += (size_t)len;
}

static const reasm_callbacks rcb = {on_deliver, on_gap, NULL};

static conn *find_conn(const pkt *k, int *dir)
{
    size_t al = k->ip_version == 4 ? 4 : 16;
    for (size_t i = nconns; i-- > 0;) {
        conn *c = &conns[i];
        if (c->ipv != k->ip_version)
            continue;
        for (int d = 0; d < 2; d++)
            if (c->port[d] == k->sport && c->port[!d] == k->dport && !memcmp(c->ip[d], k->src, al) &&
                !memcmp(c->ip[!d], k->dst, al)) {
                *dir = d;
                return c;
            }
    }
    if (nconns == MAX_CONNS)
        return NULL;
    conn *c = &conns[nconns++];
    memset(c, 0, sizeof *c);
    c->used = true;
    c->ipv = k->ip_version;
    /* client: the SYN sender; a SYN-ACK means the other side; otherwise the
     * higher port */
    bool src_client = (k->tcp_flags & 0x12) == 0x02 ? true
                      : (k->tcp_flags & 0x12) == 0x12 ? false
                                                      : k->sport > k->dport;
    int cs = src_client ? 0 : 1;
    memcpy(c->ip[cs], k->src, 16);
    memcpy(c->ip[!cs], k->dst, 16);
    c->port[cs] = k->sport;
    c->port[!cs] = k->dport;
    for (int d = 0; d < 2; d++)
        tcp_stream_init(&c->st[d], &rpool, d);
    *dir = cs;
    return c;
}

/* ---- replay into the TLS layer ---- */
typedef struct out_ctx {
    size_t id;
    uint8_t *plain[2];
    size_t plen[2], pcap_[2];
    uint64_t pgaps[2];
} out_ctx;

static void cb_plain(void *user, imap_dir dir, const uint8_t *d, size_t n, uint64_t ts)
{
    out_ctx *o = user;
    if (o->plen[dir] + n > o->pcap_[dir]) {
        size_t nc = o->pcap_[dir] ? o->pcap_[dir] : 4096;
        while (nc < o->plen[dir] + n)
            nc *= 2;
        o->plain[dir] = realloc(o->plain[dir], nc);
        o->pcap_[dir] = nc;
    }
    memcpy(o->plain[dir] + o->plen[dir], d, n);
    o->plen[dir] += n;
}

static void cb_pgap(void *user, imap_dir dir, uint64_t len, uint64_t ts) { ((out_ctx *)user)->pgaps[dir]++; }

static void cb_hs(void *user, json_t *ev, uint64_t ts)
{
    out_ctx *o = user;
    json_t *j = json_pack("{s:s,s:I,s:o}", "type", "tls", "conn", (json_int_t)o->id, "event", ev);
    json_dumpf(j, stdout, JSON_COMPACT | JSON_SORT_KEYS);
    putchar('\n');
    json_decref(j);
}

static void cb_anom(void *user, int dir, const char *name, const char *desc, const char *detail, uint64_t ts)
{
    out_ctx *o = user;
    json_t *j = json_pack("{s:s,s:I,s:i,s:s,s:s?}", "type", "anomaly", "conn", (json_int_t)o->id, "dir", dir,
                          "name", name, "detail", detail);
    json_dumpf(j, stdout, JSON_COMPACT | JSON_SORT_KEYS);
    putchar('\n');
    json_decref(j);
}

static char *b64(const uint8_t *p, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = malloc(4 * ((n + 2) / 3) + 1), *q = o;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        *q++ = t[v >> 18 & 63];
        *q++ = t[v >> 12 & 63];
        *q++ = i + 1 < n ? t[v >> 6 & 63] : '=';
        *q++ = i + 2 < n ? t[v & 63] : '=';
    }
    *q = 0;
    return o;
}

/* First offset of a TLS hello record header, or len. */
static size_t tls_start(const uint8_t *p, size_t len, bool server)
{
    for (size_t i = 0; i + 6 <= len; i++)
        if ((!server && i == 0 && (p[0] & 0x80) && p[2] == 1 && p[3] == 3) || (p[i] == 0x16 && p[i + 1] == 3 && p[i + 2] <= 4 && p[i + 5] == (server ? 2 : 1)))
            return i;
    return len;
}

static void feed_range(tls_conn *t, int dir, const uint8_t *p, size_t n, uint64_t ts)
{
    size_t i = 0;
    while (i < n) {
        size_t k = n - i;
        if (chunk_mode == 1)
            k = 1;
        else if (chunk_mode == 2) {
            seed = seed * 1103515245u + 12345u;
            size_t r = 1 + (seed >> 16) % 700;
            k = r < k ? r : k;
        }
        tls_conn_feed(t, dir, p + i, k, ts);
        i += k;
    }
}

static void replay(conn *c, size_t id, const tls_config *cfg)
{
    size_t start[2];
    for (int d = 0; d < 2; d++)
        start[d] = tls_start(c->buf[d], c->len[d], d == 1);
    if (start[0] == c->len[0] && start[1] == c->len[1])
        return;   /* not TLS */
    char a[2][64];
    for (int d = 0; d < 2; d++) {
        char ip[INET6_ADDRSTRLEN];
        inet_ntop(c->ipv == 4 ? AF_INET : AF_INET6, c->ip[d], ip, sizeof ip);
        snprintf(a[d], sizeof a[d], c->ipv == 4 ? "%s:%u" : "[%s]:%u", ip, c->port[d]);
    }
    printf("{\"type\":\"conn\",\"conn\":%zu,\"client\":\"%s\",\"server\":\"%s\",\"tls_start\":[%zu,%zu]}\n", id, a[0],
           a[1], start[0], start[1]);
    out_ctx o = {.id = id};
    tls_callbacks cb = {cb_plain, cb_pgap, cb_hs, cb_anom};
    tls_conn *t = tls_conn_new(cfg, &cb, &o);
    uint64_t last_ts = 0;
    for (size_t i = 0; i < c->ndl; i++) {
        delivery *e = &c->dl[i];
        int d = e->dir;
        uint64_t lo = e->off, hi = e->off + e->len;
        last_ts = e->ts;
        if (hi <= start[d])
            continue;
        if (lo < start[d])
            lo = start[d];
        uint64_t rlo = lo - start[d], rhi = hi - start[d];
        if (rlo >= trunc_off)
            continue;
        if (rhi > trunc_off)
            rhi = trunc_off;
        if (e->gap) {
            tls_conn_gap(t, d, rhi - rlo, e->ts);
            continue;
        }
        if (flip_dir == d && flip_off >= rlo && flip_off < rhi)
            c->buf[d][start[d] + flip_off] ^= 0x01;
        uint64_t pos = rlo;
        if (gap_dir == d && gap_off < rhi && gap_off + gap_len > rlo) {
            uint64_t g0 = gap_off > rlo ? gap_off : rlo, g1 = gap_off + gap_len < rhi ? gap_off + gap_len : rhi;
            if (g0 > pos)
                feed_range(t, d, c->buf[d] + start[d] + pos, g0 - pos, e->ts);
            tls_conn_gap(t, d, g1 - g0, e->ts);
            pos = g1;
        }
        if (rhi > pos)
            feed_range(t, d, c->buf[d] + start[d] + pos, rhi - pos, e->ts);
    }
    tls_conn_end(t, last_ts);
    json_t *s = tls_conn_summary(t, true);
    char *p0 = b64(o.plain[0] ? o.plain[0] : (const uint8_t *)"", o.plen[0]);
    char *p1 = b64(o.plain[1] ? o.plain[1] : (const uint8_t *)"", o.plen[1]);
    json_t *j = json_pack("{s:s,s:I,s:o,s:[ss],s:[II]}", "type", "summary", "conn", (json_int_t)id, "summary", s,
                          "plaintext", p0, p1, "plaintext_gaps", (json_int_t)o.pgaps[0], (json_int_t)o.pgaps[1]);
    json_dumpf(j, stdout, JSON_COMPACT | JSON_SORT_KEYS);
    putchar('\n');
    json_decref(j);
    free(p0);
    free(p1);
    free(o.plain[0]);
    free(o.plain[1]);
    tls_conn_free(t);
}

int main(int argc, char **argv)
{
    const char *keyfile = NULL;
    tls_config cfg;
    tls_config_default(&cfg);
    int opt;
    while ((opt = getopt(argc, argv, "k:br:uf:g:t:nR:")) != -1) {
        switch (opt) {
        case 'k': keyfile = optarg; break;
        case 'b': chunk_mode = 1; break;
        case 'r': chunk_mode = 2; seed = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'u': cfg.ja4_alpn = TLS_JA4_ALPN_UPSTREAM; break;
        case 'f': if (sscanf(optarg, "%d:%lu", &flip_dir, &flip_off) != 2) return 2; break;
        case 'g':
            if (sscanf(optarg, "%d:%lu:%lu", &gap_dir, &gap_off, &gap_len) != 3)
                return 2;
            break;
        case 't': trunc_off = strtoull(optarg, NULL, 10); break;
        case 'n': cfg.no_certificates = true; break;
        case 'R': cfg.max_record = strtoul(optarg, NULL, 10); break;
        default:
            fprintf(stderr, "usage: tlsstreams [-k keylog] [-b|-r seed] [-u] [-f d:off] [-g d:off:len] [-t off] pcap\n");
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "tlsstreams: no pcap\n");
        return 2;
    }
    char err[PCAP_ERRBUF_SIZE + 256];
    keylog *kl = NULL;
    if (keyfile) {
        kl = keylog_load(keyfile, 0, err, sizeof err);
        if (!kl) {
            fprintf(stderr, "tlsstreams: %s\n", err);
            return 1;
        }
        cfg.keylog = kl;
    }
    pcap_t *pc = pcap_open_offline(argv[optind], err);
    if (!pc) {
        fprintf(stderr, "tlsstreams: %s: %s\n", argv[optind], err);
        return 1;
    }
    decoder dec;
    if (decoder_init(&dec, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "tlsstreams: %s\n", err);
        return 1;
    }
    reasm_config_default(&rcfg);
    reasm_pool_init(&rpool, &rcfg);
    int lt = pcap_datalink(pc);
    struct pcap_pkthdr *h;
    const u_char *data;
    while (pcap_next_ex(pc, &h, &data) == 1) {
        pkt k;
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        if (decode_packet(&dec, lt, data, h->caplen, h->len, ts, &k) != DECODE_OK || k.proto != 6)
            continue;
        int dir;
        conn *c = find_conn(&k, &dir);
        if (!c)
            continue;
        if (tcp_stream_segment(&c->st[dir], k.seq, k.tcp_flags, k.payload, k.payload_len, ts, &rcb, c) ==
            REASM_SEG_NEW_CONN)
            continue;
        if (k.tcp_flags & 0x10)
            tcp_stream_peer_ack(&c->st[!dir], k.ack, ts, &rcb, c);
    }
    pcap_close(pc);
    for (size_t i = 0; i < nconns; i++) {
        conn *c = &conns[i];
        for (int d = 0; d < 2; d++)
            tcp_stream_flush(&c->st[d], UINT64_MAX / 2, &rcb, c);
        replay(c, i, &cfg);
        for (int d = 0; d < 2; d++) {
            tcp_stream_free(&c->st[d]);
            free(c->buf[d]);
        }
        free(c->dl);
    }
    decoder_free(&dec);
    keylog_free(kl);
    return 0;
}
