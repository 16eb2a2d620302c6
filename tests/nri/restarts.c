// SPDX-License-Identifier: MIT
/* The restarts scenario: 100 runtime restarts with containers created and removed
 * between them. The harness keeps the runtime's truth (its containers and the
 * cpusets it last applied: adjustments, the updates of every reply and of the
 * plugin's UpdateContainers calls); while the runtime is away some containers vanish
 * and new ones appear; after each Synchronize the plugin's ledger must be that
 * truth as `numapinctl list --json` shows it, and no CPU held exclusively by two
 * containers. Restarts: containerd's (connection and socket gone, a new socket),
 * a dropped connection (every fifth), the plugin killed and started again by its
 * supervisor (every tenth). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define N_RESTARTS 100
#define MAX_LIVE   48
#define MAX_HELD   12 /* exclusive CPUs the runtime asks for at most, of 32: each node keeps shared CPUs */
#define N_NODES    2
#define SEED       0x5eed2026u

static const char *const node_cpus[N_NODES] = { "0-7,16-23", "8-15,24-31" };

enum kind {
        EXCLUSIVE, /* cpus.numapin.io/pod=N: recorded, holds its CPUs */
        SHARED,    /* policy bind on one node: recorded, shared CPUs */
        PLAIN,     /* unannotated: no record, kept off exclusive CPUs */
};

struct live {
        struct spec spec;
        enum kind kind;
        unsigned int want; /* EXCLUSIVE: CPUs asked for */
};

struct truth {
        struct live c[MAX_LIVE];
        size_t n;
        unsigned int next_id;
        uint32_t rng;
        /* what failed, over all restarts: the first case of each */
        unsigned int ids_wrong, cpus_wrong, held_twice, overlaps, sync_failed, updates_unknown;
        char ids_why[1300], cpus_why[1300], held_why[1300], overlap_why[1300], sync_why[600], unknown_why[300];
};

static uint32_t rnd(struct truth *t, uint32_t n)
{
        /* xorshift32: the same sequence every run */
        t->rng ^= t->rng << 13;
        t->rng ^= t->rng >> 17;
        t->rng ^= t->rng << 5;
        return t->rng % n;
}

static struct live *find(struct truth *t, const char *id)
{
        for (size_t i = 0; i < t->n; i++)
                if (strcmp(t->c[i].spec.id, id) == 0)
                        return &t->c[i];
        return NULL;
}

static void drop(struct truth *t, size_t i)
{
        t->c[i] = t->c[--t->n];
}

static unsigned int held(const struct truth *t)
{
        unsigned int n = 0;

        for (size_t i = 0; i < t->n; i++)
                n += t->c[i].kind == EXCLUSIVE ? cpulist_count(t->c[i].spec.cpus) : 0;
        return n;
}

/* The runtime applies what the plugin asked: the cpuset (and mems, when given) of
 * each container it knows. */
static void apply(struct truth *t, const struct outcome *out, int restart, const char *what)
{
        for (size_t i = 0; i < out->n_updates; i++) {
                const struct cpuset_update *u = &out->updates[i];
                struct live *c = find(t, u->id);

                if (!c) {
                        if (!t->updates_unknown++)
                                snprintf(t->unknown_why, sizeof(t->unknown_why),
                                         "restart %d, %s: an update for '%s', which the runtime does not have", restart,
                                         what, u->id);
                        continue;
                }
                if (u->cpus[0])
                        copy_str(c->spec.cpus, sizeof(c->spec.cpus), u->cpus);
                if (u->mems[0])
                        copy_str(c->spec.mems, sizeof(c->spec.mems), u->mems);
        }
}

/* The plugin's UpdateContainers calls, met while waiting for replies. */
static void apply_unsolicited(struct truth *t, struct runtime *rt, int restart, const char *what)
{
        apply(t, rt->unsolicited, restart, what);
        rt->unsolicited->n_updates = 0;
}

static void new_spec(struct truth *t, struct live *c, enum kind kind, unsigned int want, const char *cpuset,
                     const char *mems)
{
        char line[512], id[32];
        int n;

        snprintf(id, sizeof(id), "%c%u", kind == EXCLUSIVE ? 'e' : kind == SHARED ? 's' : 'p', t->next_id++);
        n = snprintf(line, sizeof(line), "%s pod=pod-%s state=running", id, id);
        if (kind == EXCLUSIVE)
                n += snprintf(line + n, sizeof(line) - (size_t)n, " pod:cpus.numapin.io/pod=%u", want);
        else if (kind == SHARED)
                n += snprintf(line + n, sizeof(line) - (size_t)n,
                              " pod:policy.numapin.io/pod=bind pod:nodes.numapin.io/pod=%u", want);
        if (cpuset && *cpuset)
                n += snprintf(line + n, sizeof(line) - (size_t)n, " cpus=%s", cpuset);
        if (mems && *mems)
                snprintf(line + n, sizeof(line) - (size_t)n, " mems=%s", mems);
        *c = (struct live){ .spec = spec_of(line), .kind = kind, .want = want };
}

static enum kind pick_kind(struct truth *t)
{
        uint32_t r = rnd(t, 10);

        return r < 4 ? EXCLUSIVE : r < 7 ? SHARED : PLAIN;
}

/* While connected: a CreateContainer, its adjustment and updates applied. */
static void create_one(struct truth *t, struct runtime *rt, int restart)
{
        enum kind kind = pick_kind(t);
        unsigned int want = kind == EXCLUSIVE ? 1 + rnd(t, 2) : kind == SHARED ? rnd(t, N_NODES) : 0;
        struct live c;
        struct reply reply = {};
        struct outcome out;

        if (t->n == MAX_LIVE || (kind == EXCLUSIVE && held(t) + want > MAX_HELD))
                return;
        new_spec(t, &c, kind, want, NULL, NULL);
        out = runtime_create(rt, &c.spec, &reply);
        apply_unsolicited(t, rt, restart, "CreateContainer");
        if (!reply_ok(&reply) || out.malformed || !out.adjusted) {
                if (!t->sync_failed++)
                        snprintf(t->sync_why, sizeof(t->sync_why), "restart %d: CreateContainer %s: %s", restart,
                                 c.spec.id, reply_ok(&reply) ? outcome_text(&out) : describe(&reply));
                reply_clear(&reply);
                return;
        }
        reply_clear(&reply);
        copy_str(c.spec.cpus, sizeof(c.spec.cpus), out.cpus);
        if (out.mems[0])
                copy_str(c.spec.mems, sizeof(c.spec.mems), out.mems);
        t->c[t->n++] = c;
        apply(t, &out, restart, "CreateContainer");
}

/* While connected: StopContainer then RemoveContainer, the updates of both applied. */
static void remove_one(struct truth *t, struct runtime *rt, int restart)
{
        size_t i = rnd(t, (uint32_t)t->n);
        struct spec s = t->c[i].spec;
        struct reply reply = {};
        struct outcome out;

        drop(t, i);
        out = runtime_stop(rt, &s, &reply);
        apply_unsolicited(t, rt, restart, "StopContainer");
        if (!reply_ok(&reply) && !t->sync_failed++)
                snprintf(t->sync_why, sizeof(t->sync_why), "restart %d: StopContainer %s: %s", restart, s.id,
                         describe(&reply));
        reply_clear(&reply);
        apply(t, &out, restart, "StopContainer");
        runtime_event(rt, NRI__EVENT__REMOVE_CONTAINER, &s, false, &reply);
        if (!reply_ok(&reply) && !t->sync_failed++)
                snprintf(t->sync_why, sizeof(t->sync_why), "restart %d: RemoveContainer %s: %s", restart, s.id,
                         describe(&reply));
        reply_clear(&reply);
        apply_unsolicited(t, rt, restart, "RemoveContainer");
}

/* N free CPUs of one node, as kubelet's static CPU manager could have given them
 * while the plugin was away: none that any container holds exclusively. */
static bool free_cpus(const struct truth *t, unsigned int node, unsigned int want, char *ret, size_t size)
{
        unsigned int got = 0;
        size_t n = 0;

        ret[0] = '\0';
        for (unsigned int cpu = 0; cpu < 32 && got < want; cpu++) {
                char one[8];
                bool taken = false;

                snprintf(one, sizeof(one), "%u", cpu);
                if (!cpulist_disjoint(one, node_cpus[node]))
                        for (size_t i = 0; i < t->n && !taken; i++)
                                taken = t->c[i].kind == EXCLUSIVE && !cpulist_disjoint(one, t->c[i].spec.cpus);
                else
                        taken = true;
                if (!taken) {
                        n += (size_t)snprintf(ret + n, size - n, "%s%u", got ? "," : "", cpu);
                        got++;
                }
        }
        return got == want;
}

/* While the runtime is away: containers exit and are removed, new ones start
 * without the plugin (unannotated on every CPU, shared ones on their node's CPUs,
 * exclusive ones on CPUs kubelet gave them or on every CPU). */
static void while_away(struct truth *t)
{
        for (uint32_t k = rnd(t, 3); k > 0 && t->n > 0; k--)
                drop(t, rnd(t, (uint32_t)t->n));
        for (uint32_t k = rnd(t, 3); k > 0 && t->n < MAX_LIVE; k--) {
                enum kind kind = pick_kind(t);
                unsigned int node = rnd(t, N_NODES), want = 1 + rnd(t, 2);
                char cpus[128];

                if (kind == PLAIN)
                        new_spec(t, &t->c[t->n++], PLAIN, 0, "0-31", "0-1");
                else if (kind == SHARED)
                        new_spec(t, &t->c[t->n++], SHARED, node, node_cpus[node], node ? "1" : "0");
                else if (held(t) + want > MAX_HELD)
                        continue;
                else if (rnd(t, 3) == 0)
                        /* on kubelet's shared pool: the plugin places it anew and moves it */
                        new_spec(t, &t->c[t->n++], EXCLUSIVE, want, "0-31", "0-1");
                else if (free_cpus(t, node, want, cpus, sizeof(cpus)))
                        new_spec(t, &t->c[t->n++], EXCLUSIVE, want, cpus, node ? "1" : "0");
        }
}

static void note_first(unsigned int *count, char *why, size_t size, int restart, const char *fmt, const char *a,
                       const char *b, const char *c)
{
        char text[1200];

        if ((*count)++)
                return;
        snprintf(text, sizeof(text), fmt, a, b, c);
        snprintf(why, size, "restart %d: %s", restart, text);
}

static int by_id(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ids (n of them) sorted and joined by spaces into ret */
static void join_sorted(const char **ids, size_t n, char *ret, size_t size)
{
        size_t used = 0;

        qsort(ids, n, sizeof(*ids), by_id);
        ret[0] = '\0';
        for (size_t i = 0; i < n && used < size; i++)
                used += (size_t)snprintf(ret + used, size - used, "%s%s", i ? " " : "", ids[i]);
}

/* One record as `numapinctl list --json` shows it. */
struct entry {
        char id[64], cpus[256], exclusive[256];
};

/* The string value of `"key": "value"` on one line of numapinctl's JSON (one field
 * per line), into ret; false when the line holds another key. */
static bool json_field(const char *line, const char *key, char *ret, size_t size)
{
        char quoted[64];
        const char *p = line + strspn(line, " "), *end;

        snprintf(quoted, sizeof(quoted), "\"%s\": \"", key);
        if (strncmp(p, quoted, strlen(quoted)) != 0)
                return false;
        p += strlen(quoted);
        end = strchr(p, '"');
        snprintf(ret, size, "%.*s", end ? (int)(end - p) : 0, p);
        return true;
}

/* The plugin's ledger through numapinctl (beside the plugin, with the plugin's
 * --config): its records, or -1 with why in err. */
static int ledger_view(const struct runtime *rt, struct entry *ret, size_t max, char *err, size_t size)
{
        const char *config = "/dev/null", *slash = strrchr(rt->o->plugin, '/');
        char cmd[3 * PATH_MAX + 64], ctl[PATH_MAX], line[700];
        size_t n = 0;
        FILE *p;
        int status;

        for (int i = 0; i + 1 < rt->o->n_plugin_args; i++)
                if (strcmp(rt->o->plugin_args[i], "--config") == 0)
                        config = rt->o->plugin_args[i + 1];
        snprintf(ctl, sizeof(ctl), "%.*snumapinctl", slash ? (int)(slash - rt->o->plugin + 1) : 0, rt->o->plugin);
        snprintf(cmd, sizeof(cmd), "'%s' --config '%s' --state-dir '%s' list --json", ctl, config, rt->state_dir);
        p = popen(cmd, "r");
        if (!p) {
                snprintf(err, size, "popen: %s", strerror(errno));
                return -1;
        }
        while (fgets(line, sizeof(line), p)) {
                /* "id" opens a record; its other fields follow it */
                if (n < max && json_field(line, "id", ret[n].id, sizeof(ret[n].id)))
                        ret[n].cpus[0] = ret[n].exclusive[0] = '\0', n++;
                else if (n > 0 && !json_field(line, "cpus", ret[n - 1].cpus, sizeof(ret[n - 1].cpus)))
                        json_field(line, "exclusive_cpus", ret[n - 1].exclusive, sizeof(ret[n - 1].exclusive));
        }
        status = pclose(p);
        if (status != 0) {
                snprintf(err, size, "%.200s list --json: exit status 0x%x", ctl, status);
                return -1;
        }
        return (int)n;
}

/* The ledger against the runtime's truth, after a Synchronize. */
static void compare(struct truth *t, const struct runtime *rt, int restart)
{
        static struct entry entries[256];
        const char *want_ids[MAX_LIVE], *got_ids[256];
        char want[MAX_LIVE * 16], got[256 * 64], err[300];
        size_t n_want = 0;
        int n;

        n = ledger_view(rt, entries, 256, err, sizeof(err));
        if (n < 0) {
                note_first(&t->ids_wrong, t->ids_why, sizeof(t->ids_why), restart, "%s%s%s", err, "", "");
                return;
        }
        for (size_t i = 0; i < t->n; i++)
                if (t->c[i].kind != PLAIN)
                        want_ids[n_want++] = t->c[i].spec.id;
        for (int i = 0; i < n; i++)
                got_ids[i] = entries[i].id;
        join_sorted(want_ids, n_want, want, sizeof(want));
        join_sorted(got_ids, (size_t)n, got, sizeof(got));
        if (strcmp(want, got) != 0)
                note_first(&t->ids_wrong, t->ids_why, sizeof(t->ids_why), restart,
                           "runtime has '%.500s', ledger '%.500s'%s", want, got, "");

        for (size_t i = 0; i < t->n; i++) {
                const struct live *c = &t->c[i];
                const struct entry *e = NULL;

                for (int j = 0; j < n && !e; j++)
                        if (strcmp(entries[j].id, c->spec.id) == 0)
                                e = &entries[j];
                if (c->kind == PLAIN || !e)
                        continue; /* a missing record is the check above's */
                if (!cpulist_equal(e->cpus, c->spec.cpus) ||
                    (c->kind == EXCLUSIVE ? !cpulist_equal(e->exclusive, c->spec.cpus) : e->exclusive[0] != '\0'))
                        note_first(&t->cpus_wrong, t->cpus_why, sizeof(t->cpus_why), restart,
                                   "%s: the runtime applied cpus %s, the record says cpus %s", c->spec.id, c->spec.cpus,
                                   name_f("%s exclusive %s", e->cpus, dash(e->exclusive)));
        }
        for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++)
                        if (entries[i].exclusive[0] && entries[j].exclusive[0] &&
                            !cpulist_disjoint(entries[i].exclusive, entries[j].exclusive))
                                note_first(&t->held_twice, t->held_why, sizeof(t->held_why), restart,
                                           "records %s and %s both hold CPUs of %s exclusively", entries[i].id,
                                           entries[j].id, entries[i].exclusive);
        for (size_t i = 0; i < t->n; i++)
                for (size_t j = i + 1; j < t->n; j++) {
                        const struct live *a = &t->c[i], *b = &t->c[j];

                        if ((a->kind == EXCLUSIVE || b->kind == EXCLUSIVE) &&
                            !cpulist_disjoint(a->spec.cpus, b->spec.cpus))
                                note_first(&t->overlaps, t->overlap_why, sizeof(t->overlap_why), restart,
                                           "the cpusets of %s and %s overlap (%s), one of them exclusive", a->spec.id,
                                           b->spec.id, name_f("%s / %s", a->spec.cpus, b->spec.cpus));
                }
}

/* After a connection: registration, Configure, and the Synchronize of the truth,
 * its updates applied. */
static bool resync(struct truth *t, struct runtime *rt, int restart)
{
        struct spec specs[MAX_LIVE];
        struct sync_result sync;
        struct reply reply = {};
        int r;

        r = runtime_await_registration(rt);
        if (r == 0)
                r = runtime_configure(rt, &reply);
        if (r < 0 && !t->sync_failed++)
                snprintf(t->sync_why, sizeof(t->sync_why), "restart %d: registration or Configure: %s", restart,
                         r == -ETIMEDOUT    ? "no RegisterPlugin within 5 s"
                         : r == -EPERM      ? rt->register_error
                         : r == -ECONNRESET ? "the connection closed"
                         : r == -EPROTO     ? "malformed ConfigureResponse"
                                            : describe(&reply));
        reply_clear(&reply);
        if (r < 0)
                return false;
        for (size_t i = 0; i < t->n; i++)
                specs[i] = t->c[i].spec;
        runtime_synchronize_specs(rt, specs, t->n, &sync);
        reply_clear(&sync.last);
        apply_unsolicited(t, rt, restart, "Synchronize");
        if (sync.why[0]) {
                if (!t->sync_failed++)
                        snprintf(t->sync_why, sizeof(t->sync_why), "restart %d: Synchronize: %s", restart, sync.why);
                return false;
        }
        apply(t, &sync.updates, restart, "Synchronize");
        return true;
}

void scenario_restarts(const struct options *o)
{
        static struct truth t = { .rng = SEED };
        struct outcome unsolicited = {};
        struct runtime rt;
        unsigned int containerd = 0, dropped = 0, supervisor = 0;
        uint64_t start = now_ns(), reconnect_ns = 0;
        int restart;

        runtime_init(&rt, o, RUNTIME_V08, "restarts");
        set_scope("restarts, %s: ", rt.label);
        rt.unsolicited = &unsolicited;
        if (!runtime_start_external(&rt, NULL) || !resync(&t, &rt, 0))
                goto out;
        for (restart = 1; restart <= N_RESTARTS; restart++) {
                uint64_t away;
                int64_t waited;

                for (uint32_t k = 1 + rnd(&t, 3); k > 0; k--)
                        create_one(&t, &rt, restart);
                for (uint32_t k = rnd(&t, 3); k > 0 && t.n > 0; k--)
                        remove_one(&t, &rt, restart);

                away = now_ns();
                if (restart % 10 == 0) {
                        /* the plugin killed and started again by its supervisor, the runtime listening */
                        supervisor++;
                        kill(rt.pid, SIGKILL);
                        plugin_wait(&rt, 3000);
                        session_reset(&rt, -1);
                        while_away(&t);
                        rt.pid = spawn(&rt, NULL, -1);
                } else if (restart % 5 == 0) {
                        /* the runtime closes the connection, its socket stays */
                        dropped++;
                        session_reset(&rt, -1);
                        while_away(&t);
                } else {
                        /* containerd restarts: connection and socket gone, then a new socket */
                        containerd++;
                        runtime_unlisten(&rt);
                        while_away(&t);
                        sleep_ms(rnd(&t, 50));
                        runtime_listen(&rt);
                }
                waited = runtime_accept(&rt, 5000);
                if (!require(waited >= 0, name_f("restart %d: the plugin connects again", restart), "%s",
                             waited == -ETIMEDOUT ? "no connection within 5 s" : strerror((int)-waited)))
                        goto out;
                reconnect_ns += now_ns() - away;
                if (!resync(&t, &rt, restart))
                        continue;
                compare(&t, &rt, restart);
        }
        note("%d restarts (%u of containerd, %u dropped connections, %u plugin restarts by its supervisor) in %.1f s, "
             "%.0f ms on average from the restart to the plugin's connection; %zu containers at the end, %u created",
             N_RESTARTS, containerd, dropped, supervisor, (double)(now_ns() - start) / 1e9,
             (double)reconnect_ns / 1e6 / N_RESTARTS, t.n, t.next_id);
        expect(!t.sync_failed, "every registration, Configure, Synchronize and container call is answered",
               "%u failed, the first: %s", t.sync_failed, t.sync_why);
        expect(!t.updates_unknown, "every update names a container the runtime has", "%u, the first: %s",
               t.updates_unknown, t.unknown_why);
        expect(!t.ids_wrong,
               "after each of 100 restarts the ledger records exactly the runtime's annotated containers "
               "(vanished ones released, new ones adopted)",
               "%u times, the first: %s", t.ids_wrong, t.ids_why);
        expect(!t.cpus_wrong, "after each Synchronize every record's cpus are the cpuset the runtime last applied",
               "%u times, the first: %s", t.cpus_wrong, t.cpus_why);
        expect(!t.held_twice, "no CPU is ever held exclusively by two records", "%u times, the first: %s", t.held_twice,
               t.held_why);
        expect(!t.overlaps, "no container's cpuset ever overlaps another's exclusive CPUs", "%u times, the first: %s",
               t.overlaps, t.overlap_why);
        expect_clean_wire(&rt);
out:
        runtime_clear(&rt);
}
