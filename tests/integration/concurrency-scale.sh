# SPDX-License-Identifier: MIT
# 200 numapin-hook processes at once on the generated large-32node machine (1024 CPUs,
# 32 nodes), with shared containers (policy bind, no CPU count) placed before and during
# the storm: one exclusive CPU each (all fit), then six each (some must be refused). No
# CPU is given twice, every hook is either placed or refused with the reason, each
# shared container ends on its nodes' CPUs that no one holds exclusively, and the
# poststops at once leave the ledger empty. The wall times are printed as comments.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT
[ -x "$NP_HOOK" ] && [ -x "$NP_CTL" ] || skip_suite "build/numapin-hook and build/numapinctl are not built (make all)"
SYSFS=$(np_fixture large-32node) || exit 1
CONF=$NP_TMP/numapin-empty.json
echo '{}' >"$CONF"
N_HOOKS=200 N_SHARED=16 # shared sK on node 2(K-1); the first half placed before the storm

# expands kernel list strings ("0-2,5") into numbers
JQ_EXPAND='def expand: split(",") | map(select(. != "") | split("-") | map(tonumber)
        | if length == 2 then range(.[0]; .[1] + 1) else .[0] end);'

# node_cpus_json: {"0": [cpus...], ...} of the fixture's nodes
node_cpus_json() {
        local dir node
        for dir in "$SYSFS"/devices/system/node/node[0-9]*; do
                node=${dir##*/node}
                printf '%s\t%s\n' "$node" "$(<"$dir/cpulist")"
        done | jq -Rn "$JQ_EXPAND"' [inputs | split("\t") | {key: .[0], value: (.[1] | expand)}] | from_entries'
}
NODE_CPUS=$(node_cpus_json)

# make_container RUN ID ANNOTATIONS: a bundle, an OCI state and a fake v1 cgroup of RUN
make_container() {
        local run=$NP_TMP/$1 id=$2 annotations=$3
        mkdir -p "$run/cg/cpuset/pod/$id" "$run/b/$id"
        [ -f "$run/cg/cpuset/cpuset.cpus" ] || echo 0-1023 >"$run/cg/cpuset/cpuset.cpus"
        echo 0-1023 >"$run/cg/cpuset/pod/$id/cpuset.cpus"
        echo 0-31 >"$run/cg/cpuset/pod/$id/cpuset.mems"
        echo 0 >"$run/cg/cpuset/pod/$id/cpuset.memory_migrate"
        printf '{"ociVersion": "1.0.2", "process": {"args": ["true"]}, "annotations": {%s}, "linux": {"cgroupsPath": "/pod/%s"}}\n' \
                "$annotations" "$id" >"$run/b/$id/config.json"
        printf '{"ociVersion": "1.0.2", "id": "%s", "status": "creating", "pid": 999999, "bundle": "%s"}\n' \
                "$id" "$run/b/$id" >"$run/b/$id/state.json"
}

hook() { # RUN STAGE ID: the hook's exit status in RUN/out/ID.rc, its stderr in ID.err
        local run=$NP_TMP/$1
        "$NP_HOOK" --config "$CONF" --sysfs-root "$SYSFS" --cgroup-root "$run/cg" --state-dir "$run/state" "$2" \
                <"$run/b/$3/state.json" >/dev/null 2>"$run/out/$3.err"
        echo $? >"$run/out/$3.rc"
}

# storm RUN STAGE ID...: every ID's hook at once; storm_ms is the wall time until the last ended
storm() {
        local run=$1 stage=$2 id start
        shift 2
        rm -rf "$NP_TMP/$run/out"
        mkdir -p "$NP_TMP/$run/out"
        start=$(date +%s%N)
        for id; do
                hook "$run" "$stage" "$id" &
        done
        wait
        storm_ms=$((($(date +%s%N) - start) / 1000000))
}

# failed_hooks RUN ID...: how many hooks did not exit 0, and the first three with their stderr
failed_hooks() {
        local run=$NP_TMP/$1 id n=0
        shift
        for id; do
                [ "$(cat "$run/out/$id.rc" 2>/dev/null)" = 0 ] && continue
                n=$((n + 1))
                [ $n -le 3 ] && printf '%s (%s) ' "$id" "$(cat "$run/out/$id.err" 2>/dev/null)"
        done
        [ $n -eq 0 ] || printf '%d in all' "$n"
}

ledger() { "$NP_CTL" --config "$CONF" --state-dir "$NP_TMP/$1/state" list --json; }

# cgroups_json RUN ID...: {"ID": "cpuset.cpus of its cgroup", ...}
cgroups_json() {
        local run=$NP_TMP/$1 id
        shift
        for id; do
                printf '%s\t%s\n' "$id" "$(<"$run/cg/cpuset/pod/$id/cpuset.cpus")"
        done | jq -Rn '[inputs | split("\t") | {key: .[0], value: .[1]}] | from_entries'
}

# shared_misplaced LIST CGROUPS: each shared container whose cgroup is not its nodes' CPUs
# that no record holds exclusively (or whose record says otherwise); a container whose
# nodes have no such CPU left keeps its cpuset (core/lifecycle.c repin), and is named
# only when its record and cgroup disagree
shared_misplaced() {
        jq -r --argjson nodes "$NODE_CPUS" --argjson cg "$2" "$JQ_EXPAND"'
                ([.containers[].exclusive_cpus | expand[]]) as $held
                | .containers[] | select(.exclusive_cpus == "") | . as $rec
                | ([.nodes | expand[] | tostring | $nodes[.][]] - $held) as $free
                | ($cg[$rec.id] | expand) as $got
                | if ($rec.cpus | expand) != $got then
                        "\($rec.id): record \($rec.cpus), cgroup \($cg[$rec.id]); "
                  elif ($free | length) > 0 and ($got | sort) != ($free | sort) then
                        "\($rec.id): cgroup \($cg[$rec.id]), on \($got - $free | length) exclusive CPUs; "
                  else empty end' <<<"$1" | tr -d '\n'
}

# --- run RUN CPUS: the storm of N_HOOKS containers asking for CPUS exclusive CPUs each ----
run() {
        local name=$1 cpus=$2 i ids=() shared_ids=() placed=0 refused=0 other="" bad_reason="" list committed
        for i in $(seq 1 $N_HOOKS); do
                make_container "$name" "c$i" "\"cpus.numapin.io/pod\": \"$cpus\""
                ids+=("c$i")
        done
        for i in $(seq 1 $N_SHARED); do
                make_container "$name" "s$i" "\"policy.numapin.io/pod\": \"bind\", \"nodes.numapin.io/pod\": \"$((2 * (i - 1)))\""
                shared_ids+=("s$i")
        done
        # half the shared containers run before the storm, the other half start within it
        storm "$name" createRuntime "${shared_ids[@]:0:$((N_SHARED / 2))}"
        expect_eq "$name: $((N_SHARED / 2)) shared containers placed before the storm" "" \
                "$(failed_hooks "$name" "${shared_ids[@]:0:$((N_SHARED / 2))}")"

        storm "$name" createRuntime "${ids[@]}" "${shared_ids[@]:$((N_SHARED / 2))}"
        echo "# $name: $N_HOOKS hooks asking for $cpus exclusive CPUs and $((N_SHARED / 2)) shared ones at once on 1024 CPUs: $storm_ms ms"
        # a node all of whose CPUs went exclusive first has no room for a shared container
        shared_refused=$(for i in "${shared_ids[@]:$((N_SHARED / 2))}"; do
                [ "$(<"$NP_TMP/$name/out/$i.rc")" = 0 ] ||
                        grep -q "^numapin-hook: error: nodes [0-9]* cannot hold 0.0 shared CPUs" "$NP_TMP/$name/out/$i.err" ||
                        echo "$i: $(<"$NP_TMP/$name/out/$i.err")"
        done)
        expect_eq "$name: the shared containers started during the storm are placed, or refused for a node without shared CPUs left" \
                "" "${shared_refused:0:800}"
        [ $((N_HOOKS * cpus)) -le $((1024 - 32)) ] &&
                expect_eq "$name: with CPUs to spare every shared container started during the storm is placed" "" \
                        "$(failed_hooks "$name" "${shared_ids[@]:$((N_SHARED / 2))}")"
        for i in "${ids[@]}"; do
                if [ "$(<"$NP_TMP/$name/out/$i.rc")" = 0 ]; then
                        placed=$((placed + 1))
                elif [ "$(<"$NP_TMP/$name/out/$i.rc")" = 1 ] && [ "$(wc -l <"$NP_TMP/$name/out/$i.err")" -eq 1 ]; then
                        refused=$((refused + 1))
                        # no room, or room only by taking a shared container's last CPUs
                        grep -qE "no node or set of nodes fits $cpus exclusive CPUs|would leave shared container '[^']+' \(nodes [0-9,-]+\) no CPU to run on" \
                                "$NP_TMP/$name/out/$i.err" ||
                                bad_reason+="$i: $(<"$NP_TMP/$name/out/$i.err"); "
                else
                        other+="$i: exit $(<"$NP_TMP/$name/out/$i.rc"), $(<"$NP_TMP/$name/out/$i.err"); "
                fi
        done
        echo "# $name: $placed placed, $refused refused"
        expect_eq "$name: every hook either placed (exit 0) or refused (exit 1, one stderr line)" "" "${other:0:800}"
        expect_eq "$name: placed + refused = $N_HOOKS" "$N_HOOKS" "$((placed + refused))"
        expect_eq "$name: each refusal says no node fits $cpus exclusive CPUs, or names the shared container they would leave no CPU" \
                "" "${bad_reason:0:800}"
        if [ $((N_HOOKS * cpus)) -le $((1024 - 32)) ]; then
                expect_eq "$name: $((N_HOOKS * cpus)) CPUs asked of 1024: all $N_HOOKS placed" "$N_HOOKS" "$placed"
        else
                check "$name: $((N_HOOKS * cpus)) CPUs asked of 1024: some refused, at least $((1024 / cpus / 2)) placed" \
                        test "$refused" -gt 0 -a "$placed" -ge $((1024 / cpus / 2))
        fi

        list=$(ledger "$name")
        committed=$(for i in "${ids[@]}"; do [ "$(<"$NP_TMP/$name/out/$i.rc")" = 0 ] && echo "$i"; done | sort | tr '\n' ' ')
        expect_eq "$name: the exclusive records are the hooks that exited 0" "$committed" \
                "$(jq -r '.containers[] | select(.exclusive_cpus != "") | .id' <<<"$list" | sort | tr '\n' ' ')"
        expect_eq "$name: every exclusive record holds $cpus CPUs, its cpus exactly those" "true" \
                "$(jq "$JQ_EXPAND"' [.containers[] | select(.exclusive_cpus != "")
                        | (.exclusive_cpus | expand | length) == '"$cpus"' and .cpus == .exclusive_cpus] | all' <<<"$list")"
        expect_eq "$name: no CPU held exclusively twice" "[]" \
                "$(jq -c "$JQ_EXPAND"' [.containers[].exclusive_cpus | expand[]] | group_by(.) | map(select(length > 1) | .[0])' <<<"$list")"
        mismatch=$(jq -r --argjson cg "$(cgroups_json "$name" "${ids[@]}")" '.containers[] | select(.exclusive_cpus != "")
                | select($cg[.id] != .cpus) | "\(.id): record \(.cpus), cgroup \($cg[.id]); "' <<<"$list" | tr -d '\n')
        expect_eq "$name: each placed container's cgroup holds its record's CPUs" "" "${mismatch:0:800}"
        # the shared containers' cgroups are written under the ledger lock, in the order of
        # the decisions: a stale write of an earlier hook landing last would show here
        expect_eq "$name: every shared container's cgroup is its record, its nodes' CPUs no one holds exclusively" "" \
                "$(shared_misplaced "$list" "$(cgroups_json "$name" "${shared_ids[@]}")" | head -c 800)"

        # the exclusive containers leave at once: each release re-pins the shared ones again
        storm "$name" poststop "${ids[@]}"
        echo "# $name: $N_HOOKS poststops at once: $storm_ms ms"
        expect_eq "$name: $N_HOOKS poststops at once all exit 0" "" "$(failed_hooks "$name" "${ids[@]}")"
        list=$(ledger "$name")
        expect_eq "$name: after them only the shared records are left" "0" \
                "$(jq '[.containers[] | select(.exclusive_cpus != "")] | length' <<<"$list")"
        expect_eq "$name: and every shared container's cgroup is its record, all of its nodes' CPUs" "" \
                "$(shared_misplaced "$list" "$(cgroups_json "$name" "${shared_ids[@]}")" | head -c 800)"
        storm "$name" poststop "${shared_ids[@]}"
        expect_eq "$name: then the shared containers' poststops at once all exit 0" "" \
                "$(failed_hooks "$name" "${shared_ids[@]}")"
        expect_eq "$name: after all the poststops the ledger is empty" "0" "$(ledger "$name" | jq '.containers | length')"
}

run one-cpu 1
run six-cpus 6
