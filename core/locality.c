// SPDX-License-Identifier: MIT
/* A container's locality figures as JSON, resident memory from memory.numa_stat,
 * and the store of exited containers' final figures. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "json.h"
#include "locality.h"

#define NUMA_STAT_LIMIT (64 * 1024)
#define EXITED_LIMIT    (256 * 1024)

/* Adds the "N<id>=<value>" fields of one numa_stat line, times `unit`. */
static void add_per_node(const char *line, uint64_t unit, uint64_t resident[NP_BPF_MAX_NODES])
{
        const char *p = line;

        while ((p = strstr(p, " N"))) {
                unsigned int node;
                unsigned long long value;

                if (sscanf(p, " N%u=%llu", &node, &value) == 2 && node < NP_BPF_MAX_NODES)
                        resident[node] += value * unit;
                p += 2;
        }
}

/* The memory cgroup v1 directory of `pid`, from /proc/<pid>/cgroup; the runtime
 * may nest it elsewhere than the cpuset one. */
static int memory_v1_dir(int pid, char *buf, size_t size)
{
        _cleanup_free_ char *text = NULL;
        char path[64];
        size_t len;
        int r;

        snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
        r = np_read_file_at(AT_FDCWD, path, 64 * 1024, &text, &len);
        if (r < 0)
                return r;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                char *controllers = strchr(line, ':'), *cgroup;

                if (!controllers || !(cgroup = strchr(controllers + 1, ':')))
                        continue;
                *cgroup++ = '\0';
                if (strcmp(controllers + 1, "memory") == 0 && !strstr(cgroup, "..")) {
                        snprintf(buf, size, "/sys/fs/cgroup/memory%s", cgroup);
                        return 0;
                }
        }
        return -ENOENT;
}

int np_locality_resident(const char *cgroup_dir, int pid, uint64_t resident[NP_BPF_MAX_NODES])
{
        _cleanup_free_ char *text = NULL;
        char path[PATH_MAX + 32], dir[PATH_MAX];
        bool bytes = true;
        size_t size;
        int r;

        memset(resident, 0, NP_BPF_MAX_NODES * sizeof(*resident));
        snprintf(path, sizeof(path), "%s/memory.numa_stat", cgroup_dir);
        r = np_read_file_at(AT_FDCWD, path, NUMA_STAT_LIMIT, &text, &size);
        if (r < 0 && pid > 0 && memory_v1_dir(pid, dir, sizeof(dir)) == 0) {
                /* cgroup v1: the memory hierarchy counts in pages */
                snprintf(path, sizeof(path), "%s/memory.numa_stat", dir);
                r = np_read_file_at(AT_FDCWD, path, NUMA_STAT_LIMIT, &text, &size);
                bytes = false;
        }
        if (r < 0)
                return r;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                if (bytes && (strncmp(line, "anon ", 5) == 0 || strncmp(line, "file ", 5) == 0))
                        add_per_node(line + 4, 1, resident);
                else if (!bytes && strncmp(line, "total=", 6) == 0 && strchr(line, ' '))
                        add_per_node(strchr(line, ' '), (uint64_t)getpagesize(), resident);
        }
        return 0;
}

const char *np_locality_pmu_status(const struct np_monitor *monitor, char *buf, size_t size)
{
        struct np_bpf_pmu_info info;

        if (np_monitor_pmu(monitor, &info) < 0) {
                snprintf(buf, size, "the pinned set has no PMU state");
                return buf;
        }
        if (info.live)
                return NULL;
        info.text[sizeof(info.text) - 1] = '\0';
        snprintf(buf, size, "%s", info.text[0] ? info.text : "no reason given");
        return buf;
}

static struct json_object *percent(uint64_t part, uint64_t whole)
{
        if (whole == 0)
                return NULL; /* null: nothing to divide */
        return json_object_new_double((double)((part * 10000 + whole / 2) / whole) / 100.0);
}

int np_locality_to_json(const struct np_record *record, const char *state, const struct np_locality *l,
                        const uint64_t *resident, const char *pmu, struct json_object **ret_object)
{
        _cleanup_json_ struct json_object *obj = json_object_new_object();
        struct json_object *nodes = json_object_new_array();
        uint64_t pages = 0, local = 0, cpu_ns = 0;
        char mems[NP_CPULIST_BUFSIZE];

        if (!obj || !nodes) {
                json_object_put(nodes);
                return -ENOMEM;
        }
        np_cpulist_format(&record->mems, mems, sizeof(mems));
        json_object_object_add(obj, "id", json_object_new_string(record->id));
        json_object_object_add(obj, "state", json_object_new_string(state));
        json_object_object_add(obj, "policy", json_object_new_string(np_policy_to_string(record->policy)));
        json_object_object_add(obj, "allowed_nodes", json_object_new_string(mems));
        json_object_object_add(obj, "nodes", nodes);
        for (unsigned int n = 0; n < l->node_stride; n++) {
                const struct np_bpf_node_counters *c = &l->nodes[n];
                struct json_object *node = json_object_new_object();

                if (!node)
                        return -ENOMEM;
                json_object_object_add(node, "node", json_object_new_int((int)n));
                json_object_object_add(node, "cpu_seconds", json_object_new_double((double)c->cpu_ns / 1e9));
                json_object_object_add(node, "pages_allocated", json_object_new_uint64(c->pages));
                json_object_object_add(node, "pages_local", json_object_new_uint64(c->pages_local));
                json_object_object_add(node, "pages_remote", json_object_new_uint64(c->pages - c->pages_local));
                json_object_object_add(node, "resident_bytes", resident ? json_object_new_uint64(resident[n]) : NULL);
                json_object_array_add(nodes, node);
                pages += c->pages;
                local += c->pages_local;
                cpu_ns += c->cpu_ns;
        }
        json_object_object_add(obj, "cpu_seconds", json_object_new_double((double)cpu_ns / 1e9));
        json_object_object_add(obj, "pages_allocated", json_object_new_uint64(pages));
        json_object_object_add(obj, "local_percent", percent(local, pages));
        json_object_object_add(obj, "remote_percent", percent(pages - local, pages));
        json_object_object_add(obj, "pages_outside_allowed", json_object_new_uint64(l->counters.pages_outside));
        json_object_object_add(obj, "pages_unknown_node", json_object_new_uint64(l->counters.pages_unknown_node));
        json_object_object_add(obj, "migrations", json_object_new_uint64(l->counters.migrations));
        json_object_object_add(obj, "migrations_cross_node", json_object_new_uint64(l->counters.migrations_cross));
        json_object_object_add(obj, "numa_balancing_migrations",
                               json_object_new_uint64(l->counters.numa_balancing_pages));
        if (pmu) {
                /* exactly "unavailable", which scripts compare with; why in a field of its own */
                json_object_object_add(obj, "pmu", json_object_new_string("unavailable"));
                json_object_object_add(obj, "pmu_reason", json_object_new_string(pmu));
        } else {
                struct json_object *counts = json_object_new_object();
                uint64_t all = l->counters.pmu_local + l->counters.pmu_remote;

                if (!counts)
                        return -ENOMEM;
                json_object_object_add(counts, "local", json_object_new_uint64(l->counters.pmu_local));
                json_object_object_add(counts, "remote", json_object_new_uint64(l->counters.pmu_remote));
                json_object_object_add(counts, "remote_percent", percent(l->counters.pmu_remote, all));
                json_object_object_add(obj, "pmu", counts);
        }
        *ret_object = TAKE_PTR(obj);
        return 0;
}

/* --- exited containers ------------------------------------------------------------- */

static int open_exited(const char *state_dir, bool create)
{
        char path[PATH_MAX];

        snprintf(path, sizeof(path), "%s/%s", state_dir, NP_EXITED_DIR);
        if (create && mkdir(path, 0755) < 0 && errno != EEXIST)
                return -errno;
        return np_open_dir_at(AT_FDCWD, path);
}

/* Removes the oldest files beyond NP_EXITED_KEEP. */
static void prune(int dir_fd)
{
        int fd = dup(dir_fd);
        DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *e;
        unsigned int n = 0;
        char oldest[NAME_MAX + 1] = "";
        struct timespec oldest_time = {};

        if (!dir) {
                if (fd >= 0)
                        close(fd);
                return;
        }
        while ((e = readdir(dir))) {
                struct stat st;

                if (e->d_name[0] == '.' || fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                n++;
                if (!oldest[0] || st.st_mtim.tv_sec < oldest_time.tv_sec ||
                    (st.st_mtim.tv_sec == oldest_time.tv_sec && st.st_mtim.tv_nsec < oldest_time.tv_nsec)) {
                        snprintf(oldest, sizeof(oldest), "%s", e->d_name);
                        oldest_time = st.st_mtim;
                }
        }
        closedir(dir);
        if (n > NP_EXITED_KEEP && oldest[0])
                unlinkat(dir_fd, oldest, 0);
}

int np_exited_save(const char *state_dir, const char *id, struct json_object *object)
{
        _cleanup_close_ int dir_fd = open_exited(state_dir, true);
        _cleanup_free_ char *text = NULL;
        char name[NP_ID_MAX + 8];
        size_t size;
        int r;

        if (dir_fd < 0)
                return dir_fd;
        r = np_json_to_string(object, &text, &size);
        if (r < 0)
                return r;
        snprintf(name, sizeof(name), "%s.json", id);
        r = np_write_file_atomic_at(dir_fd, name, text, size, 0644);
        if (r == 0)
                prune(dir_fd);
        return r;
}

void np_exited_remove(const char *state_dir, const char *id)
{
        _cleanup_close_ int dir_fd = open_exited(state_dir, false);
        char name[NP_ID_MAX + 8];

        if (dir_fd < 0 || !np_ledger_id_valid(id))
                return;
        snprintf(name, sizeof(name), "%s.json", id);
        unlinkat(dir_fd, name, 0);
}

int np_exited_load(const char *state_dir, struct np_diag *diag, struct json_object **ret_array)
{
        _cleanup_json_ struct json_object *array = json_object_new_array();
        _cleanup_close_ int dir_fd = open_exited(state_dir, false);
        struct dirent *e;
        DIR *dir;
        int fd;

        if (!array)
                return -ENOMEM;
        if (dir_fd < 0) {
                *ret_array = TAKE_PTR(array);
                return 0;
        }
        fd = dup(dir_fd);
        dir = fd >= 0 ? fdopendir(fd) : NULL;
        if (!dir) {
                if (fd >= 0)
                        close(fd);
                return -errno;
        }
        while ((e = readdir(dir))) {
                _cleanup_free_ char *text = NULL;
                struct json_object *obj = NULL;
                char what[PATH_MAX + 64];
                size_t size;

                if (e->d_name[0] == '.' || !strstr(e->d_name, ".json"))
                        continue;
                snprintf(what, sizeof(what), "exited record %s/%s/%s", state_dir, NP_EXITED_DIR, e->d_name);
                /* a damaged file is skipped with a warning, the others still shown */
                if (np_read_file_at(dir_fd, e->d_name, EXITED_LIMIT, &text, &size) < 0 ||
                    np_json_parse(text, size, EXITED_LIMIT, what, diag, &obj) < 0 ||
                    !json_object_is_type(obj, json_type_object)) {
                        np_log_warning("%s: unreadable, skipped", what);
                        json_object_put(obj);
                        continue;
                }
                json_object_array_add(array, obj);
        }
        closedir(dir);
        *ret_array = TAKE_PTR(array);
        return 0;
}
