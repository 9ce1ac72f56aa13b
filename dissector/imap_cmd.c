/*
 * imap_cmd.c - command arguments (imap_decode_command): one decoder per
 * command, each naming its grammar rule.  Field names: docs/decoded.md.
 */
#include "imap_dec_util.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef int (*cmd_decoder)(const imap_decode_ctx *ctx, const char *cmd,
                           const imap_value *a, json_t *obj, const char **err);

#define NEED(v, msg) do { if ((v) == NULL) { *err = (msg); return -1; } } while (0)

static int mailbox_arg(const imap_decode_ctx *ctx, json_t *obj, const char *key,
                       const imap_value *v, const char **err)
{
    if (v == NULL) {
        *err = "missing mailbox";
        return -1;
    }
    if (imap_add_mailbox(ctx, obj, key, v) != 0) {
        *err = "mailbox is not an astring";
        return -1;
    }
    return 0;
}

static int extra_args(const imap_value *v, json_t *obj, const char **err)
{
    if (v == NULL)
        return 0;
    json_t *arr = json_array();
    for (; v != NULL; v = v->next)
        json_array_append_new(arr, v->raw != NULL ? imap_json_bytes(v->raw, v->raw_len)
                                                  : imap_dec_str_list(v)); /* raw text */
    imap_dec_setl(obj, "extra_args", arr);
    *err = "unexpected extra arguments";
    return -1;
}

/* CAPABILITY, CHECK, CLOSE, EXPUNGE, IDLE, LOGOUT, NAMESPACE, NOOP,
 * STARTTLS, UNSELECT, UNAUTHENTICATE: RFC 9051 9 command-any / -auth /
 * -select without arguments. */
static int dec_none(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                    json_t *obj, const char **err)
{
    return extra_args(a, obj, err);
}

/* RFC 9051 9: login = "LOGIN" SP userid SP password */
static int dec_login(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                     json_t *obj, const char **err)
{
    NEED(a, "LOGIN without user");
    imap_dec_setl(obj, "user", imap_dec_str(a));
    NEED(a->next, "LOGIN without password");
    if (ctx != NULL && ctx->show_credentials)
        imap_dec_setl(obj, "password", imap_dec_str(a->next));
    else
        imap_dec_setl(obj, "password", json_string("<redacted>"));
    if (a->next->next != NULL && (ctx == NULL || !ctx->show_credentials)) {
        /* words after the password may be more of it (a password with
         * spaces, unquoted): counted, never shown */
        json_t *arr = json_array();
        for (const imap_value *v = a->next->next; v != NULL; v = v->next)
            json_array_append_new(arr, json_string("<redacted>"));
        imap_dec_setl(obj, "extra_args", arr);
        *err = "unexpected extra arguments";
        return -1;
    }
    return extra_args(a->next->next, obj, err);
}

/* RFC 9051 9: authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp];
 * initial-resp = (base64 / "=") (RFC 4959).  The SASL content is decoded
 * by the session core. */
static int dec_authenticate(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                            json_t *obj, const char **err)
{
    NEED(a, "AUTHENTICATE without mechanism");
    imap_dec_setl(obj, "mechanism", imap_dec_upper(a));
    imap_dec_setl(obj, "initial_response", json_boolean(a->next != NULL));
    if (a->next != NULL && a->next->len == 1 && a->next->s[0] == '=')
        imap_dec_setl(obj, "initial_response_empty", json_true());
    return a->next != NULL ? extra_args(a->next->next, obj, err) : 0;
}

/* One-mailbox commands: DELETE, SUBSCRIBE, UNSUBSCRIBE, GETACL, MYRIGHTS,
 * GETQUOTAROOT (RFC 9051 9; RFC 4314 3; RFC 9208 4.3). */
static int dec_mailbox(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                       json_t *obj, const char **err)
{
    if (mailbox_arg(ctx, obj, "mailbox", a, err) != 0)
        return -1;
    return extra_args(a->next, obj, err);
}

/* RFC 9051 9: create = "CREATE" SP mailbox [create-params] (RFC 4466);
 * RFC 6154 3: create-param =/ "USE" SP "(" [use-attr *(SP use-attr)] ")" */
static int dec_create(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                      json_t *obj, const char **err)
{
    if (mailbox_arg(ctx, obj, "mailbox", a, err) != 0)
        return -1;
    const imap_value *p = a->next;
    if (p != NULL && p->type == IV_LIST) {
        for (const imap_value *c = p->child; c != NULL; c = c->next) {
            if (imap_value_is_atom(c, "USE") && c->next != NULL) {
                imap_dec_setl(obj, "use", imap_dec_str_list(c->next));
                c = c->next;
            } else {
                json_t *params = json_object_get(obj, "params");
                if (params == NULL) {
                    params = json_array();
                    json_object_set_new_nocheck(obj, "params", params);
                }
                json_array_append_new(params, c->raw != NULL ? imap_json_bytes(c->raw, c->raw_len)
                                                         : imap_dec_str_list(c));
            }
        }
        p = p->next;
    }
    return extra_args(p, obj, err);
}

/* Two mailbox-like arguments and nothing after them. */
static int two_mailboxes(const imap_decode_ctx *ctx, json_t *obj, const char *k1, const char *k2,
                         const imap_value *a, const char **err)
{
    if (mailbox_arg(ctx, obj, k1, a, err) != 0 || mailbox_arg(ctx, obj, k2, a->next, err) != 0)
        return -1;
    return extra_args(a->next->next, obj, err);
}

/* RFC 9051 9: rename = "RENAME" SP mailbox SP mailbox */
static int dec_rename(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                      json_t *obj, const char **err)
{
    return two_mailboxes(ctx, obj, "mailbox", "new_mailbox", a, err);
}

/* RFC 9051 9: select = "SELECT" SP mailbox [select-params]; RFC 7162 3.1.8
 * / 3.2.5: "CONDSTORE" and "QRESYNC" SP "(" uidvalidity SP mod-sequence-value
 * [SP known-uids] [SP seq-match-data] ")"; seq-match-data = "(" known-sequence-set
 * SP known-uid-set ")" */
static int dec_select(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                      json_t *obj, const char **err)
{
    if (mailbox_arg(ctx, obj, "mailbox", a, err) != 0)
        return -1;
    const imap_value *p = a->next;
    if (p == NULL)
        return 0;
    if (p->type != IV_LIST)
        return extra_args(p, obj, err);
    for (const imap_value *c = p->child; c != NULL; c = c->next) {
        if (imap_value_is_atom(c, "CONDSTORE")) {
            imap_dec_setl(obj, "condstore", json_true());
        } else if (imap_value_is_atom(c, "QRESYNC") && c->next != NULL && c->next->type == IV_LIST) {
            const imap_value *q = c->next;
            json_t *qo = json_object();
            uint64_t n;
            const imap_value *e = imap_list_nth(q, 0);
            if (imap_dec_number(e, &n) == 0)
                imap_dec_setl(qo, "uidvalidity", imap_dec_u64(n));
            e = imap_list_nth(q, 1);
            if (imap_dec_number(e, &n) == 0)
                imap_dec_setl(qo, "modseq", imap_dec_u64(n));
            e = imap_list_nth(q, 2);
            if (e != NULL && e->type != IV_LIST) {
                imap_dec_add_seqset(qo, "known_uids", e);
                e = e->next;
            }
            if (e != NULL && e->type == IV_LIST) {
                json_t *sm = json_object();
                imap_dec_add_seqset(sm, "sequence_set", imap_list_nth(e, 0));
                imap_dec_add_seqset(sm, "uid_set", imap_list_nth(e, 1));
                imap_dec_setl(qo, "seq_match", sm);
            }
            imap_dec_setl(obj, "qresync", qo);
            c = c->next;
        } else {
            json_t *params = json_object_get(obj, "params");
            if (params == NULL) {
                params = json_array();
                json_object_set_new_nocheck(obj, "params", params);
            }
            json_array_append_new(params, c->raw != NULL ? imap_json_bytes(c->raw, c->raw_len)
                                                         : imap_dec_str_list(c));
        }
    }
    return extra_args(p->next, obj, err);
}

/* RFC 9051 9: copy = "COPY" SP sequence-set SP mailbox; move (RFC 6851 4) */
static int dec_copy(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                    json_t *obj, const char **err)
{
    NEED(a, "missing sequence set");
    if (imap_dec_add_seqset(obj, "sequence_set", a) != 0)
        *err = "invalid sequence set";
    if (mailbox_arg(ctx, obj, "mailbox", a->next, err) != 0)
        return -1;
    if (*err != NULL)
        return -1;
    return extra_args(a->next->next, obj, err);
}

/* RFC 4315 2.1: uid-expunge = "UID" SP "EXPUNGE" SP sequence-set */
static int dec_uid_expunge(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                           json_t *obj, const char **err)
{
    if (strcmp(cmd, "EXPUNGE") == 0)
        return dec_none(ctx, cmd, a, obj, err);
    NEED(a, "UID EXPUNGE without uid set");
    if (imap_dec_add_seqset(obj, "sequence_set", a) != 0) {
        *err = "invalid sequence set";
        return -1;
    }
    return extra_args(a->next, obj, err);
}

/* RFC 9051 9: fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
 * fetch-att / "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers];
 * RFC 7162 3.1.4.1 / 3.2.6: CHANGEDSINCE mod-sequence [SP VANISHED] */
static int dec_fetch(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                     json_t *obj, const char **err)
{
    NEED(a, "FETCH without sequence set");
    if (imap_dec_add_seqset(obj, "sequence_set", a) != 0)
        *err = "invalid sequence set";
    NEED(a->next, "FETCH without items");
    const char *ierr = NULL;
    imap_dec_setl(obj, "items", imap_fetch_items_decode(a->next, &ierr));
    const imap_value *m = a->next->next;
    if (m != NULL && m->type == IV_LIST) {
        json_t *mods = json_object();
        for (const imap_value *c = m->child; c != NULL; c = c->next) {
            uint64_t n;
            if (imap_value_is_atom(c, "CHANGEDSINCE") && imap_dec_number(c->next, &n) == 0) {
                imap_dec_setl(obj, "changedsince", imap_dec_u64(n));
                c = c->next;
            } else if (imap_value_is_atom(c, "VANISHED")) {
                imap_dec_setl(obj, "vanished", json_true());
            } else if (imap_value_is_atom(c, "PARTIAL") && c->next != NULL) {
                imap_dec_setl(obj, "partial", imap_dec_str(c->next)); /* RFC 9394 */
                c = c->next;
            } else {
                char k[64];
                imap_dec_upper_text(c, k, sizeof(k));
                json_object_set_new(mods, k, c->next != NULL ? imap_value_to_json(c->next) : json_null());
                if (c->next != NULL)
                    c = c->next;
            }
        }
        if (json_object_size(mods) > 0)
            imap_dec_setl(obj, "modifiers", mods);
        else
            json_decref(mods);
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
    const char *t = imap_value_text(v, &len, NULL);
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
                     json_t *obj, const char **err)
{
    NEED(a, "STORE without sequence set");
    if (imap_dec_add_seqset(obj, "sequence_set", a) != 0)
        *err = "invalid sequence set";
    const imap_value *p = a->next;
    if (p != NULL && p->type == IV_LIST) {
        for (const imap_value *c = p->child; c != NULL; c = c->next) {
            uint64_t n;
            if (imap_value_is_atom(c, "UNCHANGEDSINCE") && imap_dec_number(c->next, &n) == 0) {
                imap_dec_setl(obj, "unchangedsince", imap_dec_u64(n));
                c = c->next;
            }
        }
        p = p->next;
    }
    NEED(p, "STORE without item");
    char item[64];
    imap_dec_upper_text(p, item, sizeof(item));
    json_t *st = json_object();
    imap_dec_setl(st, "item", json_string(item));
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
        imap_dec_setl(obj, "store", st);
        const imap_value *l = p->next;
        if (l == NULL || l->type != IV_LIST || l->next != NULL) {
            *err = "STORE ANNOTATION without (entry (attribute value ...))";
            return -1;
        }
        json_t *ann = json_object();
        const imap_value *e = l->child;
        for (; e != NULL && e->next != NULL && e->next->type == IV_LIST && json_object_size(ann) < 64;
             e = e->next->next) {
            char entry[256], attr[128];
            value_cstr(e, entry, sizeof entry);
            json_t *atts = json_object();
            const imap_value *v = e->next->child;
            for (; v != NULL && v->next != NULL; v = v->next->next) {
                value_cstr(v, attr, sizeof attr);
                json_object_set_new(atts, attr, imap_dec_str(v->next));
            }
            if (v != NULL && *err == NULL)
                *err = "ANNOTATION attribute without value";
            json_object_set_new(ann, entry, atts);
        }
        if (e != NULL && *err == NULL)
            *err = "ANNOTATION entry without (attribute value)";
        imap_dec_setl(obj, "annotations", ann);
        return *err != NULL ? -1 : 0;
    }
    bool ok = strcmp(base, "FLAGS") == 0 || strcmp(base, "FLAGS.SILENT") == 0 ||
              strcmp(base, "X-GM-LABELS") == 0 || strcmp(base, "X-GM-LABELS.SILENT") == 0;
    imap_dec_setl(st, "action", json_string(action));
    imap_dec_setl(st, "silent", json_boolean(strstr(base, ".SILENT") != NULL));
    imap_dec_setl(obj, "store", st);
    if (!ok && *err == NULL)
        *err = "unknown STORE item";
    const imap_value *f = p->next;
    if (f != NULL && f->type == IV_LIST) {
        imap_dec_setl(obj, "flags", imap_dec_str_list(f));
    } else {
        json_t *arr = json_array();
        for (; f != NULL; f = f->next)
            json_array_append_new(arr, imap_dec_str(f));
        imap_dec_setl(obj, "flags", arr);
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
                      json_t *obj, const char **err)
{
    if (mailbox_arg(ctx, obj, "mailbox", a, err) != 0)
        return -1;
    json_t *msgs = json_array();
    imap_dec_setl(obj, "messages", msgs);
    const imap_value *p = a->next;
    NEED(p, "APPEND without message");
    while (p != NULL) {
        json_t *m = json_object();
        json_array_append_new(msgs, m);
        if (p->type == IV_LIST) {
            imap_dec_setl(m, "flags", imap_dec_str_list(p));
            p = p->next;
        }
        if (p != NULL && p->type == IV_QUOTED) {
            imap_dec_add_date(m, "date", p);
            p = p->next;
        }
        if (p == NULL) {
            *err = "APPEND message without data";
            return -1;
        }
        if (p->type == IV_LITERAL) {
            if (p->lit != NULL) {
                json_t *lj = imap_value_to_json(p);
                imap_dec_setl(m, "size", imap_dec_u64(p->lit->size));
                imap_dec_setl(m, "sha256", json_incref(json_object_get(lj, "sha256")));
                if (p->lit->binary)
                    imap_dec_setl(m, "binary", json_true());
                if (p->lit->received < p->lit->size)
                    imap_dec_setl(m, "received", imap_dec_u64(p->lit->received));
                json_decref(lj);
            }
            p = p->next;
        } else if ((imap_value_is_atom(p, "CATENATE") || imap_value_is_atom(p, "UTF8")) &&
                   p->next != NULL && p->next->type == IV_LIST) {
            bool cat = imap_value_is_atom(p, "CATENATE");
            json_t *parts = json_array();
            const imap_value *c = p->next->child;
            if (!cat) {
                imap_dec_setl(m, "utf8", json_true());
                if (c != NULL && c->type == IV_LITERAL && c->lit != NULL) {
                    imap_dec_setl(m, "size", imap_dec_u64(c->lit->size));
                    json_t *lj = imap_value_to_json(c);
                    imap_dec_setl(m, "sha256", json_incref(json_object_get(lj, "sha256")));
                    json_decref(lj);
                }
                json_decref(parts);
            } else {
                for (; c != NULL; c = c->next) {
                    json_t *part = json_object();
                    imap_dec_setl(part, "type", imap_dec_upper(c));
                    const imap_value *d = c->next;
                    if (d != NULL) {
                        if (imap_value_is_atom(c, "URL")) {
                            imap_dec_setl(part, "url", imap_dec_str(d));
                        } else if (d->type == IV_LITERAL && d->lit != NULL) {
                            imap_dec_setl(part, "size", imap_dec_u64(d->lit->size));
                            json_t *lj = imap_value_to_json(d);
                            imap_dec_setl(part, "sha256", json_incref(json_object_get(lj, "sha256")));
                            json_decref(lj);
                        } else {
                            imap_dec_setl(part, "value", imap_value_to_json(d));
                        }
                        c = d;
                    }
                    json_array_append_new(parts, part);
                }
                imap_dec_setl(m, "catenate", parts);
            }
            p = p->next->next;
        } else {
            *err = "APPEND message data is not a literal";
            imap_dec_setl(m, "data", imap_value_to_json(p));
            return -1;
        }
    }
    imap_dec_setl(obj, "message_count", json_integer((json_int_t)json_array_size(msgs)));
    return 0;
}

/* RFC 9051 9: list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat
 * [SP list-return-opts]; mbox-or-pat = list-mailbox / patterns (RFC 5258 6);
 * RFC 5819: RETURN (STATUS (items)); RFC 6154: SPECIAL-USE */
static int dec_list(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                    json_t *obj, const char **err)
{
    NEED(a, "LIST without reference");
    if (a->type == IV_LIST) {
        json_t *sel = json_array();
        for (const imap_value *c = a->child; c != NULL; c = c->next)
            json_array_append_new(sel, imap_dec_upper(c));
        imap_dec_setl(obj, "selection_options", sel);
        a = a->next;
    }
    if (mailbox_arg(ctx, obj, "reference", a, err) != 0)
        return -1;
    const imap_value *p = a->next;
    NEED(p, "LIST without pattern");
    if (p->type == IV_LIST) {
        json_t *pats = json_array();
        for (const imap_value *c = p->child; c != NULL; c = c->next) {
            json_t *tmp = json_object();
            imap_add_mailbox(ctx, tmp, "p", c);
            json_array_append(pats, json_object_get(tmp, "p"));
            json_decref(tmp);
        }
        imap_dec_setl(obj, "patterns", pats);
    } else if (mailbox_arg(ctx, obj, "pattern", p, err) != 0) {
        return -1;
    }
    p = p->next;
    if (imap_value_is_atom(p, "RETURN") && p->next != NULL && p->next->type == IV_LIST) {
        json_t *ret = json_array();
        for (const imap_value *c = p->next->child; c != NULL; c = c->next) {
            json_array_append_new(ret, imap_dec_upper(c));
            if (imap_value_is_atom(c, "STATUS") && c->next != NULL && c->next->type == IV_LIST) {
                json_t *items = json_array();
                for (const imap_value *i = c->next->child; i != NULL; i = i->next)
                    json_array_append_new(items, imap_dec_upper(i));
                imap_dec_setl(obj, "return_status", items);
                c = c->next;
            }
        }
        imap_dec_setl(obj, "return_options", ret);
        p = p->next->next;
    }
    return extra_args(p, obj, err);
}

/* RFC 9051 9: status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")" */
static int dec_status(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                      json_t *obj, const char **err)
{
    if (mailbox_arg(ctx, obj, "mailbox", a, err) != 0)
        return -1;
    const imap_value *p = a->next;
    NEED(p, "STATUS without items");
    json_t *items = json_array();
    if (p->type == IV_LIST) {
        for (const imap_value *c = p->child; c != NULL; c = c->next)
            json_array_append_new(items, imap_dec_upper(c));
    } else {
        json_array_append_new(items, imap_dec_upper(p));
        *err = "STATUS items are not a list";
    }
    imap_dec_setl(obj, "status_items", items); /* "items" are FETCH's objects */
    if (*err != NULL)
        return -1;
    return extra_args(p->next, obj, err);
}

/* RFC 4314 3.1-3.6: SETACL mailbox identifier mod-rights; DELETEACL mailbox
 * identifier; LISTRIGHTS mailbox identifier */
static int dec_acl(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                   json_t *obj, const char **err)
{
    if (mailbox_arg(ctx, obj, "mailbox", a, err) != 0)
        return -1;
    const imap_value *id = a->next;
    NEED(id, "missing identifier");
    imap_dec_setl(obj, "identifier", imap_dec_str(id));
    const imap_value *r = id->next;
    if (strcmp(cmd, "SETACL") == 0) {
        NEED(r, "SETACL without rights");
        size_t len = 0;
        const char *s = imap_value_text(r, &len, NULL);
        const char *mode = "replace";
        if (len > 0 && (s[0] == '+' || s[0] == '-')) {
            mode = s[0] == '+' ? "add" : "remove";
            s++;
            len--;
        }
        imap_dec_setl(obj, "rights", imap_json_bytes(s, len));
        imap_dec_setl(obj, "rights_mode", json_string(mode));
        r = r->next;
    }
    return extra_args(r, obj, err);
}

/* RFC 9208 4.1 / 4.2: getquota = "GETQUOTA" SP quota-root-name;
 * setquota = "SETQUOTA" SP quota-root-name SP setquota-list;
 * setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")" */
static int dec_quota(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                     json_t *obj, const char **err)
{
    NEED(a, "missing quota root");
    imap_dec_setl(obj, "quota_root", imap_dec_str(a));
    const imap_value *p = a->next;
    if (strcmp(cmd, "SETQUOTA") == 0) {
        NEED(p, "SETQUOTA without limits");
        json_t *lim = json_object();
        for (const imap_value *c = p->child; c != NULL && c->next != NULL; c = c->next->next) {
            char k[64];
            uint64_t n;
            imap_dec_upper_text(c, k, sizeof(k));
            json_object_set_new(lim, k, imap_dec_number(c->next, &n) == 0 ? imap_dec_u64(n)
                                                                         : imap_value_to_json(c->next));
        }
        imap_dec_setl(obj, "limits", lim);
        p = p->next;
    }
    return extra_args(p, obj, err);
}

/* RFC 2971 3.1: id = "ID" SP id-params-list; id-params-list = "(" *(string
 * SP nstring) ")" / nil */
static json_t *id_params(const imap_value *p)
{
    if (p == NULL || p->type != IV_LIST)
        return json_null();
    json_t *o = json_array(); /* [{name, value}]: names are network data */
    for (const imap_value *c = p->child; c != NULL && c->next != NULL; c = c->next->next)
        imap_dec_add_name_value(o, c, imap_dec_str(c->next));
    return o;
}

static int dec_id(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                  json_t *obj, const char **err)
{
    NEED(a, "ID without parameters");
    imap_dec_setl(obj, "id", id_params(a));
    return extra_args(a->next, obj, err);
}

/* Lists of atoms: ENABLE (RFC 5161 3.1), LANGUAGE (RFC 5255 3.2),
 * COMPARATOR (RFC 5255 4.7), URLFETCH (RFC 4467 9) */
static int dec_atoms(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                     json_t *obj, const char **err)
{
    const char *key = strcmp(cmd, "ENABLE") == 0 ? "enabled"
                    : strcmp(cmd, "LANGUAGE") == 0 ? "languages"
                    : strcmp(cmd, "COMPARATOR") == 0 ? "comparators" : "urls";
    json_t *arr = json_array();
    for (; a != NULL; a = a->next)
        json_array_append_new(arr, strcmp(cmd, "ENABLE") == 0 ? imap_dec_upper(a) : imap_dec_str(a));
    imap_dec_set(obj, key, arr);
    if (strcmp(cmd, "ENABLE") == 0 && json_array_size(arr) == 0) {
        *err = "ENABLE without capabilities";
        return -1;
    }
    return 0;
}

/* RFC 4978 3: compress = "COMPRESS" SP algorithm */
static int dec_compress(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                        json_t *obj, const char **err)
{
    NEED(a, "COMPRESS without mechanism");
    imap_dec_setl(obj, "mechanism", imap_dec_upper(a));
    return extra_args(a->next, obj, err);
}

/* RFC 5259 5.1: CONVERSIONS source-mime-type target-mime-type */
static int dec_conversions(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                           json_t *obj, const char **err)
{
    NEED(a, "CONVERSIONS without source");
    imap_dec_setl(obj, "source", imap_dec_str(a));
    NEED(a->next, "CONVERSIONS without target");
    imap_dec_setl(obj, "target", imap_dec_str(a->next));
    return extra_args(a->next->next, obj, err);
}

/* The options list of GETMETADATA (MAXSIZE n, DEPTH 0/1/infinity). */
static void getmetadata_options(const imap_value *a, json_t *obj)
{
    json_t *opts = json_object();
    for (const imap_value *c = a->child; c != NULL; c = c->next) {
            uint64_t n;
            if (imap_value_is_atom(c, "MAXSIZE") && imap_dec_number(c->next, &n) == 0) {
                imap_dec_setl(opts, "maxsize", imap_dec_u64(n));
                c = c->next;
            } else if (imap_value_is_atom(c, "DEPTH") && c->next != NULL) {
                imap_dec_setl(opts, "depth", c->next->type == IV_NUMBER ? imap_dec_u64(c->next->num)
                                                                      : imap_dec_str(c->next));
                c = c->next;
            }
    }
    imap_dec_setl(obj, "options", opts);
}

/* RFC 5464 4.2: getmetadata = "GETMETADATA" [SP getmetadata-options] SP
 * mailbox SP entries; getmetadata-options = "(" option *(SP option) ")"
 * (MAXSIZE n, DEPTH 0/1/infinity); entries = entry / "(" entry *(SP entry) ")".
 * The RFC's own examples (4.2.1, 4.2.2) put the options after the mailbox
 * ("GETMETADATA "INBOX" (MAXSIZE 1024) (/shared/comment ...)"), and so do
 * clients: both orders are accepted. */
static int dec_getmetadata(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                           json_t *obj, const char **err)
{
    NEED(a, "GETMETADATA without mailbox");
    if (a->type == IV_LIST) {
        getmetadata_options(a, obj);
        a = a->next;
    }
    if (mailbox_arg(ctx, obj, "mailbox", a, err) != 0)
        return -1;
    const imap_value *e = a->next;
    if (e != NULL && e->type == IV_LIST && e->next != NULL && !json_object_get(obj, "options")) {
        getmetadata_options(e, obj);
        e = e->next;
    }
    NEED(e, "GETMETADATA without entries");
    imap_dec_setl(obj, "entries", e->type == IV_LIST ? imap_dec_str_list(e) : json_pack("[o]", imap_dec_str(e)));
    return extra_args(e->next, obj, err);
}

/* RFC 5464 4.3: setmetadata = "SETMETADATA" SP mailbox SP "(" entry-value
 * *(SP entry-value) ")"; entry-value = entry SP value; value = nstring / literal8 */
static int dec_setmetadata(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                           json_t *obj, const char **err)
{
    if (mailbox_arg(ctx, obj, "mailbox", a, err) != 0)
        return -1;
    const imap_value *l = a->next;
    NEED(l, "SETMETADATA without entries");
    json_t *ent = json_array(); /* [{name, value}]: entry names are network data */
    for (const imap_value *c = l->child; c != NULL && c->next != NULL; c = c->next->next)
        imap_dec_add_name_value(ent, c, imap_dec_str(c->next));
    imap_dec_setl(obj, "values", ent); /* GETMETADATA "entries" are names */
    return extra_args(l->next, obj, err);
}

/* RFC 5465 8: notify = "NOTIFY" SP (notify-set / notify-none) */
static int dec_notify(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                      json_t *obj, const char **err)
{
    NEED(a, "NOTIFY without arguments");
    if (imap_value_is_atom(a, "NONE")) {
        imap_dec_setl(obj, "notify", json_string("NONE"));
        return extra_args(a->next, obj, err);
    }
    if (!imap_value_is_atom(a, "SET")) {
        *err = "NOTIFY expects SET or NONE";
        return -1;
    }
    imap_dec_setl(obj, "notify", json_string("SET"));
    a = a->next;
    if (imap_value_is_atom(a, "STATUS")) {
        imap_dec_setl(obj, "status", json_true());
        a = a->next;
    }
    json_t *groups = json_array();
    for (; a != NULL; a = a->next) {
        if (a->type != IV_LIST) {
            *err = "NOTIFY event group is not a list";
            break;
        }
        json_t *g = json_object();
        const imap_value *f = a->child;
        if (f != NULL) {
            imap_dec_setl(g, "filter", imap_dec_upper(f));
            const imap_value *ev = f->next;
            if ((imap_value_is_atom(f, "SUBTREE") || imap_value_is_atom(f, "MAILBOXES")) && ev != NULL) {
                json_t *mbs = json_array();
                const imap_value *m = ev->type == IV_LIST ? ev->child : ev;
                for (; m != NULL; m = ev->type == IV_LIST ? m->next : NULL) {
                    json_t *tmp = json_object();
                    imap_add_mailbox(ctx, tmp, "m", m);
                    json_array_append(mbs, json_object_get(tmp, "m"));
                    json_decref(tmp);
                }
                imap_dec_setl(g, "mailboxes", mbs);
                ev = ev->next;
            }
            if (ev != NULL) {
                /* events: [{event, fetch}] always objects; "NONE" (no
                 * events) is events [] with none: true (one JSON type per
                 * field, issue 10) */
                if (ev->type == IV_LIST) {
                    json_t *evs = json_array();
                    for (const imap_value *e = ev->child; e != NULL; e = e->next) {
                        json_t *last = json_array_get(evs, json_array_size(evs) - 1);
                        if (e->type == IV_LIST && last != NULL && !json_object_get(last, "fetch")) {
                            const char *ferr = NULL;
                            imap_dec_setl(last, "fetch", imap_fetch_items_decode(e, &ferr));
                            continue;
                        }
                        json_t *eo = json_object();
                        imap_dec_setl(eo, "event", e->raw != NULL && e->type == IV_LIST
                                                       ? imap_json_bytes(e->raw, e->raw_len) : imap_dec_str(e));
                        json_array_append_new(evs, eo);
                    }
                    imap_dec_setl(g, "events", evs);
                } else {
                    imap_dec_setl(g, "events", json_array());
                    imap_dec_setl(g, "none", json_true());
                }
            }
        }
        json_array_append_new(groups, g);
    }
    imap_dec_setl(obj, "event_groups", groups);
    return *err != NULL ? -1 : 0;
}

/* RFC 4467 9: genurlauth = "GENURLAUTH" 1*(SP url-rump SP mechanism);
 * resetkey = "RESETKEY" [SP mailbox *(SP mechanism)] */
static int dec_genurlauth(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                          json_t *obj, const char **err)
{
    json_t *arr = json_array();
    for (; a != NULL; a = a->next ? a->next->next : NULL) {
        json_t *u = json_object();
        imap_dec_setl(u, "url", imap_dec_str(a));
        if (a->next == NULL) {
            *err = "GENURLAUTH url without mechanism";
            json_array_append_new(arr, u);
            break;
        }
        imap_dec_setl(u, "mechanism", imap_dec_upper(a->next));
        json_array_append_new(arr, u);
    }
    imap_dec_setl(obj, "url_auths", arr); /* URLFETCH "urls" are strings */
    return *err != NULL ? -1 : 0;
}

static int dec_resetkey(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                        json_t *obj, const char **err)
{
    if (a == NULL)
        return 0;
    if (mailbox_arg(ctx, obj, "mailbox", a, err) != 0)
        return -1;
    json_t *mechs = json_array();
    for (a = a->next; a != NULL; a = a->next)
        json_array_append_new(mechs, imap_dec_upper(a));
    imap_dec_setl(obj, "mechanisms", mechs);
    return 0;
}

static int dec_search(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                      json_t *obj, const char **err)
{
    /* imap_search_decode takes the LIST; rebuild a view of it from the chain */
    imap_value view;
    memset(&view, 0, sizeof(view));
    view.type = IV_LIST;
    view.child = (imap_value *)a;
    return imap_search_decode(ctx, cmd, &view, obj, err);
}

/* RFC 9051 9: lsub = "LSUB" SP mailbox SP list-mailbox (RFC 3501) */
static int dec_lsub(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                    json_t *obj, const char **err)
{
    return two_mailboxes(ctx, obj, "reference", "pattern", a, err);
}

/* RFC 8508 3: replace = "REPLACE" SP seq-number SP mailbox append-message */
static int dec_replace(const imap_decode_ctx *ctx, const char *cmd, const imap_value *a,
                       json_t *obj, const char **err)
{
    NEED(a, "REPLACE without message number");
    imap_dec_add_seqset(obj, "sequence_set", a);
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

int imap_decode_command(const imap_decode_ctx *ctx, const char *cmd,
                        const imap_value *args, json_t *obj, const char **err)
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
    if (strncmp(cmd, "UID ", 4) == 0) {
        base = cmd + 4;
        imap_dec_setl(obj, "uid", json_true());
    }
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
        imap_dec_setl(obj, "args", imap_dec_raw_list(args));
    return 0;
}
