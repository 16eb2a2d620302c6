// SPDX-License-Identifier: MIT
/* topocache: the cached topology equals a fresh read, memory is read live,
 * a change of node/online or cpu/online (hotplug) or another sysfs root makes
 * it a miss, and a damaged cache is never trusted. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <sys/stat.h>

#include "../../core/fileio.h"
#include "../../core/topocache.h"
#include "helpers.h"

struct fixture {
        char dir[PATH_MAX];
        char sysfs[PATH_MAX];
        char cache[PATH_MAX];
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        char fixture[PATH_MAX];

        assert_non_null(f);
        np_test_mkdtemp(f->dir, sizeof(f->dir));
        np_test_path(f->sysfs, sizeof(f->sysfs), f->dir, "sys");
        np_test_copy_tree(np_test_fixture("2socket-smt", fixture, sizeof(fixture)), f->sysfs);
        np_test_path(f->cache, sizeof(f->cache), f->dir, NP_TOPOLOGY_CACHE);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        np_test_rmtree(f->dir);
        free(f);
        return 0;
}

static void assert_same_topology(const struct np_topology *a, const struct np_topology *b)
{
        assert_int_equal(a->n_nodes, b->n_nodes);
        assert_int_equal(a->n_cpus, b->n_cpus);
        assert_int_equal(a->n_cores, b->n_cores);
        assert_true(np_cpulist_equal(&a->online_cpus, &b->online_cpus));
        assert_true(np_cpulist_equal(&a->node_ids, &b->node_ids));
        assert_true(np_cpulist_equal(&a->memory_nodes, &b->memory_nodes));
        assert_true(np_cpulist_equal(&a->isolated_cpus, &b->isolated_cpus));
        for (size_t i = 0; i < a->n_nodes; i++) {
                assert_int_equal(a->nodes[i].id, b->nodes[i].id);
                assert_true(np_cpulist_equal(&a->nodes[i].cpus, &b->nodes[i].cpus));
                assert_int_equal(a->nodes[i].memory_free_kb, b->nodes[i].memory_free_kb);
                assert_memory_equal(a->nodes[i].distances, b->nodes[i].distances, a->n_nodes * sizeof(uint32_t));
        }
        assert_memory_equal(a->cpus, b->cpus, a->n_cpus * sizeof(*a->cpus));
        assert_int_equal(a->cpu_index_size, b->cpu_index_size);
        assert_memory_equal(a->cpu_index, b->cpu_index, a->cpu_index_size * sizeof(*a->cpu_index));
}

static void test_topocache_hit_equals_a_fresh_read(void **state)
{
        struct fixture *f = *state;
        struct np_topology *fresh = NULL, *first = NULL, *second = NULL;
        struct stat st;

        assert_int_equal(np_topology_load(f->sysfs, NULL, &fresh), 0);
        assert_int_equal(np_topology_load_cached(f->sysfs, f->cache, NULL, &first), 0);
        assert_int_equal(stat(f->cache, &st), 0);
        assert_int_equal(np_topology_load_cached(f->sysfs, f->cache, NULL, &second), 0);
        assert_same_topology(fresh, first);
        assert_same_topology(fresh, second);
        np_topology_free(fresh);
        np_topology_free(first);
        np_topology_free(second);
}

static void test_topocache_reads_memory_live(void **state)
{
        struct fixture *f = *state;
        struct np_topology *t = NULL;
        char path[PATH_MAX];

        assert_int_equal(np_topology_load_cached(f->sysfs, f->cache, NULL, &t), 0);
        np_topology_free(t);
        np_test_path(path, sizeof(path), f->sysfs, "devices/system/node/node1/meminfo");
        np_test_write_file(path, "Node 1 MemTotal:       67108864 kB\nNode 1 MemFree:             1234 kB\n");
        assert_int_equal(np_topology_load_cached(f->sysfs, f->cache, NULL, &t), 0);
        assert_int_equal(np_topology_node(t, 1)->memory_free_kb, 1234);
        np_topology_free(t);
}

static void test_topocache_misses_after_cpu_hotplug(void **state)
{
        struct fixture *f = *state;
        struct np_topology *t = NULL;
        char path[PATH_MAX];

        assert_int_equal(np_topology_load_cached(f->sysfs, f->cache, NULL, &t), 0);
        assert_int_equal(t->n_cpus, 32);
        np_topology_free(t);
        np_test_path(path, sizeof(path), f->sysfs, "devices/system/cpu/online");
        np_test_write_file(path, "0-30\n");
        assert_int_equal(np_topology_load_cached(f->sysfs, f->cache, NULL, &t), 0);
        assert_int_equal(t->n_cpus, 31);
        assert_null(np_topology_cpu(t, 31));
        np_topology_free(t);
}

static void test_topocache_is_keyed_by_sysfs_root(void **state)
{
        struct fixture *f = *state;
        struct np_topology *t = NULL;
        char other[PATH_MAX], fixture[PATH_MAX];

        assert_int_equal(np_topology_load_cached(f->sysfs, f->cache, NULL, &t), 0);
        np_topology_free(t);
        np_test_path(other, sizeof(other), f->dir, "other");
        np_test_copy_tree(np_test_fixture("4node-distance", fixture, sizeof(fixture)), other);
        assert_int_equal(np_topology_load_cached(other, f->cache, NULL, &t), 0);
        assert_int_equal(t->n_nodes, 4);
        np_topology_free(t);
}

static void test_topocache_ignores_a_damaged_cache(void **state)
{
        struct fixture *f = *state;
        struct np_topology *t = NULL, *fresh = NULL;
        _cleanup_free_ char *cache = NULL;
        size_t size;
        FILE *out;

        assert_int_equal(np_topology_load_cached(f->sysfs, f->cache, NULL, &t), 0);
        np_topology_free(t);
        assert_int_equal(np_read_file_at(AT_FDCWD, f->cache, 1 << 24, &cache, &size), 0);
        /* cut it short, then flip bytes in the CPU records: both must be misses */
        out = fopen(f->cache, "w");
        fwrite(cache, 1, size / 2, out);
        fclose(out);
        assert_int_equal(np_topology_load_cached(f->sysfs, f->cache, NULL, &t), 0);
        assert_int_equal(np_topology_load(f->sysfs, NULL, &fresh), 0);
        assert_same_topology(fresh, t);
        np_topology_free(t);
        for (size_t i = size - 3000; i < size - 2000; i++)
                cache[i] = (char)0xff;
        out = fopen(f->cache, "w");
        fwrite(cache, 1, size, out);
        fclose(out);
        assert_int_equal(np_topology_load_cached(f->sysfs, f->cache, NULL, &t), 0);
        assert_same_topology(fresh, t);
        np_topology_free(t);
        np_topology_free(fresh);
}

/* The cache rewritten with `word` (at its first occurrence after the header) set to `to`. */
static void rewrite_word(const struct fixture *f, char *cache, size_t size, uint64_t word, uint64_t to)
{
        FILE *out;
        size_t at;

        for (at = 64; at + sizeof(word) <= size && memcmp(cache + at, &word, sizeof(word)) != 0; at++)
                ;
        assert_true(at + sizeof(word) <= size);
        memcpy(cache + at, &to, sizeof(to));
        out = fopen(f->cache, "w");
        assert_non_null(out);
        fwrite(cache, 1, size, out);
        fclose(out);
}

/* Node 0's list (CPUs 0-7,16-23) naming a CPU more, one with no record (40) or
 * node 1's (8): the cache is not trusted, and the topology read anew. */
static void test_topocache_refuses_a_node_listing_a_cpu_it_does_not_hold(void **state)
{
        struct fixture *f = *state;
        struct np_topology *t = NULL, *fresh = NULL;
        const uint64_t node0 = 0xff00ffULL, extras[] = { 1ULL << 40, 1ULL << 8 };

        assert_int_equal(np_topology_load(f->sysfs, NULL, &fresh), 0);
        for (size_t i = 0; i < ARRAY_SIZE(extras); i++) {
                _cleanup_free_ char *cache = NULL;
                size_t size;

                unlink(f->cache);
                assert_int_equal(np_topology_load_cached(f->sysfs, f->cache, NULL, &t), 0);
                np_topology_free(t);
                assert_int_equal(np_read_file_at(AT_FDCWD, f->cache, 1 << 24, &cache, &size), 0);
                rewrite_word(f, cache, size, node0, node0 | extras[i]);
                assert_int_equal(np_topology_load_cached(f->sysfs, f->cache, NULL, &t), 0);
                assert_same_topology(fresh, t);
                np_topology_free(t);
        }
        np_topology_free(fresh);
}

static void test_topocache_unwritable_cache_is_not_an_error(void **state)
{
        struct fixture *f = *state;
        struct np_topology *t = NULL;
        char path[PATH_MAX];

        np_test_path(path, sizeof(path), f->dir, "missing-dir/topology.cache");
        assert_int_equal(np_topology_load_cached(f->sysfs, path, NULL, &t), 0);
        assert_int_equal(t->n_nodes, 2);
        np_topology_free(t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_topocache_hit_equals_a_fresh_read, setup, teardown),
                cmocka_unit_test_setup_teardown(test_topocache_reads_memory_live, setup, teardown),
                cmocka_unit_test_setup_teardown(test_topocache_misses_after_cpu_hotplug, setup, teardown),
                cmocka_unit_test_setup_teardown(test_topocache_is_keyed_by_sysfs_root, setup, teardown),
                cmocka_unit_test_setup_teardown(test_topocache_ignores_a_damaged_cache, setup, teardown),
                cmocka_unit_test_setup_teardown(test_topocache_refuses_a_node_listing_a_cpu_it_does_not_hold, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_topocache_unwritable_cache_is_not_an_error, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
