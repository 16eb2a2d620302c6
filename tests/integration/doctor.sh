# SPDX-License-Identifier: MIT
# numapinctl doctor without root: a temporary state dir with the NRI plugin's status file
# (a live pid, a dead one, a malformed file), fake kubelet roots (static with entries, none,
# malformed, missing), ledger records made with `numapinctl plan --commit` on the 2socket-smt
# fixture and pointed at fake cgroups (matching, changed behind numapin's back, gone), and
# cgroup roots with and without cpuset: the text lines, the JSON fields and the exit status.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT
command -v jq >/dev/null || skip_suite "needs jq"
S2=$NP_FIXTURES/2socket-smt
SD=$NP_TMP/state
CG=$NP_TMP/cgroup # a v1 cpuset hierarchy of regular files
mkdir -p "$CG/cpuset"
echo 0-31 >"$CG/cpuset/cpuset.cpus"
mkdir -p "$NP_TMP/no-cpuset" "$NP_TMP/bpf"

# write_config KUBELET-ROOT: the config doctor reads; the monitor's pin dir is not on bpffs
write_config() {
        jq -n --arg k "$1" --arg p "$NP_TMP/bpf/numapin" '{kubelet_root_dir: $k, monitor_pin_dir: $p}' >"$NP_TMP/config.json"
}
write_config "$NP_TMP/kubelet-none"

# doctor [ARGS...]: runs numapinctl doctor on the fixture roots; sets $status, $out, $err
doctor() {
        "$NP_CTL" --config "$NP_TMP/config.json" --state-dir "$SD" --sysfs-root "$S2" --cgroup-root "${cgroup_root:-$CG}" \
                doctor "$@" >"$NP_TMP/out" 2>"$NP_TMP/err"
        status=$?
        out=$(cat "$NP_TMP/out") err=$(cat "$NP_TMP/err")
}
# line NAME: the text line(s) of check NAME
line() { awk -v name="$1" '$2 == name' <<<"$out"; }
# status_of NAME: the status word of check NAME's first line
status_of() { line "$1" | awk 'NR == 1 { print $1 }'; }
# json_check NAME FIELD: .checks[] of NAME, its FIELD, one per line
json_check() { jq -r --arg n "$1" --arg f "$2" '.checks[] | select(.name == $n) | .[$f]' <<<"$out"; }

mkdir -p "$NP_TMP/kubelet-none"
echo '{"policyName":"none","defaultCpuSet":"","checksum":1353318690}' >"$NP_TMP/kubelet-none/cpu_manager_state"
echo '{"policyName":"None","checksum":1}' >"$NP_TMP/kubelet-none/memory_manager_state"

# --- an empty node ---------------------------------------------------------------------------
doctor
expect_status "empty node: exit 0" 0 "$status"
every_line_formed() {
        local bad
        bad=$(grep -vE '^(ok|warning|error) +[a-z]+ +[^ ]' <<<"$out")
        [ -z "$bad" ] || why "lines not 'STATUS  NAME  message': $bad"
}
check "empty node: every line is 'ok|warning|error  NAME  message'" every_line_formed
expect_eq "empty node: the checks in order" "nri hook kubelet cgroup bpf pmu ledger" "$(awk '{ print $2 }' <<<"$out" | paste -sd ' ')"
expect_eq "empty node: nri not in use" "ok       nri      not in use (no $SD/nri-status.json)" "$(line nri)"
expect_contains "empty node: kubelet's CPU manager policy none is ok" "ok       kubelet  kubelet's CPU manager policy is none; Memory manager policy None" "$(line kubelet)"
expect_eq "empty node: cgroup v1 cpuset found" "ok       cgroup   cgroup v1 cpuset hierarchy at $CG/cpuset" "$(line cgroup)"
expect_contains "empty node: bpf says where bpffs is missing and what the loader does" "$NP_TMP/bpf is not bpffs: the monitor's loader mounts bpffs there" "$(line bpf)"
expect_eq "empty node: bpf is a warning, not an error" "warning" "$(status_of bpf)"
expect_contains "empty node: the monitor is not loaded yet" "the monitor is not loaded yet ($NP_TMP/bpf/numapin/" "$(line bpf)"
expect_eq "empty node: pmu unknown until the monitor is loaded" "ok       pmu      unknown until the monitor is loaded" "$(line pmu)"
expect_eq "empty node: ledger empty" "ok       ledger   no containers placed (state dir $SD)" "$(line ledger)"
no_state_dir() { [ ! -e "$SD" ] || why "$SD was created: $(ls -A "$SD")"; }
check "doctor writes nothing: no state dir is created" no_state_dir

doctor --json
expect_status "empty node --json: exit 0" 0 "$status"
expect_eq "empty node --json: nri is null, kubelet none/None, no CPUs assigned" "null none None " \
        "$(jq -r '"\(.nri) \(.kubelet.cpu_manager_policy) \(.kubelet.memory_manager_policy) \(.kubelet.assigned_cpus)"' <<<"$out")"
expect_eq "empty node --json: seven checks with name, status and message" "7 true" \
        "$(jq -r '"\(.checks | length) \(all(.checks[]; (.name | type) == "string" and (.status | test("^(ok|warning|error)$")) and (.message | length) > 0))"' <<<"$out")"

# --- the NRI plugin's status -------------------------------------------------------------------
mkdir -p "$SD"
# nri_status PID: the file as numapin-nri writes it
nri_status() {
        jq -n --argjson pid "$1" '{runtime_name: "containerd", runtime_version: "2.1.9+unknown", nri_version: "v0.12.0",
                configured_at: 1767225600, pid: $pid, updates_overridden: 3, placements_restored: 1,
                containers_moved: 2, kubelet_cpu_policy: "static"}' >"$SD/nri-status.json"
}
nri_status $$
doctor
expect_status "nri running: exit 0" 0 "$status"
expect_contains "nri running: runtime, NRI version and pid" "ok       nri      numapin-nri (pid $$) talks to containerd 2.1.9+unknown over NRI v0.12.0 since " "$(line nri)"
expect_contains "nri running: the counters" "3 runtime cpuset updates answered with numapin's cpuset, 1 placement restored and 2 containers moved off exclusive CPUs at Synchronize" "$(line nri)"
doctor --json
expect_eq "nri running --json: .nri fields" "containerd 2.1.9+unknown v0.12.0 1767225600 $$ true 3 1 2" \
        "$(jq -r '.nri | "\(.runtime_name) \(.runtime_version) \(.nri_version) \(.configured_at) \(.pid) \(.running) \(.updates_overridden) \(.placements_restored) \(.containers_moved)"' <<<"$out")"

sh -c 'exit 0' &
dead=$!
wait "$dead"
nri_status "$dead"
doctor
expect_status "nri pid dead: exit 0 (a warning)" 0 "$status"
expect_contains "nri pid dead: warning that numapin-nri is not running" "warning  nri      numapin-nri is not running (pid $dead, configured by containerd 2.1.9+unknown over NRI v0.12.0 at " "$(line nri)"
expect_contains "nri pid dead: says what to do" "start it (systemctl start numapin-nri" "$(line nri)"
doctor --json
expect_eq "nri pid dead --json: running false, counters kept" "false 3 1" \
        "$(jq -r '.nri | "\(.running) \(.updates_overridden) \(.placements_restored)"' <<<"$out")"

jq 'del(.pid) | .nri_version = ""' "$SD/nri-status.json" >"$NP_TMP/s" && mv "$NP_TMP/s" "$SD/nri-status.json"
doctor
expect_contains "nri status without pid: warning naming the file and the field" \
        "warning  nri      NRI plugin status $SD/nri-status.json: field 'pid' is missing" "$(line nri)"
doctor --json
expect_eq "nri status without pid --json: .nri is null" "null" "$(jq -c .nri <<<"$out")"
rm "$SD/nri-status.json"
mkfifo "$SD/nri-status.json"
doctor
expect_contains "nri status a FIFO: refused without blocking" "nri-status.json: not a regular file" "$(line nri)"
rm "$SD/nri-status.json"

# --- kubelet -----------------------------------------------------------------------------------
K=$NP_TMP/kubelet-static
mkdir -p "$K"
echo '{"policyName":"static","defaultCpuSet":"0,3-15,17-31","entries":{"9b1c7e5a-0001":{"app":"1-2"},"9b1c7e5a-0002":{"db":"16"}},"checksum":3124529384}' >"$K/cpu_manager_state"
echo '{"policyName":"Static","machineState":{},"entries":{},"checksum":7}' >"$K/memory_manager_state"
write_config "$K"
doctor
expect_status "kubelet static: exit 0 (a warning)" 0 "$status"
expect_eq "kubelet static: a warning" "warning" "$(status_of kubelet)"
expect_contains "kubelet static: the pool and the assigned CPUs" "kubelet's CPU manager policy is static (shared pool 0,3-15,17-31; CPUs 1-2,16 assigned to 2 containers)" "$(line kubelet)"
expect_contains "kubelet static: what numapin does about it" "numapin keeps off the CPUs kubelet assigned and leaves the cpusets of kubelet's containers to kubelet" "$(line kubelet)"
expect_contains "kubelet Memory manager Static: what to do" "kubelet's Memory manager policy is Static: it sets cpuset.mems of Guaranteed pods itself" "$(line kubelet)"
doctor --json
expect_eq "kubelet static --json: policies and CPUs" "static Static 1-2,16 0,3-15,17-31" \
        "$(jq -r '.kubelet | "\(.cpu_manager_policy) \(.memory_manager_policy) \(.assigned_cpus) \(.default_cpus)"' <<<"$out")"

mkdir -p "$NP_TMP/kubelet-bad"
echo '{"policyName":"static","entries":{"9b1c7e5a-0001":{"app":"1-99999"}}}' >"$NP_TMP/kubelet-bad/cpu_manager_state"
write_config "$NP_TMP/kubelet-bad"
doctor
expect_contains "kubelet state out of range: warning naming the file and the field" \
        "warning  kubelet  kubelet $NP_TMP/kubelet-bad/cpu_manager_state: field 'entries.9b1c7e5a-0001.app'" "$(line kubelet)"
doctor --json
expect_eq "kubelet state out of range --json: policy unknown" "unknown" "$(jq -r .kubelet.cpu_manager_policy <<<"$out")"

write_config "$NP_TMP/no-kubelet"
doctor
expect_contains "no kubelet root: ok, says where it looked" "ok       kubelet  no CPU manager state in $NP_TMP/no-kubelet" "$(line kubelet)"
doctor --json
expect_eq "no kubelet root --json: policies unknown" "unknown unknown" \
        "$(jq -r '.kubelet | "\(.cpu_manager_policy) \(.memory_manager_policy)"' <<<"$out")"

# --- the ledger against the live cpusets ---------------------------------------------------------
write_config "$NP_TMP/kubelet-none"
# plan ID ARGS...: a record made by numapinctl plan --commit
plan() {
        "$NP_CTL" --config "$NP_TMP/config.json" --state-dir "$SD" --sysfs-root "$S2" --cgroup-root "$CG" \
                plan --commit --id "$@" >/dev/null 2>"$NP_TMP/err" || fail "plan --commit $1" "$(cat "$NP_TMP/err")"
}
plan matching --annotation cpus.numapin.io/pod=2
plan changed --annotation nodes.numapin.io/pod=1
plan gone --annotation nodes.numapin.io/pod=0
plan planned --annotation nodes.numapin.io/pod=1
# as_placed ID SOURCE CGROUP: the record as the hook or the plugin leaves it, its cgroup CGROUP
as_placed() {
        jq --arg s "$2" --arg c "$3" '.source = $s | .cgroup = $c | .pid = 0' "$SD/containers/$1.json" >"$NP_TMP/r" &&
                mv "$NP_TMP/r" "$SD/containers/$1.json"
}
record_cpus() { jq -r .cpus "$SD/containers/$1.json"; }
mkdir -p "$CG/cpuset/matching" "$CG/cpuset/changed"
record_cpus matching >"$CG/cpuset/matching/cpuset.cpus"
echo 0-31 >"$CG/cpuset/changed/cpuset.cpus" # set back to everything by someone else
as_placed matching nri "$CG/cpuset/matching"
as_placed changed hook "$CG/cpuset/changed"
as_placed gone nri "$CG/cpuset/gone"
changed_cpus=$(record_cpus changed)

doctor
expect_status "ledger with warnings: exit 0" 0 "$status"
expect_eq "ledger: a warning per record in trouble, none for the one that matches" "2" "$(line ledger | grep -c '^warning')"
expect_contains "ledger: the changed cpuset named with both values and what to do" \
        "warning  ledger   container 'changed' (hook): $CG/cpuset/changed/cpuset.cpus is 0-31 but its record says $changed_cpus: something else (kubelet's CPU manager, the runtime, a person) changed it; write the record's CPUs back into it, or recreate the container" \
        "$(line ledger)"
expect_contains "ledger: the gone cgroup is stale" \
        "warning  ledger   container 'gone' (nri): its cgroup $CG/cpuset/gone is gone: stale, reclaimed by the next placement or release once 10 s have passed since the last look, or at once by one that needs its CPUs" "$(line ledger)"
not_named() { ! grep -q "'matching'" <<<"$(line ledger)" || why "$(line ledger)"; }
check "ledger: the record whose cgroup matches is not named" not_named
expect_contains "nri: ledger holds nri records but no status file: warning" \
        "warning  nri      the ledger holds 2 containers placed by numapin-nri, but there is no $SD/nri-status.json" "$(line nri)"
expect_contains "hook: in use, informational" "ok       hook     in use: 1 container placed by numapin-hook" "$(line hook)"
doctor --json
expect_eq "ledger --json: two ledger warnings" "warning warning" "$(json_check ledger status | paste -sd ' ')"

echo "$changed_cpus" >"$CG/cpuset/changed/cpuset.cpus"
mkdir -p "$CG/cpuset/gone"
record_cpus gone >"$CG/cpuset/gone/cpuset.cpus"
doctor
expect_eq "ledger all matching: one ok line with the counts" \
        "ok       ledger   4 records (1 hook, 2 nri, 1 plan); every cgroup's cpuset.cpus matches its record; 1 record of numapinctl plan --commit holds CPUs until released (numapinctl release ID)" \
        "$(line ledger)"

# numapin's exclusive CPUs against kubelet's assignments
exclusive=$(jq -r .exclusive_cpus "$SD/containers/matching.json")
mkdir -p "$NP_TMP/kubelet-overlap"
jq -n --arg c "${exclusive%%,*}" '{policyName: "static", defaultCpuSet: "30-31", entries: {"pod-1": {app: $c}}}' \
        >"$NP_TMP/kubelet-overlap/cpu_manager_state"
write_config "$NP_TMP/kubelet-overlap"
doctor
expect_contains "kubelet static assigning a CPU numapin holds exclusively: named" \
        "CPUs ${exclusive%%,*} are held exclusively by numapin and assigned by kubelet too" "$(line kubelet)"
write_config "$NP_TMP/kubelet-none"

# --- cgroup without cpuset: an error ----------------------------------------------------------------
cgroup_root=$NP_TMP/no-cpuset doctor
expect_status "no cpuset controller: exit 1" 1 "$status"
expect_contains "no cpuset controller: error line saying what to do" \
        "error    cgroup   cgroup root $NP_TMP/no-cpuset: no cpuset controller (neither cgroup v2 nor a v1 cpuset hierarchy): numapin cannot apply a placement; enable cpuset" \
        "$(line cgroup)"
cgroup_root=$NP_TMP/no-cpuset doctor --json
expect_status "no cpuset controller --json: exit 1" 1 "$status"
expect_eq "no cpuset controller --json: the cgroup check is an error" "error" "$(json_check cgroup status)"

mkdir -p "$NP_TMP/v2"
echo "cpuset cpu io memory pids" >"$NP_TMP/v2/cgroup.controllers"
cgroup_root=$NP_TMP/v2 doctor
expect_eq "cgroup v2 with cpuset: ok" "ok       cgroup   cgroup v2 with the cpuset controller at $NP_TMP/v2" "$(line cgroup)"

# --- a broken ledger record is an error: placements stop ----------------------------------------------
echo '{"id": "broken"' >"$SD/containers/broken.json"
doctor
expect_status "unreadable ledger record: exit 1" 1 "$status"
expect_contains "unreadable ledger record: error naming the file" "error    ledger   ledger record $SD/containers/broken.json" "$(line ledger)"
rm "$SD/containers/broken.json"

doctor extra
expect_status "doctor with an extra argument: refused" 2 "$status"
expect_contains "doctor with an extra argument: one line naming it" "unexpected argument 'extra'" "$err"
