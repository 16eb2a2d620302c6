// SPDX-License-Identifier: MIT
/* The locality monitor's PMU tier (core/monitor-pmu.c): without a CPU PMU it says why,
 * never zero; with NUMAPIN_PMU=software two software events stand in for the DRAM ones,
 * so the holder process, the per-CPU event array and the crediting at context switch run
 * for real. Needs root and BPF, else skipped. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "monitor_test.h"

static void test_monitor_pmu_tier_reports_unavailable_without_a_pmu_never_zero(void **state)
{
        struct env *env = *state;
        struct np_bpf_pmu_info info;
        struct np_monitor *monitor;

        require_bpf();
        if (access("/sys/bus/event_source/devices/cpu", F_OK) == 0)
                skip(); /* a machine with a PMU: the next test covers it */
        monitor = load_monitor(env, suite.host, 8);
        assert_int_equal(np_monitor_pmu(monitor, &info), 0);
        assert_int_equal(info.live, 0);
        assert_non_null(strstr(info.text, "no CPU PMU"));
}

static void test_monitor_pmu_tier_credits_each_cpus_events_to_the_watched_task(void **state)
{
        struct env *env = *state;
        struct np_bpf_pmu_info info;
        struct np_monitor *monitor;
        struct np_locality l;
        const char *cgroup;
        uint64_t id;

        require_bpf();
        /* two software events stand in for the DRAM ones: the holder process, the
         * per-CPU event array and the crediting at sched_switch are the real ones */
        setenv("NUMAPIN_PMU", "software", 1);
        monitor = load_monitor(env, suite.host, 8);
        unsetenv("NUMAPIN_PMU");
        assert_int_equal(np_monitor_pmu(monitor, &info), 0);
        assert_int_equal(info.live, 1);
        cgroup = make_cgroup(env, "pmu", &id);
        watch(monitor, id, 2, "0");
        run_child(env, cgroup, (struct phase){ .touch_bytes = 64 * MIB, .pin_cpu = -1 });
        l = read_slot(monitor, 2);
        /* cpu-clock as "local": nanoseconds on the CPU; page-faults as "remote" */
        assert_locality(&l, l.counters.pmu_local > 1000000);
        assert_locality(&l, l.counters.pmu_remote >= pages_of(64 * MIB) / 2);
        assert_locality(&l, l.counters.pmu_remote <= pages_of(64 * MIB) * 2);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                VARIANT_TEST(test_monitor_pmu_tier_reports_unavailable_without_a_pmu_never_zero, btf),
                VARIANT_TEST(test_monitor_pmu_tier_credits_each_cpus_events_to_the_watched_task, btf),
        };

        return cmocka_run_group_tests(tests, suite_setup, suite_teardown);
}
