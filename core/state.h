/* SPDX-License-Identifier: MIT */
/* The OCI state a runtime writes on a hook's stdin. */
#pragma once

#include <limits.h>
#include <stdbool.h>

#include "annotations.h"
#include "model.h"

#define NP_STATE_LIMIT (1024 * 1024)

struct np_state {
        char id[NP_ID_MAX + 1];
        char status[16]; /* creating (runc), created (crun), running, stopped */
        int pid;         /* 0 when absent (podman's poststop) */
        char bundle[PATH_MAX];
        bool has_annotations;
        struct np_annotation_set annotations;
};

int np_state_parse(const char *buf, size_t size, struct np_diag *diag, struct np_state *ret_state);
void np_state_clear(struct np_state *state);
