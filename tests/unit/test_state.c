// SPDX-License-Identifier: MIT
/* The OCI state on a hook's stdin (core/state.c): what runc, crun and podman
 * write, and the refusals of malformed or hostile state. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../core/state.h"

static void parse_ok(const char *text, struct np_state *ret_state)
{
        struct np_diag diag = {};
        int r = np_state_parse(text, strlen(text), &diag, ret_state);

        if (r != 0)
                fail_msg("np_state_parse(%s) returned %d: %s", text, r, diag.message);
}

/* Asserts that `text` is refused with `error` and a one-line message containing
 * `expected`, and that the output state is left untouched. */
static void assert_refused(const char *text, int error, const char *expected)
{
        struct np_diag diag = {};
        struct np_state state = { .id = "untouched", .pid = 99 };
        int r = np_state_parse(text, strlen(text), &diag, &state);

        if (r != error)
                fail_msg("np_state_parse(%s) returned %d; expected %d (%s)", text, r, error, diag.message);
        assert_int_equal(diag.error, error);
        if (!strstr(diag.message, expected))
                fail_msg("message '%s' lacks '%s'", diag.message, expected);
        assert_null(strchr(diag.message, '\n'));
        assert_string_equal(state.id, "untouched");
        assert_int_equal(state.pid, 99);
        assert_int_equal(state.annotations.n, 0);
}

static void test_state_parse_reads_runc_creating_state(void **state)
{
        struct np_state st = {};

        parse_ok("{\"ociVersion\":\"1.0.2-dev\",\"id\":\"abc\",\"status\":\"creating\",\"pid\":1234,\"bundle\":\"/b\","
                 "\"annotations\":{\"policy.numapin.io/pod\":\"bind\",\"io.kubernetes.cri.container-name\":\"app\"}}",
                 &st);
        assert_string_equal(st.id, "abc");
        assert_string_equal(st.status, "creating");
        assert_int_equal(st.pid, 1234);
        assert_string_equal(st.bundle, "/b");
        assert_true(st.has_annotations);
        assert_int_equal(st.annotations.n, 2);
        assert_string_equal(np_annotations_get(&st.annotations, "policy.numapin.io/pod"), "bind");
        assert_string_equal(np_annotations_get(&st.annotations, "io.kubernetes.cri.container-name"), "app");
        assert_null(np_annotations_get(&st.annotations, "nodes.numapin.io/pod"));
        np_state_clear(&st);
        assert_false(st.has_annotations);
        assert_int_equal(st.annotations.n, 0);
        assert_null(st.annotations.items);
}

static void test_state_parse_reads_crun_created_state_with_root(void **state)
{
        struct np_state st = {};

        parse_ok("{\"ociVersion\":\"1.0.0\",\"id\":\"c1\",\"status\":\"created\",\"pid\":77,"
                 "\"root\":\"/run/crun/c1\",\"bundle\":\"/var/lib/containers/c1/userdata\"}",
                 &st);
        assert_string_equal(st.id, "c1");
        assert_string_equal(st.status, "created");
        assert_int_equal(st.pid, 77);
        assert_string_equal(st.bundle, "/var/lib/containers/c1/userdata");
        assert_false(st.has_annotations);
        assert_int_equal(st.annotations.n, 0);
        np_state_clear(&st);
}

static void test_state_parse_reads_podman_poststop_state_without_pid(void **state)
{
        struct np_state st = { .pid = 5 };

        parse_ok("{\"ociVersion\":\"1.0.2-dev\",\"id\":\"0123abcdef\",\"status\":\"stopped\",\"bundle\":\"/b\","
                 "\"annotations\":{}}",
                 &st);
        assert_string_equal(st.status, "stopped");
        assert_int_equal(st.pid, 0);
        assert_true(st.has_annotations);
        assert_int_equal(st.annotations.n, 0);
        np_state_clear(&st);
}

static void test_state_parse_accepts_running_and_paused(void **state)
{
        struct np_state st = {};

        parse_ok("{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"running\",\"pid\":1,\"bundle\":\"/b\"}", &st);
        assert_string_equal(st.status, "running");
        np_state_clear(&st);
        parse_ok("{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"paused\",\"pid\":1,\"bundle\":\"/b\"}", &st);
        assert_string_equal(st.status, "paused");
        np_state_clear(&st);
}

static void test_state_parse_accepts_id_characters_runtimes_allow(void **state)
{
        struct np_state st = {};

        parse_ok("{\"ociVersion\":\"1.0.2\",\"id\":\"k8s_app-1.2+x_Y\",\"status\":\"creating\",\"pid\":1,"
                 "\"bundle\":\"/b\"}",
                 &st);
        assert_string_equal(st.id, "k8s_app-1.2+x_Y");
        np_state_clear(&st);
}

static void test_state_parse_accepts_id_of_200_chars_and_pid_int32_max(void **state)
{
        char text[512], id[NP_ID_MAX + 1];
        struct np_state st = {};

        memset(id, 'a', NP_ID_MAX);
        id[NP_ID_MAX] = '\0';
        snprintf(text, sizeof(text),
                 "{\"ociVersion\":\"1.0.2\",\"id\":\"%s\","
                 "\"status\":\"creating\",\"pid\":2147483647,\"bundle\":\"/b\"}",
                 id);
        parse_ok(text, &st);
        assert_string_equal(st.id, id);
        assert_int_equal(st.pid, INT32_MAX);
        np_state_clear(&st);
}

static void test_state_parse_treats_null_pid_as_absent(void **state)
{
        struct np_state st = {};

        parse_ok("{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"stopped\",\"pid\":null,\"bundle\":\"/b\"}", &st);
        assert_int_equal(st.pid, 0);
        np_state_clear(&st);
}

static void test_state_parse_rejects_input_that_is_not_an_object(void **state)
{
        assert_refused("[]", -EINVAL, "expected a JSON object");
        assert_refused("\"creating\"", -EINVAL, "expected a JSON object");
        assert_refused("", -EINVAL, "state on stdin");
        assert_refused("{\"id\":", -EINVAL, "truncated");
        assert_refused("{\"id\":\"\xff\"}", -EILSEQ, "invalid UTF-8");
}

static void test_state_parse_rejects_input_over_one_mib(void **state)
{
        size_t size = NP_STATE_LIMIT + 1;
        _cleanup_free_ char *text = malloc(size);
        struct np_diag diag = {};
        struct np_state st = {};

        assert_non_null(text);
        memset(text, ' ', size);
        text[0] = '{';
        text[size - 1] = '}';
        assert_int_equal(np_state_parse(text, size, &diag, &st), -EFBIG);
        assert_non_null(strstr(diag.message, "limit"));
}

static void test_state_parse_rejects_missing_required_fields(void **state)
{
        assert_refused("{\"id\":\"a\",\"status\":\"creating\",\"pid\":1,\"bundle\":\"/b\"}", -EINVAL, "'ociVersion'");
        assert_refused("{\"ociVersion\":\"1.0.2\",\"status\":\"creating\",\"pid\":1,\"bundle\":\"/b\"}", -EINVAL,
                       "'id' is missing");
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"pid\":1,\"bundle\":\"/b\"}", -EINVAL,
                       "'status' is missing");
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"creating\",\"pid\":1}", -EINVAL,
                       "'bundle' is missing");
        assert_refused("{}", -EINVAL, "missing");
}

static void test_state_parse_rejects_fields_of_wrong_type(void **state)
{
        assert_refused("{\"ociVersion\":1,\"id\":\"a\",\"status\":\"creating\",\"bundle\":\"/b\"}", -EINVAL,
                       "field 'ociVersion' is an integer; expected a string");
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":5,\"status\":\"creating\",\"bundle\":\"/b\"}", -EINVAL,
                       "field 'id' is an integer; expected a string");
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":true,\"bundle\":\"/b\"}", -EINVAL,
                       "field 'status' is a boolean; expected a string");
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"creating\",\"bundle\":[\"/b\"]}", -EINVAL,
                       "field 'bundle' is an array; expected a string");
}

static void test_state_parse_rejects_ids_that_are_not_container_ids(void **state)
{
        static const char *const ids[] = {
                "a/b", "../etc", "..", ".hidden", "", "a b", "a\\u0000b", "a\\nb", "caf\xc3\xa9",
        };

        for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
                char text[256];

                snprintf(text, sizeof(text),
                         "{\"ociVersion\":\"1.0.2\",\"id\":\"%s\",\"status\":\"creating\",\"pid\":1,\"bundle\":\"/b\"}",
                         ids[i]);
                assert_refused(text, -EINVAL, "'id'");
        }
}

static void test_state_parse_rejects_id_of_300_chars(void **state)
{
        char text[512], id[301];

        memset(id, 'a', 300);
        id[300] = '\0';
        snprintf(text, sizeof(text),
                 "{\"ociVersion\":\"1.0.2\",\"id\":\"%s\",\"status\":\"creating\",\"pid\":1,\"bundle\":\"/b\"}", id);
        assert_refused(text, -EINVAL, "expected 1-200");
        id[NP_ID_MAX + 1] = '\0';
        snprintf(text, sizeof(text),
                 "{\"ociVersion\":\"1.0.2\",\"id\":\"%s\",\"status\":\"creating\",\"pid\":1,\"bundle\":\"/b\"}", id);
        assert_refused(text, -EINVAL, "'id'");
}

static void test_state_parse_rejects_unknown_status(void **state)
{
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\","
                       "\"status\":\"exited\",\"pid\":1,\"bundle\":\"/b\"}",
                       -EINVAL,
                       "field 'status' 'exited' is unknown; expected creating, created, running, stopped or paused");
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"Created\",\"pid\":1,\"bundle\":\"/b\"}",
                       -EINVAL, "'Created' is unknown");
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"\",\"pid\":1,\"bundle\":\"/b\"}", -EINVAL,
                       "is unknown");
}

static void test_state_parse_rejects_relative_bundle(void **state)
{
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\","
                       "\"status\":\"creating\",\"pid\":1,\"bundle\":\"b\"}",
                       -EINVAL, "field 'bundle' 'b' is not an absolute path");
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"creating\",\"pid\":1,\"bundle\":\"./b\"}",
                       -EINVAL, "not an absolute path");
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\","
                       "\"status\":\"creating\",\"pid\":1,\"bundle\":\"\"}",
                       -EINVAL, "not an absolute path");
}

static void test_state_parse_rejects_pid_out_of_range_or_not_an_integer(void **state)
{
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"creating\",\"pid\":-1,\"bundle\":\"/b\"}",
                       -ERANGE, "field 'pid' is out of range; expected an integer from 0 to 2147483647");
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\","
                       "\"status\":\"creating\",\"pid\":2147483648,\"bundle\":\"/b\"}",
                       -ERANGE, "'pid'");
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"creating\",\"pid\":18446744073709551615,"
                       "\"bundle\":\"/b\"}",
                       -ERANGE, "'pid'");
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\","
                       "\"status\":\"creating\",\"pid\":\"1234\",\"bundle\":\"/b\"}",
                       -EINVAL, "field 'pid' is a string; expected an integer");
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"creating\",\"pid\":12.5,\"bundle\":\"/b\"}",
                       -EINVAL, "field 'pid' is a number; expected an integer");
}

static void test_state_parse_rejects_annotations_that_are_not_an_object(void **state)
{
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"creating\",\"pid\":1,\"bundle\":\"/b\","
                       "\"annotations\":[\"policy.numapin.io/pod=bind\"]}",
                       -EINVAL, "field 'annotations' is an array; expected an object");
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"creating\",\"pid\":1,\"bundle\":\"/b\","
                       "\"annotations\":\"x\"}",
                       -EINVAL, "field 'annotations' is a string; expected an object");
}

static void test_state_parse_rejects_annotation_values_that_are_not_strings(void **state)
{
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"creating\",\"pid\":1,\"bundle\":\"/b\","
                       "\"annotations\":{\"ok\":\"1\",\"cpus.numapin.io/pod\":4}}",
                       -EINVAL, "annotation 'cpus.numapin.io/pod' is not a string");
}

/* A NUL in numapin's key or value is kept with its length here; np_annotations_parse
 * refuses it, for the hook and the NRI plugin alike. */
static void test_state_parse_keeps_the_exact_bytes_of_numapin_annotations(void **state)
{
        static const char text[] = "{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"creating\",\"pid\":1,"
                                   "\"bundle\":\"/b\",\"annotations\":{\"cpus.numapin.io/pod\":\"a\\u0000b\","
                                   "\"cpus.numapin.io/pod\\u0000x\":\"3\"}}";
        struct np_state s = {};
        struct np_diag diag = {};

        assert_int_equal(np_state_parse(text, strlen(text), &diag, &s), 0);
        assert_int_equal(s.annotations.n, 2);
        assert_int_equal(s.annotations.items[0].value_len, 3);
        assert_memory_equal(s.annotations.items[1].key, "cpus.numapin.io/pod\0x", 21);
        assert_int_equal(s.annotations.items[1].key_len, 21);
        np_state_clear(&s);
}

/* Someone else's annotations are not numapin's to judge: the NRI plugin never
 * sees them either. */
static void test_state_parse_ignores_foreign_annotations_of_any_form(void **state)
{
        static const char *const texts[] = {
                "{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"creating\",\"pid\":1,\"bundle\":\"/b\","
                "\"annotations\":{\"x\":null,\"cpus.numapin.io/pod\":\"2\"}}",
                "{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"creating\",\"pid\":1,\"bundle\":\"/b\","
                "\"annotations\":{\"x\":{\"y\":\"z\"},\"cpus.numapin.io/pod\":\"2\"}}",
                "{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"creating\",\"pid\":1,\"bundle\":\"/b\","
                "\"annotations\":{\"example.com/x\":\"a\\u0000b\",\"cpus.numapin.io/pod\":\"2\"}}",
        };

        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
                struct np_state st = {};

                parse_ok(texts[i], &st);
                assert_int_equal(st.annotations.n, 1);
                assert_string_equal(np_annotations_get(&st.annotations, "cpus.numapin.io/pod"), "2");
                np_state_clear(&st);
        }
}

/* json-c would take the last of two; numapin reads the state as text and takes
 * neither: a second bundle or id is somebody's attempt at a second answer. */
static void test_state_parse_rejects_a_field_given_twice(void **state)
{
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"creating\",\"pid\":1,\"bundle\":\"/b\","
                       "\"bundle\":\"/etc\"}",
                       -EINVAL, "state: field 'bundle' appears more than once; expected it once");
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"id\":\"b\",\"status\":\"creating\",\"bundle\":\"/b\"}",
                       -EINVAL, "state: field 'id' appears more than once");
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"creating\",\"bundle\":\"/b\","
                       "\"annotations\":{},\"annotations\":{\"cpus.numapin.io/pod\":\"2\"}}",
                       -EINVAL, "state: field 'annotations' appears more than once");
}

/* The text is checked whole before any field is read: a broken document names
 * the offset where it breaks, even after the fields numapin reads. */
static void test_state_parse_rejects_broken_json_after_the_fields(void **state)
{
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"creating\",\"bundle\":\"/b\",\"x\":[1,}",
                       -EINVAL, "state on stdin");
        assert_refused("{\"ociVersion\":\"1.0.2\",\"id\":\"a\",\"status\":\"creating\",\"bundle\":\"/b\"} {}", -EINVAL,
                       "state on stdin");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_state_parse_reads_runc_creating_state),
                cmocka_unit_test(test_state_parse_reads_crun_created_state_with_root),
                cmocka_unit_test(test_state_parse_reads_podman_poststop_state_without_pid),
                cmocka_unit_test(test_state_parse_accepts_running_and_paused),
                cmocka_unit_test(test_state_parse_accepts_id_characters_runtimes_allow),
                cmocka_unit_test(test_state_parse_accepts_id_of_200_chars_and_pid_int32_max),
                cmocka_unit_test(test_state_parse_treats_null_pid_as_absent),
                cmocka_unit_test(test_state_parse_rejects_input_that_is_not_an_object),
                cmocka_unit_test(test_state_parse_rejects_input_over_one_mib),
                cmocka_unit_test(test_state_parse_rejects_missing_required_fields),
                cmocka_unit_test(test_state_parse_rejects_fields_of_wrong_type),
                cmocka_unit_test(test_state_parse_rejects_ids_that_are_not_container_ids),
                cmocka_unit_test(test_state_parse_rejects_id_of_300_chars),
                cmocka_unit_test(test_state_parse_rejects_unknown_status),
                cmocka_unit_test(test_state_parse_rejects_relative_bundle),
                cmocka_unit_test(test_state_parse_rejects_pid_out_of_range_or_not_an_integer),
                cmocka_unit_test(test_state_parse_rejects_annotations_that_are_not_an_object),
                cmocka_unit_test(test_state_parse_rejects_annotation_values_that_are_not_strings),
                cmocka_unit_test(test_state_parse_keeps_the_exact_bytes_of_numapin_annotations),
                cmocka_unit_test(test_state_parse_ignores_foreign_annotations_of_any_form),
                cmocka_unit_test(test_state_parse_rejects_a_field_given_twice),
                cmocka_unit_test(test_state_parse_rejects_broken_json_after_the_fields),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
