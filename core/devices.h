/* SPDX-License-Identifier: MIT */
/* Where a container's devices sit: the NUMA node of each device's PCI function,
 * from sysfs (/sys/dev/char/MAJ:MIN, /sys/dev/block/MAJ:MIN, walked up to the
 * first device directory with a numa_node) and, for NVIDIA's /dev/nvidiaN, which
 * has no sysfs character device, from the driver's
 * /proc/driver/nvidia/gpus/<bus>/information. */
#pragma once

#include <stddef.h>

#include "cpulist.h"
#include "log.h"
#include "model.h"

/* The NUMA node of one device (below `sysfs_root` and `proc_root`, standing for
 * /sys and /proc): 0 with *ret_node >= 0; 0 with *ret_node = -1 when the device is
 * known but has no NUMA node (numa_node -1, no PCI function above it); -ENOENT
 * when sysfs does not know MAJ:MIN; another error (with diag) for a file that
 * cannot be read or is malformed. `ret_where` (may be NULL) gets what was read:
 * "0000:3b:00.0" or the sysfs path. */
int np_device_numa_node(const char *sysfs_root, const char *proc_root, const struct np_device *device,
                        struct np_diag *diag, int *ret_node, char *ret_where, size_t where_size);

/* The nodes of a container's devices, and a note for the placement's reason:
 * "/dev/nvidia0 on node 1, /dev/nvme0n1 on node 0" plus what was left out
 * ("/dev/null has no NUMA node", "/dev/foo (c 240:3) is not in sysfs"), cut to
 * note_size. Devices without a node are left out; never fails for one device's
 * sake (a malformed sysfs file is noted, not fatal); -ENOMEM only. */
int np_devices_nodes(const char *sysfs_root, const char *proc_root, const struct np_device *devices, size_t n_devices,
                     struct np_cpulist *ret_nodes, char *note, size_t note_size);
