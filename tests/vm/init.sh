#!/bin/sh
# SPDX-License-Identifier: MIT
# /init of the numapin test guest (busybox sh): moves the initramfs into a tmpfs and
# switch_roots into it (runc cannot pivot_root out of an initramfs), mounts a pure cgroup v2
# tree, runs the checks and prints "NUMAPIN-VM ok - NAME" / "NUMAPIN-VM not ok - NAME: why".
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

if [ "$1" != stage2 ]; then
        /bin/busybox --install -s /bin
        mount -t proc proc /proc
        mount -t tmpfs -o size=1G tmpfs /newroot
        for e in /*; do
                case $e in /proc | /sys | /dev | /newroot) mkdir -p "/newroot$e" ;; *) cp -a "$e" /newroot/ ;; esac
        done
        umount /proc
        exec switch_root /newroot /init stage2
        echo "NUMAPIN-VM not ok - switch_root: failed"
        poweroff -f
fi

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm /sys/fs/cgroup
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "+cpuset +memory" >/sys/fs/cgroup/cgroup.subtree_control

MACHINE=$(sed -n 's/.*numapin\.machine=\([^ ]*\).*/\1/p' /proc/cmdline)
say() { echo "NUMAPIN-VM $*"; }
ok() { say "ok - $1"; }
notok() { say "not ok - $1: $2" | tr '\n' ' '; echo; }
# check NAME JQ-FILTER JSON: ok when the filter is true; else shows the nodes (or the text)
check() {
        if printf '%s' "$3" | jq -e "$2" >/dev/null 2>&1; then ok "$1"; return; fi
        notok "$1" "$(printf '%s' "$3" | jq -c '[.nodes[] | {id, cpus, distances}]' 2>/dev/null ||
                printf '%s' "$3" | tr -s ' \n' ' ' | head -c 300)"
}

# --- scenario 1: the topology numapin sees -----------------------------------------------
topo=$(numapinctl topology --json 2>&1)
if [ "$MACHINE" = 2node ]; then
        check "topology: nodes 0 and 1" '[.nodes[].id] == [0,1]' "$topo"
        check "topology: node 0 cpus 0-1, node 1 cpus 2-3" '[.nodes[].cpus] == ["0-1","2-3"]' "$topo"
        check "topology: distances [10,20]/[20,10]" '[.nodes[].distances] == [[10,20],[20,10]]' "$topo"
fi

# --- scenario 2: a runc container annotated nodes=1 ---------------------------------------
B=/tmp/bundle-nodes1
mkdir -p "$B"
(cd "$B" && runc spec) || notok "runc nodes=1: runc spec" "failed"
HOOK='{"path": "/usr/bin/numapin-hook", "args": ["numapin-hook", "--config", "/etc/numapin.json", "--state-dir", "/run/numapin", "STAGE"]}'
jq --argjson cr "$(echo "$HOOK" | sed s/STAGE/createRuntime/)" --argjson ps "$(echo "$HOOK" | sed s/STAGE/poststop/)" '
        .root = {path: "/bundle/rootfs", readonly: true}
        | .process.terminal = false
        | .process.args = ["sh", "-c", "grep -E \"^(Cpus|Mems)_allowed_list\" /proc/self/status"]
        | .annotations = {"nodes.numapin.io/pod": "1"}
        | .hooks = {createRuntime: [$cr], poststop: [$ps]}' "$B/config.json" >"$B/c.json" && mv "$B/c.json" "$B/config.json"
out=$(runc run --bundle "$B" np-nodes1 </dev/null 2>&1)
st=$?
if [ $st -eq 0 ]; then ok "runc nodes=1: container runs"; else notok "runc nodes=1: container runs" "status $st: $out"; fi
cpus=$(echo "$out" | sed -n 's/^Cpus_allowed_list:[[:space:]]*//p')
mems=$(echo "$out" | sed -n 's/^Mems_allowed_list:[[:space:]]*//p')
if [ "$MACHINE" = 2node ]; then
        [ "$cpus" = 2-3 ] && ok "runc nodes=1: Cpus_allowed_list 2-3" || notok "runc nodes=1: Cpus_allowed_list 2-3" "got '$cpus'"
fi
[ "$mems" = 1 ] && ok "runc nodes=1: Mems_allowed_list 1" || notok "runc nodes=1: Mems_allowed_list 1" "got '$mems'"
left=$(numapinctl --config /etc/numapin.json --state-dir /run/numapin list --json 2>&1 | jq -r '.containers | length' 2>&1)
[ "$left" = 0 ] && ok "runc nodes=1: poststop freed the record" || notok "runc nodes=1: poststop freed the record" "$left record(s)"
runc delete -f np-nodes1 >/dev/null 2>&1

say DONE
poweroff -f
