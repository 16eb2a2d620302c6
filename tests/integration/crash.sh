#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Crash consistency: numapin-hook and numapinctl SIGKILLed at random moments of
# their runs (NUMAPIN_CRASH_KILLS landed kills, 300 by default), with the checks
# after each kill and after the next run that tests/integration/crash.py names.
# Fixture topology (2socket-smt), fake v1 cgroup tree, the real binaries.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT
for bin in "$NP_HOOK" "$NP_CTL"; do
        [ -x "$bin" ] || skip_suite "$bin is not built (make all)"
done
python3 "$NP_ROOT/tests/integration/crash.py" "$NP_HOOK" "$NP_CTL" "$NP_FIXTURES/2socket-smt" "$NP_TMP" \
        "${NUMAPIN_CRASH_KILLS:-300}"
