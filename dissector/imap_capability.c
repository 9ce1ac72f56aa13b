/*
 * imap_capability.c - capability and response-code metadata (name, RFC,
 * one-line meaning) and the capability-list decoder.
 *
 * Lookups are case-insensitive (RFC 9051 9: capability names are atoms,
 * compared case-insensitively); prefix entries (AUTH=, THREAD=, ...) match
 * any name that starts with them and report the value after "=".
 */
#include "imap_cache.h"
#include "imap_dec_util.h"
#include "imap.h"

#include <string.h>
#include <strings.h>

#define CAP(n, r, m)  { n, r, m, false }
#define CAPP(n, r, m) { n, r, m, true }

/* Exact names first, prefixes after: an exact entry (e.g. "COMPRESS=DEFLATE")
 * wins over its prefix ("COMPRESS="). */
static const imap_capability_info cap_table[] = {
    CAP("IMAP4rev1", "RFC 3501", "IMAP version 4 revision 1"),
    CAP("IMAP4rev2", "RFC 9051", "IMAP version 4 revision 2"),
    CAP("IMAP4", "RFC 2060", "IMAP4 (obsolete, RFC 1730)"),
    CAP("ACL", "RFC 4314", "access control lists (SETACL, GETACL, ...)"),
    CAP("ANNOTATE-EXPERIMENT-1", "RFC 5257", "per-message annotations"),
    CAP("APPENDLIMIT", "RFC 7889", "maximum APPEND size"),
    CAP("BINARY", "RFC 3516", "BINARY fetch and binary literals ~{n}"),
    CAP("CATENATE", "RFC 4469", "APPEND assembled from parts (CATENATE)"),
    CAP("CHILDREN", "RFC 3348", "\\HasChildren / \\HasNoChildren LIST attributes"),
    CAP("COMPRESS=DEFLATE", "RFC 4978", "COMPRESS DEFLATE of the connection"),
    CAP("CONDSTORE", "RFC 7162", "conditional STORE and MODSEQ (RFC 4551)"),
    CAP("CONTEXT=SEARCH", "RFC 5267", "contexts and updates of SEARCH results"),
    CAP("CONTEXT=SORT", "RFC 5267", "contexts and updates of SORT results"),
    CAP("CONVERT", "RFC 5259", "server-side conversion of body parts"),
    CAP("CREATE-SPECIAL-USE", "RFC 6154", "CREATE with USE special-use attributes"),
    CAP("ENABLE", "RFC 5161", "ENABLE command"),
    CAP("ESEARCH", "RFC 4731", "extended SEARCH results (MIN/MAX/COUNT/ALL)"),
    CAP("ESORT", "RFC 5267", "extended SORT results"),
    CAP("FILTERS", "RFC 5466", "named search filters"),
    CAP("ID", "RFC 2971", "ID command (client/server identification)"),
    CAP("IDLE", "RFC 2177", "IDLE command (push updates)"),
    CAP("LANGUAGE", "RFC 5255", "LANGUAGE command (response text language)"),
    CAP("LIST-EXTENDED", "RFC 5258", "LIST selection and return options"),
    CAP("LIST-MYRIGHTS", "RFC 8440", "LIST RETURN (MYRIGHTS)"),
    CAP("LIST-STATUS", "RFC 5819", "LIST RETURN (STATUS ...)"),
    CAP("LITERAL+", "RFC 7888", "non-synchronizing literals {n+} (RFC 2088)"),
    CAP("LITERAL-", "RFC 7888", "non-synchronizing literals up to 4096 bytes"),
    CAP("LOGIN-REFERRALS", "RFC 2221", "referrals at login"),
    CAP("LOGINDISABLED", "RFC 3501", "LOGIN refused on this connection"),
    CAP("MAILBOX-REFERRALS", "RFC 2193", "mailbox referrals"),
    CAP("METADATA", "RFC 5464", "server and mailbox metadata"),
    CAP("METADATA-SERVER", "RFC 5464", "server metadata only"),
    CAP("MOVE", "RFC 6851", "MOVE command"),
    CAP("MULTIAPPEND", "RFC 3502", "APPEND of several messages at once"),
    CAP("MULTISEARCH", "RFC 7377", "ESEARCH across mailboxes"),
    CAP("NAMESPACE", "RFC 2342", "NAMESPACE command"),
    CAP("NOTIFY", "RFC 5465", "NOTIFY command (mailbox events)"),
    CAP("OBJECTID", "RFC 8474", "MAILBOXID, EMAILID, THREADID"),
    CAP("PARTIAL", "RFC 9394", "paged SEARCH and FETCH results"),
    CAP("PREVIEW", "RFC 8970", "message preview text"),
    CAP("QRESYNC", "RFC 7162", "quick mailbox resynchronization (RFC 5162)"),
    CAP("QUOTA", "RFC 9208", "quotas (RFC 2087)"),
    CAP("QUOTASET", "RFC 9208", "SETQUOTA allowed"),
    CAP("REPLACE", "RFC 8508", "REPLACE command"),
    CAP("SASL-IR", "RFC 4959", "SASL initial response in AUTHENTICATE"),
    CAP("SAVEDATE", "RFC 8514", "SAVEDATE message attribute"),
    CAP("SEARCHRES", "RFC 5182", "saved search result ($)"),
    CAP("SORT", "RFC 5256", "SORT command"),
    CAP("SORT=DISPLAY", "RFC 5957", "SORT by display name"),
    CAP("SPECIAL-USE", "RFC 6154", "special-use mailbox attributes"),
    CAP("STARTTLS", "RFC 3501", "STARTTLS command (RFC 2595)"),
    CAP("STATUS=SIZE", "RFC 8438", "STATUS SIZE item"),
    CAP("UIDONLY", "RFC 9586", "UID-only mode (no message sequence numbers)"),
    CAP("UIDPLUS", "RFC 4315", "UID EXPUNGE, APPENDUID, COPYUID (RFC 2359)"),
    CAP("UNAUTHENTICATE", "RFC 8437", "UNAUTHENTICATE command"),
    CAP("UNSELECT", "RFC 3691", "UNSELECT command"),
    CAP("URLAUTH", "RFC 4467", "URLAUTH (GENURLAUTH, URLFETCH, RESETKEY)"),
    CAP("URLAUTH=BINARY", "RFC 5524", "URLAUTH binary fetch"),
    CAP("UTF8=ACCEPT", "RFC 6855", "UTF-8 mailbox names and headers accepted"),
    CAP("UTF8=ONLY", "RFC 6855", "UTF-8 required"),
    CAP("WITHIN", "RFC 5032", "OLDER / YOUNGER search keys"),
    CAP("XLIST", "vendor (Google)", "XLIST command (pre SPECIAL-USE)"),
    CAP("X-GM-EXT-1", "vendor (Google)", "Gmail extensions (X-GM-MSGID, X-GM-LABELS)"),
    CAP("XAPPLEPUSHSERVICE", "vendor (Apple)", "Apple push notifications"),
    CAP("X-ALLMAIL", "vendor", "all-mail folder"),
    CAP("I18NLEVEL=1", "RFC 5255", "internationalization level 1"),
    CAP("I18NLEVEL=2", "RFC 5255", "internationalization level 2 (COMPARATOR)"),
    CAP("CONTEXT", "RFC 5267", "contexts"),
    CAP("CONVERSIONS", "RFC 5259", "CONVERSIONS command"),
    CAP("ANNOTATE", "RFC 5257", "annotations"),
    /* prefixes */
    CAPP("AUTH=", "RFC 9051", "SASL mechanism offered for AUTHENTICATE"),
    CAPP("THREAD=", "RFC 5256", "THREAD algorithm"),
    CAPP("SORT=", "RFC 5256", "SORT extension"),
    CAPP("RIGHTS=", "RFC 4314", "extra ACL rights"),
    CAPP("I18NLEVEL=", "RFC 5255", "internationalization level"),
    CAPP("COMPRESS=", "RFC 4978", "compression mechanism"),
    CAPP("CONTEXT=", "RFC 5267", "context support"),
    CAPP("UTF8=", "RFC 6855", "UTF-8 support"),
    CAPP("QUOTA=RES-", "RFC 9208", "quota resource type supported"),
    CAPP("QUOTA=", "RFC 9208", "quota extension"),
    CAPP("STATUS=", "RFC 8438", "STATUS extension"),
    CAPP("URLAUTH=", "RFC 4467", "URLAUTH extension"),
    CAPP("APPENDLIMIT=", "RFC 7889", "maximum APPEND size"),
};

/* Table names are canonical upper case (imap.h): an entry whose first
 * letter differs is skipped before its length is taken. */
static const imap_capability_info *table_lookup(const imap_capability_info *t, size_t n,
                                                const char *name, size_t len)
{
    if (name == NULL || len == 0)
        return NULL;
    char c0 = name[0] >= 'a' && name[0] <= 'z' ? (char)(name[0] - 32) : name[0];
    for (size_t i = 0; i < n; i++) {
        if (t[i].prefix || t[i].name[0] != c0)
            continue;
        size_t el = strlen(t[i].name);
        if (el == len && strncasecmp(t[i].name, name, len) == 0)
            return &t[i];
    }
    for (size_t i = 0; i < n; i++) {
        if (!t[i].prefix || t[i].name[0] != c0)
            continue;
        size_t el = strlen(t[i].name);
        if (len >= el && strncasecmp(t[i].name, name, el) == 0)
            return &t[i];
    }
    return NULL;
}

const imap_capability_info *imap_capability_lookup(const char *name, size_t len)
{
    return table_lookup(cap_table, sizeof(cap_table) / sizeof(cap_table[0]), name, len);
}

static const imap_capability_info code_table[] = {
    /* RFC 9051 7.1 */
    CAP("ALERT", "RFC 9051", "text must be shown to the user"),
    CAP("ALREADYEXISTS", "RFC 5530", "the target already exists"),
    CAP("APPENDUID", "RFC 4315", "UID validity and UIDs of appended messages"),
    CAP("AUTHENTICATIONFAILED", "RFC 5530", "authentication failed"),
    CAP("AUTHORIZATIONFAILED", "RFC 5530", "authorization identity refused"),
    CAP("BADCHARSET", "RFC 9051", "unsupported search charset"),
    CAP("BADCOMPARATOR", "RFC 5255", "unknown comparator"),
    CAP("BADEVENT", "RFC 5465", "NOTIFY event not supported"),
    CAP("BADURL", "RFC 4469", "CATENATE URL cannot be used"),
    CAP("CANNOT", "RFC 5530", "operation violates a server invariant"),
    CAP("CAPABILITY", "RFC 9051", "capability list"),
    CAP("CLIENTBUG", "RFC 5530", "client misbehaviour detected"),
    CAP("CLOSED", "RFC 7162", "previous mailbox closed"),
    CAP("COMPRESSIONACTIVE", "RFC 4978", "compression already active"),
    CAP("CONTACTADMIN", "RFC 5530", "contact the administrator"),
    CAP("COPYUID", "RFC 4315", "UIDs of copied messages"),
    CAP("CORRUPTION", "RFC 5530", "server data corrupted"),
    CAP("EXPIRED", "RFC 5530", "credentials expired"),
    CAP("EXPUNGEISSUED", "RFC 5530", "messages expunged by another client"),
    CAP("HASCHILDREN", "RFC 9051", "mailbox has children"),
    CAP("HIGHESTMODSEQ", "RFC 7162", "highest mod-sequence of the mailbox"),
    CAP("INPROGRESS", "RFC 9585", "command still in progress"),
    CAP("INUSE", "RFC 5530", "resource in use"),
    CAP("LIMIT", "RFC 5530", "a limit was reached"),
    CAP("MAILBOXID", "RFC 8474", "mailbox object id"),
    CAP("METADATA", "RFC 5464", "metadata limits (LONGENTRIES, MAXSIZE, TOOMANY, NOPRIVATE)"),
    CAP("MODIFIED", "RFC 7162", "messages not stored because modified"),
    CAP("NOMODSEQ", "RFC 7162", "mailbox has no mod-sequences"),
    CAP("NONEXISTENT", "RFC 5530", "target does not exist"),
    CAP("NOPERM", "RFC 5530", "no permission"),
    CAP("NOTIFICATIONOVERFLOW", "RFC 5465", "NOTIFY events lost"),
    CAP("NOTSAVED", "RFC 5182", "search result not saved"),
    CAP("NOUPDATE", "RFC 5267", "context updates not supported"),
    CAP("OVERQUOTA", "RFC 5530", "quota exceeded"),
    CAP("PARSE", "RFC 9051", "message parse error"),
    CAP("PERMANENTFLAGS", "RFC 9051", "flags that can be changed permanently"),
    CAP("PRIVACYREQUIRED", "RFC 5530", "needs privacy (TLS)"),
    CAP("READ-ONLY", "RFC 9051", "mailbox selected read-only"),
    CAP("READ-WRITE", "RFC 9051", "mailbox selected read-write"),
    CAP("REFERRAL", "RFC 2221", "referral to another server"),
    CAP("SERVERBUG", "RFC 5530", "server bug"),
    CAP("TOOBIG", "RFC 4469", "message too big"),
    CAP("TRYCREATE", "RFC 9051", "target mailbox does not exist (CREATE it)"),
    CAP("UIDNEXT", "RFC 9051", "predicted next UID"),
    CAP("UIDNOTSTICKY", "RFC 4315", "UIDs are not persistent"),
    CAP("UIDVALIDITY", "RFC 9051", "UID validity value"),
    CAP("UNAVAILABLE", "RFC 5530", "temporary failure"),
    CAP("UNKNOWN-CTE", "RFC 3516", "unknown content-transfer-encoding"),
    CAP("UNSEEN", "RFC 3501", "first unseen message"),
    CAP("URLMECH", "RFC 4467", "URLAUTH mechanisms"),
    CAP("USEATTR", "RFC 6154", "special-use attribute not supported"),
    CAP("ANNOTATE", "RFC 5257", "annotation error (TOOBIG, TOOMANY)"),
    CAP("ANNOTATIONS", "RFC 5257", "annotation limits"),
    CAP("TOOMANY", "RFC 5464", "too many entries"),
    CAP("UNDEFINED-FILTER", "RFC 5466", "filter not defined"),
    CAP("OBJECTID", "RFC 8474", "object id"),
    CAP("WEBALERT", "RFC 9051", "URL to show to the user"),
};

const imap_capability_info *imap_resp_code_lookup(const char *name, size_t len)
{
    return table_lookup(code_table, sizeof(code_table) / sizeof(code_table[0]), name, len);
}

static json_t *decode_capabilities(const imap_value *tokens);

/* RFC 9051 9: capability-data = "CAPABILITY" *(SP capability) SP "IMAP4rev2"
 * *(SP capability); capability = ("AUTH=" auth-type) / atom.
 * The decoded list is kept per thread and shared (imap_cache.h), keyed by
 * the tokens' types and wire text. */
json_t *imap_decode_capabilities(const imap_value *tokens)
{
    if (tokens == NULL || tokens->type != IV_LIST)
        return decode_capabilities(tokens);
    imap_cache_key k = { .n = 0, .full = 0 };
    for (const imap_value *c = tokens->child; c != NULL; c = c->next) {
        if (c->raw == NULL)
            k.full = 1;
        imap_cache_key_add(&k, (char)(c->type * 2 + (c->section != NULL)), c->raw, c->raw_len);
    }
    json_t *arr = imap_cache_get(IMAP_CACHE_CAPS_DECODED, &k);
    if (arr != NULL)
        return arr;
    arr = decode_capabilities(tokens);
    imap_cache_put(IMAP_CACHE_CAPS_DECODED, &k, arr);
    return arr;
}

static json_t *decode_capabilities(const imap_value *tokens)
{
    json_t *arr = json_array();
    if (arr == NULL || tokens == NULL || tokens->type != IV_LIST)
        return arr;
    for (const imap_value *c = tokens->child; c != NULL; c = c->next) {
        json_t *o = json_object();
        size_t len = 0;
        const char *s = c->type == IV_ATOM && c->section != NULL ? c->raw : imap_value_text(c, &len, NULL);
        if (c->type == IV_ATOM && c->section != NULL)
            len = c->raw_len;
        if (c->type == IV_LIST) {
            imap_dec_setl(o, "name", imap_value_to_json(c));
            imap_dec_setl(o, "known", json_false());
            json_array_append_new(arr, o);
            continue;
        }
        imap_dec_setl(o, "name", imap_json_bytes(s, len));
        const imap_capability_info *ci = imap_capability_lookup(s, len);
        if (ci != NULL) {
            if (ci->prefix) {
                size_t pl = strlen(ci->name);
                const char *eq = memchr(s, '=', len);
                if (eq != NULL) {
                    size_t vo = (size_t)(eq - s) + 1;
                    imap_dec_setl(o, "value", imap_json_bytes(s + vo, len - vo));
                } else if (pl < len) {
                    imap_dec_setl(o, "value", imap_json_bytes(s + pl, len - pl));
                }
            }
        } else {
            imap_dec_setl(o, "known", json_false());
        }
        json_array_append_new(arr, o);
    }
    return arr;
}
