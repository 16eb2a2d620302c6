// SPDX-License-Identifier: MIT
/* How np_policy_place() ranks what fits when the nodes are auto (issue 15): spread or
 * pack, nearness to the container's devices, the nodes of its pod and the pod's demand,
 * the memory tier, and exclusive CPUs kept off the last shared CPU of shared containers.
 * The request fields that core fills from devices and pods are set here by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy_test.h"

/* 4node-distance with node 1 holding 1 and node 2 holding 2 of their 4 CPUs. */
static struct scenario *four_nodes_in_use(void)
{
        struct scenario *s = scenario_new("4node-distance");

        hold_exclusive(s, "1", 1);
        hold_exclusive(s, "2", 2);
        return s;
}

static void test_policy_spread_takes_the_freest_node_and_pack_the_fullest_that_fits(void **state)
{
        struct scenario *s = four_nodes_in_use();
        struct np_request request = auto_request(NP_POLICY_BIND, 1);

        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0");
        assert_contains(s->placement.reason, "auto (spread): node 0 has the most free capacity that fits (4 free CPUs");

        request.strategy = NP_STRATEGY_PACK;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "2");
        assert_cpulist_equal(&s->placement.cpus, "10");
        assert_contains(s->placement.reason, "auto (pack): node 2 is the fullest that fits (2 free CPUs, 14.4 GiB free)");

        /* 3 do not fit on node 2: the fullest that fits is node 1 */
        request.exclusive_cpus = 3;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "1");
        assert_contains(s->placement.reason, "auto (pack): node 1 is the fullest that fits (3 free CPUs");

        /* shared requests rank by the same free capacity */
        request = auto_request(NP_POLICY_BIND, 0);
        request.strategy = NP_STRATEGY_PACK;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "2");
        assert_cpulist_equal(&s->placement.cpus, "10-11");
        scenario_free(s);
}

static void test_policy_strategy_default_is_the_configs(void **state)
{
        struct scenario *s = four_nodes_in_use();
        struct np_request request = auto_request(NP_POLICY_BIND, 1);

        s->config.strategy = NP_STRATEGY_PACK;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "2");
        assert_contains(s->placement.reason, "auto (pack)");

        /* the request's own strategy wins */
        request.strategy = NP_STRATEGY_SPREAD;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0");
        assert_contains(s->placement.reason, "auto (spread)");
        scenario_free(s);
}

static void test_policy_pack_fills_one_node_before_the_next(void **state)
{
        static const char *const expected_cpus[] = { "8-9,24-25", "10-11,26-27", "12-13,28-29", "14-15,30-31",
                                                     "0-1,16-17" };
        struct scenario *s = scenario_new("2socket-smt");
        struct np_request request = auto_request(NP_POLICY_BIND, 4);

        /* empty, node 1 has 4 MiB less free memory: the fuller one */
        request.strategy = NP_STRATEGY_PACK;
        for (size_t i = 0; i < ARRAY_SIZE(expected_cpus); i++) {
                place_ok(s, &request);
                assert_cpulist_equal(&s->placement.cpus, expected_cpus[i]);
                hold(s);
        }
        scenario_free(s);
}

static void test_policy_pack_and_spread_of_node_sets_rank_by_distance_first(void **state)
{
        struct scenario *s = four_nodes_in_use();
        struct np_request request = auto_request(NP_POLICY_BIND, 0);

        /* pairs 0-1 and 2-3 are the closest (12); 0-1 has 7 free CPUs, 2-3 has 6 */
        request.node_count = 2;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0-1");
        assert_contains(s->placement.reason,
                        "auto (spread): nodes 0-1 are the closest set of 2 that fits (total distance 12), the one with the most free capacity (7 free CPUs");

        request.strategy = NP_STRATEGY_PACK;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "2-3");
        assert_contains(s->placement.reason,
                        "auto (pack): nodes 2-3 are the closest set of 2 that fits (total distance 12), the fullest of those (6 free CPUs");
        scenario_free(s);
}

static void test_policy_equal_free_capacity_goes_to_the_lower_node_id(void **state)
{
        struct scenario *s = scenario_new("4node-distance");
        struct np_request request = auto_request(NP_POLICY_BIND, 2);

        /* 8 GiB held on every node leaves each 8 GiB: nothing tells them apart */
        for (unsigned int node = 0; node < 4; node++)
                s->usage.nodes[node].memory_bytes = 8 * GIB;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0");
        request.strategy = NP_STRATEGY_PACK;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0");
        request.node_count = 2;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0-1");
        scenario_free(s);
}

/* An auto request with devices on `nodes` (set by hand: the lifecycle code fills them). */
static struct np_request device_request(unsigned int exclusive_cpus, const char *nodes, const char *note)
{
        struct np_request request = auto_request(NP_POLICY_BIND, exclusive_cpus);

        request.device_affinity = true;
        request.device_nodes = np_test_cpulist(nodes);
        snprintf(request.device_note, sizeof(request.device_note), "%s", note);
        return request;
}

static void test_policy_devices_pull_auto_to_their_node(void **state)
{
        struct scenario *s = scenario_new("4node-distance");
        struct np_request request = device_request(2, "2", "/dev/nvme0n1 on node 2");

        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "2");
        assert_cpulist_equal(&s->placement.cpus, "8-9");
        assert_cpulist_equal(&s->placement.mems, "2");
        assert_contains(s->placement.reason,
                        "auto (spread): node 2 is nearest the devices (/dev/nvme0n1 on node 2): device distance 10, 4 free CPUs");

        /* before the strategy: pack does not move it */
        request.strategy = NP_STRATEGY_PACK;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "2");
        scenario_free(s);
}

static void test_policy_devices_on_two_nodes_take_the_node_or_set_nearest_to_both(void **state)
{
        struct scenario *s = scenario_new("4node-distance");
        struct np_request request = device_request(0, "1,3", "/dev/nvidia0 on node 1, /dev/nvidia1 on node 3");

        /* node 1 and node 3 are 30 from both (10 + 20), nodes 0 and 2 are 34: the freer of 1 and 3 */
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "1");
        assert_contains(s->placement.reason, "node 1 is nearest the devices (/dev/nvidia0 on node 1, /dev/nvidia1 on "
                                             "node 3): device distance 30");
        request.strategy = NP_STRATEGY_PACK;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "3");

        /* two nodes: 1 and 3 together are 20 from the devices, before any closer pair */
        request.node_count = 2;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "1,3");
        assert_contains(s->placement.reason, "nodes 1,3 are nearest the devices");
        assert_contains(s->placement.reason, "device distance 20, total distance 20");

        /* devices on 0 and 1: both are 22 from them, far nodes 42 */
        request = device_request(0, "0-1", "");
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0");
        assert_contains(s->placement.reason, "nearest the devices (devices on nodes 0-1): device distance 22");
        scenario_free(s);
}

static void test_policy_devices_whose_nodes_cannot_hold_it_take_the_nearest_that_fits(void **state)
{
        struct scenario *s = scenario_new("4node-distance");
        struct np_request request = device_request(2, "2", "/dev/nvme0n1 on node 2");

        hold_exclusive(s, "2", 3);
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "3");
        assert_contains(s->placement.reason,
                        "auto (spread): the devices' nodes 2 cannot hold 2 exclusive CPUs (cpus.numapin.io) and no memory limit; node 3 is the nearest that fits (/dev/nvme0n1 on node 2): device distance 12");

        /* more than any node, and no pair with node 2 holds 6: the pairs 12 from the devices, then
         * the closer of those */
        request.exclusive_cpus = 6;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "1,3");
        assert_contains(s->placement.reason, "the devices' nodes 2 cannot hold 6 exclusive CPUs (cpus.numapin.io) and "
                                             "no memory limit; nodes 1,3 are the nearest that fits");
        assert_contains(s->placement.reason, "device distance 12, total distance 20");
        scenario_free(s);

        /* with 2 free on node 2, the pair with it holds 6 */
        s = scenario_new("4node-distance");
        hold_exclusive(s, "2", 2);
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "2-3");
        assert_contains(s->placement.reason, "nodes 2-3 are nearest the devices (/dev/nvme0n1 on node 2): device distance 10");
        scenario_free(s);
}

static void test_policy_devices_on_a_memory_only_node_pull_to_its_nearest_cpu_node(void **state)
{
        struct scenario *s = scenario_new("memory-only-node");
        struct np_request request = auto_request(NP_POLICY_BIND, 0);

        /* without devices pack takes node 1 (less free memory) */
        request.strategy = NP_STRATEGY_PACK;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "1");

        /* a device on the CXL node 2: node 0 is 14 from it, node 1 is 24 */
        request = device_request(0, "2", "/dev/dax0.0 on node 2");
        request.strategy = NP_STRATEGY_PACK;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0");
        assert_cpulist_equal(&s->placement.cpus, "0-3");
        assert_cpulist_equal(&s->placement.mems, "0");
        assert_contains(s->placement.reason, "node 0 is nearest the devices (/dev/dax0.0 on node 2): device distance 14");
        scenario_free(s);
}

static void test_policy_devices_ignored_leave_auto_to_the_strategy(void **state)
{
        struct scenario *s = scenario_new("4node-distance");
        struct np_request request = device_request(2, "2", "/dev/nvme0n1 on node 2");

        request.device_affinity = false;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0");
        assert_contains(s->placement.reason, "auto (spread): node 0 has the most free capacity");
        assert_contains(s->placement.reason, "; devices ignored (devices.numapin.io ignore): /dev/nvme0n1 on node 2");

        /* devices without a NUMA node are only named */
        request = device_request(2, "", "/dev/sda has no NUMA node");
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0");
        assert_contains(s->placement.reason, "; devices: /dev/sda has no NUMA node");

        /* an explicit node list is not moved */
        request = nodes_request("1", 2);
        request.device_affinity = true;
        request.device_nodes = np_test_cpulist("2");
        snprintf(request.device_note, sizeof(request.device_note), "/dev/nvme0n1 on node 2");
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "1");
        assert_contains(s->placement.reason, "devices not considered, the nodes are given: /dev/nvme0n1 on node 2");
        scenario_free(s);
}

/* A container of pod ns/web whose pod holds `pod_nodes` already ("" for the pod's first). */
static struct np_request pod_request(unsigned int exclusive_cpus, const char *pod_nodes)
{
        struct np_request request = auto_request(NP_POLICY_BIND, exclusive_cpus);

        request.scope = NP_SCOPE_POD;
        snprintf(request.pod_namespace, sizeof(request.pod_namespace), "ns");
        snprintf(request.pod_name, sizeof(request.pod_name), "web");
        snprintf(request.pod_id, sizeof(request.pod_id), "sandbox1");
        if (pod_nodes[0]) {
                request.pod_nodes_fixed = true;
                request.pod_nodes = np_test_cpulist(pod_nodes);
        }
        return request;
}

static void test_policy_pod_nodes_take_the_pods_container_there(void **state)
{
        struct scenario *s = scenario_new("4node-distance");
        struct np_request request = pod_request(2, "1");

        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "1");
        assert_cpulist_equal(&s->placement.cpus, "4-5");
        assert_cpulist_equal(&s->placement.mems, "1");
        assert_contains(s->placement.reason,
                        "pod scope: on the pod's nodes 1, which pod 'ns/web' (sandbox sandbox1, scope.numapin.io pod) holds");

        /* a shared container of the pod, and one whose node list agrees */
        request = pod_request(0, "1");
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.cpus, "4-7");
        request.nodes_auto = false;
        request.nodes = np_test_cpulist("1");
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "1");
        scenario_free(s);
}

static void test_policy_pod_nodes_that_cannot_hold_it_are_refused_never_left(void **state)
{
        struct scenario *s = scenario_new("4node-distance");
        struct np_request request = pod_request(4, "1");

        hold_exclusive(s, "1", 2);
        assert_int_equal(place(s, &request, 0), -ENOSPC);
        assert_int_equal(s->diag.error, -ENOSPC);
        assert_contains(s->diag.message,
                        "pod 'ns/web' (sandbox sandbox1, scope.numapin.io pod) holds nodes 1, which cannot hold 4 exclusive CPUs (cpus.numapin.io) and no memory limit: node 1: 2 free CPUs, 14.4 GiB free");

        /* without its names the pod is its sandbox id */
        request.pod_namespace[0] = request.pod_name[0] = '\0';
        assert_int_equal(place(s, &request, 0), -ENOSPC);
        assert_contains(s->diag.message, "pod sandbox 'sandbox1' (scope.numapin.io pod) holds nodes 1, which cannot");

        /* a node list other than the pod's is refused naming both */
        request = pod_request(1, "1");
        request.nodes_auto = false;
        request.nodes = np_test_cpulist("2");
        assert_int_equal(place(s, &request, 0), -EINVAL);
        assert_contains(s->diag.message,
                        "annotation 'nodes.numapin.io' asks for nodes 2, but pod 'ns/web' (sandbox sandbox1, scope.numapin.io pod) holds nodes 1");
        scenario_free(s);
}

static void test_policy_pods_first_container_chooses_nodes_for_the_pods_demand(void **state)
{
        struct scenario *s = scenario_new("4node-distance");
        struct np_request request = pod_request(0, "");

        /* its own 1 GiB fits on one node, the pod's 20 GiB does not */
        s->demand = (struct np_demand){ .cpu_millis = 1000, .memory_bytes = GIB };
        request.pod_demand = (struct np_demand){ .cpu_millis = 500, .memory_bytes = 20 * GIB };
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0-1");
        assert_cpulist_equal(&s->placement.mems, "0-1");
        assert_int_equal(s->placement.demand.memory_bytes, GIB);
        assert_int_equal(s->placement.demand.cpu_millis, 1000);
        assert_contains(s->placement.reason, "; pod scope: nodes chosen for the pod's demand (1.0 CPUs, 20.0 GiB)");

        /* exclusive: 2 CPUs for itself on nodes that hold the pod's 6 */
        request = pod_request(2, "");
        request.pod_demand = (struct np_demand){ .cpu_millis = 6000 };
        s->demand = (struct np_demand){};
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0-1");
        assert_int_equal(np_cpulist_count(&s->placement.exclusive_cpus), 2);
        assert_contains(s->placement.reason, "pod scope: nodes chosen for the pod's demand (6.0 CPUs, no memory limit)");

        /* the pod's demand unknown: its own */
        request = pod_request(2, "");
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0");
        assert_contains(s->placement.reason, "pod scope: the pod's first container, nodes chosen for its own demand");

        /* a pod larger than the machine */
        request.pod_demand = (struct np_demand){ .memory_bytes = 100 * GIB };
        assert_int_equal(place(s, &request, 0), -ENOSPC);
        assert_contains(s->diag.message, "no node or set of nodes fits 2 exclusive CPUs (cpus.numapin.io) and 100.0 GiB, "
                                         "the demand of pod 'ns/web'");
        scenario_free(s);
}

static void test_policy_auto_never_gives_a_memory_only_node_in_local_tier(void **state)
{
        struct scenario *s = scenario_new("memory-only-node");
        struct np_request request = auto_request(NP_POLICY_BIND, 0);

        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0");
        assert_cpulist_equal(&s->placement.mems, "0");
        request.node_count = 2;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.mems, "0-1");
        /* even when the memory would fit only with the CXL node's */
        request = auto_request(NP_POLICY_BIND, 2);
        s->demand.memory_bytes = 20 * GIB;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0-1");
        assert_cpulist_equal(&s->placement.mems, "0-1");
        scenario_free(s);
}

static void test_policy_extended_tier_adds_the_nearest_memory_only_nodes(void **state)
{
        struct scenario *s = scenario_new("memory-only-node");
        struct np_request request = auto_request(NP_POLICY_BIND, 0);

        /* the CXL node 2 is nearest node 0 (14; node 1: 24) */
        request.memory_tier = NP_MEMORY_TIER_EXTENDED;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0");
        assert_cpulist_equal(&s->placement.cpus, "0-3");
        assert_cpulist_equal(&s->placement.mems, "0,2");
        assert_true(s->placement.write_mems);
        assert_contains(s->placement.reason, "; memory-tier extended: memory also on memory-only node 2, nearest to these nodes");

        /* on node 1 there is none to add */
        request.strategy = NP_STRATEGY_PACK;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "1");
        assert_cpulist_equal(&s->placement.mems, "1");
        assert_contains(s->placement.reason, "memory-tier extended: no memory-only node is nearest to these nodes");

        /* the pod's nodes get it too */
        request = pod_request(0, "0");
        request.memory_tier = NP_MEMORY_TIER_EXTENDED;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.mems, "0,2");

        /* an explicit node list gives exactly its memory nodes */
        request = nodes_request("0", 0);
        request.memory_tier = NP_MEMORY_TIER_EXTENDED;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.mems, "0");
        assert_contains(s->placement.reason, "memory of the annotated nodes only");

        /* cpus-only leaves memory alone whatever the tier */
        request = auto_request(NP_POLICY_CPUS_ONLY, 0);
        request.memory_tier = NP_MEMORY_TIER_EXTENDED;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.mems, "0-2");
        assert_false(s->placement.write_mems);
        scenario_free(s);
}

/* NP_PLACE_NO_REASON (the NRI plugin and the hook below log level info) skips only the
 * reason: each kind of request lands where it lands with its reason, and a refusal
 * still names why. */
static void test_policy_no_reason_decides_the_same_without_the_text(void **state)
{
        struct scenario *s = scenario_new("memory-only-node");
        struct np_request requests[] = {
                auto_request(NP_POLICY_BIND, 0), auto_request(NP_POLICY_BIND, 2), auto_request(NP_POLICY_CPUS_ONLY, 1),
                nodes_request("1", 0),           pod_request(2, ""),              pod_request(0, "0"),
        };

        requests[0].memory_tier = NP_MEMORY_TIER_EXTENDED;
        requests[4].pod_demand = (struct np_demand){ .cpu_millis = 6000 };
        for (size_t i = 0; i < ARRAY_SIZE(requests); i++) {
                struct np_placement explained;

                place_ok(s, &requests[i]);
                explained = s->placement;
                assert_true(explained.reason[0] != '\0');
                assert_int_equal(place(s, &requests[i], NP_PLACE_NO_REASON), 0);
                assert_string_equal(s->placement.reason, "");
                assert_true(np_cpulist_equal(&s->placement.nodes, &explained.nodes));
                assert_true(np_cpulist_equal(&s->placement.cpus, &explained.cpus));
                assert_true(np_cpulist_equal(&s->placement.mems, &explained.mems));
                assert_true(np_cpulist_equal(&s->placement.exclusive_cpus, &explained.exclusive_cpus));
                assert_int_equal(s->placement.write_mems, explained.write_mems);
                assert_int_equal(s->placement.policy, explained.policy);
        }
        requests[3] = nodes_request("1", 64);
        assert_int_equal(place(s, &requests[3], NP_PLACE_NO_REASON), -ENOSPC);
        assert_contains(s->diag.message, "nodes 1 cannot hold 64 exclusive CPUs");
        scenario_free(s);
}

/* np_ledger_place() refuses an exclusive placement that takes the last shared CPU of a node
 * a shared container is bound to; auto goes elsewhere when it can. */
static void test_policy_exclusive_request_avoids_taking_a_shared_containers_last_cpu(void **state)
{
        struct scenario *s = scenario_new("2socket-smt");
        struct np_request shared = nodes_request("0", 0), request = auto_request(NP_POLICY_BIND, 16);

        place_ok(s, &shared);
        hold(s);
        /* node 0 would be chosen by free memory; all 16 of its CPUs would leave the shared one none */
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "1");
        assert_cpulist_equal(&s->placement.cpus, "8-15,24-31");
        assert_contains(s->placement.reason, "passed over nodes where its exclusive CPUs would take the last shared "
                                             "CPU of a shared container");

        /* 15 leave it one: node 0 is fine */
        request.exclusive_cpus = 15;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0");
        assert_true(strstr(s->placement.reason, "passed over") == NULL);

        /* across both nodes, CPUs come from node 0 first (the lower id of equals): refused there,
         * so nothing fits so and np_ledger_place() decides */
        request.exclusive_cpus = 20;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0-1");
        assert_true(strstr(s->placement.reason, "passed over") == NULL);
        scenario_free(s);

        /* with the shared container on node 1 the same 20 are taken 16 from node 0, 4 from node 1 */
        s = scenario_new("2socket-smt");
        shared = nodes_request("1", 0);
        place_ok(s, &shared);
        hold(s);
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0-1");
        assert_cpulist_equal(&s->placement.cpus, "0-9,16-25");
        scenario_free(s);
}

static void test_policy_exclusive_request_fills_the_node_of_a_shared_container_when_nothing_else_fits(void **state)
{
        struct scenario *s = scenario_new("4node-distance");
        struct np_request shared = nodes_request("0", 0), request = auto_request(NP_POLICY_BIND, 4);

        place_ok(s, &shared);
        hold(s);
        hold_exclusive(s, "1-3", 12);
        /* only node 0 is left: placed there, and np_ledger_place() refuses it naming the shared container */
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0");
        /* a cpus-only shared container counts too, as it does for np_ledger_place() */
        np_usage_init(&s->usage);
        shared.policy = NP_POLICY_CPUS_ONLY;
        place_ok(s, &shared);
        hold(s);
        request.exclusive_cpus = 4;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "1");
        scenario_free(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_policy_spread_takes_the_freest_node_and_pack_the_fullest_that_fits),
                cmocka_unit_test(test_policy_strategy_default_is_the_configs),
                cmocka_unit_test(test_policy_pack_fills_one_node_before_the_next),
                cmocka_unit_test(test_policy_pack_and_spread_of_node_sets_rank_by_distance_first),
                cmocka_unit_test(test_policy_equal_free_capacity_goes_to_the_lower_node_id),
                cmocka_unit_test(test_policy_devices_pull_auto_to_their_node),
                cmocka_unit_test(test_policy_devices_on_two_nodes_take_the_node_or_set_nearest_to_both),
                cmocka_unit_test(test_policy_devices_whose_nodes_cannot_hold_it_take_the_nearest_that_fits),
                cmocka_unit_test(test_policy_devices_on_a_memory_only_node_pull_to_its_nearest_cpu_node),
                cmocka_unit_test(test_policy_devices_ignored_leave_auto_to_the_strategy),
                cmocka_unit_test(test_policy_pod_nodes_take_the_pods_container_there),
                cmocka_unit_test(test_policy_pod_nodes_that_cannot_hold_it_are_refused_never_left),
                cmocka_unit_test(test_policy_pods_first_container_chooses_nodes_for_the_pods_demand),
                cmocka_unit_test(test_policy_auto_never_gives_a_memory_only_node_in_local_tier),
                cmocka_unit_test(test_policy_extended_tier_adds_the_nearest_memory_only_nodes),
                cmocka_unit_test(test_policy_no_reason_decides_the_same_without_the_text),
                cmocka_unit_test(test_policy_exclusive_request_avoids_taking_a_shared_containers_last_cpu),
                cmocka_unit_test(test_policy_exclusive_request_fills_the_node_of_a_shared_container_when_nothing_else_fits),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
