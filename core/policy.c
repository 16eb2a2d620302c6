// SPDX-License-Identifier: MIT
/* The placement decision. `auto` takes the node with the most free CPU
 * capacity that fits the CPU and memory demand; when one node is not enough (or
 * node-count asks for more) the set with the smallest total distance. Exclusive
 * CPUs come as whole SMT cores first, packed into one L3 where they fit. Every
 * tie is broken by the lower node or CPU id, so the same inputs always give the
 * same answer. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

/* Exhaustive search over node sets up to this many combinations; beyond it a
 * greedy closest-neighbour search from every seed node. */
#define MAX_COMBINATIONS 4096

struct node_free {
        unsigned int id;
        unsigned int index;           /* in topology->nodes */
        unsigned int exclusive_count; /* CPUs not reserved and not held exclusively */
        unsigned int shared_count;    /* the same minus isolated CPUs */
        int64_t cpu_free_millis;      /* shared pool capacity minus shared demand */
        uint64_t memory_free_bytes;
};

void np_usage_init(struct np_usage *usage)
{
        memset(usage, 0, sizeof(*usage));
}

void np_usage_add(struct np_usage *usage, enum np_policy policy, const struct np_cpulist *nodes,
                  const struct np_cpulist *exclusive_cpus, const struct np_demand *demand)
{
        unsigned int n_nodes = np_cpulist_count(nodes);
        bool exclusive = !np_cpulist_empty(exclusive_cpus);

        usage->containers++;
        np_cpulist_or(&usage->exclusive_cpus, exclusive_cpus);
        /* counted as leaves_shared_cpus() in core/ledger.c counts them */
        if (!exclusive && policy == NP_POLICY_NONE)
                usage->shared_unbound++;
        if (n_nodes == 0)
                return;
        NP_CPULIST_FOREACH(id, nodes) {
                if (id >= NP_MAX_NODES)
                        break;
                if (!exclusive)
                        usage->shared_cpu_millis[id] += demand->cpu_millis / n_nodes;
                if (!exclusive && policy != NP_POLICY_NONE)
                        usage->shared_containers[id]++;
                if (policy != NP_POLICY_CPUS_ONLY)
                        usage->memory_bytes[id] += demand->memory_bytes / n_nodes;
        }
}

void np_usage_remove_shared(struct np_usage *usage, enum np_policy policy, const struct np_cpulist *nodes,
                            const struct np_demand *demand)
{
        unsigned int n_nodes = np_cpulist_count(nodes);

        if (usage->containers > 0)
                usage->containers--;
        if (policy == NP_POLICY_NONE && usage->shared_unbound > 0)
                usage->shared_unbound--;
        if (n_nodes == 0)
                return;
        NP_CPULIST_FOREACH(id, nodes) {
                if (id >= NP_MAX_NODES)
                        break;
                usage->shared_cpu_millis[id] -= MIN(usage->shared_cpu_millis[id], demand->cpu_millis / n_nodes);
                if (policy != NP_POLICY_NONE && usage->shared_containers[id] > 0)
                        usage->shared_containers[id]--;
                if (policy != NP_POLICY_CPUS_ONLY)
                        usage->memory_bytes[id] -= MIN(usage->memory_bytes[id], demand->memory_bytes / n_nodes);
        }
}

static void format_bytes(uint64_t bytes, char *buf, size_t size)
{
        if (bytes >= (UINT64_C(1) << 30))
                snprintf(buf, size, "%.1f GiB", (double)bytes / (double)(UINT64_C(1) << 30));
        else
                snprintf(buf, size, "%llu MiB", (unsigned long long)(bytes >> 20));
}

/* Free capacity of every node, from one pass over the CPUs. */
static int compute_free(const struct np_topology *t, const struct np_config *config, const struct np_usage *usage,
                        struct node_free **ret_free)
{
        struct node_free *free_nodes = calloc(t->n_nodes, sizeof(*free_nodes));

        if (!free_nodes)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_nodes; i++) {
                const struct np_node *node = &t->nodes[i];
                uint64_t total = node->memory_total_kb * 1024, free_now = node->memory_free_kb * 1024;
                uint64_t reserved = usage->memory_bytes[node->id];
                uint64_t unreserved = total > reserved ? total - reserved : 0;

                free_nodes[i].id = node->id;
                free_nodes[i].index = (unsigned int)i;
                free_nodes[i].memory_free_bytes = MIN(free_now, unreserved);
        }
        for (size_t c = 0; c < t->n_cpus; c++) {
                const struct np_cpu *cpu = &t->cpus[c];
                struct node_free *nf = &free_nodes[t->node_index[cpu->node]];

                if (np_cpulist_test(&config->reserved_cpus, cpu->id) ||
                    np_cpulist_test(&usage->exclusive_cpus, cpu->id))
                        continue;
                nf->exclusive_count++;
                if (!np_cpulist_test(&t->isolated_cpus, cpu->id))
                        nf->shared_count++;
        }
        for (size_t i = 0; i < t->n_nodes; i++)
                free_nodes[i].cpu_free_millis = (int64_t)free_nodes[i].shared_count * 1000 -
                                                (int64_t)usage->shared_cpu_millis[free_nodes[i].id];
        *ret_free = free_nodes;
        return 0;
}

struct candidate_set {
        unsigned int members[64];
        unsigned int n;
        unsigned int distance;
        int64_t cpu_free_millis;
        uint64_t memory_free_bytes;
        unsigned int exclusive_count, shared_count;
};

static void set_totals(const struct np_topology *t, const struct node_free *nf, struct candidate_set *set)
{
        set->distance = 0;
        set->cpu_free_millis = 0;
        set->memory_free_bytes = 0;
        set->exclusive_count = set->shared_count = 0;
        for (unsigned int i = 0; i < set->n; i++) {
                const struct node_free *a = &nf[set->members[i]];

                set->cpu_free_millis += a->cpu_free_millis;
                set->memory_free_bytes += a->memory_free_bytes;
                set->exclusive_count += a->exclusive_count;
                set->shared_count += a->shared_count;
                for (unsigned int j = i + 1; j < set->n; j++)
                        set->distance += t->nodes[a->index].distances[nf[set->members[j]].index];
        }
}

static bool set_fits(const struct candidate_set *set, const struct np_request *request, const struct np_demand *demand,
                     bool needs_memory)
{
        if (request->exclusive_cpus > 0) {
                if (set->exclusive_count < request->exclusive_cpus)
                        return false;
        } else if (set->shared_count == 0 || (uint64_t)set->shared_count * 1000 < demand->cpu_millis)
                return false;
        return !needs_memory || set->memory_free_bytes >= demand->memory_bytes;
}

/* True when a is a better choice than b. */
static bool set_better(const struct candidate_set *a, const struct candidate_set *b)
{
        if (a->n > 1 && a->distance != b->distance)
                return a->distance < b->distance;
        if (a->cpu_free_millis != b->cpu_free_millis)
                return a->cpu_free_millis > b->cpu_free_millis;
        if (a->memory_free_bytes != b->memory_free_bytes)
                return a->memory_free_bytes > b->memory_free_bytes;
        return false; /* enumeration order: the lower ids came first */
}

static uint64_t combinations(unsigned int n, unsigned int k)
{
        uint64_t c = 1;

        for (unsigned int i = 1; i <= k; i++) {
                c = c * (n - k + i) / i;
                if (c > MAX_COMBINATIONS)
                        return c;
        }
        return c;
}

/* Best fitting set of k nodes among the candidates (indices into nf). */
static bool best_set(const struct np_topology *t, const struct node_free *nf, const unsigned int *candidates,
                     unsigned int n, unsigned int k, const struct np_request *request, const struct np_demand *demand,
                     bool needs_memory, struct candidate_set *ret_best)
{
        struct candidate_set best = {}, set = { .n = k };
        bool found = false;

        if (k == 0 || k > n || k > ARRAY_SIZE(set.members))
                return false;
        if (combinations(n, k) <= MAX_COMBINATIONS) {
                unsigned int pos[ARRAY_SIZE(set.members)];

                for (unsigned int i = 0; i < k; i++)
                        pos[i] = i;
                for (;;) {
                        for (unsigned int i = 0; i < k; i++)
                                set.members[i] = candidates[pos[i]];
                        set_totals(t, nf, &set);
                        if (set_fits(&set, request, demand, needs_memory) && (!found || set_better(&set, &best))) {
                                best = set;
                                found = true;
                        }
                        /* next combination in lexicographic order */
                        int i = (int)k - 1;
                        while (i >= 0 && pos[i] == n - k + (unsigned int)i)
                                i--;
                        if (i < 0)
                                break;
                        pos[i]++;
                        for (unsigned int j = (unsigned int)i + 1; j < k; j++)
                                pos[j] = pos[j - 1] + 1;
                }
        } else {
                /* from each seed, add the candidate closest to the set so far */
                for (unsigned int seed = 0; seed < n; seed++) {
                        bool used[NP_MAX_NODES] = {};

                        set.n = 1;
                        set.members[0] = candidates[seed];
                        used[seed] = true;
                        while (set.n < k) {
                                unsigned int pick = n, pick_distance = UINT32_MAX;

                                for (unsigned int c = 0; c < n; c++) {
                                        unsigned int d = 0;

                                        if (used[c])
                                                continue;
                                        for (unsigned int m = 0; m < set.n; m++)
                                                d += t->nodes[nf[set.members[m]].index]
                                                             .distances[nf[candidates[c]].index];
                                        if (d < pick_distance) {
                                                pick = c;
                                                pick_distance = d;
                                        }
                                }
                                used[pick] = true;
                                set.members[set.n++] = candidates[pick];
                        }
                        set_totals(t, nf, &set);
                        if (set_fits(&set, request, demand, needs_memory) && (!found || set_better(&set, &best))) {
                                best = set;
                                found = true;
                        }
                }
        }
        if (found)
                *ret_best = best;
        return found;
}

/* "node 0: 2 free CPUs, 3.9 GiB free; node 1: ..." for the given node indices. */
static void describe_free(const struct node_free *nf, const unsigned int *indices, unsigned int n, char *buf,
                          size_t size)
{
        size_t used = 0;

        buf[0] = '\0';
        for (unsigned int i = 0; i < n && used < size; i++) {
                const struct node_free *node = &nf[indices[i]];
                char memory[32];
                int w;

                format_bytes(node->memory_free_bytes, memory, sizeof(memory));
                w = snprintf(buf + used, size - used, "%snode %u: %u free CPUs, %s free", i ? "; " : "", node->id,
                             node->exclusive_count, memory);
                if (w < 0)
                        break;
                used += (size_t)w;
        }
}

static void describe_demand(const struct np_request *request, const struct np_demand *demand, bool needs_memory,
                            char *buf, size_t size)
{
        char memory[32] = "no memory limit";

        if (needs_memory && demand->memory_bytes > 0)
                format_bytes(demand->memory_bytes, memory, sizeof(memory));
        if (request->exclusive_cpus > 0)
                snprintf(buf, size, "%u exclusive CPUs (cpus.numapin.io) and %s", request->exclusive_cpus, memory);
        else
                snprintf(buf, size, "%.1f shared CPUs and %s", (double)demand->cpu_millis / 1000.0, memory);
}

struct core_state {
        unsigned short total;     /* online CPUs of the core */
        unsigned short available; /* of which free for exclusive use */
};

/* Takes `want` exclusive CPUs from one node: whole free cores first, from the
 * L3 group that fits them most tightly, then single threads of cores that are
 * already split, then threads of whole cores. */
static unsigned int pick_exclusive(const struct np_topology *t, unsigned int node_id,
                                   const struct np_cpulist *available, struct core_state *cores, unsigned int want,
                                   struct np_cpulist *picked)
{
        unsigned int taken = 0;
        int best_l3 = -1;
        unsigned int best_l3_free = UINT32_MAX;

        /* the smallest L3 group whose whole free cores hold `want` CPUs */
        struct {
                int l3;
                unsigned int free;
        } groups[64];
        unsigned int n_groups = 0;

        for (size_t c = 0; c < t->n_cpus; c++) {
                const struct np_cpu *cpu = &t->cpus[c];
                const struct core_state *core = &cores[cpu->core_index];
                unsigned int g = 0;

                if (cpu->node != node_id || cpu->l3 < 0 || core->available != core->total ||
                    !np_cpulist_test(available, cpu->id))
                        continue;
                while (g < n_groups && groups[g].l3 != cpu->l3)
                        g++;
                if (g == n_groups) {
                        if (n_groups == ARRAY_SIZE(groups))
                                continue;
                        groups[n_groups++] = (typeof(groups[0])){ .l3 = cpu->l3 };
                }
                groups[g].free++;
        }
        for (unsigned int g = 0; g < n_groups; g++)
                if (groups[g].free >= want && groups[g].free < best_l3_free) {
                        best_l3 = groups[g].l3;
                        best_l3_free = groups[g].free;
                }

        /* pass 0: whole cores in the best L3; 1: whole cores anywhere;
         * 2: threads of split cores; 3: any thread */
        for (int pass = 0; pass < 4 && taken < want; pass++) {
                for (size_t c = 0; c < t->n_cpus && taken < want; c++) {
                        const struct np_cpu *cpu = &t->cpus[c];
                        struct core_state *core = &cores[cpu->core_index];
                        bool whole = core->available == core->total;

                        if (cpu->node != node_id || !np_cpulist_test(available, cpu->id) ||
                            np_cpulist_test(picked, cpu->id))
                                continue;
                        if (pass == 0 && (!whole || cpu->l3 != best_l3 || best_l3 < 0))
                                continue;
                        if (pass <= 1 && (!whole || want - taken < core->total))
                                continue;
                        if (pass == 2 && whole)
                                continue;
                        if (pass <= 1) {
                                /* take the whole core: every sibling of this CPU */
                                for (size_t s = c; s < t->n_cpus; s++)
                                        if (t->cpus[s].core_index == cpu->core_index) {
                                                np_cpulist_set(picked, t->cpus[s].id);
                                                taken++;
                                        }
                                core->available = 0;
                                continue;
                        }
                        np_cpulist_set(picked, cpu->id);
                        core->available--;
                        taken++;
                }
        }
        return taken;
}

static int compare_exclusive_desc(const void *a, const void *b, void *arg)
{
        const struct node_free *nf = arg;
        const struct node_free *x = &nf[*(const unsigned int *)a], *y = &nf[*(const unsigned int *)b];

        if (x->exclusive_count != y->exclusive_count)
                return x->exclusive_count > y->exclusive_count ? -1 : 1;
        return x->id < y->id ? -1 : x->id > y->id;
}

void np_policy_shared_cpus(const struct np_topology *t, const struct np_config *config,
                           const struct np_cpulist *exclusive_cpus, const struct np_cpulist *nodes,
                           struct np_cpulist *ret_cpus)
{
        np_topology_node_cpus(t, nodes, ret_cpus);
        np_cpulist_andnot(ret_cpus, &config->reserved_cpus);
        np_cpulist_andnot(ret_cpus, exclusive_cpus);
        np_cpulist_andnot(ret_cpus, &t->isolated_cpus);
}

static int choose_cpus(const struct np_topology *t, const struct np_config *config, const struct np_usage *usage,
                       const struct np_request *request, const struct node_free *nf, const struct candidate_set *set,
                       struct np_placement *placement)
{
        struct np_cpulist available;
        unsigned int order[ARRAY_SIZE(set->members)];

        np_topology_node_cpus(t, &placement->nodes, &available);
        np_cpulist_andnot(&available, &config->reserved_cpus);
        np_cpulist_andnot(&available, &usage->exclusive_cpus);

        if (request->exclusive_cpus == 0) {
                np_policy_shared_cpus(t, config, &usage->exclusive_cpus, &placement->nodes, &placement->cpus);
                return 0;
        }

        _cleanup_free_ struct core_state *cores = calloc(t->n_cores, sizeof(*cores));
        unsigned int want = request->exclusive_cpus;

        if (!cores)
                return -ENOMEM;
        for (size_t c = 0; c < t->n_cpus; c++) {
                cores[t->cpus[c].core_index].total++;
                if (np_cpulist_test(&available, t->cpus[c].id))
                        cores[t->cpus[c].core_index].available++;
        }
        memcpy(order, set->members, set->n * sizeof(order[0]));
        qsort_r(order, set->n, sizeof(order[0]), compare_exclusive_desc, (void *)nf);
        for (unsigned int i = 0; i < set->n && want > 0; i++)
                want -= pick_exclusive(t, nf[order[i]].id, &available, cores, want, &placement->exclusive_cpus);
        if (want > 0)
                return -ENOSPC; /* set_fits() promised otherwise */
        placement->cpus = placement->exclusive_cpus;
        return 0;
}

static void append_reason(struct np_placement *placement, const char *fmt, ...) _printf_(2, 3);
static void append_reason(struct np_placement *placement, const char *fmt, ...)
{
        size_t used = strlen(placement->reason);
        va_list ap;

        if (used >= sizeof(placement->reason) - 1)
                return;
        va_start(ap, fmt);
        vsnprintf(placement->reason + used, sizeof(placement->reason) - used, fmt, ap);
        va_end(ap);
}

int np_policy_place(const struct np_topology *t, const struct np_config *config, const struct np_usage *usage,
                    const struct np_request *request, const struct np_demand *demand, unsigned int flags,
                    struct np_diag *diag, struct np_placement *ret_placement)
{
        _cleanup_free_ struct node_free *nf = NULL;
        _cleanup_free_ unsigned int *candidates = NULL;
        struct np_placement placement = { .policy = request->policy, .demand = *demand };
        struct candidate_set chosen = {};
        bool needs_memory = request->policy != NP_POLICY_CPUS_ONLY;
        char list[NP_CPULIST_BUFSIZE], free_text[3072], demand_text[128];
        unsigned int n_candidates = 0;
        int r;

        if (request->policy == NP_POLICY_NONE) {
                snprintf(placement.reason, sizeof(placement.reason), "%s",
                         request->sandbox     ? "pod sandbox container: left alone"
                         : request->annotated ? "policy none: left alone"
                                              : "no numapin annotation and the default policy is none: left alone");
                *ret_placement = placement;
                return 0;
        }
        if ((request->policy == NP_POLICY_PREFERRED || request->policy == NP_POLICY_INTERLEAVE) &&
            !(flags & NP_PLACE_MEMORY_POLICY))
                return np_diag_fail(
                        diag, -EOPNOTSUPP,
                        "policy '%s' needs a memory policy (linux.memoryPolicy), which cannot be given here: an OCI hook runs after the runtime has read config.json, and NRI carries it only from v0.12 on; use policy 'bind', or numapin's NRI plugin with a runtime whose NRI is v0.12 or later",
                        np_policy_to_string(request->policy));

        r = compute_free(t, config, usage, &nf);
        if (r < 0)
                return r;
        candidates = calloc(t->n_nodes, sizeof(*candidates));
        if (!candidates)
                return -ENOMEM;

        if (!request->nodes_auto) {
                NP_CPULIST_FOREACH(id, &request->nodes) {
                        if (!np_topology_node(t, (unsigned int)id)) {
                                np_cpulist_format(&t->node_ids, list, sizeof(list));
                                return np_diag_fail(
                                        diag, -ENOENT,
                                        "annotation '%s': node %d does not exist on this machine; expected auto or a list of its nodes (%s)",
                                        request->nodes_key[0] ? request->nodes_key : "nodes.numapin.io", id, list);
                        }
                        candidates[n_candidates++] = (unsigned int)t->node_index[id];
                }
                chosen.n = n_candidates;
                if (chosen.n > ARRAY_SIZE(chosen.members))
                        return np_diag_fail(diag, -E2BIG, "annotation '%s': more than %zu nodes",
                                            request->nodes_key[0] ? request->nodes_key : "nodes.numapin.io",
                                            ARRAY_SIZE(chosen.members));
                memcpy(chosen.members, candidates, n_candidates * sizeof(*candidates));
                set_totals(t, nf, &chosen);
                if (!set_fits(&chosen, request, demand, needs_memory)) {
                        describe_free(nf, candidates, n_candidates, free_text, sizeof(free_text));
                        describe_demand(request, demand, needs_memory, demand_text, sizeof(demand_text));
                        np_cpulist_format(&request->nodes, list, sizeof(list));
                        return np_diag_fail(diag, -ENOSPC, "nodes %s cannot hold %s: %s", list, demand_text, free_text);
                }
                np_cpulist_format(&request->nodes, list, sizeof(list));
                append_reason(&placement, "nodes %s as annotated", list);
        } else {
                unsigned int first_k = request->node_count ? request->node_count : 1;
                unsigned int last_k;
                bool found = false;

                for (size_t i = 0; i < t->n_nodes; i++)
                        if (!np_cpulist_empty(&t->nodes[i].cpus))
                                candidates[n_candidates++] = (unsigned int)i;
                last_k = request->node_count ? request->node_count : n_candidates;
                if (request->node_count > n_candidates)
                        return np_diag_fail(
                                diag, -EINVAL, "annotation '%s': %u nodes asked, this machine has %u nodes with CPUs",
                                request->node_count_key[0] ? request->node_count_key : "node-count.numapin.io",
                                request->node_count, n_candidates);
                for (unsigned int k = first_k; k <= last_k && !found; k++)
                        found = best_set(t, nf, candidates, n_candidates, k, request, demand, needs_memory, &chosen);
                if (!found) {
                        describe_free(nf, candidates, n_candidates, free_text, sizeof(free_text));
                        describe_demand(request, demand, needs_memory, demand_text, sizeof(demand_text));
                        return np_diag_fail(diag, -ENOSPC, "no %s fits %s: %s",
                                            request->node_count > 1 ? "set of nodes" : "node or set of nodes",
                                            demand_text, free_text);
                }
                for (unsigned int i = 0; i < chosen.n; i++)
                        np_cpulist_set(&placement.nodes, nf[chosen.members[i]].id);
                np_cpulist_format(&placement.nodes, list, sizeof(list));
                if (chosen.n == 1) {
                        char memory[32];
                        format_bytes(chosen.memory_free_bytes, memory, sizeof(memory));
                        append_reason(&placement,
                                      "auto: node %s has the most free capacity that fits (%u free CPUs, %s free)",
                                      list, chosen.exclusive_count, memory);
                } else
                        append_reason(&placement,
                                      "auto: nodes %s are the closest set of %u that fits (total distance %u)", list,
                                      chosen.n, chosen.distance);
        }
        if (!request->nodes_auto)
                placement.nodes = request->nodes;

        r = choose_cpus(t, config, usage, request, nf, &chosen, &placement);
        if (r < 0)
                return np_diag_fail(diag, r, "cannot choose CPUs on nodes %s: %s", list, strerror(-r));
        if (np_cpulist_empty(&placement.cpus))
                return np_diag_fail(
                        diag, -ENOSPC,
                        "nodes %s have no CPU left for this container (memory-only, reserved or held exclusively); add a node with free CPUs",
                        list);
        np_cpulist_format(&placement.cpus, list, sizeof(list));
        if (request->exclusive_cpus > 0)
                append_reason(&placement, "; exclusive CPU%s %s, whole cores first",
                              request->exclusive_cpus == 1 ? "" : "s", list);
        else
                append_reason(&placement, "; shared CPUs %s (not reserved, not held exclusively)", list);

        if (request->policy == NP_POLICY_CPUS_ONLY) {
                placement.mems = t->memory_nodes;
                placement.write_mems = false;
                append_reason(&placement, "; memory left alone (cpus-only)");
        } else {
                /* a node with CPUs but no memory cannot be in cpuset.mems */
                placement.mems = placement.nodes;
                np_cpulist_and(&placement.mems, &t->memory_nodes);
                if (np_cpulist_empty(&placement.mems)) {
                        np_cpulist_format(&placement.nodes, list, sizeof(list));
                        return np_diag_fail(diag, -ENOSPC,
                                            "nodes %s have no memory; choose nodes with memory, or policy cpus-only",
                                            list);
                }
                placement.write_mems = request->policy == NP_POLICY_BIND;
        }
        *ret_placement = placement;
        return 0;
}

void np_policy_from_cpuset(const struct np_topology *topology, const struct np_request *request,
                           const struct np_cpulist *cpus, const struct np_cpulist *mems,
                           const struct np_demand *demand, struct np_placement *ret_placement)
{
        struct np_placement placement = { .policy = request->policy, .cpus = *cpus, .demand = *demand };

        placement.mems = mems ? *mems : topology->memory_nodes;
        for (size_t i = 0; i < topology->n_nodes; i++)
                if (np_cpulist_intersects(&topology->nodes[i].cpus, cpus))
                        np_cpulist_set(&placement.nodes, topology->nodes[i].id);
        if (request->exclusive_cpus > 0)
                placement.exclusive_cpus = *cpus;
        placement.write_mems = request->policy == NP_POLICY_BIND;
        snprintf(placement.reason, sizeof(placement.reason), "placed before: counted from its cpuset");
        *ret_placement = placement;
}
