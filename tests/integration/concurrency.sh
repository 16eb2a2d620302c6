# SPDX-License-Identifier: MIT
# Many numapin-hook and `numapinctl plan --commit` processes at once on the 2socket-smt
# fixture (32 CPUs): the ledger lock must never hand out a CPU twice, and poststop frees all.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT
SYSFS=$NP_FIXTURES/2socket-smt
CONF=$NP_TMP/numapin-empty.json
echo '{}' >"$CONF"
CG=$NP_TMP/cgroup SD=$NP_TMP/state-hooks PLAN_SD=$NP_TMP/state-plan
N_HOOKS=24 N_PLANS=40

# expands kernel list strings ("0-2,5") into numbers
JQ_EXPAND='def expand: split(",") | map(select(. != "") | split("-") | map(tonumber)
        | if length == 2 then range(.[0]; .[1] + 1) else .[0] end);'

mkdir -p "$CG/cpuset"
echo 0-31 >"$CG/cpuset/cpuset.cpus"
for i in $(seq 1 $N_HOOKS); do
        mkdir -p "$CG/cpuset/pod/c$i" "$NP_TMP/b$i"
        echo 0-31 >"$CG/cpuset/pod/c$i/cpuset.cpus"
        echo 0-1 >"$CG/cpuset/pod/c$i/cpuset.mems"
        echo 0 >"$CG/cpuset/pod/c$i/cpuset.memory_migrate"
        jq -n --arg cg "/pod/c$i" '{ociVersion: "1.0.2", process: {args: ["true"]},
                annotations: {"cpus.numapin.io/pod": "1"}, linux: {cgroupsPath: $cg}}' >"$NP_TMP/b$i/config.json"
        jq -n --arg id "c$i" --arg b "$NP_TMP/b$i" \
                '{ociVersion: "1.0.2", id: $id, status: "creating", pid: 999999, bundle: $b}' >"$NP_TMP/state$i.json"
done

run_hook() { # I STAGE
        "$NP_HOOK" --config "$CONF" --sysfs-root "$SYSFS" --cgroup-root "$CG" --state-dir "$SD" "$2" \
                <"$NP_TMP/state$1.json" >/dev/null 2>"$NP_TMP/hook$1.err"
}

# all_hooks_at_once STAGE: runs the stage for every container at once; prints
# the ones that failed, with their error, or nothing
all_hooks_at_once() {
        local pids=() bad="" i
        for i in $(seq 1 $N_HOOKS); do
                run_hook "$i" "$1" &
                pids+=($!)
        done
        for i in $(seq 1 $N_HOOKS); do
                wait "${pids[$((i - 1))]}" || bad+="c$i ($(cat "$NP_TMP/hook$i.err")) "
        done
        echo "$bad"
}

# --- 24 hooks at once --------------------------------------------------------------------
expect_eq "$N_HOOKS concurrent hooks: all exit 0" "" "$(all_hooks_at_once createRuntime)"

list=$("$NP_CTL" --config "$CONF" --state-dir "$SD" list --json)
expect_eq "$N_HOOKS concurrent hooks: $N_HOOKS records" "$N_HOOKS" "$(jq '.containers | length' <<<"$list")"
expect_eq "$N_HOOKS concurrent hooks: every record holds one exclusive CPU" "true" \
        "$(jq "$JQ_EXPAND"' [.containers[] | (.exclusive_cpus | expand | length) == 1 and .cpus == .exclusive_cpus] | all' <<<"$list")"
dups=$(jq -c "$JQ_EXPAND"' [.containers[].exclusive_cpus | expand[]] | group_by(.) | map(select(length > 1) | .[0])' <<<"$list")
expect_eq "$N_HOOKS concurrent hooks: exclusive CPUs pairwise distinct" "[]" "$dups"

mismatch=""
for i in $(seq 1 $N_HOOKS); do
        rec=$(jq -r --arg id "c$i" '.containers[] | select(.id == $id) | "\(.cpus) \(.mems)"' <<<"$list")
        got="$(cat "$CG/cpuset/pod/c$i/cpuset.cpus") $(cat "$CG/cpuset/pod/c$i/cpuset.mems")"
        spec=$(jq -r '"\(.linux.resources.cpu.cpus) \(.linux.resources.cpu.mems)"' "$NP_TMP/b$i/config.json")
        [ "$rec" = "$got" ] && [ "$rec" = "$spec" ] || mismatch+="c$i: record '$rec' cgroup '$got' spec '$spec'; "
done
expect_eq "$N_HOOKS concurrent hooks: each cgroup and config.json hold its record's cpus/mems" "" "$mismatch"
expect_eq "$N_HOOKS concurrent hooks: no temp files left in the state dir or bundles" "" \
        "$(find "$SD" "$NP_TMP"/b* -name '.*' -type f)"

# --- 40 plan --commit at once on 32 CPUs ----------------------------------------------------
pids=()
for i in $(seq 1 $N_PLANS); do
        "$NP_CTL" --config "$CONF" --sysfs-root "$SYSFS" --state-dir "$PLAN_SD" plan --commit --id "p$i" \
                --annotation cpus.numapin.io/pod=1 >"$NP_TMP/plan$i.out" 2>"$NP_TMP/plan$i.err" &
        pids+=($!)
done
ok=0 refused=0 other=""
for i in $(seq 1 $N_PLANS); do
        if wait "${pids[$((i - 1))]}"; then
                ok=$((ok + 1))
        elif grep -q "no node or set of nodes fits 1 exclusive CPUs" "$NP_TMP/plan$i.err" && [ "$(wc -l <"$NP_TMP/plan$i.err")" -eq 1 ]; then
                refused=$((refused + 1))
        else
                other+="p$i: $(cat "$NP_TMP/plan$i.err"); "
        fi
done
expect_eq "$N_PLANS concurrent plan --commit: 32 succeed" "32" "$ok"
expect_eq "$N_PLANS concurrent plan --commit: 8 refused with one 'no node or set of nodes fits' line" "8" "$refused"
expect_eq "$N_PLANS concurrent plan --commit: no other outcome" "" "$other"
list=$("$NP_CTL" --config "$CONF" --state-dir "$PLAN_SD" list --json)
expect_eq "$N_PLANS concurrent plan --commit: the ledger holds 32 records" "32" "$(jq '.containers | length' <<<"$list")"
expect_eq "$N_PLANS concurrent plan --commit: CPUs 0-31 each exactly once" "$(seq -s ' ' 0 31)" \
        "$(jq -r "$JQ_EXPAND"' [.containers[].exclusive_cpus | expand[]] | sort | map(tostring) | join(" ")' <<<"$list")"
committed=$(for i in $(seq 1 $N_PLANS); do grep -q '^recorded:' "$NP_TMP/plan$i.out" && echo "p$i"; done | sort | tr '\n' ' ')
expect_eq "$N_PLANS concurrent plan --commit: the records are the ones that said recorded" "$committed" \
        "$(jq -r '.containers[].id' <<<"$list" | sort | tr '\n' ' ')"

# --- poststop for all hook containers, at once ------------------------------------------
expect_eq "$N_HOOKS concurrent poststops: all exit 0" "" "$(all_hooks_at_once poststop)"
expect_eq "$N_HOOKS concurrent poststops: the ledger is empty" "0" \
        "$("$NP_CTL" --config "$CONF" --state-dir "$SD" list --json | jq '.containers | length')"
plan=$("$NP_CTL" --config "$CONF" --sysfs-root "$SYSFS" --state-dir "$SD" plan --json --annotation cpus.numapin.io/pod=32)
expect_eq "$N_HOOKS concurrent poststops: all 32 CPUs free again (plan cpus=32)" "0-31" "$(jq -r .cpus <<<"$plan")"
