// SPDX-License-Identifier: MIT
/* kubelet's state files (core/kubelet.c), written by the tests into a private
 * kubelet root: the static and none CPU manager policies, the Memory manager's
 * policy, missing files, and hostile files (malformed JSON, cpusets out of
 * range, the pre-1.18 flat form, a FIFO, a file beyond the limit), each
 * refused with a message naming the file and the field. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "../../core/kubelet.h"
#include "helpers.h"

struct fixture {
        char dir[PATH_MAX];
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        np_test_mkdtemp(f->dir, sizeof(f->dir));
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

static void write_state(const struct fixture *f, const char *name, const char *text)
{
        char path[PATH_MAX + 64];

        np_test_write_file(np_test_path(path, sizeof(path), f->dir, name), text);
}

static void load_ok(const struct fixture *f, struct np_kubelet *ret_kubelet)
{
        struct np_diag diag = {};

        if (np_kubelet_load(f->dir, &diag, ret_kubelet) != 0)
                fail_msg("np_kubelet_load: %s", diag.message);
}

/* Asserts that loading fails with `error`, a message naming `file` and
 * containing `expected`, and the output left as it was. */
static void assert_refused(const struct fixture *f, int error, const char *file, const char *expected)
{
        struct np_kubelet kubelet = { .cpu_policy = "untouched" };
        struct np_diag diag = {};
        char path[PATH_MAX + 64];

        assert_int_equal(np_kubelet_load(f->dir, &diag, &kubelet), error);
        assert_int_equal(diag.error, error);
        if (!strstr(diag.message, np_test_path(path, sizeof(path), f->dir, file)))
                fail_msg("message does not name %s: %s", path, diag.message);
        if (!strstr(diag.message, expected))
                fail_msg("message lacks '%s': %s", expected, diag.message);
        assert_string_equal(kubelet.cpu_policy, "untouched");
        assert_null(kubelet.assignments);
}

static void test_kubelet_load_reads_static_policy_with_entries(void **state)
{
        struct fixture *f = *state;
        struct np_kubelet kubelet = {};
        const struct np_cpulist *cpus;

        write_state(f, "cpu_manager_state",
                    "{\"policyName\":\"static\",\"defaultCpuSet\":\"0,3-7\",\"entries\":{"
                    "\"6f1c2b1e-0000-4000-8000-000000000001\":{\"app\":\"1-2\",\"sidecar\":\"8\"},"
                    "\"6f1c2b1e-0000-4000-8000-000000000002\":{\"db\":\"9\"}},\"checksum\":3124529384}");
        write_state(f, "memory_manager_state",
                    "{\"policyName\":\"Static\",\"machineState\":{\"0\":{\"numberOfAssignments\":1}},"
                    "\"entries\":{},\"checksum\":12}");
        load_ok(f, &kubelet);
        assert_true(kubelet.cpu_state_found);
        assert_string_equal(kubelet.cpu_policy, "static");
        assert_cpulist_equal(&kubelet.default_cpus, "0,3-7");
        assert_cpulist_equal(&kubelet.assigned_cpus, "1-2,8-9");
        assert_int_equal(kubelet.n_assignments, 3);
        cpus = np_kubelet_assigned(&kubelet, "6f1c2b1e-0000-4000-8000-000000000001", "sidecar");
        assert_non_null(cpus);
        assert_cpulist_equal(cpus, "8");
        cpus = np_kubelet_assigned(&kubelet, "6f1c2b1e-0000-4000-8000-000000000002", "db");
        assert_non_null(cpus);
        assert_cpulist_equal(cpus, "9");
        assert_null(np_kubelet_assigned(&kubelet, "6f1c2b1e-0000-4000-8000-000000000002", "app"));
        assert_null(np_kubelet_assigned(&kubelet, "another-pod", "app"));
        assert_true(kubelet.memory_state_found);
        assert_string_equal(kubelet.memory_policy, "Static");
        np_kubelet_clear(&kubelet);
        assert_null(kubelet.assignments);
        assert_int_equal(kubelet.n_assignments, 0);
}

static void test_kubelet_load_reads_none_policy_without_entries(void **state)
{
        struct fixture *f = *state;
        struct np_kubelet kubelet = {};

        write_state(f, "cpu_manager_state", "{\"policyName\":\"none\",\"defaultCpuSet\":\"\",\"checksum\":1353318690}");
        write_state(f, "memory_manager_state", "{\"policyName\":\"None\",\"checksum\":1}");
        load_ok(f, &kubelet);
        assert_true(kubelet.cpu_state_found);
        assert_string_equal(kubelet.cpu_policy, "none");
        assert_true(np_cpulist_empty(&kubelet.default_cpus));
        assert_true(np_cpulist_empty(&kubelet.assigned_cpus));
        assert_int_equal(kubelet.n_assignments, 0);
        assert_null(np_kubelet_assigned(&kubelet, "pod", "app"));
        assert_string_equal(kubelet.memory_policy, "None");
        np_kubelet_clear(&kubelet);
}

static void test_kubelet_load_reads_empty_entries(void **state)
{
        struct fixture *f = *state;
        struct np_kubelet kubelet = {};

        write_state(f, "cpu_manager_state", "{\"policyName\":\"static\",\"defaultCpuSet\":\"0-31\",\"entries\":{}}");
        load_ok(f, &kubelet);
        assert_string_equal(kubelet.cpu_policy, "static");
        assert_cpulist_equal(&kubelet.default_cpus, "0-31");
        assert_int_equal(kubelet.n_assignments, 0);
        assert_false(kubelet.memory_state_found);
        assert_string_equal(kubelet.memory_policy, "");
        np_kubelet_clear(&kubelet);
}

static void test_kubelet_load_treats_missing_files_as_not_found(void **state)
{
        struct fixture *f = *state;
        struct np_kubelet kubelet = { .cpu_state_found = true };

        load_ok(f, &kubelet);
        assert_false(kubelet.cpu_state_found);
        assert_false(kubelet.memory_state_found);
        assert_string_equal(kubelet.cpu_policy, "");
        assert_string_equal(kubelet.memory_policy, "");
        assert_int_equal(kubelet.n_assignments, 0);
}

static void test_kubelet_load_treats_missing_root_as_not_found(void **state)
{
        struct fixture *f = *state;
        struct np_kubelet kubelet = { .memory_state_found = true };
        struct np_diag diag = {};
        char root[PATH_MAX + 64];

        assert_int_equal(np_kubelet_load(np_test_path(root, sizeof(root), f->dir, "no-kubelet"), &diag, &kubelet), 0);
        assert_false(kubelet.cpu_state_found);
        assert_false(kubelet.memory_state_found);
}

static void test_kubelet_load_refuses_malformed_json_naming_the_file(void **state)
{
        struct fixture *f = *state;

        write_state(f, "cpu_manager_state", "{\"policyName\":\"static\",\"defaultCpuSet\":");
        assert_refused(f, -EINVAL, "cpu_manager_state", "truncated JSON");
        write_state(f, "cpu_manager_state", "{\"policyName\":\"static\"} trailing");
        assert_refused(f, -EINVAL, "cpu_manager_state", "invalid JSON at byte offset 24");
        write_state(f, "cpu_manager_state", "[\"static\"]");
        assert_refused(f, -EINVAL, "cpu_manager_state", "expected a JSON object");
}

static void test_kubelet_load_refuses_cpuset_out_of_range_naming_the_field(void **state)
{
        struct fixture *f = *state;

        write_state(f, "cpu_manager_state",
                    "{\"policyName\":\"static\",\"defaultCpuSet\":\"0\",\"entries\":{\"pod-1\":{\"app\":\"99999\"}}}");
        assert_refused(f, -EINVAL, "cpu_manager_state", "field 'entries.pod-1.app'");
        write_state(f, "cpu_manager_state", "{\"policyName\":\"static\",\"defaultCpuSet\":\"3-1\"}");
        assert_refused(f, -EINVAL, "cpu_manager_state", "field 'defaultCpuSet'");
        write_state(f, "cpu_manager_state", "{\"policyName\":\"static\",\"defaultCpuSet\":\"0,,1\"}");
        assert_refused(f, -EINVAL, "cpu_manager_state", "field 'defaultCpuSet'");
}

static void test_kubelet_load_refuses_fields_of_another_type(void **state)
{
        struct fixture *f = *state;

        write_state(f, "cpu_manager_state", "{\"policyName\":\"static\",\"defaultCpuSet\":0}");
        assert_refused(f, -EINVAL, "cpu_manager_state", "field 'defaultCpuSet' is an integer; expected a string");
        write_state(f, "cpu_manager_state", "{\"policyName\":\"static\",\"entries\":[]}");
        assert_refused(f, -EINVAL, "cpu_manager_state", "field 'entries' is an array; expected an object");
        write_state(f, "cpu_manager_state", "{\"policyName\":\"static\",\"entries\":{\"pod\":{\"app\":1}}}");
        assert_refused(f, -EINVAL, "cpu_manager_state", "field 'entries.pod.app' is not a string");
        write_state(f, "cpu_manager_state", "{\"policyName\":\"static\",\"checksum\":\"12\"}");
        assert_refused(f, -EINVAL, "cpu_manager_state", "field 'checksum'");
        write_state(f, "cpu_manager_state", "{\"policyName\":7}");
        assert_refused(f, -EINVAL, "cpu_manager_state", "field 'policyName'");
}

static void test_kubelet_load_refuses_the_flat_entries_of_kubelet_before_1_18(void **state)
{
        struct fixture *f = *state;

        write_state(f, "cpu_manager_state",
                    "{\"policyName\":\"static\",\"defaultCpuSet\":\"0\",\"entries\":{\"4f0a9c\":\"1\"}}");
        assert_refused(f, -EINVAL, "cpu_manager_state", "field 'entries.4f0a9c' is not an object");
}

static void test_kubelet_load_refuses_missing_or_odd_policy_names(void **state)
{
        struct fixture *f = *state;
        char path[PATH_MAX + 64];

        write_state(f, "cpu_manager_state", "{\"defaultCpuSet\":\"0\"}");
        assert_refused(f, -EINVAL, "cpu_manager_state", "field 'policyName' is missing");
        write_state(f, "cpu_manager_state", "{\"policyName\":\"static\\nnone\"}");
        assert_refused(f, -EINVAL, "cpu_manager_state", "is not a policy name");
        write_state(f, "cpu_manager_state", "{\"policyName\":\"\"}");
        assert_refused(f, -EINVAL, "cpu_manager_state", "is not a policy name");
        assert_int_equal(unlink(np_test_path(path, sizeof(path), f->dir, "cpu_manager_state")), 0);
        write_state(f, "memory_manager_state", "{\"machineState\":{}}");
        assert_refused(f, -EINVAL, "memory_manager_state", "field 'policyName' is missing");
}

static void test_kubelet_load_refuses_keys_beyond_their_size(void **state)
{
        struct fixture *f = *state;
        char text[1024], uid[200];

        memset(uid, 'u', 150);
        uid[150] = '\0';
        snprintf(text, sizeof(text), "{\"policyName\":\"static\",\"entries\":{\"%s\":{\"app\":\"1\"}}}", uid);
        write_state(f, "cpu_manager_state", text);
        assert_refused(f, -EINVAL, "cpu_manager_state", "expected 1-127 bytes");
        write_state(f, "cpu_manager_state",
                    "{\"policyName\":\"static\",\"entries\":{\"pod\":{\"a-container-name-of-more-than-sixty-three-"
                    "bytes-which-kubernetes-never-allows\":\"1\"}}}");
        assert_refused(f, -EINVAL, "cpu_manager_state", "expected 1-63 bytes");
        write_state(f, "cpu_manager_state", "{\"policyName\":\"static\",\"entries\":{\"po\\u0001d\":{\"app\":\"1\"}}}");
        assert_refused(f, -EINVAL, "cpu_manager_state", "po\\x01d");
}

static void on_alarm(int signo)
{
        (void)signo;
        fail_msg("np_kubelet_load blocked on a FIFO");
}

static void test_kubelet_load_refuses_a_fifo_without_blocking(void **state)
{
        struct fixture *f = *state;
        char path[PATH_MAX + 64];

        assert_int_equal(mkfifo(np_test_path(path, sizeof(path), f->dir, "cpu_manager_state"), 0644), 0);
        signal(SIGALRM, on_alarm);
        alarm(5); /* a blocked open would fail the test here instead of hanging it */
        assert_refused(f, -EINVAL, "cpu_manager_state", "not a regular file");
        alarm(0);
        signal(SIGALRM, SIG_DFL);
}

static void test_kubelet_load_refuses_a_directory(void **state)
{
        struct fixture *f = *state;
        char path[PATH_MAX + 64];

        assert_int_equal(mkdir(np_test_path(path, sizeof(path), f->dir, "memory_manager_state"), 0755), 0);
        assert_refused(f, -EINVAL, "memory_manager_state", "not a regular file");
}

static void test_kubelet_load_refuses_a_file_beyond_the_limit(void **state)
{
        struct fixture *f = *state;
        size_t size = NP_KUBELET_STATE_LIMIT + 4096;
        char *text = malloc(size + 1);
        const char *head = "{\"policyName\":\"static\",\"defaultCpuSet\":\"0\",\"pad\":\"";

        assert_non_null(text);
        memset(text, 'x', size);
        memcpy(text, head, strlen(head));
        memcpy(text + size - 2, "\"}", 2);
        text[size] = '\0';
        write_state(f, "cpu_manager_state", text);
        free(text);
        assert_refused(f, -EFBIG, "cpu_manager_state", "larger than 1048576 bytes");
}

static void test_kubelet_load_ignores_fields_it_does_not_use(void **state)
{
        struct fixture *f = *state;
        struct np_kubelet kubelet = {};

        write_state(f, "cpu_manager_state",
                    "{\"policyName\":\"static\",\"defaultCpuSet\":\"0\",\"entries\":{\"pod\":{\"app\":\"1\"}},"
                    "\"newerField\":{\"anything\":[1,2]}}");
        write_state(f, "memory_manager_state",
                    "{\"policyName\":\"Static\",\"machineState\":\"a newer layout\",\"entries\":[]}");
        load_ok(f, &kubelet);
        assert_cpulist_equal(&kubelet.assigned_cpus, "1");
        assert_string_equal(kubelet.memory_policy, "Static");
        np_kubelet_clear(&kubelet);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_kubelet_load_reads_static_policy_with_entries, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kubelet_load_reads_none_policy_without_entries, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kubelet_load_reads_empty_entries, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kubelet_load_treats_missing_files_as_not_found, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kubelet_load_treats_missing_root_as_not_found, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kubelet_load_refuses_malformed_json_naming_the_file, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_kubelet_load_refuses_cpuset_out_of_range_naming_the_field, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_kubelet_load_refuses_fields_of_another_type, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kubelet_load_refuses_the_flat_entries_of_kubelet_before_1_18,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_kubelet_load_refuses_missing_or_odd_policy_names, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kubelet_load_refuses_keys_beyond_their_size, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kubelet_load_refuses_a_fifo_without_blocking, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kubelet_load_refuses_a_directory, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kubelet_load_refuses_a_file_beyond_the_limit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kubelet_load_ignores_fields_it_does_not_use, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
