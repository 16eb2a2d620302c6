// SPDX-License-Identifier: MIT
/* Attaching a placed container to the locality monitor and detaching it: the
 * slot is the first one no record of the same pinned set holds; at exit the
 * final counters are kept under <state_dir>/exited/, and other builds' sets that
 * watch nothing any more are retired. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "locality.h"
#include "monitor.h"
#include "watch.h"

int np_watch_attach(const char *sysfs_root, const struct np_config *config, const struct np_topology *topology,
                    const struct np_ledger *ledger, struct np_record *record, struct np_diag *diag)
{
        _cleanup_monitor_ struct np_monitor *monitor = NULL;
        _cleanup_free_ bool *used = NULL;
        uint64_t cgroup_id = 0;
        uint32_t slot = 0;
        int r;

        record->monitor = (struct np_record_monitor){};
        r = np_monitor_open_to_watch(sysfs_root, config->monitor_pin_dir, topology, config->monitor_slots, diag,
                                     &monitor);
        if (r < 0)
                return r;
        r = np_monitor_cgroup_id(record->cgroup, &cgroup_id);
        if (r < 0)
                return np_diag_fail(diag, r, "monitor: cgroup %s: %s", record->cgroup, strerror(-r));
        used = calloc(monitor->slots, sizeof(*used));
        if (!used)
                return -ENOMEM;
        for (const struct np_record *other = np_ledger_next(ledger, NULL); other;
             other = np_ledger_next(ledger, other)) {
                const struct np_record_monitor *m = &other->monitor;

                if (m->on && m->slot < monitor->slots && strcmp(m->dir, monitor->dir) == 0 &&
                    strcmp(other->id, record->id) != 0)
                        used[m->slot] = true;
        }
        while (slot < monitor->slots && used[slot])
                slot++;
        if (slot == monitor->slots)
                return np_diag_fail(diag, -ENOSPC,
                                    "monitor: all %u slots are in use (monitor_slots in the config sizes them)",
                                    monitor->slots);
        r = np_monitor_watch(monitor, cgroup_id, slot, &record->mems, diag);
        if (r == -ENOSPC) {
                /* keys left by records reclaimed as stale */
                np_monitor_sweep(monitor, used, monitor->slots);
                *diag = (struct np_diag){};
                r = np_monitor_watch(monitor, cgroup_id, slot, &record->mems, diag);
        }
        if (r < 0)
                return r;
        record->monitor = (struct np_record_monitor){ .on = true, .slot = slot, .cgroup_id = cgroup_id };
        snprintf(record->monitor.dir, sizeof(record->monitor.dir), "%.255s", monitor->dir);
        return 0;
}

void np_watch_unwatch(const struct np_record *record)
{
        _cleanup_monitor_ struct np_monitor *monitor = NULL;

        if (record->monitor.on && np_monitor_open_dir(record->monitor.dir, NULL, &monitor) == 0)
                np_monitor_unwatch(monitor, record->monitor.cgroup_id);
}

int np_watch_detach(const char *state_dir, const struct np_config *config, const struct np_record *record,
                    struct np_diag *diag)
{
        _cleanup_monitor_ struct np_monitor *monitor = NULL;
        struct np_locality_stats stats;
        struct np_locality locality;
        char pmu[256], current[PATH_MAX];
        unsigned int left = 1;
        int r;

        if (!record->monitor.on)
                return 0;
        r = np_monitor_open_dir(record->monitor.dir, diag, &monitor);
        if (r < 0)
                return r;
        np_monitor_unwatch(monitor, record->monitor.cgroup_id);
        if (monitor->foreign) {
                r = np_diag_fail(diag, -EPROTO,
                                 "monitor: container '%s' was counted by %s, another build's set, whose counters "
                                 "this build does not read: its final counters are not kept",
                                 record->id, record->monitor.dir);
        } else {
                r = np_monitor_read(monitor, record->monitor.slot, &locality);
                if (r == 0) {
                        np_locality_stats_fill(record, &locality, NULL,
                                               np_locality_pmu_reason(monitor, pmu, sizeof(pmu)), (int64_t)time(NULL),
                                               &stats);
                        r = np_exited_save(state_dir, &stats);
                }
                if (r < 0)
                        np_diag_fail(diag, r, "monitor: cannot keep the final counters of container '%s': %s",
                                     record->id, strerror(-r));
        }
        /* an earlier container of the same id may have left its figures, kept while
         * this one ran: they are not this one's */
        if (r < 0)
                np_exited_remove(state_dir, record->id);
        /* another build's set goes with its last container */
        if (np_monitor_dir(config->monitor_pin_dir, current, sizeof(current)) == 0 &&
            strcmp(current, record->monitor.dir) != 0 && np_monitor_count(monitor, &left) == 0 && left == 0)
                np_monitor_remove(record->monitor.dir);
        return r;
}

/* Whether a record of the ledger `userdata` is watched in the set `dir`. */
static bool set_in_use(const char *dir, void *userdata)
{
        const struct np_ledger *ledger = userdata;

        for (const struct np_record *r = np_ledger_next(ledger, NULL); r; r = np_ledger_next(ledger, r))
                if (r->monitor.on && strcmp(r->monitor.dir, dir) == 0)
                        return true;
        return false;
}

void np_watch_retire(const struct np_config *config, const struct np_ledger *ledger)
{
        int r = np_monitor_retire(config->monitor_pin_dir, set_in_use, (void *)ledger);

        if (r < 0)
                np_log_debug("monitor: cannot retire the idle sets of %s: %s", config->monitor_pin_dir, strerror(-r));
}
