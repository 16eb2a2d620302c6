// SPDX-License-Identifier: MIT
/* The facts behind `numapinctl doctor`, one check at a time, each into a line
 * with a status and a message that says what to do: the NRI plugin's status
 * file and whether its pid lives, the hooks.d drop-ins that call numapin-hook,
 * kubelet's CPU and Memory manager policies, the cgroup layout, bpffs, the
 * kernel's BTF and the pinned monitor set with its free slots and PMU tier,
 * and every ledger record's cpuset against its live cgroup. Nothing is
 * changed: the ledger is read under its shared lock, the rest is looked at. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "doctor.h"
#include "fileio.h"
#include "json.h"
#include "monitor.h"

#define BPF_FS_MAGIC_VALUE 0xcafe4a11
#define DROP_IN_LIMIT      (64 * 1024)
#define CPUSET_FILE_LIMIT  (64 * 1024)
#define HOOK_NAME          "numapin-hook"

const char *np_check_status_to_string(enum np_check_status status)
{
        switch (status) {
        case NP_CHECK_OK:
                return "ok";
        case NP_CHECK_WARNING:
                return "warning";
        default:
                return "error";
        }
}

/* --- building lines --------------------------------------------------------------- */

/* A message made of clauses joined by "; ", with the worst status among them. */
struct line {
        enum np_check_status status;
        char text[4096];
        size_t used;
};

_printf_(3, 4) static void clause(struct line *line, enum np_check_status status, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (status > line->status)
                line->status = status;
        if (line->used && line->used + 2 < sizeof(line->text)) {
                memcpy(line->text + line->used, "; ", 3);
                line->used += 2;
        }
        if (line->used >= sizeof(line->text) - 1)
                return;
        va_start(ap, fmt);
        n = vsnprintf(line->text + line->used, sizeof(line->text) - line->used, fmt, ap);
        va_end(ap);
        if (n > 0)
                line->used = MIN(line->used + (size_t)n, sizeof(line->text) - 1);
}

static int add_check(struct np_doctor *doctor, const char *name, const struct line *line)
{
        struct np_check *grown = realloc(doctor->checks, (doctor->n_checks + 1) * sizeof(*grown));

        if (!grown)
                return -ENOMEM;
        doctor->checks = grown;
        grown = &doctor->checks[doctor->n_checks++];
        snprintf(grown->name, sizeof(grown->name), "%s", name);
        grown->status = line->status;
        snprintf(grown->message, sizeof(grown->message), "%s", line->text);
        return 0;
}

static const char *list_text(const struct np_cpulist *list, char *buf, size_t size)
{
        if (np_cpulist_format(list, buf, size) < 0)
                snprintf(buf, size, "(too long to show)");
        return buf;
}

static const char *time_text(int64_t seconds, char *buf, size_t size)
{
        time_t t = (time_t)seconds;
        struct tm tm;

        if (!localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, size, "%lld", (long long)seconds);
        return buf;
}

static bool pid_alive(int pid)
{
        return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

static const char *plural(size_t n)
{
        return n == 1 ? "" : "s";
}

/* --- the ledger, read once for every check that needs it -------------------------- */

struct placed {
        char id[NP_ID_MAX + 1];
        enum np_source source;
        char cgroup[PATH_MAX];
        struct np_cpulist cpus;
        int pid;
};

struct ledger_facts {
        bool read;
        char error[4096]; /* why it could not be read */
        size_t n_records, n_hook, n_nri, n_plan;
        struct np_cpulist exclusive_cpus;
        size_t n_placed; /* the records with a cgroup */
        struct placed *placed;
};

static int read_ledger(struct np_context *context, struct ledger_facts *facts)
{
        struct np_ledger *ledger = NULL;
        struct np_diag diag = {};
        int r;

        r = np_context_ledger(context, false, &diag, &ledger);
        if (r < 0) {
                snprintf(facts->error, sizeof(facts->error), "%s", diag.message[0] ? diag.message : strerror(-r));
                return 0;
        }
        facts->read = true;
        facts->exclusive_cpus = *np_ledger_exclusive_cpus(ledger);
        for (const struct np_record *rec = np_ledger_next(ledger, NULL); rec; rec = np_ledger_next(ledger, rec)) {
                struct placed *grown;

                facts->n_records++;
                facts->n_hook += rec->source == NP_SOURCE_HOOK;
                facts->n_nri += rec->source == NP_SOURCE_NRI;
                facts->n_plan += rec->source == NP_SOURCE_PLAN;
                if (!rec->cgroup[0])
                        continue; /* a plan, or an NRI container not started yet */
                grown = realloc(facts->placed, (facts->n_placed + 1) * sizeof(*grown));
                if (!grown) {
                        np_context_unlock(context);
                        return -ENOMEM;
                }
                facts->placed = grown;
                grown = &facts->placed[facts->n_placed++];
                snprintf(grown->id, sizeof(grown->id), "%s", rec->id);
                grown->source = rec->source;
                snprintf(grown->cgroup, sizeof(grown->cgroup), "%s", rec->cgroup);
                grown->cpus = rec->cpus;
                grown->pid = rec->pid;
        }
        np_context_unlock(context);
        return 0;
}

/* --- nri ----------------------------------------------------------------------------- */

static int check_nri(struct np_context *context, const struct ledger_facts *ledger, struct np_doctor *doctor)
{
        struct line line = {};
        struct np_diag diag = {};
        char when[64], name[160], version[160], nri[96];
        const struct np_nri_status *s = &doctor->nri;
        int r;

        r = np_nri_status_load(context->state_dir, &diag, &doctor->nri);
        if (r == -ENOENT) {
                if (ledger->n_nri > 0)
                        clause(&line, NP_CHECK_WARNING,
                               "the ledger holds %zu container%s placed by numapin-nri, but there is no %s/%s: "
                               "numapin-nri is not running (or is older than numapinctl); start it",
                               ledger->n_nri, plural(ledger->n_nri), context->state_dir, NP_NRI_STATUS_FILE);
                else
                        clause(&line, NP_CHECK_OK, "not in use (no %s/%s)", context->state_dir, NP_NRI_STATUS_FILE);
                return add_check(doctor, "nri", &line);
        }
        if (r < 0) {
                clause(&line, NP_CHECK_WARNING, "%s; numapin-nri writes it anew at its next Configure: restart it",
                       diag.message[0] ? diag.message : strerror(-r));
                return add_check(doctor, "nri", &line);
        }
        doctor->nri_found = true;
        doctor->nri_running = pid_alive(s->pid);
        np_log_quote(name, sizeof(name), s->runtime_name[0] ? s->runtime_name : "a runtime");
        np_log_quote(version, sizeof(version), s->runtime_version);
        if (s->nri_version[0])
                np_log_quote(nri, sizeof(nri), s->nri_version);
        else
                snprintf(nri, sizeof(nri), "before v0.12");
        time_text(s->configured_at, when, sizeof(when));
        if (!doctor->nri_running) {
                clause(&line, NP_CHECK_WARNING,
                       "numapin-nri is not running (pid %d, configured by %s %s over NRI %s at %s): containers are "
                       "created without numapin until it runs again; start it (systemctl start numapin-nri, or see "
                       "why the DaemonSet's pod stopped)",
                       s->pid, name, version, nri, when);
                return add_check(doctor, "nri", &line);
        }
        clause(&line, NP_CHECK_OK,
               "numapin-nri (pid %d) talks to %s %s over NRI %s since %s; %llu runtime cpuset update%s answered with "
               "numapin's cpuset, %llu placement%s restored and %llu container%s moved off exclusive CPUs at "
               "Synchronize",
               s->pid, name, version, nri, when, (unsigned long long)s->updates_overridden,
               plural(s->updates_overridden), (unsigned long long)s->placements_restored,
               plural(s->placements_restored), (unsigned long long)s->containers_moved, plural(s->containers_moved));
        return add_check(doctor, "nri", &line);
}

/* --- hook ---------------------------------------------------------------------------- */

/* The hook path of the hooks.d drop-in `name` (`path` in messages) when it
 * calls numapin-hook: 1 with it in ret_path, 0 for a drop-in of another hook,
 * -EINVAL (diag) for one that names numapin-hook but is not a drop-in. */
static int drop_in_hook(int dir_fd, const char *name, const char *path, struct np_diag *diag, char *ret_path,
                        size_t size)
{
        _cleanup_json_ struct json_object *root = NULL;
        _cleanup_free_ char *text = NULL;
        struct json_object *hook;
        const char *hook_path, *base;
        size_t len;
        int r;

        r = np_read_file_at(dir_fd, name, DROP_IN_LIMIT, &text, &len);
        if (r < 0 || !strstr(text, HOOK_NAME))
                return 0; /* not ours to judge */
        r = np_json_parse(text, len, DROP_IN_LIMIT, path, diag, &root);
        if (r < 0)
                return -EINVAL;
        if (np_json_get(root, "hook", json_type_object, path, diag, &hook) < 0 ||
            np_json_get_string(hook, "path", PATH_MAX - 1, path, diag, &hook_path) < 0)
                return np_diag_fail(diag, -EINVAL, "%s: names %s but has no hook.path string", path, HOOK_NAME);
        base = strrchr(hook_path, '/');
        base = base ? base + 1 : hook_path;
        if (strcmp(base, HOOK_NAME) != 0)
                return 0;
        snprintf(ret_path, size, "%s", hook_path);
        return 1;
}

/* Appends `text` to the string in buf; what does not fit is cut. */
static void append_text(char *buf, size_t size, const char *text)
{
        size_t used = strlen(buf), len = MIN(strlen(text), size - 1 - used);

        memcpy(buf + used, text, len);
        buf[used + len] = '\0';
}

/* Appends a word to a list in buf, `separator` between words. */
static void append(char *buf, size_t size, const char *separator, const char *word)
{
        if (buf[0])
                append_text(buf, size, separator);
        append_text(buf, size, word);
}

/* The drop-ins of one hooks.d folder that call numapin-hook, into `found`;
 * those broken or calling a missing binary into `problems`. */
static void scan_hooks_dir(const char *dir, char *found, size_t size, size_t *n_found, struct line *problems)
{
        _cleanup_close_ int dir_fd = -1;
        struct dirent **entries = NULL;
        int n;

        dir_fd = openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return;
        n = scandir(dir, &entries, NULL, alphasort);
        for (int i = 0; i < n; i++) {
                const char *name = entries[i]->d_name;
                size_t len = strlen(name);
                char path[PATH_MAX + 256], hook_path[PATH_MAX];
                struct np_diag diag = {};
                int r = 0;

                if (name[0] != '.' && len > 5 && strcmp(name + len - 5, ".json") == 0) {
                        snprintf(path, sizeof(path), "%s/%s", dir, name);
                        r = drop_in_hook(dir_fd, name, path, &diag, hook_path, sizeof(hook_path));
                }
                if (r < 0)
                        clause(problems, NP_CHECK_WARNING,
                               "%s; podman and CRI-O refuse to start containers while a drop-in is broken",
                               diag.message);
                if (r > 0) {
                        (*n_found)++;
                        append(found, size, ", ", path);
                        if (access(hook_path, X_OK) < 0)
                                clause(problems, NP_CHECK_WARNING,
                                       "%s calls %s, which is %s: podman and CRI-O fail every container it matches; "
                                       "install numapin-hook there (make install) or fix the path",
                                       path, hook_path, errno == ENOENT ? "missing" : "not executable");
                }
                free(entries[i]);
        }
        free(entries);
}

static int check_hook(const struct np_doctor_paths *paths, const struct ledger_facts *ledger, struct np_doctor *doctor)
{
        static const char *const default_dirs[] = NP_DOCTOR_HOOKS_DIRS;
        const char *const *dirs = paths && paths->hooks_dirs ? paths->hooks_dirs : default_dirs;
        struct line line = {}, problems = {};
        char found[2048] = "", searched[1024] = "";
        size_t n_found = 0;

        for (const char *const *dir = dirs; *dir; dir++) {
                append(searched, sizeof(searched), " or ", *dir);
                scan_hooks_dir(*dir, found, sizeof(found), &n_found, &problems);
        }
        if (ledger->n_hook > 0)
                clause(&line, NP_CHECK_OK, "in use: %zu container%s placed by numapin-hook", ledger->n_hook,
                       plural(ledger->n_hook));
        else
                clause(&line, NP_CHECK_OK, "no container placed by numapin-hook now");
        if (n_found > 0)
                clause(&line, NP_CHECK_OK, "hooks.d drop-in%s calling it: %s", plural(n_found), found);
        else
                clause(&line, NP_CHECK_OK,
                       "no hooks.d drop-in calls it in %s (podman and CRI-O need one, examples/hooks.d; runc's "
                       "config.json hooks and containerd's base_runtime_spec do not)",
                       searched);
        if (problems.used)
                clause(&line, problems.status, "%s", problems.text);
        return add_check(doctor, "hook", &line);
}

/* --- kubelet ------------------------------------------------------------------------- */

static int check_kubelet(struct np_context *context, const struct ledger_facts *ledger, struct np_doctor *doctor)
{
        const char *root = context->config.kubelet_root_dir;
        const struct np_kubelet *k = &doctor->kubelet;
        struct np_diag diag = {};
        struct line line = {};
        char pool[NP_CPULIST_BUFSIZE], assigned[NP_CPULIST_BUFSIZE];
        int r;

        r = np_kubelet_load(root, &diag, &doctor->kubelet);
        if (r < 0) {
                clause(&line, NP_CHECK_WARNING,
                       "%s; numapin cannot tell which CPUs kubelet assigned: fix or remove the file (kubelet "
                       "rewrites it at its start), or point kubelet_root_dir in the config at kubelet's --root-dir",
                       diag.message[0] ? diag.message : strerror(-r));
                return add_check(doctor, "kubelet", &line);
        }
        doctor->kubelet_read = true;
        if (!k->cpu_state_found)
                clause(&line, NP_CHECK_OK,
                       "no CPU manager state in %s: kubelet does not run here, or keeps its state elsewhere "
                       "(kubelet_root_dir in the config)",
                       root);
        else if (strcmp(k->cpu_policy, "none") == 0)
                clause(&line, NP_CHECK_OK, "kubelet's CPU manager policy is none");
        else {
                struct np_cpulist both = ledger->exclusive_cpus;

                clause(&line, NP_CHECK_WARNING,
                       "kubelet's CPU manager policy is %s (shared pool %s; CPUs %s assigned to %zu container%s): "
                       "numapin keeps off the CPUs kubelet assigned and leaves the cpusets of kubelet's containers "
                       "to kubelet; ask numapin for exclusive CPUs only in pods kubelet does not pin (not Guaranteed "
                       "with integer CPUs)",
                       k->cpu_policy,
                       np_cpulist_empty(&k->default_cpus) ? "empty" : list_text(&k->default_cpus, pool, sizeof(pool)),
                       np_cpulist_empty(&k->assigned_cpus) ? "none"
                                                           : list_text(&k->assigned_cpus, assigned, sizeof(assigned)),
                       k->n_assignments, plural(k->n_assignments));
                np_cpulist_and(&both, &k->assigned_cpus);
                if (!np_cpulist_empty(&both))
                        clause(&line, NP_CHECK_WARNING,
                               "CPUs %s are held exclusively by numapin and assigned by kubelet too: release the "
                               "numapin containers holding them (numapinctl list) and create them again",
                               list_text(&both, assigned, sizeof(assigned)));
        }
        if (!k->memory_state_found)
                clause(&line, NP_CHECK_OK, "no Memory manager state");
        else if (strcmp(k->memory_policy, "None") == 0)
                clause(&line, NP_CHECK_OK, "Memory manager policy None");
        else
                clause(&line, NP_CHECK_WARNING,
                       "kubelet's Memory manager policy is %s: it sets cpuset.mems of Guaranteed pods itself, so give "
                       "those pods numapin's cpus-only policy rather than bind",
                       k->memory_policy);
        return add_check(doctor, "kubelet", &line);
}

/* --- cgroup -------------------------------------------------------------------------- */

static int check_cgroup(struct np_context *context, struct np_doctor *doctor)
{
        enum np_cgroup_layout layout;
        struct np_diag diag = {};
        struct line line = {};
        int r;

        r = np_cgroup_detect(context->cgroup_root, &diag, &layout);
        if (r < 0)
                clause(&line, NP_CHECK_ERROR,
                       "%s: numapin cannot apply a placement; enable cpuset (cgroup v2: cgroup_enable=cpuset, "
                       "+cpuset in cgroup.subtree_control; v1: mount the cpuset hierarchy)",
                       diag.message[0] ? diag.message : strerror(-r));
        else if (layout == NP_CGROUP_UNIFIED)
                clause(&line, NP_CHECK_OK, "cgroup v2 with the cpuset controller at %s", context->cgroup_root);
        else
                clause(&line, NP_CHECK_OK, "cgroup v1 cpuset hierarchy at %s/cpuset", context->cgroup_root);
        return add_check(doctor, "cgroup", &line);
}

/* --- bpf and pmu --------------------------------------------------------------------- */

/* Which flavour the pinned programs are, from their link names (link_<program>). */
static const char *pinned_flavour(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        unsigned int btf = 0, classic = 0;

        if (!d)
                return "unknown programs";
        while ((e = readdir(d)))
                if (strncmp(e->d_name, "link_", 5) == 0) {
                        if (strstr(e->d_name, "_btf"))
                                btf++;
                        else
                                classic++;
                }
        closedir(d);
        return btf && classic ? "tp_btf and classic programs"
               : btf          ? "tp_btf programs"
               : classic      ? "classic tracepoint programs"
                              : "no pinned programs";
}

/* A clause for another build's set still pinned (np_monitor_each_other_set). */
static void other_set_clause(const char *dir, int watched, void *userdata)
{
        struct line *line = userdata;

        if (watched > 0)
                clause(line, NP_CHECK_OK,
                       "another build's set %s still watches %d container%s, and is unpinned after the last one's "
                       "release",
                       dir, watched, watched == 1 ? "" : "s");
        else if (watched == 0)
                clause(line, NP_CHECK_WARNING,
                       "another build's set %s watches no container, but its programs still run at every event: the "
                       "next release of a monitored container unpins it (or rm -r %s)",
                       dir, dir);
        else if (watched == NP_SET_CUT_SHORT)
                clause(line, NP_CHECK_WARNING,
                       "%s is a set whose load or removal was cut short: the next load or release unpins it", dir);
        else
                clause(line, NP_CHECK_WARNING, "another build's set %s cannot be counted: %s%s", dir,
                       strerror(-watched),
                       watched == -EPERM || watched == -EACCES ? " (run numapinctl doctor as root)" : "");
}

static int check_bpf(struct np_context *context, const struct np_doctor_paths *paths, struct np_doctor *doctor,
                     struct np_monitor **ret_monitor, bool *ret_loaded)
{
        const char *pin_root = context->config.monitor_pin_dir;
        const char *btf = paths && paths->btf ? paths->btf : NP_DOCTOR_BTF_PATH;
        char parent[PATH_MAX], dir[PATH_MAX], watched[PATH_MAX + 16];
        struct line line = {};
        struct statfs fs;
        struct stat st;
        char *slash;
        int r;

        *ret_monitor = NULL;
        *ret_loaded = false;
        if (!context->config.monitor) {
                clause(&line, NP_CHECK_OK, "the locality monitor is off (config \"monitor\": false)");
                return add_check(doctor, "bpf", &line);
        }
        snprintf(parent, sizeof(parent), "%s", pin_root);
        slash = strrchr(parent, '/');
        if (slash && slash != parent)
                *slash = '\0';
        if (statfs(parent, &fs) < 0)
                clause(&line, NP_CHECK_WARNING, "%s: %s; the monitor pins its programs below it (monitor_pin_dir %s)",
                       parent, strerror(errno), pin_root);
        else if ((unsigned long)fs.f_type != BPF_FS_MAGIC_VALUE)
                clause(&line, NP_CHECK_WARNING,
                       "%s is not bpffs: the monitor's loader mounts bpffs there (CAP_SYS_ADMIN); in a pod, mount "
                       "the host's /sys/fs/bpf instead, or the pinned set goes with the pod",
                       parent);
        else
                clause(&line, NP_CHECK_OK, "bpffs at %s", parent);
        if (stat(btf, &st) == 0)
                clause(&line, NP_CHECK_OK, "kernel BTF at %s (tp_btf programs)", btf);
        else
                clause(&line, NP_CHECK_OK,
                       "no kernel BTF at %s: classic tracepoint programs, which stay attached after their loader "
                       "exits only from Linux 5.15",
                       btf);

        r = np_monitor_dir(pin_root, dir, sizeof(dir));
        if (r < 0) {
                clause(&line, NP_CHECK_WARNING, "monitor_pin_dir %s: too long", pin_root);
                return add_check(doctor, "bpf", &line);
        }
        snprintf(watched, sizeof(watched), "%s/watched", dir);
        if (stat(watched, &st) < 0 && errno == ENOENT) {
                clause(&line, NP_CHECK_OK,
                       "the monitor is not loaded yet (%s): the first container placed with it loads it", dir);
                np_monitor_each_other_set(pin_root, other_set_clause, &line);
                return add_check(doctor, "bpf", &line);
        }
        *ret_loaded = true;
        {
                struct np_monitor *monitor = NULL;
                struct np_diag diag = {};
                unsigned int used = 0;

                r = np_monitor_open_dir(dir, &diag, &monitor);
                if (r < 0) {
                        clause(&line, NP_CHECK_WARNING, "%s%s", diag.message[0] ? diag.message : strerror(-r),
                               r == -EPERM || r == -EACCES ? " (run numapinctl doctor as root)" : "");
                        return add_check(doctor, "bpf", &line);
                }
                r = np_monitor_count(monitor, &used);
                if (r < 0)
                        clause(&line, NP_CHECK_WARNING,
                               "loaded in %s with %s, but its watched containers cannot be "
                               "counted: %s",
                               dir, pinned_flavour(dir), strerror(-r));
                else if (used >= monitor->slots)
                        clause(&line, NP_CHECK_WARNING,
                               "loaded in %s with %s, and all %u slots are used: containers placed now are not "
                               "monitored until others exit (monitor_slots sizes the next set loaded)",
                               dir, pinned_flavour(dir), monitor->slots);
                else
                        clause(&line, NP_CHECK_OK, "loaded in %s with %s; %u of %u slots used, %u free", dir,
                               pinned_flavour(dir), used, monitor->slots, monitor->slots - used);
                *ret_monitor = monitor;
        }
        np_monitor_each_other_set(pin_root, other_set_clause, &line);
        return add_check(doctor, "bpf", &line);
}

static int check_pmu(struct np_context *context, const struct np_monitor *monitor, bool loaded,
                     struct np_doctor *doctor)
{
        struct np_bpf_pmu_info info = {};
        struct line line = {};
        int r;

        if (!context->config.monitor)
                clause(&line, NP_CHECK_OK, "the locality monitor is off");
        else if (!loaded)
                clause(&line, NP_CHECK_OK, "unknown until the monitor is loaded");
        else if (!monitor)
                clause(&line, NP_CHECK_OK, "unknown: the pinned set cannot be opened (see bpf)");
        else if ((r = np_monitor_pmu(monitor, &info)) < 0)
                clause(&line, NP_CHECK_WARNING, "the pinned set's PMU state cannot be read: %s", strerror(-r));
        else {
                info.text[sizeof(info.text) - 1] = '\0';
                if (info.live)
                        clause(&line, NP_CHECK_OK, "counts local and remote DRAM fills (%s)",
                               info.text[0] ? info.text : "events not named");
                else
                        clause(&line, NP_CHECK_OK,
                               "does not count (%s): numapinctl stats shows the page and CPU time figures only",
                               info.text[0] ? info.text : "no reason given");
        }
        return add_check(doctor, "pmu", &line);
}

/* --- ledger -------------------------------------------------------------------------- */

/* One record against its live cgroup: 1 when a warning was added, 0 when they agree. */
static int check_placed(const struct placed *p, struct np_doctor *doctor)
{
        _cleanup_close_ int dir_fd = -1;
        _cleanup_free_ char *text = NULL;
        struct np_cpulist live;
        struct line line = {};
        char want[NP_CPULIST_BUFSIZE], have[NP_CPULIST_BUFSIZE], quoted[128];
        const char *source = np_source_to_string(p->source);
        int r;

        dir_fd = openat(AT_FDCWD, p->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0 && errno == ENOENT) {
                if (pid_alive(p->pid))
                        clause(&line, NP_CHECK_WARNING,
                               "container '%s' (%s): its cgroup %s is gone while its pid %d runs: once the container "
                               "is gone, numapinctl release %s",
                               p->id, source, p->cgroup, p->pid, p->id);
                else
                        clause(&line, NP_CHECK_WARNING,
                               "container '%s' (%s): its cgroup %s is gone: stale, reclaimed by the next placement or release "
                               "once 10 s have passed since the last look, or at once by one that needs its CPUs",
                               p->id, source, p->cgroup);
                return add_check(doctor, "ledger", &line) < 0 ? -ENOMEM : 1;
        }
        if (dir_fd < 0) {
                clause(&line, NP_CHECK_WARNING, "container '%s' (%s): its cgroup %s cannot be read: %s", p->id, source,
                       p->cgroup, strerror(errno));
                return add_check(doctor, "ledger", &line) < 0 ? -ENOMEM : 1;
        }
        r = np_read_file_at(dir_fd, "cpuset.cpus", CPUSET_FILE_LIMIT, &text, NULL);
        if (r < 0) {
                clause(&line, NP_CHECK_WARNING, "container '%s' (%s): %s/cpuset.cpus cannot be read: %s%s", p->id,
                       source, p->cgroup, np_file_strerror_at(dir_fd, "cpuset.cpus", r),
                       r == -ENOENT ? " (the cpuset controller is not enabled for its cgroup)" : "");
                return add_check(doctor, "ledger", &line) < 0 ? -ENOMEM : 1;
        }
        if (np_cpulist_parse(text, NP_CPULIST_MAX, "cpuset.cpus", NULL, &live) < 0) {
                clause(&line, NP_CHECK_WARNING, "container '%s' (%s): %s/cpuset.cpus reads '%s', not a cpuset", p->id,
                       source, p->cgroup, np_log_quote(quoted, sizeof(quoted), text));
                return add_check(doctor, "ledger", &line) < 0 ? -ENOMEM : 1;
        }
        if (np_cpulist_equal(&live, &p->cpus))
                return 0;
        list_text(&p->cpus, want, sizeof(want));
        list_text(&live, have, sizeof(have));
        clause(&line, NP_CHECK_WARNING,
               "container '%s' (%s): %s/cpuset.cpus is %s but its record says %s: something else (kubelet's CPU "
               "manager, the runtime, a person) changed it; %s",
               p->id, source, p->cgroup, np_cpulist_empty(&live) ? "empty" : have, want,
               p->source == NP_SOURCE_NRI ? "numapin-nri sets it back at its next Synchronize (restart it)"
                                          : "write the record's CPUs back into it, or recreate the container");
        return add_check(doctor, "ledger", &line) < 0 ? -ENOMEM : 1;
}

static int check_ledger(struct np_context *context, const struct ledger_facts *ledger, struct np_doctor *doctor)
{
        struct line line = {};
        size_t n_warnings = 0;

        if (!ledger->read) {
                clause(&line, NP_CHECK_ERROR, "%s: numapin refuses every placement while a record cannot be read",
                       ledger->error);
                return add_check(doctor, "ledger", &line);
        }
        for (size_t i = 0; i < ledger->n_placed; i++) {
                int r = check_placed(&ledger->placed[i], doctor);

                if (r < 0)
                        return r;
                n_warnings += (size_t)r;
        }
        if (n_warnings)
                return 0;
        if (ledger->n_records == 0)
                clause(&line, NP_CHECK_OK, "no containers placed (state dir %s)", context->state_dir);
        else
                clause(&line, NP_CHECK_OK,
                       "%zu record%s (%zu hook, %zu nri, %zu plan); every cgroup's cpuset.cpus matches its record",
                       ledger->n_records, plural(ledger->n_records), ledger->n_hook, ledger->n_nri, ledger->n_plan);
        if (ledger->n_plan)
                clause(&line, NP_CHECK_OK,
                       "%zu record%s of numapinctl plan --commit hold%s CPUs until released (numapinctl release ID)",
                       ledger->n_plan, plural(ledger->n_plan), ledger->n_plan == 1 ? "s" : "");
        return add_check(doctor, "ledger", &line);
}

/* --- all of them --------------------------------------------------------------------- */

void np_doctor_clear(struct np_doctor *doctor)
{
        if (!doctor)
                return;
        free(doctor->checks);
        np_kubelet_clear(&doctor->kubelet);
        *doctor = (struct np_doctor){};
}

enum np_check_status np_doctor_worst(const struct np_doctor *doctor)
{
        enum np_check_status worst = NP_CHECK_OK;

        for (size_t i = 0; i < doctor->n_checks; i++)
                if (doctor->checks[i].status > worst)
                        worst = doctor->checks[i].status;
        return worst;
}

int np_doctor_run(struct np_context *context, const struct np_doctor_paths *paths, struct np_doctor *ret_doctor)
{
        _cleanup_(np_doctor_clear) struct np_doctor doctor = {};
        _cleanup_monitor_ struct np_monitor *monitor = NULL;
        struct ledger_facts ledger = {};
        bool loaded = false;
        int r;

        r = read_ledger(context, &ledger);
        if (r == 0)
                r = check_nri(context, &ledger, &doctor);
        if (r == 0)
                r = check_hook(paths, &ledger, &doctor);
        if (r == 0)
                r = check_kubelet(context, &ledger, &doctor);
        if (r == 0)
                r = check_cgroup(context, &doctor);
        if (r == 0)
                r = check_bpf(context, paths, &doctor, &monitor, &loaded);
        if (r == 0)
                r = check_pmu(context, monitor, loaded, &doctor);
        if (r == 0)
                r = check_ledger(context, &ledger, &doctor);
        free(ledger.placed);
        if (r < 0)
                return r;
        *ret_doctor = doctor; /* the checks and kubelet's assignments change hands */
        doctor = (struct np_doctor){};
        return 0;
}
