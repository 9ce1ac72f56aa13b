/*
 * stats_event.c - the body of the "stats" event (see stats_event.h).
 */
#include "stats_event.h"

#include <stdio.h>
#include <string.h>

/* The members of a limit, in the order they are written. */
static const char *const limit_members[] = {"limit", "used", "peak", "refused", "evicted"};

static void add_counter(json_t *counters, const char *group, const char *sub, const char *name, json_t *count)
{
    char full[160];
    json_t *c = json_object();

    if (sub)
        snprintf(full, sizeof full, "%s.%s.%s", group, sub, name);
    else
        snprintf(full, sizeof full, "%s.%s", group, name);
    json_object_set_new_nocheck(c, "name", json_string(full));
    json_object_set_new_nocheck(c, "count", json_integer(json_integer_value(count)));
    json_array_append_new(counters, c);
}

/* {name, limit, used, ...} from one working-form limit, members in order. */
static void add_limit(json_t *limits, const char *name, const json_t *l)
{
    json_t *o = json_object();

    json_object_set_new_nocheck(o, "name", json_string(name));
    for (size_t i = 0; i < sizeof limit_members / sizeof limit_members[0]; i++) {
        const json_t *v = json_object_get(l, limit_members[i]);
        if (json_is_integer(v))
            json_object_set_new_nocheck(o, limit_members[i], json_integer(json_integer_value(v)));
    }
    json_array_append_new(limits, o);
}

/* detect_stats(): alerts [{name, count}] -> counters "detect.alerts.NAME";
 * tables [{name, entries, capacity, evicted}] -> limits "detect.NAME". */
static void detect_group(json_t *counters, json_t *limits, const json_t *d)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)d, k, v) {
        if (json_is_integer(v)) {
            add_counter(counters, "detect", NULL, k, v);
        } else if (strcmp(k, "alerts") == 0 && json_is_array(v)) {
            for (size_t i = 0; i < json_array_size(v); i++) {
                const json_t *a = json_array_get(v, i);
                const char *n = json_string_value(json_object_get(a, "name"));
                if (n)
                    add_counter(counters, "detect", "alerts", n, json_object_get(a, "count"));
            }
        } else if (strcmp(k, "tables") == 0 && json_is_array(v)) {
            for (size_t i = 0; i < json_array_size(v); i++) {
                const json_t *t = json_array_get(v, i);
                const char *n = json_string_value(json_object_get(t, "name"));
                char full[96];
                if (!n)
                    continue;
                json_t *l = json_object();
                json_object_set(l, "limit", json_object_get(t, "capacity"));
                json_object_set(l, "used", json_object_get(t, "entries"));
                json_object_set(l, "evicted", json_object_get(t, "evicted"));
                snprintf(full, sizeof full, "detect.%s", n);
                add_limit(limits, full, l);
                json_decref(l);
            }
        }
    }
}

json_t *stats_event_body(json_t *raw)
{
    json_t *out = json_object(), *counters = json_array(), *limits = json_array();
    const char *k;
    json_t *v;

    if (!out || !counters || !limits) {
        json_decref(out);
        json_decref(counters);
        json_decref(limits);
        json_decref(raw);
        return NULL;
    }
    /* the scalars first, in their order (end_reason last) */
    json_object_foreach(raw, k, v) {
        if (!json_is_object(v) && !json_is_array(v) && strcmp(k, "end_reason") != 0)
            json_object_set(out, k, v);
    }
    json_object_foreach(raw, k, v) {
        if (!json_is_object(v) || strcmp(k, "capture") == 0)
            continue;
        if (strcmp(k, "limits") == 0) {
            const char *n;
            json_t *l;
            json_object_foreach(v, n, l)
                add_limit(limits, n, l);
        } else if (strcmp(k, "detect") == 0) {
            detect_group(counters, limits, v);
        } else {
            const char *c;
            json_t *x;
            json_object_foreach(v, c, x)
                if (json_is_integer(x))
                    add_counter(counters, k, NULL, c, x);
        }
    }
    if ((v = json_object_get(raw, "capture")))
        json_object_set(out, "capture", v);
    json_object_set_new_nocheck(out, "counters", counters);
    json_object_set_new_nocheck(out, "limits", limits);
    if ((v = json_object_get(raw, "end_reason")))
        json_object_set(out, "end_reason", v);
    if ((v = json_object_get(raw, "sinks")))
        json_object_set(out, "sinks", v);
    json_decref(raw);
    return out;
}

void stats_limit_set(json_t *raw, const char *name, const char *member, uint64_t v)
{
    json_t *ls = json_object_get(raw, "limits"), *l;

    if (!json_is_object(ls)) {
        ls = json_object();
        json_object_set_new(raw, "limits", ls);
    }
    l = json_object_get(ls, name);
    if (!json_is_object(l)) {
        l = json_object();
        json_object_set_new(ls, name, l);
    }
    json_object_set_new(l, member, json_integer((json_int_t)v));
}

void stats_limit_del(json_t *raw, const char *name)
{
    json_object_del(json_object_get(raw, "limits"), name);
}
