// SPDX-License-Identifier: MIT
/* The one JSON parse helper and the typed field getters every numapin input
 * goes through; after them, code works on typed structs, never json objects. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "json.h"
#include "jsontext.h"

#define JSON_MAX_DEPTH 64

/* What any JSON input must be before its grammar is looked at: within the
 * limit, not empty, UTF-8 without NUL bytes. */
static int check_input(const char *buf, size_t size, size_t limit, const char *what, struct np_diag *diag)
{
        size_t bad;

        if (size > limit)
                return np_diag_fail(diag, -EFBIG, "%s: %zu bytes is larger than the limit of %zu bytes", what, size,
                                    limit);
        if (size == 0)
                return np_diag_fail(diag, -EINVAL, "%s: empty input; expected a JSON object", what);
        bad = np_utf8_find_invalid(buf, size);
        if (bad < size)
                return np_diag_fail(diag, -EILSEQ, "%s: %s at byte offset %zu; expected UTF-8 JSON text", what,
                                    buf[bad] == '\0' ? "NUL byte" : "invalid UTF-8", bad);
        return 0;
}

int np_json_parse(const char *buf, size_t size, size_t limit, const char *what, struct np_diag *diag,
                  struct json_object **ret_object)
{
        _cleanup_json_ struct json_object *obj = NULL;
        struct json_tokener *tok;
        enum json_tokener_error jerr;
        size_t end, bad;
        int r;

        r = check_input(buf, size, limit, what, diag);
        if (r < 0)
                return r;

        tok = json_tokener_new_ex(JSON_MAX_DEPTH);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        obj = json_tokener_parse_ex(tok, buf, (int)size);
        jerr = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);

        if (jerr == json_tokener_continue)
                return np_diag_fail(diag, -EINVAL, "%s: truncated JSON: input ends at byte %zu inside a value", what,
                                    size);
        if (jerr != json_tokener_success || !obj)
                return np_diag_fail(diag, -EINVAL, "%s: invalid JSON at byte offset %zu: %s", what, end,
                                    json_tokener_error_desc(jerr));
        for (size_t i = end; i < size; i++)
                if (!strchr(" \t\r\n", buf[i]))
                        return np_diag_fail(diag, -EINVAL, "%s: trailing data at byte offset %zu after the JSON value",
                                            what, i);
        /* json-c's strict mode still takes 'single-quoted' keys; the scanner the hook
         * reads annotations and rewrites config.json with does not, and both must
         * agree on what a document is */
        if (np_jsontext_root(buf, size, &(struct np_json_span){}, &bad) < 0)
                return np_diag_fail(diag, -EINVAL, "%s: invalid JSON at byte offset %zu: %s", what, bad,
                                    bad < size && buf[bad] == '\''
                                            ? "a single-quoted string; JSON strings are in double quotes"
                                            : "expected RFC 8259 JSON");
        *ret_object = TAKE_PTR(obj);
        return 0;
}

static const char *type_name(enum json_type type)
{
        switch (type) {
        case json_type_object:
                return "an object";
        case json_type_array:
                return "an array";
        case json_type_string:
                return "a string";
        case json_type_int:
                return "an integer";
        case json_type_double:
                return "a number";
        case json_type_boolean:
                return "a boolean";
        default:
                return "null";
        }
}

int np_json_validate(const char *buf, size_t size, size_t limit, const char *what, struct np_jsontext_find *find,
                     struct np_diag *diag, struct np_json_span *ret_root)
{
        size_t bad;
        int r;

        r = check_input(buf, size, limit, what, diag);
        if (r < 0)
                return r;
        r = find ? np_jsontext_root_find(buf, size, find, ret_root, &bad) : np_jsontext_root(buf, size, ret_root, &bad);
        if (r == 0)
                return 0;
        if (r == -EEXIST)
                return np_diag_fail(diag, r, "%s: key '%s' appears more than once; expected it once", what,
                                    find->paths[find->twice]);
        if (r != -EINVAL)
                return np_diag_fail(diag, r, "%s: %s", what, strerror(-r));
        if (bad >= size)
                return np_diag_fail(diag, -EINVAL, "%s: truncated JSON: input ends at byte %zu inside a value", what,
                                    size);
        return np_diag_fail(diag, -EINVAL, "%s: invalid JSON at byte offset %zu: %s", what, bad,
                            buf[bad] == '\'' ? "a single-quoted string; JSON strings are in double quotes"
                                             : "expected RFC 8259 JSON");
}

/* The type json-c gives the value a span holds. */
static enum json_type span_type(const char *text, struct np_json_span value)
{
        switch (text[value.start]) {
        case '{':
                return json_type_object;
        case '[':
                return json_type_array;
        case '"':
                return json_type_string;
        case 't':
        case 'f':
                return json_type_boolean;
        case 'n':
                return json_type_null;
        default:
                for (size_t i = value.start + (text[value.start] == '-'); i < value.end; i++)
                        if (text[i] < '0' || text[i] > '9')
                                return json_type_double;
                return json_type_int;
        }
}

int np_jsontext_get(const char *text, struct np_json_span value, const char *key, enum json_type type, const char *what,
                    struct np_diag *diag)
{
        enum json_type found;

        if (value.end == 0 || (found = span_type(text, value)) == json_type_null)
                return -ENOENT;
        if (found != type)
                return np_diag_fail(diag, -EINVAL, "%s: field '%s' is %s; expected %s", what, key, type_name(found),
                                    type_name(type));
        return 0;
}

int np_jsontext_get_string(const char *text, struct np_json_span value, const char *key, size_t max_len,
                           const char *what, struct np_diag *diag, char **ret_value)
{
        _cleanup_free_ char *s = NULL;
        size_t len;
        int r;

        r = np_jsontext_get(text, value, key, json_type_string, what, diag);
        if (r < 0)
                return r;
        r = np_jsontext_string(text, value, &s, &len);
        if (r < 0)
                return r;
        if (strlen(s) != len)
                return np_diag_fail(diag, -EINVAL, "%s: field '%s' holds a NUL character; expected text", what, key);
        if (np_utf8_find_invalid(s, len) < len) /* a lone surrogate escaped */
                return np_diag_fail(diag, -EILSEQ, "%s: field '%s' is not valid UTF-8; expected text", what, key);
        if (len > max_len)
                return np_diag_fail(diag, -EINVAL, "%s: field '%s' is longer than %zu bytes", what, key, max_len);
        *ret_value = TAKE_PTR(s);
        return 0;
}

/* An integer span's sign and magnitude; -ERANGE beyond 2^64-1. */
static int span_integer(const char *text, struct np_json_span value, bool *ret_negative, uint64_t *ret_magnitude)
{
        size_t i = value.start + (text[value.start] == '-');
        uint64_t n = 0;

        for (; i < value.end; i++) {
                unsigned int digit = (unsigned int)(text[i] - '0');

                if (n > (UINT64_MAX - digit) / 10)
                        return -ERANGE;
                n = n * 10 + digit;
        }
        *ret_negative = text[value.start] == '-' && n > 0;
        *ret_magnitude = n;
        return 0;
}

int np_jsontext_get_int64(const char *text, struct np_json_span value, const char *key, int64_t min, int64_t max,
                          const char *what, struct np_diag *diag, int64_t *ret_value)
{
        uint64_t magnitude;
        bool negative;
        int64_t n = 0;
        int r;

        r = np_jsontext_get(text, value, key, json_type_int, what, diag);
        if (r < 0)
                return r;
        r = span_integer(text, value, &negative, &magnitude);
        if (r == 0 && !negative && magnitude > (uint64_t)INT64_MAX)
                r = -ERANGE;
        else if (r == 0 && negative && magnitude > (uint64_t)INT64_MAX + 1)
                r = -ERANGE;
        else if (r == 0)
                n = negative ? (int64_t)(0 - magnitude) : (int64_t)magnitude;
        if (r < 0 || n < min || n > max)
                return np_diag_fail(diag, -ERANGE,
                                    "%s: field '%s' is out of range; expected an integer from %lld to %lld", what, key,
                                    (long long)min, (long long)max);
        *ret_value = n;
        return 0;
}

int np_jsontext_get_uint64(const char *text, struct np_json_span value, const char *key, const char *what,
                           struct np_diag *diag, uint64_t *ret_value)
{
        uint64_t magnitude;
        bool negative;
        int r;

        r = np_jsontext_get(text, value, key, json_type_int, what, diag);
        if (r < 0)
                return r;
        r = span_integer(text, value, &negative, &magnitude);
        if (r == 0 && negative)
                return np_diag_fail(diag, -ERANGE, "%s: field '%s' is negative; expected an unsigned integer", what,
                                    key);
        if (r < 0)
                return np_diag_fail(diag, -ERANGE, "%s: field '%s' is beyond 2^64-1", what, key);
        *ret_value = magnitude;
        return 0;
}

int np_json_get(struct json_object *obj, const char *key, enum json_type type, const char *what, struct np_diag *diag,
                struct json_object **ret_value)
{
        struct json_object *value;

        if (!obj || !json_object_object_get_ex(obj, key, &value) || !value)
                return -ENOENT;
        if (!json_object_is_type(value, type))
                return np_diag_fail(diag, -EINVAL, "%s: field '%s' is %s; expected %s", what, key,
                                    type_name(json_object_get_type(value)), type_name(type));
        *ret_value = value;
        return 0;
}

int np_json_get_string(struct json_object *obj, const char *key, size_t max_len, const char *what, struct np_diag *diag,
                       const char **ret_value)
{
        struct json_object *value;
        const char *s;
        int r;

        r = np_json_get(obj, key, json_type_string, what, diag, &value);
        if (r < 0)
                return r;
        s = json_object_get_string(value);
        if (strlen(s) != (size_t)json_object_get_string_len(value))
                return np_diag_fail(diag, -EINVAL, "%s: field '%s' holds a NUL character; expected text", what, key);
        if (strlen(s) > max_len)
                return np_diag_fail(diag, -EINVAL, "%s: field '%s' is longer than %zu bytes", what, key, max_len);
        *ret_value = s;
        return 0;
}

int np_json_get_int64(struct json_object *obj, const char *key, int64_t min, int64_t max, const char *what,
                      struct np_diag *diag, int64_t *ret_value)
{
        struct json_object *value;
        int64_t n;
        int r;

        r = np_json_get(obj, key, json_type_int, what, diag, &value);
        if (r < 0)
                return r;
        n = json_object_get_int64(value);
        /* json-c keeps integers above INT64_MAX as uint64 and returns INT64_MAX for them */
        if ((n == INT64_MAX && json_object_get_uint64(value) > (uint64_t)INT64_MAX) || n < min || n > max)
                return np_diag_fail(diag, -ERANGE,
                                    "%s: field '%s' is out of range; expected an integer from %lld to %lld", what, key,
                                    (long long)min, (long long)max);
        *ret_value = n;
        return 0;
}

int np_json_get_uint64(struct json_object *obj, const char *key, const char *what, struct np_diag *diag,
                       uint64_t *ret_value)
{
        struct json_object *value;
        uint64_t n;
        int r;

        r = np_json_get(obj, key, json_type_int, what, diag, &value);
        if (r < 0)
                return r;
        if (json_object_get_int64(value) < 0)
                return np_diag_fail(diag, -ERANGE, "%s: field '%s' is negative; expected an unsigned integer", what,
                                    key);
        errno = 0;
        n = json_object_get_uint64(value);
        if (errno == ERANGE)
                return np_diag_fail(diag, -ERANGE, "%s: field '%s' is beyond 2^64-1", what, key);
        *ret_value = n;
        return 0;
}

int np_json_get_double(struct json_object *obj, const char *key, double min, double max, const char *what,
                       struct np_diag *diag, double *ret_value)
{
        struct json_object *value;
        double n;
        int r;

        if (!obj || !json_object_object_get_ex(obj, key, &value) || !value)
                return -ENOENT;
        if (!json_object_is_type(value, json_type_int)) {
                r = np_json_get(obj, key, json_type_double, what, diag, &value);
                if (r < 0)
                        return r;
        }
        n = json_object_get_double(value);
        if (!isfinite(n) || n < min || n > max)
                return np_diag_fail(diag, -ERANGE, "%s: field '%s' is out of range; expected a number from %g to %g",
                                    what, key, min, max);
        *ret_value = n;
        return 0;
}

int np_json_to_string(struct json_object *obj, char **ret_text, size_t *ret_size)
{
        const char *text;
        size_t len;
        char *copy;

        text = json_object_to_json_string_length(
                obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!text)
                return -ENOMEM;
        copy = malloc(len + 2);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, text, len);
        copy[len] = '\n';
        copy[len + 1] = '\0';
        *ret_text = copy;
        if (ret_size)
                *ret_size = len + 1;
        return 0;
}
