// SPDX-License-Identifier: MIT
/* The annotation request parser (core/annotations.c): pod and container scope and their
 * precedence, container names from containerd and CRI-O, sandboxes, defaults, refusal of
 * bad values and unknown keys, the annotation set and policy names. The agreement with
 * schema/annotations.schema.json is test_annotations_schema.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../core/json.h"
#include "annotations_test.h"

/* Runs the parser and returns its result; on failure checks that the request
 * is untouched and the message is one line, and copies it to ret_message. */
static int parse_result(const struct np_annotation_set *set, const char *container_name, char *ret_message, size_t size)
{
        struct np_request request = { .policy = NP_POLICY_INTERLEAVE, .exclusive_cpus = 4242 };
        struct np_diag diag = {};
        int r = np_annotations_parse(set, container_name, NP_POLICY_NONE, &diag, &request);

        if (ret_message)
                snprintf(ret_message, size, "%s", diag.message);
        if (r < 0) {
                assert_int_equal(diag.error, r);
                assert_int_equal(request.policy, NP_POLICY_INTERLEAVE);
                assert_int_equal(request.exclusive_cpus, 4242);
                assert_null(strchr(diag.message, '\n'));
        }
        return r;
}

/* Asserts that the set is refused with `error` and a message containing each
 * of the NULL-ended strings that follow. */
static void assert_refused(const struct np_annotation_set *set, const char *container_name, int error, ...)
{
        char message[sizeof(((struct np_diag *)0)->message)];
        const char *expected;
        va_list ap;
        int r = parse_result(set, container_name, message, sizeof(message));

        if (r != error)
                fail_msg("np_annotations_parse returned %d; expected %d (%s)", r, error, message);
        va_start(ap, error);
        while ((expected = va_arg(ap, const char *)))
                if (!strstr(message, expected))
                        fail_msg("message '%s' lacks '%s'", message, expected);
        va_end(ap);
}

/* One annotation that must be refused with -EINVAL naming the key and `form`,
 * for the container "app". */
static void assert_value_refused(const char *key, const char *value, const char *form)
{
        _cleanup_set_ struct np_annotation_set set = {};

        add_pairs(&set, key, value, NULL);
        assert_refused(&set, "app", -EINVAL, key, form, NULL);
}

static void test_annotations_parse_applies_pod_scope(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};
        struct np_request request;

        add_pairs(&set, "policy.numapin.io/pod", "cpus-only", "nodes.numapin.io/pod", "0,2-3", "cpus.numapin.io/pod",
                  "4", "monitor.numapin.io/pod", "false", NULL);
        request = parse_ok(&set, NULL, NP_POLICY_NONE);
        assert_int_equal(request.policy, NP_POLICY_CPUS_ONLY);
        assert_true(request.annotated);
        assert_false(request.sandbox);
        assert_string_equal(request.container_name, "");
        assert_nodes(&request, "0,2-3");
        assert_int_equal(request.node_count, 0);
        assert_int_equal(request.exclusive_cpus, 4);
        assert_false(request.monitor);
}

static void test_annotations_parse_applies_pod_node_count_with_auto_nodes(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};
        struct np_request request;

        add_pairs(&set, "nodes.numapin.io/pod", "auto", "node-count.numapin.io/pod", "2", NULL);
        request = parse_ok(&set, NULL, NP_POLICY_NONE);
        assert_true(request.nodes_auto);
        assert_int_equal(request.node_count, 2);
        assert_int_equal(request.policy, NP_POLICY_BIND);
}

static void test_annotations_parse_container_scope_wins_for_containerd_name(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};
        struct np_request request;

        add_pairs(&set, "policy.numapin.io/pod", "bind", "policy.numapin.io/container.app", "cpus-only",
                  "cpus.numapin.io/pod", "2", "cpus.numapin.io/container.app", "6", "nodes.numapin.io/pod", "1",
                  "io.kubernetes.cri.container-name", "app", NULL);
        request = parse_ok(&set, NULL, NP_POLICY_NONE);
        assert_string_equal(request.container_name, "app");
        assert_int_equal(request.policy, NP_POLICY_CPUS_ONLY);
        assert_int_equal(request.exclusive_cpus, 6);
        assert_nodes(&request, "1"); /* a field without a container key keeps the pod value */
}

static void test_annotations_parse_container_scope_wins_for_crio_name(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};
        struct np_request request;

        add_pairs(&set, "monitor.numapin.io/container.db", "false", "monitor.numapin.io/pod", "true",
                  "io.kubernetes.container.name", "db", NULL);
        request = parse_ok(&set, NULL, NP_POLICY_NONE);
        assert_string_equal(request.container_name, "db");
        assert_false(request.monitor);
        assert_int_equal(request.policy, NP_POLICY_BIND);
}

static void test_annotations_parse_container_scope_wins_whatever_the_key_order(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};
        struct np_request request;

        add_pairs(&set, "io.kubernetes.cri.container-name", "app", "policy.numapin.io/container.app", "none",
                  "policy.numapin.io/pod", "bind", NULL);
        request = parse_ok(&set, NULL, NP_POLICY_BIND);
        assert_int_equal(request.policy, NP_POLICY_NONE);
        assert_true(request.annotated);
}

static void test_annotations_parse_prefers_containerd_name_over_crio_name(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};
        struct np_request request;

        add_pairs(&set, "io.kubernetes.container.name", "crio-name", "io.kubernetes.cri.container-name", "ctrd-name",
                  "cpus.numapin.io/container.crio-name", "1", "cpus.numapin.io/container.ctrd-name", "3", NULL);
        request = parse_ok(&set, NULL, NP_POLICY_NONE);
        assert_string_equal(request.container_name, "ctrd-name");
        assert_int_equal(request.exclusive_cpus, 3);
}

static void test_annotations_parse_name_argument_overrides_cri_names(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};
        struct np_request request;

        add_pairs(&set, "io.kubernetes.cri.container-name", "app", "io.kubernetes.container.name", "app",
                  "policy.numapin.io/container.app", "none", "policy.numapin.io/container.sidecar", "cpus-only", NULL);
        request = parse_ok(&set, "sidecar", NP_POLICY_NONE);
        assert_string_equal(request.container_name, "sidecar");
        assert_int_equal(request.policy, NP_POLICY_CPUS_ONLY);
}

static void test_annotations_parse_ignores_keys_for_another_container(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};
        struct np_request request;

        add_pairs(&set, "policy.numapin.io/pod", "bind", "policy.numapin.io/container.other", "none",
                  "nodes.numapin.io/container.other", "3", "io.kubernetes.cri.container-name", "app", NULL);
        request = parse_ok(&set, NULL, NP_POLICY_NONE);
        assert_int_equal(request.policy, NP_POLICY_BIND);
        assert_true(request.nodes_auto);
}

static void test_annotations_parse_keys_only_for_another_container_leave_it_unannotated(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};
        struct np_request request;

        add_pairs(&set, "policy.numapin.io/container.other", "bind", "io.kubernetes.cri.container-name", "app", NULL);
        request = parse_ok(&set, NULL, NP_POLICY_CPUS_ONLY);
        assert_false(request.annotated);
        assert_int_equal(request.policy, NP_POLICY_CPUS_ONLY);
}

static void test_annotations_parse_applies_only_pod_keys_outside_kubernetes(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};
        struct np_request request;

        add_pairs(&set, "policy.numapin.io/container.app", "none", "policy.numapin.io/pod", "cpus-only",
                  "cpus.numapin.io/container.app", "8", NULL);
        request = parse_ok(&set, NULL, NP_POLICY_NONE);
        assert_string_equal(request.container_name, "");
        assert_int_equal(request.policy, NP_POLICY_CPUS_ONLY);
        assert_int_equal(request.exclusive_cpus, 0);
}

static void test_annotations_parse_treats_empty_cri_name_as_outside_kubernetes(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};
        struct np_request request;

        add_pairs(&set, "io.kubernetes.cri.container-name", "", "policy.numapin.io/pod", "bind", NULL);
        request = parse_ok(&set, NULL, NP_POLICY_NONE);
        assert_string_equal(request.container_name, "");
        assert_int_equal(request.policy, NP_POLICY_BIND);
}

static void test_annotations_parse_gives_containerd_sandbox_policy_none(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};
        struct np_request request;

        add_pairs(&set, "io.kubernetes.cri.container-type", "sandbox", "policy.numapin.io/pod", "bind",
                  "cpus.numapin.io/pod", "2", NULL);
        request = parse_ok(&set, NULL, NP_POLICY_BIND);
        assert_true(request.sandbox);
        assert_int_equal(request.policy, NP_POLICY_NONE);
}

static void test_annotations_parse_gives_crio_sandbox_policy_none(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};
        struct np_request request;

        add_pairs(&set, "io.kubernetes.cri-o.ContainerType", "sandbox", NULL);
        request = parse_ok(&set, NULL, NP_POLICY_CPUS_ONLY);
        assert_true(request.sandbox);
        assert_int_equal(request.policy, NP_POLICY_NONE);
}

static void test_annotations_parse_places_containers_that_are_not_sandboxes(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};
        struct np_request request;

        add_pairs(&set, "io.kubernetes.cri.container-type", "container", "io.kubernetes.cri-o.ContainerType",
                  "container", "policy.numapin.io/pod", "bind", NULL);
        request = parse_ok(&set, NULL, NP_POLICY_NONE);
        assert_false(request.sandbox);
        assert_int_equal(request.policy, NP_POLICY_BIND);
}

static void test_annotations_parse_gives_default_policy_when_unannotated(void **state)
{
        static const enum np_policy defaults[] = { NP_POLICY_NONE, NP_POLICY_BIND, NP_POLICY_CPUS_ONLY };
        _cleanup_set_ struct np_annotation_set set = {};

        add_pairs(&set, "io.kubernetes.pod.name", "web-0", "example.com/policy", "bind", NULL);
        for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
                struct np_request request = parse_ok(&set, NULL, defaults[i]);

                assert_int_equal(request.policy, defaults[i]);
                assert_false(request.annotated);
                assert_false(request.sandbox);
                assert_true(request.nodes_auto);
                assert_int_equal(request.node_count, 0);
                assert_int_equal(request.exclusive_cpus, 0);
                assert_true(request.monitor);
        }
}

static void test_annotations_parse_gives_default_policy_for_empty_set(void **state)
{
        struct np_annotation_set set = {};
        struct np_request request = parse_ok(&set, NULL, NP_POLICY_CPUS_ONLY);

        assert_int_equal(request.policy, NP_POLICY_CPUS_ONLY);
        assert_false(request.annotated);
}

static void test_annotations_parse_gives_bind_when_any_key_without_policy_applies(void **state)
{
        static const char *const keys[][2] = {
                { "nodes.numapin.io/pod", "auto" },
                { "node-count.numapin.io/pod", "1" },
                { "cpus.numapin.io/pod", "0" },
                { "monitor.numapin.io/pod", "false" },
                { "nodes.numapin.io/container.app", "0" },
        };

        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                _cleanup_set_ struct np_annotation_set set = {};
                struct np_request request;

                add_pairs(&set, keys[i][0], keys[i][1], NULL);
                request = parse_ok(&set, "app", NP_POLICY_CPUS_ONLY);
                assert_true(request.annotated);
                assert_int_equal(request.policy, NP_POLICY_BIND);
        }
}

static void test_annotations_parse_keeps_explicit_policy_none(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};
        struct np_request request;

        add_pairs(&set, "policy.numapin.io/pod", "none", "cpus.numapin.io/pod", "2", NULL);
        request = parse_ok(&set, NULL, NP_POLICY_BIND);
        assert_true(request.annotated);
        assert_int_equal(request.policy, NP_POLICY_NONE);
}

static void test_annotations_parse_uses_last_of_duplicate_keys(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};
        struct np_request request;

        add_pairs(&set, "cpus.numapin.io/pod", "1", "cpus.numapin.io/pod", "5", NULL);
        assert_string_equal(np_annotations_get(&set, "cpus.numapin.io/pod"), "5");
        request = parse_ok(&set, NULL, NP_POLICY_NONE);
        assert_int_equal(request.exclusive_cpus, 5);
}

static void test_annotations_parse_refuses_bad_policy_naming_key_and_values(void **state)
{
        assert_value_refused("policy.numapin.io/pod", "fast",
                             "expected bind, cpus-only, preferred, interleave or none");
        assert_value_refused("policy.numapin.io/pod", "Bind", "expected bind, cpus-only");
        assert_value_refused("policy.numapin.io/pod", "bind ", "expected bind, cpus-only");
        assert_value_refused("policy.numapin.io/pod", "", "expected bind, cpus-only");
}

static void test_annotations_parse_refuses_bad_nodes_naming_key_and_form(void **state)
{
        static const char *const values[] = { "x", "1024", "3-1", "0,", "0, 1", "01", "-1", "1-", "Auto", "all" };

        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
                assert_value_refused("nodes.numapin.io/pod", values[i], "expected auto or node ids 0-1023");
        assert_value_refused("nodes.numapin.io/pod", "", "expected auto or a node list");
        assert_value_refused("nodes.numapin.io/pod", "1\n", "expected auto or a node list");
}

static void test_annotations_parse_refuses_bad_node_count_naming_key_and_range(void **state)
{
        static const char *const values[] = { "0",  "1025", "abc", "",   "-1",
                                              "+2", "02",   "1.0", " 1", "99999999999999999999" };

        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
                assert_value_refused("node-count.numapin.io/pod", values[i], "expected an integer from 1 to 1024");
}

static void test_annotations_parse_refuses_bad_cpus_naming_key_and_range(void **state)
{
        static const char *const values[] = { "8193", "-1", "4.0", "abc", "", "04", "0x4", "4 " };

        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
                assert_value_refused("cpus.numapin.io/container.app", values[i], "expected an integer from 0 to 8192");
}

static void test_annotations_parse_refuses_bad_monitor_naming_key_and_values(void **state)
{
        static const char *const values[] = { "yes", "True", "1", "", "false " };

        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
                assert_value_refused("monitor.numapin.io/pod", values[i], "expected true or false");
}

static void test_annotations_parse_refuses_unknown_numapin_key(void **state)
{
        static const char *const keys[] = { "foo.numapin.io/pod", "numapin.io/pod", "a.b.numapin.io/pod",
                                            "memory.numapin.io/container.app", "POLICY.numapin.io/pod" };

        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                _cleanup_set_ struct np_annotation_set set = {};

                add_pairs(&set, keys[i], "bind", NULL);
                assert_refused(&set, NULL, -EINVAL, keys[i], "unknown numapin key",
                               "expected policy, nodes, node-count, cpus, monitor, scope, strategy, memory-tier or devices", NULL);
        }
}

static void test_annotations_parse_refuses_unknown_scope(void **state)
{
        char long_name[128];
        static const char *const keys[] = {
                "policy.numapin.io/foo",          "policy.numapin.io",           "policy.numapin.io/",
                "policy.numapin.io/container.",   "policy.numapin.io/container", "policy.numapin.io/container._app",
                "policy.numapin.io/pod/x",        "policy.numapin.io/Pod",       "policy.numapin.io/container.a/b",
                "policy.numapin.io/containers.a",
        };

        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                _cleanup_set_ struct np_annotation_set set = {};

                add_pairs(&set, keys[i], "bind", NULL);
                assert_refused(&set, NULL, -EINVAL, keys[i], "unknown scope",
                               "expected policy.numapin.io/pod or policy.numapin.io/container.<name>", NULL);
        }

        /* a container name of 64 characters is one too many */
        snprintf(long_name, sizeof(long_name), "cpus.numapin.io/container.%064d", 0);
        {
                _cleanup_set_ struct np_annotation_set set = {};

                add_pairs(&set, long_name, "1", NULL);
                assert_refused(&set, NULL, -EINVAL, "unknown scope", NULL);
        }
}

static void test_annotations_parse_accepts_container_name_of_63_chars(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};
        char key[128], name[64];
        struct np_request request;

        memset(name, 'a', 63);
        name[63] = '\0';
        name[10] = '.';
        name[20] = '_';
        name[30] = '-';
        snprintf(key, sizeof(key), "cpus.numapin.io/container.%s", name);
        add_pairs(&set, key, "3", NULL);
        request = parse_ok(&set, name, NP_POLICY_NONE);
        assert_string_equal(request.container_name, name);
        assert_int_equal(request.exclusive_cpus, 3);
}

static void test_annotations_parse_leaves_keys_of_other_domains_alone(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};
        struct np_request request;

        add_pairs(&set, "xnumapin.io/pod", "junk", "numapin.io.example.com/pod", "junk",
                  "example.com/policy.numapin.io", "junk", "policy.numapin.iox/pod", "junk", "policy", "junk", NULL);
        request = parse_ok(&set, NULL, NP_POLICY_NONE);
        assert_false(request.annotated);
        assert_int_equal(request.policy, NP_POLICY_NONE);
}

static void test_annotations_parse_refuses_node_count_with_node_list(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};

        add_pairs(&set, "nodes.numapin.io/pod", "0-1", "node-count.numapin.io/pod", "2", NULL);
        assert_refused(&set, NULL, -EINVAL, "'node-count.numapin.io/pod'",
                       "only applies with 'nodes.numapin.io/pod' set to auto", NULL);
}

static void test_annotations_parse_refuses_pod_node_count_with_container_node_list(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};

        add_pairs(&set, "nodes.numapin.io/pod", "auto", "node-count.numapin.io/pod", "1",
                  "nodes.numapin.io/container.app", "1", NULL);
        assert_refused(&set, "app", -EINVAL, "node-count.numapin.io", NULL);
}

static void test_annotations_parse_refuses_invalid_utf8_in_value(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};

        add_pairs(&set, "policy.numapin.io/pod", "bind\xff", NULL);
        assert_refused(&set, NULL, -EILSEQ, "policy.numapin.io/pod", "not valid UTF-8", NULL);
}

static void test_annotations_parse_refuses_invalid_utf8_in_numapin_key(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};

        add_pairs(&set, "policy.numapin.io/container.\xc0\xaf", "bind", NULL);
        assert_refused(&set, NULL, -EILSEQ, "policy.numapin.io/container.\\xc0\\xaf", NULL);
}

static void test_annotations_parse_refuses_value_over_4096_bytes(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};
        char value[5001];

        memset(value, 'a', 5000);
        value[5000] = '\0';
        add_pairs(&set, "policy.numapin.io/pod", value, NULL);
        assert_refused(&set, NULL, -EINVAL, "policy.numapin.io/pod", "longer than 4096 bytes", NULL);
}

static void test_annotations_parse_takes_node_list_of_4096_bytes_but_not_more(void **state)
{
        char value[4100];
        size_t n = 0;

        /* "10" then ",0" repeated: 4096 bytes */
        n += (size_t)snprintf(value, sizeof(value), "10");
        while (n < 4096)
                n += (size_t)snprintf(value + n, sizeof(value) - n, ",0");
        assert_int_equal(strlen(value), 4096);
        {
                _cleanup_set_ struct np_annotation_set set = {};
                struct np_request request;

                add_pairs(&set, "nodes.numapin.io/pod", value, NULL);
                request = parse_ok(&set, NULL, NP_POLICY_NONE);
                assert_nodes(&request, "0,10");
        }
        strcat(value, ",0");
        assert_value_refused("nodes.numapin.io/pod", value, "longer than 4096 bytes");
}

static void test_annotations_parse_refuses_invalid_container_names(void **state)
{
        char long_name[80];

        memset(long_name, 'a', 64);
        long_name[64] = '\0';
        {
                _cleanup_set_ struct np_annotation_set set = {};

                add_pairs(&set, "io.kubernetes.cri.container-name", long_name, NULL);
                assert_refused(&set, NULL, -EINVAL, "container name", "expected 1-63 characters", NULL);
        }
        {
                _cleanup_set_ struct np_annotation_set set = {};

                add_pairs(&set, "io.kubernetes.container.name", "-app", NULL);
                assert_refused(&set, NULL, -EINVAL, "container name '-app'", NULL);
        }
        {
                _cleanup_set_ struct np_annotation_set set = {};

                assert_refused(&set, "a/b", -EINVAL, "container name 'a/b'", NULL);
                assert_refused(&set, "a b", -EINVAL, "container name", NULL);
        }
}

static void test_annotations_add_and_get_keep_copies(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};
        char key[] = "k", value[] = "v";

        assert_int_equal(np_annotations_add(&set, key, value), 0);
        key[0] = 'x';
        value[0] = 'y';
        assert_int_equal(set.n, 1);
        assert_string_equal(np_annotations_get(&set, "k"), "v");
        assert_null(np_annotations_get(&set, "x"));
        np_annotations_clear(&set);
        assert_int_equal(set.n, 0);
        assert_null(set.items);
        np_annotations_clear(&set); /* twice is harmless */
}

/* np_annotations_from_jsontext over a JSON text (validated as the hook validates it). */
static int from_jsontext(const char *text, struct np_diag *diag, struct np_annotation_set *ret_set)
{
        _cleanup_json_ struct json_object *obj = NULL;
        struct np_json_span root;

        assert_int_equal(np_json_parse(text, strlen(text), 1 << 20, "annotations", NULL, &obj), 0);
        assert_int_equal(np_jsontext_root(text, strlen(text), &root, NULL), 0);
        return np_annotations_from_jsontext(text, root, "config.json annotations", diag, ret_set);
}

static void test_annotations_from_jsontext_copies_the_relevant_string_values(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};

        assert_int_equal(from_jsontext("{\"policy.numapin.io/pod\": \"bind\", \"other\": \"\"}", NULL, &set), 0);
        assert_int_equal(set.n, 1);
        assert_string_equal(np_annotations_get(&set, "policy.numapin.io/pod"), "bind");
        /* someone else's key is not read: the hook and the NRI plugin ignore it alike */
        assert_null(np_annotations_get(&set, "other"));
}

static void test_annotations_from_jsontext_refuses_values_that_are_not_strings(void **state)
{
        struct np_annotation_set set = { .n = 77 };
        struct np_diag diag = {};

        assert_int_equal(from_jsontext("{\"a\": \"1\", \"cpus.numapin.io/pod\": 4}", &diag, &set), -EINVAL);
        assert_string_equal(
                diag.message,
                "config.json annotations: annotation 'cpus.numapin.io/pod' is not a string; expected string values");
        assert_int_equal(set.n, 77);
}

static void test_annotations_from_jsontext_skips_foreign_members_whatever_they_hold(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};

        assert_int_equal(from_jsontext("{\"example.com/other\": \"a\\u0000b\", \"example.com/\\ud800\": [1, {}],"
                                       " \"example.com/n\": 123456789012345678901234567890,"
                                       " \"cpus.numapin.io\\u0000/pod\": \"9\", \"cpus.numapin.io/pod\": \"1\"}",
                                       NULL, &set),
                         0);
        assert_int_equal(set.n, 1);
        assert_string_equal(np_annotations_get(&set, "cpus.numapin.io/pod"), "1");
}

/* json-c cuts a key at \u0000: the text keeps "cpus.numapin.io/pod\0x" apart from the real key */
static void test_annotations_from_jsontext_keeps_a_nul_in_a_key_and_parse_refuses_it(void **state)
{
        _cleanup_set_ struct np_annotation_set set = {};
        struct np_request request = {};
        struct np_diag diag = {};

        assert_int_equal(
                from_jsontext("{\"cpus.numapin.io/pod\": \"1\", \"cpus.numapin.io/pod\\u0000x\": \"3\"}", NULL, &set),
                0);
        assert_int_equal(set.n, 2);
        assert_string_equal(np_annotations_get(&set, "cpus.numapin.io/pod"), "1");
        assert_int_equal(set.items[1].key_len, 21);
        assert_int_equal(np_annotations_parse(&set, NULL, NP_POLICY_NONE, &diag, &request), -EINVAL);
        assert_string_equal(diag.message, "annotation 'cpus.numapin.io/pod\\x00x': the key holds a NUL byte; expected "
                                          "<field>.numapin.io/pod or <field>.numapin.io/container.<name>");
}

static void test_annotations_parse_refuses_nul_and_lone_surrogate_in_values(void **state)
{
        _cleanup_set_ struct np_annotation_set nul = {}, surrogate = {}, cri = {};

        assert_int_equal(from_jsontext("{\"nodes.numapin.io/pod\": \"0\\u00001\"}", NULL, &nul), 0);
        assert_refused(&nul, NULL, -EINVAL, "annotation 'nodes.numapin.io/pod': the value holds a NUL byte",
                       "expected UTF-8 text without NUL bytes", NULL);
        assert_int_equal(from_jsontext("{\"policy.numapin.io/pod\": \"bind\\ud800\"}", NULL, &surrogate), 0);
        assert_refused(&surrogate, NULL, -EILSEQ, "annotation 'policy.numapin.io/pod': the value is not valid UTF-8",
                       NULL);
        assert_int_equal(from_jsontext("{\"io.kubernetes.cri.container-name\": \"app\\u0000x\"}", NULL, &cri), 0);
        assert_refused(&cri, NULL, -EINVAL, "annotation 'io.kubernetes.cri.container-name': the value holds a NUL",
                       NULL);
}

static void test_annotations_classify_by_exact_bytes(void **state)
{
        static const struct {
                const char *key;
                size_t len;
                enum np_annotation_owner owner;
        } cases[] = {
                { "cpus.numapin.io/pod", 19, NP_ANNOTATION_NUMAPIN },
                { "cpus.numapin.io/pod\0x", 21, NP_ANNOTATION_NUMAPIN },
                { "foo.numapin.io", 14, NP_ANNOTATION_NUMAPIN },
                { "foo.numapin.io/pod", 18, NP_ANNOTATION_NUMAPIN },
                { "numapin.io/x", 12, NP_ANNOTATION_NUMAPIN },
                { "cpus.numapin.io\0/pod", 20, NP_ANNOTATION_FOREIGN },
                { "xnumapin.io/pod", 15, NP_ANNOTATION_FOREIGN },
                { "example.com/cpus.numapin.io", 27, NP_ANNOTATION_FOREIGN },
                { "numapin.io.example.com/pod", 26, NP_ANNOTATION_FOREIGN },
                { "io.kubernetes.cri.container-name", 32, NP_ANNOTATION_CRI },
                { "io.kubernetes.cri.container-name\0", 33, NP_ANNOTATION_FOREIGN },
                { "io.kubernetes.pod.namespace", 27, NP_ANNOTATION_CRI },
                { "", 0, NP_ANNOTATION_FOREIGN },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                if (np_annotations_classify(cases[i].key, cases[i].len) != cases[i].owner)
                        fail_msg("key %zu ('%s'): owner %d, expected %d", i, cases[i].key,
                                 np_annotations_classify(cases[i].key, cases[i].len), cases[i].owner);
        }
}

static void test_annotations_parse_refuses_malformed_numapin_keys_of_any_length(void **state)
{
        _cleanup_set_ struct np_annotation_set bare = {}, long_key = {};
        char key[400];

        add_pairs(&bare, "foo.numapin.io", "1", NULL);
        assert_refused(&bare, NULL, -EINVAL, "annotation 'foo.numapin.io': unknown numapin key", NULL);
        snprintf(key, sizeof(key), "cpus.numapin.io/container.%0350d", 0);
        add_pairs(&long_key, key, "1", NULL);
        assert_refused(&long_key, NULL, -EINVAL, "annotation 'cpus.numapin.io/container.000", "unknown scope", NULL);
}

static void test_annotations_merge_keeps_keys_that_differ_after_a_nul(void **state)
{
        _cleanup_set_ struct np_annotation_set container = {}, pod = {}, merged = {};

        assert_int_equal(np_annotations_add_bytes(&container, "cpus.numapin.io/pod\0x", 21, "3", 1), 0);
        assert_int_equal(np_annotations_add(&pod, "cpus.numapin.io/pod", "1"), 0);
        assert_int_equal(np_annotations_add_bytes(&pod, "example.com/other", 17, "a\0b", 3), 0);
        assert_int_equal(np_annotations_merge(&container, &pod, &merged), 0);
        assert_int_equal(merged.n, 2); /* the foreign key is not copied */
        assert_string_equal(np_annotations_get(&merged, "cpus.numapin.io/pod"), "1");
}

static void test_policy_names_round_trip(void **state)
{
        static const enum np_policy policies[] = { NP_POLICY_NONE, NP_POLICY_BIND, NP_POLICY_CPUS_ONLY,
                                                   NP_POLICY_PREFERRED, NP_POLICY_INTERLEAVE };
        static const char *const names[] = { "none", "bind", "cpus-only", "preferred", "interleave" };
        enum np_policy policy;

        for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
                assert_string_equal(np_policy_to_string(policies[i]), names[i]);
                assert_int_equal(np_policy_from_string(names[i], &policy), 0);
                assert_int_equal(policy, policies[i]);
        }
        policy = NP_POLICY_BIND;
        assert_int_equal(np_policy_from_string("cpus_only", &policy), -EINVAL);
        assert_int_equal(policy, NP_POLICY_BIND);
        assert_string_equal(np_policy_to_string((enum np_policy)99), "invalid");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_annotations_parse_applies_pod_scope),
                cmocka_unit_test(test_annotations_parse_applies_pod_node_count_with_auto_nodes),
                cmocka_unit_test(test_annotations_parse_container_scope_wins_for_containerd_name),
                cmocka_unit_test(test_annotations_parse_container_scope_wins_for_crio_name),
                cmocka_unit_test(test_annotations_parse_container_scope_wins_whatever_the_key_order),
                cmocka_unit_test(test_annotations_parse_prefers_containerd_name_over_crio_name),
                cmocka_unit_test(test_annotations_parse_name_argument_overrides_cri_names),
                cmocka_unit_test(test_annotations_parse_ignores_keys_for_another_container),
                cmocka_unit_test(test_annotations_parse_keys_only_for_another_container_leave_it_unannotated),
                cmocka_unit_test(test_annotations_parse_applies_only_pod_keys_outside_kubernetes),
                cmocka_unit_test(test_annotations_parse_treats_empty_cri_name_as_outside_kubernetes),
                cmocka_unit_test(test_annotations_parse_gives_containerd_sandbox_policy_none),
                cmocka_unit_test(test_annotations_parse_gives_crio_sandbox_policy_none),
                cmocka_unit_test(test_annotations_parse_places_containers_that_are_not_sandboxes),
                cmocka_unit_test(test_annotations_parse_gives_default_policy_when_unannotated),
                cmocka_unit_test(test_annotations_parse_gives_default_policy_for_empty_set),
                cmocka_unit_test(test_annotations_parse_gives_bind_when_any_key_without_policy_applies),
                cmocka_unit_test(test_annotations_parse_keeps_explicit_policy_none),
                cmocka_unit_test(test_annotations_parse_uses_last_of_duplicate_keys),
                cmocka_unit_test(test_annotations_parse_refuses_bad_policy_naming_key_and_values),
                cmocka_unit_test(test_annotations_parse_refuses_bad_nodes_naming_key_and_form),
                cmocka_unit_test(test_annotations_parse_refuses_bad_node_count_naming_key_and_range),
                cmocka_unit_test(test_annotations_parse_refuses_bad_cpus_naming_key_and_range),
                cmocka_unit_test(test_annotations_parse_refuses_bad_monitor_naming_key_and_values),
                cmocka_unit_test(test_annotations_parse_refuses_unknown_numapin_key),
                cmocka_unit_test(test_annotations_parse_refuses_unknown_scope),
                cmocka_unit_test(test_annotations_parse_accepts_container_name_of_63_chars),
                cmocka_unit_test(test_annotations_parse_leaves_keys_of_other_domains_alone),
                cmocka_unit_test(test_annotations_parse_refuses_node_count_with_node_list),
                cmocka_unit_test(test_annotations_parse_refuses_pod_node_count_with_container_node_list),
                cmocka_unit_test(test_annotations_parse_refuses_invalid_utf8_in_value),
                cmocka_unit_test(test_annotations_parse_refuses_invalid_utf8_in_numapin_key),
                cmocka_unit_test(test_annotations_parse_refuses_value_over_4096_bytes),
                cmocka_unit_test(test_annotations_parse_takes_node_list_of_4096_bytes_but_not_more),
                cmocka_unit_test(test_annotations_parse_refuses_invalid_container_names),
                cmocka_unit_test(test_annotations_add_and_get_keep_copies),
                cmocka_unit_test(test_annotations_from_jsontext_copies_the_relevant_string_values),
                cmocka_unit_test(test_annotations_from_jsontext_refuses_values_that_are_not_strings),
                cmocka_unit_test(test_annotations_from_jsontext_skips_foreign_members_whatever_they_hold),
                cmocka_unit_test(test_annotations_from_jsontext_keeps_a_nul_in_a_key_and_parse_refuses_it),
                cmocka_unit_test(test_annotations_parse_refuses_nul_and_lone_surrogate_in_values),
                cmocka_unit_test(test_annotations_classify_by_exact_bytes),
                cmocka_unit_test(test_annotations_parse_refuses_malformed_numapin_keys_of_any_length),
                cmocka_unit_test(test_annotations_merge_keeps_keys_that_differ_after_a_nul),
                cmocka_unit_test(test_policy_names_round_trip),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
