// SPDX-License-Identifier: MIT
/* Fuzz target: annotations as JSON text (np_annotations_from_jsontext) and the request
 * they give (np_annotations_parse), with and without a container name, for each
 * default policy; then the same set merged as a pod's under an empty container's. */
#include <stddef.h>
#include <stdint.h>

#include "../../core/annotations.h"
#include "../../core/json.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_json_ struct json_object *object = NULL;
        struct np_annotation_set set = {}, empty = {}, merged = {};
        struct np_json_span root;
        struct np_request request;
        struct np_diag diag = {};

        if (np_json_parse((const char *)data, size, 1024 * 1024, "annotations", &diag, &object) < 0)
                return 0;
        if (!json_object_is_type(object, json_type_object))
                return 0;
        /* json-c took it: the scanner must take it too */
        if (np_jsontext_root((const char *)data, size, &root, NULL) < 0)
                fuzz_die("np_jsontext_root refuses JSON that np_json_parse took");
        if (np_annotations_from_jsontext((const char *)data, root, "annotations", &diag, &set) < 0)
                return 0;
        (void)np_annotations_parse(&set, NULL, NP_POLICY_NONE, &diag, &request);
        (void)np_annotations_parse(&set, "app", NP_POLICY_BIND, &diag, &request);
        (void)np_annotations_parse(&set, NULL, NP_POLICY_CPUS_ONLY, &diag, &request);
        if (np_annotations_merge(&empty, &set, &merged) == 0) {
                (void)np_annotations_parse(&merged, "app", NP_POLICY_NONE, &diag, &request);
                np_annotations_clear(&merged);
        }
        np_annotations_clear(&set);
        return 0;
}
