// SPDX-License-Identifier: MIT
/* The bundle's config.json: what np_spec_load() takes from it (annotations,
 * cgroupsPath, the demand from quota/period/limit), what it refuses, and the
 * cpuset rewrite, which must keep every byte numapin does not own. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../../core/spec.h"
#include "helpers.h"

#define GIB (UINT64_C(1) << 30)

/* A config.json as runc's `spec` writes it, trimmed, plus fields numapin must not touch. */
static const char full_spec[] =
        "{\n"
        "  \"ociVersion\": \"1.2.0\",\n"
        "  \"process\": {\n"
        "    \"terminal\": false,\n"
        "    \"user\": { \"uid\": 0, \"gid\": 0 },\n"
        "    \"args\": [ \"sh\", \"-c\", \"echo \\\"hi\\\" / \\u00e9\" ],\n"
        "    \"env\": [ \"PATH=/usr/bin:/bin\" ],\n"
        "    \"cwd\": \"/\",\n"
        "    \"rlimits\": [ { \"type\": \"RLIMIT_NOFILE\", \"hard\": 18446744073709551615, \"soft\": 1024 } ]\n"
        "  },\n"
        "  \"root\": { \"path\": \"rootfs\", \"readonly\": true },\n"
        "  \"hostname\": \"ctr\",\n"
        "  \"annotations\": {\n"
        "    \"policy.numapin.io/pod\": \"bind\",\n"
        "    \"exclusive-cpus.numapin.io/container.app\": \"4\",\n"
        "    \"io.kubernetes.cri.container-name\": \"app\"\n"
        "  },\n"
        "  \"linux\": {\n"
        "    \"cgroupsPath\": \"kubepods-pod1.slice:cri-containerd:abc\",\n"
        "    \"resources\": {\n"
        "      \"devices\": [ { \"allow\": false, \"access\": \"rwm\" } ],\n"
        "      \"cpu\": { \"quota\": 150000, \"period\": 100000, \"shares\": 1536,\n"
        "               \"cpus\": \"0-63\", \"mems\": \"0-1\" },\n"
        "      \"memory\": { \"limit\": 1073741824, \"swap\": 18446744073709551615 },\n"
        "      \"hugepageLimits\": [],\n"
        "      \"unified\": { \"memory.oom.group\": \"1\" }\n"
        "    },\n"
        "    \"namespaces\": [ { \"type\": \"pid\" }, { \"type\": \"mount\" } ],\n"
        "    \"maskedPaths\": [ \"/proc/kcore\" ],\n"
        "    \"seccomp\": null\n"
        "  },\n"
        "  \"x-vendor-extension\": { \"ratio\": 0.5, \"weights\": [ 0.25, 1e-3, -7 ], \"nested\": { \"empty\": {} } }\n"
        "}\n";

struct bundle {
        char path[4096];
        char config[4096];
};

static int bundle_setup(void **state)
{
        struct bundle *bundle = calloc(1, sizeof(*bundle));

        assert_non_null(bundle);
        np_test_mkdtemp(bundle->path, sizeof(bundle->path));
        np_test_path(bundle->config, sizeof(bundle->config), bundle->path, "config.json");
        *state = bundle;
        return 0;
}

static int bundle_teardown(void **state)
{
        struct bundle *bundle = *state;

        np_test_rmtree(bundle->path);
        free(bundle);
        return 0;
}

static struct np_spec *load_ok(const struct bundle *bundle, const char *config)
{
        struct np_spec *spec = NULL;
        struct np_diag diag = {};

        np_test_write_file(bundle->config, config);
        if (np_spec_load(bundle->path, &diag, &spec) < 0)
                fail_msg("np_spec_load: %s", diag.message);
        return spec;
}

/* Loading `config` fails with `error` and a message containing `needle`. */
static void assert_load_fails(const struct bundle *bundle, const char *config, int error, const char *needle)
{
        struct np_spec *spec = NULL;
        struct np_diag diag = {};

        np_test_write_file(bundle->config, config);
        assert_int_equal(np_spec_load(bundle->path, &diag, &spec), error);
        assert_null(spec);
        assert_int_equal(diag.error, error);
        if (!strstr(diag.message, needle))
                fail_msg("message '%s' does not contain '%s'", diag.message, needle);
}

/* The bundle's config.json, parsed. */
static struct json_object *read_config(const struct bundle *bundle)
{
        char *text = np_test_read_file(bundle->config);
        struct json_object *root;

        assert_non_null(text);
        root = json_tokener_parse(text);
        free(text);
        assert_non_null(root);
        return root;
}

static struct json_object *cpu_object(struct json_object *root)
{
        struct json_object *linux_obj, *resources, *cpu;

        assert_true(json_object_object_get_ex(root, "linux", &linux_obj));
        assert_true(json_object_object_get_ex(linux_obj, "resources", &resources));
        assert_true(json_object_object_get_ex(resources, "cpu", &cpu));
        return cpu;
}

static const char *cpu_field(struct json_object *root, const char *key)
{
        struct json_object *value;

        if (!json_object_object_get_ex(cpu_object(root), key, &value))
                return NULL;
        assert_true(json_object_is_type(value, json_type_string));
        return json_object_get_string(value);
}

static struct np_placement placement_of(const char *cpus, const char *mems, bool write_mems)
{
        return (struct np_placement){
                .policy = write_mems ? NP_POLICY_BIND : NP_POLICY_CPUS_ONLY,
                .cpus = np_test_cpulist(cpus),
                .mems = np_test_cpulist(mems),
                .write_mems = write_mems,
        };
}

static void write_cpuset_ok(struct np_spec *spec, const struct np_placement *placement)
{
        struct np_diag diag = {};

        if (np_spec_write_cpuset(spec, placement, &diag) < 0)
                fail_msg("np_spec_write_cpuset: %s", diag.message);
}

/* The demand core computes from what the spec holds. */
static struct np_demand spec_demand(const struct np_spec *spec)
{
        struct np_demand demand = {};

        assert_int_equal(np_demand_from_limits(spec->cpu_quota, spec->cpu_period, spec->memory_limit, NULL, &demand),
                         0);
        return demand;
}

static void test_spec_load_reads_annotations_cgroups_path_and_demand(void **state)
{
        _cleanup_spec_ struct np_spec *spec = load_ok(*state, full_spec);

        assert_int_equal(spec->annotations.n, 3);
        assert_string_equal(np_annotations_get(&spec->annotations, "policy.numapin.io/pod"), "bind");
        assert_string_equal(np_annotations_get(&spec->annotations, "exclusive-cpus.numapin.io/container.app"), "4");
        assert_string_equal(np_annotations_get(&spec->annotations, "io.kubernetes.cri.container-name"), "app");
        assert_string_equal(spec->cgroups_path, "kubepods-pod1.slice:cri-containerd:abc");
        assert_string_equal(spec->bundle, ((struct bundle *)*state)->path);
        /* 150000 us per 100000 us */
        assert_int_equal(spec_demand(spec).cpu_millis, 1500);
        assert_int_equal(spec_demand(spec).memory_bytes, 1 * GIB);
}

static void test_spec_load_without_linux_or_resources_has_no_demand(void **state)
{
        _cleanup_spec_ struct np_spec *spec = load_ok(*state, "{\"ociVersion\": \"1.0.2\"}");

        assert_int_equal(spec->annotations.n, 0);
        assert_string_equal(spec->cgroups_path, "");
        assert_int_equal(spec_demand(spec).cpu_millis, 0);
        assert_int_equal(spec_demand(spec).memory_bytes, 0);
        np_spec_free(TAKE_PTR(spec));

        spec = load_ok(*state, "{\"ociVersion\": \"1.0.2\", \"linux\": {\"cgroupsPath\": \"/a/b\"}}");
        assert_string_equal(spec->cgroups_path, "/a/b");
        assert_int_equal(spec_demand(spec).cpu_millis, 0);
        np_spec_free(TAKE_PTR(spec));

        /* unlimited quota and limit (-1), and a quota without a period (100 ms is the default) */
        spec = load_ok(*state, "{\"ociVersion\": \"1.0.2\", \"linux\": {\"resources\": {"
                               "\"cpu\": {\"quota\": -1, \"period\": 100000}, \"memory\": {\"limit\": -1}}}}");
        assert_int_equal(spec_demand(spec).cpu_millis, 0);
        assert_int_equal(spec_demand(spec).memory_bytes, 0);
        np_spec_free(TAKE_PTR(spec));

        spec = load_ok(*state,
                       "{\"ociVersion\": \"1.0.2\", \"linux\": {\"resources\": {\"cpu\": {\"quota\": 50000}}}}");
        assert_int_equal(spec_demand(spec).cpu_millis, 500);
}

static void test_spec_demand_rounds_a_partial_milli_up(void **state)
{
        struct np_demand demand;

        assert_int_equal(np_demand_from_limits(50001, 100000, 0, NULL, &demand), 0);
        assert_int_equal(demand.cpu_millis, 501);
        assert_int_equal(np_demand_from_limits(1, 1000000, -1, NULL, &demand), 0);
        assert_int_equal(demand.cpu_millis, 1);
        assert_int_equal(np_demand_from_limits(400000, 50000, 512 * 1024 * 1024, NULL, &demand), 0);
        assert_int_equal(demand.cpu_millis, 8000);
        assert_int_equal(demand.memory_bytes, 512 * 1024 * 1024);
}

static void test_spec_demand_refuses_a_period_out_of_range_and_a_huge_quota(void **state)
{
        struct np_demand demand = { .cpu_millis = 77 };
        struct np_diag diag = {};

        assert_int_equal(np_demand_from_limits(100000, 0, -1, &diag, &demand), -EINVAL);
        assert_non_null(strstr(diag.message, "linux.resources.cpu.period: 0 is out of range"));
        assert_int_equal(np_demand_from_limits(100000, 1000001, -1, &diag, &demand), -EINVAL);
        assert_int_equal(np_demand_from_limits(INT64_MAX, 100000, -1, &diag, &demand), -ERANGE);
        assert_non_null(strstr(diag.message, "linux.resources.cpu.quota"));
        /* the out-parameter is written only on success */
        assert_int_equal(demand.cpu_millis, 77);
}

static void test_spec_missing_oci_version_is_refused(void **state)
{
        assert_load_fails(*state, "{\"linux\": {}}", -EINVAL, "field 'ociVersion' is missing");
        assert_load_fails(*state, "{\"ociVersion\": 1}", -EINVAL, "'ociVersion' is an integer; expected a string");
}

static void test_spec_fields_of_the_wrong_type_are_refused_naming_them(void **state)
{
        assert_load_fails(*state,
                          "{\"ociVersion\": \"1.0.2\", \"linux\": {\"resources\": {\"cpu\": {\"quota\": \"150000\"}}}}",
                          -EINVAL, "linux.resources.cpu: field 'quota' is a string; expected an integer");
        assert_load_fails(*state,
                          "{\"ociVersion\": \"1.0.2\", \"linux\": {\"resources\": {\"cpu\": {\"period\": 1.5}}}}",
                          -EINVAL, "field 'period' is a number; expected an integer");
        assert_load_fails(*state,
                          "{\"ociVersion\": \"1.0.2\", \"linux\": {\"resources\": {\"memory\": {\"limit\": true}}}}",
                          -EINVAL, "linux.resources.memory: field 'limit' is a boolean");
        assert_load_fails(*state, "{\"ociVersion\": \"1.0.2\", \"linux\": {\"resources\": {\"cpu\": []}}}", -EINVAL,
                          "field 'cpu' is an array; expected an object");
        assert_load_fails(*state, "{\"ociVersion\": \"1.0.2\", \"linux\": {\"cgroupsPath\": 5}}", -EINVAL,
                          "field 'cgroupsPath' is an integer");
        assert_load_fails(*state, "{\"ociVersion\": \"1.0.2\", \"linux\": []}", -EINVAL, "field 'linux' is an array");
        assert_load_fails(*state, "{\"ociVersion\": \"1.0.2\", \"annotations\": [\"a\"]}", -EINVAL,
                          "field 'annotations' is an array");
        assert_load_fails(*state, "{\"ociVersion\": \"1.0.2\", \"annotations\": {\"policy.numapin.io/pod\": 1}}",
                          -EINVAL, "policy.numapin.io/pod");
}

/* linux.devices as runc's spec lists them: character (c, and u as c) and block
 * devices with their numbers; FIFOs (p) have no PCI function and are left out. */
static void test_spec_load_reads_devices(void **state)
{
        _cleanup_spec_ struct np_spec *spec = load_ok(
                *state,
                "{\"ociVersion\": \"1.0.2\", \"linux\": {\"devices\": ["
                "{\"path\": \"/dev/nvidia0\", \"type\": \"c\", \"major\": 195, \"minor\": 0, \"fileMode\": 438},"
                "{\"path\": \"/dev/nvme0n1\", \"type\": \"b\", \"major\": 259, \"minor\": 0},"
                "{\"path\": \"/dev/fifo\", \"type\": \"p\"},"
                "{\"path\": \"/dev/infiniband/uverbs0\", \"type\": \"u\", \"major\": 231, \"minor\": 192}]}}");

        assert_int_equal(spec->n_devices, 3);
        assert_string_equal(spec->devices[0].path, "/dev/nvidia0");
        assert_int_equal(spec->devices[0].type, 'c');
        assert_int_equal(spec->devices[0].major, 195);
        assert_int_equal(spec->devices[0].minor, 0);
        assert_int_equal(spec->devices[1].type, 'b');
        assert_int_equal(spec->devices[1].major, 259);
        assert_string_equal(spec->devices[2].path, "/dev/infiniband/uverbs0");
        assert_int_equal(spec->devices[2].type, 'c');
        assert_int_equal(spec->devices[2].minor, 192);
}

static void test_spec_malformed_devices_are_refused_naming_them(void **state)
{
        assert_load_fails(*state, "{\"ociVersion\": \"1.0.2\", \"linux\": {\"devices\": {}}}", -EINVAL,
                          "field 'devices' is an object; expected an array");
        assert_load_fails(*state, "{\"ociVersion\": \"1.0.2\", \"linux\": {\"devices\": [7]}}", -EINVAL,
                          "linux.devices[0]: expected an object");
        assert_load_fails(*state,
                          "{\"ociVersion\": \"1.0.2\", \"linux\": {\"devices\": [{\"type\": \"c\", \"major\": 1, "
                          "\"minor\": 3}]}}",
                          -EINVAL, "linux.devices[0]: field 'path' is missing");
        assert_load_fails(
                *state,
                "{\"ociVersion\": \"1.0.2\", \"linux\": {\"devices\": [{\"path\": \"/dev/x\", \"type\": \"x\", "
                "\"major\": 1, \"minor\": 3}]}}",
                -EINVAL, "linux.devices[0]: field 'type' is missing or not one of c, b, u or p");
        assert_load_fails(
                *state,
                "{\"ociVersion\": \"1.0.2\", \"linux\": {\"devices\": [{\"path\": \"/dev/null\", \"type\": \"c\", "
                "\"major\": 1, \"minor\": 3}, {\"path\": \"/dev/x\", \"type\": \"b\", \"major\": 8}]}}",
                -EINVAL, "linux.devices[1]: fields 'major' and 'minor' are required for type b");
        assert_load_fails(
                *state,
                "{\"ociVersion\": \"1.0.2\", \"linux\": {\"devices\": [{\"path\": \"/dev/x\", \"type\": \"c\", "
                "\"major\": 4294967296, \"minor\": 0}]}}",
                -ERANGE, "linux.devices[0]");
}

static void test_spec_period_zero_is_refused(void **state)
{
        assert_load_fails(*state,
                          "{\"ociVersion\": \"1.0.2\", \"linux\": {\"resources\": "
                          "{\"cpu\": {\"quota\": 1000, \"period\": 0}}}}",
                          -EINVAL, "linux.resources.cpu.period: 0 is out of range");
        assert_load_fails(*state,
                          "{\"ociVersion\": \"1.0.2\", \"linux\": {\"resources\": {\"cpu\": {\"period\": -5}}}}",
                          -ERANGE, "field 'period' is negative");
}

static void test_spec_malformed_json_is_refused(void **state)
{
        assert_load_fails(*state, "{\"ociVersion\": \"1.0.2\",", -EINVAL, "config.json");
        assert_load_fails(*state, "[\"ociVersion\"]", -EINVAL, "config.json: expected a JSON object");
        assert_load_fails(*state, "{\"ociVersion\": \"1.0.2\"} {}", -EINVAL, "byte offset 24");
        assert_load_fails(*state, "", -EINVAL, "empty input");
}

static void test_spec_larger_than_4mib_is_refused(void **state)
{
        struct bundle *bundle = *state;
        size_t size = NP_SPEC_LIMIT + 1;
        char *text = malloc(size + 1);
        struct np_spec *spec = NULL;
        struct np_diag diag = {};
        static const char head[] = "{\"ociVersion\": \"1.0.2\", \"pad\": \"";

        assert_non_null(text);
        memcpy(text, head, sizeof(head) - 1);
        memset(text + sizeof(head) - 1, 'x', size - (sizeof(head) - 1) - 2);
        memcpy(text + size - 2, "\"}", 2);
        text[size] = '\0';
        np_test_write_file(bundle->config, text);
        free(text);

        assert_int_equal(np_spec_load(bundle->path, &diag, &spec), -EFBIG);
        assert_null(spec);
        assert_non_null(strstr(diag.message, "config.json is larger than 4194304 bytes"));
}

static void test_spec_bundle_must_be_an_absolute_existing_folder(void **state)
{
        struct bundle *bundle = *state;
        struct np_spec *spec = NULL;
        struct np_diag diag = {};

        assert_int_equal(np_spec_load("relative/bundle", &diag, &spec), -EINVAL);
        assert_non_null(strstr(diag.message, "expected an absolute path"));
        assert_int_equal(np_spec_load("/nonexistent/numapin-bundle", &diag, &spec), -ENOENT);
        assert_non_null(strstr(diag.message, "/nonexistent/numapin-bundle"));
        /* the folder exists but has no config.json */
        assert_int_equal(np_spec_load(bundle->path, &diag, &spec), -ENOENT);
        assert_non_null(strstr(diag.message, "cannot read config.json"));
        assert_null(spec);
}

static void test_spec_write_cpuset_keeps_every_other_field(void **state)
{
        struct bundle *bundle = *state;
        _cleanup_spec_ struct np_spec *spec = load_ok(bundle, full_spec);
        _cleanup_json_ struct json_object *before = json_tokener_parse(full_spec), *after = NULL;
        struct np_placement placement = placement_of("0-1,16-17", "0", true);
        char *text;

        assert_non_null(before);
        write_cpuset_ok(spec, &placement);
        after = read_config(bundle);
        assert_string_equal(cpu_field(after, "cpus"), "0-1,16-17");
        assert_string_equal(cpu_field(after, "mems"), "0");

        /* everything else is equal, the unknown extension and the uint64 maximum included */
        json_object_object_del(cpu_object(before), "cpus");
        json_object_object_del(cpu_object(before), "mems");
        json_object_object_del(cpu_object(after), "cpus");
        json_object_object_del(cpu_object(after), "mems");
        if (!json_object_equal(before, after))
                fail_msg("config.json changed beyond cpus/mems:\n%s",
                         json_object_to_json_string_ext(after, JSON_C_TO_STRING_PRETTY));

        text = np_test_read_file(bundle->config);
        assert_non_null(strstr(text, "18446744073709551615"));
        assert_non_null(strstr(text, "0.5"));
        assert_null(strstr(text, "\\/"));
        free(text);
}

static void test_spec_write_cpuset_writes_only_cpus_when_memory_is_left_alone(void **state)
{
        struct bundle *bundle = *state;
        _cleanup_spec_ struct np_spec *spec = load_ok(bundle, full_spec);
        _cleanup_json_ struct json_object *after = NULL;
        struct np_placement placement = placement_of("8-15", "0-1", false);

        write_cpuset_ok(spec, &placement);
        after = read_config(bundle);
        assert_string_equal(cpu_field(after, "cpus"), "8-15");
        /* the runtime's own value, untouched */
        assert_string_equal(cpu_field(after, "mems"), "0-1");
        json_object_put(TAKE_PTR(after));
        np_spec_free(TAKE_PTR(spec));

        spec = load_ok(bundle, "{\"ociVersion\": \"1.0.2\"}");
        write_cpuset_ok(spec, &placement);
        after = read_config(bundle);
        assert_string_equal(cpu_field(after, "cpus"), "8-15");
        assert_null(cpu_field(after, "mems"));
}

static void test_spec_write_cpuset_creates_the_missing_objects(void **state)
{
        struct bundle *bundle = *state;
        _cleanup_spec_ struct np_spec *spec =
                load_ok(bundle, "{\"ociVersion\": \"1.0.2\", \"linux\": {\"namespaces\": []}}");
        _cleanup_json_ struct json_object *after = NULL;
        struct np_placement placement = placement_of("4-7", "1", true);
        struct json_object *linux_obj, *namespaces;

        write_cpuset_ok(spec, &placement);
        after = read_config(bundle);
        assert_string_equal(cpu_field(after, "cpus"), "4-7");
        assert_string_equal(cpu_field(after, "mems"), "1");
        assert_true(json_object_object_get_ex(after, "linux", &linux_obj));
        assert_true(json_object_object_get_ex(linux_obj, "namespaces", &namespaces));
        assert_true(json_object_is_type(namespaces, json_type_array));
}

/* Writes `placement` into a bundle holding `before` and compares the file byte for byte. */
static void assert_rewrite(const struct bundle *bundle, const char *before, const struct np_placement *placement,
                           const char *expected)
{
        _cleanup_spec_ struct np_spec *spec = load_ok(bundle, before);
        char *text;

        write_cpuset_ok(spec, placement);
        text = np_test_read_file(bundle->config);
        assert_non_null(text);
        if (strcmp(text, expected) != 0)
                fail_msg("rewritten config.json:\n%s\nexpected:\n%s", text, expected);
        free(text);
}

/* What json-c would change: numbers beyond 64 bits, a lone surrogate, \u0000 in
 * someone else's value, escapes, key order and whitespace. */
static const char hostile_spec[] =
        "{ \"ociVersion\":\"1.0.2\" ,\n"
        "\t\"annotations\" : {\"example.com/other\": \"a\\u0000b\",\n"
        "   \"example.com/s\" : \"\\ud800\\/x\\u00E9\", \"nodes.numapin.io/pod\":\"1\"},\n"
        "  \"process\":{\"rlimits\":[{\"hard\":123456789012345678901234567890,"
        "\"soft\":-1.50E+3}]},\n"
        "  \"linux\":{\"resources\":{\"cpu\":{\"mems\" :\"0\",\"shares\":2,  \"cpus\":  \"0-63\"}},"
        "\"cgroupsPath\":\"/c\"},\n"
        "  \"zz\": 1e400 }\n";

static void test_spec_write_cpuset_changes_only_the_bytes_of_cpus_and_mems(void **state)
{
        struct np_placement placement = placement_of("8-15,24-31", "1", true);
        char expected[sizeof(hostile_spec) + 64];
        const char *cpus = strstr(hostile_spec, "\"0-63\""), *mems = strstr(hostile_spec, "\"0\",");

        /* the original with the two values replaced, by hand */
        snprintf(expected, sizeof(expected), "%.*s\"1\"%.*s\"8-15,24-31\"%s", (int)(mems - hostile_spec), hostile_spec,
                 (int)(cpus - mems - 3), mems + 3, cpus + 6);
        assert_rewrite(*state, hostile_spec, &placement, expected);
}

static void test_spec_write_cpuset_leaves_mems_bytes_alone_when_memory_is_left_alone(void **state)
{
        struct np_placement placement = placement_of("4-7", "0-1", false);
        char expected[sizeof(hostile_spec) + 64];
        const char *cpus = strstr(hostile_spec, "\"0-63\"");

        snprintf(expected, sizeof(expected), "%.*s\"4-7\"%s", (int)(cpus - hostile_spec), hostile_spec, cpus + 6);
        assert_rewrite(*state, hostile_spec, &placement, expected);
}

static void test_spec_write_cpuset_inserts_members_as_the_file_is_indented(void **state)
{
        struct np_placement placement = placement_of("0-3", "0", true);

        assert_rewrite(
                *state,
                "{\n    \"ociVersion\": \"1.0.2\",\n    \"linux\": {\n        \"cgroupsPath\": \"/c\"\n    }\n}\n",
                &placement,
                "{\n    \"ociVersion\": \"1.0.2\",\n    \"linux\": {\n        \"cgroupsPath\": \"/c\",\n"
                "        \"resources\": {\"cpu\": {\"cpus\": \"0-3\", \"mems\": \"0\"}}\n    }\n}\n");
        assert_rewrite(
                *state, "{\"ociVersion\":\"1.0.2\",\"linux\":{\"resources\":{\"cpu\":{}}}}", &placement,
                "{\"ociVersion\":\"1.0.2\",\"linux\":{\"resources\":{\"cpu\":{\"cpus\": \"0-3\", \"mems\": \"0\"}}}}");
        assert_rewrite(
                *state, "{\"ociVersion\":\"1.0.2\",\"linux\":{\"resources\":{\"cpu\":{\"mems\":\"1\"}}}}", &placement,
                "{\"ociVersion\":\"1.0.2\",\"linux\":{\"resources\":{\"cpu\":{\"mems\":\"0\", \"cpus\": \"0-3\"}}}}");
        assert_rewrite(
                *state, "{\"ociVersion\":\"1.0.2\"}", &placement,
                "{\"ociVersion\":\"1.0.2\", \"linux\": {\"resources\": {\"cpu\": {\"cpus\": \"0-3\", \"mems\": \"0\"}}}}");
}

/* A second rewrite of the same spec finds its site in the text the first one
 * wrote (objects the first added, values it replaced), not in the original. */
static void test_spec_write_cpuset_twice_rewrites_what_the_first_wrote(void **state)
{
        struct bundle *bundle = *state;
        _cleanup_spec_ struct np_spec *spec = load_ok(bundle, "{\"ociVersion\":\"1.0.2\",\"linux\":{}}");
        struct np_placement first = placement_of("0-3", "0", true), second = placement_of("8-15,24-31", "1", true);
        struct np_placement third = placement_of("5", "0", false);
        char *text;

        write_cpuset_ok(spec, &first);
        write_cpuset_ok(spec, &second);
        text = np_test_read_file(bundle->config);
        assert_non_null(text);
        assert_string_equal(text, "{\"ociVersion\":\"1.0.2\",\"linux\":{\"resources\": {\"cpu\": "
                                  "{\"cpus\": \"8-15,24-31\", \"mems\": \"1\"}}}}");
        free(text);
        write_cpuset_ok(spec, &third);
        text = np_test_read_file(bundle->config);
        assert_non_null(text);
        assert_string_equal(text, "{\"ociVersion\":\"1.0.2\",\"linux\":{\"resources\": {\"cpu\": "
                                  "{\"cpus\": \"5\", \"mems\": \"1\"}}}}");
        free(text);
}

/* json-c reads null as absent; the rewrite puts the object there */
static void test_spec_write_cpuset_replaces_a_null_object(void **state)
{
        struct np_placement placement = placement_of("0-3", "0", false);

        assert_rewrite(*state, "{\"ociVersion\":\"1.0.2\",\"linux\":{\"resources\":null, \"x\": 1}}", &placement,
                       "{\"ociVersion\":\"1.0.2\",\"linux\":{\"resources\":{\"cpu\": {\"cpus\": \"0-3\"}}, \"x\": 1}}");
}

/* A key numapin reads or rewrites, twice: which one would the runtime take? */
static void test_spec_duplicate_keys_on_the_rewritten_path_are_refused_naming_them(void **state)
{
        assert_load_fails(*state, "{\"ociVersion\":\"1.0.2\",\"linux\":{},\"linux\":{}}", -EINVAL,
                          "config.json: key 'linux' appears more than once");
        assert_load_fails(
                *state,
                "{\"ociVersion\":\"1.0.2\",\"linux\":{\"resources\":{\"cpu\":{\"cpus\":\"1\",\"cpus\":\"2\"}}}}",
                -EINVAL, "key 'linux.resources.cpu.cpus' appears more than once");
        assert_load_fails(*state, "{\"ociVersion\":\"1.0.2\",\"annotations\":{},\"annotations\":{}}", -EINVAL,
                          "key 'annotations' appears more than once");
}

static void test_spec_annotation_keys_keep_their_bytes(void **state)
{
        _cleanup_spec_ struct np_spec *spec =
                load_ok(*state, "{\"ociVersion\":\"1.0.2\",\"annotations\":{\"cpus.numapin.io/pod\":\"1\","
                                "\"cpus.numapin.io/pod\\u0000x\":\"3\",\"example.com/o\":\"\\u0000\"}}");

        assert_int_equal(spec->annotations.n, 2);
        assert_int_equal(spec->annotations.items[1].key_len, 21);
        assert_string_equal(np_annotations_get(&spec->annotations, "cpus.numapin.io/pod"), "1");
}

static void test_spec_write_cpuset_leaves_no_temporary_file_and_keeps_the_mode(void **state)
{
        struct bundle *bundle = *state;
        _cleanup_spec_ struct np_spec *spec = load_ok(bundle, full_spec);
        struct np_placement placement = placement_of("0-3", "0", true);
        struct stat st;

        assert_int_equal(chmod(bundle->config, 0600), 0);
        write_cpuset_ok(spec, &placement);
        write_cpuset_ok(spec, &placement);
        assert_int_equal(np_test_count_entries(bundle->path), 1);
        assert_int_equal(stat(bundle->config, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
}

/* A config.json of the size runtimes write (env, mounts, a seccomp profile of
 * 400 calls: over 10 KiB), with keys named as numapin's below other objects:
 * the fields come from where the spec puts them, and nowhere else. */
static void test_spec_load_reads_a_runtime_sized_spec(void **state)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_spec_ struct np_spec *spec = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&text, &size);

        assert_non_null(out);
        fputs("{\"ociVersion\":\"1.1.0\",\"process\":{\"args\":[\"/pause\"],\"env\":[", out);
        for (int i = 0; i < 200; i++)
                fprintf(out, "%s\"VAR_%d=value-%d\"", i ? "," : "", i, i);
        fputs("],\"linux\":{\"cgroupsPath\":\"/decoy\"}},\"mounts\":[", out);
        for (int i = 0; i < 40; i++)
                fprintf(out,
                        "%s{\"destination\":\"/m%d\",\"type\":\"bind\",\"source\":\"/s%d\",\"options\":[\"rbind\"]}",
                        i ? "," : "", i, i);
        fputs("],\"annotations\":{\"cpus.numapin.io/pod\":\"2\",\"io.kubernetes.cri.sandbox-id\":\"abc\"},"
              "\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[",
              out);
        for (int i = 0; i < 400; i++)
                fprintf(out, "%s\"call_%d\"", i ? "," : "", i);
        fputs("],\"action\":\"SCMP_ACT_ALLOW\"}]},\"devices\":[{\"path\":\"/dev/nvidia0\",\"type\":\"c\",\"major\":195,"
              "\"minor\":0}],\"resources\":{\"cpu\":{\"shares\":2048,\"quota\":200000,\"period\":100000},"
              "\"memory\":{\"limit\":536870912}},\"cgroupsPath\":\"/kubepods/pod1/ctr\"}}",
              out);
        assert_int_equal(fclose(out), 0);
        assert_true(size > 10240);

        spec = load_ok(*state, text);
        assert_string_equal(spec->cgroups_path, "/kubepods/pod1/ctr");
        assert_int_equal(spec->cpu_quota, 200000);
        assert_int_equal(spec->cpu_period, 100000);
        assert_int_equal(spec->memory_limit, 536870912);
        assert_int_equal(spec->annotations.n, 2);
        assert_int_equal(spec->n_devices, 1);
        assert_string_equal(spec->devices[0].path, "/dev/nvidia0");
}

/* Keys read once, values that are not text, a spec of which no tree is built
 * still refuses them: ociVersion twice, a lone surrogate in cgroupsPath. */
static void test_spec_refuses_a_field_twice_and_a_path_that_is_not_text(void **state)
{
        assert_load_fails(*state, "{\"ociVersion\":\"1.0.2\",\"ociVersion\":\"1.2.0\"}", -EINVAL,
                          "config.json: key 'ociVersion' appears more than once");
        assert_load_fails(*state,
                          "{\"ociVersion\":\"1.0.2\",\"linux\":{\"resources\":{\"memory\":{\"limit\":1,\"limit\":2}}}}",
                          -EINVAL, "key 'linux.resources.memory.limit' appears more than once");
        assert_load_fails(*state, "{\"ociVersion\":\"1.0.2\",\"linux\":{\"cgroupsPath\":\"/a\\ud800\"}}", -EILSEQ,
                          "linux: field 'cgroupsPath' is not valid UTF-8");
}

int main(void)
{
#define WITH_BUNDLE(test) cmocka_unit_test_setup_teardown(test, bundle_setup, bundle_teardown)
        const struct CMUnitTest tests[] = {
                WITH_BUNDLE(test_spec_load_reads_annotations_cgroups_path_and_demand),
                WITH_BUNDLE(test_spec_load_without_linux_or_resources_has_no_demand),
                cmocka_unit_test(test_spec_demand_rounds_a_partial_milli_up),
                cmocka_unit_test(test_spec_demand_refuses_a_period_out_of_range_and_a_huge_quota),
                WITH_BUNDLE(test_spec_missing_oci_version_is_refused),
                WITH_BUNDLE(test_spec_fields_of_the_wrong_type_are_refused_naming_them),
                WITH_BUNDLE(test_spec_load_reads_devices),
                WITH_BUNDLE(test_spec_malformed_devices_are_refused_naming_them),
                WITH_BUNDLE(test_spec_period_zero_is_refused),
                WITH_BUNDLE(test_spec_malformed_json_is_refused),
                WITH_BUNDLE(test_spec_larger_than_4mib_is_refused),
                WITH_BUNDLE(test_spec_bundle_must_be_an_absolute_existing_folder),
                WITH_BUNDLE(test_spec_write_cpuset_keeps_every_other_field),
                WITH_BUNDLE(test_spec_write_cpuset_writes_only_cpus_when_memory_is_left_alone),
                WITH_BUNDLE(test_spec_write_cpuset_creates_the_missing_objects),
                WITH_BUNDLE(test_spec_write_cpuset_leaves_no_temporary_file_and_keeps_the_mode),
                WITH_BUNDLE(test_spec_write_cpuset_changes_only_the_bytes_of_cpus_and_mems),
                WITH_BUNDLE(test_spec_write_cpuset_leaves_mems_bytes_alone_when_memory_is_left_alone),
                WITH_BUNDLE(test_spec_write_cpuset_inserts_members_as_the_file_is_indented),
                WITH_BUNDLE(test_spec_write_cpuset_replaces_a_null_object),
                WITH_BUNDLE(test_spec_write_cpuset_twice_rewrites_what_the_first_wrote),
                WITH_BUNDLE(test_spec_duplicate_keys_on_the_rewritten_path_are_refused_naming_them),
                WITH_BUNDLE(test_spec_annotation_keys_keep_their_bytes),
                WITH_BUNDLE(test_spec_load_reads_a_runtime_sized_spec),
                WITH_BUNDLE(test_spec_refuses_a_field_twice_and_a_path_that_is_not_text),
        };
#undef WITH_BUNDLE

        return cmocka_run_group_tests(tests, NULL, NULL);
}
