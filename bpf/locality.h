/* SPDX-License-Identifier: MIT */
/* What the locality monitor's BPF programs and numapin's user space share: the
 * layout of the pinned maps. A change here changes the BPF object, and so the pin
 * directory (it is named after the object's hash): old and new builds never read
 * each other's maps. */
#pragma once

#include <linux/types.h>

/* Node ids the counters can hold: node id < NP_BPF_MAX_NODES. */
#define NP_BPF_MAX_NODES 64

/* A container is found by its cgroup id (the kernfs id, i.e. the inode number of its
 * cgroup directory) in watch_index, an array indexed by id & index_mask: cgroup ids
 * are handed out in sequence, so they rarely collide, and an array lookup costs no
 * hashing. An id whose entry is taken goes to the `watched` hash (id -> slot), and
 * the entry is marked `overflow` so the programs look there. Every other
 * per-container map is indexed by slot. */
struct np_bpf_index_entry {
        __u64 cgroup_id; /* 0: free */
        __u32 slot;
        __u32 overflow; /* some id with this index is in `watched` */
};

/* slot_nodes, a per-CPU array indexed by slot * node_stride + node. */
struct np_bpf_node_counters {
        __u64 cpu_ns;      /* time on the CPUs of this node (sched_switch) */
        __u64 pages;       /* pages allocated from this node (mm_page_alloc) */
        __u64 pages_local; /* ... by a task running on a CPU of the same node */
};

/* slot_counters, a per-CPU array indexed by slot. */
struct np_bpf_slot_counters {
        __u64 pages_outside;        /* pages from a node outside slot_info.allowed */
        __u64 pages_unknown_node;   /* pages whose node could not be told */
        __u64 migrations;           /* sched_migrate_task of the container's tasks */
        __u64 migrations_cross;     /* ... to a CPU of another node */
        __u64 numa_balancing_pages; /* pages moved by NUMA balancing (MR_NUMA_MISPLACED) */
        __u64 pmu_local;            /* local DRAM fills (PMU tier) */
        __u64 pmu_remote;           /* remote DRAM fills (PMU tier) */
};

/* slot_info, an array indexed by slot: set when the container is watched. */
struct np_bpf_slot_info {
        __u64 allowed[NP_BPF_MAX_NODES / 64]; /* the nodes its memory may come from */
};

/* pmu_info, an array of one: whether the PMU tier counts, and with which events,
 * or why it does not. */
struct np_bpf_pmu_info {
        __u32 live;        /* 1: a holder process keeps the per-CPU events open */
        char text[124];    /* the events, or why there are none */
};
