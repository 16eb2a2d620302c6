# SPDX-License-Identifier: MIT
# The seccomp allow-lists in force (core/sandbox.c): numapin-nri under
# build/tests/nri-harness and numapin-exporter each show "Seccomp: 2" in
# /proc/PID/status while they serve (placements, /metrics scrapes), and neither
# with "seccomp": false; the hook says at debug level that its filter is in force
# and places under it. 2socket-smt fixture, state dirs of their own.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT
HARNESS=$NP_HARNESS
NRI=$NP_NRI
EXPORTER=$NP_EXPORTER
SYSFS=$NP_FIXTURES/2socket-smt
[ -x "$NRI" ] || skip_suite "build/numapin-nri is not built (make build/numapin-nri)"
[ -x "$HARNESS" ] || skip_suite "build/tests/nri-harness is not built (make build/tests/nri-harness)"
[ -x "$EXPORTER" ] || skip_suite "build/numapin-exporter is not built (make build/numapin-exporter)"
command -v curl >/dev/null || skip_suite "curl is not installed"
echo '{"monitor": false}' >"$NP_TMP/on.json"
echo '{"monitor": false, "seccomp": false}' >"$NP_TMP/off.json"
echo '{}' >"$NP_TMP/on-monitor.json"

# seccomp_mode PID: the Seccomp line of /proc/PID/status (0 none, 2 filter)
seccomp_mode() { awk '$1 == "Seccomp:" { print $2 }' "/proc/$1/status" 2>/dev/null; }
# wait_for FILE PATTERN: up to 5 s for a line matching PATTERN in FILE
wait_for() {
        local i
        for i in $(seq 50); do
                grep -q "$2" "$1" 2>/dev/null && return 0
                sleep 0.1
        done
        return 1
}

# --- numapin-nri under the harness: a script fed through a FIFO, so that the plugin
# serves while its status is read; --metrics-listen starts libmicrohttpd's thread ---
# nri_case NAME CONFIG EXPECTED-MODE
nri_case() {
        local name=$1 conf=$2 expected=$3 dir=$NP_TMP/nri-$1 port pid harness
        port=$(free_port)
        mkdir -p "$dir/state" "$dir/cgroup"
        mkfifo "$dir/steps"
        "$HARNESS" --plugin "$NRI" --state-dir "$dir/state" --log "$dir/plugin.log" script "$dir/steps" -- \
                --sysfs-root "$SYSFS" --cgroup-root "$dir/cgroup" --config "$conf" \
                --metrics-listen "127.0.0.1:$port" >"$dir/out" 2>&1 &
        harness=$!
        exec 3>"$dir/steps"
        echo "create c1 pod:cpus.numapin.io/pod=2 pod:nodes.numapin.io/pod=0" >&3
        wait_for "$dir/out" '^create c1 '
        expect_contains "nri $name: a placement" "create c1 ok cpus=" "$(cat "$dir/out")"
        pid=$(pgrep -P "$harness" -x numapin-nri | head -1)
        expect_eq "nri $name: /proc/PID/status of the serving plugin shows Seccomp $expected" "$expected" \
                "$(seccomp_mode "$pid")"
        expect_contains "nri $name: its /metrics answers (libmicrohttpd's thread, started before the filter)" \
                "numapin_build_info" "$(curl -sf "http://127.0.0.1:$port/metrics" 2>&1)"
        echo "stop c1" >&3
        echo "remove c1" >&3
        exec 3>&-
        wait "$harness"
        expect_status "nri $name: the harness's script ends well (stop, remove, SIGTERM)" 0 $?
        expect_contains "nri $name: a stop" "stop c1 ok" "$(cat "$dir/out")"
        if grep -q '^not ok' "$dir/out"; then
                fail "nri $name: the harness's checks" "$(grep '^not ok' "$dir/out" | head -3)"
                tail -20 "$dir/plugin.log" | sed 's/^/#   /'
        fi
}
nri_case "seccomp on" "$NP_TMP/on.json" 2
nri_case "seccomp false" "$NP_TMP/off.json" 0

# --- numapin-exporter: bound, then filtered, on every thread ---
# exporter_case NAME CONFIG EXPECTED-MODE
exporter_case() {
        local name=$1 conf=$2 expected=$3 port pid body status
        port=$(free_port)
        mkdir -p "$NP_TMP/exp-$name"
        "$EXPORTER" --config "$conf" --sysfs-root "$SYSFS" --state-dir "$NP_TMP/nri-seccomp on/state" \
                --listen "127.0.0.1:$port" 2>"$NP_TMP/exp-$name/log" &
        pid=$!
        for _ in $(seq 50); do
                curl -sf -o /dev/null "http://127.0.0.1:$port/metrics" && break
                sleep 0.1
        done
        body=$(curl -sf "http://127.0.0.1:$port/metrics" 2>&1)
        expect_contains "exporter $name: a scrape answers" "numapin_build_info" "$body"
        expect_eq "exporter $name: /proc/PID/status of the serving exporter shows Seccomp $expected" "$expected" \
                "$(seccomp_mode "$pid")"
        # the server's thread: every task of the process
        expect_eq "exporter $name: every thread of it shows Seccomp $expected" "$expected" \
                "$(for t in /proc/$pid/task/*; do seccomp_mode "$pid/task/${t##*/}"; done | sort -u | tr '\n' ' ' |
                        sed 's/ $//')"
        kill -TERM "$pid"
        wait "$pid"
        status=$?
        expect_status "exporter $name: exits 0 on SIGTERM" 0 "$status"
        expect_eq "exporter $name: logs no error or warning" "" \
                "$(grep -E 'error|warning' "$NP_TMP/exp-$name/log")"
}
exporter_case "on" "$NP_TMP/on.json" 2
exporter_case "on-monitor" "$NP_TMP/on-monitor.json" 2
exporter_case "off" "$NP_TMP/off.json" 0

# --- numapin-hook: short-lived, so its debug log says; it places and releases under it ---
C=$NP_TMP/hook B=$C/bundle CG=$C/cgroup SD=$C/state
mkdir -p "$B" "$CG/cpuset/ctr1"
echo 0-31 >"$CG/cpuset/cpuset.cpus"
echo 0-1 >"$CG/cpuset/cpuset.mems"
echo 0-31 >"$CG/cpuset/ctr1/cpuset.cpus"
echo 0-1 >"$CG/cpuset/ctr1/cpuset.mems"
echo 0 >"$CG/cpuset/ctr1/cpuset.memory_migrate"
jq -n '{ociVersion: "1.0.2", process: {args: ["sh"], cwd: "/"}, root: {path: "rootfs"},
        annotations: {"cpus.numapin.io/pod": "2", "nodes.numapin.io/pod": "0"},
        linux: {cgroupsPath: "/ctr1"}}' >"$B/config.json"
echo "{\"ociVersion\": \"1.0.2\", \"id\": \"h1\", \"status\": \"creating\", \"pid\": 999999, \"bundle\": \"$B\"}" >"$C/state.json"
echo '{"log_level": "debug"}' >"$C/debug.json"
echo '{"log_level": "debug", "seccomp": false}' >"$C/debug-off.json"
err=$("$NP_HOOK" --config "$C/debug.json" --sysfs-root "$SYSFS" --cgroup-root "$CG" --state-dir "$SD" createRuntime \
        <"$C/state.json" 2>&1)
expect_status "hook: places under the filter (exit 0)" 0 $?
expect_contains "hook: its debug log says the filter is in force" \
        "seccomp: the numapin-hook allow-list is in force; other calls fail with Operation not permitted" "$err"
expect_eq "hook: the cgroup got the placement (2 CPUs of node 0)" "0,16 0" \
        "$(cat "$CG/cpuset/ctr1/cpuset.cpus") $(cat "$CG/cpuset/ctr1/cpuset.mems")"
err=$("$NP_HOOK" --config "$C/debug-off.json" --sysfs-root "$SYSFS" --cgroup-root "$CG" --state-dir "$SD" poststop \
        <"$C/state.json" 2>&1)
expect_status "hook: releases without the filter (seccomp false, exit 0)" 0 $?
check "hook: with seccomp false its log says nothing of a filter" \
        bash -c "! grep -q 'seccomp:' <<<\"\$1\" || echo \"\$1\"" _ "$err"
