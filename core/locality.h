/* SPDX-License-Identifier: MIT */
/* A container's NUMA locality as numapinctl stats reports it: the monitor's
 * counters, the cgroup's memory.numa_stat, and the PMU tier's state, as JSON; and
 * the store of exited containers' final figures (<state dir>/exited/<id>.json). */
#pragma once

#include <stdint.h>

#include <json-c/json.h>

#include "ledger.h"
#include "monitor.h"

#define NP_EXITED_DIR  "exited"
#define NP_EXITED_KEEP 1024 /* exited containers kept, the oldest go first */

/* Resident bytes per node of the container: v2 `cgroup_dir`/memory.numa_stat
 * (anon + file), else on v1 the memory cgroup of `pid` (its `total=` line).
 * -ENOENT when the cgroup or its numa_stat is gone. */
int np_locality_resident(const char *cgroup_dir, int pid, uint64_t resident[NP_BPF_MAX_NODES]);

/* Why the PMU tier of the pinned set counts nothing, in `buf`; NULL when it
 * counts (the figures are then in the counters). */
const char *np_locality_pmu_status(const struct np_monitor *monitor, char *buf, size_t size);

/* The stats object of one container: id, state, nodes[], local/remote shares,
 * pages_outside_allowed, migrations, numa_balancing_migrations, pmu, ...
 * `resident` may be NULL (unknown); `pmu` NULL gives the PMU counters, else "pmu" is
 * "unavailable" and `pmu` goes in "pmu_reason". */
int np_locality_to_json(const struct np_record *record, const char *state, const struct np_locality *locality,
                        const uint64_t *resident, const char *pmu, struct json_object **ret_object);

/* Keeps an exited container's stats object; prunes beyond NP_EXITED_KEEP. */
int np_exited_save(const char *state_dir, const char *id, struct json_object *object);
/* Every kept object, in an array (empty when there are none). */
int np_exited_load(const char *state_dir, struct np_diag *diag, struct json_object **ret_array);
/* Forgets one (a new container with the same id, or numapinctl release). */
void np_exited_remove(const char *state_dir, const char *id);
