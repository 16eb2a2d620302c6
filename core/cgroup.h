/* SPDX-License-Identifier: MIT */
/* Applying a placement to the container's live cpuset cgroup, on cgroup v2 and
 * on v1 (including hybrid hosts, where cpuset is a v1 hierarchy). */
#pragma once

#include <limits.h>
#include <stdbool.h>

#include "cpulist.h"
#include "log.h"

enum np_cgroup_layout {
        NP_CGROUP_UNIFIED, /* cgroup v2 at the root */
        NP_CGROUP_LEGACY,  /* cgroup v1 cpuset at <root>/cpuset */
};

int np_cgroup_detect(const char *root, struct np_diag *diag, enum np_cgroup_layout *ret_layout);

/* The container's cgroup path (relative to the hierarchy root, starting with
 * '/') from /proc/<pid>/cgroup. */
int np_cgroup_path_from_pid(const char *proc_root, int pid, enum np_cgroup_layout layout, struct np_diag *diag,
                            char *ret_path, size_t size);
/* The same for any v1 controller's hierarchy ("memory"), or v2's with NULL:
 * the one parser of /proc/<pid>/cgroup. */
int np_cgroup_controller_path(const char *proc_root, int pid, const char *controller, struct np_diag *diag,
                              char *ret_path, size_t size);

/* The path from the spec's linux.cgroupsPath: a plain path ("/a/b" or "a/b")
 * or systemd's "slice:prefix:name" form; "" gives "/<id>". Any ".." is refused. */
int np_cgroup_path_from_spec(const char *cgroups_path, const char *id, struct np_diag *diag, char *ret_path,
                             size_t size);

/* The values a cgroup had before np_cgroup_apply(), to put them back. */
struct np_cgroup_saved {
        char *cpus;
        char *mems;
        char *memory_migrate; /* v1 only */
};
void np_cgroup_saved_clear(struct np_cgroup_saved *saved);

/* Writes cpuset.cpus (and cpuset.mems when `mems` is not NULL) of the cgroup
 * `path`, enabling cpuset in parents on v2 and memory_migrate on v1. On
 * failure nothing stays changed. Fills ret_dir with the cgroup directory. */
int np_cgroup_apply(const char *root, enum np_cgroup_layout layout, const char *path, const struct np_cpulist *cpus,
                    const struct np_cpulist *mems, struct np_diag *diag, struct np_cgroup_saved *ret_saved,
                    char *ret_dir, size_t dir_size);
int np_cgroup_revert(const char *root, enum np_cgroup_layout layout, const char *path,
                     const struct np_cgroup_saved *saved);

/* The directory of cgroup `path` under `root`: <root>[/cpuset]<path>. */
int np_cgroup_dir(const char *root, enum np_cgroup_layout layout, const char *path, char *ret_dir, size_t size);

/* The container's cgroup path: its init's (`pid` > 0, from /proc/<pid>/cgroup
 * under `proc_root`), else the spec's `cgroups_path` (NULL or "": /<id>). The
 * spec's path is validated either way. */
int np_cgroup_locate(const char *root, const char *proc_root, enum np_cgroup_layout layout, int pid,
                     const char *cgroups_path, const char *id, struct np_diag *diag, char *ret_path, size_t size);

/* Writes cpuset.cpus of the cgroup directory `dir` (re-pinning a running
 * container); -ENOENT without a message when the cgroup is gone. */
int np_cgroup_write_cpus(const char *dir, const struct np_cpulist *cpus, struct np_diag *diag);
/* The CPUs cpuset.cpus of the cgroup directory `dir` lists now; -ENOENT when
 * the cgroup is gone, -EINVAL when the file does not hold a CPU list. */
int np_cgroup_read_cpus(const char *dir, struct np_cpulist *ret_cpus);
