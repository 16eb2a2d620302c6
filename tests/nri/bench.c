// SPDX-License-Identifier: MIT
/* bench: CreateContainer and RemoveContainer round trips against a baseline of
 * Ping calls the plugin does not implement (median and p99), and the plugin's
 * resident memory idle and with containers held, one number per line. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return x < y ? -1 : x > y;
}

/* "NAME MEDIAN P99" in microseconds. */
static void print_percentiles(const char *name, uint64_t *ns, size_t n)
{
        size_t p99 = (n * 99 + 99) / 100;

        qsort(ns, n, sizeof(*ns), cmp_u64);
        printf("%s %.1f %.1f\n", name, (double)ns[n / 2] / 1000.0, (double)ns[p99 ? p99 - 1 : 0] / 1000.0);
}

/* VmRSS from /proc/PID/status in KiB, -1 when unreadable. */
static long rss_kib(pid_t pid)
{
        char path[64], line[256];
        uint64_t kib;
        long r = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (r < 0 && fgets(line, sizeof(line), f)) {
                char *value = line + 6;

                if (strncmp(line, "VmRSS:", 6) != 0)
                        continue;
                value += strspn(value, " \t");
                value[strcspn(value, " \t\n")] = '\0';
                if (parse_u64(value, LONG_MAX, &kib) == 0)
                        r = (long)kib;
        }
        fclose(f);
        return r;
}

static bool bench_create(struct runtime *rt, const char *id, uint64_t *ret_ns)
{
        struct spec s = spec_of(name_f("%s pod:policy.numapin.io/pod=bind memory=33554432", id));
        struct reply reply;
        struct outcome out = runtime_create(rt, &s, &reply);
        bool ok = reply_ok(&reply) && out.adjusted;

        *ret_ns = reply.ns;
        if (!ok)
                note("CreateContainer %s: %s", id, reply_ok(&reply) ? outcome_text(&out) : describe(&reply));
        reply_clear(&reply);
        return ok;
}

static bool bench_remove(struct runtime *rt, const char *id, uint64_t *ret_ns)
{
        struct spec s = spec_of(id);
        struct reply reply;
        bool ok;

        runtime_event(rt, NRI__EVENT__REMOVE_CONTAINER, &s, false, &reply);
        ok = reply_ok(&reply);
        *ret_ns = reply.ns;
        reply_clear(&reply);
        return ok;
}

int run_bench(const struct options *o)
{
        unsigned int count = o->count ? o->count : 5000, hold = o->hold ? o->hold : 1000;
        uint64_t *baseline = xmalloc(count * sizeof(uint64_t)), *create = xmalloc(count * sizeof(uint64_t));
        uint64_t *removal = xmalloc(count * sizeof(uint64_t)), *growing = xmalloc(hold * sizeof(uint64_t));
        struct runtime rt;
        struct reply reply;
        uint64_t ns;
        bool ok = true;

        runtime_init(&rt, o, profile_of(o->profile ? o->profile : "v0.12"), "");
        set_scope("bench: ");
        if (!runtime_start_external(&rt, NULL) || !runtime_handshake(&rt, NULL, 0))
                die("the plugin did not start (see its log)");
        runtime_idle(&rt, 200);
        printf("rss_idle_kib %ld\n", rss_kib(rt.pid));
        /* warm-up, then baseline and creations interleaved so that both see the same machine */
        for (unsigned int i = 0; i < 200 && ok; i++) {
                call_raw(&rt, PLUGIN_SERVICE, "Ping", NULL, 0, &reply);
                reply_clear(&reply);
                ok = bench_create(&rt, name_f("warm-%u", i), &ns) && bench_remove(&rt, name_f("warm-%u", i), &ns);
        }
        for (unsigned int i = 0; i < count && ok; i++) {
                call_raw(&rt, PLUGIN_SERVICE, "Ping", NULL, 0, &reply);
                ok = reply.err == 0 && reply.code == CODE_UNIMPLEMENTED;
                baseline[i] = reply.ns;
                reply_clear(&reply);
                ok = ok && bench_create(&rt, name_f("b-%u", i), &create[i]) &&
                     bench_remove(&rt, name_f("b-%u", i), &removal[i]);
        }
        if (!ok)
                die("a call failed during the round trips");
        print_percentiles("baseline_us", baseline, count);
        print_percentiles("create_us", create, count);
        print_percentiles("remove_us", removal, count);
        for (unsigned int i = 0; i < hold && ok; i++)
                ok = bench_create(&rt, name_f("held-%u", i), &growing[i]);
        if (!ok)
                die("placing %u containers failed", hold);
        print_percentiles("create_growing_us", growing, hold);
        runtime_idle(&rt, 200);
        printf("rss_held_kib %ld\n", rss_kib(rt.pid));
        printf("held %u\n", hold);
        plugin_stop(&rt, SIGTERM);
        runtime_clear(&rt);
        free(baseline);
        free(create);
        free(removal);
        free(growing);
        return 0;
}
