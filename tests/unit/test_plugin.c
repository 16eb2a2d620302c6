// SPDX-License-Identifier: MIT
/* nri/plugin.c: each NRI call as the runtime packs it, answered by
 * nri_plugin_handle() on the 2socket-smt fixture with a real ledger and a
 * cgroup tree of regular files: the adjustment, the updates (the plugin's own
 * containers through the runtime, the hook's in their cgroups), the refusals
 * and the calls that come out of order. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/annotations.h"
#include "../../core/lifecycle.h"
#include "../../nri/plugin.h"
#include "helpers.h"

struct fixture {
        struct np_test_node node;
        char *dir, *state, *cgroup, *config, *sysfs; /* the node's, by their short names */
        struct nri_plugin plugin;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        struct np_context_options options;
        struct np_diag diag = {};

        assert_non_null(f);
        np_test_node_init(&f->node, "2socket-smt", "{\"monitor\": false}");
        f->dir = f->node.dir;
        f->state = f->node.state;
        f->cgroup = f->node.cgroup;
        f->config = f->node.config;
        f->sysfs = f->node.sysfs;
        options = (struct np_context_options){ .config_path = f->config,
                                               .state_dir = f->state,
                                               .sysfs_root = f->sysfs,
                                               .cgroup_root = f->cgroup,
                                               .proc_root = f->dir };
        if (nri_plugin_init(&f->plugin, &options, &diag) < 0)
                fail_msg("nri_plugin_init: %s", diag.message);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        nri_plugin_clear(&f->plugin);
        np_test_rmtree(f->dir);
        free(f);
        return 0;
}

/* Packs `message`, serves it as `method`, and returns the reply. */
static struct nri_reply call(struct fixture *f, const char *method, const ProtobufCMessage *message)
{
        size_t size = protobuf_c_message_get_packed_size(message);
        uint8_t *payload = malloc(size ? size : 1);
        struct nri_reply reply;

        assert_non_null(payload);
        protobuf_c_message_pack(message, payload);
        nri_plugin_handle(&f->plugin, method, payload, size, &reply);
        free(payload);
        return reply;
}

static void configure(struct fixture *f, const char *nri_version)
{
        Nri__ConfigureRequest request = NRI__CONFIGURE_REQUEST__INIT;
        Nri__ConfigureResponse *response;
        struct nri_reply reply;

        request.runtime_name = "containerd";
        request.runtime_version = "2.1.9";
        if (nri_version)
                request.nri_version = (char *)nri_version;
        reply = call(f, "Configure", &request.base);
        assert_int_equal(reply.code, NRI_STATUS_OK);
        response = nri__configure_response__unpack(NULL, reply.len, reply.payload);
        assert_non_null(response);
        assert_int_equal(response->events, NRI_EVENTS);
        nri__configure_response__free_unpacked(response, NULL);
        nri_reply_clear(&reply);
}

/* A container as the runtime describes it; annotations "key=value" end with NULL. */
struct container {
        Nri__Container container;
        Nri__LinuxContainer linux;
        Nri__Container__AnnotationsEntry entries[8];
        Nri__Container__AnnotationsEntry *list[8];
        char keys[8][128];
};

static void container_init(struct container *c, const char *id, ...)
{
        va_list ap;

        *c = (struct container){ .container = NRI__CONTAINER__INIT, .linux = NRI__LINUX_CONTAINER__INIT };
        c->container.id = (char *)id;
        c->container.name = "main";
        c->container.pod_sandbox_id = "pod";
        c->container.linux = &c->linux;
        c->container.annotations = c->list;
        va_start(ap, id);
        for (const char *kv = va_arg(ap, const char *); kv; kv = va_arg(ap, const char *)) {
                size_t i = c->container.n_annotations++;
                const char *eq = strchr(kv, '=');

                assert_true(i < 8 && eq);
                snprintf(c->keys[i], sizeof(c->keys[i]), "%.*s", (int)(eq - kv), kv);
                c->entries[i] = (Nri__Container__AnnotationsEntry)NRI__CONTAINER__ANNOTATIONS_ENTRY__INIT;
                c->entries[i].key = (ProtobufCBinaryData){ .len = strlen(c->keys[i]), .data = (uint8_t *)c->keys[i] };
                c->entries[i].value = (ProtobufCBinaryData){ .len = strlen(eq + 1), .data = (uint8_t *)eq + 1 };
                c->list[i] = &c->entries[i];
        }
        va_end(ap);
}

static Nri__CreateContainerResponse *create(struct fixture *f, struct container *c, struct nri_reply *ret_reply)
{
        Nri__CreateContainerRequest request = NRI__CREATE_CONTAINER_REQUEST__INIT;

        request.container = &c->container;
        *ret_reply = call(f, "CreateContainer", &request.base);
        if (ret_reply->code != NRI_STATUS_OK)
                return NULL;
        return nri__create_container_response__unpack(NULL, ret_reply->len, ret_reply->payload);
}

static const char *adjusted_cpus(const Nri__CreateContainerResponse *response)
{
        assert_non_null(response->adjust);
        assert_non_null(response->adjust->linux);
        assert_non_null(response->adjust->linux->resources);
        return response->adjust->linux->resources->cpu->cpus;
}

static const char *updated_cpus(Nri__ContainerUpdate **updates, size_t n, const char *id)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(updates[i]->container_id, id) == 0)
                        return updates[i]->linux->resources->cpu->cpus;
        return NULL;
}

/* Creates `id` with one or two annotations (`second` may be NULL) and checks its cpuset. */
static void create_ok(struct fixture *f, const char *id, const char *first, const char *second, const char *want_cpus)
{
        struct container c;
        struct nri_reply reply;
        Nri__CreateContainerResponse *response;

        container_init(&c, id, first, second, NULL);
        response = create(f, &c, &reply);
        if (!response)
                fail_msg("CreateContainer %s: status %d, %s", id, reply.code, reply.message);
        assert_string_equal(adjusted_cpus(response), want_cpus);
        nri__create_container_response__free_unpacked(response, NULL);
        nri_reply_clear(&reply);
}

/* Creates a container built by the caller and checks its cpuset. */
static void create_ok_container(struct fixture *f, struct container *c, const char *want_cpus)
{
        struct nri_reply reply;
        Nri__CreateContainerResponse *response = create(f, c, &reply);

        if (!response)
                fail_msg("CreateContainer %s: status %d, %s", c->container.id, reply.code, reply.message);
        assert_string_equal(adjusted_cpus(response), want_cpus);
        nri__create_container_response__free_unpacked(response, NULL);
        nri_reply_clear(&reply);
}

static void test_plugin_calls_before_configure_are_refused(void **state)
{
        struct fixture *f = *state;
        struct container c;
        struct nri_reply reply;

        container_init(&c, "a", "cpus.numapin.io/pod=1", NULL);
        assert_null(create(f, &c, &reply));
        assert_int_equal(reply.code, NRI_STATUS_UNKNOWN);
        assert_non_null(strstr(reply.message, "not configured yet"));
        nri_reply_clear(&reply);
}

static void test_plugin_create_answers_with_the_cpuset_and_records_it(void **state)
{
        struct fixture *f = *state;
        struct container c;
        struct nri_reply reply;
        Nri__CreateContainerResponse *response;
        struct np_ledger *ledger;

        configure(f, NULL);
        container_init(&c, "a", "cpus.numapin.io/pod=2", "nodes.numapin.io/pod=1", "example.com/x=\xff", NULL);
        response = create(f, &c, &reply);
        assert_non_null(response);
        assert_string_equal(adjusted_cpus(response), "8,24");
        assert_string_equal(response->adjust->linux->resources->cpu->mems, "1");
        assert_null(response->adjust->linux->memory_policy);
        assert_int_equal(response->n_update, 0);
        nri__create_container_response__free_unpacked(response, NULL);
        nri_reply_clear(&reply);
        assert_int_equal(np_context_ledger(f->plugin.context, false, NULL, &ledger), 0);
        assert_non_null(np_ledger_find(ledger, "a"));
        assert_int_equal(np_ledger_find(ledger, "a")->source, NP_SOURCE_NRI);
        np_context_unlock(f->plugin.context);

        /* an unannotated container: kept off a's CPUs, memory left alone, no record */
        container_init(&c, "plain", NULL);
        response = create(f, &c, &reply);
        assert_non_null(response);
        assert_string_equal(adjusted_cpus(response), "0-7,9-23,25-31");
        assert_string_equal(response->adjust->linux->resources->cpu->mems, "");
        assert_int_equal(np_context_ledger(f->plugin.context, false, NULL, &ledger), 0);
        assert_null(np_ledger_find(ledger, "plain"));
        np_context_unlock(f->plugin.context);
        nri__create_container_response__free_unpacked(response, NULL);
        nri_reply_clear(&reply);
}

static void test_plugin_create_refusal_carries_numapins_reason(void **state)
{
        struct fixture *f = *state;
        struct container c;
        struct nri_reply reply;

        configure(f, NULL);
        container_init(&c, "bad", "nodes.numapin.io/pod=7", NULL);
        assert_null(create(f, &c, &reply));
        assert_int_equal(reply.code, NRI_STATUS_UNKNOWN);
        assert_non_null(strstr(reply.message, "node 7 does not exist"));
        nri_reply_clear(&reply);

        /* before NRI v0.12 the runtime cannot carry a memory policy */
        container_init(&c, "mp", "policy.numapin.io/pod=preferred", NULL);
        assert_null(create(f, &c, &reply));
        assert_non_null(strstr(reply.message, "needs a memory policy"));
        nri_reply_clear(&reply);
}

/* NRI's strings are bytes: a key holding a NUL is not cut into the real key (it
 * would ask for 3 CPUs where the real key asks for 1), it is refused naming it;
 * someone else's key holding a NUL or invalid UTF-8 is not read. */
static void test_plugin_create_refuses_a_nul_in_numapins_key_and_ignores_foreign_bytes(void **state)
{
        struct fixture *f = *state;
        struct container c;
        struct nri_reply reply;

        configure(f, NULL);
        container_init(&c, "nul", "cpus.numapin.io/pod=1", "cpus.numapin.io/pod=3", NULL);
        c.entries[1].key = (ProtobufCBinaryData){ .len = 21, .data = (uint8_t *)"cpus.numapin.io/pod\0x" };
        assert_null(create(f, &c, &reply));
        assert_int_equal(reply.code, NRI_STATUS_UNKNOWN);
        assert_string_equal(reply.message, "annotation 'cpus.numapin.io/pod\\x00x': the key holds a NUL byte; expected "
                                           "<field>.numapin.io/pod or <field>.numapin.io/container.<name>");
        nri_reply_clear(&reply);

        container_init(&c, "nulvalue", "nodes.numapin.io/pod=0", NULL);
        c.entries[0].value = (ProtobufCBinaryData){ .len = 3, .data = (uint8_t *)"0\0001" };
        assert_null(create(f, &c, &reply));
        assert_non_null(strstr(reply.message, "annotation 'nodes.numapin.io/pod': the value holds a NUL byte"));
        nri_reply_clear(&reply);

        container_init(&c, "foreign", "example.com/x=1", "cpus.numapin.io/pod=1", NULL);
        c.entries[0].key = (ProtobufCBinaryData){ .len = 15, .data = (uint8_t *)"example.com/\0\xff\xfe" };
        c.entries[0].value = (ProtobufCBinaryData){ .len = 2, .data = (uint8_t *)"\0\xff" };
        create_ok_container(f, &c, "0");
}

static void test_plugin_memory_policy_from_nri_v0_12(void **state)
{
        struct fixture *f = *state;
        struct container c;
        struct nri_reply reply;
        Nri__CreateContainerResponse *response;

        configure(f, "v0.12.0");
        container_init(&c, "mp", "policy.numapin.io/pod=interleave", "node-count.numapin.io/pod=2", NULL);
        response = create(f, &c, &reply);
        assert_non_null(response);
        assert_non_null(response->adjust->linux->memory_policy);
        assert_int_equal(response->adjust->linux->memory_policy->mode, NRI__MPOL_MODE__MPOL_INTERLEAVE);
        assert_string_equal(response->adjust->linux->memory_policy->nodes, "0-1");
        nri__create_container_response__free_unpacked(response, NULL);
        nri_reply_clear(&reply);
}

/* The plugin's shared containers move through the runtime; a hook container's
 * cgroup is written, as the hook would. */
static void test_plugin_exclusive_cpus_update_nri_containers_and_write_hook_cgroups(void **state)
{
        struct fixture *f = *state;
        struct np_context_options options = { .config_path = f->config,
                                              .state_dir = f->state,
                                              .sysfs_root = f->sysfs,
                                              .cgroup_root = f->cgroup,
                                              .proc_root = f->dir,
                                              .source = NP_SOURCE_HOOK };
        struct np_annotation_set set = {};
        struct np_input input = NP_INPUT_INIT;
        struct np_outcome outcome = {};
        struct np_context *hook = NULL;
        Nri__CreateContainerResponse *response;
        char dir[PATH_MAX + 32], path[PATH_MAX + 64];
        _cleanup_free_ char *written = NULL;
        struct nri_reply reply;
        struct container c;

        configure(f, NULL);
        create_ok(f, "shared", "nodes.numapin.io/pod=0", NULL, "0-7,16-23");
        /* a container the hook placed, with its cgroup */
        snprintf(dir, sizeof(dir), "%s/cpuset/hooked", f->cgroup);
        assert_int_equal(mkdir(dir, 0755), 0);
        np_test_write_file(np_test_path(path, sizeof(path), dir, "cpuset.cpus"), "0-7,16-23");
        np_test_write_file(np_test_path(path, sizeof(path), dir, "cpuset.mems"), "0");
        nri_plugin_idle(&f->plugin); /* the calls pause: the plugin lets go of the lock */
        assert_int_equal(np_context_open(&options, NULL, &hook), 0);
        assert_int_equal(np_annotations_add(&set, "nodes.numapin.io/pod", "0"), 0);
        input.id = "hooked";
        input.pid = getpid();
        input.cgroups_path = "/hooked";
        input.locate_cgroup = true;
        input.container_annotations = &set;
        assert_int_equal(np_lifecycle_place(hook, &input, NP_PLACE_COMMIT, NULL, &outcome), 0);
        np_outcome_clear(&outcome);
        np_context_free(hook);
        np_annotations_clear(&set);

        container_init(&c, "x", "nodes.numapin.io/pod=0", "cpus.numapin.io/pod=2", NULL);
        response = create(f, &c, &reply);
        assert_non_null(response);
        assert_string_equal(adjusted_cpus(response), "0,16");
        assert_int_equal(response->n_update, 1);
        assert_string_equal(updated_cpus(response->update, response->n_update, "shared"), "1-7,17-23");
        assert_true(response->update[0]->ignore_failure);
        written = np_test_read_file(np_test_path(path, sizeof(path), dir, "cpuset.cpus"));
        assert_string_equal(written, "1-7,17-23");
        nri__create_container_response__free_unpacked(response, NULL);
        nri_reply_clear(&reply);
}

static void test_plugin_update_keeps_numapins_cpuset(void **state)
{
        struct fixture *f = *state;
        Nri__UpdateContainerRequest request = NRI__UPDATE_CONTAINER_REQUEST__INIT;
        Nri__UpdateContainerResponse *response;
        struct nri_reply reply;
        struct container c;

        configure(f, NULL);
        create_ok(f, "a", "cpus.numapin.io/pod=2", NULL, "0,16");
        container_init(&c, "a", NULL);
        request.container = &c.container;
        reply = call(f, "UpdateContainer", &request.base);
        assert_int_equal(reply.code, NRI_STATUS_OK);
        response = nri__update_container_response__unpack(NULL, reply.len, reply.payload);
        assert_non_null(response);
        assert_int_equal(response->n_update, 1);
        assert_string_equal(updated_cpus(response->update, 1, "a"), "0,16");
        nri__update_container_response__free_unpacked(response, NULL);
        nri_reply_clear(&reply);

        /* a container numapin does not hold: nothing to keep */
        container_init(&c, "other", NULL);
        reply = call(f, "UpdateContainer", &request.base);
        response = nri__update_container_response__unpack(NULL, reply.len, reply.payload);
        assert_non_null(response);
        assert_int_equal(response->n_update, 0);
        nri__update_container_response__free_unpacked(response, NULL);
        nri_reply_clear(&reply);
}

static void test_plugin_counts_overridden_updates_and_leaves_kubelets_containers_to_kubelet(void **state)
{
        struct fixture *f = *state;
        Nri__UpdateContainerRequest request = NRI__UPDATE_CONTAINER_REQUEST__INIT;
        Nri__UpdateContainerResponse *response;
        Nri__LinuxResources asked = NRI__LINUX_RESOURCES__INIT;
        Nri__LinuxCPU cpu = NRI__LINUX_CPU__INIT;
        Nri__PodSandbox pod = NRI__POD_SANDBOX__INIT;
        struct np_nri_status status;
        struct nri_reply reply;
        struct container c;
        char dir[PATH_MAX], path[PATH_MAX + 32], text[PATH_MAX + 64];

        /* kubelet's static CPU manager pins container "k" of pod "uid-k" to CPU 8 */
        np_test_path(dir, sizeof(dir), f->dir, "kubelet");
        assert_int_equal(mkdir(dir, 0755), 0);
        snprintf(path, sizeof(path), "%s/cpu_manager_state", dir);
        np_test_write_file(path, "{\"policyName\":\"static\",\"defaultCpuSet\":\"0-7,9-31\","
                                 "\"entries\":{\"uid-k\":{\"k\":\"8\"}},\"checksum\":1}");
        snprintf(text, sizeof(text), "{\"monitor\": false, \"kubelet_root_dir\": \"%s\"}", dir);
        np_test_write_file(f->config, text);
        nri_plugin_clear(&f->plugin);
        {
                struct np_context_options options = { .config_path = f->config,
                                                      .state_dir = f->state,
                                                      .sysfs_root = f->sysfs,
                                                      .cgroup_root = f->cgroup,
                                                      .proc_root = f->dir };

                assert_int_equal(nri_plugin_init(&f->plugin, &options, NULL), 0);
        }
        configure(f, NULL);
        assert_int_equal(np_nri_status_load(f->state, NULL, &status), 0);
        assert_string_equal(status.runtime_name, "containerd");
        assert_string_equal(status.kubelet_cpu_policy, "static");
        assert_int_equal(status.pid, getpid());
        assert_int_equal(status.updates_overridden, 0);

        /* kubelet's reconciler asks for its shared pool: numapin keeps its own cpuset, and counts it */
        create_ok(f, "a", "cpus.numapin.io/pod=2", NULL, "0,16");
        container_init(&c, "a", NULL);
        cpu.cpus = "0-7,9-31";
        asked.cpu = &cpu;
        request.container = &c.container;
        request.linux_resources = &asked;
        reply = call(f, "UpdateContainer", &request.base);
        response = nri__update_container_response__unpack(NULL, reply.len, reply.payload);
        assert_non_null(response);
        assert_string_equal(updated_cpus(response->update, response->n_update, "a"), "0,16");
        nri__update_container_response__free_unpacked(response, NULL);
        nri_reply_clear(&reply);
        assert_int_equal(np_nri_status_load(f->state, NULL, &status), 0);
        assert_int_equal(status.updates_overridden, 1);

        /* kubelet's own container: created without numapin's cpuset, its updates stand */
        container_init(&c, "kc", NULL);
        c.container.name = "k";
        pod.id = "pod";
        pod.uid = "uid-k";
        {
                Nri__CreateContainerRequest create_request = NRI__CREATE_CONTAINER_REQUEST__INIT;
                Nri__CreateContainerResponse *created;

                create_request.pod = &pod;
                create_request.container = &c.container;
                reply = call(f, "CreateContainer", &create_request.base);
                created = nri__create_container_response__unpack(NULL, reply.len, reply.payload);
                assert_non_null(created);
                assert_null(created->adjust);
                nri__create_container_response__free_unpacked(created, NULL);
                nri_reply_clear(&reply);
        }
        cpu.cpus = "8";
        request.pod = &pod;
        reply = call(f, "UpdateContainer", &request.base);
        response = nri__update_container_response__unpack(NULL, reply.len, reply.payload);
        assert_non_null(response);
        assert_int_equal(response->n_update, 0);
        nri__update_container_response__free_unpacked(response, NULL);
        nri_reply_clear(&reply);
        /* and no container of numapin's gets CPU 8 */
        create_ok(f, "b", "nodes.numapin.io/pod=1", NULL, "9-15,24-31");
}

static void test_plugin_stop_gives_cpus_back_and_remove_without_stop_sends_them_later(void **state)
{
        struct fixture *f = *state;
        Nri__StopContainerRequest stop = NRI__STOP_CONTAINER_REQUEST__INIT;
        Nri__ContainerEventRequest event = NRI__CONTAINER_EVENT_REQUEST__INIT;
        Nri__StopContainerResponse *response;
        Nri__UpdateContainersRequest *later;
        struct nri_reply reply;
        struct container c;

        configure(f, NULL);
        create_ok(f, "shared", "nodes.numapin.io/pod=0", NULL, "0-7,16-23");
        create_ok(f, "x", "nodes.numapin.io/pod=0", "cpus.numapin.io/pod=2", "0,16");
        container_init(&c, "x", NULL);
        stop.container = &c.container;
        reply = call(f, "StopContainer", &stop.base);
        assert_int_equal(reply.code, NRI_STATUS_OK);
        response = nri__stop_container_response__unpack(NULL, reply.len, reply.payload);
        assert_non_null(response);
        assert_string_equal(updated_cpus(response->update, response->n_update, "shared"), "0-7,16-23");
        nri__stop_container_response__free_unpacked(response, NULL);
        nri_reply_clear(&reply);

        /* removed without a stop (it never ran): an UpdateContainers after the reply */
        create_ok(f, "y", "nodes.numapin.io/pod=0", "cpus.numapin.io/pod=2", "0,16");
        container_init(&c, "y", NULL);
        event.container = &c.container;
        reply = call(f, "RemoveContainer", &event.base);
        assert_int_equal(reply.code, NRI_STATUS_OK);
        assert_non_null(reply.runtime_update);
        later = nri__update_containers_request__unpack(NULL, reply.runtime_update_len, reply.runtime_update);
        assert_non_null(later);
        assert_string_equal(updated_cpus(later->update, later->n_update, "shared"), "0-7,16-23");
        nri__update_containers_request__free_unpacked(later, NULL);
        nri_reply_clear(&reply);
}

static void test_plugin_synchronize_counts_running_containers_and_releases_gone_ones(void **state)
{
        struct fixture *f = *state;
        Nri__SynchronizeRequest request = NRI__SYNCHRONIZE_REQUEST__INIT;
        Nri__SynchronizeResponse *response;
        Nri__LinuxResources resources = NRI__LINUX_RESOURCES__INIT;
        Nri__LinuxCPU cpu = NRI__LINUX_CPU__INIT;
        Nri__Container *list[1];
        struct np_ledger *ledger;
        struct nri_reply reply;
        struct container c;
        char pid_text[32];

        configure(f, NULL);
        create_ok(f, "shared", "nodes.numapin.io/pod=0", NULL, "0-7,16-23");
        create_ok(f, "gone", "nodes.numapin.io/pod=0", "cpus.numapin.io/pod=2", "0,16");

        /* the runtime lists "shared" and "old" (created before the plugin), not "gone" */
        snprintf(pid_text, sizeof(pid_text), "%d", getpid());
        container_init(&c, "old", "cpus.numapin.io/pod=2", NULL);
        cpu.cpus = "8,24";
        cpu.mems = "1";
        resources.cpu = &cpu;
        c.linux.resources = &resources;
        c.container.pid = (uint32_t)getpid();
        list[0] = &c.container;
        request.containers = list;
        request.n_containers = 1;
        reply = call(f, "Synchronize", &request.base);
        assert_int_equal(reply.code, NRI_STATUS_OK);
        response = nri__synchronize_response__unpack(NULL, reply.len, reply.payload);
        assert_non_null(response);
        /* "gone" released: "shared" would get its CPUs back, but "shared" is gone too */
        assert_int_equal(np_context_ledger(f->plugin.context, false, NULL, &ledger), 0);
        assert_null(np_ledger_find(ledger, "gone"));
        assert_null(np_ledger_find(ledger, "shared"));
        assert_non_null(np_ledger_find(ledger, "old"));
        assert_cpulist_equal(&np_ledger_find(ledger, "old")->exclusive_cpus, "8,24");
        np_context_unlock(f->plugin.context);
        nri__synchronize_response__free_unpacked(response, NULL);
        nri_reply_clear(&reply);
}

/* The plugin restarts; meanwhile its exclusive container's cpuset was widened
 * and a plain container started on every CPU: the Synchronize reply sets the
 * first back and moves the second off the exclusive CPUs. */
static void test_plugin_synchronize_restores_placements_and_moves_plain_containers(void **state)
{
        struct fixture *f = *state;
        Nri__SynchronizeRequest request = NRI__SYNCHRONIZE_REQUEST__INIT;
        Nri__SynchronizeResponse *response;
        Nri__LinuxResources resources[2] = { NRI__LINUX_RESOURCES__INIT, NRI__LINUX_RESOURCES__INIT };
        Nri__LinuxCPU cpu[2] = { NRI__LINUX_CPU__INIT, NRI__LINUX_CPU__INIT };
        Nri__Container *list[2];
        struct np_nri_status status;
        struct container placed, plain;
        struct nri_reply reply;

        configure(f, NULL);
        create_ok(f, "x", "cpus.numapin.io/pod=2", NULL, "0,16");
        container_init(&placed, "x", "cpus.numapin.io/pod=2", NULL);
        container_init(&plain, "plain", NULL);
        cpu[0].cpus = cpu[1].cpus = "0-31";
        cpu[0].mems = cpu[1].mems = "0-1";
        resources[0].cpu = &cpu[0];
        resources[1].cpu = &cpu[1];
        placed.linux.resources = &resources[0];
        plain.linux.resources = &resources[1];
        placed.container.pid = plain.container.pid = (uint32_t)getpid();
        list[0] = &placed.container;
        list[1] = &plain.container;
        request.containers = list;
        request.n_containers = 2;
        reply = call(f, "Synchronize", &request.base);
        assert_int_equal(reply.code, NRI_STATUS_OK);
        response = nri__synchronize_response__unpack(NULL, reply.len, reply.payload);
        assert_non_null(response);
        assert_string_equal(updated_cpus(response->update, response->n_update, "x"), "0,16");
        assert_string_equal(updated_cpus(response->update, response->n_update, "plain"), "1-15,17-31");
        nri__synchronize_response__free_unpacked(response, NULL);
        nri_reply_clear(&reply);
        assert_int_equal(np_nri_status_load(f->state, NULL, &status), 0);
        assert_int_equal(status.placements_restored, 1);
        assert_int_equal(status.containers_moved, 1);

        /* listed again as they now are: nothing to change */
        cpu[0].cpus = "0,16";
        cpu[0].mems = "0";
        cpu[1].cpus = "1-15,17-31";
        reply = call(f, "Synchronize", &request.base);
        response = nri__synchronize_response__unpack(NULL, reply.len, reply.payload);
        assert_non_null(response);
        assert_int_equal(response->n_update, 0);
        nri__synchronize_response__free_unpacked(response, NULL);
        nri_reply_clear(&reply);
}

/* The runtime comes back and lists two containers: "x", which the plugin placed
 * on 0,16 before, and "late", started without the plugin on `late_cpus` /
 * `late_mems` with the annotations given after them (NULL-terminated). Returns
 * the Synchronize's response. */
static Nri__SynchronizeResponse *synchronize_with_late(struct fixture *f, const char *late_cpus, const char *late_mems,
                                                       const char *annotation, ...)
{
        Nri__SynchronizeRequest request = NRI__SYNCHRONIZE_REQUEST__INIT;
        Nri__SynchronizeResponse *response;
        Nri__LinuxResources resources[2] = { NRI__LINUX_RESOURCES__INIT, NRI__LINUX_RESOURCES__INIT };
        Nri__LinuxCPU cpu[2] = { NRI__LINUX_CPU__INIT, NRI__LINUX_CPU__INIT };
        Nri__Container *list[2];
        struct container placed, late;
        struct nri_reply reply;
        const char *second;
        va_list ap;

        configure(f, NULL);
        create_ok(f, "x", "cpus.numapin.io/pod=2", NULL, "0,16");
        container_init(&placed, "x", "cpus.numapin.io/pod=2", NULL);
        va_start(ap, annotation);
        second = va_arg(ap, const char *);
        va_end(ap);
        container_init(&late, "late", annotation, second, NULL);
        cpu[0].cpus = "0,16";
        cpu[0].mems = "0";
        cpu[1].cpus = (char *)late_cpus;
        cpu[1].mems = (char *)late_mems;
        resources[0].cpu = &cpu[0];
        resources[1].cpu = &cpu[1];
        placed.linux.resources = &resources[0];
        late.linux.resources = &resources[1];
        placed.container.pid = late.container.pid = (uint32_t)getpid();
        list[0] = &placed.container;
        list[1] = &late.container;
        request.containers = list;
        request.n_containers = 2;
        reply = call(f, "Synchronize", &request.base);
        assert_int_equal(reply.code, NRI_STATUS_OK);
        response = nri__synchronize_response__unpack(NULL, reply.len, reply.payload);
        assert_non_null(response);
        nri_reply_clear(&reply);
        return response;
}

/* ...meanwhile a shared container started on all of node 0, where "x" holds 0,16:
 * the Synchronize that adopts it moves it off them, though no exclusive holding
 * changed in that Synchronize. */
static void test_plugin_synchronize_moves_an_adopted_shared_container_off_exclusive_cpus(void **state)
{
        struct fixture *f = *state;
        Nri__SynchronizeResponse *response;
        struct np_ledger *ledger;

        response = synchronize_with_late(f, "0-7,16-23", "0", "policy.numapin.io/pod=bind", "nodes.numapin.io/pod=0",
                                         NULL);
        assert_non_null(updated_cpus(response->update, response->n_update, "late"));
        assert_string_equal(updated_cpus(response->update, response->n_update, "late"), "1-7,17-23");
        assert_null(updated_cpus(response->update, response->n_update, "x"));
        nri__synchronize_response__free_unpacked(response, NULL);
        assert_int_equal(np_context_ledger(f->plugin.context, false, NULL, &ledger), 0);
        assert_cpulist_equal(&np_ledger_find(ledger, "late")->cpus, "1-7,17-23");
        np_context_unlock(f->plugin.context);
}

/* ...meanwhile a container asking for 2 exclusive CPUs started on every CPU
 * (kubelet's shared pool): it is placed anew around the CPUs "x" holds and moved
 * there, never recorded as holding them all. */
static void test_plugin_synchronize_places_anew_an_exclusive_container_found_on_held_cpus(void **state)
{
        struct fixture *f = *state;
        Nri__SynchronizeResponse *response;
        struct np_ledger *ledger;
        const char *moved;

        response = synchronize_with_late(f, "0-31", "0-1", "cpus.numapin.io/pod=2", NULL);
        moved = updated_cpus(response->update, response->n_update, "late");
        assert_non_null(moved);
        assert_string_equal(moved, "8,24"); /* node 1 has the most free CPUs */
        assert_null(updated_cpus(response->update, response->n_update, "x"));
        assert_int_equal(np_context_ledger(f->plugin.context, false, NULL, &ledger), 0);
        assert_cpulist_equal(&np_ledger_find(ledger, "late")->exclusive_cpus, "8,24");
        assert_cpulist_equal(&np_ledger_find(ledger, "x")->exclusive_cpus, "0,16");
        np_context_unlock(f->plugin.context);
        nri__synchronize_response__free_unpacked(response, NULL);
}

static void test_plugin_refuses_bad_ids_and_unknown_methods(void **state)
{
        struct fixture *f = *state;
        Nri__Empty empty = NRI__EMPTY__INIT;
        struct nri_reply reply;
        struct container c;

        configure(f, NULL);
        container_init(&c, "../etc", "cpus.numapin.io/pod=1", NULL);
        assert_null(create(f, &c, &reply));
        assert_int_equal(reply.code, NRI_STATUS_INVALID_ARGUMENT);
        assert_non_null(strstr(reply.message, "container id '../etc' is not valid"));
        nri_reply_clear(&reply);
        reply = call(f, "AdjustNothing", &empty.base);
        assert_int_equal(reply.code, NRI_STATUS_UNIMPLEMENTED);
        nri_reply_clear(&reply);
        /* bytes that are no CreateContainerRequest */
        nri_plugin_handle(&f->plugin, "CreateContainer", (const uint8_t *)"\xff\xff\xff", 3, &reply);
        assert_int_equal(reply.code, NRI_STATUS_INVALID_ARGUMENT);
        nri_reply_clear(&reply);
}

/* The record's file waits until the socket is quiet (nri_plugin_idle); a write
 * that fails is not tried again every millisecond, only after the next call. */
static void test_plugin_idle_writes_the_waiting_record_and_backs_off_after_a_failure(void **state)
{
        struct fixture *f = *state;
        char records[4096], path[4096];
        struct nri_reply reply;
        struct stat st;

        configure(f, NULL);
        np_test_path(records, sizeof(records), f->state, "containers");
        create_ok(f, "a", "cpus.numapin.io/pod=2", NULL, "0,16");
        assert_int_equal(nri_plugin_idle_after_ms(&f->plugin), 1);
        assert_int_not_equal(stat(np_test_path(path, sizeof(path), records, "a.json"), &st), 0);
        nri_plugin_idle(&f->plugin);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(nri_plugin_idle_after_ms(&f->plugin), 0);

        create_ok(f, "b", "cpus.numapin.io/pod=2", NULL, "8,24");
        np_test_rmtree(records); /* no file can be made there any more */
        nri_plugin_idle(&f->plugin);
        assert_true(np_lifecycle_unsettled(f->plugin.context));
        assert_int_equal(nri_plugin_idle_after_ms(&f->plugin), 0);
        nri_plugin_handle(&f->plugin, "Ping", NULL, 0, &reply);
        nri_reply_clear(&reply);
        assert_int_equal(nri_plugin_idle_after_ms(&f->plugin), 1);
}

/* Whether another process (another open of the lock file) could take the ledger's lock now. */
static bool ledger_lock_free(const struct fixture *f)
{
        char path[4096];
        int fd = open(np_test_path(path, sizeof(path), f->state, "lock"), O_RDONLY | O_CLOEXEC);
        bool lockable;

        assert_true(fd >= 0);
        lockable = flock(fd, LOCK_EX | LOCK_NB) == 0;
        close(fd);
        return lockable;
}

/* A burst of calls takes the ledger's lock once: the plugin keeps it between
 * calls and lets go when they pause (nri_plugin_idle), or at the end of a call
 * once it has held it for NP_LOCK_LINGER_NS, so that a hook waits no longer. */
static void test_plugin_keeps_the_lock_through_a_burst_of_calls_and_lets_go_when_they_pause(void **state)
{
        struct fixture *f = *state;
        struct nri_reply reply;

        configure(f, NULL);
        assert_false(ledger_lock_free(f));
        create_ok(f, "a", "cpus.numapin.io/pod=2", NULL, "0,16");
        create_ok(f, "b", "cpus.numapin.io/pod=2", NULL, "8,24");
        assert_false(ledger_lock_free(f));
        assert_int_equal(nri_plugin_idle_after_ms(&f->plugin), 1);
        nri_plugin_idle(&f->plugin);
        assert_true(ledger_lock_free(f));
        assert_int_equal(nri_plugin_idle_after_ms(&f->plugin), 0);

        /* a call that takes no lock leaves it free */
        nri_plugin_handle(&f->plugin, "Ping", NULL, 0, &reply);
        nri_reply_clear(&reply);
        assert_true(ledger_lock_free(f));
        assert_int_equal(nri_plugin_idle_after_ms(&f->plugin), 0);

        /* held that long, it goes at the end of the next call that needs it */
        create_ok(f, "c", "cpus.numapin.io/pod=2", NULL, "1,17");
        assert_false(ledger_lock_free(f));
        assert_int_equal(usleep(NP_LOCK_LINGER_NS / 1000 + 1000), 0);
        create_ok(f, "d", "cpus.numapin.io/pod=2", NULL, "9,25");
        assert_true(ledger_lock_free(f));
        assert_int_equal(nri_plugin_idle_after_ms(&f->plugin), 1); /* d's file still waits */
        nri_plugin_idle(&f->plugin);
        assert_true(ledger_lock_free(f));
        assert_int_equal(nri_plugin_idle_after_ms(&f->plugin), 0);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                TEST(test_plugin_calls_before_configure_are_refused),
                TEST(test_plugin_create_answers_with_the_cpuset_and_records_it),
                TEST(test_plugin_create_refusal_carries_numapins_reason),
                TEST(test_plugin_create_refuses_a_nul_in_numapins_key_and_ignores_foreign_bytes),
                TEST(test_plugin_memory_policy_from_nri_v0_12),
                TEST(test_plugin_exclusive_cpus_update_nri_containers_and_write_hook_cgroups),
                TEST(test_plugin_update_keeps_numapins_cpuset),
                TEST(test_plugin_counts_overridden_updates_and_leaves_kubelets_containers_to_kubelet),
                TEST(test_plugin_stop_gives_cpus_back_and_remove_without_stop_sends_them_later),
                TEST(test_plugin_synchronize_counts_running_containers_and_releases_gone_ones),
                TEST(test_plugin_synchronize_restores_placements_and_moves_plain_containers),
                TEST(test_plugin_synchronize_moves_an_adopted_shared_container_off_exclusive_cpus),
                TEST(test_plugin_synchronize_places_anew_an_exclusive_container_found_on_held_cpus),
                TEST(test_plugin_refuses_bad_ids_and_unknown_methods),
                TEST(test_plugin_idle_writes_the_waiting_record_and_backs_off_after_a_failure),
                TEST(test_plugin_keeps_the_lock_through_a_burst_of_calls_and_lets_go_when_they_pause),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
