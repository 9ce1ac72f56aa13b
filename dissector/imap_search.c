/*
 * imap_search.c - SEARCH programs (RFC 9051 6.4.4 / 9 search-key) and the
 * commands built on them: SEARCH / UID SEARCH (with RETURN of RFC 4731 and
 * CHARSET), SORT (RFC 5256, ESORT RFC 5267), THREAD (RFC 5256) and ESEARCH
 * (RFC 7377, successor of RFC 6237).
 *
 * A key becomes a JSON tree: {"key":"FROM","value":"x"},
 * {"key":"SINCE","value":"1994-02-01"} (a date in ISO 8601 when it parses,
 * else as sent), {"key":"LARGER","number":1000} (every numeric argument:
 * LARGER, OLDER's seconds, MODSEQ), {"key":"OR","args":[k1,k2]},
 * {"key":"NOT","args":[k]}, {"key":"AND","args":[...]} for a
 * parenthesised group; flattened in preorder (imapi_dec_flatten_tree),
 * "nargs" marks the operators.  One name per concept (issue 10).
 */
#include "imap_dec_util.h"

#include <string.h>
#include <strings.h>

typedef enum key_arg {
    KA_NONE,     /* ALL, SEEN, ... */
    KA_STRING,   /* FROM "x" */
    KA_DATE,     /* SINCE 1-Feb-1994 */
    KA_NUMBER,   /* LARGER 1000 */
    KA_SECONDS,  /* OLDER / YOUNGER interval (RFC 5032) */
    KA_FLAG,     /* KEYWORD $Forwarded */
    KA_HEADER,   /* HEADER field value */
    KA_SEQSET,   /* UID 1:100 */
    KA_NOT,
    KA_OR,
    KA_FUZZY,    /* RFC 6203 */
    KA_MODSEQ,   /* RFC 7162 3.1.5 */
    KA_ANNOTATION /* RFC 5257: entry attrib value */
} key_arg;

static const struct search_key_def {
    const char *name;
    key_arg     arg;
} search_keys[] = {
    { "ALL", KA_NONE }, { "ANSWERED", KA_NONE }, { "DELETED", KA_NONE },
    { "DRAFT", KA_NONE }, { "FLAGGED", KA_NONE }, { "NEW", KA_NONE },
    { "OLD", KA_NONE }, { "RECENT", KA_NONE }, { "SEEN", KA_NONE },
    { "UNANSWERED", KA_NONE }, { "UNDELETED", KA_NONE }, { "UNDRAFT", KA_NONE },
    { "UNFLAGGED", KA_NONE }, { "UNSEEN", KA_NONE },
    { "SAVEDATESUPPORTED", KA_NONE },                        /* RFC 8514 */
    { "BCC", KA_STRING }, { "BODY", KA_STRING }, { "CC", KA_STRING },
    { "FROM", KA_STRING }, { "SUBJECT", KA_STRING }, { "TEXT", KA_STRING },
    { "TO", KA_STRING },
    { "EMAILID", KA_STRING }, { "THREADID", KA_STRING },     /* RFC 8474 */
    { "FILTER", KA_STRING },                                 /* RFC 5466 */
    { "X-GM-RAW", KA_STRING }, { "X-GM-LABELS", KA_STRING },
    { "BEFORE", KA_DATE }, { "ON", KA_DATE }, { "SINCE", KA_DATE },
    { "SENTBEFORE", KA_DATE }, { "SENTON", KA_DATE }, { "SENTSINCE", KA_DATE },
    { "SAVEDBEFORE", KA_DATE }, { "SAVEDON", KA_DATE }, { "SAVEDSINCE", KA_DATE }, /* RFC 8514 */
    { "LARGER", KA_NUMBER }, { "SMALLER", KA_NUMBER },
    { "X-GM-MSGID", KA_NUMBER }, { "X-GM-THRID", KA_NUMBER },
    { "OLDER", KA_SECONDS }, { "YOUNGER", KA_SECONDS },      /* RFC 5032 */
    { "KEYWORD", KA_FLAG }, { "UNKEYWORD", KA_FLAG },
    { "HEADER", KA_HEADER },
    { "UID", KA_SEQSET },
    { "NOT", KA_NOT }, { "OR", KA_OR },
    { "FUZZY", KA_FUZZY },
    { "MODSEQ", KA_MODSEQ },
    { "ANNOTATION", KA_ANNOTATION },
};

static imap_node *search_key(const imap_decode_ctx *ctx, const imap_value **cur, unsigned depth,
                          const char **err);

/* A parenthesised group or the top level: keys until the end of the chain. */
static imap_node *search_chain(const imap_decode_ctx *ctx, const imap_value **cur, unsigned depth,
                            const char **err)
{
    imap_node *arr = imapi_array();
    while (*cur != NULL) {
        imap_node *k = search_key(ctx, cur, depth, err);
        if (k == NULL)
            break;
        imapi_array_append_new(arr, k);
        if (*err != NULL)
            break;
    }
    return arr;
}

static bool is_seqset_text(const imap_value *v)
{
    if (v == NULL || (v->type != IV_ATOM && v->type != IV_NUMBER) || v->len == 0)
        return false;
    for (size_t i = 0; i < v->len; i++) {
        char c = v->s[i];
        if (!((c >= '0' && c <= '9') || c == ':' || c == ',' || c == '*' || c == '$'))
            return false;
    }
    return true;
}

/* One search-key at *cur (advanced past it). */
static imap_node *search_key(const imap_decode_ctx *ctx, const imap_value **cur, unsigned depth,
                          const char **err)
{
    const imap_value *v = *cur;
    if (v == NULL)
        return NULL;
    if (depth > IMAP_DEC_MAX_DEPTH) {
        *err = "search program nested too deeply";
        *cur = NULL;
        return NULL;
    }
    *cur = v->next;
    imap_node *o = imapi_object();
    if (v->type == IV_LIST) {
        /* "(" search-key *(SP search-key) ")" */
        const imap_value *in = v->child;
        imapi_dec_setl(o, "key", imapi_string("AND"));
        imapi_dec_setl(o, "args", search_chain(ctx, &in, depth + 1, err));
        return o;
    }
    if (is_seqset_text(v)) {
        imapi_dec_setl(o, "key", imapi_string("SEQUENCE"));
        imapi_dec_add_seqset(o, "sequence_set", v);
        return o;
    }
    char name[64];
    imapi_dec_upper_text(v, name, sizeof(name));
    const struct search_key_def *def = NULL;
    if (v->type == IV_ATOM) {
        for (size_t i = 0; i < sizeof(search_keys) / sizeof(search_keys[0]); i++)
            if (strcmp(name, search_keys[i].name) == 0)
                def = &search_keys[i];
    }
    if (def == NULL) {
        imapi_dec_setl(o, "key", imapi_dec_str(v));
        imapi_dec_setl(o, "known", imapi_false());
        if (*err == NULL)
            *err = "unknown search key";
        return o;
    }
    const imap_value *a = *cur;
    key_arg kind = def->arg;
    if (kind == KA_NOT || kind == KA_OR || kind == KA_FUZZY) {
        imapi_dec_setl(o, "key", imapi_string(def->name));
        imap_node *args = imapi_array();
        int n = kind == KA_OR ? 2 : 1;
        for (int i = 0; i < n; i++) {
            if (*cur == NULL) {
                *err = "search key without its argument";
                break;
            }
            imap_node *k = search_key(ctx, cur, depth + 1, err);
            if (k == NULL)
                break;
            imapi_array_append_new(args, k);
            if (*err != NULL)
                break;
        }
        imapi_dec_setl(o, "args", args);
        return o;
    }
    imapi_dec_setl(o, "key", imapi_string(def->name));
    if (kind == KA_NONE)
        return o;
    if (kind == KA_MODSEQ) {
        /* RFC 7162 3.1.5: "MODSEQ" [search-modsequence-ext] SP mod-sequence-valzer;
         * search-modsequence-ext = SP entry-name SP entry-type-req */
        if (a != NULL && imapi_value_is_string(a) && a->next != NULL && a->next->next != NULL) {
            imapi_dec_setl(o, "entry", imapi_dec_str(a));
            imapi_dec_setl(o, "entry_type", imapi_dec_str(a->next));
            a = a->next->next;
        }
        uint64_t n;
        if (a == NULL || imapi_dec_number(a, &n) != 0) {
            *err = "MODSEQ search key without a mod-sequence";
            *cur = a != NULL ? a->next : NULL;
            return o;
        }
        imapi_dec_setl(o, "number", imapi_dec_u64(n));
        *cur = a->next;
        return o;
    }
    size_t need = kind == KA_HEADER ? 2 : kind == KA_ANNOTATION ? 3 : 1;
    const imap_value *e = a;
    for (size_t i = 0; i < need; i++) {
        if (e == NULL) {
            *err = "search key without its argument";
            *cur = NULL;
            return o;
        }
        e = e->next;
    }
    *cur = e;
    uint64_t n;
    switch (kind) {
    case KA_STRING:
    case KA_FLAG:
        imapi_dec_setl(o, "value", imapi_dec_str(a));
        break;
    case KA_DATE: {
        /* RFC 9051 9: date = date-text / DQUOTE date-text DQUOTE */
        size_t len = 0;
        const char *s = imapi_value_text(a, &len, NULL);
        char iso[40];
        if (s != NULL && a->type != IV_LIST && imapi_dec_date_iso(s, len, iso, sizeof(iso)) == 0)
            imapi_dec_setl(o, "value", imapi_string(iso));
        else
            imapi_dec_setl(o, "value", imapi_dec_str(a));
        break;
    }
    case KA_NUMBER:
    case KA_SECONDS:
        if (imapi_dec_number(a, &n) == 0) {
            imapi_dec_set(o, "number", imapi_dec_u64(n));
        } else {
            imapi_dec_setl(o, "value", imapi_dec_str(a));
            *err = "search key expects a number";
        }
        break;
    case KA_HEADER:
        imapi_dec_setl(o, "field", imapi_dec_str(a));
        imapi_dec_setl(o, "value", imapi_dec_str(a->next));
        break;
    case KA_SEQSET:
        imapi_dec_add_seqset(o, "sequence_set", a);
        break;
    case KA_ANNOTATION:
        imapi_dec_setl(o, "entry", imapi_dec_str(a));
        imapi_dec_setl(o, "attribute", imapi_dec_str(a->next));
        imapi_dec_setl(o, "value", imapi_dec_str(a->next->next));
        break;
    default:
        break;
    }
    (void)ctx;
    return o;
}

imap_node *imapi_search_keys_decode(const imap_decode_ctx *ctx, const imap_value **cur, const char **err)
{
    return search_chain(ctx, cur, 0, err);
}

/* The search program as a tree: one key alone, several under "AND". */
static imap_node *search_tree(const imap_decode_ctx *ctx, const imap_value **cur, const char **err)
{
    imap_node *arr = search_chain(ctx, cur, 0, err);
    if (imapi_array_size(arr) == 1) {
        imap_node *k = imapi_incref(imapi_array_get(arr, 0));
        imapi_decref(arr);
        return k;
    }
    if (imapi_array_size(arr) == 0 && *err == NULL)
        *err = "empty search program";
    imap_node *o = imapi_object();
    imapi_dec_setl(o, "key", imapi_string("AND"));
    imapi_dec_setl(o, "args", arr);
    return o;
}

/* RFC 4731 3.1: search-return-opts = SP "RETURN" SP "(" [search-return-opt
 * *(SP search-return-opt)] ")"; values upper-cased, arguments kept. */
static const imap_value *return_opts(const imap_value *a, imap_node *obj)
{
    if (imapi_value_is_atom(a, "RETURN") && a->next != NULL && a->next->type == IV_LIST) {
        imap_node *arr = imapi_array();
        for (const imap_value *c = a->next->child; c != NULL; c = c->next)
            imapi_array_append_new(arr, c->type == IV_ATOM ? imapi_dec_upper(c) : imapi_value_to_json(c));
        imapi_dec_setl(obj, "return", arr);
        return a->next->next;
    }
    return a;
}

static const imap_value *charset_opt(const imap_value *a, imap_node *obj, bool required, const char **err)
{
    if (!required) {
        if (imapi_value_is_atom(a, "CHARSET") && a->next != NULL) {
            imapi_dec_setl(obj, "charset", imapi_dec_str(a->next));
            return a->next->next;
        }
        return a;
    }
    if (a == NULL || !imapi_value_is_astring(a)) {
        *err = "missing charset";
        return a;
    }
    imapi_dec_setl(obj, "charset", imapi_dec_str(a));
    return a->next;
}

/* RFC 7377 2: esearch-source-opts = "IN" SP "(" source-mbox [SP "(" scope-options ")"] ")" */
static const imap_value *esearch_source(const imap_decode_ctx *ctx, const imap_value *a, imap_node *obj)
{
    if (!imapi_value_is_atom(a, "IN") || a->next == NULL || a->next->type != IV_LIST)
        return a;
    imap_node *src = imapi_array();
    for (const imap_value *c = a->next->child; c != NULL; c = c->next) {
        if (c->type == IV_LIST) {
            /* a mailbox list of SUBTREE / MAILBOXES, or scope options */
            imap_node *last = imapi_array_get(src, imapi_array_size(src) - 1);
            if (last != NULL) {
                imap_node *mbs = imapi_array();
                for (const imap_value *m = c->child; m != NULL; m = m->next) {
                    imap_node *tmp = imapi_object();
                    imapi_add_mailbox(ctx, tmp, "mailbox", m);
                    imapi_array_append(mbs, imapi_object_get(tmp, "mailbox"));
                    imapi_decref(tmp);
                }
                imapi_dec_setl(last, "mailboxes", mbs);
            }
            continue;
        }
        imap_node *f = imapi_object();
        imapi_dec_setl(f, "filter", imapi_dec_upper(c));
        if (c->next != NULL && c->next->type != IV_LIST && imapi_value_is_string(c->next)) {
            imap_node *tmp = imapi_object();
            imapi_add_mailbox(ctx, tmp, "mailbox", c->next);
            imapi_dec_setl(f, "mailboxes", imapi_array1_new(imapi_incref(imapi_object_get(tmp, "mailbox"))));
            imapi_decref(tmp);
            c = c->next;
        }
        imapi_array_append_new(src, f);
    }
    imapi_dec_setl(obj, "source", src);
    return a->next->next;
}

int imapi_search_decode(const imap_decode_ctx *ctx, const char *cmd, const imap_value *args,
                       imap_node *obj, const char **err)
{
    const imap_value *a = args != NULL ? args->child : NULL;
    const char *base = strncmp(cmd, "UID ", 4) == 0 ? cmd + 4 : cmd;
    *err = NULL;
    if (strcmp(base, "SEARCH") == 0 || strcmp(base, "ESEARCH") == 0) {
        /* RFC 9051 9: search = "SEARCH" [search-return-opts] SP search-program;
         * search-program = ["CHARSET" SP charset SP] search-key *(SP search-key) */
        if (strcmp(base, "ESEARCH") == 0)
            a = esearch_source(ctx, a, obj);
        a = return_opts(a, obj);
        a = charset_opt(a, obj, false, err);
        imapi_dec_setl(obj, "search", imapi_dec_flatten_tree(search_tree(ctx, &a, err), "args"));
    } else if (strcmp(base, "SORT") == 0) {
        /* RFC 5256 5: sort = ["UID" SP] "SORT" SP sort-criteria SP search-criteria;
         * sort-criteria = "(" sort-criterion *(SP sort-criterion) ")";
         * sort-criterion = ["REVERSE" SP] sort-key; RFC 5267 adds RETURN first */
        a = return_opts(a, obj);
        if (a == NULL || a->type != IV_LIST) {
            *err = "SORT without sort criteria";
            return -1;
        }
        imap_node *crit = imapi_array();
        bool rev = false;
        for (const imap_value *c = a->child; c != NULL; c = c->next) {
            if (imapi_value_is_atom(c, "REVERSE")) {
                rev = true;
                continue;
            }
            imap_node *k = imapi_object();
            imapi_dec_setl(k, "key", imapi_dec_upper(c));
            if (rev)
                imapi_dec_setl(k, "reverse", imapi_true());
            rev = false;
            imapi_array_append_new(crit, k);
        }
        imapi_dec_setl(obj, "sort_criteria", crit);
        a = charset_opt(a->next, obj, true, err);
        if (*err == NULL)
            imapi_dec_setl(obj, "search", imapi_dec_flatten_tree(search_tree(ctx, &a, err), "args"));
    } else if (strcmp(base, "THREAD") == 0) {
        /* RFC 5256 5: thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria */
        if (a == NULL) {
            *err = "THREAD without algorithm";
            return -1;
        }
        imapi_dec_setl(obj, "algorithm", imapi_dec_upper(a));
        a = charset_opt(a->next, obj, true, err);
        if (*err == NULL)
            imapi_dec_setl(obj, "search", imapi_dec_flatten_tree(search_tree(ctx, &a, err), "args"));
    } else {
        *err = "not a search command";
        return -1;
    }
    return *err != NULL ? -1 : 0;
}
