/* SPDX-License-Identifier: MIT */
/* A container's NUMA locality as numapinctl stats reports it: one typed struct
 * filled from the monitor's counters, memory.numa_stat and the PMU tier's state,
 * or read back (validated) from the store of exited containers' final figures
 * (<state dir>/exited/<id>.json); and its JSON form, made in one place. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "annotations.h"
#include "cpulist.h"
#include "ledger.h"
#include "log.h"
#include "monitor.h"

#define NP_EXITED_DIR  "exited"
#define NP_EXITED_KEEP 1024 /* exited containers kept, the oldest go first */

#define NP_LOCALITY_REASON_MAX 127

enum np_locality_state {
        NP_LOCALITY_RUNNING,
        NP_LOCALITY_EXITED,
};

/* What a container did on one node. */
struct np_locality_node_stats {
        unsigned int node;
        double cpu_seconds;       /* on the CPUs of this node */
        uint64_t pages_allocated; /* from this node */
        uint64_t pages_local;     /* ... by a task on a CPU of this node */
        uint64_t pages_remote;    /* ... by a task on another node's CPU */
        bool resident_known;      /* false: memory.numa_stat could not be read */
        uint64_t resident_bytes;
};

/* The PMU tier: DRAM fills counted by hardware events, or why there are none. */
struct np_locality_pmu {
        bool available;
        char reason[NP_LOCALITY_REASON_MAX + 1]; /* why not, when !available */
        uint64_t local;                          /* local DRAM fills, when available */
        uint64_t remote;                         /* remote DRAM fills, when available */
        bool share_known;                        /* false: no fill counted */
        double remote_percent;
};

/* One container's figures: what `numapinctl stats` shows, in text or JSON. */
struct np_locality_stats {
        char id[NP_ID_MAX + 1];
        struct np_names names; /* in Kubernetes, from its record */
        enum np_locality_state state;
        enum np_policy policy;
        /* its placement, for the labels of its metrics (an exited container's too);
         * unknown in files of older builds */
        bool placement_known;
        struct np_cpulist placed_nodes;
        struct np_cpulist cpus;
        bool exclusive;
        enum np_source source;
        struct np_cpulist allowed_nodes;
        unsigned int n_nodes;
        struct np_locality_node_stats nodes[NP_BPF_MAX_NODES];
        bool shares_known;     /* false: no page counted, so no shares */
        double local_percent;  /* of the pages allocated, to two decimals */
        double remote_percent; /* ... */
        uint64_t pages_outside_allowed;
        uint64_t pages_unknown_node;
        uint64_t migrations;
        uint64_t migrations_cross_node;
        uint64_t numa_balancing_migrations;
        struct np_locality_pmu pmu;
        int64_t exited_at; /* seconds since the epoch; 0 while it runs */
};

/* Several containers' figures, and why others are left out. */
struct np_locality_report {
        size_t n_stats;
        struct np_locality_stats *stats;
        size_t n_warnings;
        struct np_diag *warnings; /* one per container or file left out, naming it */
};

/* Resident bytes per node of the container: v2 `cgroup_dir`/memory.numa_stat
 * (anon + file), else on v1 the memory cgroup of `pid` (its `total=` line).
 * -ENOENT when the cgroup or its numa_stat is gone. */
int np_locality_resident(const char *cgroup_dir, int pid, uint64_t resident[NP_BPF_MAX_NODES]);

/* For a reader that comes back (the metrics endpoint, at every scrape): the
 * memory.numa_stat np_locality_resident() reads, opened once (a regular file,
 * else -EINVAL), and whether it is cgroup v1's (pages); then read again from its
 * start at each call, one pread(2) for a file of one read's size, as the kernel
 * writes the file anew at each read from offset 0. -ENOENT when there is none;
 * -EFBIG when it is larger than a numa_stat can be. */
int np_locality_numa_stat_open(const char *cgroup_dir, int pid, bool *ret_v1);
int np_locality_resident_fd(int fd, bool v1, uint64_t resident[NP_BPF_MAX_NODES]);

/* Why the PMU tier of the pinned set counts nothing, in `buf`; NULL when it
 * counts (the figures are then in the counters). */
const char *np_locality_pmu_reason(const struct np_monitor *monitor, char *buf, size_t size);

/* The figures of `record` from its monitor counters. `resident` may be NULL
 * (unknown); `pmu_reason` NULL: the PMU counters are live, else why not.
 * `exited_at` 0: it runs; else when it exited (seconds since the epoch). */
void np_locality_stats_fill(const struct np_record *record, const struct np_locality *counters,
                            const uint64_t *resident, const char *pmu_reason, int64_t exited_at,
                            struct np_locality_stats *ret_stats);

/* The JSON form: {id, state, policy, allowed_nodes, nodes: [{node, cpu_seconds,
 * pages_allocated, pages_local, pages_remote, resident_bytes}], cpu_seconds,
 * pages_allocated, local_percent, remote_percent, pages_outside_allowed,
 * pages_unknown_node, migrations, migrations_cross_node, numa_balancing_migrations,
 * pmu: {local, remote, remote_percent} or "unavailable" with pmu_reason, exited_at,
 * kubernetes: {namespace, pod, container}, placement: {nodes, cpus, cpu_mode, source}}.
 * Unknown figures are null; exited_at only once exited, kubernetes only when known;
 * placement is optional on reading (files of older builds). */
int np_locality_stats_to_json(const struct np_locality_stats *stats, struct json_object **ret_object);
/* Reads that form back, every field checked: -EINVAL (diag naming `what` and the
 * field) when one is missing or of another type. cpu_seconds and pages_allocated
 * of the whole container are sums, not read. */
int np_locality_stats_from_json(struct json_object *object, const char *what, struct np_diag *diag,
                                struct np_locality_stats *ret_stats);

/* What `numapinctl stats` shows, only `id` when it is not NULL: each record of
 * `ledger` the monitor watches, running, then the exited containers of
 * <state_dir>/exited/ the ledger no longer holds. One that cannot be read is left
 * out with a warning in the report. */
int np_locality_collect(const char *state_dir, const struct np_ledger *ledger, const char *id,
                        struct np_locality_report *ret_report);
/* {"containers": [the JSON form of each]} */
int np_locality_report_to_json(const struct np_locality_report *report, struct json_object **ret_object);
void np_locality_report_clear(struct np_locality_report *report);

/* Keeps an exited container's figures; prunes beyond NP_EXITED_KEEP. */
int np_exited_save(const char *state_dir, const struct np_locality_stats *stats);
/* Every kept container (an empty report when there are none); a file that is not
 * an exited container's figures is left out with a warning naming it and the field. */
int np_exited_load(const char *state_dir, struct np_locality_report *ret_report);
/* One kept file, <id>.json in `dir_fd` (<state dir>/exited): -EINVAL with diag
 * naming `what` and the field when it is not an exited container's figures
 * under its own name. */
int np_exited_read(int dir_fd, const char *name, const char *what, struct np_diag *diag,
                   struct np_locality_stats *ret_stats);
/* Forgets one (a new container with the same id, or numapinctl release). */
void np_exited_remove(const char *state_dir, const char *id);
