/* SPDX-License-Identifier: MIT */
/* nri-harness, the runtime side of NRI, written apart from nri/ so that the two check
 * each other: it shares only the protobuf-c code generated into build/nri. This is
 * what its files share: the wire's constants, the multiplexed connection, the
 * runtime and its replies, the container model, and the checks. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
/* How long the harness waits for an answer: the request timeout, five times over in a
 * sanitizer build (make test-asan), whose plugin runs several times slower; what the
 * plugin is told in Configure stays the runtime's 2 s. */
#ifdef NP_SANITIZE
#define REQUEST_WAIT_MS (5 * REQUEST_TIMEOUT_MS)
#else
#define REQUEST_WAIT_MS REQUEST_TIMEOUT_MS
#endif

#define MAX_KV      16
#define MAX_UPDATES 64

/* ---- report.c: checks and notes, one line each ------------------------------------------ */

extern unsigned int n_failed;
extern char scope[160]; /* what every check name starts with: the scenario and the runtime */

void set_scope(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool expect(bool ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool require(bool ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool expect_str(const char *name, const char *want, const char *got);
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *name_f(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- helpers.c: small helpers and an arena for the protobuf messages the runtime builds -- */

uint64_t now_ns(void);
void sleep_ms(unsigned int ms);
void put_be32(uint8_t *p, uint32_t v);
uint32_t get_be32(const uint8_t *p);
void *xmalloc(size_t size);
void *xmemdup(const void *data, size_t len);
bool copy_str(char *dst, size_t size, const char *src);
int parse_u64(const char *s, uint64_t max, uint64_t *ret);
int parse_i64(const char *s, int64_t *ret);
unsigned int cpulist_count(const char *s);
bool cpulist_disjoint(const char *a, const char *b);
bool cpulist_equal(const char *a, const char *b);

struct arena {
        void **blocks;
        size_t n, cap;
};

void *arena_alloc(struct arena *a, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_free(struct arena *a);

/* ---- framing.c: the multiplexed connection, frames in and out ---------------------------- */

struct bytes {
        uint8_t *buf;
        size_t len, cap;
};

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

/* How the runtime cuts its ttrpc messages into frames. Each follows Go's rules:
 * a message's first frame is at most 4096 bytes and no frame holds two messages. */
enum split {
        SPLIT_GO,     /* as Go's ttrpc over the multiplexer: header and 4086 bytes, then the rest */
        SPLIT_HEADER, /* the 10-byte header alone, then the body */
        SPLIT_TINY,   /* 3-byte frames: boundaries inside the header and the body */
};

void peer_init(struct peer *p, int fd);
struct msg *peer_pop(struct peer *p);
void peer_close(struct peer *p);
void peer_violation(struct peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int peer_pump(struct peer *p, int timeout_ms);
int peer_write(struct peer *p, const uint8_t *buf, size_t len);
int send_frame(struct peer *p, uint32_t conn, const uint8_t *data, size_t len);
void ttrpc_header(uint8_t *out, size_t len, uint32_t stream, uint8_t type, uint8_t flags);
int send_message(struct peer *p, enum split split, uint32_t conn, uint32_t stream, uint8_t type, const uint8_t *body,
                 size_t len);

/* ---- the container model: what containers.c builds messages from and reads answers into -- */

struct kv {
        char key[400]; /* room for keys beyond the longest numapin takes */
        char value[200];
        size_t key_len, value_len; /* either may hold NUL bytes */
};

/* One container, written as a line: "ID key=value...". Keys: name, pod, pod:ANNOTATION,
 * ctr:ANNOTATION, quota, period, memory, cpus, mems (its current cpuset), pid, padding
 * (bytes of extra labels), state (created|running). In an annotation's key and value
 * \xNN stands for the byte NN (a NUL, invalid UTF-8, a space) and \\ for a backslash. */
struct spec {
        char id[256], name[64], pod[160];
        struct kv pod_annotations[MAX_KV], annotations[MAX_KV];
        size_t n_pod_annotations, n_annotations;
        int64_t quota, memory; /* -1: not set */
        uint64_t period;       /* 0: not set */
        char cpus[256], mems[64];
        uint64_t pid, padding;
        Nri__ContainerState state;
        struct spec_device {
                char type; /* c, b, u, p */
                int64_t major, minor;
                char path[64];
        } devices[8];
        size_t n_devices;
        int64_t pod_quota, pod_memory; /* the pod's resources; -1: not set */
};

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

/* ---- runtime.c: the runtime, its calls and its answers to the plugin's ------------------- */

struct options {
        const char *plugin;    /* build/numapin-nri */
        const char *log;       /* the plugin's stderr */
        const char *state_dir; /* handed to the plugin (in a subfolder per session) */
        char **plugin_args;    /* after "--" */
        int n_plugin_args;
        const char *profile;
        unsigned int count, hold;
        unsigned int hold_more; /* bench: then Synchronize and round trips with `hold` held, and this many held */
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
        char last_updates[512];      /* "ID:CPUS ..." of the last UpdateContainers call */
        struct outcome *unsolicited; /* when set, every UpdateContainers call's updates are added to it */
        /* the plugin process, and the socket of an external one */
        char state_dir[PATH_MAX];
        pid_t pid;
        int exit_status; /* as waitpid() gives it, once reaped */
        bool preinstalled;
        int listen_fd;
        char sock_dir[64], sock_path[108];
};

struct reply {
        int err;  /* 0: answered; -ETIMEDOUT: not within the request timeout; -ECONNRESET: closed */
        int code; /* the status code: 0 is OK */
        char message[1024];
        uint8_t *payload; /* the reply message, packed */
        size_t len;
        size_t rejected; /* a request over 4 MiB, refused before sending as Go's client does */
        uint64_t ns;     /* the round trip */
};

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

void runtime_init(struct runtime *rt, const struct options *o, enum profile profile, const char *subdir);
enum profile profile_of(const char *s);
void session_reset(struct runtime *rt, int fd);
int runtime_wait(struct runtime *rt, uint32_t conn, uint32_t stream, uint8_t type, int timeout_ms, struct msg **ret);
void runtime_idle(struct runtime *rt, int timeout_ms);
void reply_clear(struct reply *r);
bool reply_ok(const struct reply *r);
const char *describe(const struct reply *r);
int call_body(struct runtime *rt, uint32_t stream, const uint8_t *body, size_t len, enum split split,
              struct reply *ret);
uint32_t next_stream(struct runtime *rt);
uint8_t *pack_request(const struct runtime *rt, const char *service, const char *method, const uint8_t *payload,
                      size_t len, size_t *ret_len);
int call_raw(struct runtime *rt, const char *service, const char *method, const uint8_t *payload, size_t len,
             struct reply *ret);
int call(struct runtime *rt, const char *method, const ProtobufCMessage *request, struct reply *ret);
int runtime_await_registration(struct runtime *rt);
int runtime_configure(struct runtime *rt, struct reply *ret);
bool runtime_synchronize(struct runtime *rt, Nri__PodSandbox **pods, size_t n_pods, Nri__Container **containers,
                         size_t n_containers, struct sync_result *ret);
bool runtime_synchronize_specs(struct runtime *rt, const struct spec *specs, size_t n, struct sync_result *ret);
bool runtime_handshake(struct runtime *rt, const struct spec *specs, size_t n);

/* ---- process.c: the plugin process, the runtime's socket, and what to clean up on exit --- */

void cleanup(void);
void log_line(const struct runtime *rt, const char *what);
pid_t spawn(const struct runtime *rt, const char *const *extra, int fd3);
bool plugin_alive(struct runtime *rt);
bool plugin_wait(struct runtime *rt, unsigned int timeout_ms);
const char *exit_text(int status);
bool plugin_stop(struct runtime *rt, int sig);
void runtime_clear(struct runtime *rt);
void runtime_socket_path(struct runtime *rt);
void runtime_listen(struct runtime *rt);
void runtime_unlisten(struct runtime *rt);
int64_t runtime_accept(struct runtime *rt, int timeout_ms);
bool runtime_start_external(struct runtime *rt, const char *const *extra);
void runtime_start_preinstalled(struct runtime *rt, const char *name, const char *idx, const char *const *extra);

/* ---- containers.c: containers as the runtime describes them, the calls about them, the answers */

int spec_parse(const char *line, struct spec *ret, char *err, size_t errsize);
struct spec spec_of(const char *line);
Nri__PodSandbox *build_pod(struct arena *a, const struct spec *s);
Nri__Container *build_container(struct arena *a, const struct spec *s);
void build_state(struct arena *a, const struct spec *specs, size_t n, Nri__PodSandbox ***ret_pods, size_t *ret_n_pods,
                 Nri__Container ***ret_containers);
void take_updates(Nri__ContainerUpdate **list, size_t n, struct outcome *out);
const uint8_t *payload_of(const struct reply *r);
struct outcome outcome_of_create(const struct reply *r);
const struct cpuset_update *find_update(const struct outcome *out, const char *id);
const char *dash(const char *s);
const char *outcome_text(const struct outcome *out);
struct outcome runtime_create(struct runtime *rt, const struct spec *s, struct reply *ret);
struct outcome runtime_update(struct runtime *rt, const struct spec *s, struct reply *ret);
struct outcome runtime_stop(struct runtime *rt, const struct spec *s, struct reply *ret);
const char *runtime_event(struct runtime *rt, Nri__Event event, const struct spec *s, bool force_state_change,
                          struct reply *ret);

/* ---- checks.c: the plugin's ledger records, and checks the scenarios share --------------- */

const char *record(const struct runtime *rt, const char *id, const char *field);
bool has_record(const struct runtime *rt, const char *id);
unsigned int count_records(const struct runtime *rt);
/* Whether each of `ids` has its file in <state>/containers and no record waits in
 * <state>/lock for one, within `timeout_ms`. */
bool records_written(const struct runtime *rt, const char *const *ids, size_t n, unsigned int timeout_ms);
bool create_expect(struct runtime *rt, const char *line, const char *want_cpus, const char *want_mems,
                   const char *name);
void expect_record(const struct runtime *rt, const char *id, const char *fields, const char *name);
void expect_clean_wire(struct runtime *rt);
void expect_exit_zero(struct runtime *rt, int sig, const char *name);

/* ---- the commands: scenarios.c, hostile.c and bench.c ------------------------------------ */

void scenario_handshake(const struct options *o);
void scenario_sync(const struct options *o);
void scenario_events(const struct options *o, enum profile profile);
void scenario_errors(const struct options *o);
void scenario_reconnect(const struct options *o);
void scenario_restarts(const struct options *o);
void scenario_preinstalled(const struct options *o);
void scenario_hostile(const struct options *o);
int run_bench(const struct options *o);
