// SPDX-License-Identifier: MIT
/* The annotation parser (core/annotations.c) against schema/annotations.schema.json,
 * both ways: every key family and value form the schema lists is accepted, values
 * outside it are refused naming the key and the form, and every family the parser
 * accepts is in the schema, so the two cannot drift. */
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../core/json.h"
#include "annotations_test.h"

/* Loads the schema from $NUMAPIN_SRCDIR, the current directory, or two levels
 * above the test binary (build/tests/). */
static struct json_object *load_schema(void)
{
        const char *srcdir = getenv("NUMAPIN_SRCDIR");
        char exe[PATH_MAX], path[PATH_MAX + 64];
        const char *roots[3] = { srcdir && *srcdir ? srcdir : ".", ".", NULL };
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

        if (n > 0) {
                exe[n] = '\0';
                for (int up = 0; up < 3; up++) {
                        char *slash = strrchr(exe, '/');
                        if (slash)
                                *slash = '\0';
                }
                roots[2] = exe;
        }
        for (size_t i = 0; i < 3; i++) {
                struct json_object *schema;

                if (!roots[i])
                        continue;
                snprintf(path, sizeof(path), "%s/schema/annotations.schema.json", roots[i]);
                if (access(path, R_OK) != 0)
                        continue;
                schema = json_object_from_file(path);
                if (!schema)
                        fail_msg("%s: not valid JSON: %s", path, json_util_get_last_err());
                return schema;
        }
        fail_msg("schema/annotations.schema.json not found; set NUMAPIN_SRCDIR to the source tree");
        return NULL;
}

static struct json_object *schema_member(struct json_object *obj, const char *key, enum json_type type)
{
        struct json_object *value;

        if (!json_object_object_get_ex(obj, key, &value) || !json_object_is_type(value, type))
                fail_msg("schema: '%s' is missing or has the wrong type", key);
        return value;
}

/* Parses one annotation: 0 or the error. *ret_request is valid on 0. */
static int parse_one(const char *key, const char *value, struct np_request *ret_request, char *ret_message, size_t size)
{
        _cleanup_set_ struct np_annotation_set set = {};
        struct np_diag diag = {};
        int r;

        add_pairs(&set, key, value, NULL);
        r = np_annotations_parse(&set, "app", NP_POLICY_NONE, &diag, ret_request);
        if (ret_message)
                snprintf(ret_message, size, "%s", diag.message);
        return r;
}

static void expect_accepted(const char *base, const char *value)
{
        struct np_request request;
        char key[128], message[4096];

        snprintf(key, sizeof(key), "%s/pod", base);
        if (parse_one(key, value, &request, message, sizeof(message)) != 0)
                fail_msg("schema lists '%s' for %s but the parser refuses it: %s", value, key, message);
        assert_true(request.annotated);
}

static void expect_refused(const char *base, const char *value)
{
        struct np_request request;
        char key[128], message[4096];
        int r;

        snprintf(key, sizeof(key), "%s/container.app", base);
        r = parse_one(key, value, &request, message, sizeof(message));
        if (r != -EINVAL)
                fail_msg("%s='%s' is outside the schema but the parser returned %d", key, value, r);
        if (!strstr(message, key) || !strstr(message, "expected"))
                fail_msg("message for %s='%s' lacks the key or the allowed form: %s", key, value, message);
}

/* A value the parser accepts for a schema entry, to probe keys with. */
static const char *valid_value(struct json_object *entry)
{
        struct json_object *values, *form;

        if (json_object_object_get_ex(entry, "values", &values))
                return json_object_get_string(json_object_array_get_idx(values, 0));
        if (json_object_object_get_ex(entry, "form", &form) && strcmp(json_object_get_string(form), "integer") == 0)
                return "1";
        return "auto";
}

static void check_values_entry(const char *base, struct json_object *values)
{
        char key[128], not_listed[128];

        snprintf(key, sizeof(key), "%s/pod", base);
        for (size_t i = 0; i < json_object_array_length(values); i++) {
                const char *value = json_object_get_string(json_object_array_get_idx(values, i));
                struct np_request request;

                expect_accepted(base, value);
                assert_int_equal(parse_one(key, value, &request, NULL, 0), 0);
                /* the value reaches the request */
                if (strcmp(base, "policy.numapin.io") == 0)
                        assert_string_equal(np_policy_to_string(request.policy), value);
                else if (strcmp(base, "monitor.numapin.io") == 0)
                        assert_int_equal(request.monitor, strcmp(value, "true") == 0);
                else if (strcmp(base, "scope.numapin.io") == 0)
                        assert_string_equal(np_scope_to_string(request.scope), value);
                else if (strcmp(base, "strategy.numapin.io") == 0)
                        assert_string_equal(np_strategy_to_string(request.strategy), value);
                else if (strcmp(base, "memory-tier.numapin.io") == 0)
                        assert_string_equal(np_memory_tier_to_string(request.memory_tier), value);
                else if (strcmp(base, "devices.numapin.io") == 0)
                        assert_int_equal(request.device_affinity, strcmp(value, "auto") == 0);
                else
                        fail_msg("schema key %s has values the test does not know how to check", base);

                snprintf(not_listed, sizeof(not_listed), "%s-x", value);
                expect_refused(base, not_listed);
                snprintf(not_listed, sizeof(not_listed), "%c%s", value[0] - 32, value + 1); /* capitalised */
                expect_refused(base, not_listed);
        }
        expect_refused(base, "abc");
        expect_refused(base, "");
}

static void check_integer_entry(const char *base, struct json_object *entry)
{
        int64_t min = json_object_get_int64(schema_member(entry, "min", json_type_int));
        int64_t max = json_object_get_int64(schema_member(entry, "max", json_type_int));
        int64_t probes[] = { min, max, min + (max - min) / 2 };
        char key[128], text[32];

        snprintf(key, sizeof(key), "%s/pod", base);
        for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
                struct np_request request;

                snprintf(text, sizeof(text), "%lld", (long long)probes[i]);
                expect_accepted(base, text);
                assert_int_equal(parse_one(key, text, &request, NULL, 0), 0);
                if (strcmp(base, "node-count.numapin.io") == 0)
                        assert_int_equal(request.node_count, probes[i]);
                else if (strcmp(base, "cpus.numapin.io") == 0)
                        assert_int_equal(request.exclusive_cpus, probes[i]);
                else
                        fail_msg("schema key %s is an integer the test does not know how to check", base);
        }
        snprintf(text, sizeof(text), "%lld", (long long)(min - 1));
        expect_refused(base, text);
        snprintf(text, sizeof(text), "%lld", (long long)(max + 1));
        expect_refused(base, text);
        snprintf(text, sizeof(text), "0%lld", (long long)max);
        expect_refused(base, text);
        expect_refused(base, "abc");
        expect_refused(base, "");
}

static void check_cpulist_entry(const char *base)
{
        struct np_request request;
        char key[128];

        snprintf(key, sizeof(key), "%s/pod", base);
        expect_accepted(base, "auto");
        assert_int_equal(parse_one(key, "auto", &request, NULL, 0), 0);
        assert_true(request.nodes_auto);
        expect_accepted(base, "0,2-3");
        assert_int_equal(parse_one(key, "0,2-3", &request, NULL, 0), 0);
        assert_nodes(&request, "0,2-3");
        expect_accepted(base, "1023");
        expect_accepted(base, "0-1023");
        expect_refused(base, "1024");
        expect_refused(base, "3-1");
        expect_refused(base, "abc");
        expect_refused(base, "");
}

/* The default the schema states is what the parser gives when the key is absent
 * but another numapin key applies. */
static void check_default(const char *base, struct json_object *entry)
{
        _cleanup_set_ struct np_annotation_set set = {};
        struct json_object *def;
        struct np_request request;

        if (!json_object_object_get_ex(entry, "default", &def))
                return;
        /* any other key makes the container annotated */
        add_pairs(&set, strcmp(base, "monitor.numapin.io") == 0 ? "cpus.numapin.io/pod" : "monitor.numapin.io/pod",
                  strcmp(base, "monitor.numapin.io") == 0 ? "1" : "true", NULL);
        request = parse_ok(&set, NULL, NP_POLICY_NONE);
        if (strcmp(base, "policy.numapin.io") == 0)
                assert_string_equal(np_policy_to_string(request.policy), json_object_get_string(def));
        else if (strcmp(base, "nodes.numapin.io") == 0)
                assert_true(strcmp(json_object_get_string(def), "auto") == 0 && request.nodes_auto);
        else if (strcmp(base, "cpus.numapin.io") == 0)
                assert_int_equal(request.exclusive_cpus, json_object_get_int64(def));
        else if (strcmp(base, "monitor.numapin.io") == 0)
                assert_int_equal(request.monitor, strcmp(json_object_get_string(def), "true") == 0);
        else if (strcmp(base, "scope.numapin.io") == 0)
                assert_string_equal(np_scope_to_string(request.scope), json_object_get_string(def));
        else if (strcmp(base, "memory-tier.numapin.io") == 0)
                assert_string_equal(np_memory_tier_to_string(request.memory_tier), json_object_get_string(def));
        else if (strcmp(base, "devices.numapin.io") == 0)
                assert_int_equal(request.device_affinity, strcmp(json_object_get_string(def), "auto") == 0);
        else
                fail_msg("schema key %s has a default the test does not know how to check", base);
}

static void test_annotations_schema_keys_accept_listed_values_and_refuse_others(void **state)
{
        _cleanup_json_ struct json_object *schema = load_schema();
        struct json_object *keys = schema_member(schema, "x-numapin-keys", json_type_array);

        assert_true(json_object_array_length(keys) > 0);
        for (size_t i = 0; i < json_object_array_length(keys); i++) {
                struct json_object *entry = json_object_array_get_idx(keys, i), *values, *form;
                const char *base = json_object_get_string(schema_member(entry, "key", json_type_string));

                if (json_object_object_get_ex(entry, "values", &values))
                        check_values_entry(base, values);
                else if (json_object_object_get_ex(entry, "form", &form) &&
                         strcmp(json_object_get_string(form), "integer") == 0)
                        check_integer_entry(base, entry);
                else if (json_object_object_get_ex(entry, "form", &form) &&
                         strcmp(json_object_get_string(form), "auto|cpulist") == 0)
                        check_cpulist_entry(base);
                else
                        fail_msg("schema key %s has neither values nor a known form", base);
                check_default(base, entry);
        }
}

/* The base key of a patternProperties regex: "^policy\\.numapin\\.io/(...)$"
 * gives "policy.numapin.io". */
static void pattern_base(const char *pattern, char *buf, size_t size)
{
        size_t o = 0;

        assert_int_equal(pattern[0], '^');
        for (const char *p = pattern + 1; *p && *p != '/' && o + 1 < size; p++) {
                if (*p == '\\')
                        p++;
                buf[o++] = *p;
        }
        buf[o] = '\0';
}

static bool schema_has_family(struct json_object *keys, const char *base)
{
        for (size_t i = 0; i < json_object_array_length(keys); i++) {
                struct json_object *entry = json_object_array_get_idx(keys, i);

                if (strcmp(json_object_get_string(schema_member(entry, "key", json_type_string)), base) == 0)
                        return true;
        }
        return false;
}

static struct json_object *schema_entry(struct json_object *keys, const char *base)
{
        for (size_t i = 0; i < json_object_array_length(keys); i++) {
                struct json_object *entry = json_object_array_get_idx(keys, i);

                if (strcmp(json_object_get_string(schema_member(entry, "key", json_type_string)), base) == 0)
                        return entry;
        }
        fail_msg("x-numapin-keys has no entry for %s", base);
        return NULL;
}

static bool regex_matches(const char *pattern, const char *text)
{
        regex_t re;
        bool match;

        if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
                fail_msg("schema pattern does not compile as POSIX ERE: %s", pattern);
        match = regexec(&re, text, 0, NULL, 0) == 0;
        regfree(&re);
        return match;
}

/* Refused by the parser as an unknown key or scope (not for its value). */
static bool parser_refuses_key(const char *key, const char *value)
{
        struct np_request request;
        char message[4096];

        return parse_one(key, value, &request, message, sizeof(message)) == -EINVAL &&
               (strstr(message, "unknown numapin key") || strstr(message, "unknown scope"));
}

static void test_annotations_schema_pattern_families_are_known_to_parser(void **state)
{
        _cleanup_json_ struct json_object *schema = load_schema();
        struct json_object *keys = schema_member(schema, "x-numapin-keys", json_type_array);
        struct json_object *patterns = schema_member(schema, "patternProperties", json_type_object);
        size_t families = 0;
        char name63[64], scope64[96];
        /* scopes no numapin key may have; the last names a container of 64 characters */
        const char *const bad_scopes[] = { "", "/", "/foo", "/container.", "/container._a", "/pod/x", scope64 };

        memset(name63, 'z', 63);
        name63[63] = '\0';
        snprintf(scope64, sizeof(scope64), "/container.%sz", name63);
        json_object_object_foreach(patterns, pattern, unused) {
                char base[64], key[160];
                const char *value;

                (void)unused;
                pattern_base(pattern, base, sizeof(base));
                if (!schema_has_family(keys, base))
                        fail_msg("patternProperties has %s but x-numapin-keys does not", base);
                value = valid_value(schema_entry(keys, base));
                families++;

                /* keys the schema allows, the parser takes */
                snprintf(key, sizeof(key), "%s/pod", base);
                assert_true(regex_matches(pattern, key));
                expect_accepted(base, value);
                snprintf(key, sizeof(key), "%s/container.%s", base, name63);
                assert_true(regex_matches(pattern, key));
                assert_false(parser_refuses_key(key, value));
                snprintf(key, sizeof(key), "%s/container.A1_.-", base);
                assert_true(regex_matches(pattern, key));
                assert_false(parser_refuses_key(key, value));

                /* keys the schema forbids, the parser refuses */
                for (size_t i = 0; i < sizeof(bad_scopes) / sizeof(bad_scopes[0]); i++) {
                        snprintf(key, sizeof(key), "%s%s", base, bad_scopes[i]);
                        if (regex_matches(pattern, key))
                                fail_msg("schema pattern takes %s", key);
                        if (!parser_refuses_key(key, value))
                                fail_msg("parser takes %s, which the schema forbids", key);
                }
        }
        assert_int_equal(families, json_object_array_length(keys));
}

static void test_annotations_schema_lists_every_family_the_parser_accepts(void **state)
{
        /* likely names for a numapin key; any the parser takes must be in the schema */
        static const char *const candidates[] = {
                "policy",     "nodes",      "node-count", "cpus",     "monitor",   "node",
                "cpu",        "mems",       "memory",     "numa",     "mode",      "exclusive-cpus",
                "cpuset",     "interleave", "preferred",  "reserved", "count",     "nodes-count",
                "node_count", "pin",        "bind",       "affinity", "weight",    "Policy",
                "policies",   "cpus-only",  "none",       "auto",     "nodecount",
        };
        _cleanup_json_ struct json_object *schema = load_schema();
        struct json_object *keys = schema_member(schema, "x-numapin-keys", json_type_array);
        struct np_request request;
        char message[4096], listed[256], *p, *end;
        size_t named = 0;

        for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
                char base[64], key[96];
                bool known;

                snprintf(base, sizeof(base), "%s.numapin.io", candidates[i]);
                snprintf(key, sizeof(key), "%s/pod", base);
                known = schema_has_family(keys, base);
                if (parser_refuses_key(key, "1") == known)
                        fail_msg("%s: the parser %s it, the schema %s it", key, known ? "refuses" : "takes",
                                 known ? "lists" : "lacks");
        }

        /* and the families the parser names in its own refusal are the schema's */
        assert_int_equal(parse_one("unknown.numapin.io/pod", "x", &request, message, sizeof(message)), -EINVAL);
        p = strstr(message, "expected ");
        end = p ? strstr(p, " .numapin.io") : NULL;
        assert_non_null(end);
        p += strlen("expected ");
        snprintf(listed, sizeof(listed), "%.*s", (int)(end - p), p);
        for (char *save = NULL, *word = strtok_r(listed, ", ", &save); word; word = strtok_r(NULL, ", ", &save)) {
                char base[64];

                if (strcmp(word, "or") == 0)
                        continue;
                snprintf(base, sizeof(base), "%s.numapin.io", word);
                if (!schema_has_family(keys, base))
                        fail_msg("the parser names %s, the schema lacks it", base);
                named++;
        }
        assert_int_equal(named, json_object_array_length(keys));
}

static void test_annotations_schema_property_names_agree_with_parser(void **state)
{
        static const char *const keys[] = {
                "policy.numapin.io/pod",
                "nodes.numapin.io/container.app",
                "numapin.io/pod",
                "foo.numapin.io/pod",
                "a.b.numapin.io/pod",
                "numapin.io",
                "policy.numapin.io",
                "policy.numapin.io/foo",
                "policy.numapin.io/container.",
                "POLICY.numapin.io/pod",
                "xnumapin.io/pod",
                "numapin.io.example.com/pod",
                "example.com/policy.numapin.io",
                "policy.numapin.iox/pod",
                "io.kubernetes.cri.container-name",
        };
        _cleanup_json_ struct json_object *schema = load_schema();
        struct json_object *names = schema_member(schema, "propertyNames", json_type_object);
        struct json_object *if_clause = schema_member(names, "if", json_type_object);
        struct json_object *then_clause = schema_member(names, "then", json_type_object);
        const char *if_pattern = json_object_get_string(schema_member(if_clause, "pattern", json_type_string));
        const char *then_pattern = json_object_get_string(schema_member(then_clause, "pattern", json_type_string));

        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                bool schema_forbids = regex_matches(if_pattern, keys[i]) && !regex_matches(then_pattern, keys[i]);
                const char *value = strncmp(keys[i], "nodes.", 6) == 0 ? "auto" : "bind";

                if (parser_refuses_key(keys[i], value) != schema_forbids)
                        fail_msg("%s: the schema %s it, the parser does not agree", keys[i],
                                 schema_forbids ? "forbids" : "allows");
        }
}

static bool enum_has(struct json_object *values, const char *value)
{
        for (size_t i = 0; i < json_object_array_length(values); i++)
                if (strcmp(json_object_get_string(json_object_array_get_idx(values, i)), value) == 0)
                        return true;
        return false;
}

/* Values the schema's pattern or enum allows are exactly those the parser
 * takes, except descending node ranges, which no pattern can see. */
static void test_annotations_schema_value_patterns_agree_with_parser(void **state)
{
        static const char *const samples[] = {
                "auto", "0",         "1",    "2",         "9",          "10",   "99",   "100",   "999",    "1000",
                "1019", "1023",      "1024", "1025",      "8191",       "8192", "8193", "0,2-3", "0-1023", "0-1024",
                "1-1",  "3-1",       "01",   "00",        "-1",         "+1",   " 1",   "1 ",    "",       "abc",
                "0x1",  "1,",        ",1",   "1,,2",      "1-",         "-",    "1.0",  "1e3",   "true",   "false",
                "bind", "cpus-only", "none", "preferred", "interleave", "BIND", "yes",  "Auto",  "4\n",
        };
        _cleanup_json_ struct json_object *schema = load_schema();
        struct json_object *patterns = schema_member(schema, "patternProperties", json_type_object);

        json_object_object_foreach(patterns, key_pattern, property) {
                struct json_object *pattern = NULL, *values = NULL;
                char base[64], key[96];

                pattern_base(key_pattern, base, sizeof(base));
                snprintf(key, sizeof(key), "%s/pod", base);
                if (!json_object_object_get_ex(property, "pattern", &pattern) &&
                    !json_object_object_get_ex(property, "enum", &values))
                        fail_msg("schema property %s has neither pattern nor enum", base);
                for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
                        const char *value = samples[i];
                        struct np_request request;
                        bool schema_ok = pattern ? regex_matches(json_object_get_string(pattern), value)
                                                 : enum_has(values, value);
                        bool parser_ok = parse_one(key, value, &request, NULL, 0) == 0;

                        if (strcmp(base, "nodes.numapin.io") == 0 && strcmp(value, "3-1") == 0) {
                                /* the documented difference */
                                assert_true(schema_ok);
                                assert_false(parser_ok);
                                continue;
                        }
                        if (schema_ok != parser_ok)
                                fail_msg("%s='%s': the schema %s it, the parser %s it", key, value,
                                         schema_ok ? "allows" : "forbids", parser_ok ? "takes" : "refuses");
                }
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_annotations_schema_keys_accept_listed_values_and_refuse_others),
                cmocka_unit_test(test_annotations_schema_pattern_families_are_known_to_parser),
                cmocka_unit_test(test_annotations_schema_lists_every_family_the_parser_accepts),
                cmocka_unit_test(test_annotations_schema_property_names_agree_with_parser),
                cmocka_unit_test(test_annotations_schema_value_patterns_agree_with_parser),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
