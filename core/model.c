// SPDX-License-Identifier: MIT
/* The rules of numapin's value types that every module shares: which container
 * ids are valid, and the names of policies and record sources. */
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "model.h"

bool np_id_valid(const char *id)
{
        size_t len = strlen(id);

        if (len == 0 || len > NP_ID_MAX || id[0] == '.')
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = id[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("_+.-", c)))
                        return false;
        }
        return true;
}

static const char *const policy_names[] = {
        [NP_POLICY_NONE] = "none",
        [NP_POLICY_BIND] = "bind",
        [NP_POLICY_CPUS_ONLY] = "cpus-only",
        [NP_POLICY_PREFERRED] = "preferred",
        [NP_POLICY_INTERLEAVE] = "interleave",
};

const char *np_policy_to_string(enum np_policy policy)
{
        return (size_t)policy < ARRAY_SIZE(policy_names) ? policy_names[policy] : "invalid";
}

int np_policy_from_string(const char *s, enum np_policy *ret_policy)
{
        for (size_t i = 0; i < ARRAY_SIZE(policy_names); i++)
                if (strcmp(s, policy_names[i]) == 0) {
                        *ret_policy = (enum np_policy)i;
                        return 0;
                }
        return -EINVAL;
}

static const char *const source_names[] = {
        [NP_SOURCE_UNKNOWN] = "unknown",
        [NP_SOURCE_HOOK] = "hook",
        [NP_SOURCE_NRI] = "nri",
        [NP_SOURCE_PLAN] = "plan",
};

const char *np_source_to_string(enum np_source source)
{
        return (size_t)source < ARRAY_SIZE(source_names) ? source_names[source] : "unknown";
}

enum np_source np_source_from_string(const char *s)
{
        for (size_t i = 0; i < ARRAY_SIZE(source_names); i++)
                if (strcmp(s, source_names[i]) == 0)
                        return (enum np_source)i;
        return NP_SOURCE_UNKNOWN;
}
