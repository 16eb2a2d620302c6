// SPDX-License-Identifier: MIT
/* Fuzz target: the NRI plugin's calls (nri_plugin_handle): the input is the
 * payload of each method in turn (Configure, Synchronize, the container events,
 * Shutdown, an unknown method), served by a plugin configured on the 2socket-smt
 * fixture machine with its state in a temporary folder. Each input starts from
 * an empty state, so that a crash replays from its input alone. A fuzzed
 * Configure keeps its fields but not its config text, which would otherwise
 * point the plugin at the machine's own state dir and monitor. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../core/log.h"
#include "../../nri/plugin.h"
#include "fuzz.h"

static struct fuzz_node node;
static struct nri_plugin plugin;
static bool plugin_open;

static const char *const methods[] = {
        "Synchronize",     "CreateContainer", "UpdateContainer", "StopContainer", "PostCreateContainer",
        "RemoveContainer", "StateChange",     "Shutdown",        "NoSuchMethod",
};

static void serve(const char *method, const uint8_t *payload, size_t len)
{
        struct nri_reply reply;

        nri_plugin_handle(&plugin, method, payload, len, &reply);
        nri_reply_clear(&reply);
}

static void configure(const char *nri_version)
{
        Nri__ConfigureRequest request = NRI__CONFIGURE_REQUEST__INIT;
        uint8_t payload[256];
        struct nri_reply reply;

        request.runtime_name = "containerd";
        request.runtime_version = "2.1.9";
        request.nri_version = (char *)nri_version;
        if (protobuf_c_message_get_packed_size(&request.base) > sizeof(payload))
                fuzz_die("ConfigureRequest too large");
        nri_plugin_handle(&plugin, "Configure", payload, protobuf_c_message_pack(&request.base, payload), &reply);
        if (reply.code != NRI_STATUS_OK)
                fuzz_die("Configure failed: %s", reply.message);
        nri_reply_clear(&reply);
}

/* A plugin on an empty state dir, configured as containerd 2.1 configures it. */
static void plugin_reset(void)
{
        struct np_context_options options = { .config_path = node.config,
                                              .state_dir = node.state,
                                              .sysfs_root = node.sysfs,
                                              .cgroup_root = node.cgroup,
                                              .proc_root = node.dir };
        struct np_diag diag = {};

        if (plugin_open)
                nri_plugin_clear(&plugin);
        fuzz_rmtree(node.state);
        if (nri_plugin_init(&plugin, &options, &diag) < 0)
                fuzz_die("nri_plugin_init: %s", diag.message);
        plugin_open = true;
        configure("v0.12.0");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        np_log_set_level(NP_LOG_ERROR);
        fuzz_node_init(&node, "2socket-smt");
        return 0;
}

/* Configure with the input's fields, its config text replaced by none (the
 * fixture's config file); input that does not unpack goes as it is. */
static void fuzzed_configure(const uint8_t *data, size_t size)
{
        Nri__ConfigureRequest *request = nri__configure_request__unpack(NULL, size, data);
        uint8_t *payload;
        char *config;
        size_t len;

        if (!request) {
                serve("Configure", data, size);
                return;
        }
        config = request->config;
        request->config = NULL;
        len = nri__configure_request__get_packed_size(request);
        payload = malloc(len ? len : 1);
        if (!payload)
                fuzz_die("out of memory");
        nri__configure_request__pack(request, payload);
        request->config = config;
        nri__configure_request__free_unpacked(request, NULL);
        serve("Configure", payload, len);
        free(payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        plugin_reset();
        fuzzed_configure(data, size);
        np_log_set_level(NP_LOG_ERROR);
        for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
                serve(methods[i], data, size);
        nri_plugin_disconnected(&plugin);
        return 0;
}
