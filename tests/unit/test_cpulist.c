// SPDX-License-Identifier: MIT
/* The CPU/node id set (core/cpulist.c): strict parsing of the kernel list form,
 * the shortest list form on output, a parse/format round trip over a
 * pseudo-random set, and the set operations placement relies on. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../core/cpulist.h"
#include "../../core/macro.h"

/* A set from a list of ids, ended by -1. */
static struct np_cpulist set_of(int first, ...)
{
        struct np_cpulist list;
        va_list ap;

        np_cpulist_zero(&list);
        va_start(ap, first);
        for (int id = first; id >= 0; id = va_arg(ap, int))
                np_cpulist_set(&list, (unsigned int)id);
        va_end(ap);
        return list;
}

static void assert_format(const struct np_cpulist *list, const char *expected)
{
        static char buf[NP_CPULIST_BUFSIZE];

        assert_int_equal(np_cpulist_format(list, buf, sizeof(buf)), 0);
        assert_string_equal(buf, expected);
}

/* Asserts that `s` is refused with `error`, that diag names the field, and that
 * the output set is left alone. */
static void assert_parse_fails(const char *s, unsigned int limit, int error)
{
        struct np_diag diag = {};
        struct np_cpulist list = set_of(5, -1), before = list;
        int r = np_cpulist_parse(s, limit, "test field", &diag, &list);

        if (r != error)
                fail_msg("np_cpulist_parse(\"%s\", %u) returned %d; expected %d", s, limit, r, error);
        assert_int_equal(diag.error, error);
        assert_non_null(strstr(diag.message, "test field"));
        assert_null(strchr(diag.message, '\n'));
        assert_true(np_cpulist_equal(&list, &before));
}

static void test_cpulist_parse_reads_ranges_and_single_ids(void **state)
{
        struct np_cpulist list;

        assert_int_equal(np_cpulist_parse("0-3,8,10-11", 0, "cpus", NULL, &list), 0);
        assert_int_equal(np_cpulist_count(&list), 7);
        for (unsigned int id = 0; id < 16; id++) {
                bool expected = id <= 3 || id == 8 || id == 10 || id == 11;

                if (np_cpulist_test(&list, id) != expected)
                        fail_msg("id %u: member %d, expected %d", id, np_cpulist_test(&list, id), expected);
        }
        assert_int_equal(np_cpulist_next(&list, 12), -1);
}

static void test_cpulist_parse_takes_empty_string_and_newline_as_empty_set(void **state)
{
        struct np_cpulist list = set_of(1, 2, -1);

        assert_int_equal(np_cpulist_parse("", 0, "cpus", NULL, &list), 0);
        assert_true(np_cpulist_empty(&list));
        list = set_of(1, 2, -1);
        assert_int_equal(np_cpulist_parse("\n", 0, "cpus", NULL, &list), 0);
        assert_true(np_cpulist_empty(&list));
        assert_int_equal(np_cpulist_count(&list), 0);
}

static void test_cpulist_parse_allows_one_trailing_newline_as_in_sysfs(void **state)
{
        struct np_cpulist list, expected = set_of(0, 1, 2, 3, 64, -1);

        assert_int_equal(np_cpulist_parse("0-3,64\n", 0, "cpus", NULL, &list), 0);
        assert_true(np_cpulist_equal(&list, &expected));
        assert_parse_fails("0-3\n\n", 0, -EINVAL);
        assert_parse_fails("0\n,1", 0, -EINVAL);
}

static void test_cpulist_parse_accepts_single_id_range(void **state)
{
        struct np_cpulist list, expected = set_of(4, -1);

        assert_int_equal(np_cpulist_parse("4-4", 0, "cpus", NULL, &list), 0);
        assert_true(np_cpulist_equal(&list, &expected));
}

static void test_cpulist_parse_merges_overlapping_and_unordered_elements(void **state)
{
        struct np_cpulist list, expected = set_of(0, 1, 2, 3, 4, 5, 8, -1);

        assert_int_equal(np_cpulist_parse("8,2-5,0-3,3", 0, "cpus", NULL, &list), 0);
        assert_true(np_cpulist_equal(&list, &expected));
}

static void test_cpulist_parse_rejects_descending_range(void **state)
{
        struct np_diag diag = {};
        struct np_cpulist list;

        assert_int_equal(np_cpulist_parse("3-1", 0, "test field", &diag, &list), -EINVAL);
        assert_non_null(strstr(diag.message, "test field"));
        assert_non_null(strstr(diag.message, "descending range 3-1"));
        assert_parse_fails("0,5-4", 0, -EINVAL);
}

static void test_cpulist_parse_rejects_trailing_comma(void **state)
{
        struct np_diag diag = {};
        struct np_cpulist list;

        assert_int_equal(np_cpulist_parse("0,1,", 0, "test field", &diag, &list), -EINVAL);
        assert_non_null(strstr(diag.message, "ends with a comma"));
        assert_parse_fails("0-3,\n", 0, -EINVAL);
}

static void test_cpulist_parse_rejects_empty_elements(void **state)
{
        assert_parse_fails(",", 0, -EINVAL);
        assert_parse_fails(",1", 0, -EINVAL);
        assert_parse_fails("1,,2", 0, -EINVAL);
        assert_parse_fails("-", 0, -EINVAL);
}

static void test_cpulist_parse_rejects_spaces(void **state)
{
        assert_parse_fails(" 1", 0, -EINVAL);
        assert_parse_fails("1 ", 0, -EINVAL);
        assert_parse_fails("1, 2", 0, -EINVAL);
        assert_parse_fails("1 -2", 0, -EINVAL);
        assert_parse_fails("1- 2", 0, -EINVAL);
        assert_parse_fails("\t1", 0, -EINVAL);
        assert_parse_fails(" ", 0, -EINVAL);
}

static void test_cpulist_parse_rejects_signs_hex_and_leading_zero(void **state)
{
        assert_parse_fails("+1", 0, -EINVAL);
        assert_parse_fails("0x1", 0, -EINVAL);
        assert_parse_fails("0x10-0x11", 0, -EINVAL);
        assert_parse_fails("01", 0, -EINVAL);
        assert_parse_fails("0-01", 0, -EINVAL);
        assert_parse_fails("00", 0, -EINVAL);
        assert_parse_fails("1e1", 0, -EINVAL);
}

static void test_cpulist_parse_rejects_open_ranges(void **state)
{
        assert_parse_fails("1-", 0, -EINVAL);
        assert_parse_fails("-1", 0, -EINVAL);
        assert_parse_fails("1--2", 0, -EINVAL);
        assert_parse_fails("1-2-3", 0, -EINVAL);
        assert_parse_fails("0,1-", 0, -EINVAL);
}

static void test_cpulist_parse_rejects_words_of_any_length_as_not_a_list(void **state)
{
        assert_parse_fails("a", 0, -EINVAL);
        assert_parse_fails("all", 0, -EINVAL);
        /* longer than any id: still "not a list", not "an id beyond the limit" */
        assert_parse_fails("abcdefghijkl", 0, -EINVAL);
        assert_parse_fails("1-abcdefghijkl", 0, -EINVAL);
        assert_parse_fails("0000000001", 0, -EINVAL);
}

static void test_cpulist_parse_rejects_ids_at_or_beyond_limit_with_erange(void **state)
{
        struct np_diag diag = {};
        struct np_cpulist list;

        assert_int_equal(np_cpulist_parse("0-4", 4, "config field 'reserved_cpus'", &diag, &list), -ERANGE);
        assert_int_equal(diag.error, -ERANGE);
        assert_non_null(strstr(diag.message, "config field 'reserved_cpus'"));
        assert_non_null(strstr(diag.message, "0-3"));
        assert_parse_fails("4", 4, -ERANGE);
        assert_parse_fails("1024", 1024, -ERANGE);
        assert_parse_fails("8192", 0, -ERANGE);
        assert_parse_fails("8192", NP_CPULIST_MAX, -ERANGE);
        assert_parse_fails("0-8192", 0, -ERANGE);
        assert_parse_fails("99999999999999999999999", 0, -ERANGE);
}

static void test_cpulist_parse_accepts_the_last_id_below_limit(void **state)
{
        struct np_cpulist list;

        assert_int_equal(np_cpulist_parse("3", 4, "nodes", NULL, &list), 0);
        assert_true(np_cpulist_test(&list, 3));
        assert_int_equal(np_cpulist_parse("8191", 0, "cpus", NULL, &list), 0);
        assert_true(np_cpulist_test(&list, 8191));
        assert_int_equal(np_cpulist_parse("0-8191", 0, "cpus", NULL, &list), 0);
        assert_int_equal(np_cpulist_count(&list), NP_CPULIST_MAX);
}

static void test_cpulist_parse_treats_limit_above_max_as_max(void **state)
{
        struct np_cpulist list;

        assert_int_equal(np_cpulist_parse("8191", 100000, "cpus", NULL, &list), 0);
        assert_parse_fails("8192", 100000, -ERANGE);
}

static void test_cpulist_parse_quotes_hostile_input_on_one_line(void **state)
{
        struct np_diag diag = {};
        struct np_cpulist list;

        assert_int_equal(np_cpulist_parse("1\n2\x1b[31m", 0, "cpus", &diag, &list), -EINVAL);
        assert_null(strchr(diag.message, '\n'));
        assert_null(strchr(diag.message, '\x1b'));
        assert_non_null(strstr(diag.message, "\\x0a"));
        assert_non_null(strstr(diag.message, "\\x1b"));
}

static void test_cpulist_format_writes_shortest_ranges(void **state)
{
        struct np_cpulist list = set_of(0, 1, 2, 3, 8, 10, 11, -1);

        assert_format(&list, "0-3,8,10-11");
        list = set_of(0, 2, 4, -1);
        assert_format(&list, "0,2,4");
        list = set_of(5, 6, -1);
        assert_format(&list, "5-6");
        list = set_of(63, 64, 127, 128, 8191, -1);
        assert_format(&list, "63-64,127-128,8191");
}

static void test_cpulist_format_writes_empty_string_for_empty_set(void **state)
{
        struct np_cpulist list;
        char buf[8] = "garbage";

        np_cpulist_zero(&list);
        assert_int_equal(np_cpulist_format(&list, buf, sizeof(buf)), 0);
        assert_string_equal(buf, "");
}

static void test_cpulist_format_writes_full_set_as_one_range(void **state)
{
        struct np_cpulist list;

        np_cpulist_zero(&list);
        for (unsigned int id = 0; id < NP_CPULIST_MAX; id++)
                np_cpulist_set(&list, id);
        assert_format(&list, "0-8191");
}

static void test_cpulist_format_fits_worst_case_in_bufsize(void **state)
{
        static char buf[NP_CPULIST_BUFSIZE];
        struct np_cpulist list, parsed;

        np_cpulist_zero(&list);
        for (unsigned int id = 0; id < NP_CPULIST_MAX; id += 2)
                np_cpulist_set(&list, id);
        assert_int_equal(np_cpulist_format(&list, buf, sizeof(buf)), 0);
        assert_memory_equal(buf, "0,2,4,6,8,10,", 13);
        assert_non_null(strstr(buf, ",8188,8190"));
        assert_int_equal(np_cpulist_parse(buf, 0, "cpus", NULL, &parsed), 0);
        assert_true(np_cpulist_equal(&parsed, &list));
}

static void test_cpulist_format_into_too_small_buffer_returns_enobufs(void **state)
{
        struct np_cpulist list = set_of(0, 1, 2, 3, 8, 10, 11, -1);
        char buf[32];

        /* "0-3,8,10-11" is 11 bytes: 12 with its NUL fit, 11 do not */
        assert_int_equal(np_cpulist_format(&list, buf, 12), 0);
        assert_string_equal(buf, "0-3,8,10-11");
        memset(buf, 'x', sizeof(buf));
        assert_int_equal(np_cpulist_format(&list, buf, 11), -ENOBUFS);
        assert_string_equal(buf, "");
        assert_int_equal(np_cpulist_format(&list, buf, 4), -ENOBUFS);
        assert_string_equal(buf, "");
        assert_int_equal(np_cpulist_format(&list, buf, 1), -ENOBUFS);
        assert_int_equal(np_cpulist_format(&list, buf, 0), -ENOBUFS);
        /* at every size too small: refused, and nothing written past the size */
        for (size_t size = 1; size < 12; size++) {
                memset(buf, 'x', sizeof(buf));
                assert_int_equal(np_cpulist_format(&list, buf, size), -ENOBUFS);
                assert_string_equal(buf, "");
                for (size_t i = size; i < sizeof(buf); i++)
                        assert_int_equal(buf[i], 'x');
        }
}

/* A record or a cgroup file gets the whole list, however long, at its own size. */
static void test_cpulist_format_alloc_writes_whole_list_at_its_size(void **state)
{
        static char expected[NP_CPULIST_BUFSIZE];
        _cleanup_free_ char *shortest = NULL, *worst = NULL, *empty = NULL;
        struct np_cpulist list = set_of(0, 1, 2, 3, 8, 10, 11, -1), none = {};

        assert_int_equal(np_cpulist_format_alloc(&list, &shortest), 0);
        assert_string_equal(shortest, "0-3,8,10-11");
        assert_int_equal(np_cpulist_format_alloc(&none, &empty), 0);
        assert_string_equal(empty, "");
        /* past the first guess on the stack: every other id of 8192, some 19 KiB */
        np_cpulist_zero(&list);
        for (unsigned int id = 0; id < NP_CPULIST_MAX; id += 2)
                np_cpulist_set(&list, id);
        assert_int_equal(np_cpulist_format(&list, expected, sizeof(expected)), 0);
        assert_int_equal(np_cpulist_format_alloc(&list, &worst), 0);
        assert_string_equal(worst, expected);
}

/* A message gets what fits, cut after a whole range and marked as cut. */
static void test_cpulist_brief_cuts_after_a_whole_range_and_marks_it(void **state)
{
        struct np_cpulist list = set_of(0, 1, 2, 3, 8, 10, 11, -1);
        char buf[NP_CPULIST_BRIEF];

        assert_string_equal(np_cpulist_brief(&list, buf, sizeof(buf)), "0-3,8,10-11");
        /* 11 bytes and the NUL: the whole list, no mark */
        assert_string_equal(np_cpulist_brief(&list, buf, 12), "0-3,8,10-11");
        /* one byte less: "0-3,8" and the mark, never half a range */
        assert_string_equal(np_cpulist_brief(&list, buf, 11), "0-3,8,...");
        assert_string_equal(np_cpulist_brief(&list, buf, 10), "0-3,8,...");
        assert_string_equal(np_cpulist_brief(&list, buf, 9), "0-3,...");
        assert_string_equal(np_cpulist_brief(&list, buf, 8), "0-3,...");
        assert_string_equal(np_cpulist_brief(&list, buf, 7), "...");
        assert_string_equal(np_cpulist_brief(&list, buf, 4), "");
        /* at every size: a string shorter than it, nothing written past it */
        for (size_t size = 1; size < sizeof(buf) && size < 16; size++) {
                char out[32];

                memset(out, 'x', sizeof(out));
                np_cpulist_brief(&list, out, size);
                assert_true(strlen(out) < size);
                for (size_t i = size; i < sizeof(out); i++)
                        assert_int_equal(out[i], 'x');
        }
        /* the worst list of 8192 CPUs fits a message's room cut */
        np_cpulist_zero(&list);
        for (unsigned int id = 0; id < NP_CPULIST_MAX; id += 2)
                np_cpulist_set(&list, id);
        np_cpulist_brief(&list, buf, sizeof(buf));
        assert_true(strlen(buf) < sizeof(buf));
        assert_memory_equal(buf, "0,2,4,6,8,10,", 13);
        assert_string_equal(buf + strlen(buf) - 4, ",...");
}

/* xorshift32: the same pseudo-random ids on every run. */
static uint32_t next_random(uint32_t *seed)
{
        *seed ^= *seed << 13;
        *seed ^= *seed >> 17;
        *seed ^= *seed << 5;
        return *seed;
}

/* The list form the slow way, an id at a time: what np_cpulist_format must write. */
static void reference_format(const struct np_cpulist *list, char *buf, size_t size)
{
        size_t used = 0;

        buf[0] = '\0';
        for (unsigned int id = 0; id < NP_CPULIST_MAX; id++) {
                unsigned int last = id;

                if (!np_cpulist_test(list, id))
                        continue;
                while (last + 1 < NP_CPULIST_MAX && np_cpulist_test(list, last + 1))
                        last++;
                if (last == id)
                        used += (size_t)snprintf(buf + used, size - used, "%s%u", used ? "," : "", id);
                else
                        used += (size_t)snprintf(buf + used, size - used, "%s%u-%u", used ? "," : "", id, last);
                id = last;
        }
}

static void test_cpulist_round_trips_pseudo_random_sets(void **state)
{
        static char text[NP_CPULIST_BUFSIZE], again[NP_CPULIST_BUFSIZE], expected[NP_CPULIST_BUFSIZE];
        uint32_t seed = 0x2545f491;

        /* from sparse to dense, so both single ids and long ranges occur */
        for (unsigned int density = 1; density <= 64; density *= 2) {
                struct np_cpulist list, parsed;

                np_cpulist_zero(&list);
                for (unsigned int id = 0; id < NP_CPULIST_MAX; id++)
                        if (next_random(&seed) % 128 < density)
                                np_cpulist_set(&list, id);
                np_cpulist_set(&list, NP_CPULIST_MAX - 1); /* the highest id */
                assert_true(np_cpulist_count(&list) > density * 32);
                assert_int_equal(np_cpulist_format(&list, text, sizeof(text)), 0);
                reference_format(&list, expected, sizeof(expected));
                assert_string_equal(text, expected);
                assert_int_equal(np_cpulist_parse(text, 0, "cpus", NULL, &parsed), 0);
                assert_true(np_cpulist_equal(&parsed, &list));
                assert_int_equal(np_cpulist_count(&parsed), np_cpulist_count(&list));
                assert_int_equal(np_cpulist_format(&parsed, again, sizeof(again)), 0);
                assert_string_equal(again, text);
        }
}

static void test_cpulist_set_clear_and_test_ignore_ids_beyond_max(void **state)
{
        struct np_cpulist list, empty;

        np_cpulist_zero(&list);
        np_cpulist_zero(&empty);
        np_cpulist_set(&list, NP_CPULIST_MAX);
        np_cpulist_set(&list, UINT32_MAX);
        assert_true(np_cpulist_equal(&list, &empty));
        assert_false(np_cpulist_test(&list, NP_CPULIST_MAX));
        np_cpulist_set(&list, 70);
        np_cpulist_clear(&list, NP_CPULIST_MAX);
        assert_true(np_cpulist_test(&list, 70));
        np_cpulist_clear(&list, 70);
        assert_true(np_cpulist_empty(&list));
}

static void test_cpulist_count_and_empty_follow_members(void **state)
{
        struct np_cpulist list;

        np_cpulist_zero(&list);
        assert_true(np_cpulist_empty(&list));
        assert_int_equal(np_cpulist_count(&list), 0);
        np_cpulist_set(&list, 8191);
        np_cpulist_set(&list, 0);
        np_cpulist_set(&list, 0);
        assert_false(np_cpulist_empty(&list));
        assert_int_equal(np_cpulist_count(&list), 2);
}

static void test_cpulist_and_keeps_common_ids(void **state)
{
        struct np_cpulist dst = set_of(0, 1, 2, 64, 100, -1), src = set_of(1, 2, 3, 100, 8191, -1);
        struct np_cpulist expected = set_of(1, 2, 100, -1);

        np_cpulist_and(&dst, &src);
        assert_true(np_cpulist_equal(&dst, &expected));
        assert_format(&src, "1-3,100,8191"); /* src untouched */
}

static void test_cpulist_or_joins_ids(void **state)
{
        struct np_cpulist dst = set_of(0, 64, -1), src = set_of(1, 64, 8191, -1);
        struct np_cpulist expected = set_of(0, 1, 64, 8191, -1);

        np_cpulist_or(&dst, &src);
        assert_true(np_cpulist_equal(&dst, &expected));
}

static void test_cpulist_andnot_removes_ids(void **state)
{
        struct np_cpulist dst = set_of(0, 1, 2, 3, 4000, -1), src = set_of(1, 3, 5, 4000, -1);
        struct np_cpulist expected = set_of(0, 2, -1);

        np_cpulist_andnot(&dst, &src);
        assert_true(np_cpulist_equal(&dst, &expected));
}

static void test_cpulist_is_subset_compares_every_word(void **state)
{
        struct np_cpulist super = set_of(0, 1, 2, 3, 8000, -1), sub = set_of(1, 8000, -1);
        struct np_cpulist outside = set_of(1, 8001, -1), empty;

        np_cpulist_zero(&empty);
        assert_true(np_cpulist_is_subset(&sub, &super));
        assert_true(np_cpulist_is_subset(&super, &super));
        assert_true(np_cpulist_is_subset(&empty, &super));
        assert_true(np_cpulist_is_subset(&empty, &empty));
        assert_false(np_cpulist_is_subset(&outside, &super));
        assert_false(np_cpulist_is_subset(&super, &sub));
}

static void test_cpulist_intersects_finds_shared_ids_only(void **state)
{
        struct np_cpulist a = set_of(0, 8191, -1), b = set_of(1, 8191, -1), c = set_of(1, 2, -1), empty;

        np_cpulist_zero(&empty);
        assert_true(np_cpulist_intersects(&a, &b));
        assert_false(np_cpulist_intersects(&a, &c));
        assert_false(np_cpulist_intersects(&a, &empty));
        assert_false(np_cpulist_intersects(&empty, &empty));
}

static void test_cpulist_equal_compares_membership(void **state)
{
        struct np_cpulist a = set_of(3, 4096, -1), b = set_of(4096, 3, -1), c = set_of(3, 4097, -1);

        assert_true(np_cpulist_equal(&a, &b));
        assert_false(np_cpulist_equal(&a, &c));
}

static void test_cpulist_next_finds_lowest_id_from_start(void **state)
{
        struct np_cpulist list = set_of(5, 63, 64, 8191, -1), empty;

        np_cpulist_zero(&empty);
        assert_int_equal(np_cpulist_next(&list, 0), 5);
        assert_int_equal(np_cpulist_next(&list, 5), 5);
        assert_int_equal(np_cpulist_next(&list, 6), 63);
        assert_int_equal(np_cpulist_next(&list, 64), 64);
        assert_int_equal(np_cpulist_next(&list, 65), 8191);
        assert_int_equal(np_cpulist_next(&list, 8191), 8191);
        assert_int_equal(np_cpulist_next(&list, 8192), -1);
        assert_int_equal(np_cpulist_next(&list, UINT32_MAX), -1);
        assert_int_equal(np_cpulist_next(&empty, 0), -1);
}

static void test_cpulist_foreach_visits_ids_in_ascending_order(void **state)
{
        static const int expected[] = { 0, 1, 63, 64, 65, 127, 128, 4095, 8190, 8191 };
        struct np_cpulist list;
        size_t n = 0;

        np_cpulist_zero(&list);
        for (size_t i = sizeof(expected) / sizeof(expected[0]); i > 0; i--)
                np_cpulist_set(&list, (unsigned int)expected[i - 1]);
        NP_CPULIST_FOREACH(id, &list) {
                assert_true(n < sizeof(expected) / sizeof(expected[0]));
                assert_int_equal(id, expected[n]);
                n++;
        }
        assert_int_equal(n, sizeof(expected) / sizeof(expected[0]));
}

/* A list's nonzero words (what a ledger record keeps) hold the same ids: counted,
 * visited from any start and or-ed back into a list as the list itself. */
static void test_cpulist_words_hold_the_same_ids_as_the_list(void **state)
{
        struct np_cpulist lists[] = { set_of(-1), set_of(0, -1), set_of(8191, -1), set_of(5, 63, 64, 8191, -1),
                                      set_of(130, 131, 200, -1) };

        for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
                struct np_cpuwords w = np_cpulist_words(&lists[l]);
                struct np_cpulist back;
                int visited = 0;

                assert_int_equal(np_cpuwords_count(w), np_cpulist_count(&lists[l]));
                assert_true(w.n == 0 || (w.words[0] && w.words[w.n - 1]));
                for (unsigned int from = 0; from <= NP_CPULIST_MAX + 64; from++)
                        assert_int_equal(np_cpuwords_next(w, from), np_cpulist_next(&lists[l], from));
                assert_int_equal(np_cpuwords_next(w, UINT32_MAX), -1);
                NP_CPUWORDS_FOREACH(id, w) {
                        assert_true(np_cpulist_test(&lists[l], (unsigned int)id));
                        visited++;
                }
                assert_int_equal(visited, np_cpulist_count(&lists[l]));
                np_cpulist_zero(&back);
                np_cpulist_or_words(&back, w);
                assert_true(np_cpulist_equal(&back, &lists[l]));
        }
}

static void test_cpulist_foreach_over_empty_set_visits_nothing(void **state)
{
        struct np_cpulist list;
        int visits = 0;

        np_cpulist_zero(&list);
        NP_CPULIST_FOREACH(id, &list) {
                (void)id;
                visits++;
        }
        assert_int_equal(visits, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cpulist_parse_reads_ranges_and_single_ids),
                cmocka_unit_test(test_cpulist_parse_takes_empty_string_and_newline_as_empty_set),
                cmocka_unit_test(test_cpulist_parse_allows_one_trailing_newline_as_in_sysfs),
                cmocka_unit_test(test_cpulist_parse_accepts_single_id_range),
                cmocka_unit_test(test_cpulist_parse_merges_overlapping_and_unordered_elements),
                cmocka_unit_test(test_cpulist_parse_rejects_descending_range),
                cmocka_unit_test(test_cpulist_parse_rejects_trailing_comma),
                cmocka_unit_test(test_cpulist_parse_rejects_empty_elements),
                cmocka_unit_test(test_cpulist_parse_rejects_spaces),
                cmocka_unit_test(test_cpulist_parse_rejects_signs_hex_and_leading_zero),
                cmocka_unit_test(test_cpulist_parse_rejects_open_ranges),
                cmocka_unit_test(test_cpulist_parse_rejects_words_of_any_length_as_not_a_list),
                cmocka_unit_test(test_cpulist_parse_rejects_ids_at_or_beyond_limit_with_erange),
                cmocka_unit_test(test_cpulist_parse_accepts_the_last_id_below_limit),
                cmocka_unit_test(test_cpulist_parse_treats_limit_above_max_as_max),
                cmocka_unit_test(test_cpulist_parse_quotes_hostile_input_on_one_line),
                cmocka_unit_test(test_cpulist_format_writes_shortest_ranges),
                cmocka_unit_test(test_cpulist_format_writes_empty_string_for_empty_set),
                cmocka_unit_test(test_cpulist_format_writes_full_set_as_one_range),
                cmocka_unit_test(test_cpulist_format_fits_worst_case_in_bufsize),
                cmocka_unit_test(test_cpulist_format_into_too_small_buffer_returns_enobufs),
                cmocka_unit_test(test_cpulist_format_alloc_writes_whole_list_at_its_size),
                cmocka_unit_test(test_cpulist_brief_cuts_after_a_whole_range_and_marks_it),
                cmocka_unit_test(test_cpulist_round_trips_pseudo_random_sets),
                cmocka_unit_test(test_cpulist_set_clear_and_test_ignore_ids_beyond_max),
                cmocka_unit_test(test_cpulist_count_and_empty_follow_members),
                cmocka_unit_test(test_cpulist_and_keeps_common_ids),
                cmocka_unit_test(test_cpulist_or_joins_ids),
                cmocka_unit_test(test_cpulist_andnot_removes_ids),
                cmocka_unit_test(test_cpulist_is_subset_compares_every_word),
                cmocka_unit_test(test_cpulist_intersects_finds_shared_ids_only),
                cmocka_unit_test(test_cpulist_equal_compares_membership),
                cmocka_unit_test(test_cpulist_next_finds_lowest_id_from_start),
                cmocka_unit_test(test_cpulist_foreach_visits_ids_in_ascending_order),
                cmocka_unit_test(test_cpulist_foreach_over_empty_set_visits_nothing),
                cmocka_unit_test(test_cpulist_words_hold_the_same_ids_as_the_list),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
