#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench: each figure beside a baseline measured in the same run, and the
# ratio against the goal. Needs root (runc) for the container start figure and
# the BPF locality monitor's figures.
set -eu
cd "$(dirname "$0")/../.."
ROOT=$PWD
B=$ROOT/build/bench
TMP=$(mktemp -d /tmp/numapin-bench.XXXXXX)
trap 'runc delete -f "np-bench-$$" >/dev/null 2>&1 || true; umount "$TMP/tmpfs" 2>/dev/null || true; rm -rf "$TMP"
      rm -rf "/sys/fs/bpf/numapin-bench-$$" 2>/dev/null || true
      rmdir "/sys/fs/cgroup/cpuset/numapin-bench-$$" "/sys/fs/cgroup/numapin-bench-$$" 2>/dev/null || true' EXIT
HOOK_RUNS=${HOOK_RUNS:-400}
RUNC_RUNS=${RUNC_RUNS:-30}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

echo "numapin bench ($(nproc) CPUs, $(uname -r))"
echo

# 1. The hook's wall time per container against a hook that only reads stdin.
#    createRuntime is timed; poststop runs untimed after each so every run
#    places a fresh container. Real sysfs, a fake v1 cgroup tree. Measured with
#    the state dir and bundle on tmpfs (where /run/numapin and containerd's
#    bundles live in production) and on this disk's ext4 (podman's bundles).
hook_bench() { # DIR LABEL
        local dir=$1 label=$2 cpus
        mkdir -p "$dir/cg/cpuset/ctr" "$dir/bundle" "$dir/state"
        cpus=$(cat /sys/devices/system/cpu/online)
        echo "$cpus" > "$dir/cg/cpuset/cpuset.cpus"
        for f in cpuset.cpus cpuset.mems cpuset.memory_migrate; do : > "$dir/cg/cpuset/ctr/$f"; done
        cat > "$dir/bundle/config.json" <<JSON
{"ociVersion":"1.0.2-dev","process":{"args":["sh"]},"root":{"path":"rootfs"},
 "annotations":{"policy.numapin.io/pod":"bind","cpus.numapin.io/pod":"1"},
 "linux":{"cgroupsPath":"/ctr","resources":{"memory":{"limit":268435456}}}}
JSON
        cat > "$dir/state.json" <<JSON
{"ociVersion":"1.0.2-dev","id":"bench","status":"creating","pid":999999,"bundle":"$dir/bundle",
 "annotations":{"policy.numapin.io/pod":"bind","cpus.numapin.io/pod":"1"}}
JSON
        local args=(--state-dir "$dir/state" --cgroup-root "$dir/cg")
        "$B/bench_exec" 20 "$dir/state.json" -- "$B/trivial-hook" >/dev/null
        "$B/bench_exec" 20 "$dir/state.json" -- "$ROOT/build/numapin-hook" "${args[@]}" createRuntime \
                --then "$ROOT/build/numapin-hook" "${args[@]}" poststop >/dev/null
        read -r trivial_med trivial_p99 < <("$B/bench_exec" "$HOOK_RUNS" "$dir/state.json" -- "$B/trivial-hook")
        read -r hook_med hook_p99 < <("$B/bench_exec" "$HOOK_RUNS" "$dir/state.json" -- "$ROOT/build/numapin-hook" \
                "${args[@]}" createRuntime --then "$ROOT/build/numapin-hook" "${args[@]}" poststop)
        echo "hook createRuntime, $HOOK_RUNS runs, state and bundle on $label:"
        printf '  %-28s median %8.0f us   p99 %8.0f us\n' "numapin-hook" "$hook_med" "$hook_p99"
        printf '  %-28s median %8.0f us   p99 %8.0f us\n' "baseline: trivial C hook" "$trivial_med" "$trivial_p99"
        echo "  ratio: median $(ratio "$hook_med" "$trivial_med")x, p99 $(ratio "$hook_p99" "$trivial_p99")x (goal: within 1.5x)"
}
if [ "$(id -u)" -eq 0 ] && mkdir -p "$TMP/tmpfs" && mount -t tmpfs -o size=64m numapin-bench "$TMP/tmpfs" 2>/dev/null; then
        hook_bench "$TMP/tmpfs" "tmpfs (as /run in production)"
        umount "$TMP/tmpfs"
else
        echo "hook on tmpfs: skipped (mounting a tmpfs needs root)"
fi
hook_bench "$TMP/disk" "$(df --output=fstype "$TMP" | tail -1) (this disk)"
echo

# 2. runc run of a busybox container with the hook against without any hook,
#    with bundle and state on tmpfs (containerd's bundles and /run/numapin in
#    production) and on this disk.
runc_bench() { # DIR LABEL
        local dir=$1 label=$2 plain=() hooked=() trivial=() i kind start end
        mkdir -p "$dir/runc/rootfs/bin"
        cp /bin/busybox "$dir/runc/rootfs/bin/"
        ln -sf busybox "$dir/runc/rootfs/bin/true"
        (cd "$dir/runc" && runc spec)
        jq --arg root "$dir/runc/rootfs" '.process.terminal=false | .process.args=["/bin/true"] | .root.path=$root' \
                "$dir/runc/config.json" > "$dir/plain.json"
        jq --arg hook "$ROOT/build/numapin-hook" --arg state "$dir/runc-state" '
                .annotations={"policy.numapin.io/pod":"bind"} |
                .hooks={"createRuntime":[{"path":$hook,"args":["numapin-hook","--state-dir",$state,"createRuntime"]}],
                        "poststop":[{"path":$hook,"args":["numapin-hook","--state-dir",$state,"poststop"]}]}' \
                "$dir/plain.json" > "$dir/hooked.json"
        jq --arg hook "$B/trivial-hook" '
                .hooks={"createRuntime":[{"path":$hook}], "poststop":[{"path":$hook}]}' \
                "$dir/plain.json" > "$dir/trivial.json"
        for i in $(seq 1 "$RUNC_RUNS"); do
                for kind in plain hooked trivial; do
                        cp "$dir/$kind.json" "$dir/runc/config.json"
                        start=$(date +%s%N)
                        runc run --bundle "$dir/runc" "np-bench-$$" >/dev/null
                        end=$(date +%s%N)
                        case $kind in
                        plain) plain+=($(((end - start) / 1000))) ;;
                        hooked) hooked+=($(((end - start) / 1000))) ;;
                        trivial) trivial+=($(((end - start) / 1000))) ;;
                        esac
                done
        done
        local plain_med hooked_med trivial_med
        plain_med=$(median "${plain[@]}")
        hooked_med=$(median "${hooked[@]}")
        trivial_med=$(median "${trivial[@]}")
        echo "runc run of a busybox container, $RUNC_RUNS runs each, interleaved, bundle and state on $label:"
        printf '  %-28s median %8d us\n' "with numapin-hook" "$hooked_med"
        printf '  %-28s median %8d us\n' "baseline: no hook" "$plain_med"
        printf '  %-28s median %8d us\n' "trivial C hooks, same stages" "$trivial_med"
        echo "  overhead: $(awk -v a="$hooked_med" -v b="$plain_med" 'BEGIN { printf "%+.1f%%", (a - b) * 100 / b }') against no hook (goal: under 3%);" \
                "trivial hooks alone: $(awk -v a="$trivial_med" -v b="$plain_med" 'BEGIN { printf "%+.1f%%", (a - b) * 100 / b }');" \
                "numapin against trivial hooks: $(awk -v a="$hooked_med" -v b="$trivial_med" 'BEGIN { printf "%+.1f%%", (a - b) * 100 / b }')"
}
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
if [ "$(id -u)" -eq 0 ] && command -v runc >/dev/null; then
        if mount -t tmpfs -o size=64m numapin-bench "$TMP/tmpfs" 2>/dev/null; then
                runc_bench "$TMP/tmpfs" "tmpfs"
                umount "$TMP/tmpfs"
        fi
        runc_bench "$TMP/disk" "$(df --output=fstype "$TMP" | tail -1) (this disk)"
else
        echo "runc run: skipped (needs root and runc)"
fi
echo

# 3. One placement decision on the large fixture, with and without hundreds of allocations.
#    large-32node is generated by make into build/fixtures/sysfs/ (as tests/lib.sh finds it).
large=$ROOT/tests/fixtures/sysfs/large-32node
[ -d "$large" ] || large=${NUMAPIN_FIXTURES_GEN:-$ROOT/build/fixtures/sysfs}/large-32node
if [ ! -d "$large" ]; then
        echo "bench: fixture large-32node is missing ($large): run make build/fixtures/sysfs/large-32node" >&2
        exit 1
fi
read -r empty_ns loaded_ns < <("$B/bench_place" "$large" 400)
echo "placement on large-32node (32 nodes, 1024 CPUs), 4 exclusive CPUs + 1 GiB:"
printf '  %-28s %8.2f us\n' "with 400 allocations" "$(awk -v n="$loaded_ns" 'BEGIN { print n / 1000 }')"
printf '  %-28s %8.2f us\n' "baseline: empty ledger" "$(awk -v n="$empty_ns" 'BEGIN { print n / 1000 }')"
echo "  ratio: $(ratio "$loaded_ns" "$empty_ns")x the empty ledger (goal: under 20 us)"
echo

# 4. The eBPF locality monitor: its programs' run time per event against empty
#    programs on the same tracepoints (1 and 10,000 watched cgroups, and the
#    workload unwatched), and a page-fault workload with it attached against
#    without. A private pin root and cgroup: /sys/fs/bpf/numapin is not touched.
if [ "$(id -u)" -eq 0 ]; then
        "$B/bench_bpf" "/sys/fs/bpf/numapin-bench-$$" "numapin-bench-$$"
else
        echo "locality monitor: skipped (loading BPF programs needs root)"
fi
echo

# 5. The NRI plugin: CreateContainer round trips over its socket, driven by the test
#    harness (the runtime's side of NRI, tests/nri/), each new annotated
#    container removed after it, beside a call the plugin answers without work (an
#    unknown method, UNIMPLEMENTED) interleaved in the same run; then NRI_HOLD
#    containers kept. Its resident memory idle (after Configure and Synchronize) and
#    holding them. 2socket-smt fixture, state on tmpfs.
NRI_RUNS=${NRI_RUNS:-5000}
NRI_HOLD=${NRI_HOLD:-1000}
if [ -x "$ROOT/build/numapin-nri" ] && [ -x "$ROOT/build/tests/nri-harness" ]; then
        if [ "$(id -u)" -eq 0 ] && mkdir -p "$TMP/tmpfs" && mount -t tmpfs -o size=64m numapin-bench "$TMP/tmpfs" 2>/dev/null; then
                nri_dir=$TMP/tmpfs/nri
        else
                nri_dir=$(mktemp -d /dev/shm/numapin-nri-bench.XXXXXX)
        fi
        mkdir -p "$nri_dir/state" "$nri_dir/cgroup"
        echo '{"monitor": false}' > "$nri_dir/config.json"
        if nri_out=$("$ROOT/build/tests/nri-harness" --plugin "$ROOT/build/numapin-nri" --state-dir "$nri_dir/state" \
                --log "$nri_dir/plugin.log" --count "$NRI_RUNS" --hold "$NRI_HOLD" bench -- \
                --sysfs-root "$ROOT/tests/fixtures/sysfs/2socket-smt" --cgroup-root "$nri_dir/cgroup" \
                --config "$nri_dir/config.json" 2>&1); then
                figure() { awk -v k="$1" -v f="$2" '$1 == k { print $f }' <<<"$nri_out"; }
                echo "NRI plugin CreateContainer round trip, $NRI_RUNS containers (each removed after), state on" \
                        "$(df --output=fstype "$nri_dir" | tail -1):"
                printf '  %-34s median %8.1f us   p99 %8.1f us\n' "numapin-nri CreateContainer" \
                        "$(figure create_us 2)" "$(figure create_us 3)"
                printf '  %-34s median %8.1f us   p99 %8.1f us\n' "baseline: unknown method" \
                        "$(figure baseline_us 2)" "$(figure baseline_us 3)"
                printf '  %-34s median %8.1f us   p99 %8.1f us\n' "RemoveContainer" \
                        "$(figure remove_us 2)" "$(figure remove_us 3)"
                printf '  %-34s median %8.1f us   p99 %8.1f us\n' "CreateContainer, ledger 0 to $NRI_HOLD" \
                        "$(figure create_growing_us 2)" "$(figure create_growing_us 3)"
                echo "  ratio: median $(ratio "$(figure create_us 2)" "$(figure baseline_us 2)")x," \
                        "p99 $(ratio "$(figure create_us 3)" "$(figure baseline_us 3)")x the baseline;" \
                        "p99 $(figure create_us 3) us (goal: under 100 us, the baseline's own round trip included)"
                echo "  the plugin's own work, median: $(awk -v a="$(figure create_us 2)" -v b="$(figure baseline_us 2)" \
                        'BEGIN { printf "%.1f", a - b }') us (CreateContainer minus the baseline)"
                echo "NRI plugin resident memory (VmRSS):"
                printf '  %-34s %8s KiB (goal: under 2048 KiB)\n' "idle, after Configure+Synchronize" \
                        "$(figure rss_idle_kib 2)"
                printf '  %-34s %8s KiB (goal: under 4096 KiB)\n' "holding $NRI_HOLD containers" "$(figure rss_held_kib 2)"
                echo "  ratio: $(ratio "$(figure rss_held_kib 2)" "$(figure rss_idle_kib 2)")x idle"
        else
                echo "NRI plugin: the harness failed:"
                printf '%s\n' "$nri_out" | tail -5 | sed 's/^/  /'
                tail -5 "$nri_dir/plugin.log" 2>/dev/null | sed 's/^/  plugin: /'
        fi
        if [ "$nri_dir" = "$TMP/tmpfs/nri" ]; then umount "$TMP/tmpfs"; else rm -rf "$nri_dir"; fi
else
        echo "NRI plugin: skipped (make build/numapin-nri build/tests/nri-harness)"
fi
