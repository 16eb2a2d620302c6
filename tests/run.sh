#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs numapin's tests and prints one closing line: "tests: N passed, N failed, N skipped".
# usage: tests/run.sh [all|unit|integration|e2e|vm] [NAME-FILTER]
# Unit tests are cmocka binaries (TAP output); integration and e2e tests are bash
# scripts that report "ok - ...", "not ok - ..." and "skip - ..." lines through tests/lib.sh;
# vm runs tests/vm/run.sh, the scenarios on emulated 2- and 4-node machines.
set -u
cd "$(dirname "$0")/.."
suite=${1:-all}
filter=${2:-}
passed=0 failed=0 skipped=0
failures=()

# Counts the TAP-like lines of one test program's output; a program that fails
# without reporting a failure counts as one failure.
count() {
        local name=$1 status=$2 output=$3 p f s
        # cmocka's TAP marks a skipped test "not ok N # SKIP", others "ok N # skip"
        p=$(grep -cE '^ok ' <<<"$output" | tr -d ' ')
        s=$(grep -ciE '^(not )?ok .*# ?skip' <<<"$output" | tr -d ' ')
        f=$(grep -cE '^not ok ' <<<"$output" | tr -d ' ')
        f=$((f - $(grep -ciE '^not ok .*# ?skip' <<<"$output")))
        s=$((s + $(grep -cE '^skip ' <<<"$output")))
        p=$((p - $(grep -ciE '^ok .*# ?skip' <<<"$output")))
        if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
                f=1
                failures+=("$name: exited with status $status")
        fi
        while IFS= read -r line; do failures+=("$name: $line"); done < <(grep -E '^not ok ' <<<"$output" | grep -viE '# ?skip')
        passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

run_unit() {
        local bin out status
        for bin in build/tests/test_*; do
                [ -x "$bin" ] || continue
                [ -n "$filter" ] && [[ $bin != *"$filter"* ]] && continue
                echo "== unit: ${bin##*/}"
                out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$bin" 2>&1)
                status=$?
                printf '%s\n' "$out" | grep -E '^(not ok|ok|#)' | grep -vE '^ok ' || true
                count "${bin##*/}" "$status" "$out"
        done
}

run_scripts() {
        local dir=$1 script out status
        for script in "$dir"/*.sh; do
                [ -f "$script" ] || continue
                [ -n "$filter" ] && [[ $script != *"$filter"* ]] && continue
                echo "== ${dir#tests/}: ${script##*/}"
                out=$(bash "$script" 2>&1)
                status=$?
                printf '%s\n' "$out" | grep -E '^(not ok|skip|#)' || true
                count "${script##*/}" "$status" "$out"
        done
}

# The NUMA VM (tests/vm/run.sh): the filter is a machine (2node, 4node) or a scenario.
run_vm() {
        local args=(all) out status
        case $filter in
        "") ;;
        2node | 4node) args=("$filter") ;;
        *) args=(all "$filter") ;;
        esac
        echo "== vm: ${args[*]}"
        out=$(bash tests/vm/run.sh "${args[@]}" 2>&1)
        status=$?
        printf '%s\n' "$out" | grep -E '^(not ok|skip|#)' || true
        count "vm" "$status" "$out"
}

case $suite in
all) run_unit; run_scripts tests/integration; run_scripts tests/e2e; run_vm ;;
unit) run_unit ;;
integration) run_scripts tests/integration ;;
e2e) run_scripts tests/e2e ;;
vm) run_vm ;;
*) echo "usage: tests/run.sh [all|unit|integration|e2e|vm] [NAME-FILTER]" >&2; exit 2 ;;
esac

if [ ${#failures[@]} -gt 0 ]; then
        echo "failures:"
        printf '  %s\n' "${failures[@]}"
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ $((passed + skipped)) -gt 0 ]
