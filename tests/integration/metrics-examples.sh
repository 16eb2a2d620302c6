# SPDX-License-Identifier: MIT
# The operator's metrics files, without numapin running: examples/metrics (alerting rules
# and their promtool unit tests, the Prometheus config, the Grafana dashboard, exprs.sh),
# the scrape settings of examples/nri (DaemonSet, PodMonitor) and examples/image
# (Containerfile, build.sh's refusal of missing and dynamic binaries). Every metric name,
# label name and fixed label value they use must be one of the metrics contract's (the
# names numapin-nri, numapin-exporter and numapinctl metrics export), embedded below.
source "$(dirname "$0")/../lib.sh"

command -v jq >/dev/null || skip_suite "needs jq"
M=$NP_ROOT/examples/metrics
NRI=$NP_ROOT/examples/nri
IMG=$NP_ROOT/examples/image
DASH=$M/grafana-dashboard.json

# The contract: every series numapin exports (a histogram by its base name), its labels,
# and the values of the labels that take a fixed set.
SPEC_METRICS="numapin_container_info
numapin_container_cpu_seconds_total
numapin_container_pages_allocated_total
numapin_container_pages_outside_allowed_total
numapin_container_migrations_total
numapin_container_cross_node_migrations_total
numapin_container_numa_balancing_pages_migrated_total
numapin_container_resident_bytes
numapin_container_dram_accesses_total
numapin_container_exited_timestamp_seconds
numapin_node_cpus
numapin_node_memory_total_bytes
numapin_node_memory_free_bytes
numapin_node_memory_promised_bytes
numapin_monitor_up
numapin_monitor_pmu_available
numapin_monitor_watched_containers
numapin_monitor_free_slots
numapin_placements_total
numapin_placement_duration_seconds
numapin_nri_requests_total
numapin_build_info
numapin_scrape_duration_seconds"
# numapin's labels, Prometheus' le of histogram buckets, and the target labels job and
# instance that every scrape adds
SPEC_LABELS="container_id namespace pod container policy nodes cpus mems cpu_mode source state node locality
reason method status result version le job instance"
# label=value pairs for the labels with a fixed set of values
SPEC_VALUES="locality=local locality=remote cpu_mode=exclusive cpu_mode=shared source=hook source=nri
source=numapinctl source=plan source=unknown state=running state=exited state=exclusive state=shared
state=reserved state=isolated result=placed result=refused result=error status=ok status=error"
ALERTS="NumapinRemoteMemoryShareHigh NumapinPagesOutsideAllowedNodes NumapinPlacementsRefused
NumapinPlacementErrors NumapinMonitorDown NumapinMonitorSlotsExhausted"

# promtool ARGS...: Debian's prometheus package has it (make test installs it); without
# it every check that needs it fails, never passes
promtool_ok() {
        command -v promtool >/dev/null || { why "promtool is not installed (Debian package prometheus)"; return; }
        local out
        out=$(promtool "$@" 2>&1) || why "promtool $*: $out"
}

# --- alerting rules -------------------------------------------------------------------------
check "alerts.yml: promtool check rules passes" promtool_ok check rules "$M/alerts.yml"
# from another folder: alerts_test.yml names alerts.yml relative to itself
rules_tested() { cd / && promtool_ok test rules "$M/alerts_test.yml"; }
check "alerts_test.yml: promtool test rules passes, run from another folder" rules_tested

alert_names() { awk '/^ *- alert:/ { print $3 }' "$M/alerts.yml" | paste -sd ' '; }
expect_eq "alerts.yml: the six alerts of group numapin" "$(tr '\n' ' ' <<<"$ALERTS")" "$(alert_names) "
expect_eq "alerts.yml: one group, named numapin" "numapin" "$(awk '/^ *- name:/ { print $3 }' "$M/alerts.yml" | paste -sd ' ')"

# every rule block (from one "- alert:" to the next) has a severity label, a summary and a
# description, and its annotations name only numapin's labels
rules_annotated() {
        local bad
        bad=$(awk '
                function done() { if (name != "" && !(sev && sum && desc)) print name }
                /^ *- alert:/ { done(); name = $3; sev = sum = desc = 0 }
                /^ +severity: (warning|critical|info)$/ { sev = 1 }
                /^ +summary: / { sum = 1 }
                /^ +description: / { desc = 1 }
                END { done() }' "$M/alerts.yml")
        [ -z "$bad" ] || why "without severity, summary or description: $bad"
}
check "alerts.yml: every alert has a severity, a summary and a description" rules_annotated

# alerts_test.yml: for each alert, an eval that expects it to fire and one that expects none
alert_cases() {
        awk '
                /^ *alertname:/ { name = $2 }
                /^ *exp_alerts: *\[\] *$/ { quiet[name] = 1; next }
                /^ *exp_alerts: *$/ { firing[name] = 1 }
                END { for (n in firing) print n, "fires"; for (n in quiet) print n, "quiet" }' "$M/alerts_test.yml"
}
every_alert_tested_both_ways() {
        local cases missing="" alert
        cases=$(alert_cases)
        for alert in $ALERTS; do
                grep -qx "$alert fires" <<<"$cases" || missing+=" $alert(firing)"
                grep -qx "$alert quiet" <<<"$cases" || missing+=" $alert(not firing)"
        done
        [ -z "$missing" ] || why "no case for:$missing"
}
check "alerts_test.yml: every alert has a case that fires and one that does not" every_alert_tested_both_ways

# --- Prometheus config ----------------------------------------------------------------------
mkdir -p "$NP_TMP/prometheus"
cp "$M/prometheus.yml" "$M/alerts.yml" "$NP_TMP/prometheus/"
config_checks() {
        promtool_ok check config "$NP_TMP/prometheus/prometheus.yml" || return 1
        promtool check config "$NP_TMP/prometheus/prometheus.yml" 2>&1 | grep -q "SUCCESS: 1 rule files found" ||
                why "promtool did not find alerts.yml through rule_files"
}
check "prometheus.yml: promtool check config passes, with alerts.yml as its rule file" config_checks
scrapes_numapin() {
        grep -q 'job_name: numapin$' "$M/prometheus.yml" && grep -q '"127.0.0.1:9651"' "$M/prometheus.yml" ||
                why "no job numapin with target 127.0.0.1:9651"
}
check "prometheus.yml: job numapin scrapes 127.0.0.1:9651" scrapes_numapin

# --- Grafana dashboard ----------------------------------------------------------------------
check "grafana-dashboard.json: valid JSON" jq -e 'type == "object"' "$DASH"
# every panel, those inside collapsed rows included
panels='[.panels[] | ., (.panels // [])[]]'
expect_eq "grafana-dashboard.json: schemaVersion 36, title numapin, uid numapin" "36 numapin numapin" \
        "$(jq -r '"\(.schemaVersion) \(.title) \(.uid)"' "$DASH")"
expect_eq "grafana-dashboard.json: variables datasource (prometheus), instance, namespace, pod" \
        "datasource:datasource:prometheus instance:query namespace:query pod:query" \
        "$(jq -r '[.templating.list[] | [.name, .type, (if .type == "datasource" then .query else empty end)] | join(":")] | join(" ")' "$DASH")"
expect_eq "grafana-dashboard.json: namespace and pod from label_values(numapin_container_info...)" "true true" \
        "$(jq -r '[.templating.list[] | select(.name == "namespace" or .name == "pod")
                | .definition | test("^label_values\\(numapin_container_info[{,]")] | map(tostring) | join(" ")' "$DASH")"
panels_queried() {
        local bad
        bad=$(jq -r "$panels"' | .[] | select(.type != "row" and .type != "text")
                | select((.targets // []) | length == 0 or any(.[]; (.expr // "") | test("\\S") | not))
                | .title' "$DASH")
        [ -z "$bad" ] || why "panels without a target or with an empty expr: $bad"
}
check "grafana-dashboard.json: every panel has targets, each with a non-empty expr" panels_queried
on_datasource_variable() {
        local bad
        bad=$(jq -r "$panels"' | .[] | select(.type != "row" and .type != "text")
                | select(.datasource.uid != "${datasource}" or any(.targets[]; .datasource.uid != "${datasource}"))
                | .title' "$DASH")
        [ -z "$bad" ] || why "panels not on \${datasource}: $bad"
}
check "grafana-dashboard.json: every panel and target queries \${datasource}" on_datasource_variable
# $instance, $namespace, $pod are multi-valued with All as .*: only a regex matcher takes them
variables_in_regex_matchers() {
        local bad
        bad=$(jq -r '.. | objects | select(has("targets")) | .targets[].expr
                | select([match("(.{0,3})\\$\\{?(?!__)[a-z]"; "g").captures[0].string] | any(. != "=~\""))' "$DASH")
        [ -z "$bad" ] || why "a variable outside =~\"...\": $bad"
}
check "grafana-dashboard.json: \$instance, \$namespace and \$pod only in =~ matchers" variables_in_regex_matchers
for title in "Remote share of allocated pages, per pod" "Remote share of allocated pages, per container" \
        "Pages allocated by node" "CPU time by node" "Exclusive CPUs per node" "Node CPUs by state" \
        "Memory promised vs free per node" "Pages outside allowed nodes" "Refusals and errors" \
        "Placement latency p50 / p99" "NRI requests by method and status" "Monitor up" "Monitor slots" \
        "DRAM remote share (PMU), per container"; do
        expect_eq "grafana-dashboard.json: panel '$title'" "1" "$(jq --arg t "$title" "$panels | map(select(.title == \$t)) | length" "$DASH")"
done
expect_contains "grafana-dashboard.json: says a cpuset drift panel comes once numapin exports drift" \
        "drift panel" "$(jq -r "$panels"' | .[] | select(.type == "text") | .options.content' "$DASH")"

# --- metric, label and value names against the contract -------------------------------------
# metric_names FILE...: the numapin_* names the files use, a histogram's series by its base name
metric_names() { grep -ohE 'numapin_[a-z_]+' "$@" | sed -E 's/_(bucket|sum|count)$//' | sort -u; }
names_in_spec() {
        local bad
        bad=$(comm -23 <(metric_names "$@") <(sort -u <<<"$SPEC_METRICS"))
        [ -z "$bad" ] || why "not in the spec: $(paste -sd ' ' <<<"$bad")"
}
check "grafana-dashboard.json: every metric name is in the spec" names_in_spec "$DASH"
check "alerts.yml and alerts_test.yml: every metric name is in the spec" names_in_spec "$M/alerts.yml" "$M/alerts_test.yml"

bash "$M/exprs.sh" >"$NP_TMP/exprs" 2>"$NP_TMP/exprs.err"
exprs_status=$?
# label_names: every label an expression matches on or groups by, every {{label}} of a
# legend and every $labels.X of an annotation
label_names() {
        {
                grep -oE '[a-z_]+ *(=~|!~|!=|=) *"' "$NP_TMP/exprs" | grep -oE '^[a-z_]+'
                grep -oE '\b(by|on|without|ignoring|group_left|group_right) *\([^)]*\)' "$NP_TMP/exprs" |
                        sed -E 's/^[a-z_]+ *\(//; s/\)$//' | tr ',' '\n'
                jq -r '.. | objects | select(has("targets")) | .targets[].legendFormat // empty' "$DASH" | grep -oE '\{\{ *[a-z_]+ *\}\}'
                grep -oE '\$labels\.[a-z_]+' "$M/alerts.yml" | sed 's/^\$labels\.//'
        } | tr -d '{} ' | grep -v '^$' | sort -u
}
labels_in_spec() {
        local bad
        bad=$(comm -23 <(label_names) <(tr ' ' '\n' <<<"$SPEC_LABELS" | sort -u))
        [ -z "$bad" ] || why "not in the spec: $(paste -sd ' ' <<<"$bad")"
}
check "dashboard and alerts: every label name is in the spec" labels_in_spec
# label_values: label="value" and label!="value" of the labels with a fixed set
label_values() {
        grep -oE '\b(locality|cpu_mode|source|state|result|status) *!?= *"[^"]*"' "$NP_TMP/exprs" "$DASH" -h |
                sed -E 's/ *!?= *"/=/; s/"$//' | sort -u
}
values_in_spec() {
        local bad
        bad=$(comm -23 <(label_values) <(tr ' ' '\n' <<<"$SPEC_VALUES" | sort -u))
        [ -z "$bad" ] || why "not in the spec: $(paste -sd ' ' <<<"$bad")"
}
check "dashboard and alerts: every locality, state, source, result and status value is in the spec" values_in_spec

# --- exprs.sh -------------------------------------------------------------------------------
expect_status "exprs.sh: exits 0" 0 "$exprs_status"
expect_eq "exprs.sh: nothing on stderr" "" "$(cat "$NP_TMP/exprs.err")"
targets=$(jq '[.. | objects | select(has("targets")) | .targets[]] | length' "$DASH")
rules=$(grep -cE '^ *- (alert|record):' "$M/alerts.yml")
enough_exprs() {
        local lines
        lines=$(grep -c . "$NP_TMP/exprs")
        [ "$lines" -ge $((targets + rules)) ] || why "$lines lines for $targets panel targets and $rules rules"
}
check "exprs.sh: a line for every panel target and every rule" enough_exprs
no_dollar() {
        local bad
        bad=$(grep -F '$' "$NP_TMP/exprs")
        [ -z "$bad" ] || why "left unsubstituted: $bad"
}
check "exprs.sh: no \$ left in any expression" no_dollar
expect_contains "exprs.sh: \$__rate_interval becomes 1m and \$instance .*" \
        'rate(numapin_placements_total{instance=~".*",result="refused"}[1m])' "$(cat "$NP_TMP/exprs")"
# each line, as a recording rule, through promtool's PromQL parser
awk 'BEGIN { print "groups:"; print "  - name: exprs"; print "    rules:" }
        { gsub(/'\''/, "'\'''\''"); printf "      - record: exprs:line_%d\n        expr: '\''%s'\''\n", NR, $0 }' \
        "$NP_TMP/exprs" >"$NP_TMP/exprs-rules.yml"
check "exprs.sh: every expression parses as PromQL (promtool check rules)" promtool_ok check rules "$NP_TMP/exprs-rules.yml"
cat >"$NP_TMP/forms.yml" <<'EOF'
groups:
  - name: forms
    rules:
      - record: a:quoted
        expr: 'sum(up{job=''x''})'
      - expr: "rate(up{a=\"b\"}[5m])"
        record: a:double_quoted
      - alert: Folded
        expr: >-
          up
          # a PromQL comment
            == 0
        for: 1m
      - alert: Plain
        expr: up == 1 # a YAML comment
        labels: {}
EOF
expect_eq "exprs.sh: reads quoted, double-quoted, block and plain exprs" \
        "sum(up{job='x'})|rate(up{a=\"b\"}[5m])|up == 0|up == 1" "$(bash "$M/exprs.sh" "$NP_TMP/forms.yml" | paste -sd '|')"

# --- Kubernetes -----------------------------------------------------------------------------
DS=$NRI/daemonset.yaml
PM=$NRI/podmonitor.yaml
expect_contains "daemonset.yaml: the plugin gets --metrics-listen=:9651" "- --metrics-listen=:9651" "$(cat "$DS")"
ds_port() { grep -A2 -- '- name: metrics' "$DS" | grep -q 'containerPort: 9651' || why "no port named metrics on 9651"; }
check "daemonset.yaml: containerPort 9651 named metrics" ds_port
for annotation in 'prometheus.io/scrape: "true"' 'prometheus.io/port: "9651"' 'prometheus.io/path: /metrics'; do
        expect_contains "daemonset.yaml: pod annotation $annotation" "        $annotation" "$(cat "$DS")"
done
expect_eq "daemonset.yaml: image localhost/numapin:latest, pulled only if not present" \
        "image: localhost/numapin:latest imagePullPolicy: IfNotPresent" \
        "$(grep -E '^ +(image|imagePullPolicy):' "$DS" | sed 's/^ *//' | paste -sd ' ')"
no_placeholder() { ! grep -niE 'placeholder|REGISTRY\.EXAMPLE' "$DS" || why "placeholder left"; }
check "daemonset.yaml: no image placeholder left" no_placeholder
expect_contains "daemonset.yaml: says how to import the image into containerd" \
        "ctr -n k8s.io images import build/numapin-image.tar" "$(cat "$DS")"
expect_eq "podmonitor.yaml: a monitoring.coreos.com/v1 PodMonitor" "apiVersion: monitoring.coreos.com/v1 kind: PodMonitor" \
        "$(grep -E '^(apiVersion|kind):' "$PM" | paste -sd ' ')"
pm_endpoint() {
        grep -q '^      app.kubernetes.io/name: numapin-nri$' "$PM" && grep -q -- '- port: metrics$' "$PM" &&
                grep -q '^      interval: 15s$' "$PM" || why "no selector app.kubernetes.io/name: numapin-nri, port metrics, interval 15s"
}
check "podmonitor.yaml: selects app.kubernetes.io/name: numapin-nri, port metrics, every 15s" pm_endpoint
if python3 -c 'import yaml' 2>/dev/null; then
        # the same, read as YAML: the pod template's labels are what the PodMonitor selects
        k8s_parsed() {
                python3 - "$DS" "$PM" <<'EOF' || why "parsed YAML disagrees (above)"
import sys, yaml
ds = yaml.safe_load(open(sys.argv[1]))
pm = yaml.safe_load(open(sys.argv[2]))
pod = ds["spec"]["template"]
c = pod["spec"]["containers"][0]
ok = (ds["kind"] == "DaemonSet" and c["image"] == "localhost/numapin:latest"
      and c["imagePullPolicy"] == "IfNotPresent" and "--metrics-listen=:9651" in c["args"]
      and {"name": "metrics", "containerPort": 9651, "protocol": "TCP"} in c["ports"]
      and pod["metadata"]["annotations"] == {"prometheus.io/scrape": "true", "prometheus.io/port": "9651",
                                             "prometheus.io/path": "/metrics"}
      and pm["kind"] == "PodMonitor"
      and all(pod["metadata"]["labels"].get(k) == v for k, v in pm["spec"]["selector"]["matchLabels"].items())
      and pm["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
      and pm["spec"]["podMetricsEndpoints"][0]["interval"] == "15s")
if not ok:
    print(c.get("image"), c.get("args"), c.get("ports"), pod["metadata"], pm["spec"])
sys.exit(0 if ok else 1)
EOF
        }
        check "daemonset.yaml and podmonitor.yaml: parse, and the PodMonitor selects the DaemonSet's pods" k8s_parsed
else
        skip "daemonset.yaml and podmonitor.yaml: parse, and the PodMonitor selects the DaemonSet's pods" "needs python3-yaml"
fi

# --- the image ------------------------------------------------------------------------------
expect_eq "Makefile: make image runs examples/image/build.sh after all" "image: all|	bash examples/image/build.sh" \
        "$(grep -A1 '^image:' "$NP_ROOT/Makefile" | paste -sd '|')"
expect_eq "Containerfile: FROM scratch, numapin-nri the entrypoint" 'FROM scratch|ENTRYPOINT ["/usr/bin/numapin-nri"]' \
        "$(grep -E '^(FROM|ENTRYPOINT) ' "$IMG/Containerfile" | paste -sd '|')"
# the binaries build.sh checks are those the Containerfile copies
image_binaries() { sed -n 's/^binaries=(\(.*\))$/\1/p' "$IMG/build.sh"; }
copied_binaries() { grep '^COPY ' "$IMG/Containerfile" | tr ' ' '\n' | sed -n 's|^build/||p' | paste -sd ' '; }
expect_eq "build.sh checks numapin-nri and numapin-exporter, which the Containerfile copies" \
        "numapin-nri numapin-exporter|numapin-nri numapin-exporter" "$(image_binaries)|$(copied_binaries)"

# a copy of examples/image in a repository of its own, build/ holding what the test puts there
R=$NP_TMP/repo
mkdir -p "$R/examples/image" "$R/build"
cp "$IMG/build.sh" "$IMG/Containerfile" "$R/examples/image/"
# image_check: build.sh --check in $R; sets $status, $err (podman never runs with --check)
image_check() {
        bash "$R/examples/image/build.sh" --check >"$NP_TMP/out" 2>"$NP_TMP/err"
        status=$?
        err=$(cat "$NP_TMP/err")
}
# a static executable: busybox-static's, or one linked here with -static
static_elf() {
        local busybox
        busybox=$(command -v busybox) && ! LC_ALL=C readelf -lW "$busybox" | grep -q '^ *INTERP ' &&
                cp "$busybox" "$1" && return 0
        command -v cc >/dev/null && echo 'int main(void) { return 0; }' >"$NP_TMP/static.c" &&
                cc -static -o "$1" "$NP_TMP/static.c" 2>/dev/null
}
image_check
expect_status "build.sh --check, no binaries: exits 1" 1 "$status"
expect_eq "build.sh --check, no binaries: one line naming build/numapin-nri" \
        "error: build/numapin-nri is missing (make all builds it)" "$err"
if static_elf "$R/build/numapin-nri"; then
        image_check
        expect_eq "build.sh --check, numapin-exporter missing: one line naming it" \
                "error: build/numapin-exporter is missing (make all builds it)" "$err"
        cp "$(readlink -f "$BASH")" "$R/build/numapin-exporter"
        image_check
        expect_status "build.sh --check, a dynamic numapin-exporter: exits 1" 1 "$status"
        expect_eq "build.sh --check, a dynamic numapin-exporter: one line saying it is not static" \
                "error: build/numapin-exporter is not static (dynamically linked (it has a program interpreter)): an image FROM scratch has no libc" "$err"
        printf '#!/bin/sh\n' >"$R/build/numapin-exporter"
        image_check
        expect_eq "build.sh --check, a script as numapin-exporter: not an ELF file" \
                "error: build/numapin-exporter is not static (not an ELF file): an image FROM scratch has no libc" "$err"
        cp "$R/build/numapin-nri" "$R/build/numapin-exporter"
        image_check
        expect_eq "build.sh --check, both static: exits 0, silent" "0 " "$status $err"
else
        skip "build.sh --check with static and dynamic binaries" "no static executable here (busybox-static, or cc with a static libc)"
fi

# --- docs -----------------------------------------------------------------------------------
readme_names_files() {
        local f missing=""
        for f in "$M"/*; do
                [ "${f##*/}" = README.md ] && continue
                grep -qF "\`${f##*/}\`" "$M/README.md" || missing+=" ${f##*/}"
        done
        [ -z "$missing" ] || why "not in examples/metrics/README.md:$missing"
}
check "examples/metrics/README.md: names every file beside it" readme_names_files
