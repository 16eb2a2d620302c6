/* SPDX-License-Identifier: MIT */
/* The containers the NRI plugin keeps off exclusive CPUs without a ledger
 * record (those numapin does not place): their ids, and the CPUs they were all
 * last given. The runtime lists them again at every Synchronize, so they need
 * no state on disk. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "../core/cpulist.h"
#include "../core/model.h"

struct nri_protected {
        size_t n;
        size_t capacity;
        char **ids;             /* sorted, each malloc'd at its length */
        struct np_cpulist pool; /* the CPUs every one of them was last given */
        bool pool_known;
};

int nri_protected_add(struct nri_protected *set, const char *id);
/* false when `id` was not in the set. */
bool nri_protected_remove(struct nri_protected *set, const char *id);
bool nri_protected_has(const struct nri_protected *set, const char *id);
void nri_protected_clear(struct nri_protected *set);
