# SPDX-License-Identifier: MIT
# numapin-nri driven by build/tests/nri-harness, a runtime side of NRI written apart
# from nri/: registration and Configure against NRI v0.8, v0.10 and v0.12 runtimes,
# Synchronize (paged beyond 4 MiB), container events, refusals, a runtime that goes
# away and comes back, hostile traffic, and the pre-installed mode; 2socket-smt fixture.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT
HARNESS=$NP_HARNESS
NRI=$NP_NRI
SYSFS=$NP_FIXTURES/2socket-smt
CONF=$NP_TMP/config.json
echo '{"monitor": false}' >"$CONF"
SCENARIOS=(handshake sync events errors reconnect hostile preinstalled)
[ -x "$NRI" ] || skip_suite "build/numapin-nri is not built (make build/numapin-nri)"
[ -x "$HARNESS" ] || skip_suite "build/tests/nri-harness is not built (make build/tests/nri-harness)"

# scenario NAME: runs it with a state dir and an empty cgroup root of its own; prints
# the plugin's log when a check failed.
scenario() {
        local name=$1 dir=$NP_TMP/$1 out status
        mkdir -p "$dir/state" "$dir/cgroup"
        out=$("$HARNESS" --plugin "$NRI" --state-dir "$dir/state" --log "$dir/plugin.log" "$name" -- \
                --sysfs-root "$SYSFS" --cgroup-root "$dir/cgroup" --config "$CONF" 2>&1)
        status=$?
        printf '%s\n' "$out"
        if [ "$status" -ne 0 ] && ! grep -q '^not ok' <<<"$out"; then
                fail "nri $name: the harness ends without a failed check" "exit status $status"
        fi
        if [ "$status" -ne 0 ] || grep -q '^not ok' <<<"$out"; then
                echo "# plugin log of scenario $name (last 40 lines):"
                tail -40 "$dir/plugin.log" | sed 's/^/#   /'
        fi
}

for name in "${SCENARIOS[@]}"; do
        scenario "$name"
done

# The plugin's ledger is numapin's: numapinctl reads what the scenarios left.
list=$("$NP_CTL" --config "$CONF" --state-dir "$NP_TMP/sync/state/sync" list --json 2>&1)
expect_eq "numapinctl lists the plugin's records after Synchronize (source nri)" "n1 n2 s2: nri" \
        "$(jq -r '[.containers[].id] | sort | join(" ")' <<<"$list" 2>&1): $(jq -r '[.containers[].source] | unique | join(" ")' <<<"$list" 2>&1)"
list=$("$NP_CTL" --config "$CONF" --state-dir "$NP_TMP/errors/state/errors-v012" list --json 2>&1)
expect_eq "numapinctl shows the memory-policy containers the plugin placed" "m1 preferred 1, m2 interleave 0-1" \
        "$(jq -r '[.containers[] | select(.id | startswith("m")) | "\(.id) \(.policy) \(.nodes)"] | sort | join(", ")' <<<"$list" 2>&1)"
# A record the plugin did not write (numapinctl's, the hook's) survives its Synchronize and counts.
dir=$NP_TMP/foreign
mkdir -p "$dir/state" "$dir/cgroup"
"$NP_CTL" --config "$CONF" --sysfs-root "$SYSFS" --state-dir "$dir/state" plan --commit --id from-plan \
        --annotation cpus.numapin.io/pod=2 >/dev/null
echo "create x1 pod:cpus.numapin.io/pod=2 pod:nodes.numapin.io/pod=0" >"$dir/steps"
out=$("$HARNESS" --plugin "$NRI" --state-dir "$dir/state" --log "$dir/plugin.log" script "$dir/steps" -- \
        --sysfs-root "$SYSFS" --cgroup-root "$dir/cgroup" --config "$CONF" 2>&1)
expect_eq "another front-end's record (0,16) counts after the plugin's Synchronize: x1 gets 1,17" \
        "create x1 ok cpus=1,17 mems=0" "$out"
expect_eq "and that record is kept" "from-plan plan, x1 nri" \
        "$("$NP_CTL" --config "$CONF" --state-dir "$dir/state" list --json | jq -r '[.containers[] | "\(.id) \(.source)"] | sort | join(", ")')"

leftover=$(find "$NP_TMP" -name '*.tmp*' -o -name '.#*' | head -3)
expect_eq "no temporary files left in the state dirs" "" "$leftover"
