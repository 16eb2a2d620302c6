// SPDX-License-Identifier: MIT
/* The locality monitor's cost, for `make bench` (root). (1) Its programs' run time
 * per event (BPF run-time stats) on each tracepoint, against empty programs attached
 * to the same tracepoints in the same flavour (tests/bench/empty.bpf.c), with the
 * workload's cgroup watched alone, among 10,000 watched cgroups, and not watched;
 * the workload drives each tracepoint hard (pipe round trips on one CPU, moves of
 * queued tasks between CPUs, fresh memory), so the figures are of warm programs.
 * (2) A page-fault-heavy workload's run time with the monitor attached and its
 * cgroup watched, against no programs attached (and against the empty programs),
 * and beside it what (1)'s mm_page_alloc figures make of it.
 * Each figure goes beside its goal into $NUMAPIN_BENCH_GOALS (tests/bench/run.sh).
 * The workload runs in a cgroup of its own, under a private pin root; pins, cgroup
 * and stats fd are removed on every exit path, SIGINT and SIGTERM included.
 * usage: bench_bpf PIN-ROOT CGROUP-NAME */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "empty.skel.h"

#include "../../core/config.h"
#include "../../core/fileio.h"
#include "../../core/monitor.h"
#include "../../core/topology.h"

#define CROWD_SLOTS  16384               /* the monitor's maps for the 10,000-cgroup figure */
#define CROWD        10000               /* watched cgroups: the workload's and 9,999 fake ids */
#define FAKE_ID_BASE (UINT64_C(1) << 62) /* above any inode number: no cgroup has these ids */
#define ROUNDS       3                   /* of the three phases below, in rotating order */
#define WARM_UP      10                  /* the warm-up phase runs 1/WARM_UP of a phase's workload */
#define SWITCH_TRIPS 500000              /* pipe round trips per phase: sched_switch */
#define MIGRATIONS   1000000             /* moves of queued tasks between CPUs per phase: sched_migrate_task */
#define MOVED_TASKS  4                   /* the SCHED_IDLE spinners moved */
#define COST_MIB     4096                /* fresh memory touched per phase: mm_page_alloc */
#define CHUNK_MIB    256                 /* ... in chunks of this, each freed before the next */
#define MIN_EVENTS   200                 /* per phase, to report a tracepoint's cost */
#define GOAL_EVENTS  1000000             /* per phase, for a figure to count against its goal */
#define GOAL_RATIO   1.5                 /* numapin's program against the empty one, per event */
#define GOAL_CROWD   1.05                /* 10,000 watched cgroups against 1 */
#define GOAL_FAULTS  1.0                 /* % the page-fault workload may lose beyond the empty programs */
#define FAULT_MIB    256                 /* the page-fault workload */
#define FAULT_ROUNDS 20                  /* of the three setups in rotating order */
#define FAULT_RUNS   3                   /* timed runs per setup and round, after an untimed one: the fastest */

enum phase {
        PHASE_ONE,       /* the workload's cgroup is the only one watched */
        PHASE_CROWD,     /* ... among 10,000 */
        PHASE_UNWATCHED, /* nothing watched: the filter alone */
        N_PHASES,
};

enum tracepoint_index {
        TP_SWITCH,
        TP_PAGE_ALLOC,
        TP_MIGRATE,
        TP_MIGRATE_PAGES,
};

/* The tracepoints, each with numapin's program names without their flavour. */
static const struct tracepoint {
        const char *name;
        const char *prog;       /* <prog>_classic, <prog>_btf or <prog>_btf<n> */
        const char *not_driven; /* why the workload may not reach MIN_EVENTS */
} tracepoints[] = {
        [TP_SWITCH] = { "sched_switch", "switch", NULL },
        [TP_PAGE_ALLOC] = { "mm_page_alloc", "page_alloc", NULL },
        [TP_MIGRATE] = { "sched_migrate_task", "migrate", "needs two CPUs" },
        [TP_MIGRATE_PAGES] = { "mm_migrate_pages", "migrate_pages",
                               "only page migration drives it: NUMA balancing, compaction" },
};
#define N_TRACEPOINTS ARRAY_SIZE(tracepoints)

/* One tracepoint as measured: numapin's program and the empty one. */
struct probe {
        bool present; /* numapin attached a program there */
        bool btf;     /* tp_btf, else the classic tracepoint */
        int numapin_fd;
        int empty_fd;
        struct bpf_link *empty_link;
};

struct run_stats {
        uint64_t ns;
        uint64_t count;
        uint64_t misses; /* runs skipped: the program was already running on that CPU */
};

/* What one phase measured, per tracepoint and for the workload. */
struct phase_result {
        struct run_stats numapin[N_TRACEPOINTS];
        struct run_stats empty[N_TRACEPOINTS];
        uint64_t switches;   /* context switches of the workload's tasks */
        uint64_t migrations; /* affinity changes that moved the workload */
};

/* What the workload asks of the worker, and its answer. */
struct request {
        char command; /* 's' switches, 'm' migrations, 'f' page faults, 'c' the same in chunks */
        unsigned int amount;
};

struct reply {
        int error; /* -errno */
        uint64_t ns;
        uint64_t switches;
        uint64_t migrations;
};

struct bench {
        const char *pin_root;
        char cgroup[PATH_MAX];
        int cgroup_fd;
        bool cgroup_v1;
        const struct np_topology *topology;
        struct np_monitor *monitor;
        bool real_watched;
        bool crowd_watched;
        struct empty_bpf *empty;
        struct probe probes[N_TRACEPOINTS];
        int stats_fd;
        /* from (1), for (2)'s estimate: mm_page_alloc's run time per event beyond the
         * empty program's, and its events per page of the fresh memory touched */
        double page_alloc_beyond_ns;
        double page_allocs_per_page;
        pid_t worker;
        int request_fd;
        int reply_fd;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
        interrupted = 1;
}

static uint64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int compare_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static double median(double *values, size_t n)
{
        qsort(values, n, sizeof(values[0]), compare_double);
        return n ? values[(n - 1) / 2] : 0;
}

/* --- the worker: runs the workload inside the cgroup ---------------------------------- */

/* Touches `mib` MiB of fresh anonymous memory, one write per 4-KiB page (THP off):
 * one page fault and one mm_page_alloc per page. */
static int touch_fresh_memory(unsigned int mib, uint64_t *ret_ns)
{
        size_t size = (size_t)mib << 20, page = (size_t)sysconf(_SC_PAGESIZE);
        uint64_t start;
        char *memory;

        memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED)
                return -errno;
        if (madvise(memory, size, MADV_NOHUGEPAGE) < 0 && errno != EINVAL) {
                int r = -errno;
                munmap(memory, size);
                return r;
        }
        start = now_ns();
        for (size_t i = 0; i < size; i += page)
                ((volatile char *)memory)[i] = 1;
        *ret_ns = now_ns() - start;
        munmap(memory, size);
        return 0;
}

/* `mib` MiB of fresh memory touched as touch_fresh_memory does, CHUNK_MIB at a
 * time, each chunk freed before the next: the freed pages are faulted in again
 * before the guest hands them back to its host (one 4 GiB mapping took 10-14 s
 * here, with every page's host memory faulted in anew). */
static int touch_fresh_chunks(unsigned int mib, uint64_t *ret_ns)
{
        uint64_t ns, total = 0;
        int r = 0;

        for (unsigned int done = 0; r == 0 && done < mib; done += CHUNK_MIB) {
                r = touch_fresh_memory(CHUNK_MIB, &ns);
                total += ns;
        }
        *ret_ns = total;
        return r;
}

static uint64_t context_switches(int who)
{
        struct rusage usage;

        if (getrusage(who, &usage) < 0)
                return 0;
        return (uint64_t)usage.ru_nvcsw + (uint64_t)usage.ru_nivcsw;
}

/* `trips` one-byte round trips with a child over two pipes, both on one CPU (each
 * blocks, so each is a context switch). */
static int ping_pong(unsigned int trips, uint64_t *ret_switches, uint64_t *ret_migrations)
{
        uint64_t before = context_switches(RUSAGE_SELF) + context_switches(RUSAGE_CHILDREN), migrations = 0;
        int there[2], back[2], status, r = 0, n_cpus = 0, cpus[CPU_SETSIZE];
        cpu_set_t allowed;
        pid_t partner;

        if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
                return -errno;
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
                if (CPU_ISSET(cpu, &allowed))
                        cpus[n_cpus++] = cpu;
        if (pipe2(there, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(back, O_CLOEXEC) < 0) {
                r = -errno;
                close(there[0]);
                close(there[1]);
                return r;
        }
        /* both on one CPU: a round trip then costs no IPI (tens of us in this VM) */
        if (n_cpus > 1) {
                cpu_set_t one;

                CPU_ZERO(&one);
                CPU_SET(cpus[0], &one);
                sched_setaffinity(0, sizeof(one), &one);
        }
        partner = fork();
        if (partner == 0) {
                char c;

                close(there[1]);
                close(back[0]);
                while (read(there[0], &c, 1) == 1)
                        if (write(back[1], &c, 1) != 1)
                                _exit(1);
                _exit(0);
        }
        close(there[0]);
        close(back[1]);
        if (partner < 0)
                r = -errno;
        for (unsigned int i = 0; r == 0 && i < trips; i++) {
                char c = 'x';

                if (write(there[1], &c, 1) != 1 || read(back[0], &c, 1) != 1)
                        r = -EIO;
        }
        close(there[1]); /* the partner reads EOF and exits */
        close(back[0]);
        if (partner > 0 && waitpid(partner, &status, 0) < 0 && r == 0)
                r = -errno;
        sched_setaffinity(0, sizeof(allowed), &allowed);
        if (r < 0)
                return r;
        *ret_switches = context_switches(RUSAGE_SELF) + context_switches(RUSAGE_CHILDREN) - before;
        *ret_migrations = migrations;
        return 0;
}

/* `moves` sched_migrate_task events at the rate a move costs, not at the rate of
 * the stopper thread that moving a running task needs (~100 us here): this task,
 * pinned to the first allowed CPU, moves MOVED_TASKS SCHED_IDLE spinners between
 * it and the second, where a spinner of normal priority keeps them queued but
 * seldom running. A queued task is moved by the caller itself, without an IPI. */
static int move_queued_tasks(unsigned int moves, uint64_t *ret_migrations)
{
        pid_t hog, spinners[MOVED_TASKS];
        cpu_set_t allowed, on[2];
        int cpus[2], n_cpus = 0, r = 0;
        uint64_t migrations = 0;

        if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
                return -errno;
        for (int cpu = 0; cpu < CPU_SETSIZE && n_cpus < 2; cpu++)
                if (CPU_ISSET(cpu, &allowed))
                        cpus[n_cpus++] = cpu;
        if (n_cpus < 2) {
                *ret_migrations = 0;
                return 0;
        }
        for (int i = 0; i < 2; i++) {
                CPU_ZERO(&on[i]);
                CPU_SET(cpus[i], &on[i]);
        }
        hog = fork();
        if (hog == 0) {
                sched_setaffinity(0, sizeof(on[1]), &on[1]);
                for (;;)
                        ;
        }
        for (int i = 0; i < MOVED_TASKS; i++) {
                spinners[i] = fork();
                if (spinners[i] == 0) {
                        struct sched_param param = {};

                        sched_setscheduler(0, SCHED_IDLE, &param);
                        for (;;)
                                ;
                }
        }
        if (sched_setaffinity(0, sizeof(on[0]), &on[0]) < 0)
                r = -errno;
        for (unsigned int i = 0; r == 0 && i < moves; i++) {
                pid_t task = spinners[i % MOVED_TASKS];

                if (task > 0 && sched_setaffinity(task, sizeof(cpu_set_t), &on[(i / MOVED_TASKS + 1) % 2]) == 0)
                        migrations++;
        }
        for (int i = 0; i < MOVED_TASKS; i++)
                if (spinners[i] > 0) {
                        kill(spinners[i], SIGKILL);
                        waitpid(spinners[i], NULL, 0);
                }
        if (hog > 0) {
                kill(hog, SIGKILL);
                waitpid(hog, NULL, 0);
        }
        sched_setaffinity(0, sizeof(allowed), &allowed);
        *ret_migrations = migrations;
        return r;
}

static void worker_loop(int request_fd, int reply_fd)
{
        struct request request;

        while (read(request_fd, &request, sizeof(request)) == (ssize_t)sizeof(request)) {
                struct reply reply = {};

                if (request.command == 'f')
                        reply.error = touch_fresh_memory(request.amount, &reply.ns);
                else if (request.command == 'c')
                        reply.error = touch_fresh_chunks(request.amount, &reply.ns);
                else if (request.command == 's')
                        reply.error = ping_pong(request.amount, &reply.switches, &reply.migrations);
                else if (request.command == 'm')
                        reply.error = move_queued_tasks(request.amount, &reply.migrations);
                else
                        reply.error = -EINVAL;
                if (write(reply_fd, &reply, sizeof(reply)) != (ssize_t)sizeof(reply))
                        break;
        }
        _exit(0);
}

static int ask_worker(struct bench *b, char command, unsigned int amount, struct reply *ret_reply)
{
        struct request request = { .command = command, .amount = amount };
        ssize_t n;

        if (interrupted)
                return -EINTR;
        if (write(b->request_fd, &request, sizeof(request)) != (ssize_t)sizeof(request))
                return -EIO;
        n = read(b->reply_fd, ret_reply, sizeof(*ret_reply));
        if (n < 0)
                return -errno;
        if (n != (ssize_t)sizeof(*ret_reply))
                return -EIO;
        return ret_reply->error;
}

/* --- the cgroup ---------------------------------------------------------------------- */

/* Creates the workload's cgroup (v1 cpuset where the host has v1: that is what
 * the monitor keys on) and starts the worker in it. */
static int start_worker(struct bench *b, const char *name)
{
        const char *base = b->cgroup_v1 ? "/sys/fs/cgroup/cpuset" : "/sys/fs/cgroup";
        int requests[2], replies[2], r;
        char pid[32], path[PATH_MAX];

        snprintf(path, sizeof(path), "%s/%s", base, name);
        if (mkdir(path, 0755) < 0)
                return -errno;
        memcpy(b->cgroup, path, sizeof(b->cgroup)); /* removed by stop_worker() from now on */
        b->cgroup_fd = np_open_dir_at(AT_FDCWD, b->cgroup);
        if (b->cgroup_fd < 0)
                return b->cgroup_fd;
        if (b->cgroup_v1) {
                const char *files[] = { "cpuset.cpus", "cpuset.mems" };

                for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
                        _cleanup_free_ char *value = NULL;
                        char parent[PATH_MAX + 32];
                        size_t size;

                        snprintf(parent, sizeof(parent), "%s/%s", base, files[i]);
                        r = np_read_file_at(AT_FDCWD, parent, 4096, &value, &size);
                        if (r < 0 || (r = np_write_attribute_at(b->cgroup_fd, files[i], value)) < 0)
                                return r;
                }
        }
        if (pipe2(requests, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(replies, O_CLOEXEC) < 0) {
                r = -errno;
                close(requests[0]);
                close(requests[1]);
                return r;
        }
        b->worker = fork();
        if (b->worker == 0) {
                close(requests[1]);
                close(replies[0]);
                worker_loop(requests[0], replies[1]);
        }
        close(requests[0]);
        close(replies[1]);
        b->request_fd = requests[1];
        b->reply_fd = replies[0];
        if (b->worker < 0)
                return -errno;
        snprintf(pid, sizeof(pid), "%d", (int)b->worker);
        return np_write_attribute_at(b->cgroup_fd, b->cgroup_v1 ? "tasks" : "cgroup.procs", pid);
}

static void kill_cgroup_tasks(const char *cgroup)
{
        char path[PATH_MAX];
        FILE *f;
        int pid;

        snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
        f = fopen(path, "re");
        if (!f)
                return;
        while (fscanf(f, "%d", &pid) == 1)
                if (pid > 0)
                        kill(pid, SIGKILL);
        fclose(f);
}

static void stop_worker(struct bench *b)
{
        if (b->request_fd >= 0)
                close(b->request_fd); /* an idle worker reads EOF and exits */
        if (b->reply_fd >= 0)
                close(b->reply_fd);
        b->request_fd = b->reply_fd = -1;
        if (b->worker > 0) {
                kill(b->worker, SIGKILL);
                waitpid(b->worker, NULL, 0);
                b->worker = 0;
        }
        if (b->cgroup_fd >= 0)
                close(b->cgroup_fd);
        b->cgroup_fd = -1;
        /* what a killed worker leaves (a ping-pong partner, the spinners it was
         * moving) is still in the cgroup: killed too, until the cgroup is empty */
        for (int i = 0; b->cgroup[0] && i < 200; i++) {
                if (rmdir(b->cgroup) == 0 || errno == ENOENT) {
                        b->cgroup[0] = '\0';
                        break;
                }
                kill_cgroup_tasks(b->cgroup);
                usleep(10000);
        }
        if (b->cgroup[0])
                fprintf(stderr, "bench_bpf: cannot remove the cgroup %s: %s\n", b->cgroup, strerror(errno));
}

/* --- the monitor ------------------------------------------------------------------------ */

static int attach_monitor(struct bench *b, unsigned int slots)
{
        struct np_diag diag = {};
        uint64_t id;
        int r;

        r = np_monitor_open("/sys", b->pin_root, b->topology, slots, true, &diag, &b->monitor);
        if (r < 0) {
                fprintf(stderr, "%s\n", diag.message);
                return r;
        }
        r = np_monitor_cgroup_id(b->cgroup, &id);
        if (r < 0)
                return r;
        r = np_monitor_watch(b->monitor, id, 0, &b->topology->memory_nodes, &diag);
        if (r < 0) {
                fprintf(stderr, "bench_bpf: %s\n", diag.message);
                return r;
        }
        b->real_watched = true;
        b->crowd_watched = false;
        return 0;
}

static void detach_monitor(struct bench *b)
{
        char dir[PATH_MAX];

        if (b->monitor) {
                np_monitor_close(b->monitor);
                b->monitor = NULL;
        }
        /* unpinning the links detaches the programs */
        if (np_monitor_dir(b->pin_root, dir, sizeof(dir)) == 0)
                np_monitor_remove(dir);
        b->real_watched = b->crowd_watched = false;
}

/* The i-th fake id of the crowd: one whose watch_index entry is not the workload
 * cgroup's, so that the workload is found in the index, as most containers are
 * (ids that share an entry go to the `watched` hash, one lookup more). */
static uint64_t crowd_id(const struct np_monitor *m, uint64_t workload_id, uint32_t i)
{
        uint64_t mask = m->index_size - 1, fake = FAKE_ID_BASE + i;

        return (fake & mask) == (workload_id & mask) ? FAKE_ID_BASE + CROWD + i : fake;
}

static int set_phase(struct bench *b, enum phase phase)
{
        bool want_real = phase != PHASE_UNWATCHED, want_crowd = phase == PHASE_CROWD;
        struct np_diag diag = {};
        uint64_t id;
        int r;

        r = np_monitor_cgroup_id(b->cgroup, &id);
        if (r < 0)
                return r;
        if (want_crowd != b->crowd_watched) {
                for (uint32_t i = 1; i < CROWD; i++) {
                        uint64_t fake = crowd_id(b->monitor, id, i);

                        if (want_crowd)
                                r = np_monitor_watch(b->monitor, fake, i, &b->topology->memory_nodes, &diag);
                        else
                                r = np_monitor_unwatch(b->monitor, fake);
                        if (r < 0) {
                                fprintf(stderr, "bench_bpf: watching fake cgroup %u: %s\n", i, strerror(-r));
                                return r;
                        }
                }
                b->crowd_watched = want_crowd;
        }
        if (want_real != b->real_watched) {
                r = want_real ? np_monitor_watch(b->monitor, id, 0, &b->topology->memory_nodes, &diag)
                              : np_monitor_unwatch(b->monitor, id);
                if (r < 0)
                        return r;
                b->real_watched = want_real;
        }
        return 0;
}

/* --- the programs' run time --------------------------------------------------------------- */

/* Whether `name` is `prog`_classic (classic) or `prog`_btf[digits] (tp_btf). */
static bool program_matches(const char *name, const char *prog, bool *ret_btf)
{
        size_t len = strlen(prog);

        if (strncmp(name, prog, len) != 0)
                return false;
        name += len;
        if (strcmp(name, "_classic") == 0) {
                *ret_btf = false;
                return true;
        }
        if (strncmp(name, "_btf", 4) != 0)
                return false;
        for (name += 4; *name; name++)
                if (*name < '0' || *name > '9')
                        return false;
        *ret_btf = true;
        return true;
}

/* Finds numapin's program on each tracepoint through its pinned link. */
static int find_numapin_programs(struct bench *b)
{
        DIR *dir = opendir(b->monitor->dir);
        struct dirent *e;
        int r = 0;

        if (!dir)
                return -errno;
        while (r == 0 && (e = readdir(dir))) {
                struct bpf_link_info info = {};
                __u32 len = sizeof(info);
                char path[PATH_MAX + 300];
                int link_fd;

                if (strncmp(e->d_name, "link_", 5) != 0)
                        continue;
                for (size_t t = 0; t < N_TRACEPOINTS; t++) {
                        struct probe *p = &b->probes[t];

                        if (!program_matches(e->d_name + 5, tracepoints[t].prog, &p->btf))
                                continue;
                        snprintf(path, sizeof(path), "%s/%s", b->monitor->dir, e->d_name);
                        link_fd = bpf_obj_get(path);
                        if (link_fd < 0 || bpf_obj_get_info_by_fd(link_fd, &info, &len) < 0 ||
                            (p->numapin_fd = bpf_prog_get_fd_by_id(info.prog_id)) < 0)
                                r = -errno;
                        if (link_fd >= 0)
                                close(link_fd);
                        p->present = r == 0;
                }
        }
        closedir(dir);
        return r;
}

/* Loads and attaches the empty program on each tracepoint numapin uses, in the
 * same flavour. */
static int attach_empty_programs(struct bench *b)
{
        struct bpf_program *prog;
        int r;

        b->empty = empty_bpf__open();
        if (!b->empty)
                return -errno ? -errno : -EIO;
        bpf_object__for_each_program(prog, b->empty->obj)
        {
                bool btf = false;

                bpf_program__set_autoload(prog, false);
                for (size_t t = 0; t < N_TRACEPOINTS; t++)
                        if (b->probes[t].present &&
                            program_matches(bpf_program__name(prog), tracepoints[t].prog, &btf) &&
                            btf == b->probes[t].btf)
                                bpf_program__set_autoload(prog, true);
        }
        r = empty_bpf__load(b->empty);
        if (r < 0)
                return r;
        bpf_object__for_each_program(prog, b->empty->obj)
        {
                bool btf = false;

                if (!bpf_program__autoload(prog))
                        continue;
                for (size_t t = 0; t < N_TRACEPOINTS; t++) {
                        struct probe *p = &b->probes[t];

                        if (!program_matches(bpf_program__name(prog), tracepoints[t].prog, &btf) || btf != p->btf)
                                continue;
                        p->empty_link = bpf_program__attach(prog);
                        if (!p->empty_link)
                                return -errno;
                        p->empty_fd = bpf_program__fd(prog);
                }
        }
        return 0;
}

static void detach_empty_programs(struct bench *b)
{
        for (size_t t = 0; t < N_TRACEPOINTS; t++) {
                struct probe *p = &b->probes[t];

                bpf_link__destroy(p->empty_link);
                p->empty_link = NULL;
                p->empty_fd = -1;
        }
        empty_bpf__destroy(b->empty);
        b->empty = NULL;
}

/* Lets numapin's programs go (their flavours stay known). */
static void close_numapin_programs(struct bench *b)
{
        for (size_t t = 0; t < N_TRACEPOINTS; t++) {
                if (b->probes[t].numapin_fd >= 0)
                        close(b->probes[t].numapin_fd);
                b->probes[t].numapin_fd = -1;
        }
}

static int read_run_stats(int prog_fd, struct run_stats *ret)
{
        struct bpf_prog_info info = {};
        __u32 len = sizeof(info);

        if (prog_fd < 0) {
                *ret = (struct run_stats){};
                return 0;
        }
        if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) < 0)
                return -errno;
        *ret = (struct run_stats){ .ns = info.run_time_ns, .count = info.run_cnt, .misses = info.recursion_misses };
        return 0;
}

static void subtract(struct run_stats *after, const struct run_stats *before)
{
        after->ns -= before->ns;
        after->count -= before->count;
        after->misses -= before->misses;
}

/* Runs the workload once (switches and migrations, then page faults), or a
 * `share`th of it, and takes the programs' run time and count over it. */
static int measure_phase(struct bench *b, unsigned int share, struct phase_result *ret)
{
        struct phase_result before = {}, after = {};
        struct reply reply;
        int r = 0;

        for (size_t t = 0; r == 0 && t < N_TRACEPOINTS; t++)
                if ((r = read_run_stats(b->probes[t].numapin_fd, &before.numapin[t])) == 0)
                        r = read_run_stats(b->probes[t].empty_fd, &before.empty[t]);
        if (r < 0 || (r = ask_worker(b, 's', SWITCH_TRIPS / share, &reply)) < 0)
                return r;
        after.switches = reply.switches;
        after.migrations = reply.migrations;
        if ((r = ask_worker(b, 'm', MIGRATIONS / share, &reply)) < 0)
                return r;
        after.migrations += reply.migrations;
        r = ask_worker(b, 'c', COST_MIB / share, &reply);
        for (size_t t = 0; r == 0 && t < N_TRACEPOINTS; t++)
                if ((r = read_run_stats(b->probes[t].numapin_fd, &after.numapin[t])) == 0)
                        r = read_run_stats(b->probes[t].empty_fd, &after.empty[t]);
        if (r < 0)
                return r;
        for (size_t t = 0; t < N_TRACEPOINTS; t++) {
                subtract(&after.numapin[t], &before.numapin[t]);
                subtract(&after.empty[t], &before.empty[t]);
        }
        *ret = after;
        return 0;
}

static double per_event(const struct run_stats *s)
{
        return s->count ? (double)s->ns / (double)s->count : 0;
}

static uint64_t locality_pages(const struct np_locality *l)
{
        uint64_t pages = l->counters.pages_unknown_node;

        for (unsigned int n = 0; n < l->node_stride; n++)
                pages += l->nodes[n].pages;
        return pages;
}

/* One row of `make bench`'s table of goals, to the file $NUMAPIN_BENCH_GOALS
 * (tests/bench/run.sh); nothing without it. */
static void goal_row(const char *figure, const char *numapin, const char *baseline, const char *ratio, const char *goal,
                     bool met)
{
        const char *path = getenv("NUMAPIN_BENCH_GOALS");
        FILE *f;

        if (!path || !path[0] || !(f = fopen(path, "ae")))
                return;
        fprintf(f, "%s\t%s\t%s\t%s\t%s\t%s\n", figure, numapin, baseline, ratio, goal, met ? "met" : "not met");
        fclose(f);
}

static void print_cost(const char *label, double ns)
{
        printf("    %-34s %8.1f ns/event\n", label, ns);
}

/* (1) The programs' run time per event in the three phases, ROUNDS times. */
static int bench_cost(struct bench *b)
{
        static const char *labels[N_PHASES] = { "numapin, 1 cgroup watched", "numapin, 10,000 cgroups watched",
                                                "numapin, workload unwatched" };
        double cost[N_PHASES][N_TRACEPOINTS][ROUNDS], empty[N_TRACEPOINTS][ROUNDS];
        uint64_t events[N_TRACEPOINTS] = {}, misses = 0, switches = 0, migrations = 0;
        uint64_t seen_pages = 0, seen_migrations = 0, seen_cross = 0, seen_balancing = 0, workload[N_TRACEPOINTS];
        unsigned int phases_run = 0, watched_phases = 0;
        struct phase_result result;
        int r;

        r = attach_empty_programs(b);
        if (r < 0) {
                fprintf(stderr, "bench_bpf: cannot attach the empty programs: %s\n", strerror(-r));
                return r;
        }
        /* a short warm-up phase, not counted */
        r = measure_phase(b, WARM_UP, &result);
        for (unsigned int round = 0; r == 0 && round < ROUNDS; round++) {
                for (unsigned int k = 0; r == 0 && k < N_PHASES; k++) {
                        enum phase phase = (enum phase)((round + k) % N_PHASES);
                        struct np_locality start = {}, end = {};

                        r = set_phase(b, phase);
                        if (r == 0 && phase != PHASE_UNWATCHED)
                                r = np_monitor_read(b->monitor, 0, &start);
                        if (r == 0)
                                r = measure_phase(b, 1, &result);
                        if (r == 0 && phase != PHASE_UNWATCHED)
                                r = np_monitor_read(b->monitor, 0, &end);
                        if (r < 0)
                                break;
                        for (size_t t = 0; t < N_TRACEPOINTS; t++) {
                                cost[phase][t][round] = per_event(&result.numapin[t]);
                                events[t] += result.numapin[t].count;
                                misses += result.numapin[t].misses;
                                if (phase == PHASE_ONE)
                                        empty[t][round] = per_event(&result.empty[t]);
                        }
                        switches += result.switches;
                        migrations += result.migrations;
                        phases_run++;
                        if (phase != PHASE_UNWATCHED) {
                                watched_phases++;
                                seen_pages += locality_pages(&end) - locality_pages(&start);
                                seen_migrations += end.counters.migrations - start.counters.migrations;
                                seen_cross += end.counters.migrations_cross - start.counters.migrations_cross;
                                seen_balancing +=
                                        end.counters.numa_balancing_pages - start.counters.numa_balancing_pages;
                        }
                }
        }
        if (r < 0) {
                fprintf(stderr, "bench_bpf: measuring the monitor's cost failed: %s\n", strerror(-r));
                return r;
        }

        /* the workload's share of each tracepoint's events, as it or the monitor counted them */
        workload[TP_SWITCH] = switches / phases_run;
        workload[TP_PAGE_ALLOC] = seen_pages / watched_phases;
        workload[TP_MIGRATE] = seen_migrations / watched_phases;
        workload[TP_MIGRATE_PAGES] = seen_balancing / watched_phases;
        printf("locality monitor, BPF run time per event (run_time_ns/run_cnt), numapin's programs against empty ones\n"
               "on the same tracepoints and flavours, %d rounds of 3 phases in rotating order:\n",
               ROUNDS);
        printf("  workload in the watched cgroup, per phase: %u pipe round trips, %llu moves between CPUs and\n"
               "    %u MiB of fresh memory touched, %u MiB at a time: %llu context switches (getrusage); the monitor\n"
               "    counted %llu pages allocated, %llu task migrations (%llu across nodes), %llu NUMA-balancing page moves\n",
               SWITCH_TRIPS, (unsigned long long)(migrations / phases_run), COST_MIB, CHUNK_MIB,
               (unsigned long long)workload[TP_SWITCH], (unsigned long long)workload[TP_PAGE_ALLOC],
               (unsigned long long)workload[TP_MIGRATE], (unsigned long long)(seen_cross / watched_phases),
               (unsigned long long)workload[TP_MIGRATE_PAGES]);
        for (size_t t = 0; t < N_TRACEPOINTS; t++) {
                const struct probe *p = &b->probes[t];
                uint64_t per_phase = events[t] / phases_run;
                double med[N_PHASES], base;

                if (!p->present) {
                        printf("  %s: no numapin program attached\n", tracepoints[t].name);
                        continue;
                }
                if (per_phase < MIN_EVENTS) {
                        printf("  %s (%s): %llu events per phase, too few to measure (%s)\n", tracepoints[t].name,
                               p->btf ? "tp_btf" : "tracepoint", (unsigned long long)per_phase,
                               tracepoints[t].not_driven ? tracepoints[t].not_driven : "not driven");
                        continue;
                }
                for (int phase = 0; phase < N_PHASES; phase++)
                        med[phase] = median(cost[phase][t], ROUNDS);
                base = median(empty[t], ROUNDS);
                printf("  %s (%s), %llu events per phase, %.0f%% of them the workload's:\n", tracepoints[t].name,
                       p->btf ? "tp_btf" : "tracepoint", (unsigned long long)per_phase,
                       MIN(100.0, (double)workload[t] * 100 / (double)per_phase));
                for (int phase = 0; phase < N_PHASES; phase++)
                        print_cost(labels[phase], med[phase]);
                print_cost("baseline: empty program", base);
                {
                        double ratio = base > 0 ? med[PHASE_ONE] / base : 0;
                        double crowd = med[PHASE_ONE] > 0 ? med[PHASE_CROWD] / med[PHASE_ONE] : 0;
                        bool enough = per_phase >= GOAL_EVENTS;
                        char figure[128], numapin[64], baseline[64], ratio_text[32], goal[64];

                        printf("    ratio: %.2fx the empty program, +%.0f ns/event (goal: within %.2fx); 10,000 watched "
                               "%.2fx 1 watched (goal: within %.2fx)%s\n",
                               ratio, med[PHASE_ONE] - base, GOAL_RATIO, crowd, GOAL_CROWD,
                               enough ? "" : " (fewer than 10^6 events per phase)");
                        /* where the +ns go: finding the task's cgroup in the index (paid on
                         * every event, watched or not), then counting (watched events only) */
                        printf("    of which finding the cgroup (workload unwatched): %.2fx, +%.0f ns; counting: +%.0f ns\n",
                               base > 0 ? med[PHASE_UNWATCHED] / base : 0, med[PHASE_UNWATCHED] - base,
                               med[PHASE_ONE] - med[PHASE_UNWATCHED]);
                        if (t == TP_PAGE_ALLOC && enough) {
                                b->page_alloc_beyond_ns = med[PHASE_ONE] - base;
                                b->page_allocs_per_page = (double)per_phase / ((double)COST_MIB * 256);
                        }
                        snprintf(figure, sizeof(figure), "BPF %s, ns/event, %llu events/phase", tracepoints[t].name,
                                 (unsigned long long)per_phase);
                        snprintf(numapin, sizeof(numapin), "%.1f ns", med[PHASE_ONE]);
                        snprintf(baseline, sizeof(baseline), "%.1f ns (empty program)", base);
                        snprintf(ratio_text, sizeof(ratio_text), "%.2fx", ratio);
                        snprintf(goal, sizeof(goal), "within %.2fx, >= 10^6 events/phase", GOAL_RATIO);
                        goal_row(figure, numapin, baseline, ratio_text, goal, enough && ratio <= GOAL_RATIO);
                        snprintf(figure, sizeof(figure), "BPF %s, 10,000 watched cgroups", tracepoints[t].name);
                        snprintf(numapin, sizeof(numapin), "%.1f ns", med[PHASE_CROWD]);
                        snprintf(baseline, sizeof(baseline), "%.1f ns (1 watched)", med[PHASE_ONE]);
                        snprintf(ratio_text, sizeof(ratio_text), "%.2fx", crowd);
                        snprintf(goal, sizeof(goal), "within %.2fx", GOAL_CROWD);
                        goal_row(figure, numapin, baseline, ratio_text, goal, crowd <= GOAL_CROWD);
                }
        }
        if (misses)
                printf("  note: %llu program runs skipped by the kernel (recursion)\n", (unsigned long long)misses);
        detach_empty_programs(b);
        return set_phase(b, PHASE_ONE);
}

/* The median of `values` (sorted in place) and the bounds of their middle half. */
static void quartiles(double *values, size_t n, double *ret_low, double *ret_median, double *ret_high)
{
        qsort(values, n, sizeof(values[0]), compare_double);
        *ret_low = n ? values[n / 4] : 0;
        *ret_median = n ? values[(n - 1) / 2] : 0;
        *ret_high = n ? values[n - 1 - n / 4] : 0;
}

/* (2) A page-fault-heavy workload with the monitor attached, against no programs
 * attached and against the empty programs (what any program on these tracepoints
 * costs). Each round runs the three setups in rotating order, an untimed run
 * and FAULT_RUNS timed ones each (the fastest counts: a run is slowed, never
 * sped up, by what else the machine does), and is compared within itself: this
 * machine's speed drifts by more than the goal between rounds. */
static int bench_faults(struct bench *b)
{
        enum fault_setup {
                WITH_MONITOR,
                WITHOUT,
                WITH_EMPTY,
                N_SETUPS
        };
        double runs[N_SETUPS][FAULT_ROUNDS], monitor[FAULT_ROUNDS], empty[FAULT_ROUNDS], beyond[FAULT_ROUNDS];
        double med[N_SETUPS];
        _cleanup_free_ char *stats = NULL;
        struct np_config config;
        struct reply reply;
        unsigned int round;
        size_t size;
        int r = 0;

        np_config_init(&config);
        for (round = 0; r == 0 && round < FAULT_ROUNDS; round++) {
                for (unsigned int k = 0; r == 0 && k < N_SETUPS; k++) {
                        enum fault_setup setup = (enum fault_setup)((round + k) % N_SETUPS);

                        detach_empty_programs(b);
                        detach_monitor(b);
                        if (setup == WITH_MONITOR)
                                r = attach_monitor(b, config.monitor_slots);
                        else if (setup == WITH_EMPTY)
                                r = attach_empty_programs(b);
                        runs[setup][round] = 0;
                        for (unsigned int run = 0; r == 0 && run <= FAULT_RUNS; run++) {
                                double us;

                                r = ask_worker(b, 'f', FAULT_MIB, &reply);
                                us = (double)reply.ns / 1000;
                                if (r == 0 && run > 0 && (runs[setup][round] == 0 || us < runs[setup][round]))
                                        runs[setup][round] = us;
                        }
                }
                if (r == 0) {
                        double none = runs[WITHOUT][round];

                        monitor[round] = (runs[WITH_MONITOR][round] - none) * 100 / none;
                        empty[round] = (runs[WITH_EMPTY][round] - none) * 100 / none;
                        beyond[round] = monitor[round] - empty[round];
                }
        }
        detach_empty_programs(b);
        detach_monitor(b);
        if (r < 0) {
                fprintf(stderr, "bench_bpf: the page-fault workload failed: %s\n", strerror(-r));
                return r;
        }
        for (int setup = 0; setup < N_SETUPS; setup++)
                med[setup] = median(runs[setup], FAULT_ROUNDS);
        np_read_file_at(AT_FDCWD, "/proc/sys/kernel/bpf_stats_enabled", 16, &stats, &size);
        printf("page faults: touching %d MiB of fresh anonymous memory (%d faults on 4-KiB pages, THP off) in the\n"
               "workload's cgroup, %d rounds of the 3 setups in rotating order (the fastest of %d timed runs each,\n"
               "after an untimed one), BPF stats %s:\n",
               FAULT_MIB, FAULT_MIB * 256, FAULT_ROUNDS, FAULT_RUNS,
               stats && stats[0] == '1' ? "ON (kernel.bpf_stats_enabled=1)" : "off");
        printf("  %-34s median %8.0f us\n", "with the monitor, cgroup watched", med[WITH_MONITOR]);
        printf("  %-34s median %8.0f us\n", "baseline: no programs attached", med[WITHOUT]);
        printf("  %-34s median %8.0f us\n", "empty programs, same tracepoints", med[WITH_EMPTY]);
        {
                double m = median(monitor, FAULT_ROUNDS), e = median(empty, FAULT_ROUNDS), d, low, high;
                char numapin[64], baseline[64], beyond_text[64], goal[32];

                quartiles(beyond, FAULT_ROUNDS, &low, &d, &high);
                printf("  overhead, each round against its own run without programs (median of %d rounds): %+.1f%%;\n"
                       "  empty programs alone: %+.1f%%; beyond the empty programs: %+.1f%%, middle half of the rounds\n"
                       "  %+.1f%% to %+.1f%% (goal: under %.0f%%)\n",
                       FAULT_ROUNDS, m, e, d, low, high, GOAL_FAULTS);
                snprintf(numapin, sizeof(numapin), "%.0f us (%+.1f%%)", med[WITH_MONITOR], m);
                snprintf(baseline, sizeof(baseline), "%.0f us none, %.0f us empty (%+.1f%%)", med[WITHOUT],
                         med[WITH_EMPTY], e);
                snprintf(beyond_text, sizeof(beyond_text), "%+.1f%% beyond empty (middle half %+.1f to %+.1f%%)", d,
                         low, high);
                if (b->page_allocs_per_page > 0) {
                        /* the wall time's rounds spread wider than the goal; the run time
                         * per event does not (the stats' clock reads fall on both programs
                         * alike). Other tracepoints fire a few times a run: left out. */
                        double page_ns = med[WITHOUT] * 1000 / ((double)FAULT_MIB * 256);

                        printf("  from the BPF run time per event above: mm_page_alloc's %+.1f ns beyond the empty program,\n"
                               "  %.2f events a page, a page %.0f ns without programs: %+.2f%% (an estimate, beside the\n"
                               "  goal's wall-time figure)\n",
                               b->page_alloc_beyond_ns, b->page_allocs_per_page, page_ns,
                               b->page_alloc_beyond_ns * b->page_allocs_per_page * 100 / page_ns);
                }
                snprintf(goal, sizeof(goal), "under %.0f%% beyond empty", GOAL_FAULTS);
                goal_row("BPF monitor, page-fault workload", numapin, baseline, beyond_text, goal, d < GOAL_FAULTS);
        }
        return 0;
}

static void cleanup(struct bench *b)
{
        detach_empty_programs(b);
        close_numapin_programs(b);
        detach_monitor(b);
        rmdir(b->pin_root);
        if (b->stats_fd >= 0)
                close(b->stats_fd);
        b->stats_fd = -1;
        stop_worker(b);
}

/* Prints the BPF programs already attached to tracepoints when the bench starts
 * (a numapin monitor left pinned by a hook, another tool's probes): they run on
 * the same events through every phase, so every figure below carries them. */
static void report_attached_programs(void)
{
        unsigned int n = 0;
        char names[256] = "";
        __u32 id = 0;

        while (bpf_link_get_next_id(id, &id) == 0) {
                struct bpf_link_info link = {};
                struct bpf_prog_info prog = {};
                __u32 link_len = sizeof(link), prog_len = sizeof(prog);
                int link_fd = bpf_link_get_fd_by_id(id), prog_fd;

                if (link_fd < 0)
                        continue;
                if (bpf_obj_get_info_by_fd(link_fd, &link, &link_len) == 0 &&
                    (link.type == BPF_LINK_TYPE_TRACING || link.type == BPF_LINK_TYPE_RAW_TRACEPOINT ||
                     link.type == BPF_LINK_TYPE_PERF_EVENT)) {
                        n++;
                        prog_fd = bpf_prog_get_fd_by_id(link.prog_id);
                        if (prog_fd >= 0 && bpf_obj_get_info_by_fd(prog_fd, &prog, &prog_len) == 0 &&
                            strlen(names) + strlen(prog.name) + 3 < sizeof(names))
                                snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
                                         names[0] ? ", " : "", prog.name);
                        if (prog_fd >= 0)
                                close(prog_fd);
                }
                close(link_fd);
        }
        if (n)
                printf("locality monitor: warning: %u BPF programs were already attached to tracepoints (%s); they run on the same\n"
                       "    events in every phase below (a numapin monitor left under /sys/fs/bpf/numapin is removed by\n"
                       "    'rm -r /sys/fs/bpf/numapin' when no container is watched)\n",
                       n, names);
}

int main(int argc, char **argv)
{
        struct bench b = { .cgroup_fd = -1, .stats_fd = -1, .request_fd = -1, .reply_fd = -1 };
        _cleanup_topology_ struct np_topology *topology = NULL;
        struct sigaction sa = { .sa_handler = on_signal };
        struct np_diag diag = {};
        struct stat st;
        int r;

        if (argc != 3 || argv[1][0] != '/' || strchr(argv[2], '/')) {
                fprintf(stderr, "usage: bench_bpf PIN-ROOT CGROUP-NAME\n");
                return 2;
        }
        if (geteuid() != 0) {
                printf("locality monitor: skipped (loading BPF programs needs root)\n");
                return 0;
        }
        b.pin_root = argv[1];
        b.cgroup_v1 = stat("/sys/fs/cgroup/cgroup.controllers", &st) < 0;
        for (size_t t = 0; t < N_TRACEPOINTS; t++)
                b.probes[t].numapin_fd = b.probes[t].empty_fd = -1;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        setvbuf(stdout, NULL, _IOLBF, 0); /* figures and errors in order */
        np_log_set_level(NP_LOG_WARNING);

        report_attached_programs();
        r = np_topology_load("/sys", &diag, &topology);
        if (r < 0) {
                fprintf(stderr, "bench_bpf: %s\n", diag.message);
                return 1;
        }
        b.topology = topology;
        r = start_worker(&b, argv[2]);
        if (r < 0) {
                fprintf(stderr, "bench_bpf: cannot start the workload in the cgroup %s: %s\n", b.cgroup, strerror(-r));
                cleanup(&b);
                return 1;
        }
        r = attach_monitor(&b, CROWD_SLOTS);
        if (r < 0) {
                printf("locality monitor: skipped (the BPF programs cannot be loaded: %s)\n", strerror(-r));
                cleanup(&b);
                return 0;
        }
        r = find_numapin_programs(&b);
        if (r < 0) {
                fprintf(stderr, "bench_bpf: cannot find the monitor's programs in %s: %s\n", b.monitor->dir,
                        strerror(-r));
                cleanup(&b);
                return 1;
        }

        b.stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
        if (b.stats_fd < 0) {
                printf("locality monitor, BPF run time per event: skipped (cannot enable BPF run-time stats: %s)\n",
                       strerror(-b.stats_fd));
        } else {
                r = bench_cost(&b);
                close(b.stats_fd); /* stats off for the wall-time figure */
                b.stats_fd = -1;
        }
        close_numapin_programs(&b);
        if (r == 0)
                r = bench_faults(&b);
        cleanup(&b);
        if (interrupted)
                fprintf(stderr, "bench_bpf: interrupted\n");
        return r < 0 ? 1 : 0;
}
