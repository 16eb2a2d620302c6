// SPDX-License-Identifier: GPL-2.0 OR MIT
/* numapin's NUMA locality monitor: one shared set of programs for the whole node.
 * A container is an entry in `watch_index` (its cgroup id -> a slot; see locality.h);
 * every event costs one lookup of the current task's cgroup id, however many
 * containers are watched, and only events of watched containers are counted, in
 * a per-CPU array indexed by slot (slot_stats, one element a container).
 *
 * Each signal has a tp_btf program and a classic tracepoint program; user space
 * loads the one the running kernel supports (core/monitor-load.c). Kernel types are
 * declared here with only the fields used, relocated by CO-RE. */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "locality.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* --- the kernel's types, the fields numapin reads (CO-RE) ------------------------- */
struct kernfs_node {
        __u64 id;
} __attribute__((preserve_access_index));

struct cgroup_root {
        int hierarchy_id;
} __attribute__((preserve_access_index));

struct cgroup {
        struct kernfs_node *kn;
        struct cgroup_root *root;
} __attribute__((preserve_access_index));

struct cgroup_subsys_state {
        struct cgroup *cgroup;
} __attribute__((preserve_access_index));

struct css_set {
        struct cgroup_subsys_state *subsys[1]; /* the real length comes from CO-RE */
        struct cgroup *dfl_cgrp;
} __attribute__((preserve_access_index));

struct thread_info {
        __u32 cpu;
} __attribute__((preserve_access_index));

/* at sched_switch the scheduler has already brought the outgoing task's runtime up
 * to date: the stint that ends is sum_exec_runtime - prev_sum_exec_runtime */
struct sched_entity {
        __u64 sum_exec_runtime;
        __u64 prev_sum_exec_runtime;
} __attribute__((preserve_access_index));

#define PF_EXITING 0x00000004 /* include/linux/sched.h: getting shut down */

struct task_struct {
        struct thread_info thread_info;
        unsigned int flags;
        struct sched_entity se;
        unsigned int cpu; /* before 5.16 the cpu was here */
        int pid;
        struct css_set *cgroups;
} __attribute__((preserve_access_index));

/* page->flags: unsigned long, or memdesc_flags_t { unsigned long f; } since 6.18 */
struct page___ulong {
        unsigned long flags;
} __attribute__((preserve_access_index));

typedef struct {
        unsigned long f;
} memdesc_flags_t;

struct page___memdesc {
        memdesc_flags_t flags;
} __attribute__((preserve_access_index));

enum cgroup_subsys_id {
        cpuset_cgrp_id = 0,
};

enum migrate_reason {
        MR_NUMA_MISPLACED = 5,
};

struct trace_event_raw_sched_migrate_task {
        int pid;
        int orig_cpu;
        int dest_cpu;
} __attribute__((preserve_access_index));

struct trace_event_raw_cgroup {
        int root; /* the hierarchy id */
        __u64 id;
} __attribute__((preserve_access_index));

struct trace_event_raw_mm_page_alloc {
        unsigned long pfn;
        unsigned int order;
} __attribute__((preserve_access_index));

struct trace_event_raw_mm_migrate_pages {
        unsigned long succeeded;
        int reason;
} __attribute__((preserve_access_index));

/* --- set by user space before loading -------------------------------------------- */
const volatile bool key_cgroup_v1 = false;    /* key: the v1 cpuset cgroup, not the v2 one */
const volatile int key_hierarchy = -1;        /* the hierarchy id of the key's cgroups; -1: unknown */
const volatile __u32 node_stride = 1;         /* node ids in a slot_stats value */
const volatile __u32 page_node_shift = 0;     /* tp_btf: node = page->flags >> shift */
const volatile __u32 block_pfn_shift = 15;    /* classic: memory block = pfn >> shift */
const volatile bool track_task_slots = false; /* the classic sched_migrate_task is loaded */
const volatile bool pmu_enabled = false;      /* the PMU tier's per-CPU events are there */

/* --- the maps (user space sizes them before loading) ----------------------------- */
const volatile __u64 index_mask = 0; /* watch_index has index_mask + 1 entries */

struct {
        __uint(type, BPF_MAP_TYPE_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, struct np_bpf_index_entry);
} watch_index SEC(".maps");

/* the ids whose watch_index entry another id holds, each with an entry of its own */
struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, 1024);
        __type(key, __u64);
        __type(value, struct np_bpf_index_entry);
} watched SEC(".maps");

/* struct np_bpf_slot_stats cut to node_stride nodes: sized by user space, so
 * declared by size, not by type (the verifier checks every access against the
 * size the map was created with) */
struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, 1024);
        __uint(key_size, sizeof(__u32));
        __uint(value_size, sizeof(struct np_bpf_slot_stats));
} slot_stats SEC(".maps");

/* cpu -> node, from sysfs (a test may set another table) */
struct {
        __uint(type, BPF_MAP_TYPE_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, __u32);
} cpu_node SEC(".maps");

/* memory block (pfn >> block_pfn_shift) -> node, for the classic mm_page_alloc */
struct {
        __uint(type, BPF_MAP_TYPE_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, __u32);
} block_node SEC(".maps");

/* pid -> cgroup and slot of watched tasks seen switching out, for the classic
 * sched_migrate_task, which names the task by pid only */
struct task_watch {
        __u64 cgroup_id;
        __u32 slot;
};

struct {
        __uint(type, BPF_MAP_TYPE_LRU_HASH);
        __uint(max_entries, 16384);
        __type(key, __u32);
        __type(value, struct task_watch);
} task_slot SEC(".maps");

/* PMU tier: per CPU, a local and a remote DRAM event (index cpu * 2 + 0/1), and
 * their values at the last context switch */
struct {
        __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
        __uint(max_entries, 2);
        __type(key, __u32);
        __type(value, __u32);
} pmu_events SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, 2);
        __type(key, __u32);
        __type(value, __u64);
} pmu_last SEC(".maps");

/* read by user space only */
struct {
        __uint(type, BPF_MAP_TYPE_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, struct np_bpf_pmu_info);
} pmu_info SEC(".maps");

/* --- helpers ----------------------------------------------------------------------- */
#define NODE_UNKNOWN 0xffffffffu

/* The cgroup id of a task: in tp_btf programs (`btf`) read directly through the
 * kernel's BTF-typed pointers, in classic ones with probe reads. */
static __always_inline __u64 task_cgroup_id(struct task_struct *task, bool btf)
{
        struct cgroup_subsys_state *css;

        if (btf) {
                if (!key_cgroup_v1)
                        return task->cgroups->dfl_cgrp->kn->id;
                return task->cgroups->subsys[bpf_core_enum_value(enum cgroup_subsys_id, cpuset_cgrp_id)]
                        ->cgroup->kn->id;
        }
        if (!key_cgroup_v1)
                return BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
        /* subsys[cpuset_cgrp_id], the index relocated to the running kernel's */
        bpf_probe_read_kernel(&css, sizeof(css),
                              (void *)BPF_CORE_READ(task, cgroups) + bpf_core_field_offset(struct css_set, subsys) +
                                      bpf_core_enum_value(enum cgroup_subsys_id, cpuset_cgrp_id) * sizeof(void *));
        return BPF_CORE_READ(css, cgroup, kn, id);
}

/* --- the cgroup ids of tasks, cached per CPU (tp_btf programs) ----------------------
 * A task's cgroup id is five dependent loads away (its css_set, the cgroup or its
 * cpuset css, the cgroup, its kernfs node, the id): on mm_page_alloc, between events
 * of which the kernel clears a page, finding it cost 46 ns an event (make bench).
 * Each CPU keeps the ids it resolved last, by the object that stands for the cgroup
 * while it lives: the cgroup (v2) or its cpuset css (v1), two loads from the task.
 * Such an object is freed only after its cgroup is removed, and no cgroup can be
 * created meanwhile (both hold cgroup_mutex): so the cgroup_rmdir programs bump
 * cgroup_epoch, and an entry of an older epoch is stale. An exiting task can still
 * point at the object of a cgroup removed before the bump, so its id is not cached.
 * cgroup_epoch is 0, and nothing is cached, until user space has attached those
 * programs. */
#define KEY_CACHE_WAYS 8 /* a power of two */

struct key_cache_entry {
        __u64 object; /* the cgroup or its css, as a distance from the cache (below) */
        __u64 epoch;
        __u64 cgroup_id;
};

struct key_cache {
        struct key_cache_entry ways[KEY_CACHE_WAYS];
};

struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, struct key_cache);
} key_cache SEC(".maps");

__u64 cgroup_epoch = 0;

/* The cgroup id of `task` (BTF-typed), from this CPU's cache when it can be. */
static __always_inline __u64 cached_cgroup_id(struct task_struct *task)
{
        __u64 epoch = cgroup_epoch, object, id;
        struct cgroup_subsys_state *css = NULL;
        struct cgroup *cgroup = NULL;
        struct key_cache_entry *way;
        struct key_cache *cache;
        struct css_set *cset;
        __u32 zero = 0;

        cache = bpf_map_lookup_elem(&key_cache, &zero);
        if (!cache || !epoch)
                return task_cgroup_id(task, true);
        /* The object and the id come from one read of the task's css_set: a task
         * moved meanwhile must not leave one cgroup's object with another's id.
         * The object's place as a number: the verifier lets a program shift or store a
         * pointer only as the difference of two pointers, here the object's distance
         * from this CPU's cache, which names the object as well (the cache is per CPU) */
        cset = task->cgroups;
        if (!key_cgroup_v1) {
                cgroup = cset->dfl_cgrp;
                object = (__u64)cgroup - (__u64)cache;
        } else {
                css = cset->subsys[bpf_core_enum_value(enum cgroup_subsys_id, cpuset_cgrp_id)];
                object = (__u64)css - (__u64)cache;
        }
        /* the objects are slab-allocated, at least 64 bytes apart */
        way = &cache->ways[(object >> 6 ^ object >> 12) & (KEY_CACHE_WAYS - 1)];
        if (way->object == object && way->epoch == epoch)
                return way->cgroup_id;
        id = !key_cgroup_v1 ? cgroup->kn->id : css->cgroup->kn->id;
        if (task->flags & PF_EXITING)
                return id;
        way->object = object;
        way->epoch = epoch;
        way->cgroup_id = id;
        return id;
}

/* The entry of a cgroup id, NULL when it is not watched. */
static __always_inline struct np_bpf_index_entry *watch_of(__u64 id)
{
        __u32 index = (__u32)(id & index_mask);
        struct np_bpf_index_entry *e = bpf_map_lookup_elem(&watch_index, &index);

        if (!e)
                return NULL;
        if (e->cgroup_id == id)
                return e;
        return e->overflow ? bpf_map_lookup_elem(&watched, &id) : NULL;
}

/* --- the running task's cgroup id, per CPU --------------------------------------------
 * The tp_btf sched_switch program has the task that runs next on its CPU: it leaves
 * that task and its cgroup id in `running`, and the programs that run on the CPU
 * until its next switch find the id there instead of following the task to its
 * cgroup. A program is not sure to see every switch, though: the unit tests, which
 * attach and detach sets of programs all the time, had 0.5% of events run in another
 * task than the one a CPU's entry named. So every RUNNING_CHECK_EVERY-th event of a
 * CPU checks the entry against the current task (a helper call, 8 ns where the CPU's
 * return thunk mitigates SRSO: too dear for every event) and finds the cgroup anew
 * when another task runs. After a missed switch, at most RUNNING_CHECK_EVERY - 1
 * events go to the cgroup of the task that ran before. A task moved to another
 * cgroup while it runs makes its entry stale: the cgroup_attach_task and
 * cgroup_transfer_tasks programs, which run after each move, bump running_epoch, and
 * an entry of an older epoch is not used. running_epoch is 0, and no entry is used,
 * until user space has attached those programs. */
#define RUNNING_CHECK_EVERY 16

struct running {
        __u64 task; /* the task, as a distance from this entry (see cached_cgroup_id) */
        __u64 epoch;
        __u64 cgroup_id;
        __u64 unchecked; /* events since the entry was set or checked */
};

struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, struct running);
} running SEC(".maps");

__u64 running_epoch = 0;

/* This CPU's entry, or NULL while the entries are not in use. */
static __always_inline struct running *running_entry(__u64 epoch)
{
        __u32 zero = 0;

        return epoch ? bpf_map_lookup_elem(&running, &zero) : NULL;
}

/* `entry` (of running_epoch `epoch`) holds the cgroup id of `task` (BTF-typed). */
static __always_inline bool running_holds(const struct running *entry, __u64 epoch, struct task_struct *task)
{
        return entry && entry->epoch == epoch && entry->task == (__u64)task - (__u64)entry;
}

/* `task` (BTF-typed) runs on this CPU: its cgroup id, which goes into `entry`
 * unless that is NULL. `epoch` is running_epoch as read before the id. The id is
 * found without key_cache: sched_switch looking up every incoming task there evicted
 * the ids sched_migrate_task finds in it (1.30x an empty program, then 1.54x). */
static __always_inline __u64 set_running(struct running *entry, __u64 epoch, struct task_struct *task)
{
        __u64 id = task_cgroup_id(task, true);

        if (entry) {
                entry->task = (__u64)task - (__u64)entry;
                entry->epoch = epoch;
                entry->cgroup_id = id;
                entry->unchecked = 0;
        }
        return id;
}

/* The current task's cgroup id. */
static __always_inline __u64 current_cgroup_id(bool btf)
{
        struct task_struct *task;
        struct running *entry;
        __u64 epoch;

        if (!btf) {
                if (!key_cgroup_v1)
                        return bpf_get_current_cgroup_id();
                return task_cgroup_id((struct task_struct *)bpf_get_current_task(), false);
        }
        epoch = running_epoch;
        entry = running_entry(epoch);
        if (entry && entry->epoch == epoch && ++entry->unchecked % RUNNING_CHECK_EVERY)
                return entry->cgroup_id;
        task = bpf_get_current_task_btf();
        if (running_holds(entry, epoch, task)) {
                entry->unchecked = 0;
                return entry->cgroup_id;
        }
        return set_running(entry, epoch, task);
}

/* The current task's cgroup id and its entry, NULL when it is not watched. */
static __always_inline struct np_bpf_index_entry *current_watch(bool btf, __u64 *ret_id)
{
        *ret_id = current_cgroup_id(btf);
        return watch_of(*ret_id);
}

static __always_inline __u32 node_of_cpu(__u32 cpu)
{
        __u32 *node = bpf_map_lookup_elem(&cpu_node, &cpu);

        return node ? *node : NODE_UNKNOWN;
}

static __always_inline struct np_bpf_slot_stats *stats_of(const struct np_bpf_index_entry *e)
{
        return bpf_map_lookup_elem(&slot_stats, &e->slot);
}

/* NULL for a node id the value has no room for. The check also bounds the
 * access for the verifier (node_stride is a constant of the loaded program). It
 * holds only when the compiler compares and indexes with the same 64-bit
 * register, after the comparison: hence a 64-bit node and the barrier. */
static __always_inline struct np_bpf_node_counters *node_counters(struct np_bpf_slot_stats *stats, __u64 node)
{
        if (node >= node_stride)
                return NULL;
        barrier_var(node); /* the address is taken after the check, not before */
        return &stats->nodes[node];
}

/* --- on-CPU time per node, and the PMU tier ---------------------------------------- */
static __always_inline void pmu_credit(__u32 cpu, struct np_bpf_slot_counters *counters)
{
        struct bpf_perf_event_value value;
        __u32 i;

        for (i = 0; i < 2; i++) {
                __u32 last_key = i;
                __u64 *last = bpf_map_lookup_elem(&pmu_last, &last_key);

                /* -ENOENT when the PMU tier is unavailable: nothing to credit */
                if (!last || bpf_perf_event_read_value(&pmu_events, cpu * 2 + i, &value, sizeof(value)))
                        continue;
                if (counters && *last && value.counter > *last) {
                        if (i == 0)
                                counters->pmu_local += value.counter - *last;
                        else
                                counters->pmu_remote += value.counter - *last;
                }
                *last = value.counter;
        }
}

/* `prev`, of cgroup `id`, leaves its CPU. */
static __always_inline void on_switch(struct task_struct *prev, __u32 prev_pid, __u64 id, bool btf)
{
        struct np_bpf_index_entry *e = watch_of(id);
        struct np_bpf_slot_stats *stats = NULL;
        struct np_bpf_node_counters *nc;
        __u64 ran;
        __u32 cpu;

        if (!e && !pmu_enabled)
                return; /* the common case: an unwatched task */
        cpu = bpf_get_smp_processor_id();
        if (e && (stats = stats_of(e))) {
                if (btf)
                        ran = prev->se.sum_exec_runtime - prev->se.prev_sum_exec_runtime;
                else
                        ran = BPF_CORE_READ(prev, se.sum_exec_runtime) - BPF_CORE_READ(prev, se.prev_sum_exec_runtime);
                nc = node_counters(stats, node_of_cpu(cpu));
                if (nc && ran < 60ULL * 1000000000ULL) /* a stint longer than a minute is a torn read */
                        nc->cpu_ns += ran;
                if (track_task_slots) {
                        struct task_watch w = { .cgroup_id = id, .slot = e->slot };

                        bpf_map_update_elem(&task_slot, &prev_pid, &w, BPF_ANY);
                }
        }
        if (pmu_enabled)
                pmu_credit(cpu, stats ? &stats->counters : NULL);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
        __u64 epoch = running_epoch, id;
        struct running *entry = running_entry(epoch);

        /* prev's id is in the entry when this CPU's last switch brought prev in, else it
         * comes straight off the BTF-typed argument, without a helper call */
        if (running_holds(entry, epoch, prev))
                id = entry->cgroup_id;
        else
                id = cached_cgroup_id(prev);
        /* the pid is read only where the classic sched_migrate_task needs it */
        on_switch(prev, track_task_slots ? prev->pid : 0, id, true);
        set_running(entry, epoch, next);
        return 0;
}

struct trace_event_raw_sched_switch {
        int prev_pid;
} __attribute__((preserve_access_index));

SEC("tracepoint/sched/sched_switch")
int switch_classic(struct trace_event_raw_sched_switch *ctx)
{
        on_switch((struct task_struct *)bpf_get_current_task(), ctx->prev_pid, current_cgroup_id(false), false);
        return 0;
}

/* --- pages allocated per node: local, remote, outside the allowed nodes ------------ */
static __always_inline void on_page_alloc(const struct np_bpf_index_entry *e, __u32 page_node, unsigned int order)
{
        struct np_bpf_slot_stats *stats = stats_of(e);
        struct np_bpf_node_counters *nc;
        __u64 pages = 1ULL << (order & 31);

        if (!stats)
                return;
        nc = node_counters(stats, page_node);
        if (!nc) {
                stats->counters.pages_unknown_node += pages;
                return;
        }
        nc->pages += pages;
        if (node_of_cpu(bpf_get_smp_processor_id()) == page_node)
                nc->pages_local += pages;
        /* page_node < node_stride <= NP_BPF_MAX_NODES: the bits of one word */
        _Static_assert(NP_BPF_MAX_NODES == 64, "allowed[] is one word");
        if (!(e->allowed[0] & (1ULL << (page_node % 64))))
                stats->counters.pages_outside += pages;
}

SEC("tp_btf/mm_page_alloc")
int BPF_PROG(page_alloc_btf, struct page___ulong *page, unsigned int order)
{
        struct np_bpf_index_entry *e;
        unsigned long flags;
        __u64 id;

        if (!page)
                return 0;
        e = current_watch(true, &id);
        if (!e)
                return 0;
        /* a BTF-typed argument: read directly, no probe read */
        if (bpf_core_type_exists(memdesc_flags_t))
                flags = ((struct page___memdesc *)page)->flags.f;
        else
                flags = page->flags;
        on_page_alloc(e, page_node_shift ? (__u32)(flags >> (page_node_shift & 63)) : NODE_UNKNOWN, order);
        return 0;
}

SEC("tracepoint/kmem/mm_page_alloc")
int page_alloc_classic(struct trace_event_raw_mm_page_alloc *ctx)
{
        unsigned long pfn = ctx->pfn;
        struct np_bpf_index_entry *e;
        __u32 block, *node;
        __u64 id;

        if (pfn == ~0UL)
                return 0;
        e = current_watch(false, &id);
        if (!e)
                return 0;
        block = (__u32)(pfn >> (block_pfn_shift & 63));
        node = bpf_map_lookup_elem(&block_node, &block);
        on_page_alloc(e, node ? *node : NODE_UNKNOWN, ctx->order);
        return 0;
}

/* --- task migrations, and those that cross nodes ------------------------------------ */
static __always_inline void on_migrate(const struct np_bpf_index_entry *e, __u32 orig_cpu, __u32 dest_cpu)
{
        struct np_bpf_slot_stats *stats;

        if (!e || !(stats = stats_of(e)))
                return;
        stats->counters.migrations++;
        if (node_of_cpu(orig_cpu) != node_of_cpu(dest_cpu))
                stats->counters.migrations_cross++;
}

SEC("tp_btf/sched_migrate_task")
int BPF_PROG(migrate_btf, struct task_struct *p, int dest_cpu)
{
        __u64 id = cached_cgroup_id(p);
        __u32 orig_cpu;

        if (bpf_core_field_exists(p->thread_info.cpu))
                orig_cpu = p->thread_info.cpu;
        else
                orig_cpu = p->cpu;
        on_migrate(watch_of(id), orig_cpu, dest_cpu);
        return 0;
}

SEC("tracepoint/sched/sched_migrate_task")
int migrate_classic(struct trace_event_raw_sched_migrate_task *ctx)
{
        __u32 pid = ctx->pid;
        struct task_watch *w = bpf_map_lookup_elem(&task_slot, &pid);
        struct np_bpf_index_entry *e;

        /* the task's cgroup as last seen, counted only while it is still watched
         * in the same slot (unwatched since, or a reused pid: not counted) */
        if (!w)
                return 0;
        e = watch_of(w->cgroup_id);
        if (e && e->slot == w->slot)
                on_migrate(e, ctx->orig_cpu, ctx->dest_cpu);
        return 0;
}

/* --- what makes the cached ids stale, and a watched cgroup removed ------------------
 * A cgroup removed: the cached ids of older cgroup epochs. A task moved to another
 * cgroup (cgroup_attach_task, and cgroup_transfer_tasks of cgroup v1): the running
 * entries of older running epochs. Each tracepoint has a tp_btf and a classic program. */
static __always_inline void bump(__u64 *epoch)
{
        if (*epoch)
                __sync_fetch_and_add(epoch, 1);
}

/* A removed cgroup's id is never handed out again, so its key only keeps the set
 * counted as watching a container: where its release never comes (a hook killed
 * before the container's record was written, a state dir lost), the set would never
 * be retired, and its programs would run at every event for ever. The key goes; its
 * slot keeps the counters for the release, which reads them by slot. Ids are per
 * hierarchy: only a removal in the keys' own one counts. */
static __always_inline void forget_removed(int hierarchy, __u64 id)
{
        __u32 index = (__u32)(id & index_mask);
        struct np_bpf_index_entry *e;

        if (hierarchy != key_hierarchy || !id)
                return;
        e = bpf_map_lookup_elem(&watch_index, &index);
        if (!e)
                return;
        if (e->cgroup_id == id)
                e->cgroup_id = 0; /* the rest stays: `overflow` speaks for other ids */
        else if (e->overflow)
                bpf_map_delete_elem(&watched, &id);
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(rmdir_btf, struct cgroup *cgroup)
{
        bump(&cgroup_epoch);
        forget_removed(cgroup->root->hierarchy_id, cgroup->kn->id);
        return 0;
}

SEC("tracepoint/cgroup/cgroup_rmdir")
int rmdir_classic(struct trace_event_raw_cgroup *ctx)
{
        bump(&cgroup_epoch);
        forget_removed(ctx->root, ctx->id);
        return 0;
}

#define BUMP_ON(tracepoint, name, epoch)                                                                               \
        SEC("tp_btf/" #tracepoint)                                                                                     \
        int name##_btf(__u64 *ctx)                                                                                     \
        {                                                                                                              \
                bump(&epoch);                                                                                          \
                return 0;                                                                                              \
        }                                                                                                              \
        SEC("tracepoint/cgroup/" #tracepoint)                                                                          \
        int name##_classic(void *ctx)                                                                                  \
        {                                                                                                              \
                bump(&epoch);                                                                                          \
                return 0;                                                                                              \
        }
BUMP_ON(cgroup_attach_task, attach, running_epoch)
BUMP_ON(cgroup_transfer_tasks, transfer, running_epoch)

/* --- NUMA balancing: pages moved because they were on the wrong node ---------------- */
static __always_inline void on_migrate_pages(unsigned long succeeded, int reason)
{
        struct np_bpf_slot_stats *stats;
        struct np_bpf_index_entry *e;
        __u64 id;

        if (reason != bpf_core_enum_value(enum migrate_reason, MR_NUMA_MISPLACED))
                return;
        e = current_watch(false, &id);
        if (e && (stats = stats_of(e)))
                stats->counters.numa_balancing_pages += succeeded;
}

/* The tracepoint's arguments grew over kernel versions (reason is the 7th on 6.1,
 * the 8th on 6.18): one program per position, user space loads the one that
 * matches the running kernel's BTF. */
#define MIGRATE_PAGES_BTF(n)                                                                                           \
        SEC("tp_btf/mm_migrate_pages")                                                                                 \
        int migrate_pages_btf##n(__u64 *ctx)                                                                           \
        {                                                                                                              \
                on_migrate_pages(ctx[0], (int)ctx[n]);                                                                 \
                return 0;                                                                                              \
        }
MIGRATE_PAGES_BTF(6)
MIGRATE_PAGES_BTF(7)
MIGRATE_PAGES_BTF(8)

SEC("tracepoint/migrate/mm_migrate_pages")
int migrate_pages_classic(struct trace_event_raw_mm_migrate_pages *ctx)
{
        on_migrate_pages(ctx->succeeded, ctx->reason);
        return 0;
}
