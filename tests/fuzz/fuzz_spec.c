// SPDX-License-Identifier: MIT
/* Fuzz target: a bundle's config.json (np_spec_load, from a bundle folder in a
 * temporary folder: there is no API from a buffer), the request from its
 * annotations, and the cpuset rewrite (np_spec_write_cpuset), whose result must
 * load again and hold the values written. */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/annotations.h"
#include "../../core/spec.h"
#include "fuzz.h"

static char bundle[PATH_MAX];
static char config_json[PATH_MAX];

static void remove_bundle(void)
{
        fuzz_rmtree(bundle);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        fuzz_mkdtemp(bundle, sizeof(bundle));
        atexit(remove_bundle);
        fuzz_path(config_json, sizeof(config_json), bundle, "config.json");
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_spec_ struct np_spec *spec = NULL;
        _cleanup_spec_ struct np_spec *again = NULL;
        struct np_placement placement = { .policy = NP_POLICY_BIND, .write_mems = true };
        struct np_request request;
        struct np_diag diag = {};

        fuzz_write_file(config_json, data, size);
        if (np_spec_load(bundle, &diag, &spec) < 0)
                return 0;
        (void)np_annotations_parse(&spec->annotations, NULL, NP_POLICY_NONE, &diag, &request);
        np_cpulist_set(&placement.nodes, 1);
        np_cpulist_set(&placement.mems, 1);
        for (unsigned int cpu = 8; cpu < 16; cpu++)
                np_cpulist_set(&placement.cpus, cpu);
        if (np_spec_write_cpuset(spec, &placement, &diag) < 0)
                return 0;
        /* what numapin wrote, numapin reads */
        if (np_spec_load(bundle, &diag, &again) < 0)
                fuzz_die("the rewritten config.json does not load: %s", diag.message);
        if (!again->site.has_cpus || !again->site.has_mems ||
            again->site.cpus.end - again->site.cpus.start != 6 ||
            memcmp(again->text + again->site.cpus.start, "\"8-15\"", 6) != 0 ||
            memcmp(again->text + again->site.mems.start, "\"1\"", 3) != 0)
                fuzz_die("the rewritten config.json does not hold the cpuset written");
        return 0;
}
