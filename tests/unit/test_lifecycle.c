// SPDX-License-Identifier: MIT
/* lifecycle and context: the verbs every front-end calls (place, abort,
 * started, adopt, release) on the 2socket-smt fixture with a real ledger and a
 * cgroup tree of regular files: what they record, which other containers'
 * CPUs change (re-pins as data), what is reclaimed; and the order in which a
 * context resolves its settings. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "../../core/annotations.h"
#include "../../core/lifecycle.h"
#include "../../core/monitor.h"
#include "../../core/opstats.h"
#include "helpers.h"

struct fixture {
        struct np_test_node node;
        char *dir, *state, *cgroup, *config, *sysfs; /* the node's, by their short names */
        struct np_context *context;
};

static void write_config(struct fixture *f, const char *text)
{
        np_test_write_file(f->config, text);
}

/* A context as a process of `source` opens it, looking for gone containers at
 * most every `reclaim_interval_ns` (0: at every verb). */
static void open_context_reclaiming(struct fixture *f, enum np_source source, uint64_t reclaim_interval_ns)
{
        struct np_context_options options = {
                .config_path = f->config,
                .state_dir = f->state,
                .sysfs_root = f->sysfs,
                .cgroup_root = f->cgroup,
                .proc_root = f->dir, /* no <pid>/cgroup there: the spec's path is used */
                .source = source,
                .reclaim_interval_ns = reclaim_interval_ns,
        };
        struct np_diag diag = {};

        np_context_free(f->context);
        f->context = NULL;
        if (np_context_open(&options, &diag, &f->context) < 0)
                fail_msg("np_context_open: %s", diag.message);
}

static void open_context(struct fixture *f, enum np_source source)
{
        open_context_reclaiming(f, source, 0);
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        /* a v1 cpuset hierarchy, as on this host */
        np_test_node_init(&f->node, "2socket-smt", "{}");
        f->dir = f->node.dir;
        f->state = f->node.state;
        f->cgroup = f->node.cgroup;
        f->config = f->node.config;
        f->sysfs = f->node.sysfs;
        open_context(f, NP_SOURCE_HOOK);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        np_context_free(f->context);
        np_test_rmtree(f->dir);
        free(f);
        return 0;
}

/* The container's cgroup folder <cgroup>/cpuset/<id> with cpuset files. */
static void make_cgroup(struct fixture *f, const char *id)
{
        char dir[PATH_MAX + 64], path[PATH_MAX + 128];

        snprintf(dir, sizeof(dir), "%s/cpuset/%s", f->cgroup, id);
        if (mkdir(dir, 0755) < 0) {
                assert_int_equal(errno, EEXIST); /* a run again for the same container */
                return;
        }
        snprintf(path, sizeof(path), "%s/cpuset.cpus", dir);
        np_test_write_file(path, "0-31");
        snprintf(path, sizeof(path), "%s/cpuset.mems", dir);
        np_test_write_file(path, "0-1");
}

static char *cgroup_cpus(struct fixture *f, const char *id)
{
        char path[PATH_MAX + 64];

        snprintf(path, sizeof(path), "%s/cpuset/%s/cpuset.cpus", f->cgroup, id);
        return np_test_read_file(path);
}

/* Whether the lock file marks a re-pin pending (its second word). */
static bool repin_pending(struct fixture *f)
{
        char path[PATH_MAX + 64];
        uint64_t words[2] = {};
        int fd;

        snprintf(path, sizeof(path), "%s/lock", f->state);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        (void)!read(fd, words, sizeof(words));
        close(fd);
        return words[1] != 0;
}

/* annotations "k=v" ... NULL into a set */
static struct np_annotation_set annotations(const char *first, va_list ap)
{
        struct np_annotation_set set = {};

        for (const char *kv = first; kv; kv = va_arg(ap, const char *)) {
                char key[256];
                const char *eq = strchr(kv, '=');

                assert_non_null(eq);
                snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
                assert_int_equal(np_annotations_add(&set, key, eq + 1), 0);
        }
        return set;
}

/* Places `id` as the hook does (its cgroup made and located), annotations as
 * "key=value" arguments ending with NULL. Returns the verb's result. */
static int place(struct fixture *f, unsigned int flags, struct np_outcome *ret_outcome, const char *id, ...)
{
        struct np_input input = NP_INPUT_INIT;
        struct np_annotation_set set;
        struct np_diag diag = {};
        char cgroups_path[256];
        va_list ap;
        int r;

        va_start(ap, id);
        set = annotations(va_arg(ap, const char *), ap);
        va_end(ap);
        if (flags & NP_PLACE_COMMIT) {
                snprintf(cgroups_path, sizeof(cgroups_path), "/%s", id);
                make_cgroup(f, id);
                input.cgroups_path = cgroups_path;
                input.locate_cgroup = true;
                input.pid = getpid(); /* alive: never reclaimed */
        }
        input.id = id;
        input.container_annotations = &set;
        r = np_lifecycle_place(f->context, &input, flags, &diag, ret_outcome);
        np_annotations_clear(&set);
        return r;
}

static const struct np_record *find(struct fixture *f, const char *id)
{
        struct np_ledger *ledger;
        const struct np_record *record;

        assert_int_equal(np_context_ledger(f->context, false, NULL, &ledger), 0);
        record = np_ledger_find(ledger, id);
        np_context_unlock(f->context);
        return record;
}

static const struct np_update *update_for(const struct np_outcome *outcome, const char *id)
{
        for (size_t i = 0; i < outcome->n_updates; i++)
                if (strcmp(outcome->updates[i].id, id) == 0)
                        return &outcome->updates[i];
        return NULL;
}

static void test_lifecycle_place_records_the_container_and_its_cgroup(void **state)
{
        struct fixture *f = *state;
        struct np_outcome outcome = {};
        char dir[PATH_MAX + 16];
        const struct np_record *record;

        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "a", "cpus.numapin.io/pod=2", NULL), 0);
        assert_int_equal(outcome.kind, NP_OUTCOME_PLACED);
        assert_string_equal(outcome.cgroup_path, "/a");
        assert_int_equal(outcome.cgroup_layout, NP_CGROUP_LEGACY);
        assert_false(outcome.watched); /* a fixture tree: the monitor has nothing to count */
        assert_string_equal(outcome.warning, "");
        record = find(f, "a");
        assert_non_null(record);
        snprintf(dir, sizeof(dir), "%s/cpuset/a", f->cgroup);
        assert_string_equal(record->cgroup, dir);
        assert_int_equal(record->source, NP_SOURCE_HOOK);
        assert_int_equal(record->pid, getpid());
        assert_int_equal(np_cpulist_count(&record->exclusive_cpus), 2);
        np_outcome_clear(&outcome);
}

static void test_lifecycle_place_keeps_the_kubernetes_names_for_metrics(void **state)
{
        struct fixture *f = *state;
        struct np_outcome outcome = {};
        struct np_input input = NP_INPUT_INIT;
        struct np_annotation_set set = {};
        const struct np_record *record;
        struct np_diag diag = {};

        /* containerd's CRI annotations */
        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "a", "cpus.numapin.io/pod=1",
                               "io.kubernetes.cri.sandbox-namespace=shop", "io.kubernetes.cri.sandbox-name=web-7d9f",
                               "io.kubernetes.cri.container-name=nginx", NULL),
                         0);
        record = find(f, "a");
        assert_string_equal(record->names.namespace, "shop");
        assert_string_equal(record->names.pod, "web-7d9f");
        assert_string_equal(record->names.container, "nginx");
        np_outcome_clear(&outcome);

        /* CRI-O's; the runtime's word (NRI's pod) wins over the annotations */
        assert_int_equal(np_annotations_add(&set, "policy.numapin.io/pod", "bind"), 0);
        assert_int_equal(np_annotations_add(&set, "io.kubernetes.pod.namespace", "crio-ns"), 0);
        assert_int_equal(np_annotations_add(&set, "io.kubernetes.pod.name", "from-annotation"), 0);
        input.id = "b";
        input.pod_name = "from-runtime";
        input.container_annotations = &set;
        assert_int_equal(np_lifecycle_place(f->context, &input, NP_PLACE_COMMIT, &diag, &outcome), 0);
        record = find(f, "b");
        assert_string_equal(record->names.namespace, "crio-ns");
        assert_string_equal(record->names.pod, "from-runtime");
        np_outcome_clear(&outcome);

        /* a name that could not be Kubernetes' is refused, naming it */
        input.id = "c";
        input.pod_name = "bad\"name";
        assert_int_equal(np_lifecycle_place(f->context, &input, NP_PLACE_COMMIT, &diag, &outcome), -EINVAL);
        assert_non_null(strstr(diag.message, "pod name 'bad"));
        assert_null(find(f, "c"));
        np_annotations_clear(&set);
}

static void test_lifecycle_counts_placements_by_result_for_its_source(void **state)
{
        struct fixture *f = *state;
        struct np_outcome outcome = {};
        struct np_input input = NP_INPUT_INIT;
        struct np_annotation_set set = {};
        struct np_opstats *opstats;
        struct np_opstats_data data;

        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "a", "cpus.numapin.io/pod=1", NULL), 0);
        np_outcome_clear(&outcome);
        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "b", "policy.numapin.io/pod=bind", NULL), 0);
        np_outcome_clear(&outcome);
        /* kept (a second hook stage): not a new placement */
        input.id = "b";
        input.container_annotations = &set;
        assert_int_equal(np_annotations_add(&set, "policy.numapin.io/pod", "bind"), 0);
        assert_int_equal(np_lifecycle_place(f->context, &input, NP_PLACE_COMMIT, NULL, &outcome), 0);
        assert_int_equal(outcome.kind, NP_OUTCOME_KEPT);
        np_outcome_clear(&outcome);
        np_annotations_clear(&set);
        /* refused: a node this machine does not have, an invalid value */
        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "c", "nodes.numapin.io/pod=7", NULL), -ENOENT);
        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "d", "cpus.numapin.io/pod=x", NULL), -EINVAL);
        /* a plan is not counted */
        assert_int_equal(place(f, 0, &outcome, "e", "cpus.numapin.io/pod=1", NULL), 0);
        np_outcome_clear(&outcome);
        np_lifecycle_latency(f->context, 3000000); /* 3 ms */

        assert_int_equal(np_opstats_open(f->state, false, NULL, &opstats), 0);
        np_opstats_read(opstats, &data);
        assert_int_equal(data.placements[NP_OP_HOOK][NP_OP_PLACED], 2);
        assert_int_equal(data.placements[NP_OP_HOOK][NP_OP_REFUSED], 2);
        assert_int_equal(data.placements[NP_OP_HOOK][NP_OP_ERROR], 0);
        assert_int_equal(data.placements[NP_OP_NRI][NP_OP_PLACED], 0);
        assert_int_equal(data.duration_ns_sum[NP_OP_HOOK], 3000000);
        assert_int_equal(data.duration_buckets[NP_OP_HOOK][5], 1); /* le 0.005 */
        assert_true(np_op_bucket_bounds[5] == 0.005);
        np_opstats_close(opstats);
}

static void test_lifecycle_place_again_keeps_the_first_placement(void **state)
{
        struct fixture *f = *state;
        struct np_outcome first = {}, again = {};
        struct np_input input = NP_INPUT_INIT;
        struct np_annotation_set set = {};

        assert_int_equal(place(f, NP_PLACE_COMMIT, &first, "a", "cpus.numapin.io/pod=2", NULL), 0);
        /* prestart after createRuntime, with the same annotations */
        assert_int_equal(np_annotations_add(&set, "cpus.numapin.io/pod", "2"), 0);
        input.id = "a";
        input.container_annotations = &set;
        assert_int_equal(np_lifecycle_place(f->context, &input, NP_PLACE_COMMIT, NULL, &again), 0);
        assert_int_equal(again.kind, NP_OUTCOME_KEPT);
        assert_true(np_cpulist_equal(&again.placement.cpus, &first.placement.cpus));
        assert_string_equal(again.placement.reason, "already placed");
        np_annotations_clear(&set);
        np_outcome_clear(&first);
        np_outcome_clear(&again);
}

static void test_lifecycle_unannotated_container_is_protected_and_recorded(void **state)
{
        struct fixture *f = *state;
        struct np_outcome outcome = {};
        const struct np_update *u;

        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "plain", NULL), 0);
        assert_int_equal(outcome.kind, NP_OUTCOME_PLACED);
        assert_int_equal(outcome.placement.policy, NP_POLICY_NONE);
        assert_cpulist_equal(&outcome.placement.cpus, "0-31");
        assert_false(outcome.placement.write_mems);
        assert_int_equal(find(f, "plain")->policy, NP_POLICY_NONE);
        np_outcome_clear(&outcome);
        /* an exclusive placement on node 1 moves it off those CPUs, on every node it may use */
        assert_int_equal(
                place(f, NP_PLACE_COMMIT, &outcome, "x", "nodes.numapin.io/pod=1", "cpus.numapin.io/pod=2", NULL), 0);
        u = update_for(&outcome, "plain");
        assert_non_null(u);
        assert_cpulist_equal(&u->cpus, "0-7,9-23,25-31"); /* node 1's first core, 8 and 24 */
        np_outcome_clear(&outcome);
        /* a pod sandbox is never touched */
        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "pause", "io.kubernetes.cri.container-type=sandbox", NULL),
                         0);
        assert_int_equal(outcome.kind, NP_OUTCOME_NONE);
        assert_null(find(f, "pause"));
}

static void test_lifecycle_unannotated_ignore_touches_no_state(void **state)
{
        struct fixture *f = *state;
        struct np_outcome outcome = {};
        struct stat st;

        write_config(f, "{\"unannotated\": \"ignore\"}");
        open_context(f, NP_SOURCE_HOOK);
        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "plain", NULL), 0);
        assert_int_equal(outcome.kind, NP_OUTCOME_NONE);
        assert_non_null(strstr(outcome.placement.reason, "default policy is none"));
        assert_int_equal(stat(f->state, &st), -1);
        np_outcome_clear(&outcome);
}

static void test_lifecycle_protect_unrecorded_keeps_no_record(void **state)
{
        struct fixture *f = *state;
        struct np_context_options options = { .config_path = f->config,
                                              .state_dir = f->state,
                                              .sysfs_root = f->sysfs,
                                              .cgroup_root = f->cgroup,
                                              .proc_root = f->dir,
                                              .source = NP_SOURCE_NRI,
                                              .protect_unrecorded = true };
        struct np_outcome outcome = {};
        struct np_cpulist pool;

        np_context_free(f->context);
        assert_int_equal(np_context_open(&options, NULL, &f->context), 0);
        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "x", "cpus.numapin.io/pod=2", NULL), 0);
        np_outcome_clear(&outcome);
        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "plain", NULL), 0);
        assert_int_equal(outcome.kind, NP_OUTCOME_PROTECTED);
        assert_cpulist_equal(&outcome.placement.cpus, "1-15,17-31");
        assert_null(find(f, "plain"));
        assert_int_equal(np_lifecycle_shared_pool(f->context, NULL, &pool), 0);
        assert_true(np_cpulist_equal(&pool, &outcome.placement.cpus));
        np_outcome_clear(&outcome);
}

static void test_lifecycle_plan_decides_without_recording(void **state)
{
        struct fixture *f = *state;
        struct np_outcome outcome = {};
        struct stat st;

        assert_int_equal(place(f, 0, &outcome, "p", "cpus.numapin.io/pod=4", NULL), 0);
        assert_int_equal(outcome.kind, NP_OUTCOME_PLANNED);
        assert_int_equal(np_cpulist_count(&outcome.placement.exclusive_cpus), 4);
        assert_int_equal(stat(f->state, &st), -1); /* a missing state dir reads as empty */
        np_outcome_clear(&outcome);
}

static void test_lifecycle_exclusive_cpus_move_shared_containers_off_as_updates(void **state)
{
        struct fixture *f = *state;
        struct np_outcome shared = {}, exclusive = {};
        _cleanup_free_ char *cpus = NULL;
        const struct np_update *u;

        assert_int_equal(place(f, NP_PLACE_COMMIT, &shared, "s", "nodes.numapin.io/pod=0", NULL), 0);
        assert_cpulist_equal(&shared.placement.cpus, "0-7,16-23");
        assert_int_equal(shared.n_updates, 0);
        assert_int_equal(
                place(f, NP_PLACE_COMMIT, &exclusive, "x", "nodes.numapin.io/pod=0", "cpus.numapin.io/pod=2", NULL), 0);
        assert_cpulist_equal(&exclusive.placement.cpus, "0,16");
        assert_int_equal(exclusive.n_updates, 1);
        u = update_for(&exclusive, "s");
        assert_non_null(u);
        assert_cpulist_equal(&u->cpus, "1-7,17-23");
        assert_int_equal(u->source, NP_SOURCE_HOOK);
        /* the record and the cgroup say so already, written under the lock */
        assert_cpulist_equal(&find(f, "s")->cpus, "1-7,17-23");
        cpus = cgroup_cpus(f, "s");
        assert_string_equal(cpus, "1-7,17-23");
        assert_string_equal(exclusive.repin_failures, "");
        assert_false(repin_pending(f));
        np_outcome_clear(&shared);
        np_outcome_clear(&exclusive);
}

/* Whether another process could take the ledger's lock now: a child opens the
 * lock file itself and asks without waiting. */
static bool lock_free(struct fixture *f)
{
        char path[PATH_MAX + 64];
        int status;
        pid_t pid;

        snprintf(path, sizeof(path), "%s/lock", f->state);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int fd = open(path, O_RDWR | O_CLOEXEC);

                _exit(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : 1);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The hook writes its container's cgroup under the lock its placement took
 * (NP_PLACE_HOLD): no other run decides in between, and the shared container
 * the placement moves off its CPUs is re-pinned as the hold ends. */
static void test_lifecycle_a_held_placement_keeps_the_lock_until_the_batch_ends(void **state)
{
        struct fixture *f = *state;
        struct np_outcome shared = {}, exclusive = {}, end = {};
        _cleanup_free_ char *during = NULL, *after = NULL;
        struct np_diag diag = {};
        const struct np_update *u;

        assert_int_equal(place(f, NP_PLACE_COMMIT, &shared, "s", "nodes.numapin.io/pod=0", NULL), 0);
        assert_false(shared.held);
        assert_true(lock_free(f));
        assert_int_equal(place(f, NP_PLACE_COMMIT | NP_PLACE_HOLD, &exclusive, "x", "nodes.numapin.io/pod=0",
                               "cpus.numapin.io/pod=2", NULL),
                         0);
        assert_int_equal(exclusive.kind, NP_OUTCOME_PLACED);
        assert_cpulist_equal(&exclusive.placement.cpus, "0,16");
        assert_true(exclusive.held);
        assert_false(lock_free(f));
        assert_int_equal(exclusive.n_updates, 0);
        during = cgroup_cpus(f, "s");
        assert_string_equal(during, "0-31"); /* not re-pinned yet */

        assert_int_equal(np_lifecycle_batch_end(f->context, &diag, &end), 0);
        assert_true(lock_free(f));
        u = update_for(&end, "s");
        assert_non_null(u);
        assert_cpulist_equal(&u->cpus, "1-7,17-23");
        after = cgroup_cpus(f, "s");
        assert_string_equal(after, "1-7,17-23");
        assert_cpulist_equal(&find(f, "s")->cpus, "1-7,17-23");
        np_outcome_clear(&shared);
        np_outcome_clear(&exclusive);
        np_outcome_clear(&end);
}

/* A held placement that fails still holds the lock (outcome.held says so), for
 * the caller's one np_lifecycle_batch_end(); one that never needed the ledger
 * holds nothing. */
static void test_lifecycle_a_held_placement_says_when_it_holds_the_lock(void **state)
{
        struct fixture *f = *state;
        struct np_outcome outcome = {}, end = {};
        struct np_diag diag = {};

        /* 40 CPUs exclusively on a node of 16: refused inside the verb */
        assert_true(place(f, NP_PLACE_COMMIT | NP_PLACE_HOLD, &outcome, "big", "nodes.numapin.io/pod=0",
                          "cpus.numapin.io/pod=40", NULL) < 0);
        assert_true(outcome.held);
        assert_false(lock_free(f));
        assert_int_equal(np_lifecycle_batch_end(f->context, &diag, &end), 0);
        assert_true(lock_free(f));
        assert_null(find(f, "big"));
        np_outcome_clear(&end);

        write_config(f, "{\"unannotated\": \"ignore\"}");
        open_context(f, NP_SOURCE_HOOK);
        assert_int_equal(place(f, NP_PLACE_COMMIT | NP_PLACE_HOLD, &outcome, "plain", NULL), 0);
        assert_int_equal(outcome.kind, NP_OUTCOME_NONE);
        assert_false(outcome.held);
        assert_int_equal(np_lifecycle_batch_end(f->context, &diag, &end), -EINVAL); /* no batch */
        np_outcome_clear(&outcome);
}

static void test_lifecycle_refuses_exclusive_cpus_that_leave_a_shared_container_none(void **state)
{
        struct fixture *f = *state;
        struct np_outcome outcome = {};
        struct np_input input = NP_INPUT_INIT;
        struct np_annotation_set set = {};
        struct np_diag diag = {};

        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "s", "nodes.numapin.io/pod=0", NULL), 0);
        np_outcome_clear(&outcome);
        /* node 0 has 16 CPUs: all of them exclusive would leave s nowhere to run */
        assert_int_equal(np_annotations_add(&set, "nodes.numapin.io/pod", "0"), 0);
        assert_int_equal(np_annotations_add(&set, "cpus.numapin.io/pod", "16"), 0);
        input.id = "x";
        input.container_annotations = &set;
        outcome.kind = NP_OUTCOME_PLACED; /* what a caller's reused outcome may hold */
        assert_int_equal(np_lifecycle_place(f->context, &input, NP_PLACE_COMMIT, &diag, &outcome), -ENOSPC);
        assert_non_null(strstr(diag.message, "shared container 's'"));
        assert_null(find(f, "x"));
        /* a refused placement hands back nothing that reads as one */
        assert_int_equal(outcome.kind, NP_OUTCOME_NONE);
        assert_true(np_cpulist_empty(&outcome.placement.cpus));
        assert_int_equal(outcome.n_updates, 0);
        np_annotations_clear(&set);
        /* 14 leave it a core */
        assert_int_equal(
                place(f, NP_PLACE_COMMIT, &outcome, "x", "nodes.numapin.io/pod=0", "cpus.numapin.io/pod=14", NULL), 0);
        assert_cpulist_equal(&find(f, "s")->cpus, "7,23");
        np_outcome_clear(&outcome);
}

static void test_lifecycle_nri_plugin_leaves_its_own_containers_cgroups_to_the_runtime(void **state)
{
        struct fixture *f = *state;
        struct np_outcome outcome = {};
        _cleanup_free_ char *cpus = NULL;

        open_context(f, NP_SOURCE_NRI);
        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "s", "nodes.numapin.io/pod=0", NULL), 0);
        np_outcome_clear(&outcome);
        assert_int_equal(
                place(f, NP_PLACE_COMMIT, &outcome, "x", "nodes.numapin.io/pod=0", "cpus.numapin.io/pod=2", NULL), 0);
        assert_non_null(update_for(&outcome, "s"));
        assert_cpulist_equal(&find(f, "s")->cpus, "1-7,17-23");
        cpus = cgroup_cpus(f, "s");
        assert_string_equal(cpus, "0-31"); /* the plugin asks the runtime: not written by core */
        np_outcome_clear(&outcome);
}

/* A run killed after its records changed and before the cgroups did: its
 * record says "narrowed", the cgroup does not, and the lock file marks a
 * re-pin pending (what np_ledger_put() leaves when nothing clears it). */
static void interrupt_repin(struct fixture *f, const char *id, const char *cgroup_cpus_text)
{
        char path[PATH_MAX + 64];
        uint64_t pending = 1;
        int fd;

        snprintf(path, sizeof(path), "%s/cpuset/%s/cpuset.cpus", f->cgroup, id);
        np_test_write_file(path, cgroup_cpus_text);
        snprintf(path, sizeof(path), "%s/lock", f->state);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, &pending, sizeof(pending), sizeof(uint64_t)), sizeof(pending));
        close(fd);
}

/* Shared "s" on node 0, then "x" holding 2 of its CPUs exclusively, by a run
 * killed before s's cgroup said so (it says `cgroup_cpus_text`); the next
 * process's context is open. */
static void interrupted_repin(struct fixture *f, const char *cgroup_cpus_text)
{
        struct np_outcome outcome = {};

        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "s", "nodes.numapin.io/pod=0", NULL), 0);
        np_outcome_clear(&outcome);
        assert_int_equal(
                place(f, NP_PLACE_COMMIT, &outcome, "x", "nodes.numapin.io/pod=0", "cpus.numapin.io/pod=2", NULL), 0);
        np_outcome_clear(&outcome);
        interrupt_repin(f, "s", cgroup_cpus_text);
        open_context(f, NP_SOURCE_HOOK);
}

static void test_lifecycle_any_next_verb_repairs_a_repin_cut_short(void **state)
{
        struct fixture *f = *state;
        struct np_outcome outcome = {};
        _cleanup_free_ char *cpus = NULL;

        interrupted_repin(f, "0-7,16-23");
        /* a verb that changes no one's exclusive CPUs: a shared container elsewhere */
        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "t", "nodes.numapin.io/pod=1", NULL), 0);
        assert_non_null(update_for(&outcome, "s"));
        cpus = cgroup_cpus(f, "s");
        assert_string_equal(cpus, "1-7,17-23");
        assert_false(repin_pending(f));
        np_outcome_clear(&outcome);
}

static void test_lifecycle_rerun_of_a_placed_container_repins_from_the_cgroups(void **state)
{
        struct fixture *f = *state;
        struct np_outcome outcome = {};
        _cleanup_free_ char *cpus = NULL;

        interrupted_repin(f, "0-31");
        assert_int_equal(
                place(f, NP_PLACE_COMMIT, &outcome, "x", "nodes.numapin.io/pod=0", "cpus.numapin.io/pod=2", NULL), 0);
        assert_int_equal(outcome.kind, NP_OUTCOME_KEPT);
        cpus = cgroup_cpus(f, "s");
        assert_string_equal(cpus, "1-7,17-23");
        np_outcome_clear(&outcome);
}

static void test_lifecycle_a_failed_repin_stays_pending(void **state)
{
        struct fixture *f = *state;
        struct np_outcome outcome = {};
        char path[PATH_MAX + 64];

        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "s", "nodes.numapin.io/pod=0", NULL), 0);
        np_outcome_clear(&outcome);
        /* cpuset.cpus a directory: the write fails, and says where */
        snprintf(path, sizeof(path), "%s/cpuset/s/cpuset.cpus", f->cgroup);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(mkdir(path, 0755), 0);
        assert_int_equal(
                place(f, NP_PLACE_COMMIT, &outcome, "x", "nodes.numapin.io/pod=0", "cpus.numapin.io/pod=2", NULL), 0);
        assert_non_null(strstr(outcome.repin_failures, "container 's'"));
        assert_true(repin_pending(f));
        np_outcome_clear(&outcome);
}

static void test_lifecycle_release_gives_exclusive_cpus_back(void **state)
{
        struct fixture *f = *state;
        struct np_outcome outcome = {};
        const struct np_update *u;

        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "s", "nodes.numapin.io/pod=0", NULL), 0);
        np_outcome_clear(&outcome);
        assert_int_equal(
                place(f, NP_PLACE_COMMIT, &outcome, "x", "nodes.numapin.io/pod=0", "cpus.numapin.io/pod=2", NULL), 0);
        np_outcome_clear(&outcome);
        assert_int_equal(np_lifecycle_release(f->context, "x", 0, NULL, &outcome), 0);
        assert_int_equal(outcome.kind, NP_OUTCOME_RELEASED);
        assert_null(find(f, "x"));
        u = update_for(&outcome, "s");
        assert_non_null(u);
        assert_cpulist_equal(&u->cpus, "0-7,16-23");
        np_outcome_clear(&outcome);

        /* again: nothing to release, nothing changes */
        assert_int_equal(np_lifecycle_release(f->context, "x", 0, NULL, &outcome), 0);
        assert_int_equal(outcome.kind, NP_OUTCOME_NONE);
        assert_int_equal(outcome.n_updates, 0);
        np_outcome_clear(&outcome);
}

/* Pod scope through the verbs: the pod's first container chooses, the next follow
 * whatever their own strategy says, one that does not fit there is refused naming the
 * pod, and the node set goes with the pod's last record. */
static void test_lifecycle_pod_scope_keeps_a_pod_on_its_first_containers_nodes(void **state)
{
        struct fixture *f = *state;
        struct np_outcome outcome = {};
        struct np_diag diag = {};
        struct np_input input = NP_INPUT_INIT;
        struct np_annotation_set set = {};

        /* node 0 mostly held, so that spread and pack disagree */
        assert_int_equal(
                place(f, NP_PLACE_COMMIT, &outcome, "big", "nodes.numapin.io/pod=0", "cpus.numapin.io/pod=12", NULL),
                0);
        np_outcome_clear(&outcome);
        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "pod-a", "io.kubernetes.cri.sandbox-id=web",
                               "scope.numapin.io/pod=pod", "cpus.numapin.io/pod=2", NULL),
                         0);
        assert_cpulist_equal(&outcome.placement.nodes, "1");
        np_outcome_clear(&outcome);
        assert_string_equal(find(f, "pod-a")->pod_scope, "web");

        /* pack alone would take node 0, the fullest that fits: the pod's node wins */
        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "pod-b", "io.kubernetes.cri.sandbox-id=web",
                               "scope.numapin.io/pod=pod", "strategy.numapin.io/pod=pack", "cpus.numapin.io/pod=1",
                               NULL),
                         0);
        assert_cpulist_equal(&outcome.placement.nodes, "1");
        assert_non_null(strstr(outcome.placement.reason, "pod's nodes 1"));
        np_outcome_clear(&outcome);

        /* 15 exclusive CPUs do not fit on node 1 any more: refused, never placed on node 0 */
        set = (struct np_annotation_set){};
        assert_int_equal(np_annotations_add(&set, "io.kubernetes.cri.sandbox-id", "web"), 0);
        assert_int_equal(np_annotations_add(&set, "scope.numapin.io/pod", "pod"), 0);
        assert_int_equal(np_annotations_add(&set, "cpus.numapin.io/pod", "15"), 0);
        make_cgroup(f, "pod-c");
        input.id = "pod-c";
        input.cgroups_path = "/pod-c";
        input.locate_cgroup = true;
        input.pid = getpid();
        input.container_annotations = &set;
        assert_int_equal(np_lifecycle_place(f->context, &input, NP_PLACE_COMMIT, &diag, &outcome), -ENOSPC);
        assert_non_null(strstr(diag.message, "pod sandbox 'web' (scope.numapin.io pod) holds nodes 1"));
        assert_null(find(f, "pod-c"));
        np_outcome_clear(&outcome);
        np_annotations_clear(&set);

        /* pod scope without a sandbox id to know the pod by */
        memset(&diag, 0, sizeof(diag));
        assert_int_equal(np_annotations_add(&set, "scope.numapin.io/pod", "pod"), 0);
        input.id = "lonely";
        assert_int_equal(np_lifecycle_place(f->context, &input, 0, &diag, &outcome), -EINVAL);
        assert_non_null(strstr(diag.message, "pod scope needs the pod's sandbox id"));
        np_annotations_clear(&set);

        /* the last container goes: the next container of the pod chooses afresh (pack: node 0) */
        assert_int_equal(np_lifecycle_release(f->context, "pod-a", 0, NULL, &outcome), 0);
        np_outcome_clear(&outcome);
        assert_int_equal(place(f, 0, &outcome, "plan", "io.kubernetes.cri.sandbox-id=web", "scope.numapin.io/pod=pod",
                               "strategy.numapin.io/pod=pack", "cpus.numapin.io/pod=1", NULL),
                         0);
        assert_cpulist_equal(&outcome.placement.nodes, "1"); /* pod-b still holds node 1 */
        np_outcome_clear(&outcome);
        assert_int_equal(np_lifecycle_release(f->context, "pod-b", 0, NULL, &outcome), 0);
        np_outcome_clear(&outcome);
        assert_int_equal(place(f, 0, &outcome, "plan", "io.kubernetes.cri.sandbox-id=web", "scope.numapin.io/pod=pod",
                               "strategy.numapin.io/pod=pack", "cpus.numapin.io/pod=1", NULL),
                         0);
        assert_cpulist_equal(&outcome.placement.nodes, "0");
        assert_null(strstr(outcome.placement.reason, "pod's nodes"));
        np_outcome_clear(&outcome);
}

static void test_lifecycle_release_of_a_shared_container_repins_no_one(void **state)
{
        struct fixture *f = *state;
        struct np_outcome outcome = {};

        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "s1", "nodes.numapin.io/pod=0", NULL), 0);
        np_outcome_clear(&outcome);
        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "s2", "nodes.numapin.io/pod=0", NULL), 0);
        np_outcome_clear(&outcome);
        assert_int_equal(np_lifecycle_release(f->context, "s1", 0, NULL, &outcome), 0);
        assert_int_equal(outcome.kind, NP_OUTCOME_RELEASED);
        assert_int_equal(outcome.n_updates, 0);
        np_outcome_clear(&outcome);
}

static void test_lifecycle_abort_undoes_a_fresh_placement(void **state)
{
        struct fixture *f = *state;
        struct np_outcome shared = {}, placed = {}, undone = {};
        const struct np_update *u;

        assert_int_equal(place(f, NP_PLACE_COMMIT, &shared, "s", "nodes.numapin.io/pod=0", NULL), 0);
        assert_int_equal(
                place(f, NP_PLACE_COMMIT, &placed, "x", "nodes.numapin.io/pod=0", "cpus.numapin.io/pod=2", NULL), 0);
        assert_int_equal(np_lifecycle_abort(f->context, "x", &placed, NULL, &undone), 0);
        assert_int_equal(undone.kind, NP_OUTCOME_RELEASED);
        assert_null(find(f, "x"));
        u = update_for(&undone, "s");
        assert_non_null(u);
        assert_cpulist_equal(&u->cpus, "0-7,16-23");
        assert_cpulist_equal(&find(f, "s")->cpus, "0-7,16-23");
        np_outcome_clear(&undone);

        /* a KEPT outcome (placed by an earlier run) is not this run's to undo: the record stays */
        shared.kind = NP_OUTCOME_KEPT;
        assert_int_equal(np_lifecycle_abort(f->context, "s", &shared, NULL, &undone), 0);
        assert_int_equal(undone.kind, NP_OUTCOME_NONE);
        assert_non_null(find(f, "s"));
        np_outcome_clear(&shared);
        np_outcome_clear(&placed);
        np_outcome_clear(&undone);
}

/* A run cut short after the exclusive record was written but before the shared
 * containers were moved: the next run for the same container moves them. */
static void test_lifecycle_place_again_repins_what_an_interrupted_run_left(void **state)
{
        struct fixture *f = *state;
        struct np_outcome outcome = {};
        struct np_ledger *ledger;
        struct np_record record;
        const struct np_update *u;

        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "s", "nodes.numapin.io/pod=0", NULL), 0);
        np_outcome_clear(&outcome);
        assert_int_equal(np_context_ledger(f->context, true, NULL, &ledger), 0);
        record = *np_ledger_find(ledger, "s");
        snprintf(record.id, sizeof(record.id), "x");
        record.cpus = record.exclusive_cpus = np_test_cpulist("0,16");
        assert_int_equal(np_ledger_put(ledger, &record), 0);
        np_context_unlock(f->context);
        assert_cpulist_equal(&find(f, "s")->cpus, "0-7,16-23"); /* still on x's CPUs */

        assert_int_equal(
                place(f, NP_PLACE_COMMIT, &outcome, "x", "nodes.numapin.io/pod=0", "cpus.numapin.io/pod=2", NULL), 0);
        assert_int_equal(outcome.kind, NP_OUTCOME_KEPT);
        u = update_for(&outcome, "s");
        assert_non_null(u);
        assert_cpulist_equal(&u->cpus, "1-7,17-23");
        np_outcome_clear(&outcome);
}

/* `id`'s poststop never ran: its pid is dead and its cgroup removed. */
static void make_gone(struct fixture *f, const char *id)
{
        struct np_ledger *ledger;
        struct np_record record;
        char dir[PATH_MAX + 16];

        assert_int_equal(np_context_ledger(f->context, true, NULL, &ledger), 0);
        record = *np_ledger_find(ledger, id);
        record.pid = np_test_dead_pid();
        assert_int_equal(np_ledger_put(ledger, &record), 0);
        np_context_unlock(f->context);
        snprintf(dir, sizeof(dir), "%s/cpuset/%s", f->cgroup, id);
        np_test_rmtree(dir);
}

static void test_lifecycle_every_verb_reclaims_containers_that_are_gone(void **state)
{
        struct fixture *f = *state;
        struct np_outcome outcome = {};
        const struct np_update *u;

        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "s", "nodes.numapin.io/pod=0", NULL), 0);
        np_outcome_clear(&outcome);
        assert_int_equal(
                place(f, NP_PLACE_COMMIT, &outcome, "gone", "nodes.numapin.io/pod=0", "cpus.numapin.io/pod=2", NULL),
                0);
        np_outcome_clear(&outcome);
        make_gone(f, "gone");

        /* the release of another container, unknown even, drops it and gives its CPUs back */
        assert_int_equal(np_lifecycle_release(f->context, "other", 0, NULL, &outcome), 0);
        assert_int_equal(outcome.kind, NP_OUTCOME_NONE);
        assert_int_equal(outcome.reclaimed, 1);
        assert_null(find(f, "gone"));
        u = update_for(&outcome, "s");
        assert_non_null(u);
        assert_cpulist_equal(&u->cpus, "0-7,16-23");
        np_outcome_clear(&outcome);
}

/* The hook looks for gone containers at most every 10 s, across its processes:
 * a stale record then keeps its CPUs, until a placement needs them. */
static void test_lifecycle_a_hook_looks_for_gone_containers_once_an_interval_unless_short_of_cpus(void **state)
{
        struct fixture *f = *state;
        struct np_outcome outcome = {};

        /* each verb in a context of its own, as each hook is a process of its own
         * (one that keeps its ledger between verbs, the NRI plugin, leaves no cache) */
        for (unsigned int i = 0; i < 3; i++) {
                char id[8];

                snprintf(id, sizeof(id), "s%u", i);
                open_context_reclaiming(f, NP_SOURCE_HOOK, NP_RECLAIM_INTERVAL_NS);
                assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, id, "nodes.numapin.io/pod=0", NULL), 0);
                np_outcome_clear(&outcome);
        }
        open_context_reclaiming(f, NP_SOURCE_HOOK, NP_RECLAIM_INTERVAL_NS);
        assert_int_equal(
                place(f, NP_PLACE_COMMIT, &outcome, "gone", "nodes.numapin.io/pod=0", "cpus.numapin.io/pod=6", NULL),
                0);
        np_outcome_clear(&outcome);
        open_context_reclaiming(f, NP_SOURCE_HOOK, NP_RECLAIM_INTERVAL_NS);
        make_gone(f, "gone");

        /* the next hook, a new process, finds the last look a moment ago: the record stays */
        open_context_reclaiming(f, NP_SOURCE_HOOK, NP_RECLAIM_INTERVAL_NS);
        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "s3", "nodes.numapin.io/pod=0", NULL), 0);
        assert_int_equal(outcome.reclaimed, 0);
        assert_non_null(find(f, "gone"));
        np_outcome_clear(&outcome);

        /* 12 of node 0's 16 CPUs: only with the gone container's 6 back, at once */
        open_context_reclaiming(f, NP_SOURCE_HOOK, NP_RECLAIM_INTERVAL_NS);
        assert_int_equal(
                place(f, NP_PLACE_COMMIT, &outcome, "x", "nodes.numapin.io/pod=0", "cpus.numapin.io/pod=12", NULL), 0);
        assert_int_equal(outcome.kind, NP_OUTCOME_PLACED);
        assert_int_equal(outcome.reclaimed, 1);
        assert_null(find(f, "gone"));
        assert_int_equal(np_cpulist_count(&find(f, "x")->exclusive_cpus), 12);
        np_outcome_clear(&outcome);

        /* a process that looks at every verb (numapinctl) drops a gone one at once */
        open_context_reclaiming(f, NP_SOURCE_HOOK, NP_RECLAIM_INTERVAL_NS);
        make_gone(f, "s0");
        open_context_reclaiming(f, NP_SOURCE_HOOK, 0);
        assert_int_equal(np_lifecycle_release(f->context, "other", 0, NULL, &outcome), 0);
        assert_int_equal(outcome.reclaimed, 1);
        assert_null(find(f, "s0"));
        np_outcome_clear(&outcome);
}

static void test_lifecycle_container_annotations_win_over_the_pods_and_foreign_keys_are_ignored(void **state)
{
        struct fixture *f = *state;
        struct np_annotation_set container = {}, pod = {};
        struct np_input input = NP_INPUT_INIT;
        struct np_outcome outcome = {};
        struct np_request request;
        struct np_demand demand;
        struct np_diag diag = {};

        assert_int_equal(np_annotations_add(&container, "cpus.numapin.io/pod", "1"), 0);
        assert_int_equal(np_annotations_add(&pod, "cpus.numapin.io/pod", "3"), 0);
        assert_int_equal(np_annotations_add(&pod, "nodes.numapin.io/pod", "1"), 0);
        /* someone else's keys: not UTF-8, longer than any numapin key; never judged */
        assert_int_equal(np_annotations_add(&pod, "example.com/blob", "\xff\xfe"), 0);
        assert_int_equal(np_annotations_add(&container,
                                            "example.com/a-very-long-key-that-is-not-numapins-own-and-"
                                            "goes-on-for-more-than-ninety-six-bytes-of-text",
                                            "x"),
                         0);
        input.id = "c";
        input.container_annotations = &container;
        input.pod_annotations = &pod;
        input.cpu_quota = 150000; /* per the default period */
        input.memory_limit = 1 << 30;
        assert_int_equal(np_input_request(f->context, &input, &diag, &request, &demand), 0);
        assert_int_equal(request.exclusive_cpus, 1);
        assert_false(request.nodes_auto);
        assert_cpulist_equal(&request.nodes, "1");
        assert_int_equal(demand.cpu_millis, 1500);
        assert_int_equal(demand.memory_bytes, 1 << 30);
        assert_int_equal(np_lifecycle_place(f->context, &input, 0, &diag, &outcome), 0);
        assert_cpulist_equal(&outcome.placement.cpus, "8");
        np_outcome_clear(&outcome);

        /* a bad value in one of numapin's keys is refused, naming the key */
        assert_int_equal(np_annotations_add(&pod, "node-count.numapin.io/pod", "zero"), 0);
        assert_int_equal(np_input_request(f->context, &input, &diag, &request, &demand), -EINVAL);
        assert_non_null(strstr(diag.message, "node-count.numapin.io/pod"));
        np_annotations_clear(&container);
        np_annotations_clear(&pod);
}

static void test_lifecycle_started_records_pid_and_cgroup_of_an_nri_container(void **state)
{
        struct fixture *f = *state;
        struct np_annotation_set set = {};
        struct np_input input = NP_INPUT_INIT;
        struct np_outcome outcome = {};
        char dir[PATH_MAX + 16];
        const struct np_record *record;

        open_context(f, NP_SOURCE_NRI);
        assert_int_equal(np_annotations_add(&set, "cpus.numapin.io/pod", "1"), 0);
        input.id = "n";
        input.container_annotations = &set;
        /* CreateContainer: no pid, no cgroup yet */
        assert_int_equal(np_lifecycle_place(f->context, &input, NP_PLACE_COMMIT, NULL, &outcome), 0);
        assert_int_equal(outcome.kind, NP_OUTCOME_PLACED);
        assert_string_equal(find(f, "n")->cgroup, "");
        assert_int_equal(find(f, "n")->source, NP_SOURCE_NRI);
        np_outcome_clear(&outcome);

        /* PostCreateContainer */
        make_cgroup(f, "pod1-n");
        input.pid = getpid();
        input.cgroups_path = "/pod1-n";
        assert_int_equal(np_lifecycle_started(f->context, &input, NULL, &outcome), 0);
        assert_int_equal(outcome.kind, NP_OUTCOME_KEPT);
        record = find(f, "n");
        snprintf(dir, sizeof(dir), "%s/cpuset/pod1-n", f->cgroup);
        assert_string_equal(record->cgroup, dir);
        assert_int_equal(record->pid, getpid());
        np_outcome_clear(&outcome);

        /* a container numapin never placed */
        input.id = "stranger";
        assert_int_equal(np_lifecycle_started(f->context, &input, NULL, &outcome), 0);
        assert_int_equal(outcome.kind, NP_OUTCOME_NONE);
        np_annotations_clear(&set);
}

static void test_lifecycle_adopt_counts_a_container_from_its_cpuset(void **state)
{
        struct fixture *f = *state;
        struct np_annotation_set set = {};
        struct np_input input = NP_INPUT_INIT;
        struct np_outcome outcome = {};
        struct np_diag diag = {};

        open_context(f, NP_SOURCE_NRI);
        assert_int_equal(np_annotations_add(&set, "cpus.numapin.io/pod", "2"), 0);
        input.id = "old";
        input.container_annotations = &set;
        assert_int_equal(np_lifecycle_adopt(f->context, &input, "8,24", "1", &diag, &outcome), 0);
        assert_int_equal(outcome.kind, NP_OUTCOME_PLACED);
        assert_false(outcome.drifted); /* counted as it runs */
        assert_cpulist_equal(&find(f, "old")->exclusive_cpus, "8,24");
        np_outcome_clear(&outcome);
        /* what was placed stays where it is */
        assert_int_equal(np_lifecycle_adopt(f->context, &input, "0-31", NULL, &diag, &outcome), 0);
        assert_int_equal(outcome.kind, NP_OUTCOME_KEPT);
        assert_true(outcome.drifted); /* widened while numapin was away: to be set back */
        assert_cpulist_equal(&outcome.placement.cpus, "8,24");
        assert_cpulist_equal(&find(f, "old")->cpus, "8,24");
        np_outcome_clear(&outcome);

        input.id = "bad";
        assert_int_equal(np_lifecycle_adopt(f->context, &input, "98-99", "0", &diag, &outcome), -EINVAL);
        assert_non_null(strstr(diag.message, "names CPUs or nodes this machine lacks"));
        assert_null(find(f, "bad"));
        np_annotations_clear(&set);
}

static void test_lifecycle_memory_policies_need_a_front_end_that_carries_them(void **state)
{
        struct fixture *f = *state;
        struct np_outcome outcome = {};
        struct np_diag diag = {};
        struct np_annotation_set set = {};
        struct np_input input = NP_INPUT_INIT;

        assert_int_equal(np_annotations_add(&set, "policy.numapin.io/pod", "interleave"), 0);
        input.id = "i";
        input.container_annotations = &set;
        assert_int_equal(np_lifecycle_place(f->context, &input, NP_PLACE_COMMIT, &diag, &outcome), -EOPNOTSUPP);
        assert_non_null(strstr(diag.message, "needs a memory policy"));
        assert_null(find(f, "i"));
        f->context->memory_policy = true;
        assert_int_equal(np_lifecycle_place(f->context, &input, NP_PLACE_COMMIT, NULL, &outcome), 0);
        assert_int_equal(outcome.placement.policy, NP_POLICY_INTERLEAVE);
        np_outcome_clear(&outcome);
        np_annotations_clear(&set);
}

static void test_lifecycle_refuses_an_invalid_container_id(void **state)
{
        struct fixture *f = *state;
        struct np_outcome outcome = {};
        struct np_diag diag = {};

        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "../x", "cpus.numapin.io/pod=1", NULL), -EINVAL);
        assert_int_equal(np_lifecycle_release(f->context, ".hidden", 0, &diag, &outcome), -EINVAL);
        assert_non_null(strstr(diag.message, "container id '.hidden' is not valid"));
}

static void test_lifecycle_kubelets_static_assignments_are_kept_out_and_left_to_kubelet(void **state)
{
        struct fixture *f = *state;
        struct np_annotation_set set = {};
        struct np_input input = NP_INPUT_INIT;
        struct np_outcome outcome = {};
        char dir[PATH_MAX], path[PATH_MAX + 32], text[PATH_MAX + 64];

        np_test_path(dir, sizeof(dir), f->dir, "kubelet");
        assert_int_equal(mkdir(dir, 0755), 0);
        snprintf(path, sizeof(path), "%s/cpu_manager_state", dir);
        np_test_write_file(path, "{\"policyName\":\"static\",\"defaultCpuSet\":\"0-7,9-31\","
                                 "\"entries\":{\"uid-k\":{\"k\":\"8\"}},\"checksum\":1}");
        snprintf(text, sizeof(text), "{\"kubelet_root_dir\": \"%s\"}", dir);
        write_config(f, text);
        open_context(f, NP_SOURCE_NRI);

        /* a shared container on node 1 and an exclusive one there: never CPU 8 */
        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "s", "nodes.numapin.io/pod=1", NULL), 0);
        assert_cpulist_equal(&outcome.placement.cpus, "9-15,24-31");
        np_outcome_clear(&outcome);
        assert_int_equal(
                place(f, NP_PLACE_COMMIT, &outcome, "x", "nodes.numapin.io/pod=1", "cpus.numapin.io/pod=1", NULL), 0);
        assert_false(np_cpulist_test(&outcome.placement.exclusive_cpus, 8));
        np_outcome_clear(&outcome);

        /* kubelet's own container (pod uid-k, container k): left to kubelet, even annotated */
        assert_int_equal(np_annotations_add(&set, "cpus.numapin.io/pod", "1"), 0);
        input.id = "kubelets";
        input.name = "k";
        input.pod_uid = "uid-k";
        input.container_annotations = &set;
        assert_int_equal(np_lifecycle_place(f->context, &input, NP_PLACE_COMMIT, NULL, &outcome), 0);
        assert_int_equal(outcome.kind, NP_OUTCOME_NONE);
        assert_non_null(strstr(outcome.placement.reason, "kubelet's static CPU manager assigned it CPUs 8"));
        assert_null(find(f, "kubelets"));
        np_annotations_clear(&set);

        /* policy none: nothing is kept out */
        np_test_write_file(path, "{\"policyName\":\"none\",\"defaultCpuSet\":\"\",\"checksum\":1}");
        assert_int_equal(np_context_refresh_kubelet(f->context, NULL), 1);
        assert_null(np_context_kubelet_assigned(f->context, "uid-k", "k"));
        assert_false(np_cpulist_test(&f->context->decision_config->reserved_cpus, 8));
}

/* --- the context ------------------------------------------------------------------- */

static void test_context_settings_resolve_flag_then_environment_then_config(void **state)
{
        struct fixture *f = *state;
        struct np_context_options options = { .config_path = f->config };
        struct np_context *context = NULL;
        char from_env[PATH_MAX], from_config[PATH_MAX], text[PATH_MAX + 64];

        np_test_path(from_env, sizeof(from_env), f->dir, "env-state");
        np_test_path(from_config, sizeof(from_config), f->dir, "config-state");
        snprintf(text, sizeof(text), "{\"state_dir\": \"%s\"}", from_config);
        write_config(f, text);

        assert_int_equal(unsetenv("NUMAPIN_STATE_DIR"), 0);
        assert_int_equal(np_context_open(&options, NULL, &context), 0);
        assert_string_equal(context->state_dir, from_config);
        np_context_free(TAKE_PTR(context));

        assert_int_equal(setenv("NUMAPIN_STATE_DIR", from_env, 1), 0);
        assert_int_equal(setenv("NUMAPIN_SYSFS_ROOT", "/tmp/fake-sys", 1), 0);
        assert_int_equal(setenv("NUMAPIN_CGROUP_ROOT", "/tmp/cg", 1), 0);
        assert_int_equal(setenv("NUMAPIN_PROC_ROOT", "", 1), 0); /* empty: as if unset */
        assert_int_equal(np_context_open(&options, NULL, &context), 0);
        assert_string_equal(context->state_dir, from_env);
        assert_string_equal(context->sysfs_root, "/tmp/fake-sys");
        assert_string_equal(context->cgroup_root, "/tmp/cg");
        assert_string_equal(context->proc_root, NP_PROC_ROOT_DEFAULT);
        np_context_free(TAKE_PTR(context));

        /* the flag wins over the environment, for every root alike */
        options.state_dir = f->state;
        options.sysfs_root = f->sysfs;
        assert_int_equal(np_context_open(&options, NULL, &context), 0);
        assert_string_equal(context->state_dir, f->state);
        assert_string_equal(context->sysfs_root, f->sysfs);
        np_context_free(TAKE_PTR(context));
        assert_int_equal(unsetenv("NUMAPIN_STATE_DIR"), 0);
        assert_int_equal(unsetenv("NUMAPIN_SYSFS_ROOT"), 0);
        assert_int_equal(unsetenv("NUMAPIN_CGROUP_ROOT"), 0);
        assert_int_equal(unsetenv("NUMAPIN_PROC_ROOT"), 0);

        /* the defaults */
        write_config(f, "{}");
        options = (struct np_context_options){ .config_path = f->config };
        assert_int_equal(np_context_open(&options, NULL, &context), 0);
        assert_string_equal(context->state_dir, NP_STATE_DIR_DEFAULT);
        assert_string_equal(context->sysfs_root, NP_SYSFS_ROOT_DEFAULT);
        assert_string_equal(context->cgroup_root, NP_CGROUP_ROOT_DEFAULT);
        assert_string_equal(context->proc_root, NP_PROC_ROOT_DEFAULT);
        np_context_free(TAKE_PTR(context));
}

static void test_context_refuses_a_relative_state_dir_and_a_missing_given_config(void **state)
{
        struct fixture *f = *state;
        struct np_context_options options = { .config_path = f->config,
                                              .state_dir = "relative/state",
                                              .sysfs_root = f->sysfs };
        struct np_annotation_set set = {};
        struct np_input input = NP_INPUT_INIT;
        struct np_context *context = NULL;
        struct np_outcome outcome = {};
        struct np_diag diag = {};
        char missing[PATH_MAX];

        assert_int_equal(np_context_open(&options, &diag, &context), 0);
        assert_int_equal(np_annotations_add(&set, "cpus.numapin.io/pod", "1"), 0);
        input.id = "x";
        input.container_annotations = &set;
        assert_int_equal(np_lifecycle_place(context, &input, NP_PLACE_COMMIT, &diag, &outcome), -EINVAL);
        np_annotations_clear(&set);
        assert_non_null(strstr(diag.message, "state dir 'relative/state': expected an absolute path"));
        np_context_free(TAKE_PTR(context));
        options = (struct np_context_options){ .config_path = np_test_path(missing, sizeof(missing), f->dir, "none") };
        assert_int_equal(np_context_open(&options, &diag, &context), -ENOENT);
        assert_null(context);
}

/* Each root is at most PATH_MAX - 1 bytes, from any source; a later config whose
 * root is refused leaves the context's roots as they were. */
static void test_context_refuses_a_root_longer_than_path_max(void **state)
{
        struct fixture *f = *state;
        struct np_context_options options = { .config_path = f->config };
        struct np_context *context = NULL;
        struct np_diag diag = {};
        char before[PATH_MAX], *text = malloc(PATH_MAX + 64), *longest = malloc(PATH_MAX + 1);

        assert_non_null(text);
        assert_non_null(longest);
        memset(longest, 'a', PATH_MAX);
        longest[0] = '/';
        longest[PATH_MAX] = '\0';
        assert_int_equal(setenv("NUMAPIN_CGROUP_ROOT", longest, 1), 0);
        assert_int_equal(np_context_open(&options, &diag, &context), -ENAMETOOLONG);
        assert_null(context);
        assert_string_equal(diag.message, "cgroup root: longer than 4095 bytes");
        longest[PATH_MAX - 1] = '\0'; /* 4095 bytes: taken */
        assert_int_equal(setenv("NUMAPIN_CGROUP_ROOT", longest, 1), 0);
        assert_int_equal(np_context_open(&options, &diag, &context), 0);
        assert_string_equal(context->cgroup_root, longest);
        assert_int_equal(unsetenv("NUMAPIN_CGROUP_ROOT"), 0);

        /* the environment is read again: a later config cannot be taken with it */
        snprintf(before, sizeof(before), "%s", context->state_dir);
        longest[PATH_MAX - 1] = 'a';
        assert_int_equal(setenv("NUMAPIN_SYSFS_ROOT", longest, 1), 0);
        snprintf(text, PATH_MAX + 64, "{\"state_dir\": \"%s/later\"}", f->dir);
        assert_int_equal(np_context_set_config(context, text, strlen(text), "test", &diag), -ENAMETOOLONG);
        assert_string_equal(diag.message, "sysfs root: longer than 4095 bytes");
        assert_string_equal(context->state_dir, before);
        assert_int_equal(strlen(context->cgroup_root), PATH_MAX - 1);
        assert_int_equal(unsetenv("NUMAPIN_SYSFS_ROOT"), 0);
        snprintf(text, PATH_MAX + 64, "{\"state_dir\": \"%s/later\"}", f->dir);
        assert_int_equal(np_context_set_config(context, text, strlen(text), "test", &diag), 0);
        assert_string_equal(context->state_dir + strlen(f->dir), "/later");
        assert_string_equal(context->cgroup_root, NP_CGROUP_ROOT_DEFAULT);
        np_context_free(TAKE_PTR(context));
        free(text);
        free(longest);
}

static void test_context_knows_a_fixture_tree_is_not_the_running_kernel(void **state)
{
        struct fixture *f = *state;
        struct np_context_options options = { .config_path = f->config, .sysfs_root = "/sys" };
        struct np_context *context = NULL;
        struct stat st;

        assert_false(np_context_real_kernel(f->context));
        if (stat("/sys/fs/cgroup", &st) < 0)
                skip();
        assert_int_equal(np_context_open(&options, NULL, &context), 0);
        /* this machine's own /sys and /sys/fs/cgroup: the kernel's, where cpuset is mounted */
        if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 || access("/sys/fs/cgroup/cpuset", F_OK) == 0)
                assert_true(np_context_real_kernel(context));
        np_context_free(context);
}

/* The kernel's /sys with a fixture cgroup root: the container's cgroup is not a
 * kernel one, so it is placed but not monitored (the monitor would find no
 * cgroup id there), and the record says no monitor. */
static void test_context_with_the_real_sysfs_but_a_fixture_cgroup_root_does_not_monitor(void **state)
{
        struct fixture *f = *state;
        struct np_outcome outcome = {};
        const struct np_record *record;

        if (np_monitor_sysfs_supported("/sys", NULL) < 0)
                skip();
        f->sysfs = "/sys";
        open_context(f, NP_SOURCE_HOOK);
        assert_true(np_context_real_kernel(f->context));
        assert_int_equal(place(f, NP_PLACE_COMMIT, &outcome, "a", "cpus.numapin.io/pod=1", NULL), 0);
        assert_int_equal(outcome.kind, NP_OUTCOME_PLACED);
        assert_false(outcome.watched);
        record = find(f, "a");
        assert_non_null(record);
        assert_false(record->monitor.on);
}

static void test_monitor_supported_names_the_path_that_is_not_the_kernels(void **state)
{
        struct fixture *f = *state;
        struct np_diag diag = {};
        char missing[PATH_MAX];

        assert_int_equal(np_monitor_sysfs_supported(f->sysfs, &diag), -EOPNOTSUPP);
        assert_non_null(strstr(diag.message, f->sysfs));
        assert_non_null(strstr(diag.message, "not a sysfs mount"));
        diag = (struct np_diag){};
        assert_int_equal(np_monitor_cgroup_supported(f->cgroup, &diag), -EOPNOTSUPP);
        assert_non_null(strstr(diag.message, f->cgroup));
        assert_non_null(strstr(diag.message, "not a kernel cgroup"));
        diag = (struct np_diag){};
        np_test_path(missing, sizeof(missing), f->dir, "no-such-cgroup");
        assert_int_equal(np_monitor_cgroup_supported(missing, &diag), -ENOENT);
        assert_non_null(strstr(diag.message, missing));
        /* this machine's own: sysfs, and the cgroup2 root or the v1 cpuset hierarchy */
        if (np_monitor_sysfs_supported("/sys", NULL) < 0)
                skip();
        if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
                assert_int_equal(np_monitor_cgroup_supported("/sys/fs/cgroup", NULL), 0);
        else if (access("/sys/fs/cgroup/cpuset", F_OK) == 0)
                assert_int_equal(np_monitor_cgroup_supported("/sys/fs/cgroup/cpuset", NULL), 0);
}

static void test_context_set_config_applies_a_later_config(void **state)
{
        struct fixture *f = *state;
        struct np_diag diag = {};
        static const char text[] = "{\"default_policy\": \"bind\"}";

        assert_int_equal(f->context->config.default_policy, NP_POLICY_NONE);
        assert_int_equal(np_context_set_config(f->context, text, strlen(text), "test", &diag), 0);
        assert_int_equal(f->context->config.default_policy, NP_POLICY_BIND);
        /* the flags still win */
        assert_string_equal(f->context->state_dir, f->state);
        assert_int_equal(np_context_set_config(f->context, "{\"x\": 1}", 8, "test", &diag), -EINVAL);
        assert_int_equal(f->context->config.default_policy, NP_POLICY_BIND); /* a bad one changes nothing */
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                TEST(test_lifecycle_place_records_the_container_and_its_cgroup),
                TEST(test_lifecycle_place_keeps_the_kubernetes_names_for_metrics),
                TEST(test_lifecycle_counts_placements_by_result_for_its_source),
                TEST(test_lifecycle_place_again_keeps_the_first_placement),
                TEST(test_lifecycle_unannotated_container_is_protected_and_recorded),
                TEST(test_lifecycle_unannotated_ignore_touches_no_state),
                TEST(test_lifecycle_protect_unrecorded_keeps_no_record),
                TEST(test_lifecycle_plan_decides_without_recording),
                TEST(test_lifecycle_exclusive_cpus_move_shared_containers_off_as_updates),
                TEST(test_lifecycle_a_held_placement_keeps_the_lock_until_the_batch_ends),
                TEST(test_lifecycle_a_held_placement_says_when_it_holds_the_lock),
                TEST(test_lifecycle_refuses_exclusive_cpus_that_leave_a_shared_container_none),
                TEST(test_lifecycle_nri_plugin_leaves_its_own_containers_cgroups_to_the_runtime),
                TEST(test_lifecycle_any_next_verb_repairs_a_repin_cut_short),
                TEST(test_lifecycle_rerun_of_a_placed_container_repins_from_the_cgroups),
                TEST(test_lifecycle_a_failed_repin_stays_pending),
                TEST(test_lifecycle_release_gives_exclusive_cpus_back),
                TEST(test_lifecycle_pod_scope_keeps_a_pod_on_its_first_containers_nodes),
                TEST(test_lifecycle_release_of_a_shared_container_repins_no_one),
                TEST(test_lifecycle_abort_undoes_a_fresh_placement),
                TEST(test_lifecycle_place_again_repins_what_an_interrupted_run_left),
                TEST(test_lifecycle_every_verb_reclaims_containers_that_are_gone),
                TEST(test_lifecycle_a_hook_looks_for_gone_containers_once_an_interval_unless_short_of_cpus),
                TEST(test_lifecycle_container_annotations_win_over_the_pods_and_foreign_keys_are_ignored),
                TEST(test_lifecycle_started_records_pid_and_cgroup_of_an_nri_container),
                TEST(test_lifecycle_adopt_counts_a_container_from_its_cpuset),
                TEST(test_lifecycle_memory_policies_need_a_front_end_that_carries_them),
                TEST(test_lifecycle_refuses_an_invalid_container_id),
                TEST(test_lifecycle_kubelets_static_assignments_are_kept_out_and_left_to_kubelet),
                TEST(test_context_settings_resolve_flag_then_environment_then_config),
                TEST(test_context_refuses_a_relative_state_dir_and_a_missing_given_config),
                TEST(test_context_refuses_a_root_longer_than_path_max),
                TEST(test_context_knows_a_fixture_tree_is_not_the_running_kernel),
                TEST(test_context_with_the_real_sysfs_but_a_fixture_cgroup_root_does_not_monitor),
                TEST(test_monitor_supported_names_the_path_that_is_not_the_kernels),
                TEST(test_context_set_config_applies_a_later_config),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
