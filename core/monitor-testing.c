// SPDX-License-Identifier: MIT
/* Test-only changes to a pinned set's tables (declared in monitor-testing.h,
 * which no numapin binary includes): the tests fake a second node with them. */
#include <errno.h>

#include <bpf/bpf.h>

#include "monitor-internal.h"
#include "monitor-testing.h"

int np_monitor_set_cpu_node(struct np_monitor *m, uint32_t cpu, uint32_t node)
{
        return bpf_map_update_elem(m->cpu_node_fd, &cpu, &node, BPF_ANY) < 0 ? -errno : 0;
}

int np_monitor_set_all_blocks_node(struct np_monitor *m, uint32_t node)
{
        unsigned int n = 0;
        int r = np_monitor_map_max_entries(m->block_node_fd, &n);

        for (__u32 b = 0; r == 0 && b < n; b++)
                if (bpf_map_update_elem(m->block_node_fd, &b, &node, BPF_ANY) < 0)
                        r = -errno;
        return r;
}
