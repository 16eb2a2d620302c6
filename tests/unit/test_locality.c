// SPDX-License-Identifier: MIT
/* core/locality: what numapinctl stats reports from the monitor's counters and
 * memory.numa_stat, and the store of exited containers' figures. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "../../core/locality.h"
#include "helpers.h"

static struct np_record record_on(const char *mems)
{
        struct np_record rec = {};

        snprintf(rec.id, sizeof(rec.id), "ctr-1");
        rec.policy = NP_POLICY_BIND;
        rec.mems = np_test_cpulist(mems);
        return rec;
}

static double get_double(struct json_object *obj, const char *key)
{
        struct json_object *v;

        assert_true(json_object_object_get_ex(obj, key, &v));
        assert_non_null(v);
        return json_object_get_double(v);
}

static void test_locality_json_splits_pages_local_and_remote_per_node(void **state)
{
        struct np_record rec = record_on("1");
        struct np_locality l = { .node_stride = 2 };
        uint64_t resident[NP_BPF_MAX_NODES] = { 4096, 8192 };
        struct json_object *obj = NULL, *nodes, *n1, *v;

        l.nodes[0] = (struct np_bpf_node_counters){ .cpu_ns = 500000000, .pages = 100, .pages_local = 0 };
        l.nodes[1] = (struct np_bpf_node_counters){ .cpu_ns = 1500000000, .pages = 300, .pages_local = 300 };
        l.counters.pages_outside = 100;
        l.counters.migrations = 7;
        l.counters.migrations_cross = 2;
        assert_int_equal(np_locality_to_json(&rec, "running", &l, resident, "test", &obj), 0);

        assert_true(json_object_object_get_ex(obj, "nodes", &nodes));
        assert_int_equal(json_object_array_length(nodes), 2);
        n1 = json_object_array_get_idx(nodes, 1);
        assert_int_equal((int)get_double(n1, "node"), 1);
        assert_int_equal((int)get_double(n1, "pages_allocated"), 300);
        assert_int_equal((int)get_double(n1, "pages_remote"), 0);
        assert_int_equal((int)get_double(n1, "resident_bytes"), 8192);
        assert_true(get_double(n1, "cpu_seconds") > 1.49 && get_double(n1, "cpu_seconds") < 1.51);
        assert_int_equal((int)get_double(json_object_array_get_idx(nodes, 0), "pages_remote"), 100);
        /* 300 of 400 pages local */
        assert_true(get_double(obj, "local_percent") == 75.0);
        assert_true(get_double(obj, "remote_percent") == 25.0);
        assert_int_equal((int)get_double(obj, "pages_outside_allowed"), 100);
        assert_int_equal((int)get_double(obj, "migrations_cross_node"), 2);
        assert_true(json_object_object_get_ex(obj, "pmu", &v));
        assert_string_equal(json_object_get_string(v), "unavailable");
        assert_true(json_object_object_get_ex(obj, "pmu_reason", &v));
        assert_string_equal(json_object_get_string(v), "test");
        assert_true(json_object_object_get_ex(obj, "state", &v));
        assert_string_equal(json_object_get_string(v), "running");
        json_object_put(obj);
}

static void test_locality_json_has_no_share_without_pages_and_null_resident_when_unknown(void **state)
{
        struct np_record rec = record_on("0");
        struct np_locality l = { .node_stride = 1 };
        struct json_object *obj = NULL, *v, *nodes;

        assert_int_equal(np_locality_to_json(&rec, "exited", &l, NULL, "test", &obj), 0);
        assert_true(json_object_object_get_ex(obj, "local_percent", &v));
        assert_null(v);
        assert_true(json_object_object_get_ex(obj, "nodes", &nodes));
        assert_true(json_object_object_get_ex(json_object_array_get_idx(nodes, 0), "resident_bytes", &v));
        assert_null(v);
        json_object_put(obj);
}

static void test_locality_json_pmu_unavailable_is_the_word_with_the_reason_apart(void **state)
{
        struct np_record rec = record_on("0");
        struct np_locality l = { .node_stride = 1 };
        struct np_monitor monitor = { .pmu_info_fd = -1 }; /* no PMU state to read */
        struct json_object *obj = NULL, *v;
        char pmu[256];

        assert_int_equal(np_locality_to_json(&rec, "exited", &l, NULL,
                                             np_locality_pmu_status(&monitor, pmu, sizeof(pmu)), &obj),
                         0);
        /* scripts compare with the documented "unavailable" */
        assert_true(json_object_object_get_ex(obj, "pmu", &v));
        assert_string_equal(json_object_get_string(v), "unavailable");
        assert_true(json_object_object_get_ex(obj, "pmu_reason", &v));
        assert_true(json_object_is_type(v, json_type_string));
        assert_true(json_object_get_string_len(v) > 0);
        json_object_put(obj);
}

static void test_locality_resident_reads_v2_numa_stat_anon_and_file(void **state)
{
        char dir[4096], path[4200];
        uint64_t resident[NP_BPF_MAX_NODES];

        np_test_mkdtemp(dir, sizeof(dir));
        snprintf(path, sizeof(path), "%s/memory.numa_stat", dir);
        np_test_write_file(path, "anon N0=4096 N1=1048576\nfile N0=0 N1=4096\nkernel_stack N0=16384 N1=0\n"
                                 "shmem N0=999 N1=999\n");
        assert_int_equal(np_locality_resident(dir, 0, resident), 0);
        assert_int_equal(resident[0], 4096);
        assert_int_equal(resident[1], 1048576 + 4096);
        assert_int_equal(resident[2], 0);
        unlink(path);
        assert_int_equal(np_locality_resident(dir, 0, resident), -ENOENT);
        rmdir(dir);
}

static void test_locality_exited_store_keeps_and_forgets(void **state)
{
        char dir[4096];
        struct json_object *obj = json_object_new_object(), *all = NULL;

        np_test_mkdtemp(dir, sizeof(dir));
        json_object_object_add(obj, "id", json_object_new_string("ctr-1"));
        assert_int_equal(np_exited_save(dir, "ctr-1", obj), 0);
        assert_int_equal(np_exited_load(dir, NULL, &all), 0);
        assert_int_equal(json_object_array_length(all), 1);
        json_object_put(all);
        np_exited_remove(dir, "ctr-1");
        np_exited_remove(dir, "../escape"); /* not an id: ignored */
        assert_int_equal(np_exited_load(dir, NULL, &all), 0);
        assert_int_equal(json_object_array_length(all), 0);
        json_object_put(all);
        json_object_put(obj);
        np_test_rmtree(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_locality_json_splits_pages_local_and_remote_per_node),
                cmocka_unit_test(test_locality_json_has_no_share_without_pages_and_null_resident_when_unknown),
                cmocka_unit_test(test_locality_json_pmu_unavailable_is_the_word_with_the_reason_apart),
                cmocka_unit_test(test_locality_resident_reads_v2_numa_stat_anon_and_file),
                cmocka_unit_test(test_locality_exited_store_keeps_and_forgets),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
