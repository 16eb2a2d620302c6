// SPDX-License-Identifier: MIT
/* The operations counters (core/opstats.c) in a private state dir: what is
 * counted survives close and reopen; a file that is not this build's counters
 * (short, long, another magic or version, a symlink, a FIFO, a directory) is
 * refused without create and replaced with it, quietly and without blocking;
 * 8 processes counting at once lose nothing; a duration on a bucket's bound
 * goes in that bucket (Prometheus' le); and which errors count as refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../../core/opstats.h"
#include "helpers.h"

#define CHILDREN      8
#define PER_CHILD     10000
#define FILE_SIZE     sizeof(struct np_opstats_data)
#define NS_PER_SECOND UINT64_C(1000000000)

struct fixture {
        char dir[PATH_MAX];
        char state[PATH_MAX];
        char file[PATH_MAX + 64];
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        np_test_mkdtemp(f->dir, sizeof(f->dir));
        np_test_path(f->state, sizeof(f->state), f->dir, "state");
        np_test_path(f->file, sizeof(f->file), f->state, NP_OPSTATS_FILE);
        assert_int_equal(mkdir(f->state, 0755), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        np_test_rmtree(f->dir);
        free(f);
        return 0;
}

static struct np_opstats *open_or_fail(const struct fixture *f, bool create)
{
        struct np_opstats *opstats = NULL;
        struct np_diag diag = {};

        if (np_opstats_open(f->state, create, &diag, &opstats) < 0)
                fail_msg("np_opstats_open(%s, create=%d): %s", f->state, create, diag.message);
        return opstats;
}

static struct np_opstats_data snapshot(const struct np_opstats *opstats)
{
        struct np_opstats_data data;

        memset(&data, 0xaa, sizeof(data));
        np_opstats_read(opstats, &data);
        return data;
}

static uint64_t bucket_total(const struct np_opstats_data *data, enum np_op_source source)
{
        uint64_t total = 0;

        for (size_t b = 0; b <= NP_OP_BUCKETS; b++)
                total += data->duration_buckets[source][b];
        return total;
}

/* Every counter of the snapshot is zero. */
static void assert_all_zero(const struct np_opstats_data *data)
{
        const uint64_t *counter = &data->placements[0][0];
        size_t n = (sizeof(*data) - offsetof(struct np_opstats_data, placements)) / sizeof(uint64_t);

        for (size_t i = 0; i < n; i++)
                if (counter[i])
                        fail_msg("counter %zu is %llu, expected 0 in a new file", i, (unsigned long long)counter[i]);
}

/* The file is a regular file of the layout's size (not a symlink, FIFO or the old file). */
static void assert_counters_file(const struct fixture *f)
{
        struct stat st;

        assert_int_equal(lstat(f->file, &st), 0);
        if (!S_ISREG(st.st_mode))
                fail_msg("%s is not a regular file (mode %o) after an open with create", f->file, st.st_mode);
        assert_int_equal(st.st_size, FILE_SIZE);
}

static void test_opstats_counts_survive_close_and_reopen(void **state)
{
        struct fixture *f = *state;
        struct np_opstats *opstats = open_or_fail(f, true);
        struct np_opstats_data data;

        assert_counters_file(f);
        np_opstats_placement(opstats, NP_OP_HOOK, NP_OP_PLACED);
        np_opstats_placement(opstats, NP_OP_HOOK, NP_OP_PLACED);
        np_opstats_placement(opstats, NP_OP_HOOK, NP_OP_PLACED);
        np_opstats_placement(opstats, NP_OP_NRI, NP_OP_REFUSED);
        np_opstats_placement(opstats, NP_OP_NRI, NP_OP_ERROR);
        np_opstats_duration(opstats, NP_OP_NRI, 300000);     /* 0.3 ms */
        np_opstats_duration(opstats, NP_OP_NRI, 3000000000); /* 3 s: beyond the last bound */
        np_opstats_nri_request(opstats, NP_NRI_CREATE_CONTAINER, true);
        np_opstats_nri_request(opstats, NP_NRI_CREATE_CONTAINER, false);
        np_opstats_nri_request(opstats, NP_NRI_OTHER, true);
        np_opstats_close(opstats);

        /* without create, as the metrics renderer opens it */
        opstats = open_or_fail(f, false);
        data = snapshot(opstats);
        np_opstats_close(opstats);
        assert_memory_equal(data.magic, "NPOPSTAT", 8);
        assert_int_equal(data.size, FILE_SIZE);
        assert_int_equal(data.placements[NP_OP_HOOK][NP_OP_PLACED], 3);
        assert_int_equal(data.placements[NP_OP_HOOK][NP_OP_REFUSED], 0);
        assert_int_equal(data.placements[NP_OP_NRI][NP_OP_REFUSED], 1);
        assert_int_equal(data.placements[NP_OP_NRI][NP_OP_ERROR], 1);
        assert_int_equal(data.placements[NP_OP_NRI][NP_OP_PLACED], 0);
        assert_int_equal(data.duration_buckets[NP_OP_NRI][2], 1); /* le 0.0005 */
        assert_int_equal(data.duration_buckets[NP_OP_NRI][NP_OP_BUCKETS], 1);
        assert_int_equal(bucket_total(&data, NP_OP_NRI), 2);
        assert_int_equal(bucket_total(&data, NP_OP_HOOK), 0);
        assert_int_equal(data.duration_ns_sum[NP_OP_NRI], 3000300000);
        assert_int_equal(data.nri_requests[NP_NRI_CREATE_CONTAINER][0], 1);
        assert_int_equal(data.nri_requests[NP_NRI_CREATE_CONTAINER][1], 1);
        assert_int_equal(data.nri_requests[NP_NRI_OTHER][0], 1);

        /* with create, an existing file of the layout is kept as it is */
        opstats = open_or_fail(f, true);
        data = snapshot(opstats);
        np_opstats_close(opstats);
        assert_int_equal(data.placements[NP_OP_HOOK][NP_OP_PLACED], 3);
        assert_int_equal(np_test_count_entries(f->state), 1); /* no temporary file left */
}

static void test_opstats_open_without_create_refuses_a_missing_file(void **state)
{
        struct fixture *f = *state;
        struct np_opstats *opstats = NULL;
        struct np_diag diag = {};

        assert_int_equal(np_opstats_open(f->state, false, &diag, &opstats), -ENOENT);
        assert_null(opstats);
        assert_non_null(strstr(diag.message, f->file));
        assert_int_equal(np_test_count_entries(f->state), 0); /* nothing made */
}

static void test_opstats_open_refuses_a_missing_state_dir(void **state)
{
        struct fixture *f = *state;
        struct np_opstats *opstats = NULL;
        struct np_diag diag = {};
        char missing[PATH_MAX + 16];

        np_test_path(missing, sizeof(missing), f->dir, "nowhere");
        assert_int_equal(np_opstats_open(missing, true, &diag, &opstats), -ENOENT);
        assert_null(opstats);
        assert_non_null(strstr(diag.message, missing));
}

/* The counters in a file of the layout with `count` placements, written by hand. */
static void write_layout(const char *path, const char *magic, uint32_t version, uint32_t size, uint64_t count,
                         size_t file_size)
{
        _cleanup_free_ char *bytes = calloc(1, file_size > FILE_SIZE ? file_size : FILE_SIZE);
        struct np_opstats_data data = { .version = version, .size = size };
        int fd;

        assert_non_null(bytes);
        memcpy(data.magic, magic, sizeof(data.magic));
        data.placements[NP_OP_HOOK][NP_OP_PLACED] = count;
        memcpy(bytes, &data, sizeof(data));
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, bytes, file_size), (ssize_t)file_size);
        assert_int_equal(close(fd), 0);
}

/* Refused without create (-EINVAL, the file named, the thing left as it was),
 * then replaced by an empty counters file with create. */
static void assert_refused_then_replaced(const struct fixture *f, const char *what)
{
        struct np_opstats *opstats = NULL;
        struct np_opstats_data data;
        struct np_diag diag = {};
        struct stat before, after;
        int r;

        assert_int_equal(lstat(f->file, &before), 0);
        r = np_opstats_open(f->state, false, &diag, &opstats);
        if (r != -EINVAL)
                fail_msg("%s: np_opstats_open without create gave %d (%s), expected -EINVAL", what, r, strerror(-r));
        assert_null(opstats);
        if (!strstr(diag.message, f->file) || !strstr(diag.message, "not a counters file"))
                fail_msg("%s: the message does not name the file and say why: %s", what, diag.message);
        assert_int_equal(lstat(f->file, &after), 0);
        assert_int_equal(after.st_ino, before.st_ino);
        assert_int_equal(after.st_mode, before.st_mode);
        assert_int_equal(after.st_size, before.st_size);

        r = np_opstats_open(f->state, true, &diag, &opstats);
        if (r < 0)
                fail_msg("%s: np_opstats_open with create: %s", what, diag.message);
        data = snapshot(opstats);
        np_opstats_placement(opstats, NP_OP_NRI, NP_OP_PLACED);
        np_opstats_close(opstats);
        assert_all_zero(&data);
        assert_counters_file(f);

        /* the new file is the one opened next, with its count */
        opstats = open_or_fail(f, false);
        data = snapshot(opstats);
        np_opstats_close(opstats);
        assert_int_equal(data.placements[NP_OP_NRI][NP_OP_PLACED], 1);
        assert_int_equal(np_test_count_entries(f->state), 1); /* no temporary file left */
}

static void test_opstats_refuses_then_replaces_a_short_file(void **state)
{
        struct fixture *f = *state;

        np_test_write_file(f->file, "NPOPSTAT short");
        assert_refused_then_replaced(f, "a 14-byte file");
}

static void test_opstats_refuses_then_replaces_an_empty_file(void **state)
{
        struct fixture *f = *state;

        np_test_write_file(f->file, "");
        assert_refused_then_replaced(f, "an empty file");
}

static void test_opstats_refuses_then_replaces_a_longer_file(void **state)
{
        struct fixture *f = *state;

        /* the right header, a size field that matches, but more bytes: another layout */
        write_layout(f->file, "NPOPSTAT", 1, FILE_SIZE, 5, FILE_SIZE + 8);
        assert_refused_then_replaced(f, "a file 8 bytes too long");
}

static void test_opstats_refuses_then_replaces_a_foreign_magic(void **state)
{
        struct fixture *f = *state;

        write_layout(f->file, "NOTOURS!", 1, FILE_SIZE, 5, FILE_SIZE);
        assert_refused_then_replaced(f, "a file of the right size with another magic");
}

static void test_opstats_refuses_then_replaces_another_version(void **state)
{
        struct fixture *f = *state;

        write_layout(f->file, "NPOPSTAT", 2, FILE_SIZE, 5, FILE_SIZE);
        assert_refused_then_replaced(f, "version 2");
        write_layout(f->file, "NPOPSTAT", 1, FILE_SIZE - 8, 5, FILE_SIZE);
        assert_refused_then_replaced(f, "a size field that is not the layout's");
}

static void test_opstats_refuses_then_replaces_a_symlink_leaving_its_target(void **state)
{
        struct fixture *f = *state;
        char target[PATH_MAX + 16];
        struct stat st;
        struct np_opstats_data data;
        _cleanup_free_ char *before = NULL, *after = NULL;

        /* a valid counters file elsewhere: a symlink to it is still refused (O_NOFOLLOW) */
        np_test_path(target, sizeof(target), f->dir, "elsewhere");
        write_layout(target, "NPOPSTAT", 1, FILE_SIZE, 7, FILE_SIZE);
        before = np_test_read_file(target);
        assert_int_equal(symlink(target, f->file), 0);
        assert_refused_then_replaced(f, "a symlink to a counters file");
        /* the target was neither written through nor replaced */
        assert_int_equal(lstat(target, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        after = np_test_read_file(target);
        assert_memory_equal(before, after, FILE_SIZE);
        memcpy(&data, after, sizeof(data));
        assert_int_equal(data.placements[NP_OP_HOOK][NP_OP_PLACED], 7);
        assert_int_equal(data.placements[NP_OP_NRI][NP_OP_PLACED], 0);
}

static void on_alarm(int signo)
{
        (void)signo;
        fail_msg("np_opstats_open blocked on a FIFO");
}

static void test_opstats_refuses_then_replaces_a_fifo_without_blocking(void **state)
{
        struct fixture *f = *state;

        assert_int_equal(mkfifo(f->file, 0644), 0);
        signal(SIGALRM, on_alarm);
        alarm(5); /* a blocked open would fail the test here instead of hanging it */
        assert_refused_then_replaced(f, "a FIFO");
        alarm(0);
        signal(SIGALRM, SIG_DFL);
}

static void test_opstats_refuses_a_directory_both_ways(void **state)
{
        struct fixture *f = *state;
        struct np_opstats *opstats = NULL;
        struct np_diag diag = {};
        struct stat st;

        assert_int_equal(mkdir(f->file, 0755), 0);
        assert_true(np_opstats_open(f->state, false, &diag, &opstats) < 0);
        assert_null(opstats);
        assert_non_null(strstr(diag.message, f->file));
        /* a directory is not replaced (it may hold something); the error names it */
        diag = (struct np_diag){};
        assert_true(np_opstats_open(f->state, true, &diag, &opstats) < 0);
        assert_null(opstats);
        assert_non_null(strstr(diag.message, f->file));
        assert_int_equal(lstat(f->file, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
}

/* Core logs at debug only (STYLE.md): the front-end that opened the file is
 * the one to say something, so a replaced file prints nothing at the default level. */
static void test_opstats_replacing_a_damaged_file_logs_nothing_above_debug(void **state)
{
        struct fixture *f = *state;
        struct np_opstats *opstats = NULL;
        struct np_diag diag = {};
        char log_path[PATH_MAX + 16];
        _cleanup_free_ char *logged = NULL;
        int saved_stderr, log_fd, r;

        np_test_write_file(f->file, "damaged");
        np_test_path(log_path, sizeof(log_path), f->dir, "stderr");
        log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(log_fd >= 0);
        fflush(stderr);
        saved_stderr = dup(STDERR_FILENO);
        assert_true(saved_stderr >= 0);
        assert_int_equal(dup2(log_fd, STDERR_FILENO), STDERR_FILENO);
        r = np_opstats_open(f->state, true, &diag, &opstats);
        fflush(stderr);
        assert_int_equal(dup2(saved_stderr, STDERR_FILENO), STDERR_FILENO);
        close(saved_stderr);
        close(log_fd);
        if (r < 0)
                fail_msg("np_opstats_open with create: %s", diag.message);
        np_opstats_close(opstats);
        assert_counters_file(f);
        logged = np_test_read_file(log_path);
        assert_non_null(logged);
        if (logged[0])
                fail_msg("replacing the file logged above debug level: %s", logged);
}

/* A child: opens the counters itself (the file may not exist yet: they race to
 * make it), then counts PER_CHILD placements, durations and requests. */
static int count_in_child(const struct fixture *f, unsigned int index, int start_fd)
{
        struct np_opstats *opstats = NULL;
        char go;

        if (read(start_fd, &go, 1) != 0)
                return 3;
        if (np_opstats_open(f->state, true, NULL, &opstats) < 0)
                return 4;
        for (unsigned int i = 0; i < PER_CHILD; i++) {
                np_opstats_placement(opstats, NP_OP_NRI, NP_OP_PLACED);
                np_opstats_placement(opstats, NP_OP_HOOK, i % 2 ? NP_OP_REFUSED : NP_OP_ERROR);
                np_opstats_duration(opstats, NP_OP_NRI, (uint64_t)(index + 1) * 1000 + i % 7);
                np_opstats_nri_request(opstats, NP_NRI_CREATE_CONTAINER, true);
        }
        np_opstats_close(opstats);
        return 0;
}

/* CHILDREN processes count at once, each opening the counters itself; the
 * totals must be exact. */
static void assert_children_lose_no_count(struct fixture *f)
{
        struct np_opstats *opstats;
        struct np_opstats_data data;
        uint64_t expected_sum = 0;
        pid_t children[CHILDREN];
        int start[2];

        assert_int_equal(pipe(start), 0);
        for (unsigned int c = 0; c < CHILDREN; c++) {
                children[c] = fork();
                assert_true(children[c] >= 0);
                if (children[c] == 0) {
                        close(start[1]);
                        _exit(count_in_child(f, c, start[0]));
                }
                for (unsigned int i = 0; i < PER_CHILD; i++)
                        expected_sum += (uint64_t)(c + 1) * 1000 + i % 7;
        }
        close(start[0]);
        close(start[1]); /* every child starts now */
        for (unsigned int c = 0; c < CHILDREN; c++) {
                int status;

                assert_int_equal(waitpid(children[c], &status, 0), children[c]);
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        fail_msg("child %u ended with status %#x", c, status);
        }

        opstats = open_or_fail(f, false);
        data = snapshot(opstats);
        np_opstats_close(opstats);
        assert_int_equal(data.placements[NP_OP_NRI][NP_OP_PLACED], CHILDREN * PER_CHILD);
        assert_int_equal(data.placements[NP_OP_HOOK][NP_OP_REFUSED], CHILDREN * PER_CHILD / 2);
        assert_int_equal(data.placements[NP_OP_HOOK][NP_OP_ERROR], CHILDREN * PER_CHILD / 2);
        assert_int_equal(data.placements[NP_OP_HOOK][NP_OP_PLACED], 0);
        assert_int_equal(bucket_total(&data, NP_OP_NRI), CHILDREN * PER_CHILD);
        /* 1-8 µs plus at most 6 ns: all in the first bucket (le 0.0001) */
        assert_int_equal(data.duration_buckets[NP_OP_NRI][0], CHILDREN * PER_CHILD);
        assert_int_equal(data.duration_ns_sum[NP_OP_NRI], expected_sum);
        assert_int_equal(data.nri_requests[NP_NRI_CREATE_CONTAINER][0], CHILDREN * PER_CHILD);
        assert_int_equal(np_test_count_entries(f->state), 1); /* one file, no temporary left */
}

static void test_opstats_eight_processes_lose_no_count(void **state)
{
        assert_children_lose_no_count(*state); /* they race to make the missing file */
}

static void test_opstats_eight_processes_replacing_a_damaged_file_lose_no_count(void **state)
{
        struct fixture *f = *state;

        /* each finds the file damaged: one replacement must be the one they all count in */
        for (unsigned int round = 0; round < 20; round++) {
                np_test_write_file(f->file, "damaged");
                assert_children_lose_no_count(f);
                assert_int_equal(unlink(f->file), 0);
        }
}

/* The bucket a duration went in: the one whose count grew. */
static size_t bucket_of(struct np_opstats *opstats, uint64_t duration_ns)
{
        struct np_opstats_data before = snapshot(opstats), after;
        size_t found = SIZE_MAX;

        np_opstats_duration(opstats, NP_OP_HOOK, duration_ns);
        after = snapshot(opstats);
        for (size_t b = 0; b <= NP_OP_BUCKETS; b++) {
                uint64_t grew = after.duration_buckets[NP_OP_HOOK][b] - before.duration_buckets[NP_OP_HOOK][b];

                if (grew > 1 || (grew == 1 && found != SIZE_MAX))
                        fail_msg("%llu ns was counted more than once", (unsigned long long)duration_ns);
                if (grew == 1)
                        found = b;
        }
        if (found == SIZE_MAX)
                fail_msg("%llu ns was counted in no bucket", (unsigned long long)duration_ns);
        assert_int_equal(after.duration_ns_sum[NP_OP_HOOK] - before.duration_ns_sum[NP_OP_HOOK], duration_ns);
        return found;
}

static void test_opstats_duration_on_a_bound_goes_in_that_bucket(void **state)
{
        /* the bounds in nanoseconds, as the spec lists them in seconds */
        static const uint64_t bounds_ns[NP_OP_BUCKETS] = {
                100000,   250000,   500000,    1000000,   2500000,   5000000,    10000000,
                25000000, 50000000, 100000000, 250000000, 500000000, 1000000000, 2500000000,
        };
        static const double bounds_s[NP_OP_BUCKETS] = {
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
        };
        struct fixture *f = *state;
        struct np_opstats *opstats = open_or_fail(f, true);

        for (size_t b = 0; b < NP_OP_BUCKETS; b++)
                if (np_op_bucket_bounds[b] != bounds_s[b])
                        fail_msg("bucket %zu's bound is %g, the spec says %g", b, np_op_bucket_bounds[b], bounds_s[b]);
        assert_int_equal(bucket_of(opstats, 0), 0);
        assert_int_equal(bucket_of(opstats, 1), 0);
        for (size_t b = 0; b < NP_OP_BUCKETS; b++) {
                size_t got;

                /* le: a duration equal to the bound is in the bound's bucket */
                got = bucket_of(opstats, bounds_ns[b]);
                if (got != b)
                        fail_msg("%llu ns (le=\"%g\") went in bucket %zu, expected %zu",
                                 (unsigned long long)bounds_ns[b], bounds_s[b], got, b);
                /* one nanosecond more is in the next one (the last: +Inf) */
                got = bucket_of(opstats, bounds_ns[b] + 1);
                if (got != b + 1)
                        fail_msg("%llu ns went in bucket %zu, expected %zu", (unsigned long long)bounds_ns[b] + 1, got,
                                 b + 1);
                got = bucket_of(opstats, bounds_ns[b] - 1);
                if (got != b)
                        fail_msg("%llu ns went in bucket %zu, expected %zu", (unsigned long long)bounds_ns[b] - 1, got,
                                 b);
        }
        assert_int_equal(bucket_of(opstats, 3600 * NS_PER_SECOND), NP_OP_BUCKETS);
        np_opstats_close(opstats);
}

static void test_opstats_ignores_null_and_out_of_range(void **state)
{
        struct fixture *f = *state;
        struct np_opstats *opstats = open_or_fail(f, true);
        struct np_opstats_data data;

        /* NULL counts nothing (np_context_opstats when there is no state dir yet) */
        np_opstats_placement(NULL, NP_OP_HOOK, NP_OP_PLACED);
        np_opstats_duration(NULL, NP_OP_HOOK, 1);
        np_opstats_nri_request(NULL, NP_NRI_CONFIGURE, true);
        np_opstats_placement(opstats, NP_OP_SOURCES, NP_OP_PLACED);
        np_opstats_placement(opstats, NP_OP_HOOK, NP_OP_RESULTS);
        np_opstats_duration(opstats, NP_OP_SOURCES, 1);
        np_opstats_nri_request(opstats, NP_NRI_METHODS, true);
        data = snapshot(opstats);
        np_opstats_close(opstats);
        assert_all_zero(&data);
}

/* which failures are refusals is the lifecycle's to say (test_lifecycle); the names are these */
static void test_opstats_source_and_result_names(void **state)
{
        (void)state;
        assert_string_equal(np_op_result_name(NP_OP_PLACED), "placed");
        assert_string_equal(np_op_result_name(NP_OP_REFUSED), "refused");
        assert_string_equal(np_op_result_name(NP_OP_ERROR), "error");
        assert_string_equal(np_op_source_name(NP_OP_HOOK), "hook");
        assert_string_equal(np_op_source_name(NP_OP_NRI), "nri");
}

static void test_opstats_nri_methods_by_name(void **state)
{
        (void)state;
        for (size_t m = 0; m < NP_NRI_OTHER; m++)
                assert_int_equal(np_nri_method_from_name(np_nri_method_name(m)), m);
        assert_string_equal(np_nri_method_name(NP_NRI_CREATE_CONTAINER), "CreateContainer");
        assert_int_equal(np_nri_method_from_name("CreateContainer"), NP_NRI_CREATE_CONTAINER);
        assert_int_equal(np_nri_method_from_name("Ping"), NP_NRI_OTHER);
        assert_int_equal(np_nri_method_from_name("createcontainer"), NP_NRI_OTHER);
        assert_int_equal(np_nri_method_from_name(""), NP_NRI_OTHER);
        assert_int_equal(np_nri_method_from_name("other"), NP_NRI_OTHER);
        assert_string_equal(np_nri_method_name(NP_NRI_OTHER), "other");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_opstats_counts_survive_close_and_reopen, setup, teardown),
                cmocka_unit_test_setup_teardown(test_opstats_open_without_create_refuses_a_missing_file, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_opstats_open_refuses_a_missing_state_dir, setup, teardown),
                cmocka_unit_test_setup_teardown(test_opstats_refuses_then_replaces_a_short_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_opstats_refuses_then_replaces_an_empty_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_opstats_refuses_then_replaces_a_longer_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_opstats_refuses_then_replaces_a_foreign_magic, setup, teardown),
                cmocka_unit_test_setup_teardown(test_opstats_refuses_then_replaces_another_version, setup, teardown),
                cmocka_unit_test_setup_teardown(test_opstats_refuses_then_replaces_a_symlink_leaving_its_target, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_opstats_refuses_then_replaces_a_fifo_without_blocking, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_opstats_refuses_a_directory_both_ways, setup, teardown),
                cmocka_unit_test_setup_teardown(test_opstats_replacing_a_damaged_file_logs_nothing_above_debug, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_opstats_eight_processes_lose_no_count, setup, teardown),
                cmocka_unit_test_setup_teardown(test_opstats_eight_processes_replacing_a_damaged_file_lose_no_count,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_opstats_duration_on_a_bound_goes_in_that_bucket, setup, teardown),
                cmocka_unit_test_setup_teardown(test_opstats_ignores_null_and_out_of_range, setup, teardown),
                cmocka_unit_test(test_opstats_source_and_result_names),
                cmocka_unit_test(test_opstats_nri_methods_by_name),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
