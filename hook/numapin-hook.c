// SPDX-License-Identifier: MIT
/* numapin-hook: the OCI hook. createRuntime/prestart place the container and
 * bind its cgroup; poststop releases its allocation. Reads the OCI state on
 * stdin, calls core, logs once, chooses the exit code. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/fileio.h"
#include "../core/lifecycle.h"
#include "../core/sandbox.h"
#include "../core/spec.h"
#include "../core/state.h"
#include "updates.h"

struct options {
        const char *stage;
        struct np_context_options context;
};

static void usage(FILE *out)
{
        fprintf(out, "usage: numapin-hook " NP_CONTEXT_USAGE "\n"
                     "                    createRuntime|prestart|poststop < OCI-state-JSON\n");
}

static int parse_options(int argc, char **argv, struct options *opts)
{
        static const struct option long_options[] = {
                NP_CONTEXT_LONG_OPTIONS,
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        *opts = (struct options){ .context.source = NP_SOURCE_HOOK,
                                  .context.reclaim_interval_ns = NP_RECLAIM_INTERVAL_NS };
        while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
                if (np_context_option(&opts->context, c, optarg))
                        continue;
                if (c == 'h') {
                        usage(stdout);
                        exit(0);
                }
                usage(stderr);
                return -EINVAL;
        }
        if (optind != argc - 1) {
                np_log_error("expected one stage argument: createRuntime, prestart or poststop");
                return -EINVAL;
        }
        opts->stage = argv[optind];
        if (strcmp(opts->stage, "createRuntime") != 0 && strcmp(opts->stage, "prestart") != 0 &&
            strcmp(opts->stage, "poststop") != 0) {
                char quoted[128];
                np_log_error("stage '%s' is unknown; expected createRuntime, prestart or poststop",
                             np_log_quote(quoted, sizeof(quoted), opts->stage));
                return -EINVAL;
        }
        return 0;
}

/* Writes the placement into the container's cgroup and config.json; a cgroup
 * left as it was when config.json cannot be written. */
static int apply(struct np_context *context, struct np_spec *spec, const struct np_outcome *outcome,
                 struct np_diag *diag)
{
        const struct np_placement *p = &outcome->placement;
        struct np_cgroup_saved saved = {};
        int r;

        r = np_cgroup_apply(context->cgroup_root, outcome->cgroup_layout, outcome->cgroup_path, &p->cpus,
                            p->write_mems ? &p->mems : NULL, diag, &saved, NULL, 0);
        if (r == 0) {
                r = np_spec_write_cpuset(spec, p, diag);
                if (r < 0)
                        np_cgroup_revert(context->cgroup_root, outcome->cgroup_layout, outcome->cgroup_path, &saved);
        }
        np_cgroup_saved_clear(&saved);
        return r;
}

/* The two verbs after a held placement, each in a frame of its own (never
 * inlined into main()'s): their 17 KiB outcomes then lie in stack the
 * placement's calls have touched already, not in pages main()'s frame would
 * fault in for them. */
static _noinline_ void undo(struct np_context *context, const char *id, const struct np_outcome *placed)
{
        struct np_outcome undone = {};
        struct np_diag diag = {};

        if (np_lifecycle_abort(context, id, placed, &diag, &undone) < 0)
                np_log_warning("%s", diag.message);
        np_outcome_clear(&undone);
}

/* The lock goes, after the re-pins this run and any run before it left. */
static _noinline_ void end_hold(struct np_context *context)
{
        struct np_outcome held = {};
        struct np_diag diag = {};

        if (np_lifecycle_batch_end(context, &diag, &held) < 0)
                np_log_warning("%s", diag.message);
        log_updates(&held);
        np_outcome_clear(&held);
}

/* createRuntime and prestart: core places the container, the hook applies it
 * to the cgroup and config.json; a failure there undoes the placement. All of
 * it under one hold of the ledger's lock (NP_PLACE_HOLD): no other run re-pins
 * this container between its placement and the write of its cgroup, and the
 * re-pins this placement causes are written once, as the hold ends. */
static int place(struct np_context *context, const struct np_state *state, struct np_diag *diag)
{
        _cleanup_spec_ struct np_spec *spec = NULL;
        struct np_outcome outcome = {};
        struct np_input input = NP_INPUT_INIT;
        const struct np_placement *p = &outcome.placement;
        char cpus[NP_CPULIST_BRIEF], mems[NP_CPULIST_BRIEF];
        int r;

        r = np_spec_load(state->bundle, diag, &spec);
        if (r < 0)
                return r;
        input.id = state->id;
        input.pid = state->pid;
        input.cgroups_path = spec->cgroups_path;
        input.locate_cgroup = true;
        input.container_annotations = state->has_annotations ? &state->annotations : &spec->annotations;
        input.cpu_quota = spec->cpu_quota;
        input.cpu_period = spec->cpu_period;
        input.memory_limit = spec->memory_limit;
        input.devices = spec->devices;
        input.n_devices = spec->n_devices;
        r = np_lifecycle_place(context, &input,
                               NP_PLACE_COMMIT | NP_PLACE_HOLD |
                                       (np_log_get_level() < NP_LOG_INFO ? NP_PLACE_NO_REASON : 0),
                               diag, &outcome);
        if (r == 0 && outcome.kind != NP_OUTCOME_NONE) {
                if (outcome.warning[0])
                        np_log_warning("%s", outcome.warning);
                r = apply(context, spec, &outcome, diag);
                if (r < 0)
                        undo(context, state->id, &outcome);
        }
        if (outcome.held)
                end_hold(context);
        if (r < 0) {
                np_outcome_clear(&outcome);
                return r;
        }
        if (outcome.kind == NP_OUTCOME_NONE)
                np_log_debug("container '%s': nothing to do (%s)", state->id, p->reason);
        else
                np_log_info("container '%s': policy %s, cpus %s, mems %s%s: %s", state->id,
                            np_policy_to_string(p->policy), np_cpulist_brief(&p->cpus, cpus, sizeof(cpus)),
                            np_cpulist_brief(&p->mems, mems, sizeof(mems)), p->write_mems ? "" : " (not written)",
                            p->reason);
        log_updates(&outcome);
        np_outcome_clear(&outcome);
        return 0;
}

/* poststop: the allocation goes, and what it held goes back to the others. */
static int release(struct np_context *context, const struct np_state *state, struct np_diag *diag)
{
        struct np_outcome outcome = {};
        int r;

        r = np_lifecycle_release(context, state->id, 0, diag, &outcome);
        if (r < 0)
                return r;
        if (outcome.warning[0])
                np_log_warning("%s", outcome.warning);
        if (outcome.kind == NP_OUTCOME_RELEASED)
                np_log_info("container '%s': allocation released", state->id);
        log_updates(&outcome);
        np_outcome_clear(&outcome);
        return 0;
}

int main(int argc, char **argv)
{
        _cleanup_free_ char *input = NULL;
        _cleanup_context_ struct np_context *context = NULL;
        struct options opts;
        struct np_state state = {};
        struct np_diag diag = {};
        uint64_t started = np_context_now_ns();
        bool placing;
        size_t size;
        int r;

        /* a hook lives for a millisecond: its heap grows in one step and is
         * never given back (each growth is a brk() call, each trim another);
         * glibc's malloc takes it so, musl's has no such setting */
#ifdef M_TOP_PAD
        mallopt(M_TOP_PAD, 512 * 1024);
        mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
#endif
        np_log_set_prefix("numapin-hook");
        np_log_set_syslog("");
        if (parse_options(argc, argv, &opts) < 0)
                return 2;
        r = np_context_open(&opts.context, &diag, &context);
        if (r < 0) {
                np_log_error("%s", diag.message);
                return 1;
        }
        np_log_set_level(context->config.log_level);

        r = np_read_fd(STDIN_FILENO, NP_STATE_LIMIT, &input, &size);
        if (r == -EFBIG)
                r = np_diag_fail(&diag, r, "state on stdin: larger than the limit of %d bytes", NP_STATE_LIMIT);
        else if (r < 0)
                r = np_diag_fail(&diag, r, "state on stdin: cannot read: %s", strerror(-r));
        else
                r = np_state_parse(input, size, &diag, &state);
        /* from here on only the calls of a placement or a release (core/sandbox.c) */
        if (context->config.seccomp) {
                struct np_diag sandbox_diag = {};

                if (np_sandbox_apply(NP_SANDBOX_HOOK, context->config.monitor, &sandbox_diag) < 0)
                        np_log_warning("%s, continuing without a system call filter", sandbox_diag.message);
                else
                        np_log_debug("seccomp: the %s allow-list is in force; other calls fail with %s",
                                     np_sandbox_profile_to_string(NP_SANDBOX_HOOK), strerror(NP_SANDBOX_ERRNO));
        }

        if (r == 0) {
                char log_context[sizeof(state.id) + 16];

                snprintf(log_context, sizeof(log_context), "container %s: ", state.id);
                np_log_set_syslog(log_context);
        }
        placing = strcmp(opts.stage, "poststop") != 0;
        if (r == 0)
                r = placing ? place(context, &state, &diag) : release(context, &state, &diag);
        np_state_clear(&state);
        if (placing)
                np_lifecycle_latency(context, np_context_now_ns() - started);
        if (r == 0)
                return 0;
        if (!diag.message[0])
                np_diag_fail(&diag, r, "%s failed: %s", opts.stage, strerror(-r));
        if (context->config.on_error == NP_ON_ERROR_IGNORE && strcmp(opts.stage, "poststop") != 0) {
                np_log_warning("%s; on_error is ignore: the container starts unbound", diag.message);
                return 0;
        }
        np_log_error("%s", diag.message);
        return 1;
}
