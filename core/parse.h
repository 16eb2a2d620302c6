/* SPDX-License-Identifier: MIT */
/* Checked number parsing: decimal only, the whole string, no sign surprises. */
#pragma once

#include <stdint.h>

/* Parses a decimal unsigned integer in [min, max]. -EINVAL for anything that is
 * not only digits (no sign, no spaces, no hex, no leading zero), -ERANGE outside the bounds. */
int np_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret_value);
int np_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *ret_value);

/* Like np_parse_u64 but for a sysfs attribute: one trailing newline is allowed. */
int np_parse_sysfs_u64(const char *s, uint64_t max, uint64_t *ret_value);
