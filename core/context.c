// SPDX-License-Identifier: MIT
/* Opens a process's context: the config, then each setting from the first of
 * flag, environment, config file and default; whether the roots are the
 * running kernel's; the topology and the ledger when a verb first needs them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "context.h"
#include "monitor.h"
#include "topocache.h"

/* flag, then environment, then the config's value (which holds the default
 * when the file does not set it), then the built-in default; a new string */
static int resolve(char **ret, const char *name, const char *flag, const char *env_name, const char *configured,
                   const char *fallback, struct np_diag *diag)
{
        const char *env = env_name ? getenv(env_name) : NULL;
        const char *value = flag && *flag               ? flag
                            : env && *env               ? env
                            : configured && *configured ? configured
                                                        : fallback;

        if (strlen(value) >= PATH_MAX)
                return np_diag_fail(diag, -ENAMETOOLONG, "%s: longer than %d bytes", name, PATH_MAX - 1);
        *ret = strdup(value);
        return *ret ? 0 : -ENOMEM;
}

bool np_context_option(struct np_context_options *options, int option, const char *value)
{
        switch (option) {
        case NP_OPTION_CONFIG:
                options->config_path = value;
                return true;
        case NP_OPTION_STATE_DIR:
                options->state_dir = value;
                return true;
        case NP_OPTION_SYSFS_ROOT:
                options->sysfs_root = value;
                return true;
        case NP_OPTION_CGROUP_ROOT:
                options->cgroup_root = value;
                return true;
        default:
                return false;
        }
}

/* The monitor's own test of a running kernel: sysfs at the sysfs root. The
 * cgroup side is the container's own cgroup, which the caller asks about
 * (np_monitor_cgroup_supported()): one statfs(2) instead of one more for the
 * root and another for a v1 cpuset hierarchy below it. */
static bool roots_are_the_kernels(const struct np_context *context)
{
        return np_monitor_sysfs_supported(context->sysfs_root, NULL) == 0;
}

/* The roots into `context`, each a new string: `context` may be a copy whose
 * strings are another's, so the ones it holds are not freed (nor changed on
 * failure). */
static int resolve_settings(struct np_context *context, struct np_diag *diag)
{
        const struct np_context_options *o = &context->options;
        char *state_dir = NULL, *sysfs_root = NULL, *cgroup_root = NULL, *proc_root = NULL;
        int r;

        r = resolve(&state_dir, "state dir", o->state_dir, "NUMAPIN_STATE_DIR", context->config.state_dir,
                    NP_STATE_DIR_DEFAULT, diag);
        if (r == 0)
                r = resolve(&sysfs_root, "sysfs root", o->sysfs_root, "NUMAPIN_SYSFS_ROOT", NULL, NP_SYSFS_ROOT_DEFAULT,
                            diag);
        if (r == 0)
                r = resolve(&cgroup_root, "cgroup root", o->cgroup_root, "NUMAPIN_CGROUP_ROOT", NULL,
                            NP_CGROUP_ROOT_DEFAULT, diag);
        if (r == 0)
                r = resolve(&proc_root, "proc root", o->proc_root, "NUMAPIN_PROC_ROOT", NULL, NP_PROC_ROOT_DEFAULT,
                            diag);
        if (r < 0) {
                free(state_dir);
                free(sysfs_root);
                free(cgroup_root);
                free(proc_root);
                return r;
        }
        context->state_dir = state_dir;
        context->sysfs_root = sysfs_root;
        context->cgroup_root = cgroup_root;
        context->proc_root = proc_root;
        context->real_kernel = -1; /* looked at when first asked */
        return 0;
}

static void free_roots(struct np_context *context)
{
        free(context->state_dir);
        free(context->sysfs_root);
        free(context->cgroup_root);
        free(context->proc_root);
}

bool np_context_real_kernel(struct np_context *context)
{
        if (context->real_kernel < 0)
                context->real_kernel = roots_are_the_kernels(context);
        return context->real_kernel;
}

static void decide_with(struct np_context *context)
{
        if (strcmp(context->kubelet.cpu_policy, "static") != 0) {
                context->decision_config = &context->config;
                return;
        }
        context->kubelet_config = context->config;
        np_cpulist_or(&context->kubelet_config.reserved_cpus, &context->kubelet.assigned_cpus);
        context->decision_config = &context->kubelet_config;
}

int np_context_refresh_kubelet(struct np_context *context, struct np_diag *diag)
{
        struct np_kubelet kubelet;
        char path[PATH_MAX + 32];
        struct stat st = {};
        int r;

        if (context->options.refresh_ns && context->kubelet_checked_ns &&
            np_context_now_ns() - context->kubelet_checked_ns < context->options.refresh_ns)
                return 0;
        context->kubelet_checked_ns = np_context_now_ns();
        snprintf(path, sizeof(path), "%s/%s", context->config.kubelet_root_dir, NP_KUBELET_CPU_STATE);
        if (stat(path, &st) < 0)
                st = (struct stat){};
        if (st.st_ino == context->kubelet_stat.st_ino && st.st_size == context->kubelet_stat.st_size &&
            st.st_mtim.tv_sec == context->kubelet_stat.st_mtim.tv_sec &&
            st.st_mtim.tv_nsec == context->kubelet_stat.st_mtim.tv_nsec)
                return 0; /* as last read (or still absent) */
        r = np_kubelet_load(context->config.kubelet_root_dir, diag, &kubelet);
        if (r < 0)
                return r;
        np_kubelet_clear(&context->kubelet);
        context->kubelet = kubelet;
        context->kubelet_stat = st;
        decide_with(context);
        return 1;
}

const struct np_cpulist *np_context_kubelet_assigned(const struct np_context *context, const char *pod_uid,
                                                     const char *name)
{
        if (strcmp(context->kubelet.cpu_policy, "static") != 0 || !pod_uid || !name)
                return NULL;
        return np_kubelet_assigned(&context->kubelet, pod_uid, name);
}

static void drop_loaded(struct np_context *context)
{
        context->lingering = false;
        np_ledger_close(context->ledger);
        np_topology_free(context->topology);
        np_opstats_close(context->opstats);
        context->ledger = NULL;
        context->topology = NULL;
        context->opstats = NULL;
}

int np_context_open(const struct np_context_options *options, struct np_diag *diag, struct np_context **ret_context)
{
        _cleanup_context_ struct np_context *context = calloc(1, sizeof(*context));
        int r;

        if (!context)
                return -ENOMEM;
        context->options = *options;
        context->config_required = options->config_path != NULL;
        context->config_path = strdup(options->config_path ? options->config_path : NP_CONFIG_DEFAULT_PATH);
        if (!context->config_path)
                return -ENOMEM;
        /* the resolved strings outlive the caller's: the options keep only flags given */
        context->options.config_path = NULL;
        r = np_config_load(context->config_path, context->config_required, diag, &context->config);
        if (r < 0)
                return r;
        r = resolve_settings(context, diag);
        if (r < 0)
                return r;
        decide_with(context);
        *ret_context = TAKE_PTR(context);
        return 0;
}

void np_context_free(struct np_context *context)
{
        if (!context)
                return;
        drop_loaded(context);
        np_kubelet_clear(&context->kubelet);
        free_roots(context);
        free(context->config_path);
        free(context);
}

int np_context_set_config(struct np_context *context, const char *text, size_t size, const char *what,
                          struct np_diag *diag)
{
        struct np_context candidate = *context;
        int r;

        r = text ? np_config_parse(text, size, what, diag, &candidate.config) : 0;
        if (r == 0)
                r = resolve_settings(&candidate, diag);
        if (r < 0)
                return r;
        drop_loaded(context);
        free_roots(context); /* the candidate holds new ones */
        candidate.ledger = NULL;
        candidate.topology = NULL;
        candidate.opstats = NULL;
        *context = candidate;
        /* another kubelet_root_dir, perhaps: read again at the next refresh */
        context->kubelet_stat = (struct stat){ .st_ino = (ino_t)-1 };
        context->kubelet_checked_ns = 0;
        decide_with(context);
        return 0;
}

uint64_t np_context_now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int np_context_topology(struct np_context *context, struct np_diag *diag, const struct np_topology **ret_topology)
{
        char cache_path[PATH_MAX + 32];
        uint64_t now = np_context_now_ns();
        int r;

        if (!context->topology) {
                snprintf(cache_path, sizeof(cache_path), "%s/%s", context->state_dir, NP_TOPOLOGY_CACHE);
                r = np_topology_load_cached(context->sysfs_root, context->options.uncached_topology ? NULL : cache_path,
                                            diag, &context->topology);
                if (r < 0)
                        return r;
                context->topology_read_ns = now;
        } else if (context->options.refresh_ns && now - context->topology_read_ns >= context->options.refresh_ns) {
                r = np_topology_refresh(context->topology, context->sysfs_root, diag);
                if (r < 0)
                        return r;
                context->topology_read_ns = now;
        }
        *ret_topology = context->topology;
        return 0;
}

int np_context_ledger(struct np_context *context, bool exclusive, struct np_diag *diag, struct np_ledger **ret_ledger)
{
        int r;

        /* a shared ledger cannot be relocked for a change: open it again */
        if (context->ledger && exclusive && !context->ledger_exclusive) {
                np_ledger_close(context->ledger);
                context->ledger = NULL;
        }
        if (context->lingering) {
                context->lingering = false; /* still locked, nothing changed since */
        } else if (context->ledger) {
                context->locked_ns = context->options.linger_lock ? np_context_now_ns() : 0;
                r = np_ledger_relock(context->ledger, diag);
                if (r < 0)
                        return r;
        } else {
                context->locked_ns = context->options.linger_lock ? np_context_now_ns() : 0;
                r = np_ledger_open(context->state_dir, exclusive, diag, &context->ledger);
                if (r < 0)
                        return r;
                context->ledger_exclusive = exclusive;
                np_ledger_defer_writes(context->ledger, exclusive && context->options.defer_record_writes);
        }
        *ret_ledger = context->ledger;
        return 0;
}

void np_context_unlock(struct np_context *context)
{
        if (context->options.linger_lock && context->ledger && context->ledger_exclusive && !context->batch &&
            np_context_now_ns() - context->locked_ns < NP_LOCK_LINGER_NS) {
                context->lingering = true;
                return;
        }
        np_context_release(context);
}

void np_context_release(struct np_context *context)
{
        context->lingering = false;
        if (context->ledger)
                np_ledger_unlock(context->ledger);
}

struct np_opstats *np_context_opstats(struct np_context *context)
{
        if (!context->opstats) { /* its diag only then: the NRI plugin counts each call */
                struct np_diag diag = {};

                if (np_opstats_open(context->state_dir, true, &diag, &context->opstats) < 0)
                        np_log_debug("operations are not counted: %s", diag.message);
        }
        return context->opstats;
}
