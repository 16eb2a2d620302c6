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
 * hashing. An id whose entry is taken goes to the `watched` hash (id -> an entry of
 * its own), and the index entry is marked `overflow` so the programs look there.
 * The entry carries what the programs need of the container besides its counters,
 * so an event costs no lookup more. */
struct np_bpf_index_entry {
        __u64 cgroup_id;                      /* 0: free */
        __u32 slot;                           /* its element of slot_stats */
        __u32 overflow;                       /* some id with this index is in `watched` (index entries only) */
        __u64 allowed[NP_BPF_MAX_NODES / 64]; /* the nodes its memory may come from */
};

/* The counters of one node of a container. */
struct np_bpf_node_counters {
        __u64 cpu_ns;      /* time on the CPUs of this node (sched_switch) */
        __u64 pages;       /* pages allocated from this node (mm_page_alloc) */
        __u64 pages_local; /* ... by a task running on a CPU of the same node */
};

/* The counters of a container that are not per node. */
struct np_bpf_slot_counters {
        __u64 pages_outside;        /* pages from a node outside the entry's allowed nodes */
        __u64 pages_unknown_node;   /* pages whose node could not be told */
        __u64 migrations;           /* sched_migrate_task of the container's tasks */
        __u64 migrations_cross;     /* ... to a CPU of another node */
        __u64 numa_balancing_pages; /* pages moved by NUMA balancing (MR_NUMA_MISPLACED) */
        __u64 pmu_local;            /* local DRAM fills (PMU tier) */
        __u64 pmu_remote;           /* remote DRAM fills (PMU tier) */
};

/* slot_stats, a per-CPU array indexed by slot: all of a container's counters in
 * one element, so an event looks up one and a scrape copies one a container. Its
 * values hold node_stride nodes, not NP_BPF_MAX_NODES: user space sets the value
 * size at load (NP_BPF_SLOT_STATS_SIZE), and the stride is read back from it. */
struct np_bpf_slot_stats {
        struct np_bpf_slot_counters counters;
        struct np_bpf_node_counters nodes[NP_BPF_MAX_NODES];
};

#define NP_BPF_SLOT_STATS_SIZE(node_stride)                                                                            \
        (__builtin_offsetof(struct np_bpf_slot_stats, nodes) + (node_stride) * sizeof(struct np_bpf_node_counters))

/* pmu_info, an array of one: whether the PMU tier counts, and with which events,
 * or why it does not. */
struct np_bpf_pmu_info {
        __u32 live;     /* 1: a holder process keeps the per-CPU events open */
        char text[124]; /* the events, or why there are none */
};
