// SPDX-License-Identifier: MIT
/* Fuzz target: NRI's framing as the plugin reads it (nri_wire_read): the
 * input is the byte stream from the runtime, multiplexer frames carrying ttrpc
 * messages, read from a memfd until end of file. Every message handed over is
 * read through (an oversized one has its length only), and requests answered (nri_wire_respond) on /dev/null. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../nri/wire.h"
#include "fuzz.h"

static struct nri_wire sink;
static volatile uint8_t checksum; /* every byte of a message is read */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

        if (fd < 0)
                fuzz_die("cannot open /dev/null");
        nri_wire_init(&sink, fd);
        return 0;
}

static int on_message(struct nri_wire *wire, const struct nri_message *message, void *userdata)
{
        size_t *count = userdata;

        if (message->conn != NRI_CONN_PLUGIN && message->conn != NRI_CONN_RUNTIME)
                abort();
        if (message->oversized) {
                if (message->data || message->len <= NRI_TTRPC_MAX)
                        abort();
                return 0; /* its length only: the body is dropped */
        }
        for (size_t i = 0; i < message->len; i++)
                checksum += message->data[i];
        if (message->conn == NRI_CONN_PLUGIN && message->type == NRI_TTRPC_REQUEST && message->len < 8192)
                (void)nri_wire_respond(&sink, message->stream_id, NRI_STATUS_OK, NULL, message->data, message->len);
        (*count)++;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct nri_wire wire;
        size_t count = 0;
        int fd, r;

        fd = memfd_create("nri-wire", MFD_CLOEXEC);
        if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0)
                fuzz_die("memfd");
        nri_wire_init(&wire, fd);
        do
                r = nri_wire_read(&wire, on_message, &count);
        while (r == 0); /* -ECONNRESET at the end, -EPROTO for an oversized frame */
        nri_wire_clear(&wire);
        close(fd);
        return 0;
}
