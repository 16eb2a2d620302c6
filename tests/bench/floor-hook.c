// SPDX-License-Identifier: MIT
/* The floor for the hook benchmark: the system calls numapin-hook's createRuntime
 * cannot do without for one bound container, with no JSON parsing, no topology
 * model and no placement. It installs numapin's own seccomp filter, reads its
 * state from stdin, reads the CPUs and nodes online, takes the ledger's lock,
 * writes a record atomically, writes cpuset.mems and cpuset.cpus, and replaces
 * the bundle's config.json atomically (with the bytes it read). Linked as
 * numapin-hook is, so that numapin's time over it is its own work.
 * usage: floor-hook STATE-DIR CGROUP-DIR CPUS MEMS < OCI-state-JSON */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "../../core/macro.h"
#include "../../core/sandbox.h"

static char input[65536];
static char spec[1 << 20];

static int read_all(int fd, char *buf, size_t size, size_t *ret_len)
{
        size_t len = 0;
        ssize_t n;

        while (len < size && (n = read(fd, buf + len, size - len)) > 0)
                len += (size_t)n;
        if (len == size)
                return -1;
        *ret_len = len;
        return 0;
}

static int read_file(int dir_fd, const char *name, char *buf, size_t size, size_t *ret_len)
{
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

        return fd < 0 ? -1 : read_all(fd, buf, size, ret_len);
}

/* Writes `name` below dir_fd through a temporary file renamed over it. */
static int replace_file(int dir_fd, const char *name, const char *text, size_t len)
{
        char tmp[256];
        _cleanup_close_ int fd = -1;

        snprintf(tmp, sizeof(tmp), ".%s.floor.tmp", name);
        fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, text, len) != (ssize_t)len)
                return -1;
        return renameat(dir_fd, tmp, dir_fd, name);
}

static int write_file(int dir_fd, const char *name, const char *text)
{
        _cleanup_close_ int fd = openat(dir_fd, name, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);

        return fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) ? -1 : 0;
}

/* The bundle's path from the state's "bundle":"..." member, without a parser. */
static int find_bundle(char *state, const char **ret_bundle)
{
        char *start = strstr(state, "\"bundle\":\""), *end;

        if (!start)
                return -1;
        start += strlen("\"bundle\":\"");
        end = strchr(start, '"');
        if (!end)
                return -1;
        *end = '\0';
        *ret_bundle = start;
        return 0;
}

static int run(const char *state_dir, const char *cgroup_dir, const char *cpus, const char *mems)
{
        _cleanup_close_ int state_fd = -1, lock_fd = -1, records_fd = -1, cgroup_fd = -1, bundle_fd = -1;
        const char *bundle = NULL;
        char online[256], record[512];
        size_t len;
        struct np_diag diag;

        if (read_all(STDIN_FILENO, input, sizeof(input) - 1, &len) < 0)
                return -1;
        input[len] = '\0';
        if (np_sandbox_apply(NP_SANDBOX_HOOK, false, &diag) < 0 || find_bundle(input, &bundle) < 0)
                return -1;
        bundle_fd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (bundle_fd < 0 || read_file(bundle_fd, "config.json", spec, sizeof(spec), &len) < 0)
                return -1;
        if (read_file(AT_FDCWD, "/sys/devices/system/node/online", online, sizeof(online), &(size_t){ 0 }) < 0 ||
            read_file(AT_FDCWD, "/sys/devices/system/cpu/online", online, sizeof(online), &(size_t){ 0 }) < 0)
                return -1;

        state_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (state_fd < 0)
                return -1;
        lock_fd = openat(state_fd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
        records_fd = openat(state_fd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (lock_fd < 0 || records_fd < 0 || flock(lock_fd, LOCK_EX) < 0)
                return -1;
        snprintf(record, sizeof(record), "{\n  \"id\": \"floor\",\n  \"cpus\": \"%s\",\n  \"nodes\": \"%s\"\n}\n", cpus,
                 mems);
        if (replace_file(records_fd, "floor.json", record, strlen(record)) < 0)
                return -1;

        cgroup_fd = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cgroup_fd < 0 || write_file(cgroup_fd, "cpuset.mems", mems) < 0 ||
            write_file(cgroup_fd, "cpuset.cpus", cpus) < 0)
                return -1;
        if (replace_file(bundle_fd, "config.json", spec, len) < 0)
                return -1;
        return flock(lock_fd, LOCK_UN);
}

int main(int argc, char **argv)
{
        if (argc != 5) {
                fprintf(stderr, "usage: floor-hook STATE-DIR CGROUP-DIR CPUS MEMS < OCI-state-JSON\n");
                return 2;
        }
        if (run(argv[1], argv[2], argv[3], argv[4]) < 0) {
                perror("floor-hook");
                return 1;
        }
        return 0;
}
