/* SPDX-License-Identifier: MIT */
/* Bounded reads and atomic replacement of files, through directory fds. */
#pragma once

#include <stddef.h>

/* Reads all of `path` (relative to dirfd) into a NUL-terminated buffer. Fails
 * with -EFBIG when the file holds more than `limit` bytes. */
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

/* Writes `value` to an existing kernel attribute (cgroup or sysfs file) in one
 * write(2), as the kernel expects. */
int np_write_attribute_at(int dirfd, const char *path, const char *value);

/* Opens a directory (O_DIRECTORY|O_CLOEXEC|O_PATH not used: readable fd). */
int np_open_dir_at(int dirfd, const char *path);

/* Reads all of `path` (relative to dirfd) into a NUL-terminated buffer, as
 * np_read_file_at() does, after opening it with O_NONBLOCK and checking with
 * fstat() that it is a regular file: -EINVAL when it is not (a FIFO, a
 * socket, a device, a directory), -EFBIG beyond `limit` bytes. */
int np_read_regular_file_at(int dirfd, const char *path, size_t limit, char **ret_data, size_t *ret_size);
