// SPDX-License-Identifier: MIT
/* Checks the scenarios share: the plugin's ledger records read back, a create's
 * placement, frames a Go runtime can read, and a clean exit. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* The record the plugin answered for last may wait in <state>/lock for its file
 * (README, "The ledger"): after the generation and the re-pin mark come its size
 * (0: none) and hash, then its text. Its container id in `ret_id`, or false. */
static bool waiting_record(const struct runtime *rt, char *text, size_t size, char *ret_id, size_t id_size)
{
        static const char id_key[] = "\"id\": \"";
        char path[PATH_MAX + 16], *at, *end;
        uint64_t header[4];
        ssize_t got = -1;
        int fd;

        snprintf(path, sizeof(path), "%s/lock", rt->state_dir);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        if (pread(fd, header, sizeof(header), 0) == (ssize_t)sizeof(header) && header[2] > 0 && header[2] < size)
                got = pread(fd, text, header[2], sizeof(header));
        close(fd);
        if (got <= 0 || got != (ssize_t)header[2])
                return false;
        text[got] = '\0';
        at = strstr(text, id_key);
        end = at ? strchr(at + strlen(id_key), '"') : NULL;
        if (!end || (size_t)(end - at) >= id_size + strlen(id_key))
                return false;
        at += strlen(id_key);
        snprintf(ret_id, id_size, "%.*s", (int)(end - at), at);
        return true;
}

/* A field of the plugin's ledger record <state>/containers/<id>.json (or the one
 * waiting for it), "" when the field is empty; -ENOENT without a record. A scan for
 * `"field": value`, enough for the ledger's one-field-per-line JSON
 * (tests/integration/nri.sh reads it with jq). */
static int ledger_field(const struct runtime *rt, const char *id, const char *field, char *ret, size_t size)
{
        char path[PATH_MAX + 300], key[80], text[65536], waiting[128], *p;
        size_t n = 0;
        ssize_t got;
        int fd;

        if (!waiting_record(rt, text, sizeof(text), waiting, sizeof(waiting)) || strcmp(waiting, id) != 0) {
                snprintf(path, sizeof(path), "%s/containers/%s.json", rt->state_dir, id);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                got = read(fd, text, sizeof(text) - 1);
                close(fd);
                if (got < 0)
                        return -EIO;
                text[got] = '\0';
        }
        snprintf(key, sizeof(key), "\"%s\":", field);
        p = strstr(text, key);
        if (!p)
                return -ENODATA;
        p += strlen(key);
        while (*p == ' ')
                p++;
        if (*p == '"')
                for (p++; *p && *p != '"' && n + 1 < size; p++)
                        ret[n++] = *p;
        else
                for (; *p && !strchr(",}\n ", *p) && n + 1 < size; p++)
                        ret[n++] = *p;
        ret[n] = '\0';
        return 0;
}

/* The record's field, "(no record)" or "(no field)". */
const char *record(const struct runtime *rt, const char *id, const char *field)
{
        static char values[4][512];
        static unsigned int turn;
        char *value = values[turn++ % 4];
        int r = ledger_field(rt, id, field, value, sizeof(values[0]));

        if (r == -ENOENT)
                return "(no record)";
        if (r < 0)
                return "(no field)";
        return value;
}

bool has_record(const struct runtime *rt, const char *id)
{
        return strcmp(record(rt, id, "id"), "(no record)") != 0;
}

/* 1 when the record waiting in the lock file has no file yet. */
static unsigned int new_waiting_record(const struct runtime *rt)
{
        char text[65536], id[128], path[PATH_MAX + 300];

        if (!waiting_record(rt, text, sizeof(text), id, sizeof(id)))
                return 0;
        snprintf(path, sizeof(path), "%s/containers/%s.json", rt->state_dir, id);
        return access(path, F_OK) < 0 ? 1 : 0;
}

unsigned int count_records(const struct runtime *rt)
{
        char path[PATH_MAX + 16];
        unsigned int n = 0;
        struct dirent *entry;
        DIR *dir;

        snprintf(path, sizeof(path), "%s/containers", rt->state_dir);
        dir = opendir(path);
        if (!dir)
                return 0;
        while ((entry = readdir(dir))) {
                size_t len = strlen(entry->d_name);

                n += len > 5 && strcmp(entry->d_name + len - 5, ".json") == 0;
        }
        closedir(dir);
        return n + new_waiting_record(rt);
}

bool records_written(const struct runtime *rt, const char *const *ids, size_t n, unsigned int timeout_ms)
{
        char text[65536], waiting[128], path[PATH_MAX + 300];

        for (unsigned int waited = 0;; waited += 10) {
                size_t written = 0;

                for (size_t i = 0; i < n; i++) {
                        snprintf(path, sizeof(path), "%s/containers/%s.json", rt->state_dir, ids[i]);
                        written += access(path, F_OK) == 0;
                }
                if (written == n && !waiting_record(rt, text, sizeof(text), waiting, sizeof(waiting)))
                        return true;
                if (waited >= timeout_ms)
                        return false;
                sleep_ms(10);
        }
}

bool create_expect(struct runtime *rt, const char *line, const char *want_cpus, const char *want_mems, const char *name)
{
        struct spec s = spec_of(line);
        struct reply reply;
        struct outcome out = runtime_create(rt, &s, &reply);
        bool ok = expect(reply_ok(&reply) && !out.malformed && strcmp(out.cpus, want_cpus) == 0 &&
                                 strcmp(out.mems, want_mems) == 0,
                         name, "expected cpus=%s mems=%s, got %s", dash(want_cpus), dash(want_mems),
                         reply_ok(&reply) ? outcome_text(&out) : describe(&reply));

        reply_clear(&reply);
        return ok;
}

void expect_record(const struct runtime *rt, const char *id, const char *fields, const char *name)
{
        char want[1024], got[1024] = "", *save = NULL, *field;
        size_t n = 0;

        copy_str(want, sizeof(want), fields);
        for (field = strtok_r(want, " ", &save); field; field = strtok_r(NULL, " ", &save)) {
                char *eq = strchr(field, '=');

                if (eq)
                        *eq = '\0';
                n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s=%s", n ? " " : "", field, record(rt, id, field));
                if (n >= sizeof(got))
                        break;
        }
        expect_str(name, fields, got);
}

void expect_clean_wire(struct runtime *rt)
{
        expect(rt->peer.violations == 0, "every frame the plugin sent is one a Go runtime can read",
               "%u violations, the first: %s", rt->peer.violations, rt->peer.violation);
}

void expect_exit_zero(struct runtime *rt, int sig, const char *name)
{
        bool exited = plugin_stop(rt, sig);

        expect(exited && WIFEXITED(rt->exit_status) && WEXITSTATUS(rt->exit_status) == 0, name, "%s",
               exited ? exit_text(rt->exit_status) : "still running 3 s later (killed)");
}
