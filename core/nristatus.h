/* SPDX-License-Identifier: MIT */
/* What the resident NRI plugin tells numapinctl: which runtime it talks to,
 * since when, its pid, and what it did that a user would otherwise not see
 * (runtime cpuset updates it answered with its own, placements it restored).
 * Kept in <state_dir>/nri-status.json, replaced atomically by the plugin and
 * read back, validated, by `numapinctl doctor`. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "log.h"

#define NP_NRI_STATUS_FILE  "nri-status.json"
#define NP_NRI_STATUS_LIMIT (64 * 1024)

struct np_nri_status {
        /* from the runtime's last Configure ("" nri_version: before v0.12) */
        char runtime_name[64], runtime_version[64], nri_version[32];
        int64_t configured_at;        /* seconds since the epoch */
        int pid;                      /* the plugin's */
        uint64_t updates_overridden;  /* runtime cpuset updates numapin answered with its own cpuset */
        uint64_t placements_restored; /* cpusets set back at Synchronize after they changed while the plugin was away */
        uint64_t containers_moved;    /* containers moved off exclusive CPUs at Synchronize */
        char kubelet_cpu_policy[32];  /* what the plugin found at Configure ("" when none) */
};

/* Writes `status` to <state_dir>/nri-status.json (the state dir is created
 * when missing) through a temporary file and rename(): a reader sees the old
 * or the new status, never a mix. */
int np_nri_status_save(const char *state_dir, const struct np_nri_status *status);
/* Reads it back: -ENOENT (no message) when there is none; -EINVAL with `diag`
 * naming the file and the field when a field is missing, of another type or
 * out of range, or when it is not a regular file; -EFBIG beyond
 * NP_NRI_STATUS_LIMIT. `ret_status` is written only on success. */
int np_nri_status_load(const char *state_dir, struct np_diag *diag, struct np_nri_status *ret_status);
