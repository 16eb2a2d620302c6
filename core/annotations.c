// SPDX-License-Identifier: MIT
/* Annotation keys and values: which keys apply to a container, the precedence of
 * the container scope over the pod scope, and strict validation of every value
 * with a message that names the key and the allowed form. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "annotations.h"
#include "parse.h"

#define NUMAPIN_DOMAIN "numapin.io"

/* CRI annotations that name the container and mark pod sandboxes. */
static const char *const container_name_keys[] = {
        "io.kubernetes.cri.container-name", /* containerd */
        "io.kubernetes.container.name",     /* CRI-O */
};
static const char *const pod_name_keys[] = {
        "io.kubernetes.cri.sandbox-name", /* containerd */
        "io.kubernetes.pod.name",         /* CRI-O */
};
static const char *const pod_namespace_keys[] = {
        "io.kubernetes.cri.sandbox-namespace", /* containerd */
        "io.kubernetes.pod.namespace",         /* CRI-O */
};
static const char *const sandbox_id_keys[] = {
        "io.kubernetes.cri.sandbox-id",  /* containerd */
        "io.kubernetes.cri-o.SandboxID", /* CRI-O */
};
static const char *const sandbox_type_keys[] = {
        "io.kubernetes.cri.container-type",  /* containerd */
        "io.kubernetes.cri-o.ContainerType", /* CRI-O */
};

enum field {
        FIELD_POLICY,
        FIELD_NODES,
        FIELD_NODE_COUNT,
        FIELD_CPUS,
        FIELD_MONITOR,
        FIELD_SCOPE,
        FIELD_STRATEGY,
        FIELD_MEMORY_TIER,
        FIELD_DEVICES,
        N_FIELDS,
};

static const char *const field_prefixes[N_FIELDS] = {
        [FIELD_POLICY] = "policy." NUMAPIN_DOMAIN,         [FIELD_NODES] = "nodes." NUMAPIN_DOMAIN,
        [FIELD_NODE_COUNT] = "node-count." NUMAPIN_DOMAIN, [FIELD_CPUS] = "cpus." NUMAPIN_DOMAIN,
        [FIELD_MONITOR] = "monitor." NUMAPIN_DOMAIN,       [FIELD_SCOPE] = "scope." NUMAPIN_DOMAIN,
        [FIELD_STRATEGY] = "strategy." NUMAPIN_DOMAIN,     [FIELD_MEMORY_TIER] = "memory-tier." NUMAPIN_DOMAIN,
        [FIELD_DEVICES] = "devices." NUMAPIN_DOMAIN,
};

static bool key_is(const char *key, size_t key_len, const char *name)
{
        return key_len == strlen(name) && memcmp(key, name, key_len) == 0;
}

static bool key_in(const char *key, size_t key_len, const char *const *names, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (key_is(key, key_len, names[i]))
                        return true;
        return false;
}

enum np_annotation_owner np_annotations_classify(const char *key, size_t key_len)
{
        const char *slash = memchr(key, '/', key_len);
        size_t domain_len = slash ? (size_t)(slash - key) : key_len, suffix_len = strlen(NUMAPIN_DOMAIN);

        if (domain_len >= suffix_len && memcmp(key + domain_len - suffix_len, NUMAPIN_DOMAIN, suffix_len) == 0 &&
            (domain_len == suffix_len || key[domain_len - suffix_len - 1] == '.'))
                return NP_ANNOTATION_NUMAPIN;
        if (key_in(key, key_len, container_name_keys, ARRAY_SIZE(container_name_keys)) ||
            key_in(key, key_len, sandbox_type_keys, ARRAY_SIZE(sandbox_type_keys)) ||
            key_in(key, key_len, sandbox_id_keys, ARRAY_SIZE(sandbox_id_keys)) ||
            key_in(key, key_len, pod_name_keys, ARRAY_SIZE(pod_name_keys)) ||
            key_in(key, key_len, pod_namespace_keys, ARRAY_SIZE(pod_namespace_keys)))
                return NP_ANNOTATION_CRI;
        return NP_ANNOTATION_FOREIGN;
}

void np_annotations_clear(struct np_annotation_set *set)
{
        for (size_t i = 0; i < set->n; i++) {
                free(set->items[i].key);
                free(set->items[i].value);
        }
        free(set->items);
        set->items = NULL;
        set->n = 0;
}

static char *copy_bytes(const char *s, size_t len)
{
        char *copy = malloc(len + 1);

        if (copy) {
                memcpy(copy, s, len);
                copy[len] = '\0';
        }
        return copy;
}

int np_annotations_add_bytes(struct np_annotation_set *set, const char *key, size_t key_len, const char *value,
                             size_t value_len)
{
        struct np_annotation *grown;
        _cleanup_free_ char *k = NULL, *v = NULL;

        k = copy_bytes(key, key_len);
        v = copy_bytes(value, value_len);
        if (!k || !v)
                return -ENOMEM;
        grown = realloc(set->items, (set->n + 1) * sizeof(*set->items));
        if (!grown)
                return -ENOMEM;
        set->items = grown;
        set->items[set->n++] = (struct np_annotation){
                .key = TAKE_PTR(k), .key_len = key_len, .value = TAKE_PTR(v), .value_len = value_len
        };
        return 0;
}

int np_annotations_add(struct np_annotation_set *set, const char *key, const char *value)
{
        return np_annotations_add_bytes(set, key, strlen(key), value, strlen(value));
}

static const struct np_annotation *find(const struct np_annotation_set *set, const char *key, size_t key_len)
{
        /* the last one wins, as with a JSON object holding a key twice */
        for (size_t i = set->n; i > 0; i--)
                if (set->items[i - 1].key_len == key_len && memcmp(set->items[i - 1].key, key, key_len) == 0)
                        return &set->items[i - 1];
        return NULL;
}

const char *np_annotations_get(const struct np_annotation_set *set, const char *key)
{
        const struct np_annotation *a = find(set, key, strlen(key));

        return a ? a->value : NULL;
}

static int add_relevant(struct np_annotation_set *set, const struct np_annotation_set *from, bool keep_existing)
{
        for (size_t i = 0; from && i < from->n; i++) {
                const struct np_annotation *a = &from->items[i];
                int r;

                if (np_annotations_classify(a->key, a->key_len) == NP_ANNOTATION_FOREIGN ||
                    (keep_existing && find(set, a->key, a->key_len)))
                        continue;
                r = np_annotations_add_bytes(set, a->key, a->key_len, a->value, a->value_len);
                if (r < 0)
                        return r;
        }
        return 0;
}

int np_annotations_merge(const struct np_annotation_set *container, const struct np_annotation_set *pod,
                         struct np_annotation_set *ret_set)
{
        struct np_annotation_set set = {};
        int r;

        r = add_relevant(&set, container, false);
        if (r == 0)
                r = add_relevant(&set, pod, true);
        if (r < 0) {
                np_annotations_clear(&set);
                return r;
        }
        *ret_set = set;
        return 0;
}

int np_annotations_from_jsontext(const char *text, struct np_json_span object, const char *what, struct np_diag *diag,
                                 struct np_annotation_set *ret_set)
{
        struct np_annotation_set set = {};
        struct np_json_span key_span, value_span;
        size_t cursor = 0;
        char quoted[128];
        int r;

        while ((r = np_jsontext_next(text, object, &cursor, &key_span, &value_span)) > 0) {
                _cleanup_free_ char *key = NULL, *value = NULL;
                size_t key_len, value_len;

                r = np_jsontext_string(text, key_span, &key, &key_len);
                if (r < 0)
                        break;
                if (np_annotations_classify(key, key_len) == NP_ANNOTATION_FOREIGN)
                        continue; /* someone else's: not read, not judged */
                if (!np_jsontext_is(text, value_span, '"')) {
                        r = np_diag_fail(diag, -EINVAL, "%s: annotation '%s' is not a string; expected string values",
                                         what, np_log_quote_bytes(quoted, sizeof(quoted), key, key_len));
                        goto fail;
                }
                r = np_jsontext_string(text, value_span, &value, &value_len);
                if (r < 0)
                        break;
                r = np_annotations_add_bytes(&set, key, key_len, value, value_len);
                if (r < 0)
                        break;
        }
        if (r == -EINVAL) /* from the scanner: not an object */
                r = np_diag_fail(diag, r, "%s: expected a JSON object of string values", what);
fail:
        if (r < 0) {
                np_annotations_clear(&set);
                return r;
        }
        *ret_set = set;
        return 0;
}

static bool valid_container_name(const char *name, size_t len)
{
        return len == strlen(name) && np_name_valid(name, NP_CONTAINER_NAME_MAX);
}

int np_request_set_pod(struct np_request *request, const char *namespace, const char *name, struct np_diag *diag)
{
        char quoted[128];

        if (namespace && namespace[0]) {
                if (!np_name_valid(namespace, NP_NAMESPACE_MAX))
                        return np_diag_fail(
                                diag, -EINVAL,
                                "pod namespace '%s': expected 1-%d characters of A-Z a-z 0-9 _ . - starting with a letter or digit",
                                np_log_quote(quoted, sizeof(quoted), namespace), NP_NAMESPACE_MAX);
                strcpy(request->pod_namespace, namespace);
        }
        if (name && name[0]) {
                if (!np_name_valid(name, NP_POD_NAME_MAX))
                        return np_diag_fail(
                                diag, -EINVAL,
                                "pod name '%s': expected 1-%d characters of A-Z a-z 0-9 _ . - starting with a letter or digit",
                                np_log_quote(quoted, sizeof(quoted), name), NP_POD_NAME_MAX);
                strcpy(request->pod_name, name);
        }
        return 0;
}

enum scope {
        SCOPE_NONE, /* not a numapin key */
        SCOPE_POD,
        SCOPE_CONTAINER, /* container.<name>, the name in *ret_name */
};

/* Reads one key (free of NUL bytes, checked before). Returns -EINVAL (with diag)
 * for a key of numapin's that has an unknown field or scope: a malformed key of
 * numapin's is refused on every path, never taken for someone else's. */
static int classify_key(const char *key, enum field *ret_field, enum scope *ret_scope, const char **ret_name,
                        struct np_diag *diag)
{
        const char *slash = strchr(key, '/');
        size_t domain_len = slash ? (size_t)(slash - key) : strlen(key);
        char quoted[128];

        if (np_annotations_classify(key, strlen(key)) != NP_ANNOTATION_NUMAPIN) {
                *ret_scope = SCOPE_NONE;
                return 0;
        }
        for (size_t f = 0; f < N_FIELDS; f++) {
                const char *scope;

                if (strlen(field_prefixes[f]) != domain_len || strncmp(key, field_prefixes[f], domain_len) != 0)
                        continue;
                scope = slash ? slash + 1 : "";
                *ret_field = (enum field)f;
                if (strcmp(scope, "pod") == 0) {
                        *ret_scope = SCOPE_POD;
                        return 0;
                }
                if (strncmp(scope, "container.", 10) == 0 && valid_container_name(scope + 10, strlen(scope + 10))) {
                        *ret_scope = SCOPE_CONTAINER;
                        *ret_name = scope + 10;
                        return 0;
                }
                return np_diag_fail(
                        diag, -EINVAL,
                        "annotation '%s': unknown scope; expected %s/pod or %s/container.<name> (name: 1-63 of A-Z a-z 0-9 _ . -)",
                        np_log_quote(quoted, sizeof(quoted), key), field_prefixes[f], field_prefixes[f]);
        }
        return np_diag_fail(
                diag, -EINVAL,
                "annotation '%s': unknown numapin key; expected policy, nodes, node-count, cpus, monitor, scope, strategy, memory-tier or devices .numapin.io/{pod,container.<name>}",
                np_log_quote(quoted, sizeof(quoted), key));
}

/* The key and the value quoted for a message, on the paths that fail only: a
 * pod's every annotation passes here at each placement. */
#define QUOTED_KEY   np_log_quote(quoted_key, sizeof(quoted_key), key)
#define QUOTED_VALUE np_log_quote(quoted, sizeof(quoted), value)

static int parse_value(enum field field, const char *key, const char *value, struct np_diag *diag,
                       struct np_request *request)
{
        char quoted_key[128], quoted[128];
        uint32_t n;
        int r;

        if (strlen(value) > NP_ANNOTATION_VALUE_MAX)
                return np_diag_fail(diag, -EINVAL, "annotation '%s': value is longer than %d bytes", QUOTED_KEY,
                                    NP_ANNOTATION_VALUE_MAX);
        switch (field) {
        case FIELD_POLICY:
                r = np_policy_from_string(value, &request->policy);
                if (r < 0)
                        return np_diag_fail(
                                diag, -EINVAL,
                                "annotation '%s': '%s' is not a policy; expected bind, cpus-only, preferred, interleave or none",
                                QUOTED_KEY, QUOTED_VALUE);
                return 0;
        case FIELD_NODES:
                if (strcmp(value, "auto") == 0) {
                        request->nodes_auto = true;
                        return 0;
                }
                if (value[0] == '\0' || strchr(value, '\n'))
                        return np_diag_fail(
                                diag, -EINVAL,
                                "annotation '%s': empty value; expected auto or a node list such as '1' or '0,2-3'",
                                QUOTED_KEY);
                r = np_cpulist_parse(value, 1024, "annotation", NULL, &request->nodes);
                if (r < 0)
                        return np_diag_fail(
                                diag, -EINVAL,
                                "annotation '%s': '%s' is not a node list; expected auto or node ids 0-1023 such as '1' or '0,2-3'",
                                QUOTED_KEY, QUOTED_VALUE);
                request->nodes_auto = false;
                return 0;
        case FIELD_NODE_COUNT:
                r = np_parse_u32(value, 1, 1024, &n);
                if (r < 0)
                        return np_diag_fail(
                                diag, -EINVAL,
                                "annotation '%s': '%s' is not a node count; expected an integer from 1 to 1024",
                                QUOTED_KEY, QUOTED_VALUE);
                request->node_count = n;
                return 0;
        case FIELD_CPUS:
                r = np_parse_u32(value, 0, NP_MAX_EXCLUSIVE_CPUS, &n);
                if (r < 0)
                        return np_diag_fail(
                                diag, -EINVAL,
                                "annotation '%s': '%s' is not a CPU count; expected an integer from 0 to %d",
                                QUOTED_KEY, QUOTED_VALUE, NP_MAX_EXCLUSIVE_CPUS);
                request->exclusive_cpus = n;
                return 0;
        case FIELD_MONITOR:
                if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0) {
                        request->monitor = value[0] == 't';
                        return 0;
                }
                return np_diag_fail(diag, -EINVAL, "annotation '%s': '%s' is not a boolean; expected true or false",
                                    QUOTED_KEY, QUOTED_VALUE);
        case FIELD_SCOPE:
                if (strcmp(value, "container") == 0 || strcmp(value, "pod") == 0) {
                        request->scope = value[0] == 'p' ? NP_SCOPE_POD : NP_SCOPE_CONTAINER;
                        return 0;
                }
                return np_diag_fail(diag, -EINVAL, "annotation '%s': '%s' is not a scope; expected container or pod",
                                    QUOTED_KEY, QUOTED_VALUE);
        case FIELD_STRATEGY:
                if (strcmp(value, "spread") == 0 || strcmp(value, "pack") == 0) {
                        request->strategy = value[0] == 'p' ? NP_STRATEGY_PACK : NP_STRATEGY_SPREAD;
                        return 0;
                }
                return np_diag_fail(diag, -EINVAL, "annotation '%s': '%s' is not a strategy; expected spread or pack",
                                    QUOTED_KEY, QUOTED_VALUE);
        case FIELD_MEMORY_TIER:
                if (strcmp(value, "local") == 0 || strcmp(value, "extended") == 0) {
                        request->memory_tier = value[0] == 'e' ? NP_MEMORY_TIER_EXTENDED : NP_MEMORY_TIER_LOCAL;
                        return 0;
                }
                return np_diag_fail(
                        diag, -EINVAL,
                        "annotation '%s': '%s' is not a memory tier; expected local (the chosen nodes' memory) or extended (also the memory-only nodes nearest to them)",
                        QUOTED_KEY, QUOTED_VALUE);
        case FIELD_DEVICES:
                if (strcmp(value, "auto") == 0 || strcmp(value, "ignore") == 0) {
                        request->device_affinity = value[0] == 'a';
                        return 0;
                }
                return np_diag_fail(
                        diag, -EINVAL,
                        "annotation '%s': '%s' is not a device affinity; expected auto (nodes nearest to the container's devices) or ignore",
                        QUOTED_KEY, QUOTED_VALUE);
        default:
                return -EINVAL;
        }
}

#undef QUOTED_KEY
#undef QUOTED_VALUE

/* The key quoted for a message, on the paths that fail only */
#define QUOTED_KEY np_log_quote_bytes(quoted, sizeof(quoted), a->key, a->key_len)

/* Keys and values are text: a NUL byte or invalid UTF-8 in an annotation numapin
 * reads is refused, never cut or repaired (a key cut at a NUL would stand for
 * another key). */
static int check_bytes(const struct np_annotation *a, struct np_diag *diag)
{
        bool numapin = np_annotations_classify(a->key, a->key_len) == NP_ANNOTATION_NUMAPIN;
        const char *key_form = numapin ? "<field>.numapin.io/pod or <field>.numapin.io/container.<name>"
                                       : "UTF-8 text without NUL bytes";
        char quoted[128];

        if (memchr(a->key, '\0', a->key_len))
                return np_diag_fail(diag, -EINVAL, "annotation '%s': the key holds a NUL byte; expected %s", QUOTED_KEY,
                                    key_form);
        if (!np_utf8_valid(a->key, a->key_len))
                return np_diag_fail(diag, -EILSEQ, "annotation '%s': the key is not valid UTF-8; expected %s",
                                    QUOTED_KEY, key_form);
        if (memchr(a->value, '\0', a->value_len))
                return np_diag_fail(
                        diag, -EINVAL,
                        "annotation '%s': the value holds a NUL byte; expected UTF-8 text without NUL bytes",
                        QUOTED_KEY);
        if (!np_utf8_valid(a->value, a->value_len))
                return np_diag_fail(
                        diag, -EILSEQ,
                        "annotation '%s': the value is not valid UTF-8; expected UTF-8 text without NUL bytes",
                        QUOTED_KEY);
        return 0;
}
#undef QUOTED_KEY

static const char *first_of(const struct np_annotation_set *set, const char *const *keys, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                const char *value = np_annotations_get(set, keys[i]);
                if (value)
                        return value;
        }
        return NULL;
}

int np_annotations_parse(const struct np_annotation_set *set, const char *container_name, enum np_policy default_policy,
                         struct np_diag *diag, struct np_request *ret_request)
{
        struct np_request request = { .nodes_auto = true, .monitor = true, .device_affinity = true };
        const char *pod_values[N_FIELDS] = {}, *container_values[N_FIELDS] = {};
        const char *pod_keys[N_FIELDS] = {}, *container_keys[N_FIELDS] = {};
        const char *sandbox, *sandbox_id;
        bool policy_given = false;
        char quoted[128];
        int r;

        for (size_t i = 0; i < set->n; i++) {
                r = check_bytes(&set->items[i], diag);
                if (r < 0)
                        return r;
        }

        if (!container_name)
                container_name = first_of(set, container_name_keys, ARRAY_SIZE(container_name_keys));
        if (container_name && container_name[0]) {
                if (!valid_container_name(container_name, strlen(container_name)))
                        return np_diag_fail(
                                diag, -EINVAL,
                                "container name '%s': expected 1-63 characters of A-Z a-z 0-9 _ . - starting with a letter or digit",
                                np_log_quote(quoted, sizeof(quoted), container_name));
                strcpy(request.container_name, container_name);
        }
        r = np_request_set_pod(&request, first_of(set, pod_namespace_keys, ARRAY_SIZE(pod_namespace_keys)),
                               first_of(set, pod_name_keys, ARRAY_SIZE(pod_name_keys)), diag);
        if (r < 0)
                return r;
        sandbox_id = first_of(set, sandbox_id_keys, ARRAY_SIZE(sandbox_id_keys));
        if (sandbox_id) {
                if (!np_id_valid(sandbox_id))
                        return np_diag_fail(
                                diag, -EINVAL,
                                "pod sandbox id '%s': expected 1-200 of A-Z a-z 0-9 _ + . - not starting with a dot",
                                np_log_quote(quoted, sizeof(quoted), sandbox_id));
                strcpy(request.pod_id, sandbox_id);
        }
        sandbox = first_of(set, sandbox_type_keys, ARRAY_SIZE(sandbox_type_keys));
        request.sandbox = sandbox && strcmp(sandbox, "sandbox") == 0;

        for (size_t i = 0; i < set->n; i++) {
                enum field field = FIELD_POLICY;
                enum scope scope = SCOPE_NONE;
                const char *name = NULL;

                r = classify_key(set->items[i].key, &field, &scope, &name, diag);
                if (r < 0)
                        return r;
                if (scope == SCOPE_POD) {
                        pod_values[field] = set->items[i].value;
                        pod_keys[field] = set->items[i].key;
                } else if (scope == SCOPE_CONTAINER && strcmp(name, request.container_name) == 0) {
                        container_values[field] = set->items[i].value;
                        container_keys[field] = set->items[i].key;
                }
        }

        for (size_t f = 0; f < N_FIELDS; f++) {
                const char *value = container_values[f] ? container_values[f] : pod_values[f];
                const char *key = container_values[f] ? container_keys[f] : pod_keys[f];

                if (!value)
                        continue;
                request.annotated = true;
                if (f == FIELD_POLICY)
                        policy_given = true;
                r = parse_value((enum field)f, key, value, diag, &request);
                if (r < 0)
                        return r;
                if (f == FIELD_NODES)
                        snprintf(request.nodes_key, sizeof(request.nodes_key), "%s", key);
                else if (f == FIELD_NODE_COUNT)
                        snprintf(request.node_count_key, sizeof(request.node_count_key), "%s", key);
        }
        if (request.node_count > 0 && !request.nodes_auto)
                return np_diag_fail(diag, -EINVAL,
                                    "annotation '%s': only applies with '%s' set to auto; remove it or the node list",
                                    request.node_count_key, request.nodes_key);

        if (request.sandbox)
                request.policy = NP_POLICY_NONE;
        else if (!request.annotated)
                request.policy = default_policy;
        else if (!policy_given)
                request.policy = NP_POLICY_BIND;
        *ret_request = request;
        return 0;
}
