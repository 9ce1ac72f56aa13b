/*
 * imap_sasl.c - SASL exchange decoding for AUTHENTICATE (see imap_sasl.h).
 *
 * Every step is base64 (RFC 9051 6.2.2: "The client response consists of a
 * single line consisting of a BASE64 encoded string"; RFC 4959 3 for the
 * initial response, "=" being an empty one).  The decoded bytes are looked
 * at through {p, end} cursors only, never past IMAP_SASL_MAX_DECODED.
 */
#include "imap_sasl.h"
#include "imap_core_util.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* base64 (RFC 4648 4): imapi_base64_decode in imap_util.c */
/* ---- helpers ---- */

/* The sasl object has one small shape for every mechanism (issue 10: at
 * most 400 field paths): the members below that mean the same thing in
 * every mechanism, plus counters and flags set directly (client_steps,
 * server_steps, cancelled, plain_text, iterations, ntlm_last_type,
 * client_token_bytes).  Every other, mechanism-specific string value
 * (DIGEST-MD5's keys are network data) is a {name, value} pair in
 * "params", set once per name (a later value replaces it). */
static bool fixed_member(const char *key)
{
    static const char *const fixed[] = { "user", "authzid", "realm", "password", "error", NULL };
    for (size_t i = 0; fixed[i]; i++)
        if (strcmp(key, fixed[i]) == 0)
            return true;
    return false;
}

static void put(imap_sasl *x, const char *key, imap_node *v)
{
    if (!v)
        return;
    if (fixed_member(key)) {
        imapi_object_set_new(x->info, key, v);
        return;
    }
    imap_node *ps = imapi_object_get(x->info, "params");
    if (!ps) {
        ps = imapi_array();
        imapi_object_set_new_nocheck(x->info, "params", ps);
    }
    for (size_t i = 0; i < imapi_array_size(ps); i++) {
        imap_node *e = imapi_array_get(ps, i);
        const char *n = imapi_string_value(imapi_object_get(e, "name"));
        if (n && strcmp(n, key) == 0) {
            imapi_object_set_new_nocheck(e, "value", v);
            return;
        }
    }
    imap_node *name = imapi_string(key);
    if (!name) {
        imapi_decref(v);
        return;
    }
    imap_node *e = imapi_object();
    imapi_object_set_new_nocheck(e, "name", name);
    imapi_object_set_new_nocheck(e, "value", v);
    imapi_array_append_new(ps, e);
}

static void set_bytes(imap_sasl *x, const char *key, const void *p, size_t len)
{
    put(x, key, imapi_core_json_bytes(p, len, 1024));
}

static void set_secret(imap_sasl *x, const char *key, const void *p, size_t len)
{
    if (x->show_credentials)
        set_bytes(x, key, p, len);
    else
        put(x, key, imapi_string(IMAP_SASL_REDACTED));
}

static bool mech_is(const imap_sasl *x, const char *m)
{
    return strcmp(x->mechanism, m) == 0;
}

static bool mech_prefix(const imap_sasl *x, const char *m)
{
    return strncmp(x->mechanism, m, strlen(m)) == 0;
}

/* Splits p..end at the first sep: returns the field end. */
static const uint8_t *field_end(const uint8_t *p, const uint8_t *end, uint8_t sep)
{
    const uint8_t *q = memchr(p, sep, (size_t)(end - p));
    return q ? q : end;
}

/* ---- PLAIN (RFC 4616 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd) ---- */
static void decode_plain(imap_sasl *x, const uint8_t *p, const uint8_t *end)
{
    const uint8_t *e1 = field_end(p, end, 0);
    if (e1 == end) {
        imapi_object_set_new_nocheck(x->info, "error", imapi_string("PLAIN message without NUL separators"));
        return;
    }
    const uint8_t *a = e1 + 1;
    const uint8_t *e2 = field_end(a, end, 0);
    if (e2 == end) {
        /* one NUL only: "user NUL password" or "NUL password"; which
         * field is which cannot be told, and one may be the password */
        imapi_object_set_new_nocheck(x->info, "error", imapi_string("PLAIN message with one NUL separator"));
        if (!x->show_credentials)
            return;
    }
    if (e1 > p)
        set_bytes(x, "authzid", p, (size_t)(e1 - p));
    set_bytes(x, "user", a, (size_t)(e2 - a));
    if (e2 < end)
        set_secret(x, "password", e2 + 1, (size_t)(end - e2 - 1));
}

/* ---- LOGIN: client response 1 = user name, 2 = password ---- */
static void decode_login_client(imap_sasl *x, const uint8_t *p, const uint8_t *end)
{
    if (x->client_steps == 1)
        set_bytes(x, "user", p, (size_t)(end - p));
    else if (x->client_steps == 2)
        set_secret(x, "password", p, (size_t)(end - p));
}

/* ---- CRAM-MD5 (RFC 2195 2): challenge msg-id; response "user SP digest" ---- */
static void decode_cram_client(imap_sasl *x, const uint8_t *p, const uint8_t *end)
{
    const uint8_t *sp = NULL;
    for (const uint8_t *q = p; q < end; q++)
        if (*q == ' ')
            sp = q;
    if (!sp) {
        set_bytes(x, "user", p, (size_t)(end - p));
        return;
    }
    set_bytes(x, "user", p, (size_t)(sp - p));
    set_secret(x, "digest", sp + 1, (size_t)(end - sp - 1));
}

/* ---- DIGEST-MD5 (RFC 2831 2.1.1/2.1.2): comma-separated key=value, values
 * token or quoted-string ---- */
static void decode_digest_kv(imap_sasl *x, const uint8_t *p, const uint8_t *end, bool client)
{
    static const char *const secret_keys[] = { "response", "rspauth", NULL };
    char key[32], val[512];
    while (p < end) {
        while (p < end && (*p == ',' || *p == ' ' || *p == '\t'))
            p++;
        size_t kl = 0;
        while (p < end && *p != '=' && *p != ',') {
            if (kl < sizeof key - 1)
                key[kl++] = (char)tolower(*p);
            p++;
        }
        key[kl] = '\0';
        if (p >= end || *p != '=')
            continue;
        p++;
        size_t vl = 0;
        if (p < end && *p == '"') {
            p++;
            while (p < end && *p != '"') {
                if (*p == '\\' && end - p > 1)
                    p++;
                if (vl < sizeof val)
                    val[vl++] = (char)*p;
                p++;
            }
            if (p < end)
                p++;
        } else {
            while (p < end && *p != ',') {
                if (vl < sizeof val)
                    val[vl++] = (char)*p;
                p++;
            }
        }
        if (kl == 0)
            continue;
        /* JSON keys: digest-uri -> digest_uri */
        for (size_t i = 0; i < kl; i++)
            if (key[i] == '-')
                key[i] = '_';
        bool secret = false;
        for (size_t i = 0; secret_keys[i]; i++)
            if (strcmp(key, secret_keys[i]) == 0)
                secret = true;
        const char *jkey = key;
        if (client && strcmp(key, "username") == 0)
            jkey = "user";
        else if (!client && strcmp(key, "nonce") == 0)
            jkey = "nonce";
        if (strcmp(key, "authzid") == 0)
            jkey = "authzid";
        if (secret)
            set_secret(x, jkey, val, vl);
        else
            set_bytes(x, jkey, val, vl);
    }
}

/* ---- SCRAM (RFC 5802 7) ---- */

/* saslname: "=2C" is ",", "=3D" is "=" (RFC 5802 5.1). */
static void set_saslname(imap_sasl *x, const char *key, const uint8_t *p, const uint8_t *end)
{
    char buf[512];
    size_t n = 0;
    while (p < end && n < sizeof buf) {
        if (*p == '=' && end - p >= 3 && p[1] == '2' && (p[2] == 'C' || p[2] == 'c')) {
            buf[n++] = ',';
            p += 3;
        } else if (*p == '=' && end - p >= 3 && p[1] == '3' && (p[2] == 'D' || p[2] == 'd')) {
            buf[n++] = '=';
            p += 3;
        } else {
            buf[n++] = (char)*p++;
        }
    }
    set_bytes(x, key, buf, n);
}

/* Walks the "k=value" attributes of a SCRAM message. */
static void decode_scram_attrs(imap_sasl *x, const uint8_t *p, const uint8_t *end, bool client)
{
    while (p < end) {
        const uint8_t *fe = field_end(p, end, ',');
        if (fe - p >= 2 && p[1] == '=') {
            const uint8_t *v = p + 2;
            size_t vl = (size_t)(fe - v);
            switch (p[0]) {
            case 'n': set_saslname(x, "user", v, fe); break;
            case 'a': set_saslname(x, "authzid", v, fe); break;
            case 'r': set_bytes(x, client ? (x->client_steps <= 1 ? "client_nonce" : "nonce") : "server_nonce", v, vl); break;
            case 's': set_bytes(x, "salt", v, vl); break;
            case 'i': {
                long long it = 0;
                for (const uint8_t *q = v; q < fe && it < 1000000000LL; q++)
                    if (*q >= '0' && *q <= '9')
                        it = it * 10 + (*q - '0');
                imapi_object_set_new_nocheck(x->info, "iterations", imapi_integer(it));
                break;
            }
            case 'c': set_bytes(x, "channel_binding", v, vl); break;
            case 'p': set_secret(x, "proof", v, vl); break;
            case 'v': set_secret(x, "verifier", v, vl); break;
            case 'e': set_bytes(x, "error", v, vl); break;
            default: break;
            }
        }
        p = fe < end ? fe + 1 : end;
    }
}

/* Client-first (RFC 5802 7): gs2-header = gs2-cbind-flag "," [authzid] ","
 * then client-first-message-bare. */
static void decode_scram_client(imap_sasl *x, const uint8_t *p, const uint8_t *end)
{
    if (x->client_steps == 1) {
        const uint8_t *f1 = field_end(p, end, ',');
        set_bytes(x, "gs2_cbind_flag", p, (size_t)(f1 - p));
        if (f1 == end)
            return;
        p = f1 + 1;
        const uint8_t *f2 = field_end(p, end, ',');
        if (f2 - p > 2 && p[0] == 'a' && p[1] == '=')
            set_saslname(x, "authzid", p + 2, f2);
        p = f2 < end ? f2 + 1 : end;
    }
    decode_scram_attrs(x, p, end, true);
}

/* ---- XOAUTH2: "user=" user ^A "auth=Bearer " token ^A ^A ----
 * ---- OAUTHBEARER (RFC 7628 3.1): gs2-header ^A *(kvpair ^A) ^A ---- */
static void decode_oauth_client(imap_sasl *x, const uint8_t *p, const uint8_t *end, bool oauthbearer)
{
    if (oauthbearer) {
        const uint8_t *f1 = field_end(p, end, 0x01);
        /* gs2-header "n,a=user@example.com," */
        const uint8_t *q = p;
        while (q < f1) {
            const uint8_t *fe = field_end(q, f1, ',');
            if (fe - q > 2 && q[0] == 'a' && q[1] == '=')
                set_saslname(x, "user", q + 2, fe);
            q = fe < f1 ? fe + 1 : f1;
        }
        p = f1 < end ? f1 + 1 : end;
    }
    while (p < end) {
        const uint8_t *fe = field_end(p, end, 0x01);
        const uint8_t *eq = field_end(p, fe, '=');
        if (eq < fe) {
            size_t kl = (size_t)(eq - p);
            const uint8_t *v = eq + 1;
            size_t vl = (size_t)(fe - v);
            if (kl == 4 && memcmp(p, "user", 4) == 0) {
                set_bytes(x, "user", v, vl);
            } else if (kl == 4 && memcmp(p, "auth", 4) == 0) {
                if (vl >= 7 && strncasecmp((const char *)v, "Bearer ", 7) == 0)
                    put(x, "auth_scheme", imapi_string("Bearer"));
                set_secret(x, "token", v, vl);
            } else if (kl == 4 && memcmp(p, "host", 4) == 0) {
                set_bytes(x, "host", v, vl);
            } else if (kl == 4 && memcmp(p, "port", 4) == 0) {
                set_bytes(x, "port", v, vl);
            }
        }
        p = fe < end ? fe + 1 : end;
    }
}

/* ---- NTLM (MS-NLMP 2.2.1): "NTLMSSP\0", u32le MessageType ---- */

static uint32_t get_le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t get_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* A security buffer (u16 len, u16 maxlen, u32 offset) at off; string as
 * UTF-16LE (unicode) or OEM bytes.  Adds key when non-empty and in bounds. */
static void ntlm_string(imap_sasl *x, const char *key, const uint8_t *msg, size_t mlen,
                        size_t off, bool unicode, bool secret)
{
    if (off + 8 > mlen)
        return;
    size_t len = get_le16(msg + off);
    size_t at = get_le32(msg + off + 4);
    if (len == 0 || at > mlen || len > mlen - at)
        return;
    if (secret) {
        set_secret(x, key, "", 0);
        if (x->show_credentials) {
            char hex[2 * 256 + 1];
            size_t n = len > 256 ? 256 : len;
            imapi_hex_encode(msg + at, n, hex);
            put(x, key, imapi_string(hex));
        }
        return;
    }
    if (!unicode) {
        set_bytes(x, key, msg + at, len);
        return;
    }
    char out[512];
    size_t o = 0;
    for (size_t i = 0; i + 1 < len && o + 4 < sizeof out; i += 2) {
        uint32_t cp = get_le16(msg + at + i);
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 3 < len) {
            uint32_t lo = get_le16(msg + at + i + 2);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 2;
            }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF)
            cp = 0xFFFD;
        o += imapi_utf8_put(cp, (uint8_t *)out + o); /* cp <= U+10FFFF */
    }
    set_bytes(x, key, out, o);
}

static void decode_ntlm(imap_sasl *x, const uint8_t *p, const uint8_t *end)
{
    size_t len = (size_t)(end - p);
    if (len < 12 || memcmp(p, "NTLMSSP\0", 8) != 0) {
        imapi_object_set_new_nocheck(x->info, "error", imapi_string("not an NTLMSSP message"));
        return;
    }
    uint32_t type = get_le32(p + 8);
    imapi_object_set_new_nocheck(x->info, "ntlm_last_type", imapi_integer(type));
    if (type == 1 && len >= 16) {
        uint32_t flags = get_le32(p + 12);
        if (flags & 0x1000)  /* NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED */
            ntlm_string(x, "domain", p, len, 16, false, false);
        if (flags & 0x2000)  /* NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED */
            ntlm_string(x, "host", p, len, 24, false, false);
    } else if (type == 2 && len >= 32) {
        uint32_t flags = get_le32(p + 20);
        ntlm_string(x, "target", p, len, 12, flags & 1, false);
        char hex[17];
        imapi_hex_encode(p + 24, 8, hex);
        put(x, "challenge", imapi_string(hex));
    } else if (type == 3 && len >= 52) {
        bool unicode = true;
        if (len >= 64)
            unicode = (get_le32(p + 60) & 1) != 0; /* NTLMSSP_NEGOTIATE_UNICODE */
        ntlm_string(x, "lm_response", p, len, 12, false, true);
        ntlm_string(x, "nt_response", p, len, 20, false, true);
        ntlm_string(x, "domain", p, len, 28, unicode, false);
        ntlm_string(x, "user", p, len, 36, unicode, false);
        ntlm_string(x, "host", p, len, 44, unicode, false);
    }
}

/* ---- public ---- */

void imapi_sasl_init(imap_sasl *x, const char *mech, size_t mech_len, bool show_credentials)
{
    memset(x, 0, sizeof *x);
    size_t n = mech_len < sizeof x->mechanism - 1 ? mech_len : sizeof x->mechanism - 1;
    for (size_t i = 0; i < n; i++)
        x->mechanism[i] = (char)toupper((unsigned char)mech[i]);
    x->mechanism[n] = '\0';
    x->show_credentials = show_credentials;
    x->info = imapi_object();
}

static void count_steps(imap_sasl *x)
{
    if (!x->info)
        return;
    /* the server's steps are the transaction's "continuations" */
    imapi_object_set_new_nocheck(x->info, "client_steps", imapi_integer(x->client_steps));
}

int imapi_sasl_client(imap_sasl *x, const char *b64, size_t len)
{
    if (!x->info)
        return 0;
    if (len == 1 && b64[0] == '*') { /* RFC 9051 6.2.2: cancel */
        x->cancelled = true;
        imapi_object_set_new_nocheck(x->info, "cancelled", imapi_true());
        return 0;
    }
    x->client_steps++;
    count_steps(x);
    uint8_t buf[IMAP_SASL_MAX_DECODED];
    size_t n = 0;
    if (x->plain_prompts && mech_is(x, "LOGIN")) {
        /* The server prompted "+ User Name" in plain text (against RFC 9051
         * 6.2.2, but some servers do), and such clients answer in plain
         * text too: the raw line is the user name, then the password.
         * Decoding it as base64 would give garbage. */
        const uint8_t *raw = (const uint8_t *)b64;
        decode_login_client(x, raw, raw + len);
        imapi_object_set_new_nocheck(x->info, "plain_text", imapi_true());
        return 0;
    }
    if (!(len == 1 && b64[0] == '=')) { /* RFC 4959 3: "=" is an empty response */
        if (imapi_base64_decode(b64, len, buf, sizeof buf, &n) < 0) {
            imapi_object_set_new_nocheck(x->info, "error", imapi_string("invalid base64"));
            return -1;
        }
    }
    const uint8_t *p = buf, *end = buf + n;
    if (mech_is(x, "PLAIN"))
        decode_plain(x, p, end);
    else if (mech_is(x, "LOGIN"))
        decode_login_client(x, p, end);
    else if (mech_is(x, "CRAM-MD5"))
        decode_cram_client(x, p, end);
    else if (mech_is(x, "DIGEST-MD5"))
        decode_digest_kv(x, p, end, true);
    else if (mech_prefix(x, "SCRAM-"))
        decode_scram_client(x, p, end);
    else if (mech_is(x, "XOAUTH2"))
        decode_oauth_client(x, p, end, false);
    else if (mech_is(x, "OAUTHBEARER"))
        decode_oauth_client(x, p, end, true);
    else if (mech_is(x, "NTLM"))
        decode_ntlm(x, p, end);
    else if (mech_is(x, "EXTERNAL") && n > 0)
        set_bytes(x, "authzid", p, n);       /* RFC 4422 A.1 */
    else if (mech_is(x, "ANONYMOUS") && n > 0)
        set_bytes(x, "trace", p, n);         /* RFC 4505 2 */
    else if (n > 0) {
        imap_node *tb = imapi_object_get(x->info, "client_token_bytes");
        imapi_object_set_new_nocheck(x->info, "client_token_bytes",
                            imapi_integer((int64_t)n + (tb ? imapi_integer_value(tb) : 0)));
    }
    return 0;
}

int imapi_sasl_server(imap_sasl *x, const char *b64, size_t len)
{
    if (!x->info)
        return 0;
    x->server_steps++;
    count_steps(x);
    uint8_t buf[IMAP_SASL_MAX_DECODED];
    size_t n = 0;
    if (x->plain_prompts && mech_is(x, "LOGIN")) {
        /* after a first prompt in plain text, the next ones are too
         * ("Password" happens to be valid base64) */
        char key[24];
        snprintf(key, sizeof key, "prompt%u", x->server_steps);
        set_bytes(x, key, b64, len);
        return 0;
    }
    if (len > 0 && imapi_base64_decode(b64, len, buf, sizeof buf, &n) < 0) {
        /* Some servers send text ("+ go ahead"): keep it as a note. */
        set_bytes(x, "server_text", b64, len);
        if (mech_is(x, "LOGIN"))
            x->plain_prompts = true;
        return -1;
    }
    const uint8_t *p = buf, *end = buf + n;
    if (mech_is(x, "CRAM-MD5"))
        set_bytes(x, "challenge", p, n);
    else if (mech_is(x, "DIGEST-MD5"))
        decode_digest_kv(x, p, end, false);
    else if (mech_prefix(x, "SCRAM-"))
        decode_scram_attrs(x, p, end, false);
    else if (mech_is(x, "NTLM") && n > 0)
        decode_ntlm(x, p, end);
    else if ((mech_is(x, "XOAUTH2") || mech_is(x, "OAUTHBEARER")) && n > 0)
        set_bytes(x, "error", p, n);        /* RFC 7628 3.2.2: JSON error */
    else if (mech_is(x, "LOGIN") && n > 0) {
        char key[24];
        snprintf(key, sizeof key, "prompt%u", x->server_steps);
        set_bytes(x, key, p, n);
    }
    return 0;
}

const imap_node *imapi_sasl_info(const imap_sasl *x)
{
    return x->info;
}

const char *imapi_sasl_user(const imap_sasl *x)
{
    if (!x->info)
        return NULL;
    return imapi_string_value(imapi_object_get(x->info, "user"));
}

bool imapi_sasl_mech_is_cleartext(const char *mech, size_t len)
{
    static const char *const clear[] = { "PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER", NULL };
    for (size_t i = 0; clear[i]; i++)
        if (strlen(clear[i]) == len && strncasecmp(mech, clear[i], len) == 0)
            return true;
    return false;
}

void imapi_sasl_clear(imap_sasl *x)
{
    imapi_decref(x->info);
    x->info = NULL;
}
