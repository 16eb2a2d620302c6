# SPDX-License-Identifier: MIT
# 100 runtime restarts of build/tests/nri-harness against numapin-nri (the restarts
# scenario, tests/nri/restarts.c) on the 2socket-smt fixture: containerd restarts
# (connection and socket gone), dropped connections and plugin restarts by its
# supervisor, with containers created and removed between them and some vanishing or
# appearing while the runtime is away. After each Synchronize the plugin's ledger
# (numapinctl list --json) is the runtime's truth, and no CPU is held twice. The
# harness prints the wall time as a comment; about 12 s.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT
HARNESS=$NP_ROOT/build/tests/nri-harness
NRI=$NP_ROOT/build/numapin-nri
SYSFS=$NP_FIXTURES/2socket-smt
CONF=$NP_TMP/config.json
echo '{"monitor": false}' >"$CONF"
[ -x "$NRI" ] && [ -x "$NP_CTL" ] || skip_suite "build/numapin-nri and build/numapinctl are not built (make all)"
[ -x "$HARNESS" ] || skip_suite "build/tests/nri-harness is not built (make build/tests/nri-harness)"

mkdir -p "$NP_TMP/state" "$NP_TMP/cgroup"
start=$(date +%s%N)
out=$("$HARNESS" --plugin "$NRI" --state-dir "$NP_TMP/state" --log "$NP_TMP/plugin.log" restarts -- \
        --sysfs-root "$SYSFS" --cgroup-root "$NP_TMP/cgroup" --config "$CONF" 2>&1)
status=$?
printf '%s\n' "$out"
echo "# the harness's run, plugin starts included: $((($(date +%s%N) - start) / 1000000)) ms"
if [ "$status" -ne 0 ] && ! grep -q '^not ok' <<<"$out"; then
        fail "nri restarts: the harness ends without a failed check" "exit status $status"
fi
if [ "$status" -ne 0 ] || grep -q '^not ok' <<<"$out"; then
        echo "# plugin log (last 40 lines):"
        tail -40 "$NP_TMP/plugin.log" | sed 's/^/#   /'
fi
expect_eq "the plugin logged no error in 100 restarts" "" \
        "$(grep -E '^numapin-nri: (error|warning)' "$NP_TMP/plugin.log" | grep -v 'connection to the runtime ended' | head -3)"
