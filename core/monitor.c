// SPDX-License-Identifier: MIT
/* The locality monitor's user space side. The first hook of a boot (or of a new
 * numapin build) loads bpf/locality.bpf.c, attaches it and pins its links and maps
 * under <pin root>/<object hash>/; every later hook only opens the pinned maps and
 * adds or removes one key. The pin directory is named after the BPF object's hash,
 * so a newer build never reads maps laid out by an older one. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <unistd.h>
#include <zlib.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "fileio.h"
#include "locality.skel.h"
#include "monitor.h"
#include "parse.h"

#define BPF_FS_MAGIC_VALUE 0xcafe4a11
#define TRACEFS            "/sys/kernel/tracing"

/* The pinned maps user space opens, in this order; `watched` is pinned last, so
 * a set with it is complete. */
static const char *const map_names[] = { "slot_info",  "slot_nodes", "slot_counters", "cpu_node",
                                         "block_node", "pmu_info",   "watch_index",   "watched" };

/* The signals: each has a tp_btf and a classic program. */
struct signal {
        const char *tracepoint; /* the name in btf_trace_<name> */
        const char *btf_prog;   /* NULL: chosen by choose_programs() */
        const char *classic_prog;
};

static const struct signal signals[] = {
        { "sched_switch", "switch_btf", "switch_classic" },
        { "mm_page_alloc", "page_alloc_btf", "page_alloc_classic" },
        { "sched_migrate_task", "migrate_btf", "migrate_classic" },
        { "mm_migrate_pages", NULL, "migrate_pages_classic" }, /* migrate_pages_btf<reason's index> */
};

int np_monitor_dir(const char *pin_root, char *buf, size_t size)
{
        const unsigned char *elf;
        uint64_t hash = 0xcbf29ce484222325ULL; /* FNV-1a */
        size_t len;
        int w;

        elf = locality_bpf__elf_bytes(&len);
        for (size_t i = 0; i < len; i++)
                hash = (hash ^ elf[i]) * 0x100000001b3ULL;
        w = snprintf(buf, size, "%s/%016llx", pin_root, (unsigned long long)hash);
        return w < 0 || (size_t)w >= size ? -ENAMETOOLONG : 0;
}

int np_monitor_cgroup_id(const char *path, uint64_t *ret_id)
{
        struct stat st;

        /* the kernfs id of a cgroup directory is its inode number on 64-bit */
        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        *ret_id = (uint64_t)st.st_ino;
        return 0;
}

void np_monitor_close(struct np_monitor *monitor)
{
        int *fds[] = { &monitor->watched_fd,       &monitor->slot_info_fd, &monitor->slot_nodes_fd,
                       &monitor->slot_counters_fd, &monitor->cpu_node_fd,  &monitor->block_node_fd,
                       &monitor->pmu_info_fd,      &monitor->index_fd };

        for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
                if (*fds[i] >= 0)
                        close(*fds[i]);
        free(monitor);
}

static int map_max_entries(int fd, unsigned int *ret)
{
        struct bpf_map_info info = {};
        __u32 len = sizeof(info);

        if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
                return -errno;
        *ret = info.max_entries;
        return 0;
}

int np_monitor_open_dir(const char *dir, struct np_diag *diag, struct np_monitor **ret_monitor)
{
        struct np_monitor *m = calloc(1, sizeof(*m));
        int *fds[ARRAY_SIZE(map_names)];
        unsigned int nodes_entries = 0;
        int n_cpus, r;

        if (!m)
                return -ENOMEM;
        fds[0] = &m->slot_info_fd;
        fds[1] = &m->slot_nodes_fd;
        fds[2] = &m->slot_counters_fd;
        fds[3] = &m->cpu_node_fd;
        fds[4] = &m->block_node_fd;
        fds[5] = &m->pmu_info_fd;
        fds[6] = &m->index_fd;
        fds[7] = &m->watched_fd;
        for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
                *fds[i] = -1;
        snprintf(m->dir, sizeof(m->dir), "%s", dir);
        for (size_t i = 0; i < ARRAY_SIZE(map_names); i++) {
                char path[PATH_MAX + 32];

                snprintf(path, sizeof(path), "%s/%s", dir, map_names[i]);
                *fds[i] = bpf_obj_get(path);
                if (*fds[i] < 0) {
                        r = -errno;
                        np_monitor_close(m);
                        return np_diag_fail(diag, r, "monitor: cannot open the pinned map %s: %s", path, strerror(-r));
                }
        }
        n_cpus = libbpf_num_possible_cpus();
        if (n_cpus <= 0 || (r = map_max_entries(m->watched_fd, &m->slots)) < 0 ||
            (r = map_max_entries(m->slot_nodes_fd, &nodes_entries)) < 0 || m->slots == 0) {
                np_monitor_close(m);
                return np_diag_fail(diag, n_cpus <= 0 ? -EIO : r, "monitor: cannot read the pinned maps in %s", dir);
        }
        if ((r = map_max_entries(m->index_fd, &m->index_size)) < 0 || m->index_size == 0 ||
            (m->index_size & (m->index_size - 1))) {
                np_monitor_close(m);
                return np_diag_fail(diag, r < 0 ? r : -EINVAL, "monitor: the pinned watch_index in %s is unusable",
                                    dir);
        }
        m->n_cpus = (unsigned int)n_cpus;
        m->node_stride = nodes_entries / m->slots;
        *ret_monitor = m;
        return 0;
}

/* --- loading ------------------------------------------------------------------------ */

/* Mounts bpffs on the parent of pin_root when it is not on bpffs, and creates pin_root. */
static int prepare_bpffs(const char *pin_root, struct np_diag *diag)
{
        char parent[PATH_MAX];
        struct statfs fs;
        char *slash;

        snprintf(parent, sizeof(parent), "%s", pin_root);
        slash = strrchr(parent, '/');
        if (!slash || slash == parent)
                return np_diag_fail(diag, -EINVAL, "monitor: pin dir %s: expected a directory below a bpffs mount",
                                    pin_root);
        *slash = '\0';
        if (statfs(parent, &fs) < 0)
                return np_diag_fail(diag, -errno, "monitor: %s: %s", parent, strerror(errno));
        if ((unsigned long)fs.f_type != BPF_FS_MAGIC_VALUE) {
                if (mount("bpf", parent, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") < 0)
                        return np_diag_fail(diag, -errno,
                                            "monitor: %s is not bpffs and mounting bpffs there failed: %s", parent,
                                            strerror(errno));
                np_log_info("monitor: mounted bpffs on %s", parent);
        }
        if (mkdir(pin_root, 0700) < 0 && errno != EEXIST)
                return np_diag_fail(diag, -errno, "monitor: cannot create %s: %s", pin_root, strerror(errno));
        return 0;
}

/* CONFIG_NODES_SHIFT of the running kernel when its page flags hold the node in
 * their top bits (SPARSEMEM_VMEMMAP), from /boot/config-<release> or /proc/config.gz;
 * 0 when unknown. */
static unsigned int kernel_nodes_shift(void)
{
        char path[PATH_MAX], line[512];
        unsigned int shift = 0;
        bool vmemmap = false;
        struct utsname u;
        gzFile f;

        if (uname(&u) < 0)
                return 0;
        snprintf(path, sizeof(path), "/boot/config-%s", u.release);
        f = gzopen(path, "r"); /* reads plain text as well */
        if (!f)
                f = gzopen("/proc/config.gz", "r");
        if (!f)
                return 0;
        while (gzgets(f, line, sizeof(line))) {
                unsigned int v;

                if (sscanf(line, "CONFIG_NODES_SHIFT=%u", &v) == 1 && v > 0 && v <= 10)
                        shift = v;
                else if (strncmp(line, "CONFIG_SPARSEMEM_VMEMMAP=y", 26) == 0)
                        vmemmap = true;
        }
        gzclose(f);
        return vmemmap ? shift : 0;
}

/* The index of `reason` among the arguments of the mm_migrate_pages tracepoint
 * (they grew over kernel versions), from the kernel's BTF; -1 if unknown. */
static int migrate_reason_index(const struct btf *btf)
{
        const struct btf_type *t;
        int id = btf__find_by_name_kind(btf, "btf_trace_mm_migrate_pages", BTF_KIND_TYPEDEF);

        if (id < 0)
                return -1;
        t = btf__type_by_id(btf, btf__resolve_type(btf, id));
        if (!t || !btf_is_ptr(t))
                return -1;
        t = btf__type_by_id(btf, t->type);
        if (!t || !btf_is_func_proto(t) || btf_vlen(t) < 2)
                return -1;
        /* the first parameter is the tracepoint's data pointer, the last is reason */
        return (int)btf_vlen(t) - 2;
}

static enum np_monitor_attach attach_from_env(void)
{
        const char *e = getenv("NUMAPIN_BPF_ATTACH");

        if (e && strcmp(e, "btf") == 0)
                return NP_MONITOR_ATTACH_BTF;
        if (e && strcmp(e, "classic") == 0)
                return NP_MONITOR_ATTACH_CLASSIC;
        return NP_MONITOR_ATTACH_AUTO;
}

/* Chooses each signal's flavour and sets the read-only settings; returns which
 * flavours as text in `attach`. */
static int choose_programs(struct locality_bpf *skel, enum np_monitor_attach mode, char *attach, size_t size)
{
        struct btf *btf = mode == NP_MONITOR_ATTACH_CLASSIC ? NULL : btf__load_vmlinux_btf();
        unsigned int nodes_shift = kernel_nodes_shift();
        size_t used = 0;

        attach[0] = '\0';
        for (size_t i = 0; i < ARRAY_SIZE(signals); i++) {
                char name[64];
                bool use_btf;

                snprintf(name, sizeof(name), "btf_trace_%s", signals[i].tracepoint);
                use_btf = btf && btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) >= 0;
                if (strcmp(signals[i].tracepoint, "mm_page_alloc") == 0 && nodes_shift == 0)
                        use_btf = false; /* the page's node is in its flags only with a known layout */
                if (strcmp(signals[i].tracepoint, "mm_migrate_pages") == 0) {
                        int index = use_btf ? migrate_reason_index(btf) : -1;

                        use_btf = index >= 6 && index <= 8;
                        for (int n = 6; n <= 8; n++) {
                                snprintf(name, sizeof(name), "migrate_pages_btf%d", n);
                                bpf_program__set_autoload(bpf_object__find_program_by_name(skel->obj, name),
                                                          use_btf && n == index);
                        }
                }
                if (mode == NP_MONITOR_ATTACH_BTF && !use_btf) {
                        btf__free(btf);
                        return -EOPNOTSUPP;
                }
                if (signals[i].btf_prog)
                        bpf_program__set_autoload(bpf_object__find_program_by_name(skel->obj, signals[i].btf_prog),
                                                  use_btf);
                bpf_program__set_autoload(bpf_object__find_program_by_name(skel->obj, signals[i].classic_prog),
                                          !use_btf);
                if (strcmp(signals[i].tracepoint, "sched_migrate_task") == 0)
                        skel->rodata->track_task_slots = !use_btf;
                used += (size_t)snprintf(attach + used, size - MIN(used, size), "%s%s=%s", i ? " " : "",
                                         signals[i].tracepoint, use_btf ? "tp_btf" : "tracepoint");
                if (used >= size)
                        used = size - 1;
        }
        skel->rodata->page_node_shift = nodes_shift ? 64 - nodes_shift : 0;
        btf__free(btf);
        return 0;
}

/* Memory block size and block -> node, from /sys/devices/system; `n_blocks` 0 when
 * the kernel has no memory block directory. */
static int read_memory_blocks(unsigned int *ret_shift, uint32_t **ret_nodes, unsigned int *ret_n_blocks)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ uint32_t *nodes = NULL;
        unsigned long long block_size;
        unsigned int n_blocks = 0, shift = 0;
        DIR *dir;
        struct dirent *e;
        size_t size;

        *ret_n_blocks = 0;
        if (np_read_file_at(AT_FDCWD, "/sys/devices/system/memory/block_size_bytes", 64, &text, &size) < 0 ||
            sscanf(text, "%llx", &block_size) != 1 || block_size < 4096 || (block_size & (block_size - 1)))
                return 0;
        while ((1ULL << shift) < block_size)
                shift++;
        *ret_shift = shift - 12;
        dir = opendir("/sys/devices/system/node");
        if (!dir)
                return 0;
        while ((e = readdir(dir))) {
                char path[PATH_MAX];
                unsigned int node;
                struct dirent *b;
                DIR *node_dir;

                if (sscanf(e->d_name, "node%u", &node) != 1 || node >= NP_BPF_MAX_NODES)
                        continue;
                snprintf(path, sizeof(path), "/sys/devices/system/node/%s", e->d_name);
                node_dir = opendir(path);
                if (!node_dir)
                        continue;
                while ((b = readdir(node_dir))) {
                        unsigned int block;
                        uint32_t *grown;

                        if (sscanf(b->d_name, "memory%u", &block) != 1 || block >= (1u << 24))
                                continue;
                        if (block >= n_blocks) {
                                grown = realloc(nodes, (block + 1) * sizeof(*nodes));
                                if (!grown) {
                                        closedir(node_dir);
                                        closedir(dir);
                                        return -ENOMEM;
                                }
                                for (unsigned int i = n_blocks; i <= block; i++)
                                        grown[i] = UINT32_MAX;
                                nodes = grown;
                                n_blocks = block + 1;
                        }
                        nodes[block] = node;
                }
                closedir(node_dir);
        }
        closedir(dir);
        *ret_nodes = TAKE_PTR(nodes);
        *ret_n_blocks = n_blocks;
        return 0;
}

static int fill_tables(struct locality_bpf *skel, const struct np_topology *topology, const uint32_t *blocks,
                       unsigned int n_blocks)
{
        int cpu_fd = bpf_map__fd(skel->maps.cpu_node), block_fd = bpf_map__fd(skel->maps.block_node);

        unsigned int n_cpus = bpf_map__max_entries(skel->maps.cpu_node);

        for (size_t i = 0; i < topology->n_cpus; i++) {
                __u32 cpu = topology->cpus[i].id, node = topology->cpus[i].node;

                if (cpu >= n_cpus)
                        continue; /* a topology read from another tree (tests) */
                if (bpf_map_update_elem(cpu_fd, &cpu, &node, BPF_ANY) < 0)
                        return -errno;
        }
        for (__u32 b = 0; b < n_blocks; b++)
                if (blocks[b] != UINT32_MAX && bpf_map_update_elem(block_fd, &b, &blocks[b], BPF_ANY) < 0)
                        return -errno;
        return 0;
}

static void unpin_all(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;

        if (!d)
                return;
        while ((e = readdir(d)))
                if (e->d_name[0] != '.')
                        unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
        rmdir(dir);
}

int np_monitor_remove(const char *dir)
{
        struct stat st;

        if (stat(dir, &st) < 0)
                return -errno;
        unpin_all(dir);
        return 0;
}

/* --- the PMU tier ---------------------------------------------------------------------- */

/* The local and remote DRAM fill events of this CPU (numatop's choice of events),
 * or -EOPNOTSUPP with the reason. NUMAPIN_PMU=software stands in two software
 * events, to test the plumbing on machines without a PMU. */
static int pmu_events_of_cpu(struct perf_event_attr *local, struct perf_event_attr *remote, char *text, size_t size)
{
        const char *e = getenv("NUMAPIN_PMU");
        char line[256], vendor[64] = "";
        unsigned int family = 0;
        FILE *f;

        *local = (struct perf_event_attr){ .size = sizeof(*local), .exclude_hv = 1 };
        *remote = *local;
        if (e && strcmp(e, "software") == 0) {
                local->type = remote->type = PERF_TYPE_SOFTWARE;
                local->config = PERF_COUNT_SW_CPU_CLOCK;
                remote->config = PERF_COUNT_SW_PAGE_FAULTS;
                snprintf(text, size, "software stand-ins: cpu-clock as local, page-faults as remote (NUMAPIN_PMU)");
                return 0;
        }
        if (access("/sys/bus/event_source/devices/cpu", F_OK) < 0) {
                snprintf(text, size, "this machine has no CPU PMU");
                return -EOPNOTSUPP;
        }
        f = fopen("/proc/cpuinfo", "re");
        while (f && fgets(line, sizeof(line), f) && (!vendor[0] || !family)) {
                sscanf(line, "vendor_id : %63s", vendor);
                sscanf(line, "cpu family : %u", &family);
        }
        if (f)
                fclose(f);
        local->type = remote->type = PERF_TYPE_RAW;
        if (strcmp(vendor, "GenuineIntel") == 0) {
                local->config = 0x01d3;  /* MEM_LOAD_L3_MISS_RETIRED.LOCAL_DRAM */
                remote->config = 0x02d3; /* .REMOTE_DRAM */
                snprintf(text, size, "MEM_LOAD_L3_MISS_RETIRED.LOCAL_DRAM/REMOTE_DRAM");
        } else if (strcmp(vendor, "AuthenticAMD") == 0 && family >= 0x17) {
                /* fills from DRAM of the same node (0x08) or another one (0x40) */
                local->config = family >= 0x19 ? 0x0844 : 0x0843;
                remote->config = family >= 0x19 ? 0x4044 : 0x4043;
                snprintf(text, size, "ls_%s_fills_from_sys near/far DRAM", family >= 0x19 ? "any" : "dmnd");
        } else {
                snprintf(text, size, "no local/remote DRAM events known for this CPU (%s family %u)", vendor, family);
                return -EOPNOTSUPP;
        }
        return 0;
}

static int open_counter(struct perf_event_attr *attr, int cpu)
{
        return (int)syscall(SYS_perf_event_open, attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

/* Whether the events open here; fills `info` either way. */
static bool pmu_probe(struct perf_event_attr *local, struct perf_event_attr *remote, struct np_bpf_pmu_info *info)
{
        int fd_local, fd_remote;

        memset(info, 0, sizeof(*info));
        if (pmu_events_of_cpu(local, remote, info->text, sizeof(info->text)) < 0)
                return false;
        fd_local = open_counter(local, 0);
        fd_remote = fd_local >= 0 ? open_counter(remote, 0) : -1;
        if (fd_local < 0 || fd_remote < 0) {
                snprintf(info->text, sizeof(info->text), "the DRAM events do not open here: %s", strerror(errno));
                if (fd_local >= 0)
                        close(fd_local);
                return false;
        }
        close(fd_local);
        close(fd_remote);
        return true;
}

/* The PMU tier's events stay in the perf event array only while the process that
 * put them there keeps its map open: a detached holder process does, until the
 * pinned set is removed. */
static int start_pmu_holder(const char *dir, int events_fd, struct perf_event_attr *local,
                            struct perf_event_attr *remote, unsigned int n_cpus)
{
        char watched[PATH_MAX + 16];
        pid_t pid = fork();
        int status;

        if (pid < 0)
                return -errno;
        if (pid > 0)
                return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
        /* the child: a grandchild in its own session holds the events; the runtime
         * waits for the hook only, and the holder keeps none of its pipes */
        if (setsid() < 0 || (pid = fork()) < 0)
                _exit(1);
        if (pid > 0)
                _exit(0);
        /* nothing of the hook's: above all not its locks (the ledger's, the loader's) */
        if (events_fd > 3)
                close_range(3, (unsigned int)events_fd - 1, 0);
        close_range((unsigned int)MAX(events_fd, 2) + 1, ~0U, 0);
        prctl(PR_SET_NAME, "numapin-pmu");
        for (int fd = 0; fd < 3; fd++) {
                int null = open("/dev/null", O_RDWR);
                if (null >= 0 && null != fd) {
                        dup2(null, fd);
                        close(null);
                }
        }
        for (unsigned int cpu = 0; cpu < n_cpus; cpu++) {
                struct perf_event_attr *attrs[2] = { local, remote };

                for (__u32 k = 0; k < 2; k++) {
                        __u32 key = cpu * 2 + k;
                        int fd = open_counter(attrs[k], (int)cpu);

                        if (fd >= 0) /* offline CPUs simply have none */
                                bpf_map_update_elem(events_fd, &key, &fd, BPF_ANY);
                }
        }
        snprintf(watched, sizeof(watched), "%s/watched", dir);
        while (access(watched, F_OK) == 0)
                sleep(10);
        _exit(0);
}

/* libbpf's own messages are dropped: numapin reports one line of its own. */
static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
        if (np_log_get_level() >= NP_LOG_DEBUG)
                return vfprintf(stderr, fmt, ap);
        return 0;
}

static int load_and_pin(const char *dir, const struct np_topology *topology, unsigned int slots, char *attach,
                        size_t attach_size, struct np_diag *diag)
{
        _cleanup_free_ uint32_t *blocks = NULL;
        unsigned int stride = 1, n_blocks = 0, block_shift = 15, index_size;
        enum np_monitor_attach mode = attach_from_env();
        struct perf_event_attr pmu_local, pmu_remote;
        struct np_bpf_pmu_info pmu_info;
        struct locality_bpf *skel;
        struct bpf_program *prog;
        struct stat st;
        int n_cpus = libbpf_num_possible_cpus(), r;

        for (size_t i = 0; i < topology->n_nodes; i++)
                stride = MAX(stride, topology->nodes[i].id + 1);
        if (stride > NP_BPF_MAX_NODES)
                return np_diag_fail(diag, -EOPNOTSUPP, "monitor: node ids above %d are not supported",
                                    NP_BPF_MAX_NODES - 1);
        if (n_cpus <= 0)
                return np_diag_fail(diag, -EIO, "monitor: cannot count the possible CPUs");
        r = read_memory_blocks(&block_shift, &blocks, &n_blocks);
        if (r < 0)
                return r;
        libbpf_set_print(quiet_print);

        skel = locality_bpf__open();
        if (!skel)
                return np_diag_fail(diag, -errno ? -errno : -EIO, "monitor: cannot open the BPF object");
        r = choose_programs(skel, mode, attach, attach_size);
        if (r < 0) {
                locality_bpf__destroy(skel);
                return np_diag_fail(
                        diag, r,
                        "monitor: NUMAPIN_BPF_ATTACH=btf, but the kernel lacks a tp_btf tracepoint or the page flags layout");
        }
        skel->rodata->key_cgroup_v1 = stat("/sys/fs/cgroup/cgroup.controllers", &st) < 0;
        skel->rodata->pmu_enabled = pmu_probe(&pmu_local, &pmu_remote, &pmu_info);
        skel->rodata->node_stride = stride;
        skel->rodata->block_pfn_shift = block_shift;
        /* twice the slots, a power of two: sequential cgroup ids seldom share an entry */
        for (index_size = 2; index_size < 2 * slots; index_size *= 2)
                ;
        skel->rodata->index_mask = index_size - 1;
        bpf_map__set_max_entries(skel->maps.watch_index, index_size);
        bpf_map__set_max_entries(skel->maps.watched, slots);
        bpf_map__set_max_entries(skel->maps.slot_info, slots);
        bpf_map__set_max_entries(skel->maps.slot_counters, slots);
        bpf_map__set_max_entries(skel->maps.slot_nodes, slots * stride);
        bpf_map__set_max_entries(skel->maps.cpu_node, (__u32)n_cpus);
        bpf_map__set_max_entries(skel->maps.block_node, MAX(n_blocks, 1u));
        bpf_map__set_max_entries(skel->maps.pmu_events, 2 * (__u32)n_cpus);

        /* classic tracepoints need tracefs */
        if (strstr(attach, "=tracepoint") && stat(TRACEFS "/events", &st) < 0)
                mount("tracefs", TRACEFS, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);

        r = locality_bpf__load(skel);
        if (r < 0) {
                locality_bpf__destroy(skel);
                return np_diag_fail(diag, r, "monitor: the kernel refused the BPF programs (%s): %s", attach,
                                    strerror(-r));
        }
        r = fill_tables(skel, topology, blocks, n_blocks);
        if (r < 0)
                goto fail;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                r = -errno;
                goto fail;
        }
        bpf_object__for_each_program(prog, skel->obj)
        {
                char path[PATH_MAX + 64];
                struct bpf_link *link;

                if (!bpf_program__autoload(prog))
                        continue;
                link = bpf_program__attach(prog);
                if (!link) {
                        r = -errno;
                        np_diag_fail(diag, r, "monitor: cannot attach %s: %s", bpf_program__name(prog), strerror(-r));
                        goto fail;
                }
                snprintf(path, sizeof(path), "%s/link_%s", dir, bpf_program__name(prog));
                r = bpf_link__pin(link, path);
                bpf_link__destroy(link); /* the pin keeps it attached */
                if (r < 0) {
                        np_diag_fail(diag, r, "monitor: cannot pin %s: %s", path, strerror(-r));
                        goto fail;
                }
        }
        /* the maps, `watched` last: a set with it is complete */
        for (size_t i = 0; i < ARRAY_SIZE(map_names); i++) {
                char path[PATH_MAX + 64];

                snprintf(path, sizeof(path), "%s/%s", dir, map_names[i]);
                r = bpf_map__pin(bpf_object__find_map_by_name(skel->obj, map_names[i]), path);
                if (r < 0) {
                        np_diag_fail(diag, r, "monitor: cannot pin %s: %s", path, strerror(-r));
                        goto fail;
                }
        }
        if (skel->rodata->pmu_enabled) {
                r = start_pmu_holder(dir, bpf_map__fd(skel->maps.pmu_events), &pmu_local, &pmu_remote,
                                     (unsigned int)n_cpus);
                pmu_info.live = r == 0;
                if (r < 0)
                        snprintf(pmu_info.text, sizeof(pmu_info.text), "the holder of the events did not start");
        }
        bpf_map_update_elem(bpf_map__fd(skel->maps.pmu_info), &(__u32){ 0 }, &pmu_info, BPF_ANY);
        locality_bpf__destroy(skel);
        np_log_info("monitor: loaded and pinned in %s (%s)", dir, attach);
        return 0;
fail:
        if (diag && !diag->error)
                np_diag_fail(diag, r, "monitor: loading into %s failed: %s", dir, strerror(-r));
        locality_bpf__destroy(skel);
        unpin_all(dir);
        return r;
}

int np_monitor_open(const char *pin_root, const struct np_topology *topology, unsigned int slots, bool load,
                    struct np_diag *diag, struct np_monitor **ret_monitor)
{
        char dir[PATH_MAX], watched[PATH_MAX + 16], attach[160] = "";
        struct stat st;
        int r;

        r = np_monitor_dir(pin_root, dir, sizeof(dir));
        if (r < 0)
                return np_diag_fail(diag, r, "monitor: pin dir %s: too long", pin_root);
        snprintf(watched, sizeof(watched), "%s/watched", dir);
        if (stat(watched, &st) < 0) {
                _cleanup_close_ int lock_fd = -1;

                if (!load)
                        return np_diag_fail(diag, -ENOENT, "monitor: not loaded (no %s)", watched);
                r = prepare_bpffs(pin_root, diag);
                if (r < 0)
                        return r;
                /* one loader at a time; the others find its set complete */
                lock_fd = open(pin_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (lock_fd < 0)
                        return np_diag_fail(diag, -errno, "monitor: %s: %s", pin_root, strerror(errno));
                while (flock(lock_fd, LOCK_EX) < 0)
                        if (errno != EINTR)
                                return np_diag_fail(diag, -errno, "monitor: cannot lock %s: %s", pin_root,
                                                    strerror(errno));
                if (stat(watched, &st) < 0) {
                        if (stat(dir, &st) == 0)
                                unpin_all(dir); /* an interrupted load */
                        r = load_and_pin(dir, topology, slots, attach, sizeof(attach), diag);
                        if (r < 0)
                                return r;
                }
        }
        r = np_monitor_open_dir(dir, diag, ret_monitor);
        if (r == 0)
                snprintf((*ret_monitor)->attach, sizeof((*ret_monitor)->attach), "%s", attach);
        return r;
}

/* --- watching ------------------------------------------------------------------------ */

static int zero_percpu(int fd, __u32 key, size_t value_size, unsigned int n_cpus)
{
        _cleanup_free_ void *zeros = calloc(n_cpus, (value_size + 7) & ~(size_t)7);

        if (!zeros)
                return -ENOMEM;
        return bpf_map_update_elem(fd, &key, zeros, BPF_ANY) < 0 ? -errno : 0;
}

/* --- the cgroup id -> slot index (watch_index, then the `watched` hash) ------------------ */

static int index_get(const struct np_monitor *m, uint64_t id, __u32 *ret_index, struct np_bpf_index_entry *ret_entry)
{
        *ret_index = (__u32)(id & (m->index_size - 1));
        return bpf_map_lookup_elem(m->index_fd, ret_index, ret_entry) < 0 ? -errno : 0;
}

static int index_put(struct np_monitor *m, uint64_t id, uint32_t slot)
{
        struct np_bpf_index_entry e;
        __u32 index;
        int r = index_get(m, id, &index, &e);

        if (r < 0)
                return r;
        if (e.cgroup_id == 0 || e.cgroup_id == id) {
                e.cgroup_id = id;
                e.slot = slot;
                bpf_map_delete_elem(m->watched_fd, &id); /* if it was in the hash before */
        } else {
                if (bpf_map_update_elem(m->watched_fd, &id, &slot, BPF_ANY) < 0)
                        return errno == E2BIG ? -ENOSPC : -errno;
                e.overflow = 1;
        }
        return bpf_map_update_elem(m->index_fd, &index, &e, BPF_ANY) < 0 ? -errno : 0;
}

int np_monitor_lookup(const struct np_monitor *m, uint64_t cgroup_id, uint32_t *ret_slot)
{
        struct np_bpf_index_entry e;
        __u32 index;
        int r = index_get(m, cgroup_id, &index, &e);

        if (r < 0)
                return r;
        if (e.cgroup_id == cgroup_id) {
                *ret_slot = e.slot;
                return 0;
        }
        if (!e.overflow || bpf_map_lookup_elem(m->watched_fd, &cgroup_id, ret_slot) < 0)
                return -ENOENT;
        return 0;
}

int np_monitor_watch(struct np_monitor *m, uint64_t cgroup_id, uint32_t slot, const struct np_cpulist *mems,
                     struct np_diag *diag)
{
        struct np_bpf_slot_info info = {};
        int r;

        if (slot >= m->slots)
                return np_diag_fail(diag, -ENOSPC, "monitor: slot %u beyond the %u the maps hold", slot, m->slots);
        for (unsigned int n = 0; n < m->node_stride; n++) {
                r = zero_percpu(m->slot_nodes_fd, slot * m->node_stride + n, sizeof(struct np_bpf_node_counters),
                                m->n_cpus);
                if (r < 0)
                        return np_diag_fail(diag, r, "monitor: cannot reset slot %u: %s", slot, strerror(-r));
        }
        r = zero_percpu(m->slot_counters_fd, slot, sizeof(struct np_bpf_slot_counters), m->n_cpus);
        if (r < 0)
                return np_diag_fail(diag, r, "monitor: cannot reset slot %u: %s", slot, strerror(-r));
        NP_CPULIST_FOREACH(node, mems) {
                if (node < NP_BPF_MAX_NODES)
                        info.allowed[node / 64] |= 1ULL << (node % 64);
        }
        if (bpf_map_update_elem(m->slot_info_fd, &slot, &info, BPF_ANY) < 0)
                return np_diag_fail(diag, -errno, "monitor: cannot set slot %u: %s", slot, strerror(errno));
        r = index_put(m, cgroup_id, slot);
        if (r < 0)
                return np_diag_fail(diag, r, "monitor: cannot watch cgroup %llu: %s", (unsigned long long)cgroup_id,
                                    r == -ENOSPC ? "the watched map is full" : strerror(-r));
        return 0;
}

int np_monitor_unwatch(struct np_monitor *m, uint64_t cgroup_id)
{
        struct np_bpf_index_entry e;
        __u32 index;
        int r = index_get(m, cgroup_id, &index, &e);

        if (r < 0)
                return r;
        if (e.cgroup_id == cgroup_id) {
                e.cgroup_id = 0; /* `overflow` stays: other ids of this index may be in the hash */
                return bpf_map_update_elem(m->index_fd, &index, &e, BPF_ANY) < 0 ? -errno : 0;
        }
        if (bpf_map_delete_elem(m->watched_fd, &cgroup_id) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int np_monitor_sweep(struct np_monitor *m, const bool *live, unsigned int n_live)
{
        __u64 key, next;
        void *prev = NULL;
        int r = 0;

        for (__u32 i = 0; i < m->index_size; i++) {
                struct np_bpf_index_entry e;

                if (bpf_map_lookup_elem(m->index_fd, &i, &e) == 0 && e.cgroup_id &&
                    (e.slot >= n_live || !live[e.slot])) {
                        e.cgroup_id = 0;
                        if (bpf_map_update_elem(m->index_fd, &i, &e, BPF_ANY) < 0)
                                r = -errno;
                }
        }
        while (bpf_map_get_next_key(m->watched_fd, prev, &next) == 0) {
                __u32 slot;

                if (bpf_map_lookup_elem(m->watched_fd, &next, &slot) == 0 && (slot >= n_live || !live[slot])) {
                        if (bpf_map_delete_elem(m->watched_fd, &next) < 0 && errno != ENOENT)
                                r = -errno;
                        prev = NULL; /* the walk starts again after a delete */
                        continue;
                }
                key = next;
                prev = &key;
        }
        return r;
}

int np_monitor_count(const struct np_monitor *m, unsigned int *ret_count)
{
        __u64 key, next;
        void *prev = NULL;
        unsigned int n = 0;

        for (__u32 i = 0; i < m->index_size; i++) {
                struct np_bpf_index_entry e;

                if (bpf_map_lookup_elem(m->index_fd, &i, &e) == 0 && e.cgroup_id)
                        n++;
        }
        while (bpf_map_get_next_key(m->watched_fd, prev, &next) == 0) {
                key = next;
                prev = &key;
                n++;
        }
        *ret_count = n;
        return 0;
}

int np_monitor_read(const struct np_monitor *m, uint32_t slot, struct np_locality *ret)
{
        size_t node_size = (sizeof(struct np_bpf_node_counters) + 7) & ~(size_t)7;
        size_t counter_size = (sizeof(struct np_bpf_slot_counters) + 7) & ~(size_t)7;
        _cleanup_free_ void *values = calloc(m->n_cpus, MAX(node_size, counter_size));

        if (!values)
                return -ENOMEM;
        if (slot >= m->slots)
                return -ERANGE;
        memset(ret, 0, sizeof(*ret));
        ret->node_stride = MIN(m->node_stride, (unsigned int)NP_BPF_MAX_NODES);
        for (unsigned int n = 0; n < ret->node_stride; n++) {
                __u32 key = slot * m->node_stride + n;

                if (bpf_map_lookup_elem(m->slot_nodes_fd, &key, values) < 0)
                        return -errno;
                for (unsigned int c = 0; c < m->n_cpus; c++) {
                        const struct np_bpf_node_counters *v = (const void *)((const char *)values + c * node_size);

                        ret->nodes[n].cpu_ns += v->cpu_ns;
                        ret->nodes[n].pages += v->pages;
                        ret->nodes[n].pages_local += v->pages_local;
                }
        }
        if (bpf_map_lookup_elem(m->slot_counters_fd, &slot, values) < 0)
                return -errno;
        for (unsigned int c = 0; c < m->n_cpus; c++) {
                const struct np_bpf_slot_counters *v = (const void *)((const char *)values + c * counter_size);

                ret->counters.pages_outside += v->pages_outside;
                ret->counters.pages_unknown_node += v->pages_unknown_node;
                ret->counters.migrations += v->migrations;
                ret->counters.migrations_cross += v->migrations_cross;
                ret->counters.numa_balancing_pages += v->numa_balancing_pages;
                ret->counters.pmu_local += v->pmu_local;
                ret->counters.pmu_remote += v->pmu_remote;
        }
        return 0;
}

int np_monitor_set_cpu_node(struct np_monitor *m, uint32_t cpu, uint32_t node)
{
        return bpf_map_update_elem(m->cpu_node_fd, &cpu, &node, BPF_ANY) < 0 ? -errno : 0;
}

int np_monitor_set_all_blocks_node(struct np_monitor *m, uint32_t node)
{
        unsigned int n = 0;
        int r = map_max_entries(m->block_node_fd, &n);

        for (__u32 b = 0; r == 0 && b < n; b++)
                if (bpf_map_update_elem(m->block_node_fd, &b, &node, BPF_ANY) < 0)
                        r = -errno;
        return r;
}

int np_monitor_pmu(const struct np_monitor *m, struct np_bpf_pmu_info *ret_info)
{
        __u32 zero = 0;

        return bpf_map_lookup_elem(m->pmu_info_fd, &zero, ret_info) < 0 ? -errno : 0;
}
