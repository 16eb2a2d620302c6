// SPDX-License-Identifier: MIT
/* Front-end logging to stderr and the np_diag refusal messages of core. Every
 * message is kept on one line: hostile bytes from annotations or JSON never reach
 * the terminal raw. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "log.h"

static enum np_log_level current_level = NP_LOG_WARNING;
static const char *log_prefix = "numapin";
static bool to_syslog;
static char syslog_context[256];

void np_log_set_level(enum np_log_level level)
{
        current_level = level;
}

enum np_log_level np_log_get_level(void)
{
        return current_level;
}

void np_log_set_prefix(const char *prefix)
{
        log_prefix = prefix;
}

void np_log_set_syslog(const char *context)
{
        to_syslog = context != NULL;
        snprintf(syslog_context, sizeof(syslog_context), "%s", context ? context : "");
}

int np_log_level_from_string(const char *s, enum np_log_level *ret_level)
{
        static const char *const names[] = {
                [NP_LOG_ERROR] = "error",
                [NP_LOG_WARNING] = "warning",
                [NP_LOG_INFO] = "info",
                [NP_LOG_DEBUG] = "debug",
        };

        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                if (strcmp(s, names[i]) == 0) {
                        *ret_level = (enum np_log_level)i;
                        return 0;
                }
        return -EINVAL;
}

/* Length of the UTF-8 sequence starting at s (at most len bytes), 0 if invalid. */
static size_t utf8_sequence_length(const unsigned char *s, size_t len)
{
        size_t need;
        unsigned int cp;

        if (s[0] < 0x80)
                return s[0] ? 1 : 0;
        if ((s[0] & 0xe0) == 0xc0) {
                need = 2;
                cp = s[0] & 0x1f;
        } else if ((s[0] & 0xf0) == 0xe0) {
                need = 3;
                cp = s[0] & 0x0f;
        } else if ((s[0] & 0xf8) == 0xf0) {
                need = 4;
                cp = s[0] & 0x07;
        } else
                return 0;
        if (need > len)
                return 0;
        for (size_t i = 1; i < need; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        /* overlong forms, surrogates and values beyond Unicode */
        if ((need == 2 && cp < 0x80) || (need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                return 0;
        return need;
}

/* Whether the eight bytes at p are all ASCII but NUL: none has its high bit
 * set, and none is zero ((w - 0x01...) & ~w has a byte's high bit set where
 * the first zero byte is, and nowhere when there is none). */
static bool ascii_word(const unsigned char *p)
{
        const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
        uint64_t w;

        memcpy(&w, p, sizeof(w));
        return ((w | ((w - ones) & ~w)) & highs) == 0;
}

size_t np_utf8_find_invalid(const char *s, size_t len)
{
        const unsigned char *p = (const unsigned char *)s;

        for (size_t i = 0; i < len;) {
                size_t n;

                if (len - i >= 8 && ascii_word(p + i)) { /* JSON is mostly ASCII: a word at a time */
                        i += 8;
                        continue;
                }
                if (p[i] - 1u < 0x7fu) { /* ASCII but NUL: most text, without the call */
                        i++;
                        continue;
                }
                n = utf8_sequence_length(p + i, len - i);
                if (n == 0)
                        return i;
                i += n;
        }
        return len;
}

/* Escapes `in` into out (size > 0): printable UTF-8 is kept, anything else is \xNN. */
static void escape_into(char *out, size_t size, const char *in, size_t in_len, size_t max_input)
{
        const unsigned char *p = (const unsigned char *)in;
        size_t len = in_len, o = 0, i = 0;
        size_t whole = 0; /* the last end of a whole piece that leaves room for "..." */
        bool cut = false;

        if (len > max_input) {
                len = max_input;
                cut = true;
        }
        while (i < len) {
                size_t n;
                bool control;

                if (p[i] >= 0x20 && p[i] < 0x7f) { /* printable ASCII, as the general case below takes it */
                        if (o + 4 <= size)
                                whole = o;
                        if (o + 1 >= size)
                                break;
                        out[o++] = (char)p[i++];
                        continue;
                }
                n = utf8_sequence_length(p + i, len - i);
                control = n == 1 && (p[i] < 0x20 || p[i] == 0x7f);
                if (o + 4 <= size)
                        whole = o;
                if (n == 0 || control) {
                        if (o + 4 >= size)
                                break;
                        snprintf(out + o, size - o, "\\x%02x", p[i]);
                        o += 4;
                        i++;
                        continue;
                }
                if (o + n >= size)
                        break;
                memcpy(out + o, p + i, n);
                o += n;
                i += n;
        }
        if ((i < len || cut) && size > 4) {
                if (o + 3 >= size)
                        o = whole; /* never inside an escape or a character */
                memcpy(out + o, "...", 3);
                o += 3;
        }
        out[o] = '\0';
}

const char *np_log_quote(char *buf, size_t size, const char *value)
{
        if (!value)
                value = "(null)";
        return np_log_quote_bytes(buf, size, value, strlen(value));
}

const char *np_log_quote_bytes(char *buf, size_t size, const char *value, size_t len)
{
        escape_into(buf, size, value, len, 96);
        return buf;
}

static void vlog_line(enum np_log_level level, const char *fmt, va_list ap)
{
        static const char *const tags[] = {
                [NP_LOG_ERROR] = "error",
                [NP_LOG_WARNING] = "warning",
                [NP_LOG_INFO] = "info",
                [NP_LOG_DEBUG] = "debug",
        };
        char raw[4096], line[4096];

        vsnprintf(raw, sizeof(raw), fmt, ap);
        escape_into(line, sizeof(line), raw, strlen(raw), sizeof(raw));
        fprintf(stderr, "%s: %s: %s\n", log_prefix, tags[level], line);
        if (to_syslog && level <= NP_LOG_WARNING) {
                /* no LOG_CONS: without a syslog daemon the line is only on stderr */
                openlog(log_prefix, LOG_PID, LOG_DAEMON);
                syslog(level == NP_LOG_ERROR ? LOG_ERR : LOG_WARNING, "%s%s", syslog_context, line);
                closelog();
        }
}

void np_log(enum np_log_level level, const char *fmt, ...)
{
        va_list ap;

        if (level > current_level)
                return;
        va_start(ap, fmt);
        vlog_line(level, fmt, ap);
        va_end(ap);
}

int np_diag_fail(struct np_diag *diag, int error, const char *fmt, ...)
{
        char raw[4096];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(raw, sizeof(raw), fmt, ap);
        va_end(ap);
        np_log_debug("%s", raw);
        if (diag) {
                diag->error = error;
                escape_into(diag->message, sizeof(diag->message), raw, strlen(raw), sizeof(raw));
        }
        return error;
}
