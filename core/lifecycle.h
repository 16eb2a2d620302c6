/* SPDX-License-Identifier: MIT */
/* A container's life as numapin sees it, the same for every front-end: place
 * (decide and, on commit, record and watch), abort (undo a commit whose
 * application failed), started (the container exists: record its pid and
 * cgroup, watch it), adopt (count a container placed before numapin), release
 * (unwatch, keep its final counters, forget it). Each verb returns an outcome:
 * the placement, and the other containers whose cpusets change as data (the
 * "pending updates" of nri-plugins' resource manager). The hook turns an
 * outcome into config.json and cgroup writes, the NRI plugin into an
 * adjustment and updates, numapinctl into text or JSON. */
#pragma once

#include <limits.h>
#include <stdbool.h>

#include "cgroup.h"
#include "context.h"
#include "ledger.h"
#include "model.h"

enum np_outcome_kind {
        NP_OUTCOME_NONE,     /* nothing to do: policy none, a sandbox, no such record */
        NP_OUTCOME_PLANNED,  /* decided, not recorded (numapinctl plan) */
        NP_OUTCOME_PLACED,   /* decided and recorded now */
        NP_OUTCOME_KEPT,     /* recorded before (a second hook stage, a retried creation): the same placement */
        NP_OUTCOME_RELEASED, /* the record is gone */
        /* a container numapin does not place, kept off exclusive CPUs without a
         * record: its caller keeps it (the NRI plugin, which the runtime tells
         * of every container again at Synchronize) */
        NP_OUTCOME_PROTECTED,
};

/* Another container whose CPUs change because exclusive CPUs were taken or
 * given back. Its record already says `cpus`. Core has written its cgroup
 * under the ledger's lock, except for the NRI plugin's own containers when the
 * NRI plugin runs the verb: the plugin asks the runtime for those. */
struct np_update {
        char id[NP_ID_MAX + 1];
        enum np_source source;
        char cgroup_dir[PATH_MAX]; /* "" when its cgroup is not known */
        struct np_cpulist cpus;
        bool write_mems; /* a restore of the whole placement: the mems too */
        struct np_cpulist mems;
};

struct np_outcome {
        enum np_outcome_kind kind;
        struct np_placement placement; /* PLANNED, PLACED, KEPT, PROTECTED */
        struct np_request request;     /* what the container asked for (place) */
        /* the container's cgroup when the input located it (place with
         * locate_cgroup): the path in its hierarchy and the layout */
        char cgroup_path[PATH_MAX];
        enum np_cgroup_layout cgroup_layout;
        bool watched; /* the locality monitor counts it */
        bool drifted; /* adopt: the cpuset the container has is not its placement */
        /* what went wrong beside the verb, which did not stop it (not watched
         * though it asked to be, its cgroup not found), "" otherwise: a whole
         * line the front-end logs as a warning */
        char warning[1100];
        /* the re-pins core could not write into a cgroup: "container 'a': why; ...",
         * "" when none; the front-end logs it as a warning */
        char repin_failures[2048];
        size_t n_updates;
        struct np_update *updates;
        /* the CPUs no one holds exclusively, once the verb is done (known for
         * every verb that took the ledger's lock): what protected containers use */
        bool shared_pool_known;
        struct np_cpulist shared_pool;
        unsigned int reclaimed; /* stale records of gone containers dropped on the way */
        bool held;              /* NP_PLACE_HOLD: the lock is held, for np_lifecycle_batch_end() */
};

void np_outcome_clear(struct np_outcome *outcome);
/* Adds `from`'s updates to `into`'s, a later one for the same container
 * replacing the earlier, and its re-pin failures to `into`'s. */
int np_outcome_merge_updates(struct np_outcome *into, const struct np_outcome *from);
/* "a: 0-7,16-23; b: 0-7,16-23" for a log line; "" when there are no updates. */
const char *np_outcome_updates_text(const struct np_outcome *outcome, char *buf, size_t size);

/* The request and the demand core reads from an input: the annotation filter,
 * the scope precedence, the limits and the demand arithmetic, once. */
int np_input_request(const struct np_context *context, const struct np_input *input, struct np_diag *diag,
                     struct np_request *ret_request, struct np_demand *ret_demand);

#define NP_PLACE_COMMIT (1u << 0) /* record the placement; without it, only decide (plan) */
/* with NP_PLACE_COMMIT: a placement that took the ledger's lock keeps it, as
 * np_lifecycle_batch_begin() would have (outcome->held says so, failed or not),
 * for the front-end to write the container's cgroup before another process
 * decides; the re-pins it causes come with np_lifecycle_batch_end() */
#define NP_PLACE_HOLD (1u << 1)
/* NP_PLACE_NO_REASON (policy.h): the caller reads no outcome->placement.reason */

/* A container numapin does not place (no numapin annotation, or policy none;
 * never a pod sandbox) is, unless the config's `unannotated` is ignore,
 * "protected": given the CPUs no one holds exclusively (every node's), memory
 * left alone. The hook records it with policy none, re-pinned like any shared
 * container (PLACED); with the context's protect_unrecorded (the NRI plugin)
 * it is not recorded (PROTECTED), and the caller moves it when
 * np_lifecycle_shared_pool() changes. */
int np_lifecycle_shared_pool(struct np_context *context, struct np_diag *diag, struct np_cpulist *ret_cpus);

/* Counts how long a front-end took over one placement (the hook's whole run,
 * the NRI plugin's CreateContainer) in the operations counters of the state
 * dir, for its source; np_lifecycle_place counts its result there itself. */
void np_lifecycle_latency(struct np_context *context, uint64_t duration_ns);

/* The verbs below fill the caller's `outcome`, which the caller owns and
 * frees with np_outcome_clear(): it is reset first and, when the verb fails,
 * cleared again, so a failed verb leaves nothing in it. (Not an out-parameter
 * written on success only: an outcome is 18 KiB, and a copy of it is pages a
 * short-lived hook faults in.) */

/* Decides where a container goes. With NP_PLACE_COMMIT the placement is
 * recorded (PLACED; KEPT when it was placed before), the monitor attached and
 * the result counted in the operations counters (hook and NRI); without it,
 * a plan: nothing is written. */
int np_lifecycle_place(struct np_context *context, const struct np_input *input, unsigned int flags,
                       struct np_diag *diag, struct np_outcome *outcome);
/* Undoes a place whose outcome was PLACED: unwatches the container (no final
 * counters: it never ran), drops its record, gives its exclusive CPUs back. */
int np_lifecycle_abort(struct np_context *context, const char *id, const struct np_outcome *placed,
                       struct np_diag *diag, struct np_outcome *outcome);
/* The container now runs (NRI's PostCreateContainer): its pid and cgroup are
 * recorded and the monitor attached. NONE when numapin holds no record of it. */
int np_lifecycle_started(struct np_context *context, const struct np_input *input, struct np_diag *diag,
                         struct np_outcome *outcome);
/* Counts a container placed before numapin saw it, from the cpuset it has
 * (text as the runtime reports it; `mems` NULL or "": every node). Refused
 * when the cpuset names CPUs or nodes the machine lacks. A container numapin
 * holds already is KEPT with its recorded placement (`drifted` says when the
 * cpuset the container has now differs from it); one it does not place is recorded
 * as protected (see below) when the config protects such containers. */
int np_lifecycle_adopt(struct np_context *context, const struct np_input *input, const char *cpus, const char *mems,
                       struct np_diag *diag, struct np_outcome *outcome);

#define NP_RELEASE_FORGET (1u << 0) /* also forget its final counters (numapinctl release) */

/* The container is gone: unwatched with its final counters kept, its record
 * dropped, records of other gone containers reclaimed, CPUs it held
 * exclusively given back. NONE when numapin holds no record of it. */
int np_lifecycle_release(struct np_context *context, const char *id, unsigned int flags, struct np_diag *diag,
                         struct np_outcome *outcome);

/* Several verbs under one hold of the ledger's lock (Synchronize adopts every
 * container the runtime lists): the verbs in between hand out no re-pins;
 * batch_end derives them once for all, in its outcome. */
int np_lifecycle_batch_begin(struct np_context *context, struct np_diag *diag);
int np_lifecycle_batch_end(struct np_context *context, struct np_diag *diag, struct np_outcome *outcome);

/* What a long-lived caller does when its calls pause. With the context's
 * defer_record_writes: whether a verb's record still waits for its file, and
 * writing it, under the lock, once the caller has its answer (a process killed
 * before leaves it to the next holder of the lock); with linger_lock, whether
 * the lock is still held, and dropping it (settle drops it, failed or not).
 * Nothing to do inside a batch or with nothing waiting. */
bool np_lifecycle_unsettled(const struct np_context *context);
int np_lifecycle_settle(struct np_context *context, struct np_diag *diag);
