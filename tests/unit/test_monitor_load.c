// SPDX-License-Identifier: MIT
/* Loading the locality monitor (core/monitor-load.c) on the running kernel: with the CPU
 * and memory-block tables faked to a second node, pages count as remote and outside the
 * allowed nodes, and moves between CPUs of two nodes as cross-node migrations; bpffs is
 * mounted where missing, bad pin roots are refused; an older build's set is unpinned at the
 * load of a new one when it watches no container, and left while it still watches one, also
 * when the older build laid its maps out otherwise: its containers are still unwatched at
 * their poststop, and the set goes with the last. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <sys/statfs.h>

#include <linux/magic.h>

#include "../../core/locality.h"
#include "../../core/monitor-internal.h"
#include "../../core/watch.h"
#include "monitor_test.h"

static void set_cpu_node(struct np_monitor *monitor, uint32_t cpu, uint32_t node)
{
        int r = np_monitor_set_cpu_node(monitor, cpu, node);

        if (r < 0)
                fail_msg("np_monitor_set_cpu_node(%u, %u): %s", cpu, node, strerror(-r));
}

static void require_cpus_0_and_1(void)
{
        if (!have_cpus_0_and_1())
                skip_because("needs CPUs 0 and 1 to move a task between them");
}

/* The host-1node-2cpu fixture with a memory-only node 1 added: node ids 0-1 (a
 * node stride of 2) and no CPU above 1, so it fits any machine with 2 CPUs. */
static void make_two_node_fixture(const char *sysfs)
{
        char fixture[PATH_MAX], node[PATH_MAX + 64], path[PATH_MAX * 2];
        struct np_diag diag = {};

        np_test_copy_tree(np_test_fixture("host-1node-2cpu", fixture, sizeof(fixture)), sysfs);
        snprintf(node, sizeof(node), "%s/devices/system/node", sysfs);
        np_test_write_file(np_test_path(path, sizeof(path), node, "online"), "0-1\n");
        np_test_write_file(np_test_path(path, sizeof(path), node, "possible"), "0-1\n");
        np_test_write_file(np_test_path(path, sizeof(path), node, "has_memory"), "0-1\n");
        np_test_write_file(np_test_path(path, sizeof(path), node, "node0/distance"), "10 20\n");
        assert_int_equal(mkdir(np_test_path(path, sizeof(path), node, "node1"), 0755), 0);
        np_test_write_file(np_test_path(path, sizeof(path), node, "node1/cpulist"), "\n");
        np_test_write_file(np_test_path(path, sizeof(path), node, "node1/distance"), "20 10\n");
        np_test_write_file(np_test_path(path, sizeof(path), node, "node1/meminfo"),
                           "Node 1 MemTotal:        4194304 kB\n"
                           "Node 1 MemFree:         4000000 kB\n"
                           "Node 1 MemUsed:          194304 kB\n");
        if (np_topology_load(sysfs, &diag, &suite.two_node) < 0)
                fail_msg("loading the two-node fixture %s: %s", sysfs, diag.message);
        assert_int_equal(suite.two_node->n_nodes, 2);
}

/* The shared suite, and the two-node topology the faked-node tests load with. */
static int load_suite_setup(void **state)
{
        char sysfs[PATH_MAX + 16];
        int r = suite_setup(state);

        if (r == 0)
                make_two_node_fixture(np_test_path(sysfs, sizeof(sysfs), suite.tmp, "two-node"));
        return r;
}

/* --- a faked second node ------------------------------------------------------------------ */

static struct np_monitor *load_two_node_monitor(struct env *env)
{
        struct np_monitor *monitor;

        require_bpf();
        require_cpus_0_and_1();
        monitor = load_monitor(env, suite.two_node, 4);
        assert_int_equal(monitor->node_stride, 2);
        return monitor;
}

static void test_monitor_counts_pages_of_a_faked_node_1_as_remote_and_outside_mems(void **state)
{
        struct env *env = *state;
        struct np_monitor *monitor = load_two_node_monitor(env);
        struct np_locality l;
        const char *cgroup;
        uint64_t id;

        set_cpu_node(monitor, 0, 0);
        set_cpu_node(monitor, 1, 0);
        assert_int_equal(np_monitor_set_all_blocks_node(monitor, 1), 0);
        cgroup = make_cgroup(env, "remote", &id);
        watch(monitor, id, 0, "0");

        run_child(env, cgroup, (struct phase){ .touch_bytes = 64 * MIB, .pin_cpu = 0 });
        l = read_slot(monitor, 0);
        assert_pages_near(&l, l.nodes[1].pages, pages_of(64 * MIB), "pages on node 1");
        assert_locality(&l, l.nodes[0].pages == 0);
        assert_locality(&l, l.nodes[1].pages_local == 0);
        assert_locality(&l, l.counters.pages_outside == l.nodes[1].pages);
        assert_locality(&l, l.counters.pages_unknown_node == 0);
        assert_locality(&l, l.nodes[0].cpu_ns > 0);
        assert_locality(&l, l.nodes[1].cpu_ns == 0);
}

static void test_monitor_counts_pages_as_local_when_the_cpu_table_puts_cpu_0_on_their_node(void **state)
{
        struct env *env = *state;
        struct np_monitor *monitor = load_two_node_monitor(env);
        struct np_locality l;
        const char *cgroup;
        uint64_t id;

        set_cpu_node(monitor, 0, 1);
        set_cpu_node(monitor, 1, 0);
        assert_int_equal(np_monitor_set_all_blocks_node(monitor, 1), 0);
        cgroup = make_cgroup(env, "local", &id);
        watch(monitor, id, 0, "1");

        run_child(env, cgroup, (struct phase){ .touch_bytes = 64 * MIB, .pin_cpu = 0 });
        l = read_slot(monitor, 0);
        assert_pages_near(&l, l.nodes[1].pages, pages_of(64 * MIB), "pages on node 1");
        /* a page or two may come before the child runs on CPU 0 only */
        assert_locality(&l, l.nodes[1].pages_local * 100 >= l.nodes[1].pages * 99);
        assert_locality(&l, l.counters.pages_outside == 0);
        assert_locality(&l, l.nodes[1].cpu_ns > 0);
}

static void test_monitor_counts_migrations_between_cpus_of_two_nodes_as_cross_node(void **state)
{
        struct env *env = *state;
        struct np_monitor *monitor = load_two_node_monitor(env);
        struct np_locality l;
        const char *cgroup;
        uint64_t id;

        set_cpu_node(monitor, 0, 0);
        set_cpu_node(monitor, 1, 1);
        cgroup = make_cgroup(env, "cross", &id);
        watch(monitor, id, 2, "0-1");

        run_child(env, cgroup, (struct phase){ .pin_cpu = -1, .flips = FLIPS });
        l = read_slot(monitor, 2);
        assert_locality(&l, l.counters.migrations >= FLIPS);
        assert_locality(&l, l.counters.migrations_cross >= FLIPS);
        assert_locality(&l, l.nodes[0].cpu_ns > 0 && l.nodes[1].cpu_ns > 0);
}

static void test_monitor_counts_no_cross_node_migrations_between_cpus_of_one_node(void **state)
{
        struct env *env = *state;
        struct np_monitor *monitor = load_two_node_monitor(env);
        struct np_locality l;
        const char *cgroup;
        uint64_t id;

        set_cpu_node(monitor, 0, 0);
        set_cpu_node(monitor, 1, 0);
        cgroup = make_cgroup(env, "same-node", &id);
        watch(monitor, id, 2, "0");

        run_child(env, cgroup, (struct phase){ .pin_cpu = -1, .flips = FLIPS });
        l = read_slot(monitor, 2);
        assert_locality(&l, l.counters.migrations >= FLIPS);
        assert_locality(&l, l.counters.migrations_cross == 0);
}

/* --- pin roots ------------------------------------------------------------------------------ */

static void test_monitor_open_mounts_bpffs_on_a_pin_root_parent_that_is_not_bpffs(void **state)
{
        struct env *env = *state;
        struct np_monitor *monitor = NULL;
        struct np_diag diag = {};
        char *pin_root;
        struct statfs fs;
        struct np_locality l;
        const char *cgroup;
        uint64_t id;
        int r;

        require_bpf();
        np_test_mkdtemp(env->tmp, sizeof(env->tmp));
        assert_int_equal(statfs(env->tmp, &fs), 0);
        assert_true((unsigned long)fs.f_type != BPF_FS_MAGIC);
        assert_true(env->n_pin_roots < MAX_HELD);
        pin_root = env->pin_roots[env->n_pin_roots++];
        np_test_path(pin_root, PATH_MAX, env->tmp, "numapin");

        r = np_monitor_open(SYSFS, pin_root, suite.host, 4, true, &diag, &monitor);
        if (statfs(env->tmp, &fs) == 0 && (unsigned long)fs.f_type == BPF_FS_MAGIC)
                snprintf(env->mount, sizeof(env->mount), "%s", env->tmp); /* unmounted by the teardown */
        if (r < 0 && bpf_unavailable(r))
                skip_because("cannot load BPF here: %s", diag.message);
        if (r < 0)
                fail_msg("np_monitor_open(%s): %s", pin_root, diag.message);
        hold_monitor(env, monitor);
        if (!env->mount[0])
                fail_msg("np_monitor_open(%s) worked but %s is not bpffs", pin_root, env->tmp);
        assert_true(strncmp(monitor->dir, pin_root, strlen(pin_root)) == 0);

        cgroup = make_cgroup(env, "fresh-bpffs", &id);
        watch(monitor, id, 0, "0");
        run_child(env, cgroup, (struct phase){ .touch_bytes = 64 * MIB, .pin_cpu = -1 });
        l = read_slot(monitor, 0);
        assert_pages_near(&l, total_pages(&l), pages_of(64 * MIB), "pages counted through the new bpffs");
}

static void test_monitor_open_fails_naming_a_pin_root_parent_that_cannot_hold_a_mount(void **state)
{
        struct env *env = *state;
        struct np_monitor *monitor = NULL;
        struct np_diag diag = {};
        char file[PATH_MAX + 16], pin_root[PATH_MAX + 32];
        struct statfs fs;
        int r;

        require_bpf();
        np_test_mkdtemp(env->tmp, sizeof(env->tmp));
        np_test_path(file, sizeof(file), env->tmp, "not-a-dir");
        np_test_write_file(file, "a regular file\n");
        np_test_path(pin_root, sizeof(pin_root), file, "numapin");

        r = np_monitor_open(SYSFS, pin_root, suite.host, 4, true, &diag, &monitor);
        assert_null(monitor);
        if (r == -EPERM)
                skip_because("cannot mount here (BPF, but no CAP_SYS_ADMIN): %s", diag.message);
        assert_int_equal(r, -ENOTDIR);
        assert_int_equal(diag.error, r);
        if (!strstr(diag.message, file))
                fail_msg("the message does not name %s: %s", file, diag.message);
        assert_int_equal(statfs(file, &fs), 0);
        assert_true((unsigned long)fs.f_type != BPF_FS_MAGIC);
}

static void test_monitor_open_refuses_a_pin_root_without_a_parent_dir(void **state)
{
        struct np_monitor *monitor = NULL;
        struct np_diag diag = {};

        require_bpf();
        assert_int_equal(np_monitor_open(SYSFS, "/numapin-test-no-parent", suite.host, 4, true, &diag, &monitor),
                         -EINVAL);
        assert_null(monitor);
        if (!strstr(diag.message, "/numapin-test-no-parent"))
                fail_msg("the message does not name the pin root: %s", diag.message);
        assert_false(file_exists("/numapin-test-no-parent"));
}

/* The id of the first pinned link in a set's directory (the set's programs stay
 * attached as long as their links exist). */
static __u32 pinned_link_id(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        __u32 id = 0;

        assert_non_null(d);
        while (!id && (e = readdir(d)))
                if (strncmp(e->d_name, "link_", 5) == 0) {
                        struct bpf_link_info info = {};
                        __u32 len = sizeof(info);
                        char path[PATH_MAX + 300];
                        _cleanup_close_ int fd = bpf_obj_get(np_test_path(path, sizeof(path), dir, e->d_name));

                        assert_true(fd >= 0);
                        assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
                        id = info.id;
                }
        closedir(d);
        if (!id)
                fail_msg("no pinned link in %s", dir);
        return id;
}

/* Fails unless the link `id` is gone within a second (the kernel may free an
 * unpinned link after an RCU grace period). */
static void link_gone(__u32 id)
{
        for (int i = 0; i < 100; i++) {
                int fd = bpf_link_get_fd_by_id(id);

                if (fd < 0 && errno == ENOENT)
                        return;
                if (fd >= 0)
                        close(fd);
                usleep(10000);
        }
        fail_msg("link %u is still attached a second after its set was unpinned", id);
}

/* An in_use callback of np_monitor_retire: records name the set `userdata`. */
static bool names_dir_of(const char *dir, void *userdata)
{
        return strcmp(dir, userdata) == 0;
}

/* Loads a set into pin_root and renames its directory to `name`, as an older
 * build would have left it; watches cgroup 4242 in it first when `watching`. */
static void leave_older_set(struct env *env, const char *pin_root, const char *name, bool watching, char *old_dir,
                            size_t size)
{
        char own_dir[PATH_MAX];
        struct np_monitor *monitor = load_monitor_at(env, pin_root, suite.host, 4);

        if (watching)
                watch(monitor, 4242, 0, "0");
        assert_int_equal(np_monitor_dir(pin_root, own_dir, sizeof(own_dir)), 0);
        np_test_path(old_dir, size, pin_root, name);
        assert_int_equal(rename(own_dir, old_dir), 0);
}

static void test_monitor_load_unpins_older_builds_sets_that_watch_nothing_or_are_cut_short(void **state)
{
        struct env *env = *state;
        const char *pin_root = new_pin_root(env);
        char old_dir[PATH_MAX + 32], cut_dir[PATH_MAX + 32], cut_map[PATH_MAX + 64], own_dir[PATH_MAX];
        int link_fd;
        struct np_monitor *monitor;
        __u32 old_link, cut_link;

        require_bpf();
        leave_older_set(env, pin_root, "0000000000000001", false, old_dir, sizeof(old_dir));
        old_link = pinned_link_id(old_dir);
        /* and a set whose removal was killed after `watched`, the first pin it takes */
        leave_older_set(env, pin_root, "0000000000000002", false, cut_dir, sizeof(cut_dir));
        cut_link = pinned_link_id(cut_dir);
        assert_int_equal(unlink(np_test_path(cut_map, sizeof(cut_map), cut_dir, "watched")), 0);

        monitor = load_monitor_at(env, pin_root, suite.host, 4);
        assert_int_equal(np_monitor_dir(pin_root, own_dir, sizeof(own_dir)), 0);
        assert_string_equal(monitor->dir, own_dir);
        assert_false(file_exists(old_dir));
        assert_false(file_exists(cut_dir));
        assert_int_equal(np_test_count_entries(pin_root), 1);
        /* their programs are detached: the links are gone with their pins */
        link_fd = bpf_link_get_fd_by_id(old_link);
        assert_true(link_fd < 0);
        assert_int_equal(errno, ENOENT);
        link_fd = bpf_link_get_fd_by_id(cut_link);
        assert_true(link_fd < 0);
        assert_int_equal(errno, ENOENT);
        assert_int_not_equal(pinned_link_id(own_dir), old_link);
}

static void test_monitor_load_leaves_an_older_builds_set_that_still_watches_a_container(void **state)
{
        struct env *env = *state;
        const char *pin_root = new_pin_root(env);
        char old_dir[PATH_MAX + 32], not_a_set[PATH_MAX + 32], own_dir[PATH_MAX];
        struct bpf_map_info old_info = {}, own_info = {};
        struct np_monitor *monitor, *old;
        _cleanup_close_ int link_fd = -1;
        struct np_diag diag = {};
        __u32 len = sizeof(old_info);

        require_bpf();
        leave_older_set(env, pin_root, "0000000000000002", true, old_dir, sizeof(old_dir));
        /* a directory whose name is not a set's is never touched */
        assert_int_equal(mkdir(np_test_path(not_a_set, sizeof(not_a_set), pin_root, "keep"), 0700), 0);

        monitor = load_monitor_at(env, pin_root, suite.host, 4);
        assert_int_equal(np_monitor_dir(pin_root, own_dir, sizeof(own_dir)), 0);
        assert_string_equal(monitor->dir, own_dir);
        assert_true(file_exists(old_dir));
        assert_true(file_exists(not_a_set));
        assert_int_equal(np_test_count_entries(pin_root), 3);
        link_fd = bpf_link_get_fd_by_id(pinned_link_id(old_dir));
        assert_true(link_fd >= 0);

        /* the two sets are distinct: the new one does not see the old one's container */
        if (np_monitor_open_dir(old_dir, &diag, &old) < 0)
                fail_msg("np_monitor_open_dir(%s): %s", old_dir, diag.message);
        hold_monitor(env, old);
        assert_int_equal(bpf_obj_get_info_by_fd(old->watched_fd, &old_info, &len), 0);
        len = sizeof(own_info);
        assert_int_equal(bpf_obj_get_info_by_fd(monitor->watched_fd, &own_info, &len), 0);
        assert_int_not_equal(own_info.id, old_info.id);
        assert_int_equal(np_monitor_lookup(monitor, 4242, &(uint32_t){ 0 }), -ENOENT);
        assert_int_equal(np_monitor_lookup(old, 4242, &(uint32_t){ 0 }), 0);
}

/* A set as the build before one element per container laid it out (fc09fd3): a
 * 16-byte index entry, a slot as the hash's value, counters per slot and node,
 * the allowed nodes in a map of their own. `index_id` is watched in the index,
 * `hash_id` (if not 0) in the hash. No programs: only its maps are read. */
static void leave_older_layout_set(const char *pin_root, const char *name, uint64_t index_id, uint64_t hash_id,
                                   char *dir, size_t size)
{
        static const struct {
                const char *name;
                enum bpf_map_type type;
                __u32 key, value, entries;
        } maps[] = {
                { "slot_info", BPF_MAP_TYPE_ARRAY, 4, 8, 4 },
                { "slot_nodes", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 24, 4 },
                { "slot_counters", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 56, 4 },
                { "cpu_node", BPF_MAP_TYPE_ARRAY, 4, 4, 2 },
                { "block_node", BPF_MAP_TYPE_ARRAY, 4, 4, 1 },
                { "pmu_info", BPF_MAP_TYPE_ARRAY, 4, 128, 1 },
                { "watch_index", BPF_MAP_TYPE_ARRAY, 4, 16, 8 },
                { "watched", BPF_MAP_TYPE_HASH, 8, 4, 4 },
        };
        char path[PATH_MAX + 64];

        mkdir(pin_root, 0700);
        np_test_path(dir, size, pin_root, name);
        assert_int_equal(mkdir(dir, 0700), 0);
        for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
                int fd = bpf_map_create(maps[i].type, maps[i].name, maps[i].key, maps[i].value, maps[i].entries, NULL);

                if (fd < 0)
                        fail_msg("bpf_map_create(%s): %s", maps[i].name, strerror(errno));
                if (strcmp(maps[i].name, "watch_index") == 0 && index_id) {
                        struct {
                                __u64 cgroup_id;
                                __u32 slot, overflow;
                        } entry = { index_id, 0, hash_id != 0 };
                        __u32 index = (__u32)(index_id & 7);

                        assert_int_equal(bpf_map_update_elem(fd, &index, &entry, BPF_ANY), 0);
                }
                if (strcmp(maps[i].name, "watched") == 0 && hash_id)
                        assert_int_equal(bpf_map_update_elem(fd, &hash_id, &(__u32){ 1 }, BPF_ANY), 0);
                assert_int_equal(bpf_obj_pin(fd, np_test_path(path, sizeof(path), dir, maps[i].name)), 0);
                close(fd);
        }
}

/* A set laid out as this build's but for pmu_info, whose value is `pmu_size`
 * bytes. No programs: only its maps are read. */
static void leave_set_with_pmu_info_of(const char *pin_root, const char *name, __u32 pmu_size, char *dir, size_t size)
{
        const struct {
                const char *name;
                enum bpf_map_type type;
                __u32 key, value, entries;
        } maps[] = {
                { "slot_stats", BPF_MAP_TYPE_PERCPU_ARRAY, 4, NP_BPF_SLOT_STATS_SIZE(2), 4 },
                { "cpu_node", BPF_MAP_TYPE_ARRAY, 4, 4, 2 },
                { "block_node", BPF_MAP_TYPE_ARRAY, 4, 4, 1 },
                { "pmu_info", BPF_MAP_TYPE_ARRAY, 4, pmu_size, 1 },
                { "watch_index", BPF_MAP_TYPE_ARRAY, 4, sizeof(struct np_bpf_index_entry), 8 },
                { "watched", BPF_MAP_TYPE_HASH, 8, sizeof(struct np_bpf_index_entry), 4 },
        };
        char path[PATH_MAX + 64];

        mkdir(pin_root, 0700);
        np_test_path(dir, size, pin_root, name);
        assert_int_equal(mkdir(dir, 0700), 0);
        for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
                int fd = bpf_map_create(maps[i].type, maps[i].name, maps[i].key, maps[i].value, maps[i].entries, NULL);

                if (fd < 0)
                        fail_msg("bpf_map_create(%s): %s", maps[i].name, strerror(errno));
                assert_int_equal(bpf_obj_pin(fd, np_test_path(path, sizeof(path), dir, maps[i].name)), 0);
                close(fd);
        }
}

/* pmu_info is read whole into this build's struct: a set whose value is larger
 * is another build's, and its PMU information is not read. */
static void test_monitor_open_takes_a_set_with_another_pmu_info_for_another_builds(void **state)
{
        struct env *env = *state;
        const char *pin_root = new_pin_root(env);
        char dir[PATH_MAX + 32];
        struct np_monitor *monitor = NULL;
        struct np_bpf_pmu_info info;
        struct np_diag diag = {};

        require_bpf();
        leave_set_with_pmu_info_of(pin_root, "0000000000000005", sizeof(struct np_bpf_pmu_info), dir, sizeof(dir));
        assert_int_equal(np_monitor_open_dir(dir, &diag, &monitor), 0);
        hold_monitor(env, monitor);
        assert_false(monitor->foreign);
        assert_int_equal(np_monitor_pmu(monitor, &info), 0);

        leave_set_with_pmu_info_of(pin_root, "0000000000000006", 2 * sizeof(struct np_bpf_pmu_info), dir, sizeof(dir));
        assert_int_equal(np_monitor_open_dir(dir, &diag, &monitor), 0);
        hold_monitor(env, monitor);
        assert_true(monitor->foreign);
        assert_int_equal(np_monitor_pmu(monitor, &info), -EPROTO);
}

static void test_monitor_load_unpins_an_older_layout_set_that_watches_nothing(void **state)
{
        struct env *env = *state;
        const char *pin_root = new_pin_root(env);
        char old_dir[PATH_MAX + 32], own_dir[PATH_MAX];
        struct np_monitor *monitor;

        require_bpf();
        leave_older_layout_set(pin_root, "0000000000000003", 0, 0, old_dir, sizeof(old_dir));
        monitor = load_monitor_at(env, pin_root, suite.host, 4);
        assert_int_equal(np_monitor_dir(pin_root, own_dir, sizeof(own_dir)), 0);
        assert_string_equal(monitor->dir, own_dir);
        assert_false(file_exists(old_dir));
        assert_int_equal(np_test_count_entries(pin_root), 1);
}

static void test_monitor_detach_unwatches_in_an_older_layout_set_and_removes_it_with_its_last(void **state)
{
        struct env *env = *state;
        const char *pin_root = new_pin_root(env);
        char old_dir[PATH_MAX + 32];
        struct np_monitor *old = NULL;
        struct np_record record = { .id = "before-the-upgrade" };
        char kept[PATH_MAX + 64];
        struct np_config config;
        struct np_diag diag = {};
        unsigned int watched = 0;
        FILE *out;

        require_bpf();
        /* 4242 in its index entry, 4242 + 8 (the same entry) in the hash */
        leave_older_layout_set(pin_root, "0000000000000004", 4242, 4242 + 8, old_dir, sizeof(old_dir));
        assert_int_equal(np_monitor_open_dir(old_dir, &diag, &old), 0);
        hold_monitor(env, old);
        assert_true(old->foreign);
        assert_int_equal(np_monitor_count(old, &watched), 0);
        assert_int_equal(watched, 2);
        /* what this build cannot do in it says so, and changes nothing */
        assert_int_equal(np_monitor_lookup(old, 4242, &(uint32_t){ 0 }), -EPROTO);
        assert_int_equal(np_monitor_watch(old, 99, 2, &(struct np_cpulist){}, &diag), -EPROTO);
        assert_non_null(strstr(diag.message, "another build's set"));

        np_config_init(&config);
        snprintf(config.monitor_pin_dir, sizeof(config.monitor_pin_dir), "%s", pin_root);
        record.monitor = (struct np_record_monitor){ .on = true, .slot = 0, .cgroup_id = 4242 };
        snprintf(record.monitor.dir, sizeof(record.monitor.dir), "%.255s", old_dir);
        /* what an earlier container of the same id left, kept while this one ran */
        snprintf(kept, sizeof(kept), "%s/%s", env->tmp, NP_EXITED_DIR);
        assert_true(mkdir(kept, 0755) == 0 || errno == EEXIST);
        snprintf(kept, sizeof(kept), "%s/%s/%s.json", env->tmp, NP_EXITED_DIR, record.id);
        out = fopen(kept, "w");
        assert_non_null(out);
        fputs("{\"id\": \"before-the-upgrade\", \"state\": \"exited\"}\n", out);
        fclose(out);
        diag = (struct np_diag){};
        assert_int_equal(np_watch_detach(env->tmp, &config, &record, &diag), -EPROTO);
        assert_non_null(strstr(diag.message, "its final counters are not kept"));
        assert_false(file_exists(kept)); /* not this container's figures */
        assert_int_equal(np_monitor_count(old, &watched), 0);
        assert_int_equal(watched, 1);
        assert_true(file_exists(old_dir)); /* it still counts one */

        record.monitor.cgroup_id = 4242 + 8;
        record.monitor.slot = 1;
        assert_int_equal(np_watch_detach(env->tmp, &config, &record, &diag), -EPROTO);
        assert_false(file_exists(old_dir)); /* the last one gone, the set goes */
}

/* Older builds' sets whose containers went without a release (their keys went
 * with their cgroups) are retired after a release of this build, unless a record
 * still names them; a set loaded after this build's stays, as it may not watch
 * its first container yet. */
static void test_monitor_retire_unpins_older_sets_whose_cgroups_went_without_a_release(void **state)
{
        struct env *env = *state;
        const char *pin_root = new_pin_root(env);
        char gone_dir[PATH_MAX + 32], named_dir[PATH_MAX + 32], newer_dir[PATH_MAX + 32], own_dir[PATH_MAX];
        const char *gone_cgroup, *named_cgroup;
        struct np_monitor *gone, *named;
        uint64_t gone_id, named_id;
        __u32 gone_link;

        require_bpf();
        gone_cgroup = make_cgroup(env, "retire-gone", &gone_id);
        named_cgroup = make_cgroup(env, "retire-named", &named_id);
        gone = load_monitor_at(env, pin_root, suite.host, 4);
        watch(gone, gone_id, 0, "0");
        assert_int_equal(np_monitor_dir(pin_root, own_dir, sizeof(own_dir)), 0);
        np_test_path(gone_dir, sizeof(gone_dir), pin_root, "0000000000000007");
        assert_int_equal(rename(own_dir, gone_dir), 0);
        named = load_monitor_at(env, pin_root, suite.host, 4);
        watch(named, named_id, 0, "0");
        np_test_path(named_dir, sizeof(named_dir), pin_root, "0000000000000008");
        assert_int_equal(rename(own_dir, named_dir), 0);
        gone_link = pinned_link_id(gone_dir);
        /* this build's set: both older ones still watch a cgroup, so they stay */
        load_monitor_at(env, pin_root, suite.host, 4);
        assert_true(file_exists(gone_dir));
        assert_true(file_exists(named_dir));
        leave_set_with_pmu_info_of(pin_root, "0000000000000009", sizeof(struct np_bpf_pmu_info), newer_dir,
                                   sizeof(newer_dir));

        assert_int_equal(np_monitor_retire(pin_root, names_dir_of, named_dir), 0);
        assert_true(file_exists(gone_dir)); /* its cgroup is still there */
        remove_cgroup(gone_cgroup);
        remove_cgroup(named_cgroup);
        assert_int_equal(np_monitor_retire(pin_root, names_dir_of, named_dir), 0);
        assert_false(file_exists(gone_dir));
        link_gone(gone_link);
        assert_true(file_exists(named_dir));
        assert_true(file_exists(newer_dir));
        assert_true(file_exists(own_dir));
        /* once no record names it, it goes too */
        assert_int_equal(np_monitor_retire(pin_root, NULL, NULL), 0);
        assert_false(file_exists(named_dir));
        assert_true(file_exists(newer_dir));
        assert_int_equal(np_test_count_entries(pin_root), 2);
}

/* The hierarchy the programs key on comes from /proc/self/cgroup: the v1 one that
 * lists cpuset among its controllers, or the v2 one; lines of another form are
 * passed over, and none found is -1 (no removal then takes a key). */
static void test_monitor_key_hierarchy_is_read_from_proc_self_cgroup(void **state)
{
        const char hybrid[] = "12:pids:/user.slice\n"
                              "5:cpu,cpuacct:/\n"
                              "3:cpuset,memory:/\n"
                              "1:name=systemd:/init.scope\n"
                              "0::/init.scope\n";
        const char *const refused[] = {
                "",
                "x:cpuset:/\n",
                ":cpuset:/\n",
                "-3:cpuset:/\n",
                "99999999999:cpuset:/\n",
                "3:cpusets:/\n",
                "3cpuset:/\n",
                "3:cpuset\n",
                "3 :cpuset:/\n",
        };
        char text[256];

        (void)state;
        snprintf(text, sizeof(text), "%s", hybrid);
        assert_int_equal(np_monitor_key_hierarchy(text, true), 3);
        snprintf(text, sizeof(text), "%s", hybrid);
        assert_int_equal(np_monitor_key_hierarchy(text, false), 0);
        snprintf(text, sizeof(text), "12:pids:/\n7:cpuset:/\n");
        assert_int_equal(np_monitor_key_hierarchy(text, false), -1); /* no v2 line */
        for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
                snprintf(text, sizeof(text), "%s", refused[i]);
                if (np_monitor_key_hierarchy(text, true) != -1)
                        fail_msg("'%s' gave a hierarchy", refused[i]);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                /* only the classic page program reads the node from a table a test can fake */
                VARIANT_TEST(test_monitor_counts_pages_of_a_faked_node_1_as_remote_and_outside_mems, classic),
                VARIANT_TEST(test_monitor_counts_pages_as_local_when_the_cpu_table_puts_cpu_0_on_their_node, classic),
                BOTH(test_monitor_counts_migrations_between_cpus_of_two_nodes_as_cross_node),
                BOTH(test_monitor_counts_no_cross_node_migrations_between_cpus_of_one_node),
                ONE_TEST(test_monitor_open_mounts_bpffs_on_a_pin_root_parent_that_is_not_bpffs),
                ONE_TEST(test_monitor_open_fails_naming_a_pin_root_parent_that_cannot_hold_a_mount),
                ONE_TEST(test_monitor_open_refuses_a_pin_root_without_a_parent_dir),
                ONE_TEST(test_monitor_load_unpins_older_builds_sets_that_watch_nothing_or_are_cut_short),
                ONE_TEST(test_monitor_load_leaves_an_older_builds_set_that_still_watches_a_container),
                ONE_TEST(test_monitor_load_unpins_an_older_layout_set_that_watches_nothing),
                ONE_TEST(test_monitor_detach_unwatches_in_an_older_layout_set_and_removes_it_with_its_last),
                ONE_TEST(test_monitor_open_takes_a_set_with_another_pmu_info_for_another_builds),
                ONE_TEST(test_monitor_retire_unpins_older_sets_whose_cgroups_went_without_a_release),
                ONE_TEST(test_monitor_key_hierarchy_is_read_from_proc_self_cgroup),
        };

        return cmocka_run_group_tests(tests, load_suite_setup, suite_teardown);
}
