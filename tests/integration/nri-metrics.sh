# SPDX-License-Identifier: MIT
# numapin-nri with --metrics-listen, driven by build/tests/nri-harness on the 2socket-smt
# fixture while /metrics is scraped back to back (and idle connections are held open):
# CreateContainer keeps being answered within its budget, and the plugin's own /metrics
# counts the calls and placements it made.
#
# The budget is the harness's: it fails any call its runtime would, one not answered
# within 2 s (the request timeout of containerd and CRI-O), and every p99 must be within
# it. Beyond that the harness has no latency threshold; the p99 of each bench phase
# (round trips with no container held; creations as 1000 accumulate, when a render takes
# about 4 ms) is compared with 2x that of the same bench unscraped, plus 1 ms, and
# printed as a comment (a ratio of timings on a shared machine is no pass/fail line);
# a pair of runs that misses it is run again, up to five times.
# What is measured is whether the endpoint holds CreateContainer up, not whether its CPU
# time competes: the harness and the plugin's NRI thread run on CPU 0, the endpoint's
# thread and the scraping clients on CPU 1 (a Prometheus scrapes from elsewhere). On one
# CPU shared with back-to-back renders of 1000 containers, CreateContainer's p99 is a few
# milliseconds, the renders' CPU time. The state dirs are on a tmpfs, as /run/numapin
# is: a bench in a disk's directory measures its journal.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT
HARNESS=$NP_HARNESS
NRI=$NP_NRI
SYSFS=$NP_FIXTURES/2socket-smt
[ -x "$NRI" ] || skip_suite "build/numapin-nri is not built (make build/numapin-nri)"
[ -x "$HARNESS" ] || skip_suite "build/tests/nri-harness is not built (make build/tests/nri-harness)"
command -v curl >/dev/null || skip_suite "needs curl"
command -v python3 >/dev/null || skip_suite "needs python3"

# a tmpfs for the state dirs when there is one
FAST=$NP_TMP
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
        FAST=$(mktemp -d /dev/shm/numapin-test.XXXXXX)
        at_exit "rm -rf '$FAST'"
fi
CONF=$NP_TMP/config.json
echo '{"monitor": false}' >"$CONF"
# the bench (the harness and the plugin's NRI thread) on CPU 0, the plugin's endpoint
# thread and the scraping clients on CPU 1, where there are two
BENCH_CPU= SCRAPER_CPU=
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
        BENCH_CPU="taskset -c 0" SCRAPER_CPU="taskset -c 1"
fi

# start_scrapers PORT DIR: two scrapers back to back over keep-alive connections (each
# counts whole 200 answers and others into DIR/scraper.N on SIGTERM) and 5 idle clients,
# none holding the script's fd 3; SCRAPER_PIDS holds their pids. Returns once all three
# have started (python3 takes its time), so that they scrape from the plugin's start.
start_scrapers() {
        local port=$1 dir=$2 n
        SCRAPER_PIDS=()
        rm -f "$dir"/ready.*
        for n in 1 2; do
                $SCRAPER_CPU python3 - "$port" "$dir/scraper.$n" "$dir/ready.$n" 3>&- <<'EOF' &
import http.client, os, signal, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
open(sys.argv[3], "w").close()
whole = other = failed = 0
last = "-"
def stop(*_):
    try:
        open(out, "w").write("%d %d %d %s\n" % (whole, other, failed, last))
    finally:
        os._exit(0)
signal.signal(signal.SIGTERM, stop)
conn = None
while True:
    try:
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/metrics")
        answer = conn.getresponse()
        body = answer.read()
        final = body.rstrip(b"\n").rsplit(b"\n", 1)[-1]
        if answer.status == 200 and final.startswith(b"numapin_scrape_duration_seconds "):
            whole += 1
        else:
            other += 1
    except (OSError, http.client.HTTPException) as e:
        conn = None  # not listening yet, or gone: again shortly
        failed += 1
        last = type(e).__name__
        time.sleep(0.01)
EOF
                SCRAPER_PIDS+=($!)
        done
        $SCRAPER_CPU python3 - "$port" "$dir/ready.idle" 3>&- <<'EOF' &
import socket, sys, time
open(sys.argv[2], "w").close()
held = []
while len(held) < 5:
    try:
        held.append(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5))
    except OSError:
        time.sleep(0.01)
time.sleep(600)
EOF
        SCRAPER_PIDS+=($!)
        for n in "${SCRAPER_PIDS[@]}"; do at_exit "kill $n"; done
        for n in $(seq 100); do
                [ -e "$dir/ready.1" ] && [ -e "$dir/ready.2" ] && [ -e "$dir/ready.idle" ] && return 0
                sleep 0.1
        done
        echo "# the scrapers did not start within 10 s"
}

stop_scrapers() {
        kill "${SCRAPER_PIDS[@]}" 2>/dev/null
        wait "${SCRAPER_PIDS[@]}" 2>/dev/null
}

# scraped_counts DIR: the scrapers' counts: "WHOLE OTHER FAILED LAST-ERROR"
scraped_counts() {
        cat "$1"/scraper.* 2>/dev/null | awk '{ w += $1; o += $2; f += $3; e = $4 } END { print w + 0, o + 0, f + 0, e }'
}

# --- the counters: a script of creations, the plugin's /metrics read while it runs --------

dir=$FAST/count
mkdir -p "$dir/state" "$dir/cgroup"
port=$(free_port)
mkfifo "$dir/steps"
"$HARNESS" --plugin "$NRI" --state-dir "$dir/state" --log "$dir/plugin.log" script "$dir/steps" -- \
        --sysfs-root "$SYSFS" --cgroup-root "$dir/cgroup" --config "$CONF" --metrics-listen "127.0.0.1:$port" \
        >"$dir/answers" 2>&1 &
harness_pid=$!
at_exit "kill $harness_pid"
exec 3>"$dir/steps"
start_scrapers "$port" "$dir"
{
        for i in $(seq 30); do echo "create p$i pod:policy.numapin.io/pod=bind memory=33554432"; done
        for i in $(seq 4); do echo "create x$i pod:cpus.numapin.io/pod=2"; done
        for i in $(seq 10); do echo "create u$i"; done # not annotated: protected, not placed
        echo "create bad1 pod:cpus.numapin.io/pod=two"   # refused: not a count
        echo "create bad2 pod:cpus.numapin.io/pod=40"    # refused: more than the machine has
        echo "create bad3 pod:policy.numapin.io/pod=odd" # refused: no such policy
} >&3
for i in $(seq 200); do
        [ "$(wc -l <"$dir/answers")" -ge 47 ] && break
        sleep 0.1
done
sleep 1 # a few scrapes more with every container in
text=$(curl -s -m 5 "http://127.0.0.1:$port/metrics")
exec 3>&-
wait "$harness_pid"
harness_status=$?
stop_scrapers

answered_ok=$(grep -c '^create [^ ]* ok' "$dir/answers")
answered_error=$(grep -c '^create [^ ]* error' "$dir/answers")
placed=$(grep -cE '^create [px][0-9]+ ok cpus=[0-9]' "$dir/answers")
echo "# $answered_ok creations answered ok ($placed placed), $answered_error refused"
expect_eq "the script's 47 creations were all answered while /metrics was scraped" 47 \
        "$((answered_ok + answered_error))"
expect_eq "44 answered ok, 3 refused" "44 3" "$answered_ok $answered_error"
expect_status "the harness ends cleanly (the plugin stopped by SIGTERM)" 0 "$harness_status"
sample() { sed -n "s/^$1 //p" <<<"$text"; }
expect_eq "the plugin's /metrics: numapin_nri_requests_total{method=\"CreateContainer\",status=\"ok\"} is the creations answered ok" \
        "$answered_ok" "$(sample 'numapin_nri_requests_total{method="CreateContainer",status="ok"}')"
expect_eq "numapin_nri_requests_total{method=\"CreateContainer\",status=\"error\"} is the ones refused" \
        "$answered_error" "$(sample 'numapin_nri_requests_total{method="CreateContainer",status="error"}')"
expect_eq "numapin_placements_total{source=\"nri\",result=\"placed\"} is the containers placed" \
        "$placed" "$(sample 'numapin_placements_total{source="nri",result="placed"}')"
expect_eq "numapin_placements_total{source=\"nri\",result=\"refused\"} is the refusals" \
        3 "$(sample 'numapin_placements_total{source="nri",result="refused"}')"
expect_eq "numapin_placement_duration_seconds_count{source=\"nri\"} is every CreateContainer" \
        "$((answered_ok + answered_error))" "$(sample 'numapin_placement_duration_seconds_count{source="nri"}')"
expect_eq "and the plugin's placements are its info series" "$placed" \
        "$(grep -cE '^numapin_container_info\{container_id="[px][0-9]+".*,source="nri",state="running"\} 1$' <<<"$text")"
read -r whole other failed last <<<"$(scraped_counts "$dir")"
echo "# meanwhile $whole whole scrapes, $other others, $failed connections failed (the last: $last)"
scraped_whole() { [ "$whole" -ge 20 ] && [ "$other" -eq 0 ] || why "$whole whole scrapes, $other other answers"; }
check "the scrapes meanwhile were whole 200 answers" scraped_whole
no_warnings() {
        ! grep 'warning' "$dir/plugin.log" >/dev/null || why "$(grep 'warning' "$dir/plugin.log" | head -3)"
}
check "the plugin logged no warning (Configure's empty config taken by the endpoint too)" no_warnings

# --- latency: the harness's bench, unscraped and scraped -------------------------------

# bench NAME ARGS...: the harness's bench with the plugin's ARGS into $FAST/NAME.out, run
# on BENCH_CPU; the plugin's endpoint thread is moved to SCRAPER_CPU once it starts.
# The bench's status in bench_status.
bench() {
        local name=$1 pid plugin= task i
        shift
        rm -rf "$FAST/$name"
        mkdir -p "$FAST/$name/state" "$FAST/$name/cgroup"
        $BENCH_CPU "$HARNESS" --plugin "$NRI" --state-dir "$FAST/$name/state" --log "$FAST/$name/plugin.log" \
                --count 5000 --hold 1000 bench -- \
                --sysfs-root "$SYSFS" --cgroup-root "$FAST/$name/cgroup" --config "$CONF" "$@" \
                >"$FAST/$name.out" 2>&1 &
        pid=$!
        at_exit "kill $pid"
        # the plugin is the harness's child; its second thread is libmicrohttpd's
        for i in $(seq 200); do
                [ -n "$SCRAPER_CPU" ] || break
                plugin=$(ps -o pid= --ppid "$pid" | tr -d ' ' | head -1)
                if [ -n "$plugin" ] && [ "$(ls "/proc/$plugin/task" 2>/dev/null | wc -l)" -ge 2 ]; then
                        for task in $(ls "/proc/$plugin/task"); do
                                [ "$task" = "$plugin" ] || taskset -p -c "${SCRAPER_CPU##* }" "$task" >/dev/null
                        done
                        break
                fi
                sleep 0.01
        done
        wait "$pid"
        bench_status=$?
}
# p99 NAME FILE: the p99 in microseconds of a bench line ("NAME MEDIAN P99")
p99() { awk -v n="$1" '$1 == n { print $3 }' "$2"; }
within() { awk -v s="$1" -v b="$2" 'BEGIN { exit !(s != "" && b != "" && s <= 2 * b + 1000) }'; }
below_budget() { awk -v s="$1" 'BEGIN { exit !(s != "" && s < 2000000) }'; }

verdict= budget=
for attempt in 1 2 3 4 5; do
        port=$(free_port)
        bench base --metrics-listen "127.0.0.1:$port"
        base_status=$bench_status
        mkdir -p "$FAST/scrapers"
        rm -f "$FAST"/scrapers/scraper.*
        start_scrapers "$port" "$FAST/scrapers"
        bench scraped --metrics-listen "127.0.0.1:$port"
        scraped_status=$bench_status
        stop_scrapers
        read -r whole other failed last <<<"$(scraped_counts "$FAST/scrapers")"
        base=$FAST/base.out scraped=$FAST/scraped.out
        echo "# attempt $attempt, p99 in us unscraped / scraped ($whole whole scrapes, $other others, $failed failed: $last):" \
                "create $(p99 create_us "$base") / $(p99 create_us "$scraped")," \
                "create while 1000 accumulate $(p99 create_growing_us "$base") / $(p99 create_growing_us "$scraped")," \
                "Ping $(p99 baseline_us "$base") / $(p99 baseline_us "$scraped")"
        if [ "$base_status" -ne 0 ] || [ "$scraped_status" -ne 0 ] || [ -z "$(p99 create_growing_us "$scraped")" ]; then
                verdict="a bench failed: unscraped status $base_status, scraped status $scraped_status: $(grep -hv '^[a-z_]* [0-9.]*' "$scraped" "$base" | head -3)"
                break
        fi
        budget=ok
        for phase in create_us create_growing_us; do
                below_budget "$(p99 $phase "$scraped")" || budget="$phase p99 $(p99 $phase "$scraped") us"
        done
        if within "$(p99 create_us "$scraped")" "$(p99 create_us "$base")" &&
                within "$(p99 create_growing_us "$scraped")" "$(p99 create_growing_us "$base")"; then
                verdict=ok
                break
        fi
        verdict="p99 scraped beyond 2x unscraped + 1 ms in 5 attempts; the last: create $(p99 create_us "$base") / $(p99 create_us "$scraped") us, while 1000 accumulate $(p99 create_growing_us "$base") / $(p99 create_growing_us "$scraped") us"
done
ran_bench() { [ "$base_status" -eq 0 ] && [ "$scraped_status" -eq 0 ] || why "$verdict"; }
check "every CreateContainer of the bench answered within the runtime's 2 s, scraped or not" ran_bench
scraped_meanwhile() { [ "$whole" -ge 20 ] && [ "$other" -eq 0 ] || why "$whole whole scrapes, $other other answers"; }
check "the bench was scraped meanwhile, every answer whole" scraped_meanwhile
p99_budget() { [ "$budget" = ok ] || why "${budget:-no bench ran}"; }
check "CreateContainer's p99 while scraped is within the runtime's 2 s budget, also as 1000 containers accumulate" \
        p99_budget
# A ratio of two timings is the bench's to judge, not a pass/fail line of make test: on a
# loaded machine (CI, other tests) it moves with what else runs. It is printed.
echo "# CreateContainer's p99 while scraped against 2x its unscraped p99 + 1 ms: ${verdict:-no bench ran}"
# the bench's calls counted by the plugin: 200 warm-up, 5000 and 1000 held
expect_eq "the bench's CreateContainer calls counted (numapinctl metrics on its state dir)" "6200 6200" \
        "$("$NP_CTL" --config "$CONF" --sysfs-root "$SYSFS" --state-dir "$FAST/scraped/state" metrics |
                sed -n -e 's/^numapin_nri_requests_total{method="CreateContainer",status="ok"} //p' \
                        -e 's/^numapin_placements_total{source="nri",result="placed"} //p' | tr '\n' ' ' | sed 's/ $//')"
