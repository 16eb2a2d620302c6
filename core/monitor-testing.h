/* SPDX-License-Identifier: MIT */
/* For tests only, never included by numapin itself: rewrites a pinned set's
 * CPU and memory-block tables, so that a one-node machine fakes a second node. */
#pragma once

#include <stdint.h>

#include "monitor.h"

/* Sets the node of a CPU in a pinned set's table. */
int np_monitor_set_cpu_node(struct np_monitor *monitor, uint32_t cpu, uint32_t node);
/* Sets the node of every memory block of a pinned set's classic page table. */
int np_monitor_set_all_blocks_node(struct np_monitor *monitor, uint32_t node);
