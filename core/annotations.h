/* SPDX-License-Identifier: MIT */
/* The user's request, read from pod- and container-scoped annotations:
 * <key>.numapin.io/pod and <key>.numapin.io/container.<name>, the container
 * scope winning. Validated once into struct np_request. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cpulist.h"
#include "jsontext.h"
#include "log.h"
#include "model.h"

/* Who an annotation key belongs to, from its exact bytes. The hook and the NRI
 * plugin both ask this one function, and copy only what is not foreign. */
enum np_annotation_owner {
        NP_ANNOTATION_FOREIGN, /* someone else's: carried through untouched, never read */
        NP_ANNOTATION_NUMAPIN, /* the part before the first '/' (all of a key without one) is
                                * numapin.io or ends in .numapin.io: numapin's, well-formed or
                                * not (np_annotations_parse refuses a malformed one) */
        NP_ANNOTATION_CRI,     /* one of the CRI keys that name the container or the pod */
};
enum np_annotation_owner np_annotations_classify(const char *key, size_t key_len);

void np_annotations_clear(struct np_annotation_set *set);
int np_annotations_add(struct np_annotation_set *set, const char *key, const char *value);
/* The same for keys and values of explicit length, which may hold NUL bytes. */
int np_annotations_add_bytes(struct np_annotation_set *set, const char *key, size_t key_len, const char *value,
                             size_t value_len);
/* The value of the last annotation whose key is exactly `key`, or NULL. */
const char *np_annotations_get(const struct np_annotation_set *set, const char *key);
/* The relevant annotations of a container: its own, then its pod's where the
 * container has no value for the same key. */
int np_annotations_merge(const struct np_annotation_set *container, const struct np_annotation_set *pod,
                         struct np_annotation_set *ret_set);
/* Copies the annotations that are not foreign from `object`, the span of a JSON
 * object in `text` (already validated by np_json_parse), with their exact bytes.
 * Foreign members are skipped whatever they hold; numapin's and the CRI keys must
 * have string values. `what` names the object in messages. */
int np_annotations_from_jsontext(const char *text, struct np_json_span object, const char *what, struct np_diag *diag,
                                 struct np_annotation_set *ret_set);

/* Builds the request of one container. `container_name` overrides the name found
 * in the CRI annotations (NULL: use them). Unannotated containers get
 * `default_policy` (from the config); sandboxes always get NP_POLICY_NONE. */
int np_annotations_parse(const struct np_annotation_set *set, const char *container_name, enum np_policy default_policy,
                         struct np_diag *diag, struct np_request *ret_request);
/* Sets the pod's namespace and name (NULL or "": left as they are), each checked
 * as np_annotations_parse checks the container's name. */
int np_request_set_pod(struct np_request *request, const char *namespace, const char *name, struct np_diag *diag);
