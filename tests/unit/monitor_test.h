/* SPDX-License-Identifier: MIT */
/* What the locality monitor's three test binaries share (test_monitor, test_monitor_load,
 * test_monitor_pmu): the suite's environment and skip reason (root, BPF, the cgroup
 * hierarchy the programs key on), each test's held monitors, pin roots, cgroups and child
 * workloads with their teardown, and the helpers that load, watch and read. After <cmocka.h>. */
#pragma once

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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
        struct np_topology *two_node; /* test_monitor_load: CPUs 0-1 on node 0, a memory-only node 1 */
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
        const char *join;     /* non-NULL: the tasks file of a cgroup the child moves itself into, first */
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
        CHILD_JOIN_FAILED,
};

/* The initial states of VARIANT_TEST (a binary may use one flavour only). */
_unused_ static enum np_monitor_attach attach_btf = NP_MONITOR_ATTACH_BTF;
_unused_ static enum np_monitor_attach attach_classic = NP_MONITOR_ATTACH_CLASSIC;

static inline const char *attach_name(enum np_monitor_attach attach)
{
        return attach == NP_MONITOR_ATTACH_BTF ? "btf" : attach == NP_MONITOR_ATTACH_CLASSIC ? "classic" : "auto";
}

/* Errors that mean "no BPF here" (no privilege, lockdown, an old kernel), not a
 * bug. As root, -EACCES is the verifier refusing a program: a failure, not a skip. */
static inline bool bpf_unavailable(int r)
{
        return r == -EPERM || (r == -EACCES && geteuid() != 0) || r == -ENOSYS || r == -EOPNOTSUPP;
}

static inline char *locality_text(const struct np_locality *l, char *buf, size_t size)
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

static inline uint64_t total_pages(const struct np_locality *l)
{
        uint64_t pages = 0;

        for (unsigned int n = 0; n < l->node_stride; n++)
                pages += l->nodes[n].pages;
        return pages;
}

static inline uint64_t pages_of(uint64_t bytes)
{
        return bytes / (uint64_t)sysconf(_SC_PAGESIZE);
}

/* `pages` is within 3% of `expected` (the child's own page tables and stack come on top). */
static inline void assert_pages_near(const struct np_locality *l, uint64_t pages, uint64_t expected, const char *what)
{
        uint64_t slack = expected * 3 / 100;
        char text[1024];

        if (pages + slack < expected || pages > expected + slack)
                fail_msg("%s: %" PRIu64 " pages, expected %" PRIu64 " within 3%%; counters: %s", what, pages, expected,
                         locality_text(l, text, sizeof(text)));
}

static inline bool file_exists(const char *path)
{
        struct stat st;

        return lstat(path, &st) == 0;
}

/* Writes `text` to an existing file (a cgroup file), without O_CREAT or O_TRUNC. */
static inline int write_existing(const char *path, const char *text)
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
static inline void remove_pin_root(const char *root)
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
                if (snprintf(path, sizeof(path), "%s/%s", root, entry->d_name) >= (int)sizeof(path))
                        continue; /* too long to be one of this suite's */
                if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
                        np_monitor_remove(path);
                else
                        unlink(path);
        }
        closedir(dir);
        rmdir(root);
}

/* A pin root of this process that no other test uses; removed by the teardown. */
static inline const char *new_pin_root(struct env *env)
{
        char *root;

        assert_true(env->n_pin_roots < MAX_HELD);
        root = env->pin_roots[env->n_pin_roots++];
        snprintf(root, PATH_MAX, BPFFS "/numapin-test-%d-%u-%s", (int)getpid(), ++suite.pin_roots_made,
                 attach_name(env->attach));
        return root;
}

static inline void hold_monitor(struct env *env, struct np_monitor *monitor)
{
        assert_true(env->n_monitors < MAX_HELD);
        env->monitors[env->n_monitors++] = monitor;
}

static inline void set_attach_env(enum np_monitor_attach attach)
{
        if (attach == NP_MONITOR_ATTACH_AUTO)
                unsetenv("NUMAPIN_BPF_ATTACH");
        else
                setenv("NUMAPIN_BPF_ATTACH", attach_name(attach), 1);
}

/* Loads this test's flavour into a fresh pin root; skips the test when the kernel
 * does not let it load BPF. */
static inline struct np_monitor *load_monitor_at(struct env *env, const char *pin_root,
                                                 const struct np_topology *topology, unsigned int slots)
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

static inline struct np_monitor *load_monitor(struct env *env, const struct np_topology *topology, unsigned int slots)
{
        return load_monitor_at(env, new_pin_root(env), topology, slots);
}

/* --- cgroups and children ------------------------------------------------------------ */

/* Creates a cgroup of this process named `name`, on every CPU and memory node of
 * the root (v1: the cpuset files copied), and returns its path and id. */
static inline const char *make_cgroup(struct env *env, const char *name, uint64_t *ret_id)
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

static inline void remove_cgroup(const char *path)
{
        /* a reaped child can keep a v1 cgroup busy for a moment */
        for (int i = 0; i < 200 && rmdir(path) < 0 && errno == EBUSY; i++)
                usleep(10000);
}

static inline int set_cpu(int cpu)
{
        cpu_set_t set;

        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        return sched_setaffinity(0, sizeof(set), &set);
}

/* This process may run on CPUs 0 and 1 (the cgroups copy the root's CPUs). */
static inline bool have_cpus_0_and_1(void)
{
        cpu_set_t set;

        CPU_ZERO(&set);
        return sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_ISSET(0, &set) && CPU_ISSET(1, &set);
}

static inline enum child_exit run_phase(const struct phase *phase)
{
        const struct timespec nap = { .tv_nsec = 2 * 1000 * 1000 };
        long page = sysconf(_SC_PAGESIZE);

        /* "0": the writer itself, moved while it runs */
        if (phase->join && write_existing(phase->join, "0") < 0)
                return CHILD_JOIN_FAILED;
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

static inline void child_main(int go_fd, int done_fd, const struct phase *phases, unsigned int n_phases)
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
static inline void child_start(struct env *env, struct child *child, const char *cgroup, const struct phase *phases,
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

static inline void child_finish(struct env *env, struct child *child)
{
        int status;

        close(child->go_fd);
        close(child->done_fd);
        assert_int_equal(waitpid(child->pid, &status, 0), child->pid);
        for (unsigned int i = 0; i < env->n_children; i++)
                if (env->children[i] == child->pid)
                        env->children[i] = 0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != CHILD_OK)
                fail_msg("child %d ended with status 0x%x (20: no go, 21: mmap failed, 22: sched_setaffinity failed, "
                         "23: cannot join the cgroup)",
                         (int)child->pid, status);
}

/* Runs the child's next phase and waits until it is done. */
static inline void child_run_phase(struct env *env, struct child *child)
{
        char byte = 'g';

        assert_int_equal(write(child->go_fd, &byte, 1), 1);
        if (read(child->done_fd, &byte, 1) != 1)
                child_finish(env, child); /* it ended early: fails with its status */
}

/* A child in `cgroup` that runs `phase` and exits. */
static inline void run_child(struct env *env, const char *cgroup, struct phase phase)
{
        struct child child;

        child_start(env, &child, cgroup, &phase, 1);
        child_run_phase(env, &child);
        child_finish(env, &child);
}

/* --- monitor helpers ------------------------------------------------------------------ */

static inline void watch(struct np_monitor *monitor, uint64_t cgroup_id, uint32_t slot, const char *mems)
{
        struct np_cpulist nodes = np_test_cpulist(mems);
        struct np_diag diag = {};

        if (np_monitor_watch(monitor, cgroup_id, slot, &nodes, &diag) < 0)
                fail_msg("np_monitor_watch(%" PRIu64 ", slot %u): %s", cgroup_id, slot, diag.message);
}

static inline struct np_locality read_slot(const struct np_monitor *monitor, uint32_t slot)
{
        struct np_locality locality;
        int r = np_monitor_read(monitor, slot, &locality);

        if (r < 0)
                fail_msg("np_monitor_read(slot %u): %s", slot, strerror(-r));
        return locality;
}

static inline unsigned int watched_count(const struct np_monitor *monitor)
{
        unsigned int count = 0;

        assert_int_equal(np_monitor_count(monitor, &count), 0);
        return count;
}

static inline void require_bpf(void)
{
        if (suite.skip_reason[0])
                skip_because("%s", suite.skip_reason);
}

/* --- setup and teardown ---------------------------------------------------------------- */

static inline int env_setup(void **state)
{
        const enum np_monitor_attach *attach = *state;
        struct env *env = calloc(1, sizeof(*env));

        assert_non_null(env);
        env->attach = attach ? *attach : NP_MONITOR_ATTACH_AUTO;
        *state = env;
        return 0;
}

static inline int env_teardown(void **state)
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
static inline void remove_stale(const char *parent, bool pin_roots)
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

/* Loads the programs once (the flavour the kernel prefers): when the kernel refuses
 * BPF here, every test is skipped, also those that would not load anything. */
static inline void probe_bpf(void)
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

static inline int suite_setup(void **state)
{
        struct np_diag diag = {};
        struct stat st;

        unsetenv("NUMAPIN_BPF_ATTACH"); /* the tests choose the flavour */
        np_test_mkdtemp(suite.tmp, sizeof(suite.tmp));
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

static inline int suite_teardown(void **state)
{
        np_topology_free(suite.host);
        np_topology_free(suite.two_node);
        np_test_rmtree(suite.tmp);
        return 0;
}

/* The test list's entries: a test with one flavour, with both, or once with the kernel's choice. */
#define VARIANT_TEST(test, variant)                                                                                    \
        ((struct CMUnitTest){ .name = #test "_" #variant,                                                              \
                              .test_func = test,                                                                       \
                              .setup_func = env_setup,                                                                 \
                              .teardown_func = env_teardown,                                                           \
                              .initial_state = &attach_##variant })
#define BOTH(test)     VARIANT_TEST(test, btf), VARIANT_TEST(test, classic)
#define ONE_TEST(test) cmocka_unit_test_setup_teardown(test, env_setup, env_teardown)
