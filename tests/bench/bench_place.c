// SPDX-License-Identifier: MIT
/* Times one placement decision on a large fixture topology: with an empty
 * ledger (the baseline) and with hundreds of existing allocations. Prints
 * "<empty-ns> <loaded-ns> <nodes> <cpus>": the median time of a decision in
 * batches, and the machine's size.
 * usage: bench_place SYSFS-ROOT ALLOCATIONS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../core/policy.h"
#include "../../core/topology.h"

#define BATCHES   31
#define PER_BATCH 2000

static double now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int compare_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static void decide(const struct np_topology *t, const struct np_config *config, const struct np_usage *usage,
                   const struct np_request *request, const struct np_demand *demand)
{
        struct np_placement placement;

        if (np_policy_place(t, config, usage, request, demand, 0, NULL, &placement) < 0) {
                fprintf(stderr, "bench_place: placement failed\n");
                exit(1);
        }
}

/* Median time of one decision for a 4-exclusive-CPU request, in batches of about
 * 4 ms each (at most PER_BATCH decisions) so that the largest machines take as
 * long in all as the small ones. */
static double time_decisions(const struct np_topology *t, const struct np_config *config, const struct np_usage *usage)
{
        struct np_request request = {
                .policy = NP_POLICY_BIND, .annotated = true, .nodes_auto = true, .exclusive_cpus = 4
        };
        struct np_demand demand = { .memory_bytes = UINT64_C(1) << 30 };
        double batches[BATCHES], start = now_ns();
        int per_batch;

        for (int i = 0; i < 10; i++)
                decide(t, config, usage, &request, &demand);
        per_batch = (int)(4e6 / ((now_ns() - start) / 10));
        per_batch = per_batch < 10 ? 10 : per_batch > PER_BATCH ? PER_BATCH : per_batch;
        for (int b = 0; b < BATCHES; b++) {
                start = now_ns();
                for (int i = 0; i < per_batch; i++)
                        decide(t, config, usage, &request, &demand);
                batches[b] = (now_ns() - start) / per_batch;
        }
        qsort(batches, BATCHES, sizeof(batches[0]), compare_double);
        return batches[BATCHES / 2];
}

int main(int argc, char **argv)
{
        struct np_topology *t = NULL;
        struct np_config config;
        static struct np_usage empty, loaded;
        struct np_diag diag = {};
        int allocations;

        if (argc != 3 || (allocations = atoi(argv[2])) < 0) {
                fprintf(stderr, "usage: bench_place SYSFS-ROOT ALLOCATIONS\n");
                return 2;
        }
        if (np_topology_load(argv[1], &diag, &t) < 0) {
                fprintf(stderr, "bench_place: %s\n", diag.message);
                return 1;
        }
        np_config_init(&config);
        np_usage_init(&empty);
        np_usage_init(&loaded);
        /* existing containers: one exclusive CPU each, then shared ones, spread over the nodes */
        for (int i = 0; i < allocations; i++) {
                const struct np_cpu *cpu = &t->cpus[(size_t)(i * 3) % t->n_cpus];
                struct np_cpulist nodes, exclusive;
                struct np_demand demand = { .cpu_millis = 500, .memory_bytes = UINT64_C(256) << 20 };

                np_cpulist_zero(&nodes);
                np_cpulist_zero(&exclusive);
                np_cpulist_set(&nodes, cpu->node);
                if (i % 2 == 0)
                        np_cpulist_set(&exclusive, cpu->id);
                np_usage_add(&loaded, NP_POLICY_BIND, &nodes, &exclusive, &demand);
        }
        printf("%.0f %.0f %zu %zu\n", time_decisions(t, &config, &empty), time_decisions(t, &config, &loaded),
               t->n_nodes, t->n_cpus);
        np_topology_free(t);
        return 0;
}
