// SPDX-License-Identifier: MIT
/* The locality monitor's pinned set. The first hook of a boot (or of a new numapin
 * build) loads bpf/locality.bpf.c (monitor-load.c) and pins its links and maps
 * under <pin root>/<object hash>/ (taken at build time); every later hook only opens the pinned maps and
 * adds or removes one key, here. The pin directory is named after the BPF
 * object's hash, so a newer build never reads maps laid out by an older one. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "locality.hash.h" /* NP_MONITOR_OBJECT_HASH: the first 16 hex digits of its SHA-256 */
#include "locality.skel.h"
#include "monitor-internal.h"
#include "monitor.h"

#define BPF_FS_MAGIC_VALUE 0xcafe4a11
/* the largest index entry of any build's set this one unwatches in */
#define NP_MONITOR_MAX_ENTRY 256

const char *const np_monitor_map_names[NP_MONITOR_N_MAPS] = { "slot_stats", "cpu_node",    "block_node",
                                                              "pmu_info",   "watch_index", "watched" };

int np_monitor_dir(const char *pin_root, char *buf, size_t size)
{
        int w = snprintf(buf, size, "%s/%s", pin_root, NP_MONITOR_OBJECT_HASH);

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

/* The filesystem magic of `path`, with a message naming it when statfs fails. */
static int fs_magic(const char *path, const char *what, struct np_diag *diag, unsigned long *ret_magic)
{
        struct statfs fs;

        if (statfs(path, &fs) < 0)
                return np_diag_fail(diag, -errno, "monitor: %s %s: %s", what, path, strerror(errno));
        *ret_magic = (unsigned long)fs.f_type;
        return 0;
}

int np_monitor_sysfs_supported(const char *sysfs_root, struct np_diag *diag)
{
        unsigned long magic = 0;
        int r;

        if (!sysfs_root)
                sysfs_root = "/sys";
        r = fs_magic(sysfs_root, "sysfs root", diag, &magic);
        if (r < 0)
                return r;
        if (magic != SYSFS_MAGIC)
                return np_diag_fail(diag, -EOPNOTSUPP,
                                    "monitor: the sysfs root %s is not a sysfs mount (filesystem magic 0x%lx): the "
                                    "monitor counts on the running kernel only",
                                    sysfs_root, magic);
        return 0;
}

int np_monitor_cgroup_supported(const char *cgroup_dir, struct np_diag *diag)
{
        unsigned long magic = 0;
        int r;

        r = fs_magic(cgroup_dir, "cgroup", diag, &magic);
        if (r < 0)
                return r;
        if (magic != CGROUP2_SUPER_MAGIC && magic != CGROUP_SUPER_MAGIC)
                return np_diag_fail(diag, -EOPNOTSUPP,
                                    "monitor: %s is not a kernel cgroup (filesystem magic 0x%lx, not cgroup2 or "
                                    "cgroup): the monitor counts on the running kernel only",
                                    cgroup_dir, magic);
        return 0;
}

void np_monitor_close(struct np_monitor *monitor)
{
        if (!monitor)
                return;
        int *fds[] = { &monitor->watched_fd,    &monitor->slot_stats_fd, &monitor->cpu_node_fd,
                       &monitor->block_node_fd, &monitor->pmu_info_fd,   &monitor->index_fd };

        for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
                if (*fds[i] >= 0)
                        close(*fds[i]);
        free(monitor);
}

int np_monitor_map_max_entries(int fd, unsigned int *ret_entries)
{
        struct bpf_map_info info = {};
        __u32 len = sizeof(info);

        if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
                return -errno;
        *ret_entries = info.max_entries;
        return 0;
}

/* The slots slot_stats holds and the node ids of each, from its value size;
 * -EINVAL when that is not a size NP_BPF_SLOT_STATS_SIZE gives. */
static int stats_layout(int fd, unsigned int *ret_entries, unsigned int *ret_node_stride)
{
        struct bpf_map_info info = {};
        __u32 len = sizeof(info);
        size_t nodes_at = offsetof(struct np_bpf_slot_stats, nodes), node_size = sizeof(struct np_bpf_node_counters);

        if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
                return -errno;
        if (info.value_size <= nodes_at || (info.value_size - nodes_at) % node_size != 0 ||
            (info.value_size - nodes_at) / node_size > NP_BPF_MAX_NODES)
                return -EINVAL;
        *ret_entries = info.max_entries;
        *ret_node_stride = (unsigned int)((info.value_size - nodes_at) / node_size);
        return 0;
}

/* The max_entries and value size of the map `fd`. */
static int map_shape(int fd, unsigned int *ret_entries, unsigned int *ret_value_size)
{
        struct bpf_map_info info = {};
        __u32 len = sizeof(info);

        if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
                return -errno;
        *ret_entries = info.max_entries;
        *ret_value_size = info.value_size;
        return 0;
}

/* Whether the maps of `m` are laid out as this build's programs lay them out;
 * when they are not (another build's set, `foreign`), what any layout has: the
 * `watched` hash keyed by cgroup id and, when there is one, an index array whose
 * entries start with the cgroup id. */
static int check_layout(struct np_monitor *m)
{
        unsigned int stats_entries = 0, watched_size = 0, index_size = 0, pmu_entries = 0, pmu_size = 0;
        int r;

        r = map_shape(m->watched_fd, &m->slots, &watched_size);
        if (r < 0)
                return r;
        if (m->slots == 0)
                return -EINVAL;
        if (m->index_fd >= 0) {
                r = map_shape(m->index_fd, &m->index_size, &index_size);
                if (r < 0)
                        return r;
                if (m->index_size == 0 || (m->index_size & (m->index_size - 1)) || index_size < sizeof(__u64) ||
                    index_size > NP_MONITOR_MAX_ENTRY)
                        return -EINVAL;
                m->index_entry_size = index_size;
        }
        if (m->slot_stats_fd >= 0) {
                r = stats_layout(m->slot_stats_fd, &stats_entries, &m->node_stride);
                if (r < 0 && r != -EINVAL)
                        return r;
        }
        /* np_monitor_pmu() reads its value whole into this build's struct */
        if (m->pmu_info_fd >= 0) {
                r = map_shape(m->pmu_info_fd, &pmu_entries, &pmu_size);
                if (r < 0)
                        return r;
        }
        m->foreign = m->index_fd < 0 || m->slot_stats_fd < 0 || m->cpu_node_fd < 0 || m->block_node_fd < 0 ||
                     m->pmu_info_fd < 0 || pmu_size != sizeof(struct np_bpf_pmu_info) || pmu_entries < 1 ||
                     watched_size != sizeof(struct np_bpf_index_entry) ||
                     index_size != sizeof(struct np_bpf_index_entry) || m->node_stride == 0 || stats_entries < m->slots;
        if (!m->foreign)
                m->stats_size = NP_BPF_SLOT_STATS_SIZE(m->node_stride);
        return 0;
}

/* check_layout() of what open_set() opens to watch: the index and slot_stats,
 * which must be as this build lays them out (the set is in this build's own
 * directory). The slots are slot_stats' entries, as many as `watched` has. */
static int check_watch_layout(struct np_monitor *m)
{
        unsigned int index_size = 0;
        int r;

        r = map_shape(m->index_fd, &m->index_size, &index_size);
        if (r < 0)
                return r;
        if (m->index_size == 0 || (m->index_size & (m->index_size - 1)) ||
            index_size != sizeof(struct np_bpf_index_entry))
                return -EINVAL;
        m->index_entry_size = index_size;
        r = stats_layout(m->slot_stats_fd, &m->slots, &m->node_stride);
        if (r < 0)
                return r;
        if (m->slots == 0)
                return -EINVAL;
        m->stats_size = NP_BPF_SLOT_STATS_SIZE(m->node_stride);
        return 0;
}

/* Whether `name` is one of the maps that watching a container takes: its
 * index entry and its counters. `watched`, the hash an index collision goes to,
 * is opened when one happens (watched_map()). */
static bool watch_map(const char *name)
{
        return strcmp(name, "watch_index") == 0 || strcmp(name, "slot_stats") == 0;
}

/* Opens the maps of the set in `dir`: all of them, or (`watch_only`, this
 * build's own set, by np_monitor_open_to_watch()) those watch_map() names. Each map
 * opened costs a BPF_OBJ_GET and a close, some 4 us on a hook's path. */
static int open_set(const char *dir, bool watch_only, struct np_diag *diag, struct np_monitor **ret_monitor)
{
        struct np_monitor *m = calloc(1, sizeof(*m));
        int *fds[ARRAY_SIZE(np_monitor_map_names)];
        int n_cpus = watch_only ? 0 : libbpf_num_possible_cpus(), r;

        if (!m)
                return -ENOMEM;
        fds[0] = &m->slot_stats_fd;
        fds[1] = &m->cpu_node_fd;
        fds[2] = &m->block_node_fd;
        fds[3] = &m->pmu_info_fd;
        fds[4] = &m->index_fd;
        fds[5] = &m->watched_fd;
        for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
                *fds[i] = -1;
        snprintf(m->dir, sizeof(m->dir), "%s", dir);
        for (size_t i = 0; i < ARRAY_SIZE(np_monitor_map_names); i++) {
                char path[PATH_MAX + 32];
                bool required = watch_only || fds[i] == &m->watched_fd;

                if (watch_only && !watch_map(np_monitor_map_names[i]))
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, np_monitor_map_names[i]);
                *fds[i] = bpf_obj_get(path);
                /* another build's set may lack a map of this build's, never `watched` */
                if (*fds[i] < 0 && (errno != ENOENT || required)) {
                        r = -errno;
                        np_monitor_close(m);
                        return np_diag_fail(diag, r, "monitor: cannot open the pinned map %s: %s", path, strerror(-r));
                }
        }
        r = !watch_only && n_cpus <= 0 ? -EIO : watch_only ? check_watch_layout(m) : check_layout(m);
        if (r < 0) {
                np_monitor_close(m);
                if (r == -EINVAL && watch_only)
                        return np_diag_fail(diag, -EPROTO,
                                            "monitor: the pinned set in %s is not laid out as this build's", dir);
                return np_diag_fail(diag, r, "monitor: cannot read the pinned maps in %s: %s", dir,
                                    r == -EINVAL ? "they are not a set's" : strerror(-r));
        }
        m->n_cpus = (unsigned int)n_cpus;
        *ret_monitor = m;
        return 0;
}

int np_monitor_open_dir(const char *dir, struct np_diag *diag, struct np_monitor **ret_monitor)
{
        return open_set(dir, false, diag, ret_monitor);
}

/* The `watched` hash of `m`, opened now where `m` was opened without it, and
 * checked as check_layout() does: its values are index entries. */
static int watched_map(struct np_monitor *m)
{
        char path[PATH_MAX + 32];
        unsigned int entries = 0, value_size = 0;
        int fd, r;

        if (m->watched_fd >= 0)
                return m->watched_fd;
        snprintf(path, sizeof(path), "%s/watched", m->dir);
        fd = bpf_obj_get(path);
        if (fd < 0)
                return -errno;
        r = map_shape(fd, &entries, &value_size);
        if (r == 0 && value_size != sizeof(struct np_bpf_index_entry))
                r = -EPROTO;
        if (r < 0) {
                close(fd);
                errno = -r;
                return r;
        }
        m->watched_fd = fd;
        return fd;
}

/* --- the pin directory ---------------------------------------------------------------- */

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
                np_log_debug("monitor: mounted bpffs on %s", parent);
        }
        if (mkdir(pin_root, 0700) < 0 && errno != EEXIST)
                return np_diag_fail(diag, -errno, "monitor: cannot create %s: %s", pin_root, strerror(errno));
        return 0;
}

static void unpin_all(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;

        if (!d)
                return;
        /* `watched` first: a set without it is incomplete, and the next loader
         * (under the pin root's lock) removes what a killed removal left */
        unlinkat(dirfd(d), "watched", 0);
        while ((e = readdir(d)))
                if (e->d_name[0] != '.')
                        unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
        unlinkat(AT_FDCWD, dir, AT_REMOVEDIR); /* rmdir(2) is outside the seccomp allow-lists */
}

/* Whether `dir` holds a whole set: its `watched` map is pinned last at load and
 * unpinned first at removal. When it does, `ret_loaded` (if not NULL) is when. */
static bool set_complete(const char *dir, struct timespec *ret_loaded)
{
        char watched[PATH_MAX + 16];
        struct stat st;

        snprintf(watched, sizeof(watched), "%s/watched", dir);
        if (stat(watched, &st) < 0)
                return false;
        if (ret_loaded)
                *ret_loaded = st.st_ctim;
        return true;
}

static bool earlier(const struct timespec *a, const struct timespec *b)
{
        return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* A pin directory's name: the 16 hex digits of np_monitor_dir. */
static bool is_set_name(const char *name)
{
        size_t n = strspn(name, "0123456789abcdef");

        return n == 16 && name[n] == '\0';
}

/* Calls `fn` with the directory of every set under pin_root but this build's. */
static void each_other_dir(const char *pin_root, void (*fn)(const char *dir, void *userdata), void *userdata)
{
        DIR *d = opendir(pin_root);
        struct dirent *e;

        if (!d)
                return;
        while ((e = readdir(d))) {
                char dir[PATH_MAX];
                int w;

                if (!is_set_name(e->d_name) || strcmp(e->d_name, NP_MONITOR_OBJECT_HASH) == 0)
                        continue;
                w = snprintf(dir, sizeof(dir), "%s/%s", pin_root, e->d_name);
                if (w >= 0 && (size_t)w < sizeof(dir))
                        fn(dir, userdata);
        }
        closedir(d);
}

/* How many containers the set in `dir` watches, or -errno when it cannot be
 * counted; NP_SET_CUT_SHORT for one without `watched`, whose load or removal was
 * cut short. When it loaded goes into `ret_loaded` (if not NULL). */
static int count_set(const char *dir, struct timespec *ret_loaded)
{
        _cleanup_monitor_ struct np_monitor *other = NULL;
        unsigned int watched = 0;
        int r;

        if (!set_complete(dir, ret_loaded))
                return NP_SET_CUT_SHORT;
        r = np_monitor_open_dir(dir, NULL, &other);
        if (r == 0)
                r = np_monitor_count(other, &watched);
        return r < 0 ? r : (int)MIN(watched, (unsigned int)INT_MAX);
}

struct retirement {
        const struct timespec *before;
        bool (*in_use)(const char *dir, void *userdata);
        void *userdata;
};

static void retire_if_idle(const char *dir, void *userdata)
{
        const struct retirement *how = userdata;
        struct timespec loaded;
        int watched = count_set(dir, &loaded);

        if (watched == NP_SET_CUT_SHORT) {
                unpin_all(dir);
                np_log_info("monitor: unpinned %s, a set whose load or removal was interrupted", dir);
        } else if (watched == 0 && !(how->before && !earlier(&loaded, how->before)) &&
                   !(how->in_use && how->in_use(dir, how->userdata))) {
                unpin_all(dir);
                np_log_info("monitor: unpinned %s, another build's set that watched no container", dir);
        }
}

/* Unpins the other builds' sets under pin_root that watch no cgroup (the caller
 * holds the pin root's lock): their programs would otherwise go on running at
 * every context switch and page allocation of the machine until it reboots. A set
 * that still watches containers stays until np_watch_detach takes its last one;
 * one without `watched`, left by a load or a removal that was killed, goes. Sets
 * loaded after `before` (if not NULL), and those `in_use` (if not NULL) says
 * records still name, stay too. */
static void retire_idle_sets(const char *pin_root, const struct timespec *before,
                             bool (*in_use)(const char *dir, void *userdata), void *userdata)
{
        struct retirement how = { .before = before, .in_use = in_use, .userdata = userdata };

        each_other_dir(pin_root, retire_if_idle, &how);
}

/* Takes the lock on pin_root that loaders take; the fd, or <0 (errno set). */
static int lock_pin_root(const char *pin_root)
{
        int fd = openat(AT_FDCWD, pin_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return -1;
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR) {
                        close(fd);
                        return -1;
                }
        return fd;
}

int np_monitor_retire(const char *pin_root, bool (*in_use)(const char *dir, void *userdata), void *userdata)
{
        _cleanup_close_ int lock_fd = -1;
        struct timespec own_loaded;
        char own[PATH_MAX];
        bool others = false;
        struct dirent *e;
        DIR *d;

        if (np_monitor_dir(pin_root, own, sizeof(own)) < 0)
                return -ENAMETOOLONG;
        d = opendir(pin_root);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        /* the common case, this build's set alone, costs a directory read */
        while (!others && (e = readdir(d)))
                others = is_set_name(e->d_name) && strcmp(e->d_name, NP_MONITOR_OBJECT_HASH) != 0;
        closedir(d);
        if (!others)
                return 0;
        lock_fd = lock_pin_root(pin_root);
        if (lock_fd < 0)
                return -errno;
        if (set_complete(own, &own_loaded))
                retire_idle_sets(pin_root, &own_loaded, in_use, userdata);
        return 0;
}

struct other_sets {
        void (*each)(const char *dir, int watched, void *userdata);
        void *userdata;
};

static void report_set(const char *dir, void *userdata)
{
        const struct other_sets *to = userdata;

        to->each(dir, count_set(dir, NULL), to->userdata);
}

void np_monitor_each_other_set(const char *pin_root, void (*each)(const char *dir, int watched, void *userdata),
                               void *userdata)
{
        struct other_sets to = { .each = each, .userdata = userdata };

        each_other_dir(pin_root, report_set, &to);
}

int np_monitor_remove(const char *dir)
{
        struct stat st;

        if (stat(dir, &st) < 0)
                return -errno;
        unpin_all(dir);
        return 0;
}

static int open_own(const char *sysfs_root, const char *pin_root, const struct np_topology *topology,
                    unsigned int slots, bool load, bool watch_only, struct np_diag *diag,
                    struct np_monitor **ret_monitor)
{
        char dir[PATH_MAX], watched[PATH_MAX + 16], attach[NP_MONITOR_ATTACH_TEXT] = "";
        struct stat st;
        int r;

        if (!sysfs_root)
                sysfs_root = "/sys";

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
                lock_fd = lock_pin_root(pin_root);
                if (lock_fd < 0)
                        return np_diag_fail(diag, -errno, "monitor: cannot lock %s: %s", pin_root, strerror(errno));
                if (stat(watched, &st) < 0) {
                        if (stat(dir, &st) == 0)
                                unpin_all(dir); /* an interrupted load */
                        r = np_monitor_load(sysfs_root, dir, topology, slots, attach, sizeof(attach), diag);
                        if (r < 0)
                                return r;
                        retire_idle_sets(pin_root, NULL, NULL, NULL);
                }
        }
        r = open_set(dir, watch_only, diag, ret_monitor);
        if (r < 0)
                return r;
        if ((*ret_monitor)->foreign) {
                np_monitor_close(*ret_monitor);
                *ret_monitor = NULL;
                return np_diag_fail(diag, -EPROTO, "monitor: the pinned set in %s is not laid out as this build's",
                                    dir);
        }
        snprintf((*ret_monitor)->attach, sizeof((*ret_monitor)->attach), "%s", attach);
        return 0;
}

int np_monitor_open(const char *sysfs_root, const char *pin_root, const struct np_topology *topology,
                    unsigned int slots, bool load, struct np_diag *diag, struct np_monitor **ret_monitor)
{
        return open_own(sysfs_root, pin_root, topology, slots, load, false, diag, ret_monitor);
}

int np_monitor_open_to_watch(const char *sysfs_root, const char *pin_root, const struct np_topology *topology,
                             unsigned int slots, struct np_diag *diag, struct np_monitor **ret_monitor)
{
        return open_own(sysfs_root, pin_root, topology, slots, true, true, diag, ret_monitor);
}

/* --- watching ------------------------------------------------------------------------ */

/* The most possible CPUs a kernel has (NR_CPUS is at most 8192), and the most
 * numapin reads a topology of. */
#define MAX_POSSIBLE_CPUS NP_CPULIST_MAX

/* The most a per-CPU value of slot_stats takes in a buffer for every CPU. */
#define ZEROS_SIZE ((size_t)MAX_POSSIBLE_CPUS * ((sizeof(struct np_bpf_slot_stats) + 7) & ~(size_t)7))

/* A read-only zero mapping of ZEROS_SIZE, mapped at the first call and kept for
 * the process: the kernel reads only the pages of the values it copies (the zero
 * page), and a watch spares a mapping and an unmapping. NULL when it cannot be
 * mapped. */
static const void *zeros(void)
{
        static void *region;
        void *p = __atomic_load_n(&region, __ATOMIC_ACQUIRE), *none = NULL;

        if (p)
                return p;
        p = mmap(NULL, ZEROS_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
                return NULL;
        if (!__atomic_compare_exchange_n(&region, &none, p, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                munmap(p, ZEROS_SIZE); /* another thread mapped it first */
                return none;
        }
        return p;
}

/* Zeroes the per-CPU value `key` of `fd`. The kernel reads the value of each
 * possible CPU from the buffer; where `n_cpus` is not known (0: a handle opened
 * to watch, which spares the hook reading cpu/possible), the buffer holds
 * MAX_POSSIBLE_CPUS values, of which the kernel reads those it has CPUs for. */
static int zero_percpu(int fd, __u32 key, size_t value_size, unsigned int n_cpus)
{
        size_t size = (size_t)(n_cpus ? n_cpus : MAX_POSSIBLE_CPUS) * ((value_size + 7) & ~(size_t)7);
        _cleanup_free_ void *allocated = NULL;
        const void *buffer = size <= ZEROS_SIZE ? zeros() : NULL;

        if (!buffer && !(buffer = allocated = calloc(1, size)))
                return -ENOMEM;
        return bpf_map_update_elem(fd, &key, buffer, BPF_ANY) < 0 ? -errno : 0;
}

/* --- the cgroup id -> slot index (watch_index, then the `watched` hash) ------------------ */

static int index_get(const struct np_monitor *m, uint64_t id, __u32 *ret_index, struct np_bpf_index_entry *ret_entry)
{
        *ret_index = (__u32)(id & (m->index_size - 1));
        return bpf_map_lookup_elem(m->index_fd, ret_index, ret_entry) < 0 ? -errno : 0;
}

/* Watches `watch` (its cgroup id, slot and allowed nodes) in its index entry, or
 * in the hash when another id holds that. Should that other id's cgroup be removed
 * between the read and the write of the entry, the write brings its key back (the
 * programs' cgroup_rmdir took it meanwhile): a key of no cgroup, which the sweep
 * at a full map takes. */
static int index_put(struct np_monitor *m, const struct np_bpf_index_entry *watch)
{
        struct np_bpf_index_entry e;
        __u32 index;
        int r = index_get(m, watch->cgroup_id, &index, &e);

        if (r < 0)
                return r;
        if (e.cgroup_id == 0 || e.cgroup_id == watch->cgroup_id) {
                __u32 overflow = e.overflow;

                e = *watch;
                e.overflow = overflow;
                if (overflow && (r = watched_map(m)) >= 0) /* it may have been in the hash before */
                        bpf_map_delete_elem(r, &watch->cgroup_id);
        } else {
                r = watched_map(m);
                if (r < 0)
                        return r;
                if (bpf_map_update_elem(r, &watch->cgroup_id, watch, BPF_ANY) < 0)
                        return errno == E2BIG ? -ENOSPC : -errno;
                e.overflow = 1;
        }
        return bpf_map_update_elem(m->index_fd, &index, &e, BPF_ANY) < 0 ? -errno : 0;
}

int np_monitor_lookup(const struct np_monitor *m, uint64_t cgroup_id, uint32_t *ret_slot)
{
        struct np_bpf_index_entry e;
        __u32 index;
        int r = m->foreign ? -EPROTO : m->watched_fd < 0 ? -EBADF : index_get(m, cgroup_id, &index, &e);

        if (r < 0)
                return r;
        if (e.cgroup_id == cgroup_id) {
                *ret_slot = e.slot;
                return 0;
        }
        if (!e.overflow || bpf_map_lookup_elem(m->watched_fd, &cgroup_id, &e) < 0)
                return -ENOENT;
        *ret_slot = e.slot;
        return 0;
}

int np_monitor_watch(struct np_monitor *m, uint64_t cgroup_id, uint32_t slot, const struct np_cpulist *mems,
                     struct np_diag *diag)
{
        struct np_bpf_index_entry watch = { .cgroup_id = cgroup_id, .slot = slot };
        int r;

        if (m->foreign)
                return np_diag_fail(diag, -EPROTO, "monitor: %s is another build's set, not laid out as this one's",
                                    m->dir);
        if (slot >= m->slots)
                return np_diag_fail(diag, -ENOSPC, "monitor: slot %u beyond the %u the maps hold", slot, m->slots);
        r = zero_percpu(m->slot_stats_fd, slot, m->stats_size, m->n_cpus);
        if (r < 0)
                return np_diag_fail(diag, r, "monitor: cannot reset slot %u: %s", slot, strerror(-r));
        NP_CPULIST_FOREACH(node, mems) {
                if (node < NP_BPF_MAX_NODES)
                        watch.allowed[node / 64] |= 1ULL << (node % 64);
        }
        r = index_put(m, &watch);
        if (r < 0)
                return np_diag_fail(diag, r, "monitor: cannot watch cgroup %llu: %s", (unsigned long long)cgroup_id,
                                    r == -ENOSPC ? "the watched map is full" : strerror(-r));
        return 0;
}

/* Of any build's layout: an index entry starts with its cgroup id, and the hash
 * is keyed by it. */
int np_monitor_unwatch(struct np_monitor *m, uint64_t cgroup_id)
{
        unsigned char entry[NP_MONITOR_MAX_ENTRY];
        __u32 index = (__u32)(cgroup_id & (m->index_size - 1));
        uint64_t id;

        if (m->index_fd >= 0) {
                if (bpf_map_lookup_elem(m->index_fd, &index, entry) < 0)
                        return -errno;
                memcpy(&id, entry, sizeof(id));
                if (id == cgroup_id) {
                        /* the rest stays (`overflow`: other ids of this index may be in the hash) */
                        memset(entry, 0, sizeof(id));
                        return bpf_map_update_elem(m->index_fd, &index, entry, BPF_ANY) < 0 ? -errno : 0;
                }
        }
        if (watched_map(m) < 0 || (bpf_map_delete_elem(m->watched_fd, &cgroup_id) < 0 && errno != ENOENT))
                return -errno;
        return 0;
}

int np_monitor_sweep(struct np_monitor *m, const bool *live, unsigned int n_live)
{
        __u64 key, next;
        void *prev = NULL;
        int r = 0;

        if (m->foreign)
                return -EPROTO;
        for (__u32 i = 0; i < m->index_size; i++) {
                struct np_bpf_index_entry e;

                if (bpf_map_lookup_elem(m->index_fd, &i, &e) == 0 && e.cgroup_id &&
                    (e.slot >= n_live || !live[e.slot])) {
                        e.cgroup_id = 0;
                        if (bpf_map_update_elem(m->index_fd, &i, &e, BPF_ANY) < 0)
                                r = -errno;
                }
        }
        if (watched_map(m) < 0)
                return -errno;
        while (bpf_map_get_next_key(m->watched_fd, prev, &next) == 0) {
                struct np_bpf_index_entry e;

                if (bpf_map_lookup_elem(m->watched_fd, &next, &e) == 0 && (e.slot >= n_live || !live[e.slot])) {
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

/* Passes every entry of the array `fd` (`n` entries of `size` bytes on each of
 * `n_cpus`: 1 for an array that is not per-CPU) to `sum(entry, value,
 * userdata)`, up to BATCH entries a lookup, fewer where their values on all the
 * CPUs would take more than BATCH_BYTES. */
#define BATCH       256
#define BATCH_BYTES (512 * 1024)
static int read_batched(int fd, unsigned int from, unsigned int n, size_t size, unsigned int n_cpus,
                        void (*sum)(unsigned int entry, const void *value, void *userdata), void *userdata)
{
        size_t stride = (size + 7) & ~(size_t)7;
        unsigned int batch = (unsigned int)MAX(MIN((size_t)BATCH, BATCH_BYTES / (stride * n_cpus)), (size_t)1);
        _cleanup_free_ void *values = calloc(MIN(n, batch), stride * n_cpus);
        _cleanup_free_ __u32 *keys = calloc(MIN(n, batch), sizeof(*keys));
        /* a batch starts after the key it is given: entry `from` after from - 1 */
        __u32 next = from - 1, count;
        bool first = from == 0;
        int r;

        if (!values || !keys)
                return -ENOMEM;
        for (unsigned int done = 0; done < n;) {
                count = MIN(batch, n - done);
                r = bpf_map_lookup_batch(fd, first ? NULL : &next, &next, keys, values, &count, NULL);
                if (r < 0 && errno != ENOENT)
                        return errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP ? -EOPNOTSUPP : -errno;
                for (__u32 i = 0; i < count; i++)
                        for (unsigned int c = 0; c < n_cpus; c++)
                                sum(keys[i], (const char *)values + (i * n_cpus + c) * stride, userdata);
                done += count;
                first = false;
                if (r < 0 || count == 0)
                        break; /* ENOENT: that was the last */
        }
        return 0;
}

/* Adds one CPU's slot_stats value `v` (node_stride nodes) to `nodes` and `counters`. */
static void add_stats(const struct np_bpf_slot_stats *v, unsigned int node_stride, struct np_bpf_node_counters *nodes,
                      struct np_bpf_slot_counters *counters)
{
        for (unsigned int n = 0; n < node_stride; n++) {
                nodes[n].cpu_ns += v->nodes[n].cpu_ns;
                nodes[n].pages += v->nodes[n].pages;
                nodes[n].pages_local += v->nodes[n].pages_local;
        }
        counters->pages_outside += v->counters.pages_outside;
        counters->pages_unknown_node += v->counters.pages_unknown_node;
        counters->migrations += v->counters.migrations;
        counters->migrations_cross += v->counters.migrations_cross;
        counters->numa_balancing_pages += v->counters.numa_balancing_pages;
        counters->pmu_local += v->counters.pmu_local;
        counters->pmu_remote += v->counters.pmu_remote;
}

static void sum_stats(unsigned int slot, const void *value, void *userdata)
{
        struct np_monitor_snapshot *s = userdata;

        if (slot < s->first || slot - s->first >= s->slots)
                return;
        add_stats(value, s->node_stride, &s->nodes[(size_t)(slot - s->first) * s->node_stride],
                  &s->counters[slot - s->first]);
}

/* An index entry of any build's layout: its cgroup id first, 0 when free. */
static bool entry_taken(const void *value)
{
        uint64_t id;

        memcpy(&id, value, sizeof(id));
        return id != 0;
}

static void count_entry(unsigned int entry, const void *value, void *userdata)
{
        if (entry_taken(value))
                (*(unsigned int *)userdata)++;
}

int np_monitor_count(const struct np_monitor *m, unsigned int *ret_count)
{
        __u64 key, next;
        void *prev = NULL;
        unsigned int n = 0;
        int r;

        if (m->watched_fd < 0)
                return -EBADF; /* opened to watch */
        /* the index in batches (index_size entries: lookups one by one cost a
         * system call each), then the few that overflowed into the hash; of any
         * build's layout (an older one may have no index) */
        r = m->index_fd < 0 ? 0 : read_batched(m->index_fd, 0, m->index_size, m->index_entry_size, 1, count_entry, &n);
        if (r == -EOPNOTSUPP) {
                unsigned char entry[NP_MONITOR_MAX_ENTRY];

                n = 0;
                for (__u32 i = 0; i < m->index_size; i++)
                        if (bpf_map_lookup_elem(m->index_fd, &i, entry) == 0 && entry_taken(entry))
                                n++;
        } else if (r < 0) {
                return r;
        }
        while (bpf_map_get_next_key(m->watched_fd, prev, &next) == 0) {
                key = next;
                prev = &key;
                n++;
        }
        *ret_count = n;
        return 0;
}

static int compare_slots(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

        return x < y ? -1 : x > y;
}

int np_monitor_snapshot(const struct np_monitor *m, const uint32_t *slots, size_t n_slots,
                        struct np_monitor_snapshot *ret)
{
        struct np_monitor_snapshot s = { .node_stride = m->node_stride };
        _cleanup_free_ uint32_t *sorted = NULL;
        int r;

        if (m->foreign)
                return -EPROTO;
        if (m->n_cpus == 0)
                return -EBADF; /* opened to watch */
        sorted = malloc((n_slots + 1) * sizeof(*sorted));
        if (s.node_stride == 0 || s.node_stride > NP_BPF_MAX_NODES)
                return -EINVAL;
        if (!sorted)
                return -ENOMEM;
        /* only the slots of the set that were asked for */
        for (size_t i = 0; i < n_slots; i++)
                if (slots[i] < m->slots)
                        sorted[s.slots++] = slots[i];
        n_slots = s.slots;
        qsort(sorted, n_slots, sizeof(*sorted), compare_slots);
        s.first = n_slots ? sorted[0] : 0;
        s.slots = n_slots ? sorted[n_slots - 1] - s.first + 1 : 0;
        /* from the lowest slot asked for to the highest, not the set's thousands:
         * zeroed at every scrape */
        s.nodes = calloc((size_t)MAX(s.slots, 1u) * s.node_stride, sizeof(*s.nodes));
        s.counters = calloc(MAX(s.slots, 1u), sizeof(*s.counters));
        r = s.nodes && s.counters ? 0 : -ENOMEM;
        /* each run of consecutive slots in a batch or a few: slots are handed out
         * from the lowest free one, so a node's containers make few runs */
        for (size_t i = 0; r == 0 && i < n_slots;) {
                size_t j = i + 1;

                while (j < n_slots && sorted[j] <= sorted[j - 1] + 1)
                        j++;
                r = read_batched(m->slot_stats_fd, sorted[i], sorted[j - 1] - sorted[i] + 1, m->stats_size, m->n_cpus,
                                 sum_stats, &s);
                i = j;
        }
        if (r < 0) {
                np_monitor_snapshot_clear(&s);
                return r;
        }
        *ret = s;
        return 0;
}

void np_monitor_snapshot_clear(struct np_monitor_snapshot *s)
{
        free(s->nodes);
        free(s->counters);
        *s = (struct np_monitor_snapshot){};
}

void np_monitor_snapshot_slot(const struct np_monitor_snapshot *s, uint32_t slot, struct np_locality *ret)
{
        memset(ret, 0, sizeof(*ret));
        if (slot < s->first || slot - s->first >= s->slots)
                return;
        ret->node_stride = s->node_stride;
        memcpy(ret->nodes, &s->nodes[(size_t)(slot - s->first) * s->node_stride], s->node_stride * sizeof(*ret->nodes));
        ret->counters = s->counters[slot - s->first];
}

int np_monitor_read(const struct np_monitor *m, uint32_t slot, struct np_locality *ret)
{
        size_t value_size = (m->stats_size + 7) & ~(size_t)7;
        _cleanup_free_ void *values = NULL;

        if (m->foreign)
                return -EPROTO;
        if (m->n_cpus == 0)
                return -EBADF; /* opened to watch */
        values = calloc(m->n_cpus, value_size);
        if (!values)
                return -ENOMEM;
        if (slot >= m->slots)
                return -ERANGE;
        memset(ret, 0, sizeof(*ret));
        ret->node_stride = m->node_stride;
        if (bpf_map_lookup_elem(m->slot_stats_fd, &slot, values) < 0)
                return -errno;
        for (unsigned int c = 0; c < m->n_cpus; c++)
                add_stats((const void *)((const char *)values + c * value_size), m->node_stride, ret->nodes,
                          &ret->counters);
        return 0;
}

int np_monitor_pmu(const struct np_monitor *m, struct np_bpf_pmu_info *ret_info)
{
        __u32 zero = 0;

        if (m->foreign)
                return -EPROTO;
        return bpf_map_lookup_elem(m->pmu_info_fd, &zero, ret_info) < 0 ? -errno : 0;
}
