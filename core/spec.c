// SPDX-License-Identifier: MIT
/* Reads and rewrites the OCI config.json of a bundle. The file is validated
 * before anything is taken from it; the rewrite splices the cpuset into the
 * original text and replaces the file through a temporary file and rename(),
 * so a runtime never sees a half-written spec nor a field numapin changed
 * without owning it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "fileio.h"
#include "spec.h"

void np_spec_free(struct np_spec *spec)
{
        if (!spec)
                return;
        free(spec->text);
        if (spec->bundle_fd >= 0)
                close(spec->bundle_fd);
        np_annotations_clear(&spec->annotations);
        for (size_t i = 0; i < spec->n_devices; i++)
                free((char *)spec->devices[i].path);
        free(spec->devices);
        free(spec);
}

/* What numapin reads of config.json, found in the one scan that validates it: a
 * key it reads given twice is refused (which one would the runtime take?). */
static const char *const spec_paths[] = {
        "ociVersion",
        "annotations",
        "linux",
        "linux.cgroupsPath",
        "linux.resources",
        "linux.devices",
        "linux.resources.cpu",
        "linux.resources.memory",
        "linux.resources.cpu.quota",
        "linux.resources.cpu.period",
        "linux.resources.cpu.cpus",
        "linux.resources.cpu.mems",
        "linux.resources.memory.limit",
};
enum spec_field {
        OCI_VERSION,
        ANNOTATIONS,
        LINUX,
        CGROUPS_PATH,
        RESOURCES,
        DEVICES,
        CPU,
        MEMORY,
        CPU_QUOTA,
        CPU_PERIOD,
        CPU_CPUS,
        CPU_MEMS,
        MEMORY_LIMIT,
        N_SPEC_FIELDS,
};
_Static_assert(ARRAY_SIZE(spec_paths) == N_SPEC_FIELDS, "a path for each field");

static int validate(const char *text, size_t size, struct np_diag *diag, struct np_json_span *ret_root,
                    struct np_json_span *ret_values)
{
        struct np_jsontext_find find = { spec_paths, N_SPEC_FIELDS, ret_values, 0 };
        int r = np_json_validate(text, size, NP_SPEC_LIMIT, "config.json", &find, diag, ret_root);

        if (r == -EEXIST)
                return np_diag_fail(
                        diag, -EINVAL,
                        "config.json: key '%s' appears more than once; expected it once (numapin reads or rewrites it)",
                        spec_paths[find.twice]);
        if (r < 0)
                return r;
        if (!np_jsontext_is(text, *ret_root, '{'))
                return np_diag_fail(diag, -EINVAL, "config.json: expected a JSON object");
        return 0;
}

/* The values of `keys` in `object` (prefix: the object's path in messages), in
 * one pass over its members; a key given twice is refused, as above. */
static int fields(const char *text, struct np_json_span object, const char *prefix, const char *const *keys, size_t n,
                  struct np_diag *diag, struct np_json_span *ret_values)
{
        size_t twice = 0;
        int r = np_jsontext_members(text, object, keys, n, ret_values, &twice);

        if (r == -EEXIST)
                return np_diag_fail(
                        diag, -EINVAL,
                        "config.json: key '%s%s' appears more than once; expected it once (numapin reads or rewrites it)",
                        prefix, keys[twice]);
        return r;
}

/* linux.devices: the character and block devices, for device affinity (FIFOs, 'p',
 * have no PCI function and are left out). */
static int read_devices(struct np_spec *spec, const char *text, struct np_json_span devices, struct np_diag *diag)
{
        struct np_json_span device;
        size_t n = 0, cursor = 0;
        int r;

        r = np_jsontext_get(text, devices, "devices", json_type_array, "config.json linux", diag);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        while ((r = np_jsontext_next_item(text, devices, &cursor, &device)) > 0)
                n++;
        if (r < 0)
                return r;
        if (n > NP_SPEC_DEVICES_MAX)
                return np_diag_fail(diag, -E2BIG, "config.json linux.devices: %zu devices; expected at most %d", n,
                                    NP_SPEC_DEVICES_MAX);
        spec->devices = calloc(n ? n : 1, sizeof(*spec->devices));
        if (!spec->devices)
                return -ENOMEM;
        cursor = 0;
        for (size_t i = 0; (r = np_jsontext_next_item(text, devices, &cursor, &device)) > 0; i++) {
                static const char *const keys[] = { "path", "type", "major", "minor" };
                struct np_json_span v[ARRAY_SIZE(keys)];
                struct np_device *d = &spec->devices[spec->n_devices];
                _cleanup_free_ char *path = NULL, *type = NULL;
                char what[64], prefix[64];
                int64_t major, minor;

                snprintf(what, sizeof(what), "config.json linux.devices[%zu]", i);
                snprintf(prefix, sizeof(prefix), "linux.devices[%zu].", i);
                if (!np_jsontext_is(text, device, '{'))
                        return np_diag_fail(diag, -EINVAL, "%s: expected an object with path, type, major and minor",
                                            what);
                r = fields(text, device, prefix, keys, ARRAY_SIZE(keys), diag, v);
                if (r < 0)
                        return r;
                r = np_jsontext_get_string(text, v[0], "path", PATH_MAX - 1, what, diag, &path);
                if (r == -ENOENT)
                        return np_diag_fail(diag, -EINVAL, "%s: field 'path' is missing", what);
                if (r == 0)
                        r = np_jsontext_get_string(text, v[1], "type", 1, what, diag, &type);
                if (r == -ENOENT || (r == 0 && (type[0] == '\0' || !strchr("cbup", type[0]))))
                        return np_diag_fail(diag, -EINVAL, "%s: field 'type' is missing or not one of c, b, u or p",
                                            what);
                if (r < 0)
                        return r;
                if (type[0] == 'p')
                        continue;
                r = np_jsontext_get_int64(text, v[2], "major", 0, UINT32_MAX, what, diag, &major);
                if (r == 0)
                        r = np_jsontext_get_int64(text, v[3], "minor", 0, UINT32_MAX, what, diag, &minor);
                if (r == -ENOENT)
                        return np_diag_fail(diag, -EINVAL, "%s: fields 'major' and 'minor' are required for type %s",
                                            what, type);
                if (r < 0)
                        return r;
                d->path = TAKE_PTR(path);
                d->type = type[0] == 'b' ? 'b' : 'c';
                d->major = (uint32_t)major;
                d->minor = (uint32_t)minor;
                spec->n_devices++;
        }
        return r;
}

/* linux.cgroupsPath and linux.resources: the cpu quota and period, the memory limit. */
static int read_resources(struct np_spec *spec, const char *text, const struct np_json_span *v, struct np_diag *diag)
{
        int64_t quota = -1, limit = -1;
        uint64_t period = NP_CPU_PERIOD_DEFAULT;
        _cleanup_free_ char *path = NULL;
        struct np_demand demand;
        int r;

        spec->cpu_quota = quota;
        spec->cpu_period = period;
        spec->memory_limit = limit;
        r = np_jsontext_get_string(text, v[CGROUPS_PATH], "cgroupsPath", PATH_MAX - 1, "config.json linux", diag,
                                   &path);
        if (r == 0)
                strcpy(spec->cgroups_path, path);
        else if (r != -ENOENT)
                return r;

        r = np_jsontext_get(text, v[RESOURCES], "resources", json_type_object, "config.json linux", diag);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        r = np_jsontext_get(text, v[CPU], "cpu", json_type_object, "config.json linux.resources", diag);
        if (r == 0) {
                r = np_jsontext_get_int64(text, v[CPU_QUOTA], "quota", INT64_MIN, INT64_MAX,
                                          "config.json linux.resources.cpu", diag, &quota);
                if (r < 0 && r != -ENOENT)
                        return r;
                r = np_jsontext_get_uint64(text, v[CPU_PERIOD], "period", "config.json linux.resources.cpu", diag,
                                           &period);
                if (r == -ENOENT)
                        period = NP_CPU_PERIOD_DEFAULT;
                else if (r < 0)
                        return r;
        } else if (r != -ENOENT)
                return r;
        r = np_jsontext_get(text, v[MEMORY], "memory", json_type_object, "config.json linux.resources", diag);
        if (r == 0) {
                r = np_jsontext_get_int64(text, v[MEMORY_LIMIT], "limit", INT64_MIN, INT64_MAX,
                                          "config.json linux.resources.memory", diag, &limit);
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

/* The path the rewrite edits: its keys, for the splice, and their values among
 * the fields. */
static const char *const cpuset_path[] = { "linux", "resources", "cpu" };
static const enum spec_field cpuset_path_fields[] = { LINUX, RESOURCES, CPU };

/* Finds where the cpuset goes in text, below its root object, from the values
 * validate() found (end 0: absent; found only as far as objects lead). */
static int find_site(const char *text, struct np_json_span root, const struct np_json_span *v, struct np_diag *diag,
                     struct np_spec_site *ret_site)
{
        struct np_spec_site site = { .object = root };

        for (; site.depth < ARRAY_SIZE(cpuset_path); site.depth++) {
                struct np_json_span value = v[cpuset_path_fields[site.depth]];

                if (!value.end)
                        break;
                if (np_jsontext_is(text, value, '{')) {
                        site.object = value;
                        continue;
                }
                if (!np_jsontext_is(text, value, 'n')) /* json-c takes null for absent; other types are refused */
                        return np_diag_fail(diag, -EINVAL, "config.json: field '%s' is not an object",
                                            spec_paths[cpuset_path_fields[site.depth]]);
                site.null_next = true;
                site.next = value;
                break;
        }
        if (site.depth == ARRAY_SIZE(cpuset_path)) {
                site.cpus = v[CPU_CPUS];
                site.mems = v[CPU_MEMS];
                site.has_cpus = site.cpus.end != 0;
                site.has_mems = site.mems.end != 0;
        }
        *ret_site = site;
        return 0;
}

int np_spec_load(const char *bundle, struct np_diag *diag, struct np_spec **ret_spec)
{
        struct np_json_span root, v[N_SPEC_FIELDS];
        _cleanup_spec_ struct np_spec *spec = NULL;
        _cleanup_free_ char *version = NULL;
        int r;

        if (bundle[0] != '/' || strlen(bundle) >= PATH_MAX)
                return np_diag_fail(diag, -EINVAL, "bundle '%s': expected an absolute path", bundle);
        spec = calloc(1, sizeof(*spec));
        if (!spec)
                return -ENOMEM;
        spec->bundle_fd = openat(AT_FDCWD, bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (spec->bundle_fd < 0)
                return np_diag_fail(diag, -errno, "bundle %s: %s; expected the container's bundle directory", bundle,
                                    strerror(errno));
        strcpy(spec->bundle, bundle);
        spec->cpu_quota = spec->memory_limit = -1;
        spec->cpu_period = NP_CPU_PERIOD_DEFAULT;
        r = np_read_file_at(spec->bundle_fd, "config.json", NP_SPEC_LIMIT, &spec->text, &spec->size);
        if (r == -EFBIG)
                return np_diag_fail(diag, r, "bundle %s: config.json is larger than %d bytes", bundle, NP_SPEC_LIMIT);
        if (r == -EINVAL)
                return np_diag_fail(diag, r, "config.json %s/config.json: %s (the OCI runtime spec)", bundle,
                                    np_file_strerror_at(spec->bundle_fd, "config.json", r));
        if (r < 0)
                return np_diag_fail(diag, r,
                                    "bundle %s: cannot read config.json: %s; expected the OCI runtime spec there",
                                    bundle, strerror(-r));
        /* read as text: a runtime's config.json is 10-30 KiB (mounts, env, a seccomp
         * profile) of which numapin reads a few fields; no tree is built, and the
         * scan that validates it finds them */
        r = validate(spec->text, spec->size, diag, &root, v);
        if (r < 0)
                return r;
        r = np_jsontext_get_string(spec->text, v[OCI_VERSION], "ociVersion", 64, "config.json", diag, &version);
        if (r == -ENOENT)
                return np_diag_fail(diag, -EINVAL, "config.json: field 'ociVersion' is missing");
        if (r < 0)
                return r;

        /* the keys with their exact bytes: json-c would cut a key at \u0000 */
        r = np_jsontext_get(spec->text, v[ANNOTATIONS], "annotations", json_type_object, "config.json", diag);
        if (r == 0)
                r = np_annotations_from_jsontext(spec->text, v[ANNOTATIONS], "config.json annotations", diag,
                                                 &spec->annotations);
        if (r < 0 && r != -ENOENT)
                return r;

        r = np_jsontext_get(spec->text, v[LINUX], "linux", json_type_object, "config.json", diag);
        if (r == 0) {
                r = read_resources(spec, spec->text, v, diag);
                if (r == 0)
                        r = read_devices(spec, spec->text, v[DEVICES], diag);
        } else if (r == -ENOENT)
                r = 0;
        if (r < 0)
                return r;
        r = find_site(spec->text, root, v, diag, &spec->site);
        if (r < 0)
                return r;
        spec->site_known = true;
        *ret_spec = TAKE_PTR(spec);
        return 0;
}

/* `"key": value` and the objects of the path below `depth` around it, as JSON text. */
static void put_member(FILE *out, unsigned depth, const char *cpus, const char *mems);

/* The value of cpuset_path[depth]: the objects below it down to cpu, with the cpuset. */
static void put_value(FILE *out, unsigned depth, const char *cpus, const char *mems)
{
        fputc('{', out);
        put_member(out, depth + 1, cpus, mems);
        fputc('}', out);
}

static void put_member(FILE *out, unsigned depth, const char *cpus, const char *mems)
{
        if (depth < ARRAY_SIZE(cpuset_path)) {
                fprintf(out, "\"%s\": ", cpuset_path[depth]);
                put_value(out, depth, cpus, mems);
                return;
        }
        if (cpus)
                fprintf(out, "\"cpus\": \"%s\"", cpus);
        if (mems)
                fprintf(out, "%s\"mems\": \"%s\"", cpus ? ", " : "", mems);
}

/* Adds members (given by put_member from `depth`) at the end of object: after its
 * last member, on a line of its own indented as that member when it has one. */
static int insert_members(FILE *out, const char *text, struct np_json_span object, size_t *copied, unsigned depth,
                          const char *cpus, const char *mems)
{
        struct np_json_span key, value, last_key = {}, last_value = {};
        size_t cursor = 0, at, line;
        int r;

        while ((r = np_jsontext_next(text, object, &cursor, &key, &value)) > 0) {
                last_key = key;
                last_value = value;
        }
        if (r < 0)
                return r;
        at = last_value.end ? last_value.end : object.start + 1;
        fwrite(text + *copied, 1, at - *copied, out);
        *copied = at;
        if (last_value.end) {
                for (line = last_key.start; line > object.start && (text[line - 1] == ' ' || text[line - 1] == '\t');)
                        line--;
                if (text[line - 1] == '\n') {
                        fputs(",\n", out);
                        fwrite(text + line, 1, last_key.start - line, out);
                } else
                        fputs(", ", out);
        }
        put_member(out, depth, cpus, mems);
        return 0;
}

/* Replaces text[span) with the string value `s`. */
static void replace_string(FILE *out, const char *text, struct np_json_span span, size_t *copied, const char *s)
{
        fwrite(text + *copied, 1, span.start - *copied, out);
        fprintf(out, "\"%s\"", s);
        *copied = span.end;
}

/* The new text: the original with the cpuset spliced in at spec->site.
 * It is written into one buffer as large as it can grow: the original, a line's
 * indentation copied once (no longer than the original), the two lists and the
 * keys and punctuation around them. Unbuffered, the stream writes straight into
 * it: no stdio buffer and no doubling copies of a growing one, only the pages
 * the text fills. */
static int splice_cpuset(const struct np_spec *spec, const char *cpus, const char *mems, char **ret_text,
                         size_t *ret_size)
{
        const struct np_spec_site *site = &spec->site;
        size_t capacity = 2 * spec->size + strlen(cpus) + (mems ? strlen(mems) : 0) + 128;
        _cleanup_free_ char *text = malloc(capacity);
        size_t size, copied = 0;
        FILE *out;
        int r = 0;

        if (!text)
                return -ENOMEM;
        out = fmemopen(text, capacity, "w");
        if (!out)
                return -ENOMEM;
        setvbuf(out, NULL, _IONBF, 0);
        if (site->null_next) {
                fwrite(spec->text, 1, site->next.start, out);
                put_value(out, site->depth, cpus, mems);
                copied = site->next.end;
        } else if (site->depth < ARRAY_SIZE(cpuset_path))
                r = insert_members(out, spec->text, site->object, &copied, site->depth, cpus, mems);
        else {
                /* the two values in the order they are in the file, then what is missing */
                bool mems_first = mems && site->has_mems && site->has_cpus && site->mems.start < site->cpus.start;

                if (mems_first)
                        replace_string(out, spec->text, site->mems, &copied, mems);
                if (site->has_cpus)
                        replace_string(out, spec->text, site->cpus, &copied, cpus);
                if (mems && site->has_mems && !mems_first)
                        replace_string(out, spec->text, site->mems, &copied, mems);
                if (!site->has_cpus || (mems && !site->has_mems))
                        r = insert_members(out, spec->text, site->object, &copied, site->depth,
                                           site->has_cpus ? NULL : cpus, site->has_mems ? NULL : mems);
        }
        if (r == 0)
                fwrite(spec->text + copied, 1, spec->size - copied, out);
        /* a text that outgrew its bound is a bug here, never a cut-short config.json */
        size = (size_t)ftell(out);
        if (r == 0 && (ferror(out) || size >= capacity))
                r = -ENOBUFS;
        if (fclose(out) != 0 && r == 0)
                r = -ENOBUFS;
        if (r < 0)
                return r;
        text[size] = '\0';
        *ret_size = size;
        *ret_text = TAKE_PTR(text);
        return 0;
}

int np_spec_write_cpuset(struct np_spec *spec, const struct np_placement *placement, struct np_diag *diag)
{
        _cleanup_free_ char *text = NULL, *cpus = NULL, *mems = NULL;
        size_t size;
        int r;

        /* the text an earlier rewrite left is scanned for its site only now: a
         * hook rewrites once, and the scan of a runtime's config.json is most of
         * the rewrite's work */
        if (!spec->site_known) {
                struct np_json_span root, v[N_SPEC_FIELDS];

                if (validate(spec->text, spec->size, diag, &root, v) < 0)
                        return np_diag_fail(diag, -EINVAL, "config.json: the rewrite is not one JSON object");
                r = find_site(spec->text, root, v, diag, &spec->site);
                if (r < 0)
                        return r;
                spec->site_known = true;
        }
        if (np_cpulist_format_alloc(&placement->cpus, &cpus) < 0 ||
            np_cpulist_format_alloc(&placement->mems, &mems) < 0)
                return -ENOMEM;
        r = splice_cpuset(spec, cpus, placement->write_mems ? mems : NULL, &text, &size);
        if (r < 0)
                return np_diag_fail(diag, r, "bundle %s: cannot rewrite config.json: %s", spec->bundle, strerror(-r));
        r = np_write_file_replace_at(spec->bundle_fd, "config.json", text, size, 0644);
        if (r < 0)
                return np_diag_fail(diag, r, "bundle %s: cannot replace config.json: %s", spec->bundle, strerror(-r));
        free(spec->text);
        spec->text = TAKE_PTR(text);
        spec->size = size;
        spec->site_known = false;
        return 0;
}
