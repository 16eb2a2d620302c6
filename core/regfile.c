// SPDX-License-Identifier: MIT
/* Bounded reads of regular files written by others: opened without blocking
 * (a FIFO with no writer would otherwise hang the open), checked to be regular
 * before a byte is read, then read through np_read_fd() with its limit. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "fileio.h"
#include "macro.h"
#include "regfile.h"

int np_read_regular_file_at(int dirfd, const char *path, size_t limit, char **ret_data, size_t *ret_size)
{
        _cleanup_close_ int fd = -1;
        struct stat st;
        int flags;

        fd = openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if (st.st_size > 0 && (size_t)st.st_size > limit)
                return -EFBIG;
        /* a regular file reads the same either way; blocking reads keep np_read_fd simple */
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
                return -errno;
        return np_read_fd(fd, limit, ret_data, ret_size);
}
