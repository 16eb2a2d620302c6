// SPDX-License-Identifier: MIT
/* Parses the OCI state JSON (runc's "creating", crun's "created" with "root",
 * podman's pid-less poststop state) into struct np_state, read as text. */
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
        static const char *const keys[] = { "ociVersion", "id", "status", "pid", "bundle", "annotations" };
        enum {
                OCI_VERSION,
                ID,
                STATUS,
                PID,
                BUNDLE,
                ANNOTATIONS
        };
        struct np_json_span root, field[ARRAY_SIZE(keys)];
        struct np_jsontext_find find = { keys, ARRAY_SIZE(keys), field, 0 };
        _cleanup_free_ char *version = NULL, *id = NULL, *status = NULL, *bundle = NULL;
        struct np_state state = {};
        char quoted[128];
        int64_t pid;
        bool known = false;
        int r;

        /* read as text, as config.json is: the fields found in the validating scan */
        r = np_json_validate(buf, size, NP_STATE_LIMIT, "state on stdin", &find, diag, &root);
        if (r == -EEXIST)
                return np_diag_fail(diag, -EINVAL, "state: field '%s' appears more than once; expected it once",
                                    keys[find.twice]);
        if (r < 0)
                return r;
        if (!np_jsontext_is(buf, root, '{'))
                return np_diag_fail(diag, -EINVAL, "state on stdin: expected a JSON object");

        r = np_jsontext_get_string(buf, field[OCI_VERSION], "ociVersion", 64, "state", diag, &version);
        if (r == -ENOENT)
                return np_diag_fail(diag, -EINVAL, "state: field 'ociVersion' is missing; expected the OCI state");
        if (r < 0)
                return r;

        r = np_jsontext_get_string(buf, field[ID], "id", 4096, "state", diag, &id);
        if (r == -ENOENT)
                return np_diag_fail(diag, -EINVAL, "state: field 'id' is missing; expected the container id");
        if (r < 0)
                return r;
        if (!np_id_valid(id))
                return np_diag_fail(
                        diag, -EINVAL,
                        "state: field 'id' '%s' is not a container id; expected 1-%d of A-Z a-z 0-9 _ + . - not starting with a dot",
                        np_log_quote(quoted, sizeof(quoted), id), NP_ID_MAX);
        strcpy(state.id, id);

        r = np_jsontext_get_string(buf, field[STATUS], "status", 32, "state", diag, &status);
        if (r == -ENOENT)
                return np_diag_fail(diag, -EINVAL, "state: field 'status' is missing");
        if (r < 0)
                return r;
        for (size_t i = 0; i < ARRAY_SIZE(known_statuses); i++)
                known = known || strcmp(status, known_statuses[i]) == 0;
        if (!known)
                return np_diag_fail(
                        diag, -EINVAL,
                        "state: field 'status' '%s' is unknown; expected creating, created, running, stopped or paused",
                        np_log_quote(quoted, sizeof(quoted), status));
        strcpy(state.status, status);

        r = np_jsontext_get_int64(buf, field[PID], "pid", 0, INT32_MAX, "state", diag, &pid);
        if (r < 0 && r != -ENOENT)
                return r;
        state.pid = r == 0 ? (int)pid : 0;

        r = np_jsontext_get_string(buf, field[BUNDLE], "bundle", PATH_MAX - 1, "state", diag, &bundle);
        if (r == -ENOENT)
                return np_diag_fail(diag, -EINVAL,
                                    "state: field 'bundle' is missing; expected the bundle's absolute path");
        if (r < 0)
                return r;
        if (bundle[0] != '/')
                return np_diag_fail(diag, -EINVAL, "state: field 'bundle' '%s' is not an absolute path",
                                    np_log_quote(quoted, sizeof(quoted), bundle));
        strcpy(state.bundle, bundle);

        r = np_jsontext_get(buf, field[ANNOTATIONS], "annotations", json_type_object, "state", diag);
        if (r == 0) {
                r = np_annotations_from_jsontext(buf, field[ANNOTATIONS], "state annotations", diag,
                                                 &state.annotations);
                if (r < 0)
                        return r;
                state.has_annotations = true;
        } else if (r != -ENOENT)
                return r;
        *ret_state = state;
        return 0;
}
