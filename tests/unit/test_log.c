// SPDX-License-Identifier: MIT
/* Logging and diagnostics (core/log.c): np_log_quote's escaping and cutting,
 * np_diag_fail's one-line messages, the UTF-8 validator's offsets, log levels,
 * and np_log's stderr line. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../core/log.h"

/* True when s is valid UTF-8 holding no control byte: safe on a terminal line. */
static bool printable_utf8(const char *s)
{
        size_t len = strlen(s);

        if (!np_utf8_valid(s, len))
                return false;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

static void test_log_quote_keeps_plain_text(void **state)
{
        char buf[128];

        assert_ptr_equal(np_log_quote(buf, sizeof(buf), "policy.numapin.io/pod"), buf);
        assert_string_equal(buf, "policy.numapin.io/pod");
        np_log_quote(buf, sizeof(buf), "");
        assert_string_equal(buf, "");
}

static void test_log_quote_escapes_control_bytes_as_hex(void **state)
{
        char buf[128];

        np_log_quote(buf, sizeof(buf), "a\nb\tc\rd\x1b[31m\x7f\x01");
        assert_string_equal(buf, "a\\x0ab\\x09c\\x0dd\\x1b[31m\\x7f\\x01");
}

static void test_log_quote_escapes_invalid_utf8_as_hex(void **state)
{
        char buf[128];

        np_log_quote(buf, sizeof(buf), "x\xff\xfey");
        assert_string_equal(buf, "x\\xff\\xfey");
        np_log_quote(buf, sizeof(buf), "\xc0\xaf"); /* overlong '/' */
        assert_string_equal(buf, "\\xc0\\xaf");
        np_log_quote(buf, sizeof(buf), "\xed\xa0\x80"); /* surrogate U+D800 */
        assert_string_equal(buf, "\\xed\\xa0\\x80");
        np_log_quote(buf, sizeof(buf), "ab\xe2\x82"); /* truncated euro sign */
        assert_string_equal(buf, "ab\\xe2\\x82");
}

static void test_log_quote_keeps_valid_utf8(void **state)
{
        char buf[128];

        np_log_quote(buf, sizeof(buf), "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
        assert_string_equal(buf, "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
}

static void test_log_quote_writes_null_as_placeholder(void **state)
{
        char buf[16];

        np_log_quote(buf, sizeof(buf), NULL);
        assert_string_equal(buf, "(null)");
}

static void test_log_quote_cuts_long_values_with_ellipsis(void **state)
{
        char value[301], buf[128];
        size_t len;

        memset(value, 'a', sizeof(value) - 1);
        value[sizeof(value) - 1] = '\0';
        np_log_quote(buf, sizeof(buf), value);
        len = strlen(buf);
        assert_true(len < sizeof(buf));
        assert_true(len > 3);
        assert_string_equal(buf + len - 3, "...");
        assert_int_equal(strspn(buf, "a"), len - 3);
}

static void test_log_quote_cuts_when_escapes_overflow_the_buffer(void **state)
{
        char value[64], buf[32];
        size_t len;

        memset(value, '\x01', sizeof(value) - 1);
        value[sizeof(value) - 1] = '\0';
        np_log_quote(buf, sizeof(buf), value);
        len = strlen(buf);
        assert_true(len < sizeof(buf));
        assert_string_equal(buf + len - 3, "...");
        /* only whole escapes before the cut */
        assert_int_equal((len - 3) % 4, 0);
        for (size_t i = 0; i + 3 < len; i += 4)
                assert_memory_equal(buf + i, "\\x01", 4);
}

static void test_log_quote_fits_any_buffer_size(void **state)
{
        char buf[8];

        memset(buf, 'z', sizeof(buf));
        np_log_quote(buf, 1, "abc");
        assert_string_equal(buf, "");
        np_log_quote(buf, 4, "abcdef");
        assert_string_equal(buf, "abc");
        assert_int_equal(buf[4], 'z');
        np_log_quote(buf, 8, "abcdefghij");
        assert_string_equal(buf, "abcd...");
}

/* Wherever the cut falls, the quote is whole: valid UTF-8, no control byte, no
 * escape or multi-byte character cut in half before the "...". */
static void test_log_quote_never_cuts_inside_a_character_or_escape(void **state)
{
        static const char *const pieces[] = { "a", "\x01", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xff" };
        char value[97], buf[128];

        for (unsigned int pattern = 0; pattern < 6 * 6 * 6; pattern++) {
                size_t used = 0;

                /* a repeating mix of three kinds of piece, up to 96 bytes */
                for (unsigned int k = 0; used + 4 < sizeof(value) - 1; k++) {
                        unsigned int digit = k % 3 == 0 ? pattern % 6 : k % 3 == 1 ? pattern / 6 % 6 : pattern / 36;
                        const char *piece = pieces[digit];

                        memcpy(value + used, piece, strlen(piece));
                        used += strlen(piece);
                }
                value[used] = '\0';
                for (size_t size = 1; size <= sizeof(buf); size++) {
                        np_log_quote(buf, size, value);
                        if (strlen(buf) >= size || !printable_utf8(buf))
                                fail_msg("pattern %u, size %zu: quote '%s' is not whole", pattern, size, buf);
                        if (size >= 5 && strlen(buf) >= 3 && strcmp(buf + strlen(buf) - 3, "...") == 0) {
                                size_t kept = strlen(buf) - 3;

                                /* an escape is never split: no "\x" or "\xN" right before the cut */
                                if ((kept >= 2 && buf[kept - 2] == '\\' && buf[kept - 1] == 'x') ||
                                    (kept >= 3 && buf[kept - 3] == '\\' && buf[kept - 2] == 'x') ||
                                    (kept >= 1 && buf[kept - 1] == '\\'))
                                        fail_msg("pattern %u, size %zu: escape cut in '%s'", pattern, size, buf);
                        }
                }
        }
}

static void test_diag_fail_records_error_and_returns_it(void **state)
{
        struct np_diag diag = {};

        assert_int_equal(np_diag_fail(&diag, -EINVAL, "field '%s' is %d", "x", 42), -EINVAL);
        assert_int_equal(diag.error, -EINVAL);
        assert_string_equal(diag.message, "field 'x' is 42");
}

static void test_diag_fail_accepts_null_diag(void **state)
{
        assert_int_equal(np_diag_fail(NULL, -ERANGE, "out of range"), -ERANGE);
}

static void test_diag_fail_keeps_message_on_one_line(void **state)
{
        struct np_diag diag = {};

        assert_int_equal(np_diag_fail(&diag, -EINVAL, "value '%s'", "a\nb\r\nc"), -EINVAL);
        assert_null(strchr(diag.message, '\n'));
        assert_null(strchr(diag.message, '\r'));
        assert_string_equal(diag.message, "value 'a\\x0ab\\x0d\\x0ac'");
}

static void test_diag_fail_escapes_invalid_utf8_and_escape_sequences(void **state)
{
        struct np_diag diag = {};

        np_diag_fail(&diag, -EILSEQ, "bad '%s'", "\xff\x1b]0;title\x07");
        assert_string_equal(diag.message, "bad '\\xff\\x1b]0;title\\x07'");
        assert_true(printable_utf8(diag.message));
}

static void test_diag_fail_cuts_overlong_message_within_buffer(void **state)
{
        static char huge[10000];
        struct np_diag diag = {};
        size_t len;

        memset(huge, '\n', sizeof(huge) - 1);
        np_diag_fail(&diag, -EINVAL, "%s", huge);
        len = strlen(diag.message);
        assert_true(len < sizeof(diag.message));
        assert_string_equal(diag.message + len - 3, "...");
        assert_true(printable_utf8(diag.message));
}

static void test_utf8_find_invalid_returns_len_for_valid_text(void **state)
{
        static const char text[] = "ascii \xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf "
                                   "\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf \x7f";

        assert_int_equal(np_utf8_find_invalid(text, sizeof(text) - 1), sizeof(text) - 1);
        assert_true(np_utf8_valid(text, sizeof(text) - 1));
        assert_int_equal(np_utf8_find_invalid("", 0), 0);
}

/* The scan takes ASCII eight bytes at a time: a NUL, a stray continuation byte
 * or a cut sequence is found at every offset of a word, and the ASCII bytes at
 * the edges of "but NUL" (0x01, 0x7f) never stop it. */
static void test_utf8_find_invalid_finds_a_bad_byte_at_every_offset_of_a_word(void **state)
{
        char text[41];

        for (size_t k = 0; k < 40; k++) {
                for (size_t i = 0; i < 40; i++)
                        text[i] = (char)(i % 3 == 0 ? 0x01 : i % 3 == 1 ? 0x7f : 'a');
                assert_int_equal(np_utf8_find_invalid(text, 40), 40);
                text[k] = '\0';
                assert_int_equal(np_utf8_find_invalid(text, 40), k);
                text[k] = (char)0x80;
                assert_int_equal(np_utf8_find_invalid(text, 40), k);
                text[k] = (char)0xc3;
                text[k + 1] = (char)0xa9; /* é, whole */
                assert_int_equal(np_utf8_find_invalid(text, k + 2), k + 2);
                assert_int_equal(np_utf8_find_invalid(text, k + 1), k); /* cut after its first byte */
        }
}

static void test_utf8_find_invalid_reports_overlong_forms(void **state)
{
        assert_int_equal(np_utf8_find_invalid("ab\xc0\x80", 4), 2);
        assert_int_equal(np_utf8_find_invalid("\xc1\xbf", 2), 0);
        assert_int_equal(np_utf8_find_invalid("x\xe0\x80\xaf", 4), 1);
        assert_int_equal(np_utf8_find_invalid("xyz\xf0\x8f\xbf\xbf", 7), 3);
}

static void test_utf8_find_invalid_reports_surrogates(void **state)
{
        assert_int_equal(np_utf8_find_invalid("\xed\xa0\x80", 3), 0);
        assert_int_equal(np_utf8_find_invalid("ok\xed\xbf\xbf", 5), 2);
}

static void test_utf8_find_invalid_reports_truncated_sequences(void **state)
{
        /* cut by the end of the input */
        assert_int_equal(np_utf8_find_invalid("abc\xe2\x82", 5), 3);
        assert_int_equal(np_utf8_find_invalid("\xf0\x9f\x98", 3), 0);
        assert_int_equal(np_utf8_find_invalid("\xc3", 1), 0);
        /* cut by a byte that is not a continuation */
        assert_int_equal(np_utf8_find_invalid("a\xe2\x82z", 4), 1);
        /* a valid sequence cut by the length passed in */
        assert_int_equal(np_utf8_find_invalid("\xe2\x82\xac", 2), 0);
}

static void test_utf8_find_invalid_reports_stray_and_impossible_bytes(void **state)
{
        assert_int_equal(np_utf8_find_invalid("a\x80", 2), 1);
        assert_int_equal(np_utf8_find_invalid("\xbf", 1), 0);
        assert_int_equal(np_utf8_find_invalid("ab\xf8\x88\x80\x80\x80", 7), 2);
        assert_int_equal(np_utf8_find_invalid("\xfe", 1), 0);
        assert_int_equal(np_utf8_find_invalid("\xff", 1), 0);
        assert_int_equal(np_utf8_find_invalid("\xf4\x90\x80\x80", 4), 0); /* beyond U+10FFFF */
        assert_int_equal(np_utf8_find_invalid("\xf5\x80\x80\x80", 4), 0);
}

static void test_utf8_find_invalid_counts_nul_as_invalid(void **state)
{
        assert_int_equal(np_utf8_find_invalid("ab\0cd", 5), 2);
        assert_false(np_utf8_valid("\0", 1));
}

static void test_log_level_from_string_knows_four_levels(void **state)
{
        enum np_log_level level = NP_LOG_ERROR;

        assert_int_equal(np_log_level_from_string("debug", &level), 0);
        assert_int_equal(level, NP_LOG_DEBUG);
        assert_int_equal(np_log_level_from_string("info", &level), 0);
        assert_int_equal(level, NP_LOG_INFO);
        assert_int_equal(np_log_level_from_string("warning", &level), 0);
        assert_int_equal(level, NP_LOG_WARNING);
        assert_int_equal(np_log_level_from_string("error", &level), 0);
        assert_int_equal(level, NP_LOG_ERROR);
}

static void test_log_level_from_string_rejects_other_spellings(void **state)
{
        enum np_log_level level = NP_LOG_INFO;

        assert_int_equal(np_log_level_from_string("warn", &level), -EINVAL);
        assert_int_equal(np_log_level_from_string("WARNING", &level), -EINVAL);
        assert_int_equal(np_log_level_from_string("", &level), -EINVAL);
        assert_int_equal(np_log_level_from_string("debug ", &level), -EINVAL);
        assert_int_equal(level, NP_LOG_INFO);
}

/* Runs np_log with stderr sent to a temporary file and returns what it wrote. */
static void capture_log(enum np_log_level level, const char *message, char *out, size_t size)
{
        FILE *file = tmpfile();
        int saved;
        size_t n;

        assert_non_null(file);
        fflush(stderr);
        saved = dup(STDERR_FILENO);
        assert_true(saved >= 0);
        assert_true(dup2(fileno(file), STDERR_FILENO) >= 0);
        np_log(level, "%s", message);
        fflush(stderr);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        rewind(file);
        n = fread(out, 1, size - 1, file);
        out[n] = '\0';
        fclose(file);
}

static void test_log_writes_one_escaped_line_with_prefix_and_level(void **state)
{
        char out[256];

        np_log_set_prefix("numapin-hook");
        np_log_set_level(NP_LOG_WARNING);
        capture_log(NP_LOG_ERROR, "failed for 'a\nb'", out, sizeof(out));
        assert_string_equal(out, "numapin-hook: error: failed for 'a\\x0ab'\n");
        capture_log(NP_LOG_WARNING, "no monitor, continuing without monitor", out, sizeof(out));
        assert_string_equal(out, "numapin-hook: warning: no monitor, continuing without monitor\n");
        np_log_set_prefix("numapin");
}

static void test_log_drops_messages_below_the_level(void **state)
{
        char out[256];

        np_log_set_level(NP_LOG_WARNING);
        assert_int_equal(np_log_get_level(), NP_LOG_WARNING);
        capture_log(NP_LOG_INFO, "hidden", out, sizeof(out));
        assert_string_equal(out, "");
        capture_log(NP_LOG_DEBUG, "hidden", out, sizeof(out));
        assert_string_equal(out, "");
        np_log_set_level(NP_LOG_DEBUG);
        capture_log(NP_LOG_DEBUG, "shown", out, sizeof(out));
        assert_string_equal(out, "numapin: debug: shown\n");
        np_log_set_level(NP_LOG_WARNING);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_log_quote_keeps_plain_text),
                cmocka_unit_test(test_log_quote_escapes_control_bytes_as_hex),
                cmocka_unit_test(test_log_quote_escapes_invalid_utf8_as_hex),
                cmocka_unit_test(test_log_quote_keeps_valid_utf8),
                cmocka_unit_test(test_log_quote_writes_null_as_placeholder),
                cmocka_unit_test(test_log_quote_cuts_long_values_with_ellipsis),
                cmocka_unit_test(test_log_quote_cuts_when_escapes_overflow_the_buffer),
                cmocka_unit_test(test_log_quote_fits_any_buffer_size),
                cmocka_unit_test(test_log_quote_never_cuts_inside_a_character_or_escape),
                cmocka_unit_test(test_diag_fail_records_error_and_returns_it),
                cmocka_unit_test(test_diag_fail_accepts_null_diag),
                cmocka_unit_test(test_diag_fail_keeps_message_on_one_line),
                cmocka_unit_test(test_diag_fail_escapes_invalid_utf8_and_escape_sequences),
                cmocka_unit_test(test_diag_fail_cuts_overlong_message_within_buffer),
                cmocka_unit_test(test_utf8_find_invalid_returns_len_for_valid_text),
                cmocka_unit_test(test_utf8_find_invalid_finds_a_bad_byte_at_every_offset_of_a_word),
                cmocka_unit_test(test_utf8_find_invalid_reports_overlong_forms),
                cmocka_unit_test(test_utf8_find_invalid_reports_surrogates),
                cmocka_unit_test(test_utf8_find_invalid_reports_truncated_sequences),
                cmocka_unit_test(test_utf8_find_invalid_reports_stray_and_impossible_bytes),
                cmocka_unit_test(test_utf8_find_invalid_counts_nul_as_invalid),
                cmocka_unit_test(test_log_level_from_string_knows_four_levels),
                cmocka_unit_test(test_log_level_from_string_rejects_other_spellings),
                cmocka_unit_test(test_log_writes_one_escaped_line_with_prefix_and_level),
                cmocka_unit_test(test_log_drops_messages_below_the_level),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
