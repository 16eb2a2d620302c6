/* SPDX-License-Identifier: MIT */
/* Bounded reads and atomic replacement of files, through directory fds.
 * numapin opens with openat(2), at AT_FDCWD where it has no directory fd:
 * musl's open() follows an O_CLOEXEC open with fcntl(F_SETFD), for kernels
 * before 2.6.23, one more system call of the hook's each time. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Opens `path` (relative to dirfd) with `flags` plus O_CLOEXEC|O_NOCTTY,
 * without blocking, and keeps it only when it is a regular file (sysfs, cgroup
 * and proc attributes are): -EINVAL for a FIFO, a socket, a device or a
 * directory, which are never read or written (a directory opened for writing
 * fails open(2) with -EISDIR). Returns the fd, in
 * blocking mode again. */
int np_open_regular_at(int dirfd, const char *path, int flags);

/* Reads all of the regular file `path` (relative to dirfd, opened with
 * np_open_regular_at()) into a NUL-terminated buffer. Fails with -EFBIG when
 * the file holds more than `limit` bytes, -EINVAL when it is not a regular
 * file. */
int np_read_file_at(int dirfd, const char *path, size_t limit, char **ret_data, size_t *ret_size);

/* Reads a whole fd (a pipe such as stdin) with the same limit. */
int np_read_fd(int fd, size_t limit, char **ret_data, size_t *ret_size);

/* Replaces `name` in the directory `dirfd` by writing a temporary file beside it
 * and rename()ing it over the old one: readers see the old or the new contents,
 * never a mix. There is no fsync: what numapin writes (the ledger in /run, a
 * bundle's config.json) describes containers that do not outlive a reboot, and
 * an fsync would double the hook's time. `mode` is used for a new file; an
 * existing file keeps its mode. */
int np_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t size, int mode);
/* The same for a file that one process at a time replaces (a bundle's
 * config.json, which only the hook of that container writes): its temporary
 * name is fixed, so one left by a killed run is reused by the next. */
int np_write_file_replace_at(int dirfd, const char *name, const void *data, size_t size, int mode);
/* The same for a file only numapin writes (the ledger's records and cache): it
 * gets `mode` whatever an older one had, which is not looked at (a call fewer
 * for each record the NRI plugin and the hook write). */
int np_write_file_own_at(int dirfd, const char *name, const void *data, size_t size, int mode);
/* Removes the temporary file a killed np_write_file_replace_at() of `name` left,
 * for a writer that does not replace `name` this time (the next replacement
 * would have reused it). 0 also when there is none. */
int np_write_file_replace_discard_at(int dirfd, const char *name);
/* Whether `name` is a temporary name of the two above. The data is written
 * unnamed (O_TMPFILE) and named only just before the rename, so a killed
 * process rarely leaves one; a directory whose writers all hold the ledger's
 * lock removes those it finds (np_ledger_open, the exited folder). */
bool np_temporary_name(const char *name);

/* Writes `value` to an existing kernel attribute (cgroup or sysfs file) in one
 * write(2), as the kernel expects; opened with np_open_regular_at(), so a FIFO
 * or a device is refused with -EINVAL instead of blocking, a symlink with -ELOOP. */
int np_write_attribute_at(int dirfd, const char *path, const char *value);

/* Whether the directory `dirfd` is on a kernfs mount: cgroupfs (v1 or v2) or
 * sysfs, where every file that is not a folder is a kernel attribute (no FIFO,
 * device or socket can be made there). */
bool np_dir_on_kernfs(int dirfd);
/* np_write_attribute_at() of an attribute in a directory np_dir_on_kernfs()
 * said yes of: without the fstat(2) that keeps other files out. */
int np_write_kernfs_at(int dirfd, const char *path, const char *value);

/* np_read_file_at() of a sysfs, cgroup or proc attribute, in three system calls
 * (openat, read, close), not four: a read shorter than asked is taken as its
 * end (kernfs hands an attribute out whole, a regular file reads short only at
 * its end), never waiting, and the file is fstat()ed only when it read as
 * nothing or failed, to refuse a FIFO, a device or a folder (-EINVAL) as
 * np_read_file_at() does. A topology of 1024 CPUs is some 800 attributes. */
int np_read_attribute_at(int dirfd, const char *path, size_t limit, char **ret_data, size_t *ret_size);

/* Opens a directory (O_DIRECTORY|O_CLOEXEC|O_PATH not used: readable fd). */
int np_open_dir_at(int dirfd, const char *path);

/* The names in an open folder, from its start, read with getdents64(2) into
 * the caller's buffer through the caller's fd: none of the dup(2), fstat(2) and
 * fcntl(2) calls fdopendir(3) makes, and no allocation. "." and ".." are left
 * out. */
struct np_dir_names {
        int fd;
        size_t at, end;
        _Alignas(8) char buf[4096];
};
int np_dir_names_start(struct np_dir_names *names, int dirfd);
/* The next name; NULL at the end (*ret_error 0) or when getdents64 failed. */
const char *np_dir_names_next(struct np_dir_names *names, int *ret_error);

/* The text for a message when a read or write of `path` failed with `error`:
 * "not a regular file (a FIFO); expected a regular file" for the type check's
 * -EINVAL, strerror() otherwise. */
const char *np_file_strerror_at(int dirfd, const char *path, int error);
