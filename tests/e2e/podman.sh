# SPDX-License-Identifier: MIT
# Real `podman run` (runc, cgroupfs) with numapin's hooks.d drop-ins from examples/hooks.d:
# the hook fires only for annotated containers, places them, and podman's poststop frees
# the record. Needs root, podman, runc and a static busybox; storage stays in the temp folder.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT
is_root || skip_suite "needs root"
command -v podman >/dev/null || skip_suite "podman is not installed (apt-get install podman)"
command -v runc >/dev/null || skip_suite "runc is not installed (apt-get install runc)"
command -v jq >/dev/null || skip_suite "jq is not installed"
if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
        skip_suite "needs a static /bin/busybox (apt-get install busybox-static)"
fi
if [ ! -x "$NP_HOOK" ] || [ ! -x "$NP_CTL" ]; then skip_suite "build numapin first: make all"; fi

CONF=$NP_TMP/numapin.json
SD=$NP_TMP/state
HOOKS=$NP_TMP/hooks.d
ROOTFS=$NP_TMP/rootfs
EMPTY_HOOKS=$NP_TMP/no-hooks.d
HOST_CPUS=$(cat /sys/fs/cgroup/cpuset/cpuset.cpus 2>/dev/null || cat /sys/fs/cgroup/cpuset.cpus.effective)
# default_policy bind: were the hook to run for an unannotated container, it would place it
echo "{\"default_policy\": \"bind\", \"monitor_pin_dir\": \"/sys/fs/bpf/numapin-e2e-$$\"}" >"$CONF"
at_exit "rm -rf /sys/fs/bpf/numapin-e2e-$$"
mkdir -p "$ROOTFS/bin" "$HOOKS" "$EMPTY_HOOKS"
cp /bin/busybox "$ROOTFS/bin/"
for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -sf busybox "$ROOTFS/bin/$applet"; done

# the drop-ins as shipped, pointed at this build and this test's config and state dir
for dropin in "$NP_ROOT"/examples/hooks.d/*.json; do
        jq --arg path "$NP_HOOK" --arg conf "$CONF" --arg sd "$SD" \
                '.hook.path = $path | .hook.args = .hook.args[:1] + ["--config", $conf, "--state-dir", $sd] + .hook.args[1:]' \
                "$dropin" >"$HOOKS/${dropin##*/}"
done

# podman's storage and run state inside the temp folder
cat >"$NP_TMP/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$NP_TMP/podman/graph"
runroot = "$NP_TMP/podman/run"
EOF
export CONTAINERS_STORAGE_CONF=$NP_TMP/storage.conf
# anything podman left mounted below the temp folder must go before it is removed
at_exit "findmnt -rno TARGET | grep '^$NP_TMP/' | sort -r | xargs -r -n1 umount -l"

# pod HOOKS-DIR ARGS...: podman run as the notes say works here; output in $out, status in $status
pod() {
        local hooks=$1
        shift
        out=$(podman --tmpdir "$NP_TMP/podman/tmp" --hooks-dir "$hooks" --cgroup-manager cgroupfs --runtime runc \
                run --rm --network none --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 \
                "$@" --rootfs "$ROOTFS" sh -c 'grep _allowed_list /proc/self/status' </dev/null 2>&1)
        status=$?
}
allowed() { sed -n "s/^$1_allowed_list:[[:space:]]*//p" <<<"$out"; }
ctl() { "$NP_CTL" --config "$CONF" --state-dir "$SD" "$@"; }
records() { ctl list --json | jq -r '[.containers[] | "\(.id)=\(.cpus)"] | join(" ")'; }

# podman itself must work here before numapin is judged
pod "$EMPTY_HOOKS" --annotation example.com/probe=1
if [ "$status" -ne 0 ] || [ -z "$(allowed Cpus)" ]; then
        skip_suite "podman cannot run a container here without numapin (exit $status): $(head -1 <<<"$out")"
fi

# --- an annotated container ----------------------------------------------------------
plan=$(ctl plan --json --annotation policy.numapin.io/pod=bind --annotation cpus.numapin.io/pod=1)
pod "$HOOKS" --annotation policy.numapin.io/pod=bind --annotation cpus.numapin.io/pod=1
ran() { [ "$status" -eq 0 ] && [ -n "$(allowed Cpus)" ] || why "exit $status: $(head -c 400 <<<"$out")"; }
check "podman bind cpus=1: container runs through the hooks.d drop-in" ran
cpus=$(allowed Cpus)
one_planned_cpu() {
        [ -n "$cpus" ] && [[ $cpus != *[,-]* ]] && [ "$cpus" = "$(jq -r .cpus <<<"$plan")" ] ||
                why "container sees '$cpus', plan '$(jq -r .cpus <<<"$plan")'"
}
check "podman bind cpus=1: one CPU, the one numapinctl plan chose" one_planned_cpu
expect_eq "podman bind cpus=1: Mems_allowed_list is 0" "0" "$(allowed Mems)"
record_freed() {
        [ -d "$SD/containers" ] && [ -z "$(records)" ] ||
                why "state dir $( [ -d "$SD/containers" ] && echo exists || echo 'was never created') records '$(records)'"
}
check "podman bind cpus=1: poststop run by podman freed the record" record_freed

# --- an unannotated container, while a planned record holds a CPU ----------------------------
# with default_policy bind, a hook run would give the container the CPUs left
# beside the holder; the drop-in's "when" must keep it from running at all
ctl plan --commit --id holder --annotation cpus.numapin.io/pod=1 >/dev/null
held=$(ctl list --json | jq -r '.containers[] | select(.id == "holder") | .cpus')
pod "$HOOKS"
expect_eq "podman unannotated: runs with the full CPU list" "0 $HOST_CPUS" "$status $(allowed Cpus)"
expect_eq "podman unannotated: the hook did not run (no record of its own)" "holder=$held" "$(records)"
ctl release holder >/dev/null

# --- an invalid annotation -----------------------------------------------------------------
pod "$HOOKS" --annotation nodes.numapin.io/pod=7
refused_node7() {
        [ "$status" -ne 0 ] && [[ $out == *"numapin-hook: error: annotation 'nodes.numapin.io/pod': node 7 does not exist"* ]] &&
                [[ $out != *_allowed_list* ]] || why "exit $status: $(head -c 400 <<<"$out")"
}
check "podman nodes=7: podman run fails with numapin's message" refused_node7
expect_eq "podman nodes=7: no record" "" "$(records)"

# --- the "always" drop-ins: the hook sees every container, so exclusivity covers them all ----
ALWAYS=$NP_TMP/hooks-always.d
ALWAYS_CONF=$NP_TMP/numapin-always.json
echo "{\"monitor_pin_dir\": \"/sys/fs/bpf/numapin-e2e-$$\"}" >"$ALWAYS_CONF"
mkdir -p "$ALWAYS"
for dropin in "$NP_ROOT"/examples/hooks.d/always/*.json; do
        jq --arg path "$NP_HOOK" --arg conf "$ALWAYS_CONF" --arg sd "$SD" \
                '.hook.path = $path | .hook.args = .hook.args[:1] + ["--config", $conf, "--state-dir", $sd] + .hook.args[1:]' \
                "$dropin" >"$ALWAYS/${dropin##*/}"
done
"$NP_CTL" --config "$ALWAYS_CONF" --state-dir "$SD" plan --commit --id holder --annotation cpus.numapin.io/pod=1 >/dev/null
held=$(ctl list --json | jq -r '.containers[] | select(.id == "holder") | .cpus')
pod "$ALWAYS"
# "0-2,5" as "0 1 2 5"
cpu_words() { tr ',' '\n' <<<"$1" | awk -F- 'NF { for (i = $1; i <= ($2 == "" ? $1 : $2); i++) print i }'; }
left_out() {
        [ "$status" -eq 0 ] && [ -n "$(allowed Cpus)" ] && [ "$(allowed Cpus)" != "$HOST_CPUS" ] &&
                ! grep -qx "$held" <<<"$(cpu_words "$(allowed Cpus)")" ||
                why "exit $status, holder on $held, container sees '$(allowed Cpus)': $(head -c 300 <<<"$out")"
}
if [ "$HOST_CPUS" = "$held" ]; then
        skip "podman always drop-in: an unannotated container leaves out the exclusive CPU" "one CPU only"
else
        check "podman always drop-in: an unannotated container leaves out the exclusive CPU" left_out
fi
expect_eq "podman always drop-in: its poststop freed its record, the holder's stays" "holder=$held" "$(records)"
"$NP_CTL" --config "$ALWAYS_CONF" --state-dir "$SD" release holder >/dev/null
