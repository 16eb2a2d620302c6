// SPDX-License-Identifier: MIT
/* The JSON input helpers (core/json.c): np_json_parse's size limit, UTF-8 and
 * NUL checks, syntax errors with byte offsets and trailing data; the typed
 * getters that tell a missing field from one of the wrong type. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../core/json.h"

/* A pointer np_json_parse must not overwrite when it fails. */
static struct json_object *const untouched = (struct json_object *)&untouched;

/* Parses a C string (without its NUL) that must be refused with `error`;
 * returns diag's message for further checks. */
static const char *parse_fails(const char *text, size_t size, int error)
{
        static struct np_diag diag;
        struct json_object *obj = untouched;
        int r;

        memset(&diag, 0, sizeof(diag));
        r = np_json_parse(text, size, 4096, "test input", &diag, &obj);
        if (r != error)
                fail_msg("np_json_parse(\"%s\") returned %d; expected %d (%s)", text, r, error, diag.message);
        assert_int_equal(diag.error, error);
        assert_ptr_equal(obj, untouched);
        assert_non_null(strstr(diag.message, "test input"));
        assert_null(strchr(diag.message, '\n'));
        return diag.message;
}

static struct json_object *parse_ok(const char *text)
{
        struct np_diag diag = {};
        struct json_object *obj = NULL;

        if (np_json_parse(text, strlen(text), 4096, "test input", &diag, &obj) != 0)
                fail_msg("np_json_parse(\"%s\") failed: %s", text, diag.message);
        assert_non_null(obj);
        return obj;
}

/* A diag with contents that a call which must not touch it would overwrite. */
static void diag_preset(struct np_diag *diag)
{
        diag->error = -1234;
        strcpy(diag->message, "preset");
}

static void assert_diag_preset(const struct np_diag *diag)
{
        assert_int_equal(diag->error, -1234);
        assert_string_equal(diag->message, "preset");
}

static void test_json_parse_accepts_valid_object(void **state)
{
        _cleanup_json_ struct json_object *obj = parse_ok("{\"ociVersion\": \"1.0.2\", \"pid\": 42, \"list\": [1, 2], "
                                                          "\"nested\": {\"ok\": true}, \"nothing\": null}\n");
        struct json_object *value;

        assert_true(json_object_is_type(obj, json_type_object));
        assert_int_equal(json_object_object_length(obj), 5);
        assert_true(json_object_object_get_ex(obj, "ociVersion", &value));
        assert_string_equal(json_object_get_string(value), "1.0.2");
        assert_true(json_object_object_get_ex(obj, "pid", &value));
        assert_int_equal(json_object_get_int64(value), 42);
        assert_true(json_object_object_get_ex(obj, "nested", &value));
        assert_true(json_object_object_get_ex(value, "ok", &value));
        assert_true(json_object_get_boolean(value));
}

static void test_json_parse_accepts_valid_utf8_strings(void **state)
{
        _cleanup_json_ struct json_object *obj = parse_ok("{\"name\": \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}");
        struct json_object *value;

        assert_true(json_object_object_get_ex(obj, "name", &value));
        assert_string_equal(json_object_get_string(value), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

static void test_json_parse_reads_only_size_bytes(void **state)
{
        static const char text[] = "{\"a\": 1}garbage that is not parsed";
        _cleanup_json_ struct json_object *obj = NULL;
        struct json_object *value;

        assert_int_equal(np_json_parse(text, 8, 4096, "test input", NULL, &obj), 0);
        assert_true(json_object_object_get_ex(obj, "a", &value));
        assert_int_equal(json_object_get_int(value), 1);
}

static void test_json_parse_accepts_input_of_exactly_the_limit(void **state)
{
        _cleanup_json_ struct json_object *obj = NULL;

        assert_int_equal(np_json_parse("{\"a\": 1}", 8, 8, "test input", NULL, &obj), 0);
        assert_non_null(obj);
}

static void test_json_parse_rejects_input_over_limit_with_efbig(void **state)
{
        struct np_diag diag = {};
        struct json_object *obj = untouched;

        assert_int_equal(np_json_parse("{\"a\": 1}", 8, 7, "state on stdin", &diag, &obj), -EFBIG);
        assert_int_equal(diag.error, -EFBIG);
        assert_ptr_equal(obj, untouched);
        assert_string_equal(diag.message, "state on stdin: 8 bytes is larger than the limit of 7 bytes");
}

static void test_json_parse_rejects_empty_input(void **state)
{
        const char *message = parse_fails("", 0, -EINVAL);

        assert_non_null(strstr(message, "empty"));
}

static void test_json_parse_rejects_nul_byte_with_offset(void **state)
{
        static const char text[] = "{\"a\": \"x\0y\"}";
        const char *message = parse_fails(text, sizeof(text) - 1, -EILSEQ);

        assert_non_null(strstr(message, "NUL byte at byte offset 8"));
}

static void test_json_parse_rejects_invalid_utf8_with_offset(void **state)
{
        const char *message = parse_fails("{\"a\": \"ok\xff\"}", 12, -EILSEQ);

        assert_non_null(strstr(message, "invalid UTF-8 at byte offset 9"));
        message = parse_fails("{\"k\xc0\xaf\": 1}", 10, -EILSEQ); /* overlong '/' */
        assert_non_null(strstr(message, "invalid UTF-8 at byte offset 3"));
        message = parse_fails("{\"a\": \"\xed\xa0\x80\"}", 12, -EILSEQ); /* surrogate */
        assert_non_null(strstr(message, "byte offset 7"));
        message = parse_fails("{\"a\": \"x\"}\xe2\x82", 12, -EILSEQ); /* truncated at the end */
        assert_non_null(strstr(message, "byte offset 10"));
}

static void test_json_parse_reports_truncated_json(void **state)
{
        const char *message = parse_fails("{\"a\": ", 6, -EINVAL);

        assert_non_null(strstr(message, "truncated"));
        message = parse_fails("{\"a\": [1, 2", 11, -EINVAL);
        assert_non_null(strstr(message, "truncated"));
        message = parse_fails("{\"a\": \"unterminated", 19, -EINVAL);
        assert_non_null(strstr(message, "truncated"));
}

static void test_json_parse_reports_syntax_error_with_byte_offset(void **state)
{
        const char *message = parse_fails("{\"a\": 1,}", 9, -EINVAL);

        assert_non_null(strstr(message, "invalid JSON at byte offset 8"));
        message = parse_fails("{\n  \"a\": tru }", 14, -EINVAL);
        assert_non_null(strstr(message, "invalid JSON at byte offset 12"));
        message = parse_fails("{a: 1}", 6, -EINVAL);
        assert_non_null(strstr(message, "invalid JSON at byte offset 1"));
        message = parse_fails("{\"a\": 01}", 9, -EINVAL);
        assert_non_null(strstr(message, "invalid JSON at byte offset 8"));
}

static void test_json_parse_rejects_trailing_garbage_with_offset(void **state)
{
        const char *message = parse_fails("{} x", 4, -EINVAL);

        assert_non_null(strstr(message, "byte offset 3"));
        message = parse_fails("{\"a\": 1}{\"b\": 2}", 16, -EINVAL);
        assert_non_null(strstr(message, "byte offset 8"));
        message = parse_fails("{}\n\n,", 5, -EINVAL);
        assert_non_null(strstr(message, "byte offset 4"));
}

/* json-c's strict mode takes a single-quoted key; JSON (and the scanner the hook
 * reads annotations with) does not, so numapin refuses it on every input */
static void test_json_parse_rejects_single_quoted_keys_with_offset(void **state)
{
        const char *message = parse_fails("{'a': 1}", 8, -EINVAL);

        assert_non_null(strstr(message, "byte offset 1: a single-quoted string"));
        message = parse_fails("{\"a\": {\"b\": 1, 'c\"': 2}}", 24, -EINVAL);
        assert_non_null(strstr(message, "byte offset 15: a single-quoted string"));
        message = parse_fails("{\"a\": 'x'}", 10, -EINVAL);
        assert_non_null(strstr(message, "byte offset 6"));
}

static void test_json_parse_accepts_trailing_whitespace(void **state)
{
        _cleanup_json_ struct json_object *obj = parse_ok(" \t{\"a\": 1} \r\n\t\n");

        assert_int_equal(json_object_object_length(obj), 1);
}

static void test_json_parse_rejects_nesting_deeper_than_64(void **state)
{
        char text[512];
        size_t n = 0;

        for (int i = 0; i < 100; i++)
                text[n++] = '[';
        for (int i = 0; i < 100; i++)
                text[n++] = ']';
        parse_fails(text, n, -EINVAL);
}

static void test_json_get_returns_value_of_requested_type(void **state)
{
        _cleanup_json_ struct json_object *obj = parse_ok("{\"s\": \"x\", \"o\": {}, \"b\": false, \"i\": 3}");
        struct json_object *value = NULL;

        assert_int_equal(np_json_get(obj, "s", json_type_string, "test", NULL, &value), 0);
        assert_string_equal(json_object_get_string(value), "x");
        assert_int_equal(np_json_get(obj, "o", json_type_object, "test", NULL, &value), 0);
        assert_true(json_object_is_type(value, json_type_object));
        assert_int_equal(np_json_get(obj, "b", json_type_boolean, "test", NULL, &value), 0);
        assert_false(json_object_get_boolean(value));
        assert_int_equal(np_json_get(obj, "i", json_type_int, "test", NULL, &value), 0);
        assert_int_equal(json_object_get_int(value), 3);
}

static void test_json_get_reports_missing_as_enoent_without_touching_diag(void **state)
{
        _cleanup_json_ struct json_object *obj = parse_ok("{\"a\": 1, \"nothing\": null}");
        struct json_object *value = untouched;
        struct np_diag diag;

        diag_preset(&diag);
        assert_int_equal(np_json_get(obj, "b", json_type_int, "test", &diag, &value), -ENOENT);
        assert_diag_preset(&diag);
        /* JSON null counts as absent */
        assert_int_equal(np_json_get(obj, "nothing", json_type_string, "test", &diag, &value), -ENOENT);
        assert_diag_preset(&diag);
        assert_int_equal(np_json_get(NULL, "a", json_type_int, "test", &diag, &value), -ENOENT);
        assert_diag_preset(&diag);
        assert_ptr_equal(value, untouched);
}

static void test_json_get_reports_wrong_type_naming_field_and_both_types(void **state)
{
        _cleanup_json_ struct json_object *obj =
                parse_ok("{\"pid\": \"1234\", \"monitor\": \"yes\", \"list\": [], \"n\": 1.5, \"o\": {}}");
        struct json_object *value = untouched;
        struct np_diag diag = {};

        assert_int_equal(np_json_get(obj, "pid", json_type_int, "state", &diag, &value), -EINVAL);
        assert_int_equal(diag.error, -EINVAL);
        assert_string_equal(diag.message, "state: field 'pid' is a string; expected an integer");
        assert_int_equal(np_json_get(obj, "monitor", json_type_boolean, "config", &diag, &value), -EINVAL);
        assert_string_equal(diag.message, "config: field 'monitor' is a string; expected a boolean");
        assert_int_equal(np_json_get(obj, "list", json_type_object, "x", &diag, &value), -EINVAL);
        assert_string_equal(diag.message, "x: field 'list' is an array; expected an object");
        assert_int_equal(np_json_get(obj, "n", json_type_int, "x", &diag, &value), -EINVAL);
        assert_string_equal(diag.message, "x: field 'n' is a number; expected an integer");
        assert_int_equal(np_json_get(obj, "o", json_type_string, "x", &diag, &value), -EINVAL);
        assert_string_equal(diag.message, "x: field 'o' is an object; expected a string");
        assert_ptr_equal(value, untouched);
}

static void test_json_get_string_returns_text(void **state)
{
        _cleanup_json_ struct json_object *obj = parse_ok("{\"id\": \"abc\", \"empty\": \"\"}");
        const char *s = NULL;

        assert_int_equal(np_json_get_string(obj, "id", 3, "state", NULL, &s), 0);
        assert_string_equal(s, "abc");
        assert_int_equal(np_json_get_string(obj, "empty", 0, "state", NULL, &s), 0);
        assert_string_equal(s, "");
}

static void test_json_get_string_rejects_embedded_nul(void **state)
{
        _cleanup_json_ struct json_object *obj = parse_ok("{\"id\": \"ab\\u0000cd\"}");
        const char *s = "untouched";
        struct np_diag diag = {};

        assert_int_equal(np_json_get_string(obj, "id", 100, "state", &diag, &s), -EINVAL);
        assert_string_equal(s, "untouched");
        assert_non_null(strstr(diag.message, "'id'"));
        assert_non_null(strstr(diag.message, "NUL"));
}

static void test_json_get_string_rejects_value_longer_than_max(void **state)
{
        _cleanup_json_ struct json_object *obj = parse_ok("{\"id\": \"abcd\"}");
        const char *s = "untouched";
        struct np_diag diag = {};

        assert_int_equal(np_json_get_string(obj, "id", 3, "state", &diag, &s), -EINVAL);
        assert_string_equal(diag.message, "state: field 'id' is longer than 3 bytes");
        assert_string_equal(s, "untouched");
}

static void test_json_get_string_tells_missing_from_wrong_type(void **state)
{
        _cleanup_json_ struct json_object *obj = parse_ok("{\"id\": 5}");
        const char *s = "untouched";
        struct np_diag diag;

        diag_preset(&diag);
        assert_int_equal(np_json_get_string(obj, "bundle", 100, "state", &diag, &s), -ENOENT);
        assert_diag_preset(&diag);
        assert_int_equal(np_json_get_string(obj, "id", 100, "state", &diag, &s), -EINVAL);
        assert_string_equal(diag.message, "state: field 'id' is an integer; expected a string");
        assert_string_equal(s, "untouched");
}

static void test_json_get_int64_accepts_bounds_inclusively(void **state)
{
        _cleanup_json_ struct json_object *obj =
                parse_ok("{\"zero\": 0, \"max32\": 2147483647, \"min\": -9223372036854775808, "
                         "\"max\": 9223372036854775807}");
        int64_t n = 1;

        assert_int_equal(np_json_get_int64(obj, "zero", 0, INT32_MAX, "state", NULL, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(np_json_get_int64(obj, "max32", 0, INT32_MAX, "state", NULL, &n), 0);
        assert_int_equal(n, INT32_MAX);
        assert_int_equal(np_json_get_int64(obj, "min", INT64_MIN, INT64_MAX, "state", NULL, &n), 0);
        assert_true(n == INT64_MIN);
        assert_int_equal(np_json_get_int64(obj, "max", INT64_MIN, INT64_MAX, "state", NULL, &n), 0);
        assert_true(n == INT64_MAX);
}

static void test_json_get_int64_rejects_values_outside_range(void **state)
{
        _cleanup_json_ struct json_object *obj = parse_ok("{\"neg\": -1, \"big\": 2147483648}");
        struct np_diag diag = {};
        int64_t n = 77;

        assert_int_equal(np_json_get_int64(obj, "neg", 0, INT32_MAX, "state", &diag, &n), -ERANGE);
        assert_int_equal(diag.error, -ERANGE);
        assert_string_equal(diag.message,
                            "state: field 'neg' is out of range; expected an integer from 0 to 2147483647");
        assert_int_equal(np_json_get_int64(obj, "big", 0, INT32_MAX, "state", &diag, &n), -ERANGE);
        assert_non_null(strstr(diag.message, "'big'"));
        assert_int_equal(n, 77);
}

static void test_json_get_int64_rejects_integers_above_int64_max(void **state)
{
        /* json-c holds these as uint64; they must not pass as INT64_MAX */
        _cleanup_json_ struct json_object *obj = parse_ok("{\"a\": 9223372036854775808, \"b\": 18446744073709551615}");
        int64_t n = 77;

        assert_int_equal(np_json_get_int64(obj, "a", INT64_MIN, INT64_MAX, "x", NULL, &n), -ERANGE);
        assert_int_equal(np_json_get_int64(obj, "b", INT64_MIN, INT64_MAX, "x", NULL, &n), -ERANGE);
        assert_int_equal(n, 77);
}

static void test_json_get_int64_rejects_doubles_strings_and_booleans(void **state)
{
        _cleanup_json_ struct json_object *obj = parse_ok("{\"d\": 1.0, \"e\": 1e3, \"s\": \"5\", \"b\": true}");
        struct np_diag diag = {};
        int64_t n = 77;

        assert_int_equal(np_json_get_int64(obj, "d", 0, 10, "x", &diag, &n), -EINVAL);
        assert_string_equal(diag.message, "x: field 'd' is a number; expected an integer");
        assert_int_equal(np_json_get_int64(obj, "e", 0, 10000, "x", &diag, &n), -EINVAL);
        assert_int_equal(np_json_get_int64(obj, "s", 0, 10, "x", &diag, &n), -EINVAL);
        assert_string_equal(diag.message, "x: field 's' is a string; expected an integer");
        assert_int_equal(np_json_get_int64(obj, "b", 0, 10, "x", &diag, &n), -EINVAL);
        assert_int_equal(np_json_get_int64(obj, "missing", 0, 10, "x", &diag, &n), -ENOENT);
        assert_int_equal(n, 77);
}

static void test_json_get_uint64_accepts_zero_to_uint64_max(void **state)
{
        _cleanup_json_ struct json_object *obj =
                parse_ok("{\"zero\": 0, \"mid\": 9223372036854775808, \"max\": 18446744073709551615}");
        uint64_t n = 1;

        assert_int_equal(np_json_get_uint64(obj, "zero", "x", NULL, &n), 0);
        assert_true(n == 0);
        assert_int_equal(np_json_get_uint64(obj, "mid", "x", NULL, &n), 0);
        assert_true(n == UINT64_C(9223372036854775808));
        assert_int_equal(np_json_get_uint64(obj, "max", "x", NULL, &n), 0);
        assert_true(n == UINT64_MAX);
}

static void test_json_get_uint64_rejects_negative(void **state)
{
        _cleanup_json_ struct json_object *obj = parse_ok("{\"period\": -1, \"min\": -9223372036854775808}");
        struct np_diag diag = {};
        uint64_t n = 77;

        assert_int_equal(np_json_get_uint64(obj, "period", "config.json linux.resources.cpu", &diag, &n), -ERANGE);
        assert_string_equal(
                diag.message,
                "config.json linux.resources.cpu: field 'period' is negative; expected an unsigned integer");
        assert_int_equal(np_json_get_uint64(obj, "min", "x", &diag, &n), -ERANGE);
        assert_true(n == 77);
}

static void test_json_get_uint64_rejects_doubles_and_strings(void **state)
{
        _cleanup_json_ struct json_object *obj = parse_ok("{\"d\": 100000.5, \"s\": \"100000\"}");
        struct np_diag diag = {};
        uint64_t n = 77;

        assert_int_equal(np_json_get_uint64(obj, "d", "x", &diag, &n), -EINVAL);
        assert_string_equal(diag.message, "x: field 'd' is a number; expected an integer");
        assert_int_equal(np_json_get_uint64(obj, "s", "x", &diag, &n), -EINVAL);
        assert_int_equal(np_json_get_uint64(obj, "missing", "x", &diag, &n), -ENOENT);
        assert_true(n == 77);
}

static void test_json_get_double_accepts_integers_and_fractions_within_bounds(void **state)
{
        _cleanup_json_ struct json_object *obj = parse_ok("{\"i\": 100, \"f\": 0.25, \"low\": 0}");
        double n = -1;

        assert_int_equal(np_json_get_double(obj, "i", 0, 100, "x", NULL, &n), 0);
        assert_true(n == 100.0);
        assert_int_equal(np_json_get_double(obj, "f", 0, 100, "x", NULL, &n), 0);
        assert_true(n == 0.25);
        assert_int_equal(np_json_get_double(obj, "low", 0, 100, "x", NULL, &n), 0);
        assert_true(n == 0.0);
}

static void test_json_get_double_rejects_strings_and_values_outside_range(void **state)
{
        _cleanup_json_ struct json_object *obj = parse_ok("{\"s\": \"1.5\", \"neg\": -0.5, \"big\": 1e400}");
        struct np_diag diag = {};
        double n = 77;

        assert_int_equal(np_json_get_double(obj, "s", 0, 100, "x", &diag, &n), -EINVAL);
        assert_string_equal(diag.message, "x: field 's' is a string; expected a number");
        assert_int_equal(np_json_get_double(obj, "neg", 0, 100, "x", &diag, &n), -ERANGE);
        assert_string_equal(diag.message, "x: field 'neg' is out of range; expected a number from 0 to 100");
        assert_int_equal(np_json_get_double(obj, "big", 0, 1e300, "x", &diag, &n), -ERANGE);
        assert_int_equal(np_json_get_double(obj, "missing", 0, 100, "x", &diag, &n), -ENOENT);
        assert_true(n == 77);
}

static void test_json_to_string_writes_parseable_text_with_newline(void **state)
{
        _cleanup_json_ struct json_object *obj = parse_ok("{\"path\": \"/run/numapin\", \"n\": 18446744073709551615}");
        _cleanup_json_ struct json_object *again = NULL;
        _cleanup_free_ char *text = NULL;
        struct json_object *value;
        size_t size = 0;

        assert_int_equal(np_json_to_string(obj, &text, &size), 0);
        assert_int_equal(size, strlen(text));
        assert_int_equal(text[size - 1], '\n');
        assert_non_null(strstr(text, "\"/run/numapin\"")); /* slashes not escaped */
        assert_int_equal(np_json_parse(text, size, 4096, "again", NULL, &again), 0);
        assert_true(json_object_object_get_ex(again, "n", &value));
        assert_true(json_object_get_uint64(value) == UINT64_MAX);
}

/* np_json_validate: the same refusals as np_json_parse, from the scan alone */
static void test_json_validate_refuses_what_parse_refuses_with_the_offset(void **state)
{
        static const struct {
                const char *text;
                int error;
                const char *needle;
        } cases[] = {
                { "", -EINVAL, "empty input" },
                { "{\"a\": 1", -EINVAL, "truncated JSON" },
                { "{\"a\": 1, \"annot", -EINVAL, "truncated JSON" },
                { "{\"a\": \"unterminated", -EINVAL, "truncated JSON" },
                { "{\"a\": \"x\\", -EINVAL, "truncated JSON" },
                { "{\"a\": \"\\u12", -EINVAL, "truncated JSON" },
                { "{\"a\": fal", -EINVAL, "truncated JSON" },
                { "{\"a\": \"\\q\"}", -EINVAL, "byte offset 7" },
                { "{\"a\": 1} {}", -EINVAL, "byte offset 9" },
                { "{\"a\": tru}", -EINVAL, "byte offset 6" },
                { "{'a': 1}", -EINVAL, "single-quoted" },
                { "{\"a\": \"\xff\"}", -EILSEQ, "invalid UTF-8 at byte offset 7" },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct np_json_span root = {};
                struct json_object *obj = NULL;
                struct np_diag diag = {}, parse_diag = {};
                size_t size = strlen(cases[i].text);

                assert_int_equal(np_json_validate(cases[i].text, size, 4096, "test input", NULL, &diag, &root),
                                 cases[i].error);
                if (!strstr(diag.message, cases[i].needle) || !strstr(diag.message, "test input"))
                        fail_msg("'%s': message '%s' lacks '%s'", cases[i].text, diag.message, cases[i].needle);
                assert_true(np_json_parse(cases[i].text, size, 4096, "test input", &parse_diag, &obj) < 0);
        }
        {
                struct np_json_span root;
                struct np_diag diag = {};

                assert_int_equal(np_json_validate("{\"a\": 1}", 8, 7, "test input", NULL, &diag, &root), -EFBIG);
                assert_int_equal(np_json_validate(" {\"a\": 1}\n", 10, 4096, "test input", NULL, NULL, &root), 0);
                assert_int_equal(root.start, 1);
                assert_int_equal(root.end, 9);
        }
}

/* The getters on spans give what the json-c getters give, for each value below
 * as the field "k" of an object: the same result, value and message. */
static void test_jsontext_getters_agree_with_the_json_c_getters(void **state)
{
        static const char *const values[] = {
                "0",
                "-0",
                "7",
                "-1",
                "100",
                "101",
                "9223372036854775807",
                "-9223372036854775808",
                "9223372036854775808",
                "18446744073709551615",
                "1.5",
                "1e3",
                "-2.0",
                "\"abc\"",
                "\"abcd\"",
                "\"a\\u0000b\"",
                "\"\\u00e9\"",
                "\"\"",
                "true",
                "null",
                "[]",
                "{}",
        };

        for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
                char text[128];
                _cleanup_json_ struct json_object *obj = NULL;
                struct np_json_span root, value;
                size_t size = (size_t)snprintf(text, sizeof(text), "{\"k\": %s}", values[i]);

                assert_int_equal(np_json_parse(text, size, 4096, "doc", NULL, &obj), 0);
                assert_int_equal(np_json_validate(text, size, 4096, "doc", NULL, NULL, &root), 0);
                assert_int_equal(np_jsontext_members(text, root, (const char *const[]){ "k" }, 1, &value, NULL), 0);
                for (int getter = 0; getter < 4; getter++) {
                        struct np_diag a = {}, b = {};
                        int64_t ia = 0, ib = 0;
                        uint64_t ua = 0, ub = 0;
                        const char *sa = NULL;
                        _cleanup_free_ char *sb = NULL;
                        int ra, rb;

                        if (getter == 0) {
                                ra = np_json_get_int64(obj, "k", INT64_MIN, INT64_MAX, "doc", &a, &ia);
                                rb = np_jsontext_get_int64(text, value, "k", INT64_MIN, INT64_MAX, "doc", &b, &ib);
                        } else if (getter == 1) {
                                ra = np_json_get_int64(obj, "k", -1, 100, "doc", &a, &ia);
                                rb = np_jsontext_get_int64(text, value, "k", -1, 100, "doc", &b, &ib);
                        } else if (getter == 2) {
                                ra = np_json_get_uint64(obj, "k", "doc", &a, &ua);
                                rb = np_jsontext_get_uint64(text, value, "k", "doc", &b, &ub);
                        } else {
                                ra = np_json_get_string(obj, "k", 3, "doc", &a, &sa);
                                rb = np_jsontext_get_string(text, value, "k", 3, "doc", &b, &sb);
                        }
                        if (ra != rb || strcmp(a.message, b.message) != 0 || ia != ib || ua != ub ||
                            (ra == 0 && getter == 3 && strcmp(sa, sb) != 0))
                                fail_msg("%s, getter %d: json-c %d '%s', text %d '%s'", values[i], getter, ra,
                                         a.message, rb, b.message);
                }
        }
}

/* Where the text getters are stricter: a number json-c keeps as a double for
 * its size, or one below INT64_MIN that json-c clamps to it, is out of range,
 * and a lone surrogate is not text. */
static void test_jsontext_getters_refuse_huge_integers_and_lone_surrogates(void **state)
{
        const char *text = "{\"big\": 18446744073709551616, \"s\": \"\\ud800\", \"absent\": null, "
                           "\"low\": -9223372036854775809}";
        static const char *const keys[] = { "big", "s", "absent", "missing", "low" };
        struct np_json_span root, v[ARRAY_SIZE(keys)];
        struct np_diag diag = {};
        _cleanup_free_ char *s = NULL;
        uint64_t u;
        int64_t i;

        assert_int_equal(np_json_validate(text, strlen(text), 4096, "doc", NULL, NULL, &root), 0);
        assert_int_equal(np_jsontext_members(text, root, keys, ARRAY_SIZE(keys), v, NULL), 0);
        assert_int_equal(np_jsontext_get_uint64(text, v[0], "big", "doc", &diag, &u), -ERANGE);
        assert_non_null(strstr(diag.message, "doc: field 'big' is beyond 2^64-1"));
        assert_int_equal(np_jsontext_get_int64(text, v[0], "big", 0, 10, "doc", &diag, &i), -ERANGE);
        assert_int_equal(np_jsontext_get_string(text, v[1], "s", 10, "doc", &diag, &s), -EILSEQ);
        assert_non_null(strstr(diag.message, "field 's' is not valid UTF-8"));
        assert_int_equal(np_jsontext_get(text, v[2], "absent", json_type_string, "doc", NULL), -ENOENT);
        assert_int_equal(np_jsontext_get(text, v[3], "missing", json_type_string, "doc", NULL), -ENOENT);
        assert_int_equal(np_jsontext_get_int64(text, v[4], "low", INT64_MIN, INT64_MAX, "doc", &diag, &i), -ERANGE);
        assert_non_null(strstr(diag.message, "field 'low' is out of range"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_json_parse_accepts_valid_object),
                cmocka_unit_test(test_json_parse_accepts_valid_utf8_strings),
                cmocka_unit_test(test_json_parse_reads_only_size_bytes),
                cmocka_unit_test(test_json_parse_accepts_input_of_exactly_the_limit),
                cmocka_unit_test(test_json_parse_rejects_input_over_limit_with_efbig),
                cmocka_unit_test(test_json_parse_rejects_empty_input),
                cmocka_unit_test(test_json_parse_rejects_nul_byte_with_offset),
                cmocka_unit_test(test_json_parse_rejects_invalid_utf8_with_offset),
                cmocka_unit_test(test_json_parse_reports_truncated_json),
                cmocka_unit_test(test_json_parse_reports_syntax_error_with_byte_offset),
                cmocka_unit_test(test_json_parse_rejects_trailing_garbage_with_offset),
                cmocka_unit_test(test_json_parse_rejects_single_quoted_keys_with_offset),
                cmocka_unit_test(test_json_parse_accepts_trailing_whitespace),
                cmocka_unit_test(test_json_parse_rejects_nesting_deeper_than_64),
                cmocka_unit_test(test_json_get_returns_value_of_requested_type),
                cmocka_unit_test(test_json_get_reports_missing_as_enoent_without_touching_diag),
                cmocka_unit_test(test_json_get_reports_wrong_type_naming_field_and_both_types),
                cmocka_unit_test(test_json_get_string_returns_text),
                cmocka_unit_test(test_json_get_string_rejects_embedded_nul),
                cmocka_unit_test(test_json_get_string_rejects_value_longer_than_max),
                cmocka_unit_test(test_json_get_string_tells_missing_from_wrong_type),
                cmocka_unit_test(test_json_get_int64_accepts_bounds_inclusively),
                cmocka_unit_test(test_json_get_int64_rejects_values_outside_range),
                cmocka_unit_test(test_json_get_int64_rejects_integers_above_int64_max),
                cmocka_unit_test(test_json_get_int64_rejects_doubles_strings_and_booleans),
                cmocka_unit_test(test_json_get_uint64_accepts_zero_to_uint64_max),
                cmocka_unit_test(test_json_get_uint64_rejects_negative),
                cmocka_unit_test(test_json_get_uint64_rejects_doubles_and_strings),
                cmocka_unit_test(test_json_get_double_accepts_integers_and_fractions_within_bounds),
                cmocka_unit_test(test_json_get_double_rejects_strings_and_values_outside_range),
                cmocka_unit_test(test_json_to_string_writes_parseable_text_with_newline),
                cmocka_unit_test(test_json_validate_refuses_what_parse_refuses_with_the_offset),
                cmocka_unit_test(test_jsontext_getters_agree_with_the_json_c_getters),
                cmocka_unit_test(test_jsontext_getters_refuse_huge_integers_and_lone_surrogates),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
