// SPDX-License-Identifier: MIT
/* The state a /metrics scrape reads, for `make bench` (root): COUNT containers
 * placed on a fixture machine through the ledger as the hook places them
 * (Kubernetes names, bind and cpus-only, some with exclusive CPUs, memory
 * limits), each with a cgroup directory holding a memory.numa_stat and watched
 * by the real BPF locality monitor under a private pin root (a fake cgroup id
 * per container, its counters filled in as a running container's would be).
 *   bench_metrics_fixture SYSFS-ROOT PIN-ROOT SLOTS STATE-DIR CGROUP-DIR COUNT FIRST
 *     FIRST: the first slot and name index, so that two states share one pinned set
 *   bench_metrics_fixture --remove PIN-ROOT
 *     detaches and unpins the set, and removes PIN-ROOT
 * Prints "records N bind B cpus_only C exclusive E monitored M". */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "../../core/config.h"
#include "../../core/fileio.h"
#include "../../core/ledger.h"
#include "../../core/monitor.h"
#include "../../core/parse.h"
#include "../../core/topology.h"

#define FAKE_ID_BASE    (UINT64_C(1) << 62) /* above any inode number: no cgroup has these ids */
#define EXCLUSIVE_SHARE 2                   /* at most 1/2 of the CPUs held exclusively */

static const char *const namespaces[] = { "payments", "search",     "checkout", "ml-training",
                                          "ingest",   "monitoring", "batch",    "default" };
static const char *const apps[] = { "api", "worker", "frontend", "indexer", "redis", "postgres", "trainer", "kafka" };
/* a pod's containers: the app, then its sidecars */
static const char *const containers[] = { "app", "istio-proxy", "log-shipper" };
/* the keys of a cgroup v2 memory.numa_stat (Linux 6.1), each listing every node */
static const char *const numa_stat_keys[] = {
        "anon",
        "file",
        "kernel_stack",
        "pagetables",
        "sec_pagetables",
        "shmem",
        "file_mapped",
        "file_dirty",
        "file_writeback",
        "swapcached",
        "anon_thp",
        "file_thp",
        "shmem_thp",
        "inactive_anon",
        "active_anon",
        "inactive_file",
        "active_file",
        "unevictable",
        "slab_reclaimable",
        "slab_unreclaimable",
        "workingset_refault_anon",
        "workingset_refault_file",
        "workingset_activate_anon",
        "workingset_activate_file",
        "workingset_restore_anon",
        "workingset_restore_file",
        "workingset_nodereclaim",
};

/* splitmix64: the same fixture at every run */
static uint64_t mix(uint64_t x)
{
        x += UINT64_C(0x9e3779b97f4a7c15);
        x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
        return x ^ (x >> 31);
}

static void hex_id(uint64_t seed, char *buf)
{
        for (int i = 0; i < 4; i++)
                snprintf(buf + 16 * i, 17, "%016llx", (unsigned long long)mix(seed * 4 + (uint64_t)i));
}

/* Container number `i`: its pod, its id and what it asks for. */
struct container {
        unsigned int pod, in_pod;
        char id[65];
        char pod_uid[37];
        struct np_request request;
        struct np_demand demand;
};

static void describe(unsigned int i, unsigned int exclusive_left, struct container *c)
{
        static const uint64_t memory_mib[] = { 64, 128, 256, 512, 256, 128 };
        static const uint64_t cpu_millis[] = { 250, 500, 1000, 2000, 500 };
        /* pods of 1, 2 and 3 containers in turn: six containers in three pods */
        static const unsigned int pod_of[6] = { 0, 1, 1, 2, 2, 2 }, in_pod[6] = { 0, 0, 1, 0, 1, 2 };
        uint64_t h;

        c->pod = i / 6 * 3 + pod_of[i % 6];
        c->in_pod = in_pod[i % 6];
        hex_id(i + 1, c->id);
        h = mix(c->pod + UINT64_C(1000003));
        snprintf(c->pod_uid, sizeof(c->pod_uid), "%08llx-%04llx-4%03llx-a%03llx-%012llx", (unsigned long long)(h >> 32),
                 (unsigned long long)(h >> 16 & 0xffff), (unsigned long long)(h & 0xfff), (unsigned long long)(h >> 52),
                 (unsigned long long)(mix(h) & UINT64_C(0xffffffffffff)));
        c->request = (struct np_request){
                .policy = i % 3 == 2 ? NP_POLICY_CPUS_ONLY : NP_POLICY_BIND,
                .annotated = true,
                .nodes_auto = true,
                .monitor = true,
        };
        /* every seventh spans two nodes (a large one) */
        if (i % 7 == 3)
                c->request.node_count = 2;
        /* the pod's app container takes two exclusive CPUs in every tenth pod */
        if (c->in_pod == 0 && c->pod % 10 == 0 && c->request.policy == NP_POLICY_BIND && exclusive_left >= 2)
                c->request.exclusive_cpus = 2;
        snprintf(c->request.pod_namespace, sizeof(c->request.pod_namespace), "%s",
                 namespaces[c->pod % ARRAY_SIZE(namespaces)]);
        snprintf(c->request.pod_name, sizeof(c->request.pod_name), "%s-%s-%010llx-%05llx",
                 namespaces[c->pod % ARRAY_SIZE(namespaces)], apps[(c->pod / 3) % ARRAY_SIZE(apps)],
                 (unsigned long long)(h % UINT64_C(0xffffffffff)), (unsigned long long)(mix(h + 1) % 0xfffff));
        snprintf(c->request.container_name, sizeof(c->request.container_name), "%s", containers[c->in_pod]);
        c->demand = (struct np_demand){
                .cpu_millis = c->request.exclusive_cpus ? c->request.exclusive_cpus * 1000
                                                        : cpu_millis[i % ARRAY_SIZE(cpu_millis)],
                .memory_bytes = memory_mib[i % ARRAY_SIZE(memory_mib)] << 20,
        };
}

/* The container's memory.numa_stat: most of it on its own nodes; a cpus-only one's
 * memory may come from any node, and some does from a few others. */
static int write_numa_stat(const char *dir, const struct np_record *rec, unsigned int max_node, uint64_t seed)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -1;
        size_t cap = 0;
        FILE *f = open_memstream(&text, &cap);
        uint64_t limit = rec->demand.memory_bytes ? rec->demand.memory_bytes : UINT64_C(256) << 20;

        if (!f)
                return -errno;
        for (size_t k = 0; k < ARRAY_SIZE(numa_stat_keys); k++) {
                fputs(numa_stat_keys[k], f);
                for (unsigned int n = 0; n <= max_node; n++) {
                        uint64_t v = 0;

                        if (np_cpulist_test(&rec->mems, n)) {
                                bool own = np_cpulist_test(&rec->nodes, n);
                                uint64_t share = own ? limit / 4 : limit / 64;

                                /* anon, file and the LRU lists; a few more on its own nodes */
                                if (k < 2 || (k >= 13 && k <= 16))
                                        v = (mix(seed * 64 + k * 8 + n) % share) & ~UINT64_C(4095);
                                else if (k < 10 && own)
                                        v = (mix(seed * 64 + k * 8 + n) % (share / 16)) & ~UINT64_C(4095);
                                if (!own && rec->policy == NP_POLICY_CPUS_ONLY && n % 3 != seed % 3)
                                        v = 0;
                        }
                        fprintf(f, " N%u=%llu", n, (unsigned long long)v);
                }
                fputc('\n', f);
        }
        if (fclose(f) != 0)
                return -errno;
        fd = openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return np_write_file_atomic_at(fd, "memory.numa_stat", text, strlen(text), 0444);
}

static int mkdir_parents(const char *path)
{
        char buf[PATH_MAX];

        snprintf(buf, sizeof(buf), "%s", path);
        for (char *p = buf + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        return mkdir(buf, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

/* Counters a running container would have: time on the CPUs of its nodes, pages
 * from its nodes (mostly local), a few migrations; spread over the possible CPUs. */
static int fill_counters(const struct np_monitor *m, const struct np_record *rec, uint64_t seed)
{
        size_t value_size = (m->stats_size + 7) & ~(size_t)7;
        _cleanup_free_ void *values = calloc(m->n_cpus, value_size);
        unsigned int n_own = np_cpulist_count(&rec->nodes);
        struct np_bpf_slot_counters counters = {};

        if (!values)
                return -ENOMEM;
        counters.migrations = mix(seed + 300) % 500000;
        counters.migrations_cross = n_own > 1 ? counters.migrations / 20 : 0;
        counters.numa_balancing_pages = rec->policy == NP_POLICY_CPUS_ONLY ? mix(seed + 400) % 5000 : 0;
        ((struct np_bpf_slot_stats *)values)->counters = counters; /* CPU 0's value */
        for (unsigned int n = 0; n < m->node_stride; n++) {
                struct np_bpf_node_counters total = {};
                bool own = np_cpulist_test(&rec->nodes, n);

                if (own) {
                        total.cpu_ns = mix(seed + n) % (UINT64_C(3600) * 1000000000u) + 1;
                        total.pages = mix(seed + 100 + n) % 20000000 + 1000;
                        /* a task on another of its nodes allocated some of them */
                        total.pages_local = n_own > 1 ? total.pages - total.pages / 8 : total.pages;
                } else if (np_cpulist_test(&rec->mems, n) && rec->policy == NP_POLICY_CPUS_ONLY && n % 3 == seed % 3) {
                        total.pages = mix(seed + 200 + n) % 200000 + 1; /* remote: no CPU of its own there */
                }
                for (unsigned int c = 0; c < m->n_cpus; c++) {
                        struct np_bpf_slot_stats *stats = (void *)((char *)values + c * value_size);
                        struct np_bpf_node_counters *v = &stats->nodes[n];

                        v->cpu_ns = total.cpu_ns / m->n_cpus + (c == 0 ? total.cpu_ns % m->n_cpus : 0);
                        v->pages = total.pages / m->n_cpus + (c == 0 ? total.pages % m->n_cpus : 0);
                        v->pages_local = total.pages_local / m->n_cpus + (c == 0 ? total.pages_local % m->n_cpus : 0);
                }
        }
        return bpf_map_update_elem(m->slot_stats_fd, &rec->monitor.slot, values, BPF_ANY) < 0 ? -errno : 0;
}

static int remove_set(const char *pin_root)
{
        char dir[PATH_MAX];

        if (np_monitor_dir(pin_root, dir, sizeof(dir)) == 0)
                np_monitor_remove(dir);
        if (rmdir(pin_root) < 0 && errno != ENOENT) {
                fprintf(stderr, "bench_metrics_fixture: cannot remove %s: %s\n", pin_root, strerror(errno));
                return 1;
        }
        return 0;
}

int main(int argc, char **argv)
{
        _cleanup_topology_ struct np_topology *topology = NULL;
        _cleanup_monitor_ struct np_monitor *monitor = NULL;
        _cleanup_ledger_ struct np_ledger *ledger = NULL;
        unsigned int slots, count, first, max_node = 0, exclusive_left, n_bind = 0, n_cpus_only = 0, n_exclusive = 0,
                                          n_monitored = 0;
        const char *sysfs_root, *pin_root, *state_dir, *cgroup_dir;
        struct np_config config;
        struct np_diag diag = {};
        int64_t now = (int64_t)time(NULL);
        int r;

        if (argc == 3 && strcmp(argv[1], "--remove") == 0)
                return remove_set(argv[2]);
        if (argc != 8 || np_parse_u32(argv[3], 1, NP_MONITOR_SLOTS_MAX, &slots) < 0 ||
            np_parse_u32(argv[6], 0, NP_MONITOR_SLOTS_MAX, &count) < 0 ||
            np_parse_u32(argv[7], 0, NP_MONITOR_SLOTS_MAX, &first) < 0 || first + count > slots) {
                fprintf(stderr,
                        "usage: bench_metrics_fixture SYSFS-ROOT PIN-ROOT SLOTS STATE-DIR CGROUP-DIR COUNT FIRST\n"
                        "       bench_metrics_fixture --remove PIN-ROOT\n");
                return 2;
        }
        sysfs_root = argv[1];
        pin_root = argv[2];
        state_dir = argv[4];
        cgroup_dir = argv[5];
        np_log_set_level(NP_LOG_WARNING);
        np_config_init(&config);

        if (np_topology_load(sysfs_root, &diag, &topology) < 0 || np_ledger_open(state_dir, true, &diag, &ledger) < 0 ||
            np_monitor_open(sysfs_root, pin_root, topology, slots, true, &diag, &monitor) < 0) {
                fprintf(stderr, "bench_metrics_fixture: %s\n", diag.message);
                return 1;
        }
        for (size_t n = 0; n < topology->n_nodes; n++)
                max_node = MAX(max_node, topology->nodes[n].id);
        exclusive_left = topology->n_cpus / EXCLUSIVE_SHARE;

        for (unsigned int i = first; i < first + count; i++) {
                struct container c;
                struct np_placement placement;
                struct np_record rec;
                char path[PATH_MAX];

                describe(i, exclusive_left, &c);
                diag = (struct np_diag){};
                r = np_ledger_place(ledger, topology, &config, c.id, &c.request, &c.demand, 0, &diag, &placement);
                if (r == -ENOSPC && c.request.exclusive_cpus) {
                        /* the node auto chose would leave a shared container no CPU:
                         * this one runs shared instead, as a retry without the ask would */
                        c.request.exclusive_cpus = 0;
                        c.demand.cpu_millis = 1000;
                        diag = (struct np_diag){};
                        r = np_ledger_place(ledger, topology, &config, c.id, &c.request, &c.demand, 0, &diag,
                                            &placement);
                }
                if (r < 0) {
                        fprintf(stderr, "bench_metrics_fixture: container %u (%s): %s\n", i, c.id, diag.message);
                        return 1;
                }
                np_record_from_placement(&rec, c.id, &placement, NP_SOURCE_HOOK);
                snprintf(rec.names.namespace, sizeof(rec.names.namespace), "%s", c.request.pod_namespace);
                snprintf(rec.names.pod, sizeof(rec.names.pod), "%s", c.request.pod_name);
                snprintf(rec.names.container, sizeof(rec.names.container), "%s", c.request.container_name);
                rec.pid = 0; /* no process: the scrape reads the cgroup's memory.numa_stat */
                rec.created = now - (int64_t)(mix(i) % 86400);
                /* the systemd cgroup driver's layout under kubepods.slice */
                {
                        char pod_unit[64];

                        snprintf(pod_unit, sizeof(pod_unit), "%s", c.pod_uid);
                        for (char *p = pod_unit; *p; p++)
                                if (*p == '-')
                                        *p = '_';
                        snprintf(path, sizeof(path),
                                 "%s/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice/"
                                 "cri-containerd-%s.scope",
                                 cgroup_dir, pod_unit, c.id);
                }
                snprintf(rec.cgroup, sizeof(rec.cgroup), "%s", path);
                if ((r = mkdir_parents(path)) < 0 || (r = write_numa_stat(path, &rec, max_node, i)) < 0) {
                        fprintf(stderr, "bench_metrics_fixture: %s: %s\n", path, strerror(-r));
                        return 1;
                }
                rec.monitor = (struct np_record_monitor){ .on = true, .slot = i, .cgroup_id = FAKE_ID_BASE + i };
                snprintf(rec.monitor.dir, sizeof(rec.monitor.dir), "%.255s", monitor->dir);
                diag = (struct np_diag){};
                if ((r = np_monitor_watch(monitor, rec.monitor.cgroup_id, rec.monitor.slot, &rec.mems, &diag)) < 0 ||
                    (r = fill_counters(monitor, &rec, i)) < 0) {
                        fprintf(stderr, "bench_metrics_fixture: container %u: %s\n", i,
                                diag.message[0] ? diag.message : strerror(-r));
                        return 1;
                }
                r = np_ledger_put(ledger, &rec);
                if (r < 0) {
                        fprintf(stderr, "bench_metrics_fixture: cannot write the record of %s: %s\n", c.id,
                                strerror(-r));
                        return 1;
                }
                n_monitored++;
                if (rec.policy == NP_POLICY_BIND)
                        n_bind++;
                else
                        n_cpus_only++;
                if (!np_cpulist_empty(&rec.exclusive_cpus)) {
                        n_exclusive++;
                        exclusive_left -= MIN(exclusive_left, np_cpulist_count(&rec.exclusive_cpus));
                }
        }
        printf("records %u bind %u cpus_only %u exclusive %u monitored %u\n", count, n_bind, n_cpus_only, n_exclusive,
               n_monitored);
        return 0;
}
