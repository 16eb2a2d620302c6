// SPDX-License-Identifier: MIT
/* Decimal number parsing for annotations, config and sysfs. strtoull alone
 * accepts signs, spaces and hex; these helpers accept digits only. */
#include <errno.h>
#include <string.h>

#include "parse.h"

static int parse_digits(const char *s, size_t len, uint64_t *ret_value)
{
        uint64_t value = 0;

        if (len == 0 || (len > 1 && s[0] == '0'))
                return -EINVAL; /* empty, or a leading zero */
        /* all digits first: a long non-number is -EINVAL, not -ERANGE */
        for (size_t i = 0; i < len; i++)
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
        if (len > 20)
                return -ERANGE;
        for (size_t i = 0; i < len; i++) {
                unsigned int digit;

                digit = (unsigned int)(s[i] - '0');
                if (value > (UINT64_MAX - digit) / 10)
                        return -ERANGE;
                value = value * 10 + digit;
        }
        *ret_value = value;
        return 0;
}

int np_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret_value)
{
        uint64_t value;
        int r;

        if (!s)
                return -EINVAL;
        r = parse_digits(s, strlen(s), &value);
        if (r < 0)
                return r;
        if (value < min || value > max)
                return -ERANGE;
        *ret_value = value;
        return 0;
}

int np_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *ret_value)
{
        uint64_t value;
        int r;

        r = np_parse_u64(s, min, max, &value);
        if (r < 0)
                return r;
        *ret_value = (uint32_t)value;
        return 0;
}

int np_parse_sysfs_u64(const char *s, uint64_t max, uint64_t *ret_value)
{
        size_t len = strlen(s);
        uint64_t value;
        int r;

        if (len > 0 && s[len - 1] == '\n')
                len--;
        r = parse_digits(s, len, &value);
        if (r < 0)
                return r;
        if (value > max)
                return -ERANGE;
        *ret_value = value;
        return 0;
}
