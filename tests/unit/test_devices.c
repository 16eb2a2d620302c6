// SPDX-License-Identifier: MIT
/* np_device_numa_node() and np_devices_nodes() on the 4node-devices fixture (an
 * NVMe, an RDMA uverbs device, NVIDIA GPUs through its .proc tree, devices without
 * a node) and on copies of it with one file made hostile: garbage or a FIFO as
 * numa_node, links that lead out of the sysfs root, a bad Bus Location. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/devices.h"
#include "helpers.h"

/* The fixture's sysfs and proc roots, or a copy's. */
struct roots {
        char tmp[4096]; /* "" unless a copy */
        char sysfs[4096];
        char proc[4096 + 8];
};

static void fixture_roots(struct roots *roots)
{
        memset(roots, 0, sizeof(*roots));
        np_test_fixture("4node-devices", roots->sysfs, sizeof(roots->sysfs));
        snprintf(roots->proc, sizeof(roots->proc), "%s.proc", roots->sysfs);
}

static int copy_setup(void **state)
{
        struct roots *roots = calloc(1, sizeof(*roots));
        struct roots fixture;

        assert_non_null(roots);
        fixture_roots(&fixture);
        np_test_mkdtemp(roots->tmp, sizeof(roots->tmp));
        np_test_path(roots->sysfs, sizeof(roots->sysfs), roots->tmp, "sys");
        np_test_path(roots->proc, sizeof(roots->proc), roots->tmp, "proc");
        np_test_copy_tree(fixture.sysfs, roots->sysfs);
        np_test_copy_tree(fixture.proc, roots->proc);
        *state = roots;
        /* a FIFO must be refused, never waited on: a hang ends the test binary */
        alarm(20);
        return 0;
}

static int copy_teardown(void **state)
{
        struct roots *roots = *state;

        alarm(0);
        np_test_rmtree(roots->tmp);
        free(roots);
        return 0;
}

/* A file of the copy (relative to its sysfs root) replaced by `text`. */
static void rewrite(const struct roots *roots, const char *file, const char *text)
{
        char path[8192];

        np_test_write_file(np_test_path(path, sizeof(path), roots->sysfs, file), text);
}

/* Looks a device up; `where` gets what was read. */
static int lookup(const struct roots *roots, char type, uint32_t major, uint32_t minor, struct np_diag *diag,
                  int *ret_node, char *where, size_t where_size)
{
        struct np_device device = { .path = NULL, .type = type, .major = major, .minor = minor };

        *ret_node = -100;
        return np_device_numa_node(roots->sysfs, roots->proc, &device, diag, ret_node, where, where_size);
}

/* The lookup succeeds with `node`. */
static void assert_node(const struct roots *roots, char type, uint32_t major, uint32_t minor, int node)
{
        struct np_diag diag = {};
        char where[8192];
        int got, r = lookup(roots, type, major, minor, &diag, &got, where, sizeof(where));

        if (r != 0)
                fail_msg("%c %u:%u: %d (%s)", type, major, minor, r, diag.message);
        assert_int_equal(got, node);
}

/* The lookup fails with `error`, and the message holds each needle. */
static void assert_refused(const struct roots *roots, char type, uint32_t major, uint32_t minor, int error,
                           const char *needle1, const char *needle2)
{
        struct np_diag diag = {};
        int node, r = lookup(roots, type, major, minor, &diag, &node, NULL, 0);

        assert_int_equal(r, error);
        assert_int_equal(node, -100);
        assert_int_equal(diag.error, error);
        if (needle1 && !strstr(diag.message, needle1))
                fail_msg("message '%s' lacks '%s'", diag.message, needle1);
        if (needle2 && !strstr(diag.message, needle2))
                fail_msg("message '%s' lacks '%s'", diag.message, needle2);
}

static void test_devices_nvme_namespace_and_controller_are_on_node_2(void **state)
{
        struct roots roots;
        char where[8192], expected[8192];
        int node;

        fixture_roots(&roots);
        assert_int_equal(lookup(&roots, 'b', 259, 0, NULL, &node, where, sizeof(where)), 0);
        assert_int_equal(node, 2);
        np_test_path(expected, sizeof(expected), roots.sysfs, "devices/pci0000:5e/0000:5e:00.0");
        assert_string_equal(where, expected);
        assert_node(&roots, 'c', 241, 0, 2);
}

static void test_devices_rdma_uverbs_is_on_node_3_as_c_and_as_u(void **state)
{
        struct roots roots;

        fixture_roots(&roots);
        assert_node(&roots, 'c', 231, 192, 3);
        assert_node(&roots, 'u', 231, 192, 3);
}

static void test_devices_nvidia_gpus_are_found_through_proc(void **state)
{
        struct roots roots;
        char where[64];
        int node;

        fixture_roots(&roots);
        assert_int_equal(lookup(&roots, 'c', 195, 0, NULL, &node, where, sizeof(where)), 0);
        assert_int_equal(node, 1);
        assert_string_equal(where, "0000:3b:00.0");
        assert_int_equal(lookup(&roots, 'u', 195, 1, NULL, &node, where, sizeof(where)), 0);
        assert_int_equal(node, 3);
        assert_string_equal(where, "0000:d8:00.0");
}

static void test_devices_nvidiactl_and_modeset_have_no_node(void **state)
{
        struct roots roots;
        char where[64];
        int node;

        fixture_roots(&roots);
        assert_int_equal(lookup(&roots, 'c', 195, 255, NULL, &node, where, sizeof(where)), 0);
        assert_int_equal(node, -1);
        assert_string_equal(where, "nvidiactl");
        assert_int_equal(lookup(&roots, 'c', 195, 254, NULL, &node, where, sizeof(where)), 0);
        assert_int_equal(node, -1);
        assert_string_equal(where, "nvidia-modeset");
}

static void test_devices_unknown_nvidia_minor_is_not_found(void **state)
{
        struct roots roots;

        fixture_roots(&roots);
        assert_refused(&roots, 'c', 195, 7, -ENOENT, "driver/nvidia/gpus", "Device Minor 7");
}

static void test_devices_numa_node_minus_one_and_virtual_devices_have_no_node(void **state)
{
        struct roots roots;
        char where[8192], expected[8192];
        int node;

        fixture_roots(&roots);
        assert_int_equal(lookup(&roots, 'b', 8, 0, NULL, &node, where, sizeof(where)), 0);
        assert_int_equal(node, -1);
        np_test_path(expected, sizeof(expected), roots.sysfs, "devices/pci0000:00/0000:00:17.0");
        assert_string_equal(where, expected);
        assert_int_equal(lookup(&roots, 'c', 1, 3, NULL, &node, where, sizeof(where)), 0);
        assert_int_equal(node, -1);
        np_test_path(expected, sizeof(expected), roots.sysfs, "devices/virtual/mem/null");
        assert_string_equal(where, expected);
}

static void test_devices_unknown_major_minor_is_enoent_naming_it(void **state)
{
        struct roots roots;

        fixture_roots(&roots);
        assert_refused(&roots, 'c', 240, 3, -ENOENT, "dev/char/240:3", "does not exist");
        assert_refused(&roots, 'b', 231, 192, -ENOENT, "dev/block/231:192", NULL);
}

static void test_devices_a_bad_type_is_refused(void **state)
{
        struct roots roots;

        fixture_roots(&roots);
        assert_refused(&roots, 'x', 1, 3, -EINVAL, "'x'", "c, u, b or p");
}

static const struct np_device mixed_devices[] = {
        { "/dev/nvme0n1", 'b', 259, 0 },
        { "/dev/infiniband/uverbs0", 'c', 231, 192 },
        { "/dev/nvidia0", 'c', 195, 0 },
        { "/dev/nvidiactl", 'c', 195, 255 },
        { "/dev/null", 'c', 1, 3 },
        { "/dev/foo", 'c', 240, 3 },
        { NULL, 'b', 8, 0 },
};

static void test_devices_nodes_joins_the_nodes_and_notes_the_rest(void **state)
{
        struct roots roots;
        struct np_cpulist nodes;
        char note[NP_DEVICE_NOTE_MAX];

        fixture_roots(&roots);
        assert_int_equal(np_devices_nodes(roots.sysfs, roots.proc, mixed_devices,
                                          sizeof(mixed_devices) / sizeof(mixed_devices[0]), &nodes, note,
                                          sizeof(note)),
                         0);
        assert_cpulist_equal(&nodes, "1-3");
        assert_string_equal(note, "/dev/nvme0n1 on node 2, /dev/infiniband/uverbs0 on node 3, /dev/nvidia0 on node 1, "
                                  "/dev/nvidiactl has no NUMA node, /dev/null has no NUMA node, "
                                  "/dev/foo (c 240:3) is not in sysfs, device b 8:0 has no NUMA node");
}

static void test_devices_nodes_of_two_devices_on_different_nodes(void **state)
{
        struct roots roots;
        struct np_cpulist nodes;
        char note[NP_DEVICE_NOTE_MAX];

        fixture_roots(&roots);
        assert_int_equal(np_devices_nodes(roots.sysfs, roots.proc, mixed_devices, 2, &nodes, note, sizeof(note)), 0);
        assert_cpulist_equal(&nodes, "2-3");
        assert_string_equal(note, "/dev/nvme0n1 on node 2, /dev/infiniband/uverbs0 on node 3");
        assert_int_equal(np_devices_nodes(roots.sysfs, roots.proc, NULL, 0, &nodes, note, sizeof(note)), 0);
        assert_cpulist_equal(&nodes, "");
        assert_string_equal(note, "");
}

static void test_devices_nodes_cuts_the_note_to_its_size(void **state)
{
        const size_t n = sizeof(mixed_devices) / sizeof(mixed_devices[0]);
        struct roots roots;
        struct np_cpulist nodes;
        char note[48];

        fixture_roots(&roots);
        memset(note, 'x', sizeof(note));
        assert_int_equal(np_devices_nodes(roots.sysfs, roots.proc, mixed_devices, n, &nodes, note, 40), 0);
        assert_cpulist_equal(&nodes, "1-3");
        assert_true(strlen(note) < 40);
        assert_string_equal(note, "/dev/nvme0n1 on node 2...");
        assert_int_equal(note[40], 'x');
        assert_int_equal(np_devices_nodes(roots.sysfs, roots.proc, mixed_devices, n, &nodes, note, 3), 0);
        assert_string_equal(note, "");
        assert_int_equal(np_devices_nodes(roots.sysfs, roots.proc, mixed_devices, n, &nodes, NULL, 0), 0);
        assert_cpulist_equal(&nodes, "1-3");
}

/* Hostile copies. */

static void test_devices_copy_reads_like_the_fixture(void **state)
{
        assert_node(*state, 'b', 259, 0, 2);
        assert_node(*state, 'c', 195, 0, 1);
}

static void test_devices_garbage_numa_node_is_refused_naming_the_file(void **state)
{
        static const char *const garbage[] = { "two\n", "1024\n", "-2\n", " 2\n", "2 3\n", "0x2\n", "\n", "" };
        struct roots *roots = *state;

        for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
                rewrite(roots, "devices/pci0000:5e/0000:5e:00.0/numa_node", garbage[i]);
                assert_refused(roots, 'b', 259, 0, -EINVAL, "0000:5e:00.0/numa_node", "expected -1 or a node number");
        }
        rewrite(roots, "devices/pci0000:5e/0000:5e:00.0/numa_node", "0123456789012345678901234567890123456789"
                                                                      "0123456789012345678901234567890123456789\n");
        assert_refused(roots, 'b', 259, 0, -EFBIG, "0000:5e:00.0/numa_node", NULL);
}

static void test_devices_garbage_numa_node_is_noted_not_fatal(void **state)
{
        const char *start = "/dev/infiniband/uverbs0 on node 3, /dev/nvme0n1: sysfs: ";
        struct roots *roots = *state;
        struct np_cpulist nodes;
        char note[NP_DEVICE_NOTE_MAX];

        rewrite(roots, "devices/pci0000:5e/0000:5e:00.0/numa_node", "two\n");
        assert_int_equal(np_devices_nodes(roots->sysfs, roots->proc, mixed_devices, 2, &nodes, note, sizeof(note)), 0);
        assert_cpulist_equal(&nodes, "3");
        if (strncmp(note, start, strlen(start)) != 0)
                fail_msg("note '%s' does not start with '%s'", note, start);
        assert_non_null(strstr(note, "holds 'two\\x0a'"));
}

static void test_devices_a_fifo_as_numa_node_is_refused_at_once(void **state)
{
        struct roots *roots = *state;
        char path[8192];

        np_test_path(path, sizeof(path), roots->sysfs, "devices/pci0000:af/0000:af:00.0/numa_node");
        assert_int_equal(unlink(path), 0);
        assert_int_equal(mkfifo(path, 0644), 0);
        assert_refused(roots, 'c', 231, 192, -EINVAL, "0000:af:00.0/numa_node", "FIFO");
}

static void test_devices_a_numa_node_link_is_not_followed(void **state)
{
        struct roots *roots = *state;
        char path[8192], outside[8192];

        np_test_write_file(np_test_path(outside, sizeof(outside), roots->tmp, "node1"), "1\n");
        np_test_path(path, sizeof(path), roots->sysfs, "devices/pci0000:af/0000:af:00.0/numa_node");
        assert_int_equal(unlink(path), 0);
        assert_int_equal(symlink(outside, path), 0);
        assert_refused(roots, 'c', 231, 192, -ELOOP, "0000:af:00.0/numa_node", "symbolic link");
}

/* Replaces the link dev/char/231:192 of the copy by one to `target`. */
static void relink(const struct roots *roots, const char *link, const char *target)
{
        char path[8192];

        np_test_path(path, sizeof(path), roots->sysfs, link);
        if (unlink(path) < 0)
                assert_int_equal(errno, ENOENT);
        assert_int_equal(symlink(target, path), 0);
}

static void test_devices_links_leading_out_of_the_sysfs_root_are_refused(void **state)
{
        struct roots *roots = *state;
        char outside[8192], path[8192];

        /* a device folder with a numa_node beside the root, reached by .. and by an absolute link */
        np_test_path(outside, sizeof(outside), roots->tmp, "outside");
        assert_int_equal(mkdir(outside, 0755), 0);
        np_test_write_file(np_test_path(path, sizeof(path), outside, "numa_node"), "1\n");
        relink(roots, "dev/char/231:192", "../../../outside");
        assert_refused(roots, 'c', 231, 192, -EXDEV, "dev/char/231:192", "leads outside the sysfs root");
        relink(roots, "dev/char/231:192", outside);
        assert_refused(roots, 'c', 231, 192, -EXDEV, "dev/char/231:192", "absolute");
        /* an intermediate link of the path, not only the last one */
        relink(roots, "devices/pci0000:af/0000:af:00.0/infiniband_verbs/uverbs0/escape", "../../../../../../outside");
        relink(roots, "dev/char/231:192", "../../devices/pci0000:af/0000:af:00.0/infiniband_verbs/uverbs0/escape/x");
        assert_refused(roots, 'c', 231, 192, -EXDEV, "dev/char/231:192", NULL);
        /* within the root but not below devices/ */
        relink(roots, "dev/char/231:192", "../block");
        assert_refused(roots, 'c', 231, 192, -EINVAL, "dev/char/231:192", "below");
}

static void test_devices_a_link_loop_is_refused(void **state)
{
        struct roots *roots = *state;

        relink(roots, "dev/char/9:9", "9:9");
        assert_refused(roots, 'c', 9, 9, -ELOOP, "dev/char/9:9", NULL);
}

static void test_devices_a_bad_bus_location_is_refused(void **state)
{
        struct roots *roots = *state;
        char path[8192], *text, *bus;

        np_test_path(path, sizeof(path), roots->proc, "driver/nvidia/gpus/0000:3b:00.0/information");
        text = np_test_read_file(path);
        assert_non_null(text);
        bus = strstr(text, "0000:3b:00.0");
        assert_non_null(bus);
        memcpy(bus, "../../../etc", 12);
        np_test_write_file(path, text);
        free(text);
        assert_refused(roots, 'c', 195, 0, -EINVAL, "Bus Location '../../../etc'", "DDDD:BB:DD.F");
        /* the other GPU is still found */
        assert_node(roots, 'c', 195, 1, 3);
}

static void test_devices_a_fifo_among_the_gpus_hides_no_other(void **state)
{
        struct roots *roots = *state;
        char path[8192];

        np_test_path(path, sizeof(path), roots->proc, "driver/nvidia/gpus/0000:d8:00.0/information");
        assert_int_equal(unlink(path), 0);
        assert_int_equal(mkfifo(path, 0644), 0);
        assert_node(roots, 'c', 195, 0, 1);
        assert_refused(roots, 'c', 195, 1, -EINVAL, "0000:d8:00.0/information", "FIFO");
}

static void test_devices_a_gpu_without_its_pci_function_is_not_found(void **state)
{
        struct roots *roots = *state;
        char path[8192];

        assert_int_equal(unlink(np_test_path(path, sizeof(path), roots->sysfs, "bus/pci/devices/0000:3b:00.0")), 0);
        assert_refused(roots, 'c', 195, 0, -ENOENT, "bus/pci/devices/0000:3b:00.0", NULL);
}

int main(void)
{
#define COPY(test) cmocka_unit_test_setup_teardown(test, copy_setup, copy_teardown)
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_devices_nvme_namespace_and_controller_are_on_node_2),
                cmocka_unit_test(test_devices_rdma_uverbs_is_on_node_3_as_c_and_as_u),
                cmocka_unit_test(test_devices_nvidia_gpus_are_found_through_proc),
                cmocka_unit_test(test_devices_nvidiactl_and_modeset_have_no_node),
                cmocka_unit_test(test_devices_unknown_nvidia_minor_is_not_found),
                cmocka_unit_test(test_devices_numa_node_minus_one_and_virtual_devices_have_no_node),
                cmocka_unit_test(test_devices_unknown_major_minor_is_enoent_naming_it),
                cmocka_unit_test(test_devices_a_bad_type_is_refused),
                cmocka_unit_test(test_devices_nodes_joins_the_nodes_and_notes_the_rest),
                cmocka_unit_test(test_devices_nodes_of_two_devices_on_different_nodes),
                cmocka_unit_test(test_devices_nodes_cuts_the_note_to_its_size),
                COPY(test_devices_copy_reads_like_the_fixture),
                COPY(test_devices_garbage_numa_node_is_refused_naming_the_file),
                COPY(test_devices_garbage_numa_node_is_noted_not_fatal),
                COPY(test_devices_a_fifo_as_numa_node_is_refused_at_once),
                COPY(test_devices_a_numa_node_link_is_not_followed),
                COPY(test_devices_links_leading_out_of_the_sysfs_root_are_refused),
                COPY(test_devices_a_link_loop_is_refused),
                COPY(test_devices_a_bad_bus_location_is_refused),
                COPY(test_devices_a_fifo_among_the_gpus_hides_no_other),
                COPY(test_devices_a_gpu_without_its_pci_function_is_not_found),
        };
#undef COPY

        return cmocka_run_group_tests(tests, NULL, NULL);
}
