// SPDX-License-Identifier: MIT
/* The runtime: its profiles (containerd 2.1, CRI-O 1.34, NRI v0.12), its answers
 * to the plugin's calls (RegisterPlugin, UpdateContainers), its ttrpc calls and
 * their replies, and what follows a connection: registration, Configure, and a
 * Synchronize paged as the Go runtime pages it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

void runtime_init(struct runtime *rt, const struct options *o, enum profile profile, const char *subdir)
{
        *rt = (struct runtime){ .o = o, .listen_fd = -1, .next_stream = 1 };
        peer_init(&rt->peer, -1);
        switch (profile) {
        case RUNTIME_V08:
                rt->label = "containerd 2.1 (NRI v0.8)";
                rt->runtime_name = "containerd";
                rt->runtime_version = "v2.1.4";
                rt->nri_version = "";
                rt->valid_events = 0x7FF;
                break;
        case RUNTIME_V010:
                rt->label = "CRI-O 1.34 (NRI v0.10)";
                rt->runtime_name = "cri-o";
                rt->runtime_version = "1.34.1";
                rt->nri_version = "";
                rt->valid_events = 0x3FFF;
                break;
        case RUNTIME_V012:
                rt->label = "NRI v0.12 runtime";
                rt->runtime_name = "containerd";
                rt->runtime_version = "v2.4.0";
                rt->nri_version = "v0.12.2";
                rt->valid_events = 0x3FFF;
                rt->dedicated_events = true;
                break;
        }
        if (subdir && *subdir)
                snprintf(rt->state_dir, sizeof(rt->state_dir), "%s/%s", o->state_dir, subdir);
        else
                copy_str(rt->state_dir, sizeof(rt->state_dir), o->state_dir);
        if (mkdir(rt->state_dir, 0700) < 0 && errno != EEXIST)
                die("cannot create %s: %s", rt->state_dir, strerror(errno));
}

enum profile profile_of(const char *s)
{
        if (!s || strcmp(s, "v0.8") == 0)
                return RUNTIME_V08;
        if (strcmp(s, "v0.10") == 0)
                return RUNTIME_V010;
        if (strcmp(s, "v0.12") == 0)
                return RUNTIME_V012;
        die("--runtime %s: expected v0.8, v0.10 or v0.12", s);
}

/* A new connection: the plugin starts over (registration, stream ids, events). */
void session_reset(struct runtime *rt, int fd)
{
        peer_close(&rt->peer);
        peer_init(&rt->peer, fd);
        rt->next_stream = 1;
        rt->last_plugin_stream = 0;
        rt->registered = rt->register_reply_pending = false;
        rt->register_error[0] = '\0';
        rt->events = 0;
        memset(rt->fallback, 0, sizeof(rt->fallback));
}

/* Sends a ttrpc Response: no status when OK (as Go's server), the reply packed. */
static int respond(struct runtime *rt, uint32_t conn, uint32_t stream, int code, const char *message,
                   const ProtobufCMessage *reply)
{
        Ttrpc__Response response = TTRPC__RESPONSE__INIT;
        Ttrpc__Status status = TTRPC__STATUS__INIT;
        uint8_t *payload = NULL, *body;
        size_t len;
        int r;

        if (code != CODE_OK || rt->ok_status_present) {
                status.code = code;
                status.message = (char *)(message ? message : "");
                response.status = &status;
        }
        if (reply && (len = protobuf_c_message_get_packed_size(reply)) > 0) {
                payload = xmalloc(len);
                protobuf_c_message_pack(reply, payload);
                response.payload.data = payload;
                response.payload.len = len;
        }
        len = ttrpc__response__get_packed_size(&response);
        body = xmalloc(len);
        ttrpc__response__pack(&response, body);
        r = send_message(&rt->peer, SPLIT_GO, conn, stream, TYPE_RESPONSE, body, len);
        free(body);
        free(payload);
        return r;
}

static bool valid_plugin_name(const char *name)
{
        if (!*name)
                return false;
        for (const char *c = name; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                      strchr("_.+-", *c)))
                        return false;
        return true;
}

static bool valid_plugin_idx(const char *idx)
{
        return strlen(idx) == 2 && idx[0] >= '0' && idx[0] <= '9' && idx[1] >= '0' && idx[1] <= '9';
}

/* A call of the plugin on connection 2: RegisterPlugin or UpdateContainers. */
static void serve_runtime_call(struct runtime *rt, const struct msg *m)
{
        Nri__Empty empty = NRI__EMPTY__INIT;
        Ttrpc__Request *request;
        char text[256];

        if (m->type != TYPE_REQUEST) {
                peer_violation(&rt->peer, "a ttrpc message of type %u on connection 2", m->type);
                return;
        }
        if (m->stream % 2 == 0 || m->stream <= rt->last_plugin_stream) {
                peer_violation(&rt->peer, "the plugin's call on stream %u after stream %u", m->stream,
                               rt->last_plugin_stream);
                respond(rt, CONN_RUNTIME, m->stream, CODE_INVALID_ARGUMENT,
                        "StreamID cannot be re-used and must increment", NULL);
                return;
        }
        rt->last_plugin_stream = m->stream;
        request = ttrpc__request__unpack(NULL, m->len, m->len ? m->body : (const uint8_t *)"");
        if (!request) {
                peer_violation(&rt->peer, "a malformed ttrpc Request on connection 2");
                respond(rt, CONN_RUNTIME, m->stream, CODE_INVALID_ARGUMENT, "unmarshal request error", NULL);
                return;
        }
        if (strcmp(request->service, RUNTIME_SERVICE) != 0) {
                snprintf(text, sizeof(text), "service %s", request->service);
                respond(rt, CONN_RUNTIME, m->stream, CODE_UNIMPLEMENTED, text, NULL);
        } else if (strcmp(request->method, "RegisterPlugin") == 0) {
                Nri__RegisterPluginRequest *reg = nri__register_plugin_request__unpack(
                        NULL, request->payload.len, request->payload.len ? request->payload.data : (uint8_t *)"");

                rt->registrations++;
                rt->register_stream = m->stream;
                if (!reg) {
                        copy_str(rt->register_error, sizeof(rt->register_error), "malformed RegisterPluginRequest");
                        respond(rt, CONN_RUNTIME, m->stream, CODE_INVALID_ARGUMENT, rt->register_error, NULL);
                } else {
                        copy_str(rt->name, sizeof(rt->name), reg->plugin_name);
                        copy_str(rt->idx, sizeof(rt->idx), reg->plugin_idx);
                        copy_str(rt->plugin_nri_version, sizeof(rt->plugin_nri_version), reg->nri_version);
                        if (!rt->preinstalled &&
                            !(rt->nri_version[0] ? valid_plugin_name(reg->plugin_name) : reg->plugin_name[0] != '\0'))
                                snprintf(rt->register_error, sizeof(rt->register_error), "invalid plugin name '%s'",
                                         reg->plugin_name);
                        else if (!rt->preinstalled && !valid_plugin_idx(reg->plugin_idx))
                                snprintf(rt->register_error, sizeof(rt->register_error), "invalid plugin index '%s'",
                                         reg->plugin_idx);
                        else if (rt->refuse_registration) {
                                rt->refuse_registration = false;
                                copy_str(rt->register_error, sizeof(rt->register_error),
                                         "registration refused by the harness");
                        }
                        if (rt->register_error[0])
                                respond(rt, CONN_RUNTIME, m->stream, CODE_UNKNOWN, rt->register_error, NULL);
                        else if (rt->defer_register_reply)
                                rt->register_reply_pending = true;
                        else
                                respond(rt, CONN_RUNTIME, m->stream, CODE_OK, NULL, &empty.base);
                        rt->registered = !rt->register_error[0];
                        nri__register_plugin_request__free_unpacked(reg, NULL);
                }
        } else if (strcmp(request->method, "UpdateContainers") == 0) {
                Nri__UpdateContainersResponse reply = NRI__UPDATE_CONTAINERS_RESPONSE__INIT;
                Nri__UpdateContainersRequest *updates = nri__update_containers_request__unpack(
                        NULL, request->payload.len, request->payload.len ? request->payload.data : (uint8_t *)"");

                rt->update_calls++;
                rt->last_updates[0] = '\0';
                if (updates && rt->unsolicited)
                        take_updates(updates->update, updates->n_update, rt->unsolicited);
                for (size_t i = 0; updates && i < updates->n_update; i++) {
                        const Nri__ContainerUpdate *u = updates->update[i];
                        size_t used = strlen(rt->last_updates);

                        snprintf(rt->last_updates + used, sizeof(rt->last_updates) - used, "%s%s:%s", used ? " " : "",
                                 u->container_id,
                                 u->linux && u->linux->resources && u->linux->resources->cpu
                                         ? u->linux->resources->cpu->cpus
                                         : "-");
                }
                if (updates)
                        nri__update_containers_request__free_unpacked(updates, NULL);
                respond(rt, CONN_RUNTIME, m->stream, CODE_OK, NULL, &reply.base);
        } else {
                snprintf(text, sizeof(text), "method %s", request->method);
                respond(rt, CONN_RUNTIME, m->stream, CODE_UNIMPLEMENTED, text, NULL);
        }
        ttrpc__request__free_unpacked(request, NULL);
}

/* The first queued message on conn with stream (0: any) and type. The
 * plugin's calls met on the way are served, anything else is stray. */
static struct msg *take(struct runtime *rt, uint32_t conn, uint32_t stream, uint8_t type)
{
        struct msg *m;

        while ((m = peer_pop(&rt->peer))) {
                if (m->conn == conn && m->type == type && (stream == 0 || m->stream == stream))
                        return m;
                if (m->conn == CONN_RUNTIME)
                        serve_runtime_call(rt, m);
                else
                        rt->stray++;
                free(m);
        }
        return NULL;
}

int runtime_wait(struct runtime *rt, uint32_t conn, uint32_t stream, uint8_t type, int timeout_ms, struct msg **ret)
{
        uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;

        for (;;) {
                struct msg *m = take(rt, conn, stream, type);
                uint64_t now = now_ns();
                int r;

                if (m) {
                        *ret = m;
                        return 0;
                }
                if (now >= deadline)
                        return -ETIMEDOUT;
                r = peer_pump(&rt->peer, (int)((deadline - now + 999999) / 1000000));
                if (r == -ECONNRESET) {
                        m = take(rt, conn, stream, type);
                        if (m) {
                                *ret = m;
                                return 0;
                        }
                        return r;
                }
        }
}

/* Serves whatever the plugin sent, for up to timeout_ms. */
void runtime_idle(struct runtime *rt, int timeout_ms)
{
        struct msg *m = NULL;

        runtime_wait(rt, 0, 0, 0, timeout_ms, &m);
        free(m);
}

void reply_clear(struct reply *r)
{
        free(r->payload);
        *r = (struct reply){};
}

bool reply_ok(const struct reply *r)
{
        return r->err == 0 && r->code == CODE_OK;
}

const char *describe(const struct reply *r)
{
        static char text[1200];

        if (r->err == -ETIMEDOUT)
                return "no answer within the 2 s request timeout";
        if (r->err == -ECONNRESET)
                return "the connection closed";
        if (r->err == -EMSGSIZE)
                return "request over 4 MiB";
        if (r->err == -EPROTO)
                return "a malformed ttrpc Response";
        if (r->err)
                return strerror(-r->err);
        if (r->code == CODE_OK)
                return "OK";
        snprintf(text, sizeof(text), "status %d: %s", r->code, r->message);
        return text;
}

/* Sends a ready ttrpc body as a Request on connection 1 and waits for its Response. */
int call_body(struct runtime *rt, uint32_t stream, const uint8_t *body, size_t len, enum split split, struct reply *ret)
{
        Nri__Empty empty = NRI__EMPTY__INIT;
        Ttrpc__Response *response;
        struct msg *m = NULL;
        uint64_t start = now_ns();
        int timeout = REQUEST_WAIT_MS, r;

        *ret = (struct reply){};
        if (rt->deadline_ns) {
                int64_t left = rt->deadline_ns > start ? (int64_t)((rt->deadline_ns - start) / 1000000) : 0;

                if (left < timeout)
                        timeout = (int)left;
        }
        r = send_message(&rt->peer, split, CONN_PLUGIN, stream, TYPE_REQUEST, body, len);
        if (r == 0 && rt->register_reply_pending) {
                /* the order the note warns of: Configure first, then the RegisterPlugin reply */
                rt->register_reply_pending = false;
                r = respond(rt, CONN_RUNTIME, rt->register_stream, CODE_OK, NULL, &empty.base);
        }
        if (r == 0)
                r = runtime_wait(rt, CONN_PLUGIN, stream, TYPE_RESPONSE, timeout, &m);
        ret->ns = now_ns() - start;
        if (r < 0) {
                ret->err = r;
                return r;
        }
        if (m->flags != 0)
                peer_violation(&rt->peer, "a ttrpc Response with flags 0x%x on stream %u", m->flags, stream);
        response = ttrpc__response__unpack(NULL, m->len, m->len ? m->body : (const uint8_t *)"");
        free(m);
        if (!response) {
                peer_violation(&rt->peer, "a malformed ttrpc Response on stream %u", stream);
                ret->err = -EPROTO;
                return -EPROTO;
        }
        if (response->status && response->status->code != CODE_OK) {
                ret->code = response->status->code;
                copy_str(ret->message, sizeof(ret->message), response->status->message);
        }
        if (response->payload.len) {
                ret->payload = xmemdup(response->payload.data, response->payload.len);
                ret->len = response->payload.len;
        }
        ttrpc__response__free_unpacked(response, NULL);
        return 0;
}

uint32_t next_stream(struct runtime *rt)
{
        uint32_t stream = rt->next_stream;

        rt->next_stream += 2;
        return stream;
}

/* A packed ttrpc Request; NULL (and *ret_len the size) when it is over 4 MiB. */
uint8_t *pack_request(const struct runtime *rt, const char *service, const char *method, const uint8_t *payload,
                      size_t len, size_t *ret_len)
{
        Ttrpc__Request request = TTRPC__REQUEST__INIT;
        Ttrpc__KeyValue trace = TTRPC__KEY_VALUE__INIT, *metadata[1] = { &trace };
        uint8_t *body;
        size_t size;

        request.service = (char *)service;
        request.method = (char *)method;
        request.payload.data = (uint8_t *)payload;
        request.payload.len = len;
        request.timeout_nano = (int64_t)REQUEST_TIMEOUT_MS * 1000000;
        if (rt->tracing) {
                trace.key = "traceparent";
                trace.value = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
                request.n_metadata = 1;
                request.metadata = metadata;
        }
        size = ttrpc__request__get_packed_size(&request);
        *ret_len = size;
        if (size > TTRPC_MAX)
                return NULL;
        body = xmalloc(size);
        ttrpc__request__pack(&request, body);
        return body;
}

int call_raw(struct runtime *rt, const char *service, const char *method, const uint8_t *payload, size_t len,
             struct reply *ret)
{
        size_t size;
        uint8_t *body = pack_request(rt, service, method, payload, len, &size);
        int r;

        if (!body) {
                *ret = (struct reply){ .err = -EMSGSIZE, .rejected = size };
                return -EMSGSIZE;
        }
        r = call_body(rt, next_stream(rt), body, size, rt->split, ret);
        free(body);
        return r;
}

int call(struct runtime *rt, const char *method, const ProtobufCMessage *request, struct reply *ret)
{
        size_t len = protobuf_c_message_get_packed_size(request);
        uint8_t *payload = xmalloc(len);
        int r;

        protobuf_c_message_pack(request, payload);
        r = call_raw(rt, PLUGIN_SERVICE, method, payload, len, ret);
        free(payload);
        return r;
}

/* Waits for RegisterPlugin (the registration timeout): 0, or why not. */
int runtime_await_registration(struct runtime *rt)
{
        uint64_t deadline = now_ns() + (uint64_t)REGISTRATION_TIMEOUT_MS * 1000000ull;

        while (!rt->registered && !rt->register_error[0]) {
                uint64_t now = now_ns();
                int r;

                if (now >= deadline)
                        return -ETIMEDOUT;
                r = peer_pump(&rt->peer, (int)((deadline - now) / 1000000) + 1);
                take(rt, 0, 0, 0);
                if (r == -ECONNRESET && !rt->registered)
                        return r;
        }
        return rt->registered ? 0 : -EPERM;
}

int runtime_configure(struct runtime *rt, struct reply *ret)
{
        Nri__ConfigureRequest request = NRI__CONFIGURE_REQUEST__INIT;
        Nri__ConfigureResponse *response;

        request.config = (char *)(rt->config ? rt->config : "");
        request.runtime_name = (char *)rt->runtime_name;
        request.runtime_version = (char *)rt->runtime_version;
        request.registration_timeout = REGISTRATION_TIMEOUT_MS;
        request.request_timeout = REQUEST_TIMEOUT_MS;
        request.nri_version = (char *)rt->nri_version;
        call(rt, "Configure", &request.base, ret);
        if (!reply_ok(ret))
                return -EIO;
        response = nri__configure_response__unpack(NULL, ret->len, ret->len ? ret->payload : (uint8_t *)"");
        if (!response)
                return -EPROTO;
        rt->events = response->events;
        nri__configure_response__free_unpacked(response, NULL);
        return 0;
}

/* Synchronize as the adaptation does it: everything at once; when that is over
 * 4 MiB, objects per message shrink by min(0.9, max/rejected) (at least 4+4) and
 * the chunks go out with more=true, each to be echoed, the last with more=false.
 * The whole exchange shares one request timeout. */
bool runtime_synchronize(struct runtime *rt, Nri__PodSandbox **pods, size_t n_pods, Nri__Container **containers,
                         size_t n_containers, struct sync_result *ret)
{
        size_t pods_per = n_pods, ctrs_per = n_containers, pod_off = 0, ctr_off = 0;
        uint64_t start = now_ns();
        bool done = false, ok = false;

        *ret = (struct sync_result){};
        rt->deadline_ns = start + (uint64_t)REQUEST_WAIT_MS * 1000000ull;
        while (!done) {
                Nri__SynchronizeRequest request = NRI__SYNCHRONIZE_REQUEST__INIT;
                Nri__SynchronizeResponse *response;
                struct reply *r = &ret->last;
                size_t payload_len, size;
                uint8_t *payload, *body;

                request.pods = pods + pod_off;
                request.n_pods = pods_per;
                request.containers = containers + ctr_off;
                request.n_containers = ctrs_per;
                request.more = n_pods - pod_off > pods_per || n_containers - ctr_off > ctrs_per;
                payload_len = nri__synchronize_request__get_packed_size(&request);
                payload = xmalloc(payload_len);
                nri__synchronize_request__pack(&request, payload);
                body = pack_request(rt, PLUGIN_SERVICE, "Synchronize", payload, payload_len, &size);
                free(payload);
                if (ret->chunks == 0 && ret->rejected == 0)
                        ret->whole_bytes = size;
                if (!body) {
                        double factor = (double)TTRPC_MAX / (double)size;

                        ret->rejected++;
                        if (pods_per + ctrs_per <= 8) {
                                snprintf(ret->why, sizeof(ret->why),
                                         "failed to synchronize plugin with split messages");
                                break;
                        }
                        if (factor > 0.9)
                                factor = 0.9;
                        pods_per = (size_t)((double)pods_per * factor);
                        ctrs_per = (size_t)((double)ctrs_per * factor);
                        if (pods_per + ctrs_per < 8)
                                pods_per = ctrs_per = 4;
                        if (pods_per > n_pods - pod_off)
                                pods_per = n_pods - pod_off;
                        if (ctrs_per > n_containers - ctr_off)
                                ctrs_per = n_containers - ctr_off;
                        continue;
                }
                ret->chunks++;
                if (size > ret->largest_chunk)
                        ret->largest_chunk = size;
                reply_clear(r);
                call_body(rt, next_stream(rt), body, size, rt->split, r);
                free(body);
                if (!reply_ok(r)) {
                        snprintf(ret->why, sizeof(ret->why), "chunk %u: %s", ret->chunks, describe(r));
                        break;
                }
                response = nri__synchronize_response__unpack(NULL, r->len, payload_of(r));
                if (!response) {
                        snprintf(ret->why, sizeof(ret->why), "chunk %u: malformed SynchronizeResponse", ret->chunks);
                        break;
                }
                if (!request.more) {
                        take_updates(response->update, response->n_update, &ret->updates);
                        ok = !response->more;
                        if (!ok)
                                snprintf(ret->why, sizeof(ret->why), "the last chunk was answered more=true");
                        done = true;
                } else if (response->n_update > 0 || !response->more) {
                        snprintf(ret->why, sizeof(ret->why),
                                 "plugin does not handle split sync requests (chunk %u: more=%d, %zu updates)",
                                 ret->chunks, response->more, response->n_update);
                        done = true;
                } else {
                        ret->echoes++;
                        pod_off += pods_per;
                        ctr_off += ctrs_per;
                        if (pods_per > n_pods - pod_off)
                                pods_per = n_pods - pod_off;
                        if (ctrs_per > n_containers - ctr_off)
                                ctrs_per = n_containers - ctr_off;
                }
                nri__synchronize_response__free_unpacked(response, NULL);
        }
        rt->deadline_ns = 0;
        ret->ns = now_ns() - start;
        return ok;
}

bool runtime_synchronize_specs(struct runtime *rt, const struct spec *specs, size_t n, struct sync_result *ret)
{
        Nri__PodSandbox **pods;
        Nri__Container **containers;
        struct arena a = {};
        size_t n_pods;
        bool ok;

        build_state(&a, specs, n, &pods, &n_pods, &containers);
        ok = runtime_synchronize(rt, pods, n_pods, containers, n, ret);
        arena_free(&a);
        return ok;
}

/* What follows a connection: registration, Configure, Synchronize. Failures are reported. */
bool runtime_handshake(struct runtime *rt, const struct spec *specs, size_t n)
{
        struct sync_result sync;
        struct reply reply = {};
        bool ok;
        int r;

        r = runtime_await_registration(rt);
        if (!require(r == 0, "the plugin registers", "%s",
                     r == -ETIMEDOUT ? "no RegisterPlugin within 5 s"
                     : r == -EPERM   ? rt->register_error
                                     : "the connection closed"))
                return false;
        r = runtime_configure(rt, &reply);
        ok = require(r == 0, "Configure is answered", "%s",
                     r == -EPROTO ? "malformed ConfigureResponse" : describe(&reply));
        reply_clear(&reply);
        if (!ok)
                return false;
        if (!require(!(rt->events & ~rt->valid_events), "the event mask is one the runtime accepts",
                     "invalid plugin events: 0x%x", rt->events & ~rt->valid_events))
                return false;
        runtime_synchronize_specs(rt, specs, n, &sync);
        reply_clear(&sync.last);
        return require(!sync.why[0], "Synchronize is answered", "%s", sync.why);
}
