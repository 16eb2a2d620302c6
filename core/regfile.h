/* SPDX-License-Identifier: MIT */
/* Reading a file that another party writes (kubelet's state files, the NRI
 * plugin's status): only a regular file is read, and finding out never blocks,
 * so a FIFO or a device put in its place is refused at once instead of hanging
 * the reader. */
#pragma once

#include <stddef.h>

/* Reads all of `path` (relative to dirfd) into a NUL-terminated buffer, as
 * np_read_file_at() does, after opening it with O_NONBLOCK and checking with
 * fstat() that it is a regular file: -EINVAL when it is not (a FIFO, a
 * socket, a device, a directory), -EFBIG beyond `limit` bytes. */
int np_read_regular_file_at(int dirfd, const char *path, size_t limit, char **ret_data, size_t *ret_size);
