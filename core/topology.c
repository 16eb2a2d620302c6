// SPDX-License-Identifier: MIT
/* Reads the NUMA topology from sysfs through a root directory fd, so tests read
 * fixture trees the same way as the hook reads /sys. Every attribute is
 * validated: a malformed file is an error naming the file, never a guess. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "parse.h"
#include "topology.h"

#define ATTR_LIMIT    65536
#define MEMINFO_LIMIT (64 * 1024)
/* the longest name under a node or cpu folder: "cpu4294967295/cache/index15/shared_cpu_list" */
#define FILE_PATH_MAX 64

void np_topology_free(struct np_topology *topology)
{
        if (!topology)
                return;
        for (size_t i = 0; topology->nodes && i < topology->n_nodes; i++)
                free(topology->nodes[i].distances);
        free(topology->nodes);
        free(topology->cpus);
        free(topology->cpu_index);
        free(topology);
}

/* Writes "<dir><id>/<file>" to `path` ("cpu12/topology/core_id"), as snprintf()
 * would without its cost: a first start on 1024 CPUs names some 1600 files.
 * `dir` and `file` are this file's constants, which all fit. */
static const char *numbered_file(char path[static FILE_PATH_MAX], const char *dir, unsigned int id, const char *file)
{
        char digits[10];
        size_t n = 0, dir_len = strlen(dir), file_len = strlen(file);

        do
                digits[n++] = (char)('0' + id % 10);
        while ((id /= 10) > 0);
        assert(dir_len + n + 1 + file_len < FILE_PATH_MAX);
        memcpy(path, dir, dir_len);
        for (size_t i = 0; i < n; i++)
                path[dir_len + i] = digits[n - 1 - i];
        path[dir_len + n] = '/';
        memcpy(path + dir_len + n + 1, file, file_len + 1);
        return path;
}

/* `where` is the path of dirfd, for messages. */
static int read_attr(int dirfd, const char *path, const char *where, struct np_diag *diag, char **ret_text)
{
        int r = np_read_attribute_at(dirfd, path, ATTR_LIMIT, ret_text, NULL);
        if (r < 0 && r != -ENOENT)
                return np_diag_fail(diag, r, "sysfs: cannot read %s/%s: %s", where, path,
                                    np_file_strerror_at(dirfd, path, r));
        return r;
}

static int read_list(int dirfd, const char *path, unsigned int limit, const char *where, struct np_diag *diag,
                     struct np_cpulist *ret_list)
{
        _cleanup_free_ char *text = NULL;
        char what[512];
        int r;

        r = read_attr(dirfd, path, where, diag, &text);
        if (r < 0)
                return r;
        if (diag) /* only a diagnostic reads it: share_values() reads 500 lists without one */
                snprintf(what, sizeof(what), "sysfs %s/%s", where, path);
        else
                what[0] = '\0';
        return np_cpulist_parse(text, limit, what, diag, ret_list);
}

/* Reads a small unsigned attribute; -ENOENT when absent. "-1" (no such level on
 * this machine) reads as 0. */
static int read_u32(int dirfd, const char *path, const char *where, struct np_diag *diag, unsigned int *ret_value)
{
        _cleanup_free_ char *text = NULL;
        uint64_t value;
        int r;

        r = read_attr(dirfd, path, where, diag, &text);
        if (r < 0)
                return r;
        if (strcmp(text, "-1\n") == 0 || strcmp(text, "-1") == 0) {
                *ret_value = 0;
                return 0;
        }
        r = np_parse_sysfs_u64(text, UINT32_MAX, &value);
        if (r < 0)
                return np_diag_fail(diag, r, "sysfs: %s/%s is not a number", where, path);
        *ret_value = (unsigned int)value;
        return 0;
}

/* Finds "Node N <key>: <value> kB" in a node's meminfo. */
static int meminfo_field(const char *meminfo, const char *key, uint64_t *ret_kb)
{
        for (const char *line = meminfo; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
                const char *p = line, *colon;
                char digits[24];
                size_t n = 0;

                if (strncmp(p, "Node ", 5) != 0)
                        continue;
                p += 5;
                while (*p >= '0' && *p <= '9')
                        p++;
                while (*p == ' ')
                        p++;
                colon = strchr(p, ':');
                if (!colon || (size_t)(colon - p) != strlen(key) || strncmp(p, key, strlen(key)) != 0)
                        continue;
                p = colon + 1;
                while (*p == ' ')
                        p++;
                while (p[n] >= '0' && p[n] <= '9' && n < sizeof(digits) - 1) {
                        digits[n] = p[n];
                        n++;
                }
                digits[n] = '\0';
                if (strncmp(p + n, " kB", 3) != 0)
                        return -EINVAL;
                return np_parse_u64(digits, 0, UINT64_MAX / 1024, ret_kb);
        }
        return -ENOENT;
}

/* Reads MemTotal and MemFree of node->id from its meminfo. */
static int read_meminfo(int node_dir, const char *node_path, struct np_diag *diag, struct np_node *node)
{
        _cleanup_free_ char *meminfo = NULL;
        char path[FILE_PATH_MAX];
        int r;

        numbered_file(path, "node", node->id, "meminfo");
        r = np_read_attribute_at(node_dir, path, MEMINFO_LIMIT, &meminfo, NULL);
        if (r < 0)
                return np_diag_fail(diag, r, "sysfs: cannot read %s/%s: %s", node_path, path,
                                    np_file_strerror_at(node_dir, path, r));
        if (meminfo_field(meminfo, "MemTotal", &node->memory_total_kb) < 0 ||
            meminfo_field(meminfo, "MemFree", &node->memory_free_kb) < 0 ||
            node->memory_free_kb > node->memory_total_kb)
                return np_diag_fail(diag, -EINVAL, "sysfs: %s/%s lacks valid 'Node %u MemTotal/MemFree: N kB' lines",
                                    node_path, path, node->id);
        return 0;
}

/* The node and cpu folders of a sysfs root, with their paths for messages. */
struct sysfs_dirs {
        int node_dir;
        int cpu_dir;
        char node_path[PATH_MAX + 32];
        char cpu_path[PATH_MAX + 32];
};

static void sysfs_dirs_close(struct sysfs_dirs *dirs)
{
        closep(&dirs->node_dir);
        closep(&dirs->cpu_dir);
}

/* Opens the two folders by their whole paths (each verb reads node meminfo
 * through them: no descriptor of the root to open and close); the root is
 * looked at only to say which part is missing. */
static int sysfs_dirs_open(const char *sysfs_root, struct np_diag *diag, struct sysfs_dirs *dirs)
{
        dirs->node_dir = dirs->cpu_dir = -1;
        snprintf(dirs->node_path, sizeof(dirs->node_path), "%s/devices/system/node", sysfs_root);
        snprintf(dirs->cpu_path, sizeof(dirs->cpu_path), "%s/devices/system/cpu", sysfs_root);
        dirs->node_dir = np_open_dir_at(AT_FDCWD, dirs->node_path);
        if (dirs->node_dir < 0) {
                _cleanup_close_ int root_fd = openat(AT_FDCWD, sysfs_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                if (root_fd < 0)
                        return np_diag_fail(diag, -errno, "sysfs root '%s': %s", sysfs_root, strerror(errno));
                return np_diag_fail(diag, dirs->node_dir, "sysfs: %s: %s (a kernel without NUMA?)", dirs->node_path,
                                    strerror(-dirs->node_dir));
        }
        dirs->cpu_dir = np_open_dir_at(AT_FDCWD, dirs->cpu_path);
        if (dirs->cpu_dir < 0)
                return np_diag_fail(diag, dirs->cpu_dir, "sysfs: %s: %s", dirs->cpu_path, strerror(-dirs->cpu_dir));
        return 0;
}

int np_topology_refresh(struct np_topology *t, const char *sysfs_root, struct np_diag *diag)
{
        _cleanup_(sysfs_dirs_close) struct sysfs_dirs dirs = { .node_dir = -1, .cpu_dir = -1 };
        int r;

        r = sysfs_dirs_open(sysfs_root, diag, &dirs);
        if (r < 0)
                return r;
        np_cpulist_zero(&t->memory_nodes);
        for (size_t i = 0; i < t->n_nodes; i++) {
                r = read_meminfo(dirs.node_dir, dirs.node_path, diag, &t->nodes[i]);
                if (r < 0)
                        return r;
                if (t->nodes[i].memory_total_kb > 0)
                        np_cpulist_set(&t->memory_nodes, t->nodes[i].id);
        }
        r = read_list(dirs.cpu_dir, "isolated", NP_CPULIST_MAX, dirs.cpu_path, diag, &t->isolated_cpus);
        if (r == -ENOENT)
                np_cpulist_zero(&t->isolated_cpus);
        else if (r < 0)
                return r;
        return 0;
}

static int load_node(int node_dir, unsigned int id, size_t n_nodes, const char *node_path, struct np_diag *diag,
                     struct np_node *node)
{
        _cleanup_free_ char *distance = NULL;
        char path[FILE_PATH_MAX];
        const char *p;
        size_t count = 0;
        int r;

        node->id = id;
        numbered_file(path, "node", id, "cpulist");
        r = read_list(node_dir, path, NP_CPULIST_MAX, node_path, diag, &node->cpus);
        if (r == -ENOENT)
                return np_diag_fail(diag, r, "sysfs: node %u is online but %s/%s is missing", id, node_path, path);
        if (r < 0)
                return r;

        r = read_meminfo(node_dir, node_path, diag, node);
        if (r < 0)
                return r;

        numbered_file(path, "node", id, "distance");
        r = np_read_attribute_at(node_dir, path, ATTR_LIMIT, &distance, NULL);
        if (r < 0)
                return np_diag_fail(diag, r, "sysfs: cannot read %s/%s: %s", node_path, path,
                                    np_file_strerror_at(node_dir, path, r));
        node->distances = calloc(n_nodes, sizeof(*node->distances));
        if (!node->distances)
                return -ENOMEM;
        p = distance;
        for (;;) {
                char digits[8];
                size_t n = 0;
                uint32_t value;

                while (*p == ' ')
                        p++;
                if (*p == '\n' || *p == '\0')
                        break;
                while (p[n] >= '0' && p[n] <= '9' && n < sizeof(digits) - 1) {
                        digits[n] = p[n];
                        n++;
                }
                digits[n] = '\0';
                if (count >= n_nodes || (p[n] != ' ' && p[n] != '\n' && p[n] != '\0') ||
                    np_parse_u32(digits, 1, 255, &value) < 0)
                        count = SIZE_MAX;
                if (count == SIZE_MAX)
                        break;
                node->distances[count++] = value;
                p += n;
        }
        if (count != n_nodes)
                return np_diag_fail(diag, -EINVAL,
                                    "sysfs: %s/%s must hold %zu distances from 1 to 255, one per online node",
                                    node_path, path, n_nodes);
        return 0;
}

/* The L3 cache id of a CPU: the cache/indexN whose level is 3. x86 puts it at
 * index3, so that one is tried first. Cache data only refines the choice of
 * exclusive CPUs, so an unreadable or malformed cache file means "L3 unknown"
 * (-1), not an error, and leaves no diagnostic behind. *ret_index: the N. */
static int cpu_l3(int cpu_root, const char *where, unsigned int cpu, unsigned int *ret_index)
{
        for (unsigned int i = 0; i < 16; i++) {
                unsigned int index = i == 0 ? 3 : i - (i <= 3), level, id;
                char path[FILE_PATH_MAX], file[FILE_PATH_MAX];

                numbered_file(path, "cpu", cpu, numbered_file(file, "cache/index", index, "level"));
                if (read_u32(cpu_root, path, where, NULL, &level) < 0) {
                        if (index == 3)
                                continue;
                        break;
                }
                if (level != 3)
                        continue;
                numbered_file(path, "cpu", cpu, numbered_file(file, "cache/index", index, "id"));
                if (read_u32(cpu_root, path, where, NULL, &id) == 0 && id <= INT32_MAX) {
                        *ret_index = index;
                        return (int)id;
                }
                return -1;
        }
        return -1;
}

/* CPUs whose values an earlier CPU's sysfs lists gave: the CPUs of one package
 * (topology/package_cpus_list) share its id, those of one die
 * (topology/die_cpus_list) the die's, SMT siblings (topology/thread_siblings_list)
 * their core, and the CPUs of one L3 (cache/indexN/shared_cpu_list) its id. Each
 * value is read once per package, die, core or L3 instead of once per CPU: a
 * first start on 1024 CPUs reads a fifth of the files. Entries are indexes in
 * t->cpus, -1 for "read its own". */
enum {
        SHARE_PACKAGE,
        SHARE_DIE,
        SHARE_CORE,
        SHARE_L3,
        N_SHARES
};

struct shared_values {
        int16_t from[N_SHARES][NP_CPULIST_MAX];
};

static const struct {
        const char *value, *list;
} shared_files[] = {
        [SHARE_PACKAGE] = { "topology/physical_package_id", "topology/package_cpus_list" },
        [SHARE_DIE] = { "topology/die_id", "topology/die_cpus_list" },
        [SHARE_CORE] = { "topology/core_id", "topology/thread_siblings_list" },
};

/* The field of `cpu` that shared_files[k] reads. */
static unsigned int *shared_field(struct np_cpu *cpu, unsigned int k)
{
        return k == SHARE_PACKAGE ? &cpu->package : k == SHARE_DIE ? &cpu->die : &cpu->core;
}

/* Marks the CPUs of `list_path` above `id` among `all` as taking their values
 * from the CPU at `index`. A list that cannot be read only costs reads: false. */
static bool share_values(int cpu_root, const char *list_path, unsigned int id, const struct np_cpulist *all,
                         int16_t index, int16_t *from)
{
        struct np_cpulist list;

        if (read_list(cpu_root, list_path, NP_CPULIST_MAX, "", NULL, &list) < 0)
                return false;
        NP_CPULIST_FOREACH(other, &list)
                if ((unsigned int)other > id && np_cpulist_test(all, (unsigned int)other) && from[other] < 0)
                        from[other] = index;
        return true;
}

static bool cpu_folder(int cpu_root, unsigned int id)
{
        char name[32];

        snprintf(name, sizeof(name), "cpu%u", id);
        return faccessat(cpu_root, name, F_OK, 0) == 0;
}

/* Fills cpus[index], the CPU `id` of `node`; cpus[0..index) are filled. Its
 * files are read by their path under the cpu folder ("cpuN/topology/core_id"),
 * not through a descriptor of cpuN/: two calls fewer for each CPU read. A CPU
 * without a folder reads as its own core, package and die (a flat machine). */
static int load_cpu(int cpu_root, unsigned int id, unsigned int node, const char *cpu_path,
                    const struct np_cpulist *all, struct shared_values *shared, struct np_cpu *cpus, int16_t index,
                    struct np_diag *diag)
{
        struct np_cpu *cpu = &cpus[index];
        struct np_cpu *from[N_SHARES];
        char path[FILE_PATH_MAX], list_path[FILE_PATH_MAX];
        unsigned int l3_index = 0;
        bool all_shared = true, looked = false;
        int r;

        *cpu = (struct np_cpu){ .id = id, .node = node, .core = id, .l3 = -1 };
        for (unsigned int k = 0; k < N_SHARES; k++) {
                from[k] = shared->from[k][id] >= 0 ? &cpus[shared->from[k][id]] : NULL;
                all_shared = all_shared && from[k];
        }
        if (from[SHARE_CORE] && from[SHARE_CORE]->node != node) {
                from[SHARE_CORE] = NULL; /* siblings share a node: a list saying otherwise is not trusted */
                all_shared = false;
        }
        for (unsigned int k = 0; k < ARRAY_SIZE(shared_files); k++)
                if (from[k])
                        *shared_field(cpu, k) = *shared_field(from[k], k);
        if (from[SHARE_L3])
                cpu->l3 = from[SHARE_L3]->l3;
        if (all_shared)
                return 0;
        for (unsigned int k = 0; k < ARRAY_SIZE(shared_files); k++) {
                if (from[k])
                        continue;
                /* a core is its SMT siblings, named by the first of them read (its
                 * own id: cpu->core's default); its core_id is read only where the
                 * list cannot be: half the files of a first start */
                numbered_file(list_path, "cpu", id, shared_files[k].list);
                if (k == SHARE_CORE && share_values(cpu_root, list_path, id, all, index, shared->from[k]))
                        continue;
                numbered_file(path, "cpu", id, shared_files[k].value);
                r = read_u32(cpu_root, path, cpu_path, diag, shared_field(cpu, k));
                if (r == -ENOENT && !looked && !cpu_folder(cpu_root, id))
                        return 0; /* no per-CPU folder: a flat machine as far as we can tell */
                looked = true;
                if (r < 0 && r != -ENOENT)
                        return r;
                if (k != SHARE_CORE)
                        share_values(cpu_root, list_path, id, all, index, shared->from[k]);
        }
        if (!from[SHARE_L3]) {
                cpu->l3 = cpu_l3(cpu_root, cpu_path, id, &l3_index);
                if (cpu->l3 >= 0) {
                        char file[FILE_PATH_MAX];

                        numbered_file(path, "cpu", id, numbered_file(file, "cache/index", l3_index, "shared_cpu_list"));
                        share_values(cpu_root, path, id, all, index, shared->from[SHARE_L3]);
                }
        }
        return 0;
}

/* The order of cores: by package, die and core id, then CPU id. */
static bool before_in_core_order(const struct np_cpu *x, const struct np_cpu *y)
{
        if (x->package != y->package)
                return x->package < y->package;
        if (x->die != y->die)
                return x->die < y->die;
        if (x->core != y->core)
                return x->core < y->core;
        return x->id < y->id;
}

/* Sorts `cpus` in core order, `scratch` as long: a merge sort of runs doubling
 * in length, whose comparisons inline (musl's qsort() took a million
 * instructions for 1024 CPUs). The result is in `cpus` or `scratch`: returned. */
static struct np_cpu **sort_in_core_order(struct np_cpu **cpus, struct np_cpu **scratch, size_t n)
{
        for (size_t width = 1; width < n; width *= 2) {
                for (size_t start = 0; start < n; start += 2 * width) {
                        size_t mid = MIN(start + width, n), end = MIN(start + 2 * width, n), a = start, b = mid;

                        for (size_t out = start; out < end; out++)
                                scratch[out] = b == end || (a < mid && !before_in_core_order(cpus[b], cpus[a]))
                                                       ? cpus[a++]
                                                       : cpus[b++];
                }
                struct np_cpu **merged = scratch;

                scratch = cpus;
                cpus = merged;
        }
        return cpus;
}

/* Numbers the distinct (package, die, core) triples densely in that order:
 * SMT siblings share a core_index. */
static int index_cores(struct np_topology *t)
{
        _cleanup_free_ struct np_cpu **buffers = NULL;
        struct np_cpu **sorted;
        size_t n_cores = 0;

        if (t->n_cpus == 0)
                return 0;
        buffers = calloc(2 * t->n_cpus, sizeof(*buffers));
        if (!buffers)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_cpus; i++)
                buffers[i] = &t->cpus[i];
        sorted = sort_in_core_order(buffers, buffers + t->n_cpus, t->n_cpus);
        for (size_t i = 0; i < t->n_cpus; i++) {
                if (i > 0 && (sorted[i]->package != sorted[i - 1]->package || sorted[i]->die != sorted[i - 1]->die ||
                              sorted[i]->core != sorted[i - 1]->core))
                        n_cores++;
                sorted[i]->core_index = (unsigned int)n_cores;
        }
        t->n_cores = n_cores + 1;
        return 0;
}

int np_topology_load(const char *sysfs_root, struct np_diag *diag, struct np_topology **ret_topology)
{
        _cleanup_topology_ struct np_topology *t = NULL;
        _cleanup_(sysfs_dirs_close) struct sysfs_dirs dirs = { .node_dir = -1, .cpu_dir = -1 };
        _cleanup_free_ struct shared_values *shared = NULL;
        struct np_cpulist all_cpus;
        int r;

        if (!sysfs_root)
                sysfs_root = "/sys";
        r = sysfs_dirs_open(sysfs_root, diag, &dirs);
        if (r < 0)
                return r;
        const int node_dir = dirs.node_dir, cpu_dir = dirs.cpu_dir;
        const char *node_path = dirs.node_path, *cpu_path = dirs.cpu_path;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        memset(t->node_index, 0xff, sizeof(t->node_index));

        r = read_list(node_dir, "online", NP_MAX_NODES, node_path, diag, &t->node_ids);
        if (r < 0)
                return r == -ENOENT
                               ? np_diag_fail(diag, r, "sysfs: %s/devices/system/node/online is missing", sysfs_root)
                               : r;
        t->n_nodes = np_cpulist_count(&t->node_ids);
        if (t->n_nodes == 0)
                return np_diag_fail(diag, -EINVAL, "sysfs: %s/devices/system/node/online lists no node", sysfs_root);
        r = read_list(cpu_dir, "online", NP_CPULIST_MAX, cpu_path, diag, &t->online_cpus);
        if (r < 0)
                return r == -ENOENT
                               ? np_diag_fail(diag, r, "sysfs: %s/devices/system/cpu/online is missing", sysfs_root)
                               : r;
        r = read_list(cpu_dir, "isolated", NP_CPULIST_MAX, cpu_path, diag, &t->isolated_cpus);
        if (r == -ENOENT)
                np_cpulist_zero(&t->isolated_cpus);
        else if (r < 0)
                return r;

        t->nodes = calloc(t->n_nodes, sizeof(*t->nodes));
        if (!t->nodes)
                return -ENOMEM;
        np_cpulist_zero(&all_cpus);
        {
                size_t i = 0;
                NP_CPULIST_FOREACH(id, &t->node_ids) {
                        struct np_node *node = &t->nodes[i];

                        r = load_node(node_dir, (unsigned int)id, t->n_nodes, node_path, diag, node);
                        if (r < 0) {
                                t->n_nodes = i + 1; /* free what was allocated */
                                return r;
                        }
                        np_cpulist_and(&node->cpus, &t->online_cpus);
                        if (np_cpulist_intersects(&all_cpus, &node->cpus)) {
                                struct np_cpulist twice = node->cpus;

                                np_cpulist_and(&twice, &all_cpus);
                                return np_diag_fail(
                                        diag, -EINVAL,
                                        "sysfs: %s/node%d/cpulist lists CPU %d, which a lower node lists too; a CPU belongs to one node",
                                        node_path, id, np_cpulist_next(&twice, 0));
                        }
                        np_cpulist_or(&all_cpus, &node->cpus);
                        np_node_count_cpus(node);
                        if (node->memory_total_kb > 0)
                                np_cpulist_set(&t->memory_nodes, (unsigned int)id);
                        t->node_index[id] = (int16_t)i;
                        i++;
                }
        }

        t->n_cpus = np_cpulist_count(&all_cpus);
        t->cpus = calloc(t->n_cpus ? t->n_cpus : 1, sizeof(*t->cpus));
        if (!t->cpus)
                return -ENOMEM;
        shared = malloc(sizeof(*shared));
        if (!shared)
                return -ENOMEM;
        memset(shared, 0xff, sizeof(*shared));
        {
                size_t i = 0;
                NP_CPULIST_FOREACH(id, &all_cpus) {
                        unsigned int node = 0;

                        for (size_t n = 0; n < t->n_nodes; n++)
                                if (np_cpulist_test(&t->nodes[n].cpus, (unsigned int)id))
                                        node = t->nodes[n].id;

                        r = load_cpu(cpu_dir, (unsigned int)id, node, cpu_path, &all_cpus, shared, t->cpus, (int16_t)i,
                                     diag);
                        if (r < 0)
                                return r;
                        i++;
                }
        }
        r = np_topology_index_cpus(t);
        if (r < 0)
                return r;
        r = index_cores(t);
        if (r < 0)
                return r;
        *ret_topology = TAKE_PTR(t);
        return 0;
}

int np_topology_index_cpus(struct np_topology *t)
{
        t->cpu_index_size = t->n_cpus ? t->cpus[t->n_cpus - 1].id + 1 : 0;
        free(t->cpu_index);
        t->cpu_index = malloc((t->cpu_index_size ? t->cpu_index_size : 1) * sizeof(*t->cpu_index));
        if (!t->cpu_index)
                return -ENOMEM;
        memset(t->cpu_index, 0xff, t->cpu_index_size * sizeof(*t->cpu_index));
        for (size_t i = 0; i < t->n_cpus; i++)
                t->cpu_index[t->cpus[i].id] = (int16_t)i;
        return 0;
}

void np_node_count_cpus(struct np_node *node)
{
        node->n_cpus = np_cpulist_count(&node->cpus);
        node->cpu_words_start = node->cpu_words_end = 0;
        for (unsigned int w = 0; w < NP_CPULIST_WORDS; w++)
                if (node->cpus.bits[w]) {
                        if (node->cpu_words_end == 0)
                                node->cpu_words_start = w;
                        node->cpu_words_end = w + 1;
                }
}

const struct np_node *np_topology_node(const struct np_topology *topology, unsigned int node_id)
{
        if (node_id >= NP_MAX_NODES || topology->node_index[node_id] < 0)
                return NULL;
        return &topology->nodes[topology->node_index[node_id]];
}

const struct np_cpu *np_topology_cpu(const struct np_topology *topology, unsigned int cpu_id)
{
        if (cpu_id >= topology->cpu_index_size || topology->cpu_index[cpu_id] < 0)
                return NULL;
        return &topology->cpus[topology->cpu_index[cpu_id]];
}

unsigned int np_topology_distance(const struct np_topology *topology, unsigned int from, unsigned int to)
{
        const struct np_node *node = np_topology_node(topology, from);

        if (!node || to >= NP_MAX_NODES || topology->node_index[to] < 0)
                return 0;
        return node->distances[topology->node_index[to]];
}

int np_topology_nearest_cpu_node(const struct np_topology *topology, unsigned int node_id)
{
        const struct np_node *from = np_topology_node(topology, node_id);
        int nearest = -1;
        uint32_t best = 0;

        if (!from)
                return -1;
        /* the distance from the CPU node's row: what its CPUs pay to reach that memory (the
         * matrix may be asymmetric). Nodes are in ascending id order: a later node wins only
         * by a shorter distance */
        for (size_t i = 0; i < topology->n_nodes; i++) {
                const struct np_node *cpu_node = &topology->nodes[i];
                uint32_t distance = cpu_node->distances[topology->node_index[from->id]];

                if (cpu_node->n_cpus == 0)
                        continue;
                if (nearest < 0 || distance < best) {
                        nearest = (int)cpu_node->id;
                        best = distance;
                }
        }
        return nearest;
}

void np_topology_node_cpus(const struct np_topology *topology, const struct np_cpulist *nodes,
                           struct np_cpulist *ret_cpus)
{
        np_cpulist_zero(ret_cpus);
        NP_CPULIST_FOREACH(id, nodes) {
                const struct np_node *node = np_topology_node(topology, (unsigned int)id);
                if (node)
                        np_cpulist_or(ret_cpus, &node->cpus);
        }
}
