// SPDX-License-Identifier: MIT
/* The topology cache file: a header naming what it was made from (the sysfs
 * root and the contents of node/online and cpu/online), then the static part
 * of struct np_topology. Everything read back is checked (sizes, counts, id
 * ranges) before use: a damaged or foreign cache is a miss, never trusted. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "fileio.h"
#include "topocache.h"

#define CACHE_MAGIC "NPTOPO1"
#define CACHE_LIMIT (64 * 1024 * 1024)

struct cache_header {
        char magic[8];
        uint32_t n_nodes;
        uint32_t n_cpus;
        uint32_t n_cores;
        uint32_t key_size;
        uint32_t cpu_size;  /* sizeof(struct np_cpu) of the build that wrote it */
        uint32_t list_size; /* sizeof(struct np_cpulist) */
};

/* The key: root, node/online and cpu/online, as found now. */
static int make_key(const char *sysfs_root, char **ret_key, size_t *ret_size)
{
        _cleanup_free_ char *nodes = NULL, *cpus = NULL;
        char path[PATH_MAX + 64];
        size_t size;
        char *key;
        int r;

        snprintf(path, sizeof(path), "%s/devices/system/node/online", sysfs_root);
        r = np_read_attribute_at(AT_FDCWD, path, 65536, &nodes, NULL);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "%s/devices/system/cpu/online", sysfs_root);
        r = np_read_attribute_at(AT_FDCWD, path, 65536, &cpus, NULL);
        if (r < 0)
                return r;
        size = strlen(sysfs_root) + strlen(nodes) + strlen(cpus) + 3;
        key = malloc(size);
        if (!key)
                return -ENOMEM;
        snprintf(key, size, "%s\n%s\n%s", sysfs_root, nodes, cpus);
        *ret_key = key;
        *ret_size = strlen(key);
        return 0;
}

/* Appends `size` bytes to a growing buffer. */
static int append(char **buf, size_t *used, size_t *capacity, const void *data, size_t size)
{
        if (*used + size > *capacity) {
                size_t next = MAX(*capacity * 2, *used + size);
                char *grown = realloc(*buf, next);
                if (!grown)
                        return -ENOMEM;
                *buf = grown;
                *capacity = next;
        }
        memcpy(*buf + *used, data, size);
        *used += size;
        return 0;
}

static int write_cache(const struct np_topology *t, const char *cache_path, const char *key, size_t key_size)
{
        _cleanup_free_ char *buf = NULL, *dir_copy = NULL, *name_copy = NULL;
        _cleanup_close_ int dir_fd = -1;
        struct cache_header header = { .magic = CACHE_MAGIC };
        size_t used = 0, capacity = 0;
        int r = 0;

        header.n_nodes = (uint32_t)t->n_nodes;
        header.n_cpus = (uint32_t)t->n_cpus;
        header.n_cores = (uint32_t)t->n_cores;
        header.key_size = (uint32_t)key_size;
        header.cpu_size = sizeof(struct np_cpu);
        header.list_size = sizeof(struct np_cpulist);
        r = append(&buf, &used, &capacity, &header, sizeof(header));
        if (r == 0)
                r = append(&buf, &used, &capacity, key, key_size);
        for (size_t i = 0; r == 0 && i < t->n_nodes; i++) {
                r = append(&buf, &used, &capacity, &t->nodes[i].id, sizeof(t->nodes[i].id));
                if (r == 0)
                        r = append(&buf, &used, &capacity, &t->nodes[i].cpus, sizeof(t->nodes[i].cpus));
                if (r == 0)
                        r = append(&buf, &used, &capacity, t->nodes[i].distances,
                                   t->n_nodes * sizeof(*t->nodes[i].distances));
        }
        if (r == 0)
                r = append(&buf, &used, &capacity, t->cpus, t->n_cpus * sizeof(*t->cpus));
        if (r == 0)
                r = append(&buf, &used, &capacity, &t->online_cpus, sizeof(t->online_cpus));
        if (r == 0)
                r = append(&buf, &used, &capacity, &t->node_ids, sizeof(t->node_ids));
        if (r < 0)
                return r;

        dir_copy = strdup(cache_path);
        name_copy = strdup(cache_path);
        if (!dir_copy || !name_copy)
                return -ENOMEM;
        dir_fd = openat(AT_FDCWD, dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;
        return np_write_file_atomic_at(dir_fd, basename(name_copy), buf, used, 0644);
}

/* Takes `size` bytes from the cache data; NULL when it runs short. */
static const void *take(const char **p, const char *end, size_t size)
{
        const void *at = *p;

        if ((size_t)(end - *p) < size)
                return NULL;
        *p += size;
        return at;
}

/* Rebuilds the static topology from cache data; -EINVAL for anything off. */
static int read_cache(const char *data, size_t size, const char *key, size_t key_size,
                      struct np_topology **ret_topology)
{
        _cleanup_topology_ struct np_topology *t = NULL;
        const char *p = data, *end = data + size;
        const struct cache_header *header;
        const void *chunk;

        header = take(&p, end, sizeof(*header));
        if (!header || memcmp(header->magic, CACHE_MAGIC, sizeof(header->magic)) != 0 || header->key_size != key_size ||
            header->cpu_size != sizeof(struct np_cpu) || header->list_size != sizeof(struct np_cpulist) ||
            header->n_nodes == 0 || header->n_nodes > NP_MAX_NODES || header->n_cpus > NP_CPULIST_MAX ||
            header->n_cores > header->n_cpus)
                return -EINVAL;
        chunk = take(&p, end, key_size);
        if (!chunk || memcmp(chunk, key, key_size) != 0)
                return -ESTALE;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        memset(t->node_index, 0xff, sizeof(t->node_index));
        t->nodes = calloc(header->n_nodes, sizeof(*t->nodes));
        t->cpus = calloc(header->n_cpus ? header->n_cpus : 1, sizeof(*t->cpus));
        if (!t->nodes || !t->cpus)
                return -ENOMEM;
        t->n_nodes = header->n_nodes;
        for (size_t i = 0; i < t->n_nodes; i++) {
                struct np_node *node = &t->nodes[i];
                /* copied out, never dereferenced: after the key, the data is not aligned */
                const void *id = take(&p, end, sizeof(node->id));
                const void *cpus = take(&p, end, sizeof(node->cpus));
                const void *distances = take(&p, end, t->n_nodes * sizeof(uint32_t));

                if (!id || !cpus || !distances)
                        return -EINVAL;
                memcpy(&node->id, id, sizeof(node->id));
                if (node->id >= NP_MAX_NODES || t->node_index[node->id] >= 0 ||
                    (i > 0 && node->id <= t->nodes[i - 1].id))
                        return -EINVAL;
                memcpy(&node->cpus, cpus, sizeof(node->cpus));
                np_node_count_cpus(node);
                node->distances = malloc(t->n_nodes * sizeof(*node->distances));
                if (!node->distances)
                        return -ENOMEM;
                memcpy(node->distances, distances, t->n_nodes * sizeof(*node->distances));
                for (size_t d = 0; d < t->n_nodes; d++)
                        if (node->distances[d] < 1 || node->distances[d] > 255)
                                return -EINVAL;
                t->node_index[node->id] = (int16_t)i;
        }
        chunk = take(&p, end, header->n_cpus * sizeof(*t->cpus));
        if (!chunk)
                return -EINVAL;
        memcpy(t->cpus, chunk, header->n_cpus * sizeof(*t->cpus));
        t->n_cpus = header->n_cpus;
        t->n_cores = header->n_cores;
        for (size_t c = 0; c < t->n_cpus; c++) {
                const struct np_cpu *cpu = &t->cpus[c];

                if (cpu->id >= NP_CPULIST_MAX || cpu->node >= NP_MAX_NODES || t->node_index[cpu->node] < 0 ||
                    cpu->core_index >= t->n_cores || (c > 0 && cpu->id <= t->cpus[c - 1].id) ||
                    !np_cpulist_test(&t->nodes[t->node_index[cpu->node]].cpus, cpu->id))
                        return -EINVAL;
        }
        {
                /* each CPU is in its own node's list (above): as many bits in the lists
                 * as CPUs means no list names a CPU without a record, which placement
                 * would look up through cpu_index */
                size_t listed = 0;

                for (size_t i = 0; i < t->n_nodes; i++)
                        listed += t->nodes[i].n_cpus;
                if (listed != t->n_cpus)
                        return -EINVAL;
        }
        if (!(chunk = take(&p, end, sizeof(t->online_cpus))))
                return -EINVAL;
        memcpy(&t->online_cpus, chunk, sizeof(t->online_cpus));
        if (!(chunk = take(&p, end, sizeof(t->node_ids))) || p != end)
                return -EINVAL;
        memcpy(&t->node_ids, chunk, sizeof(t->node_ids));
        if (np_cpulist_count(&t->node_ids) != t->n_nodes)
                return -EINVAL;
        if (np_topology_index_cpus(t) < 0)
                return -ENOMEM;
        *ret_topology = TAKE_PTR(t);
        return 0;
}

int np_topology_load_cached(const char *sysfs_root, const char *cache_path, struct np_diag *diag,
                            struct np_topology **ret_topology)
{
        _cleanup_topology_ struct np_topology *t = NULL;
        _cleanup_free_ char *key = NULL, *data = NULL;
        size_t key_size, size;
        int r;

        if (!sysfs_root)
                sysfs_root = "/sys";
        if (!cache_path || make_key(sysfs_root, &key, &key_size) < 0)
                return np_topology_load(sysfs_root, diag, ret_topology);

        r = np_read_file_at(AT_FDCWD, cache_path, CACHE_LIMIT, &data, &size);
        /* a stale or damaged cache is rebuilt; something else in its place (a FIFO) is not ours to replace */
        if (r == -EINVAL)
                return np_diag_fail(diag, r, "topology cache %s: %s", cache_path,
                                    np_file_strerror_at(AT_FDCWD, cache_path, r));
        if (r == 0 && read_cache(data, size, key, key_size, &t) == 0) {
                r = np_topology_refresh(t, sysfs_root, diag);
                if (r < 0)
                        return r;
                *ret_topology = TAKE_PTR(t);
                return 0;
        }

        r = np_topology_load(sysfs_root, diag, &t);
        if (r < 0)
                return r;
        r = write_cache(t, cache_path, key, key_size);
        if (r < 0)
                np_log_debug("topology cache %s not written: %s", cache_path, strerror(-r));
        *ret_topology = TAKE_PTR(t);
        return 0;
}
