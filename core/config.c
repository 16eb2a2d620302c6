// SPDX-License-Identifier: MIT
/* Reads /etc/numapin/config.json into struct np_config: every field optional,
 * unknown fields refused (a typo must not silently mean the default). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "fileio.h"
#include "json.h"

#define CONFIG_LIMIT (64 * 1024)

void np_config_init(struct np_config *config)
{
        *config = (struct np_config){
                .default_policy = NP_POLICY_NONE,
                .on_error = NP_ON_ERROR_FAIL,
                .log_level = NP_LOG_WARNING,
                .monitor = true,
                .monitor_slots = NP_MONITOR_SLOTS,
                .unannotated = NP_UNANNOTATED_PROTECT,
                .metrics_exited_grace_seconds = NP_METRICS_EXITED_GRACE_DEFAULT,
                .seccomp = true,
                .strategy = NP_STRATEGY_SPREAD,
        };
        strcpy(config->state_dir, NP_STATE_DIR_DEFAULT);
        strcpy(config->kubelet_root_dir, NP_KUBELET_ROOT_DEFAULT);
        strcpy(config->monitor_pin_dir, NP_MONITOR_PIN_DEFAULT);
}

static const char *const known_fields[] = {
        "reserved_cpus", "state_dir",     "default_policy", "on_error",         "log_level",
        "monitor",       "monitor_pin_dir", "monitor_slots", "unannotated", "kubelet_root_dir",
        "metrics_exited_grace_seconds", "seccomp", "strategy",
};

int np_config_load(const char *path, bool required, struct np_diag *diag, struct np_config *ret_config)
{
        _cleanup_free_ char *text = NULL;
        char what[PATH_MAX + 16];
        size_t size;
        int r;

        r = np_read_file_at(AT_FDCWD, path, CONFIG_LIMIT, &text, &size);
        if (r == -ENOENT && !required) {
                np_config_init(ret_config);
                return 0;
        }
        if (r == -EFBIG)
                return np_diag_fail(diag, r, "config %s: larger than %d bytes", path, CONFIG_LIMIT);
        if (r < 0)
                return np_diag_fail(diag, r, "config %s: %s", path, np_file_strerror_at(AT_FDCWD, path, r));
        snprintf(what, sizeof(what), "config %s", path);
        return np_config_parse(text, size, what, diag, ret_config);
}

int np_config_parse(const char *text, size_t size, const char *what, struct np_diag *diag,
                    struct np_config *ret_config)
{
        _cleanup_json_ struct json_object *root = NULL;
        struct np_config config;
        struct json_object *value;
        const char *s;
        int64_t n;
        int r;

        np_config_init(&config);
        if (size > CONFIG_LIMIT)
                return np_diag_fail(diag, -EFBIG, "%s: larger than %d bytes", what, CONFIG_LIMIT);
        r = np_json_parse(text, size, CONFIG_LIMIT, what, diag, &root);
        if (r < 0)
                return r;
        if (!json_object_is_type(root, json_type_object))
                return np_diag_fail(diag, -EINVAL, "%s: expected a JSON object", what);

        json_object_object_foreach(root, key, unused) {
                bool known = false;
                (void)unused;
                for (size_t i = 0; i < ARRAY_SIZE(known_fields); i++)
                        known = known || strcmp(key, known_fields[i]) == 0;
                if (!known) {
                        char quoted[128];
                        return np_diag_fail(
                                diag, -EINVAL,
                                "%s: unknown field '%s'; expected reserved_cpus, state_dir, default_policy, on_error, log_level, monitor, monitor_pin_dir, monitor_slots, unannotated, kubelet_root_dir, metrics_exited_grace_seconds, seccomp or strategy",
                                what, np_log_quote(quoted, sizeof(quoted), key));
                }
        }

        r = np_json_get_string(root, "reserved_cpus", NP_CPULIST_BUFSIZE, what, diag, &s);
        if (r == 0) {
                char field[PATH_MAX + 64];

                snprintf(field, sizeof(field), "%s: field 'reserved_cpus'", what);
                r = np_cpulist_parse(s, NP_CPULIST_MAX, field, diag, &config.reserved_cpus);
                if (r < 0)
                        return r;
        } else if (r != -ENOENT)
                return r;

        r = np_json_get_string(root, "state_dir", PATH_MAX - 1, what, diag, &s);
        if (r == 0) {
                if (s[0] != '/')
                        return np_diag_fail(diag, -EINVAL, "%s: field 'state_dir' must be an absolute path", what);
                strcpy(config.state_dir, s);
        } else if (r != -ENOENT)
                return r;

        r = np_json_get_string(root, "default_policy", 32, what, diag, &s);
        if (r == 0) {
                if (np_policy_from_string(s, &config.default_policy) < 0 ||
                    (config.default_policy != NP_POLICY_BIND && config.default_policy != NP_POLICY_CPUS_ONLY &&
                     config.default_policy != NP_POLICY_NONE))
                        return np_diag_fail(diag, -EINVAL, "%s: field 'default_policy' must be bind, cpus-only or none",
                                            what);
        } else if (r != -ENOENT)
                return r;

        r = np_json_get_string(root, "on_error", 32, what, diag, &s);
        if (r == 0) {
                if (strcmp(s, "fail") == 0)
                        config.on_error = NP_ON_ERROR_FAIL;
                else if (strcmp(s, "ignore") == 0)
                        config.on_error = NP_ON_ERROR_IGNORE;
                else
                        return np_diag_fail(diag, -EINVAL, "%s: field 'on_error' must be fail or ignore", what);
        } else if (r != -ENOENT)
                return r;

        r = np_json_get_string(root, "log_level", 32, what, diag, &s);
        if (r == 0) {
                if (np_log_level_from_string(s, &config.log_level) < 0)
                        return np_diag_fail(diag, -EINVAL,
                                            "%s: field 'log_level' must be error, warning, info or debug", what);
        } else if (r != -ENOENT)
                return r;

        r = np_json_get(root, "monitor", json_type_boolean, what, diag, &value);
        if (r == 0)
                config.monitor = json_object_get_boolean(value);
        else if (r != -ENOENT)
                return r;

        r = np_json_get_string(root, "monitor_pin_dir", NP_MONITOR_PIN_MAX, what, diag, &s);
        if (r == 0) {
                if (s[0] != '/' || strstr(s, ".."))
                        return np_diag_fail(diag, -EINVAL,
                                            "%s: field 'monitor_pin_dir' must be an absolute path without '..'", what);
                strcpy(config.monitor_pin_dir, s);
        } else if (r != -ENOENT)
                return r;

        r = np_json_get_int64(root, "monitor_slots", 1, NP_MONITOR_SLOTS_MAX, what, diag, &n);
        if (r == 0)
                config.monitor_slots = (unsigned int)n;
        else if (r != -ENOENT)
                return r;

        r = np_json_get_int64(root, "metrics_exited_grace_seconds", 0, NP_METRICS_EXITED_GRACE_MAX, what, diag, &n);
        if (r == 0)
                config.metrics_exited_grace_seconds = (unsigned int)n;
        else if (r != -ENOENT)
                return r;

        r = np_json_get(root, "seccomp", json_type_boolean, what, diag, &value);
        if (r == 0)
                config.seccomp = json_object_get_boolean(value);
        else if (r != -ENOENT)
                return r;

        r = np_json_get_string(root, "unannotated", 32, what, diag, &s);
        if (r == 0) {
                if (strcmp(s, "protect") == 0)
                        config.unannotated = NP_UNANNOTATED_PROTECT;
                else if (strcmp(s, "ignore") == 0)
                        config.unannotated = NP_UNANNOTATED_IGNORE;
                else
                        return np_diag_fail(diag, -EINVAL, "%s: field 'unannotated' must be protect or ignore", what);
        } else if (r != -ENOENT)
                return r;

        r = np_json_get_string(root, "strategy", 32, what, diag, &s);
        if (r == 0) {
                if (strcmp(s, "spread") == 0)
                        config.strategy = NP_STRATEGY_SPREAD;
                else if (strcmp(s, "pack") == 0)
                        config.strategy = NP_STRATEGY_PACK;
                else
                        return np_diag_fail(diag, -EINVAL, "%s: field 'strategy' must be spread or pack", what);
        } else if (r != -ENOENT)
                return r;

        r = np_json_get_string(root, "kubelet_root_dir", PATH_MAX - 1, what, diag, &s);
        if (r == 0) {
                if (s[0] != '/' || strstr(s, ".."))
                        return np_diag_fail(diag, -EINVAL,
                                            "%s: field 'kubelet_root_dir' must be an absolute path without '..'", what);
                strcpy(config.kubelet_root_dir, s);
        } else if (r != -ENOENT)
                return r;

        *ret_config = config;
        return 0;
}
