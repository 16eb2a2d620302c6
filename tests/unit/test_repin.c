// SPDX-License-Identifier: MIT
/* repin: shared containers are moved off CPUs that another container holds
 * exclusively and get them back when it leaves; on a fixture topology with a
 * real ledger and cgroup directories made of regular files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <sys/stat.h>

#include "../../core/repin.h"
#include "helpers.h"

struct fixture {
        char dir[PATH_MAX];
        struct np_topology *topology;
        struct np_ledger *ledger;
        struct np_config config;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        char path[PATH_MAX];

        assert_non_null(f);
        np_test_mkdtemp(f->dir, sizeof(f->dir));
        f->topology = np_test_load_topology("2socket-smt");
        np_config_init(&f->config);
        np_test_path(path, sizeof(path), f->dir, "state");
        assert_int_equal(np_ledger_open(path, true, NULL, &f->ledger), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        np_ledger_close(f->ledger);
        np_topology_free(f->topology);
        np_test_rmtree(f->dir);
        free(f);
        return 0;
}

/* A ledger record, with a cgroup directory holding cpuset.cpus when `cgroup`. */
static void add_record(struct fixture *f, const char *id, const char *nodes, const char *cpus, const char *exclusive,
                       bool cgroup)
{
        struct np_record rec = { .policy = NP_POLICY_BIND, .write_mems = true };
        char path[PATH_MAX];

        snprintf(rec.id, sizeof(rec.id), "%s", id);
        rec.nodes = rec.mems = np_test_cpulist(nodes);
        rec.cpus = np_test_cpulist(cpus);
        rec.exclusive_cpus = np_test_cpulist(exclusive);
        if (cgroup) {
                np_test_path(rec.cgroup, sizeof(rec.cgroup), f->dir, id);
                assert_int_equal(mkdir(rec.cgroup, 0755), 0);
                np_test_write_file(np_test_path(path, sizeof(path), rec.cgroup, "cpuset.cpus"), cpus);
                rec.pid = getpid();
        }
        assert_int_equal(np_ledger_put(f->ledger, &rec), 0);
}

static char *cgroup_cpus(struct fixture *f, const char *id)
{
        char dir[PATH_MAX], path[PATH_MAX];

        np_test_path(dir, sizeof(dir), f->dir, id);
        return np_test_read_file(np_test_path(path, sizeof(path), dir, "cpuset.cpus"));
}

static void test_repin_moves_shared_container_off_exclusive_cpus(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *cpus = NULL;

        add_record(f, "shared", "0", "0-7,16-23", "", true);
        add_record(f, "excl", "0", "0,16", "0,16", false);
        assert_int_equal(np_repin_shared(f->ledger, f->topology, &f->config, NULL), 1);
        cpus = cgroup_cpus(f, "shared");
        assert_string_equal(cpus, "1-7,17-23");
        assert_cpulist_equal(&np_ledger_find(f->ledger, "shared")->cpus, "1-7,17-23");
}

static void test_repin_gives_cpus_back_after_release(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *cpus = NULL;

        add_record(f, "shared", "0", "1-7,17-23", "", true);
        assert_int_equal(np_repin_shared(f->ledger, f->topology, &f->config, NULL), 1);
        cpus = cgroup_cpus(f, "shared");
        assert_string_equal(cpus, "0-7,16-23");
}

static void test_repin_leaves_other_nodes_and_unchanged_containers_alone(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *cpus = NULL;

        add_record(f, "node1", "1", "8-15,24-31", "", true);
        add_record(f, "excl", "0", "0,16", "0,16", false);
        assert_int_equal(np_repin_shared(f->ledger, f->topology, &f->config, NULL), 0);
        cpus = cgroup_cpus(f, "node1");
        assert_string_equal(cpus, "8-15,24-31");
}

static void test_repin_keeps_reserved_cpus_out(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *cpus = NULL;

        f->config.reserved_cpus = np_test_cpulist("7,23");
        add_record(f, "shared", "0", "0-7,16-23", "", true);
        assert_int_equal(np_repin_shared(f->ledger, f->topology, &f->config, NULL), 1);
        cpus = cgroup_cpus(f, "shared");
        assert_string_equal(cpus, "0-6,16-22");
}

static void test_repin_skips_a_container_whose_cgroup_is_gone(void **state)
{
        struct fixture *f = *state;
        char dir[PATH_MAX];

        add_record(f, "gone", "0", "0-7,16-23", "", true);
        add_record(f, "excl", "0", "0,16", "0,16", false);
        np_test_rmtree(np_test_path(dir, sizeof(dir), f->dir, "gone"));
        assert_int_equal(np_repin_shared(f->ledger, f->topology, &f->config, NULL), 0);
        assert_cpulist_equal(&np_ledger_find(f->ledger, "gone")->cpus, "0-7,16-23");
}

static void test_repin_keeps_cpuset_when_no_shared_cpu_is_left(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *cpus = NULL;

        add_record(f, "shared", "0", "0-7,16-23", "", true);
        add_record(f, "excl", "0", "0-7,16-23", "0-7,16-23", false);
        assert_int_equal(np_repin_shared(f->ledger, f->topology, &f->config, NULL), 0);
        cpus = cgroup_cpus(f, "shared");
        assert_string_equal(cpus, "0-7,16-23");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_repin_moves_shared_container_off_exclusive_cpus, setup, teardown),
                cmocka_unit_test_setup_teardown(test_repin_gives_cpus_back_after_release, setup, teardown),
                cmocka_unit_test_setup_teardown(test_repin_leaves_other_nodes_and_unchanged_containers_alone, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_repin_keeps_reserved_cpus_out, setup, teardown),
                cmocka_unit_test_setup_teardown(test_repin_skips_a_container_whose_cgroup_is_gone, setup, teardown),
                cmocka_unit_test_setup_teardown(test_repin_keeps_cpuset_when_no_shared_cpu_is_left, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
