/*
 * measure.c - runs one command and reports what it cost: wall time, user
 * and system CPU time, peak resident set size (wait4's rusage, so only the
 * child and the children it waited for are counted).
 *
 * Usage: measure OUTFILE PROGRAM [ARGS...]
 *   standard output of PROGRAM goes to OUTFILE (e.g. /dev/null); standard
 *   error is kept.  Prints one line on standard output:
 *     wall_s user_s sys_s maxrss_kib exit_status
 *   and exits 0 when the command ran (whatever its status), 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    struct rusage ru;
    double t0, t1;
    pid_t pid;
    int status;

    if (argc < 3) {
        fprintf(stderr, "usage: measure OUTFILE PROGRAM [ARGS...]\n");
        return 1;
    }
    t0 = now_s();
    pid = fork();
    if (pid < 0) {
        perror("measure: fork");
        return 1;
    }
    if (pid == 0) {
        int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, 1) < 0) {
            perror("measure: output");
            _exit(127);
        }
        close(fd);
        execvp(argv[2], argv + 2);
        fprintf(stderr, "measure: %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("measure: wait4");
        return 1;
    }
    t1 = now_s();
    printf("%.4f %.4f %.4f %ld %d\n", t1 - t0, tv_s(ru.ru_utime), tv_s(ru.ru_stime), ru.ru_maxrss,
           WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 0;
}
