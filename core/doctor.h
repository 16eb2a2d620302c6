/* SPDX-License-Identifier: MIT */
/* `numapinctl doctor`: the node checked as a user would before trusting
 * numapin. Each check gathers facts (the NRI plugin's status, the hook's
 * drop-ins, kubelet's CPU and Memory managers, the cgroup layout, the BPF
 * monitor and its PMU tier, the ledger against the live cpusets) into one
 * line: a status, a name and a message that says what to do when something is
 * wrong. The front-end only prints them, as text or JSON. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "context.h"
#include "kubelet.h"
#include "nristatus.h"

/* Where podman and CRI-O look for OCI hook drop-ins. */
#define NP_DOCTOR_HOOKS_DIRS                                                                                           \
        {                                                                                                              \
                "/usr/share/containers/oci/hooks.d", "/etc/containers/oci/hooks.d", NULL                               \
        }
#define NP_DOCTOR_BTF_PATH "/sys/kernel/btf/vmlinux"

enum np_check_status {
        NP_CHECK_OK,
        NP_CHECK_WARNING, /* numapin works, but not as the user may think: the message says what to do */
        NP_CHECK_ERROR,   /* numapin cannot place containers here */
};

/* "ok", "warning", "error" */
const char *np_check_status_to_string(enum np_check_status status);

struct np_check {
        char name[16]; /* nri, hook, kubelet, cgroup, bpf, pmu, ledger */
        enum np_check_status status;
        char message[4096];
};

/* Where the checks look besides the context's roots and config; a NULL field
 * means the default. */
struct np_doctor_paths {
        const char *const *hooks_dirs; /* NULL-terminated; NULL: NP_DOCTOR_HOOKS_DIRS */
        const char *btf;               /* NULL: NP_DOCTOR_BTF_PATH */
};

struct np_doctor {
        size_t n_checks;
        struct np_check *checks; /* nri, hook, kubelet, cgroup, bpf, pmu, then one or more ledger lines */
        bool nri_found;          /* the plugin's status file was read */
        struct np_nri_status nri;
        bool nri_running;  /* its pid lives */
        bool kubelet_read; /* kubelet's state read (a missing file is read as not found) */
        struct np_kubelet kubelet;
};

/* Runs every check. Reads only: the state dir, kubelet's root, the hooks.d
 * folders, bpffs and the cgroup tree are looked at, never changed. Returns 0
 * with the checks (whatever their statuses), or -ENOMEM. */
int np_doctor_run(struct np_context *context, const struct np_doctor_paths *paths, struct np_doctor *ret_doctor);
void np_doctor_clear(struct np_doctor *doctor);

/* The worst status among the checks: NP_CHECK_ERROR makes `numapinctl doctor` exit 1. */
enum np_check_status np_doctor_worst(const struct np_doctor *doctor);
