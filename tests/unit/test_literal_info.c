/*
 * test_literal_info.c - the literal sink's context (imap.h
 * imap_literal_info, dissector/imap_litinfo.c): FETCH sequence number,
 * section as on the wire, partial origin, UID before and after the
 * literal, the selected mailbox; APPEND's mailbox (atom, quoted, modified
 * UTF-7, MULTIAPPEND), CATENATE TEXT parts; literals that carry no
 * message; the same context whatever the split of the bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "imap.h"

#define MAXREC 16

typedef struct rec {
    imap_literal_kind kind;
    uint32_t seq, uid;
    bool has_uid, has_origin;
    uint64_t origin, size, got;
    unsigned index;
    char section[128], mailbox[128], tag[32], command[32];
    bool complete, ended;
} rec;

typedef struct sink {
    rec lit[MAXREC];
    int n;
    rec end[MAXREC];
    int nend;
} sink;

static int on_event(void *u, const imap_event *ev) { (void)u; (void)ev; return 0; }

static void fill(rec *r, const imap_literal_info *li)
{
    r->kind = li->kind;
    r->seq = li->seq;
    r->uid = li->uid;
    r->has_uid = li->has_uid;
    r->has_origin = li->has_origin;
    r->origin = li->origin;
    r->size = li->size;
    r->index = li->index;
    snprintf(r->section, sizeof r->section, "%s", li->section);
    snprintf(r->mailbox, sizeof r->mailbox, "%s", li->mailbox);
    snprintf(r->tag, sizeof r->tag, "%s", li->tag);
    snprintf(r->command, sizeof r->command, "%s", li->command);
}

static int on_begin(void *u, const imap_literal_info *li)
{
    sink *s = u;
    if (s->n < MAXREC)
        fill(&s->lit[s->n++], li);
    return 0;
}

static int on_data(void *u, imap_dir dir, const uint8_t *d, size_t len)
{
    sink *s = u;
    (void)dir, (void)d;
    if (s->n > 0)
        s->lit[s->n - 1].got += len;
    return 0;
}

static int on_end(void *u, imap_dir dir, bool complete)
{
    sink *s = u;
    (void)dir;
    if (s->n > 0) {
        s->lit[s->n - 1].complete = complete;
        s->lit[s->n - 1].ended = true;
    }
    return 0;
}

static int on_line_end(void *u, const imap_literal_info *li)
{
    sink *s = u;
    if (s->nend < MAXREC)
        fill(&s->end[s->nend++], li);
    return 0;
}

static const imap_callbacks cbs = { on_event, on_begin, on_data, on_end, on_line_end };

/* Feeds client and server text in pieces of `chunk` bytes (0: whole). */
static void run(sink *s, const char *client, const char *server, size_t chunk)
{
    imap_config cfg;
    imap_config_default(&cfg);
    memset(s, 0, sizeof *s);
    imap_session *ss = imap_session_new(&cfg, &cbs, s);
    assert_non_null(ss);
    const char *parts[2] = { client, server };
    for (int d = 0; d < 2; d++) {
        const char *p = parts[d];
        size_t len = p ? strlen(p) : 0, off = 0;
        while (off < len) {
            size_t n = chunk && chunk < len - off ? chunk : len - off;
            imap_session_feed(ss, d == 0 ? IMAP_DIR_CLIENT : IMAP_DIR_SERVER, (const uint8_t *)p + off, n, 1);
            off += n;
        }
    }
    imap_session_end(ss, "test", 2);
    imap_session_free(ss);
}

static const char *SEL_C = "a1 SELECT INBOX\r\na2 UID FETCH 4:5 (UID BODY.PEEK[] BODY.PEEK[HEADER.FIELDS (From To)])\r\n";

static void test_fetch_sections(void **st)
{
    (void)st;
    const char *server =
        "* OK ready\r\n"
        "* 3 EXISTS\r\n"
        "a1 OK [READ-WRITE] done\r\n"
        "* 2 FETCH (UID 4 BODY[] {5}\r\nhello BODY[HEADER.FIELDS (FROM TO)] {3}\r\nabc)\r\n"
        "* 3 FETCH (BODY[1.2]<10> {2}\r\nxy UID 5 RFC822.HEADER {1}\r\nz)\r\n"
        "* 3 FETCH (BINARY[] ~{2}\r\n\x01\x02)\r\n"
        "a2 OK done\r\n";
    for (size_t chunk = 0; chunk <= 7; chunk++) {
        sink s;
        run(&s, SEL_C, server, chunk);
        assert_int_equal(s.n, 5);
        assert_int_equal(s.lit[0].kind, IMAP_LITERAL_FETCH);
        assert_int_equal(s.lit[0].seq, 2);
        assert_true(s.lit[0].has_uid);
        assert_int_equal(s.lit[0].uid, 4);
        assert_string_equal(s.lit[0].section, "BODY[]");
        assert_string_equal(s.lit[0].mailbox, "INBOX");
        assert_false(s.lit[0].has_origin);
        assert_int_equal(s.lit[0].got, 5);
        assert_true(s.lit[0].complete);
        assert_int_equal(s.lit[0].index, 0);
        assert_string_equal(s.lit[1].section, "BODY[HEADER.FIELDS (FROM TO)]");
        assert_int_equal(s.lit[1].index, 1);
        assert_int_equal(s.lit[2].seq, 3);
        assert_false(s.lit[2].has_uid); /* UID comes after this literal */
        assert_string_equal(s.lit[2].section, "BODY[1.2]");
        assert_true(s.lit[2].has_origin);
        assert_int_equal(s.lit[2].origin, 10);
        assert_true(s.lit[3].has_uid);
        assert_int_equal(s.lit[3].uid, 5);
        assert_string_equal(s.lit[3].section, "RFC822.HEADER");
        assert_string_equal(s.lit[4].section, "BINARY[]");
        assert_int_equal(s.lit[4].kind, IMAP_LITERAL_FETCH);
        /* line ends: the UID of the whole response */
        assert_int_equal(s.nend, 3);
        assert_int_equal(s.end[1].kind, IMAP_LITERAL_FETCH);
        assert_true(s.end[1].has_uid);
        assert_int_equal(s.end[1].uid, 5);
        assert_int_equal(s.end[1].seq, 3);
        assert_int_equal(s.end[1].index, 2);
        assert_false(s.end[2].has_uid);
    }
}

static void test_fetch_not_message(void **st)
{
    (void)st;
    /* a literal inside ENVELOPE is no message */
    const char *server = "* OK ready\r\n* 1 FETCH (ENVELOPE (NIL {3}\r\nSub NIL NIL NIL NIL NIL NIL NIL NIL))\r\n";
    sink s;
    run(&s, "a1 FETCH 1 ENVELOPE\r\n", server, 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.lit[0].kind, IMAP_LITERAL_OTHER);
}

static void test_append(void **st)
{
    (void)st;
    const char *client =
        "a1 APPEND \"Entw&APw-rfe\" (\\Seen) \"14-Nov-2023 10:00:00 +0000\" {4+}\r\nmsg1\r\n"
        "a2 APPEND Sent {2+}\r\nm1 (\\Draft) {2+}\r\nm2\r\n"
        "a3 APPEND {5+}\r\nTrash {3+}\r\nabc\r\n"
        "a4 APPEND Drafts CATENATE (TEXT {3+}\r\nabc URL \"/INBOX;UID=1\" TEXT {2+}\r\nde)\r\n";
    for (size_t chunk = 0; chunk <= 5; chunk++) {
        sink s;
        run(&s, client, "* OK ready\r\n", chunk);
        assert_int_equal(s.n, 7);
        assert_int_equal(s.lit[0].kind, IMAP_LITERAL_APPEND);
        assert_string_equal(s.lit[0].mailbox, "Entwürfe");
        assert_string_equal(s.lit[0].command, "APPEND");
        assert_string_equal(s.lit[0].tag, "a1");
        assert_int_equal(s.lit[1].kind, IMAP_LITERAL_APPEND);
        assert_string_equal(s.lit[1].mailbox, "Sent");
        assert_int_equal(s.lit[2].kind, IMAP_LITERAL_APPEND); /* MULTIAPPEND */
        assert_int_equal(s.lit[2].index, 1);
        assert_int_equal(s.lit[3].kind, IMAP_LITERAL_OTHER);  /* the mailbox name as a literal */
        assert_int_equal(s.lit[4].kind, IMAP_LITERAL_APPEND);
        assert_string_equal(s.lit[4].mailbox, "Trash");
        assert_int_equal(s.lit[5].kind, IMAP_LITERAL_CATENATE);
        assert_string_equal(s.lit[5].mailbox, "Drafts");
        assert_int_equal(s.lit[6].kind, IMAP_LITERAL_CATENATE);
        assert_int_equal(s.nend, 4);
        assert_int_equal(s.end[3].kind, IMAP_LITERAL_APPEND);
        assert_string_equal(s.end[3].mailbox, "Drafts");
        assert_int_equal(s.end[3].index, 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_sections),
        cmocka_unit_test(test_fetch_not_message),
        cmocka_unit_test(test_append),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
