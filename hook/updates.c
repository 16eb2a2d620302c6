// SPDX-License-Identifier: MIT
/* The shared containers an outcome moves, written in their cgroups by the
 * front-ends that reach containers only through their cgroups: the OCI hook
 * and numapinctl (plan --commit, release). */
#include "updates.h"

void write_updates(const struct np_outcome *outcome)
{
        char failures[4096], text[4096];

        np_outcome_write_cgroups(outcome, false, failures, sizeof(failures));
        if (failures[0])
                np_log_warning("cannot re-pin shared containers: %s", failures);
        if (outcome->n_updates > 0)
                np_log_info("shared containers re-pinned: %s", np_outcome_updates_text(outcome, text, sizeof(text)));
}
