// SPDX-License-Identifier: MIT
/* What numapin-nri answers to each NRI call. CreateContainer places the
 * container through core exactly as the OCI hook does (annotations, ledger
 * usage, np_policy_place) and returns the cpuset as a ContainerAdjustment;
 * the ledger in the state dir is shared with the hook and numapinctl. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../core/annotations.h"
#include "../core/cgroup.h"
#include "../core/locality.h"
#include "../core/policy.h"
#include "../core/repin.h"
#include "../core/spec.h"
#include "../core/topocache.h"
#include "../core/watch.h"
#include "plugin.h"

#define ANNOTATION_KEY_MAX 317 /* a prefix, "/container." and a 253-byte name */

/* _cleanup_ for messages unpacked by protobuf-c */
#define DEFINE_UNPACKED_CLEANUP(type, name)                                                                            \
        static inline void name##__free_unpackedp(type **p)                                                            \
        {                                                                                                              \
                if (*p)                                                                                                \
                        name##__free_unpacked(*p, NULL);                                                               \
        }
DEFINE_UNPACKED_CLEANUP(Nri__ConfigureRequest, nri__configure_request)
DEFINE_UNPACKED_CLEANUP(Nri__CreateContainerRequest, nri__create_container_request)
DEFINE_UNPACKED_CLEANUP(Nri__UpdateContainerRequest, nri__update_container_request)
DEFINE_UNPACKED_CLEANUP(Nri__StopContainerRequest, nri__stop_container_request)
DEFINE_UNPACKED_CLEANUP(Nri__ContainerEventRequest, nri__container_event_request)
DEFINE_UNPACKED_CLEANUP(Nri__StateChangeEvent, nri__state_change_event)

int nri_plugin_init(struct nri_plugin *plugin, const struct nri_options *opts, struct np_diag *diag)
{
        int r;

        *plugin = (struct nri_plugin){ .opts = *opts };
        r = np_config_load(opts->config_path, opts->config_required, diag, &plugin->config);
        if (r < 0)
                return r;
        np_log_set_level(plugin->config.log_level);
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

void nri_plugin_clear(struct nri_plugin *plugin)
{
        nri_plugin_disconnected(plugin);
        np_ledger_close(plugin->ledger);
        np_topology_free(plugin->topology);
        plugin->ledger = NULL;
        plugin->topology = NULL;
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

/* The container's numapin annotations: its own first, then its pod's. */
static int collect_annotations(const Nri__PodSandbox *pod, const Nri__Container *container,
                               struct np_annotation_set *ret_set)
{
        struct np_annotation_set set = {};
        int r = 0;

        for (size_t i = 0; container && i < container->n_annotations && r == 0; i++) {
                const char *key = container->annotations[i]->key, *value = container->annotations[i]->value;

                if (key && value && strstr(key, "numapin.io/") && strlen(key) <= ANNOTATION_KEY_MAX)
                        r = np_annotations_add(&set, key, value);
        }
        for (size_t i = 0; pod && i < pod->n_annotations && r == 0; i++) {
                const char *key = pod->annotations[i]->key, *value = pod->annotations[i]->value;

                if (key && value && strstr(key, "numapin.io/") && strlen(key) <= ANNOTATION_KEY_MAX &&
                    !np_annotations_get(&set, key))
                        r = np_annotations_add(&set, key, value);
        }
        if (r < 0) {
                np_annotations_clear(&set);
                return r;
        }
        *ret_set = set;
        return 0;
}

static int container_request(const struct nri_plugin *plugin, const Nri__PodSandbox *pod,
                             const Nri__Container *container, struct np_diag *diag, struct np_request *ret_request)
{
        struct np_annotation_set set = {};
        int r;

        r = collect_annotations(pod, container, &set);
        if (r < 0)
                return np_diag_fail(diag, r, "annotations: %s", strerror(-r));
        r = np_annotations_parse(&set, container->name, plugin->config.default_policy, diag, ret_request);
        np_annotations_clear(&set);
        return r;
}

/* The demand from the CPU quota/period and the memory limit, as the hook reads
 * them from config.json. */
static int container_demand(const Nri__Container *container, struct np_diag *diag, struct np_demand *ret_demand)
{
        const Nri__LinuxResources *resources = container->linux ? container->linux->resources : NULL;
        int64_t quota = -1, limit = -1;
        uint64_t period = 100000;

        if (resources && resources->cpu) {
                if (resources->cpu->quota)
                        quota = resources->cpu->quota->value;
                if (resources->cpu->period && resources->cpu->period->value)
                        period = resources->cpu->period->value;
        }
        if (resources && resources->memory && resources->memory->limit)
                limit = resources->memory->limit->value;
        return np_spec_demand(quota, period, limit, diag, ret_demand);
}

/* The container's pid as the runtime gives it, 0 when absent or beyond any
 * pid the kernel hands out (PID_MAX_LIMIT): the ledger's reclaim trusts it. */
static int container_pid(const Nri__Container *container)
{
        return container->pid <= 4194304 ? (int)container->pid : 0;
}

static bool valid_container(const Nri__Container *container, struct nri_reply *reply, const char *method)
{
        char message[512], quoted[128];

        if (!container) {
                snprintf(message, sizeof(message), "%s: the request has no container", method);
                reply_fail(reply, NRI_STATUS_INVALID_ARGUMENT, message);
                return false;
        }
        if (!np_ledger_id_valid(container->id)) {
                snprintf(message, sizeof(message),
                         "%s: container id '%s' is not valid; expected 1-200 of A-Z a-z 0-9 _ + . -", method,
                         np_log_quote(quoted, sizeof(quoted), container->id));
                reply_fail(reply, NRI_STATUS_INVALID_ARGUMENT, message);
                return false;
        }
        return true;
}

/* Takes the ledger's lock for one call (reloading it if the hook or
 * numapinctl changed it meanwhile). */
static int lock_ledger(struct nri_plugin *plugin, struct nri_reply *reply)
{
        struct np_diag diag = {};
        int r;

        if (!plugin->configured) {
                reply_fail(reply, NRI_STATUS_UNKNOWN, "numapin-nri: not configured yet (Configure comes first)");
                return -EAGAIN;
        }
        r = np_ledger_relock(plugin->ledger, &diag);
        if (r < 0) {
                reply_fail(reply, NRI_STATUS_UNKNOWN, diag.message);
                return r;
        }
        return 0;
}

/* Protobuf strings for one container's cpuset (LinuxResources.cpu.cpus/mems). */
struct cpuset_message {
        Nri__LinuxResources resources;
        Nri__LinuxCPU cpu;
        char *cpus;
        char *mems;
};

static int cpuset_message_init(struct cpuset_message *m, const struct np_cpulist *cpus,
                               const struct np_cpulist *mems)
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

/* Updates for the runtime: shared containers placed by the plugin whose CPUs
 * changed because exclusive CPUs were taken or given back. The hook's
 * containers are re-pinned in their cgroups by np_repin_shared(). */
struct updates {
        size_t n;
        char **ids;
        Nri__ContainerUpdate **list;
        Nri__ContainerUpdate *updates;
        Nri__LinuxContainerUpdate *linux;
        struct cpuset_message *cpusets;
};

static void updates_clear(struct updates *u)
{
        for (size_t i = 0; i < u->n; i++) {
                cpuset_message_clear(&u->cpusets[i]);
                free(u->ids[i]);
        }
        free(u->ids);
        free(u->list);
        free(u->updates);
        free(u->linux);
        free(u->cpusets);
        *u = (struct updates){};
}

/* np_repin_fn: one more update, for a container of the plugin's own. */
static int updates_add(const struct np_record *record, const struct np_cpulist *shared, void *userdata,
                       struct np_diag *diag)
{
        struct updates *u = userdata;
        size_t n = u->n + 1;
        void *grown;

        if (!(grown = realloc(u->updates, n * sizeof(*u->updates))))
                return -ENOMEM;
        u->updates = grown;
        if (!(grown = realloc(u->linux, n * sizeof(*u->linux))))
                return -ENOMEM;
        u->linux = grown;
        if (!(grown = realloc(u->cpusets, n * sizeof(*u->cpusets))))
                return -ENOMEM;
        u->cpusets = grown;
        if (!(grown = realloc(u->list, n * sizeof(*u->list))))
                return -ENOMEM;
        u->list = grown;
        if (!(grown = realloc(u->ids, n * sizeof(*u->ids))))
                return -ENOMEM;
        u->ids = grown;
        u->ids[u->n] = strdup(record->id);
        if (!u->ids[u->n] || cpuset_message_init(&u->cpusets[u->n], shared, NULL) < 0) {
                free(u->ids[u->n]);
                cpuset_message_clear(&u->cpusets[u->n]);
                return np_diag_fail(diag, -ENOMEM, "out of memory");
        }
        u->n = n;
        np_log_info("container '%s': shared CPUs now %s", record->id, u->cpusets[u->n - 1].cpus);
        return 1;
}

/* Links the messages once the arrays stop moving. */
static void updates_link(struct updates *u)
{
        for (size_t i = 0; i < u->n; i++) {
                u->linux[i] = (Nri__LinuxContainerUpdate)NRI__LINUX_CONTAINER_UPDATE__INIT;
                u->linux[i].resources = &u->cpusets[i].resources;
                u->cpusets[i].resources.cpu = &u->cpusets[i].cpu;
                u->updates[i] = (Nri__ContainerUpdate)NRI__CONTAINER_UPDATE__INIT;
                u->updates[i].container_id = u->ids[i];
                u->updates[i].linux = &u->linux[i];
                u->updates[i].ignore_failure = true; /* the container may be exiting */
                u->list[i] = &u->updates[i];
        }
}

/* Re-pins every shared container: the plugin's through updates, the hook's
 * in their cgroups (a failure there is the hook's container's, a warning). */
static int repin_shared(struct nri_plugin *plugin, struct updates *u, struct np_diag *diag)
{
        struct np_diag hook_diag = {};
        int r;

        r = np_repin_each(plugin->ledger, plugin->topology, &plugin->config, true, updates_add, u, diag);
        updates_link(u);
        if (r < 0)
                return r;
        if (np_repin_shared(plugin->ledger, plugin->topology, &plugin->config, &hook_diag) < 0)
                np_log_warning("%s", hook_diag.message);
        return 0;
}

static uint64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int refresh_topology(struct nri_plugin *plugin, struct np_diag *diag)
{
        uint64_t now = now_ns();
        int r;

        if (plugin->refreshed_ns && now - plugin->refreshed_ns < NRI_REFRESH_NS)
                return 0;
        r = np_topology_refresh(plugin->topology, plugin->opts.sysfs_root, diag);
        if (r == 0)
                plugin->refreshed_ns = now;
        return r;
}

/* Configure: the config text (a pre-installed plugin's drop-in), the runtime's
 * NRI version, the topology and the ledger; the events numapin needs. */
static void handle_configure(struct nri_plugin *plugin, const uint8_t *payload, size_t len, struct nri_reply *reply)
{
        _cleanup_(nri__configure_request__free_unpackedp) Nri__ConfigureRequest *request = NULL;
        Nri__ConfigureResponse response = NRI__CONFIGURE_RESPONSE__INIT;
        struct np_config config = plugin->config;
        struct np_topology *topology = NULL;
        struct np_ledger *ledger = NULL;
        struct np_diag diag = {};
        char cache_path[PATH_MAX + 32];
        int r;

        request = nri__configure_request__unpack(NULL, len, payload);
        if (!request) {
                reply_fail(reply, NRI_STATUS_INVALID_ARGUMENT, "Configure: malformed ConfigureRequest");
                return;
        }
        if (request->config && request->config[0]) {
                r = np_config_parse(request->config, strlen(request->config), "NRI plugin config (Configure)",
                                    &diag, &config);
                if (r < 0) {
                        reply_fail(reply, NRI_STATUS_INVALID_ARGUMENT, diag.message);
                        return;
                }
                np_log_set_level(config.log_level);
        }
        snprintf(plugin->state_dir, sizeof(plugin->state_dir), "%s",
                 np_ledger_default_dir(plugin->opts.state_dir ? plugin->opts.state_dir : config.state_dir));
        snprintf(cache_path, sizeof(cache_path), "%s/%s", plugin->state_dir, NP_TOPOLOGY_CACHE);
        r = np_ledger_open(plugin->state_dir, true, &diag, &ledger);
        if (r == 0)
                r = np_topology_load_cached(plugin->opts.sysfs_root, cache_path, &diag, &topology);
        if (r < 0) {
                np_ledger_close(ledger);
                reply_fail(reply, NRI_STATUS_UNKNOWN, diag.message);
                return;
        }
        np_ledger_unlock(ledger);
        nri_plugin_clear(plugin);
        plugin->config = config;
        plugin->ledger = ledger;
        plugin->topology = topology;
        plugin->refreshed_ns = now_ns();
        plugin->configured = true;
        /* the field exists since NRI v0.12, the first to carry linux.memoryPolicy */
        plugin->memory_policy = request->nri_version && request->nri_version[0];
        np_log_info("configured by %s %s (NRI %s), %zu nodes, state in %s", request->runtime_name,
                    request->runtime_version, plugin->memory_policy ? request->nri_version : "before v0.12",
                    topology->n_nodes, plugin->state_dir);
        response.events = NRI_EVENTS;
        reply_pack(reply, &response.base);
}

static const Nri__PodSandbox *find_pod(Nri__SynchronizeRequest **parts, size_t n_parts, const char *id)
{
        for (size_t p = 0; p < n_parts; p++)
                for (size_t i = 0; i < parts[p]->n_pods; i++)
                        if (strcmp(parts[p]->pods[i]->id, id) == 0)
                                return parts[p]->pods[i];
        return NULL;
}

static bool listed(Nri__SynchronizeRequest **parts, size_t n_parts, const char *id)
{
        for (size_t p = 0; p < n_parts; p++)
                for (size_t i = 0; i < parts[p]->n_containers; i++)
                        if (strcmp(parts[p]->containers[i]->id, id) == 0)
                                return true;
        return false;
}

/* A record for a container that existed before the plugin (or before its
 * restart): what it holds is its current cpuset. */
static int record_from_cpuset(const struct nri_plugin *plugin, const Nri__Container *container,
                              const struct np_request *request, struct np_diag *diag, struct np_record *ret_record)
{
        const Nri__LinuxResources *resources = container->linux ? container->linux->resources : NULL;
        struct np_cpulist cpus, mems;
        struct np_placement placement;
        struct np_demand demand;
        bool has_mems;
        char what[300];
        int r;

        if (!resources || !resources->cpu || !resources->cpu->cpus || !resources->cpu->cpus[0])
                return np_diag_fail(diag, -ENOENT, "container '%s' has no cpuset; not counted", container->id);
        snprintf(what, sizeof(what), "container '%s': linux.resources.cpu.cpus", container->id);
        r = np_cpulist_parse(resources->cpu->cpus, NP_CPULIST_MAX, what, diag, &cpus);
        if (r < 0)
                return r;
        has_mems = resources->cpu->mems && resources->cpu->mems[0];
        if (has_mems) {
                snprintf(what, sizeof(what), "container '%s': linux.resources.cpu.mems", container->id);
                r = np_cpulist_parse(resources->cpu->mems, NP_MAX_NODES, what, diag, &mems);
                if (r < 0)
                        return r;
        }
        if (!np_cpulist_is_subset(&cpus, &plugin->topology->online_cpus) ||
            (has_mems && !np_cpulist_is_subset(&mems, &plugin->topology->node_ids)))
                return np_diag_fail(diag, -EINVAL,
                                    "container '%s': cpuset '%s' / '%s' names CPUs or nodes this machine lacks; not counted",
                                    container->id, resources->cpu->cpus, has_mems ? resources->cpu->mems : "");
        r = container_demand(container, diag, &demand);
        if (r < 0)
                return r;
        np_policy_from_cpuset(plugin->topology, request, &cpus, has_mems ? &mems : NULL, &demand, &placement);
        np_record_from_placement(ret_record, container->id, &placement, "nri");
        return 0;
}

/* The final Synchronize: the ledger holds exactly the plugin's containers that
 * the runtime listed; ones created before the plugin are counted from their cpusets. */
static void synchronize(struct nri_plugin *plugin, Nri__SynchronizeRequest **parts, size_t n_parts)
{
        struct np_ledger *ledger = plugin->ledger;
        unsigned int added = 0, dropped = 0;

        for (size_t p = 0; p < n_parts; p++) {
                for (size_t i = 0; i < parts[p]->n_containers; i++) {
                        const Nri__Container *container = parts[p]->containers[i];
                        struct np_diag diag = {};
                        struct np_request request;
                        struct np_record record;
                        int r;

                        if (!np_ledger_id_valid(container->id) || np_ledger_find(ledger, container->id))
                                continue;
                        r = container_request(plugin, find_pod(parts, n_parts, container->pod_sandbox_id), container,
                                              &diag, &request);
                        if (r == 0 && request.policy == NP_POLICY_NONE)
                                continue;
                        if (r == 0)
                                r = record_from_cpuset(plugin, container, &request, &diag, &record);
                        if (r == 0) {
                                record.pid = container_pid(container);
                                r = np_ledger_put(ledger, &record);
                                if (r < 0)
                                        np_diag_fail(&diag, r, "cannot write the ledger record of container '%s': %s",
                                                     container->id, strerror(-r));
                        }
                        if (r < 0)
                                np_log_warning("synchronize: %s", diag.message);
                        else
                                added++;
                }
        }
        for (size_t i = 0; i < ledger->n_records;) {
                const struct np_record *record = &ledger->records[i];
                struct np_diag diag = {};

                if (strcmp(record->source, "nri") != 0 || listed(parts, n_parts, record->id)) {
                        i++;
                        continue;
                }
                if (np_watch_detach(plugin->state_dir, &plugin->config, record, &diag) < 0)
                        np_log_warning("%s", diag.message);
                if (np_ledger_remove(ledger, record->id) < 0)
                        i++;
                else
                        dropped++;
        }
        np_log_info("synchronized: %u containers counted from their cpusets, %u records of gone containers dropped",
                    added, dropped);
}

static void handle_synchronize(struct nri_plugin *plugin, const uint8_t *payload, size_t len, struct nri_reply *reply)
{
        Nri__SynchronizeResponse response = NRI__SYNCHRONIZE_RESPONSE__INIT;
        Nri__SynchronizeRequest *request, **grown;

        request = nri__synchronize_request__unpack(NULL, len, payload);
        if (!request) {
                nri_plugin_disconnected(plugin);
                reply_fail(reply, NRI_STATUS_INVALID_ARGUMENT, "Synchronize: malformed SynchronizeRequest");
                return;
        }
        if (plugin->sync_bytes + len > NRI_SYNC_LIMIT) {
                nri__synchronize_request__free_unpacked(request, NULL);
                nri_plugin_disconnected(plugin);
                reply_fail(reply, NRI_STATUS_RESOURCE_EXHAUSTED, "Synchronize: more than 64 MiB of pods and containers");
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
        if (lock_ledger(plugin, reply) < 0) {
                nri_plugin_disconnected(plugin);
                return;
        }
        synchronize(plugin, plugin->sync_parts, plugin->n_sync_parts);
        np_ledger_unlock(plugin->ledger);
        nri_plugin_disconnected(plugin);
        reply_pack(reply, &response.base);
}

static void log_placement(const char *id, const struct np_placement *placement)
{
        char cpus[NP_CPULIST_BUFSIZE], mems[NP_CPULIST_BUFSIZE];

        np_cpulist_format(&placement->cpus, cpus, sizeof(cpus));
        np_cpulist_format(placement->write_mems ? &placement->mems : &placement->nodes, mems, sizeof(mems));
        np_log_info("container '%s': policy %s, cpus %s, %s %s: %s", id, np_policy_to_string(placement->policy), cpus,
                    placement->write_mems ? "mems" : "memory policy nodes", mems, placement->reason);
}

/* CreateContainer: the same decision as the hook's, returned as an adjustment
 * of linux.resources.cpu (and linux.memoryPolicy for preferred/interleave). */
static void create_container(struct nri_plugin *plugin, const Nri__PodSandbox *pod, const Nri__Container *container,
                             struct nri_reply *reply)
{
        Nri__CreateContainerResponse response = NRI__CREATE_CONTAINER_RESPONSE__INIT;
        Nri__ContainerAdjustment adjust = NRI__CONTAINER_ADJUSTMENT__INIT;
        Nri__LinuxContainerAdjustment linux_adjust = NRI__LINUX_CONTAINER_ADJUSTMENT__INIT;
        Nri__LinuxMemoryPolicy memory_policy = NRI__LINUX_MEMORY_POLICY__INIT;
        struct cpuset_message cpuset = {};
        struct updates updates = {};
        char nodes[NP_CPULIST_BUFSIZE];
        struct np_diag diag = {};
        struct np_request request;
        struct np_demand demand;
        struct np_placement placement;
        struct np_record record;
        bool existing;
        int r;

        r = container_request(plugin, pod, container, &diag, &request);
        if (r == 0 && request.policy == NP_POLICY_NONE) {
                reply_pack(reply, &response.base);
                return;
        }
        if (r == 0)
                r = container_demand(container, &diag, &demand);
        if (r == 0 && !plugin->memory_policy &&
            (request.policy == NP_POLICY_PREFERRED || request.policy == NP_POLICY_INTERLEAVE))
                r = np_diag_fail(
                        &diag, -EOPNOTSUPP,
                        "policy '%s' needs a memory policy (linux.memoryPolicy), which this runtime's NRI cannot carry (it came with NRI v0.12); use policy 'bind', or a runtime with NRI v0.12 or later",
                        np_policy_to_string(request.policy));
        if (r < 0)
                goto fail;
        if (lock_ledger(plugin, reply) < 0)
                return;
        r = refresh_topology(plugin, &diag);
        if (r == 0)
                r = np_ledger_place(plugin->ledger, plugin->topology, &plugin->config, container->id, &request,
                                    &demand, plugin->memory_policy ? NP_PLACE_MEMORY_POLICY : 0, &diag, &placement);
        existing = r == 1; /* created again (a retry after a failed start): the same placement */
        if (r == 1)
                r = 0;
        if (r == 0 && !existing) {
                np_record_from_placement(&record, container->id, &placement, "nri");
                r = np_ledger_put(plugin->ledger, &record);
                if (r < 0)
                        np_diag_fail(&diag, r, "cannot write the ledger record of container '%s': %s", container->id,
                                     strerror(-r));
        }
        if (r == 0 && !existing && !np_cpulist_empty(&placement.exclusive_cpus))
                r = repin_shared(plugin, &updates, &diag);
        np_ledger_unlock(plugin->ledger);
        if (r < 0)
                goto fail;

        r = cpuset_message_init(&cpuset, &placement.cpus, placement.write_mems ? &placement.mems : NULL);
        if (r < 0) {
                np_diag_fail(&diag, r, "out of memory");
                goto fail;
        }
        linux_adjust.resources = &cpuset.resources;
        if (placement.policy == NP_POLICY_PREFERRED || placement.policy == NP_POLICY_INTERLEAVE) {
                np_cpulist_format(&placement.nodes, nodes, sizeof(nodes));
                memory_policy.mode = placement.policy == NP_POLICY_INTERLEAVE ? NRI__MPOL_MODE__MPOL_INTERLEAVE
                                     : np_cpulist_count(&placement.nodes) > 1 ? NRI__MPOL_MODE__MPOL_PREFERRED_MANY
                                                                               : NRI__MPOL_MODE__MPOL_PREFERRED;
                memory_policy.nodes = nodes;
                linux_adjust.memory_policy = &memory_policy;
        }
        adjust.linux = &linux_adjust;
        response.adjust = &adjust;
        response.n_update = updates.n;
        response.update = updates.list;
        reply_pack(reply, &response.base);
        log_placement(container->id, &placement);
        cpuset_message_clear(&cpuset);
        updates_clear(&updates);
        return;

fail:
        cpuset_message_clear(&cpuset);
        updates_clear(&updates);
        if (plugin->config.on_error == NP_ON_ERROR_IGNORE) {
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
        _cleanup_(nri__create_container_request__free_unpackedp) Nri__CreateContainerRequest *request = NULL;

        request = nri__create_container_request__unpack(NULL, len, payload);
        if (!request) {
                reply_fail(reply, NRI_STATUS_INVALID_ARGUMENT, "CreateContainer: malformed CreateContainerRequest");
                return;
        }
        if (valid_container(request->container, reply, "CreateContainer"))
                create_container(plugin, request->pod, request->container, reply);
}

/* UpdateContainer: whatever resources the runtime was asked to set, the
 * cpuset stays numapin's. */
static void handle_update(struct nri_plugin *plugin, const uint8_t *payload, size_t len, struct nri_reply *reply)
{
        _cleanup_(nri__update_container_request__free_unpackedp) Nri__UpdateContainerRequest *request = NULL;
        Nri__UpdateContainerResponse response = NRI__UPDATE_CONTAINER_RESPONSE__INIT;
        Nri__ContainerUpdate update = NRI__CONTAINER_UPDATE__INIT, *list[1] = { &update };
        Nri__LinuxContainerUpdate linux_update = NRI__LINUX_CONTAINER_UPDATE__INIT;
        struct cpuset_message cpuset = {};
        const struct np_record *record;
        char id[NP_ID_MAX + 1];

        request = nri__update_container_request__unpack(NULL, len, payload);
        if (!request) {
                reply_fail(reply, NRI_STATUS_INVALID_ARGUMENT, "UpdateContainer: malformed UpdateContainerRequest");
                return;
        }
        if (!valid_container(request->container, reply, "UpdateContainer") || lock_ledger(plugin, reply) < 0)
                return;
        record = np_ledger_find(plugin->ledger, request->container->id);
        if (record && cpuset_message_init(&cpuset, &record->cpus, record->write_mems ? &record->mems : NULL) < 0) {
                np_ledger_unlock(plugin->ledger);
                cpuset_message_clear(&cpuset);
                reply_fail(reply, NRI_STATUS_INTERNAL, "out of memory");
                return;
        }
        np_ledger_unlock(plugin->ledger);
        if (record) {
                snprintf(id, sizeof(id), "%s", request->container->id);
                linux_update.resources = &cpuset.resources;
                update.container_id = id;
                update.linux = &linux_update;
                response.n_update = 1;
                response.update = list;
                np_log_debug("container '%s': update keeps cpus %s", id, cpuset.cpus);
        }
        reply_pack(reply, &response.base);
        cpuset_message_clear(&cpuset);
}

/* A container stopped or removed: its allocation goes, the monitor keeps its
 * final counters, and shared containers get back what it held exclusively. */
static int release(struct nri_plugin *plugin, const char *id, struct updates *updates)
{
        const struct np_record *record;
        struct np_diag diag = {};
        bool held_exclusive;
        int r;

        record = np_ledger_find(plugin->ledger, id);
        if (!record)
                return 0;
        held_exclusive = !np_cpulist_empty(&record->exclusive_cpus);
        if (np_watch_detach(plugin->state_dir, &plugin->config, record, &diag) < 0)
                np_log_warning("%s", diag.message);
        r = np_ledger_remove(plugin->ledger, id);
        if (r < 0) {
                np_log_error("cannot remove the ledger record of container '%s': %s", id, strerror(-r));
                return r;
        }
        np_log_info("container '%s': allocation released", id);
        if (held_exclusive && updates) {
                diag = (struct np_diag){};
                r = repin_shared(plugin, updates, &diag);
                if (r < 0)
                        np_log_warning("%s", diag.message);
        }
        return r;
}

static void handle_stop(struct nri_plugin *plugin, const uint8_t *payload, size_t len, struct nri_reply *reply)
{
        _cleanup_(nri__stop_container_request__free_unpackedp) Nri__StopContainerRequest *request = NULL;
        Nri__StopContainerResponse response = NRI__STOP_CONTAINER_RESPONSE__INIT;
        struct updates updates = {};

        request = nri__stop_container_request__unpack(NULL, len, payload);
        if (!request) {
                reply_fail(reply, NRI_STATUS_INVALID_ARGUMENT, "StopContainer: malformed StopContainerRequest");
                return;
        }
        if (!valid_container(request->container, reply, "StopContainer") || lock_ledger(plugin, reply) < 0)
                return;
        release(plugin, request->container->id, &updates);
        response.n_update = updates.n;
        response.update = updates.list;
        reply_pack(reply, &response.base);
        np_ledger_unlock(plugin->ledger);
        updates_clear(&updates);
}

/* After creation the container has a cgroup (and a pid): recorded so that
 * stale records can be reclaimed, and watched by the locality monitor. */
static void post_create(struct nri_plugin *plugin, const Nri__PodSandbox *pod, const Nri__Container *container)
{
        const struct np_record *existing = np_ledger_find(plugin->ledger, container->id);
        enum np_cgroup_layout layout;
        struct np_diag diag = {};
        struct np_request request;
        struct np_record record;
        char path[PATH_MAX], dir[PATH_MAX + 16];
        struct stat st;
        int r;

        if (!existing)
                return;
        record = *existing;
        record.pid = container_pid(container);
        r = np_cgroup_detect(plugin->opts.cgroup_root, &diag, &layout);
        if (r == 0 && (record.pid == 0 || np_cgroup_path_from_pid(np_proc_default_root(), record.pid, layout, NULL,
                                                                   path, sizeof(path)) < 0))
                r = np_cgroup_path_from_spec(container->linux ? container->linux->cgroups_path : "", container->id,
                                             &diag, path, sizeof(path));
        if (r == 0) {
                snprintf(dir, sizeof(dir), "%s%s%s", plugin->opts.cgroup_root,
                         layout == NP_CGROUP_LEGACY ? "/cpuset" : "", path);
                if (stat(dir, &st) == 0 && strlen(dir) < sizeof(record.cgroup))
                        strcpy(record.cgroup, dir);
        }
        if (r < 0)
                np_log_warning("container '%s': %s; its cgroup is not recorded", container->id, diag.message);

        /* the monitor counts on the real kernel: not for a fixture sysfs or cgroup tree */
        if (record.cgroup[0] && !record.monitor.on && plugin->config.monitor &&
            strcmp(plugin->opts.sysfs_root, "/sys") == 0 && strcmp(plugin->opts.cgroup_root, "/sys/fs/cgroup") == 0 &&
            container_request(plugin, pod, container, &diag, &request) == 0 && request.monitor) {
                np_exited_remove(plugin->state_dir, container->id);
                if (np_watch_attach(plugin->opts.sysfs_root, &plugin->config, plugin->topology, plugin->ledger, &record,
                                    &diag) < 0)
                        np_log_warning("container '%s': %s; the container is placed but not monitored",
                                       container->id, diag.message);
        }
        r = np_ledger_put(plugin->ledger, &record);
        if (r < 0)
                np_log_warning("cannot update the ledger record of container '%s': %s", container->id, strerror(-r));
}

/* The events without a reply of their own: PostCreateContainer and
 * RemoveContainer (dedicated since NRI v0.12, StateChange before). */
static void container_event(struct nri_plugin *plugin, Nri__Event event, const Nri__PodSandbox *pod,
                            const Nri__Container *container, struct nri_reply *reply)
{
        Nri__Empty empty = NRI__EMPTY__INIT;

        Nri__UpdateContainersRequest unsolicited = NRI__UPDATE_CONTAINERS_REQUEST__INIT;
        struct updates updates = {};

        if (event == NRI__EVENT__POST_CREATE_CONTAINER || event == NRI__EVENT__REMOVE_CONTAINER ||
            event == NRI__EVENT__STOP_CONTAINER) {
                if (!valid_container(container, reply, "StateChange") || lock_ledger(plugin, reply) < 0)
                        return;
                if (event == NRI__EVENT__POST_CREATE_CONTAINER)
                        post_create(plugin, pod, container);
                else
                        release(plugin, container->id, &updates);
                /* removed without a stop (it never ran): shared containers get its
                 * exclusive CPUs back through UpdateContainers, sent after the reply */
                if (updates.n > 0) {
                        unsolicited.n_update = updates.n;
                        unsolicited.update = updates.list;
                        reply->runtime_update_len = protobuf_c_message_get_packed_size(&unsolicited.base);
                        reply->runtime_update = malloc(reply->runtime_update_len ? reply->runtime_update_len : 1);
                        if (reply->runtime_update)
                                protobuf_c_message_pack(&unsolicited.base, reply->runtime_update);
                }
                np_ledger_unlock(plugin->ledger);
                updates_clear(&updates);
        }
        reply_pack(reply, &empty.base);
}

static void handle_event(struct nri_plugin *plugin, Nri__Event event, const uint8_t *payload, size_t len,
                         struct nri_reply *reply)
{
        _cleanup_(nri__container_event_request__free_unpackedp) Nri__ContainerEventRequest *request = NULL;

        request = nri__container_event_request__unpack(NULL, len, payload);
        if (!request) {
                reply_fail(reply, NRI_STATUS_INVALID_ARGUMENT, "malformed container event request");
                return;
        }
        container_event(plugin, event, request->pod, request->container, reply);
}

static void handle_state_change(struct nri_plugin *plugin, const uint8_t *payload, size_t len,
                                struct nri_reply *reply)
{
        _cleanup_(nri__state_change_event__free_unpackedp) Nri__StateChangeEvent *request = NULL;

        request = nri__state_change_event__unpack(NULL, len, payload);
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

        *reply = (struct nri_reply){};
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
}
