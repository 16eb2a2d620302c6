/* SPDX-License-Identifier: MIT */
/* numapin's value types, shared by the input modules (annotations, spec, state,
 * NRI) and the decision modules (policy, ledger, lifecycle): the container id
 * rule, the memory policy, where a record came from, a container's request,
 * its demand and its placement, and the input every front-end fills. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpulist.h"

#define NP_ID_MAX               200
#define NP_CONTAINER_NAME_MAX   63
#define NP_POD_NAME_MAX         253 /* a DNS subdomain, Kubernetes' limit for a pod's name */
#define NP_NAMESPACE_MAX        63  /* a DNS label */
#define NP_MAX_EXCLUSIVE_CPUS   8192
#define NP_ANNOTATION_VALUE_MAX 4096
#define NP_ANNOTATION_KEY_MAX   96     /* the longest numapin key: memory-tier.numapin.io/container.<63> */
#define NP_CPU_PERIOD_DEFAULT   100000 /* microseconds, the kernel's and the OCI spec's default */
#define NP_CPU_PERIOD_MAX       1000000

/* Container ids: 1-200 of A-Z a-z 0-9 _ + . - , not starting with a dot. */
bool np_id_valid(const char *id);
/* Kubernetes names as numapin takes them (Kubernetes allows fewer): 1-`max` of
 * A-Z a-z 0-9 _ . - starting with a letter or digit. */
bool np_name_valid(const char *name, size_t max);

enum np_policy {
        NP_POLICY_NONE,
        NP_POLICY_BIND,
        NP_POLICY_CPUS_ONLY,
        NP_POLICY_PREFERRED,
        NP_POLICY_INTERLEAVE,
};

const char *np_policy_to_string(enum np_policy policy);
int np_policy_from_string(const char *s, enum np_policy *ret_policy);

/* Who placed a container: the OCI hook, the NRI plugin or `numapinctl plan --commit`. */
enum np_source {
        NP_SOURCE_UNKNOWN,
        NP_SOURCE_HOOK,
        NP_SOURCE_NRI,
        NP_SOURCE_PLAN,
};

const char *np_source_to_string(enum np_source source);
/* Unknown words give NP_SOURCE_UNKNOWN (a record written by a newer build). */
enum np_source np_source_from_string(const char *s);

/* Who a container is in Kubernetes, for the labels of its metrics: "" outside it,
 * or where neither the CRI annotations nor the runtime said. */
struct np_names {
        char namespace[NP_NAMESPACE_MAX + 1];
        char pod[NP_POD_NAME_MAX + 1];
        char container[NP_CONTAINER_NAME_MAX + 1];
};

/* What a container will use, from its CPU quota/period and memory limit. */
struct np_demand {
        uint64_t cpu_millis;   /* from the CPU quota/period, 0 when unlimited */
        uint64_t memory_bytes; /* from the memory limit, 0 when unlimited */
};

/* scope.numapin.io: whether the container is placed on its own or on the node set of
 * its pod, which the pod's first placed container chooses. */
enum np_scope {
        NP_SCOPE_CONTAINER,
        NP_SCOPE_POD,
};

/* How `auto` ranks the nodes that fit (strategy.numapin.io, the config's "strategy"). */
enum np_strategy {
        NP_STRATEGY_DEFAULT, /* the config's (a request that does not say) */
        NP_STRATEGY_SPREAD,  /* the most free capacity first: containers spread out */
        NP_STRATEGY_PACK,    /* the least free capacity that fits first: whole nodes stay free */
};

/* Which nodes' memory `auto` gives (memory-tier.numapin.io). */
enum np_memory_tier {
        NP_MEMORY_TIER_LOCAL,    /* the chosen nodes' own memory only (never a memory-only node) */
        NP_MEMORY_TIER_EXTENDED, /* also the memory-only nodes (CXL, HBM, GPU memory) nearest to them */
};

const char *np_scope_to_string(enum np_scope scope);
const char *np_strategy_to_string(enum np_strategy strategy);
const char *np_memory_tier_to_string(enum np_memory_tier tier);

#define NP_DEVICE_NOTE_MAX 512

/* What a container asks for, from its annotations, and (filled by core from its
 * devices and its pod, never from annotations) where they pull it. */
struct np_request {
        enum np_policy policy;                          /* NP_POLICY_NONE: leave the container alone */
        bool annotated;                                 /* some numapin key applies to this container */
        bool sandbox;                                   /* a pod sandbox (pause) container */
        char container_name[NP_CONTAINER_NAME_MAX + 1]; /* "" outside Kubernetes */
        char pod_namespace[NP_NAMESPACE_MAX + 1];       /* "" when unknown */
        char pod_name[NP_POD_NAME_MAX + 1];             /* "" when unknown */
        bool nodes_auto;                                /* numapin chooses the nodes */
        struct np_cpulist nodes;                        /* the explicit node list when !nodes_auto */
        unsigned int node_count;                        /* nodes `auto` may choose; 0: the fewest that fit */
        unsigned int exclusive_cpus;                    /* CPUs held by this container alone */
        bool monitor;                                   /* attach the BPF locality monitor */
        char nodes_key[NP_ANNOTATION_KEY_MAX + 1];      /* the annotation that gave nodes / node-count, */
        char node_count_key[NP_ANNOTATION_KEY_MAX + 1]; /* for messages ("" when none did) */
        enum np_scope scope;
        enum np_strategy strategy;
        enum np_memory_tier memory_tier;
        bool device_affinity; /* devices.numapin.io: auto (true, the default) or ignore */

        /* filled by core (np_input_request and the ledger), not by annotations: */
        struct np_cpulist device_nodes;      /* the NUMA nodes of its devices; `auto` goes nearest to them */
        char device_note[NP_DEVICE_NOTE_MAX]; /* "/dev/nvidia0 on node 1" for the reason; also the devices
                                              * ignored ("/dev/sda has no NUMA node"); "" without devices */
        char pod_id[NP_ID_MAX + 1];          /* the pod sandbox's id, "" when unknown */
        bool pod_nodes_fixed;                /* pod scope: another container of the pod holds nodes */
        struct np_cpulist pod_nodes;         /* ...these: this one goes there or is refused */
        struct np_demand pod_demand;         /* pod scope, the pod's first container: the whole pod's demand
                                              * where the front-end knows it (NRI), else zero */
};

struct np_diag;
/* The demand of a container from its CPU quota/period (microseconds) and memory
 * limit (bytes), as the OCI spec and NRI give them (quota or limit < 0:
 * unlimited; period 0 is refused). */
int np_demand_from_limits(int64_t cpu_quota, uint64_t cpu_period, int64_t memory_limit, struct np_diag *diag,
                          struct np_demand *ret_demand);

struct np_placement {
        enum np_policy policy;
        struct np_cpulist nodes;          /* the chosen nodes */
        struct np_cpulist cpus;           /* cpuset.cpus */
        struct np_cpulist mems;           /* cpuset.mems (for cpus-only: every memory node) */
        struct np_cpulist exclusive_cpus; /* the part of cpus held by this container alone */
        bool write_mems;                  /* false when memory is left alone */
        struct np_demand demand;
        char reason[1024];
};

/* Bytes as the runtime gave them, NUL-terminated for convenience, but a key or value
 * may hold NUL bytes or invalid UTF-8: the lengths are the truth. */
struct np_annotation {
        char *key;
        size_t key_len;
        char *value;
        size_t value_len;
};

/* An owned list of annotations (from the OCI state, config.json, NRI or argv). */
struct np_annotation_set {
        size_t n;
        struct np_annotation *items;
};

/* A device given to a container, as the OCI spec and NRI give it. */
struct np_device {
        const char *path; /* in the container, for messages; NULL when not given */
        char type;        /* 'c' character, 'b' block (OCI's 'u' is a character device too) */
        uint32_t major, minor;
};

/* One container as a front-end saw it: the hook from the OCI state and
 * config.json, the NRI plugin from the runtime's request, numapinctl from its
 * flags. Nothing here is validated yet; core does that once. Borrowed: the
 * strings and sets stay the front-end's. */
struct np_input {
        const char *id;
        const char *name;         /* the container's name; NULL: from the CRI annotations */
        const char *pod;          /* the pod sandbox's id, NULL when unknown */
        const char *pod_uid;      /* the pod's Kubernetes uid (kubelet's key), NULL when unknown */
        const char *pod_name;      /* the pod's name and namespace; NULL: from the CRI annotations */
        const char *pod_namespace;
        int pid;                  /* its init, 0 when not known yet */
        const char *cgroups_path; /* linux.cgroupsPath, NULL or "" when absent */
        bool locate_cgroup;       /* the cgroup exists already: find it at placement */
        /* Both scopes' keys may be in either set; a key in both takes the container's value. */
        const struct np_annotation_set *container_annotations;
        const struct np_annotation_set *pod_annotations;
        int64_t cpu_quota;    /* microseconds per period, < 0 unlimited */
        uint64_t cpu_period;  /* 0: NP_CPU_PERIOD_DEFAULT */
        int64_t memory_limit; /* bytes, < 0 unlimited */
        /* the whole pod's limits where the front-end knows them (NRI's pod resources);
         * < 0: unknown */
        int64_t pod_cpu_quota;
        uint64_t pod_cpu_period;
        int64_t pod_memory_limit;
        /* the devices of linux.devices (the hook) or of the NRI container */
        const struct np_device *devices;
        size_t n_devices;
};

/* An input with nothing known: unlimited, the default period. */
#define NP_INPUT_INIT                                                                                                  \
        {                                                                                                              \
                .cpu_quota = -1, .memory_limit = -1, .pod_cpu_quota = -1, .pod_memory_limit = -1                       \
        }
