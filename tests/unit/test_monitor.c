// SPDX-License-Identifier: MIT
/* The locality monitor against the running kernel: its real BPF programs, in both
 * flavours (tp_btf and classic tracepoint), count children that run in real cgroups.
 * Also: pinned sets that outlive their loader, a faked second node in the CPU and
 * memory-block tables, and bad pin roots. Needs root and BPF; otherwise every test
 * is skipped and says why. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>

#include <bpf/bpf.h>

#include "../../core/monitor-testing.h"
#include "../../core/monitor.h"
#include "../../core/topology.h"
#include "helpers.h"

#define MIB      (UINT64_C(1) << 20)
#define BPFFS    "/sys/fs/bpf"
#define SYSFS    "/sys" /* the memory blocks are this kernel's, also under the two-node topology */
#define MAX_HELD 4
#define FLIPS    10 /* moves between CPU 0 and CPU 1 in the migration tests */

/* Skips the current test; the reason goes on a "# " line (a TAP comment). */
#define skip_because(...)                                                                                              \
        do {                                                                                                           \
                print_message("# skip: " __VA_ARGS__);                                                                 \
                print_message("\n");                                                                                   \
                skip();                                                                                                \
        } while (0)

/* Fails with the condition and every counter of the slot when `cond` is false. */
#define assert_locality(l, cond)                                                                                       \
        do {                                                                                                           \
                if (!(cond)) {                                                                                         \
                        char _text[1024];                                                                              \
                        fail_msg("%s is false; counters: %s", #cond, locality_text((l), _text, sizeof(_text)));        \
                }                                                                                                      \
        } while (0)

/* What every test shares: why they are skipped, the cgroup hierarchy the BPF
 * programs key on, and the topologies to load with. */
static struct {
        char skip_reason[4200]; /* non-empty: every test is skipped */
        char cgroup_root[256];
        const char *tasks_file; /* "tasks" (v1) or "cgroup.procs" (v2) */
        bool cgroup_v1;
        struct np_topology *host;     /* this machine */
        struct np_topology *two_node; /* this machine's CPUs 0-1 on node 0, and a memory-only node 1 */
        char tmp[PATH_MAX];
        unsigned int pin_roots_made;
} suite;

/* What one test holds; its teardown releases it, also when the test failed. */
struct env {
        enum np_monitor_attach attach; /* the flavour this test loads */
        struct np_monitor *monitors[MAX_HELD];
        unsigned int n_monitors;
        char pin_roots[MAX_HELD][PATH_MAX];
        unsigned int n_pin_roots;
        char cgroups[MAX_HELD][PATH_MAX];
        unsigned int n_cgroups;
        pid_t children[MAX_HELD];
        unsigned int n_children;
        char tmp[PATH_MAX];   /* a private folder, "" if none */
        char mount[PATH_MAX]; /* a bpffs the test had mounted, "" if none */
};

/* One step of a child's work. */
struct phase {
        uint64_t touch_bytes; /* anonymous memory written page by page */
        int pin_cpu;          /* >= 0: runs on this CPU only, first */
        unsigned int flips;   /* moves between CPU 0 and CPU 1 */
};

struct child {
        pid_t pid;
        int go_fd;   /* one byte starts the next phase */
        int done_fd; /* one byte per finished phase */
};

enum child_exit {
        CHILD_OK = 0,
        CHILD_NO_GO = 20,
        CHILD_MMAP_FAILED,
        CHILD_AFFINITY_FAILED,
};

static enum np_monitor_attach attach_btf = NP_MONITOR_ATTACH_BTF;
static enum np_monitor_attach attach_classic = NP_MONITOR_ATTACH_CLASSIC;

/* The names of the programs of bpf/locality.bpf.c (the kernel keeps their first
 * BPF_OBJ_NAME_LEN - 1 characters). */
static const char *const program_names[] = { "switch_btf",           "switch_classic",     "page_alloc_btf",
                                             "page_alloc_classic",   "migrate_btf",        "migrate_classic",
                                             "migrate_pages_btf6",   "migrate_pages_btf7", "migrate_pages_btf8",
                                             "migrate_pages_classic" };

static const char *attach_name(enum np_monitor_attach attach)
{
        return attach == NP_MONITOR_ATTACH_BTF ? "btf" : attach == NP_MONITOR_ATTACH_CLASSIC ? "classic" : "auto";
}

/* Errors that mean "no BPF here" (no privilege, lockdown, an old kernel), not a bug. */
static bool bpf_unavailable(int r)
{
        return r == -EPERM || r == -EACCES || r == -ENOSYS || r == -EOPNOTSUPP;
}

static char *locality_text(const struct np_locality *l, char *buf, size_t size)
{
        size_t used = 0;

        buf[0] = '\0';
        for (unsigned int n = 0; n < l->node_stride && used < size; n++)
                used += (size_t)snprintf(buf + used, size - used, "node%u{cpu_ns=%llu pages=%llu pages_local=%llu} ", n,
                                         (unsigned long long)l->nodes[n].cpu_ns, (unsigned long long)l->nodes[n].pages,
                                         (unsigned long long)l->nodes[n].pages_local);
        if (used < size)
                snprintf(buf + used, size - used,
                         "pages_outside=%llu pages_unknown_node=%llu migrations=%llu migrations_cross=%llu",
                         (unsigned long long)l->counters.pages_outside,
                         (unsigned long long)l->counters.pages_unknown_node, (unsigned long long)l->counters.migrations,
                         (unsigned long long)l->counters.migrations_cross);
        return buf;
}

static uint64_t total_pages(const struct np_locality *l)
{
        uint64_t pages = 0;

        for (unsigned int n = 0; n < l->node_stride; n++)
                pages += l->nodes[n].pages;
        return pages;
}

static uint64_t pages_of(uint64_t bytes)
{
        return bytes / (uint64_t)sysconf(_SC_PAGESIZE);
}

/* `pages` is within 3% of `expected` (the child's own page tables and stack come on top). */
static void assert_pages_near(const struct np_locality *l, uint64_t pages, uint64_t expected, const char *what)
{
        uint64_t slack = expected * 3 / 100;
        char text[1024];

        if (pages + slack < expected || pages > expected + slack)
                fail_msg("%s: %" PRIu64 " pages, expected %" PRIu64 " within 3%%; counters: %s", what, pages, expected,
                         locality_text(l, text, sizeof(text)));
}

static bool file_exists(const char *path)
{
        struct stat st;

        return lstat(path, &st) == 0;
}

/* Writes `text` to an existing file (a cgroup file), without O_CREAT or O_TRUNC. */
static int write_existing(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        ssize_t n;
        int saved;

        if (fd < 0)
                return -errno;
        n = write(fd, text, strlen(text));
        saved = errno;
        close(fd);
        return n == (ssize_t)strlen(text) ? 0 : -(n < 0 ? saved : EIO);
}

/* --- pin roots and cleanup ---------------------------------------------------------- */

/* Unpins every set below a pin root (this build's and any other dir), then removes it. */
static void remove_pin_root(const char *root)
{
        DIR *dir = opendir(root);
        struct dirent *entry;

        if (!dir)
                return;
        while ((entry = readdir(dir))) {
                char path[PATH_MAX * 2];
                struct stat st;

                if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                        continue;
                snprintf(path, sizeof(path), "%s/%s", root, entry->d_name);
                if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
                        np_monitor_remove(path);
                else
                        unlink(path);
        }
        closedir(dir);
        rmdir(root);
}

/* A pin root of this process that no other test uses; removed by the teardown. */
static const char *new_pin_root(struct env *env)
{
        char *root;

        assert_true(env->n_pin_roots < MAX_HELD);
        root = env->pin_roots[env->n_pin_roots++];
        snprintf(root, PATH_MAX, BPFFS "/numapin-test-%d-%u-%s", (int)getpid(), ++suite.pin_roots_made,
                 attach_name(env->attach));
        return root;
}

static void hold_monitor(struct env *env, struct np_monitor *monitor)
{
        assert_true(env->n_monitors < MAX_HELD);
        env->monitors[env->n_monitors++] = monitor;
}

static void set_attach_env(enum np_monitor_attach attach)
{
        if (attach == NP_MONITOR_ATTACH_AUTO)
                unsetenv("NUMAPIN_BPF_ATTACH");
        else
                setenv("NUMAPIN_BPF_ATTACH", attach_name(attach), 1);
}

/* Loads this test's flavour into a fresh pin root; skips the test when the kernel
 * does not let it load BPF. */
static struct np_monitor *load_monitor_at(struct env *env, const char *pin_root, const struct np_topology *topology,
                                          unsigned int slots)
{
        struct np_monitor *monitor = NULL;
        struct np_diag diag = {};
        int r;

        set_attach_env(env->attach);
        r = np_monitor_open(SYSFS, pin_root, topology, slots, true, &diag, &monitor);
        unsetenv("NUMAPIN_BPF_ATTACH");
        if (r < 0 && bpf_unavailable(r))
                skip_because("cannot load the %s programs here: %s", attach_name(env->attach), diag.message);
        if (r < 0)
                fail_msg("np_monitor_open(%s, %s): %s", pin_root, attach_name(env->attach), diag.message);
        hold_monitor(env, monitor);
        /* a fresh load says which flavour it attached */
        if (env->attach == NP_MONITOR_ATTACH_BTF &&
            (!strstr(monitor->attach, "mm_page_alloc=tp_btf") || strstr(monitor->attach, "=tracepoint")))
                fail_msg("NUMAPIN_BPF_ATTACH=btf, but attached: '%s'", monitor->attach);
        if (env->attach == NP_MONITOR_ATTACH_CLASSIC &&
            (!strstr(monitor->attach, "mm_page_alloc=tracepoint") || strstr(monitor->attach, "tp_btf")))
                fail_msg("NUMAPIN_BPF_ATTACH=classic, but attached: '%s'", monitor->attach);
        assert_int_equal(monitor->slots, slots);
        return monitor;
}

static struct np_monitor *load_monitor(struct env *env, const struct np_topology *topology, unsigned int slots)
{
        return load_monitor_at(env, new_pin_root(env), topology, slots);
}

/* --- cgroups and children ------------------------------------------------------------ */

/* Creates a cgroup of this process named `name`, on every CPU and memory node of
 * the root (v1: the cpuset files copied), and returns its path and id. */
static const char *make_cgroup(struct env *env, const char *name, uint64_t *ret_id)
{
        char *path;
        int r;

        assert_true(env->n_cgroups < MAX_HELD);
        path = env->cgroups[env->n_cgroups];
        snprintf(path, PATH_MAX, "%s/numapin-test-%d-%s", suite.cgroup_root, (int)getpid(), name);
        rmdir(path); /* left by a failed teardown */
        if (mkdir(path, 0755) < 0)
                fail_msg("cannot create the cgroup %s: %s", path, strerror(errno));
        env->n_cgroups++;
        if (suite.cgroup_v1) {
                static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };

                for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
                        char from[PATH_MAX + 32], to[PATH_MAX + 32];
                        _cleanup_free_ char *value = NULL;

                        snprintf(from, sizeof(from), "%s/%s", suite.cgroup_root, files[i]);
                        snprintf(to, sizeof(to), "%s/%s", path, files[i]);
                        value = np_test_read_file(from);
                        assert_non_null(value);
                        r = write_existing(to, value);
                        if (r < 0)
                                fail_msg("cannot write %s: %s", to, strerror(-r));
                }
        }
        r = np_monitor_cgroup_id(path, ret_id);
        if (r < 0)
                fail_msg("np_monitor_cgroup_id(%s): %s", path, strerror(-r));
        return path;
}

static void remove_cgroup(const char *path)
{
        /* a reaped child can keep a v1 cgroup busy for a moment */
        for (int i = 0; i < 200 && rmdir(path) < 0 && errno == EBUSY; i++)
                usleep(10000);
}

static int set_cpu(int cpu)
{
        cpu_set_t set;

        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        return sched_setaffinity(0, sizeof(set), &set);
}

/* This process may run on CPUs 0 and 1 (the cgroups copy the root's CPUs). */
static bool have_cpus_0_and_1(void)
{
        cpu_set_t set;

        CPU_ZERO(&set);
        return sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_ISSET(0, &set) && CPU_ISSET(1, &set);
}

static enum child_exit run_phase(const struct phase *phase)
{
        const struct timespec nap = { .tv_nsec = 2 * 1000 * 1000 };
        long page = sysconf(_SC_PAGESIZE);

        if (phase->pin_cpu >= 0 && set_cpu(phase->pin_cpu) < 0)
                return CHILD_AFFINITY_FAILED;
        if (phase->flips) {
                int cpu = sched_getcpu() == 0 ? 0 : 1;

                for (unsigned int i = 0; i < phase->flips; i++) {
                        cpu = 1 - cpu; /* always the other one: each flip moves the task */
                        if (set_cpu(cpu) < 0)
                                return CHILD_AFFINITY_FAILED;
                }
        }
        if (phase->touch_bytes) {
                volatile char *memory =
                        mmap(NULL, phase->touch_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

                if (memory == MAP_FAILED)
                        return CHILD_MMAP_FAILED;
                for (uint64_t offset = 0; offset < phase->touch_bytes; offset += (uint64_t)page)
                        memory[offset] = 1;
        }
        /* sleeping switches the task out, which credits its CPU time */
        nanosleep(&nap, NULL);
        return CHILD_OK;
}

static void child_main(int go_fd, int done_fd, const struct phase *phases, unsigned int n_phases)
{
        for (unsigned int i = 0; i < n_phases; i++) {
                enum child_exit code;
                char byte;

                if (read(go_fd, &byte, 1) != 1)
                        _exit(CHILD_NO_GO);
                code = run_phase(&phases[i]);
                if (code != CHILD_OK)
                        _exit(code);
                if (write(done_fd, &byte, 1) != 1)
                        _exit(CHILD_NO_GO);
        }
        _exit(CHILD_OK);
}

/* Forks a child that waits for its first phase, and moves it into `cgroup`. */
static void child_start(struct env *env, struct child *child, const char *cgroup, const struct phase *phases,
                        unsigned int n_phases)
{
        char tasks[PATH_MAX + 32], pid_text[32];
        int go[2], done[2], r;
        unsigned int held = 0;

        while (held < env->n_children && env->children[held] > 0)
                held++; /* a slot of a child that was reaped, or a new one */
        assert_true(held < MAX_HELD);
        assert_int_equal(pipe2(go, O_CLOEXEC), 0);
        assert_int_equal(pipe2(done, O_CLOEXEC), 0);
        child->pid = fork();
        assert_true(child->pid >= 0);
        if (child->pid == 0) {
                close(go[1]);
                close(done[0]);
                child_main(go[0], done[1], phases, n_phases);
        }
        close(go[0]);
        close(done[1]);
        child->go_fd = go[1];
        child->done_fd = done[0];
        env->children[held] = child->pid;
        env->n_children = MAX(env->n_children, held + 1);

        snprintf(tasks, sizeof(tasks), "%s/%s", cgroup, suite.tasks_file);
        snprintf(pid_text, sizeof(pid_text), "%d", (int)child->pid);
        r = write_existing(tasks, pid_text);
        if (r < 0)
                fail_msg("cannot move child %d into %s: %s", (int)child->pid, tasks, strerror(-r));
}

static void child_finish(struct env *env, struct child *child)
{
        int status;

        close(child->go_fd);
        close(child->done_fd);
        assert_int_equal(waitpid(child->pid, &status, 0), child->pid);
        for (unsigned int i = 0; i < env->n_children; i++)
                if (env->children[i] == child->pid)
                        env->children[i] = 0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != CHILD_OK)
                fail_msg("child %d ended with status 0x%x (20: no go, 21: mmap failed, 22: sched_setaffinity failed)",
                         (int)child->pid, status);
}

/* Runs the child's next phase and waits until it is done. */
static void child_run_phase(struct env *env, struct child *child)
{
        char byte = 'g';

        assert_int_equal(write(child->go_fd, &byte, 1), 1);
        if (read(child->done_fd, &byte, 1) != 1)
                child_finish(env, child); /* it ended early: fails with its status */
}

/* A child in `cgroup` that runs `phase` and exits. */
static void run_child(struct env *env, const char *cgroup, struct phase phase)
{
        struct child child;

        child_start(env, &child, cgroup, &phase, 1);
        child_run_phase(env, &child);
        child_finish(env, &child);
}

/* --- monitor helpers ------------------------------------------------------------------ */

static void watch(struct np_monitor *monitor, uint64_t cgroup_id, uint32_t slot, const char *mems)
{
        struct np_cpulist nodes = np_test_cpulist(mems);
        struct np_diag diag = {};

        if (np_monitor_watch(monitor, cgroup_id, slot, &nodes, &diag) < 0)
                fail_msg("np_monitor_watch(%" PRIu64 ", slot %u): %s", cgroup_id, slot, diag.message);
}

static struct np_locality read_slot(const struct np_monitor *monitor, uint32_t slot)
{
        struct np_locality locality;
        int r = np_monitor_read(monitor, slot, &locality);

        if (r < 0)
                fail_msg("np_monitor_read(slot %u): %s", slot, strerror(-r));
        return locality;
}

static unsigned int watched_count(const struct np_monitor *monitor)
{
        unsigned int count = 0;

        assert_int_equal(np_monitor_count(monitor, &count), 0);
        return count;
}

static void set_cpu_node(struct np_monitor *monitor, uint32_t cpu, uint32_t node)
{
        int r = np_monitor_set_cpu_node(monitor, cpu, node);

        if (r < 0)
                fail_msg("np_monitor_set_cpu_node(%u, %u): %s", cpu, node, strerror(-r));
}

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

static void require_bpf(void)
{
        if (suite.skip_reason[0])
                skip_because("%s", suite.skip_reason);
}

static void require_cpus_0_and_1(void)
{
        if (!have_cpus_0_and_1())
                skip_because("needs CPUs 0 and 1 to move a task between them");
}

/* --- setup and teardown ---------------------------------------------------------------- */

static int env_setup(void **state)
{
        const enum np_monitor_attach *attach = *state;
        struct env *env = calloc(1, sizeof(*env));

        assert_non_null(env);
        env->attach = attach ? *attach : NP_MONITOR_ATTACH_AUTO;
        *state = env;
        return 0;
}

static int env_teardown(void **state)
{
        struct env *env = *state;

        for (unsigned int i = 0; i < env->n_children; i++)
                if (env->children[i] > 0) {
                        kill(env->children[i], SIGKILL);
                        waitpid(env->children[i], NULL, 0);
                }
        for (unsigned int i = 0; i < env->n_monitors; i++)
                np_monitor_close(env->monitors[i]);
        for (unsigned int i = 0; i < env->n_pin_roots; i++)
                remove_pin_root(env->pin_roots[i]);
        for (unsigned int i = 0; i < env->n_cgroups; i++)
                remove_cgroup(env->cgroups[i]);
        if (env->mount[0] && umount2(env->mount, 0) < 0)
                print_message("# cannot unmount %s: %s\n", env->mount, strerror(errno));
        if (env->tmp[0])
                np_test_rmtree(env->tmp);
        unsetenv("NUMAPIN_BPF_ATTACH");
        free(env);
        return 0;
}

/* Pin roots and cgroups named numapin-test-<pid>-... of processes that are gone
 * (a run that was killed). */
static void remove_stale(const char *parent, bool pin_roots)
{
        DIR *dir = opendir(parent);
        struct dirent *entry;

        if (!dir)
                return;
        while ((entry = readdir(dir))) {
                char path[PATH_MAX * 2];
                int pid;

                if (sscanf(entry->d_name, "numapin-test-%d-", &pid) != 1 || pid <= 0)
                        continue;
                if (kill(pid, 0) == 0 || errno != ESRCH)
                        continue; /* its process still runs */
                snprintf(path, sizeof(path), "%s/%s", parent, entry->d_name);
                if (pin_roots)
                        remove_pin_root(path);
                else
                        remove_cgroup(path);
        }
        closedir(dir);
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

/* Loads the programs once (the flavour the kernel prefers): when the kernel refuses
 * BPF here, every test is skipped, also those that would not load anything. */
static void probe_bpf(void)
{
        struct np_monitor *monitor = NULL;
        struct np_diag diag = {};
        char pin_root[PATH_MAX];
        int r;

        snprintf(pin_root, sizeof(pin_root), BPFFS "/numapin-test-%d-probe", (int)getpid());
        r = np_monitor_open(SYSFS, pin_root, suite.host, 1, true, &diag, &monitor);
        if (monitor)
                np_monitor_close(monitor);
        remove_pin_root(pin_root);
        if (r < 0 && bpf_unavailable(r))
                snprintf(suite.skip_reason, sizeof(suite.skip_reason), "cannot load BPF programs here: %s",
                         diag.message);
        /* any other failure is left for the tests to report */
}

static int suite_setup(void **state)
{
        struct np_diag diag = {};
        char sysfs[PATH_MAX + 16];
        struct stat st;

        unsetenv("NUMAPIN_BPF_ATTACH"); /* the tests choose the flavour */
        np_test_mkdtemp(suite.tmp, sizeof(suite.tmp));
        make_two_node_fixture(np_test_path(sysfs, sizeof(sysfs), suite.tmp, "two-node"));
        if (geteuid() != 0) {
                snprintf(suite.skip_reason, sizeof(suite.skip_reason),
                         "needs root (loads BPF programs and creates cgroups)");
                return 0;
        }
        /* the BPF programs key on the v2 cgroup, or on the v1 cpuset one when
         * /sys/fs/cgroup is not cgroup2 (core/monitor-load.c decides the same way) */
        if (stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0) {
                snprintf(suite.cgroup_root, sizeof(suite.cgroup_root), "/sys/fs/cgroup");
                suite.tasks_file = "cgroup.procs";
        } else if (stat("/sys/fs/cgroup/cpuset/tasks", &st) == 0) {
                snprintf(suite.cgroup_root, sizeof(suite.cgroup_root), "/sys/fs/cgroup/cpuset");
                suite.tasks_file = "tasks";
                suite.cgroup_v1 = true;
        } else {
                snprintf(suite.skip_reason, sizeof(suite.skip_reason),
                         "neither cgroup2 on /sys/fs/cgroup nor a v1 cpuset hierarchy on /sys/fs/cgroup/cpuset");
                return 0;
        }
        if (np_topology_load("/sys", &diag, &suite.host) < 0) {
                snprintf(suite.skip_reason, sizeof(suite.skip_reason), "cannot read this machine's topology: %s",
                         diag.message);
                return 0;
        }
        remove_stale(BPFFS, true);
        remove_stale(suite.cgroup_root, false);
        probe_bpf();
        return 0;
}

static int suite_teardown(void **state)
{
        np_topology_free(suite.host);
        np_topology_free(suite.two_node);
        np_test_rmtree(suite.tmp);
        return 0;
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
        assert_int_equal(links, 4); /* sched_switch, mm_page_alloc, sched_migrate_task, mm_migrate_pages */
        cgroup = make_cgroup(env, "after-race", &id);
        watch(monitor, id, 0, "0");
        run_child(env, cgroup, (struct phase){ .touch_bytes = 64 * MIB, .pin_cpu = -1 });
        l = read_slot(monitor, 0);
        assert_pages_near(&l, total_pages(&l), pages_of(64 * MIB), "pages counted after the concurrent loads");
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

/* --- bad states ---------------------------------------------------------------------------- */

static void test_monitor_pmu_tier_reports_unavailable_without_a_pmu_never_zero(void **state)
{
        struct env *env = *state;
        struct np_bpf_pmu_info info;
        struct np_monitor *monitor;

        require_bpf();
        if (access("/sys/bus/event_source/devices/cpu", F_OK) == 0)
                skip(); /* a machine with a PMU: the next test covers it */
        monitor = load_monitor(env, suite.host, 8);
        assert_int_equal(np_monitor_pmu(monitor, &info), 0);
        assert_int_equal(info.live, 0);
        assert_non_null(strstr(info.text, "no CPU PMU"));
}

static void test_monitor_pmu_tier_credits_each_cpus_events_to_the_watched_task(void **state)
{
        struct env *env = *state;
        struct np_bpf_pmu_info info;
        struct np_monitor *monitor;
        struct np_locality l;
        const char *cgroup;
        uint64_t id;

        require_bpf();
        /* two software events stand in for the DRAM ones: the holder process, the
         * per-CPU event array and the crediting at sched_switch are the real ones */
        setenv("NUMAPIN_PMU", "software", 1);
        monitor = load_monitor(env, suite.host, 8);
        unsetenv("NUMAPIN_PMU");
        assert_int_equal(np_monitor_pmu(monitor, &info), 0);
        assert_int_equal(info.live, 1);
        cgroup = make_cgroup(env, "pmu", &id);
        watch(monitor, id, 2, "0");
        run_child(env, cgroup, (struct phase){ .touch_bytes = 64 * MIB, .pin_cpu = -1 });
        l = read_slot(monitor, 2);
        /* cpu-clock as "local": nanoseconds on the CPU; page-faults as "remote" */
        assert_locality(&l, l.counters.pmu_local > 1000000);
        assert_locality(&l, l.counters.pmu_remote >= pages_of(64 * MIB) / 2);
        assert_locality(&l, l.counters.pmu_remote <= pages_of(64 * MIB) * 2);
}

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

static void test_monitor_open_ignores_a_pin_dir_left_by_an_older_build(void **state)
{
        struct env *env = *state;
        const char *pin_root = new_pin_root(env);
        char old_dir[PATH_MAX + 32], old_map[PATH_MAX + 64], own_dir[PATH_MAX];
        struct bpf_map_info old_info = {}, own_info = {};
        __u32 len = sizeof(old_info);
        struct np_monitor *monitor;
        _cleanup_close_ int old_fd = -1;
        uint64_t key;

        require_bpf();
        assert_int_equal(mkdir(pin_root, 0700), 0);
        np_test_path(old_dir, sizeof(old_dir), pin_root, "0000000000000000");
        assert_int_equal(mkdir(old_dir, 0700), 0);
        old_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "watched", sizeof(__u64), sizeof(__u32), 16, NULL);
        if (old_fd < 0 && bpf_unavailable(-errno))
                skip_because("cannot create a BPF map here: %s", strerror(errno));
        assert_true(old_fd >= 0);
        assert_int_equal(bpf_obj_pin(old_fd, np_test_path(old_map, sizeof(old_map), old_dir, "watched")), 0);

        monitor = load_monitor_at(env, pin_root, suite.host, 4);
        assert_int_equal(np_monitor_dir(pin_root, own_dir, sizeof(own_dir)), 0);
        assert_string_equal(monitor->dir, own_dir);
        assert_string_not_equal(monitor->dir, old_dir);
        assert_true(file_exists(old_map)); /* left for np_monitor_remove, once nothing uses it */
        assert_int_equal(np_test_count_entries(pin_root), 2);
        assert_int_equal(bpf_obj_get_info_by_fd(old_fd, &old_info, &len), 0);
        len = sizeof(own_info);
        assert_int_equal(bpf_obj_get_info_by_fd(monitor->watched_fd, &own_info, &len), 0);
        assert_int_not_equal(own_info.id, old_info.id);

        watch(monitor, 4242, 0, "0");
        assert_int_equal(bpf_map_get_next_key(old_fd, NULL, &key), -ENOENT);
}

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
        watch(monitor, id, 3, "0");
        run_child(env, cgroup, (struct phase){ .touch_bytes = 64 * MIB, .pin_cpu = -1 });
        l = read_slot(monitor, 3);
        other = read_slot(monitor, 5);
        assert_pages_near(&l, total_pages(&l), pages_of(64 * MIB), "pages of a child whose id overflowed");
        assert_locality(&other, total_pages(&other) == 0);
}

int main(void)
{
#define VARIANT_TEST(test, variant)                                                                                    \
        ((struct CMUnitTest){ .name = #test "_" #variant,                                                              \
                              .test_func = test,                                                                       \
                              .setup_func = env_setup,                                                                 \
                              .teardown_func = env_teardown,                                                           \
                              .initial_state = &attach_##variant })
#define BOTH(test)     VARIANT_TEST(test, btf), VARIANT_TEST(test, classic)
#define ONE_TEST(test) cmocka_unit_test_setup_teardown(test, env_setup, env_teardown)
        const struct CMUnitTest tests[] = {
                BOTH(test_monitor_counts_each_page_a_watched_child_touches_as_local_on_node_0),
                BOTH(test_monitor_counts_nothing_for_a_child_in_an_unwatched_cgroup),
                BOTH(test_monitor_counts_nothing_for_a_slot_after_unwatch),
                BOTH(test_monitor_pinned_set_keeps_counting_after_the_loading_process_exits),
                BOTH(test_monitor_second_open_reuses_the_pinned_set_without_new_links),
                ONE_TEST(test_monitor_concurrent_first_opens_leave_one_complete_attached_set),
                /* only the classic page program reads the node from a table a test can fake */
                VARIANT_TEST(test_monitor_counts_pages_of_a_faked_node_1_as_remote_and_outside_mems, classic),
                VARIANT_TEST(test_monitor_counts_pages_as_local_when_the_cpu_table_puts_cpu_0_on_their_node, classic),
                BOTH(test_monitor_counts_migrations_between_cpus_of_two_nodes_as_cross_node),
                BOTH(test_monitor_counts_no_cross_node_migrations_between_cpus_of_one_node),
                VARIANT_TEST(test_monitor_pmu_tier_reports_unavailable_without_a_pmu_never_zero, btf),
                VARIANT_TEST(test_monitor_pmu_tier_credits_each_cpus_events_to_the_watched_task, btf),
                ONE_TEST(test_monitor_open_mounts_bpffs_on_a_pin_root_parent_that_is_not_bpffs),
                ONE_TEST(test_monitor_open_fails_naming_a_pin_root_parent_that_cannot_hold_a_mount),
                ONE_TEST(test_monitor_open_refuses_a_pin_root_without_a_parent_dir),
                ONE_TEST(test_monitor_open_ignores_a_pin_dir_left_by_an_older_build),
                ONE_TEST(test_monitor_watch_reports_a_full_map_and_sweep_unwatches_dead_slots),
                BOTH(test_monitor_counts_a_cgroup_whose_index_entry_another_holds),
        };
#undef ONE_TEST
#undef BOTH
#undef VARIANT_TEST

        return cmocka_run_group_tests(tests, suite_setup, suite_teardown);
}
