# SPDX-License-Identifier: MIT
# Helpers of tests/e2e/metrics.sh and tests/e2e/metrics-nri.sh, sourced after tests/lib.sh:
# Debian's real Prometheus on loopback scraping one numapin endpoint every second, queries
# through its HTTP API, and bounded waits. Every process started here is stopped at exit.
#
#   prom_require                 fails the suite (never skips) without prometheus, promtool,
#                                curl or python3: a real Prometheus is what these suites test
#   prom_start TARGET            Prometheus on a free port with a private TSDB under $NP_TMP,
#                                scraping TARGET (HOST:PORT) as job numapin with honor_labels,
#                                scrape and evaluation interval 1 s, examples/metrics/alerts.yml
#                                as its rules; sets PROM_URL; returns 1 when it is not ready
#   prom_query EXPR [TIME]       the JSON answer of /api/v1/query (HTTP status on a last line)
#   prom_value EXPR              the value of EXPR's single sample, empty when it has none
#   prom_labels EXPR             the labels of EXPR's first sample as one JSON object
#   prom_count EXPR              how many series EXPR returns
#   prom_exprs_fail              each line of examples/metrics/exprs.sh that Prometheus does
#                                not answer with HTTP 200 and status success, with its error
#   prom_rules_fail              each rule of alerts.yml whose health is not ok
#   metrics_text URL             the body of GET URL (an endpoint's /metrics)
#   listed_after DIR FIRST PREFIX  the first of PREFIX-1, PREFIX-2... whose record DIR's
#                                filesystem lists (readdir order) after FIRST's: a record
#                                that a scan meets after one it already had
#   wait_until SECONDS CMD...    CMD every 0.2 s until it succeeds or SECONDS pass
#   within PERCENT EXPECTED GOT  GOT (a number, perhaps a float) is EXPECTED +- PERCENT %
#   status_text STATUS           "exit status N", or "killed by SIGNAME" for a signal's status
#   log_tail FILE                ": " and the end of FILE on one line, nothing when it is empty
#   stop_pid PID                 SIGTERM, SIGKILL after 5 s, and reaped, when PID is a child
#                                of this script (never a process that took a reaped one's id)

PROM_ALERTS=$NP_ROOT/examples/metrics/alerts.yml
PROM_EXPRS=$NP_ROOT/examples/metrics/exprs.sh

prom_require() {
        local tool
        for tool in prometheus promtool curl python3 jq; do
                if ! command -v "$tool" >/dev/null; then
                        fail "$NP_SUITE" "needs $tool (apt-get install prometheus curl python3 jq): a real Prometheus is what this suite tests"
                        exit 1
                fi
        done
}

alive() {
        local state
        state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) && [ -n "$state" ] && [ "$state" != Z ]
}
status_text() {
        if [ "$1" -gt 128 ] && [ "$1" -lt 160 ]; then echo "killed by SIG$(kill -l $(($1 - 128)))"; else echo "exit status $1"; fi
}
log_tail() {
        local text
        text=$(tail -c 300 "$1" 2>/dev/null | tr '\n' ' ')
        [ -z "$text" ] || echo ": $text"
}

our_child() {
        [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f2)" = "$$" ]
}
stop_pid() {
        local pid=$1 i
        [ -n "$pid" ] && our_child "$pid" || return 0
        kill -TERM "$pid" 2>/dev/null
        for i in $(seq 50); do
                alive "$pid" || break
                sleep 0.1
        done
        alive "$pid" && kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        return 0
}

wait_until() {
        local limit=$1 end
        shift
        end=$((SECONDS + limit))
        while :; do
                "$@" >/dev/null 2>&1 && return 0
                [ "$SECONDS" -ge "$end" ] && return 1
                sleep 0.2
        done
}

within() {
        awk -v pct="$1" -v want="$2" -v got="$3" 'BEGIN {
                if (got !~ /^[0-9]+(\.[0-9]+)?$/) exit 1
                exit !(got >= want * (100 - pct) / 100 && got <= want * (100 + pct) / 100)
        }'
}

# prom_start TARGET: called in the suite's own shell (not in $(...)), so that Prometheus
# is its child and stopped at exit before the temporary folder goes
prom_start() {
        local dir=$NP_TMP/prometheus
        mkdir -p "$dir/tsdb"
        PROM_PORT=$(free_port)
        PROM_URL=http://127.0.0.1:$PROM_PORT
        cat >"$dir/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $PROM_ALERTS
scrape_configs:
  - job_name: numapin
    honor_labels: true
    static_configs:
      - targets: ["$1"]
EOF
        promtool check config "$dir/prometheus.yml" >"$dir/check.out" 2>&1 || return 1
        prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
                --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$dir/prometheus.log" 2>&1 &
        PROM_PID=$!
        at_exit "stop_pid $PROM_PID"
        wait_until 20 curl -sf "$PROM_URL/-/ready"
}

prom_query() {
        curl -sS -G --max-time 5 --data-urlencode "query=$1" ${2:+--data-urlencode "time=$2"} \
                -w '\n%{http_code}\n' "$PROM_URL/api/v1/query" 2>&1
}
prom_value() {
        prom_query "$1" | head -n -1 | jq -r 'if .data.result | length == 1 then .data.result[0].value[1] else empty end' 2>/dev/null
}
prom_labels() {
        prom_query "$1" | head -n -1 | jq -c '.data.result[0].metric // {}' 2>/dev/null
}
prom_count() {
        prom_query "$1" | head -n -1 | jq -r '.data.result | length' 2>/dev/null
}

prom_exprs_fail() {
        local expr out code body
        while IFS= read -r expr; do
                out=$(prom_query "$expr")
                code=$(tail -n1 <<<"$out")
                body=$(head -n -1 <<<"$out")
                if [ "$code" != 200 ] || [ "$(jq -r .status <<<"$body" 2>/dev/null)" != success ]; then
                        echo "HTTP $code for '$expr': $(jq -r '"\(.errorType): \(.error)"' <<<"$body" 2>/dev/null || head -c 200 <<<"$body")"
                fi
        done < <(bash "$PROM_EXPRS")
}

prom_rules_fail() {
        curl -sS --max-time 5 "$PROM_URL/api/v1/rules" 2>&1 |
                jq -r '.data.groups[].rules[] | select(.health != "ok") | "\(.name): \(.health) \(.lastError // "")"' 2>&1
}

metrics_text() {
        curl -sS --max-time 5 "$1" 2>&1
}

# The order readdir gives two names is the filesystem's (a hash on ext4, creation on
# tmpfs), the same in every folder of it: tried in a scratch folder beside the records.
listed_after() {
        local probe=$1/.listed-after n first
        for n in $(seq 32); do
                rm -rf "$probe"
                mkdir -p "$probe" && : >"$probe/$2.json" && : >"$probe/$3-$n.json" || break
                first=$(ls -f "$probe" | grep -v '^\.\.\?$' | head -n1)
                if [ "$first" = "$2.json" ]; then
                        rm -rf "$probe"
                        echo "$3-$n"
                        return 0
                fi
        done
        rm -rf "$probe"
        echo "$3-1"
}
