/* SPDX-License-Identifier: MIT */
/* What the placement decision's two test binaries share (test_policy and
 * test_policy_auto): a scenario of one fixture machine, the default config and the
 * usage so far; requests with auto or explicit nodes; placing, holding what was
 * placed as the ledger would, and asserting the reason. Include after <cmocka.h>. */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../core/config.h"
#include "../../core/policy.h"
#include "../../core/topology.h"
#include "helpers.h"

#define GIB (UINT64_C(1) << 30)

/* Everything one placement needs, with an empty machine and the default config. */
struct scenario {
        struct np_topology *topology;
        struct np_config config;
        struct np_usage usage;
        struct np_demand demand;
        struct np_diag diag;
        struct np_placement placement;
};

static inline struct scenario *scenario_new(const char *fixture)
{
        struct scenario *s = calloc(1, sizeof(*s));

        assert_non_null(s);
        s->topology = np_test_load_topology(fixture);
        np_config_init(&s->config);
        np_usage_init(&s->usage);
        return s;
}

static inline void scenario_free(struct scenario *s)
{
        np_topology_free(s->topology);
        free(s);
}

/* A container annotated with `policy` and nodes auto. */
static inline struct np_request auto_request(enum np_policy policy, unsigned int exclusive_cpus)
{
        return (struct np_request){
                .policy = policy,
                .annotated = true,
                .nodes_auto = true,
                .exclusive_cpus = exclusive_cpus,
        };
}

/* A container annotated with policy bind and an explicit node list. */
static inline struct np_request nodes_request(const char *nodes, unsigned int exclusive_cpus)
{
        return (struct np_request){
                .policy = NP_POLICY_BIND,
                .annotated = true,
                .nodes = np_test_cpulist(nodes),
                .exclusive_cpus = exclusive_cpus,
        };
}

static inline int place(struct scenario *s, const struct np_request *request, unsigned int flags)
{
        memset(&s->diag, 0, sizeof(s->diag));
        memset(&s->placement, 0, sizeof(s->placement));
        return np_policy_place(s->topology, &s->config, &s->usage, request, &s->demand, flags, &s->diag, &s->placement);
}

/* Places and fails the test with the refusal's message if it is refused. */
static inline void place_ok(struct scenario *s, const struct np_request *request)
{
        int r = place(s, request, 0);

        if (r < 0)
                fail_msg("placement refused (%d): %s", r, s->diag.message);
}

/* Adds the last placement to the usage, as the ledger would. */
static inline void hold(struct scenario *s)
{
        np_usage_add(&s->usage, s->placement.policy, &s->placement.nodes, &s->placement.exclusive_cpus,
                     &s->placement.demand);
}

static inline void assert_contains(const char *text, const char *needle)
{
        if (!strstr(text, needle))
                fail_msg("'%s' does not contain '%s'", text, needle);
}

/* Holds `exclusive_cpus` CPUs of `nodes` as another container would. */
static inline void hold_exclusive(struct scenario *s, const char *nodes, unsigned int exclusive_cpus)
{
        struct np_request request = nodes_request(nodes, exclusive_cpus);
        struct np_demand demand = s->demand;

        s->demand = (struct np_demand){};
        place_ok(s, &request);
        hold(s);
        s->demand = demand;
}
