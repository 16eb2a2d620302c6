// SPDX-License-Identifier: MIT
/* Fuzz target: the kernel list form ("0-3,8") as annotations and config give it
 * (np_cpulist_parse); a parsed list formats and parses back to itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../core/cpulist.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static char formatted[NP_CPULIST_BUFSIZE];
        struct np_cpulist list, again;
        struct np_diag diag = {};
        char *s = fuzz_string(data, size);

        (void)np_cpulist_parse(s, 64, "cpus", &diag, &list);
        if (np_cpulist_parse(s, NP_CPULIST_MAX, "cpus", &diag, &list) == 0) {
                if (np_cpulist_format(&list, formatted, sizeof(formatted)) < 0)
                        abort();
                if (np_cpulist_parse(formatted, NP_CPULIST_MAX, "formatted", &diag, &again) < 0 ||
                    !np_cpulist_equal(&list, &again))
                        abort();
        }
        free(s);
        return 0;
}
