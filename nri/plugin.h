/* SPDX-License-Identifier: MIT */
/* The NRI plugin's answers to the runtime's calls (service
 * nri.pkg.api.v1alpha1.Plugin): configure, synchronize, and the container
 * events. Placement goes through core, as in the OCI hook. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/context.h"
#include "../core/metrics.h"
#include "../core/nristatus.h"
#include "arena.h"
#include "nri.pb-c.h"
#include "protected.h"
#include "wire.h"

/* CREATE_CONTAINER, POST_CREATE_CONTAINER, UPDATE_CONTAINER, STOP_CONTAINER and
 * REMOVE_CONTAINER: within 0x7FF, so every NRI runtime accepts the mask. */
#define NRI_EVENTS 0x698

#define NRI_SYNC_LIMIT (64u << 20) /* bytes of a paged Synchronize held at once */
/* Free memory per node is read again before a placement once it is this old:
 * a burst of creations reads sysfs once (placed containers' memory limits are
 * counted from the ledger in between). */
#define NRI_REFRESH_NS 1000000000ull

struct nri_plugin {
        struct np_context *context; /* the ledger stays loaded, locked only while a call is served */
        struct np_metrics *metrics; /* the /metrics endpoint's renderer (--metrics-listen), or NULL; not owned */
        bool configured;
        struct nri_protected protected; /* containers kept off exclusive CPUs without a record */
        /* the runtime it talks to and what it did against the runtime's view,
         * kept in <state dir>/nri-status.json for numapinctl doctor */
        struct np_nri_status status;
        /* the request of the call being served (a Synchronize's parts, kept across
         * calls, are not in it) */
        struct nri_arena scratch;
        Nri__SynchronizeRequest **sync_parts; /* a paged Synchronize being collected */
        size_t n_sync_parts;
        size_t sync_bytes;
        bool idle_failed; /* writing the waiting record failed: not again before the next call */
};

struct nri_reply {
        enum nri_status code;
        char message[4096];
        uint8_t *payload; /* packed reply message, malloc'd */
        size_t len;
        /* a packed UpdateContainersRequest to send the runtime after the reply (for
         * events whose reply cannot carry updates), or NULL */
        uint8_t *runtime_update;
        size_t runtime_update_len;
};

/* Opens the context (the config given on the command line); the rest waits for Configure. */
int nri_plugin_init(struct nri_plugin *plugin, const struct np_context_options *options, struct np_diag *diag);
void nri_plugin_clear(struct nri_plugin *plugin);
/* Forgets what belonged to a connection (a partial Synchronize). */
void nri_plugin_disconnected(struct nri_plugin *plugin);

/* Serves one call; the reply is an error status or a packed message. */
void nri_plugin_handle(struct nri_plugin *plugin, const char *method, const uint8_t *payload, size_t len,
                       struct nri_reply *reply);
void nri_reply_clear(struct nri_reply *reply);
/* The ledger record files of calls answered, which wait until the runtime has
 * its answer: 0 for none, else how many milliseconds of quiet on the socket
 * to wait before nri_plugin_idle() writes them. */
int nri_plugin_idle_after_ms(const struct nri_plugin *plugin);
void nri_plugin_idle(struct nri_plugin *plugin);
