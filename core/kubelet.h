/* SPDX-License-Identifier: MIT */
/* kubelet's CPU and Memory managers as their state files tell them:
 * <root>/cpu_manager_state (the policy, the shared pool and the CPUs assigned
 * to each container of each pod) and <root>/memory_manager_state (the policy).
 * kubelet writes them, not numapin: every field read is validated, and a file
 * that is not a regular file or is larger than NP_KUBELET_STATE_LIMIT is
 * refused without blocking. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cpulist.h"
#include "log.h"
#include "macro.h"

#define NP_KUBELET_CPU_STATE    "cpu_manager_state"
#define NP_KUBELET_MEMORY_STATE "memory_manager_state"
#define NP_KUBELET_STATE_LIMIT  (1024 * 1024)
/* entries of cpu_manager_state kept at most: far beyond a node's containers */
#define NP_KUBELET_ASSIGNMENTS_MAX 16384

struct np_kubelet_assignment {
        char pod_uid[128];
        char container[64];
        struct np_cpulist cpus;
};

struct np_kubelet {
        bool cpu_state_found;            /* <root>/cpu_manager_state exists */
        char cpu_policy[32];             /* "none", "static", ...; "" when not found */
        struct np_cpulist default_cpus;  /* defaultCpuSet: kubelet's shared pool */
        struct np_cpulist assigned_cpus; /* the union of every entry's CPUs */
        size_t n_assignments;
        struct np_kubelet_assignment *assignments;
        bool memory_state_found; /* <root>/memory_manager_state */
        char memory_policy[32];  /* "None", "Static", ...; "" when not found */
};

/* Reads both files below `root_dir`. A missing file (or a missing root) is not
 * an error: its *_found stays false. A malformed one is -EINVAL with `diag`
 * naming the file and the field; one that is not a regular file is -EINVAL,
 * one beyond the limit -EFBIG, one that cannot be read -errno, each named. */
int np_kubelet_load(const char *root_dir, struct np_diag *diag, struct np_kubelet *ret_kubelet);
void np_kubelet_clear(struct np_kubelet *kubelet);

/* The CPUs kubelet assigned to container `name` of the pod `pod_uid`, NULL when none. */
const struct np_cpulist *np_kubelet_assigned(const struct np_kubelet *kubelet, const char *pod_uid, const char *name);
