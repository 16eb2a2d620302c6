# SPDX-License-Identifier: MIT
# The OCI hook and the NRI plugin decide alike for containers with devices (issue 15's
# device affinity) on 4node-devices: an NVIDIA GPU found through the driver's /proc file,
# an NVMe disk and an RDMA device found through sysfs, devices that disagree, devices
# without a NUMA node or unknown to sysfs, affinity turned off, a device node that is full,
# and a pod with pod scope around a GPU. Then what a user checks: where each landed.
source "$(dirname "$0")/../lib.sh"

unset NUMAPIN_STATE_DIR NUMAPIN_SYSFS_ROOT NUMAPIN_CGROUP_ROOT NUMAPIN_PROC_ROOT
HARNESS=$NP_HARNESS
NRI=$NP_NRI
SYSFS=$(np_fixture 4node-devices) || exit 1
# the NVIDIA driver's /proc/driver/nvidia/gpus, beside the fixture
export NUMAPIN_PROC_ROOT=$SYSFS.proc
CONF=$NP_TMP/config.json
echo '{"monitor": false}' >"$CONF"
[ -x "$NRI" ] || skip_suite "build/numapin-nri is not built (make build/numapin-nri)"
[ -x "$HARNESS" ] || skip_suite "build/tests/nri-harness is not built (make build/tests/nri-harness)"
[ -x "$NP_HOOK" ] || skip_suite "build/numapin-hook is not built (make)"

# 4 nodes of 4 CPUs; GPU minor 0 on node 1, minor 1 on node 3; NVMe b 259:0 on node 2;
# uverbs c 231:192 on node 3; SATA b 8:0 and /dev/null have no NUMA node
STEPS=(
        "create g1 name=gpu pod:cpus.numapin.io/pod=2 device=c:195:0:/dev/nvidia0 device=c:195:255:/dev/nvidiactl"
        "create f1 name=full pod:cpus.numapin.io/pod=3 device=c:195:0:/dev/nvidia0"
        "create n1 name=nvme pod:policy.numapin.io/pod=bind memory=1073741824 device=b:259:0:/dev/nvme0n1"
        "create r1 name=rdma pod:cpus.numapin.io/pod=1 device=c:231:192:/dev/infiniband/uverbs0"
        "create m1 name=mixed pod:policy.numapin.io/pod=bind device=c:195:0:/dev/nvidia0 device=b:259:0:/dev/nvme0n1"
        "create x1 name=nonuma pod:policy.numapin.io/pod=bind device=b:8:0:/dev/sda device=c:1:3:/dev/null"
        "create u1 name=unknown pod:policy.numapin.io/pod=bind device=c:240:9:/dev/foo"
        "create i1 name=ignored pod:devices.numapin.io/pod=ignore pod:cpus.numapin.io/pod=1 device=c:195:0:/dev/nvidia0"
        "create e1 name=explicit pod:nodes.numapin.io/pod=0 pod:policy.numapin.io/pod=bind device=b:259:0:/dev/nvme0n1"
        "stop g1"
        "create pg1 pod=gpupod name=a pod:scope.numapin.io/pod=pod pod:cpus.numapin.io/container.a=1 device=c:195:1:/dev/nvidia1"
        "create pg2 pod=gpupod name=b pod:scope.numapin.io/pod=pod pod:cpus.numapin.io/container.b=1"
        "stop pg1"
        "stop pg2"
)

source "$(dirname "$0")/decisions.bash"

mems_of() { jq -r '.linux.resources.cpu.mems // "-"' "$NP_TMP/bundles/$1/config.json"; }
cpus_of() { jq -r '.linux.resources.cpu.cpus // "-"' "$NP_TMP/bundles/$1/config.json"; }
expect_eq "devices: the GPU's container is on the GPU's node (1), found through the driver's /proc" 1 "$(mems_of g1)"
expect_eq "devices: the NVMe disk's container is on its node (2)" 2 "$(mems_of n1)"
expect_eq "devices: the RDMA device's container is on its node (3)" 3 "$(mems_of r1)"
expect_eq "devices: a GPU's node that cannot hold 3 exclusive CPUs: the nearest that fits (0, distance 12)" 0 "$(mems_of f1)"
expect_eq "devices: an explicit node list wins over the devices" 0 "$(mems_of e1)"
expect_eq "devices: a pod's containers follow its first one, placed next to its GPU (node 3)" "3 3" \
        "$(mems_of pg1) $(mems_of pg2)"
expect_eq "devices: devices without a NUMA node or unknown to sysfs do not stop the placement" "0 0" \
        "${hook_status[create-x1]} ${hook_status[create-u1]}"

# the reason a person reads: numapinctl plan with the same devices names each one
plan() { "$NP_CTL" --config "$CONF" --sysfs-root "$SYSFS" --state-dir "$NP_TMP/plan-state" plan --json "$@"; }
reason=$(plan --annotation cpus.numapin.io/pod=1 --device c:195:1:/dev/nvidia1 --device b:8:0:/dev/sda \
        --device c:240:9:/dev/foo | jq -r .reason)
expect_contains "plan: the reason names the device and its node" "/dev/nvidia1 on node 3" "$reason"
expect_contains "plan: a device without a NUMA node is noted" "/dev/sda has no NUMA node" "$reason"
expect_contains "plan: a device sysfs does not know is noted" "/dev/foo" "$reason"
reason=$(plan --annotation cpus.numapin.io/pod=1 --annotation devices.numapin.io/pod=ignore \
        --device c:195:1:/dev/nvidia1 | jq -r '"\(.nodes) \(.reason)"')
expect_contains "plan: devices.numapin.io ignore leaves the devices out, and says so" "devices ignored" "$reason"
bad=$(plan --annotation devices.numapin.io/pod=off 2>&1)
expect_contains "an unknown devices value is refused, naming the key and the allowed values" \
        "annotation 'devices.numapin.io/pod': 'off' is not a device affinity; expected auto" "$bad"
