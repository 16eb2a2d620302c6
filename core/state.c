// SPDX-License-Identifier: MIT
/* Parses the OCI state JSON (runc's "creating", crun's "created" with "root",
 * podman's pid-less poststop state) into struct np_state. */
#include <errno.h>
#include <string.h>

#include "json.h"
#include "jsontext.h"
#include "state.h"

void np_state_clear(struct np_state *state)
{
        np_annotations_clear(&state->annotations);
        state->has_annotations = false;
}

static const char *const known_statuses[] = { "creating", "created", "running", "stopped", "paused" };

int np_state_parse(const char *buf, size_t size, struct np_diag *diag, struct np_state *ret_state)
{
        _cleanup_json_ struct json_object *root = NULL;
        struct np_state state = {};
        struct json_object *annotations;
        const char *s;
        char quoted[128];
        int64_t pid;
        bool known = false;
        int r;

        r = np_json_parse(buf, size, NP_STATE_LIMIT, "state on stdin", diag, &root);
        if (r < 0)
                return r;
        if (!json_object_is_type(root, json_type_object))
                return np_diag_fail(diag, -EINVAL, "state on stdin: expected a JSON object");

        r = np_json_get_string(root, "ociVersion", 64, "state", diag, &s);
        if (r == -ENOENT)
                return np_diag_fail(diag, -EINVAL, "state: field 'ociVersion' is missing; expected the OCI state");
        if (r < 0)
                return r;

        r = np_json_get_string(root, "id", 4096, "state", diag, &s);
        if (r == -ENOENT)
                return np_diag_fail(diag, -EINVAL, "state: field 'id' is missing; expected the container id");
        if (r < 0)
                return r;
        if (!np_id_valid(s))
                return np_diag_fail(
                        diag, -EINVAL,
                        "state: field 'id' '%s' is not a container id; expected 1-%d of A-Z a-z 0-9 _ + . - not starting with a dot",
                        np_log_quote(quoted, sizeof(quoted), s), NP_ID_MAX);
        strcpy(state.id, s);

        r = np_json_get_string(root, "status", 32, "state", diag, &s);
        if (r == -ENOENT)
                return np_diag_fail(diag, -EINVAL, "state: field 'status' is missing");
        if (r < 0)
                return r;
        for (size_t i = 0; i < ARRAY_SIZE(known_statuses); i++)
                known = known || strcmp(s, known_statuses[i]) == 0;
        if (!known)
                return np_diag_fail(
                        diag, -EINVAL,
                        "state: field 'status' '%s' is unknown; expected creating, created, running, stopped or paused",
                        np_log_quote(quoted, sizeof(quoted), s));
        strcpy(state.status, s);

        r = np_json_get_int64(root, "pid", 0, INT32_MAX, "state", diag, &pid);
        if (r < 0 && r != -ENOENT)
                return r;
        state.pid = r == 0 ? (int)pid : 0;

        r = np_json_get_string(root, "bundle", PATH_MAX - 1, "state", diag, &s);
        if (r == -ENOENT)
                return np_diag_fail(diag, -EINVAL,
                                    "state: field 'bundle' is missing; expected the bundle's absolute path");
        if (r < 0)
                return r;
        if (s[0] != '/')
                return np_diag_fail(diag, -EINVAL, "state: field 'bundle' '%s' is not an absolute path",
                                    np_log_quote(quoted, sizeof(quoted), s));
        strcpy(state.bundle, s);

        r = np_json_get(root, "annotations", json_type_object, "state", diag, &annotations);
        if (r == 0) {
                /* the keys with their exact bytes, from the text: json-c cuts a key at \u0000 */
                struct np_json_span text_root, object;

                r = np_jsontext_root(buf, size, &text_root, NULL);
                if (r == 0)
                        r = np_jsontext_member(buf, text_root, "annotations", &object);
                if (r == -EEXIST)
                        return np_diag_fail(diag, -EINVAL,
                                            "state: field 'annotations' appears more than once; expected it once");
                if (r < 0)
                        return np_diag_fail(diag, r, "state on stdin: expected a JSON object");
                r = np_annotations_from_jsontext(buf, object, "state annotations", diag, &state.annotations);
                if (r < 0)
                        return r;
                state.has_annotations = true;
        } else if (r != -ENOENT)
                return r;
        *ret_state = state;
        return 0;
}
