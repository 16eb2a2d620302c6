// SPDX-License-Identifier: MIT
/* numapin's HTTP endpoint on GNU libmicrohttpd: the listening socket is made
 * here (so that an address in use gets numapin's own one-line error), the
 * connections are libmicrohttpd's, polled by its own thread with epoll. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "metrics-http.h"

struct np_metrics_server {
        struct MHD_Daemon *daemon;
        struct np_metrics *metrics;
        uint16_t port;
};

int np_metrics_address_parse(const char *address, struct sockaddr_storage *ret_addr, socklen_t *ret_len,
                             struct np_diag *diag)
{
        char host[64], quoted[96];
        const char *colon, *port_text;
        struct sockaddr_in *in4 = (struct sockaddr_in *)ret_addr;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ret_addr;
        unsigned long port;
        size_t host_len;
        char *end;

        memset(ret_addr, 0, sizeof(*ret_addr));
        if (address[0] == '[') {
                const char *close = strchr(address, ']');

                if (!close || close[1] != ':')
                        goto bad;
                host_len = (size_t)(close - address - 1);
                if (host_len == 0 || host_len >= sizeof(host))
                        goto bad;
                memcpy(host, address + 1, host_len);
                port_text = close + 2;
        } else {
                colon = strrchr(address, ':');
                if (!colon || strchr(address, ':') != colon)
                        goto bad;
                host_len = (size_t)(colon - address);
                if (host_len >= sizeof(host))
                        goto bad;
                memcpy(host, address, host_len);
                port_text = colon + 1;
        }
        host[host_len] = '\0';
        if (port_text[0] < '0' || port_text[0] > '9')
                goto bad; /* strtoul would take a sign or leading blanks */
        errno = 0;
        port = strtoul(port_text, &end, 10);
        if (*end || errno || port > 65535)
                goto bad;
        if (address[0] == '[') {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t)port);
                if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
                        goto bad;
                *ret_len = sizeof(*in6);
        } else if (host[0] == '\0') {
                /* every interface, IPv4 too through the dual-stack socket */
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t)port);
                in6->sin6_addr = in6addr_any;
                *ret_len = sizeof(*in6);
        } else {
                in4->sin_family = AF_INET;
                in4->sin_port = htons((uint16_t)port);
                if (strcmp(host, "localhost") == 0)
                        in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                else if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
                        goto bad;
                *ret_len = sizeof(*in4);
        }
        return 0;
bad:
        return np_diag_fail(diag, -EINVAL,
                            "metrics address '%s': expected HOST:PORT (an IPv4 address or localhost), [IPV6]:PORT or "
                            ":PORT, with PORT 0-65535",
                            np_log_quote(quoted, sizeof(quoted), address));
}

static int listen_on(const char *address, struct np_diag *diag, uint16_t *ret_port)
{
        struct sockaddr_storage addr, bound;
        socklen_t len, bound_len = sizeof(bound);
        int fd, one = 1, zero = 0, r;

        r = np_metrics_address_parse(address, &addr, &len, diag);
        if (r < 0)
                return r;
        fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0 && addr.ss_family == AF_INET6 && errno == EAFNOSUPPORT && address[0] == ':') {
                /* no IPv6 on this host: every IPv4 interface */
                struct sockaddr_in *in4 = (struct sockaddr_in *)&addr;
                uint16_t port = ((struct sockaddr_in6 *)&addr)->sin6_port;

                memset(&addr, 0, sizeof(addr));
                in4->sin_family = AF_INET;
                in4->sin_port = port;
                in4->sin_addr.s_addr = htonl(INADDR_ANY);
                len = sizeof(*in4);
                fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        }
        if (fd < 0)
                return np_diag_fail(diag, -errno, "metrics address %s: cannot make a socket: %s", address,
                                    strerror(errno));
        /* SO_REUSEADDR lets a restart bind past TIME_WAIT, never past a listener */
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (addr.ss_family == AF_INET6)
                (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        if (bind(fd, (struct sockaddr *)&addr, len) < 0 || listen(fd, 128) < 0) {
                r = -errno;
                close(fd);
                if (r == -EADDRINUSE)
                        return np_diag_fail(diag, r,
                                            "metrics address %s: already in use (another exporter or plugin serves "
                                            "it?); choose another with --metrics-listen / --listen",
                                            address);
                return np_diag_fail(diag, r, "metrics address %s: cannot listen: %s", address, strerror(-r));
        }
        *ret_port = 0;
        if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) == 0)
                *ret_port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                              : ((struct sockaddr_in *)&bound)->sin_port);
        return fd;
}

static enum MHD_Result respond_text(struct MHD_Connection *connection, unsigned int status, const char *text,
                                    const char *allow)
{
        struct MHD_Response *response =
                MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
        enum MHD_Result ret;

        if (!response)
                return MHD_NO;
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        if (allow)
                MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, allow);
        ret = MHD_queue_response(connection, status, response);
        MHD_destroy_response(response);
        return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
        static int seen;
        struct np_metrics_server *server = cls;
        struct MHD_Response *response;
        enum MHD_Result ret;
        char *text;
        size_t size;
        int r;

        if (*req_cls != &seen) {
                /* the headers are in; answer once the request (and any body) is */
                *req_cls = &seen;
                return MHD_YES;
        }
        if (*upload_data_size) {
                *upload_data_size = 0; /* a body is not read */
                return MHD_YES;
        }
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
                return respond_text(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n", "GET, HEAD");
        if (strcmp(url, "/") == 0)
                return respond_text(connection, MHD_HTTP_OK, "numapin: the metrics are at /metrics\n", NULL);
        if (strcmp(url, "/metrics") != 0)
                return respond_text(connection, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n", NULL);
        r = np_metrics_render(server->metrics, &text, &size);
        if (r < 0) {
                np_log_warning("metrics: cannot render: %s", strerror(-r));
                return respond_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "numapin: cannot render the metrics\n",
                                    NULL);
        }
        response = MHD_create_response_from_buffer_with_free_callback(size, text, np_metrics_text_free);
        if (!response) {
                np_metrics_text_free(text);
                return MHD_NO;
        }
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, NP_METRICS_CONTENT_TYPE);
        ret = MHD_queue_response(connection, MHD_HTTP_OK, response);
        MHD_destroy_response(response);
        return ret;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
        char line[512];
        size_t len;

        vsnprintf(line, sizeof(line), fmt, ap);
        len = strlen(line);
        while (len && line[len - 1] == '\n')
                line[--len] = '\0';
        np_log_debug("metrics endpoint: %s", line);
}

int np_metrics_server_start(struct np_metrics *metrics, const char *address, struct np_diag *diag,
                            struct np_metrics_server **ret_server)
{
        struct np_metrics_server *server = calloc(1, sizeof(*server));
        sigset_t all, before;
        int fd;

        if (!server)
                return -ENOMEM;
        fd = listen_on(address, diag, &server->port);
        if (fd < 0) {
                free(server);
                return fd;
        }
        server->metrics = metrics;
        /* the server's thread takes no signal: the process's own threads handle them */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &before);
        server->daemon = MHD_start_daemon(
                MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, server,
                MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT,
                (unsigned int)NP_METRICS_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
                (unsigned int)NP_METRICS_IDLE_SECONDS, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                (size_t)NP_METRICS_REQUEST_MAX, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_END);
        pthread_sigmask(SIG_SETMASK, &before, NULL);
        if (!server->daemon) {
                close(fd);
                free(server);
                return np_diag_fail(diag, -EIO, "metrics address %s: the HTTP server did not start", address);
        }
        *ret_server = server;
        return 0;
}

void np_metrics_server_stop(struct np_metrics_server *server)
{
        if (!server)
                return;
        MHD_stop_daemon(server->daemon); /* closes the listening socket too */
        free(server);
}

uint16_t np_metrics_server_port(const struct np_metrics_server *server)
{
        return server->port;
}
