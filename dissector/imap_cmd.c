/*
 * imap_cmd.c - command arguments (imapi_decode_command): one decoder per
 * command, each naming its grammar rule.  Field names: docs/decoded.md.
 */
#include "imap_dec_util.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef int (*cmd_decoder)(const imap_decode_ctx *ctx, const char *cmd,
                           const imap_value *a, imap_node *obj, const char **err);

#define NEED(v, msg) do { if ((v) == NULL) { *err = (msg); return -1; } } while (0)

static int mailbox_arg(const imap_decode_ctx *ctx, imap_node *obj, const char *key,
                       const imap_value *v, const char **err)
{
    if (v == NULL) {
        *err = "missing mailbox";
        return -1;
    }
    if (imapi_add_mailbox(ctx, obj, key, v) != 0) {
        *err = "mailbox is not an astring";
        return -1;
    }
    return 0;
}

static int extra_args(const imap_value *v, imap_node *obj, const char **err)
{
    if (v == NULL)
        return 0;
    imap_node *arr = imapi_array();
    for (; v != NULL; v = v->next)
        imapi_array_append_new(arr, v->raw != NULL ? imapi_json_bytes(v->raw, v->raw_len)
                                                  : imapi_dec_str_list(v)); /* raw text */
    imapi_dec_setl(obj, "extra_args", arr);
    *err = "unexpected extra arguments";
    return -1;
}

/* CAPABILITY, CHECK, CLOSE, EXPUNGE, IDLE, LOGOUT, NAMESPACE, NOOP,
 * STARTTLS, UNSELECT, UNAUTHENTICATE: RFC 9051 9 command-any / -auth /
 * -select without arguments. */
static int dec_none(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                    imap_node *obj, const char **err)
{
    return extra_args(a, obj, err);
}

/* RFC 9051 9: login = "LOGIN" SP userid SP password */
static int dec_login(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                     imap_node *obj, const char **err)
{
    NEED(a, "LOGIN without user");
    imapi_dec_setl(obj, "user", imapi_dec_str(a));
    NEED(a->next, "LOGIN without password");
    if (ctx != NULL && ctx->show_credentials)
        imapi_dec_setl(obj, "password", imapi_dec_str(a->next));
    else
        imapi_dec_setl(obj, "password", imapi_string("<redacted>"));
    if (a->next->next != NULL && (ctx == NULL || !ctx->show_credentials)) {
        /* words after the password may be more of it (a password with
         * spaces, unquoted): counted, never shown */
        imap_node *arr = imapi_array();
        for (const imap_value *v = a->next->next; v != NULL; v = v->next)
            imapi_array_append_new(arr, imapi_string("<redacted>"));
        imapi_dec_setl(obj, "extra_args", arr);
        *err = "unexpected extra arguments";
        return -1;
    }
    return extra_args(a->next->next, obj, err);
}

/* RFC 9051 9: authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp];
 * initial-resp = (base64 / "=") (RFC 4959).  The SASL content is decoded
 * by the session core. */
static int dec_authenticate(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                            imap_node *obj, const char **err)
{
    NEED(a, "AUTHENTICATE without mechanism");
    imapi_dec_setl(obj, "mechanism", imapi_dec_upper(a));
    imapi_dec_setl(obj, "initial_response", imapi_boolean(a->next != NULL));
    if (a->next != NULL && a->next->len == 1 && a->next->s[0] == '=')
        imapi_dec_setl(obj, "initial_response_empty", imapi_true());
    return a->next != NULL ? extra_args(a->next->next, obj, err) : 0;
}

/* One-mailbox commands: DELETE, SUBSCRIBE, UNSUBSCRIBE, GETACL, MYRIGHTS,
 * GETQUOTAROOT (RFC 9051 9; RFC 4314 3; RFC 9208 4.3). */
static int dec_mailbox(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                       imap_node *obj, const char **err)
{
    if (mailbox_arg(ctx, obj, "mailbox", a, err) != 0)
        return -1;
    return extra_args(a->next, obj, err);
}

/* RFC 9051 9: create = "CREATE" SP mailbox [create-params] (RFC 4466);
 * RFC 6154 3: create-param =/ "USE" SP "(" [use-attr *(SP use-attr)] ")" */
static int dec_create(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                      imap_node *obj, const char **err)
{
    if (mailbox_arg(ctx, obj, "mailbox", a, err) != 0)
        return -1;
    const imap_value *p = a->next;
    if (p != NULL && p->type == IV_LIST) {
        for (const imap_value *c = p->child; c != NULL; c = c->next) {
            if (imapi_value_is_atom(c, "USE") && c->next != NULL) {
                imapi_dec_setl(obj, "use", imapi_dec_str_list(c->next));
                c = c->next;
            } else {
                imap_node *params = imapi_object_get(obj, "params");
                if (params == NULL) {
                    params = imapi_array();
                    imapi_object_set_new_nocheck(obj, "params", params);
                }
                imapi_array_append_new(params, c->raw != NULL ? imapi_json_bytes(c->raw, c->raw_len)
                                                         : imapi_dec_str_list(c));
            }
        }
        p = p->next;
    }
    return extra_args(p, obj, err);
}

/* RFC 9051 9 list-mailbox, or RFC 5258 3 "(" list-mailbox *(SP
 * list-mailbox) ")": obj.patterns = [each pattern decoded like a mailbox
 * name], one name and one type whether one pattern or a list was sent
 * (issue 10: "pattern" and "patterns" were two names); obj.patterns_raw
 * = [the wire forms], aligned, when one differs (modified UTF-7). */
static int add_patterns(const imap_decode_ctx *ctx, imap_node *obj, const imap_value *p, const char **err)
{
    bool list = p->type == IV_LIST;
    bool differs = false;
    imap_node *pats = imapi_array(), *raws = imapi_array();
    for (const imap_value *c = list ? p->child : p; c != NULL; c = list ? c->next : NULL) {
        imap_node *tmp = imapi_object();
        if (imapi_add_mailbox(ctx, tmp, "p", c) != 0 && !list) {
            imapi_decref(tmp);
            imapi_decref(pats);
            imapi_decref(raws);
            *err = "mailbox is not an astring";
            return -1;
        }
        imap_node *v = imapi_object_get(tmp, "p"), *r = imapi_object_get(tmp, "p_raw");
        if (v != NULL) {
            imapi_array_append(pats, v);
            imapi_array_append(raws, r != NULL ? r : v);
            differs = differs || r != NULL;
        }
        imapi_decref(tmp);
    }
    imapi_dec_setl(obj, "patterns", pats);
    if (differs)
        imapi_dec_setl(obj, "patterns_raw", raws);
    else
        imapi_decref(raws);
    return 0;
}

/* Two mailbox-like arguments and nothing after them. */
static int two_mailboxes(const imap_decode_ctx *ctx, imap_node *obj, const char *k1, const char *k2,
                         const imap_value *a, const char **err)
{
    if (mailbox_arg(ctx, obj, k1, a, err) != 0 || mailbox_arg(ctx, obj, k2, a->next, err) != 0)
        return -1;
    return extra_args(a->next->next, obj, err);
}

/* RFC 9051 9: rename = "RENAME" SP mailbox SP mailbox */
static int dec_rename(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                      imap_node *obj, const char **err)
{
    return two_mailboxes(ctx, obj, "mailbox", "new_mailbox", a, err);
}

/* RFC 9051 9: select = "SELECT" SP mailbox [select-params]; RFC 7162 3.1.8
 * / 3.2.5: "CONDSTORE" and "QRESYNC" SP "(" uidvalidity SP mod-sequence-value
 * [SP known-uids] [SP seq-match-data] ")"; seq-match-data = "(" known-sequence-set
 * SP known-uid-set ")" */
static int dec_select(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                      imap_node *obj, const char **err)
{
    if (mailbox_arg(ctx, obj, "mailbox", a, err) != 0)
        return -1;
    const imap_value *p = a->next;
    if (p == NULL)
        return 0;
    if (p->type != IV_LIST)
        return extra_args(p, obj, err);
    for (const imap_value *c = p->child; c != NULL; c = c->next) {
        if (imapi_value_is_atom(c, "CONDSTORE")) {
            /* "options": ["CONDSTORE"], the name LIST's selection options
             * have (issue 10: no boolean member per option) */
            imap_node *op = imapi_object_get(obj, "options");
            if (op == NULL) {
                op = imapi_array();
                imapi_object_set_new_nocheck(obj, "options", op);
            }
            imapi_array_append_new(op, imapi_string_nocheck("CONDSTORE"));
        } else if (imapi_value_is_atom(c, "QRESYNC") && c->next != NULL && c->next->type == IV_LIST) {
            const imap_value *q = c->next;
            imap_node *qo = imapi_object();
            uint64_t n;
            const imap_value *e = imapi_list_nth(q, 0);
            if (imapi_dec_number(e, &n) == 0)
                imapi_dec_setl(qo, "uidvalidity", imapi_dec_u64(n));
            e = imapi_list_nth(q, 1);
            if (imapi_dec_number(e, &n) == 0)
                imapi_dec_setl(qo, "modseq", imapi_dec_u64(n));
            e = imapi_list_nth(q, 2);
            if (e != NULL && e->type != IV_LIST) {
                imapi_dec_add_seqset(qo, "known_uids", e);
                e = e->next;
            }
            if (e != NULL && e->type == IV_LIST) {
                imap_node *sm = imapi_object();
                imapi_dec_add_seqset(sm, "sequence_set", imapi_list_nth(e, 0));
                imapi_dec_add_seqset(sm, "uid_set", imapi_list_nth(e, 1));
                imapi_dec_setl(qo, "seq_match", sm);
            }
            imapi_dec_setl(obj, "qresync", qo);
            c = c->next;
        } else {
            imap_node *params = imapi_object_get(obj, "params");
            if (params == NULL) {
                params = imapi_array();
                imapi_object_set_new_nocheck(obj, "params", params);
            }
            imapi_array_append_new(params, c->raw != NULL ? imapi_json_bytes(c->raw, c->raw_len)
                                                         : imapi_dec_str_list(c));
        }
    }
    return extra_args(p->next, obj, err);
}

/* RFC 9051 9: copy = "COPY" SP sequence-set SP mailbox; move (RFC 6851 4) */
static int dec_copy(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                    imap_node *obj, const char **err)
{
    NEED(a, "missing sequence set");
    if (imapi_dec_add_seqset(obj, "sequence_set", a) != 0)
        *err = "invalid sequence set";
    if (mailbox_arg(ctx, obj, "mailbox", a->next, err) != 0)
        return -1;
    if (*err != NULL)
        return -1;
    return extra_args(a->next->next, obj, err);
}

/* RFC 4315 2.1: uid-expunge = "UID" SP "EXPUNGE" SP sequence-set */
static int dec_uid_expunge(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                           imap_node *obj, const char **err)
{
    if (strcmp(cmd, "EXPUNGE") == 0)
        return dec_none(ctx, cmd, a, obj, err);
    NEED(a, "UID EXPUNGE without uid set");
    if (imapi_dec_add_seqset(obj, "sequence_set", a) != 0) {
        *err = "invalid sequence set";
        return -1;
    }
    return extra_args(a->next, obj, err);
}

/* RFC 9051 9: fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
 * fetch-att / "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers];
 * RFC 7162 3.1.4.1 / 3.2.6: CHANGEDSINCE mod-sequence [SP VANISHED] */
static int dec_fetch(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                     imap_node *obj, const char **err)
{
    NEED(a, "FETCH without sequence set");
    if (imapi_dec_add_seqset(obj, "sequence_set", a) != 0)
        *err = "invalid sequence set";
    NEED(a->next, "FETCH without items");
    const char *ierr = NULL;
    imapi_dec_setl(obj, "items", imapi_fetch_items_decode(a->next, &ierr));
    const imap_value *m = a->next->next;
    if (m != NULL && m->type == IV_LIST) {
        imap_node *mods = imapi_object();
        for (const imap_value *c = m->child; c != NULL; c = c->next) {
            uint64_t n;
            if (imapi_value_is_atom(c, "CHANGEDSINCE") && imapi_dec_number(c->next, &n) == 0) {
                imapi_dec_setl(obj, "changedsince", imapi_dec_u64(n));
                c = c->next;
            } else if (imapi_value_is_atom(c, "VANISHED")) {
                imapi_dec_setl(obj, "vanished", imapi_true());
            } else if (imapi_value_is_atom(c, "PARTIAL") && c->next != NULL) {
                imapi_dec_setl(obj, "partial", imapi_dec_str(c->next)); /* RFC 9394 */
                c = c->next;
            } else {
                char k[64];
                imapi_dec_upper_text(c, k, sizeof(k));
                imapi_object_set_new(mods, k, c->next != NULL ? imapi_value_to_json(c->next) : imapi_null());
                if (c->next != NULL)
                    c = c->next;
            }
        }
        if (imapi_object_size(mods) > 0)
            imapi_dec_setl(obj, "modifiers", mods);
        else
            imapi_decref(mods);
        m = m->next;
    }
    if (*err == NULL && ierr != NULL)
        *err = ierr;
    if (*err != NULL)
        return -1;
    return extra_args(m, obj, err);
}

/* The text of a string or atom as a C string, cut to cap - 1 bytes. */
static const char *value_cstr(const imap_value *v, char *buf, size_t cap)
{
    size_t len = 0;
    const char *t = imapi_value_text(v, &len, NULL);
    if (!t)
        len = 0;
    if (len >= cap)
        len = cap - 1;
    if (len)
        memcpy(buf, t, len);
    buf[len] = '\0';
    return buf;
}

/* RFC 9051 9: store = "STORE" SP sequence-set [store-modifiers] SP
 * store-att-flags; store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP
 * (flag-list / (flag *(SP flag))); RFC 7162 3.1.3: UNCHANGEDSINCE */
static int dec_store(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                     imap_node *obj, const char **err)
{
    NEED(a, "STORE without sequence set");
    if (imapi_dec_add_seqset(obj, "sequence_set", a) != 0)
        *err = "invalid sequence set";
    const imap_value *p = a->next;
    if (p != NULL && p->type == IV_LIST) {
        for (const imap_value *c = p->child; c != NULL; c = c->next) {
            uint64_t n;
            if (imapi_value_is_atom(c, "UNCHANGEDSINCE") && imapi_dec_number(c->next, &n) == 0) {
                imapi_dec_setl(obj, "unchangedsince", imapi_dec_u64(n));
                c = c->next;
            }
        }
        p = p->next;
    }
    NEED(p, "STORE without item");
    char item[64];
    imapi_dec_upper_text(p, item, sizeof(item));
    imap_node *st = imapi_object();
    imapi_dec_setl(st, "item", imapi_string(item));
    const char *base = item;
    const char *action = "replace";
    if (item[0] == '+') {
        action = "add";
        base++;
    } else if (item[0] == '-') {
        action = "remove";
        base++;
    }
    if (strcmp(item, "ANNOTATION") == 0) {
        /* RFC 5257 4.5, 7: store-att-flags =/ att-annotate;
         * att-annotate = "ANNOTATION" SP "(" entry-att *(SP entry-att) ")";
         * entry-att = entry SP "(" att-value *(SP att-value) ")";
         * att-value = attrib SP value (value = nstring / literal8) */
        imapi_dec_setl(obj, "store", st);
        const imap_value *l = p->next;
        if (l == NULL || l->type != IV_LIST || l->next != NULL) {
            *err = "STORE ANNOTATION without (entry (attribute value ...))";
            return -1;
        }
        imap_node *ann = imapi_object();
        const imap_value *e = l->child;
        for (; e != NULL && e->next != NULL && e->next->type == IV_LIST && imapi_object_size(ann) < 64;
             e = e->next->next) {
            char entry[256], attr[128];
            value_cstr(e, entry, sizeof entry);
            imap_node *atts = imapi_object();
            const imap_value *v = e->next->child;
            for (; v != NULL && v->next != NULL; v = v->next->next) {
                value_cstr(v, attr, sizeof attr);
                imapi_object_set_new(atts, attr, imapi_dec_str(v->next));
            }
            if (v != NULL && *err == NULL)
                *err = "ANNOTATION attribute without value";
            imapi_object_set_new(ann, entry, atts);
        }
        if (e != NULL && *err == NULL)
            *err = "ANNOTATION entry without (attribute value)";
        imapi_dec_setl(obj, "annotations", ann);
        return *err != NULL ? -1 : 0;
    }
    bool ok = strcmp(base, "FLAGS") == 0 || strcmp(base, "FLAGS.SILENT") == 0 ||
              strcmp(base, "X-GM-LABELS") == 0 || strcmp(base, "X-GM-LABELS.SILENT") == 0;
    imapi_dec_setl(st, "action", imapi_string(action));
    imapi_dec_setl(st, "silent", imapi_boolean(strstr(base, ".SILENT") != NULL));
    imapi_dec_setl(obj, "store", st);
    if (!ok && *err == NULL)
        *err = "unknown STORE item";
    const imap_value *f = p->next;
    if (f != NULL && f->type == IV_LIST) {
        imapi_dec_setl(obj, "flags", imapi_dec_str_list(f));
    } else {
        imap_node *arr = imapi_array();
        for (; f != NULL; f = f->next)
            imapi_array_append_new(arr, imapi_dec_str(f));
        imapi_dec_setl(obj, "flags", arr);
    }
    return *err != NULL ? -1 : 0;
}

/* RFC 9051 9: append = "APPEND" SP mailbox 1*append-message (RFC 3502 MULTIAPPEND);
 * append-message = append-opts SP append-data; append-opts = [SP flag-list]
 * [SP date-time] *(SP append-ext); append-data = literal / literal8 /
 * append-data-ext; RFC 4469 5: "CATENATE" SP "(" cat-part *(SP cat-part) ")",
 * cat-part = text-literal / url ("TEXT" SP literal / "URL" SP astring);
 * RFC 6855 4: "UTF8" SP "(" literal8 ")" */
static int dec_append(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                      imap_node *obj, const char **err)
{
    if (mailbox_arg(ctx, obj, "mailbox", a, err) != 0)
        return -1;
    imap_node *msgs = imapi_array();
    imapi_dec_setl(obj, "messages", msgs);
    const imap_value *p = a->next;
    NEED(p, "APPEND without message");
    while (p != NULL) {
        imap_node *m = imapi_object();
        imapi_array_append_new(msgs, m);
        if (p->type == IV_LIST) {
            imapi_dec_setl(m, "flags", imapi_dec_str_list(p));
            p = p->next;
        }
        if (p != NULL && p->type == IV_QUOTED) {
            /* date-time (RFC 9051 9): one "date", ISO 8601 when it
             * parses, else as sent (issue 10: no date_iso companion) */
            size_t dl = 0;
            const char *ds = imapi_value_text(p, &dl, NULL);
            char iso[40];
            if (ds != NULL && imapi_dec_date_iso(ds, dl, iso, sizeof(iso)) == 0)
                imapi_dec_setl(m, "date", imapi_string(iso));
            else
                imapi_dec_setl(m, "date", imapi_dec_str(p));
            p = p->next;
        }
        if (p == NULL) {
            *err = "APPEND message without data";
            return -1;
        }
        if (p->type == IV_LITERAL) {
            /* its size, SHA-256, binary form and bytes received are the
             * literal's, in imap.literals (the client's literals in order:
             * one per message, one per CATENATE TEXT part) */
            p = p->next;
        } else if ((imapi_value_is_atom(p, "CATENATE") || imapi_value_is_atom(p, "UTF8")) &&
                   p->next != NULL && p->next->type == IV_LIST) {
            bool cat = imapi_value_is_atom(p, "CATENATE");
            imap_node *parts = imapi_array();
            const imap_value *c = p->next->child;
            if (!cat) {
                imapi_dec_setl(m, "utf8", imapi_true());
                imapi_decref(parts);
            } else {
                for (; c != NULL; c = c->next) {
                    imap_node *part = imapi_object();
                    imapi_dec_setl(part, "type", imapi_dec_upper(c));
                    const imap_value *d = c->next;
                    if (d != NULL) {
                        if (imapi_value_is_atom(c, "URL")) {
                            imapi_dec_setl(part, "url", imapi_dec_str(d));
                        } else if (d->type == IV_LITERAL) {
                            /* a TEXT literal: in imap.literals */
                        } else {
                            imapi_dec_setl(part, "value", imapi_value_to_json(d));
                        }
                        c = d;
                    }
                    imapi_array_append_new(parts, part);
                }
                imapi_dec_setl(m, "catenate", parts);
            }
            p = p->next->next;
        } else {
            *err = "APPEND message data is not a literal";
            imapi_dec_setl(m, "data", imapi_value_to_json(p));
            return -1;
        }
    }
    return 0;
}

/* RFC 9051 9: list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat
 * [SP list-return-opts]; mbox-or-pat = list-mailbox / patterns (RFC 5258 6);
 * RFC 5819: RETURN (STATUS (items)); RFC 6154: SPECIAL-USE */
static int dec_list(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                    imap_node *obj, const char **err)
{
    NEED(a, "LIST without reference");
    if (a->type == IV_LIST) {
        imap_node *sel = imapi_array();
        for (const imap_value *c = a->child; c != NULL; c = c->next)
            imapi_array_append_new(sel, imapi_dec_upper(c));
        imapi_dec_setl(obj, "options", sel);
        a = a->next;
    }
    if (mailbox_arg(ctx, obj, "reference", a, err) != 0)
        return -1;
    const imap_value *p = a->next;
    NEED(p, "LIST without pattern");
    if (add_patterns(ctx, obj, p, err) != 0)
        return -1;
    p = p->next;
    if (imapi_value_is_atom(p, "RETURN") && p->next != NULL && p->next->type == IV_LIST) {
        imap_node *ret = imapi_array();
        for (const imap_value *c = p->next->child; c != NULL; c = c->next) {
            imapi_array_append_new(ret, imapi_dec_upper(c));
            if (imapi_value_is_atom(c, "STATUS") && c->next != NULL && c->next->type == IV_LIST) {
                imap_node *items = imapi_array();
                for (const imap_value *i = c->next->child; i != NULL; i = i->next)
                    imapi_array_append_new(items, imapi_dec_upper(i));
                imapi_dec_setl(obj, "status_items", items); /* the STATUS command's name */
                c = c->next;
            }
        }
        imapi_dec_setl(obj, "return", ret); /* the name SEARCH's RETURN options have */
        p = p->next->next;
    }
    return extra_args(p, obj, err);
}

/* RFC 9051 9: status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")" */
static int dec_status(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                      imap_node *obj, const char **err)
{
    if (mailbox_arg(ctx, obj, "mailbox", a, err) != 0)
        return -1;
    const imap_value *p = a->next;
    NEED(p, "STATUS without items");
    imap_node *items = imapi_array();
    if (p->type == IV_LIST) {
        for (const imap_value *c = p->child; c != NULL; c = c->next)
            imapi_array_append_new(items, imapi_dec_upper(c));
    } else {
        imapi_array_append_new(items, imapi_dec_upper(p));
        *err = "STATUS items are not a list";
    }
    imapi_dec_setl(obj, "status_items", items); /* "items" are FETCH's objects */
    if (*err != NULL)
        return -1;
    return extra_args(p->next, obj, err);
}

/* RFC 4314 3.1-3.6: SETACL mailbox identifier mod-rights; DELETEACL mailbox
 * identifier; LISTRIGHTS mailbox identifier */
static int dec_acl(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                   imap_node *obj, const char **err)
{
    if (mailbox_arg(ctx, obj, "mailbox", a, err) != 0)
        return -1;
    const imap_value *id = a->next;
    NEED(id, "missing identifier");
    imapi_dec_setl(obj, "identifier", imapi_dec_str(id));
    const imap_value *r = id->next;
    if (strcmp(cmd, "SETACL") == 0) {
        NEED(r, "SETACL without rights");
        size_t len = 0;
        const char *s = imapi_value_text(r, &len, NULL);
        const char *mode = "replace";
        if (len > 0 && (s[0] == '+' || s[0] == '-')) {
            mode = s[0] == '+' ? "add" : "remove";
            s++;
            len--;
        }
        imapi_dec_setl(obj, "rights", imapi_json_bytes(s, len));
        imapi_dec_setl(obj, "rights_mode", imapi_string(mode));
        r = r->next;
    }
    return extra_args(r, obj, err);
}

/* RFC 9208 4.1 / 4.2: getquota = "GETQUOTA" SP quota-root-name;
 * setquota = "SETQUOTA" SP quota-root-name SP setquota-list;
 * setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")" */
static int dec_quota(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                     imap_node *obj, const char **err)
{
    NEED(a, "missing quota root");
    imapi_dec_setl(obj, "quota_root", imapi_dec_str(a));
    const imap_value *p = a->next;
    if (strcmp(cmd, "SETQUOTA") == 0) {
        NEED(p, "SETQUOTA without limits");
        imap_node *lim = imapi_object();
        for (const imap_value *c = p->child; c != NULL && c->next != NULL; c = c->next->next) {
            char k[64];
            uint64_t n;
            imapi_dec_upper_text(c, k, sizeof(k));
            imapi_object_set_new(lim, k, imapi_dec_number(c->next, &n) == 0 ? imapi_dec_u64(n)
                                                                         : imapi_value_to_json(c->next));
        }
        imapi_dec_setl(obj, "limits", lim);
        p = p->next;
    }
    return extra_args(p, obj, err);
}

/* RFC 2971 3.1: id = "ID" SP id-params-list; id-params-list = "(" *(string
 * SP nstring) ")" / nil */
static imap_node *id_params(const imap_value *p)
{
    if (p == NULL || p->type != IV_LIST)
        return imapi_null();
    imap_node *o = imapi_array(); /* [{name, value}]: names are network data */
    for (const imap_value *c = p->child; c != NULL && c->next != NULL; c = c->next->next)
        imapi_dec_add_name_value(o, c, imapi_dec_str(c->next));
    return o;
}

static int dec_id(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                  imap_node *obj, const char **err)
{
    NEED(a, "ID without parameters");
    /* "values": the name every command's {name, value} list has
     * (SETMETADATA's entries, AUTHENTICATE's mechanism values) */
    imapi_dec_setl(obj, "values", id_params(a));
    return extra_args(a->next, obj, err);
}

/* Lists of atoms: ENABLE (RFC 5161 3.1), LANGUAGE (RFC 5255 3.2),
 * COMPARATOR (RFC 5255 4.7), URLFETCH (RFC 4467 9) */
static int dec_atoms(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                     imap_node *obj, const char **err)
{
    const char *key = strcmp(cmd, "ENABLE") == 0 ? "enabled"
                    : strcmp(cmd, "LANGUAGE") == 0 ? "languages"
                    : strcmp(cmd, "COMPARATOR") == 0 ? "comparators" : "urls";
    imap_node *arr = imapi_array();
    for (; a != NULL; a = a->next)
        imapi_array_append_new(arr, strcmp(cmd, "ENABLE") == 0 ? imapi_dec_upper(a) : imapi_dec_str(a));
    imapi_dec_set(obj, key, arr);
    if (strcmp(cmd, "ENABLE") == 0 && imapi_array_size(arr) == 0) {
        *err = "ENABLE without capabilities";
        return -1;
    }
    return 0;
}

/* RFC 4978 3: compress = "COMPRESS" SP algorithm */
static int dec_compress(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                        imap_node *obj, const char **err)
{
    NEED(a, "COMPRESS without mechanism");
    imapi_dec_setl(obj, "mechanism", imapi_dec_upper(a));
    return extra_args(a->next, obj, err);
}

/* RFC 5259 5.1: CONVERSIONS source-mime-type target-mime-type */
static int dec_conversions(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                           imap_node *obj, const char **err)
{
    NEED(a, "CONVERSIONS without source");
    imapi_dec_setl(obj, "source", imapi_dec_str(a));
    NEED(a->next, "CONVERSIONS without target");
    imapi_dec_setl(obj, "target", imapi_dec_str(a->next));
    return extra_args(a->next->next, obj, err);
}

/* The options list of GETMETADATA (MAXSIZE n, DEPTH 0/1/infinity), as
 * members of the command: "maxsize" (a number) and "depth" (a string,
 * "0", "1" or "infinity": one JSON type). */
static void getmetadata_options(const imap_value *a, imap_node *obj)
{
    for (const imap_value *c = a->child; c != NULL; c = c->next) {
            uint64_t n;
            if (imapi_value_is_atom(c, "MAXSIZE") && imapi_dec_number(c->next, &n) == 0) {
                imapi_dec_setl(obj, "maxsize", imapi_dec_u64(n));
                c = c->next;
            } else if (imapi_value_is_atom(c, "DEPTH") && c->next != NULL) {
                imapi_dec_setl(obj, "depth", imapi_dec_str(c->next));
                c = c->next;
            }
    }
}

/* RFC 5464 4.2: getmetadata = "GETMETADATA" [SP getmetadata-options] SP
 * mailbox SP entries; getmetadata-options = "(" option *(SP option) ")"
 * (MAXSIZE n, DEPTH 0/1/infinity); entries = entry / "(" entry *(SP entry) ")".
 * The RFC's own examples (4.2.1, 4.2.2) put the options after the mailbox
 * ("GETMETADATA "INBOX" (MAXSIZE 1024) (/shared/comment ...)"), and so do
 * clients: both orders are accepted. */
static int dec_getmetadata(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                           imap_node *obj, const char **err)
{
    NEED(a, "GETMETADATA without mailbox");
    if (a->type == IV_LIST) {
        getmetadata_options(a, obj);
        a = a->next;
    }
    if (mailbox_arg(ctx, obj, "mailbox", a, err) != 0)
        return -1;
    const imap_value *e = a->next;
    if (e != NULL && e->type == IV_LIST && e->next != NULL && !imapi_object_get(obj, "depth") &&
        !imapi_object_get(obj, "maxsize")) {
        getmetadata_options(e, obj);
        e = e->next;
    }
    NEED(e, "GETMETADATA without entries");
    imapi_dec_setl(obj, "entries", e->type == IV_LIST ? imapi_dec_str_list(e) : imapi_array1_new(imapi_dec_str(e)));
    return extra_args(e->next, obj, err);
}

/* RFC 5464 4.3: setmetadata = "SETMETADATA" SP mailbox SP "(" entry-value
 * *(SP entry-value) ")"; entry-value = entry SP value; value = nstring / literal8 */
static int dec_setmetadata(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                           imap_node *obj, const char **err)
{
    if (mailbox_arg(ctx, obj, "mailbox", a, err) != 0)
        return -1;
    const imap_value *l = a->next;
    NEED(l, "SETMETADATA without entries");
    imap_node *ent = imapi_array(); /* [{name, value}]: entry names are network data */
    for (const imap_value *c = l->child; c != NULL && c->next != NULL; c = c->next->next)
        imapi_dec_add_name_value(ent, c, imapi_dec_str(c->next));
    imapi_dec_setl(obj, "values", ent); /* GETMETADATA "entries" are names */
    return extra_args(l->next, obj, err);
}

/* RFC 5465 8: notify = "NOTIFY" SP (notify-set / notify-none) */
static int dec_notify(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                      imap_node *obj, const char **err)
{
    NEED(a, "NOTIFY without arguments");
    if (imapi_value_is_atom(a, "NONE")) {
        imapi_dec_setl(obj, "notify", imapi_string("NONE"));
        return extra_args(a->next, obj, err);
    }
    if (!imapi_value_is_atom(a, "SET")) {
        *err = "NOTIFY expects SET or NONE";
        return -1;
    }
    imapi_dec_setl(obj, "notify", imapi_string("SET"));
    a = a->next;
    if (imapi_value_is_atom(a, "STATUS")) {
        imapi_dec_setl(obj, "status", imapi_true());
        a = a->next;
    }
    imap_node *groups = imapi_array();
    for (; a != NULL; a = a->next) {
        if (a->type != IV_LIST) {
            *err = "NOTIFY event group is not a list";
            break;
        }
        imap_node *g = imapi_object();
        const imap_value *f = a->child;
        if (f != NULL) {
            imapi_dec_setl(g, "filter", imapi_dec_upper(f));
            const imap_value *ev = f->next;
            if ((imapi_value_is_atom(f, "SUBTREE") || imapi_value_is_atom(f, "MAILBOXES")) && ev != NULL) {
                imap_node *mbs = imapi_array();
                const imap_value *m = ev->type == IV_LIST ? ev->child : ev;
                for (; m != NULL; m = ev->type == IV_LIST ? m->next : NULL) {
                    imap_node *tmp = imapi_object();
                    imapi_add_mailbox(ctx, tmp, "m", m);
                    imapi_array_append(mbs, imapi_object_get(tmp, "m"));
                    imapi_decref(tmp);
                }
                imapi_dec_setl(g, "mailboxes", mbs);
                ev = ev->next;
            }
            if (ev != NULL) {
                /* events: [{event, fetch}] always objects; "NONE" (no
                 * events) is events [] with none: true (one JSON type per
                 * field, issue 10) */
                if (ev->type == IV_LIST) {
                    imap_node *evs = imapi_array();
                    for (const imap_value *e = ev->child; e != NULL; e = e->next) {
                        imap_node *last = imapi_array_get(evs, imapi_array_size(evs) - 1);
                        if (e->type == IV_LIST && last != NULL && !imapi_object_get(last, "fetch")) {
                            const char *ferr = NULL;
                            imapi_dec_setl(last, "fetch", imapi_fetch_items_decode(e, &ferr));
                            continue;
                        }
                        imap_node *eo = imapi_object();
                        imapi_dec_setl(eo, "event", e->raw != NULL && e->type == IV_LIST
                                                       ? imapi_json_bytes(e->raw, e->raw_len) : imapi_dec_str(e));
                        imapi_array_append_new(evs, eo);
                    }
                    imapi_dec_setl(g, "events", evs);
                } else {
                    imapi_dec_setl(g, "events", imapi_array());
                    imapi_dec_setl(g, "none", imapi_true());
                }
            }
        }
        imapi_array_append_new(groups, g);
    }
    imapi_dec_setl(obj, "event_groups", groups);
    return *err != NULL ? -1 : 0;
}

/* RFC 4467 9: genurlauth = "GENURLAUTH" 1*(SP url-rump SP mechanism);
 * resetkey = "RESETKEY" [SP mailbox *(SP mechanism)] */
static int dec_genurlauth(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                          imap_node *obj, const char **err)
{
    imap_node *arr = imapi_array();
    for (; a != NULL; a = a->next ? a->next->next : NULL) {
        imap_node *u = imapi_object();
        imapi_dec_setl(u, "url", imapi_dec_str(a));
        if (a->next == NULL) {
            *err = "GENURLAUTH url without mechanism";
            imapi_array_append_new(arr, u);
            break;
        }
        imapi_dec_setl(u, "mechanism", imapi_dec_upper(a->next));
        imapi_array_append_new(arr, u);
    }
    imapi_dec_setl(obj, "url_auths", arr); /* URLFETCH "urls" are strings */
    return *err != NULL ? -1 : 0;
}

static int dec_resetkey(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                        imap_node *obj, const char **err)
{
    if (a == NULL)
        return 0;
    if (mailbox_arg(ctx, obj, "mailbox", a, err) != 0)
        return -1;
    imap_node *mechs = imapi_array();
    for (a = a->next; a != NULL; a = a->next)
        imapi_array_append_new(mechs, imapi_dec_upper(a));
    imapi_dec_setl(obj, "mechanisms", mechs);
    return 0;
}

static int dec_search(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                      imap_node *obj, const char **err)
{
    /* imapi_search_decode takes the LIST; rebuild a view of it from the chain */
    imap_value view;
    memset(&view, 0, sizeof(view));
    view.type = IV_LIST;
    view.child = (imap_value *)a;
    return imapi_search_decode(ctx, cmd, &view, obj, err);
}

/* RFC 9051 9: lsub = "LSUB" SP mailbox SP list-mailbox (RFC 3501) */
static int dec_lsub(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                    imap_node *obj, const char **err)
{
    if (mailbox_arg(ctx, obj, "reference", a, err) != 0)
        return -1;
    NEED(a->next, "LSUB without pattern");
    if (add_patterns(ctx, obj, a->next, err) != 0)
        return -1;
    return extra_args(a->next->next, obj, err);
}

/* RFC 8508 3: replace = "REPLACE" SP seq-number SP mailbox append-message */
static int dec_replace(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                       imap_node *obj, const char **err)
{
    NEED(a, "REPLACE without message number");
    imapi_dec_add_seqset(obj, "sequence_set", a);
    return dec_append(ctx, cmd, a->next, obj, err);
}

static const struct cmd_def {
    const char *name;
    cmd_decoder fn;
} cmd_table[] = {
    { "APPEND", dec_append },
    { "AUTHENTICATE", dec_authenticate },
    { "CAPABILITY", dec_none },
    { "CHECK", dec_none },
    { "CLOSE", dec_none },
    { "COMPARATOR", dec_atoms },
    { "COMPRESS", dec_compress },
    { "CONVERSIONS", dec_conversions },
    { "COPY", dec_copy },
    { "CREATE", dec_create },
    { "DELETE", dec_mailbox },
    { "DELETEACL", dec_acl },
    { "DONE", dec_none },
    { "ENABLE", dec_atoms },
    { "ESEARCH", dec_search },
    { "EXAMINE", dec_select },
    { "EXPUNGE", dec_uid_expunge },
    { "FETCH", dec_fetch },
    { "GENURLAUTH", dec_genurlauth },
    { "GETACL", dec_mailbox },
    { "GETMETADATA", dec_getmetadata },
    { "GETQUOTA", dec_quota },
    { "GETQUOTAROOT", dec_mailbox },
    { "ID", dec_id },
    { "IDLE", dec_none },
    { "LANGUAGE", dec_atoms },
    { "LIST", dec_list },
    { "LISTRIGHTS", dec_acl },
    { "LOGIN", dec_login },
    { "LOGOUT", dec_none },
    { "LSUB", dec_lsub },
    { "MOVE", dec_copy },
    { "MYRIGHTS", dec_mailbox },
    { "NAMESPACE", dec_none },
    { "NOOP", dec_none },
    { "NOTIFY", dec_notify },
    { "RENAME", dec_rename },
    { "REPLACE", dec_replace },
    { "RESETKEY", dec_resetkey },
    { "SEARCH", dec_search },
    { "SELECT", dec_select },
    { "SETACL", dec_acl },
    { "SETMETADATA", dec_setmetadata },
    { "SETQUOTA", dec_quota },
    { "SORT", dec_search },
    { "STARTTLS", dec_none },
    { "STATUS", dec_status },
    { "STORE", dec_store },
    { "SUBSCRIBE", dec_mailbox },
    { "THREAD", dec_search },
    { "UNAUTHENTICATE", dec_none },
    { "UNSELECT", dec_none },
    { "UNSUBSCRIBE", dec_mailbox },
    { "URLFETCH", dec_atoms },
    { "XLIST", dec_list },
};

int imapi_decode_command(const imap_decode_ctx *ctx, const char *cmd,
                        const imap_value *args, imap_node *obj, const char **err)
{
    const char *dummy = NULL;
    if (err == NULL)
        err = &dummy;
    *err = NULL;
    if (cmd == NULL || obj == NULL)
        return -1;
    char up[64];
    size_t cl = strlen(cmd);
    if (cl >= sizeof(up))
        cl = sizeof(up) - 1;
    for (size_t i = 0; i < cl; i++)
        up[i] = (char)((cmd[i] >= 'a' && cmd[i] <= 'z') ? cmd[i] - 32 : cmd[i]);
    up[cl] = '\0';
    cmd = up;
    const char *base = cmd;
    if (strncmp(cmd, "UID ", 4) == 0)
        base = cmd + 4; /* "command" says UID (no "uid": true member) */
    const imap_value *a = (args != NULL && args->type == IV_LIST) ? args->child : NULL;
    for (size_t i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++) {
        if (strcasecmp(base, cmd_table[i].name) == 0) {
            if (cmd_table[i].fn == dec_search || cmd_table[i].fn == dec_uid_expunge)
                return cmd_table[i].fn(ctx, cmd, a, obj, err);
            return cmd_table[i].fn(ctx, cmd_table[i].name, a, obj, err);
        }
    }
    /* X-commands and unknown commands: generic arguments */
    if (args != NULL && args->count > 0)
        imapi_dec_setl(obj, "args", imapi_dec_raw_list(args));
    return 0;
}
