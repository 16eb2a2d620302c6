/* SPDX-License-Identifier: MIT */
/* Logging for the front-ends and the diagnostic that core functions fill in when
 * they refuse input: one line naming the field and the allowed form. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

enum np_log_level {
        NP_LOG_ERROR,
        NP_LOG_WARNING,
        NP_LOG_INFO,
        NP_LOG_DEBUG,
};

/* A refusal explained for a person. Core functions that validate input take a
 * `struct np_diag *` (may be NULL) and fill it when they return -errno. */
struct np_diag {
        int error;          /* -errno, 0 when nothing failed */
        char message[4096]; /* one line, control bytes and invalid UTF-8 escaped */
};

void np_log_set_level(enum np_log_level level);
enum np_log_level np_log_get_level(void);
int np_log_level_from_string(const char *s, enum np_log_level *ret_level);
void np_log_set_prefix(const char *prefix);
/* Also sends errors and warnings to syslog (facility daemon, the prefix as ident),
 * each line starting with `context` (e.g. "container ID: "; copied). Some runtimes,
 * crun among them, drop a hook's stderr: the system log keeps the reason. NULL stops it. */
void np_log_set_syslog(const char *context);

void np_log(enum np_log_level level, const char *fmt, ...) _printf_(2, 3);
#define np_log_error(...)   np_log(NP_LOG_ERROR, __VA_ARGS__)
#define np_log_warning(...) np_log(NP_LOG_WARNING, __VA_ARGS__)
#define np_log_info(...)    np_log(NP_LOG_INFO, __VA_ARGS__)
#define np_log_debug(...)   np_log(NP_LOG_DEBUG, __VA_ARGS__)

/* Records `error` (a -errno) and the formatted message in diag (if not NULL) and
 * returns `error`, so validation reads `return np_diag_fail(diag, -EINVAL, ...)`. */
int np_diag_fail(struct np_diag *diag, int error, const char *fmt, ...) _printf_(3, 4);

/* Copies `value` into `buf` for quoting in a message: at most `size`-1 bytes,
 * control bytes and invalid UTF-8 written as \xNN, long values cut with "...". */
const char *np_log_quote(char *buf, size_t size, const char *value);
/* The same for value[0..len), which may hold NUL bytes (each written as \x00). */
const char *np_log_quote_bytes(char *buf, size_t size, const char *value, size_t len);

/* The offset of the first byte in s[0..len) that is not part of valid UTF-8
 * (NUL counts as invalid), or len when there is none. */
size_t np_utf8_find_invalid(const char *s, size_t len);

static inline bool np_utf8_valid(const char *s, size_t len)
{
        return np_utf8_find_invalid(s, len) == len;
}
