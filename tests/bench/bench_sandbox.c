// SPDX-License-Identifier: MIT
/* What the hook's seccomp filter costs it: the time np_sandbox_apply() takes
 * in a fresh process (as in the hook, once per run), and the time of a loop of
 * the calls a hook makes most (openat, fstat, read, close of a small file)
 * before and after the filter is in force, per call. Each sample is a child of
 * its own, forked from this process, as a runtime forks each hook.
 * Prints: install-median-us per-call-overhead-ns
 * usage: bench_sandbox RUNS FILE */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../core/sandbox.h"

#define CALL_ROUNDS 2000

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

/* In a child: [0] the install time, [1] a round of calls before, [2] after. */
static int sample(const char *file, double ret[3])
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
                if (np_sandbox_apply(NP_SANDBOX_HOOK, false, &diag) < 0) {
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
        double *install, *overhead;
        int runs;

        if (argc != 3 || (runs = atoi(argv[1])) <= 0 || runs > 100000) {
                fprintf(stderr, "usage: bench_sandbox RUNS FILE\n");
                return 2;
        }
        install = calloc((size_t)runs, sizeof(*install));
        overhead = calloc((size_t)runs, sizeof(*overhead));
        if (!install || !overhead)
                return 1;
        for (int i = 0; i < runs; i++) {
                double s[3];

                if (sample(argv[2], s) < 0)
                        return 1;
                install[i] = s[0];
                overhead[i] = (s[2] - s[1]) * 1000 / 4; /* four calls a round, in ns */
        }
        qsort(install, (size_t)runs, sizeof(*install), compare_double);
        qsort(overhead, (size_t)runs, sizeof(*overhead), compare_double);
        printf("%.1f %.1f\n", install[runs / 2], overhead[runs / 2]);
        free(install);
        free(overhead);
        return 0;
}
