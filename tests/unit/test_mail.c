/*
 * test_mail.c - src/mail.c and src/extract.c: messages built here, byte
 * for byte, then parsed: attachments' decoded SHA-256 against the bytes
 * the test encoded, RFC 2231 and RFC 2047 filenames, RFC 2047 subjects in
 * windows-1252, ISO-8859-15, KOI8-R, ISO-2022-JP, GB2312 and Shift_JIS
 * (the encoded words are made with iconv from known UTF-8 text), partial
 * fetches joined, the memory cap (truncated, counted), deep nesting, an
 * unclosed boundary with base64 garbage, and --extract-dir (dedup, caps,
 * types, modes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <iconv.h>
#include <openssl/evp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extract.h"
#include "line_helper.h" /* lh_node: a decoded response tree */
#include "mail.h"

/* ---- helpers ---- */

static void sha256_hex(const void *d, size_t n, char out[65])
{
    uint8_t h[32];
    unsigned hl = 0;
    EVP_Digest(d, n, h, &hl, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", h[i]);
}

/* base64 in lines of 76 characters (RFC 2045 6.8) */
static char *b64_lines(const uint8_t *d, size_t n)
{
    size_t cap = n * 2 + 16, o = 0;
    char *out = malloc(cap);
    for (size_t i = 0; i < n; i += 57) {
        size_t k = n - i < 57 ? n - i : 57;
        o += (size_t)EVP_EncodeBlock((unsigned char *)out + o, d + i, (int)k);
        out[o++] = '\r';
        out[o++] = '\n';
    }
    out[o] = '\0';
    return out;
}

static char *b64(const uint8_t *d, size_t n)
{
    char *out = malloc(n * 2 + 8);
    EVP_EncodeBlock((unsigned char *)out, d, (int)n);
    return out;
}

/* UTF-8 text in charset cs (iconv) */
static size_t to_charset(const char *cs, const char *utf8, char *out, size_t cap)
{
    iconv_t cd = iconv_open(cs, "UTF-8");
    assert_true(cd != (iconv_t)-1);
    char *in = (char *)utf8, *o = out;
    size_t il = strlen(utf8), ol = cap;
    assert_true(iconv(cd, &in, &il, &o, &ol) != (size_t)-1);
    iconv(cd, NULL, NULL, &o, &ol); /* the shift back (ISO-2022-JP) */
    iconv_close(cd);
    return cap - ol;
}

typedef struct files {
    json_t *list;
} files;

static void collect(void *user, json_t *fi, const uint8_t *data, size_t len)
{
    files *f = user;
    char h[65];
    sha256_hex(data, len, h);
    /* the callback's bytes are the ones hashed */
    assert_string_equal(h, json_string_value(json_object_get(fi, "sha256")));
    json_array_append_new(f->list, fi);
}

static const char *fs(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* deterministic bytes */
static void fill_bytes(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

/* a multipart/mixed message with a text body and two attachments */
static char *build_multipart(const uint8_t *a1, size_t n1, const uint8_t *a2, size_t n2, size_t *len)
{
    char *e1 = b64_lines(a1, n1), *e2 = b64_lines(a2, n2);
    size_t cap = strlen(e1) + strlen(e2) + 4096;
    char *m = malloc(cap);
    *len = (size_t)snprintf(m, cap,
        "Received: from a by b; Tue, 14 Nov 2023 10:00:00 +0000\r\n"
        "Received: from c by d; Tue, 14 Nov 2023 10:00:01 +0000\r\n"
        "From: =?UTF-8?Q?J=C3=B6rg?= <joerg@example.de>\r\n"
        "To: Alice <alice@example.org>, bob@example.org\r\n"
        "Cc: Team: carol@example.net, dave@example.net;\r\n"
        "Reply-To: reply@example.org\r\n"
        "Sender: Secretary <sec@example.de>\r\n"
        "Bcc: hidden@example.org\r\n"
        "Subject: Report\r\n"
        "Date: Tue, 14 Nov 2023 10:00:00 +0000\r\n"
        "Message-ID: <m1@example.de>\r\n"
        "In-Reply-To: <m0@example.de>\r\n"
        "References: <a@h> <m0@example.de>\r\n"
        "X-Mailer: TestMailer 1.0\r\n"
        "User-Agent: Agent/2\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
        "\r\n"
        "--XX\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "Hello\r\n"
        "--XX\r\n"
        "Content-Type: application/pdf; name=\"ignored.pdf\"\r\n"
        "Content-Disposition: attachment; filename*=UTF-8''%%E2%%82%%AC%%20rates.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "%s"
        "--XX\r\n"
        "Content-Type: image/png\r\n"
        "Content-Disposition: inline;\r\n"
        " filename*0*=iso-8859-1''Gr%%FC;\r\n"
        " filename*1=\"n.png\"\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "%s"
        "--XX--\r\n",
        e1, e2);
    free(e1);
    free(e2);
    return m;
}

/* The i-th entry of email.addresses ([{field, name, address}]) of header
 * field, NULL past the last; *n: how many that header has. */
static const json_t *addr(const json_t *email, const char *field, size_t i, size_t *n)
{
    const json_t *list = json_object_get(email, "addresses"), *hit = NULL;
    size_t k = 0;
    for (size_t j = 0; j < json_array_size(list); j++) {
        const json_t *a = json_array_get(list, j);
        if (!fs(a, "field") || strcmp(fs(a, "field"), field) != 0)
            continue;
        if (k++ == i)
            hit = a;
    }
    if (n)
        *n = k;
    return hit;
}

/* ---- tests ---- */

static void test_multipart_attachments(void **st)
{
    (void)st;
    uint8_t a1[3000], a2[777];
    fill_bytes(a1, sizeof a1, 1);
    memcpy(a1, "%PDF-1.4\n", 9);
    fill_bytes(a2, sizeof a2, 2);
    /* PNG signature and an IHDR chunk of 1x1 RGB (RFC 2083 3.1, 4.1.1) */
    memcpy(a2, "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0", 29);
    size_t len;
    char *m = build_multipart(a1, sizeof a1, a2, sizeof a2, &len);
    json_t *email = json_object();
    files f = { json_array() };
    assert_int_equal(mail_parse((const uint8_t *)m, len, false, false, email, collect, &f), 0);

    assert_string_equal(fs(email, "subject"), "Report");
    /* one list in the envelope's order: from, sender, reply_to, to, cc, bcc */
    size_t n;
    const json_t *from = addr(email, "from", 0, &n);
    assert_int_equal(n, 1);
    assert_string_equal(fs(from, "name"), "Jörg");
    assert_string_equal(fs(from, "address"), "joerg@example.de");
    assert_ptr_equal(from, json_array_get(json_object_get(email, "addresses"), 0));
    assert_string_equal(fs(addr(email, "sender", 0, NULL), "name"), "Secretary");
    assert_string_equal(fs(addr(email, "sender", 0, NULL), "address"), "sec@example.de");
    assert_non_null(addr(email, "to", 1, &n));
    assert_int_equal(n, 2);
    assert_string_equal(fs(addr(email, "to", 0, NULL), "name"), "Alice");
    assert_string_equal(fs(addr(email, "to", 1, NULL), "address"), "bob@example.org");
    assert_null(json_object_get(addr(email, "to", 1, NULL), "name"));
    /* a group's members */
    addr(email, "cc", 0, &n);
    assert_int_equal(n, 2);
    assert_string_equal(fs(addr(email, "cc", 1, NULL), "address"), "dave@example.net");
    assert_string_equal(fs(addr(email, "reply_to", 0, NULL), "address"), "reply@example.org");
    assert_string_equal(fs(addr(email, "bcc", 0, NULL), "address"), "hidden@example.org");
    assert_int_equal(json_array_size(json_object_get(email, "addresses")), 8);
    assert_string_equal(fs(email, "message_id"), "<m1@example.de>");
    assert_string_equal(fs(email, "in_reply_to"), "<m0@example.de>");
    assert_int_equal(json_array_size(json_object_get(email, "references")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(email, "references"), 0)), "<a@h>");
    /* X-Mailer and User-Agent name one thing: X-Mailer first */
    assert_string_equal(fs(email, "x_mailer"), "TestMailer 1.0");
    assert_null(json_object_get(email, "user_agent"));
    /* "Tue, 14 Nov 2023 10:00:00 +0000": ISO 8601, as an ENVELOPE's date */
    assert_string_equal(fs(email, "date"), "2023-11-14T10:00:00+00:00");
    assert_int_equal(json_integer_value(json_object_get(email, "received_count")), 2);

    assert_int_equal(json_array_size(f.list), 2);
    char h1[65], h2[65];
    sha256_hex(a1, sizeof a1, h1);
    sha256_hex(a2, sizeof a2, h2);
    const json_t *f1 = json_array_get(f.list, 0), *f2 = json_array_get(f.list, 1);
    assert_string_equal(fs(f1, "sha256"), h1);
    assert_string_equal(fs(f2, "sha256"), h2);
    assert_int_equal(json_integer_value(json_object_get(f1, "size")), sizeof a1);
    /* RFC 2231: charset and percent-encoding; wins over Content-Type name */
    assert_string_equal(fs(f1, "filename"), "€ rates.pdf");
    /* RFC 2231 continuations, ISO-8859-1 */
    assert_string_equal(fs(f2, "filename"), "Grün.png");
    assert_string_equal(fs(f1, "content_type"), "application/pdf");
    assert_string_equal(fs(f1, "magic"), "application/pdf");
    assert_string_equal(fs(f2, "magic"), "image/png");
    assert_string_equal(fs(f1, "disposition"), "attachment");
    assert_string_equal(fs(f2, "disposition"), "inline");
    assert_string_equal(fs(f1, "state"), "complete");
    /* md5 and sha1 of the same decoded bytes */
    uint8_t d[20];
    unsigned dl;
    char hx[41];
    EVP_Digest(a1, sizeof a1, d, &dl, EVP_md5(), NULL);
    for (unsigned i = 0; i < dl; i++)
        sprintf(hx + 2 * i, "%02x", d[i]);
    assert_string_equal(fs(f1, "md5"), hx);
    EVP_Digest(a1, sizeof a1, d, &dl, EVP_sha1(), NULL);
    for (unsigned i = 0; i < dl; i++)
        sprintf(hx + 2 * i, "%02x", d[i]);
    assert_string_equal(fs(f1, "sha1"), hx);
    /* the email lists them */
    const json_t *att = json_object_get(email, "attachments");
    assert_int_equal(json_array_size(att), 2);
    assert_string_equal(fs(json_array_get(att, 0), "sha256"), h1);
    assert_string_equal(fs(json_array_get(att, 0), "filename"), "€ rates.pdf");
    assert_string_equal(fs(json_array_get(att, 1), "sha256"), h2);
    /* name and hash only: the fileinfo events have the rest */
    assert_int_equal(json_object_size(json_array_get(att, 1)), 2);
    json_decref(email);
    json_decref(f.list);
    free(m);
}

/* User-Agent (Thunderbird, mutt) is the x_mailer of a message with no X-Mailer */
static void test_user_agent_mailer(void **st)
{
    (void)st;
    const char *m = "From: a@example.org\r\nUser-Agent: Mutt/2.2.9\r\nSubject: ua\r\n\r\nbody\r\n";
    json_t *email = json_object();
    files f = { json_array() };
    assert_int_equal(mail_parse((const uint8_t *)m, strlen(m), false, false, email, collect, &f), 0);
    assert_string_equal(fs(email, "x_mailer"), "Mutt/2.2.9");
    assert_null(json_object_get(email, "user_agent"));
    assert_string_equal(fs(addr(email, "from", 0, NULL), "address"), "a@example.org");
    json_decref(email);
    json_decref(f.list);
}

/* The Date header in ISO 8601 with its own offset (RFC 5322 3.3: a
 * two-digit obsolete year, a comment); a date that does not parse stays
 * as sent. */
static void test_date_forms(void **st)
{
    (void)st;
    static const struct { const char *hdr, *want; } cases[] = {
        { "Date: 1 Feb 94 23:59:07 -0830 (PST)", "1994-02-01T23:59:07-08:30" },
        { "Date: Sat, 29 Feb 2020 00:00:00 +0100", "2020-02-29T00:00:00+01:00" },
        { "Date: yesterday, around noon", "yesterday, around noon" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char m[256];
        snprintf(m, sizeof m, "From: a@example.org\r\n%s\r\nSubject: d\r\n\r\nbody\r\n", cases[i].hdr);
        json_t *email = json_object();
        files f = { json_array() };
        assert_int_equal(mail_parse((const uint8_t *)m, strlen(m), false, false, email, collect, &f), 0);
        assert_string_equal(fs(email, "date"), cases[i].want);
        json_decref(email);
        json_decref(f.list);
    }
}

static void test_rfc2047_filename(void **st)
{
    (void)st;
    const char *m =
        "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: application/octet-stream; name=\"=?UTF-8?B?0J/RgNC40LLQtdGCLnR4dA==?=\"\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\nA=3DB\r\n--b--\r\n";
    json_t *email = json_object();
    files f = { json_array() };
    assert_int_equal(mail_parse((const uint8_t *)m, strlen(m), false, false, email, collect, &f), 0);
    assert_int_equal(json_array_size(f.list), 1);
    const json_t *f1 = json_array_get(f.list, 0);
    assert_string_equal(fs(f1, "filename"), "Привет.txt");
    char h[65];
    sha256_hex("A=B", 3, h);
    assert_string_equal(fs(f1, "sha256"), h); /* quoted-printable decoded */
    json_decref(email);
    json_decref(f.list);
}

static void check_subject(const char *cs, const char *utf8, char enc)
{
    char raw[512], word[1200], msg[1400];
    size_t n = to_charset(cs, utf8, raw, sizeof raw);
    assert_true(n > 0);
    if (enc == 'B') {
        char *b = b64((const uint8_t *)raw, n);
        snprintf(word, sizeof word, "=?%s?B?%s?=", cs, b);
        free(b);
    } else {
        size_t o = (size_t)snprintf(word, sizeof word, "=?%s?Q?", cs);
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)raw[i];
            if (c == ' ')
                word[o++] = '_';
            else if (c < 33 || c > 126 || c == '=' || c == '?' || c == '_')
                o += (size_t)sprintf(word + o, "=%02X", c);
            else
                word[o++] = (char)c;
        }
        snprintf(word + o, sizeof word - o, "?=");
    }
    snprintf(msg, sizeof msg, "From: x@example.org\r\nSubject: %s\r\n\r\nbody\r\n", word);
    json_t *email = json_object();
    assert_true(mail_parse((const uint8_t *)msg, strlen(msg), false, false, email, NULL, NULL) >= 0);
    const char *got = fs(email, "subject");
    assert_non_null(got);
    if (strcmp(got, utf8) != 0)
        fail_msg("%s (%c): got \"%s\", want \"%s\"", cs, enc, got, utf8);
    json_decref(email);
}

static void test_charsets(void **st)
{
    (void)st;
    check_subject("windows-1252", "Preis 5 € – „Angebot“ ‰", 'Q');
    check_subject("windows-1252", "Œuvre très “spéciale”", 'B');
    check_subject("ISO-8859-15", "Prix 10 € œuf Žiga", 'Q');
    check_subject("KOI8-R", "Привет, мир", 'B');
    check_subject("ISO-2022-JP", "日本語の件名です", 'B');
    check_subject("GB2312", "中文邮件主题", 'B');
    check_subject("Shift_JIS", "こんにちは世界", 'B');
    check_subject("Shift_JIS", "テスト", 'Q');
}

/* the literal sink of one FETCH literal */
static void feed(mail_conn *mc, const char *section, bool has_origin, uint64_t origin, const char *data, size_t n,
                 uint32_t uid)
{
    imap_literal_info li = { 0 };
    li.dir = IMAP_DIR_SERVER;
    li.kind = IMAP_LITERAL_FETCH;
    li.size = n;
    li.tag = "*";
    li.command = "FETCH";
    li.seq = 7;
    li.has_uid = uid != 0;
    li.uid = uid;
    li.section = section;
    li.has_origin = has_origin;
    li.origin = origin;
    li.mailbox = "INBOX";
    mail_literal_begin(mc, &li, 1);
    /* in two pieces */
    mail_literal_data(mc, IMAP_DIR_SERVER, (const uint8_t *)data, n / 2);
    mail_literal_data(mc, IMAP_DIR_SERVER, (const uint8_t *)data + n / 2, n - n / 2);
    mail_literal_end(mc, IMAP_DIR_SERVER, true, 1);
}

typedef struct events {
    json_t *email[8];
    json_t *file[8];
    int ne, nf;
} events;

static void on_emit(void *user, const char *type, uint64_t ts, json_t *body)
{
    events *ev = user;
    (void)ts;
    if (!strcmp(type, "email") && ev->ne < 8)
        ev->email[ev->ne++] = body;
    else if (!strcmp(type, "fileinfo") && ev->nf < 8)
        ev->file[ev->nf++] = body;
    else
        json_decref(body);
}

static void events_free(events *ev)
{
    for (int i = 0; i < ev->ne; i++)
        json_decref(ev->email[i]);
    for (int i = 0; i < ev->nf; i++)
        json_decref(ev->file[i]);
}

static void test_partial_join(void **st)
{
    (void)st;
    uint8_t a1[2000], a2[100];
    fill_bytes(a1, sizeof a1, 3);
    fill_bytes(a2, sizeof a2, 4);
    size_t len;
    char *m = build_multipart(a1, sizeof a1, a2, sizeof a2, &len);
    char whole[65];
    sha256_hex(m, len, whole);

    mail_config cfg;
    mail_config_default(&cfg);
    cfg.enabled = true;
    mail_stats stats = { 0 };
    events ev = { 0 };
    mail_conn *mc = mail_conn_new(&cfg, &stats, on_emit, &ev);
    assert_non_null(mc);
    /* BODY[]<0>, <1000>, <2000>, ... of 1000 bytes; the last is short */
    for (size_t off = 0; off < len; off += 1000)
        feed(mc, "BODY[]", true, off, m + off, len - off < 1000 ? len - off : 1000, 42);
    /* the tagged response gives the tag */
    imap_transaction t = { 0 };
    t.tag = (imap_span){ "A9", 2 };
    t.command = IMAP_CMD_UID_FETCH;
    t.command_name = (imap_span){ "UID FETCH", 9 };
    t.status = IMAP_STATUS_OK;
    mail_transaction(mc, &t, 2);
    assert_int_equal(ev.ne, 0); /* written after the tagged line */
    mail_flush(mc, 2);
    assert_int_equal(ev.ne, 1);
    json_t *e = ev.email[0];
    assert_string_equal(fs(e, "sha256"), whole);
    assert_int_equal(json_integer_value(json_object_get(e, "size")), len);
    assert_string_equal(fs(e, "state"), "complete");
    assert_true(json_is_true(json_object_get(e, "partial_joined")));
    assert_string_equal(fs(e, "tag"), "A9");
    assert_null(json_object_get(e, "command")); /* the imap event of tag A9 has it */
    assert_int_equal(json_integer_value(json_object_get(e, "uid")), 42);
    assert_string_equal(fs(e, "section"), "BODY[]");
    assert_int_equal(ev.nf, 2);
    char h1[65];
    sha256_hex(a1, sizeof a1, h1);
    assert_string_equal(fs(ev.file[0], "sha256"), h1);
    assert_string_equal(fs(ev.file[0], "message_sha256"), whole);
    assert_string_equal(fs(ev.file[0], "tag"), "A9");
    assert_int_equal(stats.messages, 1);

    /* a partial that does not start at 0 is not joined (counted) */
    feed(mc, "BODY[]", true, 5000, m, 100, 43);
    mail_conn_end(mc, 3);
    assert_int_equal(ev.ne, 1);
    assert_int_equal(stats.partial_dropped, 1);
    bool trunc;
    json_t *sum = mail_conn_summary(mc, &trunc);
    assert_int_equal(json_array_size(sum), 1);
    assert_string_equal(fs(json_array_get(sum, 0), "mailbox"), "INBOX");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(sum, 0), "messages_fetched")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(sum, 0), "bytes_fetched")), len);
    json_decref(sum);
    mail_conn_free(mc);
    events_free(&ev);
    free(m);
}

/* A join whose size is a multiple of the part size: the last part is
 * empty, sent as "" (no literal); the decoded FETCH response ends it. */
static void test_partial_join_empty_last(void **st)
{
    (void)st;
    char m[2000];
    size_t o = (size_t)snprintf(m, sizeof m, "Subject: even\r\n\r\n");
    memset(m + o, 'x', sizeof m - o);
    char whole[65];
    sha256_hex(m, sizeof m, whole);
    mail_config cfg;
    mail_config_default(&cfg);
    cfg.enabled = true;
    mail_stats stats = { 0 };
    events ev = { 0 };
    mail_conn *mc = mail_conn_new(&cfg, &stats, on_emit, &ev);
    feed(mc, "BODY[]", true, 0, m, 1000, 42);
    feed(mc, "BODY[]", true, 1000, m + 1000, 1000, 42);
    json_error_t jerr;
    json_t *resp = json_loads("[{\"type\": \"FETCH\", \"number\": 7, \"uid\": 42, \"sections\": "
                              "[{\"item\": \"BODY\", \"section\": \"\", \"origin\": 2000, \"size\": 0}]}]", 0, &jerr);
    assert_non_null(resp);
    imap_node *rn = lh_node(resp);
    imap_transaction t = { 0 };
    t.tag = (imap_span){ "A3", 2 };
    t.command = IMAP_CMD_UID_FETCH;
    t.command_name = (imap_span){ "UID FETCH", 9 };
    t.status = IMAP_STATUS_OK;
    t.responses = rn;
    mail_transaction(mc, &t, 2);
    mail_flush(mc, 2);
    assert_int_equal(ev.ne, 1);
    assert_string_equal(fs(ev.email[0], "state"), "complete");
    assert_string_equal(fs(ev.email[0], "sha256"), whole);
    assert_string_equal(fs(ev.email[0], "subject"), "even");
    imap_node_release(rn);
    json_decref(resp);
    mail_conn_free(mc);
    events_free(&ev);

    /* without that empty part: the join ends with the connection, not complete */
    memset(&ev, 0, sizeof ev);
    mc = mail_conn_new(&cfg, &stats, on_emit, &ev);
    feed(mc, "BODY[]", true, 0, m, 1000, 42);
    feed(mc, "BODY[]", true, 1000, m + 1000, 1000, 42);
    mail_conn_end(mc, 3);
    assert_int_equal(ev.ne, 1);
    assert_string_equal(fs(ev.email[0], "state"), "gaps");
    assert_null(json_object_get(ev.email[0], "sha256"));
    mail_conn_free(mc);
    events_free(&ev);
}

/* A body part fetched on its own (BODY[2], as desktop clients fetch
 * attachments): decoded by the encoding its BODYSTRUCTURE gave in an
 * earlier command; BINARY[n] comes decoded; BODY[n] of an unknown
 * structure is only counted. */
static void test_part_fetch(void **st)
{
    (void)st;
    uint8_t att[900];
    fill_bytes(att, sizeof att, 9);
    char *enc = b64_lines(att, sizeof att);
    char want[65];
    sha256_hex(att, sizeof att, want);
    mail_config cfg;
    mail_config_default(&cfg);
    cfg.enabled = true;
    mail_stats stats = { 0 };
    events ev = { 0 };
    mail_conn *mc = mail_conn_new(&cfg, &stats, on_emit, &ev);

    /* A1 UID FETCH 42 BODYSTRUCTURE: part 2 base64, RFC 2231 file name
     * (the shape of docs/output.md: flat parts, disposition a string) */
    json_error_t jerr;
    json_t *r1 = json_loads(
        "[{\"type\": \"FETCH\", \"number\": 7, \"uid\": 42, \"bodystructure\": ["
        "{\"part\": \"\", \"depth\": 0, \"mime_type\": \"multipart/mixed\"},"
        "{\"part\": \"1\", \"mime_type\": \"text/plain\", \"encoding\": \"7bit\"},"
        /* a file name the dissector left as sent (docs/output.md):
         * decoded here by GMime from the disposition string */
        "{\"part\": \"2\", \"mime_type\": \"application/octet-stream\", \"encoding\": \"base64\","
        " \"disposition\": \"attachment; filename*=UTF-8''%E2%82%AC.bin\"}]}]", 0, &jerr);
    assert_non_null(r1);
    imap_node *n1 = lh_node(r1);
    imap_transaction t = { 0 };
    t.tag = (imap_span){ "A1", 2 };
    t.command = IMAP_CMD_UID_FETCH;
    t.command_name = (imap_span){ "UID FETCH", 9 };
    t.status = IMAP_STATUS_OK;
    t.responses = n1;
    mail_transaction(mc, &t, 1);
    mail_flush(mc, 1);
    assert_int_equal(ev.nf, 0);
    /* A2 UID FETCH 42 BODY.PEEK[2], A2 also BODY[1] (text: no file) */
    feed(mc, "BODY[2]", false, 0, enc, strlen(enc), 42);
    feed(mc, "BODY[1]", false, 0, "hello", 5, 42);
    t.tag = (imap_span){ "A2", 2 };
    t.responses = NULL;
    mail_transaction(mc, &t, 2);
    mail_flush(mc, 2);
    assert_int_equal(ev.nf, 1);
    assert_int_equal(ev.ne, 0);
    assert_string_equal(fs(ev.file[0], "sha256"), want);
    assert_string_equal(fs(ev.file[0], "filename"), "€.bin");
    assert_string_equal(fs(ev.file[0], "section"), "BODY[2]");
    assert_string_equal(fs(ev.file[0], "disposition"), "attachment");
    assert_string_equal(fs(ev.file[0], "tag"), "A2");
    assert_int_equal(json_integer_value(json_object_get(ev.file[0], "uid")), 42);
    assert_int_equal(json_integer_value(json_object_get(ev.file[0], "size")), sizeof att);
    /* BINARY[3]: decoded already, no structure needed */
    feed(mc, "BINARY[3]", false, 0, (const char *)att, sizeof att, 43);
    /* BODY[3] of a message whose structure was never seen: counted */
    feed(mc, "BODY[3]", false, 0, enc, strlen(enc), 44);
    t.tag = (imap_span){ "A3", 2 };
    mail_transaction(mc, &t, 3);
    mail_flush(mc, 3);
    assert_int_equal(ev.nf, 2);
    assert_string_equal(fs(ev.file[1], "sha256"), want);
    assert_string_equal(fs(ev.file[1], "section"), "BINARY[3]");
    assert_int_equal(stats.parts_unknown, 1);
    imap_node_release(n1);
    json_decref(r1);
    mail_conn_free(mc);
    events_free(&ev);
    free(enc);
}

/* APPEND ... CATENATE (TEXT {n} URL ... TEXT {m}): the TEXT parts of the
 * line are one appended message; APPEND's tag links it (RFC 4469). */
static void test_catenate_append(void **st)
{
    (void)st;
    const char *p1 = "From: a@example.org\r\nSubject: cat\r\n\r\n", *p2 = "body\r\n";
    char whole[65], both[128];
    snprintf(both, sizeof both, "%s%s", p1, p2);
    sha256_hex(both, strlen(both), whole);
    mail_config cfg;
    mail_config_default(&cfg);
    cfg.enabled = true;
    mail_stats stats = { 0 };
    events ev = { 0 };
    mail_conn *mc = mail_conn_new(&cfg, &stats, on_emit, &ev);
    const char *parts[2] = { p1, p2 };
    for (int i = 0; i < 2; i++) {
        imap_literal_info li = { 0 };
        li.dir = IMAP_DIR_CLIENT;
        li.kind = IMAP_LITERAL_CATENATE;
        li.size = strlen(parts[i]);
        li.index = (unsigned)i;
        li.tag = "c1";
        li.command = "APPEND";
        li.section = "";
        li.mailbox = "Drafts";
        mail_literal_begin(mc, &li, 1);
        mail_literal_data(mc, IMAP_DIR_CLIENT, (const uint8_t *)parts[i], strlen(parts[i]));
        mail_literal_end(mc, IMAP_DIR_CLIENT, true, 1);
    }
    imap_literal_info end = { 0 };
    end.dir = IMAP_DIR_CLIENT;
    end.kind = IMAP_LITERAL_APPEND;
    end.index = 2;
    end.tag = "c1";
    end.command = "APPEND";
    end.section = "";
    end.mailbox = "Drafts";
    mail_line_end(mc, &end, 1);
    assert_int_equal(ev.ne, 0);
    imap_transaction t = { 0 };
    t.tag = (imap_span){ "c1", 2 };
    t.command = IMAP_CMD_APPEND;
    t.command_name = (imap_span){ "APPEND", 6 };
    t.status = IMAP_STATUS_OK;
    mail_transaction(mc, &t, 2);
    mail_flush(mc, 2);
    assert_int_equal(ev.ne, 1);
    assert_string_equal(fs(ev.email[0], "direction"), "appended");
    assert_string_equal(fs(ev.email[0], "tag"), "c1");
    assert_string_equal(fs(ev.email[0], "mailbox"), "Drafts");
    assert_string_equal(fs(ev.email[0], "subject"), "cat");
    assert_string_equal(fs(ev.email[0], "sha256"), whole);
    bool trunc;
    json_t *sum = mail_conn_summary(mc, &trunc);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(sum, 0), "messages_appended")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(sum, 0), "bytes_appended")), strlen(both));
    json_decref(sum);
    mail_conn_free(mc);
    events_free(&ev);
}

static void test_cap_truncated(void **st)
{
    (void)st;
    uint8_t a1[6000], a2[10];
    fill_bytes(a1, sizeof a1, 5);
    fill_bytes(a2, sizeof a2, 6);
    size_t len;
    char *m = build_multipart(a1, sizeof a1, a2, sizeof a2, &len);
    char whole[65];
    sha256_hex(m, len, whole);

    mail_config cfg;
    mail_config_default(&cfg);
    cfg.enabled = true;
    cfg.max_mail_bytes = 4096;
    mail_stats stats = { 0 };
    events ev = { 0 };
    mail_conn *mc = mail_conn_new(&cfg, &stats, on_emit, &ev);
    feed(mc, "BODY[]", false, 0, m, len, 9);
    mail_conn_end(mc, 2);
    assert_int_equal(ev.ne, 1);
    json_t *e = ev.email[0];
    assert_string_equal(fs(e, "state"), "truncated");
    /* every byte was still hashed */
    assert_string_equal(fs(e, "sha256"), whole);
    assert_int_equal(json_integer_value(json_object_get(e, "size")), len);
    assert_string_equal(fs(e, "subject"), "Report");
    assert_int_equal(stats.truncated, 1);
    /* the attachment cut by the cap */
    assert_true(ev.nf >= 1);
    assert_string_equal(fs(ev.file[ev.nf - 1], "state"), "truncated");
    assert_true(json_integer_value(json_object_get(ev.file[ev.nf - 1], "size")) < (json_int_t)sizeof a1);
    mail_conn_free(mc);
    events_free(&ev);
    free(m);
}

static void test_deep_nesting(void **st)
{
    (void)st;
    size_t cap = 1 << 20, o = 0;
    char *m = malloc(cap);
    o += (size_t)snprintf(m + o, cap - o, "Subject: deep\r\nMIME-Version: 1.0\r\n");
    for (int i = 0; i < 200; i++)
        o += (size_t)snprintf(m + o, cap - o, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i);
    o += (size_t)snprintf(m + o, cap - o, "Content-Type: application/octet-stream\r\n\r\nleaf\r\n");
    for (int i = 199; i >= 0; i--)
        o += (size_t)snprintf(m + o, cap - o, "--b%d--\r\n", i);
    json_t *email = json_object();
    files f = { json_array() };
    /* past MAIL_MAX_DEPTH: capped (1), no leaf deeper than that looked at */
    assert_int_equal(mail_parse((const uint8_t *)m, o, false, false, email, collect, &f), 1);
    assert_string_equal(fs(email, "subject"), "deep");
    assert_int_equal(json_array_size(f.list), 0);
    json_decref(email);
    json_decref(f.list);

    /* many parts: MAIL_MAX_PARTS looked at */
    o = (size_t)snprintf(m, cap, "Subject: wide\r\nContent-Type: multipart/mixed; boundary=w\r\n\r\n");
    for (int i = 0; i < 400; i++)
        o += (size_t)snprintf(m + o, cap - o, "--w\r\nContent-Type: application/x-a\r\n\r\n%d\r\n", i);
    o += (size_t)snprintf(m + o, cap - o, "--w--\r\n");
    email = json_object();
    f.list = json_array();
    assert_int_equal(mail_parse((const uint8_t *)m, o, false, false, email, collect, &f), 1);
    assert_int_equal(json_array_size(f.list), MAIL_MAX_PARTS);
    json_decref(email);
    json_decref(f.list);
    free(m);
}

static void test_hostile(void **st)
{
    (void)st;
    /* an unclosed boundary and base64 garbage */
    const char *m = "Subject: bad\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n"
                    "Content-Type: application/zip\r\nContent-Disposition: attachment; filename=a.zip\r\n"
                    "Content-Transfer-Encoding: base64\r\n\r\nQUJD!!!@@@ RE\x01\x02VG===\r\nR0g=\r\n";
    json_t *email = json_object();
    files f = { json_array() };
    assert_true(mail_parse((const uint8_t *)m, strlen(m), false, false, email, collect, &f) >= 0);
    assert_int_equal(json_array_size(f.list), 1);
    assert_string_equal(fs(json_array_get(f.list, 0), "filename"), "a.zip");
    json_decref(email);
    json_decref(f.list);
    /* 8-bit bytes that are no UTF-8 in a filename: U+FFFD (fuzz_mime
     * regression invalid-utf8-filename: the value was not valid JSON) */
    const char *m8 = "Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                     "Content-Type: application/x-\xfe\r\nContent-Disposition: attachment; filename=\"\xff" "a.bin\"\r\n"
                     "\r\ndata\r\n--b--\r\n";
    email = json_object();
    f.list = json_array();
    assert_int_equal(mail_parse((const uint8_t *)m8, strlen(m8), false, false, email, collect, &f), 0);
    assert_int_equal(json_array_size(f.list), 1);
    const char *fname = fs(json_array_get(f.list, 0), "filename");
    assert_non_null(fname);
    assert_non_null(strstr(fname, "a.bin"));
    char *dump = json_dumps(json_array_get(f.list, 0), 0);
    assert_non_null(dump);
    free(dump);
    json_decref(email);
    json_decref(f.list);
    /* a header block over MAIL_MAX_HEADER_BYTES: only its start parsed */
    size_t n = MAIL_MAX_HEADER_BYTES + 10000;
    char *big = malloc(n);
    size_t o = (size_t)snprintf(big, n, "Subject: huge\r\nX-Long: ");
    memset(big + o, 'a', n - o);
    email = json_object();
    assert_int_equal(mail_parse((const uint8_t *)big, n, false, false, email, NULL, NULL), 1);
    assert_string_equal(fs(email, "subject"), "huge");
    json_decref(email);
    free(big);
    /* not a message at all */
    email = json_object();
    assert_true(mail_parse((const uint8_t *)"\x00\xff\x00", 3, false, false, email, NULL, NULL) >= -1);
    json_decref(email);
}

/* A 1 GiB attachment streamed through one connection in 1 MiB pieces:
 * the message is hashed whole while only --max-mail-bytes of it is kept
 * (the process grows by far less than the message), the event says
 * truncated, and the cut attachment says so too. */
static long max_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void test_huge_part(void **st)
{
    (void)st;
    static const char head[] = "Subject: big\r\nMIME-Version: 1.0\r\n"
                               "Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n"
                               "Content-Type: application/octet-stream\r\n"
                               "Content-Disposition: attachment; filename=big.bin\r\n"
                               "Content-Transfer-Encoding: base64\r\n\r\n";
    static const char tail[] = "\r\n--q--\r\n";
    const size_t piece = 1u << 20, pieces = 1024; /* 1 GiB of base64 lines */
    char *chunk = malloc(piece);
    assert_non_null(chunk);
    for (size_t i = 0; i < piece; i += 78) { /* 76 characters and CRLF */
        size_t n = piece - i < 78 ? piece - i : 78;
        memset(chunk + i, 'Q', n);
        if (n == 78)
            memcpy(chunk + i + 76, "\r\n", 2);
    }
    uint64_t total = sizeof head - 1 + (uint64_t)piece * pieces + sizeof tail - 1;

    mail_config cfg;
    mail_config_default(&cfg);
    cfg.enabled = true;
    cfg.max_mail_bytes = 8u << 20;
    mail_stats stats = { 0 };
    events ev = { 0 };
    mail_conn *mc = mail_conn_new(&cfg, &stats, on_emit, &ev);
    imap_literal_info li = { 0 };
    li.dir = IMAP_DIR_SERVER;
    li.kind = IMAP_LITERAL_FETCH;
    li.size = total;
    li.tag = "*";
    li.command = "FETCH";
    li.seq = 1;
    li.section = "BODY[]";
    li.mailbox = "INBOX";
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    EVP_DigestInit_ex(h, EVP_sha256(), NULL);
    long rss0 = max_rss_kib();
    mail_literal_begin(mc, &li, 1);
    mail_literal_data(mc, IMAP_DIR_SERVER, (const uint8_t *)head, sizeof head - 1);
    EVP_DigestUpdate(h, head, sizeof head - 1);
    for (size_t i = 0; i < pieces; i++) {
        mail_literal_data(mc, IMAP_DIR_SERVER, (const uint8_t *)chunk, piece);
        EVP_DigestUpdate(h, chunk, piece);
    }
    mail_literal_data(mc, IMAP_DIR_SERVER, (const uint8_t *)tail, sizeof tail - 1);
    EVP_DigestUpdate(h, tail, sizeof tail - 1);
    mail_literal_end(mc, IMAP_DIR_SERVER, true, 2);
    mail_conn_end(mc, 3);
    long grew_kib = max_rss_kib() - rss0;
    unsigned char md[32];
    char want[65];
    EVP_DigestFinal_ex(h, md, NULL);
    EVP_MD_CTX_free(h);
    for (int i = 0; i < 32; i++)
        snprintf(want + 2 * i, 3, "%02x", md[i]);

    assert_int_equal(ev.ne, 1);
    json_t *e = ev.email[0];
    assert_string_equal(fs(e, "state"), "truncated");
    assert_int_equal(json_integer_value(json_object_get(e, "size")), (json_int_t)total);
    assert_string_equal(fs(e, "sha256"), want);   /* every byte hashed */
    assert_string_equal(fs(e, "subject"), "big");
    assert_int_equal(stats.truncated, 1);
    assert_int_equal(ev.nf, 1);
    assert_string_equal(fs(ev.file[0], "filename"), "big.bin");
    assert_string_equal(fs(ev.file[0], "state"), "truncated");
    /* kept: the 8 MiB cap (and what parsing it costs), not the 1 GiB */
    assert_true(grew_kib < 64 * 1024);
    mail_conn_free(mc);
    events_free(&ev);
    free(chunk);
}

static void test_extract(void **st)
{
    (void)st;
    char dir[] = "/tmp/test_mail_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[64], err[256], h[65], path[200];
    snprintf(sub, sizeof sub, "%s/x", dir);
    extract *x = extract_new(sub, 100, 2, "application/pdf, image/*", err, sizeof err);
    assert_non_null(x);
    assert_int_equal(extract_prepare(x, err, sizeof err), 0);
    struct stat sb;
    assert_int_equal(stat(sub, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_true(extract_wants(x, "image/png", NULL));
    assert_true(extract_wants(x, NULL, "application/PDF"));
    assert_false(extract_wants(x, "application/zip", "application/zip"));
    sha256_hex("abc", 3, h);
    assert_true(extract_store(x, h, "", (const uint8_t *)"abc", 3));
    snprintf(path, sizeof path, "%s/%s", sub, h);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_size, 3);
    /* written once: the second store finds it */
    assert_true(extract_store(x, h, "", (const uint8_t *)"abc", 3));
    /* the byte cap (100) */
    char big[200];
    memset(big, 'z', sizeof big);
    sha256_hex(big, sizeof big, h);
    assert_false(extract_store(x, h, "", (const uint8_t *)big, sizeof big));
    /* the file cap (2) */
    sha256_hex("d", 1, h);
    assert_true(extract_store(x, h, ".eml", (const uint8_t *)"d", 1));
    sha256_hex("e", 1, h);
    assert_false(extract_store(x, h, "", (const uint8_t *)"e", 1));
    json_t *js = extract_stats_json(x);
    assert_int_equal(json_integer_value(json_object_get(js, "files")), 2);
    assert_int_equal(json_integer_value(json_object_get(js, "already_present")), 1);
    assert_int_equal(json_integer_value(json_object_get(js, "cap_reached")), 2);
    json_decref(js);
    /* never a name that is not a hash */
    assert_false(extract_store(x, "../../etc/passwd", "", (const uint8_t *)"x", 1));
    extract_free(x);
    /* a group-writable directory is refused */
    chmod(sub, 0770);
    x = extract_new(sub, 0, 0, NULL, err, sizeof err);
    assert_int_equal(extract_prepare(x, err, sizeof err), -1);
    extract_free(x);
    /* a bad type list */
    assert_null(extract_new(sub, 0, 0, "pdf", err, sizeof err));
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multipart_attachments),
        cmocka_unit_test(test_user_agent_mailer),
        cmocka_unit_test(test_date_forms),
        cmocka_unit_test(test_rfc2047_filename),
        cmocka_unit_test(test_charsets),
        cmocka_unit_test(test_partial_join),
        cmocka_unit_test(test_partial_join_empty_last),
        cmocka_unit_test(test_catenate_append),
        cmocka_unit_test(test_part_fetch),
        cmocka_unit_test(test_cap_truncated),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_huge_part),
        cmocka_unit_test(test_extract),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
