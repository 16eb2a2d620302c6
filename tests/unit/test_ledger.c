// SPDX-License-Identifier: MIT
/* The allocation ledger in a private state dir: records put, found, removed,
 * persisted and summed; reclaim of dead containers; refusals of corrupt records
 * and bad ids; and 16 concurrent processes that must never share a CPU. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../core/config.h"
#include "../../core/context.h"
#include "../../core/ledger.h"
#include "../../core/policy.h"
#include "helpers.h"

#define GIB (UINT64_C(1) << 30)

struct state_dir {
        char tmp[4096];
        char path[4096];    /* <tmp>/state, not created yet */
        char records[4096]; /* <tmp>/state/containers */
};

static int state_dir_setup(void **state)
{
        struct state_dir *dir = calloc(1, sizeof(*dir));

        assert_non_null(dir);
        np_test_mkdtemp(dir->tmp, sizeof(dir->tmp));
        np_test_path(dir->path, sizeof(dir->path), dir->tmp, "state");
        np_test_path(dir->records, sizeof(dir->records), dir->path, "containers");
        *state = dir;
        return 0;
}

static int state_dir_teardown(void **state)
{
        struct state_dir *dir = *state;

        np_test_rmtree(dir->tmp);
        free(dir);
        return 0;
}

static struct np_ledger *open_ledger(const struct state_dir *dir, bool exclusive)
{
        struct np_ledger *ledger = NULL;
        struct np_diag diag = {};

        if (np_ledger_open(dir->path, exclusive, &diag, &ledger) < 0)
                fail_msg("np_ledger_open(%s): %s", dir->path, diag.message);
        return ledger;
}

/* A record with every field set to something other than its zero value. */
static struct np_record full_record(const char *id)
{
        struct np_record record = {
                .policy = NP_POLICY_BIND,
                .nodes = np_test_cpulist("1"),
                .cpus = np_test_cpulist("8-9,24-25"),
                .mems = np_test_cpulist("1"),
                .exclusive_cpus = np_test_cpulist("8-9,24-25"),
                .write_mems = true,
                .demand = { .cpu_millis = 4000, .memory_bytes = 3 * GIB },
                .pid = 4242,
                .created = 1732450000,
        };

        snprintf(record.id, sizeof(record.id), "%s", id);
        snprintf(record.cgroup, sizeof(record.cgroup), "/sys/fs/cgroup/kubepods.slice/cri-containerd-%s.scope", id);
        record.source = NP_SOURCE_HOOK;
        return record;
}

/* A shared record (no exclusive CPUs) of `policy` on `nodes`. */
static struct np_record shared_record(const char *id, enum np_policy policy, const char *nodes, uint64_t cpu_millis,
                                      uint64_t memory_bytes)
{
        struct np_record record = {
                .policy = policy,
                .nodes = np_test_cpulist(nodes),
                .demand = { .cpu_millis = cpu_millis, .memory_bytes = memory_bytes },
        };

        snprintf(record.id, sizeof(record.id), "%s", id);
        record.source = NP_SOURCE_PLAN;
        return record;
}

static void assert_records_equal(const struct np_record *a, const struct np_record *b)
{
        assert_string_equal(a->id, b->id);
        assert_int_equal(a->policy, b->policy);
        assert_true(np_cpulist_equal(&a->nodes, &b->nodes));
        assert_true(np_cpulist_equal(&a->cpus, &b->cpus));
        assert_true(np_cpulist_equal(&a->mems, &b->mems));
        assert_true(np_cpulist_equal(&a->exclusive_cpus, &b->exclusive_cpus));
        assert_int_equal(a->write_mems, b->write_mems);
        assert_int_equal(a->demand.cpu_millis, b->demand.cpu_millis);
        assert_int_equal(a->demand.memory_bytes, b->demand.memory_bytes);
        assert_string_equal(a->cgroup, b->cgroup);
        assert_int_equal(a->pid, b->pid);
        assert_int_equal(a->created, b->created);
        assert_int_equal(a->source, b->source);
        assert_int_equal(a->monitor.on, b->monitor.on);
        assert_int_equal(a->monitor.slot, b->monitor.slot);
        assert_int_equal(a->monitor.cgroup_id, b->monitor.cgroup_id);
        assert_string_equal(a->monitor.dir, b->monitor.dir);
}

static void put_ok(struct np_ledger *ledger, const struct np_record *record)
{
        int r = np_ledger_put(ledger, record);

        if (r < 0)
                fail_msg("np_ledger_put(%s): %s", record->id, strerror(-r));
}

static bool file_exists(const char *dir, const char *name)
{
        char path[4096];
        struct stat st;

        return lstat(np_test_path(path, sizeof(path), dir, name), &st) == 0;
}

/* A pid that certainly belongs to no process any more: a child, reaped. */
/* The record at `index` in id order. */
static const struct np_record *record_at(const struct np_ledger *ledger, size_t index)
{
        const struct np_record *record = np_ledger_next(ledger, NULL);

        while (record && index-- > 0)
                record = np_ledger_next(ledger, record);
        assert_non_null(record);
        return record;
}

static void test_ledger_open_creates_the_state_dir(void **state)
{
        struct state_dir *dir = *state;
        _cleanup_ledger_ struct np_ledger *ledger = open_ledger(dir, true);
        struct stat st;

        assert_int_equal(stat(dir->path, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(stat(dir->records, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_true(file_exists(dir->path, "lock"));
        assert_int_equal(np_ledger_count(ledger), 0);
}

static void test_ledger_exclusive_open_removes_temporary_files_of_killed_writers(void **state)
{
        struct state_dir *dir = *state;
        char path[4096];

        np_ledger_close(open_ledger(dir, true));
        np_test_write_file(np_test_path(path, sizeof(path), dir->records, ".c1.json.numapin-999999.tmp"), "{\"id\"");
        np_ledger_close(open_ledger(dir, false)); /* a reader leaves it: a writer may be at work */
        assert_true(file_exists(dir->records, ".c1.json.numapin-999999.tmp"));
        np_ledger_close(open_ledger(dir, true));
        assert_false(file_exists(dir->records, ".c1.json.numapin-999999.tmp"));
}

static void test_ledger_shared_open_of_a_missing_state_dir_is_empty_and_creates_nothing(void **state)
{
        struct state_dir *dir = *state;
        _cleanup_ledger_ struct np_ledger *ledger = NULL;
        struct np_diag diag = {};
        struct stat st;

        assert_int_equal(np_ledger_open(dir->path, false, &diag, &ledger), 0);
        assert_int_equal(np_ledger_count(ledger), 0);
        assert_null(np_ledger_next(ledger, NULL));
        assert_int_equal(np_ledger_relock(ledger, &diag), 0);
        assert_int_equal(stat(dir->path, &st), -1);
}

/* what systemd's RuntimeDirectory= and a DirectoryOrCreate hostPath leave
 * before the first container: the folder, nothing in it */
static void test_ledger_shared_open_of_an_empty_state_dir_is_empty(void **state)
{
        struct state_dir *dir = *state;
        _cleanup_ledger_ struct np_ledger *ledger = NULL;
        struct np_diag diag = {};

        assert_int_equal(mkdir(dir->path, 0755), 0);
        assert_int_equal(np_ledger_open(dir->path, false, &diag, &ledger), 0);
        assert_int_equal(np_ledger_count(ledger), 0);
        assert_false(file_exists(dir->path, "lock"));
        /* a change still needs the exclusive open, which makes the ledger */
        assert_int_equal(np_ledger_remove(ledger, "x"), -EPERM);
}

static void test_ledger_refuses_a_relative_state_dir(void **state)
{
        struct np_ledger *ledger = NULL;
        struct np_diag diag = {};

        assert_int_equal(np_ledger_open("run/numapin", true, &diag, &ledger), -EINVAL);
        assert_non_null(strstr(diag.message, "'run/numapin': expected an absolute path"));
        assert_null(ledger);
}

static void test_ledger_put_find_and_remove_a_record(void **state)
{
        struct state_dir *dir = *state;
        _cleanup_ledger_ struct np_ledger *ledger = open_ledger(dir, true);
        struct np_record record = full_record("abc123");

        assert_null(np_ledger_find(ledger, "abc123"));
        put_ok(ledger, &record);
        assert_int_equal(np_ledger_count(ledger), 1);
        assert_non_null(np_ledger_find(ledger, "abc123"));
        assert_records_equal(np_ledger_find(ledger, "abc123"), &record);
        assert_true(file_exists(dir->records, "abc123.json"));

        assert_int_equal(np_ledger_remove(ledger, "abc123"), 0);
        assert_null(np_ledger_find(ledger, "abc123"));
        assert_int_equal(np_ledger_count(ledger), 0);
        assert_false(file_exists(dir->records, "abc123.json"));
        assert_int_equal(np_ledger_remove(ledger, "abc123"), -ENOENT);
}

static void test_ledger_put_replaces_the_record_with_the_same_id(void **state)
{
        struct state_dir *dir = *state;
        _cleanup_ledger_ struct np_ledger *ledger = open_ledger(dir, true);
        struct np_record first = full_record("ctr"), second = full_record("ctr");

        second.cpus = second.exclusive_cpus = np_test_cpulist("3");
        second.pid = 7;
        put_ok(ledger, &first);
        put_ok(ledger, &second);
        assert_int_equal(np_ledger_count(ledger), 1);
        assert_records_equal(np_ledger_find(ledger, "ctr"), &second);
        np_ledger_close(TAKE_PTR(ledger));

        ledger = open_ledger(dir, false);
        assert_int_equal(np_ledger_count(ledger), 1);
        assert_records_equal(np_ledger_find(ledger, "ctr"), &second);
}

static void test_ledger_keeps_every_field_of_a_record_in_memory(void **state)
{
        struct state_dir *dir = *state;
        _cleanup_ledger_ struct np_ledger *ledger = open_ledger(dir, true);
        struct np_record wide = full_record("wide"), found;

        wide.nodes = np_test_cpulist("0,63");
        wide.cpus = np_test_cpulist("0-8191");
        wide.exclusive_cpus = np_test_cpulist("8100-8191");
        wide.mems = (struct np_cpulist){};
        memset(wide.cgroup, 'c', sizeof(wide.cgroup) - 1);
        wide.cgroup[0] = '/';
        wide.cgroup[sizeof(wide.cgroup) - 1] = '\0';
        snprintf(wide.names.namespace, sizeof(wide.names.namespace), "kube-system");
        snprintf(wide.names.pod, sizeof(wide.names.pod), "etcd-0");
        snprintf(wide.names.container, sizeof(wide.names.container), "etcd");
        snprintf(wide.pod_scope, sizeof(wide.pod_scope), "sandbox-1");
        wide.monitor = (struct np_record_monitor){ .on = true, .slot = 9, .cgroup_id = 1ull << 40 };
        snprintf(wide.monitor.dir, sizeof(wide.monitor.dir), "/sys/fs/bpf/numapin");
        put_ok(ledger, &wide);
        found = *np_ledger_find(ledger, "wide");
        assert_records_equal(&found, &wide);
        assert_string_equal(found.names.namespace, "kube-system");
        assert_string_equal(found.names.pod, "etcd-0");
        assert_string_equal(found.names.container, "etcd");
        assert_string_equal(found.pod_scope, "sandbox-1");
        assert_true(np_cpulist_empty(&found.mems));
}

static void test_ledger_find_inside_an_iteration_leaves_the_iteration_alone(void **state)
{
        struct state_dir *dir = *state;
        _cleanup_ledger_ struct np_ledger *ledger = open_ledger(dir, true);
        struct np_record a = full_record("a"), b = shared_record("b", NP_POLICY_BIND, "0", 0, 0);
        const struct np_record *first;
        size_t seen = 0;

        put_ok(ledger, &a);
        put_ok(ledger, &b);
        for (const struct np_record *r = np_ledger_next(ledger, NULL); r; r = np_ledger_next(ledger, r)) {
                const struct np_record *found = np_ledger_find(ledger, "a");

                assert_non_null(found);
                assert_records_equal(found, &a);
                assert_string_equal(r->id, seen == 0 ? "a" : "b");
                seen++;
        }
        assert_int_equal(seen, 2);
        first = np_ledger_next(ledger, NULL);
        assert_non_null(np_ledger_find(ledger, "b"));
        assert_records_equal(first, &a); /* np_ledger_find() has its own slot */
}

static void test_ledger_put_leaves_no_temporary_file(void **state)
{
        struct state_dir *dir = *state;
        _cleanup_ledger_ struct np_ledger *ledger = open_ledger(dir, true);
        struct np_record record = full_record("ctr");

        put_ok(ledger, &record);
        record.pid = 5;
        put_ok(ledger, &record);
        assert_true(file_exists(dir->records, "ctr.json"));
        assert_false(file_exists(dir->records, ".ctr.json.numapin.tmp"));
}

/* What the state dir holds of a record is json-c's pretty text of
 * np_record_to_json(), written without json-c: the same bytes for every shape
 * of record, strings that need escaping included. */
static void test_ledger_record_text_is_json_c_text_of_the_record(void **state)
{
        struct np_record records[6];
        /* every byte json-c escapes, a slash it leaves, UTF-8 and DEL as they are */
        static const char hostile[] = "/sys/fs/cgroup/a\"b\\c\b\f\n\r\t\x01\x1f/\x7f\xc3\xa9";

        records[0] = full_record("a");
        records[1] = shared_record("b", NP_POLICY_CPUS_ONLY, "0-1", 0, 0);
        records[2] = full_record("c");
        snprintf(records[2].cgroup, sizeof(records[2].cgroup), "%s", hostile);
        snprintf(records[2].names.namespace, sizeof(records[2].names.namespace), "kube-system");
        snprintf(records[2].names.pod, sizeof(records[2].names.pod), "coredns-5d78c9869d-x2x7b");
        snprintf(records[2].names.container, sizeof(records[2].names.container), "coredns");
        snprintf(records[2].pod_scope, sizeof(records[2].pod_scope), "pod-sandbox-1");
        records[2].monitor = (struct np_record_monitor){ .on = true, .slot = 4095, .cgroup_id = UINT64_MAX };
        snprintf(records[2].monitor.dir, sizeof(records[2].monitor.dir), "/sys/fs/bpf/numapin/0123456789abcdef");
        records[3] = full_record("d");
        snprintf(records[3].names.container, sizeof(records[3].names.container), "only-a-name");
        records[3].pid = -1;
        records[3].created = INT64_MIN;
        records[3].demand.memory_bytes = UINT64_MAX; /* json-c writes it as the int64 it is cast to */
        records[4] = full_record("e");
        records[4].nodes = np_test_cpulist("0-1023");
        records[4].cpus = np_test_cpulist("0,2,4,6,8,8190-8191");
        records[5] = full_record("f"); /* lists longer than the text's stack buffer */
        np_cpulist_zero(&records[5].cpus);
        for (unsigned int cpu = 0; cpu < 2048; cpu += 2)
                np_cpulist_set(&records[5].cpus, cpu);
        records[5].exclusive_cpus = records[5].cpus;
        for (size_t i = 0; i < ARRAY_SIZE(records); i++) {
                _cleanup_json_ struct json_object *obj = NULL;
                _cleanup_free_ char *expected = NULL, *text = NULL;
                size_t expected_size, size;

                assert_int_equal(np_record_to_json(&records[i], &obj), 0);
                assert_int_equal(np_json_to_string(obj, &expected, &expected_size), 0);
                assert_int_equal(np_record_to_text(&records[i], &text, &size), 0);
                assert_string_equal(text, expected);
                assert_int_equal(size, expected_size);
        }
}

static void test_ledger_records_persist_across_close_and_open(void **state)
{
        struct state_dir *dir = *state;
        struct np_ledger *ledger = open_ledger(dir, true);
        struct np_record hook = full_record("zeta-1"), many = full_record("mid.3+x");
        struct np_record plan = shared_record("alpha_2", NP_POLICY_CPUS_ONLY, "0-1", 0, 0);

        plan.cpus = np_test_cpulist("0-31");
        plan.mems = np_test_cpulist("0-1");
        many.policy = NP_POLICY_INTERLEAVE;
        many.nodes = np_test_cpulist("0,2,4-7");
        many.cpus = np_test_cpulist("0-1023");
        many.exclusive_cpus = np_test_cpulist("");
        many.write_mems = false;
        many.demand.memory_bytes = UINT64_C(1) << 50;
        many.source = NP_SOURCE_NRI;
        hook.monitor = (struct np_record_monitor){ .on = true, .slot = 1023, .cgroup_id = UINT64_MAX - 1 };
        snprintf(hook.monitor.dir, sizeof(hook.monitor.dir), "/sys/fs/bpf/numapin/0123456789abcdef");
        put_ok(ledger, &hook);
        put_ok(ledger, &plan);
        put_ok(ledger, &many);
        np_ledger_close(ledger);

        ledger = open_ledger(dir, false);
        assert_int_equal(np_ledger_count(ledger), 3);
        /* records come back sorted by id */
        assert_string_equal(record_at(ledger, 0)->id, "alpha_2");
        assert_string_equal(record_at(ledger, 1)->id, "mid.3+x");
        assert_string_equal(record_at(ledger, 2)->id, "zeta-1");
        assert_records_equal(np_ledger_find(ledger, "zeta-1"), &hook);
        assert_records_equal(np_ledger_find(ledger, "alpha_2"), &plan);
        assert_records_equal(np_ledger_find(ledger, "mid.3+x"), &many);
        np_ledger_close(ledger);
}

static void test_ledger_usage_sums_every_record(void **state)
{
        struct state_dir *dir = *state;
        _cleanup_ledger_ struct np_ledger *ledger = open_ledger(dir, true);
        struct np_record exclusive = full_record("exclusive");
        struct np_record shared1 = shared_record("shared-1", NP_POLICY_BIND, "1", 1500, 2 * GIB);
        struct np_record shared01 = shared_record("shared-01", NP_POLICY_BIND, "0-1", 2000, 4 * GIB);
        struct np_record cpus_only = shared_record("cpus-only", NP_POLICY_CPUS_ONLY, "0", 500, 8 * GIB);
        struct np_usage usage;

        exclusive.nodes = np_test_cpulist("0");
        exclusive.cpus = exclusive.exclusive_cpus = np_test_cpulist("0-1,16-17");
        exclusive.demand = (struct np_demand){ .cpu_millis = 4000, .memory_bytes = 1 * GIB };
        put_ok(ledger, &exclusive);
        put_ok(ledger, &shared1);
        put_ok(ledger, &shared01);
        put_ok(ledger, &cpus_only);

        usage = *np_ledger_usage(ledger);
        assert_int_equal(usage.containers, 4);
        assert_cpulist_equal(&usage.exclusive_cpus, "0-1,16-17");
        /* exclusive CPUs are not shared demand; a demand on two nodes is split */
        assert_int_equal(usage.nodes[0].shared_cpu_millis, 1000 + 500);
        assert_int_equal(usage.nodes[1].shared_cpu_millis, 1500 + 1000);
        /* cpus-only containers hold no memory */
        assert_int_equal(usage.nodes[0].memory_bytes, 1 * GIB + 2 * GIB);
        assert_int_equal(usage.nodes[1].memory_bytes, 2 * GIB + 2 * GIB);
        assert_int_equal(usage.nodes[2].memory_bytes, 0);
}

static void test_ledger_reclaim_drops_only_records_of_gone_containers(void **state)
{
        struct state_dir *dir = *state;
        _cleanup_ledger_ struct np_ledger *ledger = open_ledger(dir, true);
        struct np_record gone = full_record("gone"), cgroup_left = full_record("cgroup-left");
        struct np_record alive = full_record("alive"), plan = shared_record("plan", NP_POLICY_BIND, "0", 0, 0);
        size_t reclaimed = 99;
        char live_cgroup[4096];

        /* dead pid, cgroup folder gone */
        gone.pid = np_test_dead_pid();
        np_test_path(gone.cgroup, sizeof(gone.cgroup), dir->tmp, "cgroup-of-gone");
        /* dead pid, but its cgroup folder is still there */
        cgroup_left.pid = np_test_dead_pid();
        np_test_path(live_cgroup, sizeof(live_cgroup), dir->tmp, "cgroup-left");
        assert_int_equal(mkdir(live_cgroup, 0755), 0);
        snprintf(cgroup_left.cgroup, sizeof(cgroup_left.cgroup), "%s", live_cgroup);
        /* a live pid (this test), cgroup folder gone */
        alive.pid = getpid();
        np_test_path(alive.cgroup, sizeof(alive.cgroup), dir->tmp, "cgroup-of-alive");
        /* a plan record: no pid, no cgroup */
        put_ok(ledger, &gone);
        put_ok(ledger, &cgroup_left);
        put_ok(ledger, &alive);
        put_ok(ledger, &plan);

        assert_int_equal(np_ledger_reclaim(ledger, NULL, &reclaimed), 0);
        assert_int_equal(reclaimed, 1);
        assert_null(np_ledger_find(ledger, "gone"));
        assert_false(file_exists(dir->records, "gone.json"));
        assert_non_null(np_ledger_find(ledger, "cgroup-left"));
        assert_non_null(np_ledger_find(ledger, "alive"));
        assert_non_null(np_ledger_find(ledger, "plan"));
        assert_int_equal(np_ledger_count(ledger), 3);

        /* once the cgroup folder goes too, so does the record */
        assert_int_equal(rmdir(live_cgroup), 0);
        assert_int_equal(np_ledger_reclaim(ledger, NULL, &reclaimed), 0);
        assert_int_equal(reclaimed, 1);
        assert_null(np_ledger_find(ledger, "cgroup-left"));
        assert_int_equal(np_ledger_count(ledger), 2);
}

static void test_ledger_corrupt_record_fails_open_naming_the_file(void **state)
{
        struct state_dir *dir = *state;
        struct np_ledger *ledger = open_ledger(dir, true);
        struct np_record record = full_record("good");
        struct np_diag diag = {};
        char path[4096];

        put_ok(ledger, &record);
        np_ledger_close(ledger);
        ledger = NULL;
        np_test_write_file(np_test_path(path, sizeof(path), dir->records, "broken.json"), "{\"id\": \"broken\", ");

        assert_int_equal(np_ledger_open(dir->path, true, &diag, &ledger), -EINVAL);
        assert_null(ledger);
        assert_non_null(strstr(diag.message, path));
        assert_non_null(strstr(diag.message, "numapinctl release"));

        /* a record of valid JSON whose cpus are not a list */
        np_test_write_file(path, "{\"id\": \"broken\", \"policy\": \"bind\", \"nodes\": \"0\", \"cpus\": \"3-1\", "
                                 "\"mems\": \"0\", \"exclusive_cpus\": \"\"}");
        memset(&diag, 0, sizeof(diag));
        assert_int_equal(np_ledger_open(dir->path, false, &diag, &ledger), -EINVAL);
        assert_non_null(strstr(diag.message, path));
        assert_non_null(strstr(diag.message, "'cpus'"));

        /* a monitor field without its slot, or with a relative pin dir */
        np_test_write_file(path, "{\"id\": \"broken\", \"policy\": \"bind\", \"nodes\": \"0\", \"cpus\": \"1\", "
                                 "\"mems\": \"0\", \"exclusive_cpus\": \"\", \"monitor\": {\"cgroup_id\": 5, "
                                 "\"dir\": \"/sys/fs/bpf/numapin/x\"}}");
        memset(&diag, 0, sizeof(diag));
        assert_int_equal(np_ledger_open(dir->path, false, &diag, &ledger), -EINVAL);
        assert_non_null(strstr(diag.message, "field 'monitor' needs slot, cgroup_id and dir"));
        np_test_write_file(path, "{\"id\": \"broken\", \"policy\": \"bind\", \"nodes\": \"0\", \"cpus\": \"1\", "
                                 "\"mems\": \"0\", \"exclusive_cpus\": \"\", \"monitor\": {\"slot\": 1, "
                                 "\"cgroup_id\": 5, \"dir\": \"bpf/x\"}}");
        memset(&diag, 0, sizeof(diag));
        assert_int_equal(np_ledger_open(dir->path, false, &diag, &ledger), -EINVAL);
        assert_non_null(strstr(diag.message, "'monitor'"));
}

static void test_ledger_record_under_another_file_name_is_refused(void **state)
{
        struct state_dir *dir = *state;
        struct np_ledger *ledger = open_ledger(dir, true);
        struct np_record record = full_record("real-id");
        struct np_diag diag = {};
        char from[4096], to[4096];

        put_ok(ledger, &record);
        np_ledger_close(ledger);
        ledger = NULL;
        assert_int_equal(rename(np_test_path(from, sizeof(from), dir->records, "real-id.json"),
                                np_test_path(to, sizeof(to), dir->records, "other-id.json")),
                         0);
        assert_int_equal(np_ledger_open(dir->path, true, &diag, &ledger), -EINVAL);
        assert_non_null(strstr(diag.message, to));
        assert_non_null(strstr(diag.message, "does not match its file name"));
}

static void test_ledger_ignores_leftover_temporary_files(void **state)
{
        struct state_dir *dir = *state;
        struct np_ledger *ledger = open_ledger(dir, true);
        char path[4096];

        np_ledger_close(ledger);
        np_test_write_file(np_test_path(path, sizeof(path), dir->records, ".x.json.numapin-1.tmp"), "{\"id\": ");
        np_test_write_file(np_test_path(path, sizeof(path), dir->records, "README"), "not a record");

        ledger = open_ledger(dir, true);
        assert_int_equal(np_ledger_count(ledger), 0);
        np_ledger_close(ledger);
}

static void test_ledger_refuses_invalid_container_ids(void **state)
{
        struct state_dir *dir = *state;
        _cleanup_ledger_ struct np_ledger *ledger = open_ledger(dir, true);
        static const char *const invalid[] = { "", ".hidden", "a/b", "../x", "a b", "a\nb", "ctr:1", "é" };
        char longest[NP_ID_MAX + 2];

        assert_true(np_id_valid("abc-DEF_1.2+3"));
        assert_true(np_id_valid("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
        memset(longest, 'a', NP_ID_MAX);
        longest[NP_ID_MAX] = '\0';
        assert_true(np_id_valid(longest));
        longest[NP_ID_MAX] = 'a';
        longest[NP_ID_MAX + 1] = '\0';
        assert_false(np_id_valid(longest));
        assert_null(np_ledger_find(ledger, longest));

        for (size_t i = 0; i < ARRAY_SIZE(invalid); i++) {
                struct np_record record = full_record("placeholder");

                assert_false(np_id_valid(invalid[i]));
                snprintf(record.id, sizeof(record.id), "%s", invalid[i]);
                assert_int_equal(np_ledger_put(ledger, &record), -EINVAL);
        }
        assert_int_equal(np_ledger_count(ledger), 0);
        assert_int_equal(np_test_count_entries(dir->records), 0);
}

static void test_ledger_shared_open_refuses_changes(void **state)
{
        struct state_dir *dir = *state;
        struct np_ledger *ledger = open_ledger(dir, true);
        struct np_record record = full_record("ctr");
        size_t reclaimed;

        put_ok(ledger, &record);
        np_ledger_close(ledger);

        ledger = open_ledger(dir, false);
        record.pid = 1;
        assert_int_equal(np_ledger_put(ledger, &record), -EPERM);
        assert_int_equal(np_ledger_remove(ledger, "ctr"), -EPERM);
        assert_int_equal(np_ledger_reclaim(ledger, NULL, &reclaimed), -EPERM);
        assert_int_equal(np_ledger_count(ledger), 1);
        assert_int_equal(np_ledger_find(ledger, "ctr")->pid, 4242);
        assert_true(file_exists(dir->records, "ctr.json"));
        np_ledger_close(ledger);
}

static void test_ledger_record_from_placement_copies_the_placement(void **state)
{
        struct np_placement placement = {
                .policy = NP_POLICY_BIND,
                .nodes = np_test_cpulist("1"),
                .cpus = np_test_cpulist("8,24"),
                .mems = np_test_cpulist("1"),
                .exclusive_cpus = np_test_cpulist("8,24"),
                .write_mems = true,
                .demand = { .cpu_millis = 2000, .memory_bytes = GIB },
        };
        struct np_record record;
        time_t before = time(NULL);

        np_record_from_placement(&record, "ctr-9", &placement, NP_SOURCE_NRI);
        assert_string_equal(record.id, "ctr-9");
        assert_int_equal(record.policy, NP_POLICY_BIND);
        assert_cpulist_equal(&record.nodes, "1");
        assert_cpulist_equal(&record.cpus, "8,24");
        assert_cpulist_equal(&record.mems, "1");
        assert_cpulist_equal(&record.exclusive_cpus, "8,24");
        assert_true(record.write_mems);
        assert_int_equal(record.demand.cpu_millis, 2000);
        assert_int_equal(record.demand.memory_bytes, GIB);
        assert_int_equal(record.source, NP_SOURCE_NRI);
        assert_string_equal(record.cgroup, "");
        assert_int_equal(record.pid, 0);
        assert_true(record.created >= before && record.created <= time(NULL));
}

#define CONCURRENT_HOOKS 16

/* One hook: lock the ledger, place one exclusive CPU against what is held, record it. */
static int concurrent_hook(const struct state_dir *dir, const struct np_topology *topology, unsigned int index)
{
        struct np_request request = {
                .policy = NP_POLICY_BIND,
                .annotated = true,
                .nodes_auto = true,
                .exclusive_cpus = 1,
        };
        struct np_ledger *ledger = NULL;
        struct np_config config;
        struct np_usage usage;
        struct np_demand demand = {};
        struct np_placement placement;
        struct np_record record;
        char id[32];
        int r;

        np_config_init(&config);
        r = np_ledger_open(dir->path, true, NULL, &ledger);
        if (r < 0)
                return 1;
        usage = *np_ledger_usage(ledger);
        r = np_policy_place(topology, &config, &usage, &request, &demand, 0, NULL, &placement);
        if (r == 0) {
                /* widen the window between reading the usage and writing the record */
                usleep(2000);
                snprintf(id, sizeof(id), "ctr-%02u", index);
                np_record_from_placement(&record, id, &placement, NP_SOURCE_HOOK);
                r = np_ledger_put(ledger, &record);
        }
        np_ledger_close(ledger);
        return r == 0 ? 0 : 2;
}

static void test_ledger_concurrent_hooks_never_share_an_exclusive_cpu(void **state)
{
        struct state_dir *dir = *state;
        _cleanup_topology_ struct np_topology *topology = np_test_load_topology("2socket-smt");
        struct np_ledger *ledger;
        struct np_cpulist held = {};
        pid_t children[CONCURRENT_HOOKS];
        int start[2];

        /* the state dir exists before the race, as on a running node */
        np_ledger_close(open_ledger(dir, true));
        assert_int_equal(pipe(start), 0);
        for (unsigned int i = 0; i < CONCURRENT_HOOKS; i++) {
                children[i] = fork();
                assert_true(children[i] >= 0);
                if (children[i] == 0) {
                        char go;

                        close(start[1]);
                        /* all children start together when the parent closes the pipe */
                        if (read(start[0], &go, 1) != 0)
                                _exit(3);
                        _exit(concurrent_hook(dir, topology, i));
                }
        }
        close(start[0]);
        close(start[1]);
        for (unsigned int i = 0; i < CONCURRENT_HOOKS; i++) {
                int status;

                assert_int_equal(waitpid(children[i], &status, 0), children[i]);
                assert_true(WIFEXITED(status));
                assert_int_equal(WEXITSTATUS(status), 0);
        }

        ledger = open_ledger(dir, false);
        assert_int_equal(np_ledger_count(ledger), CONCURRENT_HOOKS);
        for (const struct np_record *record = np_ledger_next(ledger, NULL); record;
             record = np_ledger_next(ledger, record)) {

                assert_int_equal(np_cpulist_count(&record->exclusive_cpus), 1);
                if (np_cpulist_intersects(&held, &record->exclusive_cpus))
                        fail_msg("record %s holds CPU %d, which another record holds too", record->id,
                                 np_cpulist_next(&record->exclusive_cpus, 0));
                np_cpulist_or(&held, &record->exclusive_cpus);
        }
        assert_int_equal(np_cpulist_count(&held), CONCURRENT_HOOKS);
        np_ledger_close(ledger);
}

/* The NRI plugin keeps its ledger loaded between calls: relock reloads it
 * exactly when another process changed the state dir meanwhile. */
static void test_ledger_relock_reloads_only_after_another_process_changed_it(void **state)
{
        struct state_dir *dir = *state;
        _cleanup_ledger_ struct np_ledger *kept = open_ledger(dir, true);
        struct np_record own = full_record("own"), other = full_record("other"), inserted = full_record("mid");
        struct np_diag diag = {};

        put_ok(kept, &own);
        np_ledger_unlock(kept);
        assert_int_equal(np_ledger_put(kept, &own), -EPERM); /* changes need the lock */
        assert_int_equal(np_ledger_relock(kept, &diag), 0);  /* only its own change: kept as is */
        np_ledger_unlock(kept);

        {
                _cleanup_ledger_ struct np_ledger *hook = open_ledger(dir, true);
                put_ok(hook, &other);
        }
        assert_int_equal(np_ledger_relock(kept, &diag), 1);
        assert_int_equal(np_ledger_count(kept), 2);
        assert_records_equal(np_ledger_find(kept, "other"), &other);

        /* a record inserted between others keeps the order find() relies on */
        put_ok(kept, &inserted);
        assert_string_equal(record_at(kept, 0)->id, "mid");
        assert_string_equal(record_at(kept, 1)->id, "other");
        assert_string_equal(record_at(kept, 2)->id, "own");
        np_ledger_unlock(kept);

        {
                _cleanup_ledger_ struct np_ledger *hook = open_ledger(dir, true);
                assert_int_equal(np_ledger_remove(hook, "own"), 0);
        }
        assert_int_equal(np_ledger_relock(kept, &diag), 1);
        assert_int_equal(np_ledger_count(kept), 2);
        assert_null(np_ledger_find(kept, "own"));
}

/* The decision the hook and the NRI plugin share: a container placed before
 * gets its recorded placement back; a new one is placed around what the
 * records hold. */
static void test_ledger_place_reuses_a_record_and_places_around_the_others(void **state)
{
        struct state_dir *dir = *state;
        _cleanup_ledger_ struct np_ledger *ledger = open_ledger(dir, true);
        _cleanup_topology_ struct np_topology *topology = NULL;
        struct np_request request = { .policy = NP_POLICY_BIND, .nodes_auto = true, .exclusive_cpus = 4 };
        struct np_demand demand = {};
        struct np_placement first, again, second;
        struct np_usage usage;
        struct np_config config;
        struct np_record record;
        struct np_diag diag = {};
        char fixture[4096];

        np_config_init(&config);
        assert_int_equal(np_topology_load(np_test_fixture("2socket-smt", fixture, sizeof(fixture)), &diag, &topology),
                         0);
        assert_int_equal(np_ledger_place(ledger, topology, &config, "a", &request, &demand, 0, &diag, &first), 0);
        assert_int_equal(np_cpulist_count(&first.exclusive_cpus), 4);
        np_record_from_placement(&record, "a", &first, NP_SOURCE_NRI);
        put_ok(ledger, &record);

        assert_int_equal(np_ledger_place(ledger, topology, &config, "a", &request, &demand, 0, &diag, &again), 1);
        assert_true(np_cpulist_equal(&again.cpus, &first.cpus));
        assert_true(np_cpulist_equal(&again.mems, &first.mems));

        assert_int_equal(np_ledger_place(ledger, topology, &config, "b", &request, &demand, 0, &diag, &second), 0);
        assert_false(np_cpulist_intersects(&second.exclusive_cpus, &first.exclusive_cpus));

        /* the usage the ledger keeps follows additions and removals */
        np_record_from_placement(&record, "b", &second, NP_SOURCE_NRI);
        put_ok(ledger, &record);
        usage = *np_ledger_usage(ledger);
        assert_int_equal(usage.containers, 2);
        assert_int_equal(np_cpulist_count(&usage.exclusive_cpus), 8);
        assert_int_equal(np_ledger_remove(ledger, "a"), 0);
        usage = *np_ledger_usage(ledger);
        assert_int_equal(usage.containers, 1);
        assert_true(np_cpulist_equal(&usage.exclusive_cpus, &second.exclusive_cpus));
}

/* An exclusive container that would fill the node of a shared container goes to another node
 * that fits instead of being refused; named in the node list, it is still refused. */
static void test_ledger_place_keeps_exclusive_cpus_off_a_shared_containers_last_cpu(void **state)
{
        struct state_dir *dir = *state;
        _cleanup_ledger_ struct np_ledger *ledger = open_ledger(dir, true);
        _cleanup_topology_ struct np_topology *topology = NULL;
        struct np_request request = { .policy = NP_POLICY_BIND, .nodes_auto = true, .exclusive_cpus = 16 };
        struct np_record shared = shared_record("shared", NP_POLICY_BIND, "0", 0, 0);
        struct np_demand demand = {};
        struct np_placement placement;
        struct np_usage usage;
        struct np_config config;
        struct np_diag diag = {};
        char fixture[4096];

        np_config_init(&config);
        assert_int_equal(np_topology_load(np_test_fixture("2socket-smt", fixture, sizeof(fixture)), &diag, &topology),
                         0);
        /* no CPU demand: node 0, with 4 MiB more free memory, would be the freer */
        put_ok(ledger, &shared);
        usage = *np_ledger_usage(ledger);
        assert_int_equal(usage.nodes[0].shared_containers, 1);

        if (np_ledger_place(ledger, topology, &config, "big", &request, &demand, 0, &diag, &placement) < 0)
                fail_msg("refused: %s", diag.message);
        assert_cpulist_equal(&placement.nodes, "1");
        assert_int_equal(np_cpulist_count(&placement.exclusive_cpus), 16);
        assert_false(np_cpulist_intersects(&placement.cpus, &topology->nodes[0].cpus));

        request.nodes_auto = false;
        request.nodes = np_test_cpulist("0");
        assert_int_equal(np_ledger_place(ledger, topology, &config, "big", &request, &demand, 0, &diag, &placement),
                         -ENOSPC);
        assert_non_null(strstr(diag.message, "would leave shared container 'shared' (nodes 0) no CPU to run on"));

        /* the count follows the record out */
        assert_int_equal(np_ledger_remove(ledger, "shared"), 0);
        usage = *np_ledger_usage(ledger);
        assert_int_equal(usage.nodes[0].shared_containers, 0);
}

/* --- ledger.cache: the packed copy of the records --------------------------------- */

/* Puts `n` records c0..c<n-1>, each with an exclusive CPU of its own, and closes. */
static void put_records(const struct state_dir *dir, unsigned int n, struct np_record *ret_records)
{
        struct np_ledger *ledger = open_ledger(dir, true);

        for (unsigned int i = 0; i < n; i++) {
                char id[16], cpu[16];

                snprintf(id, sizeof(id), "c%u", i);
                snprintf(cpu, sizeof(cpu), "%u", i);
                ret_records[i] = full_record(id);
                ret_records[i].cpus = ret_records[i].exclusive_cpus = np_test_cpulist(cpu);
                put_ok(ledger, &ret_records[i]);
        }
        np_ledger_close(ledger);
}

/* Opens the ledger, checks it holds exactly `records`, and says where they came from. */
static bool open_and_check(const struct state_dir *dir, bool exclusive, const struct np_record *records, unsigned int n)
{
        struct np_ledger *ledger = open_ledger(dir, exclusive);
        bool from_cache = np_ledger_read_from_cache(ledger);

        assert_int_equal(np_ledger_count(ledger), n);
        for (unsigned int i = 0; i < n; i++) {
                const struct np_record *found = np_ledger_find(ledger, records[i].id);

                assert_non_null(found);
                assert_records_equal(found, &records[i]);
        }
        np_ledger_close(ledger);
        return from_cache;
}

/* The kernel stamps files at its tick: a hand edit a tick after the cache's write */
static void next_tick(void)
{
        struct timespec pause = { .tv_nsec = 20 * 1000 * 1000 };

        nanosleep(&pause, NULL);
}

static void test_ledger_cache_holds_a_copy_of_the_records(void **state)
{
        struct state_dir *dir = *state;
        struct np_record records[6];

        /* three records are read from their JSON: no cache is written */
        put_records(dir, 3, records);
        assert_false(file_exists(dir->path, "ledger.cache"));
        assert_false(open_and_check(dir, true, records, 3));

        put_records(dir, 6, records);
        assert_true(file_exists(dir->path, "ledger.cache"));
        assert_true(open_and_check(dir, false, records, 6));
        assert_true(open_and_check(dir, true, records, 6));

        /* a removal reaches the cache too */
        {
                _cleanup_ledger_ struct np_ledger *ledger = open_ledger(dir, true);
                assert_int_equal(np_ledger_remove(ledger, "c5"), 0);
        }
        assert_true(open_and_check(dir, false, records, 5));
}

/* A look for gone containers is kept in the cache: the next process knows the
 * records were looked at, and when; records read from their JSON never were. */
static void test_ledger_cache_says_when_its_records_were_last_reclaimed(void **state)
{
        struct state_dir *dir = *state;
        struct np_record records[6];
        struct np_ledger *ledger;
        char path[PATH_MAX];
        char *text;

        put_records(dir, 6, records);
        ledger = open_ledger(dir, true);
        assert_false(np_ledger_reclaimed_within(ledger, NP_RECLAIM_INTERVAL_NS));
        for (unsigned int i = 0; i < 6; i++) {
                records[i].pid = getpid(); /* alive: kept */
                put_ok(ledger, &records[i]);
        }
        assert_int_equal(np_ledger_reclaim(ledger, NULL, NULL), 0);
        assert_true(np_ledger_reclaimed_within(ledger, NP_RECLAIM_INTERVAL_NS));
        np_ledger_close(ledger);

        /* another process: from the cache, looked at a moment ago, not 1 ns ago */
        ledger = open_ledger(dir, true);
        assert_true(np_ledger_read_from_cache(ledger));
        assert_true(np_ledger_reclaimed_within(ledger, NP_RECLAIM_INTERVAL_NS));
        assert_false(np_ledger_reclaimed_within(ledger, 1));
        put_ok(ledger, &records[0]); /* a change carries the time on */
        np_ledger_close(ledger);
        ledger = open_ledger(dir, true);
        assert_true(np_ledger_reclaimed_within(ledger, NP_RECLAIM_INTERVAL_NS));
        np_ledger_close(ledger);

        /* a record edited by hand: read from the JSON, never looked at */
        next_tick();
        np_test_path(path, sizeof(path), dir->records, "c1.json");
        text = np_test_read_file(path);
        assert_non_null(text);
        np_test_write_file(path, text);
        free(text);
        ledger = open_ledger(dir, true);
        assert_false(np_ledger_read_from_cache(ledger));
        assert_false(np_ledger_reclaimed_within(ledger, NP_RECLAIM_INTERVAL_NS));
        np_ledger_close(ledger);
}

/* A process killed while it wrote the cache leaves its temporary file; a later
 * writer of a ledger too small for a cache removes it (a larger one reuses it). */
static void test_ledger_cache_temporary_file_of_a_killed_writer_goes(void **state)
{
        struct state_dir *dir = *state;
        struct np_record records[6];
        char path[PATH_MAX];

        put_records(dir, 6, records);
        np_test_write_file(np_test_path(path, sizeof(path), dir->path, ".ledger.cache.numapin.tmp"), "half a cache");
        {
                _cleanup_ledger_ struct np_ledger *ledger = open_ledger(dir, true);

                for (unsigned int i = 0; i < 4; i++)
                        assert_int_equal(np_ledger_remove(ledger, records[i].id), 0);
        }
        /* two records left: no cache is written, and the killed writer's file is gone */
        assert_false(file_exists(dir->path, ".ledger.cache.numapin.tmp"));
        assert_false(open_and_check(dir, true, records + 4, 2));
        assert_false(file_exists(dir->path, ".ledger.cache.numapin.tmp"));
}

static void test_ledger_cache_is_not_trusted_after_a_change_outside_it(void **state)
{
        struct state_dir *dir = *state;
        struct np_record records[6];
        char path[4096], lock[4096], *text;

        put_records(dir, 5, records);
        assert_true(open_and_check(dir, true, records, 5));

        /* a record removed by hand, then added back by hand */
        records[5] = full_record("c5");
        records[5].cpus = records[5].exclusive_cpus = np_test_cpulist("5");
        {
                _cleanup_ledger_ struct np_ledger *other = open_ledger(dir, true);
                put_ok(other, &records[5]);
        }
        assert_true(open_and_check(dir, false, records, 6));
        text = np_test_read_file(np_test_path(path, sizeof(path), dir->records, "c5.json"));
        assert_non_null(text);
        assert_int_equal(unlink(path), 0);
        assert_false(open_and_check(dir, true, records, 5)); /* and written anew with five */
        assert_true(open_and_check(dir, false, records, 5));
        next_tick();
        np_test_write_file(path, text);
        free(text);
        assert_false(open_and_check(dir, false, records, 6));

        /* a record edited in place by hand: its file is not the one the cache copied */
        assert_false(open_and_check(dir, true, records, 6)); /* this one writes the cache again */
        assert_true(open_and_check(dir, true, records, 6));
        next_tick();
        text = np_test_read_file(np_test_path(path, sizeof(path), dir->records, "c2.json"));
        assert_non_null(text);
        assert_non_null(strstr(text, "\"cpus\": \"2\""));
        memcpy(strstr(text, "\"cpus\": \"2\""), "\"cpus\": \"7\"", 11);
        np_test_write_file(path, text);
        free(text);
        records[2].cpus = np_test_cpulist("7");
        assert_false(open_and_check(dir, true, records, 6));

        /* the generation moved on by a process that kept no cache (an older build) */
        assert_true(open_and_check(dir, true, records, 6));
        {
                uint64_t generation = np_ledger_generation(dir->path) + 1;
                int fd = open(np_test_path(lock, sizeof(lock), dir->path, "lock"), O_WRONLY | O_CLOEXEC);

                assert_true(fd >= 0);
                assert_int_equal(pwrite(fd, &generation, sizeof(generation), 0), (ssize_t)sizeof(generation));
                close(fd);
        }
        assert_false(open_and_check(dir, true, records, 6));
}

static void test_ledger_damaged_cache_is_ignored_for_the_records(void **state)
{
        struct state_dir *dir = *state;
        struct np_record records[6];
        char path[4096];
        unsigned char *good;
        size_t size;
        int fd;

        put_records(dir, 5, records);
        np_test_path(path, sizeof(path), dir->path, "ledger.cache");
        {
                struct stat st;

                assert_int_equal(stat(path, &st), 0);
                size = (size_t)st.st_size;
                good = malloc(size);
                assert_non_null(good);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                assert_int_equal(read(fd, good, size), (ssize_t)size);
                close(fd);
        }
        assert_true(open_and_check(dir, false, records, 5));

        /* every single byte changed, one at a time: the header's checks or the
         * checksum refuse it, and the records come from their JSON */
        for (size_t i = 0; i < size; i++) {
                good[i] ^= 0x41;
                fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
                assert_int_equal(write(fd, good, size), (ssize_t)size);
                close(fd);
                good[i] ^= 0x41;
                if (open_and_check(dir, false, records, 5))
                        fail_msg("a cache with byte %zu of %zu changed was trusted", i, size);
        }

        /* the same past the checksum, sealed again: whatever each byte becomes, the
         * open neither fails nor takes a record that breaks the bounds (make test-asan
         * runs this too); a changed string may pass as another valid record, which is
         * why the checksum is there */
        for (size_t i = 0; i < size; i++) {
                unsigned char *image = malloc(size);
                struct np_ledger *ledger;

                assert_non_null(image);
                memcpy(image, good, size);
                image[i] ^= 0xff;
                assert_int_equal(np_ledger_cache_seal(image, size), 0);
                fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
                assert_int_equal(write(fd, image, size), (ssize_t)size);
                close(fd);
                free(image);
                ledger = open_ledger(dir, false);
                assert_int_equal(np_ledger_count(ledger), 5);
                for (const struct np_record *r = np_ledger_next(ledger, NULL); r; r = np_ledger_next(ledger, r))
                        assert_true(np_id_valid(r->id));
                np_ledger_close(ledger);
        }

        /* cut short, empty, or a FIFO (which must not hang the open) */
        for (size_t cut = 0; cut < size; cut += 97) {
                fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
                assert_int_equal(write(fd, good, cut), (ssize_t)cut);
                close(fd);
                assert_false(open_and_check(dir, false, records, 5));
        }
        assert_int_equal(unlink(path), 0);
        assert_int_equal(mkfifo(path, 0644), 0);
        assert_false(open_and_check(dir, false, records, 5));
        assert_false(open_and_check(dir, true, records, 5)); /* and the writer replaces it */
        assert_true(open_and_check(dir, false, records, 5));
        free(good);
}

/* The NRI plugin keeps its ledger between locks: it writes the cache after reading
 * the records, not at each of its own changes; a hook's change reaches it through
 * the cache the hook leaves. */
static void test_ledger_kept_ledger_writes_the_cache_only_after_reading(void **state)
{
        struct state_dir *dir = *state;
        _cleanup_ledger_ struct np_ledger *kept = open_ledger(dir, true);
        struct np_record records[7];
        struct np_diag diag = {};
        struct stat first, later;
        char path[4096];

        for (unsigned int i = 0; i < 5; i++) {
                char id[16];

                snprintf(id, sizeof(id), "k%u", i);
                records[i] = full_record(id);
                put_ok(kept, &records[i]);
        }
        np_ledger_unlock(kept); /* it read the records at its open: the cache is written */
        assert_int_equal(stat(np_test_path(path, sizeof(path), dir->path, "ledger.cache"), &first), 0);

        assert_int_equal(np_ledger_relock(kept, &diag), 0);
        records[5] = full_record("k5");
        put_ok(kept, &records[5]);
        np_ledger_unlock(kept);
        assert_int_equal(stat(path, &later), 0);
        assert_int_equal(later.st_ino, first.st_ino);        /* not written again */
        assert_false(open_and_check(dir, true, records, 6)); /* stale: read from JSON, written anew */

        {
                _cleanup_ledger_ struct np_ledger *hook = open_ledger(dir, true);
                assert_true(np_ledger_read_from_cache(hook));
                records[6] = full_record("k6");
                put_ok(hook, &records[6]);
        }
        assert_int_equal(np_ledger_relock(kept, &diag), 1);
        assert_true(np_ledger_read_from_cache(kept));
        assert_int_equal(np_ledger_count(kept), 7);
        assert_records_equal(np_ledger_find(kept, "k6"), &records[6]);
}

/* --- puts that answer first (the NRI plugin): the record waits in the lock file ----------- */

static struct np_ledger *open_deferring(const struct state_dir *dir)
{
        struct np_ledger *ledger = open_ledger(dir, true);

        np_ledger_defer_writes(ledger, true);
        return ledger;
}

/* What <state>/lock says of a record waiting: its size, 0 for none. */
static uint64_t waiting_size(const struct state_dir *dir)
{
        uint64_t words[4] = {};
        char path[4096];
        FILE *f = fopen(np_test_path(path, sizeof(path), dir->path, "lock"), "rb");

        assert_non_null(f);
        assert_int_equal(fread(words, sizeof(words[0]), 4, f), 4);
        fclose(f);
        return words[2];
}

static void assert_file_holds(const struct state_dir *dir, const struct np_record *record)
{
        struct np_record read = {};
        struct np_diag diag = {};
        char name[NP_ID_MAX + 8];
        int fd = open(dir->records, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        assert_true(fd >= 0);
        snprintf(name, sizeof(name), "%s.json", record->id);
        if (np_record_read(fd, name, name, &diag, &read) < 0)
                fail_msg("%s", diag.message);
        close(fd);
        assert_records_equal(&read, record);
}

static void test_ledger_deferred_put_is_read_from_the_lock_file_until_settled(void **state)
{
        struct state_dir *dir = *state;
        _cleanup_ledger_ struct np_ledger *kept = open_deferring(dir);
        struct np_record own = full_record("own");
        struct np_diag diag = {};

        put_ok(kept, &own);
        np_ledger_unlock(kept);
        assert_false(file_exists(dir->records, "own.json"));
        assert_true(waiting_size(dir) > 0);
        assert_true(np_ledger_unsettled(kept));
        {
                /* numapinctl, the exporter's reader: the record counts already */
                _cleanup_ledger_ struct np_ledger *reader = open_ledger(dir, false);
                assert_int_equal(np_ledger_count(reader), 1);
                assert_records_equal(np_ledger_find(reader, "own"), &own);
                assert_int_equal(np_ledger_settle(reader), 0); /* nothing of its own waits */
        }
        assert_false(file_exists(dir->records, "own.json"));

        assert_int_equal(np_ledger_relock(kept, &diag), 0); /* its own change: kept */
        assert_int_equal(np_ledger_settle(kept), 0);
        np_ledger_unlock(kept);
        assert_false(np_ledger_unsettled(kept));
        assert_int_equal(waiting_size(dir), 0);
        assert_file_holds(dir, &own);
}

static void test_ledger_deferred_put_of_a_killed_process_is_written_by_the_next_holder(void **state)
{
        struct state_dir *dir = *state;
        struct np_record own = full_record("own"), other = full_record("other");
        int status;
        pid_t pid;

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct np_ledger *ledger = NULL;
                struct np_diag diag = {};

                if (np_ledger_open(dir->path, true, &diag, &ledger) < 0)
                        _exit(2);
                np_ledger_defer_writes(ledger, true);
                _exit(np_ledger_put(ledger, &own) < 0 ? 3 : 0); /* answered, then killed */
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_false(file_exists(dir->records, "own.json"));
        {
                _cleanup_ledger_ struct np_ledger *hook = open_ledger(dir, true);
                assert_records_equal(np_ledger_find(hook, "own"), &own);
                assert_false(np_ledger_unsettled(hook)); /* written at the open */
                assert_file_holds(dir, &own);
                assert_int_equal(waiting_size(dir), 0);
                put_ok(hook, &other);
        }
        {
                _cleanup_ledger_ struct np_ledger *again = open_ledger(dir, false);
                assert_int_equal(np_ledger_count(again), 2);
        }
}

static void test_ledger_next_change_writes_the_file_of_a_deferred_put(void **state)
{
        struct state_dir *dir = *state;
        _cleanup_ledger_ struct np_ledger *kept = open_deferring(dir);
        struct np_record first = full_record("first"), second = shared_record("second", NP_POLICY_BIND, "0", 1000, GIB);

        put_ok(kept, &first);
        put_ok(kept, &second);
        assert_file_holds(dir, &first);
        assert_false(file_exists(dir->records, "second.json"));
        assert_int_equal(np_ledger_remove(kept, "first"), 0);
        assert_file_holds(dir, &second);
        assert_false(file_exists(dir->records, "first.json"));
        assert_false(np_ledger_unsettled(kept));
}

static void test_ledger_deferred_put_removed_before_settled_leaves_no_file(void **state)
{
        struct state_dir *dir = *state;
        _cleanup_ledger_ struct np_ledger *kept = open_ledger(dir, true);
        struct np_record old = shared_record("c", NP_POLICY_BIND, "0", 1000, GIB), fresh = full_record("fresh");
        struct np_record replaced = full_record("c");

        put_ok(kept, &old);
        np_ledger_defer_writes(kept, true);
        put_ok(kept, &fresh);
        assert_int_equal(np_ledger_remove(kept, "fresh"), 0);
        put_ok(kept, &replaced);
        assert_file_holds(dir, &old); /* the replaced record waits */
        assert_int_equal(np_ledger_remove(kept, "c"), 0);
        assert_false(np_ledger_unsettled(kept));
        assert_false(file_exists(dir->records, "fresh.json"));
        assert_false(file_exists(dir->records, "c.json"));
        assert_int_equal(waiting_size(dir), 0);
        np_ledger_close(TAKE_PTR(kept));
        {
                _cleanup_ledger_ struct np_ledger *again = open_ledger(dir, false);
                assert_int_equal(np_ledger_count(again), 0);
        }
}

/* A holder killed while writing the lock file never answered: what it left goes. */
static void test_ledger_torn_deferred_record_is_dropped(void **state)
{
        struct state_dir *dir = *state;
        struct np_record own = full_record("own");
        char path[4096];
        FILE *f;

        {
                _cleanup_ledger_ struct np_ledger *kept = open_deferring(dir);
                put_ok(kept, &own);
                /* closed unsettled: as if killed */
        }
        f = fopen(np_test_path(path, sizeof(path), dir->path, "lock"), "r+b");
        assert_non_null(f);
        assert_int_equal(fseek(f, 32 + 10, SEEK_SET), 0); /* inside the text, past the header */
        assert_int_equal(fputc('#', f), '#');
        fclose(f);
        {
                _cleanup_ledger_ struct np_ledger *reader = open_ledger(dir, false);
                assert_int_equal(np_ledger_count(reader), 0);
        }
        {
                _cleanup_ledger_ struct np_ledger *hook = open_ledger(dir, true);
                assert_int_equal(np_ledger_count(hook), 0);
        }
        assert_int_equal(waiting_size(dir), 0);
        assert_false(file_exists(dir->records, "own.json"));
}

int main(void)
{
#define WITH_DIR(test) cmocka_unit_test_setup_teardown(test, state_dir_setup, state_dir_teardown)
        const struct CMUnitTest tests[] = {
                WITH_DIR(test_ledger_open_creates_the_state_dir),
                WITH_DIR(test_ledger_exclusive_open_removes_temporary_files_of_killed_writers),
                WITH_DIR(test_ledger_shared_open_of_a_missing_state_dir_is_empty_and_creates_nothing),
                WITH_DIR(test_ledger_shared_open_of_an_empty_state_dir_is_empty),
                cmocka_unit_test(test_ledger_refuses_a_relative_state_dir),
                WITH_DIR(test_ledger_put_find_and_remove_a_record),
                WITH_DIR(test_ledger_put_replaces_the_record_with_the_same_id),
                WITH_DIR(test_ledger_keeps_every_field_of_a_record_in_memory),
                WITH_DIR(test_ledger_find_inside_an_iteration_leaves_the_iteration_alone),
                WITH_DIR(test_ledger_put_leaves_no_temporary_file),
                WITH_DIR(test_ledger_records_persist_across_close_and_open),
                WITH_DIR(test_ledger_usage_sums_every_record),
                WITH_DIR(test_ledger_reclaim_drops_only_records_of_gone_containers),
                WITH_DIR(test_ledger_corrupt_record_fails_open_naming_the_file),
                WITH_DIR(test_ledger_record_under_another_file_name_is_refused),
                WITH_DIR(test_ledger_ignores_leftover_temporary_files),
                WITH_DIR(test_ledger_refuses_invalid_container_ids),
                WITH_DIR(test_ledger_shared_open_refuses_changes),
                cmocka_unit_test(test_ledger_record_from_placement_copies_the_placement),
                cmocka_unit_test(test_ledger_record_text_is_json_c_text_of_the_record),
                WITH_DIR(test_ledger_concurrent_hooks_never_share_an_exclusive_cpu),
                WITH_DIR(test_ledger_relock_reloads_only_after_another_process_changed_it),
                WITH_DIR(test_ledger_place_reuses_a_record_and_places_around_the_others),
                WITH_DIR(test_ledger_place_keeps_exclusive_cpus_off_a_shared_containers_last_cpu),
                WITH_DIR(test_ledger_cache_holds_a_copy_of_the_records),
                WITH_DIR(test_ledger_cache_says_when_its_records_were_last_reclaimed),
                WITH_DIR(test_ledger_cache_temporary_file_of_a_killed_writer_goes),
                WITH_DIR(test_ledger_cache_is_not_trusted_after_a_change_outside_it),
                WITH_DIR(test_ledger_damaged_cache_is_ignored_for_the_records),
                WITH_DIR(test_ledger_kept_ledger_writes_the_cache_only_after_reading),
                WITH_DIR(test_ledger_deferred_put_is_read_from_the_lock_file_until_settled),
                WITH_DIR(test_ledger_deferred_put_of_a_killed_process_is_written_by_the_next_holder),
                WITH_DIR(test_ledger_next_change_writes_the_file_of_a_deferred_put),
                WITH_DIR(test_ledger_deferred_put_removed_before_settled_leaves_no_file),
                WITH_DIR(test_ledger_torn_deferred_record_is_dropped),
        };
#undef WITH_DIR

        return cmocka_run_group_tests(tests, NULL, NULL);
}
