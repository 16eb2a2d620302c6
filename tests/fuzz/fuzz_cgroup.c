// SPDX-License-Identifier: MIT
/* Fuzz target: /proc/PID/cgroup (np_cgroup_controller_path, the one parser of
 * it): the input is the file of a process in a temporary proc root, read for
 * cgroup v2 and for the v1 cpuset and memory controllers; a spec's cgroupsPath
 * (np_cgroup_path_from_spec) from the same bytes. */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../core/cgroup.h"
#include "fuzz.h"

static char proc_root[PATH_MAX];
static char cgroup_file[PATH_MAX];

static void remove_root(void)
{
        fuzz_rmtree(proc_root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        char dir[PATH_MAX];

        fuzz_mkdtemp(proc_root, sizeof(proc_root));
        atexit(remove_root);
        fuzz_path(dir, sizeof(dir), proc_root, "42");
        fuzz_mkdir(dir);
        fuzz_path(cgroup_file, sizeof(cgroup_file), dir, "cgroup");
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char path[PATH_MAX];
        struct np_diag diag = {};
        char *s;

        fuzz_write_file(cgroup_file, data, size);
        (void)np_cgroup_controller_path(proc_root, 42, NULL, &diag, path, sizeof(path));
        (void)np_cgroup_controller_path(proc_root, 42, "cpuset", &diag, path, sizeof(path));
        (void)np_cgroup_controller_path(proc_root, 42, "memory", &diag, path, sizeof(path));
        (void)np_cgroup_controller_path(proc_root, 42, "cpuset", &diag, path, 16);
        s = fuzz_string(data, size);
        (void)np_cgroup_path_from_spec(s, "abc", &diag, path, sizeof(path));
        free(s);
        return 0;
}
