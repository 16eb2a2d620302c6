# SPDX-License-Identifier: MIT
# The comparison of tests/integration/nri-decision*.sh, sourced by them: the steps in
# STEPS placed once by numapin-hook createRuntime/poststop and once by numapin-nri
# through the harness, on the fixture machine SYSFS, then the decisions, the cpusets and
# the two ledgers compared. Leaves hook_status, hook_err (per "create-ID"), the bundles
# in $NP_TMP/bundles and the state dirs $A (hook) and $NB (plugin) for further checks.
# Step tokens beyond the harness's: device=TYPE:MAJOR:MINOR:PATH (linux.devices in the
# hook's config.json, LinuxContainer.devices for the plugin).

ALL_CPUS=$(cat "$SYSFS/devices/system/cpu/online")
ALL_MEMS=$(cat "$SYSFS/devices/system/node/online")

# --- (a) the OCI hook, as tests/integration/hook.sh runs it ----------------------------
A=$NP_TMP/hook-state CG=$NP_TMP/cgroup
mkdir -p "$CG/cpuset"
echo "$ALL_CPUS" >"$CG/cpuset/cpuset.cpus"
echo "$ALL_MEMS" >"$CG/cpuset/cpuset.mems"
declare -A hook_status hook_err
for step in "${STEPS[@]}"; do
        read -r cmd id rest <<<"$step"
        B=$NP_TMP/bundles/$id
        if [ "$cmd" = create ]; then
                mkdir -p "$B" "$CG/cpuset/$id"
                echo "$ALL_CPUS" >"$CG/cpuset/$id/cpuset.cpus"
                echo "$ALL_MEMS" >"$CG/cpuset/$id/cpuset.mems"
                echo 0 >"$CG/cpuset/$id/cpuset.memory_migrate"
                name=main annotations='{}' cpu='{}' memory='{}' pod=pod-$id devices='[]'
                for token in $rest; do
                        key=${token%%=*} value=${token#*=}
                        case $key in
                        name) name=$value ;;
                        pod) pod=$value ;;
                        device)
                                IFS=: read -r dtype dmajor dminor dpath <<<"$value"
                                devices=$(jq -c --arg t "$dtype" --argjson ma "$dmajor" --argjson mi "$dminor" --arg p "$dpath" \
                                        '. + [{path: $p, type: $t, major: $ma, minor: $mi}]' <<<"$devices")
                                ;;
                        pod:*) annotations=$(jq -c --arg k "${key#pod:}" --arg v "$value" '. + {($k): $v}' <<<"$annotations") ;;
                        quota | period) cpu=$(jq -c --arg k "$key" --argjson v "$value" '. + {($k): $v}' <<<"$cpu") ;;
                        memory) memory=$(jq -c --argjson v "$value" '{limit: $v}' <<<"$memory") ;;
                        esac
                done
                # containerd's annotation passthrough: the pod's annotations and the CRI ones;
                # the harness's \xNN (a NUL here) is JSON's \u00NN
                annotations=$(jq -c --arg n "$name" --arg p "$pod" '. + {"io.kubernetes.cri.container-type": "container",
                        "io.kubernetes.cri.container-name": $n, "io.kubernetes.cri.sandbox-id": $p,
                        "io.kubernetes.cri.sandbox-name": $p, "io.kubernetes.cri.sandbox-namespace": "default"}' <<<"$annotations" |
                        sed 's/\\\\x\([0-9a-fA-F][0-9a-fA-F]\)/\\u00\1/g')
                jq -n --argjson a "$annotations" --argjson cpu "$cpu" --argjson mem "$memory" --arg cg "/$id" \
                        --argjson dev "$devices" '{
                        ociVersion: "1.0.2", process: {args: ["sleep", "infinity"], cwd: "/"}, root: {path: "rootfs"},
                        annotations: $a,
                        linux: ({cgroupsPath: $cg, devices: $dev,
                                 resources: ({cpu: $cpu, memory: $mem} | with_entries(select(.value != {})))}
                                | with_entries(select(.value != [])))
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
