/*
 * cursor.h - bounds-checked reading of packet and TLS bytes, in the
 * spirit of tcpdump's GET_* macros: a {p, end} cursor whose readers set
 * err instead of reading past the end.
 *
 * Contract: a cursor covers [p, end).  Every reader checks its length as
 * `n > end - p` (no pointer is formed past end), and on a short read sets
 * err, leaves p where it was and returns 0 (cur_bytes: NULL).  Once err is
 * set every later read fails too, so a parser may read a whole structure
 * and test err once.  Integers are big-endian (network order, RFC 8446
 * 3.3 for TLS).
 */
#ifndef IMAPSCOPE_CURSOR_H
#define IMAPSCOPE_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *p, *end;
    bool err;
} cursor;

static inline cursor cur_make(const uint8_t *p, size_t len)
{
    cursor c = { p, p + len, false };
    return c;
}

/* Bytes left (0 once err is set). */
static inline size_t cur_left(const cursor *c)
{
    return c->err ? 0 : (size_t)(c->end - c->p);
}

/* True when n more bytes can be read; sets err otherwise. */
static inline bool cur_need(cursor *c, size_t n)
{
    if (c->err || n > (size_t)(c->end - c->p)) {
        c->err = true;
        return false;
    }
    return true;
}

static inline uint8_t cur_u8(cursor *c)
{
    if (!cur_need(c, 1))
        return 0;
    return *c->p++;
}

static inline uint16_t cur_be16(cursor *c)
{
    if (!cur_need(c, 2))
        return 0;
    uint16_t v = (uint16_t)(c->p[0] << 8 | c->p[1]);
    c->p += 2;
    return v;
}

static inline uint32_t cur_be24(cursor *c)
{
    if (!cur_need(c, 3))
        return 0;
    uint32_t v = (uint32_t)c->p[0] << 16 | (uint32_t)c->p[1] << 8 | c->p[2];
    c->p += 3;
    return v;
}

static inline uint32_t cur_be32(cursor *c)
{
    if (!cur_need(c, 4))
        return 0;
    uint32_t v = (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 | (uint32_t)c->p[2] << 8 | c->p[3];
    c->p += 4;
    return v;
}

/* Skips n bytes; false (err set) when fewer are left. */
static inline bool cur_skip(cursor *c, size_t n)
{
    if (!cur_need(c, n))
        return false;
    c->p += n;
    return true;
}

/* Returns a pointer to the next n bytes and moves past them; NULL (err
 * set) when fewer are left.  The bytes stay owned by the caller's buffer. */
static inline const uint8_t *cur_bytes(cursor *c, size_t n)
{
    if (!cur_need(c, n))
        return NULL;
    const uint8_t *r = c->p;
    c->p += n;
    return r;
}

/* A sub-cursor over the next n bytes (a length-prefixed vector, RFC 8446
 * 3.4); the parent moves past them.  On a short read both have err set. */
static inline cursor cur_sub(cursor *c, size_t n)
{
    cursor s = { c->p, c->p, true };
    if (!cur_need(c, n))
        return s;
    s.end = c->p + n;
    s.err = false;
    c->p += n;
    return s;
}

#endif
