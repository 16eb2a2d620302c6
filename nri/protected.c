// SPDX-License-Identifier: MIT
/* A sorted set of container ids: the plugin's protected containers. Each id
 * is kept at its length; adding and removing move pointers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "protected.h"

/* The index at which `id` is, or belongs. */
static size_t position(const struct nri_protected *set, const char *id)
{
        size_t low = 0, high = set->n;

        while (low < high) {
                size_t middle = low + (high - low) / 2;

                if (strcmp(set->ids[middle], id) < 0)
                        low = middle + 1;
                else
                        high = middle;
        }
        return low;
}

bool nri_protected_has(const struct nri_protected *set, const char *id)
{
        size_t at = position(set, id);

        return at < set->n && strcmp(set->ids[at], id) == 0;
}

int nri_protected_add(struct nri_protected *set, const char *id)
{
        size_t at = position(set, id);
        char *copy;

        if (strlen(id) > NP_ID_MAX)
                return -EINVAL;
        if (at < set->n && strcmp(set->ids[at], id) == 0)
                return 0;
        if (set->n == set->capacity) {
                size_t capacity = set->capacity ? set->capacity * 2 : 64;
                void *grown = realloc(set->ids, capacity * sizeof(*set->ids));

                if (!grown)
                        return -ENOMEM;
                set->ids = grown;
                set->capacity = capacity;
        }
        copy = strdup(id);
        if (!copy)
                return -ENOMEM;
        memmove(&set->ids[at + 1], &set->ids[at], (set->n - at) * sizeof(*set->ids));
        set->ids[at] = copy;
        set->n++;
        return 0;
}

bool nri_protected_remove(struct nri_protected *set, const char *id)
{
        size_t at = position(set, id);

        if (at >= set->n || strcmp(set->ids[at], id) != 0)
                return false;
        free(set->ids[at]);
        memmove(&set->ids[at], &set->ids[at + 1], (set->n - at - 1) * sizeof(*set->ids));
        set->n--;
        return true;
}

void nri_protected_clear(struct nri_protected *set)
{
        for (size_t i = 0; i < set->n; i++)
                free(set->ids[i]);
        free(set->ids);
        *set = (struct nri_protected){};
}
