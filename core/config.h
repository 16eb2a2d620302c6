/* SPDX-License-Identifier: MIT */
/* The node-wide configuration, /etc/numapin/config.json (optional). */
#pragma once

#include <limits.h>
#include <stdbool.h>

#include "model.h"
#include "cpulist.h"
#include "log.h"

#define NP_CONFIG_DEFAULT_PATH "/etc/numapin/config.json"
#define NP_STATE_DIR_DEFAULT   "/run/numapin"
#define NP_MONITOR_PIN_DEFAULT "/sys/fs/bpf/numapin"
#define NP_MONITOR_PIN_MAX     200  /* bytes of monitor_pin_dir */
#define NP_MONITOR_SLOTS       1024 /* containers watched at once, by default */
#define NP_MONITOR_SLOTS_MAX   65536
#define NP_KUBELET_ROOT_DEFAULT "/var/lib/kubelet"

enum np_on_error {
        NP_ON_ERROR_FAIL,   /* the runtime refuses the container */
        NP_ON_ERROR_IGNORE, /* the container starts unbound, with a warning */
};

/* What numapin does with containers it does not place (no numapin annotation,
 * or policy none): keep them off CPUs held exclusively, or leave them alone. */
enum np_unannotated {
        NP_UNANNOTATED_PROTECT, /* their cpuset leaves out exclusively held CPUs */
        NP_UNANNOTATED_IGNORE,  /* untouched: an exclusive CPU may then be shared with them */
};

#define NP_METRICS_EXITED_GRACE_DEFAULT 300   /* seconds: the last scrapes see the final counters */
#define NP_METRICS_EXITED_GRACE_MAX     86400

struct np_config {
        struct np_cpulist reserved_cpus; /* never given to containers */
        char state_dir[PATH_MAX];
        enum np_policy default_policy; /* for containers without numapin annotations */
        enum np_on_error on_error;
        enum np_log_level log_level;
        bool monitor;                                 /* the eBPF locality monitor */
        char monitor_pin_dir[NP_MONITOR_PIN_MAX + 1]; /* on bpffs */
        unsigned int monitor_slots;                   /* how many containers it can watch */
        enum np_unannotated unannotated;
        char kubelet_root_dir[PATH_MAX]; /* where kubelet keeps cpu_manager_state and memory_manager_state */
        unsigned int metrics_exited_grace_seconds; /* how long an exited container's series stay */
        bool seccomp; /* the processes' system call allow-lists (core/sandbox.c); false to debug */
        enum np_strategy strategy; /* how `auto` ranks the nodes that fit, where a request does not say */
};

void np_config_init(struct np_config *config);

/* Loads `path`. When `required` is false a missing file gives the defaults. */
int np_config_load(const char *path, bool required, struct np_diag *diag, struct np_config *ret_config);
/* The same from text (the NRI plugin's config arrives in Configure); `what`
 * names its origin in messages. */
int np_config_parse(const char *text, size_t size, const char *what, struct np_diag *diag,
                    struct np_config *ret_config);
