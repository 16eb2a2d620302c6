// SPDX-License-Identifier: MIT
/* Reads and rewrites the OCI config.json of a bundle. The file is validated
 * before anything is taken from it and replaced through a temporary file and
 * rename(), so a runtime never sees a half-written spec. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "fileio.h"
#include "jsontext.h"
#include "spec.h"

void np_spec_free(struct np_spec *spec)
{
        if (!spec)
                return;
        json_object_put(spec->root);
        if (spec->bundle_fd >= 0)
                close(spec->bundle_fd);
        np_annotations_clear(&spec->annotations);
        free(spec);
}

static int read_resources(struct np_spec *spec, struct json_object *linux_obj, struct np_diag *diag)
{
        struct json_object *resources, *cpu, *memory;
        int64_t quota = -1, limit = -1;
        uint64_t period = NP_CPU_PERIOD_DEFAULT;
        struct np_demand demand;
        const char *s;
        int r;

        spec->cpu_quota = quota;
        spec->cpu_period = period;
        spec->memory_limit = limit;
        r = np_json_get_string(linux_obj, "cgroupsPath", PATH_MAX - 1, "config.json linux", diag, &s);
        if (r == 0)
                strcpy(spec->cgroups_path, s);
        else if (r != -ENOENT)
                return r;

        r = np_json_get(linux_obj, "resources", json_type_object, "config.json linux", diag, &resources);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        r = np_json_get(resources, "cpu", json_type_object, "config.json linux.resources", diag, &cpu);
        if (r == 0) {
                r = np_json_get_int64(cpu, "quota", INT64_MIN, INT64_MAX, "config.json linux.resources.cpu", diag,
                                      &quota);
                if (r < 0 && r != -ENOENT)
                        return r;
                r = np_json_get_uint64(cpu, "period", "config.json linux.resources.cpu", diag, &period);
                if (r == -ENOENT)
                        period = NP_CPU_PERIOD_DEFAULT;
                else if (r < 0)
                        return r;
        } else if (r != -ENOENT)
                return r;
        r = np_json_get(resources, "memory", json_type_object, "config.json linux.resources", diag, &memory);
        if (r == 0) {
                r = np_json_get_int64(memory, "limit", INT64_MIN, INT64_MAX, "config.json linux.resources.memory", diag,
                                      &limit);
                if (r < 0 && r != -ENOENT)
                        return r;
        } else if (r != -ENOENT)
                return r;
        spec->cpu_quota = quota;
        spec->cpu_period = period;
        spec->memory_limit = limit;
        /* refused here, where the field is named, though core computes the demand */
        return np_demand_from_limits(quota, period, limit, diag, &demand);
}

int np_spec_load(const char *bundle, struct np_diag *diag, struct np_spec **ret_spec)
{
        _cleanup_spec_ struct np_spec *spec = NULL;
        _cleanup_free_ char *text = NULL;
        struct json_object *linux_obj, *annotations;
        const char *version;
        size_t size;
        int r;

        if (bundle[0] != '/' || strlen(bundle) >= PATH_MAX)
                return np_diag_fail(diag, -EINVAL, "bundle '%s': expected an absolute path", bundle);
        spec = calloc(1, sizeof(*spec));
        if (!spec)
                return -ENOMEM;
        spec->bundle_fd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (spec->bundle_fd < 0)
                return np_diag_fail(diag, -errno, "bundle %s: %s; expected the container's bundle directory", bundle,
                                    strerror(errno));
        strcpy(spec->bundle, bundle);
        spec->cpu_quota = spec->memory_limit = -1;
        spec->cpu_period = NP_CPU_PERIOD_DEFAULT;
        r = np_read_file_at(spec->bundle_fd, "config.json", NP_SPEC_LIMIT, &text, &size);
        if (r == -EFBIG)
                return np_diag_fail(diag, r, "bundle %s: config.json is larger than %d bytes", bundle, NP_SPEC_LIMIT);
        if (r == -EINVAL)
                return np_diag_fail(diag, r, "config.json %s/config.json: %s (the OCI runtime spec)", bundle,
                                    np_file_strerror_at(spec->bundle_fd, "config.json", r));
        if (r < 0)
                return np_diag_fail(diag, r,
                                    "bundle %s: cannot read config.json: %s; expected the OCI runtime spec there",
                                    bundle, strerror(-r));
        r = np_json_parse(text, size, NP_SPEC_LIMIT, "config.json", diag, &spec->root);
        if (r < 0)
                return r;
        if (!json_object_is_type(spec->root, json_type_object))
                return np_diag_fail(diag, -EINVAL, "config.json: expected a JSON object");
        r = np_json_get_string(spec->root, "ociVersion", 64, "config.json", diag, &version);
        if (r == -ENOENT)
                return np_diag_fail(diag, -EINVAL, "config.json: field 'ociVersion' is missing");
        if (r < 0)
                return r;

        r = np_json_get(spec->root, "annotations", json_type_object, "config.json", diag, &annotations);
        if (r == 0) {
                /* the keys with their exact bytes, from the text: json-c cuts a key at \u0000 */
                struct np_json_span text_root, object;

                r = np_jsontext_root(text, size, &text_root, NULL);
                if (r == 0)
                        r = np_jsontext_member(text, text_root, "annotations", &object);
                if (r == -EEXIST)
                        return np_diag_fail(diag, -EINVAL,
                                            "config.json: key 'annotations' appears more than once; expected it once");
                if (r == 0)
                        r = np_annotations_from_jsontext(text, object, "config.json annotations", diag,
                                                         &spec->annotations);
        }
        if (r < 0 && r != -ENOENT)
                return r;

        r = np_json_get(spec->root, "linux", json_type_object, "config.json", diag, &linux_obj);
        if (r == -ENOENT)
                r = 0;
        else if (r == 0)
                r = read_resources(spec, linux_obj, diag);
        if (r < 0)
                return r;
        *ret_spec = TAKE_PTR(spec);
        return 0;
}

/* obj[key] as an object, created when absent. */
static struct json_object *child_object(struct json_object *obj, const char *key)
{
        struct json_object *child;

        if (json_object_object_get_ex(obj, key, &child) && json_object_is_type(child, json_type_object))
                return child;
        child = json_object_new_object();
        if (!child || json_object_object_add(obj, key, child) < 0)
                return NULL;
        return child;
}

int np_spec_write_cpuset(struct np_spec *spec, const struct np_placement *placement, struct np_diag *diag)
{
        _cleanup_free_ char *text = NULL;
        char cpus[NP_CPULIST_BUFSIZE], mems[NP_CPULIST_BUFSIZE];
        struct json_object *linux_obj, *resources, *cpu;
        size_t size;
        int r;

        if (np_cpulist_format(&placement->cpus, cpus, sizeof(cpus)) < 0 ||
            np_cpulist_format(&placement->mems, mems, sizeof(mems)) < 0)
                return -ENOBUFS;
        linux_obj = child_object(spec->root, "linux");
        resources = linux_obj ? child_object(linux_obj, "resources") : NULL;
        cpu = resources ? child_object(resources, "cpu") : NULL;
        if (!cpu)
                return -ENOMEM;
        json_object_object_add(cpu, "cpus", json_object_new_string(cpus));
        if (placement->write_mems)
                json_object_object_add(cpu, "mems", json_object_new_string(mems));
        r = np_json_to_string(spec->root, &text, &size);
        if (r < 0)
                return r;
        r = np_write_file_atomic_at(spec->bundle_fd, "config.json", text, size, 0644);
        if (r < 0)
                return np_diag_fail(diag, r, "bundle %s: cannot replace config.json: %s", spec->bundle, strerror(-r));
        return 0;
}
