# SPDX-License-Identifier: MIT
# numapin-exporter's /metrics endpoint against hostile and heavy clients, on the
# 2socket-smt fixture with a private state dir holding a few records (no root): a
# request line of 1 MiB and a malformed one answered with an error or closed, at once;
# 200 scrapes at once, each whole; 70 clients that connect and send nothing, beside
# which a scrape must still be answered; a client that stalls mid-request closed after
# the idle timeout; SIGTERM; an address in use and a bad one.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT
EXPORTER=$NP_EXPORTER
SYSFS=$NP_FIXTURES/2socket-smt
STATE=$NP_TMP/state
CONF=$NP_TMP/config.json
[ -x "$EXPORTER" ] || skip_suite "build/numapin-exporter is not built (make build/numapin-exporter)"
[ -x "$NP_CTL" ] || skip_suite "build/numapinctl is not built (make build/numapinctl)"
command -v curl >/dev/null || skip_suite "needs curl"
command -v python3 >/dev/null || skip_suite "needs python3"

# the monitor on, with a pin root that holds no set (the renderer remembers it missing);
# log_level info for the "serving ... (port N)" line
echo "{\"monitor_pin_dir\": \"$NP_TMP/pins\", \"log_level\": \"info\"}" >"$CONF"
mkdir -p "$STATE"
for i in 1 2 3 4 5 6; do
        "$NP_CTL" --config "$CONF" --sysfs-root "$SYSFS" --state-dir "$STATE" plan --commit --id "c$i" \
                --annotation nodes.numapin.io/pod=$((i % 2)) --memory-limit 268435456 >/dev/null 2>>"$NP_TMP/plan.log"
done
"$NP_CTL" --config "$CONF" --sysfs-root "$SYSFS" --state-dir "$STATE" plan --commit --id x1 \
        --annotation cpus.numapin.io/pod=2 >/dev/null 2>>"$NP_TMP/plan.log"

# start_exporter LOG ADDRESS: starts it (port 0: any free one) and reads the port back
# from its "serving ... (port N)" line; sets EXPORTER_PID and PORT. Returns 1 when it
# did not start within 5 s.
start_exporter() {
        local log=$1 address=$2 i
        "$EXPORTER" --config "$CONF" --sysfs-root "$SYSFS" --state-dir "$STATE" --listen "$address" 2>"$log" &
        EXPORTER_PID=$!
        at_exit "kill -9 $EXPORTER_PID"
        PORT=
        for i in $(seq 50); do
                PORT=$(sed -n 's/.*serving .*(port \([0-9]*\)).*/\1/p' "$log")
                [ -n "$PORT" ] && return 0
                kill -0 "$EXPORTER_PID" 2>/dev/null || break
                sleep 0.1
        done
        return 1
}

# scrape [CURL-ARGS...]: one GET /metrics; prints the status code ("000": no answer).
scrape() {
        curl -s -o "$NP_TMP/scrape.out" -w '%{http_code}' "$@" "http://127.0.0.1:$PORT/metrics"
}

# a whole exposition: the families up to the last one's sample
whole_text() {
        local file=$1
        [ "$(tail -n 1 "$file" | cut -d' ' -f1)" = numapin_scrape_duration_seconds ] &&
                grep -q '^numapin_build_info{version=' "$file" &&
                grep -q '^numapin_container_info{container_id="c6"' "$file" ||
                why "$(wc -c <"$file") bytes ending with '$(tail -n 1 "$file" | head -c 80)'"
}

exporter_alive() {
        kill -0 "$EXPORTER_PID" 2>/dev/null || why "the exporter is gone: $(wait "$EXPORTER_PID"; echo "exit status $?"); log: $(tail -3 "$NP_TMP/exporter.log")"
}

if ! start_exporter "$NP_TMP/exporter.log" 127.0.0.1:0; then
        fail "numapin-exporter starts on 127.0.0.1:0" "$(cat "$NP_TMP/exporter.log")"
        exit 1
fi
echo "# numapin-exporter on 127.0.0.1:$PORT, pid $EXPORTER_PID"

status=$(curl -s -D "$NP_TMP/headers" -o "$NP_TMP/first.out" -w '%{http_code}' "http://127.0.0.1:$PORT/metrics")
expect_eq "a scrape is answered 200" 200 "$status"
expect_eq "with the exposition's content type" "text/plain; version=0.0.4; charset=utf-8" \
        "$(sed -n 's/^[Cc]ontent-[Tt]ype: *//p' "$NP_TMP/headers" | tr -d '\r')"
check "and the whole text, the records' info among it" whole_text "$NP_TMP/first.out"
status=$(scrape)
expect_eq "a second scrape (the records now from the cache) is answered 200" 200 "$status"
check "with the whole text again" whole_text "$NP_TMP/scrape.out"

# raw CLIENT-ARGS: a python3 client that sends bytes and reports "STATUS SECONDS", STATUS
# the answer's status code or "closed" (no answer before the connection ended) or
# "timeout" (nothing within 5 s).
raw_client() {
        python3 - "$PORT" "$@" <<'EOF'
import socket, sys, time
port, kind = int(sys.argv[1]), sys.argv[2]
if kind == "long-line":
    data = b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\nHost: x\r\n\r\n"
elif kind == "garbage":
    data = b"GARBAGE\r\n\r\n"
start = time.monotonic()
s = socket.create_connection(("127.0.0.1", port), timeout=5)
try:
    s.sendall(data)
except (BrokenPipeError, ConnectionResetError):
    pass  # closed while it was still being sent
answer = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        answer += chunk
        if b"\r\n\r\n" in answer:
            break
except ConnectionResetError:
    pass
except socket.timeout:
    print("timeout %.2f" % (time.monotonic() - start))
    sys.exit(0)
took = time.monotonic() - start
if answer.startswith(b"HTTP/1."):
    print("%s %.2f" % (answer.split(b" ")[1].decode(), took))
else:
    print("closed %.2f" % took)
EOF
}

# refused_fast: the client's answer was a 4xx or a close, within 2 s
refused_fast() {
        local what status seconds
        read -r status seconds <<<"$answer"
        case $status in
        4[0-9][0-9] | closed) ;;
        *) why "answered '$answer'"; return ;;
        esac
        awk -v s="$seconds" 'BEGIN { exit !(s < 2) }' || why "answered $status after $seconds s"
}

answer=$(raw_client long-line 2>&1)
echo "# request line of 1 MiB: $answer"
check "a request line of 1 MiB gets an error status or a close within 2 s" refused_fast
status=$(scrape -m 5)
expect_eq "after it a scrape is answered 200" 200 "$status"
answer=$(raw_client garbage 2>&1)
echo "# GARBAGE request: $answer"
check "a malformed request line gets an error status or a close within 2 s" refused_fast
status=$(scrape -m 5)
expect_eq "after it a scrape is answered 200" 200 "$status"

# 200 scrapes, 50 at a time
mkdir -p "$NP_TMP/parallel"
seq 200 | xargs -P 50 -I{} curl -s -m 20 -o "$NP_TMP/parallel/{}.out" -w '%{http_code}\n' \
        "http://127.0.0.1:$PORT/metrics" >"$NP_TMP/parallel.codes" 2>&1
all_200() {
        local n
        n=$(grep -c '^200$' "$NP_TMP/parallel.codes")
        [ "$n" -eq 200 ] || why "$n of 200 answered 200; others: $(grep -v '^200$' "$NP_TMP/parallel.codes" | sort | uniq -c | tr '\n' ' ')"
}
check "200 scrapes, 50 at once: every one answered 200" all_200
all_whole() {
        local file bad=0 first=
        for file in "$NP_TMP"/parallel/*.out; do
                if ! whole_text "$file" >/dev/null; then
                        bad=$((bad + 1))
                        first=${first:-$file}
                fi
        done
        [ "$bad" -eq 0 ] || why "$bad texts cut short, e.g. $(whole_text "$first")"
}
check "and every text whole, up to numapin_scrape_duration_seconds" all_whole
check "the exporter still runs after them" exporter_alive

# 70 clients that connect and send nothing (the server takes 256 connections at once
# and idles them out after 10 s)
python3 - "$PORT" "$NP_TMP/idle.ready" <<'EOF' &
import socket, sys, time
port, ready = int(sys.argv[1]), sys.argv[2]
held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(70)]
open(ready, "w").write("%d\n" % len(held))
time.sleep(30)
EOF
idle_pid=$!
at_exit "kill $idle_pid"
for i in $(seq 50); do [ -s "$NP_TMP/idle.ready" ] && break; sleep 0.1; done
expect_eq "70 idle clients are connected" 70 "$(cat "$NP_TMP/idle.ready" 2>/dev/null)"
sleep 0.5 # the server has seen them
started=$(date +%s.%N)
status=$(scrape -m 8)
took=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "# a scrape beside 70 idle clients: status $status after $took s"
answered_beside_idle() {
        [ "$status" = 200 ] && awk -v s="$took" 'BEGIN { exit !(s < 2) }' ||
                why "status $status after $took s (256 connections at most, idle ones closed after 10 s)"
}
check "beside 70 idle clients a scrape is answered within 2 s" answered_beside_idle
kill "$idle_pid" 2>/dev/null
wait "$idle_pid" 2>/dev/null
status=$(scrape -m 5)
expect_eq "once they are gone a scrape is answered 200" 200 "$status"

# a client that sends half a request and stalls
stall=$(python3 - "$PORT" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # no blank line: the headers never end
start = time.monotonic()
try:
    data = s.recv(65536)
    print("closed %.1f %d" % (time.monotonic() - start, len(data)))
except ConnectionResetError:
    print("closed %.1f 0" % (time.monotonic() - start))
except socket.timeout:
    print("open %.1f 0" % (time.monotonic() - start))
EOF
)
echo "# a stalled half request: $stall"
closed_in_time() {
        local state seconds bytes
        read -r state seconds bytes <<<"$stall"
        [ "$state" = closed ] && awk -v s="$seconds" 'BEGIN { exit !(s >= 8 && s <= 13) }' ||
                why "$state after $seconds s (expected closed after the 10 s idle timeout)"
}
check "a client that stalls mid-request is closed after about 10 s" closed_in_time
check "the exporter still runs" exporter_alive

# SIGTERM
kill -TERM "$EXPORTER_PID"
stopped=
for i in $(seq 20); do
        kill -0 "$EXPORTER_PID" 2>/dev/null || { stopped=yes; break; }
        sleep 0.1
done
expect_eq "SIGTERM stops the exporter within 2 s" yes "${stopped:-no}"
wait "$EXPORTER_PID"
expect_status "with exit status 0" 0 $?
# the port free again: a new exporter binds it (past the closed connections' TIME_WAIT,
# as a restarted one must) and answers
old_port=$PORT
restarted() {
        [ "$PORT" = "$old_port" ] && [ "$status" = 200 ] ||
                why "port '$PORT' (was $old_port), status '$status': $(head -3 "$NP_TMP/again.log")"
}
status=
start_exporter "$NP_TMP/again.log" "127.0.0.1:$old_port" && status=$(scrape -m 5)
check "and its port is free again: a new exporter takes it and answers" restarted
kill -TERM "$EXPORTER_PID" 2>/dev/null
wait "$EXPORTER_PID" 2>/dev/null

# an address in use: held by a listener of its own
python3 - "$NP_TMP/held.port" <<'EOF' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
open(sys.argv[1], "w").write("%d\n" % s.getsockname()[1])
time.sleep(30)
EOF
holder_pid=$!
at_exit "kill $holder_pid"
for i in $(seq 50); do [ -s "$NP_TMP/held.port" ] && break; sleep 0.1; done
held=$(cat "$NP_TMP/held.port")
timeout 5 "$EXPORTER" --config "$CONF" --sysfs-root "$SYSFS" --state-dir "$STATE" --listen "127.0.0.1:$held" \
        >"$NP_TMP/inuse.out" 2>"$NP_TMP/inuse.err"
expect_status "an address in use: exit status 1" 1 $?
one_line_naming() {
        local file=$1 address=$2 words=$3
        [ "$(wc -l <"$file")" -eq 1 ] && grep -qF "$address" "$file" && grep -qF "$words" "$file" ||
                why "$(wc -l <"$file") lines: $(cat "$file")"
}
check "and one line naming the address, saying it is in use" one_line_naming "$NP_TMP/inuse.err" \
        "127.0.0.1:$held" "already in use"
kill "$holder_pid" 2>/dev/null

timeout 5 "$EXPORTER" --config "$CONF" --sysfs-root "$SYSFS" --state-dir "$STATE" --listen "127.0.0.1" \
        >"$NP_TMP/bad.out" 2>"$NP_TMP/bad.err"
expect_status "an address without a port: exit status 1" 1 $?
check "and one line naming it and the forms allowed" one_line_naming "$NP_TMP/bad.err" "'127.0.0.1'" "[IPV6]:PORT"
