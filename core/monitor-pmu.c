// SPDX-License-Identifier: MIT
/* The PMU tier of the locality monitor: which DRAM fill events count local and
 * remote accesses on this CPU (numatop's choice), whether they open here, and the
 * detached process that holds them in the pinned set's perf event array. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "fileio.h"
#include "macro.h"
#include "monitor-internal.h"

/* The local and remote DRAM fill events of this CPU (numatop's choice of events),
 * or -EOPNOTSUPP with the reason. NUMAPIN_PMU=software stands in two software
 * events, to test the plumbing on machines without a PMU. */
static int pmu_events_of_cpu(struct perf_event_attr *local, struct perf_event_attr *remote, char *text, size_t size)
{
        const char *e = getenv("NUMAPIN_PMU");
        char line[256], vendor[64] = "";
        unsigned int family = 0;
        FILE *f;
        int fd;

        *local = (struct perf_event_attr){ .size = sizeof(*local), .exclude_hv = 1 };
        *remote = *local;
        if (e && strcmp(e, "software") == 0) {
                local->type = remote->type = PERF_TYPE_SOFTWARE;
                local->config = PERF_COUNT_SW_CPU_CLOCK;
                remote->config = PERF_COUNT_SW_PAGE_FAULTS;
                snprintf(text, size, "software stand-ins: cpu-clock as local, page-faults as remote (NUMAPIN_PMU)");
                return 0;
        }
        if (access("/sys/bus/event_source/devices/cpu", F_OK) < 0) {
                snprintf(text, size, "this machine has no CPU PMU");
                return -EOPNOTSUPP;
        }
        fd = np_open_regular_at(AT_FDCWD, "/proc/cpuinfo", O_RDONLY);
        f = fd >= 0 ? fdopen(fd, "re") : NULL;
        if (fd >= 0 && !f)
                close(fd);
        while (f && fgets(line, sizeof(line), f) && (!vendor[0] || !family)) {
                sscanf(line, "vendor_id : %63s", vendor);
                sscanf(line, "cpu family : %u", &family);
        }
        if (f)
                fclose(f);
        local->type = remote->type = PERF_TYPE_RAW;
        if (strcmp(vendor, "GenuineIntel") == 0) {
                local->config = 0x01d3;  /* MEM_LOAD_L3_MISS_RETIRED.LOCAL_DRAM */
                remote->config = 0x02d3; /* .REMOTE_DRAM */
                snprintf(text, size, "MEM_LOAD_L3_MISS_RETIRED.LOCAL_DRAM/REMOTE_DRAM");
        } else if (strcmp(vendor, "AuthenticAMD") == 0 && family >= 0x17) {
                /* fills from DRAM of the same node (0x08) or another one (0x40) */
                local->config = family >= 0x19 ? 0x0844 : 0x0843;
                remote->config = family >= 0x19 ? 0x4044 : 0x4043;
                snprintf(text, size, "ls_%s_fills_from_sys near/far DRAM", family >= 0x19 ? "any" : "dmnd");
        } else {
                snprintf(text, size, "no local/remote DRAM events known for this CPU (%s family %u)", vendor, family);
                return -EOPNOTSUPP;
        }
        return 0;
}

static int open_counter(struct perf_event_attr *attr, int cpu)
{
        return (int)syscall(SYS_perf_event_open, attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

bool np_monitor_pmu_probe(struct np_monitor_pmu_events *events, struct np_bpf_pmu_info *info)
{
        int fd_local, fd_remote;

        memset(info, 0, sizeof(*info));
        if (pmu_events_of_cpu(&events->local, &events->remote, info->text, sizeof(info->text)) < 0)
                return false;
        fd_local = open_counter(&events->local, 0);
        fd_remote = fd_local >= 0 ? open_counter(&events->remote, 0) : -1;
        if (fd_local < 0 || fd_remote < 0) {
                snprintf(info->text, sizeof(info->text), "the DRAM events do not open here: %s", strerror(errno));
                if (fd_local >= 0)
                        close(fd_local);
                return false;
        }
        close(fd_local);
        close(fd_remote);
        return true;
}

/* The PMU tier's events stay in the perf event array only while the process that
 * put them there keeps its map open: a detached holder process does, until the
 * pinned set is removed. */
int np_monitor_pmu_start_holder(const char *dir, int events_fd, const struct np_monitor_pmu_events *events,
                                unsigned int n_cpus)
{
        struct perf_event_attr local = events->local, remote = events->remote;
        char watched[PATH_MAX + 16];
        pid_t pid = fork();
        int status;

        if (pid < 0)
                return -errno;
        if (pid > 0)
                return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
        /* the child: a grandchild in its own session holds the events; the runtime
         * waits for the hook only, and the holder keeps none of its pipes */
        if (setsid() < 0 || (pid = fork()) < 0)
                _exit(1);
        if (pid > 0)
                _exit(0);
        /* nothing of the hook's: above all not its locks (the ledger's, the loader's) */
        /* the system call: musl has no close_range() wrapper */
        if (events_fd > 3)
                syscall(SYS_close_range, 3U, (unsigned int)events_fd - 1, 0U);
        syscall(SYS_close_range, (unsigned int)MAX(events_fd, 2) + 1, ~0U, 0U);
        prctl(PR_SET_NAME, "numapin-pmu");
        for (int fd = 0; fd < 3; fd++) {
                int null = open("/dev/null", O_RDWR);
                if (null >= 0 && null != fd) {
                        dup2(null, fd);
                        close(null);
                }
        }
        for (unsigned int cpu = 0; cpu < n_cpus; cpu++) {
                struct perf_event_attr *attrs[2] = { &local, &remote };

                for (__u32 k = 0; k < 2; k++) {
                        __u32 key = cpu * 2 + k;
                        int fd = open_counter(attrs[k], (int)cpu);

                        if (fd >= 0) /* offline CPUs simply have none */
                                bpf_map_update_elem(events_fd, &key, &fd, BPF_ANY);
                }
        }
        snprintf(watched, sizeof(watched), "%s/watched", dir);
        while (access(watched, F_OK) == 0)
                sleep(10);
        _exit(0);
}
