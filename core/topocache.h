/* SPDX-License-Identifier: MIT */
/* A cache of the static topology (nodes, CPUs, cores, caches, distances) in the
 * state dir, so that a hook does not read thousands of sysfs files for every
 * container on a large machine. */
#pragma once

#include "topology.h"

/* The cache file's name in the state dir. */
#define NP_TOPOLOGY_CACHE "topology.cache"

/* Loads the topology like np_topology_load(), reusing the static part from
 * `cache_path` when it was written for the same sysfs root, node/online and
 * cpu/online. Memory and isolated CPUs are always read live. On a miss the
 * cache is rewritten (atomically; a failure to write it is not an error). A
 * NULL cache_path loads without a cache. */
int np_topology_load_cached(const char *sysfs_root, const char *cache_path, struct np_diag *diag,
                            struct np_topology **ret_topology);
