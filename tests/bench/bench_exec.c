// SPDX-License-Identifier: MIT
/* Times one command run many times with a file on its stdin, as a runtime runs
 * a hook: fork, exec, wait. Prints the median and p99 wall time in
 * microseconds, then the median page faults (minor and major) and CPU time (user
 * and system, microseconds) of a timed run, as wait4(2) reports them for the
 * child: where the time goes. After each timed run an optional second command
 * runs, untimed, with the same stdin (a poststop hook that undoes what
 * createRuntime did).
 * usage: bench_exec RUNS STDIN-FILE -- COMMAND [ARGS...] [--then COMMAND [ARGS...]] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Runs argv with stdin from `input`; returns its wait status or -1, and what
 * it used in `ret_usage`. */
static int run(char **argv, const char *input, struct rusage *ret_usage)
{
        int status;
        pid_t pid = fork();

        if (pid == 0) {
                int fd = open(input, O_RDONLY | O_CLOEXEC);
                if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
                        _exit(127);
                execv(argv[0], argv);
                _exit(127);
        }
        if (pid < 0 || wait4(pid, &status, 0, ret_usage) < 0)
                return -1;
        return status;
}

static int compare_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static double median(double *values, int n)
{
        qsort(values, (size_t)n, sizeof(*values), compare_double);
        return values[n / 2];
}

static double usage_us(const struct timeval *tv)
{
        return (double)tv->tv_sec * 1e6 + (double)tv->tv_usec;
}

int main(int argc, char **argv)
{
        double *samples, *faults, *cpu;
        char **then = NULL;
        int runs;

        if (argc < 5 || argv[3][0] != '-' || argv[3][1] != '-') {
                fprintf(stderr, "usage: bench_exec RUNS STDIN-FILE -- COMMAND [ARGS...]\n");
                return 2;
        }
        runs = atoi(argv[1]);
        if (runs <= 0 || runs > 1000000)
                return 2;
        for (int i = 5; i < argc; i++)
                if (strcmp(argv[i], "--then") == 0 && i + 1 < argc) {
                        argv[i] = NULL;
                        then = argv + i + 1;
                        break;
                }
        samples = calloc((size_t)runs, sizeof(*samples));
        faults = calloc((size_t)runs, sizeof(*faults));
        cpu = calloc((size_t)runs, sizeof(*cpu));
        if (!samples || !faults || !cpu)
                return 1;
        for (int i = 0; i < runs; i++) {
                struct timespec start, end;
                struct rusage usage, then_usage;
                int status;

                clock_gettime(CLOCK_MONOTONIC, &start);
                status = run(argv + 4, argv[2], &usage);
                clock_gettime(CLOCK_MONOTONIC, &end);
                if (status == 0 && then)
                        status = run(then, argv[2], &then_usage);
                if (status != 0) {
                        fprintf(stderr, "bench_exec: %s failed (status %d) on run %d\n", argv[4], status, i);
                        return 1;
                }
                samples[i] = (double)(end.tv_sec - start.tv_sec) * 1e6 + (double)(end.tv_nsec - start.tv_nsec) / 1e3;
                faults[i] = (double)(usage.ru_minflt + usage.ru_majflt);
                cpu[i] = usage_us(&usage.ru_utime) + usage_us(&usage.ru_stime);
        }
        qsort(samples, (size_t)runs, sizeof(*samples), compare_double);
        printf("%.1f %.1f %.0f %.0f\n", samples[runs / 2], samples[(size_t)((runs - 1) * 0.99)], median(faults, runs),
               median(cpu, runs));
        free(samples);
        free(faults);
        free(cpu);
        return 0;
}
