// SPDX-License-Identifier: MIT
/* Fuzz target: the node's configuration (config.json, or the NRI plugin's from
 * Configure) through np_config_parse. */
#include <stddef.h>
#include <stdint.h>

#include "../../core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct np_config config;
        struct np_diag diag = {};

        (void)np_config_parse((const char *)data, size, "fuzz config", &diag, &config);
        return 0;
}
