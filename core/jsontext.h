/* SPDX-License-Identifier: MIT */
/* JSON as text: an offset-tracking scanner that finds the byte span of a value
 * in the original document, so that a rewrite can splice new values in and keep
 * every other byte, and so that keys are read with their exact bytes (json-c
 * cuts a key at \u0000). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The bytes text[start, end) of one JSON value (a string's span includes its quotes). */
struct np_json_span {
        size_t start;
        size_t end;
};

/* Checks that text[0..size) is exactly one JSON value (nesting at most 64 deep) with
 * optional whitespace around it and gives the value's span. -EINVAL, with the offset
 * where scanning stopped in *ret_offset (may be NULL), when it is not. The grammar is
 * json-c's, which validates documents first: RFC 8259's plus raw control characters in
 * strings and laxer numbers (1., 00, NaN, Infinity); never a NUL byte. */
int np_jsontext_root(const char *text, size_t size, struct np_json_span *ret_root, size_t *ret_offset);

/* Values np_jsontext_root_find() picks up as it validates: paths[i] names keys
 * from the root through objects, dot-separated ("linux.resources.cpu"; a key with
 * a dot in it cannot be named), and values[i] is its value, end 0 when absent. */
#define NP_JSONTEXT_FIND_MAX   64
#define NP_JSONTEXT_FIND_DEPTH 4
struct np_jsontext_find {
        const char *const *paths;
        size_t n;
        struct np_json_span *values; /* n of them */
        size_t twice;                /* on -EEXIST: the path whose last key is there twice */
};

/* np_jsontext_root() that also finds the values of `find` in the same scan: for a
 * large document of which a few fields are read, one pass instead of one per
 * object read. -EEXIST when the last key of a path is in its object twice (the
 * scan stops there; find->twice names it), -E2BIG for more than
 * NP_JSONTEXT_FIND_MAX paths or one deeper than NP_JSONTEXT_FIND_DEPTH keys. */
int np_jsontext_root_find(const char *text, size_t size, struct np_jsontext_find *find, struct np_json_span *ret_root,
                          size_t *ret_offset);

static inline bool np_jsontext_is(const char *text, struct np_json_span value, char first)
{
        return value.end > value.start && text[value.start] == first;
}

/* Steps through the members of an object span: *cursor starts at 0. Returns 1 with
 * the member's key (a string span) and value, 0 after the last, -EINVAL when
 * `object` is not a well-formed object. */
int np_jsontext_next(const char *text, struct np_json_span object, size_t *cursor, struct np_json_span *ret_key,
                     struct np_json_span *ret_value);

/* Steps through the elements of an array span, as np_jsontext_next() through an
 * object's members. */
int np_jsontext_next_item(const char *text, struct np_json_span array, size_t *cursor, struct np_json_span *ret_value);

/* One pass over an object's members: ret_values[i] is the value of keys[i], a
 * span with end 0 when absent. -EEXIST (*ret_twice = i, may be NULL) when keys[i]
 * is there more than once, -EINVAL when `object` is not a well-formed object. */
int np_jsontext_members(const char *text, struct np_json_span object, const char *const *keys, size_t n,
                        struct np_json_span *ret_values, size_t *ret_twice);

/* The value of member `key` (compared with the decoded key's exact bytes) in an
 * object span. -ENOENT when absent, -EEXIST when the key is there more than
 * once, -EINVAL when `object` is not an object. */
int np_jsontext_member(const char *text, struct np_json_span object, const char *key, struct np_json_span *ret_value);

/* The bytes a string span stands for, escapes resolved, into a new buffer with a
 * NUL after them: \u0000 gives a NUL byte and a lone surrogate its three-byte
 * form, which is not valid UTF-8, so the length is the only way to the end. */
int np_jsontext_string(const char *text, struct np_json_span string, char **ret_bytes, size_t *ret_len);
