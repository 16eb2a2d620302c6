// SPDX-License-Identifier: MIT
/* np_policy_place() on the fixture machines: whole SMT cores and one L3 for
 * exclusive CPUs, spreading by free capacity, closest node sets, memory demand,
 * reserved and isolated CPUs, memory policies, refusals and determinism. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy_test.h"

/* The one package of all the given nodes' CPUs; fails if they span packages. */
static unsigned int package_of_nodes(const struct np_topology *t, const struct np_cpulist *nodes)
{
        struct np_cpulist cpus;
        int first;

        np_topology_node_cpus(t, nodes, &cpus);
        first = np_cpulist_next(&cpus, 0);
        assert_true(first >= 0);
        NP_CPULIST_FOREACH(cpu, &cpus) {
                assert_int_equal(np_topology_cpu(t, (unsigned int)cpu)->package,
                                 np_topology_cpu(t, (unsigned int)first)->package);
        }
        return np_topology_cpu(t, (unsigned int)first)->package;
}

static void test_policy_exclusive_four_takes_two_whole_cores(void **state)
{
        struct scenario *s = scenario_new("2socket-smt");
        struct np_request request = auto_request(NP_POLICY_BIND, 4);

        place_ok(s, &request);
        assert_int_equal(s->placement.policy, NP_POLICY_BIND);
        assert_cpulist_equal(&s->placement.nodes, "0");
        assert_cpulist_equal(&s->placement.cpus, "0-1,16-17");
        assert_cpulist_equal(&s->placement.exclusive_cpus, "0-1,16-17");
        assert_cpulist_equal(&s->placement.mems, "0");
        assert_true(s->placement.write_mems);
        assert_contains(s->placement.reason, "exclusive CPUs 0-1,16-17, whole cores first");
        scenario_free(s);
}

static void test_policy_exclusive_three_takes_a_whole_core_and_one_thread(void **state)
{
        struct scenario *s = scenario_new("2socket-smt");
        struct np_request request = auto_request(NP_POLICY_BIND, 3);

        place_ok(s, &request);
        /* core 0 (CPUs 0 and 16) whole, then one thread of core 1 */
        assert_cpulist_equal(&s->placement.cpus, "0-1,16");
        assert_cpulist_equal(&s->placement.exclusive_cpus, "0-1,16");

        /* the next request of 3 takes a whole core and the free thread of the split one */
        hold(s);
        request = nodes_request("0", 3);
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.cpus, "2,17-18");
        scenario_free(s);
}

static void test_policy_auto_spreads_exclusive_requests_by_free_capacity(void **state)
{
        static const char *const expected_nodes[] = { "0", "1", "0", "1" };
        static const char *const expected_cpus[] = { "0-1,16-17", "8-9,24-25", "2-3,18-19", "10-11,26-27" };
        struct scenario *s = scenario_new("2socket-smt");
        struct np_request request = auto_request(NP_POLICY_BIND, 4);

        for (size_t i = 0; i < ARRAY_SIZE(expected_cpus); i++) {
                place_ok(s, &request);
                assert_cpulist_equal(&s->placement.nodes, expected_nodes[i]);
                assert_cpulist_equal(&s->placement.cpus, expected_cpus[i]);
                assert_contains(s->placement.reason, "has the most free capacity");
                hold(s);
        }
        scenario_free(s);
}

static void test_policy_exclusive_requests_never_overlap_until_the_machine_is_full(void **state)
{
        struct scenario *s = scenario_new("2socket-smt");
        struct np_request request = auto_request(NP_POLICY_BIND, 3);
        struct np_cpulist given = {};
        unsigned int placed = 0;
        int r;

        while ((r = place(s, &request, 0)) == 0) {
                assert_int_equal(np_cpulist_count(&s->placement.exclusive_cpus), 3);
                assert_true(np_cpulist_equal(&s->placement.cpus, &s->placement.exclusive_cpus));
                assert_false(np_cpulist_intersects(&given, &s->placement.exclusive_cpus));
                assert_cpulist_equal(&s->placement.nodes, placed % 2 == 0 ? "0" : "1");
                np_cpulist_or(&given, &s->placement.exclusive_cpus);
                hold(s);
                placed++;
                assert_true(placed <= 32);
        }
        /* 10 requests of 3 leave one CPU per node: too few even for both nodes together */
        assert_int_equal(placed, 10);
        assert_int_equal(np_cpulist_count(&given), 30);
        assert_int_equal(r, -ENOSPC);
        assert_int_equal(s->diag.error, -ENOSPC);
        assert_contains(s->diag.message, "3 exclusive CPUs");
        assert_contains(s->diag.message, "node 0: 1 free CPUs, 57.6 GiB free");
        assert_contains(s->diag.message, "node 1: 1 free CPUs, 57.6 GiB free");

        /* the two remaining CPUs still serve one request of 2, across both nodes */
        request = auto_request(NP_POLICY_BIND, 2);
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0-1");
        assert_false(np_cpulist_intersects(&given, &s->placement.cpus));
        scenario_free(s);
}

static void test_policy_single_cpu_requests_fill_every_cpu_once(void **state)
{
        struct scenario *s = scenario_new("2socket-smt");
        struct np_request request = auto_request(NP_POLICY_BIND, 1);
        struct np_cpulist given = {};

        for (unsigned int i = 0; i < 32; i++) {
                place_ok(s, &request);
                assert_int_equal(np_cpulist_count(&s->placement.cpus), 1);
                assert_false(np_cpulist_intersects(&given, &s->placement.cpus));
                np_cpulist_or(&given, &s->placement.cpus);
                hold(s);
        }
        assert_cpulist_equal(&given, "0-31");
        assert_int_equal(place(s, &request, 0), -ENOSPC);
        assert_contains(s->diag.message, "node 0: 0 free CPUs, 57.6 GiB free; node 1: 0 free CPUs, 57.6 GiB free");
        scenario_free(s);
}

static void test_policy_exclusive_request_larger_than_a_node_spans_two(void **state)
{
        struct scenario *s = scenario_new("2socket-smt");
        struct np_request request = auto_request(NP_POLICY_BIND, 20);

        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0-1");
        assert_cpulist_equal(&s->placement.mems, "0-1");
        /* all of node 0, then two whole cores of node 1 */
        assert_cpulist_equal(&s->placement.cpus, "0-9,16-25");
        scenario_free(s);
}

static void test_policy_explicit_node_gives_its_cpus_and_memory(void **state)
{
        struct scenario *s = scenario_new("2socket-smt");
        struct np_request request = nodes_request("1", 0);

        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "1");
        assert_cpulist_equal(&s->placement.mems, "1");
        assert_cpulist_equal(&s->placement.cpus, "8-15,24-31");
        assert_cpulist_equal(&s->placement.exclusive_cpus, "");
        assert_true(s->placement.write_mems);
        assert_contains(s->placement.reason, "nodes 1 as annotated");
        scenario_free(s);
}

static void test_policy_explicit_missing_node_is_refused_naming_it(void **state)
{
        struct scenario *s = scenario_new("2socket-smt");
        struct np_request request = nodes_request("0,5", 0);

        assert_int_equal(place(s, &request, 0), -ENOENT);
        assert_int_equal(s->diag.error, -ENOENT);
        assert_contains(s->diag.message, "node 5 does not exist");
        assert_contains(s->diag.message, "(0-1)");
        scenario_free(s);

        s = scenario_new("sparse-nodes");
        request = nodes_request("1", 0);
        assert_int_equal(place(s, &request, 0), -ENOENT);
        assert_contains(s->diag.message, "node 1 does not exist");
        assert_contains(s->diag.message, "(0,2)");
        scenario_free(s);
}

static void test_policy_explicit_nodes_too_small_are_refused_with_their_free_capacity(void **state)
{
        struct scenario *s = scenario_new("4node-distance");
        struct np_request request = nodes_request("1", 5);

        assert_int_equal(place(s, &request, 0), -ENOSPC);
        assert_contains(s->diag.message, "nodes 1 cannot hold 5 exclusive CPUs");
        assert_contains(s->diag.message, "node 1: 4 free CPUs, 14.4 GiB free");
        scenario_free(s);
}

static void test_policy_node_count_two_takes_the_closest_pair(void **state)
{
        struct scenario *s = scenario_new("4node-distance");
        struct np_request request = auto_request(NP_POLICY_BIND, 0);

        request.node_count = 2;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0-1");
        assert_cpulist_equal(&s->placement.mems, "0-1");
        assert_cpulist_equal(&s->placement.cpus, "0-7");
        assert_contains(s->placement.reason, "total distance 12");
        scenario_free(s);
}

static void test_policy_node_count_two_avoids_a_busy_node(void **state)
{
        struct scenario *s = scenario_new("4node-distance");
        struct np_request request = auto_request(NP_POLICY_BIND, 0);
        struct np_cpulist node0 = np_test_cpulist("0"), node0_cpus = np_test_cpulist("0-3");
        struct np_demand none = {};

        np_usage_add(&s->usage, NP_POLICY_BIND, &node0, &node0_cpus, &none);
        request.node_count = 2;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "2-3");
        assert_cpulist_equal(&s->placement.cpus, "8-15");
        scenario_free(s);
}

static void test_policy_node_count_on_the_large_machine_stays_in_one_socket(void **state)
{
        struct scenario *s = scenario_new("large-32node");
        struct np_request request = auto_request(NP_POLICY_BIND, 0);

        request.node_count = 2;
        place_ok(s, &request);
        assert_int_equal(np_cpulist_count(&s->placement.nodes), 2);
        package_of_nodes(s->topology, &s->placement.nodes);
        assert_contains(s->placement.reason, "total distance 12");

        /* beyond the exhaustive search: the greedy search must stay in one socket too */
        request.node_count = 8;
        place_ok(s, &request);
        assert_int_equal(np_cpulist_count(&s->placement.nodes), 8);
        package_of_nodes(s->topology, &s->placement.nodes);
        assert_contains(s->placement.reason, "total distance 336");

        /* whole sockets of exclusive CPUs: each request fills one socket, never two halves */
        request.exclusive_cpus = 256;
        for (unsigned int i = 0; i < 4; i++) {
                place_ok(s, &request);
                assert_int_equal(package_of_nodes(s->topology, &s->placement.nodes), i);
                hold(s);
        }
        assert_int_equal(place(s, &request, 0), -ENOSPC);
        scenario_free(s);
}

static void test_policy_memory_demand_beyond_one_node_takes_two_nodes(void **state)
{
        struct scenario *s = scenario_new("4node-distance");
        struct np_request request = auto_request(NP_POLICY_BIND, 0);

        /* each node has 14.4 GiB free */
        s->demand.memory_bytes = 20 * GIB;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0-1");
        assert_cpulist_equal(&s->placement.mems, "0-1");
        assert_int_equal(s->placement.demand.memory_bytes, 20 * GIB);

        s->demand.memory_bytes = 10 * GIB;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0");

        /* memory held by other containers counts against a node */
        hold(s);
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "1");

        s->demand.memory_bytes = 100 * GIB;
        assert_int_equal(place(s, &request, 0), -ENOSPC);
        assert_contains(s->diag.message, "100.0 GiB");
        scenario_free(s);
}

static void test_policy_cpus_only_leaves_memory_alone(void **state)
{
        struct scenario *s = scenario_new("memory-only-node");
        struct np_request request = auto_request(NP_POLICY_CPUS_ONLY, 0);

        /* a memory limit beyond any node does not matter when memory is left alone */
        s->demand.memory_bytes = 200 * GIB;
        place_ok(s, &request);
        assert_int_equal(s->placement.policy, NP_POLICY_CPUS_ONLY);
        assert_cpulist_equal(&s->placement.nodes, "0");
        assert_cpulist_equal(&s->placement.cpus, "0-3");
        assert_false(s->placement.write_mems);
        assert_cpulist_equal(&s->placement.mems, "0-2");
        assert_contains(s->placement.reason, "memory left alone");

        /* and it does not hold memory on the node */
        hold(s);
        assert_int_equal(s->usage.nodes[0].memory_bytes, 0);
        scenario_free(s);
}

static void test_policy_memory_only_node_can_be_bound_with_a_cpu_node(void **state)
{
        struct scenario *s = scenario_new("memory-only-node");
        struct np_request request = nodes_request("0,2", 0);

        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.cpus, "0-3");
        assert_cpulist_equal(&s->placement.mems, "0,2");

        request = nodes_request("2", 0);
        assert_int_equal(place(s, &request, 0), -ENOSPC);
        assert_contains(s->diag.message, "node 2: 0 free CPUs");

        /* auto never picks the memory-only node for CPUs */
        request = auto_request(NP_POLICY_BIND, 0);
        request.node_count = 2;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0-1");
        scenario_free(s);
}

static void test_policy_memory_policies_need_the_memory_policy_flag(void **state)
{
        static const enum np_policy policies[] = { NP_POLICY_PREFERRED, NP_POLICY_INTERLEAVE };
        struct scenario *s = scenario_new("2socket-smt");

        for (size_t i = 0; i < ARRAY_SIZE(policies); i++) {
                struct np_request request = auto_request(policies[i], 0);

                request.node_count = 2;
                assert_int_equal(place(s, &request, 0), -EOPNOTSUPP);
                assert_int_equal(s->diag.error, -EOPNOTSUPP);
                assert_contains(s->diag.message, np_policy_to_string(policies[i]));
                assert_contains(s->diag.message, "linux.memoryPolicy");

                assert_int_equal(place(s, &request, NP_PLACE_MEMORY_POLICY), 0);
                assert_int_equal(s->placement.policy, policies[i]);
                assert_cpulist_equal(&s->placement.nodes, "0-1");
                assert_cpulist_equal(&s->placement.mems, "0-1");
                assert_cpulist_equal(&s->placement.cpus, "0-31");
                /* the memory policy carries the nodes; cpuset.mems stays open */
                assert_false(s->placement.write_mems);
        }
        scenario_free(s);
}

static void test_policy_reserved_cpus_are_never_given(void **state)
{
        struct scenario *s = scenario_new("2socket-smt");
        struct np_request request = auto_request(NP_POLICY_BIND, 2);
        struct np_cpulist given = {};
        unsigned int placed = 0;

        s->config.reserved_cpus = np_test_cpulist("0-1,16-17");
        while (place(s, &request, 0) == 0) {
                assert_false(np_cpulist_intersects(&s->placement.cpus, &s->config.reserved_cpus));
                assert_false(np_cpulist_intersects(&s->placement.cpus, &given));
                np_cpulist_or(&given, &s->placement.cpus);
                hold(s);
                placed++;
                assert_true(placed <= 16);
        }
        assert_int_equal(s->diag.error, -ENOSPC);
        assert_cpulist_equal(&given, "2-15,18-31");

        /* nor in a shared cpuset */
        request = nodes_request("0", 0);
        np_usage_init(&s->usage);
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.cpus, "2-7,18-23");
        scenario_free(s);
}

static void test_policy_isolated_cpus_stay_out_of_shared_cpusets(void **state)
{
        struct scenario *s = scenario_new("offline-cpus");
        struct np_request request = nodes_request("0", 0);

        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.cpus, "0-2,4-5");
        request = nodes_request("0-1", 0);
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.cpus, "0-2,4-5,8-11,13-15");
        request = auto_request(NP_POLICY_BIND, 0);
        place_ok(s, &request);
        assert_false(np_cpulist_intersects(&s->placement.cpus, &s->topology->isolated_cpus));
        scenario_free(s);
}

static void test_policy_shared_containers_get_the_pool_minus_exclusive_cpus(void **state)
{
        struct scenario *s = scenario_new("2socket-smt");
        struct np_request exclusive = auto_request(NP_POLICY_BIND, 4);
        struct np_request shared = nodes_request("0-1", 0);

        place_ok(s, &exclusive);
        hold(s);
        place_ok(s, &exclusive);
        hold(s);
        assert_cpulist_equal(&s->usage.exclusive_cpus, "0-1,8-9,16-17,24-25");

        place_ok(s, &shared);
        assert_cpulist_equal(&s->placement.cpus, "2-7,10-15,18-23,26-31");
        assert_cpulist_equal(&s->placement.exclusive_cpus, "");
        assert_contains(s->placement.reason, "shared CPUs 2-7,10-15,18-23,26-31");

        shared = auto_request(NP_POLICY_BIND, 0);
        place_ok(s, &shared);
        assert_cpulist_equal(&s->placement.cpus, "2-7,18-23");
        scenario_free(s);
}

static void test_policy_auto_spreads_shared_requests_by_free_cpu_capacity(void **state)
{
        struct scenario *s = scenario_new("2socket-smt");
        struct np_request request = auto_request(NP_POLICY_BIND, 0);

        s->demand.cpu_millis = 1500;
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "0");
        hold(s);
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.nodes, "1");
        hold(s);
        assert_int_equal(s->usage.nodes[0].shared_cpu_millis, 1500);
        assert_int_equal(s->usage.nodes[1].shared_cpu_millis, 1500);

        /* more CPU than the whole machine has */
        s->demand.cpu_millis = 33000;
        assert_int_equal(place(s, &request, 0), -ENOSPC);
        assert_contains(s->diag.message, "33.0 shared CPUs");
        scenario_free(s);
}

static void test_policy_exclusive_eight_on_nps4_stays_in_one_l3(void **state)
{
        struct scenario *s = scenario_new("8node-nps4");
        struct np_request request = auto_request(NP_POLICY_BIND, 8);
        int l3 = -1;

        place_ok(s, &request);
        assert_int_equal(np_cpulist_count(&s->placement.cpus), 8);
        NP_CPULIST_FOREACH(cpu, &s->placement.cpus) {
                int cpu_l3 = np_topology_cpu(s->topology, (unsigned int)cpu)->l3;

                assert_true(cpu_l3 >= 0);
                if (l3 < 0)
                        l3 = cpu_l3;
                assert_int_equal(cpu_l3, l3);
        }
        assert_cpulist_equal(&s->placement.cpus, "0-3,64-67");
        scenario_free(s);
}

static void test_policy_exclusive_cpus_pick_the_l3_group_that_fits_tightest(void **state)
{
        struct scenario *s = scenario_new("8node-nps4");
        struct np_request request = nodes_request("0", 2);

        /* one core of CCX 0 (CPUs 0-3,64-67) taken: 8 no longer fit there, but in CCX 1 */
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.cpus, "0,64");
        hold(s);
        request = nodes_request("0", 8);
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.cpus, "4-7,68-71");
        hold(s);
        /* the 6 left in CCX 0 are a tight fit for 6 */
        request = nodes_request("0", 6);
        place_ok(s, &request);
        assert_cpulist_equal(&s->placement.cpus, "1-3,65-67");
        scenario_free(s);
}

static void test_policy_same_inputs_give_the_same_placement(void **state)
{
        struct scenario *s = scenario_new("8node-nps4");
        struct np_request request = auto_request(NP_POLICY_BIND, 6);
        struct np_placement first;

        s->demand.memory_bytes = 40 * GIB;
        for (int i = 0; i < 3; i++) {
                place_ok(s, &request);
                hold(s);
        }
        place_ok(s, &request);
        first = s->placement;
        place_ok(s, &request);
        assert_int_equal(s->placement.policy, first.policy);
        assert_true(np_cpulist_equal(&s->placement.nodes, &first.nodes));
        assert_true(np_cpulist_equal(&s->placement.cpus, &first.cpus));
        assert_true(np_cpulist_equal(&s->placement.mems, &first.mems));
        assert_true(np_cpulist_equal(&s->placement.exclusive_cpus, &first.exclusive_cpus));
        assert_int_equal(s->placement.write_mems, first.write_mems);
        assert_int_equal(s->placement.demand.memory_bytes, first.demand.memory_bytes);
        assert_string_equal(s->placement.reason, first.reason);
        scenario_free(s);
}

static void test_policy_none_leaves_the_container_alone_with_a_reason(void **state)
{
        struct scenario *s = scenario_new("2socket-smt");
        struct np_request request = { .policy = NP_POLICY_NONE, .annotated = true };

        place_ok(s, &request);
        assert_int_equal(s->placement.policy, NP_POLICY_NONE);
        assert_string_equal(s->placement.reason, "policy none: left alone");
        assert_true(np_cpulist_empty(&s->placement.cpus));
        assert_false(s->placement.write_mems);

        request = (struct np_request){ .policy = NP_POLICY_NONE };
        place_ok(s, &request);
        assert_contains(s->placement.reason, "no numapin annotation");

        request = (struct np_request){ .policy = NP_POLICY_NONE, .sandbox = true };
        place_ok(s, &request);
        assert_contains(s->placement.reason, "pod sandbox");
        scenario_free(s);
}

static void test_policy_node_count_beyond_the_machine_is_refused(void **state)
{
        struct scenario *s = scenario_new("memory-only-node");
        struct np_request request = auto_request(NP_POLICY_BIND, 0);

        request.node_count = 3;
        assert_int_equal(place(s, &request, 0), -EINVAL);
        assert_contains(s->diag.message, "3 nodes asked, this machine has 2 nodes with CPUs");
        scenario_free(s);
}

static void test_policy_usage_add_splits_demand_over_the_nodes(void **state)
{
        struct np_usage usage;
        struct np_cpulist nodes = np_test_cpulist("1,3"), none = {}, exclusive = np_test_cpulist("4-5");
        struct np_demand demand = { .cpu_millis = 3000, .memory_bytes = 4 * GIB };

        np_usage_init(&usage);
        np_usage_add(&usage, NP_POLICY_BIND, &nodes, &none, &demand);
        assert_int_equal(usage.nodes[1].shared_cpu_millis, 1500);
        assert_int_equal(usage.nodes[3].shared_cpu_millis, 1500);
        assert_int_equal(usage.nodes[1].memory_bytes, 2 * GIB);
        assert_int_equal(usage.nodes[3].memory_bytes, 2 * GIB);

        /* an exclusive container holds CPUs, not shared capacity */
        nodes = np_test_cpulist("0");
        np_usage_add(&usage, NP_POLICY_BIND, &nodes, &exclusive, &demand);
        assert_int_equal(usage.nodes[0].shared_cpu_millis, 0);
        assert_int_equal(usage.nodes[0].memory_bytes, 4 * GIB);
        assert_cpulist_equal(&usage.exclusive_cpus, "4-5");
        assert_int_equal(usage.containers, 2);
}

/* The shared containers per node, counted as np_ledger_place() counts them: every container
 * that holds no CPU exclusively (cpus-only too), on each of its nodes; policy none on none. */
static void test_policy_usage_counts_shared_containers_per_node(void **state)
{
        struct np_usage usage;
        struct np_cpulist nodes = np_test_cpulist("1,3"), node0 = np_test_cpulist("0"), none = {};
        struct np_cpulist exclusive = np_test_cpulist("0-1");
        struct np_demand demand = { .cpu_millis = 1000 };

        np_usage_init(&usage);
        np_usage_add(&usage, NP_POLICY_BIND, &nodes, &none, &demand);
        np_usage_add(&usage, NP_POLICY_CPUS_ONLY, &node0, &none, &demand);
        np_usage_add(&usage, NP_POLICY_BIND, &node0, &exclusive, &demand);
        np_usage_add(&usage, NP_POLICY_NONE, &none, &none, &demand);
        assert_int_equal(usage.nodes[0].shared_containers, 1);
        assert_int_equal(usage.nodes[1].shared_containers, 1);
        assert_int_equal(usage.nodes[2].shared_containers, 0);
        assert_int_equal(usage.nodes[3].shared_containers, 1);
        assert_int_equal(usage.shared_unbound, 1);

        np_usage_remove_shared(&usage, NP_POLICY_BIND, &nodes, &demand);
        np_usage_remove_shared(&usage, NP_POLICY_NONE, &none, &demand);
        assert_int_equal(usage.nodes[0].shared_containers, 1);
        assert_int_equal(usage.nodes[1].shared_containers, 0);
        assert_int_equal(usage.nodes[3].shared_containers, 0);
        assert_int_equal(usage.shared_unbound, 0);
        np_usage_remove_shared(&usage, NP_POLICY_CPUS_ONLY, &node0, &demand);
        assert_int_equal(usage.nodes[0].shared_containers, 0);
        /* never below zero */
        np_usage_remove_shared(&usage, NP_POLICY_CPUS_ONLY, &node0, &demand);
        assert_int_equal(usage.nodes[0].shared_containers, 0);
        assert_int_equal(usage.containers, 0);
}

/* A container placed before the NRI plugin connected is counted from its
 * cpuset: its nodes are those of its CPUs, its CPUs exclusive when it asked
 * for exclusive CPUs, all memory nodes when it has no mems. */
static void test_policy_from_cpuset_reads_back_nodes_and_exclusive_cpus(void **state)
{
        struct scenario *s = scenario_new("2socket-smt");
        struct np_request request = auto_request(NP_POLICY_BIND, 2);
        struct np_cpulist cpus = np_test_cpulist("8,24"), mems = np_test_cpulist("1");
        struct np_demand demand = { .memory_bytes = 1 << 20 };
        struct np_placement placement;

        (void)state;
        np_policy_from_cpuset(s->topology, &request, &cpus, &mems, &demand, &placement);
        assert_cpulist_equal(&placement.nodes, "1");
        assert_cpulist_equal(&placement.exclusive_cpus, "8,24");
        assert_cpulist_equal(&placement.mems, "1");
        assert_true(placement.write_mems);
        assert_int_equal(placement.demand.memory_bytes, 1 << 20);

        request = auto_request(NP_POLICY_CPUS_ONLY, 0);
        cpus = np_test_cpulist("7-8");
        np_policy_from_cpuset(s->topology, &request, &cpus, NULL, &demand, &placement);
        assert_cpulist_equal(&placement.nodes, "0-1");
        assert_true(np_cpulist_empty(&placement.exclusive_cpus));
        assert_cpulist_equal(&placement.mems, "0-1");
        assert_false(placement.write_mems);
        scenario_free(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_policy_from_cpuset_reads_back_nodes_and_exclusive_cpus),
                cmocka_unit_test(test_policy_exclusive_four_takes_two_whole_cores),
                cmocka_unit_test(test_policy_exclusive_three_takes_a_whole_core_and_one_thread),
                cmocka_unit_test(test_policy_auto_spreads_exclusive_requests_by_free_capacity),
                cmocka_unit_test(test_policy_exclusive_requests_never_overlap_until_the_machine_is_full),
                cmocka_unit_test(test_policy_single_cpu_requests_fill_every_cpu_once),
                cmocka_unit_test(test_policy_exclusive_request_larger_than_a_node_spans_two),
                cmocka_unit_test(test_policy_explicit_node_gives_its_cpus_and_memory),
                cmocka_unit_test(test_policy_explicit_missing_node_is_refused_naming_it),
                cmocka_unit_test(test_policy_explicit_nodes_too_small_are_refused_with_their_free_capacity),
                cmocka_unit_test(test_policy_node_count_two_takes_the_closest_pair),
                cmocka_unit_test(test_policy_node_count_two_avoids_a_busy_node),
                cmocka_unit_test(test_policy_node_count_on_the_large_machine_stays_in_one_socket),
                cmocka_unit_test(test_policy_memory_demand_beyond_one_node_takes_two_nodes),
                cmocka_unit_test(test_policy_cpus_only_leaves_memory_alone),
                cmocka_unit_test(test_policy_memory_only_node_can_be_bound_with_a_cpu_node),
                cmocka_unit_test(test_policy_memory_policies_need_the_memory_policy_flag),
                cmocka_unit_test(test_policy_reserved_cpus_are_never_given),
                cmocka_unit_test(test_policy_isolated_cpus_stay_out_of_shared_cpusets),
                cmocka_unit_test(test_policy_shared_containers_get_the_pool_minus_exclusive_cpus),
                cmocka_unit_test(test_policy_auto_spreads_shared_requests_by_free_cpu_capacity),
                cmocka_unit_test(test_policy_exclusive_eight_on_nps4_stays_in_one_l3),
                cmocka_unit_test(test_policy_exclusive_cpus_pick_the_l3_group_that_fits_tightest),
                cmocka_unit_test(test_policy_same_inputs_give_the_same_placement),
                cmocka_unit_test(test_policy_none_leaves_the_container_alone_with_a_reason),
                cmocka_unit_test(test_policy_node_count_beyond_the_machine_is_refused),
                cmocka_unit_test(test_policy_usage_add_splits_demand_over_the_nodes),
                cmocka_unit_test(test_policy_usage_counts_shared_containers_per_node),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
