/* SPDX-License-Identifier: MIT */
/* JSON input through json-c, with the checks hostile input needs: a size limit,
 * UTF-8 validation, the byte offset of a syntax error, and typed look-ups that
 * tell a missing field from one of the wrong type. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jsontext.h"
#include "log.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)
#define _cleanup_json_ _cleanup_(json_object_putp)

/* Parses exactly one JSON document from buf[0..size). `what` names the input in
 * messages ("state on stdin", "config.json"). -EFBIG beyond `limit` bytes,
 * -EILSEQ for invalid UTF-8 or NUL bytes, -EINVAL for a syntax error (with its
 * offset) or trailing data. */
int np_json_parse(const char *buf, size_t size, size_t limit, const char *what, struct np_diag *diag,
                  struct json_object **ret_object);

/* Looks up obj[key] and checks its type. -ENOENT when absent (or JSON null),
 * -EINVAL when present with another type; only the latter fills diag. `what`
 * prefixes the field name in messages ("state", "config.json"). */
int np_json_get(struct json_object *obj, const char *key, enum json_type type, const char *what, struct np_diag *diag,
                struct json_object **ret_value);

/* A string field: present, a string, without NUL bytes, at most max_len bytes. */
int np_json_get_string(struct json_object *obj, const char *key, size_t max_len, const char *what, struct np_diag *diag,
                       const char **ret_value);

/* An integer field in [min, max]; rejects doubles and strings. */
int np_json_get_int64(struct json_object *obj, const char *key, int64_t min, int64_t max, const char *what,
                      struct np_diag *diag, int64_t *ret_value);

/* An unsigned integer field up to UINT64_MAX (OCI periods and limits). */
int np_json_get_uint64(struct json_object *obj, const char *key, const char *what, struct np_diag *diag,
                       uint64_t *ret_value);

/* A number field, integer or not, finite and in [min, max]. */
int np_json_get_double(struct json_object *obj, const char *key, double min, double max, const char *what,
                       struct np_diag *diag, double *ret_value);

/* The same checks on a document read as text only (jsontext.h), without a tree:
 * the limit, UTF-8, the grammar with the offset of an error; *ret_root is the
 * root value's span. For large documents of which a few fields are read
 * (config.json): json-c's tree of one costs ten times the scan. With `find`
 * (may be NULL), the same scan finds the values of its paths; a path's last key
 * given twice is -EEXIST, with a message the caller may replace. */
int np_json_validate(const char *buf, size_t size, size_t limit, const char *what, struct np_jsontext_find *find,
                     struct np_diag *diag, struct np_json_span *ret_root);

/* The look-ups above on a member's value span (from np_jsontext_members(); end 0
 * when absent), with their types and messages: a number is an integer when it is
 * digits with an optional minus. `key` names the field in messages. */
int np_jsontext_get(const char *text, struct np_json_span value, const char *key, enum json_type type, const char *what,
                    struct np_diag *diag);
/* A string, decoded into a new buffer: valid UTF-8, no NUL, at most max_len bytes. */
int np_jsontext_get_string(const char *text, struct np_json_span value, const char *key, size_t max_len,
                           const char *what, struct np_diag *diag, char **ret_value);
int np_jsontext_get_int64(const char *text, struct np_json_span value, const char *key, int64_t min, int64_t max,
                          const char *what, struct np_diag *diag, int64_t *ret_value);
int np_jsontext_get_uint64(const char *text, struct np_json_span value, const char *key, const char *what,
                           struct np_diag *diag, uint64_t *ret_value);

/* Serialises obj (pretty, no escaped slashes) into a new NUL-terminated buffer. */
int np_json_to_string(struct json_object *obj, char **ret_text, size_t *ret_size);
