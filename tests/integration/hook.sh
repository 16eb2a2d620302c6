# SPDX-License-Identifier: MIT
# numapin-hook run as a runtime would (OCI state on stdin) against fixture sysfs trees
# and fake cgroup v1/v2 trees: placement, second stage, poststop, config options, and
# bad input refused with one line and nothing half-written.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT
SYSFS=$NP_FIXTURES/2socket-smt
CONF=$NP_TMP/numapin-empty.json
echo '{}' >"$CONF"
n_case=0

# new_case: a fresh case folder $C with a bundle $B, a fake cgroup v1 tree $CG holding
# the container cgroup /ctr1 (and /fromproc), and a state dir $SD (not created).
new_case() {
        n_case=$((n_case + 1))
        C=$NP_TMP/case$n_case B=$C/bundle CG=$C/cgroup SD=$C/state
        mkdir -p "$B" "$CG/cpuset"
        echo 0-31 >"$CG/cpuset/cpuset.cpus"
        echo 0-1 >"$CG/cpuset/cpuset.mems"
        local dir
        for dir in ctr1 fromproc; do
                mkdir -p "$CG/cpuset/$dir"
                echo 0-31 >"$CG/cpuset/$dir/cpuset.cpus"
                echo 0-1 >"$CG/cpuset/$dir/cpuset.mems"
                echo 0 >"$CG/cpuset/$dir/cpuset.memory_migrate"
        done
}

# new_case_v2: the same with a fake cgroup v2 tree; the container is /kubepods/ctr2.
new_case_v2() {
        n_case=$((n_case + 1))
        C=$NP_TMP/case$n_case B=$C/bundle CG=$C/cgroup SD=$C/state
        mkdir -p "$B" "$CG/kubepods/ctr2"
        echo "cpuset memory" >"$CG/cgroup.controllers"
        echo "memory" >"$CG/cgroup.subtree_control"
        : >"$CG/kubepods/cgroup.subtree_control"
        : >"$CG/kubepods/ctr2/cpuset.cpus"
        : >"$CG/kubepods/ctr2/cpuset.mems"
}

# write_spec ANNOTATIONS-JSON [CGROUPS-PATH]: a realistic config.json with fields
# numapin does not own (they must survive the rewrite).
write_spec() {
        jq -n --argjson a "$1" --arg cg "${2-/ctr1}" '{
                ociVersion: "1.0.2",
                process: {terminal: false, user: {uid: 0, gid: 0}, args: ["sh", "-c", "echo hi"],
                          env: ["PATH=/bin", "TERM=xterm"], cwd: "/", noNewPrivileges: true},
                root: {path: "rootfs", readonly: true},
                hostname: "ctr1",
                mounts: [{destination: "/proc", type: "proc", source: "proc"}],
                annotations: $a,
                linux: {cgroupsPath: $cg,
                        resources: {devices: [{allow: false, access: "rwm"}],
                                    memory: {limit: 1073741824},
                                    cpu: {shares: 1024, quota: 200000, period: 100000}},
                        namespaces: [{type: "pid"}, {type: "mount"}]},
                "x-vendor": {keep: [1, 2.5, true, null, "ünïcode"]}
        } | if $cg == "-" then del(.linux.cgroupsPath) else . end' >"$B/config.json"
        cp "$B/config.json" "$C/config.orig.json"
}

# write_state [ID] [BUNDLE] [PID] [ANNOTATIONS-JSON]: the OCI state into $C/state.json.
write_state() {
        jq -n --arg id "${1:-ctr1}" --arg b "${2:-$B}" --arg pid "${3:-}" --arg a "${4:-}" \
                '{ociVersion: "1.0.2-dev", id: $id, status: "creating", bundle: $b}
                 + (if $pid == "" then {} else {pid: ($pid | tonumber)} end)
                 + (if $a == "" then {} else {annotations: ($a | fromjson)} end)' >"$C/state.json"
}

# hook INPUT-FILE ARGS...: runs the hook; sets $status, $err (stderr) and $C/err.
hook() {
        local input=$1
        shift
        "$NP_HOOK" --sysfs-root "$SYSFS" --cgroup-root "$CG" --state-dir "$SD" "$@" <"$input" >"$C/out" 2>"$C/err"
        status=$?
        err=$(cat "$C/err")
}

list_json() { "$NP_CTL" --config "$CONF" --state-dir "$SD" list --json; }
record() { list_json | jq -r --arg id "$1" --arg f "$2" '.containers[] | select(.id == $id) | .[$f]'; }
n_records() { list_json | jq '.containers | length'; }
spec_field() { jq -r "$1 // \"(absent)\"" "$B/config.json"; }
# the spec minus the fields numapin owns, keys sorted
spec_rest() { jq -S 'del(.linux.resources.cpu.cpus, .linux.resources.cpu.mems)' "$1"; }

# snapshot: remembers the bundle, cgroup tree and state dir to prove nothing changed.
snapshot() {
        rm -rf "$C/snap"
        mkdir -p "$C/snap"
        [ -e "$B" ] && cp -a "$B" "$C/snap/bundle"
        cp -a "$CG" "$C/snap/cgroup"
        (cd "$B" 2>/dev/null && find . -mindepth 1 | sort) >"$C/snap/bundle.list"
        stat -c '%i %s %Y' "$B/config.json" >"$C/snap/config.stat" 2>/dev/null
}

# unchanged: empty when the bundle, cgroup tree and ledger are as at snapshot, else
# what changed.
unchanged() {
        local what=""
        # the listing below catches a created or removed config.json; an unreadable one
        # (mode 000 for a non-root user) is compared by inode, size and mtime
        if [ -f "$C/snap/bundle/config.json" ]; then
                cmp -s "$C/snap/bundle/config.json" "$B/config.json" || what+="config.json changed; "
        fi
        [ "$(stat -c '%i %s %Y' "$B/config.json" 2>/dev/null)" = "$(cat "$C/snap/config.stat")" ] ||
                what+="config.json replaced; "
        [ "$( (cd "$B" 2>/dev/null && find . -mindepth 1 | sort))" = "$(cat "$C/snap/bundle.list")" ] ||
                what+="bundle files: $( (cd "$B" && find . -mindepth 1 | tr '\n' ' ')); "
        diff -r "$C/snap/cgroup" "$CG" >/dev/null || what+="cgroup files changed: $(diff -r "$C/snap/cgroup" "$CG" | head -3 | tr '\n' ' '); "
        if [ -d "$SD" ]; then
                local extra
                # the operations counters (opstats) count the refusal: that is their job
                extra=$(cd "$SD" && find . -mindepth 1 ! -path ./lock ! -path ./containers ! -path ./opstats | tr '\n' ' ')
                [ -z "$extra" ] || what+="state dir holds: $extra; "
        fi
        printf '%s' "$what"
}

expect_unchanged() {
        local what
        what=$(unchanged)
        if [ -z "$what" ]; then pass "$1"; else fail "$1" "$what"; fi
}

# expect_one_line NAME NEEDLE...: stderr is exactly one numapin-hook line holding every needle.
expect_one_line() {
        local name=$1 lines needle missing=""
        shift
        lines=$(wc -l <"$C/err")
        for needle in "$@"; do [[ $err == *"$needle"* ]] || missing+="'$needle' "; done
        if [ "$lines" -ne 1 ] || [ -z "$err" ]; then
                fail "$name" "expected one line on stderr, got $lines: $(head -c 300 <<<"$err")"
        elif [[ $err != numapin-hook:* ]]; then
                fail "$name" "the line does not start with numapin-hook: '$err'"
        elif [ -n "$missing" ]; then
                fail "$name" "missing $missing in '$err'"
        else
                pass "$name"
        fi
}

# nonzero WHY...: the hook's $status is not 0; else WHY is the reason
nonzero() { [ "$status" -ne 0 ] || why "$@"; }

# refused NAME STAGE NEEDLE... (input in $C/state.json, options in ${extra[@]}):
# non-zero exit, one line naming the thing, nothing written.
extra=()
refused() {
        local name=$1 stage=$2
        shift 2
        snapshot
        if [ "$stage" = "-" ]; then hook "$C/state.json" "${extra[@]}"; else hook "$C/state.json" "${extra[@]}" "$stage"; fi
        check "bad input, $name: exit status non-zero" nonzero "exited 0 (stderr: $err)"
        expect_one_line "bad input, $name: one line naming the problem" "$@"
        expect_unchanged "bad input, $name: nothing written"
        extra=()
}

# --- the binary: one file that runs on any host ------------------------------------
# Built against musl and linked static-pie (the Makefile says why): no program
# interpreter to find, no shared library, so it runs where runc runs it, even in a
# root that holds nothing else. The sanitizer build links it dynamically.
if [ -e "$NP_BUILD/sanitize" ]; then
        skip "hook: runs in an empty root" "the sanitizer build links the hook dynamically"
elif ! is_root; then
        skip "hook: runs in an empty root" "chroot needs root"
else
        empty=$NP_TMP/empty-root
        mkdir -p "$empty"
        cp "$NP_HOOK" "$empty/numapin-hook"
        out=$(chroot "$empty" /numapin-hook --help 2>&1)
        expect_status "hook: --help in a root holding only the hook exits 0" 0 $?
        expect_contains "hook: and prints its usage there" "usage: numapin-hook" "$out"
        expect_eq "hook: no program interpreter in its program headers" "" \
                "$(readelf -lW "$NP_HOOK" | grep -i 'interp')"
        rm -rf "$empty"
fi

# --- placement on cgroup v1 ---------------------------------------------------------
new_case
write_spec '{"policy.numapin.io/pod": "bind", "cpus.numapin.io/pod": "2"}'
write_state ctr1 "$B" 999999
plan=$("$NP_CTL" --config "$CONF" --sysfs-root "$SYSFS" --state-dir "$SD" plan --json \
        --annotation policy.numapin.io/pod=bind --annotation cpus.numapin.io/pod=2 \
        --cpu-quota 200000 --cpu-period 100000 --memory-limit 1073741824)
want_cpus=$(jq -r .cpus <<<"$plan") want_mems=$(jq -r .mems <<<"$plan")
hook "$C/state.json" --config "$CONF" createRuntime
expect_status "v1 bind cpus=2: createRuntime exits 0" 0 "$status"
expect_eq "v1 bind cpus=2: plan chose 2 CPUs of one SMT core on node 0" "0,16 0" "$want_cpus $want_mems"
expect_eq "v1 bind cpus=2: cgroup cpuset.cpus holds the plan's CPUs" "$want_cpus" "$(cat "$CG/cpuset/ctr1/cpuset.cpus")"
expect_eq "v1 bind cpus=2: cgroup cpuset.mems holds the plan's mems" "$want_mems" "$(cat "$CG/cpuset/ctr1/cpuset.mems")"
expect_eq "v1 bind cpus=2: cpuset.memory_migrate is 1" "1" "$(cat "$CG/cpuset/ctr1/cpuset.memory_migrate")"
expect_eq "v1 bind cpus=2: other cgroups untouched" "0-31 0-31" "$(cat "$CG/cpuset/cpuset.cpus" "$CG/cpuset/fromproc/cpuset.cpus" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "v1 bind cpus=2: config.json linux.resources.cpu.cpus/mems" "$want_cpus $want_mems" \
        "$(spec_field .linux.resources.cpu.cpus) $(spec_field .linux.resources.cpu.mems)"
other_fields_kept() {
        [ "$(spec_rest "$C/config.orig.json")" = "$(spec_rest "$B/config.json")" ] ||
                why "$(diff <(spec_rest "$C/config.orig.json") <(spec_rest "$B/config.json") | head -5 | tr '\n' ' ')"
}
check "v1 bind cpus=2: config.json keeps every other field" other_fields_kept
expect_eq "v1 bind cpus=2: bundle holds only config.json (no temp file)" "./config.json" "$(cd "$B" && find . -mindepth 1)"
expect_eq "v1 bind cpus=2: numapinctl list --json shows the record" "ctr1 bind 0 $want_cpus $want_mems" \
        "$(list_json | jq -r '.containers[] | "\(.id) \(.policy) \(.nodes) \(.cpus) \(.mems)"')"
expect_eq "v1 bind cpus=2: record names the cgroup and pid" "$CG/cpuset/ctr1 999999" "$(record ctr1 cgroup) $(record ctr1 pid)"
expect_eq "v1 bind cpus=2: state dir holds lock, the operations counters and one record only" \
        "./containers ./containers/ctr1.json ./lock ./opstats" \
        "$(cd "$SD" && find . -mindepth 1 | sort | tr '\n' ' ' | sed 's/ $//')"
expect_eq "v1 bind cpus=2: stderr empty at the default log level" "" "$err"

cp "$B/config.json" "$C/config.after-create.json"
hook "$C/state.json" --config "$CONF" prestart
expect_status "v1 prestart after createRuntime: exits 0" 0 "$status"
expect_eq "v1 prestart after createRuntime: same CPUs and mems in the cgroup" "$want_cpus $want_mems" \
        "$(cat "$CG/cpuset/ctr1/cpuset.cpus") $(cat "$CG/cpuset/ctr1/cpuset.mems")"
expect_eq "v1 prestart after createRuntime: same record, still one" "1 $want_cpus" "$(n_records) $(record ctr1 cpus)"
same_placement() {
        cmp -s "$C/config.after-create.json" "$B/config.json" ||
                [ "$(jq -S . "$C/config.after-create.json")" = "$(jq -S . "$B/config.json")" ] ||
                why "$(spec_field .linux.resources.cpu.cpus)"
}
check "v1 prestart after createRuntime: config.json keeps the same placement" same_placement

# a second container gets other CPUs while the first holds its own
write_state ctr9 "$B" 999998
mkdir -p "$CG/cpuset/ctr9" && echo 0-31 >"$CG/cpuset/ctr9/cpuset.cpus" && echo 0-1 >"$CG/cpuset/ctr9/cpuset.mems"
write_spec '{"cpus.numapin.io/pod": "2"}' /ctr9
hook "$C/state.json" --config "$CONF" createRuntime
second=$(cat "$CG/cpuset/ctr9/cpuset.cpus")
other_cpus() {
        [ "$status" -eq 0 ] && [ -n "$second" ] && [ "$second" != "$want_cpus" ] && [ "$second" = "$(record ctr9 cpus)" ] ||
                why "status $status, cpus '$second', first '$want_cpus': $err"
}
check "v1 second container: other exclusive CPUs" other_cpus

# poststop as podman sends it: no pid
write_state ctr1 "$B"
hook "$C/state.json" --config "$CONF" poststop
expect_status "v1 poststop: exits 0" 0 "$status"
expect_eq "v1 poststop: the record is gone, the other stays" "ctr9" "$(list_json | jq -r '[.containers[].id] | join(" ")')"
hook "$C/state.json" --config "$CONF" poststop
expect_eq "v1 poststop twice: exits 0 and says nothing" "0 " "$status $err"

# --- the cgroup from /proc/<pid>/cgroup (NUMAPIN_PROC_ROOT) ----------------------------
new_case
write_spec '{"cpus.numapin.io/pod": "1"}'
mkdir -p "$C/proc/4242"
printf '12:memory:/elsewhere\n3:cpuset:/fromproc\n1:name=systemd:/x\n0::/fromproc\n' >"$C/proc/4242/cgroup"
write_state ctr1 "$B" 4242
NUMAPIN_PROC_ROOT=$C/proc hook "$C/state.json" --config "$CONF" createRuntime
expect_status "v1 cgroup from /proc/PID/cgroup: exits 0" 0 "$status"
expect_eq "v1 cgroup from /proc/PID/cgroup: the pid's cpuset cgroup is written" "$(record ctr1 cpus) 0" \
        "$(cat "$CG/cpuset/fromproc/cpuset.cpus") $(cat "$CG/cpuset/fromproc/cpuset.mems")"
expect_eq "v1 cgroup from /proc/PID/cgroup: cgroupsPath's cgroup untouched" "0-31 0-1" \
        "$(cat "$CG/cpuset/ctr1/cpuset.cpus") $(cat "$CG/cpuset/ctr1/cpuset.mems")"
expect_eq "v1 cgroup from /proc/PID/cgroup: record names it" "$CG/cpuset/fromproc 4242" "$(record ctr1 cgroup) $(record ctr1 pid)"

# --- cpus-only: CPUs written, memory left alone -----------------------------------------
new_case
write_spec '{"policy.numapin.io/pod": "cpus-only", "nodes.numapin.io/pod": "1"}'
write_state ctr1 "$B"
hook "$C/state.json" --config "$CONF" createRuntime
expect_status "v1 cpus-only nodes=1: exits 0" 0 "$status"
expect_eq "v1 cpus-only nodes=1: node 1's CPUs, mems untouched" "8-15,24-31 0-1 0" \
        "$(cat "$CG/cpuset/ctr1/cpuset.cpus") $(cat "$CG/cpuset/ctr1/cpuset.mems") $(cat "$CG/cpuset/ctr1/cpuset.memory_migrate")"
expect_eq "v1 cpus-only nodes=1: config.json gets cpus, no mems" "8-15,24-31 (absent)" \
        "$(spec_field .linux.resources.cpu.cpus) $(spec_field .linux.resources.cpu.mems)"

# --- the 4node-distance machine: explicit nodes ----------------------------------------
new_case
SYSFS=$NP_FIXTURES/4node-distance
write_spec '{"nodes.numapin.io/pod": "2-3"}'
write_state ctr1 "$B"
hook "$C/state.json" --config "$CONF" createRuntime
expect_status "4node-distance nodes=2-3: exits 0" 0 "$status"
expect_eq "4node-distance nodes=2-3: cpus 8-15, mems 2-3" "8-15 2-3" \
        "$(cat "$CG/cpuset/ctr1/cpuset.cpus") $(cat "$CG/cpuset/ctr1/cpuset.mems")"
expect_eq "4node-distance nodes=2-3: record" "bind 2-3 8-15 2-3" \
        "$(record ctr1 policy) $(record ctr1 nodes) $(record ctr1 cpus) $(record ctr1 mems)"
new_case
write_spec '{"node-count.numapin.io/pod": "2", "cpus.numapin.io/pod": "6"}'
write_state ctr1 "$B"
want=$("$NP_CTL" --config "$CONF" --sysfs-root "$SYSFS" --state-dir "$SD" plan --json \
        --annotation node-count.numapin.io/pod=2 --annotation cpus.numapin.io/pod=6 --memory-limit 1073741824 --cpu-quota 200000 |
        jq -r '"\(.nodes) \(.cpus) \(.mems)"')
hook "$C/state.json" --config "$CONF" createRuntime
expect_eq "4node-distance node-count=2 cpus=6: plan picks the closest pair, nodes 0-1" "0-1" "${want%% *}"
expect_eq "4node-distance node-count=2 cpus=6: the hook decides as numapinctl plan" "0 $want" \
        "$status $(record ctr1 nodes) $(record ctr1 cpus) $(record ctr1 mems)"
SYSFS=$NP_FIXTURES/2socket-smt

# --- placement on cgroup v2 ------------------------------------------------------------
new_case_v2
write_spec '{"cpus.numapin.io/pod": "4"}' /kubepods/ctr2
write_state ctr2 "$B"
hook "$C/state.json" --config "$CONF" createRuntime
expect_status "v2 cpus=4: createRuntime exits 0" 0 "$status"
expect_eq "v2 cpus=4: cgroup cpuset.cpus/mems" "$(record ctr2 cpus) 0" \
        "$(cat "$CG/kubepods/ctr2/cpuset.cpus") $(cat "$CG/kubepods/ctr2/cpuset.mems")"
expect_eq "v2 cpus=4: 4 CPUs, 2 whole cores" "0-1,16-17" "$(record ctr2 cpus)"
cpuset_enabled() {
        grep -qw cpuset "$CG/cgroup.subtree_control" && grep -qw cpuset "$CG/kubepods/cgroup.subtree_control" ||
                why "root '$(cat "$CG/cgroup.subtree_control")', kubepods '$(cat "$CG/kubepods/cgroup.subtree_control")'"
}
check "v2 cpus=4: cpuset enabled in every ancestor's subtree_control" cpuset_enabled
expect_eq "v2 cpus=4: no v1 files created in the container cgroup" "./cpuset.cpus ./cpuset.mems" \
        "$(cd "$CG/kubepods/ctr2" && find . -mindepth 1 | sort | tr '\n' ' ' | sed 's/ $//')"
expect_eq "v2 cpus=4: config.json cpus/mems" "$(record ctr2 cpus) 0" \
        "$(spec_field .linux.resources.cpu.cpus) $(spec_field .linux.resources.cpu.mems)"
hook "$C/state.json" --config "$CONF" poststop
expect_eq "v2 poststop: record gone" "0 0" "$status $(n_records)"

new_case_v2
write_spec '{"policy.numapin.io/pod": "bind"}' /kubepods/other
mkdir -p "$C/proc/77"
printf '0::/kubepods/ctr2\n' >"$C/proc/77/cgroup"
write_state ctr2 "$B" 77
NUMAPIN_PROC_ROOT=$C/proc hook "$C/state.json" --config "$CONF" createRuntime
expect_eq "v2 cgroup from /proc/PID/cgroup 0:: line: shared CPUs of node 0 written" "0 0-7,16-23 0" \
        "$status $(cat "$CG/kubepods/ctr2/cpuset.cpus") $(cat "$CG/kubepods/ctr2/cpuset.mems")"

# cpu_count: how many CPUs the cpulist on stdin names ("0-2,5" is 4)
cpu_count() { awk -F, '{ n = 0; for (i = 1; i <= NF; i++) { split($i, r, "-"); n += r[2] == "" ? 1 : r[2] - r[1] + 1 } print n }'; }
# --- a container gone without its poststop ----------------------------------------------
# its record holds its CPUs until a hook looks for gone containers: at most every 10 s
# (the last look is kept in ledger.cache, four records or more), at once when a
# placement needs the CPUs
new_case
write_spec '{"nodes.numapin.io/pod": "0"}'
for id in s1 s2 s3; do
        write_state "$id" "$B" 999999
        hook "$C/state.json" --config "$CONF" createRuntime
done
mkdir -p "$CG/cpuset/gone"
for f in cpuset.cpus cpuset.mems cpuset.memory_migrate; do : >"$CG/cpuset/gone/$f"; done
write_spec '{"nodes.numapin.io/pod": "0", "cpus.numapin.io/pod": "6"}' /gone
write_state gone "$B" 999997
hook "$C/state.json" --config "$CONF" createRuntime
expect_eq "gone container: placed on 6 CPUs of its own" "0 6" "$status $(record gone exclusive_cpus | cpu_count)"
rm -r "$CG/cpuset/gone"
write_spec '{"nodes.numapin.io/pod": "0"}'
write_state s4 "$B" 999999
hook "$C/state.json" --config "$CONF" createRuntime
expect_eq "gone container: the next hook, within 10 s of the last look, keeps its record" "0 gone" \
        "$status $(list_json | jq -r '[.containers[].id | select(. == "gone")] | join(" ")')"
write_spec '{"nodes.numapin.io/pod": "0", "cpus.numapin.io/pod": "12"}'
write_state x "$B" 999999
hook "$C/state.json" --config "$CONF" createRuntime
expect_eq "gone container: 12 of node 0's 16 CPUs are placed, its record reclaimed at once" "0 12 " \
        "$status $(record x exclusive_cpus | cpu_count) $(list_json | jq -r '[.containers[].id | select(. == "gone")] | join(" ")')"

# --- containers numapin does not place -------------------------------------------------
# by default kept off exclusively held CPUs (unannotated: protect): recorded with policy
# none, the CPUs no one holds exclusively, memory left alone
new_case
write_spec '{"io.kubernetes.cri.container-type": "container", "other.example.com/x": "1"}'
write_state ctr1 "$B" 999999
hook "$C/state.json" --config "$CONF" createRuntime
expect_eq "unannotated: exit 0, silent" "0 " "$status $err"
expect_eq "unannotated: recorded as policy none, every CPU, no nodes" "none 0-31 " \
        "$(record ctr1 policy) $(record ctr1 cpus) $(record ctr1 nodes)"
expect_eq "unannotated: cgroup cpus 0-31, mems untouched" "0-31 0-1" \
        "$(cat "$CG/cpuset/ctr1/cpuset.cpus") $(cat "$CG/cpuset/ctr1/cpuset.mems")"
expect_eq "unannotated: config.json cpus 0-31, no mems" "0-31 (absent)" \
        "$(spec_field .linux.resources.cpu.cpus) $(spec_field .linux.resources.cpu.mems)"
# a container that then takes CPUs exclusively moves it off them
B2=$C/bundle2
mkdir -p "$B2"
cp "$B/config.json" "$B2/config.json"
jq '.annotations = {"cpus.numapin.io/pod": "2", "nodes.numapin.io/pod": "0"} | .linux.cgroupsPath = "/fromproc"' \
        "$B/config.json" >"$B2/config.json"
write_state excl "$B2" 999998
hook "$C/state.json" --config "$CONF" createRuntime
expect_eq "unannotated, then 2 exclusive CPUs on node 0: moved off them (cgroup and record)" "1-15,17-31 1-15,17-31" \
        "$(cat "$CG/cpuset/ctr1/cpuset.cpus") $(record ctr1 cpus)"
write_state excl "$B2"
hook "$C/state.json" --config "$CONF" poststop
expect_eq "unannotated, the exclusive container gone: every CPU back" "0-31" "$(cat "$CG/cpuset/ctr1/cpuset.cpus")"

# unannotated: ignore leaves them entirely alone
new_case
echo '{"unannotated": "ignore"}' >"$C/numapin.json"
write_spec '{"io.kubernetes.cri.container-type": "container", "other.example.com/x": "1"}'
write_state ctr1 "$B" 999999
snapshot
hook "$C/state.json" --config "$C/numapin.json" createRuntime
expect_eq "unannotated with unannotated ignore: exit 0, silent" "0 " "$status $err"
expect_unchanged "unannotated with unannotated ignore: nothing written (config.json byte-identical, cgroup, ledger)"
expect_eq "unannotated with unannotated ignore: no record" "0" "$(n_records)"

new_case
write_spec '{"io.kubernetes.cri.container-type": "sandbox", "policy.numapin.io/pod": "bind", "cpus.numapin.io/pod": "1"}'
write_state ctr1 "$B" 999999
snapshot
hook "$C/state.json" --config "$CONF" createRuntime
expect_eq "sandbox container: exit 0, silent" "0 " "$status $err"
expect_unchanged "sandbox container: nothing written"

# annotations from the state win over the spec's (runc passes them in the state)
new_case
write_spec '{"cpus.numapin.io/pod": "4"}'
write_state ctr1 "$B" "" '{"cpus.numapin.io/pod": "1"}'
hook "$C/state.json" --config "$CONF" createRuntime
expect_eq "annotations in the state win over config.json's: 1 CPU, not 4" "0 0" "$status $(record ctr1 cpus)"

# --- policies an OCI hook cannot apply --------------------------------------------------
for policy in preferred interleave; do
        new_case
        write_spec "{\"policy.numapin.io/pod\": \"$policy\"}"
        write_state
        extra=(--config "$CONF")
        refused "policy $policy" createRuntime "'$policy'" "bind"
done

# --- the node's config -----------------------------------------------------------------
new_case
echo '{"on_error": "ignore"}' >"$C/numapin.json"
write_spec '{"nodes.numapin.io/pod": "7"}'
write_state
snapshot
hook "$C/state.json" --config "$C/numapin.json" createRuntime
expect_status "on_error ignore, node 7: exit 0" 0 "$status"
expect_one_line "on_error ignore, node 7: one warning line" "warning" "node 7" "on_error is ignore"
expect_unchanged "on_error ignore, node 7: nothing written"

new_case
echo '{"default_policy": "bind"}' >"$C/numapin.json"
write_spec '{}'
write_state ctr1 "$B" 999999
want=$("$NP_CTL" --config "$C/numapin.json" --sysfs-root "$SYSFS" --state-dir "$SD" plan --json \
        --memory-limit 1073741824 --cpu-quota 200000 | jq -r '"\(.policy) \(.cpus) \(.mems)"')
hook "$C/state.json" --config "$C/numapin.json" createRuntime
expect_status "default_policy bind: unannotated container placed, exit 0" 0 "$status"
expect_eq "default_policy bind: plan says shared node 0" "bind 0-7,16-23 0" "$want"
expect_eq "default_policy bind: record as planned" "$want" "$(record ctr1 policy) $(record ctr1 cpus) $(record ctr1 mems)"
expect_eq "default_policy bind: cgroup as planned" "0-7,16-23 0" \
        "$(cat "$CG/cpuset/ctr1/cpuset.cpus") $(cat "$CG/cpuset/ctr1/cpuset.mems")"

new_case
echo '{"default_policy": "bind", "on_eror": "ignore"}' >"$C/numapin.json"
write_spec '{"cpus.numapin.io/pod": "1"}'
write_state
extra=(--config "$C/numapin.json")
refused "config with a misspelt field" createRuntime "unknown field 'on_eror'" "on_error"

# --- bad input: the state on stdin -----------------------------------------------------
good_spec='{"policy.numapin.io/pod": "bind", "cpus.numapin.io/pod": "1"}'
new_case
write_spec "$good_spec"
printf '{"ociVersion": "1.0.2", "id": "ctr1", "status": "creating" "bundle": "%s"}' "$B" >"$C/state.json"
extra=(--config "$CONF")
refused "malformed JSON" createRuntime "state on stdin" "byte offset"

new_case
write_spec "$good_spec"
printf '{"ociVersion": "1.0.2", "id": "ctr1", "status": "creating", "bundle": "%s", "annot' "$B" >"$C/state.json"
extra=(--config "$CONF")
refused "truncated JSON" createRuntime "state on stdin" "truncated"

new_case
write_spec "$good_spec"
: >"$C/state.json"
extra=(--config "$CONF")
refused "empty stdin" createRuntime "state on stdin" "empty" "JSON object"

new_case
write_spec "$good_spec"
{
        printf '{"ociVersion": "1.0.2", "id": "ctr1", "status": "creating", "bundle": "%s", "annotations": {"policy.numapin.io/pod": "bind", "pad": "' "$B"
        head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' x
        printf '"}}'
} >"$C/state.json"
extra=(--config "$CONF")
refused "2 MiB on stdin" createRuntime "state on stdin" "limit of 1048576 bytes"

new_case
write_spec "$good_spec"
printf '{"ociVersion": "1.0.2", "id": "ctr1", "status": "creating", "bundle": "%s", "annotations": {"cpus.numapin.io/pod": "1\xff\xfe"}}' "$B" >"$C/state.json"
extra=(--config "$CONF")
refused "non-UTF-8 annotation value in the state" createRuntime "state on stdin" "UTF-8"

new_case
write_spec "$good_spec"
sed -i 's|"cpus.numapin.io/pod": "1"|"cpus.numapin.io/pod": "1\xc3\x28"|' "$B/config.json"
cp "$B/config.json" "$C/config.orig.json"
write_state
extra=(--config "$CONF")
refused "non-UTF-8 annotation value in config.json" createRuntime "config.json" "UTF-8"

new_case
write_spec "$good_spec"
write_state ctr1 "$C/no-such-bundle"
extra=(--config "$CONF")
refused "missing bundle" createRuntime "bundle $C/no-such-bundle" "No such file or directory"

new_case
write_spec "$good_spec"
rm "$B/config.json"
write_state
extra=(--config "$CONF")
refused "missing config.json" createRuntime "config.json" "No such file or directory"

new_case
write_spec "$good_spec"
if is_root; then
        # root reads a mode-000 file; a directory in its place cannot be read by anyone
        rm "$B/config.json" && mkdir "$B/config.json"
else
        chmod 000 "$B/config.json"
fi
write_state
extra=(--config "$CONF")
refused "unreadable config.json" createRuntime "config.json"
is_root || chmod 644 "$B/config.json"

new_case
write_spec "$good_spec"
write_state ctr1 "relative/bundle"
extra=(--config "$CONF")
refused "bundle not absolute" createRuntime "'bundle'" "absolute path"

new_case
write_spec "$good_spec"
write_state
extra=(--config "$CONF")
refused "unknown stage" poststart "stage 'poststart'" "createRuntime, prestart or poststop"

new_case
write_spec "$good_spec"
write_state
extra=(--config "$CONF")
refused "no stage" - "stage" "createRuntime, prestart or poststop"

new_case
write_spec "$good_spec"
write_state "../ctr1"
extra=(--config "$CONF")
refused "id with ../" createRuntime "'id'" "A-Z a-z 0-9"

new_case
write_spec "$good_spec"
jq 'del(.ociVersion)' "$B/config.json" >"$C/x.json" && mv "$C/x.json" "$B/config.json"
write_state
extra=(--config "$CONF")
refused "config.json without ociVersion" createRuntime "config.json" "ociVersion"

# --- bad input: the annotations --------------------------------------------------------
bad_annotation() { # NAME ANNOTATIONS-JSON NEEDLE...
        local name=$1 annotations=$2
        shift 2
        new_case
        write_spec "$annotations"
        write_state ctr1 "$B" 999999
        extra=(--config "$CONF")
        refused "$name" createRuntime "$@"
}
bad_annotation "unknown policy value" '{"policy.numapin.io/pod": "fastest"}' \
        "policy.numapin.io/pod" "'fastest'" "bind, cpus-only"
bad_annotation "node absent from the machine" '{"nodes.numapin.io/pod": "7"}' \
        "nodes.numapin.io" "node 7" "(0-1)"
bad_annotation "cpus beyond the machine (999)" '{"cpus.numapin.io/pod": "999"}' \
        "999 exclusive CPUs" "16 free CPUs"
bad_annotation "negative cpus" '{"cpus.numapin.io/pod": "-1"}' \
        "cpus.numapin.io/pod" "'-1'" "integer from 0 to 8192"
bad_annotation "huge cpus" '{"cpus.numapin.io/pod": "99999999999999999999"}' \
        "cpus.numapin.io/pod" "integer from 0 to 8192"
bad_annotation "unknown numapin key" '{"cpu.numapin.io/pod": "1"}' \
        "cpu.numapin.io/pod" "policy, nodes, node-count, cpus, monitor, scope, strategy, memory-tier or devices"

# --- bad input: cgroupsPath escapes ----------------------------------------------------
for path in "/../../etc" "a/../../b"; do
        new_case
        write_spec "$good_spec" "$path"
        write_state ctr1 "$B" 999999
        extra=(--config "$CONF")
        refused "cgroupsPath $path" createRuntime "linux.cgroupsPath '$path'" "inside the cgroup hierarchy"
done

# --- a failure after the cgroup was written leaves nothing behind -----------------------
# config.json is a symlink: read through it, but never replaced through it.
new_case
write_spec "$good_spec"
mv "$B/config.json" "$C/real-config.json" && ln -s ../real-config.json "$B/config.json"
write_state ctr1 "$B" 999999
hook "$C/state.json" --config "$CONF" createRuntime
check "config.json rewrite fails: exit status non-zero" nonzero "exited 0"
expect_one_line "config.json rewrite fails: one line naming config.json" "config.json"
expect_eq "config.json rewrite fails: cgroup cpus/mems put back" "0-31 0-1" \
        "$(cat "$CG/cpuset/ctr1/cpuset.cpus") $(cat "$CG/cpuset/ctr1/cpuset.mems")"
spec_and_symlink_untouched() {
        cmp -s "$C/config.orig.json" "$C/real-config.json" && [ -L "$B/config.json" ] &&
                [ "$(cd "$B" && find . -mindepth 1)" = "./config.json" ] || why "$(cd "$B" && ls -la)"
}
check "config.json rewrite fails: the spec and its symlink untouched, no temp file" spec_and_symlink_untouched
expect_eq "config.json rewrite fails: no record" "0" "$(n_records)"

# cpuset.cpus cannot be written (a symlink: opened O_NOFOLLOW) after mems was
new_case
write_spec "$good_spec"
echo 0-31 >"$C/real-cpus" && rm "$CG/cpuset/ctr1/cpuset.cpus" && ln -s "$C/real-cpus" "$CG/cpuset/ctr1/cpuset.cpus"
write_state ctr1 "$B" 999999
hook "$C/state.json" --config "$CONF" createRuntime
check "cpuset.cpus write fails: exit status non-zero" nonzero "exited 0"
expect_one_line "cpuset.cpus write fails: one line naming the file" "cpuset.cpus" "$CG/cpuset/ctr1"
expect_eq "cpuset.cpus write fails: cpus and mems as before" "0-31 0-1" \
        "$(cat "$CG/cpuset/ctr1/cpuset.cpus") $(cat "$CG/cpuset/ctr1/cpuset.mems")"
expect_eq "cpuset.cpus write fails: memory_migrate as before" "0" "$(cat "$CG/cpuset/ctr1/cpuset.memory_migrate")"
spec_kept_no_record() { cmp -s "$C/config.orig.json" "$B/config.json" && [ "$(n_records)" = 0 ] || why "records: $(n_records)"; }
check "cpuset.cpus write fails: config.json byte-identical, no record" spec_kept_no_record
