// SPDX-License-Identifier: MIT
/* bench: CreateContainer and RemoveContainer round trips against a baseline of
 * Ping calls the plugin does not implement (median and p99), the plugin's
 * resident memory idle and with containers held, and a Synchronize listing the
 * held containers against an empty one, one figure per line. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Synchronize calls of each kind: each of the full ones looks at every held container */
#define SYNC_RUNS 21

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

/* A container of `memory_mib` placed with policy bind; ret_running (when not NULL): the container as
 * the runtime lists it once it runs, with the cpuset given. */
static bool bench_create(struct runtime *rt, const char *id, unsigned int memory_mib, uint64_t *ret_ns,
                         struct spec *ret_running)
{
        struct spec s = spec_of(name_f("%s pod:policy.numapin.io/pod=bind memory=%u", id, memory_mib << 20));
        struct reply reply;
        struct outcome out = runtime_create(rt, &s, &reply);
        bool ok = reply_ok(&reply) && out.adjusted;

        *ret_ns = reply.ns;
        if (ok && ret_running) {
                snprintf(s.cpus, sizeof(s.cpus), "%s", out.cpus);
                snprintf(s.mems, sizeof(s.mems), "%s", out.mems);
                s.state = NRI__CONTAINER_STATE__CONTAINER_RUNNING;
                *ret_running = s;
        }
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

/* With `hold` containers held (`held`, as they run): a Synchronize listing them, the round trips of
 * run_bench() again (its arrays, `hold` long, reused), then `hold_more` held in all. */
static bool bench_held(struct runtime *rt, const struct spec *held, unsigned int hold, unsigned int hold_more,
                       uint64_t *baseline, uint64_t *create, uint64_t *removal)
{
        uint64_t sync_full[SYNC_RUNS], ns;
        struct sync_result sync;
        struct reply reply;
        bool ok = true;

        /* what a runtime sends after the plugin reconnects: every running container, each with
         * the cpuset it was given, all recorded */
        for (unsigned int i = 0; i < SYNC_RUNS && ok; i++) {
                ok = runtime_synchronize_specs(rt, held, hold, &sync);
                sync_full[i] = sync.ns;
                if (!ok)
                        note("Synchronize of %u containers: %s", hold, sync.why);
                reply_clear(&sync.last);
        }
        if (!ok)
                return false;
        print_percentiles("sync_us", sync_full, SYNC_RUNS);
        for (unsigned int i = 0; i < hold && ok; i++) {
                call_raw(rt, PLUGIN_SERVICE, "Ping", NULL, 0, &reply);
                ok = reply.err == 0 && reply.code == CODE_UNIMPLEMENTED;
                baseline[i] = reply.ns;
                reply_clear(&reply);
                ok = ok && bench_create(rt, name_f("c-%u", i), 32, &create[i], NULL) &&
                     bench_remove(rt, name_f("c-%u", i), &removal[i]);
        }
        if (!ok)
                return false;
        print_percentiles("baseline_held_us", baseline, hold);
        print_percentiles("create_held_us", create, hold);
        /* of 4 MiB each, so that they fit the fixture's memory */
        for (unsigned int i = hold; i < hold_more && ok; i++)
                ok = bench_create(rt, name_f("held-%u", i), 4, &ns, NULL);
        if (!ok)
                return false;
        runtime_idle(rt, 200);
        printf("rss_held_more_kib %ld\n", rss_kib(rt->pid));
        printf("held_more %u\n", hold_more > hold ? hold_more : hold);
        return true;
}

int run_bench(const struct options *o)
{
        unsigned int count = o->count ? o->count : 5000, hold = o->hold ? o->hold : 1000;
        size_t runs = count > hold ? count : hold;
        uint64_t *baseline = xmalloc(runs * sizeof(uint64_t)), *create = xmalloc(runs * sizeof(uint64_t));
        uint64_t *removal = xmalloc(runs * sizeof(uint64_t)), *growing = xmalloc(hold * sizeof(uint64_t));
        uint64_t sync_empty[SYNC_RUNS];
        struct spec *held = xmalloc(hold * sizeof(*held));
        struct sync_result sync;
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
        /* the baseline of a Synchronize: one that lists nothing, on the same socket */
        for (unsigned int i = 0; i < SYNC_RUNS && ok && o->hold_more; i++) {
                ok = runtime_synchronize_specs(&rt, NULL, 0, &sync);
                sync_empty[i] = sync.ns;
                reply_clear(&sync.last);
        }
        if (!ok)
                die("an empty Synchronize failed: %s", sync.why);
        print_percentiles("sync_empty_us", sync_empty, SYNC_RUNS);
        /* warm-up, then baseline and creations interleaved so that both see the same machine */
        for (unsigned int i = 0; i < 200 && ok; i++) {
                call_raw(&rt, PLUGIN_SERVICE, "Ping", NULL, 0, &reply);
                reply_clear(&reply);
                ok = bench_create(&rt, name_f("warm-%u", i), 32, &ns, NULL) &&
                     bench_remove(&rt, name_f("warm-%u", i), &ns);
        }
        for (unsigned int i = 0; i < count && ok; i++) {
                call_raw(&rt, PLUGIN_SERVICE, "Ping", NULL, 0, &reply);
                ok = reply.err == 0 && reply.code == CODE_UNIMPLEMENTED;
                baseline[i] = reply.ns;
                reply_clear(&reply);
                ok = ok && bench_create(&rt, name_f("b-%u", i), 32, &create[i], NULL) &&
                     bench_remove(&rt, name_f("b-%u", i), &removal[i]);
        }
        if (!ok)
                die("a call failed during the round trips");
        print_percentiles("baseline_us", baseline, count);
        print_percentiles("create_us", create, count);
        print_percentiles("remove_us", removal, count);
        for (unsigned int i = 0; i < hold && ok; i++)
                ok = bench_create(&rt, name_f("held-%u", i), 32, &growing[i], &held[i]);
        if (!ok)
                die("placing %u containers failed", hold);
        print_percentiles("create_growing_us", growing, hold);
        runtime_idle(&rt, 200);
        printf("rss_held_kib %ld\n", rss_kib(rt.pid));
        printf("held %u\n", hold);
        if (o->hold_more)
                ok = bench_held(&rt, held, hold, o->hold_more, baseline, create, removal);
        if (!ok)
                die("with %u containers held: a Synchronize or a round trip failed, or placing %u did",
                    hold, o->hold_more);
        plugin_stop(&rt, SIGTERM);
        runtime_clear(&rt);
        free(baseline);
        free(create);
        free(removal);
        free(growing);
        free(held);
        return 0;
}
