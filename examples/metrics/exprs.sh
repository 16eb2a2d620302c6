#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# usage: examples/metrics/exprs.sh [FILE...]
# Prints every PromQL expression of a Grafana dashboard (*.json: each panel's
# targets[].expr, in rows and collapsed rows alike) and of a Prometheus rules file
# (*.yml, *.yaml: each rule's expr), one per line with its whitespace squeezed, so that
# each line can be sent to a Prometheus as it is (tests/e2e does). With no FILE:
# grafana-dashboard.json and alerts.yml beside this script.
#
# In the dashboard's expressions the Grafana variables are substituted: $__rate_interval
# and $__interval by 1m, $__range by 1h, any other $name, ${name}, ${name:format} or
# [[name]] (the dashboard's own variables: $instance, $namespace, $pod, always matched
# with =~) by .* (Grafana's "All"). A Grafana built-in not listed here stays as it is,
# and the $ it keeps shows that this script needs a line more.
#
# In the rules, an expr is a one-line scalar (plain or quoted) or a block (`expr: |`,
# `|-`, `>`, `>-`) of the lines indented deeper than the key. Lines of a block that are
# PromQL comments (starting with #) are dropped, as the lines are joined into one.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -gt 0 ] || set -- "$here/grafana-dashboard.json" "$here/alerts.yml"

dashboard_exprs() {
        jq -r '
                .. | objects | select(has("targets")) | .targets[]? | .expr // empty | select(test("\\S"))
                | gsub("\\$\\{?__(rate_)?interval\\}?"; "1m")
                | gsub("\\$\\{?__range\\}?"; "1h")
                | gsub("\\$\\{(?!__)[A-Za-z_][A-Za-z0-9_]*(:[A-Za-z]+)?\\}"; ".*")
                | gsub("\\$(?!__)[A-Za-z_][A-Za-z0-9_]*"; ".*")
                | gsub("\\[\\[[A-Za-z_][A-Za-z0-9_]*\\]\\]"; ".*")
                | gsub("\\s+"; " ") | sub("^ "; "") | sub(" $"; "")' "$1"
}

rules_exprs() {
        awk '
        function flush() {
                if (collecting) {
                        gsub(/[ \t]+/, " ", expr); sub(/^ /, "", expr); sub(/ $/, "", expr)
                        if (expr != "") print expr
                }
                collecting = 0; expr = ""
        }
        # the column of the key, "- expr:" in a list item included
        function key_column(line) { match(line, /expr:/); return RSTART }
        collecting {
                if ($0 ~ /^[ \t]*$/) next
                match($0, /^ */)
                if (RLENGTH >= column) {
                        line = $0
                        if (line ~ /^[ \t]*#/) next
                        expr = expr " " line
                        next
                }
                flush()
        }
        /^ *(- )?expr:/ {
                column = key_column($0)
                value = $0
                sub(/^ *(- )?expr: */, "", value)
                sub(/[ \t]+$/, "", value)
                collecting = 1
                if (value ~ /^[|>][-+]?$/) {
                        expr = ""
                } else if (value ~ /^".*"$/) {
                        value = substr(value, 2, length(value) - 2)
                        gsub(/\\"/, "\"", value); gsub(/\\\\/, "\\", value)
                        expr = value
                } else if (value ~ /^'\''.*'\''$/) {
                        value = substr(value, 2, length(value) - 2)
                        gsub(/'\'''\''/, "'\''", value)
                        expr = value
                } else {
                        sub(/[ \t]+#.*$/, "", value) # a YAML comment after a plain scalar
                        expr = value
                }
        }
        END { flush() }' "$1"
}

for file in "$@"; do
        [ -r "$file" ] || { echo "exprs.sh: $file: cannot be read" >&2; exit 1; }
        case $file in
        *.json) dashboard_exprs "$file" ;;
        *.yml | *.yaml) rules_exprs "$file" ;;
        *) echo "exprs.sh: $file: neither a dashboard (.json) nor a rules file (.yml, .yaml)" >&2; exit 1 ;;
        esac
done
