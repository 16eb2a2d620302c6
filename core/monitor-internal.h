/* SPDX-License-Identifier: MIT */
/* Shared by the monitor's files only, never by its users: monitor.c (the pinned
 * set), monitor-load.c (loading, probing and choosing the programs) and
 * monitor-pmu.c (the PMU tier's events and their holder process). */
#pragma once

#include <linux/perf_event.h>
#include <stdbool.h>
#include <stddef.h>

#include "../bpf/locality.h"
#include "log.h"
#include "topology.h"

/* The pinned maps user space opens, in this order; `watched` is pinned last, so
 * a set with it is complete. */
#define NP_MONITOR_N_MAPS 6
extern const char *const np_monitor_map_names[NP_MONITOR_N_MAPS];

/* The max_entries of the map `fd`. */
int np_monitor_map_max_entries(int fd, unsigned int *ret_entries);

/* monitor-load.c: loads this build's programs, attaches them and pins links and
 * maps in `dir` (`watched` last); says which flavour each signal got in `attach`
 * ("sched_switch=tp_btf mm_page_alloc=tracepoint ..."). The CPU table comes from
 * `topology`, the memory-block table from `sysfs_root`. A failure leaves nothing
 * pinned. */
int np_monitor_load(const char *sysfs_root, const char *dir, const struct np_topology *topology, unsigned int slots,
                    char *attach, size_t attach_size, struct np_diag *diag);

/* The id of the cgroup hierarchy the programs key on, from the text of
 * /proc/self/cgroup ("<id>:<controllers>:<path>" lines, cut up in place): the v2
 * one (no controllers listed) or the v1 one that lists cpuset. -1 when there is
 * none: the programs then never take a removed cgroup's key themselves. */
int np_monitor_key_hierarchy(char *text, bool v1);

/* monitor-pmu.c: the two events of the PMU tier (local and remote DRAM fills). */
struct np_monitor_pmu_events {
        struct perf_event_attr local;
        struct perf_event_attr remote;
};

/* Whether this CPU's DRAM fill events open here; `info` says which events, or
 * why not, either way. */
bool np_monitor_pmu_probe(struct np_monitor_pmu_events *events, struct np_bpf_pmu_info *info);
/* Starts the detached process that opens `events` on each of `n_cpus` CPUs, puts
 * them in the perf event array `events_fd` and holds them until the pinned set
 * in `dir` is removed. */
int np_monitor_pmu_start_holder(const char *dir, int events_fd, const struct np_monitor_pmu_events *events,
                                unsigned int n_cpus);
