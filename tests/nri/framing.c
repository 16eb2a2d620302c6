// SPDX-License-Identifier: MIT
/* The runtime's end of the multiplexed connection: frames off the socket put
 * together into ttrpc messages per connection and checked against what a Go peer
 * can read, and ttrpc messages cut into frames the ways runtimes write them. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

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

void peer_init(struct peer *p, int fd)
{
        *p = (struct peer){ .fd = fd };
        p->tail = &p->head;
        if (fd >= 0)
                fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

struct msg *peer_pop(struct peer *p)
{
        struct msg *m = p->head;

        if (m) {
                p->head = m->next;
                if (!p->head)
                        p->tail = &p->head;
        }
        return m;
}

void peer_close(struct peer *p)
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

void peer_violation(struct peer *p, const char *fmt, ...)
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
int peer_pump(struct peer *p, int timeout_ms)
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
int peer_write(struct peer *p, const uint8_t *buf, size_t len)
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

int send_frame(struct peer *p, uint32_t conn, const uint8_t *data, size_t len)
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

void ttrpc_header(uint8_t *out, size_t len, uint32_t stream, uint8_t type, uint8_t flags)
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

int send_message(struct peer *p, enum split split, uint32_t conn, uint32_t stream, uint8_t type, const uint8_t *body,
                 size_t len)
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
