# SPDX-License-Identifier: MIT
# numapinctl against the fixture sysfs trees: topology (text and JSON), plan (text and
# JSON), plan --commit / list / release, and bad option values refused with one line.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT
CONF=$NP_TMP/numapin-empty.json
echo '{}' >"$CONF"
SD=$NP_TMP/state

# ctl ARGS...: runs numapinctl; sets $status, $out, $err
ctl() {
        "$NP_CTL" --config "$CONF" "$@" >"$NP_TMP/out" 2>"$NP_TMP/err"
        status=$?
        out=$(cat "$NP_TMP/out") err=$(cat "$NP_TMP/err")
}

# expect_refused NAME EXIT-STATUS NEEDLE...: exit status as given, stderr one numapinctl line with the needles
expect_refused() {
        local name=$1 want=$2 needle missing=""
        shift 2
        for needle in "$@"; do [[ $err == *"$needle"* ]] || missing+="'$needle' "; done
        if [ "$status" -ne "$want" ]; then
                fail "$name" "exit status $status, expected $want (stderr: $err)"
        elif [ "$(wc -l <"$NP_TMP/err")" -ne 1 ] || [[ $err != numapinctl:* ]]; then
                fail "$name" "expected one numapinctl line on stderr, got: $(head -c 300 <<<"$err")"
        elif [ -n "$missing" ]; then
                fail "$name" "missing $missing in '$err'"
        else
                pass "$name"
        fi
}

# --- topology --json on every fixture -----------------------------------------------------
# node ids and CPU lists as tests/fixtures/gen-all.sh generates them
declare -A want_nodes=(
        [host-1node-2cpu]="0:0-1"
        [2socket-smt]="0:0-7,16-23 1:8-15,24-31"
        [4node-distance]="0:0-3 1:4-7 2:8-11 3:12-15"
        [8node-nps4]="0:0-7,64-71 1:8-15,72-79 2:16-23,80-87 3:24-31,88-95 4:32-39,96-103 5:40-47,104-111 6:48-55,112-119 7:56-63,120-127"
        [memory-only-node]="0:0-3 1:4-7 2:"
        [sparse-nodes]="0:0-3 2:4-7"
        [offline-cpus]="0:0-2,4-7 1:8-11,13-15"
)
large=""
for n in $(seq 0 31); do large+="$n:$((16 * n))-$((16 * n + 15)),$((512 + 16 * n))-$((512 + 16 * n + 15)) "; done
want_nodes[large-32node]=${large% }
# online CPUs, isolated CPUs, CPU count, core count
declare -A want_cpus=(
        [host-1node-2cpu]="0-1||2|2"
        [2socket-smt]="0-31||32|16"
        [4node-distance]="0-15||16|16"
        [8node-nps4]="0-127||128|64"
        [memory-only-node]="0-7||8|8"
        [sparse-nodes]="0-7||8|8"
        [offline-cpus]="0-2,4-11,13-15|6-7|14|14"
        [large-32node]="0-1023||1024|512"
)
# distances by the rule of gen-all.sh: 10 local, 12 same package, 32 other package
rule_distances() { # NODES NODES-PER-PACKAGE
        jq -cn --argjson n "$1" --argjson p "$2" \
                '[range($n) as $a | [range($n) as $b | if $a == $b then 10 elif ($a / $p | floor) == ($b / $p | floor) then 12 else 32 end]]'
}
declare -A want_distances=(
        [host-1node-2cpu]='[[10]]'
        [2socket-smt]='[[10,21],[21,10]]'
        [4node-distance]='[[10,12,20,22],[12,10,22,20],[20,22,10,12],[22,20,12,10]]'
        [8node-nps4]=$(rule_distances 8 4)
        [memory-only-node]='[[10,21,14],[21,10,24],[14,24,10]]'
        [sparse-nodes]='[[10,20],[20,10]]'
        [offline-cpus]='[[10,21],[21,10]]'
        [large-32node]=$(rule_distances 32 8)
)

for machine in host-1node-2cpu 2socket-smt 4node-distance 8node-nps4 memory-only-node sparse-nodes offline-cpus large-32node; do
        ctl --sysfs-root "$NP_FIXTURES/$machine" topology --json
        if [ "$status" -ne 0 ] || ! jq -e . >/dev/null 2>&1 <<<"$out"; then
                fail "topology --json $machine: valid JSON" "status $status: $err"
                continue
        fi
        nodes=${want_nodes[$machine]}
        read -ra node_list <<<"$nodes"
        expect_eq "topology --json $machine: node count" "${#node_list[@]}" "$(jq '.nodes | length' <<<"$out")"
        expect_eq "topology --json $machine: node ids and cpus strings" "$nodes" \
                "$(jq -r '[.nodes[] | "\(.id):\(.cpus)"] | join(" ")' <<<"$out")"
        expect_eq "topology --json $machine: online, isolated, CPU and core counts" "${want_cpus[$machine]}" \
                "$(jq -r '"\(.online_cpus)|\(.isolated_cpus)|\(.cpus | length)|\(.cores)"' <<<"$out")"
        expect_eq "topology --json $machine: distances" "${want_distances[$machine]}" "$(jq -c '[.nodes[].distances]' <<<"$out")"
done
ctl --sysfs-root "$NP_FIXTURES/memory-only-node" topology --json
expect_eq "topology --json memory-only-node: node 2 is memory-only with 64 GiB" "false false true 67108864" \
        "$(jq -r '[.nodes[].memory_only] + [.nodes[2].memory_total_kb] | map(tostring) | join(" ")' <<<"$out")"
ctl --sysfs-root "$NP_FIXTURES/2socket-smt" topology --json
expect_eq "topology --json 2socket-smt: CPU 17 is node 0, package 0, core of CPU 1" "0 0 true" \
        "$(jq -r '(.cpus[] | select(.id == 17)) as $c | (.cpus[] | select(.id == 1)) as $s | "\($c.node) \($c.package) \($c.core == $s.core)"' <<<"$out")"

ctl --sysfs-root "$NP_FIXTURES/2socket-smt" topology
expect_eq "topology text 2socket-smt: summary line" "2 NUMA nodes, 32 online CPUs in 16 cores, isolated CPUs: none" "$(head -1 <<<"$out")"
expect_eq "topology text 2socket-smt: node rows" "0 0-7,16-23 10 21|1 8-15,24-31 21 10" \
        "$(awk 'NR > 2 { printf "%s%s %s %s %s", (NR > 3 ? "|" : ""), $1, $2, $(NF-1), $NF }' <<<"$out")"
ctl --sysfs-root "$NP_FIXTURES/offline-cpus" topology
expect_contains "topology text offline-cpus: isolated CPUs shown" "isolated CPUs: 6-7" "$out"
ctl --sysfs-root "$NP_TMP/no-such-sysfs" topology
expect_refused "topology on a missing sysfs root: one line naming it" 1 "$NP_TMP/no-such-sysfs"

# --- plan ---------------------------------------------------------------------------------
S2=$NP_FIXTURES/2socket-smt
ctl --sysfs-root "$S2" --state-dir "$SD" plan --annotation policy.numapin.io/pod=bind --annotation cpus.numapin.io/pod=2
expect_status "plan text bind cpus=2: exit 0" 0 "$status"
expect_eq "plan text bind cpus=2: policy/nodes/cpus/mems lines" \
        "policy: bind|nodes: 0|cpus: 0,16 (exclusive)|mems: 0" \
        "$(grep -E '^(policy|nodes|cpus|mems):' <<<"$out" | sed 's/:  */: /' | paste -sd '|')"
expect_contains "plan text bind cpus=2: reason line" "reason:    auto: node 0 has the most free capacity" "$out"
no_state_dir() { [ ! -e "$SD" ] || why "$SD was created"; }
check "plan without --commit: creates no state dir" no_state_dir

ctl --sysfs-root "$S2" --state-dir "$SD" plan --json --annotation cpus.numapin.io/pod=2 --memory-limit 1073741824
expect_eq "plan --json cpus=2: policy, nodes, cpus, mems, exclusive_cpus, write_mems, committed" \
        "bind|0|0,16|0|0,16|true|false" \
        "$(jq -r '[.policy, .nodes, .cpus, .mems, .exclusive_cpus, .write_mems, .committed] | map(tostring) | join("|")' <<<"$out")"
expect_contains "plan --json cpus=2: reason names the choice" "exclusive CPUs 0,16" "$(jq -r .reason <<<"$out")"

ctl --sysfs-root "$S2" --state-dir "$SD" plan --json --annotation policy.numapin.io/pod=cpus-only --annotation nodes.numapin.io/pod=1
expect_eq "plan --json cpus-only nodes=1: shared CPUs of node 1, memory left alone" \
        "cpus-only|1|8-15,24-31||false" \
        "$(jq -r '[.policy, .nodes, .cpus, .exclusive_cpus, .write_mems] | map(tostring) | join("|")' <<<"$out")"
ctl --sysfs-root "$S2" --state-dir "$SD" plan --annotation policy.numapin.io/pod=cpus-only --annotation nodes.numapin.io/pod=1
expect_contains "plan text cpus-only: mems left alone" "(left alone)" "$(grep '^mems:' <<<"$out")"

ctl --sysfs-root "$S2" --state-dir "$SD" plan --json
expect_eq "plan --json without annotations: policy none, left alone" "none|false" \
        "$(jq -r '[.policy, .committed] | map(tostring) | join("|")' <<<"$out")"
expect_contains "plan --json without annotations: reason" "default policy is none" "$(jq -r .reason <<<"$out")"

ctl --sysfs-root "$S2" --state-dir "$SD" plan --json --annotation node-count.numapin.io/pod=2 --cpu-quota 400000 --cpu-period 100000
expect_eq "plan --json node-count=2: both nodes, shared" "0-1|0-31|0-1" \
        "$(jq -r '[.nodes, .cpus, .mems] | join("|")' <<<"$out")"

ctl --sysfs-root "$NP_FIXTURES/4node-distance" --state-dir "$SD" plan --json --annotation node-count.numapin.io/pod=2
expect_eq "plan --json 4node-distance node-count=2: the closest pair" "0-1" "$(jq -r .nodes <<<"$out")"
expect_contains "plan --json 4node-distance node-count=2: reason gives the distance" "total distance 12" "$(jq -r .reason <<<"$out")"

ctl --sysfs-root "$S2" --state-dir "$SD" plan --annotation nodes.numapin.io/pod=7
expect_refused "plan nodes=7: refused as the hook refuses it" 1 "nodes.numapin.io" "node 7" "(0-1)"
ctl --sysfs-root "$S2" --state-dir "$SD" plan --annotation cpus.numapin.io/pod=33
expect_refused "plan cpus=33 on 32 CPUs: refused" 1 "no node or set of nodes fits 33 exclusive CPUs"
ctl --sysfs-root "$S2" --state-dir "$SD" plan --annotation policy.numapin.io/pod=preferred
expect_refused "plan policy preferred: refused, pointing at bind" 1 "'preferred'" "bind"

# --- plan --commit, list, release --------------------------------------------------------
ctl --sysfs-root "$S2" --state-dir "$SD" plan --commit --id web-1 --annotation cpus.numapin.io/pod=2 --memory-limit 1073741824
expect_status "plan --commit web-1: exit 0" 0 "$status"
expect_contains "plan --commit web-1: says where it recorded" "recorded:  as 'web-1' in $SD" "$out"
ctl --sysfs-root "$S2" --state-dir "$SD" plan --commit --json --id db-1 --annotation cpus.numapin.io/pod=2
expect_eq "plan --commit --json db-1: other CPUs, committed" "db-1|8,24|true" \
        "$(jq -r '[.id, .cpus, .committed] | map(tostring) | join("|")' <<<"$out")"
ctl --state-dir "$SD" list --json
expect_eq "list --json: both records with id/policy/nodes/cpus/mems/source" \
        "db-1 bind 1 8,24 1 plan|web-1 bind 0 0,16 0 plan" \
        "$(jq -r '[.containers[] | "\(.id) \(.policy) \(.nodes) \(.cpus) \(.mems) \(.source)"] | join("|")' <<<"$out")"
expect_eq "list --json: the demand is recorded" "1073741824" \
        "$(jq -r '.containers[] | select(.id == "web-1") | .memory_bytes' <<<"$out")"
ctl --state-dir "$SD" list
expect_eq "list text: header and one row per record" "id policy nodes cpus mems source since|db-1 bind 1 8,24 1 plan|web-1 bind 0 0,16 0 plan" \
        "$(awk '{ print $1, $2, $3, $4, $5, $6 (NR == 1 ? " " $7 : "") }' <<<"$out" | paste -sd '|')"
ctl --sysfs-root "$S2" --state-dir "$SD" plan --json --annotation cpus.numapin.io/pod=2
expect_eq "plan after commits: skips the held CPUs" "1,17" "$(jq -r .cpus <<<"$out")"
ctl --sysfs-root "$S2" --state-dir "$SD" plan --commit --id web-1 --annotation cpus.numapin.io/pod=1
expect_refused "plan --commit with an id already recorded: refused" 1 "'web-1'" "release it first"
ctl --sysfs-root "$S2" --state-dir "$SD" plan --commit --annotation cpus.numapin.io/pod=1
expect_refused "plan --commit without --id: refused" 2 "--id"
ctl --sysfs-root "$S2" --state-dir "$SD" plan --commit --id ../x --annotation cpus.numapin.io/pod=1
expect_refused "plan --commit --id ../x: refused" 2 "--id" "A-Z a-z 0-9"

ctl --state-dir "$SD" release web-1
expect_eq "release web-1: exit 0, says so" "0 released web-1" "$status $out"
ctl --state-dir "$SD" list --json
expect_eq "release web-1: list shows db-1 only" "db-1" "$(jq -r '[.containers[].id] | join(" ")' <<<"$out")"
ctl --state-dir "$SD" release web-1
expect_refused "release web-1 again: fails naming the id" 1 "no record 'web-1'"
ctl --state-dir "$SD" release no-such-container
expect_refused "release of an unknown id: fails naming the id" 1 "no record 'no-such-container'"
ctl --state-dir "$SD" release "../etc"
expect_refused "release ../etc: refused as not a container id" 2 "container id"
ctl --state-dir "$SD" release db-1
ctl --state-dir "$SD" list
expect_eq "release db-1: list says none placed" "0 no containers placed (state dir $SD)" "$status $out"

# --- bad option values ------------------------------------------------------------------
ctl --sysfs-root "$S2" plan --cpu-quota abc --annotation cpus.numapin.io/pod=1
expect_refused "--cpu-quota abc: refused naming the option and the form" 2 "--cpu-quota" "'abc'" "integer"
ctl --sysfs-root "$S2" plan --annotation cpus.numapin.io/pod
expect_refused "--annotation without '=': refused naming the form" 2 "--annotation" "KEY=VALUE"
ctl --sysfs-root "$S2" plan --annotation =1
expect_refused "--annotation with an empty key: refused" 2 "--annotation" "KEY=VALUE"
ctl --sysfs-root "$S2" plan --memory-limit -5 --annotation cpus.numapin.io/pod=1
expect_refused "--memory-limit -5: refused" 2 "--memory-limit" "-1 for unlimited"
ctl --sysfs-root "$S2" plan --cpu-period 0 --annotation cpus.numapin.io/pod=1
expect_refused "--cpu-period 0: refused naming --cpu-period and its range" 2 "--cpu-period" "from 1 to 1000000"
ctl --sysfs-root "$S2" plan --annotation cpus.numapin.io/pod=-1
expect_refused "--annotation cpus.numapin.io/pod=-1: refused naming the key" 1 "cpus.numapin.io/pod" "integer from 0 to 8192"
ctl frobnicate
expect_refused "unknown command: refused listing the commands" 2 "'frobnicate'" "topology, plan, list, release or stats"
ctl release
expect_refused "release without an id: refused" 2 "release" "container id"
ctl --config "$NP_TMP/no-such-config.json" topology
expect_refused "--config naming a missing file: refused naming it" 1 "$NP_TMP/no-such-config.json"
