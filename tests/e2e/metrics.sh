# SPDX-License-Identifier: MIT
# numapin-exporter's /metrics as Debian's real Prometheus scrapes it (every second, on
# loopback, tests/prometheus/lib.sh), with runc containers the hook places and the BPF
# monitor watches (a private pin directory): a bound container's 128 MiB counted local
# with its Kubernetes names, a monitor=false one with only its info series, an exited
# one's final counters kept for metrics_exited_grace_seconds and then gone (stale in
# Prometheus), the operations counters, every expression of examples/metrics and the
# alerting rules evaluating without error, promtool's lint, and a container's resident
# memory followed from scrape to scrape as it grows. Needs root, runc, a static
# busybox, cc and BPF; fails (never skips) without Prometheus.
source "$(dirname "$0")/../lib.sh"
source "$NP_ROOT/tests/prometheus/lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT NUMAPIN_BPF_ATTACH
EXPORTER=$NP_ROOT/build/numapin-exporter
is_root || skip_suite "needs root"
command -v runc >/dev/null || skip_suite "runc is not installed (apt-get install runc)"
command -v cc >/dev/null || skip_suite "needs cc for the workload"
if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
        skip_suite "needs a static /bin/busybox (apt-get install busybox-static)"
fi
[ -f /sys/fs/cgroup/cpuset/cpuset.cpus ] || skip_suite "needs the cgroup v1 cpuset hierarchy of this hybrid host"
prom_require
if [ ! -x "$EXPORTER" ] || [ ! -x "$NP_HOOK" ]; then
        fail "$NP_SUITE" "build first: make all (no $EXPORTER or $NP_HOOK)"
        exit 1
fi
trap 'exit 143' TERM INT HUP
suite_start=$SECONDS

GRACE=20
PIN=/sys/fs/bpf/numapin-metrics-e2e-$$
CONF=$NP_TMP/numapin.json
SD=$NP_TMP/state
RUNC_ROOT=$NP_TMP/runc
ROOTFS=$NP_TMP/rootfs
echo "{\"monitor_pin_dir\": \"$PIN\", \"metrics_exited_grace_seconds\": $GRACE}" >"$CONF"
at_exit "rm -rf '$PIN'"
mkdir -p "$ROOTFS/bin" "$RUNC_ROOT" "$SD"
cp /bin/busybox "$ROOTFS/bin/"
for applet in sh sleep; do ln -sf busybox "$ROOTFS/bin/$applet"; done
cc -static -O2 -o "$ROOTFS/bin/workload" "$NP_ROOT/tests/vm/workload.c" || skip_suite "cannot build the workload"

runc_() { runc --root "$RUNC_ROOT" "$@"; }
# bundle NAME ANNOTATIONS-JSON COMMAND: a bundle from `runc spec` with numapin's hooks
bundle() {
        local dir=$NP_TMP/$1
        mkdir -p "$dir"
        (cd "$dir" && runc spec) || return 1
        jq --arg root "$ROOTFS" --arg cmd "$3" --argjson a "$2" --arg hook "$NP_HOOK" --arg conf "$CONF" --arg sd "$SD" '
                def np_hook($stage): {path: $hook, args: ["numapin-hook", "--config", $conf, "--state-dir", $sd, $stage]};
                .root = {path: $root, readonly: true}
                | .process.terminal = false
                | .process.args = ["sh", "-c", $cmd]
                | .annotations = $a
                | .hooks = {createRuntime: [np_hook("createRuntime")], poststop: [np_hook("poststop")]}' \
                "$dir/config.json" >"$dir/config.json.new" && mv "$dir/config.json.new" "$dir/config.json"
        echo "$dir"
}

# --- before any container: nothing loaded yet -----------------------------------------------
ctl_metrics=$("$NP_CTL" --config "$CONF" --state-dir "$SD" metrics 2>&1)
ctl_status=$?
ctl_printed() {
        [ "$ctl_status" -eq 0 ] && grep -q '^numapin_monitor_up 0$' <<<"$ctl_metrics" ||
                why "$(status_text "$ctl_status"); numapin_monitor_up line: '$(grep '^numapin_monitor_up' <<<"$ctl_metrics")'"
}
check "metrics: numapinctl metrics prints monitor_up 0 and exits 0 before the monitor is loaded" ctl_printed
port=$(free_port)
"$EXPORTER" --config "$CONF" --state-dir "$SD" --listen "127.0.0.1:$port" 2>"$NP_TMP/exporter-early.log" &
early=$!
at_exit "stop_pid $early"
wait_until 10 curl -sf "http://127.0.0.1:$port/metrics"
kill -TERM "$early"
wait "$early"
early_status=$?
early_stopped() { [ "$early_status" -eq 0 ] || why "$(status_text "$early_status")$(log_tail "$NP_TMP/exporter-early.log")"; }
check "metrics: numapin-exporter scraped before the monitor is loaded exits 0 on SIGTERM" early_stopped

# --- Prometheus scraping the exporter -------------------------------------------------------
EXPORTER_PORT=$(free_port)
EXPORTER_URL=http://127.0.0.1:$EXPORTER_PORT/metrics
exporter_start() {
        "$EXPORTER" --config "$CONF" --state-dir "$SD" --listen "127.0.0.1:$EXPORTER_PORT" 2>>"$NP_TMP/exporter.log" &
        EXPORTER_PID=$!
        at_exit "stop_pid $EXPORTER_PID"
        wait_until 10 curl -sf "$EXPORTER_URL"
}
if ! exporter_start; then
        fail "$NP_SUITE: numapin-exporter" "no answer at $EXPORTER_URL$(log_tail "$NP_TMP/exporter.log")"
        exit 1
fi
if ! prom_start "127.0.0.1:$EXPORTER_PORT"; then
        fail "$NP_SUITE: Prometheus" "not ready at $PROM_URL: $(cat "$NP_TMP/prometheus/check.out" "$NP_TMP/prometheus/prometheus.log" 2>/dev/null | tail -5 | tr '\n' ' ')"
        exit 1
fi
scraped() { [ "$(prom_value 'up{job="numapin"}')" = 1 ] || why "up{job=\"numapin\"} is '$(prom_value 'up{job="numapin"}')'"; }
wait_until 10 scraped
check "metrics: Prometheus scrapes numapin-exporter (up is 1)" scraped

# --- a bound container touches 128 MiB, then sleeps ------------------------------------------
bound=np-metrics-$$-bound
b=$(bundle bound '{"policy.numapin.io/pod": "bind", "nodes.numapin.io/pod": "0",
        "io.kubernetes.cri.sandbox-namespace": "shop", "io.kubernetes.cri.sandbox-name": "web-0",
        "io.kubernetes.cri.container-name": "app"}' "workload 128 && exec sleep 600")
at_exit "runc --root '$RUNC_ROOT' delete -f '$bound'"
started=$SECONDS
runc_ run -d --bundle "$b" "$bound" </dev/null >"$NP_TMP/bound.out" 2>&1
PAGES="sum(numapin_container_pages_allocated_total{container_id=\"$bound\"})"
pages_counted() {
        local pages
        pages=$(prom_value "$PAGES")
        within 5 32768 "$pages" || why "$PAGES is '$pages' (workload: $(head -c 200 "$NP_TMP/bound.out"))"
}
wait_until 20 pages_counted
echo "# metrics: the bound container's pages reached Prometheus $((SECONDS - started)) s after runc run"
check "metrics: 128 MiB of a bound container are 32768 pages in Prometheus within 5%" pages_counted
remote=$(prom_value "sum(numapin_container_pages_allocated_total{container_id=\"$bound\",locality=\"remote\"})")
all_local() { [ -z "$remote" ] || [ "$remote" = 0 ] || why "remote pages: '$remote'"; }
check "metrics: all of them local (no remote series, or 0)" all_local
expect_eq "metrics: the pages series carry the CRI annotations' namespace, pod and container" \
        '{"container":"app","container_id":"'"$bound"'","locality":"local","namespace":"shop","node":"0","pod":"web-0"}' \
        "$(prom_labels "numapin_container_pages_allocated_total{container_id=\"$bound\"}" |
                jq -c '{container, container_id, locality, namespace, node, pod}')"
INFO="numapin_container_info{container_id=\"$bound\"}"
expect_eq "metrics: numapin_container_info names the bound container's pod, policy bind and the hook" \
        "shop web-0 app bind 0 0 hook" \
        "$(prom_labels "$INFO" | jq -r '"\(.namespace) \(.pod) \(.container) \(.policy) \(.nodes) \(.mems) \(.source)"')"
expect_eq "metrics: numapin_container_info of a running container says state=running" \
        running "$(prom_labels "$INFO" | jq -r '.state // "(no state label)"')"
cpu_counted() {
        local cpu
        cpu=$(prom_value "sum(numapin_container_cpu_seconds_total{container_id=\"$bound\",node=\"0\"})")
        awk -v c="$cpu" 'BEGIN { exit !(c > 0) }' || why "cpu seconds on node 0: '$cpu'"
}
check "metrics: the bound container's CPU time is counted on node 0" cpu_counted
lint=$(metrics_text "$EXPORTER_URL" | promtool check metrics 2>&1)
lint_status=$?
lint_clean() { [ "$lint_status" -eq 0 ] && [ -z "$lint" ] || why "status $lint_status: $lint"; }
check "metrics: promtool check metrics finds nothing in the exporter's text with a watched container running" lint_clean

# --- not watched ------------------------------------------------------------------------------
# its record named so that the exporter's scan meets it after the bound one's, which it
# already holds
unwatched=$(listed_after "$SD" "$bound" "np-metrics-$$-unwatched")
b=$(bundle unwatched '{"nodes.numapin.io/pod": "0", "monitor.numapin.io/pod": "false",
        "io.kubernetes.cri.sandbox-namespace": "shop", "io.kubernetes.cri.sandbox-name": "batch-0",
        "io.kubernetes.cri.container-name": "job"}' "workload 16 && exec sleep 600")
at_exit "runc --root '$RUNC_ROOT' delete -f '$unwatched'"
runc_ run -d --bundle "$b" "$unwatched" </dev/null >"$NP_TMP/unwatched.out" 2>&1
info_scraped() { [ "$(prom_count "numapin_container_info{container_id=\"$unwatched\"}")" = 1 ]; }
info_scraped_or_gone() { info_scraped || ! alive "$EXPORTER_PID"; }
wait_until 15 info_scraped_or_gone
exporter_status=running
if ! alive "$EXPORTER_PID"; then
        wait "$EXPORTER_PID"
        exporter_status=$(status_text $?)
fi
exporter_serves() {
        [ "$exporter_status" = running ] && curl -sf "$EXPORTER_URL" >/dev/null ||
                why "numapin-exporter: $exporter_status$(log_tail "$NP_TMP/exporter.log")"
}
check "metrics: numapin-exporter keeps serving when a second container's record appears" exporter_serves
if [ "$exporter_status" != running ]; then
        # started again, so that the checks after this one still judge the rest
        echo "# metrics: numapin-exporter died ($exporter_status); started again for the checks that follow"
        exporter_start && wait_until 15 info_scraped
fi
# one scrape holds a container's every series: once its info is in, so is all else it has
families=$(prom_query "group by (__name__) ({container_id=\"$unwatched\"})" | head -n -1 |
        jq -r '[.data.result[].metric.__name__] | sort | join(" ")')
expect_eq "metrics: a monitor=false container has numapin_container_info and no other series" \
        numapin_container_info "$families"
expect_eq "metrics: ... and neither pages nor CPU time" "0 0" \
        "$(prom_count "numapin_container_pages_allocated_total{container_id=\"$unwatched\"}") $(prom_count "numapin_container_cpu_seconds_total{container_id=\"$unwatched\"}")"

# --- the operations counters --------------------------------------------------------------------
expect_eq "metrics: numapin_placements_total{source=hook,result=placed} counts both placements" 2 \
        "$(prom_value 'numapin_placements_total{source="hook",result="placed"}')"
expect_eq "metrics: the hook's placement latency histogram counts both placements" 2 \
        "$(prom_value 'numapin_placement_duration_seconds_count{source="hook"}')"
bucketed() {
        local inf
        inf=$(prom_value 'numapin_placement_duration_seconds_bucket{source="hook",le="+Inf"}')
        [ "$inf" = 2 ] || why "le=+Inf bucket is '$inf'"
}
check "metrics: ... and its +Inf bucket too" bucketed
expect_eq "metrics: the monitor is up and watches one container" "1 1" \
        "$(prom_value numapin_monitor_up) $(prom_value numapin_monitor_watched_containers)"

# --- the bound container exits: its final counters stay for the grace period --------------------
runc_ kill "$bound" KILL >/dev/null 2>&1
wait_until 10 sh -c "runc --root '$RUNC_ROOT' state '$bound' | jq -e '.status == \"stopped\"'"
runc_ delete "$bound" >"$NP_TMP/delete.out" 2>&1 # poststop
exited_at=$(date +%s)
EXITED="numapin_container_exited_timestamp_seconds{container_id=\"$bound\"}"
exited_scraped() { [ -n "$(prom_value "$EXITED")" ]; }
wait_until 10 exited_scraped
exited_kept() {
        local ts
        ts=$(prom_value "$EXITED")
        [ -n "$ts" ] && [ "$ts" -ge $((exited_at - 5)) ] && [ "$ts" -le "$exited_at" ] ||
                why "$EXITED is '$ts', exited at $exited_at; delete: $(head -c 200 "$NP_TMP/delete.out")"
}
check "metrics: an exited container has numapin_container_exited_timestamp_seconds, when it exited" exited_kept
check "metrics: ... and its pages are still 32768 within 5%" pages_counted
expect_eq "metrics: ... and its numapin_container_info says state=exited" \
        exited "$(prom_labels "$INFO" | jq -r '.state // "(no state label)"')"
lint=$(metrics_text "$EXPORTER_URL" | promtool check metrics 2>&1)
lint_status=$?
check "metrics: promtool check metrics finds nothing in the exporter's text with an exited container" lint_clean

# every query of the dashboard and of the rules, against these series (rates need 2 samples)
n_exprs=$(bash "$PROM_EXPRS" | wc -l)
exprs_failed=$(prom_exprs_fail)
exprs_evaluate() { [ "$n_exprs" -gt 0 ] && [ -z "$exprs_failed" ] || why "of $n_exprs: $exprs_failed"; }
check "metrics: every expression of examples/metrics/exprs.sh ($n_exprs) evaluates (HTTP 200, status success)" exprs_evaluate
rules_evaluated() { ! prom_rules_fail | grep -q ': unknown'; }
wait_until 5 rules_evaluated
rules_failed=$(prom_rules_fail)
rules_ok() {
        [ -z "$rules_failed" ] && [ "$(curl -sS "$PROM_URL/api/v1/rules" | jq '[.data.groups[].rules[]] | length')" -gt 0 ] ||
                why "${rules_failed:-no rule loaded from $PROM_ALERTS}"
}
check "metrics: every rule of examples/metrics/alerts.yml evaluates with health ok" rules_ok

# --- after the grace period: gone from /metrics, stale in Prometheus ------------------------------
gone_from_text() { ! metrics_text "$EXPORTER_URL" | grep -q "container_id=\"$bound\""; }
wait_until $((GRACE + 10)) gone_from_text
gone_after=$(($(date +%s) - exited_at))
echo "# metrics: the exited container left /metrics $gone_after s after it exited (grace $GRACE s)"
left_after_grace() {
        gone_from_text && [ "$gone_after" -ge $((GRACE - 2)) ] && [ "$gone_after" -le $((GRACE + 5)) ] ||
                why "$(gone_from_text && echo "gone after $gone_after s" || echo "still there after $gone_after s")"
}
check "metrics: the exited container's series leave /metrics once metrics_exited_grace_seconds ($GRACE) passed" left_after_grace
stale() { [ "$(prom_count "{container_id=\"$bound\"}")" = 0 ]; }
wait_until 5 stale
stale_in_prometheus() {
        stale && [ "$(prom_value 'up{job="numapin"}')" = 1 ] &&
                [ "$(prom_count "numapin_container_info{container_id=\"$unwatched\"}")" = 1 ] ||
                why "$(prom_count "{container_id=\"$bound\"}") series at now, up '$(prom_value 'up{job="numapin"}')'"
}
check "metrics: Prometheus marks them stale: an instant query at now returns none (the exporter still up)" stale_in_prometheus
history="$(prom_query "$PAGES" $((exited_at + 2)) | head -n -1 | jq -r '.data.result[0].value[1] // empty')"
expect_eq "metrics: ... while its history keeps the final pages" true \
        "$(within 5 32768 "$history" && echo true || echo "false ('$history')")"

# --- resident memory, read again at every scrape ----------------------------------------------
# The exporter opens a container's memory.numa_stat at the first scrape that finds it and
# reads it again from its start at each one after: this container sleeps first, so that
# the file is opened while it holds little, then holds 64 MiB.
grower=np-metrics-$$-grower
b=$(bundle grower '{"nodes.numapin.io/pod": "0"}' "sleep 4 && exec workload 64 hold")
at_exit "runc --root '$RUNC_ROOT' delete -f '$grower'"
runc_ run -d --bundle "$b" "$grower" </dev/null >"$NP_TMP/grower.out" 2>&1
resident_of() { # ID: its resident bytes on node 0 in the exporter's text now
        metrics_text "$EXPORTER_URL" | awk -v id="container_id=\"$1\"" \
                'index($0, "numapin_container_resident_bytes{") == 1 && index($0, id) && index($0, "node=\"0\"") { print $NF }'
}
first_resident() { early=$(resident_of "$grower"); [ -n "$early" ]; }
wait_until 3 first_resident
small_at_first() { [ -n "$early" ] && [ "$early" -lt $((16 << 20)) ] || why "first scrape: '$early' bytes"; }
check "metrics: a container's first resident figure, before it allocates, is under 16 MiB" small_at_first
grown() {
        local now
        now=$(resident_of "$grower")
        within 10 $((64 << 20)) "$now" || why "now '$now' bytes, at the first scrape '$early' ($(head -c 200 "$NP_TMP/grower.out"))"
}
wait_until 20 grown
check "metrics: ... and once it holds 64 MiB, the same exporter's scrapes say so within 10% (numa_stat read anew)" grown
runc_ delete -f "$grower" >/dev/null 2>&1

kill -TERM "$EXPORTER_PID"
wait "$EXPORTER_PID"
stop_status=$?
stopped() { [ "$stop_status" -eq 0 ] || why "$(status_text "$stop_status")$(log_tail "$NP_TMP/exporter.log")"; }
check "metrics: numapin-exporter exits 0 on SIGTERM" stopped
echo "# metrics: $((SECONDS - suite_start)) s"
