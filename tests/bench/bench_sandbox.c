// SPDX-License-Identifier: MIT
/* What the hook's seccomp filter costs it: the time np_sandbox_apply() takes
 * in a fresh process (as in the hook, once per run), and the time of a loop of
 * the calls a hook makes most (openat, fstat, read, close of a small file)
 * before and after the filter is in force, per call; beside them, in interleaved
 * children, the install of libseccomp's own program for the same tables (what
 * np_sandbox_apply() installed before core/sandbox-compact.c rewrote it). Each
 * sample is a child of its own, forked from this process, as a runtime forks
 * each hook.
 * Prints: install-median-us per-call-overhead-ns libseccomp-install-median-us
 * usage: bench_sandbox RUNS FILE */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../core/sandbox.h"

/* 800 calls before the install, some 1 ms: a hook installs its filter about
 * 100 us into its run. After 8000 (10 ms) the install took up to twice as
 * long in some runs of this machine, a state no hook is in; the per-call
 * figure is the same with either. */
#define CALL_ROUNDS 200

static double now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* A hook's usual calls on `file`, CALL_ROUNDS times; microseconds per round. */
static double calls(const char *file)
{
        char buf[256];
        struct stat st;
        double start = now_us();

        for (int i = 0; i < CALL_ROUNDS; i++) {
                int fd = open(file, O_RDONLY | O_CLOEXEC);

                if (fd < 0 || fstat(fd, &st) < 0 || read(fd, buf, sizeof(buf)) < 0)
                        _exit(1);
                close(fd);
        }
        return (now_us() - start) / CALL_ROUNDS;
}

static struct sock_filter libseccomps[4096];
static size_t libseccomps_len;

/* libseccomp's program, installed as np_sandbox_apply() installs the compiled one */
static int apply_libseccomps(void)
{
        struct sock_fprog prog = { .len = (unsigned short)libseccomps_len, .filter = libseccomps };

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG,
                       &prog) == 0
                       ? 0
                       : -errno;
}

/* In a child: [0] the install time, [1] a round of calls before, [2] after;
 * with `libseccomp`, of libseccomp's program. */
static int sample(const char *file, bool libseccomp, double ret[3])
{
        int pipe_fd[2], status;
        pid_t pid;

        if (pipe(pipe_fd) < 0)
                return -1;
        pid = fork();
        if (pid == 0) {
                struct np_diag diag = {};
                double out[3], start;

                out[1] = calls(file);
                start = now_us();
                if (libseccomp ? apply_libseccomps() < 0 : np_sandbox_apply(NP_SANDBOX_HOOK, false, &diag) < 0) {
                        fprintf(stderr, "%s\n", diag.message);
                        _exit(1);
                }
                out[0] = now_us() - start;
                out[2] = calls(file);
                _exit(write(pipe_fd[1], out, sizeof(out)) == sizeof(out) ? 0 : 1);
        }
        close(pipe_fd[1]);
        if (pid < 0 || read(pipe_fd[0], ret, 3 * sizeof(double)) != 3 * sizeof(double)) {
                close(pipe_fd[0]);
                return -1;
        }
        close(pipe_fd[0]);
        return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int compare_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
        double *install, *overhead, *baseline;
        int runs, fd;
        ssize_t n;

        if (argc != 3 || (runs = atoi(argv[1])) <= 0 || runs > 100000) {
                fprintf(stderr, "usage: bench_sandbox RUNS FILE\n");
                return 2;
        }
        fd = memfd_create("sandbox", MFD_CLOEXEC);
        if (fd < 0 || np_sandbox_export_bpf(NP_SANDBOX_HOOK, false, fd, NULL) < 0 ||
            (n = pread(fd, libseccomps, sizeof(libseccomps), 0)) <= 0 || (size_t)n == sizeof(libseccomps)) {
                fprintf(stderr, "bench_sandbox: cannot export libseccomp's program\n");
                return 1;
        }
        close(fd);
        libseccomps_len = (size_t)n / sizeof(libseccomps[0]);
        install = calloc((size_t)runs, sizeof(*install));
        overhead = calloc((size_t)runs, sizeof(*overhead));
        baseline = calloc((size_t)runs, sizeof(*baseline));
        if (!install || !overhead || !baseline)
                return 1;
        for (int i = 0; i < runs; i++) {
                double s[3], b[3];

                if (sample(argv[2], false, s) < 0 || sample(argv[2], true, b) < 0)
                        return 1;
                install[i] = s[0];
                overhead[i] = (s[2] - s[1]) * 1000 / 4; /* four calls a round, in ns */
                baseline[i] = b[0];
        }
        qsort(install, (size_t)runs, sizeof(*install), compare_double);
        qsort(overhead, (size_t)runs, sizeof(*overhead), compare_double);
        qsort(baseline, (size_t)runs, sizeof(*baseline), compare_double);
        printf("%.1f %.1f %.1f\n", install[runs / 2], overhead[runs / 2], baseline[runs / 2]);
        free(install);
        free(overhead);
        free(baseline);
        return 0;
}
