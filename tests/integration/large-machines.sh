# SPDX-License-Identifier: MIT
# The largest machines numapin is built for, as a user meets them: numapin-hook
# createRuntime/poststop and numapinctl plan on gb200-34node (2 Grace CPU nodes of 72
# cores, 32 memory-only GPU-memory nodes) and on 64node-8192cpu (8192 CPUs, the most
# numapin takes). Where each container lands, the memory-only nodes kept out of mems
# unless memory-tier extended asks, a GPU's container next to its GPU, and the release.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT
[ -x "$NP_HOOK" ] && [ -x "$NP_CTL" ] || skip_suite "build numapin first: make all"
CONF=$NP_TMP/numapin.json
echo '{"monitor": false}' >"$CONF"

# machine NAME: a fresh state dir, a fake cgroup v1 tree for its CPUs and nodes
machine() {
        M=$1 SYSFS=$(np_fixture "$1") || exit 1
        SD=$NP_TMP/$1/state CG=$NP_TMP/$1/cgroup
        ALL_CPUS=$(cat "$SYSFS/devices/system/cpu/online") ALL_MEMS=$(cat "$SYSFS/devices/system/node/online")
        mkdir -p "$CG/cpuset"
        echo "$ALL_CPUS" >"$CG/cpuset/cpuset.cpus"
        echo "$ALL_MEMS" >"$CG/cpuset/cpuset.mems"
}
ctl() { "$NP_CTL" --config "$CONF" --sysfs-root "$SYSFS" --state-dir "$SD" "$@"; }
# hook STAGE ID ANNOTATIONS-JSON [DEVICES-JSON]: numapin-hook as a runtime runs it
hook() {
        local stage=$1 id=$2 B=$NP_TMP/$M/bundles/$2
        if [ "$stage" = createRuntime ]; then
                mkdir -p "$B" "$CG/cpuset/$id"
                echo "$ALL_CPUS" >"$CG/cpuset/$id/cpuset.cpus"
                echo "$ALL_MEMS" >"$CG/cpuset/$id/cpuset.mems"
                echo 0 >"$CG/cpuset/$id/cpuset.memory_migrate"
                jq -n --argjson a "$3" --argjson d "${4:-[]}" --arg cg "/$id" '{ociVersion: "1.0.2",
                        process: {args: ["sleep", "1"], cwd: "/"}, root: {path: "rootfs"}, annotations: $a,
                        linux: {cgroupsPath: $cg, devices: $d, resources: {memory: {limit: 4294967296}}}}' >"$B/config.json"
        fi
        jq -n --arg id "$id" --arg b "$B" --arg s "$([ "$stage" = createRuntime ] && echo creating || echo stopped)" \
                '{ociVersion: "1.0.2", id: $id, status: $s, bundle: $b}' |
                "$NP_HOOK" --config "$CONF" --sysfs-root "$SYSFS" --cgroup-root "$CG" --state-dir "$SD" "$stage" \
                        2>"$NP_TMP/hook.err"
}
spec_field() { jq -r ".linux.resources.cpu.$2 // \"-\"" "$NP_TMP/$M/bundles/$1/config.json"; }
# count_cpus LIST: how many CPUs a list names
count_cpus() { jq -rn --arg l "$1" '[$l | split(",")[] | split("-") | map(tonumber) | .[-1] - .[0] + 1] | add'; }

# --- gb200-34node ------------------------------------------------------------------------
machine gb200-34node
export NUMAPIN_PROC_ROOT=$SYSFS.proc # the NVIDIA driver's /proc/driver/nvidia/gpus
hook createRuntime g1 '{"cpus.numapin.io/pod": "8"}'
expect_eq "gb200: the hook places 8 exclusive CPUs on one Grace node, its memory alone (no GPU-memory node)" \
        "0 8 0" "$? $(count_cpus "$(spec_field g1 cpus)") $(spec_field g1 mems)"
plan=$(ctl plan --json --annotation cpus.numapin.io/pod=4 --annotation memory-tier.numapin.io/pod=extended)
expect_eq "gb200: memory-tier extended adds the 16 GPU-memory nodes nearest the chosen Grace node" \
        "1 1,18-33" "$(jq -r '"\(.nodes) \(.mems)"' <<<"$plan")"
expect_contains "gb200: and the reason says which it added" "memory also on memory-only nodes 18-33" \
        "$(jq -r .reason <<<"$plan")"
hook createRuntime g2 '{"cpus.numapin.io/pod": "4"}' '[{"path": "/dev/nvidia0", "type": "c", "major": 195, "minor": 0}]'
expect_eq "gb200: a container given GPU 0 lands on GPU 0's Grace node (0)" "0 0" "$? $(spec_field g2 mems)"
plan=$(ctl plan --json --annotation cpus.numapin.io/pod=4 --device c:195:3:/dev/nvidia3)
expect_eq "gb200: plan for GPU 3 takes its node (1), naming the GPU" "1 /dev/nvidia3 on node 1" \
        "$(jq -r '.nodes' <<<"$plan") $(jq -r .reason <<<"$plan" | grep -o '/dev/nvidia3 on node [0-9]*')"
topology=$("$NP_CTL" --sysfs-root "$SYSFS" --state-dir "$SD" topology --json)
expect_eq "gb200: numapinctl topology names each GPU-memory node's nearest Grace node" "16 16" \
        "$(jq '[.nodes[] | select(.nearest_cpu_node == 0)] | length' <<<"$topology") $(jq '[.nodes[] | select(.nearest_cpu_node == 1)] | length' <<<"$topology")"
for id in g1 g2; do hook poststop $id; done
expect_eq "gb200: poststop releases both" "0" "$(ctl list --json | jq '.containers | length')"
unset NUMAPIN_PROC_ROOT

# --- 64node-8192cpu ------------------------------------------------------------------------
machine 64node-8192cpu
hook createRuntime h1 '{"cpus.numapin.io/pod": "64"}'
status=$?
expect_eq "8192 CPUs: the hook places 64 exclusive CPUs on one node of 128" "0 64 1" \
        "$status $(count_cpus "$(spec_field h1 cpus)") $(spec_field h1 mems | tr ',' '\n' | wc -l)"
hook createRuntime h2 '{"node-count.numapin.io/pod": "2", "cpus.numapin.io/pod": "200"}'
status=$?
expect_eq "8192 CPUs: 200 exclusive CPUs over the closest pair of nodes" "0 200 2" \
        "$status $(count_cpus "$(spec_field h2 cpus)") $(spec_field h2 mems | tr ',-' '\n\n' | wc -l)"
hook createRuntime h3 '{"policy.numapin.io/pod": "bind", "nodes.numapin.io/pod": "63"}'
expect_eq "8192 CPUs: a shared container on node 63 gets its 128 CPUs (64 cores, threads 4032-4095 and 8128-8191)" "0 4032-4095,8128-8191 63" \
        "$? $(spec_field h3 cpus) $(spec_field h3 mems)"
apart() {
        local a b
        a=$(spec_field h1 cpus) b=$(spec_field h2 cpus)
        [ "$(jq -rn --arg a "$a" --arg b "$b" 'def ids(l): [l | split(",")[] | split("-") | map(tonumber) | range(.[0]; .[-1] + 1)];
                (ids($a) - (ids($a) - ids($b))) | length')" = 0 ] || why "h1 $a, h2 $b share CPUs"
}
check "8192 CPUs: no CPU given to two containers" apart
plan=$(ctl plan --json --annotation cpus.numapin.io/pod=128 2>&1)
expect_eq "8192 CPUs: numapinctl plan of a whole node takes an empty one" "128" "$(count_cpus "$(jq -r .cpus <<<"$plan")")"
for id in h1 h2 h3; do hook poststop $id; done
expect_eq "8192 CPUs: poststop releases all three" "0" "$(ctl list --json | jq '.containers | length')"
