// SPDX-License-Identifier: MIT
/* Fuzz target: the OCI state JSON a runtime writes on the hook's stdin
 * (np_state_parse), then the request built from its annotations. */
#include <stddef.h>
#include <stdint.h>

#include "../../core/annotations.h"
#include "../../core/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct np_state state = {};
        struct np_request request;
        struct np_diag diag = {};

        if (np_state_parse((const char *)data, size, &diag, &state) < 0)
                return 0;
        if (state.has_annotations)
                (void)np_annotations_parse(&state.annotations, NULL, NP_POLICY_NONE, &diag, &request);
        np_state_clear(&state);
        return 0;
}
