/* SPDX-License-Identifier: MIT */
/* The bundle's OCI runtime spec (config.json): what numapin reads from it
 * (annotations, cgroupsPath, CPU quota/period, memory limit) and the rewrite
 * of linux.resources.cpu.cpus/mems that keeps every other field. */
#pragma once

#include <limits.h>

#include "annotations.h"
#include "json.h"
#include "model.h"

#define NP_SPEC_LIMIT (4 * 1024 * 1024)

struct np_spec {
        struct json_object *root; /* kept only for the rewrite */
        int bundle_fd;
        char bundle[PATH_MAX];
        struct np_annotation_set annotations;
        char cgroups_path[PATH_MAX]; /* linux.cgroupsPath, "" when absent */
        int64_t cpu_quota;    /* linux.resources.cpu.quota, -1 when absent */
        uint64_t cpu_period;  /* linux.resources.cpu.period, NP_CPU_PERIOD_DEFAULT when absent */
        int64_t memory_limit; /* linux.resources.memory.limit, -1 when absent */
};

int np_spec_load(const char *bundle, struct np_diag *diag, struct np_spec **ret_spec);
void np_spec_free(struct np_spec *spec);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct np_spec *, np_spec_free)
#define _cleanup_spec_ _cleanup_(np_spec_freep)

/* Sets linux.resources.cpu.cpus (and .mems when the placement writes memory)
 * and replaces config.json atomically. */
int np_spec_write_cpuset(struct np_spec *spec, const struct np_placement *placement, struct np_diag *diag);
