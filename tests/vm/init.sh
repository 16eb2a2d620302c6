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

if [ "$MACHINE" = 4node ]; then
        check "topology: nodes 0-3" '[.nodes[].id] == [0,1,2,3]' "$topo"
        check "topology: one cpu per node" '[.nodes[].cpus] == ["0","1","2","3"]' "$topo"
        check "topology: distances 10/20/30" '[.nodes[].distances] ==
                [[10,20,30,30],[20,10,30,30],[30,30,10,20],[30,30,20,10]]' "$topo"
fi

# --- helpers for the containers -----------------------------------------------------------
CTL="numapinctl --config /etc/numapin.json --state-dir /run/numapin"
HOOK='{"path": "/usr/bin/numapin-hook", "args": ["numapin-hook", "--config", "/etc/numapin.json", "--state-dir", "/run/numapin", "STAGE"]}'
# bundle DIR ANNOTATIONS-JSON COMMAND: a busybox bundle with numapin as createRuntime and
# poststop hook, running "sh -c COMMAND"
bundle() {
        mkdir -p "$1" && rm -f "$1/config.json" && (cd "$1" && runc spec) || { notok "bundle $1" "runc spec failed"; return 1; }
        jq --argjson cr "$(echo "$HOOK" | sed s/STAGE/createRuntime/)" --argjson ps "$(echo "$HOOK" | sed s/STAGE/poststop/)" \
                --argjson an "$2" --arg cmd "$3" '
                .root = {path: "/bundle/rootfs", readonly: true}
                | .process.terminal = false
                | .process.args = ["sh", "-c", $cmd]
                | .annotations = $an
                | .hooks = {createRuntime: [$cr], poststop: [$ps]}' "$1/config.json" >"$1/c.json" && mv "$1/c.json" "$1/config.json"
}
records() { $CTL list --json 2>&1 | jq -r '.containers | length' 2>&1; }
# is NAME EXPECTED GOT
is() { [ "$2" = "$3" ] && ok "$1" || notok "$1" "expected '$2', got '$3'"; }
field() { echo "$2" | sed -n "s/^$1:[[:space:]]*//p"; }
# status PID: the allowed lists of a process seen from outside its container
status() { grep -E '^(Cpus|Mems)_allowed_list' "/proc/$1/status" 2>&1; }
STATUS='grep -E "^(Cpus|Mems)_allowed_list" /proc/self/status'
# run_and_check LABEL ID ANNOTATIONS CPUS MEMS [NOTE]: runs a runc container in the
# foreground that prints its allowed lists, checks it ran and what it saw, deletes it
run_and_check() {
        local B=/tmp/bundle-$2 out st
        bundle "$B" "$3" "$STATUS"
        out=$(runc run --bundle "$B" "$2" </dev/null 2>&1)
        st=$?
        [ $st -eq 0 ] && ok "$1: container runs" || notok "$1: container runs" "status $st: $out"
        is "$1: Cpus_allowed_list $4${6:+ $6}" "$4" "$(field Cpus_allowed_list "$out")"
        is "$1: Mems_allowed_list $5" "$5" "$(field Mems_allowed_list "$out")"
        runc delete -f "$2" >/dev/null 2>&1
}
# start RUNTIME ID BUNDLE: a detached container; prints the runtime's errors
start() { "$1" run -d --bundle "$3" "$2" </dev/null >/dev/null 2>/tmp/start.err; st=$?; cat /tmp/start.err; return $st; }
pidof_ctr() { "$1" state "$2" 2>/dev/null | jq -r .pid; }

# --- scenario 2: a container annotated nodes=1, with runc and with crun -------------------
case $MACHINE in 2node) CPUS1=2-3 ;; 4node) CPUS1=1 ;; esac
for rt in runc crun; do
        command -v $rt >/dev/null || { say "skip - $rt nodes=1: $rt is not in the initramfs"; continue; }
        B=/tmp/bundle-nodes1-$rt
        bundle "$B" '{"nodes.numapin.io/pod": "1"}' "$STATUS; workload 256" || continue
        out=$($rt run --bundle "$B" np-nodes1-$rt </dev/null 2>&1)
        st=$?
        [ $st -eq 0 ] && ok "$rt nodes=1: container runs" || notok "$rt nodes=1: container runs" "status $st: $out"
        is "$rt nodes=1: Cpus_allowed_list $CPUS1" "$CPUS1" "$(field Cpus_allowed_list "$out")"
        is "$rt nodes=1: Mems_allowed_list 1" 1 "$(field Mems_allowed_list "$out")"
        pages=$(echo "$out" | grep 'total=')
        n1=$(echo "$pages" | sed -n 's/.*N1=\([0-9]*\).*/\1/p')
        total=$(echo "$pages" | sed -n 's/.*total=\([0-9]*\).*/\1/p')
        # 256 MiB is 65536 pages of 4 KiB
        if [ -n "$total" ] && [ "$total" -ge 65536 ] && [ $(( ${n1:-0} * 100 )) -ge $(( total * 99 )) ]; then
                ok "$rt nodes=1: 256 MiB allocation >= 99% on node 1 ($pages)"
        else
                notok "$rt nodes=1: 256 MiB allocation >= 99% on node 1" "got '$pages'"
        fi
        is "$rt nodes=1: poststop freed the record" 0 "$(records)"
        $rt delete -f np-nodes1-$rt >/dev/null 2>&1
done

if [ "$MACHINE" = 2node ]; then
        # --- scenario 6: cpus-only binds the CPUs and leaves memory alone ---------------------
        run_and_check "runc cpus-only" np-cpusonly '{"policy.numapin.io/pod": "cpus-only", "nodes.numapin.io/pod": "1"}' \
                2-3 0-1

        # --- scenario 7: an unannotated container is left alone, and has no record ---------
        B=/tmp/bundle-plain
        bundle "$B" '{}' "sleep 600"
        err=$(start runc np-plain "$B")
        [ $? -eq 0 ] && ok "runc unannotated: container runs" || notok "runc unannotated: container runs" "$err"
        out=$(status "$(pidof_ctr runc np-plain)")
        is "runc unannotated: Cpus_allowed_list 0-3" 0-3 "$(field Cpus_allowed_list "$out")"
        is "runc unannotated: Mems_allowed_list 0-1" 0-1 "$(field Mems_allowed_list "$out")"
        is "runc unannotated: no record" 0 "$(records)"
        runc delete -f np-plain >/dev/null 2>&1

        # --- scenario 8: a bad request is refused with numapin's message, and no record ------
        B=/tmp/bundle-bad
        bundle "$B" '{"nodes.numapin.io/pod": "5"}' "$STATUS"
        out=$(runc run --bundle "$B" np-bad </dev/null 2>&1)
        st=$?
        if [ $st -ne 0 ] && echo "$out" | grep -q "node 5 does not exist"; then
                ok "runc nodes=5: refused with 'node 5 does not exist'"
        else
                notok "runc nodes=5: refused with 'node 5 does not exist'" "status $st: $out"
        fi
        is "runc nodes=5: no record" 0 "$(records)"
        runc delete -f np-bad >/dev/null 2>&1

        # --- scenarios 3/4: exclusive containers spread, never share a CPU, run out, come back
        B=/tmp/bundle-excl
        bundle "$B" '{"cpus.numapin.io/pod": "1"}' "sleep 600"
        held=""
        for i in 1 2 3 4; do
                err=$(start runc np-excl$i "$B")
                if [ $? -ne 0 ]; then notok "runc exclusive: container $i starts" "$err"; continue; fi
                rec=$($CTL list --json | jq -c --arg id np-excl$i '.containers[] | select(.id == $id) | {nodes, cpus, mems}')
                c=$(echo "$rec" | jq -r .cpus)
                out=$(status "$(pidof_ctr runc np-excl$i)")
                if [ -n "$c" ] && [ "$(field Cpus_allowed_list "$out")" = "$c" ]; then
                        ok "runc exclusive: container $i runs on its CPU ($rec)"
                else
                        notok "runc exclusive: container $i runs on its CPU" "record '$rec', status '$out'"
                fi
                held="$held $c"
                [ $i = 1 ] && is "runc exclusive: first container on node 0" 0 "$(echo "$rec" | jq -r .nodes)"
                [ $i = 2 ] && is "runc exclusive: second container on node 1 (more free CPUs)" 1 "$(echo "$rec" | jq -r .nodes)"
        done
        is "runc exclusive: 4 containers hold 4 different CPUs" "0 1 2 3" "$(echo $held | tr ' ' '\n' | sort -u | tr '\n' ' ' | sed 's/ $//')"
        err=$(start runc np-excl5 "$B")
        st=$?
        if [ $st -ne 0 ] && echo "$err" | grep -q "no node or set of nodes fits"; then
                ok "runc exclusive: a 5th is refused with 'no node or set of nodes fits'"
        else
                notok "runc exclusive: a 5th is refused with 'no node or set of nodes fits'" "status $st: $err"
        fi
        runc delete -f np-excl5 >/dev/null 2>&1
        is "runc exclusive: 4 records" 4 "$(records)"
        for i in 1 2 3 4; do runc delete -f np-excl$i >/dev/null 2>&1; done
        is "runc exclusive: poststop freed the records" 0 "$(records)"
        plan=$($CTL plan --json --annotation cpus.numapin.io/pod=4 2>&1 | jq -r .cpus 2>&1)
        is "runc exclusive: the 4 CPUs are offered again" 0-3 "$plan"
fi

if [ "$MACHINE" = 4node ]; then
        # --- scenario 5: node-count=2 takes the closest pair --------------------------------
        run_and_check "runc node-count=2" np-count2 '{"node-count.numapin.io/pod": "2"}' 0-1 0-1 "(pair at distance 20)"
        # with node 0's CPU held exclusively, 2 exclusive CPUs on 2 nodes: {2,3} (20) beats
        # {1,2} and {1,3} (30), though 1 is the lowest free id
        B=/tmp/bundle-hold0
        bundle "$B" '{"nodes.numapin.io/pod": "0", "cpus.numapin.io/pod": "1"}' "sleep 600"
        err=$(start runc np-hold0 "$B")
        [ $? -eq 0 ] && ok "runc node-count=2: node 0's CPU held" || notok "runc node-count=2: node 0's CPU held" "$err"
        run_and_check "runc node-count=2 cpus=2" np-count2x '{"node-count.numapin.io/pod": "2", "cpus.numapin.io/pod": "2"}' \
                2-3 2-3 "(closest free pair)"
        runc delete -f np-hold0 >/dev/null 2>&1
        is "runc node-count=2: poststop freed the records" 0 "$(records)"
fi

say DONE
poweroff -f
