# SPDX-License-Identifier: MIT
# What numapin does not own stays as it was: numapin-hook run as a runtime would
# (fixture sysfs, a fake cgroup v1 tree) on a config.json holding what json-c would
# change (integers beyond 64 bits, a lone surrogate, a NUL in someone else's
# annotation, odd whitespace and key order): the file after the rewrite is the
# original byte for byte with only linux.resources.cpu.cpus/mems replaced or added.
# Keys of numapin's holding a NUL byte are refused, naming the key.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT
[ -x "$NP_HOOK" ] || skip_suite "build/numapin-hook is not built (make)"
SYSFS=$NP_FIXTURES/2socket-smt
CONF=$NP_TMP/numapin.json
echo '{"monitor": false}' >"$CONF"
n_case=0

# new_case: a bundle $B, a fake cgroup v1 tree $CG with the container's cgroup /ctr1,
# a state dir $SD (not created) and the OCI state $C/state.json.
new_case() {
        n_case=$((n_case + 1))
        C=$NP_TMP/case$n_case B=$C/bundle CG=$C/cgroup SD=$C/state
        mkdir -p "$B" "$CG/cpuset/ctr1"
        echo 0-31 >"$CG/cpuset/cpuset.cpus"
        echo 0-1 >"$CG/cpuset/cpuset.mems"
        echo 0-31 >"$CG/cpuset/ctr1/cpuset.cpus"
        echo 0-1 >"$CG/cpuset/ctr1/cpuset.mems"
        echo 0 >"$CG/cpuset/ctr1/cpuset.memory_migrate"
        printf '{"ociVersion": "1.0.2", "id": "ctr1", "status": "creating", "bundle": "%s"%s}\n' "$B" "${1:+, \"annotations\": $1}" \
                >"$C/state.json"
}
# write_spec TEXT: config.json exactly as given (printf %s: no escapes are read), and a copy
write_spec() {
        printf '%s' "$1" >"$B/config.json"
        cp "$B/config.json" "$C/config.orig.json"
}
hook() {
        "$NP_HOOK" --config "$CONF" --sysfs-root "$SYSFS" --cgroup-root "$CG" --state-dir "$SD" createRuntime \
                <"$C/state.json" >"$C/out" 2>"$C/err"
        status=$?
        err=$(cat "$C/err")
}
# same_bytes NAME EXPECTED-FILE: config.json equals the file, byte for byte
same_bytes() {
        if cmp -s "$2" "$B/config.json"; then
                pass "$1"
        else
                fail "$1" "$(cmp "$2" "$B/config.json" 2>&1); got $(head -c 600 "$B/config.json")"
        fi
}

# --- the rewrite keeps every byte it does not own ------------------------------------
new_case
spec='{ "ociVersion":"1.0.2" ,
	"annotations" : {"example.com/other": "a\u0000b\u0000", "example.com/lone" : "\ud800",
   "nodes.numapin.io/pod":"1",   "example.com/escaped": "\/\u00E9\"", "example.com/a": "1", "example.com/a\u0000b": "2" },
  "process":{"rlimits":[{"hard":123456789012345678901234567890,"soft":-1.50E+3}],
      "args": ["sh"]},
  "linux":{"resources":{"cpu":{"mems" :"0","shares":2,  "cpus":  "0-63"},
     "memory": {"limit": 1073741824}},"cgroupsPath":"/ctr1",
     "x-big": 340282366920938463463374607431768211456},
  "zz": 1e400 }
'
write_spec "$spec"
hook
expect_status "a config.json json-c would change: the hook places the container" 0 "$status"
cpus=$(cat "$CG/cpuset/ctr1/cpuset.cpus") mems=$(cat "$CG/cpuset/ctr1/cpuset.mems")
expect_eq "it is placed on node 1, as asked" "8-15,24-31 1" "$cpus $mems"
# the original with the two values replaced by hand: nothing else may differ
expected=${spec/'"cpus":  "0-63"'/"\"cpus\":  \"$cpus\""}
expected=${expected/'"mems" :"0"'/"\"mems\" :\"$mems\""}
printf '%s' "$expected" >"$C/expected"
same_bytes "config.json is the original byte for byte but for cpus and mems (numbers beyond 64 bits, \\ud800, \\u0000, two keys equal up to a NUL, escapes, whitespace, order)" "$C/expected"
# jq refuses the lone surrogate; Python's json takes it, as Go's does
still_json() { python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$B/config.json" 2>&1 || why "not JSON"; }
check "the rewritten config.json is still JSON" still_json

# members missing: added after the last member, indented as it; nothing else moves
new_case
spec='{
    "ociVersion": "1.0.2",
    "annotations": {"nodes.numapin.io/pod": "0", "example.com/n": "\u0000"},
    "linux": {
        "cgroupsPath": "/ctr1",
        "x-big": 18446744073709551616
    }
}
'
write_spec "$spec"
hook
expect_status "a config.json without linux.resources: placed" 0 "$status"
cpus=$(cat "$CG/cpuset/ctr1/cpuset.cpus") mems=$(cat "$CG/cpuset/ctr1/cpuset.mems")
expected=${spec/'"x-big": 18446744073709551616'/"\"x-big\": 18446744073709551616,
        \"resources\": {\"cpu\": {\"cpus\": \"$cpus\", \"mems\": \"$mems\"}}"}
printf '%s' "$expected" >"$C/expected"
same_bytes "the missing objects are inserted and every other byte is kept" "$C/expected"

# --- a NUL in a key of numapin's: refused, naming the key ------------------------------
new_case
write_spec '{"ociVersion": "1.0.2", "annotations": {"cpus.numapin.io/pod": "1", "cpus.numapin.io/pod\u0000x": "3"}, "linux": {"cgroupsPath": "/ctr1"}}'
hook
expect_status "config.json with 'cpus.numapin.io/pod\\u0000x' beside the real key: refused" 1 "$status"
expect_contains "the message names the key, the NUL quoted, and the allowed form" \
        "annotation 'cpus.numapin.io/pod\\x00x': the key holds a NUL byte; expected <field>.numapin.io/pod or <field>.numapin.io/container.<name>" "$err"
expect_eq "the message is one line" 1 "$(wc -l <"$C/err")"
same_bytes "config.json is left as it was" "$C/config.orig.json"
expect_eq "the cgroup is left as it was" "0-31" "$(cat "$CG/cpuset/ctr1/cpuset.cpus")"
check "no record is kept" bash -c "! \"$NP_CTL\" --config \"$CONF\" --state-dir \"$SD\" list --json 2>/dev/null | grep -q ctr1"

new_case '{"nodes.numapin.io/pod\u0000": "0", "io.kubernetes.cri.container-name": "app"}'
write_spec '{"ociVersion": "1.0.2", "linux": {"cgroupsPath": "/ctr1"}}'
hook
expect_status "the same in the state's annotations on stdin: refused" 1 "$status"
expect_contains "naming the key" "annotation 'nodes.numapin.io/pod\\x00': the key holds a NUL byte" "$err"

new_case
write_spec '{"ociVersion": "1.0.2", "annotations": {"policy.numapin.io/pod": "bind\ud800"}, "linux": {"cgroupsPath": "/ctr1"}}'
hook
expect_status "a lone surrogate in numapin's value: refused" 1 "$status"
expect_contains "naming the key and the form" \
        "annotation 'policy.numapin.io/pod': the value is not valid UTF-8; expected UTF-8 text without NUL bytes" "$err"

# --- someone else's annotations are carried, whatever they hold --------------------------
long_key=example.com/$(printf 'k%.0s' {1..400})
new_case "{\"example.com/other\": \"a\\u0000b\", \"$long_key\": \"\\udfff\", \"cpus.numapin.io\\u0000/pod\": \"9\", \"nodes.numapin.io/pod\": \"0\"}"
write_spec '{"ociVersion": "1.0.2", "linux": {"cgroupsPath": "/ctr1"}}'
hook
expect_status "foreign keys with NUL, a lone surrogate, 412 bytes, or a NUL before the '/': placed" 0 "$status"
expect_eq "on the node asked for" "0-7,16-23" "$(cat "$CG/cpuset/ctr1/cpuset.cpus")"

# --- keys numapin edits, twice: refused, naming the path -------------------------------
new_case
write_spec '{"ociVersion": "1.0.2", "annotations": {"nodes.numapin.io/pod": "0"}, "linux": {"cgroupsPath": "/ctr1", "resources": {"cpu": {"cpus": "0-3", "cpus": "4-7"}}}}'
hook
expect_status "config.json with linux.resources.cpu.cpus twice: refused" 1 "$status"
expect_contains "the message names the key" "key 'linux.resources.cpu.cpus' appears more than once" "$err"
same_bytes "and config.json is left as it was" "$C/config.orig.json"
