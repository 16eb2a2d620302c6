// SPDX-License-Identifier: MIT
/* The checks of numapinctl doctor (core/doctor.c) on a private node: a state
 * dir with ledger records and the NRI plugin's status, a v1 cpuset tree of
 * regular files, kubelet roots and hooks.d folders the tests write. What each
 * check concludes, and that the worst status is what the CLI exits on. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../../core/doctor.h"
#include "helpers.h"

struct fixture {
        char dir[PATH_MAX];
        char state[PATH_MAX];
        char cgroup[PATH_MAX];
        char config[PATH_MAX];
        char kubelet[PATH_MAX];
        char hooks[PATH_MAX];
        char sysfs[PATH_MAX];
        const char *hooks_dirs[2];
        struct np_doctor doctor;
};

static struct np_context *open_context(struct fixture *f)
{
        struct np_context_options options = {
                .config_path = f->config,
                .state_dir = f->state,
                .sysfs_root = f->sysfs,
                .cgroup_root = f->cgroup,
                .uncached_topology = true,
        };
        struct np_context *context = NULL;
        struct np_diag diag = {};

        if (np_context_open(&options, &diag, &context) < 0)
                fail_msg("np_context_open: %s", diag.message);
        return context;
}

/* The config: kubelet's root and a pin dir that is not on bpffs, plus `extra` fields. */
static void write_config(struct fixture *f, const char *extra)
{
        char text[4 * PATH_MAX];

        snprintf(text, sizeof(text), "{\"kubelet_root_dir\": \"%s\", \"monitor_pin_dir\": \"%s/bpf/numapin\"%s%s}",
                 f->kubelet, f->dir, extra ? ", " : "", extra ? extra : "");
        np_test_write_file(f->config, text);
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        char path[PATH_MAX + 64];

        assert_non_null(f);
        np_test_mkdtemp(f->dir, sizeof(f->dir));
        np_test_path(f->state, sizeof(f->state), f->dir, "state");
        np_test_path(f->cgroup, sizeof(f->cgroup), f->dir, "cgroup");
        np_test_path(f->config, sizeof(f->config), f->dir, "config.json");
        np_test_path(f->kubelet, sizeof(f->kubelet), f->dir, "kubelet");
        np_test_path(f->hooks, sizeof(f->hooks), f->dir, "hooks.d");
        np_test_fixture("2socket-smt", f->sysfs, sizeof(f->sysfs));
        assert_int_equal(mkdir(f->cgroup, 0755), 0);
        assert_int_equal(mkdir(np_test_path(path, sizeof(path), f->cgroup, "cpuset"), 0755), 0);
        np_test_write_file(np_test_path(path, sizeof(path), f->cgroup, "cpuset/cpuset.cpus"), "0-31");
        assert_int_equal(mkdir(np_test_path(path, sizeof(path), f->dir, "bpf"), 0755), 0);
        assert_int_equal(mkdir(f->hooks, 0755), 0);
        f->hooks_dirs[0] = f->hooks;
        write_config(f, NULL);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        np_doctor_clear(&f->doctor);
        np_test_rmtree(f->dir);
        free(f);
        return 0;
}

static void run(struct fixture *f)
{
        struct np_doctor_paths paths = { .hooks_dirs = f->hooks_dirs, .btf = "/nonexistent/btf/vmlinux" };
        struct np_context *context = open_context(f);

        np_doctor_clear(&f->doctor);
        assert_int_equal(np_doctor_run(context, &paths, &f->doctor), 0);
        np_context_free(context);
}

/* The one check named `name` (the first, for ledger). */
static const struct np_check *check(const struct fixture *f, const char *name)
{
        for (size_t i = 0; i < f->doctor.n_checks; i++)
                if (strcmp(f->doctor.checks[i].name, name) == 0)
                        return &f->doctor.checks[i];
        fail_msg("no check '%s'", name);
        return NULL;
}

static void assert_check(const struct fixture *f, const char *name, enum np_check_status status, const char *needle)
{
        const struct np_check *c = check(f, name);

        if (c->status != status || !strstr(c->message, needle))
                fail_msg("check %s: expected %s with '%s', got %s: %s", name, np_check_status_to_string(status), needle,
                         np_check_status_to_string(c->status), c->message);
}

/* A record as the hook or the plugin leaves it: `cpus` (held exclusively
 * when `exclusive`), its cgroup <cgroup>/cpuset/<id>. */
static void put_record(struct fixture *f, const char *id, enum np_source source, const char *cpus, bool exclusive)
{
        struct np_context *context = open_context(f);
        struct np_record record = { .policy = NP_POLICY_BIND, .source = source, .created = 1 };
        struct np_ledger *ledger = NULL;
        struct np_diag diag = {};

        snprintf(record.id, sizeof(record.id), "%s", id);
        record.cpus = np_test_cpulist(cpus);
        record.nodes = np_test_cpulist("0");
        record.mems = np_test_cpulist("0");
        if (exclusive)
                record.exclusive_cpus = record.cpus;
        assert_true(snprintf(record.cgroup, sizeof(record.cgroup), "%s/cpuset/%s", f->cgroup, id) <
                    (int)sizeof(record.cgroup));
        if (np_context_ledger(context, true, &diag, &ledger) < 0)
                fail_msg("np_context_ledger: %s", diag.message);
        assert_int_equal(np_ledger_put(ledger, &record), 0);
        np_context_unlock(context);
        np_context_free(context);
}

/* The container's cgroup folder with `cpus` in cpuset.cpus. */
static void make_cgroup(struct fixture *f, const char *id, const char *cpus)
{
        char dir[PATH_MAX + 64], path[PATH_MAX + 128];

        snprintf(dir, sizeof(dir), "%s/cpuset/%s", f->cgroup, id);
        assert_int_equal(mkdir(dir, 0755), 0);
        snprintf(path, sizeof(path), "%s/cpuset.cpus", dir);
        np_test_write_file(path, cpus);
}

static void save_nri_status(struct fixture *f, int pid)
{
        struct np_nri_status status = {
                .runtime_name = "cri-o",
                .runtime_version = "1.34.0",
                .configured_at = 1767225600,
                .pid = pid,
                .updates_overridden = 7,
        };

        assert_int_equal(np_nri_status_save(f->state, &status), 0);
}

static void test_doctor_on_an_empty_node_is_all_ok_but_bpffs(void **state)
{
        struct fixture *f = *state;
        const char *names[] = { "nri", "hook", "kubelet", "cgroup", "bpf", "pmu", "ledger" };

        run(f);
        assert_int_equal(f->doctor.n_checks, ARRAY_SIZE(names));
        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                assert_string_equal(f->doctor.checks[i].name, names[i]);
        assert_check(f, "nri", NP_CHECK_OK, "not in use");
        assert_check(f, "kubelet", NP_CHECK_OK, "no CPU manager state in");
        assert_check(f, "cgroup", NP_CHECK_OK, "cgroup v1 cpuset hierarchy");
        assert_check(f, "bpf", NP_CHECK_WARNING, "is not bpffs");
        assert_check(f, "bpf", NP_CHECK_WARNING, "no kernel BTF at /nonexistent/btf/vmlinux: classic tracepoint");
        assert_check(f, "bpf", NP_CHECK_WARNING, "not loaded yet");
        assert_check(f, "pmu", NP_CHECK_OK, "unknown until the monitor is loaded");
        assert_check(f, "ledger", NP_CHECK_OK, "no containers placed");
        assert_false(f->doctor.nri_found);
        assert_true(f->doctor.kubelet_read);
        assert_int_equal(np_doctor_worst(&f->doctor), NP_CHECK_WARNING);
}

static void test_doctor_reports_a_cpuset_changed_behind_numapin(void **state)
{
        struct fixture *f = *state;

        put_record(f, "kept", NP_SOURCE_HOOK, "2-3", false);
        make_cgroup(f, "kept", "2-3\n");
        put_record(f, "moved", NP_SOURCE_NRI, "4-5", false);
        make_cgroup(f, "moved", "0-31\n");
        run(f);
        assert_check(f, "ledger", NP_CHECK_WARNING,
                     "container 'moved' (nri): " /* the first ledger line: 'kept' agrees */);
        assert_check(f, "ledger", NP_CHECK_WARNING, "cpuset.cpus is 0-31 but its record says 4-5");
        assert_check(f, "ledger", NP_CHECK_WARNING, "numapin-nri sets it back at its next Synchronize");
        assert_int_equal(f->doctor.n_checks, 7); /* one ledger line: only 'moved' is named */
}

static void test_doctor_reports_a_gone_cgroup_as_stale(void **state)
{
        struct fixture *f = *state;

        put_record(f, "gone", NP_SOURCE_HOOK, "2", false);
        run(f);
        assert_check(f, "ledger", NP_CHECK_WARNING, "container 'gone' (hook): its cgroup");
        assert_check(f, "ledger", NP_CHECK_WARNING,
                     "is gone: stale, reclaimed by the next placement or release once 10 s have passed");
}

static void test_doctor_counts_matching_records_in_one_ok_line(void **state)
{
        struct fixture *f = *state;

        put_record(f, "a", NP_SOURCE_HOOK, "2-3", false);
        make_cgroup(f, "a", "2-3\n");
        put_record(f, "b", NP_SOURCE_HOOK, "8-15", false);
        make_cgroup(f, "b", "8-15\n");
        run(f);
        assert_check(f, "ledger", NP_CHECK_OK, "2 records (2 hook, 0 nri, 0 plan)");
        assert_check(f, "hook", NP_CHECK_OK, "in use: 2 containers placed by numapin-hook");
}

static void test_doctor_tells_a_running_nri_plugin_from_a_dead_one(void **state)
{
        struct fixture *f = *state;

        save_nri_status(f, (int)getpid());
        run(f);
        assert_true(f->doctor.nri_found);
        assert_true(f->doctor.nri_running);
        assert_check(f, "nri", NP_CHECK_OK, "talks to cri-o 1.34.0 over NRI before v0.12");
        assert_check(f, "nri", NP_CHECK_OK, "7 runtime cpuset updates answered");
        save_nri_status(f, np_test_dead_pid());
        run(f);
        assert_true(f->doctor.nri_found);
        assert_false(f->doctor.nri_running);
        assert_check(f, "nri", NP_CHECK_WARNING, "numapin-nri is not running");
        assert_true(f->doctor.nri.updates_overridden == 7);
}

static void test_doctor_warns_of_nri_records_without_a_plugin_status(void **state)
{
        struct fixture *f = *state;

        put_record(f, "pod-a", NP_SOURCE_NRI, "2", false);
        make_cgroup(f, "pod-a", "2");
        run(f);
        assert_check(f, "nri", NP_CHECK_WARNING, "the ledger holds 1 container placed by numapin-nri");
}

static void test_doctor_explains_kubelets_static_policy(void **state)
{
        struct fixture *f = *state;
        char path[PATH_MAX + 64];

        put_record(f, "x", NP_SOURCE_HOOK, "16", true); /* numapin holds CPU 16 exclusively */
        make_cgroup(f, "x", "16");
        assert_int_equal(mkdir(f->kubelet, 0755), 0);
        np_test_write_file(
                np_test_path(path, sizeof(path), f->kubelet, "cpu_manager_state"),
                "{\"policyName\":\"static\",\"defaultCpuSet\":\"0,3-15\",\"entries\":{\"p\":{\"c\":\"1-2,16\"}}}");
        np_test_write_file(np_test_path(path, sizeof(path), f->kubelet, "memory_manager_state"),
                           "{\"policyName\":\"None\"}");
        run(f);
        assert_check(f, "kubelet", NP_CHECK_WARNING, "policy is static (shared pool 0,3-15; CPUs 1-2,16 assigned");
        assert_check(f, "kubelet", NP_CHECK_WARNING, "CPUs 16 are held exclusively by numapin and assigned by kubelet");
        assert_check(f, "kubelet", NP_CHECK_WARNING, "Memory manager policy None");
        assert_cpulist_equal(&f->doctor.kubelet.assigned_cpus, "1-2,16");
}

static void test_doctor_warns_of_a_malformed_kubelet_state(void **state)
{
        struct fixture *f = *state;
        char path[PATH_MAX + 64];

        assert_int_equal(mkdir(f->kubelet, 0755), 0);
        np_test_write_file(np_test_path(path, sizeof(path), f->kubelet, "cpu_manager_state"), "{\"policyName\":1}");
        run(f);
        assert_false(f->doctor.kubelet_read);
        assert_check(f, "kubelet", NP_CHECK_WARNING, "field 'policyName'");
}

static void test_doctor_finds_the_hook_drop_ins_and_a_missing_binary(void **state)
{
        struct fixture *f = *state;
        char path[PATH_MAX + 64], text[PATH_MAX + 256];

        snprintf(text, sizeof(text),
                 "{\"version\":\"1.0.0\",\"hook\":{\"path\":\"%s/bin/numapin-hook\"},\"stages\":[\"createRuntime\"]}",
                 f->dir);
        np_test_write_file(np_test_path(path, sizeof(path), f->hooks, "numapin.json"), text);
        np_test_write_file(
                np_test_path(path, sizeof(path), f->hooks, "other.json"),
                "{\"version\":\"1.0.0\",\"hook\":{\"path\":\"/usr/bin/other-hook\"},\"stages\":[\"prestart\"]}");
        run(f);
        assert_check(f, "hook", NP_CHECK_WARNING, "hooks.d drop-in calling it: ");
        assert_check(f, "hook", NP_CHECK_WARNING, "numapin.json calls ");
        assert_check(f, "hook", NP_CHECK_WARNING, "bin/numapin-hook, which is missing");
        assert_null(strstr(check(f, "hook")->message, "other.json"));

        snprintf(path, sizeof(path), "%s/bin", f->dir);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/bin/numapin-hook", f->dir);
        np_test_write_file(path, "#!/bin/sh\n");
        assert_int_equal(chmod(path, 0755), 0);
        run(f);
        assert_check(f, "hook", NP_CHECK_OK, "numapin.json");
}

static void test_doctor_warns_of_a_broken_drop_in_naming_the_hook(void **state)
{
        struct fixture *f = *state;
        char path[PATH_MAX + 64];

        np_test_write_file(np_test_path(path, sizeof(path), f->hooks, "numapin.json"),
                           "{\"hook\":{\"path\":\"/usr/local/bin/numapin-hook\"");
        run(f);
        assert_check(f, "hook", NP_CHECK_WARNING, "numapin.json: truncated JSON");
}

static void test_doctor_is_an_error_without_a_cpuset_controller(void **state)
{
        struct fixture *f = *state;
        char path[PATH_MAX + 64];

        assert_int_equal(unlink(np_test_path(path, sizeof(path), f->cgroup, "cpuset/cpuset.cpus")), 0);
        run(f);
        assert_check(f, "cgroup", NP_CHECK_ERROR, "no cpuset controller");
        assert_int_equal(np_doctor_worst(&f->doctor), NP_CHECK_ERROR);
}

static void test_doctor_with_the_monitor_off_says_so(void **state)
{
        struct fixture *f = *state;

        write_config(f, "\"monitor\": false");
        run(f);
        assert_check(f, "bpf", NP_CHECK_OK, "the locality monitor is off");
        assert_check(f, "pmu", NP_CHECK_OK, "the locality monitor is off");
}

static void test_doctor_leaves_the_state_dir_unmade(void **state)
{
        struct fixture *f = *state;
        struct stat st;

        run(f);
        assert_int_equal(stat(f->state, &st), -1);
        assert_int_equal(errno, ENOENT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_doctor_on_an_empty_node_is_all_ok_but_bpffs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_doctor_reports_a_cpuset_changed_behind_numapin, setup, teardown),
                cmocka_unit_test_setup_teardown(test_doctor_reports_a_gone_cgroup_as_stale, setup, teardown),
                cmocka_unit_test_setup_teardown(test_doctor_counts_matching_records_in_one_ok_line, setup, teardown),
                cmocka_unit_test_setup_teardown(test_doctor_tells_a_running_nri_plugin_from_a_dead_one, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_doctor_warns_of_nri_records_without_a_plugin_status, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_doctor_explains_kubelets_static_policy, setup, teardown),
                cmocka_unit_test_setup_teardown(test_doctor_warns_of_a_malformed_kubelet_state, setup, teardown),
                cmocka_unit_test_setup_teardown(test_doctor_finds_the_hook_drop_ins_and_a_missing_binary, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_doctor_warns_of_a_broken_drop_in_naming_the_hook, setup, teardown),
                cmocka_unit_test_setup_teardown(test_doctor_is_an_error_without_a_cpuset_controller, setup, teardown),
                cmocka_unit_test_setup_teardown(test_doctor_with_the_monitor_off_says_so, setup, teardown),
                cmocka_unit_test_setup_teardown(test_doctor_leaves_the_state_dir_unmade, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
