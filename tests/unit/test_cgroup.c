// SPDX-License-Identifier: MIT
/* cgroup layout detection, cpuset apply/revert on fake v1 and v2 trees made of
 * regular files, the container's cgroup path from the spec's cgroupsPath and
 * from /proc/<pid>/cgroup, and the refusal of paths that leave the hierarchy. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/cgroup.h"
#include "helpers.h"

struct tree {
        char root[4096];
};

static int tree_setup(void **state)
{
        struct tree *tree = calloc(1, sizeof(*tree));

        assert_non_null(tree);
        np_test_mkdtemp(tree->root, sizeof(tree->root));
        *state = tree;
        return 0;
}

static int tree_teardown(void **state)
{
        struct tree *tree = *state;

        np_test_rmtree(tree->root);
        free(tree);
        return 0;
}

/* Creates the folder `dir` below the tree root, with its parents. */
static void make_dirs(const struct tree *tree, const char *dir)
{
        char path[4096];
        size_t root_len = strlen(tree->root);

        np_test_path(path, sizeof(path), tree->root, dir);
        for (char *p = path + root_len + 1; *p; p++)
                if (*p == '/') {
                        *p = '\0';
                        assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
                        *p = '/';
                }
        assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

/* Writes `text` to the file `file` below the tree root (its folder must exist). */
static void put(const struct tree *tree, const char *file, const char *text)
{
        char path[4096];

        np_test_write_file(np_test_path(path, sizeof(path), tree->root, file), text);
}

/* Asserts the contents of the file `file` below the tree root. */
static void assert_file(const struct tree *tree, const char *file, const char *expected)
{
        char path[4096];
        char *text = np_test_read_file(np_test_path(path, sizeof(path), tree->root, file));

        if (!text)
                fail_msg("%s: cannot read", path);
        if (strcmp(text, expected) != 0) {
                char message[1024];

                snprintf(message, sizeof(message), "%s holds '%s', expected '%s'", file, text, expected);
                free(text);
                fail_msg("%s", message);
        }
        free(text);
}

/* A v1 cpuset hierarchy with the container's cgroup /kubepods/pod1/ctr. */
static void make_v1_tree(const struct tree *tree)
{
        make_dirs(tree, "cpuset/kubepods/pod1/ctr");
        put(tree, "cpuset/cpuset.cpus", "0-31\n");
        put(tree, "cpuset/cpuset.mems", "0-1\n");
        put(tree, "cpuset/kubepods/pod1/ctr/cpuset.cpus", "0-31\n");
        put(tree, "cpuset/kubepods/pod1/ctr/cpuset.mems", "0-1\n");
        put(tree, "cpuset/kubepods/pod1/ctr/cpuset.memory_migrate", "0\n");
}

/* A v2 hierarchy with the container's cgroup /a/b/c; cpuset is already on in a/b. */
static void make_v2_tree(const struct tree *tree)
{
        make_dirs(tree, "a/b/c");
        put(tree, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
        put(tree, "cgroup.subtree_control", "cpu memory\n");
        put(tree, "a/cgroup.subtree_control", "memory\n");
        put(tree, "a/b/cgroup.subtree_control", "cpuset memory\n");
        put(tree, "a/b/c/cgroup.subtree_control", "\n");
        put(tree, "a/b/c/cpuset.cpus", "\n");
        put(tree, "a/b/c/cpuset.mems", "\n");
}

static int apply(const struct tree *tree, enum np_cgroup_layout layout, const char *path, const char *cpus,
                 const char *mems, struct np_diag *diag, struct np_cgroup_saved *ret_saved, char *ret_dir)
{
        struct np_cpulist cpu_list = np_test_cpulist(cpus), mem_list;

        if (mems)
                mem_list = np_test_cpulist(mems);
        return np_cgroup_apply(tree->root, layout, path, &cpu_list, mems ? &mem_list : NULL, diag, ret_saved, ret_dir,
                               ret_dir ? PATH_MAX : 0);
}

static void test_cgroup_detect_finds_v2_with_cpuset(void **state)
{
        struct tree *tree = *state;
        enum np_cgroup_layout layout = NP_CGROUP_LEGACY;

        put(tree, "cgroup.controllers", "cpu io memory cpuset pids\n");
        assert_int_equal(np_cgroup_detect(tree->root, NULL, &layout), 0);
        assert_int_equal(layout, NP_CGROUP_UNIFIED);
}

static void test_cgroup_detect_finds_a_v1_cpuset_hierarchy(void **state)
{
        struct tree *tree = *state;
        enum np_cgroup_layout layout = NP_CGROUP_UNIFIED;

        make_dirs(tree, "cpuset");
        make_dirs(tree, "unified");
        put(tree, "cpuset/cpuset.cpus", "0-31\n");
        assert_int_equal(np_cgroup_detect(tree->root, NULL, &layout), 0);
        assert_int_equal(layout, NP_CGROUP_LEGACY);
}

static void test_cgroup_detect_without_cpuset_is_refused(void **state)
{
        struct tree *tree = *state;
        enum np_cgroup_layout layout = NP_CGROUP_UNIFIED;
        struct np_diag diag = {};

        assert_int_equal(np_cgroup_detect(tree->root, &diag, &layout), -ENODEV);
        assert_non_null(strstr(diag.message, tree->root));
        assert_non_null(strstr(diag.message, "no cpuset controller"));

        /* v2 without the cpuset controller ("cpusets" is not "cpuset") */
        put(tree, "cgroup.controllers", "cpu io memory cpusets pids\n");
        assert_int_equal(np_cgroup_detect(tree->root, &diag, &layout), -ENODEV);
        assert_non_null(strstr(diag.message, "cgroup v2"));
        assert_int_equal(layout, NP_CGROUP_UNIFIED);

        assert_int_equal(np_cgroup_detect("/nonexistent/numapin-cgroup", &diag, &layout), -ENOENT);
        assert_non_null(strstr(diag.message, "/nonexistent/numapin-cgroup"));
}

static void test_cgroup_apply_on_v1_writes_cpus_mems_and_memory_migrate(void **state)
{
        struct tree *tree = *state;
        struct np_cgroup_saved saved = {};
        struct np_diag diag = {};
        char dir[PATH_MAX], expected_dir[PATH_MAX];

        make_v1_tree(tree);
        if (apply(tree, NP_CGROUP_LEGACY, "/kubepods/pod1/ctr", "0-1,16-17", "0", &diag, &saved, dir) < 0)
                fail_msg("apply: %s", diag.message);
        assert_file(tree, "cpuset/kubepods/pod1/ctr/cpuset.cpus", "0-1,16-17");
        assert_file(tree, "cpuset/kubepods/pod1/ctr/cpuset.mems", "0");
        assert_file(tree, "cpuset/kubepods/pod1/ctr/cpuset.memory_migrate", "1");
        /* the parents are left alone on v1 */
        assert_file(tree, "cpuset/cpuset.cpus", "0-31\n");
        np_test_path(expected_dir, sizeof(expected_dir), tree->root, "cpuset/kubepods/pod1/ctr");
        assert_string_equal(dir, expected_dir);
        assert_string_equal(saved.cpus, "0-31");
        assert_string_equal(saved.mems, "0-1");
        np_cgroup_saved_clear(&saved);
        assert_null(saved.cpus);
}

static void test_cgroup_apply_on_v2_enables_cpuset_in_every_ancestor(void **state)
{
        struct tree *tree = *state;
        struct np_cgroup_saved saved = {};
        struct np_diag diag = {};
        char dir[PATH_MAX], expected_dir[PATH_MAX];

        make_v2_tree(tree);
        if (apply(tree, NP_CGROUP_UNIFIED, "/a/b/c", "8-15", "1", &diag, &saved, dir) < 0)
                fail_msg("apply: %s", diag.message);
        assert_file(tree, "a/b/c/cpuset.cpus", "8-15");
        assert_file(tree, "a/b/c/cpuset.mems", "1");
        /* a regular file stands for cgroup.subtree_control: "+cpuset" is what was written */
        assert_file(tree, "cgroup.subtree_control", "+cpuset");
        assert_file(tree, "a/cgroup.subtree_control", "+cpuset");
        /* already on: not written again */
        assert_file(tree, "a/b/cgroup.subtree_control", "cpuset memory\n");
        /* the container's own cgroup does not delegate to children */
        assert_file(tree, "a/b/c/cgroup.subtree_control", "\n");
        assert_string_equal(dir, np_test_path(expected_dir, sizeof(expected_dir), tree->root, "a/b/c"));
        assert_string_equal(saved.cpus, "");
        assert_string_equal(saved.mems, "");
        np_cgroup_saved_clear(&saved);
}

static void test_cgroup_apply_without_mems_leaves_cpuset_mems_untouched(void **state)
{
        struct tree *tree = *state;
        struct np_cgroup_saved saved = {};

        make_v1_tree(tree);
        assert_int_equal(apply(tree, NP_CGROUP_LEGACY, "/kubepods/pod1/ctr", "4-7", NULL, NULL, &saved, NULL), 0);
        assert_file(tree, "cpuset/kubepods/pod1/ctr/cpuset.cpus", "4-7");
        assert_file(tree, "cpuset/kubepods/pod1/ctr/cpuset.mems", "0-1\n");
        assert_file(tree, "cpuset/kubepods/pod1/ctr/cpuset.memory_migrate", "0\n");
        assert_string_equal(saved.cpus, "0-31");
        assert_null(saved.mems);
        np_cgroup_saved_clear(&saved);

        make_v2_tree(tree);
        assert_int_equal(apply(tree, NP_CGROUP_UNIFIED, "/a/b/c", "4-7", NULL, NULL, &saved, NULL), 0);
        assert_file(tree, "a/b/c/cpuset.cpus", "4-7");
        assert_file(tree, "a/b/c/cpuset.mems", "\n");
        np_cgroup_saved_clear(&saved);
}

static void test_cgroup_apply_to_a_missing_cgroup_writes_nothing(void **state)
{
        struct tree *tree = *state;
        struct np_cgroup_saved saved = {};
        struct np_diag diag = {};
        char path[4096];

        make_v2_tree(tree);
        assert_int_equal(apply(tree, NP_CGROUP_UNIFIED, "/a/b/gone", "0-3", "0", &diag, &saved, NULL), -ENOENT);
        assert_non_null(strstr(diag.message, "/a/b/gone"));
        assert_file(tree, "cgroup.subtree_control", "cpu memory\n");
        assert_file(tree, "a/cgroup.subtree_control", "memory\n");
        assert_null(saved.cpus);

        make_v1_tree(tree);
        assert_int_equal(apply(tree, NP_CGROUP_LEGACY, "/kubepods/pod1/gone", "0-3", "0", &diag, &saved, NULL),
                         -ENOENT);
        assert_non_null(strstr(diag.message, "cpuset/kubepods/pod1/gone"));

        /* no cpuset hierarchy at all: the message names the hierarchy, not the container */
        np_test_rmtree(np_test_path(path, sizeof(path), tree->root, "cpuset"));
        assert_int_equal(apply(tree, NP_CGROUP_LEGACY, "/kubepods/pod1/ctr", "0-3", "0", &diag, &saved, NULL), -ENOENT);
        assert_non_null(strstr(diag.message, "cgroup hierarchy"));
        assert_null(strstr(diag.message, "pod1"));
}

static void test_cgroup_apply_refuses_paths_that_leave_the_hierarchy(void **state)
{
        struct tree *tree = *state;
        static const char *const paths[] = { "/a/../b", "/a/b/c/..", "/./a", "/a/b\n/c" };

        make_v2_tree(tree);
        for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
                struct np_cgroup_saved saved = {};
                struct np_diag diag = {};

                assert_int_equal(apply(tree, NP_CGROUP_UNIFIED, paths[i], "0", "0", &diag, &saved, NULL), -EINVAL);
                assert_non_null(strstr(diag.message, "cgroup path"));
        }
        assert_file(tree, "cgroup.subtree_control", "cpu memory\n");
        assert_file(tree, "a/b/c/cpuset.cpus", "\n");
}

static void test_cgroup_revert_restores_the_saved_values(void **state)
{
        struct tree *tree = *state;
        struct np_cgroup_saved saved = {};

        make_v1_tree(tree);
        assert_int_equal(apply(tree, NP_CGROUP_LEGACY, "/kubepods/pod1/ctr", "2-3", "1", NULL, &saved, NULL), 0);
        assert_file(tree, "cpuset/kubepods/pod1/ctr/cpuset.cpus", "2-3");
        assert_int_equal(np_cgroup_revert(tree->root, NP_CGROUP_LEGACY, "/kubepods/pod1/ctr", &saved), 0);
        assert_file(tree, "cpuset/kubepods/pod1/ctr/cpuset.cpus", "0-31");
        assert_file(tree, "cpuset/kubepods/pod1/ctr/cpuset.mems", "0-1");
        np_cgroup_saved_clear(&saved);

        /* on v2 an empty value (inherit from the parent) is written back as empty */
        make_v2_tree(tree);
        assert_int_equal(apply(tree, NP_CGROUP_UNIFIED, "/a/b/c", "2-3", "1", NULL, &saved, NULL), 0);
        assert_int_equal(np_cgroup_revert(tree->root, NP_CGROUP_UNIFIED, "/a/b/c", &saved), 0);
        assert_file(tree, "a/b/c/cpuset.cpus", "\n");
        assert_file(tree, "a/b/c/cpuset.mems", "\n");
        np_cgroup_saved_clear(&saved);
}

static void test_cgroup_apply_puts_mems_back_when_cpus_cannot_be_written(void **state)
{
        struct tree *tree = *state;
        struct np_cgroup_saved saved = {};
        struct np_diag diag = {};
        char link[4096];

        make_v2_tree(tree);
        /* cpuset.cpus readable but not writable: a symlink, which the write refuses to follow */
        put(tree, "a/b/c/real.cpus", "0-31\n");
        assert_int_equal(unlink(np_test_path(link, sizeof(link), tree->root, "a/b/c/cpuset.cpus")), 0);
        assert_int_equal(symlink("real.cpus", link), 0);
        put(tree, "a/b/c/cpuset.mems", "0-1\n");

        assert_int_equal(apply(tree, NP_CGROUP_UNIFIED, "/a/b/c", "4-7", "0", &diag, &saved, NULL), -ELOOP);
        assert_non_null(strstr(diag.message, "cannot write cpuset.cpus '4-7'"));
        assert_file(tree, "a/b/c/cpuset.mems", "0-1");
        assert_file(tree, "a/b/c/real.cpus", "0-31\n");
        assert_null(saved.cpus);
}

/* A cgroup that holds the placement already (a second stage, a one-node machine)
 * is not written: here each file is a symlink, which a read follows and a write
 * refuses, so any write would fail the apply. A value that differs is written. */
static void test_cgroup_apply_writes_only_the_values_that_differ(void **state)
{
        static const char *const files[] = { "cpuset.cpus", "cpuset.mems", "cpuset.memory_migrate" };
        static const char *const held[] = { "0-1,16-17\n", "0\n", "1\n" };
        struct tree *tree = *state;
        struct np_cgroup_saved saved = {};
        struct np_diag diag = {};
        char path[4096], real[64], name[64];

        make_v1_tree(tree);
        for (size_t i = 0; i < 3; i++) {
                snprintf(real, sizeof(real), "cpuset/kubepods/pod1/ctr/real.%s", files[i]);
                put(tree, real, held[i]);
                snprintf(name, sizeof(name), "cpuset/kubepods/pod1/ctr/%s", files[i]);
                np_test_path(path, sizeof(path), tree->root, name);
                assert_int_equal(unlink(path), 0);
                assert_int_equal(symlink(strrchr(real, '/') + 1, path), 0);
        }
        if (apply(tree, NP_CGROUP_LEGACY, "/kubepods/pod1/ctr", "0-1,16-17", "0", &diag, &saved, NULL) < 0)
                fail_msg("apply: %s", diag.message);
        assert_string_equal(saved.cpus, "0-1,16-17");
        np_cgroup_saved_clear(&saved);

        /* other CPUs: cpuset.cpus is written, and the symlink refuses it */
        assert_int_equal(apply(tree, NP_CGROUP_LEGACY, "/kubepods/pod1/ctr", "2-3", "0", &diag, &saved, NULL), -ELOOP);
        assert_non_null(strstr(diag.message, "cannot write cpuset.cpus '2-3'"));
        assert_file(tree, "cpuset/kubepods/pod1/ctr/real.cpuset.cpus", "0-1,16-17\n");
}

static void test_cgroup_path_from_spec_accepts_plain_paths(void **state)
{
        char path[PATH_MAX];

        assert_int_equal(np_cgroup_path_from_spec("/a/b", "ctr", NULL, path, sizeof(path)), 0);
        assert_string_equal(path, "/a/b");
        assert_int_equal(np_cgroup_path_from_spec("a/b", "ctr", NULL, path, sizeof(path)), 0);
        assert_string_equal(path, "/a/b");
        assert_int_equal(np_cgroup_path_from_spec("", "ctr-1", NULL, path, sizeof(path)), 0);
        assert_string_equal(path, "/ctr-1");
        assert_int_equal(np_cgroup_path_from_spec("/kubepods/burstable/pod1/abc", "abc", NULL, path, sizeof(path)), 0);
        assert_string_equal(path, "/kubepods/burstable/pod1/abc");
}

static void test_cgroup_path_from_spec_expands_systemd_slices(void **state)
{
        char path[PATH_MAX];

        assert_int_equal(np_cgroup_path_from_spec("machine-pods.slice:libpod:abc", "abc", NULL, path, sizeof(path)), 0);
        assert_string_equal(path, "/machine.slice/machine-pods.slice/libpod-abc.scope");
        assert_int_equal(np_cgroup_path_from_spec(":cri:x", "x", NULL, path, sizeof(path)), 0);
        assert_string_equal(path, "/system.slice/cri-x.scope");
        assert_int_equal(np_cgroup_path_from_spec("kubepods-burstable-pod1.slice:cri-containerd:abc", "abc", NULL, path,
                                                  sizeof(path)),
                         0);
        assert_string_equal(path, "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/"
                                  "cri-containerd-abc.scope");
        assert_int_equal(np_cgroup_path_from_spec("system.slice::x", "x", NULL, path, sizeof(path)), 0);
        assert_string_equal(path, "/system.slice/x.scope");
        assert_int_equal(np_cgroup_path_from_spec("-.slice:p:x", "x", NULL, path, sizeof(path)), 0);
        assert_string_equal(path, "/p-x.scope");
        /* a name that is itself a slice is not wrapped in a scope */
        assert_int_equal(np_cgroup_path_from_spec("user.slice:p:app.slice", "x", NULL, path, sizeof(path)), 0);
        assert_string_equal(path, "/user.slice/app.slice");
}

static void test_cgroup_path_from_spec_refuses_escapes_and_bad_forms(void **state)
{
        static const char *const refused[] = {
                "/a/../b",
                "../x",
                "a/./b",
                "/a//..",
                "a/b/..",
                "sl:pre:../x",
                "system.slice:pre:a/b",
                "system.slice:../p:x",
                "system.slice:pre:",
                "notaslice:pre:x",
                "-bad.slice:pre:x",
                "a--b.slice:pre:x",
                "a-.slice:pre:x",
                "a/b.slice:pre:x",
                "a:b:c:d",
                "only:one",
        };

        for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
                char path[PATH_MAX] = "untouched";
                struct np_diag diag = {};

                if (np_cgroup_path_from_spec(refused[i], "ctr", &diag, path, sizeof(path)) != -EINVAL)
                        fail_msg("cgroupsPath '%s' was not refused (path '%s')", refused[i], path);
                assert_int_equal(diag.error, -EINVAL);
                assert_non_null(strstr(diag.message, "linux.cgroupsPath"));
        }
}

static void test_cgroup_path_from_spec_reports_a_too_small_buffer(void **state)
{
        char path[8];

        assert_int_equal(np_cgroup_path_from_spec("/a/b/c/d/e/f", "ctr", NULL, path, sizeof(path)), -ENAMETOOLONG);
        assert_int_equal(np_cgroup_path_from_spec("", "a-long-container-id", NULL, path, sizeof(path)), -ENAMETOOLONG);
}

/* Writes <proc root>/<pid>/cgroup. */
static void put_proc_cgroup(const struct tree *tree, int pid, const char *text)
{
        char dir[64], file[64];

        snprintf(dir, sizeof(dir), "%d", pid);
        snprintf(file, sizeof(file), "%d/cgroup", pid);
        make_dirs(tree, dir);
        put(tree, file, text);
}

static void test_cgroup_path_from_pid_reads_v1_hybrid_and_v2_lines(void **state)
{
        struct tree *tree = *state;
        char path[PATH_MAX];

        put_proc_cgroup(tree, 1234, "12:pids:/p\n4:cpuset:/x\n1:name=systemd:/s\n0::/y\n");
        assert_int_equal(np_cgroup_path_from_pid(tree->root, 1234, NP_CGROUP_LEGACY, NULL, path, sizeof(path)), 0);
        assert_string_equal(path, "/x");
        assert_int_equal(np_cgroup_path_from_pid(tree->root, 1234, NP_CGROUP_UNIFIED, NULL, path, sizeof(path)), 0);
        assert_string_equal(path, "/y");

        /* cpuset co-mounted with other controllers */
        put_proc_cgroup(tree, 77, "3:cpu,cpuset,cpuacct:/kubepods/pod1/ctr\n");
        assert_int_equal(np_cgroup_path_from_pid(tree->root, 77, NP_CGROUP_LEGACY, NULL, path, sizeof(path)), 0);
        assert_string_equal(path, "/kubepods/pod1/ctr");

        /* pure v2 */
        put_proc_cgroup(tree, 5, "0::/system.slice/cri-containerd-abc.scope\n");
        assert_int_equal(np_cgroup_path_from_pid(tree->root, 5, NP_CGROUP_UNIFIED, NULL, path, sizeof(path)), 0);
        assert_string_equal(path, "/system.slice/cri-containerd-abc.scope");
}

static void test_cgroup_path_from_pid_refuses_bad_lines(void **state)
{
        struct tree *tree = *state;
        char path[PATH_MAX] = "untouched";
        struct np_diag diag = {};

        put_proc_cgroup(tree, 10, "0::/a/../../etc\n");
        assert_int_equal(np_cgroup_path_from_pid(tree->root, 10, NP_CGROUP_UNIFIED, &diag, path, sizeof(path)),
                         -EINVAL);
        assert_non_null(strstr(diag.message, "'..'"));
        assert_string_equal(path, "untouched");

        put_proc_cgroup(tree, 11, "4:cpuset:relative\n");
        assert_int_equal(np_cgroup_path_from_pid(tree->root, 11, NP_CGROUP_LEGACY, &diag, path, sizeof(path)), -EINVAL);
        assert_non_null(strstr(diag.message, "not an absolute path"));

        /* no line for the layout asked */
        put_proc_cgroup(tree, 12, "0::/y\n");
        assert_int_equal(np_cgroup_path_from_pid(tree->root, 12, NP_CGROUP_LEGACY, &diag, path, sizeof(path)), -ENOENT);
        assert_non_null(strstr(diag.message, "no cpuset line"));
        put_proc_cgroup(tree, 13, "4:cpuset:/x\n");
        assert_int_equal(np_cgroup_path_from_pid(tree->root, 13, NP_CGROUP_UNIFIED, &diag, path, sizeof(path)),
                         -ENOENT);

        /* the process is gone */
        assert_int_equal(np_cgroup_path_from_pid(tree->root, 99999, NP_CGROUP_UNIFIED, &diag, path, sizeof(path)),
                         -ENOENT);
        assert_non_null(strstr(diag.message, "99999/cgroup"));
        assert_string_equal(path, "untouched");
}

int main(void)
{
#define WITH_TREE(test) cmocka_unit_test_setup_teardown(test, tree_setup, tree_teardown)
        const struct CMUnitTest tests[] = {
                WITH_TREE(test_cgroup_detect_finds_v2_with_cpuset),
                WITH_TREE(test_cgroup_detect_finds_a_v1_cpuset_hierarchy),
                WITH_TREE(test_cgroup_detect_without_cpuset_is_refused),
                WITH_TREE(test_cgroup_apply_on_v1_writes_cpus_mems_and_memory_migrate),
                WITH_TREE(test_cgroup_apply_on_v2_enables_cpuset_in_every_ancestor),
                WITH_TREE(test_cgroup_apply_without_mems_leaves_cpuset_mems_untouched),
                WITH_TREE(test_cgroup_apply_to_a_missing_cgroup_writes_nothing),
                WITH_TREE(test_cgroup_apply_refuses_paths_that_leave_the_hierarchy),
                WITH_TREE(test_cgroup_revert_restores_the_saved_values),
                WITH_TREE(test_cgroup_apply_puts_mems_back_when_cpus_cannot_be_written),
                WITH_TREE(test_cgroup_apply_writes_only_the_values_that_differ),
                cmocka_unit_test(test_cgroup_path_from_spec_accepts_plain_paths),
                cmocka_unit_test(test_cgroup_path_from_spec_expands_systemd_slices),
                cmocka_unit_test(test_cgroup_path_from_spec_refuses_escapes_and_bad_forms),
                cmocka_unit_test(test_cgroup_path_from_spec_reports_a_too_small_buffer),
                WITH_TREE(test_cgroup_path_from_pid_reads_v1_hybrid_and_v2_lines),
                WITH_TREE(test_cgroup_path_from_pid_refuses_bad_lines),
        };
#undef WITH_TREE

        return cmocka_run_group_tests(tests, NULL, NULL);
}
