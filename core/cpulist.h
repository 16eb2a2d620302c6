/* SPDX-License-Identifier: MIT */
/* A set of CPU or NUMA node ids and its kernel list form ("0-3,8,10-11"), as
 * found in sysfs and written to cpuset.cpus / cpuset.mems. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* The kernel's largest NR_CPUS on distribution kernels; node ids stay below
 * MAX_NUMNODES (1024), so one type serves both. */
#define NP_CPULIST_MAX   8192
#define NP_CPULIST_WORDS (NP_CPULIST_MAX / 64)
/* Enough for the longest list form of any set ("0,2,4,...,8190"). */
#define NP_CPULIST_BUFSIZE 40960

struct np_cpulist {
        uint64_t bits[NP_CPULIST_WORDS];
};

/* Parses a list such as "0-3,8". An empty string (or only a newline, as sysfs
 * writes an empty list) is the empty set. Ids must be below `limit` (at most
 * NP_CPULIST_MAX) and ranges ascending. `what` names the field in diag. */
int np_cpulist_parse(const char *s, unsigned int limit, const char *what, struct np_diag *diag,
                     struct np_cpulist *ret_list);

/* Writes the shortest list form into buf; -ENOBUFS if it does not fit. */
int np_cpulist_format(const struct np_cpulist *list, char *buf, size_t size);
/* The list form for a message, in NP_CPULIST_BRIEF bytes (or `size`): a list
 * too long for it is cut after a whole range and ends in ",...". Returns buf. */
#define NP_CPULIST_BRIEF 1024
const char *np_cpulist_brief(const struct np_cpulist *list, char *buf, size_t size);
/* The whole list form at its own size, for a file (free() it): a frame or
 * record with NP_CPULIST_BUFSIZE bytes for it costs pages it never uses. */
int np_cpulist_format_alloc(const struct np_cpulist *list, char **ret_text);

void np_cpulist_zero(struct np_cpulist *list);
void np_cpulist_clear(struct np_cpulist *list, unsigned int id);

/* The bits set in a word. Not __builtin_popcountll: built for the x86-64 baseline
 * (no POPCNT instruction) it is a call into libgcc, several times slower. */
static inline unsigned int np_popcount64(uint64_t w)
{
        w -= (w >> 1) & UINT64_C(0x5555555555555555);
        w = (w & UINT64_C(0x3333333333333333)) + ((w >> 2) & UINT64_C(0x3333333333333333));
        w = (w + (w >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
        return (unsigned int)((w * UINT64_C(0x0101010101010101)) >> 56);
}

/* In the header: placement tests and sets bits in its loops over CPUs. */
static inline void np_cpulist_set(struct np_cpulist *list, unsigned int id)
{
        if (id < NP_CPULIST_MAX)
                list->bits[id / 64] |= UINT64_C(1) << (id % 64);
}

static inline bool np_cpulist_test(const struct np_cpulist *list, unsigned int id)
{
        return id < NP_CPULIST_MAX && (list->bits[id / 64] >> (id % 64)) & 1;
}
unsigned int np_cpulist_count(const struct np_cpulist *list);
bool np_cpulist_empty(const struct np_cpulist *list);
bool np_cpulist_equal(const struct np_cpulist *a, const struct np_cpulist *b);
bool np_cpulist_is_subset(const struct np_cpulist *sub, const struct np_cpulist *super);
bool np_cpulist_intersects(const struct np_cpulist *a, const struct np_cpulist *b);
void np_cpulist_and(struct np_cpulist *dst, const struct np_cpulist *src);
void np_cpulist_or(struct np_cpulist *dst, const struct np_cpulist *src);
void np_cpulist_andnot(struct np_cpulist *dst, const struct np_cpulist *src);

/* The lowest id >= `from` in the list, or -1. Iterate with
 * for (int i = np_cpulist_next(l, 0); i >= 0; i = np_cpulist_next(l, i + 1)). */
int np_cpulist_next(const struct np_cpulist *list, unsigned int from);

#define NP_CPULIST_FOREACH(id, list)                                                                                   \
        for (int id = np_cpulist_next((list), 0); id >= 0; id = np_cpulist_next((list), (unsigned int)id + 1))

/* A list's words from its first nonzero one to its last, the rest zero (n 0:
 * the empty set): what a ledger record keeps, read without widening it to 8192
 * bits. words[0] is the list's word `first`. */
struct np_cpuwords {
        const uint64_t *words;
        unsigned int first, n;
};

/* The nonzero words of a list (pointing into it). */
struct np_cpuwords np_cpulist_words(const struct np_cpulist *list);
unsigned int np_cpuwords_count(struct np_cpuwords w);
void np_cpulist_or_words(struct np_cpulist *dst, struct np_cpuwords src);
/* The lowest id >= `from` in the words, or -1. */
int np_cpuwords_next(struct np_cpuwords w, unsigned int from);

#define NP_CPUWORDS_FOREACH(id, w)                                                                                     \
        for (int id = np_cpuwords_next((w), 0); id >= 0; id = np_cpuwords_next((w), (unsigned int)id + 1))
