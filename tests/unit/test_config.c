// SPDX-License-Identifier: MIT
/* The node configuration file (core/config.c): defaults when it is absent, each
 * field read, and refusals of unknown fields, bad values and wrong types. Config
 * files are written to a mkdtemp() folder removed after each test. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../core/config.h"

struct fixture {
        char dir[64];
        char path[128]; /* dir/config.json, written by write_config() */
};

static int setup(void **state)
{
        struct fixture *fx = calloc(1, sizeof(*fx));

        if (!fx)
                return -1;
        strcpy(fx->dir, "/tmp/numapin-test-config.XXXXXX");
        if (!mkdtemp(fx->dir)) {
                free(fx);
                return -1;
        }
        snprintf(fx->path, sizeof(fx->path), "%s/config.json", fx->dir);
        *state = fx;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *fx = *state;
        char sub[192];

        unlink(fx->path);
        snprintf(sub, sizeof(sub), "%s/subdir", fx->dir);
        rmdir(sub);
        rmdir(fx->dir);
        free(fx);
        return 0;
}

static void write_config(const struct fixture *fx, const char *text, size_t size)
{
        FILE *file = fopen(fx->path, "we");

        assert_non_null(file);
        assert_int_equal(fwrite(text, 1, size, file), size);
        assert_int_equal(fclose(file), 0);
}

static void load_ok(const struct fixture *fx, const char *text, struct np_config *ret_config)
{
        struct np_diag diag = {};

        write_config(fx, text, strlen(text));
        if (np_config_load(fx->path, true, &diag, ret_config) != 0)
                fail_msg("np_config_load(%s) failed: %s", text, diag.message);
}

/* Asserts that `text` is refused with `error` and a message that names the file
 * and contains `expected`, and that the output config is left untouched. */
static void assert_refused(const struct fixture *fx, const char *text, int error, const char *expected)
{
        struct np_config config = { .state_dir = "untouched" };
        struct np_diag diag = {};
        int r;

        write_config(fx, text, strlen(text));
        r = np_config_load(fx->path, false, &diag, &config);
        if (r != error)
                fail_msg("np_config_load(%s) returned %d; expected %d (%s)", text, r, error, diag.message);
        assert_int_equal(diag.error, error);
        assert_non_null(strstr(diag.message, fx->path));
        if (!strstr(diag.message, expected))
                fail_msg("message '%s' lacks '%s'", diag.message, expected);
        assert_null(strchr(diag.message, '\n'));
        assert_string_equal(config.state_dir, "untouched");
}

static void assert_defaults(const struct np_config *config)
{
        assert_true(np_cpulist_empty(&config->reserved_cpus));
        assert_string_equal(config->state_dir, "/run/numapin");
        assert_int_equal(config->default_policy, NP_POLICY_NONE);
        assert_int_equal(config->on_error, NP_ON_ERROR_FAIL);
        assert_int_equal(config->log_level, NP_LOG_WARNING);
        assert_true(config->monitor);
}

static void test_config_init_sets_defaults(void **state)
{
        struct np_config config;

        memset(&config, 0xab, sizeof(config));
        np_config_init(&config);
        assert_defaults(&config);
}

static void test_config_load_gives_defaults_when_optional_file_is_missing(void **state)
{
        struct fixture *fx = *state;
        struct np_config config;
        struct np_diag diag = {};

        memset(&config, 0xab, sizeof(config));
        assert_int_equal(np_config_load(fx->path, false, &diag, &config), 0);
        assert_defaults(&config);
        assert_int_equal(diag.error, 0);
}

static void test_config_load_fails_with_enoent_when_required_file_is_missing(void **state)
{
        struct fixture *fx = *state;
        struct np_config config = { .state_dir = "untouched" };
        struct np_diag diag = {};

        assert_int_equal(np_config_load(fx->path, true, &diag, &config), -ENOENT);
        assert_int_equal(diag.error, -ENOENT);
        assert_non_null(strstr(diag.message, fx->path));
        assert_non_null(strstr(diag.message, "No such file or directory"));
        assert_string_equal(config.state_dir, "untouched");
}

static void test_config_load_gives_defaults_for_empty_object(void **state)
{
        struct np_config config;

        load_ok(*state, "{}\n", &config);
        assert_defaults(&config);
}

static void test_config_load_reads_every_field(void **state)
{
        struct np_config config;
        char cpus[64];

        load_ok(*state,
                "{\"reserved_cpus\": \"0-1,64-65\", \"state_dir\": \"/var/run/numapin-test\", "
                "\"default_policy\": \"cpus-only\", \"on_error\": \"ignore\", \"log_level\": \"debug\", "
                "\"monitor\": false}\n",
                &config);
        assert_int_equal(np_cpulist_format(&config.reserved_cpus, cpus, sizeof(cpus)), 0);
        assert_string_equal(cpus, "0-1,64-65");
        assert_string_equal(config.state_dir, "/var/run/numapin-test");
        assert_int_equal(config.default_policy, NP_POLICY_CPUS_ONLY);
        assert_int_equal(config.on_error, NP_ON_ERROR_IGNORE);
        assert_int_equal(config.log_level, NP_LOG_DEBUG);
        assert_false(config.monitor);
}

static void test_config_load_reads_each_field_alone_keeping_other_defaults(void **state)
{
        struct np_config config;

        load_ok(*state, "{\"reserved_cpus\": \"8191\"}", &config);
        assert_int_equal(np_cpulist_count(&config.reserved_cpus), 1);
        assert_true(np_cpulist_test(&config.reserved_cpus, 8191));
        assert_string_equal(config.state_dir, "/run/numapin");

        load_ok(*state, "{\"reserved_cpus\": \"\"}", &config);
        assert_true(np_cpulist_empty(&config.reserved_cpus));

        load_ok(*state, "{\"state_dir\": \"/\"}", &config);
        assert_string_equal(config.state_dir, "/");
        assert_int_equal(config.default_policy, NP_POLICY_NONE);

        load_ok(*state, "{\"default_policy\": \"bind\"}", &config);
        assert_int_equal(config.default_policy, NP_POLICY_BIND);
        load_ok(*state, "{\"default_policy\": \"none\"}", &config);
        assert_int_equal(config.default_policy, NP_POLICY_NONE);

        load_ok(*state, "{\"on_error\": \"fail\"}", &config);
        assert_int_equal(config.on_error, NP_ON_ERROR_FAIL);

        load_ok(*state, "{\"log_level\": \"error\"}", &config);
        assert_int_equal(config.log_level, NP_LOG_ERROR);
        load_ok(*state, "{\"log_level\": \"info\"}", &config);
        assert_int_equal(config.log_level, NP_LOG_INFO);

        load_ok(*state, "{\"monitor\": true}", &config);
        assert_true(config.monitor);
        assert_int_equal(config.on_error, NP_ON_ERROR_FAIL);
        assert_string_equal(config.monitor_pin_dir, "/sys/fs/bpf/numapin");
        assert_int_equal(config.monitor_slots, 1024);

        load_ok(*state, "{\"monitor_pin_dir\": \"/sys/fs/bpf/np2\", \"monitor_slots\": 16384}", &config);
        assert_string_equal(config.monitor_pin_dir, "/sys/fs/bpf/np2");
        assert_int_equal(config.monitor_slots, 16384);
}

static void test_config_load_refuses_bad_monitor_fields(void **state)
{
        assert_refused(*state, "{\"monitor_pin_dir\": \"bpf/numapin\"}", -EINVAL,
                       "field 'monitor_pin_dir' must be an absolute path without '..'");
        assert_refused(*state, "{\"monitor_pin_dir\": \"/sys/fs/bpf/../../etc\"}", -EINVAL,
                       "field 'monitor_pin_dir' must be an absolute path without '..'");
        assert_refused(*state, "{\"monitor_slots\": 0}", -ERANGE, "'monitor_slots'");
        assert_refused(*state, "{\"monitor_slots\": 65537}", -ERANGE, "'monitor_slots'");
        assert_refused(*state, "{\"monitor_slots\": \"8\"}", -EINVAL, "'monitor_slots'");
}

static void test_config_unannotated_and_kubelet_root_dir(void **state)
{
        struct np_config config;

        np_config_init(&config);
        assert_int_equal(config.unannotated, NP_UNANNOTATED_PROTECT);
        assert_string_equal(config.kubelet_root_dir, "/var/lib/kubelet");
        static const char text[] = "{\"unannotated\": \"ignore\", \"kubelet_root_dir\": \"/k\"}";

        assert_int_equal(np_config_parse(text, strlen(text), "c", NULL, &config), 0);
        assert_int_equal(config.unannotated, NP_UNANNOTATED_IGNORE);
        assert_string_equal(config.kubelet_root_dir, "/k");
        assert_refused(*state, "{\"unannotated\": \"skip\"}", -EINVAL, "field 'unannotated' must be protect or ignore");
        assert_refused(*state, "{\"kubelet_root_dir\": \"var/lib\"}", -EINVAL,
                       "field 'kubelet_root_dir' must be an absolute path");
}

static void test_config_seccomp_is_on_by_default_and_can_be_turned_off(void **state)
{
        struct np_config config;
        static const char off[] = "{\"seccomp\": false}";

        np_config_init(&config);
        assert_true(config.seccomp);
        assert_int_equal(np_config_parse(off, strlen(off), "c", NULL, &config), 0);
        assert_false(config.seccomp);
        assert_refused(*state, "{\"seccomp\": \"off\"}", -EINVAL, "seccomp");
}

static void test_config_strategy_is_spread_by_default_and_can_be_pack(void **state)
{
        struct np_config config;
        static const char pack[] = "{\"strategy\": \"pack\"}", spread[] = "{\"strategy\": \"spread\"}";

        np_config_init(&config);
        assert_int_equal(config.strategy, NP_STRATEGY_SPREAD);
        assert_int_equal(np_config_parse(pack, strlen(pack), "c", NULL, &config), 0);
        assert_int_equal(config.strategy, NP_STRATEGY_PACK);
        assert_int_equal(np_config_parse(spread, strlen(spread), "c", NULL, &config), 0);
        assert_int_equal(config.strategy, NP_STRATEGY_SPREAD);
        assert_refused(*state, "{\"strategy\": \"fill\"}", -EINVAL, "field 'strategy' must be spread or pack");
        assert_refused(*state, "{\"strategy\": \"default\"}", -EINVAL, "field 'strategy' must be spread or pack");
        assert_refused(*state, "{\"strategy\": 1}", -EINVAL, "strategy");
}

static void test_config_load_refuses_unknown_field_naming_it(void **state)
{
        assert_refused(*state, "{\"reserved_cpus\": \"0\", \"reserved_cpu\": \"1\"}", -EINVAL,
                       "unknown field 'reserved_cpu'; expected reserved_cpus, state_dir, default_policy, on_error, "
                       "log_level, monitor, monitor_pin_dir, monitor_slots, unannotated, kubelet_root_dir, "
                       "metrics_exited_grace_seconds, seccomp or strategy");
        assert_refused(*state, "{\"Monitor\": true}", -EINVAL, "unknown field 'Monitor'");
        assert_refused(*state, "{\"x\\ny\": 1}", -EINVAL, "unknown field 'x\\x0ay'");
}

static void test_config_load_refuses_bad_reserved_cpus(void **state)
{
        assert_refused(*state, "{\"reserved_cpus\": \"0-\"}", -EINVAL, "reserved_cpus");
        assert_refused(*state, "{\"reserved_cpus\": \"3-1\"}", -EINVAL, "descending range");
        assert_refused(*state, "{\"reserved_cpus\": \"0, 1\"}", -EINVAL, "reserved_cpus");
        assert_refused(*state, "{\"reserved_cpus\": \"8192\"}", -ERANGE, "field 'reserved_cpus'");
}

static void test_config_load_refuses_relative_state_dir(void **state)
{
        assert_refused(*state, "{\"state_dir\": \"run/numapin\"}", -EINVAL,
                       "field 'state_dir' must be an absolute path");
        assert_refused(*state, "{\"state_dir\": \"\"}", -EINVAL, "'state_dir'");
}

static void test_config_load_refuses_default_policy_preferred_and_unknown(void **state)
{
        /* preferred and interleave are real policies, but only per container */
        assert_refused(*state, "{\"default_policy\": \"preferred\"}", -EINVAL,
                       "field 'default_policy' must be bind, cpus-only or none");
        assert_refused(*state, "{\"default_policy\": \"interleave\"}", -EINVAL, "'default_policy'");
        assert_refused(*state, "{\"default_policy\": \"BIND\"}", -EINVAL, "'default_policy'");
        assert_refused(*state, "{\"default_policy\": \"\"}", -EINVAL, "'default_policy'");
}

static void test_config_load_refuses_values_outside_on_error_and_log_level_enums(void **state)
{
        assert_refused(*state, "{\"on_error\": \"warn\"}", -EINVAL, "field 'on_error' must be fail or ignore");
        assert_refused(*state, "{\"on_error\": \"Fail\"}", -EINVAL, "'on_error'");
        assert_refused(*state, "{\"log_level\": \"warn\"}", -EINVAL,
                       "field 'log_level' must be error, warning, info or debug");
        assert_refused(*state, "{\"log_level\": \"trace\"}", -EINVAL, "'log_level'");
}

static void test_config_load_refuses_wrong_types(void **state)
{
        assert_refused(*state, "{\"monitor\": \"yes\"}", -EINVAL, "field 'monitor' is a string; expected a boolean");
        assert_refused(*state, "{\"monitor\": 1}", -EINVAL, "field 'monitor' is an integer; expected a boolean");
        assert_refused(*state, "{\"reserved_cpus\": [0, 1]}", -EINVAL,
                       "field 'reserved_cpus' is an array; expected a string");
        assert_refused(*state, "{\"state_dir\": 5}", -EINVAL, "field 'state_dir' is an integer; expected a string");
        assert_refused(*state, "{\"default_policy\": true}", -EINVAL, "'default_policy' is a boolean");
        assert_refused(*state, "{\"on_error\": {}}", -EINVAL, "'on_error' is an object");
        assert_refused(*state, "{\"log_level\": 3}", -EINVAL, "'log_level' is an integer");
}

static void test_config_load_refuses_file_that_is_not_an_object(void **state)
{
        assert_refused(*state, "[]", -EINVAL, "expected a JSON object");
        assert_refused(*state, "\"bind\"", -EINVAL, "expected a JSON object");
}

static void test_config_load_refuses_invalid_json_with_offset(void **state)
{
        assert_refused(*state, "{\"monitor\": true,}", -EINVAL, "invalid JSON at byte offset 17");
        assert_refused(*state, "{\"monitor\": true", -EINVAL, "truncated");
        assert_refused(*state, "{} {}", -EINVAL, "byte offset 3");
        assert_refused(*state, "", -EINVAL, "empty");
        assert_refused(*state, "{\"state_dir\": \"/run/\xff\"}", -EILSEQ, "invalid UTF-8 at byte offset 20");
}

static void test_config_load_refuses_file_over_64_kib(void **state)
{
        struct fixture *fx = *state;
        size_t size = 64 * 1024 + 1;
        _cleanup_free_ char *text = malloc(size);
        struct np_config config;
        struct np_diag diag = {};

        assert_non_null(text);
        memset(text, ' ', size);
        text[0] = '{';
        text[size - 1] = '}';
        write_config(fx, text, size);
        assert_int_equal(np_config_load(fx->path, false, &diag, &config), -EFBIG);
        assert_non_null(strstr(diag.message, fx->path));
        assert_non_null(strstr(diag.message, "larger than"));
}

static void test_config_load_refuses_directory_naming_it(void **state)
{
        struct fixture *fx = *state;
        struct np_config config;
        struct np_diag diag = {};
        char sub[192];

        snprintf(sub, sizeof(sub), "%s/subdir", fx->dir);
        assert_int_equal(mkdir(sub, 0700), 0);
        assert_true(np_config_load(sub, false, &diag, &config) < 0);
        assert_int_equal(diag.error, -EINVAL);
        assert_non_null(strstr(diag.message, sub));
        assert_non_null(strstr(diag.message, "not a regular file (a directory)"));
}

/* The NRI plugin's config arrives as text in Configure: the same fields, the
 * same refusals, named by where it came from. */
static void test_config_parse_reads_text_and_names_its_origin_in_errors(void **state)
{
        const char good[] = "{\"default_policy\": \"bind\", \"monitor\": false}";
        const char bad[] = "{\"default_policy\": \"fast\"}";
        struct np_config config;
        struct np_diag diag = {};

        (void)state;
        assert_int_equal(np_config_parse(good, strlen(good), "NRI plugin config", &diag, &config), 0);
        assert_int_equal(config.default_policy, NP_POLICY_BIND);
        assert_false(config.monitor);
        assert_string_equal(config.state_dir, NP_STATE_DIR_DEFAULT);

        assert_int_equal(np_config_parse(bad, strlen(bad), "NRI plugin config", &diag, &config), -EINVAL);
        assert_non_null(strstr(diag.message, "NRI plugin config"));
        assert_non_null(strstr(diag.message, "default_policy"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_config_init_sets_defaults),
                cmocka_unit_test(test_config_parse_reads_text_and_names_its_origin_in_errors),
                cmocka_unit_test_setup_teardown(test_config_load_gives_defaults_when_optional_file_is_missing, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_config_load_fails_with_enoent_when_required_file_is_missing, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_config_load_gives_defaults_for_empty_object, setup, teardown),
                cmocka_unit_test_setup_teardown(test_config_load_reads_every_field, setup, teardown),
                cmocka_unit_test_setup_teardown(test_config_load_refuses_bad_monitor_fields, setup, teardown),
                cmocka_unit_test_setup_teardown(test_config_load_reads_each_field_alone_keeping_other_defaults, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_config_unannotated_and_kubelet_root_dir, setup, teardown),
                cmocka_unit_test_setup_teardown(test_config_seccomp_is_on_by_default_and_can_be_turned_off, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_config_strategy_is_spread_by_default_and_can_be_pack, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_config_load_refuses_unknown_field_naming_it, setup, teardown),
                cmocka_unit_test_setup_teardown(test_config_load_refuses_bad_reserved_cpus, setup, teardown),
                cmocka_unit_test_setup_teardown(test_config_load_refuses_relative_state_dir, setup, teardown),
                cmocka_unit_test_setup_teardown(test_config_load_refuses_default_policy_preferred_and_unknown, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_config_load_refuses_values_outside_on_error_and_log_level_enums,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_config_load_refuses_wrong_types, setup, teardown),
                cmocka_unit_test_setup_teardown(test_config_load_refuses_file_that_is_not_an_object, setup, teardown),
                cmocka_unit_test_setup_teardown(test_config_load_refuses_invalid_json_with_offset, setup, teardown),
                cmocka_unit_test_setup_teardown(test_config_load_refuses_file_over_64_kib, setup, teardown),
                cmocka_unit_test_setup_teardown(test_config_load_refuses_directory_naming_it, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
