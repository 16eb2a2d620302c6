// SPDX-License-Identifier: MIT
/* The Prometheus exposition of a node: every record of <state dir>/containers
 * and every exited container of <state dir>/exited still within the grace
 * period, each parsed once and kept until its file changes; their counters read
 * from the pinned BPF maps and memory.numa_stat at each scrape; the nodes from
 * sysfs; the operations counters from <state dir>/opstats. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ledger.h"
#include "locality.h"
#include "metrics.h"
#include "monitor.h"
#include "opstats.h"
#include "policy.h"

#ifndef NP_VERSION
#define NP_VERSION "unknown"
#endif

#define TEXT_INITIAL    (64 * 1024)
#define WATCHED_READ_NS 10000000000ull
#define RESCAN_NS       10000000000ull
/* The text's mapping begins with its size, then the text. */
#define TEXT_HEADER 16

/* --- the text ------------------------------------------------------------------------ */

/* Kept in an anonymous mapping of its own, not the heap: a thousand containers'
 * text is megabytes, and a heap would keep them resident after the scrape. */
struct text {
        char *buf; /* TEXT_HEADER bytes into the mapping */
        size_t len, cap;
        bool failed; /* out of memory: the whole render fails */
};

/* `expected`: the last scrape's length. Its pages are made in one call
 * (MAP_POPULATE), which costs less than a fault for each page as the text grows
 * into them: a thousand containers' text is some 540 pages. */
static bool text_init(struct text *t, size_t expected)
{
        size_t page = (size_t)getpagesize();
        size_t size = expected ? (TEXT_HEADER + expected + expected / 16 + page - 1) / page * page : 0;
        char *map;

        if (size < TEXT_INITIAL)
                size = TEXT_INITIAL;
        map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | (expected ? MAP_POPULATE : 0), -1,
                   0);
        if (map == MAP_FAILED)
                return false;
        *(size_t *)map = size;
        *t = (struct text){ .buf = map + TEXT_HEADER, .cap = size - TEXT_HEADER };
        t->buf[0] = '\0';
        return true;
}

static bool text_grow(struct text *t, size_t need)
{
        size_t size = (t->cap + TEXT_HEADER) * 2;
        char *map;

        while (size - TEXT_HEADER < need)
                size *= 2;
        map = mremap(t->buf - TEXT_HEADER, t->cap + TEXT_HEADER, size, MREMAP_MAYMOVE);
        if (map == MAP_FAILED)
                return false;
        *(size_t *)map = size;
        t->buf = map + TEXT_HEADER;
        t->cap = size - TEXT_HEADER;
        return true;
}

void np_metrics_text_free(void *text)
{
        char *map = text ? (char *)text - TEXT_HEADER : NULL;

        if (map)
                munmap(map, *(size_t *)map);
}

__attribute__((format(printf, 2, 3))) static void put(struct text *t, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (t->failed)
                return;
        for (;;) {
                va_start(ap, fmt);
                n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
                va_end(ap);
                if (n < 0) {
                        t->failed = true;
                        return;
                }
                if ((size_t)n < t->cap - t->len)
                        break;
                if (!text_grow(t, t->len + (size_t)n + 1)) {
                        t->failed = true;
                        return;
                }
        }
        t->len += (size_t)n;
}

/* The samples of the per-container families, a line for each container and
 * node, written without printf: at a thousand containers they are most of a
 * scrape's text and, through vsnprintf, most of its time. */
static bool text_room(struct text *t, size_t n)
{
        if (t->failed)
                return false;
        if (n < t->cap - t->len)
                return true;
        if (text_grow(t, t->len + n + 1))
                return true;
        t->failed = true;
        return false;
}

static void put_bytes(struct text *t, const char *s, size_t n)
{
        if (!text_room(t, n))
                return;
        memcpy(t->buf + t->len, s, n);
        t->len += n;
        t->buf[t->len] = '\0';
}

static void put_str(struct text *t, const char *s)
{
        put_bytes(t, s, strlen(s));
}

static void put_u64(struct text *t, uint64_t value)
{
        char digits[20];
        size_t n = 0;

        do {
                digits[sizeof(digits) - ++n] = (char)('0' + value % 10);
                value /= 10;
        } while (value);
        put_bytes(t, digits + sizeof(digits) - n, n);
}

/* `ns` as seconds with nine decimals, exactly */
static void put_seconds(struct text *t, uint64_t ns)
{
        char fraction[10];
        uint64_t rest = ns % 1000000000u;

        put_u64(t, ns / 1000000000u);
        fraction[0] = '.';
        for (int i = 9; i > 0; i--, rest /= 10)
                fraction[i] = (char)('0' + rest % 10);
        put_bytes(t, fraction, sizeof(fraction));
}

/* "name{labels" of a sample; then put_node() for a node's, and put_value() */
static void put_sample(struct text *t, const char *name, const char *labels)
{
        put_str(t, name);
        put_bytes(t, "{", 1);
        put_str(t, labels);
}

static void put_node(struct text *t, unsigned int node)
{
        put_bytes(t, ",node=\"", 7);
        put_u64(t, node);
        put_bytes(t, "\"", 1);
}

static void put_value(struct text *t, uint64_t value)
{
        put_bytes(t, "} ", 2);
        put_u64(t, value);
        put_bytes(t, "\n", 1);
}

static void family(struct text *t, const char *name, const char *type, const char *help)
{
        put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value as the format wants it: \ " and newline escaped. */
static void escape(const char *in, char *out, size_t size)
{
        size_t o = 0;

        for (; *in && o + 3 < size; in++) {
                if (*in == '\\' || *in == '"') {
                        out[o++] = '\\';
                        out[o++] = *in;
                } else if (*in == '\n') {
                        out[o++] = '\\';
                        out[o++] = 'n';
                } else {
                        out[o++] = *in;
                }
        }
        out[o] = '\0';
}

/* --- what is kept of a container ----------------------------------------------------- */

struct promise {
        unsigned int node;
        uint64_t bytes;
};

struct entry {
        char *file; /* <id>.json, the key; with the three below, whether it changed */
        ino_t ino;
        struct timespec mtime;
        off_t size;
        char *labels; /* container_id="...",namespace="...",pod="...",container="..." */
        char *info;   /* policy="...",nodes="...",cpus="...",mems="...",cpu_mode="...",source="..." */
        bool monitored;
        uint32_t slot;
        char *monitor_dir;
        char *cgroup;
        int pid;
        bool numa_stat_open; /* its memory.numa_stat, opened at the first read that found it */
        int numa_stat_fd;
        bool numa_stat_v1;
        unsigned int *exclusive; /* the CPUs it holds alone */
        size_t n_exclusive;
        struct promise *promised; /* its memory limit on each of its nodes */
        size_t n_promised;
        int64_t exited_at; /* 0: it runs */
        bool moved;        /* scan: its fields went to the new cache; the name stays for the search */
        /* this scrape's figures (an exited container's final ones) */
        bool counted;
        bool pmu; /* its PMU tier counts */
        unsigned int n_nodes;
        struct np_bpf_node_counters *nodes;
        struct np_bpf_slot_counters counters;
        bool resident_known;
        uint64_t *resident;
};

struct cache {
        struct entry *entries; /* by file name */
        size_t n;
        ino_t dir_ino; /* the folder when it was read (the exited containers' one) */
        struct timespec dir_mtime;
        uint64_t scanned_ns; /* ... and then; a folder's time is coarse: read it anew every RESCAN_NS */
};

/* A pinned set that records name, opened once. */
struct pinned {
        char *dir;
        struct np_monitor *monitor;
        struct np_monitor_snapshot snapshot; /* this scrape's counters, read on first need */
        bool snapshot_taken;                 /* ... and tried: when it failed, slot by slot */
        bool checked;                        /* the PMU tier's state read this scrape */
        unsigned int watched;                /* np_monitor_count() when last read */
        uint64_t watched_read_ns;            /* ... then (0: never) */
        bool pmu;
        char reason[NP_LOCALITY_REASON_MAX + 1];
};

struct np_metrics {
        pthread_mutex_t lock;
        struct np_context *context;
        struct cache running, exited;
        struct pinned *pinned;
        size_t n_pinned;
        struct np_opstats *opstats;
        struct np_record *scratch_record;
        struct np_locality_stats *scratch_stats;
        struct np_usage *scratch_usage;
        uint64_t last_render_ns;
        size_t last_text_len;        /* the last scrape's text, what the next one makes room for */
        uint64_t ledger_generation;  /* np_ledger_generation() at the last scan of the records */
        uint64_t records_scanned_ns; /* ... and when */
};

static void entry_clear(struct entry *e)
{
        if (e->numa_stat_open)
                close(e->numa_stat_fd);
        free(e->file);
        free(e->labels);
        free(e->info);
        free(e->monitor_dir);
        free(e->cgroup);
        free(e->exclusive);
        free(e->promised);
        free(e->nodes);
        free(e->resident);
        *e = (struct entry){};
}

static void cache_clear(struct cache *cache)
{
        for (size_t i = 0; i < cache->n; i++)
                entry_clear(&cache->entries[i]);
        free(cache->entries);
        *cache = (struct cache){};
}

static int compare_entries(const void *a, const void *b)
{
        return strcmp(((const struct entry *)a)->file, ((const struct entry *)b)->file);
}

static struct entry *cache_find(const struct cache *cache, const char *file)
{
        struct entry key = { .file = (char *)file };

        return cache->n ? bsearch(&key, cache->entries, cache->n, sizeof(key), compare_entries) : NULL;
}

static int set_labels(struct entry *e, const char *id, const struct np_names *names)
{
        return asprintf(&e->labels, "container_id=\"%s\",namespace=\"%s\",pod=\"%s\",container=\"%s\"", id,
                        names->namespace, names->pod, names->container) < 0
                       ? -ENOMEM
                       : 0;
}

static int set_info(struct entry *e, enum np_policy policy, const struct np_cpulist *nodes,
                    const struct np_cpulist *cpus, const struct np_cpulist *mems, bool exclusive, enum np_source source)
{
        _cleanup_free_ char *text = malloc(3 * NP_CPULIST_BUFSIZE);
        char *n = text, *c = text + NP_CPULIST_BUFSIZE, *m = text + 2 * NP_CPULIST_BUFSIZE;

        if (!text)
                return -ENOMEM;
        if (np_cpulist_format(nodes, n, NP_CPULIST_BUFSIZE) < 0 || np_cpulist_format(cpus, c, NP_CPULIST_BUFSIZE) < 0 ||
            np_cpulist_format(mems, m, NP_CPULIST_BUFSIZE) < 0)
                return -EINVAL;
        return asprintf(&e->info, "policy=\"%s\",nodes=\"%s\",cpus=\"%s\",mems=\"%s\",cpu_mode=\"%s\",source=\"%s\"",
                        np_policy_to_string(policy), n, c, m, exclusive ? "exclusive" : "shared",
                        np_source_to_string(source)) < 0
                       ? -ENOMEM
                       : 0;
}

static int entry_from_record(struct np_metrics *m, const struct np_record *rec, struct entry *e)
{
        struct np_usage *usage = m->scratch_usage;
        int r;

        if ((r = set_labels(e, rec->id, &rec->names)) < 0 ||
            (r = set_info(e, rec->policy, &rec->nodes, &rec->cpus, &rec->mems, !np_cpulist_empty(&rec->exclusive_cpus),
                          rec->source)) < 0)
                return r;
        e->cgroup = strdup(rec->cgroup);
        if (!e->cgroup)
                return -ENOMEM;
        e->pid = rec->pid;
        if (rec->monitor.on) {
                e->monitored = true;
                e->slot = rec->monitor.slot;
                e->monitor_dir = strdup(rec->monitor.dir);
                if (!e->monitor_dir)
                        return -ENOMEM;
        }
        e->exclusive = calloc(np_cpulist_count(&rec->exclusive_cpus) + 1, sizeof(*e->exclusive));
        e->promised = calloc(np_cpulist_count(&rec->nodes) + 1, sizeof(*e->promised));
        if (!e->exclusive || !e->promised)
                return -ENOMEM;
        NP_CPULIST_FOREACH(cpu, &rec->exclusive_cpus)
                e->exclusive[e->n_exclusive++] = cpu;
        /* what placement counts against each node: the one rule, policy.c's */
        np_usage_init(usage);
        np_usage_add(usage, rec->policy, &rec->nodes, &rec->exclusive_cpus, &rec->demand);
        NP_CPULIST_FOREACH(node, &rec->nodes)
                if (node < NP_MAX_NODES && usage->nodes[node].memory_bytes)
                        e->promised[e->n_promised++] = (struct promise){ node, usage->nodes[node].memory_bytes };
        return 0;
}

static int entry_from_exited(const struct np_locality_stats *s, struct entry *e)
{
        int r;

        if ((r = set_labels(e, s->id, &s->names)) < 0 ||
            (r = set_info(e, s->policy, &s->placed_nodes, &s->cpus, &s->allowed_nodes, s->exclusive, s->source)) < 0)
                return r;
        e->exited_at = s->exited_at;
        e->monitored = true;
        e->counted = true;
        e->n_nodes = s->n_nodes;
        e->nodes = calloc(s->n_nodes + 1, sizeof(*e->nodes));
        if (!e->nodes)
                return -ENOMEM;
        for (unsigned int i = 0; i < s->n_nodes; i++)
                e->nodes[i] = (struct np_bpf_node_counters){
                        .cpu_ns = (uint64_t)(s->nodes[i].cpu_seconds * 1e9),
                        .pages = s->nodes[i].pages_allocated,
                        .pages_local = s->nodes[i].pages_local,
                };
        e->counters = (struct np_bpf_slot_counters){
                .pages_outside = s->pages_outside_allowed,
                .pages_unknown_node = s->pages_unknown_node,
                .migrations = s->migrations,
                .migrations_cross = s->migrations_cross_node,
                .numa_balancing_pages = s->numa_balancing_migrations,
                .pmu_local = s->pmu.local,
                .pmu_remote = s->pmu.remote,
        };
        e->pmu = s->pmu.available;
        return 0;
}

/* Drops the exited containers that exited before `oldest`, keeping the order. */
static void drop_expired(struct cache *cache, int64_t oldest)
{
        size_t kept = 0;

        for (size_t i = 0; i < cache->n; i++) {
                if (cache->entries[i].exited_at < oldest)
                        entry_clear(&cache->entries[i]);
                else
                        cache->entries[kept++] = cache->entries[i];
        }
        cache->n = kept;
}

/* Reads <state dir>/`subdir` into `cache`: a file unchanged since the last scrape
 * keeps its entry, another is parsed; an exited container past the grace period
 * is not read at all. A file that is not a record is left out (debug log). */
static int scan(struct np_metrics *m, const char *subdir, bool exited, struct cache *cache)
{
        struct cache fresh = {};
        struct stat dir_st;
        size_t cap = 0;
        int64_t now = (int64_t)time(NULL), grace = m->context->config.metrics_exited_grace_seconds;
        char path[PATH_MAX + 32];
        struct dirent *de;
        DIR *dir;
        int r = 0;

        snprintf(path, sizeof(path), "%s/%s", m->context->state_dir, subdir);
        dir = opendir(path);
        if (!dir) {
                cache_clear(cache);
                return errno == ENOENT ? 0 : -errno;
        }
        if (exited && np_context_now_ns() - cache->scanned_ns < RESCAN_NS && fstat(dirfd(dir), &dir_st) == 0 &&
            cache->dir_ino == dir_st.st_ino && cache->dir_mtime.tv_sec == dir_st.st_mtim.tv_sec &&
            cache->dir_mtime.tv_nsec == dir_st.st_mtim.tv_nsec) {
                /* no file came or went (up to NP_EXITED_KEEP of them): only the grace period moved */
                closedir(dir);
                drop_expired(cache, now - grace);
                return 0;
        }
        if (exited && fstat(dirfd(dir), &dir_st) == 0) {
                cache->dir_ino = dir_st.st_ino;
                cache->dir_mtime = dir_st.st_mtim;
                cache->scanned_ns = np_context_now_ns();
        }
        while (r == 0 && (de = readdir(dir))) {
                size_t len = strlen(de->d_name);
                struct np_diag diag = {};
                struct entry *old, e = {};
                char what[PATH_MAX + 64];
                struct stat st;

                if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
                        continue;
                if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                        continue;
                if (exited && st.st_mtim.tv_sec + grace < now)
                        continue; /* written when it exited: past the grace period */
                if (fresh.n == cap) {
                        struct entry *grown = realloc(fresh.entries, (cap = MAX(cap * 2, 64)) * sizeof(*grown));
                        if (!grown) {
                                r = -ENOMEM;
                                break;
                        }
                        fresh.entries = grown;
                }
                old = cache_find(cache, de->d_name);
                /* an unchanged file keeps its entry, unless its grace period ended since */
                if (old && !old->moved && old->ino == st.st_ino && old->size == st.st_size &&
                    old->mtime.tv_sec == st.st_mtim.tv_sec && old->mtime.tv_nsec == st.st_mtim.tv_nsec &&
                    !(exited && old->exited_at + grace < now)) {
                        fresh.entries[fresh.n++] = *old;
                        old->moved = true; /* its name stays: the cache is searched again, sorted */
                        continue;
                }
                snprintf(what, sizeof(what), "%s/%s", path, de->d_name);
                if (exited) {
                        r = np_exited_read(dirfd(dir), de->d_name, what, &diag, m->scratch_stats);
                        if (r == 0 && m->scratch_stats->exited_at + grace < now)
                                r = -ESTALE;
                        if (r == 0)
                                r = entry_from_exited(m->scratch_stats, &e);
                } else {
                        r = np_record_read(dirfd(dir), de->d_name, what, &diag, m->scratch_record);
                        if (r == 0)
                                r = entry_from_record(m, m->scratch_record, &e);
                }
                if (r == 0) {
                        e.file = strdup(de->d_name);
                        r = e.file ? 0 : -ENOMEM;
                }
                if (r < 0) {
                        if (r != -ESTALE)
                                np_log_debug("metrics: %s left out: %s", what,
                                             diag.message[0] ? diag.message : strerror(-r));
                        entry_clear(&e);
                        r = r == -ENOMEM ? r : 0;
                        continue;
                }
                e.ino = st.st_ino;
                e.size = st.st_size;
                e.mtime = st.st_mtim;
                fresh.entries[fresh.n++] = e;
        }
        closedir(dir);
        /* what was not found again is gone */
        for (size_t i = 0; i < cache->n; i++)
                if (!cache->entries[i].moved)
                        entry_clear(&cache->entries[i]);
        free(cache->entries);
        if (fresh.n > 1)
                qsort(fresh.entries, fresh.n, sizeof(*fresh.entries), compare_entries);
        fresh.dir_ino = cache->dir_ino;
        fresh.dir_mtime = cache->dir_mtime;
        fresh.scanned_ns = cache->scanned_ns;
        *cache = fresh;
        return r;
}

/* --- this scrape's figures ----------------------------------------------------------- */

static struct pinned *pinned_get(struct np_metrics *m, const char *dir)
{
        struct pinned *p = NULL, *grown;
        struct np_diag diag = {};

        for (size_t i = 0; i < m->n_pinned; i++)
                if (strcmp(m->pinned[i].dir, dir) == 0)
                        p = &m->pinned[i];
        if (!p) {
                grown = realloc(m->pinned, (m->n_pinned + 1) * sizeof(*grown));
                if (!grown)
                        return NULL;
                m->pinned = grown;
                p = &m->pinned[m->n_pinned];
                *p = (struct pinned){ .dir = strdup(dir) };
                if (!p->dir)
                        return NULL;
                m->n_pinned++;
        }
        if (!p->monitor && np_monitor_open_dir(dir, &diag, &p->monitor) < 0) {
                snprintf(p->reason, sizeof(p->reason), "%.*s", (int)sizeof(p->reason) - 1, diag.message);
                return p;
        }
        if (!p->checked) {
                /* once a scrape, not once a container */
                p->pmu = !np_locality_pmu_reason(p->monitor, p->reason, sizeof(p->reason));
                p->checked = true;
        }
        return p;
}

static void read_figures(struct np_metrics *m, struct entry *e, unsigned int max_nodes)
{
        uint64_t resident[NP_BPF_MAX_NODES];
        struct np_locality locality;
        struct pinned *p;

        e->counted = false;
        e->resident_known = false;
        /* another build's set (before an upgrade) is laid out otherwise: not counted */
        if (!e->monitored || !(p = pinned_get(m, e->monitor_dir)) || !p->monitor || p->monitor->foreign)
                return;
        if (!p->snapshot_taken) {
                /* the slots of every container counted in this set, read at once */
                _cleanup_free_ uint32_t *slots = calloc(m->running.n + 1, sizeof(*slots));
                size_t n = 0;

                p->snapshot_taken = true;
                for (size_t i = 0; slots && i < m->running.n; i++)
                        if (m->running.entries[i].monitored && strcmp(m->running.entries[i].monitor_dir, p->dir) == 0)
                                slots[n++] = m->running.entries[i].slot;
                if (!slots || np_monitor_snapshot(p->monitor, slots, n, &p->snapshot) < 0)
                        p->snapshot = (struct np_monitor_snapshot){};
        }
        if (p->snapshot.nodes) {
                np_monitor_snapshot_slot(&p->snapshot, e->slot, &locality);
        } else if (np_monitor_read(p->monitor, e->slot, &locality) < 0) {
                /* the set was removed or replaced: open it again at the next scrape */
                np_monitor_close(p->monitor);
                p->monitor = NULL;
                return;
        }
        if (e->n_nodes != MIN(locality.node_stride, max_nodes)) {
                free(e->nodes);
                free(e->resident);
                e->n_nodes = MIN(locality.node_stride, max_nodes);
                e->nodes = calloc(e->n_nodes + 1, sizeof(*e->nodes));
                e->resident = calloc(e->n_nodes + 1, sizeof(*e->resident));
                if (!e->nodes || !e->resident) {
                        e->n_nodes = 0;
                        return;
                }
        }
        memcpy(e->nodes, locality.nodes, e->n_nodes * sizeof(*e->nodes));
        e->counters = locality.counters;
        e->pmu = p->pmu;
        e->counted = true;
        /* a thousand containers' paths walked and files opened at each scrape cost
         * more than reading them: each file is opened once and read again from its
         * start (the fd limit raised by the front-end; when it runs out, the path
         * is walked as before) */
        if (!e->numa_stat_open) {
                e->numa_stat_fd = np_locality_numa_stat_open(e->cgroup, e->pid, &e->numa_stat_v1);
                e->numa_stat_open = e->numa_stat_fd >= 0;
        }
        if (e->numa_stat_open ? np_locality_resident_fd(e->numa_stat_fd, e->numa_stat_v1, resident) == 0
                              : np_locality_resident(e->cgroup, e->pid, resident) == 0) {
                memcpy(e->resident, resident, e->n_nodes * sizeof(*e->resident));
                e->resident_known = true;
        }
}

/* --- the families -------------------------------------------------------------------- */

struct scrape {
        struct np_metrics *m;
        struct text *t;
        const struct np_topology *topology;
        struct entry **all; /* running, then exited ones the ledger no longer holds */
        size_t n_all;
};

static void container_families(struct scrape *s)
{
        struct text *t = s->t;

        family(t, "numapin_container_info", "gauge",
               "A container numapin placed: its policy, nodes, cpuset, who placed it and whether it runs (value 1).");
        for (size_t i = 0; i < s->n_all; i++) {
                put_sample(t, "numapin_container_info", s->all[i]->labels);
                put_bytes(t, ",", 1);
                put_str(t, s->all[i]->info);
                put_str(t, s->all[i]->exited_at ? ",state=\"exited\"} 1\n" : ",state=\"running\"} 1\n");
        }

        family(t, "numapin_container_exited_timestamp_seconds", "gauge",
               "When an exited container exited; its final counters stay for metrics_exited_grace_seconds.");
        for (size_t i = 0; i < s->n_all; i++)
                if (s->all[i]->exited_at)
                        put(t, "numapin_container_exited_timestamp_seconds{%s} %lld\n", s->all[i]->labels,
                            (long long)s->all[i]->exited_at);

        family(t, "numapin_container_cpu_seconds_total", "counter",
               "Time the container's tasks ran on the CPUs of a NUMA node (nodes with none are left out).");
        for (size_t i = 0; i < s->n_all; i++) {
                const struct entry *e = s->all[i];

                for (unsigned int n = 0; e->counted && n < e->n_nodes; n++)
                        if (e->nodes[n].cpu_ns) {
                                put_sample(t, "numapin_container_cpu_seconds_total", e->labels);
                                put_node(t, n);
                                put_bytes(t, "} ", 2);
                                put_seconds(t, e->nodes[n].cpu_ns);
                                put_bytes(t, "\n", 1);
                        }
        }

        family(t, "numapin_container_pages_allocated_total", "counter",
               "Pages allocated from a NUMA node, by a task on a CPU of that node (local) or of another (remote).");
        for (size_t i = 0; i < s->n_all; i++) {
                const struct entry *e = s->all[i];

                for (unsigned int n = 0; e->counted && n < e->n_nodes; n++) {
                        uint64_t local = MIN(e->nodes[n].pages_local, e->nodes[n].pages);

                        if (local) {
                                put_sample(t, "numapin_container_pages_allocated_total", e->labels);
                                put_node(t, n);
                                put_str(t, ",locality=\"local\"");
                                put_value(t, local);
                        }
                        if (e->nodes[n].pages - local) {
                                put_sample(t, "numapin_container_pages_allocated_total", e->labels);
                                put_node(t, n);
                                put_str(t, ",locality=\"remote\"");
                                put_value(t, e->nodes[n].pages - local);
                        }
                }
        }

        static const struct {
                const char *name, *help;
                size_t offset;
        } counters[] = {
                { "numapin_container_pages_outside_allowed_total",
                  "Pages allocated from a NUMA node outside the container's allowed memory nodes.",
                  offsetof(struct np_bpf_slot_counters, pages_outside) },
                { "numapin_container_migrations_total", "Task migrations of the container's tasks.",
                  offsetof(struct np_bpf_slot_counters, migrations) },
                { "numapin_container_cross_node_migrations_total",
                  "Task migrations of the container's tasks to a CPU of another NUMA node.",
                  offsetof(struct np_bpf_slot_counters, migrations_cross) },
                { "numapin_container_numa_balancing_pages_migrated_total",
                  "The container's pages moved by automatic NUMA balancing.",
                  offsetof(struct np_bpf_slot_counters, numa_balancing_pages) },
        };
        for (size_t c = 0; c < ARRAY_SIZE(counters); c++) {
                family(t, counters[c].name, "counter", counters[c].help);
                for (size_t i = 0; i < s->n_all; i++)
                        if (s->all[i]->counted) {
                                put_sample(t, counters[c].name, s->all[i]->labels);
                                put_value(t,
                                          *(const uint64_t *)((const char *)&s->all[i]->counters + counters[c].offset));
                        }
        }

        family(t, "numapin_container_resident_bytes", "gauge",
               "The container's resident memory on a NUMA node (memory.numa_stat anon + file) at scrape time.");
        for (size_t i = 0; i < s->n_all; i++) {
                const struct entry *e = s->all[i];

                for (unsigned int n = 0; e->resident_known && n < e->n_nodes; n++)
                        if (e->resident[n]) {
                                put_sample(t, "numapin_container_resident_bytes", e->labels);
                                put_node(t, n);
                                put_value(t, e->resident[n]);
                        }
        }

        family(t, "numapin_container_dram_accesses_total", "counter",
               "DRAM fills counted by the PMU tier, local or remote (only where it runs: numapin_monitor_pmu_available).");
        for (size_t i = 0; i < s->n_all; i++) {
                const struct entry *e = s->all[i];

                if (e->counted && e->pmu)
                        put(t,
                            "numapin_container_dram_accesses_total{%s,locality=\"local\"} %llu\n"
                            "numapin_container_dram_accesses_total{%s,locality=\"remote\"} %llu\n",
                            e->labels, (unsigned long long)e->counters.pmu_local, e->labels,
                            (unsigned long long)e->counters.pmu_remote);
        }
}

static void node_families(struct scrape *s)
{
        const struct np_topology *topo = s->topology;
        const struct np_context *context = s->m->context;
        struct np_cpulist exclusive = {}, kubelet = context->decision_config->reserved_cpus;
        _cleanup_free_ uint64_t *promised = calloc(NP_MAX_NODES, sizeof(*promised));
        struct text *t = s->t;

        if (!promised) {
                t->failed = true;
                return;
        }
        for (size_t i = 0; i < s->n_all; i++) {
                const struct entry *e = s->all[i];

                if (e->exited_at)
                        continue;
                for (size_t c = 0; c < e->n_exclusive; c++)
                        if (e->exclusive[c] < NP_CPULIST_MAX)
                                np_cpulist_set(&exclusive, e->exclusive[c]);
                for (size_t p = 0; p < e->n_promised; p++)
                        promised[e->promised[p].node] += e->promised[p].bytes;
        }
        /* the CPUs kubelet's static CPU manager gave its containers are held exclusively too */
        np_cpulist_andnot(&kubelet, &context->config.reserved_cpus);
        np_cpulist_or(&exclusive, &kubelet);

        family(t, "numapin_node_cpus", "gauge",
               "Online CPUs of a NUMA node by state: isolated (isolcpus), reserved (reserved_cpus), exclusive (held by "
               "one container), shared.");
        for (size_t i = 0; i < topo->n_nodes; i++) {
                const struct np_node *node = &topo->nodes[i];
                struct np_cpulist isolated = node->cpus, reserved = node->cpus, held = node->cpus;
                unsigned int n_isolated, n_reserved, n_held;

                np_cpulist_and(&isolated, &topo->isolated_cpus);
                np_cpulist_and(&reserved, &context->config.reserved_cpus);
                np_cpulist_andnot(&reserved, &isolated);
                np_cpulist_and(&held, &exclusive);
                np_cpulist_andnot(&held, &isolated);
                np_cpulist_andnot(&held, &reserved);
                n_isolated = np_cpulist_count(&isolated);
                n_reserved = np_cpulist_count(&reserved);
                n_held = np_cpulist_count(&held);
                put(t,
                    "numapin_node_cpus{node=\"%u\",state=\"exclusive\"} %u\n"
                    "numapin_node_cpus{node=\"%u\",state=\"shared\"} %u\n"
                    "numapin_node_cpus{node=\"%u\",state=\"reserved\"} %u\n"
                    "numapin_node_cpus{node=\"%u\",state=\"isolated\"} %u\n",
                    node->id, n_held, node->id, np_cpulist_count(&node->cpus) - n_held - n_reserved - n_isolated,
                    node->id, n_reserved, node->id, n_isolated);
        }
        family(t, "numapin_node_memory_total_bytes", "gauge", "MemTotal of a NUMA node.");
        for (size_t i = 0; i < topo->n_nodes; i++)
                put(t, "numapin_node_memory_total_bytes{node=\"%u\"} %llu\n", topo->nodes[i].id,
                    (unsigned long long)topo->nodes[i].memory_total_kb * 1024);
        family(t, "numapin_node_memory_free_bytes", "gauge", "MemFree of a NUMA node at scrape time.");
        for (size_t i = 0; i < topo->n_nodes; i++)
                put(t, "numapin_node_memory_free_bytes{node=\"%u\"} %llu\n", topo->nodes[i].id,
                    (unsigned long long)topo->nodes[i].memory_free_kb * 1024);
        family(t, "numapin_node_memory_promised_bytes", "gauge",
               "Memory limits of the containers placed on a NUMA node, as placement counts them.");
        for (size_t i = 0; i < topo->n_nodes; i++)
                put(t, "numapin_node_memory_promised_bytes{node=\"%u\"} %llu\n", topo->nodes[i].id,
                    topo->nodes[i].id < NP_MAX_NODES ? (unsigned long long)promised[topo->nodes[i].id] : 0ull);
}

static void monitor_families(struct scrape *s)
{
        struct np_metrics *m = s->m;
        struct text *t = s->t;
        char dir[PATH_MAX], reason[2 * NP_LOCALITY_REASON_MAX + 8];
        struct pinned *p = NULL;
        unsigned int watched = 0;

        if (!m->context->config.monitor)
                return; /* switched off: nothing is missing */
        if (np_monitor_dir(m->context->config.monitor_pin_dir, dir, sizeof(dir)) == 0)
                p = pinned_get(m, dir);
        /* counting reads the whole watch index (thousands of entries): at most
         * once every WATCHED_READ_NS, the figure in between is that one */
        if (p && p->monitor && (!p->watched_read_ns || np_context_now_ns() - p->watched_read_ns >= WATCHED_READ_NS)) {
                if (np_monitor_count(p->monitor, &p->watched) < 0) {
                        np_monitor_close(p->monitor);
                        p->monitor = NULL;
                }
                p->watched_read_ns = np_context_now_ns();
        }
        watched = p ? p->watched : 0;
        family(t, "numapin_monitor_up", "gauge",
               "1 when this build's eBPF locality monitor is loaded and readable (it loads with the first watched "
               "container).");
        put(t, "numapin_monitor_up %d\n", p && p->monitor ? 1 : 0);
        if (!p || !p->monitor)
                return;
        family(t, "numapin_monitor_pmu_available", "gauge",
               "1 when the PMU tier counts DRAM fills; 0 with the reason when it cannot.");
        escape(p->pmu ? "" : p->reason, reason, sizeof(reason));
        put(t, "numapin_monitor_pmu_available{reason=\"%s\"} %d\n", reason, p->pmu ? 1 : 0);
        family(t, "numapin_monitor_watched_containers", "gauge",
               "Containers the monitor counts (its watch index, read at most every 10 s).");
        put(t, "numapin_monitor_watched_containers %u\n", watched);
        family(t, "numapin_monitor_free_slots", "gauge", "Containers the monitor can still watch (monitor_slots).");
        put(t, "numapin_monitor_free_slots %u\n", p->monitor->slots > watched ? p->monitor->slots - watched : 0);
}

static void operation_families(struct scrape *s)
{
        struct np_metrics *m = s->m;
        struct np_opstats_data data = {};
        struct text *t = s->t;

        if (!m->opstats)
                (void)np_opstats_open(m->context->state_dir, false, NULL, &m->opstats);
        if (m->opstats)
                np_opstats_read(m->opstats, &data);

        family(t, "numapin_placements_total", "counter",
               "Placements by front-end and result: placed, refused (invalid or does not fit), error.");
        for (size_t src = 0; src < NP_OP_SOURCES; src++)
                for (size_t res = 0; res < NP_OP_RESULTS; res++)
                        put(t, "numapin_placements_total{source=\"%s\",result=\"%s\"} %llu\n", np_op_source_name(src),
                            np_op_result_name(res), (unsigned long long)data.placements[src][res]);

        family(t, "numapin_placement_duration_seconds", "histogram",
               "Time of one placement: the hook's whole run, the NRI plugin's CreateContainer.");
        for (size_t src = 0; src < NP_OP_SOURCES; src++) {
                uint64_t count = 0;

                for (size_t b = 0; b <= NP_OP_BUCKETS; b++) {
                        count += data.duration_buckets[src][b];
                        if (b < NP_OP_BUCKETS)
                                put(t, "numapin_placement_duration_seconds_bucket{source=\"%s\",le=\"%g\"} %llu\n",
                                    np_op_source_name(src), np_op_bucket_bounds[b], (unsigned long long)count);
                        else
                                put(t, "numapin_placement_duration_seconds_bucket{source=\"%s\",le=\"+Inf\"} %llu\n",
                                    np_op_source_name(src), (unsigned long long)count);
                }
                put(t, "numapin_placement_duration_seconds_sum{source=\"%s\"} %.9f\n", np_op_source_name(src),
                    (double)data.duration_ns_sum[src] / 1e9);
                put(t, "numapin_placement_duration_seconds_count{source=\"%s\"} %llu\n", np_op_source_name(src),
                    (unsigned long long)count);
        }

        family(t, "numapin_nri_requests_total", "counter",
               "Calls of the runtime to the NRI plugin by method and status.");
        for (size_t method = 0; method < NP_NRI_METHODS; method++)
                for (int status = 0; status < 2; status++)
                        put(t, "numapin_nri_requests_total{method=\"%s\",status=\"%s\"} %llu\n",
                            np_nri_method_name(method), status ? "error" : "ok",
                            (unsigned long long)data.nri_requests[method][status]);

        family(t, "numapin_build_info", "gauge", "The numapin build serving these metrics (value 1).");
        put(t, "numapin_build_info{version=\"%s\"} 1\n", NP_VERSION);
        family(t, "numapin_scrape_duration_seconds", "gauge", "How long the previous scrape took to render.");
        put(t, "numapin_scrape_duration_seconds %.6f\n", (double)m->last_render_ns / 1e9);
}

/* --- the renderer ---------------------------------------------------------------------- */

int np_metrics_new(const struct np_context_options *options, struct np_diag *diag, struct np_metrics **ret_metrics)
{
        struct np_context_options own = *options;
        _cleanup_metrics_ struct np_metrics *m = calloc(1, sizeof(*m));
        int r;

        if (!m)
                return -ENOMEM;
        pthread_mutex_init(&m->lock, NULL);
        m->scratch_record = malloc(sizeof(*m->scratch_record));
        m->scratch_stats = malloc(sizeof(*m->scratch_stats));
        m->scratch_usage = malloc(sizeof(*m->scratch_usage));
        if (!m->scratch_record || !m->scratch_stats || !m->scratch_usage)
                return -ENOMEM;
        /* it only looks: no topology cache written, each node's memory read at each scrape */
        own.uncached_topology = true;
        own.refresh_ns = 1;
        r = np_context_open(&own, diag, &m->context);
        if (r < 0)
                return r;
        *ret_metrics = TAKE_PTR(m);
        return 0;
}

void np_metrics_free(struct np_metrics *m)
{
        if (!m)
                return;
        cache_clear(&m->running);
        cache_clear(&m->exited);
        for (size_t i = 0; i < m->n_pinned; i++) {
                np_monitor_snapshot_clear(&m->pinned[i].snapshot);
                np_monitor_close(m->pinned[i].monitor); /* NULL: the set could not be opened */
                free(m->pinned[i].dir);
        }
        free(m->pinned);
        np_opstats_close(m->opstats);
        np_context_free(m->context);
        free(m->scratch_record);
        free(m->scratch_stats);
        free(m->scratch_usage);
        pthread_mutex_destroy(&m->lock);
        free(m);
}

void np_metrics_raise_fd_limit(void)
{
        struct rlimit limit;

        if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
                limit.rlim_cur = limit.rlim_max;
                if (setrlimit(RLIMIT_NOFILE, &limit) < 0)
                        np_log_debug("metrics: cannot raise the open files limit: %s", strerror(errno));
        }
}

const struct np_config *np_metrics_config(const struct np_metrics *m)
{
        return &m->context->config;
}

int np_metrics_set_config(struct np_metrics *m, const char *text, size_t size, const char *what, struct np_diag *diag)
{
        int r;

        /* empty: no config came (an external plugin's Configure), as NULL keeps the one loaded */
        if (text && size == 0)
                text = NULL;
        pthread_mutex_lock(&m->lock);
        r = np_context_set_config(m->context, text, size, what, diag);
        if (r == 0) {
                /* another state dir, perhaps: everything is read anew */
                cache_clear(&m->running);
                cache_clear(&m->exited);
                np_opstats_close(m->opstats);
                m->opstats = NULL;
                m->ledger_generation = 0;
        }
        pthread_mutex_unlock(&m->lock);
        return r;
}

static int render(struct np_metrics *m, struct text *t)
{
        struct scrape s = { .m = m, .t = t };
        struct np_diag diag = {};
        unsigned int max_nodes = 0;
        uint64_t generation, now;
        int r = 0;

        if (np_context_topology(m->context, &diag, &s.topology) < 0) {
                np_log_debug("metrics: no topology: %s", diag.message);
                s.topology = NULL;
        }
        if (np_context_refresh_kubelet(m->context, &diag) < 0)
                np_log_debug("metrics: %s", diag.message);
        /* the records are looked at again when the ledger changed (a thousand
         * files' stat a scrape otherwise), and every RESCAN_NS in any case */
        generation = np_ledger_generation(m->context->state_dir);
        now = np_context_now_ns();
        if (generation != m->ledger_generation || generation == 0 || now - m->records_scanned_ns >= RESCAN_NS) {
                r = scan(m, "containers", false, &m->running);
                m->ledger_generation = generation;
                m->records_scanned_ns = now;
        }
        if (r == 0)
                r = scan(m, NP_EXITED_DIR, true, &m->exited);
        if (r < 0) {
                if (r == -ENOMEM)
                        return r;
                np_log_debug("metrics: cannot read the state dir %s: %s", m->context->state_dir, strerror(-r));
        }
        for (size_t i = 0; s.topology && i < s.topology->n_nodes; i++)
                max_nodes = MAX(max_nodes, s.topology->nodes[i].id + 1);
        s.all = calloc(m->running.n + m->exited.n + 1, sizeof(*s.all));
        if (!s.all)
                return -ENOMEM;
        for (size_t i = 0; i < m->running.n; i++) {
                read_figures(m, &m->running.entries[i], max_nodes ? max_nodes : NP_BPF_MAX_NODES);
                s.all[s.n_all++] = &m->running.entries[i];
        }
        for (size_t i = 0; i < m->exited.n; i++)
                if (!cache_find(&m->running, m->exited.entries[i].file))
                        s.all[s.n_all++] = &m->exited.entries[i];

        container_families(&s);
        if (s.topology)
                node_families(&s);
        monitor_families(&s);
        operation_families(&s);
        free(s.all);
        for (size_t i = 0; i < m->n_pinned; i++) {
                np_monitor_snapshot_clear(&m->pinned[i].snapshot);
                m->pinned[i].snapshot_taken = false;
                m->pinned[i].checked = false;
        }
        return t->failed ? -ENOMEM : 0;
}

int np_metrics_render(struct np_metrics *m, char **ret_text, size_t *ret_size)
{
        uint64_t started = np_context_now_ns();
        struct text t;
        int r;

        pthread_mutex_lock(&m->lock);
        if (!text_init(&t, m->last_text_len)) {
                pthread_mutex_unlock(&m->lock);
                return -ENOMEM;
        }
        r = render(m, &t);
        m->last_render_ns = np_context_now_ns() - started;
        if (r >= 0)
                m->last_text_len = t.len;
        pthread_mutex_unlock(&m->lock);
        if (r < 0) {
                np_metrics_text_free(t.buf);
                return r;
        }
        *ret_text = t.buf;
        *ret_size = t.len;
        return 0;
}
