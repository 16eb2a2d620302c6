#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The libFuzzer targets (tests/fuzz/fuzz_<target>.c), each built if needed and run
# for FUZZ_SMOKE_SECONDS (3 by default; `make fuzz` runs them for FUZZ_SECONDS) from
# its seeds in tests/fuzz/corpus/<target>: "ok - fuzz TARGET: N runs, no crash", or
# not ok for a crash, a leak, a sanitizer report, a hang or a target that does not
# build (clang and libclang-rt-14-dev are test packages: never a skip). A crashing
# input is kept in build/fuzz/crashes/ for `build/fuzz/TARGET FILE` to replay.
# NUMAPIN_FUZZ_WORK: the folder of the corpora the runs grow (default: a temporary one;
# build/fuzz/corpus for `make fuzz`). FUZZ_SEED: libFuzzer's seed, 1 unless set, so that
# the few seconds in `make test` try the same sequence of inputs on every run (a gate that fails
# by chance is no gate); empty for a random one, as `make fuzz` does.
set -u
source "$(dirname "$0")/../lib.sh"
cd "$NP_ROOT" || exit 1

seconds=${FUZZ_SMOKE_SECONDS:-3}
seed=${FUZZ_SEED-1}
work=${NUMAPIN_FUZZ_WORK:-$NP_TMP/corpus}
crashes=$NP_ROOT/build/fuzz/crashes

# fuzz TARGET: builds it (unless make did already) and runs it
fuzz() {
        local target=$1 bin=build/fuzz/$1 log=$NP_TMP/$1.log status runs reason input
        if [ -z "${NUMAPIN_FUZZ_NO_BUILD:-}" ] && ! make --no-print-directory -s -j"$(nproc)" "$bin" >"$log" 2>&1; then
                fail "fuzz $target" "does not build: $(grep -m1 -E 'error|Error|not found' "$log" || tail -n1 "$log")"
                return
        fi
        if [ ! -x "$bin" ]; then
                fail "fuzz $target" "$bin was not built (make fuzz-build)"
                return
        fi
        if [ ! -d "tests/fuzz/corpus/$target" ]; then
                fail "fuzz $target" "no seed corpus in tests/fuzz/corpus/$target"
                return
        fi
        mkdir -p "$work/$target" "$crashes"
        # libFuzzer adds what it finds to the first folder; the seeds stay as they are
        timeout -k 5 $((seconds + 60)) "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
                ${seed:+-seed="$seed"} -artifact_prefix="$crashes/$target-" "$work/$target" "tests/fuzz/corpus/$target" >"$log" 2>&1
        status=$?
        runs=$(sed -n 's/^Done \([0-9]*\) runs in .*/\1/p' "$log" | tail -n1)
        if [ "$status" -eq 0 ] && [ -n "$runs" ]; then
                pass "fuzz $target: $runs runs, no crash"
                return
        fi
        if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
                reason="hung: no end within $((seconds + 60)) s"
        else
                reason=$(grep -m1 -E '^SUMMARY: |ERROR: libFuzzer|fuzz setup: ' "$log" || tail -n1 "$log")
                reason="exit status $status: $reason"
        fi
        input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n1)
        [ -n "$input" ] && reason+="; input: $input"
        fail "fuzz $target" "$reason"
        sed -n '/ERROR\|runtime error\|fuzz setup/,+12p' "$log" | head -n 20 | sed 's/^/# /'
}

targets=()
for src in tests/fuzz/fuzz_*.c; do
        name=${src##*/fuzz_}
        targets+=("${name%.c}")
done
echo "# ${#targets[@]} targets, $seconds s each, seed ${seed:-random}"
for target in "${targets[@]}"; do
        fuzz "$target"
done
