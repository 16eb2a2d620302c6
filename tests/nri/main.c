// SPDX-License-Identifier: MIT
/* nri-harness: the runtime side of NRI. Like containerd and CRI-O it listens on a
 * socket (or starts the plugin on a socketpair as fd 3), speaks ttrpc over the
 * multiplexer both ways and drives numapin-nri. Here: the options, the commands
 * (scenarios printing "ok - "/"not ok - ", bench) and script mode. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define SCRIPT_MAX_SPEC 512

/* Lines: "create SPEC", "update ID", "stop ID", "postcreate ID [pid=N]", "remove ID",
 * "# comment"; FILE may be /dev/stdin, answered line by line. Prints
 * "create ID ok cpus=C mems=M [mpol=MODE:NODES] [update=ID:CPUS:MEMS]..." ("-" for
 * absent), "create ID error CODE MESSAGE", "stop ID ok [update=...]"... */
static int run_script(const struct options *o, const char *path)
{
        static struct spec specs[SCRIPT_MAX_SPEC];
        size_t n_specs = 0;
        struct runtime rt;
        char line[4096], err[300];
        int rc;
        FILE *f;

        f = fopen(path, "re");
        if (!f)
                die("cannot open %s: %s", path, strerror(errno));
        runtime_init(&rt, o, profile_of(o->profile), "");
        set_scope("script: ");
        if (!runtime_start_external(&rt, NULL) || !runtime_handshake(&rt, NULL, 0))
                die("the plugin did not start (see its log)");
        while (fgets(line, sizeof(line), f)) {
                char *cmd = line + strspn(line, " \t"), *rest;
                struct spec s, *known = NULL;
                struct reply reply = {};
                struct outcome out = {};

                line[strcspn(line, "\n")] = '\0';
                if (!*cmd || *cmd == '#')
                        continue;
                rest = cmd + strcspn(cmd, " \t");
                if (*rest)
                        *rest++ = '\0';
                if (spec_parse(rest, &s, err, sizeof(err)) < 0)
                        die("%s: '%s': %s", path, rest, err);
                for (size_t i = 0; i < n_specs && !known; i++)
                        if (strcmp(specs[i].id, s.id) == 0)
                                known = &specs[i];
                if (strcmp(cmd, "create") == 0) {
                        if (!known && n_specs == SCRIPT_MAX_SPEC)
                                die("more than %d containers", SCRIPT_MAX_SPEC);
                        known = known ? known : &specs[n_specs++];
                        *known = s;
                        out = runtime_create(&rt, known, &reply);
                } else if (!known)
                        die("%s %s: no such container created", cmd, s.id);
                else if (strcmp(cmd, "update") == 0)
                        out = runtime_update(&rt, known, &reply);
                else if (strcmp(cmd, "stop") == 0)
                        out = runtime_stop(&rt, known, &reply);
                else if (strcmp(cmd, "remove") == 0)
                        runtime_event(&rt, NRI__EVENT__REMOVE_CONTAINER, known, false, &reply);
                else if (strcmp(cmd, "postcreate") == 0) {
                        if (s.pid)
                                known->pid = s.pid; /* the container's init, known once it is created */
                        runtime_event(&rt, NRI__EVENT__POST_CREATE_CONTAINER, known, false, &reply);
                } else
                        die("%s: unknown command '%s'", path, cmd);
                if (reply_ok(&reply))
                        printf("%s %s ok %s\n", cmd, s.id, outcome_text(&out));
                else if (reply.err)
                        printf("%s %s error - %s\n", cmd, s.id, describe(&reply));
                else
                        printf("%s %s error %d %s\n", cmd, s.id, reply.code, reply.message);
                fflush(stdout);
                reply_clear(&reply);
        }
        fclose(f);
        if (rt.peer.violations)
                printf("not ok - script: the plugin sent frames a Go runtime cannot read: %s\n", rt.peer.violation);
        rc = rt.peer.violations ? 1 : 0;
        if (!plugin_stop(&rt, SIGTERM))
                die("the plugin did not exit on SIGTERM");
        runtime_clear(&rt);
        return rc;
}

static void usage(FILE *out)
{
        fprintf(out,
                "usage: nri-harness --plugin PATH --state-dir DIR [--log FILE] [--runtime v0.8|v0.10|v0.12]\n"
                "                   [--count N] [--hold N] [--hold-more N] COMMAND [FILE] [-- PLUGIN-ARGS...]\n"
                "The runtime side of NRI, driving numapin-nri. Commands:\n"
                "  handshake sync events errors reconnect restarts hostile preinstalled all\n"
                "                 scenarios, printing ok/not ok lines\n"
                "  script FILE    creates from FILE, one line each: create|update|postcreate|stop|remove ID [KEY=VALUE...]\n"
                "  bench          round trips (--count, default 5000) and resident memory (--hold,\n"
                "                 default 1000); with --hold-more N also a Synchronize and the round\n"
                "                 trips with those held, then N held\n");
}

int main(int argc, char **argv)
{
        static const struct option long_options[] = {
                { "plugin", required_argument, NULL, 'p' }, { "state-dir", required_argument, NULL, 's' },
                { "log", required_argument, NULL, 'l' },    { "runtime", required_argument, NULL, 'r' },
                { "count", required_argument, NULL, 'c' },  { "hold", required_argument, NULL, 'H' },
                { "hold-more", required_argument, NULL, 'M' },
                { "help", no_argument, NULL, 'h' },         {},
        };
        struct options o = {};
        const char *command, *file = NULL;
        uint64_t v;
        int c, rc = 0;

        while ((c = getopt_long(argc, argv, "+h", long_options, NULL)) != -1) {
                switch (c) {
                case 'p':
                        o.plugin = optarg;
                        break;
                case 's':
                        o.state_dir = optarg;
                        break;
                case 'l':
                        o.log = optarg;
                        break;
                case 'r':
                        o.profile = optarg;
                        profile_of(optarg);
                        break;
                case 'c':
                case 'H':
                case 'M':
                        if (parse_u64(optarg, 1000000, &v) < 0 || v == 0) {
                                fprintf(stderr, "nri-harness: --%s %s: expected a count from 1 to 1000000\n",
                                        c == 'c' ? "count" : c == 'H' ? "hold" : "hold-more", optarg);
                                return 2;
                        }
                        *(c == 'c' ? &o.count : c == 'H' ? &o.hold : &o.hold_more) = (unsigned int)v;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind >= argc || !o.plugin || !o.state_dir) {
                usage(stderr);
                return 2;
        }
        command = argv[optind++];
        if (optind < argc && strcmp(argv[optind], "--") != 0)
                file = argv[optind++];
        if (optind < argc && strcmp(argv[optind], "--") == 0)
                optind++;
        o.plugin_args = argv + optind;
        o.n_plugin_args = argc - optind;
        if (access(o.plugin, X_OK) < 0) {
                fprintf(stderr, "nri-harness: %s: %s\n", o.plugin, strerror(errno));
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        atexit(cleanup);

        if (strcmp(command, "script") == 0) {
                if (!file) {
                        usage(stderr);
                        return 2;
                }
                return run_script(&o, file);
        }
        if (strcmp(command, "bench") == 0)
                return run_bench(&o);
        if (strcmp(command, "handshake") == 0 || strcmp(command, "all") == 0)
                scenario_handshake(&o);
        if (strcmp(command, "sync") == 0 || strcmp(command, "all") == 0)
                scenario_sync(&o);
        if (strcmp(command, "events") == 0 || strcmp(command, "all") == 0) {
                scenario_events(&o, RUNTIME_V08);
                scenario_events(&o, RUNTIME_V012);
        }
        if (strcmp(command, "errors") == 0 || strcmp(command, "all") == 0)
                scenario_errors(&o);
        if (strcmp(command, "reconnect") == 0 || strcmp(command, "all") == 0)
                scenario_reconnect(&o);
        if (strcmp(command, "restarts") == 0 || strcmp(command, "all") == 0)
                scenario_restarts(&o);
        if (strcmp(command, "hostile") == 0 || strcmp(command, "all") == 0)
                scenario_hostile(&o);
        if (strcmp(command, "preinstalled") == 0 || strcmp(command, "all") == 0)
                scenario_preinstalled(&o);
        if (!scope[0]) {
                fprintf(stderr, "nri-harness: unknown command '%s'\n", command);
                usage(stderr);
                return 2;
        }
        if (n_failed)
                rc = 1;
        return rc;
}
