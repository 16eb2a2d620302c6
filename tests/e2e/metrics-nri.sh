# SPDX-License-Identifier: MIT
# numapin-nri --metrics-listen as Debian's real Prometheus scrapes it (every second, on
# loopback, tests/prometheus/lib.sh), the runtime played by build/tests/nri-harness (its
# script mode, line by line, as in e2e/nri-runc.sh) with a real runc container the plugin
# places and the BPF monitor watches (a private pin directory): its 128 MiB counted local
# with the names of the harness's pod, the NRI request and placement counters, the final
# counters after StopContainer, every expression of examples/metrics evaluating, promtool's
# lint. Needs root, runc, a static busybox, cc and BPF; fails (never skips) without
# Prometheus.
source "$(dirname "$0")/../lib.sh"
source "$NP_ROOT/tests/prometheus/lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT NUMAPIN_BPF_ATTACH
HARNESS=$NP_ROOT/build/tests/nri-harness
NRI=$NP_ROOT/build/numapin-nri
is_root || skip_suite "needs root"
command -v runc >/dev/null || skip_suite "runc is not installed (apt-get install runc)"
command -v cc >/dev/null || skip_suite "needs cc for the workload"
if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
        skip_suite "needs a static /bin/busybox (apt-get install busybox-static)"
fi
prom_require
if [ ! -x "$NRI" ] || [ ! -x "$HARNESS" ]; then
        fail "$NP_SUITE" "build first: make all build/tests/nri-harness (no $NRI or $HARNESS)"
        exit 1
fi
trap 'exit 143' TERM INT HUP
suite_start=$SECONDS

PIN=/sys/fs/bpf/numapin-metrics-nri-e2e-$$
CONF=$NP_TMP/numapin.json
D=$NP_TMP/nri
SD=$D/state
RUNC_ROOT=$NP_TMP/runc
ROOTFS=$NP_TMP/rootfs
echo "{\"monitor_pin_dir\": \"$PIN\", \"metrics_exited_grace_seconds\": 60}" >"$CONF"
at_exit "rm -rf '$PIN'"
mkdir -p "$ROOTFS/bin" "$RUNC_ROOT" "$D"
cp /bin/busybox "$ROOTFS/bin/"
for applet in sh sleep; do ln -sf busybox "$ROOTFS/bin/$applet"; done
cc -static -O2 -o "$ROOTFS/bin/workload" "$NP_ROOT/tests/vm/workload.c" || skip_suite "cannot build the workload"
runc_() { runc --root "$RUNC_ROOT" "$@"; }

# --- the plugin, its endpoint, Prometheus scraping it -----------------------------------------
METRICS_PORT=$(free_port)
METRICS_URL=http://127.0.0.1:$METRICS_PORT/metrics
# the runtime side, on the host's real sysfs and cgroups, answering on a coprocess; the
# plugin dies with the harness (PR_SET_PDEATHSIG)
coproc RT { exec "$HARNESS" --plugin "$NRI" --state-dir "$SD" --log "$D/plugin.log" script /dev/stdin -- \
        --config "$CONF" --sysfs-root /sys --cgroup-root /sys/fs/cgroup \
        --metrics-listen "127.0.0.1:$METRICS_PORT" 2>"$D/harness.err"; }
RT_PID_SAVED=$RT_PID
at_exit "stop_pid $RT_PID_SAVED"
rt() {
        local reply
        echo "$*" >&"${RT[1]}"
        read -r -t 10 reply <&"${RT[0]}" || reply="no answer"
        echo "$reply"
}
if ! wait_until 10 curl -sf "$METRICS_URL"; then
        fail "$NP_SUITE: numapin-nri --metrics-listen" "no answer at $METRICS_URL: $(tail -c 400 "$D/plugin.log" "$D/harness.err" 2>/dev/null | tr '\n' ' ')"
        exit 1
fi
if ! prom_start "127.0.0.1:$METRICS_PORT"; then
        fail "$NP_SUITE: Prometheus" "not ready at $PROM_URL: $(cat "$NP_TMP/prometheus/check.out" "$NP_TMP/prometheus/prometheus.log" 2>/dev/null | tail -5 | tr '\n' ' ')"
        exit 1
fi
scraped() { [ "$(prom_value 'up{job="numapin"}')" = 1 ] || why "up{job=\"numapin\"} is '$(prom_value 'up{job="numapin"}')'"; }
wait_until 10 scraped
check "metrics nri: Prometheus scrapes numapin-nri's --metrics-listen endpoint (up is 1)" scraped

# --- a bound container of pod default/web-0 touches 128 MiB and holds it ------------------------
id=np-metrics-nri-$$
reply=$(rt create "$id" pod=web-0 name=app pod:policy.numapin.io/pod=bind pod:nodes.numapin.io/pod=0)
cpus=$(sed -n 's/.* cpus=\([^ ]*\).*/\1/p' <<<"$reply")
mems=$(sed -n 's/.* mems=\([^ ]*\).*/\1/p' <<<"$reply")
created() { [[ $reply == "create $id ok"* ]] && [ "$mems" = 0 ] || why "$reply"; }
check "metrics nri: CreateContainer answers with node 0's memory" created
# the runtime writes the adjustment into the spec, as containerd does
b=$NP_TMP/bundle
mkdir -p "$b"
(cd "$b" && runc spec)
jq --arg root "$ROOTFS" --arg cpus "$cpus" --arg mems "$mems" '
        .root = {path: $root, readonly: true} | .process.terminal = false
        | .process.args = ["workload", "128", "hold"]
        | .linux.resources.cpu = {cpus: $cpus, mems: $mems}' "$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
at_exit "runc --root '$RUNC_ROOT' delete -f '$id'"
# created, not started: containerd sends PostCreateContainer between the two
runc_ create --bundle "$b" "$id" </dev/null >"$NP_TMP/run.out" 2>&1
pid=$(runc_ state "$id" 2>/dev/null | jq -r .pid)
reply=$(rt postcreate "$id" "pid=$pid")
postcreated() { [[ $reply == "postcreate $id ok"* ]] || why "$reply"; }
check "metrics nri: PostCreateContainer attaches the monitor" postcreated
started=$SECONDS
runc_ start "$id" >>"$NP_TMP/run.out" 2>&1

PAGES="sum(numapin_container_pages_allocated_total{container_id=\"$id\"})"
pages_counted() {
        local pages
        pages=$(prom_value "$PAGES")
        within 5 32768 "$pages" || why "$PAGES is '$pages' (workload: $(head -c 200 "$NP_TMP/run.out"))"
}
wait_until 20 pages_counted
echo "# metrics nri: the container's pages reached Prometheus $((SECONDS - started)) s after runc start"
check "metrics nri: 128 MiB of the plugin's bound container are 32768 pages in Prometheus within 5%" pages_counted
remote=$(prom_value "sum(numapin_container_pages_allocated_total{container_id=\"$id\",locality=\"remote\"})")
all_local() { [ -z "$remote" ] || [ "$remote" = 0 ] || why "remote pages: '$remote'"; }
check "metrics nri: all of them local (no remote series, or 0)" all_local
# the harness's pod: name web-0 in namespace default (build_pod in tests/nri/containers.c)
expect_eq "metrics nri: the pages series carry the NRI pod's namespace and name and the container's name" \
        '{"container":"app","container_id":"'"$id"'","locality":"local","namespace":"default","node":"0","pod":"web-0"}' \
        "$(prom_labels "numapin_container_pages_allocated_total{container_id=\"$id\"}" |
                jq -c '{container, container_id, locality, namespace, node, pod}')"
INFO="numapin_container_info{container_id=\"$id\"}"
expect_eq "metrics nri: numapin_container_info names the pod, policy bind and the NRI plugin" \
        "default web-0 app bind 0 0 nri" \
        "$(prom_labels "$INFO" | jq -r '"\(.namespace) \(.pod) \(.container) \(.policy) \(.nodes) \(.mems) \(.source)"')"
expect_eq "metrics nri: numapin_nri_requests_total{method=CreateContainer,status=ok} counts the one CreateContainer" 1 \
        "$(prom_value 'numapin_nri_requests_total{method="CreateContainer",status="ok"}')"
# the harness plays containerd 2.1 (NRI v0.8), which sends the events through StateChange
expect_eq "metrics nri: ... and StateChange the one PostCreateContainer event" "1 0" \
        "$(prom_value 'numapin_nri_requests_total{method="StateChange",status="ok"}') $(prom_value 'numapin_nri_requests_total{method="PostCreateContainer",status="ok"}')"
expect_eq "metrics nri: numapin_placements_total{source=nri,result=placed} counts the placement" 1 \
        "$(prom_value 'numapin_placements_total{source="nri",result="placed"}')"
expect_eq "metrics nri: the plugin's placement latency histogram counts it" "1 1" \
        "$(prom_value 'numapin_placement_duration_seconds_count{source="nri"}') $(prom_value 'numapin_placement_duration_seconds_bucket{source="nri",le="+Inf"}')"
expect_eq "metrics nri: the monitor of the config's pin directory is up and watches the container" "1 1" \
        "$(prom_value numapin_monitor_up) $(prom_value numapin_monitor_watched_containers)"
lint=$(metrics_text "$METRICS_URL" | promtool check metrics 2>&1)
lint_status=$?
lint_clean() { [ "$lint_status" -eq 0 ] && [ -z "$lint" ] || why "status $lint_status: $lint"; }
check "metrics nri: promtool check metrics finds nothing in the plugin's text" lint_clean

# --- StopContainer: the final counters stay ----------------------------------------------------
runc_ kill "$id" KILL >/dev/null 2>&1
wait_until 10 sh -c "runc --root '$RUNC_ROOT' state '$id' | jq -e '.status == \"stopped\"'"
reply=$(rt stop "$id")
runc_ delete -f "$id" >/dev/null 2>&1
stopped_at=$(date +%s)
stopped() { [[ $reply == "stop $id ok"* ]] || why "$reply"; }
check "metrics nri: StopContainer answers ok" stopped
EXITED="numapin_container_exited_timestamp_seconds{container_id=\"$id\"}"
exited_scraped() { [ -n "$(prom_value "$EXITED")" ]; }
wait_until 10 exited_scraped
exited_kept() {
        local ts
        ts=$(prom_value "$EXITED")
        [ -n "$ts" ] && [ "$ts" -ge $((stopped_at - 5)) ] && [ "$ts" -le "$stopped_at" ] ||
                why "$EXITED is '$ts', stopped at $stopped_at"
}
check "metrics nri: the stopped container has numapin_container_exited_timestamp_seconds" exited_kept
check "metrics nri: ... and its pages are still 32768 within 5%" pages_counted
expect_eq "metrics nri: numapin_nri_requests_total{method=StopContainer,status=ok} counts the StopContainer" 1 \
        "$(prom_value 'numapin_nri_requests_total{method="StopContainer",status="ok"}')"
n_exprs=$(bash "$PROM_EXPRS" | wc -l)
exprs_failed=$(prom_exprs_fail)
exprs_evaluate() { [ "$n_exprs" -gt 0 ] && [ -z "$exprs_failed" ] || why "of $n_exprs: $exprs_failed"; }
check "metrics nri: every expression of examples/metrics/exprs.sh ($n_exprs) evaluates (HTTP 200, status success)" exprs_evaluate

# --- two more containers: the second's record met after the first's, already read ---------------
first=np-metrics-nri-$$-first
rt create "$first" pod=web-1 name=app pod:nodes.numapin.io/pod=0 >"$D/first.reply"
first_scraped() { [ "$(prom_count "numapin_container_info{container_id=\"$first\"}")" = 1 ]; }
wait_until 10 first_scraped
second=$(listed_after "$SD" "$first" "np-metrics-nri-$$-second")
rt create "$second" pod=web-2 name=app pod:nodes.numapin.io/pod=0 >"$D/second.reply"
second_scraped() { [ "$(prom_count "numapin_container_info{container_id=\"$second\"}")" = 1 ]; }
wait_until 5 second_scraped
# the harness's child, the plugin: its state letter (Z: it died, not yet reaped)
plugin_state() {
        local child
        for child in $(cat "/proc/$RT_PID_SAVED/task/$RT_PID_SAVED/children" 2>/dev/null); do
                echo "pid $child state $(sed 's/.*) //' "/proc/$child/stat" 2>/dev/null | cut -d' ' -f1)"
        done
}
still_serving() {
        curl -sf "$METRICS_URL" >/dev/null && second_scraped ||
                why "$METRICS_URL: $(curl -sS "$METRICS_URL" 2>&1 >/dev/null); plugin: $(plugin_state); harness: $(cat "$D/second.reply")"
}
check "metrics nri: numapin-nri keeps serving when a second container's record appears" still_serving

exec {RT[1]}>&-
wait "$RT_PID_SAVED" 2>/dev/null
echo "# metrics nri: $((SECONDS - suite_start)) s"
