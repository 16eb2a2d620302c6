// SPDX-License-Identifier: MIT
/* The Prometheus exposition of a node (core/metrics.c) on a fixture node: the
 * records placed through the lifecycle verbs and exited containers kept with
 * np_exited_save, read as a user reads the text: every container's info series
 * and its labels, the series a monitored container adds and an unmonitored one
 * lacks, exited ones within the grace period and gone after, damaged files left
 * out, the nodes' CPU states and promised memory, the operations counters, and
 * the text's format (a structural check here, and promtool's where installed).
 * With root and BPF, a pinned set of the locality monitor in a private pin root:
 * the counted series, and the PMU reason (the one free-text label) escaped. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <bpf/bpf.h>

#include "../../core/annotations.h"
#include "../../core/lifecycle.h"
#include "../../core/locality.h"
#include "../../core/metrics.h"
#include "../../core/monitor.h"
#include "../../core/opstats.h"
#include "helpers.h"

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

struct fixture {
        struct np_test_node node;
        char pins[PATH_MAX]; /* monitor_pin_dir: not bpffs, so no pinned set is found */
        struct np_context *context;
        struct np_metrics *metrics;
        char *text;
        char bpf_root[PATH_MAX]; /* a private pin root on bpffs, "" when none was made */
        struct np_monitor *monitor;
};

/* --- the fixture ----------------------------------------------------------------------- */

/* The config, with the monitor's pin root pointed at the fixture's folder unless the
 * caller's JSON (the fields inside the braces, may be "") says otherwise. */
static void write_config(struct fixture *f, const char *fields)
{
        char text[PATH_MAX + 1024];

        if (strstr(fields, "monitor_pin_dir"))
                snprintf(text, sizeof(text), "{%s}", fields);
        else
                snprintf(text, sizeof(text), "{\"monitor_pin_dir\": \"%s\"%s%s}", f->pins, fields[0] ? ", " : "",
                         fields);
        np_test_write_file(f->node.config, text);
}

static void open_context(struct fixture *f, enum np_source source)
{
        struct np_context_options options = {
                .config_path = f->node.config,
                .state_dir = f->node.state,
                .sysfs_root = f->node.sysfs,
                .cgroup_root = f->node.cgroup,
                .proc_root = f->node.dir, /* no <pid>/cgroup there: the spec's path is used */
                .source = source,
        };
        struct np_diag diag = {};

        np_context_free(f->context);
        f->context = NULL;
        if (np_context_open(&options, &diag, &f->context) < 0)
                fail_msg("np_context_open: %s", diag.message);
}

static void setup_machine(void **state, const char *machine)
{
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        np_test_node_init(&f->node, machine, "{}");
        np_test_path(f->pins, sizeof(f->pins), f->node.dir, "pins");
        assert_int_equal(mkdir(f->node.state, 0755), 0); /* as any placement leaves it */
        write_config(f, "");
        open_context(f, NP_SOURCE_HOOK);
        *state = f;
}

static int setup(void **state)
{
        setup_machine(state, "2socket-smt");
        return 0;
}

static int setup_offline_cpus(void **state)
{
        setup_machine(state, "offline-cpus");
        return 0;
}

/* Unpins every set below a private pin root, then removes it. */
static void remove_pin_root(const char *root)
{
        DIR *dir = opendir(root);
        struct dirent *entry;

        if (!dir)
                return;
        while ((entry = readdir(dir))) {
                char path[PATH_MAX * 2];
                struct stat st;

                if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                        continue;
                snprintf(path, sizeof(path), "%s/%s", root, entry->d_name);
                if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
                        np_monitor_remove(path);
                else
                        unlink(path);
        }
        closedir(dir);
        rmdir(root);
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        np_metrics_free(f->metrics);
        np_context_free(f->context);
        np_metrics_text_free(f->text);
        if (f->monitor)
                np_monitor_close(f->monitor);
        if (f->bpf_root[0])
                remove_pin_root(f->bpf_root);
        np_test_rmtree(f->node.dir);
        free(f);
        return 0;
}

/* The renderer, opened once per test (its cache lives across renders) or anew. */
static struct np_metrics *metrics(struct fixture *f)
{
        struct np_context_options options = {
                .config_path = f->node.config,
                .state_dir = f->node.state,
                .sysfs_root = f->node.sysfs,
                .cgroup_root = f->node.cgroup,
                .proc_root = f->node.dir,
        };
        struct np_diag diag = {};

        if (!f->metrics && np_metrics_new(&options, &diag, &f->metrics) < 0)
                fail_msg("np_metrics_new: %s", diag.message);
        return f->metrics;
}

static void reopen_metrics(struct fixture *f)
{
        np_metrics_free(f->metrics);
        f->metrics = NULL;
}

/* Renders; the text is kept in the fixture (freed at the next render and at teardown). */
static const char *render(struct fixture *f)
{
        size_t size = 0;
        int r;

        np_metrics_text_free(f->text);
        f->text = NULL;
        r = np_metrics_render(metrics(f), &f->text, &size);
        if (r < 0)
                fail_msg("np_metrics_render: %s", strerror(-r));
        assert_int_equal(strlen(f->text), size);
        return f->text;
}

static void make_cgroup(struct fixture *f, const char *id)
{
        char dir[PATH_MAX + 64], path[PATH_MAX + 128];

        snprintf(dir, sizeof(dir), "%s/cpuset/%s", f->node.cgroup, id);
        assert_int_equal(mkdir(dir, 0755), 0);
        snprintf(path, sizeof(path), "%s/cpuset.cpus", dir);
        np_test_write_file(path, "0-31");
        snprintf(path, sizeof(path), "%s/cpuset.mems", dir);
        np_test_write_file(path, "0-1");
}

/* Places `id` as the hook does (its cgroup made, the memory limit given, -1:
 * none), annotations "key=value" ending with NULL. Returns the verb's result;
 * the placement in ret_placement when it is not NULL. */
static int place(struct fixture *f, const char *id, int64_t memory_limit, struct np_placement *ret_placement, ...)
{
        struct np_input input = NP_INPUT_INIT;
        struct np_annotation_set set = {};
        struct np_outcome outcome = {};
        char cgroups_path[256];
        const char *kv;
        va_list ap;
        int r;

        va_start(ap, ret_placement);
        while ((kv = va_arg(ap, const char *))) {
                char key[256];
                const char *eq = strchr(kv, '=');

                assert_non_null(eq);
                snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
                assert_int_equal(np_annotations_add(&set, key, eq + 1), 0);
        }
        va_end(ap);
        snprintf(cgroups_path, sizeof(cgroups_path), "/%s", id);
        make_cgroup(f, id);
        input.id = id;
        input.cgroups_path = cgroups_path;
        input.locate_cgroup = true;
        input.pid = getpid(); /* alive: never reclaimed */
        input.memory_limit = memory_limit;
        input.container_annotations = &set;
        r = np_lifecycle_place(f->context, &input, NP_PLACE_COMMIT, NULL, &outcome);
        if (r == 0 && outcome.kind != NP_OUTCOME_PLACED)
                fail_msg("container %s: outcome %d, expected PLACED", id, outcome.kind);
        if (r == 0 && ret_placement)
                *ret_placement = outcome.placement;
        np_outcome_clear(&outcome);
        np_annotations_clear(&set);
        return r;
}

#define place_ok(f, id, limit, placement, ...) assert_int_equal(place(f, id, limit, placement, __VA_ARGS__, NULL), 0)

/* An exited container's figures as the release keeps them, exited at `exited_at`:
 * 7 migrations, 100 pages on node 0 (90 local), 2 CPU seconds there. */
static void save_exited(struct fixture *f, const char *id, int64_t exited_at, const char *namespace, const char *pod,
                        const char *container)
{
        struct np_record record = {};
        struct np_locality locality = { .node_stride = 2 };
        struct np_locality_stats stats;

        snprintf(record.id, sizeof(record.id), "%s", id);
        record.policy = NP_POLICY_BIND;
        record.nodes = np_test_cpulist("0");
        record.cpus = np_test_cpulist("0-7,16-23");
        record.mems = np_test_cpulist("0");
        record.source = NP_SOURCE_NRI;
        snprintf(record.names.namespace, sizeof(record.names.namespace), "%s", namespace);
        snprintf(record.names.pod, sizeof(record.names.pod), "%s", pod);
        snprintf(record.names.container, sizeof(record.names.container), "%s", container);
        locality.nodes[0].cpu_ns = 2000000000;
        locality.nodes[0].pages = 100;
        locality.nodes[0].pages_local = 90;
        locality.counters.migrations = 7;
        locality.counters.migrations_cross = 2;
        np_locality_stats_fill(&record, &locality, NULL, "no PMU in this test", exited_at, &stats);
        assert_int_equal(np_exited_save(f->node.state, &stats), 0);
}

/* --- reading the text as a scraper does -------------------------------------------------- */

struct sample {
        char name[128];
        char labels[2048]; /* as written, between the braces */
        double value;
};

/* The next sample line from *cursor (comments skipped); false at the end. */
static bool next_sample(const char **cursor, struct sample *ret)
{
        while (**cursor) {
                const char *line = *cursor, *end = strchr(line, '\n'), *p;
                size_t len;

                if (!end)
                        fail_msg("the text does not end with a newline: '%s'", line);
                *cursor = end + 1;
                if (line[0] == '#' || line == end)
                        continue;
                memset(ret, 0, sizeof(*ret));
                len = strcspn(line, "{ ");
                assert_true(len > 0 && len < sizeof(ret->name));
                memcpy(ret->name, line, len);
                p = line + len;
                if (*p == '{') {
                        const char *close = p + 1;
                        bool quoted = false;

                        for (; close < end && (quoted || *close != '}'); close++) {
                                if (quoted && *close == '\\')
                                        close++;
                                else if (*close == '"')
                                        quoted = !quoted;
                        }
                        if (close >= end)
                                fail_msg("unterminated labels: %.*s", (int)(end - line), line);
                        assert_true((size_t)(close - p - 1) < sizeof(ret->labels));
                        memcpy(ret->labels, p + 1, (size_t)(close - p - 1));
                        p = close + 1;
                }
                if (*p != ' ')
                        fail_msg("no space before the value: %.*s", (int)(end - line), line);
                {
                        char value[64], *value_end;

                        snprintf(value, sizeof(value), "%.*s", (int)(end - p - 1), p + 1);
                        ret->value = strtod(value, &value_end);
                        if (value_end == value || *value_end)
                                fail_msg("not a number: '%s' in %.*s", value, (int)(end - line), line);
                }
                return true;
        }
        return false;
}

/* The value of label `key` in `labels`, unescaped into `out`; false when absent. */
static bool label(const char *labels, const char *key, char *out, size_t size)
{
        const char *p = labels;
        size_t key_len = strlen(key);

        while (*p) {
                const char *eq = strchr(p, '=');
                bool match;
                size_t o = 0;

                if (!eq || eq[1] != '"')
                        fail_msg("malformed labels: %s", labels);
                match = (size_t)(eq - p) == key_len && strncmp(p, key, key_len) == 0;
                for (p = eq + 2; *p && *p != '"'; p++) {
                        char c = *p;

                        if (c == '\\') {
                                p++;
                                c = *p == 'n' ? '\n' : *p;
                                if (*p != 'n' && *p != '\\' && *p != '"')
                                        fail_msg("escape \\%c in labels: %s", *p, labels);
                        }
                        if (match && o + 1 < size)
                                out[o++] = c;
                }
                if (*p != '"')
                        fail_msg("unterminated label value: %s", labels);
                if (match) {
                        out[o] = '\0';
                        return true;
                }
                p++;
                if (*p == ',')
                        p++;
                else if (*p)
                        fail_msg("expected ',' in labels: %s", labels);
        }
        return false;
}

/* Whether a sample has every "key=value" of the NULL-ended list `want`. */
static bool matches(const struct sample *s, const char *const *want)
{
        for (size_t i = 0; want[i]; i++) {
                const char *eq = strchr(want[i], '=');
                char key[64], value[512];

                assert_non_null(eq);
                snprintf(key, sizeof(key), "%.*s", (int)(eq - want[i]), want[i]);
                if (!label(s->labels, key, value, sizeof(value)) || strcmp(value, eq + 1) != 0)
                        return false;
        }
        return true;
}

/* The samples of metric `name` with every label given ("key=value", NULL-ended):
 * how many, and the value of the last in *ret_value. */
static unsigned int find_v(const char *text, const char *name, double *ret_value, va_list ap)
{
        const char *want[16];
        const char *cursor = text;
        struct sample s;
        unsigned int n = 0, found = 0;

        while (n < 15 && (want[n] = va_arg(ap, const char *)))
                n++;
        want[n] = NULL;
        while (next_sample(&cursor, &s))
                if (strcmp(s.name, name) == 0 && matches(&s, want)) {
                        found++;
                        if (ret_value)
                                *ret_value = s.value;
                }
        return found;
}

static unsigned int count(const char *text, const char *name, ...)
{
        va_list ap;
        unsigned int n;

        va_start(ap, name);
        n = find_v(text, name, NULL, ap);
        va_end(ap);
        return n;
}

/* The value of the one sample of `name` with these labels; the test fails unless
 * there is exactly one. */
static double value_of(const char *text, const char *name, ...)
{
        double value = NAN;
        va_list ap;
        unsigned int n;

        va_start(ap, name);
        n = find_v(text, name, &value, ap);
        va_end(ap);
        if (n != 1)
                fail_msg("%u samples of %s with those labels, expected one; the text:\n%s", n, name, text);
        return value;
}

/* The names of the metrics a container has a sample of, space separated. */
static const char *series_of(const char *text, const char *id, char *buf, size_t size)
{
        const char *cursor = text;
        struct sample s;
        size_t used = 0;
        char value[128];

        buf[0] = '\0';
        while (next_sample(&cursor, &s))
                if (label(s.labels, "container_id", value, sizeof(value)) && strcmp(value, id) == 0)
                        used += (size_t)snprintf(buf + used, size > used ? size - used : 0, "%s%s", used ? " " : "",
                                                 s.name);
        return buf;
}

static void assert_value(const char *text, double expected, const char *what, double got)
{
        if (fabs(got - expected) > 1e-9 * (fabs(expected) > 1 ? fabs(expected) : 1))
                fail_msg("%s is %.9g, expected %.9g; the text:\n%s", what, got, expected, text);
}

/* --- the format -------------------------------------------------------------------------- */

/* The family a sample belongs to: a histogram's _bucket, _sum and _count are its own. */
static void family_of(const char *name, const char *histograms, char *out, size_t size)
{
        static const char *const suffixes[] = { "_bucket", "_sum", "_count" };

        snprintf(out, size, "%s", name);
        for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
                size_t len = strlen(name), suffix = strlen(suffixes[i]);
                char base[128], needle[160];

                if (len <= suffix || strcmp(name + len - suffix, suffixes[i]) != 0)
                        continue;
                snprintf(base, sizeof(base), "%.*s", (int)(len - suffix), name);
                snprintf(needle, sizeof(needle), " %s ", base);
                if (strstr(histograms, needle))
                        snprintf(out, size, "%s", base);
        }
}

/* What Prometheus' text parser insists on, and what promtool would lint: each
 * family's HELP and TYPE come once, before its samples, which are together; a
 * known type; every sample's labels well formed with no name twice; no series
 * twice; a histogram's buckets cumulative up to +Inf, which equals _count. */
static void assert_exposition_format(const char *text)
{
        char *families = calloc(1, 65536), *histograms = calloc(1, 65536), *series = calloc(1, 1 << 20);
        char current[128] = "", helped[128] = "";
        const char *cursor = text;
        size_t families_len = 0, histograms_len = 0, series_len = 0;

        assert_true(families && histograms && series);
        strcpy(families, " ");
        strcpy(histograms, " ");
        strcpy(series, "\n");
        if (!text[0] || text[strlen(text) - 1] != '\n')
                fail_msg("the text does not end with a newline");
        families_len = histograms_len = 1;
        series_len = 1;
        while (*cursor) {
                const char *line = cursor, *end = strchr(line, '\n');
                char name[128], kind[32], family[128], needle[160];
                struct sample s;
                const char *sample_cursor = line;

                cursor = end + 1;
                if (line == end)
                        fail_msg("an empty line in the text");
                if (strncmp(line, "# HELP ", 7) == 0) {
                        assert_int_equal(sscanf(line + 7, "%127s", name), 1);
                        snprintf(needle, sizeof(needle), " %s ", name);
                        if (strstr(families, needle))
                                fail_msg("family %s appears twice", name);
                        if (line[7 + strlen(name)] != ' ' || line + 7 + strlen(name) + 1 >= end)
                                fail_msg("HELP of %s has no text", name);
                        snprintf(helped, sizeof(helped), "%s", name);
                        continue;
                }
                if (strncmp(line, "# TYPE ", 7) == 0) {
                        assert_int_equal(sscanf(line + 7, "%127s %31s", name, kind), 2);
                        if (strcmp(name, helped) != 0)
                                fail_msg("TYPE of %s without its HELP just before", name);
                        if (strcmp(kind, "counter") && strcmp(kind, "gauge") && strcmp(kind, "histogram") &&
                            strcmp(kind, "summary") && strcmp(kind, "untyped"))
                                fail_msg("family %s has type %s", name, kind);
                        if (strcmp(kind, "counter") == 0 &&
                            (strlen(name) < 6 || strcmp(name + strlen(name) - 6, "_total")))
                                fail_msg("counter %s does not end in _total", name);
                        families_len += (size_t)snprintf(families + families_len, 65536 - families_len, "%s ", name);
                        if (strcmp(kind, "histogram") == 0)
                                histograms_len += (size_t)snprintf(histograms + histograms_len, 65536 - histograms_len,
                                                                   "%s ", name);
                        snprintf(current, sizeof(current), "%s", name);
                        continue;
                }
                if (line[0] == '#')
                        fail_msg("a comment that is neither HELP nor TYPE: %.*s", (int)(end - line), line);
                assert_true(next_sample(&sample_cursor, &s));
                family_of(s.name, histograms, family, sizeof(family));
                if (strcmp(family, current) != 0)
                        fail_msg("sample of %s under the TYPE of %s (not declared, or its samples not together)",
                                 s.name, current[0] ? current : "nothing");
                /* labels: each name once, each value parsed */
                {
                        char seen[2048] = " ", key[128], value[1024];
                        const char *p = s.labels;

                        while (*p) {
                                const char *eq = strchr(p, '=');

                                assert_non_null(eq);
                                snprintf(key, sizeof(key), "%.*s", (int)(eq - p), p);
                                snprintf(needle, sizeof(needle), " %s ", key);
                                if (strstr(seen, needle))
                                        fail_msg("label %s twice in %.*s", key, (int)(end - line), line);
                                strncat(seen, key, sizeof(seen) - strlen(seen) - 2);
                                strcat(seen, " ");
                                assert_true(label(s.labels, key, value, sizeof(value)));
                                /* past the value: the closing quote, then ',' or the end */
                                for (p = eq + 2; *p != '"'; p++)
                                        if (*p == '\\')
                                                p++;
                                p++;
                                if (*p == ',')
                                        p++;
                        }
                }
                /* no series twice */
                {
                        char key[2400];

                        snprintf(key, sizeof(key), "\n%s{%s}\n", s.name, s.labels);
                        if (strstr(series, key))
                                fail_msg("series %s{%s} twice", s.name, s.labels);
                        series_len += (size_t)snprintf(series + series_len, (1 << 20) - series_len, "%s{%s}\n", s.name,
                                                       s.labels);
                }
        }
        /* each histogram: cumulative buckets, +Inf equal to _count */
        for (const char *h = histograms + 1; *h;) {
                char name[128], bucket[160], count_name[160], last_labels[2048] = "";
                double last = -1, last_le = -INFINITY;
                const char *hcursor = text;
                struct sample s;
                size_t len = strcspn(h, " ");

                snprintf(name, sizeof(name), "%.*s", (int)len, h);
                h += len + 1;
                snprintf(bucket, sizeof(bucket), "%s_bucket", name);
                snprintf(count_name, sizeof(count_name), "%s_count", name);
                while (next_sample(&hcursor, &s)) {
                        char le[64], rest[2048];
                        const char *le_at;
                        double bound;

                        if (strcmp(s.name, bucket) != 0)
                                continue;
                        assert_true(label(s.labels, "le", le, sizeof(le)));
                        le_at = strstr(s.labels, ",le=\"");
                        assert_non_null(le_at);
                        snprintf(rest, sizeof(rest), "%.*s", (int)(le_at - s.labels), s.labels);
                        if (strcmp(rest, last_labels) != 0) {
                                snprintf(last_labels, sizeof(last_labels), "%s", rest);
                                last = -1;
                                last_le = -INFINITY;
                        }
                        bound = strcmp(le, "+Inf") == 0 ? INFINITY : strtod(le, NULL);
                        if (bound <= last_le)
                                fail_msg("%s{%s}: le not increasing", bucket, s.labels);
                        if (s.value < last)
                                fail_msg("%s{%s} = %g is below the bucket before (%g): not cumulative", bucket,
                                         s.labels, s.value, last);
                        last = s.value;
                        last_le = bound;
                        if (isinf(bound)) {
                                double total = -1;
                                const char *ccursor = text;
                                struct sample c;

                                while (next_sample(&ccursor, &c))
                                        if (strcmp(c.name, count_name) == 0 && strcmp(c.labels, rest) == 0)
                                                total = c.value;
                                if (total != s.value)
                                        fail_msg("%s{%s} +Inf = %g but _count = %g", bucket, rest, s.value, total);
                        }
                }
        }
        free(families);
        free(histograms);
        free(series);
}

/* --- the tests --------------------------------------------------------------------------- */

static void test_metrics_info_labels_with_and_without_kubernetes_names(void **state)
{
        struct fixture *f = *state;
        struct np_placement k8s, plain, nri;
        char cpus[NP_CPULIST_BUFSIZE];
        const char *text;

        place_ok(f, "k8s-app", -1, &k8s, "nodes.numapin.io/pod=1", "io.kubernetes.cri.sandbox-namespace=shop",
                 "io.kubernetes.cri.sandbox-name=web-0", "io.kubernetes.cri.container-name=app");
        place_ok(f, "plain", -1, &plain, "cpus.numapin.io/pod=2");
        open_context(f, NP_SOURCE_NRI);
        place_ok(f, "from-nri", -1, &nri, "policy.numapin.io/pod=cpus-only", "nodes.numapin.io/pod=0",
                 "io.kubernetes.pod.namespace=db", "io.kubernetes.pod.name=pg-0", "io.kubernetes.container.name=pg");
        text = render(f);

        assert_int_equal(np_cpulist_format(&k8s.cpus, cpus, sizeof(cpus)), 0);
        assert_value(text, 1, "numapin_container_info of k8s-app",
                     value_of(text, "numapin_container_info", "container_id=k8s-app", "namespace=shop", "pod=web-0",
                              "container=app", "policy=bind", "nodes=1", "mems=1", "cpu_mode=shared", "source=hook",
                              NULL));
        assert_int_equal(count(text, "numapin_container_info", "container_id=k8s-app", NULL), 1);
        {
                char want[NP_CPULIST_BUFSIZE + 8];

                snprintf(want, sizeof(want), "cpus=%s", cpus);
                assert_int_equal(count(text, "numapin_container_info", "container_id=k8s-app", want, NULL), 1);
        }
        /* outside Kubernetes the three names are there, empty */
        assert_int_equal(np_cpulist_format(&plain.exclusive_cpus, cpus, sizeof(cpus)), 0);
        {
                char want[NP_CPULIST_BUFSIZE + 8];

                snprintf(want, sizeof(want), "cpus=%s", cpus);
                assert_int_equal(count(text, "numapin_container_info", "container_id=plain", "namespace=", "pod=",
                                       "container=", "policy=bind", "cpu_mode=exclusive", "source=hook", want, NULL),
                                 1);
        }
        /* CRI-O's names, and the plugin as the source */
        assert_int_equal(count(text, "numapin_container_info", "container_id=from-nri", "namespace=db", "pod=pg-0",
                               "container=pg", "policy=cpus-only", "nodes=0", "source=nri", NULL),
                         1);
}

static void test_metrics_info_says_running_or_exited(void **state)
{
        struct fixture *f = *state;
        const char *text;

        place_ok(f, "runs", -1, NULL, "nodes.numapin.io/pod=0");
        save_exited(f, "ended", (int64_t)time(NULL) - 5, "shop", "web-1", "app");
        text = render(f);
        /* the spec's numapin_container_info{...,state="running"|"exited"} */
        assert_int_equal(count(text, "numapin_container_info", "container_id=runs", "state=running", NULL), 1);
        assert_int_equal(count(text, "numapin_container_info", "container_id=ended", "state=exited", NULL), 1);
}

static void test_metrics_unmonitored_container_has_only_its_info(void **state)
{
        struct fixture *f = *state;
        char names[4096];
        const char *text;

        place_ok(f, "quiet", 256 * MIB, NULL, "monitor.numapin.io/pod=false", "cpus.numapin.io/pod=2");
        /* beside it, one with counters: the renderer does write them when it has them */
        save_exited(f, "counted", (int64_t)time(NULL) - 5, "", "", "");
        text = render(f);
        assert_string_equal(series_of(text, "quiet", names, sizeof(names)), "numapin_container_info");
        series_of(text, "counted", names, sizeof(names));
        assert_non_null(strstr(names, "numapin_container_migrations_total"));
        assert_non_null(strstr(names, "numapin_container_pages_allocated_total"));
        assert_non_null(strstr(names, "numapin_container_cpu_seconds_total"));
        assert_value(text, 7, "migrations of counted",
                     value_of(text, "numapin_container_migrations_total", "container_id=counted", NULL));
        assert_value(text, 90, "local pages of counted",
                     value_of(text, "numapin_container_pages_allocated_total", "container_id=counted", "node=0",
                              "locality=local", NULL));
        assert_value(text, 10, "remote pages of counted",
                     value_of(text, "numapin_container_pages_allocated_total", "container_id=counted", "node=0",
                              "locality=remote", NULL));
        assert_value(text, 2, "CPU seconds of counted on node 0",
                     value_of(text, "numapin_container_cpu_seconds_total", "container_id=counted", "node=0", NULL));
        /* seconds written from the nanoseconds, nine decimals as before */
        assert_non_null(strstr(text, "numapin_container_cpu_seconds_total{container_id=\"counted\",namespace=\"\","
                                     "pod=\"\",container=\"\",node=\"0\"} 2.000000000\n"));
        /* no DRAM counts where the PMU tier did not run */
        assert_int_equal(count(text, "numapin_container_dram_accesses_total", "container_id=counted", NULL), 0);
}

static void test_metrics_exited_containers_within_the_grace_period_then_gone(void **state)
{
        struct fixture *f = *state;
        int64_t now = (int64_t)time(NULL);
        const char *text;

        write_config(f, "\"metrics_exited_grace_seconds\": 60");
        save_exited(f, "ex-recent", now - 10, "shop", "web-2", "app");
        save_exited(f, "ex-edge", now - 57, "", "", "");
        save_exited(f, "ex-old", now - 120, "", "", "");
        text = render(f);
        assert_value(text, (double)(now - 10), "exited_timestamp of ex-recent",
                     value_of(text, "numapin_container_exited_timestamp_seconds", "container_id=ex-recent",
                              "namespace=shop", "pod=web-2", "container=app", NULL));
        assert_value(text, (double)(now - 57), "exited_timestamp of ex-edge",
                     value_of(text, "numapin_container_exited_timestamp_seconds", "container_id=ex-edge", NULL));
        assert_int_equal(count(text, "numapin_container_info", "container_id=ex-recent", NULL), 1);
        /* past the grace period: none of its series */
        {
                char names[4096];

                assert_string_equal(series_of(text, "ex-old", names, sizeof(names)), "");
        }

        /* the same renderer, 4 s later: ex-edge's grace is over (its file is still new) */
        sleep(4);
        text = render(f);
        {
                char names[4096];

                if (series_of(text, "ex-edge", names, sizeof(names))[0])
                        fail_msg("ex-edge exited %lld s ago, beyond the grace of 60 s, and still has: %s",
                                 (long long)((int64_t)time(NULL) - (now - 57)), names);
        }
        assert_int_equal(count(text, "numapin_container_exited_timestamp_seconds", "container_id=ex-recent", NULL), 1);

        /* the default grace (300 s) keeps all but ex-old's... beyond 300 s nothing */
        write_config(f, "");
        reopen_metrics(f);
        save_exited(f, "ex-ancient", now - 301, "", "", "");
        text = render(f);
        assert_int_equal(count(text, "numapin_container_info", "container_id=ex-old", NULL), 1);
        assert_int_equal(count(text, "numapin_container_info", "container_id=ex-ancient", NULL), 0);
}

static void test_metrics_exited_container_in_the_ledger_again_is_shown_once(void **state)
{
        struct fixture *f = *state;
        const char *text;

        save_exited(f, "again", (int64_t)time(NULL) - 5, "", "", "");
        place_ok(f, "again", -1, NULL, "nodes.numapin.io/pod=1");
        text = render(f);
        assert_int_equal(count(text, "numapin_container_info", "container_id=again", NULL), 1);
        assert_int_equal(count(text, "numapin_container_info", "container_id=again", "nodes=1", NULL), 1);
        assert_int_equal(count(text, "numapin_container_exited_timestamp_seconds", "container_id=again", NULL), 0);
}

/* Every container's info once, in each of several scrapes of one renderer. */
static void assert_info_once_each(const char *text, const char *const *ids, size_t n, const char *when)
{
        for (size_t i = 0; i < n; i++) {
                char want[NP_ID_MAX + 16];
                unsigned int found;

                snprintf(want, sizeof(want), "container_id=%s", ids[i]);
                found = count(text, "numapin_container_info", want, NULL);
                if (found != 1)
                        fail_msg("%s: %u info series of %s, expected one", when, found, ids[i]);
        }
}

static void test_metrics_later_scrapes_keep_unchanged_records_and_see_changes(void **state)
{
        static const char *const first[] = { "r1", "r2", "r3", "r4", "r5", "r6", "x1", "x2", "x3" };
        static const char *const later[] = { "r1", "r2", "r4", "r5", "r6", "r7", "x1", "x2", "x3" };
        struct fixture *f = *state;
        char path[PATH_MAX + 64];
        const char *text;
        int64_t now = (int64_t)time(NULL);

        for (size_t i = 0; i < 6; i++)
                place_ok(f, first[i], 64 * MIB, NULL, i % 2 ? "nodes.numapin.io/pod=1" : "nodes.numapin.io/pod=0");
        save_exited(f, "x1", now - 1, "", "", "");
        save_exited(f, "x2", now - 2, "", "", "");
        save_exited(f, "x3", now - 3, "", "", "");
        assert_info_once_each(render(f), first, ARRAY_SIZE(first), "first scrape");
        /* unchanged files come from the cache */
        assert_info_once_each(render(f), first, ARRAY_SIZE(first), "second scrape");
        assert_info_once_each(render(f), first, ARRAY_SIZE(first), "third scrape");
        /* one gone, one new */
        assert_int_equal(unlink(np_test_path(path, sizeof(path), f->node.state, "containers/r3.json")), 0);
        place_ok(f, "r7", 64 * MIB, NULL, "nodes.numapin.io/pod=1");
        text = render(f);
        assert_info_once_each(text, later, ARRAY_SIZE(later), "after r3 went and r7 came");
        assert_int_equal(count(text, "numapin_container_info", "container_id=r3", NULL), 0);
        assert_value(text, 4.0 * 64 * MIB, "memory promised on node 1",
                     value_of(text, "numapin_node_memory_promised_bytes", "node=1", NULL));
        assert_exposition_format(text);
}

static void test_metrics_damaged_files_are_left_out(void **state)
{
        struct fixture *f = *state;
        static const char *const bad[] = { "garbage", "empty", "cut", "fields", "impostor", "dir", "link", "partial" };
        char path[PATH_MAX + 64], good[PATH_MAX + 64], names[4096];
        const char *text;

        place_ok(f, "good", GIB, NULL, "nodes.numapin.io/pod=0");
        save_exited(f, "gone-good", (int64_t)time(NULL) - 5, "", "", "");
        snprintf(good, sizeof(good), "%s/containers/good.json", f->node.state);
        np_test_write_file(np_test_path(path, sizeof(path), f->node.state, "containers/garbage.json"), "not json");
        np_test_write_file(np_test_path(path, sizeof(path), f->node.state, "containers/empty.json"), "");
        np_test_write_file(np_test_path(path, sizeof(path), f->node.state, "containers/cut.json"), "{\"id\": \"cut\"");
        np_test_write_file(np_test_path(path, sizeof(path), f->node.state, "containers/fields.json"),
                           "{\"id\": \"fields\", \"policy\": 7}");
        /* a record under another container's name */
        {
                _cleanup_free_ char *copy = np_test_read_file(good);

                assert_non_null(copy);
                np_test_write_file(np_test_path(path, sizeof(path), f->node.state, "containers/impostor.json"), copy);
        }
        assert_int_equal(mkdir(np_test_path(path, sizeof(path), f->node.state, "containers/dir.json"), 0755), 0);
        assert_int_equal(symlink(good, np_test_path(path, sizeof(path), f->node.state, "containers/link.json")), 0);
        np_test_write_file(np_test_path(path, sizeof(path), f->node.state, "exited/garbage.json"), "{]");
        np_test_write_file(np_test_path(path, sizeof(path), f->node.state, "exited/partial.json"),
                           "{\"id\": \"partial\", \"state\": \"exited\"}");

        text = render(f);
        assert_int_equal(count(text, "numapin_container_info", "container_id=good", NULL), 1);
        assert_int_equal(count(text, "numapin_container_info", "container_id=gone-good", NULL), 1);
        assert_int_equal(count(text, "numapin_container_info", NULL), 2);
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
                if (series_of(text, bad[i], names, sizeof(names))[0])
                        fail_msg("damaged file %s.json has series: %s", bad[i], names);
        /* the rest of the node is still there */
        assert_value(text, (double)GIB, "memory promised on node 0",
                     value_of(text, "numapin_node_memory_promised_bytes", "node=0", NULL));
        assert_int_equal(count(text, "numapin_build_info", NULL), 1);
        assert_exposition_format(text);
}

/* Every node's four CPU states add up to its online CPUs. */
static void assert_node_cpus_add_up(const char *text, const struct np_topology *topology)
{
        static const char *const states[] = { "exclusive", "shared", "reserved", "isolated" };

        for (size_t i = 0; i < topology->n_nodes; i++) {
                char node[32];
                double sum = 0;

                snprintf(node, sizeof(node), "node=%u", topology->nodes[i].id);
                for (size_t s = 0; s < ARRAY_SIZE(states); s++) {
                        char state_label[32];

                        snprintf(state_label, sizeof(state_label), "state=%s", states[s]);
                        sum += value_of(text, "numapin_node_cpus", node, state_label, NULL);
                }
                if (sum != np_cpulist_count(&topology->nodes[i].cpus))
                        fail_msg("node %u: its CPU states add up to %g, it has %u CPUs; the text:\n%s",
                                 topology->nodes[i].id, sum, np_cpulist_count(&topology->nodes[i].cpus), text);
        }
        assert_int_equal(count(text, "numapin_node_cpus", NULL), 4 * topology->n_nodes);
}

static double node_cpus(const char *text, const char *node, const char *state_name)
{
        char node_label[32], state_label[32];

        snprintf(node_label, sizeof(node_label), "node=%s", node);
        snprintf(state_label, sizeof(state_label), "state=%s", state_name);
        return value_of(text, "numapin_node_cpus", node_label, state_label, NULL);
}

static void test_metrics_node_cpu_states_add_up_and_exclusive_ones_land_on_their_node(void **state)
{
        struct fixture *f = *state;
        struct np_topology *topology = np_test_load_topology("2socket-smt");
        struct np_placement x1;
        const char *text;

        write_config(f, "\"reserved_cpus\": \"0,8\"");
        open_context(f, NP_SOURCE_HOOK);
        place_ok(f, "x1", -1, &x1, "nodes.numapin.io/pod=1", "cpus.numapin.io/pod=2");
        place_ok(f, "x0", -1, NULL, "nodes.numapin.io/pod=0", "cpus.numapin.io/pod=4");
        place_ok(f, "shared0", -1, NULL, "nodes.numapin.io/pod=0");
        text = render(f);
        assert_node_cpus_add_up(text, topology);
        assert_int_equal(node_cpus(text, "0", "exclusive"), 4);
        assert_int_equal(node_cpus(text, "0", "reserved"), 1);
        assert_int_equal(node_cpus(text, "0", "isolated"), 0);
        assert_int_equal(node_cpus(text, "0", "shared"), 11);
        assert_int_equal(node_cpus(text, "1", "exclusive"), 2);
        assert_int_equal(node_cpus(text, "1", "reserved"), 1);
        assert_int_equal(node_cpus(text, "1", "shared"), 13);
        /* x1's CPUs are node 1's */
        assert_true(np_cpulist_is_subset(&x1.exclusive_cpus, &topology->nodes[1].cpus));
        np_topology_free(topology);
}

static void test_metrics_node_cpus_on_a_machine_with_offline_and_isolated_cpus(void **state)
{
        struct fixture *f = *state;
        struct np_topology *topology = np_test_load_topology("offline-cpus");
        const char *text;

        /* 6 is isolated as well as reserved: counted once, as isolated */
        write_config(f, "\"reserved_cpus\": \"6,8\"");
        open_context(f, NP_SOURCE_HOOK);
        place_ok(f, "x", -1, NULL, "nodes.numapin.io/pod=1", "cpus.numapin.io/pod=2");
        text = render(f);
        assert_node_cpus_add_up(text, topology);
        assert_int_equal(node_cpus(text, "0", "isolated"), 2);
        assert_int_equal(node_cpus(text, "0", "reserved"), 0);
        assert_int_equal(node_cpus(text, "0", "shared"), 5);
        assert_int_equal(node_cpus(text, "1", "reserved"), 1);
        assert_int_equal(node_cpus(text, "1", "exclusive"), 2);
        assert_int_equal(node_cpus(text, "1", "shared"), 4);
        np_topology_free(topology);
}

static void test_metrics_memory_promised_sums_the_memory_limits(void **state)
{
        struct fixture *f = *state;
        const char *text;

        place_ok(f, "a", GIB, NULL, "nodes.numapin.io/pod=0");
        place_ok(f, "b", 512 * MIB, NULL, "nodes.numapin.io/pod=0");
        place_ok(f, "c", 2 * GIB, NULL, "nodes.numapin.io/pod=0-1"); /* half on each node */
        /* cpus-only leaves memory alone, so placement promises none of it; e has no limit */
        place_ok(f, "d", 4 * GIB, NULL, "nodes.numapin.io/pod=1", "policy.numapin.io/pod=cpus-only");
        place_ok(f, "e", -1, NULL, "nodes.numapin.io/pod=1");
        /* an exited one promises nothing any more */
        save_exited(f, "ended", (int64_t)time(NULL) - 5, "", "", "");
        text = render(f);
        assert_value(text, (double)(GIB + 512 * MIB + GIB), "memory promised on node 0",
                     value_of(text, "numapin_node_memory_promised_bytes", "node=0", NULL));
        assert_value(text, (double)GIB, "memory promised on node 1",
                     value_of(text, "numapin_node_memory_promised_bytes", "node=1", NULL));
        /* the fixture's MemTotal, 64 GiB per node */
        assert_value(text, 64.0 * GIB, "MemTotal of node 1",
                     value_of(text, "numapin_node_memory_total_bytes", "node=1", NULL));
        assert_int_equal(count(text, "numapin_node_memory_free_bytes", NULL), 2);
}

static void test_metrics_operations_counters(void **state)
{
        struct fixture *f = *state;
        struct np_opstats *opstats = NULL;
        const char *text;

        place_ok(f, "p1", -1, NULL, "nodes.numapin.io/pod=0");
        place_ok(f, "p2", -1, NULL, "nodes.numapin.io/pod=1");
        /* refused: a value the annotation does not take, and exclusive CPUs beyond the machine's */
        assert_true(place(f, "bad", -1, NULL, "cpus.numapin.io/pod=two", NULL) < 0);
        assert_true(place(f, "big", -1, NULL, "cpus.numapin.io/pod=40", NULL) < 0);
        assert_int_equal(np_opstats_open(f->node.state, false, NULL, &opstats), 0);
        np_opstats_duration(opstats, NP_OP_NRI, 100000);  /* 0.0001 s: in le="0.0001" */
        np_opstats_duration(opstats, NP_OP_NRI, 3000000); /* 0.003 s */
        np_opstats_nri_request(opstats, NP_NRI_CREATE_CONTAINER, true);
        np_opstats_nri_request(opstats, NP_NRI_CREATE_CONTAINER, true);
        np_opstats_nri_request(opstats, NP_NRI_CREATE_CONTAINER, false);
        np_opstats_close(opstats);
        text = render(f);

        assert_int_equal(value_of(text, "numapin_placements_total", "source=hook", "result=placed", NULL), 2);
        assert_int_equal(value_of(text, "numapin_placements_total", "source=hook", "result=refused", NULL), 2);
        assert_int_equal(value_of(text, "numapin_placements_total", "source=hook", "result=error", NULL), 0);
        assert_int_equal(value_of(text, "numapin_placements_total", "source=nri", "result=placed", NULL), 0);
        assert_int_equal(count(text, "numapin_placements_total", NULL), 6);
        assert_int_equal(value_of(text, "numapin_placement_duration_seconds_bucket", "source=nri", "le=0.0001", NULL),
                         1);
        assert_int_equal(value_of(text, "numapin_placement_duration_seconds_bucket", "source=nri", "le=0.0025", NULL),
                         1);
        assert_int_equal(value_of(text, "numapin_placement_duration_seconds_bucket", "source=nri", "le=0.005", NULL),
                         2);
        assert_int_equal(value_of(text, "numapin_placement_duration_seconds_bucket", "source=nri", "le=+Inf", NULL), 2);
        assert_int_equal(value_of(text, "numapin_placement_duration_seconds_count", "source=nri", NULL), 2);
        assert_value(text, 0.0031, "the NRI duration sum",
                     value_of(text, "numapin_placement_duration_seconds_sum", "source=nri", NULL));
        assert_int_equal(count(text, "numapin_placement_duration_seconds_bucket", "source=hook", NULL),
                         NP_OP_BUCKETS + 1);
        assert_int_equal(value_of(text, "numapin_nri_requests_total", "method=CreateContainer", "status=ok", NULL), 2);
        assert_int_equal(value_of(text, "numapin_nri_requests_total", "method=CreateContainer", "status=error", NULL),
                         1);
        assert_value(text, 1, "numapin_build_info", value_of(text, "numapin_build_info", NULL));
        assert_int_equal(count(text, "numapin_scrape_duration_seconds", NULL), 1);
        assert_exposition_format(text);
}

/* A node with a bit of everything, for the format checks. */
static const char *render_a_busy_node(struct fixture *f)
{
        char path[PATH_MAX + 64];

        place_ok(f, "k8s", GIB, NULL, "nodes.numapin.io/pod=1", "io.kubernetes.cri.sandbox-namespace=shop",
                 "io.kubernetes.cri.sandbox-name=web-0", "io.kubernetes.cri.container-name=app");
        place_ok(f, "excl", 512 * MIB, NULL, "cpus.numapin.io/pod=3");
        place_ok(f, "quiet", -1, NULL, "monitor.numapin.io/pod=false");
        assert_true(place(f, "refused", -1, NULL, "cpus.numapin.io/pod=100000", NULL) < 0);
        save_exited(f, "ended", (int64_t)time(NULL) - 5, "shop", "web-1", "app");
        save_exited(f, "ended2", (int64_t)time(NULL) - 7, "", "", "");
        np_test_write_file(np_test_path(path, sizeof(path), f->node.state, "containers/garbage.json"), "{");
        return render(f);
}

static void test_metrics_text_passes_the_format_check(void **state)
{
        struct fixture *f = *state;

        assert_exposition_format(render_a_busy_node(f));
        /* a second scrape, from the cache, is the same text but for the scrape time */
        assert_exposition_format(render(f));
}

/* promtool's own reading of a text; NULL output when promtool is not installed. */
static int promtool_check(const char *dir, const char *text, char *out, size_t size)
{
        char path[PATH_MAX + 16], command[PATH_MAX + 128];
        size_t used = 0, n;
        FILE *p;

        if (system("command -v promtool >/dev/null 2>&1") != 0)
                return -ENOENT;
        np_test_write_file(np_test_path(path, sizeof(path), dir, "metrics.txt"), text);
        snprintf(command, sizeof(command), "promtool check metrics < '%s' 2>&1", path);
        p = popen(command, "r");
        assert_non_null(p);
        while (used + 1 < size && (n = fread(out + used, 1, size - used - 1, p)) > 0)
                used += n;
        out[used] = '\0';
        return pclose(p);
}

static void test_metrics_text_passes_promtool(void **state)
{
        struct fixture *f = *state;
        char out[8192];
        int status;

        status = promtool_check(f->node.dir, render_a_busy_node(f), out, sizeof(out));
        if (status == -ENOENT) {
                print_message("# skip: promtool is not installed (Debian's prometheus package)\n");
                skip();
        }
        if (status != 0)
                fail_msg("promtool check metrics: exit status %d: %s", status, out);
}

static void test_metrics_free_after_a_scrape_that_found_no_monitor(void **state)
{
        struct fixture *f = *state;
        const char *text;

        /* the monitor is on, its pin root holds no set: monitor_up 0 and nothing else */
        place_ok(f, "a", -1, NULL, "nodes.numapin.io/pod=0");
        text = render(f);
        assert_int_equal(value_of(text, "numapin_monitor_up", NULL), 0);
        assert_int_equal(count(text, "numapin_monitor_pmu_available", NULL), 0);
        reopen_metrics(f); /* freeing what remembered the missing set must not crash */
        text = render(f);
        assert_int_equal(value_of(text, "numapin_monitor_up", NULL), 0);
        reopen_metrics(f);
}

static void test_metrics_monitor_switched_off_says_nothing_of_it(void **state)
{
        struct fixture *f = *state;
        const char *text;

        write_config(f, "\"monitor\": false");
        text = render(f);
        assert_int_equal(count(text, "numapin_monitor_up", NULL), 0);
        assert_exposition_format(text);
}

static void test_metrics_set_config_takes_a_later_config(void **state)
{
        struct fixture *f = *state;
        struct np_diag diag = {};
        static const char monitor_off[] = "{\"monitor\": false}";
        const char *text;

        place_ok(f, "here", -1, NULL, "nodes.numapin.io/pod=0");
        text = render(f);
        assert_int_equal(count(text, "numapin_container_info", "container_id=here", NULL), 1);
        assert_int_equal(count(text, "numapin_monitor_up", NULL), 1);
        /* an empty one, as an external NRI plugin's Configure brings it: the loaded one stays */
        if (np_metrics_set_config(metrics(f), "", 0, "NRI plugin config (Configure)", &diag) < 0)
                fail_msg("an empty config: %s", diag.message);
        text = render(f);
        assert_int_equal(count(text, "numapin_container_info", "container_id=here", NULL), 1);
        assert_int_equal(count(text, "numapin_monitor_up", NULL), 1);
        /* one that switches the monitor off (the state dir stays the --state-dir flag's) */
        if (np_metrics_set_config(metrics(f), monitor_off, strlen(monitor_off), "NRI plugin config (Configure)",
                                  &diag) < 0)
                fail_msg("%s: %s", monitor_off, diag.message);
        text = render(f);
        assert_int_equal(count(text, "numapin_container_info", "container_id=here", NULL), 1);
        assert_int_equal(count(text, "numapin_monitor_up", NULL), 0);
        /* a bad one is refused, naming where it came from */
        assert_true(np_metrics_set_config(metrics(f), "{\"monitor\": 3}", 14, "NRI plugin config (Configure)", &diag) <
                    0);
        assert_non_null(strstr(diag.message, "NRI plugin config (Configure)"));
}

/* --- with a real pinned set (root, BPF) ------------------------------------------------------ */

/* Loads a pinned set into a private pin root; skips the test where BPF cannot load. */
static void load_pinned_set(struct fixture *f)
{
        struct np_topology *host = NULL;
        struct np_diag diag = {};
        int r;

        if (geteuid() != 0) {
                print_message("# skip: loading the locality monitor needs root\n");
                skip();
        }
        snprintf(f->bpf_root, sizeof(f->bpf_root), "/sys/fs/bpf/numapin-test-metrics-%d", (int)getpid());
        if (np_topology_load("/sys", &diag, &host) < 0)
                fail_msg("this machine's topology: %s", diag.message);
        r = np_monitor_open("/sys", f->bpf_root, host, 64, true, &diag, &f->monitor);
        np_topology_free(host);
        if (r == -EPERM || r == -EACCES || r == -ENOSYS || r == -EOPNOTSUPP) {
                print_message("# skip: cannot load the BPF programs here: %s\n", diag.message);
                skip();
        }
        if (r < 0)
                fail_msg("np_monitor_open(%s): %s", f->bpf_root, diag.message);
}

/* A record the monitor counts in `slot` of the loaded set (or none: `slot` < 0),
 * applied to `cgroup` (NULL: none). */
static void put_record_in(struct fixture *f, const char *id, int slot, const char *cgroup)
{
        struct np_ledger *ledger = NULL;
        struct np_record record = {};
        struct np_diag diag = {};

        snprintf(record.id, sizeof(record.id), "%s", id);
        if (cgroup)
                snprintf(record.cgroup, sizeof(record.cgroup), "%s", cgroup);
        record.policy = NP_POLICY_BIND;
        record.nodes = np_test_cpulist("0");
        record.cpus = np_test_cpulist("0-7");
        record.mems = np_test_cpulist("0");
        record.source = NP_SOURCE_HOOK;
        record.created = (int64_t)time(NULL);
        if (slot >= 0) {
                record.monitor.on = true;
                record.monitor.slot = (uint32_t)slot;
                record.monitor.cgroup_id = 12345;
                assert_true(strlen(f->monitor->dir) < sizeof(record.monitor.dir));
                memcpy(record.monitor.dir, f->monitor->dir, strlen(f->monitor->dir) + 1);
        }
        if (np_ledger_open(f->node.state, true, &diag, &ledger) < 0)
                fail_msg("np_ledger_open: %s", diag.message);
        assert_int_equal(np_ledger_put(ledger, &record), 0);
        np_ledger_close(ledger);
}

static void put_record(struct fixture *f, const char *id, int slot)
{
        put_record_in(f, id, slot, NULL);
}

static void test_metrics_monitored_container_is_counted_from_its_pinned_set(void **state)
{
        struct fixture *f = *state;
        char fields[PATH_MAX + 64], names[4096];
        const char *text;

        load_pinned_set(f);
        snprintf(fields, sizeof(fields), "\"monitor_pin_dir\": \"%s\"", f->bpf_root);
        write_config(f, fields);
        put_record(f, "watched", 3);
        put_record(f, "quiet", -1);
        text = render(f);
        assert_int_equal(value_of(text, "numapin_monitor_up", NULL), 1);
        assert_int_equal(value_of(text, "numapin_monitor_free_slots", NULL), 64);
        assert_int_equal(value_of(text, "numapin_monitor_watched_containers", NULL), 0);
        assert_int_equal(count(text, "numapin_monitor_pmu_available", NULL), 1);
        series_of(text, "watched", names, sizeof(names));
        assert_non_null(strstr(names, "numapin_container_migrations_total"));
        assert_non_null(strstr(names, "numapin_container_pages_outside_allowed_total"));
        assert_non_null(strstr(names, "numapin_container_cross_node_migrations_total"));
        assert_non_null(strstr(names, "numapin_container_numa_balancing_pages_migrated_total"));
        assert_int_equal(value_of(text, "numapin_container_migrations_total", "container_id=watched", NULL), 0);
        assert_string_equal(series_of(text, "quiet", names, sizeof(names)), "numapin_container_info");
        assert_exposition_format(text);
}

/* The exporter keeps each container's memory.numa_stat open between scrapes and
 * reads it again from its start, as the kernel writes it anew at every read. */
static void test_metrics_resident_bytes_read_anew_at_every_scrape(void **state)
{
        struct fixture *f = *state;
        char fields[PATH_MAX + 64], cgroup[PATH_MAX + 16], path[PATH_MAX + 48];
        const char *text;

        load_pinned_set(f);
        snprintf(fields, sizeof(fields), "\"monitor_pin_dir\": \"%s\"", f->bpf_root);
        write_config(f, fields);
        snprintf(cgroup, sizeof(cgroup), "%s/resident", f->node.cgroup);
        assert_int_equal(mkdir(cgroup, 0755), 0);
        snprintf(path, sizeof(path), "%s/memory.numa_stat", cgroup);
        /* the figures of the nodes the pinned set counts (this machine's): node 0 at least */
        np_test_write_file(path, "anon N0=4096 N1=8192\nfile N0=1 N1=0\nshmem N0=7 N1=7\n");
        put_record_in(f, "watched", 3, cgroup);
        text = render(f);
        assert_value(text, 4097, "resident bytes on node 0",
                     value_of(text, "numapin_container_resident_bytes", "container_id=watched", "node=0", NULL));
        /* rewritten in place, longer than before: the next scrape has the new figure */
        np_test_write_file(path, "anon N0=18446744073709551615 N1=0\nfile N0=0 N1=123456789012\n");
        text = render(f);
        assert_non_null(strstr(text, "container=\"\",node=\"0\"} 18446744073709551615\n"));
        np_test_write_file(path, "anon N0=123456789012 N1=0\nfile N0=0 N1=0\n");
        text = render(f);
        assert_value(text, 123456789012.0, "resident bytes on node 0 after the rewrite",
                     value_of(text, "numapin_container_resident_bytes", "container_id=watched", "node=0", NULL));
        /* emptied: no resident figure at all */
        np_test_write_file(path, "");
        text = render(f);
        assert_int_equal(count(text, "numapin_container_resident_bytes", "container_id=watched", NULL), 0);
        assert_exposition_format(text);
}

static void test_metrics_pmu_reason_is_escaped(void **state)
{
        static const char reason[] = "no \"uncore_imc\" PMU\nat C:\\sys";
        struct fixture *f = *state;
        struct np_bpf_pmu_info info = { .live = 0 };
        char fields[PATH_MAX + 64], got[256], out[8192];
        const char *text;
        int status;

        load_pinned_set(f);
        snprintf(fields, sizeof(fields), "\"monitor_pin_dir\": \"%s\"", f->bpf_root);
        write_config(f, fields);
        put_record(f, "watched", 1);
        /* the reason is what the loader wrote in pmu_info: the one free text in a label */
        snprintf(info.text, sizeof(info.text), "%s", reason);
        assert_int_equal(bpf_map_update_elem(f->monitor->pmu_info_fd, &(uint32_t){ 0 }, &info, BPF_ANY), 0);
        text = render(f);
        assert_non_null(strstr(text, "numapin_monitor_pmu_available{reason=\"no \\\"uncore_imc\\\" PMU\\nat "
                                     "C:\\\\sys\"} 0\n"));
        {
                const char *cursor = text;
                struct sample s;
                bool found = false;

                while (next_sample(&cursor, &s))
                        if (strcmp(s.name, "numapin_monitor_pmu_available") == 0) {
                                assert_true(label(s.labels, "reason", got, sizeof(got)));
                                assert_string_equal(got, reason);
                                found = true;
                        }
                assert_true(found);
        }
        assert_exposition_format(text);
        status = promtool_check(f->node.dir, text, out, sizeof(out));
        if (status != -ENOENT && status != 0)
                fail_msg("promtool check metrics: exit status %d: %s", status, out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_metrics_info_labels_with_and_without_kubernetes_names, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_metrics_info_says_running_or_exited, setup, teardown),
                cmocka_unit_test_setup_teardown(test_metrics_unmonitored_container_has_only_its_info, setup, teardown),
                cmocka_unit_test_setup_teardown(test_metrics_exited_containers_within_the_grace_period_then_gone, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_metrics_exited_container_in_the_ledger_again_is_shown_once, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_metrics_later_scrapes_keep_unchanged_records_and_see_changes,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_metrics_damaged_files_are_left_out, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_metrics_node_cpu_states_add_up_and_exclusive_ones_land_on_their_node, setup, teardown),
                cmocka_unit_test_setup_teardown(test_metrics_node_cpus_on_a_machine_with_offline_and_isolated_cpus,
                                                setup_offline_cpus, teardown),
                cmocka_unit_test_setup_teardown(test_metrics_memory_promised_sums_the_memory_limits, setup, teardown),
                cmocka_unit_test_setup_teardown(test_metrics_operations_counters, setup, teardown),
                cmocka_unit_test_setup_teardown(test_metrics_text_passes_the_format_check, setup, teardown),
                cmocka_unit_test_setup_teardown(test_metrics_text_passes_promtool, setup, teardown),
                cmocka_unit_test_setup_teardown(test_metrics_free_after_a_scrape_that_found_no_monitor, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_metrics_monitor_switched_off_says_nothing_of_it, setup, teardown),
                cmocka_unit_test_setup_teardown(test_metrics_set_config_takes_a_later_config, setup, teardown),
                cmocka_unit_test_setup_teardown(test_metrics_monitored_container_is_counted_from_its_pinned_set, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_metrics_resident_bytes_read_anew_at_every_scrape, setup, teardown),
                cmocka_unit_test_setup_teardown(test_metrics_pmu_reason_is_escaped, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
