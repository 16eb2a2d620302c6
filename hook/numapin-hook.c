// SPDX-License-Identifier: MIT
/* numapin-hook: the OCI hook. createRuntime/prestart place the container and
 * bind its cgroup; poststop releases its allocation. Reads the OCI state on
 * stdin, calls core, logs once, chooses the exit code. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/cgroup.h"
#include "../core/config.h"
#include "../core/fileio.h"
#include "../core/ledger.h"
#include "../core/locality.h"
#include "../core/policy.h"
#include "../core/repin.h"
#include "../core/spec.h"
#include "../core/state.h"
#include "../core/topocache.h"
#include "../core/topology.h"
#include "../core/watch.h"

struct options {
        const char *stage;
        const char *config_path;
        bool config_required;
        const char *state_dir;
        const char *sysfs_root;
        const char *cgroup_root;
};

static void usage(FILE *out)
{
        fprintf(out, "usage: numapin-hook [--config FILE] [--state-dir DIR] [--sysfs-root DIR] [--cgroup-root DIR]\n"
                     "                    createRuntime|prestart|poststop < OCI-state-JSON\n");
}

static int parse_options(int argc, char **argv, struct options *opts)
{
        static const struct option long_options[] = {
                { "config", required_argument, NULL, 'c' },
                { "state-dir", required_argument, NULL, 's' },
                { "sysfs-root", required_argument, NULL, 'S' },
                { "cgroup-root", required_argument, NULL, 'C' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        *opts = (struct options){ .config_path = NP_CONFIG_DEFAULT_PATH };
        while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
                switch (c) {
                case 'c':
                        opts->config_path = optarg;
                        opts->config_required = true;
                        break;
                case 's':
                        opts->state_dir = optarg;
                        break;
                case 'S':
                        opts->sysfs_root = optarg;
                        break;
                case 'C':
                        opts->cgroup_root = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        exit(0);
                default:
                        usage(stderr);
                        return -EINVAL;
                }
        }
        if (optind != argc - 1) {
                np_log_error("expected one stage argument: createRuntime, prestart or poststop");
                return -EINVAL;
        }
        opts->stage = argv[optind];
        if (strcmp(opts->stage, "createRuntime") != 0 && strcmp(opts->stage, "prestart") != 0 &&
            strcmp(opts->stage, "poststop") != 0) {
                char quoted[128];
                np_log_error("stage '%s' is unknown; expected createRuntime, prestart or poststop",
                             np_log_quote(quoted, sizeof(quoted), opts->stage));
                return -EINVAL;
        }
        if (!opts->sysfs_root)
                opts->sysfs_root = np_topology_default_root();
        if (!opts->cgroup_root)
                opts->cgroup_root = np_cgroup_default_root();
        return 0;
}

/* Finds the container's cgroup: its init's /proc/<pid>/cgroup, else the spec. */
static int container_cgroup(const struct np_state *state, const struct np_spec *spec, enum np_cgroup_layout layout,
                            struct np_diag *diag, char *ret_path, size_t size)
{
        char from_spec[PATH_MAX];
        int r;

        /* the spec's path is checked even when the pid answers: a hostile
         * cgroupsPath is refused either way */
        r = np_cgroup_path_from_spec(spec->cgroups_path, state->id, diag, from_spec, sizeof(from_spec));
        if (r < 0)
                return r;
        if (state->pid > 0) {
                r = np_cgroup_path_from_pid(np_proc_default_root(), state->pid, layout, NULL, ret_path, size);
                if (r == 0)
                        return 0;
                np_log_debug("no cgroup from pid %d (%s), using the spec's cgroupsPath", state->pid, strerror(-r));
        }
        if (strlen(from_spec) >= size)
                return -ENAMETOOLONG;
        strcpy(ret_path, from_spec);
        return 0;
}

static int place(const struct options *opts, const struct np_config *config, const struct np_state *state,
                 struct np_diag *diag)
{
        _cleanup_spec_ struct np_spec *spec = NULL;
        _cleanup_topology_ struct np_topology *topology = NULL;
        _cleanup_ledger_ struct np_ledger *ledger = NULL;
        struct np_cgroup_saved saved = {};
        const struct np_annotation_set *annotations;
        struct np_request request;
        struct np_placement placement;
        struct np_record record;
        enum np_cgroup_layout layout;
        char cgroup_path[PATH_MAX], cpus[NP_CPULIST_BUFSIZE], mems[NP_CPULIST_BUFSIZE], cache_path[PATH_MAX];
        const char *state_dir = np_ledger_default_dir(opts->state_dir ? opts->state_dir : config->state_dir);
        const struct np_record *existing;
        bool placed_before;
        int r;

        r = np_spec_load(state->bundle, diag, &spec);
        if (r < 0)
                return r;
        annotations = state->has_annotations ? &state->annotations : &spec->annotations;
        r = np_annotations_parse(annotations, NULL, config->default_policy, diag, &request);
        if (r < 0)
                return r;
        if (request.policy == NP_POLICY_NONE) {
                np_log_debug("container '%s': nothing to do", state->id);
                return 0;
        }
        snprintf(cache_path, sizeof(cache_path), "%s/%s", state_dir, NP_TOPOLOGY_CACHE);

        r = np_topology_load_cached(opts->sysfs_root, cache_path, diag, &topology);
        if (r < 0)
                return r;
        r = np_cgroup_detect(opts->cgroup_root, diag, &layout);
        if (r < 0)
                return r;
        r = container_cgroup(state, spec, layout, diag, cgroup_path, sizeof(cgroup_path));
        if (r < 0)
                return r;

        r = np_ledger_open(state_dir, true, diag, &ledger);
        if (r < 0)
                return r;
        r = np_ledger_reclaim(ledger, NULL);
        if (r < 0)
                return np_diag_fail(diag, r, "cannot reclaim stale ledger records: %s", strerror(-r));

        r = np_ledger_place(ledger, topology, config, state->id, &request, &spec->demand, 0, diag, &placement);
        if (r < 0)
                return r;
        placed_before = r == 1;
        existing = np_ledger_find(ledger, state->id);

        np_record_from_placement(&record, state->id, &placement, "hook");
        record.pid = state->pid;
        if (existing)
                record.monitor = existing->monitor;
        r = np_cgroup_apply(opts->cgroup_root, layout, cgroup_path, &placement.cpus,
                            placement.write_mems ? &placement.mems : NULL, diag, &saved, record.cgroup,
                            sizeof(record.cgroup));
        if (r < 0)
                return r;
        /* the monitor counts on the real kernel: not for a fixture sysfs or cgroup tree */
        if (!placed_before && config->monitor && request.monitor && strcmp(opts->sysfs_root, "/sys") == 0 &&
            strcmp(opts->cgroup_root, "/sys/fs/cgroup") == 0) {
                struct np_diag monitor_diag = {};

                np_exited_remove(state_dir, state->id);
                if (np_watch_attach(opts->sysfs_root, config, topology, ledger, &record, &monitor_diag) < 0)
                        np_log_warning("%s; the container is placed but not monitored", monitor_diag.message);
        }
        /* the record, then config.json: a failure undoes what was done before it */
        r = np_ledger_put(ledger, &record);
        if (r < 0)
                np_diag_fail(diag, r, "cannot write the ledger record of container '%s': %s", state->id, strerror(-r));
        else {
                r = np_spec_write_cpuset(spec, &placement, diag);
                if (r < 0 && !placed_before)
                        np_ledger_remove(ledger, state->id);
        }
        if (r < 0) {
                if (!placed_before)
                        np_watch_unwatch(&record);
                np_cgroup_revert(opts->cgroup_root, layout, cgroup_path, &saved);
                np_cgroup_saved_clear(&saved);
                return r;
        }
        np_cgroup_saved_clear(&saved);

        np_cpulist_format(&placement.cpus, cpus, sizeof(cpus));
        np_cpulist_format(&placement.mems, mems, sizeof(mems));
        np_log_info("container '%s': policy %s, cpus %s, mems %s%s: %s", state->id,
                    np_policy_to_string(placement.policy), cpus, mems, placement.write_mems ? "" : " (not written)",
                    placement.reason);

        /* shared containers already running must leave the new exclusive CPUs */
        if (!placed_before && !np_cpulist_empty(&placement.exclusive_cpus)) {
                struct np_diag repin_diag = {};
                if (np_repin_shared(ledger, topology, config, &repin_diag) < 0)
                        np_log_warning("%s", repin_diag.message);
        }
        return 0;
}

static int release(const struct options *opts, const struct np_config *config, const struct np_state *state,
                   struct np_diag *diag)
{
        _cleanup_ledger_ struct np_ledger *ledger = NULL;
        _cleanup_topology_ struct np_topology *topology = NULL;
        const char *dir = np_ledger_default_dir(opts->state_dir ? opts->state_dir : config->state_dir);
        struct np_diag repin_diag = {}, monitor_diag = {};
        char cache_path[PATH_MAX];
        const struct np_record *record;
        bool held_exclusive;
        unsigned int reclaimed = 0;
        int r;

        if (access(dir, F_OK) < 0)
                return 0; /* nothing was ever placed on this node */
        r = np_ledger_open(dir, true, diag, &ledger);
        if (r < 0)
                return r;
        record = np_ledger_find(ledger, state->id);
        if (!record)
                return 0;
        held_exclusive = !np_cpulist_empty(&record->exclusive_cpus);
        if (record->monitor.on && np_watch_detach(dir, config, record, &monitor_diag) < 0)
                np_log_warning("%s", monitor_diag.message);
        r = np_ledger_remove(ledger, state->id);
        if (r < 0)
                return np_diag_fail(diag, r, "cannot remove the ledger record of container '%s': %s", state->id,
                                    strerror(-r));
        np_log_info("container '%s': allocation released", state->id);
        r = np_ledger_reclaim(ledger, &reclaimed);
        if (r < 0)
                return np_diag_fail(diag, r, "cannot reclaim stale ledger records: %s", strerror(-r));

        /* CPUs that were held exclusively go back to the shared containers */
        if (!held_exclusive && reclaimed == 0)
                return 0;
        snprintf(cache_path, sizeof(cache_path), "%s/%s", dir, NP_TOPOLOGY_CACHE);
        if (np_topology_load_cached(opts->sysfs_root, cache_path, &repin_diag, &topology) < 0 ||
            np_repin_shared(ledger, topology, config, &repin_diag) < 0)
                np_log_warning("%s", repin_diag.message);
        return 0;
}

int main(int argc, char **argv)
{
        _cleanup_free_ char *input = NULL;
        struct np_config config;
        struct options opts;
        struct np_state state = {};
        struct np_diag diag = {};
        size_t size;
        int r;

        np_log_set_prefix("numapin-hook");
        np_log_set_syslog("");
        if (parse_options(argc, argv, &opts) < 0)
                return 2;
        r = np_config_load(opts.config_path, opts.config_required, &diag, &config);
        if (r < 0) {
                np_log_error("%s", diag.message);
                return 1;
        }
        np_log_set_level(config.log_level);

        r = np_read_fd(STDIN_FILENO, NP_STATE_LIMIT, &input, &size);
        if (r == -EFBIG)
                r = np_diag_fail(&diag, r, "state on stdin: larger than the limit of %d bytes", NP_STATE_LIMIT);
        else if (r < 0)
                r = np_diag_fail(&diag, r, "state on stdin: cannot read: %s", strerror(-r));
        else
                r = np_state_parse(input, size, &diag, &state);

        if (r == 0) {
                char context[sizeof(state.id) + 16];

                snprintf(context, sizeof(context), "container %s: ", state.id);
                np_log_set_syslog(context);
        }
        if (r == 0)
                r = strcmp(opts.stage, "poststop") == 0 ? release(&opts, &config, &state, &diag)
                                                        : place(&opts, &config, &state, &diag);
        np_state_clear(&state);
        if (r == 0)
                return 0;
        if (!diag.message[0])
                np_diag_fail(&diag, r, "%s failed: %s", opts.stage, strerror(-r));
        if (config.on_error == NP_ON_ERROR_IGNORE && strcmp(opts.stage, "poststop") != 0) {
                np_log_warning("%s; on_error is ignore: the container starts unbound", diag.message);
                return 0;
        }
        np_log_error("%s", diag.message);
        return 1;
}
