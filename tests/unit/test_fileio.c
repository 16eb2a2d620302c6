// SPDX-License-Identifier: MIT
/* Bounded reads from files and pipes (FIFOs, sockets, devices and folders
 * refused at open without blocking), atomic replacement (mode kept, no
 * temporary file left, symlinks and folders refused) and single-write kernel
 * attributes, in a private temporary folder. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../core/fileio.h"
#include "../../core/macro.h"
#include "helpers.h"

struct folder {
        char path[4096];
        int fd;
};

static int folder_setup(void **state)
{
        struct folder *folder = calloc(1, sizeof(*folder));

        assert_non_null(folder);
        np_test_mkdtemp(folder->path, sizeof(folder->path));
        folder->fd = open(folder->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(folder->fd >= 0);
        *state = folder;
        return 0;
}

static int folder_teardown(void **state)
{
        struct folder *folder = *state;

        close(folder->fd);
        np_test_rmtree(folder->path);
        free(folder);
        return 0;
}

/* A file of `size` bytes, byte i being 'a' + i % 26. */
static void put_sized(const struct folder *folder, const char *name, size_t size)
{
        char *text = malloc(size + 1), path[4096];

        assert_non_null(text);
        for (size_t i = 0; i < size; i++)
                text[i] = (char)('a' + i % 26);
        text[size] = '\0';
        np_test_write_file(np_test_path(path, sizeof(path), folder->path, name), text);
        free(text);
}

static void put(const struct folder *folder, const char *name, const char *text)
{
        char path[4096];

        np_test_write_file(np_test_path(path, sizeof(path), folder->path, name), text);
}

static void assert_file(const struct folder *folder, const char *name, const char *expected)
{
        char path[4096];
        char *text = np_test_read_file(np_test_path(path, sizeof(path), folder->path, name));

        assert_non_null(text);
        assert_string_equal(text, expected);
        free(text);
}

static mode_t mode_of(const struct folder *folder, const char *name)
{
        struct stat st;

        assert_int_equal(fstatat(folder->fd, name, &st, AT_SYMLINK_NOFOLLOW), 0);
        return st.st_mode & 07777;
}

static void test_fileio_read_file_at_returns_the_whole_file_up_to_the_limit(void **state)
{
        struct folder *folder = *state;
        _cleanup_free_ char *data = NULL;
        size_t size = 0;

        put_sized(folder, "exact", 10000);
        assert_int_equal(np_read_file_at(folder->fd, "exact", 10000, &data, &size), 0);
        assert_int_equal(size, 10000);
        assert_int_equal(strlen(data), 10000);
        assert_int_equal(data[9999], 'a' + 9999 % 26);
        free(TAKE_PTR(data));

        /* exactly at the first buffer size and one above */
        put_sized(folder, "page", 4096);
        assert_int_equal(np_read_file_at(folder->fd, "page", 4096, &data, &size), 0);
        assert_int_equal(size, 4096);
        free(TAKE_PTR(data));
        assert_int_equal(np_read_file_at(folder->fd, "page", 4095, &data, &size), -EFBIG);
        assert_null(data);

        put(folder, "empty", "");
        assert_int_equal(np_read_file_at(folder->fd, "empty", 0, &data, &size), 0);
        assert_int_equal(size, 0);
        assert_string_equal(data, "");
}

static void test_fileio_read_file_at_refuses_one_byte_beyond_the_limit(void **state)
{
        struct folder *folder = *state;
        char *data = NULL;
        size_t size = 77;

        put_sized(folder, "big", 10001);
        assert_int_equal(np_read_file_at(folder->fd, "big", 10000, &data, &size), -EFBIG);
        assert_null(data);
        assert_int_equal(size, 77);
        put(folder, "one", "x");
        assert_int_equal(np_read_file_at(folder->fd, "one", 0, &data, &size), -EFBIG);
}

static void test_fileio_read_file_at_reports_a_missing_file(void **state)
{
        struct folder *folder = *state;
        char *data = NULL;

        assert_int_equal(np_read_file_at(folder->fd, "missing", 100, &data, NULL), -ENOENT);
        assert_int_equal(np_read_file_at(folder->fd, ".", 100, &data, NULL), -EINVAL);
        assert_null(data);
}

static double now_seconds(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A FIFO with no writer would block a plain open(2) forever, one with a
 * writer that never writes would block read(2): both are refused at once. */
static void test_fileio_read_file_at_refuses_a_fifo_without_blocking(void **state)
{
        struct folder *folder = *state;
        char *data = NULL;
        double start = now_seconds();
        int writer;

        assert_int_equal(mkfifoat(folder->fd, "fifo", 0644), 0);
        assert_int_equal(np_read_file_at(folder->fd, "fifo", 100, &data, NULL), -EINVAL);
        /* with a writer holding it open too */
        writer = openat(folder->fd, "fifo", O_RDWR | O_CLOEXEC);
        assert_true(writer >= 0);
        assert_int_equal(np_read_file_at(folder->fd, "fifo", 100, &data, NULL), -EINVAL);
        close(writer);
        assert_null(data);
        assert_true(now_seconds() - start < 1.0);
        assert_string_equal(np_file_strerror_at(folder->fd, "fifo", -EINVAL),
                            "not a regular file (a FIFO); expected a regular file");
}

static void test_fileio_read_file_at_refuses_a_socket_a_device_and_a_folder(void **state)
{
        struct folder *folder = *state;
        struct sockaddr_un address = { .sun_family = AF_UNIX };
        char *data = NULL;
        int sock;

        sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(sock >= 0);
        np_test_path(address.sun_path, sizeof(address.sun_path), folder->path, "sock");
        assert_int_equal(bind(sock, (struct sockaddr *)&address, sizeof(address)), 0);
        assert_int_equal(np_read_file_at(folder->fd, "sock", 100, &data, NULL), -EINVAL);
        assert_string_equal(np_file_strerror_at(folder->fd, "sock", -EINVAL),
                            "not a regular file (a socket); expected a regular file");
        close(sock);

        /* /dev/null would read as empty, /dev/zero without end */
        assert_int_equal(np_read_file_at(AT_FDCWD, "/dev/null", 100, &data, NULL), -EINVAL);
        assert_int_equal(np_read_file_at(AT_FDCWD, "/dev/zero", 100, &data, NULL), -EINVAL);
        assert_string_equal(np_file_strerror_at(AT_FDCWD, "/dev/zero", -EINVAL),
                            "not a regular file (a character device); expected a regular file");

        assert_int_equal(mkdirat(folder->fd, "dir", 0755), 0);
        assert_int_equal(np_read_file_at(folder->fd, "dir", 100, &data, NULL), -EINVAL);
        assert_string_equal(np_file_strerror_at(folder->fd, "dir", -EINVAL),
                            "not a regular file (a directory); expected a regular file");
        assert_null(data);
}

static void test_fileio_read_file_at_follows_a_symlink_to_a_regular_file(void **state)
{
        struct folder *folder = *state;
        _cleanup_free_ char *data = NULL;

        /* a ConfigMap's files are symlinks; sysfs paths hold symlinks too */
        put(folder, "target", "0-3\n");
        assert_int_equal(symlinkat("target", folder->fd, "link"), 0);
        assert_int_equal(np_read_file_at(folder->fd, "link", 100, &data, NULL), 0);
        assert_string_equal(data, "0-3\n");
        assert_string_equal(np_file_strerror_at(folder->fd, "link", -ENOENT), strerror(ENOENT));
}

static void test_fileio_read_file_at_reads_proc_and_sysfs_attributes(void **state)
{
        _cleanup_free_ char *cgroup = NULL, *online = NULL;

        /* procfs and sysfs files are regular files of size 0 or 4096 whatever they hold */
        assert_int_equal(np_read_file_at(AT_FDCWD, "/proc/self/cgroup", 65536, &cgroup, NULL), 0);
        if (access("/sys/devices/system/cpu/online", R_OK) == 0) {
                assert_int_equal(np_read_file_at(AT_FDCWD, "/sys/devices/system/cpu/online", 64, &online, NULL), 0);
                assert_true(strlen(online) > 0);
        }
}

/* np_read_attribute_at() reads a file whole in one read where it can (beyond
 * its first buffer too), keeps to the limit, and refuses a FIFO, a device and a
 * folder as np_read_file_at() does, without waiting for any of them. */
static void test_fileio_read_attribute_reads_files_and_refuses_the_rest_fast(void **state)
{
        struct folder *folder = *state;
        double start = now_seconds();
        char *text = NULL;
        size_t size = 0;
        int writer, reader;

        put(folder, "online", "0-3\n");
        assert_int_equal(np_read_attribute_at(folder->fd, "online", 64, &text, &size), 0);
        assert_string_equal(text, "0-3\n");
        assert_int_equal(size, 4);
        free(text);
        put(folder, "empty", "");
        assert_int_equal(np_read_attribute_at(folder->fd, "empty", 64, &text, &size), 0);
        assert_int_equal(size, 0);
        free(text);
        put_sized(folder, "meminfo", 10000);
        assert_int_equal(np_read_attribute_at(folder->fd, "meminfo", 10000, &text, &size), 0);
        assert_int_equal(size, 10000);
        assert_int_equal(text[9999], 'a' + 9999 % 26);
        free(text);
        assert_int_equal(np_read_attribute_at(folder->fd, "meminfo", 9999, &text, &size), -EFBIG);
        assert_int_equal(np_read_attribute_at(folder->fd, "missing", 64, &text, &size), -ENOENT);

        assert_int_equal(mkfifoat(folder->fd, "fifo", 0644), 0);
        assert_int_equal(np_read_attribute_at(folder->fd, "fifo", 64, &text, &size), -EINVAL);
        /* a writer that wrote nothing yet: read(2) says EAGAIN, and nothing waits */
        reader = openat(folder->fd, "fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        writer = openat(folder->fd, "fifo", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        assert_true(reader >= 0 && writer >= 0);
        assert_int_equal(np_read_attribute_at(folder->fd, "fifo", 64, &text, &size), -EINVAL);
        close(writer);
        close(reader);
        assert_int_equal(np_read_attribute_at(AT_FDCWD, "/dev/zero", 4096, &text, &size), -EINVAL);
        assert_int_equal(np_read_attribute_at(AT_FDCWD, "/dev/null", 4096, &text, &size), -EINVAL);
        assert_int_equal(np_read_attribute_at(folder->fd, ".", 64, &text, &size), -EINVAL);
        assert_true(now_seconds() - start < 1.0);
}

/* np_dir_on_kernfs() tells a cgroup mount and sysfs from a folder of files; a
 * real cgroup's attributes read and write through the kernfs calls as through
 * the general ones. Needs root and a cpuset hierarchy (v2, or v1 on a hybrid
 * host), else skipped. */
static void test_fileio_kernfs_calls_read_and_write_a_real_cgroup(void **state)
{
        struct folder *folder = *state;
        _cleanup_free_ char *general = NULL, *kernfs = NULL, *after = NULL;
        _cleanup_close_ int sys_fd = open("/sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int hierarchy_fd = -1, cgroup_fd = -1;
        const char *hierarchy =
                access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/cpuset";
        const char *effective =
                strcmp(hierarchy, "/sys/fs/cgroup") == 0 ? "cpuset.cpus.effective" : "cpuset.effective_cpus";
        char name[64], path[128];
        size_t size = 0;

        assert_false(np_dir_on_kernfs(folder->fd));
        if (sys_fd >= 0)
                assert_true(np_dir_on_kernfs(sys_fd));
        hierarchy_fd = open(hierarchy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (geteuid() != 0 || hierarchy_fd < 0 || faccessat(hierarchy_fd, effective, F_OK, 0) < 0)
                skip();
        assert_true(np_dir_on_kernfs(hierarchy_fd));
        snprintf(name, sizeof(name), "numapin-test-fileio-%d", (int)getpid());
        assert_int_equal(mkdirat(hierarchy_fd, name, 0755), 0);
        cgroup_fd = openat(hierarchy_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(cgroup_fd >= 0);
        if (strcmp(hierarchy, "/sys/fs/cgroup/cpuset") == 0) { /* v1: a new cpuset is empty until given some */
                _cleanup_free_ char *cpus = NULL, *mems = NULL;

                assert_int_equal(np_read_attribute_at(hierarchy_fd, "cpuset.cpus", 65536, &cpus, NULL), 0);
                assert_int_equal(np_read_attribute_at(hierarchy_fd, "cpuset.mems", 65536, &mems, NULL), 0);
                assert_int_equal(np_write_kernfs_at(cgroup_fd, "cpuset.cpus", cpus), 0);
                assert_int_equal(np_write_kernfs_at(cgroup_fd, "cpuset.mems", mems), 0);
        }
        assert_int_equal(np_read_file_at(cgroup_fd, effective, 65536, &general, NULL), 0);
        assert_int_equal(np_read_attribute_at(cgroup_fd, effective, 65536, &kernfs, &size), 0);
        assert_string_equal(kernfs, general);
        assert_int_equal(size, strlen(general));
        assert_int_equal(np_write_kernfs_at(cgroup_fd, "cpuset.cpus", "0"), 0);
        assert_int_equal(np_read_attribute_at(cgroup_fd, "cpuset.cpus", 65536, &after, NULL), 0);
        assert_string_equal(after, "0\n");
        assert_int_equal(np_write_kernfs_at(cgroup_fd, "no-such-file", "0"), -ENOENT);
        snprintf(path, sizeof(path), "%s/%s", hierarchy, name);
        assert_int_equal(rmdir(path), 0);
}

static void test_fileio_write_attribute_refuses_a_fifo_without_blocking(void **state)
{
        struct folder *folder = *state;
        double start = now_seconds();
        char buffer[8];
        int reader;

        assert_int_equal(mkfifoat(folder->fd, "cpuset.cpus", 0644), 0);
        /* no reader: open(2) would block */
        assert_int_equal(np_write_attribute_at(folder->fd, "cpuset.cpus", "0"), -EINVAL);
        /* a reader: the write would go through to it */
        reader = openat(folder->fd, "cpuset.cpus", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        assert_true(reader >= 0);
        assert_int_equal(np_write_attribute_at(folder->fd, "cpuset.cpus", "0"), -EINVAL);
        assert_int_equal(read(reader, buffer, sizeof(buffer)), 0);
        close(reader);
        assert_int_equal(np_write_attribute_at(AT_FDCWD, "/dev/null", "0"), -EINVAL);
        assert_true(now_seconds() - start < 1.0);
}

static void test_fileio_read_fd_reads_a_pipe_to_its_end(void **state)
{
        _cleanup_free_ char *data = NULL;
        size_t size;
        int fds[2];

        assert_int_equal(pipe(fds), 0);
        assert_int_equal(write(fds[1], "{\"pid\": 42}\n", 12), 12);
        close(fds[1]);
        assert_int_equal(np_read_fd(fds[0], 4096, &data, &size), 0);
        close(fds[0]);
        assert_int_equal(size, 12);
        assert_string_equal(data, "{\"pid\": 42}\n");
}

/* Forks a writer that sends `size` bytes in small pieces into a pipe; returns the read end. */
static int pipe_from_writer(size_t size, pid_t *ret_pid)
{
        int fds[2];
        pid_t pid;

        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char chunk[1000];

                close(fds[0]);
                memset(chunk, 'z', sizeof(chunk));
                for (size_t sent = 0; sent < size;) {
                        size_t n = MIN(sizeof(chunk), size - sent);
                        ssize_t w = write(fds[1], chunk, n);

                        if (w <= 0)
                                _exit(0); /* the reader stopped early */
                        sent += (size_t)w;
                }
                _exit(0);
        }
        close(fds[1]);
        *ret_pid = pid;
        return fds[0];
}

static void test_fileio_read_fd_reads_a_pipe_larger_than_its_buffer(void **state)
{
        _cleanup_free_ char *data = NULL;
        size_t size;
        pid_t pid;
        int fd = pipe_from_writer(300000, &pid);

        assert_int_equal(np_read_fd(fd, 300000, &data, &size), 0);
        close(fd);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        assert_int_equal(size, 300000);
        assert_int_equal(strspn(data, "z"), 300000);
}

/* np_read_fd() reads into a buffer on the stack first and moves to the heap
 * past it: every size around that edge comes back whole, through a pipe (size
 * unknown) and from a file (size known) */
static void test_fileio_read_fd_and_file_at_read_every_size_around_the_first_buffer(void **state)
{
        struct folder *folder = *state;
        static const size_t sizes[] = { 1, 2047, 2048, 2049, 4095, 4096, 4097, 8193 };

        for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
                _cleanup_free_ char *piped = NULL, *filed = NULL;
                size_t piped_size = 0, filed_size = 0;
                pid_t pid;
                int fd = pipe_from_writer(sizes[i], &pid);

                assert_int_equal(np_read_fd(fd, sizes[i], &piped, &piped_size), 0);
                close(fd);
                assert_int_equal(waitpid(pid, NULL, 0), pid);
                assert_int_equal(piped_size, sizes[i]);
                assert_int_equal(strspn(piped, "z"), sizes[i]);
                assert_int_equal(piped[sizes[i]], '\0');

                put_sized(folder, "sized", sizes[i]);
                assert_int_equal(np_read_file_at(folder->fd, "sized", sizes[i], &filed, &filed_size), 0);
                assert_int_equal(filed_size, sizes[i]);
                assert_int_equal(strlen(filed), sizes[i]);
                assert_int_equal(filed[sizes[i] - 1], 'a' + (sizes[i] - 1) % 26);
                free(TAKE_PTR(filed));
                /* one byte under the size is refused, whichever path read it */
                assert_int_equal(np_read_file_at(folder->fd, "sized", sizes[i] - 1, &filed, NULL), -EFBIG);
                assert_null(filed);
        }
}

static void test_fileio_read_fd_refuses_a_pipe_beyond_the_limit(void **state)
{
        char *data = NULL;
        size_t size;
        pid_t pid;
        int fd = pipe_from_writer(300000, &pid);

        assert_int_equal(np_read_fd(fd, 299999, &data, &size), -EFBIG);
        close(fd);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        assert_null(data);
}

static void test_fileio_write_atomic_creates_a_file_with_the_given_mode(void **state)
{
        struct folder *folder = *state;
        mode_t old_umask = umask(077);

        assert_int_equal(np_write_file_atomic_at(folder->fd, "new.json", "{}\n", 3, 0644), 0);
        umask(old_umask);
        assert_file(folder, "new.json", "{}\n");
        assert_int_equal(mode_of(folder, "new.json"), 0644);
        assert_int_equal(np_test_count_entries(folder->path), 1);
}

static void test_fileio_write_atomic_keeps_the_mode_of_an_existing_file(void **state)
{
        struct folder *folder = *state;
        const char text[] = "new contents, longer than the old ones\n";

        put(folder, "config.json", "old\n");
        assert_int_equal(fchmodat(folder->fd, "config.json", 0600, 0), 0);
        assert_int_equal(np_write_file_atomic_at(folder->fd, "config.json", text, strlen(text), 0644), 0);
        assert_file(folder, "config.json", text);
        assert_int_equal(mode_of(folder, "config.json"), 0600);

        /* a shorter write leaves nothing of the old contents */
        assert_int_equal(np_write_file_atomic_at(folder->fd, "config.json", "x", 1, 0644), 0);
        assert_file(folder, "config.json", "x");
}

static void test_fileio_write_atomic_leaves_no_temporary_file(void **state)
{
        struct folder *folder = *state;

        for (int i = 0; i < 5; i++) {
                char text[32];

                snprintf(text, sizeof(text), "version %d\n", i);
                assert_int_equal(np_write_file_atomic_at(folder->fd, "record.json", text, strlen(text), 0644), 0);
        }
        assert_int_equal(np_test_count_entries(folder->path), 1);
        assert_file(folder, "record.json", "version 4\n");
}

static void test_fileio_write_replace_reuses_the_temporary_name_a_killed_run_left(void **state)
{
        struct folder *folder = *state;
        char path[4096];

        /* what a hook killed between its write and its rename leaves */
        np_test_write_file(np_test_path(path, sizeof(path), folder->path, ".config.json.numapin.tmp"), "{\"half");
        assert_int_equal(np_write_file_replace_at(folder->fd, "config.json", "{}", 2, 0644), 0);
        assert_int_equal(np_test_count_entries(folder->path), 1);
        assert_file(folder, "config.json", "{}");
}

static void test_fileio_temporary_name_knows_its_own_names_only(void **state)
{
        (void)state;
        assert_true(np_temporary_name(".c1.json.numapin-4242.tmp"));
        assert_true(np_temporary_name(".config.json.numapin.tmp"));
        assert_true(np_temporary_name(".a.numapin.json.numapin-1.tmp"));
        assert_false(np_temporary_name("c1.json"));
        assert_false(np_temporary_name(".c1.json.numapin-42x.tmp"));
        assert_false(np_temporary_name(".c1.json.tmp"));
        assert_false(np_temporary_name("c1.json.numapin-1.tmp"));
        assert_false(np_temporary_name(".numapin-1.tmpx"));
}

static void test_fileio_write_atomic_refuses_names_with_a_slash(void **state)
{
        struct folder *folder = *state;

        assert_int_equal(mkdirat(folder->fd, "sub", 0755), 0);
        assert_int_equal(np_write_file_atomic_at(folder->fd, "sub/file", "x", 1, 0644), -EINVAL);
        assert_int_equal(np_write_file_atomic_at(folder->fd, "../escape", "x", 1, 0644), -EINVAL);
        assert_int_equal(np_write_file_atomic_at(folder->fd, "/tmp/abs", "x", 1, 0644), -EINVAL);
        assert_int_equal(np_test_count_entries(folder->path), 1);
}

static void test_fileio_write_atomic_refuses_to_replace_a_symlink_or_a_folder(void **state)
{
        struct folder *folder = *state;
        char target[4096];
        struct stat st;

        put(folder, "target", "precious\n");
        assert_int_equal(symlinkat("target", folder->fd, "link"), 0);
        assert_int_equal(np_write_file_atomic_at(folder->fd, "link", "evil", 4, 0644), -EINVAL);
        assert_file(folder, "target", "precious\n");
        assert_int_equal(fstatat(folder->fd, "link", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISLNK(st.st_mode));

        /* a dangling symlink is not followed either */
        np_test_path(target, sizeof(target), folder->path, "created-through-link");
        assert_int_equal(symlinkat(target, folder->fd, "dangling"), 0);
        assert_int_equal(np_write_file_atomic_at(folder->fd, "dangling", "evil", 4, 0644), -EINVAL);
        assert_int_equal(access(target, F_OK), -1);

        assert_int_equal(mkdirat(folder->fd, "dir", 0755), 0);
        assert_int_equal(np_write_file_atomic_at(folder->fd, "dir", "x", 1, 0644), -EINVAL);
        assert_int_equal(fstatat(folder->fd, "dir", &st, 0), 0);
        assert_true(S_ISDIR(st.st_mode));
        /* target, link, dangling, dir: nothing else */
        assert_int_equal(np_test_count_entries(folder->path), 4);
}

/* A file only numapin writes (a ledger record) gets the mode asked for: an old
 * one's is not looked at. Whatever else took its name never leads the write
 * elsewhere: a symlink is replaced, not followed, and a folder stays. */
static void test_fileio_write_own_sets_the_mode_and_never_follows_the_name(void **state)
{
        struct folder *folder = *state;
        struct stat st;

        put(folder, "c1.json", "old\n");
        assert_int_equal(fchmodat(folder->fd, "c1.json", 0600, 0), 0);
        assert_int_equal(np_write_file_own_at(folder->fd, "c1.json", "{}\n", 3, 0644), 0);
        assert_file(folder, "c1.json", "{}\n");
        assert_int_equal(mode_of(folder, "c1.json"), 0644);

        put(folder, "target", "precious\n");
        assert_int_equal(symlinkat("target", folder->fd, "c2.json"), 0);
        assert_int_equal(np_write_file_own_at(folder->fd, "c2.json", "{}\n", 3, 0644), 0);
        assert_file(folder, "target", "precious\n");
        assert_int_equal(fstatat(folder->fd, "c2.json", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_file(folder, "c2.json", "{}\n");

        assert_int_equal(mkdirat(folder->fd, "c3.json", 0755), 0);
        assert_true(np_write_file_own_at(folder->fd, "c3.json", "{}\n", 3, 0644) < 0);
        assert_int_equal(fstatat(folder->fd, "c3.json", &st, 0), 0);
        assert_true(S_ISDIR(st.st_mode));
        /* c1.json, target, c2.json, c3.json: no temporary file left */
        assert_int_equal(np_test_count_entries(folder->path), 4);
}

static void test_fileio_write_attribute_writes_an_existing_file_only(void **state)
{
        struct folder *folder = *state;

        put(folder, "cpuset.cpus", "0-31\n");
        assert_int_equal(np_write_attribute_at(folder->fd, "cpuset.cpus", "4-7"), 0);
        assert_file(folder, "cpuset.cpus", "4-7");
        /* kernel attributes are never created */
        assert_int_equal(np_write_attribute_at(folder->fd, "cpuset.mems", "0"), -ENOENT);
        assert_int_equal(np_test_count_entries(folder->path), 1);
        /* nor written through a symlink */
        assert_int_equal(symlinkat("cpuset.cpus", folder->fd, "link"), 0);
        assert_int_equal(np_write_attribute_at(folder->fd, "link", "0"), -ELOOP);
        assert_file(folder, "cpuset.cpus", "4-7");
}

static void test_fileio_open_dir_at_opens_folders_only(void **state)
{
        struct folder *folder = *state;
        int fd;

        put(folder, "file", "x");
        assert_int_equal(mkdirat(folder->fd, "dir", 0755), 0);
        fd = np_open_dir_at(folder->fd, "dir");
        assert_true(fd >= 0);
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        close(fd);
        assert_int_equal(np_open_dir_at(folder->fd, "file"), -ENOTDIR);
        assert_int_equal(np_open_dir_at(folder->fd, "missing"), -ENOENT);
}

/* 300 names of 40 characters: more than one getdents64 buffer holds */
static void test_fileio_dir_names_lists_each_name_once_from_the_start(void **state)
{
        struct folder *folder = *state;
        struct np_dir_names names;
        bool seen[300] = {};
        const char *name;
        int error, dir, file;

        for (unsigned int i = 0; i < ARRAY_SIZE(seen); i++) {
                char entry[64];

                snprintf(entry, sizeof(entry), "%03u-a-name-long-enough-to-fill-buffers", i);
                put(folder, entry, "x");
        }
        dir = np_open_dir_at(folder->fd, ".");
        assert_true(dir >= 0);
        for (unsigned int pass = 0; pass < 2; pass++) { /* the second starts over */
                unsigned int n = 0;

                memset(seen, 0, sizeof(seen));
                assert_int_equal(np_dir_names_start(&names, dir), 0);
                while ((name = np_dir_names_next(&names, &error))) {
                        unsigned int i = (unsigned int)atoi(name);

                        assert_string_not_equal(name, ".");
                        assert_string_not_equal(name, "..");
                        assert_true(i < ARRAY_SIZE(seen));
                        assert_false(seen[i]);
                        seen[i] = true;
                        n++;
                }
                assert_int_equal(error, 0);
                assert_int_equal(n, ARRAY_SIZE(seen));
        }
        close(dir);

        file = openat(folder->fd, "000-a-name-long-enough-to-fill-buffers", O_RDONLY | O_CLOEXEC);
        assert_true(file >= 0);
        assert_int_equal(np_dir_names_start(&names, file), 0);
        assert_null(np_dir_names_next(&names, &error));
        assert_int_equal(error, -ENOTDIR);
        close(file);
}

int main(void)
{
#define WITH_FOLDER(test) cmocka_unit_test_setup_teardown(test, folder_setup, folder_teardown)
        const struct CMUnitTest tests[] = {
                WITH_FOLDER(test_fileio_read_file_at_returns_the_whole_file_up_to_the_limit),
                WITH_FOLDER(test_fileio_read_file_at_refuses_one_byte_beyond_the_limit),
                WITH_FOLDER(test_fileio_read_file_at_reports_a_missing_file),
                WITH_FOLDER(test_fileio_read_file_at_refuses_a_fifo_without_blocking),
                WITH_FOLDER(test_fileio_read_file_at_refuses_a_socket_a_device_and_a_folder),
                WITH_FOLDER(test_fileio_read_file_at_follows_a_symlink_to_a_regular_file),
                cmocka_unit_test(test_fileio_read_file_at_reads_proc_and_sysfs_attributes),
                WITH_FOLDER(test_fileio_read_attribute_reads_files_and_refuses_the_rest_fast),
                WITH_FOLDER(test_fileio_kernfs_calls_read_and_write_a_real_cgroup),
                WITH_FOLDER(test_fileio_write_attribute_refuses_a_fifo_without_blocking),
                cmocka_unit_test(test_fileio_read_fd_reads_a_pipe_to_its_end),
                cmocka_unit_test(test_fileio_read_fd_reads_a_pipe_larger_than_its_buffer),
                cmocka_unit_test(test_fileio_read_fd_refuses_a_pipe_beyond_the_limit),
                WITH_FOLDER(test_fileio_read_fd_and_file_at_read_every_size_around_the_first_buffer),
                WITH_FOLDER(test_fileio_write_atomic_creates_a_file_with_the_given_mode),
                WITH_FOLDER(test_fileio_write_atomic_keeps_the_mode_of_an_existing_file),
                WITH_FOLDER(test_fileio_write_own_sets_the_mode_and_never_follows_the_name),
                WITH_FOLDER(test_fileio_write_atomic_leaves_no_temporary_file),
                WITH_FOLDER(test_fileio_write_replace_reuses_the_temporary_name_a_killed_run_left),
                cmocka_unit_test(test_fileio_temporary_name_knows_its_own_names_only),
                WITH_FOLDER(test_fileio_write_atomic_refuses_names_with_a_slash),
                WITH_FOLDER(test_fileio_write_atomic_refuses_to_replace_a_symlink_or_a_folder),
                WITH_FOLDER(test_fileio_write_attribute_writes_an_existing_file_only),
                WITH_FOLDER(test_fileio_open_dir_at_opens_folders_only),
                WITH_FOLDER(test_fileio_dir_names_lists_each_name_once_from_the_start),
        };
#undef WITH_FOLDER

        return cmocka_run_group_tests(tests, NULL, NULL);
}
