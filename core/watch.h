/* SPDX-License-Identifier: MIT */
/* A placed container and the locality monitor: watched in a slot no other
 * record holds, unwatched when placement fails, its final counters kept when it
 * exits. The hook and the NRI plugin attach and detach through these. */
#pragma once

#include "config.h"
#include "ledger.h"
#include "topology.h"

/* Loads the monitor if needed (its tables from `topology` and `sysfs_root`) and
 * watches the record's cgroup; on success record->monitor says where. A failure
 * leaves record->monitor off. The caller has asked whether the sysfs root and
 * the record's cgroup are the kernel's (np_monitor_sysfs_supported(),
 * np_monitor_cgroup_supported()). */
int np_watch_attach(const char *sysfs_root, const struct np_config *config, const struct np_topology *topology,
                    const struct np_ledger *ledger, struct np_record *record, struct np_diag *diag);
/* Stops counting for the record (when its placement is undone). */
void np_watch_unwatch(const struct np_record *record);
/* Stops counting, keeps the final counters in <state_dir>/exited/ (in place of
 * those an earlier container of the same id left, which go when these cannot be
 * kept), and removes an older build's pinned set once it watches nothing. */
int np_watch_detach(const char *state_dir, const struct np_config *config, const struct np_record *record,
                    struct np_diag *diag);
/* After a release: unpins the other builds' sets under the config's pin root that
 * watch no container any more and that no record of `ledger` names (a container
 * whose release never came, its key gone with its cgroup, must not keep a set's
 * programs running for ever). */
void np_watch_retire(const struct np_config *config, const struct np_ledger *ledger);
