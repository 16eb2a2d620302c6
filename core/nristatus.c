// SPDX-License-Identifier: MIT
/* <state_dir>/nri-status.json: written whole by the NRI plugin (a temporary
 * file renamed over the old one), read by numapinctl as input from another
 * process: a regular file only, bounded, every field checked. Fields a newer
 * build adds are ignored. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "json.h"
#include "nristatus.h"

/* A fixed-size text field as a JSON string, up to its NUL or its end. */
static struct json_object *text(const char *s, size_t size)
{
        return json_object_new_string_len(s, (int)strnlen(s, size - 1));
}

int np_nri_status_save(const char *state_dir, const struct np_nri_status *status)
{
        _cleanup_json_ struct json_object *root = json_object_new_object();
        _cleanup_close_ int dir_fd = -1;
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        if (!root)
                return -ENOMEM;
        json_object_object_add(root, "runtime_name", text(status->runtime_name, sizeof(status->runtime_name)));
        json_object_object_add(root, "runtime_version", text(status->runtime_version, sizeof(status->runtime_version)));
        json_object_object_add(root, "nri_version", text(status->nri_version, sizeof(status->nri_version)));
        json_object_object_add(root, "configured_at", json_object_new_int64(status->configured_at));
        json_object_object_add(root, "pid", json_object_new_int(status->pid));
        json_object_object_add(root, "updates_overridden", json_object_new_uint64(status->updates_overridden));
        json_object_object_add(root, "placements_restored", json_object_new_uint64(status->placements_restored));
        json_object_object_add(root, "containers_moved", json_object_new_uint64(status->containers_moved));
        json_object_object_add(root, "kubelet_cpu_policy",
                               text(status->kubelet_cpu_policy, sizeof(status->kubelet_cpu_policy)));
        r = np_json_to_string(root, &data, &size);
        if (r < 0)
                return r;

        dir_fd = openat(AT_FDCWD, state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0 && errno == ENOENT) {
                if (mkdir(state_dir, 0755) < 0 && errno != EEXIST)
                        return -errno;
                dir_fd = openat(AT_FDCWD, state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (dir_fd < 0)
                return -errno;
        return np_write_file_atomic_at(dir_fd, NP_NRI_STATUS_FILE, data, size, 0644);
}

/* Any refusal of the content is -EINVAL, whatever the helper that found it
 * returned; its message names the file and the field. */
static int malformed(struct np_diag *diag, int r)
{
        if (r == -ENOMEM || r == -EFBIG)
                return r;
        if (diag)
                diag->error = -EINVAL;
        return -EINVAL;
}

/* A string field, present, copied into buf (size bytes with its NUL). */
static int get_text(struct json_object *root, const char *key, const char *what, struct np_diag *diag, char *buf,
                    size_t size)
{
        const char *s;
        int r;

        r = np_json_get_string(root, key, size - 1, what, diag, &s);
        if (r == -ENOENT)
                return np_diag_fail(diag, -EINVAL, "%s: field '%s' is missing; expected a string", what, key);
        if (r < 0)
                return r;
        snprintf(buf, size, "%s", s);
        return 0;
}

static int get_counter(struct json_object *root, const char *key, const char *what, struct np_diag *diag,
                       uint64_t *ret_value)
{
        int r = np_json_get_uint64(root, key, what, diag, ret_value);

        if (r == -ENOENT)
                return np_diag_fail(diag, -EINVAL, "%s: field '%s' is missing; expected an unsigned integer", what,
                                    key);
        return r;
}

static int get_integer(struct json_object *root, const char *key, int64_t min, int64_t max, const char *what,
                       struct np_diag *diag, int64_t *ret_value)
{
        int r = np_json_get_int64(root, key, min, max, what, diag, ret_value);

        if (r == -ENOENT)
                return np_diag_fail(diag, -EINVAL, "%s: field '%s' is missing; expected an integer from %lld to %lld",
                                    what, key, (long long)min, (long long)max);
        return r;
}

int np_nri_status_load(const char *state_dir, struct np_diag *diag, struct np_nri_status *ret_status)
{
        _cleanup_json_ struct json_object *root = NULL;
        _cleanup_free_ char *data = NULL;
        _cleanup_close_ int dir_fd = -1;
        struct np_nri_status status = {};
        char what[PATH_MAX + 64];
        int64_t n;
        size_t size;
        int r;

        snprintf(what, sizeof(what), "NRI plugin status %s/%s", state_dir, NP_NRI_STATUS_FILE);
        dir_fd = openat(AT_FDCWD, state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0 && errno == ENOENT)
                return -ENOENT;
        if (dir_fd < 0)
                return np_diag_fail(diag, -errno, "state dir %s: %s", state_dir, strerror(errno));
        r = np_read_file_at(dir_fd, NP_NRI_STATUS_FILE, NP_NRI_STATUS_LIMIT, &data, &size);
        if (r == -ENOENT)
                return r;
        if (r == -EINVAL)
                return np_diag_fail(diag, r, "%s: not a regular file; expected what numapin-nri writes", what);
        if (r == -EFBIG)
                return np_diag_fail(diag, r, "%s: larger than %d bytes", what, NP_NRI_STATUS_LIMIT);
        if (r < 0)
                return np_diag_fail(diag, r, "%s: %s", what, strerror(-r));
        r = np_json_parse(data, size, NP_NRI_STATUS_LIMIT, what, diag, &root);
        if (r < 0)
                return malformed(diag, r);
        if (!json_object_is_type(root, json_type_object))
                return np_diag_fail(diag, -EINVAL, "%s: expected a JSON object", what);

        if ((r = get_text(root, "runtime_name", what, diag, status.runtime_name, sizeof(status.runtime_name))) < 0 ||
            (r = get_text(root, "runtime_version", what, diag, status.runtime_version,
                          sizeof(status.runtime_version))) < 0 ||
            (r = get_text(root, "nri_version", what, diag, status.nri_version, sizeof(status.nri_version))) < 0 ||
            (r = get_text(root, "kubelet_cpu_policy", what, diag, status.kubelet_cpu_policy,
                          sizeof(status.kubelet_cpu_policy))) < 0)
                return malformed(diag, r);
        r = get_integer(root, "configured_at", 0, INT64_MAX, what, diag, &n);
        if (r < 0)
                return malformed(diag, r);
        status.configured_at = n;
        r = get_integer(root, "pid", 1, INT32_MAX, what, diag, &n);
        if (r < 0)
                return malformed(diag, r);
        status.pid = (int)n;
        if ((r = get_counter(root, "updates_overridden", what, diag, &status.updates_overridden)) < 0 ||
            (r = get_counter(root, "placements_restored", what, diag, &status.placements_restored)) < 0 ||
            (r = get_counter(root, "containers_moved", what, diag, &status.containers_moved)) < 0)
                return malformed(diag, r);
        *ret_status = status;
        return 0;
}
