# SPDX-License-Identifier: MIT
# numapinctl stats on exited containers' kept figures (<state dir>/exited/), without
# root or BPF: the table, the detail and the JSON render from what core read, a file
# with a renamed or mistyped key is a warning naming it and the key (never a row of
# "-"), and the PMU tier's "unavailable" comes with its reason apart.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT
CONF=$NP_TMP/numapin-empty.json
echo '{}' >"$CONF"
SD=$NP_TMP/state

# ctl ARGS...: runs numapinctl on $SD; sets $status, $out, $err
ctl() {
        "$NP_CTL" --config "$CONF" --state-dir "$SD" "$@" >"$NP_TMP/out" 2>"$NP_TMP/err"
        status=$?
        out=$(cat "$NP_TMP/out") err=$(cat "$NP_TMP/err")
}

# a state dir whose ledger holds 'held' (a plan record, not watched)
ctl --sysfs-root "$NP_FIXTURES/2socket-smt" plan --commit --id held --annotation nodes.numapin.io/pod=0 >/dev/null
mkdir -p "$SD/exited"
# kept ID PMU-JSON LOCAL REMOTE: an exited record as the hook writes it at poststop
kept() {
        jq -n --arg id "$1" --argjson pmu "$2" --argjson local "$3" --argjson remote "$4" '{
                id: $id, state: "exited", policy: "bind", allowed_nodes: "0-1",
                nodes: [{node: 0, cpu_seconds: 1.5, pages_allocated: $local, pages_local: $local, pages_remote: 0,
                         resident_bytes: null},
                        {node: 1, cpu_seconds: 0.0, pages_allocated: $remote, pages_local: 0, pages_remote: $remote,
                         resident_bytes: null}],
                cpu_seconds: 1.5, pages_allocated: ($local + $remote),
                local_percent: (if $local + $remote > 0 then $local * 100 / ($local + $remote) else null end),
                remote_percent: (if $local + $remote > 0 then $remote * 100 / ($local + $remote) else null end),
                pages_outside_allowed: 0, pages_unknown_node: 0, migrations: 12, migrations_cross_node: 2,
                numa_balancing_migrations: 0, exited_at: 1700000000} + $pmu'
}
kept np-local '{"pmu": "unavailable", "pmu_reason": "this machine has no CPU PMU"}' 65536 0 >"$SD/exited/np-local.json"
kept np-half '{"pmu": {"local": 30, "remote": 10, "remote_percent": 25.0}}' 100 100 >"$SD/exited/np-half.json"
kept np-renamed '{"pmu": "unavailable", "pmu_reason": "x"}' 10 0 |
        jq '.local_share = .local_percent | del(.local_percent)' >"$SD/exited/np-renamed.json"
kept np-mistyped '{"pmu": "unavailable", "pmu_reason": "x"}' 10 0 |
        jq '.migrations = "12"' >"$SD/exited/np-mistyped.json"
kept held '{"pmu": "unavailable", "pmu_reason": "x"}' 10 0 >"$SD/exited/held.json"

# --- the table ------------------------------------------------------------------------------
ctl stats
rows=$(grep -c '^np-' <<<"$out")
if [ "$status" -eq 0 ] && [ "$rows" -eq 2 ] && grep -q '^np-local .* exited .*100\.0% *0\.0%' <<<"$out"; then
        pass "stats: an exited record is a row of the table with its local share"
else
        fail "stats: an exited record is a row of the table with its local share" "status $status, $rows rows: $out"
fi
expect_eq "stats: highest remote share first" "np-half np-local" "$(grep '^np-' <<<"$out" | awk '{print $1}' | xargs)"
expect_contains "stats: a renamed key is a warning naming the file and the key" \
        "exited record $SD/exited/np-renamed.json: field 'local_percent' is missing; skipped" "$err"
expect_contains "stats: a mistyped key is a warning naming the file and the key" \
        "exited record $SD/exited/np-mistyped.json: field 'migrations' is a string; expected an integer" "$err"
if ! grep -q 'np-renamed\|np-mistyped\| - .* - ' <<<"$out"; then
        pass "stats: a damaged record is not a row of '-'"
else
        fail "stats: a damaged record is not a row of '-'" "$out"
fi
if ! grep -q '^held ' <<<"$out"; then
        pass "stats: an exited id the ledger holds again is not shown as exited"
else
        fail "stats: an exited id the ledger holds again is not shown as exited" "$out"
fi

# --- JSON -------------------------------------------------------------------------------------
ctl stats --json
expect_eq "stats --json: an exited record comes out as it was kept" "$(jq -cS . "$SD/exited/np-local.json")" \
        "$(jq -cS '.containers[] | select(.id == "np-local")' <<<"$out")"
expect_eq "stats --json: pmu is exactly \"unavailable\", the reason apart" \
        "unavailable|this machine has no CPU PMU" \
        "$(jq -r '.containers[] | select(.id == "np-local") | "\(.pmu)|\(.pmu_reason)"' <<<"$out")"
expect_eq "stats --json: PMU counts are an object, with no reason" "30 10 25 null" \
        "$(jq -r '.containers[] | select(.id == "np-half") | "\(.pmu.local) \(.pmu.remote) \(.pmu.remote_percent) \(.pmu_reason)"' <<<"$out")"

# schema_errors: what in the JSON on stdin schema/stats.schema.json refuses (nothing when it agrees)
schema_errors() {
        python3 -c '
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
for e in jsonschema.Draft202012Validator(schema).iter_errors(json.load(sys.stdin)):
    print("/".join(map(str, e.absolute_path)) + ": " + e.message)' "$NP_ROOT/schema/stats.schema.json"
}
if ! python3 -c 'import jsonschema' 2>/dev/null; then
        skip "stats --json: agrees with schema/stats.schema.json" "needs python3-jsonschema"
else
        errors=$(schema_errors <<<"$out" 2>&1)
        [ -z "$errors" ] && pass "stats --json: agrees with schema/stats.schema.json" ||
                fail "stats --json: agrees with schema/stats.schema.json" "$errors"
        errors=$(jq '.containers[0].pmu = "unavailable (no PMU)"' <<<"$out" | schema_errors 2>&1)
        [ -n "$errors" ] && pass "schema/stats.schema.json refuses a pmu with the reason inside" ||
                fail "schema/stats.schema.json refuses a pmu with the reason inside" "accepted"
fi

# --- the detail -------------------------------------------------------------------------------
ctl stats np-local
expect_contains "stats ID: the detail shows why the PMU tier counts nothing" \
        "DRAM accesses (PMU): unavailable (this machine has no CPU PMU)" "$out"
expect_contains "stats ID: the detail shows the migrations" "task migrations: 12, 2 of them across nodes" "$out"
ctl stats np-half
expect_contains "stats ID: the detail shows PMU counts with their remote share" \
        "DRAM accesses (PMU): 30 local, 10 remote (25.0% remote)" "$out"
expect_contains "stats ID: per node pages, local and remote" \
        "$(printf '  %-5s %10s %12s %12s %12s %12s' 1 0.00s 100 0 100 -)" "$out"
ctl stats np-renamed
if [ "$status" -eq 1 ] && [[ $err == *"np-renamed.json: field 'local_percent' is missing"* ]] &&
        [[ $err == *"no monitored container 'np-renamed'"* ]] && [ -z "$out" ]; then
        pass "stats ID of a damaged record: the warning, then no such container"
else
        fail "stats ID of a damaged record: the warning, then no such container" "status $status: $out $err"
fi
ctl stats np-local
if [[ $err != *np-renamed* ]]; then
        pass "stats ID: other containers' damaged records are not read"
else
        fail "stats ID: other containers' damaged records are not read" "$err"
fi
