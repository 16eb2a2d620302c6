// SPDX-License-Identifier: MIT
/* The scenarios: handshake, sync, events, errors, reconnect and preinstalled,
 * each one or more runtimes driving numapin-nri and printing their checks. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

#define NUMAPIN_EVENTS 0x698 /* the plugin's contract: create, post-create, update, stop, remove */

void scenario_handshake(const struct options *o)
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
        /* kept off exclusive CPUs (none held yet: every CPU), memory left alone */
        expect(reply_ok(&reply) && !out.malformed && out.adjusted && strcmp(out.cpus, "0-31") == 0 && !out.mems[0] &&
                       !out.memory_policy && out.n_updates == 0,
               "an unannotated container: the CPUs no one holds exclusively (0-31), mems not set", "%s",
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

void scenario_sync(const struct options *o)
{
        /* s1 and s2 run as this process: a live pid, so that no verb reclaims them as gone */
        char s1[256], s2[256];
        const char *const existing[] = {
                s1,
                s2,
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

        snprintf(s1, sizeof(s1),
                 "s1 pod=p1 name=main pod:cpus.numapin.io/pod=4 cpus=0-1,16-17 mems=0 pid=%d state=running", getpid());
        snprintf(s2, sizeof(s2),
                 "s2 pod=p2 name=main pod:nodes.numapin.io/pod=1 cpus=8-15,24-31 mems=1 pid=%d state=running", getpid());
        runtime_init(&rt, o, RUNTIME_V08, "sync");
        set_scope("sync, %s: ", rt.label);
        for (size_t i = 0; i < 7; i++)
                specs[i] = spec_of(existing[i]);
        if (!runtime_start_external(&rt, NULL) || !runtime_handshake(&rt, NULL, 0))
                goto paged;
        /* a plugin that starts while containers run: it counts them from their cpusets */
        runtime_synchronize_specs(&rt, specs, 7, &sync);
        /* s3 (unannotated, on every CPU) is moved off s1's exclusive CPUs; s7 (bind,
         * shared on node 0) gets node 0's shared CPUs, as every shared container does */
        expect(!sync.why[0] && sync.chunks == 1 && sync.updates.n_updates == 2 &&
                       find_update(&sync.updates, "s3") && strcmp(find_update(&sync.updates, "s3")->cpus, "2-15,18-31") == 0 &&
                       find_update(&sync.updates, "s7") && strcmp(find_update(&sync.updates, "s7")->cpus, "2-7,18-23") == 0,
               "Synchronize with 6 pods and 7 containers: answered in one message; s3 moved off s1's CPUs (2-15,18-31), "
               "s7 given node 0's shared CPUs (2-7,18-23)",
               "%s", sync.why[0] ? sync.why : outcome_text(&sync.updates));
        reply_clear(&sync.last);
        expect_record(&rt, "s1",
                      name_f("policy=bind nodes=0 cpus=0-1,16-17 mems=0 exclusive_cpus=0-1,16-17 source=nri pid=%d",
                             getpid()),
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
                expect(sync.ns < (uint64_t)REQUEST_WAIT_MS * 1000000ull,
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

void scenario_events(const struct options *o, enum profile profile)
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
        expect(reply_ok(&reply) && out.adjusted && strcmp(out.cpus, "1-15,17-31") == 0 && !out.mems[0] &&
                       out.n_updates == 0 && !has_record(&rt, "c5"),
               "an unannotated container: kept off c1's exclusive 0,16 (1-15,17-31), no mems, no record", "%s",
               reply_ok(&reply) ? outcome_text(&out) : describe(&reply));
        reply_clear(&reply);
        {
                /* answered first, each record's file follows once the socket is quiet */
                static const char *const placed[] = { "c1", "c2", "c3", "c4" };

                expect(records_written(&rt, placed, 4, 2000),
                       "the records of c1-c4 are in containers/ within 2 s and none waits in the lock file", "%s",
                       "a record's file is still missing, or one still waits");
        }

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
        u = find_update(&out, "c5");
        expect(reply_ok(&reply) && out.n_updates == 1 && u && strcmp(u->cpus, "1-15,17-31") == 0,
               "UpdateContainer of an unannotated container: kept off the exclusive CPUs", "%s",
               reply_ok(&reply) ? outcome_text(&out) : describe(&reply));
        reply_clear(&reply);

        /* PostCreateContainer: the pid is recorded */
        /* the pid of a live process (this one): a dead one would be reclaimed as gone */
        method = event_expect_ok(&rt, NRI__EVENT__POST_CREATE_CONTAINER,
                                 name_f("c1 pod=p1 pod:cpus.numapin.io/pod=2 pid=%d", getpid()), false,
                                 "PostCreateContainer is answered");
        note("PostCreateContainer went through %s", method);
        expect_str(name_f("post-create through %s: the record holds the pid", method), name_f("%d", getpid()),
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
        expect(rt.update_calls == 1 && strcmp(rt.last_updates, "c3:0-7,16-23 c5:0-31") == 0,
               "removed without a stop: one UpdateContainers gives c3 node 0's CPUs and c5 every CPU back",
               "%u calls, '%s'", rt.update_calls, rt.last_updates);
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
        expect(rt.update_calls == 1, "no other UpdateContainers: updates travel in replies where they can", "%u calls",
               rt.update_calls);
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

void scenario_errors(const struct options *o)
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

void scenario_reconnect(const struct options *o)
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

void scenario_preinstalled(const struct options *o)
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
