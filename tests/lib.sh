# SPDX-License-Identifier: MIT
# Shared helpers for the bash integration and e2e tests: paths to the built
# binaries and fixtures, a private temporary folder removed on exit, and the
# "ok - / not ok - / skip -" report lines that tests/run.sh counts.

NP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NP_HOOK=$NP_ROOT/build/numapin-hook
NP_CTL=$NP_ROOT/build/numapinctl
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

pass() { echo "ok - $1"; }
fail() { echo "not ok - $1${2:+: $2}"; }
skip() { echo "skip - $1${2:+: $2}"; }

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
# skip_all WHY: reports every test named in the script's TESTS array as
# skipped, then ends the script (for a missing runtime or missing root).
skip_all() {
        local t
        for t in "${TESTS[@]}"; do skip "$t" "$1"; done
        exit 0
}
