// SPDX-License-Identifier: MIT
/* NRI's multiplexer and ttrpc framing (nri/wire.c), over a real socketpair:
 * messages reassembled across frames and split reads, frames for unknown
 * connections and empty frames skipped, an oversized message skipped without
 * losing the stream, and what numapin sends shaped for a Go peer. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../nri/wire.h"

#define MAX_SEEN 8

struct seen {
        size_t n;
        struct nri_message messages[MAX_SEEN];
        uint8_t data[MAX_SEEN][256];
};

static int collect(struct nri_wire *wire, const struct nri_message *message, void *userdata)
{
        struct seen *seen = userdata;

        (void)wire;
        assert_true(seen->n < MAX_SEEN);
        seen->messages[seen->n] = *message;
        if (!message->oversized) {
                assert_true(message->len <= sizeof(seen->data[0]));
                memcpy(seen->data[seen->n], message->data, message->len);
                seen->messages[seen->n].data = seen->data[seen->n];
        }
        seen->n++;
        return 0;
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

/* Appends a mux frame header to buf. */
static size_t frame(uint8_t *buf, uint32_t conn, uint32_t len)
{
        put_be32(buf, conn);
        put_be32(buf + 4, len);
        return 8;
}

/* Appends a ttrpc header. */
static size_t ttrpc(uint8_t *buf, uint32_t len, uint32_t stream_id, uint8_t type)
{
        put_be32(buf, len);
        put_be32(buf + 4, stream_id);
        buf[8] = type;
        buf[9] = 0;
        return 10;
}

struct pair {
        int fds[2];
        struct nri_wire wire;
        struct seen seen;
};

static int setup(void **state)
{
        struct pair *pair = calloc(1, sizeof(*pair));

        assert_non_null(pair);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair->fds), 0);
        nri_wire_init(&pair->wire, pair->fds[1]);
        *state = pair;
        return 0;
}

static int teardown(void **state)
{
        struct pair *pair = *state;

        nri_wire_clear(&pair->wire);
        close(pair->fds[0]);
        close(pair->fds[1]);
        free(pair);
        return 0;
}

/* Writes bytes from the runtime's side and reads them all on numapin's. */
static void deliver(struct pair *pair, const uint8_t *bytes, size_t len)
{
        assert_int_equal(write(pair->fds[0], bytes, len), (ssize_t)len);
        assert_int_equal(nri_wire_read(&pair->wire, collect, &pair->seen), 0);
}

static void test_wire_reassembles_a_message_split_across_frames_and_reads(void **state)
{
        struct pair *pair = *state;
        uint8_t buf[128];
        size_t n = 0;

        /* one ttrpc message of 6 bytes: header + 2 bytes in frame 1, 4 bytes in frame 2 */
        n += frame(buf + n, NRI_CONN_PLUGIN, 12);
        n += ttrpc(buf + n, 6, 1, NRI_TTRPC_REQUEST);
        memcpy(buf + n, "ab", 2);
        n += 2;
        n += frame(buf + n, NRI_CONN_PLUGIN, 4);
        memcpy(buf + n, "cdef", 4);
        n += 4;

        deliver(pair, buf, 5); /* a read that ends inside the frame header */
        assert_int_equal(pair->seen.n, 0);
        deliver(pair, buf + 5, 20);
        assert_int_equal(pair->seen.n, 0);
        deliver(pair, buf + 25, n - 25);
        assert_int_equal(pair->seen.n, 1);
        assert_int_equal(pair->seen.messages[0].conn, NRI_CONN_PLUGIN);
        assert_int_equal(pair->seen.messages[0].stream_id, 1);
        assert_int_equal(pair->seen.messages[0].type, NRI_TTRPC_REQUEST);
        assert_int_equal(pair->seen.messages[0].len, 6);
        assert_memory_equal(pair->seen.messages[0].data, "abcdef", 6);
}

static void test_wire_drops_unknown_connections_and_empty_frames(void **state)
{
        struct pair *pair = *state;
        uint8_t buf[128];
        size_t n = 0;

        n += frame(buf + n, 7, 5); /* nobody opened connection 7 */
        memcpy(buf + n, "xxxxx", 5);
        n += 5;
        n += frame(buf + n, NRI_CONN_RUNTIME, 0); /* empty */
        n += frame(buf + n, NRI_CONN_RUNTIME, 10); /* an empty response */
        n += ttrpc(buf + n, 0, 1, NRI_TTRPC_RESPONSE);
        deliver(pair, buf, n);

        assert_int_equal(pair->wire.frames_dropped, 1);
        assert_int_equal(pair->seen.n, 1);
        assert_int_equal(pair->seen.messages[0].conn, NRI_CONN_RUNTIME);
        assert_int_equal(pair->seen.messages[0].type, NRI_TTRPC_RESPONSE);
        assert_int_equal(pair->seen.messages[0].len, 0);
}

static void test_wire_skips_an_oversized_message_and_keeps_the_stream(void **state)
{
        struct pair *pair = *state;
        size_t body = NRI_TTRPC_MAX + 1, n = 0;
        uint8_t *buf = calloc(1, body + 64);

        assert_non_null(buf);
        n += frame(buf + n, NRI_CONN_PLUGIN, (uint32_t)(10 + body + 13));
        n += ttrpc(buf + n, (uint32_t)body, 3, NRI_TTRPC_REQUEST);
        n += body;
        n += ttrpc(buf + n, 3, 5, NRI_TTRPC_REQUEST); /* the next message, same frame */
        memcpy(buf + n, "ok!", 3);
        n += 3;

        /* the socket buffer is smaller than the message: write and read in turns */
        for (size_t sent = 0; sent < n;) {
                ssize_t w = write(pair->fds[0], buf + sent, n - sent > 65536 ? 65536 : n - sent);
                assert_true(w > 0);
                sent += (size_t)w;
                for (int pending = 1; pending > 0;) {
                        assert_int_equal(nri_wire_read(&pair->wire, collect, &pair->seen), 0);
                        assert_int_equal(ioctl(pair->fds[1], FIONREAD, &pending), 0);
                }
        }
        free(buf);
        assert_int_equal(pair->seen.n, 2);
        assert_true(pair->seen.messages[0].oversized);
        assert_int_equal(pair->seen.messages[0].stream_id, 3);
        assert_false(pair->seen.messages[1].oversized);
        assert_int_equal(pair->seen.messages[1].stream_id, 5);
        assert_memory_equal(pair->seen.messages[1].data, "ok!", 3);
}

static void test_wire_refuses_a_frame_longer_than_any_runtime_writes(void **state)
{
        struct pair *pair = *state;
        uint8_t buf[8];

        frame(buf, NRI_CONN_PLUGIN, 0xFFFFFFFFu);
        assert_int_equal(write(pair->fds[0], buf, sizeof(buf)), (ssize_t)sizeof(buf));
        assert_int_equal(nri_wire_read(&pair->wire, collect, &pair->seen), -EPROTO);
}

static void test_wire_read_reports_end_of_file(void **state)
{
        struct pair *pair = *state;

        close(pair->fds[0]);
        pair->fds[0] = -1;
        assert_int_equal(nri_wire_read(&pair->wire, collect, &pair->seen), -ECONNRESET);
}

/* Reads what numapin sent as (conn, frame length) pairs and the whole body. */
static void test_wire_send_keeps_the_first_frame_within_4096_bytes(void **state)
{
        struct pair *pair = *state;
        size_t len = 10000;
        uint8_t *body = malloc(len), *got = malloc(len + 64);
        size_t have = 0;

        assert_non_null(body);
        assert_non_null(got);
        for (size_t i = 0; i < len; i++)
                body[i] = (uint8_t)i;
        assert_int_equal(nri_wire_send(&pair->wire, NRI_CONN_PLUGIN, 7, NRI_TTRPC_RESPONSE, body, len), 0);
        while (have < len + 10 + 16) {
                ssize_t r = read(pair->fds[0], got + have, len + 64 - have);
                assert_true(r > 0);
                have += (size_t)r;
        }
        assert_int_equal(have, len + 10 + 16); /* two frames, no more */
        assert_int_equal(get_be32(got), NRI_CONN_PLUGIN);
        assert_int_equal(get_be32(got + 4), NRI_FIRST_FRAME_MAX);
        assert_int_equal(get_be32(got + 8), len); /* ttrpc length */
        assert_int_equal(get_be32(got + 12), 7);  /* stream id */
        assert_int_equal(got[16], NRI_TTRPC_RESPONSE);
        assert_int_equal(got[17], 0);
        assert_memory_equal(got + 18, body, NRI_FIRST_FRAME_MAX - 10);
        assert_int_equal(get_be32(got + 8 + NRI_FIRST_FRAME_MAX), NRI_CONN_PLUGIN);
        assert_int_equal(get_be32(got + 12 + NRI_FIRST_FRAME_MAX), len - (NRI_FIRST_FRAME_MAX - 10));
        assert_memory_equal(got + 16 + NRI_FIRST_FRAME_MAX, body + NRI_FIRST_FRAME_MAX - 10,
                            len - (NRI_FIRST_FRAME_MAX - 10));
        free(body);
        free(got);
}

static void test_wire_send_refuses_a_message_over_4_mib(void **state)
{
        struct pair *pair = *state;
        static uint8_t body[1];

        assert_int_equal(nri_wire_send(&pair->wire, NRI_CONN_PLUGIN, 1, NRI_TTRPC_RESPONSE, body, NRI_TTRPC_MAX + 1),
                         -EMSGSIZE);
}

static void test_wire_call_numbers_streams_1_3_5(void **state)
{
        struct pair *pair = *state;
        uint32_t id;

        assert_int_equal(nri_wire_call(&pair->wire, "s", "m", NULL, 0, 0, &id), 0);
        assert_int_equal(id, 1);
        assert_int_equal(nri_wire_call(&pair->wire, "s", "m", NULL, 0, 0, &id), 0);
        assert_int_equal(id, 3);
        assert_int_equal(nri_wire_call(&pair->wire, "s", "m", NULL, 0, 0, &id), 0);
        assert_int_equal(id, 5);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_wire_reassembles_a_message_split_across_frames_and_reads, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_wire_drops_unknown_connections_and_empty_frames, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wire_skips_an_oversized_message_and_keeps_the_stream, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_wire_refuses_a_frame_longer_than_any_runtime_writes, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_wire_read_reports_end_of_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wire_send_keeps_the_first_frame_within_4096_bytes, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_wire_send_refuses_a_message_over_4_mib, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wire_call_numbers_streams_1_3_5, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
