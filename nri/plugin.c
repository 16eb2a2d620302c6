// SPDX-License-Identifier: MIT
/* What numapin-nri answers to each NRI call: each request becomes core's input
 * model and one lifecycle verb, and the verb's outcome becomes the reply: a
 * ContainerAdjustment for the placement, ContainerUpdates for the plugin's
 * own containers whose CPUs change (the others are written in their cgroups,
 * as the hook does). The ledger in the state dir is shared with the hook and
 * numapinctl. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/annotations.h"
#include "../core/lifecycle.h"
#include "plugin.h"

int nri_plugin_init(struct nri_plugin *plugin, const struct np_context_options *options, struct np_diag *diag)
{
        struct np_context_options o = *options;
        int r;

        *plugin = (struct nri_plugin){};
        nri_arena_init(&plugin->scratch);
        o.source = NP_SOURCE_NRI;
        o.refresh_ns = NRI_REFRESH_NS;
        o.reclaim_interval_ns = NP_RECLAIM_INTERVAL_NS; /* the runtime reports its own removals */
        o.protect_unrecorded = true;                    /* the runtime lists them again at Synchronize */
        o.defer_record_writes = true;                   /* the runtime waits for the answer, not for the file */
        o.linger_lock = true;                           /* a burst of calls locks once: released when they pause */
        r = np_context_open(&o, diag, &plugin->context);
        if (r < 0)
                return r;
        np_log_set_level(plugin->context->config.log_level);
        return 0;
}

void nri_plugin_disconnected(struct nri_plugin *plugin)
{
        for (size_t i = 0; i < plugin->n_sync_parts; i++)
                nri__synchronize_request__free_unpacked(plugin->sync_parts[i], NULL);
        free(plugin->sync_parts);
        plugin->sync_parts = NULL;
        plugin->n_sync_parts = 0;
        plugin->sync_bytes = 0;
}

/* Long enough for a call the runtime makes right after (its next container's) not
 * to queue behind the write, short against a container's start; also how long
 * past a burst of calls a hook or numapinctl may wait for the ledger's lock. */
#define IDLE_AFTER_MS 1

int nri_plugin_idle_after_ms(const struct nri_plugin *plugin)
{
        if (!plugin->context || plugin->idle_failed)
                return 0;
        return np_lifecycle_unsettled(plugin->context) ? IDLE_AFTER_MS : 0;
}

void nri_plugin_idle(struct nri_plugin *plugin)
{
        struct np_diag diag = {};

        if (plugin->context && np_lifecycle_settle(plugin->context, &diag) < 0) {
                np_log_warning("%s; the next call tries again", diag.message);
                plugin->idle_failed = true; /* not a retry every millisecond */
        }
}

void nri_plugin_clear(struct nri_plugin *plugin)
{
        nri_plugin_disconnected(plugin);
        np_context_free(plugin->context);
        nri_protected_clear(&plugin->protected);
        nri_arena_free(&plugin->scratch);
        plugin->context = NULL;
}

void nri_reply_clear(struct nri_reply *reply)
{
        free(reply->runtime_update);
        free(reply->payload);
        *reply = (struct nri_reply){};
}

static void reply_fail(struct nri_reply *reply, enum nri_status code, const char *message)
{
        free(reply->payload);
        reply->payload = NULL;
        reply->len = 0;
        reply->code = code;
        snprintf(reply->message, sizeof(reply->message), "%s", message);
}

static void reply_pack(struct nri_reply *reply, const ProtobufCMessage *message)
{
        size_t size = protobuf_c_message_get_packed_size(message);

        reply->payload = malloc(size ? size : 1);
        if (!reply->payload) {
                reply_fail(reply, NRI_STATUS_INTERNAL, "out of memory");
                return;
        }
        reply->len = protobuf_c_message_pack(message, reply->payload);
        reply->code = NRI_STATUS_OK;
}

/* One of NRI's annotations into a set, with its exact bytes: only the keys core
 * reads are copied (core's classification, the hook's too). */
static int add_annotation(struct np_annotation_set *set, const ProtobufCBinaryData *key,
                          const ProtobufCBinaryData *value)
{
        const char *k = key->data ? (const char *)key->data : "", *v = value->data ? (const char *)value->data : "";

        if (np_annotations_classify(k, key->len) == NP_ANNOTATION_FOREIGN)
                return 0;
        return np_annotations_add_bytes(set, k, key->len, v, value->len);
}

/* core's input model, from what the runtime says of a container and its pod */
struct container_input {
        struct np_input input;
        struct np_annotation_set container_annotations;
        struct np_annotation_set pod_annotations;
        struct np_device *devices;
};

static void container_input_clear(struct container_input *in)
{
        np_annotations_clear(&in->container_annotations);
        np_annotations_clear(&in->pod_annotations);
        free(in->devices);
        in->devices = NULL;
}

/* The character and block devices (a FIFO has no PCI function); a number beyond
 * 32 bits is no device of this kernel's and is left out. */
static int container_devices(const Nri__LinuxContainer *linux, struct container_input *in)
{
        size_t n = 0;

        if (!linux || linux->n_devices == 0)
                return 0;
        in->devices = calloc(linux->n_devices, sizeof(*in->devices));
        if (!in->devices)
                return -ENOMEM;
        for (size_t i = 0; i < linux->n_devices; i++) {
                const Nri__LinuxDevice *d = linux->devices[i];
                const char *type = d->type ? d->type : "";

                if ((strcmp(type, "c") != 0 && strcmp(type, "u") != 0 && strcmp(type, "b") != 0) || d->major < 0 ||
                    d->major > UINT32_MAX || d->minor < 0 || d->minor > UINT32_MAX)
                        continue;
                in->devices[n++] = (struct np_device){ .path = d->path,
                                                       .type = type[0] == 'b' ? 'b' : 'c',
                                                       .major = (uint32_t)d->major,
                                                       .minor = (uint32_t)d->minor };
        }
        in->input.devices = in->devices;
        in->input.n_devices = n;
        return 0;
}

/* The pod's limits (the sum kubelet gives the sandbox), for the pod scope. */
static void pod_resources(const Nri__PodSandbox *pod, struct np_input *input)
{
        const Nri__LinuxResources *resources = pod && pod->linux ? pod->linux->pod_resources : NULL;

        if (resources && resources->cpu && resources->cpu->quota && resources->cpu->quota->value > 0) {
                input->pod_cpu_quota = resources->cpu->quota->value;
                if (resources->cpu->period)
                        input->pod_cpu_period = resources->cpu->period->value;
        }
        if (resources && resources->memory && resources->memory->limit && resources->memory->limit->value > 0)
                input->pod_memory_limit = resources->memory->limit->value;
}

static int container_input(const Nri__PodSandbox *pod, const Nri__Container *container, struct container_input *in)
{
        const Nri__LinuxResources *resources = container->linux ? container->linux->resources : NULL;
        int r;

        *in = (struct container_input){ .input = NP_INPUT_INIT };
        in->input.id = container->id;
        in->input.name = container->name;
        in->input.pod = container->pod_sandbox_id;
        in->input.pod_uid = pod && pod->uid && pod->uid[0] ? pod->uid : NULL;
        in->input.pod_name = pod ? pod->name : NULL;
        in->input.pod_namespace = pod ? pod->namespace_ : NULL;
        /* a pid beyond any the kernel hands out (PID_MAX_LIMIT) is not trusted:
         * the ledger's reclaim signals it */
        in->input.pid = container->pid <= 4194304 ? (int)container->pid : 0;
        in->input.cgroups_path = container->linux ? container->linux->cgroups_path : NULL;
        in->input.container_annotations = &in->container_annotations;
        in->input.pod_annotations = &in->pod_annotations;
        if (resources && resources->cpu) {
                if (resources->cpu->quota)
                        in->input.cpu_quota = resources->cpu->quota->value;
                if (resources->cpu->period)
                        in->input.cpu_period = resources->cpu->period->value;
        }
        if (resources && resources->memory && resources->memory->limit)
                in->input.memory_limit = resources->memory->limit->value;
        pod_resources(pod, &in->input);
        r = container_devices(container->linux, in);
        for (size_t i = 0; i < container->n_annotations && r == 0; i++)
                r = add_annotation(&in->container_annotations, &container->annotations[i]->key,
                                   &container->annotations[i]->value);
        for (size_t i = 0; pod && i < pod->n_annotations && r == 0; i++)
                r = add_annotation(&in->pod_annotations, &pod->annotations[i]->key, &pod->annotations[i]->value);
        if (r < 0)
                container_input_clear(in);
        return r;
}

static bool valid_container(const Nri__Container *container, struct nri_reply *reply, const char *method)
{
        char message[512], quoted[128];

        if (!container) {
                snprintf(message, sizeof(message), "%s: the request has no container", method);
                reply_fail(reply, NRI_STATUS_INVALID_ARGUMENT, message);
                return false;
        }
        if (!np_id_valid(container->id)) {
                snprintf(message, sizeof(message),
                         "%s: container id '%s' is not valid; expected 1-200 of A-Z a-z 0-9 _ + . -", method,
                         np_log_quote(quoted, sizeof(quoted), container->id));
                reply_fail(reply, NRI_STATUS_INVALID_ARGUMENT, message);
                return false;
        }
        return true;
}

static bool configured(const struct nri_plugin *plugin, struct nri_reply *reply)
{
        if (!plugin->configured)
                reply_fail(reply, NRI_STATUS_UNKNOWN, "numapin-nri: not configured yet (Configure comes first)");
        return plugin->configured;
}

/* Protobuf strings for one container's cpuset (LinuxResources.cpu.cpus/mems). */
struct cpuset_message {
        Nri__LinuxResources resources;
        Nri__LinuxCPU cpu;
        char *cpus;
        char *mems;
};

static int cpuset_message_init(struct cpuset_message *m, const struct np_cpulist *cpus, const struct np_cpulist *mems)
{
        char text[NP_CPULIST_BUFSIZE];

        *m = (struct cpuset_message){ .resources = NRI__LINUX_RESOURCES__INIT, .cpu = NRI__LINUX_CPU__INIT };
        if (np_cpulist_format(cpus, text, sizeof(text)) < 0 || !(m->cpus = strdup(text)))
                return -ENOMEM;
        m->cpu.cpus = m->cpus;
        if (mems) {
                if (np_cpulist_format(mems, text, sizeof(text)) < 0 || !(m->mems = strdup(text)))
                        return -ENOMEM;
                m->cpu.mems = m->mems;
        }
        m->resources.cpu = &m->cpu;
        return 0;
}

static void cpuset_message_clear(struct cpuset_message *m)
{
        free(m->cpus);
        free(m->mems);
}

/* Updates for the runtime: the plugin's own containers whose CPUs an outcome
 * changes. The other containers' cgroups are written directly, as the hook does. */
struct updates {
        size_t n;
        Nri__ContainerUpdate **list;
        Nri__ContainerUpdate *updates;
        Nri__LinuxContainerUpdate *linux;
        struct cpuset_message *cpusets;
};

static void updates_clear(struct updates *u)
{
        for (size_t i = 0; i < u->n; i++)
                cpuset_message_clear(&u->cpusets[i]);
        free(u->list);
        free(u->updates);
        free(u->linux);
        free(u->cpusets);
        *u = (struct updates){};
}

/* Turns an outcome's changes into updates (pointing at the outcome's ids: the
 * outcome must outlive them) and cgroup writes. */
static int updates_from(const struct np_outcome *outcome, struct updates *u)
{
        char text[4096];
        size_t n = outcome->n_updates;

        *u = (struct updates){};
        if (outcome->repin_failures[0])
                np_log_warning("cannot re-pin shared containers: %s", outcome->repin_failures);
        if (n == 0)
                return 0;
        np_log_info("shared containers re-pinned: %s", np_outcome_updates_text(outcome, text, sizeof(text)));
        u->list = calloc(n, sizeof(*u->list));
        u->updates = calloc(n, sizeof(*u->updates));
        u->linux = calloc(n, sizeof(*u->linux));
        u->cpusets = calloc(n, sizeof(*u->cpusets));
        if (!u->list || !u->updates || !u->linux || !u->cpusets) {
                updates_clear(u);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                const struct np_update *update = &outcome->updates[i];
                size_t k = u->n;

                if (update->source != NP_SOURCE_NRI)
                        continue;
                if (cpuset_message_init(&u->cpusets[k], &update->cpus, update->write_mems ? &update->mems : NULL) < 0) {
                        updates_clear(u);
                        return -ENOMEM;
                }
                u->n++;
                u->linux[k] = (Nri__LinuxContainerUpdate)NRI__LINUX_CONTAINER_UPDATE__INIT;
                u->linux[k].resources = &u->cpusets[k].resources;
                u->updates[k] = (Nri__ContainerUpdate)NRI__CONTAINER_UPDATE__INIT;
                u->updates[k].container_id = (char *)update->id;
                u->updates[k].linux = &u->linux[k];
                u->updates[k].ignore_failure = true; /* the container may be exiting */
                u->list[k] = &u->updates[k];
        }
        return 0;
}

/* The protected containers, moved when the CPUs no one holds exclusively
 * change: one update each (except `skip`, the container being created, which
 * the runtime refuses to update), added to `into`. */
static void protected_updates(struct nri_plugin *plugin, const char *skip, struct np_outcome *into)
{
        struct nri_protected *set = &plugin->protected;
        struct np_cpulist pool;

        if (into->shared_pool_known)
                pool = into->shared_pool; /* the verb's, under its lock */
        else {
                struct np_diag diag = {};

                if (np_lifecycle_shared_pool(plugin->context, &diag, &pool) < 0) {
                        np_log_warning("cannot derive the shared CPUs: %s", diag.message);
                        return;
                }
        }
        if (set->pool_known && np_cpulist_equal(&pool, &set->pool))
                return;
        set->pool = pool;
        set->pool_known = true;
        /* only here, when the pool changed: an outcome is 18 KiB to zero on every call */
        struct np_outcome moved = {};

        moved.updates = calloc(set->n ? set->n : 1, sizeof(*moved.updates));
        if (!moved.updates) {
                np_log_warning("out of memory: protected containers not moved");
                return;
        }
        for (size_t i = 0; i < set->n; i++) {
                struct np_update *u = &moved.updates[moved.n_updates];

                if (skip && strcmp(set->ids[i], skip) == 0)
                        continue;
                *u = (struct np_update){ .source = NP_SOURCE_NRI, .cpus = pool };
                snprintf(u->id, sizeof(u->id), "%s", set->ids[i]);
                moved.n_updates++;
        }
        if (np_outcome_merge_updates(into, &moved) < 0)
                np_log_warning("out of memory: protected containers not moved");
        np_outcome_clear(&moved);
}

/* What numapinctl doctor shows of the plugin; a failure to write it is a warning. */
static void save_status(struct nri_plugin *plugin)
{
        int r = np_nri_status_save(plugin->context->state_dir, &plugin->status);

        if (r < 0)
                np_log_warning("cannot write %s/%s: %s", plugin->context->state_dir, NP_NRI_STATUS_FILE, strerror(-r));
}

/* Configure: the config text (a pre-installed plugin's drop-in), the runtime's
 * NRI version, the topology and the ledger; the events numapin needs. */
static void handle_configure(struct nri_plugin *plugin, const uint8_t *payload, size_t len, struct nri_reply *reply)
{
        Nri__ConfigureRequest *request;
        Nri__ConfigureResponse response = NRI__CONFIGURE_RESPONSE__INIT;
        struct np_context *context = plugin->context;
        const struct np_topology *topology;
        struct np_ledger *ledger;
        struct np_diag diag = {};
        int r;

        request = nri__configure_request__unpack(&plugin->scratch.allocator, len, payload);
        if (!request) {
                reply_fail(reply, NRI_STATUS_INVALID_ARGUMENT, "Configure: malformed ConfigureRequest");
                return;
        }
        /* settings and topology read anew at each connection (CPUs may have come and gone) */
        r = request->config && request->config[0]
                    ? np_context_set_config(context, request->config, strlen(request->config),
                                            "NRI plugin config (Configure)", &diag)
                    : np_context_set_config(context, NULL, 0, NULL, &diag);
        if (r < 0) {
                reply_fail(reply, NRI_STATUS_INVALID_ARGUMENT, diag.message);
                return;
        }
        /* the endpoint reads the state dir this config names */
        if (plugin->metrics &&
            np_metrics_set_config(plugin->metrics, request->config, request->config ? strlen(request->config) : 0,
                                  "NRI plugin config (Configure)", &diag) < 0)
                np_log_warning("metrics: %s", diag.message);
        np_log_set_level(context->config.log_level);
        r = np_context_ledger(context, true, &diag, &ledger);
        if (r == 0)
                r = np_context_topology(context, &diag, &topology);
        np_context_unlock(context);
        if (r < 0) {
                reply_fail(reply, NRI_STATUS_UNKNOWN, diag.message);
                return;
        }
        plugin->configured = true;
        /* the field exists since NRI v0.12, the first to carry linux.memoryPolicy */
        context->memory_policy = request->nri_version && request->nri_version[0];
        if (np_context_refresh_kubelet(context, &diag) < 0)
                np_log_warning("%s; kubelet's CPU manager state is not taken into account", diag.message);
        else if (strcmp(context->kubelet.cpu_policy, "static") == 0) {
                char assigned[NP_CPULIST_BUFSIZE];

                np_cpulist_format(&context->kubelet.assigned_cpus, assigned, sizeof(assigned));
                np_log_warning("kubelet's CPU manager policy is static: numapin gives no container the CPUs kubelet "
                               "assigned (%s now) and leaves kubelet's containers' cpusets to kubelet",
                               assigned[0] ? assigned : "none");
        }
        plugin->status = (struct np_nri_status){ .configured_at = (int64_t)time(NULL),
                                                 .pid = getpid(),
                                                 .updates_overridden = plugin->status.updates_overridden,
                                                 .placements_restored = plugin->status.placements_restored,
                                                 .containers_moved = plugin->status.containers_moved };
        snprintf(plugin->status.runtime_name, sizeof(plugin->status.runtime_name), "%s", request->runtime_name);
        snprintf(plugin->status.runtime_version, sizeof(plugin->status.runtime_version), "%s",
                 request->runtime_version);
        snprintf(plugin->status.nri_version, sizeof(plugin->status.nri_version), "%s",
                 request->nri_version ? request->nri_version : "");
        snprintf(plugin->status.kubelet_cpu_policy, sizeof(plugin->status.kubelet_cpu_policy), "%s",
                 context->kubelet.cpu_policy);
        save_status(plugin);
        np_log_info("configured by %s %s (NRI %s), %zu nodes, state in %s", request->runtime_name,
                    request->runtime_version, context->memory_policy ? request->nri_version : "before v0.12",
                    topology->n_nodes, context->state_dir);
        response.events = NRI_EVENTS;
        reply_pack(reply, &response.base);
}

/* A Synchronize's pods and containers sorted by id, looked up by bsearch: with
 * thousands of each, a scan per container would cost millions of strcmp(). */
struct sync_index {
        struct listed_pod {
                const Nri__PodSandbox *pod;
                size_t order; /* its place in the request: of pods listed twice, the first wins */
        } * pods;
        size_t n_pods;
        const char **container_ids;
        size_t n_containers;
};

static int compare_pods(const void *a, const void *b)
{
        const struct listed_pod *x = a, *y = b;
        int r = strcmp(x->pod->id, y->pod->id);

        return r ? r : (x->order > y->order) - (x->order < y->order);
}

static int compare_pod_id(const void *key, const void *element)
{
        return strcmp(key, ((const struct listed_pod *)element)->pod->id);
}

static int compare_strings(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void sync_index_clear(struct sync_index *index)
{
        free(index->pods);
        free(index->container_ids);
        *index = (struct sync_index){};
}

static int sync_index_build(Nri__SynchronizeRequest **parts, size_t n_parts, struct sync_index *ret_index)
{
        struct sync_index index = {};
        size_t n_pods = 0, n_containers = 0;

        for (size_t p = 0; p < n_parts; p++) {
                n_pods += parts[p]->n_pods;
                n_containers += parts[p]->n_containers;
        }
        index.pods = malloc((n_pods ? n_pods : 1) * sizeof(*index.pods));
        index.container_ids = malloc((n_containers ? n_containers : 1) * sizeof(*index.container_ids));
        if (!index.pods || !index.container_ids) {
                sync_index_clear(&index);
                return -ENOMEM;
        }
        for (size_t p = 0; p < n_parts; p++) {
                for (size_t i = 0; i < parts[p]->n_pods; i++)
                        if (parts[p]->pods[i]->id) {
                                index.pods[index.n_pods] = (struct listed_pod){ parts[p]->pods[i], index.n_pods };
                                index.n_pods++;
                        }
                for (size_t i = 0; i < parts[p]->n_containers; i++)
                        if (parts[p]->containers[i]->id)
                                index.container_ids[index.n_containers++] = parts[p]->containers[i]->id;
        }
        qsort(index.pods, index.n_pods, sizeof(*index.pods), compare_pods);
        qsort(index.container_ids, index.n_containers, sizeof(*index.container_ids), compare_strings);
        *ret_index = index;
        return 0;
}

/* The first pod listed with `id`. */
static const Nri__PodSandbox *find_pod(const struct sync_index *index, const char *id)
{
        const struct listed_pod *found;

        if (!id || index->n_pods == 0)
                return NULL;
        found = bsearch(id, index->pods, index->n_pods, sizeof(*index->pods), compare_pod_id);
        while (found && found > index->pods && strcmp(found[-1].pod->id, id) == 0)
                found--;
        return found ? found->pod : NULL;
}

static bool listed(const struct sync_index *index, const char *id)
{
        return index->n_containers > 0 && bsearch(&id, index->container_ids, index->n_containers,
                                                  sizeof(*index->container_ids), compare_strings) != NULL;
}

/* What a Synchronize changed, for its log line and the status numapinctl shows. */
struct sync_counts {
        unsigned int adopted, restored, moved, dropped;
};

/* One listed container: counted from its cpuset when numapin does not hold it
 * yet (protected, when numapin does not place it: moved off exclusive CPUs),
 * set back to its placement when it holds it and the cpuset changed while the
 * plugin was away. What changes goes into `updates`. */
static void sync_container(struct nri_plugin *plugin, const Nri__PodSandbox *pod, const Nri__Container *container,
                           struct np_outcome *updates, struct sync_counts *counts)
{
        const Nri__LinuxResources *resources = container->linux ? container->linux->resources : NULL;
        const Nri__LinuxCPU *cpu = resources ? resources->cpu : NULL;
        struct np_outcome outcome = {}, restore = {};
        struct container_input in;
        struct np_update update;
        struct np_diag diag = {};
        int r;

        if (!np_id_valid(container->id) || container_input(pod, container, &in) < 0)
                return;
        r = np_lifecycle_adopt(plugin->context, &in.input, cpu ? cpu->cpus : NULL, cpu ? cpu->mems : NULL, &diag,
                               &outcome);
        container_input_clear(&in);
        if (r < 0) {
                np_log_warning("synchronize: %s", diag.message);
                return;
        }
        if (outcome.kind == NP_OUTCOME_PLACED && outcome.placement.policy != NP_POLICY_NONE)
                counts->adopted++;
        if (outcome.kind == NP_OUTCOME_PROTECTED && nri_protected_add(&plugin->protected, container->id) < 0)
                np_log_warning("synchronize: out of memory: container '%s' not protected", container->id);
        if (outcome.kind != NP_OUTCOME_NONE && outcome.drifted) {
                update = (struct np_update){ .source = NP_SOURCE_NRI,
                                             .cpus = outcome.placement.cpus,
                                             .write_mems = outcome.placement.write_mems,
                                             .mems = outcome.placement.mems };
                snprintf(update.id, sizeof(update.id), "%s", container->id);
                restore = (struct np_outcome){ .n_updates = 1, .updates = &update };
                if (np_outcome_merge_updates(updates, &restore) == 0) {
                        if (outcome.kind == NP_OUTCOME_KEPT)
                                counts->restored++;
                        else if (outcome.kind == NP_OUTCOME_PROTECTED)
                                counts->moved++;
                }
        }
        np_outcome_clear(&outcome);
}

/* The records of the plugin's containers that the runtime no longer lists. */
static size_t gone_records(struct nri_plugin *plugin, const struct sync_index *index, char (**ret_ids)[NP_ID_MAX + 1])
{
        struct np_ledger *ledger = plugin->context->ledger; /* locked by the batch */
        char(*ids)[NP_ID_MAX + 1] = calloc(np_ledger_count(ledger) + 1, sizeof(*ids));
        size_t n = 0;

        for (const struct np_record *rec = ids ? np_ledger_next(ledger, NULL) : NULL; rec;
             rec = np_ledger_next(ledger, rec))
                if (rec->source == NP_SOURCE_NRI && !listed(index, rec->id))
                        snprintf(ids[n++], sizeof(*ids), "%s", rec->id);
        *ret_ids = ids;
        return n;
}

/* The final Synchronize, under one hold of the ledger: every listed container
 * counted, protected or restored; the records of containers gone meanwhile
 * released; then the shared containers re-pinned once. `ret_updates` holds
 * every change for the reply. */
static int synchronize(struct nri_plugin *plugin, Nri__SynchronizeRequest **parts, size_t n_parts,
                       struct np_outcome *ret_updates)
{
        struct np_outcome updates = {}, repinned = {};
        struct sync_index index = {};
        struct sync_counts counts = {};
        char(*gone)[NP_ID_MAX + 1] = NULL;
        struct np_diag diag = {};
        size_t n_gone;
        int r;

        r = sync_index_build(parts, n_parts, &index);
        if (r < 0) {
                np_log_warning("synchronize: out of memory");
                return r;
        }
        r = np_lifecycle_batch_begin(plugin->context, &diag);
        if (r < 0) {
                np_log_warning("synchronize: %s", diag.message);
                sync_index_clear(&index);
                return r;
        }
        /* the runtime lists every container: the protected ones are known anew */
        nri_protected_clear(&plugin->protected);
        plugin->protected.pool_known = np_lifecycle_shared_pool(plugin->context, NULL, &plugin->protected.pool) == 0;
        for (size_t p = 0; p < n_parts; p++)
                for (size_t i = 0; i < parts[p]->n_containers; i++)
                        sync_container(plugin, find_pod(&index, parts[p]->containers[i]->pod_sandbox_id),
                                       parts[p]->containers[i], &updates, &counts);
        n_gone = gone_records(plugin, &index, &gone);
        sync_index_clear(&index);
        for (size_t i = 0; i < n_gone; i++) {
                struct np_outcome released = {};

                diag = (struct np_diag){};
                if (np_lifecycle_release(plugin->context, gone[i], 0, &diag, &released) < 0)
                        np_log_warning("synchronize: %s", diag.message);
                counts.dropped += released.kind == NP_OUTCOME_RELEASED;
                np_outcome_clear(&released);
        }
        free(gone);
        diag = (struct np_diag){};
        r = np_lifecycle_batch_end(plugin->context, &diag, &repinned);
        if (r < 0)
                np_log_warning("synchronize: %s", diag.message);
        else if (np_outcome_merge_updates(&updates, &repinned) < 0)
                np_log_warning("synchronize: out of memory");
        np_outcome_clear(&repinned);
        protected_updates(plugin, NULL, &updates);
        plugin->status.placements_restored += counts.restored;
        plugin->status.containers_moved += counts.moved;
        if (counts.restored || counts.moved)
                save_status(plugin);
        np_log_info("synchronized: %u containers counted from their cpusets, %u set back to their placement, %u moved "
                    "off exclusive CPUs, %u records of gone containers dropped",
                    counts.adopted, counts.restored, counts.moved, counts.dropped);
        *ret_updates = updates;
        return 0;
}

static void handle_synchronize(struct nri_plugin *plugin, const uint8_t *payload, size_t len, struct nri_reply *reply)
{
        Nri__SynchronizeResponse response = NRI__SYNCHRONIZE_RESPONSE__INIT;
        Nri__SynchronizeRequest *request, **grown;
        struct np_outcome released = {};
        struct updates updates = {};

        request = nri__synchronize_request__unpack(NULL, len, payload);
        if (!request) {
                nri_plugin_disconnected(plugin);
                reply_fail(reply, NRI_STATUS_INVALID_ARGUMENT, "Synchronize: malformed SynchronizeRequest");
                return;
        }
        if (plugin->sync_bytes + len > NRI_SYNC_LIMIT) {
                nri__synchronize_request__free_unpacked(request, NULL);
                nri_plugin_disconnected(plugin);
                reply_fail(reply, NRI_STATUS_RESOURCE_EXHAUSTED,
                           "Synchronize: more than 64 MiB of pods and containers");
                return;
        }
        grown = realloc(plugin->sync_parts, (plugin->n_sync_parts + 1) * sizeof(*grown));
        if (!grown) {
                nri__synchronize_request__free_unpacked(request, NULL);
                reply_fail(reply, NRI_STATUS_INTERNAL, "out of memory");
                return;
        }
        plugin->sync_parts = grown;
        plugin->sync_parts[plugin->n_sync_parts++] = request;
        plugin->sync_bytes += len;
        if (request->more) {
                response.more = true; /* the echo a paged Synchronize expects */
                reply_pack(reply, &response.base);
                return;
        }
        if (!configured(plugin, reply)) {
                nri_plugin_disconnected(plugin);
                return;
        }
        synchronize(plugin, plugin->sync_parts, plugin->n_sync_parts, &released);
        nri_plugin_disconnected(plugin);
        if (updates_from(&released, &updates) < 0) {
                np_outcome_clear(&released);
                reply_fail(reply, NRI_STATUS_INTERNAL, "out of memory");
                return;
        }
        response.n_update = updates.n;
        response.update = updates.list;
        reply_pack(reply, &response.base);
        updates_clear(&updates);
        np_outcome_clear(&released);
}

static void log_placement(const char *id, const struct np_placement *placement)
{
        char cpus[NP_CPULIST_BUFSIZE], mems[NP_CPULIST_BUFSIZE];

        if (np_log_get_level() < NP_LOG_INFO)
                return; /* and the placement has no reason (NP_PLACE_NO_REASON) */
        np_cpulist_format(&placement->cpus, cpus, sizeof(cpus));
        np_cpulist_format(placement->write_mems ? &placement->mems : &placement->nodes, mems, sizeof(mems));
        np_log_info("container '%s': policy %s, cpus %s, %s %s: %s", id, np_policy_to_string(placement->policy), cpus,
                    placement->write_mems ? "mems" : "memory policy nodes", mems, placement->reason);
}

/* CreateContainer: core's placement as an adjustment of linux.resources.cpu
 * (and linux.memoryPolicy for preferred/interleave), with the updates of the
 * shared containers it moves. */
static void create_container(struct nri_plugin *plugin, const Nri__PodSandbox *pod, const Nri__Container *container,
                             struct nri_reply *reply)
{
        Nri__CreateContainerResponse response = NRI__CREATE_CONTAINER_RESPONSE__INIT;
        Nri__ContainerAdjustment adjust = NRI__CONTAINER_ADJUSTMENT__INIT;
        Nri__LinuxContainerAdjustment linux_adjust = NRI__LINUX_CONTAINER_ADJUSTMENT__INIT;
        Nri__LinuxMemoryPolicy memory_policy = NRI__LINUX_MEMORY_POLICY__INIT;
        const struct np_placement *placement;
        struct cpuset_message cpuset = {};
        struct np_outcome outcome = {};
        struct updates updates = {};
        struct container_input in;
        char nodes[NP_CPULIST_BUFSIZE];
        struct np_diag diag = {};
        int r;

        r = container_input(pod, container, &in);
        if (r < 0) {
                reply_fail(reply, NRI_STATUS_INTERNAL, "out of memory");
                return;
        }
        r = np_lifecycle_place(plugin->context, &in.input,
                               NP_PLACE_COMMIT | (np_log_get_level() < NP_LOG_INFO ? NP_PLACE_NO_REASON : 0), &diag,
                               &outcome);
        container_input_clear(&in);
        if (r < 0)
                goto fail;
        if (outcome.kind == NP_OUTCOME_NONE) {
                reply_pack(reply, &response.base);
                np_outcome_clear(&outcome);
                return;
        }
        if (outcome.kind == NP_OUTCOME_PROTECTED && nri_protected_add(&plugin->protected, container->id) < 0)
                np_log_warning("container '%s': out of memory; not kept off exclusive CPUs later", container->id);
        protected_updates(plugin, container->id, &outcome);
        placement = &outcome.placement;
        r = updates_from(&outcome, &updates);
        if (r == 0)
                r = cpuset_message_init(&cpuset, &placement->cpus, placement->write_mems ? &placement->mems : NULL);
        if (r < 0) {
                np_diag_fail(&diag, r, "out of memory");
                goto fail;
        }
        linux_adjust.resources = &cpuset.resources;
        if (placement->policy == NP_POLICY_PREFERRED || placement->policy == NP_POLICY_INTERLEAVE) {
                np_cpulist_format(&placement->nodes, nodes, sizeof(nodes));
                memory_policy.mode = placement->policy == NP_POLICY_INTERLEAVE ? NRI__MPOL_MODE__MPOL_INTERLEAVE
                                     : np_cpulist_count(&placement->nodes) > 1 ? NRI__MPOL_MODE__MPOL_PREFERRED_MANY
                                                                               : NRI__MPOL_MODE__MPOL_PREFERRED;
                memory_policy.nodes = nodes;
                linux_adjust.memory_policy = &memory_policy;
        }
        adjust.linux = &linux_adjust;
        response.adjust = &adjust;
        response.n_update = updates.n;
        response.update = updates.list;
        reply_pack(reply, &response.base);
        log_placement(container->id, placement);
        cpuset_message_clear(&cpuset);
        updates_clear(&updates);
        np_outcome_clear(&outcome);
        return;

fail:
        cpuset_message_clear(&cpuset);
        updates_clear(&updates);
        np_outcome_clear(&outcome);
        if (plugin->context->config.on_error == NP_ON_ERROR_IGNORE) {
                np_log_warning("container '%s': %s; on_error is ignore: the container starts unbound", container->id,
                               diag.message);
                Nri__CreateContainerResponse empty = NRI__CREATE_CONTAINER_RESPONSE__INIT;
                reply_pack(reply, &empty.base);
                return;
        }
        np_log_error("container '%s': %s", container->id, diag.message);
        reply_fail(reply, NRI_STATUS_UNKNOWN, diag.message);
}

static void handle_create(struct nri_plugin *plugin, const uint8_t *payload, size_t len, struct nri_reply *reply)
{
        Nri__CreateContainerRequest *request;

        request = nri__create_container_request__unpack(&plugin->scratch.allocator, len, payload);
        if (!request) {
                reply_fail(reply, NRI_STATUS_INVALID_ARGUMENT, "CreateContainer: malformed CreateContainerRequest");
                return;
        }
        if (valid_container(request->container, reply, "CreateContainer") && configured(plugin, reply))
                create_container(plugin, request->pod, request->container, reply);
}

/* Whether an update the runtime was asked for (kubelet's reconciler sends its
 * own cpuset) names other CPUs or nodes than numapin's. */
static bool asks_other_cpuset(const Nri__LinuxResources *asked, const struct cpuset_message *kept)
{
        const Nri__LinuxCPU *cpu = asked ? asked->cpu : NULL;

        if (!cpu)
                return false;
        return (cpu->cpus && cpu->cpus[0] && strcmp(cpu->cpus, kept->cpus) != 0) ||
               (kept->mems && cpu->mems && cpu->mems[0] && strcmp(cpu->mems, kept->mems) != 0);
}

/* UpdateContainer: whatever resources the runtime was asked to set, the
 * cpuset stays numapin's. */
static void handle_update(struct nri_plugin *plugin, const uint8_t *payload, size_t len, struct nri_reply *reply)
{
        Nri__UpdateContainerRequest *request;
        Nri__UpdateContainerResponse response = NRI__UPDATE_CONTAINER_RESPONSE__INIT;
        Nri__ContainerUpdate update = NRI__CONTAINER_UPDATE__INIT, *list[1] = { &update };
        Nri__LinuxContainerUpdate linux_update = NRI__LINUX_CONTAINER_UPDATE__INIT;
        struct cpuset_message cpuset = {};
        const struct np_record *record;
        struct np_ledger *ledger;
        struct np_diag diag = {};
        char id[NP_ID_MAX + 1];
        bool keep;
        int r = 0;

        request = nri__update_container_request__unpack(&plugin->scratch.allocator, len, payload);
        if (!request) {
                reply_fail(reply, NRI_STATUS_INVALID_ARGUMENT, "UpdateContainer: malformed UpdateContainerRequest");
                return;
        }
        if (!valid_container(request->container, reply, "UpdateContainer") || !configured(plugin, reply))
                return;
        r = np_context_ledger(plugin->context, true, &diag, &ledger);
        if (r < 0) {
                reply_fail(reply, NRI_STATUS_UNKNOWN, diag.message);
                return;
        }
        record = np_ledger_find(ledger, request->container->id);
        /* kubelet's static CPU manager pins its own containers: its updates stand */
        if (np_context_kubelet_assigned(plugin->context, request->pod ? request->pod->uid : NULL,
                                        request->container->name))
                record = NULL;
        keep = record ||
               (nri_protected_has(&plugin->protected, request->container->id) && plugin->protected.pool_known &&
                !np_context_kubelet_assigned(plugin->context, request->pod ? request->pod->uid : NULL,
                                             request->container->name));
        if (record)
                r = cpuset_message_init(&cpuset, &record->cpus, record->write_mems ? &record->mems : NULL);
        else if (keep) /* a protected container stays off exclusive CPUs */
                r = cpuset_message_init(&cpuset, &plugin->protected.pool, NULL);
        np_context_unlock(plugin->context);
        if (r < 0) {
                cpuset_message_clear(&cpuset);
                reply_fail(reply, NRI_STATUS_INTERNAL, "out of memory");
                return;
        }
        if (keep) {
                snprintf(id, sizeof(id), "%s", request->container->id);
                linux_update.resources = &cpuset.resources;
                update.container_id = id;
                update.linux = &linux_update;
                response.n_update = 1;
                response.update = list;
                if (asks_other_cpuset(request->linux_resources, &cpuset)) {
                        plugin->status.updates_overridden++;
                        save_status(plugin);
                        np_log_info("container '%s': the runtime's update asked for cpus %s; numapin keeps cpus %s", id,
                                    request->linux_resources->cpu->cpus, cpuset.cpus);
                } else
                        np_log_debug("container '%s': update keeps cpus %s", id, cpuset.cpus);
        }
        reply_pack(reply, &response.base);
        cpuset_message_clear(&cpuset);
}

/* A container stopped or removed: core releases it; `ret_outcome` holds the
 * changes to the shared containers. */
static void release(struct nri_plugin *plugin, const char *id, struct np_outcome *ret_outcome)
{
        struct np_diag diag = {};

        nri_protected_remove(&plugin->protected, id);
        if (np_lifecycle_release(plugin->context, id, 0, &diag, ret_outcome) < 0) {
                np_log_error("%s", diag.message);
                *ret_outcome = (struct np_outcome){};
                return;
        }
        protected_updates(plugin, NULL, ret_outcome);
        if (ret_outcome->warning[0])
                np_log_warning("%s", ret_outcome->warning);
        if (ret_outcome->kind == NP_OUTCOME_RELEASED)
                np_log_info("container '%s': allocation released", id);
}

static void handle_stop(struct nri_plugin *plugin, const uint8_t *payload, size_t len, struct nri_reply *reply)
{
        Nri__StopContainerRequest *request;
        Nri__StopContainerResponse response = NRI__STOP_CONTAINER_RESPONSE__INIT;
        struct np_outcome outcome = {};
        struct updates updates = {};

        request = nri__stop_container_request__unpack(&plugin->scratch.allocator, len, payload);
        if (!request) {
                reply_fail(reply, NRI_STATUS_INVALID_ARGUMENT, "StopContainer: malformed StopContainerRequest");
                return;
        }
        if (!valid_container(request->container, reply, "StopContainer") || !configured(plugin, reply))
                return;
        release(plugin, request->container->id, &outcome);
        if (updates_from(&outcome, &updates) < 0)
                reply_fail(reply, NRI_STATUS_INTERNAL, "out of memory");
        else {
                response.n_update = updates.n;
                response.update = updates.list;
                reply_pack(reply, &response.base);
        }
        updates_clear(&updates);
        np_outcome_clear(&outcome);
}

/* After creation the container has a cgroup (and a pid): core records them
 * and attaches the locality monitor. */
static void post_create(struct nri_plugin *plugin, const Nri__PodSandbox *pod, const Nri__Container *container)
{
        struct np_outcome outcome = {};
        struct container_input in;
        struct np_diag diag = {};

        if (container_input(pod, container, &in) < 0) {
                np_log_warning("container '%s': out of memory; its cgroup is not recorded", container->id);
                return;
        }
        if (np_lifecycle_started(plugin->context, &in.input, &diag, &outcome) < 0)
                np_log_warning("container '%s': %s", container->id, diag.message);
        else if (outcome.warning[0])
                np_log_warning("container '%s': %s", container->id, outcome.warning);
        container_input_clear(&in);
        np_outcome_clear(&outcome);
}

/* The events without a reply of their own: PostCreateContainer and
 * RemoveContainer (dedicated since NRI v0.12, StateChange before). */
static void container_event(struct nri_plugin *plugin, Nri__Event event, const Nri__PodSandbox *pod,
                            const Nri__Container *container, struct nri_reply *reply)
{
        Nri__Empty empty = NRI__EMPTY__INIT;
        Nri__UpdateContainersRequest unsolicited = NRI__UPDATE_CONTAINERS_REQUEST__INIT;
        struct np_outcome outcome = {};
        struct updates updates = {};

        if (event == NRI__EVENT__POST_CREATE_CONTAINER || event == NRI__EVENT__REMOVE_CONTAINER ||
            event == NRI__EVENT__STOP_CONTAINER) {
                if (!valid_container(container, reply, "StateChange") || !configured(plugin, reply))
                        return;
                if (event == NRI__EVENT__POST_CREATE_CONTAINER)
                        post_create(plugin, pod, container);
                else
                        release(plugin, container->id, &outcome);
                /* removed without a stop (it never ran): shared containers get its
                 * exclusive CPUs back through UpdateContainers, sent after the reply */
                if (updates_from(&outcome, &updates) == 0 && updates.n > 0) {
                        unsolicited.n_update = updates.n;
                        unsolicited.update = updates.list;
                        reply->runtime_update_len = protobuf_c_message_get_packed_size(&unsolicited.base);
                        reply->runtime_update = malloc(reply->runtime_update_len ? reply->runtime_update_len : 1);
                        if (reply->runtime_update)
                                protobuf_c_message_pack(&unsolicited.base, reply->runtime_update);
                }
                updates_clear(&updates);
                np_outcome_clear(&outcome);
        }
        reply_pack(reply, &empty.base);
}

static void handle_event(struct nri_plugin *plugin, Nri__Event event, const uint8_t *payload, size_t len,
                         struct nri_reply *reply)
{
        Nri__ContainerEventRequest *request;

        request = nri__container_event_request__unpack(&plugin->scratch.allocator, len, payload);
        if (!request) {
                reply_fail(reply, NRI_STATUS_INVALID_ARGUMENT, "malformed container event request");
                return;
        }
        container_event(plugin, event, request->pod, request->container, reply);
}

static void handle_state_change(struct nri_plugin *plugin, const uint8_t *payload, size_t len, struct nri_reply *reply)
{
        Nri__StateChangeEvent *request;

        request = nri__state_change_event__unpack(&plugin->scratch.allocator, len, payload);
        if (!request) {
                reply_fail(reply, NRI_STATUS_INVALID_ARGUMENT, "StateChange: malformed StateChangeEvent");
                return;
        }
        container_event(plugin, request->event, request->pod, request->container, reply);
}

void nri_plugin_handle(struct nri_plugin *plugin, const char *method, const uint8_t *payload, size_t len,
                       struct nri_reply *reply)
{
        Nri__Empty empty = NRI__EMPTY__INIT;
        char message[256], quoted[128];
        enum np_nri_method counted = np_nri_method_from_name(method);
        uint64_t started = np_context_now_ns();

        *reply = (struct nri_reply){};
        plugin->idle_failed = false;
        if (strcmp(method, "Configure") == 0)
                handle_configure(plugin, payload, len, reply);
        else if (strcmp(method, "Synchronize") == 0)
                handle_synchronize(plugin, payload, len, reply);
        else if (strcmp(method, "CreateContainer") == 0)
                handle_create(plugin, payload, len, reply);
        else if (strcmp(method, "UpdateContainer") == 0)
                handle_update(plugin, payload, len, reply);
        else if (strcmp(method, "StopContainer") == 0)
                handle_stop(plugin, payload, len, reply);
        else if (strcmp(method, "PostCreateContainer") == 0)
                handle_event(plugin, NRI__EVENT__POST_CREATE_CONTAINER, payload, len, reply);
        else if (strcmp(method, "RemoveContainer") == 0)
                handle_event(plugin, NRI__EVENT__REMOVE_CONTAINER, payload, len, reply);
        else if (strcmp(method, "StateChange") == 0)
                handle_state_change(plugin, payload, len, reply);
        else if (strcmp(method, "Shutdown") == 0)
                reply_pack(reply, &empty.base);
        else {
                snprintf(message, sizeof(message), "method %s", np_log_quote(quoted, sizeof(quoted), method));
                reply_fail(reply, NRI_STATUS_UNIMPLEMENTED, message);
        }
        nri_arena_reset(&plugin->scratch); /* the request goes: the reply holds copies */
        if (counted == NP_NRI_CREATE_CONTAINER)
                np_lifecycle_latency(plugin->context, np_context_now_ns() - started);
        np_opstats_nri_request(np_context_opstats(plugin->context), counted, reply->code == NRI_STATUS_OK);
}
