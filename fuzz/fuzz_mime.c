/*
 * fuzz_mime.c - libFuzzer target for the mail parser (src/mail.h):
 * hostile MIME through GMime, the file parts, hashes and types, and the
 * per-connection assembly (literal sink, partial joins, caps).
 *
 * Input: byte 0 = bit 0: the bytes were cut (truncated), bit 1: gaps,
 * bit 2: as two partials, bit 3: as a body part BINARY[2] (one fileinfo),
 * bits 2-7 also the split seed; the rest is one message.  Run twice: mail_parse on
 * the whole message, then the same bytes through a mail_conn as a FETCH
 * literal in pieces (a small --max-mail-bytes of 1 KiB, so the cap is
 * reached), half as BODY[]<0> and BODY[]<n> partials.  Checked: the parse
 * returns -1, 0 or 1; at most MAIL_MAX_PARTS files, each with a state,
 * a size within MAIL_MAX_PART_BYTES and hex hashes of the right length
 * (the sha256 equal to the hash of the bytes handed out); every event
 * body serialises; one email per message.
 *
 * Build: make fuzz (build-fuzz/fuzz_mime).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "mail.h"

static void check_hex(const json_t *o, const char *k, size_t n)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (!s || strlen(s) != n || strspn(s, "0123456789abcdef") != n)
        __builtin_trap();
}

typedef struct fctx {
    unsigned files;
} fctx;

static void on_file(void *user, json_t *fi, const uint8_t *data, size_t len)
{
    fctx *f = user;
    uint8_t h[32];
    unsigned hl = 0;
    char hx[65];

    f->files++;
    if (f->files > MAIL_MAX_PARTS || len > MAIL_MAX_PART_BYTES)
        __builtin_trap();
    check_hex(fi, "md5", 32);
    check_hex(fi, "sha1", 40);
    check_hex(fi, "sha256", 64);
    EVP_Digest(data, len, h, &hl, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++) {
        hx[2 * i] = "0123456789abcdef"[h[i] >> 4];
        hx[2 * i + 1] = "0123456789abcdef"[h[i] & 15];
    }
    hx[64] = '\0';
    if (strcmp(hx, json_string_value(json_object_get(fi, "sha256"))) != 0)
        __builtin_trap();
    if ((json_int_t)len != json_integer_value(json_object_get(fi, "size")))
        __builtin_trap();
    if (!json_string_value(json_object_get(fi, "state")))
        __builtin_trap();
    char *s = json_dumps(fi, 0);
    if (!s)
        __builtin_trap();
    free(s);
    json_decref(fi);
}

typedef struct ectx {
    unsigned emails, files;
} ectx;

static void on_emit(void *user, const char *type, uint64_t ts, json_t *body)
{
    ectx *e = user;
    (void)ts;
    if (!strcmp(type, "email"))
        e->emails++;
    else if (!strcmp(type, "fileinfo"))
        e->files++;
    char *s = json_dumps(body, 0);
    if (!s)
        __builtin_trap();
    free(s);
    json_decref(body);
}

static void feed(mail_conn *mc, const char *section, const uint8_t *d, size_t n, bool partial, uint64_t origin,
                 uint32_t *x)
{
    imap_literal_info li;
    memset(&li, 0, sizeof li);
    li.dir = IMAP_DIR_SERVER;
    li.kind = IMAP_LITERAL_FETCH;
    li.size = n;
    li.tag = "*";
    li.command = "FETCH";
    li.seq = 1;
    li.has_uid = true;
    li.uid = 9;
    li.section = section;
    li.mailbox = "INBOX";
    li.has_origin = partial;
    li.origin = origin;
    mail_literal_begin(mc, &li, 1);
    size_t off = 0;
    while (off < n) {
        *x ^= *x << 13, *x ^= *x >> 17, *x ^= *x << 5;
        size_t piece = 1 + *x % 512;
        if (piece > n - off)
            piece = n - off;
        mail_literal_data(mc, IMAP_DIR_SERVER, d + off, piece);
        off += piece;
    }
    mail_literal_end(mc, IMAP_DIR_SERVER, true, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    data++, size--;

    json_t *email = json_object();
    fctx f = { 0 };
    int rc = mail_parse(data, size, flags & 1, flags & 2, email, on_file, &f);
    if (rc < -1 || rc > 1)
        __builtin_trap();
    char *s = json_dumps(email, 0);
    if (!s)
        __builtin_trap();
    free(s);
    json_decref(email);

    mail_config cfg;
    mail_config_default(&cfg);
    cfg.enabled = true;
    cfg.max_mail_bytes = 1024;
    mail_stats st;
    memset(&st, 0, sizeof st);
    ectx e = { 0 };
    mail_conn *mc = mail_conn_new(&cfg, &st, on_emit, &e);
    if (!mc)
        return 0;
    uint32_t x = (flags >> 2) * 2654435761u + 1u;
    if (flags & 8) {
        /* a body part fetched on its own: BINARY[2] is a file as it is */
        feed(mc, "BINARY[2]", data, size, false, 0, &x);
        imap_transaction t;
        memset(&t, 0, sizeof t);
        t.tag = (imap_span){ "F1", 2 };
        t.command = IMAP_CMD_FETCH;
        t.command_name = (imap_span){ "FETCH", 5 };
        mail_transaction(mc, &t, 2);
        mail_flush(mc, 2);
        if (e.files != 1)
            __builtin_trap();
    } else if (flags & 4) {
        size_t half = size / 2;
        feed(mc, "BODY[]", data, half, true, 0, &x);
        feed(mc, "BODY[]", data + half, size - half, true, half, &x);
    } else {
        feed(mc, "BODY[]", data, size, false, 0, &x);
    }
    mail_conn_end(mc, 2);
    /* one message; two when its first partial was empty (a {0} ends a join) */
    if (e.emails > ((flags & 4) && size / 2 == 0 ? 2u : 1u))
        __builtin_trap();
    mail_conn_free(mc);
    return 0;
}
