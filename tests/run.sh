#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs numapin's tests and prints one closing line: "tests: N passed, N failed, N skipped".
# usage: tests/run.sh [all|unit|integration|fuzz|e2e|vm] [NAME-FILTER]
# The binaries are build/'s, or those of the build folder $NUMAPIN_BUILD_DIR names (make
# test-asan's build/asan). A sanitizer build (a "sanitize" file beside its binaries) has
# its reports written to files, and a test after which one is found is not ok.
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
build=${NUMAPIN_BUILD_DIR:-build}

# The sanitizers' reports (ASan, LeakSanitizer, UBSan) go to files in $sanitizer_logs,
# emptied first; the runtimes exit with status 66 on the first one. A file there after a
# test is that test's failure even when its script ignored the exit status, and any
# left at the end (from a process that outlived its test) fail the run.
sanitizer_logs=""
if [ -f "$build/sanitize" ]; then
        sanitizer_logs=$(cd "$build" && pwd)/sanitizer-logs/$suite
        rm -rf "$sanitizer_logs"
        mkdir -p "$sanitizer_logs/seen"
        sanitizer_common=halt_on_error=1:abort_on_error=0:exitcode=66:print_stacktrace=1
        export ASAN_OPTIONS="detect_leaks=1:$sanitizer_common${ASAN_OPTIONS:+:$ASAN_OPTIONS}:log_path=$sanitizer_logs/asan"
        export UBSAN_OPTIONS="$sanitizer_common${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}:log_path=$sanitizer_logs/ubsan"
        echo "# sanitizer build $build: reports in $sanitizer_logs"
fi

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

# sanitizer_reports NAME: a "not ok" line for each report written since the last call:
# what it found and its file, moved aside to seen/NAME.*. Frames left as module+offset
# (a process under its seccomp filter cannot start llvm-symbolizer) are symbolized here.
sanitizer_reports() {
        local name=$1 file seen what
        [ -n "$sanitizer_logs" ] || return 0
        for file in "$sanitizer_logs"/*; do
                [ -f "$file" ] || continue
                seen=$sanitizer_logs/seen/$name.${file##*/}
                mv "$file" "$seen"
                if grep -qE '^ +#[0-9]+ 0x[0-9a-f]+ +\(.*\+0x[0-9a-f]+\)' "$seen" && command -v asan_symbolize >/dev/null &&
                        asan_symbolize <"$seen" >"$seen.tmp" 2>/dev/null; then
                        mv "$seen.tmp" "$seen"
                fi
                rm -f "$seen.tmp"
                what=$(grep -m1 'runtime error: ' "$seen" || grep -m1 '^SUMMARY: ' "$seen" || grep -m1 'ERROR: ' "$seen" ||
                        head -n1 "$seen")
                echo "not ok - $name: sanitizer report: ${what#*==[0-9]*==} (in $seen)"
        done
}

run_unit() {
        local bin out status
        for bin in "$build"/tests/test_*; do
                [ -x "$bin" ] || continue
                [ -n "$filter" ] && [[ $bin != *"$filter"* ]] && continue
                echo "== unit: ${bin##*/}"
                out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$bin" 2>&1)
                status=$?
                out=$(tap_to_dialect "${bin##*/}" <<<"$out")
                tally "${bin##*/}" "$status" "$out"$'\n'"$(sanitizer_reports "${bin##*/}")"
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
                tally "${script##*/}" "$status" "$out"$'\n'"$(sanitizer_reports "${script##*/}")"
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

late=$(sanitizer_reports "after the last test")
[ -z "$late" ] || tally "sanitizers" 0 "$late"
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
