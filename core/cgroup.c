// SPDX-License-Identifier: MIT
/* Finds the container's cpuset cgroup (from its init's /proc/<pid>/cgroup, or
 * from the spec's cgroupsPath) and writes cpuset.cpus/cpuset.mems there. Paths
 * are validated before use: no "..", no "." and no empty components, so a
 * hostile cgroupsPath cannot reach outside the hierarchy. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "fileio.h"

#define PROC_CGROUP_LIMIT (64 * 1024)

void np_cgroup_saved_clear(struct np_cgroup_saved *saved)
{
        free(saved->cpus);
        free(saved->mems);
        free(saved->memory_migrate);
        saved->cpus = saved->mems = saved->memory_migrate = NULL;
}

int np_cgroup_detect(const char *root, struct np_diag *diag, enum np_cgroup_layout *ret_layout)
{
        _cleanup_free_ char *controllers = NULL;
        char path[PATH_MAX];
        struct stat st;
        int r;

        /* by whole paths: the root is looked at only to say it is missing */
        if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.controllers", root) >= sizeof(path))
                return np_diag_fail(diag, -ENAMETOOLONG, "cgroup root %s: too long a path", root);
        r = np_read_file_at(AT_FDCWD, path, 4096, &controllers, NULL);
        if (r == 0) {
                /* pure v2: cpuset must be among the root's controllers */
                for (char *word = strtok(controllers, " \n"); word; word = strtok(NULL, " \n"))
                        if (strcmp(word, "cpuset") == 0) {
                                *ret_layout = NP_CGROUP_UNIFIED;
                                return 0;
                        }
                return np_diag_fail(diag, -ENODEV,
                                    "cgroup root %s: the cpuset controller is not available on cgroup v2", root);
        }
        snprintf(path, sizeof(path), "%s/cpuset/cpuset.cpus", root);
        if (stat(path, &st) == 0) {
                *ret_layout = NP_CGROUP_LEGACY;
                return 0;
        }
        if (stat(root, &st) < 0)
                return np_diag_fail(diag, -errno, "cgroup root %s: %s", root, strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return np_diag_fail(diag, -ENOTDIR, "cgroup root %s: %s", root, strerror(ENOTDIR));
        return np_diag_fail(diag, -ENODEV,
                            "cgroup root %s: no cpuset controller (neither cgroup v2 nor a v1 cpuset hierarchy)", root);
}

/* Checks a cgroup path: '/'-separated, no empty, "." or ".." components, no
 * control characters. */
static int validate_path(const char *path, const char *what, struct np_diag *diag)
{
        char quoted[128];
        const char *p = path;

        for (const char *c = path; *c; c++)
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                        return np_diag_fail(diag, -EINVAL, "%s '%s': control character in the path", what,
                                            np_log_quote(quoted, sizeof(quoted), path));
        while (*p) {
                size_t len;

                while (*p == '/')
                        p++;
                len = strcspn(p, "/");
                if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
                        return np_diag_fail(
                                diag, -EINVAL,
                                "%s '%s': '.' and '..' are not allowed; expected a path inside the cgroup hierarchy",
                                what, np_log_quote(quoted, sizeof(quoted), path));
                p += len;
        }
        return 0;
}

int np_cgroup_path_from_pid(const char *proc_root, int pid, enum np_cgroup_layout layout, struct np_diag *diag,
                            char *ret_path, size_t size)
{
        return np_cgroup_controller_path(proc_root, pid, layout == NP_CGROUP_UNIFIED ? NULL : "cpuset", diag, ret_path,
                                         size);
}

int np_cgroup_controller_path(const char *proc_root, int pid, const char *controller, struct np_diag *diag,
                              char *ret_path, size_t size)
{
        _cleanup_free_ char *text = NULL;
        char file[PATH_MAX];
        int r;

        snprintf(file, sizeof(file), "%s/%d/cgroup", proc_root, pid);
        r = np_read_file_at(AT_FDCWD, file, PROC_CGROUP_LIMIT, &text, NULL);
        if (r < 0)
                return np_diag_fail(diag, r, "%s: %s", file, np_file_strerror_at(AT_FDCWD, file, r));
        for (char *line = text, *next; line && *line; line = next) {
                char *first, *second;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                first = strchr(line, ':');
                second = first ? strchr(first + 1, ':') : NULL;
                if (!second)
                        continue;
                *first = *second = '\0';
                if (!controller) {
                        if (strcmp(line, "0") != 0 || first[1] != '\0')
                                continue;
                } else {
                        bool listed = false;
                        for (char *c = strtok(first + 1, ","); c; c = strtok(NULL, ","))
                                listed = listed || strcmp(c, controller) == 0;
                        if (!listed)
                                continue;
                }
                if (second[1] != '/' || strlen(second + 1) >= size)
                        return np_diag_fail(diag, -EINVAL, "%s: the cgroup path is not an absolute path", file);
                r = validate_path(second + 1, file, diag);
                if (r < 0)
                        return r;
                strcpy(ret_path, second + 1);
                return 0;
        }
        return np_diag_fail(diag, -ENOENT, "%s: no %s line", file, controller ? controller : "cgroup v2 (0::)");
}

/* "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice" (systemd's slice nesting). */
static int expand_slice(const char *slice, char *out, size_t size)
{
        size_t len = strlen(slice), used = 0;

        if (strcmp(slice, "-.slice") == 0) {
                out[0] = '\0';
                return 0;
        }
        if (len <= 6 || strcmp(slice + len - 6, ".slice") != 0 || slice[0] == '-' || strchr(slice, '/'))
                return -EINVAL;
        out[0] = '\0';
        for (size_t i = 0; i < len - 6; i++) {
                if (slice[i] != '-')
                        continue;
                if (slice[i + 1] == '-' || slice[i + 1] == '.')
                        return -EINVAL;
                if (used + i + 8 >= size)
                        return -ENAMETOOLONG;
                used += (size_t)snprintf(out + used, size - used, "/%.*s.slice", (int)i, slice);
        }
        if (used + len + 2 >= size)
                return -ENAMETOOLONG;
        snprintf(out + used, size - used, "/%s", slice);
        return 0;
}

int np_cgroup_path_from_spec(const char *cgroups_path, const char *id, struct np_diag *diag, char *ret_path,
                             size_t size)
{
        char quoted[128], slice_path[PATH_MAX];
        const char *colon1, *colon2;
        int r;

        if (cgroups_path[0] == '\0') {
                if ((size_t)snprintf(ret_path, size, "/%s", id) >= size)
                        return -ENAMETOOLONG;
                return 0;
        }
        colon1 = strchr(cgroups_path, ':');
        if (cgroups_path[0] != '/' && colon1) {
                char slice[PATH_MAX], prefix[PATH_MAX], name[PATH_MAX];

                colon2 = strchr(colon1 + 1, ':');
                if (!colon2 || strchr(colon2 + 1, ':'))
                        return np_diag_fail(diag, -EINVAL,
                                            "linux.cgroupsPath '%s': expected a path or systemd's slice:prefix:name",
                                            np_log_quote(quoted, sizeof(quoted), cgroups_path));
                snprintf(slice, sizeof(slice), "%.*s", (int)(colon1 - cgroups_path), cgroups_path);
                snprintf(prefix, sizeof(prefix), "%.*s", (int)(colon2 - colon1 - 1), colon1 + 1);
                snprintf(name, sizeof(name), "%s", colon2 + 1);
                if (slice[0] == '\0')
                        strcpy(slice, "system.slice");
                if (strchr(prefix, '/') || strchr(name, '/') || name[0] == '\0' || strstr(name, "..") ||
                    strstr(prefix, ".."))
                        return np_diag_fail(diag, -EINVAL, "linux.cgroupsPath '%s': bad systemd prefix or name",
                                            np_log_quote(quoted, sizeof(quoted), cgroups_path));
                r = expand_slice(slice, slice_path, sizeof(slice_path));
                if (r < 0)
                        return np_diag_fail(
                                diag, -EINVAL,
                                "linux.cgroupsPath '%s': '%s' is not a systemd slice name (like machine-pods.slice)",
                                np_log_quote(quoted, sizeof(quoted), cgroups_path), slice);
                size_t n = strlen(name);
                if (n > 6 && strcmp(name + n - 6, ".slice") == 0)
                        r = snprintf(ret_path, size, "%s/%s", slice_path, name);
                else if (prefix[0])
                        r = snprintf(ret_path, size, "%s/%s-%s.scope", slice_path, prefix, name);
                else
                        r = snprintf(ret_path, size, "%s/%s.scope", slice_path, name);
                return r < 0 || (size_t)r >= size ? -ENAMETOOLONG : 0;
        }
        r = validate_path(cgroups_path, "linux.cgroupsPath", diag);
        if (r < 0)
                return r;
        r = snprintf(ret_path, size, "%s%s", cgroups_path[0] == '/' ? "" : "/", cgroups_path);
        return r < 0 || (size_t)r >= size ? -ENAMETOOLONG : 0;
}

/* A cgroup file's value without its newline. */
static int read_value(int dirfd, const char *name, char **ret_value)
{
        size_t size;
        int r = np_read_attribute_at(dirfd, name, 65536, ret_value, &size);

        if (r == 0 && size > 0 && (*ret_value)[size - 1] == '\n')
                (*ret_value)[size - 1] = '\0';
        return r;
}

/* Whether a file's value, as read_value() gave it, is already `value`: the
 * kernel's lists are in the canonical form np_cpulist_format() writes, so the
 * write would change nothing (for cpuset.mems, migrate no page) and is left out:
 * a second stage, or a node whose cgroup holds the placement already, writes none. */
static bool holds_value(const char *saved, const char *value)
{
        return saved && strcmp(saved, value) == 0;
}

/* `kernfs`: the directory is on a cgroup mount (np_dir_on_kernfs()), where a
 * file is written without the fstat(2) that keeps FIFOs out elsewhere. */
static int write_value(int dirfd, bool kernfs, const char *name, const char *value)
{
        return kernfs ? np_write_kernfs_at(dirfd, name, value) : np_write_attribute_at(dirfd, name, value);
}

/* On v2, turns on cpuset in the cgroup.subtree_control of every ancestor of
 * `path`, from the root down to the container's own parent. */
static int enable_cpuset_in_parents(int root_fd, bool kernfs, const char *path, const char *root,
                                    struct np_diag *diag)
{
        char parent[PATH_MAX] = ".";
        const char *p = path;

        for (;;) {
                _cleanup_free_ char *control = NULL;
                _cleanup_close_ int fd = -1;
                bool enabled = false;
                size_t len;
                int r;

                while (*p == '/')
                        p++;
                len = strcspn(p, "/");
                if (len == 0)
                        return 0; /* `parent` is the container itself: done */
                fd = openat(root_fd, parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return np_diag_fail(diag, -errno, "cgroup %s/%s: %s", root, parent, strerror(errno));
                if (read_value(fd, "cgroup.subtree_control", &control) == 0)
                        for (char *w = strtok(control, " "); w; w = strtok(NULL, " "))
                                enabled = enabled || strcmp(w, "cpuset") == 0;
                if (!enabled) {
                        r = write_value(fd, kernfs, "cgroup.subtree_control", "+cpuset");
                        if (r < 0)
                                return np_diag_fail(diag, r,
                                                    "cgroup %s/%s: cannot enable cpuset in cgroup.subtree_control: %s",
                                                    root, parent, np_file_strerror_at(fd, "cgroup.subtree_control", r));
                }
                if (strlen(parent) + len + 2 >= sizeof(parent))
                        return -ENAMETOOLONG;
                strcat(parent, "/");
                strncat(parent, p, len);
                p += len;
        }
}

int np_cgroup_revert(const char *root, enum np_cgroup_layout layout, const char *path,
                     const struct np_cgroup_saved *saved)
{
        _cleanup_close_ int dir_fd = -1;
        char dir[PATH_MAX];
        int r = 0;

        snprintf(dir, sizeof(dir), "%s%s%s", root, layout == NP_CGROUP_LEGACY ? "/cpuset" : "", path);
        dir_fd = openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;
        if (saved->cpus && saved->cpus[0])
                r = np_write_attribute_at(dir_fd, "cpuset.cpus", saved->cpus);
        else if (saved->cpus && layout == NP_CGROUP_UNIFIED)
                r = np_write_attribute_at(dir_fd, "cpuset.cpus", "\n");
        if (saved->mems && saved->mems[0])
                r = np_write_attribute_at(dir_fd, "cpuset.mems", saved->mems) ?: r;
        else if (saved->mems && layout == NP_CGROUP_UNIFIED)
                r = np_write_attribute_at(dir_fd, "cpuset.mems", "\n") ?: r;
        if (saved->memory_migrate && saved->memory_migrate[0])
                r = np_write_attribute_at(dir_fd, "cpuset.memory_migrate", saved->memory_migrate) ?: r;
        return r;
}

/* The hierarchy's root: where v2 enables cpuset in the parents. */
static int open_hierarchy(const char *hierarchy, struct np_diag *diag)
{
        int fd = openat(AT_FDCWD, hierarchy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        return fd < 0 ? np_diag_fail(diag, -errno, "cgroup hierarchy %s: %s", hierarchy, strerror(errno)) : fd;
}

int np_cgroup_apply(const char *root, enum np_cgroup_layout layout, const char *path, const struct np_cpulist *cpus,
                    const struct np_cpulist *mems, struct np_diag *diag, struct np_cgroup_saved *ret_saved,
                    char *ret_dir, size_t dir_size)
{
        _cleanup_close_ int root_fd = -1, dir_fd = -1;
        struct np_cgroup_saved saved = {};
        _cleanup_free_ char *cpus_text = NULL, *mems_text = NULL;
        char hierarchy[PATH_MAX], dir[PATH_MAX];
        const char *file;
        bool kernfs;
        int r;

        r = validate_path(path, "cgroup path", diag);
        if (r < 0)
                return r;
        snprintf(hierarchy, sizeof(hierarchy), "%s%s", root, layout == NP_CGROUP_LEGACY ? "/cpuset" : "");
        if ((size_t)snprintf(dir, sizeof(dir), "%s%s", hierarchy, path) >= sizeof(dir))
                return -ENAMETOOLONG;
        dir_fd = openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dir_fd < 0) {
                int error = -errno;

                r = open_hierarchy(hierarchy, diag); /* which folder is missing */
                if (r < 0)
                        return r;
                close(r);
                return np_diag_fail(diag, error, "cgroup %s of the container: %s", dir, strerror(-error));
        }
        kernfs = np_dir_on_kernfs(dir_fd);
        if (layout == NP_CGROUP_UNIFIED) {
                root_fd = open_hierarchy(hierarchy, diag);
                if (root_fd < 0)
                        return root_fd;
                r = enable_cpuset_in_parents(root_fd, kernfs, path, hierarchy, diag);
                if (r < 0)
                        return r;
        }
        if (np_cpulist_format_alloc(cpus, &cpus_text) < 0 || (mems && np_cpulist_format_alloc(mems, &mems_text) < 0))
                return -ENOMEM;

        file = "cpuset.cpus";
        r = read_value(dir_fd, file, &saved.cpus);
        if (r == 0 && mems) {
                file = "cpuset.mems";
                r = read_value(dir_fd, file, &saved.mems);
        }
        if (r < 0) {
                np_cgroup_saved_clear(&saved);
                return np_diag_fail(diag, r, "cgroup %s: cannot read %s: %s", dir, file,
                                    np_file_strerror_at(dir_fd, file, r));
        }

        if (mems && layout == NP_CGROUP_LEGACY &&
            read_value(dir_fd, "cpuset.memory_migrate", &saved.memory_migrate) == 0 &&
            !holds_value(saved.memory_migrate, "1")) {
                r = write_value(dir_fd, kernfs, "cpuset.memory_migrate", "1");
                if (r < 0 && r != -ENOENT) {
                        np_cgroup_saved_clear(&saved);
                        return np_diag_fail(diag, r, "cgroup %s: cannot write cpuset.memory_migrate: %s", dir,
                                            np_file_strerror_at(dir_fd, "cpuset.memory_migrate", r));
                }
        }
        if (mems && !holds_value(saved.mems, mems_text)) {
                r = write_value(dir_fd, kernfs, "cpuset.mems", mems_text);
                if (r < 0) {
                        np_cgroup_revert(root, layout, path, &saved);
                        np_cgroup_saved_clear(&saved);
                        return np_diag_fail(diag, r, "cgroup %s: cannot write cpuset.mems '%s': %s", dir, mems_text,
                                            np_file_strerror_at(dir_fd, "cpuset.mems", r));
                }
        }
        r = holds_value(saved.cpus, cpus_text) ? 0 : write_value(dir_fd, kernfs, "cpuset.cpus", cpus_text);
        if (r < 0) {
                np_diag_fail(diag, r, "cgroup %s: cannot write cpuset.cpus '%s': %s", dir, cpus_text,
                             np_file_strerror_at(dir_fd, "cpuset.cpus", r));
                np_cgroup_revert(root, layout, path, &saved);
                np_cgroup_saved_clear(&saved);
                return r;
        }
        if (ret_dir)
                snprintf(ret_dir, dir_size, "%s", dir);
        *ret_saved = saved;
        return 0;
}

int np_cgroup_dir(const char *root, enum np_cgroup_layout layout, const char *path, char *ret_dir, size_t size)
{
        int n = snprintf(ret_dir, size, "%s%s%s", root, layout == NP_CGROUP_LEGACY ? "/cpuset" : "", path);

        return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int np_cgroup_locate(const char *root, const char *proc_root, enum np_cgroup_layout layout, int pid,
                     const char *cgroups_path, const char *id, struct np_diag *diag, char *ret_path, size_t size)
{
        char from_spec[PATH_MAX];
        int r;

        /* the spec's path is checked even when the pid answers: a hostile
         * cgroupsPath is refused either way */
        r = np_cgroup_path_from_spec(cgroups_path ? cgroups_path : "", id, diag, from_spec, sizeof(from_spec));
        if (r < 0)
                return r;
        if (pid > 0) {
                r = np_cgroup_path_from_pid(proc_root, pid, layout, NULL, ret_path, size);
                if (r == 0)
                        return 0;
                np_log_debug("no cgroup from pid %d (%s), using the spec's cgroupsPath", pid, strerror(-r));
        }
        if (strlen(from_spec) >= size)
                return -ENAMETOOLONG;
        strcpy(ret_path, from_spec);
        (void)root;
        return 0;
}

int np_cgroup_write_cpus(const char *dir, const struct np_cpulist *cpus, struct np_diag *diag)
{
        _cleanup_close_ int dir_fd = -1;
        _cleanup_free_ char *text = NULL;
        int r;

        if (dir[0] != '/')
                return -ENOENT;
        dir_fd = openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dir_fd < 0)
                return errno == ENOENT ? -ENOENT : np_diag_fail(diag, -errno, "cgroup %s: %s", dir, strerror(errno));
        r = np_cpulist_format_alloc(cpus, &text);
        if (r < 0)
                return np_diag_fail(diag, r, "cgroup %s: cannot write cpuset.cpus: %s", dir, strerror(-r));
        r = np_write_attribute_at(dir_fd, "cpuset.cpus", text);
        if (r < 0)
                return np_diag_fail(diag, r, "writing cpuset.cpus '%s' in %s: %s", text, dir,
                                    np_file_strerror_at(dir_fd, "cpuset.cpus", r));
        return 0;
}

int np_cgroup_read_cpus(const char *dir, struct np_cpulist *ret_cpus)
{
        _cleanup_close_ int dir_fd = -1;
        _cleanup_free_ char *text = NULL;
        struct np_cpulist cpus;
        int r;

        if (dir[0] != '/')
                return -ENOENT;
        dir_fd = openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dir_fd < 0)
                return -errno;
        r = read_value(dir_fd, "cpuset.cpus", &text);
        if (r == 0)
                r = np_cpulist_parse(text, NP_CPULIST_MAX, "cpuset.cpus", NULL, &cpus);
        if (r < 0)
                return r;
        *ret_cpus = cpus;
        return 0;
}
