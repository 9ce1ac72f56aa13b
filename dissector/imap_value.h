/*
 * imap_value.h - generic IMAP values (internal to the dissector).
 *
 * A logical line is the text of one command or response with the data of
 * its literals taken out: the text keeps each literal's "{n}\r\n" marker
 * (or "~{n}", "{n+}", "{n-}") and the literal bytes themselves are
 * described by imap_literal records, in order.  Example: the wire bytes
 *     A001 LOGIN {5}\r\nalice {8}\r\npassword\r\n
 * give text "A001 LOGIN {5}\r\n {8}\r\n" (final CRLF excluded) and two
 * literal records (5 bytes "alice", 8 bytes "password").
 *
 * The tokenizer turns such a line (or a part of it) into a tree of generic
 * values (RFC 9051 9: atom, number, string = quoted / literal, NIL,
 * parenthesised list), allocated from an arena that is reset per line.
 * Command- and response-specific meaning is decoded on top of these values
 * (imap_decode.h).
 */
#ifndef IMAP_VALUE_H
#define IMAP_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "imap_node.h"

/* ---- arena: bump allocator with a hard cap, reset per line ---- */
typedef struct imap_arena {
    struct imap_arena_block *head;
    size_t used_total;   /* bytes handed out since the last reset */
    size_t cap;          /* hard limit; allocation beyond it returns NULL */
} imap_arena;

void  imapi_arena_init(imap_arena *a, size_t cap);
void *imapi_arena_alloc(imap_arena *a, size_t n);           /* NULL past cap */
char *imapi_arena_strndup(imap_arena *a, const char *s, size_t n); /* NUL-terminated copy */
void  imapi_arena_reset(imap_arena *a);                     /* keeps the first block */
void  imapi_arena_free(imap_arena *a);

/* ---- literals of a logical line ---- */
typedef struct imap_literal {
    uint64_t       size;        /* announced size */
    uint64_t       received;    /* bytes actually seen (< size after a gap/close) */
    const uint8_t *kept;        /* first min(size, literal_keep) bytes, or NULL */
    size_t         kept_len;
    uint8_t        sha256[32];
    bool           has_sha256;
    bool           binary;      /* ~{n} (RFC 3516) */
    char           mode;        /* 0 synchronizing, '+' LITERAL+, '-' LITERAL- (RFC 7888) */
} imap_literal;

/* ---- values ---- */
typedef enum imap_vtype {
    IV_ATOM,     /* atom, also flags (\Seen), sequence sets (1:*), and atoms with a section */
    IV_NUMBER,   /* all digits, fits in uint64 (number64) */
    IV_QUOTED,   /* quoted string, escapes removed */
    IV_LITERAL,  /* literal string: see lit */
    IV_NIL,      /* NIL */
    IV_LIST      /* ( ... ) */
} imap_vtype;

typedef struct imap_value {
    imap_vtype type;
    const char *s;          /* ATOM/QUOTED: text (NUL-terminated, in arena); LITERAL: kept bytes (NUL-terminated copy) or "" */
    size_t      len;        /* length of s */
    uint64_t    num;        /* NUMBER value */
    const imap_literal *lit;/* LITERAL: the record */
    struct imap_value *child;   /* LIST: first element */
    struct imap_value *next;    /* next sibling */
    size_t      count;      /* LIST: number of elements */
    /* ATOM followed directly by "[...]" (BODY[HEADER.FIELDS (A B)], BINARY[1.2],
     * response codes are NOT parsed this way): the atom name stays in s, the
     * section's content in section (a LIST of the tokens inside the brackets,
     * possibly empty) and the raw section text in section_raw.  A following
     * "<origin[.size]>" partial is in partial (raw, without the brackets). */
    struct imap_value *section;
    const char *section_raw;
    const char *partial;
    const char *raw;        /* the value's raw text as on the wire (arena), for trace and error messages */
    size_t      raw_len;
} imap_value;

/* Tokenizes text[0..len) into a LIST value of its tokens (the whole line,
 * or the rest of a line).  lits/nlits are the line's literal records in
 * order; *lit_index (may be NULL when there are none) is advanced past the
 * literals consumed.  stop_at_bracket: stop (without error) at an unmatched
 * ']' (response code arguments).  On a syntax error returns the tokens
 * parsed so far with *err set to a short static message and *err_off to its
 * offset; the tokenizer is lenient (it accepts what real servers send) and
 * never reads outside text[0..len).  Returns NULL only when the arena is
 * exhausted.  *consumed (may be NULL) gets the bytes used. */
imap_value *imapi_tokenize(imap_arena *a, const char *text, size_t len,
                          const imap_literal *lits, size_t nlits, size_t *lit_index,
                          bool stop_at_bracket, size_t *consumed,
                          const char **err, size_t *err_off);

/* Accessors; all accept NULL and return NULL/false/0 on a mismatch. */
const imap_value *imapi_list_nth(const imap_value *list, size_t n);
bool imapi_value_is_atom(const imap_value *v, const char *name_ci);   /* case-insensitive */
bool imapi_value_is_string(const imap_value *v);  /* quoted or literal */
bool imapi_value_is_astring(const imap_value *v); /* atom, quoted or literal */
bool imapi_value_is_nstring(const imap_value *v); /* string or NIL */
/* The text of an astring/nstring/number ("" for NIL); for a literal the kept
 * bytes (truncated flag via *truncated).  Never NULL for a non-NULL value. */
const char *imapi_value_text(const imap_value *v, size_t *len, bool *truncated);

/* Generic JSON of a value: atoms and strings as strings (network bytes
 * escaped to valid UTF-8), numbers as integers, NIL as null, lists as
 * arrays, literals as {"literal_size": n, "sha256": ..., "text": kept}
 * (text only when printable), sections as {"name","section","partial"}. */
imap_node *imapi_value_to_json(const imap_value *v);

/* A JSON string from network bytes: valid UTF-8 is kept, other bytes are
 * escaped as \xHH (so imapi_stringn never refuses it). */
imap_node *imapi_json_bytes(const char *s, size_t len);

#endif /* IMAP_VALUE_H */
