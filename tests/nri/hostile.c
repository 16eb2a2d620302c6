// SPDX-License-Identifier: MIT
/* The hostile scenario: traffic no well-behaved runtime sends (odd frames, unknown
 * connections, garbage protobuf, bad stream ids, oversized messages). After each
 * the plugin must still serve, or reconnect where the framing broke for good. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

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

void scenario_hostile(const struct options *o)
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
                request.container->annotations[0]->key =
                        (ProtobufCBinaryData){ .len = 21, .data = (uint8_t *)"policy.numapin.io/pod" };
                request.container->annotations[0]->value =
                        (ProtobufCBinaryData){ .len = 65536, .data = xmalloc(65537) };
                memset(request.container->annotations[0]->value.data, 'b', 65536);
                call(&rt, "CreateContainer", &request.base, &reply);
                expect(reply.err == 0 && reply.code != CODE_OK && !has_record(&rt, "hugevalue"),
                       "an annotation value of 64 KiB: an error status", "%s", describe(&reply));
                free(request.container->annotations[0]->value.data);
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
