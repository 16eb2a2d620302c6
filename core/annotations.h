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
#include "model.h"

void np_annotations_clear(struct np_annotation_set *set);
int np_annotations_add(struct np_annotation_set *set, const char *key, const char *value);
const char *np_annotations_get(const struct np_annotation_set *set, const char *key);
/* Whether an annotation is one numapin reads: its own keys, and the CRI keys
 * that name the container or mark a pod sandbox. */
bool np_annotations_relevant(const char *key);
/* The relevant annotations of a container: its own, then its pod's where the
 * container has no value for the same key. */
int np_annotations_merge(const struct np_annotation_set *container, const struct np_annotation_set *pod,
                         struct np_annotation_set *ret_set);
/* Copies the relevant annotations of a JSON object of string values; `what`
 * names it in messages. */
int np_annotations_from_json(struct json_object *object, const char *what, struct np_diag *diag,
                             struct np_annotation_set *ret_set);

/* Builds the request of one container. `container_name` overrides the name found
 * in the CRI annotations (NULL: use them). Unannotated containers get
 * `default_policy` (from the config); sandboxes always get NP_POLICY_NONE. */
int np_annotations_parse(const struct np_annotation_set *set, const char *container_name, enum np_policy default_policy,
                         struct np_diag *diag, struct np_request *ret_request);
/* Sets the pod's namespace and name (NULL or "": left as they are), each checked
 * as np_annotations_parse checks the container's name. */
int np_request_set_pod(struct np_request *request, const char *namespace, const char *name, struct np_diag *diag);
