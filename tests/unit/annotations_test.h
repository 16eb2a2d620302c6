/* SPDX-License-Identifier: MIT */
/* What the annotation parser's two test binaries share (test_annotations and
 * test_annotations_schema): building an annotation set, parsing it where it must be
 * accepted, and asserting the node list of a request. Include after <cmocka.h>. */
#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../../core/annotations.h"

#define _cleanup_set_ _cleanup_(np_annotations_clear)

/* Adds key, value pairs ended by NULL. */
static inline void add_pairs(struct np_annotation_set *set, ...)
{
        const char *key;
        va_list ap;

        va_start(ap, set);
        while ((key = va_arg(ap, const char *))) {
                const char *value = va_arg(ap, const char *);

                assert_int_equal(np_annotations_add(set, key, value), 0);
        }
        va_end(ap);
}

static inline struct np_request parse_ok(const struct np_annotation_set *set, const char *container_name,
                                         enum np_policy default_policy)
{
        struct np_request request;
        struct np_diag diag = {};
        int r = np_annotations_parse(set, container_name, default_policy, &diag, &request);

        if (r != 0)
                fail_msg("np_annotations_parse returned %d: %s", r, diag.message);
        return request;
}

static inline void assert_nodes(const struct np_request *request, const char *expected)
{
        char buf[64];

        assert_false(request->nodes_auto);
        assert_int_equal(np_cpulist_format(&request->nodes, buf, sizeof(buf)), 0);
        assert_string_equal(buf, expected);
}
