// SPDX-License-Identifier: MIT
/* File helpers: every read is bounded, every replacement atomic (temporary file
 * beside the target, then rename), every open O_CLOEXEC and relative to a
 * directory fd so tests can point them at fixture trees. A process killed
 * mid-replacement leaves the old file whole and at most a temporary name. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/magic.h>

#include "fileio.h"
#include "macro.h"

/* what stat(2) says of every sysfs attribute but the binary ones */
#define SYSFS_ATTRIBUTE_SIZE 4096
/* read_fd()'s `file_size` for an attribute read without fstat(2)
 * (np_read_attribute_at()): a read shorter than asked ends it (kernfs fills a
 * read as far as the attribute goes, a regular file up to its end), and EAGAIN
 * is an error, never a wait */
#define ATTRIBUTE_READ ((off_t)-1)

/* One read(2) of at most `len` bytes, again after EINTR; a file opened without
 * blocking (np_read_file_at) reads blocking from its first EAGAIN on, unless
 * `may_block` is false. */
static ssize_t read_some(int fd, char *buf, size_t len, bool may_block)
{
        for (;;) {
                ssize_t n = read(fd, buf, len);
                int flags;

                if (n >= 0)
                        return n;
                if (errno == EINTR)
                        continue;
                if (may_block && errno == EAGAIN && (flags = fcntl(fd, F_GETFL)) >= 0 && (flags & O_NONBLOCK) &&
                    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) >= 0)
                        continue;
                return -errno;
        }
}

/* `file_size`: what fstat(2) said of a regular file, 0 when not known,
 * ATTRIBUTE_READ for an attribute read without it. The
 * read that would return 0 is left out where the size tells the end already:
 * all of a file's st_size read, or a sysfs attribute (st_size is the page
 * size, and its one show() comes whole with the first read at offset 0). A
 * file that grows meanwhile reads as it was at the fstat, a valid moment too;
 * one larger than `limit` then is refused unread.
 * The heap gets what the file holds and no more: a file of known size reads
 * into a buffer of that size, anything else (an attribute, a pipe) first into
 * one on the stack. A hook's run reads a dozen attributes of a few bytes, and
 * a page of heap for each would cost a page fault each. */
static int read_fd(int fd, size_t limit, off_t file_size, char **ret_data, size_t *ret_size)
{
        _cleanup_free_ char *data = NULL;
        char head[2048];
        char *buf = head;
        size_t size = 0, capacity = sizeof(head);

        if (file_size > 0 && file_size != SYSFS_ATTRIBUTE_SIZE) {
                if ((uint64_t)file_size > limit)
                        return -EFBIG;
                capacity = (size_t)file_size;
                data = malloc(capacity + 1);
                if (!data)
                        return -ENOMEM;
                buf = data;
        }
        for (;;) {
                ssize_t n;

                if (size == capacity) {
                        size_t next = capacity < 4096 ? 4096 : capacity * 2;
                        char *grown;

                        if (capacity > limit)
                                return -EFBIG;
                        if (next > limit + 1)
                                next = limit + 1;
                        if (next <= capacity)
                                return -EFBIG;
                        grown = realloc(data, next + 1);
                        if (!grown)
                                return -ENOMEM;
                        if (buf == head)
                                memcpy(grown, head, size);
                        buf = data = grown;
                        capacity = next;
                }
                n = read_some(fd, buf + size, capacity - size, file_size != ATTRIBUTE_READ);
                if (n < 0)
                        return (int)n;
                if (n == 0)
                        break;
                size += (size_t)n;
                if (size > limit)
                        return -EFBIG;
                if (file_size > 0 &&
                    ((off_t)size == file_size || (file_size == SYSFS_ATTRIBUTE_SIZE && size == (size_t)n &&
                                                  size < capacity && (off_t)size < file_size)))
                        break;
                if (file_size == ATTRIBUTE_READ && size < capacity)
                        break;
        }
        if (buf == head) {
                data = malloc(size + 1);
                if (!data)
                        return -ENOMEM;
                memcpy(data, head, size);
        }
        data[size] = '\0';
        *ret_data = TAKE_PTR(data);
        if (ret_size)
                *ret_size = size;
        return 0;
}

int np_read_fd(int fd, size_t limit, char **ret_data, size_t *ret_size)
{
        return read_fd(fd, limit, 0, ret_data, ret_size);
}

/* Opens `path` without blocking (a FIFO without a writer, or without a reader
 * when writing, would hang open(2) or read(2) forever) and keeps it only when
 * it is a regular file, as sysfs, cgroup and proc attributes are too: -EINVAL
 * for anything else (a FIFO, a socket, a device, a directory).
 * O_NONBLOCK is cleared again before the fd is handed out, by one F_SETFL with
 * the status flags this open set (F_SETFL changes only O_APPEND, O_ASYNC,
 * O_DIRECT, O_NOATIME and O_NONBLOCK): no F_GETFL, one system call less a file. */
static int open_regular(int dirfd, const char *path, int flags, bool keep_nonblock, off_t *ret_file_size)
{
        _cleanup_close_ int fd = -1;
        struct stat st;

        fd = openat(dirfd, path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                int r = -errno;

                /* a socket, or a FIFO opened for writing without a reader, fails open(2) itself */
                if (r == -ENXIO && fstatat(dirfd, path, &st, (flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0) == 0 &&
                    !S_ISREG(st.st_mode))
                        return -EINVAL;
                return r;
        }
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if (!keep_nonblock && fcntl(fd, F_SETFL, flags & (O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME)) < 0)
                return -errno;
        if (ret_file_size)
                *ret_file_size = st.st_size;
        return TAKE_FD(fd);
}

int np_open_regular_at(int dirfd, const char *path, int flags)
{
        return open_regular(dirfd, path, flags, false, NULL);
}

/* The fd never leaves: O_NONBLOCK stays (a regular file reads the same with it),
 * and np_read_fd() clears it should a file system answer EAGAIN. Reading the
 * topology of 1024 CPUs is some 5000 files. */
int np_read_file_at(int dirfd, const char *path, size_t limit, char **ret_data, size_t *ret_size)
{
        _cleanup_close_ int fd = -1;
        off_t file_size = 0;

        fd = open_regular(dirfd, path, O_RDONLY, true, &file_size);
        if (fd < 0)
                return fd;
        return read_fd(fd, limit, file_size, ret_data, ret_size);
}

bool np_dir_on_kernfs(int dirfd)
{
        struct statfs fs;

        return fstatfs(dirfd, &fs) == 0 &&
               ((unsigned long)fs.f_type == CGROUP_SUPER_MAGIC || (unsigned long)fs.f_type == CGROUP2_SUPER_MAGIC ||
                (unsigned long)fs.f_type == SYSFS_MAGIC);
}

/* Opened as open_regular() opens a file, without its fstat(2): in a kernfs
 * directory every file that is not a folder is an attribute. */
static int open_kernfs(int dirfd, const char *path, int flags)
{
        int fd = openat(dirfd, path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);

        return fd < 0 ? -errno : fd;
}

/* An attribute without an fstat(2) first: a FIFO, a device or a folder reads as
 * nothing, as an error or as more than `limit`, and only then is it looked at,
 * to be refused as open_regular() refuses it. A FIFO that a writer feeds reads
 * as a file holding what came first: nothing waits for it. */
int np_read_attribute_at(int dirfd, const char *path, size_t limit, char **ret_data, size_t *ret_size)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *data = NULL;
        struct stat st;
        size_t size = 0;
        int r;

        fd = openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                /* a socket fails open(2) itself */
                if (r == -ENXIO && fstatat(dirfd, path, &st, 0) == 0 && !S_ISREG(st.st_mode))
                        return -EINVAL;
                return r;
        }
        r = read_fd(fd, limit, ATTRIBUTE_READ, &data, &size);
        if ((r < 0 || size == 0) && fstat(fd, &st) == 0 && !S_ISREG(st.st_mode))
                return -EINVAL;
        if (r < 0)
                return r;
        *ret_data = TAKE_PTR(data);
        if (ret_size)
                *ret_size = size;
        return 0;
}

const char *np_file_strerror_at(int dirfd, const char *path, int error)
{
        struct stat st;

        if (error != -EINVAL || fstatat(dirfd, path, &st, 0) < 0 || S_ISREG(st.st_mode))
                return strerror(-error);
        switch (st.st_mode & S_IFMT) {
        case S_IFIFO:
                return "not a regular file (a FIFO); expected a regular file";
        case S_IFSOCK:
                return "not a regular file (a socket); expected a regular file";
        case S_IFCHR:
                return "not a regular file (a character device); expected a regular file";
        case S_IFBLK:
                return "not a regular file (a block device); expected a regular file";
        case S_IFDIR:
                return "not a regular file (a directory); expected a regular file";
        default:
                return "not a regular file; expected a regular file";
        }
}

static int write_all(int fd, const void *data, size_t size)
{
        const char *p = data;

        while (size > 0) {
                ssize_t n = write(fd, p, size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                size -= (size_t)n;
        }
        return 0;
}

/* The temporary names of replacements: ".NAME.numapin-PID.tmp" for a file
 * several processes may replace at once, ".NAME.numapin.tmp" for one that
 * only one process writes at a time. */
#define TEMPORARY_MARK   ".numapin"
#define TEMPORARY_SUFFIX ".tmp"

bool np_temporary_name(const char *name)
{
        size_t len = strlen(name), suffix = strlen(TEMPORARY_SUFFIX);
        const char *mark;

        if (name[0] != '.' || len <= suffix || strcmp(name + len - suffix, TEMPORARY_SUFFIX) != 0)
                return false;
        mark = strstr(name + 1, TEMPORARY_MARK);
        while (mark && strstr(mark + 1, TEMPORARY_MARK))
                mark = strstr(mark + 1, TEMPORARY_MARK);
        if (!mark)
                return false;
        mark += strlen(TEMPORARY_MARK);
        if (*mark == '-') /* a pid */
                for (mark++; *mark >= '0' && *mark <= '9'; mark++)
                        ;
        return strcmp(mark, TEMPORARY_SUFFIX) == 0;
}

/* The new file's data, in a file no one can see yet: an unnamed one
 * (O_TMPFILE) given the temporary name only once complete, or where the file
 * system has none, one created under that name. */
static int write_temporary(int dirfd, const char *tmp, const void *data, size_t size, int mode, bool anonymous)
{
        _cleanup_close_ int fd = -1;
        char fd_path[64];
        int r;

        if (anonymous) {
                fd = openat(dirfd, ".", O_WRONLY | O_TMPFILE | O_CLOEXEC, mode);
                if (fd < 0 && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
                        return -errno;
        }
        if (fd < 0) {
                anonymous = false;
                fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
                if (fd < 0)
                        return -errno;
        }
        r = fchmod(fd, (mode_t)mode) < 0 ? -errno : 0;
        if (r == 0)
                r = write_all(fd, data, size);
        if (r < 0 || !anonymous)
                return r;
        /* a name left by a killed process of this pid goes first */
        (void)unlinkat(dirfd, tmp, 0);
        snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", fd);
        if (linkat(AT_FDCWD, fd_path, dirfd, tmp, AT_SYMLINK_FOLLOW) < 0)
                return -errno;
        return 0;
}

/* The temporary name of a replacement of `name` */
static int temporary_name(const char *name, bool single_writer, char *buf, size_t size)
{
        int r;

        if (strchr(name, '/'))
                return -EINVAL;
        if (single_writer)
                r = snprintf(buf, size, ".%s" TEMPORARY_MARK TEMPORARY_SUFFIX, name);
        else
                r = snprintf(buf, size, ".%s" TEMPORARY_MARK "-%d" TEMPORARY_SUFFIX, name, (int)getpid());
        return r < 0 || (size_t)r >= size ? -ENAMETOOLONG : 0;
}

static int replace(int dirfd, const char *name, const void *data, size_t size, int mode, bool single_writer,
                   bool keep_mode)
{
        char tmp[4096];
        struct stat st;
        int r;

        r = temporary_name(name, single_writer, tmp, sizeof(tmp));
        if (r < 0)
                return r;
        if (keep_mode && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if (!S_ISREG(st.st_mode))
                        return -EINVAL;
                mode = (int)(st.st_mode & 07777);
        }
        /* one writer: the fixed name is reused, so nothing can be left beside it */
        r = write_temporary(dirfd, tmp, data, size, mode, !single_writer);
        if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = -errno;
        if (r < 0)
                unlinkat(dirfd, tmp, 0);
        return r;
}

int np_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t size, int mode)
{
        return replace(dirfd, name, data, size, mode, false, true);
}

int np_write_file_replace_at(int dirfd, const char *name, const void *data, size_t size, int mode)
{
        return replace(dirfd, name, data, size, mode, true, true);
}

int np_write_file_own_at(int dirfd, const char *name, const void *data, size_t size, int mode)
{
        return replace(dirfd, name, data, size, mode, true, false);
}

int np_write_file_replace_discard_at(int dirfd, const char *name)
{
        char tmp[4096];
        int r = temporary_name(name, true, tmp, sizeof(tmp));

        if (r < 0)
                return r;
        return unlinkat(dirfd, tmp, 0) < 0 && errno != ENOENT ? -errno : 0;
}

/* O_NONBLOCK stays, as np_read_file_at()'s: a regular file (a cgroup's
 * attribute is one) writes the same with it, and the fd never leaves. */
/* Writes `value` to the open attribute `fd` in one write(2). */
static int write_attribute(int fd, const char *value)
{
        size_t len = strlen(value);
        ssize_t n;

        do
                n = write(fd, value, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if ((size_t)n != len)
                return -EIO;
        return 0;
}

int np_write_attribute_at(int dirfd, const char *path, const char *value)
{
        _cleanup_close_ int fd = open_regular(dirfd, path, O_WRONLY | O_TRUNC | O_NOFOLLOW, true, NULL);

        return fd < 0 ? fd : write_attribute(fd, value);
}

int np_write_kernfs_at(int dirfd, const char *path, const char *value)
{
        _cleanup_close_ int fd = open_kernfs(dirfd, path, O_WRONLY | O_TRUNC);

        return fd < 0 ? fd : write_attribute(fd, value);
}

int np_dir_names_start(struct np_dir_names *names, int dirfd)
{
        names->fd = dirfd;
        names->at = names->end = 0;
        return lseek(dirfd, 0, SEEK_SET) < 0 ? -errno : 0;
}

const char *np_dir_names_next(struct np_dir_names *names, int *ret_error)
{
        *ret_error = 0;
        for (;;) {
                const struct dirent64 *entry;

                if (names->at >= names->end) {
                        /* the call itself: glibc's wrapper and musl's differ in name and type */
                        ssize_t n = syscall(SYS_getdents64, names->fd, names->buf, sizeof(names->buf));

                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                *ret_error = n < 0 ? -errno : 0;
                                return NULL;
                        }
                        names->at = 0;
                        names->end = (size_t)n;
                }
                entry = (const struct dirent64 *)(names->buf + names->at);
                if (entry->d_reclen == 0 || entry->d_reclen > names->end - names->at) {
                        *ret_error = -EIO; /* not what the kernel writes */
                        return NULL;
                }
                names->at += entry->d_reclen;
                if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
                        return entry->d_name;
        }
}

int np_open_dir_at(int dirfd, const char *path)
{
        int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}
