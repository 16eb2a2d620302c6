// SPDX-License-Identifier: MIT
/* kubelet's CPU and Memory manager state files, read as hostile input: each
 * through np_read_file_at() (regular files only, bounded, never
 * blocking) and np_json_parse(), then every field numapin uses checked for its
 * type and form. Fields numapin does not use (checksum, machineState) are left
 * alone, so a newer kubelet's additions do not make a file unreadable. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "fileio.h"
#include "json.h"
#include "kubelet.h"

void np_kubelet_clear(struct np_kubelet *kubelet)
{
        if (!kubelet)
                return;
        free(kubelet->assignments);
        *kubelet = (struct np_kubelet){};
}

/* Any refusal of the content is -EINVAL (the message already names the file
 * and the field), whatever the helper that found it returned. */
static int malformed(struct np_diag *diag)
{
        if (diag)
                diag->error = -EINVAL;
        return -EINVAL;
}

/* A policy name: 1-31 of A-Z a-z 0-9 . _ - (kubelet's are "none", "static",
 * "None", "Static"). */
static bool policy_valid(const char *s)
{
        size_t len = strlen(s);

        if (len == 0 || len > 31)
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

/* A key of `entries` (a pod uid, a container name): 1 to max_len bytes, no control characters. */
static bool key_valid(const char *s, size_t max_len)
{
        size_t len = strlen(s);

        if (len == 0 || len > max_len)
                return false;
        for (const char *c = s; *c; c++)
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                        return false;
        return true;
}

/* Reads and parses <root>/<name>: 0 with *ret_root, or 1 when the file is not there. */
static int read_state(int root_fd, const char *what, const char *name, struct np_diag *diag,
                      struct json_object **ret_root)
{
        _cleanup_json_ struct json_object *root = NULL;
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = np_read_file_at(root_fd, name, NP_KUBELET_STATE_LIMIT, &text, &size);
        if (r == -ENOENT)
                return 1;
        if (r == -EINVAL)
                return np_diag_fail(diag, r, "%s: not a regular file; expected the state kubelet writes", what);
        if (r == -EFBIG)
                return np_diag_fail(diag, r, "%s: larger than %d bytes; expected kubelet's state", what,
                                    NP_KUBELET_STATE_LIMIT);
        if (r < 0)
                return np_diag_fail(diag, r, "%s: %s", what, strerror(-r));
        r = np_json_parse(text, size, NP_KUBELET_STATE_LIMIT, what, diag, &root);
        if (r < 0)
                return r == -EFBIG || r == -ENOMEM ? r : malformed(diag);
        if (!json_object_is_type(root, json_type_object))
                return np_diag_fail(diag, -EINVAL, "%s: expected a JSON object", what);
        *ret_root = TAKE_PTR(root);
        return 0;
}

/* policyName, present and of the form policy_valid() takes. */
static int get_policy(struct json_object *root, const char *what, struct np_diag *diag, char ret_policy[32])
{
        const char *s;
        char quoted[64];
        int r;

        r = np_json_get_string(root, "policyName", 255, what, diag, &s);
        if (r == -ENOENT)
                return np_diag_fail(diag, -EINVAL, "%s: field 'policyName' is missing; expected kubelet's policy name",
                                    what);
        if (r < 0)
                return malformed(diag);
        if (!policy_valid(s))
                return np_diag_fail(
                        diag, -EINVAL,
                        "%s: field 'policyName' '%s' is not a policy name; expected 1-31 of A-Z a-z 0-9 . _ -", what,
                        np_log_quote(quoted, sizeof(quoted), s));
        snprintf(ret_policy, 32, "%s", s);
        return 0;
}

/* A cpuset string in kernel list form, `field` naming it in messages. */
static int get_cpuset(struct json_object *value, const char *what, const char *field, struct np_diag *diag,
                      struct np_cpulist *ret_cpus)
{
        char name[PATH_MAX + 512];
        const char *s;

        if (!json_object_is_type(value, json_type_string))
                return np_diag_fail(diag, -EINVAL,
                                    "%s: field '%s' is not a string; expected a cpuset such as \"0-3,8\"", what, field);
        s = json_object_get_string(value);
        if (strlen(s) != (size_t)json_object_get_string_len(value))
                return np_diag_fail(diag, -EINVAL, "%s: field '%s' holds a NUL character; expected a cpuset", what,
                                    field);
        snprintf(name, sizeof(name), "%s: field '%s'", what, field);
        return np_cpulist_parse(s, NP_CPULIST_MAX, name, diag, ret_cpus) < 0 ? malformed(diag) : 0;
}

static int add_assignment(struct np_kubelet *kubelet, const char *pod_uid, const char *container,
                          const struct np_cpulist *cpus)
{
        struct np_kubelet_assignment *grown;

        grown = realloc(kubelet->assignments, (kubelet->n_assignments + 1) * sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        kubelet->assignments = grown;
        grown = &kubelet->assignments[kubelet->n_assignments++];
        snprintf(grown->pod_uid, sizeof(grown->pod_uid), "%s", pod_uid);
        snprintf(grown->container, sizeof(grown->container), "%s", container);
        grown->cpus = *cpus;
        np_cpulist_or(&kubelet->assigned_cpus, cpus);
        return 0;
}

/* entries: {"<pod uid>": {"<container>": "<cpuset>"}}, the form of kubelet 1.18 and later. */
static int parse_entries(struct json_object *entries, const char *what, struct np_diag *diag,
                         struct np_kubelet *kubelet)
{
        char uid_quoted[160], name_quoted[96];
        int r;

        json_object_object_foreach(entries, uid, pod) {
                np_log_quote(uid_quoted, sizeof(uid_quoted), uid);
                if (!key_valid(uid, sizeof(kubelet->assignments->pod_uid) - 1))
                        return np_diag_fail(diag, -EINVAL,
                                            "%s: field 'entries' has the pod uid '%s'; expected 1-%zu bytes without "
                                            "control characters",
                                            what, uid_quoted, sizeof(kubelet->assignments->pod_uid) - 1);
                if (!pod || !json_object_is_type(pod, json_type_object))
                        return np_diag_fail(diag, -EINVAL,
                                            "%s: field 'entries.%s' is not an object; expected container names and "
                                            "their cpusets (the form of kubelet 1.18 and later)",
                                            what, uid_quoted);
                json_object_object_foreach(pod, name, cpuset) {
                        struct np_cpulist cpus;
                        char field[320];

                        np_log_quote(name_quoted, sizeof(name_quoted), name);
                        if (!key_valid(name, sizeof(kubelet->assignments->container) - 1))
                                return np_diag_fail(diag, -EINVAL,
                                                    "%s: field 'entries.%s' has the container name '%s'; expected "
                                                    "1-%zu bytes without control characters",
                                                    what, uid_quoted, name_quoted,
                                                    sizeof(kubelet->assignments->container) - 1);
                        if (kubelet->n_assignments >= NP_KUBELET_ASSIGNMENTS_MAX)
                                return np_diag_fail(diag, -EINVAL,
                                                    "%s: field 'entries' holds more than %d containers; expected "
                                                    "the containers of one node",
                                                    what, NP_KUBELET_ASSIGNMENTS_MAX);
                        snprintf(field, sizeof(field), "entries.%s.%s", uid_quoted, name_quoted);
                        if (!cpuset)
                                return np_diag_fail(diag, -EINVAL, "%s: field '%s' is null; expected a cpuset", what,
                                                    field);
                        r = get_cpuset(cpuset, what, field, diag, &cpus);
                        if (r < 0)
                                return r;
                        r = add_assignment(kubelet, uid, name, &cpus);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int parse_cpu_state(struct json_object *root, const char *what, struct np_diag *diag, struct np_kubelet *kubelet)
{
        struct json_object *value;
        int r;

        r = get_policy(root, what, diag, kubelet->cpu_policy);
        if (r < 0)
                return r;
        r = np_json_get(root, "defaultCpuSet", json_type_string, what, diag, &value);
        if (r == 0)
                r = get_cpuset(value, what, "defaultCpuSet", diag, &kubelet->default_cpus);
        if (r < 0 && r != -ENOENT)
                return malformed(diag);
        r = np_json_get(root, "entries", json_type_object, what, diag, &value);
        if (r == 0)
                r = parse_entries(value, what, diag, kubelet);
        if (r < 0 && r != -ENOENT)
                return r == -ENOMEM ? r : malformed(diag);
        r = np_json_get(root, "checksum", json_type_int, what, diag, &value);
        if (r < 0 && r != -ENOENT)
                return malformed(diag);
        kubelet->cpu_state_found = true;
        return 0;
}

int np_kubelet_load(const char *root_dir, struct np_diag *diag, struct np_kubelet *ret_kubelet)
{
        _cleanup_(np_kubelet_clear) struct np_kubelet kubelet = {};
        _cleanup_close_ int root_fd = -1;
        char what[PATH_MAX + 64];
        int r;

        root_fd = openat(AT_FDCWD, root_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0 && errno == ENOENT) {
                *ret_kubelet = kubelet; /* nothing found, nothing allocated */
                kubelet = (struct np_kubelet){};
                return 0;
        }
        if (root_fd < 0)
                return np_diag_fail(diag, -errno, "kubelet root dir %s: %s", root_dir, strerror(errno));

        {
                _cleanup_json_ struct json_object *root = NULL;

                snprintf(what, sizeof(what), "kubelet %s/%s", root_dir, NP_KUBELET_CPU_STATE);
                r = read_state(root_fd, what, NP_KUBELET_CPU_STATE, diag, &root);
                if (r < 0)
                        return r;
                if (r == 0 && (r = parse_cpu_state(root, what, diag, &kubelet)) < 0)
                        return r;
        }
        {
                _cleanup_json_ struct json_object *root = NULL;

                snprintf(what, sizeof(what), "kubelet %s/%s", root_dir, NP_KUBELET_MEMORY_STATE);
                r = read_state(root_fd, what, NP_KUBELET_MEMORY_STATE, diag, &root);
                if (r < 0)
                        return r;
                if (r == 0) {
                        r = get_policy(root, what, diag, kubelet.memory_policy);
                        if (r < 0)
                                return r;
                        kubelet.memory_state_found = true;
                }
        }
        *ret_kubelet = kubelet; /* the assignments change hands */
        kubelet = (struct np_kubelet){};
        return 0;
}

const struct np_cpulist *np_kubelet_assigned(const struct np_kubelet *kubelet, const char *pod_uid, const char *name)
{
        if (!kubelet || !pod_uid || !name)
                return NULL;
        for (size_t i = 0; i < kubelet->n_assignments; i++) {
                const struct np_kubelet_assignment *a = &kubelet->assignments[i];

                if (strcmp(a->pod_uid, pod_uid) == 0 && strcmp(a->container, name) == 0)
                        return &a->cpus;
        }
        return NULL;
}
