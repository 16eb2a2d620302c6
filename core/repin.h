/* SPDX-License-Identifier: MIT */
/* Keeping shared containers off exclusive CPUs: when a container takes CPUs
 * exclusively, the shared containers already on those CPUs are moved off them;
 * when it leaves, they get the CPUs back. */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "ledger.h"
#include "topology.h"

/* Called for a shared container whose CPUs must become `shared`: returns 1
 * once the change is on its way (the record is then updated), 0 to leave the
 * container as it is, or -errno to stop. */
typedef int (*np_repin_fn)(const struct np_record *record, const struct np_cpulist *shared, void *userdata,
                           struct np_diag *diag);

/* Recomputes the CPUs of every shared container of the ledger: the NRI
 * plugin's records (source "nri") or everyone else's. One whose nodes have no
 * shared CPU left keeps its cpuset. Returns how many changed, or -errno. */
int np_repin_each(struct np_ledger *ledger, const struct np_topology *topology, const struct np_config *config,
                  bool nri_records, np_repin_fn apply, void *userdata, struct np_diag *diag);

/* np_repin_each() for the containers of the hook and numapinctl: writes
 * cpuset.cpus in each one's cgroup; a container whose cgroup is gone is
 * skipped. */
int np_repin_shared(struct np_ledger *ledger, const struct np_topology *topology, const struct np_config *config,
                    struct np_diag *diag);
