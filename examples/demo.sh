#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make demo: real runc containers placed by numapin-hook. Shows the topology,
# the decision and why, the rewritten spec fields, and what each container sees;
# then the NRI plugin answering a runtime (the test harness) for a pod.
# Runs on any machine (one NUMA node or many); needs root, runc and busybox-static.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
CTL=$ROOT/build/numapinctl
HOOK=$ROOT/build/numapin-hook
DEMO=$(mktemp -d /tmp/numapin-demo.XXXXXX)
STATE=$DEMO/state
trap 'for c in np-demo-a-$$ np-demo-b-$$ np-demo-c-$$ np-demo-d-$$; do runc delete -f $c >/dev/null 2>&1 || true; done; rm -rf "$DEMO"' EXIT

if [ "$(id -u)" -ne 0 ]; then
        echo "make demo runs real containers: run it as root" >&2
        exit 1
fi
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1. The machine, as numapin reads it from sysfs"
"$CTL" topology

# A busybox bundle whose config.json runs numapin-hook at createRuntime and poststop.
mkdir -p "$DEMO/bundle/rootfs/bin"
cp /bin/busybox "$DEMO/bundle/rootfs/bin/"
for applet in sh grep sleep cat dd; do ln -s busybox "$DEMO/bundle/rootfs/bin/$applet"; done
(cd "$DEMO/bundle" && runc spec)
jq --arg root "$DEMO/bundle/rootfs" --arg hook "$HOOK" --arg state "$STATE" '
        .process.terminal = false |
        .process.args = ["sh", "-c", "grep -E \"^(Cpus|Mems)_allowed_list\" /proc/self/status"] |
        .root.path = $root |
        .hooks = {
                "createRuntime": [{"path": $hook, "args": ["numapin-hook", "--state-dir", $state, "createRuntime"]}],
                "poststop": [{"path": $hook, "args": ["numapin-hook", "--state-dir", $state, "poststop"]}]
        }' "$DEMO/bundle/config.json" > "$DEMO/base.json"

# with_annotations JSON: the bundle's config.json becomes the base spec with these annotations
with_annotations() {
        jq --argjson a "$1" '.annotations = $a' "$DEMO/base.json" > "$DEMO/bundle/config.json"
}

# status_of CONTAINER: the Cpus/Mems_allowed_list lines of its init
status_of() {
        local pid
        pid=$(runc state "$1" | jq .pid)
        grep -E '^(Cpus|Mems)_allowed_list' "/proc/$pid/status" | sed 's/^/  /'
}
detached() { jq '.process.args = ["sleep", "60"]' "$DEMO/bundle/config.json" > "$DEMO/d.json" && cp "$DEMO/d.json" "$DEMO/bundle/config.json"; }

say "2. Container B shares its node's CPUs: policy.numapin.io/pod=bind, no exclusive CPUs"
with_annotations '{"policy.numapin.io/pod":"bind"}'
detached
runc run -d --bundle "$DEMO/bundle" "np-demo-b-$$" >/dev/null 2>&1 </dev/null
echo "what container B sees:"
status_of "np-demo-b-$$"

say "3. Container A asks for 1 exclusive CPU: policy bind, cpus.numapin.io/pod=1"
echo "numapinctl plan, before it starts (the same decision the hook makes):"
"$CTL" --state-dir "$STATE" plan --annotation policy.numapin.io/pod=bind --annotation cpus.numapin.io/pod=1 | sed 's/^/  /'
with_annotations '{"policy.numapin.io/pod":"bind","cpus.numapin.io/pod":"1"}'
detached
runc run -d --bundle "$DEMO/bundle" "np-demo-a-$$" >/dev/null 2>&1 </dev/null
echo "spec fields the hook wrote into A's config.json:"
jq -c '{cpus: .linux.resources.cpu.cpus, mems: .linux.resources.cpu.mems}' "$DEMO/bundle/config.json" | sed 's/^/  /'
echo "what container A sees:"
status_of "np-demo-a-$$"
echo "what container B sees now (moved off A's exclusive CPU while it runs):"
status_of "np-demo-b-$$"

say "4. The allocation ledger"
"$CTL" --state-dir "$STATE" list | sed 's/^/  /'

say "5. An unannotated container is left alone"
with_annotations '{}'
runc run --bundle "$DEMO/bundle" "np-demo-c-$$" </dev/null | sed 's/^/  /'

say "6. A request for a node this machine does not have is refused"
with_annotations '{"nodes.numapin.io/pod":"64"}'
if runc run --bundle "$DEMO/bundle" "np-demo-c-$$" </dev/null > "$DEMO/refused.txt" 2>&1; then
        echo "  unexpected: the container started"
else
        grep -o 'numapin-hook: error: [^"\\]*' "$DEMO/refused.txt" | head -1 | sed 's/^/  runc: /'
fi
runc delete -f "np-demo-c-$$" >/dev/null 2>&1 || true

say "7. A exits; poststop releases its CPU and B gets it back"
runc kill "np-demo-a-$$" KILL >/dev/null 2>&1 || true
sleep 0.5
runc delete -f "np-demo-a-$$" >/dev/null 2>&1 || true
echo "what container B sees:"
status_of "np-demo-b-$$"
"$CTL" --state-dir "$STATE" list | sed 's/^/  /'
runc kill "np-demo-b-$$" KILL >/dev/null 2>&1 || true
sleep 0.5
runc delete -f "np-demo-b-$$" >/dev/null 2>&1 || true

say "8. Locality: what the eBPF monitor counted (container D copies through a 64 MiB buffer)"
with_annotations '{"policy.numapin.io/pod":"bind"}'
jq '.process.args = ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=2"]' "$DEMO/bundle/config.json" > "$DEMO/d.json" &&
        cp "$DEMO/d.json" "$DEMO/bundle/config.json"
runc run --bundle "$DEMO/bundle" "np-demo-d-$$" </dev/null >/dev/null 2>&1 || true
runc delete -f "np-demo-d-$$" >/dev/null 2>&1 || true
echo "numapinctl stats (exited containers keep their final counters):"
"$CTL" --state-dir "$STATE" stats | sed 's/^/  /'
echo "numapinctl stats np-demo-d-$$:"
"$CTL" --state-dir "$STATE" stats "np-demo-d-$$" | sed 's/^/  /'
say "9. The same for Prometheus: numapin-exporter serves /metrics (here a few of its series)"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$ROOT/build/numapin-exporter" --state-dir "$STATE" --listen "127.0.0.1:$port" &
EXPORTER=$!
for _ in $(seq 50); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break
        sleep 0.1
done
echo "curl http://127.0.0.1:$port/metrics:"
curl -fsS "http://127.0.0.1:$port/metrics" |
        grep -E '^numapin_(container_pages_allocated_total|container_info|node_cpus|placements_total\{source="hook",result="(placed|refused)"\})' |
        grep -v ',state="\(reserved\|isolated\)"' | sed 's/^/  /' || true
kill "$EXPORTER" 2>/dev/null || true
wait "$EXPORTER" 2>/dev/null || true
say "10. The NRI plugin: numapin-nri answers a runtime's calls (the project's NRI harness plays containerd)"
NRI_STATE=$DEMO/nri-state
echo '{}' > "$DEMO/nri-config.json"
cat > "$DEMO/nri-steps" <<'STEPS'
create web pod=shop name=web pod:policy.numapin.io/pod=bind
create db pod=shop name=db pod:policy.numapin.io/pod=bind pod:cpus.numapin.io/container.db=1
update web
create cache pod=shop name=cache pod:policy.numapin.io/pod=preferred
stop db
STEPS
sed 's/^/  runtime: /' "$DEMO/nri-steps"
echo "the plugin's answers (cpuset adjustments, updates of other containers, refusals):"
"$ROOT/build/tests/nri-harness" --plugin "$ROOT/build/numapin-nri" --state-dir "$NRI_STATE" --log "$DEMO/nri.log" \
        script "$DEMO/nri-steps" -- --config "$DEMO/nri-config.json" 2>&1 | sed 's/^/  numapin-nri: /'
echo "the ledger it keeps, the same as the hook's:"
"$CTL" --state-dir "$NRI_STATE" list | sed 's/^/  /'

echo
echo "demo done: numapin placed, explained, re-pinned, refused, released and measured real runc containers,"
echo "served the figures to Prometheus, and placed the same way through NRI."
