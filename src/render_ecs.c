/*
 * render_ecs.c - events as Elastic Common Schema 8.11 documents
 * (render_ecs.h, docs/ecs-fields.md).
 *
 * Each event becomes a jansson document (ECS fields first, then the
 * custom imapscope.* and imap.* ones) written with the JSON renderer's
 * serialiser (same escapes, UTF-8 repair and caps).  -T ecs is for
 * shipping to Elasticsearch, not the hot path of -T json: the document is
 * built per event.
 */
#include "render_ecs.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "render_json.h"
#include "sink.h"

/* ------------------------------------------------------------------ */
/* Building the document                                               */
/* ------------------------------------------------------------------ */

/* Sets the dotted path ("tls.client.ja3") in doc, making the objects on
 * the way; v is stolen (NULL: nothing set). */
static void ecs_set(json_t *doc, const char *path, json_t *v)
{
    if (!v)
        return;
    json_t *obj = doc;
    const char *p = path, *dot;
    while ((dot = strchr(p, '.')) != NULL) {
        char key[64];
        size_t n = (size_t)(dot - p);
        if (n >= sizeof key) {
            json_decref(v);
            return;
        }
        memcpy(key, p, n);
        key[n] = '\0';
        json_t *next = json_object_get(obj, key);
        if (!json_is_object(next)) {
            next = json_object();
            json_object_set_new(obj, key, next);
        }
        obj = next;
        p = dot + 1;
    }
    json_object_set_new(obj, p, v);
}

static void ecs_str(json_t *doc, const char *path, const char *s)
{
    if (s && *s)
        ecs_set(doc, path, json_string(s));
}

/* A string member of obj copied to path (left out when absent or not a string). */
static void ecs_copy_str(json_t *doc, const char *path, const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_string(v) && json_string_length(v) > 0)
        ecs_set(doc, path, json_stringn_nocheck(json_string_value(v), json_string_length(v)));
}

static void ecs_copy_int(json_t *doc, const char *path, const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_integer(v))
        ecs_set(doc, path, json_integer(json_integer_value(v)));
}

/* "YYYY-MM-DDTHH:MM:SS" then "Z" or "+hh:mm"/"-hh:mm" (RFC 3339 5.6, no
 * fraction): a date Elasticsearch's date type reads as it is. */
static bool is_rfc3339(const char *s)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:dd";
    for (size_t i = 0; i < sizeof pat - 1; i++)
        if (pat[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != pat[i])
            return false;
    const char *z = s + sizeof pat - 1;
    if (z[0] == 'Z')
        return z[1] == '\0';
    return (z[0] == '+' || z[0] == '-') && isdigit((unsigned char)z[1]) && isdigit((unsigned char)z[2]) &&
           z[3] == ':' && isdigit((unsigned char)z[4]) && isdigit((unsigned char)z[5]) && z[6] == '\0';
}

static json_t *ecs_date(uint64_t ts_us)
{
    char b[28];
    output_format_rfc3339(ts_us, b);
    return json_string(b);
}

/* An array of the given strings (NULL-terminated). */
static json_t *strs(const char *a, const char *b)
{
    json_t *arr = json_array();
    json_array_append_new(arr, json_string(a));
    if (b)
        json_array_append_new(arr, json_string(b));
    return arr;
}

/* A deep copy without nulls (members and elements); NULL for null. */
static json_t *clean_copy(const json_t *v, int depth)
{
    if (!v || json_is_null(v) || depth > OUT_MAX_DEPTH)
        return NULL;
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            json_t *c = clean_copy(x, depth + 1);
            if (c)
                json_object_set_new(o, k, c);
        }
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *c = clean_copy(json_array_get(v, i), depth + 1);
            if (c)
                json_array_append_new(a, c);
        }
        return a;
    }
    return json_deep_copy(v);
}

/* The addresses of one header of email.addresses ([{field, name,
 * address}]) as an array of strings; NULL when there is none. */
static json_t *addresses(const json_t *list, const char *field)
{
    json_t *out = NULL;
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *a = json_object_get(json_array_get(list, i), "address");
        const char *f = json_string_value(json_object_get(json_array_get(list, i), "field"));
        if (!f || strcmp(f, field) != 0 || !json_is_string(a) || json_string_length(a) == 0)
            continue;
        if (!out)
            out = json_array();
        json_array_append_new(out, json_stringn_nocheck(json_string_value(a), json_string_length(a)));
    }
    return out;
}

/* ------------------------------------------------------------------ */
/* RFC 5322 dates (email.origination_timestamp)                         */
/* ------------------------------------------------------------------ */

static const char *skip_cfws(const char *p)
{
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (*p != '(')
            return p;
        int depth = 0; /* RFC 5322 3.2.2 comment, nested */
        do {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '(')
                depth++;
            else if (*p == ')')
                depth--;
            p++;
        } while (*p && depth > 0);
    }
}

static int read_num(const char **pp, int min_digits, int max_digits, int *out)
{
    const char *p = *pp;
    int n = 0, v = 0;
    while (n < max_digits && isdigit((unsigned char)*p))
        v = v * 10 + (*p++ - '0'), n++;
    if (n < min_digits)
        return -1;
    *pp = p;
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int ecs_parse_rfc5322_date(const char *s, uint64_t *ts_us)
{
    static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                         "jul", "aug", "sep", "oct", "nov", "dec"};
    /* RFC 5322 4.3 obs-zone */
    static const struct { const char *name; int minutes; } zones[] = {
        {"UT", 0}, {"GMT", 0}, {"Z", 0}, {"EST", -300}, {"EDT", -240}, {"CST", -360},
        {"CDT", -300}, {"MST", -420}, {"MDT", -360}, {"PST", -480}, {"PDT", -420}};
    const char *p = skip_cfws(s);
    int day, year, hh, mm, ss = 0, mon = -1;

    if (isalpha((unsigned char)*p)) { /* day-of-week "," */
        while (isalpha((unsigned char)*p))
            p++;
        p = skip_cfws(p);
        if (*p != ',')
            return -1;
        p = skip_cfws(p + 1);
    }
    if (read_num(&p, 1, 2, &day) != 0)
        return -1;
    p = skip_cfws(p);
    for (int i = 0; i < 12; i++)
        if (strncasecmp(p, months[i], 3) == 0 && !isalpha((unsigned char)p[3]))
            mon = i + 1;
    if (mon < 0)
        return -1;
    p = skip_cfws(p + 3);
    const char *ys = p;
    if (read_num(&p, 2, 4, &year) != 0)
        return -1;
    if (p - ys == 2) /* RFC 5322 4.3 obs-year */
        year += year < 50 ? 2000 : 1900;
    else if (p - ys == 3)
        year += 1900;
    p = skip_cfws(p);
    if (read_num(&p, 2, 2, &hh) != 0)
        return -1;
    p = skip_cfws(p);
    if (*p++ != ':')
        return -1;
    p = skip_cfws(p);
    if (read_num(&p, 2, 2, &mm) != 0)
        return -1;
    p = skip_cfws(p);
    if (*p == ':') {
        p = skip_cfws(p + 1);
        if (read_num(&p, 2, 2, &ss) != 0)
            return -1;
        p = skip_cfws(p);
    }
    int zone = 0;
    if (*p == '+' || *p == '-') {
        int z;
        int sign = *p == '-' ? -1 : 1;
        p++;
        const char *zs = p;
        if (read_num(&p, 4, 4, &z) != 0 || p - zs != 4)
            return -1;
        if (z % 100 > 59)
            return -1;
        zone = sign * (z / 100 * 60 + z % 100);
    } else {
        size_t n = 0;
        while (isalpha((unsigned char)p[n]))
            n++;
        bool found = n == 0; /* no zone at all: taken as UTC */
        for (size_t i = 0; !found && i < sizeof zones / sizeof zones[0]; i++)
            if (strlen(zones[i].name) == n && strncasecmp(p, zones[i].name, n) == 0)
                zone = zones[i].minutes, found = true;
        if (!found && n == 1) /* military zones: "-0000", unknown (RFC 5322 4.3) */
            found = true;
        if (!found)
            return -1;
    }
    if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || year < 1970 || year > 9999)
        return -1;
    int64_t sec = days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 + hh * 3600 + mm * 60 +
                  (ss == 60 ? 59 : ss) - (int64_t)zone * 60;
    if (sec < 0)
        return -1;
    *ts_us = (uint64_t)sec * 1000000u;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Per event type                                                      */
/* ------------------------------------------------------------------ */

/* "TLSv1.3" -> tls.version "1.3", tls.version_protocol "tls". */
static void ecs_tls_version(json_t *doc, const char *v)
{
    if (!v)
        return;
    if (strncmp(v, "TLSv", 4) == 0) {
        ecs_str(doc, "tls.version", v + 4);
        ecs_str(doc, "tls.version_protocol", "tls");
    } else if (strncmp(v, "SSLv", 4) == 0) {
        ecs_str(doc, "tls.version", strcmp(v + 4, "3") == 0 ? "3.0" : v + 4);
        ecs_str(doc, "tls.version_protocol", "ssl");
    }
}

/* The CN= values of a distinguished name "CN=a, O=b" (OpenSSL's one-line
 * form as tls_cert.c writes it: RFC 2253 order, ", " or "," between). */
static json_t *dn_common_names(const char *dn)
{
    json_t *out = NULL;
    const char *p = dn;
    while (p && *p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p;
        while (*end && !(*end == ',' && end[-1] != '\\'))
            end++;
        if (strncmp(p, "CN=", 3) == 0 && end > p + 3) {
            if (!out)
                out = json_array();
            json_array_append_new(out, json_stringn(p + 3, (size_t)(end - p - 3)));
        }
        p = end;
    }
    return out;
}

static void ecs_tls(json_t *doc, const json_t *b)
{
    ecs_tls_version(doc, json_string_value(json_object_get(b, "version")));
    /* cipher_suite and cipher_suites_offered[] hold the IANA name, or the
     * code "0x...." when it has none: ECS wants names, so codes are left out */
    const char *cipher = json_string_value(json_object_get(b, "cipher_suite"));
    if (cipher && strncmp(cipher, "0x", 2) != 0)
        ecs_str(doc, "tls.cipher", cipher);
    ecs_copy_str(doc, "tls.client.ja3", b, "ja3");
    ecs_copy_str(doc, "tls.client.server_name", b, "sni");
    ecs_copy_str(doc, "tls.server.ja3s", b, "ja3s");
    const json_t *offered = json_object_get(b, "cipher_suites_offered");
    if (json_array_size(offered)) {
        json_t *names = json_array();
        for (size_t i = 0; i < json_array_size(offered); i++) {
            const char *n = json_string_value(json_array_get(offered, i));
            if (n && strncmp(n, "0x", 2) != 0)
                json_array_append_new(names, json_string(n));
        }
        ecs_set(doc, "tls.client.supported_ciphers", names);
    }
    const json_t *alpn = json_object_get(b, "alpn");
    if (json_is_string(alpn))
        ecs_copy_str(doc, "tls.next_protocol", b, "alpn");
    const json_t *res = json_object_get(b, "resumed");
    if (json_is_boolean(res))
        ecs_set(doc, "tls.resumed", json_boolean(json_is_true(res)));
    /* the server's leaf certificate: the first of the chain */
    const json_t *cert = json_array_get(json_object_get(b, "certificates"), 0);
    if (json_is_object(cert)) {
        ecs_copy_str(doc, "tls.server.hash.sha256", cert, "sha256");
        ecs_copy_str(doc, "tls.server.x509.subject.distinguished_name", cert, "subject");
        ecs_set(doc, "tls.server.x509.subject.common_name",
                dn_common_names(json_string_value(json_object_get(cert, "subject"))));
        ecs_copy_str(doc, "tls.server.x509.issuer.distinguished_name", cert, "issuer");
        ecs_set(doc, "tls.server.x509.issuer.common_name",
                dn_common_names(json_string_value(json_object_get(cert, "issuer"))));
        ecs_copy_str(doc, "tls.server.x509.serial_number", cert, "serial");
        ecs_copy_str(doc, "tls.server.x509.not_before", cert, "not_before");
        ecs_copy_str(doc, "tls.server.x509.not_after", cert, "not_after");
        json_t *san = NULL;
        const char *lists[] = {"san_dns", "san_ip", "san_email", "san_uri"};
        for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
            const json_t *a = json_object_get(cert, lists[l]);
            for (size_t i = 0; i < json_array_size(a); i++) {
                const json_t *s = json_array_get(a, i);
                if (!json_is_string(s))
                    continue;
                if (!san)
                    san = json_array();
                json_array_append_new(san, json_string(json_string_value(s)));
            }
        }
        ecs_set(doc, "tls.server.x509.alternative_names", san);
    }
}

static void ecs_alert(json_t *doc, const json_t *b)
{
    ecs_copy_str(doc, "rule.name", b, "name");
    const json_t *sid = json_object_get(b, "signature_id");
    if (json_is_integer(sid)) {
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)json_integer_value(sid));
        ecs_str(doc, "rule.id", id);
    }
    ecs_copy_str(doc, "rule.description", b, "description");
    ecs_copy_str(doc, "rule.category", b, "category");
    ecs_str(doc, "rule.ruleset", "imapscope");
    ecs_copy_int(doc, "event.severity", b, "severity");
    ecs_copy_str(doc, "message", b, "detail");
    const json_t *m = json_object_get(b, "mitre");
    if (json_is_object(m)) {
        ecs_str(doc, "threat.framework", "MITRE ATT&CK");
        ecs_copy_str(doc, "threat.technique.id", m, "technique_id");
        ecs_copy_str(doc, "threat.technique.name", m, "technique");
        ecs_copy_str(doc, "threat.tactic.id", m, "tactic_id");
        ecs_copy_str(doc, "threat.tactic.name", m, "tactic");
    }
}

static const char *mail_direction(const json_t *b)
{
    const char *d = json_string_value(json_object_get(b, "direction"));
    if (!d)
        return NULL;
    /* fetched: delivered to the mail client; appended: stored by it */
    return strcmp(d, "fetched") == 0 ? "inbound" : strcmp(d, "appended") == 0 ? "outbound" : "unknown";
}

static void ecs_email(json_t *doc, const json_t *b)
{
    ecs_str(doc, "email.direction", mail_direction(b));
    const json_t *addrs = json_object_get(b, "addresses");
    ecs_set(doc, "email.from.address", addresses(addrs, "from"));
    ecs_set(doc, "email.to.address", addresses(addrs, "to"));
    ecs_set(doc, "email.cc.address", addresses(addrs, "cc"));
    ecs_set(doc, "email.bcc.address", addresses(addrs, "bcc"));
    ecs_set(doc, "email.reply_to.address", addresses(addrs, "reply_to"));
    ecs_set(doc, "email.sender.address", addresses(addrs, "sender"));
    ecs_copy_str(doc, "email.subject", b, "subject");
    ecs_copy_str(doc, "email.message_id", b, "message_id");
    ecs_copy_str(doc, "email.x_mailer", b, "x_mailer");
    ecs_copy_str(doc, "email.content_type", b, "content_type");
    const json_t *uid = json_object_get(b, "uid");
    if (json_is_integer(uid)) {
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)json_integer_value(uid));
        ecs_str(doc, "email.local_id", id);
    }
    const char *date = json_string_value(json_object_get(b, "date"));
    uint64_t ts;
    if (date && ecs_parse_rfc5322_date(date, &ts) == 0)
        ecs_set(doc, "email.origination_timestamp", ecs_date(ts));
    else if (date && is_rfc3339(date)) /* the email's date in ISO 8601 (mail.c) */
        ecs_str(doc, "email.origination_timestamp", date);
    const json_t *atts = json_object_get(b, "attachments");
    if (json_array_size(atts)) {
        json_t *arr = json_array();
        for (size_t i = 0; i < json_array_size(atts); i++) {
            const json_t *a = json_array_get(atts, i);
            json_t *f = json_object();
            /* (type and size: the fileinfo event of the part) */
            ecs_copy_str(f, "file.name", a, "filename");
            ecs_copy_str(f, "file.hash.sha256", a, "sha256");
            const char *fn = json_string_value(json_object_get(a, "filename"));
            const char *dot = fn ? strrchr(fn, '.') : NULL;
            if (dot && dot[1] && !strchr(dot, '/'))
                ecs_str(f, "file.extension", dot + 1);
            json_array_append_new(arr, f);
        }
        ecs_set(doc, "email.attachments", arr);
    }
}

static void ecs_fileinfo(json_t *doc, const json_t *b)
{
    ecs_copy_str(doc, "file.name", b, "filename");
    const char *fn = json_string_value(json_object_get(b, "filename"));
    const char *dot = fn ? strrchr(fn, '.') : NULL;
    if (dot && dot[1] && !strchr(dot, '/'))
        ecs_str(doc, "file.extension", dot + 1);
    /* ECS file.mime_type: the format of the bytes, so the sniffed type first */
    if (json_is_string(json_object_get(b, "magic")))
        ecs_copy_str(doc, "file.mime_type", b, "magic");
    else
        ecs_copy_str(doc, "file.mime_type", b, "content_type");
    ecs_copy_int(doc, "file.size", b, "size");
    ecs_copy_str(doc, "file.hash.md5", b, "md5");
    ecs_copy_str(doc, "file.hash.sha1", b, "sha1");
    ecs_copy_str(doc, "file.hash.sha256", b, "sha256");
    ecs_str(doc, "file.type", "file");
}

/* event.action of an "imap" transaction: its command in lower case,
 * spaces as '-' ("uid-fetch"). */
static void ecs_imap_action(json_t *doc, const char *cmd)
{
    char a[64];
    size_t n = 0;
    if (!cmd || !*cmd) {
        ecs_str(doc, "event.action", "unknown");
        return;
    }
    for (; cmd[n] && n + 1 < sizeof a; n++)
        a[n] = cmd[n] == ' ' ? '-' : (char)tolower((unsigned char)cmd[n]);
    a[n] = '\0';
    ecs_str(doc, "event.action", a);
}

static bool is_auth_command(const char *cmd)
{
    return cmd && (strcmp(cmd, "LOGIN") == 0 || strcmp(cmd, "AUTHENTICATE") == 0);
}

/* The custom namespace of an event type's body (render_ecs.h). */
static const char *body_path(const char *event_type, char *buf, size_t n)
{
    static const struct { const char *type, *path; } map[] = {
        {"imap", "imap"}, {"imap_session", "imap.session"}, {"tls", "imap.tls"},
        {"alert", "imap.alert"}, {"email", "imap.email"}, {"fileinfo", "imap.fileinfo"},
        {"imap_user", "imap.user_summary"}, {"stats", "imap.stats"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].type, event_type) == 0)
            return map[i].path;
    snprintf(buf, n, "imap.%s", event_type);
    return buf;
}

/* Merges the members of src (stolen) into the object at path of doc. */
static void ecs_merge(json_t *doc, const char *path, json_t *src)
{
    if (!json_is_object(src)) {
        ecs_set(doc, path, src);
        return;
    }
    json_t *obj = doc;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf, *dot; p; p = dot ? dot + 1 : NULL) {
        dot = strchr(p, '.');
        if (dot)
            *dot = '\0';
        json_t *next = json_object_get(obj, p);
        if (!json_is_object(next)) {
            next = json_object();
            json_object_set_new(obj, p, next);
        }
        obj = next;
    }
    json_object_update(obj, src);
    json_decref(src);
}

json_t *ecs_document(const char *event_type, uint64_t ts_us, const out_flow *flow, const json_t *body,
                     const char *host, const char *pcap_filename, uint64_t pcap_cnt)
{
    json_t *doc = json_object();
    const json_t *b = json_is_object(body) ? body : NULL;
    bool is = false;
    char dataset[80];

    ecs_set(doc, "@timestamp", ecs_date(ts_us));
    ecs_str(doc, "ecs.version", ECS_VERSION);

    /* event.* */
    const char *kind = "event", *cat1 = "network", *cat2 = NULL, *type1 = "info", *type2 = NULL;
    if ((is = strcmp(event_type, "imap") == 0)) {
        const char *cmd = json_string_value(json_object_get(b, "command"));
        cat1 = is_auth_command(cmd) ? "authentication" : "email";
        cat2 = "network";
        type2 = "protocol";
    } else if (strcmp(event_type, "imap_session") == 0) {
        cat2 = "session";
        type1 = "connection";
        type2 = "end";
    } else if (strcmp(event_type, "tls") == 0) {
        type1 = "protocol";
    } else if (strcmp(event_type, "alert") == 0) {
        kind = "alert";
        cat1 = "intrusion_detection";
        cat2 = "network";
    } else if (strcmp(event_type, "email") == 0) {
        cat1 = "email";
    } else if (strcmp(event_type, "fileinfo") == 0) {
        cat1 = "file";
    } else if (strcmp(event_type, "imap_user") == 0) {
        cat1 = "authentication";
    } else if (strcmp(event_type, "stats") == 0) {
        kind = "metric";
        cat1 = NULL;
    }
    ecs_str(doc, "event.kind", kind);
    if (cat1)
        ecs_set(doc, "event.category", strs(cat1, cat2));
    if (cat1)
        ecs_set(doc, "event.type", strs(type1, type2));
    if (is) {
        ecs_imap_action(doc, json_string_value(json_object_get(b, "command")));
        const char *st = json_string_value(json_object_get(b, "status"));
        ecs_str(doc, "event.outcome",
                !st ? "unknown" : strcmp(st, "OK") == 0 ? "success" : "failure");
        const json_t *lat = json_object_get(b, "latency_us");
        if (json_is_integer(lat))
            ecs_set(doc, "event.duration", json_integer(json_integer_value(lat) * 1000));
    } else if (strcmp(event_type, "alert") == 0) {
        ecs_copy_str(doc, "event.action", b, "name");
    } else if (strcmp(event_type, "email") == 0 || strcmp(event_type, "fileinfo") == 0) {
        const char *d = json_string_value(json_object_get(b, "direction"));
        char a[40];
        snprintf(a, sizeof a, "%s-%s", strcmp(event_type, "email") == 0 ? "email" : "file",
                 d ? d : "seen");
        ecs_str(doc, "event.action", a);
    } else if (strcmp(event_type, "imap_session") == 0) {
        ecs_str(doc, "event.action", "imap-session-end");
        const json_t *ok = json_object_get(b, "login_success");
        if (json_is_true(ok))
            ecs_str(doc, "event.outcome", "success");
        const json_t *start = json_object_get(b, "start");
        if (json_is_integer(start) && json_integer_value(start) > 0)
            ecs_set(doc, "event.start", ecs_date((uint64_t)json_integer_value(start)));
        ecs_set(doc, "event.end", ecs_date(ts_us));
        const json_t *dur = json_object_get(b, "duration_us");
        if (json_is_integer(dur))
            ecs_set(doc, "event.duration", json_integer(json_integer_value(dur) * 1000));
    } else {
        char a[64];
        snprintf(a, sizeof a, "%s", event_type);
        for (char *p = a; *p; p++)
            if (*p == '_')
                *p = '-';
        ecs_str(doc, "event.action", a);
    }
    snprintf(dataset, sizeof dataset, "imapscope.%s", event_type);
    ecs_str(doc, "event.module", "imapscope");
    ecs_str(doc, "event.dataset", dataset);

    /* observer: the sensor */
    ecs_str(doc, "observer.hostname", host);
    ecs_str(doc, "observer.product", "imapscope");
    ecs_str(doc, "observer.type", "sensor");

    /* the connection */
    if (flow) {
        ecs_str(doc, "source.ip", flow->src_ip);
        ecs_set(doc, "source.port", json_integer(flow->src_port));
        ecs_str(doc, "destination.ip", flow->dest_ip);
        ecs_set(doc, "destination.port", json_integer(flow->dest_port));
        ecs_str(doc, "network.transport", "tcp");
        ecs_str(doc, "network.type", flow->src_ip && strchr(flow->src_ip, ':') ? "ipv6" : "ipv4");
        if (flow->app_proto)
            ecs_str(doc, "network.protocol", flow->app_proto);
        ecs_str(doc, "network.community_id", flow->community_id);
        if (strcmp(event_type, "imap_session") == 0) {
            const json_t *cb = json_object_get(b, "client_bytes"), *sb = json_object_get(b, "server_bytes");
            const json_t *cp = json_object_get(b, "client_packets"), *sp = json_object_get(b, "server_packets");
            ecs_copy_int(doc, "source.bytes", b, "client_bytes");
            ecs_copy_int(doc, "destination.bytes", b, "server_bytes");
            if (json_is_integer(cb) && json_is_integer(sb))
                ecs_set(doc, "network.bytes", json_integer(json_integer_value(cb) + json_integer_value(sb)));
            ecs_copy_int(doc, "source.packets", b, "client_packets");
            ecs_copy_int(doc, "destination.packets", b, "server_packets");
            if (json_is_integer(cp) && json_is_integer(sp))
                ecs_set(doc, "network.packets", json_integer(json_integer_value(cp) + json_integer_value(sp)));
        }
    }

    /* the user */
    const char *user = NULL;
    if (is || strcmp(event_type, "imap_session") == 0 || strcmp(event_type, "imap_user") == 0)
        user = json_string_value(json_object_get(b, "user"));
    /* imap.user: LOGIN's user and AUTHENTICATE's identity (authcid) alike */
    if (strcmp(event_type, "alert") == 0) /* a detection about a user (docs/alerts.md) */
        user = json_string_value(json_object_get(json_object_get(b, "evidence"), "user"));
    ecs_str(doc, "user.name", user);

    /* related.* */
    if (flow && flow->src_ip && flow->dest_ip) {
        json_t *ips = json_array();
        json_array_append_new(ips, json_string(flow->src_ip));
        if (strcmp(flow->src_ip, flow->dest_ip) != 0)
            json_array_append_new(ips, json_string(flow->dest_ip));
        ecs_set(doc, "related.ip", ips);
    }
    if (user && *user)
        ecs_set(doc, "related.user", strs(user, NULL));

    /* the event type's ECS fields */
    if (b) {
        if (strcmp(event_type, "tls") == 0)
            ecs_tls(doc, b);
        else if (strcmp(event_type, "alert") == 0)
            ecs_alert(doc, b);
        else if (strcmp(event_type, "email") == 0)
            ecs_email(doc, b);
        else if (strcmp(event_type, "fileinfo") == 0)
            ecs_fileinfo(doc, b);
    }

    /* custom: the envelope, then the body */
    if (flow)
        ecs_set(doc, "imapscope.flow_id", json_integer((json_int_t)flow->flow_id));
    if (pcap_cnt && flow)
        ecs_set(doc, "imapscope.pcap_cnt", json_integer((json_int_t)pcap_cnt));
    ecs_str(doc, "imapscope.pcap_filename", pcap_filename);
    if (body) {
        char buf[96];
        json_t *c = clean_copy(body, 0);
        if (c)
            ecs_merge(doc, body_path(event_type, buf, sizeof buf), c);
    }
    return doc;
}

void ecs_event(output *o, const char *event_type, uint64_t ts_us, const out_flow *flow, const json_t *body)
{
    json_t *doc = ecs_document(event_type, ts_us, flow, body, o->env.host, o->env.pcap_filename,
                               o->env.pcap_cnt);
    event_begin(o);
    put_json_value(o, doc, 0);
    put_ch(o, '\n');
    event_end(o);
    json_decref(doc);
}
