// SPDX-License-Identifier: MIT
/* Fuzz target: the /metrics endpoint's request path (libmicrohttpd and
 * core/metrics-http.c's handler). One server on 127.0.0.1:0 over a fixture
 * node's state serves the whole run; each input is sent as raw bytes on a new
 * connection, whose write side is then shut, and the answer read until the
 * server closes, or says nothing for 50 ms, or 2 s pass; the connection is then
 * reset (libmicrohttpd keeps a half-closed one open until its idle timeout). Every
 * 64 inputs a complete GET /metrics must be answered 200 within 2 s: a server
 * that hangs or stops accepting is a failure (abort), as a crash is. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../core/metrics-http.h"
#include "../../core/metrics.h"
#include "fuzz.h"

#define READ_TIMEOUT_MS 2000 /* in all */
#define QUIET_MS        50   /* without a byte from the server, once the input is sent */

static struct fuzz_node node;
static struct np_metrics *metrics;
static struct np_metrics_server *server;
static uint16_t port;
static unsigned long inputs;

static void stop_server(void)
{
        np_metrics_server_stop(server);
        np_metrics_free(metrics);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        struct np_context_options options;
        struct np_diag diag = {};

        signal(SIGPIPE, SIG_IGN);
        np_log_set_level(NP_LOG_ERROR);
        fuzz_node_init(&node, "2socket-smt");
        options = (struct np_context_options){ .config_path = node.config,
                                               .state_dir = node.state,
                                               .sysfs_root = node.sysfs,
                                               .cgroup_root = node.cgroup,
                                               .proc_root = node.dir };
        if (np_metrics_new(&options, &diag, &metrics) < 0)
                fuzz_die("np_metrics_new: %s", diag.message);
        if (np_metrics_server_start(metrics, "127.0.0.1:0", &diag, &server) < 0)
                fuzz_die("np_metrics_server_start(127.0.0.1:0): %s", diag.message);
        port = np_metrics_server_port(server);
        atexit(stop_server);
        return 0;
}

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sends `data` on a new connection and reads the answer (its first bytes into
 * `first`); the bytes read, -1 when the server neither answered nor closed within
 * READ_TIMEOUT_MS. With `quiet`, QUIET_MS of silence after the input ends it too. */
static ssize_t exchange(const uint8_t *data, size_t size, bool quiet, char *first, size_t first_size)
{
        struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
        uint64_t deadline = now_ms() + READ_TIMEOUT_MS, last = now_ms();
        struct linger reset = { .l_onoff = 1, .l_linger = 0 };
        char buf[65536];
        ssize_t total = 0;
        size_t sent = 0;
        int fd;

        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                fuzz_die("socket: %s", strerror(errno));
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS)
                fuzz_die("connect to the metrics server: %s", strerror(errno));
        for (;;) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN | (sent < size ? POLLOUT : 0) };
                uint64_t now = now_ms();
                ssize_t n;

                if (now >= deadline) {
                        total = -1;
                        break;
                }
                if (quiet && sent == size && now >= last + QUIET_MS)
                        break;
                if (poll(&pfd, 1, quiet && sent == size ? QUIET_MS : (int)(deadline - now)) <= 0)
                        continue;
                last = now_ms();
                if ((pfd.revents & POLLOUT) && sent < size) {
                        n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
                        if (n < 0 && errno != EAGAIN && errno != EINTR)
                                sent = size; /* the server closed: read what it said */
                        else if (n > 0)
                                sent += (size_t)n;
                        if (sent == size)
                                shutdown(fd, SHUT_WR);
                }
                if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
                        n = recv(fd, buf, sizeof(buf), 0);
                        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                                break;
                        if (n > 0) {
                                if (first && total < (ssize_t)first_size)
                                        memcpy(first + total, buf, MIN((size_t)n, first_size - (size_t)total));
                                total += n;
                        }
                }
        }
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
        close(fd);
        return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char scrape[] = "GET /metrics HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n";
        char status[16] = {};

        (void)exchange(data, size, true, NULL, 0);
        /* the server still answers a scrape (not each time: a scrape renders the state) */
        if (inputs++ % 64 == 0) {
                if (exchange((const uint8_t *)scrape, sizeof(scrape) - 1, false, status, sizeof(status) - 1) <= 0)
                        fuzz_die("no answer to GET /metrics");
                if (strncmp(status, "HTTP/1.1 200", 12) != 0)
                        fuzz_die("GET /metrics answered '%.12s'", status);
        }
        return 0;
}
