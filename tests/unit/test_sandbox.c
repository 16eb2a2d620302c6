// SPDX-License-Identifier: MIT
/* The seccomp allow-lists (core/sandbox.c): each profile, installed in a forked
 * child, refuses a call outside its list with EPERM on every thread, keeps the
 * listed ones working (kill only with signal 0, sockets only AF_UNIX), shows as "Seccomp: 2" in /proc/self/status, and
 * allows the monitor's bpf() only with the monitor on; the exported filter says so, and the one compiled at build time
 * gives every call the verdict of what libseccomp makes of the tables, in fewer instructions (core/sandbox-compact.c).
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../core/sandbox-compact.h"
#include "../../core/sandbox.h"

/* the child's verdicts, as its exit status */
enum {
        CHILD_OK = 0,
        CHILD_APPLY_FAILED = 10,
        CHILD_OUTSIDE_ALLOWED,
        CHILD_LISTED_REFUSED,
        CHILD_NOT_SHOWN,
        CHILD_THREAD_NOT_COVERED,
        CHILD_SOCKET_WRONG,
        CHILD_MONITOR_WRONG,
        CHILD_KILL_WRONG,
        CHILD_PRCTL_WRONG,
};

static const enum np_sandbox_profile profiles[] = { NP_SANDBOX_HOOK, NP_SANDBOX_NRI, NP_SANDBOX_EXPORTER };

/* reboot(2) with no magic: EINVAL without a filter (even for root), EPERM with one */
static int call_reboot(void)
{
        long r = syscall(SYS_reboot, 0, 0, 0, 0);
        return r < 0 ? errno : 0;
}

static bool status_shows_filter(void)
{
        char line[256];
        bool found = false;
        FILE *f = fopen("/proc/self/status", "re");

        if (!f)
                return false;
        while (fgets(line, sizeof(line), f))
                found = found || strcmp(line, "Seccomp:\t2\n") == 0;
        fclose(f);
        return found;
}

static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;

static void *thread_calls_reboot(void *unused)
{
        /* waits until the main thread installed the filter and let go */
        pthread_mutex_lock(&gate);
        pthread_mutex_unlock(&gate);
        return (void *)(intptr_t)call_reboot();
}

static int child(enum np_sandbox_profile profile, bool monitor)
{
#ifdef NP_SANITIZE
        bool prctl_at_large = true; /* LeakSanitizer's check at exit calls it (core/sandbox.c) */
#else
        bool prctl_at_large = monitor;
#endif
        union bpf_attr attr = {};
        pthread_t thread;
        void *thread_errno = NULL;
        int fd;

        /* a thread that runs before the filter, as libmicrohttpd's does */
        pthread_mutex_lock(&gate);
        if (pthread_create(&thread, NULL, thread_calls_reboot, NULL) != 0)
                return CHILD_APPLY_FAILED;
        if (np_sandbox_apply(profile, monitor, NULL) < 0)
                return CHILD_APPLY_FAILED;
        pthread_mutex_unlock(&gate);
        if (pthread_join(thread, &thread_errno) != 0 || (intptr_t)thread_errno != EPERM)
                return CHILD_THREAD_NOT_COVERED;
        if (call_reboot() != EPERM)
                return CHILD_OUTSIDE_ALLOWED;
        if (syscall(SYS_kexec_load, 0, 0, NULL, 0) >= 0 || errno != EPERM)
                return CHILD_OUTSIDE_ALLOWED;
        if (getpid() <= 0 || !status_shows_filter())
                return CHILD_NOT_SHOWN;
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return CHILD_LISTED_REFUSED;
        close(fd);
        if (socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) >= 0 || errno != EPERM)
                return CHILD_SOCKET_WRONG;
        /* kill(pid, 0) answers whether a process lives; a real signal is refused */
        if (kill(getpid(), 0) != 0 || kill(getpid(), SIGCONT) == 0 || errno != EPERM)
                return CHILD_KILL_WRONG;
        /* prctl: naming a thread for libmicrohttpd's (the NRI plugin, the exporter),
         * anything with the monitor's holder */
        if ((prctl(PR_SET_NAME, "numapin-test", 0, 0, 0) == 0) != (prctl_at_large || profile != NP_SANDBOX_HOOK))
                return CHILD_PRCTL_WRONG;
        if ((prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) >= 0) != prctl_at_large)
                return CHILD_PRCTL_WRONG;
        /* BPF_MAP_CREATE with nothing: EINVAL when bpf() is let through, EPERM when not */
        errno = 0;
        syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
        if ((errno == EPERM) == monitor)
                return CHILD_MONITOR_WRONG;
        return CHILD_OK;
}

static int run_child(enum np_sandbox_profile profile, bool monitor)
{
        int status;
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0)
                _exit(child(profile, monitor));
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static void test_sandbox_refuses_a_call_outside_the_list_with_eperm_on_every_thread(void **state)
{
        for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
                print_message("# %s\n", np_sandbox_profile_to_string(profiles[i]));
                assert_int_equal(run_child(profiles[i], true), CHILD_OK);
        }
}

static void test_sandbox_without_monitor_refuses_bpf(void **state)
{
        for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
                print_message("# %s\n", np_sandbox_profile_to_string(profiles[i]));
                assert_int_equal(run_child(profiles[i], false), CHILD_OK);
        }
}

static void test_sandbox_no_filter_before_apply(void **state)
{
        /* the unfiltered answer the tests above tell EPERM from */
        assert_int_equal(call_reboot(), geteuid() == 0 ? EINVAL : EPERM);
}

static void test_sandbox_export_defaults_to_eperm_and_lists_the_monitor_calls_only_with_it(void **state)
{
        char *text = NULL;
        size_t size = 0;
        FILE *out;

        for (int monitor = 0; monitor < 2; monitor++) {
                char path[] = "/tmp/numapin-sandbox-XXXXXX";
                int fd = mkstemp(path);

                assert_true(fd >= 0);
                unlink(path);
                out = fdopen(fd, "w+");
                assert_non_null(out);
                assert_int_equal(np_sandbox_export(NP_SANDBOX_HOOK, monitor, out, NULL), 0);
                rewind(out);
                free(text);
                text = NULL;
                assert_true(getdelim(&text, &size, '\0', out) > 0);
                fclose(out);
                assert_non_null(strstr(text, "ERRNO(1)"));                              /* the default action: EPERM */
                assert_non_null(strstr(text, "if ($syscall == 0)"));                    /* read, listed */
                assert_true((strstr(text, "if ($syscall == 321)") != NULL) == monitor); /* bpf */
                assert_null(strstr(text, "if ($syscall == 169)"));                      /* reboot, never */
        }
        free(text);
}

/* libseccomp's program for the tables, as it compiles them now */
static size_t exported(enum np_sandbox_profile profile, bool monitor, struct sock_filter *program, size_t capacity)
{
        int fd = memfd_create("sandbox", MFD_CLOEXEC);
        ssize_t n;

        assert_true(fd >= 0);
        assert_int_equal(np_sandbox_export_bpf(profile, monitor, fd, NULL), 0);
        n = pread(fd, program, capacity * sizeof(*program), 0);
        close(fd);
        assert_true(n > 0 && (size_t)n < capacity * sizeof(*program) && n % sizeof(*program) == 0);
        return (size_t)n / sizeof(*program);
}

static uint32_t verdict(const struct sock_filter *program, size_t len, uint32_t arch, int nr, unsigned int arg,
                        uint64_t value)
{
        struct seccomp_data data = { .nr = nr, .arch = arch };
        uint32_t action = 0;
        bool read_args;

        data.args[arg] = value;
        assert_int_equal(np_seccomp_run(program, len, &data, &action, &read_args), 0);
        return action;
}

/* build/sandbox/sandbox-filters.h gives each call what libseccomp makes of the tables now; the hook's in
 * fewer instructions */
static void test_sandbox_compiled_filters_give_libseccomps_verdicts_the_hooks_in_fewer_instructions(void **state)
{
        static struct sock_filter libseccomps[4096];
        const uint32_t eperm = SECCOMP_RET_ERRNO | EPERM;

        for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
                for (int monitor = 0; monitor < 2; monitor++) {
                        struct np_sandbox_rule rules[NP_SANDBOX_RULES_MAX];
                        size_t n_rules = np_sandbox_rules(profiles[i], monitor, rules);
                        size_t len = exported(profiles[i], monitor, libseccomps, sizeof(libseccomps) / 8);
                        struct seccomp_data differs = {};
                        const struct sock_filter *program = NULL;
                        size_t size = 0, compiled_len;

                        print_message("# %s%s\n", np_sandbox_profile_to_string(profiles[i]),
                                      monitor ? " with the monitor" : "");
                        assert_int_equal(np_sandbox_compiled(profiles[i], monitor, (const void **)&program, &size), 0);
                        compiled_len = size / sizeof(*program);
                        assert_int_equal(
                                np_seccomp_compare(libseccomps, len, program, compiled_len, rules, n_rules, &differs),
                                0);
                        /* the hook's is rewritten as a bitmap; the long-lived processes keep
                         * libseccomp's, which the kernel's verdict cache reads */
                        if (profiles[i] == NP_SANDBOX_HOOK)
                                assert_true(compiled_len < len / 2 + 8);
                        else {
                                assert_int_equal(compiled_len, len);
                                assert_memory_equal(program, libseccomps, size);
                        }
                        /* what a user of the filter checks, on the compiled program itself */
                        assert_int_equal(verdict(program, compiled_len, AUDIT_ARCH_X86_64, SYS_read, 0, 0),
                                         SECCOMP_RET_ALLOW);
                        assert_int_equal(verdict(program, compiled_len, AUDIT_ARCH_X86_64, SYS_reboot, 0, 0), eperm);
                        assert_int_equal(verdict(program, compiled_len, AUDIT_ARCH_X86_64, 5000, 0, 0), eperm);
                        assert_int_equal(verdict(program, compiled_len, AUDIT_ARCH_X86_64, SYS_kill, 1, 0),
                                         SECCOMP_RET_ALLOW);
                        assert_int_equal(verdict(program, compiled_len, AUDIT_ARCH_X86_64, SYS_kill, 1, SIGKILL),
                                         eperm);
                        assert_int_equal(verdict(program, compiled_len, AUDIT_ARCH_X86_64, SYS_kill, 1, 1ull << 32),
                                         eperm);
                        assert_int_equal(verdict(program, compiled_len, AUDIT_ARCH_X86_64, SYS_socket, 0, AF_UNIX),
                                         SECCOMP_RET_ALLOW);
                        assert_int_equal(verdict(program, compiled_len, AUDIT_ARCH_X86_64, SYS_socket, 0, AF_INET),
                                         eperm);
                        assert_int_equal(verdict(program, compiled_len, AUDIT_ARCH_X86_64, SYS_bpf, 0, 0),
                                         monitor ? SECCOMP_RET_ALLOW : eperm);
                        /* musl's fork() (the PMU holder's, in the musl-built hook) is the fork
                         * call, not clone; its raise() is tkill */
                        assert_int_equal(verdict(program, compiled_len, AUDIT_ARCH_X86_64, SYS_fork, 0, 0),
                                         monitor ? SECCOMP_RET_ALLOW : eperm);
                        assert_int_equal(verdict(program, compiled_len, AUDIT_ARCH_X86_64, SYS_tkill, 0, 0),
                                         SECCOMP_RET_ALLOW);
                        /* another architecture's calls, and x32's, kill: libseccomp's default for them */
                        assert_int_equal(verdict(program, compiled_len, AUDIT_ARCH_I386, 3, 0, 0), SECCOMP_RET_KILL);
                        assert_int_equal(verdict(program, compiled_len, AUDIT_ARCH_X86_64, 0x40000000 | SYS_read, 0, 0),
                                         SECCOMP_RET_KILL);
                }
}

static void test_sandbox_compare_names_a_call_whose_verdict_differs(void **state)
{
        static struct sock_filter changed[4096];
        const struct sock_filter *program = NULL;
        struct np_sandbox_rule rules[NP_SANDBOX_RULES_MAX];
        size_t n_rules = np_sandbox_rules(NP_SANDBOX_HOOK, false, rules);
        struct seccomp_data differs = {};
        size_t size = 0, len;
        bool found = false;

        assert_int_equal(np_sandbox_compiled(NP_SANDBOX_HOOK, false, (const void **)&program, &size), 0);
        len = size / sizeof(*program);
        memcpy(changed, program, size);
        /* the bitmap word of calls 0-31 without read(2) */
        for (size_t i = 0; i < len && !found; i++)
                if (changed[i].code == (BPF_JMP | BPF_JSET | BPF_K) && (changed[i].k & 1)) {
                        changed[i].k &= ~1u;
                        found = true;
                }
        assert_true(found);
        assert_int_equal(np_seccomp_compare(program, len, changed, len, rules, n_rules, &differs), -EPROTO);
        assert_int_equal(differs.nr, SYS_read);
        assert_int_equal(differs.arch, AUDIT_ARCH_X86_64);
        /* an argument rule's value changed: kill with signal 1 let through */
        memcpy(changed, program, size);
        found = false;
        for (size_t i = 0; i + 1 < len && !found; i++)
                if (changed[i].code == (BPF_LD | BPF_W | BPF_ABS) &&
                    changed[i].k == offsetof(struct seccomp_data, args[1]) && changed[i + 1].k == 0) {
                        changed[i + 1].k = 1;
                        found = true;
                }
        assert_true(found);
        assert_int_equal(np_seccomp_compare(program, len, changed, len, rules, n_rules, &differs), -EPROTO);
        assert_int_equal(differs.nr, SYS_kill);
}

static void test_sandbox_compact_refuses_what_it_cannot_say_in_a_bitmap(void **state)
{
        static struct sock_filter libseccomps[4096], compact[4096];
        struct np_sandbox_rule rules[NP_SANDBOX_RULES_MAX];
        size_t len = exported(NP_SANDBOX_NRI, false, libseccomps, sizeof(libseccomps) / 8), compact_len = 0;
        size_t n_rules = np_sandbox_rules(NP_SANDBOX_NRI, false, rules);

        /* an argument test no rule describes */
        assert_int_equal(np_seccomp_compact(libseccomps, len, rules, 0, compact, 4096, &compact_len), -EOPNOTSUPP);
        /* too little room */
        assert_int_equal(np_seccomp_compact(libseccomps, len, rules, n_rules, compact, 16, &compact_len), -E2BIG);
        assert_int_equal(np_seccomp_compact(libseccomps, len, rules, n_rules, compact, 4096, &compact_len), 0);
        assert_true(compact_len > 16 && compact_len < len);
}

static void test_sandbox_run_refuses_programs_the_kernel_would(void **state)
{
        struct seccomp_data data = { .arch = AUDIT_ARCH_X86_64 };
        uint32_t action = 0;
        bool read_args;
        const struct sock_filter off_the_end[] = { BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
                                                   BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
        const struct sock_filter past_the_data[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, sizeof(data)),
                                                     BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
        const struct sock_filter byte_load[] = { BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),
                                                 BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
        const struct sock_filter no_return[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0) };
        const struct sock_filter reads_an_argument[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])), BPF_STMT(BPF_RET | BPF_A, 0)
        };

        assert_int_equal(np_seccomp_run(off_the_end, 2, &data, &action, &read_args), -EINVAL);
        assert_int_equal(np_seccomp_run(past_the_data, 2, &data, &action, &read_args), -EINVAL);
        assert_int_equal(np_seccomp_run(byte_load, 2, &data, &action, &read_args), -EINVAL);
        assert_int_equal(np_seccomp_run(no_return, 1, &data, &action, &read_args), -EINVAL);
        data.args[2] = 0x1234;
        assert_int_equal(np_seccomp_run(reads_an_argument, 2, &data, &action, &read_args), 0);
        assert_int_equal(action, 0x1234);
        assert_true(read_args);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sandbox_no_filter_before_apply),
                cmocka_unit_test(test_sandbox_refuses_a_call_outside_the_list_with_eperm_on_every_thread),
                cmocka_unit_test(test_sandbox_without_monitor_refuses_bpf),
                cmocka_unit_test(
                        test_sandbox_compiled_filters_give_libseccomps_verdicts_the_hooks_in_fewer_instructions),
                cmocka_unit_test(test_sandbox_compare_names_a_call_whose_verdict_differs),
                cmocka_unit_test(test_sandbox_compact_refuses_what_it_cannot_say_in_a_bitmap),
                cmocka_unit_test(test_sandbox_run_refuses_programs_the_kernel_would),
                cmocka_unit_test(test_sandbox_export_defaults_to_eperm_and_lists_the_monitor_calls_only_with_it),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
