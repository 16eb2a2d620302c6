// SPDX-License-Identifier: MIT
/* The locality monitor's pinned set (core/monitor.c) on the running kernel, both
 * flavours: pages a watched child touches are counted, nothing for unwatched cgroups or
 * after unwatch, a task's pages in the cgroup it moved into while running; the set
 * outlives its loader and is reused, also by 8 loaders at once; a full map, the sweep,
 * and ids found in the overflow map. Needs root and BPF, else skipped. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>

#include "locality.skel.h" /* struct locality_bpf__bss: the variables of the programs */
#include "monitor_test.h"

/* The names of the programs of bpf/locality.bpf.c (the kernel keeps their first
 * BPF_OBJ_NAME_LEN - 1 characters). */
static const char *const program_names[] = {
        "switch_btf",         "switch_classic",        "page_alloc_btf",     "page_alloc_classic",
        "migrate_btf",        "migrate_classic",       "migrate_pages_btf6", "migrate_pages_btf7",
        "migrate_pages_btf8", "migrate_pages_classic", "rmdir_btf",          "rmdir_classic",
        "attach_btf",         "attach_classic",        "transfer_btf",       "transfer_classic"
};

static void assert_locality_equal(const struct np_locality *a, const struct np_locality *b, const char *what)
{
        char text_a[1024], text_b[1024];

        if (memcmp(a, b, sizeof(*a)) != 0)
                fail_msg("%s changed:\n  before: %s\n  after:  %s", what, locality_text(a, text_a, sizeof(text_a)),
                         locality_text(b, text_b, sizeof(text_b)));
}

/* Links of this project's programs on the whole system (a second load would add a set). */
static unsigned int count_locality_links(void)
{
        unsigned int count = 0;
        __u32 id = 0;

        while (bpf_link_get_next_id(id, &id) == 0) {
                struct bpf_link_info link = {};
                struct bpf_prog_info prog = {};
                __u32 link_len = sizeof(link), prog_len = sizeof(prog);
                int link_fd = bpf_link_get_fd_by_id(id), prog_fd;

                if (link_fd < 0)
                        continue; /* gone meanwhile */
                if (bpf_obj_get_info_by_fd(link_fd, &link, &link_len) == 0 &&
                    (prog_fd = bpf_prog_get_fd_by_id(link.prog_id)) >= 0) {
                        if (bpf_obj_get_info_by_fd(prog_fd, &prog, &prog_len) == 0)
                                for (size_t i = 0; i < ARRAY_SIZE(program_names); i++)
                                        if (strncmp(prog.name, program_names[i], sizeof(prog.name) - 1) == 0)
                                                count++;
                        close(prog_fd);
                }
                close(link_fd);
        }
        return count;
}

/* The link ids pinned in a set's dir, summed: the same links give the same sum. */
static uint64_t pinned_link_ids(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *entry;
        uint64_t sum = 0;

        assert_non_null(d);
        while ((entry = readdir(d))) {
                char path[PATH_MAX * 2];
                struct bpf_link_info info = {};
                __u32 len = sizeof(info);
                int fd;

                if (strncmp(entry->d_name, "link_", 5) != 0)
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
                fd = bpf_obj_get(path);
                assert_true(fd >= 0);
                assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
                sum += info.id;
                close(fd);
        }
        closedir(d);
        return sum;
}

/* --- counting ------------------------------------------------------------------------- */

static void test_monitor_counts_each_page_a_watched_child_touches_as_local_on_node_0(void **state)
{
        struct env *env = *state;
        struct np_monitor *monitor;
        struct np_locality l;
        const char *cgroup;
        uint64_t id;

        require_bpf();
        monitor = load_monitor(env, suite.host, 8);
        cgroup = make_cgroup(env, "watched", &id);
        watch(monitor, id, 3, "0");
        assert_int_equal(watched_count(monitor), 1);

        run_child(env, cgroup, (struct phase){ .touch_bytes = 256 * MIB, .pin_cpu = -1 });
        l = read_slot(monitor, 3);
        assert_pages_near(&l, total_pages(&l), pages_of(256 * MIB), "pages of a child touching 256 MiB");
        assert_locality(&l, l.nodes[0].pages == total_pages(&l));
        assert_locality(&l, l.nodes[0].pages_local == l.nodes[0].pages);
        assert_locality(&l, l.counters.pages_outside == 0);
        assert_locality(&l, l.counters.pages_unknown_node == 0);
        assert_locality(&l, l.nodes[0].cpu_ns > 0);
}

static void test_monitor_snapshot_reads_the_slots_asked_as_slot_reads_do(void **state)
{
        struct env *env = *state;
        struct np_monitor_snapshot snapshot;
        struct np_monitor *monitor;
        struct np_locality one, from_snapshot;
        const char *cgroup;
        uint64_t id;

        require_bpf();
        monitor = load_monitor(env, suite.host, 300); /* more slots than one batch holds */
        cgroup = make_cgroup(env, "snapshot", &id);
        watch(monitor, id, 290, "0");
        run_child(env, cgroup, (struct phase){ .touch_bytes = 16 * MIB, .pin_cpu = -1 });

        /* asked for three slots, two of them a run (and one the set does not have):
         * it holds those from the lowest to the highest */
        assert_int_equal(np_monitor_snapshot(monitor, (const uint32_t[]){ 291, 3, 300, 290 }, 4, &snapshot), 0);
        assert_int_equal(snapshot.first, 3);
        assert_int_equal(snapshot.slots, 289);
        one = read_slot(monitor, 290);
        np_monitor_snapshot_slot(&snapshot, 290, &from_snapshot);
        assert_int_equal(from_snapshot.node_stride, one.node_stride);
        assert_true(total_pages(&one) >= pages_of(16 * MIB));
        assert_memory_equal(from_snapshot.nodes, one.nodes, one.node_stride * sizeof(one.nodes[0]));
        assert_memory_equal(&from_snapshot.counters, &one.counters, sizeof(one.counters));
        /* a slot no one watches reads as nothing, as does one not asked for */
        np_monitor_snapshot_slot(&snapshot, 291, &from_snapshot);
        assert_int_equal(total_pages(&from_snapshot), 0);
        np_monitor_snapshot_slot(&snapshot, 2, &from_snapshot);
        assert_int_equal(total_pages(&from_snapshot), 0);
        np_monitor_snapshot_slot(&snapshot, 299, &from_snapshot);
        assert_int_equal(total_pages(&from_snapshot), 0);
        np_monitor_snapshot_clear(&snapshot);
        assert_int_equal(np_monitor_snapshot(monitor, (const uint32_t[]){ 289 }, 1, &snapshot), 0);
        np_monitor_snapshot_slot(&snapshot, 290, &from_snapshot);
        assert_int_equal(total_pages(&from_snapshot), 0);
        np_monitor_snapshot_clear(&snapshot);
}

static void test_monitor_counts_nothing_for_a_child_in_an_unwatched_cgroup(void **state)
{
        struct env *env = *state;
        struct np_locality before[4], after;
        struct np_monitor *monitor;
        const char *watched, *unwatched;
        uint64_t watched_id, unwatched_id;

        require_bpf();
        monitor = load_monitor(env, suite.host, 4);
        watched = make_cgroup(env, "watched", &watched_id);
        unwatched = make_cgroup(env, "unwatched", &unwatched_id);
        watch(monitor, watched_id, 0, "0");
        for (uint32_t slot = 0; slot < 4; slot++)
                before[slot] = read_slot(monitor, slot);

        run_child(env, unwatched, (struct phase){ .touch_bytes = 64 * MIB, .pin_cpu = -1 });
        for (uint32_t slot = 0; slot < 4; slot++) {
                char what[64];

                after = read_slot(monitor, slot);
                snprintf(what, sizeof(what), "slot %u", slot);
                assert_locality_equal(&before[slot], &after, what);
        }

        /* the same child in the watched cgroup is counted: the check above is not vacuous */
        run_child(env, watched, (struct phase){ .touch_bytes = 64 * MIB, .pin_cpu = -1 });
        after = read_slot(monitor, 0);
        assert_pages_near(&after, total_pages(&after), pages_of(64 * MIB), "pages of the same child, watched");
}

static void test_monitor_counts_nothing_for_a_slot_after_unwatch(void **state)
{
        struct env *env = *state;
        unsigned int flips = have_cpus_0_and_1() ? FLIPS : 0;
        const struct phase phases[] = {
                { .touch_bytes = 16 * MIB, .pin_cpu = -1, .flips = flips },
                { .touch_bytes = 64 * MIB, .pin_cpu = -1, .flips = flips },
        };
        struct np_locality watched, unwatched, after;
        struct np_monitor *monitor;
        struct child child;
        const char *cgroup;
        uint64_t id;

        require_bpf();
        monitor = load_monitor(env, suite.host, 4);
        cgroup = make_cgroup(env, "unwatched-later", &id);
        watch(monitor, id, 1, "0");

        /* one child: counted in its first phase, then unwatched for its second */
        child_start(env, &child, cgroup, phases, ARRAY_SIZE(phases));
        child_run_phase(env, &child);
        watched = read_slot(monitor, 1);
        assert_pages_near(&watched, total_pages(&watched), pages_of(16 * MIB), "pages while watched");
        if (flips)
                assert_locality(&watched, watched.counters.migrations >= flips);

        assert_int_equal(np_monitor_unwatch(monitor, id), 0);
        assert_int_equal(watched_count(monitor), 0);
        assert_int_equal(np_monitor_unwatch(monitor, id), 0); /* not watched: not an error */
        unwatched = read_slot(monitor, 1);
        child_run_phase(env, &child);
        child_finish(env, &child);
        after = read_slot(monitor, 1);
        assert_locality_equal(&unwatched, &after, "slot 1 after np_monitor_unwatch");
}

/* --- the pinned set --------------------------------------------------------------------- */

static void test_monitor_pinned_set_keeps_counting_after_the_loading_process_exits(void **state)
{
        struct env *env = *state;
        const char *pin_root = new_pin_root(env);
        struct np_monitor *monitor = NULL;
        struct np_diag diag = {};
        char message[sizeof(diag.message)] = "", link[PATH_MAX + 64];
        struct np_locality l;
        const char *cgroup;
        ssize_t n;
        uint64_t id;
        int report[2], status, r;
        pid_t loader;

        require_bpf();
        assert_int_equal(pipe2(report, O_CLOEXEC), 0);
        loader = fork();
        assert_true(loader >= 0);
        if (loader == 0) {
                close(report[0]);
                set_attach_env(env->attach);
                r = np_monitor_open(SYSFS, pin_root, suite.host, 4, true, &diag, &monitor);
                if (write(report[1], diag.message, strlen(diag.message)) < 0)
                        _exit(1);
                if (monitor)
                        np_monitor_close(monitor);
                _exit(r < 0 ? -r : 0);
        }
        close(report[1]);
        n = read(report[0], message, sizeof(message) - 1);
        message[n > 0 ? n : 0] = '\0';
        close(report[0]);
        assert_int_equal(waitpid(loader, &status, 0), loader);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) != 0 && bpf_unavailable(-WEXITSTATUS(status)))
                skip_because("cannot load the %s programs here: %s", attach_name(env->attach), message);
        if (WEXITSTATUS(status) != 0)
                fail_msg("the loading child failed (%s): %s", strerror(WEXITSTATUS(status)), message);

        /* the loader is gone; its pins hold the programs and maps */
        r = np_monitor_open(SYSFS, pin_root, suite.host, 4, false, &diag, &monitor);
        if (r < 0)
                fail_msg("np_monitor_open(%s, load=false): %s", pin_root, diag.message);
        hold_monitor(env, monitor);
        assert_string_equal(monitor->attach, ""); /* opened, not loaded */
        snprintf(link, sizeof(link), "%s/link_page_alloc_%s", monitor->dir,
                 env->attach == NP_MONITOR_ATTACH_BTF ? "btf" : "classic");
        if (!file_exists(link))
                fail_msg("the %s loader pinned no %s", attach_name(env->attach), link);

        cgroup = make_cgroup(env, "after-loader", &id);
        watch(monitor, id, 2, "0");
        run_child(env, cgroup, (struct phase){ .touch_bytes = 64 * MIB, .pin_cpu = -1 });
        l = read_slot(monitor, 2);
        assert_pages_near(&l, l.nodes[0].pages, pages_of(64 * MIB), "pages counted by the loader's programs");
        assert_locality(&l, l.nodes[0].cpu_ns > 0);
}

static void test_monitor_second_open_reuses_the_pinned_set_without_new_links(void **state)
{
        struct env *env = *state;
        const char *pin_root = new_pin_root(env);
        struct np_monitor *first, *second = NULL;
        struct np_diag diag = {};
        unsigned int entries, links;
        uint64_t link_ids;
        int r;

        require_bpf();
        first = load_monitor_at(env, pin_root, suite.host, 4);
        entries = np_test_count_entries(first->dir);
        links = count_locality_links();
        link_ids = pinned_link_ids(first->dir);
        assert_int_equal(np_test_count_entries(pin_root), 1);

        set_attach_env(env->attach);
        r = np_monitor_open(SYSFS, pin_root, suite.host, 4, true, &diag, &second);
        unsetenv("NUMAPIN_BPF_ATTACH");
        if (r < 0)
                fail_msg("second np_monitor_open(%s): %s", pin_root, diag.message);
        hold_monitor(env, second);
        assert_string_equal(second->dir, first->dir);
        assert_string_equal(second->attach, ""); /* it found the set and did not load */
        assert_int_equal(np_test_count_entries(pin_root), 1);
        assert_int_equal(np_test_count_entries(second->dir), entries);
        assert_int_equal(pinned_link_ids(second->dir), link_ids);
        assert_int_equal(count_locality_links(), links);

        /* both see the same maps */
        watch(second, 4242, 1, "0");
        assert_int_equal(watched_count(first), 1);
}

#define CONCURRENT_LOADERS 8

/* Hooks of containers started together after boot load at the same moment: each
 * must get the set, and one complete, attached set must stay pinned. */
static void test_monitor_concurrent_first_opens_leave_one_complete_attached_set(void **state)
{
        struct env *env = *state;
        const char *pin_root = new_pin_root(env);
        char reports[CONCURRENT_LOADERS * 600 + 1] = "", dir[PATH_MAX];
        struct np_monitor *monitor = NULL;
        unsigned int failed = 0, links = 0;
        struct np_diag diag = {};
        int go[2], report[2], r;
        struct np_locality l;
        struct dirent *entry;
        const char *cgroup;
        size_t used = 0;
        ssize_t n;
        uint64_t id;
        DIR *d;

        require_bpf();
        assert_int_equal(pipe2(go, O_CLOEXEC), 0);
        assert_int_equal(pipe2(report, O_CLOEXEC), 0);
        for (int i = 0; i < CONCURRENT_LOADERS; i++) {
                pid_t pid = fork();

                assert_true(pid >= 0);
                if (pid == 0) {
                        char line[600], byte;

                        close(go[1]);
                        close(report[0]);
                        if (read(go[0], &byte, 1) < 0)
                                _exit(1);
                        r = np_monitor_open(SYSFS, pin_root, suite.host, 4, true, &diag, &monitor);
                        if (r < 0) {
                                /* one write below PIPE_BUF: lines do not mix */
                                snprintf(line, sizeof(line), "  loader %d: %.500s\n", i, diag.message);
                                if (write(report[1], line, strlen(line)) < 0)
                                        _exit(1);
                        }
                        _exit(r < 0 ? 1 : 0);
                }
        }
        close(go[0]);
        close(report[1]);
        close(go[1]); /* all start at once */
        while ((n = read(report[0], reports + used, sizeof(reports) - 1 - used)) > 0)
                used += (size_t)n;
        reports[used] = '\0';
        close(report[0]);
        for (int i = 0; i < CONCURRENT_LOADERS; i++) {
                int status;

                assert_true(wait(&status) > 0);
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        failed++;
        }
        if (failed)
                fail_msg("%u of %d concurrent np_monitor_open calls failed:\n%s", failed, CONCURRENT_LOADERS, reports);

        /* one complete set: every map, one link per signal, and it counts */
        assert_int_equal(np_monitor_dir(pin_root, dir, sizeof(dir)), 0);
        r = np_monitor_open_dir(dir, &diag, &monitor);
        if (r < 0)
                fail_msg("after the concurrent loads: %s", diag.message);
        hold_monitor(env, monitor);
        assert_int_equal(np_test_count_entries(pin_root), 1);
        d = opendir(dir);
        assert_non_null(d);
        while ((entry = readdir(d)))
                if (strncmp(entry->d_name, "link_", 5) == 0)
                        links++;
        closedir(d);
        /* sched_switch, mm_page_alloc, sched_migrate_task, mm_migrate_pages, cgroup_rmdir,
         * cgroup_attach_task, cgroup_transfer_tasks */
        assert_int_equal(links, 7);
        cgroup = make_cgroup(env, "after-race", &id);
        watch(monitor, id, 0, "0");
        run_child(env, cgroup, (struct phase){ .touch_bytes = 64 * MIB, .pin_cpu = -1 });
        l = read_slot(monitor, 0);
        assert_pages_near(&l, total_pages(&l), pages_of(64 * MIB), "pages counted after the concurrent loads");
}

/* --- what a hook attaches with ------------------------------------------------------------ */

/* np_monitor_open_to_watch(), as np_watch_attach() opens the set: the index and
 * the counters, the overflow hash when an id collides. What it watches is what a
 * full handle reads, a reused slot starts from zero, and its readers refuse. */
static void test_monitor_a_handle_opened_to_watch_watches_overflows_and_zeroes_the_slot(void **state)
{
        struct env *env = *state;
        const char *pin_root = new_pin_root(env);
        struct np_monitor *full = load_monitor_at(env, pin_root, suite.host, 2), *watcher = NULL;
        size_t stride = (full->stats_size + 7) & ~(size_t)7;
        void *dirty = calloc(full->n_cpus, stride);
        struct np_locality l;
        struct np_diag diag = {};
        unsigned int count;
        uint64_t first, step;
        __u32 slot = 1;

        assert_non_null(dirty);
        for (unsigned int c = 0; c < full->n_cpus; c++)
                ((struct np_bpf_slot_stats *)((char *)dirty + c * stride))->counters.migrations = 7;
        assert_int_equal(bpf_map_update_elem(full->slot_stats_fd, &slot, dirty, BPF_ANY), 0);
        free(dirty);
        assert_int_equal(read_slot(full, 1).counters.migrations, 7ULL * full->n_cpus);

        if (np_monitor_open_to_watch(SYSFS, pin_root, suite.host, 2, &diag, &watcher) < 0)
                fail_msg("np_monitor_open_to_watch(%s): %s", pin_root, diag.message);
        assert_int_equal(watcher->slots, 2);
        assert_true(watcher->watched_fd < 0); /* not opened until an id collides */
        assert_int_equal(np_monitor_count(watcher, &count), -EBADF);
        make_cgroup(env, "watcher", &first);
        step = watcher->index_size;
        watch(watcher, first, 0, "0");
        watch(watcher, first + step, 1, "0"); /* the same index entry: into the hash */
        assert_true(watcher->watched_fd >= 0);

        assert_int_equal(np_monitor_lookup(full, first, &slot), 0);
        assert_int_equal(slot, 0);
        assert_int_equal(np_monitor_lookup(full, first + step, &slot), 0);
        assert_int_equal(slot, 1);
        assert_int_equal(read_slot(full, 1).counters.migrations, 0);
        assert_int_equal(watched_count(full), 2);

        assert_int_equal(np_monitor_read(watcher, 0, &l), -EBADF); /* it knows no CPU count */
        assert_int_equal(np_monitor_unwatch(watcher, first + step), 0);
        assert_int_equal(np_monitor_lookup(full, first + step, &slot), -ENOENT);
        assert_int_equal(watched_count(full), 1);
        np_monitor_close(watcher);
}

/* --- a full map and the overflow map ------------------------------------------------------ */

static void test_monitor_watch_reports_a_full_map_and_sweep_unwatches_dead_slots(void **state)
{
        struct env *env = *state;
        struct np_cpulist mems = np_test_cpulist("0");
        const bool live[] = { true, false };
        struct np_monitor *monitor;
        struct np_diag diag = {};
        uint64_t first, step;
        __u32 slot;

        require_bpf();
        monitor = load_monitor(env, suite.host, 2);
        make_cgroup(env, "first", &first);
        /* ids a multiple of the index size apart share one index entry: the first
         * holds it, the next two go to the overflow map (as many as slots), then full */
        step = monitor->index_size;
        watch(monitor, first, 0, "0");
        watch(monitor, first + step, 1, "0");
        watch(monitor, first + 2 * step, 1, "0");
        assert_int_equal(watched_count(monitor), 3);

        assert_int_equal(np_monitor_watch(monitor, first + 3 * step, 1, &mems, &diag), -ENOSPC);
        assert_int_equal(diag.error, -ENOSPC);
        if (!strstr(diag.message, "full"))
                fail_msg("the message does not say the map is full: %s", diag.message);
        diag = (struct np_diag){};
        assert_int_equal(np_monitor_watch(monitor, first + 1, 2, &mems, &diag), -ENOSPC);
        if (!strstr(diag.message, "slot 2"))
                fail_msg("the message does not name slot 2: %s", diag.message);
        assert_int_equal(watched_count(monitor), 3);

        assert_int_equal(np_monitor_sweep(monitor, live, ARRAY_SIZE(live)), 0);
        assert_int_equal(watched_count(monitor), 1);
        assert_int_equal(np_monitor_lookup(monitor, first, &slot), 0);
        assert_int_equal(slot, 0);
        assert_int_equal(np_monitor_lookup(monitor, first + step, &slot), -ENOENT);

        watch(monitor, first + 3 * step, 1, "0");
        assert_int_equal(watched_count(monitor), 2);
        assert_int_equal(np_monitor_lookup(monitor, first + 3 * step, &slot), 0);
        assert_int_equal(slot, 1);
}

static void test_monitor_counts_a_cgroup_whose_index_entry_another_holds(void **state)
{
        struct env *env = *state;
        struct np_monitor *monitor;
        struct np_locality l, other;
        const char *cgroup;
        uint64_t id;

        require_bpf();
        monitor = load_monitor(env, suite.host, 8);
        cgroup = make_cgroup(env, "overflow", &id);
        /* an id sharing the cgroup's index entry is watched first: the cgroup's
         * own id goes to the overflow map, where the programs must find it */
        watch(monitor, id + monitor->index_size, 5, "0");
        /* its allowed nodes go with it into the overflow map: pages from node 0
         * are not counted as outside them */
        watch(monitor, id, 3, "0");
        run_child(env, cgroup, (struct phase){ .touch_bytes = 64 * MIB, .pin_cpu = -1 });
        l = read_slot(monitor, 3);
        other = read_slot(monitor, 5);
        assert_pages_near(&l, total_pages(&l), pages_of(64 * MIB), "pages of a child whose id overflowed");
        assert_locality(&l, l.counters.pages_outside == 0);
        assert_locality(&other, total_pages(&other) == 0);
}

/* The .bss of the set in `dir` (the variables of its cgroup_rmdir program):
 * cgroup_epoch, which the programs' cached cgroup ids must match (0 would mean
 * nothing is cached), and running_epoch, which their running entries must match. */
static struct locality_bpf__bss bss_of(const char *dir)
{
        const char *const links[] = { "link_rmdir_btf", "link_rmdir_classic" };
        struct bpf_link_info link = {};
        struct bpf_prog_info prog = {};
        __u32 link_len = sizeof(link), prog_len = sizeof(prog), map_ids[16], n_maps;
        struct locality_bpf__bss bss;
        int link_fd = -1, prog_fd;
        bool found = false;

        for (size_t i = 0; i < ARRAY_SIZE(links) && link_fd < 0; i++) {
                char path[PATH_MAX * 2];

                snprintf(path, sizeof(path), "%s/%s", dir, links[i]);
                link_fd = bpf_obj_get(path);
        }
        if (link_fd < 0)
                fail_msg("no cgroup_rmdir link pinned in %s", dir);
        assert_int_equal(bpf_obj_get_info_by_fd(link_fd, &link, &link_len), 0);
        close(link_fd);
        prog_fd = bpf_prog_get_fd_by_id(link.prog_id);
        assert_true(prog_fd >= 0);
        prog.nr_map_ids = ARRAY_SIZE(map_ids);
        prog.map_ids = (__u64)(uintptr_t)map_ids;
        assert_int_equal(bpf_obj_get_info_by_fd(prog_fd, &prog, &prog_len), 0);
        close(prog_fd);
        n_maps = MIN(prog.nr_map_ids, (__u32)ARRAY_SIZE(map_ids));
        for (__u32 i = 0; i < n_maps; i++) {
                struct bpf_map_info map = {};
                __u32 map_len = sizeof(map);
                int map_fd = bpf_map_get_fd_by_id(map_ids[i]);

                assert_true(map_fd >= 0);
                assert_int_equal(bpf_obj_get_info_by_fd(map_fd, &map, &map_len), 0);
                if (strstr(map.name, ".bss")) {
                        /* the lookup copies the whole value: it must be the size of bss */
                        assert_int_equal(map.value_size, sizeof(bss));
                        assert_int_equal(bpf_map_lookup_elem(map_fd, &(__u32){ 0 }, &bss), 0);
                        found = true;
                }
                close(map_fd);
        }
        if (!found)
                fail_msg("the cgroup_rmdir program of %s uses no .bss", dir);
        return bss;
}

/* The tp_btf programs cache cgroup ids per CPU by the cgroup's (v2) or its cpuset
 * css's (v1) address, which a cgroup created after a removed one often reuses: each
 * new cgroup's pages must still go to its own slot, not to a removed cgroup's. */
static void test_monitor_counts_each_new_cgroup_where_removed_ones_were(void **state)
{
        struct env *env = *state;
        struct np_monitor *monitor;
        struct np_locality l;
        const char *cgroup;
        uint64_t id;

        require_bpf();
        monitor = load_monitor(env, suite.host, 8);
        for (uint32_t slot = 0; slot < 8; slot++) {
                uint64_t epoch;
                char what[64];

                cgroup = make_cgroup(env, "reborn", &id);
                watch(monitor, id, slot, "0");
                run_child(env, cgroup, (struct phase){ .touch_bytes = 16 * MIB, .pin_cpu = -1 });
                l = read_slot(monitor, slot);
                snprintf(what, sizeof(what), "pages of the cgroup of round %u", slot);
                assert_pages_near(&l, total_pages(&l), pages_of(16 * MIB), what);
                assert_int_equal(np_monitor_unwatch(monitor, id), 0);
                epoch = bss_of(monitor->dir).cgroup_epoch;
                assert_true(epoch >= 1);
                remove_cgroup(cgroup);
                /* the removal made every cached id stale */
                assert_true(bss_of(monitor->dir).cgroup_epoch > epoch);
                env->n_cgroups--; /* its slot of env is free again: the next round reuses it */
        }
}

/* A container whose release never comes (its hook killed before its record was
 * written, its state dir lost) must not keep its set counted as watching: the
 * removal of its cgroup takes its key, in the index or in the hash, and leaves
 * the other keys and its slot's counters, which a late release still reads. */
static void test_monitor_takes_the_key_of_a_watched_cgroup_as_it_is_removed(void **state)
{
        struct env *env = *state;
        struct np_monitor *monitor;
        const char *indexed, *hashed;
        uint64_t indexed_id, hashed_id, other_id;
        struct np_locality l;
        uint32_t slot = 0;

        require_bpf();
        monitor = load_monitor(env, suite.host, 8);
        indexed = make_cgroup(env, "gone-indexed", &indexed_id);
        hashed = make_cgroup(env, "gone-hashed", &hashed_id);
        watch(monitor, indexed_id, 0, "0");
        /* an id that holds the hashed cgroup's index entry sends it to the hash */
        other_id = hashed_id + monitor->index_size;
        watch(monitor, other_id, 5, "0");
        watch(monitor, hashed_id, 1, "0");
        assert_int_equal(watched_count(monitor), 3);
        run_child(env, indexed, (struct phase){ .touch_bytes = 16 * MIB, .pin_cpu = -1 });

        remove_cgroup(indexed);
        remove_cgroup(hashed);
        assert_int_equal(np_monitor_lookup(monitor, indexed_id, &slot), -ENOENT);
        assert_int_equal(np_monitor_lookup(monitor, hashed_id, &slot), -ENOENT);
        assert_int_equal(np_monitor_lookup(monitor, other_id, &slot), 0);
        assert_int_equal(slot, 5);
        assert_int_equal(watched_count(monitor), 1);
        l = read_slot(monitor, 0);
        assert_pages_near(&l, total_pages(&l), pages_of(16 * MIB), "pages of a cgroup removed since");
        /* the release that comes late still unwatches and reads without an error */
        assert_int_equal(np_monitor_unwatch(monitor, indexed_id), 0);
        assert_int_equal(np_monitor_unwatch(monitor, hashed_id), 0);
        assert_int_equal(watched_count(monitor), 1);
}

/* Cgroup ids are per hierarchy: the removal of a cgroup of another hierarchy (a
 * named v1 one, mounted here) whose id is watched must leave that key. */
static void test_monitor_keeps_a_key_whose_id_goes_in_another_hierarchy(void **state)
{
        struct env *env = *state;
        char mount_dir[PATH_MAX], options[64], *child;
        struct np_monitor *monitor;
        uint64_t id;
        uint32_t slot = 0;

        require_bpf();
        monitor = load_monitor(env, suite.host, 8);
        snprintf(mount_dir, sizeof(mount_dir), "%.4000s/named-%d", suite.tmp, (int)env->attach);
        assert_int_equal(mkdir(mount_dir, 0700), 0);
        snprintf(options, sizeof(options), "none,name=numapin-test-%d", (int)getpid());
        if (mount("numapin-test", mount_dir, "cgroup", 0, options) < 0) {
                rmdir(mount_dir);
                skip_because("cannot mount a named cgroup v1 hierarchy (%s): %s", options, strerror(errno));
        }
        snprintf(env->mount, sizeof(env->mount), "%s", mount_dir);
        assert_true(env->n_cgroups < MAX_HELD);
        child = env->cgroups[env->n_cgroups++];
        snprintf(child, PATH_MAX, "%.4000s/child", mount_dir);
        assert_int_equal(mkdir(child, 0755), 0);
        assert_int_equal(np_monitor_cgroup_id(child, &id), 0);
        watch(monitor, id, 2, "0");

        remove_cgroup(child);
        assert_int_equal(np_monitor_lookup(monitor, id, &slot), 0);
        assert_int_equal(slot, 2);
        assert_int_equal(watched_count(monitor), 1);
}

/* The tp_btf programs keep the cgroup id of each CPU's running task from its switch
 * in: a task that moves itself into a watched cgroup and touches memory at once,
 * before it is switched out, must have those pages counted in its new cgroup. */
static void test_monitor_counts_the_pages_of_a_task_that_moved_itself_while_running(void **state)
{
        struct env *env = *state;
        char join[PATH_MAX + 32];
        struct np_monitor *monitor;
        const char *before, *after;
        uint64_t before_id, after_id;
        struct np_locality l;

        require_bpf();
        monitor = load_monitor(env, suite.host, 8);
        before = make_cgroup(env, "before", &before_id);
        after = make_cgroup(env, "after", &after_id);
        watch(monitor, after_id, 2, "0");
        snprintf(join, sizeof(join), "%s/%s", after, suite.tasks_file);
        run_child(env, before, (struct phase){ .join = join, .touch_bytes = 64 * MIB, .pin_cpu = -1 });
        l = read_slot(monitor, 2);
        assert_pages_near(&l, total_pages(&l), pages_of(64 * MIB), "pages touched right after the move");
        /* only the tp_btf sched_switch keeps the entries: the classic set leaves them off */
        if (env->attach == NP_MONITOR_ATTACH_BTF)
                assert_true(bss_of(monitor->dir).running_epoch > 1); /* the move bumped it */
        else
                assert_int_equal(bss_of(monitor->dir).running_epoch, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                BOTH(test_monitor_counts_each_page_a_watched_child_touches_as_local_on_node_0),
                ONE_TEST(test_monitor_snapshot_reads_the_slots_asked_as_slot_reads_do),
                BOTH(test_monitor_counts_nothing_for_a_child_in_an_unwatched_cgroup),
                BOTH(test_monitor_counts_nothing_for_a_slot_after_unwatch),
                BOTH(test_monitor_pinned_set_keeps_counting_after_the_loading_process_exits),
                BOTH(test_monitor_second_open_reuses_the_pinned_set_without_new_links),
                ONE_TEST(test_monitor_concurrent_first_opens_leave_one_complete_attached_set),
                ONE_TEST(test_monitor_a_handle_opened_to_watch_watches_overflows_and_zeroes_the_slot),
                ONE_TEST(test_monitor_watch_reports_a_full_map_and_sweep_unwatches_dead_slots),
                BOTH(test_monitor_counts_a_cgroup_whose_index_entry_another_holds),
                BOTH(test_monitor_counts_each_new_cgroup_where_removed_ones_were),
                BOTH(test_monitor_counts_the_pages_of_a_task_that_moved_itself_while_running),
                BOTH(test_monitor_takes_the_key_of_a_watched_cgroup_as_it_is_removed),
                BOTH(test_monitor_keeps_a_key_whose_id_goes_in_another_hierarchy),
        };

        return cmocka_run_group_tests(tests, suite_setup, suite_teardown);
}
