/* SPDX-License-Identifier: MIT */
/* Keeping shared containers off exclusive CPUs: when a container takes CPUs
 * exclusively, the shared containers already on those CPUs are moved off them;
 * when it leaves, they get the CPUs back. */
#pragma once

#include "config.h"
#include "ledger.h"
#include "topology.h"

/* Recomputes the cpuset of every shared container in the ledger that has a
 * cgroup, writes cpuset.cpus where it changed and updates its record. A
 * container whose cgroup is gone is skipped; one whose nodes have no shared
 * CPU left keeps its cpuset. Returns how many were re-pinned, or -errno. */
int np_repin_shared(struct np_ledger *ledger, const struct np_topology *topology, const struct np_config *config,
                    struct np_diag *diag);
