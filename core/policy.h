/* SPDX-License-Identifier: MIT */
/* Placement: from a container's request and demand, the topology, what other
 * containers hold and the config, choose its NUMA node(s) and CPUs, and say why.
 * The hook, numapinctl and the NRI plugin all decide through np_policy_place(). */
#pragma once

#include <stdint.h>

#include "log.h"
#include "config.h"
#include "cpulist.h"
#include "model.h"
#include "topology.h"

/* What the containers placed on one node id hold. */
struct np_node_usage {
        uint64_t shared_cpu_millis; /* CPU demand of shared containers */
        uint64_t memory_bytes;      /* memory limits of bound containers */
        /* Containers that hold no CPU exclusively, which np_ledger_place() keeps a shared CPU
         * for: those bound to the node, and those of policy none (they may run on any node). */
        unsigned int shared_containers;
};

/* What the containers already placed hold, summed per node id: a node's sums
 * side by side, so that a sum over a few nodes writes one page of the 25 KiB,
 * not one page per sum (each a page fault in a hook's run). */
struct np_usage {
        unsigned int shared_unbound;
        unsigned int containers;
        struct np_cpulist exclusive_cpus;
        struct np_node_usage nodes[NP_MAX_NODES];
};

/* The caller can give the container a memory policy (linux.memoryPolicy): the
 * NRI plugin can, the OCI hook cannot. */
#define NP_PLACE_MEMORY_POLICY (1u << 0)
/* No one reads the placement's reason (a front-end that logs it only at info):
 * it is left empty, and the decision is the same. np_lifecycle_place() takes
 * this flag too (its own flags keep clear of this bit). */
#define NP_PLACE_NO_REASON (1u << 2)

void np_usage_init(struct np_usage *usage);
/* Adds one placed container to the usage. */
void np_usage_add(struct np_usage *usage, enum np_policy policy, const struct np_cpulist *nodes,
                  const struct np_cpulist *exclusive_cpus, const struct np_demand *demand);
/* The same from the lists' words (a ledger record's, as it keeps them). */
void np_usage_add_words(struct np_usage *usage, enum np_policy policy, struct np_cpuwords nodes,
                        struct np_cpuwords exclusive_cpus, const struct np_demand *demand);

/* Takes one placed container that holds no CPU exclusively out of the usage
 * (one holding some is taken out by summing the others again). */
void np_usage_remove_shared(struct np_usage *usage, enum np_policy policy, const struct np_cpulist *nodes,
                            const struct np_demand *demand);

/* The CPUs a shared (non-exclusive) container on `nodes` may use: the nodes'
 * CPUs minus reserved, exclusively held (`exclusive_cpus`) and isolated CPUs. */
void np_policy_shared_cpus(const struct np_topology *topology, const struct np_config *config,
                           const struct np_cpulist *exclusive_cpus, const struct np_cpulist *nodes,
                           struct np_cpulist *ret_cpus);

/* The placement a container already holds, read back from its cpuset (a
 * container created before numapin's NRI plugin connected): its nodes are
 * those its CPUs are on; `mems` NULL means every memory node. */
void np_policy_from_cpuset(const struct np_topology *topology, const struct np_request *request,
                           const struct np_cpulist *cpus, const struct np_cpulist *mems, const struct np_demand *demand,
                           struct np_placement *ret_placement);

int np_policy_place(const struct np_topology *topology, const struct np_config *config, const struct np_usage *usage,
                    const struct np_request *request, const struct np_demand *demand, unsigned int flags,
                    struct np_diag *diag, struct np_placement *ret_placement);
