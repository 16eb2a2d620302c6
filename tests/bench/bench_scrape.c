// SPDX-License-Identifier: MIT
/* Times scrapes of Prometheus endpoints, for `make bench`: one keep-alive HTTP/1.1
 * connection per endpoint (as Prometheus keeps one), GET /metrics in the text
 * format (no gzip), the whole body read (Content-Length or chunked) before the
 * clock stops. The endpoints take turns, one scrape each, the order rotating
 * every round, so that a noisy machine slows them alike. A connection the server
 * closes is opened again (counted; its connect is not timed).
 *   bench_scrape WARMUP RUNS NAME=HOST:PORT...
 * Prints per endpoint "NAME median_us p99_us bytes series reconnects first_us"
 * (the size and series, i.e. lines that are not comments, of the last body; the
 * time of the very first scrape, warm-up's first), or, when one fails, "NAME
 * failed SCRAPE first_us bytes series reason..." (the others still measured)
 * and exits 1. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_TARGETS     8
#define CONNECT_SECONDS 10 /* the server may still be starting */
#define READ_BUF        (64 * 1024)
#define HEADER_MAX      (16 * 1024)
#define BODY_MAX        (256u << 20)

struct target {
        const char *name;
        struct sockaddr_in addr;
        int fd;
        char buf[READ_BUF]; /* read ahead of the parser: buf[start, end) */
        size_t start, end;
        char *body;
        size_t body_len, body_cap;
        bool server_closes; /* the last response said Connection: close */
        unsigned int reconnects;
        unsigned int done; /* scrapes answered, warm-up included */
        double first_us;   /* the first scrape (a cold cache) */
        size_t bytes;      /* of the last body answered */
        unsigned long series;
        double *times_us;
        unsigned int n_times;
        char error[256];
};

static uint64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((format(printf, 2, 3))) static int fail(struct target *t, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(t->error, sizeof(t->error), fmt, ap);
        va_end(ap);
        return -1;
}

static int connect_target(struct target *t, bool wait)
{
        uint64_t deadline = now_ns() + (uint64_t)CONNECT_SECONDS * 1000000000u;
        int one = 1;

        if (t->fd >= 0)
                close(t->fd);
        t->start = t->end = 0;
        for (;;) {
                t->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (t->fd < 0)
                        return fail(t, "socket: %s", strerror(errno));
                if (connect(t->fd, (struct sockaddr *)&t->addr, sizeof(t->addr)) == 0)
                        break;
                close(t->fd);
                t->fd = -1;
                if (!wait || errno != ECONNREFUSED || now_ns() > deadline)
                        return fail(t, "connect: %s", strerror(errno));
                usleep(20000);
        }
        (void)setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        return 0;
}

/* More bytes into t->buf; 0 at the end of the stream. */
static ssize_t fill(struct target *t)
{
        ssize_t n;

        if (t->start == t->end)
                t->start = t->end = 0;
        if (t->end == sizeof(t->buf)) {
                memmove(t->buf, t->buf + t->start, t->end - t->start);
                t->end -= t->start;
                t->start = 0;
        }
        do
                n = read(t->fd, t->buf + t->end, sizeof(t->buf) - t->end);
        while (n < 0 && errno == EINTR);
        if (n > 0)
                t->end += (size_t)n;
        return n;
}

/* One line (CRLF or LF ended) into `line`, without its end. */
static int read_line(struct target *t, char *line, size_t size)
{
        for (;;) {
                char *nl = memchr(t->buf + t->start, '\n', t->end - t->start);

                if (nl) {
                        size_t len = (size_t)(nl - (t->buf + t->start));

                        if (len >= size)
                                return fail(t, "%s", "a header line is too long");
                        memcpy(line, t->buf + t->start, len);
                        if (len && line[len - 1] == '\r')
                                len--;
                        line[len] = '\0';
                        t->start += (size_t)(nl - (t->buf + t->start)) + 1;
                        return 0;
                }
                if (t->end - t->start >= size)
                        return fail(t, "%s", "a header line is too long");
                ssize_t n = fill(t);
                if (n <= 0)
                        return fail(t, "%s", n == 0 ? "the server closed the connection" : strerror(errno));
        }
}

static int body_room(struct target *t, size_t more)
{
        if (t->body_len + more > BODY_MAX)
                return fail(t, "%s", "the body is too large");
        if (t->body_len + more + 1 > t->body_cap) {
                size_t cap = t->body_cap ? t->body_cap : 1 << 20;
                char *grown;

                while (cap < t->body_len + more + 1)
                        cap *= 2;
                grown = realloc(t->body, cap);
                if (!grown)
                        return fail(t, "%s", "out of memory");
                t->body = grown;
                t->body_cap = cap;
        }
        return 0;
}

/* `len` bytes of the body. */
static int read_body(struct target *t, size_t len)
{
        if (body_room(t, len) < 0)
                return -1;
        while (len) {
                size_t have = t->end - t->start, take = have < len ? have : len;

                memcpy(t->body + t->body_len, t->buf + t->start, take);
                t->body_len += take;
                t->start += take;
                len -= take;
                if (len && t->start == t->end) {
                        /* straight into the body: no copy through t->buf */
                        ssize_t n;

                        do
                                n = read(t->fd, t->body + t->body_len, len);
                        while (n < 0 && errno == EINTR);
                        if (n <= 0)
                                return fail(t, "%s",
                                            n == 0 ? "the server closed the connection mid-body" : strerror(errno));
                        t->body_len += (size_t)n;
                        len -= (size_t)n;
                }
        }
        return 0;
}

static int scrape(struct target *t)
{
        static const char request[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: numapin-bench-scrape\r\n"
                                      "Accept: text/plain;version=0.0.4\r\n\r\n";
        char line[HEADER_MAX];
        long long content_length = -1;
        bool chunked = false;
        int status = 0;
        size_t sent = 0;

        t->body_len = 0;
        t->server_closes = false;
        while (sent < sizeof(request) - 1) {
                ssize_t n = write(t->fd, request + sent, sizeof(request) - 1 - sent);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return fail(t, "send: %s", strerror(errno));
                sent += (size_t)n;
        }
        if (read_line(t, line, sizeof(line)) < 0)
                return -1;
        if (sscanf(line, "HTTP/1.%*d %d", &status) != 1)
                return fail(t, "not an HTTP response: %.100s", line);
        for (;;) {
                if (read_line(t, line, sizeof(line)) < 0)
                        return -1;
                if (!line[0])
                        break;
                if (strncasecmp(line, "Content-Length:", 15) == 0)
                        content_length = strtoll(line + 15, NULL, 10);
                else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 && strcasestr(line + 18, "chunked"))
                        chunked = true;
                else if (strncasecmp(line, "Connection:", 11) == 0 && strcasestr(line + 11, "close"))
                        t->server_closes = true;
        }
        if (chunked) {
                for (;;) {
                        unsigned long size;
                        char *end;

                        if (read_line(t, line, sizeof(line)) < 0)
                                return -1;
                        size = strtoul(line, &end, 16);
                        if (end == line)
                                return fail(t, "a bad chunk size: %.100s", line);
                        if (size == 0)
                                break;
                        if (read_body(t, size) < 0 || read_line(t, line, sizeof(line)) < 0)
                                return -1;
                }
                do /* trailers, up to the empty line */
                        if (read_line(t, line, sizeof(line)) < 0)
                                return -1;
                while (line[0]);
        } else if (content_length >= 0) {
                if (read_body(t, (size_t)content_length) < 0)
                        return -1;
        } else {
                return fail(t, "%s", "a response without Content-Length nor chunks");
        }
        if (status != 200)
                return fail(t, "HTTP status %d", status);
        return 0;
}

static int compare_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

/* Nearest rank. */
static double percentile(const double *sorted, unsigned int n, double p)
{
        unsigned int rank = (unsigned int)(p * n + 0.999999);

        return n ? sorted[rank ? rank - 1 : 0] : 0;
}

static unsigned long series(const struct target *t)
{
        unsigned long n = 0;

        for (size_t i = 0; i < t->body_len;) {
                const char *nl = memchr(t->body + i, '\n', t->body_len - i);
                size_t len = nl ? (size_t)(nl - (t->body + i)) : t->body_len - i;

                if (len && t->body[i] != '#')
                        n++;
                i += len + 1;
        }
        return n;
}

static int parse_target(char *arg, struct target *t)
{
        char *eq = strchr(arg, '='), *colon;
        long port;

        if (!eq || !(colon = strrchr(eq, ':')))
                return -1;
        *eq = *colon = '\0';
        port = strtol(colon + 1, NULL, 10);
        if (!arg[0] || port <= 0 || port > 65535 || inet_pton(AF_INET, eq + 1, &t->addr.sin_addr) != 1)
                return -1;
        t->name = arg;
        t->addr.sin_family = AF_INET;
        t->addr.sin_port = htons((uint16_t)port);
        t->fd = -1;
        return 0;
}

int main(int argc, char **argv)
{
        static struct target targets[MAX_TARGETS];
        unsigned int n_targets = 0, warmup, runs;
        int status = 0;

        if (argc < 4 || argc - 3 > MAX_TARGETS || (warmup = (unsigned int)atoi(argv[1])) > 100000 ||
            (runs = (unsigned int)atoi(argv[2])) == 0 || runs > 100000) {
                fprintf(stderr, "usage: bench_scrape WARMUP RUNS NAME=HOST:PORT...\n");
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        for (int a = 3; a < argc; a++) {
                struct target *t = &targets[n_targets++];

                if (parse_target(argv[a], t) < 0) {
                        fprintf(stderr, "bench_scrape: '%s': expected NAME=IPV4:PORT\n", argv[a]);
                        return 2;
                }
                t->times_us = calloc(runs, sizeof(*t->times_us));
                if (!t->times_us || connect_target(t, true) < 0) {
                        printf("%s failed 1 0 0 0 %s\n", t->name, t->times_us ? t->error : "out of memory");
                        return 1;
                }
        }
        for (unsigned int round = 0; round < warmup + runs; round++) {
                for (unsigned int k = 0; k < n_targets; k++) {
                        struct target *t = &targets[(round + k) % n_targets];
                        double elapsed_us;
                        uint64_t start;

                        if (t->error[0])
                                continue;
                        if (t->server_closes) {
                                if (connect_target(t, false) < 0)
                                        continue;
                                t->reconnects++;
                        }
                        start = now_ns();
                        if (scrape(t) < 0)
                                continue;
                        elapsed_us = (double)(now_ns() - start) / 1000.0;
                        if (t->done++ == 0)
                                t->first_us = elapsed_us;
                        if (round >= warmup)
                                t->times_us[t->n_times++] = elapsed_us;
                        t->bytes = t->body_len;
                        t->series = series(t);
                }
        }
        for (unsigned int k = 0; k < n_targets; k++) {
                struct target *t = &targets[k];

                if (t->error[0]) {
                        printf("%s failed %u %.1f %zu %lu %s\n", t->name, t->done + 1, t->first_us, t->bytes, t->series,
                               t->error);
                        status = 1;
                        continue;
                }
                qsort(t->times_us, t->n_times, sizeof(*t->times_us), compare_double);
                printf("%s %.1f %.1f %zu %lu %u %.1f\n", t->name, percentile(t->times_us, t->n_times, 0.5),
                       percentile(t->times_us, t->n_times, 0.99), t->bytes, t->series, t->reconnects, t->first_us);
        }
        return status;
}
