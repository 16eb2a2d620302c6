#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Exclusive CPUs are used by one container only: a shared container placed
# earlier is moved off CPUs that a later container takes exclusively, and gets
# them back when that container leaves (hook poststop or numapinctl release).
# Fixture topology (2socket-smt), fake v1 cgroup tree, the real hook binary.
source "$(dirname "$0")/../lib.sh"

SYSFS=$NP_FIXTURES/2socket-smt
CG=$NP_TMP/cg
STATE=$NP_TMP/state
mkdir -p "$CG/cpuset"
echo "0-31" > "$CG/cpuset/cpuset.cpus"

# make_container ID ANNOTATIONS-JSON: a bundle and a fake cgroup; prints the state JSON
make_container() {
        local id=$1 annotations=$2
        mkdir -p "$NP_TMP/$id" "$CG/cpuset/$id"
        for f in cpuset.cpus cpuset.mems cpuset.memory_migrate; do : > "$CG/cpuset/$id/$f"; done
        jq -n --argjson a "$annotations" --arg id "$id" \
                '{ociVersion: "1.0.2-dev", annotations: $a, linux: {cgroupsPath: ("/" + $id)}}' > "$NP_TMP/$id/config.json"
        jq -n --argjson a "$annotations" --arg id "$id" --arg bundle "$NP_TMP/$id" \
                '{ociVersion: "1.0.2-dev", id: $id, status: "creating", pid: 999999, bundle: $bundle, annotations: $a}' \
                > "$NP_TMP/$id.state"
}
hook() { # STAGE ID
        "$NP_HOOK" --config "$NP_TMP/config.json" --state-dir "$STATE" --sysfs-root "$SYSFS" --cgroup-root "$CG" "$1" \
                < "$NP_TMP/$2.state"
}
record_cpus() { "$NP_CTL" --config "$NP_TMP/config.json" --state-dir "$STATE" list --json | jq -r --arg id "$1" '.containers[] | select(.id == $id) | .cpus'; }
echo '{}' > "$NP_TMP/config.json"

make_container shared '{"policy.numapin.io/pod":"bind","nodes.numapin.io/pod":"0"}'
make_container excl '{"cpus.numapin.io/pod":"2","nodes.numapin.io/pod":"0"}'
hook createRuntime shared
expect_eq "shared container on node 0 gets all of node 0" "0-7,16-23" "$(cat "$CG/cpuset/shared/cpuset.cpus")"

hook createRuntime excl
excl=$(cat "$CG/cpuset/excl/cpuset.cpus")
expect_eq "exclusive container gets one whole core" "0,16" "$excl"
expect_eq "shared container's cgroup no longer holds the exclusive CPUs" "1-7,17-23" \
        "$(cat "$CG/cpuset/shared/cpuset.cpus")"
expect_eq "shared container's record follows its cgroup" "1-7,17-23" "$(record_cpus shared)"

hook poststop excl
expect_eq "after the exclusive container's poststop, the shared container has node 0 again" "0-7,16-23" \
        "$(cat "$CG/cpuset/shared/cpuset.cpus")"
expect_eq "and its record says so" "0-7,16-23" "$(record_cpus shared)"

out=$("$NP_CTL" --config "$NP_TMP/config.json" --state-dir "$STATE" --sysfs-root "$SYSFS" plan --commit --id held \
        --annotation cpus.numapin.io/pod=4 --annotation nodes.numapin.io/pod=0 2>&1)
expect_eq "plan --commit of 4 exclusive CPUs on node 0 moves the shared container off them" "2-7,18-23" \
        "$(cat "$CG/cpuset/shared/cpuset.cpus")"
"$NP_CTL" --config "$NP_TMP/config.json" --state-dir "$STATE" --sysfs-root "$SYSFS" release held >/dev/null
expect_eq "numapinctl release gives them back" "0-7,16-23" "$(cat "$CG/cpuset/shared/cpuset.cpus")"

rm -rf "${CG:?}/cpuset/shared"
hook createRuntime excl
expect_eq "a shared container whose cgroup is gone does not stop placement" "0,16" \
        "$(cat "$CG/cpuset/excl/cpuset.cpus")"
