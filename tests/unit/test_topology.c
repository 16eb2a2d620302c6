// SPDX-License-Identifier: MIT
/* np_topology_load() on every sysfs fixture machine (nodes, CPUs, memory,
 * distances, SMT cores, L3 groups, isolated and offline CPUs, memory-only nodes
 * and the CPU node nearest each) and on copies of a fixture with one file broken,
 * which must be refused with a message naming it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/topology.h"
#include "helpers.h"

/* A node's distance row as sysfs writes it ("10 21"). */
static void assert_distance_row(const struct np_topology *t, unsigned int node_id, const char *expected)
{
        const struct np_node *node = np_topology_node(t, node_id);
        char row[1024] = "";
        size_t used = 0;

        assert_non_null(node);
        for (size_t i = 0; i < t->n_nodes; i++)
                used += (size_t)snprintf(row + used, sizeof(row) - used, "%s%u", i ? " " : "", node->distances[i]);
        assert_string_equal(row, expected);
}

static void assert_node(const struct np_topology *t, unsigned int node_id, const char *cpus, uint64_t memory_total_kb,
                        uint64_t memory_free_kb)
{
        const struct np_node *node = np_topology_node(t, node_id);

        assert_non_null(node);
        assert_int_equal(node->id, node_id);
        assert_cpulist_equal(&node->cpus, cpus);
        assert_int_equal(node->memory_total_kb, memory_total_kb);
        assert_int_equal(node->memory_free_kb, memory_free_kb);
}

/* The number of distinct L3 ids among the CPUs of a node. */
static unsigned int count_l3_groups(const struct np_topology *t, unsigned int node_id)
{
        int seen[64];
        unsigned int n = 0;

        NP_CPULIST_FOREACH(id, &np_topology_node(t, node_id)->cpus) {
                int l3 = np_topology_cpu(t, (unsigned int)id)->l3;
                unsigned int i = 0;

                while (i < n && seen[i] != l3)
                        i++;
                if (i == n) {
                        assert_true(n < 64);
                        seen[n++] = l3;
                }
        }
        return n;
}

static void test_topology_loads_the_single_node_host(void **state)
{
        _cleanup_topology_ struct np_topology *t = np_test_load_topology("host-1node-2cpu");

        assert_int_equal(t->n_nodes, 1);
        assert_cpulist_equal(&t->node_ids, "0");
        assert_node(t, 0, "0-1", 4286668, 4131564);
        assert_distance_row(t, 0, "10");
        assert_int_equal(t->n_cpus, 2);
        assert_int_equal(t->n_cores, 2);
        assert_cpulist_equal(&t->online_cpus, "0-1");
        assert_cpulist_equal(&t->memory_nodes, "0");
        assert_cpulist_equal(&t->isolated_cpus, "");
        assert_int_equal(np_topology_cpu(t, 1)->node, 0);
        assert_int_equal(np_topology_cpu(t, 0)->l3, 0);
        assert_int_equal(np_topology_cpu(t, 1)->l3, 0);
        assert_null(np_topology_cpu(t, 2));
}

static void test_topology_2socket_smt_siblings_share_a_core(void **state)
{
        _cleanup_topology_ struct np_topology *t = np_test_load_topology("2socket-smt");

        assert_int_equal(t->n_nodes, 2);
        assert_node(t, 0, "0-7,16-23", 67108864, 60397977);
        assert_node(t, 1, "8-15,24-31", 67108864, 60393881);
        assert_distance_row(t, 0, "10 21");
        assert_distance_row(t, 1, "21 10");
        assert_int_equal(t->n_cpus, 32);
        assert_int_equal(t->n_cores, 16);
        assert_cpulist_equal(&t->memory_nodes, "0-1");

        /* CPU k and k+16 are the two threads of one core, and no other CPUs are */
        for (unsigned int cpu = 0; cpu < 16; cpu++) {
                const struct np_cpu *thread0 = np_topology_cpu(t, cpu), *thread1 = np_topology_cpu(t, cpu + 16);

                assert_int_equal(thread0->core_index, thread1->core_index);
                assert_int_equal(thread0->node, cpu < 8 ? 0 : 1);
                assert_int_equal(thread0->package, cpu < 8 ? 0 : 1);
                assert_int_equal(thread0->l3, cpu < 8 ? 0 : 1);
                if (cpu > 0)
                        assert_int_not_equal(thread0->core_index, np_topology_cpu(t, cpu - 1)->core_index);
        }
        assert_int_equal(count_l3_groups(t, 0), 1);
        assert_int_equal(count_l3_groups(t, 1), 1);
}

/* A copy of 2socket-smt under tmp/sys, for a test to change. */
static const char *copy_2socket_smt(char *tmp, size_t size, char *root, size_t root_size)
{
        char fixture[4096];

        np_test_mkdtemp(tmp, size);
        np_test_path(root, root_size, tmp, "sys");
        np_test_copy_tree(np_test_fixture("2socket-smt", fixture, sizeof(fixture)), root);
        return root;
}

/* A core is the threads its thread_siblings_list names, called by the lowest of
 * them: core_id is not read where that list is (garbage in it changes nothing). */
static void test_topology_names_a_core_by_its_first_thread_without_reading_core_id(void **state)
{
        char tmp[4096], root[4096], path[8192], file[64];
        struct np_topology *t = NULL;

        copy_2socket_smt(tmp, sizeof(tmp), root, sizeof(root));
        for (unsigned int cpu = 0; cpu < 32; cpu++) {
                snprintf(file, sizeof(file), "devices/system/cpu/cpu%u/topology/core_id", cpu);
                np_test_write_file(np_test_path(path, sizeof(path), root, file), "garbage\n");
        }
        assert_int_equal(np_topology_load(root, NULL, &t), 0);
        assert_int_equal(t->n_cores, 16);
        for (unsigned int cpu = 0; cpu < 16; cpu++) {
                assert_int_equal(np_topology_cpu(t, cpu)->core, cpu);
                assert_int_equal(np_topology_cpu(t, cpu + 16)->core, cpu);
                assert_int_equal(np_topology_cpu(t, cpu + 16)->core_index, np_topology_cpu(t, cpu)->core_index);
        }
        np_topology_free(t);
        np_test_rmtree(tmp);
}

/* core_index counts cores in the order of (package, die, core id), not of CPU
 * ids: here core ids run backwards through each package's CPUs */
static void test_topology_numbers_cores_in_package_and_core_id_order(void **state)
{
        char tmp[4096], root[4096], path[8192], file[64], id[16];
        struct np_topology *t = NULL;

        copy_2socket_smt(tmp, sizeof(tmp), root, sizeof(root));
        for (unsigned int cpu = 0; cpu < 32; cpu++) {
                snprintf(file, sizeof(file), "devices/system/cpu/cpu%u/topology/thread_siblings_list", cpu);
                assert_int_equal(unlink(np_test_path(path, sizeof(path), root, file)), 0);
                snprintf(file, sizeof(file), "devices/system/cpu/cpu%u/topology/core_id", cpu);
                snprintf(id, sizeof(id), "%u\n", 7 - cpu % 8);
                np_test_write_file(np_test_path(path, sizeof(path), root, file), id);
        }
        assert_int_equal(np_topology_load(root, NULL, &t), 0);
        assert_int_equal(t->n_cores, 16);
        for (unsigned int cpu = 0; cpu < 32; cpu++) {
                unsigned int package = cpu % 16 / 8;

                assert_int_equal(np_topology_cpu(t, cpu)->package, package);
                assert_int_equal(np_topology_cpu(t, cpu)->core_index, package * 8 + 7 - cpu % 8);
        }
        np_topology_free(t);
        np_test_rmtree(tmp);
}

static void test_topology_reads_a_cores_and_an_l3s_files_once_for_all_their_cpus(void **state)
{
        char tmp[4096], root[4096], path[8192];
        struct np_topology *t = NULL;

        copy_2socket_smt(tmp, sizeof(tmp), root, sizeof(root));
        /* CPU 16, CPU 0's SMT sibling and of its L3, without files of its own: the lists
         * that name it (thread_siblings_list, shared_cpu_list) give its values */
        np_test_rmtree(np_test_path(path, sizeof(path), root, "devices/system/cpu/cpu16/topology"));
        np_test_rmtree(np_test_path(path, sizeof(path), root, "devices/system/cpu/cpu16/cache"));
        assert_int_equal(np_topology_load(root, NULL, &t), 0);
        assert_int_equal(np_topology_cpu(t, 16)->core_index, np_topology_cpu(t, 0)->core_index);
        assert_int_equal(np_topology_cpu(t, 16)->core, np_topology_cpu(t, 0)->core);
        assert_int_equal(np_topology_cpu(t, 16)->l3, 0);
        assert_int_equal(t->n_cores, 16);
        np_topology_free(t);
        np_test_rmtree(tmp);
}

static void test_topology_a_sibling_list_naming_a_cpu_of_another_node_is_not_trusted(void **state)
{
        char tmp[4096], root[4096], path[8192];
        struct np_topology *t = NULL;

        copy_2socket_smt(tmp, sizeof(tmp), root, sizeof(root));
        /* CPU 8 is on node 1, package 1: its own files say so */
        np_test_write_file(
                np_test_path(path, sizeof(path), root, "devices/system/cpu/cpu0/topology/thread_siblings_list"),
                "0,8,16\n");
        assert_int_equal(np_topology_load(root, NULL, &t), 0);
        assert_int_equal(np_topology_cpu(t, 8)->package, 1);
        assert_int_not_equal(np_topology_cpu(t, 8)->core_index, np_topology_cpu(t, 0)->core_index);
        assert_int_equal(np_topology_cpu(t, 16)->core_index, np_topology_cpu(t, 0)->core_index);
        assert_int_equal(t->n_cores, 16);
        np_topology_free(t);
        np_test_rmtree(tmp);
}

static void test_topology_4node_distance_rows_are_asymmetric_per_node(void **state)
{
        _cleanup_topology_ struct np_topology *t = np_test_load_topology("4node-distance");

        assert_int_equal(t->n_nodes, 4);
        assert_node(t, 0, "0-3", 16777216, 15099494);
        assert_node(t, 1, "4-7", 16777216, 15095398);
        assert_node(t, 2, "8-11", 16777216, 15091302);
        assert_node(t, 3, "12-15", 16777216, 15087206);
        assert_distance_row(t, 0, "10 12 20 22");
        assert_distance_row(t, 1, "12 10 22 20");
        assert_distance_row(t, 2, "20 22 10 12");
        assert_distance_row(t, 3, "22 20 12 10");
        assert_int_equal(np_topology_distance(t, 0, 3), 22);
        assert_int_equal(np_topology_distance(t, 2, 1), 22);
        assert_int_equal(np_topology_distance(t, 3, 2), 12);
        assert_int_equal(np_topology_distance(t, 0, 4), 0);
        assert_int_equal(t->n_cpus, 16);
        assert_int_equal(t->n_cores, 16);
}

static void test_topology_8node_nps4_has_two_l3_groups_per_node(void **state)
{
        _cleanup_topology_ struct np_topology *t = np_test_load_topology("8node-nps4");

        assert_int_equal(t->n_nodes, 8);
        assert_int_equal(t->n_cpus, 128);
        assert_int_equal(t->n_cores, 64);
        assert_node(t, 0, "0-7,64-71", 33554432, 30198988);
        assert_node(t, 7, "56-63,120-127", 33554432, 30170316);
        assert_distance_row(t, 0, "10 12 12 12 32 32 32 32");
        assert_distance_row(t, 5, "32 32 32 32 12 10 12 12");
        for (unsigned int node = 0; node < 8; node++)
                assert_int_equal(count_l3_groups(t, node), 2);
        /* one CCX: cores 0-3 with their siblings 64-67 */
        for (unsigned int cpu = 0; cpu < 4; cpu++) {
                assert_int_equal(np_topology_cpu(t, cpu)->l3, np_topology_cpu(t, 0)->l3);
                assert_int_equal(np_topology_cpu(t, cpu + 64)->l3, np_topology_cpu(t, 0)->l3);
                assert_int_equal(np_topology_cpu(t, cpu + 64)->core_index, np_topology_cpu(t, cpu)->core_index);
        }
        assert_int_not_equal(np_topology_cpu(t, 4)->l3, np_topology_cpu(t, 0)->l3);
        assert_int_equal(np_topology_cpu(t, 32)->package, 1);
}

static void test_topology_memory_only_node_has_memory_and_no_cpus(void **state)
{
        _cleanup_topology_ struct np_topology *t = np_test_load_topology("memory-only-node");

        assert_int_equal(t->n_nodes, 3);
        assert_cpulist_equal(&t->node_ids, "0-2");
        assert_node(t, 0, "0-3", 16777216, 15099494);
        assert_node(t, 1, "4-7", 16777216, 15095398);
        assert_node(t, 2, "", 67108864, 60389785);
        assert_cpulist_equal(&t->memory_nodes, "0-2");
        assert_distance_row(t, 2, "14 24 10");
        assert_int_equal(t->n_cpus, 8);
}

static void test_topology_sparse_node_ids_keep_their_ids(void **state)
{
        _cleanup_topology_ struct np_topology *t = np_test_load_topology("sparse-nodes");

        assert_int_equal(t->n_nodes, 2);
        assert_cpulist_equal(&t->node_ids, "0,2");
        assert_null(np_topology_node(t, 1));
        assert_null(np_topology_node(t, 3));
        assert_null(np_topology_node(t, NP_MAX_NODES));
        assert_node(t, 0, "0-3", 16777216, 15099494);
        assert_node(t, 2, "4-7", 16777216, 15091302);
        assert_int_equal(np_topology_distance(t, 0, 2), 20);
        assert_int_equal(np_topology_distance(t, 2, 2), 10);
        assert_int_equal(np_topology_distance(t, 0, 1), 0);
        assert_int_equal(np_topology_distance(t, 1, 0), 0);
        assert_int_equal(np_topology_cpu(t, 5)->node, 2);
        assert_cpulist_equal(&t->memory_nodes, "0,2");
}

static void test_topology_offline_cpus_are_left_out(void **state)
{
        _cleanup_topology_ struct np_topology *t = np_test_load_topology("offline-cpus");

        assert_cpulist_equal(&t->online_cpus, "0-2,4-11,13-15");
        assert_int_equal(t->n_cpus, 14);
        assert_int_equal(t->n_cores, 14);
        assert_null(np_topology_cpu(t, 3));
        assert_null(np_topology_cpu(t, 12));
        /* ids past the highest online CPU, as far as a cpulist reaches and beyond */
        assert_int_equal(t->cpu_index_size, 16);
        assert_int_equal(np_topology_cpu(t, 15)->id, 15);
        assert_null(np_topology_cpu(t, 16));
        assert_null(np_topology_cpu(t, NP_CPULIST_MAX - 1));
        assert_null(np_topology_cpu(t, UINT_MAX));
        assert_node(t, 0, "0-2,4-7", 16777216, 15099494);
        assert_node(t, 1, "8-11,13-15", 16777216, 15095398);
        assert_cpulist_equal(&t->isolated_cpus, "6-7");
}

static void test_topology_large_32node_machine_loads_every_cpu(void **state)
{
        _cleanup_topology_ struct np_topology *t = np_test_load_topology("large-32node");

        assert_int_equal(t->n_nodes, 32);
        assert_int_equal(t->n_cpus, 1024);
        assert_int_equal(t->n_cores, 512);
        assert_cpulist_equal(&t->node_ids, "0-31");
        assert_cpulist_equal(&t->memory_nodes, "0-31");
        assert_node(t, 0, "0-15,512-527", 16777216, 15099494);
        assert_cpulist_equal(&np_topology_node(t, 31)->cpus, "496-511,1008-1023");
        assert_int_equal(np_topology_distance(t, 0, 7), 12);
        assert_int_equal(np_topology_distance(t, 0, 8), 32);
        assert_int_equal(np_topology_distance(t, 31, 24), 12);
        assert_int_equal(np_topology_cpu(t, 1023)->node, 31);
        assert_int_equal(np_topology_cpu(t, 1023)->package, 3);
        assert_int_equal(np_topology_cpu(t, 1023)->core_index, np_topology_cpu(t, 511)->core_index);
        assert_int_equal(count_l3_groups(t, 0), 2);
}

static void test_topology_gb200_has_32_memory_only_hbm_nodes_nearest_their_cpu(void **state)
{
        _cleanup_topology_ struct np_topology *t = np_test_load_topology("gb200-34node");

        assert_int_equal(t->n_nodes, 34);
        assert_int_equal(t->n_cpus, 144);
        assert_int_equal(t->n_cores, 144);
        assert_cpulist_equal(&t->node_ids, "0-33");
        assert_cpulist_equal(&t->memory_nodes, "0-33");
        assert_cpulist_equal(&np_topology_node(t, 0)->cpus, "0-71");
        assert_cpulist_equal(&np_topology_node(t, 1)->cpus, "72-143");
        assert_int_equal(np_topology_node(t, 0)->memory_total_kb, 480ull * 1024 * 1024);
        for (unsigned int id = 2; id <= 33; id++) {
                assert_true(np_cpulist_empty(&np_topology_node(t, id)->cpus));
                assert_int_equal(np_topology_node(t, id)->memory_total_kb, 24ull * 1024 * 1024);
                assert_int_equal(np_topology_nearest_cpu_node(t, id), id <= 17 ? 0 : 1);
        }
        assert_int_equal(np_topology_distance(t, 0, 1), 40);
        assert_int_equal(np_topology_distance(t, 2, 0), 80);
        assert_int_equal(np_topology_distance(t, 2, 1), 120);
        assert_int_equal(np_topology_distance(t, 33, 1), 80);
        assert_int_equal(np_topology_distance(t, 2, 3), 255);
        assert_int_equal(np_topology_cpu(t, 143)->package, 1);
        assert_int_equal(count_l3_groups(t, 1), 1);
}

static void test_topology_64node_machine_loads_all_8192_cpus(void **state)
{
        _cleanup_topology_ struct np_topology *t = np_test_load_topology("64node-8192cpu");

        assert_int_equal(t->n_nodes, 64);
        assert_int_equal(t->n_cpus, NP_CPULIST_MAX);
        assert_int_equal(t->n_cores, 4096);
        assert_cpulist_equal(&t->node_ids, "0-63");
        assert_cpulist_equal(&t->online_cpus, "0-8191");
        assert_cpulist_equal(&t->memory_nodes, "0-63");
        assert_cpulist_equal(&np_topology_node(t, 0)->cpus, "0-63,4096-4159");
        assert_cpulist_equal(&np_topology_node(t, 63)->cpus, "4032-4095,8128-8191");
        assert_int_equal(np_topology_distance(t, 0, 7), 12);
        assert_int_equal(np_topology_distance(t, 0, 8), 32);
        assert_int_equal(np_topology_distance(t, 63, 56), 12);
        assert_int_equal(np_topology_cpu(t, 8191)->node, 63);
        assert_int_equal(np_topology_cpu(t, 8191)->package, 7);
        assert_int_equal(np_topology_cpu(t, 8191)->core_index, np_topology_cpu(t, 4095)->core_index);
        assert_int_equal(count_l3_groups(t, 0), 8);
        assert_int_equal(np_topology_nearest_cpu_node(t, 40), 40);
}

static void test_topology_nearest_cpu_node_of_the_memory_only_node(void **state)
{
        _cleanup_topology_ struct np_topology *t = np_test_load_topology("memory-only-node");

        assert_int_equal(np_topology_nearest_cpu_node(t, 2), 0); /* 14 against 24 */
        assert_int_equal(np_topology_nearest_cpu_node(t, 0), 0);
        assert_int_equal(np_topology_nearest_cpu_node(t, 1), 1);
        assert_int_equal(np_topology_nearest_cpu_node(t, 3), -1);
        assert_int_equal(np_topology_nearest_cpu_node(t, NP_MAX_NODES), -1);
}

/* memory-only-node with the distance rows of its CPU nodes 0 and 1 replaced: what
 * their CPUs pay to reach node 2's memory is what makes a CPU node nearest it. */
static struct np_topology *load_memory_only_node_with_rows(const char *row0, const char *row1, char *tmp, size_t size)
{
        struct np_topology *t = NULL;
        char fixture[4096], root[4096], path[4096];

        np_test_mkdtemp(tmp, size);
        np_test_path(root, sizeof(root), tmp, "sys");
        np_test_copy_tree(np_test_fixture("memory-only-node", fixture, sizeof(fixture)), root);
        np_test_write_file(np_test_path(path, sizeof(path), root, "devices/system/node/node0/distance"), row0);
        np_test_write_file(np_test_path(path, sizeof(path), root, "devices/system/node/node1/distance"), row1);
        assert_int_equal(np_topology_load(root, NULL, &t), 0);
        return t;
}

static void test_topology_nearest_cpu_node_ties_go_to_the_lower_id(void **state)
{
        char tmp[4096];
        struct np_topology *t = load_memory_only_node_with_rows("10 21 20\n", "21 10 20\n", tmp, sizeof(tmp));

        assert_int_equal(np_topology_nearest_cpu_node(t, 2), 0);
        np_topology_free(t);
        np_test_rmtree(tmp);
        t = load_memory_only_node_with_rows("10 21 24\n", "21 10 14\n", tmp, sizeof(tmp));
        assert_int_equal(np_topology_nearest_cpu_node(t, 2), 1);
        np_topology_free(t);
        np_test_rmtree(tmp);
}

/* An asymmetric matrix: node 2's own row says node 0 is nearer, but node 1's CPUs reach
 * node 2's memory at less cost than node 0's do, so node 1 is nearest. */
static void test_topology_nearest_cpu_node_reads_the_cpu_nodes_rows(void **state)
{
        char tmp[4096], path[4096];
        struct np_topology *t;

        t = load_memory_only_node_with_rows("10 21 30\n", "21 10 16\n", tmp, sizeof(tmp));
        np_topology_free(t);
        np_test_write_file(np_test_path(path, sizeof(path), tmp, "sys/devices/system/node/node2/distance"),
                           "12 40 10\n");
        t = NULL;
        assert_int_equal(np_topology_load(np_test_path(path, sizeof(path), tmp, "sys"), NULL, &t), 0);
        assert_int_equal(np_topology_nearest_cpu_node(t, 2), 1);
        np_topology_free(t);
        np_test_rmtree(tmp);
}

static void test_topology_node_cpus_joins_the_cpus_of_the_given_nodes(void **state)
{
        _cleanup_topology_ struct np_topology *t = np_test_load_topology("4node-distance");
        struct np_cpulist nodes = np_test_cpulist("0,2"), cpus;

        np_topology_node_cpus(t, &nodes, &cpus);
        assert_cpulist_equal(&cpus, "0-3,8-11");
        nodes = np_test_cpulist("3,9");
        np_topology_node_cpus(t, &nodes, &cpus);
        assert_cpulist_equal(&cpus, "12-15");
}

static void test_topology_missing_root_is_refused_naming_it(void **state)
{
        struct np_topology *t = NULL;
        struct np_diag diag = {};

        assert_int_equal(np_topology_load("/nonexistent/numapin-sysfs", &diag, &t), -ENOENT);
        assert_int_equal(diag.error, -ENOENT);
        assert_non_null(strstr(diag.message, "/nonexistent/numapin-sysfs"));
        assert_null(t);
}

/* Malformed trees: a copy of a small fixture with one file broken. */

struct broken_tree {
        char tmp[4096];
        char root[4096];
};

static int broken_tree_setup(void **state)
{
        struct broken_tree *tree = calloc(1, sizeof(*tree));
        char fixture[4096];

        assert_non_null(tree);
        np_test_mkdtemp(tree->tmp, sizeof(tree->tmp));
        np_test_path(tree->root, sizeof(tree->root), tree->tmp, "sys");
        np_test_copy_tree(np_test_fixture("4node-distance", fixture, sizeof(fixture)), tree->root);
        *state = tree;
        return 0;
}

static int broken_tree_teardown(void **state)
{
        struct broken_tree *tree = *state;

        np_test_rmtree(tree->tmp);
        free(tree);
        return 0;
}

/* Replaces `file` (relative to the tree's root) by `text`, or removes it when text is NULL. */
static void break_file(struct broken_tree *tree, const char *file, const char *text, char *ret_path, size_t size)
{
        np_test_path(ret_path, size, tree->root, file);
        if (text)
                np_test_write_file(ret_path, text);
        else
                assert_int_equal(unlink(ret_path), 0);
}

/* Loading fails with `error`, and the message names `path`. */
static void assert_load_fails_naming(struct broken_tree *tree, int error, const char *path)
{
        struct np_topology *t = NULL;
        struct np_diag diag = {};

        assert_int_equal(np_topology_load(tree->root, &diag, &t), error);
        assert_null(t);
        assert_int_equal(diag.error, error);
        if (!strstr(diag.message, path))
                fail_msg("message '%s' does not name %s", diag.message, path);
}

static void test_topology_copied_fixture_loads_before_it_is_broken(void **state)
{
        struct broken_tree *tree = *state;
        _cleanup_topology_ struct np_topology *t = NULL;

        assert_int_equal(np_topology_load(tree->root, NULL, &t), 0);
        assert_int_equal(t->n_nodes, 4);
}

static void test_topology_rejects_a_distance_row_with_too_few_entries(void **state)
{
        char path[4096];

        break_file(*state, "devices/system/node/node1/distance", "12 10 22\n", path, sizeof(path));
        assert_load_fails_naming(*state, -EINVAL, path);
}

static void test_topology_rejects_a_distance_row_with_too_many_entries(void **state)
{
        char path[4096];

        break_file(*state, "devices/system/node/node3/distance", "22 20 12 10 10\n", path, sizeof(path));
        assert_load_fails_naming(*state, -EINVAL, path);
}

static void test_topology_rejects_a_distance_out_of_range(void **state)
{
        char path[4096];

        break_file(*state, "devices/system/node/node0/distance", "10 12 0 22\n", path, sizeof(path));
        assert_load_fails_naming(*state, -EINVAL, path);
        break_file(*state, "devices/system/node/node0/distance", "10 12 256 22\n", path, sizeof(path));
        assert_load_fails_naming(*state, -EINVAL, path);
        break_file(*state, "devices/system/node/node0/distance", "10 12 -20 22\n", path, sizeof(path));
        assert_load_fails_naming(*state, -EINVAL, path);
}

static void test_topology_rejects_garbage_meminfo(void **state)
{
        char path[4096];

        break_file(*state, "devices/system/node/node2/meminfo", "Node 2 MemTotal: lots\nNode 2 MemFree: 12 kB\n", path,
                   sizeof(path));
        assert_load_fails_naming(*state, -EINVAL, path);
}

static void test_topology_rejects_meminfo_with_more_free_than_total(void **state)
{
        char path[4096];

        break_file(*state, "devices/system/node/node0/meminfo",
                   "Node 0 MemTotal:       1024 kB\nNode 0 MemFree:        2048 kB\n", path, sizeof(path));
        assert_load_fails_naming(*state, -EINVAL, path);
}

static void test_topology_rejects_a_tree_without_node_online(void **state)
{
        char path[4096];

        break_file(*state, "devices/system/node/online", NULL, path, sizeof(path));
        assert_load_fails_naming(*state, -ENOENT, path);
}

static void test_topology_rejects_node_online_listing_no_node(void **state)
{
        char path[4096];

        break_file(*state, "devices/system/node/online", "\n", path, sizeof(path));
        assert_load_fails_naming(*state, -EINVAL, path);
}

static void test_topology_rejects_an_online_node_without_its_folder(void **state)
{
        struct broken_tree *tree = *state;
        char folder[4096], cpulist[4096];

        np_test_rmtree(np_test_path(folder, sizeof(folder), tree->root, "devices/system/node/node3"));
        np_test_path(cpulist, sizeof(cpulist), tree->root, "devices/system/node/node3/cpulist");
        assert_load_fails_naming(tree, -ENOENT, cpulist);
}

static void test_topology_rejects_a_cpulist_with_a_descending_range(void **state)
{
        char path[4096];

        break_file(*state, "devices/system/node/node1/cpulist", "7-4\n", path, sizeof(path));
        assert_load_fails_naming(*state, -EINVAL, path);
}

static void test_topology_rejects_a_cpu_listed_by_two_nodes(void **state)
{
        char path[4096];

        break_file(*state, "devices/system/node/node1/cpulist", "3-7\n", path, sizeof(path));
        assert_load_fails_naming(*state, -EINVAL, path);
}

static void test_topology_rejects_a_garbage_cpu_online_list(void **state)
{
        char path[4096];

        break_file(*state, "devices/system/cpu/online", "0-15x\n", path, sizeof(path));
        assert_load_fails_naming(*state, -EINVAL, path);
}

/* core_id is read where no thread_siblings_list names the core's threads */
static void test_topology_rejects_a_garbage_core_id_where_it_is_read(void **state)
{
        struct broken_tree *tree = *state;
        char path[4096];

        assert_int_equal(unlink(np_test_path(path, sizeof(path), tree->root,
                                             "devices/system/cpu/cpu5/topology/thread_siblings_list")),
                         0);
        break_file(tree, "devices/system/cpu/cpu5/topology/core_id", "five\n", path, sizeof(path));
        assert_load_fails_naming(tree, -EINVAL, path);
}

/* cpuN/ gone: the CPU is still loaded, its own core (as a flat machine's) */
static void test_topology_a_cpu_without_its_folder_is_a_core_of_its_own(void **state)
{
        struct broken_tree *tree = *state;
        _cleanup_topology_ struct np_topology *t = NULL;
        char path[4096];

        np_test_rmtree(np_test_path(path, sizeof(path), tree->root, "devices/system/cpu/cpu5"));
        assert_int_equal(np_topology_load(tree->root, NULL, &t), 0);
        assert_int_equal(t->n_cpus, 16);
        assert_non_null(np_topology_cpu(t, 5));
        assert_int_equal(np_topology_cpu(t, 5)->node, 1);
        assert_int_equal(np_topology_cpu(t, 5)->core, 5);
        for (unsigned int cpu = 0; cpu < 16; cpu++)
                if (cpu != 5)
                        assert_int_not_equal(np_topology_cpu(t, cpu)->core_index, np_topology_cpu(t, 5)->core_index);
}

/* cpuN a file where its folder should be: refused, naming it */
static void test_topology_rejects_a_cpu_folder_that_is_a_file(void **state)
{
        struct broken_tree *tree = *state;
        char path[4096];

        np_test_rmtree(np_test_path(path, sizeof(path), tree->root, "devices/system/cpu/cpu5"));
        np_test_write_file(path, "0\n");
        assert_load_fails_naming(tree, -ENOTDIR, path);
}

int main(void)
{
#define BROKEN(test) cmocka_unit_test_setup_teardown(test, broken_tree_setup, broken_tree_teardown)
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_topology_loads_the_single_node_host),
                cmocka_unit_test(test_topology_2socket_smt_siblings_share_a_core),
                cmocka_unit_test(test_topology_numbers_cores_in_package_and_core_id_order),
                cmocka_unit_test(test_topology_reads_a_cores_and_an_l3s_files_once_for_all_their_cpus),
                cmocka_unit_test(test_topology_names_a_core_by_its_first_thread_without_reading_core_id),
                cmocka_unit_test(test_topology_a_sibling_list_naming_a_cpu_of_another_node_is_not_trusted),
                cmocka_unit_test(test_topology_4node_distance_rows_are_asymmetric_per_node),
                cmocka_unit_test(test_topology_8node_nps4_has_two_l3_groups_per_node),
                cmocka_unit_test(test_topology_memory_only_node_has_memory_and_no_cpus),
                cmocka_unit_test(test_topology_sparse_node_ids_keep_their_ids),
                cmocka_unit_test(test_topology_offline_cpus_are_left_out),
                cmocka_unit_test(test_topology_large_32node_machine_loads_every_cpu),
                cmocka_unit_test(test_topology_gb200_has_32_memory_only_hbm_nodes_nearest_their_cpu),
                cmocka_unit_test(test_topology_64node_machine_loads_all_8192_cpus),
                cmocka_unit_test(test_topology_nearest_cpu_node_of_the_memory_only_node),
                cmocka_unit_test(test_topology_nearest_cpu_node_ties_go_to_the_lower_id),
                cmocka_unit_test(test_topology_nearest_cpu_node_reads_the_cpu_nodes_rows),
                cmocka_unit_test(test_topology_node_cpus_joins_the_cpus_of_the_given_nodes),
                cmocka_unit_test(test_topology_missing_root_is_refused_naming_it),
                BROKEN(test_topology_copied_fixture_loads_before_it_is_broken),
                BROKEN(test_topology_rejects_a_distance_row_with_too_few_entries),
                BROKEN(test_topology_rejects_a_distance_row_with_too_many_entries),
                BROKEN(test_topology_rejects_a_distance_out_of_range),
                BROKEN(test_topology_rejects_garbage_meminfo),
                BROKEN(test_topology_rejects_meminfo_with_more_free_than_total),
                BROKEN(test_topology_rejects_a_tree_without_node_online),
                BROKEN(test_topology_rejects_node_online_listing_no_node),
                BROKEN(test_topology_rejects_an_online_node_without_its_folder),
                BROKEN(test_topology_rejects_a_cpulist_with_a_descending_range),
                BROKEN(test_topology_rejects_a_cpu_listed_by_two_nodes),
                BROKEN(test_topology_rejects_a_garbage_cpu_online_list),
                BROKEN(test_topology_rejects_a_garbage_core_id_where_it_is_read),
                BROKEN(test_topology_a_cpu_without_its_folder_is_a_core_of_its_own),
                BROKEN(test_topology_rejects_a_cpu_folder_that_is_a_file),
        };
#undef BROKEN

        return cmocka_run_group_tests(tests, NULL, NULL);
}
