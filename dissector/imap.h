/*
 * imap.h - the IMAP dissector library (libimapdissect.a): public interface.
 *
 * The dissector takes the two byte streams of one IMAP connection (client to
 * server, server to client) in pieces of any size and gives events: one per
 * command/response transaction, one per protocol line (for a trace), one per
 * anomaly, and a notice when the stream switches to TLS or DEFLATE.  It does
 * no I/O and knows nothing of packets.  Events are typed structs; decoded
 * values are a tree of the library's own (imap_node), read through the
 * accessors below.  No allocation is asked of the caller, and nothing here
 * needs another library's header: usable from C and C++.
 *
 * Incremental: the same bytes fed whole, one byte at a time or in random
 * chunks give the same events.  Memory is bounded by imap_config.
 *
 * Threading: a session is used by one thread at a time; sessions are
 * independent.
 */
#ifndef IMAP_H
#define IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
#include <atomic>
/* the same object representation as C11 _Atomic for these types (GCC,
 * Clang: lock-free integers) */
#define IMAP_ATOMIC(T) std::atomic<T>
#else
#include <stdatomic.h>
#define IMAP_ATOMIC(T) _Atomic T
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum imap_dir {
    IMAP_DIR_CLIENT = 0, /* bytes sent by the client (commands) */
    IMAP_DIR_SERVER = 1  /* bytes sent by the server (responses) */
} imap_dir;

/* A memory budget shared by every session that points to it (all threads):
 * the bytes a session holds beyond its fixed part (line buffers grown past
 * their first KiB, kept literal bytes, pending commands and the decoded
 * responses of their transactions, approximately) are charged to it.  When
 * a charge would pass `limit` it is refused and the session drops what it
 * was about to keep, with a "memcap" anomaly saying what: a long line is
 * framed but not parsed, a literal is not kept for decoding, the oldest
 * pending command is abandoned, a decoded response is only counted.
 * Counters are updated atomically. */
typedef struct imap_budget {
    size_t           limit;    /* bytes; 0 = no limit (only counted) */
    IMAP_ATOMIC(size_t)   used;     /* bytes charged now */
    IMAP_ATOMIC(size_t)   peak;     /* most bytes charged at once */
    IMAP_ATOMIC(uint64_t) refused;  /* charges refused */
} imap_budget;

void imap_budget_init(imap_budget *b, size_t limit);

/* Limits and switches.  imap_config_default() fills library defaults; a
 * program sets its own from its limits header.  Every cap that is reached
 * produces an anomaly event and a counter, never a crash or silent loss. */
typedef struct imap_config {
    size_t   max_line;         /* bytes of one logical line's text (literal data excluded) */
    uint64_t max_literal;      /* a literal announced larger is an anomaly (its bytes are still skipped) */
    size_t   literal_keep;     /* bytes of each literal kept for decoding (LOGIN user, small strings) */
    size_t   max_pending;      /* commands awaiting their tagged response */
    size_t   max_responses;    /* decoded untagged responses kept in one transaction (the rest only counted) */
    size_t   max_txn_bytes;    /* approximate bytes of decoded JSON held per transaction */
    bool     hash_literals;    /* SHA-256 of every literal in the event */
    bool     show_credentials; /* passwords and SASL secrets in clear (default: redacted) */
    bool     emit_lines;       /* IMAP_EV_LINE events (for a text trace) */
    imap_budget *budget;       /* shared memory budget (borrowed; outlives the sessions), or NULL */
} imap_config;

void imap_config_default(imap_config *cfg);

typedef enum imap_event_type {
    IMAP_EV_TRANSACTION, /* a command completed (or abandoned): data is the "imap" object */
    IMAP_EV_LINE,        /* one protocol line, for the trace: data describes it
                          * (direction, kind, tag, command/status, text;
                          * "names": {"mailbox": "Entwürfe", ...} when the
                          * line carries mailbox names sent in modified
                          * UTF-7, decoded).  A
                          * client line with synchronizing literals ("{n}"
                          * CRLF: the client waits for the server's "+",
                          * RFC 9051 4.3) comes in parts, so the trace keeps
                          * the wire order: part 1 (kind "command") when the
                          * text up to the first such marker is complete;
                          * each later part (kind "continuation_data", with
                          * "part": n, the same tag/command) when the text up
                          * to the next marker or the end of the line is, and
                          * begins with the literal it follows (redacted for
                          * LOGIN/AUTHENTICATE).  The last part has
                          * "last_part": true.  Anomalies about a line follow
                          * its (last) LINE event; framing anomalies
                          * (line_too_long, bare_lf, literal ones) come where
                          * the framing finds them.  The transaction event
                          * still comes with the tagged response. */
    IMAP_EV_ANOMALY,     /* a named anomaly: anomaly/name/detail set, data has the same */
    IMAP_EV_SWITCH       /* the stream switches layer: see switch_to and dir */
} imap_event_type;

typedef enum imap_layer {
    IMAP_LAYER_NONE = 0,
    IMAP_LAYER_TLS,     /* STARTTLS accepted (RFC 9051 6.2.1), or TLS seen where it was due */
    IMAP_LAYER_DEFLATE  /* COMPRESS DEFLATE accepted (RFC 4978 3) */
} imap_layer;

/* ---- decoded values: the dissector's own value tree ----
 *
 * Decoded arguments and responses are a tree of imap_node: null, bool,
 * int (64-bit signed), string (UTF-8; network bytes that are not are
 * escaped as \xHH by the decoders), array, object (keys in insertion
 * order, unique).  Nodes handed out in an event are borrowed: valid during
 * the callback only, read-only.  Readers accept NULL and a node of another
 * kind (they give NULL/0/false), so a missing key needs no check before
 * reading on. */
typedef struct imap_node imap_node;

typedef enum imap_node_kind {
    IMAP_NODE_NULL = 0,
    IMAP_NODE_BOOL,
    IMAP_NODE_INT,
    IMAP_NODE_STRING,
    IMAP_NODE_ARRAY,
    IMAP_NODE_OBJECT
} imap_node_kind;

imap_node_kind imap_node_kind_of(const imap_node *n);           /* NULL: IMAP_NODE_NULL */
bool imap_node_bool(const imap_node *n);
int64_t imap_node_int(const imap_node *n);
/* The bytes of a string node (NUL-terminated; *len, when len is not NULL,
 * counts them, and a string may hold NUL bytes), or NULL. */
const char *imap_node_str(const imap_node *n, size_t *len);
/* The allocator of the value trees (default: malloc and free), for a
 * program that has a faster one for many small blocks.  Call before any
 * session exists; both functions must be thread-safe, and a block freed
 * may have been allocated by another thread. */
void imap_set_alloc_funcs(void *(*malloc_fn)(size_t), void (*free_fn)(void *));

/* Items of an array, pairs of an object (0 for the other kinds). */
size_t imap_node_size(const imap_node *n);
/* Iteration, i < imap_node_size(n): the i-th item of an array, or the
 * value of the i-th pair of an object (insertion order); NULL past the end. */
const imap_node *imap_node_at(const imap_node *n, size_t i);
/* The key of the i-th pair of an object (NUL-terminated; *klen its
 * length when klen is not NULL), or NULL. */
const char *imap_node_key_at(const imap_node *n, size_t i, size_t *klen);
/* The value of key in an object, or NULL. */
const imap_node *imap_node_get(const imap_node *n, const char *key);

/* A run of bytes inside the dissector's memory: valid during the callback
 * that hands it out; not NUL-terminated unless said.  {NULL, 0}: absent. */
typedef struct imap_span {
    const char *ptr;
    size_t      len;
} imap_span;

/* Commands: one X-macro table, (identifier, wire name).  RFC 9051 9 and
 * the extensions the dissector decodes (docs/output.md lists their RFCs).
 * UID forms are their own entries ("UID FETCH"). */
#define IMAP_COMMAND_TABLE(X)                                                            \
    X(CAPABILITY, "CAPABILITY") X(LOGOUT, "LOGOUT") X(NOOP, "NOOP") X(ID, "ID")          \
    X(LANGUAGE, "LANGUAGE") X(LOGIN, "LOGIN") X(AUTHENTICATE, "AUTHENTICATE")            \
    X(STARTTLS, "STARTTLS") X(APPEND, "APPEND") X(CREATE, "CREATE") X(DELETE, "DELETE")  \
    X(ENABLE, "ENABLE") X(EXAMINE, "EXAMINE") X(LIST, "LIST") X(LSUB, "LSUB")            \
    X(NAMESPACE, "NAMESPACE") X(RENAME, "RENAME") X(SELECT, "SELECT")                    \
    X(STATUS, "STATUS") X(SUBSCRIBE, "SUBSCRIBE") X(UNSUBSCRIBE, "UNSUBSCRIBE")          \
    X(IDLE, "IDLE") X(COMPRESS, "COMPRESS") X(GETQUOTA, "GETQUOTA")                      \
    X(GETQUOTAROOT, "GETQUOTAROOT") X(SETQUOTA, "SETQUOTA") X(GETACL, "GETACL")          \
    X(SETACL, "SETACL") X(DELETEACL, "DELETEACL") X(LISTRIGHTS, "LISTRIGHTS")            \
    X(MYRIGHTS, "MYRIGHTS") X(GETMETADATA, "GETMETADATA") X(SETMETADATA, "SETMETADATA")  \
    X(NOTIFY, "NOTIFY") X(XLIST, "XLIST") X(ESEARCH, "ESEARCH") X(RESETKEY, "RESETKEY")  \
    X(GENURLAUTH, "GENURLAUTH") X(URLFETCH, "URLFETCH") X(COMPARATOR, "COMPARATOR")      \
    X(CONVERSIONS, "CONVERSIONS") X(UNAUTHENTICATE, "UNAUTHENTICATE") X(CHECK, "CHECK")  \
    X(CLOSE, "CLOSE") X(EXPUNGE, "EXPUNGE") X(COPY, "COPY") X(FETCH, "FETCH")            \
    X(STORE, "STORE") X(SEARCH, "SEARCH") X(MOVE, "MOVE") X(UNSELECT, "UNSELECT")        \
    X(SORT, "SORT") X(THREAD, "THREAD") X(CANCELUPDATE, "CANCELUPDATE")                  \
    X(REPLACE, "REPLACE") X(UID_FETCH, "UID FETCH") X(UID_STORE, "UID STORE")            \
    X(UID_COPY, "UID COPY") X(UID_MOVE, "UID MOVE") X(UID_SEARCH, "UID SEARCH")          \
    X(UID_EXPUNGE, "UID EXPUNGE") X(UID_SORT, "UID SORT") X(UID_THREAD, "UID THREAD")    \
    X(UID_REPLACE, "UID REPLACE")

typedef enum imap_command {
    IMAP_CMD_NONE = 0,  /* no command: a tagged response whose command was not seen */
    IMAP_CMD_OTHER,     /* a name not in the table (X- commands, typos): see command_name */
#define IMAP_X_(id, name) IMAP_CMD_##id,
    IMAP_COMMAND_TABLE(IMAP_X_)
#undef IMAP_X_
    IMAP_CMD__COUNT
} imap_command;

/* The wire name ("UID FETCH"); "" for NONE and OTHER. */
const char *imap_command_name(imap_command c);
/* The entry for an upper-case name of len bytes; IMAP_CMD_OTHER if none. */
imap_command imap_command_lookup(const char *name, size_t len);

/* Status responses (RFC 9051 7.1). */
typedef enum imap_status {
    IMAP_STATUS_NONE = 0, /* no tagged response (abandoned, connection ended) */
    IMAP_STATUS_OK,
    IMAP_STATUS_NO,
    IMAP_STATUS_BAD,
    IMAP_STATUS_PREAUTH,
    IMAP_STATUS_BYE
} imap_status;
/* "OK", "NO", "BAD", "PREAUTH", "BYE"; "" for NONE. */
const char *imap_status_name(imap_status s);

/* Response codes (RFC 9051 7.1 and extensions), (identifier, name). */
#define IMAP_CODE_TABLE(X)                                                                    \
    X(ALERT, "ALERT") X(ALREADYEXISTS, "ALREADYEXISTS") X(APPENDUID, "APPENDUID")             \
    X(AUTHENTICATIONFAILED, "AUTHENTICATIONFAILED") X(AUTHORIZATIONFAILED, "AUTHORIZATIONFAILED") \
    X(BADCHARSET, "BADCHARSET") X(CANNOT, "CANNOT") X(CAPABILITY, "CAPABILITY")               \
    X(CLIENTBUG, "CLIENTBUG") X(CLOSED, "CLOSED") X(CONTACTADMIN, "CONTACTADMIN")             \
    X(COPYUID, "COPYUID") X(CORRUPTION, "CORRUPTION") X(EXPIRED, "EXPIRED")                   \
    X(EXPUNGEISSUED, "EXPUNGEISSUED") X(HASCHILDREN, "HASCHILDREN") X(INUSE, "INUSE")         \
    X(LIMIT, "LIMIT") X(NONEXISTENT, "NONEXISTENT") X(NOPERM, "NOPERM")                       \
    X(OVERQUOTA, "OVERQUOTA") X(PARSE, "PARSE") X(PERMANENTFLAGS, "PERMANENTFLAGS")           \
    X(PRIVACYREQUIRED, "PRIVACYREQUIRED") X(READ_ONLY, "READ-ONLY") X(READ_WRITE, "READ-WRITE") \
    X(SERVERBUG, "SERVERBUG") X(TRYCREATE, "TRYCREATE") X(UIDNEXT, "UIDNEXT")                 \
    X(UIDNOTSTICKY, "UIDNOTSTICKY") X(UIDVALIDITY, "UIDVALIDITY") X(UNAVAILABLE, "UNAVAILABLE") \
    X(UNKNOWN_CTE, "UNKNOWN-CTE") X(UNSEEN, "UNSEEN") X(HIGHESTMODSEQ, "HIGHESTMODSEQ")       \
    X(NOMODSEQ, "NOMODSEQ") X(MODIFIED, "MODIFIED") X(COMPRESSIONACTIVE, "COMPRESSIONACTIVE") \
    X(MAILBOXID, "MAILBOXID") X(METADATA, "METADATA") X(NOTSAVED, "NOTSAVED")                 \
    X(BADURL, "BADURL") X(BADCOMPARATOR, "BADCOMPARATOR") X(BADEVENT, "BADEVENT")             \
    X(NOUPDATE, "NOUPDATE") X(INPROGRESS, "INPROGRESS") X(REFERRAL, "REFERRAL")               \
    X(APPENDLIMIT, "APPENDLIMIT") X(TOOBIG, "TOOBIG") X(USEATTR, "USEATTR")

typedef enum imap_code {
    IMAP_CODE_NONE = 0, /* no response code */
    IMAP_CODE_OTHER,    /* a code not in the table: see imap_resp_code.name */
#define IMAP_X_(id, name) IMAP_CODE_##id,
    IMAP_CODE_TABLE(IMAP_X_)
#undef IMAP_X_
    IMAP_CODE__COUNT
} imap_code;
const char *imap_code_name(imap_code c);
imap_code imap_code_lookup(const char *name, size_t len);

/* A response code: its name and its decoded arguments (the "response_code"
 * object of docs/output.md, e.g. {"code": "UIDNEXT", "uidnext": 4392}). */
typedef struct imap_resp_code {
    imap_code        code;
    imap_span        name;  /* upper case, as on the wire */
    const imap_node *value; /* NULL when there is no code */
} imap_resp_code;

/* Session states (RFC 9051 3). */
typedef enum imap_session_state {
    IMAP_SESSION_NOT_AUTHENTICATED = 0,
    IMAP_SESSION_AUTHENTICATED,
    IMAP_SESSION_SELECTED,
    IMAP_SESSION_LOGOUT,
    IMAP_SESSION_UNKNOWN   /* mid-stream start, until a response proves it */
} imap_session_state;
/* "not_authenticated", "authenticated", "selected", "logout", "unknown" */
const char *imap_session_state_name(imap_session_state st);

/* IMAP_EV_TRANSACTION: one command and its completion.  The fixed fields
 * are members; `obj` is the whole "imap" object of docs/output.md (the
 * same fields, then the decoded arguments, responses and literals, in the
 * order of the JSON output), for renderers and for keys not listed here. */
typedef struct imap_transaction {
    imap_span          tag;
    imap_command       command;
    imap_span          command_name;  /* "UID FETCH", or the unknown name; empty for NONE */
    imap_status        status;        /* NONE when no tagged response was seen */
    imap_resp_code     code;          /* of the tagged response */
    imap_span          text;          /* of the tagged response (after the code) */
    bool               has_latency;
    uint64_t           latency_us;    /* request to tagged response */
    uint64_t           ts_request_us; /* 0 when the command was not seen */
    uint64_t           client_bytes;  /* wire bytes of the command (literals included) */
    uint64_t           server_bytes;  /* wire bytes of its responses */
    unsigned           continuations; /* "+" responses */
    imap_session_state state;         /* when the command was issued */
    bool               tls;           /* layer at completion */
    bool               compressed;
    const imap_node   *args;          /* decoded arguments: the object obj (keys
                                       * other than the fixed ones are arguments) */
    const imap_node   *responses;     /* array of decoded untagged responses, or NULL */
    const imap_node   *obj;
} imap_transaction;

/* IMAP_EV_LINE: one protocol line for a trace (see IMAP_EV_LINE below). */
typedef enum imap_line_kind {
    IMAP_LINE_COMMAND = 0,        /* client: a command line (or its first part) */
    IMAP_LINE_CONTINUATION_DATA,  /* client: data after a "+" (a later part, SASL, APPEND) */
    IMAP_LINE_DONE,               /* client: DONE of IDLE */
    IMAP_LINE_TAGGED,             /* server: a tagged status response */
    IMAP_LINE_UNTAGGED,           /* server: "* ..." */
    IMAP_LINE_CONTINUATION,       /* server: "+ ..." */
    IMAP_LINE_MALFORMED           /* server: not a response */
} imap_line_kind;
/* "command", "continuation_data", "done", "tagged", "untagged",
 * "continuation", "malformed" */
const char *imap_line_kind_name(imap_line_kind k);

typedef struct imap_line {
    imap_line_kind   kind;
    imap_span        tag;        /* empty when the line has none */
    imap_span        word;       /* client: the command; server: status or response name */
    imap_span        text;       /* the line as shown: valid UTF-8, secrets redacted,
                                  * literals summarised */
    unsigned         part;       /* 0, or n >= 2 for part n of a client line */
    bool             last_part;
    bool             has_latency;
    uint64_t         latency_us; /* tagged: since the command */
    imap_span        code;       /* response code name, empty when none */
    const imap_node *capabilities; /* array of capability names listed here, or NULL */
    const imap_node *names;      /* {"mailbox": "Entwürfe", ...} decoded names, or NULL */
    const imap_node *obj;        /* the line as an object (the same fields) */
} imap_line;

/* Anomalies: one X-macro table in imap_anomaly.h gives enum, name, text. */
#include "imap_anomaly.h"

typedef struct imap_event {
    imap_event_type type;
    imap_dir        dir;      /* direction of the bytes that raised the event */
    uint64_t        ts_us;    /* timestamp of the bytes that completed it (as fed) */
    uint64_t        offset;   /* stream offset in dir of the line/anomaly/switch */
    /* borrowed, read-only, valid during the callback only:
     * TRANSACTION: txn (txn->obj == data); LINE: line (line->obj == data);
     * ANOMALY: data has name, description, severity, signature_id,
     * direction, offset, detail and tag (when known); SWITCH: all NULL. */
    const imap_transaction *txn;
    const imap_line        *line;
    const imap_node        *data;
    /* IMAP_EV_ANOMALY */
    imap_anomaly    anomaly;
    const char     *name;     /* stable snake_case name */
    const char     *detail;   /* short human text, may be NULL */
    /* IMAP_EV_SWITCH: bytes of dir from `offset` on are in the new layer.  A
     * STARTTLS or COMPRESS switch gives two events, one per direction:
     * server: just after the CRLF of the tagged OK; client: its current
     * position when the OK is seen. */
    imap_layer      switch_to;
} imap_event;

/* What a literal carries, for the literal sink (message extraction).
 * RFC 9051 9: literal = "{" number64 ["+"] "}" CRLF *CHAR8 (literal8 of
 * RFC 3516: "~{" number64 "}").  The dissector reads the text of the line
 * up to the literal's marker: */
typedef enum imap_literal_kind {
    IMAP_LITERAL_OTHER = 0, /* any other literal (strings of LOGIN, SEARCH, a mailbox name, ...) */
    IMAP_LITERAL_FETCH,     /* server: the value of a FETCH item, RFC 9051 9:
                             *   msg-att-static =/ "RFC822" SP nstring / "RFC822.HEADER" SP nstring /
                             *     "RFC822.TEXT" SP nstring / "BODY" section ["<" number ">"] SP nstring /
                             *     "BINARY" section-binary ["<" number ">"] SP (nstring / literal8)
                             *   section = "[" [section-spec] "]" */
    IMAP_LITERAL_APPEND,    /* client: the message of APPEND, RFC 9051 9:
                             *   append = "APPEND" SP mailbox [SP flag-list] [SP date-time] SP literal
                             * (each message of MULTIAPPEND, RFC 3502) */
    IMAP_LITERAL_CATENATE   /* client: a TEXT part of APPEND ... CATENATE (RFC 4469 5:
                             *   cat-part = text-literal / url; text-literal = "TEXT" SP literal) */
} imap_literal_kind;

/* The context of one literal (on_literal_begin) or of the end of a line
 * that carried literals (on_literal_line_end).  Strings are NUL-terminated
 * and borrowed for the callback; absent values are "" / false / 0. */
typedef struct imap_literal_info {
    imap_dir          dir;
    imap_literal_kind kind;
    uint64_t          size;        /* bytes announced (begin); 0 at line end */
    bool              binary;      /* literal8 ("~{n}", RFC 3516) */
    unsigned          index;       /* 0-based number of the literal in its logical line
                                    * (line end: the number of literals of the line) */
    const char       *tag;         /* of the line ("*" for untagged responses); "" when redacted */
    const char       *command;     /* client: the command ("UID FETCH"); server: the response name ("FETCH") */
    /* FETCH (kind IMAP_LITERAL_FETCH, and line end of a FETCH response) */
    uint32_t          seq;         /* message sequence number (RFC 9051 7.5.2: message-data) */
    bool              has_uid;     /* "UID n" came in this FETCH response before the literal
                                    * (line end: anywhere in the response) */
    uint32_t          uid;
    const char       *section;     /* the fetch item as on the wire, upper case, without
                                    * the partial origin: "BODY[]", "BODY[HEADER]",
                                    * "BODY[1.2]", "RFC822", "RFC822.HEADER", "BINARY[]",
                                    * "BODY[HEADER.FIELDS (FROM TO)]" */
    bool              has_origin;  /* "<n>" followed the section: a partial fetch */
    uint64_t          origin;
    /* the mailbox: APPEND's target (client), or the one selected (server
     * FETCH); UTF-8 (modified UTF-7 decoded, RFC 9051 5.1.3) */
    const char       *mailbox;
} imap_literal_info;

/* The caller's callbacks: a const table plus one user pointer.  A callback
 * that returns non-zero stops the current feed call (it returns -1). */
typedef struct imap_callbacks {
    int (*on_event)(void *user, const imap_event *ev);
    /* Optional literal sink (message extraction).  begin gives the size
     * announced and what the literal is (info, borrowed); data may come in
     * many pieces; end follows the last byte (or a gap/close:
     * complete=false).  Literals of a line that is too long to keep come
     * with kind IMAP_LITERAL_OTHER. */
    int (*on_literal_begin)(void *user, const imap_literal_info *info);
    int (*on_literal_data)(void *user, imap_dir dir, const uint8_t *data, size_t len);
    int (*on_literal_end)(void *user, imap_dir dir, bool complete);
    /* Optional: a logical line that carried literals is complete (after
     * its IMAP_EV_LINE, before the transaction it may complete): info
     * has kind, seq and uid of the whole line (a FETCH response may send
     * UID after the literal), index = the number of its literals. */
    int (*on_literal_line_end)(void *user, const imap_literal_info *info);
} imap_callbacks;

typedef struct imap_session imap_session;

/* Creates a session.  cfg and cb are copied (cb's pointees must outlive the
 * session).  Returns NULL only when out of memory. */
imap_session *imap_session_new(const imap_config *cfg, const imap_callbacks *cb, void *user);

/* Feeds len bytes of one direction.  Returns the number of bytes consumed:
 * len, or fewer when the stream switched layer inside this piece (an
 * IMAP_EV_SWITCH was emitted for dir; the rest is not plaintext IMAP and the
 * caller routes it to the new layer, then feeds the layer's output back here
 * as usual).  Returns -1 when a callback asked to stop. */
long imap_session_feed(imap_session *s, imap_dir dir, const uint8_t *data, size_t len, uint64_t ts_us);

/* len bytes of dir were lost (TCP gap).  A gap inside a literal only
 * shortens it; elsewhere the direction resynchronises at the next clear line
 * start, and an anomaly is reported. */
void imap_session_gap(imap_session *s, imap_dir dir, uint64_t len, uint64_t ts_us);

/* Tells the session what the caller did with a layer (so the summary and
 * transactions are marked): decrypted=true when bytes fed from now on in dir
 * are decrypted TLS plaintext, etc. */
void imap_session_set_layer(imap_session *s, imap_dir dir, imap_layer layer, bool visible);

/* The caller knows the connection began before the capture (no TCP
 * handshake, and the first bytes are not a greeting).  Call before the
 * first feed: the state is unknown (no state-validity anomalies until a
 * response proves the state), no greeting is expected, and each direction
 * starts at its first line that clearly begins a command or a response.
 * The summary says "midstream": true. */
void imap_session_set_midstream(imap_session *s);

/* The TCP handshake was not seen, but the server's first bytes look like a
 * greeting ("* OK ..."), so imap_session_set_midstream was not called.  A
 * first untagged OK then counts as the greeting only if it looks like one
 * (a CAPABILITY code, or text naming the server): otherwise (an IDLE
 * keep-alive "* OK Still here", RFC 2177) the session is mid-stream as
 * after imap_session_set_midstream, without an anomaly.  Call before the
 * first feed. */
void imap_session_set_no_handshake(imap_session *s);

/* What this session saw of STARTTLS (RFC 9051 6.2.1), for evidence across
 * connections (a server that offers STARTTLS to some clients and not to
 * others has it stripped on the way):
 *   OFFERED  STARTTLS was in a capability list before TLS;
 *   STRIPPED not offered, and starttls_stripped was raised here (evidence
 *            in this session: refused, or mangled);
 *   ABSENT   credentials went in clear after capability lists without
 *            STARTTLS nor LOGINDISABLED (stripped if the server offers it
 *            to others);
 *   UNKNOWN  none of these. */
typedef enum imap_starttls_offer {
    IMAP_STARTTLS_UNKNOWN = 0,
    IMAP_STARTTLS_OFFERED,
    IMAP_STARTTLS_STRIPPED,
    IMAP_STARTTLS_ABSENT
} imap_starttls_offer;
imap_starttls_offer imap_session_starttls_offer(const imap_session *s);

/* The server greeting as the dissector decoded it (RFC 9051 7.1:
 * greeting = "*" SP (resp-cond-auth / resp-cond-bye) CRLF): an object
 * {status, code: {code, args, ...} or absent, text}, or NULL when none came
 * (yet, or the capture began after it).  Borrowed: valid while the
 * session lives. */
const imap_node *imap_session_greeting(const imap_session *s);

/* Ends the session: commands still pending become transactions with a null
 * status (reason given).  Emits their events.  Idempotent. */
void imap_session_end(imap_session *s, const char *reason, uint64_t ts_us);

/* The session summary: user, authentication attempts and mechanisms,
 * capabilities, mailboxes selected, command counts, state, layers, anomaly
 * counts, as an object tree (docs/output.md, "imap_session").  A new
 * reference: the caller releases it with imap_node_release().  It shares
 * the session's arrays (no copy): read it before feeding the session
 * again; it stays valid after imap_session_free.  Call after _end or any
 * time. */
imap_node *imap_session_summary(const imap_session *s);
/* Drops a reference handed out by imap_session_summary (NULL is fine). */
void imap_node_release(imap_node *n);

/* The summary's fixed fields, typed (the same values as the tree of
 * imap_session_summary, which out->obj holds: a new reference, dropped by
 * imap_summary_release).  Spans point into the session or the tree: valid
 * until the next feed or imap_summary_release, whichever comes first. */
typedef struct imap_summary {
    imap_span           user;            /* the last user seen logging in, or empty */
    bool                login_success;
    bool                preauth;         /* PREAUTH greeting (RFC 9051 7.1.4) */
    bool                midstream;
    imap_session_state  state;           /* at the end (or now) */
    uint64_t            transactions;
    uint64_t            commands;        /* commands seen, every name */
    bool                starttls_requested;
    imap_span           starttls_result; /* "OK", "NO", "BAD", "invalid"; empty when none */
    bool                compress_requested;
    imap_span           compress_result;
    bool                tls;             /* layers now */
    bool                compressed;
    imap_starttls_offer starttls_offer;  /* imap_session_starttls_offer() */
    imap_node          *obj;             /* the whole summary tree */
} imap_summary;
void imap_session_summary_typed(const imap_session *s, imap_summary *out);
void imap_summary_release(imap_summary *sum);

/* True when the first bytes of a stream look like a server greeting
 * ("* OK", "* PREAUTH", "* BYE"): helps the caller decide who is the server
 * when the TCP handshake was not seen. */
bool imap_looks_like_greeting(const uint8_t *data, size_t len);

void imap_session_free(imap_session *s);

/* After an IMAP_EV_SWITCH to TLS in dir, the caller hands the raw bytes
 * following the switch point to its TLS layer; it shows them here first
 * (as many as it has at once: the rest of the piece that held the switch,
 * or the next piece): the first call after a switch checks that they start
 * a TLS record (0x16); plaintext there is an anomaly (server:
 * starttls_response_injection, client: starttls_client_cleartext;
 * SPECS.md 6), with those bytes in its detail.  imap_session_feed does not
 * look past the switch point itself, so the result does not depend on how
 * the stream was split.  Returns 1 when an anomaly was reported, else 0.
 * Later calls (until the next switch) do nothing. */
int imap_session_check_tls_start(imap_session *s, imap_dir dir, const uint8_t *data, size_t len);

/* Annotations (imap_annot.c): one table of every command, status response,
 * response code and capability the dissector knows, each with its
 * reference ("RFC 9051 6.4.9", or the vendor's document) and a one-line
 * meaning.  Names are canonical upper case (capability atoms keep the case
 * of their RFC, e.g. "IMAP4rev1"); lookups are case-insensitive (RFC 9051
 * 9: atoms).  A prefix entry ("AUTH=", "THREAD=", "X") matches any name
 * that starts with it; exact entries win over prefixes. */
typedef enum imap_annot_kind {
    IMAP_ANNOT_COMMAND = 0,
    IMAP_ANNOT_STATUS,      /* OK NO BAD PREAUTH BYE (RFC 9051 7.1.1-7.1.5) */
    IMAP_ANNOT_CODE,        /* response codes (RFC 9051 7.1, RFC 5530, ...) */
    IMAP_ANNOT_CAPABILITY,
    IMAP_ANNOT__COUNT
} imap_annot_kind;

typedef struct imap_annot {
    const char     *name;    /* canonical name; for prefixes ("AUTH=") the prefix */
    const char     *rfc;     /* reference, e.g. "RFC 4978 3"; "unknown" when no document exists */
    const char     *meaning; /* one line */
    bool            prefix;  /* matches name as a prefix (AUTH=, THREAD=, RIGHTS=, X, ...) */
    imap_annot_kind kind;
} imap_annot;

/* The entry of kind for name (len bytes, need not be NUL-terminated), or
 * NULL.  Commands: "UID FETCH" style names (one space); a "UID" form with
 * no entry of its own falls back to nothing (no guessing). */
const imap_annot *imap_annot_lookup(imap_annot_kind kind, const char *name, size_t len);
/* Number of entries; imap_annot_at(i) for i < imap_annot_count() (the
 * table order, stable within a build); imap_annot_index(a) is the inverse
 * (entries of the table only).  Indexes fit IMAP_ANNOT_MAX. */
size_t imap_annot_count(void);
const imap_annot *imap_annot_at(size_t i);
size_t imap_annot_index(const imap_annot *a);
#define IMAP_ANNOT_MAX 512
/* "command", "status", "code", "capability" */
const char *imap_annot_kind_name(imap_annot_kind kind);

/* Capability and response-code metadata: the annotation entries of those
 * kinds (thin wrappers of imap_annot_lookup, kept for their callers). */
typedef imap_annot imap_capability_info;
const imap_capability_info *imap_capability_lookup(const char *name, size_t len);
const imap_capability_info *imap_resp_code_lookup(const char *name, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* IMAP_H */
