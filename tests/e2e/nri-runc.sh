# SPDX-License-Identifier: MIT
# numapin-nri with real runc containers on this host, the runtime played by
# build/tests/nri-harness (its script mode, line by line): the plugin's CreateContainer answer becomes the container's
# cpuset, PostCreateContainer attaches the real BPF locality monitor (its own pin
# directory), StopContainer keeps the final counters. Needs root, runc, a static
# busybox, cc and BPF.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT NUMAPIN_BPF_ATTACH
HARNESS=$NP_ROOT/build/tests/nri-harness
NRI=$NP_ROOT/build/numapin-nri
is_root || skip_suite "needs root"
command -v runc >/dev/null || skip_suite "runc is not installed (apt-get install runc)"
command -v cc >/dev/null || skip_suite "needs cc for the workload"
if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
        skip_suite "needs a static /bin/busybox (apt-get install busybox-static)"
fi
[ -x "$NRI" ] && [ -x "$HARNESS" ] && [ -x "$NP_CTL" ] || skip_suite "build first: make all build/tests/nri-harness"

PIN=/sys/fs/bpf/numapin-nri-e2e-$$
CONF=$NP_TMP/numapin.json
D=$NP_TMP/nri
SD=$D/state
RUNC_ROOT=$NP_TMP/runc
ROOTFS=$NP_TMP/rootfs
echo "{\"monitor_pin_dir\": \"$PIN\"}" >"$CONF"
at_exit "rm -rf '$PIN'"
mkdir -p "$ROOTFS/bin" "$RUNC_ROOT" "$D"
cp /bin/busybox "$ROOTFS/bin/"
for applet in sh sleep cat grep; do ln -sf busybox "$ROOTFS/bin/$applet"; done
cc -static -O2 -o "$ROOTFS/bin/workload" "$NP_ROOT/tests/vm/workload.c" || skip_suite "cannot build the workload"
ctl() { "$NP_CTL" --config "$CONF" --state-dir "$SD" "$@"; }
runc_() { runc --root "$RUNC_ROOT" "$@"; }

# the runtime side, on the host's real sysfs and cgroups, answering on a coprocess
coproc RT { "$HARNESS" --plugin "$NRI" --state-dir "$SD" --log "$D/plugin.log" script /dev/stdin -- \
        --config "$CONF" --sysfs-root /sys --cgroup-root /sys/fs/cgroup 2>"$D/harness.err"; }
at_exit "kill $RT_PID"
rt() {
        local reply
        echo "$*" >&"${RT[1]}"
        read -r -t 10 reply <&"${RT[0]}" || reply="no answer"
        echo "$reply"
}
id=np-nri-$$
# one exclusive CPU: on this 2-CPU host the container then sees less than the machine
reply=$(rt create "$id" pod=pod1 name=app pod:policy.numapin.io/pod=bind pod:cpus.numapin.io/pod=1)
cpus=$(sed -n 's/.* cpus=\([^ ]*\).*/\1/p' <<<"$reply")
mems=$(sed -n 's/.* mems=\([^ ]*\).*/\1/p' <<<"$reply")
one_cpu_node0() { [[ $cpus =~ ^[0-9]+$ ]] && [ "$mems" = 0 ] || why "$reply"; }
check "nri runc: CreateContainer answers with one exclusive CPU and node 0's memory" one_cpu_node0

# the runtime writes the adjustment into the spec, as containerd does
b=$NP_TMP/bundle
mkdir -p "$b"
(cd "$b" && runc spec)
jq --arg root "$ROOTFS" --arg cpus "$cpus" --arg mems "$mems" '
        .root = {path: $root, readonly: true} | .process.terminal = false
        | .process.args = ["workload", "64", "hold"]
        | .linux.resources.cpu = {cpus: $cpus, mems: $mems}' "$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
at_exit "runc --root '$RUNC_ROOT' delete -f '$id'"
# created, not started: containerd sends PostCreateContainer between the two
runc_ create --bundle "$b" "$id" </dev/null >"$NP_TMP/run.out" 2>&1
pid=$(runc_ state "$id" 2>/dev/null | jq -r .pid)
seen=$(grep -E '^(Cpus|Mems)_allowed_list' "/proc/$pid/status" 2>/dev/null | awk '{print $2}' | paste -sd' ')
expect_eq "nri runc: the container runs on the CPUs and memory nodes the plugin chose" "$cpus $mems" "$seen"

reply=$(rt postcreate "$id" "pid=$pid")
record=$SD/containers/$id.json
cg=$(jq -r .cgroup "$record" 2>/dev/null)
recorded() {
        [[ $reply == "postcreate $id ok"* ]] && [ "$(jq -r .pid "$record")" = "$pid" ] && [ -d "$cg" ] ||
                why "$reply; record: $(tr -d '\n' <"$record" 2>/dev/null | head -c 300)"
}
check "nri runc: PostCreateContainer records the container's cgroup and pid" recorded
watched() {
        [ "$(jq -r '.monitor.cgroup_id // 0' "$record")" != 0 ] && ls "$PIN"/*/watched >/dev/null 2>&1 ||
                why "record monitor: $(jq -c .monitor "$record" 2>/dev/null); plugin log: $(tail -2 "$D/plugin.log" | tr '\n' '|')"
}
check "nri runc: the container is watched by the locality monitor" watched

runc_ start "$id" >>"$NP_TMP/run.out" 2>&1
# the workload holds its 64 MiB once touched
pages=""
for _ in $(seq 50); do
        pages=$(ctl stats "$id" --json 2>/dev/null | jq -r '.containers[0] | select(.state == "running") | .nodes[0].pages_allocated')
        [ -n "$pages" ] && [ "$pages" -ge 15000 ] && break
        sleep 0.1
done
pages=$(ctl stats "$id" --json 2>/dev/null | jq -r '.containers[0] | select(.state == "running") | .nodes[0].pages_allocated')
counted() { [ -n "$pages" ] && [ "$pages" -ge 15000 ] || why "pages allocated: '$pages'"; }
check "nri runc: its 64 MiB are counted while it runs" counted

runc_ kill "$id" KILL >/dev/null 2>&1
sleep 0.3
reply=$(rt stop "$id")
runc_ delete -f "$id" >/dev/null 2>&1
state=$(ctl stats "$id" --json 2>/dev/null | jq -r '.containers[0].state')
released_kept() {
        [[ $reply == "stop $id ok"* ]] && [ ! -e "$record" ] && [ "$state" = exited ] ||
                why "$reply; record left: $([ -e "$record" ] && echo yes || echo no); stats state '$state'"
}
check "nri runc: StopContainer releases the allocation and keeps the final counters" released_kept
exec {RT[1]}>&-
wait "$RT_PID" 2>/dev/null
