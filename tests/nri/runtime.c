// SPDX-License-Identifier: MIT
/* nri-runtime: the runtime's side of NRI, as containerd and CRI-O speak it,
 * written apart from nri/ so that each checks the other. It listens on a
 * socket (or starts the plugin on a socketpair, as a pre-installed plugin),
 * waits for RegisterPlugin, configures, synchronizes and sends container
 * events, and reports "ok - " / "not ok - " lines. `serve` takes commands on
 * stdin for the shell tests; `bench` measures round trips. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nri.pb-c.h"
#include "ttrpc.pb-c.h"

#define PLUGIN_SERVICE  "nri.pkg.api.v1alpha1.Plugin"
#define RUNTIME_SERVICE "nri.pkg.api.v1alpha1.Runtime"
#define REQUEST_MS      2000 /* the runtimes' default request timeout */
#define REGISTER_MS     5000 /* and registration timeout */
#define TTRPC_MAX       (4u << 20)
#define MAX_ANNOTATIONS 16

static const char *plugin_path = "build/numapin-nri";
static const char *dir;          /* the test's folder: socket, state, log */
static const char *sysfs_root;   /* for the plugin */
static const char *cgroup_root;  /* for the plugin */
static const char *nri_version;  /* what the runtime says in Configure; NULL: before v0.12 */
static const char *plugin_config; /* the plugin's --config, NULL: none */
static int failures;
static int last_events; /* the plugin's ConfigureResponse.events */

static void report(bool ok, const char *fmt, ...)
{
        va_list ap;

        printf(ok ? "ok - " : "not ok - ");
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        fflush(stdout);
        if (!ok)
                failures++;
}

static uint64_t now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void be32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

static uint32_t rd32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- the connection: multiplexer frames, ttrpc messages ---- */

struct conn {
        int fd;
        int listen_fd;
        pid_t pid;
        uint32_t next_call; /* our stream ids on connection 1 */
        uint8_t *stream[3]; /* bytes received per logical connection */
        size_t stream_len[3];
        uint8_t frame_header[8];
        size_t header_len;
        uint32_t frame_conn;
        size_t frame_left;
        char name[80];      /* the plugin's registration */
        char idx[8];
};

struct msg {
        uint32_t conn;
        uint32_t stream;
        uint8_t type;
        uint8_t *body;
        size_t len;
};

static int write_all(int fd, const void *buf, size_t len)
{
        const uint8_t *p = buf;

        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -1;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

static int send_frame(struct conn *c, uint32_t conn_id, const void *data, size_t len)
{
        uint8_t header[8];

        be32(header, conn_id);
        be32(header + 4, (uint32_t)len);
        if (write_all(c->fd, header, 8) < 0)
                return -1;
        return len ? write_all(c->fd, data, len) : 0;
}

/* One ttrpc message as Go writes it: header and up to 4086 bytes in the first
 * frame, the rest in a second. `split` cuts the first frame after that many
 * bytes instead (still within 4096), to test reassembly. */
static int send_msg(struct conn *c, uint32_t conn_id, uint32_t stream, uint8_t type, const uint8_t *body, size_t len,
                    size_t split)
{
        size_t first = len < 4086 ? len : 4086;
        uint8_t *buf;
        int r;

        if (split && split < first)
                first = split;
        buf = malloc(10 + first);
        if (!buf)
                return -1;
        be32(buf, (uint32_t)len);
        be32(buf + 4, stream);
        buf[8] = type;
        buf[9] = 0;
        memcpy(buf + 10, body, first);
        r = send_frame(c, conn_id, buf, 10 + first);
        free(buf);
        if (r == 0 && len > first)
                r = send_frame(c, conn_id, body + first, len - first);
        return r;
}

/* Reads until one whole ttrpc message is there, or `timeout_ms` passes. */
static int recv_msg(struct conn *c, int timeout_ms, struct msg *m)
{
        uint64_t deadline = now_us() + (uint64_t)timeout_ms * 1000;

        for (;;) {
                for (uint32_t id = 1; id <= 2; id++) {
                        if (c->stream_len[id] >= 10) {
                                size_t need = 10 + rd32(c->stream[id]);
                                if (c->stream_len[id] >= need) {
                                        m->conn = id;
                                        m->stream = rd32(c->stream[id] + 4);
                                        m->type = c->stream[id][8];
                                        m->len = need - 10;
                                        m->body = malloc(m->len ? m->len : 1);
                                        memcpy(m->body, c->stream[id] + 10, m->len);
                                        memmove(c->stream[id], c->stream[id] + need, c->stream_len[id] - need);
                                        c->stream_len[id] -= need;
                                        return 0;
                                }
                        }
                }
                int64_t left = (int64_t)(deadline - now_us()) / 1000;
                struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
                uint8_t buf[65536];
                ssize_t n;

                if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
                        return -ETIMEDOUT;
                n = read(c->fd, buf, sizeof(buf));
                if (n <= 0)
                        return -ECONNRESET;
                for (size_t i = 0; i < (size_t)n;) {
                        if (c->header_len < 8) {
                                c->frame_header[c->header_len++] = buf[i++];
                                if (c->header_len == 8) {
                                        c->frame_conn = rd32(c->frame_header);
                                        c->frame_left = rd32(c->frame_header + 4);
                                        if (c->frame_conn < 1 || c->frame_conn > 2 ||
                                            c->frame_left > TTRPC_MAX + 10) {
                                                report(false, "the plugin sent a frame for connection %u of %zu bytes",
                                                       c->frame_conn, c->frame_left);
                                                return -EPROTO;
                                        }
                                        if (c->frame_left == 0)
                                                c->header_len = 0;
                                }
                                continue;
                        }
                        size_t take = (size_t)n - i < c->frame_left ? (size_t)n - i : c->frame_left;
                        uint8_t *grown = realloc(c->stream[c->frame_conn], c->stream_len[c->frame_conn] + take);
                        if (!grown)
                                return -ENOMEM;
                        c->stream[c->frame_conn] = grown;
                        memcpy(grown + c->stream_len[c->frame_conn], buf + i, take);
                        c->stream_len[c->frame_conn] += take;
                        c->frame_left -= take;
                        i += take;
                        if (c->frame_left == 0)
                                c->header_len = 0;
                }
        }
}

static void msg_free(struct msg *m)
{
        free(m->body);
        m->body = NULL;
}

static int pack(const ProtobufCMessage *message, uint8_t **ret_buf, size_t *ret_len)
{
        size_t len = protobuf_c_message_get_packed_size(message);
        uint8_t *buf = malloc(len ? len : 1);

        if (!buf)
                return -ENOMEM;
        *ret_len = protobuf_c_message_pack(message, buf);
        *ret_buf = buf;
        return 0;
}

/* Answers a call of the plugin on connection 2 (RegisterPlugin, UpdateContainers). */
static void answer_plugin_call(struct conn *c, const struct msg *m)
{
        Ttrpc__Response response = TTRPC__RESPONSE__INIT;
        Ttrpc__Request *request = ttrpc__request__unpack(NULL, m->len, m->body);
        uint8_t *buf;
        size_t len;

        if (request && strcmp(request->method, "RegisterPlugin") == 0) {
                Nri__RegisterPluginRequest *reg =
                        nri__register_plugin_request__unpack(NULL, request->payload.len, request->payload.data);
                if (reg) {
                        snprintf(c->name, sizeof(c->name), "%s", reg->plugin_name);
                        snprintf(c->idx, sizeof(c->idx), "%s", reg->plugin_idx);
                        nri__register_plugin_request__free_unpacked(reg, NULL);
                }
        }
        if (request)
                ttrpc__request__free_unpacked(request, NULL);
        if (pack(&response.base, &buf, &len) == 0) {
                send_msg(c, 2, m->stream, 2, buf, len, 0);
                free(buf);
        }
}

struct reply {
        int code; /* gRPC status, -1 when no answer came */
        char message[4096];
        uint8_t *payload;
        size_t len;
        uint64_t us; /* round trip */
};

static void reply_free(struct reply *r)
{
        free(r->payload);
        r->payload = NULL;
}

/* Waits for the answer to our call `stream`, serving the plugin's calls meanwhile. */
static int await_reply(struct conn *c, uint32_t stream, uint64_t start, struct reply *ret)
{
        *ret = (struct reply){ .code = -1 };
        for (;;) {
                struct msg m;
                int64_t left = REQUEST_MS - (int64_t)(now_us() - start) / 1000;

                if (left <= 0 || recv_msg(c, (int)left, &m) < 0)
                        return -ETIMEDOUT;
                if (m.conn == 2 && m.type == 1) {
                        answer_plugin_call(c, &m);
                } else if (m.conn == 1 && m.type == 2 && m.stream == stream) {
                        Ttrpc__Response *response = ttrpc__response__unpack(NULL, m.len, m.body);
                        msg_free(&m);
                        if (!response)
                                return -EPROTO;
                        ret->us = now_us() - start;
                        ret->code = response->status ? response->status->code : 0;
                        if (response->status)
                                snprintf(ret->message, sizeof(ret->message), "%s", response->status->message);
                        ret->len = response->payload.len;
                        ret->payload = malloc(ret->len ? ret->len : 1);
                        memcpy(ret->payload, response->payload.data, ret->len);
                        ttrpc__response__free_unpacked(response, NULL);
                        return 0;
                }
                msg_free(&m);
        }
}

static int call_raw(struct conn *c, const char *service, const char *method, const uint8_t *payload, size_t len,
                    struct reply *ret)
{
        Ttrpc__Request request = TTRPC__REQUEST__INIT;
        uint32_t stream = c->next_call;
        uint64_t start = now_us();
        uint8_t *buf;
        size_t buf_len;
        int r;

        c->next_call += 2;
        request.service = (char *)service;
        request.method = (char *)method;
        request.payload = (ProtobufCBinaryData){ .len = len, .data = (uint8_t *)payload };
        request.timeout_nano = (int64_t)REQUEST_MS * 1000000;
        if (pack(&request.base, &buf, &buf_len) < 0)
                return -ENOMEM;
        r = send_msg(c, 1, stream, 1, buf, buf_len, 0);
        free(buf);
        if (r < 0)
                return -EPIPE;
        return await_reply(c, stream, start, ret);
}

static int call(struct conn *c, const char *method, const ProtobufCMessage *message, struct reply *ret)
{
        uint8_t *buf;
        size_t len;
        int r;

        if (pack(message, &buf, &len) < 0)
                return -ENOMEM;
        r = call_raw(c, PLUGIN_SERVICE, method, buf, len, ret);
        free(buf);
        return r;
}

/* ---- starting the plugin ---- */

static void exec_plugin(const char *socket_path)
{
        char state[512], log_path[512];
        int log;

        snprintf(state, sizeof(state), "%s/state", dir);
        snprintf(log_path, sizeof(log_path), "%s/plugin.log", dir);
        log = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (log >= 0) {
                dup2(log, STDERR_FILENO);
                close(log);
        }
        if (socket_path && plugin_config)
                execl(plugin_path, plugin_path, "--socket", socket_path, "--state-dir", state, "--sysfs-root",
                      sysfs_root, "--cgroup-root", cgroup_root, "--config", plugin_config, (char *)NULL);
        else if (socket_path)
                execl(plugin_path, plugin_path, "--socket", socket_path, "--state-dir", state, "--sysfs-root",
                      sysfs_root, "--cgroup-root", cgroup_root, (char *)NULL);
        else {
                /* pre-installed: the runtime's environment holds only these three; the
                 * arguments point the plugin at the test's fixtures */
                char *env[] = { "NRI_PLUGIN_NAME=numapin-pre", "NRI_PLUGIN_IDX=42", "NRI_PLUGIN_SOCKET=3", NULL };
                char *argv[] = { (char *)plugin_path, "--state-dir", state, "--sysfs-root", (char *)sysfs_root,
                                 "--cgroup-root", (char *)cgroup_root, NULL };
                execve(plugin_path, argv, env);
        }
        _exit(127);
}

static int listen_on(const char *path)
{
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
        unlink(path);
        if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 4) < 0) {
                perror("listen");
                exit(2);
        }
        return fd;
}

static int accept_within(int listen_fd, int timeout_ms)
{
        struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };

        if (poll(&pfd, 1, timeout_ms) <= 0)
                return -1;
        return accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
}

static void conn_reset(struct conn *c, int fd)
{
        for (int i = 0; i < 3; i++) {
                free(c->stream[i]);
                c->stream[i] = NULL;
                c->stream_len[i] = 0;
        }
        c->fd = fd;
        c->header_len = 0;
        c->next_call = 1;
        c->name[0] = c->idx[0] = '\0';
}

/* Waits for RegisterPlugin; with `configure_first` sends Configure before
 * answering it, as a runtime may. */
static bool registration(struct conn *c, bool configure_first, struct reply *configure_reply);

static Nri__ConfigureRequest configure_request(void)
{
        Nri__ConfigureRequest request = NRI__CONFIGURE_REQUEST__INIT;

        request.runtime_name = nri_version ? "containerd" : "containerd";
        request.runtime_version = nri_version ? "2.4.0" : "1.7.30";
        request.registration_timeout = REGISTER_MS;
        request.request_timeout = REQUEST_MS;
        request.nri_version = (char *)(nri_version ? nri_version : "");
        return request;
}

static bool registration(struct conn *c, bool configure_first, struct reply *configure_reply)
{
        uint64_t start = now_us();
        struct msg m;

        for (;;) {
                int64_t left = REGISTER_MS - (int64_t)(now_us() - start) / 1000;
                if (left <= 0 || recv_msg(c, (int)left, &m) < 0)
                        return false;
                if (m.conn == 2 && m.type == 1)
                        break;
                msg_free(&m);
        }
        if (configure_first) {
                /* Configure goes out before the plugin has its RegisterPlugin answer */
                Nri__ConfigureRequest request = configure_request();
                Ttrpc__Request envelope = TTRPC__REQUEST__INIT;
                uint8_t *payload, *buf;
                size_t payload_len, len;
                uint32_t stream = c->next_call;

                c->next_call += 2;
                pack(&request.base, &payload, &payload_len);
                envelope.service = PLUGIN_SERVICE;
                envelope.method = "Configure";
                envelope.payload = (ProtobufCBinaryData){ .len = payload_len, .data = payload };
                pack(&envelope.base, &buf, &len);
                send_msg(c, 1, stream, 1, buf, len, 0);
                free(buf);
                free(payload);
                answer_plugin_call(c, &m);
                msg_free(&m);
                return await_reply(c, stream, now_us(), configure_reply) == 0;
        }
        answer_plugin_call(c, &m);
        msg_free(&m);
        return true;
}

static int configure(struct conn *c, struct reply *ret)
{
        Nri__ConfigureRequest request = configure_request();

        return call(c, "Configure", &request.base, ret);
}

static bool synchronize_empty(struct conn *c)
{
        Nri__SynchronizeRequest request = NRI__SYNCHRONIZE_REQUEST__INIT;
        struct reply r;
        bool ok = call(c, "Synchronize", &request.base, &r) == 0 && r.code == 0;

        reply_free(&r);
        return ok;
}

static void take_events(const struct reply *r)
{
        Nri__ConfigureResponse *response = nri__configure_response__unpack(NULL, r->len, r->payload);

        last_events = response ? response->events : -1;
        if (response)
                nri__configure_response__free_unpacked(response, NULL);
}

/* Starts the plugin as an external one and brings it to the point where
 * container events flow: registered, configured, synchronized. */
static bool start_external(struct conn *c)
{
        char socket_path[256];
        struct reply r;
        int fd;

        snprintf(socket_path, sizeof(socket_path), "%s/nri.sock", dir);
        *c = (struct conn){ .fd = -1 };
        c->listen_fd = listen_on(socket_path);
        c->pid = fork();
        if (c->pid == 0)
                exec_plugin(socket_path);
        fd = accept_within(c->listen_fd, REGISTER_MS);
        if (fd < 0)
                return false;
        conn_reset(c, fd);
        if (!registration(c, false, NULL))
                return false;
        if (configure(c, &r) < 0 || r.code != 0) {
                fprintf(stderr, "Configure: %d %s\n", r.code, r.message);
                reply_free(&r);
                return false;
        }
        take_events(&r);
        reply_free(&r);
        return synchronize_empty(c);
}

static void stop_plugin(struct conn *c)
{
        int status;

        if (c->pid > 0) {
                kill(c->pid, SIGTERM);
                waitpid(c->pid, &status, 0);
        }
        if (c->fd >= 0)
                close(c->fd);
        if (c->listen_fd >= 0)
                close(c->listen_fd);
        conn_reset(c, -1);
}

static bool plugin_alive(struct conn *c)
{
        int status;

        return c->pid > 0 && waitpid(c->pid, &status, WNOHANG) == 0;
}

/* ---- building pods and containers ---- */

struct spec {
        const char *id;
        const char *pod_id;
        const char *name;
        const char *pod_annotations[MAX_ANNOTATIONS]; /* "key=value" */
        const char *annotations[MAX_ANNOTATIONS];
        int64_t cpu_quota;   /* 0: none */
        uint64_t cpu_period; /* 0: none */
        int64_t memory_limit;
        const char *cpus;
        const char *mems;
        uint32_t pid;
};

struct built {
        Nri__PodSandbox pod;
        Nri__Container container;
        Nri__LinuxContainer linux;
        Nri__LinuxResources resources;
        Nri__LinuxCPU cpu;
        Nri__LinuxMemory memory;
        Nri__OptionalInt64 quota, limit;
        Nri__OptionalUInt64 period;
        Nri__PodSandbox__AnnotationsEntry pod_entries[MAX_ANNOTATIONS], *pod_list[MAX_ANNOTATIONS];
        Nri__Container__AnnotationsEntry entries[MAX_ANNOTATIONS], *list[MAX_ANNOTATIONS];
        char text[2][MAX_ANNOTATIONS][512];
};

static void split_kv(char *text, const char *kv, char **ret_key, char **ret_value)
{
        char *eq;

        snprintf(text, 512, "%s", kv);
        eq = strchr(text, '=');
        *ret_key = text;
        *ret_value = eq ? (*eq = '\0', eq + 1) : (char *)"";
}

static void build(const struct spec *s, struct built *b)
{
        memset(b, 0, sizeof(*b));
        b->pod = (Nri__PodSandbox)NRI__POD_SANDBOX__INIT;
        b->container = (Nri__Container)NRI__CONTAINER__INIT;
        b->linux = (Nri__LinuxContainer)NRI__LINUX_CONTAINER__INIT;
        b->resources = (Nri__LinuxResources)NRI__LINUX_RESOURCES__INIT;
        b->cpu = (Nri__LinuxCPU)NRI__LINUX_CPU__INIT;
        b->memory = (Nri__LinuxMemory)NRI__LINUX_MEMORY__INIT;
        b->quota = (Nri__OptionalInt64)NRI__OPTIONAL_INT64__INIT;
        b->limit = (Nri__OptionalInt64)NRI__OPTIONAL_INT64__INIT;
        b->period = (Nri__OptionalUInt64)NRI__OPTIONAL_UINT64__INIT;

        b->pod.id = (char *)(s->pod_id ? s->pod_id : "pod");
        b->pod.name = b->pod.id;
        b->pod.namespace_ = "default";
        for (size_t i = 0; i < MAX_ANNOTATIONS && s->pod_annotations[i]; i++) {
                b->pod_entries[i] = (Nri__PodSandbox__AnnotationsEntry)NRI__POD_SANDBOX__ANNOTATIONS_ENTRY__INIT;
                split_kv(b->text[0][i], s->pod_annotations[i], &b->pod_entries[i].key, &b->pod_entries[i].value);
                b->pod_list[i] = &b->pod_entries[i];
                b->pod.n_annotations = i + 1;
        }
        b->pod.annotations = b->pod_list;
        for (size_t i = 0; i < MAX_ANNOTATIONS && s->annotations[i]; i++) {
                b->entries[i] = (Nri__Container__AnnotationsEntry)NRI__CONTAINER__ANNOTATIONS_ENTRY__INIT;
                split_kv(b->text[1][i], s->annotations[i], &b->entries[i].key, &b->entries[i].value);
                b->list[i] = &b->entries[i];
                b->container.n_annotations = i + 1;
        }
        b->container.annotations = b->list;
        b->container.id = (char *)s->id;
        b->container.pod_sandbox_id = b->pod.id;
        b->container.name = (char *)(s->name ? s->name : "app");
        b->container.pid = s->pid;
        if (s->cpu_quota) {
                b->quota.value = s->cpu_quota;
                b->cpu.quota = &b->quota;
        }
        if (s->cpu_period) {
                b->period.value = s->cpu_period;
                b->cpu.period = &b->period;
        }
        b->cpu.cpus = (char *)(s->cpus ? s->cpus : "");
        b->cpu.mems = (char *)(s->mems ? s->mems : "");
        if (s->memory_limit) {
                b->limit.value = s->memory_limit;
                b->memory.limit = &b->limit;
        }
        b->resources.cpu = &b->cpu;
        b->resources.memory = &b->memory;
        b->linux.resources = &b->resources;
        b->container.linux = &b->linux;
}

/* CreateContainer; the adjustment's cpus/mems/memory policy in ret_*. */
struct adjusted {
        char cpus[256];
        char mems[256];
        int mpol_mode; /* -1: none */
        char mpol_nodes[64];
        size_t n_updates;
        char update_id[64];
        char update_cpus[256];
};

static int create(struct conn *c, const struct spec *s, struct reply *r, struct adjusted *a)
{
        Nri__CreateContainerRequest request = NRI__CREATE_CONTAINER_REQUEST__INIT;
        Nri__CreateContainerResponse *response;
        struct built *b = malloc(sizeof(*b));
        int ret;

        build(s, b);
        request.pod = &b->pod;
        request.container = &b->container;
        ret = call(c, "CreateContainer", &request.base, r);
        free(b);
        *a = (struct adjusted){ .mpol_mode = -1 };
        if (ret < 0 || r->code != 0)
                return ret;
        response = nri__create_container_response__unpack(NULL, r->len, r->payload);
        if (!response)
                return -EPROTO;
        if (response->adjust && response->adjust->linux && response->adjust->linux->resources &&
            response->adjust->linux->resources->cpu) {
                snprintf(a->cpus, sizeof(a->cpus), "%s", response->adjust->linux->resources->cpu->cpus);
                snprintf(a->mems, sizeof(a->mems), "%s", response->adjust->linux->resources->cpu->mems);
        }
        if (response->adjust && response->adjust->linux && response->adjust->linux->memory_policy) {
                a->mpol_mode = response->adjust->linux->memory_policy->mode;
                snprintf(a->mpol_nodes, sizeof(a->mpol_nodes), "%s", response->adjust->linux->memory_policy->nodes);
        }
        a->n_updates = response->n_update;
        if (response->n_update > 0) {
                Nri__ContainerUpdate *u = response->update[0];
                snprintf(a->update_id, sizeof(a->update_id), "%s", u->container_id);
                if (u->linux && u->linux->resources && u->linux->resources->cpu)
                        snprintf(a->update_cpus, sizeof(a->update_cpus), "%s", u->linux->resources->cpu->cpus);
        }
        nri__create_container_response__free_unpacked(response, NULL);
        return 0;
}

/* The container events that carry a pod and a container. */
static int container_call(struct conn *c, const char *method, const struct spec *s, struct reply *r)
{
        struct built *b = malloc(sizeof(*b));
        int ret;

        build(s, b);
        if (strcmp(method, "StateChange:5") == 0 || strcmp(method, "StateChange:11") == 0) {
                Nri__StateChangeEvent event = NRI__STATE_CHANGE_EVENT__INIT;
                event.event = method[12] == '5' ? NRI__EVENT__POST_CREATE_CONTAINER : NRI__EVENT__REMOVE_CONTAINER;
                event.pod = &b->pod;
                event.container = &b->container;
                ret = call(c, "StateChange", &event.base, r);
        } else {
                Nri__StopContainerRequest request = NRI__STOP_CONTAINER_REQUEST__INIT; /* same shape: pod, container */
                request.pod = &b->pod;
                request.container = &b->container;
                ret = call(c, method, &request.base, r);
        }
        free(b);
        return ret;
}

/* The ledger record's field, as the plugin wrote it ("" when there is none). */
static void ledger_field(const char *id, const char *field, char *buf, size_t size)
{
        char path[512], text[8192], key[64], *p;
        FILE *f;
        size_t n;

        buf[0] = '\0';
        snprintf(path, sizeof(path), "%s/state/containers/%s.json", dir, id);
        f = fopen(path, "r");
        if (!f)
                return;
        n = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
        text[n] = '\0';
        snprintf(key, sizeof(key), "\"%s\": \"", field);
        p = strstr(text, key);
        if (p)
                snprintf(buf, size, "%.*s", (int)strcspn(p + strlen(key), "\""), p + strlen(key));
}

static bool has_record(const char *id)
{
        char policy[64];

        ledger_field(id, "policy", policy, sizeof(policy));
        return policy[0] != '\0';
}


/* ---- scenarios ---- */

#define SPEC(...) ((struct spec){ __VA_ARGS__ })
/* the condition first: report()'s other arguments may read what it fills */
#define CHECK(cond, ...)                                                                                               \
        do {                                                                                                           \
                bool ok_ = (cond);                                                                                     \
                report(ok_, __VA_ARGS__);                                                                              \
        } while (0)

static bool create_ok(struct conn *c, const struct spec *s, struct adjusted *a)
{
        struct reply r;
        int ret = create(c, s, &r, a);
        bool ok = ret == 0 && r.code == 0;

        if (!ok)
                fprintf(stderr, "CreateContainer %s: %d, status %d %s\n", s->id, ret, r.code, r.message);
        reply_free(&r);
        return ok;
}

/* A create that must fail with `code` and a message holding `needle`. */
static void expect_refused(struct conn *c, const struct spec *s, int code, const char *needle, const char *what)
{
        struct adjusted a;
        struct reply r;
        int ret = create(c, s, &r, &a);

        CHECK(ret == 0 && r.code == code && strstr(r.message, needle) && !has_record(s->id),
               "%s: status %d naming '%s', no record (got %d: %s)", what, code, needle, r.code, r.message);
        reply_free(&r);
}

static int count_cpus(const char *list)
{
        int n = 0;

        for (const char *p = list; *p;) {
                char *end;
                long a = strtol(p, &end, 10), b = a;
                if (end == p)
                        break;
                if (*end == '-')
                        b = strtol(end + 1, &end, 10);
                n += (int)(b - a + 1);
                p = *end == ',' ? end + 1 : end;
        }
        return n;
}

static void scenario_protocol(void)
{
        struct conn c;
        struct adjusted a, b;
        struct reply r;
        char field[256];
        bool started = start_external(&c);

        CHECK(started, "the external plugin connects, registers, is configured and synchronized");
        if (!started)
                return;
        CHECK(strcmp(c.name, "numapin") == 0 && strcmp(c.idx, "90") == 0,
               "RegisterPlugin names numapin, index 90 (got '%s' '%s')", c.name, c.idx);
        CHECK(last_events > 0 && (last_events & ~0x7FF) == 0 && (last_events & 0x8) && (last_events & 0x200),
               "Configure subscribes CreateContainer and StopContainer within 0x7FF, valid for NRI before v0.10 (0x%x)",
               last_events);

        /* pod-scoped */
        CHECK(create_ok(&c, &SPEC(.id = "bind1", .pod_annotations = { "policy.numapin.io/pod=bind" }), &a) &&
                       a.cpus[0] && strcmp(a.mems, "0") == 0 && count_cpus(a.cpus) == 16,
               "pod-scoped bind: the adjustment holds node 0's 16 CPUs and mems 0 (cpus '%s' mems '%s')", a.cpus,
               a.mems);
        ledger_field("bind1", "source", field, sizeof(field));
        CHECK(strcmp(field, "nri") == 0, "the ledger holds the placement, source nri (got '%s')", field);
        ledger_field("bind1", "cpus", field, sizeof(field));
        CHECK(strcmp(field, a.cpus) == 0, "the ledger's cpus equal the adjustment's ('%s')", field);

        /* container-scoped wins over pod-scoped */
        CHECK(create_ok(&c,
                         &SPEC(.id = "side1", .name = "side",
                               .pod_annotations = { "policy.numapin.io/pod=bind",
                                                    "policy.numapin.io/container.side=cpus-only",
                                                    "nodes.numapin.io/pod=1" }),
                         &a) &&
                       count_cpus(a.cpus) == 16 && a.mems[0] == '\0',
               "container-scoped cpus-only wins: node 1's CPUs, memory left alone (cpus '%s' mems '%s')", a.cpus,
               a.mems);

        /* exclusive CPUs move a shared container: an update for it */
        CHECK(create_ok(&c,
                         &SPEC(.id = "excl1",
                               .pod_annotations = { "policy.numapin.io/pod=bind", "nodes.numapin.io/pod=0",
                                                    "cpus.numapin.io/pod=2" }),
                         &b) &&
                       count_cpus(b.cpus) == 2 && b.n_updates == 1 && strcmp(b.update_id, "bind1") == 0 &&
                       count_cpus(b.update_cpus) == 14,
               "2 exclusive CPUs on node 0 (%s): the shared container bind1 is updated to the other 14 (%zu updates, "
               "'%s' '%s')",
               b.cpus, b.n_updates, b.update_id, b.update_cpus);

        /* UpdateContainer keeps the cpuset */
        {
                Nri__UpdateContainerRequest request = NRI__UPDATE_CONTAINER_REQUEST__INIT;
                Nri__LinuxResources wanted = NRI__LINUX_RESOURCES__INIT;
                Nri__LinuxCPU cpu = NRI__LINUX_CPU__INIT;
                struct built *bl = malloc(sizeof(*bl));
                Nri__UpdateContainerResponse *response = NULL;

                build(&SPEC(.id = "excl1"), bl);
                cpu.cpus = "0-31";
                wanted.cpu = &cpu;
                request.pod = &bl->pod;
                request.container = &bl->container;
                request.linux_resources = &wanted;
                if (call(&c, "UpdateContainer", &request.base, &r) == 0 && r.code == 0)
                        response = nri__update_container_response__unpack(NULL, r.len, r.payload);
                CHECK(response && response->n_update == 1 &&
                               strcmp(response->update[0]->container_id, "excl1") == 0 &&
                               response->update[0]->linux && response->update[0]->linux->resources &&
                               strcmp(response->update[0]->linux->resources->cpu->cpus, b.cpus) == 0,
                       "UpdateContainer asking for CPUs 0-31 gets numapin's cpuset %s back", b.cpus);
                if (response)
                        nri__update_container_response__free_unpacked(response, NULL);
                reply_free(&r);
                free(bl);
        }

        /* StopContainer releases, and the shared container gets the CPUs back */
        {
                Nri__StopContainerResponse *response = NULL;

                if (container_call(&c, "StopContainer", &SPEC(.id = "excl1"), &r) == 0 && r.code == 0)
                        response = nri__stop_container_response__unpack(NULL, r.len, r.payload);
                CHECK(response && !has_record("excl1") && response->n_update == 1 &&
                               strcmp(response->update[0]->container_id, "bind1") == 0 &&
                               count_cpus(response->update[0]->linux->resources->cpu->cpus) == 16,
                       "StopContainer releases excl1 and gives bind1 its 16 CPUs back");
                if (response)
                        nri__stop_container_response__free_unpacked(response, NULL);
                reply_free(&r);
        }

        /* the events without replies: dedicated and through StateChange */
        CHECK(container_call(&c, "StateChange:5", &SPEC(.id = "bind1"), &r) == 0 && r.code == 0 &&
                       has_record("bind1"),
               "PostCreateContainer through StateChange is answered, the record stays");
        reply_free(&r);
        CHECK(container_call(&c, "PostCreateContainer", &SPEC(.id = "side1"), &r) == 0 && r.code == 0,
               "PostCreateContainer (NRI v0.12) is answered");
        reply_free(&r);
        CHECK(container_call(&c, "StateChange:11", &SPEC(.id = "bind1"), &r) == 0 && r.code == 0 &&
                       !has_record("bind1"),
               "RemoveContainer through StateChange releases the allocation");
        reply_free(&r);
        CHECK(container_call(&c, "RemoveContainer", &SPEC(.id = "side1"), &r) == 0 && r.code == 0 &&
                       !has_record("side1"),
               "RemoveContainer (NRI v0.12) releases the allocation");
        reply_free(&r);
        CHECK(create_ok(&c, &SPEC(.id = "plain"), &a) && a.cpus[0] == '\0' && !has_record("plain"),
               "an unannotated container gets no adjustment and no record");

        /* refusals come back as a status with numapin's one line */
        expect_refused(&c, &SPEC(.id = "bad1", .pod_annotations = { "policy.numapin.io/pod=fast" }), 2,
                       "policy.numapin.io/pod", "a bad policy");
        expect_refused(&c,
                       &SPEC(.id = "bad2",
                             .pod_annotations = { "policy.numapin.io/pod=bind", "nodes.numapin.io/pod=9" }),
                       2, "node 9 does not exist", "a node the machine lacks");
        expect_refused(&c, &SPEC(.id = "bad3", .pod_annotations = { "policy.numapin.io/pod=preferred" }), 2,
                       "memory policy", "preferred against a runtime before NRI v0.12");
        expect_refused(&c, &SPEC(.id = "bad id!", .pod_annotations = { "policy.numapin.io/pod=bind" }), 3,
                       "container id", "an invalid container id");
        CHECK(call_raw(&c, PLUGIN_SERVICE, "Frobnicate", NULL, 0, &r) == 0 && r.code == 12 &&
                       strstr(r.message, "Frobnicate"),
               "an unknown method: UNIMPLEMENTED naming it (%d %s)", r.code, r.message);
        reply_free(&r);
        CHECK(call_raw(&c, "nri.pkg.api.v1alpha1.Other", "Configure", NULL, 0, &r) == 0 && r.code == 12,
               "an unknown service: UNIMPLEMENTED (%d %s)", r.code, r.message);
        reply_free(&r);
        CHECK(call_raw(&c, PLUGIN_SERVICE, "CreateContainer", (const uint8_t *)"\xff\xff\xff", 3, &r) == 0 &&
                       r.code == 3,
               "a malformed CreateContainerRequest: INVALID_ARGUMENT (%d %s)", r.code, r.message);
        reply_free(&r);
        CHECK(plugin_alive(&c), "the plugin is still running");
        stop_plugin(&c);
}

static void scenario_memory_policy(void)
{
        struct conn c;
        struct adjusted a;

        nri_version = "v0.12.2";
        if (!start_external(&c)) {
                CHECK(false, "the plugin starts against an NRI v0.12 runtime");
                return;
        }
        CHECK(create_ok(&c,
                         &SPEC(.id = "pref",
                               .pod_annotations = { "policy.numapin.io/pod=preferred", "nodes.numapin.io/pod=1" }),
                         &a) &&
                       a.mpol_mode == NRI__MPOL_MODE__MPOL_PREFERRED && strcmp(a.mpol_nodes, "1") == 0 &&
                       a.mems[0] == '\0' && count_cpus(a.cpus) == 16,
               "preferred on node 1: memory policy PREFERRED over node 1, node 1's CPUs, mems left open (mode %d "
               "nodes '%s')",
               a.mpol_mode, a.mpol_nodes);
        CHECK(create_ok(&c,
                         &SPEC(.id = "inter",
                               .pod_annotations = { "policy.numapin.io/pod=interleave", "nodes.numapin.io/pod=0-1" }),
                         &a) &&
                       a.mpol_mode == NRI__MPOL_MODE__MPOL_INTERLEAVE && strcmp(a.mpol_nodes, "0-1") == 0,
               "interleave over 0-1: memory policy INTERLEAVE over nodes 0-1 (mode %d nodes '%s')", a.mpol_mode,
               a.mpol_nodes);
        CHECK(create_ok(&c, &SPEC(.id = "bind", .pod_annotations = { "policy.numapin.io/pod=bind" }), &a) &&
                       a.mpol_mode == -1 && a.mems[0],
               "bind sets mems and no memory policy");
        stop_plugin(&c);
        nri_version = NULL;
}

static void scenario_configure_first(void)
{
        char socket_path[256];
        struct conn c = { .fd = -1 };
        struct reply r = { .code = -1 };
        struct adjusted a;
        int fd;

        snprintf(socket_path, sizeof(socket_path), "%s/nri.sock", dir);
        c.listen_fd = listen_on(socket_path);
        c.pid = fork();
        if (c.pid == 0)
                exec_plugin(socket_path);
        fd = accept_within(c.listen_fd, REGISTER_MS);
        conn_reset(&c, fd);
        CHECK(fd >= 0 && registration(&c, true, &r) && r.code == 0,
               "Configure sent before the RegisterPlugin answer is served (status %d)", r.code);
        reply_free(&r);
        CHECK(synchronize_empty(&c) &&
                       create_ok(&c, &SPEC(.id = "cf1", .pod_annotations = { "policy.numapin.io/pod=bind" }), &a) &&
                       a.cpus[0],
               "then synchronize and create as usual");
        stop_plugin(&c);
}

/* Adds `n` containers (and their pods) to a Synchronize chunk. */
static Nri__SynchronizeRequest *sync_chunk(size_t first, size_t n, bool more)
{
        Nri__SynchronizeRequest *request = calloc(1, sizeof(*request));
        static char pad[200];

        memset(pad, 'x', sizeof(pad) - 1);
        *request = (Nri__SynchronizeRequest)NRI__SYNCHRONIZE_REQUEST__INIT;
        request->more = more;
        request->n_containers = n;
        request->containers = calloc(n, sizeof(*request->containers));
        for (size_t i = 0; i < n; i++) {
                Nri__Container *ctr = calloc(1, sizeof(*ctr));
                Nri__Container__AnnotationsEntry *entry = calloc(1, sizeof(*entry));
                char *id = malloc(32);

                *ctr = (Nri__Container)NRI__CONTAINER__INIT;
                *entry = (Nri__Container__AnnotationsEntry)NRI__CONTAINER__ANNOTATIONS_ENTRY__INIT;
                snprintf(id, 32, "sync%06zu", first + i);
                entry->key = "io.kubernetes.container.padding";
                entry->value = pad;
                ctr->id = id;
                ctr->pod_sandbox_id = "fillerpod"; /* a pod the runtime no longer lists */
                ctr->name = "filler";
                ctr->n_annotations = 1;
                ctr->annotations = calloc(1, sizeof(*ctr->annotations));
                ctr->annotations[0] = entry;
                request->containers[i] = ctr;
        }
        return request;
}

static void sync_chunk_free(Nri__SynchronizeRequest *request)
{
        for (size_t i = 0; i < request->n_containers; i++) {
                free(request->containers[i]->id);
                free(request->containers[i]->annotations[0]);
                free(request->containers[i]->annotations);
                free(request->containers[i]);
        }
        free(request->containers);
        free(request);
}

static void scenario_paged_sync(void)
{
        struct conn c;
        struct adjusted a;
        struct reply r;
        struct built *held = malloc(sizeof(*held));
        Nri__Container *listed[1];
        size_t total = 0, per_chunk = 8000, chunks = 3;
        bool echoes = true;

        if (!start_external(&c)) {
                CHECK(false, "the plugin starts");
                return;
        }
        /* a record the runtime will not list again: dropped at the next synchronize */
        create_ok(&c, &SPEC(.id = "gone1", .pod_annotations = { "policy.numapin.io/pod=bind" }), &a);
        /* a container created before the plugin, holding CPUs 0-1 exclusively */
        build(&SPEC(.id = "held1", .pod_id = "syncpod",
                    .pod_annotations = { "policy.numapin.io/pod=bind", "cpus.numapin.io/pod=2" }, .cpus = "0-1",
                    .mems = "0"),
              held);
        listed[0] = &held->container;

        for (size_t k = 0; k < chunks; k++) {
                Nri__SynchronizeRequest *chunk = sync_chunk(k * per_chunk, per_chunk, k + 1 < chunks);
                Nri__PodSandbox *pods[1] = { &held->pod };
                Nri__Container **fillers = chunk->containers;
                Nri__SynchronizeResponse *response = NULL;

                if (k + 1 == chunks) {
                        /* the last chunk carries the pod and the annotated container */
                        Nri__Container **all = calloc(chunk->n_containers + 1, sizeof(*all));
                        memcpy(all, fillers, chunk->n_containers * sizeof(*all));
                        all[chunk->n_containers] = listed[0];
                        chunk->containers = all;
                        chunk->n_containers++;
                        chunk->n_pods = 1;
                        chunk->pods = pods;
                }
                total += protobuf_c_message_get_packed_size(&chunk->base);
                if (call(&c, "Synchronize", &chunk->base, &r) == 0 && r.code == 0)
                        response = nri__synchronize_response__unpack(NULL, r.len, r.payload);
                if (!response || response->more != (k + 1 < chunks) || response->n_update != 0)
                        echoes = false;
                if (response)
                        nri__synchronize_response__free_unpacked(response, NULL);
                reply_free(&r);
                if (k + 1 == chunks) {
                        chunk->n_containers--;
                        free(chunk->containers);
                        chunk->containers = fillers;
                        chunk->n_pods = 0;
                        chunk->pods = NULL;
                }
                sync_chunk_free(chunk);
        }
        CHECK(echoes && total > TTRPC_MAX,
               "a Synchronize of %zu bytes in %zu chunks: more=true echoed with no updates, then answered", total,
               chunks);
        CHECK(has_record("held1") && !has_record("gone1"),
               "after it the ledger holds the listed container placed before the plugin, and not the unlisted one");
        CHECK(create_ok(&c,
                         &SPEC(.id = "new1",
                               .pod_annotations = { "policy.numapin.io/pod=bind", "nodes.numapin.io/pod=0",
                                                    "cpus.numapin.io/pod=2" }),
                         &a) &&
                       strstr(a.cpus, "0") != a.cpus && count_cpus(a.cpus) == 2,
               "a new exclusive container is placed around CPUs 0-1 that held1 holds (got '%s')", a.cpus);
        free(held);
        stop_plugin(&c);
}

static void scenario_reconnect(void)
{
        char socket_path[256];
        struct conn c;
        struct adjusted a;
        struct reply r;
        int fd;
        uint64_t start;

        snprintf(socket_path, sizeof(socket_path), "%s/nri.sock", dir);
        if (!start_external(&c)) {
                CHECK(false, "the plugin starts");
                return;
        }
        /* the runtime goes away: connection and socket */
        close(c.fd);
        close(c.listen_fd);
        unlink(socket_path);
        usleep(700 * 1000);
        CHECK(plugin_alive(&c), "the plugin keeps running while the runtime is gone");
        start = now_us();
        c.listen_fd = listen_on(socket_path);
        fd = accept_within(c.listen_fd, 5000);
        conn_reset(&c, fd);
        CHECK(fd >= 0 && registration(&c, false, NULL) && strcmp(c.name, "numapin") == 0,
               "it reconnects and registers again when the runtime is back (%.1f s)",
               (double)(now_us() - start) / 1e6);
        CHECK(configure(&c, &r) == 0 && r.code == 0 && synchronize_empty(&c) &&
                       create_ok(&c, &SPEC(.id = "again1", .pod_annotations = { "policy.numapin.io/pod=bind" }), &a) &&
                       a.cpus[0],
               "and serves the new runtime: configure, synchronize, create");
        reply_free(&r);
        stop_plugin(&c);
}

/* After hostile traffic the plugin must still answer a real create. */
static bool probe(struct conn *c, const char *id)
{
        struct adjusted a;

        return create_ok(c, &SPEC(.id = id, .pod_annotations = { "policy.numapin.io/pod=bind" }), &a) && a.cpus[0];
}

/* A raw ttrpc message on connection 1; returns the status the plugin answered. */
static int raw_request(struct conn *c, uint32_t stream, const uint8_t *body, size_t len)
{
        struct reply r;
        int code;

        if (send_msg(c, 1, stream, 1, body, len, 0) < 0 || await_reply(c, stream, now_us(), &r) < 0)
                return -1;
        code = r.code;
        reply_free(&r);
        return code;
}

/* Reconnects after the runtime broke the framing on purpose. */
static bool reconnect(struct conn *c)
{
        struct reply r;
        int fd;

        close(c->fd);
        fd = accept_within(c->listen_fd, 5000);
        conn_reset(c, fd);
        if (fd < 0 || !registration(c, false, NULL) || configure(c, &r) < 0 || r.code != 0)
                return false;
        reply_free(&r);
        return synchronize_empty(c);
}

static void scenario_hostile(void)
{
        struct conn c;
        uint8_t junk[64], *big;
        char id[32];
        int n = 0, code;

        if (!start_external(&c)) {
                CHECK(false, "the plugin starts");
                return;
        }
        memset(junk, 0xA5, sizeof(junk));
#define PROBE(what)                                                                                                    \
        do {                                                                                                           \
                snprintf(id, sizeof(id), "probe%d", ++n);                                                              \
                CHECK(plugin_alive(&c) && probe(&c, id), "%s: the plugin survives and keeps serving", what);           \
        } while (0)

        send_frame(&c, 9, junk, sizeof(junk));
        PROBE("a frame for an unknown connection id");

        send_frame(&c, 1, NULL, 0);
        send_frame(&c, 2, NULL, 0);
        PROBE("empty frames on both connections");

        code = raw_request(&c, c.next_call, junk, sizeof(junk));
        c.next_call += 2;
        CHECK(code == 3, "a ttrpc request that is not a protobuf: INVALID_ARGUMENT (%d)", code);
        PROBE("garbage protobuf");

        code = raw_request(&c, 2, junk, 0);
        CHECK(code == 3, "an even stream id: INVALID_ARGUMENT (%d)", code);
        code = raw_request(&c, 1, junk, 0);
        CHECK(code == 3, "a stream id used before: INVALID_ARGUMENT (%d)", code);
        PROBE("bad stream ids");

        /* a ttrpc message over 4 MiB: one frame header announcing it, then its bytes */
        big = calloc(1, TTRPC_MAX + 1024);
        {
                uint8_t header[10];
                size_t body = TTRPC_MAX + 1000;
                be32(header, (uint32_t)body);
                be32(header + 4, c.next_call);
                header[8] = 1;
                header[9] = 0;
                uint8_t *frame = malloc(10 + body);
                memcpy(frame, header, 10);
                memcpy(frame + 10, big, body);
                send_frame(&c, 1, frame, 10 + body); /* also a mux frame larger than any Go writer sends */
                free(frame);
                struct reply r;
                code = await_reply(&c, c.next_call, now_us(), &r) == 0 ? r.code : -1;
                if (code >= 0)
                        reply_free(&r);
                c.next_call += 2;
        }
        free(big);
        CHECK(code == 8, "a message over 4 MiB in one oversized frame: RESOURCE_EXHAUSTED, skipped (%d)", code);
        PROBE("an oversized message");

        /* a whole request split into 1-byte frames */
        {
                Nri__Empty empty = NRI__EMPTY__INIT;
                Ttrpc__Request request = TTRPC__REQUEST__INIT;
                uint8_t *body, header[10];
                size_t len;
                struct reply r;

                request.service = PLUGIN_SERVICE;
                request.method = "Shutdown";
                request.payload = (ProtobufCBinaryData){ .len = 0, .data = NULL };
                (void)empty;
                pack(&request.base, &body, &len);
                be32(header, (uint32_t)len);
                be32(header + 4, c.next_call);
                header[8] = 1;
                header[9] = 0;
                for (size_t i = 0; i < 10; i++)
                        send_frame(&c, 1, header + i, 1);
                for (size_t i = 0; i < len; i++)
                        send_frame(&c, 1, body + i, 1);
                free(body);
                code = await_reply(&c, c.next_call, now_us(), &r) == 0 ? r.code : -1;
                if (code >= 0)
                        reply_free(&r);
                c.next_call += 2;
                CHECK(code == 0, "a request cut into 1-byte frames is reassembled and answered (%d)", code);
        }

        /* framing broken for good: a truncated frame, then the runtime hangs up */
        {
                uint8_t header[8];
                be32(header, 1);
                be32(header + 4, 100);
                write_all(c.fd, header, 8);
                write_all(c.fd, junk, 10);
                CHECK(reconnect(&c) && probe(&c, "after-truncated"),
                       "a truncated frame and a hang-up: the plugin reconnects and serves");
        }
        write_all(c.fd, junk, sizeof(junk)); /* garbage where a frame header belongs */
        CHECK(reconnect(&c) && probe(&c, "after-garbage"),
               "bytes that are no frame, then a hang-up: the plugin reconnects and serves");
        CHECK(plugin_alive(&c), "the plugin never exited");
        stop_plugin(&c);
#undef PROBE
}

static void scenario_preinstalled(void)
{
        struct conn c = { .fd = -1, .listen_fd = -1 };
        struct adjusted a;
        struct reply r;
        int sv[2], status;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
                CHECK(false, "socketpair: %s", strerror(errno));
                return;
        }
        c.pid = fork();
        if (c.pid == 0) {
                dup2(sv[1], 3); /* dup2 clears close-on-exec on fd 3 */
                exec_plugin(NULL);
        }
        close(sv[1]);
        conn_reset(&c, sv[0]);
        CHECK(registration(&c, false, NULL) && strcmp(c.name, "numapin-pre") == 0 && strcmp(c.idx, "42") == 0,
               "started with the socket on fd 3, it registers with NRI_PLUGIN_NAME/IDX (got '%s' '%s')", c.name,
               c.idx);
        CHECK(configure(&c, &r) == 0 && r.code == 0 && synchronize_empty(&c) &&
                       create_ok(&c, &SPEC(.id = "pre1", .pod_annotations = { "policy.numapin.io/pod=bind" }), &a) &&
                       a.cpus[0],
               "it is configured and places a container");
        reply_free(&r);
        close(c.fd);
        c.fd = -1;
        {
                uint64_t start = now_us();
                pid_t done = 0;
                while (now_us() - start < 3000000 && (done = waitpid(c.pid, &status, WNOHANG)) == 0)
                        usleep(20000);
                CHECK(done == c.pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                       "when the runtime closes the socket it exits with status 0");
                if (done == c.pid)
                        c.pid = 0;
        }
        stop_plugin(&c);
}

/* `serve`: one command per line on stdin, one answer per line on stdout.
 *   create ID POD NAME [quota=N] [period=N] [limit=N] [pid=N] KEY=VALUE...
 *       (annotations on the pod; "c:KEY=VALUE" on the container)
 *       -> "ID cpus=LIST mems=LIST" or "ID error=CODE MESSAGE"
 *   postcreate|stop|remove ID POD NAME [pid=N]  -> "ID ok" or "ID error=CODE MESSAGE"
 */
static void parse_command(char *line, char **words, size_t max, size_t *ret_n)
{
        size_t n = 0;

        for (char *w = strtok(line, " \t\n"); w && n < max; w = strtok(NULL, " \t\n"))
                words[n++] = w;
        *ret_n = n;
}

static void scenario_serve(void)
{
        struct conn c;
        char line[4096];

        if (!start_external(&c)) {
                printf("error: the plugin did not start\n");
                failures++;
                return;
        }
        printf("ready\n");
        fflush(stdout);
        while (fgets(line, sizeof(line), stdin)) {
                char *words[40];
                size_t n, n_pod = 0, n_ctr = 0;
                struct spec s = {};
                struct reply r = { .code = -1 };
                struct adjusted a;
                int ret;

                parse_command(line, words, 40, &n);
                if (n < 4) {
                        printf("error: expected COMMAND ID POD NAME ...\n");
                        fflush(stdout);
                        continue;
                }
                s.id = words[1];
                s.pod_id = words[2];
                s.name = words[3];
                for (size_t i = 4; i < n; i++) {
                        if (strncmp(words[i], "quota=", 6) == 0)
                                s.cpu_quota = strtoll(words[i] + 6, NULL, 10);
                        else if (strncmp(words[i], "period=", 7) == 0)
                                s.cpu_period = strtoull(words[i] + 7, NULL, 10);
                        else if (strncmp(words[i], "limit=", 6) == 0)
                                s.memory_limit = strtoll(words[i] + 6, NULL, 10);
                        else if (strncmp(words[i], "pid=", 4) == 0)
                                s.pid = (uint32_t)strtoul(words[i] + 4, NULL, 10);
                        else if (strncmp(words[i], "c:", 2) == 0 && n_ctr < MAX_ANNOTATIONS - 1)
                                s.annotations[n_ctr++] = words[i] + 2;
                        else if (n_pod < MAX_ANNOTATIONS - 1)
                                s.pod_annotations[n_pod++] = words[i];
                }
                if (strcmp(words[0], "create") == 0) {
                        ret = create(&c, &s, &r, &a);
                        if (ret == 0 && r.code == 0)
                                printf("%s cpus=%s mems=%s\n", s.id, a.cpus, a.mems);
                } else {
                        const char *method = strcmp(words[0], "postcreate") == 0 ? "PostCreateContainer"
                                             : strcmp(words[0], "stop") == 0     ? "StopContainer"
                                                                                  : "RemoveContainer";
                        ret = container_call(&c, method, &s, &r);
                        if (ret == 0 && r.code == 0)
                                printf("%s ok\n", s.id);
                }
                if (ret != 0 || r.code != 0)
                        printf("%s error=%d %s\n", s.id, ret != 0 ? ret : r.code, ret != 0 ? "no answer" : r.message);
                reply_free(&r);
                fflush(stdout);
        }
        stop_plugin(&c);
}

static int compare_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

static void percentiles(uint64_t *v, size_t n, uint64_t *ret_median, uint64_t *ret_p99)
{
        qsort(v, n, sizeof(*v), compare_u64);
        *ret_median = v[n / 2];
        *ret_p99 = v[(n * 99) / 100];
}

static long rss_kib(pid_t pid)
{
        char path[64], line[256];
        long kib = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", pid);
        f = fopen(path, "r");
        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
                        break;
        if (f)
                fclose(f);
        return kib;
}

/* `bench N`: CreateContainer round trips (each followed by a RemoveContainer,
 * so the ledger stays small) against Shutdown, answered without work; then
 * resident memory idle and holding 1000 containers. */
static void scenario_bench(size_t n)
{
        uint64_t *create_us = calloc(n, sizeof(*create_us)), *base_us = calloc(n, sizeof(*base_us));
        uint64_t median, p99, base_median, base_p99;
        long idle;
        struct conn c;
        char id[32];

        if (!start_external(&c)) {
                CHECK(false, "the plugin starts");
                return;
        }
        idle = rss_kib(c.pid);
        for (size_t i = 0; i < n; i++) {
                Nri__Empty empty = NRI__EMPTY__INIT;
                struct adjusted a;
                struct reply r;

                if (call(&c, "Shutdown", &empty.base, &r) < 0 || r.code != 0) {
                        CHECK(false, "Shutdown round trip %zu", i);
                        return;
                }
                base_us[i] = r.us;
                reply_free(&r);
                snprintf(id, sizeof(id), "bench%06zu", i);
                if (create(&c, &SPEC(.id = id, .pod_annotations = { "policy.numapin.io/pod=bind" }), &r, &a) < 0 ||
                    r.code != 0 || !a.cpus[0]) {
                        CHECK(false, "CreateContainer round trip %zu: %s", i, r.message);
                        return;
                }
                create_us[i] = r.us;
                reply_free(&r);
                container_call(&c, "RemoveContainer", &SPEC(.id = id), &r);
                reply_free(&r);
        }
        percentiles(create_us, n, &median, &p99);
        percentiles(base_us, n, &base_median, &base_p99);
        printf("create %zu %" PRIu64 " %" PRIu64 "\n", n, median, p99);
        printf("baseline %zu %" PRIu64 " %" PRIu64 "\n", n, base_median, base_p99);
        for (size_t i = 0; i < 1000; i++) {
                struct adjusted a;
                struct reply r;

                snprintf(id, sizeof(id), "held%06zu", i);
                create(&c, &SPEC(.id = id, .pod_annotations = { "policy.numapin.io/pod=bind" }), &r, &a);
                create_us[i] = r.us;
                reply_free(&r);
        }
        percentiles(create_us, 1000, &median, &p99);
        printf("create-held %d %" PRIu64 " %" PRIu64 "\n", 1000, median, p99);
        printf("rss %ld %ld\n", idle, rss_kib(c.pid));
        free(create_us);
        free(base_us);
        stop_plugin(&c);
}

static void usage(void)
{
        fprintf(stderr, "usage: nri-runtime --dir DIR --sysfs-root DIR --cgroup-root DIR [--plugin PATH]\n"
                        "                   [--plugin-config FILE]\n"
                        "                   protocol|memory-policy|configure-first|paged-sync|reconnect|hostile|\n"
                        "                   preinstalled|serve|bench N\n");
        exit(2);
}

int main(int argc, char **argv)
{
        int i;

        signal(SIGPIPE, SIG_IGN);
        for (i = 1; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
                if (strcmp(argv[i], "--dir") == 0)
                        dir = argv[i + 1];
                else if (strcmp(argv[i], "--plugin") == 0)
                        plugin_path = argv[i + 1];
                else if (strcmp(argv[i], "--sysfs-root") == 0)
                        sysfs_root = argv[i + 1];
                else if (strcmp(argv[i], "--cgroup-root") == 0)
                        cgroup_root = argv[i + 1];
                else if (strcmp(argv[i], "--plugin-config") == 0)
                        plugin_config = argv[i + 1];
                else
                        usage();
        }
        if (i >= argc || !dir || !sysfs_root || !cgroup_root)
                usage();
        if (strcmp(argv[i], "protocol") == 0)
                scenario_protocol();
        else if (strcmp(argv[i], "memory-policy") == 0)
                scenario_memory_policy();
        else if (strcmp(argv[i], "configure-first") == 0)
                scenario_configure_first();
        else if (strcmp(argv[i], "paged-sync") == 0)
                scenario_paged_sync();
        else if (strcmp(argv[i], "reconnect") == 0)
                scenario_reconnect();
        else if (strcmp(argv[i], "hostile") == 0)
                scenario_hostile();
        else if (strcmp(argv[i], "preinstalled") == 0)
                scenario_preinstalled();
        else if (strcmp(argv[i], "serve") == 0)
                scenario_serve();
        else if (strcmp(argv[i], "bench") == 0 && i + 1 < argc)
                scenario_bench(strtoul(argv[i + 1], NULL, 10));
        else
                usage();
        return failures ? 1 : 0;
}
