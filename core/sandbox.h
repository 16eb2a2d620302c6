/* SPDX-License-Identifier: MIT */
/* The seccomp allow-list each numapin process installs once it has started
 * (config read, sockets bound, threads running): one table of system calls per
 * profile, libseccomp building the filter. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"

enum np_sandbox_profile {
        NP_SANDBOX_HOOK,     /* numapin-hook: one placement or release */
        NP_SANDBOX_NRI,      /* numapin-nri: the runtime's calls, and /metrics with --metrics-listen */
        NP_SANDBOX_EXPORTER, /* numapin-exporter: /metrics */
};

/* The errno a call outside the list fails with (the caller's own message then
 * names the failure; the kernel's audit log names the call). */
#define NP_SANDBOX_ERRNO EPERM

/* Installs the filter of `profile` on every thread of the process (and on the
 * children it forks, the monitor's numapin-pmu holder among them); `monitor`
 * adds the calls of the BPF locality monitor (bpf, perf_event_open, mount of
 * bpffs and tracefs, the holder's fork). Once in force it cannot be lifted. */
int np_sandbox_apply(enum np_sandbox_profile profile, bool monitor, struct np_diag *diag);

/* The filter as libseccomp's pseudo-filter code, without installing it. */
int np_sandbox_export(enum np_sandbox_profile profile, bool monitor, FILE *out, struct np_diag *diag);
/* The filter as libseccomp compiles it now (struct sock_filter[], written to `fd`). */
int np_sandbox_export_bpf(enum np_sandbox_profile profile, bool monitor, int fd, struct np_diag *diag);
/* The program np_sandbox_apply() installs, compiled at build time: libseccomp's
 * program, for the hook rewritten as a bitmap with the same verdicts. */
int np_sandbox_compiled(enum np_sandbox_profile profile, bool monitor, const void **ret_program, size_t *ret_size);

/* A call let through only when one argument has one value (kill's signal 0,
 * socket's AF_UNIX, ...); every other listed call goes through whatever its
 * arguments. */
struct np_sandbox_rule {
        int nr;           /* the call's number */
        unsigned int arg; /* 0-5 */
        uint64_t value;
};
#define NP_SANDBOX_RULES_MAX 8
/* The argument rules of `profile`'s filter; returns how many. */
size_t np_sandbox_rules(enum np_sandbox_profile profile, bool monitor,
                        struct np_sandbox_rule ret_rules[NP_SANDBOX_RULES_MAX]);

/* build/sandbox/sandbox-filters.h's entries (build-aux/sandbox-gen.c) */
struct np_sandbox_filter {
        enum np_sandbox_profile profile;
        bool monitor;
        const void *program; /* struct sock_filter[] */
        size_t size;         /* in bytes */
};

const char *np_sandbox_profile_to_string(enum np_sandbox_profile profile);
