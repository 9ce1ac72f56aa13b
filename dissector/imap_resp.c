/*
 * imap_resp.c - untagged server data (imapi_decode_untagged) and response
 * codes (imapi_decode_resp_code).  Grammar: RFC 9051 9 response-data,
 * mailbox-data, message-data, resp-text-code, and the extension RFCs named
 * at each decoder.  Field names: docs/decoded.md.
 */
#include "imap_dec_util.h"
#include "imap.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static void add_num(imap_node *o, const char *key, const imap_value *v)
{
    uint64_t n;
    if (imapi_dec_number(v, &n) == 0)
        imapi_dec_set(o, key, imapi_dec_u64(n));
    else if (v != NULL)
        imapi_dec_set(o, key, imapi_value_to_json(v));
}

/* A lower-case JSON key from an atom: "UIDNEXT" -> "uidnext",
 * "HIGHESTMODSEQ" -> "highestmodseq", "X-FOO" -> "x_foo". */
static void lower_key(const char *in, char *out, size_t cap)
{
    size_t i = 0;
    for (; in[i] != '\0' && i + 1 < cap; i++)
        out[i] = in[i] == '-' || in[i] == '.' ? '_' : (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

/* Generic arguments: the raw wire text of each, strings only (one JSON
 * type per field, issue 10). */
static imap_node *chain_json(const imap_value *v)
{
    imap_node *arr = imapi_array();
    for (; v != NULL; v = v->next)
        imapi_array_append_new(arr, v->raw != NULL ? imapi_json_bytes(v->raw, v->raw_len)
                                                  : imapi_dec_str_list(v));
    return arr;
}

/* "values": one list of the named things of every response (issue 10,
 * item 3: STATUS items, ID parameters, METADATA entries, QUOTA resources,
 * ACL entries, NAMESPACE descriptions, LIST extended items, ESEARCH
 * return items other than ALL/COUNT/MODSEQ, URLFETCH urls, FETCH items
 * without a decoder).  Each entry: {"name", and as the response has them:
 * "value" (a string; null for NIL), "number" (an integer), "limit"
 * (QUOTA), "delimiter" (NAMESPACE)}; docs/output.md "values". */
static imap_node *values_arr(imap_node *o)
{
    imap_node *arr = imapi_object_get(o, "values");
    if (arr == NULL) {
        arr = imapi_array();
        imapi_object_set_new_nocheck(o, "values", arr);
    }
    return arr;
}

/* Appends {"name": name (stolen)} to o's values; returns the entry. */
static imap_node *add_entry(imap_node *o, imap_node *name)
{
    imap_node *e = imapi_object();
    imapi_dec_setl(e, "name", name != NULL ? name : imapi_string(""));
    imapi_array_append_new(values_arr(o), e);
    return e;
}

/* The value of an entry: a number in "number" when numbers are its kind
 * (numeric) and v is one, null for NIL, a string's text, the raw wire
 * text of anything else (a list). */
static void set_entry_value(imap_node *e, const imap_value *v, bool numeric)
{
    uint64_t n;
    if (v == NULL)
        return;
    if (numeric && imapi_dec_number(v, &n) == 0)
        imapi_dec_setl(e, "number", imapi_dec_u64(n));
    else if (v->type == IV_NIL)
        imapi_dec_setl(e, "value", imapi_null());
    else if (v->type == IV_LIST || (v->type == IV_LITERAL && (v->lit == NULL || v->len < v->lit->size)))
        imapi_dec_setl(e, "value", imapi_json_bytes(v->raw != NULL ? v->raw : "", v->raw != NULL ? v->raw_len : 0));
    else
        imapi_dec_setl(e, "value", imapi_dec_str(v));
}

/* Text of a value as a new string (upper-cased when upper). */
static imap_node *name_of(const imap_value *v, bool upper)
{
    size_t len = 0;
    const char *s = imapi_value_text(v, &len, NULL);
    if (!upper)
        return imapi_json_bytes(s != NULL ? s : "", s != NULL ? len : 0);
    char k[128];
    imapi_dec_upper_text(v, k, sizeof(k));
    return imapi_json_bytes(k, strlen(k));
}

/* RFC 9051 9: mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR
 * DQUOTE / nil) SP mailbox [SP mbox-list-extended]; RFC 5258 9
 * mbox-list-extended = "(" [item *(SP item)] ")" (CHILDINFO, OLDNAME) */
static const char *dec_list(const imap_decode_ctx *ctx, const imap_value *a, imap_node *o)
{
    if (a == NULL || a->type != IV_LIST)
        return "LIST response without attributes";
    imapi_dec_setl(o, "flags", imapi_dec_str_list(a));
    const imap_value *d = a->next;
    if (d == NULL)
        return "LIST response without delimiter";
    imapi_dec_setl(o, "delimiter", imapi_dec_str(d));
    if (d->next == NULL || imapi_add_mailbox(ctx, o, "mailbox", d->next) != 0)
        return "LIST response without mailbox";
    const imap_value *x = d->next->next;
    if (x != NULL && x->type == IV_LIST) {
        /* mbox-list-extended items: entries of "values" (OLDNAME: the
         * old name decoded as a mailbox name; CHILDINFO: its items
         * separated by spaces; others: the raw text) */
        for (const imap_value *c = x->child; c != NULL && c->next != NULL; c = c->next->next) {
            char k[64];
            imapi_dec_upper_text(c, k, sizeof(k));
            imap_node *e = add_entry(o, imapi_json_bytes(k, strlen(k)));
            if (strcmp(k, "OLDNAME") == 0 && c->next->type == IV_LIST) {
                imap_node *tmp = imapi_object();
                imapi_add_mailbox(ctx, tmp, "m", imapi_list_nth(c->next, 0));
                imapi_dec_setl(e, "value", imapi_incref(imapi_object_get(tmp, "m")));
                imapi_decref(tmp);
            } else if (strcmp(k, "CHILDINFO") == 0 && c->next->type == IV_LIST) {
                char buf[256];
                size_t n = 0;
                for (const imap_value *ci = c->next->child; ci != NULL; ci = ci->next) {
                    char u[64];
                    imapi_dec_upper_text(ci, u, sizeof(u));
                    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? " " : "", u);
                    if (n >= sizeof(buf))
                        n = sizeof(buf) - 1;
                }
                imapi_dec_setl(e, "value", imapi_json_bytes(buf, n));
            } else {
                set_entry_value(e, c->next, false);
            }
        }
    }
    return NULL;
}

/* RFC 9051 9: "STATUS" SP mailbox SP "(" [status-att-list] ")";
 * status-att-val = ("MESSAGES" / "UIDNEXT" / ...) SP number (RFC 7162
 * HIGHESTMODSEQ, RFC 8438 SIZE, RFC 7889 APPENDLIMIT NIL/number) */
static const char *dec_status(const imap_decode_ctx *ctx, const imap_value *a, imap_node *o)
{
    if (a == NULL || imapi_add_mailbox(ctx, o, "mailbox", a) != 0)
        return "STATUS response without mailbox";
    const imap_value *l = a->next;
    if (l == NULL || l->type != IV_LIST)
        return "STATUS response without items";
    /* entries of "values": item names are network data; "number" a
     * number, "value" null for NIL (RFC 7889 APPENDLIMIT), the raw text
     * of anything else (RFC 8474 MAILBOXID (objectid)) */
    values_arr(o);
    for (const imap_value *c = l->child; c != NULL && c->next != NULL; c = c->next->next)
        set_entry_value(add_entry(o, name_of(c, true)), c->next, true);
    return NULL;
}

/* RFC 9051 / RFC 3501 SEARCH and RFC 5256 SORT: numbers, then RFC 7162
 * 3.1.5 "(MODSEQ n)". */
static const char *dec_numbers(const imap_value *a, imap_node *o)
{
    imap_node *nums = imapi_array();
    const char *err = NULL;
    for (; a != NULL; a = a->next) {
        if (a->type == IV_LIST && imapi_value_is_atom(imapi_list_nth(a, 0), "MODSEQ")) {
            add_num(o, "modseq", imapi_list_nth(a, 1));
            continue;
        }
        uint64_t n;
        if (imapi_dec_number(a, &n) == 0)
            imapi_array_append_new(nums, imapi_dec_u64(n));
        else
            err = "non-numeric search result";
    }
    imapi_dec_setl(o, "count", imapi_integer((int64_t)imapi_array_size(nums)));
    imapi_dec_setl(o, "numbers", nums);
    return err;
}

/* RFC 4731 3.1 / RFC 9051 9: esearch-response = "ESEARCH" [search-correlator]
 * [SP "UID"] *(SP search-return-data); search-correlator = SP "(" "TAG" SP
 * tag-string ")" (RFC 7377 adds MAILBOX and UIDVALIDITY); RFC 9394 PARTIAL */
static const char *dec_esearch(const imap_decode_ctx *ctx, const imap_value *a, imap_node *o)
{
    if (a != NULL && a->type == IV_LIST) {
        for (const imap_value *c = a->child; c != NULL && c->next != NULL; c = c->next->next) {
            if (imapi_value_is_atom(c, "TAG"))
                imapi_dec_setl(o, "tag", imapi_dec_str(c->next));
            else if (imapi_value_is_atom(c, "MAILBOX"))
                imapi_add_mailbox(ctx, o, "mailbox", c->next);
            else if (imapi_value_is_atom(c, "UIDVALIDITY"))
                add_num(o, "uidvalidity", c->next);
        }
        a = a->next;
    }
    if (imapi_value_is_atom(a, "UID")) {
        imapi_dec_setl(o, "uid_results", imapi_true()); /* "uid" is FETCH's number */
        a = a->next;
    }
    const char *err = NULL;
    while (a != NULL) {
        char k[64], lk[64];
        imapi_dec_upper_text(a, k, sizeof(k));
        lower_key(k, lk, sizeof(lk));
        const imap_value *v = a->next;
        if (v == NULL) {
            err = "ESEARCH return item without value";
            break;
        }
        if (strcmp(k, "ALL") == 0) {
            imapi_dec_add_seqset(o, "messages", v);
        } else if (strcmp(k, "PARTIAL") == 0 && v->type == IV_LIST) {
            /* RFC 9394 partial-results = "(" partial-range SP (sequence-set / nil) ")" */
            imapi_dec_setl(add_entry(o, imapi_string(k)), "value", imapi_dec_str(imapi_list_nth(v, 0)));
            const imap_value *m = imapi_list_nth(v, 1);
            if (m != NULL && m->type != IV_NIL)
                imapi_dec_add_seqset(o, "messages", m);
        } else if (strcmp(k, "COUNT") == 0 || strcmp(k, "MODSEQ") == 0) {
            add_num(o, lk, v);
        } else {
            /* MIN, MAX (a number) and other return data (RFC 6203
             * RELEVANCY...): entries of "values" */
            set_entry_value(add_entry(o, imapi_string(k)), v, true);
        }
        a = v->next;
    }
    return err;
}

/* RFC 9051 9: namespace = nil / "(" 1*namespace-descr ")";
 * namespace-descr = "(" string SP (DQUOTE QUOTED-CHAR DQUOTE / nil)
 * [namespace-response-extensions] ")" */
static void add_namespaces(const imap_decode_ctx *ctx, imap_node *o, const char *cls, const imap_value *v)
{
    if (v == NULL || v->type != IV_LIST)
        return; /* NIL: none of this class */
    /* one entry of "values" per namespace-descr: name the class
     * ("personal", "other", "shared"), value the prefix (decoded as a
     * mailbox name), delimiter; each extension (RFC 2342 5
     * namespace-response-extensions) follows as an entry of its own,
     * name its name, value its values' raw text */
    for (const imap_value *d = v->child; d != NULL; d = d->next) {
        imap_node *e = add_entry(o, imapi_string(cls));
        if (d->type != IV_LIST) {
            set_entry_value(e, d, false);
            continue;
        }
        imap_node *tmp = imapi_object();
        imapi_add_mailbox(ctx, tmp, "m", imapi_list_nth(d, 0));
        imapi_dec_setl(e, "value", imapi_incref(imapi_object_get(tmp, "m")));
        imapi_decref(tmp);
        imapi_dec_setl(e, "delimiter", imapi_dec_str(imapi_list_nth(d, 1)));
        for (const imap_value *x = imapi_list_nth(d, 2); x != NULL && x->next != NULL; x = x->next->next)
            set_entry_value(add_entry(o, name_of(x, false)), x->next, false);
    }
}

/* RFC 9208 5.1: quota-response = "QUOTA" SP quota-root-name SP quota-list;
 * quota-list = "(" quota-resource *(SP quota-resource) ")";
 * quota-resource = resource-name SP resource-usage SP resource-limit */
static const char *dec_quota(const imap_value *a, imap_node *o)
{
    if (a == NULL)
        return "QUOTA response without root";
    /* the root in "roots" as QUOTAROOT lists them; each resource an
     * entry of "values": name, number the usage, limit */
    imapi_dec_setl(o, "roots", imapi_array1_new(imapi_dec_str(a)));
    const imap_value *l = a->next;
    if (l == NULL || l->type != IV_LIST)
        return "QUOTA response without resources";
    values_arr(o);
    for (const imap_value *c = l->child; c != NULL; ) {
        imap_node *r = add_entry(o, name_of(c, true));
        uint64_t n;
        const imap_value *lim = c->next != NULL ? c->next->next : NULL;
        if (imapi_dec_number(c->next, &n) == 0 && imapi_dec_number(lim, &n) == 0) {
            add_num(r, "number", c->next);
            add_num(r, "limit", lim);
        } else if (c->next != NULL) {
            /* not numbers: the resource's wire text, one type per field */
            char buf[256];
            size_t ul = 0, ll = 0;
            const char *us = imapi_value_text(c->next, &ul, NULL), *ls = imapi_value_text(lim, &ll, NULL);
            int k = snprintf(buf, sizeof(buf), "%.*s%s%.*s", (int)(ul < 120 ? ul : 120), us != NULL ? us : "",
                             lim != NULL ? " " : "", (int)(ll < 120 ? ll : 120), ls != NULL ? ls : "");
            imapi_dec_setl(r, "value", imapi_json_bytes(buf, k > 0 ? (size_t)k : 0));
        }
        if (c->next == NULL || c->next->next == NULL)
            break;
        c = c->next->next->next;
    }
    return NULL;
}

/* RFC 5464 4.4: metadata-resp = "METADATA" SP mailbox SP (entry-values / entry-list) */
static const char *dec_metadata(const imap_decode_ctx *ctx, const imap_value *a, imap_node *o)
{
    if (a == NULL || imapi_add_mailbox(ctx, o, "mailbox", a) != 0)
        return "METADATA response without mailbox";
    const imap_value *l = a->next;
    if (l == NULL)
        return "METADATA response without entries";
    if (l->type == IV_LIST) {
        values_arr(o); /* entries of "values": entry names are network data */
        for (const imap_value *c = l->child; c != NULL && c->next != NULL; c = c->next->next)
            set_entry_value(add_entry(o, name_of(c, false)), c->next, false);
    } else {
        /* unsolicited: entry-list = entry *(SP entry) */
        imap_node *names = imapi_array();
        for (; l != NULL; l = l->next)
            imapi_array_append_new(names, imapi_dec_str(l));
        imapi_dec_setl(o, "changed_entries", names);
    }
    return NULL;
}

/* RFC 5256 5: the message numbers of a thread-list, in order. */
static void thread_numbers(const imap_value *v, imap_node *nums, unsigned depth)
{
    if (v == NULL || depth > IMAP_DEC_MAX_DEPTH)
        return;
    if (v->type == IV_LIST) {
        for (const imap_value *c = v->child; c != NULL; c = c->next)
            thread_numbers(c, nums, depth + 1);
        return;
    }
    uint64_t n;
    if (imapi_dec_number(v, &n) == 0)
        imapi_array_append_new(nums, imapi_dec_u64(n));
}

imap_node *imapi_decode_untagged(const imap_decode_ctx *ctx, const imap_value *tokens, const char **err)
{
    const char *dummy = NULL;
    if (err == NULL)
        err = &dummy;
    *err = NULL;
    imap_node *o = imapi_object();
    const imap_value *t0 = imapi_list_nth(tokens, 0);
    if (t0 == NULL) {
        imapi_dec_setl(o, "type", imapi_string(""));
        *err = "empty untagged response";
        return o;
    }
    char type[64];
    const imap_value *a;
    uint64_t num = 0;
    if (t0->type == IV_NUMBER && t0->next != NULL) {
        /* RFC 9051 9: message-data = nz-number SP ("EXPUNGE" / ("FETCH" SP msg-att));
         * mailbox-data =/ number SP "EXISTS" / number SP "RECENT" (RFC 3501) */
        num = t0->num;
        imapi_dec_upper_text(t0->next, type, sizeof(type));
        imapi_dec_setl(o, "type", imapi_string(type));
        imapi_dec_setl(o, "number", imapi_dec_u64(num));
        a = t0->next->next;
        if (strcmp(type, "FETCH") == 0) {
            imap_node *att = imapi_fetch_att_decode(ctx, a, err);
            imapi_object_update(o, att);
            imapi_decref(att);
        } else if (strcmp(type, "EXISTS") == 0 || strcmp(type, "RECENT") == 0 ||
                   strcmp(type, "EXPUNGE") == 0) {
            if (a != NULL)
                *err = "unexpected data after the number";
        } else if (a != NULL) {
            imapi_dec_setl(o, "args", chain_json(a)); /* CONVERTED (RFC 5259) etc. */
        }
        if (*err != NULL)
            imapi_dec_setl(o, "raw", imapi_json_bytes(tokens->raw, tokens->raw_len));
        return o;
    }
    imapi_dec_upper_text(t0, type, sizeof(type));
    imapi_dec_setl(o, "type", imapi_string(type));
    a = t0->next;
    const char *e = NULL;
    if (strcmp(type, "CAPABILITY") == 0 || strcmp(type, "ENABLED") == 0) {
        /* RFC 9051 9 capability-data, RFC 5161 3.2 enable-data = "ENABLED"
         * *(SP capability): the names as sent ("AUTH=PLAIN"), strings as
         * imap_session.capabilities; the part after "=" is read in the
         * name, and their RFC and meaning are --annotate's (issue 10,
         * item 3) */
        imapi_dec_setl(o, "capabilities", chain_json(a));
    } else if (strcmp(type, "FLAGS") == 0) {
        if (a == NULL || a->type != IV_LIST)
            e = "FLAGS response without a list";
        imapi_dec_setl(o, "flags", imapi_dec_str_list(a));
    } else if (strcmp(type, "LIST") == 0 || strcmp(type, "LSUB") == 0 || strcmp(type, "XLIST") == 0) {
        e = dec_list(ctx, a, o);
    } else if (strcmp(type, "STATUS") == 0) {
        e = dec_status(ctx, a, o);
    } else if (strcmp(type, "SEARCH") == 0 || strcmp(type, "SORT") == 0) {
        e = dec_numbers(a, o);
    } else if (strcmp(type, "ESEARCH") == 0) {
        e = dec_esearch(ctx, a, o);
    } else if (strcmp(type, "THREAD") == 0) {
        /* RFC 5256 5: thread-data = "THREAD" [SP 1*thread-list];
         * thread-list = "(" (thread-members / thread-nested) ")" */
        /* each thread as its wire text (a tree of any depth, one type
         * per field), and every message of them in "numbers" */
        imap_node *threads = imapi_array(), *nums = imapi_array();
        for (; a != NULL; a = a->next) {
            imapi_array_append_new(threads, imapi_json_bytes(a->raw != NULL ? a->raw : "", a->raw != NULL ? a->raw_len : 0));
            thread_numbers(a, nums, 0);
        }
        imapi_dec_setl(o, "threads", threads);
        imapi_dec_setl(o, "numbers", nums);
    } else if (strcmp(type, "NAMESPACE") == 0) {
        /* RFC 2342 5 / RFC 9051 9 namespace-response */
        values_arr(o);
        add_namespaces(ctx, o, "personal", a);
        add_namespaces(ctx, o, "other", a != NULL ? a->next : NULL);
        add_namespaces(ctx, o, "shared", a != NULL && a->next != NULL ? a->next->next : NULL);
        if (a == NULL || a->next == NULL || a->next->next == NULL)
            e = "NAMESPACE response needs three namespaces";
    } else if (strcmp(type, "ID") == 0) {
        /* RFC 2971 3.2: id-response = "ID" SP id-params-list */
        /* entries of "values": parameter names are network data; NIL
         * (no parameters) gives none */
        if (a != NULL && a->type == IV_LIST) {
            values_arr(o);
            for (const imap_value *c = a->child; c != NULL && c->next != NULL; c = c->next->next)
                set_entry_value(add_entry(o, name_of(c, false)), c->next, false);
        }
    } else if (strcmp(type, "QUOTA") == 0) {
        e = dec_quota(a, o);
    } else if (strcmp(type, "QUOTAROOT") == 0) {
        /* RFC 9208 5.2: "QUOTAROOT" SP mailbox *(SP quota-root-name) */
        if (a == NULL || imapi_add_mailbox(ctx, o, "mailbox", a) != 0) {
            e = "QUOTAROOT response without mailbox";
        } else {
            imap_node *roots = imapi_array();
            for (const imap_value *c = a->next; c != NULL; c = c->next)
                imapi_array_append_new(roots, imapi_dec_str(c));
            imapi_dec_setl(o, "roots", roots);
        }
    } else if (strcmp(type, "ACL") == 0) {
        /* RFC 4314 3.6: acl-data = "ACL" SP mailbox *(SP identifier SP rights) */
        if (a == NULL || imapi_add_mailbox(ctx, o, "mailbox", a) != 0) {
            e = "ACL response without mailbox";
        } else {
            /* entries of "values": name the identifier, value its rights */
            values_arr(o);
            for (const imap_value *c = a->next; c != NULL && c->next != NULL; c = c->next->next)
                set_entry_value(add_entry(o, name_of(c, false)), c->next, false);
        }
    } else if (strcmp(type, "LISTRIGHTS") == 0) {
        /* RFC 4314 3.7: "LISTRIGHTS" SP mailbox SP identifier SP rights *(SP rights) */
        if (a == NULL || imapi_add_mailbox(ctx, o, "mailbox", a) != 0 || a->next == NULL ||
            a->next->next == NULL) {
            e = "LISTRIGHTS response incomplete";
        } else {
            /* as an ACL entry: name the identifier, value the rights
             * always granted; "optional" the rights that may be */
            set_entry_value(add_entry(o, name_of(a->next, false)), a->next->next, false);
            imap_node *opt = imapi_array();
            for (const imap_value *c = a->next->next->next; c != NULL; c = c->next)
                imapi_array_append_new(opt, imapi_dec_str(c));
            imapi_dec_setl(o, "optional", opt);
        }
    } else if (strcmp(type, "MYRIGHTS") == 0) {
        /* RFC 4314 3.8: "MYRIGHTS" SP mailbox SP rights */
        if (a == NULL || imapi_add_mailbox(ctx, o, "mailbox", a) != 0 || a->next == NULL)
            e = "MYRIGHTS response incomplete";
        else
            imapi_dec_setl(o, "rights", imapi_dec_str(a->next));
    } else if (strcmp(type, "METADATA") == 0) {
        e = dec_metadata(ctx, a, o);
    } else if (strcmp(type, "VANISHED") == 0) {
        /* RFC 7162 7: "VANISHED" [SP "(EARLIER)"] SP known-uids */
        if (a != NULL && a->type == IV_LIST) {
            imapi_dec_setl(o, "earlier", imapi_boolean(imapi_value_is_atom(imapi_list_nth(a, 0), "EARLIER")));
            a = a->next;
        } else {
            imapi_dec_setl(o, "earlier", imapi_false());
        }
        if (a == NULL || imapi_dec_add_seqset(o, "messages", a) != 0)
            e = "VANISHED without a uid set";
    } else if (strcmp(type, "LANGUAGE") == 0) {
        /* RFC 5255 3.3: language-data = "LANGUAGE" SP "(" lang-tag *(SP lang-tag) ")" */
        imap_node *arr = imapi_array();
        for (; a != NULL; a = a->next) {
            if (a->type == IV_LIST) {
                for (const imap_value *c = a->child; c != NULL; c = c->next)
                    imapi_array_append_new(arr, imapi_dec_str(c));
            } else {
                imapi_array_append_new(arr, imapi_dec_str(a));
            }
        }
        imapi_dec_set(o, "languages", arr);
    } else if (strcmp(type, "COMPARATOR") == 0) {
        /* RFC 5255 4.8: comparator-data = "COMPARATOR" SP comp-sel-quoted
         * [SP "(" comp-id-quoted *(SP comp-id-quoted) ")"]: the active
         * comparator, then those matching the command's arguments */
        imap_node *arr = imapi_array();
        if (a != NULL && a->type != IV_LIST) {
            imapi_array_append_new(arr, imapi_dec_str(a));
            a = a->next;
        }
        imapi_dec_set(o, "comparators", arr);
        if (a != NULL && a->type == IV_LIST) {
            imapi_dec_set(o, "matching", imapi_dec_str_list(a));
            a = a->next;
        }
        if (a != NULL || imapi_array_size(arr) == 0)
            e = "COMPARATOR: expected comparator [(matching ...)]";
    } else if (strcmp(type, "CONVERSION") == 0) {
        /* RFC 5259 5.2: "CONVERSION" SP source-mime-type SP target-mime-type
         * SP "(" [conversion-param *(SP conversion-param)] ")" */
        if (a == NULL || a->next == NULL) {
            e = "CONVERSION without source and target";
        } else {
            imapi_dec_set(o, "source", imapi_dec_str(a));
            imapi_dec_set(o, "target", imapi_dec_str(a->next));
            if (a->next->next != NULL && a->next->next->type == IV_LIST)
                imapi_dec_set(o, "params", imapi_dec_str_list(a->next->next));
        }
    } else if (strcmp(type, "GENURLAUTH") == 0) {
        /* RFC 4467 9: genurlauth-data = "GENURLAUTH" 1*(SP url-full) */
        imap_node *arr = imapi_array();
        for (; a != NULL; a = a->next)
            imapi_array_append_new(arr, imapi_dec_str(a));
        imapi_dec_setl(o, "urls", arr);
    } else if (strcmp(type, "URLFETCH") == 0) {
        /* RFC 4467 9: urlfetch-data = "URLFETCH" 1*(SP url nstring) */
        /* entries of "values": name the url, number the size of its
         * data (value null for NIL: no data) */
        values_arr(o);
        for (; a != NULL; a = a->next ? a->next->next : NULL) {
            imap_node *u = add_entry(o, name_of(a, false));
            const imap_value *d = a->next;
            if (d != NULL && d->type == IV_LITERAL && d->lit != NULL)
                imapi_dec_setl(u, "number", imapi_dec_u64(d->lit->size));
            else if (d != NULL && d->type == IV_NIL)
                imapi_dec_setl(u, "value", imapi_null());
            else if (d != NULL)
                imapi_dec_setl(u, "number", imapi_integer((int64_t)d->len));
        }
    } else {
        e = "unknown untagged response";
        if (a != NULL)
            imapi_dec_setl(o, "args", chain_json(a));
    }
    if (e != NULL) {
        *err = e;
        imapi_dec_setl(o, "raw", imapi_json_bytes(tokens->raw, tokens->raw_len));
    }
    return o;
}

/* ------------------------------------------------------------ resp codes */

/* One shape for every response code wherever it appears (a transaction's
 * "response_code", an untagged response's "code", the greeting's "code";
 * docs/output.md "Response codes", the schema's $defs/response_code):
 *   code         the name, upper-cased
 *   args         the raw wire text of each argument, strings only; when
 *                the only argument is a parenthesized list (PERMANENTFLAGS,
 *                BADCHARSET, MAILBOXID, INPROGRESS), its elements
 *   known        false for a name not in the table
 *   raw          the code's text when its arguments do not parse
 * and a few typed members shared by all codes, set when the code has them:
 *   uidvalidity  UIDVALIDITY; APPENDUID, COPYUID (RFC 4315 4)
 *   number       UIDNEXT, UNSEEN (RFC 9051 9), HIGHESTMODSEQ (RFC 7162
 *                3.1.2.1), APPENDLIMIT (RFC 7889), METADATA LONGENTRIES /
 *                MAXSIZE (RFC 5464 4.2.1, 4.3)
 *   uids         the new UIDs of APPENDUID / COPYUID, MODIFIED's set
 *                (RFC 7162 3.1.3): a set object (imapi_dec_add_seqset)
 *   source_uids  COPYUID's source UIDs: a set object */
imap_node *imapi_decode_resp_code(const imap_decode_ctx *ctx, const char *name,
                              const imap_value *args, const char *raw, size_t raw_len)
{
    imap_node *o = imapi_object();
    char code[64];
    size_t nl = name != NULL ? strlen(name) : 0;
    if (nl >= sizeof(code))
        nl = sizeof(code) - 1;
    for (size_t i = 0; i < nl; i++)
        code[i] = (char)toupper((unsigned char)name[i]);
    code[nl] = '\0';
    imapi_dec_setl(o, "code", imapi_json_bytes(code, nl));
    const imap_value *a = (args != NULL && args->type == IV_LIST) ? args->child : NULL;
    bool ok = true;

    if (a != NULL) {
        if (a->next == NULL && a->type == IV_LIST)
            imapi_dec_setl(o, "args", chain_json(a->child));
        else
            imapi_dec_setl(o, "args", chain_json(a));
    }
    uint64_t n;
    if (strcmp(code, "UIDNEXT") == 0 || strcmp(code, "UNSEEN") == 0 ||
        strcmp(code, "HIGHESTMODSEQ") == 0 || strcmp(code, "APPENDLIMIT") == 0) {
        /* RFC 9051 9 resp-text-code: "UIDNEXT" SP nz-number / RFC 3501
         * "UNSEEN" SP nz-number / RFC 7162 3.1.2.1 "HIGHESTMODSEQ" SP
         * mod-sequence-value / RFC 7889 "APPENDLIMIT" SP number */
        ok = imapi_dec_number(a, &n) == 0;
        if (ok)
            imapi_dec_setl(o, "number", imapi_dec_u64(n));
    } else if (strcmp(code, "UIDVALIDITY") == 0) {
        /* RFC 9051 9: "UIDVALIDITY" SP nz-number */
        ok = imapi_dec_number(a, &n) == 0;
        if (ok)
            imapi_dec_setl(o, "uidvalidity", imapi_dec_u64(n));
    } else if (strcmp(code, "CAPABILITY") == 0) {
        /* RFC 9051 9 capability-data: the names are the args (the
         * session's capabilities are decoded in imap_session) */
        ok = a != NULL;
    } else if (strcmp(code, "PERMANENTFLAGS") == 0) {
        /* "PERMANENTFLAGS" SP "(" [flag-perm *(SP flag-perm)] ")" */
        ok = a != NULL && a->type == IV_LIST;
    } else if (strcmp(code, "APPENDUID") == 0) {
        /* RFC 4315 4: "APPENDUID" SP nz-number SP append-uid (uid-set with MULTIAPPEND) */
        ok = imapi_dec_number(a, &n) == 0 && a->next != NULL;
        if (ok) {
            imapi_dec_setl(o, "uidvalidity", imapi_dec_u64(n));
            imapi_dec_add_seqset(o, "uids", a->next);
        }
    } else if (strcmp(code, "COPYUID") == 0) {
        /* RFC 4315 4: "COPYUID" SP nz-number SP uid-set SP uid-set */
        ok = imapi_dec_number(a, &n) == 0 && a->next != NULL && a->next->next != NULL;
        if (ok) {
            imapi_dec_setl(o, "uidvalidity", imapi_dec_u64(n));
            imapi_dec_add_seqset(o, "source_uids", a->next);
            imapi_dec_add_seqset(o, "uids", a->next->next);
        }
    } else if (strcmp(code, "MODIFIED") == 0) {
        /* RFC 7162 3.1.3: "MODIFIED" SP sequence-set */
        ok = a != NULL && imapi_dec_add_seqset(o, "uids", a) == 0;
    } else if (strcmp(code, "REFERRAL") == 0 || strcmp(code, "MAILBOXID") == 0) {
        /* RFC 2221 4.1: "REFERRAL" SP 1*<url separated by SP>; RFC 8474
         * 4.1: "MAILBOXID" SP "(" objectid ")" */
        ok = a != NULL;
    } else if (strcmp(code, "METADATA") == 0) {
        /* RFC 5464 4.2.1/4.3: "METADATA" SP ("LONGENTRIES" SP number / "MAXSIZE"
         * SP number / "TOOMANY" / "NOPRIVATE") */
        ok = a != NULL;
        if (ok && a->next != NULL && imapi_dec_number(a->next, &n) == 0)
            imapi_dec_setl(o, "number", imapi_dec_u64(n));
    } else if (imap_resp_code_lookup(code, strlen(code)) == NULL) {
        /* ALERT, PARSE, READ-ONLY, ..., BADCHARSET, BADEVENT, URLMECH,
         * INPROGRESS and the RFC 5530 codes are in the table: their
         * arguments, if any, are the args; anything else is not known */
        imapi_dec_setl(o, "known", imapi_false());
        ok = false;
    }
    (void)ctx;
    if (!ok && raw != NULL)
        imapi_dec_setl(o, "raw", imapi_json_bytes(raw, raw_len));
    return o;
}
