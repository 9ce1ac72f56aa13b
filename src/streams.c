/*
 * streams.c - --streams-dir: the raw reassembled bytes of each connection
 * (contract in streams.h).
 */
#include "streams.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_ulong n_errors;

static void streams_error(const char *fmt, ...)
{
    unsigned long n = atomic_fetch_add(&n_errors, 1);
    if (n >= STREAMS_ERRORS_SHOWN)
        return;
    char msg[4200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "imapscope: --streams-dir: %s%s\n", msg,
            n + 1 == STREAMS_ERRORS_SHOWN ? " (further errors are only counted)" : "");
}

unsigned long streams_errors(void)
{
    return atomic_load(&n_errors);
}

int streams_dir_prepare(const char *dir, char *errbuf, size_t errlen)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(errbuf, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        snprintf(errbuf, errlen, "%s: %s", dir,
                 errno == ENOTDIR || errno == ELOOP ? "not a directory (or a symbolic link)" : strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = fstat(fd, &st);
    close(fd);
    if (rc != 0) {
        snprintf(errbuf, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (st.st_uid != geteuid()) {
        snprintf(errbuf, errlen, "%s is owned by uid %lu, not by the user writing it (uid %lu): refused, "
                 "it would hold passwords in clear", dir, (unsigned long)st.st_uid, (unsigned long)geteuid());
        return -1;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(errbuf, errlen, "%s is writable by group or others (mode %03o): refused, "
                 "it would hold passwords in clear", dir, (unsigned)(st.st_mode & 0777));
        return -1;
    }
    if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) != 0) {
        snprintf(errbuf, errlen, "%s: cannot write there: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

int streams_file_create(const char *dir, uint64_t id, const char *side)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%llu.%s", dir, (unsigned long long)id, side);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        streams_error("cannot create %s: %s%s", path, strerror(errno),
                      errno == EEXIST ? " (never overwritten: use an empty directory)" : "");
        return -1;
    }
    close(fd);
    return 0;
}

int streams_file_append(const char *dir, uint64_t id, const char *side, const uint8_t *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%llu.%s", dir, (unsigned long long)id, side);
    int fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        streams_error("cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            streams_error("cannot write %s: %s", path, n < 0 ? strerror(errno) : "no progress");
            close(fd);
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    if (close(fd) != 0) {
        streams_error("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
