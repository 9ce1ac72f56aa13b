/*
 * extract.c - --extract-dir (contract in extract.h).
 */
#include "extract.h"
#include "streams.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define EXTRACT_MAX_TYPES   64
#define EXTRACT_TYPE_MAX    128
#define EXTRACT_ERRORS_SHOWN 5

struct extract {
    char        *dir;
    uint64_t     max_bytes, max_files;
    char         types[EXTRACT_MAX_TYPES][EXTRACT_TYPE_MAX]; /* lower case; "image/" for a top-level type */
    unsigned     n_types;
    atomic_ullong bytes, files, present, cap_reached;
    atomic_ulong errors;
    atomic_bool  cap_said;
};

extract *extract_new(const char *dir, uint64_t max_bytes, uint64_t max_files, const char *types, char *errbuf,
                     size_t errlen)
{
    extract *x = calloc(1, sizeof *x);
    if (!x || !(x->dir = strdup(dir))) {
        free(x);
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    x->max_bytes = max_bytes;
    x->max_files = max_files;
    const char *p = types;
    while (p && *p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n > 0 && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        const char *slash = memchr(p, '/', n);
        if (n == 0 || !slash || slash == p || slash == p + n - 1 || n >= EXTRACT_TYPE_MAX ||
            x->n_types == EXTRACT_MAX_TYPES) {
            snprintf(errbuf, errlen, "--extract-types: \"%.*s\" is not a MIME type (type/subtype or type/*)%s",
                     (int)(n < 100 ? n : 100), p, x->n_types == EXTRACT_MAX_TYPES ? " (too many types)" : "");
            extract_free(x);
            return NULL;
        }
        char *t = x->types[x->n_types++];
        for (size_t i = 0; i < n; i++)
            t[i] = (char)((p[i] >= 'A' && p[i] <= 'Z') ? p[i] + 32 : p[i]);
        t[n] = '\0';
        if (n >= 2 && strcmp(t + n - 2, "/*") == 0)
            t[n - 1] = '\0'; /* "image/" matches a prefix */
        p = e ? e + 1 : p + n;
    }
    return x;
}

int extract_prepare(extract *x, char *errbuf, size_t errlen)
{
    return streams_dir_prepare(x->dir, errbuf, errlen);
}

static bool type_matches(const char *want, const char *type)
{
    size_t wl = strlen(want);
    if (!type)
        return false;
    if (want[wl - 1] == '/')
        return strncasecmp(type, want, wl) == 0;
    return strcasecmp(type, want) == 0;
}

bool extract_wants(const extract *x, const char *magic, const char *declared)
{
    if (x->n_types == 0)
        return true;
    for (unsigned i = 0; i < x->n_types; i++)
        if (type_matches(x->types[i], magic) || type_matches(x->types[i], declared))
            return true;
    return false;
}

static void extract_error(extract *x, const char *path, const char *what)
{
    unsigned long n = atomic_fetch_add(&x->errors, 1);
    if (n < EXTRACT_ERRORS_SHOWN)
        fprintf(stderr, "imapscope: --extract-dir: %s %s: %s%s\n", what, path, strerror(errno),
                n + 1 == EXTRACT_ERRORS_SHOWN ? " (further errors are only counted)" : "");
}

/* Reserves room for one file of len bytes under the caps. */
static bool reserve(extract *x, size_t len)
{
    unsigned long long f = atomic_fetch_add(&x->files, 1);
    unsigned long long b = atomic_fetch_add(&x->bytes, (unsigned long long)len);
    if ((x->max_files && f + 1 > x->max_files) || (x->max_bytes && b + len > x->max_bytes)) {
        atomic_fetch_sub(&x->files, 1);
        atomic_fetch_sub(&x->bytes, (unsigned long long)len);
        atomic_fetch_add(&x->cap_reached, 1);
        if (!atomic_exchange(&x->cap_said, true))
            fprintf(stderr, "imapscope: --extract-dir %s: cap reached (%llu files, %llu bytes per run: "
                    "--extract-max-files, --extract-max-bytes): further files are counted, not written\n",
                    x->dir, (unsigned long long)x->max_files, (unsigned long long)x->max_bytes);
        return false;
    }
    return true;
}

static void unreserve(extract *x, size_t len)
{
    atomic_fetch_sub(&x->files, 1);
    atomic_fetch_sub(&x->bytes, (unsigned long long)len);
}

bool extract_store(extract *x, const char *sha256_hex, const char *suffix, const uint8_t *data, size_t len)
{
    char path[4200];

    if (!x || strlen(sha256_hex) != 64 || strspn(sha256_hex, "0123456789abcdef") != 64)
        return false;
    snprintf(path, sizeof path, "%s/%s%s", x->dir, sha256_hex, suffix);
    if (faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
        atomic_fetch_add(&x->present, 1);
        return true; /* the same bytes, written before */
    }
    if (!reserve(x, len))
        return false;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        unreserve(x, len);
        if (errno == EEXIST) {
            atomic_fetch_add(&x->present, 1);
            return true;
        }
        extract_error(x, path, "cannot create");
        return false;
    }
    const uint8_t *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            extract_error(x, path, "cannot write");
            close(fd);
            unlink(path);
            unreserve(x, len);
            return false;
        }
        p += n;
        left -= (size_t)n;
    }
    if (close(fd) != 0) {
        extract_error(x, path, "cannot write");
        unlink(path);
        unreserve(x, len);
        return false;
    }
    return true;
}

json_t *extract_stats_json(const extract *x)
{
    json_t *o = json_object();
    json_object_set_new_nocheck(o, "files", json_integer((json_int_t)atomic_load(&x->files)));
    json_object_set_new_nocheck(o, "bytes", json_integer((json_int_t)atomic_load(&x->bytes)));
    json_object_set_new_nocheck(o, "already_present", json_integer((json_int_t)atomic_load(&x->present)));
    json_object_set_new_nocheck(o, "cap_reached", json_integer((json_int_t)atomic_load(&x->cap_reached)));
    json_object_set_new_nocheck(o, "errors", json_integer((json_int_t)atomic_load(&x->errors)));
    return o;
}

unsigned long extract_errors(const extract *x)
{
    return x ? atomic_load(&x->errors) : 0;
}

void extract_free(extract *x)
{
    if (!x)
        return;
    free(x->dir);
    free(x);
}
