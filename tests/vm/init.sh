#!/bin/sh
# SPDX-License-Identifier: MIT
# /init of the numapin test guest (busybox sh): moves the initramfs into a tmpfs and
# switch_roots into it (runc cannot pivot_root out of an initramfs), mounts a pure cgroup v2
# tree, runs the scenarios and prints "NUMAPIN-VM ok - NAME" / "NUMAPIN-VM not ok - NAME: why".
# Kernel command line: numapin.machine=2node|4node, numapin.only=SCENARIO,... (default:
# all), numapin.shell=1 (a shell on the console after the scenarios).
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
# the system log: numapin-hook's errors also go there, since crun drops a hook's stderr
syslogd -n -O /tmp/messages &

cmdline() { sed -n "s/.*numapin\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
MACHINE=$(cmdline machine)
ONLY=$(cmdline only)
SHELL_AFTER=$(cmdline shell)

say() { echo "NUMAPIN-VM $*"; }
ok() { say "ok - $1"; }
notok() { say "not ok - $1: $2" | tr '\n' ' '; echo; }
# is NAME EXPECTED GOT
is() { [ "$2" = "$3" ] && ok "$1" || notok "$1" "expected '$2', got '$3'"; }
# check NAME JQ-FILTER JSON: ok when the filter is true; else shows the nodes (or the text)
check() {
        if printf '%s' "$3" | jq -e "$2" >/dev/null 2>&1; then ok "$1"; return; fi
        notok "$1" "$(printf '%s' "$3" | jq -c '[.nodes[] | {id, cpus, distances}]' 2>/dev/null ||
                printf '%s' "$3" | tr -s ' \n' ' ' | head -c 300)"
}

# What each machine is (run.sh gives qemu the same layout).
case $MACHINE in
# MON_MIB: what the monitored workload holds (a 4node node has 512 MiB)
2node) NODES="0 1" ALL_CPUS=0-3 ALL_MEMS=0-1 NODE1_CPUS=2-3 MON_MIB=256 ;;
# DISK_NODE, DISK_BUS: the node of the disk run.sh gives the machine and its PCI root bus
4node) NODES="0 1 2 3" ALL_CPUS=0-3 ALL_MEMS=0-3 NODE1_CPUS=1 MON_MIB=64 DISK_NODE=2 DISK_BUS=pci0000:40 ;;
*) notok "machine" "unknown numapin.machine '$MACHINE'"; say DONE; poweroff -f ;;
esac

# The disk behind the machine's second PCI root bus (4node): its driver is a module, so
# load virtio's modules in order and wait for the block device. DISK is its /dev path,
# DISK_MAJ and DISK_MIN its numbers, as sysfs has them; all empty when it is missing
# (the topology and devices scenarios then fail, saying so).
DISK="" DISK_MAJ="" DISK_MIN="" DISK_WHY=""
if [ -n "${DISK_NODE:-}" ]; then
        for m in $(cat /lib/modules/vm/order 2>/dev/null); do
                insmod "/lib/modules/vm/$m.ko" 2>/tmp/insmod.err || DISK_WHY="${DISK_WHY}insmod $m: $(cat /tmp/insmod.err); "
        done
        for _ in $(seq 100); do
                for b in /sys/block/vd*; do
                        [ -e "$b/dev" ] || continue
                        DISK=/dev/${b##*/} DISK_MAJ=$(cut -d: -f1 "$b/dev") DISK_MIN=$(cut -d: -f2 "$b/dev")
                done
                [ -n "$DISK" ] && break
                sleep 0.1
        done
        [ -n "$DISK" ] || DISK_WHY="${DISK_WHY}no /sys/block/vd* after 10 s ($(ls /sys/block | tr '\n' ' '))"
        DISK_NODE_CPUS=$(cat /sys/devices/system/node/node$DISK_NODE/cpulist 2>&1)
fi
# pci_numa_node SYSFS-PATH: the numa_node of the first directory at or above it that has one
pci_numa_node() {
        local d=$1
        while [ "$d" != /sys/devices ] && [ -n "$d" ]; do
                [ -f "$d/numa_node" ] && { cat "$d/numa_node"; return; }
                d=${d%/*}
        done
        echo none
}

# --- helpers for the containers -----------------------------------------------------------
CTL="numapinctl --config /etc/numapin.json --state-dir /run/numapin"
HOOK='{"path": "/usr/bin/numapin-hook", "args": ["numapin-hook", "--config", "/etc/numapin.json", "--state-dir", "/run/numapin", "STAGE"]}'
# a runtime command that hangs is killed and shows up as a failed check, not a stuck guest
RT_TIMEOUT=120
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
# with_disk DIR: the bundle's container gets the disk in linux.devices, as kubelet's
# device plugins hand one over, and may use it (linux.resources.devices)
with_disk() {
        jq --arg path "$DISK" --argjson maj "$DISK_MAJ" --argjson min "$DISK_MIN" '
                .linux.devices = [{path: $path, type: "b", major: $maj, minor: $min, fileMode: 432, uid: 0, gid: 0}]
                | .linux.resources.devices += [{allow: true, type: "b", major: $maj, minor: $min, access: "rwm"}]' \
                "$1/config.json" >"$1/c.json" && mv "$1/c.json" "$1/config.json"
}
# logged_hooks DIR: the bundle's hooks run numapin-hook at log level info with its stderr
# appended to /tmp/numapin-hook.log, where its placement line (with the reason) stays;
# runc and crun drop a successful hook's stderr, and the system log gets warnings only
HOOK_LOG=/tmp/numapin-hook.log
logged_hooks() {
        local stage hooks="{}"
        for stage in createRuntime poststop; do
                hooks=$(echo "$hooks" | jq --arg s $stage --arg cmd "exec /usr/bin/numapin-hook --config /etc/numapin-info.json \
--state-dir /run/numapin $stage 2>>$HOOK_LOG" '.[$s] = [{path: "/bin/sh", args: ["sh", "-c", $cmd]}]')
        done
        jq --argjson h "$hooks" '.hooks = $h' "$1/config.json" >"$1/c.json" && mv "$1/c.json" "$1/config.json"
}
records() { $CTL list --json 2>&1 | jq -r '.containers | length' 2>&1; }
# record ID: {nodes, cpus, mems} of a container's ledger record
record() { $CTL list --json | jq -c --arg id "$1" '.containers[] | select(.id == $id) | {nodes, cpus, mems}'; }
field() { echo "$2" | sed -n "s/^$1:[[:space:]]*//p"; }
# status PID: the allowed lists of a process seen from outside its container
status() { grep -E '^(Cpus|Mems)_allowed_list' "/proc/$1/status" 2>&1; }
STATUS='grep -E "^(Cpus|Mems)_allowed_list" /proc/self/status'
# run_and_check RUNTIME LABEL ID ANNOTATIONS CPUS MEMS [NOTE]: runs a container in the
# foreground that prints its allowed lists, checks it ran and what it saw, deletes it
run_and_check() {
        local B=/tmp/bundle-$3 out st
        bundle "$B" "$4" "$STATUS" || return
        out=$(timeout $RT_TIMEOUT "$1" run --bundle "$B" "$3" </dev/null 2>&1)
        st=$?
        [ $st -eq 0 ] && ok "$2: container runs" || notok "$2: container runs" "status $st: $out"
        is "$2: Cpus_allowed_list $5${7:+ $7}" "$5" "$(field Cpus_allowed_list "$out")"
        is "$2: Mems_allowed_list $6" "$6" "$(field Mems_allowed_list "$out")"
        "$1" delete -f "$3" >/dev/null 2>&1
}
# start RUNTIME ID BUNDLE: a detached container; prints the runtime's errors
start() {
        timeout $RT_TIMEOUT "$1" run -d --bundle "$3" "$2" </dev/null >/dev/null 2>/tmp/start.err
        local st=$?
        cat /tmp/start.err
        return $st
}
pidof_ctr() { "$1" state "$2" 2>/dev/null | jq -r .pid; }
# running RUNTIME ID: the allowed lists of a detached container's init
running() { status "$(pidof_ctr "$1" "$2")"; }
# refused LABEL RUNTIME ID STATUS OUTPUT TEXT: the runtime refused the container and
# numapin's message with TEXT reached the user: in the runtime's error (runc passes a
# hook's stderr on, crun drops it) and in the system log, with the container's id
refused() {
        local missing=""
        if [ "$4" -eq 0 ]; then notok "$1" "the runtime started it: $5"; return; fi
        [ "$2" = runc ] && ! echo "$5" | grep -q "$6" && missing="runc's error"
        grep -q "numapin-hook.*container $3: .*$6" /tmp/messages || missing="$missing${missing:+ and }the system log"
        [ -z "$missing" ] && ok "$1" || notok "$1" "'$6' not in $missing; status $4: $5"
}
# reset: no container and no record left over from a scenario for the next one
reset() {
        local rt id
        for rt in $RUNTIMES; do
                for id in $("$rt" list -q 2>/dev/null); do "$rt" delete -f "$id" >/dev/null 2>&1; done
        done
        rm -rf /run/numapin
}

# --- the scenarios: sc_NAME RUNTIME; the issue's numbers in brackets -----------------------

# [1] the topology numapin sees is the one qemu was given
sc_topology() {
        local topo
        topo=$(numapinctl topology --json 2>&1)
        if [ "$MACHINE" = 2node ]; then
                check "topology: nodes 0 and 1" '[.nodes[].id] == [0,1]' "$topo"
                check "topology: node 0 cpus 0-1, node 1 cpus 2-3" '[.nodes[].cpus] == ["0-1","2-3"]' "$topo"
                check "topology: distances [10,20]/[20,10]" '[.nodes[].distances] == [[10,20],[20,10]]' "$topo"
        else
                check "topology: nodes 0-3" '[.nodes[].id] == [0,1,2,3]' "$topo"
                check "topology: one cpu per node" '[.nodes[].cpus] == ["0","1","2","3"]' "$topo"
                check "topology: distances 10/20/30" '[.nodes[].distances] ==
                        [[10,20,30,30],[20,10,30,30],[30,30,10,20],[30,30,20,10]]' "$topo"
                topology_disk
        fi
}
# the disk qemu put behind a PCIe expander bridge on node 2: where sysfs has it
topology_disk() {
        local path
        if [ -z "$DISK" ]; then
                notok "topology: a virtio disk behind $DISK_BUS" "$DISK_WHY"
                return
        fi
        path=$(readlink -f "/sys/dev/block/$DISK_MAJ:$DISK_MIN")
        case $path in
        /sys/devices/$DISK_BUS/*) ok "topology: $DISK ($DISK_MAJ:$DISK_MIN) is behind $DISK_BUS ($path)" ;;
        *) notok "topology: $DISK ($DISK_MAJ:$DISK_MIN) is behind $DISK_BUS" "/sys/dev/block/$DISK_MAJ:$DISK_MIN is '$path'" ;;
        esac
        is "topology: $DISK's PCI function is on node $DISK_NODE (numa_node)" "$DISK_NODE" "$(pci_numa_node "$path")"
        is "topology: $DISK is a block device $DISK_MAJ:$DISK_MIN in /dev" "block special file $DISK_MAJ:$DISK_MIN" \
                "$(stat -c '%t %T %F' "$DISK" 2>&1 | { read -r t T f && printf '%s %d:%d' "$f" 0x$t 0x$T; })"
}

# [2] nodes=1: the container runs on node 1's CPUs and its memory comes from node 1
sc_bind() {
        local rt=$1 B=/tmp/bundle-bind-$1 out st pages n1 total
        bundle "$B" '{"nodes.numapin.io/pod": "1"}' "$STATUS; workload 256" || return
        out=$(timeout $RT_TIMEOUT $rt run --bundle "$B" np-bind-$rt </dev/null 2>&1)
        st=$?
        [ $st -eq 0 ] && ok "$rt bind nodes=1: container runs" || notok "$rt bind nodes=1: container runs" "status $st: $out"
        is "$rt bind nodes=1: Cpus_allowed_list $NODE1_CPUS" "$NODE1_CPUS" "$(field Cpus_allowed_list "$out")"
        is "$rt bind nodes=1: Mems_allowed_list 1" 1 "$(field Mems_allowed_list "$out")"
        pages=$(echo "$out" | grep 'total=')
        n1=$(echo "$pages" | sed -n 's/.*N1=\([0-9]*\).*/\1/p')
        total=$(echo "$pages" | sed -n 's/.*total=\([0-9]*\).*/\1/p')
        # 256 MiB is 65536 pages of 4 KiB
        if [ -n "$total" ] && [ "$total" -ge 65536 ] && [ $((${n1:-0} * 100)) -ge $((total * 99)) ]; then
                ok "$rt bind nodes=1: 256 MiB allocation >= 99% on node 1 ($pages)"
        else
                notok "$rt bind nodes=1: 256 MiB allocation >= 99% on node 1" "got '$pages'"
        fi
        $rt delete -f np-bind-$rt >/dev/null 2>&1
        is "$rt bind nodes=1: poststop freed the record" 0 "$(records)"
}

# [3, 4] one exclusive CPU per container, as many containers as CPUs: each lands on a node
# with the most free CPUs, none shares a CPU, one more is refused with every node's free
# capacity, and after poststop the CPUs are offered again
sc_exclusive() {
        local rt=$1 B=/tmp/bundle-excl-$1 i id err st rec c out held="" spread ids=""
        bundle "$B" '{"cpus.numapin.io/pod": "1"}' "sleep 600" || return
        for i in 1 2 3 4; do
                id=np-excl$i-$rt
                ids="$ids $id"
                err=$(start $rt $id "$B") || { notok "$rt exclusive: container $i starts" "$err"; continue; }
                rec=$(record $id)
                c=$(echo "$rec" | jq -r .cpus)
                out=$(running $rt $id)
                if [ -n "$c" ] && [ "$(field Cpus_allowed_list "$out")" = "$c" ]; then
                        ok "$rt exclusive: container $i runs on its CPU ($rec)"
                else
                        notok "$rt exclusive: container $i runs on its CPU" "record '$rec', status '$out'"
                fi
                held="$held $c"
                # every node has as many CPUs, so by free capacity no node may hold two
                # containers more than another
                spread=$($CTL list --json | jq --arg nodes "$NODES" '($nodes | split(" ")) as $n
                        | [$n[] as $x | [.containers[] | select(.nodes == $x)] | length] | max - min')
                [ "$spread" -le 1 ] 2>/dev/null && ok "$rt exclusive: after $i, nodes differ by at most 1 container" ||
                        notok "$rt exclusive: after $i, nodes differ by at most 1 container" "they differ by '$spread'"
        done
        is "$rt exclusive: 4 containers hold 4 different CPUs" "0 1 2 3" \
                "$(echo $held | tr ' ' '\n' | sort -u | tr '\n' ' ' | sed 's/ $//')"
        err=$(start $rt np-excl5-$rt "$B")
        st=$?
        refused "$rt exclusive: a 5th is refused with 'no node or set of nodes fits'" $rt np-excl5-$rt $st "$err" \
                "no node or set of nodes fits"
        for i in $NODES; do
                refused "$rt exclusive: the refusal shows node $i with 0 free CPUs" $rt np-excl5-$rt $st "$err" \
                        "node $i: 0 free CPUs"
        done
        $rt delete -f np-excl5-$rt >/dev/null 2>&1
        is "$rt exclusive: 4 records" 4 "$(records)"
        for id in $ids; do $rt delete -f $id >/dev/null 2>&1; done
        is "$rt exclusive: poststop freed the records" 0 "$(records)"
        is "$rt exclusive: the 4 CPUs are offered again" 0-3 \
                "$($CTL plan --json --annotation cpus.numapin.io/pod=4 2>&1 | jq -r .cpus 2>&1)"
}

# [5] node-count=2 takes the closest pair by the distance matrix (4-node machine)
sc_multinode() {
        local rt=$1 B=/tmp/bundle-count2-$1 out st c err
        # 0-1 and 2-3 are the pairs at distance 20: free capacity picks one of them
        bundle "$B" '{"node-count.numapin.io/pod": "2"}' "$STATUS" || return
        out=$(timeout $RT_TIMEOUT $rt run --bundle "$B" np-count2-$rt </dev/null 2>&1)
        st=$?
        [ $st -eq 0 ] && ok "$rt node-count=2: container runs" || notok "$rt node-count=2: container runs" "status $st: $out"
        c=$(field Cpus_allowed_list "$out")
        case $c in
        0-1 | 2-3) ok "$rt node-count=2: Cpus_allowed_list $c (a pair at distance 20)" ;;
        *) notok "$rt node-count=2: Cpus_allowed_list 0-1 or 2-3 (a pair at distance 20)" "got '$c'" ;;
        esac
        is "$rt node-count=2: Mems_allowed_list the same nodes" "$c" "$(field Mems_allowed_list "$out")"
        $rt delete -f np-count2-$rt >/dev/null 2>&1
        B=/tmp/bundle-hold0-$1
        # with node 0's CPU held exclusively, 2 exclusive CPUs on 2 nodes: {2,3} (20) beats
        # {1,2} and {1,3} (30), though 1 is the lowest free id
        bundle "$B" '{"nodes.numapin.io/pod": "0", "cpus.numapin.io/pod": "1"}' "sleep 600" || return
        err=$(start $rt np-hold0-$rt "$B")
        [ $? -eq 0 ] && ok "$rt node-count=2: node 0's CPU held" || notok "$rt node-count=2: node 0's CPU held" "$err"
        run_and_check $rt "$rt node-count=2 cpus=2" np-count2x-$rt \
                '{"node-count.numapin.io/pod": "2", "cpus.numapin.io/pod": "2"}' 2-3 2-3 "(closest free pair)"
        $rt delete -f np-hold0-$rt >/dev/null 2>&1
        is "$rt node-count=2: poststop freed the records" 0 "$(records)"
}

# [6] cpus-only binds the CPUs and leaves memory on every node
sc_cpusonly() {
        run_and_check $1 "$1 cpus-only" np-cpusonly-$1 \
                '{"policy.numapin.io/pod": "cpus-only", "nodes.numapin.io/pod": "1"}' "$NODE1_CPUS" "$ALL_MEMS"
        is "$1 cpus-only: poststop freed the record" 0 "$(records)"
}

# [7] an unannotated container is not placed: with no CPU held exclusively it keeps every
# CPU and node, and its record (policy none, kept off exclusive CPUs) goes at poststop
sc_unannotated() {
        local rt=$1 B=/tmp/bundle-plain-$1 err out
        bundle "$B" '{}' "sleep 600" || return
        err=$(start $rt np-plain-$rt "$B")
        [ $? -eq 0 ] && ok "$rt unannotated: container runs" || notok "$rt unannotated: container runs" "$err"
        out=$(running $rt np-plain-$rt)
        is "$rt unannotated: Cpus_allowed_list $ALL_CPUS" "$ALL_CPUS" "$(field Cpus_allowed_list "$out")"
        is "$rt unannotated: Mems_allowed_list $ALL_MEMS" "$ALL_MEMS" "$(field Mems_allowed_list "$out")"
        is "$rt unannotated: recorded as policy none, every CPU" "none $ALL_CPUS" \
                "$($CTL list --json | jq -r --arg id np-plain-$rt '.containers[] | select(.id == $id) | "\(.policy) \(.cpus)"')"
        $rt delete -f np-plain-$rt >/dev/null 2>&1
        is "$rt unannotated: poststop freed its record" 0 "$(records)"
}

# [8] a node the machine does not have: refused with numapin's message, and no record
sc_bad() {
        local rt=$1 B=/tmp/bundle-bad-$1 out st
        bundle "$B" '{"nodes.numapin.io/pod": "5"}' "$STATUS" || return
        out=$(timeout $RT_TIMEOUT $rt run --bundle "$B" np-bad-$rt </dev/null 2>&1)
        st=$?
        refused "$rt nodes=5: refused with 'node 5 does not exist'" $rt np-bad-$rt $st "$out" "node 5 does not exist"
        is "$rt nodes=5: no record" 0 "$(records)"
        $rt delete -f np-bad-$rt >/dev/null 2>&1
}

# a running shared container is moved off a CPU that a later container takes exclusively,
# and gets it back when that container is gone (2-node machine: node 0 has CPUs 0-1)
sc_repin() {
        local rt=$1 Bs=/tmp/bundle-shared-$1 Bx=/tmp/bundle-excl0-$1 err c rest
        bundle "$Bs" '{"nodes.numapin.io/pod": "0"}' "sleep 600" || return
        bundle "$Bx" '{"nodes.numapin.io/pod": "0", "cpus.numapin.io/pod": "1"}' "sleep 600" || return
        err=$(start $rt np-shared-$rt "$Bs")
        [ $? -eq 0 ] && ok "$rt repin: shared container runs" || notok "$rt repin: shared container runs" "$err"
        is "$rt repin: shared container on 0-1" 0-1 "$(field Cpus_allowed_list "$(running $rt np-shared-$rt)")"
        err=$(start $rt np-excl0-$rt "$Bx")
        [ $? -eq 0 ] && ok "$rt repin: exclusive container runs" || notok "$rt repin: exclusive container runs" "$err"
        c=$(record np-excl0-$rt | jq -r .cpus)
        case $c in 0) rest=1 ;; 1) rest=0 ;; *) rest="?" ;; esac
        is "$rt repin: exclusive container runs on its CPU $c" "$c" \
                "$(field Cpus_allowed_list "$(running $rt np-excl0-$rt)")"
        is "$rt repin: shared container moved to $rest" "$rest" \
                "$(field Cpus_allowed_list "$(running $rt np-shared-$rt)")"
        $rt delete -f np-excl0-$rt >/dev/null 2>&1
        is "$rt repin: shared container back on 0-1 after poststop" 0-1 \
                "$(field Cpus_allowed_list "$(running $rt np-shared-$rt)")"
        $rt delete -f np-shared-$rt >/dev/null 2>&1
        is "$rt repin: poststop freed the records" 0 "$(records)"
}

# the locality monitor: where a container ran and where its pages came from, against
# memory.numa_stat, and a workload made to allocate on the other node
sc_monitor() {
        local rt=$1 B=/tmp/bundle-mon-$1 id=np-mon-$1 out st stats pages n1 n1pages resident
        bundle "$B" '{"nodes.numapin.io/pod": "1"}' "workload $MON_MIB hold" || return
        err=$(start $rt $id "$B")
        [ $? -eq 0 ] && ok "$rt monitor: bound container runs" || notok "$rt monitor: bound container runs" "$err"
        # until the workload touched its memory
        for _ in $(seq 120); do
                pages=$($CTL stats $id --json 2>/dev/null | jq -r '.containers[0].pages_allocated')
                [ "${pages:-0}" -ge $((MON_MIB * 256)) ] 2>/dev/null && break
                sleep 0.5
        done
        stats=$($CTL stats $id --json 2>&1)
        n1=$(echo "$stats" | jq -r '.containers[0].nodes[] | select(.node == 1)')
        n1pages=$(echo "$n1" | jq -r .pages_allocated)
        if [ "${pages:-0}" -ge $((MON_MIB * 256)) ] 2>/dev/null && [ $((n1pages * 100)) -ge $((pages * 99)) ]; then
                ok "$rt monitor: >= 99% of the pages counted on node 1 ($n1pages of $pages)"
        else
                notok "$rt monitor: >= 99% of the pages counted on node 1" "$(echo "$stats" | tr -d ' \n' | head -c 700)"
        fi
        is "$rt monitor: CPU time only on node 1" "true" \
                "$(echo "$stats" | jq -r '([.containers[0].nodes[] | select(.node != 1) | .cpu_seconds] | all(. == 0))
                        and ([.containers[0].nodes[] | select(.node == 1) | .cpu_seconds] | .[0] > 0)')"
        resident=$(echo "$n1" | jq -r .resident_bytes)
        # BPF counts every page allocated for the container, memory.numa_stat what it holds
        if [ "$resident" -gt 0 ] 2>/dev/null && [ $((n1pages * 4096 * 100)) -ge $((resident * 98)) ] &&
                [ $((n1pages * 4096 * 100)) -le $((resident * 102)) ]; then
                ok "$rt monitor: BPF pages on node 1 within 2% of memory.numa_stat ($((n1pages * 4096)) vs $resident bytes)"
        else
                notok "$rt monitor: BPF pages on node 1 within 2% of memory.numa_stat" "pages $n1pages, resident '$resident'"
        fi
        $rt delete -f $id >/dev/null 2>&1
        # (the teardown allocates a few more pages)
        is "$rt monitor: exited, its final counters kept" "exited true" \
                "$($CTL stats $id --json | jq -r --argjson p "$pages" '.containers[0] | "\(.state) \(.pages_allocated >= $p)"')"

        # CPUs of node 0, memory forced to node 1 (as numactl --membind=1 would)
        B=/tmp/bundle-remote-$1
        id=np-remote-$1
        bundle "$B" '{"policy.numapin.io/pod": "cpus-only", "nodes.numapin.io/pod": "0"}' \
                "workload 64 --membind 1" || return
        out=$(timeout $RT_TIMEOUT $rt run --bundle "$B" $id </dev/null 2>&1)
        st=$?
        $rt delete -f $id >/dev/null 2>&1
        stats=$($CTL stats $id --json 2>&1)
        remote=$(echo "$stats" | jq -r '.containers[0].remote_percent')
        # the runtime's own pages count too: after createRuntime runc's init (Go) allocates
        # 0.3-2.4 MiB in the container's cgroup on node 0 (crun's init 0.2 MiB) before the
        # workload binds its 64 MiB to node 1, which is then 96-99.7% of the pages
        if [ $st -eq 0 ] && [ "$(echo "$remote >= 95" | bc 2>/dev/null || awk "BEGIN{print ($remote >= 95)}")" = 1 ]; then
                ok "$rt monitor: CPUs on node 0, memory bound to node 1: ${remote}% remote"
        else
                notok "$rt monitor: CPUs on node 0, memory bound to node 1: ~100% remote" "status $st ($out): $(echo "$stats" | tr -d ' \n' | head -c 600)"
        fi
        # the same two in the Prometheus exposition (both exited, within the grace period)
        out=$($CTL metrics 2>&1)
        remote=$(metrics_remote_percent "$out" np-remote-$rt)
        if [ "$remote" -ge 95 ] 2>/dev/null; then
                ok "$rt metrics: CPUs on node 0, memory on node 1: ${remote}% of the pages remote in /metrics"
        else
                notok "$rt metrics: CPUs on node 0, memory on node 1: ~100% remote in /metrics" \
                        "got '$remote': $(echo "$out" | grep "np-remote-$rt" | head -c 600)"
        fi
        remote=$(metrics_remote_percent "$out" np-mon-$rt)
        if [ "$remote" -le 1 ] 2>/dev/null; then
                ok "$rt metrics: bound container: ${remote}% of the pages remote in /metrics"
        else
                notok "$rt metrics: bound container: ~0% remote in /metrics" \
                        "got '$remote': $(echo "$out" | grep "np-mon-$rt" | head -c 600)"
        fi
}

# metrics_remote_percent TEXT ID: the remote share of container ID's pages in the
# exposition TEXT, in whole percent ("none" when it has no pages there)
metrics_remote_percent() {
        echo "$1" | awk -v id="container_id=\"$2\"" '
                /^numapin_container_pages_allocated_total\{/ && index($0, id) {
                        all += $NF
                        if (index($0, "locality=\"remote\"")) remote += $NF
                }
                END { if (all > 0) printf "%d\n", remote * 100 / all + 0.5; else print "none" }'
}

# [15] device affinity (4-node machine): a container given the disk on node 2 in
# linux.devices, nodes=auto, lands on node 2 and the reason names the disk; with
# devices=ignore it is accepted wherever auto puts it. So that only the disk can pull it
# there, half a CPU of node 2 is held first (numapinctl plan --commit): by free capacity
# auto takes another node (checked with numapinctl plan).
sc_devices() {
        local rt=$1 B=/tmp/bundle-dev-$1 id=np-dev-$1 err rec want out line plan
        if [ -z "$DISK" ]; then
                notok "$rt devices: the disk on node $DISK_NODE is there" "$DISK_WHY"
                return
        fi
        # (a ledger record, no container: starting one costs seconds under TCG)
        err=$($CTL plan --commit --id np-devhold-$rt --annotation nodes.numapin.io/pod=$DISK_NODE \
                --cpu-quota 50000 --cpu-period 100000 2>&1)
        [ $? -eq 0 ] && ok "$rt devices: half a CPU of node $DISK_NODE held" ||
                notok "$rt devices: half a CPU of node $DISK_NODE held" "$err"
        plan=$($CTL plan --json --annotation policy.numapin.io/pod=bind --annotation nodes.numapin.io/pod=auto 2>&1 |
                jq -r .nodes 2>&1)
        [ -n "$plan" ] && [ "$plan" != "$DISK_NODE" ] &&
                ok "$rt devices: without devices auto takes node $plan, not $DISK_NODE" ||
                notok "$rt devices: without devices auto takes another node than $DISK_NODE" "plan says '$plan'"
        bundle "$B" '{"policy.numapin.io/pod": "bind", "nodes.numapin.io/pod": "auto"}' "sleep 600" || return
        with_disk "$B" && logged_hooks "$B" || { notok "$rt devices: bundle with $DISK" "jq failed"; return; }
        err=$(start $rt $id "$B")
        [ $? -eq 0 ] && ok "$rt devices: container given $DISK runs" || notok "$rt devices: container given $DISK runs" "$err"
        rec=$(record $id)
        want="{\"nodes\":\"$DISK_NODE\",\"cpus\":\"$DISK_NODE_CPUS\",\"mems\":\"$DISK_NODE\"}"
        [ "$rec" = "$want" ] && ok "$rt devices: recorded on node $DISK_NODE, $DISK's node ($rec)" ||
                notok "$rt devices: recorded on node $DISK_NODE, $DISK's node" \
                        "expected $want, got '$rec': numapin did not follow linux.devices ($DISK $DISK_MAJ:$DISK_MIN)"
        out=$(running $rt $id)
        is "$rt devices: Cpus_allowed_list $DISK_NODE_CPUS (node $DISK_NODE)" "$DISK_NODE_CPUS" "$(field Cpus_allowed_list "$out")"
        is "$rt devices: Mems_allowed_list $DISK_NODE" "$DISK_NODE" "$(field Mems_allowed_list "$out")"
        # the reason: the hook's placement line, or the record if numapinctl list shows one
        line=$(grep -F "container '$id':" $HOOK_LOG 2>/dev/null | tail -n1)
        if echo "$line" | grep -qF "$DISK" ||
                $CTL list --json | jq -e --arg id $id --arg d "$DISK" '.containers[] | select(.id == $id) | tostring |
                        contains($d)' >/dev/null 2>&1; then
                ok "$rt devices: the reason names $DISK (${line#*: info: })"
        else
                notok "$rt devices: the reason names $DISK" "not in the hook's log line '$line' nor in numapinctl list's record"
        fi
        $rt delete -f $id >/dev/null 2>&1
        is "$rt devices: poststop freed its record" "np-devhold-$rt" "$($CTL list --json | jq -r '[.containers[].id] | join(" ")')"

        B=/tmp/bundle-devignore-$1
        id=np-devignore-$1
        bundle "$B" '{"policy.numapin.io/pod": "bind", "nodes.numapin.io/pod": "auto", "devices.numapin.io/pod": "ignore"}' \
                "sleep 600" || return
        with_disk "$B" || { notok "$rt devices=ignore: bundle with $DISK" "jq failed"; return; }
        err=$(start $rt $id "$B")
        [ $? -eq 0 ] && ok "$rt devices=ignore: container given $DISK is accepted ($(record $id))" ||
                notok "$rt devices=ignore: container given $DISK is accepted" "$err"
        $rt delete -f $id >/dev/null 2>&1
        is "$rt devices=ignore: poststop freed its record" "np-devhold-$rt" \
                "$($CTL list --json | jq -r '[.containers[].id] | join(" ")')"
        $CTL release np-devhold-$rt >/dev/null
}

# [15] pod scope: containers a and b of one pod (one CRI sandbox id), scope=pod, land on
# the same node, where spreading by free capacity would put b on another: on the 2-node
# machine with one exclusive CPU each (node 0 has two CPUs), on the 4-node machine (one
# CPU a node) as shared containers of 0.4 CPU each. After both stop, the ledger holds
# neither.
sc_pod() {
        local rt=$1 sandbox=np-pod-sandbox-$1 name B an err rec_a rec_b na nb c got
        for name in a b; do
                B=/tmp/bundle-pod$name-$rt
                an=$(jq -nc --arg s $sandbox --arg n $name '{"io.kubernetes.cri.sandbox-id": $s,
                        "io.kubernetes.cri.container-name": $n, "scope.numapin.io/pod": "pod",
                        "policy.numapin.io/pod": "bind"}')
                [ "$MACHINE" = 2node ] && an=$(echo "$an" | jq -c '. + {"cpus.numapin.io/pod": "1"}')
                bundle "$B" "$an" "sleep 600" || return
                if [ "$MACHINE" = 4node ]; then
                        jq '.linux.resources.cpu = {quota: 40000, period: 100000}' "$B/config.json" >"$B/c.json" &&
                                mv "$B/c.json" "$B/config.json"
                fi
                err=$(start $rt np-pod$name-$rt "$B")
                [ $? -eq 0 ] && ok "$rt pod scope: container $name runs" || notok "$rt pod scope: container $name runs" "$err"
        done
        rec_a=$(record np-poda-$rt)
        rec_b=$(record np-podb-$rt)
        na=$(echo "$rec_a" | jq -r .nodes 2>/dev/null)
        nb=$(echo "$rec_b" | jq -r .nodes 2>/dev/null)
        if [ -n "$na" ] && [ "$na" = "$nb" ] && [ "$(echo "$na" | tr -cd ',-')" = "" ]; then
                ok "$rt pod scope: a and b on the same node $na"
        else
                notok "$rt pod scope: a and b on the same node" \
                        "a '$rec_a', b '$rec_b': numapin did not place b with its pod ($sandbox)"
        fi
        for name in a b; do
                c=$(record np-pod$name-$rt | jq -r .cpus)
                got=$(field Cpus_allowed_list "$(running $rt np-pod$name-$rt)")
                [ -n "$c" ] && [ "$c" = "$got" ] && ok "$rt pod scope: $name runs on its recorded CPUs $c" ||
                        notok "$rt pod scope: $name runs on its recorded CPUs" "record '$c', Cpus_allowed_list '$got'"
        done
        if [ "$MACHINE" = 2node ]; then
                is "$rt pod scope: a and b hold different exclusive CPUs" 2 \
                        "$(printf '%s\n%s\n' "$(echo "$rec_a" | jq -r .cpus)" "$(echo "$rec_b" | jq -r .cpus)" | sort -u | wc -l)"
        fi
        $rt delete -f np-poda-$rt >/dev/null 2>&1
        is "$rt pod scope: after a stops, numapinctl list shows b only" np-podb-$rt \
                "$($CTL list --json 2>&1 | jq -r '[.containers[].id] | join(" ")' 2>&1)"
        $rt delete -f np-podb-$rt >/dev/null 2>&1
        is "$rt pod scope: after both stop, numapinctl list shows neither" "" \
                "$($CTL list --json 2>&1 | jq -r '[.containers[].id] | join(" ")' 2>&1)"
}

# --- the run ------------------------------------------------------------------------------
RUNTIMES=""
for rt in runc crun; do
        command -v $rt >/dev/null && RUNTIMES="$RUNTIMES $rt" || say "skip - $rt: not in the initramfs"
done
# wanted SCENARIO: in numapin.only, or no numapin.only
wanted() { [ -z "$ONLY" ] || case ",$ONLY," in *",$1,"*) true ;; *) false ;; esac; }
# scenario NAME [RUNTIME]: runs one, then clears what it left
scenario() {
        wanted "$1" || return 0
        echo "$(cut -d. -f1 /proc/uptime) $1 ${2:-}" >/tmp/numapin-scenario
        "sc_$1" $2
        reset
}

# A heartbeat on the console every 30 s naming the scenario that runs, so that a
# guest killed for not powering off tells which way it hung: heartbeats up to the
# end mean a stuck scenario (its processes and where they wait are listed once it
# has run RT_TIMEOUT + 60 s), none for minutes a stuck guest (kernel or emulator).
heartbeat() {
        local listed=""
        while sleep 30; do
                read -r since name rt </tmp/numapin-scenario || continue
                now=$(cut -d. -f1 /proc/uptime)
                echo "NUMAPIN-HB ${now}s: $name $rt for $((now - since))s"
                if [ $((now - since)) -gt $((RT_TIMEOUT + 60)) ] && [ "$listed" != "$since" ]; then
                        listed=$since
                        for p in /proc/[0-9]*; do
                                echo "NUMAPIN-HB   ${p#/proc/} $(cat "$p/wchan" 2>/dev/null) $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null | head -c 120)"
                        done
                fi
        done
}
echo "$(cut -d. -f1 /proc/uptime) start" >/tmp/numapin-scenario
heartbeat &

scenario topology
for rt in $RUNTIMES; do
        scenario bind $rt
        scenario cpusonly $rt
        scenario unannotated $rt
        scenario bad $rt
        scenario exclusive $rt
        scenario monitor $rt
        [ "$MACHINE" = 2node ] && scenario repin $rt
        scenario pod $rt
        [ "$MACHINE" = 4node ] && scenario multinode $rt
        [ "$MACHINE" = 4node ] && scenario devices $rt
done

say DONE
if [ "$SHELL_AFTER" = 1 ]; then
        echo "numapin test guest ($MACHINE): numapinctl, runc, crun and /bundle are here; 'poweroff -f' leaves"
        setsid cttyhack sh -l
fi
poweroff -f
