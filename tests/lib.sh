# SPDX-License-Identifier: MIT
# Shared helpers for the bash integration and e2e tests: paths to the built
# binaries and fixtures, a private temporary folder removed on exit, and the checks.
#
# Each check prints one line, in the one dialect tests/run.sh counts:
#   ok - NAME            not ok - NAME: WHY            skip - NAME: WHY
# (lines starting "# " are comments). A check is named where it runs:
#   check NAME CMD [ARG...]              ok when CMD succeeds; else WHY is what CMD
#                                        printed (a predicate ends in `|| why "..."`),
#                                        or its exit status
#   expect_eq NAME EXPECTED ACTUAL
#   expect_contains NAME NEEDLE HAYSTACK
#   expect_status NAME EXPECTED-EXIT-STATUS ACTUAL
#   skip NAME WHY                        a check that cannot run here
#   skip_suite WHY                       the whole script cannot run here (no root, no
#                                        runtime): one "skip - SUITE: WHY" line, then exit
#   pass NAME, fail NAME WHY             the bare lines, for a helper that judges itself
#                                        or a failure with no passing twin

NP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The binaries under test: build/, or the build folder $NUMAPIN_BUILD_DIR names (such as
# make test-asan's build/asan), relative to the tree's root.
NP_BUILD=${NUMAPIN_BUILD_DIR:-build}
[[ $NP_BUILD == /* ]] || NP_BUILD=$NP_ROOT/$NP_BUILD
NP_HOOK=$NP_BUILD/numapin-hook
NP_CTL=$NP_BUILD/numapinctl
NP_NRI=$NP_BUILD/numapin-nri
NP_EXPORTER=$NP_BUILD/numapin-exporter
NP_HARNESS=$NP_BUILD/tests/nri-harness
# The committed sysfs fixtures, and where make generates the large ones.
NP_FIXTURES=$NP_ROOT/tests/fixtures/sysfs
NP_FIXTURES_GEN=${NUMAPIN_FIXTURES_GEN:-$NP_ROOT/build/fixtures/sysfs}
NP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/numapin-test.XXXXXX")
np_cleanup_hooks=()
np_cleanup() {
        local h
        for h in "${np_cleanup_hooks[@]}"; do eval "$h" >/dev/null 2>&1 || true; done
        rm -rf "$NP_TMP"
}
trap np_cleanup EXIT
# Run `cmd` when the script exits (before the temporary folder goes).
at_exit() { np_cleanup_hooks+=("$1"); }

# np_fixture NAME: prints the path of sysfs fixture NAME, committed or generated. When
# neither exists it reports a failed test (on stderr, which tests/run.sh counts too)
# saying how to make it, prints the generated path anyway, and returns 1.
np_fixture() {
        if [ -d "$NP_FIXTURES/$1" ]; then
                echo "$NP_FIXTURES/$1"
        elif [ -d "$NP_FIXTURES_GEN/$1" ]; then
                echo "$NP_FIXTURES_GEN/$1"
        else
                echo "not ok - fixture $1: not in $NP_FIXTURES nor $NP_FIXTURES_GEN; run make build/fixtures/sysfs/$1" >&2
                echo "$NP_FIXTURES_GEN/$1"
                return 1
        fi
}

NP_SUITE=$(basename "$(dirname "$0")")/$(basename "$0" .sh) # e.g. e2e/runc

# A reason is kept on its line: a newline in it would start a line run.sh might count.
pass() { echo "ok - $1"; }
fail() { local reason=${2-}; reason=${reason//$'\n'/ }; echo "not ok - $1${reason:+: $reason}"; }
skip() { local reason=${2-}; reason=${reason//$'\n'/ }; echo "skip - $1${reason:+: $reason}"; }

# check NAME CMD [ARG...]: runs CMD (in a subshell: a predicate only looks); ok when it
# exits 0, else not ok with what it printed on stdout, or with its exit status. CMD sees
# the caller's variables: check's own are prefixed so as not to hide a $status or $name.
check() {
        local np_check_name=$1 np_check_why np_check_status
        shift
        np_check_why=$("$@")
        np_check_status=$?
        if [ "$np_check_status" -eq 0 ]; then
                pass "$np_check_name"
        else
                fail "$np_check_name" "${np_check_why:-exit status $np_check_status}"
        fi
}
# why TEXT...: the reason a predicate gives check: prints TEXT and fails, as in
#   placed() { [ "$status" -eq 0 ] && [ -n "$held" ] || why "status $status, record '$held'"; }
why() { printf '%s\n' "$*"; return 1; }

# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
        if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}
# expect_contains NAME NEEDLE HAYSTACK
expect_contains() {
        if [[ $3 == *"$2"* ]]; then pass "$1"; else fail "$1" "expected to find '$2' in '$(head -c 400 <<<"$3")'"; fi
}
# expect_status NAME EXPECTED-EXIT-STATUS ACTUAL
expect_status() {
        if [ "$2" -eq "$3" ]; then pass "$1"; else fail "$1" "exit status $3, expected $2"; fi
}
is_root() { [ "$(id -u)" -eq 0 ]; }

# free_port: a loopback TCP port the kernel has just found free (a random pick may be
# an ephemeral port another test's connection holds)
free_port() {
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# skip_suite WHY: the script cannot run here (missing root, runtime or build): one
# "skip - SUITE: WHY" line, and the script ends.
skip_suite() {
        skip "$NP_SUITE" "$1"
        exit 0
}
