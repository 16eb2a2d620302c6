/* SPDX-License-Identifier: MIT */
/* The context a numapin process opens once (as crun's libcrun_context_t): its
 * config, its roots (sysfs, cgroup, proc, state dir, BPF pin dir), whether
 * those are the running kernel's, and, loaded on first use, the topology and
 * the ledger. Every setting resolves here, in one order for all of them: the
 * command-line flag, then the environment, then the config file, then the
 * default. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "config.h"
#include "kubelet.h"
#include "ledger.h"
#include "model.h"
#include "opstats.h"
#include "topology.h"

#define NP_SYSFS_ROOT_DEFAULT  "/sys"
#define NP_CGROUP_ROOT_DEFAULT "/sys/fs/cgroup"
#define NP_PROC_ROOT_DEFAULT   "/proc"

/* What the command line gave; NULL where a flag was not given. */
struct np_context_options {
        const char *config_path; /* NULL: NP_CONFIG_DEFAULT_PATH, optional */
        const char *state_dir;
        const char *sysfs_root;
        const char *cgroup_root;
        const char *proc_root;
        enum np_source source; /* what records this process writes say */
        /* how old what numapin read of the node (each node's free memory, kubelet's
         * state) may be before a verb reads it again; 0: at every verb (a
         * short-lived process reads it once anyway) */
        uint64_t refresh_ns;
        /* read sysfs without the state dir's topology cache (which a miss rewrites):
         * a command that only looks writes nothing */
        bool uncached_topology;
        /* how often records of containers gone without a release are looked for
         * (their pid and cgroup), by this process or another (ledger.cache says
         * when they last were); 0: at every verb. A placement that finds too few
         * CPUs looks at once. */
        uint64_t reclaim_interval_ns;
        /* containers numapin does not place are protected without a record */
        bool protect_unrecorded;
        /* a verb's record file is written after the caller has its answer, at
         * np_lifecycle_settle() (np_ledger_defer_writes) */
        bool defer_record_writes;
        /* the exclusive lock is kept from one verb to the next until
         * np_lifecycle_settle() (called when the caller's calls pause) or for
         * NP_LOCK_LINGER_NS at most: a burst of calls locks and reads the ledger
         * once, and no one else waits longer than that for it */
        bool linger_lock;
};

#define NP_LOCK_LINGER_NS (UINT64_C(5) * 1000 * 1000)
/* The reclaim_interval_ns of the hook and the NRI plugin: a record of a container
 * gone without a release (a hook whose poststop never ran) keeps its CPUs up to
 * this much longer, unless a placement needs them. */
#define NP_RECLAIM_INTERVAL_NS (UINT64_C(10) * 1000 * 1000 * 1000)

/* The flags every front-end takes, for its getopt_long() table (which needs
 * <getopt.h>): --config, --state-dir, --sysfs-root, --cgroup-root. */
enum {
        NP_OPTION_CONFIG = 0x1000,
        NP_OPTION_STATE_DIR,
        NP_OPTION_SYSFS_ROOT,
        NP_OPTION_CGROUP_ROOT,
};
#define NP_CONTEXT_LONG_OPTIONS                                                                                        \
        { "config", required_argument, NULL, NP_OPTION_CONFIG },                                                       \
                { "state-dir", required_argument, NULL, NP_OPTION_STATE_DIR },                                         \
                { "sysfs-root", required_argument, NULL, NP_OPTION_SYSFS_ROOT },                                       \
        {                                                                                                              \
                "cgroup-root", required_argument, NULL, NP_OPTION_CGROUP_ROOT                                          \
        }
#define NP_CONTEXT_USAGE "[--config FILE] [--state-dir DIR] [--sysfs-root DIR] [--cgroup-root DIR]"

/* Takes one of those flags (getopt's value and optarg); false for any other. */
bool np_context_option(struct np_context_options *options, int option, const char *value);

struct np_context {
        struct np_context_options options;
        struct np_config config;
        /* the config placement decides with: `config` itself, or where kubelet's
         * static CPU manager assigned CPUs (np_context_refresh_kubelet),
         * kubelet_config, its copy whose reserved_cpus also holds them. It points
         * into this struct: a copy of the context is pointed again by
         * np_context_set_config(). Not copied where nothing is assigned: a hook
         * would fault in the three pages the copy writes. */
        const struct np_config *decision_config;
        struct np_kubelet kubelet;
        struct stat kubelet_stat;    /* of cpu_manager_state when last read; st_ino 0: not found */
        uint64_t kubelet_checked_ns; /* when its file was last looked at; 0: look at the next verb */
        /* the resolved paths, each its own allocation (shorter than PATH_MAX):
         * five arrays of PATH_MAX held a short string each, five pages a
         * hook's run faulted in */
        char *config_path;
        bool config_required;
        char *state_dir;
        char *sysfs_root;
        char *cgroup_root;
        char *proc_root;
        int real_kernel; /* np_context_real_kernel()'s answer, -1 until asked */
        /* the caller can give a container a memory policy (linux.memoryPolicy) */
        bool memory_policy;
        struct np_topology *topology; /* NULL until np_context_topology() */
        uint64_t topology_read_ns;
        struct np_ledger *ledger;   /* NULL until a verb needs it; kept, locked only during a verb */
        struct np_opstats *opstats; /* NULL until first counted in */
        bool ledger_exclusive;
        /* options.linger_lock: the lock is held between verbs, taken at locked_ns */
        bool lingering;
        uint64_t locked_ns;
        /* np_lifecycle_batch_begin() holds the lock across verbs */
        bool batch;
        bool batch_repin;
        bool batch_recover; /* a re-pin was pending when the batch took the lock */
        /* the large members seldom written, last: a hook's run writes only the
         * context's first pages (each page it writes is a page fault) */
        struct np_cpulist batch_exclusive_before;
        struct np_config kubelet_config;
};

/* Reads the config and resolves every setting. `diag` names a bad config file. */
int np_context_open(const struct np_context_options *options, struct np_diag *diag, struct np_context **ret_context);
void np_context_free(struct np_context *context);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct np_context *, np_context_free)
#define _cleanup_context_ _cleanup_(np_context_freep)

/* A config that arrives later, as text (a pre-installed NRI plugin's, in
 * Configure; NULL keeps the one loaded): settings are resolved again and the
 * ledger and topology are loaded anew on next use. `what` names its origin in
 * messages. */
int np_context_set_config(struct np_context *context, const char *text, size_t size, const char *what,
                          struct np_diag *diag);

/* The topology, loaded on first use through the cache in the state dir; with
 * refresh_ns, the nodes' memory is read again once it is that old. */
int np_context_topology(struct np_context *context, struct np_diag *diag, const struct np_topology **ret_topology);

/* The ledger with its lock held: exclusive for a change (the state dir is
 * created), shared for reading (a missing state dir reads as empty). Kept
 * loaded; np_context_unlock() drops the lock until the next call (with
 * options.linger_lock it may keep it: np_context_release() drops it). */
int np_context_ledger(struct np_context *context, bool exclusive, struct np_diag *diag, struct np_ledger **ret_ledger);
void np_context_unlock(struct np_context *context);
void np_context_release(struct np_context *context);

/* kubelet's CPU manager state under the config's kubelet_root_dir, read again
 * when its file changed (looked at once every refresh_ns at most): with the static policy the CPUs it assigned join the
 * reserved ones in decision_config. A state that cannot be read is a warning's
 * matter for the caller (-errno with diag); the last good one is kept. */
int np_context_refresh_kubelet(struct np_context *context, struct np_diag *diag);
/* Whether kubelet's static CPU manager assigned CPUs to the container `name` of
 * the pod `pod_uid`: such a container is kubelet's to pin. */
const struct np_cpulist *np_context_kubelet_assigned(const struct np_context *context, const char *pod_uid,
                                                     const char *name);

/* The operations counters of the state dir, mapped on first use (made when
 * missing); NULL when they cannot be (no state dir yet: nothing was placed),
 * which the np_opstats functions take as "count nothing". */
struct np_opstats *np_context_opstats(struct np_context *context);

/* Whether the sysfs root is the running kernel's (not a fixture tree): with a
 * container cgroup that is a kernel one (np_monitor_cgroup_supported()), only
 * then are there cgroup ids for the locality monitor to count. */
bool np_context_real_kernel(struct np_context *context);

/* CLOCK_MONOTONIC in nanoseconds, the clock of the intervals above. */
uint64_t np_context_now_ns(void);
