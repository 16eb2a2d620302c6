// SPDX-License-Identifier: MIT
/* The JSON text scanner (core/jsontext.c): what it accepts as one document, the
 * spans it gives for members, duplicate and missing keys, and string decoding
 * that keeps NUL bytes and lone surrogates as bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/jsontext.h"

static int root_of(const char *text, struct np_json_span *ret_root)
{
        struct np_json_span root;

        return np_jsontext_root(text, strlen(text), ret_root ? ret_root : &root, NULL);
}

static void test_jsontext_root_accepts_any_value_with_whitespace_around(void **state)
{
        struct np_json_span root;
        /* json-c's grammar: raw control characters and laxer numbers too */
        static const char *const good[] = {
                "{}",
                " [ ] ",
                "\"\"",
                "0",
                "-0.5e+10",
                "123456789012345678901234567890",
                "1E400",
                "1.",
                "00",
                "NaN",
                "-Infinity",
                "true",
                "null",
                "\"raw\t\x01\"",
                "{\"a\": [1, {\"b\": \"\\u0000\\ud800\\/\"}], \"a\": false}\r\n",
        };

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                if (root_of(good[i], NULL) < 0)
                        fail_msg("refused '%s'", good[i]);
        assert_int_equal(root_of("  {\"a\":1}\n", &root), 0);
        assert_int_equal(root.start, 2);
        assert_int_equal(root.end, 9);
}

static void test_jsontext_root_refuses_what_is_not_one_json_value(void **state)
{
        static const char *const bad[] = {
                "",       " ",   "{",   "{\"a\"}", "{\"a\":}", "{\"a\":1,}",  "[1,]",
                ".5",     "-",   "+1",  "-x",      "\"\\x\"",  "\"\\u12g4\"", "\"a",
                "\"\0\"", "tru", "nul", "{} {}",   "{'a':1}",  "[1 2]",
        };
        char deep[200];
        size_t offset = 0;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (root_of(bad[i], NULL) != -EINVAL)
                        fail_msg("took '%s'", bad[i]);
        memset(deep, '[', 65);
        memset(deep + 65, ']', 65);
        deep[130] = '\0';
        assert_int_equal(root_of(deep, NULL), -EINVAL); /* 65 deep */
        deep[129] = '\0';
        assert_int_equal(root_of(deep + 1, NULL), 0); /* 64 deep */
        assert_int_equal(np_jsontext_root("[1, x]", 6, &(struct np_json_span){}, &offset), -EINVAL);
        assert_int_equal(offset, 4);
        /* a bad escape: at its backslash; a text that stops inside a string or a
         * literal: at its end */
        assert_int_equal(np_jsontext_root("[\"a\\qb\"]", 8, &(struct np_json_span){}, &offset), -EINVAL);
        assert_int_equal(offset, 3);
        assert_int_equal(np_jsontext_root("[\"ab", 4, &(struct np_json_span){}, &offset), -EINVAL);
        assert_int_equal(offset, 4);
        assert_int_equal(np_jsontext_root("[\"a\\u00", 7, &(struct np_json_span){}, &offset), -EINVAL);
        assert_int_equal(offset, 7);
        assert_int_equal(np_jsontext_root("[nu", 3, &(struct np_json_span){}, &offset), -EINVAL);
        assert_int_equal(offset, 3);
        /* trailing data: where it starts */
        assert_int_equal(np_jsontext_root("{}  [", 5, &(struct np_json_span){}, &offset), -EINVAL);
        assert_int_equal(offset, 4);
}

static void test_jsontext_member_gives_the_value_span_by_exact_key(void **state)
{
        static const char text[] = "{ \"a\\u0000\" : 1, \"a\" :  [ 2 ] , \"b\": {\"a\": 3}, \"\\u0061x\": \"y\" }";
        struct np_json_span root, value;

        assert_int_equal(root_of(text, &root), 0);
        assert_int_equal(np_jsontext_member(text, root, "a", &value), 0);
        assert_int_equal(value.end - value.start, 5);
        assert_memory_equal(text + value.start, "[ 2 ]", 5);
        assert_int_equal(np_jsontext_member(text, root, "ax", &value), 0);
        assert_memory_equal(text + value.start, "\"y\"", 3);
        assert_int_equal(np_jsontext_member(text, root, "c", &value), -ENOENT);
        assert_int_equal(np_jsontext_member(text, value, "a", &value), -EINVAL); /* a string, not an object */
}

static void test_jsontext_member_reports_a_key_given_twice(void **state)
{
        static const char text[] = "{\"linux\": {}, \"x\": 1, \"linu\\u0078\": null}";
        struct np_json_span root, value;

        assert_int_equal(root_of(text, &root), 0);
        assert_int_equal(np_jsontext_member(text, root, "linux", &value), -EEXIST);
        assert_int_equal(np_jsontext_member(text, root, "x", &value), 0);
}

static void test_jsontext_next_steps_through_members_in_order(void **state)
{
        static const char text[] = "{\"k1\":1,\"k2\" : {\"n\":[]} ,\"k3\":\"v\"}";
        static const char *const keys[] = { "\"k1\"", "\"k2\"", "\"k3\"" };
        struct np_json_span root, key, value;
        size_t cursor = 0, n = 0;
        int r;

        assert_int_equal(root_of(text, &root), 0);
        while ((r = np_jsontext_next(text, root, &cursor, &key, &value)) > 0) {
                assert_true(n < 3);
                assert_int_equal(key.end - key.start, 4);
                assert_memory_equal(text + key.start, keys[n], 4);
                n++;
        }
        assert_int_equal(r, 0);
        assert_int_equal(n, 3);
        cursor = 0;
        assert_int_equal(np_jsontext_next(text, (struct np_json_span){ 0, 1 }, &cursor, &key, &value), -EINVAL);
}

static void test_jsontext_string_keeps_nul_bytes_pairs_and_lone_surrogates(void **state)
{
        static const char text[] = "\"a\\u0000b\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\\ud800x\\udc00\"";
        static const char want[] = "a\0b\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\xed\xa0\x80x\xed\xb0\x80";
        struct np_json_span span = { 0, strlen(text) };
        char *bytes = NULL;
        size_t len = 0;

        assert_int_equal(np_jsontext_string(text, span, &bytes, &len), 0);
        assert_int_equal(len, sizeof(want) - 1);
        assert_memory_equal(bytes, want, len);
        assert_int_equal(bytes[len], '\0');
        free(bytes);
        span.end--; /* not one string any more */
        assert_int_equal(np_jsontext_string(text, span, &bytes, &len), -EINVAL);
}

static void test_jsontext_next_item_steps_through_elements_in_order(void **state)
{
        static const char text[] = "[ 1 , {\"a\": [2, 3]},\"s\" ,[] ]";
        static const char *const items[] = { "1", "{\"a\": [2, 3]}", "\"s\"", "[]" };
        struct np_json_span root, value;
        size_t cursor = 0, n = 0;
        int r;

        assert_int_equal(root_of(text, &root), 0);
        while ((r = np_jsontext_next_item(text, root, &cursor, &value)) > 0) {
                assert_true(n < 4);
                assert_int_equal(value.end - value.start, strlen(items[n]));
                assert_memory_equal(text + value.start, items[n], strlen(items[n]));
                n++;
        }
        assert_int_equal(r, 0);
        assert_int_equal(n, 4);
        cursor = 0;
        assert_int_equal(root_of("[ ]", &root), 0);
        assert_int_equal(np_jsontext_next_item("[ ]", root, &cursor, &value), 0);
        assert_int_equal(root_of("{}", &root), 0);
        assert_int_equal(np_jsontext_next_item("{}", root, &cursor, &value), -EINVAL);
}

/* Several keys in one pass: each value, absent ones with end 0, and the index of
 * a key given twice (escaped or not). */
static void test_jsontext_members_finds_several_keys_in_one_pass(void **state)
{
        static const char text[] = "{\"b\": 2, \"x\": {\"a\": 9}, \"a\": \"1\"}";
        static const char twice[] = "{\"a\": 1, \"b\": 2, \"\\u0062\": 3}";
        static const char *const keys[] = { "a", "b", "c" };
        struct np_json_span root, v[3];
        size_t which = 99;

        assert_int_equal(root_of(text, &root), 0);
        assert_int_equal(np_jsontext_members(text, root, keys, 3, v, NULL), 0);
        assert_memory_equal(text + v[0].start, "\"1\"", 3);
        assert_memory_equal(text + v[1].start, "2", 1);
        assert_int_equal(v[2].end, 0);
        assert_int_equal(root_of(twice, &root), 0);
        assert_int_equal(np_jsontext_members(twice, root, keys, 3, v, &which), -EEXIST);
        assert_int_equal(which, 1);
        assert_int_equal(root_of("[1]", &root), 0);
        assert_int_equal(np_jsontext_members("[1]", root, keys, 3, v, NULL), -EINVAL);
}

/* The text of a span, for comparisons. */
static char *span_text(const char *text, struct np_json_span span)
{
        return strndup(text + span.start, span.end - span.start);
}

static void assert_span(const char *text, struct np_json_span span, const char *expected)
{
        char *got = span.end ? span_text(text, span) : NULL;

        if (!expected && got)
                fail_msg("expected no value, found '%s'", got);
        if (expected && (!got || strcmp(got, expected) != 0))
                fail_msg("expected '%s', found '%s'", expected, got ? got : "(absent)");
        free(got);
}

/* The values of several paths come out of the validating scan, found only
 * through objects, by the keys' exact bytes (escapes resolved), whatever
 * order or depth the members are at. */
static void test_jsontext_root_find_gives_nested_values_in_one_scan(void **state)
{
        static const char text[] = "{\"process\": {\"env\": [\"a\", {\"linux\": 1}]},"
                                   " \"l\\u0069nux\": {\"resources\": {\"memory\": {\"limit\": 5},"
                                   " \"cpu\": {\"cpus\": \"0-3\", \"quota\": -1}}, \"devices\": []},"
                                   " \"ociVersion\": \"1.1.0\", \"annotations\": null}";
        static const char *const paths[] = {
                "ociVersion",          "linux",         "linux.resources.cpu.cpus",     "linux.resources.cpu.mems",
                "linux.devices",       "annotations",   "linux.resources.memory.limit", "process.env.linux",
                "linux.resources.cpu", "nothing.below",
        };
        struct np_json_span root, v[sizeof(paths) / sizeof(paths[0])];
        struct np_jsontext_find find = { paths, sizeof(paths) / sizeof(paths[0]), v, 0 };

        assert_int_equal(np_jsontext_root_find(text, strlen(text), &find, &root, NULL), 0);
        assert_int_equal(root.start, 0);
        assert_int_equal(root.end, strlen(text));
        assert_span(text, v[0], "\"1.1.0\"");
        assert_int_equal(text[v[1].start], '{');
        assert_span(text, v[2], "\"0-3\"");
        assert_span(text, v[3], NULL);
        assert_span(text, v[4], "[]");
        assert_span(text, v[5], "null");
        assert_span(text, v[6], "5");
        assert_span(text, v[7], NULL); /* through an array: not a path */
        assert_span(text, v[8], "{\"cpus\": \"0-3\", \"quota\": -1}");
        assert_span(text, v[9], NULL);

        /* what np_jsontext_member() finds walking down, the scan found too */
        struct np_json_span linux_value, resources, cpu;
        assert_int_equal(np_jsontext_member(text, root, "linux", &linux_value), 0);
        assert_int_equal(np_jsontext_member(text, linux_value, "resources", &resources), 0);
        assert_int_equal(np_jsontext_member(text, resources, "cpu", &cpu), 0);
        assert_int_equal(cpu.start, v[8].start);
        assert_int_equal(cpu.end, v[8].end);
        assert_int_equal(linux_value.start, v[1].start);
        assert_int_equal(linux_value.end, v[1].end);
}

/* A path's last key twice in its object stops the scan and names the path; a
 * key twice that no path ends at is the document's business. */
static void test_jsontext_root_find_reports_a_key_given_twice(void **state)
{
        static const char *const paths[] = { "a", "b.c" };
        struct np_json_span root, v[2];
        struct np_jsontext_find find = { paths, 2, v, 0 };
        static const char twice_deep[] = "{\"a\": 1, \"b\": {\"c\": 1, \"d\": 2, \"c\": 3}}";
        static const char twice_top[] = "{\"b\": {}, \"a\": 1, \"a\": 2}";
        static const char twice_other[] = "{\"x\": 1, \"x\": 2, \"b\": {\"d\": 1, \"d\": 2}, \"a\": 0}";
        /* two "b" objects each with a "c": the path's value would be ambiguous */
        static const char twice_parent[] = "{\"b\": {\"c\": 1}, \"b\": {\"c\": 2}}";

        assert_int_equal(np_jsontext_root_find(twice_deep, strlen(twice_deep), &find, &root, NULL), -EEXIST);
        assert_int_equal(find.twice, 1);
        assert_int_equal(np_jsontext_root_find(twice_top, strlen(twice_top), &find, &root, NULL), -EEXIST);
        assert_int_equal(find.twice, 0);
        assert_int_equal(np_jsontext_root_find(twice_other, strlen(twice_other), &find, &root, NULL), 0);
        assert_span(twice_other, v[0], "0");
        assert_span(twice_other, v[1], NULL);
        assert_int_equal(np_jsontext_root_find(twice_parent, strlen(twice_parent), &find, &root, NULL), -EEXIST);
        assert_int_equal(find.twice, 1);
}

/* Broken text is refused as np_jsontext_root() refuses it, at the same offset;
 * a request the finder cannot hold is refused before any scan. */
static void test_jsontext_root_find_refuses_what_root_refuses_and_too_many_paths(void **state)
{
        static const char *const paths[] = { "a", "a.b" };
        static const char *const deep[] = { "a.b.c.d.e" };
        static const char *const empty_key[] = { "a..b" };
        static const char *many[NP_JSONTEXT_FIND_MAX + 1];
        static const char *const bad[] = { "{\"a\": {\"b\": [1,]}}", "{\"a\": 1} x", "{\"a\"" };
        struct np_json_span root, v[NP_JSONTEXT_FIND_MAX + 1];
        struct np_jsontext_find find = { paths, 2, v, 0 };
        size_t offset, expected;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(np_jsontext_root(bad[i], strlen(bad[i]), &root, &expected), -EINVAL);
                assert_int_equal(np_jsontext_root_find(bad[i], strlen(bad[i]), &find, &root, &offset), -EINVAL);
                assert_int_equal(offset, expected);
        }
        for (size_t i = 0; i < NP_JSONTEXT_FIND_MAX + 1; i++)
                many[i] = "a";
        find = (struct np_jsontext_find){ many, NP_JSONTEXT_FIND_MAX + 1, v, 0 };
        assert_int_equal(np_jsontext_root_find("{}", 2, &find, &root, NULL), -E2BIG);
        find = (struct np_jsontext_find){ deep, 1, v, 0 };
        assert_int_equal(np_jsontext_root_find("{}", 2, &find, &root, NULL), -E2BIG);
        find = (struct np_jsontext_find){ empty_key, 1, v, 0 };
        assert_int_equal(np_jsontext_root_find("{}", 2, &find, &root, NULL), -E2BIG);
        /* all 64 at once: the widest mask */
        find = (struct np_jsontext_find){ many, NP_JSONTEXT_FIND_MAX, v, 0 };
        assert_int_equal(np_jsontext_root_find("{\"b\": 1}", 8, &find, &root, NULL), 0);
        assert_int_equal(v[NP_JSONTEXT_FIND_MAX - 1].end, 0);
        assert_int_equal(np_jsontext_root_find("{\"a\": 1}", 8, &find, &root, NULL), 0);
        for (size_t i = 0; i < NP_JSONTEXT_FIND_MAX; i++)
                assert_span("{\"a\": 1}", v[i], "1");
        assert_int_equal(np_jsontext_root_find("{\"a\": 1, \"a\": 2}", 16, &find, &root, NULL), -EEXIST);
        assert_int_equal(find.twice, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_jsontext_root_accepts_any_value_with_whitespace_around),
                cmocka_unit_test(test_jsontext_root_refuses_what_is_not_one_json_value),
                cmocka_unit_test(test_jsontext_member_gives_the_value_span_by_exact_key),
                cmocka_unit_test(test_jsontext_member_reports_a_key_given_twice),
                cmocka_unit_test(test_jsontext_next_steps_through_members_in_order),
                cmocka_unit_test(test_jsontext_next_item_steps_through_elements_in_order),
                cmocka_unit_test(test_jsontext_members_finds_several_keys_in_one_pass),
                cmocka_unit_test(test_jsontext_string_keeps_nul_bytes_pairs_and_lone_surrogates),
                cmocka_unit_test(test_jsontext_root_find_gives_nested_values_in_one_scan),
                cmocka_unit_test(test_jsontext_root_find_reports_a_key_given_twice),
                cmocka_unit_test(test_jsontext_root_find_refuses_what_root_refuses_and_too_many_paths),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
