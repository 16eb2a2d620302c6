# SPDX-License-Identifier: MIT
# The OCI hook and the NRI plugin decide alike: one sequence of containers (bind,
# exclusive CPUs, explicit nodes, cpus-only, node-count, container-scoped keys, a
# stop, refusals, keys holding a NUL byte, someone else's keys of any form) placed
# once by numapin-hook createRuntime/poststop and once by numapin-nri through the
# harness, then the two ledgers and the cpusets compared.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT
HARNESS=$NP_HARNESS
NRI=$NP_NRI
SYSFS=$NP_FIXTURES/2socket-smt
CONF=$NP_TMP/config.json
echo '{"monitor": false}' >"$CONF"
[ -x "$NRI" ] || skip_suite "build/numapin-nri is not built (make build/numapin-nri)"
[ -x "$HARNESS" ] || skip_suite "build/tests/nri-harness is not built (make build/tests/nri-harness)"
[ -x "$NP_HOOK" ] || skip_suite "build/numapin-hook is not built (make)"

# Each step: "create ID KEY=VALUE..." in the harness's line format (name=, pod:ANNOTATION=,
# quota=, period=, memory=) or "stop ID". Later placements depend on the earlier ones, and
# every release and exclusive placement re-pins the shared containers on both paths.
STEPS=(
        "create d1 name=app pod:policy.numapin.io/pod=bind quota=200000 period=100000 memory=1073741824"
        "create d2 name=db pod:cpus.numapin.io/pod=4 quota=400000 period=100000 memory=2147483648"
        "create d3 name=web pod:nodes.numapin.io/pod=1 memory=536870912"
        "create d4 name=batch pod:policy.numapin.io/pod=cpus-only quota=400000 period=100000"
        "create d5 name=big pod:node-count.numapin.io/pod=2 pod:cpus.numapin.io/pod=6 memory=4294967296"
        "create d6 name=side pod:policy.numapin.io/pod=bind pod:cpus.numapin.io/container.side=2 pod:nodes.numapin.io/container.side=0"
        "create d7 name=odd pod:cpus.numapin.io/pod=3 quota=300000 period=100000"
        "create d8 name=huge pod:policy.numapin.io/pod=bind memory=107374182400"
        "create d9 name=plain pod:policy.numapin.io/pod=none"
        "create d10 name=bad pod:nodes.numapin.io/pod=5"
        "stop d2"
        "create d11 name=late pod:policy.numapin.io/pod=bind quota=100000 period=100000 memory=1073741824"
        "create d12 name=again pod:cpus.numapin.io/pod=4 memory=1073741824"
        "create d13 name=pair pod:node-count.numapin.io/pod=2 pod:policy.numapin.io/pod=cpus-only"
        # releases that give exclusive CPUs back, a shared one's that gives none, a re-take
        "stop d5"
        "stop d1"
        "create d14 name=after pod:cpus.numapin.io/pod=2 pod:nodes.numapin.io/pod=0"
        "stop d7"
        "stop d14"
        # a key cut at its NUL would be cpus.numapin.io/pod: refused, naming the key, on both paths
        "create d15 name=nulkey pod:cpus.numapin.io/pod=1 pod:cpus.numapin.io/pod\\x00x=3"
        "create d16 name=nulvalue pod:nodes.numapin.io/pod=0\\x001"
        # someone else's keys are not read, whatever they hold
        "create d17 name=foreign pod:example.com/other=a\\x00b pod:cpus.numapin.io\\x00/pod=5 pod:cpus.numapin.io/pod=1"
        "create d18 name=longforeign pod:example.com/$(printf 'k%.0s' {1..330})=1 pod:policy.numapin.io/pod=bind"
        # numapin's keys malformed or too long: refused on both paths
        "create d19 name=bare pod:foo.numapin.io=1"
        "create d20 name=long pod:cpus.numapin.io/container.$(printf 'n%.0s' {1..330})=1"
        "stop d17"
        "stop d18"
)

# --- (a) the OCI hook, as tests/integration/hook.sh runs it ----------------------------
A=$NP_TMP/hook-state CG=$NP_TMP/cgroup
mkdir -p "$CG/cpuset"
echo 0-31 >"$CG/cpuset/cpuset.cpus"
echo 0-1 >"$CG/cpuset/cpuset.mems"
declare -A hook_status hook_err
for step in "${STEPS[@]}"; do
        read -r cmd id rest <<<"$step"
        B=$NP_TMP/bundles/$id
        if [ "$cmd" = create ]; then
                mkdir -p "$B" "$CG/cpuset/$id"
                echo 0-31 >"$CG/cpuset/$id/cpuset.cpus"
                echo 0-1 >"$CG/cpuset/$id/cpuset.mems"
                echo 0 >"$CG/cpuset/$id/cpuset.memory_migrate"
                name=main annotations='{}' cpu='{}' memory='{}'
                for token in $rest; do
                        key=${token%%=*} value=${token#*=}
                        case $key in
                        name) name=$value ;;
                        pod:*) annotations=$(jq -c --arg k "${key#pod:}" --arg v "$value" '. + {($k): $v}' <<<"$annotations") ;;
                        quota | period) cpu=$(jq -c --arg k "$key" --argjson v "$value" '. + {($k): $v}' <<<"$cpu") ;;
                        memory) memory=$(jq -c --argjson v "$value" '{limit: $v}' <<<"$memory") ;;
                        esac
                done
                # containerd's annotation passthrough: the pod's annotations and the CRI ones;
                # the harness's \xNN (a NUL here) is JSON's \u00NN
                annotations=$(jq -c --arg n "$name" --arg p "pod-$id" '. + {"io.kubernetes.cri.container-type": "container",
                        "io.kubernetes.cri.container-name": $n, "io.kubernetes.cri.sandbox-id": $p}' <<<"$annotations" |
                        sed 's/\\\\x\([0-9a-fA-F][0-9a-fA-F]\)/\\u00\1/g')
                jq -n --argjson a "$annotations" --argjson cpu "$cpu" --argjson mem "$memory" --arg cg "/$id" '{
                        ociVersion: "1.0.2", process: {args: ["sleep", "infinity"], cwd: "/"}, root: {path: "rootfs"},
                        annotations: $a,
                        linux: {cgroupsPath: $cg, resources: ({cpu: $cpu, memory: $mem} | with_entries(select(.value != {})))}
                }' >"$B/config.json"
                jq -n --arg id "$id" --arg b "$B" --argjson a "$annotations" \
                        '{ociVersion: "1.0.2", id: $id, status: "creating", bundle: $b, annotations: $a}' >"$NP_TMP/state.json"
                stage=createRuntime
        else
                jq -n --arg id "$id" --arg b "$B" '{ociVersion: "1.0.2", id: $id, status: "stopped", bundle: $b}' >"$NP_TMP/state.json"
                stage=poststop
        fi
        "$NP_HOOK" --sysfs-root "$SYSFS" --cgroup-root "$CG" --state-dir "$A" --config "$CONF" "$stage" \
                <"$NP_TMP/state.json" >/dev/null 2>"$NP_TMP/hook.err"
        hook_status[$cmd-$id]=$?
        hook_err[$cmd-$id]=$(cat "$NP_TMP/hook.err")
done

# --- (b) the NRI plugin, driven by the harness -----------------------------------------
NB=$NP_TMP/nri-state
mkdir -p "$NB" "$NP_TMP/nri-cgroup"
printf '%s\n' "${STEPS[@]}" >"$NP_TMP/steps"
out=$("$HARNESS" --plugin "$NRI" --state-dir "$NB" --log "$NP_TMP/plugin.log" script "$NP_TMP/steps" -- \
        --sysfs-root "$SYSFS" --cgroup-root "$NP_TMP/nri-cgroup" --config "$CONF" 2>&1)
harness_status=$?
expect_status "the harness runs the sequence through numapin-nri" 0 "$harness_status"
declare -A nri_line
while read -r cmd id verdict rest; do
        [ -n "$id" ] && nri_line[$cmd-$id]="$verdict $rest"
done < <(grep -E '^(create|stop) ' <<<"$out")

# --- the same decisions ---------------------------------------------------------------
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
declare -A nri_cpus # each container's cpuset as the plugin last set it (adjustment, then updates)
for step in "${STEPS[@]}"; do
        read -r cmd id _ <<<"$step"
        line=${nri_line[$cmd-$id]:-}
        hstatus=${hook_status[$cmd-$id]}
        if [ -z "$line" ]; then
                fail "$cmd $id: the plugin answered" "no line in the harness output: $(tail -3 <<<"$out")"
                continue
        fi
        for update in $(grep -o 'update=[^ ]*' <<<"$line"); do
                IFS=: read -r _ uid ucpus _ <<<"${update/=/:}"
                nri_cpus[$uid]=$ucpus
        done
        if [ "$cmd" = stop ]; then
                expect_eq "stop $id: poststop and StopContainer both succeed" "0 ok" "$hstatus ${line%% *}"
                unset "nri_cpus[$id]"
                continue
        fi
        if [[ $line == error* ]]; then
                msg=${line#error * }
                same_refusal() {
                        [ "$hstatus" -ne 0 ] && [[ ${hook_err[$cmd-$id]} == *"$msg"* ]] ||
                                why "hook exit $hstatus '${hook_err[$cmd-$id]}', plugin '$line'"
                }
                check "create $id: both refuse it, for the same reason" same_refusal
                continue
        fi
        if [ "$hstatus" -ne 0 ]; then
                fail "create $id: both place it" "the hook refused (exit $hstatus): ${hook_err[$cmd-$id]}; the plugin: $line"
                continue
        fi
        nri_cpus[$id]=$(field cpus "$line")
        want="$(jq -r '.linux.resources.cpu.cpus // "-"' "$NP_TMP/bundles/$id/config.json") $(jq -r '.linux.resources.cpu.mems // "-"' "$NP_TMP/bundles/$id/config.json")"
        expect_eq "create $id: the plugin's adjustment (cpus mems) equals the hook's config.json" "$want" \
                "$(field cpus "$line") $(field mems "$line")"
done

# every container's cpuset in the end: the hook's cgroup (written at create and by re-pinning)
# against the plugin's adjustment and the updates it returned since
for id in $(printf '%s\n' "${!nri_cpus[@]}" | sort -V); do
        [ "${nri_cpus[$id]}" = - ] && continue
        expect_eq "$id: its cpuset in the end, hook cgroup against plugin adjustment and updates" \
                "$(cat "$CG/cpuset/$id/cpuset.cpus")" "${nri_cpus[$id]}"
done

# containers numapin does not place (d9, policy none) are kept off exclusive CPUs on both
# paths alike (their cpusets are compared above); the hook records them, the plugin keeps
# them in memory, as the runtime lists them again at every Synchronize
ledger() {
        "$NP_CTL" --config "$CONF" --state-dir "$1" list --json |
                jq -S '[.containers[] | select(.policy != "none") | {id, policy, nodes, cpus, mems, exclusive_cpus, write_mems, cpu_millis, memory_bytes,
                        monitor}] | sort_by(.id)'
}
hook_ledger=$(ledger "$A")
nri_ledger=$(ledger "$NB")
expect_eq "both ledgers hold the same containers" "$(jq -r '[.[].id] | join(" ")' <<<"$hook_ledger")" \
        "$(jq -r '[.[].id] | join(" ")' <<<"$nri_ledger")"
for id in $(jq -r '.[].id' <<<"$hook_ledger"); do
        expect_eq "$id: the same ledger record (policy, nodes, cpus, mems, exclusive CPUs, demand, monitor)" \
                "$(jq -c --arg id "$id" '.[] | select(.id == $id)' <<<"$hook_ledger")" \
                "$(jq -c --arg id "$id" '.[] | select(.id == $id)' <<<"$nri_ledger")"
done
# the monitor on both paths alike: a fixture tree is not the kernel's, so neither watches,
# and neither keeps final counters of the containers it released
expect_eq "both paths keep the same exited containers' counters (none on a fixture tree)" \
        "$(ls "$A/exited" 2>/dev/null | sort | tr '\n' ' ')" "$(ls "$NB/exited" 2>/dev/null | sort | tr '\n' ' ')"
expect_eq "the plugin's records say source nri" "nri" \
        "$("$NP_CTL" --config "$CONF" --state-dir "$NB" list --json | jq -r '[.containers[].source] | unique | join(" ")')"
if grep -q '^not ok' <<<"$out" || [ "$harness_status" -ne 0 ]; then
        printf '%s\n' "$out" | grep -v '^create\|^stop' | sed 's/^/# harness: /'
        sed 's/^/# plugin log: /' "$NP_TMP/plugin.log" | tail -20
fi
