/* SPDX-License-Identifier: MIT */
/* The node's NUMA topology as sysfs describes it: online nodes (ids may be
 * sparse), their CPUs, memory and distances; per CPU its package, die, core, SMT
 * siblings and L3; memory-only nodes; the kernel's isolated CPUs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpulist.h"
#include "log.h"

#define NP_MAX_NODES 1024

struct np_node {
        unsigned int id;
        struct np_cpulist cpus;   /* online CPUs of the node; empty for memory-only nodes */
        unsigned int n_cpus;      /* how many, and the words of cpus.bits that hold them, */
        unsigned int cpu_words_start, cpu_words_end; /* [start, end): what loops over a node read */
        uint64_t memory_total_kb; /* MemTotal of the node's meminfo */
        uint64_t memory_free_kb;  /* MemFree of the node's meminfo */
        uint32_t *distances;      /* one per node of the topology, in node order */
};

struct np_cpu {
        unsigned int id;
        unsigned int node;       /* id of the node the CPU belongs to */
        unsigned int package;    /* physical_package_id */
        unsigned int die;        /* die_id, 0 where the kernel has none */
        unsigned int core;       /* the lowest id of its SMT siblings (thread_siblings_list),
                                  * core_id where that list is missing */
        unsigned int core_index; /* dense index of the (package, die, core) triple */
        int l3;                  /* L3 cache instance id, -1 when unknown */
};

struct np_topology {
        size_t n_nodes;
        struct np_node *nodes; /* ascending id */
        size_t n_cpus;
        struct np_cpu *cpus; /* online CPUs of some node, ascending id */
        size_t n_cores;
        struct np_cpulist online_cpus;
        struct np_cpulist isolated_cpus;
        struct np_cpulist node_ids;       /* online nodes */
        struct np_cpulist memory_nodes;   /* nodes with memory */
        int16_t node_index[NP_MAX_NODES]; /* node id -> index in nodes, -1 if absent */
        /* CPU id -> index in cpus, -1 if absent: cpu_index_size entries, the
         * highest id + 1 (sized by the machine: a hook's run touches every entry) */
        int16_t *cpu_index;
        size_t cpu_index_size;
};

/* Reads the topology below `sysfs_root` (standing for /sys). */
int np_topology_load(const char *sysfs_root, struct np_diag *diag, struct np_topology **ret_topology);
void np_topology_free(struct np_topology *topology);

/* Reads again what changes while the machine runs: each node's MemTotal and
 * MemFree (and so memory_nodes) and the isolated CPUs. */
int np_topology_refresh(struct np_topology *topology, const char *sysfs_root, struct np_diag *diag);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct np_topology *, np_topology_free)
#define _cleanup_topology_ _cleanup_(np_topology_freep)

/* Makes cpu_index from cpus (at load, from sysfs or the cache). */
int np_topology_index_cpus(struct np_topology *topology);

/* Sets a node's n_cpus and CPU word range from its cpus (at load, from sysfs or the cache). */
void np_node_count_cpus(struct np_node *node);

/* The node with this id, or NULL. */
const struct np_node *np_topology_node(const struct np_topology *topology, unsigned int node_id);
/* The CPU with this id, or NULL when it is offline or absent. */
const struct np_cpu *np_topology_cpu(const struct np_topology *topology, unsigned int cpu_id);
/* The distance between two nodes of the topology (ids), 0 if either is absent. */
unsigned int np_topology_distance(const struct np_topology *topology, unsigned int from, unsigned int to);
/* The node with CPUs nearest to `node_id` by the distance matrix (the distance
 * from each CPU node's row, what its CPUs pay for that memory; ties go to the
 * lower id): for a memory-only node (CXL, HBM) the node whose CPUs
 * reach it best, for a node with CPUs normally itself. -1 when node_id is not in
 * the topology or no node has CPUs. */
int np_topology_nearest_cpu_node(const struct np_topology *topology, unsigned int node_id);
/* The CPUs of a set of nodes. */
void np_topology_node_cpus(const struct np_topology *topology, const struct np_cpulist *nodes,
                           struct np_cpulist *ret_cpus);
