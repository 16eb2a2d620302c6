// SPDX-License-Identifier: MIT
/* nri-harness: the runtime side of NRI, written apart from nri/ so that the two
 * check each other. Like containerd and CRI-O it listens on a socket (or starts
 * the plugin on a socketpair as fd 3), speaks ttrpc over the multiplexer both
 * ways, and drives numapin-nri through scenarios printing "ok - "/"not ok - ". */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>

#include "nri.pb-c.h"
#include "ttrpc.pb-c.h"

#define PLUGIN_SERVICE  "nri.pkg.api.v1alpha1.Plugin"
#define RUNTIME_SERVICE "nri.pkg.api.v1alpha1.Runtime"

#define CONN_PLUGIN  1u /* the runtime calls, the plugin answers */
#define CONN_RUNTIME 2u /* the plugin calls, the runtime answers */

#define MUX_HEADER       8u
#define TTRPC_HEADER     10u
#define TTRPC_MAX        (4u << 20)                 /* largest ttrpc message body */
#define GO_FIRST_FRAME   4096u                      /* a Go peer reads a message's first frame through 4 KiB */
#define MUX_FRAME_MAX    (TTRPC_MAX + TTRPC_HEADER) /* Go's writer splits larger writes */
#define FRAME_FROM_LIMIT (64u << 20)                /* a larger frame from the plugin ends the connection */

#define TYPE_REQUEST  1
#define TYPE_RESPONSE 2
#define TYPE_DATA     3

#define CODE_OK                 0
#define CODE_UNKNOWN            2
#define CODE_INVALID_ARGUMENT   3
#define CODE_RESOURCE_EXHAUSTED 8
#define CODE_UNIMPLEMENTED      12

#define REGISTRATION_TIMEOUT_MS 5000 /* containerd's and CRI-O's defaults */
#define REQUEST_TIMEOUT_MS      2000

#define EVENT_BIT(e)    (1u << ((e)-1))
#define NUMAPIN_EVENTS  0x698 /* the plugin's contract: create, post-create, update, stop, remove */
#define MAX_KV          16
#define MAX_UPDATES     64
#define CPUSET_WORDS    16 /* 1024 CPUs */
#define SCRIPT_MAX_SPEC 512

/* ---- reporting ------------------------------------------------------------------------- */

static unsigned int n_failed;
static char scope[160]; /* what every check name starts with: the scenario and the runtime */

static void set_scope(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_scope(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(scope, sizeof(scope), fmt, ap);
        va_end(ap);
}

static void vreport(bool ok, bool quiet_ok, const char *name, const char *fmt, va_list ap)
{
        char why[2048] = "";

        if (ok && quiet_ok)
                return;
        if (!ok && fmt)
                vsnprintf(why, sizeof(why), fmt, ap);
        printf("%s - %s%s%s%s\n", ok ? "ok" : "not ok", scope, name, why[0] ? ": " : "", why);
        fflush(stdout);
        if (!ok)
                n_failed++;
}

/* A check: "ok - NAME" or "not ok - NAME: WHY". Returns ok. */
static bool expect(bool ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool expect(bool ok, const char *name, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vreport(ok, false, name, fmt, ap);
        va_end(ap);
        return ok;
}

/* A step the checks depend on: reported only when it fails. */
static bool require(bool ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool require(bool ok, const char *name, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vreport(ok, true, name, fmt, ap);
        va_end(ap);
        return ok;
}

static bool expect_str(const char *name, const char *want, const char *got)
{
        return expect(strcmp(want, got) == 0, name, "expected '%s', got '%s'", want, got);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
        va_list ap;

        printf("# %s", scope);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        fflush(stdout);
}

/* A check name with values in it (two in use at once at most). */
static const char *name_f(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *name_f(const char *fmt, ...)
{
        static char names[2][512];
        static unsigned int turn;
        char *name = names[turn++ % 2];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(name, sizeof(names[0]), fmt, ap);
        va_end(ap);
        return name;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
        va_list ap;

        printf("not ok - %sharness: ", scope);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        exit(1);
}

/* ---- small helpers ---------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned int ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static void put_be32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void *xmalloc(size_t size)
{
        void *p = malloc(size ? size : 1);

        if (!p)
                die("out of memory");
        return p;
}

static void *xmemdup(const void *data, size_t len)
{
        void *p = xmalloc(len);

        if (len)
                memcpy(p, data, len);
        return p;
}

/* Copies src into dst (size bytes); false when it does not fit. */
static bool copy_str(char *dst, size_t size, const char *src)
{
        return (size_t)snprintf(dst, size, "%s", src ? src : "") < size;
}

/* Decimal digits only, no sign, at most max. */
static int parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
        uint64_t v = 0;

        if (!*s)
                return -EINVAL;
        for (; *s; s++) {
                unsigned int digit;

                if (*s < '0' || *s > '9')
                        return -EINVAL;
                digit = (unsigned int)(*s - '0');
                if (v > (max - digit) / 10)
                        return -ERANGE;
                v = v * 10 + digit;
        }
        *ret = v;
        return 0;
}

static int parse_i64(const char *s, int64_t *ret)
{
        bool negative = *s == '-';
        uint64_t v;
        int r;

        r = parse_u64(s + negative, negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &v);
        if (r < 0)
                return r;
        *ret = negative ? (int64_t)(0 - v) : (int64_t)v;
        return 0;
}

/* A kernel cpulist ("0-3,8") as a bitmap; -EINVAL when malformed. */
static int cpulist_parse(const char *s, uint64_t set[CPUSET_WORDS])
{
        char buf[1024], *save = NULL, *range;

        memset(set, 0, CPUSET_WORDS * sizeof(uint64_t));
        if (!copy_str(buf, sizeof(buf), s))
                return -E2BIG;
        for (range = strtok_r(buf, ",", &save); range; range = strtok_r(NULL, ",", &save)) {
                char *dash = strchr(range, '-');
                uint64_t first, last;

                if (dash)
                        *dash = '\0';
                if (parse_u64(range, CPUSET_WORDS * 64 - 1, &first) < 0 ||
                    parse_u64(dash ? dash + 1 : range, CPUSET_WORDS * 64 - 1, &last) < 0 || last < first)
                        return -EINVAL;
                for (uint64_t cpu = first; cpu <= last; cpu++)
                        set[cpu / 64] |= 1ull << (cpu % 64);
        }
        return 0;
}

static unsigned int cpulist_count(const char *s)
{
        uint64_t set[CPUSET_WORDS];
        unsigned int n = 0;

        if (cpulist_parse(s, set) < 0)
                return 0;
        for (size_t i = 0; i < CPUSET_WORDS; i++)
                n += (unsigned int)__builtin_popcountll(set[i]);
        return n;
}

static bool cpulist_disjoint(const char *a, const char *b)
{
        uint64_t x[CPUSET_WORDS], y[CPUSET_WORDS];

        if (cpulist_parse(a, x) < 0 || cpulist_parse(b, y) < 0)
                return false;
        for (size_t i = 0; i < CPUSET_WORDS; i++)
                if (x[i] & y[i])
                        return false;
        return true;
}

/* ---- an arena for the protobuf messages the runtime builds ------------------------------- */

struct arena {
        void **blocks;
        size_t n, cap;
};

static void *arena_alloc(struct arena *a, size_t size)
{
        void *p = calloc(1, size ? size : 1);

        if (!p)
                die("out of memory");
        if (a->n == a->cap) {
                size_t cap = a->cap ? a->cap * 2 : 64;
                void **grown = realloc(a->blocks, cap * sizeof(*grown));

                if (!grown)
                        die("out of memory");
                a->blocks = grown;
                a->cap = cap;
        }
        a->blocks[a->n++] = p;
        return p;
}

static char *arena_strdup(struct arena *a, const char *s)
{
        size_t len = strlen(s);

        return memcpy(arena_alloc(a, len + 1), s, len);
}

static char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *arena_printf(struct arena *a, const char *fmt, ...)
{
        char buf[4096];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        return arena_strdup(a, buf);
}

static void arena_free(struct arena *a)
{
        for (size_t i = 0; i < a->n; i++)
                free(a->blocks[i]);
        free(a->blocks);
        *a = (struct arena){};
}

/* ---- processes and sockets to clean up on exit --------------------------------------------- */

static pid_t children[64];
static char socket_dirs[16][64];
static size_t n_socket_dirs;

static void remember_child(pid_t pid)
{
        for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
                if (children[i] == 0) {
                        children[i] = pid;
                        return;
                }
}

static void forget_child(pid_t pid)
{
        for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
                if (children[i] == pid)
                        children[i] = 0;
}

static void cleanup(void)
{
        char path[PATH_MAX];

        for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
                if (children[i] > 0) {
                        kill(children[i], SIGKILL);
                        waitpid(children[i], NULL, 0);
                        children[i] = 0;
                }
        for (size_t i = 0; i < n_socket_dirs; i++) {
                snprintf(path, sizeof(path), "%s/nri.sock", socket_dirs[i]);
                unlink(path);
                rmdir(socket_dirs[i]);
        }
        n_socket_dirs = 0;
}

/* ---- the multiplexed connection: frames in and out ---------------------------------------- */

struct bytes {
        uint8_t *buf;
        size_t len, cap;
};

static void bytes_append(struct bytes *b, const void *data, size_t len)
{
        if (b->len + len > b->cap) {
                size_t cap = b->cap ? b->cap : 4096;
                uint8_t *grown;

                while (cap < b->len + len)
                        cap *= 2;
                grown = realloc(b->buf, cap);
                if (!grown)
                        die("out of memory");
                b->buf = grown;
                b->cap = cap;
        }
        if (len)
                memcpy(b->buf + b->len, data, len);
        b->len += len;
}

/* A whole ttrpc message from the plugin. */
struct msg {
        struct msg *next;
        uint32_t conn, stream;
        uint8_t type, flags;
        size_t len;
        uint8_t body[];
};

struct peer {
        int fd;
        bool closed;          /* end of file, an error, or a frame no reader would take */
        struct bytes raw;     /* bytes off the socket, not yet a whole frame */
        struct bytes conn[3]; /* connections 1 and 2: the ttrpc message being assembled */
        struct msg *head, **tail;
        unsigned int violations; /* frames a Go runtime could not read */
        char violation[256];     /* the first of them */
        uint64_t frames_unknown; /* frames for connections other than 1 and 2 */
};

static void peer_init(struct peer *p, int fd)
{
        *p = (struct peer){ .fd = fd };
        p->tail = &p->head;
        if (fd >= 0)
                fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static struct msg *peer_pop(struct peer *p)
{
        struct msg *m = p->head;

        if (m) {
                p->head = m->next;
                if (!p->head)
                        p->tail = &p->head;
        }
        return m;
}

static void peer_close(struct peer *p)
{
        struct msg *m;

        if (p->fd >= 0)
                close(p->fd);
        while ((m = peer_pop(p)))
                free(m);
        free(p->raw.buf);
        for (size_t i = 0; i < 3; i++)
                free(p->conn[i].buf);
        peer_init(p, -1);
        p->closed = true;
}

static void peer_violation(struct peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void peer_violation(struct peer *p, const char *fmt, ...)
{
        va_list ap;

        if (p->violations++ == 0) {
                va_start(ap, fmt);
                vsnprintf(p->violation, sizeof(p->violation), fmt, ap);
                va_end(ap);
        }
}

/* One frame from the plugin: its bytes continue the connection's stream, and each
 * whole ttrpc message is queued. Go's rules are checked on the way: a message's
 * first frame is at most 4096 bytes, no frame holds bytes of two messages, no
 * frame is empty. */
static void take_frame(struct peer *p, uint32_t conn, const uint8_t *data, size_t len)
{
        struct bytes *s;
        size_t before, off = 0;

        if (conn != CONN_PLUGIN && conn != CONN_RUNTIME) {
                p->frames_unknown++;
                peer_violation(p, "a frame for connection %u", conn);
                return;
        }
        if (len == 0) {
                peer_violation(p, "a zero-length frame on connection %u", conn);
                return;
        }
        s = &p->conn[conn];
        before = s->len;
        if (before == 0 && len > GO_FIRST_FRAME)
                peer_violation(p, "a message on connection %u starts with a frame of %zu bytes", conn, len);
        bytes_append(s, data, len);
        while (s->len - off >= TTRPC_HEADER) {
                uint32_t body = get_be32(s->buf + off);
                size_t end = off + TTRPC_HEADER + body;
                struct msg *m;

                if (body > TTRPC_MAX) {
                        peer_violation(p, "a ttrpc message of %u bytes on connection %u", body, conn);
                        p->closed = true;
                        s->len = 0;
                        return;
                }
                if (end > s->len)
                        break;
                if (end > before && end < before + len)
                        peer_violation(p, "a frame on connection %u holds bytes of two messages", conn);
                m = xmalloc(sizeof(*m) + body);
                *m = (struct msg){ .conn = conn,
                                   .stream = get_be32(s->buf + off + 4),
                                   .type = s->buf[off + 8],
                                   .flags = s->buf[off + 9],
                                   .len = body };
                memcpy(m->body, s->buf + off + TTRPC_HEADER, body);
                *p->tail = m;
                p->tail = &m->next;
                off = end;
        }
        memmove(s->buf, s->buf + off, s->len - off);
        s->len -= off;
}

static void take_frames(struct peer *p)
{
        size_t off = 0;

        while (!p->closed && p->raw.len - off >= MUX_HEADER) {
                uint32_t conn = get_be32(p->raw.buf + off), len = get_be32(p->raw.buf + off + 4);

                if (len > FRAME_FROM_LIMIT) {
                        peer_violation(p, "a frame of %u bytes", len);
                        p->closed = true;
                        break;
                }
                if (len > MUX_FRAME_MAX)
                        peer_violation(p, "a frame of %u bytes, more than a Go writer sends", len);
                if (p->raw.len - off - MUX_HEADER < len)
                        break;
                take_frame(p, conn, p->raw.buf + off + MUX_HEADER, len);
                off += MUX_HEADER + len;
        }
        memmove(p->raw.buf, p->raw.buf + off, p->raw.len - off);
        p->raw.len -= off;
}

/* Waits up to timeout_ms for bytes from the plugin and takes the whole frames:
 * 0, -ETIMEDOUT, or -ECONNRESET once the connection is gone. */
static int peer_pump(struct peer *p, int timeout_ms)
{
        static uint8_t buf[256 * 1024];
        struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
        ssize_t n;
        int r;

        if (p->closed || p->fd < 0)
                return -ECONNRESET;
        r = poll(&pfd, 1, timeout_ms < 0 ? 0 : timeout_ms);
        if (r < 0)
                return errno == EINTR ? 0 : -errno;
        if (r == 0)
                return -ETIMEDOUT;
        n = read(p->fd, buf, sizeof(buf));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                p->closed = true;
                return -ECONNRESET;
        }
        bytes_append(&p->raw, buf, (size_t)n);
        take_frames(p);
        return 0;
}

/* Writes all of buf, reading what the plugin sends meanwhile so that neither
 * side can block the other. */
static int peer_write(struct peer *p, const uint8_t *buf, size_t len)
{
        uint64_t deadline = now_ns() + 5000000000ull;

        if (p->fd < 0)
                return -ECONNRESET;
        while (len > 0) {
                struct pollfd pfd = { .fd = p->fd, .events = POLLOUT | POLLIN };
                ssize_t n = send(p->fd, buf, len, MSG_NOSIGNAL);
                uint64_t now;

                if (n > 0) {
                        buf += n;
                        len -= (size_t)n;
                        continue;
                }
                if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        p->closed = true;
                        return -ECONNRESET;
                }
                now = now_ns();
                if (now >= deadline)
                        return -ETIMEDOUT;
                if (poll(&pfd, 1, (int)((deadline - now) / 1000000) + 1) > 0 && (pfd.revents & POLLIN) && !p->closed &&
                    peer_pump(p, 0) == -ECONNRESET)
                        return -ECONNRESET;
        }
        return 0;
}

static int send_frame(struct peer *p, uint32_t conn, const uint8_t *data, size_t len)
{
        uint8_t *frame = xmalloc(MUX_HEADER + len);
        int r;

        put_be32(frame, conn);
        put_be32(frame + 4, (uint32_t)len);
        if (len)
                memcpy(frame + MUX_HEADER, data, len);
        r = peer_write(p, frame, MUX_HEADER + len);
        free(frame);
        return r;
}

/* How the runtime cuts its ttrpc messages into frames. Each follows Go's rules:
 * a message's first frame is at most 4096 bytes and no frame holds two messages. */
enum split {
        SPLIT_GO,     /* as Go's ttrpc over the multiplexer: header and 4086 bytes, then the rest */
        SPLIT_HEADER, /* the 10-byte header alone, then the body */
        SPLIT_TINY,   /* 3-byte frames: boundaries inside the header and the body */
};

static void ttrpc_header(uint8_t *out, size_t len, uint32_t stream, uint8_t type, uint8_t flags)
{
        put_be32(out, (uint32_t)len);
        put_be32(out + 4, stream);
        out[8] = type;
        out[9] = flags;
}

static int send_chunks(struct peer *p, uint32_t conn, const uint8_t *data, size_t len, size_t chunk)
{
        int r = 0;

        for (size_t off = 0; off < len && r == 0; off += chunk)
                r = send_frame(p, conn, data + off, len - off < chunk ? len - off : chunk);
        return r;
}

static int send_message(struct peer *p, enum split split, uint32_t conn, uint32_t stream, uint8_t type,
                        const uint8_t *body, size_t len)
{
        size_t total = TTRPC_HEADER + len, first;
        uint8_t *m = xmalloc(total);
        int r;

        ttrpc_header(m, len, stream, type, 0);
        if (len)
                memcpy(m + TTRPC_HEADER, body, len);
        switch (split) {
        case SPLIT_HEADER:
                r = send_frame(p, conn, m, TTRPC_HEADER);
                if (r == 0)
                        r = send_chunks(p, conn, m + TTRPC_HEADER, len, MUX_FRAME_MAX);
                break;
        case SPLIT_TINY:
                r = send_chunks(p, conn, m, total, 3);
                break;
        default:
                first = total < GO_FIRST_FRAME ? total : GO_FIRST_FRAME;
                r = send_frame(p, conn, m, first);
                if (r == 0)
                        r = send_chunks(p, conn, m + first, total - first, MUX_FRAME_MAX);
                break;
        }
        free(m);
        return r;
}

/* ---- the runtime ---------------------------------------------------------------------------- */

struct options {
        const char *plugin;    /* build/numapin-nri */
        const char *log;       /* the plugin's stderr */
        const char *state_dir; /* handed to the plugin (in a subfolder per session) */
        char **plugin_args;    /* after "--" */
        int n_plugin_args;
        const char *profile;
        unsigned int count, hold;
};

enum profile {
        RUNTIME_V08,  /* containerd 2.0/2.1: NRI v0.8 */
        RUNTIME_V010, /* CRI-O 1.34: NRI v0.10 */
        RUNTIME_V012, /* NRI v0.12: its version in Configure, dedicated event calls */
};

struct runtime {
        const struct options *o;
        struct peer peer;
        /* what kind of runtime it is */
        const char *label;
        const char *runtime_name, *runtime_version;
        const char *nri_version;   /* ConfigureRequest.nri_version: "" before NRI v0.12 */
        uint32_t valid_events;     /* 0x7FF up to NRI v0.9, 0x3FFF from v0.10 */
        bool dedicated_events;     /* NRI v0.12: PostCreateContainer and RemoveContainer as calls of their own */
        bool fallback[16];         /* events moved to StateChange after an UNIMPLEMENTED answer */
        const char *config;        /* ConfigureRequest.config: a pre-installed plugin's drop-in */
        bool defer_register_reply; /* Configure reaches the plugin before the RegisterPlugin reply */
        bool refuse_registration;  /* answer RegisterPlugin with an error (once) */
        bool ok_status_present;    /* OK replies carry a status with code 0 (as ttrpc-rust sends them) */
        bool tracing;              /* a traceparent in each request's metadata, as otelttrpc adds */
        enum split split;
        uint32_t next_stream;
        uint64_t deadline_ns; /* a budget shared by several calls (a paged Synchronize), 0: none */
        /* what the plugin said */
        bool registered, register_reply_pending;
        unsigned int registrations;
        uint32_t register_stream, last_plugin_stream;
        char name[128], idx[16], plugin_nri_version[64];
        char register_error[256];
        int32_t events;
        unsigned int update_calls, stray;
        char last_updates[512]; /* "ID:CPUS ..." of the last UpdateContainers call */
        /* the plugin process, and the socket of an external one */
        char state_dir[PATH_MAX];
        pid_t pid;
        int exit_status; /* as waitpid() gives it, once reaped */
        bool preinstalled;
        int listen_fd;
        char sock_dir[64], sock_path[108];
};

static void runtime_init(struct runtime *rt, const struct options *o, enum profile profile, const char *subdir)
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

static enum profile profile_of(const char *s)
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
static void session_reset(struct runtime *rt, int fd)
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
                for (size_t i = 0; updates && i < updates->n_update; i++) {
                        const Nri__ContainerUpdate *u = updates->update[i];
                        size_t used = strlen(rt->last_updates);

                        snprintf(rt->last_updates + used, sizeof(rt->last_updates) - used, "%s%s:%s",
                                 used ? " " : "", u->container_id,
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

static int runtime_wait(struct runtime *rt, uint32_t conn, uint32_t stream, uint8_t type, int timeout_ms,
                        struct msg **ret)
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
static void runtime_idle(struct runtime *rt, int timeout_ms)
{
        struct msg *m = NULL;

        runtime_wait(rt, 0, 0, 0, timeout_ms, &m);
        free(m);
}

struct reply {
        int err;  /* 0: answered; -ETIMEDOUT: not within the request timeout; -ECONNRESET: closed */
        int code; /* the status code: 0 is OK */
        char message[1024];
        uint8_t *payload; /* the reply message, packed */
        size_t len;
        size_t rejected; /* a request over 4 MiB, refused before sending as Go's client does */
        uint64_t ns;     /* the round trip */
};

static void reply_clear(struct reply *r)
{
        free(r->payload);
        *r = (struct reply){};
}

static bool reply_ok(const struct reply *r)
{
        return r->err == 0 && r->code == CODE_OK;
}

static const char *describe(const struct reply *r)
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
static int call_body(struct runtime *rt, uint32_t stream, const uint8_t *body, size_t len, enum split split,
                     struct reply *ret)
{
        Nri__Empty empty = NRI__EMPTY__INIT;
        Ttrpc__Response *response;
        struct msg *m = NULL;
        uint64_t start = now_ns();
        int timeout = REQUEST_TIMEOUT_MS, r;

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

static uint32_t next_stream(struct runtime *rt)
{
        uint32_t stream = rt->next_stream;

        rt->next_stream += 2;
        return stream;
}

/* A packed ttrpc Request; NULL (and *ret_len the size) when it is over 4 MiB. */
static uint8_t *pack_request(const struct runtime *rt, const char *service, const char *method, const uint8_t *payload,
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

static int call_raw(struct runtime *rt, const char *service, const char *method, const uint8_t *payload, size_t len,
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

static int call(struct runtime *rt, const char *method, const ProtobufCMessage *request, struct reply *ret)
{
        size_t len = protobuf_c_message_get_packed_size(request);
        uint8_t *payload = xmalloc(len);
        int r;

        protobuf_c_message_pack(request, payload);
        r = call_raw(rt, PLUGIN_SERVICE, method, payload, len, ret);
        free(payload);
        return r;
}

/* ---- the plugin process ------------------------------------------------------------------- */

static void log_line(const struct runtime *rt, const char *what)
{
        FILE *f;

        if (!rt->o->log || !(f = fopen(rt->o->log, "ae")))
                return;
        fprintf(f, "--- nri-harness: %s%s\n", scope, what);
        fclose(f);
}

static pid_t spawn(const struct runtime *rt, const char *const *extra, int fd3)
{
        const struct options *o = rt->o;
        static char env_name[160], env_idx[32];
        char *argv[96], *envp[4] = { env_name, env_idx, "NRI_PLUGIN_SOCKET=3", NULL };
        extern char **environ;
        char **env = environ;
        int n = 0, log_fd, null_fd;
        pid_t pid;

        argv[n++] = (char *)o->plugin;
        if (!rt->preinstalled) {
                argv[n++] = "--socket";
                argv[n++] = (char *)rt->sock_path;
        }
        argv[n++] = "--state-dir";
        argv[n++] = (char *)rt->state_dir;
        for (int i = 0; i < o->n_plugin_args && n < 80; i++)
                argv[n++] = o->plugin_args[i];
        for (size_t i = 0; extra && extra[i] && n < 94; i++)
                argv[n++] = (char *)extra[i];
        argv[n] = NULL;
        if (rt->preinstalled) {
                /* exactly the runtime's three variables: NRI_PLUGIN_NAME, _IDX and _SOCKET */
                snprintf(env_name, sizeof(env_name), "NRI_PLUGIN_NAME=%s", rt->name);
                snprintf(env_idx, sizeof(env_idx), "NRI_PLUGIN_IDX=%s", rt->idx);
                env = envp;
        } else
                unsetenv("NRI_PLUGIN_SOCKET");

        log_fd = open(o->log ? o->log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (log_fd < 0 || null_fd < 0)
                die("cannot open %s: %s", o->log ? o->log : "/dev/null", strerror(errno));
        pid = fork();
        if (pid < 0)
                die("fork: %s", strerror(errno));
        if (pid == 0) {
                /* a plugin outliving the harness would reconnect forever */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                dup2(null_fd, 0);
                dup2(null_fd, 1);
                dup2(log_fd, 2);
                if (fd3 == 3)
                        fcntl(3, F_SETFD, 0);
                else if (fd3 >= 0)
                        dup2(fd3, 3); /* the copy is not close-on-exec: Go's ExtraFiles[0] */
                execve(argv[0], argv, env);
                _exit(127);
        }
        close(log_fd);
        close(null_fd);
        remember_child(pid);
        return pid;
}

static bool plugin_alive(struct runtime *rt)
{
        int status;

        if (rt->pid <= 0)
                return false;
        if (waitpid(rt->pid, &status, WNOHANG) == rt->pid) {
                forget_child(rt->pid);
                rt->exit_status = status;
                rt->pid = 0;
                return false;
        }
        return true;
}

/* Waits up to timeout_ms for the plugin to exit; true when it did. */
static bool plugin_wait(struct runtime *rt, unsigned int timeout_ms)
{
        for (unsigned int waited = 0; plugin_alive(rt); waited += 10) {
                if (waited >= timeout_ms)
                        return false;
                sleep_ms(10);
        }
        return true;
}

static const char *exit_text(int status)
{
        static char text[64];

        if (WIFEXITED(status))
                snprintf(text, sizeof(text), "exited with status %d", WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
                snprintf(text, sizeof(text), "killed by signal %d", WTERMSIG(status));
        else
                snprintf(text, sizeof(text), "status 0x%x", status);
        return text;
}

/* Sends sig and waits up to 3 s (then SIGKILL); true when the plugin exited on its own. */
static bool plugin_stop(struct runtime *rt, int sig)
{
        if (rt->pid <= 0)
                return true;
        kill(rt->pid, sig);
        if (plugin_wait(rt, 3000))
                return true;
        kill(rt->pid, SIGKILL);
        plugin_wait(rt, 3000);
        return false;
}

static void runtime_clear(struct runtime *rt)
{
        if (rt->pid > 0)
                plugin_stop(rt, SIGKILL);
        peer_close(&rt->peer);
        if (rt->listen_fd >= 0)
                close(rt->listen_fd);
        rt->listen_fd = -1;
        if (rt->sock_path[0])
                unlink(rt->sock_path);
}

/* As the runtime: a stale socket removed, a fresh one listening, in a short path. */
static void runtime_socket_path(struct runtime *rt)
{
        if (!rt->sock_dir[0]) {
                strcpy(rt->sock_dir, "/tmp/nrih.XXXXXX");
                if (!mkdtemp(rt->sock_dir))
                        die("mkdtemp: %s", strerror(errno));
                if (n_socket_dirs < sizeof(socket_dirs) / sizeof(socket_dirs[0]))
                        strcpy(socket_dirs[n_socket_dirs++], rt->sock_dir);
                snprintf(rt->sock_path, sizeof(rt->sock_path), "%s/nri.sock", rt->sock_dir);
        }
}

static void runtime_listen(struct runtime *rt)
{
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        int fd;

        runtime_socket_path(rt);
        unlink(rt->sock_path);
        strcpy(addr.sun_path, rt->sock_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 16) < 0)
                die("cannot listen on %s: %s", rt->sock_path, strerror(errno));
        rt->listen_fd = fd;
}

/* The runtime goes away: its connection and its socket. */
static void runtime_unlisten(struct runtime *rt)
{
        session_reset(rt, -1);
        if (rt->listen_fd >= 0)
                close(rt->listen_fd);
        rt->listen_fd = -1;
        unlink(rt->sock_path);
}

/* Accepts the plugin's connection; the time it took, or -ETIMEDOUT. */
static int64_t runtime_accept(struct runtime *rt, int timeout_ms)
{
        struct pollfd pfd = { .fd = rt->listen_fd, .events = POLLIN };
        uint64_t start = now_ns();
        int fd;

        if (poll(&pfd, 1, timeout_ms) <= 0)
                return -ETIMEDOUT;
        fd = accept4(rt->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
                return -errno;
        session_reset(rt, fd);
        return (int64_t)((now_ns() - start) / 1000000);
}

static bool runtime_start_external(struct runtime *rt, const char *const *extra)
{
        int64_t r;

        runtime_listen(rt);
        log_line(rt, "starting an external plugin");
        rt->pid = spawn(rt, extra, -1);
        r = runtime_accept(rt, REGISTRATION_TIMEOUT_MS);
        return require(r >= 0, "the plugin connects to the runtime's socket", "%s",
                       r == -ETIMEDOUT ? "no connection within 5 s" : strerror((int)-r));
}

/* As a runtime starts a pre-installed plugin: a socketpair, the peer as fd 3,
 * only NRI_PLUGIN_NAME, NRI_PLUGIN_IDX and NRI_PLUGIN_SOCKET in the environment. */
static void runtime_start_preinstalled(struct runtime *rt, const char *name, const char *idx, const char *const *extra)
{
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                die("socketpair: %s", strerror(errno));
        rt->preinstalled = true;
        copy_str(rt->name, sizeof(rt->name), name);
        copy_str(rt->idx, sizeof(rt->idx), idx);
        log_line(rt, "starting a pre-installed plugin");
        rt->pid = spawn(rt, extra, sv[1]);
        close(sv[1]);
        session_reset(rt, sv[0]);
        rt->name[0] = rt->idx[0] = '\0'; /* from now on, what the plugin registers with */
}

/* Waits for RegisterPlugin (the registration timeout): 0, or why not. */
static int runtime_await_registration(struct runtime *rt)
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

static int runtime_configure(struct runtime *rt, struct reply *ret)
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

/* ---- containers, as the runtime describes them -------------------------------------------- */

struct kv {
        char key[160];
        char value[200];
};

/* One container, written as a line: "ID key=value...". Keys: name, pod, pod:ANNOTATION,
 * ctr:ANNOTATION, quota, period, memory, cpus, mems (its current cpuset), pid, padding
 * (bytes of extra labels), state (created|running). */
struct spec {
        char id[256], name[64], pod[160];
        struct kv pod_annotations[MAX_KV], annotations[MAX_KV];
        size_t n_pod_annotations, n_annotations;
        int64_t quota, memory; /* -1: not set */
        uint64_t period;       /* 0: not set */
        char cpus[256], mems[64];
        uint64_t pid, padding;
        Nri__ContainerState state;
};

static int spec_error(char *err, size_t errsize, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int spec_error(char *err, size_t errsize, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, errsize, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static int spec_parse(const char *line, struct spec *ret, char *err, size_t errsize)
{
        struct spec s = { .quota = -1, .memory = -1, .state = NRI__CONTAINER_STATE__CONTAINER_CREATED };
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
                        fits = copy_str(kv->key, sizeof(kv->key), key + 4) &&
                               copy_str(kv->value, sizeof(kv->value), value);
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
static struct spec spec_of(const char *line)
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

static Nri__PodSandbox__AnnotationsEntry *pod_entry(struct arena *a, const char *key, const char *value)
{
        Nri__PodSandbox__AnnotationsEntry *e = arena_alloc(a, sizeof(*e));

        nri__pod_sandbox__annotations_entry__init(e);
        e->key = arena_strdup(a, key);
        e->value = arena_strdup(a, value);
        return e;
}

static Nri__Container__AnnotationsEntry *ctr_entry(struct arena *a, const char *key, const char *value)
{
        Nri__Container__AnnotationsEntry *e = arena_alloc(a, sizeof(*e));

        nri__container__annotations_entry__init(e);
        e->key = arena_strdup(a, key);
        e->value = arena_strdup(a, value);
        return e;
}

static Nri__Container__LabelsEntry *ctr_label(struct arena *a, const char *key, const char *value)
{
        Nri__Container__LabelsEntry *e = arena_alloc(a, sizeof(*e));

        nri__container__labels_entry__init(e);
        e->key = arena_strdup(a, key);
        e->value = arena_strdup(a, value);
        return e;
}

static Nri__PodSandbox *build_pod(struct arena *a, const struct spec *s)
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
                        pod_entry(a, s->pod_annotations[i].key, s->pod_annotations[i].value);
        pod->annotations[pod->n_annotations++] = pod_entry(a, "kubernetes.io/config.source", "api");
        nri__linux_pod_sandbox__init(linux_pod);
        linux_pod->cgroup_parent = arena_printf(a, "/kubepods/besteffort/pod%s", pod->uid);
        linux_pod->cgroups_path = linux_pod->cgroup_parent;
        pod->linux = linux_pod;
        pod->runtime_handler = "runc";
        add_unknown_bytes(a, &pod->base, 10, "10.88.0.7", 9); /* ips, NRI v0.8 */
        return pod;
}

static Nri__Container *build_container(struct arena *a, const struct spec *s)
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
                c->annotations[c->n_annotations++] = ctr_entry(a, s->annotations[i].key, s->annotations[i].value);
        c->annotations[c->n_annotations++] = ctr_entry(a, "io.kubernetes.cri.container-type", "container");
        c->annotations[c->n_annotations++] = ctr_entry(a, "io.kubernetes.cri.container-name", s->name);
        c->annotations[c->n_annotations++] = ctr_entry(a, "io.kubernetes.cri.sandbox-id", s->pod);

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
static void build_state(struct arena *a, const struct spec *specs, size_t n, Nri__PodSandbox ***ret_pods,
                        size_t *ret_n_pods, Nri__Container ***ret_containers)
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

struct cpuset_update {
        char id[256], cpus[256], mems[64];
};

struct outcome {
        bool malformed;
        bool adjusted; /* adjust.linux.resources.cpu carries a cpuset */
        char cpus[256], mems[64];
        bool memory_policy;
        int mpol_mode;
        char mpol_nodes[64];
        size_t n_updates;
        struct cpuset_update updates[MAX_UPDATES];
};

static void cpuset_of(const Nri__LinuxResources *resources, char *cpus, size_t cpus_size, char *mems, size_t mems_size)
{
        const Nri__LinuxCPU *cpu = resources ? resources->cpu : NULL;

        copy_str(cpus, cpus_size, cpu ? cpu->cpus : "");
        copy_str(mems, mems_size, cpu ? cpu->mems : "");
}

static void take_updates(Nri__ContainerUpdate **list, size_t n, struct outcome *out)
{
        for (size_t i = 0; i < n && out->n_updates < MAX_UPDATES; i++) {
                struct cpuset_update *u = &out->updates[out->n_updates++];

                copy_str(u->id, sizeof(u->id), list[i]->container_id);
                cpuset_of(list[i]->linux ? list[i]->linux->resources : NULL, u->cpus, sizeof(u->cpus), u->mems,
                          sizeof(u->mems));
        }
}

static const uint8_t *payload_of(const struct reply *r)
{
        return r->len ? r->payload : (const uint8_t *)"";
}

static struct outcome outcome_of_create(const struct reply *r)
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

static const struct cpuset_update *find_update(const struct outcome *out, const char *id)
{
        for (size_t i = 0; i < out->n_updates; i++)
                if (strcmp(out->updates[i].id, id) == 0)
                        return &out->updates[i];
        return NULL;
}

static const char *dash(const char *s)
{
        return s[0] ? s : "-";
}

/* "cpus=... mems=..." [mpol=MODE:NODES] [update=ID:CPUS:MEMS]...; "-" for absent. */
static const char *outcome_text(const struct outcome *out)
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

/* A field of the plugin's ledger record <state>/containers/<id>.json, "" when the
 * field is empty; -ENOENT without a record. A scan for `"field": value`, enough for
 * the ledger's one-field-per-line JSON (tests/integration/nri.sh reads it with jq). */
static int ledger_field(const struct runtime *rt, const char *id, const char *field, char *ret, size_t size)
{
        char path[PATH_MAX + 300], key[80], text[65536], *p;
        size_t n = 0;
        ssize_t got;
        int fd;

        snprintf(path, sizeof(path), "%s/containers/%s.json", rt->state_dir, id);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        got = read(fd, text, sizeof(text) - 1);
        close(fd);
        if (got < 0)
                return -EIO;
        text[got] = '\0';
        snprintf(key, sizeof(key), "\"%s\":", field);
        p = strstr(text, key);
        if (!p)
                return -ENODATA;
        p += strlen(key);
        while (*p == ' ')
                p++;
        if (*p == '"')
                for (p++; *p && *p != '"' && n + 1 < size; p++)
                        ret[n++] = *p;
        else
                for (; *p && !strchr(",}\n ", *p) && n + 1 < size; p++)
                        ret[n++] = *p;
        ret[n] = '\0';
        return 0;
}

/* The record's field, "(no record)" or "(no field)". */
static const char *record(const struct runtime *rt, const char *id, const char *field)
{
        static char values[4][512];
        static unsigned int turn;
        char *value = values[turn++ % 4];
        int r = ledger_field(rt, id, field, value, sizeof(values[0]));

        if (r == -ENOENT)
                return "(no record)";
        if (r < 0)
                return "(no field)";
        return value;
}

static bool has_record(const struct runtime *rt, const char *id)
{
        return strcmp(record(rt, id, "id"), "(no record)") != 0;
}

static unsigned int count_records(const struct runtime *rt)
{
        char path[PATH_MAX + 16];
        unsigned int n = 0;
        struct dirent *entry;
        DIR *dir;

        snprintf(path, sizeof(path), "%s/containers", rt->state_dir);
        dir = opendir(path);
        if (!dir)
                return 0;
        while ((entry = readdir(dir))) {
                size_t len = strlen(entry->d_name);

                n += len > 5 && strcmp(entry->d_name + len - 5, ".json") == 0;
        }
        closedir(dir);
        return n;
}

/* ---- the runtime's calls -------------------------------------------------------------------- */

static struct outcome runtime_create(struct runtime *rt, const struct spec *s, struct reply *ret)
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
static struct outcome runtime_update(struct runtime *rt, const struct spec *s, struct reply *ret)
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

static struct outcome runtime_stop(struct runtime *rt, const struct spec *s, struct reply *ret)
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
static const char *runtime_event(struct runtime *rt, Nri__Event event, const struct spec *s, bool force_state_change,
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

struct sync_result {
        struct reply last;     /* the final chunk's reply */
        unsigned int chunks;   /* sent */
        unsigned int echoes;   /* more=true chunks answered more=true without updates */
        unsigned int rejected; /* requests over 4 MiB refused before sending, as Go's client does */
        size_t whole_bytes;    /* the whole state in one ttrpc request */
        size_t largest_chunk;
        char why[300]; /* why the runtime gave up */
        struct outcome updates;
        uint64_t ns;
};

/* Synchronize as the adaptation does it: everything at once; when that is over
 * 4 MiB, objects per message shrink by min(0.9, max/rejected) (at least 4+4) and
 * the chunks go out with more=true, each to be echoed, the last with more=false.
 * The whole exchange shares one request timeout. */
static bool runtime_synchronize(struct runtime *rt, Nri__PodSandbox **pods, size_t n_pods, Nri__Container **containers,
                                size_t n_containers, struct sync_result *ret)
{
        size_t pods_per = n_pods, ctrs_per = n_containers, pod_off = 0, ctr_off = 0;
        uint64_t start = now_ns();
        bool done = false, ok = false;

        *ret = (struct sync_result){};
        rt->deadline_ns = start + (uint64_t)REQUEST_TIMEOUT_MS * 1000000ull;
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

static bool runtime_synchronize_specs(struct runtime *rt, const struct spec *specs, size_t n, struct sync_result *ret)
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
static bool runtime_handshake(struct runtime *rt, const struct spec *specs, size_t n)
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

/* ---- scenarios ------------------------------------------------------------------------------ */

static bool create_expect(struct runtime *rt, const char *line, const char *want_cpus, const char *want_mems,
                          const char *name)
{
        struct spec s = spec_of(line);
        struct reply reply;
        struct outcome out = runtime_create(rt, &s, &reply);
        bool ok = expect(reply_ok(&reply) && !out.malformed && strcmp(out.cpus, want_cpus) == 0 &&
                                 strcmp(out.mems, want_mems) == 0,
                         name, "expected cpus=%s mems=%s, got %s", dash(want_cpus), dash(want_mems),
                         reply_ok(&reply) ? outcome_text(&out) : describe(&reply));

        reply_clear(&reply);
        return ok;
}

static void expect_record(const struct runtime *rt, const char *id, const char *fields, const char *name)
{
        char want[1024], got[1024] = "", *save = NULL, *field;
        size_t n = 0;

        copy_str(want, sizeof(want), fields);
        for (field = strtok_r(want, " ", &save); field; field = strtok_r(NULL, " ", &save)) {
                char *eq = strchr(field, '=');

                if (eq)
                        *eq = '\0';
                n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s=%s", n ? " " : "", field, record(rt, id, field));
                if (n >= sizeof(got))
                        break;
        }
        expect_str(name, fields, got);
}

static void expect_clean_wire(struct runtime *rt)
{
        expect(rt->peer.violations == 0, "every frame the plugin sent is one a Go runtime can read",
               "%u violations, the first: %s", rt->peer.violations, rt->peer.violation);
}

static void expect_exit_zero(struct runtime *rt, int sig, const char *name)
{
        bool exited = plugin_stop(rt, sig);

        expect(exited && WIFEXITED(rt->exit_status) && WEXITSTATUS(rt->exit_status) == 0, name, "%s",
               exited ? exit_text(rt->exit_status) : "still running 3 s later (killed)");
}

static void scenario_handshake(const struct options *o)
{
        static const char *const identity[] = { "--name", "numapin-test", "--idx", "42", NULL };
        struct runtime rt;
        struct sync_result sync;
        struct reply reply = {};
        struct spec plain;
        struct outcome out;
        int r;

        /* containerd 2.1: NRI v0.8, no nri_version, the RegisterPlugin reply first */
        runtime_init(&rt, o, RUNTIME_V08, "handshake-v08");
        set_scope("handshake, %s: ", rt.label);
        if (!runtime_start_external(&rt, NULL))
                goto next;
        r = runtime_await_registration(&rt);
        if (!expect(r == 0, "RegisterPlugin within the registration timeout (5 s)", "%s",
                    r == -ETIMEDOUT ? "none"
                    : r == -EPERM   ? rt.register_error
                                    : "the connection closed"))
                goto next;
        expect(rt.register_stream == 1, "RegisterPlugin is the plugin's first call: stream 1 on connection 2",
               "stream %u", rt.register_stream);
        expect_str("RegisterPlugin names the default plugin_name 'numapin'", "numapin", rt.name);
        expect_str("RegisterPlugin names the default plugin_idx '90'", "90", rt.idx);
        note("the plugin registers with nri_version '%s'", rt.plugin_nri_version);
        r = runtime_configure(&rt, &reply);
        expect(r == 0, "Configure is answered OK", "%s", r == -EPROTO ? "malformed reply" : describe(&reply));
        reply_clear(&reply);
        expect(rt.events == NUMAPIN_EVENTS,
               "Configure subscribes to 0x698 (CreateContainer, PostCreateContainer, UpdateContainer, StopContainer, "
               "RemoveContainer)",
               "events 0x%x", rt.events);
        expect(rt.events != 0 && !(rt.events & ~0x7FF),
               "the event mask is within 0x7FF, what an NRI v0.8 runtime accepts", "events 0x%x", rt.events);
        runtime_synchronize_specs(&rt, NULL, 0, &sync);
        expect(!sync.why[0] && sync.updates.n_updates == 0 && sync.chunks == 1,
               "Synchronize without pods or containers: answered, no updates", "%s",
               sync.why[0] ? sync.why : outcome_text(&sync.updates));
        reply_clear(&sync.last);
        plain = spec_of("plain name=main");
        out = runtime_create(&rt, &plain, &reply);
        expect(reply_ok(&reply) && !out.malformed && !out.adjusted && !out.memory_policy && out.n_updates == 0,
               "an unannotated container: an empty CreateContainerResponse", "%s",
               reply_ok(&reply) ? outcome_text(&out) : describe(&reply));
        reply_clear(&reply);
        expect(!has_record(&rt, "plain"), "an unannotated container: no ledger record", "a record exists");
        expect(rt.registrations == 1, "one registration per connection", "%u", rt.registrations);
        expect_clean_wire(&rt);
        expect_exit_zero(&rt, SIGTERM, "SIGTERM: the plugin exits 0");
next:
        runtime_clear(&rt);

        /* NRI v0.12: Configure before the RegisterPlugin reply, --name/--idx, a traceparent
         * in the metadata, OK replies with a status of code 0, headers in frames of their own */
        runtime_init(&rt, o, RUNTIME_V012, "handshake-v012");
        set_scope("handshake, %s: ", rt.label);
        rt.defer_register_reply = rt.tracing = rt.ok_status_present = true;
        rt.split = SPLIT_HEADER;
        if (!runtime_start_external(&rt, identity))
                goto out;
        r = runtime_await_registration(&rt);
        if (!expect(r == 0, "RegisterPlugin within the registration timeout (5 s)", "%s",
                    r == -ETIMEDOUT ? "none"
                    : r == -EPERM   ? rt.register_error
                                    : "the connection closed"))
                goto out;
        expect_str("--name numapin-test --idx 42: RegisterPlugin names them", "numapin-test 42",
                   name_f("%s %s", rt.name, rt.idx));
        r = runtime_configure(&rt, &reply);
        expect(r == 0, "Configure sent before the RegisterPlugin reply is answered OK", "%s",
               r == -EPROTO ? "malformed reply" : describe(&reply));
        reply_clear(&reply);
        expect(rt.events != 0 && !(rt.events & ~0x3FFF), "the event mask is within 0x3FFF", "events 0x%x", rt.events);
        runtime_synchronize_specs(&rt, NULL, 0, &sync);
        expect(!sync.why[0], "Synchronize is answered", "%s", sync.why);
        reply_clear(&sync.last);
        create_expect(&rt, "c1 pod:cpus.numapin.io/pod=2", "0,16", "0",
                      "then a container asking for 2 exclusive CPUs gets one core of node 0: cpus 0,16, mems 0");
        expect_clean_wire(&rt);
        expect_exit_zero(&rt, SIGINT, "SIGINT: the plugin exits 0");
out:
        runtime_clear(&rt);
}

/* A paged Synchronize cut short by the runtime: what its first chunk listed must
 * not count once the plugin synchronizes again on a new connection. */
static void interrupted_sync(struct runtime *rt)
{
        Nri__SynchronizeRequest request = NRI__SYNCHRONIZE_REQUEST__INIT;
        Nri__SynchronizeResponse *response = NULL;
        struct spec ghost = spec_of("ghost pod=pg-ghost pod:cpus.numapin.io/pod=2 cpus=8,24 mems=1 state=running");
        Nri__PodSandbox *pod;
        Nri__Container *container;
        struct reply reply;
        struct arena a = {};

        pod = build_pod(&a, &ghost);
        container = build_container(&a, &ghost);
        request.pods = &pod;
        request.n_pods = 1;
        request.containers = &container;
        request.n_containers = 1;
        request.more = true;
        call(rt, "Synchronize", &request.base, &reply);
        if (reply_ok(&reply))
                response = nri__synchronize_response__unpack(NULL, reply.len, payload_of(&reply));
        expect(response && response->more && response->n_update == 0,
               "a first chunk (more=true) listing 'ghost' is echoed", "%s", describe(&reply));
        if (response)
                nri__synchronize_response__free_unpacked(response, NULL);
        reply_clear(&reply);
        arena_free(&a);
        session_reset(rt, -1); /* the runtime gives up on this connection */
        if (!require(runtime_accept(rt, 5000) >= 0, "the plugin reconnects", "no connection within 5 s") ||
            !runtime_handshake(rt, NULL, 0))
                return;
        expect(!has_record(rt, "ghost"),
               "the runtime drops the connection mid-Synchronize; after a new, empty Synchronize 'ghost' is not "
               "recorded",
               "ghost: %s", record(rt, "ghost", "cpus"));
        expect(!has_record(rt, "pc-2999"), "and the records of containers no longer listed are gone", "pc-2999: %s",
               record(rt, "pc-2999", "cpus"));
        create_expect(rt, "after-ghost pod:cpus.numapin.io/pod=2 pod:nodes.numapin.io/pod=1", "8,24", "1",
                      "a container asking for node 1's first core gets it (8,24): nothing held by 'ghost'");
}

static void scenario_sync(const struct options *o)
{
        static const char *const existing[] = {
                "s1 pod=p1 name=main pod:cpus.numapin.io/pod=4 cpus=0-1,16-17 mems=0 pid=4001 state=running",
                "s2 pod=p2 name=main pod:nodes.numapin.io/pod=1 cpus=8-15,24-31 mems=1 pid=4002 state=running",
                "s3 pod=p3 name=main cpus=0-31 mems=0-1 state=running",
                "s4 pod=p4 name=side pod:policy.numapin.io/container.side=cpus-only pod:nodes.numapin.io/container.side=1 "
                "cpus=8-15,24-31 mems=0-1 state=running",
                "s5 pod=p1 name=sidecar state=running",
                /* hostile states from the runtime: CPUs the machine lacks, a pid beyond any the kernel gives */
                "s6 pod=p6 name=main pod:cpus.numapin.io/pod=2 cpus=98-99 mems=0 state=running",
                "s7 pod=p7 name=main pod:policy.numapin.io/pod=bind cpus=2-3,18-19 mems=0 pid=4294967295 state=running",
        };
        struct spec specs[8];
        struct runtime rt;
        struct sync_result sync;
        struct reply reply = {};
        struct spec n1;
        struct outcome out;
        const struct cpuset_update *u;
        char n1_cpus[256] = "";

        runtime_init(&rt, o, RUNTIME_V08, "sync");
        set_scope("sync, %s: ", rt.label);
        for (size_t i = 0; i < 7; i++)
                specs[i] = spec_of(existing[i]);
        if (!runtime_start_external(&rt, NULL) || !runtime_handshake(&rt, NULL, 0))
                goto paged;
        /* a plugin that starts while containers run: it counts them from their cpusets */
        runtime_synchronize_specs(&rt, specs, 7, &sync);
        expect(!sync.why[0] && sync.chunks == 1 && sync.updates.n_updates == 0,
               "Synchronize with 6 pods and 7 containers: answered in one message, no updates", "%s",
               sync.why[0] ? sync.why : outcome_text(&sync.updates));
        reply_clear(&sync.last);
        expect_record(&rt, "s1",
                      "policy=bind nodes=0 cpus=0-1,16-17 mems=0 exclusive_cpus=0-1,16-17 source=nri pid=4001",
                      "s1 (cpus=4, cpuset 0-1,16-17): recorded as holding those CPUs exclusively");
        expect_record(&rt, "s2", "policy=bind nodes=1 cpus=8-15,24-31 mems=1 exclusive_cpus= source=nri",
                      "s2 (nodes=1, cpuset 8-15,24-31): recorded as a shared container on node 1");
        expect_record(&rt, "s4", "policy=cpus-only nodes=1 cpus=8-15,24-31 source=nri",
                      "s4 (container-scoped cpus-only for 'side'): recorded as cpus-only");
        expect(!has_record(&rt, "s3"), "s3 (unannotated): no record", "a record exists");
        expect(!has_record(&rt, "s5"), "s5 (annotated, no cpuset): no record", "a record exists");
        expect(!has_record(&rt, "s6"), "s6 (cpuset 98-99, CPUs this machine lacks): not counted", "a record exists");
        expect_str("s7 (pid 4294967295): counted, its pid not trusted (0)", "0", record(&rt, "s7", "pid"));
        n1 = spec_of("n1 pod=p5 pod:cpus.numapin.io/pod=2");
        out = runtime_create(&rt, &n1, &reply);
        if (expect(reply_ok(&reply) && cpulist_count(out.cpus) == 2 && cpulist_disjoint(out.cpus, "0-1,16-17"),
                   "a new container asking for 2 exclusive CPUs is placed around s1's", "%s",
                   reply_ok(&reply) ? outcome_text(&out) : describe(&reply)))
                copy_str(n1_cpus, sizeof(n1_cpus), out.cpus);
        expect_str("it gets a core of node 1, which has the most free CPUs: cpus 8,24, mems 1", "8,24 1",
                   name_f("%s %s", dash(out.cpus), dash(out.mems)));
        u = find_update(&out, "s2");
        expect(u && strcmp(u->cpus, "9-15,25-31") == 0 && (!u->mems[0] || strcmp(u->mems, "1") == 0),
               "s2, shared on node 1, is moved off those CPUs: an update to cpus 9-15,25-31 (mems 1 or unchanged)",
               "%s", outcome_text(&out));
        u = find_update(&out, "s4");
        expect(u && strcmp(u->cpus, "9-15,25-31") == 0 && !u->mems[0],
               "s4, cpus-only on node 1, is moved too: cpus 9-15,25-31, mems left alone", "%s", outcome_text(&out));
        expect(!find_update(&out, "n1"), "no update targets the container being created (the runtime refuses that)",
               "%s", outcome_text(&out));
        reply_clear(&reply);

        /* the plugin restarts; the runtime now lists s2, s3 and n1 only */
        expect_exit_zero(&rt, SIGTERM, "SIGTERM: the plugin exits 0");
        log_line(&rt, "restarting the plugin");
        session_reset(&rt, -1);
        rt.pid = spawn(&rt, NULL, -1);
        if (!require(runtime_accept(&rt, REGISTRATION_TIMEOUT_MS) >= 0, "the restarted plugin connects",
                     "no connection within 5 s") ||
            !runtime_handshake(&rt, NULL, 0))
                goto paged;
        specs[0] = specs[1];
        specs[1] = specs[2];
        specs[2] = spec_of(name_f("n1 pod=p5 pod:cpus.numapin.io/pod=2 cpus=%s mems=1 state=running", dash(n1_cpus)));
        runtime_synchronize_specs(&rt, specs, 3, &sync);
        expect(!sync.why[0], "after a restart, Synchronize listing s2, s3 and n1 is answered", "%s", sync.why);
        reply_clear(&sync.last);
        expect(!has_record(&rt, "s1") && !has_record(&rt, "s4"),
               "the records of s1 and s4, no longer listed, are dropped", "s1: %s, s4: %s", record(&rt, "s1", "cpus"),
               record(&rt, "s4", "cpus"));
        expect(has_record(&rt, "s2") && strcmp(record(&rt, "n1", "cpus"), n1_cpus) == 0 &&
                       strcmp(record(&rt, "n1", "exclusive_cpus"), n1_cpus) == 0,
               "the records of s2 and n1 stay, n1 still holding its CPUs", "s2: %s, n1: %s/%s",
               record(&rt, "s2", "cpus"), record(&rt, "n1", "cpus"), record(&rt, "n1", "exclusive_cpus"));
        create_expect(&rt, "n2 pod=p6 pod:cpus.numapin.io/pod=2", "0,16", "0",
                      "a new exclusive container gets node 0's first core, freed by s1 (cpus 0,16)");
        expect_clean_wire(&rt);

paged:
        runtime_clear(&rt);
        /* a state over 4 MiB: the runtime pages it */
        runtime_init(&rt, o, RUNTIME_V08, "sync-paged");
        set_scope("paged sync, %s: ", rt.label);
        if (runtime_start_external(&rt, NULL) && runtime_handshake(&rt, NULL, 0)) {
                enum {
                        N_PODS = 1500,
                        N_CONTAINERS = 3000
                };
                Nri__PodSandbox **pods = xmalloc((N_PODS + 2) * sizeof(*pods));
                Nri__Container **containers = xmalloc(N_CONTAINERS * sizeof(*containers));
                struct arena a = {};
                size_t n_pods = 0;

                /* two containers per pod; the first and the last container have annotated pods of their own */
                for (size_t i = 0; i < N_CONTAINERS; i++) {
                        char line[512];
                        struct spec s;

                        if (i == 0)
                                snprintf(line, sizeof(line),
                                         "pc-0 pod=pg-first pod:nodes.numapin.io/pod=0 "
                                         "cpus=0-7,16-23 mems=0 padding=1800 state=running");
                        else if (i == N_CONTAINERS - 1)
                                snprintf(line, sizeof(line),
                                         "pc-%zu pod=pg-last pod:cpus.numapin.io/pod=2 cpus=9,25 "
                                         "mems=1 padding=1800 state=running",
                                         i);
                        else
                                snprintf(line, sizeof(line),
                                         "pc-%zu pod=pg-%zu cpus=0-31 mems=0-1 padding=1800 "
                                         "state=running",
                                         i, i / 2);
                        s = spec_of(line);
                        if (i == 0 || i == N_CONTAINERS - 1 || i % 2 == 1 || i == N_CONTAINERS - 2)
                                pods[n_pods++] = build_pod(&a, &s);
                        containers[i] = build_container(&a, &s);
                }
                runtime_synchronize(&rt, pods, n_pods, containers, N_CONTAINERS, &sync);
                note("%u chunks of at most %zu bytes for %zu bytes of state; %u refused as oversized before sending; "
                     "%.1f ms",
                     sync.chunks, sync.largest_chunk, sync.whole_bytes, sync.rejected, (double)sync.ns / 1e6);
                expect(sync.whole_bytes > TTRPC_MAX && sync.rejected >= 1,
                       "1502 pods and 3000 containers are more than one 4 MiB message", "%zu bytes", sync.whole_bytes);
                expect(sync.chunks >= 2 && sync.largest_chunk <= TTRPC_MAX,
                       "the runtime sends them in chunks of at most 4 MiB", "%u chunks, largest %zu bytes", sync.chunks,
                       sync.largest_chunk);
                expect(!sync.why[0] && sync.echoes == sync.chunks - 1,
                       "each more=true chunk is echoed with more=true and no updates; the last is answered more=false",
                       "%s (%u echoes of %u chunks)", sync.why[0] ? sync.why : "", sync.echoes, sync.chunks);
                expect(sync.ns < (uint64_t)REQUEST_TIMEOUT_MS * 1000000ull,
                       "the whole exchange fits the 2 s request timeout", "%.0f ms", (double)sync.ns / 1e6);
                reply_clear(&sync.last);
                expect_record(&rt, "pc-0", "nodes=0 cpus=0-7,16-23 mems=0 exclusive_cpus=",
                              "pc-0, in the first chunk, is recorded from its cpuset");
                expect_record(&rt, "pc-2999", "nodes=1 cpus=9,25 mems=1 exclusive_cpus=9,25",
                              "pc-2999, in the last chunk, is recorded as holding 9,25 exclusively");
                expect(!has_record(&rt, "pc-1"), "unannotated containers get no record", "pc-1 has one");
                create_expect(&rt, "after pod:cpus.numapin.io/pod=2 pod:nodes.numapin.io/pod=1", "8,24", "1",
                              "then a container asking for 2 exclusive CPUs of node 1 gets 8,24 (not pc-2999's 9,25)");
                expect_clean_wire(&rt);
                interrupted_sync(&rt);
                arena_free(&a);
                free(pods);
                free(containers);
        }
        runtime_clear(&rt);
}

/* One container's event through the runtime's path for it; the method used. */
static const char *event_expect_ok(struct runtime *rt, Nri__Event event, const char *line, bool force_state_change,
                                   const char *name)
{
        struct spec s = spec_of(line);
        struct reply reply;
        const char *method = runtime_event(rt, event, &s, force_state_change, &reply);

        expect(method[0] && reply_ok(&reply), name, "%s", method[0] ? describe(&reply) : "not subscribed");
        reply_clear(&reply);
        return method;
}

static void scenario_events(const struct options *o, enum profile profile)
{
        struct runtime rt;
        struct reply reply = {};
        struct outcome out;
        struct spec s;
        const struct cpuset_update *u;
        const char *method;

        runtime_init(&rt, o, profile, profile == RUNTIME_V012 ? "events-v012" : "events-v08");
        set_scope("events, %s: ", rt.label);
        rt.tracing = profile == RUNTIME_V012;
        if (!runtime_start_external(&rt, NULL) || !runtime_handshake(&rt, NULL, 0))
                goto out;

        create_expect(&rt,
                      "c1 pod=p1 pod:policy.numapin.io/pod=bind pod:cpus.numapin.io/pod=2 quota=200000 period=100000 "
                      "memory=1073741824",
                      "0,16", "0", "pod-scoped bind + cpus=2: adjustment cpus 0,16 (one SMT core), mems 0");
        expect_record(
                &rt, "c1",
                "policy=bind nodes=0 cpus=0,16 mems=0 exclusive_cpus=0,16 cpu_millis=2000 memory_bytes=1073741824 "
                "source=nri",
                "c1's ledger record: placement, demand (quota/period, memory limit) and source nri");
        create_expect(&rt, "c2 pod=p2 name=app pod:nodes.numapin.io/pod=0 pod:nodes.numapin.io/container.app=1",
                      "8-15,24-31", "1", "a container-scoped key in the pod's annotations wins for 'app': node 1");
        create_expect(&rt, "c3 pod=p2 name=side pod:nodes.numapin.io/pod=0 pod:nodes.numapin.io/container.app=1",
                      "1-7,17-23", "0",
                      "another container of that pod takes the pod-scoped node 0, without c1's exclusive core");
        create_expect(&rt,
                      "c4 pod=p4 name=worker pod:policy.numapin.io/pod=bind "
                      "ctr:policy.numapin.io/container.worker=cpus-only ctr:nodes.numapin.io/container.worker=1",
                      "8-15,24-31", "",
                      "container-scoped keys in the container's annotations: cpus-only on node 1, no mems");
        s = spec_of("c5 pod=p5 name=main pod:example.com/other=1");
        out = runtime_create(&rt, &s, &reply);
        expect(reply_ok(&reply) && !out.adjusted && out.n_updates == 0 && !has_record(&rt, "c5"),
               "an unannotated container: no adjustment, no record", "%s",
               reply_ok(&reply) ? outcome_text(&out) : describe(&reply));
        reply_clear(&reply);

        /* UpdateContainer: the cpuset stays numapin's */
        s = spec_of("c1 pod=p1 pod:policy.numapin.io/pod=bind pod:cpus.numapin.io/pod=2 cpus=0,16 mems=0");
        out = runtime_update(&rt, &s, &reply);
        u = find_update(&out, "c1");
        expect(reply_ok(&reply) && out.n_updates == 1 && u && strcmp(u->cpus, "0,16") == 0 && strcmp(u->mems, "0") == 0,
               "UpdateContainer asking for cpus 0-31: one update for c1 keeping cpus 0,16, mems 0", "%s",
               reply_ok(&reply) ? outcome_text(&out) : describe(&reply));
        reply_clear(&reply);
        s = spec_of(
                "c4 pod=p4 name=worker pod:policy.numapin.io/pod=bind ctr:policy.numapin.io/container.worker=cpus-only "
                "ctr:nodes.numapin.io/container.worker=1");
        out = runtime_update(&rt, &s, &reply);
        u = find_update(&out, "c4");
        expect(reply_ok(&reply) && out.n_updates == 1 && u && strcmp(u->cpus, "8-15,24-31") == 0 && !u->mems[0],
               "UpdateContainer of a cpus-only container: cpus 8-15,24-31 kept, mems not set", "%s",
               reply_ok(&reply) ? outcome_text(&out) : describe(&reply));
        reply_clear(&reply);
        s = spec_of("c5 pod=p5");
        out = runtime_update(&rt, &s, &reply);
        expect(reply_ok(&reply) && out.n_updates == 0, "UpdateContainer of an unplaced container: no update", "%s",
               reply_ok(&reply) ? outcome_text(&out) : describe(&reply));
        reply_clear(&reply);

        /* PostCreateContainer: the pid is recorded */
        method = event_expect_ok(&rt, NRI__EVENT__POST_CREATE_CONTAINER, "c1 pod=p1 pod:cpus.numapin.io/pod=2 pid=4242",
                                 false, "PostCreateContainer is answered");
        note("PostCreateContainer went through %s", method);
        expect_str(name_f("post-create through %s: the record holds the pid", method), "4242",
                   record(&rt, "c1", "pid"));

        /* exclusive CPUs taken from shared containers, and given back at stop */
        s = spec_of("c6 pod=p6 pod:cpus.numapin.io/pod=2 pod:nodes.numapin.io/pod=1");
        out = runtime_create(&rt, &s, &reply);
        expect(reply_ok(&reply) && strcmp(out.cpus, "8,24") == 0 && strcmp(out.mems, "1") == 0,
               "cpus=2 nodes=1: exclusive cpus 8,24, mems 1", "%s",
               reply_ok(&reply) ? outcome_text(&out) : describe(&reply));
        u = find_update(&out, "c2");
        expect(u && strcmp(u->cpus, "9-15,25-31") == 0 && (!u->mems[0] || strcmp(u->mems, "1") == 0),
               "the same reply moves c2 (shared, node 1) to cpus 9-15,25-31 (mems 1 or unchanged)", "%s",
               outcome_text(&out));
        u = find_update(&out, "c4");
        expect(u && strcmp(u->cpus, "9-15,25-31") == 0 && !u->mems[0],
               "and c4 (cpus-only, node 1) to cpus 9-15,25-31, its mems not set", "%s", outcome_text(&out));
        expect(!find_update(&out, "c6") && !find_update(&out, "c3") && !find_update(&out, "c1"),
               "and updates no one else (not c6 itself, not node 0's containers)", "%s", outcome_text(&out));
        reply_clear(&reply);
        expect_str("c2's record follows: cpus 9-15,25-31", "9-15,25-31", record(&rt, "c2", "cpus"));
        out = runtime_stop(&rt, &s, &reply);
        expect(reply_ok(&reply) && !has_record(&rt, "c6"), "StopContainer of c6 is answered and its record goes", "%s",
               reply_ok(&reply) ? record(&rt, "c6", "cpus") : describe(&reply));
        u = find_update(&out, "c2");
        expect(u && strcmp(u->cpus, "8-15,24-31") == 0 && find_update(&out, "c4"),
               "the StopContainerResponse gives c2 and c4 node 1's CPUs back (8-15,24-31)", "%s", outcome_text(&out));
        reply_clear(&reply);
        expect_str("c2's record follows: cpus 8-15,24-31", "8-15,24-31", record(&rt, "c2", "cpus"));

        /* RemoveContainer without a stop (c1 never ran): its reply cannot carry
         * updates, so the shared container on node 0 gets c1's core back through
         * an UpdateContainers call of the plugin's own */
        method = event_expect_ok(&rt, NRI__EVENT__REMOVE_CONTAINER, "c1 pod=p1 pod:cpus.numapin.io/pod=2", false,
                                 "RemoveContainer of c1 is answered");
        expect(!has_record(&rt, "c1"), name_f("removed through %s: c1's record goes", method), "%s",
               record(&rt, "c1", "cpus"));
        runtime_idle(&rt, 200);
        expect(rt.update_calls == 1 && strcmp(rt.last_updates, "c3:0-7,16-23") == 0,
               "removed without a stop: one UpdateContainers gives c3 node 0's CPUs back", "%u calls, '%s'",
               rt.update_calls, rt.last_updates);
        expect_str("c3's record follows: cpus 0-7,16-23", "0-7,16-23", record(&rt, "c3", "cpus"));
        if (profile == RUNTIME_V012) {
                expect_str("a v0.12 runtime uses the dedicated RemoveContainer call", "RemoveContainer", method);
                event_expect_ok(&rt, NRI__EVENT__REMOVE_CONTAINER, "c2 pod=p2 name=app", true,
                                "the deprecated StateChange(REMOVE_CONTAINER) still works");
                expect(!has_record(&rt, "c2"), "removed through StateChange: c2's record goes", "%s",
                       record(&rt, "c2", "cpus"));
        } else
                expect_str("an NRI v0.8 runtime uses StateChange", "StateChange", method);
        create_expect(&rt, "c7 pod=p7 pod:cpus.numapin.io/pod=2", "0,16", "0",
                      "c1's core is free again: a new cpus=2 container gets 0,16");
        create_expect(&rt, "c7 pod=p7 pod:cpus.numapin.io/pod=2", "0,16", "0",
                      "CreateContainer again for c7 (a retry): the same placement");
        s = spec_of("c5 pod=p5");
        out = runtime_stop(&rt, &s, &reply);
        expect(reply_ok(&reply) && out.n_updates == 0, "StopContainer of an unplaced container: answered, no update",
               "%s", reply_ok(&reply) ? outcome_text(&out) : describe(&reply));
        reply_clear(&reply);
        for (size_t i = 0; i < 4; i++) {
                static const char *const rest[] = { "c2 pod=p2 name=app", "c3 pod=p2 name=side",
                                                    "c4 pod=p4 name=worker", "c7 pod=p7" };

                s = spec_of(rest[i]);
                runtime_event(&rt, NRI__EVENT__REMOVE_CONTAINER, &s, false, &reply);
                reply_clear(&reply);
        }
        expect(count_records(&rt) == 0, "after every container is removed the ledger is empty", "%u records left",
               count_records(&rt));
        expect(rt.update_calls == 1, "no other UpdateContainers: updates travel in replies where they can",
               "%u calls", rt.update_calls);
        expect_clean_wire(&rt);
        expect(plugin_alive(&rt), "the plugin is still running", "%s", exit_text(rt.exit_status));
out:
        runtime_clear(&rt);
}

static void expect_refused(struct runtime *rt, const char *line, const char *needle, const char *name)
{
        struct spec s = spec_of(line);
        struct reply reply;
        struct outcome out = runtime_create(rt, &s, &reply);

        expect(reply.err == 0 && reply.code == CODE_UNKNOWN && strstr(reply.message, needle), name,
               "expected status 2 naming '%s', got %s", needle,
               reply_ok(&reply) ? outcome_text(&out) : describe(&reply));
        expect(!has_record(rt, s.id), name_f("%s: nothing recorded", s.id), "%s", record(rt, s.id, "cpus"));
        reply_clear(&reply);
}

static void scenario_errors(const struct options *o)
{
        static const enum profile before_v012[] = { RUNTIME_V08, RUNTIME_V010 };
        struct runtime rt;
        struct reply reply = {};
        struct outcome out;
        struct spec s;

        for (size_t i = 0; i < 2; i++) {
                runtime_init(&rt, o, before_v012[i], i == 0 ? "errors-v08" : "errors-v010");
                set_scope("errors, %s: ", rt.label);
                if (!runtime_start_external(&rt, NULL) || !runtime_handshake(&rt, NULL, 0)) {
                        runtime_clear(&rt);
                        continue;
                }
                if (i == 0) {
                        expect_refused(&rt, "e1 pod:policy.numapin.io/pod=fast", "policy.numapin.io/pod",
                                       "policy 'fast': status 2 (UNKNOWN) naming policy.numapin.io/pod");
                        expect_refused(&rt, "e2 pod:nodes.numapin.io/pod=99", "nodes.numapin.io",
                                       "nodes '99' (no such node): status 2 naming nodes.numapin.io");
                        expect_refused(&rt, "e3 pod:cpus.numapin.io/pod=lots", "cpus.numapin.io/pod",
                                       "cpus 'lots': status 2 naming cpus.numapin.io/pod");
                        expect_refused(&rt, "e4 pod:node-count.numapin.io/pod=0", "node-count.numapin.io/pod",
                                       "node-count '0': status 2 naming node-count.numapin.io/pod");
                        expect_refused(
                                &rt, "e5 name=app pod:policy.numapin.io/container.app=fast",
                                "policy.numapin.io/container.app",
                                "a bad container-scoped policy: status 2 naming policy.numapin.io/container.app");
                        expect_refused(&rt, "e6 pod:cpus.numapin.io/pod=64", "",
                                       "64 exclusive CPUs on a 32-CPU machine: status 2");
                }
                expect_refused(&rt, "e7 pod:policy.numapin.io/pod=preferred", "memory policy",
                               "policy preferred before NRI v0.12: status 2 saying it needs a memory policy");
                expect_refused(&rt, "e8 pod:policy.numapin.io/pod=interleave pod:nodes.numapin.io/pod=0-1",
                               "memory policy", "policy interleave before NRI v0.12: status 2 too");
                create_expect(&rt, "ok1 pod:cpus.numapin.io/pod=2", "0,16", "0",
                              "after the refusals a good container is still placed (cpus 0,16)");
                expect(plugin_alive(&rt), "the plugin is still running", "%s", exit_text(rt.exit_status));
                expect_clean_wire(&rt);
                runtime_clear(&rt);
        }

        runtime_init(&rt, o, RUNTIME_V012, "errors-v012");
        set_scope("errors, %s: ", rt.label);
        if (runtime_start_external(&rt, NULL) && runtime_handshake(&rt, NULL, 0)) {
                s = spec_of("m1 pod:policy.numapin.io/pod=preferred pod:nodes.numapin.io/pod=1");
                out = runtime_create(&rt, &s, &reply);
                expect(reply_ok(&reply) && out.memory_policy && out.mpol_mode == NRI__MPOL_MODE__MPOL_PREFERRED &&
                               strcmp(out.mpol_nodes, "1") == 0,
                       "policy preferred, nodes 1: adjust.linux.memory_policy MPOL_PREFERRED on node 1", "%s",
                       reply_ok(&reply) ? outcome_text(&out) : describe(&reply));
                expect(reply_ok(&reply) && strcmp(out.cpus, "8-15,24-31") == 0 && !out.mems[0],
                       "and cpus 8-15,24-31 with mems not set (memory is the policy's)", "%s", outcome_text(&out));
                reply_clear(&reply);
                expect_record(&rt, "m1", "policy=preferred nodes=1", "m1 is recorded as preferred on node 1");
                s = spec_of("m2 pod:policy.numapin.io/pod=interleave pod:nodes.numapin.io/pod=0-1");
                out = runtime_create(&rt, &s, &reply);
                expect(reply_ok(&reply) && out.memory_policy && out.mpol_mode == NRI__MPOL_MODE__MPOL_INTERLEAVE &&
                               strcmp(out.mpol_nodes, "0-1") == 0 && !out.mems[0],
                       "policy interleave, nodes 0-1: MPOL_INTERLEAVE on nodes 0-1, mems not set", "%s",
                       reply_ok(&reply) ? outcome_text(&out) : describe(&reply));
                reply_clear(&reply);
                expect_refused(&rt, "e9 pod:policy.numapin.io/pod=fast", "policy.numapin.io/pod",
                               "policy 'fast' is still refused with status 2");
                expect_clean_wire(&rt);
        }
        runtime_clear(&rt);
}

static void scenario_reconnect(const struct options *o)
{
        struct runtime rt;
        struct spec specs[3];
        pid_t pid;
        int64_t waited;

        runtime_init(&rt, o, RUNTIME_V08, "reconnect");
        set_scope("reconnect, %s: ", rt.label);
        /* the plugin starts before the runtime: it retries until the socket is there */
        runtime_socket_path(&rt);
        log_line(&rt, "starting an external plugin before the runtime listens");
        rt.pid = spawn(&rt, NULL, -1);
        sleep_ms(1000);
        runtime_listen(&rt);
        waited = runtime_accept(&rt, 5000);
        expect(waited >= 0 && waited <= 2500,
               "started before the runtime, the plugin connects once the socket is there", "%s",
               waited < 0 ? "no connection within 5 s" : name_f("%" PRId64 " ms after", waited));
        if (waited < 0 || !runtime_handshake(&rt, NULL, 0))
                goto out;
        pid = rt.pid;
        create_expect(&rt, "r1 pod:cpus.numapin.io/pod=2", "0,16", "0", "r1 is placed: cpus 0,16");

        /* the runtime restarts: its socket is gone for 7 s. Retries at 0.1, 0.3, 0.7, 1.5, 3.1 s,
         * then every 2 s: back within 2 s of the new socket (doubling on would wait until 12.7 s) */
        runtime_unlisten(&rt);
        sleep_ms(7000);
        runtime_listen(&rt);
        waited = runtime_accept(&rt, 8000);
        expect(waited >= 0 && waited <= 3000,
               "the runtime restarts (socket gone 7 s): the plugin is back within the 2 s backoff cap", "%s",
               waited < 0 ? "no connection within 8 s" : name_f("%" PRId64 " ms after the socket", waited));
        if (waited < 0)
                goto out;
        specs[0] = spec_of("r1 pod:cpus.numapin.io/pod=2 cpus=0,16 mems=0 state=running");
        expect(runtime_handshake(&rt, specs, 1) && rt.registrations == 2,
               "it registers again and is configured and synchronized", "%u registrations", rt.registrations);
        create_expect(&rt, "r2 pod:cpus.numapin.io/pod=2", "8,24", "1",
                      "r1 is still counted: a new cpus=2 container goes to node 1, with more free CPUs (8,24)");

        /* the runtime drops the connection but keeps listening */
        session_reset(&rt, -1);
        waited = runtime_accept(&rt, 5000);
        expect(waited >= 0 && waited <= 1000, "the runtime drops the connection: the plugin is back within 1 s", "%s",
               waited < 0 ? "no connection within 5 s" : name_f("%" PRId64 " ms", waited));
        if (waited < 0)
                goto out;
        specs[1] = spec_of("r2 pod:cpus.numapin.io/pod=2 cpus=8,24 mems=1 state=running");
        runtime_handshake(&rt, specs, 2);
        create_expect(&rt, "r3 pod:cpus.numapin.io/pod=2", "1,17", "0",
                      "and serves, counting r1 and r2: r3 gets node 0's next core (1,17)");

        /* the runtime refuses a registration: the plugin tries again */
        session_reset(&rt, -1);
        rt.refuse_registration = true;
        waited = runtime_accept(&rt, 5000);
        if (waited >= 0)
                runtime_await_registration(&rt);
        expect(waited >= 0 && rt.register_error[0], "the runtime refuses the next registration", "%s",
               waited < 0 ? "no connection" : "registered");
        session_reset(&rt, -1);
        waited = runtime_accept(&rt, 5000);
        expect(waited >= 0, "after a refused registration the plugin connects again", "no connection within 5 s");
        if (waited < 0)
                goto out;
        /* r2 is gone meanwhile: its record goes, r1 and r3 stay */
        specs[1] = spec_of("r3 pod:cpus.numapin.io/pod=2 cpus=1,17 mems=0 state=running");
        expect(runtime_handshake(&rt, specs, 2), "and registers, is configured and synchronized", "see above");
        expect(!has_record(&rt, "r2") && has_record(&rt, "r1") && has_record(&rt, "r3"),
               "Synchronize without r2: r2's record is dropped, r1's and r3's stay", "r1 %s, r2 %s, r3 %s",
               record(&rt, "r1", "cpus"), record(&rt, "r2", "cpus"), record(&rt, "r3", "cpus"));
        create_expect(&rt, "r4 pod:cpus.numapin.io/pod=2", "8,24", "1", "r2's core is free again: r4 gets cpus 8,24");
        expect(rt.pid == pid && plugin_alive(&rt), "one plugin process throughout", "pid %d, then %d", (int)pid,
               (int)rt.pid);
        expect_clean_wire(&rt);

        /* SIGTERM while the runtime is away: the plugin stops retrying and exits 0 */
        runtime_unlisten(&rt);
        sleep_ms(300);
        expect_exit_zero(&rt, SIGTERM, "SIGTERM while the runtime is away: the plugin exits 0");
out:
        runtime_clear(&rt);
}

/* ---- hostile traffic ---------------------------------------------------------------------- */

static unsigned int probe_id;

/* After a hostile message: the plugin is alive and a normal CreateContainer gets
 * the right answer, on the same connection or, when the message necessarily broke
 * the framing (reconnect_ok), after the runtime gave up on the connection as it
 * would (a request timeout is fatal) and the plugin reconnected. */
static void still_serving(struct runtime *rt, const char *what, bool reconnect_ok)
{
        char line[128];
        struct spec s;
        struct reply reply = {};
        struct outcome out = {};
        const char *how = "on the same connection";

        if (!expect(plugin_alive(rt), name_f("%s: the plugin is still running", what), "%s",
                    exit_text(rt->exit_status)))
                return;
        snprintf(line, sizeof(line), "probe-%u pod:policy.numapin.io/pod=cpus-only pod:nodes.numapin.io/pod=1",
                 ++probe_id);
        s = spec_of(line);
        if (!rt->peer.closed)
                out = runtime_create(rt, &s, &reply);
        if (rt->peer.closed || reply.err) {
                reply_clear(&reply);
                how = rt->peer.closed
                              ? "after the plugin closed the connection and reconnected"
                              : "after the runtime dropped the unanswering connection and the plugin reconnected";
                session_reset(rt, -1);
                if (!expect(reconnect_ok && runtime_accept(rt, 5000) >= 0 && runtime_handshake(rt, NULL, 0),
                            name_f("%s: the plugin still serves", what), "%s",
                            reconnect_ok ? "no reconnection" : "the connection was lost"))
                        return;
                out = runtime_create(rt, &s, &reply);
        }
        expect(reply_ok(&reply) && strcmp(out.cpus, "8-15,24-31") == 0,
               name_f("%s: a CreateContainer is then answered correctly", what), "%s",
               reply_ok(&reply) ? outcome_text(&out) : describe(&reply));
        if (strcmp(how, "on the same connection") != 0)
                note("%s: served %s", what, how);
        reply_clear(&reply);
        runtime_event(rt, NRI__EVENT__REMOVE_CONTAINER, &s, false, &reply);
        reply_clear(&reply);
}

/* A packed CreateContainer ttrpc Request for a probe container. */
static uint8_t *probe_request(struct runtime *rt, const char *id, size_t *ret_len)
{
        Nri__CreateContainerRequest request = NRI__CREATE_CONTAINER_REQUEST__INIT;
        struct spec s = spec_of(name_f("%s pod:policy.numapin.io/pod=cpus-only pod:nodes.numapin.io/pod=1", id));
        struct arena a = {};
        uint8_t *payload, *body;
        size_t len;

        request.pod = build_pod(&a, &s);
        request.container = build_container(&a, &s);
        len = nri__create_container_request__get_packed_size(&request);
        payload = xmalloc(len);
        nri__create_container_request__pack(&request, payload);
        body = pack_request(rt, PLUGIN_SERVICE, "CreateContainer", payload, len, ret_len);
        free(payload);
        arena_free(&a);
        return body;
}

/* A whole ttrpc message (header and body) in memory. */
static uint8_t *ttrpc_message(const uint8_t *body, size_t len, uint32_t stream, uint8_t type, size_t *ret_len)
{
        uint8_t *m = xmalloc(TTRPC_HEADER + len);

        ttrpc_header(m, len, stream, type, 0);
        if (len)
                memcpy(m + TTRPC_HEADER, body, len);
        *ret_len = TTRPC_HEADER + len;
        return m;
}

static bool probe_answered(struct runtime *rt, uint32_t stream, int timeout_ms)
{
        struct msg *m = NULL;
        Ttrpc__Response *response;
        struct reply reply = {};
        struct outcome out;
        bool ok;

        if (runtime_wait(rt, CONN_PLUGIN, stream, TYPE_RESPONSE, timeout_ms, &m) < 0)
                return false;
        response = ttrpc__response__unpack(NULL, m->len, m->len ? m->body : (const uint8_t *)"");
        free(m);
        if (!response)
                return false;
        ok = !response->status || response->status->code == CODE_OK;
        reply.payload = response->payload.data;
        reply.len = response->payload.len;
        out = outcome_of_create(&reply);
        ok = ok && strcmp(out.cpus, "8-15,24-31") == 0;
        ttrpc__response__free_unpacked(response, NULL);
        return ok;
}

static void remove_probe(struct runtime *rt, const char *id)
{
        struct spec s = spec_of(id);
        struct reply reply;

        runtime_event(rt, NRI__EVENT__REMOVE_CONTAINER, &s, false, &reply);
        reply_clear(&reply);
}

/* A raw call: the body as given, its answer's status. */
static void expect_status(struct runtime *rt, const char *method, const uint8_t *payload, size_t len, int code,
                          const char *needle, const char *name)
{
        struct reply reply;

        call_raw(rt, PLUGIN_SERVICE, method, payload, len, &reply);
        expect(reply.err == 0 && reply.code == code && (!needle || strstr(reply.message, needle)), name,
               "expected status %d%s%s, got %s", code, needle ? " naming " : "", needle ? needle : "",
               describe(&reply));
        reply_clear(&reply);
}

static void scenario_hostile(const struct options *o)
{
        static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x80, 0x80, 0x80, 0x80, 0x80 };
        static const char *const methods[] = { "CreateContainer", "UpdateContainer",     "StopContainer",
                                               "StateChange",     "PostCreateContainer", "RemoveContainer" };
        static const uint32_t unknown_conns[] = { 0, 3, 7, 0xffffffffu };
        struct runtime rt;
        struct reply reply = {};
        uint8_t *body, *m, *big;
        size_t len, mlen;
        uint32_t stream, used;
        char text[300];
        bool ok;

        runtime_init(&rt, o, RUNTIME_V08, "hostile");
        set_scope("hostile, %s: ", rt.label);
        if (!runtime_start_external(&rt, NULL) || !runtime_handshake(&rt, NULL, 0))
                goto out;

        /* zero-length frames */
        send_frame(&rt.peer, CONN_PLUGIN, NULL, 0);
        still_serving(&rt, "a zero-length frame on connection 1", false);
        send_frame(&rt.peer, CONN_RUNTIME, NULL, 0);
        still_serving(&rt, "a zero-length frame on connection 2", false);

        /* reassembly: 3-byte frames with empty frames and other connections' frames between them */
        stream = next_stream(&rt);
        body = probe_request(&rt, "split-1", &len);
        m = ttrpc_message(body, len, stream, TYPE_REQUEST, &mlen);
        for (size_t off = 0; off < mlen; off += 3) {
                send_frame(&rt.peer, CONN_PLUGIN, m + off, mlen - off < 3 ? mlen - off : 3);
                send_frame(&rt.peer, CONN_PLUGIN, NULL, 0);
                send_frame(&rt.peer, 5, (const uint8_t *)"noise", 5);
        }
        expect(probe_answered(&rt, stream, REQUEST_TIMEOUT_MS),
               "a request in 3-byte frames, empty frames and other connections' frames between them: answered correctly",
               "no correct answer");
        remove_probe(&rt, "split-1");
        free(m);
        free(body);

        /* two requests in one frame (Go never sends that, a byte stream reader takes it) */
        {
                uint32_t s1 = next_stream(&rt), s2 = next_stream(&rt);
                uint8_t *b1, *b2, *m1, *m2, *both;
                size_t l1, l2, ml1, ml2;

                b1 = probe_request(&rt, "pair-1", &l1);
                b2 = probe_request(&rt, "pair-2", &l2);
                m1 = ttrpc_message(b1, l1, s1, TYPE_REQUEST, &ml1);
                m2 = ttrpc_message(b2, l2, s2, TYPE_REQUEST, &ml2);
                both = xmalloc(ml1 + ml2);
                memcpy(both, m1, ml1);
                memcpy(both + ml1, m2, ml2);
                send_frame(&rt.peer, CONN_PLUGIN, both, ml1 + ml2);
                ok = probe_answered(&rt, s1, REQUEST_TIMEOUT_MS);
                expect(ok && probe_answered(&rt, s2, REQUEST_TIMEOUT_MS),
                       "two requests in one frame: both answered correctly", "not both");
                remove_probe(&rt, "pair-1");
                remove_probe(&rt, "pair-2");
                free(b1);
                free(b2);
                free(m1);
                free(m2);
                free(both);
        }

        /* 100 requests sent before reading any answer */
        {
                enum {
                        N = 100
                };
                uint32_t streams[N];
                unsigned int answered = 0;

                for (size_t i = 0; i < N; i++) {
                        snprintf(text, sizeof(text), "burst-%zu", i);
                        streams[i] = next_stream(&rt);
                        body = probe_request(&rt, text, &len);
                        send_message(&rt.peer, SPLIT_GO, CONN_PLUGIN, streams[i], TYPE_REQUEST, body, len);
                        free(body);
                }
                for (size_t i = 0; i < N; i++) {
                        snprintf(text, sizeof(text), "burst-%zu", i);
                        answered += probe_answered(&rt, streams[i], REQUEST_TIMEOUT_MS);
                }
                expect(answered == N, "100 requests sent before reading any answer: all answered correctly",
                       "%u answered", answered);
                for (size_t i = 0; i < N; i++) {
                        snprintf(text, sizeof(text), "burst-%zu", i);
                        remove_probe(&rt, text);
                }
        }

        /* frames for connections nobody opened, holding a valid request: dropped */
        for (size_t i = 0; i < sizeof(unknown_conns) / sizeof(unknown_conns[0]); i++) {
                snprintf(text, sizeof(text), "unknown-%zu", i);
                stream = next_stream(&rt);
                body = probe_request(&rt, text, &len);
                m = ttrpc_message(body, len, stream, TYPE_REQUEST, &mlen);
                send_frame(&rt.peer, unknown_conns[i], m, mlen);
                expect(!probe_answered(&rt, stream, 300) && !has_record(&rt, text),
                       name_f("a request in a frame for connection %u: dropped, not served", unknown_conns[i]),
                       "it was answered");
                free(m);
                free(body);
        }
        still_serving(&rt, "frames for unknown connections", false);

        /* malformed protobuf in each request message */
        for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
                expect_status(&rt, methods[i], garbage, sizeof(garbage), CODE_INVALID_ARGUMENT, NULL,
                              name_f("garbage in a %s payload: status 3 (INVALID_ARGUMENT)", methods[i]));
        still_serving(&rt, "garbage payloads", false);

        /* a garbage ttrpc Request, and an empty one */
        call_body(&rt, next_stream(&rt), garbage, sizeof(garbage), SPLIT_GO, &reply);
        expect(reply.err == 0 && reply.code == CODE_INVALID_ARGUMENT, "a garbage ttrpc Request: status 3", "%s",
               describe(&reply));
        reply_clear(&reply);
        call_body(&rt, next_stream(&rt), NULL, 0, SPLIT_GO, &reply);
        expect(reply.err == 0 && reply.code != CODE_OK, "an empty ttrpc Request (no service): an error status", "%s",
               describe(&reply));
        reply_clear(&reply);
        still_serving(&rt, "malformed ttrpc requests", false);

        /* unknown method and service, Shutdown */
        expect_status(&rt, "Frobnicate", NULL, 0, CODE_UNIMPLEMENTED, "Frobnicate",
                      "an unknown method: status 12 (UNIMPLEMENTED) naming it");
        call_raw(&rt, "nri.pkg.api.v1alpha1.Elsewhere", "CreateContainer", NULL, 0, &reply);
        expect(reply.err == 0 && reply.code == CODE_UNIMPLEMENTED && strstr(reply.message, "Elsewhere"),
               "an unknown service: status 12 naming it", "%s", describe(&reply));
        reply_clear(&reply);
        call_raw(&rt, "nri.pkg.api.v1alpha1.HostFunctions", "Log", NULL, 0, &reply);
        expect(reply.err == 0 && reply.code == CODE_UNIMPLEMENTED, "the WASM-only HostFunctions service: status 12",
               "%s", describe(&reply));
        reply_clear(&reply);
        expect_status(&rt, "Shutdown", NULL, 0, CODE_OK, NULL,
                      "Shutdown (never sent to ttrpc plugins): answered Empty");
        still_serving(&rt, "unknown methods and services", false);

        /* stream ids a ttrpc server refuses */
        used = rt.next_stream - 2;
        stream = rt.next_stream + 1;
        body = probe_request(&rt, "even", &len);
        call_body(&rt, stream, body, len, SPLIT_GO, &reply);
        expect(reply.err == 0 && reply.code == CODE_INVALID_ARGUMENT && !has_record(&rt, "even"),
               "an even stream id: status 3, as Go's ttrpc server answers", "%s", describe(&reply));
        reply_clear(&reply);
        free(body);
        rt.next_stream = stream + 1;
        body = probe_request(&rt, "reused", &len);
        call_body(&rt, used, body, len, SPLIT_GO, &reply);
        expect(reply.err == 0 && reply.code == CODE_INVALID_ARGUMENT && !has_record(&rt, "reused"),
               "a re-used stream id: status 3", "%s", describe(&reply));
        reply_clear(&reply);
        free(body);
        still_serving(&rt, "bad stream ids", false);

        /* messages a server does not serve: Data, an unknown type, a Response; a request on connection 2 */
        {
                static const uint8_t types[] = { TYPE_DATA, 0x7f, TYPE_RESPONSE };
                bool answered_ok = false;

                for (size_t i = 0; i < sizeof(types); i++) {
                        struct msg *resp = NULL;

                        stream = next_stream(&rt);
                        body = probe_request(&rt, "typed", &len);
                        send_message(&rt.peer, SPLIT_GO, CONN_PLUGIN, stream, types[i], body, len);
                        free(body);
                        if (runtime_wait(&rt, CONN_PLUGIN, stream, TYPE_RESPONSE, 300, &resp) == 0) {
                                Ttrpc__Response *r = ttrpc__response__unpack(NULL, resp->len, resp->body);

                                answered_ok |= !r || !r->status || r->status->code == CODE_OK;
                                if (r)
                                        ttrpc__response__free_unpacked(r, NULL);
                                free(resp);
                        }
                }
                expect(!answered_ok && !has_record(&rt, "typed"),
                       "ttrpc Data, unknown-type and Response messages on connection 1: not served", "one was served");
                body = probe_request(&rt, "on-conn-2", &len);
                send_message(&rt.peer, SPLIT_GO, CONN_RUNTIME, 1001, TYPE_REQUEST, body, len);
                free(body);
                send_message(&rt.peer, SPLIT_GO, CONN_RUNTIME, 999, TYPE_RESPONSE, NULL, 0);
                runtime_idle(&rt, 300);
                expect(!has_record(&rt, "on-conn-2"),
                       "a request on connection 2 (where the plugin is the client): not served", "it was served");
                still_serving(&rt, "messages of other types", false);
        }

        /* a ttrpc message over 4 MiB: RESOURCE_EXHAUSTED on its stream, the stream stays in step */
        big = calloc(1, TTRPC_MAX + 1);
        if (!big)
                die("out of memory");
        call_body(&rt, next_stream(&rt), big, TTRPC_MAX + 1, SPLIT_GO, &reply);
        expect(reply.err == 0 && reply.code == CODE_RESOURCE_EXHAUSTED,
               "a ttrpc message of 4 MiB + 1 byte: status 8 (RESOURCE_EXHAUSTED) on its stream", "%s",
               describe(&reply));
        reply_clear(&reply);
        still_serving(&rt, "an oversized ttrpc message", false);

        /* one frame on connection 1 larger than a Go writer makes: a message over 4 MiB, then a request */
        {
                uint32_t s1 = next_stream(&rt), s2 = next_stream(&rt);
                size_t big_len = TTRPC_HEADER + TTRPC_MAX + 1, probe_len, total;
                uint8_t *frame, *probe = probe_request(&rt, "after-big", &len);
                struct msg *first = NULL;
                Ttrpc__Response *response = NULL;

                m = ttrpc_message(probe, len, s2, TYPE_REQUEST, &probe_len);
                total = big_len + probe_len;
                frame = calloc(1, total);
                if (!frame)
                        die("out of memory");
                ttrpc_header(frame, TTRPC_MAX + 1, s1, TYPE_REQUEST, 0);
                memcpy(frame + big_len, m, probe_len);
                send_frame(&rt.peer, CONN_PLUGIN, frame, total);
                if (runtime_wait(&rt, CONN_PLUGIN, s1, TYPE_RESPONSE, REQUEST_TIMEOUT_MS, &first) == 0)
                        response = ttrpc__response__unpack(NULL, first->len, first->len ? first->body : (uint8_t *)"");
                expect(response && response->status && response->status->code == CODE_RESOURCE_EXHAUSTED &&
                               probe_answered(&rt, s2, REQUEST_TIMEOUT_MS),
                       "one frame beyond Go's 4 MiB + 10 on connection 1 (a message over 4 MiB, then a request): status "
                       "8 for the first, the request answered correctly",
                       "%s", response ? "the request was not answered correctly" : "no status for the big message");
                if (response)
                        ttrpc__response__free_unpacked(response, NULL);
                free(first);
                free(frame);
                free(m);
                free(probe);
                remove_probe(&rt, "after-big");
        }

        /* a 16 MiB frame for a connection nobody opened: dropped without harm */
        big = realloc(big, (16u << 20) + 1);
        if (!big)
                die("out of memory");
        memset(big, 0, (16u << 20) + 1);
        send_frame(&rt.peer, 9, big, (16u << 20) + 1);
        free(big);
        still_serving(&rt, "a frame of 16 MiB + 1 for connection 9", false);

        /* requests the plugin must refuse, not act on */
        {
                Nri__CreateContainerRequest request = NRI__CREATE_CONTAINER_REQUEST__INIT;
                struct spec s = spec_of("x pod:cpus.numapin.io/pod=1");
                struct arena a = {};
                char path[PATH_MAX + 64], longid[400];

                call(&rt, "CreateContainer", &request.base, &reply);
                expect(reply.err == 0 && reply.code == CODE_INVALID_ARGUMENT,
                       "a CreateContainerRequest without a container: status 3", "%s", describe(&reply));
                reply_clear(&reply);
                copy_str(s.id, sizeof(s.id), "../../escape");
                request.pod = build_pod(&a, &s);
                request.container = build_container(&a, &s);
                call(&rt, "CreateContainer", &request.base, &reply);
                snprintf(path, sizeof(path), "%s/../escape.json", rt.state_dir);
                expect(reply.err == 0 && reply.code != CODE_OK && access(path, F_OK) < 0,
                       "a container id '../../escape': an error status, no file outside the ledger", "%s",
                       describe(&reply));
                reply_clear(&reply);
                memset(longid, 'a', sizeof(longid) - 1);
                longid[sizeof(longid) - 1] = '\0';
                request.container->id = longid;
                call(&rt, "CreateContainer", &request.base, &reply);
                expect(reply.err == 0 && reply.code != CODE_OK, "a container id of 399 characters: an error status",
                       "%s", describe(&reply));
                reply_clear(&reply);
                request.container->id = "hugevalue";
                request.container->annotations[0]->key = "policy.numapin.io/pod";
                request.container->annotations[0]->value = xmalloc(65537);
                memset(request.container->annotations[0]->value, 'b', 65536);
                request.container->annotations[0]->value[65536] = '\0';
                call(&rt, "CreateContainer", &request.base, &reply);
                expect(reply.err == 0 && reply.code != CODE_OK && !has_record(&rt, "hugevalue"),
                       "an annotation value of 64 KiB: an error status", "%s", describe(&reply));
                free(request.container->annotations[0]->value);
                reply_clear(&reply);
                arena_free(&a);
        }
        {
                Nri__StateChangeEvent change = NRI__STATE_CHANGE_EVENT__INIT;

                change.event = 99;
                call(&rt, "StateChange", &change.base, &reply);
                expect(reply.err == 0, "StateChange with an unknown event (99) and no container: answered", "%s",
                       describe(&reply));
                reply_clear(&reply);
        }
        create_expect(&rt,
                      "mapentries pod:=no-key pod:example.com/no-value= ctr:=no-key-either "
                      "pod:policy.numapin.io/pod=cpus-only pod:nodes.numapin.io/pod=1",
                      "8-15,24-31", "",
                      "annotation map entries without a key or a value (proto3 leaves empty strings out): placed");
        remove_probe(&rt, "mapentries");
        still_serving(&rt, "requests to refuse", false);
        expect_clean_wire(&rt);

        /* what breaks the framing for good: the plugin may reconnect */
        {
                uint8_t header[MUX_HEADER];

                put_be32(header, CONN_PLUGIN);
                put_be32(header + 4, 0xffffffffu);
                peer_write(&rt.peer, header, sizeof(header));
                runtime_idle(&rt, 300);
                note("after a frame header announcing 4 GiB the plugin %s",
                     rt.peer.closed ? "closed the connection" : "kept the connection open");
                still_serving(&rt, "a frame header announcing 4 GiB on connection 1", true);
        }
        {
                uint8_t header[TTRPC_HEADER];

                ttrpc_header(header, 200, next_stream(&rt), TYPE_REQUEST, 0);
                send_frame(&rt.peer, CONN_PLUGIN, header, sizeof(header));
                send_frame(&rt.peer, CONN_PLUGIN, garbage, sizeof(garbage));
                still_serving(&rt, "a ttrpc header announcing more bytes than follow", true);
        }
        {
                uint8_t frame[MUX_HEADER + 20] = {};

                put_be32(frame, CONN_PLUGIN);
                put_be32(frame + 4, 100);
                peer_write(&rt.peer, frame, sizeof(frame));
                session_reset(&rt, -1);
                ok = runtime_accept(&rt, 5000) >= 0 && runtime_handshake(&rt, NULL, 0);
                expect(ok, "a truncated frame, then the runtime closes: the plugin reconnects and registers",
                       "no reconnection");
                if (ok)
                        still_serving(&rt, "a truncated frame and a closed connection", false);
        }
        expect_clean_wire(&rt);
out:
        runtime_clear(&rt);
}

static void scenario_preinstalled(const struct options *o)
{
        struct runtime rt;
        struct reply reply = {};
        int r;

        /* an invalid drop-in config: Configure fails, the runtime kills the plugin */
        runtime_init(&rt, o, RUNTIME_V08, "preinstalled-bad");
        set_scope("pre-installed, %s: ", rt.label);
        rt.config = "{\"reserved_cpus\": \"0,16\", ";
        runtime_start_preinstalled(&rt, "numapin-pre", "10", NULL);
        r = runtime_await_registration(&rt);
        if (require(r == 0, "the plugin registers", "%s",
                    r == -ETIMEDOUT ? "no RegisterPlugin within 5 s" : "closed")) {
                r = runtime_configure(&rt, &reply);
                expect(r < 0 && reply.err == 0 && reply.code != CODE_OK && reply.message[0],
                       "an invalid drop-in config in ConfigureRequest.config: an error status", "%s", describe(&reply));
                if (reply.code)
                        note("Configure: %s", reply.message);
                reply_clear(&reply);
        }
        runtime_clear(&rt);

        /* the drop-in config applies: CPUs 0 and 16 reserved */
        runtime_init(&rt, o, RUNTIME_V08, "preinstalled");
        set_scope("pre-installed, %s: ", rt.label);
        rt.config = "{\"reserved_cpus\": \"0,16\", \"monitor\": false}";
        runtime_start_preinstalled(&rt, "numapin-pre", "10", NULL);
        r = runtime_await_registration(&rt);
        if (!expect(r == 0, "started on a socketpair (fd 3, NRI_PLUGIN_* only): RegisterPlugin within 5 s", "%s",
                    r == -ETIMEDOUT ? "none" : "the connection closed"))
                goto v012;
        expect_str("it registers with NRI_PLUGIN_NAME and NRI_PLUGIN_IDX", "numapin-pre 10",
                   name_f("%s %s", rt.name, rt.idx));
        r = runtime_configure(&rt, &reply);
        expect(r == 0 && rt.events == NUMAPIN_EVENTS, "Configure with the drop-in config: OK, events 0x698", "%s, 0x%x",
               describe(&reply), rt.events);
        reply_clear(&reply);
        {
                struct sync_result sync;

                runtime_synchronize_specs(&rt, NULL, 0, &sync);
                expect(!sync.why[0], "Synchronize is answered", "%s", sync.why);
                reply_clear(&sync.last);
        }
        create_expect(&rt, "p1 pod:cpus.numapin.io/pod=2", "8,24", "1",
                      "the drop-in's reserved_cpus 0,16 applies: cpus=2 goes to node 1, now the freer (8,24)");
        create_expect(&rt, "p2 pod:policy.numapin.io/pod=bind", "1-7,17-23", "0",
                      "a shared container gets node 0 without the reserved CPUs (1-7,17-23)");
        expect_clean_wire(&rt);
        session_reset(&rt, -1); /* the runtime closes its end */
        expect(plugin_wait(&rt, 3000) && WIFEXITED(rt.exit_status) && WEXITSTATUS(rt.exit_status) == 0,
               "when the runtime closes the socket the plugin exits 0", "%s",
               rt.pid > 0 ? "still running 3 s later" : exit_text(rt.exit_status));
v012:
        runtime_clear(&rt);

        runtime_init(&rt, o, RUNTIME_V012, "preinstalled-v012");
        set_scope("pre-installed, %s: ", rt.label);
        rt.defer_register_reply = true;
        rt.split = SPLIT_TINY;
        runtime_start_preinstalled(&rt, "numapin", "05", NULL);
        if (runtime_handshake(&rt, NULL, 0)) {
                expect_str("it registers as 05-numapin", "numapin 05", name_f("%s %s", rt.name, rt.idx));
                create_expect(
                        &rt, "q1 pod:cpus.numapin.io/pod=2", "0,16", "0",
                        "requests in 3-byte frames, Configure before the RegisterPlugin reply: a create is placed");
                expect_clean_wire(&rt);
        }
        runtime_clear(&rt);
}

/* ---- script: creates from a file, one adjustment printed per line ------------------------- */

/* Lines: "create SPEC", "update ID", "stop ID", "postcreate ID [pid=N]", "remove ID",
 * "# comment"; FILE may be /dev/stdin, answered line by line. Prints
 * "create ID ok cpus=C mems=M [mpol=MODE:NODES] [update=ID:CPUS:MEMS]..." ("-" for
 * absent), "create ID error CODE MESSAGE", "stop ID ok [update=...]"... */
static int run_script(const struct options *o, const char *path)
{
        static struct spec specs[SCRIPT_MAX_SPEC];
        size_t n_specs = 0;
        struct runtime rt;
        char line[4096], err[300];
        int rc;
        FILE *f;

        f = fopen(path, "re");
        if (!f)
                die("cannot open %s: %s", path, strerror(errno));
        runtime_init(&rt, o, profile_of(o->profile), "");
        set_scope("script: ");
        if (!runtime_start_external(&rt, NULL) || !runtime_handshake(&rt, NULL, 0))
                die("the plugin did not start (see its log)");
        while (fgets(line, sizeof(line), f)) {
                char *cmd = line + strspn(line, " \t"), *rest;
                struct spec s, *known = NULL;
                struct reply reply = {};
                struct outcome out = {};

                line[strcspn(line, "\n")] = '\0';
                if (!*cmd || *cmd == '#')
                        continue;
                rest = cmd + strcspn(cmd, " \t");
                if (*rest)
                        *rest++ = '\0';
                if (spec_parse(rest, &s, err, sizeof(err)) < 0)
                        die("%s: '%s': %s", path, rest, err);
                for (size_t i = 0; i < n_specs && !known; i++)
                        if (strcmp(specs[i].id, s.id) == 0)
                                known = &specs[i];
                if (strcmp(cmd, "create") == 0) {
                        if (!known && n_specs == SCRIPT_MAX_SPEC)
                                die("more than %d containers", SCRIPT_MAX_SPEC);
                        known = known ? known : &specs[n_specs++];
                        *known = s;
                        out = runtime_create(&rt, known, &reply);
                } else if (!known)
                        die("%s %s: no such container created", cmd, s.id);
                else if (strcmp(cmd, "update") == 0)
                        out = runtime_update(&rt, known, &reply);
                else if (strcmp(cmd, "stop") == 0)
                        out = runtime_stop(&rt, known, &reply);
                else if (strcmp(cmd, "remove") == 0)
                        runtime_event(&rt, NRI__EVENT__REMOVE_CONTAINER, known, false, &reply);
                else if (strcmp(cmd, "postcreate") == 0) {
                        if (s.pid)
                                known->pid = s.pid; /* the container's init, known once it is created */
                        runtime_event(&rt, NRI__EVENT__POST_CREATE_CONTAINER, known, false, &reply);
                } else
                        die("%s: unknown command '%s'", path, cmd);
                if (reply_ok(&reply))
                        printf("%s %s ok %s\n", cmd, s.id, outcome_text(&out));
                else if (reply.err)
                        printf("%s %s error - %s\n", cmd, s.id, describe(&reply));
                else
                        printf("%s %s error %d %s\n", cmd, s.id, reply.code, reply.message);
                fflush(stdout);
                reply_clear(&reply);
        }
        fclose(f);
        if (rt.peer.violations)
                printf("not ok - script: the plugin sent frames a Go runtime cannot read: %s\n", rt.peer.violation);
        rc = rt.peer.violations ? 1 : 0;
        if (!plugin_stop(&rt, SIGTERM))
                die("the plugin did not exit on SIGTERM");
        runtime_clear(&rt);
        return rc;
}

/* ---- bench: round trips and resident memory ------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return x < y ? -1 : x > y;
}

/* "NAME MEDIAN P99" in microseconds. */
static void print_percentiles(const char *name, uint64_t *ns, size_t n)
{
        size_t p99 = (n * 99 + 99) / 100;

        qsort(ns, n, sizeof(*ns), cmp_u64);
        printf("%s %.1f %.1f\n", name, (double)ns[n / 2] / 1000.0, (double)ns[p99 ? p99 - 1 : 0] / 1000.0);
}

/* VmRSS from /proc/PID/status in KiB, -1 when unreadable. */
static long rss_kib(pid_t pid)
{
        char path[64], line[256];
        uint64_t kib;
        long r = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (r < 0 && fgets(line, sizeof(line), f)) {
                char *value = line + 6;

                if (strncmp(line, "VmRSS:", 6) != 0)
                        continue;
                value += strspn(value, " \t");
                value[strcspn(value, " \t\n")] = '\0';
                if (parse_u64(value, LONG_MAX, &kib) == 0)
                        r = (long)kib;
        }
        fclose(f);
        return r;
}

static bool bench_create(struct runtime *rt, const char *id, uint64_t *ret_ns)
{
        struct spec s = spec_of(name_f("%s pod:policy.numapin.io/pod=bind memory=33554432", id));
        struct reply reply;
        struct outcome out = runtime_create(rt, &s, &reply);
        bool ok = reply_ok(&reply) && out.adjusted;

        *ret_ns = reply.ns;
        if (!ok)
                note("CreateContainer %s: %s", id, reply_ok(&reply) ? outcome_text(&out) : describe(&reply));
        reply_clear(&reply);
        return ok;
}

static bool bench_remove(struct runtime *rt, const char *id, uint64_t *ret_ns)
{
        struct spec s = spec_of(id);
        struct reply reply;
        bool ok;

        runtime_event(rt, NRI__EVENT__REMOVE_CONTAINER, &s, false, &reply);
        ok = reply_ok(&reply);
        *ret_ns = reply.ns;
        reply_clear(&reply);
        return ok;
}

static int run_bench(const struct options *o)
{
        unsigned int count = o->count ? o->count : 5000, hold = o->hold ? o->hold : 1000;
        uint64_t *baseline = xmalloc(count * sizeof(uint64_t)), *create = xmalloc(count * sizeof(uint64_t));
        uint64_t *removal = xmalloc(count * sizeof(uint64_t)), *growing = xmalloc(hold * sizeof(uint64_t));
        struct runtime rt;
        struct reply reply;
        uint64_t ns;
        bool ok = true;

        runtime_init(&rt, o, profile_of(o->profile ? o->profile : "v0.12"), "");
        set_scope("bench: ");
        if (!runtime_start_external(&rt, NULL) || !runtime_handshake(&rt, NULL, 0))
                die("the plugin did not start (see its log)");
        runtime_idle(&rt, 200);
        printf("rss_idle_kib %ld\n", rss_kib(rt.pid));
        /* warm-up, then baseline and creations interleaved so that both see the same machine */
        for (unsigned int i = 0; i < 200 && ok; i++) {
                call_raw(&rt, PLUGIN_SERVICE, "Ping", NULL, 0, &reply);
                reply_clear(&reply);
                ok = bench_create(&rt, name_f("warm-%u", i), &ns) && bench_remove(&rt, name_f("warm-%u", i), &ns);
        }
        for (unsigned int i = 0; i < count && ok; i++) {
                call_raw(&rt, PLUGIN_SERVICE, "Ping", NULL, 0, &reply);
                ok = reply.err == 0 && reply.code == CODE_UNIMPLEMENTED;
                baseline[i] = reply.ns;
                reply_clear(&reply);
                ok = ok && bench_create(&rt, name_f("b-%u", i), &create[i]) &&
                     bench_remove(&rt, name_f("b-%u", i), &removal[i]);
        }
        if (!ok)
                die("a call failed during the round trips");
        print_percentiles("baseline_us", baseline, count);
        print_percentiles("create_us", create, count);
        print_percentiles("remove_us", removal, count);
        for (unsigned int i = 0; i < hold && ok; i++)
                ok = bench_create(&rt, name_f("held-%u", i), &growing[i]);
        if (!ok)
                die("placing %u containers failed", hold);
        print_percentiles("create_growing_us", growing, hold);
        runtime_idle(&rt, 200);
        printf("rss_held_kib %ld\n", rss_kib(rt.pid));
        printf("held %u\n", hold);
        plugin_stop(&rt, SIGTERM);
        runtime_clear(&rt);
        free(baseline);
        free(create);
        free(removal);
        free(growing);
        return 0;
}

/* ---- main ------------------------------------------------------------------------------------ */

static void usage(FILE *out)
{
        fprintf(out,
                "usage: nri-harness --plugin PATH --state-dir DIR [--log FILE] [--runtime v0.8|v0.10|v0.12]\n"
                "                   [--count N] [--hold N] COMMAND [FILE] [-- PLUGIN-ARGS...]\n"
                "The runtime side of NRI, driving numapin-nri. Commands:\n"
                "  handshake sync events errors reconnect hostile preinstalled all\n"
                "                 scenarios, printing ok/not ok lines\n"
                "  script FILE    creates from FILE, one line each: create|update|postcreate|stop|remove ID [KEY=VALUE...]\n"
                "  bench          round trips (--count, default 5000) and resident memory (--hold, default 1000)\n");
}

int main(int argc, char **argv)
{
        static const struct option long_options[] = {
                { "plugin", required_argument, NULL, 'p' }, { "state-dir", required_argument, NULL, 's' },
                { "log", required_argument, NULL, 'l' },    { "runtime", required_argument, NULL, 'r' },
                { "count", required_argument, NULL, 'c' },  { "hold", required_argument, NULL, 'H' },
                { "help", no_argument, NULL, 'h' },         {},
        };
        struct options o = {};
        const char *command, *file = NULL;
        uint64_t v;
        int c, rc = 0;

        while ((c = getopt_long(argc, argv, "+h", long_options, NULL)) != -1) {
                switch (c) {
                case 'p':
                        o.plugin = optarg;
                        break;
                case 's':
                        o.state_dir = optarg;
                        break;
                case 'l':
                        o.log = optarg;
                        break;
                case 'r':
                        o.profile = optarg;
                        profile_of(optarg);
                        break;
                case 'c':
                case 'H':
                        if (parse_u64(optarg, 1000000, &v) < 0 || v == 0) {
                                fprintf(stderr, "nri-harness: --%s %s: expected a count from 1 to 1000000\n",
                                        c == 'c' ? "count" : "hold", optarg);
                                return 2;
                        }
                        *(c == 'c' ? &o.count : &o.hold) = (unsigned int)v;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind >= argc || !o.plugin || !o.state_dir) {
                usage(stderr);
                return 2;
        }
        command = argv[optind++];
        if (optind < argc && strcmp(argv[optind], "--") != 0)
                file = argv[optind++];
        if (optind < argc && strcmp(argv[optind], "--") == 0)
                optind++;
        o.plugin_args = argv + optind;
        o.n_plugin_args = argc - optind;
        if (access(o.plugin, X_OK) < 0) {
                fprintf(stderr, "nri-harness: %s: %s\n", o.plugin, strerror(errno));
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        atexit(cleanup);

        if (strcmp(command, "script") == 0) {
                if (!file) {
                        usage(stderr);
                        return 2;
                }
                return run_script(&o, file);
        }
        if (strcmp(command, "bench") == 0)
                return run_bench(&o);
        if (strcmp(command, "handshake") == 0 || strcmp(command, "all") == 0)
                scenario_handshake(&o);
        if (strcmp(command, "sync") == 0 || strcmp(command, "all") == 0)
                scenario_sync(&o);
        if (strcmp(command, "events") == 0 || strcmp(command, "all") == 0) {
                scenario_events(&o, RUNTIME_V08);
                scenario_events(&o, RUNTIME_V012);
        }
        if (strcmp(command, "errors") == 0 || strcmp(command, "all") == 0)
                scenario_errors(&o);
        if (strcmp(command, "reconnect") == 0 || strcmp(command, "all") == 0)
                scenario_reconnect(&o);
        if (strcmp(command, "hostile") == 0 || strcmp(command, "all") == 0)
                scenario_hostile(&o);
        if (strcmp(command, "preinstalled") == 0 || strcmp(command, "all") == 0)
                scenario_preinstalled(&o);
        if (!scope[0]) {
                fprintf(stderr, "nri-harness: unknown command '%s'\n", command);
                usage(stderr);
                return 2;
        }
        if (n_failed)
                rc = 1;
        return rc;
}
