/* SPDX-License-Identifier: MIT */
/* The bundle's OCI runtime spec (config.json): what numapin reads from it
 * (annotations, cgroupsPath, CPU quota/period, memory limit, devices) and the rewrite
 * of linux.resources.cpu.cpus/mems that keeps every other byte of the file. */
#pragma once

#include <limits.h>

#include "annotations.h"
#include "json.h"
#include "jsontext.h"
#include "model.h"

#define NP_SPEC_LIMIT       (4 * 1024 * 1024)
#define NP_SPEC_DEVICES_MAX 4096

/* Where the rewrite splices linux.resources.cpu.cpus/mems into the original text. */
struct np_spec_site {
        unsigned depth;                 /* how many of linux, resources, cpu are objects in the file */
        struct np_json_span object;     /* the deepest of them (the document when none is) */
        bool null_next;                 /* the next of them is there as null: that value is replaced */
        struct np_json_span next;       /* its value then */
        bool has_cpus, has_mems;        /* with depth 3: cpu.cpus and cpu.mems are there, */
        struct np_json_span cpus, mems; /* with these values */
};

struct np_spec {
        char *text; /* config.json as read, kept for the rewrite */
        size_t size;
        struct np_spec_site site;
        bool site_known; /* false after a rewrite: site is found again by the next one */
        int bundle_fd;
        char bundle[PATH_MAX];
        struct np_annotation_set annotations;
        char cgroups_path[PATH_MAX]; /* linux.cgroupsPath, "" when absent */
        int64_t cpu_quota;           /* linux.resources.cpu.quota, -1 when absent */
        uint64_t cpu_period;         /* linux.resources.cpu.period, NP_CPU_PERIOD_DEFAULT when absent */
        int64_t memory_limit;        /* linux.resources.memory.limit, -1 when absent */
        struct np_device *devices;   /* linux.devices of types c, u (as c) and b */
        size_t n_devices;
};

int np_spec_load(const char *bundle, struct np_diag *diag, struct np_spec **ret_spec);
void np_spec_free(struct np_spec *spec);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct np_spec *, np_spec_free)
#define _cleanup_spec_ _cleanup_(np_spec_freep)

/* Sets linux.resources.cpu.cpus (and .mems when the placement writes memory)
 * and replaces config.json atomically. Only those values change (or are added,
 * with the objects above them): every other byte of the file is kept, numbers
 * beyond 64 bits, escapes, key order and whitespace included. np_spec_load
 * refuses a config.json that holds one of the keys on that path twice. */
int np_spec_write_cpuset(struct np_spec *spec, const struct np_placement *placement, struct np_diag *diag);
