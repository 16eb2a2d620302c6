# SPDX-License-Identifier: MIT
# The OCI hook and the NRI plugin decide alike: one sequence of containers (bind,
# exclusive CPUs, explicit nodes, cpus-only, node-count, container-scoped keys, a
# stop, refusals, keys holding a NUL byte, someone else's keys of any form, pod
# scope) placed
# once by numapin-hook createRuntime/poststop and once by numapin-nri through the
# harness, then the two ledgers and the cpusets compared.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT
HARNESS=$NP_HARNESS
NRI=$NP_NRI
SYSFS=$NP_FIXTURES/2socket-smt
CONF=$NP_TMP/config.json
echo '{"monitor": false}' >"$CONF"
[ -x "$NRI" ] || skip_suite "build/numapin-nri is not built (make build/numapin-nri)"
[ -x "$HARNESS" ] || skip_suite "build/tests/nri-harness is not built (make build/tests/nri-harness)"
[ -x "$NP_HOOK" ] || skip_suite "build/numapin-hook is not built (make)"

# Each step: "create ID KEY=VALUE..." in the harness's line format (name=, pod:ANNOTATION=,
# quota=, period=, memory=) or "stop ID". Later placements depend on the earlier ones, and
# every release and exclusive placement re-pins the shared containers on both paths.
STEPS=(
        "create d1 name=app pod:policy.numapin.io/pod=bind quota=200000 period=100000 memory=1073741824"
        "create d2 name=db pod:cpus.numapin.io/pod=4 quota=400000 period=100000 memory=2147483648"
        "create d3 name=web pod:nodes.numapin.io/pod=1 memory=536870912"
        "create d4 name=batch pod:policy.numapin.io/pod=cpus-only quota=400000 period=100000"
        "create d5 name=big pod:node-count.numapin.io/pod=2 pod:cpus.numapin.io/pod=6 memory=4294967296"
        "create d6 name=side pod:policy.numapin.io/pod=bind pod:cpus.numapin.io/container.side=2 pod:nodes.numapin.io/container.side=0"
        "create d7 name=odd pod:cpus.numapin.io/pod=3 quota=300000 period=100000"
        "create d8 name=huge pod:policy.numapin.io/pod=bind memory=107374182400"
        "create d9 name=plain pod:policy.numapin.io/pod=none"
        "create d10 name=bad pod:nodes.numapin.io/pod=5"
        "stop d2"
        "create d11 name=late pod:policy.numapin.io/pod=bind quota=100000 period=100000 memory=1073741824"
        "create d12 name=again pod:cpus.numapin.io/pod=4 memory=1073741824"
        "create d13 name=pair pod:node-count.numapin.io/pod=2 pod:policy.numapin.io/pod=cpus-only"
        # releases that give exclusive CPUs back, a shared one's that gives none, a re-take
        "stop d5"
        "stop d1"
        "create d14 name=after pod:cpus.numapin.io/pod=2 pod:nodes.numapin.io/pod=0"
        "stop d7"
        "stop d14"
        # a key cut at its NUL would be cpus.numapin.io/pod: refused, naming the key, on both paths
        "create d15 name=nulkey pod:cpus.numapin.io/pod=1 pod:cpus.numapin.io/pod\\x00x=3"
        "create d16 name=nulvalue pod:nodes.numapin.io/pod=0\\x001"
        # someone else's keys are not read, whatever they hold
        "create d17 name=foreign pod:example.com/other=a\\x00b pod:cpus.numapin.io\\x00/pod=5 pod:cpus.numapin.io/pod=1"
        "create d18 name=longforeign pod:example.com/$(printf 'k%.0s' {1..330})=1 pod:policy.numapin.io/pod=bind"
        # numapin's keys malformed or too long: refused on both paths
        "create d19 name=bare pod:foo.numapin.io=1"
        "create d20 name=long pod:cpus.numapin.io/container.$(printf 'n%.0s' {1..330})=1"
        "stop d17"
        "stop d18"
        # pod scope: the pod's first container chooses its nodes, the next ones follow or are
        # refused, and the node set goes with the pod's last container
        "create p1 pod=web name=a pod:scope.numapin.io/pod=pod pod:cpus.numapin.io/container.a=2"
        "create p2 pod=web name=b pod:scope.numapin.io/pod=pod quota=100000 period=100000 memory=268435456"
        "create p3 pod=web name=huge pod:scope.numapin.io/pod=pod pod:cpus.numapin.io/container.huge=15"
        "create p4 pod=web name=solo pod:policy.numapin.io/pod=bind"
        "create p5 pod=nopod name=x pod:scope.numapin.io/pod=sideways"
        "stop p1"
        "stop p2"
        "create p6 pod=web name=c pod:scope.numapin.io/pod=pod pod:cpus.numapin.io/pod=3"
        "stop p6"
)

source "$(dirname "$0")/decisions.bash"


# pod scope as a user checks it: the pod's containers on one node set, the one that does not
# fit there refused with the pod named, never placed elsewhere
mems_of() { jq -r '.linux.resources.cpu.mems // "-"' "$NP_TMP/bundles/$1/config.json"; }
expect_eq "pod scope: the pod's second container is on its first one's node" "$(mems_of p1)" "$(mems_of p2)"
check_refused_pod() {
        [ "${hook_status[create-p3]}" -ne 0 ] && [[ ${hook_err[create-p3]} == *"pod 'default/web' (sandbox web, scope.numapin.io pod) holds nodes"* ]] ||
                why "hook exit ${hook_status[create-p3]}: ${hook_err[create-p3]}"
}
check "pod scope: a container that does not fit on the pod's nodes is refused, naming the pod" check_refused_pod
expect_eq "pod scope: a container of the pod without the key is placed on its own" 0 "${hook_status[create-p4]}"
check_bad_scope() {
        [[ ${hook_err[create-p5]} == *"scope.numapin.io/pod"*"expected container or pod"* ]] || why "${hook_err[create-p5]}"
}
check "an unknown scope is refused, naming the key and the allowed values" check_bad_scope
