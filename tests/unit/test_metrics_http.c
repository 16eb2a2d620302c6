// SPDX-License-Identifier: MIT
/* The /metrics endpoint (core/metrics-http.c): the address forms --listen and
 * --metrics-listen take and the message for each bad one; a server on
 * 127.0.0.1:0 answering GET /metrics over a plain socket with the exposition's
 * content type; an address in use refused with numapin's own message; other
 * paths and methods; a request beyond the header limit; and the port free
 * again once the server is stopped. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "../../core/metrics-http.h"
#include "../../core/metrics.h"
#include "helpers.h"

struct fixture {
        struct np_test_node node;
        struct np_metrics *metrics;
        struct np_metrics_server *server;
        uint16_t port;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        struct np_context_options options = {};
        struct np_diag diag = {};

        assert_non_null(f);
        np_test_node_init(&f->node, "2socket-smt", "{\"monitor\": false}");
        options.config_path = f->node.config;
        options.state_dir = f->node.state;
        options.sysfs_root = f->node.sysfs;
        options.cgroup_root = f->node.cgroup;
        if (np_metrics_new(&options, &diag, &f->metrics) < 0)
                fail_msg("np_metrics_new: %s", diag.message);
        *state = f;
        return 0;
}

/* setup, and a server on a free port of 127.0.0.1 */
static int setup_server(void **state)
{
        struct fixture *f;
        struct np_diag diag = {};

        setup(state);
        f = *state;
        if (np_metrics_server_start(f->metrics, "127.0.0.1:0", &diag, &f->server) < 0)
                fail_msg("np_metrics_server_start(127.0.0.1:0): %s", diag.message);
        f->port = np_metrics_server_port(f->server);
        assert_true(f->port != 0);
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        np_metrics_server_stop(f->server);
        np_metrics_free(f->metrics);
        np_test_rmtree(f->node.dir);
        free(f);
        return 0;
}

/* --- addresses -------------------------------------------------------------------------- */

static void assert_parses(const char *address, int family, const char *host, uint16_t port)
{
        struct sockaddr_storage addr;
        socklen_t len = 0;
        struct np_diag diag = {};
        char text[INET6_ADDRSTRLEN];

        if (np_metrics_address_parse(address, &addr, &len, &diag) < 0)
                fail_msg("'%s' refused: %s", address, diag.message);
        assert_int_equal(addr.ss_family, family);
        if (family == AF_INET) {
                const struct sockaddr_in *in4 = (const struct sockaddr_in *)&addr;

                assert_int_equal(len, sizeof(*in4));
                assert_int_equal(ntohs(in4->sin_port), port);
                assert_non_null(inet_ntop(AF_INET, &in4->sin_addr, text, sizeof(text)));
        } else {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&addr;

                assert_int_equal(len, sizeof(*in6));
                assert_int_equal(ntohs(in6->sin6_port), port);
                assert_non_null(inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text)));
        }
        if (strcmp(text, host) != 0)
                fail_msg("'%s' gives host %s, expected %s", address, text, host);
}

static void test_metrics_address_parse_takes_the_documented_forms(void **state)
{
        (void)state;
        assert_parses("127.0.0.1:9651", AF_INET, "127.0.0.1", 9651);
        assert_parses("localhost:9651", AF_INET, "127.0.0.1", 9651);
        assert_parses("0.0.0.0:80", AF_INET, "0.0.0.0", 80);
        assert_parses("10.1.2.3:0", AF_INET, "10.1.2.3", 0);
        assert_parses("127.0.0.1:65535", AF_INET, "127.0.0.1", 65535);
        assert_parses("[::1]:9651", AF_INET6, "::1", 9651);
        assert_parses("[fe80::1:2]:1", AF_INET6, "fe80::1:2", 1);
        assert_parses("[::]:9651", AF_INET6, "::", 9651);
        /* :PORT is every interface: the dual-stack any address */
        assert_parses(":9651", AF_INET6, "::", 9651);
}

static void assert_refused(const char *address, const char *shown)
{
        struct sockaddr_storage addr;
        socklen_t len = 0;
        struct np_diag diag = {};
        char needle[256];
        int r;

        r = np_metrics_address_parse(address, &addr, &len, &diag);
        if (r != -EINVAL)
                fail_msg("'%s': %d, expected -EINVAL (refused)", address, r);
        /* the address as given, and every form allowed */
        snprintf(needle, sizeof(needle), "'%s'", shown ? shown : address);
        if (!strstr(diag.message, needle))
                fail_msg("'%s': the message does not name it: %s", address, diag.message);
        if (!strstr(diag.message, "HOST:PORT") || !strstr(diag.message, "[IPV6]:PORT") ||
            !strstr(diag.message, ":PORT") || !strstr(diag.message, "0-65535"))
                fail_msg("'%s': the message does not give the allowed forms: %s", address, diag.message);
}

static void test_metrics_address_parse_refuses_other_forms_naming_them(void **state)
{
        static const char *const bad[] = {
                "",
                "127.0.0.1",       /* no port */
                "9651",            /* a port alone, without its colon */
                "127.0.0.1:",      /* an empty port */
                ":",               /* neither */
                "127.0.0.1:65536", /* beyond 16 bits */
                "127.0.0.1:99999999999999999999999",
                "127.0.0.1:-1",
                "127.0.0.1:+80",
                "127.0.0.1: 80", /* strtoul would skip the space */
                "127.0.0.1:80 ",
                "127.0.0.1:80x",
                "127.0.0.1:0x50",
                "256.0.0.1:80",
                "1.2.3:80",
                "example.com:80", /* names other than localhost are not resolved */
                "::1:80",         /* IPv6 without brackets */
                "[::1]",
                "[::1]80",
                "[::1]:",
                "[]:80",
                "[1.2.3.4]:80",
                "[::1:80",
                "[::g]:80",
                "http://127.0.0.1:80",
                "127.0.0.1:80/metrics",
        };

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
                assert_refused(bad[i], NULL);
}

static void test_metrics_address_parse_refuses_a_long_host_naming_it(void **state)
{
        char address[200];

        (void)state;
        memset(address, 'a', 150);
        strcpy(address + 150, ":80");
        /* the message quotes it cut short; what is there is the address's start */
        {
                struct sockaddr_storage addr;
                socklen_t len = 0;
                struct np_diag diag = {};

                assert_int_equal(np_metrics_address_parse(address, &addr, &len, &diag), -EINVAL);
                assert_non_null(strstr(diag.message, "metrics address 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
                assert_non_null(strstr(diag.message, "[IPV6]:PORT"));
        }
}

/* --- the server -------------------------------------------------------------------------- */

struct response {
        int status;
        char headers[4096];
        char *body;
        size_t body_len;
        bool closed_without_answer;
};

static int connect_to(uint16_t port)
{
        struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
        struct timeval timeout = { .tv_sec = 5 };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)), 0);
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)), 0);
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
                fail_msg("connect to 127.0.0.1:%u: %s", port, strerror(errno));
        return fd;
}

/* Sends `request` (bytes as given) and reads until the server closes. */
static struct response exchange(uint16_t port, const char *request, size_t len)
{
        struct response resp = { .status = -1 };
        size_t size = 0, cap = 65536;
        char *raw = malloc(cap + 1), *split;
        int fd = connect_to(port);
        ssize_t n;

        assert_non_null(raw);
        for (size_t sent = 0; sent < len; sent += (size_t)n) {
                n = send(fd, request + sent, len - sent, MSG_NOSIGNAL);
                if (n <= 0)
                        break; /* the server may close before it has read everything */
        }
        for (;;) {
                if (size == cap) {
                        raw = realloc(raw, (cap *= 2) + 1);
                        assert_non_null(raw);
                }
                n = recv(fd, raw + size, cap - size, 0);
                if (n < 0 && errno == ECONNRESET)
                        break;
                if (n < 0)
                        fail_msg("reading the answer from 127.0.0.1:%u: %s", port, strerror(errno));
                if (n == 0)
                        break;
                size += (size_t)n;
        }
        close(fd);
        raw[size] = '\0';
        if (size == 0) {
                resp.closed_without_answer = true;
                free(raw);
                return resp;
        }
        if (sscanf(raw, "HTTP/1.%*d %d", &resp.status) != 1)
                fail_msg("not an HTTP answer: %.200s", raw);
        split = strstr(raw, "\r\n\r\n");
        assert_non_null(split);
        snprintf(resp.headers, sizeof(resp.headers), "%.*s", (int)(split - raw), raw);
        resp.body_len = size - (size_t)(split + 4 - raw);
        resp.body = malloc(resp.body_len + 1);
        assert_non_null(resp.body);
        memcpy(resp.body, split + 4, resp.body_len);
        resp.body[resp.body_len] = '\0';
        free(raw);
        return resp;
}

static struct response request(uint16_t port, const char *method, const char *path)
{
        char text[512];
        int n = snprintf(text, sizeof(text), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", method,
                         path);

        return exchange(port, text, (size_t)n);
}

/* A header's value (case-insensitive name), "" when absent. */
static const char *header(const struct response *resp, const char *name, char *buf, size_t size)
{
        const char *line = resp->headers;

        buf[0] = '\0';
        while ((line = strstr(line, "\r\n"))) {
                line += 2;
                if (strncasecmp(line, name, strlen(name)) == 0 && line[strlen(name)] == ':') {
                        const char *value = line + strlen(name) + 1;

                        value += strspn(value, " ");
                        snprintf(buf, size, "%.*s", (int)strcspn(value, "\r"), value);
                        break;
                }
        }
        return buf;
}

static void test_metrics_server_answers_get_metrics_with_the_exposition(void **state)
{
        struct fixture *f = *state;
        struct response resp = request(f->port, "GET", "/metrics");
        char value[256];

        assert_int_equal(resp.status, 200);
        assert_string_equal(header(&resp, "Content-Type", value, sizeof(value)),
                            "text/plain; version=0.0.4; charset=utf-8");
        assert_non_null(strstr(resp.body, "# TYPE numapin_node_cpus gauge\n"));
        assert_non_null(strstr(resp.body, "numapin_node_cpus{node=\"1\",state=\"shared\"} 16\n"));
        assert_non_null(strstr(resp.body, "\nnumapin_build_info{version="));
        /* the whole text: it ends with its last family */
        assert_true(resp.body_len > 40);
        assert_non_null(strstr(resp.body, "\nnumapin_scrape_duration_seconds "));
        assert_int_equal(resp.body[resp.body_len - 1], '\n');
        assert_null(strstr(strstr(resp.body, "\nnumapin_scrape_duration_seconds ") + 1, "\n#"));
        assert_int_equal(resp.body_len, strlen(resp.body));
        free(resp.body);

        /* HEAD: the same status and type, no body */
        resp = request(f->port, "HEAD", "/metrics");
        assert_int_equal(resp.status, 200);
        assert_string_equal(header(&resp, "Content-Type", value, sizeof(value)),
                            "text/plain; version=0.0.4; charset=utf-8");
        assert_int_equal(resp.body_len, 0);
        free(resp.body);
}

static void test_metrics_server_answers_other_paths_and_methods(void **state)
{
        struct fixture *f = *state;
        struct response resp;
        char value[256];

        resp = request(f->port, "GET", "/other");
        assert_int_equal(resp.status, 404);
        assert_non_null(strstr(resp.body, "/metrics"));
        free(resp.body);
        resp = request(f->port, "GET", "/metrics/x");
        assert_int_equal(resp.status, 404);
        free(resp.body);
        resp = request(f->port, "GET", "/");
        assert_int_equal(resp.status, 200);
        assert_non_null(strstr(resp.body, "/metrics"));
        free(resp.body);

        resp = request(f->port, "POST", "/metrics");
        assert_int_equal(resp.status, 405);
        assert_string_equal(header(&resp, "Allow", value, sizeof(value)), "GET, HEAD");
        free(resp.body);
        resp = request(f->port, "DELETE", "/metrics");
        assert_int_equal(resp.status, 405);
        free(resp.body);
        /* a POST with a body: the body is not read into anything, the answer is the same */
        {
                static const char post[] = "POST /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                           "Content-Length: 11\r\n\r\nhello world";

                resp = exchange(f->port, post, sizeof(post) - 1);
                assert_int_equal(resp.status, 405);
                free(resp.body);
        }
        /* and the endpoint still serves */
        resp = request(f->port, "GET", "/metrics");
        assert_int_equal(resp.status, 200);
        free(resp.body);
}

static void test_metrics_server_refuses_a_request_beyond_the_limit(void **state)
{
        struct fixture *f = *state;
        size_t len = 64 * 1024;
        char *big = malloc(len + 64);
        struct response resp;
        int n;

        assert_non_null(big);
        n = snprintf(big, len + 64, "GET /metrics?");
        memset(big + n, 'a', len);
        strcpy(big + n + len, " HTTP/1.1\r\nHost: x\r\n\r\n");
        resp = exchange(f->port, big, strlen(big));
        free(big);
        /* an error status (414 or 431), or closed without one; never the metrics */
        if (!resp.closed_without_answer && (resp.status < 400 || resp.status >= 500))
                fail_msg("a request line of 64 KiB got status %d", resp.status);
        free(resp.body);
        resp = request(f->port, "GET", "/metrics");
        assert_int_equal(resp.status, 200);
        free(resp.body);
}

static void test_metrics_server_refuses_an_address_in_use(void **state)
{
        struct fixture *f = *state;
        struct np_metrics_server *second = NULL;
        struct np_diag diag = {};
        char address[64];
        int r;

        snprintf(address, sizeof(address), "127.0.0.1:%u", f->port);
        r = np_metrics_server_start(f->metrics, address, &diag, &second);
        if (r != -EADDRINUSE)
                fail_msg("a second server on %s: %d (%s), expected -EADDRINUSE", address, r, diag.message);
        assert_null(second);
        assert_non_null(strstr(diag.message, "already in use"));
        assert_non_null(strstr(diag.message, address));
        /* every interface on that port is in use too */
        snprintf(address, sizeof(address), ":%u", f->port);
        diag = (struct np_diag){};
        assert_int_equal(np_metrics_server_start(f->metrics, address, &diag, &second), -EADDRINUSE);
        assert_non_null(strstr(diag.message, "already in use"));
        /* the first still serves */
        {
                struct response resp = request(f->port, "GET", "/metrics");

                assert_int_equal(resp.status, 200);
                free(resp.body);
        }
}

static void test_metrics_server_refuses_a_bad_address_before_binding(void **state)
{
        struct fixture *f = *state;
        struct np_metrics_server *server = NULL;
        struct np_diag diag = {};

        assert_int_equal(np_metrics_server_start(f->metrics, "localhost", &diag, &server), -EINVAL);
        assert_null(server);
        assert_non_null(strstr(diag.message, "'localhost'"));
}

static void test_metrics_server_frees_its_port_when_stopped(void **state)
{
        struct fixture *f = *state;
        struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(f->port) };
        struct np_diag diag = {};
        char address[64];
        int fd;

        /* an idle client connected while it stops */
        fd = connect_to(f->port);
        np_metrics_server_stop(f->server);
        f->server = NULL;
        close(fd);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), -1);
        assert_int_equal(errno, ECONNREFUSED);
        close(fd);
        /* a new server takes the same port at once */
        snprintf(address, sizeof(address), "127.0.0.1:%u", f->port);
        if (np_metrics_server_start(f->metrics, address, &diag, &f->server) < 0)
                fail_msg("restarting on %s: %s", address, diag.message);
        assert_int_equal(np_metrics_server_port(f->server), f->port);
        {
                struct response resp = request(f->port, "GET", "/metrics");

                assert_int_equal(resp.status, 200);
                free(resp.body);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_metrics_address_parse_takes_the_documented_forms),
                cmocka_unit_test(test_metrics_address_parse_refuses_other_forms_naming_them),
                cmocka_unit_test(test_metrics_address_parse_refuses_a_long_host_naming_it),
                cmocka_unit_test_setup_teardown(test_metrics_server_answers_get_metrics_with_the_exposition,
                                                setup_server, teardown),
                cmocka_unit_test_setup_teardown(test_metrics_server_answers_other_paths_and_methods, setup_server,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_metrics_server_refuses_a_request_beyond_the_limit, setup_server,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_metrics_server_refuses_an_address_in_use, setup_server, teardown),
                cmocka_unit_test_setup_teardown(test_metrics_server_refuses_a_bad_address_before_binding, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_metrics_server_frees_its_port_when_stopped, setup_server,
                                                teardown),
        };

        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
