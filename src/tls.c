/*
 * tls.c - passive TLS stream layer.  Contracts in tls.h; formulas in
 * tests/data/SPECS.md section 4 and tls_crypto.h.
 *
 * Per direction: a record assembler (header, then body into a buffer of
 * max_record bytes), then per record: ChangeCipherSpec handling, optional
 * decryption, and dispatch by content type.  Handshake messages are
 * reassembled across records (RFC 8446 5.1: they may span or share
 * records) in a buffer that grows up to max_handshake.
 *
 * Why this file is over 1,000 lines: it is one state machine per direction
 * (record assembly, handshake reassembly, ChangeCipherSpec, decryption
 * dispatch, resynchronisation after a gap) whose parts share that state;
 * what stands apart already lives apart: key derivation and record
 * decryption (tls_crypto.c), JA3/JA4 (tls_fingerprint.c), certificates
 * (tls_cert.c).
 */
#include "tls.h"
#include "cursor.h"
#include "imap_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "limits.h"
#include "tls_cert.h"
#include "tls_crypto.h"

/* ---- anomaly table ---------------------------------------------------------- */
static const char *const anom_names[] = {
#define TLS_X_NAME(e, n, d) n,
    TLS_ANOMALY_TABLE(TLS_X_NAME)
#undef TLS_X_NAME
};
static const char *const anom_desc[] = {
#define TLS_X_DESC(e, n, d) d,
    TLS_ANOMALY_TABLE(TLS_X_DESC)
#undef TLS_X_DESC
};
_Static_assert(sizeof anom_names / sizeof anom_names[0] == TLS_ANOM_COUNT, "anomaly table");

const char *tls_anomaly_name(int id) { return id >= 0 && id < TLS_ANOM_COUNT ? anom_names[id] : NULL; }
const char *tls_anomaly_desc(int id) { return id >= 0 && id < TLS_ANOM_COUNT ? anom_desc[id] : NULL; }

int tls_anomaly_from_name(const char *name)
{
    for (int i = 0; name && i < TLS_ANOM_COUNT; i++)
        if (!strcmp(anom_names[i], name))
            return i;
    return -1;
}

/* ---- names ----------------------------------------------------------------- */
const char *tls_version_name(uint16_t v)
{
    switch (v) {
    case 0x0002: return "SSLv2";
    case 0x0300: return "SSLv3";
    case 0x0301: return "TLSv1.0";
    case 0x0302: return "TLSv1.1";
    case 0x0303: return "TLSv1.2";
    case 0x0304: return "TLSv1.3";
    default: return "unknown";
    }
}

const char *tls_alert_name(uint8_t d)
{
    switch (d) {   /* RFC 8446 6, RFC 5246 7.2, RFC 7301 3.2 */
    case 0: return "close_notify";
    case 10: return "unexpected_message";
    case 20: return "bad_record_mac";
    case 21: return "decryption_failed";
    case 22: return "record_overflow";
    case 30: return "decompression_failure";
    case 40: return "handshake_failure";
    case 41: return "no_certificate";
    case 42: return "bad_certificate";
    case 43: return "unsupported_certificate";
    case 44: return "certificate_revoked";
    case 45: return "certificate_expired";
    case 46: return "certificate_unknown";
    case 47: return "illegal_parameter";
    case 48: return "unknown_ca";
    case 49: return "access_denied";
    case 50: return "decode_error";
    case 51: return "decrypt_error";
    case 60: return "export_restriction";
    case 70: return "protocol_version";
    case 71: return "insufficient_security";
    case 80: return "internal_error";
    case 86: return "inappropriate_fallback";
    case 90: return "user_canceled";
    case 100: return "no_renegotiation";
    case 109: return "missing_extension";
    case 110: return "unsupported_extension";
    case 111: return "certificate_unobtainable";
    case 112: return "unrecognized_name";
    case 113: return "bad_certificate_status_response";
    case 114: return "bad_certificate_hash_value";
    case 115: return "unknown_psk_identity";
    case 116: return "certificate_required";
    case 120: return "no_application_protocol";
    default: return "unknown";
    }
}

const char *tls_handshake_type_name(uint8_t t)
{
    switch (t) {
    case 0: return "hello_request";
    case 1: return "client_hello";
    case 2: return "server_hello";
    case 4: return "new_session_ticket";
    case 5: return "end_of_early_data";
    case 8: return "encrypted_extensions";
    case 11: return "certificate";
    case 12: return "server_key_exchange";
    case 13: return "certificate_request";
    case 14: return "server_hello_done";
    case 15: return "certificate_verify";
    case 16: return "client_key_exchange";
    case 20: return "finished";
    case 22: return "certificate_status";
    case 24: return "key_update";
    case 254: return "message_hash";
    default: return "unknown";
    }
}

/* ---- state ---------------------------------------------------------------- */
enum { CT_CCS = 20, CT_ALERT = 21, CT_HANDSHAKE = 22, CT_APP = 23, CT_HEARTBEAT = 24 };

/* Direction state: one function (dir_set_state) changes it. */
typedef enum dir_state {
    DS_START = 0,   /* nothing seen yet */
    DS_RECORDS,     /* in record sync */
    DS_RESYNC,      /* scanning for a record header after lost bytes */
    DS_DEAD,        /* not TLS: ignore everything */
    DS_V2HELLO,     /* collecting an SSLv2-format ClientHello */
    DS_AWAIT,       /* after a STARTTLS switch: cleartext may stand before
                     * the first record (the dissector names it): skipped
                     * up to the first handshake record header */
    DS_COUNT
} dir_state;
static const char *const dir_state_names[] = {"start", "records", "resync", "dead", "v2hello", "await"};
_Static_assert(sizeof dir_state_names / sizeof dir_state_names[0] == DS_COUNT, "state names");


typedef struct tls_dir {
    uint8_t state;              /* dir_state */
    uint8_t hdr[5];
    size_t hdr_have;
    size_t rec_len, rec_have;   /* body length / bytes collected */
    bool rec_lost;              /* body bytes lost (gap) or over the cap: not stored */
    uint8_t *rec;               /* max_record bytes, allocated at first use */
    /* handshake reassembly */
    uint8_t *hs;
    size_t hs_have, hs_alloc;
    size_t hs_skip;             /* bytes of an over-cap message still to skip */
    bool hs_broken;             /* lost handshake bytes: ignore further messages */
    /* protection */
    bool encrypted;             /* records are protected */
    bool undecryptable;         /* protected and no usable keys */
    bool have_cur;
    tls_rstate cur;
    bool have_pending;          /* TLS <= 1.2: keys for the next CCS */
    tls_rstate pending;
    bool resync_trial;          /* after tls_resync: search the sequence number */
    bool decrypted_any;
    uint8_t tls13_stage;        /* 0 clear, 1 handshake keys, 2 application keys */
    /* counters */
    uint64_t records, bytes, app_records, app_bytes, plain_bytes, undecrypted_records;
    uint64_t early_records;
    uint64_t skipped;           /* DS_AWAIT: cleartext before the first record */
    bool zlib_on;               /* RFC 3749 DEFLATE compression active */
    z_stream z;
} tls_dir;

typedef struct tls_alert_rec {
    int8_t dir;
    uint8_t level, desc;
    bool encrypted;
} tls_alert_rec;

struct tls_conn {
    tls_config cfg;
    tls_callbacks cb;
    void *user;
    tls_dir d[2];
    uint8_t *scratch;           /* decrypted record, max_record bytes */
    uint8_t *zbuf;              /* inflated record (RFC 3749), max_record bytes */
    /* current handshake */
    tls_client_hello *ch;
    tls_server_hello *sh;
    bool have_ch, have_sh, emitted, hrr;
    bool ch_v2;                 /* the ClientHello was SSLv2-format: no JA3/JA4 */
    bool tls13;                 /* negotiated TLS 1.3 */
    uint16_t version;           /* negotiated */
    const tls_suite *suite;
    json_t *certs;
    unsigned handshakes;        /* ClientHellos seen */
    bool resumed;
    const char *resumption;     /* "session_id", "session_ticket", "psk" */
    bool no_key_reported;
    bool no_handshake_reported;     /* tls_handshake_not_seen: once per connection */
    bool midstream;                 /* tls_conn_set_midstream: tls_midstream instead */
    bool plaintext_reported[2];     /* tls_unexpected_plaintext: once per direction */
    /* summary copies (of the first handshake) */
    char ja3[33], ja3s[33], ja4[TLS_JA4_MAX];
    char sni[TLS_HELLO_MAX_SNI + 1], alpn[256];
    tls_alert_rec alerts[TLS_MAX_ALERTS_KEPT];
    unsigned n_alerts, alerts_dropped;
    uint64_t anom[TLS_ANOM_COUNT];
    uint64_t ts;                /* time of the current feed call */
};

void tls_config_default(tls_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_record = LIM_TLS_MAX_RECORD;
    cfg->max_handshake = LIM_TLS_MAX_HANDSHAKE;
    cfg->ja4_alpn = TLS_JA4_ALPN_SPEC;
}

static void anomaly(tls_conn *t, int dir, tls_anomaly a, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#include <stdarg.h>
static void anomaly(tls_conn *t, int dir, tls_anomaly a, const char *fmt, ...)
{
    t->anom[a]++;
    if (!t->cb.anomaly)
        return;
    char detail[256];
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
    }
    t->cb.anomaly(t->user, dir, anom_names[a], anom_desc[a], fmt ? detail : NULL, t->ts);
}

static void dir_set_state(tls_dir *d, dir_state s) { d->state = (uint8_t)s; }

void tls_conn_set_midstream(tls_conn *t)
{
    if (t)
        t->midstream = true;
}

tls_conn *tls_conn_new(const tls_config *cfg, const tls_callbacks *cb, void *user)
{
    tls_conn *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (cfg)
        t->cfg = *cfg;
    else
        tls_config_default(&t->cfg);
    if (!t->cfg.max_record)
        t->cfg.max_record = LIM_TLS_MAX_RECORD;
    if (!t->cfg.max_handshake)
        t->cfg.max_handshake = LIM_TLS_MAX_HANDSHAKE;
    if (cb)
        t->cb = *cb;
    t->user = user;
    return t;
}

static void hs_reset(tls_conn *t)
{
    t->have_ch = t->have_sh = t->emitted = t->hrr = false;
    t->resumed = false;
    t->resumption = NULL;
    json_decref(t->certs);
    t->certs = NULL;
}

void tls_conn_free(tls_conn *t)
{
    if (!t)
        return;
    for (int i = 0; i < 2; i++) {
        tls_dir *d = &t->d[i];
        free(d->rec);
        free(d->hs);
        tls_rstate_free(&d->cur);
        tls_rstate_free(&d->pending);
        if (d->zlib_on)
            inflateEnd(&d->z);
    }
    free(t->scratch);
    free(t->zbuf);
    free(t->ch);
    free(t->sh);
    json_decref(t->certs);
    free(t);
}

bool tls_looks_like_record(const uint8_t *p, size_t len)
{
    if (len == 0)
        return false;
    if ((p[0] & 0x80) && len >= 3 && p[2] == 0x01)   /* SSLv2 CLIENT-HELLO, RFC 6101 E.1 */
        return true;
    if (p[0] < 0x14 || p[0] > 0x18)
        return false;
    if (len >= 2 && p[1] != 0x03)
        return false;
    if (len >= 3 && p[2] > 0x04)
        return false;
    if (len >= 5) {
        size_t l = (size_t)p[3] << 8 | p[4];
        if (l == 0 || l > LIM_TLS_MAX_RECORD)   /* RFC 8446 5.2 */
            return false;
    }
    return true;
}

bool tls_conn_decrypting(const tls_conn *t, imap_dir dir)
{
    const tls_dir *d = &t->d[dir & 1];
    return d->decrypted_any && !d->undecryptable;
}

/* ---- JSON helpers ------------------------------------------------------------ */
static json_t *hex16(uint16_t v)
{
    char b[8];
    snprintf(b, sizeof b, "0x%04x", v);
    return json_string(b);
}

/* A cipher suite of the tls event: its IANA name (TLS Cipher Suites
 * registry, RFC 8446 B.4 / RFC 5246 A.5), or "0x%04x" when the table has
 * none (GREASE, RFC 8701; unassigned).  The name is one-to-one with the
 * code point, so the code is not repeated beside it (issue 10, item 3). */
static json_t *suite_str(uint16_t id)
{
    const char *n = tls_suite_name(id);
    return n ? json_string(n) : hex16(id);
}

static json_t *suite_json(uint16_t id)
{
    json_t *o = json_object();
    json_object_set_new_nocheck(o, "id", hex16(id));
    const char *n = tls_suite_name(id);
    if (n)
        json_object_set_new_nocheck(o, "name", json_string(n));
    return o;
}

/* Printable-ASCII JSON string of raw network bytes ('?' otherwise). */
static json_t *raw_str(const uint8_t *s, size_t n)
{
    char b[512];
    if (n > sizeof b)
        n = sizeof b;
    for (size_t i = 0; i < n; i++)
        b[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
    return json_stringn(b, n);
}

static json_t *hex_list(const uint16_t *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, hex16(v[i]));
    return a;
}

static void hexstr(const uint8_t *p, size_t n, char *out)
{
    imapi_hex_encode(p, n, out);
}

/* ---- handshake event ------------------------------------------------------------ */
static void emit_event(tls_conn *t)
{
    if (t->emitted || !t->have_ch)
        return;
    t->emitted = true;
    const tls_client_hello *ch = t->ch;
    json_t *e = json_object();
    char *ja3s = malloc(TLS_JA3_STR_MAX), *ja4r = malloc(TLS_JA4_R_MAX);
    char md5[33], ja4[TLS_JA4_MAX];
    char rnd[65];
    /* handshake > 1: a renegotiation (the alert tls_renegotiation says so) */
    json_object_set_new_nocheck(e, "handshake", json_integer(t->handshakes));
    hexstr(ch->random, 32, rnd);
    json_object_set_new_nocheck(e, "client_random", json_string(rnd));
    json_object_set_new_nocheck(e, "client_legacy_version", json_string(tls_version_name(ch->legacy_version)));
    if (ch->has_versions) {
        json_t *a = json_array();
        for (size_t i = 0; i < ch->n_versions; i++)
            json_array_append_new(a, tls_is_grease(ch->versions[i]) ? hex16(ch->versions[i])
                                                                     : json_string(tls_version_name(ch->versions[i])));
        json_object_set_new_nocheck(e, "client_versions", a);
    }
    if (ch->has_sni)
        json_object_set_new_nocheck(e, "sni", raw_str((const uint8_t *)ch->sni, ch->sni_len));
    if (ch->has_alpn) {
        json_t *a = json_array();
        size_t o = 0;
        while (o < ch->alpn_len) {
            size_t l = ch->alpn[o];
            if (o + 1 + l > ch->alpn_len)
                break;
            json_array_append_new(a, raw_str(ch->alpn + o + 1, l));
            o += 1 + l;
        }
        json_object_set_new_nocheck(e, "alpn_offered", a);
    }
    json_t *cs = json_array();
    for (size_t i = 0; i < ch->n_ciphers; i++)
        json_array_append_new(cs, suite_str(ch->ciphers[i]));
    json_object_set_new_nocheck(e, "cipher_suites_offered", cs);
    json_object_set_new_nocheck(e, "extensions_offered", hex_list(ch->exts, ch->n_exts));
    json_object_set_new_nocheck(e, "signature_algorithms", hex_list(ch->sigalgs, ch->n_sigalgs));
    json_object_set_new_nocheck(e, "supported_groups", hex_list(ch->groups, ch->n_groups));
    json_object_set_new_nocheck(e, "key_share_groups", hex_list(ch->key_shares, ch->n_key_shares));
    json_object_set_new_nocheck(e, "session_id_offered", json_boolean(ch->session_id_len > 0));
    json_object_set_new_nocheck(e, "session_ticket_offered", json_boolean(ch->session_ticket_nonempty));
    json_object_set_new_nocheck(e, "psk_offered", json_boolean(ch->has_psk));
    if (ch->has_early_data)
        json_object_set_new_nocheck(e, "early_data_offered", json_true());
    if (t->ch_v2)
        json_object_set_new_nocheck(e, "sslv2_client_hello", json_true());
    if (ja3s && ja4r && !t->ch_v2) {
        tls_ja3(ch, ja3s, TLS_JA3_STR_MAX, md5);
        json_object_set_new_nocheck(e, "ja3", json_string(md5));
        json_object_set_new_nocheck(e, "ja3_string", json_string(ja3s));
        if (t->handshakes == 1)
            memcpy(t->ja3, md5, 33);
        tls_ja4(ch, t->cfg.ja4_alpn, ja4, ja4r, TLS_JA4_R_MAX);
        json_object_set_new_nocheck(e, "ja4", json_string(ja4));
        json_object_set_new_nocheck(e, "ja4_r", json_string(ja4r));
        if (t->handshakes == 1)
            memcpy(t->ja4, ja4, sizeof ja4);
    }
    if (t->have_sh) {
        const tls_server_hello *sh = t->sh;
        json_object_set_new_nocheck(e, "version", json_string(tls_version_name(tls_server_hello_version(sh))));
        if (sh->hrr)
            json_object_set_new_nocheck(e, "hello_retry_request", json_true());
        json_object_set_new_nocheck(e, "server_legacy_version", json_string(tls_version_name(sh->legacy_version)));
        json_object_set_new_nocheck(e, "cipher_suite", suite_str(sh->cipher));
        if (sh->has_alpn)
            json_object_set_new_nocheck(e, "alpn", raw_str((const uint8_t *)sh->alpn, sh->alpn_len));
        if (sh->key_share_group)
            json_object_set_new_nocheck(e, "key_share_group", hex16(sh->key_share_group));
        /* extended_master_secret (0x0017, RFC 7627) and encrypt_then_mac
         * (0x0016, RFC 7366) are negotiated exactly when the server's list
         * has them: no booleans beside the list */
        json_object_set_new_nocheck(e, "server_extensions", hex_list(sh->exts, sh->n_exts));
        json_object_set_new_nocheck(e, "resumed", json_boolean(t->resumed));
        json_object_set_new_nocheck(e, "resumption", t->resumption ? json_string(t->resumption) : json_null());
        if (ja3s) {
            tls_ja3s(sh, ja3s, TLS_JA3_STR_MAX, md5);
            json_object_set_new_nocheck(e, "ja3s", json_string(md5));
            json_object_set_new_nocheck(e, "ja3s_string", json_string(ja3s));
            if (t->handshakes == 1)
                memcpy(t->ja3s, md5, 33);
        }
        bool keyed = t->d[0].have_cur || t->d[1].have_cur || t->d[0].have_pending || t->d[1].have_pending;
        json_object_set_new_nocheck(e, "keys_found", json_boolean(keyed));
    } else {
        json_object_set_new_nocheck(e, "server_hello_seen", json_false());
    }
    if (t->certs) {
        json_object_set_new_nocheck(e, "certificates", t->certs);
        t->certs = NULL;
    }
    free(ja3s);
    free(ja4r);
    if (t->cb.handshake)
        t->cb.handshake(t->user, e, t->ts);
    else
        json_decref(e);
}

/* ---- keys -------------------------------------------------------------------------- */
static void report_no_key(tls_conn *t, const char *what)
{
    if (!t->cfg.keylog || t->no_key_reported)
        return;
    t->no_key_reported = true;
    char rnd[65];
    hexstr(t->ch->random, 32, rnd);
    anomaly(t, -1, TLS_ANOM_NO_KEY, "%s missing for client random %s", what, rnd);
}

/* TLS 1.3: (re)key direction dir with the secret of label. */
static void key13(tls_conn *t, imap_dir dir, keylog_label label, uint8_t stage)
{
    tls_dir *d = &t->d[dir];
    d->encrypted = true;
    d->tls13_stage = stage;
    tls_rstate_free(&d->cur);
    d->have_cur = false;
    size_t sl = 0;
    const uint8_t *sec = t->cfg.keylog && t->have_ch ? keylog_lookup(t->cfg.keylog, label, t->ch->random, &sl) : NULL;
    if (!t->suite || !sec) {
        d->undecryptable = true;
        if (t->suite)
            report_no_key(t, keylog_label_name(label));
        return;
    }
    if (tls_rstate_init13(&d->cur, t->suite, sec, sl) < 0) {
        d->undecryptable = true;
        anomaly(t, dir, TLS_ANOM_UNSUPPORTED_CIPHER, "%s (secret length %zu)", t->suite->name, sl);
        return;
    }
    d->have_cur = true;
    d->undecryptable = false;
}

/* TLS <= 1.2: keys for the next CCS of each direction. */
static void keys12(tls_conn *t)
{
    for (int i = 0; i < 2; i++) {
        tls_rstate_free(&t->d[i].pending);
        t->d[i].have_pending = false;
    }
    if (!t->cfg.keylog)
        return;
    const tls_suite *s = t->suite;
    if (!s || !tls_suite_supported(s) || s->kind == TLS_CK_TLS13) {
        char id[8];
        snprintf(id, sizeof id, "0x%04x", t->sh->cipher);
        anomaly(t, -1, TLS_ANOM_UNSUPPORTED_CIPHER, "%s", s ? s->name : id);
        return;
    }
    const uint8_t *ms = keylog_lookup(t->cfg.keylog, KEYLOG_CLIENT_RANDOM, t->ch->random, NULL);
    if (!ms) {
        report_no_key(t, "CLIENT_RANDOM");
        return;
    }
    tls12_keys k;
    if (tls12_derive_keys(s, t->version, ms, t->ch->random, t->sh->random, &k) < 0)
        return;
    for (int i = 0; i < 2; i++)
        if (tls_rstate_init12(&t->d[i].pending, s, t->version, t->sh->has_etm, k.mac[i], k.key[i], k.iv[i]) == 0)
            t->d[i].have_pending = true;
    memset(&k, 0, sizeof k);
}

/* ---- handshake messages ------------------------------------------------------------ */
static void on_client_hello(tls_conn *t, imap_dir dir, const uint8_t *b, size_t n)
{
    if (!t->ch && !(t->ch = malloc(sizeof *t->ch)))
        return;
    if (t->have_ch)
        emit_event(t);   /* previous handshake, if still pending */
    bool after_hrr = t->hrr;
    hs_reset(t);
    t->handshakes++;
    if (t->handshakes > 1 && !after_hrr)
        anomaly(t, dir, TLS_ANOM_RENEGOTIATION, "handshake %u", t->handshakes);
    if (tls_client_hello_parse(b, n, t->ch) != TLS_HELLO_OK)
        anomaly(t, dir, TLS_ANOM_BAD_HANDSHAKE, "client_hello (%zu bytes)", n);
    t->have_ch = true;
    t->have_sh = false;
    if (t->handshakes == 1 && t->ch->has_sni)
        snprintf(t->sni, sizeof t->sni, "%s", t->ch->sni);
    if (t->ch->has_early_data)
        anomaly(t, dir, TLS_ANOM_EARLY_DATA, NULL);
}

static void on_server_hello(tls_conn *t, imap_dir dir, const uint8_t *b, size_t n)
{
    if (!t->have_ch) {   /* ServerHello without ClientHello (capture start) */
        if (!t->ch && !(t->ch = calloc(1, sizeof *t->ch)))
            return;
        memset(t->ch, 0, sizeof *t->ch);
        t->handshakes++;
    }
    if (!t->sh && !(t->sh = malloc(sizeof *t->sh)))
        return;
    if (tls_server_hello_parse(b, n, t->sh) != TLS_HELLO_OK) {
        anomaly(t, dir, TLS_ANOM_BAD_HANDSHAKE, "server_hello (%zu bytes)", n);
        return;
    }
    tls_server_hello *sh = t->sh;
    if (sh->hrr) {   /* RFC 8446 4.1.4: report it; a second ClientHello follows */
        t->hrr = true;
        t->have_sh = true;
        t->tls13 = true;
        emit_event(t);
        t->have_sh = false;
        return;
    }
    t->have_sh = true;
    t->version = tls_server_hello_version(sh);
    t->tls13 = t->version == 0x0304;
    t->suite = tls_suite_find(sh->cipher);
    if (t->handshakes == 1 && sh->has_alpn)
        snprintf(t->alpn, sizeof t->alpn, "%s", sh->alpn);
    const tls_client_hello *ch = t->ch;
    if (t->tls13) {
        t->resumed = sh->has_psk;
        t->resumption = sh->has_psk ? "psk" : NULL;
        if (t->cfg.keylog && (!t->suite || t->suite->kind != TLS_CK_TLS13 || !tls_suite_supported(t->suite))) {
            char id[8];
            snprintf(id, sizeof id, "0x%04x", sh->cipher);
            anomaly(t, -1, TLS_ANOM_UNSUPPORTED_CIPHER, "%s", t->suite ? t->suite->name : id);
            t->suite = NULL;
        }
        key13(t, 1, KEYLOG_SERVER_HANDSHAKE_TRAFFIC_SECRET, 1);
        key13(t, 0, KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET, 1);
        if (t->d[1].undecryptable)
            emit_event(t);   /* the rest of the handshake is invisible */
    } else {
        bool echo = sh->session_id_len && sh->session_id_len == ch->session_id_len &&
                    !memcmp(sh->session_id, ch->session_id, sh->session_id_len);
        if (echo) {
            t->resumed = true;
            t->resumption = ch->session_ticket_nonempty ? "session_ticket" : "session_id";
        }
        keys12(t);
    }
}

static void on_handshake_msg(tls_conn *t, imap_dir dir, uint8_t type, const uint8_t *b, size_t n)
{
    tls_dir *d = &t->d[dir];
    switch (type) {
    case 1:
        if (dir == 0)
            on_client_hello(t, dir, b, n);
        break;
    case 2:
        if (dir == 1)
            on_server_hello(t, dir, b, n);
        break;
    case 11:
        if (dir == 1 && t->have_sh && !t->emitted && !t->cfg.no_certificates) {
            bool bad = false, trunc = false;
            json_decref(t->certs);
            t->certs = tls_cert_chain_json(b, n, t->tls13, &bad, &trunc);
            if (bad)
                anomaly(t, dir, TLS_ANOM_BAD_HANDSHAKE, "certificate (%zu bytes)", n);
        }
        if (dir == 1)
            emit_event(t);
        break;
    case 14: /* server_hello_done */
        if (dir == 1)
            emit_event(t);
        break;
    case 20: /* finished */
        if (t->tls13 && d->tls13_stage == 1) {
            if (dir == 1)
                emit_event(t);
            key13(t, dir, dir ? KEYLOG_SERVER_TRAFFIC_SECRET_0 : KEYLOG_CLIENT_TRAFFIC_SECRET_0, 2);
        }
        break;
    case 24: /* key_update, RFC 8446 4.6.3 */
        if (t->tls13 && d->have_cur && d->tls13_stage == 2 && tls_rstate_key_update(&d->cur) < 0)
            d->undecryptable = true;
        break;
    default:
        break;
    }
}

/* Handshake bytes of one record (plaintext or decrypted). */
static void hs_feed(tls_conn *t, imap_dir dir, const uint8_t *p, size_t n)
{
    tls_dir *d = &t->d[dir];
    if (d->hs_broken)
        return;
    while (n > 0) {
        if (d->hs_skip) {
            size_t k = n < d->hs_skip ? n : d->hs_skip;
            d->hs_skip -= k;
            p += k;
            n -= k;
            continue;
        }
        /* collect at least the 4-byte header */
        size_t want = 4;
        if (d->hs_have >= 4) {
            size_t ml = (size_t)d->hs[1] << 16 | (size_t)d->hs[2] << 8 | d->hs[3];
            want = 4 + ml;
        }
        if (want > d->hs_alloc) {
            size_t na = d->hs_alloc ? d->hs_alloc : 1024;
            while (na < want)
                na *= 2;
            if (want - 4 > t->cfg.max_handshake) {
                anomaly(t, dir, TLS_ANOM_HANDSHAKE_TOO_LONG, "%s of %zu bytes",
                        tls_handshake_type_name(d->hs[0]), want - 4);
                d->hs_skip = want - d->hs_have;
                d->hs_have = 0;
                continue;
            }
            uint8_t *nb = realloc(d->hs, na);
            if (!nb) {
                d->hs_broken = true;
                return;
            }
            d->hs = nb;
            d->hs_alloc = na;
        }
        size_t k = want - d->hs_have;
        if (k > n)
            k = n;
        memcpy(d->hs + d->hs_have, p, k);
        d->hs_have += k;
        p += k;
        n -= k;
        if (d->hs_have >= 4) {
            size_t ml = (size_t)d->hs[1] << 16 | (size_t)d->hs[2] << 8 | d->hs[3];
            if (d->hs_have == 4 + ml) {
                d->hs_have = 0;
                on_handshake_msg(t, dir, d->hs[0], d->hs + 4, ml);
                if (d->hs_broken)
                    return;
            }
        }
    }
}

static void on_alert(tls_conn *t, imap_dir dir, const uint8_t *p, size_t n, bool encrypted)
{
    for (size_t i = 0; i + 2 <= n || (encrypted && i == 0); i += 2) {
        tls_alert_rec a = {(int8_t)dir, 0, 0, encrypted};
        if (!encrypted) {
            a.level = p[i];
            a.desc = p[i + 1];
        }
        if (t->n_alerts < TLS_MAX_ALERTS_KEPT)
            t->alerts[t->n_alerts++] = a;
        else
            t->alerts_dropped++;
        if (!encrypted && a.desc != 0)
            anomaly(t, dir, TLS_ANOM_ALERT, "%s %s (%u)", a.level == 2 ? "fatal" : a.level == 1 ? "warning" : "level?",
                    tls_alert_name(a.desc), a.desc);
        if (encrypted)
            break;
    }
}

/* Content of one record after any decryption. */
static void on_content(tls_conn *t, imap_dir dir, uint8_t type, const uint8_t *p, size_t n, bool decrypted)
{
    tls_dir *d = &t->d[dir];
    switch (type) {
    case CT_HANDSHAKE:
        hs_feed(t, dir, p, n);
        break;
    case CT_ALERT:
        on_alert(t, dir, p, n, false);
        break;
    case CT_APP:
        d->app_records++;
        d->app_bytes += n;
        if (decrypted) {
            d->plain_bytes += n;
            if (t->cb.plaintext && n)
                t->cb.plaintext(t->user, dir, p, n, t->ts);
        } else if (!t->have_ch && !t->have_sh && t->handshakes == 0) {
            /* the capture began after the handshake: counted, said once */
            if (!t->no_handshake_reported) {
                t->no_handshake_reported = true;
                anomaly(t, -1, t->midstream ? TLS_ANOM_MIDSTREAM : TLS_ANOM_HANDSHAKE_NOT_SEEN,
                        "first record %zu bytes", n);
            }
        } else if (!t->plaintext_reported[dir]) {
            t->plaintext_reported[dir] = true;
            anomaly(t, dir, TLS_ANOM_UNEXPECTED_PLAINTEXT, "%zu bytes (reported once per direction)", n);
        }
        break;
    case CT_HEARTBEAT:
        anomaly(t, dir, TLS_ANOM_HEARTBEAT, "%zu bytes", n);
        break;
    default:
        break;
    }
}

/* A protected record that cannot be read (no key, failure, lost). */
static void opaque_record(tls_conn *t, imap_dir dir, uint8_t type, size_t len)
{
    tls_dir *d = &t->d[dir];
    d->undecrypted_records++;
    if (type == CT_APP) {
        d->app_records++;
        d->app_bytes += len;
        if (d->decrypted_any && t->cb.plaintext_gap)
            t->cb.plaintext_gap(t->user, dir, len, t->ts);
    } else if (type == CT_ALERT) {
        on_alert(t, dir, NULL, 0, true);
    }
}

static int try_decrypt(tls_conn *t, tls_dir *d, size_t len, size_t *out_len, uint8_t *itype)
{
    if (!d->resync_trial)
        return tls_rstate_decrypt(&d->cur, d->hdr, d->rec, len, t->scratch, out_len, itype);
    /* after lost records: find the sequence number (AAD/MAC/nonce bind it) */
    uint64_t base = d->cur.seq;
    for (unsigned k = 0; k < TLS_RESYNC_SEQ_TRIES; k++) {
        d->cur.seq = base + k;
        if (tls_rstate_decrypt(&d->cur, d->hdr, d->rec, len, t->scratch, out_len, itype) == 0) {
            d->resync_trial = false;
            return 0;
        }
    }
    d->resync_trial = false;
    return -1;
}

/* One whole record: hdr in d->hdr, body in d->rec (unless rec_lost). */
static void on_record(tls_conn *t, imap_dir dir)
{
    tls_dir *d = &t->d[dir];
    uint8_t type = d->hdr[0];
    size_t len = d->rec_len;
    d->records++;
    if (type == CT_CCS) {
        /* RFC 8446 D.4: middlebox-compatibility CCS, no sequence number */
        if (t->tls13 || t->hrr)
            return;
        if (!t->have_sh) {
            bool offered13 = false;
            for (size_t i = 0; t->have_ch && i < t->ch->n_versions; i++)
                offered13 |= t->ch->versions[i] == 0x0304;
            if (!offered13)
                anomaly(t, dir, TLS_ANOM_UNEXPECTED_CCS, NULL);
            return;
        }
        d->encrypted = true;
        tls_rstate_free(&d->cur);
        d->have_cur = d->have_pending;
        if (d->have_pending) {
            d->cur = d->pending;
            memset(&d->pending, 0, sizeof d->pending);
            d->have_pending = false;
            d->undecryptable = false;
        } else {
            d->undecryptable = true;
        }
        if (d->zlib_on) {
            inflateEnd(&d->z);
            d->zlib_on = false;
        }
        if (t->sh->compression == 1) {   /* RFC 3749: one zlib stream per direction and key set */
            memset(&d->z, 0, sizeof d->z);
            if (!t->zbuf)
                t->zbuf = malloc(t->cfg.max_record);
            d->zlib_on = t->zbuf && inflateInit(&d->z) == Z_OK;
            if (!d->zlib_on)
                d->undecryptable = true;
        }
        if (dir == 1)
            emit_event(t);   /* resumption: no certificate in this handshake */
        return;
    }
    if (d->rec_lost) {
        if (t->tls13 && d->tls13_stage == 1 && !d->hs_broken) {
            d->hs_broken = true;   /* an encrypted handshake record is gone */
            anomaly(t, dir, TLS_ANOM_HANDSHAKE_LOST, NULL);
        }
        if (d->encrypted && d->have_cur) {
            if (d->cur.suite->kind == TLS_CK_STREAM || (d->cur.suite->kind == TLS_CK_CBC && d->cur.version < 0x0302))
                d->undecryptable = true;   /* cipher state lost with the record */
            else
                d->cur.seq++;
        } else if (type == CT_HANDSHAKE && !d->hs_broken) {
            d->hs_broken = true;
            anomaly(t, dir, TLS_ANOM_HANDSHAKE_LOST, NULL);
        }
        opaque_record(t, dir, type, len);
        return;
    }
    if (!d->encrypted) {
        if (type == CT_APP && t->tls13 && dir == 0 && t->ch && t->ch->has_early_data && !t->have_sh) {
            d->early_records++;   /* 0-RTT before the ServerHello */
            opaque_record(t, dir, type, len);
            return;
        }
        on_content(t, dir, type, d->rec, len, false);
        return;
    }
    if (d->undecryptable || !d->have_cur) {
        opaque_record(t, dir, type, len);
        return;
    }
    size_t out_len = 0;
    uint8_t itype = type;
    int rc = try_decrypt(t, d, len, &out_len, &itype);
    if (rc != 0 && t->tls13 && d->tls13_stage == 1 && d->hs_broken && !(dir == 0 && t->ch->has_early_data)) {
        /* Finished lost with the handshake bytes: try the application secret */
        key13(t, dir, dir ? KEYLOG_SERVER_TRAFFIC_SECRET_0 : KEYLOG_CLIENT_TRAFFIC_SECRET_0, 2);
        if (d->have_cur)
            rc = try_decrypt(t, d, len, &out_len, &itype);
    }
    if (rc != 0) {
        if (t->tls13 && dir == 0 && d->tls13_stage == 1 && t->ch->has_early_data && !d->decrypted_any) {
            d->cur.seq--;   /* accepted 0-RTT data under the early secret: skip */
            d->early_records++;
            opaque_record(t, dir, type, len);
            return;
        }
        anomaly(t, dir, TLS_ANOM_DECRYPT_FAILED, "%s record %llu (seq %llu, %zu bytes): %s",
                d->cur.suite->name, (unsigned long long)d->records, (unsigned long long)(d->cur.seq - 1), len,
                rc == -1 ? "authentication failed" : rc == -2 ? "malformed" : "internal error");
        d->undecryptable = true;
        opaque_record(t, dir, type, len);
        return;
    }
    const uint8_t *content = t->scratch;
    if (d->zlib_on) {   /* RFC 3749 2: each record is Z_SYNC_FLUSHed */
        d->z.next_in = t->scratch;
        d->z.avail_in = (uInt)out_len;
        d->z.next_out = t->zbuf;
        d->z.avail_out = (uInt)t->cfg.max_record;
        int zr = inflate(&d->z, Z_SYNC_FLUSH);
        if ((zr != Z_OK && zr != Z_BUF_ERROR && zr != Z_STREAM_END) || d->z.avail_in != 0) {
            anomaly(t, dir, TLS_ANOM_DECRYPT_FAILED, "record %llu: TLS compression (DEFLATE) error",
                    (unsigned long long)d->records);
            d->undecryptable = true;
            opaque_record(t, dir, type, len);
            return;
        }
        out_len = t->cfg.max_record - d->z.avail_out;
        content = t->zbuf;
    }
    d->decrypted_any = true;
    on_content(t, dir, itype, content, out_len, true);
}

/* SSLv2-format CLIENT-HELLO (RFC 6101 E.1, RFC 5246 E.2) in d->rec: the
 * challenge, left-padded with zeros to 32 bytes, is the client random. */
static void on_v2_hello(tls_conn *t, imap_dir dir)
{
    tls_dir *d = &t->d[dir];
    const uint8_t *p = d->rec;
    size_t n = d->rec_len;
    if (n < 9 || p[0] != 1) {
        anomaly(t, dir, TLS_ANOM_SSLV2, "not a CLIENT-HELLO");
        dir_set_state(d, DS_DEAD);
        return;
    }
    cursor c = cur_make(p, n);
    cur_skip(&c, 1);   /* msg_type */
    uint16_t version = cur_be16(&c);
    size_t csl = cur_be16(&c), sil = cur_be16(&c), chl = cur_be16(&c);
    const uint8_t *specs = cur_bytes(&c, csl);
    cur_skip(&c, sil);   /* session id */
    const uint8_t *challenge = cur_bytes(&c, chl);
    if (c.err || cur_left(&c) != 0 || chl < 16 || chl > 32 || csl % 3) {
        anomaly(t, dir, TLS_ANOM_SSLV2, "malformed CLIENT-HELLO");
        dir_set_state(d, DS_DEAD);
        return;
    }
    if (!t->ch && !(t->ch = calloc(1, sizeof *t->ch)))
        return;
    memset(t->ch, 0, sizeof *t->ch);
    t->ch->legacy_version = version;
    cursor cs = cur_make(specs, csl);   /* V2CipherSpec: 3 bytes each */
    while (cur_left(&cs) >= 3) {
        uint8_t hi = cur_u8(&cs);
        uint16_t lo = cur_be16(&cs);
        if (hi == 0 && t->ch->n_ciphers < TLS_HELLO_MAX_CIPHERS)
            t->ch->ciphers[t->ch->n_ciphers++] = lo;
    }
    memcpy(t->ch->random + 32 - chl, challenge, chl);
    hs_reset(t);
    t->handshakes++;
    t->have_ch = true;
    t->ch_v2 = true;
    anomaly(t, dir, TLS_ANOM_SSLV2, "%zu cipher specs", csl / 3);
    dir_set_state(d, DS_RECORDS);
}

/* ---- byte feeding ---------------------------------------------------------------------- */
static bool record_header_ok(const tls_conn *t, const uint8_t h[5])
{
    return h[0] >= CT_CCS && h[0] <= CT_HEARTBEAT && h[1] == 3 && h[2] <= 4;
}

static bool alloc_bufs(tls_conn *t, tls_dir *d)
{
    if (!d->rec && !(d->rec = malloc(t->cfg.max_record)))
        return false;
    if (!t->scratch && !(t->scratch = malloc(t->cfg.max_record)))
        return false;
    return true;
}

/* Header complete in d->hdr: validate and start the body. */
static void start_body(tls_conn *t, imap_dir dir)
{
    tls_dir *d = &t->d[dir];
    d->rec_len = (size_t)d->hdr[3] << 8 | d->hdr[4];
    d->rec_have = 0;
    d->rec_lost = false;
    if (d->rec_len > t->cfg.max_record) {
        anomaly(t, dir, TLS_ANOM_RECORD_TOO_LONG, "%zu bytes (type %u)", d->rec_len, d->hdr[0]);
        d->rec_lost = true;
    }
}

void tls_conn_await_record(tls_conn *t, imap_dir dir)
{
    tls_dir *d = &t->d[dir & 1];
    if (d->state == DS_START && d->bytes == 0)
        dir_set_state(d, DS_AWAIT);
}

uint64_t tls_conn_skipped(const tls_conn *t, imap_dir dir)
{
    return t ? t->d[dir & 1].skipped : 0;
}

void tls_conn_feed(tls_conn *t, imap_dir dir, const uint8_t *p, size_t n, uint64_t ts_us)
{
    dir &= 1;
    tls_dir *d = &t->d[dir];
    t->ts = ts_us;
    if (d->state == DS_DEAD)
        return;
    d->bytes += n;
    if (d->state == DS_AWAIT && n) {
        /* SPECS.md 6.2: slide a 5-byte window to the first handshake
         * record header (it may be split across pieces); what falls out
         * of the window is cleartext, not TLS; the record's bytes are
         * counted when fed on below */
        d->bytes -= n;
        while (n > 0 && d->hdr_have < 5) {
            d->hdr[d->hdr_have++] = *p++;
            n--;
            while (d->hdr_have > 0 && !(d->hdr[0] == CT_HANDSHAKE && tls_looks_like_record(d->hdr, d->hdr_have))) {
                memmove(d->hdr, d->hdr + 1, --d->hdr_have);
                d->skipped++;
            }
        }
        if (d->hdr_have < 5)
            return;
        /* a record header: the normal path takes it from the start */
        uint8_t hdr[5];
        memcpy(hdr, d->hdr, 5);
        d->hdr_have = 0;
        dir_set_state(d, DS_START);
        tls_conn_feed(t, dir, hdr, 5, ts_us);
        if (n > 0)
            tls_conn_feed(t, dir, p, n, ts_us);
        return;
    }
    if (d->state == DS_START && n) {
        if (!alloc_bufs(t, d)) {
            dir_set_state(d, DS_DEAD);
            return;
        }
        /* SSLv2-format ClientHello (RFC 6101 E.1): 2-byte header */
        dir_set_state(d, (p[0] & 0x80) && dir == 0 ? DS_V2HELLO : DS_RECORDS);
    }
    while (n > 0) {
        if (d->state == DS_V2HELLO) {
            if (d->hdr_have < 2) {
                d->hdr[d->hdr_have++] = *p++;
                n--;
                if (d->hdr_have == 2) {
                    d->rec_len = (size_t)(d->hdr[0] & 0x7f) << 8 | d->hdr[1];
                    d->rec_have = 0;
                    if (d->rec_len > t->cfg.max_record || d->rec_len == 0) {
                        anomaly(t, dir, TLS_ANOM_SSLV2, "length %zu", d->rec_len);
                        dir_set_state(d, DS_DEAD);
                        return;
                    }
                }
                continue;
            }
            size_t k = d->rec_len - d->rec_have;
            if (k > n)
                k = n;
            memcpy(d->rec + d->rec_have, p, k);
            d->rec_have += k;
            p += k;
            n -= k;
            if (d->rec_have == d->rec_len) {
                d->hdr_have = 0;
                d->records++;
                on_v2_hello(t, dir);
                if (d->state == DS_DEAD)
                    return;
            }
            continue;
        }
        if (d->state == DS_RESYNC) {
            /* slide a 5-byte window until a plausible header appears */
            d->hdr[d->hdr_have++] = *p++;
            n--;
            while (d->hdr_have > 0 && !tls_looks_like_record(d->hdr, d->hdr_have)) {
                memmove(d->hdr, d->hdr + 1, --d->hdr_have);
            }
            if (d->hdr_have == 5) {
                dir_set_state(d, DS_RECORDS);
                anomaly(t, dir, TLS_ANOM_RESYNC, "record type %u, %u bytes", d->hdr[0],
                        (unsigned)(d->hdr[3] << 8 | d->hdr[4]));
                if (d->encrypted && d->have_cur) {
                    if (d->cur.suite->kind == TLS_CK_STREAM ||
                        (d->cur.suite->kind == TLS_CK_CBC && d->cur.version < 0x0302))
                        d->undecryptable = true;
                    else
                        d->resync_trial = true;
                }
                d->hs_have = 0;
                d->hs_skip = 0;
                start_body(t, dir);
                if (d->rec_len == 0) {
                    d->hdr_have = 0;
                    on_record(t, dir);
                }
            }
            continue;
        }
        if (d->hdr_have < 5) {
            size_t k = 5 - d->hdr_have;
            if (k > n)
                k = n;
            memcpy(d->hdr + d->hdr_have, p, k);
            d->hdr_have += k;
            p += k;
            n -= k;
            if (d->hdr_have < 5)
                break;
            if (!record_header_ok(t, d->hdr)) {
                bool first = d->records == 0;
                anomaly(t, dir, first ? TLS_ANOM_NOT_TLS : TLS_ANOM_BAD_RECORD,
                        "header %02x %02x %02x %02x %02x", d->hdr[0], d->hdr[1], d->hdr[2], d->hdr[3], d->hdr[4]);
                if (first) {
                    dir_set_state(d, DS_DEAD);
                    return;
                }
                /* rescan from the second header byte */
                memmove(d->hdr, d->hdr + 1, 4);
                d->hdr_have = 4;
                while (d->hdr_have > 0 && !tls_looks_like_record(d->hdr, d->hdr_have))
                    memmove(d->hdr, d->hdr + 1, --d->hdr_have);
                dir_set_state(d, DS_RESYNC);
                if (d->encrypted && d->have_cur)
                    d->resync_trial = true;
                continue;
            }
            start_body(t, dir);
        }
        size_t k = d->rec_len - d->rec_have;
        if (k > n)
            k = n;
        if (!d->rec_lost)
            memcpy(d->rec + d->rec_have, p, k);
        d->rec_have += k;
        p += k;
        n -= k;
        if (d->rec_have == d->rec_len) {
            d->hdr_have = 0;
            on_record(t, dir);
            if (d->state == DS_DEAD)
                return;
        }
    }
}

void tls_conn_gap(tls_conn *t, imap_dir dir, uint64_t len, uint64_t ts_us)
{
    dir &= 1;
    tls_dir *d = &t->d[dir];
    t->ts = ts_us;
    if (d->state == DS_DEAD || len == 0)
        return;
    anomaly(t, dir, TLS_ANOM_GAP, "%llu bytes", (unsigned long long)len);
    if (d->state == DS_AWAIT) {   /* still before the first record */
        d->hdr_have = 0;
        return;
    }
    if (d->state == DS_START) {
        if (!alloc_bufs(t, d)) {
            dir_set_state(d, DS_DEAD);
            return;
        }
        dir_set_state(d, DS_RESYNC);
        d->hdr_have = 0;
        return;
    }
    if (d->state == DS_RECORDS && d->hdr_have == 5 && len <= d->rec_len - d->rec_have) {
        d->rec_lost = true;   /* sync kept: the record is lost */
        d->rec_have += (size_t)len;
        if (d->rec_have == d->rec_len) {
            d->hdr_have = 0;
            on_record(t, dir);
        }
        return;
    }
    /* sync lost: any partial record is gone */
    if (d->state == DS_RECORDS && d->hdr_have == 5) {
        d->records++;
        if (d->encrypted && d->have_cur) {
            if (d->cur.suite->kind == TLS_CK_STREAM || (d->cur.suite->kind == TLS_CK_CBC && d->cur.version < 0x0302))
                d->undecryptable = true;
            else
                d->resync_trial = true;
        }
        opaque_record(t, dir, d->hdr[0], d->rec_len);
    }
    if (!d->hs_broken && (!d->encrypted || (t->tls13 && d->tls13_stage == 1))) {
        d->hs_broken = true;
        anomaly(t, dir, TLS_ANOM_HANDSHAKE_LOST, NULL);
    }
    d->hdr_have = 0;
    dir_set_state(d, DS_RESYNC);
}

void tls_conn_end(tls_conn *t, uint64_t ts_us)
{
    t->ts = ts_us;
    for (int i = 0; i < 2; i++) {
        tls_dir *d = &t->d[i];
        if (d->state == DS_RECORDS && d->hdr_have > 0)
            anomaly(t, i, TLS_ANOM_TRUNCATED, "inside a record (%zu of %zu bytes)", d->hdr_have == 5 ? d->rec_have : 0,
                    d->hdr_have == 5 ? d->rec_len : 0);
        else if (d->hs_have > 0 && !d->hs_broken)
            anomaly(t, i, TLS_ANOM_TRUNCATED, "inside a handshake message (%zu bytes)", d->hs_have);
        d->hdr_have = 0;
        d->hs_have = 0;
    }
    emit_event(t);
}

json_t *tls_conn_summary(const tls_conn *t, bool detail)
{
    json_t *s = json_object();
    if (t->version)
        json_object_set_new_nocheck(s, "version", json_string(tls_version_name(t->version)));
    if (detail && (t->have_sh || t->handshakes > 1))
        json_object_set_new_nocheck(s, "cipher_suite", t->sh ? suite_json(t->sh->cipher) : json_null());
    if (t->sni[0])
        json_object_set_new_nocheck(s, "sni", raw_str((const uint8_t *)t->sni, strlen(t->sni)));
    if (t->alpn[0])
        json_object_set_new_nocheck(s, "alpn", raw_str((const uint8_t *)t->alpn, strlen(t->alpn)));
    json_object_set_new_nocheck(s, "decrypted", json_boolean(t->d[0].decrypted_any || t->d[1].decrypted_any));
    if (detail) {
        json_object_set_new_nocheck(s, "handshakes", json_integer(t->handshakes));
        json_object_set_new_nocheck(s, "resumed", json_boolean(t->resumed));
    }
    if (t->ja3[0])
        json_object_set_new_nocheck(s, "ja3", json_string(t->ja3));
    if (detail && t->ja3s[0])
        json_object_set_new_nocheck(s, "ja3s", json_string(t->ja3s));
    if (t->ja4[0])
        json_object_set_new_nocheck(s, "ja4", json_string(t->ja4));
    static const char *const dn[2] = {"client", "server"};
    for (int i = 0; detail && i < 2; i++) {
        const tls_dir *d = &t->d[i];
        json_t *o = json_object();
        json_object_set_new_nocheck(o, "records", json_integer((json_int_t)d->records));
        json_object_set_new_nocheck(o, "bytes", json_integer((json_int_t)d->bytes));
        json_object_set_new_nocheck(o, "app_records", json_integer((json_int_t)d->app_records));
        json_object_set_new_nocheck(o, "decrypted_bytes", json_integer((json_int_t)d->plain_bytes));
        json_object_set_new_nocheck(o, "undecrypted_records", json_integer((json_int_t)d->undecrypted_records));
        json_object_set_new_nocheck(o, "decrypting", json_boolean(tls_conn_decrypting(t, i)));
        json_object_set_new_nocheck(o, "state", json_string(dir_state_names[d->state]));
        json_object_set_new(s, dn[i], o);
    }
    json_t *al = json_array();
    for (unsigned i = 0; i < t->n_alerts; i++) {
        const tls_alert_rec *a = &t->alerts[i];
        json_t *o = json_object();
        json_object_set_new_nocheck(o, "from", json_string(dn[a->dir & 1]));
        if (a->encrypted) {
            json_object_set_new_nocheck(o, "encrypted", json_true());
        } else {
            json_object_set_new_nocheck(o, "level", json_string(a->level == 1 ? "warning" : a->level == 2 ? "fatal" : "unknown"));
            json_object_set_new_nocheck(o, "description", json_string(tls_alert_name(a->desc)));
            json_object_set_new_nocheck(o, "code", json_integer(a->desc));
        }
        json_array_append_new(al, o);
    }
    json_object_set_new_nocheck(s, "alerts", al);
    /* [{name, count}] like imap_session.anomalies: one shape, no field
     * path per anomaly name (issue 10) */
    json_t *an = json_array();
    for (int i = 0; i < TLS_ANOM_COUNT; i++)
        if (t->anom[i]) {
            json_t *e = json_object();
            json_object_set_new_nocheck(e, "name", json_string(anom_names[i]));
            json_object_set_new_nocheck(e, "count", json_integer((json_int_t)t->anom[i]));
            json_array_append_new(an, e);
        }
    json_object_set_new_nocheck(s, "anomalies", an);
    return s;
}
