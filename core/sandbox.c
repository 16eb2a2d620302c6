// SPDX-License-Identifier: MIT
/* The seccomp allow-lists of numapin-hook, numapin-nri and numapin-exporter, one
 * table per profile with the path that needs each call, and their installation:
 * libseccomp compiles them at build time (the hook's then rewritten as a bitmap,
 * core/sandbox-compact.c). A call outside the list fails with EPERM: a hook
 * killed by SIGSYS half-way through its ledger or cgroup writes would leave more
 * to mend than one that fails, logs the caller's message and undoes its
 * placement. The filter also asks the kernel to log every refused call (the
 * audit log names it). */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "sandbox.h"
#ifndef NP_SANDBOX_GENERATOR
/* np_sandbox_filters[]: build() of each profile, compiled at build time by
 * build-aux/sandbox-gen.c (libseccomp takes some 400 us to compile one, a
 * quarter of the hook's run); the hook's as a bitmap */
#include "sandbox-filters.h"
#endif

/* clang-format off */
/* Every profile: the C library, memory, files through directory fds, time,
 * signals and logging (stderr, and syslog's AF_UNIX socket). */
static const char *const base_calls[] = {
        /* memory: malloc, json-c, the metrics text's own mapping, opstats' shared counters */
        "brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
        /* files: config, sysfs, cgroup, the state dir (ledger, records, caches) */
        "openat", "open", "close", "close_range", "read", "pread64", "readv", "write", "pwrite64", "writev", "pwritev",
        "lseek", "fstat", "newfstatat", "statx", "stat", "lstat", "fstatfs", "statfs", "getdents64", "fcntl", "ioctl",
        "faccessat", "faccessat2", "access", "readlinkat", "readlink", "getcwd",
        /* the state dir: records written to a temporary name and renamed, locks, the topology cache */
        "flock", "ftruncate", "fallocate", "fsync", "fdatasync", "renameat", "renameat2", "rename", "unlinkat",
        "unlink", "mkdirat", "mkdir", "fchmod", "fchmodat", "umask", "dup", "dup2", "dup3", "pipe2",
        /* the operations counters: made under a temporary name and linked in place */
        "linkat", "link",
        /* time, sleeping, waiting */
        "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time", "poll", "ppoll",
        /* identity, limits, randomness (json-c's hash seed) */
        "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid", "uname", "getrandom", "prlimit64",
        "getrlimit", "sched_getaffinity", "sched_yield",
        /* glibc's qsort asks how much memory the machine has before it sorts a large array */
        "sysinfo",
        /* signals, threads (glibc's locks and futexes), exit; musl's raise() is tkill */
        "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "sigaltstack", "tgkill", "tkill", "futex",
        "set_robust_list", "rseq", "restart_syscall", "exit", "exit_group",
        /* syslog(3): connects to /dev/log and sends a datagram (the socket rule below) */
        "connect", "sendto", "sendmsg",
};

/* numapin-hook: the bundle's config.json rewritten, cgroup files written (the
 * base) and nothing else. */
static const char *const hook_calls[] = {
        "fchown", /* config.json keeps its owner when rewritten */
};

/* numapin-nri: the runtime's socket (reconnects included: socket is in the
 * rule below), its ttrpc frames, and the metrics server's thread. */
static const char *const nri_calls[] = {
        "recvfrom", "recvmsg", "setsockopt", "getsockopt", "getsockname", "getpeername", "shutdown", "fchown",
        /* --metrics-listen: libmicrohttpd's thread (its socket bound before the filter) */
        "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "accept4", "accept", "select", "pselect6",
        "eventfd2", "socketpair", "clone", "clone3", "wait4",
};

/* numapin-exporter: libmicrohttpd's thread on the socket bound before the filter;
 * the scrape reads files and BPF maps (the monitor calls). */
static const char *const exporter_calls[] = {
        "recvfrom", "recvmsg", "setsockopt", "getsockopt", "getsockname", "getpeername", "shutdown",
        "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "accept4", "accept", "select", "pselect6",
        "eventfd2", "socketpair",
};

/* The BPF locality monitor: loading (libbpf's probes and loads, the pinned set
 * under bpffs, which it mounts when missing, as tracefs for the classic
 * tracepoints), the PMU tier's perf events and the detached numapin-pmu holder
 * (fork twice, setsid, its name: glibc's fork() is clone, musl's the fork call),
 * reading the maps. */
static const char *const monitor_calls[] = {
        "bpf",  "perf_event_open", "mount", "clone", "fork", "wait4", "setsid", "prctl", "memfd_create",
        "getrusage",
};

#ifdef NP_SANITIZE
/* The sanitizer build's runtime (make test-asan, never a release): LeakSanitizer's
 * check at exit clones a task that stops every thread with ptrace and lists them
 * through /proc/self/task, which ASan's runtime reads with getdents. Without these
 * the check fails, and so does every test that runs the binary; nothing else is let
 * through, so the build still proves the lists hold what numapin itself calls. */
static const char *const sanitizer_calls[] = {
        "clone", "ptrace", "prctl", "wait4", "getdents", "sched_yield", "getppid",
};
#endif

/* clang-format on */

/* The calls let through only with one argument's value. */
static const struct arg_rule {
        const char *call;
        struct np_sandbox_rule rule;
        bool nri_and_exporter_only;
        bool not_with_monitor; /* the monitor's calls let it through at large */
} arg_rules[] = {
        /* kill(pid, 0) only: whether a container's process lives (reclaiming
         * records); a refused call would answer EPERM, which reads as "alive" */
        { .call = "kill", .rule = { SCMP_SYS(kill), 1, 0 } },
        /* sockets: only AF_UNIX ones (syslog, the runtime's NRI socket); the
         * metrics listener is made before the filter */
        { .call = "socket", .rule = { SCMP_SYS(socket), 0, AF_UNIX } },
        /* libmicrohttpd names its thread (glibc's pthread_setname_np: prctl PR_SET_NAME) */
        { .call = "prctl",
          .rule = { SCMP_SYS(prctl), 0, PR_SET_NAME },
          .nri_and_exporter_only = true,
          .not_with_monitor = true },
};

static bool rule_applies(const struct arg_rule *rule, enum np_sandbox_profile profile, bool monitor)
{
        if (rule->nri_and_exporter_only && profile != NP_SANDBOX_NRI && profile != NP_SANDBOX_EXPORTER)
                return false;
        return !(rule->not_with_monitor && monitor);
}

size_t np_sandbox_rules(enum np_sandbox_profile profile, bool monitor,
                        struct np_sandbox_rule ret_rules[NP_SANDBOX_RULES_MAX])
{
        size_t n = 0;

        for (size_t i = 0; i < ARRAY_SIZE(arg_rules); i++)
                if (rule_applies(&arg_rules[i], profile, monitor))
                        ret_rules[n++] = arg_rules[i].rule;
        return n;
}

const char *np_sandbox_profile_to_string(enum np_sandbox_profile profile)
{
        switch (profile) {
        case NP_SANDBOX_HOOK:
                return "numapin-hook";
        case NP_SANDBOX_NRI:
                return "numapin-nri";
        case NP_SANDBOX_EXPORTER:
                return "numapin-exporter";
        }
        return "unknown";
}

static int allow_all(scmp_filter_ctx ctx, const char *const *calls, size_t n, struct np_diag *diag)
{
        for (size_t i = 0; i < n; i++) {
                int nr = seccomp_syscall_resolve_name(calls[i]);
                int r;

                if (nr == __NR_SCMP_ERROR)
                        continue; /* not on this architecture (open, stat on arm64) */
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
                if (r < 0)
                        return np_diag_fail(diag, r, "seccomp: cannot allow %s: %s", calls[i], strerror(-r));
        }
        return 0;
}

static int build(enum np_sandbox_profile profile, bool monitor, struct np_diag *diag, scmp_filter_ctx *ret_ctx)
{
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(NP_SANDBOX_ERRNO));
        int r;

        if (!ctx)
                return np_diag_fail(diag, -ENOMEM, "seccomp: cannot create a filter");
        /* every thread (libmicrohttpd's runs already), and refused calls in the kernel's log */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
        if (r == 0 && seccomp_api_get() >= 3)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
        /* a binary tree of the call numbers, not a chain: fewer instructions run per
         * call, and in the kernel's pass over every call number when it is installed */
        if (r == 0)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
        if (r < 0) {
                seccomp_release(ctx);
                return np_diag_fail(diag, r, "seccomp: cannot set the filter's attributes: %s", strerror(-r));
        }
        r = allow_all(ctx, base_calls, ARRAY_SIZE(base_calls), diag);
        if (r == 0 && profile == NP_SANDBOX_HOOK)
                r = allow_all(ctx, hook_calls, ARRAY_SIZE(hook_calls), diag);
        if (r == 0 && profile == NP_SANDBOX_NRI)
                r = allow_all(ctx, nri_calls, ARRAY_SIZE(nri_calls), diag);
        if (r == 0 && profile == NP_SANDBOX_EXPORTER)
                r = allow_all(ctx, exporter_calls, ARRAY_SIZE(exporter_calls), diag);
        if (r == 0 && monitor)
                r = allow_all(ctx, monitor_calls, ARRAY_SIZE(monitor_calls), diag);
#ifdef NP_SANITIZE
        if (r == 0)
                r = allow_all(ctx, sanitizer_calls, ARRAY_SIZE(sanitizer_calls), diag);
#endif
        for (size_t i = 0; r == 0 && i < ARRAY_SIZE(arg_rules); i++) {
                const struct np_sandbox_rule *rule = &arg_rules[i].rule;

                if (!rule_applies(&arg_rules[i], profile, monitor))
                        continue;
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, rule->nr, 1, SCMP_CMP(rule->arg, SCMP_CMP_EQ, rule->value));
                if (r < 0)
                        np_diag_fail(diag, r, "seccomp: cannot allow %s: %s", arg_rules[i].call, strerror(-r));
        }
        if (r < 0) {
                seccomp_release(ctx);
                return r;
        }
        *ret_ctx = ctx;
        return 0;
}

#ifndef NP_SANDBOX_GENERATOR
int np_sandbox_compiled(enum np_sandbox_profile profile, bool monitor, const void **ret_program, size_t *ret_size)
{
        for (size_t i = 0; i < ARRAY_SIZE(np_sandbox_filters); i++)
                if (np_sandbox_filters[i].profile == profile && np_sandbox_filters[i].monitor == monitor) {
                        *ret_program = np_sandbox_filters[i].program;
                        *ret_size = np_sandbox_filters[i].size;
                        return 0;
                }
        return -ENOENT;
}

int np_sandbox_apply(enum np_sandbox_profile profile, bool monitor, struct np_diag *diag)
{
        struct sock_fprog prog;
        const void *program;
        size_t size;
        long r;

        if (np_sandbox_compiled(profile, monitor, &program, &size) < 0)
                return np_diag_fail(diag, -ENOENT, "seccomp: no %s filter was compiled",
                                    np_sandbox_profile_to_string(profile));
        prog = (struct sock_fprog){ .len = (unsigned short)(size / sizeof(struct sock_filter)),
                                    .filter = (struct sock_filter *)program };
        /* as libseccomp's seccomp_load(): no new privileges, every thread, refused calls logged */
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return np_diag_fail(diag, -errno, "seccomp: cannot set no_new_privs: %s", strerror(errno));
        r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG, &prog);
        if (r > 0) /* the thread that could not be synchronised */
                return np_diag_fail(diag, -ESRCH, "seccomp: cannot install the %s filter on thread %ld",
                                    np_sandbox_profile_to_string(profile), r);
        if (r < 0)
                return np_diag_fail(diag, -errno, "seccomp: cannot install the %s filter: %s",
                                    np_sandbox_profile_to_string(profile), strerror(errno));
        return 0;
}
#endif

int np_sandbox_export_bpf(enum np_sandbox_profile profile, bool monitor, int fd, struct np_diag *diag)
{
        scmp_filter_ctx ctx = NULL;
        int r;

        r = build(profile, monitor, diag, &ctx);
        if (r < 0)
                return r;
        r = seccomp_export_bpf(ctx, fd);
        seccomp_release(ctx);
        if (r < 0)
                return np_diag_fail(diag, r, "seccomp: cannot export the %s filter: %s",
                                    np_sandbox_profile_to_string(profile), strerror(-r));
        return 0;
}

int np_sandbox_export(enum np_sandbox_profile profile, bool monitor, FILE *out, struct np_diag *diag)
{
        scmp_filter_ctx ctx = NULL;
        int r;

        r = build(profile, monitor, diag, &ctx);
        if (r < 0)
                return r;
        fflush(out);
        r = seccomp_export_pfc(ctx, fileno(out));
        seccomp_release(ctx);
        if (r < 0)
                return np_diag_fail(diag, r, "seccomp: cannot export the %s filter: %s",
                                    np_sandbox_profile_to_string(profile), strerror(-r));
        return 0;
}
