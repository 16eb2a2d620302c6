/* SPDX-License-Identifier: MIT */
/* NRI's transport: one stream socket carrying two logical connections in
 * multiplexer frames (8-byte header: connection id, length; big-endian), each
 * a ttrpc session of 10-byte-header messages. Connection 1 carries the
 * runtime's calls to the plugin, connection 2 the plugin's calls to the runtime. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NRI_CONN_PLUGIN  1u /* the runtime calls, numapin answers */
#define NRI_CONN_RUNTIME 2u /* numapin calls, the runtime answers */

#define NRI_MUX_HEADER      8u
#define NRI_TTRPC_HEADER    10u
#define NRI_TTRPC_MAX       (4u << 20) /* largest ttrpc message body */
#define NRI_FIRST_FRAME_MAX 4096u      /* a Go peer reads a message's first frame through a 4 KiB buffer */
/* The largest frame a runtime writes: 4 MiB + 10 since NRI v0.7, 16 MiB before.
 * A longer one can only be garbage: the connection is dropped. */
#define NRI_FRAME_MAX ((16u << 20) + NRI_TTRPC_HEADER)

enum nri_ttrpc_type {
        NRI_TTRPC_REQUEST = 1,
        NRI_TTRPC_RESPONSE = 2,
        NRI_TTRPC_DATA = 3,
};

/* gRPC status codes used in ttrpc responses */
enum nri_status {
        NRI_STATUS_OK = 0,
        NRI_STATUS_UNKNOWN = 2,
        NRI_STATUS_INVALID_ARGUMENT = 3,
        NRI_STATUS_RESOURCE_EXHAUSTED = 8,
        NRI_STATUS_UNIMPLEMENTED = 12,
        NRI_STATUS_INTERNAL = 13,
};

struct nri_stream {
        uint8_t *buf; /* the ttrpc message being assembled, header first */
        size_t len;
        size_t cap;
        size_t discard; /* bytes of an oversized message still to drop */
};

struct nri_wire {
        int fd;
        uint8_t header[NRI_MUX_HEADER]; /* the multiplexer frame header being read */
        size_t header_len;
        uint32_t frame_conn;
        size_t frame_left;
        struct nri_stream streams[2];
        uint32_t last_call_in;   /* the runtime's last stream id on connection 1 */
        uint32_t last_call_out;  /* ours on connection 2 */
        uint64_t frames_dropped; /* for unknown connections */
};

/* One complete ttrpc message; `oversized` messages carry no data. */
struct nri_message {
        uint32_t conn;
        uint32_t stream_id;
        uint8_t type;
        uint8_t flags;
        bool oversized;
        const uint8_t *data;
        size_t len;
};

typedef int (*nri_message_fn)(struct nri_wire *wire, const struct nri_message *message, void *userdata);

void nri_wire_init(struct nri_wire *wire, int fd);
/* Frees the buffers; the fd stays open. */
void nri_wire_clear(struct nri_wire *wire);

/* Reads what the socket has and hands each complete message to `fn`.
 * -ECONNRESET at end of file, -EPROTO for a frame over NRI_FRAME_MAX; a
 * negative return of `fn` stops and is returned. */
int nri_wire_read(struct nri_wire *wire, nri_message_fn fn, void *userdata);

/* Sends one ttrpc message as a Go peer expects it: the first frame at most
 * NRI_FIRST_FRAME_MAX bytes, the rest in a second frame. */
int nri_wire_send(struct nri_wire *wire, uint32_t conn, uint32_t stream_id, enum nri_ttrpc_type type,
                  const uint8_t *body, size_t len);

/* Answers the runtime's call `stream_id`: a status (omitted when OK) and the
 * packed reply. */
int nri_wire_respond(struct nri_wire *wire, uint32_t stream_id, enum nri_status code, const char *message,
                     const uint8_t *payload, size_t len);

/* Calls the runtime; ret_stream_id matches the response. */
int nri_wire_call(struct nri_wire *wire, const char *service, const char *method, const uint8_t *payload, size_t len,
                  int64_t timeout_ns, uint32_t *ret_stream_id);
