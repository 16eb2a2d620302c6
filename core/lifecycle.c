// SPDX-License-Identifier: MIT
/* The verbs of a container's life, one sequence for every front-end. Each verb
 * holds the ledger's lock for its whole run. Re-pinning follows one rule: when
 * a verb changes the set of exclusively held CPUs (or places a container that
 * holds some), every shared container's CPUs are derived again from the
 * ledger, its record updated, and the change handed back as an update. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "annotations.h"
#include "devices.h"
#include "lifecycle.h"
#include "locality.h"
#include "monitor.h"
#include "policy.h"
#include "watch.h"

void np_outcome_clear(struct np_outcome *outcome)
{
        free(outcome->updates);
        *outcome = (struct np_outcome){};
}

int np_outcome_merge_updates(struct np_outcome *into, const struct np_outcome *from)
{
        struct np_update *grown;

        if (from->repin_failures[0]) {
                size_t used = strlen(into->repin_failures);

                snprintf(into->repin_failures + used, sizeof(into->repin_failures) - used, "%s%s", used ? "; " : "",
                         from->repin_failures);
        }
        if (from->n_updates == 0)
                return 0;
        /* room for all at once: a realloc per update copied the array each time it
         * could not grow in place, quadratic in the updates (thousands at a Synchronize) */
        grown = realloc(into->updates, (into->n_updates + from->n_updates) * sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        into->updates = grown;
        for (size_t i = 0; i < from->n_updates; i++) {
                const struct np_update *update = &from->updates[i];
                size_t at = 0;

                while (at < into->n_updates && strcmp(into->updates[at].id, update->id) != 0)
                        at++;
                if (at == into->n_updates)
                        into->n_updates++;
                into->updates[at] = *update;
        }
        return 0;
}

const char *np_outcome_updates_text(const struct np_outcome *outcome, char *buf, size_t size)
{
        size_t used = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < outcome->n_updates && used < size; i++) {
                char cpus[NP_CPULIST_BRIEF];

                used += (size_t)snprintf(buf + used, size - used, "%s%s: %s", i ? "; " : "", outcome->updates[i].id,
                                         np_cpulist_brief(&outcome->updates[i].cpus, cpus, sizeof(cpus)));
        }
        return buf;
}

/* The pod a container belongs to (the runtime's word wins over the CRI annotations)
 * and, for the pod scope, the whole pod's demand where the front-end knows it. */
static int pod_scope(const struct np_input *input, struct np_diag *diag, struct np_request *request)
{
        char quoted[128];
        int r;

        if (input->pod && input->pod[0]) {
                if (!np_id_valid(input->pod))
                        return np_diag_fail(
                                diag, -EINVAL,
                                "pod sandbox id '%s': expected 1-200 of A-Z a-z 0-9 _ + . - not starting with a dot",
                                np_log_quote(quoted, sizeof(quoted), input->pod));
                snprintf(request->pod_id, sizeof(request->pod_id), "%s", input->pod);
        }
        if (request->scope != NP_SCOPE_POD || request->policy == NP_POLICY_NONE)
                return 0;
        if (!request->pod_id[0])
                return np_diag_fail(
                        diag, -EINVAL,
                        "annotation 'scope.numapin.io': pod scope needs the pod's sandbox id, and this container has none (io.kubernetes.cri.sandbox-id, io.kubernetes.cri-o.SandboxID or NRI's pod); expected scope container outside a pod");
        if (input->pod_cpu_quota < 0 && input->pod_memory_limit < 0)
                return 0;
        struct np_diag pod_diag = {}; /* 4 KiB to zero: only where it is used */

        r = np_demand_from_limits(input->pod_cpu_quota,
                                  input->pod_cpu_period ? input->pod_cpu_period : NP_CPU_PERIOD_DEFAULT,
                                  input->pod_memory_limit, &pod_diag, &request->pod_demand);
        return r < 0 ? np_diag_fail(diag, r, "the pod's resources: %s", pod_diag.message) : 0;
}

int np_input_request(const struct np_context *context, const struct np_input *input, struct np_diag *diag,
                     struct np_request *ret_request, struct np_demand *ret_demand)
{
        struct np_annotation_set set = {};
        int r;

        r = np_annotations_merge(input->container_annotations, input->pod_annotations, &set);
        if (r < 0)
                return np_diag_fail(diag, r, "annotations: %s", strerror(-r));
        r = np_annotations_parse(&set, input->name, context->config.default_policy, diag, ret_request);
        np_annotations_clear(&set);
        if (r == 0)
                r = np_request_set_pod(ret_request, input->pod_namespace, input->pod_name, diag);
        if (r == 0)
                r = pod_scope(input, diag, ret_request);
        if (r == 0)
                r = np_demand_from_limits(input->cpu_quota,
                                          input->cpu_period ? input->cpu_period : NP_CPU_PERIOD_DEFAULT,
                                          input->memory_limit, diag, ret_demand);
        if (r < 0)
                return r;
        if (input->n_devices > 0 && ret_request->policy != NP_POLICY_NONE && ret_request->nodes_auto) {
                r = np_devices_nodes(context->sysfs_root, context->proc_root, input->devices, input->n_devices,
                                     &ret_request->device_nodes, ret_request->device_note,
                                     sizeof(ret_request->device_note));
                if (r < 0)
                        return np_diag_fail(diag, r, "devices: %s", strerror(-r));
        }
        return 0;
}

/* --- re-pinning --------------------------------------------------------------------- */

/* Writes each update's CPUs into its container's cgroup, skipping the NRI
 * plugin's containers when `skip_nri` (the plugin asks the runtime for
 * those). Containers whose cgroup is gone are skipped; other failures are
 * described in `ret_failures` ("" when none). Returns how many failed. */
static int write_cgroups(const struct np_outcome *outcome, bool skip_nri, char *ret_failures, size_t size)
{
        size_t used = 0;
        int failed = 0;

        ret_failures[0] = '\0';
        for (size_t i = 0; i < outcome->n_updates; i++) {
                const struct np_update *update = &outcome->updates[i];
                struct np_diag diag = {};
                int r;

                if (skip_nri && update->source == NP_SOURCE_NRI)
                        continue;
                r = np_cgroup_write_cpus(update->cgroup_dir, &update->cpus, &diag);
                if (r == -ENOENT)
                        np_log_debug("container '%s': its cgroup is gone, not re-pinned", update->id);
                else if (r < 0) {
                        failed++;
                        if (used < size)
                                used += (size_t)snprintf(ret_failures + used, size - used, "%scontainer '%s': %s",
                                                         used ? "; " : "", update->id, diag.message);
                }
        }
        return failed;
}

static int add_update(struct np_outcome *outcome, const struct np_record *record)
{
        struct np_update *grown = realloc(outcome->updates, (outcome->n_updates + 1) * sizeof(*grown));

        if (!grown)
                return -ENOMEM;
        outcome->updates = grown;
        grown = &outcome->updates[outcome->n_updates++];
        *grown = (struct np_update){ .source = record->source, .cpus = record->cpus };
        snprintf(grown->id, sizeof(grown->id), "%s", record->id);
        snprintf(grown->cgroup_dir, sizeof(grown->cgroup_dir), "%s", record->cgroup);
        return 0;
}

/* The nodes whose CPUs a shared record may use: its own, every node for a
 * protected container (policy none). */
static const struct np_cpulist *record_nodes(const struct np_topology *topology, const struct np_record *record)
{
        return record->policy == NP_POLICY_NONE ? &topology->node_ids : &record->nodes;
}

/* Whether a shared container whose record already says `cpus` must still be
 * moved: after a run cut short between its record and its cgroup (`recover`),
 * its cgroup is the truth. */
static bool cgroup_behind(const struct np_record *rec, const struct np_cpulist *cpus, bool recover)
{
        struct np_cpulist now;

        return recover && rec->cgroup[0] && np_cgroup_read_cpus(rec->cgroup, &now) == 0 &&
               !np_cpulist_equal(&now, cpus);
}

/* Every shared container's CPUs derived again: its nodes' CPUs that no one
 * holds exclusively. One whose nodes have no shared CPU left keeps its cpuset.
 * `recover`: a run before this one was cut short in its re-pins, so the
 * cgroups are compared too, not only the records. */
static int repin(struct np_context *context, struct np_ledger *ledger, const struct np_topology *topology, bool recover,
                 struct np_diag *diag, struct np_outcome *outcome)
{
        const struct np_cpulist held = *np_ledger_exclusive_cpus(ledger), *exclusive = &held;
        size_t n = np_ledger_count(ledger);
        _cleanup_free_ char(*ids)[NP_ID_MAX + 1] = NULL;
        size_t n_ids = 0;
        int r;

        /* decided first, changed after: a change ends an iteration of the ledger */
        ids = calloc(n ? n : 1, sizeof(*ids));
        if (!ids)
                return -ENOMEM;
        for (const struct np_record *rec = np_ledger_next(ledger, NULL); rec; rec = np_ledger_next(ledger, rec)) {
                struct np_cpulist shared;

                if (!np_cpulist_empty(&rec->exclusive_cpus))
                        continue;
                np_policy_shared_cpus(topology, context->decision_config, exclusive, record_nodes(topology, rec),
                                      &shared);
                if (np_cpulist_empty(&shared) ||
                    (np_cpulist_equal(&shared, &rec->cpus) && !cgroup_behind(rec, &shared, recover)))
                        continue;
                snprintf(ids[n_ids++], sizeof(*ids), "%s", rec->id);
        }
        for (size_t i = 0; i < n_ids; i++) {
                struct np_record record = *np_ledger_find(ledger, ids[i]);

                np_policy_shared_cpus(topology, context->decision_config, exclusive, record_nodes(topology, &record),
                                      &record.cpus);
                r = np_cpulist_equal(&record.cpus, &np_ledger_find(ledger, ids[i])->cpus)
                            ? 0
                            : np_ledger_put(ledger, &record);
                if (r < 0)
                        return np_diag_fail(diag, r, "cannot update the ledger record of container '%s': %s", record.id,
                                            strerror(-r));
                r = add_update(outcome, &record);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --- one verb's hold on the ledger -------------------------------------------------- */

struct verb {
        struct np_context *context;
        struct np_ledger *ledger;
        const struct np_topology *topology;
        struct np_cpulist exclusive_before;
        bool repin;   /* re-derive the shared containers' CPUs at the end */
        bool recover; /* a re-pin was pending when the verb took the lock */
};

static int verb_begin(struct verb *verb, struct np_context *context, struct np_diag *diag)
{
        int r;

        *verb = (struct verb){ .context = context };
        if (context->batch) {
                /* inside a batch: the lock is held and re-pinning waits for its end */
                verb->topology = context->topology;
                verb->ledger = context->ledger;
                verb->exclusive_before = *np_ledger_exclusive_cpus(verb->ledger);
                return 0;
        }
        r = np_context_topology(context, diag, &verb->topology);
        if (r < 0)
                return r;
        /* a kubelet state that cannot be read leaves the last good one in force */
        (void)np_context_refresh_kubelet(context, NULL);
        r = np_context_ledger(context, true, diag, &verb->ledger);
        if (r < 0)
                return r;
        verb->exclusive_before = *np_ledger_exclusive_cpus(verb->ledger);
        verb->recover = np_ledger_repin_pending(verb->ledger);
        return 0;
}

/* The re-pins, made while the lock is held so that two verbs' writes of one
 * cgroup land in the order of their decisions; the mark that a re-pin is
 * pending goes once every cgroup core writes says what its record says. */
static int apply_repins(struct verb *verb, struct np_diag *diag, struct np_outcome *outcome)
{
        struct np_context *context = verb->context;
        int r;

        r = repin(context, verb->ledger, verb->topology, verb->recover, diag, outcome);
        if (r < 0)
                return r;
        if (write_cgroups(outcome, context->options.source == NP_SOURCE_NRI, outcome->repin_failures,
                          sizeof(outcome->repin_failures)) > 0)
                return 0; /* still pending: the next verb tries again */
        r = np_ledger_repin_done(verb->ledger);
        if (r < 0)
                np_log_debug("cannot clear the pending re-pin mark in %s: %s", np_ledger_dir(verb->ledger),
                             strerror(-r));
        return 0;
}

/* Re-pins when the verb changed who holds CPUs exclusively and drops the lock;
 * the verb's outcome (the caller's, see lifecycle.h) is cleared when it failed. */
static int verb_end(struct verb *verb, int r, struct np_diag *diag, struct np_outcome *outcome)
{
        if (verb->context->batch) {
                /* the lock stays held, the re-pins wait for np_lifecycle_batch_end() */
                if (r < 0) {
                        np_outcome_clear(outcome);
                        return r;
                }
                verb->context->batch_repin = verb->context->batch_repin || verb->repin;
                return 0;
        }
        if (r >= 0 && verb->ledger) {
                if (verb->repin || verb->recover || np_ledger_repin_pending(verb->ledger) ||
                    !np_cpulist_equal(np_ledger_exclusive_cpus(verb->ledger), &verb->exclusive_before))
                        r = apply_repins(verb, diag, outcome);
                /* what protected containers may use once the verb is done */
                np_policy_shared_cpus(verb->topology, verb->context->decision_config,
                                      np_ledger_exclusive_cpus(verb->ledger), &verb->topology->node_ids,
                                      &outcome->shared_pool);
                outcome->shared_pool_known = true;
        }
        np_context_unlock(verb->context);
        if (r < 0) {
                np_outcome_clear(outcome);
                return r;
        }
        return 0;
}

/* Drops a record; the outcome says RELEASED. */
static int forget(struct verb *verb, const char *id, struct np_diag *diag, struct np_outcome *outcome)
{
        int r = np_ledger_remove(verb->ledger, id);

        if (r < 0)
                return np_diag_fail(diag, r, "cannot remove the ledger record of container '%s': %s", id, strerror(-r));
        outcome->kind = NP_OUTCOME_RELEASED;
        return 0;
}

/* Drops the records of containers that are gone, as a release would: their
 * monitor slots freed with the final counters kept. The number dropped, or <0.
 * Unless `force`d, records looked at less than the context's interval ago (by
 * any process: ledger.cache keeps when) are not looked at again: each look is
 * two system calls a record, and a record kept a little longer only holds its
 * CPUs a little longer, as a placement short of CPUs looks at once. */
static int reclaim(struct verb *verb, bool force, struct np_outcome *outcome)
{
        _cleanup_free_ struct np_record *gone = NULL;
        struct np_context *context = verb->context;
        bool monitored = false;
        size_t n_gone = 0;
        int r;

        if (!force && context->options.reclaim_interval_ns &&
            np_ledger_reclaimed_within(verb->ledger, context->options.reclaim_interval_ns))
                return 0;
        r = np_ledger_reclaim(verb->ledger, &gone, &n_gone);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_gone; i++) {
                struct np_diag ignored = {};

                /* a failure to keep counters of a container long gone is not this verb's */
                if (np_watch_detach(np_ledger_dir(verb->ledger), &verb->context->config, &gone[i], &ignored) < 0)
                        np_log_debug("%s", ignored.message);
                monitored |= gone[i].monitor.on;
        }
        if (monitored)
                np_watch_retire(&context->config, verb->ledger);
        outcome->reclaimed += (unsigned int)n_gone;
        return (int)n_gone;
}

/* --- the monitor --------------------------------------------------------------------- */

/* Attaches the monitor to a recorded container with a known cgroup, when the
 * config, the request and the kernel allow it. Not being watched never
 * blocks placement: the reason goes into the outcome. */
static void watch(struct verb *verb, const struct np_request *request, struct np_record *record,
                  struct np_outcome *outcome)
{
        struct np_context *context = verb->context;

        outcome->watched = record->monitor.on;
        /* a container numapin only keeps off exclusive CPUs (policy none) is not its to measure */
        if (record->monitor.on || !context->config.monitor || !request->monitor || !record->cgroup[0] ||
            record->policy == NP_POLICY_NONE)
                return;
        struct np_diag diag = {}; /* 4 KiB to zero: only past the common returns */

        /* a fixture tree has no cgroup ids to count: the monitor says so itself (the
         * sysfs root was asked about with the context's roots) */
        if (!np_context_real_kernel(context) || np_monitor_cgroup_supported(record->cgroup, &diag) < 0) {
                np_log_debug("container '%s': not monitored: %s", record->id,
                             diag.message[0] ? diag.message : "sysfs or cgroup root is not the running kernel's");
                return;
        }
        /* an exited container's kept figures under the same id stay while this one runs
         * (its readers show the running one): its release replaces or removes them */
        if (np_watch_attach(context->sysfs_root, &context->config, verb->topology, verb->ledger, record, &diag) < 0) {
                snprintf(outcome->warning, sizeof(outcome->warning),
                         "%.1000s; the container is placed but not monitored", diag.message);
                return;
        }
        outcome->watched = true;
}

/* Finds the container's cgroup from its pid or cgroupsPath; `must_exist`: the
 * directory is checked (a running container's). */
static int locate(struct np_context *context, const struct np_input *input, bool must_exist, struct np_diag *diag,
                  struct np_outcome *outcome, char *ret_dir, size_t size)
{
        struct stat st;
        int r;

        r = np_cgroup_detect(context->cgroup_root, diag, &outcome->cgroup_layout);
        if (r == 0)
                r = np_cgroup_locate(context->cgroup_root, context->proc_root, outcome->cgroup_layout, input->pid,
                                     input->cgroups_path, input->id, diag, outcome->cgroup_path,
                                     sizeof(outcome->cgroup_path));
        if (r == 0)
                r = np_cgroup_dir(context->cgroup_root, outcome->cgroup_layout, outcome->cgroup_path, ret_dir, size);
        if (r == 0 && must_exist && stat(ret_dir, &st) < 0)
                r = np_diag_fail(diag, -errno, "cgroup %s: %s", ret_dir, strerror(errno));
        return r;
}

static int valid_id(const char *id, struct np_diag *diag)
{
        char quoted[128];

        if (!id || !np_id_valid(id))
                return np_diag_fail(
                        diag, -EINVAL,
                        "container id '%s' is not valid; expected 1-%d of A-Z a-z 0-9 _ + . - not starting with a dot",
                        np_log_quote(quoted, sizeof(quoted), id ? id : ""), NP_ID_MAX);
        return 0;
}

/* --- the verbs ------------------------------------------------------------------------ */

/* The Kubernetes names the request found, for the record's metrics labels. */
/* What a record keeps of the request: the Kubernetes names, and the pod its pod scope binds it to. */
static void record_request(struct np_record *record, const struct np_request *request)
{
        snprintf(record->names.namespace, sizeof(record->names.namespace), "%s", request->pod_namespace);
        snprintf(record->names.pod, sizeof(record->names.pod), "%s", request->pod_name);
        snprintf(record->names.container, sizeof(record->names.container), "%s", request->container_name);
        snprintf(record->pod_scope, sizeof(record->pod_scope), "%s",
                 request->scope == NP_SCOPE_POD ? request->pod_id : "");
}

/* Records a container adopted as it runs; the outcome says PLACED. */
static int put_new(struct verb *verb, const struct np_input *input, struct np_diag *diag, struct np_outcome *outcome)
{
        struct np_record record;
        int r;

        np_record_from_placement(&record, input->id, &outcome->placement, verb->context->options.source);
        record_request(&record, &outcome->request);
        record.pid = input->pid > 0 ? input->pid : 0;
        r = np_ledger_put(verb->ledger, &record);
        if (r < 0)
                return np_diag_fail(diag, r, "cannot write the ledger record of container '%s': %s", input->id,
                                    strerror(-r));
        outcome->kind = NP_OUTCOME_PLACED;
        return 0;
}

/* A container kubelet's static CPU manager assigned CPUs to is kubelet's to
 * pin: numapin leaves it alone (NONE, with the reason). */
static bool kubelets(const struct np_context *context, const struct np_input *input, struct np_outcome *outcome)
{
        const struct np_cpulist *cpus = np_context_kubelet_assigned(context, input->pod_uid, input->name);
        char text[NP_CPULIST_BRIEF];

        if (!cpus)
                return false;
        outcome->kind = NP_OUTCOME_NONE;
        outcome->placement = (struct np_placement){ .policy = NP_POLICY_NONE };
        snprintf(outcome->placement.reason, sizeof(outcome->placement.reason),
                 "kubelet's static CPU manager assigned it CPUs %.900s: left to kubelet",
                 np_cpulist_brief(cpus, text, sizeof(text)));
        return true;
}

/* Whether a container numapin does not place is kept off exclusive CPUs. */
static bool protects(const struct np_context *context, const struct np_request *request)
{
        return request->policy == NP_POLICY_NONE && !request->sandbox &&
               context->config.unannotated == NP_UNANNOTATED_PROTECT;
}

/* A protected container's placement: every node's CPUs that no one holds
 * exclusively, memory left alone. */
static void protected_placement(const struct verb *verb, const struct np_demand *demand,
                                struct np_placement *ret_placement)
{
        *ret_placement = (struct np_placement){ .policy = NP_POLICY_NONE, .demand = *demand };
        np_policy_shared_cpus(verb->topology, verb->context->decision_config, np_ledger_exclusive_cpus(verb->ledger),
                              &verb->topology->node_ids, &ret_placement->cpus);
        ret_placement->mems = verb->topology->memory_nodes;
        snprintf(ret_placement->reason, sizeof(ret_placement->reason),
                 "not placed by numapin: kept off the CPUs other containers hold exclusively");
}

static int plan(struct np_context *context, struct np_diag *diag, struct np_outcome *outcome)
{
        const struct np_topology *topology;
        struct np_ledger *ledger;
        const struct np_usage *usage;
        struct np_demand demand = outcome->placement.demand;
        int r;

        r = np_context_topology(context, diag, &topology);
        if (r < 0)
                return r;
        (void)np_context_refresh_kubelet(context, NULL);
        r = np_context_ledger(context, false, diag, &ledger);
        if (r < 0)
                return r;
        usage = np_ledger_usage(ledger); /* the loaded ledger's: kept until the next verb */
        np_ledger_pod_nodes(ledger, NULL, &outcome->request);
        np_context_unlock(context);
        r = np_policy_place(topology, context->decision_config, usage, &outcome->request, &demand,
                            context->memory_policy ? NP_PLACE_MEMORY_POLICY : 0, diag, &outcome->placement);
        if (r < 0)
                return r;
        outcome->kind = NP_OUTCOME_PLANNED;
        return 0;
}

/* np_policy_place()'s flags for a placement with np_lifecycle_place()'s */
static unsigned int policy_flags(const struct np_context *context, unsigned int flags)
{
        return (context->memory_policy ? NP_PLACE_MEMORY_POLICY : 0) | (flags & NP_PLACE_NO_REASON);
}

/* `ret_refused`: a failure is the request's (invalid, or it does not fit), not numapin's */
static int place(struct np_context *context, const struct np_input *input, unsigned int flags, struct np_diag *diag,
                 struct np_outcome *outcome, bool *ret_refused)
{
        struct np_demand demand;
        struct np_record record;
        bool changed = false;
        struct verb verb;
        char dir[PATH_MAX] = "";
        int r;

        *outcome = (struct np_outcome){};
        if (flags & NP_PLACE_COMMIT) {
                r = valid_id(input->id, diag);
                if (r < 0)
                        return r;
        }
        r = np_input_request(context, input, diag, &outcome->request, &demand);
        *ret_refused = r < 0;
        if (r < 0) {
                np_outcome_clear(outcome);
                return r;
        }
        if (kubelets(context, input, outcome))
                return 0;
        if (outcome->request.policy == NP_POLICY_NONE &&
            (!(flags & NP_PLACE_COMMIT) || !protects(context, &outcome->request))) {
                /* left alone, with the reason: no topology or ledger needed */
                np_policy_place(NULL, &context->config, NULL, &outcome->request, &demand, 0, diag, &outcome->placement);
                return 0;
        }
        if (!(flags & NP_PLACE_COMMIT)) {
                outcome->placement.demand = demand;
                r = plan(context, diag, outcome);
                if (r < 0) {
                        np_outcome_clear(outcome);
                        return r;
                }
                return 0;
        }

        if ((flags & NP_PLACE_HOLD) && !context->batch) {
                /* the batch's verb_begin() takes the lock; this verb's finds it taken */
                r = np_lifecycle_batch_begin(context, diag);
                if (r < 0) {
                        np_outcome_clear(outcome);
                        return r;
                }
        }
        r = verb_begin(&verb, context, diag);
        if (r == 0 && outcome->request.policy == NP_POLICY_NONE && context->options.protect_unrecorded) {
                protected_placement(&verb, &demand, &outcome->placement);
                outcome->kind = NP_OUTCOME_PROTECTED;
                return verb_end(&verb, r, diag, outcome);
        }
        if (r == 0 && input->locate_cgroup)
                r = locate(context, input, false, diag, outcome, dir, sizeof(dir));
        if (r == 0 && (r = reclaim(&verb, false, outcome)) > 0)
                r = 0;
        if (r == 0 && outcome->request.policy == NP_POLICY_NONE && !np_ledger_find(verb.ledger, input->id))
                protected_placement(&verb, &demand, &outcome->placement);
        else if (r == 0) {
                r = np_ledger_place(verb.ledger, verb.topology, context->decision_config, input->id, &outcome->request,
                                    &demand, policy_flags(context, flags), diag, &outcome->placement);
                /* refused: CPUs may be held by gone containers not looked for within the interval */
                if (r < 0 && r != -ENOMEM && reclaim(&verb, true, outcome) > 0) {
                        if (diag)
                                *diag = (struct np_diag){};
                        r = np_ledger_place(verb.ledger, verb.topology, context->decision_config, input->id,
                                            &outcome->request, &demand, policy_flags(context, flags), diag,
                                            &outcome->placement);
                }
                *ret_refused = r < 0 && r != -ENOMEM; /* the decision reads no file */
        }
        if (r == 1) {
                /* placed before: the same placement, its pid and cgroup brought up to date */
                record = *np_ledger_find(verb.ledger, input->id);
                outcome->kind = NP_OUTCOME_KEPT;
                changed = input->locate_cgroup && (record.pid != input->pid || strcmp(record.cgroup, dir) != 0);
                if (changed) {
                        record.pid = input->pid;
                        snprintf(record.cgroup, sizeof(record.cgroup), "%s", dir);
                }
                r = 0;
        } else if (r == 0) {
                np_record_from_placement(&record, input->id, &outcome->placement, context->options.source);
                record_request(&record, &outcome->request);
                record.pid = input->pid > 0 ? input->pid : 0;
                snprintf(record.cgroup, sizeof(record.cgroup), "%s", dir);
                outcome->kind = NP_OUTCOME_PLACED;
                changed = true;
        }
        if (r == 0) {
                bool watched = record.monitor.on;

                /* watched first, so that the record is written once, slot included */
                watch(&verb, &outcome->request, &record, outcome);
                if (changed || record.monitor.on != watched)
                        r = np_ledger_put(verb.ledger, &record);
                if (r < 0) {
                        np_diag_fail(diag, r, "cannot write the ledger record of container '%s': %s", input->id,
                                     strerror(-r));
                        if (record.monitor.on && !watched)
                                np_watch_unwatch(&record);
                }
                /* a container holding CPUs exclusively: the shared ones are derived
                 * again even when it was placed before (a run cut short re-pins) */
                verb.repin = !np_cpulist_empty(&outcome->placement.exclusive_cpus);
        }
        return verb_end(&verb, r, diag, outcome);
}

/* The operations counter a front-end's source counts in; false for another source. */
static bool op_source(const struct np_context *context, enum np_op_source *ret_source)
{
        if (context->options.source == NP_SOURCE_HOOK)
                *ret_source = NP_OP_HOOK;
        else if (context->options.source == NP_SOURCE_NRI)
                *ret_source = NP_OP_NRI;
        else
                return false;
        return true;
}

int np_lifecycle_place(struct np_context *context, const struct np_input *input, unsigned int flags,
                       struct np_diag *diag, struct np_outcome *outcome)
{
        enum np_op_source source;
        bool refused = false, batch = context->batch;
        int r = place(context, input, flags, diag, outcome, &refused);

        outcome->held = !batch && context->batch; /* NP_PLACE_HOLD took the lock */

        /* a placement made, or one that failed: a kept one or a container left
         * alone is not a placement */
        if ((flags & NP_PLACE_COMMIT) && op_source(context, &source) && (r < 0 || outcome->kind == NP_OUTCOME_PLACED))
                np_opstats_placement(np_context_opstats(context), source,
                                     r >= 0    ? NP_OP_PLACED
                                     : refused ? NP_OP_REFUSED
                                               : NP_OP_ERROR);
        return r;
}

void np_lifecycle_latency(struct np_context *context, uint64_t duration_ns)
{
        enum np_op_source source;

        if (op_source(context, &source))
                np_opstats_duration(np_context_opstats(context), source, duration_ns);
}

int np_lifecycle_abort(struct np_context *context, const char *id, const struct np_outcome *placed,
                       struct np_diag *diag, struct np_outcome *outcome)
{
        bool undo = placed->kind == NP_OUTCOME_PLACED; /* read before `outcome` is reset: it may be `placed` */
        const struct np_record *record;
        struct verb verb;
        int r;

        *outcome = (struct np_outcome){};
        if (!undo)
                return 0; /* nothing of this run's to undo */
        r = verb_begin(&verb, context, diag);
        if (r == 0 && (record = np_ledger_find(verb.ledger, id))) {
                np_watch_unwatch(record);
                r = forget(&verb, id, diag, outcome);
        }
        return verb_end(&verb, r, diag, outcome);
}

int np_lifecycle_started(struct np_context *context, const struct np_input *input, struct np_diag *diag,
                         struct np_outcome *outcome)
{
        const struct np_record *existing;
        struct np_demand demand;
        struct np_record record;
        char dir[PATH_MAX];
        struct verb verb;
        int r;

        *outcome = (struct np_outcome){};
        r = valid_id(input->id, diag);
        if (r < 0)
                return r;
        r = verb_begin(&verb, context, diag);
        existing = r == 0 ? np_ledger_find(verb.ledger, input->id) : NULL;
        if (!existing)
                return verb_end(&verb, r, diag, outcome);
        record = *existing;
        record.pid = input->pid > 0 ? input->pid : 0;
        outcome->kind = NP_OUTCOME_KEPT;
        r = locate(context, input, true, diag, outcome, dir, sizeof(dir));
        if (r == 0 && strlen(dir) < sizeof(record.cgroup))
                strcpy(record.cgroup, dir);
        else if (r < 0) {
                /* not fatal: the container runs, numapin only cannot find it */
                snprintf(outcome->warning, sizeof(outcome->warning), "%.900s; its cgroup is not recorded",
                         diag->message);
                *diag = (struct np_diag){};
        }
        if (np_input_request(context, input, NULL, &outcome->request, &demand) == 0)
                watch(&verb, &outcome->request, &record, outcome);
        r = np_ledger_put(verb.ledger, &record);
        if (r < 0)
                np_diag_fail(diag, r, "cannot update the ledger record of container '%s': %s", input->id, strerror(-r));
        return verb_end(&verb, r, diag, outcome);
}

int np_lifecycle_adopt(struct np_context *context, const struct np_input *input, const char *cpus, const char *mems,
                       struct np_diag *diag, struct np_outcome *outcome)
{
        struct np_cpulist cpu_list = {}, mem_list = {};
        const struct np_record *existing;
        struct np_demand demand;
        bool has_mems = mems && mems[0];
        char what[NP_ID_MAX + 64];
        struct verb verb;
        int r;

        *outcome = (struct np_outcome){};
        r = valid_id(input->id, diag);
        if (r == 0)
                r = np_input_request(context, input, diag, &outcome->request, &demand);
        if (r < 0) {
                np_outcome_clear(outcome);
                return r;
        }
        if (kubelets(context, input, outcome) ||
            (outcome->request.policy == NP_POLICY_NONE && !protects(context, &outcome->request)))
                return 0;
        if (outcome->request.policy != NP_POLICY_NONE && (!cpus || !cpus[0])) {
                np_outcome_clear(outcome);
                return np_diag_fail(diag, -ENOENT, "container '%s' has no cpuset; not counted", input->id);
        }
        snprintf(what, sizeof(what), "container '%s': linux.resources.cpu.cpus", input->id);
        r = cpus && cpus[0] ? np_cpulist_parse(cpus, NP_CPULIST_MAX, what, diag, &cpu_list) : 0;
        if (r == 0 && has_mems) {
                snprintf(what, sizeof(what), "container '%s': linux.resources.cpu.mems", input->id);
                r = np_cpulist_parse(mems, NP_MAX_NODES, what, diag, &mem_list);
        }
        if (r < 0) {
                np_outcome_clear(outcome);
                return r;
        }

        r = verb_begin(&verb, context, diag);
        existing = r == 0 ? np_ledger_find(verb.ledger, input->id) : NULL;
        if (existing) {
                /* what was placed stays where it is: the caller restores it if it moved */
                outcome->kind = NP_OUTCOME_KEPT;
                np_record_placement(existing, &outcome->placement);
        } else if (r == 0 && outcome->request.exclusive_cpus > 0 &&
                   (np_cpulist_count(&cpu_list) != outcome->request.exclusive_cpus ||
                    np_cpulist_intersects(&cpu_list, np_ledger_exclusive_cpus(verb.ledger)))) {
                /* a cpuset numapin could not have given it (it started while the NRI
                 * plugin was away, on kubelet's shared pool): counted from it, it
                 * would hold those CPUs alone beside their holders. Placed anew,
                 * as at its creation; the caller moves it there. */
                r = np_ledger_place(verb.ledger, verb.topology, context->decision_config, input->id, &outcome->request,
                                    &demand, policy_flags(context, 0), diag, &outcome->placement);
                if (r == 0)
                        r = put_new(&verb, input, diag, outcome);
        } else if (r == 0 && outcome->request.policy == NP_POLICY_NONE) {
                protected_placement(&verb, &demand, &outcome->placement);
                if (context->options.protect_unrecorded)
                        outcome->kind = NP_OUTCOME_PROTECTED;
                else
                        r = put_new(&verb, input, diag, outcome);
        } else if (r == 0 && (!np_cpulist_is_subset(&cpu_list, &verb.topology->online_cpus) ||
                              (has_mems && !np_cpulist_is_subset(&mem_list, &verb.topology->node_ids))))
                r = np_diag_fail(
                        diag, -EINVAL,
                        "container '%s': cpuset '%s' / '%s' names CPUs or nodes this machine lacks; not counted",
                        input->id, cpus, has_mems ? mems : "");
        else if (r == 0) {
                np_policy_from_cpuset(verb.topology, &outcome->request, &cpu_list, has_mems ? &mem_list : NULL, &demand,
                                      &outcome->placement);
                r = put_new(&verb, input, diag, outcome);
                /* a shared one counted as it runs may sit on CPUs others hold
                 * exclusively: its CPUs are derived again like every shared one's */
                verb.repin = np_cpulist_empty(&outcome->placement.exclusive_cpus);
        }
        /* the cpuset it has is not the one numapin holds for it: the caller sets it back */
        if (r == 0 && outcome->kind != NP_OUTCOME_NONE)
                outcome->drifted = !cpus || !cpus[0] || !np_cpulist_equal(&cpu_list, &outcome->placement.cpus) ||
                                   (outcome->placement.write_mems &&
                                    (!has_mems || !np_cpulist_equal(&mem_list, &outcome->placement.mems)));
        return verb_end(&verb, r, diag, outcome);
}

int np_lifecycle_release(struct np_context *context, const char *id, unsigned int flags, struct np_diag *diag,
                         struct np_outcome *outcome)
{
        const struct np_record *record;
        struct np_diag monitor_diag = {};
        struct stat st;
        struct verb verb;
        int r;

        *outcome = (struct np_outcome){};
        r = valid_id(id, diag);
        if (r < 0)
                return r;
        if (!context->ledger && stat(context->state_dir, &st) < 0 && errno == ENOENT)
                return 0; /* nothing was ever placed on this node */
        r = verb_begin(&verb, context, diag);
        record = r == 0 ? np_ledger_find(verb.ledger, id) : NULL;
        if (record) {
                bool monitored = record->monitor.on;

                if (np_watch_detach(np_ledger_dir(verb.ledger), &context->config, record, &monitor_diag) < 0)
                        snprintf(outcome->warning, sizeof(outcome->warning), "%.1000s", monitor_diag.message);
                r = forget(&verb, id, diag, outcome);
                if (r == 0 && monitored)
                        np_watch_retire(&context->config, verb.ledger);
        }
        if (r == 0 && (flags & NP_RELEASE_FORGET))
                np_exited_remove(np_ledger_dir(verb.ledger), id);
        if (r == 0 && (r = reclaim(&verb, false, outcome)) > 0)
                r = 0;
        return verb_end(&verb, r, diag, outcome);
}

int np_lifecycle_batch_begin(struct np_context *context, struct np_diag *diag)
{
        struct verb verb;
        int r;

        if (context->batch)
                return -EBUSY;
        r = verb_begin(&verb, context, diag);
        if (r < 0) {
                np_context_unlock(context);
                return r;
        }
        context->batch = true;
        context->batch_repin = false;
        context->batch_recover = verb.recover;
        context->batch_exclusive_before = verb.exclusive_before;
        return 0;
}

int np_lifecycle_batch_end(struct np_context *context, struct np_diag *diag, struct np_outcome *outcome)
{
        struct verb verb = { .context = context,
                             .ledger = context->ledger,
                             .topology = context->topology,
                             .exclusive_before = context->batch_exclusive_before,
                             .repin = context->batch_repin,
                             .recover = context->batch_recover };

        *outcome = (struct np_outcome){};
        if (!context->batch)
                return -EINVAL;
        context->batch = false;
        return verb_end(&verb, 0, diag, outcome);
}

bool np_lifecycle_unsettled(const struct np_context *context)
{
        return context->ledger && !context->batch && (context->lingering || np_ledger_unsettled(context->ledger));
}

int np_lifecycle_settle(struct np_context *context, struct np_diag *diag)
{
        struct np_ledger *ledger;
        int r;

        if (!np_lifecycle_unsettled(context))
                return 0;
        if (!np_ledger_unsettled(context->ledger)) {
                np_context_release(context);
                return 0;
        }
        r = np_context_ledger(context, true, diag, &ledger);
        if (r >= 0) {
                /* another holder since (r == 1) wrote the file itself */
                r = np_ledger_settle(ledger);
                if (r < 0)
                        np_diag_fail(diag, r, "cannot write a ledger record in %s/containers: %s",
                                     np_ledger_dir(ledger), strerror(-r));
        }
        np_context_release(context);
        return r;
}

int np_lifecycle_shared_pool(struct np_context *context, struct np_diag *diag, struct np_cpulist *ret_cpus)
{
        struct np_outcome outcome = {};
        struct np_demand none = {};
        struct verb verb;
        int r;

        r = verb_begin(&verb, context, diag);
        if (r == 0) {
                protected_placement(&verb, &none, &outcome.placement);
                *ret_cpus = outcome.placement.cpus;
        }
        return verb_end(&verb, r, diag, &outcome);
}
