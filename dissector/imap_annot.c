/*
 * imap_annot.c - the annotation table: every command, status response,
 * response code and capability the dissector knows, with its reference and
 * a one-line meaning (imap.h, "Annotations").  One home: the capability and
 * response-code lookups of imap_capability.c, the verbose trace, the JSON
 * --annotate option and --explain all read this table.
 *
 * References name the document and, where the document has one for the
 * item, its section: "RFC 9051 6.4.9".  Sections were checked against the
 * RFC texts (../shared/rfc); an RFC given without a section defines the
 * item across the document or in its syntax/IANA sections only, or is not
 * in that folder (RFC 2971, 4467, 5524, 5550, 9585, 9586: no section
 * given rather than one not checked).  Vendor
 * items name the vendor's own document ("Google: developers.google.com/
 * gmail/imap/imap-extensions"); "unknown" is used only where no public
 * document exists (the meaning then says what is known).
 *
 * Order: commands, statuses, codes, capabilities; within a kind, exact
 * names first, then prefixes (an exact entry wins over a prefix whatever
 * the order, see lookup()).  tests/scripts/test_annotations_table.py checks
 * the table against docs/decoded.md and the RFC texts.
 */
#include "imap.h"

#include <string.h>
#include <strings.h>

#define CMD(n, r, m)   { n, r, m, false, IMAP_ANNOT_COMMAND }
#define CMDP(n, r, m)  { n, r, m, true, IMAP_ANNOT_COMMAND }
#define ST(n, r, m)    { n, r, m, false, IMAP_ANNOT_STATUS }
#define CODE(n, r, m)  { n, r, m, false, IMAP_ANNOT_CODE }
#define CAP(n, r, m)   { n, r, m, false, IMAP_ANNOT_CAPABILITY }
#define CAPP(n, r, m)  { n, r, m, true, IMAP_ANNOT_CAPABILITY }

#define GMAIL "Google: developers.google.com/gmail/imap/imap-extensions"

static const imap_annot table[] = {
    /* ---- commands: RFC 9051 6 (IMAP4rev2), RFC 3501 6 (IMAP4rev1) ---- */
    CMD("CAPABILITY", "RFC 9051 6.1.1", "ask the server for its capabilities"),
    CMD("NOOP", "RFC 9051 6.1.2", "no operation (poll for updates, keep alive)"),
    CMD("LOGOUT", "RFC 9051 6.1.3", "end the session"),
    CMD("STARTTLS", "RFC 9051 6.2.1", "start TLS on the connection (RFC 2595 3.1)"),
    CMD("AUTHENTICATE", "RFC 9051 6.2.2", "SASL authentication"),
    CMD("LOGIN", "RFC 9051 6.2.3", "authenticate with a user name and a cleartext password"),
    CMD("ENABLE", "RFC 9051 6.3.1", "enable server extensions (RFC 5161 3.1)"),
    CMD("SELECT", "RFC 9051 6.3.2", "open a mailbox read-write"),
    CMD("EXAMINE", "RFC 9051 6.3.3", "open a mailbox read-only"),
    CMD("CREATE", "RFC 9051 6.3.4", "create a mailbox"),
    CMD("DELETE", "RFC 9051 6.3.5", "delete a mailbox"),
    CMD("RENAME", "RFC 9051 6.3.6", "rename a mailbox"),
    CMD("SUBSCRIBE", "RFC 9051 6.3.7", "add a mailbox to the subscribed list"),
    CMD("UNSUBSCRIBE", "RFC 9051 6.3.8", "remove a mailbox from the subscribed list"),
    CMD("LIST", "RFC 9051 6.3.9", "list mailbox names (extended: RFC 5258)"),
    CMD("NAMESPACE", "RFC 9051 6.3.10", "ask for the personal, other users' and shared namespaces (RFC 2342 5)"),
    CMD("STATUS", "RFC 9051 6.3.11", "ask for a mailbox's counters without selecting it"),
    CMD("APPEND", "RFC 9051 6.3.12", "add a message to a mailbox"),
    CMD("IDLE", "RFC 9051 6.3.13", "wait for server pushes until DONE (RFC 2177 3)"),
    CMD("DONE", "RFC 9051 6.3.13", "end of IDLE (RFC 2177 3)"),
    CMD("CLOSE", "RFC 9051 6.4.1", "expunge deleted messages and leave the mailbox"),
    CMD("UNSELECT", "RFC 9051 6.4.2", "leave the mailbox without expunging (RFC 3691 2)"),
    CMD("EXPUNGE", "RFC 9051 6.4.3", "remove messages flagged \\Deleted"),
    CMD("SEARCH", "RFC 9051 6.4.4", "search messages (message sequence numbers)"),
    CMD("FETCH", "RFC 9051 6.4.5", "retrieve message data"),
    CMD("STORE", "RFC 9051 6.4.6", "change message flags"),
    CMD("COPY", "RFC 9051 6.4.7", "copy messages to another mailbox"),
    CMD("MOVE", "RFC 9051 6.4.8", "move messages to another mailbox (RFC 6851 3.1)"),
    CMD("UID", "RFC 9051 6.4.9", "a command addressing messages by UID"),
    CMD("UID FETCH", "RFC 9051 6.4.9", "retrieve message data, messages by UID"),
    CMD("UID STORE", "RFC 9051 6.4.9", "change message flags, messages by UID"),
    CMD("UID COPY", "RFC 9051 6.4.9", "copy messages by UID"),
    CMD("UID MOVE", "RFC 9051 6.4.9", "move messages by UID (RFC 6851 3.2)"),
    CMD("UID SEARCH", "RFC 9051 6.4.9", "search messages, results as UIDs"),
    CMD("UID EXPUNGE", "RFC 9051 6.4.9", "expunge only the given UIDs (RFC 4315 2.1)"),
    CMD("CHECK", "RFC 3501 6.4.1", "checkpoint the mailbox (IMAP4rev1; removed in RFC 9051)"),
    CMD("LSUB", "RFC 3501 6.3.9", "list subscribed mailboxes (IMAP4rev1; LIST (SUBSCRIBED) in RFC 9051)"),
    /* extensions */
    CMD("ID", "RFC 2971", "exchange client and server identification"),
    CMD("COMPRESS", "RFC 4978 3", "start compression (DEFLATE) of the connection"),
    CMD("GETQUOTA", "RFC 9208 4.1.1", "ask for a quota root's usage and limits"),
    CMD("GETQUOTAROOT", "RFC 9208 4.1.2", "ask for the quota roots of a mailbox"),
    CMD("SETQUOTA", "RFC 9208 4.1.3", "set a quota root's limits"),
    CMD("SETACL", "RFC 4314 3.1", "grant or change an identifier's rights on a mailbox"),
    CMD("DELETEACL", "RFC 4314 3.2", "remove an identifier's rights on a mailbox"),
    CMD("GETACL", "RFC 4314 3.3", "ask for a mailbox's access control list"),
    CMD("LISTRIGHTS", "RFC 4314 3.4", "ask which rights can be granted to an identifier"),
    CMD("MYRIGHTS", "RFC 4314 3.5", "ask for one's own rights on a mailbox"),
    CMD("GETMETADATA", "RFC 5464 4.2", "read server or mailbox annotations (metadata)"),
    CMD("SETMETADATA", "RFC 5464 4.3", "write server or mailbox annotations (metadata)"),
    CMD("NOTIFY", "RFC 5465 3.1", "ask for unsolicited events about mailboxes"),
    CMD("ESEARCH", "RFC 7377 2", "search several mailboxes at once"),
    CMD("SORT", "RFC 5256 3", "search and sort messages (BASE.6.4.SORT)"),
    CMD("UID SORT", "RFC 5256 3", "search and sort messages, results as UIDs"),
    CMD("THREAD", "RFC 5256 3", "search and group messages in threads (BASE.6.4.THREAD)"),
    CMD("UID THREAD", "RFC 5256 3", "thread messages, results as UIDs"),
    CMD("CANCELUPDATE", "RFC 5267 4.3.5", "stop the updates of a search context"),
    CMD("REPLACE", "RFC 8508 3.2", "replace a message by a new one (APPEND then expunge)"),
    CMD("UID REPLACE", "RFC 8508 3.3", "replace a message given by UID"),
    CMD("UNAUTHENTICATE", "RFC 8437 3", "return to the not authenticated state"),
    CMD("LANGUAGE", "RFC 5255 3.2", "ask for or choose the language of response texts"),
    CMD("COMPARATOR", "RFC 5255 4.7", "ask for or choose the collations used by SEARCH and SORT"),
    CMD("CONVERSIONS", "RFC 5259 5.1", "ask which body conversions the server can do"),
    CMD("CONVERT", "RFC 5259 6", "fetch body parts converted by the server"),
    CMD("UID CONVERT", "RFC 5259 6", "CONVERT, messages by UID"),
    CMD("RESETKEY", "RFC 4467", "reset the URLAUTH access key of a mailbox"),
    CMD("GENURLAUTH", "RFC 4467", "generate an authorized IMAP URL"),
    CMD("URLFETCH", "RFC 4467", "fetch the content of IMAP URLs"),
    CMD("RLIST", "RFC 2193 5.1", "LIST including remote mailboxes (mailbox referrals)"),
    CMD("RLSUB", "RFC 2193 5.2", "LSUB including remote mailboxes (mailbox referrals)"),
    CMD("XLIST", GMAIL, "LIST with special-use folder flags (Gmail, before RFC 6154)"),
    /* RFC 9051 6.5: x-command = "X" atom; meaning is the vendor's own */
    CMDP("UID X", "RFC 9051 6.5", "experimental or vendor command (UID form), meaning undocumented"),
    CMDP("X", "RFC 9051 6.5", "experimental or vendor command (X prefix), meaning undocumented"),

    /* ---- status responses: RFC 9051 7.1.1-7.1.5, tagged and untagged ---- */
    ST("OK", "RFC 9051 7.1.1", "success (tagged) or information (untagged)"),
    ST("NO", "RFC 9051 7.1.2", "operational error: the command failed (tagged) or a warning (untagged)"),
    ST("BAD", "RFC 9051 7.1.3", "protocol error: the command was not understood or not valid here"),
    ST("PREAUTH", "RFC 9051 7.1.4", "greeting: the connection is already authenticated"),
    ST("BYE", "RFC 9051 7.1.5", "the server is closing the connection"),

    /* ---- response codes ---- */
    /* RFC 9051 7.1 (the codes of IMAP4rev2; many first defined elsewhere) */
    CODE("ALERT", "RFC 9051 7.1", "the text must be shown to the user"),
    CODE("ALREADYEXISTS", "RFC 9051 7.1", "the target name already exists (RFC 5530 3)"),
    CODE("APPENDUID", "RFC 9051 7.1", "UIDVALIDITY and UID of the appended messages (RFC 4315 3)"),
    CODE("AUTHENTICATIONFAILED", "RFC 9051 7.1", "authentication failed: credentials rejected (RFC 5530 3)"),
    CODE("AUTHORIZATIONFAILED", "RFC 9051 7.1", "authenticated, but the authorization identity was refused (RFC 5530 3)"),
    CODE("BADCHARSET", "RFC 9051 7.1", "SEARCH charset not supported (list of supported ones)"),
    CODE("CANNOT", "RFC 9051 7.1", "the operation would violate a server invariant (RFC 5530 3)"),
    CODE("CAPABILITY", "RFC 9051 7.1", "the server's capability list"),
    CODE("CLIENTBUG", "RFC 9051 7.1", "the server saw the client misbehave (RFC 5530 3)"),
    CODE("CLOSED", "RFC 9051 7.1", "the previous mailbox was closed (RFC 7162 3.2.11)"),
    CODE("CONTACTADMIN", "RFC 9051 7.1", "the user should contact the administrator (RFC 5530 3)"),
    CODE("COPYUID", "RFC 9051 7.1", "UIDVALIDITY, source and destination UIDs of copied messages (RFC 4315 3)"),
    CODE("CORRUPTION", "RFC 9051 7.1", "server data corrupted (RFC 5530 3)"),
    CODE("EXPIRED", "RFC 9051 7.1", "the credentials have expired (RFC 5530 3)"),
    CODE("EXPUNGEISSUED", "RFC 9051 7.1", "another client expunged messages (RFC 5530 3)"),
    CODE("HASCHILDREN", "RFC 9051 7.1", "the mailbox has children (DELETE refused)"),
    CODE("INUSE", "RFC 9051 7.1", "a resource is in use by another process (RFC 5530 3)"),
    CODE("LIMIT", "RFC 9051 7.1", "a server limit was reached (RFC 5530 3)"),
    CODE("NONEXISTENT", "RFC 9051 7.1", "the target does not exist (RFC 5530 3)"),
    CODE("NOPERM", "RFC 9051 7.1", "no permission (ACL) (RFC 5530 3)"),
    CODE("OVERQUOTA", "RFC 9051 7.1", "a quota was exceeded (RFC 5530 3, RFC 9208 4.3.1)"),
    CODE("PARSE", "RFC 9051 7.1", "a message could not be parsed"),
    CODE("PERMANENTFLAGS", "RFC 9051 7.1", "flags the client can change permanently"),
    CODE("PRIVACYREQUIRED", "RFC 9051 7.1", "the operation needs privacy (TLS) (RFC 5530 3)"),
    CODE("READ-ONLY", "RFC 9051 7.1", "the mailbox is selected read-only"),
    CODE("READ-WRITE", "RFC 9051 7.1", "the mailbox is selected read-write"),
    CODE("SERVERBUG", "RFC 9051 7.1", "the server hit a bug (RFC 5530 3)"),
    CODE("TRYCREATE", "RFC 9051 7.1", "the target mailbox does not exist: CREATE it first"),
    CODE("UIDNEXT", "RFC 9051 7.1", "the next UID the mailbox will assign"),
    CODE("UIDNOTSTICKY", "RFC 9051 7.1", "UIDs of this mailbox are not persistent (RFC 4315 3)"),
    CODE("UIDVALIDITY", "RFC 9051 7.1", "the mailbox's UID validity value"),
    CODE("UNAVAILABLE", "RFC 9051 7.1", "temporary failure: a subsystem is down (RFC 5530 3)"),
    CODE("UNKNOWN-CTE", "RFC 9051 7.1", "unknown content-transfer-encoding (RFC 3516 4.3)"),
    /* RFC 3501 7.1 codes removed from RFC 9051 */
    CODE("UNSEEN", "RFC 3501 7.1", "number of the first unseen message (IMAP4rev1)"),
    CODE("NEWNAME", "RFC 2060 7.1", "mailbox renamed (obsolete, IMAP4 RFC 2060)"),
    /* extensions */
    CODE("REFERRAL", "RFC 2221 4", "referral: use another server (IMAP URL)"),
    CODE("URLMECH", "RFC 4467", "URLAUTH mechanisms the server supports"),
    CODE("BADURL", "RFC 4469 4.1", "a CATENATE URL cannot be used"),
    CODE("TOOBIG", "RFC 4469 4.2", "the message is too big"),
    CODE("HIGHESTMODSEQ", "RFC 7162 3.1.2.1", "the highest mod-sequence of the mailbox (RFC 4551)"),
    CODE("NOMODSEQ", "RFC 7162 3.1.2.2", "the mailbox does not keep mod-sequences"),
    CODE("MODIFIED", "RFC 7162 3.1.3", "messages not stored because they changed (UNCHANGEDSINCE)"),
    CODE("COMPRESSIONACTIVE", "RFC 4978 3", "compression is already active"),
    CODE("NOTSAVED", "RFC 5182 2.5", "the search result was not saved ($)"),
    CODE("BADCOMPARATOR", "RFC 5255 4.9", "unknown or unusable comparator"),
    CODE("ANNOTATE", "RFC 5257", "annotation error (TOOBIG, TOOMANY)"),
    CODE("ANNOTATIONS", "RFC 5257", "annotation limits of the mailbox"),
    CODE("TEMPFAIL", "RFC 5259 9", "conversion failed for a temporary reason"),
    CODE("MAXCONVERTMESSAGES", "RFC 5259 9", "too many messages in one CONVERT"),
    CODE("MAXCONVERTPARTS", "RFC 5259 9", "too many body parts in one CONVERT"),
    CODE("NOUPDATE", "RFC 5267 4.3.1", "the server will not send updates of this search context"),
    CODE("METADATA", "RFC 5464 4.2.1, 4.3", "metadata limits (LONGENTRIES, MAXSIZE, TOOMANY, NOPRIVATE)"),
    CODE("NOTIFICATIONOVERFLOW", "RFC 5465 5.8", "NOTIFY events were lost: notifications turned off"),
    CODE("BADEVENT", "RFC 5465 3.1", "a NOTIFY event is not supported"),
    CODE("UNDEFINED-FILTER", "RFC 5466 3.1", "the named search filter is not defined"),
    CODE("USEATTR", "RFC 6154 3", "the special-use attribute is not supported"),
    CODE("MAILBOXID", "RFC 8474 4.1", "the object id of the created mailbox"),
    CODE("INPROGRESS", "RFC 9585", "the command is still in progress (with progress counters)"),
    CODE("UIDREQUIRED", "RFC 9586", "message sequence numbers are not allowed (UIDONLY)"),
    CODE("APPENDLIMIT", "unknown (no RFC defines it as a code; RFC 7889 defines the capability and STATUS item)",
         "the mailbox's APPEND size limit, sent as a response code by some servers"),
    CODE("WEBALERT", "unknown (Google Gmail, no published specification)",
         "a URL the user must open in a web browser (e.g. to sign in); Gmail's, in no RFC"),

    /* ---- capabilities ---- */
    CAP("IMAP4rev2", "RFC 9051", "IMAP version 4 revision 2"),
    CAP("IMAP4rev1", "RFC 3501", "IMAP version 4 revision 1"),
    CAP("IMAP4", "RFC 2060", "IMAP4 (obsolete, RFC 1730)"),
    CAP("STARTTLS", "RFC 9051 6.2.1", "STARTTLS command offered (RFC 2595 3.1)"),
    CAP("LOGINDISABLED", "RFC 9051 6.2.3", "LOGIN refused on this connection (RFC 2595 3.2)"),
    CAP("ACL", "RFC 4314", "access control lists (SETACL, GETACL, ...)"),
    CAP("ANNOTATE-EXPERIMENT-1", "RFC 5257", "per-message annotations"),
    CAP("APPENDLIMIT", "RFC 7889", "maximum APPEND size"),
    CAP("BINARY", "RFC 3516", "BINARY fetch and binary literals ~{n}"),
    CAP("CATENATE", "RFC 4469 2", "APPEND assembled from parts (CATENATE)"),
    CAP("CHILDREN", "RFC 3348", "\\HasChildren / \\HasNoChildren LIST attributes"),
    CAP("COMPRESS=DEFLATE", "RFC 4978", "COMPRESS DEFLATE of the connection"),
    CAP("CONDSTORE", "RFC 7162 3.1", "conditional STORE and MODSEQ (RFC 4551)"),
    CAP("CONTEXT=SEARCH", "RFC 5267", "contexts and updates of SEARCH results"),
    CAP("CONTEXT=SORT", "RFC 5267", "contexts and updates of SORT results"),
    CAP("CONVERT", "RFC 5259", "server-side conversion of body parts"),
    CAP("CREATE-SPECIAL-USE", "RFC 6154 3", "CREATE with USE special-use attributes"),
    CAP("ENABLE", "RFC 5161", "ENABLE command"),
    CAP("ESEARCH", "RFC 4731", "extended SEARCH results (MIN/MAX/COUNT/ALL)"),
    CAP("ESORT", "RFC 5267 3.1", "extended SORT results"),
    CAP("FILTERS", "RFC 5466", "named search filters"),
    CAP("ID", "RFC 2971", "ID command (client/server identification)"),
    CAP("IDLE", "RFC 2177", "IDLE command (push updates)"),
    CAP("LANGUAGE", "RFC 5255 3", "LANGUAGE command (response text language)"),
    CAP("LIST-EXTENDED", "RFC 5258", "LIST selection and return options"),
    CAP("LIST-MYRIGHTS", "RFC 8440", "LIST RETURN (MYRIGHTS)"),
    CAP("LIST-STATUS", "RFC 5819", "LIST RETURN (STATUS ...)"),
    CAP("LITERAL+", "RFC 7888", "non-synchronizing literals {n+} (RFC 2088)"),
    CAP("LITERAL-", "RFC 7888 5", "non-synchronizing literals up to 4096 bytes"),
    CAP("LOGIN-REFERRALS", "RFC 2221", "referrals at login"),
    CAP("MAILBOX-REFERRALS", "RFC 2193", "mailbox referrals (RLIST, RLSUB)"),
    CAP("METADATA", "RFC 5464", "server and mailbox metadata"),
    CAP("METADATA-SERVER", "RFC 5464", "server metadata only"),
    CAP("MOVE", "RFC 6851", "MOVE command"),
    CAP("MULTIAPPEND", "RFC 3502", "APPEND of several messages at once"),
    CAP("MULTISEARCH", "RFC 7377", "ESEARCH across mailboxes"),
    CAP("NAMESPACE", "RFC 2342", "NAMESPACE command"),
    CAP("NOTIFY", "RFC 5465", "NOTIFY command (mailbox events)"),
    CAP("OBJECTID", "RFC 8474 3", "MAILBOXID, EMAILID, THREADID"),
    CAP("PARTIAL", "RFC 9394", "paged SEARCH and FETCH results"),
    CAP("PREVIEW", "RFC 8970", "PREVIEW fetch item: short preview text of a message"),
    CAP("QRESYNC", "RFC 7162 3.2", "quick mailbox resynchronization (RFC 5162)"),
    CAP("QUOTA", "RFC 9208", "quotas (RFC 2087)"),
    CAP("QUOTASET", "RFC 9208", "SETQUOTA allowed"),
    CAP("REPLACE", "RFC 8508", "REPLACE command"),
    CAP("SASL-IR", "RFC 4959", "SASL initial response in AUTHENTICATE"),
    CAP("SAVEDATE", "RFC 8514", "SAVEDATE message attribute"),
    CAP("SEARCHRES", "RFC 5182", "saved search result ($)"),
    CAP("SEARCH=FUZZY", "RFC 6203", "FUZZY search key and relevancy scores"),
    CAP("SORT", "RFC 5256", "SORT command"),
    CAP("SORT=DISPLAY", "RFC 5957", "SORT by display name"),
    CAP("THREAD", "RFC 5256", "THREAD command (bare name; the RFC advertises THREAD=<algorithm>)"),
    CAP("SPECIAL-USE", "RFC 6154", "special-use mailbox attributes"),
    CAP("STATUS=SIZE", "RFC 8438", "STATUS SIZE item"),
    CAP("UIDONLY", "RFC 9586", "UID-only mode (no message sequence numbers)"),
    CAP("UIDPLUS", "RFC 4315", "UID EXPUNGE, APPENDUID, COPYUID (RFC 2359)"),
    CAP("UNAUTHENTICATE", "RFC 8437", "UNAUTHENTICATE command"),
    CAP("UNSELECT", "RFC 3691", "UNSELECT command"),
    CAP("URL-PARTIAL", "RFC 5550", "partial ranges in IMAP URLs (URLFETCH, CATENATE)"),
    CAP("URLAUTH", "RFC 4467", "URLAUTH (GENURLAUTH, URLFETCH, RESETKEY)"),
    CAP("URLAUTH=BINARY", "RFC 5524", "URLAUTH binary fetch"),
    CAP("UTF8=ACCEPT", "RFC 6855", "UTF-8 mailbox names and headers accepted"),
    CAP("UTF8=ONLY", "RFC 6855", "UTF-8 required"),
    CAP("WITHIN", "RFC 5032", "OLDER / YOUNGER search keys"),
    CAP("I18NLEVEL=1", "RFC 5255 4", "internationalization level 1"),
    CAP("I18NLEVEL=2", "RFC 5255 4", "internationalization level 2 (COMPARATOR)"),
    CAP("CONTEXT", "RFC 5267", "contexts"),
    CAP("CONVERSIONS", "RFC 5259", "CONVERSIONS command"),
    CAP("ANNOTATE", "RFC 5257", "annotations"),
    /* drafts and vendors */
    CAP("SNIPPET=FUZZY", "draft-ietf-extra-imap-fetch-snippet (became RFC 8970)",
        "SNIPPET fetch item (draft name of RFC 8970 PREVIEW), fuzzy algorithm"),
    CAP("PREVIEW=FUZZY", "draft-ietf-extra-imap-fetch-preview (became RFC 8970)",
        "PREVIEW fetch item, fuzzy algorithm (draft form of RFC 8970 PREVIEW)"),
    CAP("LISTEXT", "draft-ietf-imapext-list-extensions (became RFC 5258)",
        "LIST extensions, draft form of LIST-EXTENDED"),
    CAP("LIST-SUBSCRIBED", "draft-ietf-imapext-list-extensions (became RFC 5258)",
        "LIST (SUBSCRIBED) selection option, draft form of LIST-EXTENDED"),
    CAP("XLIST", GMAIL, "XLIST command (special-use folders before RFC 6154)"),
    CAP("X-GM-EXT-1", GMAIL, "Gmail extensions (X-GM-MSGID, X-GM-THRID, X-GM-LABELS, X-GM-RAW)"),
    CAP("XAPPLEPUSHSERVICE", "unknown (Apple, no public document)", "Apple push notification registration"),
    CAP("X-ALLMAIL", "unknown (vendor, no public document)", "all-mail folder"),
    CAP("X-CM-EXT-1", "unknown (Coremail, no public document)", "Coremail (NetEase) server extensions"),
    CAP("XYMHIGHESTMODSEQ", "unknown (Yahoo, no public document)", "Yahoo's variant of HIGHESTMODSEQ (CONDSTORE)"),
    CAP("SCAN", "unknown (UW imapd, no public document)", "UW imapd's SCAN command (text search over mailboxes)"),
    /* prefixes */
    CAPP("AUTH=", "RFC 9051 6.2.2", "SASL mechanism offered for AUTHENTICATE"),
    CAPP("THREAD=", "RFC 5256", "THREAD algorithm"),
    CAPP("SORT=", "RFC 5256", "SORT extension"),
    CAPP("RIGHTS=", "RFC 4314", "extra ACL rights"),
    CAPP("I18NLEVEL=", "RFC 5255 4", "internationalization level"),
    CAPP("COMPRESS=", "RFC 4978", "compression mechanism"),
    CAPP("CONTEXT=", "RFC 5267", "context support"),
    CAPP("UTF8=", "RFC 6855", "UTF-8 support"),
    CAPP("QUOTA=RES-", "RFC 9208", "quota resource type supported"),
    CAPP("QUOTA=", "RFC 9208", "quota extension"),
    CAPP("STATUS=", "RFC 8438", "STATUS extension"),
    CAPP("URLAUTH=", "RFC 4467", "URLAUTH extension"),
    CAPP("APPENDLIMIT=", "RFC 7889", "maximum APPEND size"),
    CAPP("SEARCH=", "RFC 6203", "SEARCH extension"),
    CAPP("XCOURIEROUTBOX=", "Courier-IMAP INSTALL, \"Sending mail via an IMAP connection\"",
         "folder whose appended messages are sent as mail (Courier)"),
};

#define NTABLE (sizeof table / sizeof table[0])
_Static_assert(NTABLE <= IMAP_ANNOT_MAX, "IMAP_ANNOT_MAX bounds the table (seen-sets use it)");

static char upc(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 32) : c; }

/* Exact entries first, then the longest matching prefix.  Entries are
 * skipped on kind and first letter before any length is taken. */
const imap_annot *imap_annot_lookup(imap_annot_kind kind, const char *name, size_t len)
{
    if (name == NULL || len == 0)
        return NULL;
    char c0 = upc(name[0]);
    const imap_annot *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < NTABLE; i++) {
        const imap_annot *a = &table[i];
        if (a->kind != kind || upc(a->name[0]) != c0)
            continue;
        size_t el = strlen(a->name);
        if (!a->prefix) {
            if (el == len && strncasecmp(a->name, name, len) == 0)
                return a;
        } else if (len >= el && el > best_len && strncasecmp(a->name, name, el) == 0) {
            best = a;
            best_len = el;
        }
    }
    return best;
}

size_t imap_annot_count(void) { return NTABLE; }

const imap_annot *imap_annot_at(size_t i) { return i < NTABLE ? &table[i] : NULL; }

size_t imap_annot_index(const imap_annot *a)
{
    if (a < table || a >= table + NTABLE)
        return NTABLE;
    return (size_t)(a - table);
}

const char *imap_annot_kind_name(imap_annot_kind kind)
{
    static const char *const names[] = { "command", "status", "code", "capability" };
    return (unsigned)kind < IMAP_ANNOT__COUNT ? names[kind] : "?";
}
