/* SPDX-License-Identifier: MIT */
/* Helpers shared by the unit tests: fixture paths (below $NUMAPIN_SRCDIR, else
 * the current directory), private temporary folders, whole-file reads and
 * writes, and cpulist assertions. Include after <cmocka.h>. */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/cpulist.h"
#include "../../core/topology.h"

/* The source tree: $NUMAPIN_SRCDIR, else "." (tests/run.sh runs from the root). */
static inline const char *np_test_srcdir(void)
{
        const char *dir = getenv("NUMAPIN_SRCDIR");
        return dir && *dir ? dir : ".";
}

/* The path of the sysfs fixture tree `name` (a folder of tests/fixtures/sysfs). */
static inline const char *np_test_fixture(const char *name, char *buf, size_t size)
{
        int n = snprintf(buf, size, "%s/tests/fixtures/sysfs/%s", np_test_srcdir(), name);
        assert_true(n > 0 && (size_t)n < size);
        return buf;
}

/* Creates a new private folder below $TMPDIR (or /tmp); buf gets its path. */
static inline const char *np_test_mkdtemp(char *buf, size_t size)
{
        const char *tmp = getenv("TMPDIR");
        int n = snprintf(buf, size, "%s/numapin-unit.XXXXXX", tmp && *tmp ? tmp : "/tmp");

        assert_true(n > 0 && (size_t)n < size);
        assert_non_null(mkdtemp(buf));
        return buf;
}

static inline int np_test_rmtree_at(int parent_fd, const char *name)
{
        int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *dir;
        struct dirent *entry;

        if (fd < 0)
                return unlinkat(parent_fd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
        dir = fdopendir(fd);
        if (!dir) {
                close(fd);
                return -errno;
        }
        while ((entry = readdir(dir)))
                if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
                        np_test_rmtree_at(dirfd(dir), entry->d_name);
        closedir(dir);
        return unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

/* Removes a folder and everything below it (does not follow symlinks). */
static inline void np_test_rmtree(const char *path)
{
        if (path && path[0])
                np_test_rmtree_at(AT_FDCWD, path);
}

/* Copies the regular files and folders below src_fd into dst_fd. */
static inline void np_test_copy_tree_at(int src_fd, int dst_fd)
{
        DIR *dir = fdopendir(dup(src_fd));
        struct dirent *entry;

        assert_non_null(dir);
        while ((entry = readdir(dir))) {
                struct stat st;

                if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                        continue;
                assert_int_equal(fstatat(src_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW), 0);
                if (S_ISDIR(st.st_mode)) {
                        int from, to;

                        assert_int_equal(mkdirat(dst_fd, entry->d_name, 0755), 0);
                        from = openat(src_fd, entry->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        to = openat(dst_fd, entry->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        assert_true(from >= 0 && to >= 0);
                        np_test_copy_tree_at(from, to);
                        close(from);
                        close(to);
                } else if (S_ISREG(st.st_mode)) {
                        char buf[65536];
                        ssize_t n;
                        int from = openat(src_fd, entry->d_name, O_RDONLY | O_CLOEXEC);
                        int to = openat(dst_fd, entry->d_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

                        assert_true(from >= 0 && to >= 0);
                        while ((n = read(from, buf, sizeof(buf))) > 0)
                                assert_int_equal(write(to, buf, (size_t)n), n);
                        assert_int_equal(n, 0);
                        close(from);
                        close(to);
                }
        }
        closedir(dir);
}

/* Copies the folder `src` to the new folder `dst`. */
static inline void np_test_copy_tree(const char *src, const char *dst)
{
        int from, to;

        assert_int_equal(mkdir(dst, 0755), 0);
        from = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        to = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(from >= 0 && to >= 0);
        np_test_copy_tree_at(from, to);
        close(from);
        close(to);
}

/* Writes `text` to `path` (created or truncated), as the whole file. */
static inline void np_test_write_file(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        size_t len = strlen(text);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, len), (ssize_t)len);
        assert_int_equal(close(fd), 0);
}

/* printf-style path below `dir`, written into buf. */
static inline const char *np_test_path(char *buf, size_t size, const char *dir, const char *name)
{
        int n = snprintf(buf, size, "%s/%s", dir, name);
        assert_true(n > 0 && (size_t)n < size);
        return buf;
}

/* The whole file as a NUL-terminated string the caller frees, NULL if it cannot be read. */
static inline char *np_test_read_file(const char *path)
{
        FILE *f = fopen(path, "re");
        char *text = NULL;
        size_t size = 0;

        if (!f)
                return NULL;
        text = malloc(1);
        assert_non_null(text);
        for (;;) {
                char buf[4096];
                size_t n = fread(buf, 1, sizeof(buf), f);
                char *grown;

                if (n == 0)
                        break;
                grown = realloc(text, size + n + 1);
                assert_non_null(grown);
                text = grown;
                memcpy(text + size, buf, n);
                size += n;
        }
        text[size] = '\0';
        fclose(f);
        return text;
}

/* The number of entries in a folder, "." and ".." left out. */
static inline unsigned int np_test_count_entries(const char *path)
{
        DIR *dir = opendir(path);
        struct dirent *entry;
        unsigned int n = 0;

        assert_non_null(dir);
        while ((entry = readdir(dir)))
                if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
                        n++;
        closedir(dir);
        return n;
}

/* Parses a list that the test itself wrote ("0-3,8"). */
static inline struct np_cpulist np_test_cpulist(const char *text)
{
        struct np_cpulist list;

        assert_int_equal(np_cpulist_parse(text, NP_CPULIST_MAX, "test list", NULL, &list), 0);
        return list;
}

/* Compares a cpulist with its expected kernel list form, so a failure prints both. */
#define assert_cpulist_equal(list, expected)                                                                           \
        do {                                                                                                           \
                char _text[NP_CPULIST_BUFSIZE];                                                                        \
                assert_int_equal(np_cpulist_format((list), _text, sizeof(_text)), 0);                                  \
                assert_string_equal(_text, (expected));                                                                \
        } while (0)

/* Loads the sysfs fixture `name`; the test fails with the loader's message if it cannot. */
static inline struct np_topology *np_test_load_topology(const char *name)
{
        struct np_topology *topology = NULL;
        struct np_diag diag = {};
        char root[4096];

        np_test_fixture(name, root, sizeof(root));
        if (np_topology_load(root, &diag, &topology) < 0)
                fail_msg("loading fixture %s: %s", name, diag.message);
        return topology;
}
