// SPDX-License-Identifier: MIT
/* Re-pins shared containers after the set of exclusive CPUs changed, so that
 * an exclusive CPU is really used by one container only. One pass over the
 * ledger decides which records change and records their new CPUs; how the
 * change reaches the container is the caller's: the hook writes cpuset.cpus in
 * place, the NRI plugin asks the runtime through container updates. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "fileio.h"
#include "policy.h"
#include "repin.h"

int np_repin_each(struct np_ledger *ledger, const struct np_topology *topology, const struct np_config *config,
                  bool nri_records, np_repin_fn apply, void *userdata, struct np_diag *diag)
{
        struct np_usage usage;
        int changed = 0;

        np_ledger_usage(ledger, &usage);
        for (size_t i = 0; i < ledger->n_records; i++) {
                struct np_record record = ledger->records[i];
                struct np_cpulist shared;
                int r;

                if (!np_cpulist_empty(&record.exclusive_cpus) || record.policy == NP_POLICY_NONE ||
                    (strcmp(record.source, "nri") == 0) != nri_records)
                        continue;
                np_policy_shared_cpus(topology, config, &usage, &record.nodes, &shared);
                if (np_cpulist_empty(&shared) || np_cpulist_equal(&shared, &record.cpus))
                        continue;
                r = apply(&record, &shared, userdata, diag);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue; /* left as it is */
                record.cpus = shared;
                r = np_ledger_put(ledger, &record);
                if (r < 0)
                        return np_diag_fail(diag, r, "cannot update the ledger record of container '%s': %s", record.id,
                                            strerror(-r));
                changed++;
        }
        return changed;
}

/* Writes the new CPUs into the container's cpuset cgroup; 0 when it is gone. */
static int write_cgroup(const struct np_record *record, const struct np_cpulist *shared, void *userdata,
                        struct np_diag *diag)
{
        _cleanup_close_ int dir_fd = -1;
        char cpus[NP_CPULIST_BUFSIZE];
        int r;

        (void)userdata;
        if (record->cgroup[0] != '/')
                return 0;
        dir_fd = open(record->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dir_fd < 0) {
                np_log_debug("container '%s': cgroup %s is gone, not re-pinned", record->id, record->cgroup);
                return 0;
        }
        r = np_cpulist_format(shared, cpus, sizeof(cpus));
        if (r == 0)
                r = np_write_attribute_at(dir_fd, "cpuset.cpus", cpus);
        if (r < 0)
                return np_diag_fail(diag, r, "cannot re-pin shared container '%s': writing cpuset.cpus '%s' in %s: %s",
                                    record->id, cpus, record->cgroup, strerror(-r));
        np_log_info("container '%s': shared CPUs now %s", record->id, cpus);
        return 1;
}

int np_repin_shared(struct np_ledger *ledger, const struct np_topology *topology, const struct np_config *config,
                    struct np_diag *diag)
{
        return np_repin_each(ledger, topology, config, false, write_cgroup, NULL, diag);
}
