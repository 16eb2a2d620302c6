// SPDX-License-Identifier: MIT
/* Re-pins shared containers after the set of exclusive CPUs changed, so that
 * an exclusive CPU is really used by one container only. Works from the ledger
 * (each record names its cpuset cgroup directory) and writes cpuset.cpus in
 * place; the new value is also recorded. Records of the NRI plugin are left
 * to it: it re-pins its containers through the runtime. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "fileio.h"
#include "policy.h"
#include "repin.h"

int np_repin_shared(struct np_ledger *ledger, const struct np_topology *topology, const struct np_config *config,
                    struct np_diag *diag)
{
        struct np_usage usage;
        int changed = 0;

        np_ledger_usage(ledger, &usage);
        for (size_t i = 0; i < ledger->n_records; i++) {
                struct np_record record = ledger->records[i];
                char cpus[NP_CPULIST_BUFSIZE];
                struct np_cpulist shared;
                _cleanup_close_ int dir_fd = -1;
                int r;

                if (!np_cpulist_empty(&record.exclusive_cpus) || record.cgroup[0] != '/' ||
                    record.policy == NP_POLICY_NONE || strcmp(record.source, "nri") == 0)
                        continue;
                np_policy_shared_cpus(topology, config, &usage, &record.nodes, &shared);
                if (np_cpulist_empty(&shared) || np_cpulist_equal(&shared, &record.cpus))
                        continue;
                dir_fd = open(record.cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (dir_fd < 0) {
                        np_log_debug("container '%s': cgroup %s is gone, not re-pinned", record.id, record.cgroup);
                        continue;
                }
                r = np_cpulist_format(&shared, cpus, sizeof(cpus));
                if (r == 0)
                        r = np_write_attribute_at(dir_fd, "cpuset.cpus", cpus);
                if (r < 0)
                        return np_diag_fail(diag, r,
                                            "cannot re-pin shared container '%s': writing cpuset.cpus '%s' in %s: %s",
                                            record.id, cpus, record.cgroup, strerror(-r));
                record.cpus = shared;
                r = np_ledger_put(ledger, &record);
                if (r < 0)
                        return np_diag_fail(diag, r, "cannot update the ledger record of container '%s': %s", record.id,
                                            strerror(-r));
                np_log_info("container '%s': shared CPUs now %s", record.id, cpus);
                changed++;
        }
        return changed;
}
