/* SPDX-License-Identifier: MIT */
/* The node-local allocation ledger: one record per placed container in
 * <state_dir>/containers/<id>.json, each replaced atomically, all changes
 * serialised by an flock on <state_dir>/lock. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "json.h"
#include "policy.h"
#include "topology.h"

struct np_record {
        char id[NP_ID_MAX + 1];
        enum np_policy policy;
        struct np_cpulist nodes;
        struct np_cpulist cpus;
        struct np_cpulist mems;
        struct np_cpulist exclusive_cpus;
        bool write_mems;
        struct np_demand demand;
        int pid;         /* the container's init at creation, 0 if unknown */
        int64_t created; /* seconds since the epoch */
        enum np_source source;
        struct np_names names;         /* its namespace, pod and name in Kubernetes, for metrics */
        char pod_scope[NP_ID_MAX + 1]; /* placed with scope pod: its pod sandbox's id; "" otherwise */
        struct np_record_monitor {
                bool on;            /* watched by the locality monitor */
                uint32_t slot;      /* its counters' slot */
                uint64_t cgroup_id; /* the key in the watched map */
                char dir[256];      /* the pinned set it is counted in */
        } monitor;
        /* the cpuset cgroup directory applied to, "" for a plan record; last: the
         * members after a 4 KiB array would lie in a page of their own */
        char cgroup[PATH_MAX];
};

/* The records loaded, and the lock held for them (opaque: read through the
 * functions below). */
struct np_ledger;

/* Opens (creating it when `exclusive`) the state dir, takes its lock (exclusive
 * for changes, shared for reading) and loads every record. A shared open of a
 * state dir that is missing or holds no ledger yet (no lock file: what
 * systemd's RuntimeDirectory= or an empty hostPath leaves) gives an empty
 * ledger. */
int np_ledger_open(const char *state_dir, bool exclusive, struct np_diag *diag, struct np_ledger **ret_ledger);
void np_ledger_close(struct np_ledger *ledger);
/* For a process that keeps the ledger between changes (the NRI plugin): drop
 * the lock, and take it again later. relock reloads the records when another
 * process changed them meanwhile (1), else keeps them (0). Changes need the lock. */
void np_ledger_unlock(struct np_ledger *ledger);
int np_ledger_relock(struct np_ledger *ledger, struct np_diag *diag);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct np_ledger *, np_ledger_close)
#define _cleanup_ledger_ _cleanup_(np_ledger_closep)

/* Drops records whose container is gone: its pid is dead and its cgroup
 * directory no longer exists. Plan records (no pid, no cgroup) stay. The
 * dropped records are handed out (malloc'd, for their monitor), when asked. */
int np_ledger_reclaim(struct np_ledger *ledger, struct np_record **ret_gone, size_t *ret_n_gone);
/* Whether these records were looked at by np_ledger_reclaim() less than
 * `interval_ns` ago, by this process or, through ledger.cache, by another one
 * (records read from their JSON never were). */
bool np_ledger_reclaimed_within(const struct np_ledger *ledger, uint64_t interval_ns);
/* The ledger keeps its records packed (a few hundred bytes each); these two hand one
 * out unpacked in a slot of the ledger's: np_ledger_find()'s record lasts until the
 * next np_ledger_find(), np_ledger_next()'s until the next np_ledger_next(), either
 * until the ledger changes or closes. A caller that keeps one, or needs two found at
 * once, copies it (struct np_record record = *np_ledger_find(...)). */
const struct np_record *np_ledger_find(const struct np_ledger *ledger, const char *id);
/* The records in id order: for (r = np_ledger_next(l, NULL); r; r = np_ledger_next(l, r)).
 * A change to the ledger ends an iteration; np_ledger_find() inside one is fine. */
const struct np_record *np_ledger_next(const struct np_ledger *ledger, const struct np_record *previous);
size_t np_ledger_count(const struct np_ledger *ledger);
const char *np_ledger_dir(const struct np_ledger *ledger);
/* Whether the records were last read from <state dir>/ledger.cache, the packed
 * copy the holder of the exclusive lock leaves (core/ledger.c), rather than from
 * their JSON files. */
bool np_ledger_read_from_cache(const struct np_ledger *ledger);
/* Recomputes the checksum of a ledger.cache image in place, so that a test can
 * hand the reader records damaged past it; -EINVAL when `size` is no cache. */
int np_ledger_cache_seal(void *image, size_t size);
/* Adds or replaces the record with the same id. */
int np_ledger_put(struct np_ledger *ledger, const struct np_record *record);
/* -ENOENT when there is no such record. */
int np_ledger_remove(struct np_ledger *ledger, const char *id);
/* For a process that answers its caller before the record's file is written
 * (the NRI plugin, whose caller waits for its answer to create the container):
 * each np_ledger_put() writes the record into the lock file, with the
 * generation, in one write, and its file in containers/ waits until
 * np_ledger_settle() or the next change. Until then every other process that
 * takes the lock reads the record from there, and the next holder of the
 * exclusive lock writes its file; a put removed before it is settled never
 * gets one. */
void np_ledger_defer_writes(struct np_ledger *ledger, bool defer);
/* Whether a record this process put is still waiting for its file. */
bool np_ledger_unsettled(const struct np_ledger *ledger);
/* Writes that file (the lock held exclusively). */
int np_ledger_settle(struct np_ledger *ledger);
/* What the records hold, summed (a cache kept up to date as records come and go);
 * valid until the ledger next changes or is freed. */
const struct np_usage *np_ledger_usage(const struct np_ledger *ledger);
/* Whether a change of who holds CPUs exclusively (or of a shared container's
 * CPUs) was recorded and its re-pins not yet applied: marked in the lock file
 * by np_ledger_put()/np_ledger_remove() before the record changes, cleared by
 * np_ledger_repin_done() once the cgroups say what the records say. A process
 * killed in between leaves it set for the next holder of the lock. */
bool np_ledger_repin_pending(const struct np_ledger *ledger);
int np_ledger_repin_done(struct np_ledger *ledger);
/* The CPUs held exclusively, from the same sum (no copy of it). */
const struct np_cpulist *np_ledger_exclusive_cpus(const struct np_ledger *ledger);

/* The decision for container `id`, the one the hook and the NRI plugin share:
 * the placement its record holds when it was placed before (a second hook
 * stage, a retried creation; returns 1), else np_policy_place() over what the
 * other records hold (returns 0). */
int np_ledger_place(const struct np_ledger *ledger, const struct np_topology *topology, const struct np_config *config,
                    const char *id, const struct np_request *request, const struct np_demand *demand,
                    unsigned int flags, struct np_diag *diag, struct np_placement *ret_placement);

/* Pod scope: the nodes the other containers (all but `id`, NULL: none left out) of the
 * request's pod hold, in request->pod_nodes (pod_nodes_fixed when there are such
 * containers). A pod's node set lasts as long as one of its containers' records. */
void np_ledger_pod_nodes(const struct np_ledger *ledger, const char *id, struct np_request *request);

/* The placement a record holds, its reason "already placed". */
void np_record_placement(const struct np_record *record, struct np_placement *ret_placement);
/* Fills a record from a placement. */
void np_record_from_placement(struct np_record *record, const char *id, const struct np_placement *placement,
                              enum np_source source);
/* The counter every change of the ledger bumps, read without the lock (for a
 * reader of the records files that wants to know whether to read them again);
 * 0 when there is none yet. */
uint64_t np_ledger_generation(const char *state_dir);
/* One record file, <id>.json in the directory `dir_fd` (<state dir>/containers),
 * read without the lock: records are replaced whole by rename(). `what` names
 * it in messages. */
int np_record_read(int dir_fd, const char *name, const char *what, struct np_diag *diag, struct np_record *ret_record);
/* A record's Kubernetes names as the field "kubernetes" of `obj`: {"namespace",
 * "pod", "container"}, each only when known, the field only when one is. */
int np_names_to_json(const struct np_names *names, struct json_object *obj);
/* Reads it back (a missing field or key: ""), each name checked with np_name_valid. */
int np_names_from_json(struct json_object *obj, const char *what, struct np_diag *diag, struct np_names *ret_names);
int np_record_to_json(const struct np_record *record, struct json_object **ret_object);
/* Its text in the state dir: what np_json_to_string() writes of np_record_to_json(),
 * without building json-c's objects; the text ends with a newline. */
int np_record_to_text(const struct np_record *record, char **ret_text, size_t *ret_size);
