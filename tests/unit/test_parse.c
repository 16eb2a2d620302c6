// SPDX-License-Identifier: MIT
/* Checked decimal parsing (core/parse.c): bounds, overflow past 2^64, and the
 * strings strtoull would take but numapin refuses (signs, spaces, hex, leading
 * zeros, empty); the sysfs variant's single trailing newline. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../core/parse.h"

static void test_parse_u64_accepts_zero_and_plain_decimal(void **state)
{
        uint64_t value = 99;

        assert_int_equal(np_parse_u64("0", 0, UINT64_MAX, &value), 0);
        assert_int_equal(value, 0);
        assert_int_equal(np_parse_u64("1234567890", 0, UINT64_MAX, &value), 0);
        assert_int_equal(value, 1234567890);
}

static void test_parse_u64_accepts_uint64_max(void **state)
{
        uint64_t value = 0;

        assert_int_equal(np_parse_u64("18446744073709551615", 0, UINT64_MAX, &value), 0);
        assert_true(value == UINT64_MAX);
}

static void test_parse_u64_rejects_2_to_the_64_as_out_of_range(void **state)
{
        uint64_t value = 7;

        assert_int_equal(np_parse_u64("18446744073709551616", 0, UINT64_MAX, &value), -ERANGE);
        assert_int_equal(np_parse_u64("99999999999999999999", 0, UINT64_MAX, &value), -ERANGE);
        assert_int_equal(np_parse_u64("184467440737095516150", 0, UINT64_MAX, &value), -ERANGE);
        assert_int_equal(value, 7); /* untouched on failure */
}

static void test_parse_u64_applies_min_and_max_inclusively(void **state)
{
        uint64_t value = 0;

        assert_int_equal(np_parse_u64("5", 5, 10, &value), 0);
        assert_int_equal(value, 5);
        assert_int_equal(np_parse_u64("10", 5, 10, &value), 0);
        assert_int_equal(value, 10);
        assert_int_equal(np_parse_u64("4", 5, 10, &value), -ERANGE);
        assert_int_equal(np_parse_u64("11", 5, 10, &value), -ERANGE);
        assert_int_equal(value, 10);
}

static void test_parse_u64_rejects_leading_zeros(void **state)
{
        uint64_t value = 7;

        assert_int_equal(np_parse_u64("01", 0, UINT64_MAX, &value), -EINVAL);
        assert_int_equal(np_parse_u64("00", 0, UINT64_MAX, &value), -EINVAL);
        assert_int_equal(np_parse_u64("0000000000000000000000001", 0, UINT64_MAX, &value), -EINVAL);
        assert_int_equal(value, 7);
}

static void test_parse_u64_rejects_empty_and_null(void **state)
{
        uint64_t value = 7;

        assert_int_equal(np_parse_u64("", 0, UINT64_MAX, &value), -EINVAL);
        assert_int_equal(np_parse_u64(NULL, 0, UINT64_MAX, &value), -EINVAL);
        assert_int_equal(value, 7);
}

static void test_parse_u64_rejects_what_strtoull_accepts(void **state)
{
        static const char *const refused[] = {
                "-1", "+1", " 1", "1 ", "0x10", "1e3", "1.0", "1\n", "\t1", "1,000", "١", "12a", "a12", "-0",
        };
        uint64_t value = 7;

        for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
                int r = np_parse_u64(refused[i], 0, UINT64_MAX, &value);

                if (r != -EINVAL)
                        fail_msg("np_parse_u64(\"%s\") returned %d; expected -EINVAL", refused[i], r);
        }
        assert_int_equal(value, 7);
}

static void test_parse_u64_rejects_long_non_digit_strings_as_invalid(void **state)
{
        uint64_t value = 7;

        /* not numbers at all, however long: -EINVAL, never -ERANGE */
        assert_int_equal(np_parse_u64("abcdefghijklmnopqrstuvwxyz", 0, UINT64_MAX, &value), -EINVAL);
        assert_int_equal(np_parse_u64("999999999999999999999x", 0, UINT64_MAX, &value), -EINVAL);
        assert_int_equal(np_parse_u64("-99999999999999999999999", 0, UINT64_MAX, &value), -EINVAL);
        assert_int_equal(value, 7);
}

static void test_parse_u32_accepts_uint32_max(void **state)
{
        uint32_t value = 0;

        assert_int_equal(np_parse_u32("4294967295", 0, UINT32_MAX, &value), 0);
        assert_true(value == UINT32_MAX);
}

static void test_parse_u32_rejects_beyond_uint32_max(void **state)
{
        uint32_t value = 7;

        assert_int_equal(np_parse_u32("4294967296", 0, UINT32_MAX, &value), -ERANGE);
        assert_int_equal(np_parse_u32("18446744073709551615", 0, UINT32_MAX, &value), -ERANGE);
        assert_int_equal(np_parse_u32("18446744073709551616", 0, UINT32_MAX, &value), -ERANGE);
        assert_int_equal(value, 7);
}

static void test_parse_u32_applies_min_and_max_inclusively(void **state)
{
        uint32_t value = 0;

        assert_int_equal(np_parse_u32("1", 1, 1024, &value), 0);
        assert_int_equal(value, 1);
        assert_int_equal(np_parse_u32("1024", 1, 1024, &value), 0);
        assert_int_equal(value, 1024);
        assert_int_equal(np_parse_u32("0", 1, 1024, &value), -ERANGE);
        assert_int_equal(np_parse_u32("1025", 1, 1024, &value), -ERANGE);
        assert_int_equal(value, 1024);
}

static void test_parse_u32_rejects_sign_space_and_leading_zero(void **state)
{
        uint32_t value = 7;

        assert_int_equal(np_parse_u32("-1", 0, UINT32_MAX, &value), -EINVAL);
        assert_int_equal(np_parse_u32("+1", 0, UINT32_MAX, &value), -EINVAL);
        assert_int_equal(np_parse_u32(" 1", 0, UINT32_MAX, &value), -EINVAL);
        assert_int_equal(np_parse_u32("007", 0, UINT32_MAX, &value), -EINVAL);
        assert_int_equal(np_parse_u32("", 0, UINT32_MAX, &value), -EINVAL);
        assert_int_equal(value, 7);
}

static void test_parse_sysfs_u64_allows_one_trailing_newline(void **state)
{
        uint64_t value = 0;

        assert_int_equal(np_parse_sysfs_u64("42\n", UINT64_MAX, &value), 0);
        assert_int_equal(value, 42);
        assert_int_equal(np_parse_sysfs_u64("43", UINT64_MAX, &value), 0);
        assert_int_equal(value, 43);
        assert_int_equal(np_parse_sysfs_u64("0\n", UINT64_MAX, &value), 0);
        assert_int_equal(value, 0);
}

static void test_parse_sysfs_u64_rejects_two_newlines_and_inner_newline(void **state)
{
        uint64_t value = 7;

        assert_int_equal(np_parse_sysfs_u64("42\n\n", UINT64_MAX, &value), -EINVAL);
        assert_int_equal(np_parse_sysfs_u64("4\n2", UINT64_MAX, &value), -EINVAL);
        assert_int_equal(np_parse_sysfs_u64("\n42", UINT64_MAX, &value), -EINVAL);
        assert_int_equal(np_parse_sysfs_u64("42\r\n", UINT64_MAX, &value), -EINVAL);
        assert_int_equal(np_parse_sysfs_u64("42 \n", UINT64_MAX, &value), -EINVAL);
        assert_int_equal(value, 7);
}

static void test_parse_sysfs_u64_rejects_empty_and_lone_newline(void **state)
{
        uint64_t value = 7;

        assert_int_equal(np_parse_sysfs_u64("", UINT64_MAX, &value), -EINVAL);
        assert_int_equal(np_parse_sysfs_u64("\n", UINT64_MAX, &value), -EINVAL);
        assert_int_equal(value, 7);
}

static void test_parse_sysfs_u64_applies_max_and_overflow(void **state)
{
        uint64_t value = 7;

        assert_int_equal(np_parse_sysfs_u64("4294967295\n", UINT32_MAX, &value), 0);
        assert_true(value == UINT32_MAX);
        assert_int_equal(np_parse_sysfs_u64("4294967296\n", UINT32_MAX, &value), -ERANGE);
        assert_int_equal(np_parse_sysfs_u64("18446744073709551616\n", UINT64_MAX, &value), -ERANGE);
        assert_int_equal(np_parse_sysfs_u64("-1\n", UINT64_MAX, &value), -EINVAL);
        assert_int_equal(np_parse_sysfs_u64("01\n", UINT64_MAX, &value), -EINVAL);
        assert_true(value == UINT32_MAX);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_u64_accepts_zero_and_plain_decimal),
                cmocka_unit_test(test_parse_u64_accepts_uint64_max),
                cmocka_unit_test(test_parse_u64_rejects_2_to_the_64_as_out_of_range),
                cmocka_unit_test(test_parse_u64_applies_min_and_max_inclusively),
                cmocka_unit_test(test_parse_u64_rejects_leading_zeros),
                cmocka_unit_test(test_parse_u64_rejects_empty_and_null),
                cmocka_unit_test(test_parse_u64_rejects_what_strtoull_accepts),
                cmocka_unit_test(test_parse_u64_rejects_long_non_digit_strings_as_invalid),
                cmocka_unit_test(test_parse_u32_accepts_uint32_max),
                cmocka_unit_test(test_parse_u32_rejects_beyond_uint32_max),
                cmocka_unit_test(test_parse_u32_applies_min_and_max_inclusively),
                cmocka_unit_test(test_parse_u32_rejects_sign_space_and_leading_zero),
                cmocka_unit_test(test_parse_sysfs_u64_allows_one_trailing_newline),
                cmocka_unit_test(test_parse_sysfs_u64_rejects_two_newlines_and_inner_newline),
                cmocka_unit_test(test_parse_sysfs_u64_rejects_empty_and_lone_newline),
                cmocka_unit_test(test_parse_sysfs_u64_applies_max_and_overflow),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
