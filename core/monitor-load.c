// SPDX-License-Identifier: MIT
/* Loading the locality monitor: probes the running kernel (its BTF, its page
 * flags layout, its memory blocks), chooses each signal's program (tp_btf or
 * classic tracepoint), sizes the maps, fills the CPU and memory-block tables,
 * then attaches and pins everything in the set's directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "fileio.h"
#include "locality.skel.h"
#include "monitor-internal.h"
#include "monitor.h"

#define TRACEFS "/sys/kernel/tracing"

/* A kernel config, plain or gzipped, when it is a regular file; gzgets() reads at most a line at a time. */
static gzFile open_config(const char *path)
{
        int fd = np_open_regular_at(AT_FDCWD, path, O_RDONLY);
        gzFile f;

        if (fd < 0)
                return NULL;
        f = gzdopen(fd, "r"); /* reads plain text as well */
        if (!f)
                close(fd);
        return f;
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
        f = open_config(path);
        if (!f)
                f = open_config("/proc/config.gz");
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

/* What a signal's choice of program may depend on. */
struct kernel_facts {
        const struct btf *btf;    /* the kernel's; NULL when classic tracepoints are forced or it has none */
        unsigned int nodes_shift; /* CONFIG_NODES_SHIFT when the page flags hold the node, else 0 */
};

/* One signal: a tracepoint, its tp_btf program (or variants of it) and its
 * classic program. What sets a signal apart is in its row, as functions. */
struct signal {
        const char *tracepoint;   /* the name in btf_trace_<name> */
        const char *btf_progs[4]; /* the tp_btf variants, NULL-terminated */
        const char *classic_prog;
        /* Which of btf_progs this kernel runs, given that its BTF has the
         * tracepoint; -1 for none (the classic one then). NULL: the first. */
        int (*pick_btf)(const struct kernel_facts *kernel);
        /* Sets the read-only settings that follow from the choice. NULL: none. */
        void (*set_rodata)(struct locality_bpf *skel, const struct kernel_facts *kernel, bool use_btf);
};

/* The page's node is in its flags only with a known layout. */
static int page_alloc_pick_btf(const struct kernel_facts *kernel)
{
        return kernel->nodes_shift ? 0 : -1;
}

static void page_alloc_set_rodata(struct locality_bpf *skel, const struct kernel_facts *kernel, bool use_btf)
{
        skel->rodata->page_node_shift = kernel->nodes_shift ? 64 - kernel->nodes_shift : 0;
}

/* The classic program keeps each task's slot, for the tasks it sees migrate. */
static void migrate_set_rodata(struct locality_bpf *skel, const struct kernel_facts *kernel, bool use_btf)
{
        skel->rodata->track_task_slots = !use_btf;
}

/* One variant per place of `reason` among the tracepoint's arguments: 6, 7 or 8. */
static int migrate_pages_pick_btf(const struct kernel_facts *kernel)
{
        int index = migrate_reason_index(kernel->btf);

        return index >= 6 && index <= 8 ? index - 6 : -1;
}

static const struct signal signals[] = {
        {
                .tracepoint = "sched_switch",
                .btf_progs = { "switch_btf" },
                .classic_prog = "switch_classic",
        },
        {
                .tracepoint = "mm_page_alloc",
                .btf_progs = { "page_alloc_btf" },
                .classic_prog = "page_alloc_classic",
                .pick_btf = page_alloc_pick_btf,
                .set_rodata = page_alloc_set_rodata,
        },
        {
                .tracepoint = "sched_migrate_task",
                .btf_progs = { "migrate_btf" },
                .classic_prog = "migrate_classic",
                .set_rodata = migrate_set_rodata,
        },
        {
                .tracepoint = "mm_migrate_pages",
                .btf_progs = { "migrate_pages_btf6", "migrate_pages_btf7", "migrate_pages_btf8" },
                .classic_prog = "migrate_pages_classic",
                .pick_btf = migrate_pages_pick_btf,
        },
        /* not signals: they make the cached cgroup ids and the running entries stale, and
         * cgroup_rmdir takes a removed cgroup's key */
        {
                .tracepoint = "cgroup_rmdir",
                .btf_progs = { "rmdir_btf" },
                .classic_prog = "rmdir_classic",
        },
        {
                .tracepoint = "cgroup_attach_task",
                .btf_progs = { "attach_btf" },
                .classic_prog = "attach_classic",
        },
        {
                .tracepoint = "cgroup_transfer_tasks",
                .btf_progs = { "transfer_btf" },
                .classic_prog = "transfer_classic",
        },
};

static void set_autoload(struct locality_bpf *skel, const char *prog, bool autoload)
{
        bpf_program__set_autoload(bpf_object__find_program_by_name(skel->obj, prog), autoload);
}

/* The tp_btf variant of `signal` this kernel runs, -1 for the classic program. */
static int choose_btf(const struct signal *signal, const struct kernel_facts *kernel)
{
        char name[64];

        snprintf(name, sizeof(name), "btf_trace_%s", signal->tracepoint);
        if (!kernel->btf || btf__find_by_name_kind(kernel->btf, name, BTF_KIND_TYPEDEF) < 0)
                return -1;
        return signal->pick_btf ? signal->pick_btf(kernel) : 0;
}

/* Chooses each signal's flavour and sets the read-only settings; returns which
 * flavours as text in `attach`. */
static int choose_programs(struct locality_bpf *skel, enum np_monitor_attach mode, char *attach, size_t size)
{
        struct btf *btf = mode == NP_MONITOR_ATTACH_CLASSIC ? NULL : btf__load_vmlinux_btf();
        const struct kernel_facts kernel = { .btf = btf, .nodes_shift = kernel_nodes_shift() };
        size_t used = 0;

        attach[0] = '\0';
        for (size_t i = 0; i < ARRAY_SIZE(signals); i++) {
                const struct signal *signal = &signals[i];
                int variant = choose_btf(signal, &kernel);
                bool use_btf = variant >= 0;

                if (mode == NP_MONITOR_ATTACH_BTF && !use_btf) {
                        btf__free(btf);
                        return -EOPNOTSUPP;
                }
                for (int v = 0; signal->btf_progs[v]; v++)
                        set_autoload(skel, signal->btf_progs[v], v == variant);
                set_autoload(skel, signal->classic_prog, !use_btf);
                if (signal->set_rodata)
                        signal->set_rodata(skel, &kernel, use_btf);
                used += (size_t)snprintf(attach + used, size - MIN(used, size), "%s%s=%s", i ? " " : "",
                                         signal->tracepoint, use_btf ? "tp_btf" : "tracepoint");
                if (used >= size)
                        used = size - 1;
        }
        btf__free(btf);
        return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

/* The directory `path` below `dirfd`, for readdir; NULL with errno set. */
static DIR *open_dir_at(int dirfd, const char *path)
{
        int fd = np_open_dir_at(dirfd, path);
        DIR *dir;

        if (fd < 0) {
                errno = -fd;
                return NULL;
        }
        dir = fdopendir(fd);
        if (!dir)
                closep(&fd);
        return dir;
}

/* Memory block size and block -> node, from devices/system/ of the sysfs root
 * `sysfs_fd`; `n_blocks` 0 when the kernel has no memory block directory. */
static int read_memory_blocks(int sysfs_fd, unsigned int *ret_shift, uint32_t **ret_nodes, unsigned int *ret_n_blocks)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ uint32_t *nodes = NULL;
        _cleanup_(closedirp) DIR *dir = NULL;
        unsigned long long block_size;
        unsigned int n_blocks = 0, shift = 0;
        struct dirent *e;
        size_t size;

        *ret_n_blocks = 0;
        if (np_read_file_at(sysfs_fd, "devices/system/memory/block_size_bytes", 64, &text, &size) < 0 ||
            sscanf(text, "%llx", &block_size) != 1 || block_size < 4096 || (block_size & (block_size - 1)))
                return 0;
        while ((1ULL << shift) < block_size)
                shift++;
        *ret_shift = shift - 12;
        dir = open_dir_at(sysfs_fd, "devices/system/node");
        if (!dir)
                return 0;
        while ((e = readdir(dir))) {
                _cleanup_(closedirp) DIR *node_dir = NULL;
                unsigned int node;
                struct dirent *b;

                if (sscanf(e->d_name, "node%u", &node) != 1 || node >= NP_BPF_MAX_NODES)
                        continue;
                node_dir = open_dir_at(dirfd(dir), e->d_name);
                if (!node_dir)
                        continue;
                while ((b = readdir(node_dir))) {
                        unsigned int block;
                        uint32_t *grown;

                        if (sscanf(b->d_name, "memory%u", &block) != 1 || block >= (1u << 24))
                                continue;
                        if (block >= n_blocks) {
                                grown = realloc(nodes, (block + 1) * sizeof(*nodes));
                                if (!grown)
                                        return -ENOMEM;
                                for (unsigned int i = n_blocks; i <= block; i++)
                                        grown[i] = UINT32_MAX;
                                nodes = grown;
                                n_blocks = block + 1;
                        }
                        nodes[block] = node;
                }
        }
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

int np_monitor_key_hierarchy(char *text, bool v1)
{
        char *line, *save = NULL;

        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *controllers = strchr(line, ':'), *end, *name, *names_save = NULL;
                long id;

                if (!controllers || !(end = strchr(controllers + 1, ':')))
                        continue;
                *end = '\0';
                controllers++;
                errno = 0;
                id = strtol(line, &end, 10);
                if (errno || end == line || end != controllers - 1 || id < 0 || id > INT_MAX)
                        continue;
                if (!v1 && controllers[0] == '\0')
                        return (int)id;
                for (name = strtok_r(controllers, ",", &names_save); v1 && name;
                     name = strtok_r(NULL, ",", &names_save))
                        if (strcmp(name, "cpuset") == 0)
                                return (int)id;
        }
        return -1;
}

/* This process's key hierarchy; -1 when /proc/self/cgroup cannot be read. */
static int key_hierarchy(bool v1)
{
        _cleanup_free_ char *text = NULL;

        if (np_read_file_at(AT_FDCWD, "/proc/self/cgroup", 64 * 1024, &text, NULL) < 0)
                return -1;
        return np_monitor_key_hierarchy(text, v1);
}

/* libbpf's own messages are dropped: numapin reports one line of its own. */
static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
        if (np_log_get_level() >= NP_LOG_DEBUG)
                return vfprintf(stderr, fmt, ap);
        return 0;
}

int np_monitor_load(const char *sysfs_root, const char *dir, const struct np_topology *topology, unsigned int slots,
                    char *attach, size_t attach_size, struct np_diag *diag)
{
        _cleanup_free_ uint32_t *blocks = NULL;
        _cleanup_close_ int sysfs_fd = -1;
        unsigned int stride = 1, n_blocks = 0, block_shift = 15, index_size;
        enum np_monitor_attach mode = attach_from_env();
        struct np_monitor_pmu_events pmu_events;
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
        sysfs_fd = openat(AT_FDCWD, sysfs_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sysfs_fd < 0)
                return np_diag_fail(diag, -errno, "monitor: sysfs root '%s': %s", sysfs_root, strerror(errno));
        r = read_memory_blocks(sysfs_fd, &block_shift, &blocks, &n_blocks);
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
        skel->rodata->key_hierarchy = key_hierarchy(skel->rodata->key_cgroup_v1);
        skel->rodata->pmu_enabled = np_monitor_pmu_probe(&pmu_events, &pmu_info);
        skel->rodata->node_stride = stride;
        skel->rodata->block_pfn_shift = block_shift;
        /* twice the slots, a power of two: sequential cgroup ids seldom share an entry */
        for (index_size = 2; index_size < 2 * slots; index_size *= 2)
                ;
        skel->rodata->index_mask = index_size - 1;
        bpf_map__set_max_entries(skel->maps.watch_index, index_size);
        bpf_map__set_max_entries(skel->maps.watched, slots);
        bpf_map__set_max_entries(skel->maps.slot_stats, slots);
        bpf_map__set_value_size(skel->maps.slot_stats, NP_BPF_SLOT_STATS_SIZE(stride));
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
        /* cgroup_rmdir, cgroup_attach_task and cgroup_transfer_tasks are attached: the
         * programs may cache cgroup ids from now on, and keep the running tasks' where
         * the tp_btf sched_switch program, which sets the entries, is the one attached */
        skel->bss->cgroup_epoch = 1;
        skel->bss->running_epoch = bpf_program__autoload(skel->progs.switch_btf) ? 1 : 0;
        /* the maps, `watched` last: a set with it is complete */
        for (size_t i = 0; i < ARRAY_SIZE(np_monitor_map_names); i++) {
                char path[PATH_MAX + 64];

                snprintf(path, sizeof(path), "%s/%s", dir, np_monitor_map_names[i]);
                r = bpf_map__pin(bpf_object__find_map_by_name(skel->obj, np_monitor_map_names[i]), path);
                if (r < 0) {
                        np_diag_fail(diag, r, "monitor: cannot pin %s: %s", path, strerror(-r));
                        goto fail;
                }
        }
        if (skel->rodata->pmu_enabled) {
                r = np_monitor_pmu_start_holder(dir, bpf_map__fd(skel->maps.pmu_events), &pmu_events,
                                                (unsigned int)n_cpus);
                pmu_info.live = r == 0;
                if (r < 0)
                        snprintf(pmu_info.text, sizeof(pmu_info.text), "the holder of the events did not start");
        }
        bpf_map_update_elem(bpf_map__fd(skel->maps.pmu_info), &(__u32){ 0 }, &pmu_info, BPF_ANY);
        locality_bpf__destroy(skel);
        np_log_debug("monitor: loaded and pinned in %s (%s)", dir, attach);
        return 0;
fail:
        if (diag && !diag->error)
                np_diag_fail(diag, r, "monitor: loading into %s failed: %s", dir, strerror(-r));
        locality_bpf__destroy(skel);
        np_monitor_remove(dir);
        return r;
}
