// SPDX-License-Identifier: MIT
/* numapin-nri: numapin as a containerd / CRI-O NRI plugin. Connects to the
 * runtime's socket (or uses the one it was started with), registers, and
 * serves the runtime's calls one at a time; an external plugin reconnects
 * with backoff whenever the runtime goes away. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../core/parse.h"
#include "../core/metrics-http.h"
#include "../core/sandbox.h"
#include "plugin.h"
#include "ttrpc.pb-c.h"
#include "wire.h"

#define DEFAULT_SOCKET      "/var/run/nri/nri.sock"
#define DEFAULT_NAME        "numapin"
#define DEFAULT_IDX         "90"
#define RUNTIME_SERVICE     "nri.pkg.api.v1alpha1.Runtime"
#define PLUGIN_SERVICE      "nri.pkg.api.v1alpha1.Plugin"
#define NRI_VERSION         "v0.12.2" /* the protocol level numapin speaks */
#define REGISTER_TIMEOUT_NS 5000000000LL
#define REQUEST_TIMEOUT_NS  2000000000LL
#define SEND_TIMEOUT_S      2
#define BACKOFF_MIN_MS      100
#define BACKOFF_MAX_MS      2000
#define NAME_MAX_LEN        64

struct options {
        const char *socket_path;
        char name[NAME_MAX_LEN + 1];
        char idx[3];
        int inherited_fd; /* NRI_PLUGIN_SOCKET: started by the runtime, -1 otherwise */
        const char *metrics_listen; /* --metrics-listen ADDR, NULL: no endpoint */
        struct np_context_options plugin;
};

struct session {
        struct nri_plugin *plugin;
        uint32_t register_id;
        bool registered;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
        (void)sig;
        stop_requested = 1;
}

static void usage(FILE *out)
{
        fprintf(out, "usage: numapin-nri [--socket PATH] [--name NAME] [--idx NN] [--metrics-listen ADDR]\n"
                     "                   " NP_CONTEXT_USAGE "\n"
                     "--metrics-listen serves the node's placements and locality at http://ADDR/metrics\n"
                     "(ADDR: HOST:PORT, [IPV6]:PORT or :PORT for every interface).\n"
                     "Started by the runtime (pre-installed), it reads NRI_PLUGIN_SOCKET, NRI_PLUGIN_NAME and\n"
                     "NRI_PLUGIN_IDX instead.\n");
}

static bool valid_name(const char *name)
{
        size_t len = strlen(name);

        if (len == 0 || len > NAME_MAX_LEN)
                return false;
        for (const char *c = name; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                      strchr("_.+-", *c)))
                        return false;
        return true;
}

static bool valid_idx(const char *idx)
{
        return strlen(idx) == 2 && idx[0] >= '0' && idx[0] <= '9' && idx[1] >= '0' && idx[1] <= '9';
}

static int set_identity(struct options *opts, const char *name, const char *idx)
{
        char quoted[128];

        if (name) {
                if (!valid_name(name)) {
                        np_log_error("plugin name '%s' is not valid; expected 1-64 of A-Z a-z 0-9 _ . + -",
                                     np_log_quote(quoted, sizeof(quoted), name));
                        return -EINVAL;
                }
                snprintf(opts->name, sizeof(opts->name), "%s", name);
        }
        if (idx) {
                if (!valid_idx(idx)) {
                        np_log_error("plugin index '%s' is not valid; expected two digits, 00 to 99",
                                     np_log_quote(quoted, sizeof(quoted), idx));
                        return -EINVAL;
                }
                snprintf(opts->idx, sizeof(opts->idx), "%s", idx);
        }
        return 0;
}

static int parse_options(int argc, char **argv, struct options *opts)
{
        static const struct option long_options[] = {
                { "socket", required_argument, NULL, 'k' },
                { "name", required_argument, NULL, 'n' },
                { "idx", required_argument, NULL, 'i' },
                { "metrics-listen", required_argument, NULL, 'm' },
                NP_CONTEXT_LONG_OPTIONS,
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *env_socket = getenv("NRI_PLUGIN_SOCKET");
        int c, r;

        *opts = (struct options){ .socket_path = DEFAULT_SOCKET,
                                  .inherited_fd = -1 };
        strcpy(opts->name, DEFAULT_NAME);
        strcpy(opts->idx, DEFAULT_IDX);
        while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
                switch (c) {
                case 'k':
                        opts->socket_path = optarg;
                        break;
                case 'n':
                        if (set_identity(opts, optarg, NULL) < 0)
                                return -EINVAL;
                        break;
                case 'i':
                        if (set_identity(opts, NULL, optarg) < 0)
                                return -EINVAL;
                        break;
                case 'm':
                        opts->metrics_listen = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        exit(0);
                default:
                        /* --config, --state-dir and the roots, as every front-end takes them */
                        if (np_context_option(&opts->plugin, c, optarg))
                                break;
                        usage(stderr);
                        return -EINVAL;
                }
        }
        if (optind != argc) {
                usage(stderr);
                return -EINVAL;
        }
        if (env_socket && *env_socket) {
                uint32_t fd;

                r = np_parse_u32(env_socket, 0, 65535, &fd);
                if (r < 0 || fd < 3) {
                        np_log_error("NRI_PLUGIN_SOCKET '%s' is not valid; expected the number of an open socket",
                                     env_socket);
                        return -EINVAL;
                }
                opts->inherited_fd = (int)fd;
                if (set_identity(opts, getenv("NRI_PLUGIN_NAME"), getenv("NRI_PLUGIN_IDX")) < 0)
                        return -EINVAL;
        }
        if (strlen(opts->socket_path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
                np_log_error("--socket %s: longer than a unix socket path can be", opts->socket_path);
                return -EINVAL;
        }
        return 0;
}

static int connect_socket(const char *path)
{
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        int fd;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        strcpy(addr.sun_path, path);
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* A call of the runtime on connection 1: answered, whatever it holds. */
static int serve_call(struct nri_wire *wire, const struct nri_message *message, struct nri_plugin *plugin)
{
        Ttrpc__Request *request;
        struct nri_reply reply = {};
        char text[256], quoted[128];
        int r;

        if (message->type != NRI_TTRPC_REQUEST) {
                np_log_debug("ignoring a ttrpc message of type %u on the plugin connection", message->type);
                return 0;
        }
        if (message->oversized) {
                snprintf(text, sizeof(text), "message of %zu bytes is larger than the limit of %u", message->len,
                         NRI_TTRPC_MAX);
                np_log_warning("runtime call %u: %s", message->stream_id, text);
                return nri_wire_respond(wire, message->stream_id, NRI_STATUS_RESOURCE_EXHAUSTED, text, NULL, 0);
        }
        if (message->stream_id % 2 == 0 || message->stream_id <= wire->last_call_in) {
                snprintf(text, sizeof(text), "stream id %u: expected an odd id above %u", message->stream_id,
                         wire->last_call_in);
                np_log_warning("runtime call: %s", text);
                return nri_wire_respond(wire, message->stream_id, NRI_STATUS_INVALID_ARGUMENT, text, NULL, 0);
        }
        wire->last_call_in = message->stream_id;
        request = ttrpc__request__unpack(NULL, message->len, message->data);
        if (!request) {
                np_log_warning("runtime call %u: malformed ttrpc request", message->stream_id);
                return nri_wire_respond(wire, message->stream_id, NRI_STATUS_INVALID_ARGUMENT,
                                        "malformed ttrpc request", NULL, 0);
        }
        if (strcmp(request->service, PLUGIN_SERVICE) != 0) {
                snprintf(text, sizeof(text), "service %s", np_log_quote(quoted, sizeof(quoted), request->service));
                r = nri_wire_respond(wire, message->stream_id, NRI_STATUS_UNIMPLEMENTED, text, NULL, 0);
        } else {
                uint32_t update_id;

                nri_plugin_handle(plugin, request->method, request->payload.data, request->payload.len, &reply);
                np_log_debug("%s: %s", request->method, reply.code == NRI_STATUS_OK ? "ok" : reply.message);
                r = nri_wire_respond(wire, message->stream_id, reply.code, reply.message, reply.payload, reply.len);
                /* not awaited: the runtime answers it on its own time, and failures are its to log */
                if (r == 0 && reply.runtime_update)
                        r = nri_wire_call(wire, RUNTIME_SERVICE, "UpdateContainers", reply.runtime_update,
                                          reply.runtime_update_len, REQUEST_TIMEOUT_NS, &update_id);
                nri_reply_clear(&reply);
        }
        ttrpc__request__free_unpacked(request, NULL);
        return r;
}

/* The runtime's answer to one of numapin's calls on connection 2. */
static int take_response(const struct nri_message *message, struct session *session)
{
        Ttrpc__Response *response;
        int r = 0;

        if (message->type != NRI_TTRPC_RESPONSE || message->stream_id != session->register_id ||
            session->registered)
                return 0;
        if (message->oversized)
                return -EPROTO;
        response = ttrpc__response__unpack(NULL, message->len, message->data);
        if (!response) {
                np_log_error("the runtime's answer to RegisterPlugin is malformed");
                return -EPROTO;
        }
        if (response->status && response->status->code != NRI_STATUS_OK) {
                np_log_error("the runtime refused to register the plugin: %s", response->status->message);
                r = -EPERM;
        } else
                session->registered = true;
        ttrpc__response__free_unpacked(response, NULL);
        return r;
}

static int on_message(struct nri_wire *wire, const struct nri_message *message, void *userdata)
{
        struct session *session = userdata;

        if (message->conn == NRI_CONN_PLUGIN)
                return serve_call(wire, message, session->plugin);
        return take_response(message, session);
}

static int register_plugin(struct nri_wire *wire, const struct options *opts, struct session *session)
{
        Nri__RegisterPluginRequest request = NRI__REGISTER_PLUGIN_REQUEST__INIT;
        uint8_t buf[256];
        size_t len;

        request.plugin_name = (char *)opts->name;
        request.plugin_idx = (char *)opts->idx;
        request.nri_version = (char *)NRI_VERSION;
        if (protobuf_c_message_get_packed_size(&request.base) > sizeof(buf))
                return -E2BIG;
        len = protobuf_c_message_pack(&request.base, buf);
        return nri_wire_call(wire, RUNTIME_SERVICE, "RegisterPlugin", buf, len, REGISTER_TIMEOUT_NS,
                             &session->register_id);
}

/* One connection, from registration until it ends: -ECONNRESET when the
 * runtime closed it, 0 when asked to stop. */
static int serve(int fd, const struct options *opts, struct nri_plugin *plugin)
{
        struct timeval send_timeout = { .tv_sec = SEND_TIMEOUT_S };
        struct session session = { .plugin = plugin };
        struct nri_wire wire;
        int r;

        /* a runtime that stops reading must not stall the plugin forever */
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
        nri_wire_init(&wire, fd);
        r = register_plugin(&wire, opts, &session);
        while (r == 0 && !stop_requested) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                int idle_after = nri_plugin_idle_after_ms(plugin), n;

                n = poll(&pfd, 1, idle_after > 0 ? idle_after : -1);
                if (n < 0) {
                        r = errno == EINTR ? 0 : -errno;
                        continue;
                }
                if (n == 0) {
                        nri_plugin_idle(plugin);
                        continue;
                }
                r = nri_wire_read(&wire, on_message, &session);
        }
        nri_plugin_idle(plugin);
        if (wire.frames_dropped)
                np_log_warning("dropped %llu frames for unknown connections",
                               (unsigned long long)wire.frames_dropped);
        nri_wire_clear(&wire);
        nri_plugin_disconnected(plugin);
        return stop_requested ? 0 : r;
}

/* systemd connects a service's stderr to the journal and says so in
 * JOURNAL_STREAM ("device:inode" of that stream). */
static bool stderr_is_journal(void)
{
        const char *stream = getenv("JOURNAL_STREAM");
        unsigned long long device, inode;
        struct stat st;

        return stream && sscanf(stream, "%llu:%llu", &device, &inode) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
               (unsigned long long)st.st_dev == device && (unsigned long long)st.st_ino == inode;
}

static void sleep_ms(unsigned int ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

        while (!stop_requested && nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int main(int argc, char **argv)
{
        struct sigaction action = { .sa_handler = on_signal };
        _cleanup_metrics_ struct np_metrics *metrics = NULL;
        _cleanup_metrics_server_ struct np_metrics_server *server = NULL;
        struct nri_plugin plugin;
        struct options opts;
        struct np_diag diag = {};
        unsigned int backoff = BACKOFF_MIN_MS;
        int r;

        np_log_set_prefix("numapin-nri");
        if (!stderr_is_journal())
                np_log_set_syslog(""); /* else every line would reach the journal twice */
        if (parse_options(argc, argv, &opts) < 0)
                return 2;
        r = nri_plugin_init(&plugin, &opts.plugin, &diag);
        if (r == 0 && opts.metrics_listen) {
                np_metrics_raise_fd_limit(); /* a folder open per container (memory.numa_stat) */
                r = np_metrics_new(&opts.plugin, &diag, &metrics);
                if (r == 0)
                        r = np_metrics_server_start(metrics, opts.metrics_listen, &diag, &server);
                if (r == 0)
                        np_log_info("metrics at http://%s/metrics (port %u)", opts.metrics_listen,
                                    np_metrics_server_port(server));
                plugin.metrics = metrics;
        }
        if (r < 0) {
                np_log_error("%s", diag.message[0] ? diag.message : strerror(-r));
                return 1;
        }
        sigaction(SIGTERM, &action, NULL);
        sigaction(SIGINT, &action, NULL);
        signal(SIGPIPE, SIG_IGN);
        /* configured, the metrics server bound: from here on only the calls of the
         * runtime's requests and of scrapes, on every thread (the config that
         * Configure brings later cannot lift it) */
        if (plugin.context->config.seccomp) {
                r = np_sandbox_apply(NP_SANDBOX_NRI, plugin.context->config.monitor, &diag);
                if (r < 0)
                        np_log_warning("%s, continuing without a system call filter", diag.message);
                else
                        np_log_debug("seccomp: the %s allow-list is in force; other calls fail with %s",
                                     np_sandbox_profile_to_string(NP_SANDBOX_NRI), strerror(NP_SANDBOX_ERRNO));
        }

        if (opts.inherited_fd >= 0) {
                /* started by the runtime: one connection, for the runtime's lifetime */
                r = serve(opts.inherited_fd, &opts, &plugin);
                close(opts.inherited_fd);
                nri_plugin_clear(&plugin);
                if (r < 0 && r != -ECONNRESET)
                        np_log_error("connection to the runtime failed: %s", strerror(-r));
                return r < 0 && r != -ECONNRESET ? 1 : 0;
        }

        np_log_info("plugin %s-%s, runtime socket %s", opts.idx, opts.name, opts.socket_path);
        while (!stop_requested) {
                int fd = connect_socket(opts.socket_path);

                if (fd < 0) {
                        np_log_debug("cannot connect to %s: %s; retrying in %u ms", opts.socket_path, strerror(-fd),
                                     backoff);
                        sleep_ms(backoff);
                        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
                        continue;
                }
                np_log_info("connected to %s", opts.socket_path);
                backoff = BACKOFF_MIN_MS;
                r = serve(fd, &opts, &plugin);
                close(fd);
                if (!stop_requested)
                        np_log_warning("connection to the runtime ended (%s); reconnecting",
                                       r == -ECONNRESET ? "closed by the runtime"
                                       : r == -EPROTO   ? "it sent a frame no runtime writes"
                                                        : strerror(-r));
                sleep_ms(backoff);
        }
        nri_plugin_clear(&plugin);
        return 0;
}
