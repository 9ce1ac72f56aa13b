/*
 * mail.c - messages in IMAP literals to "email" and "fileinfo" events
 * (contract in mail.h).  MIME by GMime 3 (RFC 2045-2049, RFC 2047 encoded
 * words through iconv, RFC 2231 parameters), types by libmagic, hashes by
 * OpenSSL EVP.
 *
 * Why this file is long: it owns one job, the mail of a connection, from
 * the literal bytes to the events: assembly (kept bytes, partial joins,
 * CATENATE), the wait for the tagged response, the MIME walk and the
 * per-mailbox counts.  The disk side is extract.c.
 */
#include "mail.h"
#include "extract.h"
#include "imap_util.h" /* imapi_utf8_valid, imapi_utf8_seq */
#include "imap_dec_util.h" /* imapi_dec_date_iso */

#include <gmime/gmime.h>
#include <magic.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------ set-up */

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static magic_t g_magic;
static pthread_mutex_t g_magic_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_size_t g_held; /* message bytes kept by every connection (LIM_MAIL_MEMCAP) */

static void global_init_once(void)
{
    /* GMime: charset tables and the iconv cache for RFC 2047 words in any
     * charset iconv knows (g_mime_charset_*, g_mime_iconv_*) */
    g_mime_init();
    g_magic = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR);
    if (g_magic && magic_load(g_magic, NULL) != 0) {
        magic_close(g_magic);
        g_magic = NULL;
    }
}

void mail_global_init(void)
{
    pthread_once(&g_once, global_init_once);
}

void mail_config_default(mail_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_mail_bytes = LIM_MAIL_MAX_BYTES;
}

/* ------------------------------------------------------------ helpers */

static void hex(const uint8_t *md, unsigned n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * n] = '\0';
}

/* A JSON string of at most cap bytes (cut on a UTF-8 boundary; invalid
 * UTF-8 is repaired by the output), or NULL for NULL/empty. */
static json_t *jstr(const char *s, size_t cap)
{
    if (!s)
        return NULL;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    if (n == 0)
        return NULL;
    if (n > cap) {
        n = cap;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    if (imapi_utf8_valid(s, n))
        return json_stringn_nocheck(s, n);
    /* bytes that are no UTF-8 (a raw 8-bit header, a charset iconv did
     * not know) become U+FFFD, so the value is one JSON string anywhere */
    char *fix = malloc(n * 3 + 1);
    if (!fix)
        return NULL;
    size_t o = 0;
    const uint8_t *p = (const uint8_t *)s, *end = p + n;
    while (p < end) {
        uint32_t cp;
        size_t k = imapi_utf8_seq(p, end, &cp);
        if (k == 0) {
            memcpy(fix + o, "\xEF\xBF\xBD", 3);
            o += 3;
            p++;
        } else {
            memcpy(fix + o, p, k);
            o += k;
            p += k;
        }
    }
    json_t *v = json_stringn_nocheck(fix, o);
    free(fix);
    return v;
}

static void set_str(json_t *o, const char *key, const char *s)
{
    json_t *v = jstr(s, MAIL_MAX_FIELD_BYTES);
    if (v)
        json_object_set_new(o, key, v);
}

/* "date": the Date header (RFC 5322 3.3 date-time) in ISO 8601 with its
 * offset ("2023-11-27T09:00:00+00:00") when it parses, as sent otherwise:
 * the same form as an ENVELOPE's date (one field, one form; issue 10). */
static void set_date(json_t *o, const char *date)
{
    char iso[40];
    if (date && imapi_dec_date_iso(date, strlen(date), iso, sizeof iso) == 0)
        set_str(o, "date", iso);
    else
        set_str(o, "date", date);
}

/* "<id>" from an id without brackets. */
static void set_msgid(json_t *o, const char *key, const char *id)
{
    char buf[MAIL_MAX_FIELD_BYTES + 3];
    if (!id || !*id)
        return;
    snprintf(buf, sizeof buf, "<%s>", id);
    set_str(o, key, buf);
}

/* ------------------------------------------------------------ MIME parse */

/*
 * email.addresses: [{field, name, address}], one list for every address
 * header (RFC 5322 3.6.2-3.6.3: from, sender, reply_to, to, cc, bcc), the
 * shape of imap.responses[].envelope.addresses; group members listed
 * (RFC 5322 3.4), at most MAIL_MAX_ADDRESSES per header.  Appends one
 * entry; false when it had neither name nor address.
 */
static bool address_add(json_t *arr, const char *field, const char *name, const char *address)
{
    json_t *a = json_object();
    json_object_set_new(a, "field", json_string(field));
    set_str(a, "name", name);
    set_str(a, "address", address);
    if (json_object_size(a) > 1) {
        json_array_append_new(arr, a);
        return true;
    }
    json_decref(a);
    return false;
}

static void add_addresses(json_t *arr, const char *field, InternetAddressList *list, int depth, unsigned *n_field)
{
    int n = list ? internet_address_list_length(list) : 0;
    for (int i = 0; i < n && *n_field < MAIL_MAX_ADDRESSES; i++) {
        InternetAddress *ia = internet_address_list_get_address(list, i);
        if (INTERNET_ADDRESS_IS_GROUP(ia)) {
            if (depth < 4)
                add_addresses(arr, field, internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)),
                              depth + 1, n_field);
            continue;
        }
        if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
            continue;
        if (address_add(arr, field, internet_address_get_name(ia),
                        internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia))))
            (*n_field)++;
    }
}

static void set_addresses(json_t *email, GMimeMessage *msg)
{
    static const struct { const char *field; GMimeAddressType type; } hdr[] = {
        {"from", GMIME_ADDRESS_TYPE_FROM}, {"sender", GMIME_ADDRESS_TYPE_SENDER},
        {"reply_to", GMIME_ADDRESS_TYPE_REPLY_TO}, {"to", GMIME_ADDRESS_TYPE_TO},
        {"cc", GMIME_ADDRESS_TYPE_CC}, {"bcc", GMIME_ADDRESS_TYPE_BCC}};
    json_t *arr = json_array();
    for (size_t h = 0; h < sizeof hdr / sizeof hdr[0]; h++) {
        unsigned n = 0;
        add_addresses(arr, hdr[h].field, g_mime_message_get_addresses(msg, hdr[h].type), 0, &n);
    }
    if (json_array_size(arr))
        json_object_set_new(email, "addresses", arr);
    else
        json_decref(arr);
}

static void set_header_text(json_t *email, const char *key, GMimeObject *obj, const char *name)
{
    const char *v = g_mime_object_get_header(obj, name);
    if (!v)
        return;
    char *dec = g_mime_utils_header_decode_text(NULL, v);
    set_str(email, key, dec ? dec : v);
    g_free(dec);
}

static void set_headers(json_t *email, GMimeMessage *msg)
{
    GMimeObject *obj = GMIME_OBJECT(msg);

    set_addresses(email, msg);
    /* RFC 2047 decoded by GMime (iconv: any charset it knows) */
    set_str(email, "subject", g_mime_message_get_subject(msg));
    set_date(email, g_mime_object_get_header(obj, "Date"));
    set_msgid(email, "message_id", g_mime_message_get_message_id(msg));
    const char *irt = g_mime_object_get_header(obj, "In-Reply-To");
    if (irt) {
        GMimeReferences *r = g_mime_references_parse(NULL, irt);
        if (r && g_mime_references_length(r) > 0)
            set_msgid(email, "in_reply_to", g_mime_references_get_message_id(r, 0));
        if (r)
            g_mime_references_free(r);
    }
    const char *refs = g_mime_object_get_header(obj, "References");
    if (refs) {
        GMimeReferences *r = g_mime_references_parse(NULL, refs);
        json_t *arr = json_array();
        int n = r ? g_mime_references_length(r) : 0;
        for (int i = 0; i < n && (unsigned)i < MAIL_MAX_REFERENCES; i++) {
            char buf[MAIL_MAX_FIELD_BYTES + 3];
            snprintf(buf, sizeof buf, "<%s>", g_mime_references_get_message_id(r, i));
            json_t *v = jstr(buf, MAIL_MAX_FIELD_BYTES);
            if (v)
                json_array_append_new(arr, v);
        }
        if (r)
            g_mime_references_free(r);
        if (json_array_size(arr))
            json_object_set_new(email, "references", arr);
        else
            json_decref(arr);
    }
    /* the program that wrote the message (ECS email.x_mailer): X-Mailer,
     * or User-Agent (Thunderbird, mutt) when there is no X-Mailer */
    set_header_text(email, "x_mailer", obj, "X-Mailer");
    if (!json_object_get(email, "x_mailer"))
        set_header_text(email, "x_mailer", obj, "User-Agent");
    GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
    int nh = hl ? g_mime_header_list_get_count(hl) : 0, received = 0;
    for (int i = 0; i < nh; i++) {
        const char *name = g_mime_header_get_name(g_mime_header_list_get_header_at(hl, i));
        if (name && strcasecmp(name, "Received") == 0)
            received++;
    }
    json_object_set_new(email, "received_count", json_integer(received));
}

/* The leaf parts of a message, in order, up to the caps. */
typedef struct part_list {
    GMimePart *part[MAIL_MAX_PARTS];
    unsigned   n;
    bool       capped;
} part_list;

static void walk(GMimeObject *obj, unsigned depth, part_list *pl)
{
    if (!obj)
        return;
    if (depth > MAIL_MAX_DEPTH) {
        pl->capped = true;
        return;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
        /* message/rfc822: its own parts (RFC 2046 5.2.1) */
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        if (inner)
            walk(g_mime_message_get_mime_part(inner), depth + 1, pl);
        return;
    }
    if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        int n = g_mime_multipart_get_count(mp);
        for (int i = 0; i < n; i++)
            walk(g_mime_multipart_get_part(mp, i), depth + 1, pl);
        return;
    }
    if (GMIME_IS_PART(obj)) {
        if (pl->n < MAIL_MAX_PARTS)
            pl->part[pl->n++] = GMIME_PART(obj);
        else
            pl->capped = true;
    }
}

/* A file part: an attachment, a part with a file name, or a non-text
 * part (an inline image); the text bodies of the message are not. */
static bool is_file_part(GMimePart *part, const char **disposition)
{
    GMimeObject *obj = GMIME_OBJECT(part);
    const char *disp = g_mime_object_get_disposition(obj);
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    const char *media = ct ? g_mime_content_type_get_media_type(ct) : NULL;

    if (disp && strcasecmp(disp, "attachment") == 0) {
        *disposition = "attachment";
        return true;
    }
    *disposition = "inline";
    if (g_mime_part_get_filename(part))
        return true;
    return media && strcasecmp(media, "text") != 0;
}

/* Decodes a part's content (Content-Transfer-Encoding undone) into a new
 * GByteArray of at most MAIL_MAX_PART_BYTES (*capped when more). */
/* The bytes of src with a Content-Transfer-Encoding undone (RFC 2045 6),
 * into a new GByteArray of at most MAIL_MAX_PART_BYTES (*capped when more). */
static GByteArray *stream_decode(GMimeStream *src, GMimeContentEncoding enc, bool *capped)
{
    GByteArray *out = g_byte_array_new();
    *capped = false;
    g_mime_stream_reset(src);
    GMimeStream *fs = g_mime_stream_filter_new(src);
    if (enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
        enc == GMIME_CONTENT_ENCODING_UUENCODE) {
        GMimeFilter *f = g_mime_filter_basic_new(enc, FALSE);
        g_mime_stream_filter_add(GMIME_STREAM_FILTER(fs), f);
        g_object_unref(f);
    }
    char buf[16384];
    for (;;) {
        ssize_t n = g_mime_stream_read(fs, buf, sizeof buf);
        if (n <= 0)
            break;
        size_t room = MAIL_MAX_PART_BYTES - out->len;
        if ((size_t)n > room) {
            g_byte_array_append(out, (const guint8 *)buf, (guint)room);
            *capped = true;
            break;
        }
        g_byte_array_append(out, (const guint8 *)buf, (guint)n);
    }
    g_object_unref(fs);
    return out;
}

static GByteArray *part_decode(GMimePart *part, bool *capped)
{
    GMimeDataWrapper *dw = g_mime_part_get_content(part);
    GMimeStream *src = dw ? g_mime_data_wrapper_get_stream(dw) : NULL;
    *capped = false;
    if (!src)
        return g_byte_array_new();
    return stream_decode(src, g_mime_data_wrapper_get_encoding(dw), capped);
}

static void digest(const EVP_MD *md, const uint8_t *d, size_t n, char *out)
{
    uint8_t h[EVP_MAX_MD_SIZE];
    unsigned hl = 0;
    if (EVP_Digest(d, n, h, &hl, md, NULL) == 1)
        hex(h, hl, out);
    else
        out[0] = '\0';
}

/* libmagic's answers by content: the same bytes (a logo in every
 * newsletter, a file sent to many) get the same type, and one call costs
 * about 0.3 ms on bytes no test matches.  Direct-mapped by the SHA-256 of
 * the decoded bytes (MAIL_MAGIC_CACHE entries, under g_magic_mu). */
typedef struct magic_slot {
    char sha[65];
    char type[96];
} magic_slot;
static magic_slot g_magic_cache[MAIL_MAGIC_CACHE];

static void sniff(const uint8_t *d, size_t n, const char *sha256, char *out, size_t cap)
{
    out[0] = '\0';
    if (!g_magic || n == 0)
        return;
    unsigned slot = 0;
    for (int i = 0; i < 6; i++)
        slot = slot * 16 + (unsigned)(sha256[i] <= '9' ? sha256[i] - '0' : sha256[i] - 'a' + 10);
    magic_slot *ms = &g_magic_cache[slot % MAIL_MAGIC_CACHE];
    pthread_mutex_lock(&g_magic_mu);
    if (strcmp(ms->sha, sha256) == 0) {
        snprintf(out, cap, "%s", ms->type);
    } else {
        const char *t = magic_buffer(g_magic, d, n < MAIL_MAGIC_BYTES ? n : MAIL_MAGIC_BYTES);
        if (t) {
            snprintf(out, cap, "%s", t);
            snprintf(ms->type, sizeof ms->type, "%s", t);
            snprintf(ms->sha, sizeof ms->sha, "%s", sha256);
        }
    }
    pthread_mutex_unlock(&g_magic_mu);
}

/* A fileinfo body for decoded bytes (declared is lowered in place);
 * sha256 gets the hex of the SHA-256. */
static json_t *fileinfo_new(const char *filename, char *declared, const char *disposition, const GByteArray *data,
                            const char *state, char sha256[65])
{
    char md5[33], sha1[41], magic[128];

    if (declared)
        for (char *p = declared; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
    digest(EVP_md5(), data->data, data->len, md5);
    digest(EVP_sha1(), data->data, data->len, sha1);
    digest(EVP_sha256(), data->data, data->len, sha256);
    sniff(data->data, data->len, sha256, magic, sizeof magic);

    json_t *fi = json_object();
    set_str(fi, "filename", filename);
    set_str(fi, "content_type", declared);
    set_str(fi, "magic", magic);
    json_object_set_new(fi, "disposition", json_string(disposition));
    json_object_set_new(fi, "size", json_integer((json_int_t)data->len));
    json_object_set_new(fi, "md5", json_string(md5));
    json_object_set_new(fi, "sha1", json_string(sha1));
    json_object_set_new(fi, "sha256", json_string(sha256));
    json_object_set_new(fi, "state", json_string(state));
    return fi;
}

static void file_part(GMimePart *part, const char *disposition, const char *state, json_t *attachments,
                      mail_file_fn file, void *user)
{
    GMimeObject *obj = GMIME_OBJECT(part);
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    char *declared = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
    bool capped;
    GByteArray *data = part_decode(part, &capped);
    char sha256[65];
    /* RFC 2231 continuations and charsets, and RFC 2047 words (which
     * clients use although RFC 2047 5 forbids them there), decoded by
     * GMime; "name" of Content-Type when there is no "filename" */
    json_t *fi = fileinfo_new(g_mime_part_get_filename(part), declared, disposition, data,
                              capped ? "truncated" : state, sha256);

    /* email.attachments: the name and hash; the fileinfo event of this
     * part (message_sha256) has its type, size and other hashes */
    json_t *att = json_object();
    set_str(att, "filename", g_mime_part_get_filename(part));
    json_object_set_new(att, "sha256", json_string(sha256));
    json_array_append_new(attachments, att);

    g_free(declared);
    if (file)
        file(user, fi, data->data, data->len);
    else
        json_decref(fi);
    g_byte_array_free(data, TRUE);
}

/* Where the header block ends (the empty line), or 0 when not within n. */
static size_t header_end(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (d[i] != '\n')
            continue;
        if (i + 1 < n && d[i + 1] == '\n')
            return i + 2;
        if (i + 2 < n && d[i + 1] == '\r' && d[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

static int parse_array(GByteArray *arr, bool cut, bool gaps, json_t *email, mail_file_fn file, void *user)
{
    int rc = 0;
    size_t len = arr->len;

    mail_global_init();
    if (len > MAIL_MAX_HEADER_BYTES && header_end(arr->data, MAIL_MAX_HEADER_BYTES) == 0) {
        /* a header block longer than the cap: only its start is parsed */
        len = MAIL_MAX_HEADER_BYTES;
        rc = 1;
    }
    GMimeStream *st = g_mime_stream_mem_new_with_byte_array(arr);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(st), FALSE);
    if (len < arr->len)
        g_mime_stream_set_bounds(st, 0, (gint64)len);
    GMimeParser *parser = g_mime_parser_new_with_stream(st);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
    g_object_unref(parser);
    if (!msg) {
        g_object_unref(st);
        return -1;
    }
    set_headers(email, msg);

    part_list *pl = calloc(1, sizeof *pl);
    json_t *attachments = json_array();
    if (pl) {
        walk(g_mime_message_get_mime_part(msg), 0, pl);
        if (pl->capped)
            rc = 1;
        for (unsigned i = 0; i < pl->n; i++) {
            const char *disp;
            if (!is_file_part(pl->part[i], &disp))
                continue;
            /* the bytes stop inside the last part when the message was cut */
            const char *state = (i + 1 == pl->n && (cut || gaps || rc)) ? (gaps ? "gaps" : "truncated") : "complete";
            file_part(pl->part[i], disp, state, attachments, file, user);
        }
        free(pl);
    }
    json_object_set_new(email, "attachments", attachments);
    g_object_unref(msg);
    g_object_unref(st);
    return rc;
}

int mail_parse(const uint8_t *data, size_t len, bool cut, bool gaps, json_t *email, mail_file_fn file, void *user)
{
    GByteArray *arr = g_byte_array_sized_new((guint)len);
    g_byte_array_append(arr, data, (guint)len);
    int rc = parse_array(arr, cut, gaps, email, file, user);
    g_byte_array_free(arr, TRUE);
    return rc;
}

/* ------------------------------------------------------------ per connection */

/* One message being assembled from literal bytes. */
typedef struct msg {
    imap_dir          dir;
    imap_literal_kind kind;
    char              tag[64], section[256], mailbox[512];
    uint32_t          seq, uid;
    bool              has_uid;
    bool              header_only;
    EVP_MD_CTX       *sha;
    GByteArray       *buf;        /* kept bytes (<= max_mail_bytes) */
    size_t            charged;    /* bytes charged to g_held */
    uint64_t          size;       /* bytes received */
    bool              cut;        /* bytes past the cap not kept */
    bool              refused;    /* cut by LIM_MAIL_MEMCAP */
    bool              gaps;       /* a literal ended incomplete */
    /* partial join */
    bool              part_fetch;   /* BODY[n] / BINARY[n]: one body part, not a message */
    bool              binary_section; /* BINARY[n]: the bytes come decoded (RFC 3516) */
    char              part[64];     /* "2", "1.2" */
    bool              partial;
    bool              partial_done; /* the last chunk was seen (shorter than the first) */
    uint64_t          next_origin;
    uint64_t          chunk;      /* size of the first chunk */
} msg;

/* A parsed message (or envelope) waiting for its tagged response. */
typedef struct waiting {
    json_t   *email;
    json_t   *files;     /* array of fileinfo bodies */
    imap_dir  dir;
    uint32_t  seq;
    char      tag[64];   /* APPEND: the client tag; FETCH: "" until the response */
    uint64_t  size;
    char      mailbox[512];
} waiting;

/* What BODYSTRUCTURE said of one part (RFC 9051 7.5.2: body-fields), kept
 * per connection for the parts fetched later (BODY[2]: its bytes are still
 * transfer-encoded). */
typedef struct bs_entry {
    bool     has_uid;
    uint32_t uid, seq;
    char     part[32];
    char     encoding[24];
    char     mime[96];
    char     disposition[16];
    char     filename[256];
} bs_entry;

typedef struct mb_count {
    char     *name;
    uint64_t  msgs[2], bytes[2]; /* by direction: [0] appended (client), [1] fetched (server) */
} mb_count;

struct mail_conn {
    mail_config  cfg;
    mail_stats  *stats;
    mail_emit_fn emit;
    void        *user;
    msg         *cur[2];       /* the message the current literal of dir feeds, or NULL */
    msg         *join;         /* a partial fetch being joined (server) */
    msg         *catenate;     /* APPEND CATENATE TEXT parts of the current client line */
    waiting     *wait;         /* parsed, waiting for the tagged response (grown on
                                * demand up to MAIL_MAX_PENDING: most connections
                                * carry no message and hold nothing) */
    unsigned     nwait, wait_cap;
    waiting     *ready;        /* done, written at mail_flush (after the tagged line) */
    msg         *held[MAIL_MAX_HELD_PARTS]; /* body parts fetched, waiting for their structure */
    unsigned     nheld;
    bs_entry    *bs;           /* ring of MAIL_BS_CACHE entries, allocated at the first */
    unsigned     nbs, bs_next;
    unsigned     nready, ready_cap;
    mb_count    *mb;           /* per mailbox, grown on demand up to MAIL_MAX_MAILBOXES */
    unsigned     nmb, mb_cap;
    bool         mb_truncated;
    bool         ended;
};

static void msg_free(msg *g)
{
    if (!g)
        return;
    if (g->charged)
        atomic_fetch_sub(&g_held, g->charged);
    if (g->sha)
        EVP_MD_CTX_free(g->sha);
    if (g->buf)
        g_byte_array_free(g->buf, TRUE);
    free(g);
}

static msg *msg_new(const imap_literal_info *li)
{
    msg *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->sha = EVP_MD_CTX_new();
    g->buf = g_byte_array_new();
    if (!g->sha || !g->buf || EVP_DigestInit_ex(g->sha, EVP_sha256(), NULL) != 1) {
        msg_free(g);
        return NULL;
    }
    g->dir = li->dir;
    g->kind = li->kind;
    snprintf(g->tag, sizeof g->tag, "%s", li->dir == IMAP_DIR_CLIENT ? li->tag : "");
    snprintf(g->section, sizeof g->section, "%s", li->section ? li->section : "");
    snprintf(g->mailbox, sizeof g->mailbox, "%s", li->mailbox ? li->mailbox : "");
    g->seq = li->seq;
    g->uid = li->uid;
    g->has_uid = li->has_uid;
    /* RFC 9051 6.4.5: HEADER, HEADER.FIELDS [.NOT] and RFC822.HEADER are
     * header sections; BODY[] / BINARY[] / RFC822 the whole message */
    g->header_only = strstr(g->section, "HEADER") != NULL;
    return g;
}

/* "BODY[2]", "BINARY[1.2]": the part number (RFC 9051 9: section-part =
 * nz-number *("." nz-number)) into part. */
static bool body_part_section(const char *s, char *part, size_t cap)
{
    const char *p = !strncmp(s, "BODY[", 5) ? s + 5 : !strncmp(s, "BINARY[", 7) ? s + 7 : NULL;
    if (!p || *p < '1' || *p > '9')
        return false;
    size_t n = strspn(p, "0123456789.");
    if (p[n] != ']' || p[n + 1] != '\0' || p[n - 1] == '.' || n >= cap)
        return false;
    memcpy(part, p, n);
    part[n] = '\0';
    return true;
}

static bool whole_message_section(const char *s)
{
    return !strcmp(s, "BODY[]") || !strcmp(s, "BINARY[]") || !strcmp(s, "RFC822") ||
           !strcmp(s, "RFC822.HEADER") || !strncmp(s, "BODY[HEADER", 11);
}

mail_conn *mail_conn_new(const mail_config *cfg, mail_stats *stats, mail_emit_fn emit, void *user)
{
    if (!cfg->enabled)
        return NULL;
    mail_global_init();
    mail_conn *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cfg = *cfg;
    m->stats = stats;
    m->emit = emit;
    m->user = user;
    return m;
}

static mb_count *mb_get(mail_conn *m, const char *name)
{
    for (unsigned i = 0; i < m->nmb; i++)
        if (!strcmp(m->mb[i].name, name))
            return &m->mb[i];
    if (m->nmb == MAIL_MAX_MAILBOXES) {
        m->mb_truncated = true;
        return NULL;
    }
    if (m->nmb == m->mb_cap) {
        unsigned ncap = m->mb_cap ? m->mb_cap * 2 : 4;
        if (ncap > MAIL_MAX_MAILBOXES)
            ncap = MAIL_MAX_MAILBOXES;
        mb_count *nm = realloc(m->mb, ncap * sizeof *nm);
        if (!nm)
            return NULL;
        m->mb = nm;
        m->mb_cap = ncap;
    }
    memset(&m->mb[m->nmb], 0, sizeof m->mb[m->nmb]);
    char *dup = strdup(name);
    if (!dup)
        return NULL;
    m->mb[m->nmb].name = dup;
    return &m->mb[m->nmb++];
}

static void emit_waiting(mail_conn *m, waiting *w, uint64_t ts);

/* A message whose command completed: written at the next mail_flush (the
 * trace shows it after the tagged response's line), or now when
 * MAIL_MAX_READY wait already. */
static void done(mail_conn *m, waiting *w, uint64_t ts)
{
    if (m->nready == m->ready_cap && m->ready_cap < MAIL_MAX_READY) {
        unsigned ncap = m->ready_cap ? m->ready_cap * 2 : 8;
        waiting *nr = realloc(m->ready, ncap * sizeof *nr);
        if (nr) {
            m->ready = nr;
            m->ready_cap = ncap;
        }
    }
    if (m->nready < m->ready_cap && !m->ended)
        m->ready[m->nready++] = *w;
    else
        emit_waiting(m, w, ts);
}

void mail_flush(mail_conn *m, uint64_t ts)
{
    if (!m)
        return;
    for (unsigned i = 0; i < m->nready; i++)
        emit_waiting(m, &m->ready[i], ts);
    m->nready = 0;
}

static void emit_waiting(mail_conn *m, waiting *w, uint64_t ts)
{
    const char *src = json_string_value(json_object_get(w->email, "source"));
    if (src && strcmp(src, "message") == 0) {
        /* whole messages only: a header fetch is not a read */
        mb_count *c = mb_get(m, w->mailbox);
        if (c) {
            c->msgs[w->dir]++;
            c->bytes[w->dir] += w->size;
        }
    }
    /* the message's identity on each of its files */
    json_t *email = w->email;
    size_t i;
    json_t *fi;
    json_array_foreach(w->files, i, fi) {
        static const char *const keys[] = { "direction", "tag", "uid" };
        for (size_t k = 0; k < 3; k++) {
            json_t *v = json_object_get(email, keys[k]);
            if (v)
                json_object_set(fi, keys[k], v);
        }
        json_t *v = json_object_get(email, "sha256");
        if (v)
            json_object_set(fi, "message_sha256", v);
        v = json_object_get(email, "message_id");
        if (v)
            json_object_set(fi, "message_id", v);
    }
    if (email)
        m->emit(m->user, "email", ts, email);
    json_array_foreach(w->files, i, fi)
        m->emit(m->user, "fileinfo", ts, json_incref(fi));
    json_decref(w->files);
    w->email = w->files = NULL;
}

/* The email body in the order of docs/output.md: identity first.  No
 * command: the imap event of the same flow_id and tag has it. */
static json_t *email_head(const char *direction, const char *source, const char *tag, const char *mailbox,
                          bool has_uid, uint32_t uid, uint32_t seq, const char *section)
{
    json_t *e = json_object();
    json_object_set_new(e, "direction", json_string(direction));
    json_object_set_new(e, "source", json_string(source));
    if (tag && *tag)
        json_object_set_new(e, "tag", jstr(tag, 64));
    if (mailbox && *mailbox)
        set_str(e, "mailbox", mailbox);
    if (has_uid)
        json_object_set_new(e, "uid", json_integer(uid));
    if (seq)
        json_object_set_new(e, "seq", json_integer(seq));
    if (section && *section)
        set_str(e, "section", section);
    return e;
}

typedef struct file_ctx {
    mail_conn *m;
    json_t    *files;
} file_ctx;

static void on_file(void *user, json_t *fi, const uint8_t *data, size_t len)
{
    file_ctx *fc = user;
    extract *x = fc->m->cfg.extract;
    if (x) {
        const char *sha = json_string_value(json_object_get(fi, "sha256"));
        const char *magic = json_string_value(json_object_get(fi, "magic"));
        const char *decl = json_string_value(json_object_get(fi, "content_type"));
        const char *state = json_string_value(json_object_get(fi, "state"));
        if (sha && state && !strcmp(state, "complete") && extract_wants(x, magic, decl) &&
            extract_store(x, sha, "", data, len))
            json_object_set_new(fi, "stored", json_true());
    }
    fc->m->stats->files++;
    json_array_append_new(fc->files, fi);
}

/* Queues a finished email (stolen) with its files; written at once when
 * the queue is full or the connection ended. */
static void queue(mail_conn *m, json_t *email, json_t *files, imap_dir dir, uint32_t seq, const char *tag,
                  uint64_t size, const char *mailbox, uint64_t ts)
{
    waiting w = { email, files, dir, seq, "", size, "" };
    snprintf(w.tag, sizeof w.tag, "%s", tag ? tag : "");
    snprintf(w.mailbox, sizeof w.mailbox, "%s", mailbox ? mailbox : "");
    if (m->nwait == m->wait_cap && m->wait_cap < MAIL_MAX_PENDING) {
        unsigned ncap = m->wait_cap ? m->wait_cap * 2 : 4;
        waiting *nw = realloc(m->wait, (ncap < MAIL_MAX_PENDING ? ncap : MAIL_MAX_PENDING) * sizeof *nw);
        if (nw) {
            m->wait = nw;
            m->wait_cap = ncap < MAIL_MAX_PENDING ? ncap : MAIL_MAX_PENDING;
        }
    }
    if (m->nwait == m->wait_cap || m->ended) {
        if (!m->ended)
            m->stats->pending_overflow++;
        emit_waiting(m, &w, ts);
        return;
    }
    m->wait[m->nwait++] = w;
}

/* A message is complete (or as complete as it will be): parse, queue. */
static void msg_finish(mail_conn *m, msg *g, uint64_t ts)
{
    /* a join is complete only when its last (short) chunk was seen */
    bool complete = !g->gaps && (!g->partial || g->partial_done);
    char sha[65];
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;

    EVP_DigestFinal_ex(g->sha, md, &mdlen);
    hex(md, mdlen, sha);
    m->stats->messages++;
    m->stats->bytes += g->size;
    if (g->cut)
        m->stats->truncated++;

    const char *direction = g->dir == IMAP_DIR_SERVER ? "fetched" : "appended";
    json_t *email = email_head(direction, g->header_only ? "header" : "message", g->tag, g->mailbox,
                               g->has_uid, g->uid, g->dir == IMAP_DIR_SERVER ? g->seq : 0, g->section);
    json_t *hdrs = json_object();
    json_t *files = json_array();
    file_ctx fc = { m, files };
    int rc = parse_array(g->buf, g->cut, g->gaps, hdrs, on_file, &fc);
    if (rc < 0)
        m->stats->parse_failed++;
    if (rc == 1)
        m->stats->parts_capped++;
    json_t *att = json_object_get(hdrs, "attachments");
    json_incref(att);
    json_object_del(hdrs, "attachments");
    json_object_update(email, hdrs);
    json_decref(hdrs);
    json_object_set_new(email, "size", json_integer((json_int_t)g->size));
    /* the hash names the message: a header-only fetch has none (a SIEM
     * would match it against message hashes) */
    if (complete && !g->header_only)
        json_object_set_new(email, "sha256", json_string(sha));
    /* as fileinfo.state: gaps (bytes lost, or a join without its last
     * part) before truncated (a cap reached: the rest not parsed) */
    json_object_set_new(email, "state",
                        json_string(!complete ? "gaps" : (g->cut || rc == 1) ? "truncated" : "complete"));
    if (g->refused)
        json_object_set_new(email, "memcap", json_true());
    if (g->partial)
        json_object_set_new(email, "partial_joined", json_true());
    if (att && !g->header_only)
        json_object_set_new(email, "attachments", att);
    else
        json_decref(att);
    if (m->cfg.extract && complete && !g->cut && !g->header_only &&
        extract_store(m->cfg.extract, sha, ".eml", g->buf->data, g->buf->len))
        json_object_set_new(email, "stored", json_true());
    queue(m, email, files, g->dir, g->seq, g->tag, g->size, g->mailbox, ts);
    msg_free(g);
}

static void join_flush(mail_conn *m, uint64_t ts)
{
    if (m->join) {
        msg *g = m->join;
        m->join = NULL;
        msg_finish(m, g, ts);
    }
}

void mail_literal_begin(mail_conn *m, const imap_literal_info *li, uint64_t ts)
{
    if (!m || (li->dir != IMAP_DIR_CLIENT && li->dir != IMAP_DIR_SERVER))
        return;
    imap_dir d = li->dir;
    if (m->cur[d] && m->cur[d] != m->join && m->cur[d] != m->catenate)
        msg_free(m->cur[d]);
    m->cur[d] = NULL;
    switch (li->kind) {
    case IMAP_LITERAL_FETCH: {
        char part[64];
        if (body_part_section(li->section, part, sizeof part) && !li->has_origin) {
            /* BODY[2], BINARY[1.2]: a part downloaded on its own (how many
             * clients fetch attachments) */
            msg *g = msg_new(li);
            if (g) {
                g->part_fetch = true;
                g->header_only = false;
                g->binary_section = !strncmp(li->section, "BINARY[", 7);
                snprintf(g->part, sizeof g->part, "%s", part);
            }
            m->cur[d] = g;
            return;
        }
        if (!whole_message_section(li->section))
            return; /* BODY[TEXT], RFC822.TEXT, BODY[1.MIME]: no message */
        if (li->has_origin) {
            /* RFC 9051 6.4.5: BODY[]<origin> partial fetches, joined when
             * contiguous from 0 for the same message and section */
            msg *j = m->join;
            bool same = j && !strcmp(j->section, li->section) && j->has_uid == li->has_uid &&
                        (li->has_uid ? j->uid == li->uid : j->seq == li->seq) &&
                        !strcmp(j->mailbox, li->mailbox ? li->mailbox : "");
            if (same && li->origin == j->next_origin) {
                m->stats->partial_joined++;
                m->cur[d] = j;
                return;
            }
            join_flush(m, ts);
            if (li->origin != 0) {
                m->stats->partial_dropped++;
                return;
            }
            m->join = msg_new(li);
            if (m->join) {
                m->join->partial = true;
                m->join->chunk = li->size;
                m->stats->partial_joined++;
            }
            m->cur[d] = m->join;
            return;
        }
        m->cur[d] = msg_new(li);
        return;
    }
    case IMAP_LITERAL_APPEND:
        m->cur[d] = msg_new(li);
        return;
    case IMAP_LITERAL_CATENATE:
        /* RFC 4469: the TEXT parts of one CATENATE are one message (URL
         * parts are not in the traffic) */
        if (!m->catenate)
            m->catenate = msg_new(li);
        m->cur[d] = m->catenate;
        return;
    default:
        return;
    }
}

void mail_literal_data(mail_conn *m, imap_dir dir, const uint8_t *data, size_t len)
{
    if (!m || (dir != IMAP_DIR_CLIENT && dir != IMAP_DIR_SERVER) || !m->cur[dir])
        return;
    msg *g = m->cur[dir];
    EVP_DigestUpdate(g->sha, data, len);
    g->size += len;
    if (g->cut)
        return;
    size_t room = m->cfg.max_mail_bytes > g->buf->len ? m->cfg.max_mail_bytes - g->buf->len : 0;
    size_t take = len < room ? len : room;
    if (take > 0) {
        size_t prev = atomic_fetch_add(&g_held, take);
        if (prev + take > LIM_MAIL_MEMCAP) {
            atomic_fetch_sub(&g_held, take);
            if (!g->refused)
                m->stats->memcap_refused++;
            g->refused = true;
            g->cut = true;
            return;
        }
        g->charged += take;
        g_byte_array_append(g->buf, data, (guint)take);
    }
    if (take < len)
        g->cut = true;
}

/* The file name in a parameter string in MIME header form
 * ("name=value; ..."; docs/output.md, BODYSTRUCTURE "params" and
 * "disposition"): parameter key (filename / name, RFC 2231 sections and
 * charsets decoded by GMime, which knows more charsets than the
 * dissector).  The dissector already took out the names it could decode
 * into the part's "filename"; this reads the ones it left as sent. */
static bool param_filename(const char *params, const char *key, char *out, size_t cap)
{
    out[0] = '\0';
    if (!params || !*params)
        return false;
    GMimeParamList *pl = g_mime_param_list_parse(NULL, params);
    GMimeParam *pa = pl ? g_mime_param_list_get_parameter(pl, key) : NULL;
    if (pa && g_mime_param_get_value(pa)) {
        char *dec = g_mime_utils_header_decode_text(NULL, g_mime_param_get_value(pa));
        snprintf(out, cap, "%s", dec ? dec : g_mime_param_get_value(pa));
        g_free(dec);
    }
    if (pl)
        g_object_unref(pl);
    return out[0] != '\0';
}

/* Remembers the parts of every BODYSTRUCTURE among a FETCH's decoded
 * responses (docs/output.md: a flat array of parts with "part"). */
static void bs_record(mail_conn *m, const imap_node *responses)
{
    for (size_t r = 0; r < imap_node_size(responses); r++) {
        const imap_node *resp = imap_node_at(responses, r);
        const imap_node *bsn = imap_node_get(resp, "bodystructure");
        if (!bsn)
            continue;
        const imap_node *uidn = imap_node_get(resp, "uid");
        for (size_t k = 0; k < imap_node_size(bsn) && k < MAIL_MAX_PARTS; k++) {
            const imap_node *e = imap_node_at(bsn, k);
            const char *part = imap_node_str(imap_node_get(e, "part"), NULL);
            const char *mime = imap_node_str(imap_node_get(e, "mime_type"), NULL);
            if (!part || !*part || (mime && !strncasecmp(mime, "multipart/", 10)))
                continue;
            if (!m->bs && !(m->bs = calloc(MAIL_BS_CACHE, sizeof *m->bs)))
                return;
            bs_entry *b = &m->bs[m->bs_next];
            m->bs_next = (m->bs_next + 1) % MAIL_BS_CACHE;
            if (m->nbs < MAIL_BS_CACHE)
                m->nbs++;
            memset(b, 0, sizeof *b);
            b->has_uid = uidn != NULL;
            b->uid = (uint32_t)imap_node_int(uidn);
            b->seq = (uint32_t)imap_node_int(imap_node_get(resp, "number"));
            snprintf(b->part, sizeof b->part, "%s", part);
            const char *enc = imap_node_str(imap_node_get(e, "encoding"), NULL);
            snprintf(b->encoding, sizeof b->encoding, "%s", enc ? enc : "");
            snprintf(b->mime, sizeof b->mime, "%s", mime ? mime : "");
            /* "attachment; size=2048": the disposition type is its first word */
            const char *dt = imap_node_str(imap_node_get(e, "disposition"), NULL);
            size_t dl = dt ? strcspn(dt, "; \t") : 0;
            snprintf(b->disposition, sizeof b->disposition, "%.*s", (int)dl, dt ? dt : "");
            const char *fn = imap_node_str(imap_node_get(e, "filename"), NULL);
            if (fn)
                snprintf(b->filename, sizeof b->filename, "%s", fn);
            else if (!(dt && dt[dl] && param_filename(dt + dl + strspn(dt + dl, "; \t"), "filename", b->filename,
                                                       sizeof b->filename)))
                param_filename(imap_node_str(imap_node_get(e, "params"), NULL), "name", b->filename,
                               sizeof b->filename);
        }
    }
}

static const bs_entry *bs_lookup(const mail_conn *m, const msg *g)
{
    /* newest first */
    for (unsigned i = 0; i < m->nbs; i++) {
        const bs_entry *b = &m->bs[(m->bs_next + MAIL_BS_CACHE - 1 - i) % MAIL_BS_CACHE];
        if (strcmp(b->part, g->part) != 0)
            continue;
        if (g->has_uid && b->has_uid ? b->uid == g->uid : b->seq == g->seq)
            return b;
    }
    return NULL;
}

/* A body part fetched on its own becomes a fileinfo when it is a file
 * (its BODYSTRUCTURE says attachment, a file name, or a type that is not
 * text; BINARY[n] with no structure seen is taken as one).  BODY[n] bytes
 * are transfer-encoded: decoded by the structure's encoding, so without it
 * they are only counted (stats.mail.parts_unknown). */
static void part_finish(mail_conn *m, msg *g, const char *tag, uint64_t ts)
{
    const bs_entry *b = bs_lookup(m, g);
    if (!b && !g->binary_section) {
        m->stats->parts_unknown++;
        msg_free(g);
        return;
    }
    const char *disp = b && !strcasecmp(b->disposition, "attachment") ? "attachment" : "inline";
    bool file = !b || !strcasecmp(b->disposition, "attachment") || b->filename[0] ||
                (strncasecmp(b->mime, "text/", 5) != 0 && strncasecmp(b->mime, "message/", 8) != 0);
    if (!file) {
        msg_free(g);
        return;
    }
    GMimeContentEncoding enc = g->binary_section || !b ? GMIME_CONTENT_ENCODING_DEFAULT
                                                       : g_mime_content_encoding_from_string(b->encoding);
    GMimeStream *st = g_mime_stream_mem_new_with_byte_array(g->buf);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(st), FALSE);
    bool capped;
    GByteArray *data = stream_decode(st, enc, &capped);
    g_object_unref(st);
    char *declared = b && b->mime[0] ? g_strdup(b->mime) : NULL;
    char sha256[65];
    const char *state = g->gaps ? "gaps" : (g->cut || capped) ? "truncated" : "complete";
    json_t *fi = fileinfo_new(b && b->filename[0] ? b->filename : NULL, declared, disp, data, state, sha256);
    g_free(declared);
    if (m->cfg.extract && !strcmp(state, "complete") &&
        extract_wants(m->cfg.extract, json_string_value(json_object_get(fi, "magic")),
                      json_string_value(json_object_get(fi, "content_type"))) &&
        extract_store(m->cfg.extract, sha256, "", data->data, data->len))
        json_object_set_new(fi, "stored", json_true());
    g_byte_array_free(data, TRUE);
    json_object_set_new(fi, "direction", json_string("fetched"));
    if (tag && *tag)
        json_object_set_new(fi, "tag", json_string(tag));
    if (g->has_uid)
        json_object_set_new(fi, "uid", json_integer(g->uid));
    set_str(fi, "section", g->section);
    m->stats->files++;
    json_t *files = json_array();
    json_array_append_new(files, fi);
    waiting w = { NULL, files, IMAP_DIR_SERVER, g->seq, "", 0, "" };
    done(m, &w, ts);
    msg_free(g);
}

void mail_literal_end(mail_conn *m, imap_dir dir, bool complete, uint64_t ts)
{
    if (!m || (dir != IMAP_DIR_CLIENT && dir != IMAP_DIR_SERVER) || !m->cur[dir])
        return;
    msg *g = m->cur[dir];
    m->cur[dir] = NULL;
    if (!complete)
        g->gaps = true;
    if (g == m->catenate)
        return; /* finished at the end of the line */
    if (g->part_fetch) {
        /* its structure may come later in this command's responses */
        if (m->nheld < MAIL_MAX_HELD_PARTS)
            m->held[m->nheld++] = g;
        else
            part_finish(m, g, "", ts);
        return;
    }
    if (g == m->join) {
        uint64_t got = g->size - g->next_origin;
        g->next_origin = g->size;
        /* a chunk shorter than the first (or empty) is the last one
         * (RFC 9051 6.4.5: the server returns what there is); a gap ends
         * the join too */
        if (g->gaps || got < g->chunk || got == 0) {
            g->partial_done = !g->gaps;
            join_flush(m, ts);
        }
        return;
    }
    msg_finish(m, g, ts);
}

void mail_line_end(mail_conn *m, const imap_literal_info *li, uint64_t ts)
{
    if (!m)
        return;
    if (li->dir == IMAP_DIR_CLIENT && m->catenate) {
        msg *g = m->catenate;
        m->catenate = NULL;
        msg_finish(m, g, ts);
    }
    if (li->dir == IMAP_DIR_SERVER && li->kind == IMAP_LITERAL_FETCH && li->has_uid) {
        /* the UID sent after the literal (RFC 9051 7.5.2 gives no order) */
        for (unsigned i = 0; i < m->nwait; i++) {
            waiting *w = &m->wait[i];
            if (w->dir == IMAP_DIR_SERVER && w->seq == li->seq && !w->tag[0] && !json_object_get(w->email, "uid"))
                json_object_set_new(w->email, "uid", json_integer(li->uid));
        }
        if (m->join && m->join->seq == li->seq && !m->join->has_uid) {
            m->join->has_uid = true;
            m->join->uid = li->uid;
        }
    }
}

/* Sets a key in an object keeping the order of the rest: rebuilds it
 * with key placed before `before` (or at the end). */
static void set_before(json_t *obj, const char *key, json_t *val, const char *before)
{
    if (json_object_get(obj, key)) {
        json_object_set_new(obj, key, val);
        return;
    }
    json_t *copy = json_object();
    const char *k;
    json_t *v;
    bool placed = false;
    json_object_foreach(obj, k, v) {
        if (!placed && before && !strcmp(k, before)) {
            json_object_set_new(copy, key, val);
            placed = true;
        }
        json_object_set(copy, k, v);
    }
    if (!placed)
        json_object_set_new(copy, key, val);
    json_object_clear(obj);
    json_object_update(obj, copy);
    json_decref(copy);
}

/* The first of four keys that obj has (NULL: none), to place a key before. */
static const char *first_key(const json_t *obj, const char *a, const char *b, const char *c, const char *d)
{
    const char *k[4] = {a, b, c, d};
    for (int i = 0; i < 4; i++)
        if (json_object_get(obj, k[i]))
            return k[i];
    return NULL;
}

static const char *node_s(const imap_node *n)
{
    return imap_node_str(n, NULL);
}

/* An "email" of source envelope from a decoded FETCH response
 * (docs/output.md: the "envelope" object of a FETCH response). */
static json_t *email_from_envelope(const imap_node *resp, const imap_node *env, const char *tag,
                                   const char *mailbox)
{
    const imap_node *uidn = imap_node_get(resp, "uid");
    json_t *e = email_head("fetched", "envelope", tag, mailbox, uidn != NULL,
                           (uint32_t)imap_node_int(uidn), (uint32_t)imap_node_int(imap_node_get(resp, "number")),
                           NULL);
    /* the envelope's six address fields (RFC 9051 7.5.2), in its order,
     * as set_addresses writes a message's */
    static const char *const fields[] = { "from", "sender", "reply_to", "to", "cc", "bcc" };
    const imap_node *addrs = imap_node_get(env, "addresses");
    json_t *arr = json_array();
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        unsigned n = 0;
        for (size_t i = 0; i < imap_node_size(addrs) && n < MAIL_MAX_ADDRESSES; i++) {
            const imap_node *a = imap_node_at(addrs, i);
            const char *field = node_s(imap_node_get(a, "field"));
            if (!field || strcmp(field, fields[f]) != 0)
                continue;
            if (address_add(arr, fields[f], node_s(imap_node_get(a, "name")), /* RFC 2047 decoded */
                            node_s(imap_node_get(a, "address"))))
                n++;
        }
    }
    if (json_array_size(arr))
        json_object_set_new(e, "addresses", arr);
    else
        json_decref(arr);
    set_str(e, "subject", node_s(imap_node_get(env, "subject"))); /* RFC 2047 decoded */
    set_str(e, "date", node_s(imap_node_get(env, "date")));
    set_str(e, "message_id", node_s(imap_node_get(env, "message_id")));
    set_str(e, "in_reply_to", node_s(imap_node_get(env, "in_reply_to")));
    return e; /* no bytes: no state */
}

void mail_transaction(mail_conn *m, const imap_transaction *t, uint64_t ts)
{
    if (!m)
        return;
    bool fetch = t->command == IMAP_CMD_FETCH || t->command == IMAP_CMD_UID_FETCH;
    bool append = t->command == IMAP_CMD_APPEND;
    if (!fetch && !append)
        return;
    char tag[64], mailbox[512];
    snprintf(tag, sizeof tag, "%.*s", (int)(t->tag.len < 63 ? t->tag.len : 63), t->tag.ptr ? t->tag.ptr : "");
    const char *mb = node_s(imap_node_get(t->obj, "mailbox"));
    snprintf(mailbox, sizeof mailbox, "%s", mb ? mb : "");

    /* A join whose size is a multiple of the part size ends with an empty
     * part, sent as "" or NIL (no literal): seen here among the decoded
     * responses ("sections": [{"item", "section", "origin", "size"}]). */
    if (fetch && m->join) {
        msg *j = m->join;
        for (size_t r = 0; r < imap_node_size(t->responses) && m->join; r++) {
            const imap_node *resp = imap_node_at(t->responses, r);
            const imap_node *uidn = imap_node_get(resp, "uid");
            if (j->has_uid ? (!uidn || (uint32_t)imap_node_int(uidn) != j->uid)
                           : (uint32_t)imap_node_int(imap_node_get(resp, "number")) != j->seq)
                continue;
            const imap_node *secs = imap_node_get(resp, "sections");
            for (size_t k = 0; k < imap_node_size(secs); k++) {
                const imap_node *sec = imap_node_at(secs, k);
                const imap_node *org = imap_node_get(sec, "origin"), *sz = imap_node_get(sec, "size");
                char name[300];
                snprintf(name, sizeof name, "%s[%s]", node_s(imap_node_get(sec, "item")) ? node_s(imap_node_get(sec, "item")) : "",
                         node_s(imap_node_get(sec, "section")) ? node_s(imap_node_get(sec, "section")) : "");
                if (org && sz && (uint64_t)imap_node_int(org) == j->next_origin && !strcasecmp(name, j->section) &&
                    (imap_node_kind_of(sz) == IMAP_NODE_NULL || imap_node_int(sz) == 0)) {
                    j->partial_done = !j->gaps;
                    join_flush(m, ts);
                    break;
                }
            }
        }
    }

    if (fetch) {
        bs_record(m, t->responses);
        for (unsigned i = 0; i < m->nheld; i++) {
            msg *g = m->held[i];
            /* the UID from the decoded responses, when sent after the literal */
            for (size_t r = 0; r < imap_node_size(t->responses) && !g->has_uid; r++) {
                const imap_node *resp = imap_node_at(t->responses, r);
                const imap_node *uidn = imap_node_get(resp, "uid");
                if (uidn && (uint32_t)imap_node_int(imap_node_get(resp, "number")) == g->seq) {
                    g->has_uid = true;
                    g->uid = (uint32_t)imap_node_int(uidn);
                }
            }
            part_finish(m, g, tag, ts);
        }
        m->nheld = 0;
    }

    /* the seqs that got a message, for the ENVELOPE-only ones below */
    uint32_t done_seq[MAIL_MAX_PENDING];
    unsigned ndone = 0;
    unsigned keep = 0;
    for (unsigned i = 0; i < m->nwait; i++) {
        waiting *w = &m->wait[i];
        bool mine = fetch ? (w->dir == IMAP_DIR_SERVER && !w->tag[0])
                          : (w->dir == IMAP_DIR_CLIENT && !strcmp(w->tag, tag));
        if (!mine) {
            m->wait[keep++] = *w;
            continue;
        }
        if (fetch) {
            set_before(w->email, "tag", json_string(tag), first_key(w->email, "mailbox", "uid", "seq", "section"));
            if (mailbox[0] && !json_object_get(w->email, "mailbox")) {
                set_before(w->email, "mailbox", json_string(mailbox), "uid");
                snprintf(w->mailbox, sizeof w->mailbox, "%s", mailbox);
            }
            if (!json_object_get(w->email, "uid")) {
                /* the UID among the decoded responses of this command */
                for (size_t r = 0; r < imap_node_size(t->responses); r++) {
                    const imap_node *resp = imap_node_at(t->responses, r);
                    if ((uint32_t)imap_node_int(imap_node_get(resp, "number")) == w->seq &&
                        imap_node_get(resp, "uid")) {
                        set_before(w->email, "uid", json_integer(imap_node_int(imap_node_get(resp, "uid"))),
                                   "seq");
                        break;
                    }
                }
            }
            if (ndone < MAIL_MAX_PENDING)
                done_seq[ndone++] = w->seq;
        } else {
            /* RFC 4315 APPENDUID uidvalidity uid */
            /* ("uids": {"count": 1, "ranges": [[uid, uid]]}); MULTIAPPEND
             * gives a set: one UID per message, not matched here */
            const imap_node *uids = imap_node_get(t->code.value, "uids");
            const imap_node *r0 = imap_node_at(imap_node_get(uids, "ranges"), 0);
            if (t->code.code == IMAP_CODE_APPENDUID && imap_node_int(imap_node_get(uids, "count")) == 1 &&
                imap_node_kind_of(imap_node_at(r0, 0)) == IMAP_NODE_INT && !json_object_get(w->email, "uid"))
                set_before(w->email, "uid", json_integer(imap_node_int(imap_node_at(r0, 0))),
                           first_key(w->email, "seq", "section", "addresses", "subject"));
            if (t->status != IMAP_STATUS_OK)
                json_object_set_new(w->email, "status", json_string(imap_status_name(t->status)));
        }
        done(m, w, ts);
    }
    m->nwait = keep;
    if (!fetch)
        return;
    for (size_t r = 0; r < imap_node_size(t->responses); r++) {
        const imap_node *resp = imap_node_at(t->responses, r);
        const imap_node *env = imap_node_get(resp, "envelope");
        if (!env)
            continue;
        uint32_t seq = (uint32_t)imap_node_int(imap_node_get(resp, "number"));
        bool had = false;
        for (unsigned i = 0; i < ndone && !had; i++)
            had = done_seq[i] == seq;
        if (had)
            continue;
        m->stats->envelopes++;
        waiting w = { email_from_envelope(resp, env, tag, mailbox), json_array(), IMAP_DIR_SERVER, seq,
                      "", 0, "" };
        done(m, &w, ts);
    }
}

void mail_conn_end(mail_conn *m, uint64_t ts)
{
    if (!m || m->ended)
        return;
    mail_flush(m, ts);
    for (unsigned i = 0; i < m->nheld; i++)
        part_finish(m, m->held[i], "", ts);
    m->nheld = 0;
    for (int d = 0; d < 2; d++) {
        if (m->cur[d] && m->cur[d] != m->join && m->cur[d] != m->catenate)
            msg_free(m->cur[d]);
        m->cur[d] = NULL;
    }
    join_flush(m, ts);
    if (m->catenate) {
        msg *g = m->catenate;
        m->catenate = NULL;
        msg_finish(m, g, ts);
    }
    for (unsigned i = 0; i < m->nwait; i++)
        emit_waiting(m, &m->wait[i], ts);
    m->nwait = 0;
    mail_flush(m, ts); /* the parts held above */
    m->ended = true;
}

json_t *mail_conn_summary(const mail_conn *m, bool *truncated)
{
    *truncated = false;
    if (!m || m->nmb == 0)
        return NULL;
    json_t *arr = json_array();
    for (unsigned i = 0; i < m->nmb; i++) {
        const mb_count *c = &m->mb[i];
        json_t *o = json_object();
        json_t *name = jstr(c->name, MAIL_MAX_FIELD_BYTES);
        json_object_set_new(o, "mailbox", name ? name : json_string(""));
        json_object_set_new(o, "messages_fetched", json_integer((json_int_t)c->msgs[IMAP_DIR_SERVER]));
        json_object_set_new(o, "bytes_fetched", json_integer((json_int_t)c->bytes[IMAP_DIR_SERVER]));
        json_object_set_new(o, "messages_appended", json_integer((json_int_t)c->msgs[IMAP_DIR_CLIENT]));
        json_object_set_new(o, "bytes_appended", json_integer((json_int_t)c->bytes[IMAP_DIR_CLIENT]));
        json_array_append_new(arr, o);
    }
    *truncated = m->mb_truncated;
    return arr;
}

void mail_conn_totals(const mail_conn *m, uint64_t *fetched, uint64_t *appended)
{
    *fetched = *appended = 0;
    for (unsigned i = 0; m && i < m->nmb; i++) {
        *fetched += m->mb[i].msgs[IMAP_DIR_SERVER];
        *appended += m->mb[i].msgs[IMAP_DIR_CLIENT];
    }
}

void mail_conn_free(mail_conn *m)
{
    if (!m)
        return;
    for (int d = 0; d < 2; d++)
        if (m->cur[d] && m->cur[d] != m->join && m->cur[d] != m->catenate)
            msg_free(m->cur[d]);
    msg_free(m->join);
    msg_free(m->catenate);
    for (unsigned i = 0; i < m->nheld; i++)
        msg_free(m->held[i]);
    free(m->bs);
    for (unsigned i = 0; i < m->nwait; i++) {
        json_decref(m->wait[i].email);
        json_decref(m->wait[i].files);
    }
    free(m->wait);
    for (unsigned i = 0; i < m->nready; i++) {
        json_decref(m->ready[i].email);
        json_decref(m->ready[i].files);
    }
    free(m->ready);
    for (unsigned i = 0; i < m->nmb; i++)
        free(m->mb[i].name);
    free(m->mb);
    free(m);
}

json_t *mail_stats_json(const mail_stats *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "messages", json_integer((json_int_t)s->messages));
    json_object_set_new(o, "envelopes", json_integer((json_int_t)s->envelopes));
    json_object_set_new(o, "files", json_integer((json_int_t)s->files));
    json_object_set_new(o, "bytes", json_integer((json_int_t)s->bytes));
    json_object_set_new(o, "truncated", json_integer((json_int_t)s->truncated));
    json_object_set_new(o, "memcap_refused", json_integer((json_int_t)s->memcap_refused));
    json_object_set_new(o, "parse_failed", json_integer((json_int_t)s->parse_failed));
    json_object_set_new(o, "partial_joined", json_integer((json_int_t)s->partial_joined));
    json_object_set_new(o, "partial_dropped", json_integer((json_int_t)s->partial_dropped));
    json_object_set_new(o, "pending_overflow", json_integer((json_int_t)s->pending_overflow));
    json_object_set_new(o, "parts_capped", json_integer((json_int_t)s->parts_capped));
    json_object_set_new(o, "parts_unknown", json_integer((json_int_t)s->parts_unknown));
    return o;
}
