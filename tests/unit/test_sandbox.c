// SPDX-License-Identifier: MIT
/* The seccomp allow-lists (core/sandbox.c): each profile, installed in a forked
 * child, refuses a call outside its list with EPERM on every thread, keeps the
 * listed ones working (kill only with signal 0, sockets only AF_UNIX), shows as "Seccomp: 2" in /proc/self/status, and
 * allows the monitor's bpf() only with the monitor on; the exported filter says so, and the one compiled at build time
 * is what libseccomp makes of the tables. */
#include <errno.h>
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
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

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

/* build/sandbox/sandbox-filters.h is what libseccomp makes of the tables now */
static void test_sandbox_compiled_filters_are_libseccomps_of_the_tables(void **state)
{
        for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
                for (int monitor = 0; monitor < 2; monitor++) {
                        static char exported[65536];
                        const void *program = NULL;
                        size_t size = 0;
                        int fd = memfd_create("sandbox", MFD_CLOEXEC);
                        ssize_t n;

                        assert_true(fd >= 0);
                        assert_int_equal(np_sandbox_compiled(profiles[i], monitor, &program, &size), 0);
                        assert_int_equal(np_sandbox_export_bpf(profiles[i], monitor, fd, NULL), 0);
                        n = pread(fd, exported, sizeof(exported), 0);
                        close(fd);
                        assert_int_equal(n, size);
                        assert_memory_equal(exported, program, size);
                }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sandbox_no_filter_before_apply),
                cmocka_unit_test(test_sandbox_refuses_a_call_outside_the_list_with_eperm_on_every_thread),
                cmocka_unit_test(test_sandbox_without_monitor_refuses_bpf),
                cmocka_unit_test(test_sandbox_compiled_filters_are_libseccomps_of_the_tables),
                cmocka_unit_test(test_sandbox_export_defaults_to_eperm_and_lists_the_monitor_calls_only_with_it),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
