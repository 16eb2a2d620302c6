# SPDX-License-Identifier: MIT
# Files numapin reads or writes that are FIFOs (or other non-regular files) are refused
# at open, at once, with one line naming the file: the bundle's config.json, --config, a
# ledger record, the topology cache, cgroup files and sysfs files. Before, each of these
# hung the hook (or numapinctl, or the exporter) forever. Every command runs under
# `timeout 5`, so a hang is a failure here, not a stuck suite.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT NUMAPIN_CONFIG
CONF=$NP_TMP/numapin-empty.json
echo '{}' >"$CONF"
NOT_REGULAR="not a regular file (a FIFO); expected a regular file"
n_case=0

# new_case: a fresh case folder $C with a copy of a sysfs fixture $SYSFS, a bundle $B
# holding a valid config.json, a fake cgroup v1 tree $CG with the container cgroup /ctr1,
# the OCI state on $C/state.json and a state dir $SD (not created).
new_case() {
        n_case=$((n_case + 1))
        C=$NP_TMP/case$n_case B=$C/bundle CG=$C/cgroup SD=$C/state SYSFS=$C/sysfs
        mkdir -p "$B" "$CG/cpuset/ctr1"
        cp -a "$NP_FIXTURES/2socket-smt" "$SYSFS"
        echo 0-31 >"$CG/cpuset/cpuset.cpus"
        echo 0-1 >"$CG/cpuset/cpuset.mems"
        echo 0-31 >"$CG/cpuset/ctr1/cpuset.cpus"
        echo 0-1 >"$CG/cpuset/ctr1/cpuset.mems"
        echo 0 >"$CG/cpuset/ctr1/cpuset.memory_migrate"
        jq -n '{ociVersion: "1.0.2", process: {args: ["true"], cwd: "/"}, root: {path: "rootfs"},
                annotations: {"policy.numapin.io/pod": "bind", "cpus.numapin.io/pod": "2"},
                linux: {cgroupsPath: "/ctr1", resources: {cpu: {quota: 200000, period: 100000}}}}' \
                >"$B/config.json"
        state_for ctr1
}

# state_for ID [PID]: the OCI state of container ID on $C/state.json.
state_for() {
        jq -n --arg id "$1" --arg b "$B" --arg pid "${2:-}" \
                '{ociVersion: "1.0.2-dev", id: $id, status: "creating", bundle: $b}
                 + (if $pid == "" then {} else {pid: ($pid | tonumber)} end)' >"$C/state.json"
}

# fifo PATH: replaces PATH by a FIFO that nobody writes or reads.
fifo() {
        rm -rf "$1"
        mkfifo "$1"
}

# run_bounded CMD ARG...: runs CMD under timeout 5 with stdin from $C/state.json; sets
# $status, $err (stderr) and $elapsed_ms.
run_bounded() {
        local start end
        start=$(date +%s%N)
        timeout 5 "$@" <"$C/state.json" >"$C/out" 2>"$C/err"
        status=$?
        end=$(date +%s%N)
        elapsed_ms=$(((end - start) / 1000000))
        err=$(cat "$C/err")
}

hook() { run_bounded "$NP_HOOK" --sysfs-root "$SYSFS" --cgroup-root "$CG" --state-dir "$SD" "$@"; }
ctl() { run_bounded "$NP_CTL" --sysfs-root "$SYSFS" --cgroup-root "$CG" --state-dir "$SD" "$@"; }

# expect_refused NAME PROGRAM NEEDLE...: the last run failed (not by timeout) within 2 s
# with exactly one line on stderr, from PROGRAM, holding every needle.
expect_refused() {
        local name=$1 program=$2 lines needle missing=""
        shift 2
        if [ "$status" -eq 124 ]; then
                fail "$name: fails within 2 s" "hung: killed by timeout 5 after ${elapsed_ms} ms"
        elif [ "$status" -eq 0 ]; then
                fail "$name: fails within 2 s" "exited 0 (stderr: $(head -c 300 <<<"$err"))"
        elif [ "$elapsed_ms" -ge 2000 ]; then
                fail "$name: fails within 2 s" "took ${elapsed_ms} ms"
        else
                pass "$name: fails within 2 s"
        fi
        lines=$(wc -l <"$C/err")
        for needle in "$@"; do [[ $err == *"$needle"* ]] || missing+="'$needle' "; done
        if [ "$lines" -ne 1 ] || [ -z "$err" ]; then
                fail "$name: one line naming the file" "expected one line on stderr, got $lines: $(head -c 300 <<<"$err")"
        elif [[ $err != "$program":* ]]; then
                fail "$name: one line naming the file" "the line does not start with $program: '$err'"
        elif [ -n "$missing" ]; then
                fail "$name: one line naming the file" "missing $missing in '$err'"
        else
                pass "$name: one line naming the file"
        fi
}

# placed_once: a successful createRuntime of ctr1, so that the state dir holds a ledger,
# a record and the topology cache; the cgroup is put back as it was.
placed_once() {
        hook --config "$CONF" createRuntime
        [ "$status" -eq 0 ] || fail "setup: createRuntime of ctr1 exits 0" "exit status $status: $err"
        echo 0-31 >"$CG/cpuset/ctr1/cpuset.cpus"
        echo 0-1 >"$CG/cpuset/ctr1/cpuset.mems"
}

# --- the bundle's config.json ------------------------------------------------------
new_case
fifo "$B/config.json"
hook --config "$CONF" createRuntime
expect_refused "config.json a FIFO, hook createRuntime" numapin-hook "$B/config.json" "$NOT_REGULAR"
new_case
rm "$B/config.json"
mkdir "$B/config.json"
hook --config "$CONF" createRuntime
expect_refused "config.json a directory, hook createRuntime" numapin-hook "$B/config.json" \
        "not a regular file (a directory)"

# --- --config ----------------------------------------------------------------------
new_case
fifo "$C/config.json"
hook --config "$C/config.json" createRuntime
expect_refused "--config a FIFO, hook createRuntime" numapin-hook "config $C/config.json: $NOT_REGULAR"
ctl --config "$C/config.json" list
expect_refused "--config a FIFO, numapinctl list" numapinctl "config $C/config.json: $NOT_REGULAR"
run_bounded "$NP_EXPORTER" --config "$C/config.json" --sysfs-root "$SYSFS" --cgroup-root "$CG" \
        --state-dir "$SD" --listen 127.0.0.1:0
expect_refused "--config a FIFO, numapin-exporter" numapin-exporter "config $C/config.json: $NOT_REGULAR"
new_case
ln -s /dev/zero "$C/config.json"
ctl --config "$C/config.json" list
expect_refused "--config a symlink to /dev/zero, numapinctl list" numapinctl \
        "config $C/config.json: not a regular file (a character device)"

# --- a ledger record ---------------------------------------------------------------
new_case
placed_once
state_for ctr2
mkfifo "$SD/containers/ctr9.json"
hook --config "$CONF" createRuntime
expect_refused "ledger record a FIFO, hook createRuntime" numapin-hook \
        "ledger record $SD/containers/ctr9.json: $NOT_REGULAR"
ctl --config "$CONF" list
expect_refused "ledger record a FIFO, numapinctl list" numapinctl \
        "ledger record $SD/containers/ctr9.json: $NOT_REGULAR"
# metrics leave an unreadable record out (at debug level) rather than fail the scrape
ctl --config "$CONF" metrics
check "ledger record a FIFO, numapinctl metrics: exits 0 within 2 s" \
        eval '[ "$status" -eq 0 ] && [ "$elapsed_ms" -lt 2000 ] || why "status $status after ${elapsed_ms} ms: $err"'
check "ledger record a FIFO, numapinctl metrics: the readable record is still exported" \
        eval 'grep -q "ctr1" "$C/out" || why "no ctr1 in the exposition"'

# --- the ledger's lock file (read-only users opened it blocking) --------------------
new_case
placed_once
fifo "$SD/lock"
ctl --config "$CONF" list
expect_refused "ledger lock a FIFO, numapinctl list" numapinctl "state dir $SD/lock: $NOT_REGULAR"
state_for ctr2
hook --config "$CONF" createRuntime
expect_refused "ledger lock a FIFO, hook createRuntime" numapin-hook "state dir $SD/lock: $NOT_REGULAR"

# --- the topology cache ------------------------------------------------------------
new_case
placed_once
hook --config "$CONF" prestart # the first run found no state dir to keep the cache in
check "setup: the state dir holds the topology cache" test -f "$SD/topology.cache"
fifo "$SD/topology.cache"
state_for ctr2
hook --config "$CONF" createRuntime
expect_refused "topology cache a FIFO, hook createRuntime" numapin-hook \
        "topology cache $SD/topology.cache: $NOT_REGULAR"
ctl --config "$CONF" release ctr1
expect_refused "topology cache a FIFO, numapinctl release" numapinctl \
        "topology cache $SD/topology.cache: $NOT_REGULAR"

# --- cgroup files ------------------------------------------------------------------
new_case
fifo "$CG/cpuset/ctr1/cpuset.cpus"
hook --config "$CONF" createRuntime
expect_refused "cgroup cpuset.cpus a FIFO, hook createRuntime" numapin-hook \
        "$CG/cpuset/ctr1: cannot read cpuset.cpus: $NOT_REGULAR"
new_case
fifo "$CG/cpuset/ctr1/cpuset.mems"
hook --config "$CONF" createRuntime
expect_refused "cgroup cpuset.mems a FIFO, hook createRuntime" numapin-hook \
        "$CG/cpuset/ctr1: cannot read cpuset.mems: $NOT_REGULAR"

# a write: on cgroup v2 the parents' cgroup.subtree_control gets +cpuset
new_case
rm -rf "$CG"
mkdir -p "$CG/kubepods/ctr2"
echo "cpuset memory" >"$CG/cgroup.controllers"
echo "memory" >"$CG/cgroup.subtree_control"
fifo "$CG/kubepods/cgroup.subtree_control"
: >"$CG/kubepods/ctr2/cpuset.cpus"
: >"$CG/kubepods/ctr2/cpuset.mems"
jq '.linux.cgroupsPath = "/kubepods/ctr2"' "$B/config.json" >"$C/spec.json" && mv "$C/spec.json" "$B/config.json"
hook --config "$CONF" createRuntime
expect_refused "cgroup v2 cgroup.subtree_control a FIFO, hook createRuntime (a write)" numapin-hook \
        "cgroup.subtree_control: $NOT_REGULAR"

new_case
fifo "$CG/cpuset/cpuset.cpus"
rm -rf "$CG/cpuset/ctr1"
ctl --config "$CONF" doctor
check "cgroup root cpuset.cpus a FIFO, numapinctl doctor: ends within 2 s" \
        eval '[ "$status" -ne 124 ] && [ "$elapsed_ms" -lt 2000 ] || why "status $status after ${elapsed_ms} ms"'

# /proc/<pid>/cgroup: the hook falls back to the spec's cgroupsPath
new_case
mkdir -p "$C/proc/4242"
mkfifo "$C/proc/4242/cgroup"
state_for ctr1 4242
NUMAPIN_PROC_ROOT=$C/proc hook --config "$CONF" createRuntime
check "/proc/4242/cgroup a FIFO, hook createRuntime: exits 0 within 2 s with the spec's cgroupsPath" \
        eval '[ "$status" -eq 0 ] && [ "$elapsed_ms" -lt 2000 ] || why "status $status after ${elapsed_ms} ms: $err"'
expect_eq "/proc/4242/cgroup a FIFO, hook createRuntime: the cgroup from the spec holds 2 CPUs" "0,16" \
        "$(cat "$CG/cpuset/ctr1/cpuset.cpus")"

# --- sysfs files -------------------------------------------------------------------
new_case
fifo "$SYSFS/devices/system/node/node1/cpulist"
hook --config "$CONF" createRuntime
expect_refused "sysfs node1/cpulist a FIFO, hook createRuntime" numapin-hook \
        "node1/cpulist: $NOT_REGULAR"
ctl --config "$CONF" topology
expect_refused "sysfs node1/cpulist a FIFO, numapinctl topology" numapinctl "node1/cpulist: $NOT_REGULAR"
new_case
fifo "$SYSFS/devices/system/node/online"
hook --config "$CONF" createRuntime
expect_refused "sysfs node/online a FIFO, hook createRuntime" numapin-hook "node/online: $NOT_REGULAR"
new_case
fifo "$SYSFS/devices/system/node/node0/meminfo"
ctl --config "$CONF" topology
expect_refused "sysfs node0/meminfo a FIFO, numapinctl topology" numapinctl "node0/meminfo: $NOT_REGULAR"

# --- the hooks.d drop-ins bound the hook too ---------------------------------------
for dropin in "$NP_ROOT"/examples/hooks.d/*.json "$NP_ROOT"/examples/hooks.d/always/*.json; do
        name=${dropin#"$NP_ROOT"/}
        expect_eq "$name: the hook has a timeout of 10 s" "10" "$(jq -r '.hook.timeout // "none"' "$dropin")"
done
