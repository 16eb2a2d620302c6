/* SPDX-License-Identifier: MIT */
/* The user's request, read from pod- and container-scoped annotations:
 * <key>.numapin.io/pod and <key>.numapin.io/container.<name>, the container
 * scope winning. Validated once into struct np_request. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cpulist.h"
#include "json.h"
#include "log.h"

#define NP_CONTAINER_NAME_MAX   63
#define NP_MAX_EXCLUSIVE_CPUS   8192
#define NP_ANNOTATION_VALUE_MAX 4096
#define NP_ANNOTATION_KEY_MAX   96 /* the longest numapin key: node-count.numapin.io/container.<63> */

enum np_policy {
        NP_POLICY_NONE,
        NP_POLICY_BIND,
        NP_POLICY_CPUS_ONLY,
        NP_POLICY_PREFERRED,
        NP_POLICY_INTERLEAVE,
};

const char *np_policy_to_string(enum np_policy policy);
int np_policy_from_string(const char *s, enum np_policy *ret_policy);

struct np_annotation {
        char *key;
        char *value;
};

/* An owned list of annotations (from the OCI state, config.json, NRI or argv). */
struct np_annotation_set {
        size_t n;
        struct np_annotation *items;
};

void np_annotations_clear(struct np_annotation_set *set);
int np_annotations_add(struct np_annotation_set *set, const char *key, const char *value);
const char *np_annotations_get(const struct np_annotation_set *set, const char *key);
/* Copies a JSON object of string values; `what` names it in messages. */
int np_annotations_from_json(struct json_object *object, const char *what, struct np_diag *diag,
                             struct np_annotation_set *ret_set);

struct np_request {
        enum np_policy policy;                          /* NP_POLICY_NONE: leave the container alone */
        bool annotated;                                 /* some numapin key applies to this container */
        bool sandbox;                                   /* a pod sandbox (pause) container */
        char container_name[NP_CONTAINER_NAME_MAX + 1]; /* "" outside Kubernetes */
        bool nodes_auto;                                /* numapin chooses the nodes */
        struct np_cpulist nodes;                        /* the explicit node list when !nodes_auto */
        unsigned int node_count;                        /* nodes `auto` may choose; 0: the fewest that fit */
        unsigned int exclusive_cpus;                    /* CPUs held by this container alone */
        bool monitor;                                   /* attach the BPF locality monitor */
        char nodes_key[NP_ANNOTATION_KEY_MAX + 1];      /* the annotation that gave nodes / node-count, */
        char node_count_key[NP_ANNOTATION_KEY_MAX + 1]; /* for messages ("" when none did) */
};

/* Builds the request of one container. `container_name` overrides the name found
 * in the CRI annotations (NULL: use them). Unannotated containers get
 * `default_policy` (from the config); sandboxes always get NP_POLICY_NONE. */
int np_annotations_parse(const struct np_annotation_set *set, const char *container_name, enum np_policy default_policy,
                         struct np_diag *diag, struct np_request *ret_request);
