/* SPDX-License-Identifier: MIT */
/* What numapin did, counted for the metrics endpoint: placements by front-end
 * and result, their latency as a histogram, and the NRI plugin's requests by
 * method and status. The counters live in <state dir>/opstats, a file of fixed
 * layout that every numapin process maps shared and adds to with atomic
 * operations: the short-lived hook leaves its figures there for the resident
 * exporter, and concurrent hooks never lose a count. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "log.h"
#include "macro.h"

#define NP_OPSTATS_FILE "opstats"

enum np_op_source {
        NP_OP_HOOK,
        NP_OP_NRI,
        NP_OP_SOURCES,
};

enum np_op_result {
        NP_OP_PLACED,  /* a placement was made */
        NP_OP_REFUSED, /* the request was invalid or does not fit */
        NP_OP_ERROR,   /* numapin failed (a file, a cgroup, memory) */
        NP_OP_RESULTS,
};

/* The NRI calls counted, each by its method name; others count as "other". */
enum np_nri_method {
        NP_NRI_CONFIGURE,
        NP_NRI_SYNCHRONIZE,
        NP_NRI_CREATE_CONTAINER,
        NP_NRI_UPDATE_CONTAINER,
        NP_NRI_STOP_CONTAINER,
        NP_NRI_POST_CREATE_CONTAINER,
        NP_NRI_REMOVE_CONTAINER,
        NP_NRI_STATE_CHANGE,
        NP_NRI_SHUTDOWN,
        NP_NRI_OTHER,
        NP_NRI_METHODS,
};

/* Upper bounds of the latency buckets, in seconds; the last bucket is +Inf. */
#define NP_OP_BUCKETS 14
extern const double np_op_bucket_bounds[NP_OP_BUCKETS];

/* The counters as they are in the file (native byte order: the file is this
 * node's, in a tmpfs) and in a snapshot. Buckets are not cumulative here. */
struct np_opstats_data {
        char magic[8];
        uint32_t version;
        uint32_t size;
        uint64_t placements[NP_OP_SOURCES][NP_OP_RESULTS];
        uint64_t duration_buckets[NP_OP_SOURCES][NP_OP_BUCKETS + 1];
        uint64_t duration_ns_sum[NP_OP_SOURCES];
        uint64_t nri_requests[NP_NRI_METHODS][2]; /* [method][0 ok, 1 error] */
};

struct np_opstats;

/* Maps <state_dir>/opstats. With `create` a missing file is made (the state dir
 * must exist), and one that is not this layout (another build's, damaged) is
 * replaced by a new one: its counters start again from zero, as a restarted
 * exporter's would. Without `create` either is -ENOENT / -EINVAL. */
int np_opstats_open(const char *state_dir, bool create, struct np_diag *diag, struct np_opstats **ret_opstats);
void np_opstats_close(struct np_opstats *opstats);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct np_opstats *, np_opstats_close)
#define _cleanup_opstats_ _cleanup_(np_opstats_closep)

void np_opstats_placement(struct np_opstats *opstats, enum np_op_source source, enum np_op_result result);
void np_opstats_duration(struct np_opstats *opstats, enum np_op_source source, uint64_t duration_ns);
void np_opstats_nri_request(struct np_opstats *opstats, enum np_nri_method method, bool ok);
/* Each counter read atomically (the whole is not one instant: counters only grow). */
void np_opstats_read(const struct np_opstats *opstats, struct np_opstats_data *ret_data);

const char *np_op_source_name(enum np_op_source source);
const char *np_op_result_name(enum np_op_result result);
const char *np_nri_method_name(enum np_nri_method method);
/* The method of an NRI call by its name; NP_NRI_OTHER for any other. */
enum np_nri_method np_nri_method_from_name(const char *name);
