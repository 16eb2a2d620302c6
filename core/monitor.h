/* SPDX-License-Identifier: MIT */
/* The eBPF locality monitor, user space side: loads bpf/locality.bpf.c once per
 * node and pins it on bpffs, watches and unwatches containers (a cgroup id and a
 * slot), and reads their counters. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>

#include "../bpf/locality.h"
#include "cpulist.h"
#include "log.h"
#include "macro.h"
#include "topology.h"

/* Which tracepoint flavour to load: tp_btf where the kernel has it, else the
 * classic tracepoint. $NUMAPIN_BPF_ATTACH (auto, btf or classic) overrides it. */
enum np_monitor_attach {
        NP_MONITOR_ATTACH_AUTO,
        NP_MONITOR_ATTACH_BTF,
        NP_MONITOR_ATTACH_CLASSIC,
};

/* The room for the flavours a load attached, as text ("<tracepoint>=<flavour> ..."). */
#define NP_MONITOR_ATTACH_TEXT 256

struct np_monitor {
        char dir[PATH_MAX]; /* <pin root>/<object hash> */
        int watched_fd;
        int slot_stats_fd;
        int cpu_node_fd;
        int block_node_fd;
        int pmu_info_fd;
        int index_fd;
        /* another build's set, laid out otherwise: its containers can be counted
         * and unwatched (np_monitor_count, np_monitor_unwatch), nothing else
         * (-EPROTO); np_monitor_open never gives one */
        bool foreign;
        unsigned int slots;                  /* containers it can watch */
        unsigned int index_size;             /* entries of watch_index, a power of two (0: none, an older set) */
        size_t index_entry_size;             /* the size of one */
        unsigned int node_stride;            /* node ids in a slot_stats value, 1 to NP_BPF_MAX_NODES */
        size_t stats_size;                   /* the size of a slot_stats value: NP_BPF_SLOT_STATS_SIZE(node_stride) */
        unsigned int n_cpus;                 /* possible CPUs: per-CPU values come in this many */
        char attach[NP_MONITOR_ATTACH_TEXT]; /* e.g. "sched_switch=tp_btf mm_page_alloc=tracepoint ..." */
};

/* The counters of one container, summed over the CPUs. */
struct np_locality {
        unsigned int node_stride;
        struct np_bpf_node_counters nodes[NP_BPF_MAX_NODES];
        struct np_bpf_slot_counters counters;
};

/* The pin directory of this build's BPF object: `pin_root`/<16 hex digits of its hash>. */
int np_monitor_dir(const char *pin_root, char *buf, size_t size);

/* Opens this build's pinned set under `pin_root`, loading, attaching and pinning
 * it first when it is not there (`load`; needs root). Mounts bpffs on the parent
 * of `pin_root` if it is not bpffs yet. Without `load`, a missing set is -ENOENT.
 * A load fills the CPU -> node table from `topology` and the memory block -> node
 * table from <sysfs_root>/devices/system/{memory,node} (NULL: the default root of
 * np_topology_default_root()); both should describe the running kernel. */
int np_monitor_open(const char *sysfs_root, const char *pin_root, const struct np_topology *topology,
                    unsigned int slots, bool load, struct np_diag *diag, struct np_monitor **ret_monitor);
/* np_monitor_open() of only what np_monitor_watch(), np_monitor_unwatch() and
 * np_monitor_sweep() take: the index and the counters; the overflow hash as a
 * collision needs it. Readers (np_monitor_read, np_monitor_snapshot,
 * np_monitor_count, np_monitor_lookup) refuse it: -EBADF. A hook attaching a
 * container opens two maps, not six, and does not read cpu/possible. */
int np_monitor_open_to_watch(const char *sysfs_root, const char *pin_root, const struct np_topology *topology,
                             unsigned int slots, struct np_diag *diag, struct np_monitor **ret_monitor);
/* Opens a pinned set by its directory (a record's), without loading: this
 * build's, or another build's as a `foreign` one. */
int np_monitor_open_dir(const char *dir, struct np_diag *diag, struct np_monitor **ret_monitor);
void np_monitor_close(struct np_monitor *monitor); /* NULL is nothing to close */
DEFINE_TRIVIAL_CLEANUP_FUNC(struct np_monitor *, np_monitor_close);
#define _cleanup_monitor_ _cleanup_(np_monitor_closep)

/* Starts counting the cgroup `cgroup_id` in `slot` (zeroed first), its memory
 * allowed on `mems`. -ENOSPC when its index entry is taken and the overflow map
 * (`slots` entries) is full. */
int np_monitor_watch(struct np_monitor *monitor, uint64_t cgroup_id, uint32_t slot, const struct np_cpulist *mems,
                     struct np_diag *diag);
/* The slot a cgroup id is watched in; -ENOENT when it is not watched. */
int np_monitor_lookup(const struct np_monitor *monitor, uint64_t cgroup_id, uint32_t *ret_slot);
/* Stops counting it. A cgroup id that is not watched is not an error. */
int np_monitor_unwatch(struct np_monitor *monitor, uint64_t cgroup_id);
/* Unwatches every cgroup whose slot is not in `live` (records that are gone). */
int np_monitor_sweep(struct np_monitor *monitor, const bool *live, unsigned int n_live);
/* Sums a slot's per-CPU counters. */
int np_monitor_read(const struct np_monitor *monitor, uint32_t slot, struct np_locality *ret_locality);
/* The counters of many slots, summed over the CPUs, read at once: a scrape
 * makes a batch lookup for each run of consecutive slots (BATCH slots each)
 * instead of a lookup a container. Slots not asked for read as zero. */
struct np_monitor_snapshot {
        unsigned int first, slots;             /* the slots it holds: first to first + slots - 1 */
        unsigned int node_stride;              /* as in struct np_locality, at most NP_BPF_MAX_NODES */
        struct np_bpf_node_counters *nodes;    /* [(slot - first) * node_stride + node] */
        struct np_bpf_slot_counters *counters; /* [slot - first] */
};
/* -EOPNOTSUPP where the kernel has no batch lookups (before 5.6): read slot by slot. */
int np_monitor_snapshot(const struct np_monitor *monitor, const uint32_t *slots, size_t n_slots,
                        struct np_monitor_snapshot *ret_snapshot);
void np_monitor_snapshot_clear(struct np_monitor_snapshot *snapshot);
/* One slot's counters from a snapshot, as np_monitor_read() gives them. */
void np_monitor_snapshot_slot(const struct np_monitor_snapshot *snapshot, uint32_t slot,
                              struct np_locality *ret_locality);

/* How many cgroups are watched. */
int np_monitor_count(const struct np_monitor *monitor, unsigned int *ret_count);
/* Detaches and unpins a whole set (an older build's, once nothing uses it). */
int np_monitor_remove(const char *dir);
/* Unpins the sets under `pin_root` that other builds loaded before this build's,
 * that watch no container any more (their keys go as their cgroups are removed,
 * also where a release never came) and that `in_use` (if not NULL) does not say
 * records still name; under the lock loaders take. A newer build's set stays: it
 * may not watch its first container yet. Nothing when this build's set is not
 * loaded, and only a directory read when it is the only one. */
int np_monitor_retire(const char *pin_root, bool (*in_use)(const char *dir, void *userdata), void *userdata);
/* What np_monitor_each_other_set() gives for a set whose load or removal was cut short. */
#define NP_SET_CUT_SHORT INT_MIN
/* Calls `each` with every other build's set under `pin_root` and how many
 * containers it watches (NP_SET_CUT_SHORT for a set whose load or removal was cut
 * short, -errno when it cannot be counted). */
void np_monitor_each_other_set(const char *pin_root, void (*each)(const char *dir, int watched, void *userdata),
                               void *userdata);

/* Whether the monitor can count here, in two questions a caller asks once each:
 * whether `sysfs_root` (NULL: "/sys") is a sysfs mount, and whether `cgroup_dir`
 * is a directory of a kernel cgroup hierarchy (cgroup2 or v1). A container's
 * cgroup directory, not the root of the hierarchy: on a v1 host /sys/fs/cgroup
 * itself is a tmpfs. A fixture tree (tests) is neither: -EOPNOTSUPP, with `diag`
 * naming the path; -errno when a path cannot be examined. Front-ends ask these
 * instead of comparing their roots with "/sys". */
int np_monitor_sysfs_supported(const char *sysfs_root, struct np_diag *diag);
int np_monitor_cgroup_supported(const char *cgroup_dir, struct np_diag *diag);

/* The cgroup id the BPF programs see for the cgroup directory `path`. */
int np_monitor_cgroup_id(const char *path, uint64_t *ret_id);

/* Whether the PMU tier counts in this set, and with which events or why not. */
int np_monitor_pmu(const struct np_monitor *monitor, struct np_bpf_pmu_info *ret_info);
