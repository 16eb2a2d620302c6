// SPDX-License-Identifier: MIT
/* core/locality: the figures numapinctl stats reports, filled from the monitor's
 * counters and memory.numa_stat, their JSON form and its validation, and the store
 * of exited containers' figures. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "../../core/locality.h"
#include "helpers.h"

static struct np_record record_on(const char *mems)
{
        struct np_record rec = {};

        snprintf(rec.id, sizeof(rec.id), "ctr-1");
        rec.policy = NP_POLICY_BIND;
        rec.mems = np_test_cpulist(mems);
        return rec;
}

static double get_double(struct json_object *obj, const char *key)
{
        struct json_object *v;

        assert_true(json_object_object_get_ex(obj, key, &v));
        assert_non_null(v);
        return json_object_get_double(v);
}

static const char *get_string(struct json_object *obj, const char *key)
{
        struct json_object *v;

        assert_true(json_object_object_get_ex(obj, key, &v));
        assert_true(json_object_is_type(v, json_type_string));
        return json_object_get_string(v);
}

/* Two nodes: 100 pages remote on node 0, 300 local on node 1; the PMU unavailable. */
static void two_node_stats(const char *pmu_reason, int64_t exited_at, struct np_locality_stats *ret_stats)
{
        struct np_record rec = record_on("1");
        struct np_locality l = { .node_stride = 2 };
        uint64_t resident[NP_BPF_MAX_NODES] = { 4096, 8192 };

        l.nodes[0] = (struct np_bpf_node_counters){ .cpu_ns = 500000000, .pages = 100, .pages_local = 0 };
        l.nodes[1] = (struct np_bpf_node_counters){ .cpu_ns = 1500000000, .pages = 300, .pages_local = 300 };
        l.counters = (struct np_bpf_slot_counters){ .pages_outside = 100,
                                                    .pages_unknown_node = 3,
                                                    .migrations = 7,
                                                    .migrations_cross = 2,
                                                    .numa_balancing_pages = 5,
                                                    .pmu_local = 900,
                                                    .pmu_remote = 100 };
        np_locality_stats_fill(&rec, &l, resident, pmu_reason, exited_at, ret_stats);
}

static void test_locality_stats_fill_splits_pages_local_and_remote_per_node(void **state)
{
        struct np_locality_stats s;

        two_node_stats("test", 0, &s);
        assert_string_equal(s.id, "ctr-1");
        assert_int_equal(s.state, NP_LOCALITY_RUNNING);
        assert_int_equal(s.policy, NP_POLICY_BIND);
        assert_int_equal(s.n_nodes, 2);
        assert_int_equal(s.nodes[1].node, 1);
        assert_int_equal(s.nodes[1].pages_allocated, 300);
        assert_int_equal(s.nodes[1].pages_remote, 0);
        assert_int_equal(s.nodes[0].pages_remote, 100);
        assert_true(s.nodes[1].resident_known);
        assert_int_equal(s.nodes[1].resident_bytes, 8192);
        assert_true(s.nodes[1].cpu_seconds > 1.49 && s.nodes[1].cpu_seconds < 1.51);
        /* 300 of 400 pages local */
        assert_true(s.shares_known);
        assert_true(s.local_percent == 75.0);
        assert_true(s.remote_percent == 25.0);
        assert_int_equal(s.pages_outside_allowed, 100);
        assert_int_equal(s.migrations_cross_node, 2);
        assert_false(s.pmu.available);
        assert_string_equal(s.pmu.reason, "test");
        assert_int_equal(s.exited_at, 0);
}

static void test_locality_json_names_the_figures_per_node_and_in_all(void **state)
{
        struct np_locality_stats s;
        struct json_object *obj = NULL, *nodes, *n1, *v;

        two_node_stats("test", 0, &s);
        assert_int_equal(np_locality_stats_to_json(&s, &obj), 0);
        assert_true(json_object_object_get_ex(obj, "nodes", &nodes));
        assert_int_equal(json_object_array_length(nodes), 2);
        n1 = json_object_array_get_idx(nodes, 1);
        assert_int_equal((int)get_double(n1, "node"), 1);
        assert_int_equal((int)get_double(n1, "pages_allocated"), 300);
        assert_int_equal((int)get_double(n1, "pages_remote"), 0);
        assert_int_equal((int)get_double(n1, "resident_bytes"), 8192);
        assert_int_equal((int)get_double(json_object_array_get_idx(nodes, 0), "pages_remote"), 100);
        assert_int_equal((int)get_double(obj, "pages_allocated"), 400);
        assert_true(get_double(obj, "cpu_seconds") > 1.99 && get_double(obj, "cpu_seconds") < 2.01);
        assert_true(get_double(obj, "local_percent") == 75.0);
        assert_true(get_double(obj, "remote_percent") == 25.0);
        assert_int_equal((int)get_double(obj, "pages_outside_allowed"), 100);
        assert_int_equal((int)get_double(obj, "migrations_cross_node"), 2);
        assert_string_equal(get_string(obj, "state"), "running");
        assert_string_equal(get_string(obj, "allowed_nodes"), "1");
        assert_false(json_object_object_get_ex(obj, "exited_at", &v)); /* only once exited */
        json_object_put(obj);
}

static void test_locality_json_has_no_share_without_pages_and_null_resident_when_unknown(void **state)
{
        struct np_record rec = record_on("0");
        struct np_locality l = { .node_stride = 1 };
        struct np_locality_stats s;
        struct json_object *obj = NULL, *v, *nodes;

        np_locality_stats_fill(&rec, &l, NULL, NULL, 1700000000, &s);
        assert_false(s.shares_known);
        assert_false(s.nodes[0].resident_known);
        assert_true(s.pmu.available);
        assert_false(s.pmu.share_known);
        assert_int_equal(np_locality_stats_to_json(&s, &obj), 0);
        assert_true(json_object_object_get_ex(obj, "local_percent", &v));
        assert_null(v);
        assert_true(json_object_object_get_ex(obj, "nodes", &nodes));
        assert_true(json_object_object_get_ex(json_object_array_get_idx(nodes, 0), "resident_bytes", &v));
        assert_null(v);
        assert_true(json_object_object_get_ex(obj, "pmu", &v));
        assert_true(json_object_is_type(v, json_type_object));
        assert_true(json_object_object_get_ex(v, "remote_percent", &v));
        assert_null(v);
        assert_string_equal(get_string(obj, "state"), "exited");
        assert_int_equal((int)get_double(obj, "exited_at"), 1700000000);
        json_object_put(obj);
}

static void test_locality_json_pmu_unavailable_is_the_word_with_the_reason_apart(void **state)
{
        struct np_record rec = record_on("0");
        struct np_locality l = { .node_stride = 1 };
        struct np_monitor monitor = { .pmu_info_fd = -1 }; /* no PMU state to read */
        struct np_locality_stats s;
        struct json_object *obj = NULL, *v;
        char pmu[256];

        np_locality_stats_fill(&rec, &l, NULL, np_locality_pmu_reason(&monitor, pmu, sizeof(pmu)), 1, &s);
        assert_int_equal(np_locality_stats_to_json(&s, &obj), 0);
        /* scripts compare with the documented "unavailable" */
        assert_true(json_object_object_get_ex(obj, "pmu", &v));
        assert_string_equal(json_object_get_string(v), "unavailable");
        assert_true(json_object_object_get_ex(obj, "pmu_reason", &v));
        assert_true(json_object_is_type(v, json_type_string));
        assert_true(json_object_get_string_len(v) > 0);
        assert_string_equal(json_object_get_string(v), "the pinned set has no PMU state");
        json_object_put(obj);
}

static void assert_stats_equal(const struct np_locality_stats *a, const struct np_locality_stats *b)
{
        assert_string_equal(a->id, b->id);
        assert_int_equal(a->state, b->state);
        assert_int_equal(a->policy, b->policy);
        assert_true(np_cpulist_equal(&a->allowed_nodes, &b->allowed_nodes));
        assert_int_equal(a->n_nodes, b->n_nodes);
        for (unsigned int i = 0; i < a->n_nodes; i++) {
                const struct np_locality_node_stats *x = &a->nodes[i], *y = &b->nodes[i];

                assert_int_equal(x->node, y->node);
                assert_true(x->cpu_seconds == y->cpu_seconds);
                assert_int_equal(x->pages_allocated, y->pages_allocated);
                assert_int_equal(x->pages_local, y->pages_local);
                assert_int_equal(x->pages_remote, y->pages_remote);
                assert_int_equal(x->resident_known, y->resident_known);
                assert_int_equal(x->resident_bytes, y->resident_bytes);
        }
        assert_int_equal(a->shares_known, b->shares_known);
        assert_true(a->local_percent == b->local_percent);
        assert_true(a->remote_percent == b->remote_percent);
        assert_int_equal(a->pages_outside_allowed, b->pages_outside_allowed);
        assert_int_equal(a->pages_unknown_node, b->pages_unknown_node);
        assert_int_equal(a->migrations, b->migrations);
        assert_int_equal(a->migrations_cross_node, b->migrations_cross_node);
        assert_int_equal(a->numa_balancing_migrations, b->numa_balancing_migrations);
        assert_int_equal(a->pmu.available, b->pmu.available);
        assert_string_equal(a->pmu.reason, b->pmu.reason);
        assert_int_equal(a->pmu.local, b->pmu.local);
        assert_int_equal(a->pmu.remote, b->pmu.remote);
        assert_int_equal(a->pmu.share_known, b->pmu.share_known);
        assert_true(a->pmu.remote_percent == b->pmu.remote_percent);
        assert_int_equal(a->exited_at, b->exited_at);
}

/* struct -> JSON text -> struct */
static void round_trip(const struct np_locality_stats *in)
{
        _cleanup_json_ struct json_object *obj = NULL, *again = NULL;
        _cleanup_free_ char *text = NULL;
        struct np_locality_stats out;
        struct np_diag diag = {};
        size_t size;

        assert_int_equal(np_locality_stats_to_json(in, &obj), 0);
        assert_int_equal(np_json_to_string(obj, &text, &size), 0);
        assert_int_equal(np_json_parse(text, size, 1 << 20, "text", &diag, &again), 0);
        memset(&out, 0xa5, sizeof(out));
        if (np_locality_stats_from_json(again, "text", &diag, &out) < 0)
                fail_msg("%s", diag.message);
        assert_stats_equal(in, &out);
}

static void test_locality_stats_survive_json_and_back(void **state)
{
        struct np_locality_stats s;

        two_node_stats("this machine has no CPU PMU", 0, &s); /* running, PMU unavailable */
        round_trip(&s);
        two_node_stats(NULL, 1700000123, &s); /* exited, PMU counts */
        assert_true(s.pmu.share_known && s.pmu.remote_percent == 10.0);
        s.policy = NP_POLICY_INTERLEAVE;
        s.allowed_nodes = np_test_cpulist("0-1,5");
        s.nodes[0].resident_known = false; /* one node unknown */
        s.nodes[0].resident_bytes = 0;
        s.nodes[1].cpu_seconds = 1.0 / 3.0;
        s.nodes[1].node = 5; /* sparse node ids */
        s.pages_unknown_node = UINT64_MAX;
        s.local_percent = 33.33;
        s.remote_percent = 66.67;
        round_trip(&s);
        s.n_nodes = 0;
        s.shares_known = false;
        s.local_percent = s.remote_percent = 0;
        round_trip(&s);
}

/* <dir>/exited/<name> holding the JSON form of `s` with `edit` applied */
static void write_exited(const char *dir, const char *name, const struct np_locality_stats *s,
                         void (*edit)(struct json_object *obj))
{
        _cleanup_json_ struct json_object *obj = NULL;
        _cleanup_free_ char *text = NULL;
        char path[4200];
        size_t size;

        assert_int_equal(np_locality_stats_to_json(s, &obj), 0);
        if (edit)
                edit(obj);
        assert_int_equal(np_json_to_string(obj, &text, &size), 0);
        snprintf(path, sizeof(path), "%s/%s", dir, NP_EXITED_DIR);
        mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/%s/%s", dir, NP_EXITED_DIR, name);
        np_test_write_file(path, text);
}

static void exited_stats(const char *id, struct np_locality_stats *ret_stats)
{
        two_node_stats("this machine has no CPU PMU", 1700000000, ret_stats);
        snprintf(ret_stats->id, sizeof(ret_stats->id), "%s", id);
}

static void rename_outside(struct json_object *obj)
{
        struct json_object *v;

        json_object_object_get_ex(obj, "pages_outside_allowed", &v);
        json_object_object_add(obj, "pages_outside", json_object_get(v));
        json_object_object_del(obj, "pages_outside_allowed");
}

static void mistype_migrations(struct json_object *obj)
{
        json_object_object_add(obj, "migrations", json_object_new_string("7"));
}

static void drop_node_cpu_seconds(struct json_object *obj)
{
        struct json_object *nodes;

        json_object_object_get_ex(obj, "nodes", &nodes);
        json_object_object_del(json_object_array_get_idx(nodes, 1), "cpu_seconds");
}

static void drop_pmu_reason(struct json_object *obj)
{
        json_object_object_del(obj, "pmu_reason");
}

static void pmu_other_text(struct json_object *obj)
{
        json_object_object_add(obj, "pmu", json_object_new_string("none"));
}

static void pmu_older_form(struct json_object *obj)
{
        json_object_object_del(obj, "pmu_reason");
        json_object_object_add(obj, "pmu", json_object_new_string("unavailable (this machine has no CPU PMU)"));
}

/* Loads `dir`'s exited files, of which `good` must load; returns the one warning. */
static void load_expecting_one_warning(const char *dir, const char *good, char *ret_message, size_t size)
{
        struct np_locality_report report = {};

        assert_int_equal(np_exited_load(dir, &report), 0);
        assert_int_equal(report.n_stats, 1);
        assert_string_equal(report.stats[0].id, good);
        assert_int_equal(report.n_warnings, 1);
        assert_int_equal(report.warnings[0].error, -EINVAL);
        snprintf(ret_message, size, "%s", report.warnings[0].message);
        np_locality_report_clear(&report);
}

static void test_locality_exited_file_with_a_renamed_key_is_reported_naming_file_and_key(void **state)
{
        struct np_locality_stats s;
        char dir[4096], message[4096], want[4300];

        np_test_mkdtemp(dir, sizeof(dir));
        exited_stats("good", &s);
        assert_int_equal(np_exited_save(dir, &s), 0);
        exited_stats("renamed", &s);
        write_exited(dir, "renamed.json", &s, rename_outside);
        load_expecting_one_warning(dir, "good", message, sizeof(message));
        snprintf(want, sizeof(want), "exited record %s/exited/renamed.json: field 'pages_outside_allowed' is missing",
                 dir);
        assert_string_equal(message, want);
        np_test_rmtree(dir);
}

static void test_locality_exited_file_with_a_mistyped_or_missing_key_is_reported(void **state)
{
        static const struct {
                void (*edit)(struct json_object *obj);
                const char *message;
        } cases[] = {
                { mistype_migrations, "field 'migrations' is a string; expected an integer" },
                { drop_node_cpu_seconds, ", nodes[1]: field 'cpu_seconds' is missing" },
                { drop_pmu_reason, "field 'pmu_reason' is missing" },
                { pmu_other_text, "field 'pmu' is 'none'; expected an object or \"unavailable\"" },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct np_locality_stats s;
                char dir[4096], message[4096];

                np_test_mkdtemp(dir, sizeof(dir));
                exited_stats("good", &s);
                assert_int_equal(np_exited_save(dir, &s), 0);
                exited_stats("bad", &s);
                write_exited(dir, "bad.json", &s, cases[i].edit);
                load_expecting_one_warning(dir, "good", message, sizeof(message));
                if (!strstr(message, "/exited/bad.json") || !strstr(message, cases[i].message))
                        fail_msg("expected '%s' naming bad.json, got '%s'", cases[i].message, message);
                np_test_rmtree(dir);
        }
}

static void test_locality_exited_file_of_an_older_build_keeps_its_pmu_reason(void **state)
{
        struct np_locality_report report = {};
        struct np_locality_stats s;
        char dir[4096];

        np_test_mkdtemp(dir, sizeof(dir));
        exited_stats("old", &s);
        write_exited(dir, "old.json", &s, pmu_older_form);
        assert_int_equal(np_exited_load(dir, &report), 0);
        assert_int_equal(report.n_warnings, 0);
        assert_int_equal(report.n_stats, 1);
        assert_false(report.stats[0].pmu.available);
        assert_string_equal(report.stats[0].pmu.reason, "this machine has no CPU PMU");
        np_locality_report_clear(&report);
        np_test_rmtree(dir);
}

static void test_locality_exited_store_keeps_and_forgets(void **state)
{
        struct np_locality_report report = {};
        struct np_locality_stats s;
        char dir[4096];

        np_test_mkdtemp(dir, sizeof(dir));
        exited_stats("ctr-1", &s);
        assert_int_equal(np_exited_save(dir, &s), 0);
        assert_int_equal(np_exited_load(dir, &report), 0);
        assert_int_equal(report.n_stats, 1);
        assert_stats_equal(&report.stats[0], &s);
        np_locality_report_clear(&report);
        np_exited_remove(dir, "ctr-1");
        np_exited_remove(dir, "../escape"); /* not an id: ignored */
        assert_int_equal(np_exited_load(dir, &report), 0);
        assert_int_equal(report.n_stats, 0);
        assert_int_equal(report.n_warnings, 0);
        np_locality_report_clear(&report);
        np_test_rmtree(dir);
}

static void test_locality_exited_save_refuses_a_running_container_or_a_bad_id(void **state)
{
        struct np_locality_stats s;
        char dir[4096];

        np_test_mkdtemp(dir, sizeof(dir));
        two_node_stats("x", 0, &s);
        assert_int_equal(np_exited_save(dir, &s), -EINVAL);
        exited_stats("../escape", &s);
        assert_int_equal(np_exited_save(dir, &s), -EINVAL);
        np_test_rmtree(dir);
}

static void test_locality_exited_file_under_another_name_or_still_running_is_reported(void **state)
{
        struct np_locality_stats s;
        char dir[4096], message[4096];

        np_test_mkdtemp(dir, sizeof(dir));
        exited_stats("good", &s);
        assert_int_equal(np_exited_save(dir, &s), 0);
        exited_stats("other", &s);
        write_exited(dir, "named.json", &s, NULL);
        load_expecting_one_warning(dir, "good", message, sizeof(message));
        assert_non_null(strstr(message, "named.json: field 'id' is 'other', not the file's name"));
        unlink(strcat(strcpy(message, dir), "/exited/named.json"));
        two_node_stats("x", 0, &s);
        snprintf(s.id, sizeof(s.id), "running");
        write_exited(dir, "running.json", &s, NULL);
        load_expecting_one_warning(dir, "good", message, sizeof(message));
        assert_non_null(strstr(message, "running.json: field 'state' is 'running'; expected exited"));
        np_test_rmtree(dir);
}

static void test_locality_collect_leaves_out_exited_ids_the_ledger_holds_and_filters_by_id(void **state)
{
        struct np_record record = record_on("0"); /* "ctr-1", not watched */
        struct np_ledger *ledger = NULL;
        struct np_locality_report report = {};
        struct np_locality_stats s;
        char dir[4096];

        np_test_mkdtemp(dir, sizeof(dir));
        assert_int_equal(np_ledger_open(dir, true, NULL, &ledger), 0);
        assert_int_equal(np_ledger_put(ledger, &record), 0);
        exited_stats("ctr-1", &s); /* its id came back: the ledger's record wins */
        assert_int_equal(np_exited_save(dir, &s), 0);
        exited_stats("ctr-2", &s);
        assert_int_equal(np_exited_save(dir, &s), 0);
        exited_stats("ctr-3", &s);
        write_exited(dir, "ctr-3.json", &s, rename_outside);

        assert_int_equal(np_locality_collect(dir, ledger, NULL, &report), 0);
        assert_int_equal(report.n_stats, 1);
        assert_string_equal(report.stats[0].id, "ctr-2");
        assert_int_equal(report.n_warnings, 1);
        np_locality_report_clear(&report);
        /* one id: the others' files are not read, nor warned about */
        assert_int_equal(np_locality_collect(dir, ledger, "ctr-2", &report), 0);
        assert_int_equal(report.n_stats, 1);
        assert_int_equal(report.n_warnings, 0);
        np_locality_report_clear(&report);
        assert_int_equal(np_locality_collect(dir, NULL, "ctr-1", &report), 0);
        assert_int_equal(report.n_stats, 1);
        np_locality_report_clear(&report);
        np_ledger_close(ledger);
        np_test_rmtree(dir);
}

static void test_locality_report_json_lists_the_containers(void **state)
{
        struct np_locality_stats stats[2];
        struct np_locality_report report = { .n_stats = 2, .stats = stats };
        struct json_object *root = NULL, *containers;

        exited_stats("a", &stats[0]);
        exited_stats("b", &stats[1]);
        assert_int_equal(np_locality_report_to_json(&report, &root), 0);
        assert_true(json_object_object_get_ex(root, "containers", &containers));
        assert_int_equal(json_object_array_length(containers), 2);
        assert_string_equal(get_string(json_object_array_get_idx(containers, 1), "id"), "b");
        json_object_put(root);
}

static void test_locality_resident_reads_v2_numa_stat_anon_and_file(void **state)
{
        char dir[4096], path[4200];
        uint64_t resident[NP_BPF_MAX_NODES];

        np_test_mkdtemp(dir, sizeof(dir));
        snprintf(path, sizeof(path), "%s/memory.numa_stat", dir);
        np_test_write_file(path, "anon N0=4096 N1=1048576\nfile N0=0 N1=4096\nkernel_stack N0=16384 N1=0\n"
                                 "shmem N0=999 N1=999\n");
        assert_int_equal(np_locality_resident(dir, 0, resident), 0);
        assert_int_equal(resident[0], 4096);
        assert_int_equal(resident[1], 1048576 + 4096);
        assert_int_equal(resident[2], 0);
        unlink(path);
        assert_int_equal(np_locality_resident(dir, 0, resident), -ENOENT);
        rmdir(dir);
}

/* The metrics endpoint's way: the file opened once, read again from its start. */
static void test_locality_numa_stat_kept_open_is_read_anew(void **state)
{
        char dir[4096], path[4200], big[70000];
        uint64_t resident[NP_BPF_MAX_NODES];
        bool v1 = true;
        int fd;

        np_test_mkdtemp(dir, sizeof(dir));
        assert_int_equal(np_locality_numa_stat_open(dir, 0, &v1), -ENOENT);
        snprintf(path, sizeof(path), "%s/memory.numa_stat", dir);
        np_test_write_file(path, "anon N0=4096 N1=8192\nfile N0=1 N1=0\n");
        fd = np_locality_numa_stat_open(dir, 0, &v1);
        assert_true(fd >= 0);
        assert_false(v1);
        assert_int_equal(np_locality_resident_fd(fd, v1, resident), 0);
        assert_int_equal(resident[0], 4097);
        assert_int_equal(resident[1], 8192);
        /* rewritten in place (the kernel writes it anew at each read), in another order */
        np_test_write_file(path, "shmem N0=100 N1=100\nfile N0=5 N1=6\nkernel_stack N0=9 N1=9\nanon N0=0 N1=0\n");
        assert_int_equal(np_locality_resident_fd(fd, v1, resident), 0);
        assert_int_equal(resident[0], 5);
        assert_int_equal(resident[1], 6);
        /* fields that are not " N<id>=<digits>" are passed over; a value beyond 64
         * bits is the largest; a node beyond the monitor's is left out */
        np_test_write_file(path, "anon N0=-5 N=3 Nx=1 N1= N2=7 N3=99999999999999999999999 N999999=4\n"
                                 "file N0=1x N1=2\n");
        assert_int_equal(np_locality_resident_fd(fd, v1, resident), 0);
        assert_int_equal(resident[0], 1);
        assert_int_equal(resident[1], 2);
        assert_int_equal(resident[2], 7);
        assert_true(resident[3] == UINT64_MAX);
        /* larger than any numa_stat: refused */
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        np_test_write_file(path, big);
        assert_int_equal(np_locality_resident_fd(fd, v1, resident), -EFBIG);
        close(fd);
        /* a FIFO in its place is refused at once, not waited on */
        unlink(path);
        assert_int_equal(mkfifo(path, 0644), 0);
        assert_int_equal(np_locality_numa_stat_open(dir, 0, &v1), -EINVAL);
        unlink(path);
        rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_locality_stats_fill_splits_pages_local_and_remote_per_node),
                cmocka_unit_test(test_locality_json_names_the_figures_per_node_and_in_all),
                cmocka_unit_test(test_locality_json_has_no_share_without_pages_and_null_resident_when_unknown),
                cmocka_unit_test(test_locality_json_pmu_unavailable_is_the_word_with_the_reason_apart),
                cmocka_unit_test(test_locality_stats_survive_json_and_back),
                cmocka_unit_test(test_locality_resident_reads_v2_numa_stat_anon_and_file),
                cmocka_unit_test(test_locality_numa_stat_kept_open_is_read_anew),
                cmocka_unit_test(test_locality_exited_store_keeps_and_forgets),
                cmocka_unit_test(test_locality_exited_save_refuses_a_running_container_or_a_bad_id),
                cmocka_unit_test(test_locality_exited_file_with_a_renamed_key_is_reported_naming_file_and_key),
                cmocka_unit_test(test_locality_exited_file_with_a_mistyped_or_missing_key_is_reported),
                cmocka_unit_test(test_locality_exited_file_under_another_name_or_still_running_is_reported),
                cmocka_unit_test(test_locality_exited_file_of_an_older_build_keeps_its_pmu_reason),
                cmocka_unit_test(test_locality_collect_leaves_out_exited_ids_the_ledger_holds_and_filters_by_id),
                cmocka_unit_test(test_locality_report_json_lists_the_containers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
