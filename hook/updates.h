/* SPDX-License-Identifier: MIT */
/* What the OCI hook and numapinctl do alike with an outcome's changes to other
 * containers: write them into their cgroups and log the result once. */
#pragma once

#include "../core/lifecycle.h"

/* Writes each update's CPUs into its container's cgroup; a warning names the
 * ones that failed, an info line lists the ones re-pinned. */
void write_updates(const struct np_outcome *outcome);
