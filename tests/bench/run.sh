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
trap 'runc delete -f "np-bench-$$" >/dev/null 2>&1 || true
      for pid in ${metrics_pids:-}; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
      umount "$TMP/tmpfs" 2>/dev/null || true; umount "$TMP/cgfs" 2>/dev/null || true; rm -rf "$TMP"
      rm -rf "/sys/fs/bpf/numapin-bench-$$" "/sys/fs/bpf/numapin-bench-metrics-$$" "/sys/fs/bpf/numapin-bench-hook-$$" \
        "/sys/fs/bpf/numapin-bench-runc-$$" 2>/dev/null || true
      rmdir "/sys/fs/cgroup/cpuset/numapin-bench-$$" "/sys/fs/cgroup/numapin-bench-$$" \
        "/sys/fs/cgroup/cpuset/numapin-bench-hook-$$" "/sys/fs/cgroup/numapin-bench-hook-$$" 2>/dev/null || true' EXIT
HOOK_RUNS=${HOOK_RUNS:-400}
RUNC_RUNS=${RUNC_RUNS:-30}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
# goal FIGURE NUMAPIN BASELINE RATIO GOAL MET: one row of the table `make bench` ends
# with (MET: met or "not met"; "-" where a column has nothing). A bench program adds its
# rows the same way, tab-separated, to the file $NUMAPIN_BENCH_GOALS.
export NUMAPIN_BENCH_GOALS=$TMP/goals
: >"$NUMAPIN_BENCH_GOALS"
goal() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$NUMAPIN_BENCH_GOALS"; }
# met VALUE LIMIT: "met" when VALUE < LIMIT
met_below() { awk -v v="$1" -v l="$2" 'BEGIN { print (v < l) ? "met" : "not met" }'; }
bench_start=$(date +%s)

echo "numapin bench ($(nproc) CPUs, $(uname -r))"
echo

# 1. The hook's wall time per container against a hook that only reads stdin
#    (tests/bench/trivial-hook.c) and against two Go hooks built here from
#    tests/bench/go/ with Debian's Go (`make bench` installs golang-go): one that
#    only reads stdin, one that rewrites config.json's cpuset as the least Go
#    hook that pins a container does; and against its floor (floor-hook.c):
#    numapin's seccomp filter and the system calls createRuntime cannot do
#    without, with no parsing or placement. numapin-hook and the floor are
#    linked statically against musl (the Makefile says why); the trivial hook is
#    built as `cc` builds a C program, and also as numapin-hook is, shown beside
#    it (no goal) to set the C library's start-up apart. createRuntime is timed; poststop runs
#    untimed after each so every run places a fresh container. The hooks take
#    turns, one run each, HOOK_RUNS rounds. Real sysfs, a fake v1 cgroup tree on
#    tmpfs (a cgroup's files are in memory, as cgroupfs's are), the bundle's
#    config.json of the size a runtime writes (runtime_spec below; numapin with
#    the least one too).
#    Measured with the state dir and bundle on tmpfs (where /run/numapin and
#    containerd's bundles live in production) and on this disk's ext4 (podman's
#    bundles). On tmpfs also with a real cgroup of this machine and the BPF
#    locality monitor's programs already pinned (a private pin root): the watch at
#    createRuntime and the unwatch at poststop are then part of every run, as for a
#    container on a node. Then a first container on a cold machine (no topology
#    cache) of 1024 CPUs (the large-32node fixture) against the same with the cache.
#    Beside the times, each kind's page faults and CPU time a run (wait4's usage of
#    the run, fork and exec included): where the hook's time goes.
go_built=""
if command -v go >/dev/null; then
        if (cd tests/bench/go && export GOCACHE=$ROOT/build/go/cache GOPATH=$ROOT/build/go/path GOFLAGS= \
                GOPROXY=off GOTOOLCHAIN=local && go build -trimpath -o "$B/go-trivial-hook" ./trivial &&
                go build -trimpath -o "$B/go-cpuset-hook" ./cpuset); then
                go_built=1
        else
                echo "bench: the Go hooks of tests/bench/go do not build" >&2
                exit 1
        fi
fi
# met_within VALUE LIMIT: "met" when VALUE <= LIMIT
met_within() { awk -v v="$1" -v l="$2" 'BEGIN { print (v <= l) ? "met" : "not met" }'; }
# one_run STATE -- COMMAND... [--then COMMAND...]: one timed run's microseconds,
# then its page faults and CPU microseconds (bench_exec's usage of the run)
one_run() { local t f c; read -r t _ f c < <("$B/bench_exec" 1 "$@") && echo "$t $f $c"; }
# stats FILE KIND: the median and p99 of KIND's samples, as bench_exec takes them
stats() {
        awk -v k="$2" '$1 == k { print $2 }' "$1" | sort -g |
                awk '{ a[NR - 1] = $1 } END { printf "%s %s\n", a[int(NR / 2)], a[int((NR - 1) * 0.99)] }'
}
row() { printf '  %-28s median %8.0f us   p99 %8.0f us%s\n' "$1" "$2" "$3" "${4:-}"; }
# run_usage FILE KIND: the median page faults and CPU microseconds of KIND's runs
run_usage() {
        local f
        for f in 3 4; do
                awk -v k="$2" -v f="$f" '$1 == k { print $f }' "$1" | sort -g | awk '{ a[NR - 1] = $1 } END { printf "%s ", a[int(NR / 2)] }'
        done
        echo
}
# runtime_spec: a config.json as containerd writes one for a pod's container, compact,
# some 10 KiB: a pod's environment, its volumes' mounts, the masked paths and a seccomp
# profile allowing 330 calls, with numapin's annotations and fields as in the small one
runtime_spec() {
        jq -nc '{
          ociVersion: "1.1.0",
          process: { user: { uid: 0, gid: 0 }, args: [ "/bin/sh", "-c", "exec /app/server --port 8080" ],
            env: (([ range(0; 60) ] | map("SERVICE_\(.)_PORT=tcp://10.96.\(.).1:443"))
              + [ "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=web-0" ]),
            cwd: "/", noNewPrivileges: true, oomScoreAdj: 1000,
            capabilities: { bounding: ["CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_KILL"],
              effective: ["CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_KILL"] } },
          root: { path: "rootfs" },
          mounts: ([ range(0; 20) ] | map({ destination: "/var/run/volumes/v\(.)", type: "bind",
            source: "/var/lib/kubelet/pods/5f6e/volumes/kubernetes.io~configmap/v\(.)",
            options: [ "rbind", "rprivate", "ro" ] })),
          annotations: { "policy.numapin.io/pod": "bind", "cpus.numapin.io/pod": "1",
            "io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.container-name": "app",
            "io.kubernetes.cri.sandbox-name": "web-0", "io.kubernetes.cri.sandbox-namespace": "default" },
          linux: { cgroupsPath: "/ctr", resources: { memory: { limit: 268435456 }, cpu: { shares: 1024 } },
            namespaces: ([ "pid", "ipc", "uts", "mount", "network" ] | map({ type: . })),
            maskedPaths: [ "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
              "/proc/sched_debug", "/proc/scsi", "/sys/firmware" ],
            readonlyPaths: [ "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" ],
            seccomp: { defaultAction: "SCMP_ACT_ERRNO", architectures: [ "SCMP_ARCH_X86_64", "SCMP_ARCH_X86" ],
              syscalls: [ { names: ([ range(0; 330) ] | map("syscall_\(.)")), action: "SCMP_ACT_ALLOW" } ] } }
        }'
}
hook_bench() { # DIR LABEL SHORT-LABEL [CGROUP-DIR]
        local dir=$1 label=$2 short=$3 cg=${4:-$1/cg} cpus i kind
        mkdir -p "$cg/cpuset/ctr" "$dir/bundle" "$dir/go-bundle" "$dir/state"
        cpus=$(cat /sys/devices/system/cpu/online)
        echo "$cpus" > "$cg/cpuset/cpuset.cpus"
        for f in cpuset.cpus cpuset.mems cpuset.memory_migrate; do : > "$cg/cpuset/ctr/$f"; done
        runtime_spec > "$dir/bundle/config.json"
        cp "$dir/bundle/config.json" "$dir/go-bundle/config.json"
        # beside it, the least config.json numapin reads (the figure of earlier notes)
        mkdir -p "$dir/small-bundle"
        cat > "$dir/small-bundle/config.json" <<JSON
{"ociVersion":"1.0.2-dev","process":{"args":["sh"]},"root":{"path":"rootfs"},
 "annotations":{"policy.numapin.io/pod":"bind","cpus.numapin.io/pod":"1"},
 "linux":{"cgroupsPath":"/ctr","resources":{"memory":{"limit":268435456}}}}
JSON
        cat > "$dir/state.json" <<JSON
{"ociVersion":"1.0.2-dev","id":"bench","status":"creating","pid":999999,"bundle":"$dir/bundle",
 "annotations":{"policy.numapin.io/pod":"bind","cpus.numapin.io/pod":"1"}}
JSON
        sed "s|\"bundle\":\"[^\"]*\"|\"bundle\":\"$dir/go-bundle\"|" "$dir/state.json" > "$dir/go-state.json"
        sed "s|\"bundle\":\"[^\"]*\"|\"bundle\":\"$dir/small-bundle\"|" "$dir/state.json" > "$dir/small-state.json"
        local args=(--state-dir "$dir/state" --cgroup-root "$cg")
        # the same without its seccomp filter (core/sandbox.c): the filter's cost
        echo '{"seccomp": false}' > "$dir/no-seccomp.json"
        local open_args=(--config "$dir/no-seccomp.json" "${args[@]}")
        # the floor: numapin's filter and the system calls it cannot do without (floor-hook.c)
        mkdir -p "$dir/floor-state/containers"
        local floor_args=("$dir/floor-state" "$cg/cpuset/ctr" 0 0)
        local kinds="trivial trivial-musl floor hook open small"
        [ -n "$go_built" ] && kinds="$kinds go-trivial go-cpuset"
        local monitor_args=()
        if [ "$short" = tmpfs ] && monitor_bundle "$dir"; then
                monitor_args=(--config "$dir/monitor.json" --state-dir "$dir/monitor-state")
                kinds="$kinds monitor"
                # the first run loads and pins the programs
                "$B/bench_exec" 20 "$dir/monitor-state.json" -- "$ROOT/build/numapin-hook" "${monitor_args[@]}" \
                        createRuntime --then "$ROOT/build/numapin-hook" "${monitor_args[@]}" poststop >/dev/null
        fi
        "$B/bench_exec" 20 "$dir/state.json" -- "$B/trivial-hook" >/dev/null
        "$B/bench_exec" 20 "$dir/state.json" -- "$ROOT/build/numapin-hook" "${args[@]}" createRuntime \
                --then "$ROOT/build/numapin-hook" "${args[@]}" poststop >/dev/null
        : > "$dir/samples"
        for i in $(seq 1 "$HOOK_RUNS"); do
                for kind in $kinds; do
                        case $kind in
                        trivial) t=$(one_run "$dir/state.json" -- "$B/trivial-hook") ;;
                        trivial-musl) t=$(one_run "$dir/state.json" -- "$B/trivial-hook-musl") ;;
                        floor) t=$(one_run "$dir/state.json" -- "$B/floor-hook" "${floor_args[@]}") ;;
                        hook) t=$(one_run "$dir/state.json" -- "$ROOT/build/numapin-hook" "${args[@]}" createRuntime \
                                --then "$ROOT/build/numapin-hook" "${args[@]}" poststop) ;;
                        open) t=$(one_run "$dir/state.json" -- "$ROOT/build/numapin-hook" "${open_args[@]}" \
                                createRuntime --then "$ROOT/build/numapin-hook" "${open_args[@]}" poststop) ;;
                        small) t=$(one_run "$dir/small-state.json" -- "$ROOT/build/numapin-hook" "${args[@]}" \
                                createRuntime --then "$ROOT/build/numapin-hook" "${args[@]}" poststop) ;;
                        go-trivial) t=$(one_run "$dir/go-state.json" -- "$B/go-trivial-hook") ;;
                        go-cpuset) t=$(one_run "$dir/go-state.json" -- "$B/go-cpuset-hook" 0 0) ;;
                        monitor) t=$(one_run "$dir/monitor-state.json" -- "$ROOT/build/numapin-hook" \
                                "${monitor_args[@]}" createRuntime --then "$ROOT/build/numapin-hook" \
                                "${monitor_args[@]}" poststop) ;;
                        esac
                        echo "$kind $t" >> "$dir/samples"
                done
        done
        read -r trivial_med trivial_p99 < <(stats "$dir/samples" trivial)
        read -r hook_med hook_p99 < <(stats "$dir/samples" hook)
        read -r open_med open_p99 < <(stats "$dir/samples" open)
        read -r floor_med floor_p99 < <(stats "$dir/samples" floor)
        read -r tmusl_med tmusl_p99 < <(stats "$dir/samples" trivial-musl)
        read -r small_med small_p99 < <(stats "$dir/samples" small)
        echo "hook createRuntime, $HOOK_RUNS runs each, interleaved, state and bundle on $label;"
        echo "  config.json as a runtime writes one ($(stat -c %s "$dir/bundle/config.json") bytes: mounts, environment," \
                "a seccomp profile):"
        row "numapin-hook" "$hook_med" "$hook_p99"
        row "numapin-hook, seccomp false" "$open_med" "$open_p99" "   (filter: $(ratio "$hook_med" "$open_med")x median)"
        row "numapin-hook, small config" "$small_med" "$small_p99" \
                "   ($(stat -c %s "$dir/small-bundle/config.json") bytes: the figure of earlier notes)"
        row "baseline: trivial C hook" "$trivial_med" "$trivial_p99"
        row "trivial C hook, musl static" "$tmusl_med" "$tmusl_p99" \
                "   (linked as numapin-hook is: $(ratio "$tmusl_med" "$trivial_med")x the trivial C hook)"
        row "floor: calls it must make" "$floor_med" "$floor_p99" \
                "   ($(ratio "$floor_med" "$trivial_med")x the trivial C hook)"
        echo "  ratio: median $(ratio "$hook_med" "$trivial_med")x, p99 $(ratio "$hook_p99" "$trivial_p99")x the trivial C hook" \
                "(goal on tmpfs: within 1.3x); median $(ratio "$hook_med" "$floor_med")x the floor"
        # where the time goes: the same runs' page faults and CPU time (fork and exec included)
        local k faults trivial_faults cpu line="  per run (median): page faults / CPU time:"
        for k in hook trivial trivial-musl floor go-trivial; do
                [ "$k" = go-trivial ] && [ -z "$go_built" ] && continue
                read -r faults cpu < <(run_usage "$dir/samples" "$k")
                line+=" $k $faults / ${cpu} us;"
        done
        echo "${line%;}"
        if [ "$short" = tmpfs ]; then
                goal "hook createRuntime, tmpfs, median" "$hook_med us" "$trivial_med us (trivial C hook)" \
                        "$(ratio "$hook_med" "$trivial_med")x" "within 1.3x" "$(met_within "$(ratio "$hook_med" "$trivial_med")" 1.3)"
                goal "hook createRuntime, tmpfs, p99" "$hook_p99 us" "$trivial_p99 us (trivial C hook)" \
                        "$(ratio "$hook_p99" "$trivial_p99")x" "within 1.3x" "$(met_within "$(ratio "$hook_p99" "$trivial_p99")" 1.3)"
                # no goal: the same against a trivial hook with numapin-hook's C library and linking
                goal "hook createRuntime, tmpfs, median, against a musl trivial hook" "$hook_med us" \
                        "$tmusl_med us (trivial, musl static)" "$(ratio "$hook_med" "$tmusl_med")x" \
                        "(none: the C library's start-up set apart)" "-"
                # no goal: how much of the time is numapin's own work, beyond the filter and the calls
                goal "hook createRuntime, tmpfs, median, against the floor" "$hook_med us" \
                        "$floor_med us (floor-hook)" "$(ratio "$hook_med" "$floor_med")x" "(none: shows numapin's own work)" "-"
                read -r faults _ < <(run_usage "$dir/samples" hook)
                read -r trivial_faults _ < <(run_usage "$dir/samples" trivial)
                goal "hook createRuntime, tmpfs, page faults a run (median)" "$faults" "$trivial_faults (trivial C hook)" \
                        "$(ratio "$faults" "$trivial_faults")x" "(none: shows where the time goes)" "-"
        fi
        if [ ${#monitor_args[@]} -gt 0 ]; then
                local mon_med mon_p99 f
                read -r mon_med mon_p99 < <(stats "$dir/samples" monitor)
                row "numapin-hook, monitor attached" "$mon_med" "$mon_p99" \
                        "   (a real cgroup, programs pinned: $(ratio "$mon_med" "$trivial_med")x median)"
                for f in median p99; do
                        local n=$mon_med b=$trivial_med
                        [ $f = p99 ] && n=$mon_p99 b=$trivial_p99
                        goal "hook createRuntime, tmpfs, monitor attached, $f" "$n us" "$b us (trivial C hook)" \
                                "$(ratio "$n" "$b")x" "within 1.3x" "$(met_within "$(ratio "$n" "$b")" 1.3)"
                done
                # unpinned now: its programs would run through the rest of the bench
                rm -rf "/sys/fs/bpf/numapin-bench-hook-$$"
                rmdir "/sys/fs/cgroup/cpuset/numapin-bench-hook-$$" "/sys/fs/cgroup/numapin-bench-hook-$$" 2>/dev/null || true
        elif [ "$short" = tmpfs ]; then
                echo "  monitor attached: not timed (needs root, BPF and a cpuset cgroup of this machine)"
        fi
        if [ -n "$go_built" ]; then
                local go_kind go_label go_med go_p99
                for go_kind in go-trivial go-cpuset; do
                        case $go_kind in
                        go-trivial) go_label="Go hook, reads stdin only" ;;
                        go-cpuset) go_label="Go hook, writes the cpuset" ;;
                        esac
                        read -r go_med go_p99 < <(stats "$dir/samples" "$go_kind")
                        row "$go_label" "$go_med" "$go_p99"
                        echo "    numapin-hook against it: median $(ratio "$hook_med" "$go_med")x, p99 $(ratio "$hook_p99" "$go_p99")x" \
                                "(goal: under 1x)"
                        goal "hook createRuntime, $short, median, against $go_label" "$hook_med us" "$go_med us" \
                                "$(ratio "$hook_med" "$go_med")x" "faster (under 1x)" "$(met_below "$hook_med" "$go_med")"
                done
        else
                echo "  Go hooks: skipped (no go; make bench installs golang-go)"
        fi
}
# monitor_bundle DIR: a bundle whose container has a real cgroup of this machine
# (numapin-bench-hook-PID, with cpuset: v2, or v1 on a hybrid host) and a config
# whose monitor pins under its own root; false where the monitor cannot attach.
monitor_bundle() {
        local dir=$1 cg
        [ "$(id -u)" -eq 0 ] || return 1
        if grep -qw cpuset /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
                cg=/sys/fs/cgroup/numapin-bench-hook-$$
                mkdir -p "$cg" || return 1
        elif [ -d /sys/fs/cgroup/cpuset ]; then
                cg=/sys/fs/cgroup/cpuset/numapin-bench-hook-$$
                mkdir -p "$cg" && cat /sys/fs/cgroup/cpuset/cpuset.cpus >"$cg/cpuset.cpus" &&
                        cat /sys/fs/cgroup/cpuset/cpuset.mems >"$cg/cpuset.mems" || return 1
        else
                return 1
        fi
        mkdir -p "$dir/monitor-bundle" "$dir/monitor-state"
        sed "s|\"cgroupsPath\":\"/ctr\"|\"cgroupsPath\":\"/numapin-bench-hook-$$\"|" "$dir/bundle/config.json" \
                >"$dir/monitor-bundle/config.json"
        sed "s|\"bundle\":\"[^\"]*\"|\"bundle\":\"$dir/monitor-bundle\"|" "$dir/state.json" >"$dir/monitor-state.json"
        printf '{"monitor_pin_dir": "/sys/fs/bpf/numapin-bench-hook-%s"}\n' "$$" >"$dir/monitor.json"
        # the monitor attaches only where BPF loads: one run says
        "$ROOT/build/numapin-hook" --config "$dir/monitor.json" --state-dir "$dir/monitor-state" createRuntime \
                <"$dir/monitor-state.json" 2>/dev/null || return 1
        local attached
        attached=$("$ROOT/build/numapinctl" --config "$dir/monitor.json" --state-dir "$dir/monitor-state" list --json |
                jq -r '.containers[0].monitor.dir // empty')
        "$ROOT/build/numapin-hook" --config "$dir/monitor.json" --state-dir "$dir/monitor-state" poststop \
                <"$dir/monitor-state.json" >/dev/null 2>&1
        [ -n "$attached" ]
}
# cold_bench DIR: createRuntime on large-32node (1024 CPUs) without the topology
# cache (removed after each run with the poststop) against with it, interleaved
cold_bench() {
        local dir=$1 fixture=${NUMAPIN_FIXTURES_GEN:-$ROOT/build/fixtures/sysfs}/large-32node i kind
        [ -d "$ROOT/tests/fixtures/sysfs/large-32node" ] && fixture=$ROOT/tests/fixtures/sysfs/large-32node
        if [ ! -d "$fixture" ]; then
                echo "bench: fixture large-32node is missing ($fixture): run make build/fixtures/sysfs/large-32node" >&2
                exit 1
        fi
        mkdir -p "$dir/cold/cg/cpuset/ctr" "$dir/cold/cold-state" "$dir/cold/warm-state"
        cat "$fixture/devices/system/cpu/online" > "$dir/cold/cg/cpuset/cpuset.cpus"
        for f in cpuset.cpus cpuset.mems cpuset.memory_migrate; do : > "$dir/cold/cg/cpuset/ctr/$f"; done
        local hook=$ROOT/build/numapin-hook cold warm
        local common=(--sysfs-root "$fixture" --cgroup-root "$dir/cold/cg")
        cold=(--state-dir "$dir/cold/cold-state" "${common[@]}")
        warm=(--state-dir "$dir/cold/warm-state" "${common[@]}")
        "$B/bench_exec" 5 "$dir/state.json" -- "$hook" "${warm[@]}" createRuntime --then "$hook" "${warm[@]}" poststop >/dev/null
        : > "$dir/cold/samples"
        for i in $(seq 1 "$COLD_RUNS"); do
                for kind in cold warm; do
                        case $kind in
                        cold) t=$(one_run "$dir/state.json" -- "$hook" "${cold[@]}" createRuntime --then /bin/sh -c \
                                "\"\$0\" \"\$@\" poststop && rm -f '$dir/cold/cold-state/topology.cache'" \
                                "$hook" "${cold[@]}") ;;
                        warm) t=$(one_run "$dir/state.json" -- "$hook" "${warm[@]}" createRuntime \
                                --then "$hook" "${warm[@]}" poststop) ;;
                        esac
                        echo "$kind $t" >> "$dir/cold/samples"
                done
        done
        local cold_med cold_p99 warm_med warm_p99
        read -r cold_med cold_p99 < <(stats "$dir/cold/samples" cold)
        read -r warm_med warm_p99 < <(stats "$dir/cold/samples" warm)
        echo "hook createRuntime on large-32node (1024 CPUs), $COLD_RUNS runs each, interleaved, on tmpfs:"
        row "first container, no cache" "$cold_med" "$cold_p99"
        row "baseline: topology cached" "$warm_med" "$warm_p99"
        echo "  ratio: median $(ratio "$cold_med" "$warm_med")x the cached topology (goal: within 5x)"
        goal "hook createRuntime, large-32node, no topology cache" "$cold_med us" "$warm_med us (cached)" \
                "$(ratio "$cold_med" "$warm_med")x" "within 5x" "$(met_within "$(ratio "$cold_med" "$warm_med")" 5)"
}
# held_bench DIR: createRuntime of a shared container beside HELD_CONTAINERS shared
# containers already placed (pid 1, alive, so none is reclaimed) against the same
# container in an empty ledger, interleaved: what the ledger's size costs a hook.
held_bench() {
        local dir=$1/held hook=$ROOT/build/numapin-hook i kind t
        mkdir -p "$dir/cg/cpuset/ctr" "$dir/bundle" "$dir/held-state" "$dir/empty-state"
        cat /sys/devices/system/cpu/online > "$dir/cg/cpuset/cpuset.cpus"
        cat /sys/devices/system/node/online > "$dir/cg/cpuset/cpuset.mems" 2>/dev/null || echo 0 > "$dir/cg/cpuset/cpuset.mems"
        for f in cpuset.cpus cpuset.mems cpuset.memory_migrate; do : > "$dir/cg/cpuset/ctr/$f"; done
        cat > "$dir/config.json" <<JSON
{"ociVersion":"1.0.2-dev","process":{"args":["sh"]},"root":{"path":"rootfs"},
 "annotations":{"policy.numapin.io/pod":"bind"},
 "linux":{"cgroupsPath":"/ctr","resources":{"memory":{"limit":16777216}}}}
JSON
        cp "$dir/config.json" "$dir/bundle/config.json"
        local common=(--cgroup-root "$dir/cg") args
        for i in $(seq 1 "$HELD_CONTAINERS"); do
                printf '{"ociVersion":"1.0.2-dev","id":"held-%s","status":"creating","pid":1,"bundle":"%s",
 "annotations":{"policy.numapin.io/pod":"bind"}}\n' "$i" "$dir/bundle" > "$dir/held.json"
                cp "$dir/config.json" "$dir/bundle/config.json"
                "$hook" --state-dir "$dir/held-state" "${common[@]}" createRuntime < "$dir/held.json" || return 1
        done
        cp "$dir/config.json" "$dir/bundle/config.json"
        printf '{"ociVersion":"1.0.2-dev","id":"bench","status":"creating","pid":999999,"bundle":"%s",
 "annotations":{"policy.numapin.io/pod":"bind"}}\n' "$dir/bundle" > "$dir/state.json"
        for kind in held empty; do
                args=(--state-dir "$dir/$kind-state")
                "$B/bench_exec" 10 "$dir/state.json" -- "$hook" "${args[@]}" "${common[@]}" createRuntime \
                        --then "$hook" "${args[@]}" "${common[@]}" poststop >/dev/null
        done
        : > "$dir/samples"
        for i in $(seq 1 "$HELD_RUNS"); do
                for kind in held empty; do
                        args=(--state-dir "$dir/$kind-state")
                        t=$(one_run "$dir/state.json" -- "$hook" "${args[@]}" "${common[@]}" createRuntime \
                                --then "$hook" "${args[@]}" "${common[@]}" poststop)
                        echo "$kind $t" >> "$dir/samples"
                done
        done
        local held_med held_p99 empty_med empty_p99
        read -r held_med held_p99 < <(stats "$dir/samples" held)
        read -r empty_med empty_p99 < <(stats "$dir/samples" empty)
        echo "hook createRuntime of a shared container beside $HELD_CONTAINERS shared containers held, $HELD_RUNS runs each," \
                "interleaved, on tmpfs:"
        row "$HELD_CONTAINERS containers held" "$held_med" "$held_p99"
        row "baseline: empty ledger" "$empty_med" "$empty_p99"
        echo "  ratio: median $(ratio "$held_med" "$empty_med")x, p99 $(ratio "$held_p99" "$empty_p99")x the empty ledger" \
                "(goal, this bench's own: within 1.3x)"
        goal "hook createRuntime, tmpfs, $HELD_CONTAINERS containers held (median)" "$held_med us" \
                "$empty_med us (empty ledger)" "$(ratio "$held_med" "$empty_med")x" "within 1.3x (bench's own)" \
                "$(met_within "$(ratio "$held_med" "$empty_med")" 1.3)"
}
HELD_CONTAINERS=${HELD_CONTAINERS:-100}
HELD_RUNS=${HELD_RUNS:-100}
COLD_RUNS=${COLD_RUNS:-50}
if [ "$(id -u)" -eq 0 ] && mkdir -p "$TMP/tmpfs" && mount -t tmpfs -o size=64m numapin-bench "$TMP/tmpfs" 2>/dev/null; then
        hook_bench "$TMP/tmpfs" "tmpfs (as /run in production)" tmpfs
        cold_bench "$TMP/tmpfs"
        held_bench "$TMP/tmpfs" || echo "hook beside containers held: not timed (placing them failed)"
        # the seccomp filter alone, in fresh processes: its install, and what it
        # adds to each of the calls a hook makes most
        echo '{"ociVersion":"1.0.2"}' > "$TMP/tmpfs/small.json"
        read -r install_us call_ns libseccomp_us < <("$B/bench_sandbox" 300 "$TMP/tmpfs/small.json")
        calls=$(strace -f -c -o "$TMP/strace.txt" "$ROOT/build/numapin-hook" --state-dir "$TMP/tmpfs/state" \
                --cgroup-root "$TMP/tmpfs/cg" createRuntime < "$TMP/tmpfs/state.json" 2>/dev/null >/dev/null &&
                awk '$NF == "total" { print $(NF-2) }' "$TMP/strace.txt" || echo 0)
        "$ROOT/build/numapin-hook" --state-dir "$TMP/tmpfs/state" --cgroup-root "$TMP/tmpfs/cg" poststop \
                < "$TMP/tmpfs/state.json" >/dev/null 2>&1 || true
        filter_us=$(awk -v i="$install_us" -v c="$call_ns" -v n="$calls" 'BEGIN { printf "%.1f", i + c * n / 1000 }')
        filter_share=$(awk -v f="$filter_us" -v h="$hook_med" 'BEGIN { printf "%.1f", (h > 0 ? 100 * f / h : 0) }')
        echo "seccomp filter on the hook: install $install_us us (median of 300 fresh processes), $call_ns ns more"
        echo "  baseline: libseccomp's own program for the same tables, in interleaved processes: install" \
                "$libseccomp_us us; the compiled bitmap takes $(ratio "$install_us" "$libseccomp_us")x"
        echo "  per call over the hook's $calls calls: $filter_us us of the hook's $hook_med us median on tmpfs"
        echo "  = $filter_share% (goal: under 3%)"
        goal "hook seccomp filter: install and per-call cost, share of createRuntime" "$filter_us us" \
                "$hook_med us (hook median, tmpfs)" "$filter_share%" "under 3% (issue 14)" "$(met_below "$filter_share" 3)"
        echo
        umount "$TMP/tmpfs"
else
        echo "hook on tmpfs: skipped (mounting a tmpfs needs root)"
fi
# the fake cgroup tree on tmpfs here too: a cgroup's files are cgroupfs's, in memory,
# where on ext4 each O_TRUNC of a written file costs a journal update (0.1-0.3 ms)
disk_fs=$(df --output=fstype "$TMP" | tail -1)
if [ "$(id -u)" -eq 0 ] && mkdir -p "$TMP/cgfs" && mount -t tmpfs -o size=16m numapin-bench-cg "$TMP/cgfs" 2>/dev/null; then
        hook_bench "$TMP/disk" "$disk_fs (this disk; the fake cgroup tree on tmpfs)" "$disk_fs" "$TMP/cgfs/cg"
        umount "$TMP/cgfs"
else
        hook_bench "$TMP/disk" "$disk_fs (this disk, the fake cgroup tree too)" "$disk_fs"
fi
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
        # the monitor as in production, but pinned under the bench's own root: the
        # programs a hook loads stay attached while idle (core/monitor-load.c), and
        # under /sys/fs/bpf/numapin they would run through the BPF figures below
        printf '{"monitor_pin_dir": "/sys/fs/bpf/numapin-bench-runc-%s"}\n' "$$" >"$dir/runc-config.json"
        jq --arg hook "$ROOT/build/numapin-hook" --arg state "$dir/runc-state" --arg config "$dir/runc-config.json" '
                .annotations={"policy.numapin.io/pod":"bind"} |
                .hooks={"createRuntime":[{"path":$hook,"args":["numapin-hook","--config",$config,"--state-dir",$state,
                                                                 "createRuntime"]}],
                        "poststop":[{"path":$hook,"args":["numapin-hook","--config",$config,"--state-dir",$state,
                                                          "poststop"]}]}' \
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
        rm -rf "/sys/fs/bpf/numapin-bench-runc-$$"
else
        echo "runc run: skipped (needs root and runc)"
fi
echo

# 3. One placement decision on the largest fixtures, with and without 500 allocations:
#    large-32node (32 nodes, 1024 CPUs; also with 1000 allocations), gb200-34node (2 CPU
#    nodes of 72 cores and 32 memory-only GPU-memory nodes) and 64node-8192cpu. make
#    generates them into build/fixtures/sysfs/ (as tests/lib.sh finds them).
us() { awk -v n="$1" 'BEGIN { printf "%.2f", n / 1000 }'; }
place_us=()
for run in "large-32node 1000" "large-32node 500" "gb200-34node 500" "64node-8192cpu 500"; do
        read -r machine allocations <<<"$run"
        dir=$ROOT/tests/fixtures/sysfs/$machine
        [ -d "$dir" ] || dir=${NUMAPIN_FIXTURES_GEN:-$ROOT/build/fixtures/sysfs}/$machine
        if [ ! -d "$dir" ]; then
                echo "bench: fixture $machine is missing ($dir): run make build/fixtures/sysfs/$machine" >&2
                exit 1
        fi
        read -r empty_ns loaded_ns nodes cpus < <("$B/bench_place" "$dir" "$allocations")
        echo "placement on $machine ($nodes nodes, $cpus CPUs), 4 exclusive CPUs + 1 GiB:"
        printf '  %-28s %8.2f us\n' "with $allocations allocations" "$(us "$loaded_ns")"
        printf '  %-28s %8.2f us\n' "baseline: empty ledger" "$(us "$empty_ns")"
        echo "  ratio: $(ratio "$loaded_ns" "$empty_ns")x the empty ledger"
        case $run in
        "large-32node 1000") limit=10 ;;
        "large-32node 500") limit="" ;;
        gb200*) limit=20 ;;
        64node*) limit=100 ;;
        esac
        [ "$allocations" = 500 ] && place_us+=("$machine $nodes $cpus $loaded_ns")
        [ -n "$limit" ] && goal "placement, $machine, $allocations allocations" "$(us "$loaded_ns") us" \
                "$(us "$empty_ns") us (empty ledger)" "$(ratio "$loaded_ns" "$empty_ns")x" "under $limit us" \
                "$(met_below "$(us "$loaded_ns")" "$limit")"
done
# the growth against nodes x CPUs from the 32-node machine up
read -r _ n32 c32 t32 <<<"${place_us[0]}"
for entry in "${place_us[@]:1}"; do
        read -r machine n c t <<<"$entry"
        awk -v m="$machine" -v t="$t" -v n="$n" -v c="$c" -v t0="$t32" -v n0="$n32" -v c0="$c32" 'BEGIN {
                size = (n * c) / (n0 * c0); growth = t / t0
                printf "  %s: %.2fx the 32-node time with 500 allocations, for %.2fx its nodes x CPUs", m, growth, size
                if (size > 1)
                        printf " (%s)", (growth <= size) ? "growing no faster than nodes x CPUs" : "growing FASTER than nodes x CPUs"
                printf "\n"
        }'
done
echo

# 4. The eBPF locality monitor: its programs' run time per event against empty
#    programs on the same tracepoints (1 and 10,000 watched cgroups, and the
#    workload unwatched), and a page-fault workload with it attached against
#    without. A private pin root and cgroup: /sys/fs/bpf/numapin is not touched.
#    bench_bpf adds its goal rows (issue 16) to $NUMAPIN_BENCH_GOALS itself.
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
#    containers kept, the same round trips beside them, and a Synchronize listing
#    them (as after a reconnection: each recorded, with its cpuset) beside an empty
#    one on the same socket; then ten times as many kept. Its resident memory idle
#    (after Configure and Synchronize) and holding them. 2socket-smt fixture, state
#    on tmpfs.
NRI_RUNS=${NRI_RUNS:-5000}
NRI_HOLD=${NRI_HOLD:-1000}
if [ -x "$ROOT/build/numapin-nri" ] && [ -x "$ROOT/build/tests/nri-harness" ]; then
        if [ "$(id -u)" -eq 0 ] && mkdir -p "$TMP/tmpfs" && mount -t tmpfs -o size=256m numapin-bench "$TMP/tmpfs" 2>/dev/null; then
                nri_dir=$TMP/tmpfs/nri
        else
                nri_dir=$(mktemp -d /dev/shm/numapin-nri-bench.XXXXXX)
        fi
        mkdir -p "$nri_dir/state" "$nri_dir/cgroup"
        echo '{"monitor": false}' > "$nri_dir/config.json"
        if nri_out=$("$ROOT/build/tests/nri-harness" --plugin "$ROOT/build/numapin-nri" --state-dir "$nri_dir/state" \
                --log "$nri_dir/plugin.log" --count "$NRI_RUNS" --hold "$NRI_HOLD" \
                --hold-more "$((NRI_HOLD * 10))" bench -- \
                --sysfs-root "$ROOT/tests/fixtures/sysfs/2socket-smt" --cgroup-root "$nri_dir/cgroup" \
                --config "$nri_dir/config.json" 2>&1); then
                figure() { awk -v k="$1" -v f="$2" '$1 == k { print $f }' <<<"$nri_out"; }
                nri_round_trips() { # LABEL CREATE BASELINE
                        printf '  %-34s median %8.1f us   p99 %8.1f us\n' "numapin-nri CreateContainer" \
                                "$(figure "$2" 2)" "$(figure "$2" 3)"
                        printf '  %-34s median %8.1f us   p99 %8.1f us\n' "baseline: unknown method" \
                                "$(figure "$3" 2)" "$(figure "$3" 3)"
                        echo "  ratio: median $(ratio "$(figure "$2" 2)" "$(figure "$3" 2)")x," \
                                "p99 $(ratio "$(figure "$2" 3)" "$(figure "$3" 3)")x the baseline (goal: within 1.3x)"
                        echo "  the plugin's own work, median: $(awk -v a="$(figure "$2" 2)" -v b="$(figure "$3" 2)" \
                                'BEGIN { printf "%.1f", a - b }') us (CreateContainer minus the baseline)"
                        for f in 2 3; do
                                m=$(ratio "$(figure "$2" $f)" "$(figure "$3" $f)")
                                goal "NRI CreateContainer $([ $f = 2 ] && echo median || echo p99), $1" \
                                        "$(figure "$2" $f) us" "$(figure "$3" $f) us (unknown method)" "${m}x" \
                                        "within 1.3x" \
                                        "$(awk -v r="$m" 'BEGIN { print (r <= 1.3) ? "met" : "not met" }')"
                        done
                }
                echo "NRI plugin CreateContainer round trip, $NRI_RUNS containers (each removed after), state on" \
                        "$(df --output=fstype "$nri_dir" | tail -1):"
                nri_round_trips "empty ledger" create_us baseline_us
                printf '  %-34s median %8.1f us   p99 %8.1f us\n' "RemoveContainer" \
                        "$(figure remove_us 2)" "$(figure remove_us 3)"
                printf '  %-34s median %8.1f us   p99 %8.1f us\n' "CreateContainer, ledger 0 to $NRI_HOLD" \
                        "$(figure create_growing_us 2)" "$(figure create_growing_us 3)"
                echo "the same with $(figure held 2) containers held, $(figure held 2) round trips:"
                nri_round_trips "$(figure held 2) held" create_held_us baseline_held_us
                echo "NRI plugin Synchronize of $(figure held 2) recorded running containers (21 calls):"
                printf '  %-34s median %8.1f us   p99 %8.1f us\n' "numapin-nri Synchronize" \
                        "$(figure sync_us 2)" "$(figure sync_us 3)"
                printf '  %-34s median %8.1f us   p99 %8.1f us\n' "baseline: empty Synchronize" \
                        "$(figure sync_empty_us 2)" "$(figure sync_empty_us 3)"
                sync_ms=$(awk -v u="$(figure sync_us 2)" 'BEGIN { printf "%.2f", u / 1000 }')
                echo "  ratio: $(ratio "$(figure sync_us 2)" "$(figure sync_empty_us 2)")x the empty one;" \
                        "median $sync_ms ms (goal: under 50 ms)"
                goal "NRI Synchronize, $(figure held 2) containers (median)" "$sync_ms ms" \
                        "$(figure sync_empty_us 2) us (empty Synchronize)" \
                        "$(ratio "$(figure sync_us 2)" "$(figure sync_empty_us 2)")x" "under 50 ms" \
                        "$(met_below "$sync_ms" 50)"
                echo "NRI plugin resident memory (VmRSS):"
                printf '  %-34s %8s KiB (goal: under 2048 KiB)\n' "idle, after Configure+Synchronize" \
                        "$(figure rss_idle_kib 2)"
                printf '  %-34s %8s KiB (goal: under 4096 KiB)\n' "holding $(figure held 2) containers" \
                        "$(figure rss_held_kib 2)"
                printf '  %-34s %8s KiB (goal: under 16384 KiB)\n' "holding $(figure held_more 2) containers" \
                        "$(figure rss_held_more_kib 2)"
                echo "  ratio: $(ratio "$(figure rss_held_kib 2)" "$(figure rss_idle_kib 2)")x idle with" \
                        "$(figure held 2), $(ratio "$(figure rss_held_more_kib 2)" "$(figure rss_idle_kib 2)")x with" \
                        "$(figure held_more 2)"
                goal "NRI resident memory, idle" "$(figure rss_idle_kib 2) KiB" "-" "-" "under 2048 KiB" \
                        "$(met_below "$(figure rss_idle_kib 2)" 2048)"
                for held in "held rss_held_kib 4096" "held_more rss_held_more_kib 16384"; do
                        read -r n rss limit <<<"$held"
                        goal "NRI resident memory, $(figure "$n" 2) containers" "$(figure "$rss" 2) KiB" \
                                "$(figure rss_idle_kib 2) KiB (idle)" \
                                "$(ratio "$(figure "$rss" 2)" "$(figure rss_idle_kib 2)")x" "under $limit KiB" \
                                "$(met_below "$(figure "$rss" 2)" "$limit")"
                done
        else
                echo "NRI plugin: the harness failed:"
                printf '%s\n' "$nri_out" | tail -5 | sed 's/^/  /'
                tail -5 "$nri_dir/plugin.log" 2>/dev/null | sed 's/^/  plugin: /'
        fi
        if [ "$nri_dir" = "$TMP/tmpfs/nri" ]; then umount "$TMP/tmpfs"; else rm -rf "$nri_dir"; fi
else
        echo "NRI plugin: skipped (make build/numapin-nri build/tests/nri-harness)"
fi
echo

# 6. A scrape of numapin-exporter's /metrics against Debian's prometheus-node-exporter
#    serving its own (default collectors) in the same run: the 8node-nps4 fixture
#    machine with 100 and with 1000 containers placed as the hook places them, each
#    in a cgroup directory with a memory.numa_stat (on a tmpfs) and watched by the
#    real BPF locality monitor (a private pin root, a fake cgroup id per container,
#    its counters filled in), so that every scrape reads the maps and the files.
#    bench_scrape keeps one connection per endpoint and takes them in turn.
#    NUMAPIN_BENCH_EXPORTER measures another numapin-exporter build.
METRICS_RUNS=${METRICS_RUNS:-200}
METRICS_WARMUP=${METRICS_WARMUP:-20}
METRICS_SLOTS=2048
exporter=${NUMAPIN_BENCH_EXPORTER:-$ROOT/build/numapin-exporter}
node_exporter=/usr/bin/prometheus-node-exporter
nps4=$ROOT/tests/fixtures/sysfs/8node-nps4
[ -d "$nps4" ] || nps4=${NUMAPIN_FIXTURES_GEN:-$ROOT/build/fixtures/sysfs}/8node-nps4
metrics_pin=/sys/fs/bpf/numapin-bench-metrics-$$
listen_port() { # PID: the TCP port it listens on, once it does
        local i port
        for i in $(seq 1 200); do
                port=$(ss -Hltnp 2>/dev/null | awk -v p="pid=$1," 'index($0, p) { n = split($4, a, ":"); print a[n]; exit }')
                if [ -n "$port" ]; then
                        echo "$port"
                        return 0
                fi
                kill -0 "$1" 2>/dev/null || return 1
                sleep 0.05
        done
        return 1
}
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || true; } # PID VmRSS|VmHWM
stop() { # PID: sends SIGTERM, waits; $ended: how it ended ("stopped": it was still running)
        local rc=0
        kill "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || rc=$?
        if [ "$rc" -eq 0 ] || [ "$rc" -eq 143 ]; then
                ended="stopped"
        elif [ "$rc" -gt 128 ]; then
                ended="killed by SIG$(kill -l $((rc - 128)))"
        else
                ended="exited $rc"
        fi
}
met() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > 0 && a < b) ? "met" : "not met" }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }
if [ "$(id -u)" -ne 0 ]; then
        echo "metrics scrape: skipped (loading the BPF locality monitor needs root)"
elif [ ! -x "$node_exporter" ] || ! command -v ss >/dev/null; then
        echo "metrics scrape: skipped (needs $node_exporter and ss: apt-get install prometheus-node-exporter iproute2)"
elif [ ! -d "$nps4" ]; then
        echo "bench: fixture 8node-nps4 is missing ($nps4): run make build/fixtures/sysfs/8node-nps4" >&2
        exit 1
elif ! { mkdir -p "$TMP/tmpfs" && mount -t tmpfs -o size=256m numapin-bench "$TMP/tmpfs" 2>/dev/null; }; then
        echo "metrics scrape: skipped (mounting a tmpfs failed)"
else
        m=$TMP/tmpfs
        fixture_out=""
        # COUNT FIRST-SLOT: the two states share the pinned set, in slots of their own
        for spec in "100 0" "1000 100"; do
                read -r count first <<<"$spec"
                fixture_out+="$("$B/bench_metrics_fixture" "$nps4" "$metrics_pin" "$METRICS_SLOTS" "$m/state$count" \
                        "$m/cgroup" "$count" "$first")"$'\n'
        done
        printf '{"monitor": true, "monitor_pin_dir": "%s", "monitor_slots": %d}\n' "$metrics_pin" "$METRICS_SLOTS" \
                >"$m/config.json"
        # each started as a simple command, so that $! is the server itself
        "$exporter" --state-dir "$m/state100" --sysfs-root "$nps4" --config "$m/config.json" --listen 127.0.0.1:0 \
                2>"$m/exporter100.log" &
        pid100=$!
        metrics_pids=$pid100
        "$exporter" --state-dir "$m/state1000" --sysfs-root "$nps4" --config "$m/config.json" --listen 127.0.0.1:0 \
                2>"$m/exporter1000.log" &
        pid1000=$!
        metrics_pids+=" $pid1000"
        "$node_exporter" --web.listen-address=127.0.0.1:0 >"$m/node-exporter.log" 2>&1 &
        pid_node=$!
        metrics_pids+=" $pid_node"
        if port100=$(listen_port "$pid100") && port1000=$(listen_port "$pid1000") &&
                port_node=$(listen_port "$pid_node"); then
                scrape_out=$("$B/bench_scrape" "$METRICS_WARMUP" "$METRICS_RUNS" "c100=127.0.0.1:$port100" \
                        "c1000=127.0.0.1:$port1000" "node=127.0.0.1:$port_node") || true
        else
                scrape_out="c100 failed 1 0 0 0 no endpoint listening"$'\n'"c1000 failed 1 0 0 0 not run"$'\n'
                scrape_out+="node failed 1 0 0 0 not run"
        fi
        rss100=$(status_kib "$pid100" VmRSS) hwm100=$(status_kib "$pid100" VmHWM)
        rss1000=$(status_kib "$pid1000" VmRSS) hwm1000=$(status_kib "$pid1000" VmHWM)
        rss_node=$(status_kib "$pid_node" VmRSS) hwm_node=$(status_kib "$pid_node" VmHWM)
        stop "$pid100"
        ended100=$ended
        stop "$pid1000"
        ended1000=$ended
        stop "$pid_node"
        metrics_pids=""
        "$B/bench_metrics_fixture" --remove "$metrics_pin" || true
        umount "$TMP/tmpfs"

        # bench_scrape's lines: NAME median p99 bytes series reconnects first, or
        # NAME failed SCRAPE first bytes series reason...
        field() { awk -v k="$1" -v f="$2" '$1 == k { print $f }' <<<"$scrape_out"; }
        failed() { [ "$(field "$1" 2)" = failed ]; }
        first_us() { if failed "$1"; then field "$1" 4; else field "$1" 7; fi; }
        reason() { awk -v k="$1" '$1 == k { $1 = $2 = $3 = $4 = $5 = $6 = ""; sub(/^ +/, ""); print }' <<<"$scrape_out"; }
        echo "metrics scrape on 8node-nps4 (8 nodes, 128 CPUs), the BPF locality monitor on, $METRICS_RUNS scrapes each" \
                "after $METRICS_WARMUP warm-up, one keep-alive connection each, in turn; containers placed:"
        awk 'NF { printf "    %d containers: %d bind, %d cpus-only, %d with exclusive CPUs, %d watched\n", $2, $4, $6, $8, $10 }' \
                <<<"$fixture_out"
        for c in 100 1000; do
                ended_var=ended$c
                if failed "c$c"; then
                        printf '  %-36s failed at scrape %s: %s (numapin-exporter %s); its first scrape: %d bytes, %d series\n' \
                                "numapin-exporter, $c containers" "$(field "c$c" 3)" "$(reason "c$c")" "${!ended_var}" \
                                "$(field "c$c" 5)" "$(field "c$c" 6)"
                else
                        printf '  %-36s median %8.0f us   p99 %8.0f us   %8d bytes %6d series\n' \
                                "numapin-exporter, $c containers" "$(field "c$c" 2)" "$(field "c$c" 3)" \
                                "$(field "c$c" 4)" "$(field "c$c" 5)"
                fi
        done
        if failed node; then
                printf '  %-36s failed at scrape %s: %s\n' "baseline: prometheus-node-exporter" "$(field node 3)" \
                        "$(reason node)"
        else
                printf '  %-36s median %8.0f us   p99 %8.0f us   %8d bytes %6d series\n' \
                        "baseline: prometheus-node-exporter" "$(field node 2)" "$(field node 3)" "$(field node 4)" \
                        "$(field node 5)"
        fi
        for c in 100 1000; do
                goal_us=$((c * 10))
                if failed "c$c" || failed node; then
                        echo "  $c containers: no ratio (goal: under $(ms "$goal_us") and faster than node-exporter: not met)"
                        continue
                fi
                echo "  $c containers: median $(ratio "$(field "c$c" 2)" "$(field node 2)")x, p99" \
                        "$(ratio "$(field "c$c" 3)" "$(field node 3)")x node-exporter's;" \
                        "goal: under $(ms "$goal_us"): $(met "$(field "c$c" 2)" "$goal_us");" \
                        "faster than node-exporter: $(met "$(field "c$c" 2)" "$(field node 2)")"
                goal "metrics scrape, $c containers (median)" "$(ms "$(field "c$c" 2)")" \
                        "$(ms "$(field node 2)") (node-exporter)" "$(ratio "$(field "c$c" 2)" "$(field node 2)")x" \
                        "under $(ms "$goal_us"), faster than node-exporter" \
                        "$( [ "$(met "$(field "c$c" 2)" "$goal_us")" = met ] && [ "$(met "$(field "c$c" 2)" "$(field node 2)")" = met ] && echo met || echo "not met")"
        done
        echo "  the first scrape (a cold cache: every record parsed): 100 containers $(ms "$(first_us c100)")," \
                "1000 containers $(ms "$(first_us c1000)"); node-exporter $(ms "$(first_us node)")"
        echo "metrics endpoints' resident memory after the scrapes:"
        printf '  %-36s VmRSS %8s KiB   VmHWM %8s KiB\n' "numapin-exporter, 100 containers" "${rss100:-?}" "${hwm100:-?}"
        printf '  %-36s VmRSS %8s KiB   VmHWM %8s KiB (goal: under 4096 KiB: %s)\n' "numapin-exporter, 1000 containers" \
                "${rss1000:-?}" "${hwm1000:-?}" "$(met "${rss1000:-0}" 4096)"
        printf '  %-36s VmRSS %8s KiB   VmHWM %8s KiB\n' "baseline: prometheus-node-exporter" "${rss_node:-?}" \
                "${hwm_node:-?}"
        goal "numapin-exporter resident memory, 1000 containers" "${rss1000:-?} KiB" "${rss_node:-?} KiB (node-exporter)" \
                "$(ratio "${rss1000:-0}" "${rss_node:-0}")x" "under 4096 KiB" "$(met "${rss1000:-0}" 4096)"
        if [ -n "$rss1000" ] && [ -n "$rss_node" ]; then
                echo "  ratio: 1000 containers $(ratio "$rss1000" "$rss_node")x node-exporter's VmRSS"
        else
                echo "  ratio: none (a process was gone before its memory was read)"
        fi
fi

# The table: every goal with its figure, its baseline from this run and whether it is met.
echo
echo "goals ($(($(date +%s) - bench_start)) s for the whole bench):"
{
        printf 'figure\tnumapin\tbaseline\tratio\tgoal\tmet\n'
        cat "$NUMAPIN_BENCH_GOALS"
} | column -t -s "$(printf '\t')" | sed 's/^/  /'
