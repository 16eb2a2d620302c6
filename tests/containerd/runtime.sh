# SPDX-License-Identifier: MIT
# Helpers of tests/e2e/containerd.sh, sourced after tests/lib.sh: one real containerd with
# NRI on under a folder of its own, numapin-nri connected to its socket, pods through CRI
# (tests/containerd/cri.py), bounded waits, and a cleanup that leaves no process, mount,
# cgroup or socket of ours behind, whatever state a failed run stopped in.
#
#   cd_use LABEL BINDIR          the containerd the next calls talk to (its folder $CD_DIR)
#   cd_start / cd_stop           containerd on $CD_DIR's config, root and state
#   nri_start CONFIG / nri_stop  numapin-nri on $NRI_SOCK with the state folder $NP_STATE
#   pod_run NAME [K=V...]        RunPodSandbox, CreateContainer, StartContainer: sets POD, CTR,
#                                or ERR (the CRI error) and returns 1
#   pod_remove POD CTR           StopContainer, RemoveContainer, StopPodSandbox, RemovePodSandbox
#   cpus_seen CTR                Cpus_allowed_list of a process exec'd in the container
#   wait_until SECONDS CMD...    CMD every 0.2 s until it succeeds or SECONDS pass

CT_SRC=$NP_ROOT/tests/containerd
CT_BUILD=$NP_ROOT/build/containerd
NRI_BIN=$NP_ROOT/build/numapin-nri
PY=/usr/bin/python3
# every pod's cgroups go under this parent, in each hierarchy, removed at exit
CGROUP_PARENT=/numapin-e2e-$$
RUNC=$(command -v runc)

cd_use() {
        CD_LABEL=$1 CD_BIN=$2
        CD_DIR=$NP_TMP/c$1
        CD_SOCK=$CD_DIR/containerd.sock NRI_SOCK=$CD_DIR/nri.sock
        NP_STATE=$CD_DIR/numapin
        mkdir -p "$CD_DIR/cni" "$CD_DIR/logs" "$NP_STATE"
}

alive() {
        local state
        state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) && [ -n "$state" ] && [ "$state" != Z ]
}
# stop_pid PID: SIGTERM, then SIGKILL after 5 s; reaps it when it is our child
stop_pid() {
        local pid=$1 i
        [ -n "$pid" ] || return 0
        kill -TERM "$pid" 2>/dev/null
        for i in $(seq 50); do
                alive "$pid" || break
                sleep 0.1
        done
        alive "$pid" && kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        return 0
}

wait_until() {
        local limit=$1 end
        shift
        end=$((SECONDS + limit))
        while :; do
                "$@" >/dev/null 2>&1 && return 0
                [ "$SECONDS" -ge "$end" ] && return 1
                sleep 0.2
        done
}

ctr_() { timeout 60 "$CD_BIN/ctr" --address "$CD_SOCK" -n k8s.io "$@"; }
cri() { timeout 45 "$PY" "$CT_SRC/cri.py" --socket "$CD_SOCK" --gen "$CT_BUILD/cri-py" --timeout 30 "$@"; }

# cd_start: containerd on the config written from tests/containerd/config.toml.in; waits
# (20 s at most) until it answers. Its log goes on in $CD_DIR/containerd.log.
cd_start() {
        sed -e "s|@DIR@|$CD_DIR|g" -e "s|@PAUSE_IMAGE@|localhost/numapin-pause:e2e|" -e "s|@RUNC@|$RUNC|" \
                "$CT_SRC/config.toml.in" >"$CD_DIR/config.toml"
        [ -f "$CD_DIR/cni/10-loopback.conflist" ] || cat >"$CD_DIR/cni/10-loopback.conflist" <<'EOF'
{"cniVersion": "1.0.0", "name": "numapin-e2e", "plugins": [{"type": "loopback"}]}
EOF
        # the shim is found on PATH, next to the containerd that starts it
        PATH=$CD_BIN:$PATH "$CD_BIN/containerd" --config "$CD_DIR/config.toml" >>"$CD_DIR/containerd.log" 2>&1 &
        CD_PID=$!
        echo "$CD_PID" >"$CD_DIR/containerd.pid"
        wait_until 20 cri version
}
cd_stop() {
        stop_pid "${CD_PID:-}"
        CD_PID=""
        rm -f "$CD_DIR/containerd.pid"
}

# nri_start CONFIG: numapin-nri on containerd's NRI socket, its log in $CD_DIR/plugin.log
nri_start() {
        "$NRI_BIN" --socket "$NRI_SOCK" --state-dir "$NP_STATE" --config "$1" >>"$CD_DIR/plugin.log" 2>&1 &
        NRI_PID=$!
        echo "$NRI_PID" >"$CD_DIR/nri.pid"
}
nri_stop() {
        stop_pid "${NRI_PID:-}"
        NRI_PID=""
        rm -f "$CD_DIR/nri.pid"
}

# the number of times containerd logged that the plugin connected (registered)
registrations() { grep -c 'plugin \\"90-numapin\\" connected' "$CD_DIR/containerd.log"; }

pod_run() {
        local name=$1 a args=()
        shift
        for a in "$@"; do args+=(--annotation "$a"); done
        POD="" CTR="" ERR=""
        POD=$(cri runp "$name" --pod-config "$CD_DIR/$name.pod" "${args[@]}" \
                --cgroup-parent "$CGROUP_PARENT/$CD_LABEL-$name" --log-dir "$CD_DIR/logs/$name" 2>"$CD_DIR/err") &&
                CTR=$(cri create "$POD" --pod-config "$CD_DIR/$name.pod" app localhost/numapin-busybox:e2e \
                        -- sleep 100000 2>"$CD_DIR/err") &&
                cri start "$CTR" 2>"$CD_DIR/err" && return 0
        ERR=$(tr '\n' ' ' <"$CD_DIR/err")
        return 1
}
pod_remove() {
        [ -n "${2:-}" ] && { cri stop "$2"; cri rm "$2"; }
        cri stopp "$1" && cri rmp "$1"
}

cpus_seen() {
        local out
        out=$(cri exec "$1" cat /proc/self/status 2>&1)
        sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' <<<"$out" | grep . || echo "(exec failed: $(tr '\n' ' ' <<<"$out" | head -c 200))"
}
# sees CTR LIST: the container's Cpus_allowed_list is LIST (for wait_until)
sees() { [ "$(cpus_seen "$1")" = "$2" ]; }

# shims_of DIR: the pids of the shims of the containerd on DIR/containerd.sock
# (containerd-shim-runc-v2 ... -address DIR/containerd.sock)
shims_of() {
        local f pid
        for f in $(grep -lF -- "$1/containerd.sock" /proc/[0-9]*/cmdline 2>/dev/null); do
                pid=${f#/proc/} pid=${pid%/cmdline}
                [[ $(tr '\0' ' ' <"$f" 2>/dev/null) == *containerd-shim*" -address $1/containerd.sock"* ]] && echo "$pid"
        done
        return 0
}

# cd_cleanup DIR BINDIR: everything one containerd run left, in an order that works from
# any state: its pods through CRI while it answers, the plugin, containerd, then any shim
# or container process still holding DIR or our cgroups, the mounts under DIR, the shims'
# sockets.
cd_cleanup() {
        local dir=$1 bin=$2 pod pid f sock
        CD_DIR=$dir CD_SOCK=$dir/containerd.sock CD_BIN=$bin
        if [ -S "$CD_SOCK" ] && [ -f "$dir/containerd.pid" ] && alive "$(cat "$dir/containerd.pid")"; then
                for pod in $(cri pods 2>/dev/null); do
                        cri stopp "$pod"
                        cri rmp "$pod"
                done
        fi
        for f in "$dir/nri.pid" "$dir/containerd.pid"; do
                [ -f "$f" ] && stop_pid "$(cat "$f")"
                rm -f "$f"
        done
        for pid in $(shims_of "$dir"); do kill -KILL "$pid" 2>/dev/null; done
        for f in $(find /sys/fs/cgroup/*"$CGROUP_PARENT" -name cgroup.procs 2>/dev/null); do
                for pid in $(cat "$f"); do kill -KILL "$pid" 2>/dev/null; done
        done
        for sock in $(cat "$dir"/state/io.containerd.runtime.v2.task/k8s.io/*/address 2>/dev/null); do
                sock=${sock#unix://}
                [[ $sock == /run/containerd/s/* ]] && rm -f "$sock"
        done
        awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r f; do
                umount "$f" 2>/dev/null || umount -l "$f"
        done
}
cgroups_cleanup() {
        local d
        for d in /sys/fs/cgroup/*"$CGROUP_PARENT"; do
                [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
        done
        return 0
}
