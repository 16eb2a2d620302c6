#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs numapin's tests and prints one closing line: "tests: N passed, N failed, N skipped".
# usage: tests/run.sh [all|unit|integration|fuzz|e2e|vm] [NAME-FILTER]
# Every suite reports in one dialect, counted here in one way: "ok - NAME",
# "not ok - NAME: why", "skip - NAME: why" ("# " lines are comments). Integration and e2e
# tests are bash scripts that report through tests/lib.sh; vm runs tests/vm/run.sh, the
# scenarios on emulated 2- and 4-node machines; unit tests are cmocka binaries, whose TAP
# is translated into the dialect before it is counted.
set -u
cd "$(dirname "$0")/.."
suite=${1:-all}
filter=${2:-}
passed=0 failed=0 skipped=0
failures=()

# tap_to_dialect BINARY: cmocka's TAP on stdin, out in the dialect with each test named
# "BINARY: TEST". A failure's reason is the "# " lines after it (cmocka's assertion
# message); a skip's is the "# skip: " line before it (tests/unit/monitor_test.h's
# skip_because). Other lines pass through.
tap_to_dialect() {
        awk -v bin="$1" '
        function flush() {
                if (pending != "") print pending ": " (why != "" ? why : "failed, without a message")
                pending = ""; why = ""
        }
        /^(not )?ok [0-9]+( |$)/ {
                flush()
                verdict = ($1 == "not") ? "not ok" : "ok"
                rest = $0
                sub(/^(not )?ok [0-9]+ */, "", rest)
                directive = ""
                if (match(tolower(rest), /# *skip( |$)/)) {
                        directive = substr(rest, RSTART + RLENGTH)
                        rest = substr(rest, 1, RSTART - 1)
                }
                sub(/^- */, "", rest); sub(/ +$/, "", rest)
                if (RSTART) {
                        # "ok 3 - name # SKIP reason", or cmocka'"'"'s "not ok 3 # SKIP name"
                        if (rest == "") { rest = directive; directive = "" }
                        reason = directive != "" ? directive : skipwhy != "" ? skipwhy : "skipped by the test"
                        print "skip - " bin ": " rest ": " reason
                } else if (verdict == "ok") {
                        print "ok - " bin ": " rest
                } else {
                        pending = "not ok - " bin ": " rest
                }
                skipwhy = ""
                next
        }
        /^# skip: / { flush(); skipwhy = substr($0, 9) } # the next test has begun
        pending != "" && /^# / && !/^# (not )?ok - / { why = why (why != "" ? "; " : "") substr($0, 3) }
        { print }
        END { flush() }'
}

# tally NAME STATUS OUTPUT: counts OUTPUT's lines in the dialect and shows those that are
# not a pass. A program that reports no check at all, or exits non-zero without a
# "not ok" line, counts as one failure.
tally() {
        local name=$1 status=$2 out=$3 line
        if ! grep -qE '^(ok|not ok|skip) - ' <<<"$out"; then
                out+=$'\n'"not ok - $name: reported no checks (exit status $status)"
        elif [ "$status" -ne 0 ] && ! grep -q '^not ok - ' <<<"$out"; then
                out+=$'\n'"not ok - $name: exited with status $status without a failed check"
        fi
        grep -E '^(not ok - |skip - |#)' <<<"$out"
        passed=$((passed + $(grep -c '^ok - ' <<<"$out")))
        skipped=$((skipped + $(grep -c '^skip - ' <<<"$out")))
        failed=$((failed + $(grep -c '^not ok - ' <<<"$out")))
        while IFS= read -r line; do
                line=${line#not ok - }
                [[ $line == "$name: "* ]] || line="$name: $line"
                failures+=("$line")
        done < <(grep '^not ok - ' <<<"$out")
}

run_unit() {
        local bin out status
        for bin in build/tests/test_*; do
                [ -x "$bin" ] || continue
                [ -n "$filter" ] && [[ $bin != *"$filter"* ]] && continue
                echo "== unit: ${bin##*/}"
                out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$bin" 2>&1)
                status=$?
                tally "${bin##*/}" "$status" "$(tap_to_dialect "${bin##*/}" <<<"$out")"
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
                tally "${script##*/}" "$status" "$out"
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
        tally "vm" "$status" "$out"
}

case $suite in
all) run_unit; run_scripts tests/integration; run_scripts tests/fuzz; run_scripts tests/e2e; run_vm ;;
unit) run_unit ;;
integration) run_scripts tests/integration ;;
fuzz) run_scripts tests/fuzz ;;
e2e) run_scripts tests/e2e ;;
vm) run_vm ;;
*) echo "usage: tests/run.sh [all|unit|integration|fuzz|e2e|vm] [NAME-FILTER]" >&2; exit 2 ;;
esac

if [ $((passed + failed + skipped)) -eq 0 ]; then
        echo "not ok - tests/run.sh: no checks ran (suite '$suite', filter '$filter')"
        failed=1
        failures+=("tests/run.sh: no checks ran (suite '$suite', filter '$filter')")
fi
if [ ${#failures[@]} -gt 0 ]; then
        echo "failures:"
        printf '  %s\n' "${failures[@]}"
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
