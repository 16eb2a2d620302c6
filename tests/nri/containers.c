// SPDX-License-Identifier: MIT
/* Containers as the runtime describes them: a spec written as one line, built
 * into the pod and container messages with the fields a real runtime adds; the
 * calls about them (create, update, stop, events) and what the plugin answered. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define EVENT_BIT(e) (1u << ((e)-1))

static int spec_error(char *err, size_t errsize, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int spec_error(char *err, size_t errsize, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, errsize, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* Copies `src` into dst[size) with \xNN and \\ decoded; false when it does not fit
 * or an escape is malformed. */
static bool copy_escaped(char *dst, size_t size, const char *src, size_t *ret_len)
{
        size_t n = 0;

        for (const char *p = src; *p; p++) {
                char c = *p;

                if (c == '\\') {
                        unsigned byte;

                        if (p[1] == '\\')
                                p++;
                        else if (p[1] == 'x' && sscanf(p + 2, "%2x", &byte) == 1 && p[2] && p[3] &&
                                 strspn(p + 2, "0123456789abcdefABCDEF") >= 2) {
                                c = (char)byte;
                                p += 3;
                        } else
                                return false;
                }
                if (n + 1 >= size)
                        return false;
                dst[n++] = c;
        }
        dst[n] = '\0';
        *ret_len = n;
        return true;
}

int spec_parse(const char *line, struct spec *ret, char *err, size_t errsize)
{
        struct spec s = { .quota = -1, .memory = -1, .pod_quota = -1, .pod_memory = -1,
                          .state = NRI__CONTAINER_STATE__CONTAINER_CREATED };
        char buf[4096], *save = NULL, *token;
        bool fits = true;

        if (!copy_str(buf, sizeof(buf), line))
                return spec_error(err, errsize, "line longer than %zu bytes", sizeof(buf));
        token = strtok_r(buf, " \t\n", &save);
        if (!token || !copy_str(s.id, sizeof(s.id), token))
                return spec_error(err, errsize, "expected a container id");
        while ((token = strtok_r(NULL, " \t\n", &save))) {
                char *key = token, *value = strchr(token, '=');
                struct kv *kv = NULL;
                int r = 0;

                if (!value)
                        return spec_error(err, errsize, "'%s': expected KEY=VALUE", token);
                *value++ = '\0';
                if (strncmp(key, "pod:", 4) == 0 && s.n_pod_annotations < MAX_KV)
                        kv = &s.pod_annotations[s.n_pod_annotations++];
                else if (strncmp(key, "ctr:", 4) == 0 && s.n_annotations < MAX_KV)
                        kv = &s.annotations[s.n_annotations++];
                if (kv)
                        fits = copy_escaped(kv->key, sizeof(kv->key), key + 4, &kv->key_len) &&
                               copy_escaped(kv->value, sizeof(kv->value), value, &kv->value_len);
                else if (strcmp(key, "name") == 0)
                        fits = copy_str(s.name, sizeof(s.name), value);
                else if (strcmp(key, "pod") == 0)
                        fits = copy_str(s.pod, sizeof(s.pod), value);
                else if (strcmp(key, "cpus") == 0)
                        fits = copy_str(s.cpus, sizeof(s.cpus), value);
                else if (strcmp(key, "mems") == 0)
                        fits = copy_str(s.mems, sizeof(s.mems), value);
                else if (strcmp(key, "quota") == 0)
                        r = parse_i64(value, &s.quota);
                else if (strcmp(key, "memory") == 0)
                        r = parse_i64(value, &s.memory);
                else if (strcmp(key, "podquota") == 0)
                        r = parse_i64(value, &s.pod_quota);
                else if (strcmp(key, "podmemory") == 0)
                        r = parse_i64(value, &s.pod_memory);
                else if (strcmp(key, "device") == 0 && s.n_devices < sizeof(s.devices) / sizeof(s.devices[0])) {
                        /* device=TYPE:MAJOR:MINOR:PATH */
                        struct spec_device *d = &s.devices[s.n_devices++];
                        int used = 0;

                        if (sscanf(value, "%c:%" SCNd64 ":%" SCNd64 ":%n", &d->type, &d->major, &d->minor, &used) != 3 ||
                            used == 0 || !copy_str(d->path, sizeof(d->path), value + used))
                                return spec_error(err, errsize, "'device=%s': expected TYPE:MAJOR:MINOR:PATH", value);
                }
                else if (strcmp(key, "period") == 0)
                        r = parse_u64(value, UINT64_MAX, &s.period);
                else if (strcmp(key, "pid") == 0)
                        r = parse_u64(value, UINT32_MAX, &s.pid);
                else if (strcmp(key, "padding") == 0)
                        r = parse_u64(value, 1u << 20, &s.padding);
                else if (strcmp(key, "state") == 0 && strcmp(value, "running") == 0)
                        s.state = NRI__CONTAINER_STATE__CONTAINER_RUNNING;
                else if (strcmp(key, "state") == 0 && strcmp(value, "created") == 0)
                        s.state = NRI__CONTAINER_STATE__CONTAINER_CREATED;
                else
                        return spec_error(err, errsize, "'%s': unknown key (or too many annotations)", key);
                if (!fits || r < 0)
                        return spec_error(err, errsize, "'%s=%s': %s", key, value, fits ? "not a number" : "too long");
        }
        if (!s.name[0])
                strcpy(s.name, "main");
        if (!s.pod[0])
                snprintf(s.pod, sizeof(s.pod), "pod-%.150s", s.id);
        *ret = s;
        return 0;
}

/* A spec the scenarios write themselves: it must parse. */
struct spec spec_of(const char *line)
{
        struct spec s;
        char err[256];

        if (spec_parse(line, &s, err, sizeof(err)) < 0)
                die("spec '%s': %s", line, err);
        return s;
}

/* Fields numapin's schema leaves out, sent as a real runtime sends them: the
 * plugin must skip what it does not know. */
static size_t put_varint(uint8_t *out, uint64_t v)
{
        size_t n = 0;

        do {
                out[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
                v >>= 7;
        } while (v);
        return n;
}

static void add_unknown(struct arena *a, ProtobufCMessage *m, uint32_t tag, ProtobufCWireType type, const uint8_t *data,
                        size_t len)
{
        ProtobufCMessageUnknownField *fields = arena_alloc(a, (m->n_unknown_fields + 1) * sizeof(*fields));

        if (m->n_unknown_fields)
                memcpy(fields, m->unknown_fields, m->n_unknown_fields * sizeof(*fields));
        fields[m->n_unknown_fields] = (ProtobufCMessageUnknownField){
                .tag = tag, .wire_type = type, .len = len, .data = memcpy(arena_alloc(a, len), data, len)
        };
        m->unknown_fields = fields;
        m->n_unknown_fields++;
}

/* A length-delimited field: its data is the length, then the bytes. */
static void add_unknown_bytes(struct arena *a, ProtobufCMessage *m, uint32_t tag, const void *bytes, size_t len)
{
        uint8_t *data = arena_alloc(a, len + 10);
        size_t n = put_varint(data, len);

        memcpy(data + n, bytes, len);
        add_unknown(a, m, tag, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED, data, n + len);
}

static void add_unknown_varint(struct arena *a, ProtobufCMessage *m, uint32_t tag, uint64_t v)
{
        uint8_t data[10];

        add_unknown(a, m, tag, PROTOBUF_C_WIRE_TYPE_VARINT, data, put_varint(data, v));
}

static Nri__OptionalInt64 *opt_i64(struct arena *a, int64_t v)
{
        Nri__OptionalInt64 *o = arena_alloc(a, sizeof(*o));

        nri__optional_int64__init(o);
        o->value = v;
        return o;
}

static Nri__OptionalUInt64 *opt_u64(struct arena *a, uint64_t v)
{
        Nri__OptionalUInt64 *o = arena_alloc(a, sizeof(*o));

        nri__optional_uint64__init(o);
        o->value = v;
        return o;
}

static ProtobufCBinaryData arena_bytes(struct arena *a, const char *bytes, size_t len)
{
        return (ProtobufCBinaryData){ .len = len, .data = memcpy(arena_alloc(a, len + 1), bytes, len) };
}

static Nri__PodSandbox__AnnotationsEntry *pod_entry(struct arena *a, const char *key, size_t key_len, const char *value,
                                                    size_t value_len)
{
        Nri__PodSandbox__AnnotationsEntry *e = arena_alloc(a, sizeof(*e));

        nri__pod_sandbox__annotations_entry__init(e);
        e->key = arena_bytes(a, key, key_len);
        e->value = arena_bytes(a, value, value_len);
        return e;
}

static Nri__Container__AnnotationsEntry *ctr_entry(struct arena *a, const char *key, size_t key_len, const char *value,
                                                   size_t value_len)
{
        Nri__Container__AnnotationsEntry *e = arena_alloc(a, sizeof(*e));

        nri__container__annotations_entry__init(e);
        e->key = arena_bytes(a, key, key_len);
        e->value = arena_bytes(a, value, value_len);
        return e;
}

static Nri__Container__AnnotationsEntry *ctr_text(struct arena *a, const char *key, const char *value)
{
        return ctr_entry(a, key, strlen(key), value, strlen(value));
}

static Nri__Container__LabelsEntry *ctr_label(struct arena *a, const char *key, const char *value)
{
        Nri__Container__LabelsEntry *e = arena_alloc(a, sizeof(*e));

        nri__container__labels_entry__init(e);
        e->key = arena_strdup(a, key);
        e->value = arena_strdup(a, value);
        return e;
}

Nri__PodSandbox *build_pod(struct arena *a, const struct spec *s)
{
        Nri__PodSandbox *pod = arena_alloc(a, sizeof(*pod));
        Nri__PodSandbox__LabelsEntry *label = arena_alloc(a, sizeof(*label));
        Nri__LinuxPodSandbox *linux_pod = arena_alloc(a, sizeof(*linux_pod));

        nri__pod_sandbox__init(pod);
        pod->id = arena_strdup(a, s->pod);
        pod->name = arena_strdup(a, s->pod);
        pod->uid = arena_printf(a, "uid-%s", s->pod);
        pod->namespace_ = "default";
        nri__pod_sandbox__labels_entry__init(label);
        label->key = "io.kubernetes.pod.name";
        label->value = pod->name;
        pod->n_labels = 1;
        pod->labels = arena_alloc(a, sizeof(*pod->labels));
        pod->labels[0] = label;
        pod->annotations = arena_alloc(a, (s->n_pod_annotations + 1) * sizeof(*pod->annotations));
        for (size_t i = 0; i < s->n_pod_annotations; i++)
                pod->annotations[pod->n_annotations++] =
                        pod_entry(a, s->pod_annotations[i].key, s->pod_annotations[i].key_len,
                                  s->pod_annotations[i].value, s->pod_annotations[i].value_len);
        pod->annotations[pod->n_annotations++] = pod_entry(a, "kubernetes.io/config.source", 26, "api", 3);
        nri__linux_pod_sandbox__init(linux_pod);
        linux_pod->cgroup_parent = arena_printf(a, "/kubepods/besteffort/pod%s", pod->uid);
        linux_pod->cgroups_path = linux_pod->cgroup_parent;
        if (s->pod_quota >= 0 || s->pod_memory >= 0) {
                Nri__LinuxResources *resources = arena_alloc(a, sizeof(*resources));

                nri__linux_resources__init(resources);
                if (s->pod_quota >= 0) {
                        resources->cpu = arena_alloc(a, sizeof(*resources->cpu));
                        nri__linux_cpu__init(resources->cpu);
                        resources->cpu->quota = opt_i64(a, s->pod_quota);
                        resources->cpu->period = opt_u64(a, 100000);
                }
                if (s->pod_memory >= 0) {
                        resources->memory = arena_alloc(a, sizeof(*resources->memory));
                        nri__linux_memory__init(resources->memory);
                        resources->memory->limit = opt_i64(a, s->pod_memory);
                }
                linux_pod->pod_resources = resources;
        }
        pod->linux = linux_pod;
        pod->runtime_handler = "runc";
        add_unknown_bytes(a, &pod->base, 10, "10.88.0.7", 9); /* ips, NRI v0.8 */
        return pod;
}

Nri__Container *build_container(struct arena *a, const struct spec *s)
{
        Nri__Container *c = arena_alloc(a, sizeof(*c));
        Nri__LinuxContainer *linux_ctr = arena_alloc(a, sizeof(*linux_ctr));
        Nri__LinuxResources *resources = arena_alloc(a, sizeof(*resources));
        Nri__LinuxCPU *cpu = arena_alloc(a, sizeof(*cpu));
        Nri__LinuxMemory *memory = arena_alloc(a, sizeof(*memory));
        size_t n_labels = 2 + (s->padding + 119) / 120;
        static const uint8_t pid_namespace[] = { 0x0a, 0x03, 'p', 'i', 'd' };

        nri__container__init(c);
        c->id = arena_strdup(a, s->id);
        c->pod_sandbox_id = arena_strdup(a, s->pod);
        c->name = arena_strdup(a, s->name);
        c->state = s->state;
        c->pid = (uint32_t)s->pid;
        c->labels = arena_alloc(a, n_labels * sizeof(*c->labels));
        c->labels[c->n_labels++] = ctr_label(a, "io.kubernetes.container.name", s->name);
        c->labels[c->n_labels++] = ctr_label(a, "io.kubernetes.pod.name", s->pod);
        for (size_t i = 0; c->n_labels < n_labels; i++)
                c->labels[c->n_labels++] =
                        ctr_label(a, arena_printf(a, "example.com/padding-%zu", i),
                                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        c->annotations = arena_alloc(a, (s->n_annotations + 3) * sizeof(*c->annotations));
        for (size_t i = 0; i < s->n_annotations; i++)
                c->annotations[c->n_annotations++] = ctr_entry(a, s->annotations[i].key, s->annotations[i].key_len,
                                                               s->annotations[i].value, s->annotations[i].value_len);
        c->annotations[c->n_annotations++] = ctr_text(a, "io.kubernetes.cri.container-type", "container");
        c->annotations[c->n_annotations++] = ctr_text(a, "io.kubernetes.cri.container-name", s->name);
        c->annotations[c->n_annotations++] = ctr_text(a, "io.kubernetes.cri.sandbox-id", s->pod);

        nri__linux_cpu__init(cpu);
        cpu->shares = opt_u64(a, s->quota > 0 ? (uint64_t)s->quota * 1024 / 100000 : 2);
        if (s->quota >= 0)
                cpu->quota = opt_i64(a, s->quota);
        if (s->period)
                cpu->period = opt_u64(a, s->period);
        cpu->cpus = arena_strdup(a, s->cpus);
        cpu->mems = arena_strdup(a, s->mems);
        nri__linux_memory__init(memory);
        if (s->memory >= 0)
                memory->limit = opt_i64(a, s->memory);
        nri__linux_resources__init(resources);
        resources->cpu = cpu;
        resources->memory = memory;
        nri__linux_container__init(linux_ctr);
        linux_ctr->resources = resources;
        linux_ctr->cgroups_path = arena_printf(a, "/kubepods/besteffort/pod%s/%s", s->pod, s->id);
        linux_ctr->devices = arena_alloc(a, (s->n_devices + 1) * sizeof(*linux_ctr->devices));
        for (size_t i = 0; i < s->n_devices; i++) {
                Nri__LinuxDevice *d = arena_alloc(a, sizeof(*d));

                nri__linux_device__init(d);
                d->path = arena_strdup(a, s->devices[i].path);
                d->type = arena_printf(a, "%c", s->devices[i].type);
                d->major = s->devices[i].major;
                d->minor = s->devices[i].minor;
                linux_ctr->devices[linux_ctr->n_devices++] = d;
        }
        add_unknown_bytes(a, &linux_ctr->base, 1, pid_namespace, sizeof(pid_namespace)); /* namespaces */
        c->linux = linux_ctr;

        add_unknown_bytes(a, &c->base, 7, "sleep", 5); /* args */
        add_unknown_bytes(a, &c->base, 7, "infinity", 8);
        add_unknown_bytes(a, &c->base, 8, "PATH=/usr/local/bin:/usr/bin:/bin", 33); /* env */
        add_unknown_varint(a, &c->base, 14, 1764000000000000000ull);                /* created_at, NRI v0.10 */
        return c;
}

/* The pods and containers of a Synchronize: one pod per pod id, from the first
 * container that names it. */
void build_state(struct arena *a, const struct spec *specs, size_t n, Nri__PodSandbox ***ret_pods, size_t *ret_n_pods,
                 Nri__Container ***ret_containers)
{
        Nri__PodSandbox **pods = arena_alloc(a, (n + 1) * sizeof(*pods));
        Nri__Container **containers = arena_alloc(a, (n + 1) * sizeof(*containers));
        size_t n_pods = 0;

        for (size_t i = 0; i < n; i++) {
                bool seen = false;

                for (size_t j = 0; j < n_pods && !seen; j++)
                        seen = strcmp(pods[j]->id, specs[i].pod) == 0;
                if (!seen)
                        pods[n_pods++] = build_pod(a, &specs[i]);
                containers[i] = build_container(a, &specs[i]);
        }
        *ret_pods = pods;
        *ret_n_pods = n_pods;
        *ret_containers = containers;
}

/* ---- what the plugin answered --------------------------------------------------------------- */

static void cpuset_of(const Nri__LinuxResources *resources, char *cpus, size_t cpus_size, char *mems, size_t mems_size)
{
        const Nri__LinuxCPU *cpu = resources ? resources->cpu : NULL;

        copy_str(cpus, cpus_size, cpu ? cpu->cpus : "");
        copy_str(mems, mems_size, cpu ? cpu->mems : "");
}

void take_updates(Nri__ContainerUpdate **list, size_t n, struct outcome *out)
{
        for (size_t i = 0; i < n && out->n_updates < MAX_UPDATES; i++) {
                struct cpuset_update *u = &out->updates[out->n_updates++];

                copy_str(u->id, sizeof(u->id), list[i]->container_id);
                cpuset_of(list[i]->linux ? list[i]->linux->resources : NULL, u->cpus, sizeof(u->cpus), u->mems,
                          sizeof(u->mems));
        }
}

const uint8_t *payload_of(const struct reply *r)
{
        return r->len ? r->payload : (const uint8_t *)"";
}

struct outcome outcome_of_create(const struct reply *r)
{
        Nri__CreateContainerResponse *response = nri__create_container_response__unpack(NULL, r->len, payload_of(r));
        struct outcome out = {};

        if (!response) {
                out.malformed = true;
                return out;
        }
        if (response->adjust && response->adjust->linux) {
                const Nri__LinuxContainerAdjustment *adj = response->adjust->linux;

                cpuset_of(adj->resources, out.cpus, sizeof(out.cpus), out.mems, sizeof(out.mems));
                out.adjusted = out.cpus[0] || out.mems[0];
                if (adj->memory_policy) {
                        out.memory_policy = true;
                        out.mpol_mode = adj->memory_policy->mode;
                        copy_str(out.mpol_nodes, sizeof(out.mpol_nodes), adj->memory_policy->nodes);
                }
        }
        take_updates(response->update, response->n_update, &out);
        nri__create_container_response__free_unpacked(response, NULL);
        return out;
}

static struct outcome outcome_of_update(const struct reply *r)
{
        Nri__UpdateContainerResponse *response = nri__update_container_response__unpack(NULL, r->len, payload_of(r));
        struct outcome out = {};

        if (!response) {
                out.malformed = true;
                return out;
        }
        take_updates(response->update, response->n_update, &out);
        nri__update_container_response__free_unpacked(response, NULL);
        return out;
}

static struct outcome outcome_of_stop(const struct reply *r)
{
        Nri__StopContainerResponse *response = nri__stop_container_response__unpack(NULL, r->len, payload_of(r));
        struct outcome out = {};

        if (!response) {
                out.malformed = true;
                return out;
        }
        take_updates(response->update, response->n_update, &out);
        nri__stop_container_response__free_unpacked(response, NULL);
        return out;
}

const struct cpuset_update *find_update(const struct outcome *out, const char *id)
{
        for (size_t i = 0; i < out->n_updates; i++)
                if (strcmp(out->updates[i].id, id) == 0)
                        return &out->updates[i];
        return NULL;
}

const char *dash(const char *s)
{
        return s[0] ? s : "-";
}

/* "cpus=... mems=..." [mpol=MODE:NODES] [update=ID:CPUS:MEMS]...; "-" for absent. */
const char *outcome_text(const struct outcome *out)
{
        static char text[8192];
        size_t n;

        if (out->malformed)
                return "malformed reply";
        n = (size_t)snprintf(text, sizeof(text), "cpus=%s mems=%s", dash(out->cpus), dash(out->mems));
        if (out->memory_policy && n < sizeof(text))
                n += (size_t)snprintf(text + n, sizeof(text) - n, " mpol=%d:%s", out->mpol_mode, dash(out->mpol_nodes));
        for (size_t i = 0; i < out->n_updates && n < sizeof(text); i++)
                n += (size_t)snprintf(text + n, sizeof(text) - n, " update=%s:%s:%s", out->updates[i].id,
                                      dash(out->updates[i].cpus), dash(out->updates[i].mems));
        return text;
}

/* ---- the runtime's calls -------------------------------------------------------------------- */

struct outcome runtime_create(struct runtime *rt, const struct spec *s, struct reply *ret)
{
        Nri__CreateContainerRequest request = NRI__CREATE_CONTAINER_REQUEST__INIT;
        struct arena a = {};
        struct outcome out = {};

        request.pod = build_pod(&a, s);
        request.container = build_container(&a, s);
        call(rt, "CreateContainer", &request.base, ret);
        arena_free(&a);
        if (reply_ok(ret))
                out = outcome_of_create(ret);
        return out;
}

/* UpdateContainer as kubelet's resize sends it: new resources with a cpuset of all CPUs. */
struct outcome runtime_update(struct runtime *rt, const struct spec *s, struct reply *ret)
{
        Nri__UpdateContainerRequest request = NRI__UPDATE_CONTAINER_REQUEST__INIT;
        Nri__LinuxResources resources = NRI__LINUX_RESOURCES__INIT;
        Nri__LinuxCPU cpu = NRI__LINUX_CPU__INIT;
        struct arena a = {};
        struct outcome out = {};

        cpu.cpus = "0-31";
        cpu.mems = "0-1";
        resources.cpu = &cpu;
        request.pod = build_pod(&a, s);
        request.container = build_container(&a, s);
        request.linux_resources = &resources;
        call(rt, "UpdateContainer", &request.base, ret);
        arena_free(&a);
        if (reply_ok(ret))
                out = outcome_of_update(ret);
        return out;
}

struct outcome runtime_stop(struct runtime *rt, const struct spec *s, struct reply *ret)
{
        Nri__StopContainerRequest request = NRI__STOP_CONTAINER_REQUEST__INIT;
        struct arena a = {};
        struct outcome out = {};

        request.pod = build_pod(&a, s);
        request.container = build_container(&a, s);
        call(rt, "StopContainer", &request.base, ret);
        arena_free(&a);
        if (reply_ok(ret))
                out = outcome_of_stop(ret);
        return out;
}

static const char *event_method(Nri__Event event)
{
        switch (event) {
        case NRI__EVENT__POST_CREATE_CONTAINER:
                return "PostCreateContainer";
        case NRI__EVENT__START_CONTAINER:
                return "StartContainer";
        case NRI__EVENT__POST_START_CONTAINER:
                return "PostStartContainer";
        case NRI__EVENT__POST_UPDATE_CONTAINER:
                return "PostUpdateContainer";
        case NRI__EVENT__REMOVE_CONTAINER:
                return "RemoveContainer";
        default:
                return "";
        }
}

/* An event without a reply of its own, as the runtime delivers it: nothing when
 * the plugin did not subscribe; a v0.12 runtime tries the dedicated call first and
 * falls back to StateChange for good after UNIMPLEMENTED; older ones use StateChange.
 * Returns the method used ("" when not sent). */
const char *runtime_event(struct runtime *rt, Nri__Event event, const struct spec *s, bool force_state_change,
                          struct reply *ret)
{
        Nri__ContainerEventRequest dedicated = NRI__CONTAINER_EVENT_REQUEST__INIT;
        Nri__StateChangeEvent change = NRI__STATE_CHANGE_EVENT__INIT;
        const char *method = "StateChange";
        struct arena a = {};

        *ret = (struct reply){};
        if (rt->events && !(rt->events & EVENT_BIT(event)))
                return "";
        if (rt->dedicated_events && !rt->fallback[event] && !force_state_change) {
                dedicated.pod = build_pod(&a, s);
                dedicated.container = build_container(&a, s);
                call(rt, event_method(event), &dedicated.base, ret);
                if (ret->err || ret->code != CODE_UNIMPLEMENTED) {
                        arena_free(&a);
                        return event_method(event);
                }
                note("%s answered UNIMPLEMENTED: falling back to StateChange", event_method(event));
                rt->fallback[event] = true;
                reply_clear(ret);
        }
        change.event = event;
        change.pod = build_pod(&a, s);
        change.container = build_container(&a, s);
        call(rt, "StateChange", &change.base, ret);
        arena_free(&a);
        return method;
}
