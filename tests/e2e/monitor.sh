# SPDX-License-Identifier: MIT
# The eBPF locality monitor with real runc containers on this host: the hook watches a
# container it places, `numapinctl stats` reports what it ran and allocated where, and the
# final counters stay readable after poststop. Needs root, runc, a static busybox and BPF.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT NUMAPIN_BPF_ATTACH
is_root || skip_suite "needs root"
command -v runc >/dev/null || skip_suite "runc is not installed (apt-get install runc)"
command -v cc >/dev/null || skip_suite "needs cc for the workload"
if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
        skip_suite "needs a static /bin/busybox (apt-get install busybox-static)"
fi
[ -f /sys/fs/cgroup/cpuset/cpuset.cpus ] || skip_suite "needs the cgroup v1 cpuset hierarchy of this hybrid host"
if [ ! -x "$NP_HOOK" ] || [ ! -x "$NP_CTL" ]; then skip_suite "build numapin first: make all"; fi

PIN=/sys/fs/bpf/numapin-e2e-$$
CONF=$NP_TMP/numapin.json
SD=$NP_TMP/state
RUNC_ROOT=$NP_TMP/runc
ROOTFS=$NP_TMP/rootfs
echo "{\"monitor_pin_dir\": \"$PIN\"}" >"$CONF"
at_exit "rm -rf '$PIN'"
mkdir -p "$ROOTFS/bin" "$RUNC_ROOT"
cp /bin/busybox "$ROOTFS/bin/"
for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -sf busybox "$ROOTFS/bin/$applet"; done
cc -static -O2 -o "$ROOTFS/bin/workload" "$NP_ROOT/tests/vm/workload.c" || skip_suite "cannot build the workload"

ctl() { "$NP_CTL" --config "$CONF" --state-dir "$SD" "$@"; }
runc_() { runc --root "$RUNC_ROOT" "$@"; }
# bundle NAME ANNOTATIONS-JSON COMMAND: a bundle from `runc spec` with numapin's hooks
bundle() {
        local dir=$NP_TMP/$1
        mkdir -p "$dir"
        (cd "$dir" && runc spec) || return 1
        jq --arg root "$ROOTFS" --arg cmd "$3" --argjson a "$2" --arg hook "$NP_HOOK" --arg conf "$CONF" --arg sd "$SD" '
                def np_hook($stage): {path: $hook, args: ["numapin-hook", "--config", $conf, "--state-dir", $sd, $stage]};
                .root = {path: $root, readonly: true}
                | .process.terminal = false
                | .process.args = ["sh", "-c", $cmd]
                | .annotations = $a
                | .hooks = {createRuntime: [np_hook("createRuntime")], poststop: [np_hook("poststop")]}' \
                "$dir/config.json" >"$dir/config.json.new" && mv "$dir/config.json.new" "$dir/config.json"
        echo "$dir"
}
cid() { echo "np-$$-$1"; }
# stats ID FILTER: a jq filter on the container's stats object
stats() { ctl stats "$1" --json 2>&1 | jq -r ".containers[0] | $2" 2>&1; }
# within PERCENT EXPECTED GOT
within() { [ -n "$3" ] && [ "$3" -ge $(($2 * (100 - $1) / 100)) ] && [ "$3" -le $(($2 * (100 + $1) / 100)) ]; }

# --- a bound container touches 256 MiB and exits --------------------------------------------
id=$(cid bind)
b=$(bundle bind '{"nodes.numapin.io/pod": "0"}' "workload 256")
at_exit "runc --root '$RUNC_ROOT' delete -f '$id'"
runc_ run --bundle "$b" "$id" </dev/null >"$NP_TMP/bind.out" 2>&1
runc_ delete -f "$id" >/dev/null 2>&1
links=$(ls "$PIN"/*/link_* 2>/dev/null | wc -l)
pinned() { [ "$links" -ge 4 ] && ls "$PIN"/*/watched >/dev/null 2>&1 || why "$links links in $PIN"; }
check "monitor: the hook pins its programs, which stay attached after it exits" pinned
pages=$(stats "$id" '.nodes[0].pages_allocated')
all_counted() { within 3 65536 "$pages" || why "got '$pages' ($(cat "$NP_TMP/bind.out"))"; }
check "monitor: 256 MiB in a bound container counted as 65536 pages within 3%" all_counted
expect_eq "monitor: all of them local, on node 0, none outside the allowed nodes" "100 $pages 0" \
        "$(stats "$id" '"\(.local_percent) \(.nodes[0].pages_local) \(.pages_outside_allowed)"')"
expect_eq "monitor: CPU time counted on node 0" true "$(stats "$id" '.nodes[0].cpu_seconds > 0')"
expect_eq "monitor: an exited container keeps its final counters" "exited $pages" \
        "$(stats "$id" '"\(.state) \(.pages_allocated)"')"
# .pmu is an object or exactly "unavailable", which scripts compare with; the reason is apart
expect_eq "monitor: the PMU tier says unavailable, never zero" unavailable "$(stats "$id" '.pmu')"
reason=$(stats "$id" '.pmu_reason | strings')
pmu_reason_apart() {
        [ -n "$reason" ] || why "$(ctl stats "$id" --json 2>&1 | jq -c '.containers[0] | {pmu, pmu_reason}' 2>&1)"
}
check "monitor: why the PMU tier counts nothing is a field of its own" pmu_reason_apart
expect_contains "monitor: the text detail shows why the PMU tier counts nothing" \
        "DRAM accesses (PMU): unavailable ($reason)" "$(ctl stats "$id" 2>&1)"

# --- the same id again (runc run NAME): the running container is shown, then its own figures
b=$(bundle bind-again '{"nodes.numapin.io/pod": "0"}' "workload 32 hold")
runc_ run -d --bundle "$b" "$id" </dev/null >"$NP_TMP/bind-again.out" 2>&1
for _ in $(seq 50); do
        [ "$(stats "$id" '.state')" = running ] && [ "$(stats "$id" '.nodes[0].pages_allocated')" -ge 8192 ] 2>/dev/null &&
                break
        sleep 0.2
done
again=$(stats "$id" '"\(.state) \(.nodes[0].pages_allocated)"')
running_shown() { [ "${again%% *}" = running ] && within 5 8192 "${again#* }" || why "got '$again'"; }
check "monitor: a container created again under an exited one's id shows its own running figures" running_shown
runc_ kill "$id" KILL >/dev/null 2>&1
for _ in $(seq 50); do [ "$(runc_ state "$id" 2>/dev/null | jq -r .status)" = stopped ] && break; sleep 0.1; done
runc_ delete -f "$id" >/dev/null 2>&1
again=$(stats "$id" '"\(.state) \(.nodes[0].pages_allocated)"')
own_kept() { [ "${again%% *}" = exited ] && within 5 8192 "${again#* }" || why "got '$again' (the first run counted $pages)"; }
check "monitor: its poststop keeps its own final counters in place of the earlier container's" own_kept

# --- a running container --------------------------------------------------------------------
id=$(cid run)
b=$(bundle run '{"nodes.numapin.io/pod": "0"}' "workload 64 hold")
at_exit "runc --root '$RUNC_ROOT' delete -f '$id'"
runc_ run -d --bundle "$b" "$id" </dev/null >"$NP_TMP/run.out" 2>&1
for _ in $(seq 50); do
        [ "$(stats "$id" '.nodes[0].pages_allocated')" -ge 16384 ] 2>/dev/null && break
        sleep 0.2
done
resident=$(stats "$id" '.nodes[0].resident_bytes')
resident_shown() {
        [ "$(stats "$id" .state)" = running ] && within 10 $((64 << 20)) "$resident" ||
                why "$(ctl stats "$id" --json 2>&1 | tr -d '\n ' | head -c 600)"
}
check "monitor: a running container shows its resident memory from memory.numa_stat" resident_shown
counted_while_running() {
        within 5 16384 "$(stats "$id" '.nodes[0].pages_allocated')" || why "$(stats "$id" '.nodes[0].pages_allocated')"
}
check "monitor: a running container's pages are counted while it runs" counted_while_running
agrees_with_schema() {
        ctl stats --json | python3 -c '
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(sys.stdin)
states = sorted({c["state"] for c in doc["containers"]})
for e in jsonschema.Draft202012Validator(schema).iter_errors(doc):
    print("/".join(map(str, e.absolute_path)) + ": " + e.message)
if states != ["exited", "running"]:
    print("expected running and exited containers, got %s" % states)' "$NP_ROOT/schema/stats.schema.json" 2>&1 |
                grep . && return 1
        return 0
}
check "monitor: stats --json of running and exited containers agrees with schema/stats.schema.json" agrees_with_schema
out=$(ctl stats 2>&1)
table() { echo "$out" | head -n1 | grep -q "^ID .*LOCAL .*REMOTE" && echo "$out" | grep "^$id" | grep -q "100.0%" || why "$out"; }
check "monitor: text output is a table with the container's local share" table

# --- not watched --------------------------------------------------------------------------
id=$(cid off)
b=$(bundle off '{"nodes.numapin.io/pod": "0", "monitor.numapin.io/pod": "false"}' "sleep 600")
at_exit "runc --root '$RUNC_ROOT' delete -f '$id'"
runc_ run -d --bundle "$b" "$id" </dev/null >"$NP_TMP/off.out" 2>&1
expect_eq "monitor: monitor.numapin.io=false places but does not watch" "placed, not monitored" \
        "$(ctl list --json | jq -r --arg id "$id" '.containers[] | select(.id == $id) | "placed, \(if .monitor then "monitored" else "not monitored" end)"')"
runc_ delete -f "$id" >/dev/null 2>&1
id=$(cid plain)
b=$(bundle plain '{}' "workload 16")
runc_ run --bundle "$b" "$id" </dev/null >/dev/null 2>&1
runc_ delete -f "$id" >/dev/null 2>&1
expect_contains "monitor: an unannotated container is not watched" "no monitored container" "$(ctl stats "$id" 2>&1)"

# --- a full map: one slot, already taken by the running container ----------------------------
echo "{\"monitor_pin_dir\": \"$PIN\", \"monitor_slots\": 1}" >"$NP_TMP/one-slot.json"
rm -rf "$PIN" # the maps are sized when first loaded
runc_ delete -f "$(cid run)" >/dev/null 2>&1
CONF=$NP_TMP/one-slot.json
id=$(cid first)
b=$(bundle first '{"nodes.numapin.io/pod": "0"}' "sleep 600")
at_exit "runc --root '$RUNC_ROOT' delete -f '$id'"
runc_ run -d --bundle "$b" "$id" </dev/null >/dev/null 2>&1
id=$(cid second)
b=$(bundle second '{"nodes.numapin.io/pod": "0"}' "sleep 600")
at_exit "runc --root '$RUNC_ROOT' delete -f '$id'"
runc_ run -d --bundle "$b" "$id" </dev/null >"$NP_TMP/second.out" 2>&1
st=$?
rec=$(ctl list --json | jq -r --arg id "$id" '.containers[] | select(.id == $id) | "\(.nodes) \(.monitor != null)"')
placed_unwatched() { [ $st -eq 0 ] && [ "$rec" = "0 false" ] || why "status $st, record '$rec': $(cat "$NP_TMP/second.out")"; }
check "monitor: a full watched map is a warning, the container still placed" placed_unwatched
runc_ delete -f "$(cid first)" >/dev/null 2>&1
runc_ delete -f "$id" >/dev/null 2>&1

out=$(ctl stats np-nothing-here 2>&1)
st=$?
unknown_refused() { [ $st -eq 1 ] && echo "$out" | grep -q "no monitored container 'np-nothing-here'" || why "status $st: $out"; }
check "monitor: stats of an unknown container fails with its name" unknown_refused
out=$(ctl stats '../x' 2>&1)
st=$?
malformed_refused() { [ $st -eq 2 ] && echo "$out" | grep -q "is not a container id" || why "status $st: $out"; }
check "monitor: stats with a malformed id fails with the allowed form" malformed_refused

# --- a container whose poststop never came, in an older build's set --------------------------
# Its state dir is lost and it has no poststop: only the removal of its cgroup can end its
# watch, and the next release of this build then unpins the older set that watches nothing.
PIN=/sys/fs/bpf/numapin-e2e-orphan-$$
at_exit "rm -rf '$PIN'"
echo "{\"monitor_pin_dir\": \"$PIN\"}" >"$NP_TMP/orphan.json"
CONF=$NP_TMP/orphan.json
SD=$NP_TMP/orphan-state
id=$(cid orphan)
b=$(bundle orphan '{"nodes.numapin.io/pod": "0"}' "sleep 600")
jq 'del(.hooks.poststop)' "$b/config.json" >"$b/config.json.new" && mv "$b/config.json.new" "$b/config.json"
at_exit "runc --root '$RUNC_ROOT' delete -f '$id'"
runc_ run -d --bundle "$b" "$id" </dev/null >"$NP_TMP/orphan.out" 2>&1
own=$(ls "$PIN")
older=$PIN/0000000000000001
mv "$PIN/$own" "$older" && rm -rf "$SD"
id=$(cid after)
b=$(bundle after '{"nodes.numapin.io/pod": "0"}' "sleep 600")
at_exit "runc --root '$RUNC_ROOT' delete -f '$id'"
runc_ run -d --bundle "$b" "$id" </dev/null >"$NP_TMP/after.out" 2>&1
expect_eq "monitor: an older set that still watches a running container stays at the next load" \
        "0000000000000001 $own" "$(ls "$PIN" | tr '\n' ' ' | sed 's/ $//')"
bpf_line() { ctl doctor 2>&1 | grep '^[a-z]* *bpf '; }
expect_contains "monitor: doctor names the older set and the container it still watches" \
        "ok       bpf      bpffs at" "$(bpf_line)"
expect_contains "monitor: doctor says how many containers the older set watches" \
        "another build's set $older still watches 1 container, and is unpinned after the last one's release" \
        "$(bpf_line)"
runc_ delete -f "$(cid orphan)" >/dev/null 2>&1
expect_contains "monitor: once the container's cgroup is gone, doctor warns of the older set watching nothing" \
        "another build's set $older watches no container, but its programs still run at every event" "$(bpf_line)"
runc_ delete -f "$id" >/dev/null 2>&1
expect_eq "monitor: once its container's cgroup is gone, the next release unpins the older set" \
        "$own" "$(ls "$PIN" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "monitor: doctor then names no other set" "" "$(bpf_line | grep -o "another build's set")"
