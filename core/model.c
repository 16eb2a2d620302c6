// SPDX-License-Identifier: MIT
/* The rules of numapin's value types that every module shares: which container
 * ids are valid, the names of policies and record sources, and a container's
 * demand from its CPU quota/period and memory limit. */
#include <errno.h>
#include <string.h>

#include "log.h"
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

static const char *const scope_names[] = {
        [NP_SCOPE_CONTAINER] = "container",
        [NP_SCOPE_POD] = "pod",
};
static const char *const strategy_names[] = {
        [NP_STRATEGY_DEFAULT] = "default",
        [NP_STRATEGY_SPREAD] = "spread",
        [NP_STRATEGY_PACK] = "pack",
};
static const char *const memory_tier_names[] = {
        [NP_MEMORY_TIER_LOCAL] = "local",
        [NP_MEMORY_TIER_EXTENDED] = "extended",
};

const char *np_scope_to_string(enum np_scope scope)
{
        return (size_t)scope < ARRAY_SIZE(scope_names) ? scope_names[scope] : "invalid";
}

const char *np_strategy_to_string(enum np_strategy strategy)
{
        return (size_t)strategy < ARRAY_SIZE(strategy_names) ? strategy_names[strategy] : "invalid";
}

const char *np_memory_tier_to_string(enum np_memory_tier tier)
{
        return (size_t)tier < ARRAY_SIZE(memory_tier_names) ? memory_tier_names[tier] : "invalid";
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

int np_demand_from_limits(int64_t cpu_quota, uint64_t cpu_period, int64_t memory_limit, struct np_diag *diag,
                          struct np_demand *ret_demand)
{
        struct np_demand demand = {};

        if (cpu_period == 0 || cpu_period > NP_CPU_PERIOD_MAX)
                return np_diag_fail(
                        diag, -EINVAL,
                        "linux.resources.cpu.period: %llu is out of range; expected 1 to 1000000 microseconds",
                        (unsigned long long)cpu_period);
        if (cpu_quota > 0) {
                unsigned __int128 millis = ((unsigned __int128)cpu_quota * 1000 + cpu_period - 1) / cpu_period;
                if (millis > (unsigned __int128)NP_CPULIST_MAX * 1000)
                        return np_diag_fail(diag, -ERANGE,
                                            "linux.resources.cpu.quota: %lld us per %llu us asks for more than %d CPUs",
                                            (long long)cpu_quota, (unsigned long long)cpu_period, NP_CPULIST_MAX);
                demand.cpu_millis = (uint64_t)millis;
        }
        if (memory_limit > 0)
                demand.memory_bytes = (uint64_t)memory_limit;
        *ret_demand = demand;
        return 0;
}

bool np_name_valid(const char *name, size_t max)
{
        size_t len = strlen(name);

        if (len == 0 || len > max)
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = name[i];
                bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

                if (!alnum && (i == 0 || !strchr("_.-", c)))
                        return false;
        }
        return true;
}
