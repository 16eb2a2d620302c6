// SPDX-License-Identifier: MIT
/* The NRI plugin's status file (core/nristatus.c): what is saved reads back
 * the same, a missing file is -ENOENT without a message, and a file that is
 * malformed, lacks a field, has one of another type or is not a regular file
 * is refused with a message naming the file and the field. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "../../core/nristatus.h"
#include "helpers.h"

struct fixture {
        char dir[PATH_MAX];
        char state[PATH_MAX];
        char file[PATH_MAX + 64];
};

static const struct np_nri_status sample = {
        .runtime_name = "containerd",
        .runtime_version = "2.1.9+unknown",
        .nri_version = "v0.12.0",
        .configured_at = 1767225600,
        .pid = 4242,
        .updates_overridden = 3,
        .placements_restored = 1,
        .containers_moved = UINT64_MAX,
        .kubelet_cpu_policy = "static",
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        np_test_mkdtemp(f->dir, sizeof(f->dir));
        np_test_path(f->state, sizeof(f->state), f->dir, "state");
        np_test_path(f->file, sizeof(f->file), f->state, "nri-status.json");
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

static void assert_status_equal(const struct np_nri_status *a, const struct np_nri_status *b)
{
        assert_string_equal(a->runtime_name, b->runtime_name);
        assert_string_equal(a->runtime_version, b->runtime_version);
        assert_string_equal(a->nri_version, b->nri_version);
        assert_int_equal(a->configured_at, b->configured_at);
        assert_int_equal(a->pid, b->pid);
        assert_true(a->updates_overridden == b->updates_overridden);
        assert_true(a->placements_restored == b->placements_restored);
        assert_true(a->containers_moved == b->containers_moved);
        assert_string_equal(a->kubelet_cpu_policy, b->kubelet_cpu_policy);
}

/* Writes `text` as the status file and asserts it is refused with -EINVAL and
 * a message naming the file and containing `expected`. */
static void assert_refused(const struct fixture *f, const char *text, const char *expected)
{
        struct np_nri_status status = { .pid = -7 };
        struct np_diag diag = {};

        if (text)
                np_test_write_file(f->file, text);
        assert_int_equal(np_nri_status_load(f->state, &diag, &status), -EINVAL);
        assert_int_equal(diag.error, -EINVAL);
        if (!strstr(diag.message, f->file))
                fail_msg("message does not name %s: %s", f->file, diag.message);
        if (!strstr(diag.message, expected))
                fail_msg("message lacks '%s': %s", expected, diag.message);
        assert_int_equal(status.pid, -7);
}

static void test_nri_status_save_then_load_round_trips(void **state)
{
        struct fixture *f = *state;
        struct np_nri_status status = {};
        struct np_diag diag = {};
        struct stat st;

        assert_int_equal(np_nri_status_save(f->state, &sample), 0);
        assert_int_equal(np_nri_status_load(f->state, &diag, &status), 0);
        assert_status_equal(&status, &sample);
        assert_int_equal(stat(f->file, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
}

static void test_nri_status_save_replaces_the_file_whole(void **state)
{
        struct fixture *f = *state;
        struct np_nri_status next = sample, status = {};
        struct np_diag diag = {};

        assert_int_equal(np_nri_status_save(f->state, &sample), 0);
        next.updates_overridden = 4;
        next.nri_version[0] = '\0'; /* a runtime before NRI v0.12 */
        snprintf(next.runtime_name, sizeof(next.runtime_name), "cri-o");
        assert_int_equal(np_nri_status_save(f->state, &next), 0);
        assert_int_equal(np_nri_status_load(f->state, &diag, &status), 0);
        assert_status_equal(&status, &next);
        assert_int_equal(np_test_count_entries(f->state), 1); /* no temporary file left */
}

static void test_nri_status_save_keeps_fields_to_their_size(void **state)
{
        struct fixture *f = *state;
        struct np_nri_status full = sample, status = {};
        struct np_diag diag = {};

        memset(full.runtime_name, 'r', sizeof(full.runtime_name)); /* no NUL: the field's end bounds it */
        assert_int_equal(np_nri_status_save(f->state, &full), 0);
        assert_int_equal(np_nri_status_load(f->state, &diag, &status), 0);
        assert_int_equal(strlen(status.runtime_name), sizeof(status.runtime_name) - 1);
}

static void test_nri_status_load_of_none_is_enoent_without_message(void **state)
{
        struct fixture *f = *state;
        struct np_nri_status status = {};
        struct np_diag diag = {};

        assert_int_equal(np_nri_status_load(f->state, &diag, &status), -ENOENT); /* no state dir */
        assert_int_equal(mkdir(f->state, 0755), 0);
        assert_int_equal(np_nri_status_load(f->state, &diag, &status), -ENOENT);
        assert_string_equal(diag.message, "");
}

static void test_nri_status_load_refuses_malformed_json(void **state)
{
        struct fixture *f = *state;

        assert_int_equal(mkdir(f->state, 0755), 0);
        assert_refused(f, "{\"runtime_name\":\"containerd\",", "truncated JSON");
        assert_refused(f, "", "empty input");
        assert_refused(f, "[]", "expected a JSON object");
}

static void test_nri_status_load_refuses_missing_and_mistyped_fields(void **state)
{
        struct fixture *f = *state;
        char text[1024];

        assert_int_equal(mkdir(f->state, 0755), 0);
        assert_refused(f,
                       "{\"runtime_name\":\"containerd\",\"runtime_version\":\"2.1.9\",\"nri_version\":\"\","
                       "\"kubelet_cpu_policy\":\"\",\"configured_at\":1,\"pid\":12,\"updates_overridden\":0,"
                       "\"placements_restored\":0}",
                       "field 'containers_moved' is missing");
        assert_refused(f,
                       "{\"runtime_name\":\"containerd\",\"runtime_version\":\"2.1.9\",\"nri_version\":\"\","
                       "\"kubelet_cpu_policy\":\"\",\"configured_at\":1,\"pid\":\"12\",\"updates_overridden\":0,"
                       "\"placements_restored\":0,\"containers_moved\":0}",
                       "field 'pid' is a string; expected an integer");
        assert_refused(f,
                       "{\"runtime_name\":\"containerd\",\"runtime_version\":\"2.1.9\",\"nri_version\":\"\","
                       "\"kubelet_cpu_policy\":\"\",\"configured_at\":1,\"pid\":0,\"updates_overridden\":0,"
                       "\"placements_restored\":0,\"containers_moved\":0}",
                       "field 'pid' is out of range");
        assert_refused(f,
                       "{\"runtime_name\":\"containerd\",\"runtime_version\":\"2.1.9\",\"nri_version\":\"\","
                       "\"kubelet_cpu_policy\":\"\",\"configured_at\":1,\"pid\":5,\"updates_overridden\":-1,"
                       "\"placements_restored\":0,\"containers_moved\":0}",
                       "field 'updates_overridden' is negative");
        snprintf(text, sizeof(text),
                 "{\"runtime_name\":\"%0100d\",\"runtime_version\":\"2.1.9\",\"nri_version\":\"\","
                 "\"kubelet_cpu_policy\":\"\",\"configured_at\":1,\"pid\":5,\"updates_overridden\":1,"
                 "\"placements_restored\":0,\"containers_moved\":0}",
                 7);
        assert_refused(f, text, "field 'runtime_name' is longer than 63 bytes");
}

static void on_alarm(int signo)
{
        (void)signo;
        fail_msg("np_nri_status_load blocked on a FIFO");
}

static void test_nri_status_load_refuses_a_file_that_is_not_regular(void **state)
{
        struct fixture *f = *state;

        assert_int_equal(mkdir(f->state, 0755), 0);
        assert_int_equal(mkfifo(f->file, 0644), 0);
        signal(SIGALRM, on_alarm);
        alarm(5); /* a blocked open would fail the test here instead of hanging it */
        assert_refused(f, NULL, "not a regular file");
        alarm(0);
        signal(SIGALRM, SIG_DFL);
        assert_int_equal(unlink(f->file), 0);
        assert_int_equal(mkdir(f->file, 0755), 0);
        assert_refused(f, NULL, "not a regular file");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_nri_status_save_then_load_round_trips, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nri_status_save_replaces_the_file_whole, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nri_status_save_keeps_fields_to_their_size, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nri_status_load_of_none_is_enoent_without_message, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_nri_status_load_refuses_malformed_json, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nri_status_load_refuses_missing_and_mistyped_fields, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_nri_status_load_refuses_a_file_that_is_not_regular, setup,
                                                teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
