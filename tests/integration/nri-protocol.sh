# SPDX-License-Identifier: MIT
# numapin-nri driven through the NRI wire protocol by build/tests/nri-runtime, the
# runtime's side as containerd and CRI-O speak it: registration, Configure (before
# and after the RegisterPlugin answer, with and without NRI v0.12), paged
# Synchronize, container events, refusals, a runtime that goes away and comes
# back, hostile traffic, and the pre-installed start on a socketpair.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT
RUNTIME=$NP_ROOT/build/tests/nri-runtime
NRI=$NP_ROOT/build/numapin-nri
SCENARIOS=(protocol memory-policy configure-first paged-sync reconnect hostile preinstalled)
TESTS=("${SCENARIOS[@]/#/nri-runtime }")
[ -x "$NRI" ] || skip_all "build/numapin-nri is not built (make build/numapin-nri)"
[ -x "$RUNTIME" ] || skip_all "build/tests/nri-runtime is not built (make build/tests/nri-runtime)"

for scenario in "${SCENARIOS[@]}"; do
        dir=$NP_TMP/$scenario
        mkdir -p "$dir/cgroup"
        # the plugin's log is shown when a scenario fails
        if ! timeout 120 "$RUNTIME" --plugin "$NRI" --dir "$dir" --sysfs-root "$NP_FIXTURES/2socket-smt" \
                --cgroup-root "$dir/cgroup" "$scenario"; then
                fail "nri-runtime $scenario" "exit status $?; the plugin's log: $(tail -c 600 "$dir/plugin.log" 2>/dev/null | tr '\n' '|')"
        fi
done
