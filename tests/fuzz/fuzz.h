/* SPDX-License-Identifier: MIT */
/* What the libFuzzer targets share: the fuzz input as a NUL-terminated string,
 * and a fixture node (state dir, cgroup tree, config, a committed sysfs machine)
 * in a temporary folder, removed at exit. Fuzz targets abort on a setup failure:
 * libFuzzer reports that as a crash, never as a pass. */
#pragma once

#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define fuzz_die(...)                                                                                                  \
        do {                                                                                                           \
                fprintf(stderr, "fuzz setup: " __VA_ARGS__);                                                           \
                fputc('\n', stderr);                                                                                   \
                abort();                                                                                               \
        } while (0)

/* The input with a terminating NUL, malloc'd. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);

        if (!s)
                fuzz_die("out of memory");
        memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

static inline void fuzz_write_file(const char *path, const void *data, size_t size)
{
        FILE *f = fopen(path, "we");

        if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
                fuzz_die("cannot write %s", path);
}

static inline void fuzz_path(char *buf, size_t size, const char *dir, const char *name)
{
        if ((size_t)snprintf(buf, size, "%s/%s", dir, name) >= size)
                fuzz_die("path too long: %s/%s", dir, name);
}

static inline void fuzz_mkdir(const char *path)
{
        if (mkdir(path, 0755) < 0)
                fuzz_die("cannot create %s", path);
}

static int fuzz_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static inline void fuzz_rmtree(const char *path)
{
        nftw(path, fuzz_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void fuzz_mkdtemp(char *buf, size_t size)
{
        const char *tmp = getenv("TMPDIR");

        snprintf(buf, size, "%s/numapin-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(buf))
                fuzz_die("mkdtemp %s failed", buf);
}

struct fuzz_node {
        char dir[PATH_MAX];
        char state[PATH_MAX];
        char cgroup[PATH_MAX];
        char config[PATH_MAX];
        char config_text[PATH_MAX * 2];
        char sysfs[PATH_MAX];
        char kubelet[PATH_MAX];
};

static struct fuzz_node *fuzz_atexit_node;
static void fuzz_node_remove(void)
{
        if (fuzz_atexit_node)
                fuzz_rmtree(fuzz_atexit_node->dir);
}

/* tests/fixtures/sysfs/<machine> (from NUMAPIN_SRCDIR, the build's source folder by default) */
static inline void fuzz_fixture(const char *machine, char *buf, size_t size)
{
        const char *src = getenv("NUMAPIN_SRCDIR");
        char rel[PATH_MAX];

        snprintf(rel, sizeof(rel), "%s/tests/fixtures/sysfs/%s", src && *src ? src : NUMAPIN_SRCDIR, machine);
        if (!realpath(rel, buf) || strlen(buf) >= size)
                fuzz_die("no sysfs fixture %s (set NUMAPIN_SRCDIR to the source folder)", rel);
}

/* A node as tests/unit/helpers.h's np_test_node_init makes it: the state, cgroup
 * (a v1 cpuset hierarchy) and kubelet folders and config.json in a temporary
 * folder, the monitor off and every path of the config inside the folder, so
 * that nothing a target does reaches the machine's own numapin state. */
static inline void fuzz_node_init(struct fuzz_node *node, const char *machine)
{
        char path[PATH_MAX];

        fuzz_mkdtemp(node->dir, sizeof(node->dir));
        fuzz_atexit_node = node;
        atexit(fuzz_node_remove);
        fuzz_path(node->state, sizeof(node->state), node->dir, "state");
        fuzz_path(node->cgroup, sizeof(node->cgroup), node->dir, "cgroup");
        fuzz_path(node->config, sizeof(node->config), node->dir, "config.json");
        fuzz_path(node->kubelet, sizeof(node->kubelet), node->dir, "kubelet");
        fuzz_fixture(machine, node->sysfs, sizeof(node->sysfs));
        fuzz_mkdir(node->cgroup);
        fuzz_mkdir(node->kubelet);
        fuzz_path(path, sizeof(path), node->cgroup, "cpuset");
        fuzz_mkdir(path);
        fuzz_path(path, sizeof(path), node->cgroup, "cpuset/cpuset.cpus");
        fuzz_write_file(path, "0-31", 4);
        snprintf(node->config_text, sizeof(node->config_text),
                 "{\"monitor\": false, \"log_level\": \"error\", \"state_dir\": \"%s\", \"kubelet_root_dir\": \"%s\", "
                 "\"monitor_pin_dir\": \"%s/bpf\"}",
                 node->state, node->kubelet, node->dir);
        fuzz_write_file(node->config, node->config_text, strlen(node->config_text));
}
