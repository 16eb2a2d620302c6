// SPDX-License-Identifier: GPL-2.0 OR MIT
/* The baseline of the locality monitor's cost per event (tests/bench/bench_bpf.c):
 * programs that only return 0, on the tracepoints bpf/locality.bpf.c uses, in both
 * flavours and under the same names as numapin's. The bench loads, for each
 * tracepoint, the flavour the monitor loaded, so the two measure the same hook. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

SEC("tp_btf/sched_switch")
int switch_btf(void *ctx)
{
        return 0;
}

SEC("tracepoint/sched/sched_switch")
int switch_classic(void *ctx)
{
        return 0;
}

SEC("tp_btf/mm_page_alloc")
int page_alloc_btf(void *ctx)
{
        return 0;
}

SEC("tracepoint/kmem/mm_page_alloc")
int page_alloc_classic(void *ctx)
{
        return 0;
}

SEC("tp_btf/sched_migrate_task")
int migrate_btf(void *ctx)
{
        return 0;
}

SEC("tracepoint/sched/sched_migrate_task")
int migrate_classic(void *ctx)
{
        return 0;
}

SEC("tp_btf/mm_migrate_pages")
int migrate_pages_btf(void *ctx)
{
        return 0;
}

SEC("tracepoint/migrate/mm_migrate_pages")
int migrate_pages_classic(void *ctx)
{
        return 0;
}
