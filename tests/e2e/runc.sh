# SPDX-License-Identifier: MIT
# Real `runc run` on this host (hybrid cgroups, v1 cpuset) with build/numapin-hook as the
# createRuntime and poststop hook of a busybox bundle: what the container sees in
# /proc/self/status, and the ledger around it. Needs root, runc and a static busybox.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT
is_root || skip_suite "needs root"
command -v runc >/dev/null || skip_suite "runc is not installed (apt-get install runc)"
command -v jq >/dev/null || skip_suite "jq is not installed"
if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
        skip_suite "needs a static /bin/busybox (apt-get install busybox-static)"
fi
[ -f /sys/fs/cgroup/cpuset/cpuset.cpus ] || skip_suite "needs the cgroup v1 cpuset hierarchy of this hybrid host"
if [ ! -x "$NP_HOOK" ] || [ ! -x "$NP_CTL" ]; then skip_suite "build numapin first: make all"; fi

CONF=$NP_TMP/numapin.json
SD=$NP_TMP/state
RUNC_ROOT=$NP_TMP/runc
ROOTFS=$NP_TMP/rootfs
HOST_CPUS=$(cat /sys/fs/cgroup/cpuset/cpuset.cpus)
echo "{\"monitor_pin_dir\": \"/sys/fs/bpf/numapin-e2e-$$\"}" >"$CONF"
at_exit "rm -rf /sys/fs/bpf/numapin-e2e-$$"
mkdir -p "$ROOTFS/bin" "$RUNC_ROOT"
cp /bin/busybox "$ROOTFS/bin/"
for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -sf busybox "$ROOTFS/bin/$applet"; done

# expands "0-2,5" to "0 1 2 5"
expand() { jq -rn --arg l "$1" '$l | split(",") | map(select(. != "") | split("-") | map(tonumber)
        | if length == 2 then range(.[0]; .[1] + 1) else .[0] end) | map(tostring) | join(" ")'; }
# the list "A" minus the CPUs of "B", in list form
minus() { jq -rn --arg a "$(expand "$1")" --arg b "$(expand "$2")" \
        '($a | split(" ") | map(tonumber)) - ($b | split(" ") | map(tonumber)) | map(tostring) | join(",")'; }

ctl() { "$NP_CTL" --config "$CONF" --state-dir "$SD" "$@"; }
records() { ctl list --json | jq -r '[.containers[] | "\(.id)=\(.cpus)"] | join(" ")'; }

# bundle NAME ANNOTATIONS-JSON COMMAND: a bundle from `runc spec` with numapin's hooks
bundle() {
        local dir=$NP_TMP/$1
        mkdir -p "$dir"
        (cd "$dir" && runc spec) || return 1
        jq --arg root "$ROOTFS" --arg cmd "$3" --argjson a "$2" --arg hook "$NP_HOOK" --arg conf "$CONF" --arg sd "$SD" '
                def np_hook($stage): {path: $hook, args: ["numapin-hook", "--config", $conf, "--state-dir", $sd, $stage],
                                      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]};
                .root = {path: $root, readonly: true}
                | .process.terminal = false
                | .process.args = ["sh", "-c", $cmd]
                | .annotations = $a
                | .hooks = {createRuntime: [np_hook("createRuntime")], poststop: [np_hook("poststop")]}' \
                "$dir/config.json" >"$dir/config.json.new" && mv "$dir/config.json.new" "$dir/config.json"
        echo "$dir"
}
SHOW='grep -E "^(Cpus|Mems)_allowed_list" /proc/self/status'
allowed() { sed -n "s/^$1_allowed_list:[[:space:]]*//p" "$2"; }
runc_() { runc --root "$RUNC_ROOT" "$@"; }
# run_fg ID BUNDLE: runs a container to its end; output in $NP_TMP/ID.out, status in $status
run_fg() {
        at_exit "runc --root '$RUNC_ROOT' delete -f '$1'"
        runc_ run --bundle "$2" "$1" </dev/null >"$NP_TMP/$1.out" 2>&1
        status=$?
}
# run_bg ID BUNDLE: starts a detached container; output goes to $NP_TMP/ID.out
run_bg() {
        at_exit "runc --root '$RUNC_ROOT' delete -f '$1'"
        runc_ run -d --bundle "$2" "$1" </dev/null >"$NP_TMP/$1.out" 2>&1
}
wait_output() { # FILE: until the container printed both lines (5 s)
        for _ in $(seq 50); do
                [ "$(grep -c _allowed_list "$1" 2>/dev/null)" -ge 2 ] && return 0
                sleep 0.1
        done
        return 1
}
# stop ID: kills the container, waits until it stopped, deletes it (runc runs poststop)
stop() {
        runc_ kill "$1" KILL >/dev/null 2>&1
        for _ in $(seq 50); do
                [ "$(runc_ state "$1" 2>/dev/null | jq -r .status)" = stopped ] && break
                sleep 0.1
        done
        runc_ delete "$1"
}
# cid NAME: a container id unique to this run
cid() { echo "np-$$-$1"; }

# --- an exclusive container in the foreground --------------------------------------------
plan=$(ctl plan --json --annotation policy.numapin.io/pod=bind --annotation cpus.numapin.io/pod=1)
b=$(bundle excl '{"policy.numapin.io/pod": "bind", "cpus.numapin.io/pod": "1"}' "$SHOW")
run_fg "$(cid excl)" "$b"
out=$NP_TMP/$(cid excl).out
ran() { [ "$status" -eq 0 ] && grep -q Cpus_allowed_list "$out" || why "status $status: $(head -c 400 "$out")"; }
check "runc bind cpus=1: container runs" ran
cpus=$(allowed Cpus "$out")
one_planned_cpu() {
        [ "$cpus" = "$(jq -r .cpus <<<"$plan")" ] && [ "$(expand "$cpus" | wc -w)" -eq 1 ] ||
                why "container '$cpus', plan '$(jq -r .cpus <<<"$plan")'"
}
check "runc bind cpus=1: Cpus_allowed_list is the CPU numapinctl plan chose" one_planned_cpu
expect_eq "runc bind cpus=1: Mems_allowed_list is the plan's mems" "0 0" "$(jq -r .mems <<<"$plan") $(allowed Mems "$out")"
expect_eq "runc bind cpus=1: poststop freed the record" "" "$(records)"

# --- a detached exclusive holder, then shared and unannotated containers beside it --------
b=$(bundle holder '{"policy.numapin.io/pod": "bind", "cpus.numapin.io/pod": "1"}' "$SHOW; exec sleep 300")
run_bg "$(cid holder)" "$b"
status=$?
out=$NP_TMP/$(cid holder).out
wait_output "$out"
held=$(ctl list --json | jq -r --arg id "$(cid holder)" '.containers[] | select(.id == $id) | .cpus')
holder_placed() {
        [ "$status" -eq 0 ] && [ -n "$held" ] && [ "$(allowed Cpus "$out")" = "$held" ] && [ "$(expand "$held" | wc -w)" -eq 1 ] ||
                why "status $status, record '$held', container sees '$(allowed Cpus "$out")': $(head -c 300 "$out")"
}
check "runc detached holder cpus=1: placed while it lives" holder_placed
pid=$(runc_ state "$(cid holder)" 2>/dev/null | jq -r .pid)
cg=$(sed -n 's/^[0-9]*:cpuset:\(.*\)/\1/p' "/proc/$pid/cgroup" 2>/dev/null)
expect_eq "runc detached holder cpus=1: the record names its cpuset cgroup and pid" \
        "/sys/fs/cgroup/cpuset$cg $pid $held" \
        "$(ctl list --json | jq -r --arg id "$(cid holder)" '.containers[] | select(.id == $id) | "\(.cgroup) \(.pid) \(.cpus)"')"

plan=$(ctl plan --json --annotation policy.numapin.io/pod=bind)
b=$(bundle shared '{"policy.numapin.io/pod": "bind"}' "$SHOW")
run_fg "$(cid shared)" "$b"
out=$NP_TMP/$(cid shared).out
want=$(minus "$HOST_CPUS" "$held")
expect_eq "runc shared bind: Cpus_allowed_list is the host's CPUs minus the holder's" "0 $want" "$status $(allowed Cpus "$out")"
expect_eq "runc shared bind: as numapinctl plan says" "$(jq -r .cpus <<<"$plan") $(jq -r .mems <<<"$plan")" \
        "$(allowed Cpus "$out") $(allowed Mems "$out")"

b=$(bundle plain '{}' "$SHOW")
run_fg "$(cid plain)" "$b"
out=$NP_TMP/$(cid plain).out
# numapin does not place it, but keeps it off the holder's exclusive CPU (unannotated: protect)
expect_eq "runc unannotated: Cpus_allowed_list leaves out the holder's exclusive CPU" "0 $want" "$status $(allowed Cpus "$out")"
expect_eq "runc unannotated: poststop freed its record, the holder's stays" "$(cid holder)=$held" "$(records)"

stop "$(cid holder)"
expect_eq "runc delete of the holder: poststop freed its record" "" "$(records)"

# --- two exclusive containers started at once --------------------------------------------
b1=$(bundle two1 '{"cpus.numapin.io/pod": "1"}' "$SHOW; exec sleep 300")
b2=$(bundle two2 '{"cpus.numapin.io/pod": "1"}' "$SHOW; exec sleep 300")
run_bg "$(cid two1)" "$b1" &
p1=$!
run_bg "$(cid two2)" "$b2" &
p2=$!
wait $p1; s1=$?
wait $p2; s2=$?
# at_exit from the subshells is lost: register the deletes here
at_exit "runc --root '$RUNC_ROOT' delete -f '$(cid two1)'"
at_exit "runc --root '$RUNC_ROOT' delete -f '$(cid two2)'"
wait_output "$NP_TMP/$(cid two1).out"
wait_output "$NP_TMP/$(cid two2).out"
expect_eq "runc two at once cpus=1: both run" "0 0" "$s1 $s2"
c1=$(allowed Cpus "$NP_TMP/$(cid two1).out") c2=$(allowed Cpus "$NP_TMP/$(cid two2).out")
rec="$(records)"
apart_as_recorded() {
        [ -n "$c1" ] && [ -n "$c2" ] && [ "$c1" != "$c2" ] && [ "$rec" = "$(cid two1)=$c1 $(cid two2)=$c2" ] ||
                why "containers see '$c1' and '$c2', records '$rec'"
}
check "runc two at once cpus=1: different CPUs, each as recorded" apart_as_recorded
if [ "$(expand "$HOST_CPUS" | wc -w)" -eq 2 ]; then
        b=$(bundle third '{"cpus.numapin.io/pod": "1"}' "$SHOW")
        run_fg "$(cid third)" "$b"
        refused_full() {
                [ "$status" -ne 0 ] && grep -q "no node or set of nodes fits 1 exclusive CPU" "$NP_TMP/$(cid third).out" ||
                        why "status $status: $(head -c 400 "$NP_TMP/$(cid third).out")"
        }
        check "runc third exclusive container on a full machine: refused with numapin's message" refused_full
else
        skip "runc third exclusive container on a full machine: refused with numapin's message" \
                "the host has $(expand "$HOST_CPUS" | wc -w) CPUs in its cpuset, not 2"
fi
stop "$(cid two1)"
stop "$(cid two2)"
expect_eq "runc two at once: records freed after kill and delete" "" "$(records)"

# --- an invalid annotation -------------------------------------------------------------
b=$(bundle badnode '{"nodes.numapin.io/pod": "7"}' "$SHOW")
run_fg "$(cid badnode)" "$b"
out=$NP_TMP/$(cid badnode).out
refused_node7() {
        [ "$status" -ne 0 ] && grep -q "numapin-hook: error: annotation 'nodes.numapin.io/pod': node 7 does not exist" "$out" &&
                ! grep -q _allowed_list "$out" || why "status $status: $(head -c 400 "$out")"
}
check "runc nodes=7: runc run fails with numapin's message" refused_node7
expect_eq "runc nodes=7: no record, no container left" " " "$(records) $(runc_ list -q 2>/dev/null | grep -x "$(cid badnode)")"

# --- a shared container already running is moved off a new exclusive CPU -----------------
if [ "$(expand "$HOST_CPUS" | wc -w)" -ge 2 ]; then
        status_of() { sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$(runc_ state "$1" | jq .pid)/status"; }
        b=$(bundle sharedbg '{"policy.numapin.io/pod": "bind"}' "sleep 30")
        run_bg "$(cid sharedbg)" "$b"
        before=$(status_of "$(cid sharedbg)")
        b=$(bundle exclbg '{"cpus.numapin.io/pod": "1"}' "sleep 30")
        run_bg "$(cid exclbg)" "$b"
        excl=$(status_of "$(cid exclbg)")
        during=$(status_of "$(cid sharedbg)")
        expect_eq "runc re-pin: a running shared container is moved off a new exclusive CPU" "$(minus "$before" "$excl")" "$during"
        stop "$(cid exclbg)"
        expect_eq "runc re-pin: it gets the CPU back when the exclusive container is deleted" "$before" "$(status_of "$(cid sharedbg)")"
        stop "$(cid sharedbg)"
else
        skip "runc re-pin: a running shared container is moved off a new exclusive CPU" "the host has one CPU"
        skip "runc re-pin: it gets the CPU back when the exclusive container is deleted" "the host has one CPU"
fi

# --- pod scope: two containers of one pod (the CRI annotations a kubelet's runtime sets) ---
pod_annotations() { # NAME EXTRA-JSON
        jq -nc --arg n "$1" --arg p "np-$$-pod" --argjson extra "$2" '{"io.kubernetes.cri.sandbox-id": $p,
                "io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.container-name": $n,
                "io.kubernetes.cri.sandbox-name": "web", "io.kubernetes.cri.sandbox-namespace": "e2e",
                "scope.numapin.io/pod": "pod"} + $extra'
}
pod_of() { ctl list --json | jq -r --arg id "$1" '.containers[] | select(.id == $id) | "\(.pod_scope // "-") \(.nodes)"'; }
b=$(bundle poda "$(pod_annotations a '{"cpus.numapin.io/container.a": "1"}')" "$SHOW; exec sleep 300")
run_bg "$(cid poda)" "$b"
status_a=$?
wait_output "$NP_TMP/$(cid poda).out"
b=$(bundle podb "$(pod_annotations b '{}')" "$SHOW; exec sleep 300")
run_bg "$(cid podb)" "$b"
status_b=$?
wait_output "$NP_TMP/$(cid podb).out"
expect_eq "runc pod scope: both containers of the pod run" "0 0" "$status_a $status_b"
expect_eq "runc pod scope: both records are bound to the pod, on the same nodes" \
        "np-$$-pod $(pod_of "$(cid poda)" | cut -d' ' -f2)" "$(pod_of "$(cid podb)")"
expect_eq "runc pod scope: the first container's record names its pod" "np-$$-pod" "$(pod_of "$(cid poda)" | cut -d' ' -f1)"
plan=$(ctl plan --json --annotation io.kubernetes.cri.sandbox-id="np-$$-pod" --annotation scope.numapin.io/pod=pod \
        --annotation policy.numapin.io/pod=bind 2>&1)
expect_contains "runc pod scope: a plan for another container of the pod follows the pod's nodes" "pod" "$(jq -r .reason <<<"$plan" 2>&1)"
stop "$(cid poda)"
expect_eq "runc pod scope: the pod's node set stays while one of its containers lives" \
        "np-$$-pod" "$(pod_of "$(cid podb)" | cut -d' ' -f1)"
stop "$(cid podb)"
expect_eq "runc pod scope: released with the pod's last container (no record left)" "" "$(records)"
plan=$(ctl plan --json --annotation io.kubernetes.cri.sandbox-id="np-$$-pod" --annotation scope.numapin.io/pod=pod \
        --annotation policy.numapin.io/pod=bind 2>&1)
released_plan() { [[ $(jq -r .reason <<<"$plan" 2>&1) != *"pod's nodes"* ]] || why "plan: $plan"; }
check "runc pod scope: after the last container, a new container of the pod chooses its nodes afresh" released_plan
