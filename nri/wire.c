// SPDX-License-Identifier: MIT
/* Reading and writing NRI's multiplexer frames and the ttrpc messages in them.
 * Each logical connection is a byte stream: a message may span frames, frames
 * for unknown connections are dropped, a message over 4 MiB is skipped (its
 * caller told RESOURCE_EXHAUSTED) without holding it in memory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../core/macro.h"
#include "ttrpc.pb-c.h"
#include "wire.h"

#define READ_CHUNK      65536
#define KEEP_BUFFER_MAX 65536 /* larger assembly buffers are freed after use */

static uint32_t get_be32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

void nri_wire_init(struct nri_wire *wire, int fd)
{
        *wire = (struct nri_wire){ .fd = fd };
}

static void stream_reset(struct nri_stream *stream)
{
        free(stream->buf);
        *stream = (struct nri_stream){};
}

void nri_wire_clear(struct nri_wire *wire)
{
        stream_reset(&wire->streams[0]);
        stream_reset(&wire->streams[1]);
}

static int stream_reserve(struct nri_stream *stream, size_t size)
{
        uint8_t *grown;

        if (size <= stream->cap)
                return 0;
        grown = realloc(stream->buf, size);
        if (!grown)
                return -ENOMEM;
        stream->buf = grown;
        stream->cap = size;
        return 0;
}

/* Adds bytes of one logical connection; dispatches each message completed. */
static int stream_feed(struct nri_wire *wire, uint32_t conn, const uint8_t *data, size_t n, nri_message_fn fn,
                       void *userdata)
{
        struct nri_stream *stream = &wire->streams[conn - 1];
        int r;

        while (n > 0) {
                size_t take, want;
                uint32_t body;

                if (stream->discard > 0) {
                        take = MIN(stream->discard, n);
                        stream->discard -= take;
                        data += take;
                        n -= take;
                        continue;
                }
                want = NRI_TTRPC_HEADER;
                if (stream->len >= NRI_TTRPC_HEADER)
                        want += get_be32(stream->buf);
                r = stream_reserve(stream, MAX(want, (size_t)NRI_TTRPC_HEADER));
                if (r < 0)
                        return r;
                take = MIN(want - stream->len, n);
                memcpy(stream->buf + stream->len, data, take);
                stream->len += take;
                data += take;
                n -= take;
                if (stream->len < NRI_TTRPC_HEADER)
                        break;

                body = get_be32(stream->buf);
                struct nri_message message = {
                        .conn = conn,
                        .stream_id = get_be32(stream->buf + 4),
                        .type = stream->buf[8],
                        .flags = stream->buf[9],
                };
                if (body > NRI_TTRPC_MAX) {
                        message.oversized = true;
                        message.len = body;
                        stream->discard = body;
                        stream->len = 0;
                        r = fn(wire, &message, userdata);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (stream->len < NRI_TTRPC_HEADER + (size_t)body)
                        continue; /* the header alone so far: reserve the body next round */
                message.data = stream->buf + NRI_TTRPC_HEADER;
                message.len = body;
                stream->len = 0;
                r = fn(wire, &message, userdata);
                if (stream->cap > KEEP_BUFFER_MAX)
                        stream_reset(stream);
                if (r < 0)
                        return r;
        }
        return 0;
}

int nri_wire_read(struct nri_wire *wire, nri_message_fn fn, void *userdata)
{
        uint8_t chunk[READ_CHUNK];
        const uint8_t *p = chunk;
        ssize_t got;
        size_t n;
        int r;

        got = read(wire->fd, chunk, sizeof(chunk));
        if (got < 0)
                return errno == EINTR || errno == EAGAIN ? 0 : -errno;
        if (got == 0)
                return -ECONNRESET;
        n = (size_t)got;
        while (n > 0) {
                size_t take;

                if (wire->header_len < NRI_MUX_HEADER) {
                        take = MIN(NRI_MUX_HEADER - wire->header_len, n);
                        memcpy(wire->header + wire->header_len, p, take);
                        wire->header_len += take;
                        p += take;
                        n -= take;
                        if (wire->header_len < NRI_MUX_HEADER)
                                break;
                        wire->frame_conn = get_be32(wire->header);
                        wire->frame_left = get_be32(wire->header + 4);
                        if (wire->frame_left > NRI_FRAME_MAX)
                                return -EPROTO;
                        if (wire->frame_conn != NRI_CONN_PLUGIN && wire->frame_conn != NRI_CONN_RUNTIME)
                                wire->frames_dropped++;
                        if (wire->frame_left == 0)
                                wire->header_len = 0; /* an empty frame: nothing to do */
                        continue;
                }
                take = MIN(wire->frame_left, n);
                if (wire->frame_conn == NRI_CONN_PLUGIN || wire->frame_conn == NRI_CONN_RUNTIME) {
                        r = stream_feed(wire, wire->frame_conn, p, take, fn, userdata);
                        if (r < 0)
                                return r;
                }
                p += take;
                n -= take;
                wire->frame_left -= take;
                if (wire->frame_left == 0)
                        wire->header_len = 0;
        }
        return 0;
}

static int write_all(int fd, struct iovec *iov, int n_iov)
{
        while (n_iov > 0) {
                ssize_t done = writev(fd, iov, n_iov);

                if (done < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? -ETIMEDOUT : -errno;
                }
                while (n_iov > 0 && (size_t)done >= iov->iov_len) {
                        done -= (ssize_t)iov->iov_len;
                        iov++;
                        n_iov--;
                }
                if (n_iov > 0) {
                        iov->iov_base = (uint8_t *)iov->iov_base + done;
                        iov->iov_len -= (size_t)done;
                }
        }
        return 0;
}

int nri_wire_send(struct nri_wire *wire, uint32_t conn, uint32_t stream_id, enum nri_ttrpc_type type,
                  const uint8_t *body, size_t len)
{
        uint8_t first_header[NRI_MUX_HEADER + NRI_TTRPC_HEADER], rest_header[NRI_MUX_HEADER];
        size_t first = MIN(len, (size_t)(NRI_FIRST_FRAME_MAX - NRI_TTRPC_HEADER));
        struct iovec iov[4];
        int n_iov = 0;

        if (len > NRI_TTRPC_MAX)
                return -EMSGSIZE;
        put_be32(first_header, conn);
        put_be32(first_header + 4, (uint32_t)(NRI_TTRPC_HEADER + first));
        put_be32(first_header + 8, (uint32_t)len);
        put_be32(first_header + 12, stream_id);
        first_header[16] = (uint8_t)type;
        first_header[17] = 0; /* unary calls carry no flags */
        iov[n_iov++] = (struct iovec){ first_header, sizeof(first_header) };
        if (first > 0)
                iov[n_iov++] = (struct iovec){ (void *)body, first };
        if (len > first) {
                put_be32(rest_header, conn);
                put_be32(rest_header + 4, (uint32_t)(len - first));
                iov[n_iov++] = (struct iovec){ rest_header, sizeof(rest_header) };
                iov[n_iov++] = (struct iovec){ (void *)(body + first), len - first };
        }
        return write_all(wire->fd, iov, n_iov);
}

static int send_packed(struct nri_wire *wire, uint32_t conn, uint32_t stream_id, enum nri_ttrpc_type type,
                       const ProtobufCMessage *message)
{
        size_t size = protobuf_c_message_get_packed_size(message);
        _cleanup_free_ uint8_t *buf = malloc(size ? size : 1);
        int r;

        if (!buf)
                return -ENOMEM;
        protobuf_c_message_pack(message, buf);
        r = nri_wire_send(wire, conn, stream_id, type, buf, size);
        return r;
}

int nri_wire_respond(struct nri_wire *wire, uint32_t stream_id, enum nri_status code, const char *message,
                     const uint8_t *payload, size_t len)
{
        Ttrpc__Response response = TTRPC__RESPONSE__INIT;
        Ttrpc__Status status = TTRPC__STATUS__INIT;

        if (code != NRI_STATUS_OK) {
                status.code = code;
                status.message = (char *)(message ? message : "");
                response.status = &status;
        }
        response.payload = (ProtobufCBinaryData){ .len = len, .data = (uint8_t *)payload };
        return send_packed(wire, NRI_CONN_PLUGIN, stream_id, NRI_TTRPC_RESPONSE, &response.base);
}

int nri_wire_call(struct nri_wire *wire, const char *service, const char *method, const uint8_t *payload, size_t len,
                  int64_t timeout_ns, uint32_t *ret_stream_id)
{
        Ttrpc__Request request = TTRPC__REQUEST__INIT;
        uint32_t stream_id = wire->last_call_out ? wire->last_call_out + 2 : 1;
        int r;

        request.service = (char *)service;
        request.method = (char *)method;
        request.payload = (ProtobufCBinaryData){ .len = len, .data = (uint8_t *)payload };
        request.timeout_nano = timeout_ns;
        r = send_packed(wire, NRI_CONN_RUNTIME, stream_id, NRI_TTRPC_REQUEST, &request.base);
        if (r < 0)
                return r;
        wire->last_call_out = stream_id;
        *ret_stream_id = stream_id;
        return 0;
}
