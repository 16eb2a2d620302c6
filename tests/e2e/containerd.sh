# SPDX-License-Identifier: MIT
# numapin-nri with real containerd: 1.7 (Debian trixie) and 2.1 (Debian sid), fetched once
# into build/containerd by tests/containerd/fetch.sh and run from there, each on its own
# temporary root, state and sockets, with NRI on and Debian's runc. Pods go through CRI as
# a kubelet sends them (tests/containerd/cri.py); what their containers see in
# /proc/self/status is the verdict. Needs root; it installs the Debian packages it needs
# (make deps) and fails, never skips, when one of them or a containerd cannot be had.
# NUMAPIN_CONTAINERD_LOGS=DIR keeps each containerd's log and the plugin's there.
source "$(dirname "$0")/../lib.sh"
source "$NP_ROOT/tests/containerd/runtime.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT
is_root || skip_suite "needs root"
# a signal ends the script through its EXIT trap, which cleans up
trap 'exit 143' TERM INT HUP
suite_start=$SECONDS

if [ ! -x "$NRI_BIN" ] || [ ! -x "$NP_CTL" ]; then
        fail "$NP_SUITE" "build first: make all"
        exit 1
fi
DEBS="runc jq busybox-static python3-grpcio python3-grpc-tools containernetworking-plugins"
debs_missing() {
        local p
        for p in $DEBS; do
                dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || printf '%s ' "$p"
        done
}
if [ -n "$(debs_missing)" ]; then
        echo "# installing $(debs_missing)through make deps"
        make -C "$NP_ROOT" --no-print-directory deps 2>&1 | sed 's/^/# /'
        if [ -n "$(debs_missing)" ]; then
                fail "$NP_SUITE: Debian packages" "$(debs_missing)not installed by make deps (the Makefile's DEB_TEST)"
                exit 1
        fi
fi
if ! command -v cc >/dev/null; then
        fail "$NP_SUITE" "needs cc for the pause program (make deps)"
        exit 1
fi

# containerd 1.7 and 2.1 and the CRI client, fetched once; fetch.sh names what it cannot get
fetched=$(bash "$CT_SRC/fetch.sh" "$CT_BUILD")
fetch_status=$?
[ -n "$fetched" ] && echo "$fetched"
if [ "$fetch_status" -ne 0 ] && ! grep -q '^not ok - ' <<<"$fetched"; then
        fail "$NP_SUITE: fetching containerd" "tests/containerd/fetch.sh exited with status $fetch_status"
fi
if [ ! -s "$CT_BUILD/cri-py/api_pb2_grpc.py" ]; then
        fail "$NP_SUITE: the CRI client" "no $CT_BUILD/cri-py/api_pb2_grpc.py; nothing can talk to containerd"
        exit 1
fi

# containerd's shims put their sockets in /run/containerd/s whatever the config says:
# the folder goes again at exit if this run made it and left it empty
[ -d /run/containerd ] || made_run_containerd=1
ct_cleanup_all() {
        local dir
        for dir in "$NP_TMP"/c*/; do
                [ -f "$dir/bin" ] && cd_cleanup "${dir%/}" "$(cat "$dir/bin")"
                if [ -n "${NUMAPIN_CONTAINERD_LOGS:-}" ]; then
                        mkdir -p "$NUMAPIN_CONTAINERD_LOGS/$(basename "$dir")" &&
                                cp "$dir"/*.log "$NUMAPIN_CONTAINERD_LOGS/$(basename "$dir")/"
                fi
        done
        cgroups_cleanup
        [ -n "${made_run_containerd:-}" ] && rmdir /run/containerd/s /run/containerd 2>/dev/null
        return 0
}
at_exit ct_cleanup_all

# the two images, without a registry: busybox for the containers, a static pause program
# for the sandboxes
IMG=$NP_TMP/images
mkdir -p "$IMG/busybox/bin" "$IMG/pause"
cp /bin/busybox "$IMG/busybox/bin/"
for applet in sh sleep cat grep; do ln -s busybox "$IMG/busybox/bin/$applet"; done
if ! cc -static -O2 -o "$IMG/pause/pause" "$CT_SRC/pause.c" ||
        ! bash "$CT_SRC/image.sh" "$IMG/busybox.tar" numapin-busybox:e2e "$IMG/busybox" /bin/sh ||
        ! bash "$CT_SRC/image.sh" "$IMG/pause.tar" numapin-pause:e2e "$IMG/pause" /pause; then
        fail "$NP_SUITE: the test images" "building the busybox and pause images failed"
        exit 1
fi

ALL=$(cat /sys/devices/system/cpu/online)
# cpulist_has LIST CPU: CPU is in LIST (0 yes, 1 no, 2 not a cpu list)
cpulist_has() {
        local part lo hi parts
        IFS=, read -ra parts <<<"$1"
        [ ${#parts[@]} -gt 0 ] || return 2
        for part in "${parts[@]}"; do
                lo=${part%-*} hi=${part#*-}
                [[ $lo =~ ^[0-9]+$ && $hi =~ ^[0-9]+$ ]] || return 2
                [ "$2" -ge "$lo" ] && [ "$2" -le "$hi" ] && return 0
        done
        return 1
}
# leaves_out CTR CPU: the container sees a valid cpu list without CPU
leaves_out() {
        local seen
        seen=$(cpus_seen "$1")
        cpulist_has "$seen" "$2"
        [ $? -eq 1 ]
}
ctl() { "$NP_CTL" --state-dir "$NP_STATE" "$@"; }
# doctor_has JQ-CONDITION [OPTION...]: numapinctl [OPTION...] doctor --json satisfies it
doctor_has() {
        local report
        report=$(ctl "${@:2}" doctor --json 2>&1)
        jq -e "$1" <<<"$report" >/dev/null 2>&1 || why "doctor --json: $(tr -d '\n' <<<"$report" | head -c 200)"
}
plugin_log_tail() { tail -n 3 "$CD_DIR/plugin.log" 2>/dev/null | tr '\n' '|'; }

# run_version SLOT: every check against the containerd unpacked in build/containerd/SLOT
run_version() {
        local slot=$1 version suite started=$SECONDS mm n
        read -r version suite <"$CT_BUILD/$slot/VERSION"
        mm=$(sed 's/^\([0-9]*\.[0-9]*\).*/\1/' <<<"$version")
        n="containerd $mm"
        cd_use "$mm" "$CT_BUILD/$slot/usr/bin"
        echo "$CD_BIN" >"$CD_DIR/bin"
        echo "# $n: $version from Debian $suite ($CT_BUILD/$slot), $("$RUNC" --version | head -n1)"
        if ! cd_start; then
                fail "$n: containerd starts and answers CRI" "$(tail -n 3 "$CD_DIR/containerd.log" | tr '\n' ' ')"
                return
        fi
        if ! out=$(ctr_ images import "$IMG/busybox.tar" 2>&1 && ctr_ images import "$IMG/pause.tar" 2>&1); then
                fail "$n: ctr images import of the busybox and pause images" "$out"
                return
        fi
        CONF=$CD_DIR/numapin.json
        echo '{"monitor": false, "log_level": "debug"}' >"$CONF"

        # 1. registration
        nri_start "$CONF"
        registered() {
                [ "$(registrations)" -ge "$1" ] ||
                        why "containerd logged 'plugin \"90-numapin\" connected' $(registrations) times, expected $1; plugin: $(plugin_log_tail)"
        }
        wait_until 10 registered 1
        check "$n: the plugin registers (containerd logs plugin \"90-numapin\" connected)" registered 1

        # 2. an exclusive CPU
        pod_run excl cpus.numapin.io/pod=1
        A_POD=$POD A_CTR=$CTR A_ERR=$ERR
        X=$(cpus_seen "$A_CTR")
        one_cpu() { [ -n "$A_CTR" ] && [[ $X =~ ^[0-9]+$ ]] || why "container '$A_CTR' sees '$X'${A_ERR:+; $A_ERR}"; }
        check "$n: a pod annotated cpus.numapin.io/pod=1 runs its container on exactly one CPU" one_cpu
        echo "# $n: the exclusive container runs on CPU $X"
        recorded() {
                ctl list --json | jq -e --arg id "$A_CTR" '.containers[] | select(.id == $id and .source == "nri")' >/dev/null ||
                        why "numapinctl list --json: $(ctl list --json 2>&1 | tr -d ' \n' | head -c 300)"
        }
        check "$n: numapinctl list --json shows the exclusive container's record with source nri" recorded

        # 3. a plain pod created after it
        pod_run plain1
        B_POD=$POD B_CTR=$CTR
        B_ERR=$ERR
        plain_off() { leaves_out "$B_CTR" "$X" || why "exclusive CPU '$X', the plain container '$B_CTR' sees '$(cpus_seen "$B_CTR")'${B_ERR:+; $B_ERR}"; }
        check "$n: a plain pod created after it leaves out the exclusive CPU" plain_off

        # 4. a plain pod started while the plugin is stopped, then Synchronize
        nri_stop
        pod_run plain2
        C_POD=$POD C_CTR=$CTR
        C_SEEN=$(cpus_seen "$C_CTR")
        expect_eq "$n: a plain pod started while the plugin is stopped first sees every CPU" "$ALL" "$C_SEEN"
        nri_start "$CONF"
        wait_until 10 registered 2
        wait_until 5 leaves_out "$C_CTR" "$X"
        synced_off() { leaves_out "$C_CTR" "$X" || why "exclusive CPU '$X', the plain container sees '$(cpus_seen "$C_CTR")' 5 s after the plugin registered again ($(registrations) registrations)"; }
        check "$n: once the plugin is back (Synchronize), that plain pod no longer sees the exclusive CPU" synced_off

        # 5. kubelet's reconciler widens the exclusive container's cpuset
        out=$(cri update "$A_CTR" --cpuset-cpus "$ALL" 2>&1)
        kept() { sees "$A_CTR" "$X" || why "sees '$(cpus_seen "$A_CTR")', not '$X', after UpdateContainerResources${out:+ ($out)}"; }
        check "$n: UpdateContainerResources cpuset $ALL on the exclusive container: it still sees only its CPU" kept
        overridden() { doctor_has '.nri.updates_overridden >= 1'; }
        check "$n: numapinctl doctor --json reports .nri.updates_overridden >= 1" overridden

        # 6. the cpuset changed while the plugin is away, restored when it is back
        nri_stop
        out=$(cri update "$A_CTR" --cpuset-cpus "$ALL" 2>&1)
        behind() { sees "$A_CTR" "$ALL" || why "sees '$(cpus_seen "$A_CTR")'${out:+ ($out)}"; }
        check "$n: with the plugin stopped, containerd applies cpuset $ALL to the exclusive container" behind
        nri_start "$CONF"
        wait_until 10 registered 3
        wait_until 5 sees "$A_CTR" "$X"
        restored() { sees "$A_CTR" "$X" || why "sees '$(cpus_seen "$A_CTR")', not '$X', 5 s after the plugin registered again"; }
        check "$n: once the plugin is back, the exclusive container sees only its CPU again, with no CRI call" restored
        placements_restored() { doctor_has '.nri.placements_restored >= 1'; }
        check "$n: numapinctl doctor --json reports .nri.placements_restored >= 1" placements_restored

        # 7. the exclusive pod removed
        pod_remove "$A_POD" "$A_CTR" >/dev/null 2>&1
        both_back() { sees "$B_CTR" "$ALL" && sees "$C_CTR" "$ALL"; }
        wait_until 5 both_back
        back() { both_back || why "plain pods see '$(cpus_seen "$B_CTR")' and '$(cpus_seen "$C_CTR")'"; }
        check "$n: once the exclusive pod is removed both plain pods see $ALL again" back
        gone() {
                ! ctl list --json | jq -e --arg id "$A_CTR" '.containers[] | select(.id == $id)' >/dev/null ||
                        why "still listed: $(ctl list --json | tr -d ' \n' | head -c 300)"
        }
        check "$n: the removed exclusive container's record is gone from numapinctl list" gone

        # 8. a node that does not exist
        pod_run node7 nodes.numapin.io/pod=7
        D_POD=$POD
        expect_contains "$n: a pod annotated nodes.numapin.io/pod=7: CreateContainer fails with numapin's reason" \
                "node 7 does not exist" "${ERR:-CreateContainer succeeded (container $CTR)}"
        pod_remove "$D_POD" "$CTR" >/dev/null 2>&1

        # 9. containerd restarted on the same root
        before=$(registrations)
        cd_stop
        if ! cd_start; then
                fail "$n: containerd starts again on the same root" "$(tail -n 3 "$CD_DIR/containerd.log" | tr '\n' ' ')"
                return
        fi
        wait_until 15 registered $((before + 1))
        check "$n: after containerd restarts the plugin reconnects by itself" registered $((before + 1))
        pod_run excl2 cpus.numapin.io/pod=1
        E_POD=$POD E_CTR=$CTR E_ERR=$ERR
        E_SEEN=$(cpus_seen "$E_CTR")
        one_cpu_again() { [ -n "$E_CTR" ] && [[ $E_SEEN =~ ^[0-9]+$ ]] || why "container '$E_CTR' sees '$E_SEEN'${E_ERR:+; $E_ERR}"; }
        check "$n: after the restart a new exclusive pod is bound to one CPU" one_cpu_again
        pod_remove "$E_POD" "$E_CTR" >/dev/null 2>&1

        # 10. kubelet's static CPU manager owns CPU 1
        nri_stop
        KUBELET=$CD_DIR/kubelet
        mkdir -p "$KUBELET"
        echo '{"policyName":"static","defaultCpuSet":"0","entries":{"uid-k":{"k":"1"}},"checksum":1}' \
                >"$KUBELET/cpu_manager_state"
        KCONF=$CD_DIR/numapin-kubelet.json
        jq -n --arg k "$KUBELET" '{monitor: false, log_level: "debug", kubelet_root_dir: $k}' >"$KCONF"
        before=$(registrations)
        nri_start "$KCONF"
        wait_until 10 registered $((before + 1))
        if [ "$ALL" = 0-1 ]; then
                pod_run kbind policy.numapin.io/pod=bind
                F_POD=$POD F_CTR=$CTR F_ERR=$ERR
                F_SEEN=$(cpus_seen "$F_CTR")
                expect_eq "$n: with kubelet's static policy owning CPU 1, a pod annotated policy.numapin.io/pod=bind sees only CPU 0" \
                        0 "$F_SEEN${F_ERR:+ ($F_ERR)}"
                pod_remove "$F_POD" "$F_CTR" >/dev/null 2>&1
        else
                skip "$n: with kubelet's static policy owning CPU 1, a bind pod sees only CPU 0" "needs CPUs 0-1 exactly, this host has $ALL"
        fi
        static() { doctor_has '.kubelet.cpu_manager_policy == "static"' --config "$KCONF"; }
        check "$n: numapinctl doctor --json with that config reports .kubelet.cpu_manager_policy static" static

        # the rest goes, and nothing of it stays
        pod_remove "$B_POD" "$B_CTR" >/dev/null 2>&1
        pod_remove "$C_POD" "$C_CTR" >/dev/null 2>&1
        nri_stop
        cd_stop
        left() {
                local shims mounts
                shims=$(shims_of "$CD_DIR" | wc -l)
                mounts=$(awk -v d="$CD_DIR/" 'index($5, d) == 1' /proc/self/mountinfo | wc -l)
                [ "$shims" -eq 0 ] && [ "$mounts" -eq 0 ] || why "$shims shims, $mounts mounts under $CD_DIR"
        }
        check "$n: once its pods are removed and it is stopped, no shim and no mount of it is left" left
        calls=$(sed -n 's/^numapin-nri: debug: \([A-Za-z]*\): .*/\1/p' "$CD_DIR/plugin.log" | sort | uniq -c |
                awk '{ printf "%s%s %s", sep, $2, $1; sep = ", " }')
        echo "# $n: the plugin answered ${calls:-nothing}; $((SECONDS - started)) s"
}

ran=""
for slot in 1.7 2.1; do
        if [ -x "$CT_BUILD/$slot/usr/bin/containerd" ] && [ -s "$CT_BUILD/$slot/VERSION" ]; then
                run_version "$slot"
                ran+=" $(cut -d' ' -f1 "$CT_BUILD/$slot/VERSION")"
        elif ! grep -q '^not ok - ' <<<"$fetched"; then
                fail "$NP_SUITE: containerd $slot" "not in $CT_BUILD/$slot, and fetch.sh said nothing"
        fi
done
echo "# ran containerd${ran:- none}; $((SECONDS - suite_start)) s in all"
