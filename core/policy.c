// SPDX-License-Identifier: MIT
/* The placement decision. `auto` takes the fewest nodes that fit the CPU and memory
 * demand (or node-count of them), ranked by nearness to the container's devices, then
 * the smallest total distance, then the strategy: spread the most free capacity, pack
 * the least; exclusive CPUs keep off the last shared CPU of shared containers where
 * they can. A pod's containers go on the nodes its first chose, for the pod's demand.
 * Exclusive CPUs come as whole SMT cores first, packed into one L3 where they fit.
 * Every tie is broken by the lower node or CPU id, so the same inputs always give the
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
        unsigned int cpu_count;       /* online CPUs, 0 for a memory-only node */
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
        np_usage_add_words(usage, policy, np_cpulist_words(nodes), np_cpulist_words(exclusive_cpus), demand);
}

void np_usage_add_words(struct np_usage *usage, enum np_policy policy, struct np_cpuwords nodes,
                        struct np_cpuwords exclusive_cpus, const struct np_demand *demand)
{
        unsigned int n_nodes = np_cpuwords_count(nodes);
        bool exclusive = np_cpuwords_count(exclusive_cpus) > 0;

        usage->containers++;
        np_cpulist_or_words(&usage->exclusive_cpus, exclusive_cpus);
        /* counted as leaves_shared_cpus() in core/ledger.c counts them */
        if (!exclusive && policy == NP_POLICY_NONE)
                usage->shared_unbound++;
        if (n_nodes == 0)
                return;
        NP_CPUWORDS_FOREACH(id, nodes) {
                if (id >= NP_MAX_NODES)
                        break;
                if (!exclusive)
                        usage->nodes[id].shared_cpu_millis += demand->cpu_millis / n_nodes;
                if (!exclusive && policy != NP_POLICY_NONE)
                        usage->nodes[id].shared_containers++;
                if (policy != NP_POLICY_CPUS_ONLY)
                        usage->nodes[id].memory_bytes += demand->memory_bytes / n_nodes;
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
                usage->nodes[id].shared_cpu_millis -=
                        MIN(usage->nodes[id].shared_cpu_millis, demand->cpu_millis / n_nodes);
                if (policy != NP_POLICY_NONE && usage->nodes[id].shared_containers > 0)
                        usage->nodes[id].shared_containers--;
                if (policy != NP_POLICY_CPUS_ONLY)
                        usage->nodes[id].memory_bytes -=
                                MIN(usage->nodes[id].memory_bytes, demand->memory_bytes / n_nodes);
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
                uint64_t reserved = usage->nodes[node->id].memory_bytes;
                uint64_t unreserved = total > reserved ? total - reserved : 0;

                free_nodes[i].id = node->id;
                free_nodes[i].index = (unsigned int)i;
                free_nodes[i].memory_free_bytes = MIN(free_now, unreserved);
        }
        /* a word of 64 CPUs at a time: on an 8192-CPU machine a bit at a time is most of the decision */
        for (size_t i = 0; i < t->n_nodes; i++) {
                const struct np_node *node = &t->nodes[i];
                const uint64_t *cpus = node->cpus.bits;

                free_nodes[i].cpu_count = node->n_cpus;
                for (size_t w = node->cpu_words_start; w < node->cpu_words_end; w++) {
                        uint64_t free_bits;

                        free_bits = cpus[w] & ~config->reserved_cpus.bits[w] & ~usage->exclusive_cpus.bits[w];
                        free_nodes[i].exclusive_count += np_popcount64(free_bits);
                        free_nodes[i].shared_count += np_popcount64(free_bits & ~t->isolated_cpus.bits[w]);
                }
        }
        for (size_t i = 0; i < t->n_nodes; i++)
                free_nodes[i].cpu_free_millis = (int64_t)free_nodes[i].shared_count * 1000 -
                                                (int64_t)usage->nodes[free_nodes[i].id].shared_cpu_millis;
        *ret_free = free_nodes;
        return 0;
}

struct candidate_set {
        unsigned int members[64];
        unsigned int n;
        unsigned int distance;
        unsigned int device_distance; /* sum over the device nodes of the distance from the nearest member */
        bool within_devices;          /* every member is a device node */
        int64_t cpu_free_millis;
        uint64_t memory_free_bytes;
        unsigned int exclusive_count, shared_count;
};

/* What ranks and limits the candidate sets of one `auto` placement. */
struct rank {
        bool pack; /* strategy pack: the least free capacity first, else the most */
        const struct np_cpulist *device_nodes;
        const unsigned int *device_indices; /* the device nodes, as indices into topology->nodes */
        unsigned int n_devices;             /* 0: devices do not rank */
        uint64_t pod_cpu_millis;            /* pod scope, exclusive request: CPU the set must hold for the pod */
        const struct np_usage *usage;       /* exclusive request: keep a shared CPU for shared containers; or NULL */
        unsigned int machine_shared_count;  /* shared CPUs of the whole machine */
        unsigned int shared_refused;        /* sets that fit but would take a shared container's last CPU */
        bool devices_fit;                   /* some fitting set holds device nodes only */
};

static void set_totals(const struct np_topology *t, const struct node_free *nf, const struct rank *rank,
                       struct candidate_set *set)
{
        set->distance = 0;
        set->device_distance = 0;
        set->within_devices = rank->n_devices > 0;
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
                if (rank->n_devices > 0 && !np_cpulist_test(rank->device_nodes, a->id))
                        set->within_devices = false;
        }
        for (unsigned int d = 0; d < rank->n_devices; d++) {
                unsigned int nearest = UINT32_MAX;

                for (unsigned int i = 0; i < set->n; i++)
                        nearest = MIN(nearest, t->nodes[nf[set->members[i]].index].distances[rank->device_indices[d]]);
                set->device_distance += nearest;
        }
}

/* Whether taking `want` exclusive CPUs from the set leaves a shared CPU on each of its nodes
 * that shared containers are bound to, and one on the machine for those of policy none, as
 * leaves_shared_cpus() in core/ledger.c demands. choose_cpus() takes all it can from one node
 * after the other, the most free first (ties: the lower id), so what it takes from each node is
 * known; taken as shared CPUs, which is exact on a node without free isolated CPUs and
 * conservative on one with them. A container bound to several nodes counts on each. */
static bool keeps_shared_cpus(const struct node_free *nf, const struct rank *rank, const struct candidate_set *set,
                              unsigned int want)
{
        if (rank->usage->shared_unbound > 0 && rank->machine_shared_count <= MIN(want, set->shared_count))
                return false;
        for (unsigned int i = 0; i < set->n; i++) {
                const struct node_free *a = &nf[set->members[i]];
                unsigned int before = 0, take;

                if (rank->usage->nodes[a->id].shared_containers == 0)
                        continue;
                for (unsigned int j = 0; j < set->n; j++) {
                        const struct node_free *b = &nf[set->members[j]];

                        if (b->exclusive_count > a->exclusive_count ||
                            (b->exclusive_count == a->exclusive_count && b->id < a->id))
                                before += b->exclusive_count;
                }
                take = want > before ? MIN(want - before, a->exclusive_count) : 0;
                if (a->shared_count <= take)
                        return false;
        }
        return true;
}

static bool set_fits(const struct node_free *nf, struct rank *rank, const struct candidate_set *set,
                     const struct np_request *request, const struct np_demand *demand, bool needs_memory)
{
        if (request->exclusive_cpus > 0) {
                if (set->exclusive_count < request->exclusive_cpus ||
                    (uint64_t)set->exclusive_count * 1000 < rank->pod_cpu_millis)
                        return false;
        } else if (set->shared_count == 0 || (uint64_t)set->shared_count * 1000 < demand->cpu_millis)
                return false;
        if (needs_memory && set->memory_free_bytes < demand->memory_bytes)
                return false;
        if (request->exclusive_cpus > 0 && rank->usage && !keeps_shared_cpus(nf, rank, set, request->exclusive_cpus)) {
                rank->shared_refused++;
                return false;
        }
        return true;
}

/* True when a is a better choice than b: nearer the devices, then closer together, then the
 * strategy's order on free capacity (spread: the most, pack: the least). */
static bool set_better(const struct rank *rank, const struct candidate_set *a, const struct candidate_set *b)
{
        if (a->device_distance != b->device_distance)
                return a->device_distance < b->device_distance;
        if (a->n > 1 && a->distance != b->distance)
                return a->distance < b->distance;
        if (a->cpu_free_millis != b->cpu_free_millis)
                return (a->cpu_free_millis > b->cpu_free_millis) != rank->pack;
        if (a->memory_free_bytes != b->memory_free_bytes)
                return (a->memory_free_bytes > b->memory_free_bytes) != rank->pack;
        return false; /* enumeration order: the lower ids came first */
}

/* Keeps `set` in `best` when it fits and ranks above it. */
static void consider(const struct node_free *nf, struct rank *rank, const struct candidate_set *set,
                     const struct np_request *request, const struct np_demand *demand, bool needs_memory,
                     struct candidate_set *best, bool *found)
{
        if (!set_fits(nf, rank, set, request, demand, needs_memory))
                return;
        if (set->within_devices)
                rank->devices_fit = true;
        if (!*found || set_better(rank, set, best)) {
                *best = *set;
                *found = true;
        }
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
                     unsigned int n, unsigned int k, struct rank *rank, const struct np_request *request,
                     const struct np_demand *demand, bool needs_memory, struct candidate_set *ret_best)
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
                        set_totals(t, nf, rank, &set);
                        consider(nf, rank, &set, request, demand, needs_memory, &best, &found);
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
                        set_totals(t, nf, rank, &set);
                        consider(nf, rank, &set, request, demand, needs_memory, &best, &found);
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

        struct np_cpulist node_available = t->nodes[t->node_index[node_id]].cpus;

        np_cpulist_and(&node_available, available);
        NP_CPULIST_FOREACH(id, &node_available) {
                const struct np_cpu *cpu = &t->cpus[t->cpu_index[id]];
                const struct core_state *core = &cores[cpu->core_index];
                unsigned int g = 0;

                if (cpu->l3 < 0 || core->available != core->total)
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
                for (int c = np_cpulist_next(&node_available, 0); c >= 0 && taken < want;
                     c = np_cpulist_next(&node_available, (unsigned int)c + 1)) {
                        const struct np_cpu *cpu = &t->cpus[t->cpu_index[c]];
                        struct core_state *core = &cores[cpu->core_index];
                        bool whole = core->available == core->total;

                        if (np_cpulist_test(picked, cpu->id))
                                continue;
                        if (pass == 0 && (!whole || cpu->l3 != best_l3 || best_l3 < 0))
                                continue;
                        if (pass <= 1 && (!whole || want - taken < core->total))
                                continue;
                        if (pass == 2 && whole)
                                continue;
                        if (pass <= 1) {
                                /* take the whole core: every sibling of this CPU (all on its node) */
                                NP_CPULIST_FOREACH(s, &node_available)
                                        if (s >= c && t->cpus[t->cpu_index[s]].core_index == cpu->core_index) {
                                                np_cpulist_set(picked, (unsigned int)s);
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
        /* the cores of the chosen nodes only: a core is on one node */
        NP_CPULIST_FOREACH(id, &placement->nodes) {
                const struct np_node *node = np_topology_node(t, (unsigned int)id);

                NP_CPULIST_FOREACH(c, &node->cpus) {
                        struct core_state *core = &cores[t->cpus[t->cpu_index[c]].core_index];

                        core->total++;
                        if (np_cpulist_test(&available, (unsigned int)c))
                                core->available++;
                }
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

/* Adds to the reason; `placement` NULL: no one reads it (NP_PLACE_NO_REASON). */
static void append_reason(struct np_placement *placement, const char *fmt, ...) _printf_(2, 3);
static void append_reason(struct np_placement *placement, const char *fmt, ...)
{
        size_t used;
        va_list ap;

        if (!placement)
                return;
        used = strlen(placement->reason);
        if (used >= sizeof(placement->reason) - 1)
                return;
        va_start(ap, fmt);
        vsnprintf(placement->reason + used, sizeof(placement->reason) - used, fmt, ap);
        va_end(ap);
}

/* "pod 'ns/web' (sandbox 0123, scope.numapin.io pod)" and the like, for messages. */
static void describe_pod(const struct np_request *request, char *buf, size_t size)
{
        char name[NP_NAMESPACE_MAX + NP_POD_NAME_MAX + 2] = "";

        if (request->pod_name[0])
                snprintf(name, sizeof(name), "%s%s%s", request->pod_namespace, request->pod_namespace[0] ? "/" : "",
                         request->pod_name);
        if (name[0] && request->pod_id[0])
                snprintf(buf, size, "pod '%s' (sandbox %s, scope.numapin.io pod)", name, request->pod_id);
        else if (name[0])
                snprintf(buf, size, "pod '%s' (scope.numapin.io pod)", name);
        else if (request->pod_id[0])
                snprintf(buf, size, "pod sandbox '%s' (scope.numapin.io pod)", request->pod_id);
        else
                snprintf(buf, size, "the pod (scope.numapin.io pod)");
}

/* The node with CPUs nearest to the memory-only node at `index` in topology->nodes, by the
 * distance from the CPUs' node to it (ties: the lower id), -1 when no node has CPUs.
 * `cpu_nodes` are the indices of the nodes with CPUs, ascending. */
/* The memory-only nodes whose nearest node with CPUs is one of `nodes`. */
static void nearest_memory_only_nodes(const struct np_topology *t, const struct np_cpulist *nodes,
                                      struct np_cpulist *ret_nodes)
{
        np_cpulist_zero(ret_nodes);
        for (size_t i = 0; i < t->n_nodes; i++) {
                int nearest;

                if (!np_cpulist_test(&t->memory_nodes, t->nodes[i].id) || t->nodes[i].n_cpus > 0)
                        continue;
                nearest = np_topology_nearest_cpu_node(t, t->nodes[i].id);
                if (nearest >= 0 && np_cpulist_test(nodes, (unsigned int)nearest))
                        np_cpulist_set(ret_nodes, t->nodes[i].id);
        }
}

/* The reason of an `auto` choice: which rule and strategy chose the nodes. */
static void explain_auto(struct np_placement *placement, const struct rank *rank, const struct candidate_set *chosen,
                         const struct np_request *request, const struct np_demand *node_demand, bool needs_memory,
                         const struct np_cpulist *cpu_node_ids)
{
        const char *strategy = rank->pack ? "pack" : "spread";
        bool several = chosen->n > 1;
        char list[NP_CPULIST_BRIEF], memory[32];

        np_cpulist_brief(&placement->nodes, list, sizeof(list));
        format_bytes(chosen->memory_free_bytes, memory, sizeof(memory));
        if (rank->n_devices > 0) {
                char devices[NP_CPULIST_BRIEF], note[NP_DEVICE_NOTE_MAX + NP_CPULIST_BRIEF + 32];
                struct np_cpulist device_cpu_nodes = *rank->device_nodes;

                np_cpulist_brief(rank->device_nodes, devices, sizeof(devices));
                if (request->device_note[0])
                        snprintf(note, sizeof(note), "%s", request->device_note);
                else
                        snprintf(note, sizeof(note), "devices on nodes %s", devices);
                np_cpulist_and(&device_cpu_nodes, cpu_node_ids);
                if (chosen->within_devices || rank->devices_fit || np_cpulist_empty(&device_cpu_nodes) ||
                    np_cpulist_is_subset(&device_cpu_nodes, &placement->nodes))
                        append_reason(placement, "auto (%s): node%s %s %s nearest the devices (%s): ", strategy,
                                      several ? "s" : "", list, several ? "are" : "is", note);
                else {
                        char demand_text[128];

                        describe_demand(request, node_demand, needs_memory, demand_text, sizeof(demand_text));
                        append_reason(
                                placement,
                                "auto (%s): the devices' nodes %s cannot hold %s; node%s %s %s the nearest that fits (%s): ",
                                strategy, devices, demand_text, several ? "s" : "", list, several ? "are" : "is", note);
                }
                append_reason(placement, "device distance %u, ", chosen->device_distance);
                if (several)
                        append_reason(placement, "total distance %u, ", chosen->distance);
                append_reason(placement, "%u free CPUs, %s free", chosen->exclusive_count, memory);
        } else if (!several && rank->pack)
                append_reason(placement, "auto (pack): node %s is the fullest that fits (%u free CPUs, %s free)", list,
                              chosen->exclusive_count, memory);
        else if (!several)
                append_reason(placement,
                              "auto (spread): node %s has the most free capacity that fits (%u free CPUs, %s free)",
                              list, chosen->exclusive_count, memory);
        else
                append_reason(
                        placement,
                        "auto (%s): nodes %s are the closest set of %u that fits (total distance %u), %s (%u free CPUs, %s free)",
                        strategy, list, chosen->n, chosen->distance,
                        rank->pack ? "the fullest of those" : "the one with the most free capacity",
                        chosen->exclusive_count, memory);
}

int np_policy_place(const struct np_topology *t, const struct np_config *config, const struct np_usage *usage,
                    const struct np_request *request, const struct np_demand *demand, unsigned int flags,
                    struct np_diag *diag, struct np_placement *ret_placement)
{
        _cleanup_free_ struct node_free *nf = NULL;
        _cleanup_free_ unsigned int *candidates = NULL, *cpu_nodes = NULL, *device_indices = NULL;
        struct np_placement placement = { .policy = request->policy, .demand = *demand };
        struct np_placement *explained = flags & NP_PLACE_NO_REASON ? NULL : &placement;
        struct np_demand node_demand = *demand; /* what the nodes must hold: pod scope may ask more */
        struct np_cpulist cpu_node_ids = {};
        struct candidate_set chosen = {};
        enum np_strategy strategy = request->strategy != NP_STRATEGY_DEFAULT ? request->strategy : config->strategy;
        struct rank rank = { .pack = strategy == NP_STRATEGY_PACK };
        bool needs_memory = request->policy != NP_POLICY_CPUS_ONLY;
        bool pod_first = request->scope == NP_SCOPE_POD && !request->pod_nodes_fixed && request->nodes_auto;
        const struct np_cpulist *fixed = NULL; /* the nodes it must go on: as annotated, or the pod's */
        const char *nodes_key = request->nodes_key[0] ? request->nodes_key : "nodes.numapin.io";
        char list[NP_CPULIST_BRIEF], free_text[3072], demand_text[128], pod[640];
        unsigned int n_candidates = 0, n_cpu_nodes = 0;
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
        cpu_nodes = calloc(t->n_nodes, sizeof(*cpu_nodes));
        if (!candidates || !cpu_nodes)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_nodes; i++)
                if (nf[i].cpu_count > 0) {
                        cpu_nodes[n_cpu_nodes++] = (unsigned int)i;
                        np_cpulist_set(&cpu_node_ids, t->nodes[i].id);
                }
        if (request->pod_nodes_fixed || pod_first)
                describe_pod(request, pod, sizeof(pod));

        if (request->pod_nodes_fixed) {
                if (np_cpulist_empty(&request->pod_nodes))
                        return np_diag_fail(diag, -EINVAL,
                                            "%s holds no nodes; expected the nodes of its placed container", pod);
                if (!request->nodes_auto && !np_cpulist_equal(&request->nodes, &request->pod_nodes)) {
                        char pod_list[NP_CPULIST_BRIEF];

                        np_cpulist_brief(&request->nodes, list, sizeof(list));
                        np_cpulist_brief(&request->pod_nodes, pod_list, sizeof(pod_list));
                        return np_diag_fail(
                                diag, -EINVAL,
                                "annotation '%s' asks for nodes %s, but %s holds nodes %s; expected the pod's nodes or no node list",
                                nodes_key, list, pod, pod_list);
                }
                fixed = &request->pod_nodes;
        } else if (!request->nodes_auto)
                fixed = &request->nodes;

        if (fixed) {
                NP_CPULIST_FOREACH(id, fixed) {
                        if (!np_topology_node(t, (unsigned int)id)) {
                                np_cpulist_brief(&t->node_ids, list, sizeof(list));
                                if (request->pod_nodes_fixed)
                                        return np_diag_fail(
                                                diag, -ENOENT,
                                                "%s holds node %d, which does not exist on this machine (nodes %s)",
                                                pod, id, list);
                                return np_diag_fail(
                                        diag, -ENOENT,
                                        "annotation '%s': node %d does not exist on this machine; expected auto or a list of its nodes (%s)",
                                        nodes_key, id, list);
                        }
                        candidates[n_candidates++] = (unsigned int)t->node_index[id];
                }
                chosen.n = n_candidates;
                if (chosen.n > ARRAY_SIZE(chosen.members))
                        return np_diag_fail(diag, -E2BIG, "%s%s%s: more than %zu nodes",
                                            request->pod_nodes_fixed ? "" : "annotation '",
                                            request->pod_nodes_fixed ? pod : nodes_key,
                                            request->pod_nodes_fixed ? "" : "'", ARRAY_SIZE(chosen.members));
                memcpy(chosen.members, candidates, n_candidates * sizeof(*candidates));
                set_totals(t, nf, &rank, &chosen);
                np_cpulist_brief(fixed, list, sizeof(list));
                if (!set_fits(nf, &rank, &chosen, request, demand, needs_memory)) {
                        describe_free(nf, candidates, n_candidates, free_text, sizeof(free_text));
                        describe_demand(request, demand, needs_memory, demand_text, sizeof(demand_text));
                        if (request->pod_nodes_fixed)
                                return np_diag_fail(diag, -ENOSPC, "%s holds nodes %s, which cannot hold %s: %s", pod,
                                                    list, demand_text, free_text);
                        return np_diag_fail(diag, -ENOSPC, "nodes %s cannot hold %s: %s", list, demand_text, free_text);
                }
                if (request->pod_nodes_fixed)
                        append_reason(explained, "pod scope: on the pod's nodes %s, which %s holds", list, pod);
                else
                        append_reason(explained, "nodes %s as annotated", list);
                placement.nodes = *fixed;
        } else {
                unsigned int first_k = request->node_count ? request->node_count : 1;
                unsigned int last_k;
                bool found = false, protect = false;

                memcpy(candidates, cpu_nodes, n_cpu_nodes * sizeof(*cpu_nodes));
                n_candidates = n_cpu_nodes;
                last_k = request->node_count ? request->node_count : n_candidates;
                if (request->node_count > n_candidates)
                        return np_diag_fail(
                                diag, -EINVAL, "annotation '%s': %u nodes asked, this machine has %u nodes with CPUs",
                                request->node_count_key[0] ? request->node_count_key : "node-count.numapin.io",
                                request->node_count, n_candidates);
                if (pod_first) {
                        node_demand.cpu_millis = MAX(demand->cpu_millis, request->pod_demand.cpu_millis);
                        node_demand.memory_bytes = MAX(demand->memory_bytes, request->pod_demand.memory_bytes);
                        if (request->exclusive_cpus > 0)
                                rank.pod_cpu_millis = request->pod_demand.cpu_millis;
                }
                if (request->device_affinity && !np_cpulist_empty(&request->device_nodes)) {
                        device_indices = calloc(t->n_nodes, sizeof(*device_indices));
                        if (!device_indices)
                                return -ENOMEM;
                        NP_CPULIST_FOREACH(id, &request->device_nodes)
                                if (id < NP_MAX_NODES && t->node_index[id] >= 0)
                                        device_indices[rank.n_devices++] = (unsigned int)t->node_index[id];
                        rank.device_nodes = &request->device_nodes;
                        rank.device_indices = device_indices;
                }
                /* an exclusive request first keeps off the last shared CPU of shared containers; when
                 * nothing fits so, np_ledger_place() has the last word */
                if (request->exclusive_cpus > 0) {
                        protect = usage->shared_unbound > 0;
                        for (unsigned int i = 0; i < n_candidates; i++) {
                                rank.machine_shared_count += nf[candidates[i]].shared_count;
                                protect = protect || usage->nodes[nf[candidates[i]].id].shared_containers > 0;
                        }
                }
                for (int pass = protect ? 0 : 1; pass < 2 && !found; pass++) {
                        rank.usage = pass == 0 ? usage : NULL;
                        for (unsigned int k = first_k; k <= last_k && !found; k++)
                                found = best_set(t, nf, candidates, n_candidates, k, &rank, request, &node_demand,
                                                 needs_memory, &chosen);
                }
                if (!found) {
                        describe_free(nf, candidates, n_candidates, free_text, sizeof(free_text));
                        describe_demand(request, &node_demand, needs_memory, demand_text, sizeof(demand_text));
                        return np_diag_fail(diag, -ENOSPC, "no %s fits %s%s%s: %s",
                                            request->node_count > 1 ? "set of nodes" : "node or set of nodes",
                                            demand_text, pod_first ? ", the demand of " : "", pod_first ? pod : "",
                                            free_text);
                }
                for (unsigned int i = 0; i < chosen.n; i++)
                        np_cpulist_set(&placement.nodes, nf[chosen.members[i]].id);
                if (explained)
                        explain_auto(&placement, &rank, &chosen, request, &node_demand, needs_memory, &cpu_node_ids);
                if (rank.usage && rank.shared_refused > 0)
                        append_reason(
                                explained,
                                "; passed over nodes where its exclusive CPUs would take the last shared CPU of a shared container");
                if (pod_first && request->pod_demand.cpu_millis == 0 && request->pod_demand.memory_bytes == 0)
                        append_reason(
                                explained,
                                "; pod scope: the pod's first container, nodes chosen for its own demand (the pod's is unknown)");
                else if (pod_first && explained) {
                        uint64_t cpu_millis =
                                request->exclusive_cpus > 0
                                        ? MAX((uint64_t)request->exclusive_cpus * 1000, request->pod_demand.cpu_millis)
                                        : node_demand.cpu_millis;
                        char memory[32] = "no memory limit";

                        if (needs_memory && node_demand.memory_bytes > 0)
                                format_bytes(node_demand.memory_bytes, memory, sizeof(memory));
                        append_reason(explained, "; pod scope: nodes chosen for the pod's demand (%.1f CPUs, %s)",
                                      (double)cpu_millis / 1000.0, memory);
                }
        }
        if (request->device_note[0] && !request->device_affinity)
                append_reason(explained, "; devices ignored (devices.numapin.io ignore): %s", request->device_note);
        else if (request->device_note[0] && fixed)
                append_reason(explained, "; devices not considered, the nodes are given: %s", request->device_note);
        else if (request->device_note[0] && rank.n_devices == 0)
                append_reason(explained, "; devices: %s", request->device_note);

        r = choose_cpus(t, config, usage, request, nf, &chosen, &placement);
        if (r < 0 || np_cpulist_empty(&placement.cpus))
                np_cpulist_brief(&placement.nodes, list, sizeof(list));
        if (r < 0)
                return np_diag_fail(diag, r, "cannot choose CPUs on nodes %s: %s", list, strerror(-r));
        if (np_cpulist_empty(&placement.cpus))
                return np_diag_fail(
                        diag, -ENOSPC,
                        "nodes %s have no CPU left for this container (memory-only, reserved or held exclusively); add a node with free CPUs",
                        list);
        if (explained)
                np_cpulist_brief(&placement.cpus, list, sizeof(list));
        if (request->exclusive_cpus > 0)
                append_reason(explained, "; exclusive CPU%s %s, whole cores first",
                              request->exclusive_cpus == 1 ? "" : "s", list);
        else
                append_reason(explained, "; shared CPUs %s (not reserved, not held exclusively)", list);

        if (request->policy == NP_POLICY_CPUS_ONLY) {
                placement.mems = t->memory_nodes;
                placement.write_mems = false;
                append_reason(explained, "; memory left alone (cpus-only)");
        } else {
                /* a node with CPUs but no memory cannot be in cpuset.mems */
                placement.mems = placement.nodes;
                np_cpulist_and(&placement.mems, &t->memory_nodes);
                if (request->memory_tier == NP_MEMORY_TIER_EXTENDED && fixed && !request->pod_nodes_fixed)
                        append_reason(explained,
                                      "; memory of the annotated nodes only (memory-tier extended is for auto)");
                else if (request->memory_tier == NP_MEMORY_TIER_EXTENDED) {
                        struct np_cpulist added;

                        nearest_memory_only_nodes(t, &placement.nodes, &added);
                        np_cpulist_andnot(&added, &placement.mems);
                        np_cpulist_or(&placement.mems, &added);
                        np_cpulist_brief(&added, list, sizeof(list));
                        if (np_cpulist_empty(&added))
                                append_reason(explained,
                                              "; memory-tier extended: no memory-only node is nearest to these nodes");
                        else
                                append_reason(
                                        explained,
                                        "; memory-tier extended: memory also on memory-only node%s %s, nearest to these nodes",
                                        np_cpulist_count(&added) == 1 ? "" : "s", list);
                }
                if (np_cpulist_empty(&placement.mems)) {
                        np_cpulist_brief(&placement.nodes, list, sizeof(list));
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
                           const struct np_cpulist *cpus, const struct np_cpulist *mems, const struct np_demand *demand,
                           struct np_placement *ret_placement)
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
