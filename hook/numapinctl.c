// SPDX-License-Identifier: MIT
/* numapinctl: look at what numapin sees and decides. `topology` prints the
 * machine, `plan` makes the hook's decision for a described container without
 * changing anything (or records it with --commit), `list` shows the ledger,
 * `release` drops a record, `doctor` checks the node and `metrics` prints what
 * the /metrics endpoint serves. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/doctor.h"
#include "../core/json.h"
#include "../core/lifecycle.h"
#include "../core/locality.h"
#include "../core/metrics.h"
#include "../core/parse.h"
#include "../core/policy.h"
#include "updates.h"

struct options {
        const char *command;
        struct np_context_options context;
        bool json;
        bool commit;
        const char *id;
        const char *container_name;
        struct np_annotation_set annotations;
        int64_t cpu_quota;
        uint64_t cpu_period;
        int64_t memory_limit;
        struct np_device devices[64]; /* --device, as linux.devices would give them */
        size_t n_devices;
        const char *release_id;
        const char *stats_id;
        unsigned int watch; /* seconds, 0: once */
};

static void usage(FILE *out)
{
        fprintf(out, "usage: numapinctl " NP_CONTEXT_USAGE " COMMAND\n"
                     "  topology [--json]                 the NUMA topology numapin reads\n"
                     "  plan [--json] --annotation KEY=VALUE... [--cpu-quota US] [--cpu-period US]\n"
                     "       [--memory-limit BYTES] [--container-name NAME] [--device TYPE:MAJOR:MINOR[:PATH]]...\n"
                     "       [--commit --id ID]\n"
                     "                                    the decision the hook would make, and why\n"
                     "  list [--json]                     the containers in the allocation ledger\n"
                     "  release ID                        drop a ledger record\n"
                     "  stats [ID] [--json] [--watch SECONDS]\n"
                     "                                    NUMA locality of the monitored containers\n"
                     "  doctor [--json]                   the node checked before trusting numapin\n"
                     "  metrics                           the Prometheus exposition text of the node, once\n");
}

static char *format_list(const struct np_cpulist *list, char *buf, size_t size)
{
        if (np_cpulist_format(list, buf, size) < 0)
                snprintf(buf, size, "?");
        return buf;
}

static int fail(struct np_diag *diag, int r)
{
        if (diag && diag->message[0])
                np_log_error("%s", diag->message);
        else
                np_log_error("%s", strerror(-r));
        return 1;
}

static int print_json(struct json_object *obj)
{
        _cleanup_free_ char *text = NULL;
        size_t size;

        if (np_json_to_string(obj, &text, &size) < 0)
                return 1;
        fwrite(text, 1, size, stdout);
        return 0;
}

static int cmd_topology(const struct options *opts, const struct np_context *context)
{
        _cleanup_topology_ struct np_topology *t = NULL;
        struct np_diag diag = {};
        char list[NP_CPULIST_BUFSIZE];
        int r;

        r = np_topology_load(context->sysfs_root, &diag, &t);
        if (r < 0)
                return fail(&diag, r);
        if (opts->json) {
                _cleanup_json_ struct json_object *root = json_object_new_object();
                struct json_object *nodes = json_object_new_array();

                json_object_object_add(root, "nodes", nodes);
                for (size_t i = 0; i < t->n_nodes; i++) {
                        const struct np_node *n = &t->nodes[i];
                        struct json_object *node = json_object_new_object(), *distances = json_object_new_array();

                        json_object_object_add(node, "id", json_object_new_int((int)n->id));
                        json_object_object_add(node, "cpus",
                                               json_object_new_string(format_list(&n->cpus, list, sizeof(list))));
                        json_object_object_add(node, "memory_total_kb",
                                               json_object_new_int64((int64_t)n->memory_total_kb));
                        json_object_object_add(node, "memory_free_kb",
                                               json_object_new_int64((int64_t)n->memory_free_kb));
                        json_object_object_add(node, "memory_only",
                                               json_object_new_boolean(np_cpulist_empty(&n->cpus)));
                        if (np_cpulist_empty(&n->cpus)) {
                                int nearest = np_topology_nearest_cpu_node(t, n->id);

                                json_object_object_add(node, "nearest_cpu_node",
                                                       nearest < 0 ? NULL : json_object_new_int(nearest));
                        }
                        for (size_t d = 0; d < t->n_nodes; d++)
                                json_object_array_add(distances, json_object_new_int((int)n->distances[d]));
                        json_object_object_add(node, "distances", distances);
                        json_object_array_add(nodes, node);
                }
                json_object_object_add(root, "online_cpus",
                                       json_object_new_string(format_list(&t->online_cpus, list, sizeof(list))));
                json_object_object_add(root, "isolated_cpus",
                                       json_object_new_string(format_list(&t->isolated_cpus, list, sizeof(list))));
                json_object_object_add(root, "cores", json_object_new_int64((int64_t)t->n_cores));
                struct json_object *cpus = json_object_new_array();
                for (size_t c = 0; c < t->n_cpus; c++) {
                        const struct np_cpu *cpu = &t->cpus[c];
                        struct json_object *o = json_object_new_object();
                        json_object_object_add(o, "id", json_object_new_int((int)cpu->id));
                        json_object_object_add(o, "node", json_object_new_int((int)cpu->node));
                        json_object_object_add(o, "package", json_object_new_int((int)cpu->package));
                        json_object_object_add(o, "die", json_object_new_int((int)cpu->die));
                        json_object_object_add(o, "core", json_object_new_int((int)cpu->core));
                        json_object_object_add(o, "l3", json_object_new_int(cpu->l3));
                        json_object_array_add(cpus, o);
                }
                json_object_object_add(root, "cpus", cpus);
                return print_json(root);
        }

        printf("%zu NUMA node%s, %zu online CPUs in %zu cores, isolated CPUs: %s\n", t->n_nodes,
               t->n_nodes == 1 ? "" : "s", t->n_cpus, t->n_cores,
               np_cpulist_empty(&t->isolated_cpus) ? "none" : format_list(&t->isolated_cpus, list, sizeof(list)));
        printf("%-6s %-24s %12s %12s  %s\n", "node", "cpus", "memory", "free", "distances");
        for (size_t i = 0; i < t->n_nodes; i++) {
                const struct np_node *n = &t->nodes[i];
                char distances[4096] = "";
                size_t used = 0;

                for (size_t d = 0; d < t->n_nodes && used < sizeof(distances) - 8; d++)
                        used += (size_t)snprintf(distances + used, sizeof(distances) - used, "%s%u", d ? " " : "",
                                                 n->distances[d]);
                printf("%-6u %-24s %9.1f GiB %8.1f GiB  %s\n", n->id,
                       np_cpulist_empty(&n->cpus) ? "(memory only)" : format_list(&n->cpus, list, sizeof(list)),
                       (double)n->memory_total_kb / (1024.0 * 1024.0), (double)n->memory_free_kb / (1024.0 * 1024.0),
                       distances);
        }
        /* where a memory-only node's memory is nearest: the node whose CPUs reach it best */
        for (size_t i = 0; i < t->n_nodes; i++) {
                const struct np_node *n = &t->nodes[i];
                int nearest;

                if (!np_cpulist_empty(&n->cpus))
                        continue;
                nearest = np_topology_nearest_cpu_node(t, n->id);
                printf("node %u: memory only, %.1f GiB, ", n->id, (double)n->memory_total_kb / (1024.0 * 1024.0));
                if (nearest < 0)
                        printf("no node has CPUs\n");
                else
                        printf("nearest CPU node %d (distance %u)\n", nearest,
                               np_topology_distance(t, (unsigned int)nearest, n->id));
        }
        return 0;
}

static void placement_to_json(const struct np_placement *p, const char *id, struct json_object *root)
{
        char list[NP_CPULIST_BUFSIZE];

        if (id)
                json_object_object_add(root, "id", json_object_new_string(id));
        json_object_object_add(root, "policy", json_object_new_string(np_policy_to_string(p->policy)));
        json_object_object_add(root, "nodes", json_object_new_string(format_list(&p->nodes, list, sizeof(list))));
        json_object_object_add(root, "cpus", json_object_new_string(format_list(&p->cpus, list, sizeof(list))));
        json_object_object_add(root, "mems", json_object_new_string(format_list(&p->mems, list, sizeof(list))));
        json_object_object_add(root, "exclusive_cpus",
                               json_object_new_string(format_list(&p->exclusive_cpus, list, sizeof(list))));
        json_object_object_add(root, "write_mems", json_object_new_boolean(p->write_mems));
        json_object_object_add(root, "reason", json_object_new_string(p->reason));
}

static int cmd_plan(const struct options *opts, struct np_context *context)
{
        struct np_input input = NP_INPUT_INIT;
        struct np_outcome outcome = {};
        struct np_diag diag = {};
        const struct np_placement *p = &outcome.placement;
        bool committed;
        char list[NP_CPULIST_BUFSIZE];
        int r;

        if (opts->commit && !opts->id) {
                np_log_error("plan --commit needs --id ID: the ledger records the allocation under it");
                return 2;
        }
        if (opts->id && !np_id_valid(opts->id)) {
                np_log_error("--id: expected 1-%d of A-Z a-z 0-9 _ + . - not starting with a dot", NP_ID_MAX);
                return 2;
        }
        input.id = opts->id;
        input.name = opts->container_name;
        input.container_annotations = &opts->annotations;
        input.cpu_quota = opts->cpu_quota;
        input.cpu_period = opts->cpu_period;
        input.memory_limit = opts->memory_limit;
        input.devices = opts->devices;
        input.n_devices = opts->n_devices;
        r = np_lifecycle_place(context, &input, opts->commit ? NP_PLACE_COMMIT : 0, &diag, &outcome);
        if (r < 0)
                return fail(&diag, r);
        if (outcome.kind == NP_OUTCOME_KEPT) {
                np_log_error("--id '%s': the ledger already holds a record with this id; release it first", opts->id);
                np_outcome_clear(&outcome);
                return 1;
        }
        committed = outcome.kind == NP_OUTCOME_PLACED;
        log_updates(&outcome);

        if (opts->json) {
                _cleanup_json_ struct json_object *root = json_object_new_object();
                placement_to_json(p, opts->id, root);
                json_object_object_add(root, "committed", json_object_new_boolean(committed));
                np_outcome_clear(&outcome);
                return print_json(root);
        }
        printf("policy:    %s\n", np_policy_to_string(p->policy));
        if (p->policy != NP_POLICY_NONE) {
                printf("nodes:     %s\n", format_list(&p->nodes, list, sizeof(list)));
                printf("cpus:      %s%s\n", format_list(&p->cpus, list, sizeof(list)),
                       np_cpulist_empty(&p->exclusive_cpus) ? " (shared)" : " (exclusive)");
                printf("mems:      %s%s\n", format_list(&p->mems, list, sizeof(list)),
                       p->write_mems ? "" : " (left alone)");
        }
        printf("reason:    %s\n", p->reason);
        if (committed)
                printf("recorded:  as '%s' in %s (numapinctl release %s frees it)\n", opts->id, context->state_dir,
                       opts->id);
        np_outcome_clear(&outcome);
        return 0;
}

static int cmd_list(const struct options *opts, struct np_context *context)
{
        struct np_ledger *ledger = NULL;
        struct np_diag diag = {};
        char cpus[NP_CPULIST_BUFSIZE], mems[NP_CPULIST_BUFSIZE], nodes[NP_CPULIST_BUFSIZE];
        int r;

        r = np_context_ledger(context, false, &diag, &ledger);
        if (r < 0)
                return fail(&diag, r);
        if (opts->json) {
                _cleanup_json_ struct json_object *root = json_object_new_object();
                struct json_object *containers = json_object_new_array();

                json_object_object_add(root, "containers", containers);
                for (const struct np_record *rec = np_ledger_next(ledger, NULL); rec;
                     rec = np_ledger_next(ledger, rec)) {
                        struct json_object *obj = NULL;
                        if (np_record_to_json(rec, &obj) == 0)
                                json_object_array_add(containers, obj);
                }
                return print_json(root);
        }
        if (np_ledger_count(ledger) == 0) {
                printf("no containers placed (state dir %s)\n", context->state_dir);
                return 0;
        }
        printf("%-20s %-10s %-8s %-16s %-8s %-10s %s\n", "id", "policy", "nodes", "cpus", "mems", "source", "since");
        for (const struct np_record *rec = np_ledger_next(ledger, NULL); rec; rec = np_ledger_next(ledger, rec)) {
                time_t created = (time_t)rec->created;
                char since[32];

                strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S", localtime(&created));
                printf("%-20.20s %-10s %-8s %-16s %-8s %-10s %s\n", rec->id, np_policy_to_string(rec->policy),
                       format_list(&rec->nodes, nodes, sizeof(nodes)), format_list(&rec->cpus, cpus, sizeof(cpus)),
                       format_list(&rec->mems, mems, sizeof(mems)), np_source_to_string(rec->source), since);
        }
        return 0;
}

static int cmd_release(const struct options *opts, struct np_context *context)
{
        struct np_outcome outcome = {};
        struct np_diag diag = {};
        int r;

        if (!np_id_valid(opts->release_id)) {
                np_log_error("release: expected a container id (1-%d of A-Z a-z 0-9 _ + . -)", NP_ID_MAX);
                return 2;
        }
        r = np_lifecycle_release(context, opts->release_id, NP_RELEASE_FORGET, &diag, &outcome);
        if (r < 0)
                return fail(&diag, r);
        if (outcome.warning[0])
                np_log_warning("%s", outcome.warning);
        if (outcome.kind != NP_OUTCOME_RELEASED) {
                np_log_error("release: no record '%s' in %s", opts->release_id, context->state_dir);
                np_outcome_clear(&outcome);
                return 1;
        }
        printf("released %s\n", opts->release_id);
        log_updates(&outcome);
        np_outcome_clear(&outcome);
        return 0;
}

/* --- stats ------------------------------------------------------------------------- */

/* The figures of each monitored container, running and exited, `id` only when
 * given; those core could not read are named in warnings and left out. */
static int collect_stats(const struct options *opts, struct np_context *context, struct np_locality_report *report)
{
        struct np_ledger *ledger = NULL;
        struct np_diag diag = {};
        int r;

        r = np_context_ledger(context, false, &diag, &ledger);
        if (r < 0)
                return fail(&diag, r);
        r = np_locality_collect(context->state_dir, ledger, opts->stats_id, report);
        np_context_unlock(context);
        if (r < 0)
                return fail(NULL, r);
        for (size_t i = 0; i < report->n_warnings; i++)
                np_log_warning("%s; skipped", report->warnings[i].message);
        return 0;
}

/* Highest remote share first; containers with no pages counted last. */
static int by_remote_share(const void *a, const void *b)
{
        const struct np_locality_stats *x = a, *y = b;
        double ra = x->shares_known ? x->remote_percent : -1;
        double rb = y->shares_known ? y->remote_percent : -1;

        return ra < rb ? 1 : ra > rb ? -1 : 0;
}

static const char *human(double value, const char *const *units, double step, char *buf, size_t size)
{
        unsigned int u = 0;

        while (value >= step && units[u + 1]) {
                value /= step;
                u++;
        }
        snprintf(buf, size, u ? "%.1f%s" : "%.0f%s", value, units[u]);
        return buf;
}

static const char *count_text(double n, char *buf, size_t size)
{
        static const char *const units[] = { "", "k", "M", "G", "T", NULL };
        return human(n, units, 1000, buf, size);
}

static const char *bytes_text(double n, char *buf, size_t size)
{
        static const char *const units[] = { " B", " KiB", " MiB", " GiB", " TiB", NULL };
        return human(n, units, 1024, buf, size);
}

static const char *percent_text(bool known, double percent, char *buf, size_t size)
{
        if (!known)
                return "-"; /* no page counted: no share */
        snprintf(buf, size, "%.1f%%", percent);
        return buf;
}

static const char *state_text(const struct np_locality_stats *s)
{
        return s->state == NP_LOCALITY_EXITED ? "exited" : "running";
}

/* "1:2.31s 0:0.01s" (CPU time) or "1:65.5k" (pages): the nodes with something to show */
static void per_node(const struct np_locality_stats *s, bool seconds, char *buf, size_t size)
{
        size_t used = 0;

        buf[0] = '\0';
        for (unsigned int i = 0; i < s->n_nodes && used < size; i++) {
                const struct np_locality_node_stats *node = &s->nodes[i];
                double v = seconds ? node->cpu_seconds : (double)node->pages_allocated;
                char value[32];

                if (v <= 0 || (seconds && v < 0.005))
                        continue;
                if (seconds)
                        snprintf(value, sizeof(value), "%.2fs", v);
                else
                        count_text(v, value, sizeof(value));
                used += (size_t)snprintf(buf + used, size - used, "%s%u:%s", used ? " " : "", node->node, value);
        }
        if (!buf[0])
                snprintf(buf, size, "-");
}

static void print_summary(const struct np_locality_report *report)
{
        char allowed[NP_CPULIST_BUFSIZE];

        printf("%-20s %-8s %-8s %-16s %-18s %7s %7s %8s %6s %6s %6s\n", "ID", "STATE", "ALLOWED", "CPU TIME/NODE",
               "PAGES/NODE", "LOCAL", "REMOTE", "OUTSIDE", "MIGR", "CROSS", "NUMAB");
        for (size_t i = 0; i < report->n_stats; i++) {
                const struct np_locality_stats *s = &report->stats[i];
                char cpu[128], pages[128], local[16], remote[16], outside[16];

                per_node(s, true, cpu, sizeof(cpu));
                per_node(s, false, pages, sizeof(pages));
                printf("%-20.20s %-8s %-8.8s %-16.16s %-18.18s %7s %7s %8s %6llu %6llu %6llu\n", s->id, state_text(s),
                       format_list(&s->allowed_nodes, allowed, sizeof(allowed)), cpu, pages,
                       percent_text(s->shares_known, s->local_percent, local, sizeof(local)),
                       percent_text(s->shares_known, s->remote_percent, remote, sizeof(remote)),
                       count_text((double)s->pages_outside_allowed, outside, sizeof(outside)),
                       (unsigned long long)s->migrations, (unsigned long long)s->migrations_cross_node,
                       (unsigned long long)s->numa_balancing_migrations);
        }
}

static void print_detail(const struct np_locality_stats *s)
{
        char allowed[NP_CPULIST_BUFSIZE];
        char a[32], b[32], d[32], e[32], local[16], remote[16];

        printf("container %s (%s), policy %s, memory allowed on node(s) %s\n", s->id, state_text(s),
               np_policy_to_string(s->policy), format_list(&s->allowed_nodes, allowed, sizeof(allowed)));
        printf("  %-5s %10s %12s %12s %12s %12s\n", "node", "cpu time", "pages", "local", "remote", "resident");
        for (unsigned int i = 0; i < s->n_nodes; i++) {
                const struct np_locality_node_stats *n = &s->nodes[i];

                printf("  %-5u %9.2fs %12s %12s %12s %12s\n", n->node, n->cpu_seconds,
                       count_text((double)n->pages_allocated, a, sizeof(a)),
                       count_text((double)n->pages_local, b, sizeof(b)),
                       count_text((double)n->pages_remote, d, sizeof(d)),
                       n->resident_known ? bytes_text((double)n->resident_bytes, e, sizeof(e)) : "-");
        }
        printf("  pages: %s local, %s remote; %llu outside the allowed nodes, %llu of unknown node\n",
               percent_text(s->shares_known, s->local_percent, local, sizeof(local)),
               percent_text(s->shares_known, s->remote_percent, remote, sizeof(remote)),
               (unsigned long long)s->pages_outside_allowed, (unsigned long long)s->pages_unknown_node);
        printf("  task migrations: %llu, %llu of them across nodes; NUMA balancing moved %llu pages\n",
               (unsigned long long)s->migrations, (unsigned long long)s->migrations_cross_node,
               (unsigned long long)s->numa_balancing_migrations);
        if (s->pmu.available)
                printf("  DRAM accesses (PMU): %llu local, %llu remote (%s remote)\n", (unsigned long long)s->pmu.local,
                       (unsigned long long)s->pmu.remote,
                       percent_text(s->pmu.share_known, s->pmu.remote_percent, remote, sizeof(remote)));
        else
                printf("  DRAM accesses (PMU): unavailable (%s)\n", s->pmu.reason);
}

static int cmd_stats(const struct options *opts, struct np_context *context)
{
        for (;;) {
                _cleanup_(np_locality_report_clear) struct np_locality_report report = {};
                int r;

                r = collect_stats(opts, context, &report);
                if (r != 0)
                        return r;
                if (report.n_stats > 1)
                        qsort(report.stats, report.n_stats, sizeof(*report.stats), by_remote_share);
                if (opts->stats_id && report.n_stats == 0) {
                        np_log_error("stats: no monitored container '%s' (running or exited)", opts->stats_id);
                        return 1;
                }
                if (opts->json) {
                        _cleanup_json_ struct json_object *root = NULL;

                        r = np_locality_report_to_json(&report, &root);
                        if (r < 0)
                                return fail(NULL, r);
                        print_json(root);
                } else if (report.n_stats == 0)
                        printf("no monitored containers\n");
                else if (opts->stats_id)
                        print_detail(&report.stats[0]);
                else
                        print_summary(&report);
                if (!opts->watch)
                        return 0;
                fflush(stdout);
                sleep(opts->watch);
                if (!opts->json)
                        printf("\n");
        }
}

/* --- doctor ------------------------------------------------------------------------ */

static struct json_object *doctor_nri_json(const struct np_doctor *doctor)
{
        const struct np_nri_status *s = &doctor->nri;
        struct json_object *nri;

        if (!doctor->nri_found)
                return NULL;
        nri = json_object_new_object();
        json_object_object_add(nri, "runtime_name", json_object_new_string(s->runtime_name));
        json_object_object_add(nri, "runtime_version", json_object_new_string(s->runtime_version));
        json_object_object_add(nri, "nri_version", json_object_new_string(s->nri_version));
        json_object_object_add(nri, "configured_at", json_object_new_int64(s->configured_at));
        json_object_object_add(nri, "pid", json_object_new_int(s->pid));
        json_object_object_add(nri, "running", json_object_new_boolean(doctor->nri_running));
        json_object_object_add(nri, "updates_overridden", json_object_new_uint64(s->updates_overridden));
        json_object_object_add(nri, "placements_restored", json_object_new_uint64(s->placements_restored));
        json_object_object_add(nri, "containers_moved", json_object_new_uint64(s->containers_moved));
        json_object_object_add(nri, "kubelet_cpu_policy", json_object_new_string(s->kubelet_cpu_policy));
        return nri;
}

static struct json_object *doctor_kubelet_json(const struct np_doctor *doctor)
{
        const struct np_kubelet *k = &doctor->kubelet;
        struct json_object *kubelet = json_object_new_object();
        bool cpu = doctor->kubelet_read && k->cpu_state_found;
        bool memory = doctor->kubelet_read && k->memory_state_found;
        char list[NP_CPULIST_BUFSIZE];

        json_object_object_add(kubelet, "cpu_manager_policy", json_object_new_string(cpu ? k->cpu_policy : "unknown"));
        json_object_object_add(kubelet, "memory_manager_policy",
                               json_object_new_string(memory ? k->memory_policy : "unknown"));
        json_object_object_add(kubelet, "default_cpus",
                               json_object_new_string(cpu ? format_list(&k->default_cpus, list, sizeof(list)) : ""));
        json_object_object_add(kubelet, "assigned_cpus",
                               json_object_new_string(cpu ? format_list(&k->assigned_cpus, list, sizeof(list)) : ""));
        return kubelet;
}

/* What numapin-exporter's /metrics answers, once, for scripts and a look by hand. */
static int cmd_metrics(const struct options *opts)
{
        _cleanup_metrics_ struct np_metrics *metrics = NULL;
        struct np_diag diag = {};
        char *text;
        size_t size;
        int r;

        r = np_metrics_new(&opts->context, &diag, &metrics);
        if (r < 0)
                return fail(&diag, r);
        r = np_metrics_render(metrics, &text, &size);
        if (r < 0)
                return fail(NULL, r);
        r = fwrite(text, 1, size, stdout) == size && fflush(stdout) == 0 ? 0 : -EIO;
        np_metrics_text_free(text);
        return r < 0 ? fail(NULL, r) : 0;
}

static int cmd_doctor(const struct options *opts, struct np_context *context)
{
        _cleanup_(np_doctor_clear) struct np_doctor doctor = {};
        int r;

        r = np_doctor_run(context, NULL, &doctor);
        if (r < 0)
                return fail(NULL, r);
        if (opts->json) {
                _cleanup_json_ struct json_object *root = json_object_new_object();
                struct json_object *checks = json_object_new_array();
                struct json_object *nri = doctor_nri_json(&doctor);

                json_object_object_add(root, "checks", checks);
                for (size_t i = 0; i < doctor.n_checks; i++) {
                        const struct np_check *c = &doctor.checks[i];
                        struct json_object *check = json_object_new_object();

                        json_object_object_add(check, "name", json_object_new_string(c->name));
                        json_object_object_add(check, "status",
                                               json_object_new_string(np_check_status_to_string(c->status)));
                        json_object_object_add(check, "message", json_object_new_string(c->message));
                        json_object_array_add(checks, check);
                }
                json_object_object_add(root, "nri", nri ? nri : json_object_new_null());
                json_object_object_add(root, "kubelet", doctor_kubelet_json(&doctor));
                if (print_json(root) != 0)
                        return 1;
        } else
                for (size_t i = 0; i < doctor.n_checks; i++)
                        printf("%-7s  %-7s  %s\n", np_check_status_to_string(doctor.checks[i].status),
                               doctor.checks[i].name, doctor.checks[i].message);
        return np_doctor_worst(&doctor) == NP_CHECK_ERROR ? 1 : 0;
}

static int parse_int_option(const char *name, const char *value, int64_t min, uint64_t max, uint64_t *ret)
{
        uint64_t n;

        if (min < 0 && strcmp(value, "-1") == 0) {
                *ret = UINT64_MAX; /* "unlimited" */
                return 0;
        }
        if (np_parse_u64(value, min > 0 ? (uint64_t)min : 0, max, &n) < 0) {
                np_log_error("%s: '%s' is not valid; expected an integer from %llu to %llu%s", name, value,
                             (unsigned long long)(min > 0 ? min : 0), (unsigned long long)max,
                             min < 0 ? " or -1 for unlimited" : "");
                return -EINVAL;
        }
        *ret = n;
        return 0;
}

/* --device TYPE:MAJOR:MINOR[:PATH]: c (or u) and b, as in linux.devices */
static int parse_device(const char *value, struct options *opts)
{
        struct np_device *device = &opts->devices[opts->n_devices];
        const char *given = value;
        char type[2] = "";
        const char *path;
        uint64_t major, minor;
        char number[16];
        size_t len;

        if (opts->n_devices == ARRAY_SIZE(opts->devices)) {
                np_log_error("--device: more than %zu devices", ARRAY_SIZE(opts->devices));
                return -E2BIG;
        }
        type[0] = value[0];
        if (!strchr("cub", type[0]) || type[0] == '\0' || value[1] != ':')
                goto bad;
        value += 2;
        for (int field = 0; field < 2; field++) {
                len = strcspn(value, ":");
                if (len == 0 || len >= sizeof(number))
                        goto bad;
                memcpy(number, value, len);
                number[len] = '\0';
                if (np_parse_u64(number, 0, UINT32_MAX, field == 0 ? &major : &minor) < 0)
                        goto bad;
                value += len;
                if (field == 0 && *value++ != ':')
                        goto bad;
        }
        path = *value == ':' ? value + 1 : NULL;
        if (*value && (!path || !path[0]))
                goto bad;
        *device = (struct np_device){ .path = path, .type = type[0] == 'b' ? 'b' : 'c', .major = (uint32_t)major,
                                      .minor = (uint32_t)minor };
        opts->n_devices++;
        return 0;
bad:
        np_log_error("--device '%s': expected TYPE:MAJOR:MINOR[:PATH], TYPE c, u or b, MAJOR and MINOR from 0 to %u",
                     given, UINT32_MAX);
        return -EINVAL;
}

static int parse_options(int argc, char **argv, struct options *opts)
{
        static const struct option long_options[] = {
                NP_CONTEXT_LONG_OPTIONS,
                { "json", no_argument, NULL, 'j' },
                { "annotation", required_argument, NULL, 'a' },
                { "cpu-quota", required_argument, NULL, 'q' },
                { "cpu-period", required_argument, NULL, 'p' },
                { "memory-limit", required_argument, NULL, 'm' },
                { "container-name", required_argument, NULL, 'n' },
                { "commit", no_argument, NULL, 'x' },
                { "id", required_argument, NULL, 'i' },
                { "watch", required_argument, NULL, 'w' },
                { "device", required_argument, NULL, 'd' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        uint64_t n;
        int c;

        opts->context.source = NP_SOURCE_PLAN;
        opts->cpu_quota = -1;
        opts->cpu_period = NP_CPU_PERIOD_DEFAULT;
        opts->memory_limit = -1;
        while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
                if (np_context_option(&opts->context, c, optarg))
                        continue;
                switch (c) {
                case 'j':
                        opts->json = true;
                        break;
                case 'a': {
                        char *eq = strchr(optarg, '=');
                        if (!eq || eq == optarg) {
                                np_log_error("--annotation '%s': expected KEY=VALUE", optarg);
                                return -EINVAL;
                        }
                        *eq = '\0';
                        if (np_annotations_add(&opts->annotations, optarg, eq + 1) < 0)
                                return -ENOMEM;
                        break;
                }
                case 'd':
                        if (parse_device(optarg, opts) < 0)
                                return -EINVAL;
                        break;
                case 'q':
                        if (parse_int_option("--cpu-quota", optarg, -1, INT64_MAX, &n) < 0)
                                return -EINVAL;
                        opts->cpu_quota = n == UINT64_MAX ? -1 : (int64_t)n;
                        break;
                case 'p':
                        if (parse_int_option("--cpu-period", optarg, 1, NP_CPU_PERIOD_MAX, &n) < 0)
                                return -EINVAL;
                        opts->cpu_period = n;
                        break;
                case 'm':
                        if (parse_int_option("--memory-limit", optarg, -1, INT64_MAX, &n) < 0)
                                return -EINVAL;
                        opts->memory_limit = n == UINT64_MAX ? -1 : (int64_t)n;
                        break;
                case 'n':
                        opts->container_name = optarg;
                        break;
                case 'x':
                        opts->commit = true;
                        break;
                case 'i':
                        opts->id = optarg;
                        break;
                case 'w':
                        if (parse_int_option("--watch", optarg, 1, 86400, &n) < 0)
                                return -EINVAL;
                        opts->watch = (unsigned int)n;
                        break;
                case 'h':
                        usage(stdout);
                        exit(0);
                default:
                        usage(stderr);
                        return -EINVAL;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return -EINVAL;
        }
        opts->command = argv[optind++];
        if (strcmp(opts->command, "release") == 0) {
                if (optind != argc - 1) {
                        np_log_error("release: expected one container id");
                        return -EINVAL;
                }
                opts->release_id = argv[optind++];
        } else if (strcmp(opts->command, "stats") == 0 && optind == argc - 1) {
                opts->stats_id = argv[optind++];
                if (!np_id_valid(opts->stats_id)) {
                        np_log_error("stats: '%s' is not a container id (1-%d of A-Z a-z 0-9 _ + . -)", opts->stats_id,
                                     NP_ID_MAX);
                        return -EINVAL;
                }
        }
        if (optind != argc) {
                np_log_error("unexpected argument '%s'", argv[optind]);
                return -EINVAL;
        }
        return 0;
}

int main(int argc, char **argv)
{
        _cleanup_context_ struct np_context *context = NULL;
        struct options opts = {};
        struct np_diag diag = {};
        int r;

        np_log_set_prefix("numapinctl");
        if (parse_options(argc, argv, &opts) < 0) {
                np_annotations_clear(&opts.annotations);
                return 2;
        }
        /* only a committed plan or a release changes the state dir */
        opts.context.uncached_topology = !opts.commit && strcmp(opts.command, "release") != 0;
        r = np_context_open(&opts.context, &diag, &context);
        if (r < 0) {
                np_annotations_clear(&opts.annotations);
                return fail(&diag, r);
        }
        np_log_set_level(context->config.log_level);

        if (strcmp(opts.command, "topology") == 0)
                r = cmd_topology(&opts, context);
        else if (strcmp(opts.command, "metrics") == 0)
                r = cmd_metrics(&opts);
        else if (strcmp(opts.command, "plan") == 0)
                r = cmd_plan(&opts, context);
        else if (strcmp(opts.command, "list") == 0)
                r = cmd_list(&opts, context);
        else if (strcmp(opts.command, "release") == 0)
                r = cmd_release(&opts, context);
        else if (strcmp(opts.command, "stats") == 0)
                r = cmd_stats(&opts, context);
        else if (strcmp(opts.command, "doctor") == 0)
                r = cmd_doctor(&opts, context);
        else {
                np_log_error("unknown command '%s'; expected topology, plan, list, release, stats or doctor",
                             opts.command);
                r = 2;
        }
        np_annotations_clear(&opts.annotations);
        return r;
}
