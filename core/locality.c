// SPDX-License-Identifier: MIT
/* A container's locality figures: filled from the monitor's counters and
 * memory.numa_stat, their JSON form and its validation, and the store of exited
 * containers' final figures. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "json.h"
#include "cgroup.h"
#include "locality.h"

#define NUMA_STAT_LIMIT (64 * 1024)
#define EXITED_LIMIT    (256 * 1024)
#define SECONDS_MAX     1e15 /* cpu_seconds beyond this are not a container's */

/* What "pmu" says when the PMU tier counts nothing; scripts compare with it. */
#define PMU_UNAVAILABLE "unavailable"
#define PMU_TEXT_MAX    256 /* "unavailable (why)" as older builds kept it */

/* The digits at *p as a number, UINT64_MAX beyond it; *p moves past them.
 * False when there is no digit. */
static bool take_decimal(const char **p, uint64_t *ret_value)
{
        const char *q = *p;
        uint64_t value = 0;

        for (; *q >= '0' && *q <= '9'; q++) {
                unsigned int digit = (unsigned int)(*q - '0');

                value = value > (UINT64_MAX - digit) / 10 ? UINT64_MAX : value * 10 + digit;
        }
        if (q == *p)
                return false;
        *p = q;
        *ret_value = value;
        return true;
}

/* Adds the " N<id>=<value>" fields of one numa_stat line (up to its newline),
 * times `unit`. Parsed by hand: a scrape reads one file per container. */
static void add_per_node(const char *p, uint64_t unit, uint64_t resident[NP_BPF_MAX_NODES])
{
        while (*p && *p != '\n') {
                uint64_t node, value;

                if (p[0] != ' ' || p[1] != 'N') {
                        p++;
                        continue;
                }
                p += 2;
                if (!take_decimal(&p, &node) || *p != '=')
                        continue;
                p++;
                if (take_decimal(&p, &value) && node < NP_BPF_MAX_NODES)
                        resident[node] += value * unit;
        }
}

/* The memory cgroup v1 directory of `pid`; the runtime may nest it elsewhere
 * than the cpuset one. */
static int memory_v1_dir(int pid, char *buf, size_t size)
{
        char path[PATH_MAX];
        int r;

        r = np_cgroup_controller_path("/proc", pid, "memory", NULL, path, sizeof(path));
        if (r < 0)
                return r;
        return (size_t)snprintf(buf, size, "/sys/fs/cgroup/memory%s", path) >= size ? -ENAMETOOLONG : 0;
}

/* The kernel writes each key once, v2's anon and file lines first and v1's
 * total= line first: the scan ends when it has what it sums. */
static void parse_numa_stat(const char *text, bool bytes, uint64_t resident[NP_BPF_MAX_NODES])
{
        unsigned int wanted = bytes ? 2 : 1;

        memset(resident, 0, NP_BPF_MAX_NODES * sizeof(*resident));
        for (const char *line = text, *end; *line && wanted; line = end ? end + 1 : line + strlen(line)) {
                end = strchr(line, '\n');
                if (bytes && (strncmp(line, "anon ", 5) == 0 || strncmp(line, "file ", 5) == 0)) {
                        add_per_node(line + 4, 1, resident);
                        wanted--;
                } else if (!bytes && strncmp(line, "total=", 6) == 0) {
                        add_per_node(line + 6, (uint64_t)getpagesize(), resident);
                        wanted--;
                }
        }
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
        parse_numa_stat(text, bytes, resident);
        return 0;
}

/* v2's memory.numa_stat in the container's folder, else v1's in the memory
 * hierarchy of `pid`, as np_locality_resident() reads them */
int np_locality_numa_stat_open(const char *cgroup_dir, int pid, bool *ret_v1)
{
        char path[PATH_MAX + 32], dir[PATH_MAX];
        int fd;

        if ((size_t)snprintf(path, sizeof(path), "%s/memory.numa_stat", cgroup_dir) >= sizeof(path))
                return -ENAMETOOLONG;
        fd = np_open_regular_at(AT_FDCWD, path, O_RDONLY);
        if (fd >= 0) {
                *ret_v1 = false;
                return fd;
        }
        if (pid <= 0 || memory_v1_dir(pid, dir, sizeof(dir)) < 0)
                return fd;
        if ((size_t)snprintf(path, sizeof(path), "%s/memory.numa_stat", dir) >= sizeof(path))
                return -ENAMETOOLONG;
        fd = np_open_regular_at(AT_FDCWD, path, O_RDONLY);
        if (fd < 0)
                return fd;
        *ret_v1 = true;
        return fd;
}

int np_locality_resident_fd(int fd, bool v1, uint64_t resident[NP_BPF_MAX_NODES])
{
        _cleanup_free_ char *text = malloc(NUMA_STAT_LIMIT + 1);
        ssize_t n;

        if (!text)
                return -ENOMEM;
        /* One read that asks for more than a numa_stat can hold: the kernel writes
         * a cgroup file whole into one read from its start, and a regular file
         * ends where a read returns short. */
        do
                n = pread(fd, text, NUMA_STAT_LIMIT + 1, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if (n > NUMA_STAT_LIMIT)
                return -EFBIG;
        text[n] = '\0';
        parse_numa_stat(text, !v1, resident);
        return 0;
}

const char *np_locality_pmu_reason(const struct np_monitor *monitor, char *buf, size_t size)
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

/* `part` of `whole` in percent, to two decimals; false when `whole` is 0. */
static bool share(uint64_t part, uint64_t whole, double *ret_percent)
{
        if (whole == 0)
                return false;
        *ret_percent = (double)(((unsigned __int128)part * 10000 + whole / 2) / whole) / 100.0;
        return true;
}

void np_locality_stats_fill(const struct np_record *record, const struct np_locality *counters,
                            const uint64_t *resident, const char *pmu_reason, int64_t exited_at,
                            struct np_locality_stats *ret_stats)
{
        const struct np_bpf_slot_counters *c = &counters->counters;
        struct np_locality_stats *s = ret_stats;
        uint64_t pages = 0, local = 0;

        *s = (struct np_locality_stats){
                .state = exited_at > 0 ? NP_LOCALITY_EXITED : NP_LOCALITY_RUNNING,
                .policy = record->policy,
                .allowed_nodes = record->mems,
                .n_nodes = MIN(counters->node_stride, (unsigned int)NP_BPF_MAX_NODES),
                .pages_outside_allowed = c->pages_outside,
                .pages_unknown_node = c->pages_unknown_node,
                .migrations = c->migrations,
                .migrations_cross_node = c->migrations_cross,
                .numa_balancing_migrations = c->numa_balancing_pages,
                .exited_at = exited_at > 0 ? exited_at : 0,
        };
        snprintf(s->id, sizeof(s->id), "%s", record->id);
        s->names = record->names;
        s->placement_known = true;
        s->placed_nodes = record->nodes;
        s->cpus = record->cpus;
        s->exclusive = !np_cpulist_empty(&record->exclusive_cpus);
        s->source = record->source;
        for (unsigned int n = 0; n < s->n_nodes; n++) {
                const struct np_bpf_node_counters *nc = &counters->nodes[n];
                uint64_t node_local = MIN(nc->pages_local, nc->pages);

                s->nodes[n] = (struct np_locality_node_stats){
                        .node = n,
                        .cpu_seconds = (double)nc->cpu_ns / 1e9,
                        .pages_allocated = nc->pages,
                        .pages_local = node_local,
                        .pages_remote = nc->pages - node_local,
                        .resident_known = resident != NULL,
                        .resident_bytes = resident ? resident[n] : 0,
                };
                pages += nc->pages;
                local += node_local;
        }
        s->shares_known = share(local, pages, &s->local_percent) && share(pages - local, pages, &s->remote_percent);
        if (pmu_reason) {
                snprintf(s->pmu.reason, sizeof(s->pmu.reason), "%s", pmu_reason[0] ? pmu_reason : "no reason given");
        } else {
                s->pmu.available = true;
                s->pmu.local = c->pmu_local;
                s->pmu.remote = c->pmu_remote;
                s->pmu.share_known = share(c->pmu_remote, c->pmu_local + c->pmu_remote, &s->pmu.remote_percent);
        }
}

/* --- the JSON form ----------------------------------------------------------------- */

static struct json_object *percent_json(bool known, double percent)
{
        return known ? json_object_new_double(percent) : NULL; /* null: nothing to divide */
}

static int pmu_to_json(const struct np_locality_pmu *pmu, struct json_object *obj)
{
        struct json_object *counts;

        if (!pmu->available) {
                /* exactly "unavailable", which scripts compare with; why in a field of its own */
                json_object_object_add(obj, "pmu", json_object_new_string(PMU_UNAVAILABLE));
                json_object_object_add(obj, "pmu_reason", json_object_new_string(pmu->reason));
                return 0;
        }
        counts = json_object_new_object();
        if (!counts)
                return -ENOMEM;
        json_object_object_add(counts, "local", json_object_new_uint64(pmu->local));
        json_object_object_add(counts, "remote", json_object_new_uint64(pmu->remote));
        json_object_object_add(counts, "remote_percent", percent_json(pmu->share_known, pmu->remote_percent));
        json_object_object_add(obj, "pmu", counts);
        return 0;
}

static int placement_to_json(const struct np_locality_stats *s, struct json_object *obj)
{
        struct json_object *p = json_object_new_object();
        char text[NP_CPULIST_BUFSIZE];
        int r;

        if (!p)
                return -ENOMEM;
        r = np_cpulist_format(&s->placed_nodes, text, sizeof(text));
        if (r == 0) {
                json_object_object_add(p, "nodes", json_object_new_string(text));
                r = np_cpulist_format(&s->cpus, text, sizeof(text));
        }
        if (r < 0) {
                json_object_put(p);
                return r;
        }
        json_object_object_add(p, "cpus", json_object_new_string(text));
        json_object_object_add(p, "cpu_mode", json_object_new_string(s->exclusive ? "exclusive" : "shared"));
        json_object_object_add(p, "source", json_object_new_string(np_source_to_string(s->source)));
        return json_object_object_add(obj, "placement", p) < 0 ? -ENOMEM : 0;
}

int np_locality_stats_to_json(const struct np_locality_stats *s, struct json_object **ret_object)
{
        _cleanup_json_ struct json_object *obj = json_object_new_object();
        struct json_object *nodes = json_object_new_array();
        char mems[NP_CPULIST_BUFSIZE];
        uint64_t pages = 0;
        double cpu_seconds = 0;
        int r;

        if (!obj || !nodes) {
                json_object_put(nodes);
                return -ENOMEM;
        }
        r = np_cpulist_format(&s->allowed_nodes, mems, sizeof(mems));
        if (r < 0) {
                json_object_put(nodes);
                return r;
        }
        json_object_object_add(obj, "id", json_object_new_string(s->id));
        json_object_object_add(obj, "state",
                               json_object_new_string(s->state == NP_LOCALITY_EXITED ? "exited" : "running"));
        json_object_object_add(obj, "policy", json_object_new_string(np_policy_to_string(s->policy)));
        json_object_object_add(obj, "allowed_nodes", json_object_new_string(mems));
        json_object_object_add(obj, "nodes", nodes);
        for (unsigned int i = 0; i < s->n_nodes && i < NP_BPF_MAX_NODES; i++) {
                const struct np_locality_node_stats *n = &s->nodes[i];
                struct json_object *node = json_object_new_object();

                if (!node)
                        return -ENOMEM;
                json_object_object_add(node, "node", json_object_new_int((int)n->node));
                json_object_object_add(node, "cpu_seconds", json_object_new_double(n->cpu_seconds));
                json_object_object_add(node, "pages_allocated", json_object_new_uint64(n->pages_allocated));
                json_object_object_add(node, "pages_local", json_object_new_uint64(n->pages_local));
                json_object_object_add(node, "pages_remote", json_object_new_uint64(n->pages_remote));
                json_object_object_add(node, "resident_bytes",
                                       n->resident_known ? json_object_new_uint64(n->resident_bytes) : NULL);
                json_object_array_add(nodes, node);
                pages += n->pages_allocated;
                cpu_seconds += n->cpu_seconds;
        }
        json_object_object_add(obj, "cpu_seconds", json_object_new_double(cpu_seconds));
        json_object_object_add(obj, "pages_allocated", json_object_new_uint64(pages));
        json_object_object_add(obj, "local_percent", percent_json(s->shares_known, s->local_percent));
        json_object_object_add(obj, "remote_percent", percent_json(s->shares_known, s->remote_percent));
        json_object_object_add(obj, "pages_outside_allowed", json_object_new_uint64(s->pages_outside_allowed));
        json_object_object_add(obj, "pages_unknown_node", json_object_new_uint64(s->pages_unknown_node));
        json_object_object_add(obj, "migrations", json_object_new_uint64(s->migrations));
        json_object_object_add(obj, "migrations_cross_node", json_object_new_uint64(s->migrations_cross_node));
        json_object_object_add(obj, "numa_balancing_migrations", json_object_new_uint64(s->numa_balancing_migrations));
        r = pmu_to_json(&s->pmu, obj);
        if (r < 0)
                return r;
        if (s->state == NP_LOCALITY_EXITED)
                json_object_object_add(obj, "exited_at", json_object_new_int64(s->exited_at));
        r = np_names_to_json(&s->names, obj);
        if (r < 0)
                return r;
        r = s->placement_known ? placement_to_json(s, obj) : 0;
        if (r < 0)
                return r;
        *ret_object = TAKE_PTR(obj);
        return 0;
}

/* Every field of the form is required: a getter's -ENOENT is a missing field. */
static int required(int r, const char *what, const char *key, struct np_diag *diag)
{
        if (r == -ENOENT)
                return np_diag_fail(diag, -EINVAL, "%s: field '%s' is missing", what, key);
        return r;
}

static int get_count(struct json_object *obj, const char *key, const char *what, struct np_diag *diag,
                     uint64_t *ret_value)
{
        return required(np_json_get_uint64(obj, key, what, diag, ret_value), what, key, diag);
}

static bool is_null(struct json_object *obj, const char *key)
{
        struct json_object *value;

        return json_object_object_get_ex(obj, key, &value) && !value;
}

/* A percentage that is null when there was nothing to divide. */
static int get_percent(struct json_object *obj, const char *key, const char *what, struct np_diag *diag,
                       bool *ret_known, double *ret_value)
{
        int r;

        if (is_null(obj, key)) {
                *ret_known = false;
                *ret_value = 0;
                return 0;
        }
        r = required(np_json_get_double(obj, key, 0, 100, what, diag, ret_value), what, key, diag);
        if (r == 0)
                *ret_known = true;
        return r;
}

static int node_from_json(struct json_object *obj, const char *what, struct np_diag *diag,
                          struct np_locality_node_stats *ret_node)
{
        struct np_locality_node_stats n = {};
        int64_t id;
        int r;

        if (!json_object_is_type(obj, json_type_object))
                return np_diag_fail(diag, -EINVAL, "%s: expected an object", what);
        r = required(np_json_get_int64(obj, "node", 0, NP_BPF_MAX_NODES - 1, what, diag, &id), what, "node", diag);
        if (r < 0)
                return r;
        n.node = (unsigned int)id;
        r = required(np_json_get_double(obj, "cpu_seconds", 0, SECONDS_MAX, what, diag, &n.cpu_seconds), what,
                     "cpu_seconds", diag);
        if (r < 0 || (r = get_count(obj, "pages_allocated", what, diag, &n.pages_allocated)) < 0 ||
            (r = get_count(obj, "pages_local", what, diag, &n.pages_local)) < 0 ||
            (r = get_count(obj, "pages_remote", what, diag, &n.pages_remote)) < 0)
                return r;
        if (!is_null(obj, "resident_bytes")) {
                r = get_count(obj, "resident_bytes", what, diag, &n.resident_bytes);
                if (r < 0)
                        return r;
                n.resident_known = true;
        }
        *ret_node = n;
        return 0;
}

static int pmu_from_json(struct json_object *obj, const char *what, struct np_diag *diag,
                         struct np_locality_pmu *ret_pmu)
{
        struct np_locality_pmu pmu = {};
        struct json_object *counts;
        const char *s, *reason;
        char pmu_what[PATH_MAX + 128], quoted[64], older[PMU_TEXT_MAX + 1];
        int r;

        r = np_json_get(obj, "pmu", json_type_object, what, NULL, &counts);
        if (r == -ENOENT)
                return required(r, what, "pmu", diag);
        if (r == 0) {
                snprintf(pmu_what, sizeof(pmu_what), "%s, pmu", what);
                pmu.available = true;
                if ((r = get_count(counts, "local", pmu_what, diag, &pmu.local)) < 0 ||
                    (r = get_count(counts, "remote", pmu_what, diag, &pmu.remote)) < 0 ||
                    (r = get_percent(counts, "remote_percent", pmu_what, diag, &pmu.share_known, &pmu.remote_percent)) <
                            0)
                        return r;
                *ret_pmu = pmu;
                return 0;
        }
        if (np_json_get_string(obj, "pmu", PMU_TEXT_MAX, what, NULL, &s) < 0)
                return np_diag_fail(diag, -EINVAL, "%s: field 'pmu' is neither an object nor \"%s\"", what,
                                    PMU_UNAVAILABLE);
        if (strcmp(s, PMU_UNAVAILABLE) == 0) {
                r = np_json_get_string(obj, "pmu_reason", NP_LOCALITY_REASON_MAX, what, diag, &reason);
                if (r < 0)
                        return required(r, what, "pmu_reason", diag);
        } else if (strncmp(s, PMU_UNAVAILABLE " (", strlen(PMU_UNAVAILABLE) + 2) == 0 && s[strlen(s) - 1] == ')') {
                /* the form of older builds, "unavailable (why)", in files they kept */
                snprintf(older, sizeof(older), "%s", s + strlen(PMU_UNAVAILABLE) + 2);
                older[strlen(older) - 1] = '\0';
                reason = older;
        } else
                return np_diag_fail(diag, -EINVAL, "%s: field 'pmu' is '%s'; expected an object or \"%s\"", what,
                                    np_log_quote(quoted, sizeof(quoted), s), PMU_UNAVAILABLE);
        snprintf(pmu.reason, sizeof(pmu.reason), "%s", reason[0] ? reason : "no reason given");
        *ret_pmu = pmu;
        return 0;
}

/* "placement": {nodes, cpus, cpu_mode, source}, optional on reading */
static int placement_from_json(struct json_object *obj, const char *what, struct np_diag *diag,
                               struct np_locality_stats *s)
{
        struct json_object *p;
        char field[PATH_MAX + 128], quoted[64];
        const char *text;
        int r;

        r = np_json_get(obj, "placement", json_type_object, what, diag, &p);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        snprintf(field, sizeof(field), "%s, placement", what);
        r = required(np_json_get_string(p, "nodes", NP_CPULIST_BUFSIZE, field, diag, &text), field, "nodes", diag);
        if (r == 0)
                r = np_cpulist_parse(text, NP_CPULIST_MAX, field, diag, &s->placed_nodes);
        if (r == 0)
                r = required(np_json_get_string(p, "cpus", NP_CPULIST_BUFSIZE, field, diag, &text), field, "cpus",
                             diag);
        if (r == 0)
                r = np_cpulist_parse(text, NP_CPULIST_MAX, field, diag, &s->cpus);
        if (r == 0)
                r = required(np_json_get_string(p, "cpu_mode", 16, field, diag, &text), field, "cpu_mode", diag);
        if (r < 0)
                return r;
        if (strcmp(text, "exclusive") != 0 && strcmp(text, "shared") != 0)
                return np_diag_fail(diag, -EINVAL, "%s: field 'cpu_mode' is '%s'; expected exclusive or shared", field,
                                    np_log_quote(quoted, sizeof(quoted), text));
        s->exclusive = strcmp(text, "exclusive") == 0;
        r = required(np_json_get_string(p, "source", 32, field, diag, &text), field, "source", diag);
        if (r < 0)
                return r;
        s->source = np_source_from_string(text);
        s->placement_known = true;
        return 0;
}

int np_locality_stats_from_json(struct json_object *obj, const char *what, struct np_diag *diag,
                                struct np_locality_stats *ret_stats)
{
        struct np_locality_stats stats = {}, *s = &stats;
        struct json_object *nodes;
        char field[PATH_MAX + 128], quoted[64];
        const char *text;
        bool remote_known;
        size_t n_nodes;
        int r;

        if (!json_object_is_type(obj, json_type_object))
                return np_diag_fail(diag, -EINVAL, "%s: expected a JSON object", what);
        r = required(np_json_get_string(obj, "id", NP_ID_MAX, what, diag, &text), what, "id", diag);
        if (r < 0)
                return r;
        if (!np_id_valid(text))
                return np_diag_fail(diag, -EINVAL,
                                    "%s: field 'id' is '%s'; expected a container id (1-%d of A-Z a-z 0-9 _ + . -)",
                                    what, np_log_quote(quoted, sizeof(quoted), text), NP_ID_MAX);
        snprintf(s->id, sizeof(s->id), "%s", text);

        r = required(np_json_get_string(obj, "state", 32, what, diag, &text), what, "state", diag);
        if (r < 0)
                return r;
        if (strcmp(text, "running") == 0)
                s->state = NP_LOCALITY_RUNNING;
        else if (strcmp(text, "exited") == 0)
                s->state = NP_LOCALITY_EXITED;
        else
                return np_diag_fail(diag, -EINVAL, "%s: field 'state' is '%s'; expected running or exited", what,
                                    np_log_quote(quoted, sizeof(quoted), text));

        r = required(np_json_get_string(obj, "policy", 32, what, diag, &text), what, "policy", diag);
        if (r < 0)
                return r;
        if (np_policy_from_string(text, &s->policy) < 0)
                return np_diag_fail(
                        diag, -EINVAL,
                        "%s: field 'policy' is '%s'; expected bind, cpus-only, preferred, interleave or none", what,
                        np_log_quote(quoted, sizeof(quoted), text));

        r = required(np_json_get_string(obj, "allowed_nodes", NP_CPULIST_BUFSIZE, what, diag, &text), what,
                     "allowed_nodes", diag);
        if (r < 0)
                return r;
        snprintf(field, sizeof(field), "%s field 'allowed_nodes'", what);
        r = np_cpulist_parse(text, NP_CPULIST_MAX, field, diag, &s->allowed_nodes);
        if (r < 0)
                return r;

        r = required(np_json_get(obj, "nodes", json_type_array, what, diag, &nodes), what, "nodes", diag);
        if (r < 0)
                return r;
        n_nodes = json_object_array_length(nodes);
        if (n_nodes > NP_BPF_MAX_NODES)
                return np_diag_fail(diag, -EINVAL, "%s: field 'nodes' has %zu entries; expected at most %d", what,
                                    n_nodes, NP_BPF_MAX_NODES);
        for (size_t i = 0; i < n_nodes; i++) {
                snprintf(field, sizeof(field), "%s, nodes[%zu]", what, i);
                r = node_from_json(json_object_array_get_idx(nodes, i), field, diag, &s->nodes[i]);
                if (r < 0)
                        return r;
        }
        s->n_nodes = (unsigned int)n_nodes;

        if ((r = get_percent(obj, "local_percent", what, diag, &s->shares_known, &s->local_percent)) < 0 ||
            (r = get_percent(obj, "remote_percent", what, diag, &remote_known, &s->remote_percent)) < 0)
                return r;
        if (s->shares_known != remote_known)
                return np_diag_fail(diag, -EINVAL,
                                    "%s: fields 'local_percent' and 'remote_percent' are not both null or both numbers",
                                    what);
        if ((r = get_count(obj, "pages_outside_allowed", what, diag, &s->pages_outside_allowed)) < 0 ||
            (r = get_count(obj, "pages_unknown_node", what, diag, &s->pages_unknown_node)) < 0 ||
            (r = get_count(obj, "migrations", what, diag, &s->migrations)) < 0 ||
            (r = get_count(obj, "migrations_cross_node", what, diag, &s->migrations_cross_node)) < 0 ||
            (r = get_count(obj, "numa_balancing_migrations", what, diag, &s->numa_balancing_migrations)) < 0 ||
            (r = pmu_from_json(obj, what, diag, &s->pmu)) < 0)
                return r;
        if (s->state == NP_LOCALITY_EXITED) {
                r = required(np_json_get_int64(obj, "exited_at", 1, INT64_MAX, what, diag, &s->exited_at), what,
                             "exited_at", diag);
                if (r < 0)
                        return r;
        }
        if ((r = np_names_from_json(obj, what, diag, &s->names)) < 0 ||
            (r = placement_from_json(obj, what, diag, s)) < 0)
                return r;
        *ret_stats = stats;
        return 0;
}

/* --- reports ----------------------------------------------------------------------- */

void np_locality_report_clear(struct np_locality_report *report)
{
        free(report->stats);
        free(report->warnings);
        *report = (struct np_locality_report){};
}

/* Room for one more of `n` items of `size` bytes: capacities are powers of two. */
static int grow(void **items, size_t n, size_t size)
{
        void *p;

        if ((n & (n - 1)) != 0 || (n > 0 && n < 8))
                return 0;
        p = realloc(*items, (n ? n * 2 : 8) * size);
        if (!p)
                return -ENOMEM;
        *items = p;
        return 0;
}

static int report_add(struct np_locality_report *report, const struct np_locality_stats *stats)
{
        int r = grow((void **)&report->stats, report->n_stats, sizeof(*report->stats));

        if (r < 0)
                return r;
        report->stats[report->n_stats++] = *stats;
        return 0;
}

_printf_(3, 4) static int report_warn(struct np_locality_report *report, int error, const char *fmt, ...)
{
        struct np_diag *w;
        va_list ap;
        int r = grow((void **)&report->warnings, report->n_warnings, sizeof(*report->warnings));

        if (r < 0)
                return r;
        w = &report->warnings[report->n_warnings++];
        w->error = error;
        va_start(ap, fmt);
        vsnprintf(w->message, sizeof(w->message), fmt, ap);
        va_end(ap);
        return 0;
}

int np_locality_report_to_json(const struct np_locality_report *report, struct json_object **ret_object)
{
        _cleanup_json_ struct json_object *root = json_object_new_object();
        struct json_object *containers = json_object_new_array();

        if (!root || !containers) {
                json_object_put(containers);
                return -ENOMEM;
        }
        json_object_object_add(root, "containers", containers);
        for (size_t i = 0; i < report->n_stats; i++) {
                struct json_object *obj = NULL;
                int r = np_locality_stats_to_json(&report->stats[i], &obj);

                if (r < 0)
                        return r;
                json_object_array_add(containers, obj);
        }
        *ret_object = TAKE_PTR(root);
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

                /* written under the ledger's lock, as this is: a temporary file is a killed writer's */
                if (np_temporary_name(e->d_name)) {
                        (void)unlinkat(dir_fd, e->d_name, 0);
                        continue;
                }
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

int np_exited_save(const char *state_dir, const struct np_locality_stats *stats)
{
        _cleanup_json_ struct json_object *object = NULL;
        _cleanup_close_ int dir_fd = -1;
        _cleanup_free_ char *text = NULL;
        char name[NP_ID_MAX + 8];
        size_t size;
        int r;

        if (!np_id_valid(stats->id) || stats->state != NP_LOCALITY_EXITED)
                return -EINVAL;
        r = np_locality_stats_to_json(stats, &object);
        if (r < 0)
                return r;
        r = np_json_to_string(object, &text, &size);
        if (r < 0)
                return r;
        dir_fd = open_exited(state_dir, true);
        if (dir_fd < 0)
                return dir_fd;
        snprintf(name, sizeof(name), "%s.json", stats->id);
        r = np_write_file_atomic_at(dir_fd, name, text, size, 0644);
        if (r == 0)
                prune(dir_fd);
        return r;
}

/* One unlink(2) by the whole path: a hook attaching a container calls it each
 * time, and an open and a close of the folder would cost more than it. */
void np_exited_remove(const char *state_dir, const char *id)
{
        char path[PATH_MAX];
        int w;

        if (!np_id_valid(id))
                return;
        w = snprintf(path, sizeof(path), "%s/%s/%s.json", state_dir, NP_EXITED_DIR, id);
        if (w > 0 && (size_t)w < sizeof(path))
                unlinkat(AT_FDCWD, path, 0);
}

/* One kept file into `ret_stats`: -EINVAL with diag naming the file and the field
 * when it is not an exited container's figures under its own name. */
int np_exited_read(int dir_fd, const char *name, const char *what, struct np_diag *diag,
                   struct np_locality_stats *ret_stats)
{
        _cleanup_json_ struct json_object *obj = NULL;
        _cleanup_free_ char *text = NULL;
        size_t size, id_len = strlen(name) - strlen(".json");
        int r;

        r = np_read_file_at(dir_fd, name, EXITED_LIMIT, &text, &size);
        if (r < 0)
                return np_diag_fail(diag, r, "%s: %s", what, np_file_strerror_at(dir_fd, name, r));
        r = np_json_parse(text, size, EXITED_LIMIT, what, diag, &obj);
        if (r < 0)
                return r;
        r = np_locality_stats_from_json(obj, what, diag, ret_stats);
        if (r < 0)
                return r;
        if (ret_stats->state != NP_LOCALITY_EXITED)
                return np_diag_fail(diag, -EINVAL, "%s: field 'state' is 'running'; expected exited", what);
        if (strlen(ret_stats->id) != id_len || strncmp(ret_stats->id, name, id_len) != 0)
                return np_diag_fail(diag, -EINVAL, "%s: field 'id' is '%s', not the file's name", what, ret_stats->id);
        return 0;
}

static bool exited_name(const char *name)
{
        size_t len = strlen(name);

        return name[0] != '.' && len > strlen(".json") && strcmp(name + len - strlen(".json"), ".json") == 0;
}

/* Adds the kept containers that `ledger` (may be NULL) no longer holds, only `id`
 * when it is not NULL; a damaged file is left out with a warning. */
static int load_exited(const char *state_dir, const struct np_ledger *ledger, const char *id,
                       struct np_locality_report *report)
{
        _cleanup_close_ int dir_fd = open_exited(state_dir, false);
        struct np_locality_stats stats;
        struct dirent *e;
        DIR *dir;
        int fd, r = 0;

        if (dir_fd < 0)
                return 0; /* none kept yet */
        fd = dup(dir_fd);
        dir = fd >= 0 ? fdopendir(fd) : NULL;
        if (!dir) {
                r = -errno;
                if (fd >= 0)
                        close(fd);
                return r;
        }
        while (r == 0 && (e = readdir(dir))) {
                struct np_diag diag = {};
                char what[PATH_MAX + 64];
                size_t len = strlen(e->d_name);

                if (!exited_name(e->d_name))
                        continue;
                if (id && (len != strlen(id) + strlen(".json") || strncmp(e->d_name, id, strlen(id)) != 0))
                        continue;
                snprintf(what, sizeof(what), "exited record %s/%s/%s", state_dir, NP_EXITED_DIR, e->d_name);
                r = np_exited_read(dir_fd, e->d_name, what, &diag, &stats);
                if (r == -ENOMEM)
                        break;
                if (r < 0)
                        r = report_warn(report, r, "%s", diag.message[0] ? diag.message : strerror(-r));
                else if (!ledger || !np_ledger_find(ledger, stats.id))
                        r = report_add(report, &stats);
        }
        closedir(dir);
        return r;
}

int np_exited_load(const char *state_dir, struct np_locality_report *ret_report)
{
        _cleanup_(np_locality_report_clear) struct np_locality_report report = {};
        int r;

        r = load_exited(state_dir, NULL, NULL, &report);
        if (r < 0)
                return r;
        *ret_report = report;
        report = (struct np_locality_report){};
        return 0;
}

/* --- what numapinctl stats shows -------------------------------------------------- */

/* The figures of a running container: its pinned set's counters, memory.numa_stat,
 * the PMU state. */
static int running_stats(const struct np_record *rec, struct np_locality_report *report)
{
        _cleanup_monitor_ struct np_monitor *monitor = NULL;
        uint64_t resident[NP_BPF_MAX_NODES];
        struct np_locality_stats stats;
        struct np_locality locality;
        struct np_diag diag = {};
        char pmu[256];
        int r;

        r = np_monitor_open_dir(rec->monitor.dir, &diag, &monitor);
        if (r == 0 && monitor->foreign)
                r = np_diag_fail(&diag, -EPROTO,
                                 "counted by %s, another build's set, whose counters this build does not read "
                                 "(containers started since the upgrade are counted)",
                                 rec->monitor.dir);
        if (r == 0)
                r = np_monitor_read(monitor, rec->monitor.slot, &locality);
        if (r < 0)
                return report_warn(report, r, "container '%s': %s", rec->id,
                                   diag.message[0] ? diag.message : strerror(-r));
        np_locality_stats_fill(rec, &locality,
                               np_locality_resident(rec->cgroup, rec->pid, resident) == 0 ? resident : NULL,
                               np_locality_pmu_reason(monitor, pmu, sizeof(pmu)), 0, &stats);
        return report_add(report, &stats);
}

int np_locality_collect(const char *state_dir, const struct np_ledger *ledger, const char *id,
                        struct np_locality_report *ret_report)
{
        _cleanup_(np_locality_report_clear) struct np_locality_report report = {};
        int r;

        for (const struct np_record *rec = ledger ? np_ledger_next(ledger, NULL) : NULL; rec;
             rec = np_ledger_next(ledger, rec)) {
                if (!rec->monitor.on || (id && strcmp(rec->id, id) != 0))
                        continue;
                r = running_stats(rec, &report);
                if (r < 0)
                        return r;
        }
        r = load_exited(state_dir, ledger, id, &report);
        if (r < 0)
                return r;
        *ret_report = report;
        report = (struct np_locality_report){};
        return 0;
}
