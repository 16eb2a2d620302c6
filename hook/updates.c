// SPDX-License-Identifier: MIT
/* The shared containers an outcome moved (core wrote their cgroups under the
 * ledger's lock), logged alike by the OCI hook and numapinctl (plan --commit,
 * release). */
#include "updates.h"

void log_updates(const struct np_outcome *outcome)
{
        char text[4096];

        if (outcome->repin_failures[0])
                np_log_warning("cannot re-pin shared containers: %s", outcome->repin_failures);
        if (outcome->n_updates > 0)
                np_log_info("shared containers re-pinned: %s", np_outcome_updates_text(outcome, text, sizeof(text)));
}
