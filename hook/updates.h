/* SPDX-License-Identifier: MIT */
/* What the OCI hook and numapinctl do alike with an outcome's changes to other
 * containers, which core has written into their cgroups: log them once. */
#pragma once

#include "../core/lifecycle.h"

/* A warning names the re-pins that failed, an info line lists the ones made. */
void log_updates(const struct np_outcome *outcome);
