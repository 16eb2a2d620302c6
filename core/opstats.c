// SPDX-License-Identifier: MIT
/* The operations counters shared by every numapin process of a node: one file
 * of fixed layout in the state dir, mapped shared, added to atomically. A file
 * of another layout is never read: it is replaced as a whole by rename(). */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "opstats.h"

#define MAGIC   "NPOPSTAT"
#define VERSION 1

const double np_op_bucket_bounds[NP_OP_BUCKETS] = {
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
};

static const char *const source_names[NP_OP_SOURCES] = { [NP_OP_HOOK] = "hook", [NP_OP_NRI] = "nri" };
static const char *const result_names[NP_OP_RESULTS] = {
        [NP_OP_PLACED] = "placed",
        [NP_OP_REFUSED] = "refused",
        [NP_OP_ERROR] = "error",
};
static const char *const method_names[NP_NRI_METHODS] = {
        [NP_NRI_CONFIGURE] = "Configure",
        [NP_NRI_SYNCHRONIZE] = "Synchronize",
        [NP_NRI_CREATE_CONTAINER] = "CreateContainer",
        [NP_NRI_UPDATE_CONTAINER] = "UpdateContainer",
        [NP_NRI_STOP_CONTAINER] = "StopContainer",
        [NP_NRI_POST_CREATE_CONTAINER] = "PostCreateContainer",
        [NP_NRI_REMOVE_CONTAINER] = "RemoveContainer",
        [NP_NRI_STATE_CHANGE] = "StateChange",
        [NP_NRI_SHUTDOWN] = "Shutdown",
        [NP_NRI_OTHER] = "other",
};

struct np_opstats {
        struct np_opstats_data *data;
};

const char *np_op_source_name(enum np_op_source source)
{
        return (size_t)source < NP_OP_SOURCES ? source_names[source] : "unknown";
}

const char *np_op_result_name(enum np_op_result result)
{
        return (size_t)result < NP_OP_RESULTS ? result_names[result] : "unknown";
}

const char *np_nri_method_name(enum np_nri_method method)
{
        return (size_t)method < NP_NRI_METHODS ? method_names[method] : "other";
}

enum np_nri_method np_nri_method_from_name(const char *name)
{
        for (size_t i = 0; i < NP_NRI_OTHER; i++)
                if (strcmp(name, method_names[i]) == 0)
                        return (enum np_nri_method)i;
        return NP_NRI_OTHER;
}

static bool valid_layout(const struct np_opstats_data *data)
{
        return memcmp(data->magic, MAGIC, sizeof(data->magic)) == 0 && data->version == VERSION &&
               data->size == sizeof(*data);
}

/* A new file of the layout under a temporary name, then linked as `name`
 * (`replace`: renamed over it). Another process may win the race to link: its
 * file is then the one used. */
static int create_file(int dir_fd, const char *name, bool replace)
{
        struct np_opstats_data header = { .version = VERSION, .size = sizeof(header) };
        char tmp[64];
        int fd, r = 0;

        memcpy(header.magic, MAGIC, sizeof(header.magic));
        snprintf(tmp, sizeof(tmp), ".%s.%d", name, (int)getpid());
        (void)unlinkat(dir_fd, tmp, 0); /* left by a process of this pid that was killed */
        fd = openat(dir_fd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        if (pwrite(fd, &header, sizeof(header), 0) != (ssize_t)sizeof(header))
                r = errno ? -errno : -EIO;
        else if (replace ? renameat(dir_fd, tmp, dir_fd, name) < 0 : linkat(dir_fd, tmp, dir_fd, name, 0) < 0)
                r = errno == EEXIST ? 0 : -errno;
        close(fd);
        (void)unlinkat(dir_fd, tmp, 0);
        return r;
}

/* Maps `name`: -EINVAL when it is not a regular file of the layout. */
static int map_file(int dir_fd, const char *name, struct np_opstats_data **ret_data)
{
        struct np_opstats_data *data;
        struct stat st;
        int fd = openat(dir_fd, name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

        if (fd < 0)
                return errno == ELOOP ? -EINVAL : -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != (off_t)sizeof(*data)) {
                close(fd);
                return -EINVAL;
        }
        data = mmap(NULL, sizeof(*data), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (data == MAP_FAILED)
                return -errno;
        if (!valid_layout(data)) {
                munmap(data, sizeof(*data));
                return -EINVAL;
        }
        *ret_data = data;
        return 0;
}

int np_opstats_open(const char *state_dir, bool create, struct np_diag *diag, struct np_opstats **ret_opstats)
{
        struct np_opstats_data *data = NULL;
        struct np_opstats *opstats;
        char path[PATH_MAX];
        int dir_fd, r;

        /* by its whole path: the state dir is opened only to make the file */
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", state_dir, NP_OPSTATS_FILE) >= sizeof(path))
                return np_diag_fail(diag, -ENAMETOOLONG, "state dir %s: too long a path", state_dir);
        r = map_file(AT_FDCWD, path, &data);
        if (create && (r == -ENOENT || r == -EINVAL)) {
                dir_fd = openat(AT_FDCWD, state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dir_fd < 0)
                        return np_diag_fail(diag, -errno, "state dir %s: %s", state_dir, strerror(errno));
                /* one maker at a time (the state dir's own flock, which nothing else
                 * takes): a process that found the same damaged file must map the
                 * replacement made meanwhile, not rename its own over it, which
                 * would leave the first counting into an unlinked file */
                while (flock(dir_fd, LOCK_EX) < 0)
                        if (errno != EINTR) {
                                r = -errno;
                                break;
                        }
                if (r == -ENOENT || r == -EINVAL)
                        r = map_file(dir_fd, NP_OPSTATS_FILE, &data);
                if (r == -ENOENT || r == -EINVAL) {
                        if (r == -EINVAL)
                                np_log_debug("%s/%s is not numapin's counters file of this build; counting anew",
                                             state_dir, NP_OPSTATS_FILE);
                        r = create_file(dir_fd, NP_OPSTATS_FILE, r == -EINVAL);
                        if (r == 0)
                                r = map_file(dir_fd, NP_OPSTATS_FILE, &data);
                }
                close(dir_fd);
        }
        if (r < 0)
                return np_diag_fail(diag, r, "%s/%s: %s", state_dir, NP_OPSTATS_FILE,
                                    r == -EINVAL ? "not a counters file of this build" : strerror(-r));
        opstats = malloc(sizeof(*opstats));
        if (!opstats) {
                munmap(data, sizeof(*data));
                return -ENOMEM;
        }
        opstats->data = data;
        *ret_opstats = opstats;
        return 0;
}

void np_opstats_close(struct np_opstats *opstats)
{
        if (!opstats)
                return;
        munmap(opstats->data, sizeof(*opstats->data));
        free(opstats);
}

static void add(uint64_t *counter, uint64_t n)
{
        __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

void np_opstats_placement(struct np_opstats *opstats, enum np_op_source source, enum np_op_result result)
{
        if (opstats && (size_t)source < NP_OP_SOURCES && (size_t)result < NP_OP_RESULTS)
                add(&opstats->data->placements[source][result], 1);
}

void np_opstats_duration(struct np_opstats *opstats, enum np_op_source source, uint64_t duration_ns)
{
        size_t bucket = 0;

        if (!opstats || (size_t)source >= NP_OP_SOURCES)
                return;
        while (bucket < NP_OP_BUCKETS && (double)duration_ns / 1e9 > np_op_bucket_bounds[bucket])
                bucket++;
        add(&opstats->data->duration_buckets[source][bucket], 1);
        add(&opstats->data->duration_ns_sum[source], duration_ns);
}

void np_opstats_nri_request(struct np_opstats *opstats, enum np_nri_method method, bool ok)
{
        if (opstats && (size_t)method < NP_NRI_METHODS)
                add(&opstats->data->nri_requests[method][ok ? 0 : 1], 1);
}

void np_opstats_read(const struct np_opstats *opstats, struct np_opstats_data *ret_data)
{
        const uint64_t *from = (const uint64_t *)&opstats->data->placements[0][0];
        uint64_t *to = &ret_data->placements[0][0];
        size_t n = (sizeof(*ret_data) - offsetof(struct np_opstats_data, placements)) / sizeof(uint64_t);

        memcpy(ret_data, opstats->data, offsetof(struct np_opstats_data, placements));
        for (size_t i = 0; i < n; i++)
                to[i] = __atomic_load_n(&from[i], __ATOMIC_RELAXED);
}
