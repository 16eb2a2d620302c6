// SPDX-License-Identifier: MIT
/* Fuzz target: the checked number parsers (np_parse_u64, np_parse_u32,
 * np_parse_sysfs_u64) and a cpulist as sysfs writes it (nodeN/cpulist, online). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../core/cpulist.h"
#include "../../core/parse.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct np_cpulist list;
        struct np_diag diag = {};
        uint64_t u64;
        uint32_t u32;
        char *s = fuzz_string(data, size);

        if (np_parse_u64(s, 0, UINT64_MAX, &u64) == 0 && np_parse_u64(s, u64, u64, &u64) < 0)
                abort();
        (void)np_parse_u64(s, 1, 1000, &u64);
        (void)np_parse_u32(s, 0, UINT32_MAX, &u32);
        (void)np_parse_u32(s, 2, 7, &u32);
        (void)np_parse_sysfs_u64(s, UINT64_MAX, &u64);
        (void)np_parse_sysfs_u64(s, 4096, &u64);
        (void)np_cpulist_parse(s, NP_CPULIST_MAX, "devices/system/node/node0/cpulist", &diag, &list);
        free(s);
        return 0;
}
