/*
 * render_text_tables.c - the tables of the text trace that come at the end
 * of a run: the final (or periodic) stats and, with -v, the per-user table
 * (render_text_int.h; the format is in docs/output.md, "The text trace").
 * Split from render_text.c, which renders the per-line trace.
 */
#include "render_text_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_json.h"
#include "sink.h"

/* An array of {name, counters...} (stats.detect.alerts, .tables): true
 * when every element is an object with a string "name". */
static bool named_array(const json_t *v)
{
    if (!json_is_array(v) || json_array_size(v) == 0)
        return false;
    for (size_t i = 0; i < json_array_size(v); i++)
        if (!json_is_string(json_object_get(json_array_get(v, i), "name")))
            return false;
    return true;
}

/* A counter of a named array's element shown in the short table: not 0,
 * and not "capacity" (a setting, in the JSON). */
static bool named_shown(const char *k, const json_t *x)
{
    return json_is_integer(x) && json_integer_value(x) != 0 && strcmp(k, "capacity") != 0;
}

/* Whether an element of a named array has a counter to show. */
static bool named_nonzero(const json_t *e)
{
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)e, k, x) {
        if (named_shown(k, x))
            return true;
    }
    return false;
}

static void put_stats_value(output *o, const json_t *v)
{
    if (named_array(v)) {
        /* "[users entries 1; servers entries 1]", "[mass_move 1]": the
         * elements with a counter to show, and those counters ("count"
         * without its name) */
        bool first = true;
        put_ch(o, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *e = json_array_get(v, i);
            const char *k;
            json_t *x;
            if (!named_nonzero(e))
                continue;
            if (!first)
                put(o, "; ", 2);
            first = false;
            text_put_str(o, json_string_value(json_object_get(e, "name")));
            json_object_foreach((json_t *)e, k, x) {
                if (!named_shown(k, x))
                    continue;
                put_ch(o, ' ');
                if (strcmp(k, "count") != 0) {
                    text_put_str(o, k);
                    put_ch(o, ' ');
                }
                put_i64(o, (int64_t)json_integer_value(x));
            }
        }
        put_ch(o, ']');
        return;
    }
    if (json_is_string(v))
        text_put_json_str(o, v);
    else if (json_is_boolean(v))
        put_str(o, json_is_true(v) ? "yes" : "no");
    else
        put_json_value(o, v, 1);
}

/* A counter worth a place in the short table: not 0, false, null or {}. */
static bool stats_nonzero(const json_t *v)
{
    if (named_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (named_nonzero(json_array_get(v, i)))
                return true;
        return false;
    }
    return !(json_is_null(v) || json_is_false(v) || (json_is_integer(v) && json_integer_value(v) == 0) ||
             (json_is_object(v) && json_object_size(v) == 0));
}

/* The width of the name column: the longest name so far. */
static size_t stats_key_width(size_t len, size_t width)
{
    return len > width ? len : width;
}

static void stats_row_start(output *o, const char *k, size_t len, size_t width)
{
    char name[64];

    snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), k);
    put_str(o, TEXT_INDENT "  ");
    text_put_str(o, name);
    for (size_t i = len; i < width + 2; i++)
        put_ch(o, ' ');
}

/* The counters of one group ("decode.held" -> group "decode") as
 * "held 1, errors 2": only those not zero ("-" when all are). */
static void stats_group_row(output *o, const json_t *counters, const char *g, size_t glen, size_t width)
{
    bool first = true;

    stats_row_start(o, g, glen, width);
    for (size_t i = 0; i < json_array_size(counters); i++) {
        const json_t *c = json_array_get(counters, i);
        const char *n = json_string_value(json_object_get(c, "name"));
        const json_t *v = json_object_get(c, "count");
        if (!n || strncmp(n, g, glen) != 0 || n[glen] != '.' || !stats_nonzero(v))
            continue;
        if (!first)
            put(o, ", ", 2);
        first = false;
        text_put_str(o, n + glen + 1);
        put_ch(o, ' ');
        put_stats_value(o, v);
    }
    if (first)
        put_ch(o, '-');
    put_ch(o, '\n');
}

/* Whether a limit has something to say: used, peak, refused or evicted. */
static bool stats_limit_shown(const json_t *l)
{
    static const char *const m[] = {"used", "peak", "refused", "evicted"};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        const json_t *x = json_object_get(l, m[i]);
        if (x && stats_nonzero(x))
            return true;
    }
    return false;
}

/* The groups of the counters in order of first appearance (the part of
 * each name before its first dot); returns how many (at most max). */
static size_t stats_groups(const json_t *counters, const char **g, size_t *glen, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(counters); i++) {
        const char *name = json_string_value(json_object_get(json_array_get(counters, i), "name"));
        const char *dot = name ? strchr(name, '.') : NULL;
        size_t k;
        if (!dot)
            continue;
        for (k = 0; k < n; k++)
            if (glen[k] == (size_t)(dot - name) && strncmp(g[k], name, glen[k]) == 0)
                break;
        if (k == n && n < max) {
            g[n] = name;
            glen[n++] = (size_t)(dot - name);
        }
    }
    return n;
}

/* The end-of-run counters as a short table, one aligned row per scalar,
 * per group of counters (the part of the name before the dot) with those
 * that are not zero ("-" when all are), and per limit that was used:
 *   ### stats
 *                   |   frames             123
 *                   |   reassembly         segments 119, fin_seen 8
 *                   |   imap.memory        limit 134217728, peak 34745
 *                   |   end_reason         end_of_input
 * The JSON "stats" event has every counter. */
void text_stats(output *o, const out_flow *flow, const json_t *body)
{
    const char *k, *g[64];
    size_t glen[64], ng = 0, width = 0;
    const json_t *counters, *limits;
    json_t *v;

    put(o, "### ", 4);
    text_put_flow_word(o, flow);
    put(o, "stats\n", 6);
    if (!json_is_object(body))
        return;
    counters = json_object_get(body, "counters");
    limits = json_object_get(body, "limits");
    ng = stats_groups(counters, g, glen, sizeof g / sizeof g[0]);
    json_object_foreach((json_t *)body, k, v) {
        if (v != counters && v != limits)
            width = stats_key_width(strlen(k), width);
    }
    for (size_t i = 0; i < ng; i++)
        width = stats_key_width(glen[i], width);
    for (size_t i = 0; i < json_array_size(limits); i++) {
        const json_t *l = json_array_get(limits, i);
        const char *n = json_string_value(json_object_get(l, "name"));
        if (n && stats_limit_shown(l))
            width = stats_key_width(strlen(n), width);
    }
    if (width > 32)
        width = 32;
    json_object_foreach((json_t *)body, k, v) {
        if (o->overflow)
            return;
        if (v == counters) {
            for (size_t i = 0; i < ng && !o->overflow; i++)
                stats_group_row(o, counters, g[i], glen[i], width);
            continue;
        }
        if (v == limits) {
            for (size_t i = 0; i < json_array_size(limits) && !o->overflow; i++) {
                const json_t *l = json_array_get(limits, i);
                const char *n = json_string_value(json_object_get(l, "name")), *m;
                json_t *x;
                bool first = true;
                if (!n || !stats_limit_shown(l))
                    continue;
                put_str(o, TEXT_INDENT "  ");
                text_put_str(o, n);
                for (size_t j = strlen(n); j < width + 2; j++)
                    put_ch(o, ' ');
                json_object_foreach((json_t *)l, m, x) {
                    if (strcmp(m, "name") == 0 || (strcmp(m, "limit") != 0 && !stats_nonzero(x)))
                        continue;
                    if (!first)
                        put(o, ", ", 2);
                    first = false;
                    text_put_str(o, m);
                    put_ch(o, ' ');
                    put_stats_value(o, x);
                }
                put_ch(o, '\n');
            }
            continue;
        }
        size_t kl = strlen(k);
        put_str(o, TEXT_INDENT "  ");
        text_put_str(o, k);
        for (size_t i = kl; i < width + 2; i++)
            put_ch(o, ' ');
        if (!json_is_object(v)) {
            put_stats_value(o, v);
        } else {
            const char *k2;
            json_t *v2;
            bool first = true;
            json_object_foreach(v, k2, v2) {
                if (!stats_nonzero(v2))
                    continue;
                if (!first)
                    put(o, ", ", 2);
                first = false;
                text_put_str(o, k2);
                put_ch(o, ' ');
                put_stats_value(o, v2);
            }
            if (first)
                put_ch(o, '-');
        }
        put_ch(o, '\n');
    }
}

/* A list of strings as "a, b, c" ("-" when empty). */
static void put_str_list(output *o, const json_t *a)
{
    size_t n = json_array_size(a);
    if (n == 0)
        put_ch(o, '-');
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (i)
            put(o, ", ", 2);
        text_put_str(o, s ? s : "?");
    }
}

/*
 * imap_user (src/detect.h), in the verbose trace only: the per-user table
 * at the end of the run, one row per user, ordered by name:
 *   HH:MM:SS.ffffff @@@ user alice           logins 2 ok 1 failed (tls 0, clear 2) LOGIN from 127.0.0.1
 *                   |   fetched 6 msgs 5687 B, appended 2 msgs 648 B, deleted 2, expunged 2, moved 2, mailboxes deleted 2
 *                   |   mailboxes INBOX, Sent; clients id name=...
 */
void text_user(output *o, const json_t *b)
{
    static const struct { const char *key, *label; } nums[] = {
        {"messages_fetched", "fetched "}, {"bytes_fetched", " msgs "},
        {"messages_appended", " B, appended "}, {"bytes_appended", " msgs "},
        {"messages_flagged_deleted", " B, deleted "}, {"messages_expunged", ", expunged "},
        {"messages_moved", ", moved "}, {"mailboxes_deleted", ", mailboxes deleted "}};
    const char *user = text_obj_str(b, "user");
    int64_t v;
    size_t ul = user ? strlen(user) : 1;

    put(o, "@@@ user ", 9);
    text_put_str(o, user ? user : "?");
    for (size_t i = ul; i < 16; i++)
        put_ch(o, ' ');
    put(o, " logins ", 8);
    int64_t ok = text_obj_int(b, "logins_ok", &v) ? v : 0, clear = text_obj_int(b, "cleartext", &v) ? v : 0;
    put_i64(o, ok);
    put(o, " ok ", 4);
    put_i64(o, text_obj_int(b, "logins_failed", &v) ? v : 0);
    put(o, " failed (tls ", 13);
    put_i64(o, ok - clear); /* imap_user has no "tls": the successes not in clear */
    put(o, ", clear ", 8);
    put_i64(o, clear);
    put(o, ") ", 2);
    put_str_list(o, json_object_get(b, "mechanisms"));
    put(o, " from ", 6);
    put_str_list(o, json_object_get(b, "sources"));
    put_ch(o, '\n');
    put_str(o, TEXT_INDENT "  ");
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        put_str(o, nums[i].label);
        put_i64(o, text_obj_int(b, nums[i].key, &v) ? v : 0);
    }
    put_ch(o, '\n');
    put_str(o, TEXT_INDENT "  mailboxes ");
    put_str_list(o, json_object_get(b, "mailboxes"));
    put(o, "; clients ", 10);
    put_str_list(o, json_object_get(b, "clients"));
    if (json_is_true(json_object_get(b, "truncated")))
        put(o, " (lists capped)", 15);
    put_ch(o, '\n');
}
